/* SPDX-License-Identifier: MIT */
/* entry_jsontok.c: JSON tokens for the entry reader (entry_json.c):
 * white space, strings with their escapes, numbers, literals, and the
 * skipping of values an entry does not keep. No allocation but a
 * number's copy for strtod(); no recursion. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/entry_int.h"
#include "common/entry_jsontok.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

bool
entry_json_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void
entry_json_ws(struct entry_json *j)
{
	while (j->pos < j->len && entry_json_is_ws(j->buf[j->pos]))
		j->pos++;
}

/* Fails naming what should have been at the cursor. */
int
entry_json_expected(struct entry_json *j, const char *what)
{
	if (j->pos >= j->len)
		return entry_err(j->err, j->errlen,
		    "json: unexpected end of input at offset %zu", j->pos);
	return entry_err(j->err, j->errlen, "json: expected %s at offset %zu",
	    what, j->pos);
}

/* Moves past white space; fails unless something that may start a value
 * follows, so a type error is only reported for a real value. */
int
entry_json_value_start(struct entry_json *j)
{
	entry_json_ws(j);
	if (j->pos < j->len && strchr("{[\"-0123456789tfn",
	    j->buf[j->pos]) != NULL && j->buf[j->pos] != '\0')
		return 0;
	return entry_json_expected(j, "a value");
}

static int
entry_json_hex4(struct entry_json *j, size_t at, unsigned int *cp)
{
	size_t		 i;
	unsigned int	 v = 0;
	char		 c;

	if (j->len - at < 4) {
		j->pos = j->len;
		return entry_json_expected(j, "4 hex digits");
	}
	for (i = 0; i < 4; i++) {
		c = j->buf[at + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return entry_err(j->err, j->errlen,
			    "json: invalid \\u escape at offset %zu", at + i);
	}
	*cp = v;
	return 0;
}

static void
entry_put(char *dst, size_t cap, size_t *n, unsigned int byte)
{
	if (dst != NULL && *n < cap)
		dst[*n] = (char)byte;
	(*n)++;
}

/* \uXXXX, with its low half when it is a high surrogate, at the cursor
 * (the backslash); leaves the code point in *cp. */
static int
entry_json_unicode(struct entry_json *j, unsigned int *cp)
{
	size_t		 at = j->pos;
	unsigned int	 lo;

	if (entry_json_hex4(j, at + 2, cp) == -1)
		return -1;
	j->pos = at + 6;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return entry_err(j->err, j->errlen,
		    "json: unpaired surrogate at offset %zu", at);
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 0;
	if (j->len - j->pos < 2 || j->buf[j->pos] != '\\' ||
	    j->buf[j->pos + 1] != 'u')
		return entry_err(j->err, j->errlen,
		    "json: unpaired surrogate at offset %zu", at);
	if (entry_json_hex4(j, j->pos + 2, &lo) == -1)
		return -1;
	if (lo < 0xdc00 || lo > 0xdfff)
		return entry_err(j->err, j->errlen,
		    "json: unpaired surrogate at offset %zu", at);
	j->pos += 6;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

/*
 * The string whose opening quote is at the cursor: checks it and writes
 * its decoded bytes to dst, at most cap of them (dst NULL: none). *lenp
 * gets the whole decoded length, which never exceeds the encoded one.
 * No terminator is written; a \u0000 is kept, for the caller to judge.
 */
int
entry_json_string(struct entry_json *j, char *dst, size_t cap, size_t *lenp)
{
	const unsigned char	*b = (const unsigned char *)j->buf;
	size_t			 n = 0, k, i;
	unsigned int		 c, cp;

	j->pos++;
	for (;;) {
		if (j->pos >= j->len)
			return entry_json_expected(j, "'\"'");
		c = b[j->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return entry_err(j->err, j->errlen,
			    "json: control character in string at offset %zu",
			    j->pos);
		if (c >= 0x80) {
			/* Entries carry bytes (docs/formats.md): what is not
			 * UTF-8 is kept as it is, as MessagePack's str and
			 * the sqlite3 command keep it. */
			k = utf8_len(b + j->pos, j->len - j->pos);
			if (k == 0)
				k = 1;
			for (i = 0; i < k; i++)
				entry_put(dst, cap, &n, b[j->pos + i]);
			j->pos += k;
			continue;
		}
		if (c != '\\') {
			entry_put(dst, cap, &n, c);
			j->pos++;
			continue;
		}
		if (j->len - j->pos < 2) {
			j->pos = j->len;
			return entry_json_expected(j, "an escape");
		}
		switch (b[j->pos + 1]) {
		case '"':
		case '\\':
		case '/':
			cp = b[j->pos + 1];
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			if (entry_json_unicode(j, &cp) == -1)
				return -1;
			goto encode;
		default:
			return entry_err(j->err, j->errlen,
			    "json: invalid escape at offset %zu", j->pos);
		}
		j->pos += 2;
encode:
		if (cp < 0x80)
			entry_put(dst, cap, &n, cp);
		else if (cp < 0x800) {
			entry_put(dst, cap, &n, 0xc0 | (cp >> 6));
			entry_put(dst, cap, &n, 0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			entry_put(dst, cap, &n, 0xe0 | (cp >> 12));
			entry_put(dst, cap, &n, 0x80 | ((cp >> 6) & 0x3f));
			entry_put(dst, cap, &n, 0x80 | (cp & 0x3f));
		} else {
			entry_put(dst, cap, &n, 0xf0 | (cp >> 18));
			entry_put(dst, cap, &n, 0x80 | ((cp >> 12) & 0x3f));
			entry_put(dst, cap, &n, 0x80 | ((cp >> 6) & 0x3f));
			entry_put(dst, cap, &n, 0x80 | (cp & 0x3f));
		}
	}
	j->pos++;
	*lenp = n;
	return 0;
}

bool
entry_json_is_digit(const struct entry_json *j, size_t at)
{
	return at < j->len && j->buf[at] >= '0' && j->buf[at] <= '9';
}

/* The number at the cursor, checked against the JSON grammar; its value
 * when it is an integer that fits int64. */
int
entry_json_number(struct entry_json *j, struct entry_json_num *num)
{
	const char	*b = j->buf;
	size_t		 p = j->pos;
	uint64_t	 mag = 0, limit, d;
	bool		 neg = false, over = false;

	memset(num, 0, sizeof(*num));
	num->off = p;
	num->integral = true;
	if (p < j->len && b[p] == '-') {
		neg = true;
		p++;
	}
	if (!entry_json_is_digit(j, p))
		goto bad;
	if (b[p] == '0') {
		if (entry_json_is_digit(j, ++p))
			goto bad;	/* no leading zeros */
	} else {
		for (; entry_json_is_digit(j, p); p++) {
			d = (uint64_t)(b[p] - '0');
			if (mag > (UINT64_MAX - d) / 10)
				over = true;
			else
				mag = mag * 10 + d;
		}
	}
	if (p < j->len && b[p] == '.') {
		num->integral = false;
		if (!entry_json_is_digit(j, ++p))
			goto bad;
		while (entry_json_is_digit(j, p))
			p++;
	}
	if (p < j->len && (b[p] == 'e' || b[p] == 'E')) {
		num->integral = false;
		p++;
		if (p < j->len && (b[p] == '+' || b[p] == '-'))
			p++;
		if (!entry_json_is_digit(j, p))
			goto bad;
		while (entry_json_is_digit(j, p))
			p++;
	}
	num->len = p - num->off;
	j->pos = p;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (num->integral && !over && mag <= limit) {
		num->fits = true;
		if (!neg)
			num->i = (int64_t)mag;
		else if (mag == limit)
			num->i = INT64_MIN;
		else
			num->i = -(int64_t)mag;
	}
	return 0;
bad:
	return entry_err(j->err, j->errlen,
	    "json: invalid number at offset %zu", p);
}

/* A number that is not an int64, as a double; -1 when it overflows. */
int
entry_json_real(const struct entry_json *j, const struct entry_json_num *num,
    double *dp)
{
	char	 small[64], *copy = small;

	/*
	 * strtod() needs a terminator, which the input lacks. It follows
	 * LC_NUMERIC, but no hq program calls setlocale(): the radix is '.'.
	 * The JSON grammar is a subset of what strtod() reads.
	 */
	if (num->len >= sizeof(small))
		copy = xmalloc(num->len + 1);
	memcpy(copy, j->buf + num->off, num->len);
	copy[num->len] = '\0';
	*dp = strtod(copy, NULL);
	if (copy != small)
		free(copy);
	return isinf(*dp) ? -1 : 0;
}

int
entry_json_literal(struct entry_json *j, const char *word)
{
	size_t	 n = strlen(word);

	if (j->len - j->pos < n || memcmp(j->buf + j->pos, word, n) != 0)
		return entry_err(j->err, j->errlen,
		    "json: invalid literal at offset %zu", j->pos);
	j->pos += n;
	return 0;
}

/* An object member's key and ':' at the cursor; the key decoded to name
 * (at most cap bytes; NULL: not kept) and its length to *lenp. */
int
entry_json_key(struct entry_json *j, char *name, size_t cap, size_t *lenp)
{
	entry_json_ws(j);
	if (j->pos >= j->len || j->buf[j->pos] != '"')
		return entry_json_expected(j, "a string key");
	if (entry_json_string(j, name, cap, lenp) == -1)
		return -1;
	entry_json_ws(j);
	if (j->pos >= j->len || j->buf[j->pos] != ':')
		return entry_json_expected(j, "':'");
	j->pos++;
	return 0;
}

/* A string, number or literal at the cursor, checked and passed over. */
static int
entry_json_skip_scalar(struct entry_json *j)
{
	struct entry_json_num	 num;
	size_t			 n;

	switch (j->buf[j->pos]) {
	case '"':
		return entry_json_string(j, NULL, 0, &n);
	case 't':
		return entry_json_literal(j, "true");
	case 'f':
		return entry_json_literal(j, "false");
	case 'n':
		return entry_json_literal(j, "null");
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return entry_json_number(j, &num);
	default:
		return entry_json_expected(j, "a value");
	}
}

/*
 * Checks the value at the cursor and moves past it, keeping nothing
 * (metadata, unknown keys). A loop with its own stack, ENTRY_MAX_DEPTH
 * deep, so that no input can exhaust the C stack.
 */
int
entry_json_skip(struct entry_json *j)
{
	char	 open[ENTRY_MAX_DEPTH];		/* '{' or '[' per level */
	size_t	 depth = 0, n;
	char	 c, close;

	for (;;) {
		/* A value starts here. */
		entry_json_ws(j);
		if (j->pos >= j->len)
			return entry_json_expected(j, "a value");
		c = j->buf[j->pos];
		if (c == '{' || c == '[') {
			if (depth == ENTRY_MAX_DEPTH)
				return entry_err(j->err, j->errlen, "json: "
				    "nesting deeper than %d at offset %zu",
				    ENTRY_MAX_DEPTH, j->pos);
			open[depth++] = c;
			j->pos++;
			entry_json_ws(j);
			if (j->pos < j->len &&
			    j->buf[j->pos] == (c == '{' ? '}' : ']')) {
				j->pos++;
				depth--;
			} else if (c == '[')
				continue;
			else if (entry_json_key(j, NULL, 0, &n) == -1)
				return -1;
			else
				continue;
		} else if (entry_json_skip_scalar(j) == -1)
			return -1;

		/* A value ended: close the containers it completes. */
		for (;;) {
			if (depth == 0)
				return 0;
			close = open[depth - 1] == '{' ? '}' : ']';
			entry_json_ws(j);
			if (j->pos < j->len && j->buf[j->pos] == close) {
				j->pos++;
				depth--;
				continue;
			}
			if (j->pos >= j->len || j->buf[j->pos] != ',')
				return entry_json_expected(j, close == '}' ?
				    "',' or '}'" : "',' or ']'");
			j->pos++;
			if (close == '}' &&
			    entry_json_key(j, NULL, 0, &n) == -1)
				return -1;
			break;
		}
	}
}

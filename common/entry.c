/* SPDX-License-Identifier: MIT */
/*
 * entry.c: decodes one queue entry (SPEC section 3), JSON or MessagePack,
 * from the bytes of its file into a struct entry that owns one arena. Runs
 * in workers, hqctl and the fuzzers; no I/O, no state. Knows nothing of SQL
 * beyond "not empty": worker/sqlapply.c prepares and binds.
 *
 * JSON is parsed here, strictly (RFC 8259), in two passes: the first
 * checks the whole input and measures what the kept values need, the
 * second decodes only those into one allocation of exactly that size.
 * Leniencies, all deliberate: a leading UTF-8 byte order mark is skipped
 * (RFC 8259 section 8.1 allows it), the old shell library's stray '}'
 * after the "metadata" value is dropped (see entry_json_repair()), and
 * bytes that are not UTF-8 inside strings are kept as they are: entries
 * carry bytes, as MessagePack ones and the sqlite3 command do.
 *
 * MessagePack is parsed by msgpack-c, but only after entry_mp_check() has
 * proved that every declared length fits in the input: msgpack-c allocates
 * for a declared count before reading any element.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/entry.h"
#include "common/utf8.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* Keys we know, in this order; the first ENTRY_NTEXT are kept as text. */
enum entry_key {
	ENTRY_KEY_SQL = 0,
	ENTRY_KEY_OPERATION,
	ENTRY_KEY_ID,
	ENTRY_KEY_SEQ,
	ENTRY_KEY_CREATED_AT,
	ENTRY_KEY_PARAMS,
	ENTRY_KEY_PRIORITY,
	ENTRY_KEY_RETRIES,
	ENTRY_KEY_METADATA,
	ENTRY_KEY_OTHER,
};
#define ENTRY_NTEXT	(ENTRY_KEY_CREATED_AT + 1)

static const char *const entry_key_names[] = {
	"sql", "operation", "id", "seq", "created_at", "params", "priority",
	"retries", "metadata",
};

/* What a known key's value must be, for "<key> must be <this>". */
static const char *const entry_key_types[] = {
	"a string", "a string", "a string or an integer",
	"a string or a number", "a string", "an array",
	"a number or a string", "a non-negative integer",
};
_Static_assert(sizeof(entry_key_names) / sizeof(entry_key_names[0]) ==
    ENTRY_KEY_OTHER, "a name per key");
_Static_assert(sizeof(entry_key_types) / sizeof(entry_key_types[0]) ==
    ENTRY_KEY_METADATA, "a type per checked key");

#define ENTRY_DEFAULT_OPERATION	"generic"
/* Room for decoding a key or a priority string; longer ones are unknown
 * keys and unusable priorities, so they need not fit. */
#define ENTRY_SHORT_MAX		32
#define ENTRY_PRIORITY_MIN	1
#define ENTRY_PRIORITY_MAX	10

/*
 * msgpack-c's parser stack holds MSGPACK_EMBED_STACK_SIZE (32, fixed when
 * the library is built; unpack_define.h) containers: a 33rd level, even an
 * empty array, fails with the code of a failed malloc. entry_mp_check()
 * refuses it first so the two are never confused; test_entry.c pins the
 * boundary.
 */
#define ENTRY_MP_MAX_DEPTH	32

/* The single allocation an entry owns: params first, for alignment, then
 * text. Its size is measured before any byte is decoded into it. */
struct entry_arena {
	char	*base;
	size_t	 size;
	size_t	 used;
};

/* A kept text value once it sits in the arena. */
struct entry_text {
	bool		 present;
	const char	*p;
	size_t		 len;
};

/* A JSON input and the position of the parser in it. */
struct entry_json {
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	char		*err;
	size_t		 errlen;
};

/* A JSON number token. */
struct entry_json_num {
	size_t	 off;
	size_t	 len;
	bool	 integral;	/* neither fraction nor exponent */
	bool	 fits;		/* integral and within int64 */
	int64_t	 i;
};

/* Where the kept JSON values are, and how much arena they need; pass 1
 * fills it, pass 2 decodes from it. Duplicate keys: the last one wins. */
struct entry_span {
	bool	 present;
	size_t	 off;		/* the value, in the input */
	size_t	 size;		/* arena bytes, NULs included */
};

struct entry_scan {
	struct entry_span	 text[ENTRY_NTEXT];
	struct entry_span	 params;
	size_t			 nparams;
	int			 priority;
	int64_t			 retries;
	bool			 repaired;
};

static void	entry_errf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
entry_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

/* Writes the message and is -1, visibly at the call site: a varargs
 * function is never inlined, and were -1 its return value the compiler
 * could not see that `f() == -1` holds on every error path, and would
 * warn of out-parameters unset on those paths (gcc -O3). */
#define entry_err(err, errlen, ...)	\
	(entry_errf((err), (errlen), __VA_ARGS__), -1)

static void *
entry_arena_take(struct entry_arena *a, size_t n)
{
	void	*p;

	/* Every size was measured beforehand: running out is our bug. */
	if (n > a->size - a->used)
		abort();
	p = a->base + a->used;
	a->used += n;
	return p;
}

static const char *
entry_arena_copy(struct entry_arena *a, const char *p, size_t len)
{
	char	*q;

	q = entry_arena_take(a, len + 1);
	if (len > 0)
		memcpy(q, p, len);
	q[len] = '\0';
	return q;
}

static enum entry_key
entry_key_lookup(const char *name, size_t len)
{
	size_t	 k;

	for (k = 0; k < ENTRY_KEY_OTHER; k++)
		if (strlen(entry_key_names[k]) == len &&
		    memcmp(entry_key_names[k], name, len) == 0)
			return (enum entry_key)k;
	return ENTRY_KEY_OTHER;
}

static int
entry_type_err(enum entry_key key, char *err, size_t errlen)
{
	return entry_err(err, errlen, "%s must be %s", entry_key_names[key],
	    entry_key_types[key]);
}

/* A string of decimal digits, as the old library sometimes wrote the
 * priority: its value when within 1..10, else 0 (it is informational). */
static int
entry_priority_digits(const char *p, size_t len)
{
	size_t	 i;
	int	 v = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		/* Saturate: only 1..10 matters. */
		if (v <= ENTRY_PRIORITY_MAX)
			v = v * 10 + (p[i] - '0');
	}
	return v >= ENTRY_PRIORITY_MIN && v <= ENTRY_PRIORITY_MAX ? v : 0;
}

static bool
entry_is_space(char c)
{
	/* What SQLite's tokenizer takes for white space. */
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

/*
 * Checks common to both formats, on the decoded values, then fills *e.
 * The text fields other than sql carry no length in struct entry, so a NUL
 * inside would silently shorten them: an id cut short could match another
 * entry's. The arena must have room for the default operation.
 */
static int
entry_finish(struct entry *e, const struct entry_text *t,
    struct entry_arena *a, char *err, size_t errlen)
{
	size_t	 k, i;

	for (k = 0; k < ENTRY_NTEXT; k++)
		if (t[k].present && memchr(t[k].p, '\0', t[k].len) != NULL)
			return entry_err(err, errlen, "%s contains a NUL byte",
			    entry_key_names[k]);
	for (i = 0; i < t[ENTRY_KEY_SQL].len; i++)
		if (!entry_is_space(t[ENTRY_KEY_SQL].p[i]))
			break;
	if (i == t[ENTRY_KEY_SQL].len)
		return entry_err(err, errlen, "sql is empty");
	if (t[ENTRY_KEY_ID].present && t[ENTRY_KEY_ID].len == 0)
		return entry_err(err, errlen, "id is empty");

	e->sql = t[ENTRY_KEY_SQL].p;
	e->sql_len = t[ENTRY_KEY_SQL].len;
	if (t[ENTRY_KEY_OPERATION].present)
		e->operation = t[ENTRY_KEY_OPERATION].p;
	else
		e->operation = entry_arena_copy(a, ENTRY_DEFAULT_OPERATION,
		    strlen(ENTRY_DEFAULT_OPERATION));
	e->id = t[ENTRY_KEY_ID].present ? t[ENTRY_KEY_ID].p : NULL;
	e->seq = t[ENTRY_KEY_SEQ].present ? t[ENTRY_KEY_SEQ].p : NULL;
	e->created_at = t[ENTRY_KEY_CREATED_AT].present ?
	    t[ENTRY_KEY_CREATED_AT].p : NULL;
	return 0;
}

static bool
entry_json_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
entry_json_ws(struct entry_json *j)
{
	while (j->pos < j->len && entry_json_is_ws(j->buf[j->pos]))
		j->pos++;
}

/* Fails naming what should have been at the cursor. */
static int
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
static int
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
static int
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

static bool
entry_json_is_digit(const struct entry_json *j, size_t at)
{
	return at < j->len && j->buf[at] >= '0' && j->buf[at] <= '9';
}

/* The number at the cursor, checked against the JSON grammar; its value
 * when it is an integer that fits int64. */
static int
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
static int
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

static int
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
static int
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
static int
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

/*
 * The params array at the cursor. Measuring (out NULL): counts its values
 * into *np and the arena bytes their text needs into *sizep. Decoding:
 * fills out[] and takes text from a, whose room was measured so.
 */
static int
entry_json_params(struct entry_json *j, struct entry_param *out,
    struct entry_arena *a, size_t *np, size_t *sizep)
{
	struct entry_json_num	 num;
	struct entry_param	 scratch, *p;
	size_t			 i = 0, size = 0, n;
	char			*dst = NULL;

	j->pos++;
	entry_json_ws(j);
	if (j->pos < j->len && j->buf[j->pos] == ']') {
		j->pos++;
		goto done;
	}
	for (;; i++) {
		if (i == ENTRY_MAX_PARAMS)
			return entry_err(j->err, j->errlen,
			    "params: more than %d values", ENTRY_MAX_PARAMS);
		p = out != NULL ? &out[i] : &scratch;
		memset(p, 0, sizeof(*p));
		entry_json_ws(j);
		if (j->pos >= j->len)
			return entry_json_expected(j, "a value");
		switch (j->buf[j->pos]) {
		case '[':
			return entry_err(j->err, j->errlen,
			    "params[%zu]: nested arrays are not allowed", i);
		case '{':
			return entry_err(j->err, j->errlen,
			    "params[%zu]: objects are not allowed", i);
		case '"':
			if (out != NULL)
				dst = a->base + a->used;
			if (entry_json_string(j, dst, out != NULL ?
			    a->size - a->used : 0, &n) == -1)
				return -1;
			p->type = ENTRY_PARAM_TEXT;
			p->len = n;
			size += n + 1;
			if (out != NULL) {
				/* Claim what was just written, and a NUL. */
				p->p = entry_arena_take(a, n + 1);
				dst[n] = '\0';
			}
			break;
		case 't':
			if (entry_json_literal(j, "true") == -1)
				return -1;
			p->type = ENTRY_PARAM_INT;
			p->i = 1;
			break;
		case 'f':
			if (entry_json_literal(j, "false") == -1)
				return -1;
			p->type = ENTRY_PARAM_INT;
			break;
		case 'n':
			if (entry_json_literal(j, "null") == -1)
				return -1;
			p->type = ENTRY_PARAM_NULL;
			break;
		default:
			if (j->buf[j->pos] != '-' &&
			    !entry_json_is_digit(j, j->pos))
				return entry_json_expected(j, "a value");
			if (entry_json_number(j, &num) == -1)
				return -1;
			if (num.fits) {
				p->type = ENTRY_PARAM_INT;
				p->i = num.i;
			} else {
				p->type = ENTRY_PARAM_REAL;
				if (entry_json_real(j, &num, &p->d) == -1)
					return entry_err(j->err, j->errlen,
					    "params[%zu]: number out of range",
					    i);
			}
			break;
		}
		entry_json_ws(j);
		if (j->pos < j->len && j->buf[j->pos] == ',') {
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->buf[j->pos] == ']') {
			j->pos++;
			i++;
			break;
		}
		return entry_json_expected(j, "',' or ']'");
	}
done:
	*np = i;
	*sizep = size;
	return 0;
}

/*
 * The old shell library, when jq is missing, writes
 * "metadata":{}},"created_at":... : a shell default leaves one or more
 * '}' behind the metadata value (compat-samples/README.md). Queues it
 * filled hold such files, and hq applies them. Exactly that is dropped:
 * a run of '}' (white space between allowed) right after the value of
 * the top-level "metadata" and before a ','. A '}' anywhere else still
 * fails the entry.
 */
static void
entry_json_repair(struct entry_json *j, struct entry_scan *s)
{
	size_t	 p, braces = 0;

	for (p = j->pos; p < j->len; p++) {
		if (j->buf[p] == '}')
			braces++;
		else if (!entry_json_is_ws(j->buf[p]))
			break;
	}
	if (braces > 0 && p < j->len && j->buf[p] == ',') {
		j->pos = p;
		s->repaired = true;
	}
}

/* The value of sql, operation, id, seq or created_at: checked and
 * measured, and its place kept for pass 2. */
static int
entry_json_text(struct entry_json *j, enum entry_key key, struct entry_scan *s)
{
	struct entry_json_num	 num;
	size_t			 off = j->pos, n;
	char			 c = j->buf[j->pos];

	if (c == '"') {
		if (entry_json_string(j, NULL, 0, &n) == -1)
			return -1;
	} else if ((c == '-' || entry_json_is_digit(j, j->pos)) &&
	    (key == ENTRY_KEY_ID || key == ENTRY_KEY_SEQ)) {
		if (entry_json_number(j, &num) == -1)
			return -1;
		/* An id may be written as a bare integer: keep its digits. */
		if (key == ENTRY_KEY_ID && !num.integral)
			return entry_type_err(key, j->err, j->errlen);
		n = num.len;
	} else
		return entry_type_err(key, j->err, j->errlen);
	s->text[key].present = true;
	s->text[key].off = off;
	s->text[key].size = n + 1;
	return 0;
}

/* The value of one top-level member, key already read; pass 1. */
static int
entry_json_member(struct entry_json *j, enum entry_key key,
    struct entry_scan *s)
{
	struct entry_json_num	 num;
	char			 digits[ENTRY_SHORT_MAX];
	size_t			 n;

	if (entry_json_value_start(j) == -1)
		return -1;
	switch (key) {
	case ENTRY_KEY_SQL:
	case ENTRY_KEY_OPERATION:
	case ENTRY_KEY_ID:
	case ENTRY_KEY_SEQ:
	case ENTRY_KEY_CREATED_AT:
		return entry_json_text(j, key, s);
	case ENTRY_KEY_PARAMS:
		if (j->buf[j->pos] != '[')
			return entry_type_err(key, j->err, j->errlen);
		s->params.present = true;
		s->params.off = j->pos;
		return entry_json_params(j, NULL, NULL, &s->nparams,
		    &s->params.size);
	case ENTRY_KEY_PRIORITY:
		/* Informational: an unusable value is 0, not an error. */
		s->priority = 0;
		if (j->buf[j->pos] == '"') {
			if (entry_json_string(j, digits, sizeof(digits),
			    &n) == -1)
				return -1;
			if (n < sizeof(digits))
				s->priority = entry_priority_digits(digits, n);
			return 0;
		}
		if (j->buf[j->pos] != '-' && !entry_json_is_digit(j, j->pos))
			return entry_type_err(key, j->err, j->errlen);
		if (entry_json_number(j, &num) == -1)
			return -1;
		if (num.fits && num.i >= ENTRY_PRIORITY_MIN &&
		    num.i <= ENTRY_PRIORITY_MAX)
			s->priority = (int)num.i;
		return 0;
	case ENTRY_KEY_RETRIES:
		if (j->buf[j->pos] != '-' && !entry_json_is_digit(j, j->pos))
			return entry_type_err(key, j->err, j->errlen);
		if (entry_json_number(j, &num) == -1)
			return -1;
		if (!num.fits || num.i < 0)
			return entry_type_err(key, j->err, j->errlen);
		s->retries = num.i;
		return 0;
	case ENTRY_KEY_METADATA:
		if (entry_json_skip(j) == -1)
			return -1;
		entry_json_repair(j, s);
		return 0;
	case ENTRY_KEY_OTHER:
		break;
	}
	return entry_json_skip(j);
}

/* Pass 1: checks the whole input and fills *s. */
static int
entry_json_scan(struct entry_json *j, struct entry_scan *s)
{
	char	 name[ENTRY_SHORT_MAX];
	size_t	 n;

	/* RFC 8259 section 8.1 lets a parser ignore a byte order mark;
	 * some editors add one. */
	if (j->len >= 3 && memcmp(j->buf, "\xef\xbb\xbf", 3) == 0)
		j->pos = 3;
	entry_json_ws(j);
	if (j->pos == j->len)
		return entry_err(j->err, j->errlen, "empty entry");
	if (j->buf[j->pos] != '{')
		return entry_err(j->err, j->errlen,
		    "json: top level must be an object");
	j->pos++;
	entry_json_ws(j);
	if (j->pos < j->len && j->buf[j->pos] == '}')
		j->pos++;
	else {
		for (;;) {
			if (entry_json_key(j, name, sizeof(name), &n) == -1)
				return -1;
			if (entry_json_member(j, n < sizeof(name) ?
			    entry_key_lookup(name, n) : ENTRY_KEY_OTHER,
			    s) == -1)
				return -1;
			entry_json_ws(j);
			if (j->pos < j->len && j->buf[j->pos] == ',') {
				j->pos++;
				continue;
			}
			if (j->pos < j->len && j->buf[j->pos] == '}') {
				j->pos++;
				break;
			}
			return entry_json_expected(j, "',' or '}'");
		}
	}
	entry_json_ws(j);
	if (j->pos != j->len)
		return entry_err(j->err, j->errlen,
		    "json: trailing data at offset %zu", j->pos);
	return 0;
}

/* Pass 2: decodes the kept values into one arena, then *e. */
static int
entry_json_build(struct entry_json *j, const struct entry_scan *s,
    struct entry *e)
{
	struct entry_text	 t[ENTRY_NTEXT];
	struct entry_arena	 a;
	size_t			 k, n, size;
	char			*dst;

	size = sizeof(ENTRY_DEFAULT_OPERATION);
	if (s->params.present)
		size += s->nparams * sizeof(struct entry_param) +
		    s->params.size;
	for (k = 0; k < ENTRY_NTEXT; k++)
		if (s->text[k].present)
			size += s->text[k].size;
	a.base = xmalloc(size);
	a.size = size;
	a.used = 0;
	e->arena = a.base;

	if (s->params.present && s->nparams > 0) {
		e->params = entry_arena_take(&a,
		    s->nparams * sizeof(struct entry_param));
		j->pos = s->params.off;
		if (entry_json_params(j, e->params, &a, &e->nparams, &n) == -1)
			return -1;
		if (e->nparams != s->nparams)
			abort();	/* pass 1 counted otherwise */
	}
	memset(t, 0, sizeof(t));
	for (k = 0; k < ENTRY_NTEXT; k++) {
		if (!s->text[k].present)
			continue;
		j->pos = s->text[k].off;
		t[k].present = true;
		t[k].len = s->text[k].size - 1;
		if (j->buf[j->pos] != '"') {
			/* A number, kept as written. */
			t[k].p = entry_arena_copy(&a, j->buf + j->pos,
			    t[k].len);
			continue;
		}
		dst = entry_arena_take(&a, s->text[k].size);
		if (entry_json_string(j, dst, t[k].len, &n) == -1)
			return -1;
		if (n != t[k].len)
			abort();	/* pass 1 measured otherwise */
		dst[n] = '\0';
		t[k].p = dst;
	}
	e->priority = s->priority;
	e->retries = s->retries;
	e->repaired = s->repaired;
	return entry_finish(e, t, &a, j->err, j->errlen);
}

static int
entry_json_decode(const char *buf, size_t len, struct entry *e, char *err,
    size_t errlen)
{
	struct entry_json	 j;
	struct entry_scan	 s;

	memset(&j, 0, sizeof(j));
	j.buf = buf;
	j.len = len;
	j.err = err;
	j.errlen = errlen;
	memset(&s, 0, sizeof(s));
	if (entry_json_scan(&j, &s) == -1)
		return -1;
	if (!s.text[ENTRY_KEY_SQL].present)
		return entry_err(err, errlen, "sql is missing");
	return entry_json_build(&j, &s, e);
}

/*
 * Proves that buf holds exactly one msgpack object, that every length it
 * declares fits in what remains of the input, and that its containers nest
 * no deeper than msgpack-c can parse. Without it, ten bytes declaring four
 * billion elements make msgpack-c attempt the allocation (fatal under
 * ASan). Linear and without recursion: want counts the objects still
 * expected, each at least one byte; left[] counts what remains in each open
 * container, which only the depth limit needs.
 */
int
entry_mp_check(const unsigned char *b, size_t len, char *err, size_t errlen)
{
	uint64_t	 left[ENTRY_MP_MAX_DEPTH];
	uint64_t	 want = 1, n, skip, children;
	size_t		 pos = 0, depth = 0, off, lenbytes, i;
	unsigned int	 c;
	bool		 ext, container;

	while (want > 0) {
		if (pos >= len)
			return entry_err(err, errlen, "msgpack: unexpected end "
			    "of input at offset %zu", pos);
		off = pos;
		c = b[pos++];
		want--;
		if (depth > 0)
			left[depth - 1]--;
		lenbytes = 0;
		skip = 0;
		children = 0;
		ext = false;
		container = (c >= 0x80 && c <= 0x9f) || (c >= 0xdc &&
		    c <= 0xdf);
		if (c <= 0x7f || c >= 0xe0)
			;				/* fixint */
		else if (c <= 0x8f)
			children = 2 * (uint64_t)(c & 0x0f);	/* fixmap */
		else if (c <= 0x9f)
			children = c & 0x0f;		/* fixarray */
		else if (c <= 0xbf)
			skip = c & 0x1f;		/* fixstr */
		else {
			switch (c) {
			case 0xc0:	/* nil */
			case 0xc2:	/* false */
			case 0xc3:	/* true */
				break;
			case 0xc4:	/* bin 8 */
			case 0xd9:	/* str 8 */
				lenbytes = 1;
				break;
			case 0xc5:	/* bin 16 */
			case 0xda:	/* str 16 */
			case 0xdc:	/* array 16 */
			case 0xde:	/* map 16 */
				lenbytes = 2;
				break;
			case 0xc6:	/* bin 32 */
			case 0xdb:	/* str 32 */
			case 0xdd:	/* array 32 */
			case 0xdf:	/* map 32 */
				lenbytes = 4;
				break;
			case 0xc7:	/* ext 8, 16, 32: length, type, data */
				lenbytes = 1;
				ext = true;
				break;
			case 0xc8:
				lenbytes = 2;
				ext = true;
				break;
			case 0xc9:
				lenbytes = 4;
				ext = true;
				break;
			case 0xcc:	/* uint 8 */
			case 0xd0:	/* int 8 */
				skip = 1;
				break;
			case 0xcd:
			case 0xd1:
				skip = 2;
				break;
			case 0xca:	/* float 32 */
			case 0xce:
			case 0xd2:
				skip = 4;
				break;
			case 0xcb:	/* float 64 */
			case 0xcf:
			case 0xd3:
				skip = 8;
				break;
			case 0xd4:	/* fixext 1, 2, 4, 8, 16: type, data */
				skip = 2;
				break;
			case 0xd5:
				skip = 3;
				break;
			case 0xd6:
				skip = 5;
				break;
			case 0xd7:
				skip = 9;
				break;
			case 0xd8:
				skip = 17;
				break;
			default:	/* 0xc1, never used */
				return entry_err(err, errlen, "msgpack: "
				    "invalid byte 0x%02x at offset %zu", c,
				    off);
			}
		}
		if (lenbytes > 0) {
			if (len - pos < lenbytes)
				return entry_err(err, errlen, "msgpack: "
				    "unexpected end of input at offset %zu",
				    len);
			for (n = 0, i = 0; i < lenbytes; i++)
				n = n << 8 | b[pos++];
			if (c == 0xdc || c == 0xdd)
				children = n;
			else if (c == 0xde || c == 0xdf)
				children = 2 * n;
			else
				skip = n + (ext ? 1 : 0);
		}
		if (skip > len - pos)
			return entry_err(err, errlen,
			    "msgpack: declared length exceeds input");
		pos += (size_t)skip;
		if (want > len - pos)
			return entry_err(err, errlen, "msgpack: unexpected end "
			    "of input at offset %zu", len);
		/* Each element takes at least one byte. */
		if (children > len - pos - want)
			return entry_err(err, errlen,
			    "msgpack: declared length exceeds input");
		if (container && depth == ENTRY_MP_MAX_DEPTH)
			return entry_err(err, errlen, "msgpack: nesting deeper "
			    "than %d at offset %zu", ENTRY_MP_MAX_DEPTH, off);
		if (children > 0) {
			left[depth++] = children;
			want += children;
		}
		while (depth > 0 && left[depth - 1] == 0)
			depth--;
	}
	if (pos != len)
		return entry_err(err, errlen,
		    "msgpack: trailing bytes at offset %zu", pos);
	return 0;
}

static bool
entry_mp_is_int(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static bool
entry_mp_is_float(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_FLOAT32 ||
	    o->type == MSGPACK_OBJECT_FLOAT64;
}

/* Checks the params array, and measures the arena bytes its text and
 * blobs need into *sizep. */
static int
entry_mp_params(const msgpack_object *o, size_t *sizep, char *err,
    size_t errlen)
{
	const msgpack_object	*v;
	size_t			 i, size = 0;

	if (o->via.array.size > ENTRY_MAX_PARAMS)
		return entry_err(err, errlen, "params: more than %d values",
		    ENTRY_MAX_PARAMS);
	for (i = 0; i < o->via.array.size; i++) {
		v = &o->via.array.ptr[i];
		switch (v->type) {
		case MSGPACK_OBJECT_NIL:
		case MSGPACK_OBJECT_BOOLEAN:
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			if (v->via.u64 > INT64_MAX)
				return entry_err(err, errlen, "params[%zu]: "
				    "integer out of range", i);
			break;
		case MSGPACK_OBJECT_STR:
			size += (size_t)v->via.str.size + 1;
			break;
		case MSGPACK_OBJECT_BIN:
			size += (size_t)v->via.bin.size + 1;
			break;
		case MSGPACK_OBJECT_ARRAY:
			return entry_err(err, errlen,
			    "params[%zu]: nested arrays are not allowed", i);
		case MSGPACK_OBJECT_MAP:
			return entry_err(err, errlen,
			    "params[%zu]: maps are not allowed", i);
		default:
			return entry_err(err, errlen,
			    "params[%zu]: ext values are not allowed", i);
		}
	}
	*sizep = size;
	return 0;
}

static void
entry_mp_fill_params(const msgpack_object *o, struct entry_param *out,
    struct entry_arena *a)
{
	const msgpack_object	*v;
	struct entry_param	*p;
	size_t			 i;

	for (i = 0; i < o->via.array.size; i++) {
		v = &o->via.array.ptr[i];
		p = &out[i];
		memset(p, 0, sizeof(*p));
		switch (v->type) {
		case MSGPACK_OBJECT_BOOLEAN:
			p->type = ENTRY_PARAM_INT;
			p->i = v->via.boolean ? 1 : 0;
			break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			p->type = ENTRY_PARAM_INT;
			p->i = (int64_t)v->via.u64;
			break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
			p->type = ENTRY_PARAM_INT;
			p->i = v->via.i64;
			break;
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			p->type = ENTRY_PARAM_REAL;
			p->d = v->via.f64;
			break;
		case MSGPACK_OBJECT_STR:
			p->type = ENTRY_PARAM_TEXT;
			p->len = v->via.str.size;
			p->p = entry_arena_copy(a, v->via.str.ptr, p->len);
			break;
		case MSGPACK_OBJECT_BIN:
			p->type = ENTRY_PARAM_BLOB;
			p->len = v->via.bin.size;
			p->p = entry_arena_copy(a, v->via.bin.ptr, p->len);
			break;
		default:
			p->type = ENTRY_PARAM_NULL;
			break;
		}
	}
}

/* A text key's value as bytes, numbers written out in num (room for any
 * int64, uint64 or %.17g double). */
static int
entry_mp_text(enum entry_key key, const msgpack_object *o, char *num,
    size_t numlen, const char **pp, size_t *lenp, char *err, size_t errlen)
{
	int	 r;

	if (o->type == MSGPACK_OBJECT_STR) {
		*pp = o->via.str.ptr;
		*lenp = o->via.str.size;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    (key == ENTRY_KEY_ID || key == ENTRY_KEY_SEQ))
		r = snprintf(num, numlen, "%" PRIu64, o->via.u64);
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
	    (key == ENTRY_KEY_ID || key == ENTRY_KEY_SEQ))
		r = snprintf(num, numlen, "%" PRId64, o->via.i64);
	else if (entry_mp_is_float(o) && key == ENTRY_KEY_SEQ)
		r = snprintf(num, numlen, "%.17g", o->via.f64);
	else
		return entry_type_err(key, err, errlen);
	if (r < 0 || (size_t)r >= numlen)
		abort();
	*pp = num;
	*lenp = (size_t)r;
	return 0;
}

static int
entry_mp_build(const msgpack_object *root, struct entry *e, char *err,
    size_t errlen)
{
	const msgpack_object	*val[ENTRY_KEY_OTHER], *k, *v;
	const char		*src[ENTRY_NTEXT];
	char			 num[ENTRY_NTEXT][ENTRY_SHORT_MAX];
	struct entry_text	 t[ENTRY_NTEXT];
	struct entry_arena	 a;
	size_t			 i, size, psize = 0, srclen[ENTRY_NTEXT];
	enum entry_key		 key;

	if (root->type != MSGPACK_OBJECT_MAP)
		return entry_err(err, errlen,
		    "msgpack: top level must be a map");
	memset(val, 0, sizeof(val));
	memset(t, 0, sizeof(t));
	for (i = 0; i < root->via.map.size; i++) {
		k = &root->via.map.ptr[i].key;
		v = &root->via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		key = entry_key_lookup(k->via.str.ptr, k->via.str.size);
		switch (key) {
		case ENTRY_KEY_SQL:
		case ENTRY_KEY_OPERATION:
		case ENTRY_KEY_ID:
		case ENTRY_KEY_SEQ:
		case ENTRY_KEY_CREATED_AT:
			if (entry_mp_text(key, v, num[key], sizeof(num[key]),
			    &src[key], &srclen[key], err, errlen) == -1)
				return -1;
			break;
		case ENTRY_KEY_PARAMS:
			if (v->type != MSGPACK_OBJECT_ARRAY)
				return entry_type_err(key, err, errlen);
			if (entry_mp_params(v, &psize, err, errlen) == -1)
				return -1;
			break;
		case ENTRY_KEY_PRIORITY:
			/* Informational: an unusable value is 0. */
			e->priority = 0;
			if (v->type == MSGPACK_OBJECT_STR)
				e->priority = entry_priority_digits(
				    v->via.str.ptr, v->via.str.size);
			else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
				if (v->via.u64 >= ENTRY_PRIORITY_MIN &&
				    v->via.u64 <= ENTRY_PRIORITY_MAX)
					e->priority = (int)v->via.u64;
			} else if (!entry_mp_is_int(v) && !entry_mp_is_float(v))
				return entry_type_err(key, err, errlen);
			break;
		case ENTRY_KEY_RETRIES:
			if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
			    v->via.u64 > INT64_MAX)
				return entry_type_err(key, err, errlen);
			e->retries = (int64_t)v->via.u64;
			break;
		case ENTRY_KEY_METADATA:
		case ENTRY_KEY_OTHER:
			/* Already checked by entry_mp_check(). */
			break;
		}
		if (key != ENTRY_KEY_OTHER)
			val[key] = v;
	}
	if (val[ENTRY_KEY_SQL] == NULL)
		return entry_err(err, errlen, "sql is missing");

	size = sizeof(ENTRY_DEFAULT_OPERATION);
	if (val[ENTRY_KEY_PARAMS] != NULL)
		size += val[ENTRY_KEY_PARAMS]->via.array.size *
		    sizeof(struct entry_param) + psize;
	for (i = 0; i < ENTRY_NTEXT; i++)
		if (val[i] != NULL)
			size += srclen[i] + 1;
	a.base = xmalloc(size);
	a.size = size;
	a.used = 0;
	e->arena = a.base;

	if (val[ENTRY_KEY_PARAMS] != NULL &&
	    val[ENTRY_KEY_PARAMS]->via.array.size > 0) {
		e->nparams = val[ENTRY_KEY_PARAMS]->via.array.size;
		e->params = entry_arena_take(&a,
		    e->nparams * sizeof(struct entry_param));
		entry_mp_fill_params(val[ENTRY_KEY_PARAMS], e->params, &a);
	}
	for (i = 0; i < ENTRY_NTEXT; i++) {
		if (val[i] == NULL)
			continue;
		t[i].present = true;
		t[i].len = srclen[i];
		t[i].p = entry_arena_copy(&a, src[i], srclen[i]);
	}
	return entry_finish(e, t, &a, err, errlen);
}

static int
entry_mp_decode(const char *buf, size_t len, struct entry *e, char *err,
    size_t errlen)
{
	msgpack_unpacked	 u;
	msgpack_unpack_return	 r;
	size_t			 off = 0;
	int			 ret = -1;

	if (entry_mp_check((const unsigned char *)buf, len, err, errlen) == -1)
		return -1;
	msgpack_unpacked_init(&u);
	r = msgpack_unpack_next(&u, buf, len, &off);
	/* The check above leaves only a failed malloc to fail on, which is
	 * fatal like every other. */
	if (r == MSGPACK_UNPACK_NOMEM_ERROR)
		fatalx("entry: msgpack: out of memory");
	if (r != MSGPACK_UNPACK_SUCCESS || off != len)
		entry_errf(err, errlen, "msgpack: cannot unpack (%d)", (int)r);
	else
		ret = entry_mp_build(&u.data, e, err, errlen);
	/* Everything kept was copied to the arena. */
	msgpack_unpacked_destroy(&u);
	return ret;
}

int
entry_decode(enum entry_format fmt, const char *buf, size_t len,
    struct entry *e, char *err, size_t errlen)
{
	int	 ret;

	memset(e, 0, sizeof(*e));
	if (errlen > 0)
		err[0] = '\0';
	if (len == 0)
		ret = entry_err(err, errlen, "empty entry");
	else if (fmt == ENTRY_JSON)
		ret = entry_json_decode(buf, len, e, err, errlen);
	else if (fmt == ENTRY_MSGPACK)
		ret = entry_mp_decode(buf, len, e, err, errlen);
	else
		ret = entry_err(err, errlen, "unknown entry format %d",
		    (int)fmt);
	if (ret == -1)
		entry_free(e);
	return ret;
}

void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	free(e->arena);
	memset(e, 0, sizeof(*e));
}

/* SPDX-License-Identifier: MIT */
/*
 * entry_json.c: the JSON entry reader, strict RFC 8259, in two passes: the
 * first checks the whole input and measures what the kept values need, the
 * second decodes only those into one allocation of exactly that size. No
 * recursion. Leniencies, all deliberate: a leading UTF-8 byte order mark
 * is skipped (RFC 8259 section 8.1 allows it), the old shell library's
 * stray '}' after the "metadata" value is dropped (see
 * entry_json_repair()), and bytes that are not UTF-8 inside strings are
 * kept as they are: entries carry bytes, as MessagePack ones and the
 * sqlite3 command do.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/entry_int.h"
#include "common/entry_jsontok.h"
#include "common/xmalloc.h"

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
 * '}' behind the metadata value (tests/fixtures/entries/compat/README.md).
 * Queues it filled hold such files, and hq applies them. Exactly that is dropped:
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

int
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

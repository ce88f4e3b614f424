/* SPDX-License-Identifier: MIT */
/*
 * entry.c: decodes one queue entry (docs/formats.md), JSON or MessagePack,
 * from the bytes of its file into a struct entry that owns one arena. Runs
 * in workers, hqctl and the fuzzers; no I/O, no state. Knows nothing of SQL
 * beyond "not empty": worker/sqlapply.c prepares and binds.
 *
 * This file is the model: the keys, the arena, the checks both formats
 * share, and the dispatch. The readers are entry_json.c (our own, strict)
 * and entry_msgpack.c (msgpack-c behind common/mpcheck.c's bounds walk).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/entry_int.h"

const char *const entry_key_names[] = {
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

void
entry_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

void *
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

const char *
entry_arena_copy(struct entry_arena *a, const char *p, size_t len)
{
	char	*q;

	q = entry_arena_take(a, len + 1);
	if (len > 0)
		memcpy(q, p, len);
	q[len] = '\0';
	return q;
}

enum entry_key
entry_key_lookup(const char *name, size_t len)
{
	size_t	 k;

	for (k = 0; k < ENTRY_KEY_OTHER; k++)
		if (strlen(entry_key_names[k]) == len &&
		    memcmp(entry_key_names[k], name, len) == 0)
			return (enum entry_key)k;
	return ENTRY_KEY_OTHER;
}

int
entry_type_err(enum entry_key key, char *err, size_t errlen)
{
	return entry_err(err, errlen, "%s must be %s", entry_key_names[key],
	    entry_key_types[key]);
}

/* A string of decimal digits, as the old library sometimes wrote the
 * priority: its value when within 1..10, else 0 (it is informational). */
int
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
int
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

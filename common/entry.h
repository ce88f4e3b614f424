/* SPDX-License-Identifier: MIT */
/* entry.h: decoding of one queue entry (docs/formats.md) from the bytes of
 * its file, JSON or MessagePack. Pure functions: no I/O, no globals; run in
 * workers, in hqctl and in the fuzzers. */
#ifndef HQ_ENTRY_H
#define HQ_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum entry_format { ENTRY_JSON = 0, ENTRY_MSGPACK };

enum entry_param_type {
	ENTRY_PARAM_NULL = 0,
	ENTRY_PARAM_INT,	/* also JSON true/false and msgpack bool: 1/0 */
	ENTRY_PARAM_REAL,
	ENTRY_PARAM_TEXT,	/* UTF-8, len bytes, NUL-terminated */
	ENTRY_PARAM_BLOB,	/* msgpack bin only */
};

struct entry_param {
	enum entry_param_type	 type;
	int64_t			 i;
	double			 d;
	const char		*p;	/* TEXT/BLOB: points into the entry's arena */
	size_t			 len;
};

/*
 * A decoded entry. Every pointer points into memory owned by the entry
 * (freed by entry_free()); nothing points into the input buffer.
 * Absent optional keys: operation "generic", id NULL, priority 0,
 * retries 0, params none.
 */
struct entry {
	const char		*sql;		/* required, NUL-terminated */
	size_t			 sql_len;
	const char		*operation;	/* never NULL */
	const char		*id;		/* NULL when absent */
	const char		*seq;		/* NULL when absent */
	const char		*created_at;	/* NULL when absent */
	int			 priority;	/* 0 when absent */
	int64_t			 retries;
	struct entry_param	*params;
	size_t			 nparams;
	bool			 repaired;	/* old library's stray '}' fixed */
	void			*arena;		/* owner of everything above */
};

/* Hard limits that keep a hostile entry from costing more than its size. */
#define ENTRY_MAX_PARAMS	32766	/* SQLite's default SQLITE_MAX_VARIABLE_NUMBER */
#define ENTRY_MAX_DEPTH		64	/* nesting of skipped values (metadata) */

/*
 * Decode buf[0..len) as fmt into *e. Returns 0, or -1 with a one-line,
 * human-readable reason in err (always NUL-terminated) and *e zeroed.
 * Permanent by nature: the same bytes always fail the same way.
 * Never reads past len; buf need not be NUL-terminated.
 */
int	entry_decode(enum entry_format fmt, const char *buf, size_t len,
	    struct entry *e, char *err, size_t errlen);
/* Frees what entry_decode() allocated; safe on a zeroed entry. */
void	entry_free(struct entry *e);

#endif

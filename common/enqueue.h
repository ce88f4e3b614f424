/* SPDX-License-Identifier: MIT */
/* enqueue.h: the C producer API. Writes one entry the way the old shell
 * library does (same keys, so either daemon can read it), safely: a temp
 * file in .tmp/, fsync, then one rename into pending/, which is the commit
 * point. Never touches the database, never blocks on hqd. */
#ifndef HQ_ENQUEUE_H
#define HQ_ENQUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/entry.h"

/*
 * Text (sql, operation, id, TEXT params) is bytes: what is not UTF-8 is
 * written as it is and reaches SQLite unchanged, as the sqlite3 command
 * would store it (docs/formats.md, "Entries carry bytes").
 */
struct hq_enqueue {
	const char			*sql;		/* required */
	int				 priority;	/* 1..10 */
	const char			*operation;	/* NULL: "generic" */
	const char			*id;		/* NULL: from the name */
	const char			*metadata;	/* JSON value, NULL: {} */
	const struct entry_param	*params;	/* TEXT, INT, REAL, NULL */
	size_t				 nparams;
	bool				 no_sync;	/* skip the file fsync */
	bool				 sync_dir;	/* fsync pending/ too */
	/*
	 * The old shell library's leniency, for producers that must never
	 * turn a write into nothing (a hook ignores return codes): a
	 * priority outside 1..10 is clamped, metadata that is not JSON is
	 * kept as a JSON string, and an entry hqd would refuse is queued
	 * anyway, so that it lands in failed/ with its reason. What was
	 * done is said in err, on success too.
	 */
	bool				 lenient;
};

/*
 * Enqueue e under the queue root. On success returns 0 and the entry's
 * file name in name (>= 256 bytes); err is empty, or (e->lenient) says
 * what was changed. On failure returns -1 with errno set and a one-line
 * reason in err; no file is left in pending/ and the temp file is
 * removed. EINVAL (never with e->lenient but for a NULL sql): bad
 * priority, empty SQL, metadata that is not JSON (the document is decoded
 * as hqd will before writing), a BLOB param (JSON carries no blobs).
 */
int	hq_enqueue(const char *root, const struct hq_enqueue *e, char *name,
	    size_t namelen, char *err, size_t errlen);

#endif

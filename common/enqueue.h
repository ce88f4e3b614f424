/* SPDX-License-Identifier: MIT */
/* enqueue.h: the C producer API. Writes one entry the way the old shell
 * library does (same keys, so either daemon can read it), safely: a temp
 * file in .tmp/, fdatasync, then one rename into pending/, which is the
 * commit point, then an fsync of pending/ so that the entry survives a
 * power loss. Never touches the database, never blocks on hqd. */
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
	/* skip both flushes: the entry may vanish in a power loss */
	bool				 no_sync;
	bool				 sync_dir;	/* implied; kept for source
							 * compatibility */
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

/*
 * Enqueue the n entries e[0..n-1] with one flush of pending/ between
 * them: the files are written, their data flushed together, each renamed
 * into pending/ (in order), then the directory is flushed once. Returns
 * only after that flush: every entry it reports is on disk. Entry i's
 * name goes to names + i * namelen. Returns 0 when all n are enqueued;
 * -1 with errno and err (which names the entry, from 1) otherwise, and
 * *done (when not NULL) says how many, from the first, are enqueued and
 * flushed all the same: entries are published 64 at a time, so a bad
 * entry stops the batch at its group of 64, not before it. An entry's
 * no_sync skips its own flush; pending/ is flushed when any entry asked
 * for one.
 */
int	hq_enqueue_many(const char *root, const struct hq_enqueue *e,
	    size_t n, char *names, size_t namelen, size_t *done, char *err,
	    size_t errlen);

/*
 * A priority given as text: 0 with *prio set, or -1 when it is not an
 * integer in 1..10. With lenient (the old library queued anything) an
 * integer out of range is kept for hq_enqueue() to clamp, and what is
 * not an integer becomes 5: returns 1 then, for a warning.
 */
int	hq_enqueue_priority(const char *arg, bool lenient, int *prio);
/* hqctl's exit status for hq_enqueue()'s errno (64-78, never 1). */
int	hq_enqueue_status(int errnum);
/* A lenient enqueue's warnings on stderr: a priority that was not an
 * integer (badprio, or NULL), and the notes hq_enqueue() left in err. */
void	hq_enqueue_warn(const char *name, const char *badprio,
	    const char *notes);
#endif

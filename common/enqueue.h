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

struct hq_enqueue {
	const char			*sql;		/* required, UTF-8 */
	int				 priority;	/* 1..10 */
	const char			*operation;	/* NULL: "generic" */
	const char			*id;		/* NULL: from the name */
	const char			*metadata;	/* JSON value, NULL: {} */
	const struct entry_param	*params;	/* TEXT, INT, REAL, NULL */
	size_t				 nparams;
	bool				 no_sync;	/* skip the file fsync */
	bool				 sync_dir;	/* fsync pending/ too */
};

/*
 * Enqueue e under the queue root. On success returns 0 and the entry's
 * file name in name (>= 256 bytes). On failure returns -1 with errno set
 * and a one-line reason in err; no file is left in pending/ and the temp
 * file is removed. EINVAL: bad priority, empty or non-UTF-8 SQL, metadata
 * that is not JSON (the document is decoded as hqd will before writing).
 */
int	hq_enqueue(const char *root, const struct hq_enqueue *e, char *name,
	    size_t namelen, char *err, size_t errlen);

#endif

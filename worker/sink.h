/* SPDX-License-Identifier: MIT */
/*
 * sink.h: where a worker applies entries. job.c drives one transaction per
 * batch through these calls and classifies what fails (who pays, whether
 * the batch waits); a sink only runs the statements. Two sinks: the local
 * SQLite file (sqlapply.c, the default) and a dqlite cluster (dqsink.c).
 * The outcomes are sqlapply's, so the retry and blame rules of job.c
 * (docs/reliability.md) read the same for both.
 */
#ifndef HQ_SINK_H
#define HQ_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/entry.h"
#include "common/seg.h"
#include "worker/sqlapply.h"

struct sink;

/* What a sink tells the stats segment (sink_publish). */
struct sink_status {
	uint64_t	 round_trips, connects, leader_changes;
	const char	*leader;	/* NULL: unknown or local */
	const char	*error;		/* the cluster's last failure, or NULL */
	uint64_t	 error_ns;	/* its wall clock */
};

struct sink_ops {
	const char	*name;
	/* Connect if not connected: OK, or TEMP with the reason. */
	enum sqlapply_outcome (*open)(struct sink *, char *, size_t);
	enum sqlapply_outcome (*begin)(struct sink *, char *, size_t);
	/* As sqlapply_entry: OK, DUP, PERM, SUSPECT or TEMP. */
	enum sqlapply_outcome (*entry)(struct sink *, const char *id,
	    const struct entry *, char *, size_t);
	enum sqlapply_outcome (*commit)(struct sink *, char *, size_t);
	void		 (*rollback)(struct sink *);
	/* 1: id in the ledger, 0: not, -1: cannot tell. */
	int		 (*applied)(struct sink *, const char *id);
	void		 (*close)(struct sink *);
	/* After a failed attempt: what the batch waits for without spending
	 * retries (SEG_WAIT_NONE: it failed, the retry rules apply). */
	enum seg_wait	 (*waiting)(const struct sink *);
	/* After PERM: the entry's SQL ended the transaction (so the batch
	 * starts over without it). */
	bool		 (*txn_lost)(const struct sink *);
	/* NULL: nothing to tell (the local file). */
	void		 (*status)(const struct sink *, struct sink_status *);
};

struct sink {
	const struct sink_ops	*ops;
	void			*impl;
	/* The default id of an entry (its file name's PRIORITY_SEQ) is
	 * qualified with this when set ("TOKEN/NAME"): the dqlite sink's
	 * ledger is shared by every queue writing to the cluster. */
	char			*id_prefix;
	struct sink_status	 pub;	/* counters as last published */
};

/* Publish what changed in the sink's status into the worker's slot;
 * committed says the attempt just made did commit. */
void	sink_publish(struct sink *s, struct seg_slot *sl, bool committed);

/* s applies to the local SQLite connection sa (already sqlapply_init'ed). */
void	sink_local(struct sink *s, struct sqlapply *sa);

#endif

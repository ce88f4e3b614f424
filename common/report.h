/* SPDX-License-Identifier: MIT */
/* report.h: the stats documents, rendered from the segment: the heartbeat
 * JSON (also `hqctl stats --json`, `/stats.json`), the Prometheus text
 * exposition and the human table. One renderer for every consumer, so the
 * heartbeat, hqctl and HTTP cannot disagree. Pure: no I/O but the optional
 * directory count. */
#ifndef HQ_REPORT_H
#define HQ_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/pbuf.h"
#include "common/seg.h"

#define HQ_REPORT_SCHEMA	1

/* Depths counted from the directories: what hqctl shows with no daemon. */
struct report_dirs {
	bool		valid;
	uint64_t	pending, processing, failed, completed;
	uint64_t	depth[HQ_SEG_PRIORITIES + 1];
	uint64_t	oldest_pending_ns;	/* wall clock mtime, 0 none */
	uint64_t	bad_names;
};

/* Count root's directories. 0, or -1 with errno (d->valid false). */
int	report_count_dirs(const char *root, struct report_dirs *d);

/* sg NULL: the daemon is down (d gives depths). d may be NULL when sg is
 * set. now_ns: wall clock. Appends to out. */
void	report_json(struct pbuf *out, const struct seg *sg,
	    const struct report_dirs *d, uint64_t now_ns);
void	report_prometheus(struct pbuf *out, const struct seg *sg,
	    const struct report_dirs *d, uint64_t now_ns);
void	report_table(struct pbuf *out, const struct seg *sg,
	    const struct report_dirs *d, uint64_t now_ns);

/* Totals over the configured slots. */
struct report_totals {
#define HQ_SLOT_COUNTER(name, prom, help)	uint64_t name;
#include "common/counters.def"
#undef HQ_SLOT_COUNTER
	int		alive;
	struct seg_hist	exec, commit;	/* merged histograms (plain copies) */
};
void	report_totals(const struct seg *sg, struct report_totals *t);

/* The sink over all slots (docs/stats.md, "sink"). */
struct report_sink {
	bool		dqlite;
#define HQ_SINK_COUNTER(name, help)	uint64_t name;
#include "common/counters.def"
#undef HQ_SINK_COUNTER
	char		leader[64];		/* of the last commit */
	char		error[HQ_SEG_SINK_TEXT];	/* the latest */
	uint64_t	error_ns, ok_ns;	/* wall clock, 0: never */
	uint32_t	waiting;		/* workers waiting for it */
	uint64_t	wait_since_ns;		/* the longest such wait's */
	uint32_t	alive;			/* workers running */
};
void	report_sink(const struct seg *sg, struct report_sink *k);
/* Whether the dqlite cluster is out of reach: a worker waits for it and
 * no worker committed since; why in msg (may be NULL). Never for a local
 * file. */
bool	report_sink_down(const struct report_sink *k, char *msg, size_t len);

/*
 * The old worker's stats.json object, {"enqueued","processed","failed",
 * "retried","direct"}, cumulative across hqd's restarts (the segment's
 * counters start at 0 with each hqd): processed, failed and retried are
 * the totals hqd started from (the segment header's legacy_*, or, with
 * no hqd, the file's) plus the segment's counters (processed counts
 * duplicates too: an entry the ledger already had was applied, by an
 * earlier life; failed counts poison entries). enqueued is processed +
 * failed + queued, so it never goes back; direct is the shell library's
 * count of USE_QUEUE=false writes.
 */
struct report_legacy {
	uint64_t	enqueued, processed, failed, retried, direct;
};
/* sg NULL: the daemon is down, base gives the totals. queued: entries in
 * pending/ and processing/ now. */
void	report_legacy(struct report_legacy *out, const struct seg *sg,
	    const struct report_legacy *base, uint64_t queued, uint64_t direct);
void	report_legacy_json(struct pbuf *out, const struct report_legacy *l);
/* Read rootfd's stats.json (hq's one line, or the old worker's, which jq
 * may have spread over lines) into *l. 0; -1 with errno when it cannot be
 * read (ENOENT: none), EINVAL when it is not that object (*l zeroed). */
int	report_legacy_read(int rootfd, struct report_legacy *l);
/* The shell library's direct writes: one byte each in rootfd's .direct. */
uint64_t report_legacy_direct(int rootfd);

/* The health verdict of `hqctl health` and /healthz, one definition:
 * not draining, heartbeat fresh (monotonic), every worker running and none
 * stuck starting, the watcher up (no polling fallback). now_mono_ns: the
 * monotonic clock. Writes "healthy: ..." or "unhealthy: why" to msg. */
bool	report_health(const struct seg *sg, uint64_t now_mono_ns, char *msg,
	    size_t msglen);

/* ,"window":{...}: what happened between two totals secs apart (the
 * dashboard's per-second rates and recent latency percentiles). */
void	report_window(struct pbuf *out, const struct report_totals *prev,
	    const struct report_totals *cur, double secs);

#endif

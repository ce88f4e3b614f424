/* SPDX-License-Identifier: MIT */
/* seg.h: the shared-memory stats segment (docs/stats.md). hqd creates it,
 * each worker writes its own slot, hqctl and hqd's HTTP server (in the
 * supervisor's loop) read it without locks. Every field has one writer
 * but the workers' write turn (a wake-up word). Counters are relaxed atomics;
 * the header's ready flag is stored last with release and read with
 * acquire. Gauges are stored whole by their one writer, never incremented
 * by two processes, so a dying worker cannot make them drift.
 * Any layout change bumps HQ_SEG_VERSION. */
#ifndef HQ_SEG_H
#define HQ_SEG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/hq.h"

#define HQ_SEG_MAGIC		0x3147455351480000ULL	/* "\0\0HQSEG1" */
#define HQ_SEG_VERSION		5
#define HQ_SEG_SLOTS		HQ_MAX_WORKERS
#define HQ_SEG_PRIORITIES	10
#define HQ_SEG_PATH		256

/* Latency histogram: microseconds, 8 exact buckets then 4 per power of
 * two (at most 25 % wide), up to 2^36 us (~19 hours), then one bucket for
 * the rest. Bucket b holds (upper(b - 1), upper(b)]: upper bounds are
 * inclusive, as Prometheus' le. */
#define HQ_HIST_BUCKETS		140

typedef _Atomic uint64_t	seg_u64;

enum seg_mode { SEG_MODE_EVENT_LOOP = 0, SEG_MODE_POLLING };
/* Why hqd polls: asked to (USE_EVENT_LOOP=false) or inotify failed. */
enum seg_polling { SEG_POLL_NONE = 0, SEG_POLL_CONFIGURED, SEG_POLL_FALLBACK };

/* What a worker is waiting for, if anything (its retries are not spent
 * while it waits). */
enum seg_wait {
	SEG_WAIT_NONE = 0,
	SEG_WAIT_LOCK,		/* another connection holds the write lock */
	SEG_WAIT_DISK,		/* the disk is full */
	SEG_WAIT_RETRY,		/* backing off before a retry */
	SEG_WAIT_CLUSTER,	/* the dqlite cluster: no leader reachable */
};

/* What the supervisor knows of a slot. */
enum seg_slot_state {
	SEG_SLOT_EMPTY = 0, SEG_SLOT_STARTING, SEG_SLOT_IDLE, SEG_SLOT_BUSY,
};

struct seg_hist {
	seg_u64		count;
	seg_u64		sum_us;
	seg_u64		bucket[HQ_HIST_BUCKETS];
};

struct seg_counters_sup {
#define HQ_SUP_COUNTER(name, help)	seg_u64 name;
#include "common/counters.def"
#undef HQ_SUP_COUNTER
};

struct seg_counters_slot {
#define HQ_SLOT_COUNTER(name, prom, help)	seg_u64 name;
#include "common/counters.def"
#undef HQ_SLOT_COUNTER
};

#define HQ_SEG_SINK_TEXT	192

/* The sink as a worker last saw it (docs/dqlite.md, "Operations"). The
 * texts are rewritten in place by the slot's worker, only when they
 * change, and their last byte is never written: a reader racing a write
 * may see a mix of two texts, never an unterminated one. */
struct seg_sink {
#define HQ_SINK_COUNTER(name, help)	seg_u64 name;
#include "common/counters.def"
#undef HQ_SINK_COUNTER
	seg_u64		error_ns;	/* wall clock of error, 0: none */
	seg_u64		ok_ns;		/* of the last batch committed */
	char		leader[64];	/* HOST:PORT, "" unknown */
	char		error[HQ_SEG_SINK_TEXT];
};

struct seg_slot {
	/* written by the supervisor */
	seg_u64			pid;		/* 0: no process */
	seg_u64			gen;
	seg_u64			state;		/* enum seg_slot_state */
	seg_u64			spawned_ns;	/* wall clock */
	seg_u64			inhand;		/* names in the WORK in hand */
	/* written by the slot's worker */
	seg_u64			progress_ns;	/* wall clock of last progress */
	seg_u64			alive_mono_ns;	/* CLOCK_MONOTONIC of the last
					   sign of life while holding a
					   claim: an entry done, a lock
					   wait, a backoff step */
	seg_u64			wait;		/* enum seg_wait */
	seg_u64			wait_since_ns;	/* wall clock, 0: not waiting */
	seg_u64			wait_pid;	/* lock holder's pid, 0 unknown */
	struct seg_counters_slot c;
	struct seg_sink		sink;
	struct seg_hist		lat_exec;	/* enqueue -> statement done */
	struct seg_hist		lat_commit;	/* enqueue -> COMMIT returned */
} __attribute__((aligned(64)));

struct seg_header {
	/* written once by hqd before ready */
	uint64_t		magic;
	uint32_t		version;
	uint32_t		header_size;
	uint32_t		slot_size;
	uint32_t		nslots;
	uint64_t		total_size;
	int64_t			pid;
	uint64_t		start_ns;	/* wall clock */
	uint64_t		generation;	/* new on every hqd start */
	char			root[HQ_SEG_PATH];
	char			db[HQ_SEG_PATH];
	_Atomic uint32_t	ready;		/* release-stored last */
	uint32_t		nworkers;	/* configured */
	/* Also fixed before ready (here, not above, so that the offsets
	 * of root and ready stay): the cumulative totals of stats.json when
	 * hqd started (as hqd, or the old worker, left the file).
	 * stats.json adds hqd's counters to them, so it goes on counting
	 * across restarts as the old one did. */
	uint64_t		legacy_processed;
	uint64_t		legacy_failed;
	uint64_t		legacy_retried;
	/* written by the supervisor while it runs */
	seg_u64			mode;		/* enum seg_mode */
	seg_u64			polling;	/* enum seg_polling */
	seg_u64			watcher_alive;
	seg_u64			draining;
	seg_u64			heartbeat_ns;	/* wall clock of last tick */
	seg_u64			heartbeat_mono_ns; /* CLOCK_MONOTONIC of it: freshness
					   survives wall-clock jumps */
	seg_u64			heartbeat_interval_ms;
	seg_u64			last_event_ns;	/* wall clock, 0 never */
	seg_u64			queue_size;	/* queued, not yet handed out */
	seg_u64			processing;	/* in workers' hands */
	seg_u64			oldest_pending_ns; /* wall clock, 0 none */
	seg_u64			failed_entries;	/* in failed/ at the last tick */
	seg_u64			depth[HQ_SEG_PRIORITIES + 1];	/* by priority */
	struct seg_counters_sup	c;
	/* The workers' write turn, on a line of its own: a worker that ends
	 * a transaction on the database file bumps turn and, when some wait,
	 * wakes them (a futex on turn), so a worker waiting for the write
	 * lock tries again the moment it is free, not at its next poll
	 * (worker/sqlapply.c). Written by the workers; hqd only zeroes it. */
	_Atomic uint32_t	writer_turn __attribute__((aligned(64)));
	_Atomic uint32_t	writer_waiters;
} __attribute__((aligned(64)));

struct seg {
	struct seg_header	h;
	struct seg_slot		slot[HQ_SEG_SLOTS];
};

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
    "the segment needs lock-free 64-bit atomics");
_Static_assert(sizeof(seg_u64) == 8, "seg_u64 is 8 bytes");
_Static_assert(sizeof(struct seg_slot) % 64 == 0,
    "a slot is whole cache lines: no false sharing between workers");
_Static_assert(offsetof(struct seg, slot) % 64 == 0, "slots aligned");
_Static_assert(sizeof(struct seg) < 1024 * 1024, "segment stays small");

/* Relaxed counter updates by the field's one writer. */
#define SEG_ADD(field, n) \
	atomic_fetch_add_explicit(&(field), (uint64_t)(n), memory_order_relaxed)
#define SEG_SET(field, v) \
	atomic_store_explicit(&(field), (uint64_t)(v), memory_order_relaxed)
#define SEG_GET(field) \
	atomic_load_explicit(&(field), memory_order_relaxed)

/* The segment name for a root: "/hq-" and 16 hex digits of a hash of its
 * real path, unless configured. buf >= 64 bytes. */
void	seg_name(char *buf, size_t len, const char *real_root,
	    const char *configured);

/* hqd: create (replacing a stale one), allocate every page and map
 * read-write, mode 0640. NULL with a reason in err and errno: EBUSY when a
 * live hqd of another root owns it, ENOSPC when /dev/shm cannot hold it,
 * what shm_open or mmap said otherwise. */
struct seg *seg_create(const char *name, const char *root, const char *db,
	    int nworkers, char *err, size_t errlen);
/* hqd: publish (ready), after filling the header. */
void	seg_publish(struct seg *s);
/* hqd at exit: unmap, and unlink name if it still is this segment (pid
 * and generation). false when it is another hqd's now: left alone. */
bool	seg_destroy(struct seg *s, const char *name);

/* Worker: map read-write the segment its supervisor (pid owner) made,
 * allocating what an older, sparse one lacks; NULL + errno (ESRCH: the
 * segment under that name is another hqd's). */
struct seg *seg_attach_rw(const char *name, pid_t owner);

enum seg_status {
	SEG_OK = 0,
	SEG_MISSING,		/* no such segment: no hqd */
	SEG_FOREIGN,		/* wrong magic: not ours */
	SEG_VERSION,		/* another layout version */
	SEG_SIZE,		/* truncated or sizes disagree */
	SEG_NOT_READY,		/* hqd is still starting */
	SEG_STALE,		/* left by a dead hqd */
	SEG_ERROR,		/* could not open it: errno */
	SEG_IOERR,		/* could not read it: errno */
};

/* Reader: read (never map) a snapshot, validate everything. On SEG_OK
 * (and SEG_STALE) *out is a private copy (safe to read at leisure;
 * counters are consistent per field); on other statuses its contents are
 * unspecified. On failure msg says why in one line. */
enum seg_status seg_read(const char *name, struct seg *out, char *msg,
	    size_t msglen);
/* Validate a mapped or copied segment image of len bytes (used by
 * seg_read and by the fuzzer). */
enum seg_status seg_validate(const void *img, size_t len, char *msg,
	    size_t msglen);

/* Histogram helpers. */
unsigned	seg_hist_bucket(uint64_t us);
uint64_t	seg_hist_upper_us(unsigned bucket);	/* inclusive bound */
void		seg_hist_add(struct seg_hist *h, uint64_t us);
/* The value below which q (0..1) of the samples fall, in microseconds
 * (bucket upper bound); 0 when empty. */
uint64_t	seg_hist_quantile(const struct seg_hist *h, double q);

#endif

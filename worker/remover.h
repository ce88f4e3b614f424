/* SPDX-License-Identifier: MIT */
/*
 * remover.h: removes committed entry files off the apply path. On a file
 * system mounted with discard, unlinking a file whose blocks reached the
 * disk waits for the discard (~0.3-2 ms), and those waits overlap well
 * across threads while the worker's one thread would pay them one by
 * one. So a worker queues the names a COMMIT settled and a few threads
 * remove them (or move them to completed/) while it claims and applies
 * the next WORK.
 *
 * The threads touch nothing but two directory fds, the queue and their
 * counters in the stats segment: no SQLite, no libev, no channel. They
 * start at the first removal (an idle worker has none), block every
 * signal, and are joined on exit. A crash with removals queued leaves
 * committed files in processing/w<slot>/: recovery requeues them and the
 * ledger makes each a skip (docs/architecture.md, "Exactly once").
 */
#ifndef HQ_REMOVER_H
#define HQ_REMOVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hq.h"
#include "common/seg.h"

/* Removals in flight at once, per worker: 20k flushed files unlinked by
 * 1, 2, 8, 32 threads went at 3.4k, 4.5k, 6.5k, 7.7k/s here. The
 * environment variable HQ_REMOVE_THREADS (1-64) overrides it, for
 * benchmarks. */
#define REMOVER_THREADS		8
#define REMOVER_THREADS_MAX	64
/* One thread is woken for queued names; a second and more only while
 * removals are slow (their moving average over REMOVER_SLOW_NS: the
 * discard waits) and more than REMOVER_BACKLOG names wait per thread
 * awake. Fast removals (no discard, or files never flushed) keep one
 * thread busy and the others asleep: eight threads contending for one
 * directory's lock cost more CPU than they save (20k unflushed entries,
 * 2 workers: 43k/s with one thread, 37k/s with eight always woken). */
#define REMOVER_BACKLOG		8
#define REMOVER_SLOW_NS		100000
/* Names queued at most; the worker waits for room past this, so memory
 * stays bounded and a crash requeues at most this many applied files. */
#define REMOVER_QUEUE		1024

struct remover_item {
	bool	dup;		/* counted as a duplicate, not applied */
	char	name[HQ_NAME_MAX + 1];
};

struct remover {
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;	/* a name queued, or stop */
	pthread_cond_t		 done;	/* room, or nothing left */
	struct remover_item	*ring;
	size_t			 head, count, busy;
	int			 awake;	/* threads not waiting for work */
	int			 woken;	/* signals not yet taken */
	uint64_t		 avg_ns; /* a removal's time, moving average */
	pthread_t		*th;
	int			 nth, want;
	bool			 stop;
	int			 dirfd;	/* processing/w<slot>/ */
	int			 tofd;	/* completed/, or -1: unlink */
	struct seg_slot		*sl;	/* applied, duplicates */
};

/* Whether remover_add wakes one thread more: up threads awake or
 * signalled of nth, count names queued, removals taking avg_ns. */
static inline bool
remover_should_wake(int up, int nth, size_t count, uint64_t avg_ns)
{
	if (up >= nth)
		return false;
	return up == 0 || (avg_ns > REMOVER_SLOW_NS &&
	    count > (size_t)up * REMOVER_BACKLOG);
}

void	remover_init(struct remover *r, struct seg_slot *sl);
/* Where removals happen from now on: waits for the queue to empty first
 * (a reopened tree's fds replace the old ones). */
void	remover_dirs(struct remover *r, int dirfd, int tofd);
/* Queue name's removal; waits for room. */
void	remover_add(struct remover *r, const char *name, bool dup);
/* Until every queued name is removed. */
void	remover_wait(struct remover *r);
/* Test builds: the fault point "removing" (names queued, none taken). */
void	remover_fault(struct remover *r);
/* Wait, stop and join the threads, free. */
void	remover_fini(struct remover *r);

#endif

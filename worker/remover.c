/* SPDX-License-Identifier: MIT */
/* remover.c: threads that remove committed entry files (remover.h says
 * why). Runs in workers only. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fault.h"
#include "common/log.h"
#include "common/now.h"
#include "common/xmalloc.h"
#include "worker/remover.h"

/* log_vemit's buffers and libc's are what a thread uses; glibc's
 * minimum is 16 KiB. Small: eight threads of 8 MiB of address space
 * each would show in a worker's VmSize for nothing. */
#define REMOVER_STACK	(128 * 1024)

void
remover_init(struct remover *r, struct seg_slot *sl)
{
	const char	*v;
	long		 n;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->work, NULL);
	pthread_cond_init(&r->done, NULL);
	r->dirfd = r->tofd = -1;
	r->sl = sl;
	r->want = REMOVER_THREADS;
	if ((v = getenv("HQ_REMOVE_THREADS")) != NULL && *v != '\0') {
		n = strtol(v, NULL, 10);
		if (n >= 1 && n <= REMOVER_THREADS_MAX)
			r->want = (int)n;
		else
			log_warnx("HQ_REMOVE_THREADS=%s: not 1-%d, using %d",
			    v, REMOVER_THREADS_MAX, r->want);
	}
}

/* One removal, counted once done, so that a counter never runs ahead of
 * the tree. A failure is logged as it always was; the entry is committed
 * either way (a file left behind is requeued and skipped by the ledger at
 * the next recovery). */
static void
remover_one(struct remover *r, const char *name, bool dup, int dirfd,
    int tofd)
{
	if (tofd != -1 ? renameat(dirfd, name, tofd, name) == -1 :
	    unlinkat(dirfd, name, 0) == -1)
		log_warn("%s: remove after commit", name);
	if (dup)
		SEG_ADD(r->sl->c.duplicates, 1);
	else
		SEG_ADD(r->sl->c.applied, 1);
}

static void *
remover_main(void *arg)
{
	struct remover		*r = arg;
	struct remover_item	 it;
	int			 dirfd, tofd;
	uint64_t		 t0, t1;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->count == 0 && !r->stop) {
			r->awake--;
			pthread_cond_wait(&r->work, &r->mu);
			r->awake++;
			if (r->woken > 0)
				r->woken--;
		}
		if (r->count == 0)
			break;		/* stop, and nothing left */
		it = r->ring[r->head];
		r->head = (r->head + 1) % REMOVER_QUEUE;
		r->count--;
		r->busy++;
		/* The worker may wait for room in a full queue. */
		if (r->count == REMOVER_QUEUE - 1)
			pthread_cond_signal(&r->done);
		dirfd = r->dirfd;
		tofd = r->tofd;
		pthread_mutex_unlock(&r->mu);
		t0 = now_mono_ns();
		remover_one(r, it.name, it.dup, dirfd, tofd);
		t1 = now_mono_ns();
		pthread_mutex_lock(&r->mu);
		/* 1/8 of the new sample: a few slow removals in a row are
		 * enough to wake the others, one fast one is not. */
		r->avg_ns = r->avg_ns - r->avg_ns / 8 + (t1 - t0) / 8;
		r->busy--;
		/* Or for the end (remover_wait). */
		if (r->count == 0 && r->busy == 0)
			pthread_cond_signal(&r->done);
	}
	r->awake--;
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* At the first removal. Threads block every signal: TERM must reach the
 * worker's own thread, whose read(2) it interrupts. With none started
 * (no memory for a thread), removals happen in the worker's thread. */
static void
remover_start(struct remover *r)
{
	pthread_attr_t	attr;
	sigset_t	all, old;
	int		e;

	r->ring = xreallocarray(NULL, REMOVER_QUEUE, sizeof(*r->ring));
	r->th = xreallocarray(NULL, (size_t)r->want, sizeof(*r->th));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, REMOVER_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (r->nth < r->want) {
		/* Awake from its start: it looks at the queue before it
		 * first waits (a signal sent before that would be lost). */
		pthread_mutex_lock(&r->mu);
		r->awake++;
		pthread_mutex_unlock(&r->mu);
		if ((e = pthread_create(&r->th[r->nth], &attr, remover_main,
		    r)) != 0) {
			pthread_mutex_lock(&r->mu);
			r->awake--;
			pthread_mutex_unlock(&r->mu);
			errno = e;
			log_warn("remover thread %d of %d", r->nth + 1,
			    r->want);
			break;
		}
		r->nth++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

void
remover_add(struct remover *r, const char *name, bool dup)
{
	struct remover_item	*it;
	size_t			 len = strlen(name);
	int			 up;

	if (r->ring == NULL)
		remover_start(r);
	if (r->nth == 0 || len > HQ_NAME_MAX) {
		/* No thread; or a name longer than an entry's, which the
		 * ring has no room for: here, then. */
		remover_one(r, name, dup, r->dirfd, r->tofd);
		return;
	}
	pthread_mutex_lock(&r->mu);
	while (r->count == REMOVER_QUEUE)
		pthread_cond_wait(&r->done, &r->mu);
	it = &r->ring[(r->head + r->count) % REMOVER_QUEUE];
	it->dup = dup;
	memcpy(it->name, name, len + 1);
	r->count++;
	/* Threads awake or about to be, against the names waiting. */
	up = r->awake + r->woken;
	if (remover_should_wake(up, r->nth, r->count, r->avg_ns)) {
		r->woken++;
		pthread_cond_signal(&r->work);
	}
	pthread_mutex_unlock(&r->mu);
}

void
remover_wait(struct remover *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->count > 0 || r->busy > 0)
		pthread_cond_wait(&r->done, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

/* The test fault point "removing": fired with the queue's lock held and
 * names still queued, so no thread can remove them between the check and
 * the kill (it kills the whole process). */
void
remover_fault(struct remover *r)
{
	pthread_mutex_lock(&r->mu);
	HQ_FAULT_IF("removing", r->count > 0);
	pthread_mutex_unlock(&r->mu);
}

void
remover_dirs(struct remover *r, int dirfd, int tofd)
{
	remover_wait(r);
	pthread_mutex_lock(&r->mu);
	r->dirfd = dirfd;
	r->tofd = tofd;
	pthread_mutex_unlock(&r->mu);
}

void
remover_fini(struct remover *r)
{
	int	i;

	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->work);
	pthread_mutex_unlock(&r->mu);
	/* Each thread leaves once the queue is empty. */
	for (i = 0; i < r->nth; i++)
		pthread_join(r->th[i], NULL);
	r->nth = 0;
	free(r->th);
	free(r->ring);
	r->th = NULL;
	r->ring = NULL;
	pthread_cond_destroy(&r->done);
	pthread_cond_destroy(&r->work);
	pthread_mutex_destroy(&r->mu);
}

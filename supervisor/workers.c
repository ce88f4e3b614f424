/* SPDX-License-Identifier: MIT */
/* workers.c: the supervisor's worker slots: their states (each change
 * through workers_state, which arms the processing timeout and mirrors the
 * slot to the segment), the processing timeout, STOP and kill to every
 * worker. Runs in hqd only. A worker's process (spawn, reap, respawn) is
 * spawn.c's: it calls dispatch.c and watch.c, which call this file, so
 * keeping both here made a cycle. */
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/now.h"
#include "supervisor/sup.h"

static void	workers_stuck_cb(struct ev_loop *, ev_timer *, int);

/* The processing timeout runs while a worker starts or holds a WORK: a
 * timer per slot, due at the last sign of life plus the timeout, so a kill
 * lands on time rather than on the next tick, and an idle worker costs no
 * wakeup. */
static void
workers_watch(struct wslot *w)
{
	struct sup	*s = w->sup;

	ev_timer_stop(s->loop, &w->stuck);
	if (s->cfg.processing_timeout_ms == 0 || (w->state != WSLOT_BUSY &&
	    w->state != WSLOT_STARTING))
		return;
	ev_timer_set(&w->stuck, s->cfg.processing_timeout_ms / 1000.0, 0);
	ev_timer_start(s->loop, &w->stuck);
}

void
workers_state(struct wslot *w, enum wslot_state st)
{
	w->state = st;
	workers_watch(w);
	stats_slot(w);
}

void
workers_init(struct sup *s)
{
	int	i;

	s->nslots = s->cfg.workers;
	for (i = 0; i < s->nslots; i++) {
		struct wslot *w = &s->slots[i];

		w->sup = s;
		w->slot = i;
		w->pid = -1;
		w->ch.fd = -1;
		w->backoff_ms = SUP_RESPAWN_MIN_MS;
		ev_timer_init(&w->stuck, workers_stuck_cb, 0, 0);
	}
}

void
workers_stop_all(struct sup *s)
{
	struct hq_msg	m = { .type = HQ_MSG_STOP };
	int		i;

	for (i = 0; i < s->nslots; i++) {
		struct wslot *w = &s->slots[i];

		ev_timer_stop(s->loop, &w->respawn);
		if (w->state == WSLOT_EMPTY || w->stop_sent)
			continue;
		w->stop_sent = true;
		if (channel_send(&w->ch, &m) == -1 && w->pid > 0)
			kill(w->pid, SIGKILL);
	}
}

void
workers_kill_all(struct sup *s, int sig)
{
	int	i;

	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].pid > 0)
			kill(s->slots[i].pid, sig);
}

void
workers_free(struct sup *s)
{
	int	i;

	for (i = 0; i < s->nslots; i++) {
		free(s->slots[i].inhand);
		s->slots[i].inhand = NULL;
		s->slots[i].ninhand = s->slots[i].capinhand = 0;
	}
}

int
workers_alive(const struct sup *s)
{
	int	i, n = 0;

	for (i = 0; i < s->nslots; i++)
		n += s->slots[i].pid > 0;
	return n;
}

/* A worker is alive when it says so: a message (DONE, PROGRESS), or the
 * time it stamps in its slot as it finishes an entry, waits for a lock or
 * for disk space, or backs off. Waiting is not hanging; a statement that
 * runs past the timeout, or a stopped worker, is. */
bool
workers_overdue(const struct wslot *w, uint64_t now_ms, uint64_t *wait_ms)
{
	const struct sup	*s = w->sup;
	uint64_t		 last = w->progress_ms, alive;
	uint64_t		 limit = (uint64_t)s->cfg.processing_timeout_ms;

	alive = SEG_GET(s->stats.seg->slot[w->slot].alive_mono_ns) / 1000000;
	if (alive > last)
		last = alive;
	if (now_ms < last + limit) {
		*wait_ms = last + limit - now_ms;
		return false;
	}
	*wait_ms = now_ms - last;
	return true;
}

static void
workers_stuck_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wslot	*w = container_of(t, struct wslot, stuck);
	struct sup	*s = w->sup;
	uint64_t	 now = now_mono_ms(), ms;

	(void)revents;
	if (w->pid <= 0)
		return;
	if (!workers_overdue(w, now, &ms)) {
		ev_timer_set(t, ms / 1000.0, 0);
		ev_timer_start(loop, t);
		return;
	}
	log_warnx("worker %d (pid %ld): no progress for %llu ms, killing it",
	    w->slot, (long)w->pid, (unsigned long long)ms);
	kill(w->pid, SIGKILL);
	/* Once per timeout, should the kill take long to be reaped. */
	w->progress_ms = now;
	ev_timer_set(t, s->cfg.processing_timeout_ms / 1000.0, 0);
	ev_timer_start(loop, t);
}

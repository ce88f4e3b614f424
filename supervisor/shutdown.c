/* SPDX-License-Identifier: MIT */
/*
 * shutdown.c: the shutdown phases. Runs in hqd only.
 *
 *   running ──drain──▶ draining ──kill──▶ killing
 *                         │                  │
 *                         └─ no worker left ─┴──▶ done: the loop ends
 *
 * drain (TERM, a first INT, idle exit, the root gone or taken): stop
 * watching, forget the queued names (they stay in pending/), STOP to every
 * worker (each finishes the batch in hand), start the grace timer. kill
 * (the grace is over, a second INT): SIGKILL to every worker; the reaper
 * (spawn.c) requeues what they held. done: no worker is alive.
 *
 * Calls go one way: down to workers.c, watch.c, stats.c and notify.c,
 * which the drain stops; signals.c calls in from above. The lower files
 * never call up. Where they find a reason to leave (watch.c: the root is
 * gone or taken; stats.c: idle exit) they ask through s->shutdown.drain, a
 * pointer shutdown_init sets to shutdown_drain; and the end is not
 * reported by the reaper at all: an ev_prepare, started by the drain,
 * looks before each wait of the loop whether a worker is left
 * (shutdown_over). So each phase changes here only.
 */
#include <signal.h>

#include "common/fault.h"
#include "common/log.h"
#include "supervisor/sup.h"

bool
shutdown_over(const struct sup *s)
{
	return (s->shutdown.phase == SUP_DRAINING ||
	    s->shutdown.phase == SUP_KILLING) && workers_alive(s) == 0;
}

/* Before the loop waits, while shutting down: done once no worker is
 * left. The tick and the grace timer stop with it. */
static void
shutdown_end_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct sup	*s = container_of(p, struct sup, shutdown.end);

	(void)revents;
	if (!shutdown_over(s))
		return;
	s->shutdown.phase = SUP_DONE;
	ev_prepare_stop(loop, p);
	ev_timer_stop(loop, &s->shutdown.grace_timer);
	stats_tick_stop(s);
	ev_break(loop, EVBREAK_ALL);
}

void
shutdown_kill(struct sup *s, const char *why)
{
	if (s->shutdown.phase != SUP_DRAINING)
		return;
	s->shutdown.phase = SUP_KILLING;
	log_warnx("%s: killing %d workers; their entries go back to "
	    "pending/", why, workers_alive(s));
	workers_kill_all(s, SIGKILL);
}

static void
shutdown_grace_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sup	*s = container_of(t, struct sup, shutdown.grace_timer);

	(void)loop;
	(void)revents;
	shutdown_kill(s, "shutdown timeout");
}

void
shutdown_drain(struct sup *s, const char *why, int exit_code)
{
	if (s->shutdown.phase != SUP_RUNNING)
		return;
	s->shutdown.phase = SUP_DRAINING;
	s->shutdown.exit_code = exit_code;
	notify_send(s, "STOPPING=1\nSTATUS=draining: %s", why);
	log_info("%s: draining (%d workers, up to %d ms)", why,
	    workers_alive(s), (int)s->cfg.shutdown_timeout_ms);
	watch_stop(s);
	/* Queued names stay in pending/; only the batches in hand finish. */
	pindex_clear_queued(&s->idx);
	stats_gauges(s);
	workers_stop_all(s);
	HQ_FAULT("sup_drain");
	ev_timer_set(&s->shutdown.grace_timer,
	    s->cfg.shutdown_timeout_ms / 1000.0, 0);
	ev_timer_start(s->loop, &s->shutdown.grace_timer);
	ev_prepare_start(s->loop, &s->shutdown.end);
}

void
shutdown_interrupt(struct sup *s)
{
	if (s->shutdown.phase == SUP_RUNNING)
		shutdown_drain(s, "SIGINT", HQ_EX_OK);
	else
		shutdown_kill(s, "second SIGINT");
}

void
shutdown_init(struct sup *s)
{
	s->shutdown.phase = SUP_RUNNING;
	s->shutdown.drain = shutdown_drain;
	ev_timer_init(&s->shutdown.grace_timer, shutdown_grace_cb, 0, 0);
	ev_prepare_init(&s->shutdown.end, shutdown_end_cb);
}

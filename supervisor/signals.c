/* SPDX-License-Identifier: MIT */
/* signals.c: signal watchers and the shutdown phases (running, draining,
 * killing). Runs in hqd only.
 * TERM/INT: stop watching, STOP to every worker, grace timer; the last
 * worker reaped ends the loop. Grace over or a second INT: SIGKILL, and
 * the child watcher requeues what they held. */
#include <signal.h>
#include <string.h>

#include "common/fault.h"
#include "common/log.h"
#include "common/now.h"
#include "supervisor/sup.h"

static void
signals_kill(struct sup *s, const char *why)
{
	if (s->phase == SUP_KILLING)
		return;
	s->phase = SUP_KILLING;
	log_warnx("%s: killing %d workers; their entries go back to "
	    "pending/", why, workers_alive(s));
	workers_kill_all(s, SIGKILL);
	signals_check_done(s);
}

static void
signals_grace_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sup	*s = container_of(t, struct sup, grace_timer);

	(void)loop;
	(void)revents;
	signals_kill(s, "shutdown timeout");
}

void
signals_check_done(struct sup *s)
{
	if (s->phase == SUP_RUNNING || workers_alive(s) > 0)
		return;
	ev_timer_stop(s->loop, &s->grace_timer);
	ev_timer_stop(s->loop, &s->tick_timer);
	ev_signal_stop(s->loop, &s->sig_hup);
	ev_signal_stop(s->loop, &s->sig_usr1);
	ev_break(s->loop, EVBREAK_ALL);
}

void
signals_drain(struct sup *s, const char *why)
{
	if (s->phase != SUP_RUNNING)
		return;
	s->phase = SUP_DRAINING;
	notify_send(s, "STOPPING=1\nSTATUS=draining: %s", why);
	log_info("%s: draining (%d workers, up to %d ms)", why,
	    workers_alive(s), (int)s->cfg.shutdown_timeout_ms);
	watch_stop(s);
	/* Queued names stay in pending/; only the batches in hand finish. */
	pindex_clear_queued(&s->idx);
	stats_gauges(s);
	workers_stop_all(s);
	HQ_FAULT("sup_drain");
	ev_timer_set(&s->grace_timer, s->cfg.shutdown_timeout_ms / 1000.0, 0);
	ev_timer_start(s->loop, &s->grace_timer);
	signals_check_done(s);
}

static void
signals_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sup	*s;
	int		 i;

	(void)loop;
	(void)revents;
	switch (w->signum) {
	case SIGTERM:
		s = container_of(w, struct sup, sig_term);
		signals_drain(s, "SIGTERM");
		break;
	case SIGINT:
		s = container_of(w, struct sup, sig_int);
		if (s->phase == SUP_RUNNING)
			signals_drain(s, "SIGINT");
		else
			signals_kill(s, "second SIGINT");
		break;
	case SIGHUP:
	case SIGUSR1:
		s = w->signum == SIGHUP ?
		    container_of(w, struct sup, sig_hup) :
		    container_of(w, struct sup, sig_usr1);
		if (s->cfg.log_file != NULL) {
			struct hq_msg m = { .type = HQ_MSG_REOPEN };

			if (log_reopen(s->cfg.log_file) == -1)
				log_warn("reopen %s", s->cfg.log_file);
			for (i = 0; i < s->nslots; i++)
				if (channel_is_open(&s->slots[i].ch))
					channel_send(&s->slots[i].ch, &m);
		}
		if (w->signum == SIGHUP)
			watch_rescan(s, "SIGHUP");
		break;
	}
}

void
signals_start(struct sup *s)
{
	ev_signal_init(&s->sig_term, signals_cb, SIGTERM);
	ev_signal_init(&s->sig_int, signals_cb, SIGINT);
	ev_signal_init(&s->sig_hup, signals_cb, SIGHUP);
	ev_signal_init(&s->sig_usr1, signals_cb, SIGUSR1);
	ev_signal_start(s->loop, &s->sig_term);
	ev_signal_start(s->loop, &s->sig_int);
	ev_signal_start(s->loop, &s->sig_hup);
	ev_signal_start(s->loop, &s->sig_usr1);
	ev_timer_init(&s->grace_timer, signals_grace_cb, 0, 0);
}

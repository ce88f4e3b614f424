/* SPDX-License-Identifier: MIT */
/* signals.c: the signal watchers. TERM and a first INT start the drain, a
 * second INT kills (the phases are shutdown.c's); HUP rescans pending/
 * and, with USR1, reopens the log file. Runs in hqd only. Nothing calls
 * up into it: only main.c starts and stops it. */
#include <signal.h>

#include "common/log.h"
#include "supervisor/sup.h"

static void
signals_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sup	*s;
	int		 i;

	(void)loop;
	(void)revents;
	switch (w->signum) {
	case SIGTERM:
		s = container_of(w, struct sup, signals.sig_term);
		shutdown_drain(s, "SIGTERM", HQ_EX_OK);
		break;
	case SIGINT:
		s = container_of(w, struct sup, signals.sig_int);
		shutdown_interrupt(s);
		break;
	case SIGHUP:
	case SIGUSR1:
		s = w->signum == SIGHUP ?
		    container_of(w, struct sup, signals.sig_hup) :
		    container_of(w, struct sup, signals.sig_usr1);
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
	ev_signal_init(&s->signals.sig_term, signals_cb, SIGTERM);
	ev_signal_init(&s->signals.sig_int, signals_cb, SIGINT);
	ev_signal_init(&s->signals.sig_hup, signals_cb, SIGHUP);
	ev_signal_init(&s->signals.sig_usr1, signals_cb, SIGUSR1);
	ev_signal_start(s->loop, &s->signals.sig_term);
	ev_signal_start(s->loop, &s->signals.sig_int);
	ev_signal_start(s->loop, &s->signals.sig_hup);
	ev_signal_start(s->loop, &s->signals.sig_usr1);
}

void
signals_stop(struct sup *s)
{
	ev_signal_stop(s->loop, &s->signals.sig_hup);
	ev_signal_stop(s->loop, &s->signals.sig_usr1);
}

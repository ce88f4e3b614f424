/* SPDX-License-Identifier: MIT */
/* dispatch.c: the supervisor's side of the protocol. Hands queued names to
 * idle workers in application order, takes their reports, and puts a dead
 * worker's names back. Runs in hqd only. Messages are hints: a name handed
 * out twice costs a failed rename, never a second application. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/fault.h"
#include "common/log.h"
#include "common/now.h"
#include "common/xmalloc.h"
#include "supervisor/sup.h"

static void
dispatch_kill(struct wslot *w, const char *why)
{
	log_warnx("worker %d (pid %ld): %s; killing it", w->slot, (long)w->pid,
	    why);
	if (w->pid > 0)
		kill(w->pid, SIGKILL);
	channel_close(&w->ch);
}

static void
dispatch_forget_inhand(struct wslot *w)
{
	size_t	i;

	for (i = 0; i < w->ninhand; i++)
		pindex_forget(&w->sup->idx, w->inhand[i]);
	w->ninhand = 0;
}

static void
dispatch_inhand_add(struct wslot *w, struct pitem *it)
{
	if (w->ninhand == w->capinhand) {
		w->capinhand = w->capinhand ? w->capinhand * 2 : 64;
		w->inhand = xreallocarray(w->inhand, w->capinhand,
		    sizeof(*w->inhand));
	}
	w->inhand[w->ninhand++] = it;
}

size_t
dispatch_fill(struct sup *s, struct wslot *w)
{
	struct pitem	*it;
	size_t		 bytes = 0;

	while ((it = pindex_peek(&s->idx)) != NULL &&
	    w->ninhand < (size_t)s->cfg.batch_size &&
	    w->ninhand < HQ_PROTO_MAX_NAMES &&
	    bytes + strlen(it->name) + 8 < SUP_WORK_BYTES) {
		if (it->suspect && w->ninhand > 0)
			break;
		dispatch_inhand_add(w, pindex_pop(&s->idx));
		bytes += strlen(it->name) + 8;
		if (it->suspect)
			break;
	}
	return w->ninhand;
}

/* One WORK for w, filled by dispatch_fill. */
static void
dispatch_one(struct sup *s, struct wslot *w)
{
	struct hq_msg	 m;
	size_t		 i;

	dispatch_fill(s, w);
	memset(&m, 0, sizeof(m));
	m.type = HQ_MSG_WORK;
	m.nnames = w->ninhand;
	if (w->ninhand == 1 && w->inhand[0]->poison)
		m.poison = w->inhand[0]->crashes;
	m.names = xcalloc(w->ninhand, sizeof(*m.names));
	for (i = 0; i < w->ninhand; i++)
		m.names[i] = w->inhand[i]->name;
	if (channel_send(&w->ch, &m) == -1) {
		free(m.names);
		log_warn("worker %d: send WORK", w->slot);
		/* The close callback, or the child watcher, recovers. */
		return;
	}
	free(m.names);
	HQ_FAULT("sup_after_dispatch");
	workers_state(w, WSLOT_BUSY);
	w->progress_ms = s->dispatch.last_work_ms = now_mono_ms();
	SUP_ADD(s, dispatches, 1);
	SUP_ADD(s, dispatched, w->ninhand);
}

void
dispatch(struct sup *s)
{
	int	i;

	if (s->shutdown.phase == SUP_RUNNING)
		for (i = 0; i < s->nslots && pindex_peek(&s->idx) != NULL; i++)
			if (s->slots[i].state == WSLOT_IDLE &&
			    channel_is_open(&s->slots[i].ch))
				dispatch_one(s, &s->slots[i]);
	stats_gauges(s);
}

void
dispatch_msg_cb(struct channel *ch, struct hq_msg *m)
{
	struct wslot	*w = container_of(ch, struct wslot, ch);
	struct sup	*s = w->sup;
	struct hq_msg	 cfg;

	if (m->type == HQ_MSG_HELLO) {
		if (w->state != WSLOT_STARTING || m->gen != w->gen ||
		    m->slot != (uint32_t)w->slot || m->pid != w->pid) {
			dispatch_kill(w, "HELLO does not match its slot");
			return;
		}
		if (m->version != HQ_PROTO_VERSION) {
			dispatch_kill(w, "speaks another protocol version");
			return;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.type = HQ_MSG_CONFIG;
		cfg.cfg = s->cfg;
		if (channel_send(ch, &cfg) == -1)
			log_warn("worker %d: send CONFIG", w->slot);
		return;
	}
	/* Every other worker message is about the current generation. */
	if (m->slot != (uint32_t)w->slot || m->gen != w->gen) {
		log_warnx("worker %d: stale message (gen %u, now %u) dropped",
		    w->slot, m->gen, w->gen);
		return;
	}
	switch (m->type) {
	case HQ_MSG_READY:
		if (w->state != WSLOT_STARTING) {
			dispatch_kill(w, "READY out of turn");
			return;
		}
		workers_state(w, WSLOT_IDLE);
		w->progress_ms = now_mono_ms();
		log_debug("worker %d: ready (pid %ld)", w->slot,
		    (long)w->pid);
		if (s->shutdown.phase != SUP_RUNNING && !w->stop_sent)
			workers_stop_all(s);
		notify_ready(s);
		dispatch(s);
		return;
	case HQ_MSG_PROGRESS:
		w->progress_ms = now_mono_ms();
		return;
	case HQ_MSG_DONE:
		if (w->state != WSLOT_BUSY) {
			dispatch_kill(w, "DONE without WORK");
			return;
		}
		log_debug("worker %d: batch of %zu done: %u applied, %u failed, "
		    "%u retried, %u duplicate", w->slot, w->ninhand,
		    m->applied, m->failed, m->retried, m->dups);
		/* Progress resets the respawn backoff. */
		w->backoff_ms = SUP_RESPAWN_MIN_MS;
		dispatch_forget_inhand(w);
		workers_state(w, WSLOT_IDLE);
		w->progress_ms = s->dispatch.last_work_ms = now_mono_ms();
		dispatch(s);
		return;
	default:
		dispatch_kill(w, "sent a supervisor's message");
		return;
	}
}

void
dispatch_close_cb(struct channel *ch, const char *reason)
{
	struct wslot	*w = container_of(ch, struct wslot, ch);

	/* The child watcher does the recovery once the process is reaped;
	 * a worker that closed its end but lives on is killed. */
	if (w->pid > 0) {
		log_debug("worker %d: channel closed (%s)", w->slot, reason);
		if (strcmp(reason, "end of file") != 0)
			dispatch_kill(w, reason);
		else
			kill(w->pid, SIGKILL);
	}
}

void
dispatch_recover(struct wslot *w)
{
	struct sup	*s = w->sup;
	long		 n;
	size_t		 i;
	bool		 alone = w->ninhand == 1;

	HQ_FAULT("sup_before_recover");
	if ((n = queue_requeue_slot(&s->q, w->slot)) == -1)
		log_warn("worker %d: requeue processing/w%d", w->slot,
		    w->slot);
	else if (n > 0) {
		log_info("worker %d: returned %ld entries to pending/",
		    w->slot, n);
		SUP_ADD(s, recovered, (uint64_t)n);
	}
	for (i = 0; i < w->ninhand; i++) {
		struct pitem *it = w->inhand[i];

		if (s->shutdown.phase != SUP_RUNNING) {
			pindex_forget(&s->idx, it);
			continue;
		}
		it->suspect = true;
		if (alone && ++it->crashes >= SUP_MAX_CRASHES &&
		    !it->poison) {
			/* Only a worker can tell whether the ledger has it
			 * (it may die after its COMMIT): one will settle it
			 * as applied or as a dead letter, without its SQL. */
			log_warnx("%s: %d workers died applying it; a poison "
			    "entry", it->name, it->crashes);
			it->poison = true;
			SUP_ADD(s, poisoned, 1);
		}
		pindex_push(&s->idx, it);
	}
	w->ninhand = 0;
	stats_slot(w);
}

void
dispatch_sweep(struct sup *s)
{
	pset_sweep(&s->dispatch.badnames);
}

void
dispatch_free(struct sup *s)
{
	pset_free(&s->dispatch.badnames);
}

void
dispatch_note(struct sup *s, const char *name)
{
	struct pitem	*it;

	if (queue_name_hidden(name))
		return;
	if (!queue_name_parse(name, NULL)) {
		if ((it = pset_find(&s->dispatch.badnames, name)) != NULL) {
			it->seen = true;
			return;
		}
		/* Reported once while the file stays (watch_rescan sweeps
		 * the names no longer seen). */
		it = pitem_new_raw(name);
		it->seen = true;
		pset_add(&s->dispatch.badnames, it);
		SUP_ADD(s, bad_names, 1);
		log_warnx("pending/%s: not an entry name ({1..10}_{SEQ}.json "
		    "or .msgpack); left alone", name);
		return;
	}
	if ((it = pindex_add(&s->idx, name)) != NULL) {
		s->dispatch.last_event_ms = now_mono_ms();
		SEG_SET(s->stats.seg->h.last_event_ns, it->seen_ns);
	}
}

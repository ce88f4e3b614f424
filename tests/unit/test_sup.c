/* SPDX-License-Identifier: MIT */
/*
 * test_sup.c: the supervisor's decisions, without forking a worker: what
 * goes into a worker's next WORK (dispatch_fill), when --idle-exit is due
 * (stats_idle_due), what a slot's state change arms and publishes
 * (workers_state: the processing-timeout timer, the segment's slot), and
 * when a worker is overdue (workers_overdue), and the shutdown phases
 * (shutdown.c: drain, kill, done). A
 * struct sup built in memory, a real index, a real libev loop (never run)
 * and a segment in plain memory.
 */
#include <ev.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/hq.h"
#include "common/seg.h"
#include "supervisor/sup.h"
#include "tests/unit/hqtest.h"

static struct sup *
test_sup_new(int nslots)
{
	struct sup	*s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	s->cfg.batch_size = 4;
	s->cfg.processing_timeout_ms = 60000;
	s->cfg.workers = nslots;
	if ((s->stats.seg = calloc(1, sizeof(*s->stats.seg))) == NULL)
		abort();
	s->loop = ev_loop_new(EVFLAG_AUTO);
	s->watch.ifd = s->notify.fd = -1;
	workers_init(s);
	shutdown_init(s);
	return s;
}

static void
test_sup_free(struct sup *s)
{
	int	i;

	for (i = 0; i < s->nslots; i++) {
		ev_timer_stop(s->loop, &s->slots[i].stuck);
		channel_close(&s->slots[i].ch);
		free(s->slots[i].inhand);
	}
	ev_timer_stop(s->loop, &s->shutdown.grace_timer);
	ev_prepare_stop(s->loop, &s->shutdown.end);
	pindex_free(&s->idx);
	ev_loop_destroy(s->loop);
	free(s->stats.seg);
	free(s);
}

/* Put the hand back (as a DONE would), the names forgotten. */
static void
test_sup_done(struct sup *s, struct wslot *w)
{
	size_t	i;

	for (i = 0; i < w->ninhand; i++)
		pindex_forget(&s->idx, w->inhand[i]);
	w->ninhand = 0;
}

/* The next WORK holds the names given, in that order (NULL ends them). */
static void
test_sup_next(struct sup *s, struct wslot *w, ...)
{
	const char	*want;
	size_t		 i = 0, n = dispatch_fill(s, w);
	va_list		 ap;

	va_start(ap, w);
	while ((want = va_arg(ap, const char *)) != NULL) {
		CHECK(i < n);
		if (i < n)
			CHECK_EQ_STR(w->inhand[i]->name, want);
		i++;
	}
	va_end(ap);
	CHECK_EQ_INT(n, i);
	test_sup_done(s, w);
}

static void
test_fill_order_and_batch(void)
{
	struct sup	*s = test_sup_new(1);
	struct wslot	*w = &s->slots[0];

	REQUIRE(pindex_add(&s->idx, "5_3.json") != NULL);
	REQUIRE(pindex_add(&s->idx, "5_1.json") != NULL);
	REQUIRE(pindex_add(&s->idx, "1_9.json") != NULL);
	REQUIRE(pindex_add(&s->idx, "5_2.msgpack") != NULL);
	REQUIRE(pindex_add(&s->idx, "9_1.json") != NULL);
	REQUIRE(pindex_add(&s->idx, "5_4.json") != NULL);
	/* Priority first, then sequence; a batch of 4. */
	test_sup_next(s, w, "1_9.json", "5_1.json", "5_2.msgpack", "5_3.json",
	    NULL);
	test_sup_next(s, w, "5_4.json", "9_1.json", NULL);
	test_sup_next(s, w, NULL);
	test_sup_free(s);
}

/* A suspect (its worker died holding it) goes alone: it ends a WORK that
 * has names, and a WORK that starts with it holds nothing else. */
static void
test_fill_suspect_alone(void)
{
	struct sup	*s = test_sup_new(1);
	struct wslot	*w = &s->slots[0];
	struct pitem	*sus;

	REQUIRE(pindex_add(&s->idx, "5_1.json") != NULL);
	REQUIRE((sus = pindex_add(&s->idx, "5_2.json")) != NULL);
	REQUIRE(pindex_add(&s->idx, "5_3.json") != NULL);
	sus->suspect = true;
	test_sup_next(s, w, "5_1.json", NULL);
	test_sup_next(s, w, "5_2.json", NULL);
	test_sup_next(s, w, "5_3.json", NULL);
	test_sup_free(s);
}

/* A batch larger than the protocol allows is cut at its name count, and
 * the longest names still fit the frame. */
static void
test_fill_protocol_cap(void)
{
	struct sup	*s = test_sup_new(1);
	struct wslot	*w = &s->slots[0];
	char		 name[NAME_MAX + 1];
	size_t		 n, i, bytes = 0;

	for (i = 0; i < 2 * HQ_PROTO_MAX_NAMES; i++) {
		snprintf(name, sizeof(name), "5_%0*zu.json",
		    HQ_NAME_MAX - 7, i + 1);
		REQUIRE(pindex_add(&s->idx, name) != NULL);
	}
	s->cfg.batch_size = 2 * HQ_PROTO_MAX_NAMES;
	n = dispatch_fill(s, w);
	CHECK_EQ_INT(n, HQ_PROTO_MAX_NAMES);
	CHECK_EQ_INT(strlen(w->inhand[0]->name), HQ_NAME_MAX);
	for (i = 0; i < n; i++)
		bytes += strlen(w->inhand[i]->name) + 8;
	CHECK(bytes < SUP_WORK_BYTES);
	test_sup_done(s, w);
	test_sup_free(s);
}

static void
test_idle_due(void)
{
	struct sup	*s = test_sup_new(2);
	uint64_t	 now = 100000;

	s->cfg.idle_exit_ms = 1000;
	s->dispatch.last_work_ms = s->dispatch.last_event_ms = now - 2000;
	s->slots[0].state = s->slots[1].state = WSLOT_IDLE;
	CHECK(stats_idle_due(s, now));
	/* Work or news within the idle time. */
	CHECK(!stats_idle_due(s, s->dispatch.last_work_ms + 999));
	s->dispatch.last_event_ms = now - 10;
	CHECK(!stats_idle_due(s, now));
	s->dispatch.last_event_ms = now - 2000;
	/* A busy worker, a queued name, a drain, or no --idle-exit. */
	s->slots[1].state = WSLOT_BUSY;
	CHECK(!stats_idle_due(s, now));
	s->slots[1].state = WSLOT_STARTING;
	CHECK(stats_idle_due(s, now));
	REQUIRE(pindex_add(&s->idx, "5_1.json") != NULL);
	CHECK(!stats_idle_due(s, now));
	pindex_clear_queued(&s->idx);
	CHECK(stats_idle_due(s, now));
	s->shutdown.phase = SUP_DRAINING;
	CHECK(!stats_idle_due(s, now));
	s->shutdown.phase = SUP_RUNNING;
	s->cfg.idle_exit_ms = 0;
	CHECK(!stats_idle_due(s, now));
	test_sup_free(s);
}

/* The processing timeout runs while a worker starts or works, never while
 * it idles; every change is mirrored in the segment's slot. */
static void
test_slot_states(void)
{
	struct sup	*s = test_sup_new(1);
	struct wslot	*w = &s->slots[0];
	struct seg_slot	*sl = &s->stats.seg->slot[0];

	w->pid = 4242;
	w->gen = 7;
	workers_state(w, WSLOT_STARTING);
	CHECK(ev_is_active(&w->stuck));
	CHECK_EQ_INT(SEG_GET(sl->state), SEG_SLOT_STARTING);
	CHECK_EQ_INT(SEG_GET(sl->pid), 4242);
	CHECK_EQ_INT(SEG_GET(sl->gen), 7);
	workers_state(w, WSLOT_IDLE);
	CHECK(!ev_is_active(&w->stuck));
	CHECK_EQ_INT(SEG_GET(sl->state), SEG_SLOT_IDLE);
	w->ninhand = 3;
	workers_state(w, WSLOT_BUSY);
	CHECK(ev_is_active(&w->stuck));
	CHECK_EQ_INT(SEG_GET(sl->state), SEG_SLOT_BUSY);
	CHECK_EQ_INT(SEG_GET(sl->inhand), 3);
	w->ninhand = 0;
	w->pid = -1;
	workers_state(w, WSLOT_EMPTY);
	CHECK(!ev_is_active(&w->stuck));
	CHECK_EQ_INT(SEG_GET(sl->pid), 0);
	/* No timeout configured: never armed. */
	s->cfg.processing_timeout_ms = 0;
	workers_state(w, WSLOT_BUSY);
	CHECK(!ev_is_active(&w->stuck));
	test_sup_free(s);
}

/* The processing timeout's decision: from the later of the last message
 * and the worker's own stamp in its slot (nanoseconds there). */
static void
test_overdue(void)
{
	struct sup	*s = test_sup_new(2);
	struct wslot	*w = &s->slots[1];
	uint64_t	 ms = 0;

	s->cfg.processing_timeout_ms = 1000;
	w->progress_ms = 5000;
	CHECK(!workers_overdue(w, 5000, &ms));
	CHECK_EQ_INT(ms, 1000);
	CHECK(!workers_overdue(w, 5999, &ms));
	CHECK_EQ_INT(ms, 1);
	CHECK(workers_overdue(w, 6000, &ms));
	CHECK_EQ_INT(ms, 1000);
	CHECK(workers_overdue(w, 9000, &ms));
	CHECK_EQ_INT(ms, 4000);
	/* A stamp newer than the last message moves the deadline... */
	SEG_SET(s->stats.seg->slot[1].alive_mono_ns, 7500ULL * 1000000);
	CHECK(!workers_overdue(w, 8000, &ms));
	CHECK_EQ_INT(ms, 500);
	CHECK(workers_overdue(w, 8500, &ms));
	CHECK_EQ_INT(ms, 1000);
	/* ...an older one does not; another slot's stamp is not w's. */
	w->progress_ms = 8400;
	CHECK(!workers_overdue(w, 9000, &ms));
	CHECK_EQ_INT(ms, 400);
	SEG_SET(s->stats.seg->slot[1].alive_mono_ns, 0);
	SEG_SET(s->stats.seg->slot[0].alive_mono_ns, 20000ULL * 1000000);
	CHECK(workers_overdue(w, 9400, &ms));
	CHECK_EQ_INT(ms, 1000);
	test_sup_free(s);
}

/* The drain (running -> draining): the queued names forgotten (they stay
 * in pending/), STOP to each worker alive, the grace timer, the exit code;
 * a second drain changes nothing. No worker is alive in these tests
 * (pid -1), so that no kill reaches a real process. */
static void
test_shutdown_drain(void)
{
	struct sup	*s = test_sup_new(2);
	struct hq_msg	 m;
	struct pbuf	 scratch = { 0 };
	int		 sv[2];

	CHECK(s->shutdown.drain == shutdown_drain);
	CHECK_EQ_INT(s->shutdown.phase, SUP_RUNNING);
	s->cfg.shutdown_timeout_ms = 3000;
	/* Our end non-blocking: a STOP not sent fails, never hangs. */
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	channel_open(&s->slots[0].ch, s->loop, sv[0], NULL, NULL);
	s->slots[0].state = WSLOT_IDLE;
	REQUIRE(pindex_add(&s->idx, "5_1.json") != NULL);
	s->shutdown.drain(s, "root gone", HQ_EX_TEMPFAIL);
	CHECK_EQ_INT(s->shutdown.phase, SUP_DRAINING);
	CHECK_EQ_INT(s->shutdown.exit_code, HQ_EX_TEMPFAIL);
	CHECK_EQ_INT(s->idx.nheap, 0);
	CHECK_EQ_INT(SEG_GET(s->stats.seg->h.draining), 1);
	CHECK(s->slots[0].stop_sent);
	CHECK(!s->slots[1].stop_sent);
	if (proto_read(sv[1], &scratch, &m) == 1) {
		CHECK_EQ_INT(m.type, HQ_MSG_STOP);
		proto_msg_free(&m);
	} else
		CHECK(!"a STOP");
	CHECK(ev_is_active(&s->shutdown.grace_timer));
	CHECK_EQ_INT(ev_timer_remaining(s->loop, &s->shutdown.grace_timer) *
	    1000, 3000);
	CHECK(ev_is_active(&s->shutdown.end));
	/* TERM while draining: nothing changes, no second STOP. */
	shutdown_drain(s, "SIGTERM", HQ_EX_OK);
	CHECK_EQ_INT(s->shutdown.phase, SUP_DRAINING);
	CHECK_EQ_INT(s->shutdown.exit_code, HQ_EX_TEMPFAIL);
	channel_close(&s->slots[0].ch);
	CHECK_EQ_INT(proto_read(sv[1], &scratch, &m), 0);	/* EOF */
	close(sv[1]);
	pbuf_free(&scratch);
	test_sup_free(s);
}

/* INT: the first drains, the second kills, a third changes nothing; the
 * grace timer kills too; no kill from running. */
static void
test_shutdown_kill(void)
{
	struct sup	*s = test_sup_new(2);

	shutdown_kill(s, "grace");
	CHECK_EQ_INT(s->shutdown.phase, SUP_RUNNING);
	shutdown_interrupt(s);
	CHECK_EQ_INT(s->shutdown.phase, SUP_DRAINING);
	CHECK_EQ_INT(s->shutdown.exit_code, HQ_EX_OK);
	shutdown_interrupt(s);
	CHECK_EQ_INT(s->shutdown.phase, SUP_KILLING);
	shutdown_interrupt(s);
	CHECK_EQ_INT(s->shutdown.phase, SUP_KILLING);
	test_sup_free(s);

	s = test_sup_new(1);
	shutdown_drain(s, "SIGTERM", HQ_EX_OK);
	ev_invoke(s->loop, &s->shutdown.grace_timer, EV_TIMER);
	CHECK_EQ_INT(s->shutdown.phase, SUP_KILLING);
	test_sup_free(s);
}

/* Done: shutting down (draining or killing) and no worker alive. The check
 * before the loop waits ends the loop then, and only then. */
static void
test_shutdown_done(void)
{
	struct sup	*s = test_sup_new(2);

	CHECK(!shutdown_over(s));
	shutdown_drain(s, "idle exit", HQ_EX_OK);
	s->slots[1].pid = 4242;
	CHECK(!shutdown_over(s));
	ev_invoke(s->loop, &s->shutdown.end, EV_PREPARE);
	CHECK_EQ_INT(s->shutdown.phase, SUP_DRAINING);
	CHECK(ev_is_active(&s->shutdown.grace_timer));
	s->shutdown.phase = SUP_KILLING;
	CHECK(!shutdown_over(s));
	s->slots[1].pid = -1;
	CHECK(shutdown_over(s));
	s->shutdown.phase = SUP_DRAINING;
	CHECK(shutdown_over(s));
	ev_invoke(s->loop, &s->shutdown.end, EV_PREPARE);
	CHECK_EQ_INT(s->shutdown.phase, SUP_DONE);
	CHECK(!ev_is_active(&s->shutdown.grace_timer));
	CHECK(!ev_is_active(&s->shutdown.end));
	CHECK(!shutdown_over(s));
	/* Over is over: no signal starts anything again. */
	shutdown_interrupt(s);
	shutdown_drain(s, "SIGTERM", HQ_EX_OK);
	CHECK_EQ_INT(s->shutdown.phase, SUP_DONE);
	test_sup_free(s);
}

static const struct hqtest tests[] = {
	{ "fill_order_and_batch", test_fill_order_and_batch },
	{ "fill_suspect_alone", test_fill_suspect_alone },
	{ "fill_protocol_cap", test_fill_protocol_cap },
	{ "idle_due", test_idle_due },
	{ "slot_states", test_slot_states },
	{ "overdue", test_overdue },
	{ "shutdown_drain", test_shutdown_drain },
	{ "shutdown_kill", test_shutdown_kill },
	{ "shutdown_done", test_shutdown_done },
};

HQTEST_MAIN(tests)

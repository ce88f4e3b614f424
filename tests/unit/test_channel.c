/* SPDX-License-Identifier: MIT */
/*
 * test_channel.c: common/channel.c on a real libev loop and a real
 * socketpair. Frames arriving a byte at a time or many to a write, EOF,
 * oversized and undecodable frames, a forked peer that reads slowly (the
 * write queue and EAGAIN), closing from inside the callbacks.
 *
 * What a test receives is re-encoded into a buffer as it arrives; since
 * encoding is deterministic, comparing that buffer with the bytes sent
 * proves every message came intact and in order.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "supervisor/channel.h"
#include "common/hq.h"
#include "common/now.h"
#include "common/xmalloc.h"
#include "tests/unit/hqtest.h"

struct test_ch {
	struct channel	 ch;
	struct pbuf	 rec;		/* each message received, re-encoded */
	size_t		 ngot;
	int		 nclose;
	char		 reason[128];
	size_t		 close_at;	/* on_msg closes at this count; 0 no */
};

static void
test_channel_msg_cb(struct channel *c, struct hq_msg *m)
{
	struct test_ch	*t = container_of(c, struct test_ch, ch);

	if (proto_encode(m, &t->rec) == -1) {
		fprintf(stderr, "received a message that does not encode\n");
		hqtest_failures++;
	}
	t->ngot++;
	if (t->close_at != 0 && t->ngot == t->close_at) {
		channel_close(c);
		/* Twice is documented as safe. */
		channel_close(c);
	}
}

static void
test_channel_close_cb(struct channel *c, const char *reason)
{
	struct test_ch	*t = container_of(c, struct test_ch, ch);

	/* Documented: the channel is already closed here. */
	CHECK(!channel_is_open(c));
	t->nclose++;
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
	/* Closing again from the close callback is harmless. */
	channel_close(c);
}

static void
test_channel_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

static bool
test_channel_closed(struct test_ch *t)
{
	return t->nclose > 0;
}

static bool
test_channel_drained(struct test_ch *t)
{
	return t->nclose > 0 || (t->ch.out.len == 0 &&
	    !ev_is_active(&t->ch.wio));
}

/* Run the loop until done(t) or timeout_ms; returns done(t). */
static bool
test_channel_run(struct ev_loop *loop, struct test_ch *t,
    bool (*done)(struct test_ch *), int timeout_ms)
{
	ev_timer	tick;
	uint64_t	deadline = now_mono_ms() + (uint64_t)timeout_ms;

	ev_timer_init(&tick, test_channel_tick_cb, 0.01, 0.01);
	ev_timer_start(loop, &tick);
	while (!done(t) && now_mono_ms() < deadline)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	return done(t);
}

static void
test_channel_free(struct test_ch *t)
{
	channel_close(&t->ch);
	pbuf_free(&t->rec);
}

/* A name for message i, entry j, exactly len bytes (len >= 24). */
static void
test_channel_name(char *buf, size_t len, int i, int j)
{
	memset(buf, 'n', len);
	snprintf(buf, len + 1, "5_%06d_%06d", i, j);
	buf[15] = '_';
	memcpy(buf + len - 5, ".json", 5);
	buf[len] = '\0';
}

/* A WORK message of n names of len bytes for message i. */
static void
test_channel_work(struct hq_msg *m, int i, size_t n, size_t len)
{
	size_t	j;

	memset(m, 0, sizeof(*m));
	m->type = HQ_MSG_WORK;
	m->nnames = n;
	m->names = xcalloc(n ? n : 1, sizeof(*m->names));
	for (j = 0; j < n; j++) {
		m->names[j] = xmalloc(len + 1);
		test_channel_name(m->names[j], len, i, (int)j);
	}
}

/* Frames of every type appended to out, every seventh WORK with big names;
 * returns how many. ends[k] (when not NULL) gets the end of frame k. */
static size_t
test_channel_frames(struct pbuf *out, int rounds, size_t big, size_t *ends)
{
	struct hq_msg	m;
	size_t		n = 0;
	int		r, t;

	for (r = 0; r < rounds; r++) {
		for (t = HQ_MSG_HELLO; t < HQ_MSG_MAX_; t++) {
			if (t == HQ_MSG_WORK)
				test_channel_work(&m, r, r % 7 == 3 ? big :
				    (size_t)(r % 5), 40);
			else
				memset(&m, 0, sizeof(m));
			m.type = (enum hq_msg_type)t;
			m.version = HQ_PROTO_VERSION;
			m.slot = (uint32_t)r;
			m.gen = (uint32_t)t;
			m.pid = 1000 + r;
			m.applied = (uint32_t)r * 3;
			if (t == HQ_MSG_CONFIG) {
				config_defaults(&m.cfg);
				m.cfg.batch_size = 1 + r;
				if (r % 2)
					m.cfg.log_file = xstrdup("/x.log");
			}
			if (proto_encode(&m, out) == 0) {
				if (ends != NULL)
					ends[n] = out->len;
				n++;
			}
			proto_msg_free(&m);
		}
	}
	return n;
}

static size_t
test_channel_pending(int fd)
{
	int	n = 0;

	if (ioctl(fd, FIONREAD, &n) == -1)
		return 0;
	return (size_t)n;
}

static void
test_byte_by_byte(void)
{
	struct ev_loop	*loop;
	struct test_ch	 t = { 0 };
	struct pbuf	 want = { 0 };
	size_t		 ends[256], n, i, k = 0;
	int		 sv[2], spins;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	REQUIRE((loop = ev_loop_new(EVFLAG_AUTO)) != NULL);
	channel_open(&t.ch, loop, sv[0], test_channel_msg_cb,
	    test_channel_close_cb);
	n = test_channel_frames(&want, 8, 40, ends);
	REQUIRE(n == 8 * (HQ_MSG_MAX_ - 1));
	for (i = 0; i < want.len; i++) {
		REQUIRE(write(sv[1], want.data + i, 1) == 1);
		for (spins = 0; test_channel_pending(sv[0]) > 0 &&
		    spins < 1000; spins++)
			ev_run(loop, EVRUN_NOWAIT);
		/* Exactly the frames complete so far were delivered. */
		while (k < n && ends[k] <= i + 1)
			k++;
		if (t.ngot != k) {
			fprintf(stderr, "after byte %zu: %zu messages, want "
			    "%zu\n", i + 1, t.ngot, k);
			hqtest_failures++;
			break;
		}
	}
	CHECK_EQ_INT(t.ngot, n);
	CHECK_EQ_INT(t.rec.len, want.len);
	CHECK(t.rec.len == want.len &&
	    memcmp(t.rec.data, want.data, want.len) == 0);
	CHECK_EQ_INT(t.nclose, 0);
	CHECK(channel_is_open(&t.ch));
	test_channel_free(&t);
	close(sv[1]);
	pbuf_free(&want);
	ev_loop_destroy(loop);
}

/* Many frames, some bigger than the channel's read size, in one write()
 * by a forked process, then EOF: all delivered in order, then the close. */
static void
test_many_frames_one_write(void)
{
	struct ev_loop	*loop;
	struct test_ch	 t = { 0 };
	struct pbuf	 want = { 0 };
	size_t		 n;
	pid_t		 pid;
	int		 sv[2], status;

	n = test_channel_frames(&want, 300, HQ_PROTO_MAX_NAMES, NULL);
	CHECK(want.len > 4 * 65536);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	REQUIRE((pid = fork()) != -1);
	if (pid == 0) {
		close(sv[0]);
		_exit(write(sv[1], want.data, want.len) == (ssize_t)want.len ?
		    0 : 1);
	}
	close(sv[1]);
	REQUIRE((loop = ev_loop_new(EVFLAG_AUTO)) != NULL);
	channel_open(&t.ch, loop, sv[0], test_channel_msg_cb,
	    test_channel_close_cb);
	CHECK(test_channel_run(loop, &t, test_channel_closed, 30000));
	CHECK_EQ_INT(t.ngot, n);
	CHECK_EQ_INT(t.rec.len, want.len);
	CHECK(t.rec.len == want.len &&
	    memcmp(t.rec.data, want.data, want.len) == 0);
	CHECK_EQ_INT(t.nclose, 1);
	CHECK_EQ_STR(t.reason, "end of file");
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_channel_free(&t);
	pbuf_free(&want);
	ev_loop_destroy(loop);
}

/* Open a channel on a fresh socketpair, write bytes to the peer, optionally
 * close the peer, run until closed or a second passes. */
static void
test_channel_feed(struct test_ch *t, const void *bytes, size_t len,
    bool close_peer)
{
	struct ev_loop	*loop;
	int		 sv[2];

	memset(t, 0, sizeof(*t));
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	REQUIRE((loop = ev_loop_new(EVFLAG_AUTO)) != NULL);
	channel_open(&t->ch, loop, sv[0], test_channel_msg_cb,
	    test_channel_close_cb);
	if (len > 0)
		CHECK(write(sv[1], bytes, len) == (ssize_t)len);
	if (close_peer)
		close(sv[1]);
	test_channel_run(loop, t, test_channel_closed, 1000);
	if (!close_peer)
		close(sv[1]);
	channel_close(&t->ch);
	ev_loop_destroy(loop);
}

static void
test_channel_hdr(unsigned char *p, uint32_t n)
{
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
}

static void
test_eof(void)
{
	struct test_ch	 t;
	struct pbuf	 one = { 0 };
	struct hq_msg	 stop = { .type = HQ_MSG_STOP };

	/* EOF on an idle channel. */
	test_channel_feed(&t, NULL, 0, true);
	CHECK_EQ_INT(t.nclose, 1);
	CHECK_EQ_STR(t.reason, "end of file");
	CHECK_EQ_INT(t.ngot, 0);
	CHECK_EQ_INT(t.ch.fd, -1);
	pbuf_free(&t.rec);

	/* EOF after a whole frame and half of another. */
	REQUIRE(proto_encode(&stop, &one) == 0);
	REQUIRE(proto_encode(&stop, &one) == 0);
	test_channel_feed(&t, one.data, one.len - 1, true);
	CHECK_EQ_INT(t.ngot, 1);
	CHECK_EQ_INT(t.nclose, 1);
	CHECK_EQ_STR(t.reason, "end of file");
	pbuf_free(&t.rec);
	pbuf_free(&one);
}

static void
test_bad_frames(void)
{
	struct test_ch	 t;
	struct pbuf	 b = { 0 };
	struct hq_msg	 ready = { .type = HQ_MSG_READY, .slot = 1 };
	unsigned char	 bad[8];
	static const uint32_t lens[] = { 0, HQ_PROTO_MAX_FRAME -
	    HQ_PROTO_HDR + 1, HQ_PROTO_MAX_FRAME, UINT32_MAX };
	size_t		 i;

	/* Oversized or empty headers, after one good frame, peer open. */
	for (i = 0; i < nitems(lens); i++) {
		b.len = 0;
		REQUIRE(proto_encode(&ready, &b) == 0);
		test_channel_hdr(bad, lens[i]);
		pbuf_reserve(&b, 4);
		memcpy(b.data + b.len, bad, 4);
		b.len += 4;
		test_channel_feed(&t, b.data, b.len, false);
		CHECK_EQ_INT(t.ngot, 1);
		CHECK_EQ_INT(t.nclose, 1);
		CHECK_EQ_STR(t.reason, "oversized or empty frame");
		pbuf_free(&t.rec);
	}

	/* A body that is not msgpack, and one of an unknown type. */
	b.len = 0;
	REQUIRE(proto_encode(&ready, &b) == 0);
	test_channel_hdr(bad, 3);
	bad[4] = bad[5] = bad[6] = 0xc1;
	pbuf_reserve(&b, 7);
	memcpy(b.data + b.len, bad, 7);
	b.len += 7;
	REQUIRE(proto_encode(&ready, &b) == 0);	/* never delivered */
	test_channel_feed(&t, b.data, b.len, false);
	CHECK_EQ_INT(t.ngot, 1);
	CHECK_EQ_INT(t.nclose, 1);
	CHECK_EQ_STR(t.reason, "undecodable message");
	pbuf_free(&t.rec);

	test_channel_hdr(bad, 2);
	bad[4] = 0x91;
	bad[5] = 99;
	test_channel_feed(&t, bad, 6, false);
	CHECK_EQ_INT(t.ngot, 0);
	CHECK_EQ_INT(t.nclose, 1);
	CHECK_EQ_STR(t.reason, "undecodable message");
	pbuf_free(&t.rec);
	pbuf_free(&b);
}

#define SLOW_NMSG	48
#define SLOW_NAMES	HQ_PROTO_MAX_NAMES
#define SLOW_LEN	180

/* The slow peer: wait, then read every frame and check each name. */
static int
test_channel_slow_child(int fd)
{
	struct pbuf	b = { 0 };
	struct hq_msg	m;
	char		want[SLOW_LEN + 1];
	int		i, j, r;

	usleep(300 * 1000);
	for (i = 0; ; i++) {
		if ((r = proto_read(fd, &b, &m)) != 1)
			return r == 0 && i == SLOW_NMSG ? 0 : 10 + (r == 0);
		if (i % 8 == 0)
			usleep(20 * 1000);
		if (m.type != HQ_MSG_WORK || m.nnames != SLOW_NAMES)
			return 2;
		for (j = 0; j < SLOW_NAMES; j++) {
			test_channel_name(want, SLOW_LEN, i, j);
			if (strcmp(m.names[j], want) != 0)
				return 3;
		}
		proto_msg_free(&m);
	}
}

static void
test_slow_reader(void)
{
	struct ev_loop	*loop;
	struct test_ch	 t = { 0 };
	struct hq_msg	 m;
	pid_t		 pid;
	int		 sv[2], status, i;
	bool		 queued = false;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	REQUIRE((pid = fork()) != -1);
	if (pid == 0) {
		close(sv[0]);
		_exit(test_channel_slow_child(sv[1]));
	}
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	REQUIRE((loop = ev_loop_new(EVFLAG_AUTO)) != NULL);
	channel_open(&t.ch, loop, sv[0], test_channel_msg_cb,
	    test_channel_close_cb);
	for (i = 0; i < SLOW_NMSG; i++) {
		test_channel_work(&m, i, SLOW_NAMES, SLOW_LEN);
		CHECK_EQ_INT(channel_send(&t.ch, &m), 0);
		proto_msg_free(&m);
		/* The socket cannot take ~9 MB: the rest waits in the queue. */
		if (ev_is_active(&t.ch.wio))
			queued = true;
		/* Now and then let the loop flush a little. */
		if (i % 16 == 15)
			ev_run(loop, EVRUN_NOWAIT);
	}
	CHECK(queued);
	CHECK(t.ch.out.len > 0);
	CHECK(test_channel_run(loop, &t, test_channel_drained, 60000));
	CHECK_EQ_INT(t.nclose, 0);
	CHECK(channel_is_open(&t.ch));
	channel_close(&t.ch);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
	test_channel_free(&t);
	ev_loop_destroy(loop);
	signal(SIGPIPE, SIG_DFL);
}

static void
test_close_in_msg_cb(void)
{
	struct ev_loop	*loop;
	struct test_ch	 t = { 0 };
	struct pbuf	 b = { 0 };
	struct hq_msg	 m = { .type = HQ_MSG_READY };
	int		 sv[2], i;

	for (i = 0; i < 5; i++) {
		m.slot = (uint32_t)i;
		REQUIRE(proto_encode(&m, &b) == 0);
	}
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	REQUIRE((loop = ev_loop_new(EVFLAG_AUTO)) != NULL);
	channel_open(&t.ch, loop, sv[0], test_channel_msg_cb,
	    test_channel_close_cb);
	t.close_at = 2;
	/* All five frames arrive in one read; the callback closes at 2. */
	REQUIRE(write(sv[1], b.data, b.len) == (ssize_t)b.len);
	for (i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
	CHECK_EQ_INT(t.ngot, 2);
	CHECK_EQ_INT(t.nclose, 0);	/* a close by the owner is silent */
	CHECK(!channel_is_open(&t.ch));
	CHECK(t.ch.in.data == NULL && t.ch.out.data == NULL);
	errno = 0;
	CHECK_EQ_INT(channel_send(&t.ch, &m), -1);
	CHECK_EQ_INT(errno, EPIPE);
	/* The channel's end is closed: the peer's writes fail, nobody is
	 * called. */
	signal(SIGPIPE, SIG_IGN);
	CHECK(write(sv[1], b.data, b.len) == -1 && errno == EPIPE);
	signal(SIGPIPE, SIG_DFL);
	close(sv[1]);
	for (i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
	CHECK_EQ_INT(t.ngot, 2);
	CHECK_EQ_INT(t.nclose, 0);
	test_channel_free(&t);
	pbuf_free(&b);
	ev_loop_destroy(loop);
}

static void
test_send_errors(void)
{
	struct ev_loop	*loop;
	struct test_ch	 t = { 0 };
	struct hq_msg	 m;
	int		 sv[2];

	signal(SIGPIPE, SIG_IGN);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	REQUIRE((loop = ev_loop_new(EVFLAG_AUTO)) != NULL);
	channel_open(&t.ch, loop, sv[0], test_channel_msg_cb,
	    test_channel_close_cb);

	/* Too big to encode: refused, nothing queued, channel still open. */
	test_channel_work(&m, 0, HQ_PROTO_MAX_NAMES + 1, 24);
	errno = 0;
	CHECK_EQ_INT(channel_send(&t.ch, &m), -1);
	CHECK_EQ_INT(errno, EMSGSIZE);
	proto_msg_free(&m);
	CHECK(channel_is_open(&t.ch));
	CHECK_EQ_INT(t.ch.out.len, 0);
	CHECK_EQ_INT(test_channel_pending(sv[1]), 0);
	CHECK_EQ_INT(t.nclose, 0);

	/* A small message goes out at once, without the loop. */
	memset(&m, 0, sizeof(m));
	m.type = HQ_MSG_STOP;
	CHECK_EQ_INT(channel_send(&t.ch, &m), 0);
	CHECK(!ev_is_active(&t.ch.wio));
	CHECK(test_channel_pending(sv[1]) > 0);

	/* The peer is gone: the send fails, the close callback says why. */
	close(sv[1]);
	errno = 0;
	CHECK_EQ_INT(channel_send(&t.ch, &m), -1);
	CHECK_EQ_INT(errno, EPIPE);
	CHECK_EQ_INT(t.nclose, 1);
	CHECK_EQ_STR(t.reason, strerror(EPIPE));
	CHECK(!channel_is_open(&t.ch));
	test_channel_free(&t);
	ev_loop_destroy(loop);
	signal(SIGPIPE, SIG_DFL);
}

static const struct hqtest tests[] = {
	{ "byte_by_byte", test_byte_by_byte },
	{ "many_frames_one_write", test_many_frames_one_write },
	{ "eof", test_eof },
	{ "bad_frames", test_bad_frames },
	{ "slow_reader", test_slow_reader },
	{ "close_in_msg_cb", test_close_in_msg_cb },
	{ "send_errors", test_send_errors },
};

HQTEST_MAIN(tests)

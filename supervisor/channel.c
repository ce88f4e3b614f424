/* SPDX-License-Identifier: MIT */
/* channel.c: supervisor side of a worker socketpair. Runs in hqd only. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/channel.h"
#include "common/fd.h"
#include "common/hq.h"

static void	channel_read_cb(struct ev_loop *, ev_io *, int);
static void	channel_write_cb(struct ev_loop *, ev_io *, int);

void
channel_open(struct channel *c, struct ev_loop *loop, int fd,
    channel_msg_fn *on_msg, channel_close_fn *on_close)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->loop = loop;
	c->on_msg = on_msg;
	c->on_close = on_close;
	fd_nonblock(fd);
	ev_io_init(&c->rio, channel_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, channel_write_cb, fd, EV_WRITE);
	ev_io_start(loop, &c->rio);
}

bool
channel_is_open(const struct channel *c)
{
	return c->fd != -1;
}

void
channel_close(struct channel *c)
{
	if (c->fd == -1)
		return;
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	close(c->fd);
	c->fd = -1;
	pbuf_free(&c->in);
	pbuf_free(&c->out);
	c->out_off = 0;
}

static void
channel_fail(struct channel *c, const char *reason)
{
	channel_close(c);
	c->on_close(c, reason);
}

/* Write what the socket takes; arm the write watcher for the rest. */
static int
channel_flush(struct channel *c)
{
	ssize_t	n;

	while (c->out_off < c->out.len) {
		n = write(c->fd, c->out.data + c->out_off,
		    c->out.len - c->out_off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out.len) {
		c->out.len = c->out_off = 0;
		ev_io_stop(c->loop, &c->wio);
	} else
		ev_io_start(c->loop, &c->wio);
	return 0;
}

int
channel_send(struct channel *c, const struct hq_msg *m)
{
	if (c->fd == -1) {
		errno = EPIPE;
		return -1;
	}
	if (proto_encode(m, &c->out) == -1)
		return -1;
	if (!ev_is_active(&c->wio) && channel_flush(c) == -1) {
		channel_fail(c, strerror(errno));
		errno = EPIPE;
		return -1;
	}
	return 0;
}

static void
channel_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct channel	*c = container_of(w, struct channel, wio);

	(void)loop;
	(void)revents;
	if (channel_flush(c) == -1)
		channel_fail(c, strerror(errno));
}

static void
channel_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct channel	*c = container_of(w, struct channel, rio);
	struct hq_msg	 m;
	size_t		 off = 0;
	ssize_t		 n, flen;

	(void)loop;
	(void)revents;
	pbuf_reserve(&c->in, 65536);
	n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
	if (n == 0) {
		channel_fail(c, "end of file");
		return;
	}
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			channel_fail(c, strerror(errno));
		return;
	}
	c->in.len += (size_t)n;
	while ((flen = proto_frame_len(c->in.data + off, c->in.len - off)) >
	    0) {
		if (proto_decode(c->in.data + off + HQ_PROTO_HDR,
		    (size_t)flen - HQ_PROTO_HDR, &m) == -1) {
			channel_fail(c, "undecodable message");
			return;
		}
		off += (size_t)flen;
		c->on_msg(c, &m);
		proto_msg_free(&m);
		if (c->fd == -1)
			return;
	}
	if (flen == -1) {
		channel_fail(c, "oversized or empty frame");
		return;
	}
	if (off > 0) {
		memmove(c->in.data, c->in.data + off, c->in.len - off);
		c->in.len -= off;
	}
}

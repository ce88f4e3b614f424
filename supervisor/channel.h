/* SPDX-License-Identifier: MIT */
/* channel.h: the supervisor's end of a worker socketpair on libev: a read
 * buffer cut into frames, a write queue, a message callback and a close
 * callback. Never blocks. Workers use proto_read/proto_write instead. */
#ifndef HQ_CHANNEL_H
#define HQ_CHANNEL_H

#include <ev.h>
#include <stdbool.h>

#include "common/proto.h"

struct channel;
/* m is valid during the call only; the callback may close the channel. */
typedef void channel_msg_fn(struct channel *, struct hq_msg *m);
/* EOF, I/O error or an undecodable frame (reason says which); the channel
 * is already closed when this runs. */
typedef void channel_close_fn(struct channel *, const char *reason);

struct channel {
	int			 fd;		/* -1 when closed */
	struct ev_loop		*loop;
	ev_io			 rio, wio;
	struct pbuf		 in, out;
	size_t			 out_off;	/* bytes of out already sent */
	channel_msg_fn		*on_msg;
	channel_close_fn	*on_close;
};

/* Takes ownership of fd (made non-blocking) and starts reading. */
void	channel_open(struct channel *c, struct ev_loop *loop, int fd,
	    channel_msg_fn *on_msg, channel_close_fn *on_close);
/* Queue m and write what the socket takes now. 0, or -1 (EMSGSIZE, or the
 * channel is closed: EPIPE). */
int	channel_send(struct channel *c, const struct hq_msg *m);
/* Stop watchers, close the fd, free buffers. Safe to call twice. */
void	channel_close(struct channel *c);
bool	channel_is_open(const struct channel *c);

#endif

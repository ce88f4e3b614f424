/* SPDX-License-Identifier: MIT */
/* proto.h: the messages between hqd and its workers. A frame is a 4-byte
 * big-endian body length and a MessagePack array led by the type. Decoding
 * is strict: unknown type, wrong arity or type, oversize -> -1. Both ends
 * are one build, so a change is a version bump, never an optional field.
 * This is the only file that speaks MessagePack for messages. */
#ifndef HQ_PROTO_H
#define HQ_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/pbuf.h"

/* Bump HQ_PROTO_VERSION on any change to this enum or to a body. */
#define HQ_PROTO_VERSION	2
#define HQ_PROTO_MAX_FRAME	(256 * 1024)
#define HQ_PROTO_HDR		4
#define HQ_PROTO_MAX_NAMES	1024

/* A worker's end of its socketpair: the supervisor puts it here before
 * exec, the worker checks it is a socket. */
#define WORKER_FD		3

/* The messages: one table, common/proto.def. */
enum hq_msg_type {
	HQ_MSG_NONE_ = 0,
#define HQ_MSG(name, arity, dir, fields)	HQ_MSG_##name,
#include "common/proto.def"
#undef HQ_MSG
	HQ_MSG_MAX_
};

struct hq_msg {
	enum hq_msg_type	 type;
	uint32_t		 version;	/* HELLO */
	uint32_t		 slot, gen;	/* every w->s message */
	int64_t			 pid;		/* HELLO */
	struct hq_config	 cfg;		/* CONFIG; owned by the message */
	char			**names;	/* WORK; owned by the message */
	size_t			 nnames;
	uint32_t		 poison;	/* WORK */
	uint32_t		 applied, failed, retried, dups; /* DONE */
};


/* Append one frame for m to out. Returns 0, or -1 with errno EMSGSIZE
 * when the frame would exceed HQ_PROTO_MAX_FRAME (out unchanged). */
int	proto_encode(const struct hq_msg *m, struct pbuf *out);
/* Bytes needed to decide about buf: returns the frame length (header
 * included) when buf holds a whole frame, 0 when more bytes are needed,
 * -1 when the header announces an oversized or empty frame. */
ssize_t	proto_frame_len(const void *buf, size_t len);
/* Decode one body (without the header). 0, or -1 on any violation;
 * m is zeroed first and holds allocations only on success. */
int	proto_decode(const void *body, size_t len, struct hq_msg *m);
void	proto_msg_free(struct hq_msg *m);
const char *proto_type_name(enum hq_msg_type t);

/* Blocking I/O for the worker: read or write one whole frame on fd.
 * proto_read returns 1 with a message, 0 on a clean EOF, -1 on error or
 * a malformed frame (errno EBADMSG). */
int	proto_read(int fd, struct pbuf *scratch, struct hq_msg *m);
int	proto_write(int fd, const struct hq_msg *m, struct pbuf *scratch);

#endif

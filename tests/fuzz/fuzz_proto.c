/* SPDX-License-Identifier: MIT */
/* fuzz_proto: the socketpair message decoder on arbitrary bytes, both as a
 * stream of frames (as channel.c cuts them) and as one body. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hq_msg	m;
	struct pbuf	out = { 0 };
	size_t		off = 0;
	ssize_t		flen;

	if (proto_decode(data, size, &m) == 0) {
		/* A message that decodes re-encodes, and decodes the same. */
		if (proto_encode(&m, &out) == 0) {
			struct hq_msg m2;

			if (proto_decode(out.data + HQ_PROTO_HDR,
			    out.len - HQ_PROTO_HDR, &m2) != 0 ||
			    m2.type != m.type || m2.nnames != m.nnames)
				__builtin_trap();
			proto_msg_free(&m2);
		}
		proto_msg_free(&m);
	}
	while ((flen = proto_frame_len(data + off, size - off)) > 0) {
		if (proto_decode(data + off + HQ_PROTO_HDR,
		    (size_t)flen - HQ_PROTO_HDR, &m) == 0)
			proto_msg_free(&m);
		off += (size_t)flen;
	}
	pbuf_free(&out);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* mpcheck.c: the bounds walk over MessagePack bytes that runs before
 * msgpack-c sees them; for entries (entry_msgpack.c) and protocol frames
 * (proto.c). No allocation, no state. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/mpcheck.h"

/* Writes the message and is -1 at the call site (see entry_int.h's
 * entry_err for why not a function's return value). */
#define mpcheck_err(err, errlen, ...)	\
	(snprintf((err), (errlen), __VA_ARGS__), -1)

/*
 * Proves that buf holds exactly one msgpack object, that every length it
 * declares fits in what remains of the input, and that its containers nest
 * no deeper than msgpack-c can parse. Without it, ten bytes declaring four
 * billion elements make msgpack-c attempt the allocation (fatal under
 * ASan). Linear and without recursion: want counts the objects still
 * expected, each at least one byte; left[] counts what remains in each open
 * container, which only the depth limit needs.
 */
int
mpcheck(const unsigned char *b, size_t len, char *err, size_t errlen)
{
	uint64_t	 left[MPCHECK_MAX_DEPTH];
	uint64_t	 want = 1, n, skip, children;
	size_t		 pos = 0, depth = 0, off, lenbytes, i;
	unsigned int	 c;
	bool		 ext, container;

	while (want > 0) {
		if (pos >= len)
			return mpcheck_err(err, errlen, "msgpack: unexpected end "
			    "of input at offset %zu", pos);
		off = pos;
		c = b[pos++];
		want--;
		if (depth > 0)
			left[depth - 1]--;
		lenbytes = 0;
		skip = 0;
		children = 0;
		ext = false;
		container = (c >= 0x80 && c <= 0x9f) || (c >= 0xdc &&
		    c <= 0xdf);
		if (c <= 0x7f || c >= 0xe0)
			;				/* fixint */
		else if (c <= 0x8f)
			children = 2 * (uint64_t)(c & 0x0f);	/* fixmap */
		else if (c <= 0x9f)
			children = c & 0x0f;		/* fixarray */
		else if (c <= 0xbf)
			skip = c & 0x1f;		/* fixstr */
		else {
			switch (c) {
			case 0xc0:	/* nil */
			case 0xc2:	/* false */
			case 0xc3:	/* true */
				break;
			case 0xc4:	/* bin 8 */
			case 0xd9:	/* str 8 */
				lenbytes = 1;
				break;
			case 0xc5:	/* bin 16 */
			case 0xda:	/* str 16 */
			case 0xdc:	/* array 16 */
			case 0xde:	/* map 16 */
				lenbytes = 2;
				break;
			case 0xc6:	/* bin 32 */
			case 0xdb:	/* str 32 */
			case 0xdd:	/* array 32 */
			case 0xdf:	/* map 32 */
				lenbytes = 4;
				break;
			case 0xc7:	/* ext 8, 16, 32: length, type, data */
				lenbytes = 1;
				ext = true;
				break;
			case 0xc8:
				lenbytes = 2;
				ext = true;
				break;
			case 0xc9:
				lenbytes = 4;
				ext = true;
				break;
			case 0xcc:	/* uint 8 */
			case 0xd0:	/* int 8 */
				skip = 1;
				break;
			case 0xcd:
			case 0xd1:
				skip = 2;
				break;
			case 0xca:	/* float 32 */
			case 0xce:
			case 0xd2:
				skip = 4;
				break;
			case 0xcb:	/* float 64 */
			case 0xcf:
			case 0xd3:
				skip = 8;
				break;
			case 0xd4:	/* fixext 1, 2, 4, 8, 16: type, data */
				skip = 2;
				break;
			case 0xd5:
				skip = 3;
				break;
			case 0xd6:
				skip = 5;
				break;
			case 0xd7:
				skip = 9;
				break;
			case 0xd8:
				skip = 17;
				break;
			default:	/* 0xc1, never used */
				return mpcheck_err(err, errlen, "msgpack: "
				    "invalid byte 0x%02x at offset %zu", c,
				    off);
			}
		}
		if (lenbytes > 0) {
			if (len - pos < lenbytes)
				return mpcheck_err(err, errlen, "msgpack: "
				    "unexpected end of input at offset %zu",
				    len);
			for (n = 0, i = 0; i < lenbytes; i++)
				n = n << 8 | b[pos++];
			if (c == 0xdc || c == 0xdd)
				children = n;
			else if (c == 0xde || c == 0xdf)
				children = 2 * n;
			else
				skip = n + (ext ? 1 : 0);
		}
		if (skip > len - pos)
			return mpcheck_err(err, errlen,
			    "msgpack: declared length exceeds input");
		pos += (size_t)skip;
		if (want > len - pos)
			return mpcheck_err(err, errlen, "msgpack: unexpected end "
			    "of input at offset %zu", len);
		/* Each element takes at least one byte. */
		if (children > len - pos - want)
			return mpcheck_err(err, errlen,
			    "msgpack: declared length exceeds input");
		if (container && depth == MPCHECK_MAX_DEPTH)
			return mpcheck_err(err, errlen, "msgpack: nesting deeper "
			    "than %d at offset %zu", MPCHECK_MAX_DEPTH, off);
		if (children > 0) {
			left[depth++] = children;
			want += children;
		}
		while (depth > 0 && left[depth - 1] == 0)
			depth--;
	}
	if (pos != len)
		return mpcheck_err(err, errlen,
		    "msgpack: trailing bytes at offset %zu", pos);
	return 0;
}

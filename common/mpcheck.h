/* SPDX-License-Identifier: MIT */
/* mpcheck.h: a bounds check of untrusted MessagePack bytes. */
#ifndef HQ_MPCHECK_H
#define HQ_MPCHECK_H

#include <stddef.h>

/*
 * msgpack-c's parser stack holds MSGPACK_EMBED_STACK_SIZE (32, fixed when
 * the library is built; unpack_define.h) containers: a 33rd level, even an
 * empty array, fails with the code of a failed malloc. mpcheck()
 * refuses it first so the two are never confused; test_entry.c pins the
 * boundary.
 */
#define MPCHECK_MAX_DEPTH	32


/*
 * The walk run before msgpack-c sees any bytes: exactly one object spans
 * b[0..len), no declared length or count exceeds the bytes left, no
 * nesting deeper than MPCHECK_MAX_DEPTH. 0, or -1 with a reason in err.
 * Without it a few bytes declaring 2^32 elements make msgpack-c allocate
 * tens of gigabytes. Used for entries and for protocol frames.
 */
int	mpcheck(const unsigned char *b, size_t len, char *err, size_t errlen);

#endif

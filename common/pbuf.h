/* SPDX-License-Identifier: MIT */
/* pbuf.h: a growable byte buffer. Frames, heartbeat documents and
 * exposition text are built in these. Growth is fatal on no memory. */
#ifndef HQ_PBUF_H
#define HQ_PBUF_H

#include <stddef.h>
#include <stdint.h>

struct pbuf {
	char	*data;
	size_t	 len, cap;
};

void	pbuf_reserve(struct pbuf *b, size_t more);
void	pbuf_add(struct pbuf *b, const void *p, size_t len);
void	pbuf_printf(struct pbuf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Append v in decimal; and n/1000 with three decimals (as "%.3f" prints
 * it, exactly). Without printf: the heartbeat is mostly these. */
void	pbuf_u64(struct pbuf *b, uint64_t v);
void	pbuf_milli(struct pbuf *b, uint64_t n);
/* Append s as a JSON string literal, quotes included; strict JSON: a
 * byte that is not UTF-8 becomes U+FFFD. For documents others parse. */
void	pbuf_json_str(struct pbuf *b, const char *s);
/* Append s[0..len) as a JSON string literal the way entries carry bytes:
 * bytes that are not UTF-8 stay as they are, so hq's entry reader gives
 * back exactly s (docs/formats.md); NULs are escaped. For entries only. */
void	pbuf_json_bytes(struct pbuf *b, const char *s, size_t len);
void	pbuf_free(struct pbuf *b);

#endif

/* SPDX-License-Identifier: MIT */
/* pbuf.c: growable byte buffers. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pbuf.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

void
pbuf_reserve(struct pbuf *b, size_t more)
{
	size_t	ncap;

	if (b->cap - b->len >= more)
		return;
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len < more)
		ncap *= 2;
	b->data = xreallocarray(b->data, 1, ncap);
	b->cap = ncap;
}

void
pbuf_add(struct pbuf *b, const void *p, size_t len)
{
	pbuf_reserve(b, len + 1);
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
pbuf_printf(struct pbuf *b, const char *fmt, ...)
{
	va_list	ap;
	size_t	room;
	int	n;

	/* Formatted once into the room left; a second time only when it did
	 * not fit (the heartbeat is ~200 of these a tick). */
	pbuf_reserve(b, 64);
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		pbuf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
pbuf_u64(struct pbuf *b, uint64_t v)
{
	char	tmp[20], *p = tmp + sizeof(tmp);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	pbuf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
pbuf_milli(struct pbuf *b, uint64_t n)
{
	char	frac[4] = { '.', 0, 0, 0 };
	unsigned r = (unsigned)(n % 1000);

	pbuf_u64(b, n / 1000);
	frac[1] = (char)('0' + r / 100);
	frac[2] = (char)('0' + r / 10 % 10);
	frac[3] = (char)('0' + r % 10);
	pbuf_add(b, frac, 4);
}

/*
 * One JSON string literal for both writers. Quotes, backslashes and control
 * characters are escaped and UTF-8 is copied; a byte that starts no UTF-8
 * sequence is either replaced by U+FFFD (raw false: the document must be
 * strict JSON, as a display is) or copied as it is (raw true: an entry,
 * which carries bytes; docs/formats.md).
 */
static void
pbuf_json_lit(struct pbuf *b, const char *s, size_t left, bool raw)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	pbuf_add(b, "\"", 1);
	while (left > 0) {
		if (*p == '"' || *p == '\\')
			pbuf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			pbuf_printf(b, "\\u%04x", *p);
		else if ((n = utf8_len(p, left)) > 1) {
			pbuf_add(b, p, n);
			p += n;
			left -= n;
			continue;
		} else if (n == 0 && !raw)	/* a path, say: U+FFFD */
			pbuf_add(b, "\\ufffd", 6);
		else
			pbuf_add(b, p, 1);
		p++;
		left--;
	}
	pbuf_add(b, "\"", 1);
}

void
pbuf_json_str(struct pbuf *b, const char *s)
{
	pbuf_json_lit(b, s, strlen(s), false);
}

void
pbuf_json_bytes(struct pbuf *b, const char *s, size_t len)
{
	pbuf_json_lit(b, s, len, true);
}

void
pbuf_free(struct pbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

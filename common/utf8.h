/* SPDX-License-Identifier: MIT */
/* utf8.h: UTF-8 well-formedness (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF). One definition for the entry reader,
 * the producer and every JSON writer. */
#ifndef HQ_UTF8_H
#define HQ_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed sequence at p (avail > 0 bytes), or 0. */
size_t	utf8_len(const unsigned char *p, size_t avail);
/* True when s[0..len) is well-formed UTF-8. */
bool	utf8_valid(const char *s, size_t len);

#endif

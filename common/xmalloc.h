/* SPDX-License-Identifier: MIT */
/* xmalloc.h: allocation that cannot fail; running out of memory is fatal
 * and the process (worker or supervisor) restarts clean. */
#ifndef HQ_XMALLOC_H
#define HQ_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* SPDX-License-Identifier: MIT */
/* log.h: one-line diagnostics on stderr (or a log file), prefixed by process. */
#ifndef HQ_LOG_H
#define HQ_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_WARN = 0, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* prefix is copied; e.g. "hqd" or "hqd worker 2". */
void	log_init(const char *prefix, enum log_level level);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Open path for append and make it fd 2, so children inherit it.
 * Returns 0, or -1 with errno set (stderr unchanged). */
int	log_reopen(const char *path);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif

/* SPDX-License-Identifier: MIT */
/* log.c: diagnostics. One write(2) per line so lines from the supervisor
 * and its workers, which share fd 2, never interleave mid-line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/hq.h"
#include "common/log.h"

static char		log_prefix[64] = "hq";
static enum log_level	log_level = LOG_LEVEL_INFO;

void
log_init(const char *prefix, enum log_level level)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix);
	log_level = level;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_reopen(const char *path)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1)
		return -1;
	/* dup2 clears FD_CLOEXEC on 2: workers inherit the log on purpose. */
	if (dup2(fd, STDERR_FILENO) == -1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

static void __attribute__((format(printf, 3, 0)))
log_vemit(const char *level, int errnum, const char *fmt, va_list ap)
{
	char		line[2048];
	struct timespec	ts;
	struct tm	tm;
	size_t		n;
	int		r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: %s",
	    ts.tv_nsec / 1000000, log_prefix, level);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (errnum != 0 && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(errnum));
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ?
			    (size_t)r : sizeof(line) - n - 1;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* Nothing sensible to do if stderr is gone. */
	if (write(STDERR_FILENO, line, n) == -1)
		return;
}

#define LOG_BODY(lvl, name, err) do {			\
	va_list ap;					\
	int saved = errno;				\
	if (log_level < (lvl))				\
		return;					\
	va_start(ap, fmt);				\
	log_vemit(name, (err) ? saved : 0, fmt, ap);	\
	va_end(ap);					\
	errno = saved;					\
} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, "", 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, "", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, "", 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, "debug: ", 0);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vemit("fatal: ", saved, fmt, ap);
	va_end(ap);
	exit(HQ_EX_SOFTWARE);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit("fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(HQ_EX_SOFTWARE);
}

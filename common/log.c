/* SPDX-License-Identifier: MIT */
/* log.c: diagnostics. One write(2) per line so lines from the supervisor
 * and its workers, which share fd 2, never interleave mid-line. Lines carry
 * text from outside (entry file names, SQL, SQLite's error texts, HTTP
 * clients' requests): control bytes are escaped here, at formatting time,
 * so that no caller can forget and no name can forge a line. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/hq.h"
#include "common/log.h"
#include "common/utf8.h"

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

/* The escape of byte c into dst (when not NULL): its length, 2 or 4. */
static size_t
log_escape_byte(char *dst, unsigned char c)
{
	static const char	hex[] = "0123456789abcdef";
	char			e[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };
	size_t			n = 4;

	if (c == '\n' || c == '\r' || c == '\t') {
		e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		n = 2;
	}
	if (dst != NULL)
		memcpy(dst, e, n);
	return n;
}

/*
 * Copy src into dst (room bytes, not NUL-terminated) with every control
 * byte escaped: \n \r \t, others \xNN; C1 controls (valid UTF-8, but
 * terminals act on U+009B as on ESC [) and bytes that are not UTF-8 as
 * \xNN per byte; other UTF-8 as is. Whole escapes and characters only:
 * a cut never leaves half of one. Returns the bytes written.
 */
static size_t
log_escape(char *dst, size_t room, const char *src, size_t len)
{
	const unsigned char	*p = (const unsigned char *)src;
	size_t			 i = 0, o = 0, n, k, need;
	bool			 esc;

	while (i < len) {
		n = utf8_len(p + i, len - i);
		esc = n == 0 || p[i] < 0x20 || p[i] == 0x7f ||
		    (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0);
		if (!esc) {
			if (o + n > room)
				break;
			memcpy(dst + o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		if (n == 0)
			n = 1;
		for (need = 0, k = 0; k < n; k++)
			need += log_escape_byte(NULL, p[i + k]);
		if (o + need > room)
			break;
		for (k = 0; k < n; k++)
			o += log_escape_byte(dst + o, p[i + k]);
		i += n;
	}
	return o;
}

static void __attribute__((format(printf, 3, 0)))
log_vemit(const char *level, int errnum, const char *fmt, va_list ap)
{
	char		msg[2048], line[2048];
	struct timespec	ts;
	struct tm	tm;
	size_t		n, m;
	int		r;

	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	m = r < 0 ? 0 : (size_t)r < sizeof(msg) ? (size_t)r : sizeof(msg) - 1;
	if (errnum != 0 && m < sizeof(msg) - 1) {
		r = snprintf(msg + m, sizeof(msg) - m, ": %s",
		    strerror(errnum));
		if (r > 0)
			m += (size_t)r < sizeof(msg) - m ?
			    (size_t)r : sizeof(msg) - m - 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: %s",
	    ts.tv_nsec / 1000000, log_prefix, level);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	/* The newline's byte stays free. */
	n += log_escape(line + n, sizeof(line) - n - 1, msg, m);
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

/* SPDX-License-Identifier: MIT */
/*
 * test_log.c: common/log.c writes one line per call whatever the message
 * holds. Each test points fd 2 at a file in its temp dir, logs, and reads
 * the file back: control bytes (from file names, SQL, error texts) come out
 * escaped, valid UTF-8 unchanged, invalid bytes as \xNN, and a long message
 * is cut without splitting an escape.
 */
#include <fcntl.h>
#include <stdbool.h>

#include "common/hq.h"
#include "common/log.h"
#include "tests/unit/hqtest.h"

static int	test_log_saved = -1;

/* fd 2 into ./log (truncated); test_log_read() puts it back. */
static bool
test_log_capture(void)
{
	int	fd;

	if ((fd = open("log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return false;
	test_log_saved = dup(STDERR_FILENO);
	if (test_log_saved == -1 || dup2(fd, STDERR_FILENO) == -1) {
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

/* What was logged since test_log_capture(); NUL-terminated in buf. */
static size_t
test_log_read(char *buf, size_t len)
{
	ssize_t	n;
	int	fd;

	dup2(test_log_saved, STDERR_FILENO);
	close(test_log_saved);
	test_log_saved = -1;
	buf[0] = '\0';
	if ((fd = open("log", O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return (size_t)n;
}

static size_t
test_log_lines(const char *s, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++)
		if (s[i] == '\n')
			n++;
	return n;
}

/* The message part of a line: after "PREFIX: ". */
static const char *
test_log_msg(const char *line)
{
	const char	*p = strstr(line, "test: ");

	return p != NULL ? p + strlen("test: ") : "";
}

/* A forged line after a newline in a name stays on the name's line. */
static void
test_forged_line(void)
{
	char	buf[4096];
	size_t	n;

	log_init("test", LOG_LEVEL_DEBUG);
	REQUIRE(test_log_capture());
	log_warnx("pending/%s: not an entry name",
	    "5_a\n2026-01-01T00:00:00.000Z hqd: forged.json");
	log_debug("%s", "after");
	n = test_log_read(buf, sizeof(buf));
	CHECK_EQ_INT(test_log_lines(buf, n), 2);
	CHECK(strstr(buf, "test: pending/5_a\\n2026-01-01T00:00:00.000Z hqd: "
	    "forged.json: not an entry name\n") != NULL);
	CHECK(strstr(buf, "test: debug: after\n") != NULL);
}

/* Each message alone on its line, escaped as the second string says. */
static void
test_escapes(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "tab\there, cr\rthere", "tab\\there, cr\\rthere" },
		{ "esc \x1b[31mred, del \x7f, bell \a",
		    "esc \\x1b[31mred, del \\x7f, bell \\x07" },
		{ "\x01\x02\x1f end", "\\x01\\x02\\x1f end" },
		/* Valid UTF-8 as is: 2, 3 and 4 bytes. */
		{ "tabl\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		    "tabl\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		/* Not UTF-8: a lone continuation byte, a lead byte without
		 * its tail, an overlong slash, a surrogate, a cut sequence
		 * at the end. */
		{ "\x80 x \xc3 y \xc0\xaf z \xed\xa0\x80 end \xe2\x82",
		    "\\x80 x \\xc3 y \\xc0\\xaf z \\xed\\xa0\\x80 end "
		    "\\xe2\\x82" },
		/* C1 controls are valid UTF-8 but controls: CSI (U+009B);
		 * U+00A0 is the first that is not. */
		{ "c1 \xc2\x9b" "31m \xc2\xa0", "c1 \\xc2\\x9b31m \xc2\xa0" },
	};
	char	buf[4096], want[256];
	size_t	i, n;

	log_init("test", LOG_LEVEL_INFO);
	for (i = 0; i < nitems(cases); i++) {
		REQUIRE(test_log_capture());
		log_info("%s", cases[i].in);
		n = test_log_read(buf, sizeof(buf));
		CHECK_EQ_INT(test_log_lines(buf, n), 1);
		snprintf(want, sizeof(want), "%s\n", cases[i].out);
		CHECK_EQ_STR(test_log_msg(buf), want);
	}
}

/* errno's text is escaped too, and the level and prefix stay as they are. */
static void
test_errno_and_level(void)
{
	char	buf[4096];

	log_init("test", LOG_LEVEL_WARN);
	REQUIRE(test_log_capture());
	errno = ENOENT;
	log_warn("open %s", "a\nb");
	CHECK_EQ_INT(errno, ENOENT);
	log_info("not shown");
	test_log_read(buf, sizeof(buf));
	CHECK_EQ_STR(test_log_msg(buf), "open a\\nb: No such file or "
	    "directory\n");
}

/* A message longer than a line is cut: still one line, ending in a
 * newline, and never in the middle of an escape or a UTF-8 sequence. */
static void
test_long(void)
{
	static char	msg[8192], buf[16384];
	const char	*m, *end;
	size_t		n, i;

	log_init("test", LOG_LEVEL_INFO);
	for (i = 0; i + 3 < sizeof(msg) - 1; i += 3)
		memcpy(msg + i, i % 2 ? "\n\xc3\xa9" : "\xc3\xa9\n", 3);
	msg[i] = '\0';
	REQUIRE(test_log_capture());
	log_info("%s", msg);
	n = test_log_read(buf, sizeof(buf));
	CHECK_EQ_INT(test_log_lines(buf, n), 1);
	REQUIRE(n > 1000 && buf[n - 1] == '\n');
	CHECK(n <= 2048);
	m = test_log_msg(buf);
	end = buf + n - 1;
	/* Every piece whole: "\n" escapes and two-byte characters. */
	while (m + 1 < end && ((m[0] == '\\' && m[1] == 'n') ||
	    ((unsigned char)m[0] == 0xc3 && (unsigned char)m[1] == 0xa9)))
		m += 2;
	CHECK(m == end);
}

static const struct hqtest tests[] = {
	{ "forged_line", test_forged_line },
	{ "escapes", test_escapes },
	{ "errno_and_level", test_errno_and_level },
	{ "long", test_long },
};

HQTEST_MAIN(tests)

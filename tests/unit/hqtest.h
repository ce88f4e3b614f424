/* SPDX-License-Identifier: MIT */
/* hqtest.h: the unit-test harness. A test is a function in a table; each
 * runs in a fresh temporary directory (its cwd) which is removed after.
 * CHECK* record a failure and go on; REQUIRE* return from the test. The
 * binary prints "N passed, N failed" and exits non-zero on any failure. */
#ifndef HQ_HQTEST_H
#define HQ_HQTEST_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hqtest {
	const char	*name;
	void		(*fn)(void);
};

extern int	hqtest_failures;
int		hqtest_failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		hqtest_failures++;					\
	}								\
} while (0)

#define REQUIRE(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: REQUIRE failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		hqtest_failures++;					\
		return;							\
	}								\
} while (0)

#define CHECK_EQ_INT(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s == %s "	\
		    "(%lld != %lld)\n", __FILE__, __LINE__, #a, #b,	\
		    _a, _b);						\
		hqtest_failures++;					\
	}								\
} while (0)

#define CHECK_EQ_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {		\
		fprintf(stderr, "%s:%d: CHECK failed: %s == %s "	\
		    "(\"%s\" != \"%s\")\n", __FILE__, __LINE__, #a, #b,	\
		    _a ? _a : "(null)", _b ? _b : "(null)");		\
		hqtest_failures++;					\
	}								\
} while (0)

static inline int
hqtest_main(const struct hqtest *tests, size_t n, int argc, char **argv)
{
	char	 tmpl[PATH_MAX], cmd[PATH_MAX + 16], start[PATH_MAX];
	const char *base = getenv("TMPDIR");
	size_t	 i;
	int	 passed = 0, failed = 0, before;

	if (getcwd(start, sizeof(start)) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
			continue;
		snprintf(tmpl, sizeof(tmpl), "%s/hqtest.XXXXXX",
		    base ? base : "/tmp");
		if (mkdtemp(tmpl) == NULL || chdir(tmpl) == -1) {
			perror("hqtest: temp dir");
			return 1;
		}
		before = hqtest_failures;
		tests[i].fn();
		if (chdir(start) == -1)
			return 1;
		if (hqtest_failures == before) {
			passed++;
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
			if (system(cmd) != 0)
				fprintf(stderr, "hqtest: cannot remove %s\n",
				    tmpl);
		} else {
			failed++;
			fprintf(stderr, "FAIL %s (left %s)\n", tests[i].name,
			    tmpl);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0 || passed == 0;
}

#define HQTEST_MAIN(table)						\
int									\
main(int argc, char **argv)						\
{									\
	return hqtest_main(table, sizeof(table) / sizeof(table[0]),	\
	    argc, argv);						\
}

#endif

/* SPDX-License-Identifier: MIT */
/* test_remover.c: the remover threads on real files: every name queued
 * is removed (or moved) exactly once and counted once, whatever the
 * number of threads; and when a thread more is woken. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hqtest.h"
#include "worker/remover.h"

static int
count(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* n files named 5_<i>_1_1.json in dir. */
static void
make_files(const char *dir, int n)
{
	char	name[64];
	int	i, fd;

	mkdir(dir, 0700);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s/5_%d_1_1.json", dir, i);
		if ((fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1) {
			(void)!write(fd, "{}", 2);
			close(fd);
		}
	}
}

static void
run(int threads, bool move)
{
	struct seg_slot	 sl;
	struct remover	 r;
	char		 name[64], nthreads[8];
	int		 dirfd, tofd = -1, i, n = 3000;

	make_files("p", n);
	if (move)
		mkdir("c", 0700);
	snprintf(nthreads, sizeof(nthreads), "%d", threads);
	setenv("HQ_REMOVE_THREADS", nthreads, 1);
	memset(&sl, 0, sizeof(sl));
	remover_init(&r, &sl);
	unsetenv("HQ_REMOVE_THREADS");
	CHECK_EQ_INT(r.want, threads);
	dirfd = open("p", O_RDONLY | O_DIRECTORY);
	if (move)
		tofd = open("c", O_RDONLY | O_DIRECTORY);
	REQUIRE(dirfd != -1);
	remover_dirs(&r, dirfd, tofd);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "5_%d_1_1.json", i);
		remover_add(&r, name, i % 10 == 0);
	}
	remover_wait(&r);
	CHECK_EQ_INT(count("p"), 0);
	if (move)
		CHECK_EQ_INT(count("c"), n);
	CHECK_EQ_INT(SEG_GET(sl.c.applied), n - n / 10);
	CHECK_EQ_INT(SEG_GET(sl.c.duplicates), n / 10);
	CHECK(r.nth == threads);
	CHECK(r.awake >= 0 && r.awake <= r.nth);
	remover_fini(&r);
	close(dirfd);
	if (tofd != -1)
		close(tofd);
}

static void test_unlink_eight(void) { run(8, false); }
static void test_unlink_one(void) { run(1, false); }
static void test_move_eight(void) { run(8, true); }

static void
test_should_wake(void)
{
	/* Nobody awake: one is woken for the first name, fast or slow. */
	CHECK(remover_should_wake(0, 8, 1, 0));
	CHECK(remover_should_wake(0, 8, 1, 10 * REMOVER_SLOW_NS));
	/* Fast removals: one thread keeps up, however long the queue. */
	CHECK(!remover_should_wake(1, 8, 1000, 0));
	CHECK(!remover_should_wake(1, 8, 1000, REMOVER_SLOW_NS));
	/* Slow ones: more threads while more than BACKLOG names wait for
	 * each thread awake, never more than there are. */
	CHECK(remover_should_wake(1, 8, REMOVER_BACKLOG + 1,
	    REMOVER_SLOW_NS + 1));
	CHECK(!remover_should_wake(1, 8, REMOVER_BACKLOG,
	    REMOVER_SLOW_NS + 1));
	CHECK(remover_should_wake(7, 8, 7 * REMOVER_BACKLOG + 1,
	    REMOVER_SLOW_NS + 1));
	CHECK(!remover_should_wake(8, 8, 1000, 10 * REMOVER_SLOW_NS));
	CHECK(!remover_should_wake(1, 1, 1000, 10 * REMOVER_SLOW_NS));
}

static const struct hqtest tests[] = {
	{ "unlink_eight", test_unlink_eight },
	{ "unlink_one", test_unlink_one },
	{ "move_eight", test_move_eight },
	{ "should_wake", test_should_wake },
};

HQTEST_MAIN(tests)

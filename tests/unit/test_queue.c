/* SPDX-License-Identifier: MIT */
/*
 * test_queue.c: common/queue.c on real directories in the test's temp dir.
 * Tree creation, entry names and their order, two forked processes racing
 * to claim one file by rename, requeue, and the failed/ note (checked by a
 * small strict JSON reader below). Errors are provoked without chmod, since
 * tests may run as root: a missing file, a failed/ that was removed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/hq.h"
#include "common/fd.h"
#include "common/queue.h"
#include "tests/unit/hqtest.h"

static bool
test_queue_isdir(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool
test_queue_exists_at(int dirfd, const char *name)
{
	struct stat	st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
test_queue_touch_at(int dirfd, const char *name)
{
	int	fd;

	if ((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0644)) == -1)
		return -1;
	if (write(fd, "{}", 2) != 2) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Files (not directories) in dirfd, dot files included; -1 on error. */
static int
test_queue_count_files(int dirfd)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	int		 n = 0;

	if ((d = fd_opendir(dirfd)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(st.st_mode))
			n++;
	}
	closedir(d);
	return n;
}

static void
test_open_creates_tree(void)
{
	static const char *const subs[] = { HQ_DIR_TMP, HQ_DIR_PENDING,
	    HQ_DIR_PROCESSING, HQ_DIR_COMPLETED, HQ_DIR_FAILED };
	struct queue	 q;
	char		 err[512], path[PATH_MAX + 64], cwd[PATH_MAX];
	struct stat	 st;
	mode_t		 um;
	size_t		 i;

	REQUIRE(getcwd(cwd, sizeof(cwd)) != NULL);
	um = umask(0);
	umask(um);

	/* Missing and create=false: refused, naming the root, nothing open. */
	err[0] = '\0';
	CHECK_EQ_INT(queue_open(&q, "a/b/root", false, 0750, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "a/b/root") != NULL);
	CHECK_EQ_INT(q.rootfd, -1);
	CHECK_EQ_INT(q.pendingfd, -1);
	CHECK_EQ_INT(q.failedfd, -1);
	CHECK(q.root == NULL);
	CHECK(!test_queue_isdir("a"));

	/* create=true makes every parent and every subfolder. */
	REQUIRE(queue_open(&q, "a/b/root", true, 0750, err,
	    sizeof(err)) == 0);
	snprintf(path, sizeof(path), "%s/a/b/root", cwd);
	CHECK_EQ_STR(q.root, path);
	for (i = 0; i < nitems(subs); i++) {
		snprintf(path, sizeof(path), "a/b/root/%s", subs[i]);
		CHECK(test_queue_isdir(path));
		if (stat(path, &st) == 0)
			CHECK_EQ_INT(st.st_mode & 07777, 0750 & ~um);
	}
	CHECK(q.rootfd >= 0 && q.tmpfd >= 0 && q.pendingfd >= 0 &&
	    q.processingfd >= 0 && q.completedfd >= 0 && q.failedfd >= 0);
	/* The fds are the directories they are named for. */
	CHECK_EQ_INT(test_queue_touch_at(q.pendingfd, "5_a.json"), 0);
	CHECK(access("a/b/root/pending/5_a.json", F_OK) == 0);
	CHECK(fcntl(q.failedfd, F_GETFD) & FD_CLOEXEC);
	queue_close(&q);
	CHECK_EQ_INT(q.rootfd, -1);
	CHECK_EQ_INT(q.failedfd, -1);
	CHECK(q.root == NULL);
	queue_close(&q);	/* twice is harmless */

	/* An existing tree opens without create. */
	REQUIRE(queue_open(&q, "a/b/root", false, 0750, err,
	    sizeof(err)) == 0);
	queue_close(&q);

	/* A subfolder missing and create=false: refused, naming it. */
	REQUIRE(rmdir("a/b/root/failed") == 0);
	err[0] = '\0';
	CHECK_EQ_INT(queue_open(&q, "a/b/root", false, 0750, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "failed") != NULL);
	CHECK_EQ_INT(q.rootfd, -1);
	CHECK_EQ_INT(q.pendingfd, -1);
	CHECK(q.root == NULL);
	/* ...and create=true puts it back, leaving the entry alone. */
	REQUIRE(queue_open(&q, "a/b/root", true, 0750, err,
	    sizeof(err)) == 0);
	CHECK(test_queue_isdir("a/b/root/failed"));
	CHECK(test_queue_exists_at(q.pendingfd, "5_a.json"));
	queue_close(&q);

	/* A regular file where a subfolder belongs is refused. */
	REQUIRE(rmdir("a/b/root/completed") == 0);
	REQUIRE(test_queue_touch_at(AT_FDCWD, "a/b/root/completed") == 0);
	err[0] = '\0';
	CHECK_EQ_INT(queue_open(&q, "a/b/root", true, 0750, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "completed") != NULL);
	CHECK_EQ_INT(q.rootfd, -1);
}

static const struct test_queue_name {
	const char	*name;
	bool		 ok;
	int		 priority;
	const char	*seq;
	enum entry_format format;
	unsigned long	 copy;
} test_queue_names[] = {
	/* A dead letter's copy number: not part of SEQ (nor of the id). */
	{ "5_a~2.json", true, 5, "a", ENTRY_JSON, 2 },
	{ "10_x-1~17.msgpack", true, 10, "x-1", ENTRY_MSGPACK, 17 },
	{ "5_a~1.json", true, 5, "a", ENTRY_JSON, 1 },
	{ "5_a~999999999.json", true, 5, "a", ENTRY_JSON, 999999999 },
	{ "5_a~1000000000.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a~0.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a~02.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a~.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a~x.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a~2~3.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a~2_b.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_~2.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a~2", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a~2.txt", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a.json~2", false, 0, NULL, ENTRY_JSON, 0 },
	{ "1_a.json", true, 1, "a", ENTRY_JSON, 0 },
	{ "10_x.msgpack", true, 10, "x", ENTRY_MSGPACK, 0 },
	{ "9_1700000000123456789_42.json", true, 9,
	  "1700000000123456789_42", ENTRY_JSON, 0 },
	{ "5_Az-_09.msgpack", true, 5, "Az-_09", ENTRY_MSGPACK, 0 },
	{ "5__.json", true, 5, "_", ENTRY_JSON, 0 },
	{ "5_-.json", true, 5, "-", ENTRY_JSON, 0 },
	{ "0_a.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "11_a.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "01_a.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "100_a.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a.txt", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a.json.tmp", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a.msgpack.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a..json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a b.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a/b.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a.JSON", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a.Msgpack", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a.json ", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a.json\n", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a.", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5-a.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5a.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ " 5_a.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "+5_a.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ ".5_a.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "a_5.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_\xc3\xa9.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "5_a\x01.json", false, 0, NULL, ENTRY_JSON, 0 },
	{ "1", false, 0, NULL, ENTRY_JSON, 0 },
	{ "10", false, 0, NULL, ENTRY_JSON, 0 },
	{ "1_", false, 0, NULL, ENTRY_JSON, 0 },
	{ "", false, 0, NULL, ENTRY_JSON, 0 },
	{ ".json", false, 0, NULL, ENTRY_JSON, 0 },
};

static void
test_name_parse(void)
{
	struct queue_name	 qn;
	char			 name[HQ_NAME_MAX + HQ_COPY_MAX + 8];
	size_t			 i;

	for (i = 0; i < nitems(test_queue_names); i++) {
		const struct test_queue_name *t = &test_queue_names[i];
		bool ok;

		memset(&qn, 0, sizeof(qn));
		ok = queue_name_parse(t->name, &qn);
		if (ok != t->ok) {
			fprintf(stderr, "queue_name_parse(\"%s\") = %d\n",
			    t->name, ok);
			hqtest_failures++;
			continue;
		}
		/* NULL qn gives the same verdict. */
		CHECK(queue_name_parse(t->name, NULL) == t->ok);
		if (!ok)
			continue;
		CHECK_EQ_INT(qn.priority, t->priority);
		CHECK_EQ_INT(qn.format, t->format);
		CHECK_EQ_INT(qn.seq_len, strlen(t->seq));
		CHECK(qn.seq == t->name + (t->priority == 10 ? 3 : 2));
		CHECK(strncmp(qn.seq, t->seq, qn.seq_len) == 0);
		CHECK_EQ_INT(qn.copy, t->copy);
	}

	/* Exactly HQ_NAME_MAX bytes is a name; one more is not. */
	memset(name, 'a', sizeof(name));
	memcpy(name, "5_", 2);
	memcpy(name + HQ_NAME_MAX - 5, ".json", 6);
	CHECK_EQ_INT(strlen(name), HQ_NAME_MAX);
	CHECK(queue_name_parse(name, &qn));
	CHECK_EQ_INT(qn.seq_len, HQ_NAME_MAX - 7);
	memset(name, 'a', sizeof(name));
	memcpy(name, "5_", 2);
	memcpy(name + HQ_NAME_MAX - 4, ".json", 6);
	CHECK_EQ_INT(strlen(name), HQ_NAME_MAX + 1);
	CHECK(!queue_name_parse(name, &qn));
	/* A copy number does not count against the limit. */
	memset(name, 'a', sizeof(name));
	memcpy(name, "5_", 2);
	memcpy(name + HQ_NAME_MAX - 5, "~999999999.json", 16);
	CHECK_EQ_INT(strlen(name), HQ_NAME_MAX + HQ_COPY_MAX);
	CHECK(queue_name_parse(name, &qn));
	CHECK_EQ_INT(qn.seq_len, HQ_NAME_MAX - 7);
	CHECK_EQ_INT(qn.copy, 999999999);
	memset(name, 'a', sizeof(name));
	memcpy(name, "5_", 2);
	memcpy(name + HQ_NAME_MAX - 4, "~2.json", 8);
	CHECK(!queue_name_parse(name, &qn));

	CHECK(queue_name_hidden(".5_a.json"));
	CHECK(queue_name_hidden(".tmp"));
	CHECK(!queue_name_hidden("5_a.json"));
}

static int
test_queue_sign(int v)
{
	return (v > 0) - (v < 0);
}

static void
test_name_cmp_order(void)
{
	/* Each row: a strictly before b. */
	static const char *const before[][2] = {
		{ "2_a.json", "10_a.json" },
		{ "1_zzz.json", "2_a.json" },
		{ "9_1.json", "10_0.json" },
		{ "1_999.json", "2_1.json" },
		{ "5_9.json", "5_10.json" },
		{ "5_x_9.json", "5_x_10.json" },
		{ "5_1700000000000000000_9.json",
		  "5_1700000000000000000_10.json" },
		{ "5_1700000000000000000_99.json",
		  "5_1700000000000000001_0.json" },
		{ "5_99.json", "5_100.json" },
		{ "5_a9.json", "5_a10.json" },
		{ "5_ab.json", "5_abc.json" },
		{ "5_a.json", "5_b.json" },
		{ "5_007.json", "5_8.json" },
		{ "5_9.json", "5_010.json" },
		{ "5_007.json", "5_7.json" },	/* same number: by name */
		{ "5_0.json", "5_00.json" },
		{ "5_a.json", "5_a.msgpack" },
		{ "5_99999999999999999999999.json",
		  "5_100000000000000000000000.json" },
		{ "5_1_2.json", "5_1_10.json" },
		{ "5_2_1.json", "5_10_1.json" },
	};
	size_t	i;

	for (i = 0; i < nitems(before); i++) {
		int ab = queue_name_cmp(before[i][0], before[i][1]);
		int ba = queue_name_cmp(before[i][1], before[i][0]);

		if (ab >= 0 || ba <= 0) {
			fprintf(stderr, "cmp(%s, %s) = %d, reverse %d\n",
			    before[i][0], before[i][1], ab, ba);
			hqtest_failures++;
		}
		CHECK_EQ_INT(queue_name_cmp(before[i][0], before[i][0]), 0);
	}
}

static char		**test_queue_set;
static size_t		  test_queue_nset;

static int
test_queue_qsort_cmp(const void *a, const void *b)
{
	return queue_name_cmp(*(char *const *)a, *(char *const *)b);
}

/* Every name of SEQ length 1..3 over a small alphabet that mixes digits,
 * zeros, letters and separators, in three priorities and both formats. */
static void
test_queue_make_set(void)
{
	static const char alpha[] = "019a_-";
	static const char *const pre[] = { "1_", "2_", "10_" };
	static const char *const ext[] = { ".json", ".msgpack" };
	char	seq[4];
	size_t	a = sizeof(alpha) - 1, total, len, k, x, p, e, n = 0;

	total = (a + a * a + a * a * a) * nitems(pre) * nitems(ext);
	test_queue_set = calloc(total, sizeof(*test_queue_set));
	for (len = 1; len <= 3; len++) {
		size_t combos = len == 1 ? a : len == 2 ? a * a : a * a * a;

		for (k = 0; k < combos; k++) {
			for (x = 0, e = k; x < len; x++, e /= a)
				seq[x] = alpha[e % a];
			seq[len] = '\0';
			for (p = 0; p < nitems(pre); p++)
				for (e = 0; e < nitems(ext); e++) {
					char *s = malloc(32);

					snprintf(s, 32, "%s%s%s", pre[p], seq,
					    ext[e]);
					test_queue_set[n++] = s;
				}
		}
	}
	test_queue_nset = n;
}

static void
test_queue_free_set(void)
{
	size_t	i;

	for (i = 0; i < test_queue_nset; i++)
		free(test_queue_set[i]);
	free(test_queue_set);
	test_queue_set = NULL;
	test_queue_nset = 0;
}

static void
test_name_cmp_total(void)
{
	size_t	i, j, bad = 0;

	test_queue_make_set();
	REQUIRE(test_queue_nset > 1000);
	for (i = 0; i < test_queue_nset; i++)
		REQUIRE(queue_name_parse(test_queue_set[i], NULL));
	/* Antisymmetric, and 0 only for the same name. */
	for (i = 0; i < test_queue_nset && bad < 5; i++)
		for (j = 0; j < test_queue_nset && bad < 5; j++) {
			int ab = queue_name_cmp(test_queue_set[i],
			    test_queue_set[j]);
			int ba = queue_name_cmp(test_queue_set[j],
			    test_queue_set[i]);

			if (test_queue_sign(ab) != -test_queue_sign(ba) ||
			    (ab == 0) != (i == j)) {
				fprintf(stderr, "cmp(%s, %s) = %d, reverse "
				    "%d\n", test_queue_set[i],
				    test_queue_set[j], ab, ba);
				bad++;
			}
		}
	/* Transitive: once sorted, every pair is in order. */
	qsort(test_queue_set, test_queue_nset, sizeof(*test_queue_set),
	    test_queue_qsort_cmp);
	for (i = 0; i < test_queue_nset && bad < 10; i++)
		for (j = i + 1; j < test_queue_nset && bad < 10; j++)
			if (queue_name_cmp(test_queue_set[i],
			    test_queue_set[j]) >= 0) {
				fprintf(stderr, "sorted order broken: %s "
				    "then %s\n", test_queue_set[i],
				    test_queue_set[j]);
				bad++;
			}
	CHECK_EQ_INT(bad, 0);
	test_queue_free_set();
}

/*
 * A claimer for the race: for each round number read from gofd, try to
 * rename that round's file from pending/ into its own folder, and report
 * 0 (won), 1 (ENOENT: lost) or 2 (other error) on resfd. Ends on EOF.
 */
static int
test_queue_claimer(struct queue *q, int gofd, int resfd, int wfd)
{
	char		name[64], r;
	int		round;

	while (read(gofd, &round, sizeof(round)) == (ssize_t)sizeof(round)) {
		snprintf(name, sizeof(name), "5_%d.json", round);
		if (renameat(q->pendingfd, name, wfd, name) == 0)
			r = 0;
		else
			r = errno == ENOENT ? 1 : 2;
		if (write(resfd, &r, 1) != 1)
			return 3;
	}
	return 0;
}

#define RACE_ROUNDS	200

/*
 * Two forked processes race to claim each of RACE_ROUNDS files by rename
 * into their own processing/w<slot>: exactly one wins every round. Each
 * blocks on its own pipe; the round number is written to both back to
 * back, so they wake together (and a fast one cannot take both tokens).
 */
static void
test_claim_race(void)
{
	struct queue	q;
	char		err[256], name[64], r[2];
	pid_t		pid[2];
	int		wfd[2], go[2][2], res[2][2], status, round, k, wins = 0;
	int		bad = 0;

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);
	CHECK_EQ_INT(queue_worker_dir(&q, 0, false), -1);
	CHECK_EQ_INT(errno, ENOENT);
	for (k = 0; k < 2; k++)
		REQUIRE((wfd[k] = queue_worker_dir(&q, k, true)) >= 0);
	REQUIRE(test_queue_isdir("q/processing/w0"));
	REQUIRE(test_queue_isdir("q/processing/w1"));
	for (k = 0; k < 2; k++) {
		REQUIRE(pipe(go[k]) == 0 && pipe(res[k]) == 0);
		REQUIRE((pid[k] = fork()) != -1);
		if (pid[k] == 0) {
			close(go[k][1]);
			close(res[k][0]);
			if (k == 1)
				close(go[0][1]);
			_exit(test_queue_claimer(&q, go[k][0], res[k][1],
			    wfd[k]));
		}
		close(go[k][0]);
		close(res[k][1]);
	}
	for (round = 0; round < RACE_ROUNDS && bad < 5; round++) {
		snprintf(name, sizeof(name), "5_%d.json", round);
		REQUIRE(test_queue_touch_at(q.pendingfd, name) == 0);
		for (k = 0; k < 2; k++)
			REQUIRE(write(go[k][1], &round, sizeof(round)) ==
			    (ssize_t)sizeof(round));
		for (k = 0; k < 2; k++)
			REQUIRE(read(res[k][0], &r[k], 1) == 1);
		/* Exactly one won; the loser saw ENOENT. */
		if (!((r[0] == 0 && r[1] == 1) || (r[0] == 1 && r[1] == 0))) {
			fprintf(stderr, "round %d: results %d and %d\n",
			    round, r[0], r[1]);
			bad++;
		}
		if (r[0] == 0)
			wins++;
		/* The file is in the winner's folder only. */
		CHECK(!test_queue_exists_at(q.pendingfd, name));
		CHECK(test_queue_exists_at(wfd[0], name) !=
		    test_queue_exists_at(wfd[1], name));
		CHECK(test_queue_exists_at(wfd[r[0] == 0 ? 0 : 1], name));
	}
	for (k = 0; k < 2; k++)
		close(go[k][1]);
	for (k = 0; k < 2; k++) {
		REQUIRE(waitpid(pid[k], &status, 0) == pid[k]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(res[k][0]);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(round, RACE_ROUNDS);
	CHECK_EQ_INT(test_queue_count_files(wfd[0]) +
	    test_queue_count_files(wfd[1]), RACE_ROUNDS);
	CHECK_EQ_INT(test_queue_count_files(q.pendingfd), 0);
	fprintf(stderr, "claim race: worker 0 won %d of %d\n", wins,
	    RACE_ROUNDS);
	close(wfd[0]);
	close(wfd[1]);
	queue_close(&q);
}

static void
test_requeue(void)
{
	struct queue	q;
	char		err[256];
	int		w0, w1, w7, n;

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);
	REQUIRE((w0 = queue_worker_dir(&q, 0, true)) >= 0);
	REQUIRE((w1 = queue_worker_dir(&q, 1, true)) >= 0);
	REQUIRE((w7 = queue_worker_dir(&q, 7, true)) >= 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "1_top.json") == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, ".5_hidden.json") == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "wfile") == 0);
	REQUIRE(test_queue_touch_at(w0, "5_a.json") == 0);
	REQUIRE(test_queue_touch_at(w0, "5_b.msgpack") == 0);
	REQUIRE(test_queue_touch_at(w1, "5_c.json") == 0);
	REQUIRE(test_queue_touch_at(q.pendingfd, "5_old.json") == 0);
	/* Directories stay where they are, inside w* and beside them. */
	REQUIRE(mkdirat(w1, "sub", 0750) == 0);
	REQUIRE(test_queue_touch_at(AT_FDCWD, "q/processing/w1/sub/5_s.json")
	    == 0);
	REQUIRE(mkdirat(q.processingfd, "other", 0750) == 0);
	REQUIRE(test_queue_touch_at(AT_FDCWD, "q/processing/other/5_o.json")
	    == 0);

	/* One slot first. */
	CHECK_EQ_INT(queue_requeue_slot(&q, 1), 1);
	CHECK(test_queue_exists_at(q.pendingfd, "5_c.json"));
	CHECK_EQ_INT(queue_requeue_slot(&q, 1), 0);
	CHECK_EQ_INT(queue_requeue_slot(&q, 33), 0);	/* no such folder */
	CHECK(test_queue_isdir("q/processing/w1/sub"));

	n = (int)queue_requeue_all(&q);
	CHECK_EQ_INT(n, 5);
	CHECK(test_queue_exists_at(q.pendingfd, "1_top.json"));
	CHECK(test_queue_exists_at(q.pendingfd, ".5_hidden.json"));
	CHECK(test_queue_exists_at(q.pendingfd, "wfile"));
	CHECK(test_queue_exists_at(q.pendingfd, "5_a.json"));
	CHECK(test_queue_exists_at(q.pendingfd, "5_b.msgpack"));
	CHECK(test_queue_exists_at(q.pendingfd, "5_old.json"));
	CHECK_EQ_INT(test_queue_count_files(q.pendingfd), 7);
	CHECK_EQ_INT(test_queue_count_files(q.processingfd), 0);
	CHECK_EQ_INT(test_queue_count_files(w0), 0);
	CHECK_EQ_INT(test_queue_count_files(w7), 0);
	CHECK(test_queue_isdir("q/processing/w0"));
	CHECK(test_queue_isdir("q/processing/w1/sub"));
	CHECK(access("q/processing/w1/sub/5_s.json", F_OK) == 0);
	CHECK(access("q/processing/other/5_o.json", F_OK) == 0);
	CHECK(!test_queue_exists_at(q.pendingfd, "sub"));
	CHECK(!test_queue_exists_at(q.pendingfd, "other"));
	/* Nothing left to move. */
	CHECK_EQ_INT(queue_requeue_all(&q), 0);
	close(w0);
	close(w1);
	close(w7);
	queue_close(&q);
}

/* A strict reader for the one-line note: an object of string keys whose
 * values are JSON strings (decoded) or integers. */
struct test_json {
	const char	*p;
	char		 keys[8][32];
	char		 strs[8][16384];
	long long	 nums[8];
	bool		 isnum[8];
	int		 n;
};

static void
test_json_ws(struct test_json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' ||
	    *j->p == '\n')
		j->p++;
}

static int
test_json_hex(const char *p)
{
	int	v = 0, i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Length of the UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates), 0 if there is none. */
static size_t
test_json_utf8(const unsigned char *p)
{
	size_t	n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/* A string literal into out: valid UTF-8 only; \u escapes of the BMP
 * outside the surrogates, NUL excluded. */
static bool
test_json_str(struct test_json *j, char *out, size_t outlen)
{
	size_t	o = 0, n;
	int	v;

	if (*j->p++ != '"')
		return false;
	for (;;) {
		unsigned char c = (unsigned char)*j->p++;

		if (o + 5 >= outlen || c == '\0' || c < 0x20)
			return false;
		if (c == '"')
			break;
		if (c >= 0x80) {
			if ((n = test_json_utf8((const unsigned char *)j->p -
			    1)) == 0)
				return false;
			memcpy(out + o, j->p - 1, n);
			o += n;
			j->p += n - 1;
			continue;
		}
		if (c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		switch (*j->p++) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			if ((v = test_json_hex(j->p)) < 0 || v == 0 ||
			    (v >= 0xd800 && v <= 0xdfff))
				return false;
			j->p += 4;
			if (v < 0x80)
				out[o++] = (char)v;
			else if (v < 0x800) {
				out[o++] = (char)(0xc0 | v >> 6);
				out[o++] = (char)(0x80 | (v & 0x3f));
			} else {
				out[o++] = (char)(0xe0 | v >> 12);
				out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (v & 0x3f));
			}
			break;
		default:
			return false;
		}
	}
	out[o] = '\0';
	return true;
}

static bool
test_json_parse(struct test_json *j, const char *text)
{
	char	*end;

	memset(j, 0, sizeof(*j));
	j->p = text;
	test_json_ws(j);
	if (*j->p++ != '{')
		return false;
	test_json_ws(j);
	if (*j->p == '}')
		return false;
	for (;;) {
		if (j->n == 8)
			return false;
		test_json_ws(j);
		if (!test_json_str(j, j->keys[j->n], sizeof(j->keys[0])))
			return false;
		test_json_ws(j);
		if (*j->p++ != ':')
			return false;
		test_json_ws(j);
		if (*j->p == '"') {
			if (!test_json_str(j, j->strs[j->n],
			    sizeof(j->strs[0])))
				return false;
		} else {
			if (*j->p != '-' && (*j->p < '0' || *j->p > '9'))
				return false;
			j->nums[j->n] = strtoll(j->p, &end, 10);
			if (end == j->p)
				return false;
			j->p = end;
			j->isnum[j->n] = true;
		}
		j->n++;
		test_json_ws(j);
		if (*j->p == '}')
			break;
		if (*j->p++ != ',')
			return false;
	}
	j->p++;
	return true;
}

static int
test_json_find(const struct test_json *j, const char *key)
{
	int	i;

	for (i = 0; i < j->n; i++)
		if (strcmp(j->keys[i], key) == 0)
			return i;
	return -1;
}

/* Read failed/<name>.err, insist on one line of valid JSON, parse it. */
static bool
test_queue_read_note(struct queue *q, const char *name, struct test_json *j)
{
	static char	 buf[65536];
	char		 errname[NAME_MAX + 1];
	ssize_t		 n, r;
	int		 fd;

	snprintf(errname, sizeof(errname), "%s.err", name);
	if ((fd = openat(q->failedfd, errname, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	for (n = 0; n < (ssize_t)sizeof(buf) - 1; n += r)
		if ((r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) <= 0)
			break;
	close(fd);
	if (n <= 0 || n == (ssize_t)sizeof(buf) - 1)
		return false;
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n) != NULL)
		return false;
	if (buf[n - 1] != '\n' || strchr(buf, '\n') != buf + n - 1) {
		fprintf(stderr, "note is not one line: %.160s...\n", buf);
		return false;
	}
	if (!test_json_parse(j, buf)) {
		fprintf(stderr, "note is not valid JSON: %.160s...\n", buf);
		return false;
	}
	test_json_ws(j);
	if (*j->p != '\0') {
		fprintf(stderr, "note has bytes after the object: %s\n", buf);
		return false;
	}
	return true;
}

static void
test_fail_note(void)
{
	static const char reason[] = "sql: near \"SELEC\": syntax error\n"
	    "\tat line 2 \\ back\\slash \x01\x1f ctl \"q\" d\xc3\xa9j\xc3\xa0 "
	    "\xe2\x9c\x93 \xf0\x9f\x98\x80 done";
	static struct test_json	j;
	struct queue		q;
	char			err[256];
	int			w2, k;

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);
	REQUIRE((w2 = queue_worker_dir(&q, 2, true)) >= 0);
	REQUIRE(test_queue_touch_at(w2, "5_bad.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, w2, "5_bad.json", reason, 3, 2), 0);
	CHECK(!test_queue_exists_at(w2, "5_bad.json"));
	CHECK(test_queue_exists_at(q.failedfd, "5_bad.json"));
	/* Only the entry and its note: no temp file left behind. */
	CHECK_EQ_INT(test_queue_count_files(q.failedfd), 2);
	REQUIRE(test_queue_read_note(&q, "5_bad.json", &j));
	REQUIRE((k = test_json_find(&j, "entry")) >= 0);
	CHECK_EQ_STR(j.strs[k], "5_bad.json");
	REQUIRE((k = test_json_find(&j, "error")) >= 0);
	CHECK_EQ_STR(j.strs[k], reason);
	REQUIRE((k = test_json_find(&j, "attempts")) >= 0);
	CHECK(j.isnum[k] && j.nums[k] == 3);
	REQUIRE((k = test_json_find(&j, "worker")) >= 0);
	CHECK(j.isnum[k] && j.nums[k] == 2);
	REQUIRE((k = test_json_find(&j, "failed_at")) >= 0);
	CHECK_EQ_INT(strlen(j.strs[k]), 20);
	CHECK(j.strs[k][4] == '-' && j.strs[k][10] == 'T' &&
	    j.strs[k][19] == 'Z');

	/* From pending/ as the supervisor does, slot -1, empty reason. */
	REQUIRE(test_queue_touch_at(q.pendingfd, "1_p.msgpack") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.pendingfd, "1_p.msgpack", "", 0, -1),
	    0);
	CHECK(test_queue_exists_at(q.failedfd, "1_p.msgpack"));
	REQUIRE(test_queue_read_note(&q, "1_p.msgpack", &j));
	REQUIRE((k = test_json_find(&j, "error")) >= 0);
	CHECK_EQ_STR(j.strs[k], "");
	REQUIRE((k = test_json_find(&j, "worker")) >= 0);
	CHECK(j.isnum[k] && j.nums[k] == -1);

	/* Bytes that are not UTF-8 (from a file's contents, say) must still
	 * give valid JSON, which is UTF-8. */
	REQUIRE(test_queue_touch_at(q.pendingfd, "1_u.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.pendingfd, "1_u.json", "bad \xff\xfe "
	    "\xc3( \xed\xa0\x80 \xc0\xaf end", 1, 0), 0);
	CHECK(test_queue_read_note(&q, "1_u.json", &j));
	close(w2);
	queue_close(&q);
}

static void
test_fail_long_reason(void)
{
	static struct test_json	j;
	struct queue		q;
	char			err[256], *reason;
	size_t			i, n;
	int			k;

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);
	reason = malloc(5001);
	for (i = 0; i < 5000; i++)
		reason[i] = "ab\"\n\\c\x02"[i % 7];
	reason[5000] = '\0';
	REQUIRE(test_queue_touch_at(q.processingfd, "5_long.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_long.json", reason,
	    1000000, 63), 0);
	/* One valid line; the reason whole, or cut (perhaps marked with
	 * "...") but a prefix of it. */
	if (test_queue_read_note(&q, "5_long.json", &j)) {
		REQUIRE((k = test_json_find(&j, "error")) >= 0);
		n = strlen(j.strs[k]);
		if (n >= 3 && n - 3 < strlen(reason) &&
		    strcmp(j.strs[k] + n - 3, "...") == 0)
			n -= 3;
		CHECK(n > 100);
		CHECK(strncmp(j.strs[k], reason, n) == 0);
		REQUIRE((k = test_json_find(&j, "attempts")) >= 0);
		CHECK(j.nums[k] == 1000000);
	} else {
		hqtest_failures++;
	}
	free(reason);
	queue_close(&q);
}

/*
 * queue_fail takes any name in fromfd (the header does not restrict it to
 * valid entry names). A long name of control bytes (230 bytes: longer ones
 * fail on the temp file's name) and a long reason must still give a note
 * that is one line of valid JSON.
 */
static void
test_fail_hostile_name(void)
{
	static struct test_json	j;
	struct queue		q;
	char			err[256], name[231], reason[1001];

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);
	memset(name, '\x01', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(reason, '"', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	REQUIRE(test_queue_touch_at(q.processingfd, name) == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, name, reason, 1, 0), 0);
	CHECK(test_queue_exists_at(q.failedfd, name));
	CHECK(test_queue_read_note(&q, name, &j));
	queue_close(&q);
}

static void
test_fail_errors(void)
{
	struct queue	q;
	char		err[256];

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);

	/* No such entry: -1, ENOENT, nothing in failed/: a note there
	 * without its entry would be listed as a dead letter that is not. */
	errno = 0;
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_gone.json", "x", 1,
	    0), -1);
	CHECK_EQ_INT(errno, ENOENT);
	CHECK(!test_queue_exists_at(q.failedfd, "5_gone.json"));
	CHECK(!test_queue_exists_at(q.failedfd, "5_gone.json.err"));
	unlinkat(q.failedfd, "5_gone.json.err", 0);

	/* A note name too long for the file system: refused up front. */
	{
		char	name[254];

		memset(name, 'a', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		REQUIRE(test_queue_touch_at(q.processingfd, name) == 0);
		errno = 0;
		CHECK_EQ_INT(queue_fail(&q, q.processingfd, name, "x", 1, 0),
		    -1);
		CHECK_EQ_INT(errno, ENAMETOOLONG);
		CHECK(test_queue_exists_at(q.processingfd, name));
		CHECK_EQ_INT(test_queue_count_files(q.failedfd), 0);
	}

	/* failed/ removed and a regular file put in its place: the note
	 * cannot be written, the entry stays where it was. */
	REQUIRE(test_queue_touch_at(q.processingfd, "5_stay.json") == 0);
	REQUIRE(rmdir("q/failed") == 0);
	REQUIRE(test_queue_touch_at(AT_FDCWD, "q/failed") == 0);
	errno = 0;
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_stay.json", "x", 1,
	    0), -1);
	CHECK(errno != 0);
	CHECK(test_queue_exists_at(q.processingfd, "5_stay.json"));
	queue_close(&q);

	/* failed/ renamed away: the queue follows its descriptor, never the
	 * new thing at the old path. */
	REQUIRE(queue_open(&q, "r", true, 0750, err, sizeof(err)) == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "5_f.json") == 0);
	REQUIRE(rename("r/failed", "r/failed.old") == 0);
	REQUIRE(test_queue_touch_at(AT_FDCWD, "r/failed") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_f.json", "x", 1, 0),
	    0);
	CHECK(access("r/failed.old/5_f.json", F_OK) == 0);
	CHECK(access("r/failed.old/5_f.json.err", F_OK) == 0);
	queue_close(&q);
}

static void
test_copy_name(void)
{
	struct queue_name	qn;
	char			out[NAME_MAX + 1], prev[NAME_MAX + 1];
	unsigned		try;

	CHECK_EQ_INT(queue_copy_name("5_a.json", 0, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "5_a.json");
	CHECK_EQ_INT(queue_copy_name("5_a.json", 1, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "5_a~2.json");
	CHECK_EQ_INT(queue_copy_name("5_a.json", 2, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "5_a~3.json");
	/* A copy's copies are its original's. */
	CHECK_EQ_INT(queue_copy_name("10_b~7.msgpack", 0, out, sizeof(out)),
	    0);
	CHECK_EQ_STR(out, "10_b~7.msgpack");
	CHECK_EQ_INT(queue_copy_name("10_b~7.msgpack", 5, out, sizeof(out)),
	    0);
	CHECK_EQ_STR(out, "10_b~6.msgpack");
	/* Not an entry name: the number goes at the end. */
	CHECK_EQ_INT(queue_copy_name("odd.name", 1, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "odd.name~2");
	CHECK_EQ_INT(queue_copy_name("5_a.json", 1, out, 8), -1);
	CHECK_EQ_INT(errno, ENAMETOOLONG);
	/* Every try is an entry name with the original's SEQ, and past the
	 * counted ones they are random and differ. */
	prev[0] = '\0';
	for (try = 1; try < QUEUE_COPY_TRIES; try++) {
		REQUIRE(queue_copy_name("3_x_1.json", try, out,
		    sizeof(out)) == 0);
		REQUIRE(queue_name_parse(out, &qn));
		CHECK(qn.seq_len == 3 && strncmp(qn.seq, "x_1", 3) == 0);
		CHECK(qn.priority == 3 && qn.copy >= 2);
		CHECK(strcmp(out, prev) != 0);
		snprintf(prev, sizeof(prev), "%s", out);
	}
}

/* The string key of failed/<name>.err, or "" when unreadable. */
static const char *
test_queue_note_str(struct queue *q, const char *name, const char *key)
{
	static struct test_json	j;
	int			k;

	if (!test_queue_read_note(q, name, &j) ||
	    (k = test_json_find(&j, key)) < 0)
		return "";
	return j.strs[k];
}

/* Entries of one name failing one after the other: none replaces
 * another, each keeps its own note, and a directory (or anything) under
 * the name or its note's name is passed over, not moved nor replaced. */
static void
test_fail_collisions(void)
{
	struct queue	q;
	char		err[256];
	struct stat	st;

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "5_x.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_x.json", "first", 1,
	    0), 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "5_x.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_x.json", "second", 1,
	    1), 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "5_x.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_x.json", "third", 1,
	    1), 0);
	CHECK_EQ_STR(test_queue_note_str(&q, "5_x.json", "error"), "first");
	CHECK_EQ_STR(test_queue_note_str(&q, "5_x~2.json", "error"), "second");
	CHECK_EQ_STR(test_queue_note_str(&q, "5_x~2.json", "entry"), "5_x~2.json");
	CHECK_EQ_STR(test_queue_note_str(&q, "5_x~3.json", "error"), "third");
	CHECK_EQ_INT(test_queue_count_files(q.failedfd), 6);

	/* A directory squats the name: passed over, left alone. */
	REQUIRE(mkdirat(q.failedfd, "5_d.json", 0750) == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "5_d.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_d.json", "dir", 1, 0),
	    0);
	CHECK(fstatat(q.failedfd, "5_d.json", &st, 0) == 0 &&
	    S_ISDIR(st.st_mode));
	CHECK(!test_queue_exists_at(q.failedfd, "5_d.json.err"));
	CHECK_EQ_STR(test_queue_note_str(&q, "5_d~2.json", "error"), "dir");
	CHECK(!test_queue_exists_at(q.processingfd, "5_d.json"));

	/* ...or its note's name (a directory): passed over. A note alone,
	 * without its entry, is what a crash between the two renames
	 * leaves (the entry went back to pending/ and fails again now):
	 * it is replaced, not kept beside a copy (e2e 400, fail_mid). */
	REQUIRE(mkdirat(q.failedfd, "5_e.json.err", 0750) == 0);
	REQUIRE(test_queue_touch_at(q.failedfd, "5_e~2.json.err") == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "5_e.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_e.json", "note", 1,
	    0), 0);
	CHECK_EQ_STR(test_queue_note_str(&q, "5_e~2.json", "error"), "note");
	CHECK(!test_queue_exists_at(q.failedfd, "5_e.json"));
	CHECK(!test_queue_exists_at(q.failedfd, "5_e~3.json"));

	/* A copy that fails again goes back to its own name when free. */
	REQUIRE(unlinkat(q.failedfd, "5_x~2.json", 0) == 0);
	REQUIRE(unlinkat(q.failedfd, "5_x~2.json.err", 0) == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "5_x~2.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_x~2.json", "again", 2,
	    0), 0);
	CHECK_EQ_STR(test_queue_note_str(&q, "5_x~2.json", "error"), "again");
	queue_close(&q);
}

static mode_t
test_queue_mode_at(int dirfd, const char *name)
{
	struct stat	st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ?
	    st.st_mode & 07777 : (mode_t)-1;
}

/* A note is no more readable than its entry, nor than q->note_mode. */
static void
test_fail_note_mode(void)
{
	static const struct { mode_t entry; int cap; mode_t note; } cases[] = {
		{ 0600, QUEUE_NOTE_MODE, 0600 },
		{ 0644, QUEUE_NOTE_MODE, 0640 },
		{ 0604, QUEUE_NOTE_MODE, 0600 },
		{ 0400, QUEUE_NOTE_MODE, 0400 },
		{ 0640, 0600, 0600 },
		{ 0666, 0604, 0604 },
	};
	struct queue	q;
	char		err[256], name[32];
	mode_t		um = umask(0);
	size_t		i;

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);
	for (i = 0; i < nitems(cases); i++) {
		snprintf(name, sizeof(name), "5_m%zu.json", i);
		REQUIRE(test_queue_touch_at(q.processingfd, name) == 0);
		REQUIRE(fchmodat(q.processingfd, name, cases[i].entry, 0) ==
		    0);
		q.note_mode = cases[i].cap;
		CHECK_EQ_INT(queue_fail(&q, q.processingfd, name, "x", 1, 0),
		    0);
		strcat(name, ".err");
		CHECK_EQ_INT(test_queue_mode_at(q.failedfd, name),
		    cases[i].note);
	}
	umask(um);
	queue_close(&q);
}

/* A long reason is cut at QUEUE_REASON_MAX bytes, between characters. */
static void
test_fail_reason_cut(void)
{
	struct queue	 q;
	char		 err[256], reason[3001];
	const char	*got;
	size_t		 i;

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);
	/* "x" then two-byte characters: byte QUEUE_REASON_MAX is inside one. */
	reason[0] = 'x';
	for (i = 1; i + 2 < sizeof(reason); i += 2)
		memcpy(reason + i, "\xc3\xa9", 2);
	reason[i] = '\0';
	REQUIRE(test_queue_touch_at(q.processingfd, "5_c.json") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_c.json", reason, 1,
	    0), 0);
	got = test_queue_note_str(&q, "5_c.json", "error");
	CHECK_EQ_INT(strlen(got), QUEUE_REASON_MAX - 1 + 3);
	CHECK(strncmp(got, reason, QUEUE_REASON_MAX - 1) == 0);
	CHECK(strcmp(got + QUEUE_REASON_MAX - 1, "...") == 0);
	queue_close(&q);
}

/* What hqctl failed and retry read back: the names in order, the note's
 * fields, and a retry that never lands on a pending name. */
static void
test_failed_read_retry(void)
{
	struct queue	 q;
	char		 err[256], as[NAME_MAX + 1], out[128];
	char		**names, *note;
	size_t		 n, i;

	REQUIRE(queue_open(&q, "q", true, 0750, err, sizeof(err)) == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "5_a.json") == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "10_b.json") == 0);
	REQUIRE(test_queue_touch_at(q.processingfd, "2_c.msgpack") == 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "5_a.json",
	    "bad \"sql\" here", 3, 1), 0);
	CHECK_EQ_INT(queue_fail(&q, q.processingfd, "10_b.json", "x", 1, 0),
	    0);
	/* No note: listed, but nothing to read. */
	REQUIRE(renameat(q.processingfd, "2_c.msgpack", q.failedfd,
	    "2_c.msgpack") == 0);
	/* Neither a directory nor a name that is no entry's is listed. */
	REQUIRE(mkdirat(q.failedfd, "3_d.json", 0750) == 0);
	REQUIRE(test_queue_touch_at(q.failedfd, "junk") == 0);

	names = queue_failed_names(&q, &n);
	REQUIRE(n == 3);
	CHECK_EQ_STR(names[0], "2_c.msgpack");
	CHECK_EQ_STR(names[1], "5_a.json");
	CHECK_EQ_STR(names[2], "10_b.json");
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);

	CHECK(queue_note_read(&q, "2_c.msgpack") == NULL);
	REQUIRE((note = queue_note_read(&q, "5_a.json")) != NULL);
	queue_note_field(note, "error", out, sizeof(out));
	CHECK_EQ_STR(out, "bad \"sql\" here");
	queue_note_field(note, "attempts", out, sizeof(out));
	CHECK_EQ_STR(out, "3");
	queue_note_field(note, "failed_at", out, sizeof(out));
	CHECK_EQ_INT(strlen(out), 20);
	queue_note_field(note, "nothing", out, sizeof(out));
	CHECK_EQ_STR(out, "");
	free(note);
	/* Control characters come back as spaces (one line a reason),
	 * the rest as they were: a newline once printed as "u000a". */
	queue_note_field("{\"error\":\"a\\u000ab\\tc\\u00e9\\u20acd "
	    "\\\\ \\\"\"}", "error", out, sizeof(out));
	CHECK_EQ_STR(out, "a b c\xc3\xa9\xe2\x82\xac" "d \\ \"");
	queue_note_field("{\"error\":\"\\u00zz\"}", "error", out,
	    sizeof(out));
	CHECK_EQ_STR(out, "u00zz");

	CHECK(queue_failed_has(&q, "5_a.json"));
	CHECK(!queue_failed_has(&q, "3_d.json"));
	CHECK(!queue_failed_has(&q, "9_none.json"));

	/* Its name is pending again: retried as a copy, note gone. */
	REQUIRE(test_queue_touch_at(q.pendingfd, "5_a.json") == 0);
	CHECK_EQ_INT(queue_retry(&q, "5_a.json", as, sizeof(as)), 0);
	CHECK_EQ_STR(as, "5_a~2.json");
	CHECK(test_queue_exists_at(q.pendingfd, "5_a.json"));
	CHECK(test_queue_exists_at(q.pendingfd, "5_a~2.json"));
	CHECK(!test_queue_exists_at(q.failedfd, "5_a.json"));
	CHECK(!test_queue_exists_at(q.failedfd, "5_a.json" HQ_REASON_SUFFIX));
	CHECK_EQ_INT(queue_retry(&q, "2_c.msgpack", as, sizeof(as)), 0);
	CHECK_EQ_STR(as, "2_c.msgpack");
	CHECK(test_queue_exists_at(q.pendingfd, "2_c.msgpack"));
	errno = 0;
	CHECK_EQ_INT(queue_retry(&q, "9_none.json", as, sizeof(as)), -1);
	CHECK_EQ_INT(errno, ENOENT);
	queue_close(&q);
}

static const struct hqtest tests[] = {
	{ "open_creates_tree", test_open_creates_tree },
	{ "name_parse", test_name_parse },
	{ "name_cmp_order", test_name_cmp_order },
	{ "name_cmp_total", test_name_cmp_total },
	{ "claim_race", test_claim_race },
	{ "requeue", test_requeue },
	{ "fail_note", test_fail_note },
	{ "fail_long_reason", test_fail_long_reason },
	{ "fail_hostile_name", test_fail_hostile_name },
	{ "fail_errors", test_fail_errors },
	{ "copy_name", test_copy_name },
	{ "fail_collisions", test_fail_collisions },
	{ "fail_note_mode", test_fail_note_mode },
	{ "fail_reason_cut", test_fail_reason_cut },
	{ "failed_read_retry", test_failed_read_retry },
};

HQTEST_MAIN(tests)

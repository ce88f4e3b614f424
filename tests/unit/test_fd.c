/* SPDX-License-Identifier: MIT */
/* test_fd.c: the heartbeat's display (fd_display: two kept files whose
 * names are swapped; what readers see, and recovery when someone removes
 * or replaces a file), the directory stamp that lets the idle supervisor
 * skip reads (fd_dirstamp), and hq_enqueue_many()'s contract on real
 * files. */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "common/enqueue.h"
#include "common/fd.h"
#include "common/hq.h"
#include "hqtest.h"

/* The file's contents, NUL-terminated, in a static buffer. */
static const char *
slurp(const char *path)
{
	static char	buf[256];
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return "(missing)";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int
display(struct fd_display *d, const char *doc)
{
	return fd_display_write(d, AT_FDCWD, ".hb", doc, strlen(doc), 0644);
}

static void
test_display_swaps(void)
{
	struct fd_display	d;
	struct stat		a, b, c;

	fd_display_init(&d);
	REQUIRE(display(&d, "first, a long document") == 0);
	CHECK_EQ_STR(slurp(".hb"), "first, a long document");
	REQUIRE(stat(".hb", &a) == 0);
	REQUIRE(display(&d, "second") == 0);
	/* shorter than what the spare held: cut to its length */
	CHECK_EQ_STR(slurp(".hb"), "second");
	CHECK_EQ_STR(slurp(".hb.spare"), "first, a long document");
	REQUIRE(stat(".hb", &b) == 0);
	CHECK(a.st_ino != b.st_ino);
	REQUIRE(display(&d, "third, longer than the second") == 0);
	CHECK_EQ_STR(slurp(".hb"), "third, longer than the second");
	/* the two files alternate: no new inode per write */
	REQUIRE(stat(".hb", &c) == 0);
	CHECK_EQ_INT(c.st_ino, a.st_ino);
	fd_display_close(&d, AT_FDCWD, ".hb");
	CHECK(access(".hb.spare", F_OK) == -1);
	CHECK_EQ_STR(slurp(".hb"), "third, longer than the second");
}

/* A reader holding the shown file keeps the document it opened until the
 * next write swaps that file out and the one after rewrites it. */
static void
test_display_reader(void)
{
	struct fd_display	d;
	char			buf[64];
	ssize_t			n;
	int			fd;

	fd_display_init(&d);
	REQUIRE(display(&d, "one") == 0);
	REQUIRE((fd = open(".hb", O_RDONLY)) != -1);
	REQUIRE(display(&d, "two") == 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_EQ_STR(buf, "one");
	close(fd);
	fd_display_close(&d, AT_FDCWD, ".hb");
}

/* Someone removes the shown file, the spare, or renames a file of their
 * own over the shown one: the next write shows the new document all the
 * same, and the one after it too. */
static void
test_display_recovers(void)
{
	struct fd_display	d;
	int			fd;

	fd_display_init(&d);
	REQUIRE(display(&d, "a") == 0);
	REQUIRE(display(&d, "b") == 0);
	REQUIRE(unlink(".hb") == 0);
	CHECK_EQ_INT(display(&d, "c"), 0);
	CHECK_EQ_STR(slurp(".hb"), "c");
	CHECK_EQ_INT(display(&d, "d"), 0);
	CHECK_EQ_STR(slurp(".hb"), "d");
	REQUIRE(unlink(".hb.spare") == 0);
	CHECK_EQ_INT(display(&d, "e"), 0);
	CHECK_EQ_STR(slurp(".hb"), "e");
	/* a foreign file renamed over the shown one */
	REQUIRE((fd = open("other", O_WRONLY | O_CREAT, 0644)) != -1);
	REQUIRE(write(fd, "foreign", 7) == 7);
	close(fd);
	REQUIRE(rename("other", ".hb") == 0);
	CHECK_EQ_INT(display(&d, "f"), 0);
	CHECK_EQ_STR(slurp(".hb"), "f");
	CHECK_EQ_INT(display(&d, "g"), 0);
	CHECK_EQ_STR(slurp(".hb"), "g");
	CHECK_EQ_INT(display(&d, "h"), 0);
	CHECK_EQ_STR(slurp(".hb"), "h");
	fd_display_close(&d, AT_FDCWD, ".hb");
}

static void
test_dirstamp(void)
{
	struct fd_dirstamp	ds = { 0 };
	struct stat		st;
	struct timespec		old[2] = { { 1000, 0 }, { 1000, 0 } };
	int			fd;

	REQUIRE(mkdir("d", 0755) == 0);
	REQUIRE(stat("d", &st) == 0);
	CHECK(!fd_dir_unchanged(&ds, &st));	/* never read */
	/* just changed: a change in the same clock tick would not move the
	 * mtime, so the stamp is not trusted */
	fd_dir_stamp(&ds, &st);
	CHECK(!fd_dir_unchanged(&ds, &st));
	/* stable for long before the read: trusted while unchanged */
	REQUIRE(utimensat(AT_FDCWD, "d", old, 0) == 0);
	REQUIRE(stat("d", &st) == 0);
	if (st.st_ctim.tv_sec + 1 >= time(NULL)) {
		/* ctime cannot be set back: pretend the read was later */
		fd_dir_stamp(&ds, &st);
		ds.read_at.tv_sec += 5;
	} else
		fd_dir_stamp(&ds, &st);
	CHECK(fd_dir_unchanged(&ds, &st));
	REQUIRE((fd = open("d/x", O_WRONLY | O_CREAT, 0644)) != -1);
	close(fd);
	REQUIRE(stat("d", &st) == 0);
	CHECK(!fd_dir_unchanged(&ds, &st));
}

static void
tree(void)
{
	CHECK(mkdir("q", 0755) == 0);
	CHECK(mkdir("q/" HQ_DIR_TMP, 0755) == 0);
	CHECK(mkdir("q/" HQ_DIR_PENDING, 0755) == 0);
}

static int
count(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* 150 entries: all in pending/ under the names returned, in order. */
static void
test_enqueue_many(void)
{
	struct hq_enqueue	e[150];
	char			names[150][96], err[512], path[256], sql[150][64];
	size_t			done = 99, i;

	tree();
	memset(e, 0, sizeof(e));
	for (i = 0; i < 150; i++) {
		snprintf(sql[i], sizeof(sql[i]), "INSERT INTO t VALUES (%zu)",
		    i);
		e[i].sql = sql[i];
		e[i].priority = 5;
	}
	REQUIRE(hq_enqueue_many("q", e, 150, &names[0][0], sizeof(names[0]),
	    &done, err, sizeof(err)) == 0);
	CHECK_EQ_INT(done, 150);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_INT(count("q/" HQ_DIR_PENDING), 150);
	CHECK_EQ_INT(count("q/" HQ_DIR_TMP), 0);
	for (i = 0; i < 150; i++) {
		snprintf(path, sizeof(path), "q/%s/%.96s", HQ_DIR_PENDING,
		    names[i]);
		CHECK(strstr(slurp(path), sql[i]) != NULL);
	}
}

/* A bad entry in the third group of 64: the first two groups are
 * enqueued and said so, nothing of the third is left anywhere. */
static void
test_enqueue_many_bad(void)
{
	struct hq_enqueue	e[150];
	char			names[150][96], err[512];
	size_t			done = 0, i;

	tree();
	memset(e, 0, sizeof(e));
	for (i = 0; i < 150; i++) {
		e[i].sql = "SELECT 1";
		e[i].priority = 5;
	}
	e[140].priority = 11;
	errno = 0;
	CHECK_EQ_INT(hq_enqueue_many("q", e, 150, &names[0][0],
	    sizeof(names[0]), &done, err, sizeof(err)), -1);
	CHECK_EQ_INT(errno, EINVAL);
	CHECK_EQ_INT(done, 128);
	CHECK(strstr(err, "entry 141: priority 11") != NULL);
	CHECK_EQ_INT(count("q/" HQ_DIR_PENDING), 128);
	CHECK_EQ_INT(count("q/" HQ_DIR_TMP), 0);
	/* nothing written for a bad first entry */
	e[0].priority = 0;
	CHECK_EQ_INT(hq_enqueue_many("q", e, 1, &names[0][0],
	    sizeof(names[0]), &done, err, sizeof(err)), -1);
	CHECK_EQ_INT(done, 0);
	CHECK_EQ_INT(count("q/" HQ_DIR_PENDING), 128);
}

static const struct hqtest tests[] = {
	{ "display_swaps", test_display_swaps },
	{ "display_reader", test_display_reader },
	{ "display_recovers", test_display_recovers },
	{ "dirstamp", test_dirstamp },
	{ "enqueue_many", test_enqueue_many },
	{ "enqueue_many_bad", test_enqueue_many_bad },
};

HQTEST_MAIN(tests)

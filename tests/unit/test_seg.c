/* SPDX-License-Identifier: MIT */
/*
 * test_seg.c: common/seg.c. Create, publish and read back, with counters
 * written through a second (read-write) mapping in a forked child; every
 * refusal of seg_read() on segments made by hand in /dev/shm (another
 * program's bytes, an older layout, truncated, sizes that disagree, not
 * ready, left by a dead hqd, missing), each with its status and a message
 * that says why; seg_create() replacing a stale segment and refusing a live
 * one of another root; seg_name(); the histogram helpers; and seg_validate()
 * over random and mutated images. Every shm name made here is unique to
 * this process and unlinked again, also when a test fails or crashes.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/hq.h"
#include "common/seg.h"
#include "tests/unit/hqtest.h"

/* --- shm names: registered when made, unlinked at test end and at exit --- */

#define TSEG_MAX_NAMES	64

static char	tseg_names[TSEG_MAX_NAMES][64];
static int	tseg_nnames;
static unsigned	tseg_counter;
static pid_t	tseg_main_pid;	/* forked children leave the names alone */

/* A fresh name, registered for cleanup. */
static const char *
tseg_name(void)
{
	char	*n;

	if (tseg_nnames == TSEG_MAX_NAMES) {
		fprintf(stderr, "test_seg: too many shm names\n");
		abort();
	}
	n = tseg_names[tseg_nnames++];
	snprintf(n, 64, "/hqtest-seg-%ld-%u", (long)getpid(), ++tseg_counter);
	shm_unlink(n);
	return n;
}

static void
tseg_cleanup(void)
{
	int	i;

	if (getpid() != tseg_main_pid)
		return;
	for (i = 0; i < tseg_nnames; i++)
		shm_unlink(tseg_names[i]);
	tseg_nnames = 0;
}

static void
tseg_fatal_signal(int sig)
{
	tseg_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Does /dev/shm hold name? */
static bool
tseg_exists(const char *name)
{
	int	fd;

	if ((fd = shm_open(name, O_RDONLY, 0)) == -1)
		return false;
	close(fd);
	return true;
}

/* Make segment name holding exactly buf[0..len). 0 or -1. */
static int
tseg_make(const char *name, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600)) == -1) {
		perror("shm_open");
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, p + off, len - off)) <= 0) {
			perror("write shm");
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

/* A zeroed, aligned, full-size image; free() it. */
static struct seg *
tseg_alloc(void)
{
	struct seg	*s;

	s = aligned_alloc(64, sizeof(*s));
	if (s == NULL)
		abort();
	memset(s, 0, sizeof(*s));
	return s;
}

/* The header seg_create() writes, for pid, ready. */
static struct seg *
tseg_good_image(int64_t pid, const char *root)
{
	struct seg	*s = tseg_alloc();

	s->h.magic = HQ_SEG_MAGIC;
	s->h.version = HQ_SEG_VERSION;
	s->h.header_size = sizeof(struct seg_header);
	s->h.slot_size = sizeof(struct seg_slot);
	s->h.nslots = HQ_SEG_SLOTS;
	s->h.total_size = sizeof(struct seg);
	s->h.pid = pid;
	s->h.start_ns = 1;
	s->h.generation = 7;
	s->h.nworkers = 2;
	snprintf(s->h.root, sizeof(s->h.root), "%s", root);
	snprintf(s->h.db, sizeof(s->h.db), "%s", "/test.db");
	atomic_store(&s->h.ready, 1);
	return s;
}

/* The pid of a child that has exited and been reaped: no process. */
static pid_t
tseg_dead_pid(void)
{
	pid_t	pid;
	int	st;

	if ((pid = fork()) == -1)
		abort();
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, &st, 0) != pid)
		abort();
	return pid;
}

static bool
tseg_has(const char *msg, const char *needle)
{
	if (strstr(msg, needle) != NULL)
		return true;
	fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", msg, needle);
	return false;
}

/* What the last tseg_expect() read. */
static struct seg	tseg_out;

/* Read name expecting status want; the message must be one non-empty line
 * and is left in msg, the snapshot in tseg_out. */
static bool
tseg_expect(int line, const char *name, enum seg_status want, char *msg,
    size_t msglen)
{
	enum seg_status		st;

	memset(msg, 0, msglen);
	memset(&tseg_out, 0xa5, sizeof(tseg_out));
	st = seg_read(name, &tseg_out, msg, msglen);
	if (st != want) {
		fprintf(stderr, "%s:%d: seg_read %s: status %d, want %d (%s)\n",
		    __FILE__, line, name, (int)st, (int)want, msg);
		hqtest_failures++;
		return false;
	}
	if (want != SEG_OK && (msg[0] == '\0' || strchr(msg, '\n') != NULL)) {
		fprintf(stderr, "%s:%d: seg_read %s: message not one line: "
		    "\"%s\"\n", __FILE__, line, name, msg);
		hqtest_failures++;
		return false;
	}
	return true;
}

#define EXPECT(name, want)	tseg_expect(__LINE__, name, want, msg, \
				    sizeof(msg))

/* --- round trip ------------------------------------------------------- */

static void
test_round_trip(void)
{
	struct seg		*s, *out = &tseg_out;
	struct stat		 st;
	char			 err[256], msg[256], path[128];
	const char		*name = tseg_name();
	pid_t			 pid;
	int			 status, i;

	s = seg_create(name, "/srv/queue-a", "/srv/a.db", 3, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "seg_create: %s\n", err);
	REQUIRE(s != NULL);
	/* Mode 0640, whatever the umask. */
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	CHECK(stat(path, &st) == 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0640);
	CHECK_EQ_INT(st.st_size, sizeof(struct seg));
	/* Every page allocated up front: none left to fault on later. */
	CHECK((long long)st.st_blocks * 512 >= (long long)sizeof(struct seg));

	/* Filled but not published: a reader must wait. */
	if (EXPECT(name, SEG_NOT_READY))
		CHECK(tseg_has(msg, "starting"));
	seg_publish(s);
	SEG_ADD(s->h.c.iterations, 5);
	SEG_SET(s->h.queue_size, 11);

	/* A worker: its own read-write mapping, in another process. */
	if ((pid = fork()) == 0) {
		struct seg *w = seg_attach_rw(name, getppid());

		if (w == NULL)
			_exit(2);
		SEG_ADD(w->slot[1].c.applied, 40);
		SEG_ADD(w->slot[1].c.applied, 2);
		SEG_ADD(w->slot[1].c.failed, 3);
		SEG_ADD(w->slot[1].c.duplicates, 1);
		SEG_SET(w->slot[1].progress_ns, 123456789);
		for (i = 0; i < 10; i++)
			seg_hist_add(&w->slot[1].lat_commit, 1000);
		munmap(w, sizeof(*w));
		_exit(0);
	}
	REQUIRE(pid > 0);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	if (EXPECT(name, SEG_OK)) {
		CHECK(out->h.magic == HQ_SEG_MAGIC);
		CHECK_EQ_INT(out->h.version, HQ_SEG_VERSION);
		CHECK_EQ_INT(out->h.header_size, sizeof(struct seg_header));
		CHECK_EQ_INT(out->h.slot_size, sizeof(struct seg_slot));
		CHECK_EQ_INT(out->h.nslots, HQ_SEG_SLOTS);
		CHECK_EQ_INT(out->h.total_size, sizeof(struct seg));
		CHECK_EQ_INT(out->h.pid, getpid());
		CHECK_EQ_INT(out->h.nworkers, 3);
		CHECK(out->h.start_ns > 0);
		CHECK_EQ_STR(out->h.root, "/srv/queue-a");
		CHECK_EQ_STR(out->h.db, "/srv/a.db");
		CHECK_EQ_INT(SEG_GET(out->h.c.iterations), 5);
		CHECK_EQ_INT(SEG_GET(out->h.queue_size), 11);
		CHECK_EQ_INT(SEG_GET(out->slot[1].c.applied), 42);
		CHECK_EQ_INT(SEG_GET(out->slot[1].c.failed), 3);
		CHECK_EQ_INT(SEG_GET(out->slot[1].c.duplicates), 1);
		CHECK_EQ_INT(SEG_GET(out->slot[1].progress_ns), 123456789);
		CHECK_EQ_INT(SEG_GET(out->slot[1].lat_commit.count), 10);
		CHECK_EQ_INT(SEG_GET(out->slot[1].lat_commit.sum_us), 10000);
		CHECK_EQ_INT(SEG_GET(out->slot[1].lat_commit.bucket[
		    seg_hist_bucket(1000)]), 10);
		/* Every other counter of the slot and the others: 0. */
		CHECK_EQ_INT(SEG_GET(out->slot[0].c.applied), 0);
		CHECK_EQ_INT(SEG_GET(out->slot[1].c.retried), 0);
		CHECK_EQ_INT(SEG_GET(out->slot[2].c.applied), 0);
	}
	/* The creator's own mapping sees the worker's writes too. */
	CHECK_EQ_INT(SEG_GET(s->slot[1].c.applied), 42);
	/* The snapshot is a copy: later writes do not reach it. */
	SEG_ADD(s->slot[1].c.applied, 1);
	CHECK_EQ_INT(SEG_GET(out->slot[1].c.applied), 42);

	/* hqd's exit: unmapped and gone. */
	seg_destroy(s, name);
	if (EXPECT(name, SEG_MISSING))
		CHECK(tseg_has(msg, name));
	CHECK(!tseg_exists(name));
	/* A worker cannot attach to what is not there. */
	errno = 0;
	CHECK(seg_attach_rw(name, getpid()) == NULL);
	CHECK_EQ_INT(errno, ENOENT);
	tseg_cleanup();
}

/* seg_attach_rw refuses what seg_read refuses, rather than writing into a
 * stranger's memory. */
static void
test_attach_rw_refuses(void)
{
	struct seg	*img;
	const char	*foreign = tseg_name(), *old = tseg_name();
	const char	*shortn = tseg_name();

	img = tseg_good_image(getpid(), "/r");
	memset(img, 0x5a, 64);
	REQUIRE(tseg_make(foreign, img, sizeof(*img)) == 0);
	free(img);
	img = tseg_good_image(getpid(), "/r");
	img->h.version = 0;
	REQUIRE(tseg_make(old, img, sizeof(*img)) == 0);
	REQUIRE(tseg_make(shortn, img, sizeof(img->h)) == 0);
	free(img);
	errno = 0;
	CHECK(seg_attach_rw(foreign, getpid()) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	errno = 0;
	CHECK(seg_attach_rw(old, getpid()) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	errno = 0;
	CHECK(seg_attach_rw(shortn, getpid()) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	tseg_cleanup();
}

/* A worker attaches only to its own supervisor's segment: under the name
 * its supervisor gave, another hqd's (which took the name over) is not
 * written into. */
static void
test_attach_rw_owner(void)
{
	struct seg	*img, *w;
	const char	*name = tseg_name();

	img = tseg_good_image(getpid(), "/r");
	REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
	free(img);
	errno = 0;
	CHECK(seg_attach_rw(name, getppid()) == NULL);
	CHECK_EQ_INT(errno, ESRCH);
	w = seg_attach_rw(name, getpid());
	CHECK(w != NULL);
	if (w != NULL)
		munmap(w, sizeof(*w));
	tseg_cleanup();
}

/* A sparse segment (an older hqd did not allocate its pages): read as
 * zeros where nothing was written, and a worker attaching allocates it. */
static void
test_sparse(void)
{
	static struct seg	 out;
	struct seg		*img, *w;
	struct stat		 st;
	const char		*name = tseg_name();
	char			 msg[256], path[128];
	int			 fd;

	img = tseg_good_image(getpid(), "/r/sparse");
	SEG_SET(img->slot[HQ_SEG_SLOTS - 1].c.applied, 5);
	REQUIRE(tseg_make(name, img, sizeof(img->h)) == 0);
	free(img);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	REQUIRE((fd = open(path, O_RDWR)) != -1);
	CHECK(ftruncate(fd, sizeof(struct seg)) == 0);
	close(fd);
	REQUIRE(stat(path, &st) == 0);
	CHECK((long long)st.st_blocks * 512 < (long long)sizeof(struct seg));
	if (EXPECT(name, SEG_OK)) {
		REQUIRE(seg_read(name, &out, msg, sizeof(msg)) == SEG_OK);
		CHECK_EQ_STR(out.h.root, "/r/sparse");
		CHECK_EQ_INT(SEG_GET(out.slot[HQ_SEG_SLOTS - 1].c.applied), 0);
	}
	w = seg_attach_rw(name, getpid());
	REQUIRE(w != NULL);
	REQUIRE(stat(path, &st) == 0);
	CHECK((long long)st.st_blocks * 512 >= (long long)sizeof(struct seg));
	munmap(w, sizeof(*w));
	tseg_cleanup();
}

/* At exit hqd unlinks its segment's name only while the name is still its
 * segment: another hqd's under that name stays. */
static void
test_destroy_leaves_others(void)
{
	static struct seg	 out;
	struct seg		*s, *img;
	const char		*name = tseg_name();
	char			 err[256], msg[256];

	s = seg_create(name, "/srv/q", "/srv/q.db", 2, err, sizeof(err));
	REQUIRE(s != NULL);
	seg_publish(s);
	/* Another hqd (same pid here, another generation) replaced it. */
	img = tseg_good_image(getpid(), "/srv/q");
	img->h.generation = s->h.generation + 1;
	SEG_SET(img->slot[0].c.applied, 17);
	REQUIRE(shm_unlink(name) == 0);
	REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
	free(img);
	CHECK(!seg_destroy(s, name));
	CHECK(tseg_exists(name));
	if (EXPECT(name, SEG_OK)) {
		REQUIRE(seg_read(name, &out, msg, sizeof(msg)) == SEG_OK);
		CHECK_EQ_INT(SEG_GET(out.slot[0].c.applied), 17);
	}
	/* Its own: unlinked; already gone: nothing to do. */
	REQUIRE(shm_unlink(name) == 0);
	s = seg_create(name, "/srv/q", "/srv/q.db", 2, err, sizeof(err));
	REQUIRE(s != NULL);
	CHECK(seg_destroy(s, name));
	CHECK(!tseg_exists(name));
	s = seg_create(name, "/srv/q", "/srv/q.db", 2, err, sizeof(err));
	REQUIRE(s != NULL);
	REQUIRE(shm_unlink(name) == 0);
	CHECK(seg_destroy(s, name));
	tseg_cleanup();
}

/* --- refusals ----------------------------------------------------------- */

/* Sanity: the hand-made good image is accepted, so each refusal below is
 * caused by its one change. */
static void
test_read_hand_made_ok(void)
{
	static struct seg	 out;
	struct seg		*img = tseg_good_image(getpid(), "/r/ok");
	const char		*name = tseg_name();
	char			 msg[256];

	SEG_SET(img->slot[0].c.applied, 9);
	REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
	free(img);
	if (EXPECT(name, SEG_OK)) {
		REQUIRE(seg_read(name, &out, msg, sizeof(msg)) == SEG_OK);
		CHECK_EQ_STR(out.h.root, "/r/ok");
		CHECK_EQ_INT(SEG_GET(out.slot[0].c.applied), 9);
	}
	tseg_cleanup();
}

static void
test_read_foreign(void)
{
	struct seg	*img = tseg_alloc();
	const char	*full = tseg_name(), *small = tseg_name();
	char		 msg[256];
	unsigned char	*p = (unsigned char *)img;
	size_t		 i;

	srandom(1);
	for (i = 0; i < sizeof(*img); i++)
		p[i] = (unsigned char)random();
	if (img->h.magic == HQ_SEG_MAGIC)
		img->h.magic++;
	REQUIRE(tseg_make(full, img, sizeof(*img)) == 0);
	/* another program's small segment */
	REQUIRE(tseg_make(small, img, 100) == 0);
	free(img);
	if (EXPECT(full, SEG_FOREIGN))
		CHECK(tseg_has(msg, "magic"));
	if (EXPECT(small, SEG_FOREIGN))
		CHECK(tseg_has(msg, "magic"));

	/* Our header with one byte of the magic wrong. */
	img = tseg_good_image(getpid(), "/r");
	((unsigned char *)&img->h.magic)[7] ^= 1;
	full = tseg_name();
	REQUIRE(tseg_make(full, img, sizeof(*img)) == 0);
	free(img);
	if (EXPECT(full, SEG_FOREIGN))
		CHECK(tseg_has(msg, "not an hq"));
	tseg_cleanup();
}

static void
test_read_version(void)
{
	struct seg	*img;
	const char	*name;
	char		 msg[256], want[64];
	unsigned	 versions[] = { 0, HQ_SEG_VERSION + 1, 0xffffffffu };
	size_t		 i;

	snprintf(want, sizeof(want), "version %u", HQ_SEG_VERSION);
	for (i = 0; i < nitems(versions); i++) {
		char	have[64];

		img = tseg_good_image(getpid(), "/r");
		img->h.version = versions[i];
		name = tseg_name();
		REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
		free(img);
		snprintf(have, sizeof(have), "version %u", versions[i]);
		if (EXPECT(name, SEG_VERSION)) {
			CHECK(tseg_has(msg, have));
			CHECK(tseg_has(msg, want));
		}
	}
	/* An older layout is also another size: the version still decides
	 * the message, not the size. */
	img = tseg_good_image(getpid(), "/r");
	img->h.version = 0;
	img->h.total_size = 4096;
	name = tseg_name();
	REQUIRE(tseg_make(name, img, 4096) == 0);
	free(img);
	if (EXPECT(name, SEG_VERSION)) {
		CHECK(tseg_has(msg, "version 0"));
		CHECK(tseg_has(msg, want));
	}
	tseg_cleanup();
}

static void
test_read_truncated(void)
{
	struct seg	*img = tseg_good_image(getpid(), "/r");
	const char	*hdr = tseg_name(), *four = tseg_name();
	const char	*most = tseg_name(), *longer = tseg_name();
	const char	*zero = tseg_name();
	char		 msg[256], bytes[64], *big;

	/* The header alone: file shorter than struct seg. */
	REQUIRE(tseg_make(hdr, img, sizeof(img->h)) == 0);
	REQUIRE(tseg_make(four, img, 4) == 0);
	REQUIRE(tseg_make(most, img, sizeof(*img) - 64) == 0);
	REQUIRE(tseg_make(zero, img, 0) == 0);
	big = calloc(1, sizeof(*img) + 4096);
	REQUIRE(big != NULL);
	memcpy(big, img, sizeof(*img));
	REQUIRE(tseg_make(longer, big, sizeof(*img) + 4096) == 0);
	free(big);
	free(img);

	snprintf(bytes, sizeof(bytes), "%zu", sizeof(struct seg_header));
	if (EXPECT(hdr, SEG_SIZE)) {
		CHECK(strstr(msg, "truncated") != NULL ||
		    strstr(msg, "disagree") != NULL);
		CHECK(tseg_has(msg, bytes));
	}
	if (EXPECT(four, SEG_SIZE)) {
		CHECK(tseg_has(msg, "truncated"));
		CHECK(tseg_has(msg, "4 bytes"));
	}
	/* Empty: what a reader sees between hqd's shm_open() and its
	 * ftruncate(). Either answer is fair, as long as it is a refusal
	 * with a reason. */
	{
		enum seg_status st;

		msg[0] = '\0';
		st = seg_read(zero, &tseg_out, msg, sizeof(msg));
		CHECK(st == SEG_SIZE || st == SEG_NOT_READY);
		CHECK(msg[0] != '\0');
	}
	snprintf(bytes, sizeof(bytes), "%zu", sizeof(struct seg) - 64);
	if (EXPECT(most, SEG_SIZE))
		CHECK(tseg_has(msg, bytes));
	snprintf(bytes, sizeof(bytes), "%zu", sizeof(struct seg) + 4096);
	if (EXPECT(longer, SEG_SIZE))
		CHECK(tseg_has(msg, bytes));
	tseg_cleanup();
}

/* Full-size file whose header sizes disagree with this build. */
static void
test_read_sizes_disagree(void)
{
	struct seg	*img;
	const char	*name;
	char		 msg[256];
	int		 k;

	for (k = 0; k < 6; k++) {
		img = tseg_good_image(getpid(), "/r");
		switch (k) {
		case 0:
			img->h.header_size += 64;
			break;
		case 1:
			img->h.slot_size -= 64;
			break;
		case 2:
			img->h.nslots = HQ_SEG_SLOTS / 2;
			break;
		case 3:
			img->h.total_size = sizeof(struct seg) + 64;
			break;
		case 4:
			img->h.total_size = 0;
			break;
		case 5:
			img->h.header_size = 0;
			img->h.slot_size = 0;
			break;
		}
		name = tseg_name();
		REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
		free(img);
		if (EXPECT(name, SEG_SIZE))
			CHECK(tseg_has(msg, "disagree"));
	}
	/* Sizes right but the header's own fields impossible. */
	for (k = 0; k < 3; k++) {
		img = tseg_good_image(getpid(), "/r");
		if (k == 0)
			img->h.nworkers = HQ_SEG_SLOTS + 1;
		else if (k == 1)
			memset(img->h.root, 'r', sizeof(img->h.root));
		else
			memset(img->h.db, 'd', sizeof(img->h.db));
		name = tseg_name();
		REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
		free(img);
		if (EXPECT(name, SEG_SIZE))
			CHECK(tseg_has(msg, "corrupt"));
	}
	tseg_cleanup();
}

/* The message says which size disagrees: it names the value found, not
 * only the total (which may well be right). */
static void
test_read_sizes_disagree_says_which(void)
{
	struct seg	*img;
	const char	*name;
	char		 msg[256], bad[32];
	int		 k;

	for (k = 0; k < 3; k++) {
		img = tseg_good_image(getpid(), "/r");
		if (k == 0)
			img->h.header_size += 64;
		else if (k == 1)
			img->h.slot_size -= 64;
		else
			img->h.nslots = HQ_SEG_SLOTS / 2;
		snprintf(bad, sizeof(bad), "%u", k == 0 ? img->h.header_size :
		    k == 1 ? img->h.slot_size : img->h.nslots);
		name = tseg_name();
		REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
		free(img);
		if (EXPECT(name, SEG_SIZE))
			CHECK(tseg_has(msg, bad));
	}
	tseg_cleanup();
}

static void
test_read_not_ready(void)
{
	struct seg	*img = tseg_good_image(getpid(), "/r");
	const char	*name = tseg_name();
	char		 msg[256], pid[32];

	atomic_store(&img->h.ready, 0);
	REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
	free(img);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (EXPECT(name, SEG_NOT_READY)) {
		CHECK(tseg_has(msg, "starting"));
		CHECK(tseg_has(msg, pid));
	}
	tseg_cleanup();
}

static void
test_read_stale(void)
{
	struct seg	*img;
	const char	*name;
	char		 msg[256], pid[32];
	pid_t		 dead = tseg_dead_pid();
	int64_t		 bogus[] = { 0, -1, (int64_t)INT32_MAX + 1 };
	size_t		 i;

	img = tseg_good_image(dead, "/r");
	name = tseg_name();
	REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
	free(img);
	snprintf(pid, sizeof(pid), "pid %ld", (long)dead);
	if (EXPECT(name, SEG_STALE)) {
		CHECK(tseg_has(msg, pid));
		CHECK(tseg_has(msg, "not running"));
	}
	/* pids no process can have */
	for (i = 0; i < nitems(bogus); i++) {
		img = tseg_good_image(bogus[i], "/r");
		name = tseg_name();
		REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
		free(img);
		if (EXPECT(name, SEG_STALE))
			CHECK(tseg_has(msg, "not running"));
	}
	tseg_cleanup();
}

static void
test_read_missing(void)
{
	const char	*name = tseg_name();
	char		 msg[256];

	if (EXPECT(name, SEG_MISSING)) {
		CHECK(tseg_has(msg, name));
		CHECK(tseg_has(msg, "not running"));
	}
	tseg_cleanup();
}

/* --- seg_create and stale or live owners --------------------------------- */

static void
test_create_replaces_stale(void)
{
	static struct seg	 out;
	struct seg		*img, *s;
	const char		*name = tseg_name();
	char			 err[256], msg[256];
	pid_t			 dead = tseg_dead_pid();

	/* A dead hqd of this root left counters behind. */
	img = tseg_good_image(dead, "/srv/q");
	SEG_SET(img->slot[0].c.applied, 999);
	SEG_SET(img->h.c.iterations, 77);
	REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
	free(img);
	REQUIRE(EXPECT(name, SEG_STALE));

	err[0] = '\0';
	s = seg_create(name, "/srv/q", "/srv/q.db", 2, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "seg_create: %s\n", err);
	REQUIRE(s != NULL);
	seg_publish(s);
	if (EXPECT(name, SEG_OK)) {
		REQUIRE(seg_read(name, &out, msg, sizeof(msg)) == SEG_OK);
		CHECK_EQ_INT(out.h.pid, getpid());
		CHECK_EQ_INT(out.h.nworkers, 2);
		/* a new segment: nothing of the dead one's counters */
		CHECK_EQ_INT(SEG_GET(out.slot[0].c.applied), 0);
		CHECK_EQ_INT(SEG_GET(out.h.c.iterations), 0);
	}
	seg_destroy(s, name);

	/* Stale of another root (shared --shm-name): the owner is dead, so
	 * it is replaced too. */
	img = tseg_good_image(dead, "/srv/other");
	REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
	free(img);
	s = seg_create(name, "/srv/q", "/srv/q.db", 2, err, sizeof(err));
	CHECK(s != NULL);
	seg_destroy(s, name);

	/* Left not ready by an hqd that died while starting. */
	img = tseg_good_image(dead, "/srv/q");
	atomic_store(&img->h.ready, 0);
	REQUIRE(tseg_make(name, img, sizeof(*img)) == 0);
	free(img);
	s = seg_create(name, "/srv/q", "/srv/q.db", 2, err, sizeof(err));
	CHECK(s != NULL);
	seg_destroy(s, name);
	tseg_cleanup();
}

static void
test_create_refuses_live_other_root(void)
{
	static struct seg	 out;
	struct seg		*img, *s;
	const char		*name = tseg_name();
	char			 err[256], msg[256], pid[32];
	pid_t			 live;
	int			 p[2], st;

	/* A live process (not us) that owns the segment for another root. */
	REQUIRE(pipe(p) == 0);
	if ((live = fork()) == 0) {
		char c;

		close(p[1]);
		/* until the parent closes its end */
		_exit(read(p[0], &c, 1) == -1);
	}
	REQUIRE(live > 0);
	close(p[0]);
	img = tseg_good_image(live, "/srv/other-root");
	SEG_SET(img->slot[0].c.applied, 31);
	if (tseg_make(name, img, sizeof(*img)) == -1) {
		hqtest_failures++;
		goto out;
	}
	err[0] = '\0';
	s = seg_create(name, "/srv/my-root", "/srv/my.db", 2, err,
	    sizeof(err));
	CHECK(s == NULL);
	if (s != NULL)
		munmap(s, sizeof(*s));
	snprintf(pid, sizeof(pid), "%ld", (long)live);
	CHECK(tseg_has(err, "in use"));
	CHECK(tseg_has(err, pid));
	CHECK(tseg_has(err, "/srv/other-root"));
	/* and the owner's segment is untouched */
	if (EXPECT(name, SEG_OK)) {
		REQUIRE(seg_read(name, &out, msg, sizeof(msg)) == SEG_OK);
		CHECK_EQ_INT(out.h.pid, live);
		CHECK_EQ_STR(out.h.root, "/srv/other-root");
		CHECK_EQ_INT(SEG_GET(out.slot[0].c.applied), 31);
	}
out:
	free(img);
	close(p[1]);
	waitpid(live, &st, 0);
	tseg_cleanup();
}

/* --- seg_name ----------------------------------------------------------- */

static void
test_name(void)
{
	char	a[64], b[64], c[64], d[64];
	size_t	i;

	seg_name(a, sizeof(a), "/srv/app/.hive-mind/queue", NULL);
	seg_name(b, sizeof(b), "/srv/app/.hive-mind/queue", NULL);
	seg_name(c, sizeof(c), "/srv/app2/.hive-mind/queue", NULL);
	seg_name(d, sizeof(d), "/srv/app/.hive-mind/queuf", NULL);
	CHECK_EQ_STR(a, b);
	CHECK(strcmp(a, c) != 0);
	CHECK(strcmp(a, d) != 0);
	/* "/hq-" and 16 hex digits: a valid shm name */
	CHECK_EQ_INT(strlen(a), 20);
	CHECK(strncmp(a, "/hq-", 4) == 0);
	for (i = 4; i < strlen(a); i++)
		CHECK(strchr("0123456789abcdef", a[i]) != NULL);
	CHECK(strchr(a + 1, '/') == NULL);
	/* A configured name wins. */
	seg_name(a, sizeof(a), "/srv/app/.hive-mind/queue", "/my-seg");
	CHECK_EQ_STR(a, "/my-seg");
	/* Many roots, no two alike. */
	{
		char	names[200][64], root[64];
		int	j, k, same = 0;

		for (j = 0; j < 200; j++) {
			snprintf(root, sizeof(root), "/tmp/hq-e2e.%06d/queue",
			    j);
			seg_name(names[j], sizeof(names[j]), root, NULL);
		}
		for (j = 0; j < 200; j++)
			for (k = j + 1; k < 200; k++)
				same += strcmp(names[j], names[k]) == 0;
		CHECK_EQ_INT(same, 0);
	}
}

/* --- histogram ------------------------------------------------------------ */

static uint64_t
tseg_lower(unsigned b)
{
	return b == 0 ? 0 : seg_hist_upper_us(b - 1);
}

static void
test_hist_bounds(void)
{
	unsigned	b;
	uint64_t	up, lo;

	CHECK_EQ_INT(seg_hist_upper_us(0), 1);
	for (b = 0; b < HQ_HIST_BUCKETS; b++) {
		lo = tseg_lower(b);
		up = seg_hist_upper_us(b);
		if (up <= lo) {
			fprintf(stderr, "bucket %u: upper %llu <= lower %llu\n",
			    b, (unsigned long long)up, (unsigned long long)lo);
			hqtest_failures++;
			continue;
		}
		/* Contiguous: both ends of (lo, up] map to b (and 0 to 0). */
		if (seg_hist_bucket(b ? lo + 1 : 0) != b ||
		    seg_hist_bucket(up) != b) {
			fprintf(stderr, "bucket %u (%llu, %llu]: bucket(lo+1) %u "
			    "bucket(up) %u\n", b, (unsigned long long)lo,
			    (unsigned long long)up, seg_hist_bucket(lo + 1),
			    seg_hist_bucket(up));
			hqtest_failures++;
		}
		/* Exact buckets first, then at most a quarter wide; the last
		 * one is open-ended by design. */
		if (b < 8)
			CHECK_EQ_INT(up - lo, 1);
		else if (b < HQ_HIST_BUCKETS - 1 && (up - lo) * 4 > lo) {
			fprintf(stderr, "bucket %u [%llu, %llu) is over 25%% "
			    "wide\n", b, (unsigned long long)lo,
			    (unsigned long long)up);
			hqtest_failures++;
		}
	}
	/* 9.5 hours fit below the last bucket's bound. */
	CHECK(seg_hist_upper_us(HQ_HIST_BUCKETS - 1) > 9.5 * 3600 * 1e6);
}

/* Every value, over the whole 64-bit range, lands in a bucket whose bounds
 * hold it. The last bucket takes everything above the others: its bound
 * must not claim a value is smaller than it is. */
static bool
tseg_value_fits(uint64_t v)
{
	unsigned	b = seg_hist_bucket(v);

	if (b >= HQ_HIST_BUCKETS) {
		fprintf(stderr, "value %llu: bucket %u out of range\n",
		    (unsigned long long)v, b);
		return false;
	}
	if (!((b == 0 || tseg_lower(b) < v) && v <= seg_hist_upper_us(b))) {
		fprintf(stderr, "value %llu in bucket %u (%llu, %llu]\n",
		    (unsigned long long)v, b,
		    (unsigned long long)tseg_lower(b),
		    (unsigned long long)seg_hist_upper_us(b));
		return false;
	}
	return true;
}

static void
test_hist_values_fit(void)
{
	uint64_t	v, x = 88172645463325252ULL;
	int		i, shift, bad = 0;

	for (v = 0; v < 100000; v++)
		bad += !tseg_value_fits(v);
	/* Powers of two and their neighbours, up to 2^36 µs (19 h). */
	for (shift = 0; shift < 36; shift++) {
		v = 1ULL << shift;
		bad += !tseg_value_fits(v - 1);
		bad += !tseg_value_fits(v);
		bad += !tseg_value_fits(v + 1);
	}
	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bad += !tseg_value_fits((x >> (x % 64)) % (1ULL << 36));
	}
	CHECK_EQ_INT(bad, 0);
}

/* Beyond the last bound: a day, a year, UINT64_MAX. */
static void
test_hist_overflow_bucket(void)
{
	uint64_t	vals[] = { 1ULL << 36, 86400ULL * 1000000,
	    365ULL * 86400 * 1000000, UINT64_MAX };
	size_t		i;
	int		bad = 0;

	for (i = 0; i < nitems(vals); i++)
		bad += !tseg_value_fits(vals[i]);
	CHECK_EQ_INT(bad, 0);
}

static int
tseg_u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The quantile of h, compared with the exact one of the sorted samples:
 * the bucket of the answer is within one of the true value's bucket. */
static void
tseg_check_quantiles(const char *what, uint64_t *v, size_t n)
{
	static struct seg_hist	h;
	double			qs[] = { 0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9,
	    0.95, 0.99, 0.999, 1.0 };
	uint64_t		sum = 0, got, truth;
	size_t			i, k;
	long			d;

	memset(&h, 0, sizeof(h));
	for (i = 0; i < n; i++) {
		seg_hist_add(&h, v[i]);
		sum += v[i];
	}
	CHECK_EQ_INT(SEG_GET(h.count), n);
	CHECK_EQ_INT(SEG_GET(h.sum_us), sum);
	qsort(v, n, sizeof(*v), tseg_u64cmp);
	for (i = 0; i < nitems(qs); i++) {
		k = (size_t)(qs[i] * (double)n);
		if (k >= n)
			k = n - 1;
		truth = v[k];
		got = seg_hist_quantile(&h, qs[i]);
		if (got == 0) {
			fprintf(stderr, "%s q%.3f: 0 from a histogram of %zu\n",
			    what, qs[i], n);
			hqtest_failures++;
			continue;
		}
		d = (long)seg_hist_bucket(got - 1) - (long)seg_hist_bucket(truth);
		if (d < -1 || d > 1) {
			fprintf(stderr, "%s q%.3f: got %llu (bucket %u), true "
			    "%llu (bucket %u)\n", what, qs[i],
			    (unsigned long long)got, seg_hist_bucket(got - 1),
			    (unsigned long long)truth, seg_hist_bucket(truth));
			hqtest_failures++;
		}
	}
}

static void
test_hist_quantiles(void)
{
	static uint64_t		v[100000];
	static struct seg_hist	h;
	uint64_t		x = 2463534242ULL;
	size_t			i, n;

	memset(&h, 0, sizeof(h));
	CHECK_EQ_INT(seg_hist_quantile(&h, 0.5), 0);
	CHECK_EQ_INT(seg_hist_quantile(&h, 1.0), 0);

	/* One value: every quantile is its bucket's bound. */
	for (i = 0; i < 1000; i++)
		seg_hist_add(&h, 777);
	for (i = 0; i <= 10; i++) {
		uint64_t q = seg_hist_quantile(&h, (double)i / 10);

		CHECK_EQ_INT(q, seg_hist_upper_us(seg_hist_bucket(777)));
		CHECK(q > 777);
	}

	/* uniform 1..10000 */
	for (n = 0; n < 10000; n++)
		v[n] = n + 1;
	tseg_check_quantiles("uniform", v, n);
	/* small exact values */
	for (n = 0; n < 8000; n++)
		v[n] = n % 8;
	tseg_check_quantiles("exact", v, n);
	/* bimodal: 90 % at 100 µs, 10 % at 100 ms */
	for (n = 0; n < 10000; n++)
		v[n] = n % 10 == 0 ? 100000 : 100;
	tseg_check_quantiles("bimodal", v, n);
	/* long tail: exponential-ish, mean ~ 2 ms */
	for (n = 0; n < 100000; n++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[n] = (uint64_t)(-2000.0 * log(
		    ((double)(x % 1000000) + 0.5) / 1000000.0));
	}
	tseg_check_quantiles("exponential", v, n);
	/* log-uniform over 1 µs .. 1 hour */
	for (n = 0; n < 50000; n++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[n] = 1ULL << (x % 32);
		v[n] += x % v[n];
	}
	tseg_check_quantiles("log-uniform", v, n);
}

/* --- seg_validate over garbage --------------------------------------------- */

static uint64_t	tseg_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
tseg_rand(void)
{
	tseg_rng ^= tseg_rng << 13;
	tseg_rng ^= tseg_rng >> 7;
	tseg_rng ^= tseg_rng << 17;
	return tseg_rng;
}

static void
test_validate_fuzz(void)
{
	struct seg	*good = tseg_good_image(getpid(), "/r"), *img;
	unsigned char	*p;
	char		 msg[256];
	size_t		 i, k, nmut, off, len;
	enum seg_status	 st;
	int		 iter, counts[SEG_ERROR + 1] = { 0 }, bad = 0;
	uint32_t	 hdr_fields[] = {
	    offsetof(struct seg_header, version),
	    offsetof(struct seg_header, header_size),
	    offsetof(struct seg_header, slot_size),
	    offsetof(struct seg_header, nslots),
	    offsetof(struct seg_header, nworkers),
	    offsetof(struct seg_header, ready),
	};

	img = tseg_alloc();
	p = (unsigned char *)img;
	for (iter = 0; iter < 20000; iter++) {
		switch (iter % 4) {
		case 0:		/* noise */
			for (i = 0; i < sizeof(*img); i += 8) {
				uint64_t r = tseg_rand();

				memcpy(p + i, &r, 8);
			}
			if (iter % 8 == 0)
				img->h.magic = HQ_SEG_MAGIC;
			break;
		case 1:		/* a good image, bytes of the header flipped */
			memcpy(img, good, sizeof(*img));
			nmut = 1 + tseg_rand() % 8;
			for (k = 0; k < nmut; k++)
				p[tseg_rand() % sizeof(img->h)] ^=
				    (unsigned char)(1 + tseg_rand() % 255);
			break;
		case 2:		/* a good image, one header field random */
			memcpy(img, good, sizeof(*img));
			off = hdr_fields[tseg_rand() % nitems(hdr_fields)];
			{
				uint32_t r = (uint32_t)tseg_rand();

				if (tseg_rand() % 2)
					r %= 4;
				memcpy(p + off, &r, sizeof(r));
			}
			if (tseg_rand() % 4 == 0) {
				img->h.total_size = tseg_rand();
				img->h.pid = (int64_t)tseg_rand();
			}
			break;
		case 3:		/* a good image, anywhere flipped */
			memcpy(img, good, sizeof(*img));
			nmut = 1 + tseg_rand() % 64;
			for (k = 0; k < nmut; k++)
				p[tseg_rand() % sizeof(*img)] =
				    (unsigned char)tseg_rand();
			break;
		}
		memset(msg, 'X', sizeof(msg));
		st = seg_validate(img, sizeof(*img), msg, sizeof(msg));
		if ((int)st < SEG_OK || st > SEG_ERROR || (st != SEG_OK &&
		    (memchr(msg, '\0', sizeof(msg)) == NULL ||
		    msg[0] == '\0'))) {
			bad++;
			continue;
		}
		counts[st]++;
		/* the same answer without a message buffer */
		if (seg_validate(img, sizeof(*img), NULL, 0) != st)
			bad++;
		/* and from a shorter copy of exactly len bytes */
		if (iter % 16 == 0) {
			unsigned char *cp;

			len = tseg_rand() % sizeof(*img);
			cp = aligned_alloc(64, (len + 63) / 64 * 64 + 64);
			REQUIRE(cp != NULL);
			memcpy(cp, img, len);
			st = seg_validate(cp, len, msg, sizeof(msg));
			if (st == SEG_OK)
				bad++;
			free(cp);
		}
	}
	CHECK_EQ_INT(bad, 0);
	/* The mutations reached every refusal seg_validate can give. */
	CHECK(counts[SEG_OK] > 0);
	CHECK(counts[SEG_FOREIGN] > 0);
	CHECK(counts[SEG_VERSION] > 0);
	CHECK(counts[SEG_SIZE] > 0);
	CHECK(counts[SEG_NOT_READY] > 0);
	CHECK(counts[SEG_STALE] > 0);
	free(img);
	free(good);
}

static const struct hqtest tests[] = {
	{ "round_trip", test_round_trip },
	{ "attach_rw_refuses", test_attach_rw_refuses },
	{ "read_hand_made_ok", test_read_hand_made_ok },
	{ "read_foreign", test_read_foreign },
	{ "read_version", test_read_version },
	{ "read_truncated", test_read_truncated },
	{ "read_sizes_disagree", test_read_sizes_disagree },
	{ "read_sizes_disagree_says_which",
	    test_read_sizes_disagree_says_which },
	{ "read_not_ready", test_read_not_ready },
	{ "read_stale", test_read_stale },
	{ "read_missing", test_read_missing },
	{ "create_replaces_stale", test_create_replaces_stale },
	{ "create_refuses_live_other_root", test_create_refuses_live_other_root },
	{ "name", test_name },
	{ "hist_bounds", test_hist_bounds },
	{ "hist_values_fit", test_hist_values_fit },
	{ "hist_overflow_bucket", test_hist_overflow_bucket },
	{ "attach_rw_owner", test_attach_rw_owner },
	{ "sparse", test_sparse },
	{ "destroy_leaves_others", test_destroy_leaves_others },
	{ "hist_quantiles", test_hist_quantiles },
	{ "validate_fuzz", test_validate_fuzz },
};

int
main(int argc, char **argv)
{
	int	rc;

	tseg_main_pid = getpid();
	atexit(tseg_cleanup);
	signal(SIGSEGV, tseg_fatal_signal);
	signal(SIGBUS, tseg_fatal_signal);
	signal(SIGABRT, tseg_fatal_signal);
	signal(SIGINT, tseg_fatal_signal);
	signal(SIGTERM, tseg_fatal_signal);
	rc = hqtest_main(tests, nitems(tests), argc, argv);
	tseg_cleanup();
	return rc;
}

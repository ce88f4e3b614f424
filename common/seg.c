/* SPDX-License-Identifier: MIT */
/* seg.c: create, attach and validate the stats segment. hqd creates it,
 * workers attach read-write to write their slot, hqctl reads a snapshot.
 * "seg", not "shm", to stay clear of shm_open() and friends. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hq.h"
#include "common/now.h"
#include "common/seg.h"

void
seg_name(char *buf, size_t len, const char *real_root, const char *configured)
{
	if (configured != NULL) {
		snprintf(buf, len, "%s", configured);
		return;
	}
	snprintf(buf, len, "/hq-%016llx",
	    (unsigned long long)hq_fnv1a(real_root));
}

static bool
seg_pid_alive(int64_t pid)
{
	if (pid <= 0 || pid > INT32_MAX)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

struct seg *
seg_create(const char *name, const char *root, const char *db, int nworkers,
    char *err, size_t errlen)
{
	struct seg	*s;
	struct seg	 old;
	char		 msg[256];
	mode_t		 um;
	int		 fd, e;

	/* Our root lock is held, so a segment of this name is either a
	 * dead hqd's or another root's (a shared --shm-name). */
	if (seg_read(name, &old, msg, sizeof(msg)) == SEG_OK &&
	    old.h.pid != getpid() && strcmp(old.h.root, root) != 0) {
		snprintf(err, errlen, "segment %s is in use by hqd pid %lld "
		    "for root %s", name, (long long)old.h.pid, old.h.root);
		errno = EBUSY;
		return NULL;
	}
	shm_unlink(name);
	um = umask(0);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	umask(um);
	if (fd == -1) {
		e = errno;
		snprintf(err, errlen, "create segment /dev/shm%s: %s", name,
		    strerror(e));
		errno = e;
		return NULL;
	}
	/* Every page now, not at its first touch: touching a page a full
	 * /dev/shm cannot give is SIGBUS, in whichever process (hqd, a
	 * worker, hqctl) first gets there, long after start. Allocated,
	 * the segment can no longer fail anyone. */
	if ((e = posix_fallocate(fd, 0, sizeof(struct seg))) != 0) {
		snprintf(err, errlen, "segment /dev/shm%s needs %zu bytes of "
		    "/dev/shm: %s", name, sizeof(struct seg), strerror(e));
		goto fail;
	}
	s = mmap(NULL, sizeof(struct seg), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (s == MAP_FAILED) {
		e = errno;
		snprintf(err, errlen, "map segment /dev/shm%s: %s", name,
		    strerror(e));
		goto fail;
	}
	close(fd);
	/* Allocated pages read as zeros: every counter starts at 0. */
	s->h.magic = HQ_SEG_MAGIC;
	s->h.version = HQ_SEG_VERSION;
	s->h.header_size = sizeof(struct seg_header);
	s->h.slot_size = sizeof(struct seg_slot);
	s->h.nslots = HQ_SEG_SLOTS;
	s->h.total_size = sizeof(struct seg);
	s->h.pid = getpid();
	s->h.start_ns = now_wall_ns();
	s->h.generation = now_wall_ns() ^ ((uint64_t)getpid() << 40);
	s->h.nworkers = (uint32_t)nworkers;
	snprintf(s->h.root, sizeof(s->h.root), "%s", root);
	snprintf(s->h.db, sizeof(s->h.db), "%s", db);
	return s;
fail:
	close(fd);
	shm_unlink(name);
	errno = e;
	return NULL;
}

void
seg_publish(struct seg *s)
{
	atomic_store_explicit(&s->h.ready, 1, memory_order_release);
}

/* The header of the segment name now refers to, read (not mapped). 0, or
 * -1 when there is none or it is shorter than a header. */
static int
seg_header_of(const char *name, struct seg_header *h)
{
	ssize_t	n;
	int	fd;

	if ((fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0)) == -1)
		return -1;
	n = pread(fd, h, sizeof(*h), 0);
	close(fd);
	return n == (ssize_t)sizeof(*h) ? 0 : -1;
}

bool
seg_destroy(struct seg *s, const char *name)
{
	struct seg_header	h;
	int64_t			pid;
	uint64_t		gen;

	if (s == NULL)
		return true;
	pid = s->h.pid;
	gen = s->h.generation;
	atomic_store_explicit(&s->h.ready, 0, memory_order_release);
	munmap(s, sizeof(*s));
	/* The name may be another hqd's by now (it found ours not ready, or
	 * took over our root's path after the directory was replaced):
	 * unlinking it would take its stats from everyone. */
	if (seg_header_of(name, &h) == -1)
		return true;
	if (h.magic != HQ_SEG_MAGIC || h.pid != pid || h.generation != gen)
		return false;
	shm_unlink(name);
	return true;
}

struct seg *
seg_attach_rw(const char *name, pid_t owner)
{
	struct seg	*s;
	struct stat	 st;
	int		 fd, e;

	if ((fd = shm_open(name, O_RDWR | O_CLOEXEC, 0)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || st.st_size != sizeof(struct seg)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	/* A no-op on a segment seg_create() made; one of an older hqd may be
	 * sparse, and our first write to a page a full /dev/shm cannot give
	 * would be SIGBUS, where this is ENOSPC now. */
	if ((e = posix_fallocate(fd, 0, sizeof(struct seg))) != 0) {
		close(fd);
		errno = e;
		return NULL;
	}
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED)
		return NULL;
	if (seg_validate(s, sizeof(*s), NULL, 0) != SEG_OK) {
		munmap(s, sizeof(*s));
		errno = EINVAL;
		return NULL;
	}
	/* Another hqd's segment under our supervisor's name: its slots are
	 * not ours to write. */
	if (s->h.pid != owner) {
		munmap(s, sizeof(*s));
		errno = ESRCH;
		return NULL;
	}
	return s;
}

enum seg_status
seg_validate(const void *img, size_t len, char *msg, size_t msglen)
{
	struct seg_header	h;

	if (msg == NULL)
		msglen = 0;
	if (len < sizeof(h.magic) + sizeof(h.version)) {
		snprintf(msg, msglen, "segment is truncated (%zu bytes)", len);
		return SEG_SIZE;
	}
	memcpy(&h, img, len < sizeof(h) ? len : sizeof(h));
	if (h.magic != HQ_SEG_MAGIC) {
		snprintf(msg, msglen, "not an hq stats segment (bad magic)");
		return SEG_FOREIGN;
	}
	if (h.version != HQ_SEG_VERSION) {
		snprintf(msg, msglen, "segment layout version %u, this hqctl "
		    "reads version %u: use the hqctl of the running hqd",
		    h.version, HQ_SEG_VERSION);
		return SEG_VERSION;
	}
	if (len < sizeof(struct seg) || len != h.total_size ||
	    h.total_size != sizeof(struct seg)) {
		snprintf(msg, msglen, "segment sizes disagree%s: %zu bytes, "
		    "its header says %llu, this hqctl expects %zu",
		    len < sizeof(struct seg) ? " (truncated)" : "", len,
		    (unsigned long long)h.total_size, sizeof(struct seg));
		return SEG_SIZE;
	}
	if (h.header_size != sizeof(h) || h.slot_size !=
	    sizeof(struct seg_slot) || h.nslots != HQ_SEG_SLOTS) {
		snprintf(msg, msglen, "segment sizes disagree: header %u "
		    "bytes (want %zu), slot %u bytes (want %zu), %u slots "
		    "(want %d)", h.header_size, sizeof(h), h.slot_size,
		    sizeof(struct seg_slot), h.nslots, HQ_SEG_SLOTS);
		return SEG_SIZE;
	}
	if (atomic_load_explicit(&((const struct seg_header *)img)->ready,
	    memory_order_acquire) != 1) {
		snprintf(msg, msglen, "hqd pid %lld is starting or stopping",
		    (long long)h.pid);
		return SEG_NOT_READY;
	}
	if (h.nworkers > HQ_SEG_SLOTS || h.root[HQ_SEG_PATH - 1] != '\0' ||
	    h.db[HQ_SEG_PATH - 1] != '\0') {
		snprintf(msg, msglen, "segment header is corrupt");
		return SEG_SIZE;
	}
	if (!seg_pid_alive(h.pid)) {
		snprintf(msg, msglen, "segment left by hqd pid %lld, which is "
		    "not running", (long long)h.pid);
		return SEG_STALE;
	}
	return SEG_OK;
}

/* Read, never map: a read of a hole in tmpfs gives zeros, where touching a
 * page of a mapping that a full /dev/shm cannot give is SIGBUS (a sparse
 * segment of an older hqd), and a file cut short under us ends the read
 * early instead of faulting. */
enum seg_status
seg_read(const char *name, struct seg *out, char *msg, size_t msglen)
{
	struct seg_header	 h;
	struct stat		 st;
	uint32_t		 ready;
	ssize_t			 n;
	size_t			 want;
	enum seg_status		 rc;
	int			 fd, tries;

	if ((fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0)) == -1) {
		if (errno == ENOENT) {
			snprintf(msg, msglen, "no stats segment %s: hqd is "
			    "not running for this root", name);
			return SEG_MISSING;
		}
		snprintf(msg, msglen, "open segment %s: %s", name,
		    strerror(errno));
		return SEG_ERROR;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(msg, msglen, "segment %s: %s", name, strerror(errno));
		close(fd);
		return SEG_ERROR;
	}
	if (st.st_size != (off_t)sizeof(struct seg)) {
		/* Validate the header there is, for the precise message. */
		want = st.st_size < (off_t)sizeof(h) ? (size_t)st.st_size :
		    sizeof(h);
		n = st.st_size >= (off_t)(sizeof(uint64_t) * 2) ?
		    pread(fd, &h, want, 0) : -1;
		close(fd);
		if (n < (ssize_t)(sizeof(uint64_t) * 2)) {
			snprintf(msg, msglen, "segment %s is truncated (%lld "
			    "bytes)", name, (long long)st.st_size);
			return SEG_SIZE;
		}
		rc = seg_validate(&h, (size_t)n == want ? (size_t)st.st_size :
		    (size_t)n, msg, msglen);
		return rc == SEG_OK ? SEG_SIZE : rc;
	}
	/* The ready flag first, then the image: hqd writes the header
	 * before it stores ready (release), so an image read after ready
	 * was seen holds the whole header. An image that is ready where
	 * the flag read before it was not may hold a header half written:
	 * read once more (ready is stored once, it stays). */
	for (tries = 0; tries < 2; tries++) {
		if ((n = pread(fd, &ready, sizeof(ready), offsetof(struct
		    seg_header, ready))) == (ssize_t)sizeof(ready)) {
			atomic_thread_fence(memory_order_acquire);
			n = pread(fd, out, sizeof(*out), 0);
		}
		if (n != (ssize_t)sizeof(*out) || ready == 1 ||
		    atomic_load_explicit(&out->h.ready, memory_order_relaxed) !=
		    1)
			break;
	}
	close(fd);
	if (n == -1) {
		snprintf(msg, msglen, "read segment %s: %s", name,
		    strerror(errno));
		return SEG_IOERR;
	}
	if (n != (ssize_t)sizeof(*out)) {
		snprintf(msg, msglen, "segment %s is truncated (a read gave "
		    "%zd bytes)", name, n);
		return SEG_SIZE;
	}
	return seg_validate(out, sizeof(*out), msg, msglen);
}

/* Buckets are (lower, upper], as Prometheus' le: bucket b holds the values
 * v with v - 1 in the b-th log-linear range [L, U), i.e. L < v <= U. */
unsigned
seg_hist_bucket(uint64_t us)
{
	unsigned	e;

	if (us > 0)
		us--;
	if (us < 8)
		return (unsigned)us;
	e = 63 - (unsigned)__builtin_clzll(us);
	if (e > 35)
		return HQ_HIST_BUCKETS - 1;
	return 8 + (e - 3) * 4 + (unsigned)((us >> (e - 2)) & 3);
}

uint64_t
seg_hist_upper_us(unsigned b)
{
	unsigned	e, sub;

	if (b < 8)
		return b + 1;
	if (b >= HQ_HIST_BUCKETS - 1)
		return UINT64_MAX;	/* everything above ~19 hours */
	e = (b - 8) / 4 + 3;
	sub = (b - 8) % 4;
	return (uint64_t)(4 + sub + 1) << (e - 2);
}

void
seg_hist_add(struct seg_hist *h, uint64_t us)
{
	SEG_ADD(h->bucket[seg_hist_bucket(us)], 1);
	SEG_ADD(h->sum_us, us);
	SEG_ADD(h->count, 1);
}

uint64_t
seg_hist_quantile(const struct seg_hist *h, double q)
{
	uint64_t	total = 0, want, run = 0;
	unsigned	b;
	double		x;

	for (b = 0; b < HQ_HIST_BUCKETS; b++)
		total += SEG_GET(h->bucket[b]);
	if (total == 0)
		return 0;
	/* A hostile segment can hold any total: no double->u64 overflow. */
	x = q * (double)total;
	want = x >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)x;
	if (want >= total)
		want = total - 1;
	for (b = 0; b < HQ_HIST_BUCKETS; b++) {
		run += SEG_GET(h->bucket[b]);
		if (run > want)
			return seg_hist_upper_us(b);
	}
	return seg_hist_upper_us(HQ_HIST_BUCKETS - 1);
}

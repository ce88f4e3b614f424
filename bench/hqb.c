/* SPDX-License-Identifier: MIT */
/* hqb: hq's benchmark driver. One run = a fresh queue tree and database,
 * an optional pre-queued backlog, hqd started from this process (so the
 * start time is exact and READY=1 arrives on a NOTIFY_SOCKET we own),
 * optional producers (hq_enqueue() for JSON, the same steps by hand for
 * MessagePack), and measurements read without disturbing hqd: the stats
 * segment (mapped read-only, polled), /proc, and, for latency, inotify on
 * the workers' processing/w<N>/ folders. Prints key=value lines.
 *
 *   hqb run --hqd BIN --dir DIR [options]      see usage()
 *   hqb startup --hqd BIN --hqctl BIN --dir DIR [--workers N] [--reps N]
 *
 * Not part of hqd: links hqcommon only for hq_enqueue() and the segment
 * layout. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "common/enqueue.h"
#include "common/hq.h"
#include "common/seg.h"

#define MAX_RECS	(2 * 1024 * 1024)	/* per run, all producers */
#define SIZE_4K		4096

enum fmt { FMT_JSON, FMT_MSGPACK };

struct opts {
	const char	*hqd, *hqctl, *dir;
	int		 workers;
	bool		 sync_normal;
	long		 prefill;
	int		 procs;
	double		 rate;		/* total entries/s, 0: as fast as possible */
	long		 each;		/* entries per producer, 0: use seconds */
	double		 seconds;
	bool		 no_fsync;
	int		 batch;		/* entries per hq_enqueue_many() call */
	enum fmt	 fmt;
	bool		 big;		/* 4 KiB entries */
	bool		 observe;
	const char	*series, *raw_out;
	double		 idle;		/* seconds of idle measurement at the end */
	long		 warm;		/* entries applied before idle */
	int		 reps;
	double		 timeout;
	double		 series_ms;
};

/* One per entry a producer writes, in shared memory. */
struct prec {
	char		name[72];
	uint64_t	t0, t1;		/* wall ns: call start, rename returned */
};

struct shared {
	_Atomic uint64_t	produced;
	_Atomic uint32_t	nrec;
	_Atomic int		stop;
	struct prec		rec[];
};

/* What the observer learns of one entry. */
struct orec {
	char		name[72];
	uint64_t	claim, done, mtime, exec_us, commit_us;
	bool		have_mtime, have_hist, exact;
};

static double
wall(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
wall_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("hqb: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int
cmp_d(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentile the way limits.c takes it: sorted, v[n * q]. */
static double
pct(double *v, size_t n, double q)
{
	size_t	i;

	if (n == 0)
		return NAN;
	i = (size_t)(n * q);
	return v[i < n ? i : n - 1];
}

static void
put(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(const char *key, const char *fmt, ...)
{
	va_list	ap;

	printf("%s=", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* p50/p90/p99/max of n values in ms, as key_p50_ms=... */
static void
put_dist(const char *key, double *v, size_t n, double scale)
{
	char	k[128];

	qsort(v, n, sizeof(*v), cmp_d);
	snprintf(k, sizeof(k), "%s_n", key);
	put(k, "%zu", n);
	if (n == 0)
		return;
	snprintf(k, sizeof(k), "%s_p50_ms", key);
	put(k, "%.3f", pct(v, n, 0.50) * scale);
	snprintf(k, sizeof(k), "%s_p90_ms", key);
	put(k, "%.3f", pct(v, n, 0.90) * scale);
	snprintf(k, sizeof(k), "%s_p99_ms", key);
	put(k, "%.3f", pct(v, n, 0.99) * scale);
	snprintf(k, sizeof(k), "%s_max_ms", key);
	put(k, "%.3f", v[n - 1] * scale);
}

static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p) == -1 && errno != ENOENT ? -1 : 0;
}

static void
rm_rf(const char *p)
{
	if (nftw(p, rm_cb, 32, FTW_DEPTH | FTW_PHYS) == -1 && errno != ENOENT)
		die("remove %s: %s", p, strerror(errno));
}

static void
mkdir_p(const char *p)
{
	char	buf[PATH_MAX], *s;

	snprintf(buf, sizeof(buf), "%s", p);
	for (s = buf + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(buf, 0755);
			*s = '/';
		}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		die("mkdir %s: %s", buf, strerror(errno));
}

/* --- entries ----------------------------------------------------------- */

static char	pad[SIZE_4K];

/* The SQL and, for 4 KiB entries, one text parameter that fills the file
 * to 4096 bytes (the row carries it: the database writes it too). */
static const char *
entry_sql(char *buf, size_t len, long i, bool big)
{
	snprintf(buf, len, big ? "INSERT INTO t(v,p) VALUES (%ld,?);" :
	    "INSERT INTO t(v) VALUES (%ld);", i);
	return buf;
}

/* The body of entry i, limits.c's shape ({"sql":...,"operation":"bench"}),
 * padded to 4 KiB with a text parameter when big. */
static size_t
entry_body(char *out, size_t cap, long i, enum fmt f, bool big)
{
	char	sql[128];
	size_t	plen = 0;

	entry_sql(sql, sizeof(sql), i, big);
	if (f == FMT_JSON) {
		int n;

		if (!big)
			return (size_t)snprintf(out, cap, "{\"sql\":\"%s\","
			    "\"operation\":\"bench\"}", sql);
		n = snprintf(out, cap, "{\"sql\":\"%s\",\"params\":[\"", sql);
		plen = SIZE_4K - (size_t)n - strlen("\"],\"operation\":\"bench\"}");
		memcpy(out + n, pad, plen);
		n += (int)plen;
		n += snprintf(out + n, cap - (size_t)n,
		    "\"],\"operation\":\"bench\"}");
		return (size_t)n;
	} else {
		msgpack_sbuffer	sb;
		msgpack_packer	pk;
		size_t		len;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, big ? 3 : 2);
		msgpack_pack_str(&pk, 3);
		msgpack_pack_str_body(&pk, "sql", 3);
		msgpack_pack_str(&pk, strlen(sql));
		msgpack_pack_str_body(&pk, sql, strlen(sql));
		msgpack_pack_str(&pk, 9);
		msgpack_pack_str_body(&pk, "operation", 9);
		msgpack_pack_str(&pk, 5);
		msgpack_pack_str_body(&pk, "bench", 5);
		if (big) {
			msgpack_pack_str(&pk, 6);
			msgpack_pack_str_body(&pk, "params", 6);
			msgpack_pack_array(&pk, 1);
			/* header of a str 16 is 3 bytes */
			plen = SIZE_4K - sb.size - 3 - 1;
			msgpack_pack_str(&pk, plen);
			msgpack_pack_str_body(&pk, pad, plen);
		}
		len = sb.size < cap ? sb.size : cap;
		memcpy(out, sb.data, len);
		msgpack_sbuffer_destroy(&sb);
		return len;
	}
}

/* Write one file into .tmp/ and rename it into pending/ (limits.c's
 * produce(); with sync, hq_enqueue()'s steps: fsync, mtime, rename). */
static void
write_entry(const char *root, const char *name, const char *body, size_t len,
    bool fsync_it, bool stamp)
{
	char		tmp[PATH_MAX], dst[PATH_MAX];
	struct timespec	ts[2];
	int		fd;

	snprintf(tmp, sizeof(tmp), "%s/.tmp/.%s", root, name);
	snprintf(dst, sizeof(dst), "%s/pending/%s", root, name);
	if ((fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644)) ==
	    -1 || write(fd, body, len) != (ssize_t)len)
		die("write %s: %s", tmp, strerror(errno));
	if (fsync_it && fsync(fd) == -1)
		die("fsync %s: %s", tmp, strerror(errno));
	if (stamp) {
		/* as hq_enqueue(): an exact stamp, not the coarse clock */
		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[1] = ts[0];
		if (futimens(fd, ts) == -1)
			die("futimens %s: %s", tmp, strerror(errno));
	}
	close(fd);
	if (rename(tmp, dst) == -1)
		die("rename %s: %s", dst, strerror(errno));
}

static void
fill(const char *root, long n, enum fmt f, bool big)
{
	char	name[64], body[SIZE_4K + 256];
	size_t	len;
	long	i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "5_%08ld.%s", i,
		    f == FMT_JSON ? "json" : "msgpack");
		len = entry_body(body, sizeof(body), i, f, big);
		write_entry(root, name, body, len, false, false);
	}
}

/* --- the stats segment, read-only ------------------------------------- */

static void
seg_path_name(const char *root, char *name, size_t len)
{
	char	real[PATH_MAX];

	if (realpath(root, real) == NULL)
		die("realpath %s: %s", root, strerror(errno));
	seg_name(name, len, real, NULL);
}

/* The segment of the hqd we started (pid, or for a wrapped hqd a start
 * time after our fork): never a leftover of an earlier run. */
static struct seg *
seg_map(const char *root, double timeout_s, pid_t pid, uint64_t not_before)
{
	char		 name[128];
	struct seg	*s;
	double		 t0 = wall();
	int		 fd;

	seg_path_name(root, name, sizeof(name));
	for (;;) {
		if ((fd = shm_open(name, O_RDONLY, 0)) != -1) {
			struct stat st;

			if (fstat(fd, &st) == 0 &&
			    (size_t)st.st_size >= sizeof(struct seg)) {
				s = mmap(NULL, sizeof(struct seg), PROT_READ,
				    MAP_SHARED, fd, 0);
				close(fd);
				if (s == MAP_FAILED)
					die("mmap segment: %s",
					    strerror(errno));
				if (atomic_load_explicit(&s->h.ready,
				    memory_order_acquire) &&
				    (s->h.pid == pid || (getenv("HQB_STRACE") &&
				    s->h.start_ns >= not_before)))
					return s;
				munmap(s, sizeof(struct seg));
			} else
				close(fd);
		}
		if (wall() - t0 > timeout_s)
			die("no stats segment %s after %.0f s", name,
			    timeout_s);
		usleep(1000);
	}
}

/* Entries settled so far: applied + failed + duplicates, every slot. */
static uint64_t
seg_settled(struct seg *s, uint64_t *failed)
{
	uint64_t	n = 0, f = 0;
	int		i;

	for (i = 0; i < HQ_SEG_SLOTS; i++) {
		n += SEG_GET(s->slot[i].c.applied);
		f += SEG_GET(s->slot[i].c.failed);
		n += SEG_GET(s->slot[i].c.duplicates);
	}
	if (failed)
		*failed = f;
	return n + f;
}

static uint64_t
seg_last_progress(struct seg *s)
{
	uint64_t	m = 0, v;
	int		i;

	for (i = 0; i < HQ_SEG_SLOTS; i++)
		if ((v = SEG_GET(s->slot[i].progress_ns)) > m)
			m = v;
	return m;
}

#define SEGV(field)	SEG_GET(field)

static void
hist_merge(struct seg_hist *dst, struct seg_hist *src)
{
	unsigned	b;

	dst->count += SEGV(src->count);
	dst->sum_us += SEGV(src->sum_us);
	for (b = 0; b < HQ_HIST_BUCKETS; b++)
		dst->bucket[b] += SEGV(src->bucket[b]);
}

/* --- /proc ------------------------------------------------------------- */

struct pstat {
	long	vcsw, nvcsw;		/* context switches */
	long	ticks;			/* utime + stime */
	uint64_t cpu_ns;		/* on a CPU, every thread */
	long	rss_kib, hwm_kib;
};

/* Nanoseconds every thread of pid ran: /proc/PID/task/TID/schedstat's
 * first field (the clock ticks of /proc/PID/stat are 10 ms: one tick in
 * a 60 s idle window reads as 0.017 %). */
static uint64_t
proc_cpu_ns(pid_t pid)
{
	char			 path[64], line[128];
	struct dirent		*de;
	DIR			*d;
	FILE			*f;
	unsigned long long	 ns;
	uint64_t		 sum = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.16s/schedstat",
		    (long)pid, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), f) && sscanf(line, "%llu",
		    &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

static bool
proc_read(pid_t pid, struct pstat *p)
{
	char	path[64], line[256];
	FILE	*f;
	unsigned long ut = 0, st = 0;

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "voluntary_ctxt_switches: %ld", &p->vcsw);
		sscanf(line, "nonvoluntary_ctxt_switches: %ld", &p->nvcsw);
		sscanf(line, "VmRSS: %ld", &p->rss_kib);
		sscanf(line, "VmHWM: %ld", &p->hwm_kib);
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	if (fgets(line, sizeof(line), f)) {
		char *q = strrchr(line, ')');

		/* fields after ") ": state is 3; utime 14, stime 15 */
		if (q && sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
		    "%*u %*u %lu %lu", &ut, &st) == 2)
			p->ticks = (long)(ut + st);
	}
	fclose(f);
	p->cpu_ns = proc_cpu_ns(pid);
	return true;
}

/* --- hqd --------------------------------------------------------------- */

struct hqd {
	pid_t		 pid;
	int		 nfd;		/* NOTIFY_SOCKET, ours */
	uint64_t	 t_exec_mono, t_exec_wall;
	uint64_t	 t_ready_mono;
	pid_t		 real_pid;	/* hqd's, when pid is a wrapper's */
	char		 log[PATH_MAX];
};

static void
hqd_start(struct hqd *h, const struct opts *o, const char *root,
    const char *db, int workers)
{
	struct sockaddr_un	sa;
	static char		a_root[] = "--root", a_db[] = "--db",
				a_workers[] = "--workers", a_sync[] = "--sync",
				a_normal[] = "normal", a_full[] = "full",
				a_strace[] = "strace", a_c[] = "-c", a_f[] = "-f",
				a_w[] = "-w", a_o[] = "-o";
	char			abs[108], w[16];
	char			*argv[16];
	int			n = 0, fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(abs, sizeof(abs), "@hqb-%ld-%llu", (long)getpid(),
	    (unsigned long long)mono_ns());
	memcpy(sa.sun_path + 1, abs + 1, strlen(abs) - 1);
	if ((h->nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(h->nfd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct
	    sockaddr_un, sun_path) + strlen(abs))) == -1)
		die("notify socket: %s", strerror(errno));
	snprintf(w, sizeof(w), "%d", workers);
	argv[n++] = (char *)(uintptr_t)o->hqd;
	argv[n++] = a_root;
	argv[n++] = (char *)(uintptr_t)root;
	argv[n++] = a_db;
	argv[n++] = (char *)(uintptr_t)db;
	argv[n++] = a_workers;
	argv[n++] = w;
	argv[n++] = a_sync;
	argv[n++] = o->sync_normal ? a_normal : a_full;
	argv[n] = NULL;
	snprintf(h->log, sizeof(h->log), "%s/hqd.log", o->dir);
	h->t_ready_mono = 0;
	h->real_pid = 0;
	h->t_exec_mono = mono_ns();
	h->t_exec_wall = wall_ns();
	if ((h->pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (h->pid == 0) {
		if ((fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644)) !=
		    -1) {
			dup2(fd, 2);
			close(fd);
		}
		setenv("NOTIFY_SOCKET", abs, 1);
		if (getenv("HQB_STRACE") != NULL) {
			/* strace -c -f -w -o FILE hqd ...: for bench/profile */
			char *sv[24];
			int k = 0, j;

			sv[k++] = a_strace;
			sv[k++] = a_c;
			sv[k++] = a_f;
			sv[k++] = a_w;
			sv[k++] = a_o;
			sv[k++] = getenv("HQB_STRACE");
			for (j = 0; argv[j] != NULL; j++)
				sv[k++] = argv[j];
			sv[k] = NULL;
			execvp("strace", sv);
			_exit(127);
		}
		execv(o->hqd, argv);
		_exit(127);
	}
}

/* Read and drop what hqd sent on our NOTIFY_SOCKET since (STATUS= every
 * tick): a datagram socket queues ten, and hqd must never find it full. */
static void
hqd_notify_drain(struct hqd *h)
{
	char	buf[1024];

	while (recv(h->nfd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Sleep s seconds while draining the notify socket. */
static void
hqd_sleep(struct hqd *h, double s)
{
	struct pollfd	pfd = { .fd = h->nfd, .events = POLLIN };
	uint64_t	end = mono_ns() + (uint64_t)(s * 1e9), now;

	while ((now = mono_ns()) < end) {
		if (poll(&pfd, 1, (int)((end - now) / 1000000) + 1) > 0)
			hqd_notify_drain(h);
	}
}

/* Wait for READY=1 (true) or for hqd to die (false). */
static bool
hqd_wait_ready(struct hqd *h, double timeout_s)
{
	struct pollfd	pfd = { .fd = h->nfd, .events = POLLIN };
	char		buf[1024];
	uint64_t	deadline = mono_ns() + (uint64_t)(timeout_s * 1e9);
	ssize_t		n;

	while (mono_ns() < deadline) {
		if (poll(&pfd, 1, 50) == 1) {
			n = recv(h->nfd, buf, sizeof(buf) - 1, 0);
			uint64_t t = mono_ns();

			if (n > 0) {
				buf[n] = '\0';
				if (strstr(buf, "READY=1") != NULL) {
					h->t_ready_mono = t;
					return true;
				}
			}
		}
		if (waitpid(h->pid, NULL, WNOHANG) == h->pid)
			return false;
	}
	return false;
}

static void
hqd_stop(struct hqd *h, struct rusage *ru)
{
	int	st, i;

	/* under strace, the segment names hqd; strace exits after it */
	kill(h->real_pid > 0 ? h->real_pid : h->pid, SIGTERM);
	for (i = 0; i < 3000; i++) {
		if (wait4(h->pid, &st, WNOHANG, ru) == h->pid)
			goto done;
		usleep(5000);
	}
	kill(h->pid, SIGKILL);
	wait4(h->pid, &st, 0, ru);
done:
	close(h->nfd);
	h->pid = -1;
}

/* --- producers ----------------------------------------------------------- */

/* A producer that enqueues o->batch entries per hq_enqueue_many() call
 * (JSON, small, unpaced): each entry is recorded as blocked for the whole
 * call, which returns only after the batch's shared flush. */
static void
producer_batch(const struct opts *o, const char *root, struct shared *sh,
    int id)
{
	struct hq_enqueue	*e = calloc((size_t)o->batch, sizeof(*e));
	char			*sql = calloc((size_t)o->batch, 128);
	char			*names = calloc((size_t)o->batch, 72);
	char			 err[4096];
	uint64_t		 end = o->each > 0 ? UINT64_MAX :
	    wall_ns() + (uint64_t)(o->seconds * 1e9);
	long			 i = 0;
	int			 k, n;

	if (e == NULL || sql == NULL || names == NULL)
		die("out of memory");
	while ((o->each == 0 || i < o->each) && !atomic_load(&sh->stop) &&
	    wall_ns() < end) {
		uint64_t t0, t1;

		n = o->each > 0 && o->each - i < o->batch ?
		    (int)(o->each - i) : o->batch;
		for (k = 0; k < n; k++) {
			memset(&e[k], 0, sizeof(e[k]));
			e[k].sql = entry_sql(sql + k * 128, 128,
			    (long)id * 100000000L + i + k, false);
			e[k].priority = 5;
			e[k].operation = "bench";
			e[k].no_sync = o->no_fsync;
		}
		t0 = wall_ns();
		if (hq_enqueue_many(root, e, (size_t)n, names, 72, NULL, err,
		    sizeof(err)) == -1)
			die("hq_enqueue_many: %s", err);
		t1 = wall_ns();
		for (k = 0; k < n; k++) {
			uint32_t r = atomic_fetch_add(&sh->nrec, 1);

			if (r < MAX_RECS) {
				snprintf(sh->rec[r].name,
				    sizeof(sh->rec[r].name), "%s",
				    names + k * 72);
				sh->rec[r].t0 = t0;
				sh->rec[r].t1 = t1;
			}
		}
		atomic_fetch_add(&sh->produced, (uint64_t)n);
		i += n;
	}
	_exit(0);
}

static void
producer(const struct opts *o, const char *root, struct shared *sh, int id)
{
	char		 name[72], err[512], sql[128], body[SIZE_4K + 256];
	struct entry_param prm;
	struct hq_enqueue e;
	double		 per = o->rate > 0 ? o->procs / o->rate : 0;
	uint64_t	 start = wall_ns();
	uint64_t	 end = o->each > 0 ? UINT64_MAX :
	    start + (uint64_t)(o->seconds * 1e9);
	unsigned long	 counter = 0;
	long		 i;
	struct timespec	 ts;

	/* Spread paced producers evenly over one period. */
	uint64_t	 t_next = start + (uint64_t)(per * 1e9 * id / o->procs);

	for (i = 0; (o->each == 0 || i < o->each) && !atomic_load(&sh->stop);
	    i++) {
		uint64_t t0, t1;
		long v = (long)id * 100000000L + i;
		uint32_t k;

		if (per > 0) {
			ts.tv_sec = (time_t)(t_next / 1000000000ULL);
			ts.tv_nsec = (long)(t_next % 1000000000ULL);
			clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts,
			    NULL);
			t_next += (uint64_t)(per * 1e9);
		}
		if (wall_ns() >= end)
			break;
		t0 = wall_ns();
		if (o->fmt == FMT_JSON) {
			memset(&e, 0, sizeof(e));
			e.sql = entry_sql(sql, sizeof(sql), v, o->big);
			e.priority = 5;
			e.operation = "bench";
			e.no_sync = o->no_fsync;
			if (o->big) {
				/* hq_enqueue adds ~180 bytes of keys */
				memset(&prm, 0, sizeof(prm));
				prm.type = ENTRY_PARAM_TEXT;
				prm.p = pad;
				prm.len = SIZE_4K - 240;
				e.params = &prm;
				e.nparams = 1;
			}
			if (hq_enqueue(root, &e, name, sizeof(name), err,
			    sizeof(err)) == -1)
				die("hq_enqueue: %s", err);
		} else {
			size_t len = entry_body(body, sizeof(body), v,
			    FMT_MSGPACK, o->big);

			snprintf(name, sizeof(name), "5_%llu_%ld_%lu.msgpack",
			    (unsigned long long)t0, (long)getpid(),
			    ++counter);
			write_entry(root, name, body, len, !o->no_fsync, true);
		}
		t1 = wall_ns();
		k = atomic_fetch_add(&sh->nrec, 1);
		if (k < MAX_RECS) {
			snprintf(sh->rec[k].name, sizeof(sh->rec[k].name),
			    "%s", name);
			sh->rec[k].t0 = t0;
			sh->rec[k].t1 = t1;
		}
		atomic_fetch_add(&sh->produced, 1);
	}
	_exit(0);
}

/* --- the latency observer ---------------------------------------------- */

struct observer {
	int		 ifd;
	int		 wd[HQ_SEG_SLOTS], dirfd[HQ_SEG_SLOTS];
	int		 nw;
	struct orec	*rec;
	size_t		 nrec, cap;
	size_t		*hash;		/* index + 1, open addressing */
	size_t		 hcap;
	uint64_t	 last_ec[HQ_SEG_SLOTS], last_es[HQ_SEG_SLOTS];
	uint64_t	 last_cc[HQ_SEG_SLOTS], last_cs[HQ_SEG_SLOTS];
	/* a batch of k settled at once: its mean, for the k - 1 others */
	long		 left[HQ_SEG_SLOTS];
	uint64_t	 mean_e[HQ_SEG_SLOTS], mean_c[HQ_SEG_SLOTS];
};

static struct orec *
obs_find(struct observer *ob, const char *name, bool add)
{
	size_t	i = hq_fnv1a(name) & (ob->hcap - 1);

	while (ob->hash[i] != 0) {
		struct orec *r = &ob->rec[ob->hash[i] - 1];

		if (strcmp(r->name, name) == 0)
			return r;
		i = (i + 1) & (ob->hcap - 1);
	}
	if (!add || ob->nrec == ob->cap)
		return NULL;
	memset(&ob->rec[ob->nrec], 0, sizeof(ob->rec[0]));
	snprintf(ob->rec[ob->nrec].name, sizeof(ob->rec[0].name), "%s", name);
	ob->hash[i] = ++ob->nrec;
	return &ob->rec[ob->nrec - 1];
}

static void
obs_init(struct observer *ob, const char *root, int workers, size_t cap,
    struct seg *sg)
{
	char	path[PATH_MAX + 64];
	int	i;

	memset(ob, 0, sizeof(*ob));
	ob->cap = cap;
	ob->rec = calloc(cap, sizeof(*ob->rec));
	for (ob->hcap = 1024; ob->hcap < cap * 2; ob->hcap *= 2)
		;
	ob->hash = calloc(ob->hcap, sizeof(*ob->hash));
	if (!ob->rec || !ob->hash)
		die("out of memory");
	if ((ob->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		die("inotify_init1: %s", strerror(errno));
	ob->nw = workers;
	for (i = 0; i < workers; i++) {
		snprintf(path, sizeof(path), "%s/processing/w%d", root, i);
		if ((ob->wd[i] = inotify_add_watch(ob->ifd, path,
		    IN_MOVED_TO | IN_DELETE)) == -1)
			die("watch %s: %s", path, strerror(errno));
		if ((ob->dirfd[i] = open(path, O_RDONLY | O_DIRECTORY)) == -1)
			die("open %s: %s", path, strerror(errno));
		ob->last_ec[i] = SEGV(sg->slot[i].lat_exec.count);
		ob->last_es[i] = SEGV(sg->slot[i].lat_exec.sum_us);
		ob->last_cc[i] = SEGV(sg->slot[i].lat_commit.count);
		ob->last_cs[i] = SEGV(sg->slot[i].lat_commit.sum_us);
	}
}

static void
obs_read(struct observer *ob, struct seg *sg)
{
	char	buf[65536] __attribute__((aligned(8)));
	ssize_t	n;
	char	*p;

	while ((n = read(ob->ifd, buf, sizeof(buf))) > 0) {
		uint64_t t = wall_ns();

		for (p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			struct orec *r;
			int w;

			p += sizeof(*ev) + ev->len;
			if (ev->len == 0 || ev->name[0] == '.')
				continue;
			for (w = 0; w < ob->nw && ob->wd[w] != ev->wd; w++)
				;
			if (w == ob->nw || (r = obs_find(ob, ev->name,
			    true)) == NULL)
				continue;
			if (ev->mask & IN_MOVED_TO) {
				struct stat st;

				r->claim = t;
				if (fstatat(ob->dirfd[w], ev->name, &st,
				    AT_SYMLINK_NOFOLLOW) == 0) {
					r->mtime = (uint64_t)st.st_mtim.tv_sec *
					    1000000000ULL +
					    (uint64_t)st.st_mtim.tv_nsec;
					r->have_mtime = true;
				}
			} else if (ev->mask & IN_DELETE) {
				struct seg_slot *sl = &sg->slot[w];
				uint64_t ec = SEGV(sl->lat_exec.count);
				uint64_t es = SEGV(sl->lat_exec.sum_us);
				uint64_t cc = SEGV(sl->lat_commit.count);
				uint64_t cs = SEGV(sl->lat_commit.sum_us);
				uint64_t dn = ec - ob->last_ec[w];

				r->done = t;
				if (dn > 0 && cc - ob->last_cc[w] == dn) {
					/* the first of a settled batch */
					ob->mean_e[w] = (es - ob->last_es[w]) / dn;
					ob->mean_c[w] = (cs - ob->last_cs[w]) / dn;
					ob->left[w] = (long)dn - 1;
					r->exact = dn == 1;
					r->have_hist = true;
				} else if (dn == 0 && ob->left[w] > 0) {
					ob->left[w]--;
					r->have_hist = true;
				}
				if (r->have_hist) {
					r->exec_us = ob->mean_e[w];
					r->commit_us = ob->mean_c[w];
				}
				ob->last_ec[w] = ec;
				ob->last_es[w] = es;
				ob->last_cc[w] = cc;
				ob->last_cs[w] = cs;
			}
		}
	}
}

/* Join producers' rename times with what the observer saw. */
static void
obs_report(struct observer *ob, struct shared *sh, uint32_t nrec,
    const char *raw_out)
{
	double	*claim = calloc(nrec + 1, sizeof(double));
	double	*exec = calloc(nrec + 1, sizeof(double));
	double	*commit = calloc(nrec + 1, sizeof(double));
	double	*done = calloc(nrec + 1, sizeof(double));
	double	*lag = calloc(nrec + 1, sizeof(double));
	double	*hexec = calloc(nrec + 1, sizeof(double));
	size_t	 nc = 0, ne = 0, nd = 0, nl = 0, nh = 0, ninexact = 0, i;
	FILE	*f = NULL;

	if (raw_out && (f = fopen(raw_out, "w")) != NULL)
		fprintf(f, "# name rename_ns claim_ms exec_ms commit_ms "
		    "removed_ms mtime_lag_ms exact\n");
	for (i = 0; i < nrec; i++) {
		const struct prec *p = &sh->rec[i];
		struct orec *r = obs_find(ob, p->name, false);
		double c = NAN, e = NAN, cm = NAN, d = NAN, l = NAN;

		if (r == NULL)
			continue;
		if (r->claim) {
			c = ((double)r->claim - (double)p->t1) / 1e6;
			claim[nc++] = c;
		}
		if (r->done) {
			d = ((double)r->done - (double)p->t1) / 1e6;
			done[nd++] = d;
		}
		if (r->have_mtime) {
			l = ((double)p->t1 - (double)r->mtime) / 1e6;
			lag[nl++] = l;
		}
		if (r->have_hist) {
			hexec[nh++] = r->exec_us / 1e3;
			if (!r->exact)
				ninexact++;
		}
		if (r->have_mtime && r->have_hist && r->exact) {
			e = ((double)r->mtime + r->exec_us * 1e3 -
			    (double)p->t1) / 1e6;
			cm = ((double)r->mtime + r->commit_us * 1e3 -
			    (double)p->t1) / 1e6;
			exec[ne] = e;
			commit[ne++] = cm;
		}
		if (f)
			fprintf(f, "%s %llu %.3f %.3f %.3f %.3f %.3f %d\n",
			    p->name, (unsigned long long)p->t1, c, e, cm, d, l,
			    r->exact);
	}
	if (f)
		fclose(f);
	put("lat_joined", "%u", nrec);
	put("lat_batched", "%zu", ninexact);
	put_dist("lat_claim", claim, nc, 1);
	put_dist("lat_exec", exec, ne, 1);
	put_dist("lat_commit", commit, ne, 1);
	put_dist("lat_removed", done, nd, 1);
	put_dist("lat_exec_from_mtime", hexec, nh, 1);
	qsort(lag, nl, sizeof(double), cmp_d);
	if (nl > 0) {
		double s = 0;

		for (i = 0; i < nl; i++)
			s += lag[i];
		put("mtime_lag_mean_ms", "%.3f", s / (double)nl);
		put("mtime_lag_max_ms", "%.3f", lag[nl - 1]);
	}
	free(claim);
	free(exec);
	free(commit);
	free(done);
	free(lag);
	free(hexec);
}

/* --- run ----------------------------------------------------------------- */

static void
make_db(const char *db)
{
	sqlite3	*d;
	char	 p[PATH_MAX + 8];

	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
	if (sqlite3_open(db, &d) != SQLITE_OK ||
	    sqlite3_exec(d, "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE t(v INTEGER, p TEXT);", NULL, NULL, NULL) !=
	    SQLITE_OK)
		die("create %s: %s", db, sqlite3_errmsg(d));
	sqlite3_close(d);
}

static long
db_count(const char *db)
{
	sqlite3		*d;
	sqlite3_stmt	*st;
	long		 n = -1;

	if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(d, "SELECT count(*) FROM t", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(d);
	return n;
}

static void
put_hist(const char *key, const struct seg_hist *h)
{
	char	k[64];

	snprintf(k, sizeof(k), "%s_count", key);
	put(k, "%llu", (unsigned long long)h->count);
	if (h->count == 0)
		return;
	snprintf(k, sizeof(k), "%s_p50_ms", key);
	put(k, "%.3f", seg_hist_quantile(h, 0.50) / 1e3);
	snprintf(k, sizeof(k), "%s_p90_ms", key);
	put(k, "%.3f", seg_hist_quantile(h, 0.90) / 1e3);
	snprintf(k, sizeof(k), "%s_p99_ms", key);
	put(k, "%.3f", seg_hist_quantile(h, 0.99) / 1e3);
	snprintf(k, sizeof(k), "%s_mean_ms", key);
	put(k, "%.3f", (double)h->sum_us / (double)h->count / 1e3);
}

static int
cmd_run(struct opts *o)
{
	char		 root[PATH_MAX], db[PATH_MAX + 8], p[PATH_MAX + 64];
	struct hqd	 h;
	struct seg *sg;
	struct shared	*sh;
	struct observer	 ob;
	struct rusage	 ru;
	struct pstat	 ps, pw, pi0[HQ_SEG_SLOTS + 1], pi1[HQ_SEG_SLOTS + 1];
	FILE		*series = NULL;
	pid_t		 kids[256];
	uint64_t	 total = 0, settled, failed, t_first = 0, t_last, t_done = 0;
	uint64_t	 t_prod_end = 0, t_start, next_sample;
	long		 max_backlog = 0, sup_hwm = 0, w_hwm = 0, w_rss = 0;
	double		 sx = 0, sy = 0, sxx = 0, sxy = 0;
	long		 nreg = 0;
	int		 i, live, nk = 0;
	bool		 producing = o->procs > 0;
	uint32_t	 nrec;

	snprintf(root, sizeof(root), "%s/q", o->dir);
	snprintf(db, sizeof(db), "%s/db", o->dir);
	rm_rf(o->dir);
	mkdir_p(o->dir);
	snprintf(p, sizeof(p), "%s/.tmp", root);
	mkdir_p(p);
	snprintf(p, sizeof(p), "%s/pending", root);
	mkdir_p(p);
	make_db(db);
	if (o->prefill > 0) {
		struct rusage a, b;

		getrusage(RUSAGE_SELF, &a);
		fill(root, o->prefill, o->fmt, o->big);
		getrusage(RUSAGE_SELF, &b);
		put("fill_cpu_us_per_entry", "%.1f",
		    ((b.ru_utime.tv_sec - a.ru_utime.tv_sec) * 1e6 +
		    (b.ru_utime.tv_usec - a.ru_utime.tv_usec) +
		    (b.ru_stime.tv_sec - a.ru_stime.tv_sec) * 1e6 +
		    (b.ru_stime.tv_usec - a.ru_stime.tv_usec)) / o->prefill);
	}
	if (getenv("HQB_SYNC") && strcmp(getenv("HQB_SYNC"), "1") == 0) sync();
	sh = mmap(NULL, sizeof(*sh) + MAX_RECS * sizeof(struct prec),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
	    -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));

	{
		/* a segment left by an hqd that died on this root */
		char name[128];

		seg_path_name(root, name, sizeof(name));
		shm_unlink(name);
	}
	hqd_start(&h, o, root, db, o->workers);
	t_start = h.t_exec_wall;
	sg = seg_map(root, o->timeout, h.pid, h.t_exec_wall);
	if (!hqd_wait_ready(&h, o->timeout))
		die("hqd did not become ready (see %s)", h.log);
	if (getenv("HQB_STRACE") != NULL)
		h.real_pid = (pid_t)sg->h.pid;
	put("ready_ms", "%.2f", (h.t_ready_mono - h.t_exec_mono) / 1e6);
	if (o->observe)
		obs_init(&ob, root, o->workers, o->procs > 0 ?
		    (size_t)(o->each > 0 ? o->each * o->procs :
		    (o->rate > 0 ? o->rate * o->seconds * 1.2 + 1000 :
		    MAX_RECS)) : 1024, sg);
	if (o->series && (series = fopen(o->series, "w")) == NULL)
		die("%s: %s", o->series, strerror(errno));
	if (series)
		fprintf(series, "# t_s produced applied backlog queue_size "
		    "processing sup_rss_kib\n");
	if (producing) {
		t_first = wall_ns();
		for (i = 0; i < o->procs; i++) {
			pid_t pid = fork();

			if (pid == -1)
				die("fork: %s", strerror(errno));
			if (pid == 0 && o->batch > 1)
				producer_batch(o, root, sh, i);
			if (pid == 0)
				producer(o, root, sh, i);
			kids[nk++] = pid;
		}
	}
	next_sample = wall_ns();
	live = nk;
	for (;;) {
		uint64_t now;
		int timeout = o->observe ? 100 : 1;

		if (o->observe) {
			struct pollfd pfd = { .fd = ob.ifd, .events = POLLIN };

			if (poll(&pfd, 1, timeout) > 0)
				obs_read(&ob, sg);
		} else
			usleep(1000);
		while (live > 0) {
			pid_t r = waitpid(-1, NULL, WNOHANG);

			if (r <= 0)
				break;
			for (i = 0; i < nk; i++)
				if (kids[i] == r) {
					kids[i] = -1;
					live--;
				}
			if (live == 0)
				t_prod_end = wall_ns();
		}
		hqd_notify_drain(&h);
		now = wall_ns();
		settled = seg_settled(sg, &failed);
		total = (uint64_t)o->prefill + atomic_load(&sh->produced);
		if (series && now >= next_sample) {
			long backlog = (long)total - (long)settled;
			double ts = (now - t_start) / 1e9;

			proc_read(h.pid, &ps);
			fprintf(series, "%.3f %llu %llu %ld %llu %llu %ld\n",
			    ts, (unsigned long long)(total - o->prefill),
			    (unsigned long long)settled, backlog,
			    (unsigned long long)SEGV(sg->h.queue_size),
			    (unsigned long long)SEGV(sg->h.processing),
			    ps.rss_kib);
			if (backlog > max_backlog)
				max_backlog = backlog;
			/* trend of the second half of the producing window */
			if (producing && live > 0 && o->seconds > 0 &&
			    now - t_first > o->seconds * 0.5e9) {
				sx += ts;
				sy += (double)backlog;
				sxx += ts * ts;
				sxy += ts * (double)backlog;
				nreg++;
			}
			next_sample = now + (uint64_t)(o->series_ms * 1e6);
		}
		if (live == 0 && settled >= total) {
			t_done = now;
			break;
		}
		if ((now - t_start) / 1e9 > o->timeout) {
			fprintf(stderr, "hqb: timeout: %llu of %llu settled\n",
			    (unsigned long long)settled,
			    (unsigned long long)total);
			put("timeout", "1");
			break;
		}
	}
	/* The last COMMIT, or, when later, the poll that saw the counters
	 * complete: they count a file once it is removed, and removals may
	 * trail the COMMIT (hqd's remover threads): a drain is over when
	 * its files are gone. */
	t_last = seg_last_progress(sg);
	if (t_done > t_last)
		t_last = t_done;
	if (o->observe) {
		usleep(20000);
		obs_read(&ob, sg);
	}
	/* memory and CPU while hqd still lives */
	proc_read(h.real_pid > 0 ? h.real_pid : h.pid, &ps);
	sup_hwm = ps.hwm_kib;
	for (i = 0; i < o->workers; i++) {
		pid_t wp = (pid_t)SEGV(sg->slot[i].pid);

		if (wp > 0 && proc_read(wp, &pw)) {
			if (pw.hwm_kib > w_hwm)
				w_hwm = pw.hwm_kib;
			if (pw.rss_kib > w_rss)
				w_rss = pw.rss_kib;
		}
	}
	nrec = atomic_load(&sh->nrec);
	if (nrec > MAX_RECS)
		nrec = MAX_RECS;
	put("entries", "%llu", (unsigned long long)total);
	put("failed", "%llu", (unsigned long long)failed);
	if (o->prefill > 0 && !producing) {
		double el = ((double)t_last - (double)t_start) / 1e9;

		/* No rate for a drain that did not finish (timeout) or
		 * never committed (t_last 0): a figure would mislead. */
		if (settled >= total && t_last > t_start) {
			put("drain_s", "%.3f", el);
			put("drain_rate", "%.0f", o->prefill / el);
		}
	}
	if (producing) {
		double pe = ((double)t_prod_end - (double)t_first) / 1e9;
		double el = ((double)t_last - (double)t_first) / 1e9;
		double *enq = calloc(nrec + 1, sizeof(double));

		put("produced", "%llu", (unsigned long long)(total - o->prefill));
		put("produce_s", "%.3f", pe);
		put("produce_rate", "%.0f", (total - o->prefill) / pe);
		put("e2e_s", "%.3f", el);
		put("e2e_rate", "%.0f", (total - o->prefill) / el);
		put("tail_s", "%.3f", el - pe);
		for (uint32_t k = 0; k < nrec; k++)
			enq[k] = (double)(sh->rec[k].t1 - sh->rec[k].t0);
		put_dist("enqueue", enq, nrec, 1e-6);
		free(enq);
		if (series) {
			put("backlog_max", "%ld", max_backlog);
			if (nreg > 2) {
				double sl = (nreg * sxy - sx * sy) /
				    (nreg * sxx - sx * sx);

				put("backlog_slope_per_s", "%.1f", sl);
			}
		}
	}
	if (o->observe)
		obs_report(&ob, sh, nrec, o->raw_out);
	{
		struct seg_hist he, hc;

		memset(&he, 0, sizeof(he));
		memset(&hc, 0, sizeof(hc));
		for (i = 0; i < o->workers; i++) {
			hist_merge(&he, &sg->slot[i].lat_exec);
			hist_merge(&hc, &sg->slot[i].lat_commit);
		}
		put_hist("hist_exec", &he);
		put_hist("hist_commit", &hc);
	}
	{
		uint64_t b = 0;

		for (i = 0; i < o->workers; i++)
			b += SEGV(sg->slot[i].c.batches);
		put("batches", "%llu", (unsigned long long)b);
		put("entries_per_batch", "%.1f", b ? (double)settled / b : 0);
	}
	put("sup_hwm_kib", "%ld", sup_hwm);
	put("sup_rss_kib", "%ld", ps.rss_kib);
	put("worker_hwm_kib", "%ld", w_hwm);
	put("worker_rss_kib", "%ld", w_rss);

	if (o->idle > 0) {
		int np = o->workers + 1;
		pid_t pids[HQ_SEG_SLOTS + 1];
		long hz = sysconf(_SC_CLK_TCK);
		double t0, t1;

		if (o->warm > 0) {
			/* give the workers a database to hold */
			char sql[64], name[256], err[256];
			struct hq_enqueue e;

			for (long k = 0; k < o->warm; k++) {
				memset(&e, 0, sizeof(e));
				e.sql = entry_sql(sql, sizeof(sql), k, false);
				e.priority = 5;
				e.no_sync = true;
				if (hq_enqueue(root, &e, name, sizeof(name), err,
				    sizeof(err)) == -1)
					die("hq_enqueue: %s", err);
			}
			while (seg_settled(sg, NULL) < total + (uint64_t)o->warm)
				hqd_sleep(&h, 0.01);
		}
		hqd_sleep(&h, 1);	/* settle */
		pids[0] = h.pid;
		for (i = 0; i < o->workers; i++)
			pids[i + 1] = (pid_t)SEGV(sg->slot[i].pid);
		t0 = wall();
		for (i = 0; i < np; i++)
			proc_read(pids[i], &pi0[i]);
		/* Drained as it comes: one wakeup of ours per tick, which
		 * does not count against hqd's. */
		hqd_sleep(&h, o->idle);
		for (i = 0; i < np; i++)
			proc_read(pids[i], &pi1[i]);
		t1 = wall();
		put("idle_s", "%.2f", t1 - t0);
		for (i = 0; i < np; i++) {
			char k[64];
			const char *who = i == 0 ? "sup" : "worker";

			if (i == 0)
				snprintf(k, sizeof(k), "idle_sup");
			else
				snprintf(k, sizeof(k), "idle_w%d", i - 1);
			printf("%s_vcsw=%ld\n%s_nvcsw=%ld\n%s_cpu_pct=%.4f\n"
			    "%s_cpu_ms=%.2f\n%s_tick_cpu_pct=%.3f\n"
			    "%s_rss_kib=%ld\n", k, pi1[i].vcsw - pi0[i].vcsw,
			    k, pi1[i].nvcsw - pi0[i].nvcsw, k,
			    (double)(pi1[i].cpu_ns - pi0[i].cpu_ns) / 1e9 /
			    (t1 - t0) * 100, k,
			    (double)(pi1[i].cpu_ns - pi0[i].cpu_ns) / 1e6, k,
			    (double)(pi1[i].ticks - pi0[i].ticks) / hz /
			    (t1 - t0) * 100, k, pi1[i].rss_kib);
			(void)who;
		}
		fflush(stdout);
	}
	hqd_stop(&h, &ru);
	put("hqd_cpu_s", "%.3f", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	put("hqd_cpu_us_per_entry", "%.1f", (ru.ru_utime.tv_sec * 1e6 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
	    ru.ru_stime.tv_usec) / (total ? (double)total : 1));
	put("db_rows", "%ld", db_count(db));
	if (series)
		fclose(series);
	munmap(sg, sizeof(struct seg));
	munmap(sh, sizeof(*sh) + MAX_RECS * sizeof(struct prec));
	return 0;
}

/* exec -> READY=1, and separately exec -> first `hqctl health` exit 0. */
static int
cmd_startup(struct opts *o)
{
	char		 root[PATH_MAX], db[PATH_MAX], p[PATH_MAX], line[512];
	double		*ready = calloc((size_t)o->reps, sizeof(double));
	double		*health = calloc((size_t)o->reps, sizeof(double));
	double		*logged = calloc((size_t)o->reps, sizeof(double));
	size_t		 nl = 0;
	struct hqd	 h;
	struct rusage	 ru;
	int		 r, st;

	snprintf(root, sizeof(root), "%s/q", o->dir);
	snprintf(db, sizeof(db), "%s/db", o->dir);
	for (r = 0; r < o->reps; r++) {
		FILE *f;

		rm_rf(o->dir);
		mkdir_p(o->dir);
		make_db(db);
		hqd_start(&h, o, root, db, o->workers);
		if (!hqd_wait_ready(&h, o->timeout))
			die("hqd did not become ready (see %s)", h.log);
		ready[r] = (h.t_ready_mono - h.t_exec_mono) / 1e6;
		hqd_stop(&h, &ru);
		if ((f = fopen(h.log, "r")) != NULL) {
			double ms = -1;

			while (fgets(line, sizeof(line), f)) {
				char *s = strstr(line, "workers up in ");

				if (s)
					ms = atof(s + strlen("workers up in "));
			}
			fclose(f);
			if (ms >= 0)
				logged[nl++] = ms;
		}
		/* second start: poll hqctl health until it says yes */
		rm_rf(o->dir);
		mkdir_p(o->dir);
		make_db(db);
		hqd_start(&h, o, root, db, o->workers);
		for (;;) {
			pid_t c = fork();

			if (c == 0) {
				int nul = open("/dev/null", O_WRONLY);

				dup2(nul, 1);
				dup2(nul, 2);
				execl(o->hqctl, o->hqctl, "--root", root,
				    "health", (char *)NULL);
				_exit(127);
			}
			waitpid(c, &st, 0);
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				break;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
				die("cannot run %s", o->hqctl);
			if ((mono_ns() - h.t_exec_mono) / 1e9 > o->timeout)
				die("hqctl health never succeeded");
		}
		health[r] = (mono_ns() - h.t_exec_mono) / 1e6;
		hqd_stop(&h, &ru);
	}
	snprintf(p, sizeof(p), "%d", o->reps);
	put("reps", "%s", p);
	qsort(ready, (size_t)o->reps, sizeof(double), cmp_d);
	qsort(health, (size_t)o->reps, sizeof(double), cmp_d);
	qsort(logged, nl, sizeof(double), cmp_d);
	put("ready_p50_ms", "%.2f", pct(ready, (size_t)o->reps, 0.5));
	put("ready_max_ms", "%.2f", ready[o->reps - 1]);
	put("ready_min_ms", "%.2f", ready[0]);
	put("health_p50_ms", "%.2f", pct(health, (size_t)o->reps, 0.5));
	put("health_max_ms", "%.2f", health[o->reps - 1]);
	if (nl > 0) {
		put("logged_p50_ms", "%.0f", pct(logged, nl, 0.5));
		put("logged_max_ms", "%.0f", logged[nl - 1]);
	}
	free(ready);
	free(health);
	free(logged);
	return 0;
}

/* hqb cpu N -- CMD...: run CMD, pass its output on, add its CPU time
 * (user + system, waited-for descendants included) per N entries. */
static int
cmd_cpu(int argc, char **argv)
{
	struct rusage	ru;
	long		n;
	pid_t		pid;
	int		st;

	if (argc < 5 || strcmp(argv[3], "--") != 0 || (n = atol(argv[2])) <= 0)
		die("usage: hqb cpu N -- CMD [ARGS...]");
	fflush(stdout);
	if ((pid = fork()) == 0) {
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	if (pid == -1 || wait4(pid, &st, 0, &ru) != pid)
		die("run %s: %s", argv[4], strerror(errno));
	put("cpu_s", "%.3f", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	put("cpu_us_per_entry", "%.1f", (ru.ru_utime.tv_sec * 1e6 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
	    ru.ru_stime.tv_usec) / n);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: hqb run --hqd BIN --dir DIR [--workers N] [--sync full|normal]\n"
	    "           [--prefill N] [--procs N] [--rate R] [--each N | --seconds S]\n"
	    "           [--no-fsync] [--batch K] [--format json|msgpack] [--size small|4k]\n"
	    "           [--observe] [--series FILE] [--raw-out FILE]\n"
	    "           [--idle S [--warm N]] [--timeout S]\n"
	    "       hqb startup --hqd BIN --hqctl BIN --dir DIR [--workers N] [--reps N]\n"
	    "       hqb cpu N -- CMD [ARGS...]   (CMD's CPU time per N entries)\n"
	    "DIR is removed and recreated: the queue is DIR/q, the database DIR/db.\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "hqd", required_argument, NULL, 'H' },
		{ "hqctl", required_argument, NULL, 'C' },
		{ "dir", required_argument, NULL, 'd' },
		{ "workers", required_argument, NULL, 'w' },
		{ "sync", required_argument, NULL, 'S' },
		{ "prefill", required_argument, NULL, 'P' },
		{ "procs", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "each", required_argument, NULL, 'e' },
		{ "seconds", required_argument, NULL, 's' },
		{ "no-fsync", no_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'B' },
		{ "format", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 'z' },
		{ "observe", no_argument, NULL, 'o' },
		{ "series", required_argument, NULL, 'T' },
		{ "raw-out", required_argument, NULL, 'R' },
		{ "idle", required_argument, NULL, 'I' },
		{ "warm", required_argument, NULL, 'W' },
		{ "reps", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "series-ms", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts	o;
	const char	*cmd;
	int		 ch;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (strcmp(cmd, "cpu") == 0)
		return cmd_cpu(argc, argv);
	memset(&o, 0, sizeof(o));
	o.workers = 2;
	o.reps = 5;
	o.timeout = 300;
	o.series_ms = 100;
	memset(pad, 'x', sizeof(pad));
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'H': o.hqd = optarg; break;
		case 'C': o.hqctl = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'w': o.workers = atoi(optarg); break;
		case 'S': o.sync_normal = strcmp(optarg, "normal") == 0; break;
		case 'P': o.prefill = atol(optarg); break;
		case 'p': o.procs = atoi(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'e': o.each = atol(optarg); break;
		case 's': o.seconds = atof(optarg); break;
		case 'n': o.no_fsync = true; break;
		case 'B': o.batch = atoi(optarg); break;
		case 'f': o.fmt = strcmp(optarg, "msgpack") == 0 ?
		    FMT_MSGPACK : FMT_JSON; break;
		case 'z': o.big = strcmp(optarg, "4k") == 0; break;
		case 'o': o.observe = true; break;
		case 'T': o.series = optarg; break;
		case 'R': o.raw_out = optarg; break;
		case 'I': o.idle = atof(optarg); break;
		case 'W': o.warm = atol(optarg); break;
		case 'k': o.reps = atoi(optarg); break;
		case 't': o.timeout = atof(optarg); break;
		case 'M': o.series_ms = atof(optarg); break;
		default: usage();
		}
	}
	if (o.hqd == NULL || o.dir == NULL || o.workers < 1 ||
	    o.workers > HQ_MAX_WORKERS || o.reps < 1)
		usage();
	if (access(o.hqd, X_OK) == -1)
		die("%s: %s", o.hqd, strerror(errno));
	if (o.procs > 0 && o.each == 0 && o.seconds <= 0)
		die("--procs needs --each or --seconds");
	if (o.batch > 1 && (o.rate > 0 || o.fmt != FMT_JSON || o.big))
		die("--batch: small JSON entries, unpaced");
	if (strcmp(cmd, "run") == 0)
		return cmd_run(&o);
	if (strcmp(cmd, "startup") == 0) {
		if (o.hqctl == NULL)
			usage();
		return cmd_startup(&o);
	}
	usage();
}

/* SPDX-License-Identifier: MIT */
/* enqueue.c: the producer side; linked by hqctl and by C programs that
 * enqueue without spawning a process. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/enqueue.h"
#include "common/fd.h"
#include "common/hq.h"
#include "common/log.h"
#include "common/now.h"
#include "common/pbuf.h"

static void
enqueue_text(struct pbuf *b, const char *s)
{
	pbuf_json_bytes(b, s, strlen(s));
}

/* The document, keys as the old library writes them. Text goes out as
 * bytes (pbuf_json_bytes): entries carry what is not UTF-8 unchanged.
 * meta_str: the metadata text as a JSON string, not as a JSON value. */
static void
enqueue_json(struct pbuf *b, const struct hq_enqueue *e, int priority,
    const char *seq, const char *stamp, bool meta_str)
{
	size_t	i;

	pbuf_printf(b, "{\"seq\":\"%s\",\"priority\":%d,\"operation\":", seq,
	    priority);
	enqueue_text(b, e->operation ? e->operation : "generic");
	pbuf_printf(b, ",\"sql\":");
	enqueue_text(b, e->sql);
	if (e->nparams > 0) {
		pbuf_printf(b, ",\"params\":[");
		for (i = 0; i < e->nparams; i++) {
			const struct entry_param *p = &e->params[i];

			if (i > 0)
				pbuf_printf(b, ",");
			switch (p->type) {
			case ENTRY_PARAM_INT:
				pbuf_printf(b, "%lld", (long long)p->i);
				break;
			case ENTRY_PARAM_REAL:
				pbuf_printf(b, "%.17g", p->d);
				break;
			case ENTRY_PARAM_TEXT:
				/* By length: a NUL inside is escaped, not an
				 * end. */
				pbuf_json_bytes(b, p->p, p->len);
				break;
			case ENTRY_PARAM_BLOB:	/* refused before */
			case ENTRY_PARAM_NULL:
				pbuf_printf(b, "null");
				break;
			}
		}
		pbuf_printf(b, "]");
	}
	if (e->id != NULL) {
		pbuf_printf(b, ",\"id\":");
		enqueue_text(b, e->id);
	}
	pbuf_printf(b, ",\"metadata\":");
	if (e->metadata == NULL)
		pbuf_printf(b, "{}");
	else if (meta_str)
		enqueue_text(b, e->metadata);
	else
		pbuf_add(b, e->metadata, strlen(e->metadata));
	pbuf_printf(b, ",\"created_at\":\"%s\",\"retries\":0}\n", stamp);
}

/* Decode b as hqd will: 0, or -1 with the reason in why. */
static int
enqueue_check(const struct pbuf *b, char *why, size_t whylen)
{
	struct entry	check;

	if (entry_decode(ENTRY_JSON, b->data, b->len, &check, why,
	    whylen) == -1)
		return -1;
	entry_free(&check);
	return 0;
}

/* Append "; " and a note to err (the lenient path says all it did). */
static void __attribute__((format(printf, 3, 4)))
enqueue_note(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;
	size_t	n = strlen(err);

	if (n > 0 && n + 2 < errlen) {
		memcpy(err + n, "; ", 3);
		n += 2;
	}
	if (n + 1 >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/*
 * Check e and render it into b under a fresh name: 0, or -1 with errno
 * and err (nothing written). err may carry lenient notes on success.
 */
static int
enqueue_build(const struct hq_enqueue *e, struct pbuf *b, char *name,
    size_t namelen, char *err, size_t errlen)
{
	static unsigned long	 counter;
	char			 seq[64], stamp[32], why[256];
	uint64_t		 ns = now_wall_ns();
	size_t			 i;
	int			 priority = e->priority;

	if (e->sql == NULL) {
		snprintf(err, errlen, "sql is missing");
		errno = EINVAL;
		return -1;
	}
	if (priority < 1 || priority > 10) {
		if (!e->lenient) {
			snprintf(err, errlen, "priority %d is not in 1..10",
			    e->priority);
			errno = EINVAL;
			return -1;
		}
		priority = priority < 1 ? 1 : 10;
		enqueue_note(err, errlen, "priority %d is not in 1..10: "
		    "queued at %d", e->priority, priority);
	}
	if (!e->lenient && e->sql[strspn(e->sql, " \t\r\n;")] == '\0') {
		snprintf(err, errlen, "sql is empty");
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < e->nparams; i++)
		if (e->params[i].type == ENTRY_PARAM_BLOB) {
			/* As text it would change type and end at a NUL. */
			snprintf(err, errlen, "param %zu is a blob, which a "
			    "JSON entry cannot carry", i + 1);
			errno = EINVAL;
			return -1;
		}
	/* The old library's SEQ, {epoch-ns}_{counter}, plus the pid so two
	 * producers in the same nanosecond cannot collide. */
	snprintf(seq, sizeof(seq), "%llu_%ld_%lu", (unsigned long long)ns,
	    (long)getpid(), ++counter);
	now_iso8601(stamp, ns);
	if (snprintf(name, namelen, "%d_%s.json", priority, seq) >=
	    (int)namelen) {
		snprintf(err, errlen, "name buffer too small");
		errno = ENAMETOOLONG;
		return -1;
	}
	enqueue_json(b, e, priority, seq, stamp, false);
	/* What hqd would refuse is refused here, before anything is
	 * written: the producer hears of it, not a dead letter. A lenient
	 * producer (a hook that ignores return codes) would hear of it and
	 * lose the write: it gets the dead letter, with its reason. */
	if (enqueue_check(b, why, sizeof(why)) == -1) {
		if (!e->lenient) {
			snprintf(err, errlen, "entry would not decode: %s%s",
			    why, e->metadata ? " (check --metadata)" : "");
			errno = EINVAL;
			return -1;
		}
		/* Every other value is written by us as valid JSON: a
		 * syntax error can only be the metadata's. */
		if (e->metadata != NULL && strncmp(why, "json:", 5) == 0) {
			enqueue_note(err, errlen, "metadata is not JSON (%s): "
			    "kept as a JSON string", why);
			b->len = 0;
			enqueue_json(b, e, priority, seq, stamp, true);
		}
		if (enqueue_check(b, why, sizeof(why)) == -1)
			enqueue_note(err, errlen, "queued anyway, hqd will "
			    "move it to failed/: %s", why);
	}
	return 0;
}

/* One entry between its temp file and pending/. */
struct enqueue_file {
	struct pbuf	 b;
	char		 tmp[PATH_MAX];
	int		 fd;
};

/* Create and fill the temp file; with kick, start its writeback now so
 * that the data of a whole batch is in flight before the first flush
 * waits. */
static int
enqueue_write(const char *root, const char *name, struct enqueue_file *f,
    bool kick, char *err, size_t errlen)
{
	snprintf(f->tmp, sizeof(f->tmp), "%s/%s/.%s", root, HQ_DIR_TMP, name);
	if ((f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1) {
		snprintf(err, errlen, "create %s: %s", f->tmp,
		    strerror(errno));
		f->tmp[0] = '\0';
		return -1;
	}
	if (fd_write_full(f->fd, f->b.data, f->b.len) == -1) {
		snprintf(err, errlen, "write %s: %s", f->tmp, strerror(errno));
		return -1;
	}
	if (kick)
		(void)sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

/*
 * Flush the data (sync), stamp, close and rename into pending/, the
 * commit point (never over an existing entry). fdatasync, not fsync:
 * the size that makes the data readable is flushed either way, the
 * mtime (set after it) need not survive a crash.
 */
static int
enqueue_publish(const char *root, const char *name, struct enqueue_file *f,
    bool sync, char *err, size_t errlen)
{
	char		dst[PATH_MAX];
	struct timespec	ts[2];
	int		fd = f->fd;

	if (sync && fdatasync(fd) == -1) {
		snprintf(err, errlen, "write %s: %s", f->tmp, strerror(errno));
		return -1;
	}
	/* mtime is hq's enqueue stamp (latency is measured from it): set it
	 * just before the rename that publishes, from CLOCK_REALTIME.
	 * futimens(fd, NULL) would take the kernel's coarse clock (one
	 * tick, 4 ms at HZ=250) and hqd's latencies would read that much
	 * high; explicit times are stored to the nanosecond. */
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[1] = ts[0];
	if (futimens(fd, ts) == -1) {
		snprintf(err, errlen, "stamp %s: %s", f->tmp, strerror(errno));
		return -1;
	}
	f->fd = -1;
	if (close(fd) == -1) {
		snprintf(err, errlen, "close %s: %s", f->tmp, strerror(errno));
		return -1;
	}
	snprintf(dst, sizeof(dst), "%s/%s/%s", root, HQ_DIR_PENDING, name);
	if (fd_rename_noreplace(AT_FDCWD, f->tmp, AT_FDCWD, dst) == -1) {
		snprintf(err, errlen, "rename into %s: %s", dst,
		    strerror(errno));
		return -1;
	}
	f->tmp[0] = '\0';
	return 0;
}

/* Undo what a failed entry left: its descriptor and temp file. */
static void
enqueue_discard(struct enqueue_file *f)
{
	int	saved = errno;

	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	if (f->tmp[0] != '\0')
		unlink(f->tmp);
	f->tmp[0] = '\0';
	pbuf_free(&f->b);
	errno = saved;
}

/* The renames' directory entries to disk: one flush for a whole batch.
 * The entries are in pending/ already and will be applied; a failure
 * here only says they might not survive a power loss. */
static void
enqueue_sync_dir(const char *root, char *err, size_t errlen)
{
	char	path[PATH_MAX];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", root, HQ_DIR_PENDING);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		enqueue_note(err, errlen, "fsync %s: %s", path,
		    strerror(errno));
	if (fd != -1)
		close(fd);
}

/* Temp files open at once in a batch: the data of that many entries is
 * in flight together, and a batch of any size stays far below the
 * descriptor limit. */
#define ENQUEUE_CHUNK	64

int
hq_enqueue_many(const char *root, const struct hq_enqueue *e, size_t n,
    char *names, size_t namelen, size_t *done, char *err, size_t errlen)
{
	struct enqueue_file	 one, *f = &one;
	char			 note[PATH_MAX + 256];
	size_t			 base, i, k, nf, ok = 0;
	bool			 anysync = false;
	int			 ret = 0;

	if (errlen > 0)
		err[0] = '\0';
	if (done != NULL)
		*done = 0;
	/* As many as the batch needs: a chunk on the stack would be 260 KiB
	 * (a page fault for each 4 KiB touched, ~0.5 ms of a one-entry
	 * hqctl enqueue; and past the guard page of a small thread stack). */
	nf = n < ENQUEUE_CHUNK ? n : ENQUEUE_CHUNK;
	if (nf > 1 && (f = calloc(nf, sizeof(*f))) == NULL) {
		enqueue_note(err, errlen, "%s", strerror(ENOMEM));
		errno = ENOMEM;		/* the caller's status comes from it */
		return -1;
	}
	for (i = 0; i < nf; i++) {
		memset(&f[i].b, 0, sizeof(f[i].b));
		f[i].fd = -1;
		f[i].tmp[0] = '\0';
	}
	for (base = 0; base < n && ret == 0; base += k) {
		k = n - base < ENQUEUE_CHUNK ? n - base : ENQUEUE_CHUNK;
		for (i = 0; i < k && ret == 0; i++) {
			const struct hq_enqueue *x = &e[base + i];
			char *name = names + (base + i) * namelen;

			note[0] = '\0';
			f[i].b.len = 0;
			if (enqueue_build(x, &f[i].b, name, namelen, note,
			    sizeof(note)) == -1 ||
			    enqueue_write(root, name, &f[i], n > 1 &&
			    !x->no_sync, note, sizeof(note)) == -1)
				ret = -1;
			if (note[0] != '\0' && n > 1)
				enqueue_note(err, errlen, "entry %zu: %s",
				    base + i + 1, note);
			else if (note[0] != '\0')
				enqueue_note(err, errlen, "%s", note);
		}
		/* Nothing of a chunk that failed to write is published:
		 * the entries before it are, and *done says how many. */
		for (i = 0; i < k && ret == 0; i++) {
			const struct hq_enqueue *x = &e[base + i];

			note[0] = '\0';
			if (enqueue_publish(root, names + (base + i) * namelen,
			    &f[i], !x->no_sync, note, sizeof(note)) == -1) {
				if (n > 1)
					enqueue_note(err, errlen, "entry %zu: "
					    "%s", base + i + 1, note);
				else
					enqueue_note(err, errlen, "%s", note);
				ret = -1;
				break;
			}
			anysync |= !x->no_sync;
			ok++;
		}
		for (i = 0; i < k; i++)
			enqueue_discard(&f[i]);
	}
	/* Published entries are flushed whatever failed after them: the
	 * caller is told they are enqueued. */
	if (anysync && ok > 0) {
		int saved = errno;

		enqueue_sync_dir(root, err, errlen);
		errno = saved;
	}
	if (f != &one)
		free(f);
	if (done != NULL)
		*done = ok;
	return ret;
}

int
hq_enqueue(const char *root, const struct hq_enqueue *e, char *name,
    size_t namelen, char *err, size_t errlen)
{
	return hq_enqueue_many(root, e, 1, name, namelen, NULL, err, errlen);
}

/* hqctl's --priority and the bash builtin's argument (enqueue.h). */
int
hq_enqueue_priority(const char *arg, bool lenient, int *prio)
{
	char	*end;
	long	 l;

	errno = 0;
	l = strtol(arg, &end, 10);
	if (*end == '\0' && end != arg) {
		if (errno == ERANGE || l < INT_MIN || l > INT_MAX)
			l = l < 0 ? INT_MIN : INT_MAX;
		if ((l >= 1 && l <= 10) || lenient) {
			*prio = (int)l;
			return 0;
		}
		return -1;
	}
	if (!lenient)
		return -1;
	*prio = 5;
	return 1;
}

int
hq_enqueue_status(int errnum)
{
	return errnum == EINVAL ? HQ_EX_DATAERR : errnum == ENOENT ?
	    HQ_EX_NOINPUT : HQ_EX_CANTCREAT;
}

/* On stderr, timestamped: the shell library appends it to worker.log,
 * beside hqd's lines. */
void
hq_enqueue_warn(const char *name, const char *badprio, const char *notes)
{
	if (badprio != NULL)
		log_warnx("%s: priority '%s' is not an integer: queued at 5",
		    name, badprio);
	if (notes[0] != '\0')
		log_warnx("%s: %s", name, notes);
}

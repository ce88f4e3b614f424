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

int
hq_enqueue(const char *root, const struct hq_enqueue *e, char *name,
    size_t namelen, char *err, size_t errlen)
{
	static unsigned long	 counter;
	struct pbuf		 b = { 0 };
	char			 seq[64], stamp[32], path[PATH_MAX];
	char			 tmp[PATH_MAX], dst[PATH_MAX], why[256];
	struct timespec		 ts[2];
	uint64_t		 ns = now_wall_ns();
	size_t			 i;
	int			 fd = -1, saved, ret = -1, priority = e->priority;

	if (errlen > 0)
		err[0] = '\0';
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
	enqueue_json(&b, e, priority, seq, stamp, false);
	/* What hqd would refuse is refused here, before anything is
	 * written: the producer hears of it, not a dead letter. A lenient
	 * producer (a hook that ignores return codes) would hear of it and
	 * lose the write: it gets the dead letter, with its reason. */
	if (enqueue_check(&b, why, sizeof(why)) == -1) {
		if (!e->lenient) {
			snprintf(err, errlen, "entry would not decode: %s%s",
			    why, e->metadata ? " (check --metadata)" : "");
			pbuf_free(&b);
			errno = EINVAL;
			return -1;
		}
		/* Every other value is written by us as valid JSON: a
		 * syntax error can only be the metadata's. */
		if (e->metadata != NULL && strncmp(why, "json:", 5) == 0) {
			enqueue_note(err, errlen, "metadata is not JSON (%s): "
			    "kept as a JSON string", why);
			b.len = 0;
			enqueue_json(&b, e, priority, seq, stamp, true);
		}
		if (enqueue_check(&b, why, sizeof(why)) == -1)
			enqueue_note(err, errlen, "queued anyway, hqd will "
			    "move it to failed/: %s", why);
	}
	snprintf(tmp, sizeof(tmp), "%s/%s/.%s", root, HQ_DIR_TMP, name);
	snprintf(dst, sizeof(dst), "%s/%s/%s", root, HQ_DIR_PENDING, name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1) {
		snprintf(err, errlen, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fd_write_full(fd, b.data, b.len) == -1 ||
	    (!e->no_sync && fsync(fd) == -1)) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* mtime is hq's enqueue stamp (latency is measured from it): set it
	 * after the fsync, just before the rename that publishes, from
	 * CLOCK_REALTIME. futimens(fd, NULL) would take the kernel's coarse
	 * clock (one tick, 4 ms at HZ=250) and hqd's latencies would read
	 * that much high; explicit times are stored to the nanosecond. */
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[1] = ts[0];
	if (futimens(fd, ts) == -1) {
		snprintf(err, errlen, "stamp %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "close %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	/* The commit point; never replaces an existing entry. */
	if (fd_rename_noreplace(AT_FDCWD, tmp, AT_FDCWD, dst) == -1) {
		snprintf(err, errlen, "rename into %s: %s", dst,
		    strerror(errno));
		goto out;
	}
	if (e->sync_dir) {
		snprintf(path, sizeof(path), "%s/%s", root, HQ_DIR_PENDING);
		if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		    -1 || fsync(fd) == -1) {
			/* The entry is in pending/ and will be applied. */
			snprintf(err, errlen, "fsync %s: %s", path,
			    strerror(errno));
		}
	}
	ret = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (ret == -1)
		unlink(tmp);
	pbuf_free(&b);
	errno = saved;
	return ret;
}

/* SPDX-License-Identifier: MIT */
/* queue.c: the queue tree; used by the supervisor (recovery), by workers
 * (claim, finish, fail) and by hqctl (depths, failed/, retry). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fault.h"
#include "common/fd.h"
#include "common/hq.h"
#include "common/log.h"
#include "common/now.h"
#include "common/pbuf.h"
#include "common/queue.h"
#include "common/xmalloc.h"

/* A copy number has at most this many digits; the first QUEUE_COPY_SEQ
 * tries of queue_copy_name() count up from 2, the others are random. */
#define QUEUE_COPY_DIGITS	(HQ_COPY_MAX - 1)
#define QUEUE_COPY_SEQ		100

static int
queue_subdir(int rootfd, const char *name, bool create, int mode)
{
	int	fd;

	if (create && mkdirat(rootfd, name, (mode_t)mode) == -1 &&
	    errno != EEXIST)
		return -1;
	if ((fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return -1;
	return fd;
}

/* mkdir -p for the root itself. */
static int
queue_mkdirs(const char *path, int mode)
{
	char	buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static const struct { const char *name; size_t off; } queue_dirs[] = {
	{ HQ_DIR_TMP, offsetof(struct queue, tmpfd) },
	{ HQ_DIR_PENDING, offsetof(struct queue, pendingfd) },
	{ HQ_DIR_PROCESSING, offsetof(struct queue, processingfd) },
	{ HQ_DIR_COMPLETED, offsetof(struct queue, completedfd) },
	{ HQ_DIR_FAILED, offsetof(struct queue, failedfd) },
};

#define QUEUE_FD(q, i)	(*(int *)(void *)((char *)(q) + queue_dirs[i].off))

int
queue_reopen(struct queue *q, int mode)
{
	size_t	i;
	int	fd, ret = 0;

	for (i = 0; i < nitems(queue_dirs); i++) {
		if ((fd = queue_subdir(q->rootfd, queue_dirs[i].name, true,
		    mode)) == -1) {
			ret = -1;
			continue;
		}
		if (QUEUE_FD(q, i) != -1)
			close(QUEUE_FD(q, i));
		QUEUE_FD(q, i) = fd;
	}
	return ret;
}

int
queue_open(struct queue *q, const char *root, bool create, int mode,
    char *err, size_t errlen)
{
	char	real[PATH_MAX];
	size_t	i;

	memset(q, 0, sizeof(*q));
	q->rootfd = q->tmpfd = q->pendingfd = q->processingfd =
	    q->completedfd = q->failedfd = -1;
	q->note_mode = QUEUE_NOTE_MODE;
	if (create && queue_mkdirs(root, mode) == -1) {
		snprintf(err, errlen, "%s: cannot create: %s", root,
		    strerror(errno));
		return -1;
	}
	if (realpath(root, real) == NULL ||
	    (q->rootfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		goto fail;
	}
	q->root = xstrdup(real);
	for (i = 0; i < nitems(queue_dirs); i++) {
		int fd = queue_subdir(q->rootfd, queue_dirs[i].name, create,
		    mode);

		if (fd == -1) {
			snprintf(err, errlen, "%s/%s: %s", real,
			    queue_dirs[i].name, strerror(errno));
			goto fail;
		}
		QUEUE_FD(q, i) = fd;
	}
	return 0;
fail:
	queue_close(q);
	return -1;
}

void
queue_close(struct queue *q)
{
	int	*fds[] = { &q->rootfd, &q->tmpfd, &q->pendingfd,
	    &q->processingfd, &q->completedfd, &q->failedfd };
	size_t	i;

	for (i = 0; i < nitems(fds); i++) {
		if (*fds[i] != -1)
			close(*fds[i]);
		*fds[i] = -1;
	}
	free(q->root);
	q->root = NULL;
}

bool
queue_name_hidden(const char *name)
{
	return name[0] == '.';
}

bool
queue_name_parse(const char *name, struct queue_name *qn)
{
	const char	*p = name, *seq, *end, *dot;
	size_t		 len = strlen(name);
	unsigned long	 copy = 0;
	int		 prio;

	if (!isdigit((unsigned char)p[0]) || p[0] == '0')
		return false;
	prio = p[0] - '0';
	p++;
	if (prio == 1 && *p == '0') {
		prio = 10;
		p++;
	}
	if (*p++ != '_')
		return false;
	seq = p;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
		p++;
	if (p == seq)
		return false;
	end = p;
	if (*p == '~') {
		if (*++p < '1' || *p > '9')
			return false;
		while (isdigit((unsigned char)*p) &&
		    p - end <= QUEUE_COPY_DIGITS)
			copy = copy * 10 + (unsigned long)(*p++ - '0');
	}
	if (*p != '.' || len - (size_t)(p - end) > HQ_NAME_MAX)
		return false;
	dot = p;
	if (qn != NULL) {
		qn->priority = prio;
		qn->seq = seq;
		qn->seq_len = (size_t)(end - seq);
		qn->copy = copy;
	}
	if (strcmp(dot, ".json") == 0) {
		if (qn != NULL)
			qn->format = ENTRY_JSON;
		return true;
	}
	if (strcmp(dot, ".msgpack") == 0) {
		if (qn != NULL)
			qn->format = ENTRY_MSGPACK;
		return true;
	}
	return false;
}

/* strverscmp-like on bounded strings: runs of digits compare as numbers
 * (leading zeros ignored, then by length), other bytes as bytes. */
int
queue_seq_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	i = 0, j = 0;

	while (i < alen && j < blen) {
		if (isdigit((unsigned char)a[i]) &&
		    isdigit((unsigned char)b[j])) {
			size_t si, sj, li, lj;

			while (i < alen && a[i] == '0')
				i++;
			while (j < blen && b[j] == '0')
				j++;
			for (si = i; i < alen && isdigit((unsigned char)a[i]);)
				i++;
			for (sj = j; j < blen && isdigit((unsigned char)b[j]);)
				j++;
			li = i - si;
			lj = j - sj;
			if (li != lj)
				return li < lj ? -1 : 1;
			if (li > 0) {
				int c = memcmp(a + si, b + sj, li);
				if (c != 0)
					return c;
			}
			continue;
		}
		if (a[i] != b[j])
			return (unsigned char)a[i] < (unsigned char)b[j] ?
			    -1 : 1;
		i++;
		j++;
	}
	if (i < alen)
		return 1;
	if (j < blen)
		return -1;
	return 0;
}

int
queue_name_cmp(const char *a, const char *b)
{
	struct queue_name	qa, qb;
	int			c;

	if (!queue_name_parse(a, &qa) || !queue_name_parse(b, &qb))
		return strcmp(a, b);
	if (qa.priority != qb.priority)
		return qa.priority < qb.priority ? -1 : 1;
	if ((c = queue_seq_cmp(qa.seq, qa.seq_len, qb.seq, qb.seq_len)) != 0)
		return c;
	return strcmp(a, b);
}

int
queue_worker_dir(struct queue *q, int slot, bool create)
{
	char	name[32];

	/* From the root by path: a processing/ recreated since we opened
	 * the tree is the one to use. */
	if (create && mkdirat(q->rootfd, HQ_DIR_PROCESSING, 0750) == -1 &&
	    errno != EEXIST)
		return -1;
	snprintf(name, sizeof(name), HQ_DIR_PROCESSING "/w%d", slot);
	return queue_subdir(q->rootfd, name, create, 0750);
}

bool
queue_dirent_isdir(int dirfd, const struct dirent *de)
{
	struct stat	st;

	return de->d_type == DT_DIR || (de->d_type == DT_UNKNOWN &&
	    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode));
}

/* Move every non-directory entry of dirfd into pending/. Dot files are
 * producers' temp files and never live here, but they are moved as well:
 * processing/ must end empty. */
static long
queue_requeue_dir(struct queue *q, int dirfd)
{
	DIR		*d;
	struct dirent	*de;
	long		 moved = 0;

	if ((d = fd_opendir(dirfd)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (queue_dirent_isdir(dirfd, de))
			continue;
		/* Never over a pending entry of the same name: both stay. */
		if (renameat2(dirfd, de->d_name, q->pendingfd, de->d_name,
		    RENAME_NOREPLACE) == -1) {
			log_warn("requeue %s", de->d_name);
			continue;
		}
		moved++;
		HQ_FAULT("recover_mid");
	}
	closedir(d);
	return moved;
}

long
queue_requeue_slot(struct queue *q, int slot)
{
	long	n;
	int	fd;

	if ((fd = queue_worker_dir(q, slot, false)) == -1)
		return errno == ENOENT ? 0 : -1;
	n = queue_requeue_dir(q, fd);
	close(fd);
	return n;
}

long
queue_requeue_all(struct queue *q)
{
	DIR		*d;
	struct dirent	*de;
	long		 total, n;

	if (queue_reopen(q, 0750) == -1 ||
	    (total = queue_requeue_dir(q, q->processingfd)) == -1)
		return -1;
	if ((d = fd_opendir(q->processingfd)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		int sub;

		if (de->d_name[0] != 'w' || de->d_type != DT_DIR)
			continue;
		if ((sub = openat(q->processingfd, de->d_name, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) == -1)
			continue;
		if ((n = queue_requeue_dir(q, sub)) > 0)
			total += n;
		close(sub);
	}
	closedir(d);
	return total;
}

int
queue_copy_name(const char *name, unsigned try, char *out, size_t outlen)
{
	struct queue_name	qn;
	const char		*end, *ext;
	unsigned long		 n;
	uint64_t		 r;

	if (try == 0)
		n = 0;
	else if (try <= QUEUE_COPY_SEQ)
		n = try + 1;
	else {
		/* splitmix64 of the clock and the pid: two processes at the
		 * same nanosecond still differ. Not security: a collision
		 * only costs another try. */
		r = now_wall_ns() ^ ((uint64_t)getpid() << 40) ^ try;
		r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ULL;
		r = (r ^ (r >> 27)) * 0x94d049bb133111ebULL;
		r ^= r >> 31;
		n = QUEUE_COPY_SEQ + 2 + (unsigned long)(r % (999999999UL -
		    QUEUE_COPY_SEQ - 1));
	}
	if (queue_name_parse(name, &qn)) {
		end = qn.seq + qn.seq_len;	/* an older "~N" goes */
		ext = strchr(end, '.');
	} else
		end = ext = name + strlen(name);
	if ((n == 0 ? snprintf(out, outlen, "%s", name) :
	    snprintf(out, outlen, "%.*s~%lu%s", (int)(end - name), name, n,
	    ext)) >= (int)outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The note of a dead letter: one line of JSON. */
static void
queue_note(struct pbuf *note, const char *name, const char *reason,
    long attempts, int worker_slot)
{
	char	stamp[32], cut[QUEUE_REASON_MAX + 4];
	size_t	n = strlen(reason), i;

	now_iso8601(stamp, now_wall_ns());
	pbuf_printf(note, "{\"entry\":");
	pbuf_json_str(note, name);
	pbuf_printf(note, ",\"error\":");
	/* Bounded: a reason is a line for people, not a dump (and it may
	 * quote the database). Cut between characters, marked. */
	if (n > QUEUE_REASON_MAX) {
		for (i = QUEUE_REASON_MAX; i > 0 &&
		    ((unsigned char)reason[i] & 0xc0) == 0x80; i--)
			;
		snprintf(cut, sizeof(cut), "%.*s...", (int)i, reason);
		reason = cut;
	}
	pbuf_json_str(note, reason);
	pbuf_printf(note, ",\"attempts\":%ld,\"failed_at\":\"%s\","
	    "\"worker\":%d}\n", attempts, stamp, worker_slot);
}

/* Whether failed/<as> or its note's name is taken; if so, and why is not
 * NULL, what takes it into why (for the log). */
static bool
queue_taken(int failedfd, const char *as, const char *errname, char *why,
    size_t whylen)
{
	struct stat	 st;
	const char	*at = as;

	if (fstatat(failedfd, as, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (fstatat(failedfd, errname, &st, AT_SYMLINK_NOFOLLOW) == -1)
			return false;
		at = errname;
	}
	if (why != NULL)
		snprintf(why, whylen, "failed/%s is taken (%s)", at,
		    S_ISDIR(st.st_mode) ? "a directory" :
		    !S_ISREG(st.st_mode) ? "not a file" : at == as ?
		    "a dead letter" : "a note");
	return true;
}

/* errname is a regular file and as does not exist. */
static bool
queue_lone_note(int failedfd, const char *as, const char *errname)
{
	struct stat	st;

	return fstatat(failedfd, as, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT && fstatat(failedfd, errname, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int
queue_fail(struct queue *q, int fromfd, const char *name, const char *reason,
    long attempts, int worker_slot)
{
	struct pbuf	 note = { 0 };
	struct stat	 st;
	char		 as[NAME_MAX + 1], errname[NAME_MAX + 1];
	char		 why[NAME_MAX + 64] = "";
	unsigned	 try;
	int		 ret = -1, saved;

	/* The note says what the database said, which may be its data: no
	 * more readable than the entry that asked, nor than q->note_mode. */
	if (fstatat(fromfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	for (try = 0; try < QUEUE_COPY_TRIES; try++) {
		if (queue_copy_name(name, try, as, sizeof(as)) == -1 ||
		    snprintf(errname, sizeof(errname), "%s" HQ_REASON_SUFFIX,
		    as) >= (int)sizeof(errname)) {
			errno = ENAMETOOLONG;
			goto out;
		}
		/* A note alone, without its entry, is what a crash between
		 * the two renames below leaves; that entry went back to
		 * pending/ and is, most likely, the one failing now. The
		 * note goes, rather than piling up beside a copy. */
		if (queue_lone_note(q->failedfd, as, errname)) {
			log_info("%s: replacing failed/%s, a note left "
			    "without its entry", name, errname);
			unlinkat(q->failedfd, errname, 0);
		}
		/* The first name's taker is the one worth a log line. */
		if (queue_taken(q->failedfd, as, errname, why[0] ? NULL : why,
		    sizeof(why)))
			continue;
		note.len = 0;
		queue_note(&note, as, reason, attempts, worker_slot);
		/* Reason first: a crash in between leaves a note whose entry
		 * is still in processing/ and will be tried again, never an
		 * entry in failed/ without its reason. Neither rename
		 * replaces: another process may be failing an entry of the
		 * same name at this moment. */
		if (fd_write_new(q->failedfd, errname, note.data, note.len,
		    (int)(st.st_mode & (mode_t)q->note_mode), FD_SYNC_FILE) ==
		    -1) {
			if (errno == EEXIST)
				continue;
			goto out;
		}
		HQ_FAULT("fail_mid");
		if (fd_rename_noreplace(fromfd, name, q->failedfd, as) == 0)
			break;
		saved = errno;
		/* No note without its entry. */
		unlinkat(q->failedfd, errname, 0);
		errno = saved;
		if (errno != EEXIST)
			goto out;
	}
	if (try == QUEUE_COPY_TRIES) {
		errno = EEXIST;
		goto out;
	}
	if (try > 0)
		log_warnx("%s: %s: kept as failed/%s", name, why[0] ? why :
		    "failed/ has that name", as);
	ret = 0;
out:
	pbuf_free(&note);
	return ret;
}

/* --- failed/: reading and retrying dead letters (hqctl) --------------- */

static bool
queue_hex4(const char *p, unsigned *cp)
{
	char	hex[5];
	int	i;

	for (i = 0; i < 4; i++)
		if (!isxdigit((unsigned char)p[i]))
			return false;
	memcpy(hex, p, 4);
	hex[4] = '\0';
	*cp = (unsigned)strtoul(hex, NULL, 16);
	return true;
}

/* A \uXXXX of a note, for one line on a terminal: control characters
 * (the writer escapes only those and quotes) as a space, the rest as
 * UTF-8 when it fits. Bytes written. */
static size_t
queue_put_cp(char *out, size_t room, unsigned cp)
{
	if (cp < 0x20 || cp == 0x7f) {
		if (room < 1)
			return 0;
		out[0] = ' ';
		return 1;
	}
	if (cp < 0x80 && room >= 1) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800 && room >= 2) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp >= 0x800 && room >= 3) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	return 0;
}

void
queue_note_field(const char *note, const char *key, char *out, size_t len)
{
	char		 pat[32];
	const char	*p;
	size_t		 o = 0;
	unsigned	 cp;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(note, pat)) == NULL)
		return;
	p += strlen(pat);
	if (*p != '"') {
		while (*p && *p != ',' && *p != '}' && o + 1 < len)
			out[o++] = *p++;
		out[o] = '\0';
		return;
	}
	for (p++; *p && *p != '"' && o + 1 < len; p++) {
		if (*p != '\\' || p[1] == '\0') {
			out[o++] = *p;
			continue;
		}
		p++;
		if (*p == 'u' && queue_hex4(p + 1, &cp)) {
			p += 4;
			o += queue_put_cp(out + o, len - 1 - o, cp);
		} else
			out[o++] = *p == 'n' || *p == 't' || *p == 'r' ? ' ' :
			    *p;
	}
	out[o] = '\0';
}

char *
queue_note_read(struct queue *q, const char *name)
{
	char	 errname[NAME_MAX + 1], *buf;
	ssize_t	 n;
	int	 fd;

	snprintf(errname, sizeof(errname), "%s" HQ_REASON_SUFFIX, name);
	if ((fd = openat(q->failedfd, errname, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1)
		return NULL;
	buf = xmalloc(QUEUE_NOTE_READ_MAX + 1);
	n = read(fd, buf, QUEUE_NOTE_READ_MAX);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static int
queue_namecmp(const void *a, const void *b)
{
	return queue_name_cmp(*(char *const *)a, *(char *const *)b);
}

char **
queue_failed_names(struct queue *q, size_t *np)
{
	DIR		*d;
	struct dirent	*de;
	char		**v = NULL;
	size_t		 n = 0, cap = 0;

	*np = 0;
	if ((d = fd_opendir(q->failedfd)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		/* A directory under an entry's name is no dead letter. */
		if (!queue_name_parse(de->d_name, NULL) ||
		    queue_dirent_isdir(q->failedfd, de))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), queue_namecmp);
	*np = n;
	return v;
}

int
queue_retry(struct queue *q, const char *name, char *as, size_t aslen)
{
	char		errname[NAME_MAX + 1];
	unsigned	try;
	int		r = -1;

	for (try = 0; try < QUEUE_COPY_TRIES && r == -1; try++) {
		if (queue_copy_name(name, try, as, aslen) == -1)
			break;
		if ((r = fd_rename_noreplace(q->failedfd, name, q->pendingfd,
		    as)) == -1 && errno != EEXIST)
			break;
	}
	if (r == -1)
		return -1;
	snprintf(errname, sizeof(errname), "%s" HQ_REASON_SUFFIX, name);
	unlinkat(q->failedfd, errname, 0);
	return 0;
}

bool
queue_failed_has(struct queue *q, const char *name)
{
	struct stat	st;

	return fstatat(q->failedfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode);
}

/* SPDX-License-Identifier: MIT */
/* job_read.c: read a claimed entry file the only safe way: never follow a
 * link, never block on a FIFO, never trust a stranger's file, never read
 * past the cap. Runs in workers only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "worker/worker.h"

static const char *
job_ftype(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISLNK(mode))
		return "a symbolic link";
	return "not a regular file";
}

/* Read the claimed file safely: never follow a link, never block on a
 * FIFO, never read more than the cap. 0 with the bytes in w->readbuf, or
 * -1 with the job failed. */
int
job_read(struct worker *w, struct job *j, size_t *lenp)
{
	struct stat	st;
	size_t		cap = (size_t)w->cfg.max_entry_bytes, len = 0;
	ssize_t		n;
	int		fd;

	fd = openat(w->wdirfd, j->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			job_fail(j, "entry is a symbolic link (not followed)");
		else
			job_fail(j, "open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		job_fail(j, "fstat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		job_fail(j, "entry is %s, not a regular file",
		    job_ftype(st.st_mode));
		goto fail;
	}
	/* Defense in depth: pending/ is ours (0750), or shared with one
	 * group through a setgid root (--group). Anyone else's file got in
	 * by a hole we do not want to widen. */
	if (st.st_uid != w->euid && st.st_uid != 0 &&
	    !(w->trust_gid != (gid_t)-1 && st.st_gid == w->trust_gid)) {
		job_fail(j, "entry owned by uid %lu, not trusted (hqd runs as "
		    "uid %lu; see --group)", (unsigned long)st.st_uid,
		    (unsigned long)w->euid);
		goto fail;
	}
	if (st.st_size > (off_t)cap) {
		job_fail(j, "entry is %lld bytes, over the limit of %zu "
		    "(--max-entry-size)", (long long)st.st_size, cap);
		goto fail;
	}
	if (w->readcap < cap + 1) {
		w->readcap = (size_t)st.st_size + 4096 < cap + 1 ?
		    (size_t)st.st_size + 4096 : cap + 1;
		if (w->readcap < (size_t)st.st_size + 1)
			w->readcap = (size_t)st.st_size + 1;
		w->readbuf = xreallocarray(w->readbuf, 1, w->readcap);
	}
	/* Read to EOF, not to st_size: a file grown since the fstat is
	 * caught (producers rename whole files in; this is a guard). */
	for (;;) {
		if (len == w->readcap) {
			if (w->readcap > cap)
				break;
			w->readcap = w->readcap * 2 > cap + 1 ?
			    cap + 1 : w->readcap * 2;
			w->readbuf = xreallocarray(w->readbuf, 1, w->readcap);
		}
		n = read(fd, w->readbuf + len, w->readcap - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			job_fail(j, "read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		/* A short read of a regular file is its end: saves the
		 * read that would return 0. */
		if (len < w->readcap)
			break;
	}
	if (len > cap) {
		job_fail(j, "entry grew over the limit of %zu bytes", cap);
		goto fail;
	}
	close(fd);
	j->enq_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000 +
	    (uint64_t)st.st_mtim.tv_nsec;
	*lenp = len;
	return 0;
fail:
	close(fd);
	return -1;
}

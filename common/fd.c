/* SPDX-License-Identifier: MIT */
/* fd.c: descriptor helpers used by every process. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.h"

int
fd_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
fd_cloexec(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int
fd_read_full(int fd, void *buf, size_t len)
{
	char	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		if ((n = read(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fd_write_full(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fd_rename_noreplace(int olddirfd, const char *old, int newdirfd,
    const char *new)
{
	int	saved;

	if (renameat2(olddirfd, old, newdirfd, new, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	/* No RENAME_NOREPLACE here: link(2) refuses an existing name too.
	 * For a moment both names exist, which readers of either see as
	 * the file where it was or where it went. */
	if (linkat(olddirfd, old, newdirfd, new, 0) == -1)
		return -1;
	if (unlinkat(olddirfd, old, 0) == -1) {
		saved = errno;
		unlinkat(newdirfd, new, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Remove a temp file on a failure path, errno kept: -1. */
static int
fd_drop_tmp(int dirfd, const char *tmp)
{
	int	saved = errno;

	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

/* Write buf into a new temp file in dirfd for name (its name in tmp), with
 * the data synced when sync asks. 0, or -1 with nothing left behind. */
static int
fd_write_tmp(int dirfd, const char *name, const void *buf, size_t len,
    int mode, enum fd_sync sync, char *tmp, size_t tmplen)
{
	int	fd, saved;

	if (snprintf(tmp, tmplen, ".%s.%ld.tmp", name, (long)getpid()) >=
	    (int)tmplen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, mode)) == -1)
		return -1;
	if (fd_write_full(fd, buf, len) == -1 ||
	    (sync >= FD_SYNC_FILE && fsync(fd) == -1)) {
		saved = errno;
		close(fd);
		errno = saved;
		return fd_drop_tmp(dirfd, tmp);
	}
	if (close(fd) == -1)
		return fd_drop_tmp(dirfd, tmp);
	return 0;
}

int
fd_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
    int mode, enum fd_sync sync)
{
	struct stat	st;
	char		tmp[320];

	if (fd_write_tmp(dirfd, name, buf, len, mode, sync, tmp,
	    sizeof(tmp)) == -1)
		return -1;
	/* A display is swapped in, not renamed over the old file: ext4
	 * (auto_da_alloc) allocates a file's blocks at once when it replaces
	 * another by rename, and freeing the replaced file's blocks on a
	 * discard mount then waits for the discard: a blocking wait per
	 * heartbeat. Swapped, neither file gets blocks before the old one
	 * is unlinked (a few seconds later, well before writeback). Readers
	 * see the old or the new file, as with a rename. A durable file has
	 * blocks anyway (its fsync), so it is simply renamed. */
	if (sync == FD_SYNC_NONE && fstatat(dirfd, name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
		unlinkat(dirfd, tmp, 0);	/* the old document */
		return 0;
	}
	if (renameat(dirfd, tmp, dirfd, name) == -1)
		return fd_drop_tmp(dirfd, tmp);
	if (sync >= FD_SYNC_DIR && fsync(dirfd) == -1)
		return -1;
	return 0;
}

int
fd_write_new(int dirfd, const char *name, const void *buf, size_t len,
    int mode, enum fd_sync sync)
{
	char	tmp[320];

	if (fd_write_tmp(dirfd, name, buf, len, mode, sync, tmp,
	    sizeof(tmp)) == -1)
		return -1;
	if (fd_rename_noreplace(dirfd, tmp, dirfd, name) == -1)
		return fd_drop_tmp(dirfd, tmp);
	if (sync >= FD_SYNC_DIR && fsync(dirfd) == -1)
		return -1;
	return 0;
}

DIR *
fd_opendir(int dirfd)
{
	DIR	*d;
	int	 fd, saved;

	if ((fd = dup(dirfd)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	/* The dup shares dirfd's offset: an earlier walk left it at the end. */
	rewinddir(d);
	return d;
}

void
fd_display_init(struct fd_display *d)
{
	d->fd[0] = d->fd[1] = -1;
	d->shown = 0;
	d->len[0] = d->len[1] = 0;
}

/* The spare's name: hidden, beside name (.heartbeat: .heartbeat.spare). */
static int
fd_display_spare(const char *name, char *spare, size_t len)
{
	if (snprintf(spare, len, "%s%s.spare", name[0] == '.' ? "" : ".",
	    name) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static void
fd_display_reset(struct fd_display *d)
{
	int	i, saved = errno;

	for (i = 0; i < 2; i++)
		if (d->fd[i] != -1)
			close(d->fd[i]);
	fd_display_init(d);
	errno = saved;
}

int
fd_display_write(struct fd_display *d, int dirfd, const char *name,
    const void *buf, size_t len, int mode)
{
	struct stat	 st;
	char		 spare[NAME_MAX + 1];
	int		 s, try;

	if (fd_display_spare(name, spare, sizeof(spare)) == -1)
		return -1;
	/* A second try from scratch when the files we hold are no longer
	 * the ones under the names (someone removed or replaced one). */
	for (try = 0; try < 2; try++) {
		s = !d->shown;
		/* The spare, unlinked or renamed over by someone: its name
		 * now holds another file (or none), which we take over. */
		if (d->fd[s] != -1 && (fstat(d->fd[s], &st) == -1 ||
		    st.st_nlink == 0)) {
			close(d->fd[s]);
			d->fd[s] = -1;
		}
		if (d->fd[s] == -1) {
			if ((d->fd[s] = openat(dirfd, spare, O_WRONLY |
			    O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			    mode)) == -1)
				return -1;
			d->len[s] = 0;
		}
		errno = 0;
		if (pwrite(d->fd[s], buf, len, 0) != (ssize_t)len ||
		    (len < d->len[s] && ftruncate(d->fd[s], (off_t)len) ==
		    -1)) {
			if (errno == 0)
				errno = EIO;
			fd_display_reset(d);
			return -1;
		}
		d->len[s] = len;
		if (renameat2(dirfd, spare, dirfd, name,
		    RENAME_EXCHANGE) == 0) {
			d->shown = s;
			return 0;
		}
		/* No file under name (the first write, or it was removed):
		 * ours takes the name, the other file we held is gone. */
		if (errno == ENOENT && renameat(dirfd, spare, dirfd,
		    name) == 0) {
			if (d->fd[!s] != -1)
				close(d->fd[!s]);
			d->fd[!s] = -1;
			d->shown = s;
			return 0;
		}
		fd_display_reset(d);
	}
	return -1;
}

void
fd_display_close(struct fd_display *d, int dirfd, const char *name)
{
	char	spare[NAME_MAX + 1];

	if (d->fd[0] == -1 && d->fd[1] == -1)
		return;
	if (fd_display_spare(name, spare, sizeof(spare)) == 0)
		unlinkat(dirfd, spare, 0);
	fd_display_reset(d);
}

static int
fd_ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

int
fd_dir_unchanged(const struct fd_dirstamp *ds, const struct stat *st)
{
	return ds->valid && ds->dev == st->st_dev && ds->ino == st->st_ino &&
	    fd_ts_eq(&ds->mtime, &st->st_mtim) &&
	    fd_ts_eq(&ds->ctime, &st->st_ctim) &&
	    ds->mtime.tv_sec + 1 < ds->read_at.tv_sec &&
	    ds->ctime.tv_sec + 1 < ds->read_at.tv_sec;
}

void
fd_dir_stamp(struct fd_dirstamp *ds, const struct stat *st)
{
	ds->dev = st->st_dev;
	ds->ino = st->st_ino;
	ds->mtime = st->st_mtim;
	ds->ctime = st->st_ctim;
	clock_gettime(CLOCK_REALTIME, &ds->read_at);
	ds->valid = 1;
}

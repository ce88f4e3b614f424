/* SPDX-License-Identifier: MIT */
/* fd.c: descriptor helpers used by every process. */
#include <errno.h>
#include <fcntl.h>
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

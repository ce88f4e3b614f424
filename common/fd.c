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
fd_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
    int mode, enum fd_sync sync)
{
	struct stat	st;
	char		tmp[320];
	int		fd, saved;

	if (snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, mode)) == -1)
		return -1;
	if (fd_write_full(fd, buf, len) == -1 ||
	    (sync >= FD_SYNC_FILE && fsync(fd) == -1))
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
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
		goto fail;
	if (sync >= FD_SYNC_DIR && fsync(dirfd) == -1)
		return -1;
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
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

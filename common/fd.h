/* SPDX-License-Identifier: MIT */
/* fd.h: small descriptor helpers. All return 0, or -1 with errno set. */
#ifndef HQ_FD_H
#define HQ_FD_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

int	fd_nonblock(int fd);
int	fd_cloexec(int fd);
/* Loop over short reads/writes and EINTR. fd_read_full fails with EIO
 * on a premature EOF (errno 0 cases are mapped to EIO). */
int	fd_read_full(int fd, void *buf, size_t len);
int	fd_write_full(int fd, const void *buf, size_t len);
/* A directory stream over a dup of dirfd, from its first entry (dirfd
 * stays open and usable; closedir() the result). NULL + errno. */
DIR	*fd_opendir(int dirfd);
/* How durable fd_write_atomic() makes the file. */
enum fd_sync {
	FD_SYNC_NONE = 0,	/* a display, rewritten every few seconds */
	FD_SYNC_FILE,		/* the file's data before the rename */
	FD_SYNC_DIR,		/* and the directory after it */
};

/* Write buf to dir/name atomically: a temp file in dir, rename, with the
 * fsyncs sync asks for (FD_SYNC_NONE: swapped with the old file by
 * RENAME_EXCHANGE, which then is unlinked; see fd.c). The temp name starts
 * with a dot so queue scanners ignore it. */
int	fd_write_atomic(int dirfd, const char *name, const void *buf,
	    size_t len, int mode, enum fd_sync sync);
/* The same, but never over an existing name (of any type): -1 with EEXIST
 * then, and nothing written. */
int	fd_write_new(int dirfd, const char *name, const void *buf,
	    size_t len, int mode, enum fd_sync sync);
/*
 * A document shown under one name and rewritten every few seconds (the
 * heartbeat), without creating, unlinking or freeing anything per write:
 * two files kept open, the one shown under name and a spare under
 * .NAME.spare (a name starting with a dot keeps its one dot). A write fills the spare in place and swaps the two names
 * (RENAME_EXCHANGE), so a reader that opens name reads one whole
 * document, the old or the new, as with a rename; only a reader that
 * keeps the file open across the next write sees it rewritten.
 */
struct fd_display {
	int	fd[2];		/* -1: not open */
	int	shown;		/* fd[shown] is the file under name */
	size_t	len[2];
};

void	fd_display_init(struct fd_display *d);
int	fd_display_write(struct fd_display *d, int dirfd, const char *name,
	    const void *buf, size_t len, int mode);
/* Close both files and remove the spare (name is the caller's). */
void	fd_display_close(struct fd_display *d, int dirfd, const char *name);

/*
 * A directory as it was before its last full read, to skip reads that
 * would find the same: unchanged when its identity, mtime and ctime are
 * those stamped and it had not changed for a second before that read
 * (a change within the file system's coarse clock tick of a stamp would
 * not move the mtime: such a stamp is not trusted).
 */
struct fd_dirstamp {
	dev_t		dev;
	ino_t		ino;
	struct timespec	mtime, ctime, read_at;
	int		valid;
};

struct stat;
int	fd_dir_unchanged(const struct fd_dirstamp *ds, const struct stat *st);
/* st: taken right before the full read that starts now. */
void	fd_dir_stamp(struct fd_dirstamp *ds, const struct stat *st);

/* renameat(2) that never replaces: -1 with EEXIST when new exists.
 * RENAME_NOREPLACE, or link(2) + unlink(2) on a file system without it
 * (there, files only: not directories). */
int	fd_rename_noreplace(int olddirfd, const char *old, int newdirfd,
	    const char *new);

#endif

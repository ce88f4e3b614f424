/* SPDX-License-Identifier: MIT */
/* root.c: the queue root as hqd holds it: locked (one hqd per root, the
 * pid file beside), refused when others may write it, and watched for
 * being removed or replaced under us. Runs in hqd only. (Whether its file
 * system can be trusted is main.c's question, asked of the database too.) */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/hq.h"
#include "common/log.h"
#include "supervisor/sup.h"

/* The pid holding an flock on fd's file, as the kernel lists it in
 * /proc/locks: right even when the pid file is gone. 0 when it does not
 * say (no /proc, a holder in another pid namespace, a file system whose
 * st_dev is not its superblock's, as btrfs subvolumes). */
static long
root_lock_holder(int fd)
{
	struct stat	 st;
	unsigned long	 ino;
	unsigned	 maj, min;
	char		 line[256], kind[16];
	long		 pid, holder = 0;
	FILE		*f;

	if (fstat(fd, &st) == -1 || (f = fopen("/proc/locks", "re")) == NULL)
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; a waiter's
	 * line has "->" where the kind is. */
	while (holder == 0 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", kind, &pid,
		    &maj, &min, &ino) == 5 && strcmp(kind, "FLOCK") == 0 &&
		    maj == major(st.st_dev) && min == minor(st.st_dev) &&
		    ino == (unsigned long)st.st_ino)
			holder = pid;
	fclose(f);
	return holder;
}

/* What the pid file says, for a refusal message; "(unknown)" when it
 * says nothing. */
static void
root_pidfile_read(int fd, char *buf, size_t len)
{
	ssize_t	n;

	n = fd == -1 ? -1 : pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (buf[0] == '\0')
		snprintf(buf, len, "(unknown)");
}

/* One hqd per root: an flock on the root directory itself, through an fd
 * of our own. The kernel drops it with the process (no stale lock after a
 * crash), and no path operation can take it away: a lock on a file in the
 * root (the old .hqd.lock) went with an rm of that file, and a second hqd
 * took a new one. If the root itself is removed or replaced, the lock
 * guards a directory nobody reaches any more: watch_rescan() notices
 * (root_gone) and this hqd drains. */
void
root_lock(struct sup *s)
{
	struct stat	st;
	char		pid[32];
	long		holder;
	int		fd;

	if ((fd = openat(s->q.rootfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal("%s", s->q.root);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			fatal("lock %s", s->q.root);
		if ((holder = root_lock_holder(fd)) > 0)
			snprintf(pid, sizeof(pid), "%ld", holder);
		else {
			int pfd = openat(s->q.rootfd, HQ_LOCK_FILE, O_RDONLY |
			    O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

			root_pidfile_read(pfd, pid, sizeof(pid));
			if (pfd != -1)
				close(pfd);
		}
		log_warnx("root %s is held by hqd pid %s", s->q.root, pid);
		exit(HQ_EX_TEMPFAIL);
	}
	s->root.lockfd = fd;
	if (fstat(fd, &st) == -1)
		fatal("%s", s->q.root);
	s->root.lock_dev = st.st_dev;
	s->root.lock_ino = st.st_ino;
	root_pidfile(s);
}

/* ROOT/.hqd.lock holds our pid, for people and scripts (queue-lib.sh,
 * logrotate) and for the refusal message where /proc/locks cannot tell.
 * It is flocked too: hqd before the root directory lock locked this file,
 * so an older hqd is kept out as well. Anyone may remove it; each rescan
 * writes it again. -1 when an older hqd took the new one (the caller,
 * watch.c, drains): root.c calls no other file. */
int
root_pidfile(struct sup *s)
{
	struct stat	 lst, fst;
	char		 buf[32];
	ssize_t		 n;
	int		 fd;

	/* The file we hold cannot be freed, so its inode number names it
	 * as long as it has a name: one fstatat a rescan. */
	if (s->root.pidfd != -1 && fstatat(s->q.rootfd, HQ_LOCK_FILE, &fst,
	    AT_SYMLINK_NOFOLLOW) == 0 && s->root.pid_ino == fst.st_ino &&
	    s->root.pid_dev == fst.st_dev)
		return 0;
	if (s->root.pidfd != -1)
		log_warnx("%s/%s was removed: writing it again", s->q.root,
		    HQ_LOCK_FILE);
	if ((fd = openat(s->q.rootfd, HQ_LOCK_FILE, O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640)) == -1) {
		log_warn("%s/%s", s->q.root, HQ_LOCK_FILE);
		return 0;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		root_pidfile_read(fd, buf, sizeof(buf));
		close(fd);
		log_warnx("root %s is held by an older hqd, pid %s (it locks "
		    "%s only)", s->q.root, buf, HQ_LOCK_FILE);
		if (s->root.pidfd == -1)
			exit(HQ_EX_TEMPFAIL);
		/* We ran, lost our pid file, and an older hqd took the new
		 * one: two must not apply; we leave (and leave stats.json
		 * to it). */
		s->root.lock_lost = true;
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("write pid to %s/%s", s->q.root, HQ_LOCK_FILE);
	if (s->root.pidfd != -1)
		close(s->root.pidfd);
	s->root.pidfd = fd;
	if (fstat(fd, &lst) == 0) {
		s->root.pid_dev = lst.st_dev;
		s->root.pid_ino = lst.st_ino;
	}
	return 0;
}

void
root_close(struct sup *s)
{
	if (s->root.pidfd != -1)
		close(s->root.pidfd);
	if (s->root.lockfd != -1)
		close(s->root.lockfd);
	s->root.pidfd = s->root.lockfd = -1;
}

/* The root we lock and serve is no longer what its path names: removed,
 * or replaced (rm -rf then mkdir, a rename). Producers now write where we
 * do not look, and our lock guards nothing there. */
bool
root_gone(struct sup *s)
{
	struct stat	cur;

	if (s->root.lockfd == -1)
		return false;
	if (stat(s->q.root, &cur) == -1)
		return errno == ENOENT || errno == ENOTDIR;
	return cur.st_dev != s->root.lock_dev || cur.st_ino != s->root.lock_ino;
}

/* Keep other users out: a world-writable root without the sticky bit
 * lets anyone swap our directories; with --group the tree is shared with
 * that group only (setgid, so every entry carries the group). */
void
root_trust(struct sup *s)
{
	int		 fds[] = { s->q.rootfd, s->q.tmpfd, s->q.pendingfd,
	    s->q.processingfd, s->q.completedfd, s->q.failedfd };
	struct group	*gr;
	struct stat	 st;
	size_t		 i;

	if (fstat(s->q.rootfd, &st) == -1)
		fatal("%s", s->q.root);
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		log_warnx("root %s is world-writable without the sticky bit: "
		    "refusing (chmod o-w, or use --group)", s->q.root);
		exit(HQ_EX_CONFIG);
	}
	if (fstatat(s->q.rootfd, HQ_DIR_PENDING, &st, 0) == 0 &&
	    (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		log_warnx("%s/%s is world-writable without the sticky bit: "
		    "refusing", s->q.root, HQ_DIR_PENDING);
		exit(HQ_EX_CONFIG);
	}
	if (s->cfg.group == NULL)
		return;
	if ((gr = getgrnam(s->cfg.group)) == NULL) {
		log_warnx("--group: no group '%s'", s->cfg.group);
		exit(HQ_EX_CONFIG);
	}
	for (i = 0; i < nitems(fds); i++)
		if (fchown(fds[i], (uid_t)-1, gr->gr_gid) == -1 ||
		    fchmod(fds[i], 02770) == -1) {
			log_warn("--group %s: %s", s->cfg.group, s->q.root);
			exit(HQ_EX_CONFIG);
		}
}

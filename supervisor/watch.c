/* SPDX-License-Identifier: MIT */
/* watch.c: how the supervisor learns about entries: inotify on pending/ as
 * an ev_io, and scans of pending/ at start, on IN_Q_OVERFLOW, after a
 * worker death, on HUP and every maintenance interval. inotify is only a
 * hint; the scans are the truth. Where inotify is off or keeps failing,
 * a poll timer scans instead. Runs in hqd only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/now.h"
#include "supervisor/sup.h"

#define WATCH_MASK	(IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | \
			 IN_MOVE_SELF | IN_ONLYDIR)

static void	watch_inotify_cb(struct ev_loop *, ev_io *, int);
static void	watch_timer_cb(struct ev_loop *, ev_timer *, int);

/* The pid file again if it was removed; an older hqd that took it means
 * two would apply: drain (watch.c is below shutdown.c, so it asks through
 * the pointer). */
static void
watch_pidfile(struct sup *s)
{
	if (root_pidfile(s) == -1)
		s->shutdown.drain(s, "root taken by an older hqd",
		    HQ_EX_TEMPFAIL);
}

static void
watch_polling(struct sup *s, const char *why)
{
	if (!s->watch.polling)
		log_warnx("polling pending/ every %d ms: %s",
		    (int)s->cfg.poll_interval_ms, why);
	s->watch.polling = true;
	ev_timer_stop(s->loop, &s->watch.rescan_timer);
	ev_timer_set(&s->watch.rescan_timer, s->cfg.poll_interval_ms / 1000.0,
	    s->cfg.poll_interval_ms / 1000.0);
	ev_timer_start(s->loop, &s->watch.rescan_timer);
}

static int
watch_inotify_open(struct sup *s)
{
	struct stat	st;
	char		path[PATH_MAX];
	int		fd;

	snprintf(path, sizeof(path), "%s/%s", s->q.root, HQ_DIR_PENDING);
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("inotify_init1");
		return -1;
	}
#ifdef HQ_TESTING
	/* The tests cannot exhaust the machine's inotify watches. */
	if (getenv("HQ_TEST_INOTIFY_FAIL") != NULL) {
		errno = ENOSPC;
		log_warn("inotify_add_watch %s (HQ_TEST_INOTIFY_FAIL)", path);
		close(fd);
		return -1;
	}
#endif
	if (inotify_add_watch(fd, path, WATCH_MASK) == -1) {
		log_warn("inotify_add_watch %s", path);
		close(fd);
		return -1;
	}
	s->watch.ifd = fd;
	if (stat(path, &st) == 0)
		s->watch.pending_ino = st.st_ino;
	ev_io_init(&s->watch.inotify_io, watch_inotify_cb, fd, EV_READ);
	ev_io_start(s->loop, &s->watch.inotify_io);
	return 0;
}

static void
watch_inotify_close(struct sup *s)
{
	if (s->watch.ifd == -1)
		return;
	ev_io_stop(s->loop, &s->watch.inotify_io);
	close(s->watch.ifd);
	s->watch.ifd = -1;
}

int
watch_start(struct sup *s)
{
	ev_timer_init(&s->watch.rescan_timer, watch_timer_cb, 0, 0);
	if (!s->cfg.use_inotify) {
		s->watch.polling_asked = true;
		watch_polling(s, "USE_EVENT_LOOP is false");
		return 0;
	}
	if (watch_inotify_open(s) == -1) {
		SUP_ADD(s, watcher_restarts, 1);
		watch_polling(s, "inotify is not available");
		return -1;
	}
	if (s->cfg.rescan_interval_ms > 0) {
		double	ivl = s->cfg.rescan_interval_ms / 1000.0;
		double	first = ivl;

		/* Due together with the tick (stats.c), so that an idle
		 * supervisor wakes once for both: with equal intervals
		 * always, otherwise whenever one is a multiple of the
		 * other. */
		if (ev_is_active(&s->stats.tick_timer))
			first = ev_timer_remaining(s->loop,
			    &s->stats.tick_timer);
		if (first <= 0 || first > ivl)
			first = ivl;
		ev_timer_set(&s->watch.rescan_timer, first, ivl);
		ev_timer_start(s->loop, &s->watch.rescan_timer);
	}
	return 0;
}

void
watch_stop(struct sup *s)
{
	watch_inotify_close(s);
	ev_timer_stop(s->loop, &s->watch.rescan_timer);
}

/* The watch is gone (pending/ removed or moved) or broken: rebuild it, up
 * to MAX_WATCHER_RESTARTS times, then poll. */
static void
watch_restart(struct sup *s, const char *why)
{
	watch_inotify_close(s);
	SUP_ADD(s, watcher_restarts, 1);
	log_warnx("inotify watch lost (%s), restart %llu of %d", why,
	    (unsigned long long)SUP_GET(s, watcher_restarts),
	    s->cfg.max_watcher_restarts);
	if (SUP_GET(s, watcher_restarts) > (uint64_t)s->cfg.max_watcher_restarts) {
		watch_polling(s, "too many watcher restarts");
		return;
	}
	/* Recreate whatever was removed, then watch the new pending/. */
	if (queue_reopen(&s->q, 0750) == -1)
		log_warn("recreate the queue tree under %s", s->q.root);
	if (watch_inotify_open(s) == -1)
		watch_polling(s, "inotify cannot be restarted");
}

static void
watch_inotify_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct sup			*s = container_of(io, struct sup,
					    watch.inotify_io);
	char				 buf[65536]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*ev;
	ssize_t				 n;
	char				*p;
	bool				 rescan = false, lost = false;

	(void)loop;
	(void)revents;
	for (;;) {
		n = read(s->watch.ifd, buf, sizeof(buf));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				lost = true;
			break;
		}
		if (n == 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			SUP_ADD(s, events, 1);
			if (ev->mask & IN_Q_OVERFLOW) {
				SUP_ADD(s, overflows, 1);
				rescan = true;
			} else if (ev->mask & (IN_IGNORED | IN_DELETE_SELF |
			    IN_MOVE_SELF))
				lost = true;
			else if (ev->len > 0)
				dispatch_note(s, ev->name);
		}
	}
	if (lost) {
		watch_restart(s, "pending/ was removed or moved");
		rescan = true;
	}
	if (rescan)
		watch_rescan(s, lost ? "watch restart" : "inotify overflow");
	dispatch(s);
}

void
watch_rescan(struct sup *s, const char *why)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	int		 fd;

	if (s->shutdown.phase != SUP_RUNNING)
		return;
	/* Checked first: rebuilding the tree inside a removed root fails,
	 * and another hqd may rightly serve the new one. */
	if (root_gone(s)) {
		log_warnx("queue root %s was removed or replaced: draining "
		    "(start hqd again to serve the new one)", s->q.root);
		s->shutdown.drain(s, "root gone", HQ_EX_TEMPFAIL);
		return;
	}
	SUP_ADD(s, rescans, 1);
	log_debug("rescan (%s)", why);
	fd = openat(s->q.rootfd, HQ_DIR_PENDING, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	/* inotify says nothing when pending/ is removed while we hold it
	 * open, nor when another folder takes its name: the scan checks. */
	if (fd != -1 && fstat(fd, &st) == -1)
		st.st_ino = 0;
	if ((fd == -1 && errno == ENOENT) || (fd != -1 && s->watch.ifd != -1 &&
	    st.st_ino != s->watch.pending_ino)) {
		if (fd != -1)
			close(fd);
		if (s->watch.polling) {
			log_warnx("%s/%s is gone: recreating it", s->q.root,
			    HQ_DIR_PENDING);
			if (queue_reopen(&s->q, 0750) == -1)
				log_warn("recreate the queue tree");
		} else
			watch_restart(s, "pending/ was removed or replaced");
		fd = openat(s->q.rootfd, HQ_DIR_PENDING, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC);
		if (fd != -1 && fstat(fd, &st) == -1)
			st.st_ino = 0;
	}
	/* Stamped before the read: what changes during it moves the stamp. */
	if (fd != -1 && st.st_ino != 0)
		fd_dir_stamp(&s->watch.pending_stamp, &st);
	else
		s->watch.pending_stamp.valid = 0;
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("rescan %s/%s", s->q.root, HQ_DIR_PENDING);
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		dispatch_note(s, de->d_name);
	}
	closedir(d);
	/* The pid file may have gone with the tree: write it again. (The
	 * lock is on the root directory: it cannot go.) */
	watch_pidfile(s);
	dispatch_sweep(s);
	dispatch(s);
}

static void
watch_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sup	*s = container_of(t, struct sup, watch.rescan_timer);
	struct stat	 st;

	(void)loop;
	(void)revents;
	/*
	 * The timer's rescan looks for what inotify (or, polling, nothing)
	 * told us of: a pending/ unchanged since the last full read holds
	 * what that read found, so only the checks of a rescan run (root,
	 * pid file): one fstatat instead of a directory read a tick. A
	 * forced rescan (overflow, watch restart, HUP) always reads.
	 */
	if (s->shutdown.phase == SUP_RUNNING && !root_gone(s) &&
	    fstatat(s->q.rootfd, HQ_DIR_PENDING, &st, 0) == 0 &&
	    (s->watch.ifd == -1 || st.st_ino == s->watch.pending_ino) &&
	    fd_dir_unchanged(&s->watch.pending_stamp, &st)) {
		/* (no dispatch_sweep: bad names are marked by a read) */
		SUP_ADD(s, rescans, 1);
		watch_pidfile(s);
		dispatch(s);
		return;
	}
	watch_rescan(s, s->watch.polling ? "poll" : "maintenance");
}

/* SPDX-License-Identifier: MIT */
/* spawn.c: a worker's process, from the supervisor's side: spawn
 * (socketpair, fork, exec of ourselves), reap, respawn with backoff. Runs
 * in hqd only. Never opens entry files: worker/job.c does; recovery is
 * dispatch.c's. Above dispatch.c and watch.c (a death recovers the
 * worker's names and rescans pending/), which reach the slots through
 * workers.c and never call this file: so calls go one way. A death while
 * shutting down is not reported: shutdown.c sees that no worker is left. */
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/now.h"
#include "supervisor/sup.h"

static void	spawn_reap_cb(struct ev_loop *, ev_child *, int);
static void	spawn_respawn_cb(struct ev_loop *, ev_timer *, int);
static void	spawn_slot(struct wslot *);

/* Spawn again after the slot's backoff, which doubles until progress
 * (dispatch.c) resets it. */
static void
spawn_later(struct wslot *w)
{
	ev_timer_set(&w->respawn, w->backoff_ms / 1000.0, 0);
	ev_timer_start(w->sup->loop, &w->respawn);
	if (w->backoff_ms < SUP_RESPAWN_MAX_MS)
		w->backoff_ms *= 2;
}

void
spawn_start(struct sup *s)
{
	int	i;
	ssize_t	n;

	/* Resolved once: /proc/self/exe is hqd itself for the kernel, but
	 * under valgrind only readlink() is redirected to the real program.
	 * A binary replaced on disk since start reads " (deleted)". */
	n = readlink("/proc/self/exe", s->spawn.exe, sizeof(s->spawn.exe) - 1);
	/* readlink(2) writes no NUL and at most the size it was given. */
	s->spawn.exe[n > 0 ? n : 0] = '\0';
	if (n <= 0 || n >= (ssize_t)sizeof(s->spawn.exe) - 1 ||
	    strstr(s->spawn.exe, " (deleted)") != NULL)
		snprintf(s->spawn.exe, sizeof(s->spawn.exe), "/proc/self/exe");
	for (i = 0; i < s->nslots; i++) {
		ev_timer_init(&s->slots[i].respawn, spawn_respawn_cb, 0, 0);
		spawn_slot(&s->slots[i]);
	}
}

/* Between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
spawn_exec(const char *exe, int fd, const char *spec)
{
	char	 a0[] = "hqd", a1[] = "-W";
	char	*argv[] = { a0, a1, NULL, NULL };

	argv[2] = (char *)(uintptr_t)spec;
	if (fd != WORKER_FD) {
		if (dup2(fd, WORKER_FD) == -1)
			_exit(HQ_EX_OSERR);
	} else if (fcntl(fd, F_SETFD, 0) == -1)
		_exit(HQ_EX_OSERR);
	/* Whatever else hqd inherited from its caller stays behind. */
	close_range(WORKER_FD + 1, ~0U, 0);
	execv(exe, argv);
	_exit(127);
}

static void
spawn_slot(struct wslot *w)
{
	struct sup	*s = w->sup;
	char		 spec[64];
	int		 sv[2];
	pid_t		 pid;

	if (s->shutdown.phase != SUP_RUNNING || w->state != WSLOT_EMPTY)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("worker %d: socketpair", w->slot);
		goto retry;
	}
	w->gen++;
	snprintf(spec, sizeof(spec), "%d:%u:%ld", w->slot, w->gen,
	    (long)getpid());
	if ((pid = fork()) == -1) {
		log_warn("worker %d: fork", w->slot);
		close(sv[0]);
		close(sv[1]);
		goto retry;
	}
	if (pid == 0)
		spawn_exec(s->spawn.exe, sv[1], spec);
	close(sv[1]);
	w->pid = pid;
	workers_state(w, WSLOT_STARTING);
	w->stop_sent = false;
	w->spawned_ms = w->progress_ms = now_mono_ms();
	SEG_SET(s->stats.seg->slot[w->slot].spawned_ns, now_wall_ns());
	channel_open(&w->ch, s->loop, sv[0], dispatch_msg_cb,
	    dispatch_close_cb);
	ev_child_init(&w->child, spawn_reap_cb, pid, 0);
	ev_child_start(s->loop, &w->child);
	SUP_ADD(s, spawns, 1);
	log_debug("worker %d: spawned pid %ld gen %u", w->slot, (long)pid,
	    w->gen);
	return;
retry:
	/* Backed off like a death: a resource that is short now (the open
	 * files limit, processes) is rarely back in 100 ms, and each try
	 * logs a line. */
	spawn_later(w);
}

static void
spawn_respawn_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wslot	*w = container_of(t, struct wslot, respawn);

	(void)loop;
	(void)revents;
	spawn_slot(w);
}

static void
spawn_reap_cb(struct ev_loop *loop, ev_child *c, int revents)
{
	struct wslot	*w = container_of(c, struct wslot, child);
	struct sup	*s = w->sup;
	int		 st = c->rstatus;
	bool		 clean;

	(void)revents;
	ev_child_stop(loop, c);
	clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (WIFSIGNALED(st))
		log_warnx("worker %d (pid %ld) killed by signal %d%s", w->slot,
		    (long)w->pid, WTERMSIG(st),
		    w->ninhand ? " holding entries" : "");
	else if (!clean || s->shutdown.phase == SUP_RUNNING)
		(clean ? log_info : log_warnx)("worker %d (pid %ld) exited "
		    "with status %d", w->slot, (long)w->pid,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	channel_close(&w->ch);
	w->pid = -1;
	workers_state(w, WSLOT_EMPTY);
	if (!clean || s->shutdown.phase == SUP_RUNNING)
		SUP_ADD(s, deaths, 1);
	dispatch_recover(w);
	/* Shutting down: no respawn (shutdown.c sees when none is left). */
	if (s->shutdown.phase != SUP_RUNNING)
		return;
	/* Back off only for workers that die without doing any work. */
	spawn_later(w);
	watch_rescan(s, "worker death");
}

/* SPDX-License-Identifier: MIT */
/* workers.c: the supervisor's worker slots: spawn (socketpair, fork, exec
 * of ourselves), reap, respawn with backoff, kill. Runs in hqd only. Never
 * opens entry files: worker/job.c does; recovery is dispatch.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/now.h"
#include "supervisor/sup.h"

static void	workers_child_cb(struct ev_loop *, ev_child *, int);
static void	workers_respawn_cb(struct ev_loop *, ev_timer *, int);
static void	workers_stuck_cb(struct ev_loop *, ev_timer *, int);

/* The processing timeout runs while a worker starts or holds a WORK: a
 * timer per slot, due at the last sign of life plus the timeout, so a kill
 * lands on time rather than on the next tick, and an idle worker costs no
 * wakeup. */
static void
workers_watch(struct wslot *w)
{
	struct sup	*s = w->sup;

	ev_timer_stop(s->loop, &w->stuck);
	if (s->cfg.processing_timeout_ms == 0 || (w->state != WSLOT_BUSY &&
	    w->state != WSLOT_STARTING))
		return;
	ev_timer_set(&w->stuck, s->cfg.processing_timeout_ms / 1000.0, 0);
	ev_timer_start(s->loop, &w->stuck);
}

void
workers_state(struct wslot *w, enum wslot_state st)
{
	w->state = st;
	workers_watch(w);
	stats_slot(w);
}

/* Spawn again after the slot's backoff, which doubles until progress
 * (dispatch.c) resets it. */
static void
workers_respawn_later(struct wslot *w)
{
	ev_timer_set(&w->respawn, w->backoff_ms / 1000.0, 0);
	ev_timer_start(w->sup->loop, &w->respawn);
	if (w->backoff_ms < SUP_RESPAWN_MAX_MS)
		w->backoff_ms *= 2;
}

void
workers_init(struct sup *s)
{
	int	i;
	ssize_t	n;

	/* Resolved once: /proc/self/exe is hqd itself for the kernel, but
	 * under valgrind only readlink() is redirected to the real program.
	 * A binary replaced on disk since start reads " (deleted)". */
	n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
	/* readlink(2) writes no NUL and at most the size it was given. */
	s->exe[n > 0 ? n : 0] = '\0';
	if (n <= 0 || n >= (ssize_t)sizeof(s->exe) - 1 ||
	    strstr(s->exe, " (deleted)") != NULL)
		snprintf(s->exe, sizeof(s->exe), "/proc/self/exe");
	s->nslots = s->cfg.workers;
	for (i = 0; i < s->nslots; i++) {
		struct wslot *w = &s->slots[i];

		w->sup = s;
		w->slot = i;
		w->pid = -1;
		w->ch.fd = -1;
		w->backoff_ms = SUP_RESPAWN_MIN_MS;
		ev_timer_init(&w->respawn, workers_respawn_cb, 0, 0);
		ev_timer_init(&w->stuck, workers_stuck_cb, 0, 0);
		workers_spawn(w);
	}
}

/* Between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
workers_exec(const char *exe, int fd, const char *spec)
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

void
workers_spawn(struct wslot *w)
{
	struct sup	*s = w->sup;
	char		 spec[64];
	int		 sv[2];
	pid_t		 pid;

	if (s->phase != SUP_RUNNING || w->state != WSLOT_EMPTY)
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
		workers_exec(s->exe, sv[1], spec);
	close(sv[1]);
	w->pid = pid;
	workers_state(w, WSLOT_STARTING);
	w->stop_sent = false;
	w->spawned_ms = w->progress_ms = now_mono_ms();
	SEG_SET(s->seg->slot[w->slot].spawned_ns, now_wall_ns());
	channel_open(&w->ch, s->loop, sv[0], dispatch_msg_cb,
	    dispatch_close_cb);
	ev_child_init(&w->child, workers_child_cb, pid, 0);
	ev_child_start(s->loop, &w->child);
	SUP_ADD(s, spawns, 1);
	log_debug("worker %d: spawned pid %ld gen %u", w->slot, (long)pid,
	    w->gen);
	return;
retry:
	/* Backed off like a death: a resource that is short now (the open
	 * files limit, processes) is rarely back in 100 ms, and each try
	 * logs a line. */
	workers_respawn_later(w);
}

static void
workers_respawn_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wslot	*w = container_of(t, struct wslot, respawn);

	(void)loop;
	(void)revents;
	workers_spawn(w);
}

static void
workers_child_cb(struct ev_loop *loop, ev_child *c, int revents)
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
	else if (!clean || s->phase == SUP_RUNNING)
		(clean ? log_info : log_warnx)("worker %d (pid %ld) exited "
		    "with status %d", w->slot, (long)w->pid,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	channel_close(&w->ch);
	w->pid = -1;
	workers_state(w, WSLOT_EMPTY);
	if (!clean || s->phase == SUP_RUNNING)
		SUP_ADD(s, deaths, 1);
	dispatch_recover(w);
	if (s->phase != SUP_RUNNING) {
		signals_check_done(s);
		return;
	}
	/* Back off only for workers that die without doing any work. */
	workers_respawn_later(w);
	watch_rescan(s, "worker death");
}

void
workers_stop_all(struct sup *s)
{
	struct hq_msg	m = { .type = HQ_MSG_STOP };
	int		i;

	for (i = 0; i < s->nslots; i++) {
		struct wslot *w = &s->slots[i];

		ev_timer_stop(s->loop, &w->respawn);
		if (w->state == WSLOT_EMPTY || w->stop_sent)
			continue;
		w->stop_sent = true;
		if (channel_send(&w->ch, &m) == -1 && w->pid > 0)
			kill(w->pid, SIGKILL);
	}
}

void
workers_kill_all(struct sup *s, int sig)
{
	int	i;

	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].pid > 0)
			kill(s->slots[i].pid, sig);
}

void
workers_free(struct sup *s)
{
	int	i;

	for (i = 0; i < s->nslots; i++) {
		free(s->slots[i].inhand);
		s->slots[i].inhand = NULL;
		s->slots[i].ninhand = s->slots[i].capinhand = 0;
	}
}

int
workers_alive(const struct sup *s)
{
	int	i, n = 0;

	for (i = 0; i < s->nslots; i++)
		n += s->slots[i].pid > 0;
	return n;
}

/* A worker is alive when it says so: a message (DONE, PROGRESS), or the
 * time it stamps in its slot as it finishes an entry, waits for a lock or
 * for disk space, or backs off. Waiting is not hanging; a statement that
 * runs past the timeout, or a stopped worker, is. */
bool
workers_overdue(const struct wslot *w, uint64_t now_ms, uint64_t *wait_ms)
{
	const struct sup	*s = w->sup;
	uint64_t		 last = w->progress_ms, alive;
	uint64_t		 limit = (uint64_t)s->cfg.processing_timeout_ms;

	alive = SEG_GET(s->seg->slot[w->slot].alive_mono_ns) / 1000000;
	if (alive > last)
		last = alive;
	if (now_ms < last + limit) {
		*wait_ms = last + limit - now_ms;
		return false;
	}
	*wait_ms = now_ms - last;
	return true;
}

static void
workers_stuck_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wslot	*w = container_of(t, struct wslot, stuck);
	struct sup	*s = w->sup;
	uint64_t	 now = now_mono_ms(), ms;

	(void)revents;
	if (w->pid <= 0)
		return;
	if (!workers_overdue(w, now, &ms)) {
		ev_timer_set(t, ms / 1000.0, 0);
		ev_timer_start(loop, t);
		return;
	}
	log_warnx("worker %d (pid %ld): no progress for %llu ms, killing it",
	    w->slot, (long)w->pid, (unsigned long long)ms);
	kill(w->pid, SIGKILL);
	/* Once per timeout, should the kill take long to be reaped. */
	w->progress_ms = now;
	ev_timer_set(t, s->cfg.processing_timeout_ms / 1000.0, 0);
	ev_timer_start(loop, t);
}

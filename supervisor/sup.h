/* SPDX-License-Identifier: MIT */
/* sup.h: all supervisor state (struct sup) and the functions shared by the
 * files of supervisor/. One struct sup lives in main(); watchers reach it
 * through container_of. No other mutable globals. */
#ifndef HQ_SUP_H
#define HQ_SUP_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "supervisor/channel.h"
#include "common/config.h"
#include "common/fd.h"
#include "common/hq.h"
#include "common/queue.h"
#include "common/seg.h"
#include "supervisor/pindex.h"

/* Respawn backoff: first delay, doubling per death without progress. */
#define SUP_RESPAWN_MIN_MS	100
#define SUP_RESPAWN_MAX_MS	10000
/* A name alone in a worker's hands when it died this often is poison. */
#define SUP_MAX_CRASHES		3
/* Names and bytes per WORK message, under HQ_PROTO_MAX_FRAME. */
#define SUP_WORK_BYTES		(HQ_PROTO_MAX_FRAME - 4096)

enum wslot_state {
	WSLOT_EMPTY = 0,	/* no process; respawn timer may run */
	WSLOT_STARTING,		/* forked, HELLO/READY not seen yet */
	WSLOT_IDLE,
	WSLOT_BUSY,		/* holds a WORK */
};

struct wslot {
	struct sup		*sup;
	int			 slot;
	uint32_t		 gen;
	pid_t			 pid;		/* -1 when EMPTY */
	enum wslot_state	 state;
	bool			 stop_sent;
	struct channel		 ch;
	ev_child		 child;
	ev_timer		 respawn;
	ev_timer		 stuck;		/* the processing timeout */
	int			 backoff_ms;
	uint64_t		 spawned_ms;
	uint64_t		 progress_ms;	/* last DONE/PROGRESS/READY */
	struct pitem		**inhand;	/* names of the WORK in hand */
	size_t			 ninhand, capinhand;
};

/* The shutdown phases, in order (shutdown.c changes them). */
enum sup_phase {
	SUP_RUNNING = 0,
	SUP_DRAINING,		/* STOP sent; waiting for workers */
	SUP_KILLING,		/* grace over or second INT: SIGKILL sent */
	SUP_DONE,		/* no worker left: the loop ends */
};

struct sup;

/*
 * What one file owns is in a member named after it: only that file
 * changes it, others may read it. main.c aside: before any part starts,
 * it sets the descriptors to -1 and the idle clocks to the start. What
 * several files share (the loop, the configuration, the tree, the index,
 * the slots) is in struct sup itself.
 */

/* root.c's: the root directory, flocked, and ROOT/.hqd.lock. */
struct sup_root {
	int			 lockfd;	/* the root directory, locked */
	int			 pidfd;		/* ROOT/.hqd.lock */
	/* identities of lockfd and pidfd, which cannot change: the idle
	 * tick compares without an fstat of its own */
	dev_t			 lock_dev, pid_dev;
	ino_t			 lock_ino, pid_ino;
	bool			 lock_lost;	/* another hqd holds the root */
};

/* shutdown.c's */
struct sup_shutdown {
	enum sup_phase		 phase;
	int			 exit_code;	/* hqd's, set by the drain */
	ev_timer		 grace_timer;	/* draining -> killing */
	ev_prepare		 end;		/* -> done, once draining */
	/* How the files below shutdown.c (watch.c, stats.c) ask for the
	 * drain: shutdown_drain, set by shutdown_init. */
	void			(*drain)(struct sup *, const char *why,
				    int exit_code);
};

/* signals.c's */
struct sup_signals {
	ev_signal		 sig_term, sig_int, sig_hup, sig_usr1;
};

/* watch.c's */
struct sup_watch {
	bool			 polling;	/* mode: polling, not inotify */
	bool			 polling_asked;	/* USE_EVENT_LOOP=false */
	int			 ifd;		/* inotify, -1 when off */
	ino_t			 pending_ino;	/* the pending/ being watched */
	ev_io			 inotify_io;
	ev_timer		 rescan_timer;	/* maintenance / polling */
	struct fd_dirstamp	 pending_stamp;	/* pending/ when last read */
};

/* spawn.c's */
struct sup_spawn {
	char			 exe[4096];	/* our binary, for workers */
};

/* dispatch.c's */
struct sup_dispatch {
	struct pset		 badnames;	/* reported once each */
	uint64_t		 last_event_ms;	/* last inotify/scan news */
	uint64_t		 last_work_ms;	/* last WORK or DONE */
};

/* stats.c's: the segment (each of its fields has one writer, seg.h) and
 * the tick. */
struct sup_stats {
	struct seg		*seg;		/* the stats segment, ours */
	char			 seg_name[64];
	ev_timer		 tick_timer;	/* heartbeat, timeouts */
	unsigned		 ticks;
	struct pbuf		 legacy;	/* stats.json as last written */
	/* Files of the tick that could not be written (a full disk): said
	 * once when it starts and once when it ends, not every tick. */
	unsigned		 tick_write_failed;
	struct fd_display	 heartbeat;	/* .heartbeat, kept open */
	struct fd_dirstamp	 failed_stamp;	/* failed/ when last counted */
};

/* notify.c's */
struct sup_notify {
	int			 fd;		/* systemd, -1 when not asked */
	struct sockaddr_un	 addr;
	socklen_t		 len;
	uint64_t		 watchdog_us;	/* 0: no watchdog */
	bool			 ready_sent;
};

struct sup {
	struct ev_loop		*loop;
	struct hq_config	 cfg;
	struct queue		 q;
	struct pindex		 idx;		/* names known, names queued */
	struct wslot		 slots[HQ_MAX_WORKERS];
	int			 nslots;
	uint64_t		 started_ms;
	struct sup_root		 root;
	struct sup_shutdown	 shutdown;
	struct sup_signals	 signals;
	struct sup_watch	 watch;
	struct sup_spawn	 spawn;
	struct sup_dispatch	 dispatch;
	struct sup_stats	 stats;
	struct sup_notify	 notify;
	struct http		*http;		/* http.c's; NULL when off */
};

/* Supervisor counters live in the segment; hqd is their one writer. */
#define SUP_ADD(s, f, n)	SEG_ADD((s)->stats.seg->h.c.f, (n))
#define SUP_GET(s, f)		SEG_GET((s)->stats.seg->h.c.f)

/* workers.c */
/* The slots (cfg.workers of them), empty, with their timeouts' timers. */
void	workers_init(struct sup *);
/* Set a slot's state: arm or stop its processing timeout, and mirror the
 * slot (pid, gen, state, in hand) to the segment. */
void	workers_state(struct wslot *, enum wslot_state);
/* STOP to every worker (the drain). */
void	workers_stop_all(struct sup *);
void	workers_kill_all(struct sup *, int sig);
int	workers_alive(const struct sup *);
/* The processing timeout's decision for w at now_ms: overdue when neither
 * a message nor the worker's stamp in its slot is more recent than the
 * timeout. *wait_ms: the time left when not overdue (the timer's next
 * delay), the time without a sign of life when overdue. */
bool	workers_overdue(const struct wslot *, uint64_t now_ms,
	    uint64_t *wait_ms);
/* Free the slots' tables (at exit, every worker reaped). */
void	workers_free(struct sup *);

/* spawn.c */
/* Spawn a worker in every slot (after workers_init), and again after each
 * death while running. */
void	spawn_start(struct sup *);

/* dispatch.c */
void	dispatch_msg_cb(struct channel *, struct hq_msg *);
void	dispatch_close_cb(struct channel *, const char *);
/* Hand queued names to idle workers. */
void	dispatch(struct sup *);
/* Take the names of w's next WORK from the index into its hand: the next
 * in order, as many as a batch and a frame hold. A suspect name (its
 * worker died with it) travels alone, so that the next death names the
 * culprit. The count in hand. */
size_t	dispatch_fill(struct sup *, struct wslot *);
/* A worker died: requeue its files and put its names back in the index. */
void	dispatch_recover(struct wslot *);
void	dispatch_note(struct sup *, const char *name);
/* After a full read of pending/: bad names it did not see may be reported
 * again. */
void	dispatch_sweep(struct sup *);
void	dispatch_free(struct sup *);

/* watch.c */
int	watch_start(struct sup *);
void	watch_stop(struct sup *);
/* Read pending/ and index every name not known yet. */
void	watch_rescan(struct sup *, const char *why);

/* stats.c */
/* Create and publish the segment, start the tick. 0, or -1 + err. */
int	stats_start(struct sup *, char *err, size_t errlen);
/* Stop the tick (shutting down is over). */
void	stats_tick_stop(struct sup *);
/* Unlink the segment and the heartbeat (clean exit only). */
void	stats_stop(struct sup *);
/* Mirror a slot's process and state into the segment. */
void	stats_slot(struct wslot *);
/* Recompute the supervisor's gauges. */
void	stats_gauges(struct sup *);
/* The oldest pending name's age into the segment (a walk over the heap). */
void	stats_oldest(struct sup *);
/* Heartbeat, systemd's status, idle exit. */
void	stats_tick(struct sup *);
/* Whether --idle-exit is due at now_ms: running, nothing queued, no
 * worker busy, no work and no news for the idle time. */
bool	stats_idle_due(const struct sup *, uint64_t now_ms);

/* http.c */
/* Listen on cfg.http and serve from the loop (nothing when unset). 0, or
 * -1 + err (bad address, bind failed). */
int	http_start(struct sup *, char *err, size_t errlen);
/* Close every connection and the listener. */
void	http_stop(struct sup *);
/* File descriptors the server can hold at once under cfg (0 when off). */
int	http_fds(const struct hq_config *);

/* notify.c */
/* Read and clear $NOTIFY_SOCKET and $WATCHDOG_USEC. */
void	notify_init(struct sup *);
void	notify_ready(struct sup *);
void	notify_tick(struct sup *, int alive);
void	notify_send(struct sup *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	notify_close(struct sup *);

/* root.c */
/* Take the root lock (then write the pid file); exits 75 when another hqd
 * holds it. */
void	root_lock(struct sup *);
/* Write ROOT/.hqd.lock again if it was removed (every rescan). 0, or -1
 * when an older hqd took it: the caller drains. */
int	root_pidfile(struct sup *);
/* Close the root's descriptors (at exit). */
void	root_close(struct sup *);
/* True when the root's path no longer names the directory we lock. */
bool	root_gone(struct sup *);
/* Refuse a root others may write (exits 78); with --group, share the tree
 * with that group only. */
void	root_trust(struct sup *);

/* shutdown.c */
/* Ready the phases (running) before anything may ask for the drain. */
void	shutdown_init(struct sup *);
/* running -> draining (TERM, INT, idle exit, the root lost), with hqd's
 * exit code; nothing in another phase. */
void	shutdown_drain(struct sup *, const char *why, int exit_code);
/* draining -> killing (grace over, second INT); nothing in another phase. */
void	shutdown_kill(struct sup *, const char *why);
/* SIGINT: the first drains, the next kills. */
void	shutdown_interrupt(struct sup *);
/* Whether shutting down is over (draining or killing, no worker alive):
 * then the loop ends (done). */
bool	shutdown_over(const struct sup *);

/* signals.c */
void	signals_start(struct sup *);
/* Stop taking HUP and USR1 (the loop is over). */
void	signals_stop(struct sup *);

#endif

/* SPDX-License-Identifier: MIT */
/* stats.c: the supervisor's side of the stats segment: creates it (refusing
 * one a live hqd of another root owns) and unlinks it at exit (unless it is
 * another hqd's by then), publishes
 * the gauges only the supervisor knows, and runs the tick: the heartbeat
 * file and the idle-exit check (the processing timeout has a timer per
 * worker, workers.c). Runs in hqd only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"
#include "common/now.h"
#include "common/report.h"
#include "common/xmalloc.h"
#include "supervisor/sup.h"

static void	stats_tick_cb(struct ev_loop *, ev_timer *, int);
static void	stats_legacy_write(struct sup *, bool);

/*
 * The old tools' files, before the segment is published: stats.json's
 * totals are where this hqd's counters start from (the file is
 * cumulative, as the old worker's was: written by the last hqd at its
 * exit, or by the old worker itself when hq takes over its root), and
 * .seq, the old library's sequence file, which hq does not use but the
 * old queue-init.sh --verify checks, exists.
 */
static void
stats_legacy_start(struct sup *s)
{
	struct report_legacy	l;
	int			fd;

	if (report_legacy_read(s->q.rootfd, &l) == -1 && errno != ENOENT)
		log_warnx("%s/stats.json: %s: its totals start from 0",
		    s->q.root, errno == EINVAL ? "not the old stats object" :
		    strerror(errno));
	s->stats.seg->h.legacy_processed = l.processed;
	s->stats.seg->h.legacy_failed = l.failed;
	s->stats.seg->h.legacy_retried = l.retried;
	if ((fd = openat(s->q.rootfd, ".seq", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0640)) != -1) {
		if (fd_write_full(fd, "0\n", 2) == -1)
			log_warn("write %s/.seq", s->q.root);
		close(fd);
	} else if (errno != EEXIST)
		log_warn("create %s/.seq", s->q.root);
}

int
stats_start(struct sup *s, char *err, size_t errlen)
{
	double	tick;

	seg_name(s->stats.seg_name, sizeof(s->stats.seg_name), s->q.root,
	    s->cfg.shm_name);
	/* Workers attach by this name; it travels in CONFIG. */
	free(s->cfg.shm_name);
	s->cfg.shm_name = xstrdup(s->stats.seg_name);
	if ((s->stats.seg = seg_create(s->stats.seg_name, s->q.root, s->cfg.db,
	    s->cfg.workers, err, errlen)) == NULL)
		return -1;
	stats_legacy_start(s);
	fd_display_init(&s->stats.heartbeat);
	SEG_SET(s->stats.seg->h.heartbeat_interval_ms,
	    s->cfg.heartbeat_interval_ms);
	SEG_SET(s->stats.seg->h.heartbeat_ns, now_wall_ns());
	SEG_SET(s->stats.seg->h.heartbeat_mono_ns, now_mono_ns());
	seg_publish(s->stats.seg);

	/* One tick per heartbeat, sooner when a timeout needs it: the
	 * supervisor's only wakeup when the queue is idle. */
	tick = s->cfg.heartbeat_interval_ms / 1000.0;
	if (s->notify.watchdog_us > 0 && s->notify.watchdog_us / 2e6 < tick)
		tick = s->notify.watchdog_us / 2e6;
	if (s->cfg.idle_exit_ms > 0 && s->cfg.idle_exit_ms / 1000.0 < tick)
		tick = s->cfg.idle_exit_ms / 1000.0;
	ev_timer_init(&s->stats.tick_timer, stats_tick_cb, tick, tick);
	ev_timer_start(s->loop, &s->stats.tick_timer);
	return 0;
}

void
stats_tick_stop(struct sup *s)
{
	ev_timer_stop(s->loop, &s->stats.tick_timer);
}

void
stats_stop(struct sup *s)
{
	char	path[64];

	if (s->stats.seg == NULL)
		return;
	stats_tick_stop(s);
	/* Last, the totals at exit: the next hqd starts from them. */
	stats_legacy_write(s, true);
	pbuf_free(&s->stats.legacy);
	if (!seg_destroy(s->stats.seg, s->stats.seg_name))
		log_warnx("stats segment %s is another hqd's now: left in "
		    "place", s->stats.seg_name);
	s->stats.seg = NULL;
	/* A heartbeat of a stopped hqd must not look fresh. */
	snprintf(path, sizeof(path), "%s", HQ_HEARTBEAT_FILE);
	fd_display_close(&s->stats.heartbeat, s->q.rootfd, path);
	unlinkat(s->q.rootfd, path, 0);
}

void
stats_slot(struct wslot *w)
{
	static const enum seg_slot_state map[] = {
		[WSLOT_EMPTY] = SEG_SLOT_EMPTY,
		[WSLOT_STARTING] = SEG_SLOT_STARTING,
		[WSLOT_IDLE] = SEG_SLOT_IDLE,
		[WSLOT_BUSY] = SEG_SLOT_BUSY,
	};
	struct seg_slot	*sl = &w->sup->stats.seg->slot[w->slot];

	SEG_SET(sl->pid, w->pid > 0 ? (uint64_t)w->pid : 0);
	SEG_SET(sl->gen, w->gen);
	SEG_SET(sl->state, map[w->state]);
	SEG_SET(sl->inhand, w->ninhand);
}

/* Gauges are recomputed from the supervisor's own tables, never kept by
 * increments across processes, so they cannot drift. Cheap: runs after
 * every dispatch round. */
void
stats_gauges(struct sup *s)
{
	struct seg_header	*h = &s->stats.seg->h;
	uint64_t		 inhand = 0;
	int			 i;

	for (i = 0; i < s->nslots; i++)
		inhand += s->slots[i].ninhand;
	for (i = 1; i <= HQ_SEG_PRIORITIES; i++)
		SEG_SET(h->depth[i], s->idx.depth[i]);
	SEG_SET(h->queue_size, s->idx.nheap);
	SEG_SET(h->processing, inhand);
	SEG_SET(h->mode, s->watch.polling ? SEG_MODE_POLLING :
	    SEG_MODE_EVENT_LOOP);
	SEG_SET(h->polling, !s->watch.polling ? SEG_POLL_NONE :
	    s->watch.polling_asked ? SEG_POLL_CONFIGURED : SEG_POLL_FALLBACK);
	SEG_SET(h->watcher_alive, s->watch.ifd != -1);
	SEG_SET(h->draining, s->shutdown.phase != SUP_RUNNING);
}

/* Dead letters now in failed/: a directory walk when the folder changed
 * since the last one (one fstat a heartbeat while it does not). */
static void
stats_failed(struct sup *s)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	uint64_t	 n = 0;

	if (fstat(s->q.failedfd, &st) == -1 ||
	    fd_dir_unchanged(&s->stats.failed_stamp, &st))
		return;
	fd_dir_stamp(&s->stats.failed_stamp, &st);
	if ((d = fd_opendir(s->q.failedfd)) == NULL) {
		s->stats.failed_stamp.valid = 0;
		return;
	}
	while ((de = readdir(d)) != NULL)
		n += queue_name_parse(de->d_name, NULL) &&
		    !queue_dirent_isdir(s->q.failedfd, de);
	closedir(d);
	SEG_SET(s->stats.seg->h.failed_entries, n);
}

/* The oldest queued name: a walk over the heap, once per heartbeat (and
 * once per second while someone watches /events). */
void
stats_oldest(struct sup *s)
{
	uint64_t	oldest = 0;
	size_t		i;

	for (i = 0; i < s->idx.nheap; i++)
		if (oldest == 0 || s->idx.heap[i]->seen_ns < oldest)
			oldest = s->idx.heap[i]->seen_ns;
	SEG_SET(s->stats.seg->h.oldest_pending_ns, oldest);
}

/* Write one of the tick's files (bit names it in tick_write_failed): a
 * failure is logged when it starts and when it ends, not every tick. */
static int
stats_write(struct sup *s, const char *name, const struct pbuf *out,
    unsigned bit)
{
	int	rc;

	/* The heartbeat, every tick: in place of itself, two files kept
	 * open (fd_display: no file created, unlinked or freed a tick). */
	if (bit == 1)
		rc = fd_display_write(&s->stats.heartbeat, s->q.rootfd, name,
		    out->data, out->len, 0644);
	else
		rc = fd_write_atomic(s->q.rootfd, name, out->data, out->len,
		    0644, FD_SYNC_NONE);
	if (rc == -1) {
		if (!(s->stats.tick_write_failed & bit))
			log_warn("write %s/%s (said once until it works "
			    "again)", s->q.root, name);
		s->stats.tick_write_failed |= bit;
		return -1;
	}
	if (s->stats.tick_write_failed & bit)
		log_info("%s/%s written again", s->q.root, name);
	s->stats.tick_write_failed &= ~bit;
	return 0;
}

/*
 * The old worker's stats.json, same keys, for scripts that read it
 * (report_legacy() says what each counts). Rewritten with the heartbeat
 * when it changed, and at exit (final) with its data synced: it carries
 * the totals into the next hqd. Entries queued are the index's while
 * running; the drain empties the index, so then they are counted in the
 * directories.
 */
static void
stats_legacy_write(struct sup *s, bool final)
{
	struct report_legacy	l;
	struct report_dirs	d;
	struct pbuf		out = { 0 };
	struct stat		st;
	uint64_t		queued;

	/* Another hqd holds the root (our lock file was removed): the
	 * file is its own now. */
	if (s->root.lock_lost)
		return;
	if (s->shutdown.phase == SUP_RUNNING && !final)
		queued = SEG_GET(s->stats.seg->h.queue_size) +
		    SEG_GET(s->stats.seg->h.processing);
	else
		queued = report_count_dirs(s->q.root, &d) == 0 ?
		    d.pending + d.processing : 0;
	report_legacy(&l, s->stats.seg, NULL, queued,
	    report_legacy_direct(s->q.rootfd));
	report_legacy_json(&out, &l);
	/* It has no timestamp: an idle queue leaves it unchanged, and a
	 * rewrite would be five system calls per tick for nothing. Whether
	 * someone removed it is looked at once a minute (12 ticks). */
	if (!final && out.len == s->stats.legacy.len && memcmp(out.data,
	    s->stats.legacy.data, out.len) == 0 && (s->stats.ticks % 12 != 0 ||
	    fstatat(s->q.rootfd, "stats.json", &st, AT_SYMLINK_NOFOLLOW) ==
	    0))
		goto out;
	if (final) {
		if (fd_write_atomic(s->q.rootfd, "stats.json", out.data,
		    out.len, 0644, FD_SYNC_FILE) == -1)
			log_warn("write %s/stats.json: the next hqd counts "
			    "from the last one written", s->q.root);
		goto out;
	}
	if (stats_write(s, "stats.json", &out, 2) == -1)
		goto out;
	s->stats.legacy.len = 0;
	pbuf_add(&s->stats.legacy, out.data, out.len);
out:
	pbuf_free(&out);
}

static void
stats_heartbeat(struct sup *s)
{
	struct pbuf	out = { 0 };
	uint64_t	now = now_wall_ns();

	SEG_SET(s->stats.seg->h.heartbeat_ns, now);
	SEG_SET(s->stats.seg->h.heartbeat_mono_ns, now_mono_ns());
	SUP_ADD(s, iterations, 1);
	stats_gauges(s);
	stats_oldest(s);
	stats_failed(s);
	report_json(&out, s->stats.seg, NULL, now);
	/* Swapped in whole: readers never see half a document. No fsync:
	 * the heartbeat is a display, rewritten every interval, and an
	 * fsync would cost the idle supervisor a blocking wait per tick. */
	stats_write(s, HQ_HEARTBEAT_FILE, &out, 1);
	pbuf_free(&out);
	stats_legacy_write(s, false);
}

bool
stats_idle_due(const struct sup *s, uint64_t now_ms)
{
	int	i;

	if (s->cfg.idle_exit_ms == 0 || s->shutdown.phase != SUP_RUNNING ||
	    pindex_peek(&s->idx) != NULL ||
	    now_ms - s->dispatch.last_work_ms < (uint64_t)s->cfg.idle_exit_ms ||
	    now_ms - s->dispatch.last_event_ms < (uint64_t)s->cfg.idle_exit_ms)
		return false;
	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].state == WSLOT_BUSY)
			return false;
	return true;
}

void
stats_tick(struct sup *s)
{
	int	i, alive = 0;

	s->stats.ticks++;
	stats_heartbeat(s);
	for (i = 0; i < s->nslots; i++)
		alive += s->slots[i].state == WSLOT_IDLE ||
		    s->slots[i].state == WSLOT_BUSY;
	notify_tick(s, alive);
	if (stats_idle_due(s, now_mono_ms()))
		s->shutdown.drain(s, "idle exit", HQ_EX_OK);
}

static void
stats_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	stats_tick(container_of(t, struct sup, stats.tick_timer));
}

/* SPDX-License-Identifier: MIT */
/* report.c: heartbeat JSON, Prometheus text and the table, all from one
 * snapshot of the segment. Used by hqd (heartbeat), hqctl and HTTP. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/hq.h"
#include "common/now.h"
#include "common/queue.h"
#include "common/report.h"

static const char *const report_slot_states[] = {
	[SEG_SLOT_EMPTY] = "down", [SEG_SLOT_STARTING] = "starting",
	[SEG_SLOT_IDLE] = "idle", [SEG_SLOT_BUSY] = "busy",
};

static uint64_t	report_age_s(uint64_t now_ns, uint64_t then_ns);

/* enum seg_wait, as the JSON and the table name it. */
static const char *const report_waits[] = {
	[SEG_WAIT_NONE] = "none", [SEG_WAIT_LOCK] = "lock",
	[SEG_WAIT_DISK] = "disk", [SEG_WAIT_RETRY] = "retry",
	[SEG_WAIT_CLUSTER] = "cluster",
};

static const char *
report_wait_name(uint64_t w)
{
	return w < nitems(report_waits) ? report_waits[w] : "?";
}


static uint64_t
report_count_one(int dirfd, struct report_dirs *d, bool pending)
{
	DIR		*dir;
	struct dirent	*de;
	struct queue_name qn;
	struct stat	 st;
	uint64_t	 n = 0;

	if ((dir = fd_opendir(dirfd)) == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!queue_name_parse(de->d_name, &qn)) {
			if (pending)
				d->bad_names++;
			continue;
		}
		/* In failed/, a directory under an entry's name is none. */
		if (!pending && queue_dirent_isdir(dirfd, de))
			continue;
		n++;
		if (!pending)
			continue;
		d->depth[qn.priority]++;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			uint64_t t = (uint64_t)st.st_mtim.tv_sec * 1000000000 +
			    (uint64_t)st.st_mtim.tv_nsec;

			if (d->oldest_pending_ns == 0 ||
			    t < d->oldest_pending_ns)
				d->oldest_pending_ns = t;
		}
	}
	closedir(dir);
	return n;
}

int
report_count_dirs(const char *root, struct report_dirs *d)
{
	struct queue	q;
	char		err[256];
	int		fd;

	memset(d, 0, sizeof(*d));
	if (queue_open(&q, root, false, 0, err, sizeof(err)) == -1) {
		errno = ENOENT;
		return -1;
	}
	d->pending = report_count_one(q.pendingfd, d, true);
	d->processing = report_count_one(q.processingfd, d, false);
	/* and the per-worker folders */
	for (int i = 0; i < HQ_SEG_SLOTS; i++) {
		if ((fd = queue_worker_dir(&q, i, false)) == -1)
			continue;
		d->processing += report_count_one(fd, d, false);
		close(fd);
	}
	d->failed = report_count_one(q.failedfd, d, false);
	d->completed = report_count_one(q.completedfd, d, false);
	d->valid = true;
	queue_close(&q);
	return 0;
}

/* dst is the caller's own copy: plain adds (an atomic add per bucket was
 * 40 % of a /metrics request). */
static void
report_hist_merge(struct seg_hist *dst, const struct seg_hist *src)
{
	unsigned	b;

	SEG_SET(dst->count, SEG_GET(dst->count) + SEG_GET(src->count));
	SEG_SET(dst->sum_us, SEG_GET(dst->sum_us) + SEG_GET(src->sum_us));
	for (b = 0; b < HQ_HIST_BUCKETS; b++)
		SEG_SET(dst->bucket[b], SEG_GET(dst->bucket[b]) +
		    SEG_GET(src->bucket[b]));
}

void
report_totals(const struct seg *sg, struct report_totals *t)
{
	uint32_t	i;

	memset(t, 0, sizeof(*t));
	if (sg == NULL)
		return;
	/* Slots past the configured workers are never used. */
	for (i = 0; i < sg->h.nworkers && i < HQ_SEG_SLOTS; i++) {
		const struct seg_slot *sl = &sg->slot[i];

#define HQ_SLOT_COUNTER(name, prom, help) \
		t->name += SEG_GET(sl->c.name);
#include "common/counters.def"
#undef HQ_SLOT_COUNTER
		t->alive += SEG_GET(sl->pid) != 0;
		report_hist_merge(&t->exec, &sl->lat_exec);
		report_hist_merge(&t->commit, &sl->lat_commit);
	}
}

void
report_sink(const struct seg *sg, struct report_sink *k)
{
	uint32_t	i;
	uint64_t	t;

	memset(k, 0, sizeof(*k));
	if (sg == NULL)
		return;
	k->dqlite = strncmp(sg->h.db, "dqlite://", 9) == 0;
	for (i = 0; i < sg->h.nworkers && i < HQ_SEG_SLOTS; i++) {
		const struct seg_sink *sk = &sg->slot[i].sink;

#define HQ_SINK_COUNTER(name, help)	k->name += SEG_GET(sk->name);
#include "common/counters.def"
#undef HQ_SINK_COUNTER
		k->alive += SEG_GET(sg->slot[i].pid) != 0;
		if (SEG_GET(sg->slot[i].pid) != 0 &&
		    SEG_GET(sg->slot[i].wait) == SEG_WAIT_CLUSTER) {
			t = SEG_GET(sg->slot[i].wait_since_ns);
			if (k->waiting++ == 0 || t < k->wait_since_ns)
				k->wait_since_ns = t;
		}
		/* The texts are copied bounded: a write may race this. */
		if ((t = SEG_GET(sk->ok_ns)) >= k->ok_ns && sk->leader[0]) {
			k->ok_ns = t;
			snprintf(k->leader, sizeof(k->leader), "%.*s",
			    (int)sizeof(sk->leader) - 1, sk->leader);
		}
		if ((t = SEG_GET(sk->error_ns)) > k->error_ns) {
			k->error_ns = t;
			snprintf(k->error, sizeof(k->error), "%.*s",
			    (int)sizeof(sk->error) - 1, sk->error);
		}
	}
}

bool
report_sink_down(const struct report_sink *k, char *msg, size_t len)
{
	/* An idle worker knows nothing either way. */
	if (!k->dqlite || k->waiting == 0 || k->ok_ns >= k->wait_since_ns)
		return false;
	if (msg != NULL)
		snprintf(msg, len, "no dqlite leader reachable: %s",
		    k->error[0] ? k->error : "no answer yet");
	return true;
}

bool
report_health(const struct seg *sg, uint64_t now, char *msg, size_t len)
{
	const struct seg_header	*h = &sg->h;
	struct report_sink	 k;
	uint64_t		 hb, limit_ns;
	uint32_t		 i;
	int			 n;

	if (SEG_GET(h->draining)) {
		snprintf(msg, len, "unhealthy: hqd pid %lld is shutting down",
		    (long long)h->pid);
		return false;
	}
	/* Fresh: the supervisor ticked within two heartbeat intervals.
	 * Monotonic: a wall-clock jump must not make hqd look dead. */
	hb = SEG_GET(h->heartbeat_mono_ns);
	limit_ns = SEG_GET(h->heartbeat_interval_ms) * 2000000 + 1000000000;
	if (hb == 0 || now > hb + limit_ns) {
		snprintf(msg, len, "unhealthy: heartbeat is %.1f s old",
		    hb ? (double)(now - hb) / 1e9 : -1.0);
		return false;
	}
	for (i = 0; i < h->nworkers; i++) {
		uint64_t pid = SEG_GET(sg->slot[i].pid);

		if (pid == 0 || (kill((pid_t)pid, 0) == -1 && errno != EPERM)) {
			snprintf(msg, len, "unhealthy: worker %u is not "
			    "running", i);
			return false;
		}
		if (SEG_GET(sg->slot[i].state) == SEG_SLOT_STARTING &&
		    now_wall_ns() > SEG_GET(sg->slot[i].spawned_ns) +
		    10000000000ULL) {
			snprintf(msg, len, "unhealthy: worker %u has been "
			    "starting for over 10 s", i);
			return false;
		}
	}
	if (SEG_GET(h->polling) == SEG_POLL_FALLBACK) {
		snprintf(msg, len, "unhealthy: inotify failed; hqd is polling");
		return false;
	}
	if (SEG_GET(h->mode) == SEG_MODE_EVENT_LOOP &&
	    !SEG_GET(h->watcher_alive)) {
		snprintf(msg, len, "unhealthy: the inotify watcher is down");
		return false;
	}
	n = snprintf(msg, len, "healthy: hqd pid %lld, %u workers, %s",
	    (long long)h->pid, h->nworkers,
	    SEG_GET(h->mode) == SEG_MODE_POLLING ? "polling" : "inotify");
	/* Waiting is healthy (a restart would not free a lock another
	 * program holds, nor the disk) but an operator wants to know. */
	for (i = 0; i < h->nworkers && n > 0 && (size_t)n < len; i++) {
		const struct seg_slot *sl = &sg->slot[i];
		uint64_t wt = SEG_GET(sl->wait), pid = SEG_GET(sl->wait_pid);

		if (wt == SEG_WAIT_NONE || wt == SEG_WAIT_RETRY)
			continue;
		n += snprintf(msg + n, len - (size_t)n, "; worker %u waiting "
		    "for %s for %llu s", i, wt == SEG_WAIT_LOCK ?
		    "the database lock" : wt == SEG_WAIT_CLUSTER ?
		    "the dqlite cluster" : "disk space",
		    (unsigned long long)report_age_s(now_wall_ns(),
		    SEG_GET(sl->wait_since_ns)));
		if (wt == SEG_WAIT_LOCK && pid != 0 && (size_t)n < len)
			n += snprintf(msg + n, len - (size_t)n,
			    " (pid %llu holds it)", (unsigned long long)pid);
	}
	report_sink(sg, &k);
	if (k.dqlite && n > 0 && (size_t)n < len) {
		n += snprintf(msg + n, len - (size_t)n, "; dqlite leader %s",
		    k.leader[0] ? k.leader : "unknown");
		if (k.waiting > 0 && k.error[0] && n > 0 && (size_t)n < len)
			snprintf(msg + n, len - (size_t)n, "; last error: %s",
			    k.error);
	}
	return true;
}

static uint64_t
report_delta(uint64_t now, uint64_t then)
{
	/* Counters only grow; a smaller value means a new segment. */
	return now >= then ? now - then : now;
}

static void
report_hist_delta(struct seg_hist *d, const struct seg_hist *prev,
    const struct seg_hist *cur)
{
	unsigned	b;

	SEG_SET(d->count, report_delta(SEG_GET(cur->count),
	    SEG_GET(prev->count)));
	SEG_SET(d->sum_us, report_delta(SEG_GET(cur->sum_us),
	    SEG_GET(prev->sum_us)));
	for (b = 0; b < HQ_HIST_BUCKETS; b++)
		SEG_SET(d->bucket[b], report_delta(SEG_GET(cur->bucket[b]),
		    SEG_GET(prev->bucket[b])));
}

static void	report_json_hist(struct pbuf *, const char *,
		    const struct seg_hist *);

void
report_window(struct pbuf *o, const struct report_totals *prev,
    const struct report_totals *cur, double secs)
{
	struct seg_hist	d;

	pbuf_printf(o, ",\"window\":{\"seconds\":%.3f,\"applied\":%llu,"
	    "\"failed\":%llu,\"retried\":%llu,", secs,
	    (unsigned long long)report_delta(cur->applied, prev->applied),
	    (unsigned long long)report_delta(cur->failed, prev->failed),
	    (unsigned long long)report_delta(cur->retried, prev->retried));
	report_hist_delta(&d, &prev->exec, &cur->exec);
	report_json_hist(o, "exec", &d);
	pbuf_printf(o, ",");
	report_hist_delta(&d, &prev->commit, &cur->commit);
	report_json_hist(o, "commit", &d);
	pbuf_printf(o, "}");
}

static uint64_t
report_secs(uint64_t ns)
{
	return ns / 1000000000;
}

static uint64_t
report_age_s(uint64_t now_ns, uint64_t then_ns)
{
	return then_ns == 0 || then_ns > now_ns ? 0 :
	    (now_ns - then_ns) / 1000000000;
}

/* ,"key":v: the heartbeat is mostly these, so no printf. */
static void
report_kv(struct pbuf *o, const char *key, uint64_t v)
{
	pbuf_add(o, key, strlen(key));
	pbuf_u64(o, v);
}

static void
report_json_hist(struct pbuf *o, const char *name, const struct seg_hist *h)
{
	static const struct {
		const char	*key;
		double		 q;
	} qs[] = {
		{ ",\"p50_ms\":", 0.50 }, { ",\"p90_ms\":", 0.90 },
		{ ",\"p99_ms\":", 0.99 }, { ",\"max_ms\":", 1.0 },
	};
	uint64_t	n = SEG_GET(h->count), sum = SEG_GET(h->sum_us), mean;
	size_t		i;

	pbuf_printf(o, "\"%s\":{", name);
	report_kv(o, "\"count\":", n);
	/* Microseconds shown as milliseconds with three decimals: exact. */
	for (i = 0; i < nitems(qs); i++) {
		pbuf_add(o, qs[i].key, strlen(qs[i].key));
		pbuf_milli(o, seg_hist_quantile(h, qs[i].q));
	}
	/* The mean to the nearest microsecond, halves up. */
	mean = n ? sum / n + (sum % n >= n - sum % n) : 0;
	pbuf_add(o, ",\"mean_ms\":", sizeof(",\"mean_ms\":") - 1);
	pbuf_milli(o, mean);
	pbuf_add(o, "}", 1);
}

/*
 * The queue as the renderers show it: the segment's gauges while hqd runs
 * (its own counts, no directory walk), else the directories as counted
 * (d), else nothing known (valid false, all zero).
 */
static void
report_view(const struct seg *sg, const struct report_dirs *d,
    struct report_dirs *v)
{
	const struct seg_header	*h = sg ? &sg->h : NULL;
	int			 p;

	memset(v, 0, sizeof(*v));
	if (h == NULL) {
		if (d != NULL && d->valid)
			*v = *d;
		return;
	}
	v->valid = true;
	v->pending = SEG_GET(h->queue_size);
	v->processing = SEG_GET(h->processing);
	v->failed = SEG_GET(h->failed_entries);
	v->oldest_pending_ns = SEG_GET(h->oldest_pending_ns);
	for (p = 1; p <= HQ_SEG_PRIORITIES; p++)
		v->depth[p] = SEG_GET(h->depth[p]);
}

/* ,"sink":{...}: where the workers apply (docs/stats.md). */
static void
report_json_sink(struct pbuf *o, const struct seg *sg)
{
	struct report_sink	k;

	report_sink(sg, &k);
	pbuf_printf(o, ",\"sink\":{\"kind\":\"%s\",\"leader\":",
	    k.dqlite ? "dqlite" : "sqlite");
	pbuf_json_str(o, k.leader);
	pbuf_printf(o, ",\"workers_waiting\":%u,\"last_commit_time\":%llu,"
	    "\"last_error_time\":%llu,\"last_error\":", k.waiting,
	    (unsigned long long)report_secs(k.ok_ns),
	    (unsigned long long)report_secs(k.error_ns));
	pbuf_json_str(o, k.error);
#define HQ_SINK_COUNTER(name, help) \
	report_kv(o, ",\"" #name "\":", k.name);
#include "common/counters.def"
#undef HQ_SINK_COUNTER
	pbuf_printf(o, "}");
}

void
report_json(struct pbuf *o, const struct seg *sg, const struct report_dirs *d,
    uint64_t now_ns)
{
	struct report_totals	 t;
	struct report_dirs	 v;
	const struct seg_header	*h = sg ? &sg->h : NULL;
	uint64_t		 last_ev;
	uint32_t		 i;
	int			 p;

	report_totals(sg, &t);
	report_view(sg, d, &v);
	last_ev = h ? SEG_GET(h->last_event_ns) : 0;
	pbuf_printf(o, "{\"schema_version\":%d,\"timestamp\":%llu,"
	    "\"pid\":%lld,\"mode\":\"%s\",\"iteration\":%llu,"
	    "\"events_processed\":%llu,\"last_event_time\":%llu,"
	    "\"idle_seconds\":%llu,\"queue_size\":%llu,"
	    "\"processing_count\":%llu,\"watcher_pid\":%lld,"
	    "\"watcher_alive\":%s,\"watcher_restarts\":%llu,",
	    HQ_REPORT_SCHEMA, (unsigned long long)report_secs(now_ns),
	    h ? (long long)h->pid : 0LL,
	    h != NULL && SEG_GET(h->mode) == SEG_MODE_POLLING ?
	    "polling" : "event-loop",
	    h ? (unsigned long long)SEG_GET(h->c.iterations) : 0ULL,
	    (unsigned long long)(t.applied + t.failed + t.duplicates),
	    (unsigned long long)report_secs(last_ev),
	    (unsigned long long)(h ? report_age_s(now_ns,
	    last_ev ? last_ev : h->start_ns) : 0),
	    (unsigned long long)v.pending, (unsigned long long)v.processing,
	    h && SEG_GET(h->watcher_alive) ? (long long)h->pid : 0LL,
	    h && SEG_GET(h->watcher_alive) ? "true" : "false",
	    h ? (unsigned long long)SEG_GET(h->c.watcher_restarts) : 0ULL);
	pbuf_printf(o, "\"daemon\":\"%s\",\"started_at\":%llu,"
	    "\"uptime_seconds\":%llu,\"generation\":\"%016llx\","
	    "\"heartbeat_interval_seconds\":%.3f,\"draining\":%s,\"root\":",
	    h ? "up" : "down", h ? (unsigned long long)report_secs(
	    h->start_ns) : 0ULL,
	    h ? (unsigned long long)report_age_s(now_ns, h->start_ns) : 0ULL,
	    h ? (unsigned long long)h->generation : 0ULL,
	    h ? SEG_GET(h->heartbeat_interval_ms) / 1000.0 : 0.0,
	    h && SEG_GET(h->draining) ? "true" : "false");
	pbuf_json_str(o, h ? h->root : "");
	pbuf_printf(o, ",\"db\":");
	pbuf_json_str(o, h ? h->db : "");
	report_json_sink(o, sg);
	report_kv(o, ",\"entries_applied\":", t.applied);
	report_kv(o, ",\"entries_failed\":", t.failed);
	report_kv(o, ",\"entries_retried\":", t.retried);
	report_kv(o, ",\"entries_duplicate\":", t.duplicates);
	report_kv(o, ",\"entries_repaired\":", t.repaired);
	report_kv(o, ",\"batches\":", t.batches);
	report_kv(o, ",\"oldest_pending_age_seconds\":",
	    report_age_s(now_ns, v.oldest_pending_ns));
	pbuf_add(o, ",\"queue_depth\":{", sizeof(",\"queue_depth\":{") - 1);
	for (p = 1; p <= HQ_SEG_PRIORITIES; p++) {
		if (p > 1)
			pbuf_add(o, ",", 1);
		pbuf_add(o, "\"", 1);
		pbuf_u64(o, (uint64_t)p);
		report_kv(o, "\":", v.depth[p]);
	}
	pbuf_printf(o, "},\"failed_count\":%llu,\"latency\":{",
	    (unsigned long long)v.failed);
	report_json_hist(o, "exec", &t.exec);
	pbuf_printf(o, ",");
	report_json_hist(o, "commit", &t.commit);
	pbuf_printf(o, "},\"supervisor\":{");
	p = 0;
#define HQ_SUP_COUNTER(name, help) \
	report_kv(o, p++ ? ",\"" #name "\":" : "\"" #name "\":", \
	    h ? SEG_GET(h->c.name) : 0);
#include "common/counters.def"
#undef HQ_SUP_COUNTER
	pbuf_printf(o, "},\"workers\":[");
	for (i = 0; h && i < h->nworkers; i++) {
		const struct seg_slot *sl = &sg->slot[i];
		uint64_t st = SEG_GET(sl->state);

		pbuf_printf(o, "%s{\"slot\":%u,\"pid\":%llu,\"generation\":%llu,"
		    "\"state\":\"%s\",\"in_hand\":%llu,"
		    "\"last_progress_time\":%llu,\"busy_seconds\":%.3f",
		    i ? "," : "", i, (unsigned long long)SEG_GET(sl->pid),
		    (unsigned long long)SEG_GET(sl->gen),
		    st < nitems(report_slot_states) ?
		    report_slot_states[st] : "?",
		    (unsigned long long)SEG_GET(sl->inhand),
		    (unsigned long long)report_secs(SEG_GET(sl->progress_ns)),
		    SEG_GET(sl->c.busy_us) / 1e6);
		pbuf_printf(o, ",\"waiting\":\"%s\",\"waiting_seconds\":%llu,"
		    "\"lock_holder_pid\":%llu",
		    report_wait_name(SEG_GET(sl->wait)),
		    (unsigned long long)(SEG_GET(sl->wait) ? report_age_s(now_ns,
		    SEG_GET(sl->wait_since_ns)) : 0),
		    (unsigned long long)SEG_GET(sl->wait_pid));
#define HQ_SLOT_COUNTER(name, prom, help) \
		report_kv(o, ",\"entries_" #name "\":", SEG_GET(sl->c.name));
#include "common/counters.def"
#undef HQ_SLOT_COUNTER
		pbuf_printf(o, "}");
	}
	pbuf_printf(o, "]}\n");
}

static void
report_prom_head(struct pbuf *o, const char *name, const char *type,
    const char *help)
{
	pbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter summed over the slots; prom NULL: not exported this way. */
static void
report_prom_total(struct pbuf *o, const char *prom, const char *help,
    uint64_t v)
{
	if (prom == NULL)
		return;
	report_prom_head(o, prom, "counter", help);
	pbuf_printf(o, "%s %llu\n", prom, (unsigned long long)v);
}

static void
report_prom_hist(struct pbuf *o, const char *name, const char *help,
    const struct seg_hist *h)
{
	uint64_t	run = 0;
	unsigned	b;

	report_prom_head(o, name, "histogram", help);
	/* Only bucket bounds that are powers of two are exact here. */
	for (b = 0; b < HQ_HIST_BUCKETS; b++) {
		uint64_t up = seg_hist_upper_us(b);

		run += SEG_GET(h->bucket[b]);
		if ((up & (up - 1)) != 0 || up < 64 || up > (1ULL << 26))
			continue;
		/* Bucket bounds are inclusive, like le. */
		pbuf_printf(o, "%s_bucket{le=\"%.6f\"} %llu\n", name,
		    (double)up / 1e6, (unsigned long long)run);
	}
	pbuf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
	    "%s_count %llu\n", name, (unsigned long long)SEG_GET(h->count),
	    name, SEG_GET(h->sum_us) / 1e6, name,
	    (unsigned long long)SEG_GET(h->count));
}

void
report_prometheus(struct pbuf *o, const struct seg *sg,
    const struct report_dirs *d, uint64_t now_ns)
{
	struct report_totals	 t;
	struct report_sink	 k;
	struct report_dirs	 v;
	const struct seg_header	*h = sg ? &sg->h : NULL;
	uint32_t		 i;
	int			 p;

	report_totals(sg, &t);
	report_view(sg, d, &v);
	report_prom_head(o, "hq_build_info", "gauge",
	    "hq version; always 1");
	pbuf_printf(o, "hq_build_info{version=\"%s\"} 1\n", HQ_VERSION);
	report_prom_head(o, "hq_up", "gauge", "1 when hqd is running");
	pbuf_printf(o, "hq_up %d\n", h != NULL);
	report_prom_head(o, "hq_queue_depth", "gauge",
	    "entries queued in pending/ by priority");
	for (p = 1; p <= HQ_SEG_PRIORITIES; p++)
		pbuf_printf(o, "hq_queue_depth{priority=\"%d\"} %llu\n", p,
		    (unsigned long long)v.depth[p]);
	report_prom_head(o, "hq_queue_processing", "gauge",
	    "entries in workers' hands");
	pbuf_printf(o, "hq_queue_processing %llu\n",
	    (unsigned long long)v.processing);
	report_prom_head(o, "hq_queue_oldest_pending_age_seconds", "gauge",
	    "age of the oldest queued entry, 0 when empty");
	pbuf_printf(o, "hq_queue_oldest_pending_age_seconds %llu\n",
	    (unsigned long long)report_age_s(now_ns, v.oldest_pending_ns));
	report_prom_head(o, "hq_failed_entries", "gauge",
	    "dead letters in failed/");
	pbuf_printf(o, "hq_failed_entries %llu\n", (unsigned long long)v.failed);
#define HQ_SLOT_COUNTER(name, prom, help)				\
	report_prom_total(o, prom, help, t.name);
#include "common/counters.def"
#undef HQ_SLOT_COUNTER
	if (h == NULL)
		return;
	report_sink(sg, &k);
#define HQ_SINK_COUNTER(name, help)					\
	report_prom_head(o, "hq_sink_" #name "_total", "counter", help);	\
	pbuf_printf(o, "hq_sink_" #name "_total %llu\n",		\
	    (unsigned long long)k.name);
#include "common/counters.def"
#undef HQ_SINK_COUNTER
	report_prom_head(o, "hq_sink_up", "gauge", "0 while the dqlite "
	    "cluster is out of reach (a worker waits for it, none committed "
	    "since); 1 otherwise, and always on a local file");
	pbuf_printf(o, "hq_sink_up %d\n", !report_sink_down(&k, NULL, 0));
	report_prom_head(o, "hq_start_time_seconds", "gauge",
	    "when hqd started, Unix time");
	pbuf_printf(o, "hq_start_time_seconds %.3f\n", h->start_ns / 1e9);
	report_prom_head(o, "hq_heartbeat_timestamp_seconds", "gauge",
	    "last supervisor tick, Unix time");
	pbuf_printf(o, "hq_heartbeat_timestamp_seconds %.3f\n",
	    SEG_GET(h->heartbeat_ns) / 1e9);
	report_prom_head(o, "hq_watcher_up", "gauge",
	    "1 when the inotify watch is armed");
	pbuf_printf(o, "hq_watcher_up %d\n", SEG_GET(h->watcher_alive) != 0);
	report_prom_head(o, "hq_polling", "gauge",
	    "1 when hqd polls pending/ instead of inotify");
	pbuf_printf(o, "hq_polling %d\n",
	    SEG_GET(h->mode) == SEG_MODE_POLLING);
	report_prom_head(o, "hq_workers", "gauge", "configured workers");
	pbuf_printf(o, "hq_workers %u\n", h->nworkers);
	report_prom_head(o, "hq_workers_alive", "gauge",
	    "worker processes running");
	pbuf_printf(o, "hq_workers_alive %d\n", t.alive);
#define HQ_SUP_COUNTER(name, help)					\
	report_prom_head(o, "hq_supervisor_" #name "_total", "counter", help); \
	pbuf_printf(o, "hq_supervisor_" #name "_total %llu\n",		\
	    (unsigned long long)SEG_GET(h->c.name));
#include "common/counters.def"
#undef HQ_SUP_COUNTER
	report_prom_head(o, "hq_worker_busy_seconds_total", "counter",
	    "time each worker spent on batches");
	for (i = 0; i < h->nworkers; i++)
		pbuf_printf(o, "hq_worker_busy_seconds_total{worker=\"%u\"} "
		    "%.6f\n", i, SEG_GET(sg->slot[i].c.busy_us) / 1e6);
	report_prom_head(o, "hq_worker_entries_applied_total", "counter",
	    "entries committed by each worker slot");
	for (i = 0; i < h->nworkers; i++)
		pbuf_printf(o, "hq_worker_entries_applied_total{worker=\"%u\"} "
		    "%llu\n", i,
		    (unsigned long long)SEG_GET(sg->slot[i].c.applied));
	report_prom_head(o, "hq_worker_waiting", "gauge",
	    "1 while the worker waits (reason: lock, disk or retry); its "
	    "entries' retries are not spent");
	for (i = 0; i < h->nworkers; i++) {
		uint64_t wt = SEG_GET(sg->slot[i].wait), r;

		for (r = SEG_WAIT_LOCK; r < nitems(report_waits); r++)
			pbuf_printf(o, "hq_worker_waiting{worker=\"%u\","
			    "reason=\"%s\"} %d\n", i, report_waits[r],
			    wt == r);
	}
	report_prom_head(o, "hq_worker_up", "gauge",
	    "1 when the worker slot has a process");
	for (i = 0; i < h->nworkers; i++)
		pbuf_printf(o, "hq_worker_up{worker=\"%u\"} %d\n", i,
		    SEG_GET(sg->slot[i].pid) != 0);
	report_prom_hist(o, "hq_exec_latency_seconds",
	    "entry file written to its statements executed", &t.exec);
	report_prom_hist(o, "hq_commit_latency_seconds",
	    "entry file written to its transaction committed", &t.commit);
}

void
report_table(struct pbuf *o, const struct seg *sg, const struct report_dirs *d,
    uint64_t now_ns)
{
	struct report_totals	 t;
	struct report_sink	 k;
	struct report_dirs	 v;
	const struct seg_header	*h = sg ? &sg->h : NULL;
	uint32_t		 i;
	int			 p;

	report_totals(sg, &t);
	report_view(sg, d, &v);
	if (h == NULL)
		pbuf_printf(o, "hqd          down\n");
	else
		pbuf_printf(o, "hqd          pid %lld, up %llus, %s, %s\n"
		    "root         %s\ndatabase     %s\n", (long long)h->pid,
		    (unsigned long long)report_age_s(now_ns, h->start_ns),
		    SEG_GET(h->mode) == SEG_MODE_POLLING ? "polling" :
		    "inotify", SEG_GET(h->draining) ? "draining" : "running",
		    h->root, h->db);
	pbuf_printf(o, "queue        %llu pending, %llu processing",
	    (unsigned long long)v.pending, (unsigned long long)v.processing);
	if (v.valid)
		pbuf_printf(o, ", %llu failed", (unsigned long long)v.failed);
	pbuf_printf(o, ", oldest %llus\nby priority ",
	    (unsigned long long)report_age_s(now_ns, v.oldest_pending_ns));
	for (p = 1; p <= HQ_SEG_PRIORITIES; p++)
		pbuf_printf(o, " %d:%llu", p, (unsigned long long)v.depth[p]);
	pbuf_printf(o, "\nentries      %llu applied, %llu failed, %llu "
	    "retried, %llu duplicate, %llu repaired\n",
	    (unsigned long long)t.applied, (unsigned long long)t.failed,
	    (unsigned long long)t.retried, (unsigned long long)t.duplicates,
	    (unsigned long long)t.repaired);
	pbuf_printf(o, "latency      exec p50 %.2f ms p99 %.2f ms, commit "
	    "p50 %.2f ms p99 %.2f ms\n",
	    seg_hist_quantile(&t.exec, 0.5) / 1000.0,
	    seg_hist_quantile(&t.exec, 0.99) / 1000.0,
	    seg_hist_quantile(&t.commit, 0.5) / 1000.0,
	    seg_hist_quantile(&t.commit, 0.99) / 1000.0);
	report_sink(sg, &k);
	if (k.dqlite) {
		pbuf_printf(o, "dqlite       leader %s, %llu round trips, %llu "
		    "connects, %llu leader changes, %u of %u workers waiting\n",
		    k.leader[0] ? k.leader : "unknown",
		    (unsigned long long)k.round_trips,
		    (unsigned long long)k.connects,
		    (unsigned long long)k.leader_changes, k.waiting, k.alive);
		if (k.error_ns != 0)
			pbuf_printf(o, "dqlite error %llus ago: %s\n",
			    (unsigned long long)report_age_s(now_ns,
			    k.error_ns), k.error);
	}
	if (h == NULL)
		return;
	pbuf_printf(o, "\n%-5s %-8s %-9s %10s %8s %8s %9s %7s  %s\n", "slot",
	    "pid", "state", "applied", "failed", "retried", "busy s",
	    "idle s", "waiting");
	for (i = 0; i < h->nworkers; i++) {
		const struct seg_slot *sl = &sg->slot[i];
		uint64_t st = SEG_GET(sl->state), wt = SEG_GET(sl->wait);
		char wait[64] = "-";

		if (wt != SEG_WAIT_NONE)
			snprintf(wait, sizeof(wait), "%s %llus",
			    report_wait_name(wt),
			    (unsigned long long)report_age_s(now_ns,
			    SEG_GET(sl->wait_since_ns)));
		if (wt == SEG_WAIT_LOCK && SEG_GET(sl->wait_pid) != 0)
			snprintf(wait + strlen(wait), sizeof(wait) -
			    strlen(wait), " (pid %llu holds it)",
			    (unsigned long long)SEG_GET(sl->wait_pid));
		pbuf_printf(o, "%-5u %-8llu %-9s %10llu %8llu %8llu %9.1f "
		    "%7llu  %s\n", i, (unsigned long long)SEG_GET(sl->pid),
		    st < nitems(report_slot_states) ?
		    report_slot_states[st] : "?",
		    (unsigned long long)SEG_GET(sl->c.applied),
		    (unsigned long long)SEG_GET(sl->c.failed),
		    (unsigned long long)SEG_GET(sl->c.retried),
		    SEG_GET(sl->c.busy_us) / 1e6,
		    (unsigned long long)report_age_s(now_ns,
		    SEG_GET(sl->progress_ns)), wait);
	}
}

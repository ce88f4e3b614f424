/* SPDX-License-Identifier: MIT */
/* job.c: one WORK message in a worker: claim each name by rename into
 * processing/w<slot>/, read and decode it, apply the lot in one transaction
 * (a savepoint each), then remove the applied files and move the failed
 * ones to failed/ with their reason. Runs in workers only.
 *
 * The order of the steps is the exactly-once argument: a file is removed
 * only after the COMMIT that recorded its id in the ledger, so a crash at
 * any point leaves it in processing/, from where the supervisor requeues
 * it, and the ledger turns a second application into a skip. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fault.h"
#include "common/hq.h"
#include "common/log.h"
#include "common/now.h"
#include "common/xmalloc.h"
#include "worker/worker.h"

void
job_fail(struct job *j, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(j->reason, sizeof(j->reason), fmt, ap);
	va_end(ap);
	j->state = JOB_FAILED;
}

void
job_remover_dirs(struct worker *w)
{
	remover_dirs(&w->rm, w->wdirfd,
	    w->cfg.keep_completed ? w->q.completedfd : -1);
}

/* Claim name into processing/w<slot>/. A committed file of the same name
 * may still wait there for the remover (a producer reusing a name), and a
 * rename over it would hand the new entry to that removal: so never over
 * a file, and when one is there (or the file system cannot tell us,
 * EINVAL), let the remover finish first. */
static int
job_rename_in(struct worker *w, const char *path, const char *name)
{
	if (renameat2(w->q.rootfd, path, w->wdirfd, name,
	    RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EEXIST && errno != EINVAL)
		return -1;
	remover_wait(&w->rm);
	return renameat(w->q.rootfd, path, w->wdirfd, name);
}

/* ENOENT on a claim: the entry is gone, or someone removed our folder
 * under us. In the second case, rebuild the tree and our folder (once per
 * claim) so the claim can be tried again. */
static int
job_reopen(struct worker *w)
{
	struct stat	st;
	int		fd;

	if (fstat(w->wdirfd, &st) == 0 && st.st_nlink > 0)
		return -1;		/* our folder is fine: entry gone */
	log_warnx("processing/w%d was removed: recreating the tree", w->slot);
	/* The remover's fds are about to be replaced. */
	remover_wait(&w->rm);
	if (queue_reopen(&w->q, 0750) == -1 ||
	    (fd = queue_worker_dir(&w->q, w->slot, true)) == -1) {
		log_warn("recreate processing/w%d", w->slot);
		return -1;
	}
	close(w->wdirfd);
	w->wdirfd = fd;
	job_remover_dirs(w);
	return 0;
}

/* Claim, read, decode. Leaves j UNCLAIMED, READY or FAILED. */
static void
job_claim(struct worker *w, struct job *j, const char *name, size_t *bytes)
{
	struct queue_name	qn;
	char			err[256], path[HQ_NAME_MAX + HQ_COPY_MAX + 16];
	size_t			len;

	memset(j, 0, sizeof(*j));
	j->name = name;
	if (!queue_name_parse(name, &qn)) {
		log_warnx("%s: not an entry name, not claimed", name);
		return;
	}
	/* By path from the root, not pendingfd: a pending/ that an operator
	 * removed and hqd recreated is the one producers now use. */
	snprintf(path, sizeof(path), HQ_DIR_PENDING "/%s", name);
	if (job_rename_in(w, path, name) == -1 &&
	    !(errno == ENOENT && job_reopen(w) == 0 &&
	    job_rename_in(w, path, name) == 0)) {
		/* Gone: applied by another worker, or removed. */
		if (errno != ENOENT)
			log_warn("claim %s: rename", name);
		return;
	}
	HQ_FAULT("after_claim_one");
	if (job_read(w, j, &len) == -1)
		return;
	if (entry_decode(qn.format, w->readbuf, len, &j->e, err,
	    sizeof(err)) == -1) {
		job_fail(j, "%s", err);
		return;
	}
	if (j->e.repaired)
		log_info("%s: repaired the old library's stray '}' after "
		    "metadata", name);
	if (j->e.id != NULL)
		j->id = xstrdup(j->e.id);
	else if (w->sink.id_prefix != NULL)
		j->id = xasprintf("%s/%.*s", w->sink.id_prefix,
		    (int)(qn.seq + qn.seq_len - name), name);
	else
		j->id = xstrndup(name, (size_t)(qn.seq + qn.seq_len - name));
	j->attempts = j->e.retries > 0 ? (long)j->e.retries : 0;
	j->state = JOB_READY;
	*bytes += len;
}

static uint64_t
job_rand(struct worker *w)
{
	/* xorshift64*: jitter only, not security. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ULL;
}

/* A sign of life while holding claims: the supervisor's processing
 * timeout reads it, so waiting is never taken for hanging. A store to
 * shared memory, no system call. */
static void
job_alive(struct worker *w)
{
	SEG_SET(w->sl->alive_mono_ns, now_mono_ns());
}

/* sqlapply's busy handler calls this while another connection holds the
 * write lock. */
void
job_on_wait(void *arg, uint64_t waited_us)
{
	(void)waited_us;
	job_alive(arg);
}

static void
job_wait_state(struct worker *w, enum seg_wait what, pid_t holder)
{
	if (SEG_GET(w->sl->wait) != (uint64_t)what) {
		SEG_SET(w->sl->wait_since_ns, what ? now_wall_ns() : 0);
		SEG_SET(w->sl->wait, what);
	}
	SEG_SET(w->sl->wait_pid, holder > 0 ? (uint64_t)holder : 0);
}

/* Sleep ms, but wake for STOP, EOF or TERM: -1 then (stop now). Alive at
 * least once a second meanwhile. */
static int
job_backoff(struct worker *w, int ms)
{
	struct pollfd	pfd = { .fd = w->fd, .events = POLLIN };
	struct hq_msg	m;
	int		r;

	while (ms > 0 && !worker_term) {
		uint64_t t0 = now_mono_ms();

		job_alive(w);
		r = poll(&pfd, 1, ms < 1000 ? ms : 1000);
		if (r == -1 && errno != EINTR)
			return -1;
		if (r == 1) {
			r = proto_read(w->fd, &w->rbuf, &m);
			if (r <= 0)
				return -1;
			if (m.type == HQ_MSG_STOP) {
				proto_msg_free(&m);
				w->stopping = true;
				return -1;
			}
			if (m.type == HQ_MSG_REOPEN && w->cfg.log_file &&
			    log_reopen(w->cfg.log_file) == -1)
				log_warn("reopen %s", w->cfg.log_file);
			proto_msg_free(&m);
		}
		ms -= (int)(now_mono_ms() - t0);
	}
	job_alive(w);
	return worker_term ? -1 : 0;
}

/* The transaction is durable: settle states, count, time. */
static void
job_committed(struct worker *w, struct job *jobs, size_t n)
{
	uint64_t	now = now_wall_ns();
	size_t		i;

	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (!j->in_group)
			continue;
		j->state = j->tent;
		if (j->state != JOB_APPLIED || j->enq_ns == 0 ||
		    j->enq_ns > j->exec_ns)
			continue;
		seg_hist_add(&w->sl->lat_exec, (j->exec_ns - j->enq_ns) / 1000);
		seg_hist_add(&w->sl->lat_commit, (now - j->enq_ns) / 1000);
	}
	SEG_ADD(w->sl->c.batches, 1);
	SEG_SET(w->sl->progress_ns, now);
	job_alive(w);
}

/* Who an attempt that did not commit blames. */
#define JOB_BLAME_ALL		(-1)	/* open or BEGIN: no entry ran */
#define JOB_BLAME_UNKNOWN	(-2)	/* hq's statements or COMMIT, mid-way */

/*
 * The group one attempt applies in one transaction: every READY entry not
 * set apart, or, when only set-apart ones are left, the first of them
 * alone. An entry is set apart when its own statement met a database-level
 * error (it may be the cause: a huge entry on a nearly full disk), or when
 * failures nobody can be blamed for repeat; alone, what fails is its own.
 */
static size_t
job_group(struct job *jobs, size_t n)
{
	size_t	i, k = n, g = 0;

	for (i = 0; i < n; i++) {
		jobs[i].in_group = jobs[i].state == JOB_READY &&
		    !jobs[i].alone;
		g += jobs[i].in_group;
		if (k == n && jobs[i].state == JOB_READY)
			k = i;
	}
	if (g == 0 && k < n) {
		jobs[k].in_group = true;
		g = 1;
	}
	return g;
}

/* One attempt at the group: SQLAPPLY_OK (committed, its jobs now APPLIED,
 * DUP or FAILED) or SQLAPPLY_TEMP (rolled back; err says why, *blame says
 * whom: an index, or JOB_BLAME_*). */
static enum sqlapply_outcome
job_attempt(struct worker *w, struct job *jobs, size_t n, char *err,
    size_t errlen, long *blame)
{
	enum sqlapply_outcome	o;
	size_t			i;

again:
	*blame = JOB_BLAME_ALL;
	if ((o = w->sink.ops->open(&w->sink, err, errlen)) != SQLAPPLY_OK ||
	    (o = w->sink.ops->begin(&w->sink, err, errlen)) != SQLAPPLY_OK)
		return o;
	*blame = JOB_BLAME_UNKNOWN;
	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (!j->in_group)
			continue;
		j->tent = j->state;
		if (j->state != JOB_READY)
			continue;
		o = w->sink.ops->entry(&w->sink, j->id, &j->e, j->reason,
		    sizeof(j->reason));
		job_alive(w);
		switch (o) {
		case SQLAPPLY_OK:
			j->tent = JOB_APPLIED;
			j->exec_ns = now_wall_ns();
			break;
		case SQLAPPLY_DUP:
			j->tent = JOB_DUP;
			break;
		case SQLAPPLY_PERM:
			j->state = JOB_FAILED;
			j->tent = JOB_FAILED;
			if (w->sink.ops->txn_lost(&w->sink))
				goto again;	/* one fewer each time */
			break;
		case SQLAPPLY_SUSPECT:
		case SQLAPPLY_TEMP:
			if (o == SQLAPPLY_SUSPECT)
				*blame = (long)i;
			snprintf(err, errlen, "%s", j->reason);
			j->reason[0] = '\0';
			w->sink.ops->rollback(&w->sink);
			return SQLAPPLY_TEMP;
		}
	}
	HQ_FAULT("before_commit");
	if ((o = w->sink.ops->commit(&w->sink, err, errlen)) != SQLAPPLY_OK)
		return o;
	job_committed(w, jobs, n);
	HQ_FAULT("after_commit");
	return SQLAPPLY_OK;
}

static size_t
job_count(const struct job *jobs, size_t n, enum job_state s)
{
	size_t	i, c = 0;

	for (i = 0; i < n; i++)
		c += jobs[i].state == s;
	return c;
}

/*
 * The pid holding the database's write lock, from /proc/locks: in WAL mode
 * SQLite's writer holds a POSIX write lock on byte 120 of the -shm file.
 * Read without opening that file (closing a descriptor of it would drop
 * our own connection's locks on it). 0 when unknown.
 */
static pid_t
job_lock_holder(const struct worker *w)
{
	struct stat	 st;
	char		 path[4096], line[256];
	unsigned int	 maj, min;
	unsigned long	 ino;
	long long	 from, to;
	long		 pid;
	pid_t		 who = 0;
	FILE		*f;

	if (snprintf(path, sizeof(path), "%s-shm", w->cfg.db) >=
	    (int)sizeof(path) || stat(path, &st) == -1 ||
	    (f = fopen("/proc/locks", "re")) == NULL)
		return 0;
	while (who == 0 && fgets(line, sizeof(line), f) != NULL) {
		char to_s[32];

		if (sscanf(line, "%*d: POSIX %*s WRITE %ld %x:%x:%lu %lld %31s",
		    &pid, &maj, &min, &ino, &from, to_s) != 6)
			continue;
		to = strcmp(to_s, "EOF") == 0 ? LLONG_MAX :
		    strtoll(to_s, NULL, 10);
		if (ino == st.st_ino && maj == major(st.st_dev) &&
		    min == minor(st.st_dev) && from <= 120 && to >= 120 &&
		    pid > 0)
			who = (pid_t)pid;
	}
	fclose(f);
	return who;
}

/* Says who, in words: another hqd worker of ours, or some process. */
static void
job_log_lock_wait(const struct worker *w, pid_t holder, uint64_t secs,
    size_t n, const char *err)
{
	char	who[64] = "holder unknown";
	int	i;

	if (holder > 0)
		snprintf(who, sizeof(who), "held by pid %ld", (long)holder);
	for (i = 0; holder > 0 && i < (int)w->seg->h.nworkers; i++)
		if (SEG_GET(w->seg->slot[i].pid) == (uint64_t)holder)
			snprintf(who, sizeof(who), "held by hqd worker %d "
			    "(pid %ld)", i, (long)holder);
	log_warnx("batch of %zu: %s; waiting %llu s for the lock (%s); "
	    "retries are not spent", n, err, (unsigned long long)secs, who);
}

static int
job_backoff_ms(struct worker *w, int round, int cap)
{
	/* Past 2^16 times the base every cap is reached anyway, and a
	 * bounded shift cannot overflow. */
	int	doublings = round < 16 ? round : 16;
	int64_t	ms = w->cfg.retry_base_ms << doublings;

	if (ms > cap)
		ms = cap;
	return (int)(ms / 2 + (int64_t)(job_rand(w) % (uint64_t)(ms + 1)));
}

/* Charge one attempt to every job of the group; those over the budget
 * fail with err as their own reason. */
static void
job_charge(struct worker *w, struct job *jobs, size_t n, const char *err)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (!jobs[i].in_group || jobs[i].state != JOB_READY)
			continue;
		if (++jobs[i].attempts > w->cfg.max_retries) {
			job_fail(&jobs[i], "gave up after %ld attempts: %s",
			    jobs[i].attempts, err);
			jobs[i].gave_up = true;
		} else {
			w->n_retried++;
			SEG_ADD(w->sl->c.retried, 1);
		}
	}
}

/*
 * Apply until every job is settled. Who pays for a failure (docs/
 * reliability.md): an entry's own error fails it alone (sqlapply); a
 * database-level error raised by its statement sets it apart, to be tried
 * alone after its neighbours commit; a lock held by another connection or
 * a full disk is waiting, which costs nobody a retry; failures nobody can
 * be blamed for (COMMIT, hq's own statements) are retried, and when they
 * repeat every entry is tried alone, so that only the one that keeps
 * failing pays. -1: told to stop while waiting (entries requeued).
 */
int
job_apply(struct worker *w, struct job *jobs, size_t n)
{
	char		err[512];
	size_t		g;
	long		blame;
	int		round = 0, unknown = 0, ms;
	bool		full_apart = false, lockwait;
	enum seg_wait	wait;
	enum sqlapply_outcome o;
	uint64_t	wait_t0 = 0, logged = 0, now;
	pid_t		holder;
	struct hq_msg	m;

	while ((g = job_group(jobs, n)) > 0) {
		o = job_attempt(w, jobs, n, err, sizeof(err), &blame);
		sink_publish(&w->sink, w->sl, o == SQLAPPLY_OK);
		if (o == SQLAPPLY_OK) {
			round = unknown = 0;
			full_apart = false;
			job_wait_state(w, SEG_WAIT_NONE, 0);
			continue;
		}
		/* Set the suspect apart; its neighbours go on now. One entry
		 * at most for a full disk: if the rest fails the same way,
		 * the disk is full for everyone and the group waits. */
		wait = w->sink.ops->waiting(&w->sink);
		if (blame >= 0 && g > 1 && !(wait == SEG_WAIT_DISK &&
		    full_apart)) {
			jobs[blame].alone = true;
			full_apart |= wait == SEG_WAIT_DISK;
			log_warnx("%s: %s; retrying it alone",
			    jobs[blame].name, err);
			continue;
		}
		if (wait != SEG_WAIT_NONE) {
			now = now_mono_ms();
			if (SEG_GET(w->sl->wait) != SEG_WAIT_LOCK)
				wait_t0 = 0;	/* a lock wait starts now */
			if (wait == SEG_WAIT_CLUSTER) {
				/* No leader, or it went mid-batch: the batch
				 * runs again whole once one answers. */
				job_wait_state(w, SEG_WAIT_CLUSTER, 0);
				log_warnx("batch of %zu: %s; waiting for the "
				    "cluster, retries are not spent", g, err);
				ms = job_backoff_ms(w, round++,
				    WORKER_WAIT_MAX_MS);
			} else if (wait == SEG_WAIT_DISK) {
				/* Every round: they are seconds apart. */
				job_wait_state(w, SEG_WAIT_DISK, 0);
				log_warnx("batch of %zu: %s; waiting for disk "
				    "space", g, err);
				ms = job_backoff_ms(w, round++,
				    WORKER_WAIT_MAX_MS);
			} else {
				/* The busy handler waited busy_timeout for
				 * the lock already: look at the channel and
				 * go back to waiting. */
				holder = job_lock_holder(w);
				job_wait_state(w, SEG_WAIT_LOCK, holder);
				if (wait_t0 == 0 || now - logged >= 60000) {
					/* The busy handler waited before. */
					if (wait_t0 == 0)
						wait_t0 = now - (uint64_t)
						    w->cfg.busy_timeout_ms;
					job_log_lock_wait(w, holder,
					    (now - wait_t0) / 1000, g, err);
					logged = now;
				}
				ms = 20;
			}
		} else {
			log_warnx("batch of %zu: %s", g, err);
			if (blame == JOB_BLAME_UNKNOWN && g > 1) {
				/* Nobody to blame yet: once more together,
				 * then one by one. */
				if (++unknown >= 2) {
					for (size_t i = 0; i < n; i++)
						jobs[i].alone |= jobs[i].in_group;
					log_warnx("batch of %zu failed twice: "
					    "applying its entries one by one",
					    g);
				}
			} else
				job_charge(w, jobs, n, err);
			job_wait_state(w, SEG_WAIT_RETRY, 0);
			ms = job_backoff_ms(w, round++, WORKER_BACKOFF_MAX_MS);
		}
		if (job_count(jobs, n, JOB_READY) == 0)
			break;
		/* The segment says we are alive; PROGRESS tells the
		 * supervisor's log and timers of a failed round too, but a
		 * lock wait comes round every busy timeout, for hours. */
		lockwait = SEG_GET(w->sl->wait) == SEG_WAIT_LOCK;
		memset(&m, 0, sizeof(m));
		m.type = HQ_MSG_PROGRESS;
		m.slot = (uint32_t)w->slot;
		m.gen = w->gen;
		if ((!lockwait && proto_write(w->fd, &m, &w->wbuf) == -1) ||
		    job_backoff(w, ms) == -1) {
			job_wait_state(w, SEG_WAIT_NONE, 0);
			return -1;
		}
	}
	job_wait_state(w, SEG_WAIT_NONE, 0);
	return 0;
}

/* A reason note may quote the database (an error text can carry a
 * value): it gets no permission the database file lacks. Looked up at
 * each failure, so a chmod of the database counts at once. */
static void
job_note_mode(struct worker *w)
{
	struct stat	st;

	w->q.note_mode = QUEUE_NOTE_MODE;
	if (stat(w->cfg.db, &st) == 0)
		w->q.note_mode &= (int)(st.st_mode & 0777);
}

/* Settle every claimed file of the chunk according to its state. */
static void
job_finish(struct worker *w, struct job *jobs, size_t n)
{
	struct job	*j;
	size_t		 i;

	for (i = 0; i < n; i++) {
		j = &jobs[i];
		switch (j->state) {
		case JOB_APPLIED:
		case JOB_DUP:
			/* Removed by job_remove(), after DONE. */
			if (j->state == JOB_APPLIED) {
				w->n_applied++;
				if (j->e.repaired)
					SEG_ADD(w->sl->c.repaired, 1);
			} else {
				w->n_dups++;
				log_info("%s: id %s already applied, "
				    "skipped", j->name, j->id);
			}
			break;
		case JOB_FAILED:
			log_warnx("%s: failed: %s", j->name, j->reason);
			job_note_mode(w);
			/* The permanent failure was an attempt too. */
			if (queue_fail(&w->q, w->wdirfd, j->name, j->reason,
			    j->attempts + !j->gave_up, w->slot) == -1) {
				/* Disk full, most likely: back to pending/ to
				 * be tried again, never stranded here. */
				log_warn("%s: move to failed/; returning it to "
				    "pending/", j->name);
				if (renameat(w->wdirfd, j->name, w->q.pendingfd,
				    j->name) == -1)
					log_warn("%s: requeue", j->name);
				w->n_stranded++;
			} else {
				/* Counted once it is a dead letter for real. */
				w->n_failed++;
				SEG_ADD(w->sl->c.failed, 1);
			}
			break;
		case JOB_READY:
			if (renameat(w->wdirfd, j->name, w->q.pendingfd,
			    j->name) == -1)
				log_warn("%s: requeue", j->name);
			break;
		case JOB_UNCLAIMED:
			break;
		}
		entry_free(&j->e);
		free(j->id);
		j->id = NULL;
	}
}

/*
 * The files of the last job_run() that a COMMIT settled (applied, or
 * skipped as already applied) go to the remover, in the order they were
 * claimed (the order they were written). Called after DONE is sent, so
 * that the supervisor prepares the next WORK meanwhile, and the remover's
 * threads overlap the removals (an unlink may wait for a discard) with
 * each other and with the next batch. A crash before they are done
 * leaves committed files in processing/w<slot>/: recovery requeues them
 * and the ledger makes each a skip.
 */
void
job_remove(struct worker *w, size_t n)
{
	struct job	*j;
	size_t		 i;

	for (i = 0; i < n && i < w->jobcap; i++) {
		j = &w->jobs[i];
		if (j->state != JOB_APPLIED && j->state != JOB_DUP)
			continue;
		remover_add(&w->rm, j->name, j->state == JOB_DUP);
		j->state = JOB_UNCLAIMED;
	}
	/* Test builds only, and only when asked: no lock on the way. */
	if (HQ_FAULT_ARMED("removing"))
		remover_fault(&w->rm);
	/* This point means every file of the WORK settled. */
	if (HQ_FAULT_ARMED("after_finish"))
		remover_wait(&w->rm);
	HQ_FAULT("after_finish");
}

/* A poison entry: workers died applying it. Settle it without running its
 * SQL: applied if the ledger has its id (the deaths came after COMMIT),
 * else a dead letter. A database we cannot read leaves it READY, and
 * job_finish returns it to pending/. */
static void
job_poison(struct worker *w, struct job *j, uint32_t deaths)
{
	char	err[256];
	int	r;

	if (j->state != JOB_READY)
		return;
	if (w->sink.ops->open(&w->sink, err, sizeof(err)) != SQLAPPLY_OK ||
	    (r = w->sink.ops->applied(&w->sink, j->id)) == -1) {
		log_warnx("%s: poison entry: ledger unreadable, requeued",
		    j->name);
		return;
	}
	if (r == 1)
		j->state = JOB_DUP;
	else {
		job_fail(j, "%u workers died applying it (poison entry); its "
		    "SQL was not run again", deaths);
		j->attempts = deaths - 1;	/* job_finish adds one */
	}
}

int
job_run(struct worker *w, char **names, size_t n, uint32_t poison)
{
	size_t		i = 0, start, bytes;
	uint64_t	t0 = now_mono_us();
	int		ret = 0;

	w->n_applied = w->n_failed = w->n_retried = w->n_dups = 0;
	if (w->jobcap < n) {
		w->jobs = xreallocarray(w->jobs, n, sizeof(*w->jobs));
		memset(w->jobs + w->jobcap, 0,
		    (n - w->jobcap) * sizeof(*w->jobs));
		w->jobcap = n;
	}
	while (i < n && ret == 0) {
		/* Claim only as much as bounded memory holds; the rest of
		 * the names wait in pending/ for the next chunk. */
		for (start = i, bytes = 0; i < n && bytes < WORKER_BATCH_BYTES;
		    i++)
			job_claim(w, &w->jobs[i], names[i], &bytes);
		HQ_FAULT("after_claim");
		if (poison > 0) {
			for (size_t k = start; k < i; k++)
				job_poison(w, &w->jobs[k], poison);
		} else
			ret = job_apply(w, w->jobs + start, i - start);
		job_finish(w, w->jobs + start, i - start);
	}
	/* Dead letters that could not be written (disk full) went back to
	 * pending/, where inotify hands them out again at once: pause so a
	 * full disk costs a retry a second, not a hot loop. */
	if (w->n_stranded > 0 && ret == 0) {
		w->n_stranded = 0;
		ret = job_backoff(w, 1000);
	}
	w->applied_total += w->n_applied;
	SEG_ADD(w->sl->c.busy_us, now_mono_us() - t0);
	return ret;
}

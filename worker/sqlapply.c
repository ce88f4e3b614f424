/* SPDX-License-Identifier: MIT */
/* sqlapply.c: the worker's SQLite side. Runs in workers only; never touches
 * entry files (job.c does). Every statement hq itself runs is prepared once
 * per connection; entry statements that repeat come from a small cache. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/hq.h"
#include "common/log.h"
#include "common/now.h"
#include "common/xmalloc.h"
#include "worker/sqlapply.h"
#include "worker/sqlguard.h"

/* CPU time of this (single-threaded) worker, for the statement budget. */
static uint64_t
sqlapply_cpu_us(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * The statement budget, checked every SQLAPPLY_PROGRESS_OPS virtual
 * machine instructions of an entry's statements. Time the worker did not
 * run (SIGSTOP, a debugger, a frozen cgroup) is not the entry's: a gap of
 * over 250 ms between two checks in which the worker used less than half
 * of that CPU time moves the deadline by the time it was not running.
 * Short entries never get here, so they pay no clock reads at all.
 */
#define SQLAPPLY_PROGRESS_OPS	10000

static int
sqlapply_progress_cb(void *arg)
{
	struct sqlapply	*s = arg;
	uint64_t	 now, cpu, gap, ran;

	if (!s->in_entry || s->budget_us == 0)
		return 0;
	now = now_mono_us();
	cpu = sqlapply_cpu_us();
	if (s->tick_cpu_us != 0 && now > s->tick_mono_us + 250000) {
		gap = now - s->tick_mono_us;
		ran = cpu > s->tick_cpu_us ? cpu - s->tick_cpu_us : 0;
		if (ran < gap / 2)
			s->deadline_us += gap - ran;
	}
	s->tick_mono_us = now;
	s->tick_cpu_us = cpu;
	if (now < s->deadline_us)
		return 0;
	s->timed_out = true;
	return 1;
}

/* Sleep up to us, or until another worker ends its transaction (the
 * write turn moves on from what this one saw when it asked for the
 * lock). Other writers of the file (the old library's direct path, a
 * sqlite3 shell) wake no one: for them the sleep is the poll. */
static void
sqlapply_sleep(struct sqlapply *s, useconds_t us)
{
	struct timespec	ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	if (s->turn == NULL) {
		usleep(us);
		return;
	}
	/* The waiter count before the futex's own check of the turn, and
	 * the turn before the count on the waker's side: one of the two
	 * sees the other, so no wake-up is lost. */
	atomic_fetch_add(s->turn_waiters, 1);
	syscall(SYS_futex, s->turn, FUTEX_WAIT, s->turn_seen, &ts, NULL, 0);
	atomic_fetch_sub(s->turn_waiters, 1);
	s->turn_seen = atomic_load(s->turn);
}

/* A transaction on the file ended (committed or rolled back): the write
 * lock is free, wake the workers waiting for it. A system call only
 * when one waits. */
static void
sqlapply_turn(struct sqlapply *s)
{
	if (s->turn == NULL)
		return;
	atomic_fetch_add(s->turn, 1);
	if (atomic_load(s->turn_waiters) > 0)
		syscall(SYS_futex, s->turn, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* SQLite's own busy handler sleeps in steps of up to 100 ms; a worker
 * waiting for the other one's commit (a few ms) would lose most of the
 * time it sleeps. Sleep short, back off to 2 ms, and to 20 ms once the
 * wait is long (a lock held for seconds: the holder is busy, not
 * committing), each sleep cut short when another worker ends its
 * transaction; give up at the timeout, so the worker can look at its
 * channel. */
static int
sqlapply_busy_cb(void *arg, int count)
{
	struct sqlapply	*s = arg;
	uint64_t	 now = now_mono_us();
	useconds_t	 us;

	if (count == 0)
		s->busy_deadline_us = now + (uint64_t)s->busy_timeout_ms * 1000;
	if (s->on_wait != NULL)
		s->on_wait(s->on_wait_arg, 0);
	if (now >= s->busy_deadline_us)
		return 0;
	us = count < 5 ? 50u << count : count < 500 ? 2000 : 20000;
	if (now + us > s->busy_deadline_us)
		us = (useconds_t)(s->busy_deadline_us - now);
	sqlapply_sleep(s, us);
	return 1;
}

void
sqlapply_init(struct sqlapply *s, const char *path, bool sync_full,
    int busy_timeout_ms, int ledger_days)
{
	memset(s, 0, sizeof(*s));
	s->path = xstrdup(path);
	s->sync_full = sync_full;
	s->busy_timeout_ms = busy_timeout_ms;
	s->ledger_days = ledger_days;
}

void
sqlapply_limits(struct sqlapply *s, int64_t budget_ms, int64_t heap_limit)
{
	s->budget_us = budget_ms > 0 ? (uint64_t)budget_ms * 1000 : 0;
	s->heap_limit = heap_limit > 0 ? heap_limit : 0;
	sqlite3_hard_heap_limit64(s->heap_limit);
}

/* Transient: the database, not the entry, is at fault right now. Raised
 * by one of hq's own statements, these are the batch's trouble; raised by
 * an entry's statement, they make it a suspect (retried alone), and every
 * other code is the entry's own, permanent error. */
static bool
sqlapply_transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_READONLY:
	case SQLITE_NOTADB:
		return true;
	case SQLITE_CORRUPT:
		/* A virtual table's own consistency check (FTS
		 * integrity-check) reports its verdict, not the file's. */
		return rc != SQLITE_CORRUPT_VTAB;
	default:
		return false;
	}
}

bool
sqlapply_waiting(const struct sqlapply *s)
{
	return (s->last_rc & 0xff) == SQLITE_BUSY || sqlapply_disk_full(s);
}

bool
sqlapply_disk_full(const struct sqlapply *s)
{
	/* Full, or an I/O or open error that a full disk caused. */
	return (s->last_rc & 0xff) == SQLITE_FULL ||
	    s->last_errno == ENOSPC || s->last_errno == EDQUOT;
}

static enum sqlapply_outcome
sqlapply_err(struct sqlapply *s, int rc, const char *what, char *err,
    size_t errlen)
{
	s->last_rc = rc;
	s->last_errno = s->db ? sqlite3_system_errno(s->db) : 0;
	snprintf(err, errlen, "%s: %s (%s)", what,
	    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc),
	    sqlite3_errstr(rc));
	return sqlapply_transient(rc) ? SQLAPPLY_TEMP : SQLAPPLY_PERM;
}

static int
sqlapply_prep(struct sqlapply *s, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    st, NULL);
}

/* Run one of hq's own prepared statements to completion. */
static int
sqlapply_run(sqlite3_stmt *st)
{
	int	rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum sqlapply_outcome
sqlapply_open(struct sqlapply *s, char *err, size_t errlen)
{
	char		 sql[256];
	char		*msg = NULL;
	uint64_t	 deadline;
	int		 rc;

	if (s->db != NULL)
		return SQLAPPLY_OK;
	s->last_rc = SQLITE_CANTOPEN;
	s->last_errno = 0;
	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "open %s: %s", s->path,
		    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlapply_harden(s->db);
	sqlite3_busy_handler(s->db, sqlapply_busy_cb, s);
	sqlite3_progress_handler(s->db, SQLAPPLY_PROGRESS_OPS,
	    sqlapply_progress_cb, s);
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		snprintf(err, errlen, "open %s: database is read-only",
		    s->path);
		goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=%s;"
	    "CREATE TABLE IF NOT EXISTS " SQLAPPLY_MAIN_LEDGER "(id TEXT PRIMARY "
	    "KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID;",
	    s->sync_full ? "FULL" : "NORMAL");
	/* Switching a rollback-journal database to WAL reads the schema
	 * (shared lock) then needs an exclusive one: against a writer SQLite
	 * skips the busy handler (deadlock avoidance) and fails at once. So
	 * this waits by itself, up to the busy timeout. */
	deadline = now_mono_us() + (uint64_t)s->busy_timeout_ms * 1000;
	while (((rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg)) & 0xff) ==
	    SQLITE_BUSY && now_mono_us() < deadline) {
		sqlite3_free(msg);
		msg = NULL;
		usleep(2000);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "set up %s: %s", s->path,
		    msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		goto fail;
	}
	if ((rc = sqlapply_prep(s, "BEGIN IMMEDIATE", &s->st_begin)) ||
	    (rc = sqlapply_prep(s, "COMMIT", &s->st_commit)) ||
	    (rc = sqlapply_prep(s, "ROLLBACK", &s->st_rollback)) ||
	    (rc = sqlapply_prep(s, "SAVEPOINT hq_entry", &s->st_savepoint)) ||
	    (rc = sqlapply_prep(s, "RELEASE hq_entry", &s->st_release)) ||
	    (rc = sqlapply_prep(s, "ROLLBACK TO hq_entry",
	    &s->st_rollback_to)) ||
	    (rc = sqlapply_prep(s, "INSERT INTO " SQLAPPLY_MAIN_LEDGER
	    "(id, applied_at) VALUES (?1, ?2)", &s->st_ledger))) {
		snprintf(err, errlen, "prepare: %s", sqlite3_errmsg(s->db));
		goto fail;
	}
	sqlite3_set_authorizer(s->db, sqlapply_auth_cb, s);
	sqlapply_prune(s);
	return SQLAPPLY_OK;
fail:
	if (s->db != NULL)
		s->last_errno = sqlite3_system_errno(s->db);
	sqlapply_close(s);
	return SQLAPPLY_TEMP;
}

void
sqlapply_close(struct sqlapply *s)
{
	size_t	i;

	for (i = 0; i < SQLAPPLY_CACHE; i++) {
		sqlite3_finalize(s->cache[i].stmt);
		free(s->cache[i].sql);
		memset(&s->cache[i], 0, sizeof(s->cache[i]));
	}
	sqlite3_finalize(s->st_begin);
	sqlite3_finalize(s->st_commit);
	sqlite3_finalize(s->st_rollback);
	sqlite3_finalize(s->st_savepoint);
	sqlite3_finalize(s->st_release);
	sqlite3_finalize(s->st_rollback_to);
	sqlite3_finalize(s->st_ledger);
	s->st_begin = s->st_commit = s->st_rollback = s->st_savepoint =
	    s->st_release = s->st_rollback_to = s->st_ledger = NULL;
	if (s->db != NULL)
		sqlite3_close(s->db);
	s->db = NULL;
}

int
sqlapply_applied(struct sqlapply *s, const char *id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (s->db == NULL || sqlite3_prepare_v2(s->db, "SELECT 1 FROM "
	    SQLAPPLY_MAIN_LEDGER " WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

void
sqlapply_prune(struct sqlapply *s)
{
	sqlite3_stmt	*st;
	int64_t		 cutoff = (int64_t)time(NULL) -
	    (int64_t)s->ledger_days * 86400;

	if (s->db == NULL || sqlite3_prepare_v2(s->db, "DELETE FROM "
	    SQLAPPLY_MAIN_LEDGER " WHERE applied_at < ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, cutoff);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("prune ledger: %s", sqlite3_errmsg(s->db));
	else if (sqlite3_changes(s->db) > 0)
		log_info("pruned %d ledger rows older than %d days",
		    sqlite3_changes(s->db), s->ledger_days);
	sqlite3_finalize(st);
}

enum sqlapply_outcome
sqlapply_begin(struct sqlapply *s, char *err, size_t errlen)
{
	int	rc;

	s->txn_lost = false;
	if (s->turn != NULL)
		s->turn_seen = atomic_load(s->turn);
	if ((rc = sqlapply_run(s->st_begin)) != SQLITE_OK) {
		sqlapply_err(s, rc, "begin", err, errlen);
		return SQLAPPLY_TEMP;
	}
	return SQLAPPLY_OK;
}

enum sqlapply_outcome
sqlapply_commit(struct sqlapply *s, char *err, size_t errlen)
{
	int	rc;

	if ((rc = sqlapply_run(s->st_commit)) != SQLITE_OK) {
		sqlapply_err(s, rc, "commit", err, errlen);
		sqlapply_rollback(s);
		return SQLAPPLY_TEMP;
	}
	sqlapply_turn(s);
	return SQLAPPLY_OK;
}

void
sqlapply_rollback(struct sqlapply *s)
{
	if (s->db != NULL && !sqlite3_get_autocommit(s->db)) {
		sqlapply_run(s->st_rollback);
		sqlapply_turn(s);
	}
}

static uint32_t
sqlapply_hash(const char *p, size_t len)
{
	uint32_t	h = 2166136261u;

	while (len-- > 0)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

static bool
sqlapply_blank(const char *p)
{
	for (; *p; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' &&
		    *p != ';')
			return false;
	return true;
}

/* Prepare the statement at *sqlp, advancing *sqlp past it. A single
 * statement entry is served from the cache, and kept in it from its
 * second sighting on (*cached true: do not finalize). *st NULL with rc OK means only blanks/comments were left. */
static int
sqlapply_next_stmt(struct sqlapply *s, const struct entry *e,
    const char **sqlp, sqlite3_stmt **st, bool *cached)
{
	struct sqlapply_cached	*c;
	const char		*tail = NULL;
	uint32_t		 h = sqlapply_hash(e->sql, e->sql_len);
	bool			 again;
	int			 rc;

	*cached = false;
	*st = NULL;
	c = &s->cache[h % SQLAPPLY_CACHE];
	if (*sqlp == e->sql && c->sql != NULL && c->len == e->sql_len &&
	    memcmp(c->sql, e->sql, e->sql_len) == 0) {
		*st = c->stmt;
		*cached = true;
		*sqlp = e->sql + e->sql_len;
		return SQLITE_OK;
	}
	/* Cache only SQL that repeats (seen before, by hash: a collision
	 * merely caches once too early). SQL with its values inlined,
	 * different every time, would otherwise cost a copy and evict the
	 * slot each time, and a persistent statement stays out of SQLite's
	 * fast lookaside memory. */
	again = *sqlp == e->sql && c->seen_hash == h &&
	    c->seen_len == e->sql_len;
	if (*sqlp == e->sql) {
		c->seen_hash = h;
		c->seen_len = e->sql_len;
	}
	rc = sqlite3_prepare_v3(s->db, *sqlp, -1, again ?
	    SQLITE_PREPARE_PERSISTENT : 0, st, &tail);
	if (rc != SQLITE_OK)
		return rc;
	if (again && *st != NULL && sqlapply_blank(tail)) {
		sqlite3_finalize(c->stmt);
		free(c->sql);
		c->sql = xstrndup(e->sql, e->sql_len);
		c->len = e->sql_len;
		c->stmt = *st;
		*cached = true;
	}
	*sqlp = tail;
	return SQLITE_OK;
}

static int
sqlapply_bind(sqlite3_stmt *st, const struct entry *e, size_t *next)
{
	int	n = sqlite3_bind_parameter_count(st), i, rc = SQLITE_OK;

	for (i = 1; i <= n && rc == SQLITE_OK; i++) {
		const struct entry_param *p;

		if (*next >= e->nparams)
			return SQLITE_RANGE;
		p = &e->params[(*next)++];
		switch (p->type) {
		case ENTRY_PARAM_NULL:
			rc = sqlite3_bind_null(st, i);
			break;
		case ENTRY_PARAM_INT:
			rc = sqlite3_bind_int64(st, i, p->i);
			break;
		case ENTRY_PARAM_REAL:
			rc = sqlite3_bind_double(st, i, p->d);
			break;
		case ENTRY_PARAM_TEXT:
			rc = sqlite3_bind_text(st, i, p->p, (int)p->len,
			    SQLITE_STATIC);
			break;
		case ENTRY_PARAM_BLOB:
			rc = sqlite3_bind_blob(st, i, p->p, (int)p->len,
			    SQLITE_STATIC);
			break;
		}
	}
	return rc;
}

/* The reason an entry's statement failed, in words an operator can act
 * on. SQLite's message may quote table data (a value in a constraint or a
 * json error): the reason is bounded by errlen, and docs/formats.md says
 * that a failed/ note can hold data. */
static void
sqlapply_why(const struct sqlapply *s, int rc, char *err, size_t errlen)
{
	if (s->denied != NULL)
		snprintf(err, errlen, "%s", s->denied);
	else if (s->timed_out)
		snprintf(err, errlen, "statement timeout: the entry ran over "
		    "its budget of %llu ms (--statement-timeout)",
		    (unsigned long long)(s->budget_us / 1000));
	else if ((rc & 0xff) == SQLITE_NOMEM && s->heap_limit > 0)
		snprintf(err, errlen, "out of memory: the entry needs more "
		    "than the worker's ceiling of %lld MiB (--memory-limit)",
		    (long long)(s->heap_limit >> 20));
	else
		snprintf(err, errlen, "sql: %s", sqlite3_errmsg(s->db));
}

/* The entry's statements, in order, with params consumed left to right
 * across them. Returns an SQLite code; err says which statement failed. */
static int
sqlapply_statements(struct sqlapply *s, const struct entry *e, char *err,
    size_t errlen)
{
	const char	*sql = e->sql, *end = e->sql + e->sql_len;
	sqlite3_stmt	*st;
	size_t		 next = 0;
	bool		 cached;
	int		 rc, nstmt = 0;

	/* SQLite stops at a NUL: what follows would be dropped silently. */
	if (memchr(e->sql, '\0', e->sql_len) != NULL) {
		snprintf(err, errlen, "sql contains a NUL byte");
		return SQLITE_ERROR;
	}
	s->timed_out = false;
	s->tick_cpu_us = 0;	/* read at the first progress check */
	s->tick_mono_us = now_mono_us();
	s->deadline_us = s->tick_mono_us + s->budget_us;
	while (sql < end && !sqlapply_blank(sql)) {
		s->denied = NULL;
		s->in_entry = true;
		rc = sqlapply_next_stmt(s, e, &sql, &st, &cached);
		if (rc != SQLITE_OK) {
			s->in_entry = false;
			sqlapply_why(s, rc, err, errlen);
			return rc;
		}
		if (st == NULL) {
			s->in_entry = false;	/* only a comment was left */
			break;
		}
		nstmt++;
		if ((rc = sqlapply_bind(st, e, &next)) != SQLITE_OK) {
			snprintf(err, errlen, "params: statement %d wants "
			    "more than the %zu given", nstmt, e->nparams);
		} else {
			while ((rc = sqlite3_step(st)) == SQLITE_ROW)
				;
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
			else
				sqlapply_why(s, rc, err, errlen);
		}
		s->in_entry = false;
		if (cached) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
		} else
			sqlite3_finalize(st);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (nstmt == 0) {
		snprintf(err, errlen, "sql: no statement");
		return SQLITE_ERROR;
	}
	if (next != e->nparams) {
		snprintf(err, errlen, "params: %zu given, %zu used",
		    e->nparams, next);
		return SQLITE_RANGE;
	}
	return SQLITE_OK;
}

/* hq's own statements failing inside a transaction is the database's
 * trouble, never the entry's: always transient. */
static enum sqlapply_outcome
sqlapply_infra(struct sqlapply *s, int rc, const char *what, char *err,
    size_t errlen)
{
	sqlapply_err(s, rc, what, err, errlen);
	return SQLAPPLY_TEMP;
}

/* Whose fault an error of the entry's own statements is. Its budget, its
 * memory and everything its SQL asked for are its own; only what the
 * database itself reports (I/O, a full disk, a corrupt file) may be the
 * database's, so the entry becomes a suspect, retried alone. */
static enum sqlapply_outcome
sqlapply_blame(const struct sqlapply *s, int rc)
{
	if (s->timed_out || s->denied != NULL)
		return SQLAPPLY_PERM;
	if ((rc & 0xff) == SQLITE_NOMEM)
		return s->heap_limit > 0 ? SQLAPPLY_PERM : SQLAPPLY_SUSPECT;
	if ((rc & 0xff) == SQLITE_LOCKED)
		return SQLAPPLY_PERM;	/* its own statements conflict */
	return sqlapply_transient(rc) ? SQLAPPLY_SUSPECT : SQLAPPLY_PERM;
}

/* Objects in the TEMP schema, counted only when the temp database has a
 * write transaction, which it has only once something opened it: never
 * on a connection no one but hq and entries used. */
static bool
sqlapply_temp_used(struct sqlapply *s)
{
	sqlite3_stmt	*st;
	bool		 used;

	if (sqlite3_txn_state(s->db, "temp") != SQLITE_TXN_WRITE)
		return false;
	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM temp.sqlite_master",
	    -1, &st, NULL) != SQLITE_OK)
		return true;
	used = sqlite3_step(st) != SQLITE_DONE;
	sqlite3_finalize(st);
	return used;
}

enum sqlapply_outcome
sqlapply_entry(struct sqlapply *s, const char *id, const struct entry *e,
    char *err, size_t errlen)
{
	enum sqlapply_outcome	 o;
	int			 rc, cur = 0, hi = 0;

	if ((rc = sqlapply_run(s->st_savepoint)) != SQLITE_OK)
		return sqlapply_infra(s, rc, "savepoint", err, errlen);
	sqlite3_bind_text(s->st_ledger, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->st_ledger, 2, (int64_t)time(NULL));
	rc = sqlapply_run(s->st_ledger);
	sqlite3_clear_bindings(s->st_ledger);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		sqlapply_run(s->st_rollback_to);
		sqlapply_run(s->st_release);
		return SQLAPPLY_DUP;
	}
	/* Any other failure of the ledger insert (a trigger or index someone
	 * added by hand) must never pass for "already applied". */
	if (rc != SQLITE_OK)
		return sqlapply_infra(s, rc, "ledger", err, errlen);
	/* last_insert_rowid() must not tell this entry what the one before
	 * it inserted. */
	sqlite3_set_last_insert_rowid(s->db, 0);
	if ((rc = sqlapply_statements(s, e, err, errlen)) == SQLITE_OK) {
		/* The authorizer refuses the TEMP schema: an object there
		 * means something slipped past, so the connection goes with
		 * the batch, to be reopened clean. */
		if (sqlapply_temp_used(s)) {
			snprintf(err, errlen, "the entry created an object in "
			    "the TEMP schema");
			sqlapply_rollback(s);
			sqlapply_close(s);
			s->txn_lost = true;
			return SQLAPPLY_PERM;
		}
		/* A deferred foreign-key violation would fail the batch's
		 * COMMIT: it is this entry's. */
		if (sqlite3_db_status(s->db, SQLITE_DBSTATUS_DEFERRED_FKS,
		    &cur, &hi, 0) == SQLITE_OK && cur > 0) {
			snprintf(err, errlen, "the entry leaves a deferred "
			    "foreign key violation");
			sqlapply_run(s->st_rollback_to);
			sqlapply_run(s->st_release);
			return SQLAPPLY_PERM;
		}
		if ((rc = sqlapply_run(s->st_release)) != SQLITE_OK)
			return sqlapply_infra(s, rc, "release", err, errlen);
		return SQLAPPLY_OK;
	}
	s->last_rc = rc;
	s->last_errno = sqlite3_system_errno(s->db);
	o = sqlapply_blame(s, rc);
	if (sqlite3_get_autocommit(s->db)) {
		/* INSERT OR ROLLBACK, RAISE(ROLLBACK), an interrupted or
		 * out-of-memory write: SQLite rolled the batch back. */
		s->txn_lost = true;
		return o;
	}
	if (o == SQLAPPLY_SUSPECT)
		return o;
	sqlapply_run(s->st_rollback_to);
	sqlapply_run(s->st_release);
	return SQLAPPLY_PERM;
}

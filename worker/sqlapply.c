/* SPDX-License-Identifier: MIT */
/* sqlapply.c: the worker's SQLite side. Runs in workers only; never touches
 * entry files (job.c does). Every statement hq itself runs is prepared once
 * per connection; entry statements that repeat come from a small cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/now.h"
#include "common/xmalloc.h"
#include "worker/sqlapply.h"

/* Pragmas an entry may set; every other pragma with a value is refused
 * because it would change how hq itself runs (journal, sync, schema). */
static const char *const sqlapply_pragmas_ok[] = {
	"user_version", "application_id", "foreign_key_check",
	"integrity_check", "quick_check", "optimize", "incremental_vacuum",
	"table_info", "table_xinfo", "index_info", "index_list",
};

static int
sqlapply_auth_cb(void *arg, int action, const char *a1, const char *a2,
    const char *dbname, const char *trigger)
{
	struct sqlapply	*s = arg;
	size_t		 i;

	(void)dbname;
	(void)trigger;
	if (!s->in_entry)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		s->denied = "entries may not attach or detach databases";
		return SQLITE_DENY;
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		s->denied = "entries may not control transactions "
		    "(BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE)";
		return SQLITE_DENY;
	case SQLITE_FUNCTION:
		if (a2 != NULL && strcasecmp(a2, "load_extension") == 0) {
			s->denied = "entries may not load extensions";
			return SQLITE_DENY;
		}
		return SQLITE_OK;
	case SQLITE_PRAGMA:
		if (a2 == NULL)
			return SQLITE_OK;
		for (i = 0; i < sizeof(sqlapply_pragmas_ok) /
		    sizeof(sqlapply_pragmas_ok[0]); i++)
			if (strcasecmp(a1, sqlapply_pragmas_ok[i]) == 0)
				return SQLITE_OK;
		s->denied = "entries may not change this pragma";
		return SQLITE_DENY;
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
	case SQLITE_DROP_TABLE:
	case SQLITE_ALTER_TABLE:
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_TEMP_TRIGGER:
		/* The table is a1 for writes and DROP TABLE (a2 of an
		 * UPDATE is a column), a2 for ALTER and for index and
		 * trigger statements. */
		if (action != SQLITE_INSERT && action != SQLITE_UPDATE &&
		    action != SQLITE_DELETE && action != SQLITE_DROP_TABLE)
			a1 = a2;
		if (a1 != NULL && strcasecmp(a1, SQLAPPLY_LEDGER) == 0) {
			s->denied = "entries may not touch hq's ledger table";
			return SQLITE_DENY;
		}
		return SQLITE_OK;
	default:
		return SQLITE_OK;
	}
}

/* SQLite's own busy handler sleeps in steps of up to 100 ms; a worker
 * waiting for the other one's commit (a few ms) would lose most of the
 * time it sleeps. Poll fast, back off to 2 ms, give up at the timeout. */
static int
sqlapply_busy_cb(void *arg, int count)
{
	struct sqlapply	*s = arg;
	uint64_t	 now = now_mono_us();
	useconds_t	 us;

	if (count == 0)
		s->busy_deadline_us = now + (uint64_t)s->busy_timeout_ms * 1000;
	if (now >= s->busy_deadline_us)
		return 0;
	us = count < 5 ? 50u << count : 2000;
	if (now + us > s->busy_deadline_us)
		us = (useconds_t)(s->busy_deadline_us - now);
	usleep(us);
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

/* Transient: the database, not the entry, is at fault right now. */
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
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return true;
	default:
		return false;
	}
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
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_handler(s->db, sqlapply_busy_cb, s);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
	    NULL);
	sqlite3_limit(s->db, SQLITE_LIMIT_ATTACHED, 0);
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		snprintf(err, errlen, "open %s: database is read-only",
		    s->path);
		goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=%s;"
	    "CREATE TABLE IF NOT EXISTS " SQLAPPLY_LEDGER "(id TEXT PRIMARY "
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
	    (rc = sqlapply_prep(s, "INSERT INTO " SQLAPPLY_LEDGER
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
	    SQLAPPLY_LEDGER " WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
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
	    SQLAPPLY_LEDGER " WHERE applied_at < ?1", -1, &st, NULL) !=
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
	return SQLAPPLY_OK;
}

void
sqlapply_rollback(struct sqlapply *s)
{
	if (s->db != NULL && !sqlite3_get_autocommit(s->db))
		sqlapply_run(s->st_rollback);
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
	while (sql < end && !sqlapply_blank(sql)) {
		s->denied = NULL;
		s->in_entry = true;
		rc = sqlapply_next_stmt(s, e, &sql, &st, &cached);
		if (rc != SQLITE_OK) {
			s->in_entry = false;
			if (s->denied != NULL)
				snprintf(err, errlen, "%s", s->denied);
			else
				snprintf(err, errlen, "sql: %s",
				    sqlite3_errmsg(s->db));
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
			else if (s->denied != NULL)
				snprintf(err, errlen, "%s", s->denied);
			else
				snprintf(err, errlen, "sql: %s",
				    sqlite3_errmsg(s->db));
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

enum sqlapply_outcome
sqlapply_entry(struct sqlapply *s, const char *id, const struct entry *e,
    char *err, size_t errlen)
{
	int	rc;

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
	if ((rc = sqlapply_statements(s, e, err, errlen)) == SQLITE_OK) {
		if ((rc = sqlapply_run(s->st_release)) != SQLITE_OK)
			return sqlapply_infra(s, rc, "release", err, errlen);
		return SQLAPPLY_OK;
	}
	s->last_rc = rc;
	if (sqlite3_get_autocommit(s->db)) {
		/* INSERT OR ROLLBACK or RAISE(ROLLBACK): the batch is gone. */
		s->txn_lost = true;
		return sqlapply_transient(rc) ? SQLAPPLY_TEMP : SQLAPPLY_PERM;
	}
	if (sqlapply_transient(rc))
		return SQLAPPLY_TEMP;
	sqlapply_run(s->st_rollback_to);
	sqlapply_run(s->st_release);
	return SQLAPPLY_PERM;
}

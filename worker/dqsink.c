/* SPDX-License-Identifier: MIT */
/*
 * dqsink.c: the dqlite sink. The batch is one transaction on the leader:
 * BEGIN, then per entry SAVEPOINT, the ledger INSERT, its statements,
 * RELEASE (or ROLLBACK TO), then COMMIT. A transaction does not survive
 * its connection, so a lost connection or leadership anywhere is the
 * batch's: job.c sees a waiting TEMP (no retries spent), reconnects through
 * open() and runs the whole batch again; if the lost COMMIT did commit,
 * the ledger's key turns every entry of it into a duplicate.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/now.h"
#include "common/pbuf.h"
#include "common/xmalloc.h"
#include "worker/dqsink.h"

#define DQSINK_MAX_STMTS	64	/* statements of one entry */

static struct dqsink *
dqs(const struct sink *s)
{
	return s->impl;
}

bool
dqsink_is_uri(const char *db)
{
	return db != NULL && strncmp(db, "dqlite://", 9) == 0;
}

/* A failure of the connection or of leadership: the cluster, not the
 * entry; the batch waits for it. */
static bool
dqsink_lost(const struct dqsink *d, enum dq_rc rc)
{
	return rc == DQ_ELOST || rc == DQ_ENOLEADER || rc == DQ_ETOOBIG ||
	    (rc == DQ_EFAIL && dq_code_leader(d->c.code));
}

/* Another connection (a worker of ours, another hqd) holds the leader's
 * write lock: a dqlite transaction takes it at its first write, which is
 * hq's ledger INSERT, not BEGIN. Waiting, as locally. */
static bool
dqsink_busy(const struct dqsink *d, enum dq_rc rc)
{
	return rc == DQ_EFAIL && ((d->c.sqlite_code & 0xff) == SQLITE_BUSY ||
	    (d->c.sqlite_code & 0xff) == SQLITE_LOCKED);
}

/* hq's own statement failed: TEMP; waiting when the cluster or another
 * writer is why. */
static enum sqlapply_outcome
dqsink_temp(struct dqsink *d, enum dq_rc rc, const char *what, char *err,
    size_t errlen)
{
	d->wait = dqsink_lost(d, rc) ? SEG_WAIT_CLUSTER :
	    dqsink_busy(d, rc) ? SEG_WAIT_LOCK : SEG_WAIT_NONE;
	/* Cut to the segment's text (a node list can be long). */
	if (snprintf(d->last_err, sizeof(d->last_err), "%s: %.*s", what,
	    (int)sizeof(d->last_err), d->c.err) < 0)
		d->last_err[0] = '\0';
	d->last_err_ns = now_wall_ns();
	if (d->wait != SEG_WAIT_NONE) {
		dq_close(&d->c);
		d->ready = false;
		d->in_txn = false;
	}
	snprintf(err, errlen, "%s: dqlite: %s", what, d->c.err);
	return SQLAPPLY_TEMP;
}

static enum dq_rc
dqsink_sql(struct dqsink *d, const char *sql,
    const struct entry_param *p, size_t np)
{
	struct dq_result	res;

	return dq_exec_sql(&d->c, sql, strlen(sql), p, np, &res);
}

/* Ledger rows older than --ledger-days go, as locally at each open; best
 * effort (every replica does it, whoever is first deletes). */
static void
dqsink_prune(struct dqsink *d)
{
	struct entry_param	p;
	struct dq_result	res;
	static const char	sql[] = "DELETE FROM " SQLAPPLY_MAIN_LEDGER
	    " WHERE applied_at < ?";

	memset(&p, 0, sizeof(p));
	memset(&res, 0, sizeof(res));
	p.type = ENTRY_PARAM_INT;
	p.i = (int64_t)time(NULL) - (int64_t)d->ledger_days * 86400;
	if (dq_exec_sql(&d->c, sql, sizeof(sql) - 1, &p, 1, &res) != DQ_OK)
		log_warnx("prune ledger: dqlite: %s", d->c.err);
	else if (res.rows_affected > 0)
		log_info("pruned %lld ledger rows older than %d days",
		    (long long)res.rows_affected, d->ledger_days);
}

static enum sqlapply_outcome
dq_open_(struct sink *s, char *err, size_t errlen)
{
	struct dqsink	*d = dqs(s);
	enum dq_rc	 rc;

	d->wait = SEG_WAIT_NONE;
	if (d->ready && dq_connected(&d->c))
		return SQLAPPLY_OK;
	d->ready = false;
	if ((rc = dq_connect(&d->c)) != DQ_OK)
		return dqsink_temp(d, DQ_ENOLEADER, "connect", err, errlen);
	if ((rc = dqsink_sql(d, "CREATE TABLE IF NOT EXISTS "
	    SQLAPPLY_MAIN_LEDGER "(id TEXT PRIMARY KEY, applied_at INTEGER NOT "
	    "NULL) WITHOUT ROWID; CREATE TABLE IF NOT EXISTS main."
	    SQLAPPLY_ROWID "(x INTEGER PRIMARY KEY)", NULL, 0)) != DQ_OK)
		return dqsink_temp(d, rc, "create ledger", err, errlen);
	dqsink_prune(d);
	d->ready = true;
	return SQLAPPLY_OK;
}

static enum sqlapply_outcome
dq_begin_(struct sink *s, char *err, size_t errlen)
{
	struct dqsink	*d = dqs(s);
	enum dq_rc	 rc;

	/* A transaction an entry's failure left in an unknown state (the
	 * savepoint could not be rolled back) is dropped, not continued. */
	if (d->txn_lost && d->in_txn)
		(void)dqsink_sql(d, "ROLLBACK", NULL, 0);
	d->txn_lost = false;
	d->in_txn = false;
	d->sp_open = false;
	if (!dq_connected(&d->c))
		return dqsink_temp(d, DQ_ELOST, "begin", err, errlen);
	if ((rc = dqsink_sql(d, "BEGIN", NULL, 0)) != DQ_OK) {
		/* Whatever state made BEGIN fail, a new connection has none
		 * of it. */
		dqsink_temp(d, rc, "begin", err, errlen);
		dq_close(&d->c);
		d->ready = false;
		return SQLAPPLY_TEMP;
	}
	d->in_txn = true;
	return SQLAPPLY_OK;
}

/* The entry's own statement failed on the server: its error (PERM), a
 * database-level one (SUSPECT), or the cluster's (TEMP, waiting). */
static enum sqlapply_outcome
dqsink_stmt_err(struct dqsink *d, enum dq_rc rc, char *err, size_t errlen)
{
	int	code = d->c.sqlite_code;

	/* No answer within the statement budget: the entry's. dqlite runs a
	 * statement to its end on the leader's only thread, so it is never
	 * tried again (a second run would stall the next leader too); the
	 * connection went, and the batch starts over without it. */
	if (rc == DQ_ELOST && d->c.lost == DQ_LOST_TIMEOUT) {
		snprintf(err, errlen, "statement timeout: no answer from the "
		    "dqlite leader within %d ms (--statement-timeout): the "
		    "entry ran over its budget, or the leader stalled",
		    d->stmt_timeout_ms);
		d->txn_lost = true;
		d->ready = false;
		d->in_txn = false;
		return SQLAPPLY_PERM;
	}
	/* Rows of a SELECT or RETURNING over the client's cap: the entry's
	 * own, and the client closed the connection (the transaction is
	 * gone: job.c runs the batch again without this entry). */
	if (rc == DQ_ETOOBIG) {
		snprintf(err, errlen, "dqlite sink: %s", d->c.err);
		d->txn_lost = true;
		d->ready = false;
		d->in_txn = false;
		return SQLAPPLY_PERM;
	}
	if (dqsink_lost(d, rc) || dqsink_busy(d, rc))
		return dqsink_temp(d, rc, "entry statement", err, errlen);
	/* Refused before sending (a NUL in a text parameter, over 255
	 * parameters): the entry's, and no server code to read. */
	if (rc == DQ_EARG) {
		snprintf(err, errlen, "dqlite sink: %s", d->c.err);
		return SQLAPPLY_PERM;
	}
	snprintf(err, errlen, "sql: %s", d->c.err);
	/* dqlite's own request errors (parse, bind) are the entry's. */
	if (d->c.code == DQ_CODE_PROTO || d->c.code == DQ_CODE_PARSE)
		return SQLAPPLY_PERM;
	switch (code & 0xff) {
	case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_IOERR:
	case SQLITE_FULL: case SQLITE_NOMEM: case SQLITE_CANTOPEN:
	case SQLITE_READONLY: case SQLITE_NOTADB: case SQLITE_CORRUPT:
		return SQLAPPLY_SUSPECT;
	default:
		return SQLAPPLY_PERM;
	}
}

/*
 * Copy the server's schema, as this transaction sees it (an entry's own
 * CREATE before the statement that uses it included), into the guard.
 */
static enum dq_rc
dqsink_refresh(struct dqsink *d)
{
	static const char	 sql[] = "SELECT sql FROM main.sqlite_master "
	    "WHERE sql IS NOT NULL";
	struct dq_rows		 rows;
	const struct dq_value	*v;
	const char		**texts;
	size_t			*lens, i, n = 0;
	char			 gerr[256];
	enum dq_rc		 rc;

	memset(&rows, 0, sizeof(rows));
	if ((rc = dq_query_sql(&d->c, sql, sizeof(sql) - 1, NULL, 0,
	    &rows)) != DQ_OK)
		return rc;
	texts = xcalloc(rows.nrows + 1, sizeof(*texts));
	lens = xcalloc(rows.nrows + 1, sizeof(*lens));
	for (i = 0; i < rows.nrows; i++) {
		v = dq_rows_at(&rows, i, 0);
		if (v == NULL || v->p == NULL)
			continue;
		texts[n] = v->p;
		lens[n++] = v->len;
	}
	if (sqlguard_schema(&d->guard, texts, lens, n, gerr,
	    sizeof(gerr)) == -1)
		log_warnx("dqlite sink: %s", gerr);
	free(texts);
	free(lens);
	dq_rows_free(&rows);
	return DQ_OK;
}

/*
 * Run the entry's statements one by one, parameters consumed left to
 * right. Each is first compiled in the guard, against the server's schema
 * under hq's authorizer (docs/dqlite.md, "Isolation"): what the local sink
 * refuses is refused here before the server sees it, and the guard says
 * how many parameters it takes and whether it yields rows (a QUERY then:
 * the 1.11 server fails EXEC of a statement that yields a row). A
 * statement that does not compile against the copy is tried again once
 * the copy is refreshed; then its error is the entry's.
 */
static enum sqlapply_outcome
dqsink_run(struct dqsink *d, const struct entry *e, char *err, size_t errlen)
{
	const char		*p = e->sql, *end = e->sql + e->sql_len;
	struct sqlguard_stmt	 st;
	struct dq_result	 res;
	struct dq_rows		 rows;
	enum sqlguard_rc	 g;
	enum dq_rc		 rc;
	size_t			 next = 0;
	bool			 fresh = false;
	int			 k = 0, saved;

	while (p < end) {
		g = sqlguard_check(&d->guard, p, (size_t)(end - p), &st, err,
		    errlen);
		if (g == SQLGUARD_ERROR && !fresh) {
			if ((rc = dqsink_refresh(d)) != DQ_OK)
				return dqsink_temp(d, rc, "schema", err,
				    errlen);
			fresh = true;
			continue;
		}
		if (g != SQLGUARD_OK)
			return SQLAPPLY_PERM;
		if (st.none)
			break;
		fresh = false;
		/* The 1.11 node encodes such a column by its declared type
		 * and aborts on a value of another (a REAL in a DATETIME):
		 * one entry's read could take the node down. */
		if (st.rows && st.typed) {
			snprintf(err, errlen, "on a dqlite sink an entry may "
			    "not read a column declared DATETIME, DATE, "
			    "TIMESTAMP or BOOLEAN (a dqlite 1.11 node aborts "
			    "on some values of them)");
			return SQLAPPLY_PERM;
		}
		if (++k > DQSINK_MAX_STMTS) {
			snprintf(err, errlen, "sql: an entry has more than %d "
			    "statements on a dqlite sink", DQSINK_MAX_STMTS);
			return SQLAPPLY_PERM;
		}
		if ((size_t)st.nparams > e->nparams - next) {
			snprintf(err, errlen, "params: statement %d wants "
			    "more than the %zu given", k, e->nparams);
			return SQLAPPLY_PERM;
		}
		saved = d->c.timeout_ms;
		d->c.timeout_ms = d->stmt_timeout_ms;
		memset(&rows, 0, sizeof(rows));
		rc = st.rows ? dq_query_sql(&d->c, p, st.len, e->params + next,
		    (size_t)st.nparams, &rows) : dq_exec_sql(&d->c, p, st.len,
		    e->params + next, (size_t)st.nparams, &res);
		dq_rows_free(&rows);
		d->c.timeout_ms = saved;
		if (rc != DQ_OK)
			return dqsink_stmt_err(d, rc, err, errlen);
		next += (size_t)st.nparams;
		p += st.len;
	}
	if (k == 0) {
		snprintf(err, errlen, "sql: no statement");
		return SQLAPPLY_PERM;
	}
	if (next != e->nparams) {
		snprintf(err, errlen, "params: %zu given, %zu used",
		    e->nparams, next);
		return SQLAPPLY_PERM;
	}
	return SQLAPPLY_OK;
}

/*
 * What opens an entry, in one round trip: the last entry's savepoint
 * released (deferred until now), a new one, the ledger row, and
 * last_insert_rowid() set to 0 on the server's connection. dqlite binds
 * parameters to the first statement of a text only, so the id goes in as
 * an SQL literal (quotes doubled: SQLite's literals have no other escape).
 */
static const char *
dqsink_prefix(struct dqsink *d, const char *id)
{
	struct pbuf	*b = &d->buf;
	const char	*q;

	b->len = 0;
	pbuf_printf(b, "%sSAVEPOINT hq_entry; INSERT INTO "
	    SQLAPPLY_MAIN_LEDGER "(id, applied_at) VALUES ('",
	    d->sp_open ? "RELEASE hq_entry; " : "");
	for (; (q = strchr(id, '\'')) != NULL; id = q + 1) {
		pbuf_add(b, id, (size_t)(q - id) + 1);
		pbuf_add(b, "'", 1);
	}
	pbuf_printf(b, "%s', %lld); INSERT OR REPLACE INTO main." SQLAPPLY_ROWID
	    "(x) VALUES (0)", id, (long long)time(NULL));
	pbuf_add(b, "", 1);
	return b->data;
}

static enum sqlapply_outcome
dq_entry_(struct sink *s, const char *id, const struct entry *e, char *err,
    size_t errlen)
{
	struct dqsink		*d = dqs(s);
	enum sqlapply_outcome	 o;
	enum dq_rc		 rc;
	int			 code;

	if (memchr(e->sql, '\0', e->sql_len) != NULL) {
		snprintf(err, errlen, "sql contains a NUL byte");
		return SQLAPPLY_PERM;
	}
	rc = dqsink_sql(d, dqsink_prefix(d, id), NULL, 0);
	d->sp_open = false;	/* released, or the whole text failed */
	if (rc != DQ_OK) {
		code = d->c.sqlite_code;
		if (rc == DQ_EFAIL && (code == SQLITE_CONSTRAINT_PRIMARYKEY ||
		    code == SQLITE_CONSTRAINT_UNIQUE)) {
			if ((rc = dqsink_sql(d, "ROLLBACK TO hq_entry; "
			    "RELEASE hq_entry", NULL, 0)) != DQ_OK)
				return dqsink_temp(d, rc, "savepoint", err,
				    errlen);
			return SQLAPPLY_DUP;
		}
		return dqsink_temp(d, rc, "savepoint", err, errlen);
	}
	if ((o = dqsink_run(d, e, err, errlen)) == SQLAPPLY_OK) {
		d->sp_open = true;
		return SQLAPPLY_OK;
	}
	if (o == SQLAPPLY_PERM && !d->txn_lost && (rc = dqsink_sql(d,
	    "ROLLBACK TO hq_entry; RELEASE hq_entry", NULL, 0)) != DQ_OK) {
		/* The entry's own error stands; the batch is retried
		 * without it. */
		dqsink_temp(d, rc, "rollback to", err + strlen(err), 0);
		d->txn_lost = true;
	}
	return o;
}

static enum sqlapply_outcome
dq_commit_(struct sink *s, char *err, size_t errlen)
{
	struct dqsink	*d = dqs(s);
	enum dq_rc	 rc;

	d->c.fault_after_send = true;
	rc = dqsink_sql(d, "COMMIT", NULL, 0);
	if (rc != DQ_OK) {
		enum sqlapply_outcome o = dqsink_temp(d, rc, "commit", err,
		    errlen);

		d->c.fault_after_send = false;

		if (dq_connected(&d->c))
			(void)dqsink_sql(d, "ROLLBACK", NULL, 0);
		d->in_txn = false;
		return o;
	}
	d->c.fault_after_send = false;
	d->in_txn = false;
	return SQLAPPLY_OK;
}

static void
dq_rollback_(struct sink *s)
{
	struct dqsink	*d = dqs(s);

	if (d->in_txn && dq_connected(&d->c) &&
	    dqsink_sql(d, "ROLLBACK", NULL, 0) != DQ_OK && !dq_connected(&d->c))
		d->ready = false;
	d->in_txn = false;
}

static int
dq_applied_(struct sink *s, const char *id)
{
	struct dqsink		*d = dqs(s);
	struct entry_param	 p;
	struct dq_rows		 rows;
	static const char	 sql[] = "SELECT 1 FROM " SQLAPPLY_MAIN_LEDGER
	    " WHERE id = ?";
	int			 r;

	memset(&p, 0, sizeof(p));
	memset(&rows, 0, sizeof(rows));
	p.type = ENTRY_PARAM_TEXT;
	p.p = id;
	p.len = strlen(id);
	if (dq_query_sql(&d->c, sql, sizeof(sql) - 1, &p, 1, &rows) != DQ_OK) {
		if (!dq_connected(&d->c))
			d->ready = false;
		return -1;
	}
	r = rows.nrows > 0;
	dq_rows_free(&rows);
	return r;
}

static void
dq_close_(struct sink *s)
{
	dq_close(&dqs(s)->c);
	dqs(s)->ready = false;
}

static enum seg_wait
dq_waiting_(const struct sink *s)
{
	return dqs(s)->wait;
}

static bool
dq_txn_lost_(const struct sink *s)
{
	return dqs(s)->txn_lost;
}

static void
dq_status_(const struct sink *s, struct sink_status *st)
{
	const struct dqsink	*d = dqs(s);

	st->round_trips = d->c.round_trips;
	st->connects = d->c.connects;
	st->leader_changes = d->c.leader_changes;
	st->leader = d->c.leader;
	st->error = d->last_err_ns != 0 ? d->last_err : NULL;
	st->error_ns = d->last_err_ns;
}

static const struct sink_ops dqsink_ops = {
	.name = "dqlite",
	.open = dq_open_,
	.begin = dq_begin_,
	.entry = dq_entry_,
	.commit = dq_commit_,
	.rollback = dq_rollback_,
	.applied = dq_applied_,
	.close = dq_close_,
	.waiting = dq_waiting_,
	.txn_lost = dq_txn_lost_,
	.status = dq_status_,
};

int
dqsink_init(struct sink *s, struct dqsink *d, const char *uri,
    int ledger_days, int64_t budget_ms, char *err, size_t errlen)
{
	char	*nodes = NULL, *name = NULL;
	int	 r;

	memset(d, 0, sizeof(*d));
	if (dq_parse_uri(uri, &nodes, &name, err, errlen) == -1)
		return -1;
	r = dq_init(&d->c, nodes, name, err, errlen);
	free(nodes);
	free(name);
	if (r == -1)
		return -1;
	if (sqlguard_open(&d->guard, err, errlen) == -1) {
		dq_free(&d->c);
		return -1;
	}
	/* An entry's statement may run as long as its budget; with none, an
	 * hour stands for it (a read needs some deadline). */
	d->stmt_timeout_ms = budget_ms <= 0 ? 3600000 :
	    budget_ms > INT_MAX ? INT_MAX : (int)budget_ms;
	if (d->stmt_timeout_ms < d->c.timeout_ms)
		d->stmt_timeout_ms = d->c.timeout_ms;
	d->ledger_days = ledger_days;
	s->ops = &dqsink_ops;
	s->impl = d;
	s->id_prefix = NULL;
	return 0;
}

void
dqsink_free(struct dqsink *d)
{
	dq_free(&d->c);
	sqlapply_close(&d->guard);
	pbuf_free(&d->buf);
}

char *
dqsink_queue_id(int rootfd)
{
	static const char	 name[] = ".queue-id";
	char			 tmp[64], id[40], buf[64];
	unsigned char		 rnd[12];
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	/* Written whole under a private name, then linked in: a reader sees
	 * no file or the whole id, and the first link wins. */
	if ((fd = openat(rootfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			return NULL;
		if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
			return NULL;
		n = read(fd, rnd, sizeof(rnd));
		close(fd);
		if (n != (ssize_t)sizeof(rnd))
			return NULL;
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(id + 2 * i, 3, "%02x", rnd[i]);
		snprintf(tmp, sizeof(tmp), ".queue-id.%ld", (long)getpid());
		if ((fd = openat(rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0640)) == -1)
			return NULL;
		n = write(fd, id, strlen(id));
		if (n != (ssize_t)strlen(id) || fsync(fd) == -1) {
			close(fd);
			unlinkat(rootfd, tmp, 0);
			return NULL;
		}
		close(fd);
		if (linkat(rootfd, tmp, rootfd, name, 0) == -1 &&
		    errno != EEXIST) {
			unlinkat(rootfd, tmp, 0);
			return NULL;
		}
		unlinkat(rootfd, tmp, 0);
		if ((fd = openat(rootfd, name, O_RDONLY | O_CLOEXEC)) == -1)
			return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] ? xstrdup(buf) : NULL;
}

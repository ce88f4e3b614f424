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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
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
	    "NULL) WITHOUT ROWID", NULL, 0)) != DQ_OK)
		return dqsink_temp(d, rc, "create ledger", err, errlen);
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

/*
 * The end of the statement that starts at sql: the shortest prefix ending
 * in ';' that SQLite calls complete (strings, comments and trigger bodies
 * hold ';' too), or the whole rest.
 */
static size_t
dqsink_split(const char *sql, size_t len, char *buf)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (sql[i] != ';')
			continue;
		memcpy(buf, sql, i + 1);
		buf[i + 1] = '\0';
		if (sqlite3_complete(buf))
			return i + 1;
	}
	return len;
}

static bool
dqsink_blank(const char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' &&
		    p[i] != '\r' && p[i] != ';')
			return false;
	return true;
}

/* The entry's own statement failed on the server: its error (PERM), a
 * database-level one (SUSPECT), or the cluster's (TEMP, waiting). */
static enum sqlapply_outcome
dqsink_stmt_err(struct dqsink *d, enum dq_rc rc, char *err, size_t errlen)
{
	int	code = d->c.sqlite_code;

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
 * Run the entry's statements, parameters consumed left to right. A single
 * statement goes as EXEC_SQL (one round trip, all parameters); several are
 * prepared one by one, for the parameter count the server reports. Those
 * marked in asq go as QUERY: the 1.11 server fails EXEC of a statement
 * that yields a row (SELECT, RETURNING) with SQLITE_ROW; *rowat says which
 * statement did so (the caller rolls back to the savepoint, marks it and
 * runs the entry again).
 */
static enum dq_rc
dqsink_run(struct dqsink *d, const struct entry *e, const bool *asq,
    int *rowat, char *buf)
{
	const char		*p = e->sql, *end = e->sql + e->sql_len;
	struct dq_result	 res;
	struct dq_rows		 rows;
	uint64_t		 np;
	size_t			 next = 0, n;
	uint32_t		 st;
	enum dq_rc		 rc;
	int			 k = 0;

	*rowat = -1;
	n = dqsink_split(p, (size_t)(end - p), buf);
	if (dqsink_blank(p + n, (size_t)(end - p - n))) {
		memset(&rows, 0, sizeof(rows));
		rc = asq[0] ? dq_query_sql(&d->c, p, n, e->params, e->nparams,
		    &rows) : dq_exec_sql(&d->c, p, n, e->params, e->nparams,
		    &res);
		dq_rows_free(&rows);
		if (rc == DQ_EFAIL && d->c.sqlite_code == SQLITE_ROW)
			*rowat = 0;
		return rc;
	}
	for (; p < end && !dqsink_blank(p, (size_t)(end - p)); p += n, k++) {
		n = dqsink_split(p, (size_t)(end - p), buf);
		if (k >= DQSINK_MAX_STMTS) {
			snprintf(d->c.err, sizeof(d->c.err), "an entry has "
			    "more than %d statements", DQSINK_MAX_STMTS);
			return DQ_EARG;
		}
		if ((rc = dq_prepare(&d->c, p, n, &st, &np)) != DQ_OK)
			return rc;
		if (np > e->nparams - next) {
			dq_finalize(&d->c, st);
			snprintf(d->c.err, sizeof(d->c.err), "statement %d "
			    "needs %llu parameters, %zu left", k + 1,
			    (unsigned long long)np, e->nparams - next);
			return DQ_EARG;
		}
		memset(&rows, 0, sizeof(rows));
		rc = asq[k] ? dq_query(&d->c, st, e->params + next, np,
		    &rows) : dq_exec(&d->c, st, e->params + next, np, &res);
		dq_rows_free(&rows);
		next += np;
		if (rc == DQ_EFAIL && d->c.sqlite_code == SQLITE_ROW)
			*rowat = k;
		if (rc != DQ_OK) {
			if (rc == DQ_EFAIL)
				(void)dq_finalize(&d->c, st);
			return rc;
		}
		if ((rc = dq_finalize(&d->c, st)) != DQ_OK)
			return rc;
	}
	if (next != e->nparams) {
		snprintf(d->c.err, sizeof(d->c.err), "%zu parameters given, "
		    "the statements take %zu", e->nparams, next);
		return DQ_EARG;
	}
	return DQ_OK;
}

static enum sqlapply_outcome
dq_entry_(struct sink *s, const char *id, const struct entry *e, char *err,
    size_t errlen)
{
	struct dqsink		*d = dqs(s);
	struct entry_param	 lp[2];
	bool			 asq[DQSINK_MAX_STMTS] = { false };
	char			*buf;
	enum dq_rc		 rc;
	int			 rowat, code;

	if (memchr(e->sql, '\0', e->sql_len) != NULL) {
		snprintf(err, errlen, "sql contains a NUL byte");
		return SQLAPPLY_PERM;
	}
	memset(lp, 0, sizeof(lp));
	lp[0].type = ENTRY_PARAM_TEXT;
	lp[0].p = id;
	lp[0].len = strlen(id);
	lp[1].type = ENTRY_PARAM_INT;
	lp[1].i = (int64_t)time(NULL);
	buf = xmalloc(e->sql_len + 1);
again:
	if ((rc = dqsink_sql(d, "SAVEPOINT hq_entry", NULL, 0)) != DQ_OK)
		goto temp;
	if ((rc = dqsink_sql(d, "INSERT INTO " SQLAPPLY_MAIN_LEDGER
	    "(id, applied_at) VALUES (?, ?)", lp, 2)) != DQ_OK) {
		code = d->c.sqlite_code;
		if (rc == DQ_EFAIL && (code == SQLITE_CONSTRAINT_PRIMARYKEY ||
		    code == SQLITE_CONSTRAINT_UNIQUE)) {
			if ((rc = dqsink_sql(d, "ROLLBACK TO hq_entry", NULL,
			    0)) != DQ_OK || (rc = dqsink_sql(d,
			    "RELEASE hq_entry", NULL, 0)) != DQ_OK)
				goto temp;
			free(buf);
			return SQLAPPLY_DUP;
		}
		goto temp;
	}
	if ((rc = dqsink_run(d, e, asq, &rowat, buf)) != DQ_OK) {
		enum sqlapply_outcome o;

		if (rowat >= 0 && !asq[rowat]) {
			/* Its effects so far go with the savepoint. */
			asq[rowat] = true;
			if ((rc = dqsink_sql(d, "ROLLBACK TO hq_entry", NULL,
			    0)) != DQ_OK || (rc = dqsink_sql(d,
			    "RELEASE hq_entry", NULL, 0)) != DQ_OK)
				goto temp;
			goto again;
		}
		o = dqsink_stmt_err(d, rc, err, errlen);
		free(buf);
		if (o == SQLAPPLY_PERM &&
		    ((rc = dqsink_sql(d, "ROLLBACK TO hq_entry", NULL, 0)) !=
		    DQ_OK || (rc = dqsink_sql(d, "RELEASE hq_entry", NULL,
		    0)) != DQ_OK)) {
			/* The entry's own error stands; the batch is
			 * retried without it. */
			dqsink_temp(d, rc, "rollback to", err + strlen(err),
			    0);
			d->txn_lost = true;
		}
		return o;
	}
	free(buf);
	if ((rc = dqsink_sql(d, "RELEASE hq_entry", NULL, 0)) != DQ_OK)
		return dqsink_temp(d, rc, "release", err, errlen);
	return SQLAPPLY_OK;
temp:
	free(buf);
	return dqsink_temp(d, rc, "savepoint", err, errlen);
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
};

int
dqsink_init(struct sink *s, struct dqsink *d, const char *uri,
    int ledger_days, char *err, size_t errlen)
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

/* SPDX-License-Identifier: MIT */
/*
 * test_sqlapply.c: worker/sqlapply.c on real SQLite files in the test's
 * temp dir. Group commit with a savepoint per entry, the ledger (DUP),
 * perm and temp outcomes, the authorizer's guards, parameters across
 * statements, a lock held by a second connection in a forked process,
 * the statement cache across schema changes, and open failures.
 *
 * Entries are built by hand (struct entry is documented in entry.h), so
 * this does not depend on the decoder. Results are read back through a
 * second connection after the commit, as another process would see them.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "common/hq.h"
#include "common/now.h"
#include "worker/sqlapply.h"
#include "worker/sqlguard.h"
#include "tests/unit/hqtest.h"

#define ERRLEN	512
#define TEST_TEMP_REFUSED	"entries may not use the TEMP schema (TEMP " \
	"tables, views, triggers, indexes outlive the entry on the connection)"
#define DB	"test.db"

static struct entry
test_sql_entry(const char *sql, struct entry_param *params, size_t n)
{
	struct entry	e;

	memset(&e, 0, sizeof(e));
	e.sql = sql;
	e.sql_len = strlen(sql);
	e.operation = "generic";
	e.params = params;
	e.nparams = n;
	return e;
}

static struct entry_param
test_sql_int(int64_t v)
{
	struct entry_param	p = { .type = ENTRY_PARAM_INT, .i = v };

	return p;
}

static struct entry_param
test_sql_text(const char *s)
{
	struct entry_param	p = { .type = ENTRY_PARAM_TEXT, .p = s };

	p.len = strlen(s);
	return p;
}

/* Open DB with hq's settings and make table t. */
static bool
test_sql_open(struct sqlapply *s, int busy_ms)
{
	char	err[ERRLEN] = "";

	sqlapply_init(s, DB, true, busy_ms, 7);
	if (sqlapply_open(s, err, sizeof(err)) != SQLAPPLY_OK) {
		fprintf(stderr, "open: %s\n", err);
		return false;
	}
	return sqlite3_exec(s->db, "CREATE TABLE IF NOT EXISTS t(a INTEGER "
	    "PRIMARY KEY, b)", NULL, NULL, NULL) == SQLITE_OK;
}

static void
test_sql_close(struct sqlapply *s)
{
	sqlapply_close(s);
	free(s->path);
	s->path = NULL;
}

/* One integer from a query on a fresh connection; -1 on no row, -2 on
 * error. */
static long long
test_sql_int_query(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	long long	 v = -2;

	if (sqlite3_open_v2(DB, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -2;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		switch (sqlite3_step(st)) {
		case SQLITE_ROW:
			v = sqlite3_column_int64(st, 0);
			break;
		case SQLITE_DONE:
			v = -1;
			break;
		default:
			break;
		}
		sqlite3_finalize(st);
	} else
		fprintf(stderr, "query %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	return v;
}

static long long
test_sql_count(const char *where)
{
	char	sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE %s", where);
	return test_sql_int_query(sql);
}

static long long
test_sql_ledger_has(const char *id)
{
	char	sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM " SQLAPPLY_LEDGER
	    " WHERE id = '%s'", id);
	return test_sql_int_query(sql);
}

/* Apply sql under id; the outcome must be want. Prints err on surprise. */
static enum sqlapply_outcome
test_sql_apply(int line, struct sqlapply *s, const char *id, const char *sql,
    enum sqlapply_outcome want, char *err)
{
	struct entry		e = test_sql_entry(sql, NULL, 0);
	enum sqlapply_outcome	o;

	err[0] = '\0';
	o = sqlapply_entry(s, id, &e, err, ERRLEN);
	if (o != want) {
		fprintf(stderr, "%s:%d: entry %s (%s): outcome %d, want %d "
		    "(%s)\n", __FILE__, line, id, sql, (int)o, (int)want, err);
		hqtest_failures++;
	}
	return o;
}

#define APPLY(s, id, sql, want, err) \
	test_sql_apply(__LINE__, (s), (id), (sql), (want), (err))

static void
test_commit_applies(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];
	time_t		now = time(NULL);

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "e1", "INSERT INTO t(a, b) VALUES (1, 'x')", SQLAPPLY_OK,
	    err);
	APPLY(&s, "e2", "INSERT INTO t(a, b) VALUES (2, 'y');\n"
	    "UPDATE t SET b = 'z' WHERE a = 1;  ", SQLAPPLY_OK, err);
	APPLY(&s, "e3", "SELECT * FROM t; SELECT 1", SQLAPPLY_OK, err);
	/* Not visible to another connection before the commit. */
	CHECK_EQ_INT(test_sql_count("1"), 0);
	CHECK_EQ_INT(test_sql_ledger_has("e1"), 0);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 2);
	CHECK_EQ_INT(test_sql_count("a = 1 AND b = 'z'"), 1);
	CHECK_EQ_INT(test_sql_ledger_has("e1"), 1);
	CHECK_EQ_INT(test_sql_ledger_has("e2"), 1);
	CHECK_EQ_INT(test_sql_ledger_has("e3"), 1);
	CHECK(test_sql_int_query("SELECT applied_at FROM hq_ledger WHERE "
	    "id = 'e1'") >= (long long)now);
	CHECK(sqlite3_get_autocommit(s.db));

	/* A rolled-back batch leaves nothing, ledger included. */
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "e4", "INSERT INTO t(a, b) VALUES (4, 'w')", SQLAPPLY_OK,
	    err);
	sqlapply_rollback(&s);
	CHECK(sqlite3_get_autocommit(s.db));
	sqlapply_rollback(&s);		/* nothing open: harmless */
	CHECK_EQ_INT(test_sql_count("a = 4"), 0);
	CHECK_EQ_INT(test_sql_ledger_has("e4"), 0);

	/* WAL, as hq sets it. */
	CHECK_EQ_INT(test_sql_int_query("SELECT journal_mode = 'wal' FROM "
	    "pragma_journal_mode"), 1);
	test_sql_close(&s);
}

static void
test_dup(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "same", "INSERT INTO t VALUES (1, 'first')", SQLAPPLY_OK,
	    err);
	/* Same id in the same transaction: skipped, its SQL not run. */
	APPLY(&s, "same", "INSERT INTO t VALUES (2, 'second')", SQLAPPLY_DUP,
	    err);
	APPLY(&s, "other", "INSERT INTO t VALUES (3, 'third')", SQLAPPLY_OK,
	    err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	/* And in a later transaction. */
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "same", "INSERT INTO t VALUES (4, 'fourth')", SQLAPPLY_DUP,
	    err);
	APPLY(&s, "other", "this is not even SQL", SQLAPPLY_DUP, err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 2);
	CHECK_EQ_INT(test_sql_count("a IN (2, 4)"), 0);
	/* Ids are exact strings. */
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "Same", "INSERT INTO t VALUES (5, 'case')", SQLAPPLY_OK,
	    err);
	APPLY(&s, "same ", "INSERT INTO t VALUES (6, 'space')", SQLAPPLY_OK,
	    err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 4);
	test_sql_close(&s);
}

static void
test_syntax_error_perm(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "e1", "INSERT INTO t VALUES (1, 'one')", SQLAPPLY_OK, err);
	/* The first statement ran; the savepoint takes it back. */
	APPLY(&s, "e2", "INSERT INTO t VALUES (2, 'two'); SELEC 1",
	    SQLAPPLY_PERM, err);
	CHECK(strstr(err, "syntax error") != NULL);
	CHECK(!s.txn_lost);
	APPLY(&s, "e3", "SELEC", SQLAPPLY_PERM, err);
	APPLY(&s, "e4", "INSERT INTO nosuch VALUES (1)", SQLAPPLY_PERM, err);
	CHECK(strstr(err, "no such table") != NULL);
	APPLY(&s, "e5", "INSERT INTO t VALUES (5, 'five')", SQLAPPLY_OK, err);
	CHECK(!sqlite3_get_autocommit(s.db));
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("a = 1"), 1);
	CHECK_EQ_INT(test_sql_count("a = 2"), 0);
	CHECK_EQ_INT(test_sql_count("a = 5"), 1);
	CHECK_EQ_INT(test_sql_ledger_has("e1"), 1);
	CHECK_EQ_INT(test_sql_ledger_has("e2"), 0);
	CHECK_EQ_INT(test_sql_ledger_has("e3"), 0);
	CHECK_EQ_INT(test_sql_ledger_has("e5"), 1);
	/* A failed id may be applied later. */
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "e2", "INSERT INTO t VALUES (2, 'two')", SQLAPPLY_OK, err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("a = 2"), 1);
	test_sql_close(&s);
}

/*
 * SQL files often end with a comment. After the last statement, preparing
 * the comment yields no statement; the entry must still apply, and hq's
 * own statements after it (RELEASE, the next entry's ledger insert,
 * COMMIT) must not be judged as entry SQL by the authorizer. They are
 * re-prepared, and so re-authorized, after any schema change: here the
 * table made after open, and an entry's own CREATE TABLE.
 */
static void
test_trailing_comment(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "c1", "INSERT INTO t VALUES (1, 'x'); -- done", SQLAPPLY_OK,
	    err);
	APPLY(&s, "c2", "INSERT INTO t VALUES (2, 'x')", SQLAPPLY_OK, err);
	APPLY(&s, "c3", "CREATE TABLE x(a); /* new table */", SQLAPPLY_OK,
	    err);
	APPLY(&s, "c4", "INSERT INTO t VALUES (4, 'x')", SQLAPPLY_OK, err);
	APPLY(&s, "c5", "INSERT INTO x VALUES (5)\n-- the end\n", SQLAPPLY_OK,
	    err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 3);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM x"), 1);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM hq_ledger"), 5);
	CHECK(!s.in_entry);
	test_sql_close(&s);
}

static void
test_no_statement(void)
{
	static const char *const blank[] = { "", "   ", " ;; \n\t;", "-- hi",
	    "/* only a comment */", "; -- x\n" };
	struct sqlapply	s;
	char		err[ERRLEN], id[16];
	size_t		i;

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	for (i = 0; i < nitems(blank); i++) {
		snprintf(id, sizeof(id), "b%zu", i);
		APPLY(&s, id, blank[i], SQLAPPLY_PERM, err);
		CHECK_EQ_STR(err, "sql: no statement");
	}
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM hq_ledger"), 0);
	test_sql_close(&s);
}

static void
test_constraint_perm(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlite3_exec(s.db, "CREATE TABLE c(x INTEGER NOT NULL "
	    "CHECK (x > 0) UNIQUE)", NULL, NULL, NULL) == SQLITE_OK);
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "e1", "INSERT INTO t VALUES (1, 'one')", SQLAPPLY_OK, err);
	APPLY(&s, "e2", "INSERT INTO t VALUES (1, 'again')", SQLAPPLY_PERM,
	    err);
	CHECK(strstr(err, "UNIQUE constraint failed: t.a") != NULL);
	CHECK_EQ_INT(s.last_rc & 0xff, SQLITE_CONSTRAINT);
	APPLY(&s, "e3", "INSERT INTO c VALUES (NULL)", SQLAPPLY_PERM, err);
	CHECK(strstr(err, "NOT NULL") != NULL);
	APPLY(&s, "e4", "INSERT INTO c VALUES (-1)", SQLAPPLY_PERM, err);
	CHECK(strstr(err, "CHECK") != NULL);
	APPLY(&s, "e5", "INSERT INTO c VALUES (7); INSERT INTO c VALUES (7)",
	    SQLAPPLY_PERM, err);
	CHECK(!s.txn_lost);
	APPLY(&s, "e6", "INSERT INTO t VALUES (6, 'six')", SQLAPPLY_OK, err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 2);
	CHECK_EQ_INT(test_sql_count("a = 1 AND b = 'one'"), 1);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM c"), 0);
	CHECK_EQ_INT(test_sql_ledger_has("e5"), 0);
	test_sql_close(&s);
}

static void
test_or_rollback_txn_lost(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlite3_exec(s.db, "CREATE TABLE u(x); CREATE TRIGGER u_no "
	    "BEFORE INSERT ON u WHEN new.x < 0 BEGIN SELECT RAISE(ROLLBACK, "
	    "'negative x'); END", NULL, NULL, NULL) == SQLITE_OK);
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "e1", "INSERT INTO t VALUES (1, 'one')", SQLAPPLY_OK, err);
	APPLY(&s, "e2", "INSERT OR ROLLBACK INTO t VALUES (1, 'dup')",
	    SQLAPPLY_PERM, err);
	CHECK(s.txn_lost);
	CHECK(sqlite3_get_autocommit(s.db));
	CHECK(strstr(err, "UNIQUE") != NULL);
	sqlapply_rollback(&s);		/* nothing left to roll back */
	/* The whole batch is gone, its ledger rows with it. */
	CHECK_EQ_INT(test_sql_count("1"), 0);
	CHECK_EQ_INT(test_sql_ledger_has("e1"), 0);

	/* The next batch starts clean; e1 is not a duplicate. */
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	CHECK(!s.txn_lost);
	APPLY(&s, "e1", "INSERT INTO t VALUES (1, 'one')", SQLAPPLY_OK, err);
	/* RAISE(ROLLBACK) from a trigger is the same case. */
	APPLY(&s, "e3", "INSERT INTO u VALUES (-5)", SQLAPPLY_PERM, err);
	CHECK(s.txn_lost);
	CHECK(strstr(err, "negative x") != NULL);
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "e1", "INSERT INTO t VALUES (1, 'one')", SQLAPPLY_OK, err);
	APPLY(&s, "e4", "INSERT INTO u VALUES (5)", SQLAPPLY_OK, err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("a = 1"), 1);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM u"), 1);
	test_sql_close(&s);
}

static const struct test_sql_guard {
	const char	*sql;
	const char	*reason;
} test_sql_guards[] = {
	{ "ATTACH 'other.db' AS o",
	  "entries may not attach or detach databases" },
	{ "DETACH main", "entries may not attach or detach databases" },
	{ "SELECT load_extension('/nonexistent/ext.so')",
	  "entries may not load extensions" },
	{ "select LOAD_EXTENSION('x')", "entries may not load extensions" },
	{ "BEGIN", "entries may not control transactions "
	  "(BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE)" },
	{ "BEGIN IMMEDIATE", NULL },
	{ "COMMIT", NULL },
	{ "END", NULL },
	{ "ROLLBACK", NULL },
	{ "SAVEPOINT mine", NULL },
	{ "RELEASE hq_entry", NULL },
	{ "ROLLBACK TO hq_entry", NULL },
	{ "PRAGMA journal_mode=DELETE", "entries may not change this pragma" },
	{ "PRAGMA main.journal_mode = OFF",
	  "entries may not change this pragma" },
	{ "PRAGMA synchronous=OFF", "entries may not change this pragma" },
	{ "PRAGMA foreign_keys=OFF", "entries may not change this pragma" },
	{ "PRAGMA writable_schema=1", "entries may not change this pragma" },
	{ "PRAGMA query_only=1", "entries may not change this pragma" },
	{ "INSERT INTO hq_ledger VALUES ('x', 1)",
	  "entries may not touch hq's ledger table" },
	{ "insert into HQ_LEDGER(id, applied_at) values ('x', 1)",
	  "entries may not touch hq's ledger table" },
	{ "INSERT INTO main.hq_ledger VALUES ('x', 1)",
	  "entries may not touch hq's ledger table" },
	{ "DELETE FROM hq_ledger", "entries may not touch hq's ledger table" },
	{ "UPDATE hq_ledger SET applied_at = 0",
	  "entries may not touch hq's ledger table" },
	{ "REPLACE INTO hq_ledger VALUES ('x', 1)",
	  "entries may not touch hq's ledger table" },
	{ "DROP TABLE hq_ledger", "entries may not touch hq's ledger table" },
	/* The guard sits in the second statement: the first is undone. */
	{ "INSERT INTO t VALUES (99, 'x'); DELETE FROM hq_ledger",
	  "entries may not touch hq's ledger table" },
	/* A trigger on another table reaching the ledger is checked when
	 * the statement that would fire it is prepared. */
	{ "CREATE TRIGGER via_t AFTER INSERT ON t BEGIN "
	  "DELETE FROM hq_ledger; END; INSERT INTO t VALUES (98, 'x')",
	  "entries may not touch hq's ledger table" },
};

static void
test_guards(void)
{
	struct sqlapply	s;
	char		err[ERRLEN], id[16];
	const char	*reason = NULL;
	size_t		i;

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "before", "INSERT INTO t VALUES (1, 'before')", SQLAPPLY_OK,
	    err);
	for (i = 0; i < nitems(test_sql_guards); i++) {
		const struct test_sql_guard *g = &test_sql_guards[i];

		if (g->reason != NULL)
			reason = g->reason;
		snprintf(id, sizeof(id), "g%zu", i);
		APPLY(&s, id, g->sql, SQLAPPLY_PERM, err);
		if (strcmp(err, reason) != 0) {
			fprintf(stderr, "%s: \"%s\", want \"%s\"\n", g->sql,
			    err, reason);
			hqtest_failures++;
		}
		/* The transaction goes on. */
		CHECK(!s.txn_lost);
		CHECK(!sqlite3_get_autocommit(s.db));
	}
	APPLY(&s, "after", "INSERT INTO t VALUES (2, 'after')", SQLAPPLY_OK,
	    err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 2);
	CHECK_EQ_INT(test_sql_ledger_has("before"), 1);
	CHECK_EQ_INT(test_sql_ledger_has("after"), 1);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM hq_ledger"), 2);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM sqlite_schema "
	    "WHERE type = 'trigger'"), 0);
	CHECK(access("other.db", F_OK) == -1);
	/* hq's own statements are not guarded. */
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM "
	    "pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	test_sql_close(&s);
}

/*
 * The ledger's schema is hq's too. SQLite passes the table as the fourth
 * authorizer argument (not the third) for ALTER TABLE, CREATE/DROP INDEX
 * and CREATE/DROP [TEMP] TRIGGER; each of these must be refused.
 */
static void
test_guards_ledger_schema(void)
{
	static const char *const sqls[] = {
		"CREATE TRIGGER hq_x BEFORE INSERT ON hq_ledger BEGIN "
		"SELECT RAISE(IGNORE); END",
		"CREATE TEMP TRIGGER hq_y BEFORE INSERT ON main.hq_ledger "
		"BEGIN SELECT RAISE(IGNORE); END",
		"CREATE INDEX hq_i ON hq_ledger(applied_at)",
		"ALTER TABLE hq_ledger ADD COLUMN extra",
		"ALTER TABLE hq_ledger RENAME TO not_the_ledger",
	};
	struct sqlapply	s;
	char		err[ERRLEN], id[16];
	size_t		i;

	for (i = 0; i < nitems(sqls); i++) {
		REQUIRE(test_sql_open(&s, 1000));
		REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
		snprintf(id, sizeof(id), "s%zu", i);
		if (APPLY(&s, id, sqls[i], SQLAPPLY_PERM, err) ==
		    SQLAPPLY_PERM)
			CHECK_EQ_STR(err, strstr(sqls[i], "TEMP") != NULL ?
			    TEST_TEMP_REFUSED :
			    "entries may not touch hq's ledger table");
		sqlapply_rollback(&s);
		test_sql_close(&s);
	}
}

/* The guard is about the ledger table, not about a name: a column that
 * happens to be called hq_ledger in an application table is fair game. */
static void
test_guards_no_false_positive(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "f1", "CREATE TABLE w(id INTEGER PRIMARY KEY, hq_ledger)",
	    SQLAPPLY_OK, err);
	APPLY(&s, "f2", "INSERT INTO w(id, hq_ledger) VALUES (1, 'a')",
	    SQLAPPLY_OK, err);
	APPLY(&s, "f3", "UPDATE w SET hq_ledger = 'b' WHERE id = 1",
	    SQLAPPLY_OK, err);
	APPLY(&s, "f4", "CREATE INDEX w_l ON w(hq_ledger)", SQLAPPLY_OK, err);
	APPLY(&s, "f5", "SELECT hq_ledger FROM w", SQLAPPLY_OK, err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM w WHERE "
	    "hq_ledger = 'b'"), 1);
	test_sql_close(&s);
}

/*
 * What the hole above costs: a trigger that makes every ledger insert
 * fail turns every later entry into a "duplicate", skipped and removed
 * from the queue without its SQL ever running.
 */
static void
test_ledger_tamper_never_skips(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "evil", "CREATE TRIGGER hq_evil BEFORE INSERT ON hq_ledger "
	    "BEGIN SELECT RAISE(ABORT, 'no'); END", SQLAPPLY_PERM, err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	/* A fresh id is never a duplicate. */
	if (APPLY(&s, "fresh", "INSERT INTO t VALUES (42, 'x')",
	    SQLAPPLY_OK, err) == SQLAPPLY_DUP)
		fprintf(stderr, "fresh id reported as a duplicate: its SQL "
		    "was never run\n");
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("a = 42"), 1);
	test_sql_close(&s);
}

static void
test_pragma_allowed(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "p1", "PRAGMA user_version=5", SQLAPPLY_OK, err);
	APPLY(&s, "p2", "PRAGMA application_id = 1212", SQLAPPLY_OK, err);
	APPLY(&s, "p3", "PRAGMA table_info(t)", SQLAPPLY_OK, err);
	APPLY(&s, "p4", "PRAGMA integrity_check", SQLAPPLY_OK, err);
	APPLY(&s, "p5", "PRAGMA foreign_key_check", SQLAPPLY_OK, err);
	/* Reading a pragma is fine, whichever. */
	APPLY(&s, "p6", "PRAGMA journal_mode", SQLAPPLY_OK, err);
	APPLY(&s, "p7", "PRAGMA synchronous", SQLAPPLY_OK, err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_int_query("PRAGMA user_version"), 5);
	CHECK_EQ_INT(test_sql_int_query("PRAGMA application_id"), 1212);
	test_sql_close(&s);
}

static void
test_params(void)
{
	static const char sql2[] = "INSERT INTO t(a, b) VALUES (?, ?);\n"
	    "INSERT INTO t(b, a) VALUES (?, ?)";
	static const char blob[] = { 'b', '\0', 'l', '\0' };
	struct entry_param	p[6];
	struct entry		e;
	struct sqlapply		s;
	char			err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	/* Consumed left to right across both statements. */
	p[0] = test_sql_int(10);
	p[1] = test_sql_text("ten");
	p[2] = test_sql_text("eleven");
	p[3] = test_sql_int(11);
	e = test_sql_entry(sql2, p, 4);
	CHECK_EQ_INT(sqlapply_entry(&s, "two", &e, err, sizeof(err)),
	    SQLAPPLY_OK);

	/* Every type, numbered parameters bound by position. */
	p[0] = test_sql_int(INT64_MIN);
	p[1].type = ENTRY_PARAM_NULL;
	e = test_sql_entry("INSERT INTO t(b, a) VALUES (?2, ?1)", p, 2);
	CHECK_EQ_INT(sqlapply_entry(&s, "null", &e, err, sizeof(err)),
	    SQLAPPLY_OK);
	memset(p, 0, sizeof(p));
	p[0] = test_sql_int(20);
	p[1].type = ENTRY_PARAM_REAL;
	p[1].d = 2.5;
	p[2] = test_sql_int(21);
	p[3].type = ENTRY_PARAM_BLOB;
	p[3].p = blob;
	p[3].len = sizeof(blob);
	p[4] = test_sql_int(22);
	p[5].type = ENTRY_PARAM_TEXT;
	p[5].p = "t\0x";
	p[5].len = 3;
	e = test_sql_entry("INSERT INTO t VALUES (?, ?), (?, ?), (?, ?)", p,
	    6);
	CHECK_EQ_INT(sqlapply_entry(&s, "types", &e, err, sizeof(err)),
	    SQLAPPLY_OK);

	/* Too few: refused, and the first statement is undone. */
	p[0] = test_sql_int(30);
	p[1] = test_sql_text("x");
	p[2] = test_sql_text("y");
	e = test_sql_entry(sql2, p, 3);
	CHECK_EQ_INT(sqlapply_entry(&s, "few", &e, err, sizeof(err)),
	    SQLAPPLY_PERM);
	CHECK_EQ_STR(err, "params: statement 2 wants more than the 3 given");
	/* Too many. */
	p[3] = test_sql_int(31);
	p[4] = test_sql_int(32);
	e = test_sql_entry(sql2, p, 5);
	CHECK_EQ_INT(sqlapply_entry(&s, "many", &e, err, sizeof(err)),
	    SQLAPPLY_PERM);
	CHECK_EQ_STR(err, "params: 5 given, 4 used");
	/* None wanted, one given; one wanted, none given. */
	e = test_sql_entry("INSERT INTO t VALUES (40, 'x')", p, 1);
	CHECK_EQ_INT(sqlapply_entry(&s, "extra", &e, err, sizeof(err)),
	    SQLAPPLY_PERM);
	CHECK_EQ_STR(err, "params: 1 given, 0 used");
	e = test_sql_entry("INSERT INTO t VALUES (41, ?)", NULL, 0);
	CHECK_EQ_INT(sqlapply_entry(&s, "none", &e, err, sizeof(err)),
	    SQLAPPLY_PERM);
	CHECK_EQ_STR(err, "params: statement 1 wants more than the 0 given");
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);

	CHECK_EQ_INT(test_sql_count("a = 10 AND b = 'ten'"), 1);
	CHECK_EQ_INT(test_sql_count("a = 11 AND b = 'eleven'"), 1);
	CHECK_EQ_INT(test_sql_count("a = -9223372036854775808 AND b IS NULL"),
	    1);
	CHECK_EQ_INT(test_sql_count("a = 20 AND b = 2.5"), 1);
	CHECK_EQ_INT(test_sql_count("a = 21 AND typeof(b) = 'blob' AND "
	    "b = x'62006c00'"), 1);
	CHECK_EQ_INT(test_sql_count("a = 22 AND typeof(b) = 'text' AND "
	    "length(CAST(b AS BLOB)) = 3"), 1);
	CHECK_EQ_INT(test_sql_count("a >= 30"), 0);
	CHECK_EQ_INT(test_sql_count("1"), 6);
	test_sql_close(&s);
}

/* The second connection: lock on 'L', release on 'R'. */
static int
test_sql_locker(int cmd, int ack)
{
	sqlite3	*db;
	char	 c;
	int	 rc = 0;

	if (read(cmd, &c, 1) != 1 || c != 'G')
		return 10;
	if (sqlite3_open_v2(DB, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		return 11;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO t VALUES (100, "
	    "'child')", NULL, NULL, NULL) != SQLITE_OK)
		rc = 12;
	if (write(ack, rc == 0 ? "L" : "E", 1) != 1)
		rc = 13;
	if (read(cmd, &c, 1) != 1 || c != 'R')
		rc = 14;
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) !=
	    SQLITE_OK)
		rc = 15;
	sqlite3_close(db);
	return rc;
}

static void
test_busy_temp(void)
{
	struct sqlapply	s;
	char		err[ERRLEN] = "", c;
	uint64_t	t0, ms;
	pid_t		pid;
	int		cmd[2], ack[2], status;

	REQUIRE(pipe(cmd) == 0 && pipe(ack) == 0);
	/* Fork before this process opens the database: SQLite state must
	 * not cross a fork. */
	REQUIRE((pid = fork()) != -1);
	if (pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		_exit(test_sql_locker(cmd[0], ack[1]));
	}
	close(cmd[0]);
	close(ack[1]);
	REQUIRE(test_sql_open(&s, 150));
	REQUIRE(write(cmd[1], "G", 1) == 1);
	REQUIRE(read(ack[0], &c, 1) == 1);
	REQUIRE(c == 'L');

	t0 = now_mono_ms();
	CHECK_EQ_INT(sqlapply_begin(&s, err, sizeof(err)), SQLAPPLY_TEMP);
	ms = now_mono_ms() - t0;
	CHECK(strncmp(err, "begin: ", 7) == 0);
	CHECK(strstr(err, "locked") != NULL);
	CHECK_EQ_INT(s.last_rc & 0xff, SQLITE_BUSY);
	CHECK(sqlite3_get_autocommit(s.db));
	/* It waited about the busy timeout, not forever, not at all. */
	CHECK(ms >= 140);
	CHECK(ms < 3000);
	/* Again: the deadline is per wait, not per connection. */
	t0 = now_mono_ms();
	CHECK_EQ_INT(sqlapply_begin(&s, err, sizeof(err)), SQLAPPLY_TEMP);
	CHECK(now_mono_ms() - t0 >= 140);

	/* Released: the same connection goes on. */
	REQUIRE(write(cmd[1], "R", 1) == 1);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ_INT(sqlapply_begin(&s, err, sizeof(err)), SQLAPPLY_OK);
	APPLY(&s, "after", "INSERT INTO t VALUES (1, 'parent')", SQLAPPLY_OK,
	    err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 2);
	close(cmd[1]);
	close(ack[0]);
	test_sql_close(&s);
}

static sqlite3_stmt *
test_sql_cached(struct sqlapply *s, const char *sql)
{
	size_t	i;

	for (i = 0; i < SQLAPPLY_CACHE; i++)
		if (s->cache[i].sql != NULL && strcmp(s->cache[i].sql, sql) ==
		    0)
			return s->cache[i].stmt;
	return NULL;
}

static void
test_cache(void)
{
	static const char ins[] = "INSERT INTO t(a, b) VALUES (?, ?)";
	struct entry_param	 p[2];
	struct entry		 e;
	struct sqlapply		 s;
	sqlite3_stmt		*st;
	char			 err[ERRLEN], text[16];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	CHECK(test_sql_cached(&s, ins) == NULL);
	p[0] = test_sql_int(1);
	p[1] = test_sql_text("one");
	e = test_sql_entry(ins, p, 2);
	CHECK_EQ_INT(sqlapply_entry(&s, "c1", &e, err, sizeof(err)),
	    SQLAPPLY_OK);
	/* Seen once: not cached (SQL with inlined values never repeats). */
	CHECK(test_sql_cached(&s, ins) == NULL);
	p[0] = test_sql_int(12);
	p[1] = test_sql_text("one again");
	CHECK_EQ_INT(sqlapply_entry(&s, "c12", &e, err, sizeof(err)),
	    SQLAPPLY_OK);
	REQUIRE((st = test_sql_cached(&s, ins)) != NULL);
	/* Same SQL, other values, bound from a buffer that then changes:
	 * the statement is reused and its bindings cleared after use. */
	snprintf(text, sizeof(text), "two");
	p[0] = test_sql_int(2);
	p[1] = test_sql_text(text);
	CHECK_EQ_INT(sqlapply_entry(&s, "c2", &e, err, sizeof(err)),
	    SQLAPPLY_OK);
	memset(text, 'X', sizeof(text) - 1);
	CHECK(test_sql_cached(&s, ins) == st);
	CHECK(!sqlite3_stmt_busy(st));
	CHECK_EQ_INT(sqlite3_bind_parameter_count(st), 2);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);

	/* The schema changes under the cached statement. */
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "alter", "ALTER TABLE t ADD COLUMN c DEFAULT 'dflt'",
	    SQLAPPLY_OK, err);
	p[0] = test_sql_int(3);
	p[1] = test_sql_text("three");
	CHECK_EQ_INT(sqlapply_entry(&s, "c3", &e, err, sizeof(err)),
	    SQLAPPLY_OK);
	APPLY(&s, "recreate", "DROP TABLE t; CREATE TABLE t(b TEXT, extra, "
	    "a INTEGER PRIMARY KEY)", SQLAPPLY_OK, err);
	p[0] = test_sql_int(4);
	p[1] = test_sql_text("four");
	CHECK_EQ_INT(sqlapply_entry(&s, "c4", &e, err, sizeof(err)),
	    SQLAPPLY_OK);
	CHECK(test_sql_cached(&s, ins) == st);
	/* The table gone: the cached statement fails as the entry's fault. */
	APPLY(&s, "drop", "DROP TABLE t", SQLAPPLY_OK, err);
	p[0] = test_sql_int(5);
	CHECK_EQ_INT(sqlapply_entry(&s, "c5", &e, err, sizeof(err)),
	    SQLAPPLY_PERM);
	CHECK(strstr(err, "no such table") != NULL);
	APPLY(&s, "again", "CREATE TABLE t(a INTEGER PRIMARY KEY, b)",
	    SQLAPPLY_OK, err);
	CHECK_EQ_INT(sqlapply_entry(&s, "c6", &e, err, sizeof(err)),
	    SQLAPPLY_OK);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("a = 5 AND b = 'four'"), 1);
	CHECK_EQ_INT(test_sql_count("1"), 1);
	test_sql_close(&s);

	/* A new connection starts with an empty cache. */
	REQUIRE(test_sql_open(&s, 1000));
	CHECK(test_sql_cached(&s, ins) == NULL);
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	p[0] = test_sql_int(6);
	CHECK_EQ_INT(sqlapply_entry(&s, "c7", &e, err, sizeof(err)),
	    SQLAPPLY_OK);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 2);
	test_sql_close(&s);
}

/* The cache is keyed by text: two entries alternating between more SQL
 * texts than slots must each get their own statement. */
static void
test_cache_churn(void)
{
	struct entry_param	p[1];
	struct entry		e;
	struct sqlapply		s;
	char			err[ERRLEN], sql[200][64], id[16];
	int			i;

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	for (i = 0; i < 200; i++) {
		snprintf(sql[i], sizeof(sql[i]), "INSERT INTO t VALUES (?, "
		    "'v%d')", i);
		p[0] = test_sql_int(i);
		e = test_sql_entry(sql[i], p, 1);
		snprintf(id, sizeof(id), "k%d", i);
		CHECK_EQ_INT(sqlapply_entry(&s, id, &e, err, sizeof(err)),
		    SQLAPPLY_OK);
	}
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("b = 'v' || a"), 200);
	test_sql_close(&s);
}

static void
test_open_fails(void)
{
	struct sqlapply	s;
	char		err[ERRLEN] = "", junk[4096];
	int		fd;

	/* The database's directory does not exist. */
	sqlapply_init(&s, "no/such/dir/test.db", true, 100, 7);
	CHECK_EQ_INT(sqlapply_open(&s, err, sizeof(err)), SQLAPPLY_TEMP);
	CHECK(s.db == NULL);
	CHECK(strstr(err, "no/such/dir/test.db") != NULL);
	CHECK(strstr(err, "open") != NULL);
	CHECK_EQ_INT(sqlapply_open(&s, err, sizeof(err)), SQLAPPLY_TEMP);
	sqlapply_rollback(&s);
	sqlapply_close(&s);
	sqlapply_close(&s);
	/* Once the directory exists, the same struct opens. */
	REQUIRE(system("mkdir -p no/such/dir") == 0);
	CHECK_EQ_INT(sqlapply_open(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK(s.db != NULL);
	CHECK_EQ_INT(sqlapply_open(&s, err, sizeof(err)), SQLAPPLY_OK);
	test_sql_close(&s);

	/* A directory where the file should be. */
	REQUIRE(mkdir("dir.db", 0755) == 0);
	err[0] = '\0';
	sqlapply_init(&s, "dir.db", true, 100, 7);
	CHECK_EQ_INT(sqlapply_open(&s, err, sizeof(err)), SQLAPPLY_TEMP);
	CHECK(s.db == NULL);
	CHECK(err[0] != '\0');
	test_sql_close(&s);

	/* Not a database at all. */
	REQUIRE((fd = open("junk.db", O_WRONLY | O_CREAT, 0644)) != -1);
	memset(junk, '#', sizeof(junk));
	REQUIRE(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	close(fd);
	err[0] = '\0';
	sqlapply_init(&s, "junk.db", true, 100, 7);
	CHECK_EQ_INT(sqlapply_open(&s, err, sizeof(err)), SQLAPPLY_TEMP);
	CHECK(s.db == NULL);
	CHECK(strstr(err, "junk.db") != NULL);
	test_sql_close(&s);
}

static void
test_prune(void)
{
	struct sqlapply	 s;
	char		 err[ERRLEN];
	sqlite3		*db;

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "old", "INSERT INTO t VALUES (1, 'x')", SQLAPPLY_OK, err);
	APPLY(&s, "new", "INSERT INTO t VALUES (2, 'x')", SQLAPPLY_OK, err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	test_sql_close(&s);
	/* Age one row past ledger_days (7) from outside. */
	REQUIRE(sqlite3_open(DB, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE hq_ledger SET applied_at = "
	    "CAST(strftime('%s', 'now') AS INTEGER) - 8 * 86400 WHERE id = "
	    "'old'", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK_EQ_INT(test_sql_ledger_has("old"), 1);
	REQUIRE(test_sql_open(&s, 1000));	/* open prunes */
	CHECK_EQ_INT(test_sql_ledger_has("old"), 0);
	CHECK_EQ_INT(test_sql_ledger_has("new"), 1);
	test_sql_close(&s);
}

/*
 * struct entry carries sql with its length. SQL after an embedded NUL must
 * not be dropped silently: the entry either runs whole or is refused.
 */
static void
test_embedded_nul(void)
{
	static const char sql[] = "INSERT INTO t VALUES (1, 'a');\0"
	    "INSERT INTO t VALUES (2, 'b')";
	struct entry		e;
	struct sqlapply		s;
	enum sqlapply_outcome	o;
	char			err[ERRLEN] = "";

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	e = test_sql_entry(sql, NULL, 0);
	e.sql_len = sizeof(sql) - 1;
	o = sqlapply_entry(&s, "nul", &e, err, sizeof(err));
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	if (o == SQLAPPLY_OK)
		CHECK_EQ_INT(test_sql_count("1"), 2);
	else
		CHECK_EQ_INT(test_sql_count("1"), 0);
	test_sql_close(&s);
}

/* One integer from the worker's own connection (it sees its temp schema). */
static long long
test_sql_conn_int(struct sqlapply *s, const char *sql)
{
	sqlite3_stmt	*st;
	long long	 v = -2;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Isolation: nothing an entry does may outlive it on the connection. Each
 * TEMP form is refused, hq's ledger still decides duplicates afterwards,
 * later entries land in main, and the temp schema stays empty.
 */
static void
test_temp_refused(void)
{
	static const char *const sqls[] = {
		"CREATE TEMP TABLE hq_ledger(id TEXT, applied_at INT, "
		"k DEFAULT 1 PRIMARY KEY)",
		"CREATE TEMP VIEW hq_ledger AS SELECT 1 AS id, 2 AS applied_at",
		"CREATE TEMP TABLE t(a, b)",
		"CREATE TABLE temp.u(x)",
		"CREATE TEMPORARY TABLE v AS SELECT 1",
		"CREATE TEMP TRIGGER tt BEFORE INSERT ON t BEGIN "
		"SELECT RAISE(IGNORE); END",
		"CREATE VIRTUAL TABLE temp.f USING fts4(x)",
		"PRAGMA temp.user_version = 7",
		"SELECT * FROM temp.sqlite_master",
	};
	struct sqlapply	s;
	char		err[ERRLEN], id[16];
	size_t		i;

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	for (i = 0; i < nitems(sqls); i++) {
		snprintf(id, sizeof(id), "tmp%zu", i);
		if (APPLY(&s, id, sqls[i], SQLAPPLY_PERM, err) ==
		    SQLAPPLY_PERM)
			CHECK_EQ_STR(err, TEST_TEMP_REFUSED);
		CHECK(!s.txn_lost);
	}
	APPLY(&s, "k1", "INSERT INTO t(a, b) VALUES (1, 'one')", SQLAPPLY_OK,
	    err);
	APPLY(&s, "k1", "INSERT INTO t(a, b) VALUES (2, 'again')",
	    SQLAPPLY_DUP, err);
	CHECK_EQ_INT(test_sql_conn_int(&s,
	    "SELECT count(*) FROM temp.sqlite_master"), 0);
	REQUIRE(sqlapply_commit(&s, err, sizeof(err)) == SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 1);
	CHECK_EQ_INT(test_sql_count("b = 'one'"), 1);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM "
	    "sqlite_master WHERE name = 'hq_ledger' AND type = 'table'"), 1);
	test_sql_close(&s);
}

/* Functions and tables that reach past the main schema: refused, literal
 * or bound; fts3 works afterwards (no tokenizer was overridden). */
static void
test_dangerous_surfaces(void)
{
	static const struct {
		const char	*sql;
		const char	*why;	/* a word of the reason */
	} cases[] = {
		{ "SELECT fts3_tokenizer('simple')", "fts3_tokenizer" },
		{ "SELECT FTS3_TOKENIZER('simple', x'4141414141414141')",
		  "fts3_tokenizer" },
		{ "SELECT total_changes()", "total_changes" },
		{ "SELECT sql FROM sqlite_stmt", "may not read" },
		{ "SELECT load_extension('libc.so.6')", "extensions" },
		{ "PRAGMA writable_schema = 1", "pragma" },
		{ "PRAGMA trusted_schema = 1", "pragma" },
		{ "PRAGMA foreign_keys = ON", "pragma" },
		{ "PRAGMA defer_foreign_keys = ON", "pragma" },
		{ "SELECT * FROM hq_ledger", "ledger" },
		{ "SELECT count(*) FROM main.hq_ledger", "ledger" },
	};
	struct entry_param	 pp[2];
	struct entry		 e;
	struct sqlapply		 s;
	char			 err[ERRLEN], id[16];
	size_t			 i;

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	for (i = 0; i < nitems(cases); i++) {
		snprintf(id, sizeof(id), "d%zu", i);
		if (APPLY(&s, id, cases[i].sql, SQLAPPLY_PERM, err) ==
		    SQLAPPLY_PERM && strcasestr(err, cases[i].why) == NULL) {
			fprintf(stderr, "%s: reason '%s' lacks '%s'\n",
			    cases[i].sql, err, cases[i].why);
			hqtest_failures++;
		}
	}
	/* Bound, the db-config switch alone would let it through. */
	pp[0] = test_sql_text("simple");
	pp[1].type = ENTRY_PARAM_BLOB;
	pp[1].p = "AAAAAAAA";
	pp[1].len = 8;
	e = test_sql_entry("SELECT fts3_tokenizer(?, ?)", pp, 2);
	CHECK_EQ_INT(sqlapply_entry(&s, "bound", &e, err, sizeof(err)),
	    SQLAPPLY_PERM);
	CHECK(strstr(err, "fts3_tokenizer") != NULL);
	/* Through a view or a trigger of the main schema: refused when
	 * used (untrusted schema, and the authorizer sees the call). */
	APPLY(&s, "view", "CREATE VIEW vt AS SELECT fts3_tokenizer('simple') "
	    "AS p", SQLAPPLY_OK, err);
	APPLY(&s, "useview", "SELECT * FROM vt", SQLAPPLY_PERM, err);
	APPLY(&s, "trig", "CREATE TRIGGER tt AFTER INSERT ON t BEGIN "
	    "SELECT fts3_tokenizer('simple', x'4141414141414141'); END",
	    SQLAPPLY_OK, err);
	APPLY(&s, "fire", "INSERT INTO t(a) VALUES (77)", SQLAPPLY_PERM, err);
	APPLY(&s, "untrig", "DROP TRIGGER tt", SQLAPPLY_OK, err);
	APPLY(&s, "fts", "CREATE VIRTUAL TABLE ft USING fts3(x); "
	    "INSERT INTO ft(x) VALUES ('hello world')", SQLAPPLY_OK, err);
	REQUIRE(sqlapply_commit(&s, err, sizeof(err)) == SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM ft WHERE ft "
	    "MATCH 'hello'"), 1);
	test_sql_close(&s);
}

/* last_insert_rowid() does not carry from one entry to the next. */
static void
test_rowid_not_carried(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "r1", "INSERT INTO t(a, b) VALUES (41, 'x')", SQLAPPLY_OK,
	    err);
	APPLY(&s, "r2", "INSERT INTO t(a, b) VALUES (42, last_insert_rowid())",
	    SQLAPPLY_OK, err);
	REQUIRE(sqlapply_commit(&s, err, sizeof(err)) == SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_int_query("SELECT b FROM t WHERE a = 42"), 0);
	test_sql_close(&s);
}

/*
 * An entry's own error is its own whatever its code: LOCKED (a checkpoint
 * inside the transaction), CORRUPT_VTAB (an FTS4 integrity-check's
 * verdict) and a deferred foreign key violation each fail the entry alone;
 * its neighbours in the transaction commit.
 */
static void
test_own_errors(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	/* The test, not an entry, turns foreign keys on. */
	REQUIRE(sqlite3_exec(s.db, "PRAGMA foreign_keys = ON; "
	    "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(pid "
	    "REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED); "
	    "CREATE TABLE src(x); CREATE VIRTUAL TABLE ft USING "
	    "fts4(content=\"src\", x)", NULL, NULL, NULL) == SQLITE_OK);
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "o1", "INSERT INTO t(a) VALUES (1)", SQLAPPLY_OK, err);
	if (APPLY(&s, "ck", "PRAGMA wal_checkpoint", SQLAPPLY_PERM, err) ==
	    SQLAPPLY_PERM)
		CHECK(strstr(err, "locked") != NULL);
	APPLY(&s, "o2", "INSERT INTO t(a) VALUES (2)", SQLAPPLY_OK, err);
	APPLY(&s, "o3", "INSERT INTO src(x) VALUES ('abc')", SQLAPPLY_OK, err);
	APPLY(&s, "ic", "INSERT INTO ft(ft) VALUES ('integrity-check')",
	    SQLAPPLY_PERM, err);
	if (APPLY(&s, "fk", "INSERT INTO c(pid) VALUES (99)", SQLAPPLY_PERM,
	    err) == SQLAPPLY_PERM)
		CHECK(strstr(err, "foreign key") != NULL);
	APPLY(&s, "o4", "INSERT INTO t(a) VALUES (4)", SQLAPPLY_OK, err);
	CHECK(!s.txn_lost);
	REQUIRE(sqlapply_commit(&s, err, sizeof(err)) == SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_count("1"), 3);
	CHECK_EQ_INT(test_sql_int_query("SELECT count(*) FROM c"), 0);
	CHECK_EQ_INT(test_sql_ledger_has("o4"), 1);
	CHECK_EQ_INT(test_sql_ledger_has("ck"), 0);
	test_sql_close(&s);
}

/* A database-level error raised by an entry's statement (here SQLITE_FULL
 * from a page cap the test sets) makes it a suspect, not a failure. */
static void
test_suspect(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "s1", "INSERT INTO t(a) VALUES (1)", SQLAPPLY_OK, err);
	REQUIRE(sqlite3_exec(s.db, "PRAGMA max_page_count = 8", NULL, NULL,
	    NULL) == SQLITE_OK);
	APPLY(&s, "big", "INSERT INTO t(a, b) VALUES (2, randomblob(200000))",
	    SQLAPPLY_SUSPECT, err);
	CHECK(sqlapply_disk_full(&s));
	CHECK(sqlapply_waiting(&s));
	sqlapply_rollback(&s);
	test_sql_close(&s);
}

/* An endless query fails by the statement budget, first time, and its
 * neighbours commit. */
static void
test_budget(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];
	uint64_t	t0;

	REQUIRE(test_sql_open(&s, 1000));
	sqlapply_limits(&s, 300, 0);
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "b1", "INSERT INTO t(a) VALUES (1)", SQLAPPLY_OK, err);
	t0 = now_mono_ms();
	if (APPLY(&s, "loop", "INSERT INTO t(b) SELECT count(*) FROM (WITH "
	    "RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) "
	    "SELECT i FROM c)", SQLAPPLY_PERM, err) == SQLAPPLY_PERM)
		CHECK(strstr(err, "statement timeout") != NULL);
	CHECK(now_mono_ms() - t0 < 3000);
	if (s.txn_lost)
		REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "b2", "INSERT INTO t(a) VALUES (2)", SQLAPPLY_OK, err);
	REQUIRE(sqlapply_commit(&s, err, sizeof(err)) == SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_ledger_has("b2"), 1);
	CHECK_EQ_INT(test_sql_ledger_has("loop"), 0);
	sqlapply_limits(&s, 0, 0);
	test_sql_close(&s);
}

/*
 * Time the worker is stopped is not the entry's: a child runs an endless
 * query on a 1 s budget and is SIGSTOPped for 2 s soon after it starts.
 * Without the discount it would fail as soon as it runs again (~2.2 s);
 * with it, about 1 s of its own running later (~3.2 s).
 */
static void
test_budget_stopped(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];
	uint64_t	t0;
	int		fds[2], st;
	pid_t		pid;
	long long	ms = -1;

	REQUIRE(pipe(fds) == 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		hqtest_failures = 0;	/* the parent's, before the fork */
		if (!test_sql_open(&s, 1000))
			_exit(2);
		sqlapply_limits(&s, 1000, 0);
		if (sqlapply_begin(&s, err, sizeof(err)) != SQLAPPLY_OK)
			_exit(3);
		t0 = now_mono_ms();
		if (write(fds[1], "g", 1) != 1)
			_exit(4);
		APPLY(&s, "loop", "SELECT count(*) FROM (WITH RECURSIVE "
		    "c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) "
		    "SELECT i FROM c)", SQLAPPLY_PERM, err);
		ms = (long long)(now_mono_ms() - t0);
		if (write(fds[1], &ms, sizeof(ms)) != (ssize_t)sizeof(ms))
			_exit(5);
		_exit(hqtest_failures ? 1 : 0);
	}
	REQUIRE(pid > 0);
	close(fds[1]);
	REQUIRE(read(fds[0], err, 1) == 1);
	usleep(200000);
	kill(pid, SIGSTOP);
	usleep(2000000);
	kill(pid, SIGCONT);
	CHECK(read(fds[0], &ms, sizeof(ms)) == (ssize_t)sizeof(ms));
	close(fds[0]);
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (ms < 2900 || ms > 6000) {
		fprintf(stderr, "stopped 2 s on a 1 s budget: failed after "
		    "%lld ms, want about 3200\n", ms);
		hqtest_failures++;
	}
}

/* The memory ceiling: an entry that needs more fails, first time. */
static void
test_heap_limit(void)
{
	struct sqlapply	s;
	char		err[ERRLEN];

	REQUIRE(test_sql_open(&s, 1000));
	sqlapply_limits(&s, 0, 16 << 20);
	REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "h1", "INSERT INTO t(a) VALUES (1)", SQLAPPLY_OK, err);
	if (APPLY(&s, "hog", "INSERT INTO t(b) VALUES "
	    "(length(randomblob(64000000)))", SQLAPPLY_PERM, err) ==
	    SQLAPPLY_PERM)
		CHECK(strstr(err, "memory") != NULL);
	if (s.txn_lost)
		REQUIRE(sqlapply_begin(&s, err, sizeof(err)) == SQLAPPLY_OK);
	APPLY(&s, "h2", "INSERT INTO t(a) VALUES (2)", SQLAPPLY_OK, err);
	REQUIRE(sqlapply_commit(&s, err, sizeof(err)) == SQLAPPLY_OK);
	CHECK_EQ_INT(test_sql_ledger_has("h2"), 1);
	CHECK_EQ_INT(test_sql_ledger_has("hog"), 0);
	sqlapply_limits(&s, 0, 0);
	test_sql_close(&s);
}

/*
 * The guard of the dqlite sink: statements compiled against a schema copy
 * under the authorizer. What the local sink refuses is DENIED with its
 * reason; a statement naming what the copy lacks is ERROR until the schema
 * holds it; the copy is rebuilt from texts in any order (a view before its
 * table, a virtual table with the shadow tables the server lists too).
 */
#define GCHECK(sql)	sqlguard_check(&g, sql, strlen(sql), &st, err, \
	    sizeof(err))

static void
test_guard(void)
{
	struct sqlapply		g;
	struct sqlguard_stmt	st;
	char			err[ERRLEN];
	static const char	multi[] = "INSERT INTO t(a) VALUES (?); "
	    "SELECT ?2 -- tail\n;  -- only a comment";
	const char *schema[] = {
		"CREATE VIEW v AS SELECT a FROM t",
		"CREATE TABLE t(a, b)",
		"CREATE TABLE f_data(id INTEGER PRIMARY KEY, block BLOB)",
		"CREATE VIRTUAL TABLE f USING fts5(x)",
		"CREATE INDEX ti ON t(a)",
		"DROP TABLE t",		/* never schema: not run */
	};
	size_t			lens[6], i;

	memset(&g, 0, sizeof(g));
	REQUIRE(sqlguard_open(&g, err, sizeof(err)) == 0);
	CHECK_EQ_INT(GCHECK("INSERT INTO t(a) VALUES (1)"), SQLGUARD_ERROR);
	CHECK(strstr(err, "no such table: t") != NULL);
	for (i = 0; i < 6; i++)
		lens[i] = strlen(schema[i]);
	REQUIRE(sqlguard_schema(&g, schema, lens, 6, err, sizeof(err)) == 0);
	CHECK_EQ_INT(GCHECK("SELECT a FROM v"), SQLGUARD_OK);
	CHECK(st.rows);
	CHECK_EQ_INT(GCHECK("SELECT x FROM f WHERE f MATCH 'y'"), SQLGUARD_OK);
	/* Statements one at a time: length, parameters, rows. */
	CHECK_EQ_INT(sqlguard_check(&g, multi, strlen(multi), &st, err,
	    sizeof(err)), SQLGUARD_OK);
	CHECK_EQ_INT(st.len, 28);
	CHECK_EQ_INT(st.nparams, 1);
	CHECK(!st.rows && !st.none);
	i = st.len;
	CHECK_EQ_INT(sqlguard_check(&g, multi + i, strlen(multi) - i, &st,
	    err, sizeof(err)), SQLGUARD_OK);
	CHECK_EQ_INT(st.nparams, 2);
	CHECK(st.rows);
	i += st.len;
	CHECK_EQ_INT(sqlguard_check(&g, multi + i, strlen(multi) - i, &st,
	    err, sizeof(err)), SQLGUARD_OK);
	CHECK(st.none);
	CHECK_EQ_INT(GCHECK("INSERT INTO t(a) VALUES (1) "
	    "RETURNING a"), SQLGUARD_OK);
	CHECK(st.rows);
	/* The refusals, with the local sink's reasons. */
	CHECK_EQ_INT(GCHECK("CREATE TEMP TABLE x(a)"), SQLGUARD_DENIED);
	CHECK_EQ_STR(err, TEST_TEMP_REFUSED);
	CHECK_EQ_INT(GCHECK("ATTACH ':memory:' AS o"), SQLGUARD_DENIED);
	CHECK_EQ_INT(GCHECK("COMMIT"), SQLGUARD_DENIED);
	CHECK_EQ_INT(GCHECK("PRAGMA synchronous=OFF"), SQLGUARD_DENIED);
	CHECK_EQ_INT(GCHECK("SELECT total_changes()"), SQLGUARD_DENIED);
	CHECK_EQ_INT(GCHECK("DELETE FROM hq_ledger"), SQLGUARD_DENIED);
	CHECK_EQ_INT(GCHECK("UPDATE hq_ledger_rowid SET x = 1"),
	    SQLGUARD_DENIED);
	CHECK(strstr(err, "ledger") != NULL);
	/* Rows of a column dqlite encodes by its declared type. */
	{
		const char *dt = "CREATE TABLE dt(d DATETIME, b boolean, n)";
		size_t dtlen = strlen(dt);

		REQUIRE(sqlguard_schema(&g, &dt, &dtlen, 1, err,
		    sizeof(err)) == 0);
	}
	CHECK_EQ_INT(GCHECK("SELECT n, d FROM dt"), SQLGUARD_OK);
	CHECK(st.rows && st.typed);
	CHECK_EQ_INT(GCHECK("INSERT INTO dt(n) VALUES (1) RETURNING b"),
	    SQLGUARD_OK);
	CHECK(st.rows && st.typed);
	CHECK_EQ_INT(GCHECK("SELECT n, d + 0, typeof(b) FROM dt"),
	    SQLGUARD_OK);
	CHECK(st.rows && !st.typed);
	CHECK_EQ_INT(GCHECK("INSERT INTO dt(d) VALUES (1.5)"), SQLGUARD_OK);
	CHECK(!st.rows && !st.typed);
	REQUIRE(sqlguard_schema(&g, schema, lens, 6, err, sizeof(err)) == 0);
	/* A later schema replaces the copy: t is gone. */
	REQUIRE(sqlguard_schema(&g, schema + 2, lens + 2, 2, err,
	    sizeof(err)) == 0);
	CHECK_EQ_INT(GCHECK("SELECT a FROM t"), SQLGUARD_ERROR);
	sqlapply_close(&g);
}


/* The workers' write turn: a worker that ends a transaction bumps it and
 * wakes the ones asleep waiting for the lock (counted in waiters while
 * they sleep). A holder in a forked process waits until this process is
 * asleep on the turn, then commits; this process's BEGIN then goes
 * through, with the turn moved on and nobody counted asleep. */
static int
test_turn_holder(_Atomic uint32_t *sh, int ack)
{
	struct sqlapply	a;
	char		err[ERRLEN];
	uint64_t	deadline;
	struct entry	e = test_sql_entry("INSERT INTO t VALUES (200, 'a')",
			    NULL, 0);

	if (!test_sql_open(&a, 5000))
		return 20;
	a.turn = &sh[0];
	a.turn_waiters = &sh[1];
	if (sqlapply_begin(&a, err, sizeof(err)) != SQLAPPLY_OK ||
	    sqlapply_entry(&a, "holder", &e, err, sizeof(err)) != SQLAPPLY_OK)
		return 21;
	if (write(ack, "L", 1) != 1)
		return 22;
	deadline = now_mono_ms() + 10000;
	while (atomic_load(&sh[1]) == 0)
		if (now_mono_ms() > deadline)
			return 23;	/* the waiter never slept on the turn */
	if (sqlapply_commit(&a, err, sizeof(err)) != SQLAPPLY_OK)
		return 24;
	test_sql_close(&a);
	return 0;
}

static void
test_turn_wake(void)
{
	_Atomic uint32_t *sh;
	struct sqlapply	 s;
	char		 err[ERRLEN] = "", c;
	pid_t		 pid;
	int		 ack[2], status;

	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	REQUIRE(sh != MAP_FAILED);
	/* Opened first (its start-up writes must not wait for the holder);
	 * the child never touches this connection and leaves by _exit. */
	REQUIRE(test_sql_open(&s, 10000));
	s.turn = &sh[0];
	s.turn_waiters = &sh[1];
	REQUIRE(pipe(ack) == 0);
	REQUIRE((pid = fork()) != -1);
	if (pid == 0) {
		close(ack[0]);
		_exit(test_turn_holder(sh, ack[1]));
	}
	close(ack[1]);
	REQUIRE(read(ack[0], &c, 1) == 1 && c == 'L');
	CHECK_EQ_INT(sqlapply_begin(&s, err, sizeof(err)), SQLAPPLY_OK);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ_INT(atomic_load(&sh[0]), 1);	/* the holder's commit */
	CHECK_EQ_INT(atomic_load(&sh[1]), 0);
	CHECK_EQ_INT(s.turn_seen, 1);
	APPLY(&s, "waiter", "INSERT INTO t VALUES (201, 'b')", SQLAPPLY_OK,
	    err);
	CHECK_EQ_INT(sqlapply_commit(&s, err, sizeof(err)), SQLAPPLY_OK);
	CHECK_EQ_INT(atomic_load(&sh[0]), 2);
	/* A rollback frees the lock too. */
	CHECK_EQ_INT(sqlapply_begin(&s, err, sizeof(err)), SQLAPPLY_OK);
	sqlapply_rollback(&s);
	CHECK_EQ_INT(atomic_load(&sh[0]), 3);
	/* Nothing open: no turn. */
	sqlapply_rollback(&s);
	CHECK_EQ_INT(atomic_load(&sh[0]), 3);
	CHECK_EQ_INT(test_sql_count("a IN (200, 201)"), 2);
	close(ack[0]);
	test_sql_close(&s);
	munmap((void *)(uintptr_t)sh, 4096);
}

static const struct hqtest tests[] = {
	{ "commit_applies", test_commit_applies },
	{ "dup", test_dup },
	{ "syntax_error_perm", test_syntax_error_perm },
	{ "trailing_comment", test_trailing_comment },
	{ "no_statement", test_no_statement },
	{ "constraint_perm", test_constraint_perm },
	{ "or_rollback_txn_lost", test_or_rollback_txn_lost },
	{ "guards", test_guards },
	{ "guards_ledger_schema", test_guards_ledger_schema },
	{ "guards_no_false_positive", test_guards_no_false_positive },
	{ "ledger_tamper_never_skips", test_ledger_tamper_never_skips },
	{ "pragma_allowed", test_pragma_allowed },
	{ "params", test_params },
	{ "busy_temp", test_busy_temp },
	{ "turn_wake", test_turn_wake },
	{ "cache", test_cache },
	{ "cache_churn", test_cache_churn },
	{ "open_fails", test_open_fails },
	{ "prune", test_prune },
	{ "embedded_nul", test_embedded_nul },
	{ "temp_refused", test_temp_refused },
	{ "dangerous_surfaces", test_dangerous_surfaces },
	{ "rowid_not_carried", test_rowid_not_carried },
	{ "own_errors", test_own_errors },
	{ "suspect", test_suspect },
	{ "budget", test_budget },
	{ "budget_stopped", test_budget_stopped },
	{ "heap_limit", test_heap_limit },
	{ "guard", test_guard },
};

HQTEST_MAIN(tests)

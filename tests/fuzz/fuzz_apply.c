/* SPDX-License-Identifier: MIT */
/*
 * fuzz_apply.c: the isolation property (docs/reliability.md), tested through
 * the worker's apply path (job_apply: group commit, savepoints, retries,
 * culprits set apart) on a real SQLite file. Each input byte picks an
 * entry from a grammar of innocent and hostile ones (TEMP objects shadowing
 * the ledger or a table, triggers, pragmas, savepoint names, failing, slow
 * and memory-hungry statements, fts3_tokenizer, a checkpoint); 0xff ends a
 * batch. Entries are JSON, decoded by the real decoder. After each batch:
 *  - every innocent entry is applied (or a duplicate of an applied id),
 *    never failed: no entry harms another;
 *  - every applied entry has exactly one ledger row and exactly one marker
 *    row in main (its last statement), a failed one has neither;
 *  - the connection's TEMP schema is empty and main.hq_ledger is a table.
 * A violation aborts (a finding). Built as a libFuzzer target with
 * HQ_FUZZ=ON, and as `prop_apply SEED COUNT` (seeded random inputs), which
 * ctest runs briefly; see docs/reliability.md for long runs.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "worker/worker.h"

#define PROP_DB		"prop.db"
#define PROP_MAX_BATCH	24

struct prop_kind {
	const char	*sql;		/* @N: the entry's number, @I its id */
	bool		 innocent;
};

/* The marker insert ends every entry: proof of its effect in main. */
#define MARK	"; INSERT INTO marks(id) VALUES ('@I')"

static const struct prop_kind prop_kinds[] = {
	{ "INSERT INTO t(v) VALUES (@N)" MARK, true },
	{ "INSERT INTO t(v) VALUES (@N); UPDATE t SET v = v WHERE v < 0" MARK,
	  true },
	{ "CREATE TEMP TABLE hq_ledger(id TEXT, applied_at INT, k DEFAULT 1 "
	  "PRIMARY KEY)" MARK, false },
	{ "CREATE TEMP VIEW hq_ledger AS SELECT 1 AS id, 2 AS applied_at" MARK,
	  false },
	{ "CREATE TEMP TRIGGER tr@N BEFORE INSERT ON marks BEGIN "
	  "SELECT RAISE(IGNORE); END" MARK, false },
	{ "CREATE TEMP TABLE t(v)" MARK, false },
	{ "CREATE TABLE temp.marks(id)" MARK, false },
	{ "PRAGMA journal_mode = DELETE" MARK, false },
	{ "PRAGMA writable_schema = 1" MARK, false },
	{ "SAVEPOINT hq_entry" MARK, false },
	{ "RELEASE hq_entry" MARK, false },
	{ "ROLLBACK TO hq_entry" MARK, false },
	{ "INSERT INTO u(k) VALUES (1)" MARK, false },	/* unique: exists */
	{ "INSERT OR ROLLBACK INTO u(k) VALUES (1)" MARK, false },
	{ "INSERT INTO t(v) VALUES (@N); INSERT INTO nowhere VALUES (1)" MARK,
	  false },
	{ "SELECT count(*) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
	  "SELECT i + 1 FROM c) SELECT i FROM c)" MARK, false },
	{ "SELECT fts3_tokenizer('simple')" MARK, false },
	{ "SELECT fts3_tokenizer('simple', x'4141414141414141')" MARK, false },
	{ "PRAGMA wal_checkpoint" MARK, false },
	{ "SELECT length(randomblob(100000000))" MARK, false },
	{ "DELETE FROM hq_ledger" MARK, false },
	{ "SELECT total_changes()" MARK, false },
	{ "INSERT INTO t(v) VALUES (last_insert_rowid())" MARK, true },
	{ "CREATE VIRTUAL TABLE IF NOT EXISTS ft USING fts3(x); "
	  "INSERT INTO ft(x) VALUES ('e@N')" MARK, true },
};

struct prop {
	struct worker	 w;
	struct seg	*seg;
	int		 peer;		/* the supervisor's end: drained */
	int		 seq;
	int		 last_innocent;	/* its number, 0: none yet */
};

static struct prop	*prop;

static void
prop_die(const char *what, const char *detail)
{
	fprintf(stderr, "prop_apply: PROPERTY VIOLATED: %s (%s)\n", what,
	    detail);
	abort();
}

/* One integer from sql, with arg bound to ?1 when not NULL. */
static long long
prop_int(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt	*st;
	long long	 v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		prop_die("query", sqlite3_errmsg(db));
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The template with @N and @I filled in. */
static void
prop_expand(char *out, size_t cap, const char *tpl, int num, const char *id)
{
	size_t	n = 0;

	for (; *tpl != '\0' && n + 24 < cap; tpl++) {
		if (tpl[0] == '@' && tpl[1] == 'N') {
			n += (size_t)snprintf(out + n, cap - n, "%d", num);
			tpl++;
		} else if (tpl[0] == '@' && tpl[1] == 'I') {
			n += (size_t)snprintf(out + n, cap - n, "%s", id);
			tpl++;
		} else
			out[n++] = *tpl;
	}
	out[n] = '\0';
}

static void
prop_setup(void)
{
	char		 dir[] = "/tmp/hq-prop.XXXXXX";
	sqlite3		*db;
	int		 sv[2];

	prop = xcalloc(1, sizeof(*prop));
	if (mkdtemp(dir) == NULL || chdir(dir) == -1)
		abort();
	if (sqlite3_open(PROP_DB, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE t(v); CREATE TABLE marks(id); "
	    "CREATE TABLE u(k UNIQUE); INSERT INTO u VALUES (1)", NULL, NULL,
	    NULL) != SQLITE_OK)
		abort();
	sqlite3_close(db);
	/* The worker writes PROGRESS to its channel while it backs off. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	prop->peer = sv[0];
	shutdown(sv[0], SHUT_WR);
	prop->seg = xcalloc(1, sizeof(*prop->seg));
	prop->w.fd = sv[1];
	prop->w.seg = prop->seg;
	prop->w.sl = &prop->seg->slot[0];
	prop->w.rng = 42;
	prop->w.cfg.db = xstrdup(PROP_DB);
	prop->w.cfg.max_retries = 2;
	prop->w.cfg.retry_base_ms = 1;
	sqlapply_init(&prop->w.sa, PROP_DB, false, 1000, 7);
	sqlapply_limits(&prop->w.sa, 100, 32 << 20);
	sink_local(&prop->w.sink, &prop->w.sa);
	signal(SIGPIPE, SIG_IGN);
}

/* What job_apply left: the property, checked from the worker's own
 * connection (it alone sees its TEMP schema). */
static void
prop_check(struct job *jobs, const bool *innocent, size_t n)
{
	sqlite3	*db = prop->w.sa.db;
	char	 why[600];
	size_t	 i;

	if (db == NULL)
		prop_die("no connection after a batch", "");
	if (prop_int(db, "SELECT count(*) FROM temp.sqlite_master", NULL) != 0)
		prop_die("a TEMP object survived", "");
	if (prop_int(db, "SELECT count(*) FROM main.sqlite_master WHERE "
	    "name = 'hq_ledger' AND type = 'table'", NULL) != 1)
		prop_die("main.hq_ledger is not a table", "");
	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		long long ledger = prop_int(db, "SELECT count(*) FROM "
		    "main.hq_ledger WHERE id = ?1", j->id);
		long long marks = prop_int(db, "SELECT count(*) FROM "
		    "main.marks WHERE id = ?1", j->id);

		snprintf(why, sizeof(why), "%s: state %d, ledger %lld, "
		    "marks %lld, reason '%s'", j->e.sql, (int)j->state, ledger,
		    marks, j->reason);
		if (innocent[i] && j->state != JOB_APPLIED &&
		    j->state != JOB_DUP)
			prop_die("an innocent entry was not applied", why);
		if ((j->state == JOB_APPLIED || j->state == JOB_DUP) &&
		    (ledger != 1 || marks != 1))
			prop_die("applied, but not exactly once in main", why);
		if (j->state == JOB_FAILED && (marks != 0 ||
		    (ledger != 0 && !innocent[i])))
			prop_die("failed, but left effects", why);
		if (j->state == JOB_READY || j->state == JOB_UNCLAIMED)
			prop_die("left unsettled", why);
	}
}

static void
prop_batch(const uint8_t *b, size_t len)
{
	struct job	 jobs[PROP_MAX_BATCH];
	bool		 innocent[PROP_MAX_BATCH];
	char		 sql[1024], json[2048], id[32], err[256];
	char		 drain[4096];
	size_t		 i, n = 0;

	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < len && n < PROP_MAX_BATCH; i++) {
		const struct prop_kind *k =
		    &prop_kinds[b[i] % nitems(prop_kinds)];
		int num = ++prop->seq;

		/* One in eight innocents reuses the last innocent's id: a
		 * key that repeats is applied once. */
		if (k->innocent && (b[i] & 0xe0) == 0xe0 &&
		    prop->last_innocent > 0)
			snprintf(id, sizeof(id), "e%d", prop->last_innocent);
		else
			snprintf(id, sizeof(id), "e%d", num);
		if (k->innocent)
			prop->last_innocent = num;
		prop_expand(sql, sizeof(sql), k->sql, num, id);
		snprintf(json, sizeof(json), "{\"sql\":\"%s\",\"id\":\"%s\"}",
		    sql, id);
		if (entry_decode(ENTRY_JSON, json, strlen(json), &jobs[n].e,
		    err, sizeof(err)) == -1)
			prop_die("decode", err);
		jobs[n].name = "prop";
		jobs[n].id = xstrdup(id);
		jobs[n].state = JOB_READY;
		innocent[n] = k->innocent;
		n++;
	}
	if (getenv("PROP_DEBUG") != NULL)
		for (i = 0; i < n; i++)
			fprintf(stderr, "  [%zu] %s\n", i, jobs[i].e.sql);
	if (job_apply(&prop->w, jobs, n) == -1)
		prop_die("job_apply asked to stop", "");
	while (recv(prop->peer, drain, sizeof(drain), MSG_DONTWAIT) > 0)
		;
	prop_check(jobs, innocent, n);
	for (i = 0; i < n; i++) {
		entry_free(&jobs[i].e);
		free(jobs[i].id);
	}
}

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	start = 0, i;

	if (prop == NULL)
		prop_setup();
	for (i = 0; i <= size; i++)
		if (i == size || data[i] == 0xff) {
			if (i > start)
				prop_batch(data + start, i - start);
			start = i + 1;
		}
	return 0;
}

#ifdef HQ_PROP_MAIN
/* prop_apply SEED COUNT: COUNT seeded random inputs of up to 64 bytes. */
int
main(int argc, char **argv)
{
	uint8_t		 buf[64];
	unsigned long	 seed, count, i;
	size_t		 len, k;

	if (argc != 3) {
		fprintf(stderr, "usage: prop_apply SEED COUNT\n");
		return 64;
	}
	seed = strtoul(argv[1], NULL, 10);
	count = strtoul(argv[2], NULL, 10);
	srandom((unsigned)seed);
	for (i = 0; i < count; i++) {
		len = 1 + (size_t)random() % sizeof(buf);
		for (k = 0; k < len; k++)
			buf[k] = (uint8_t)random();
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("prop_apply: seed %lu, %lu sequences, %d entries: property "
	    "held\n", seed, count, prop ? prop->seq : 0);
	return 0;
}
#endif

/* SPDX-License-Identifier: MIT */
/* sqlguard.c: what entries may not do on a connection (the authorizer and
 * the connection's hardening, docs/reliability.md "Isolation"), and the
 * guard of sinks whose server runs no authorizer of hq's (docs/dqlite.md,
 * "The sink"). Runs in workers only. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hq.h"
#include "common/xmalloc.h"
#include "worker/sqlguard.h"

/* Pragmas an entry may set; every other pragma with a value is refused
 * because it would change how hq itself runs (journal, sync, schema) or
 * leave state on the connection for the next entry. */
static const char *const sqlapply_pragmas_ok[] = {
	"user_version", "application_id", "foreign_key_check",
	"integrity_check", "quick_check", "optimize", "incremental_vacuum",
	"table_info", "table_xinfo", "index_info", "index_list",
};

/* Functions entries may not call, and why. The rest are pure, or act on
 * the main schema only. */
static const struct {
	const char	*name;
	const char	*why;
} sqlapply_funcs_denied[] = {
	{ "load_extension", "entries may not load extensions" },
	/* With two arguments it installs a C function pointer that every
	 * later fts3 table on the connection calls; with one it leaks a
	 * library address. The db-config switch does not stop a bound
	 * argument, so the authorizer does. */
	{ "fts3_tokenizer", "entries may not call fts3_tokenizer "
	  "(it reads and overrides code pointers)" },
	/* Counts every change the connection ever made: its value depends on
	 * what other entries did before. */
	{ "total_changes", "entries may not call total_changes (its value "
	  "depends on other entries)" },
};

/* Tables an entry may neither read nor write: the connection's list of
 * statements (other entries' SQL) and raw database pages (everything,
 * past the authorizer). Debian's SQLite builds the first, not the second. */
static const char *const sqlapply_tables_denied[] = {
	"sqlite_stmt", "sqlite_dbpage",
};

static bool
sqlapply_in(const char *name, const char *const *list, size_t n)
{
	size_t	i;

	for (i = 0; name != NULL && i < n; i++)
		if (strcasecmp(name, list[i]) == 0)
			return true;
	return false;
}

static bool
sqlapply_hq_table(const char *name)
{
	return name != NULL && (strcasecmp(name, SQLAPPLY_LEDGER) == 0 ||
	    strcasecmp(name, SQLAPPLY_ROWID) == 0);
}

static int
sqlapply_deny(struct sqlapply *s, const char *why)
{
	s->denied = why;
	return SQLITE_DENY;
}

/*
 * The isolation rule (docs/reliability.md): an entry's effects stay in the
 * main schema, and nothing it does may outlive it on the connection. So
 * every action on the TEMP schema is refused (TEMP tables, views, triggers
 * and indexes would shadow main objects, hq's ledger among them, for every
 * later entry), as are transaction control, ATTACH, pragmas that change
 * settings, functions that load or override code, and hq's ledger.
 */
int
sqlapply_auth_cb(void *arg, int action, const char *a1, const char *a2,
    const char *dbname, const char *trigger)
{
	struct sqlapply	*s = arg;
	const char	*table;
	size_t		 i;

	(void)trigger;
	if (!s->in_entry)
		return SQLITE_OK;
	if (dbname != NULL && strcasecmp(dbname, "temp") == 0)
		return sqlapply_deny(s, "entries may not use the TEMP schema "
		    "(TEMP tables, views, triggers, indexes outlive the entry "
		    "on the connection)");
	switch (action) {
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_TEMP_INDEX:
		return sqlapply_deny(s, "entries may not use the TEMP schema "
		    "(TEMP tables, views, triggers, indexes outlive the entry "
		    "on the connection)");
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		return sqlapply_deny(s, "entries may not attach or detach "
		    "databases");
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		return sqlapply_deny(s, "entries may not control transactions "
		    "(BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE)");
	case SQLITE_FUNCTION:
		for (i = 0; a2 != NULL && i < nitems(sqlapply_funcs_denied);
		    i++)
			if (strcasecmp(a2, sqlapply_funcs_denied[i].name) == 0)
				return sqlapply_deny(s,
				    sqlapply_funcs_denied[i].why);
		return SQLITE_OK;
	case SQLITE_PRAGMA:
		if (a2 == NULL || sqlapply_in(a1, sqlapply_pragmas_ok,
		    nitems(sqlapply_pragmas_ok)))
			return SQLITE_OK;
		return sqlapply_deny(s, "entries may not change this pragma");
	case SQLITE_READ:
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_VIEW:
	case SQLITE_CREATE_TABLE:
	case SQLITE_CREATE_VIEW:
	case SQLITE_CREATE_VTABLE:
	case SQLITE_DROP_VTABLE:
		table = a1;
		break;
	case SQLITE_ALTER_TABLE:
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TRIGGER:
		/* The table is a2 for ALTER and for index and trigger
		 * statements (a1 is the index or trigger). */
		if (sqlapply_hq_table(a1))
			return sqlapply_deny(s, "entries may not touch hq's "
			    "ledger table");
		table = a2;
		break;
	default:
		return SQLITE_OK;
	}
	if (sqlapply_hq_table(table))
		return sqlapply_deny(s, "entries may not touch hq's ledger "
		    "table");
	if (sqlapply_in(table, sqlapply_tables_denied,
	    nitems(sqlapply_tables_denied)))
		return sqlapply_deny(s, "entries may not read this table "
		    "(connection internals or raw pages)");
	return SQLITE_OK;
}

/* What a connection that runs entries never allows, whatever they say. */
void
sqlapply_harden(sqlite3 *db)
{
	sqlite3_extended_result_codes(db, 1);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, 0, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
}

int
sqlguard_open(struct sqlapply *g, char *err, size_t errlen)
{
	char	*msg = NULL;
	int	 rc;

	sqlapply_close(g);
	if ((rc = sqlite3_open_v2(":memory:", &g->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK) {
		snprintf(err, errlen, "guard: %s", sqlite3_errstr(rc));
		sqlapply_close(g);
		return -1;
	}
	sqlapply_harden(g->db);
	/* hq's tables, as on the server: an entry naming them is refused
	 * by name, not for a missing table. */
	if (sqlite3_exec(g->db, "CREATE TABLE " SQLAPPLY_MAIN_LEDGER "(id TEXT "
	    "PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID;"
	    "CREATE TABLE main." SQLAPPLY_ROWID "(x INTEGER PRIMARY KEY)",
	    NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "guard: %s", msg ? msg : "schema");
		sqlite3_free(msg);
		sqlapply_close(g);
		return -1;
	}
	sqlite3_set_authorizer(g->db, sqlapply_auth_cb, g);
	return 0;
}

static bool
sqlguard_is_create(const char *sql, size_t len, const char *what)
{
	size_t	i = 0, n = strlen(what);

	while (i < len && isspace((unsigned char)sql[i]))
		i++;
	return len - i >= n && strncasecmp(sql + i, what, n) == 0;
}

/* Run the first statement of one schema text; true when it made its
 * object or the object is there already. */
static bool
sqlguard_create(sqlite3 *db, const char *sql, size_t len)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	if (len > INT_MAX)
		return true;	/* never compiles: give up on it */
	if (sqlite3_prepare_v2(db, sql, (int)len, &st, NULL) != SQLITE_OK)
		return strstr(sqlite3_errmsg(db), "already exists") != NULL;
	rc = st != NULL ? sqlite3_step(st) : SQLITE_DONE;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE;
}

int
sqlguard_schema(struct sqlapply *g, const char *const *sql,
    const size_t *len, size_t n, char *err, size_t errlen)
{
	bool	*done;
	size_t	 i, left = n, before;
	int	 pass = 0;

	if (sqlguard_open(g, err, errlen) == -1)
		return -1;
	done = xcalloc(n ? n : 1, sizeof(*done));
	/* Virtual tables first: each makes its shadow tables, which the
	 * server lists too (and which then already exist here). The rest in
	 * passes, until one adds nothing: a view or trigger may name an
	 * object listed after it. */
	do {
		before = left;
		for (i = 0; i < n; i++) {
			if (done[i])
				continue;
			if (!sqlguard_is_create(sql[i], len[i], "CREATE")) {
				done[i] = true;	/* not schema: never run */
				left--;
				continue;
			}
			if (pass == 0 && !sqlguard_is_create(sql[i], len[i],
			    "CREATE VIRTUAL"))
				continue;
			if (sqlguard_create(g->db, sql[i], len[i])) {
				done[i] = true;
				left--;
			}
		}
	} while (left > 0 && (pass++ == 0 || left < before));
	free(done);
	return 0;
}

enum sqlguard_rc
sqlguard_check(struct sqlapply *g, const char *sql, size_t len,
    struct sqlguard_stmt *st, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt = NULL;
	const char	*tail = NULL;
	int		 rc, i;

	memset(st, 0, sizeof(*st));
	if (len > INT_MAX) {
		snprintf(err, errlen, "sql: too long");
		return SQLGUARD_ERROR;
	}
	g->denied = NULL;
	g->in_entry = true;
	rc = sqlite3_prepare_v2(g->db, sql, (int)len, &stmt, &tail);
	g->in_entry = false;
	if (rc != SQLITE_OK) {
		if (g->denied != NULL) {
			snprintf(err, errlen, "%s", g->denied);
			return SQLGUARD_DENIED;
		}
		snprintf(err, errlen, "sql: %s", sqlite3_errmsg(g->db));
		return SQLGUARD_ERROR;
	}
	st->len = tail != NULL ? (size_t)(tail - sql) : len;
	if (stmt == NULL) {
		st->none = true;
		return SQLGUARD_OK;
	}
	st->nparams = sqlite3_bind_parameter_count(stmt);
	st->rows = sqlite3_column_count(stmt) > 0;
	for (i = 0; i < sqlite3_column_count(stmt); i++) {
		const char *t = sqlite3_column_decltype(stmt, i);

		st->typed |= t != NULL && (strcasecmp(t, "DATETIME") == 0 ||
		    strcasecmp(t, "DATE") == 0 ||
		    strcasecmp(t, "TIMESTAMP") == 0 ||
		    strcasecmp(t, "BOOLEAN") == 0);
	}
	sqlite3_finalize(stmt);
	return SQLGUARD_OK;
}

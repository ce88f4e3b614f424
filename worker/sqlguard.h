/* SPDX-License-Identifier: MIT */
/* sqlguard.h: the isolation rules as code (docs/reliability.md,
 * "Isolation"): the authorizer and hardening every connection that runs
 * entries gets, and the guard for sinks whose server has neither. */
#ifndef HQ_SQLGUARD_H
#define HQ_SQLGUARD_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "worker/sqlapply.h"

/* The authorizer: arg is the struct sqlapply whose in_entry says whether
 * entry SQL is being compiled; a refusal leaves its reason in denied. */
int	sqlapply_auth_cb(void *arg, int action, const char *a1,
	    const char *a2, const char *dbname, const char *trigger);
/* What a connection that runs entries never allows, whatever they say. */
void	sqlapply_harden(sqlite3 *db);

/*
 * The guard of a sink whose server runs no authorizer of hq's (dqlite): a
 * private in-memory database holding a copy of the server's schema, where
 * each of an entry's statements is compiled under the same authorizer as
 * locally before it is sent (docs/dqlite.md, "Isolation"). A struct
 * sqlapply with no path; nothing is ever run in it but the schema.
 */
struct sqlguard_stmt {
	size_t		 len;		/* bytes of the text it took */
	int		 nparams;
	bool		 rows;		/* it yields rows (SELECT, RETURNING,
					 * a pragma query): run it as a query */
	bool		 none;		/* only blanks and comments were left */
	bool		 typed;		/* a result column declared DATETIME,
					 * DATE, TIMESTAMP or BOOLEAN (which
					 * dqlite 1.11 encodes by that type) */
};

enum sqlguard_rc {
	SQLGUARD_OK = 0,
	SQLGUARD_DENIED,	/* the authorizer said no: err says why */
	SQLGUARD_ERROR,		/* it does not compile against this schema */
};

/* An empty guard (hq's ledger only): 0, or -1 with err. */
int	sqlguard_open(struct sqlapply *g, char *err, size_t errlen);
/* Replace the copy with the server's schema: its sqlite_master.sql texts
 * (n of them, each len[i] bytes), in any order. Texts that do not compile
 * here (an object whose module this build lacks, a shadow table its
 * virtual table made already) are left out. 0, or -1 with err. */
int	sqlguard_schema(struct sqlapply *g, const char *const *sql,
	    const size_t *len, size_t n, char *err, size_t errlen);
/* The first statement of sql[0..len) under the authorizer: OK with *st
 * filled, or DENIED / ERROR with err. */
enum sqlguard_rc sqlguard_check(struct sqlapply *g, const char *sql,
	    size_t len, struct sqlguard_stmt *st, char *err, size_t errlen);

#endif

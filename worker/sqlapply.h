/* SPDX-License-Identifier: MIT */
/* sqlapply.h: a worker's SQLite connection: open with hq's pragmas and
 * guards, group commit (one transaction per batch, one savepoint per
 * entry) and the ledger that makes application exactly-once. */
#ifndef HQ_SQLAPPLY_H
#define HQ_SQLAPPLY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/entry.h"

#define SQLAPPLY_LEDGER		"hq_ledger"
/* hq's own statements name the ledger with its schema, so that nothing an
 * entry could create elsewhere (a TEMP table of the same name) shadows it. */
#define SQLAPPLY_MAIN_LEDGER	"main." SQLAPPLY_LEDGER
/* The dqlite sink's: one row it rewrites at rowid 0 before each entry, so
 * that last_insert_rowid() on the server's connection starts at 0, as the
 * local sink sets it (entries may touch neither table). */
#define SQLAPPLY_ROWID		"hq_ledger_rowid"
#define SQLAPPLY_CACHE		64	/* prepared single-statement entries */

enum sqlapply_outcome {
	SQLAPPLY_OK = 0,	/* applied (inside the open transaction) */
	SQLAPPLY_DUP,		/* id already in the ledger: skipped */
	SQLAPPLY_PERM,		/* this entry can never apply: failed/ */
	SQLAPPLY_TEMP,		/* busy, I/O, full, read-only: retry */
	SQLAPPLY_SUSPECT,	/* the entry's own statement hit a database
				 * error (I/O, full, corrupt): roll back, retry
				 * it alone so that its neighbours commit */
};

struct sqlapply_cached {
	char		*sql;		/* NULL: empty slot */
	size_t		 len;
	sqlite3_stmt	*stmt;
	uint32_t	 seen_hash;	/* the last SQL that came here */
	size_t		 seen_len;	/* uncached: cached when it returns */
};

struct sqlapply {
	sqlite3		*db;		/* NULL until opened */
	char		*path;
	bool		 sync_full;
	int		 busy_timeout_ms;
	int		 ledger_days;
	bool		 in_entry;	/* authorizer guards entry SQL only */
	const char	*denied;	/* why the authorizer said no */
	/* The statement budget: an entry's statements together may run this
	 * long (0: no limit), not counting time the worker was stopped. */
	uint64_t	 budget_us;
	uint64_t	 deadline_us;	/* monotonic, of the entry running */
	uint64_t	 tick_mono_us;	/* last progress check: clock and */
	uint64_t	 tick_cpu_us;	/* CPU time (0: not read yet) */
	bool		 timed_out;	/* the progress handler stopped it */
	int64_t		 heap_limit;	/* bytes, 0: none (process-wide) */
	/* Called while waiting for another connection's lock: the worker
	 * publishes that it is alive and waiting. */
	void		(*on_wait)(void *, uint64_t waited_us);
	void		*on_wait_arg;
	bool		 txn_lost;	/* entry SQL rolled the transaction back */
	int		 last_rc;	/* SQLite code of the last TEMP/PERM */
	int		 last_errno;	/* errno behind it (ENOSPC...) or 0 */
	uint64_t	 busy_deadline_us;
	/* The workers' write turn in the stats segment (NULL: poll only).
	 * turn_seen is its value when this worker last asked for the lock. */
	_Atomic uint32_t *turn, *turn_waiters;
	uint32_t	 turn_seen;
	sqlite3_stmt	*st_begin, *st_commit, *st_rollback;
	sqlite3_stmt	*st_savepoint, *st_release, *st_rollback_to;
	sqlite3_stmt	*st_ledger;
	struct sqlapply_cached cache[SQLAPPLY_CACHE];
};

void	sqlapply_init(struct sqlapply *s, const char *path, bool sync_full,
	    int busy_timeout_ms, int ledger_days);
/* The statement budget (ms, 0: none) and the memory ceiling (bytes, 0:
 * none). The ceiling is SQLite's hard heap limit: process-wide, which is
 * one connection in a worker. */
void	sqlapply_limits(struct sqlapply *s, int64_t budget_ms,
	    int64_t heap_limit);
/* Open the database if it is not open. SQLAPPLY_OK or SQLAPPLY_TEMP with
 * the reason in err (the connection is closed again then). */
enum sqlapply_outcome sqlapply_open(struct sqlapply *s, char *err,
	    size_t errlen);
void	sqlapply_close(struct sqlapply *s);
/* BEGIN IMMEDIATE: OK or TEMP. */
enum sqlapply_outcome sqlapply_begin(struct sqlapply *s, char *err,
	    size_t errlen);
/* Apply e under id in a savepoint: OK, DUP, PERM (its own error: savepoint
 * rolled back, transaction still open unless s->txn_lost), SUSPECT (its
 * statement met a database-level error) or TEMP (one of hq's statements
 * failed). After SUSPECT and TEMP the caller calls sqlapply_rollback. */
enum sqlapply_outcome sqlapply_entry(struct sqlapply *s, const char *id,
	    const struct entry *e, char *err, size_t errlen);
enum sqlapply_outcome sqlapply_commit(struct sqlapply *s, char *err,
	    size_t errlen);
void	sqlapply_rollback(struct sqlapply *s);
/* Waiting is not failing: SQLITE_BUSY (another connection holds the lock)
 * or a full disk. Neither counts against an entry's retries. */
bool	sqlapply_waiting(const struct sqlapply *s);
bool	sqlapply_disk_full(const struct sqlapply *s);
/* 1 when id is in the ledger, 0 when not, -1 on error. */
int	sqlapply_applied(struct sqlapply *s, const char *id);
/* Delete ledger rows older than ledger_days; best effort. */
void	sqlapply_prune(struct sqlapply *s);

#endif

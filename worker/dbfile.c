/* SPDX-License-Identifier: MIT */
/* dbfile.c: the database file as hqd's main sees it, outside any worker:
 * checked before the first, its WAL folded after the last. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/hq.h"
#include "common/log.h"
#include "worker/dbfile.h"
#include "worker/dqlite.h"
#include "worker/dqsink.h"

int
dbfile_check(const char *db)
{
	char	 dir[PATH_MAX];
	sqlite3	*h = NULL;
	char	*nodes, *name, err[256];
	int	 rc;

	/* A cluster: the form is checked here, the cluster by the workers
	 * (down at start, the entries wait for it, see docs/dqlite.md). */
	if (dqsink_is_uri(db)) {
		if (dq_parse_uri(db, &nodes, &name, err, sizeof(err)) == -1) {
			log_warnx("--db %s: %s", db, err);
			return HQ_EX_CONFIG;
		}
		free(nodes);
		free(name);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", db);
	if (mkdir(dirname(dir), 0750) == -1 && errno != EEXIST)
		log_warn("mkdir %s", dir);
	rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("database %s: %s", db,
		    h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close(h);
		return HQ_EX_CANTCREAT;
	}
	if (sqlite3_db_readonly(h, "main") == 1)
		log_warnx("database %s is read-only: entries will be retried "
		    "and then fail", db);
	sqlite3_close(h);
	return 0;
}

/* Alone, after every worker: workers closing together may each leave the
 * WAL to the other. */
void
dbfile_fold_wal(const char *db)
{
	sqlite3	*h = NULL;

	/* It must read something, or close has no WAL to fold. */
	if (!dqsink_is_uri(db) && sqlite3_open_v2(db, &h,
	    SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(h, 1000);
		sqlite3_exec(h, "SELECT 1 FROM sqlite_master LIMIT 1", NULL,
		    NULL, NULL);
	}
	sqlite3_close(h);
}

const char *
dbfile_sqlite_version(void)
{
	return sqlite3_libversion();
}

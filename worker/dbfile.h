/* SPDX-License-Identifier: MIT */
/* dbfile.h: what hqd's main does with the database file before the first
 * worker and after the last one. Here, in the worker's library, so that
 * the supervisor's sources include no sqlite3.h: only the hqd executable
 * links both. */
#ifndef HQ_DBFILE_H
#define HQ_DBFILE_H

/* Open the database once (creating it and its directory) before any
 * worker does; a cluster URI is only parsed. 0, or the exit status hqd
 * leaves with (logged): a path that can never work is a configuration
 * error at start, not a failed/ full of entries. */
int		 dbfile_check(const char *db);
/* Every worker is reaped: one last connection folds the WAL back. */
void		 dbfile_fold_wal(const char *db);
/* The SQLite library's version, for hqd --version. */
const char	*dbfile_sqlite_version(void);

#endif

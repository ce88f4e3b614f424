/* SPDX-License-Identifier: MIT */
/* dbq: the e2e tests' window on the database, so no sqlite3 CLI is needed.
 *   dbq DB SQL            run SQL, print rows as v1|v2 (NULL as empty)
 *   dbq --hold SECS DB    take the write lock (BEGIN IMMEDIATE), print
 *                         "locked" when held, keep it SECS, roll back */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
dbq_row(void *arg, int n, char **vals, char **cols)
{
	int	i;

	(void)arg;
	(void)cols;
	for (i = 0; i < n; i++)
		printf("%s%s", i ? "|" : "", vals[i] ? vals[i] : "");
	putchar('\n');
	return 0;
}

int
main(int argc, char **argv)
{
	sqlite3	*db;
	char	*err = NULL;
	double	 hold = -1;

	if (argc == 4 && strcmp(argv[1], "--hold") == 0) {
		hold = atof(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc != 3 && !(argc == 2 && hold >= 0)) {
		fprintf(stderr, "usage: dbq DB SQL | dbq --hold SECS DB\n");
		return 64;
	}
	if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
		fprintf(stderr, "dbq: %s: %s\n", argv[1], sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_busy_timeout(db, 10000);
	if (hold >= 0) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &err)) {
			fprintf(stderr, "dbq: lock: %s\n", err);
			return 1;
		}
		printf("locked\n");
		fflush(stdout);
		usleep((useconds_t)(hold * 1e6));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
		return 0;
	}
	if (sqlite3_exec(db, argv[2], dbq_row, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "dbq: %s\n", err);
		sqlite3_free(err);
		sqlite3_close(db);
		return 1;
	}
	sqlite3_close(db);
	return 0;
}

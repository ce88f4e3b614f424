/* SPDX-License-Identifier: MIT */
/* dbq: the e2e tests' window on the database, so no sqlite3 CLI is needed.
 *   dbq DB SQL            run SQL, print rows as v1|v2 (NULL as empty)
 *   dbq --hold SECS DB    take the write lock (BEGIN IMMEDIATE), print
 *                         "locked" when held, keep it SECS, roll back */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* --hold: poll for the lock every 200 us for up to 30 s. SQLite's own busy
 * handler sleeps up to 100 ms between tries and would lose the lock to hqd's
 * workers, which poll much faster, for as long as they have work. */
static int
dbq_busy(void *arg, int count)
{
	struct timespec	 ts;
	double		*deadline = arg, now;

	(void)count;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (*deadline == 0)
		*deadline = now + 30;
	if (now > *deadline)
		return 0;
	usleep(200);
	return 1;
}

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
		double deadline = 0;

		sqlite3_busy_handler(db, dbq_busy, &deadline);
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

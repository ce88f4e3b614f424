/* SPDX-License-Identifier: MIT */
/* main.c: hqd's entry. `hqd -W spec` becomes a worker (worker_main never
 * returns); otherwise: configuration, the root lock, recovery of what a
 * previous hqd left in processing/, the watcher, the workers, the loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/hq.h"
#include "common/log.h"
#include "common/now.h"
#include "common/report.h"
#include "common/xmalloc.h"
#include "supervisor/sup.h"
#include "worker/worker.h"

static void
usage(FILE *f)
{
	size_t	i;
	char	left[64];

	fprintf(f, "usage: hqd [options]\n"
	    "Apply SQL entries queued as files under the queue root to a "
	    "SQLite database.\n\noptions (environment variable in "
	    "brackets):\n");
	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];

		snprintf(left, sizeof(left), "--%s%s%s", o->flag,
		    o->type == CONFIG_BOOL ? "[=" : " ",
		    o->arg ? o->arg : "");
		if (o->type == CONFIG_BOOL)
			strncat(left, "]", sizeof(left) - strlen(left) - 1);
		fprintf(f, "  %-32s %s", left, o->help);
		if (o->env[0] != NULL)
			fprintf(f, " [%s%s%s]", o->env[0],
			    o->env[1] ? ", " : "", o->env[1] ? o->env[1] : "");
		fputc('\n', f);
	}
	fprintf(f, "  %-32s %s\n", "-w N", "same as --workers N");
	fprintf(f, "  %-32s %s\n", "-v", "same as --log-level debug");
	fprintf(f, "  %-32s %s\n", "-n, --check",
	    "check the configuration and exit");
	fprintf(f, "  %-32s %s\n", "-h, --help", "show this help");
	fprintf(f, "  %-32s %s\n", "-V, --version", "show the version");
	fprintf(f, "\nSignals: TERM/INT drain and exit 0 (a second INT stops "
	    "at once), HUP rescans\nand reopens the log, USR1 reopens the "
	    "log. Exit codes: 0 ok, 64 usage,\n75 root held by another hqd, "
	    "78 configuration, 73 cannot create the tree.\n");
}

static void
main_args(struct sup *s, int argc, char **argv, bool *check)
{
	struct option	 longopts[64];
	const struct config_option **fopt;
	const char	**fval;
	bool		 skip[64] = { false };
	char		 err[512];
	size_t		 i, n = 0, nflags = 0;
	int		 ch, idx;

	for (i = 0; i < config_noptions && n < nitems(longopts) - 4; i++) {
		longopts[n].name = config_options[i].flag;
		longopts[n].has_arg = config_options[i].type == CONFIG_BOOL ?
		    optional_argument : required_argument;
		longopts[n].flag = NULL;
		longopts[n].val = 1000 + (int)i;
		n++;
	}
	longopts[n++] = (struct option){ "check", no_argument, NULL, 'n' };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };

	/* Flags are collected first and applied after the environment, so
	 * that a flag beats its variable (which is then not even read). */
	fopt = xcalloc((size_t)argc + 1, sizeof(*fopt));
	fval = xcalloc((size_t)argc + 1, sizeof(*fval));
	while ((ch = getopt_long(argc, argv, "w:vnhV", longopts, &idx)) !=
	    -1) {
		const struct config_option *o = NULL;
		const char *val = optarg;

		switch (ch) {
		case 'w':
			o = config_find("workers");
			break;
		case 'v':
			o = config_find("log-level");
			val = "debug";
			break;
		case 'n':
			*check = true;
			continue;
		case 'h':
			usage(stdout);
			exit(HQ_EX_OK);
		case 'V':
			printf("hqd %s (sqlite %s)\n", HQ_VERSION,
			    sqlite3_libversion());
			exit(HQ_EX_OK);
		default:
			if (ch < 1000 || ch >= 1000 + (int)config_noptions) {
				usage(stderr);
				exit(HQ_EX_USAGE);
			}
			o = &config_options[ch - 1000];
			if (o->type == CONFIG_BOOL && val == NULL)
				val = "true";
		}
		fopt[nflags] = o;
		fval[nflags++] = val;
		skip[o - config_options] = true;
	}
	if (config_from_env(&s->cfg, skip, err, sizeof(err)) == -1) {
		fprintf(stderr, "hqd: %s\n", err);
		exit(HQ_EX_CONFIG);
	}
	for (i = 0; i < nflags; i++) {
		char origin[64];

		snprintf(origin, sizeof(origin), "--%s", fopt[i]->flag);
		if (config_set(&s->cfg, fopt[i], fval[i], origin, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "hqd: %s\n", err);
			exit(HQ_EX_CONFIG);
		}
	}
	free(fopt);
	free(fval);
	if (optind < argc) {
		fprintf(stderr, "hqd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		exit(HQ_EX_USAGE);
	}
	if (config_check(&s->cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "hqd: %s\n", err);
		exit(HQ_EX_CONFIG);
	}
}

/* File systems where SQLite's locks and the queue's renames cannot be
 * trusted: NFS, SMB/CIFS, Ceph, AFS, Coda, NCP, 9p. FUSE is only warned
 * about: the root file system of a rootless container is often
 * fuse-overlayfs, while sshfs or glusterfs are FUSE too. Magic numbers
 * from <linux/magic.h> and statfs(2), spelled out here because not every
 * one is in the header. */
static const struct {
	unsigned long	 magic;
	const char	*name;
	const char	*test;		/* HQ_TEST_FSTYPE value */
} main_netfs[] = {
	{ 0x6969, "NFS", "nfs" },
	{ 0x517b, "SMB", "smb" },
	{ 0xfe534d42, "SMB2", "smb2" },
	{ 0xff534d42, "CIFS", "cifs" },
	{ 0x00c36400, "Ceph", "ceph" },
	{ 0x5346414f, "AFS", "afs" },
	{ 0x6b414653, "AFS", "kafs" },
	{ 0x73757245, "Coda", "coda" },
	{ 0x564c, "NCP", "ncp" },
	{ 0x01021997, "9p", "9p" },
	{ 0x65735546, "FUSE", "fuse" },		/* warned only */
};

/* The file system type of path, or of its nearest existing parent (the
 * database's directory may not exist yet). -1 when nothing answers. */
static int
main_fstype(const char *path, unsigned long *magic)
{
	char		 buf[PATH_MAX];
	struct statfs	 sf;
	size_t		 i;

#ifdef HQ_TESTING
	const char	*t = getenv("HQ_TEST_FSTYPE");

	/* Tests cannot mount NFS: this forces what statfs would say. */
	if (t != NULL && *t != '\0') {
		for (i = 0; i < nitems(main_netfs); i++)
			if (strcmp(t, main_netfs[i].test) == 0) {
				*magic = main_netfs[i].magic;
				return 0;
			}
		*magic = 0xef53;	/* anything local: ext4 */
		return 0;
	}
#endif
	snprintf(buf, sizeof(buf), "%s", path);
	for (i = 0; i < 64; i++) {
		if (statfs(buf, &sf) == 0) {
			*magic = (unsigned long)sf.f_type;
			return 0;
		}
		if (errno != ENOENT || strcmp(buf, "/") == 0 ||
		    strcmp(buf, ".") == 0)
			return -1;
		snprintf(buf, sizeof(buf), "%s", dirname(buf));
	}
	return -1;
}

/* Refuse a queue root or database on a network file system (exit 78)
 * unless --allow-network-fs: rename(2) and SQLite's locks are what
 * exactly-once rests on, and neither holds there. */
static void
main_check_fs(struct sup *s)
{
	const char	*what[] = { "queue root", "database" };
	const char	*path[] = { s->q.root, s->cfg.db };
	unsigned long	 magic;
	size_t		 i, j;

	for (i = 0; i < nitems(path); i++) {
		if (main_fstype(path[i], &magic) == -1) {
			log_warn("statfs %s", path[i]);
			continue;
		}
		for (j = 0; j < nitems(main_netfs); j++)
			if ((unsigned long)(uint32_t)magic ==
			    main_netfs[j].magic)
				break;
		if (j == nitems(main_netfs))
			continue;
		if (main_netfs[j].magic == 0x65735546) {
			log_warnx("%s %s is on FUSE: if that is a network "
			    "file system (sshfs, glusterfs, s3fs...), stop: "
			    "locks and renames are not reliable there",
			    what[i], path[i]);
			continue;
		}
		if (s->cfg.allow_network_fs) {
			log_warnx("%s %s is on %s: allowed by "
			    "--allow-network-fs (HQ_ALLOW_NETWORK_FS), at the "
			    "risk of lost or doubled entries", what[i], path[i],
			    main_netfs[j].name);
			continue;
		}
		log_warnx("%s %s is on %s, a network file system: refusing "
		    "(SQLite locking and rename atomicity are not reliable "
		    "there; use a local file system, or --allow-network-fs / "
		    "HQ_ALLOW_NETWORK_FS=true at your own risk)", what[i],
		    path[i], main_netfs[j].name);
		exit(HQ_EX_CONFIG);
	}
}

/* One hqd per root: an flock on the root's lock file, which the kernel
 * drops with the process, so no stale lock survives a crash. */
void
main_lock(struct sup *s)
{
	char	buf[32];
	ssize_t	n;
	int	fd;

	fd = openat(s->q.rootfd, HQ_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (fd == -1)
		fatal("%s/%s", s->q.root, HQ_LOCK_FILE);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			fatal("lock %s/%s", s->q.root, HQ_LOCK_FILE);
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_warnx("root %s is held by hqd pid %s", s->q.root,
		    buf[0] ? buf : "(unknown)");
		if (s->lockfd != -1) {
			/* We ran, lost our lock file, and another hqd took
			 * the new one: two must not apply; we leave (and
			 * leave stats.json to it). */
			close(fd);
			s->lock_lost = true;
			signals_drain(s, "lock taken by another hqd");
			return;
		}
		exit(HQ_EX_TEMPFAIL);
	}
	if (s->lockfd != -1)
		close(s->lockfd);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("write pid to %s", HQ_LOCK_FILE);
	s->lockfd = fd;
}

/* Keep other users out: a world-writable root without the sticky bit
 * lets anyone swap our directories; with --group the tree is shared with
 * that group only (setgid, so every entry carries the group). */
static void
main_trust(struct sup *s)
{
	int		 fds[] = { s->q.rootfd, s->q.tmpfd, s->q.pendingfd,
	    s->q.processingfd, s->q.completedfd, s->q.failedfd };
	struct group	*gr;
	struct stat	 st;
	size_t		 i;

	if (fstat(s->q.rootfd, &st) == -1)
		fatal("%s", s->q.root);
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		log_warnx("root %s is world-writable without the sticky bit: "
		    "refusing (chmod o-w, or use --group)", s->q.root);
		exit(HQ_EX_CONFIG);
	}
	if (fstatat(s->q.rootfd, HQ_DIR_PENDING, &st, 0) == 0 &&
	    (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		log_warnx("%s/%s is world-writable without the sticky bit: "
		    "refusing", s->q.root, HQ_DIR_PENDING);
		exit(HQ_EX_CONFIG);
	}
	if (s->cfg.group == NULL)
		return;
	if ((gr = getgrnam(s->cfg.group)) == NULL) {
		log_warnx("--group: no group '%s'", s->cfg.group);
		exit(HQ_EX_CONFIG);
	}
	for (i = 0; i < nitems(fds); i++)
		if (fchown(fds[i], (uid_t)-1, gr->gr_gid) == -1 ||
		    fchmod(fds[i], 02770) == -1) {
			log_warn("--group %s: %s", s->cfg.group, s->q.root);
			exit(HQ_EX_CONFIG);
		}
}

/* Open the database once before any worker does: a path that can never
 * work is a configuration error at start, not a failed/ full of entries. */
static void
main_check_db(struct sup *s)
{
	char	 dir[PATH_MAX];
	sqlite3	*db = NULL;
	int	 rc;

	snprintf(dir, sizeof(dir), "%s", s->cfg.db);
	if (mkdir(dirname(dir), 0750) == -1 && errno != EEXIST)
		log_warn("mkdir %s", dir);
	rc = sqlite3_open_v2(s->cfg.db, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("database %s: %s", s->cfg.db,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		exit(HQ_EX_CANTCREAT);
	}
	if (sqlite3_db_readonly(db, "main") == 1)
		log_warnx("database %s is read-only: entries will be retried "
		    "and then fail", s->cfg.db);
	sqlite3_close(db);
}

/* Everything main() set up, in reverse (each part copes with "not set
 * up"): the normal exit and the failures after the loop exists. */
static void
main_free(struct sup *s)
{
	stats_stop(s);
	notify_close(s);
	watch_stop(s);
	workers_free(s);
	pindex_free(&s->idx);
	pset_free(&s->badnames);
	queue_close(&s->q);
	if (s->lockfd != -1)
		close(s->lockfd);
	config_free(&s->cfg);
	ev_loop_destroy(s->loop);
}

int
main(int argc, char **argv)
{
	struct sup	 s;
	char		 err[512];
	bool		 check = false;
	long		 n;

	if (argc == 3 && strcmp(argv[1], "-W") == 0)
		worker_main(argv[2]);

	memset(&s, 0, sizeof(s));
	s.lockfd = s.ifd = s.notify_fd = -1;
	log_init("hqd", LOG_LEVEL_INFO);
	config_defaults(&s.cfg);
	main_args(&s, argc, argv, &check);
	log_set_level((enum log_level)s.cfg.log_level);
	if (check) {
		printf("hqd: configuration ok (root %s, db %s, %d workers)\n",
		    s.cfg.root, s.cfg.db, s.cfg.workers);
		config_free(&s.cfg);
		return HQ_EX_OK;
	}
	if (s.cfg.log_file != NULL && log_reopen(s.cfg.log_file) == -1) {
		log_warn("log file %s", s.cfg.log_file);
		return HQ_EX_CANTCREAT;
	}
	signal(SIGPIPE, SIG_IGN);
	if (queue_open(&s.q, s.cfg.root, true, 0750, err, sizeof(err)) == -1) {
		log_warnx("queue root: %s", err);
		return HQ_EX_CANTCREAT;
	}
	main_check_fs(&s);
	main_lock(&s);
	main_trust(&s);
	main_check_db(&s);
	s.loop = ev_default_loop(EVFLAG_AUTO);
	notify_init(&s);
	if (stats_start(&s, err, sizeof(err)) == -1) {
		log_warnx("stats: %s", err);
		main_free(&s);
		return HQ_EX_CONFIG;
	}
	if (http_start(&s, err, sizeof(err)) == -1) {
		log_warnx("http: %s", err);
		main_free(&s);
		return HQ_EX_OSERR;
	}
	s.started_ms = s.last_event_ms = s.last_work_ms = now_mono_ms();

	/* A previous hqd's claims go back first: nothing runs yet. */
	if ((n = queue_requeue_all(&s.q)) == -1)
		fatal("recover %s/%s", s.q.root, HQ_DIR_PROCESSING);
	if (n > 0)
		log_info("recovered %ld entries left in processing/", n);
	SUP_ADD(&s, recovered, (uint64_t)n);

	signals_start(&s);
	workers_init(&s);
	/* Watch before scanning, or a file landing in between waits for the
	 * next rescan. */
	watch_start(&s);
	watch_rescan(&s, "start");
	log_info("started: root %s, db %s, %d workers, %s, sync %s",
	    s.q.root, s.cfg.db, s.cfg.workers,
	    s.polling ? "polling" : "inotify",
	    s.cfg.sync_full ? "full" : "normal");
	/* A first heartbeat now: monitors need not wait an interval. */
	stats_tick(&s);
	ev_run(s.loop, 0);
	http_stop(&s);

	/* Every worker is reaped: one last connection, alone, folds the WAL
	 * back into the database and removes it (workers closing together
	 * may each leave it to the other). */
	{
		sqlite3 *db = NULL;

		/* It must read something, or close has no WAL to fold. */
		if (sqlite3_open_v2(s.cfg.db, &db, SQLITE_OPEN_READWRITE,
		    NULL) == SQLITE_OK) {
			sqlite3_busy_timeout(db, 1000);
			sqlite3_exec(db, "SELECT 1 FROM sqlite_master LIMIT 1",
			    NULL, NULL, NULL);
		}
		sqlite3_close(db);
	}
	/* Nothing may be left claimed. */
	if ((n = queue_requeue_all(&s.q)) > 0)
		log_warnx("returned %ld entries from processing/ to pending/",
		    n);
	{
		struct report_totals t;

		report_totals(s.seg, &t);
		log_info("exit: %llu applied, %llu failed, %llu retried",
		    (unsigned long long)t.applied,
		    (unsigned long long)t.failed,
		    (unsigned long long)t.retried);
	}
	main_free(&s);
	return s.exit_code;
}

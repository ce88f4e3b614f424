/* SPDX-License-Identifier: MIT */
/* main.c: hqd's entry. `hqd -W spec` becomes a worker (worker_main never
 * returns); otherwise: configuration, the root lock, recovery of what a
 * previous hqd left in processing/, the watcher, the workers, the loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/hq.h"
#include "common/log.h"
#include "common/now.h"
#include "common/report.h"
#include "common/xmalloc.h"
#include "supervisor/sup.h"
#include "worker/dbfile.h"
#include "worker/worker.h"

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
		/* A cluster's database is no file here: its nodes keep it. */
		if (i == 1 && dqsink_is_uri(path[i]))
			continue;
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

/* File descriptors, counted from the code. hqd itself holds: */
#define FDS_QUEUE	6	/* the root and its five folders (queue.c) */
#define FDS_LOCK	2	/* the root directory (its lock), the pid file */
#define FDS_DISPLAY	2	/* .heartbeat and its spare (stats.c) */
#define FDS_LIBEV	3	/* epoll, the signal pipe (eventfd, or a pipe) */
#define FDS_WATCH	2	/* inotify, $NOTIFY_SOCKET */
/* and one socketpair end per worker, http_fds(), and briefly, at most at
 * once: a recovery walk of processing/ (a folder reopened, a walk's dup,
 * a worker folder and its walk), or the final WAL fold (the database,
 * -wal, -shm) plus a log reopen, or a spawn's second end. */
#define FDS_TRANSIENT	4
/* A worker, its own process under the same limit: stdin, stdout, stderr,
 * fd 3, the tree (6) and its processing/ folder, the log file, SQLite's
 * database, -wal and -shm plus up to 4 temporary files (statement
 * journals, sorters), an entry file, a dead letter's note, a folder
 * reopened. */
#define FDS_WORKER	(4 + 7 + 1 + 3 + 4 + 3)

/* Descriptors open now with a number below lim: inherited ones too, as
 * each takes a number the limit counts. */
static int
main_fds_open(rlim_t lim)
{
	struct dirent	*de;
	DIR		*d;
	long		 fd;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL) {
		for (fd = 0; (rlim_t)fd < lim && fd < 65536; fd++)
			n += fcntl((int)fd, F_GETFD) != -1;
		return n;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    (fd = strtol(de->d_name, NULL, 10)) != dirfd(d) &&
		    (rlim_t)fd < lim)
			n++;
	closedir(d);
	return n;
}

/* What the configuration needs under limit lim: hqd's share (*hqd, with
 * *open of it open already) or a worker's, whichever is more. */
static int
main_fds_need(const struct sup *s, rlim_t lim, int *hqd, int *open)
{
	*open = main_fds_open(lim);
	*hqd = *open + FDS_QUEUE + FDS_LOCK + FDS_DISPLAY + FDS_LIBEV +
	    FDS_WATCH + s->cfg.workers + http_fds(&s->cfg) + FDS_TRANSIENT;
	return *hqd > FDS_WORKER ? *hqd : FDS_WORKER;
}

/* Before anything is opened: a descriptor short is libev's abort, or a
 * socketpair retried forever, or a client refused, at some later moment.
 * A short soft limit is raised to the hard one (workers inherit it);
 * past the hard one, hqd cannot run as configured: 71. */
static void
main_fds(struct sup *s)
{
	struct rlimit	rl;
	rlim_t		soft;
	int		need, hqd, open;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	soft = rl.rlim_cur;
	if ((rlim_t)(need = main_fds_need(s, soft, &hqd, &open)) <= soft)
		return;
	if (rl.rlim_max > soft) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("raise the open files limit to %llu",
			    (unsigned long long)rl.rlim_max);
		else if ((rlim_t)(need = main_fds_need(s, rl.rlim_max, &hqd,
		    &open)) <= rl.rlim_max) {
			log_info("raised the open files limit from %llu to "
			    "%llu (%d needed)", (unsigned long long)soft,
			    (unsigned long long)rl.rlim_max, need);
			return;
		}
	}
	log_warnx("open files: %d worker%s%s need %d file descriptors (hqd "
	    "%d, %d of them open already; a worker %d), the limit is %llu "
	    "(hard %llu): raise it (ulimit -n, LimitNOFILE=)",
	    s->cfg.workers, s->cfg.workers == 1 ? "" : "s",
	    s->cfg.http != NULL ? " and --http" : "", need, hqd, open,
	    FDS_WORKER, (unsigned long long)soft,
	    (unsigned long long)rl.rlim_max);
	exit(HQ_EX_OSERR);
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
	dispatch_free(s);
	pindex_free(&s->idx);
	queue_close(&s->q);
	root_close(s);
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
	int		 rc;

	if (argc == 3 && strcmp(argv[1], "-W") == 0)
		worker_main(argv[2]);

	memset(&s, 0, sizeof(s));
	s.root.lockfd = s.root.pidfd = s.watch.ifd = s.notify.fd = -1;
	log_init("hqd", LOG_LEVEL_INFO);
	config_defaults(&s.cfg);
	/* Every way out before the start frees what the options set (a
	 * valgrind run counts a leak even on a refusal). */
	rc = -1;
	switch (config_args(&s.cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_ARGS_RUN:
		break;
	case CONFIG_ARGS_CHECK:
		check = true;
		break;
	case CONFIG_ARGS_HELP:
		config_usage(stdout);
		rc = HQ_EX_OK;
		break;
	case CONFIG_ARGS_VERSION:
		printf("hqd %s (sqlite %s)\n", HQ_VERSION,
		    dbfile_sqlite_version());
		rc = HQ_EX_OK;
		break;
	case CONFIG_ARGS_USAGE:
		if (err[0] != '\0')
			fprintf(stderr, "hqd: %s\n", err);
		config_usage(stderr);
		rc = HQ_EX_USAGE;
		break;
	case CONFIG_ARGS_INVALID:
		fprintf(stderr, "hqd: %s\n", err);
		rc = HQ_EX_CONFIG;
		break;
	}
	if (rc == -1 && check) {
		printf("hqd: configuration ok (root %s, db %s, %d workers)\n",
		    s.cfg.root, s.cfg.db, s.cfg.workers);
		rc = HQ_EX_OK;
	}
	if (rc != -1) {
		config_free(&s.cfg);
		return rc;
	}
	log_set_level((enum log_level)s.cfg.log_level);
	if (s.cfg.log_file != NULL && log_reopen(s.cfg.log_file) == -1) {
		log_warn("log file %s", s.cfg.log_file);
		config_free(&s.cfg);
		return HQ_EX_CANTCREAT;
	}
	main_fds(&s);
	signal(SIGPIPE, SIG_IGN);
	if (queue_open(&s.q, s.cfg.root, true, 0750, err, sizeof(err)) == -1) {
		log_warnx("queue root: %s", err);
		config_free(&s.cfg);
		return HQ_EX_CANTCREAT;
	}
	main_check_fs(&s);
	root_lock(&s);
	root_trust(&s);
	/* As root_lock() and root_trust() refusing: before the loop, so
	 * nothing to free but what the exit frees. */
	if ((rc = dbfile_check(s.cfg.db)) != 0) {
		queue_close(&s.q);
		config_free(&s.cfg);
		return rc;
	}
	s.loop = ev_default_loop(EVFLAG_AUTO);
	notify_init(&s);
	if (stats_start(&s, err, sizeof(err)) == -1) {
		int e = errno;

		log_warnx("stats: %s", err);
		main_free(&s);
		/* EBUSY: a live hqd of another root owns the name. */
		return e == EBUSY ? HQ_EX_CONFIG : e == ENOSPC || e == EDQUOT ||
		    e == EFBIG || e == EACCES || e == EPERM || e == EROFS ?
		    HQ_EX_CANTCREAT : HQ_EX_OSERR;
	}
	if (http_start(&s, err, sizeof(err)) == -1) {
		log_warnx("http: %s", err);
		main_free(&s);
		return HQ_EX_OSERR;
	}
	s.started_ms = s.dispatch.last_event_ms = s.dispatch.last_work_ms =
	    now_mono_ms();

	/* A previous hqd's claims go back first: nothing runs yet. */
	if ((n = queue_requeue_all(&s.q)) == -1)
		fatal("recover %s/%s", s.q.root, HQ_DIR_PROCESSING);
	if (n > 0)
		log_info("recovered %ld entries left in processing/", n);
	SUP_ADD(&s, recovered, (uint64_t)n);

	/* Before anything that may ask for the drain (a rescan, the tick),
	 * and before a worker runs. */
	shutdown_init(&s);
	signals_start(&s);
	workers_init(&s);
	spawn_start(&s);
	/* Watch before scanning, or a file landing in between waits for the
	 * next rescan. */
	watch_start(&s);
	watch_rescan(&s, "start");
	log_info("started: root %s, db %s, %d workers, %s, sync %s",
	    s.q.root, s.cfg.db, s.cfg.workers,
	    s.watch.polling ? "polling" : "inotify",
	    s.cfg.sync_full ? "full" : "normal");
	/* A first heartbeat now: monitors need not wait an interval. */
	stats_tick(&s);
	ev_run(s.loop, 0);
	/* shutdown.c ended the loop: every worker is reaped. HUP and USR1
	 * are not taken any more (TERM and INT still are, and ignored). */
	signals_stop(&s);
	http_stop(&s);

	/* Every worker is reaped: one last connection, alone, folds the WAL
	 * back into the database and removes it. */
	dbfile_fold_wal(s.cfg.db);
	/* Nothing may be left claimed. */
	if ((n = queue_requeue_all(&s.q)) > 0)
		log_warnx("returned %ld entries from processing/ to pending/",
		    n);
	{
		struct report_totals t;

		report_totals(s.stats.seg, &t);
		log_info("exit: %llu applied, %llu failed, %llu retried",
		    (unsigned long long)t.applied,
		    (unsigned long long)t.failed,
		    (unsigned long long)t.retried);
	}
	main_free(&s);
	return s.shutdown.exit_code;
}

/* SPDX-License-Identifier: MIT */
/* main.c: hqd's entry. `hqd -W spec` becomes a worker (worker_main never
 * returns); otherwise: configuration, the root lock, recovery of what a
 * previous hqd left in processing/, the watcher, the workers, the loop. */
#include <dirent.h>
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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
	    "log. Exit codes: 0 ok, 64 usage,\n71 OS limits (open files, "
	    "shared memory), 73 cannot create (tree, database,\n/dev/shm "
	    "segment), 75 root held by another hqd, 78 configuration.\n");
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

/* The pid holding an flock on fd's file, as the kernel lists it in
 * /proc/locks: right even when the pid file is gone. 0 when it does not
 * say (no /proc, a holder in another pid namespace, a file system whose
 * st_dev is not its superblock's, as btrfs subvolumes). */
static long
main_lock_holder(int fd)
{
	struct stat	 st;
	unsigned long	 ino;
	unsigned	 maj, min;
	char		 line[256], kind[16];
	long		 pid, holder = 0;
	FILE		*f;

	if (fstat(fd, &st) == -1 || (f = fopen("/proc/locks", "re")) == NULL)
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; a waiter's
	 * line has "->" where the kind is. */
	while (holder == 0 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", kind, &pid,
		    &maj, &min, &ino) == 5 && strcmp(kind, "FLOCK") == 0 &&
		    maj == major(st.st_dev) && min == minor(st.st_dev) &&
		    ino == (unsigned long)st.st_ino)
			holder = pid;
	fclose(f);
	return holder;
}

/* What the pid file says, for a refusal message; "(unknown)" when it
 * says nothing. */
static void
main_pidfile_read(int fd, char *buf, size_t len)
{
	ssize_t	n;

	n = fd == -1 ? -1 : pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (buf[0] == '\0')
		snprintf(buf, len, "(unknown)");
}

/* One hqd per root: an flock on the root directory itself, through an fd
 * of our own. The kernel drops it with the process (no stale lock after a
 * crash), and no path operation can take it away: a lock on a file in the
 * root (the old .hqd.lock) went with an rm of that file, and a second hqd
 * took a new one. If the root itself is removed or replaced, the lock
 * guards a directory nobody reaches any more: watch_rescan() notices
 * (main_root_gone) and this hqd drains. */
void
main_lock(struct sup *s)
{
	struct stat	st;
	char		pid[32];
	long		holder;
	int		fd;

	if ((fd = openat(s->q.rootfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal("%s", s->q.root);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			fatal("lock %s", s->q.root);
		if ((holder = main_lock_holder(fd)) > 0)
			snprintf(pid, sizeof(pid), "%ld", holder);
		else {
			int pfd = openat(s->q.rootfd, HQ_LOCK_FILE, O_RDONLY |
			    O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

			main_pidfile_read(pfd, pid, sizeof(pid));
			if (pfd != -1)
				close(pfd);
		}
		log_warnx("root %s is held by hqd pid %s", s->q.root, pid);
		exit(HQ_EX_TEMPFAIL);
	}
	s->lockfd = fd;
	if (fstat(fd, &st) == -1)
		fatal("%s", s->q.root);
	s->lock_dev = st.st_dev;
	s->lock_ino = st.st_ino;
	main_pidfile(s);
}

/* ROOT/.hqd.lock holds our pid, for people and scripts (queue-lib.sh,
 * logrotate) and for the refusal message where /proc/locks cannot tell.
 * It is flocked too: hqd before the root directory lock locked this file,
 * so an older hqd is kept out as well. Anyone may remove it; each rescan
 * writes it again. */
void
main_pidfile(struct sup *s)
{
	struct stat	 lst, fst;
	char		 buf[32];
	ssize_t		 n;
	int		 fd;

	/* The file we hold cannot be freed, so its inode number names it
	 * as long as it has a name: one fstatat a rescan. */
	if (s->pidfd != -1 && fstatat(s->q.rootfd, HQ_LOCK_FILE, &fst,
	    AT_SYMLINK_NOFOLLOW) == 0 && s->pid_ino == fst.st_ino &&
	    s->pid_dev == fst.st_dev)
		return;
	if (s->pidfd != -1)
		log_warnx("%s/%s was removed: writing it again", s->q.root,
		    HQ_LOCK_FILE);
	if ((fd = openat(s->q.rootfd, HQ_LOCK_FILE, O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640)) == -1) {
		log_warn("%s/%s", s->q.root, HQ_LOCK_FILE);
		return;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		main_pidfile_read(fd, buf, sizeof(buf));
		close(fd);
		log_warnx("root %s is held by an older hqd, pid %s (it locks "
		    "%s only)", s->q.root, buf, HQ_LOCK_FILE);
		if (s->pidfd == -1)
			exit(HQ_EX_TEMPFAIL);
		/* We ran, lost our pid file, and an older hqd took the new
		 * one: two must not apply; we leave (and leave stats.json
		 * to it). */
		s->exit_code = HQ_EX_TEMPFAIL;
		s->lock_lost = true;
		signals_drain(s, "root taken by an older hqd");
		return;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("write pid to %s/%s", s->q.root, HQ_LOCK_FILE);
	if (s->pidfd != -1)
		close(s->pidfd);
	s->pidfd = fd;
	if (fstat(fd, &lst) == 0) {
		s->pid_dev = lst.st_dev;
		s->pid_ino = lst.st_ino;
	}
}

/* The root we lock and serve is no longer what its path names: removed,
 * or replaced (rm -rf then mkdir, a rename). Producers now write where we
 * do not look, and our lock guards nothing there. */
bool
main_root_gone(struct sup *s)
{
	struct stat	cur;

	if (s->lockfd == -1)
		return false;
	if (stat(s->q.root, &cur) == -1)
		return errno == ENOENT || errno == ENOTDIR;
	return cur.st_dev != s->lock_dev || cur.st_ino != s->lock_ino;
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
	char	*nodes, *name, err[256];
	int	 rc;

	/* A cluster: the form is checked here, the cluster by the workers
	 * (down at start, the entries wait for it, see docs/dqlite.md). */
	if (dqsink_is_uri(s->cfg.db)) {
		if (dq_parse_uri(s->cfg.db, &nodes, &name, err,
		    sizeof(err)) == -1) {
			log_warnx("--db %s: %s", s->cfg.db, err);
			exit(HQ_EX_CONFIG);
		}
		free(nodes);
		free(name);
		return;
	}
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
	if (s->pidfd != -1)
		close(s->pidfd);
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
	s.lockfd = s.pidfd = s.ifd = s.notify_fd = -1;
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
	main_fds(&s);
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
		if (!dqsink_is_uri(s.cfg.db) && sqlite3_open_v2(s.cfg.db, &db, SQLITE_OPEN_READWRITE,
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

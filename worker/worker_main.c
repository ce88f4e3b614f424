/* SPDX-License-Identifier: MIT */
/* worker_main.c: a worker's life: check fd 3, say HELLO, take CONFIG, loop
 * on WORK until STOP, TERM or EOF. Runs in workers only. The supervisor
 * requeues whatever a dead worker leaves in processing/w<slot>/. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fault.h"
#include "common/hq.h"
#include "common/log.h"
#include "common/now.h"
#include "common/xmalloc.h"
#include "worker/worker.h"

volatile sig_atomic_t worker_term;

static void
worker_term_handler(int sig)
{
	(void)sig;
	worker_term = 1;
}

static void
worker_signals(void)
{
	struct sigaction	sa;
	sigset_t		all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	/* INT from a terminal reaches the whole process group; the
	 * supervisor decides what it means and tells us. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* No SA_RESTART: TERM must interrupt a blocking read. */
	sa.sa_handler = worker_term_handler;
	sigaction(SIGTERM, &sa, NULL);
}

static void
worker_send(struct worker *w, struct hq_msg *m)
{
	m->slot = (uint32_t)w->slot;
	m->gen = w->gen;
	if (proto_write(w->fd, m, &w->wbuf) == -1) {
		/* The supervisor is gone; PDEATHSIG will follow if not.
		 * Removals queued are of committed files: finish them. */
		log_warn("send %s", proto_type_name(m->type));
		if (w->sl != NULL)
			remover_fini(&w->rm);
		exit(HQ_EX_OK);
	}
}

static void
worker_configure(struct worker *w)
{
	struct hq_msg	m;
	struct stat	st;
	char		err[512];
	int		r;

	if ((r = proto_read(w->fd, &w->rbuf, &m)) != 1)
		fatalx("no CONFIG from supervisor (%s)",
		    r == 0 ? "end of file" : strerror(errno));
	if (m.type != HQ_MSG_CONFIG)
		fatalx("expected CONFIG, got %s", proto_type_name(m.type));
	w->cfg = m.cfg;
	memset(&m.cfg, 0, sizeof(m.cfg));	/* w->cfg owns it now */
	proto_msg_free(&m);
	log_set_level((enum log_level)w->cfg.log_level);
	if (w->cfg.shm_name == NULL)
		fatalx("no stats segment in CONFIG");
	if ((w->seg = seg_attach_rw(w->cfg.shm_name, w->ppid)) == NULL) {
		if (errno == ESRCH)
			fatalx("stats segment %s is not supervisor %ld's",
			    w->cfg.shm_name, (long)w->ppid);
		fatal("attach stats segment %s", w->cfg.shm_name);
	}
	w->sl = &w->seg->slot[w->slot];
	if (queue_open(&w->q, w->cfg.root, false, 0, err, sizeof(err)) == -1)
		fatalx("queue: %s", err);
	if ((w->wdirfd = queue_worker_dir(&w->q, w->slot, true)) == -1)
		fatal("processing/w%d", w->slot);
	remover_init(&w->rm, w->sl);
	job_remover_dirs(w);
	w->euid = geteuid();
	w->trust_gid = (gid_t)-1;
	if (fstat(w->q.rootfd, &st) == 0 && (st.st_mode & S_ISGID))
		w->trust_gid = st.st_gid;
	sqlapply_init(&w->sa, w->cfg.db, w->cfg.sync_full,
	    w->cfg.busy_timeout_ms, w->cfg.ledger_days);
	sqlapply_limits(&w->sa, w->cfg.statement_timeout_ms,
	    (int64_t)w->cfg.memory_limit_mib << 20);
	w->sa.on_wait = job_on_wait;
	w->sa.on_wait_arg = w;
	w->sa.turn = &w->seg->h.writer_turn;
	w->sa.turn_waiters = &w->seg->h.writer_waiters;
	if (dqsink_is_uri(w->cfg.db)) {
		if (dqsink_init(&w->sink, &w->dq, w->cfg.db,
		    w->cfg.ledger_days, w->cfg.statement_timeout_ms, err,
		    sizeof(err)) == -1)
			fatalx("--db: %s", err);
		/* Default ids are file names, unique in this queue only: the
		 * cluster's ledger is every queue's. */
		if ((w->sink.id_prefix = dqsink_queue_id(w->q.rootfd)) == NULL)
			fatal("%s/.queue-id", w->cfg.root);
	} else
		sink_local(&w->sink, &w->sa);
}

static void
worker_cleanup(struct worker *w)
{
	size_t	i;

	/* Before the fds it removes through are closed. */
	remover_fini(&w->rm);
	for (i = 0; i < w->jobcap; i++)
		entry_free(&w->jobs[i].e);
	free(w->jobs);
	free(w->readbuf);
	w->sink.ops->close(&w->sink);
	free(w->sink.id_prefix);
	if (w->sink.impl == &w->dq)
		dqsink_free(&w->dq);
	sqlapply_close(&w->sa);
	free(w->sa.path);
	if (w->wdirfd != -1)
		close(w->wdirfd);
	queue_close(&w->q);
	if (w->seg != NULL)
		munmap(w->seg, sizeof(*w->seg));
	config_free(&w->cfg);
	pbuf_free(&w->rbuf);
	pbuf_free(&w->wbuf);
}

static int
worker_parse_spec(struct worker *w, const char *spec)
{
	unsigned int	slot, gen;
	long		ppid;
	char		tail;

	if (sscanf(spec, "%u:%u:%ld%c", &slot, &gen, &ppid, &tail) != 3 ||
	    slot >= HQ_MAX_WORKERS || ppid <= 0)
		return -1;
	w->slot = (int)slot;
	w->gen = gen;
	w->ppid = (pid_t)ppid;
	return 0;
}

void
worker_main(const char *spec)
{
	struct worker	w;
	struct hq_msg	m, done;
	char		prefix[32];
	struct stat	st;
	int		r;

	memset(&w, 0, sizeof(w));
	w.fd = WORKER_FD;
	w.wdirfd = -1;
	if (worker_parse_spec(&w, spec) == -1)
		fatalx("bad worker spec '%s'", spec);
	snprintf(prefix, sizeof(prefix), "hqd worker %d", w.slot);
	log_init(prefix, LOG_LEVEL_INFO);
	/* exec of /proc/self/exe names us "exe" in ps and top. */
	prctl(PR_SET_NAME, "hqd-worker", 0, 0, 0);
	if (fstat(WORKER_FD, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("fd %d is not a socket: run hqd, not a worker",
		    WORKER_FD);
	worker_signals();
	/* A worker must not outlive its supervisor: the kernel kills it the
	 * moment the supervisor dies, and a death before this call is seen
	 * by the parent check. Its claims are recovered by the next hqd. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != w.ppid)
		fatalx("supervisor %ld is gone", (long)w.ppid);
	w.rng = now_wall_ns() ^ ((uint64_t)getpid() << 32);

	memset(&m, 0, sizeof(m));
	m.type = HQ_MSG_HELLO;
	m.version = HQ_PROTO_VERSION;
	m.pid = getpid();
	worker_send(&w, &m);
	worker_configure(&w);
	memset(&m, 0, sizeof(m));
	m.type = HQ_MSG_READY;
	worker_send(&w, &m);
	log_debug("ready, pid %ld", (long)getpid());

	while (!w.stopping && !worker_term) {
		r = proto_read(w.fd, &w.rbuf, &m);
		if (r == 0)
			break;		/* supervisor closed: exit */
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_warn("read from supervisor");
			break;
		}
		switch (m.type) {
		case HQ_MSG_WORK:
			r = job_run(&w, m.names, m.nnames, m.poison);
			if (r == -1)
				w.stopping = true;
			else {
				memset(&done, 0, sizeof(done));
				done.type = HQ_MSG_DONE;
				done.applied = w.n_applied;
				done.failed = w.n_failed;
				done.retried = w.n_retried;
				done.dups = w.n_dups;
				HQ_FAULT("before_done");
				worker_send(&w, &done);
			}
			/* The next WORK is on its way while we remove. */
			job_remove(&w, m.nnames);
			proto_msg_free(&m);
			break;
		case HQ_MSG_STOP:
			w.stopping = true;
			proto_msg_free(&m);
			break;
		case HQ_MSG_REOPEN:
			if (w.cfg.log_file != NULL &&
			    log_reopen(w.cfg.log_file) == -1)
				log_warn("reopen %s", w.cfg.log_file);
			proto_msg_free(&m);
			break;
		default:
			log_warnx("unexpected %s from supervisor",
			    proto_type_name(m.type));
			proto_msg_free(&m);
			worker_cleanup(&w);
			exit(HQ_EX_SOFTWARE);
		}
	}
	log_debug("exiting");
	worker_cleanup(&w);
	exit(HQ_EX_OK);
}

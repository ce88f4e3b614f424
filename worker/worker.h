/* SPDX-License-Identifier: MIT */
/* worker.h: the worker process. It is hqd re-executed with a hidden flag;
 * it blocks on its socketpair (fd 3) when idle, claims the names it is
 * given by rename, applies them and reports. */
#ifndef HQ_WORKER_H
#define HQ_WORKER_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/entry.h"
#include "common/proto.h"
#include "common/queue.h"
#include "common/seg.h"
#include "worker/dqsink.h"
#include "worker/remover.h"
#include "worker/sink.h"
#include "worker/sqlapply.h"

/* Bytes of entries read before a batch is applied and committed: bounds a
 * worker's memory whatever the batch size and entry sizes. */
#define WORKER_BATCH_BYTES	(8 * 1024 * 1024)
#define WORKER_BACKOFF_MAX_MS	30000
/* Longest pause between two looks at a full disk: space that returns is
 * used within this. */
#define WORKER_WAIT_MAX_MS	5000

enum job_state {
	JOB_UNCLAIMED = 0,	/* gone before we could claim it */
	JOB_READY,		/* claimed, decoded, waiting for the batch */
	JOB_APPLIED,		/* in the committed transaction */
	JOB_DUP,		/* already in the ledger */
	JOB_FAILED,		/* permanent: failed/ with reason */
};

struct job {
	const char	*name;		/* from the WORK message */
	enum job_state	 state;
	enum job_state	 tent;		/* state if this attempt commits */
	struct entry	 e;
	char		*id;		/* ledger key */
	long		 attempts;	/* transient attempts so far */
	bool		 gave_up;	/* failed after max_retries */
	bool		 alone;		/* apply in a transaction of its own */
	bool		 in_group;	/* in the attempt under way */
	uint64_t	 enq_ns;	/* file mtime: when it was written */
	uint64_t	 exec_ns;	/* its statements done (this attempt) */
	/* Room past what a note keeps, so that a longer text reaches
	 * queue_fail() long enough to be seen, and marked, as cut. */
	char		 reason[QUEUE_REASON_MAX + 12];
};

struct worker {
	int		 slot;
	uint32_t	 gen;
	pid_t		 ppid;
	int		 fd;		/* the channel, WORKER_FD */
	struct hq_config cfg;		/* from CONFIG; owned */
	struct queue	 q;
	int		 wdirfd;	/* processing/w<slot>/ */
	uid_t		 euid;		/* entries of this owner are trusted */
	gid_t		 trust_gid;	/* and of this group (setgid root) */
	struct sqlapply	 sa;		/* the local sink's connection */
	struct sink	 sink;		/* where job.c applies */
	struct dqsink	 dq;		/* the dqlite sink, --db dqlite:// */
	struct seg	*seg;		/* the stats segment, mapped rw */
	struct seg_slot	*sl;		/* our slot in it: we are its writer */
	struct pbuf	 rbuf, wbuf;	/* channel scratch */
	char		*readbuf;	/* entry file scratch */
	size_t		 readcap;
	struct job	*jobs;
	size_t		 jobcap;
	struct remover	 rm;		/* removes what COMMITs settled */
	uint64_t	 rng;
	uint64_t	 applied_total;
	bool		 stopping;	/* STOP received: exit after batch */
	/* counts for the DONE of the batch in hand */
	uint32_t	 n_applied, n_failed, n_retried, n_dups;
	uint32_t	 n_stranded;	/* failed, but failed/ not writable */
};

/* Entry point of a worker (hqd -W slot:gen:ppid). Never returns. */
void	worker_main(const char *spec) __attribute__((noreturn));
/* Apply the names of one WORK message. Returns 0, or -1 when the worker
 * must exit (STOP or EOF seen while backing off: entries requeued). */
int	job_run(struct worker *w, char **names, size_t n, uint32_t poison);
/* Fail j with a reason (its state FAILED, the reason its failed/ note). */
void	job_fail(struct job *j, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Read the claimed file j->name into w->readbuf (job_read.c): 0 with its
 * length, or -1 with j failed. */
int	job_read(struct worker *w, struct job *j, size_t *lenp);
/* Apply READY jobs until each is settled (APPLIED, DUP or FAILED), with
 * retries and isolation of culprits: job_run's apply step, and the
 * property test's (tests/fuzz/fuzz_apply.c). -1 when told to stop. */
int	job_apply(struct worker *w, struct job *jobs, size_t n);
/* After job_run() and its DONE: queue the removal (or the move to
 * completed/) of the files of its first n names that were committed; the
 * remover counts each once done. */
void	job_remove(struct worker *w, size_t n);
/* Point the remover at the current processing/w<slot>/ and completed/. */
void	job_remover_dirs(struct worker *w);
/* sqlapply's on_wait: the worker is alive, waiting for a lock. */
void	job_on_wait(void *w, uint64_t waited_us);
/* The flag TERM sets. */
extern volatile sig_atomic_t worker_term;

#endif

/* SPDX-License-Identifier: MIT */
/* dqsink.h: the dqlite sink (--db dqlite://HOST:PORT[,...]/NAME): one
 * transaction per batch on the cluster's leader, a savepoint per entry,
 * the ledger in the same database (docs/dqlite.md, "The sink"). */
#ifndef HQ_DQSINK_H
#define HQ_DQSINK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/pbuf.h"

#include "worker/dqlite.h"
#include "worker/sink.h"
#include "worker/sqlguard.h"

struct dqsink {
	struct dq_client c;
	bool		 ready;		/* ledger created on this connection */
	bool		 in_txn;
	enum seg_wait	 wait;		/* of the last failure */
	bool		 txn_lost;
	bool		 sp_open;	/* the last entry's savepoint: its
					 * RELEASE goes with the next one */
	int		 ledger_days;
	int		 stmt_timeout_ms;	/* a request of an entry's */
	struct sqlapply	 guard;		/* the schema copy entries compile in */
	struct pbuf	 buf;
	char		 last_err[HQ_SEG_SINK_TEXT];	/* for stats */
	uint64_t	 last_err_ns;
};

bool	dqsink_is_uri(const char *db);
/* Set s up for uri; connects nothing. 0, or -1 with err. */
int	dqsink_init(struct sink *s, struct dqsink *d, const char *uri,
	    int ledger_days, int64_t budget_ms, char *err, size_t errlen);
void	dqsink_free(struct dqsink *d);
/* The per-queue token that qualifies default ledger ids: ROOT/.queue-id,
 * created once (a random id) by whoever gets there first. NULL on error. */
char	*dqsink_queue_id(int rootfd);

#endif

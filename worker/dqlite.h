/* SPDX-License-Identifier: MIT */
/*
 * dqlite.h: a small blocking client of a dqlite cluster, for a worker (one
 * connection, no threads). It finds the leader among the listed nodes,
 * opens one database on it and runs statements with bound parameters.
 * Every read and write waits in poll(2) against a deadline, so no call
 * blocks longer than its timeout (name resolution aside, see dq_connect).
 *
 * Outcomes, in dq_rc: the server's FAILURE is DQ_EFAIL with its code; a
 * lost connection (EOF, reset, timeout, garbage) is DQ_ELOST. After
 * DQ_ELOST, and after a FAILURE that says leadership moved, the
 * connection is closed: the caller calls dq_connect() again, which finds
 * the leader anew. Nothing reconnects behind the caller's back, because a
 * transaction does not survive its connection: the caller must know to
 * run it again.
 */
#ifndef HQ_DQLITE_H
#define HQ_DQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/entry.h"
#include "common/pbuf.h"
#include "worker/dqwire.h"

/* dqlite's own extended codes of SQLITE_IOERR, in FAILURE answers. */
#define DQ_IOERR_NOT_LEADER	 (SQLITE_IOERR | (40 << 8)) /* not done */
#define DQ_IOERR_LEADERSHIP_LOST (SQLITE_IOERR | (41 << 8)) /* unknown */
/* Codes of dqlite's that are not SQLite's: a request it could not read. */
#define DQ_CODE_PROTO		1001
#define DQ_CODE_PARSE		1005

#define DQ_DEFAULT_TIMEOUT_MS	5000
#define DQ_DEFAULT_CONNECT_MS	2000
/* The largest answer (all the ROWS messages of a query together). */
#define DQ_DEFAULT_MAX_BYTES	(16 * 1024 * 1024)
#define DQ_MAX_NODES		16
#define DQ_ERRLEN		512

enum dq_rc {
	DQ_OK = 0,
	DQ_EFAIL,	/* FAILURE: code and message in the client */
	DQ_ELOST,	/* connection lost: closed, the request's outcome is
			   unknown; dq_connect() again */
	DQ_ETOOBIG,	/* an answer over max_bytes: connection closed */
	DQ_EARG,	/* refused before sending (see dq_req_encode) */
	DQ_ENOLEADER,	/* dq_connect: no node reachable knows a leader */
};

/* Why the connection went (DQ_ELOST). */
enum dq_lost {
	DQ_LOST_NONE = 0,
	DQ_LOST_EOF,		/* the node closed it */
	DQ_LOST_IO,		/* reset, refused, unreachable */
	DQ_LOST_TIMEOUT,	/* no answer within the timeout */
	DQ_LOST_PROTO,		/* an answer that is not the protocol */
	DQ_LOST_CLOSED,		/* not connected when called */
};

struct dq_result {
	int64_t		last_insert_id;
	int64_t		rows_affected;
};

struct dq_client {
	char		*nodes[DQ_MAX_NODES];	/* HOST:PORT, as given */
	size_t		 nnodes;
	char		*dbname;
	int		 timeout_ms;		/* every request */
	int		 connect_timeout_ms;	/* each TCP connect */
	size_t		 max_bytes;
	uint64_t	 client_id;

	int		 fd;			/* -1: not connected */
	char		 peer[DQ_MAX_ADDR + 1];	/* the node fd is to */
	char		*leader;		/* the last leader found */
	uint32_t	 db_id;
	struct pbuf	 wbuf, rbuf;

	/* The last error: a line for a log, and for DQ_EFAIL the server's
	 * code (raw) and the SQLite code it means (dq_sqlite_code). */
	char		 err[DQ_ERRLEN];
	uint64_t	 code;
	int		 sqlite_code;
	enum dq_lost	 lost;

	/* Counters for stats: requests answered, connections made to a
	 * leader, and how often that leader was another node than before. */
	uint64_t	 round_trips;
	uint64_t	 connects;
	uint64_t	 leader_changes;
	/* Test builds: HQ_FAULT("dqlite_after_commit_sent") once the next
	 * request is sent, before its answer is read. */
	bool		 fault_after_send;
};

/* Split "dqlite://HOST:PORT[,HOST:PORT...]/NAME" into its node list and
 * database name (both allocated). 0, or -1 with the reason in err. */
int	dq_parse_uri(const char *uri, char **nodes, char **name, char *err,
	    size_t errlen);
/* Set up c for the comma-separated node list and database name, with
 * the default timeouts and cap; connects nothing. 0, or -1 (err).
 * dbname NULL: an administration client, which opens no database (the
 * membership requests below). */
int	dq_init(struct dq_client *c, const char *nodes, const char *dbname,
	    char *err, size_t errlen);
void	dq_free(struct dq_client *c);
/*
 * Close any connection and find the leader: the last leader first, then
 * each listed node; a node that names another as leader is left for that
 * one, which must confirm. On the leader: CLIENT, then OPEN of the
 * database. One pass, no sleeping: DQ_ENOLEADER when no node knows a
 * leader (an election runs, or all are down) and the caller backs off.
 * Host names are resolved with getaddrinfo(3), which has no deadline of
 * ours: give addresses, or names the resolver answers from its files.
 */
enum dq_rc dq_connect(struct dq_client *c);
void	dq_close(struct dq_client *c);
/* A non-blocking TCP connection (TCP_NODELAY, close-on-exec) to
 * HOST:PORT, the host a name or an address, within timeout_ms (name
 * resolution aside). The fd, or -1 with the reason in err. */
int	dq_tcp_connect(const char *addr, int timeout_ms, char *err,
	    size_t errlen);
bool	dq_connected(const struct dq_client *c);

/* The statements. sql is len bytes, without a NUL inside. */
enum dq_rc dq_prepare(struct dq_client *c, const char *sql, size_t len,
	    uint32_t *stmt, uint64_t *nparams);
enum dq_rc dq_exec(struct dq_client *c, uint32_t stmt,
	    const struct entry_param *params, size_t nparams,
	    struct dq_result *res);
enum dq_rc dq_query(struct dq_client *c, uint32_t stmt,
	    const struct entry_param *params, size_t nparams,
	    struct dq_rows *rows);
enum dq_rc dq_finalize(struct dq_client *c, uint32_t stmt);
/* SQL text run without a prepared statement. dqlite binds the parameters
 * to the first statement of a multi-statement text only. */
enum dq_rc dq_exec_sql(struct dq_client *c, const char *sql, size_t len,
	    const struct entry_param *params, size_t nparams,
	    struct dq_result *res);
enum dq_rc dq_query_sql(struct dq_client *c, const char *sql, size_t len,
	    const struct entry_param *params, size_t nparams,
	    struct dq_rows *rows);

/*
 * Membership, on the leader (a follower answers DQ_IOERR_NOT_LEADER). The
 * answer comes once the change is committed; a promotion to voter waits
 * for the node to catch up first, so give these a longer timeout_ms. A
 * new member joins as a spare (ADD), then is assigned its role. One
 * change at a time: the leader refuses another while one is under way.
 */
enum dq_rc dq_add(struct dq_client *c, uint64_t id, const char *address);
enum dq_rc dq_assign(struct dq_client *c, uint64_t id, enum dq_role role);
enum dq_rc dq_remove(struct dq_client *c, uint64_t id);
/* The members with their roles, in r->servers; the addresses point into
 * the client's buffer, valid until its next request. */
enum dq_rc dq_cluster(struct dq_client *c, struct dq_resp *r);

/* The SQLite result code a FAILURE code means: SQLite's own codes as
 * they are; dqlite's request errors as SQLITE_PROTOCOL. */
int	dq_sqlite_code(uint64_t code);
/* A FAILURE that says the node is not (or no longer) the leader. */
bool	dq_code_leader(uint64_t code);
const char *dq_rc_name(enum dq_rc rc);

#endif

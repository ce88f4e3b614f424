/* SPDX-License-Identifier: MIT */
/*
 * dqlite.c: the client's I/O. Runs in a worker (and in its tests): one
 * non-blocking TCP connection, each request written whole and its answer
 * read under a deadline with poll(2). The bytes are dqwire.c's.
 *
 * A request's deadline covers writing it and reading the first message
 * of its answer; each further ROWS message of a long result gets a new
 * one, since the node is making progress. When a deadline passes, the
 * answer may still come later, so the connection can no longer be used:
 * it is closed, like on EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fault.h"
#include "common/now.h"
#include "common/xmalloc.h"
#include "worker/dqlite.h"

static const char *const dq_lost_names[] = {
	[DQ_LOST_NONE] = "", [DQ_LOST_EOF] = "closed by the node",
	[DQ_LOST_IO] = "I/O error", [DQ_LOST_TIMEOUT] = "timed out",
	[DQ_LOST_PROTO] = "protocol error", [DQ_LOST_CLOSED] = "not connected",
};

static void
dq_seterr(struct dq_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
dq_seterr(struct dq_client *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/* The connection is gone: close it and say why. */
static enum dq_rc
dq_lose(struct dq_client *c, enum dq_lost why, const char *detail)
{
	dq_close(c);
	c->lost = why;
	dq_seterr(c, "%s: %s%s%s", c->peer, dq_lost_names[why], detail ? ": " : "", detail ? detail : "");
	return DQ_ELOST;
}

/* A node address we can dial: HOST:PORT or [V6]:PORT, a host required. */
static int
dq_addr_split(const char *addr, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	if (addr[0] == ':' || addr[0] == '\0')
		return -1;
	return config_hostport(addr, host, hostlen, port, portlen);
}

int
dq_parse_uri(const char *uri, char **nodes, char **name, char *err,
    size_t errlen)
{
	static const char prefix[] = "dqlite://";
	const char	*rest, *slash;

	*nodes = *name = NULL;
	if (strncmp(uri, prefix, sizeof(prefix) - 1) != 0) {
		snprintf(err, errlen, "'%s' does not start with %s", uri,
		    prefix);
		return -1;
	}
	rest = uri + sizeof(prefix) - 1;
	if ((slash = strchr(rest, '/')) == NULL || slash == rest ||
	    slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
		snprintf(err, errlen, "'%s' is not dqlite://HOST:PORT"
		    "[,HOST:PORT...]/NAME", uri);
		return -1;
	}
	*nodes = xstrndup(rest, (size_t)(slash - rest));
	*name = xstrdup(slash + 1);
	return 0;
}

int
dq_init(struct dq_client *c, const char *nodes, const char *dbname,
    char *err, size_t errlen)
{
	char		 host[256], port[8], *list, *tok, *save = NULL;
	int		 rc = 0;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->peer, sizeof(c->peer), "dqlite");
	c->timeout_ms = DQ_DEFAULT_TIMEOUT_MS;
	c->connect_timeout_ms = DQ_DEFAULT_CONNECT_MS;
	c->max_bytes = DQ_DEFAULT_MAX_BYTES;
	c->client_id = (uint64_t)getpid();
	if (dbname != NULL && (dbname[0] == '\0' ||
	    strchr(dbname, '/') != NULL)) {
		snprintf(err, errlen, "'%s' is not a database name", dbname);
		return -1;
	}
	list = xstrdup(nodes);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (dq_addr_split(tok, host, sizeof(host), port,
		    sizeof(port)) == -1) {
			snprintf(err, errlen, "node '%s' is not HOST:PORT", tok);
			rc = -1;
			break;
		}
		if (c->nnodes == DQ_MAX_NODES) {
			snprintf(err, errlen, "more than %d nodes",
			    DQ_MAX_NODES);
			rc = -1;
			break;
		}
		c->nodes[c->nnodes++] = xstrdup(tok);
	}
	free(list);
	if (rc == 0 && c->nnodes == 0) {
		snprintf(err, errlen, "no dqlite node given");
		rc = -1;
	}
	if (rc == -1) {
		dq_free(c);
		return -1;
	}
	c->dbname = dbname != NULL ? xstrdup(dbname) : NULL;
	return 0;
}

void
dq_free(struct dq_client *c)
{
	size_t	i;

	dq_close(c);
	for (i = 0; i < c->nnodes; i++)
		free(c->nodes[i]);
	free(c->dbname);
	free(c->leader);
	pbuf_free(&c->wbuf);
	pbuf_free(&c->rbuf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void
dq_close(struct dq_client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->db_id = 0;
}

bool
dq_connected(const struct dq_client *c)
{
	return c->fd != -1;
}

/* Wait for ev on fd until deadline (monotonic ms). 1: ready (or an error
 * the next read or write reports), 0: deadline passed, -1: poll failed. */
static int
dq_wait(int fd, short ev, uint64_t deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = ev };
	uint64_t	now;
	int		n;

	for (;;) {
		if ((now = now_mono_ms()) >= deadline)
			return 0;
		n = poll(&pfd, 1, deadline - now > INT_MAX ? INT_MAX :
		    (int)(deadline - now));
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

int
dq_tcp_connect(const char *addr, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], port[8];
	socklen_t	 sl;
	uint64_t	 until;
	int		 fd = -1, rc, soerr = 0, one = 1;

	if (dq_addr_split(addr, host, sizeof(host), port, sizeof(port)) == -1) {
		snprintf(err, errlen, "%s: not HOST:PORT", addr);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	until = now_mono_ms() + (uint64_t)timeout_ms;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			soerr = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		soerr = errno;
		if (errno == EINPROGRESS) {
			rc = dq_wait(fd, POLLOUT, until);
			sl = sizeof(soerr);
			if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR,
			    &soerr, &sl) == 0 && soerr == 0)
				break;
			if (rc == 0)
				soerr = ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", addr, strerror(soerr));
		return -1;
	}
	/* Requests and answers are small and strictly alternate: Nagle's
	 * wait for an ACK would add a delayed-ACK pause to each. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
dq_dial(struct dq_client *c, const char *addr)
{
	return dq_tcp_connect(addr, c->connect_timeout_ms, c->err,
	    sizeof(c->err));
}

/* Write (out) or read len bytes of buf before the deadline. */
static enum dq_rc
dq_xfer(struct dq_client *c, bool out, void *buf, size_t len,
    uint64_t deadline)
{
	char	*p = buf;
	ssize_t	 n;
	int	 w;

	while (len > 0) {
		/* MSG_NOSIGNAL: a node gone is an error here, not SIGPIPE. */
		n = out ? send(c->fd, p, len, MSG_NOSIGNAL) :
		    recv(c->fd, p, len, 0);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0 && !out)
			return dq_lose(c, DQ_LOST_EOF, NULL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return dq_lose(c, errno == EPIPE ? DQ_LOST_EOF :
			    DQ_LOST_IO, strerror(errno));
		if ((w = dq_wait(c->fd, out ? POLLOUT : POLLIN, deadline)) != 1)
			return dq_lose(c, w == 0 ? DQ_LOST_TIMEOUT :
			    DQ_LOST_IO, w == -1 ? strerror(errno) : out ?
			    "writing a request" : "waiting for an answer");
	}
	return DQ_OK;
}

/*
 * Read one message: its header, then its body into *body (rows: a buffer
 * of its own, owned by the caller; otherwise c->rbuf). The body may not
 * take the answer past max_bytes (used: what earlier parts took).
 */
static enum dq_rc
dq_recv_msg(struct dq_client *c, struct dq_hdr *h, void **body, bool own,
    size_t used, uint64_t deadline)
{
	unsigned char	hdr[DQ_HDR];
	size_t		len;
	enum dq_rc	rc;
	char		why[96];

	*body = NULL;
	if ((rc = dq_xfer(c, false, hdr, sizeof(hdr), deadline)) != DQ_OK)
		return rc;
	if (dq_hdr_decode(hdr, h) == -1) {
		snprintf(why, sizeof(why), "bad message header (type %u, "
		    "schema %u, %u words)", hdr[4], hdr[5], (unsigned)h->words);
		return dq_lose(c, DQ_LOST_PROTO, why);
	}
	len = (size_t)h->words * DQ_WORD;
	if (len > c->max_bytes || len > c->max_bytes - used) {
		dq_close(c);
		c->lost = DQ_LOST_NONE;
		dq_seterr(c, "%s: an answer of over %zu bytes (the cap): "
		    "connection closed", c->peer, c->max_bytes);
		return DQ_ETOOBIG;
	}
	if (own)
		*body = xmalloc(len);
	else {
		c->rbuf.len = 0;
		pbuf_reserve(&c->rbuf, len);
		*body = c->rbuf.data;
	}
	if ((rc = dq_xfer(c, false, *body, len, deadline)) != DQ_OK && own) {
		free(*body);
		*body = NULL;
	}
	return rc;
}

/* A FAILURE: keep its code and message. One that says leadership moved
 * closes the connection, which can do nothing more on this node. */
static enum dq_rc
dq_failure(struct dq_client *c, const struct dq_resp *r)
{
	c->code = r->code;
	c->sqlite_code = dq_sqlite_code(r->code);
	dq_seterr(c, "%s: %s (code %llu)", c->peer, r->message,
	    (unsigned long long)r->code);
	if (dq_code_leader(r->code))
		dq_close(c);
	return DQ_EFAIL;
}

/*
 * One request and its answer, which must be of type want or a FAILURE.
 * For ROWS, every part is read into rows (freed again on any error).
 */
static enum dq_rc
dq_call(struct dq_client *c, const struct dq_req *q, enum dq_resp_type want,
    struct dq_resp *r, struct dq_rows *rows, bool hello)
{
	struct dq_hdr	 h;
	void		*body;
	uint64_t	 deadline;
	enum dq_rc	 rc;
	char		 why[DQ_ERRLEN];
	bool		 own = want == DQ_RESP_ROWS;

	c->lost = DQ_LOST_NONE;
	c->code = 0;
	c->sqlite_code = 0;
	if (rows != NULL)
		memset(rows, 0, sizeof(*rows));
	if (c->fd == -1) {
		c->lost = DQ_LOST_CLOSED;
		dq_seterr(c, "dqlite: not connected");
		return DQ_ELOST;
	}
	c->wbuf.len = 0;
	/* The protocol version goes out with the first request: the node
	 * reads it first either way, and it saves a round of writes. */
	if (hello)
		dq_put_u64(&c->wbuf, DQ_PROTOCOL_VERSION);
	if (dq_req_encode(q, &c->wbuf, why, sizeof(why)) == -1) {
		dq_seterr(c, "%s", why);
		return DQ_EARG;
	}
	deadline = now_mono_ms() + (uint64_t)c->timeout_ms;
	if ((rc = dq_xfer(c, true, c->wbuf.data, c->wbuf.len, deadline)) !=
	    DQ_OK)
		return rc;
	/* The request is out, its answer not read: a test's ambiguous
	 * outcome (the dqlite sink arms it for COMMIT). */
	if (c->fault_after_send) {
		c->fault_after_send = false;
		HQ_FAULT("dqlite_after_commit_sent");
	}
	for (;;) {
		rc = dq_recv_msg(c, &h, &body, own, rows ? rows->bytes : 0,
		    deadline);
		if (rc != DQ_OK)
			break;
		if (own) {
			/* Owned by rows from here, whatever follows. */
			rows->parts = xreallocarray(rows->parts,
			    rows->nparts + 1, sizeof(*rows->parts));
			rows->parts[rows->nparts++] = body;
			rows->bytes += (size_t)h.words * DQ_WORD;
		}
		if (h.type != want && h.type != DQ_RESP_FAILURE) {
			snprintf(why, sizeof(why), "%s where %s was due",
			    dq_resp_name(h.type), dq_resp_name(want));
			rc = dq_lose(c, DQ_LOST_PROTO, why);
			break;
		}
		if (dq_resp_decode(h.type, body, (size_t)h.words * DQ_WORD, r,
		    rows, why, sizeof(why)) == -1) {
			rc = dq_lose(c, DQ_LOST_PROTO, why);
			break;
		}
		if (h.type == DQ_RESP_FAILURE) {
			rc = dq_failure(c, r);
			break;
		}
		if (!r->more)
			break;
		deadline = now_mono_ms() + (uint64_t)c->timeout_ms;
	}
	if (rc == DQ_OK || rc == DQ_EFAIL)	/* answered */
		c->round_trips++;
	if (rc != DQ_OK && rows != NULL)
		dq_rows_free(rows);
	return rc;
}

/*
 * Connect to addr and ask it who leads. DQ_OK with the answer in
 * leader ("" when the node knows none); the connection stays open.
 */
static enum dq_rc
dq_ask_leader(struct dq_client *c, const char *addr, char *leader,
    size_t leaderlen)
{
	struct dq_req	q = { .type = DQ_REQ_LEADER };
	struct dq_resp	r;
	enum dq_rc	rc;

	dq_close(c);
	snprintf(c->peer, sizeof(c->peer), "%s", addr);
	if ((c->fd = dq_dial(c, addr)) == -1)
		return DQ_ELOST;
	if ((rc = dq_call(c, &q, DQ_RESP_SERVER, &r, NULL, true)) != DQ_OK) {
		/* A node closes at once a connection whose protocol version
		 * it does not know, without a word. */
		if (c->lost == DQ_LOST_EOF)
			dq_seterr(c, "%s: closed the connection at the "
			    "handshake (a dqlite node speaking protocol "
			    "version %d?)", addr, DQ_PROTOCOL_VERSION);
		dq_close(c);
		return rc;
	}
	snprintf(leader, leaderlen, "%s", r.address);
	return DQ_OK;
}

/* On the leader: register, open the database. An administration client
 * (no database) needs neither: the leader answers ADD, ASSIGN, REMOVE
 * and CLUSTER on any connection. */
static enum dq_rc
dq_open_db(struct dq_client *c)
{
	struct dq_req	q = { .type = DQ_REQ_CLIENT, .id = c->client_id };
	struct dq_resp	r;
	enum dq_rc	rc;

	if (c->dbname == NULL)
		return DQ_OK;
	if ((rc = dq_call(c, &q, DQ_RESP_WELCOME, &r, NULL, false)) != DQ_OK)
		return rc;
	memset(&q, 0, sizeof(q));
	q.type = DQ_REQ_OPEN;
	q.text = c->dbname;
	q.text_len = strlen(c->dbname);
	if ((rc = dq_call(c, &q, DQ_RESP_DB, &r, NULL, false)) != DQ_OK)
		return rc;
	c->db_id = r.db_id;
	return DQ_OK;
}

/* Try one node: it leads, or it names the leader, which confirms. */
static enum dq_rc
dq_try_node(struct dq_client *c, const char *addr)
{
	char		named[DQ_MAX_ADDR + 1], again[DQ_MAX_ADDR + 1];
	enum dq_rc	rc;

	if ((rc = dq_ask_leader(c, addr, named, sizeof(named))) != DQ_OK)
		return rc;
	if (named[0] == '\0') {
		dq_close(c);
		dq_seterr(c, "%s: knows no leader", addr);
		return DQ_ENOLEADER;
	}
	/* The node names itself as the cluster knows it, which may be
	 * spelt otherwise than the list has it: the named node must then
	 * name itself again, at the address it gave. */
	if (strcmp(named, addr) == 0)
		return dq_open_db(c);
	if ((rc = dq_ask_leader(c, named, again, sizeof(again))) != DQ_OK)
		return rc;
	if (strcmp(again, named) != 0) {
		dq_close(c);
		dq_seterr(c, "%s: named %s as leader, which names '%s'", addr,
		    named, again);
		return DQ_ENOLEADER;
	}
	return dq_open_db(c);
}

enum dq_rc
dq_connect(struct dq_client *c)
{
	const char	*cand[DQ_MAX_NODES + 1];
	const char	*prev = c->leader;	/* freed only after the loop */
	char		 why[DQ_ERRLEN] = "";
	size_t		 n = 0, i, off = 0;
	enum dq_rc	 rc = DQ_ENOLEADER;

	dq_close(c);
	if (prev != NULL)
		cand[n++] = prev;
	for (i = 0; i < c->nnodes; i++)
		if (prev == NULL || strcmp(prev, c->nodes[i]) != 0)
			cand[n++] = c->nodes[i];
	for (i = 0; i < n; i++) {
		if ((rc = dq_try_node(c, cand[i])) == DQ_OK)
			break;
		/* Keep each node's reason: the line a log needs when the
		 * whole cluster is out of reach. */
		if (off < sizeof(why))
			off += (size_t)snprintf(why + off, sizeof(why) - off,
			    "%s%s", off ? "; " : "", c->err);
	}
	if (rc == DQ_OK) {
		c->connects++;
		if (prev != NULL && strcmp(prev, c->peer) != 0)
			c->leader_changes++;
		free(c->leader);
		c->leader = xstrdup(c->peer);
	} else {
		dq_close(c);
		c->lost = DQ_LOST_NONE;
		dq_seterr(c, "no dqlite leader: %s", why);
		rc = DQ_ENOLEADER;
	}
	return rc;
}

enum dq_rc
dq_prepare(struct dq_client *c, const char *sql, size_t len, uint32_t *stmt,
    uint64_t *nparams)
{
	struct dq_req	q = { .type = DQ_REQ_PREPARE, .id = c->db_id,
			      .text = sql, .text_len = len };
	struct dq_resp	r;
	enum dq_rc	rc;

	if ((rc = dq_call(c, &q, DQ_RESP_STMT, &r, NULL, false)) != DQ_OK)
		return rc;
	*stmt = r.stmt_id;
	if (nparams != NULL)
		*nparams = r.nparams;
	return DQ_OK;
}

/* EXEC, EXEC_SQL (a RESULT into res), QUERY, QUERY_SQL (ROWS). */
static enum dq_rc
dq_run(struct dq_client *c, enum dq_req_type type, uint32_t stmt,
    const char *sql, size_t len, const struct entry_param *params,
    size_t nparams, struct dq_result *res, struct dq_rows *rows)
{
	struct dq_req	q = { .type = type, .id = c->db_id, .stmt = stmt,
			      .text = sql, .text_len = len, .params = params,
			      .nparams = nparams };
	struct dq_resp	r;
	enum dq_rc	rc;

	rc = dq_call(c, &q, rows ? DQ_RESP_ROWS : DQ_RESP_RESULT, &r, rows,
	    false);
	if (rc == DQ_OK && res != NULL) {
		res->last_insert_id = (int64_t)r.last_insert_id;
		res->rows_affected = (int64_t)r.rows_affected;
	}
	return rc;
}

enum dq_rc
dq_exec(struct dq_client *c, uint32_t stmt, const struct entry_param *params,
    size_t nparams, struct dq_result *res)
{
	return dq_run(c, DQ_REQ_EXEC, stmt, NULL, 0, params, nparams, res,
	    NULL);
}

enum dq_rc
dq_exec_sql(struct dq_client *c, const char *sql, size_t len,
    const struct entry_param *params, size_t nparams, struct dq_result *res)
{
	return dq_run(c, DQ_REQ_EXEC_SQL, 0, sql, len, params, nparams, res,
	    NULL);
}

enum dq_rc
dq_query(struct dq_client *c, uint32_t stmt, const struct entry_param *params,
    size_t nparams, struct dq_rows *rows)
{
	return dq_run(c, DQ_REQ_QUERY, stmt, NULL, 0, params, nparams, NULL,
	    rows);
}

enum dq_rc
dq_query_sql(struct dq_client *c, const char *sql, size_t len,
    const struct entry_param *params, size_t nparams, struct dq_rows *rows)
{
	return dq_run(c, DQ_REQ_QUERY_SQL, 0, sql, len, params, nparams, NULL,
	    rows);
}

enum dq_rc
dq_finalize(struct dq_client *c, uint32_t stmt)
{
	struct dq_req	q = { .type = DQ_REQ_FINALIZE, .id = c->db_id,
			      .stmt = stmt };
	struct dq_resp	r;

	return dq_call(c, &q, DQ_RESP_EMPTY, &r, NULL, false);
}

/* A membership change: answered EMPTY once the new configuration is
 * committed (for a promotion to voter, once the node has caught up). */
static enum dq_rc
dq_change(struct dq_client *c, enum dq_req_type type, uint64_t id,
    const char *address, uint64_t arg)
{
	struct dq_req	q = { .type = type, .id = id, .arg = arg,
			      .text = address,
			      .text_len = address ? strlen(address) : 0 };
	struct dq_resp	r;

	return dq_call(c, &q, DQ_RESP_EMPTY, &r, NULL, false);
}

enum dq_rc
dq_add(struct dq_client *c, uint64_t id, const char *address)
{
	return dq_change(c, DQ_REQ_ADD, id, address, 0);
}

enum dq_rc
dq_assign(struct dq_client *c, uint64_t id, enum dq_role role)
{
	return dq_change(c, DQ_REQ_ASSIGN, id, NULL, (uint64_t)role);
}

enum dq_rc
dq_remove(struct dq_client *c, uint64_t id)
{
	return dq_change(c, DQ_REQ_REMOVE, id, NULL, 0);
}

enum dq_rc
dq_cluster(struct dq_client *c, struct dq_resp *r)
{
	struct dq_req	q = { .type = DQ_REQ_CLUSTER,
			      .arg = DQ_CLUSTER_FORMAT };

	return dq_call(c, &q, DQ_RESP_SERVERS, r, NULL, false);
}

int
dq_sqlite_code(uint64_t code)
{
	/* dqlite's own: a request it could not read, or bind. */
	if (code == DQ_CODE_PROTO || code == DQ_CODE_PARSE)
		return SQLITE_PROTOCOL;
	/* 0 comes with "empty statement" (a PREPARE of no SQL): the SQL's
	 * fault, as SQLite's SQLITE_ERROR would say. */
	if (code == 0 || code > INT_MAX)
		return SQLITE_ERROR;
	return (int)code;
}

bool
dq_code_leader(uint64_t code)
{
	return code == DQ_IOERR_NOT_LEADER || code == DQ_IOERR_LEADERSHIP_LOST;
}

const char *
dq_rc_name(enum dq_rc rc)
{
	switch (rc) {
	case DQ_OK:
		return "ok";
	case DQ_EFAIL:
		return "failure";
	case DQ_ELOST:
		return "connection lost";
	case DQ_ETOOBIG:
		return "answer too large";
	case DQ_EARG:
		return "refused";
	case DQ_ENOLEADER:
		return "no leader";
	}
	return "?";
}

/* SPDX-License-Identifier: MIT */
/*
 * dqwire.h: the bytes of dqlite's client wire protocol, version 1 (the one
 * dqlite 1.11 speaks, and still the current one), without any I/O. Pure
 * functions: bytes in, structs out, and back; used by the client
 * (worker/dqlite.c), its unit tests and the fuzzer. docs/dqlite.md has
 * the layouts.
 *
 * Everything on the wire is little-endian and padded to 8-byte words. A
 * message is an 8-byte header (body size in words: u32, type: u8, schema:
 * u8, two unused bytes) and its body.
 */
#ifndef HQ_DQWIRE_H
#define HQ_DQWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/entry.h"
#include "common/pbuf.h"

#define DQ_WORD			8
#define DQ_HDR			8
/* The first word a client sends: the protocol it speaks. Version 1 is
 * what dqlite 1.0 and later accept; any other value makes the server
 * close the connection without a word. */
#define DQ_PROTOCOL_VERSION	1
/* A tuple of parameters counts its values in one byte (schema 0, the
 * only one dqlite 1.11 reads). */
#define DQ_MAX_PARAMS		255
/* Longest node address we accept from a LEADER or CLUSTER answer. */
#define DQ_MAX_ADDR		255
/* Members a CLUSTER answer may list: dqlite clusters are a few voters
 * and some standbys; a longer list is refused, not sized by its count. */
#define DQ_MAX_SERVERS		64

/* The end of a ROWS message: this batch is over and more follow (PART),
 * or the result set is complete (DONE). In the place of a row header,
 * where no valid type code can make these words. */
#define DQ_ROWS_PART		0xeeeeeeeeeeeeeeeeULL
#define DQ_ROWS_DONE		0xffffffffffffffffULL

enum dq_req_type {
	DQ_REQ_LEADER = 0,
	DQ_REQ_CLIENT = 1,
	DQ_REQ_OPEN = 3,
	DQ_REQ_PREPARE = 4,
	DQ_REQ_EXEC = 5,
	DQ_REQ_QUERY = 6,
	DQ_REQ_FINALIZE = 7,
	DQ_REQ_EXEC_SQL = 8,
	DQ_REQ_QUERY_SQL = 9,
	DQ_REQ_INTERRUPT = 10,
	/* Cluster administration, answered by the leader only. */
	DQ_REQ_ADD = 12,
	DQ_REQ_ASSIGN = 13,
	DQ_REQ_REMOVE = 14,
	DQ_REQ_CLUSTER = 16,
};

/* A member's role, as ASSIGN takes it and CLUSTER (format 1) tells it. */
enum dq_role {
	DQ_ROLE_VOTER = 0,
	DQ_ROLE_STANDBY = 1,
	DQ_ROLE_SPARE = 2,
};
/* CLUSTER's format: 1 lists each member's role too. */
#define DQ_CLUSTER_FORMAT	1

enum dq_resp_type {
	DQ_RESP_FAILURE = 0,
	DQ_RESP_SERVER = 1,	/* answer to LEADER */
	DQ_RESP_WELCOME = 2,	/* answer to CLIENT */
	DQ_RESP_SERVERS = 3,	/* answer to CLUSTER */
	DQ_RESP_DB = 4,		/* answer to OPEN */
	DQ_RESP_STMT = 5,	/* answer to PREPARE */
	DQ_RESP_RESULT = 6,	/* answer to EXEC, EXEC_SQL */
	DQ_RESP_ROWS = 7,	/* answer to QUERY, QUERY_SQL */
	DQ_RESP_EMPTY = 8,	/* answer to FINALIZE, INTERRUPT, ADD, ASSIGN,
				   REMOVE */
	DQ_RESP_MAX_ = 9,
};

/* Value type codes. 1-5 are SQLite's own storage classes; 9-11 are
 * dqlite's for columns declared DATETIME/DATE/TIMESTAMP (an integer or a
 * text) and BOOLEAN (an integer). */
enum dq_type {
	DQ_INTEGER = 1,
	DQ_FLOAT = 2,
	DQ_TEXT = 3,
	DQ_BLOB = 4,
	DQ_NULL = 5,
	DQ_UNIXTIME = 9,
	DQ_ISO8601 = 10,
	DQ_BOOLEAN = 11,
};

struct dq_hdr {
	uint32_t	words;		/* body size in 8-byte words */
	uint8_t		type;
	uint8_t		schema;
};

/* One request. Which fields count depends on type (see dq_req_encode). */
struct dq_req {
	enum dq_req_type	 type;
	/* CLIENT: client id; ADD, ASSIGN, REMOVE: node id; else the db id */
	uint64_t		 id;
	uint32_t		 stmt;	/* EXEC, QUERY, FINALIZE */
	uint64_t		 arg;	/* ASSIGN: role; CLUSTER: format */
	/* OPEN: name; PREPARE, *_SQL: sql; ADD: the node's address */
	const char		*text;
	size_t			 text_len;
	/* EXEC, QUERY, EXEC_SQL, QUERY_SQL: the values to bind, left to
	 * right, as hq's entries carry them. */
	const struct entry_param *params;
	size_t			 nparams;
};

/* One value of a row. type is the SQLite storage class (DQ_INTEGER ..
 * DQ_NULL), wire the code the server sent: a DATETIME column's integer
 * is DQ_INTEGER with wire DQ_UNIXTIME, a BOOLEAN column's DQ_INTEGER with
 * wire DQ_BOOLEAN. TEXT and BLOB point into the message body (TEXT is
 * NUL-terminated there). */
struct dq_value {
	uint8_t		 type, wire;
	int64_t		 i;
	double		 d;
	const char	*p;
	size_t		 len;
};

/*
 * A result set, accumulated over the ROWS messages of one query. The
 * values point into the message bodies in parts (owned: freed by
 * dq_rows_free); names point into the first one.
 */
struct dq_rows {
	size_t		  ncols;
	const char	**names;
	size_t		  nrows;
	struct dq_value	 *vals;		/* nrows * ncols, row after row */
	size_t		  cap;		/* rows allocated in vals */
	void		**parts;	/* message bodies, owned */
	size_t		  nparts;
	size_t		  bytes;	/* sum of their sizes */
};

/* A member of the cluster (SERVERS). */
struct dq_server {
	uint64_t	 id;
	const char	*address;
	uint64_t	 role;		/* enum dq_role */
};

/* A decoded response other than ROWS. Strings point into the body. */
struct dq_resp {
	enum dq_resp_type type;
	uint64_t	 code;		/* FAILURE: SQLite code, or dqlite's */
	const char	*message;	/* FAILURE */
	uint64_t	 node_id;	/* SERVER: 0 and "" when no leader */
	const char	*address;	/* SERVER */
	uint64_t	 heartbeat_ms;	/* WELCOME */
	uint32_t	 db_id;		/* DB, STMT */
	uint32_t	 stmt_id;	/* STMT */
	uint64_t	 nparams;	/* STMT */
	uint64_t	 last_insert_id; /* RESULT */
	uint64_t	 rows_affected;	/* RESULT */
	bool		 more;		/* ROWS: a PART, more messages follow */
	size_t		 nservers;	/* SERVERS (format 1) */
	struct dq_server servers[DQ_MAX_SERVERS];
};

/* The primitives, appended to b: a u64; a text (its bytes, a NUL, zeros
 * to the next word); a blob (a u64 length, the bytes, zeros to the next
 * word). The tests and the fuzzer's seeds build responses with them. */
void	dq_put_u64(struct pbuf *b, uint64_t v);
void	dq_put_text(struct pbuf *b, const char *s, size_t len);
void	dq_put_blob(struct pbuf *b, const char *p, size_t len);
/* The header of a message: 0, or -1 when it is not one a server sends
 * (a schema other than 0, a body of no words). */
int	dq_hdr_decode(const unsigned char hdr[DQ_HDR], struct dq_hdr *h);
/*
 * Append the frame of q (header and body) to out. 0, or -1 with the
 * reason in err and out unchanged: more than DQ_MAX_PARAMS parameters, or
 * a text (SQL, name, TEXT parameter) with a NUL byte inside, which the
 * wire cannot carry (text ends at the first NUL).
 */
int	dq_req_encode(const struct dq_req *q, struct pbuf *out, char *err,
	    size_t errlen);
/*
 * Decode the body of a response of the given type. For ROWS, the rows
 * are appended to *rows (which must be non-NULL; body must outlive it:
 * the caller hands it to rows->parts) and r->more says whether a PART
 * ended it; the column count must be the same in every part. A rows
 * pointer also says the answer is a query's: a FAILURE may then come
 * after a column list (dqlite 1.11 does that when a statement fails in
 * its first step), which is skipped. 0, or -1
 * with the reason in err: a short or overlong body, a string without its
 * NUL, an unknown type code, a count that cannot fit the body. Never
 * reads outside body[0..len); never allocates more than a small multiple
 * of len.
 */
int	dq_resp_decode(uint8_t type, const void *body, size_t len,
	    struct dq_resp *r, struct dq_rows *rows, char *err, size_t errlen);
void	dq_rows_free(struct dq_rows *rows);
/* The value at row, col (both in range). */
const struct dq_value *dq_rows_at(const struct dq_rows *rows, size_t row,
	    size_t col);
const char *dq_resp_name(uint8_t type);
/* "voter", "standby", "spare", or "?". */
const char *dq_role_name(uint64_t role);

#endif

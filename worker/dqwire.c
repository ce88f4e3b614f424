/* SPDX-License-Identifier: MIT */
/*
 * dqwire.c: encoding of dqlite requests and decoding of its responses.
 * No I/O and no globals: runs in workers (through dqlite.c), in the unit
 * tests and in the fuzzer. The layouts are the public "Wire protocol"
 * document's, schema version 0 of every message.
 *
 * The decoder reads bytes from the network, so it trusts no count: every
 * length is checked against the bytes left before it is used, and nothing
 * is allocated in proportion to a declared count, only to bytes present.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hq.h"
#include "common/xmalloc.h"
#include "worker/dqwire.h"

/* The name of the VFS an OPEN asks for. dqlite 1.11 ignores it (each
 * database of a node uses the node's own replicating VFS); this is what
 * go-dqlite, the reference client, sends, so no server that accepts that
 * client refuses this one. */
#define DQ_OPEN_VFS	"volatile"

static size_t
dq_pad(size_t n)
{
	return (n + DQ_WORD - 1) / DQ_WORD * DQ_WORD;
}

/* Encoding: appends to a pbuf, whose growth cannot fail. */

static void
dq_put_zero(struct pbuf *b, size_t n)
{
	pbuf_reserve(b, n);
	memset(b->data + b->len, 0, n);
	b->len += n;
}

static void
dq_put_le(struct pbuf *b, uint64_t v, size_t n)
{
	size_t	i;

	pbuf_reserve(b, n);
	for (i = 0; i < n; i++)
		b->data[b->len++] = (char)(v >> (8 * i));
}

void
dq_put_u64(struct pbuf *b, uint64_t v)
{
	dq_put_le(b, v, 8);
}

void
dq_put_text(struct pbuf *b, const char *s, size_t len)
{
	size_t	n = dq_pad(len + 1);

	pbuf_reserve(b, n);
	if (len > 0)
		memcpy(b->data + b->len, s, len);
	memset(b->data + b->len + len, 0, n - len);
	b->len += n;
}

void
dq_put_blob(struct pbuf *b, const char *p, size_t len)
{
	size_t	n = dq_pad(len);

	dq_put_u64(b, len);
	pbuf_reserve(b, n);
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	memset(b->data + b->len + len, 0, n - len);
	b->len += n;
}

static uint8_t
dq_param_type(const struct entry_param *p)
{
	switch (p->type) {
	case ENTRY_PARAM_INT:
		return DQ_INTEGER;
	case ENTRY_PARAM_REAL:
		return DQ_FLOAT;
	case ENTRY_PARAM_TEXT:
		return DQ_TEXT;
	case ENTRY_PARAM_BLOB:
		return DQ_BLOB;
	case ENTRY_PARAM_NULL:
		break;
	}
	return DQ_NULL;
}

/*
 * The parameter tuple: a count byte, a type byte per value, zeros up to
 * the next word, then the values. No parameters: no tuple at all (the
 * server binds nothing when the body ends after the statement id).
 * Booleans need nothing of their own: entries carry them as integers
 * 1/0, and the server binds its BOOLEAN type as that same integer.
 */
static void
dq_put_params(struct pbuf *b, const struct entry_param *params, size_t n)
{
	const struct entry_param *p;
	size_t	 i;
	uint64_t bits;

	if (n == 0)
		return;
	pbuf_reserve(b, dq_pad(1 + n));
	b->data[b->len++] = (char)n;
	for (i = 0; i < n; i++)
		b->data[b->len++] = (char)dq_param_type(&params[i]);
	dq_put_zero(b, dq_pad(1 + n) - (1 + n));
	for (i = 0; i < n; i++) {
		p = &params[i];
		switch (p->type) {
		case ENTRY_PARAM_INT:
			dq_put_u64(b, (uint64_t)p->i);
			break;
		case ENTRY_PARAM_REAL:
			memcpy(&bits, &p->d, sizeof(bits));
			dq_put_u64(b, bits);
			break;
		case ENTRY_PARAM_TEXT:
			dq_put_text(b, p->p, p->len);
			break;
		case ENTRY_PARAM_BLOB:
			dq_put_blob(b, p->p, p->len);
			break;
		case ENTRY_PARAM_NULL:
			dq_put_u64(b, 0);
			break;
		}
	}
}

/* What the wire cannot carry is refused before a byte is written: the
 * server reads a text up to its first NUL, so a NUL inside one would cut
 * it short (a parameter) or desynchronise the rest of the body (SQL). */
static int
dq_req_check(const struct dq_req *q, char *err, size_t errlen)
{
	size_t	i;

	if (q->text_len > 0 && memchr(q->text, '\0', q->text_len) != NULL) {
		snprintf(err, errlen, "%s contains a NUL byte (dqlite text "
		    "ends at the first NUL)", q->type == DQ_REQ_OPEN ?
		    "the database name" : q->type == DQ_REQ_ADD ?
		    "the address" : "the SQL");
		return -1;
	}
	if (q->nparams > DQ_MAX_PARAMS) {
		snprintf(err, errlen, "%zu parameters: dqlite binds at most %d "
		    "per statement", q->nparams, DQ_MAX_PARAMS);
		return -1;
	}
	for (i = 0; i < q->nparams; i++) {
		const struct entry_param *p = &q->params[i];

		if (p->type == ENTRY_PARAM_TEXT && p->len > 0 &&
		    memchr(p->p, '\0', p->len) != NULL) {
			snprintf(err, errlen, "text parameter %zu contains a "
			    "NUL byte (dqlite text ends at the first NUL; "
			    "send it as a blob)", i + 1);
			return -1;
		}
	}
	return 0;
}

int
dq_req_encode(const struct dq_req *q, struct pbuf *out, char *err,
    size_t errlen)
{
	size_t	 start = out->len, body;

	if (dq_req_check(q, err, errlen) == -1)
		return -1;
	dq_put_zero(out, DQ_HDR);
	switch (q->type) {
	case DQ_REQ_LEADER:
		dq_put_u64(out, 0);	/* unused */
		break;
	case DQ_REQ_CLIENT:
	case DQ_REQ_INTERRUPT:
	case DQ_REQ_REMOVE:
		dq_put_u64(out, q->id);
		break;
	case DQ_REQ_ADD:
		dq_put_u64(out, q->id);
		dq_put_text(out, q->text, q->text_len);
		break;
	case DQ_REQ_ASSIGN:
		dq_put_u64(out, q->id);
		dq_put_u64(out, q->arg);
		break;
	case DQ_REQ_CLUSTER:
		dq_put_u64(out, q->arg);
		break;
	case DQ_REQ_OPEN:
		dq_put_text(out, q->text, q->text_len);
		dq_put_u64(out, 0);	/* flags */
		dq_put_text(out, DQ_OPEN_VFS, strlen(DQ_OPEN_VFS));
		break;
	case DQ_REQ_PREPARE:
		dq_put_u64(out, q->id);
		dq_put_text(out, q->text, q->text_len);
		break;
	case DQ_REQ_EXEC:
	case DQ_REQ_QUERY:
	case DQ_REQ_FINALIZE:
		/* Here the db id is 32 bits, followed by the statement's. */
		dq_put_le(out, (uint32_t)q->id, 4);
		dq_put_le(out, q->stmt, 4);
		if (q->type != DQ_REQ_FINALIZE)
			dq_put_params(out, q->params, q->nparams);
		break;
	case DQ_REQ_EXEC_SQL:
	case DQ_REQ_QUERY_SQL:
		dq_put_u64(out, q->id);
		dq_put_text(out, q->text, q->text_len);
		dq_put_params(out, q->params, q->nparams);
		break;
	default:
		out->len = start;
		snprintf(err, errlen, "request type %d is not supported",
		    (int)q->type);
		return -1;
	}
	body = out->len - start - DQ_HDR;
	if (body / DQ_WORD > UINT32_MAX) {
		out->len = start;
		snprintf(err, errlen, "request of %zu bytes is too large", body);
		return -1;
	}
	out->len = start;
	dq_put_le(out, body / DQ_WORD, 4);
	dq_put_le(out, (uint64_t)q->type, 1);
	out->len = start + DQ_HDR + body;	/* schema 0 and unused: zeros */
	return 0;
}

/* n little-endian bytes at p, which the caller has checked are there. */
static uint64_t
dq_le(const unsigned char *p, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int
dq_hdr_decode(const unsigned char b[DQ_HDR], struct dq_hdr *h)
{
	h->words = (uint32_t)dq_le(b, 4);
	h->type = b[4];
	h->schema = b[5];
	/* Every response has a body; every one this client asks for is of
	 * schema 0. */
	return h->words == 0 || h->schema != 0 ? -1 : 0;
}

/* Decoding: a cursor over the body; each getter fails rather than read
 * past its end. */

struct dq_cur {
	const unsigned char	*p;
	size_t			 left;
	char			*err;
	size_t			 errlen;
};

static int
dq_fail(struct dq_cur *c, const char *what)
{
	snprintf(c->err, c->errlen, "%s", what);
	return -1;
}

static int
dq_get_le(struct dq_cur *c, size_t n, uint64_t *v)
{
	if (c->left < n)
		return dq_fail(c, "body ends inside a number");
	*v = dq_le(c->p, n);
	c->p += n;
	c->left -= n;
	return 0;
}

static int
dq_get_u64(struct dq_cur *c, uint64_t *v)
{
	return dq_get_le(c, 8, v);
}

static int
dq_get_u32(struct dq_cur *c, uint32_t *v)
{
	uint64_t	x;

	if (dq_get_le(c, 4, &x) == -1)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int
dq_get_text(struct dq_cur *c, const char **s, size_t *lenp)
{
	const unsigned char	*nul;
	size_t			 len, n;

	if ((nul = memchr(c->p, '\0', c->left)) == NULL)
		return dq_fail(c, "text without its NUL");
	len = (size_t)(nul - c->p);
	if ((n = dq_pad(len + 1)) > c->left)
		return dq_fail(c, "text padding past the body");
	*s = (const char *)c->p;
	if (lenp != NULL)
		*lenp = len;
	c->p += n;
	c->left -= n;
	return 0;
}

static int
dq_get_blob(struct dq_cur *c, const char **p, size_t *lenp)
{
	uint64_t	len;

	if (dq_get_u64(c, &len) == -1)
		return -1;
	/* Compared before padding, so a huge length cannot wrap. */
	if (len > c->left || dq_pad((size_t)len) > c->left)
		return dq_fail(c, "blob longer than the body");
	*p = (const char *)c->p;
	*lenp = (size_t)len;
	c->p += dq_pad((size_t)len);
	c->left -= dq_pad((size_t)len);
	return 0;
}

static int
dq_get_value(struct dq_cur *c, unsigned code, struct dq_value *v)
{
	uint64_t	x;

	memset(v, 0, sizeof(*v));
	v->wire = (uint8_t)code;
	switch (code) {
	case DQ_INTEGER:
	case DQ_UNIXTIME:
	case DQ_BOOLEAN:
		v->type = DQ_INTEGER;
		if (dq_get_u64(c, &x) == -1)
			return -1;
		v->i = (int64_t)x;
		return 0;
	case DQ_FLOAT:
		v->type = DQ_FLOAT;
		if (dq_get_u64(c, &x) == -1)
			return -1;
		memcpy(&v->d, &x, sizeof(v->d));
		return 0;
	case DQ_TEXT:
	case DQ_ISO8601:
		v->type = DQ_TEXT;
		if (dq_get_text(c, &v->p, &v->len) == -1)
			return -1;
		/* The server sends a NULL of a DATETIME column as "" (it
		 * cannot say NULL with that code); read it back as NULL, as
		 * go-dqlite does. */
		if (code == DQ_ISO8601 && v->len == 0) {
			v->type = DQ_NULL;
			v->p = NULL;
		}
		return 0;
	case DQ_BLOB:
		v->type = DQ_BLOB;
		return dq_get_blob(c, &v->p, &v->len);
	case DQ_NULL:
		v->type = DQ_NULL;
		return dq_get_u64(c, &x);	/* a word, any value */
	default:
		snprintf(c->err, c->errlen, "unknown value type code %u", code);
		return -1;
	}
}

/* Room for one more row of ncols values. The count never outgrows the
 * bytes: each value takes at least one word of the body. */
static void
dq_rows_grow(struct dq_rows *rows)
{
	size_t	ncap;

	if (rows->nrows < rows->cap)
		return;
	ncap = rows->cap ? rows->cap * 2 : 16;
	rows->vals = xreallocarray(rows->vals, ncap * rows->ncols,
	    sizeof(*rows->vals));
	rows->cap = ncap;
}

/* The column count and names that open every ROWS message. The first
 * part sets them; the following ones must repeat them. */
static int
dq_rows_columns(struct dq_cur *c, struct dq_rows *rows)
{
	uint64_t	 n;
	const char	*name;
	size_t		 i;
	bool		 first = rows->names == NULL;

	if (dq_get_u64(c, &n) == -1)
		return -1;
	/* Each name takes at least a word: a count beyond that is a lie,
	 * and is refused before anything is sized by it. */
	if (n == 0 || n > c->left / DQ_WORD)
		return dq_fail(c, "column count out of range");
	if (first) {
		rows->ncols = (size_t)n;
		rows->names = xcalloc((size_t)n, sizeof(*rows->names));
	} else if (n != rows->ncols)
		return dq_fail(c, "column count changed between parts");
	for (i = 0; i < (size_t)n; i++) {
		if (dq_get_text(c, &name, NULL) == -1)
			return -1;
		if (first)
			rows->names[i] = name;
		else if (strcmp(name, rows->names[i]) != 0)
			return dq_fail(c, "column names changed between parts");
	}
	return 0;
}

/*
 * Rows until the end marker. A row is a header of 4-bit type codes (two a
 * byte, low nibble first, zero-padded to a word) and the values. The
 * marker stands where the next header would: its bytes, 0xee or 0xff,
 * are no valid pair of codes.
 */
static int
dq_rows_decode(struct dq_cur *c, struct dq_rows *rows, bool *more)
{
	const unsigned char	*hdr;
	size_t			 hbytes, i;
	uint64_t		 w;
	unsigned		 code;

	if (dq_rows_columns(c, rows) == -1)
		return -1;
	hbytes = dq_pad((rows->ncols + 1) / 2);
	for (;;) {
		if (c->left < DQ_WORD)
			return dq_fail(c, "rows without an end marker");
		w = dq_le(c->p, DQ_WORD);
		if (w == DQ_ROWS_PART || w == DQ_ROWS_DONE) {
			c->p += DQ_WORD;
			c->left -= DQ_WORD;
			*more = w == DQ_ROWS_PART;
			return 0;
		}
		if (c->left < hbytes)
			return dq_fail(c, "row header past the body");
		hdr = c->p;
		c->p += hbytes;
		c->left -= hbytes;
		for (i = rows->ncols; i < hbytes * 2; i++)
			if ((hdr[i / 2] >> (4 * (i % 2)) & 0x0f) != 0)
				return dq_fail(c, "row header padding is not "
				    "zero");
		dq_rows_grow(rows);
		for (i = 0; i < rows->ncols; i++) {
			code = hdr[i / 2] >> (4 * (i % 2)) & 0x0f;
			if (dq_get_value(c, code,
			    &rows->vals[rows->nrows * rows->ncols + i]) == -1)
				return -1;
		}
		rows->nrows++;
	}
}

/*
 * A FAILURE: code and message. In answer to a query, dqlite 1.11 may put
 * the column count and names before them (the batch had written them
 * when the statement failed): skipped then. The two cannot be mistaken
 * for each other, as the skipped form is always longer than one plain
 * FAILURE and the plain one must fill the body.
 */
static int
dq_failure_decode(struct dq_cur *c, struct dq_resp *r, bool query)
{
	struct dq_cur	start = *c;
	uint64_t	n, i;
	const char	*name;

	if (dq_get_u64(c, &r->code) == 0 &&
	    dq_get_text(c, &r->message, NULL) == 0 && (c->left == 0 || !query))
		return 0;
	if (!query)
		return -1;
	*c = start;
	if (dq_get_u64(c, &n) == -1 || n == 0 || n > c->left / DQ_WORD)
		return dq_fail(c, "FAILURE of a query: bad column prefix");
	for (i = 0; i < n; i++)
		if (dq_get_text(c, &name, NULL) == -1)
			return -1;
	return dq_get_u64(c, &r->code) == -1 ||
	    dq_get_text(c, &r->message, NULL) == -1 ? -1 : 0;
}

/* SERVERS, format 1: a count, then each member's id, address and role.
 * Each member takes at least three words, so a count the body cannot hold
 * is refused before anything is read by it. */
static int
dq_servers_decode(struct dq_cur *c, struct dq_resp *r)
{
	struct dq_server *sv;
	uint64_t	  n, i;

	if (dq_get_u64(c, &n) == -1)
		return -1;
	if (n > c->left / (3 * DQ_WORD))
		return dq_fail(c, "member count out of range");
	if (n > DQ_MAX_SERVERS)
		return dq_fail(c, "more members than this client takes");
	for (i = 0; i < n; i++) {
		sv = &r->servers[i];
		if (dq_get_u64(c, &sv->id) == -1 ||
		    dq_get_text(c, &sv->address, NULL) == -1 ||
		    dq_get_u64(c, &sv->role) == -1)
			return -1;
		if (strlen(sv->address) > DQ_MAX_ADDR)
			return dq_fail(c, "member address too long");
	}
	r->nservers = (size_t)n;
	return 0;
}

int
dq_resp_decode(uint8_t type, const void *body, size_t len, struct dq_resp *r,
    struct dq_rows *rows, char *err, size_t errlen)
{
	struct dq_cur	c = { body, len, err, errlen };
	int		rc = -1;
	uint64_t	unused;

	memset(r, 0, sizeof(*r));
	r->type = type;
	if (len == 0 || len % DQ_WORD != 0)
		return dq_fail(&c, "body is not a whole number of words");
	switch (type) {
	case DQ_RESP_FAILURE:
		rc = dq_failure_decode(&c, r, rows != NULL);
		break;
	case DQ_RESP_SERVER:
		rc = dq_get_u64(&c, &r->node_id) == -1 ||
		    dq_get_text(&c, &r->address, NULL) == -1 ? -1 : 0;
		if (rc == 0 && strlen(r->address) > DQ_MAX_ADDR)
			rc = dq_fail(&c, "leader address too long");
		break;
	case DQ_RESP_WELCOME:
		rc = dq_get_u64(&c, &r->heartbeat_ms);
		break;
	case DQ_RESP_SERVERS:
		rc = dq_servers_decode(&c, r);
		break;
	case DQ_RESP_DB:
		rc = dq_get_u32(&c, &r->db_id) == -1 ||
		    dq_get_le(&c, 4, &unused) == -1 ? -1 : 0;
		break;
	case DQ_RESP_STMT:
		rc = dq_get_u32(&c, &r->db_id) == -1 ||
		    dq_get_u32(&c, &r->stmt_id) == -1 ||
		    dq_get_u64(&c, &r->nparams) == -1 ? -1 : 0;
		break;
	case DQ_RESP_RESULT:
		rc = dq_get_u64(&c, &r->last_insert_id) == -1 ||
		    dq_get_u64(&c, &r->rows_affected) == -1 ? -1 : 0;
		break;
	case DQ_RESP_EMPTY:
		rc = dq_get_u64(&c, &unused);
		break;
	case DQ_RESP_ROWS:
		if (rows == NULL)
			return dq_fail(&c, "rows where none were expected");
		rc = dq_rows_decode(&c, rows, &r->more);
		break;
	default:
		snprintf(err, errlen, "unknown response type %u", type);
		return -1;
	}
	if (rc == 0 && c.left != 0) {
		snprintf(err, errlen, "%zu bytes after the %s response",
		    c.left, dq_resp_name(type));
		rc = -1;
	}
	return rc;
}

void
dq_rows_free(struct dq_rows *rows)
{
	size_t	i;

	for (i = 0; i < rows->nparts; i++)
		free(rows->parts[i]);
	free(rows->parts);
	free(rows->names);
	free(rows->vals);
	memset(rows, 0, sizeof(*rows));
}

const struct dq_value *
dq_rows_at(const struct dq_rows *rows, size_t row, size_t col)
{
	return &rows->vals[row * rows->ncols + col];
}

const char *
dq_resp_name(uint8_t type)
{
	static const char *names[DQ_RESP_MAX_] = {
		[DQ_RESP_FAILURE] = "FAILURE", [DQ_RESP_SERVER] = "SERVER",
		[DQ_RESP_WELCOME] = "WELCOME", [DQ_RESP_SERVERS] = "SERVERS",
		[DQ_RESP_DB] = "DB",
		[DQ_RESP_STMT] = "STMT", [DQ_RESP_RESULT] = "RESULT",
		[DQ_RESP_ROWS] = "ROWS", [DQ_RESP_EMPTY] = "EMPTY",
	};

	if (type >= DQ_RESP_MAX_ || names[type] == NULL)
		return "?";
	return names[type];
}

const char *
dq_role_name(uint64_t role)
{
	switch (role) {
	case DQ_ROLE_VOTER:
		return "voter";
	case DQ_ROLE_STANDBY:
		return "standby";
	case DQ_ROLE_SPARE:
		return "spare";
	}
	return "?";
}

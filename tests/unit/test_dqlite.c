/* SPDX-License-Identifier: MIT */
/*
 * test_dqlite.c: the dqlite client (worker/dqwire.c, worker/dqlite.c).
 *
 * `test_dqlite [NAME]`: the wire format without a network: the bytes of
 * each request against the layouts of the protocol document, responses
 * built word by word and decoded, the decoder's refusals.
 *
 * `test_dqlite node [NAME]`: against real dqlite nodes, go-dqlite's
 * dqlite-demo (Debian package go-dqlite; HQ_DQLITE_DEMO overrides the
 * path), started on free localhost ports in the test's temp dir: types
 * through a table and back (and through the `dqlite` shell), failures and
 * their codes, a transaction with savepoints, a node killed or stopped
 * under the client, a 3-node cluster with a leader to find and lose, the
 * rows of a long result in several parts, and the latency of an EXEC.
 * Exit 77 (skipped) when dqlite-demo is not installed.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>

#include "common/hq.h"
#include "common/now.h"
#include "worker/dqlite.h"
#include "tests/unit/hqtest.h"

#define ERRLEN	512
#define DBNAME	"hqtest"
/* A literal SQL text and its length, as the client takes them. */
#define SQL(s)	(s), strlen(s)

static struct entry_param
P_INT(int64_t v)
{
	struct entry_param	p = { .type = ENTRY_PARAM_INT, .i = v };

	return p;
}

static struct entry_param
P_REAL(double v)
{
	struct entry_param	p = { .type = ENTRY_PARAM_REAL, .d = v };

	return p;
}

static struct entry_param
P_TEXT(const char *s)
{
	struct entry_param	p = { .type = ENTRY_PARAM_TEXT, .p = s };

	p.len = strlen(s);
	return p;
}

static struct entry_param
P_BLOB(const char *b, size_t len)
{
	struct entry_param	p = { .type = ENTRY_PARAM_BLOB, .p = b,
				      .len = len };

	return p;
}

static struct entry_param
P_NULL(void)
{
	struct entry_param	p = { .type = ENTRY_PARAM_NULL };

	return p;
}

/* The frame of q, or an empty buffer if it is refused. */
static struct pbuf
enc(const struct dq_req *q)
{
	struct pbuf	b = { 0 };
	char		err[ERRLEN];

	if (dq_req_encode(q, &b, err, sizeof(err)) == -1)
		fprintf(stderr, "encode: %s\n", err);
	return b;
}

static bool
bytes_eq(const struct pbuf *b, const unsigned char *want, size_t len)
{
	size_t	i;

	if (b->len != len) {
		fprintf(stderr, "length %zu, want %zu\n", b->len, len);
		return false;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)b->data[i] != want[i]) {
			fprintf(stderr, "byte %zu: %02x, want %02x\n", i,
			    (unsigned char)b->data[i], want[i]);
			return false;
		}
	return true;
}

/* LEADER: one unused word. Header: 1 word, type 0, schema 0. */
static void
test_wire_leader(void)
{
	struct dq_req	q = { .type = DQ_REQ_LEADER };
	struct pbuf	b = enc(&q);
	static const unsigned char want[] = {
		1, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
	};

	CHECK(bytes_eq(&b, want, sizeof(want)));
	pbuf_free(&b);
}

/* OPEN: name, flags, vfs; texts NUL-terminated and padded to a word. */
static void
test_wire_open(void)
{
	struct dq_req	q = { .type = DQ_REQ_OPEN, .text = "hq",
			      .text_len = 2 };
	struct pbuf	b = enc(&q);
	static const unsigned char want[] = {
		4, 0, 0, 0, 3, 0, 0, 0,
		'h', 'q', 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		'v', 'o', 'l', 'a', 't', 'i', 'l', 'e',
		0, 0, 0, 0, 0, 0, 0, 0,
	};

	CHECK(bytes_eq(&b, want, sizeof(want)));
	pbuf_free(&b);
}

/* PREPARE: the db id as a word, then the SQL; a text of 7 bytes takes
 * exactly one word with its NUL. */
static void
test_wire_prepare(void)
{
	struct dq_req	q = { .type = DQ_REQ_PREPARE, .id = 0x0102,
			      .text = "SELECT1", .text_len = 7 };
	struct pbuf	b = enc(&q);
	static const unsigned char want[] = {
		2, 0, 0, 0, 4, 0, 0, 0,
		2, 1, 0, 0, 0, 0, 0, 0,
		'S', 'E', 'L', 'E', 'C', 'T', '1', 0,
	};

	CHECK(bytes_eq(&b, want, sizeof(want)));
	pbuf_free(&b);
}

/* EXEC: db id and statement id as 32 bits each, then the parameter
 * tuple: count, one type byte each, padding, the values. */
static void
test_wire_exec_params(void)
{
	static const char blob[] = { 0, 1, 2 };
	struct entry_param p[5];
	struct dq_req	q = { .type = DQ_REQ_EXEC, .id = 0, .stmt = 7,
			      .params = p, .nparams = 5 };
	struct pbuf	b;
	static const unsigned char want[] = {
		8, 0, 0, 0, 5, 0, 0, 0,
		0, 0, 0, 0, 7, 0, 0, 0,
		5, 1, 2, 3, 4, 5, 0, 0,
		0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* -2 */
		0, 0, 0, 0, 0, 0, 0xf8, 0x3f,			/* 1.5 */
		'h', 0xc3, 0xa9, 'l', 'l', 'o', 0, 0,		/* héllo */
		3, 0, 0, 0, 0, 0, 0, 0,				/* blob */
		0, 1, 2, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,				/* null */
	};

	p[0] = P_INT(-2);
	p[1] = P_REAL(1.5);
	p[2] = P_TEXT("h\xc3\xa9llo");
	p[3] = P_BLOB(blob, sizeof(blob));
	p[4] = P_NULL();
	b = enc(&q);
	CHECK(bytes_eq(&b, want, sizeof(want)));
	pbuf_free(&b);

	/* No parameters: no tuple at all, the body ends at the ids. */
	q.nparams = 0;
	b = enc(&q);
	CHECK_EQ_INT(b.len, 16);
	pbuf_free(&b);
}

/* The tuple header is the count byte and the type bytes padded to a
 * word: 7 parameters fit one word, 8 take two. EXEC_SQL's db id is a
 * whole word. */
static void
test_wire_params_header(void)
{
	struct entry_param p[8];
	struct dq_req	q = { .type = DQ_REQ_EXEC_SQL, .text = "x",
			      .text_len = 1, .params = p };
	struct pbuf	b;
	size_t		i;

	for (i = 0; i < nitems(p); i++)
		p[i] = P_INT((int64_t)i);
	q.nparams = 7;
	b = enc(&q);
	CHECK_EQ_INT(b.len, 8 + 8 + 8 + 8 + 7 * 8);
	CHECK_EQ_INT(b.data[24], 7);
	pbuf_free(&b);
	q.nparams = 8;
	b = enc(&q);
	CHECK_EQ_INT(b.len, 8 + 8 + 8 + 16 + 8 * 8);
	CHECK_EQ_INT(b.data[24], 8);
	CHECK_EQ_INT(b.data[32], 1);	/* the 8th type code */
	CHECK_EQ_INT(b.data[33], 0);	/* padding */
	pbuf_free(&b);
}

/* The membership requests: ADD (id, address), ASSIGN (id, role), REMOVE
 * (id), CLUSTER (format). */
static void
test_wire_admin(void)
{
	struct dq_req	add = { .type = DQ_REQ_ADD, .id = 0x0102030405060708ULL,
			      .text = "10.0.0.2:9001", .text_len = 13 };
	struct dq_req	assign = { .type = DQ_REQ_ASSIGN, .id = 7,
			      .arg = DQ_ROLE_VOTER };
	struct dq_req	rm = { .type = DQ_REQ_REMOVE, .id = 7 };
	struct dq_req	cl = { .type = DQ_REQ_CLUSTER,
			      .arg = DQ_CLUSTER_FORMAT };
	struct pbuf	b;
	static const unsigned char want_add[] = {
		3, 0, 0, 0, 12, 0, 0, 0,
		8, 7, 6, 5, 4, 3, 2, 1,
		'1', '0', '.', '0', '.', '0', '.', '2',
		':', '9', '0', '0', '1', 0, 0, 0,
	};
	static const unsigned char want_assign[] = {
		2, 0, 0, 0, 13, 0, 0, 0,
		7, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
	};
	static const unsigned char want_remove[] = {
		1, 0, 0, 0, 14, 0, 0, 0,
		7, 0, 0, 0, 0, 0, 0, 0,
	};
	static const unsigned char want_cluster[] = {
		1, 0, 0, 0, 16, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0, 0,
	};

	b = enc(&add);
	CHECK(bytes_eq(&b, want_add, sizeof(want_add)));
	pbuf_free(&b);
	b = enc(&assign);
	CHECK(bytes_eq(&b, want_assign, sizeof(want_assign)));
	pbuf_free(&b);
	b = enc(&rm);
	CHECK(bytes_eq(&b, want_remove, sizeof(want_remove)));
	pbuf_free(&b);
	b = enc(&cl);
	CHECK(bytes_eq(&b, want_cluster, sizeof(want_cluster)));
	pbuf_free(&b);
}

/* What the wire cannot carry is refused, and nothing is written. */
static void
test_wire_refusals(void)
{
	static struct entry_param p[DQ_MAX_PARAMS + 1];
	struct dq_req	q = { .type = DQ_REQ_EXEC, .params = p };
	struct pbuf	b = { 0 };
	char		err[ERRLEN] = "";
	size_t		i;

	for (i = 0; i < nitems(p); i++)
		p[i] = P_NULL();
	pbuf_add(&b, "keep", 4);
	b.len = 4;
	q.nparams = DQ_MAX_PARAMS + 1;
	CHECK(dq_req_encode(&q, &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "at most 255") != NULL);
	CHECK_EQ_INT(b.len, 4);
	q.nparams = DQ_MAX_PARAMS;
	CHECK(dq_req_encode(&q, &b, err, sizeof(err)) == 0);
	CHECK_EQ_INT((unsigned char)b.data[4 + 8 + 8], DQ_MAX_PARAMS);

	b.len = 4;
	p[1].type = ENTRY_PARAM_TEXT;
	p[1].p = "a\0b";
	p[1].len = 3;
	q.nparams = 2;
	CHECK(dq_req_encode(&q, &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "text parameter 2 contains a NUL") != NULL);
	CHECK_EQ_INT(b.len, 4);

	memset(&q, 0, sizeof(q));
	q.type = DQ_REQ_PREPARE;
	q.text = "SELECT 1;\0DROP";
	q.text_len = 14;
	CHECK(dq_req_encode(&q, &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "the SQL contains a NUL") != NULL);
	CHECK_EQ_INT(b.len, 4);
	pbuf_free(&b);
}

static void
test_wire_header(void)
{
	static const unsigned char ok[DQ_HDR] = { 2, 1, 0, 0, 7, 0, 0, 0 };
	static const unsigned char schema[DQ_HDR] = { 1, 0, 0, 0, 7, 1, 0, 0 };
	static const unsigned char none[DQ_HDR] = { 0, 0, 0, 0, 8, 0, 0, 0 };
	static const unsigned char big[DQ_HDR] = { 0xff, 0xff, 0xff, 0xff,
						   7, 0, 0, 0 };
	struct dq_hdr	h;

	CHECK(dq_hdr_decode(ok, &h) == 0);
	CHECK_EQ_INT(h.words, 258);
	CHECK_EQ_INT(h.type, DQ_RESP_ROWS);
	CHECK(dq_hdr_decode(schema, &h) == -1);
	CHECK(dq_hdr_decode(none, &h) == -1);
	CHECK(dq_hdr_decode(big, &h) == 0);
	CHECK_EQ_INT(h.words, UINT32_MAX);
}

static int
dec(uint8_t type, const struct pbuf *b, struct dq_resp *r)
{
	char	err[ERRLEN];

	return dq_resp_decode(type, b->data, b->len, r, NULL, err,
	    sizeof(err));
}

/* SERVERS whose count the body cannot hold, or that lists more members
 * than the client takes, or an overlong address: refused. */
static void
test_wire_servers_bad(void)
{
	struct pbuf	b = { 0 };
	struct dq_resp	r;
	char		addr[DQ_MAX_ADDR + 2];
	int		i;

	dq_put_u64(&b, 1000000);
	dq_put_u64(&b, 1);
	dq_put_text(&b, "a:1", 3);
	dq_put_u64(&b, 0);
	CHECK(dec(DQ_RESP_SERVERS, &b, &r) == -1);
	b.len = 0;
	dq_put_u64(&b, DQ_MAX_SERVERS + 1);
	for (i = 0; i <= DQ_MAX_SERVERS; i++) {
		dq_put_u64(&b, (uint64_t)i + 1);
		dq_put_text(&b, "a:1", 3);
		dq_put_u64(&b, 0);
	}
	CHECK(dec(DQ_RESP_SERVERS, &b, &r) == -1);
	/* The same list one member shorter is read whole. */
	b.len = 0;
	dq_put_u64(&b, DQ_MAX_SERVERS);
	for (i = 0; i < DQ_MAX_SERVERS; i++) {
		dq_put_u64(&b, (uint64_t)i + 1);
		dq_put_text(&b, "a:1", 3);
		dq_put_u64(&b, 0);
	}
	CHECK(dec(DQ_RESP_SERVERS, &b, &r) == 0);
	CHECK_EQ_INT(r.nservers, DQ_MAX_SERVERS);
	b.len = 0;
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	dq_put_u64(&b, 1);
	dq_put_u64(&b, 1);
	dq_put_text(&b, addr, strlen(addr));
	dq_put_u64(&b, 0);
	CHECK(dec(DQ_RESP_SERVERS, &b, &r) == -1);
	pbuf_free(&b);
	CHECK_EQ_STR(dq_role_name(DQ_ROLE_STANDBY), "standby");
	CHECK_EQ_STR(dq_role_name(9), "?");
}

/* Every fixed response, then each of its bodies cut short by a word and
 * grown by one: both refused. */
static void
test_wire_responses(void)
{
	struct pbuf	b[DQ_RESP_MAX_] = { { 0 } };
	struct dq_resp	r;
	size_t		t, len;
	char		err[ERRLEN];

	dq_put_u64(&b[DQ_RESP_FAILURE], 19);
	dq_put_text(&b[DQ_RESP_FAILURE], "UNIQUE constraint failed: t.k", 29);
	dq_put_u64(&b[DQ_RESP_SERVER], 42);
	dq_put_text(&b[DQ_RESP_SERVER], "127.0.0.1:9001", 14);
	dq_put_u64(&b[DQ_RESP_WELCOME], 15000);
	dq_put_u64(&b[DQ_RESP_DB], 0x1234);		/* id, pad */
	dq_put_u64(&b[DQ_RESP_STMT], 3 | (uint64_t)9 << 32);
	dq_put_u64(&b[DQ_RESP_STMT], 2);
	dq_put_u64(&b[DQ_RESP_RESULT], (uint64_t)-5);
	dq_put_u64(&b[DQ_RESP_RESULT], 1);
	dq_put_u64(&b[DQ_RESP_EMPTY], 0);
	dq_put_u64(&b[DQ_RESP_SERVERS], 2);
	dq_put_u64(&b[DQ_RESP_SERVERS], 1);
	dq_put_text(&b[DQ_RESP_SERVERS], "127.0.0.1:9001", 14);
	dq_put_u64(&b[DQ_RESP_SERVERS], DQ_ROLE_VOTER);
	dq_put_u64(&b[DQ_RESP_SERVERS], 0x9a3f00112233ULL);
	dq_put_text(&b[DQ_RESP_SERVERS], "hq-dqlite-1.hq-dqlite:9001", 26);
	dq_put_u64(&b[DQ_RESP_SERVERS], DQ_ROLE_SPARE);

	REQUIRE(dec(DQ_RESP_FAILURE, &b[DQ_RESP_FAILURE], &r) == 0);
	CHECK_EQ_INT(r.code, 19);
	CHECK_EQ_STR(r.message, "UNIQUE constraint failed: t.k");
	REQUIRE(dec(DQ_RESP_SERVER, &b[DQ_RESP_SERVER], &r) == 0);
	CHECK_EQ_INT(r.node_id, 42);
	CHECK_EQ_STR(r.address, "127.0.0.1:9001");
	REQUIRE(dec(DQ_RESP_WELCOME, &b[DQ_RESP_WELCOME], &r) == 0);
	CHECK_EQ_INT(r.heartbeat_ms, 15000);
	REQUIRE(dec(DQ_RESP_DB, &b[DQ_RESP_DB], &r) == 0);
	CHECK_EQ_INT(r.db_id, 0x1234);
	REQUIRE(dec(DQ_RESP_STMT, &b[DQ_RESP_STMT], &r) == 0);
	CHECK_EQ_INT(r.db_id, 3);
	CHECK_EQ_INT(r.stmt_id, 9);
	CHECK_EQ_INT(r.nparams, 2);
	REQUIRE(dec(DQ_RESP_RESULT, &b[DQ_RESP_RESULT], &r) == 0);
	CHECK_EQ_INT((int64_t)r.last_insert_id, -5);
	CHECK_EQ_INT(r.rows_affected, 1);
	REQUIRE(dec(DQ_RESP_EMPTY, &b[DQ_RESP_EMPTY], &r) == 0);
	REQUIRE(dec(DQ_RESP_SERVERS, &b[DQ_RESP_SERVERS], &r) == 0);
	REQUIRE(r.nservers == 2);
	CHECK_EQ_INT(r.servers[0].id, 1);
	CHECK_EQ_STR(r.servers[0].address, "127.0.0.1:9001");
	CHECK_EQ_STR(dq_role_name(r.servers[0].role), "voter");
	CHECK_EQ_INT(r.servers[1].id, 0x9a3f00112233ULL);
	CHECK_EQ_STR(r.servers[1].address, "hq-dqlite-1.hq-dqlite:9001");
	CHECK_EQ_STR(dq_role_name(r.servers[1].role), "spare");

	for (t = 0; t < DQ_RESP_MAX_; t++) {
		if (b[t].len == 0)
			continue;
		len = b[t].len;
		CHECK(dq_resp_decode((uint8_t)t, b[t].data, len - 8, &r, NULL,
		    err, sizeof(err)) == -1);
		CHECK(dq_resp_decode((uint8_t)t, b[t].data, len - 1, &r, NULL,
		    err, sizeof(err)) == -1);
		dq_put_u64(&b[t], 0);
		CHECK(dq_resp_decode((uint8_t)t, b[t].data, len + 8, &r, NULL,
		    err, sizeof(err)) == -1);
		CHECK(strstr(err, "bytes after the") != NULL ||
		    t == DQ_RESP_FAILURE || t == DQ_RESP_SERVER);
		pbuf_free(&b[t]);
	}

	/* A text whose NUL is missing, an unknown type, rows unasked. */
	dq_put_u64(&b[0], 1);
	pbuf_add(&b[0], "abcdefgh", 8);
	b[0].len = 16;
	CHECK(dec(DQ_RESP_FAILURE, &b[0], &r) == -1);
	CHECK(dec(11, &b[0], &r) == -1);
	CHECK(dec(DQ_RESP_MAX_ + 40, &b[0], &r) == -1);
	CHECK(dec(DQ_RESP_ROWS, &b[0], &r) == -1);
	pbuf_free(&b[0]);
}

/* dqlite 1.11 answers a query whose first step fails with the column
 * list and then the FAILURE, in one body: read as the FAILURE when the
 * answer is a query's, refused otherwise. */
static void
test_wire_failure_query(void)
{
	struct pbuf	 b = { 0 };
	struct dq_rows	 rows = { 0 };
	struct dq_resp	 r;
	char		 err[ERRLEN];

	dq_put_u64(&b, 2);
	dq_put_text(&b, "a", 1);
	dq_put_text(&b, "abs(-9223372036854775807 - 1)", 29);
	dq_put_u64(&b, SQLITE_ERROR);
	dq_put_text(&b, "integer overflow", 16);
	REQUIRE(dq_resp_decode(DQ_RESP_FAILURE, b.data, b.len, &r, &rows, err,
	    sizeof(err)) == 0);
	CHECK_EQ_INT(r.code, SQLITE_ERROR);
	CHECK_EQ_STR(r.message, "integer overflow");
	CHECK_EQ_INT(rows.nrows, 0);
	CHECK(dq_resp_decode(DQ_RESP_FAILURE, b.data, b.len, &r, NULL, err,
	    sizeof(err)) == -1);
	/* A column list that claims more names than there are. */
	b.data[0] = 9;
	CHECK(dq_resp_decode(DQ_RESP_FAILURE, b.data, b.len, &r, &rows, err,
	    sizeof(err)) == -1);
	dq_rows_free(&rows);
	pbuf_free(&b);
}

/* Builds a row: the header of 4-bit codes, then the values. */
static void
row_header(struct pbuf *b, const uint8_t *codes, size_t n)
{
	size_t	i, words = (n + 15) / 16;

	pbuf_reserve(b, words * 8);
	memset(b->data + b->len, 0, words * 8);
	for (i = 0; i < n; i++)
		b->data[b->len + i / 2] |= (char)(codes[i] << (4 * (i % 2)));
	b->len += words * 8;
}

static void
rows_columns(struct pbuf *b, const char *const *names, size_t n)
{
	size_t	i;

	dq_put_u64(b, n);
	for (i = 0; i < n; i++)
		dq_put_text(b, names[i], strlen(names[i]));
}

/* A result set in two parts: every value type of a row, the marker of a
 * part, and the same columns again in the second. */
static void
test_wire_rows(void)
{
	static const char *const names[] = { "i", "r", "t", "b", "n", "u",
					     "d", "o" };
	static const uint8_t codes[] = { DQ_INTEGER, DQ_FLOAT, DQ_TEXT,
					 DQ_BLOB, DQ_NULL, DQ_UNIXTIME,
					 DQ_ISO8601, DQ_BOOLEAN };
	struct pbuf	p1 = { 0 }, p2 = { 0 };
	struct dq_rows	rows = { 0 };
	struct dq_resp	r;
	const struct dq_value *v;
	char		err[ERRLEN];
	double		x = -0.25;
	uint64_t	bits;

	memcpy(&bits, &x, sizeof(bits));
	rows_columns(&p1, names, 8);
	row_header(&p1, codes, 8);
	dq_put_u64(&p1, (uint64_t)INT64_MIN);
	dq_put_u64(&p1, bits);
	dq_put_text(&p1, "abc", 3);
	dq_put_blob(&p1, "\0\1\2\3\4\5\6\7\10", 9);
	dq_put_u64(&p1, 0);
	dq_put_u64(&p1, 1700000000);
	dq_put_text(&p1, "2024-01-02 03:04:05", 19);
	dq_put_u64(&p1, 1);
	dq_put_u64(&p1, DQ_ROWS_PART);

	rows_columns(&p2, names, 8);
	row_header(&p2, codes, 8);
	dq_put_u64(&p2, 7);
	dq_put_u64(&p2, bits);
	dq_put_text(&p2, "", 0);
	dq_put_blob(&p2, NULL, 0);
	dq_put_u64(&p2, 0);
	dq_put_u64(&p2, 0);
	dq_put_text(&p2, "", 0);	/* how a NULL DATETIME comes */
	dq_put_u64(&p2, 0);
	dq_put_u64(&p2, DQ_ROWS_DONE);

	REQUIRE(dq_resp_decode(DQ_RESP_ROWS, p1.data, p1.len, &r, &rows, err,
	    sizeof(err)) == 0);
	CHECK(r.more);
	REQUIRE(dq_resp_decode(DQ_RESP_ROWS, p2.data, p2.len, &r, &rows, err,
	    sizeof(err)) == 0);
	CHECK(!r.more);
	REQUIRE(rows.ncols == 8 && rows.nrows == 2);
	CHECK_EQ_STR(rows.names[6], "d");
	v = dq_rows_at(&rows, 0, 0);
	CHECK(v->type == DQ_INTEGER && v->i == INT64_MIN);
	v = dq_rows_at(&rows, 0, 1);
	CHECK(v->type == DQ_FLOAT && v->d == -0.25);
	v = dq_rows_at(&rows, 0, 2);
	CHECK(v->type == DQ_TEXT && v->len == 3 && strcmp(v->p, "abc") == 0);
	v = dq_rows_at(&rows, 0, 3);
	CHECK(v->type == DQ_BLOB && v->len == 9 && v->p[8] == 8);
	CHECK(dq_rows_at(&rows, 0, 4)->type == DQ_NULL);
	v = dq_rows_at(&rows, 0, 5);
	CHECK(v->type == DQ_INTEGER && v->wire == DQ_UNIXTIME &&
	    v->i == 1700000000);
	v = dq_rows_at(&rows, 0, 6);
	CHECK(v->type == DQ_TEXT && v->wire == DQ_ISO8601 && v->len == 19);
	v = dq_rows_at(&rows, 0, 7);
	CHECK(v->type == DQ_INTEGER && v->wire == DQ_BOOLEAN && v->i == 1);
	v = dq_rows_at(&rows, 1, 2);
	CHECK(v->type == DQ_TEXT && v->len == 0);
	v = dq_rows_at(&rows, 1, 3);
	CHECK(v->type == DQ_BLOB && v->len == 0);
	v = dq_rows_at(&rows, 1, 6);
	CHECK(v->type == DQ_NULL && v->wire == DQ_ISO8601);
	dq_rows_free(&rows);

	/* A later part with other columns is refused. */
	REQUIRE(dq_resp_decode(DQ_RESP_ROWS, p1.data, p1.len, &r, &rows, err,
	    sizeof(err)) == 0);
	p2.data[0] = 7;
	CHECK(dq_resp_decode(DQ_RESP_ROWS, p2.data, p2.len, &r, &rows, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "column") != NULL);
	dq_rows_free(&rows);
	pbuf_free(&p1);
	pbuf_free(&p2);
}

/* 17 columns take a row header of two words; no rows at all is a
 * column list and DONE. */
static void
test_wire_rows_wide(void)
{
	const char	*names[17];
	uint8_t		 codes[17];
	struct pbuf	 b = { 0 };
	struct dq_rows	 rows = { 0 };
	struct dq_resp	 r;
	char		 err[ERRLEN];
	size_t		 i;

	for (i = 0; i < 17; i++) {
		names[i] = "c";
		codes[i] = DQ_INTEGER;
	}
	rows_columns(&b, names, 17);
	dq_put_u64(&b, DQ_ROWS_DONE);
	REQUIRE(dq_resp_decode(DQ_RESP_ROWS, b.data, b.len, &r, &rows, err,
	    sizeof(err)) == 0);
	CHECK_EQ_INT(rows.nrows, 0);
	CHECK_EQ_INT(rows.ncols, 17);
	dq_rows_free(&rows);

	b.len -= 8;
	row_header(&b, codes, 17);
	CHECK_EQ_INT(b.len, 8 + 17 * 8 + 16);
	for (i = 0; i < 17; i++)
		dq_put_u64(&b, i);
	dq_put_u64(&b, DQ_ROWS_DONE);
	REQUIRE(dq_resp_decode(DQ_RESP_ROWS, b.data, b.len, &r, &rows, err,
	    sizeof(err)) == 0);
	CHECK_EQ_INT(rows.nrows, 1);
	CHECK_EQ_INT(dq_rows_at(&rows, 0, 16)->i, 16);
	dq_rows_free(&rows);
	pbuf_free(&b);
}

/* Malformed rows: each refused, none read past its body. */
static void
test_wire_rows_bad(void)
{
	static const char *const one[] = { "x" };
	struct pbuf	 b = { 0 };
	struct dq_rows	 rows = { 0 };
	struct dq_resp	 r;
	char		 err[ERRLEN];
	uint8_t		 code;

#define ROWS_BAD(what) do {						\
	CHECK(dq_resp_decode(DQ_RESP_ROWS, b.data, b.len, &r, &rows, err,\
	    sizeof(err)) == -1);					\
	CHECK(strstr(err, what) != NULL);				\
	dq_rows_free(&rows);						\
	b.len = 0;							\
} while (0)

	dq_put_u64(&b, 1000000);		/* columns: more than bytes */
	dq_put_text(&b, "x", 1);
	dq_put_u64(&b, DQ_ROWS_DONE);
	ROWS_BAD("column count");

	dq_put_u64(&b, 0);			/* no columns */
	dq_put_u64(&b, DQ_ROWS_DONE);
	ROWS_BAD("column count");

	rows_columns(&b, one, 1);		/* no end marker */
	ROWS_BAD("end marker");

	code = 6;				/* no such type */
	rows_columns(&b, one, 1);
	row_header(&b, &code, 1);
	dq_put_u64(&b, 0);
	dq_put_u64(&b, DQ_ROWS_DONE);
	ROWS_BAD("type code 6");

	code = DQ_INTEGER;			/* padding nibble not zero */
	rows_columns(&b, one, 1);
	row_header(&b, &code, 1);
	b.data[b.len - 8] |= 0x30;
	dq_put_u64(&b, 0);
	dq_put_u64(&b, DQ_ROWS_DONE);
	ROWS_BAD("padding");

	code = DQ_BLOB;				/* blob longer than the body */
	rows_columns(&b, one, 1);
	row_header(&b, &code, 1);
	dq_put_u64(&b, UINT64_MAX - 3);
	dq_put_u64(&b, DQ_ROWS_DONE);
	ROWS_BAD("blob");

	code = DQ_INTEGER;			/* value cut off */
	rows_columns(&b, one, 1);
	row_header(&b, &code, 1);
	ROWS_BAD("ends inside a number");

	code = DQ_INTEGER;			/* words after DONE */
	rows_columns(&b, one, 1);
	dq_put_u64(&b, DQ_ROWS_DONE);
	dq_put_u64(&b, 0);
	ROWS_BAD("bytes after");
	pbuf_free(&b);
#undef ROWS_BAD
}

static void
test_uri(void)
{
	char	*nodes, *name, err[ERRLEN];
	struct dq_client c;

	REQUIRE(dq_parse_uri("dqlite://127.0.0.1:9001,[::1]:9002/hive", &nodes,
	    &name, err, sizeof(err)) == 0);
	CHECK_EQ_STR(nodes, "127.0.0.1:9001,[::1]:9002");
	CHECK_EQ_STR(name, "hive");
	REQUIRE(dq_init(&c, nodes, name, err, sizeof(err)) == 0);
	CHECK_EQ_INT(c.nnodes, 2);
	CHECK_EQ_STR(c.nodes[1], "[::1]:9002");
	CHECK(!dq_connected(&c));
	dq_free(&c);
	free(nodes);
	free(name);

	CHECK(dq_parse_uri("sqlite:///x", &nodes, &name, err,
	    sizeof(err)) == -1);
	CHECK(dq_parse_uri("dqlite://h:1", &nodes, &name, err,
	    sizeof(err)) == -1);
	CHECK(dq_parse_uri("dqlite:///db", &nodes, &name, err,
	    sizeof(err)) == -1);
	CHECK(dq_parse_uri("dqlite://h:1/a/b", &nodes, &name, err,
	    sizeof(err)) == -1);
	CHECK(dq_init(&c, "h:1,:2", "db", err, sizeof(err)) == -1);
	CHECK(strstr(err, "':2'") != NULL);
	CHECK(dq_init(&c, "h", "db", err, sizeof(err)) == -1);
	CHECK(dq_init(&c, "h:99999", "db", err, sizeof(err)) == -1);
	CHECK(dq_init(&c, ",", "db", err, sizeof(err)) == -1);
	CHECK(dq_init(&c, "h:1", "", err, sizeof(err)) == -1);
}

static void
test_codes(void)
{
	CHECK_EQ_INT(dq_sqlite_code(SQLITE_CONSTRAINT_UNIQUE),
	    SQLITE_CONSTRAINT_UNIQUE);
	CHECK_EQ_INT(dq_sqlite_code(DQ_IOERR_NOT_LEADER) & 0xff, SQLITE_IOERR);
	CHECK_EQ_INT(dq_sqlite_code(DQ_CODE_PARSE), SQLITE_PROTOCOL);
	CHECK_EQ_INT(dq_sqlite_code(0), SQLITE_ERROR);
	CHECK_EQ_INT(dq_sqlite_code(UINT64_MAX), SQLITE_ERROR);
	CHECK(dq_code_leader(DQ_IOERR_LEADERSHIP_LOST));
	CHECK(!dq_code_leader(SQLITE_IOERR));
}

/* A client that was never connected says so, and sends nothing. */
static void
test_not_connected(void)
{
	struct dq_client c;
	char		 err[ERRLEN];

	REQUIRE(dq_init(&c, "127.0.0.1:1", DBNAME, err, sizeof(err)) == 0);
	CHECK(dq_exec_sql(&c, SQL("SELECT 1"), NULL, 0, NULL) == DQ_ELOST);
	CHECK(c.lost == DQ_LOST_CLOSED);
	/* Port 1 on loopback refuses at once: no leader, with the reason. */
	CHECK(dq_connect(&c) == DQ_ENOLEADER);
	CHECK(strstr(c.err, "127.0.0.1:1: Connection refused") != NULL);
	dq_free(&c);
}

static const struct hqtest wire_tests[] = {
	{ "wire_leader", test_wire_leader },
	{ "wire_open", test_wire_open },
	{ "wire_prepare", test_wire_prepare },
	{ "wire_exec_params", test_wire_exec_params },
	{ "wire_params_header", test_wire_params_header },
	{ "wire_refusals", test_wire_refusals },
	{ "wire_admin", test_wire_admin },
	{ "wire_servers_bad", test_wire_servers_bad },
	{ "wire_header", test_wire_header },
	{ "wire_responses", test_wire_responses },
	{ "wire_failure_query", test_wire_failure_query },
	{ "wire_rows", test_wire_rows },
	{ "wire_rows_wide", test_wire_rows_wide },
	{ "wire_rows_bad", test_wire_rows_bad },
	{ "uri", test_uri },
	{ "codes", test_codes },
	{ "not_connected", test_not_connected },
};

/*
 * Real nodes: dqlite-demo processes. Each gets a database port and an API
 * port (the demo's HTTP side, which it opens only once it has joined the
 * cluster and opened its own database: the sign that it is ready).
 */
struct node {
	pid_t	pid;
	int	api_port;
	char	addr[32];
};

#define MAX_NODES	3
static struct node	nodes[MAX_NODES];
static const char	*demo_path;

/* A port free on loopback now (the kernel's pick; another process could
 * take it before the node binds, which the start would then report). */
static int
free_port(void)
{
	struct sockaddr_in	sa = { .sin_family = AF_INET };
	socklen_t		sl = sizeof(sa);
	int			fd, port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static bool
port_open(int port)
{
	struct sockaddr_in	sa = { .sin_family = AF_INET };
	int			fd;
	bool			ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return false;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void
sleep_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void
node_log_tail(const struct node *n)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "tail -n 20 'node-%s.log' >&2", n->addr);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

/* The state letter of a process in /proc (T: stopped), or '?'. */
static char
proc_state(pid_t pid)
{
	char	path[64], buf[256], *p;
	FILE	*f;
	char	st = '?';

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return st;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		st = p[2];
	fclose(f);
	return st;
}

/* Signal node i. SIGKILL: reaped. SIGSTOP: returns once the node is
 * stopped (delivery is asynchronous, and a node still running would
 * answer the request meant to find it silent). */
static void
node_kill(int i, int sig)
{
	struct node	*n = &nodes[i];
	uint64_t	 until = now_mono_ms() + 5000;

	if (n->pid <= 0)
		return;
	kill(n->pid, sig);
	if (sig == SIGKILL) {
		waitpid(n->pid, NULL, 0);
		n->pid = 0;
	}
	if (sig == SIGSTOP)
		while (proc_state(n->pid) != 'T' && now_mono_ms() < until)
			sleep_ms(5);
}

static void
nodes_stop(void)
{
	int	i;

	for (i = 0; i < MAX_NODES; i++) {
		if (nodes[i].pid > 0)
			kill(nodes[i].pid, SIGCONT);
		node_kill(i, SIGKILL);
	}
}

/* Start node i (joining join, if not NULL) and wait until it is ready. */
static bool
node_start(int i, const char *join)
{
	struct node	*n = &nodes[i];
	char		 api[32], log[64];
	int		 db_port, fd, st;
	uint64_t	 until;

	if (i == 0)		/* what a test that failed early left */
		nodes_stop();
	db_port = free_port();
	n->api_port = free_port();
	if (db_port == -1 || n->api_port == -1 || db_port == n->api_port)
		return false;
	snprintf(n->addr, sizeof(n->addr), "127.0.0.1:%d", db_port);
	snprintf(api, sizeof(api), "127.0.0.1:%d", n->api_port);
	snprintf(log, sizeof(log), "node-%s.log", n->addr);
	if ((n->pid = fork()) == -1)
		return false;
	if (n->pid == 0) {
		/* Dies with the test, however the test ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (join != NULL)
			execl(demo_path, "dqlite-demo", "--api", api, "--db",
			    n->addr, "--dir", "nodes", "--join", join,
			    (char *)NULL);
		else
			execl(demo_path, "dqlite-demo", "--api", api, "--db",
			    n->addr, "--dir", "nodes", (char *)NULL);
		_exit(127);
	}
	until = now_mono_ms() + 30000;
	while (now_mono_ms() < until) {
		if (port_open(n->api_port))
			return true;
		if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
			fprintf(stderr, "node %s exited (status %d)\n",
			    n->addr, st);
			n->pid = 0;
			node_log_tail(n);
			return false;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "node %s not ready in 30 s\n", n->addr);
	node_log_tail(n);
	return false;
}

/* A client of the listed nodes, connected (retrying while a leader is
 * being elected, up to wait_ms). */
static bool
client_open(struct dq_client *c, const char *list, int wait_ms)
{
	char		err[ERRLEN];
	uint64_t	until = now_mono_ms() + (uint64_t)wait_ms;
	enum dq_rc	rc;

	if (dq_init(c, list, DBNAME, err, sizeof(err)) == -1) {
		fprintf(stderr, "dq_init: %s\n", err);
		return false;
	}
	while ((rc = dq_connect(c)) != DQ_OK && now_mono_ms() < until)
		sleep_ms(100);
	if (rc != DQ_OK) {
		fprintf(stderr, "dq_connect: %s\n", c->err);
		dq_free(c);
		return false;
	}
	return true;
}

static enum dq_rc
ex(struct dq_client *c, const char *sql)
{
	enum dq_rc	rc = dq_exec_sql(c, sql, strlen(sql), NULL, 0, NULL);

	if (rc != DQ_OK)
		fprintf(stderr, "%s: %s: %s\n", sql, dq_rc_name(rc), c->err);
	return rc;
}

/* One integer from a query; INT64_MIN on any error. */
static int64_t
q_int(struct dq_client *c, const char *sql)
{
	struct dq_rows	rows;
	int64_t		v = INT64_MIN;
	enum dq_rc	rc;

	if ((rc = dq_query_sql(c, sql, strlen(sql), NULL, 0, &rows)) != DQ_OK) {
		fprintf(stderr, "%s: %s: %s\n", sql, dq_rc_name(rc), c->err);
		return v;
	}
	if (rows.nrows == 1 && dq_rows_at(&rows, 0, 0)->type == DQ_INTEGER)
		v = dq_rows_at(&rows, 0, 0)->i;
	dq_rows_free(&rows);
	return v;
}

/* Each type hq entries carry, bound through a prepared INSERT and read
 * back with its type. */
static void
test_node_types(void)
{
	static const char blob[] = { 0, 1, 2, (char)0xff, 'x' };
	struct dq_client c;
	struct entry_param p[5];
	struct dq_result res;
	struct dq_rows	 rows;
	const struct dq_value *v;
	uint32_t	 st;
	uint64_t	 np;
	const char	*ins = "INSERT INTO t(i, r, s, b, n) VALUES (?, ?, ?, ?, ?)";

	REQUIRE(node_start(0, NULL));
	REQUIRE(client_open(&c, nodes[0].addr, 10000));
	CHECK_EQ_STR(c.leader, nodes[0].addr);
	REQUIRE(ex(&c, "CREATE TABLE t(k INTEGER PRIMARY KEY, i, r, s, b, n)")
	    == DQ_OK);
	REQUIRE(dq_prepare(&c, ins, strlen(ins), &st, &np) == DQ_OK);
	CHECK_EQ_INT(np, 5);
	p[0] = P_INT(INT64_MIN);
	p[1] = P_REAL(-1.0e-300);
	p[2] = P_TEXT("h\xc3\xa9llo, \xe2\x82\xac");
	p[3] = P_BLOB(blob, sizeof(blob));
	p[4] = P_NULL();
	REQUIRE(dq_exec(&c, st, p, 5, &res) == DQ_OK);
	CHECK_EQ_INT(res.last_insert_id, 1);
	CHECK_EQ_INT(res.rows_affected, 1);
	p[0] = P_INT(INT64_MAX);
	p[1] = P_REAL(3.5);
	p[2] = P_TEXT("");
	p[3] = P_BLOB(NULL, 0);
	p[4] = P_INT(1);		/* a boolean, as entries carry it */
	REQUIRE(dq_exec(&c, st, p, 5, &res) == DQ_OK);
	CHECK_EQ_INT(res.last_insert_id, 2);
	CHECK(dq_finalize(&c, st) == DQ_OK);

	REQUIRE(dq_query_sql(&c, SQL("SELECT i, r, s, b, n, typeof(b) FROM t "
	    "ORDER BY k"), NULL, 0, &rows) == DQ_OK);
	REQUIRE(rows.nrows == 2 && rows.ncols == 6);
	CHECK_EQ_STR(rows.names[3], "b");
	v = dq_rows_at(&rows, 0, 0);
	CHECK(v->type == DQ_INTEGER && v->i == INT64_MIN);
	v = dq_rows_at(&rows, 0, 1);
	CHECK(v->type == DQ_FLOAT && v->d == -1.0e-300);
	v = dq_rows_at(&rows, 0, 2);
	CHECK(v->type == DQ_TEXT && strcmp(v->p, "h\xc3\xa9llo, \xe2\x82\xac")
	    == 0);
	v = dq_rows_at(&rows, 0, 3);
	CHECK(v->type == DQ_BLOB && v->len == sizeof(blob) &&
	    memcmp(v->p, blob, sizeof(blob)) == 0);
	CHECK(dq_rows_at(&rows, 0, 4)->type == DQ_NULL);
	v = dq_rows_at(&rows, 1, 0);
	CHECK(v->type == DQ_INTEGER && v->i == INT64_MAX);
	v = dq_rows_at(&rows, 1, 2);
	CHECK(v->type == DQ_TEXT && v->len == 0);
	/* SQLite stores a zero-length blob as a blob. */
	v = dq_rows_at(&rows, 1, 3);
	CHECK(v->type == DQ_BLOB && v->len == 0);
	CHECK_EQ_STR(dq_rows_at(&rows, 1, 5)->p, "blob");
	v = dq_rows_at(&rows, 1, 4);
	CHECK(v->type == DQ_INTEGER && v->i == 1);
	dq_rows_free(&rows);

	/* Parameters of a query too; a BOOLEAN column answers with its own
	 * code, a DATETIME one with the time codes. */
	REQUIRE(ex(&c, "CREATE TABLE d(f BOOLEAN, w DATETIME)") == DQ_OK);
	REQUIRE(ex(&c, "INSERT INTO d VALUES (1, 1700000000), (0, "
	    "'2024-01-02 03:04:05'), (NULL, NULL)") == DQ_OK);
	p[0] = P_INT(-1);
	REQUIRE(dq_query_sql(&c, SQL("SELECT f, w FROM d WHERE rowid > ? "
	    "ORDER BY rowid"), p, 1, &rows) == DQ_OK);
	REQUIRE(rows.nrows == 3);
	v = dq_rows_at(&rows, 0, 0);
	CHECK(v->wire == DQ_BOOLEAN && v->type == DQ_INTEGER && v->i == 1);
	v = dq_rows_at(&rows, 0, 1);
	CHECK(v->wire == DQ_UNIXTIME && v->i == 1700000000);
	v = dq_rows_at(&rows, 1, 1);
	CHECK(v->wire == DQ_ISO8601 && v->type == DQ_TEXT &&
	    strcmp(v->p, "2024-01-02 03:04:05") == 0);
	v = dq_rows_at(&rows, 2, 1);
	CHECK(v->wire == DQ_ISO8601 && v->type == DQ_NULL);
	dq_rows_free(&rows);
	CHECK(c.round_trips > 5);
	dq_free(&c);
	nodes_stop();
}

/* The same values seen by another client: go-dqlite's `dqlite` shell
 * (one statement a line on stdin; it splits an argument on ';'). */
static void
test_node_shell(void)
{
	struct dq_client c;
	struct entry_param p[3];
	struct dq_rows	 rows;
	char		 cmd[512], line[256], got[256] = "";
	FILE		*f;
	const char	*ins = "INSERT INTO s(i, r, x) VALUES (?, ?, ?)";
	uint32_t	 st;

	if (system("command -v dqlite >/dev/null 2>&1") != 0) {
		fprintf(stderr, "node_shell: no dqlite shell, skipped\n");
		return;
	}
	REQUIRE(node_start(0, NULL));
	REQUIRE(client_open(&c, nodes[0].addr, 10000));
	REQUIRE(ex(&c, "CREATE TABLE s(i, r, x)") == DQ_OK);
	REQUIRE(dq_prepare(&c, ins, strlen(ins), &st, NULL) == DQ_OK);
	p[0] = P_INT(-42);
	p[1] = P_REAL(2.5);
	p[2] = P_TEXT("ok");
	REQUIRE(dq_exec(&c, st, p, 3, NULL) == DQ_OK);
	snprintf(cmd, sizeof(cmd), "printf '%%s\\n' \"SELECT typeof(i), i, "
	    "typeof(r), r, typeof(x), x FROM s\" \"INSERT INTO s VALUES "
	    "(7, x'0102', NULL)\" | dqlite -s %s " DBNAME " 2>&1",
	    nodes[0].addr);
	REQUIRE((f = popen(cmd, "r")) != NULL);
	/* Read to the end: the INSERT runs after the SELECT's output. */
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "integer|") != NULL)
			snprintf(got, sizeof(got), "%s", line);
	CHECK(pclose(f) == 0);
	CHECK(strstr(got, "integer|-42|real|2.5|text|ok") != NULL);
	REQUIRE(dq_query_sql(&c, SQL("SELECT i, r, x FROM s WHERE i = 7"),
	    NULL, 0, &rows) == DQ_OK);
	REQUIRE(rows.nrows == 1);
	CHECK(dq_rows_at(&rows, 0, 0)->i == 7);
	CHECK(dq_rows_at(&rows, 0, 1)->type == DQ_BLOB &&
	    dq_rows_at(&rows, 0, 1)->len == 2);
	CHECK(dq_rows_at(&rows, 0, 2)->type == DQ_NULL);
	dq_rows_free(&rows);
	dq_free(&c);
	nodes_stop();
}

/* FAILURE answers carry SQLite's codes; the connection stays usable. */
static void
test_node_failure(void)
{
	static struct entry_param many[DQ_MAX_PARAMS + 1];
	struct dq_client c;
	struct entry_param p[2];
	uint32_t	 st;
	const char	*ins = "INSERT INTO u(k) VALUES (?)";

	REQUIRE(node_start(0, NULL));
	REQUIRE(client_open(&c, nodes[0].addr, 10000));
	REQUIRE(ex(&c, "CREATE TABLE u(k UNIQUE)") == DQ_OK);

	CHECK(dq_prepare(&c, SQL("SELEC 1"), &st, NULL) == DQ_EFAIL);
	CHECK_EQ_INT(c.sqlite_code, SQLITE_ERROR);
	CHECK(strstr(c.err, "syntax error") != NULL);
	CHECK(dq_connected(&c));

	CHECK(dq_prepare(&c, SQL("INSERT INTO nope VALUES (1)"), &st, NULL) ==
	    DQ_EFAIL);
	CHECK(strstr(c.err, "no such table: nope") != NULL);

	REQUIRE(dq_prepare(&c, ins, strlen(ins), &st, NULL) == DQ_OK);
	p[0] = P_INT(1);
	REQUIRE(dq_exec(&c, st, p, 1, NULL) == DQ_OK);
	CHECK(dq_exec(&c, st, p, 1, NULL) == DQ_EFAIL);
	CHECK_EQ_INT(c.sqlite_code, SQLITE_CONSTRAINT_UNIQUE); /* extended */
	CHECK(strstr(c.err, "UNIQUE constraint failed: u.k") != NULL);

	/* A parameter too many: SQLite's range error, from the bind. */
	p[1] = P_INT(2);
	CHECK(dq_exec(&c, st, p, 2, NULL) == DQ_EFAIL);
	CHECK_EQ_INT(c.sqlite_code, SQLITE_RANGE);

	/* A statement id the node does not know. */
	CHECK(dq_exec(&c, st + 100, p, 1, NULL) == DQ_EFAIL);
	CHECK_EQ_INT(c.sqlite_code, SQLITE_NOTFOUND);

	/* An empty statement: dqlite answers code 0, read as an error. */
	CHECK(dq_prepare(&c, SQL("-- nothing"), &st, NULL) == DQ_EFAIL);
	CHECK_EQ_INT(c.sqlite_code, SQLITE_ERROR);
	CHECK(strstr(c.err, "empty statement") != NULL);

	/* Refused here, before sending: the connection is untouched. */
	CHECK(dq_exec_sql(&c, SQL("SELECT 1"), many, nitems(many), NULL) ==
	    DQ_EARG);
	CHECK(dq_connected(&c));

	/* A statement that yields a row, run by EXEC: dqlite steps it once
	 * and answers SQLite's SQLITE_ROW as a failure (a sink must send
	 * such statements as queries). */
	REQUIRE(dq_prepare(&c, SQL("SELECT 1"), &st, NULL) == DQ_OK);
	CHECK(dq_exec(&c, st, NULL, 0, NULL) == DQ_EFAIL);
	CHECK_EQ_INT(c.sqlite_code, SQLITE_ROW);
	CHECK(strstr(c.err, "another row available") != NULL);

	/* EXEC_SQL of several statements: the result is the last one's;
	 * text after the last statement that is no statement (a space, a
	 * comment) zeroes it. */
	{
		struct dq_result res;

		REQUIRE(dq_exec_sql(&c, SQL("INSERT INTO u VALUES (10); "
		    "INSERT INTO u VALUES (11)"), NULL, 0, &res) == DQ_OK);
		CHECK(res.last_insert_id == 3 && res.rows_affected == 1);
		REQUIRE(dq_exec_sql(&c, SQL("INSERT INTO u VALUES (12); "),
		    NULL, 0, &res) == DQ_OK);
		CHECK(res.last_insert_id == 0 && res.rows_affected == 0);
		/* Parameters go to the first statement. */
		p[0] = P_INT(13);
		REQUIRE(dq_exec_sql(&c, SQL("INSERT INTO u VALUES (?); "
		    "INSERT INTO u VALUES (14)"), p, 1, &res) == DQ_OK);
		CHECK_EQ_INT(q_int(&c, "SELECT count(*) FROM u WHERE k >= 10"),
		    5);
	}

	/* A query's runtime error, after its first rows went: FAILURE. */
	CHECK(dq_query_sql(&c, SQL("SELECT abs(-9223372036854775807 - 1)"),
	    NULL, 0, &(struct dq_rows){ 0 }) == DQ_EFAIL);
	CHECK(strstr(c.err, "integer overflow") != NULL);
	CHECK_EQ_INT(q_int(&c, "SELECT count(*) FROM u"), 6);
	dq_free(&c);
	nodes_stop();
}

/* One connection, one transaction over several requests: a savepoint
 * released, one rolled back to; a second client sees nothing of it
 * before COMMIT. */
static void
test_node_transaction(void)
{
	struct dq_client c, other;
	struct entry_param p[1];
	uint32_t	 st;
	const char	*ins = "INSERT INTO x(v) VALUES (?)";

	REQUIRE(node_start(0, NULL));
	REQUIRE(client_open(&c, nodes[0].addr, 10000));
	REQUIRE(client_open(&other, nodes[0].addr, 10000));
	REQUIRE(ex(&c, "CREATE TABLE x(v)") == DQ_OK);
	REQUIRE(dq_prepare(&c, ins, strlen(ins), &st, NULL) == DQ_OK);

	REQUIRE(ex(&c, "BEGIN") == DQ_OK);
	REQUIRE(ex(&c, "SAVEPOINT hq_entry") == DQ_OK);
	p[0] = P_INT(1);
	REQUIRE(dq_exec(&c, st, p, 1, NULL) == DQ_OK);
	REQUIRE(ex(&c, "RELEASE hq_entry") == DQ_OK);
	REQUIRE(ex(&c, "SAVEPOINT hq_entry") == DQ_OK);
	p[0] = P_INT(2);
	REQUIRE(dq_exec(&c, st, p, 1, NULL) == DQ_OK);
	CHECK_EQ_INT(q_int(&c, "SELECT count(*) FROM x"), 2);
	REQUIRE(ex(&c, "ROLLBACK TO hq_entry") == DQ_OK);
	REQUIRE(ex(&c, "RELEASE hq_entry") == DQ_OK);
	CHECK_EQ_INT(q_int(&other, "SELECT count(*) FROM x"), 0);
	REQUIRE(ex(&c, "COMMIT") == DQ_OK);
	CHECK_EQ_INT(q_int(&other, "SELECT count(*) FROM x"), 1);
	CHECK_EQ_INT(q_int(&other, "SELECT v FROM x"), 1);

	/* A whole transaction rolled back leaves nothing. */
	REQUIRE(ex(&c, "BEGIN") == DQ_OK);
	REQUIRE(dq_exec(&c, st, p, 1, NULL) == DQ_OK);
	REQUIRE(ex(&c, "ROLLBACK") == DQ_OK);
	CHECK_EQ_INT(q_int(&other, "SELECT count(*) FROM x"), 1);
	/* COMMIT without BEGIN: SQLite's own error. */
	CHECK(dq_exec_sql(&c, SQL("COMMIT"), NULL, 0, NULL) == DQ_EFAIL);
	CHECK(strstr(c.err, "no transaction is active") != NULL);
	dq_free(&other);
	dq_free(&c);
	nodes_stop();
}

/* Rows of a long result come in several messages (the node cuts a batch
 * at about a page); the client reads them all, and refuses a result over
 * its cap by closing the connection. */
static void
test_node_rows_parts(void)
{
	struct dq_client c;
	struct dq_rows	 rows;
	size_t		 i;
	bool		 ok = true;
	const char	*sel = "SELECT v, printf('%0100d', v) FROM r ORDER BY v";

	REQUIRE(node_start(0, NULL));
	REQUIRE(client_open(&c, nodes[0].addr, 10000));
	REQUIRE(ex(&c, "CREATE TABLE r(v INTEGER PRIMARY KEY)") == DQ_OK);
	REQUIRE(ex(&c, "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT "
	    "v + 1 FROM n WHERE v < 3000) INSERT INTO r SELECT v FROM n") ==
	    DQ_OK);
	REQUIRE(dq_query_sql(&c, sel, strlen(sel), NULL, 0, &rows) == DQ_OK);
	CHECK_EQ_INT(rows.nrows, 3000);
	CHECK(rows.nparts > 10);
	for (i = 0; i < rows.nrows; i++)
		if (dq_rows_at(&rows, i, 0)->i != (int64_t)i + 1 ||
		    dq_rows_at(&rows, i, 1)->len != 100)
			ok = false;
	CHECK(ok);
	fprintf(stderr, "node_rows_parts: 3000 rows in %zu messages, %zu "
	    "bytes\n", rows.nparts, rows.bytes);
	dq_rows_free(&rows);

	c.max_bytes = 64 * 1024;
	CHECK(dq_query_sql(&c, sel, strlen(sel), NULL, 0, &rows) ==
	    DQ_ETOOBIG);
	CHECK(!dq_connected(&c));
	CHECK(strstr(c.err, "over 65536 bytes") != NULL);
	CHECK_EQ_INT(rows.nrows, 0);
	REQUIRE(dq_connect(&c) == DQ_OK);
	CHECK_EQ_INT(q_int(&c, "SELECT count(*) FROM r"), 3000);
	CHECK_EQ_INT(c.connects, 2);
	CHECK_EQ_INT(c.leader_changes, 0);
	dq_free(&c);
	nodes_stop();
}

/* One EXEC_SQL, timed. */
static enum dq_rc
timed_exec(struct dq_client *c, const char *sql, uint64_t *took)
{
	uint64_t	t0 = now_mono_ms();
	enum dq_rc	rc = dq_exec_sql(c, sql, strlen(sql), NULL, 0, NULL);

	*took = now_mono_ms() - t0;
	fprintf(stderr, "%s: %s after %llu ms: %s\n", sql, dq_rc_name(rc),
	    (unsigned long long)*took, c->err);
	return rc;
}

/* SIGKILL of the node: the next request reports the connection lost at
 * once (the kernel closes the socket), and connecting finds no leader. */
static void
test_node_kill(void)
{
	struct dq_client c;
	uint64_t	 took;

	REQUIRE(node_start(0, NULL));
	REQUIRE(client_open(&c, nodes[0].addr, 10000));
	REQUIRE(ex(&c, "CREATE TABLE k(v)") == DQ_OK);
	node_kill(0, SIGKILL);
	CHECK_EQ_INT(timed_exec(&c, "INSERT INTO k VALUES (1)", &took),
	    DQ_ELOST);
	CHECK(c.lost == DQ_LOST_EOF || c.lost == DQ_LOST_IO);
	CHECK(took < (uint64_t)c.timeout_ms);
	CHECK(!dq_connected(&c));
	CHECK(dq_connect(&c) == DQ_ENOLEADER);
	CHECK(strstr(c.err, "Connection refused") != NULL);
	dq_free(&c);
	nodes_stop();
}

/* A node that stops answering (SIGSTOP): the request times out within
 * the client's timeout, reported as a lost connection. */
static void
test_node_timeout(void)
{
	struct dq_client c;
	uint64_t	 t0, took;

	REQUIRE(node_start(0, NULL));
	REQUIRE(client_open(&c, nodes[0].addr, 10000));
	c.timeout_ms = 400;
	node_kill(0, SIGSTOP);
	CHECK_EQ_INT(timed_exec(&c, "CREATE TABLE s(v)", &took), DQ_ELOST);
	CHECK_EQ_INT(c.lost, DQ_LOST_TIMEOUT);
	CHECK(took >= 400 && took < 1400);
	/* Connecting to a stopped node: the kernel accepts, nobody answers;
	 * the attempt ends at the timeout too. */
	t0 = now_mono_ms();
	CHECK(dq_connect(&c) == DQ_ENOLEADER);
	took = now_mono_ms() - t0;
	CHECK(took >= 400 && took < 1400);
	CHECK(strstr(c.err, "timed out") != NULL);
	node_kill(0, SIGCONT);
	dq_free(&c);
	nodes_stop();
}

/* The number of voters the `dqlite` shell reports, -1 if it cannot. */
static int
voters(const char *addr)
{
	char	cmd[256], line[256];
	FILE	*f;
	int	n = 0;

	snprintf(cmd, sizeof(cmd), "echo .cluster | dqlite -s %s demo 2>&1",
	    addr);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "|voter") != NULL)
			n++;
	pclose(f);
	return n;
}

/* Connect c, retrying while the cluster elects (up to 30 s). */
static enum dq_rc
reconnect(struct dq_client *c)
{
	uint64_t	until = now_mono_ms() + 30000;
	enum dq_rc	rc;

	while ((rc = dq_connect(c)) != DQ_OK && now_mono_ms() < until)
		sleep_ms(100);
	return rc;
}

/*
 * Three nodes. A client given only a follower is sent to the leader. The
 * leader is stopped (SIGSTOP) until the other two elect another, then
 * continued: the client's next request on it fails with a leadership
 * code or a lost connection, and connecting again finds the new leader.
 * That one is killed (SIGKILL): the connection is lost, the remaining
 * two elect, the client finds that leader; committed rows are there.
 */
/* The membership requests against the cluster: CLUSTER lists the three
 * voters at the addresses they were started with, from the leader an
 * administration client (no database) found through a follower; the
 * leader refuses to assign a role to a node that is no member. */
static void
cluster_admin(void)
{
	struct dq_client c;
	struct dq_resp	 r;
	char		 err[ERRLEN];
	size_t		 i, j, found = 0;

	REQUIRE(dq_init(&c, nodes[2].addr, NULL, err, sizeof(err)) == 0);
	REQUIRE(dq_connect(&c) == DQ_OK);
	CHECK_EQ_STR(c.peer, nodes[0].addr);
	REQUIRE(dq_cluster(&c, &r) == DQ_OK);
	CHECK_EQ_INT(r.nservers, 3);
	for (i = 0; i < r.nservers; i++) {
		CHECK_EQ_STR(dq_role_name(r.servers[i].role), "voter");
		for (j = 0; j < MAX_NODES; j++)
			if (strcmp(r.servers[i].address, nodes[j].addr) == 0)
				found++;
	}
	CHECK_EQ_INT(found, 3);
	CHECK(dq_assign(&c, 4242, DQ_ROLE_VOTER) == DQ_EFAIL);
	fprintf(stderr, "node_cluster: assigning a role to no member: %s\n",
	    c.err);
	CHECK(dq_connected(&c));
	dq_free(&c);
}

static void
test_node_cluster(void)
{
	struct dq_client c, f;
	char		 all[128], two[128], first[32];
	uint64_t	 until, t0;
	int		 v = 0, i, victim = -1;
	enum dq_rc	 rc;

	if (system("command -v dqlite >/dev/null 2>&1") != 0) {
		fprintf(stderr, "node_cluster: no dqlite shell (to see the "
		    "voters), skipped\n");
		return;
	}
	REQUIRE(node_start(0, NULL));
	REQUIRE(node_start(1, nodes[0].addr));
	REQUIRE(node_start(2, nodes[0].addr));
	/* The demo promotes joined nodes to voters in the background; a
	 * failover needs two voters left. */
	until = now_mono_ms() + 30000;
	while ((v = voters(nodes[0].addr)) != 3 && now_mono_ms() < until)
		sleep_ms(200);
	REQUIRE(v == 3);
	cluster_admin();

	REQUIRE(client_open(&f, nodes[1].addr, 10000));
	CHECK_EQ_STR(f.leader, nodes[0].addr);
	REQUIRE(ex(&f, "CREATE TABLE c(v)") == DQ_OK);
	REQUIRE(ex(&f, "INSERT INTO c VALUES (1)") == DQ_OK);
	dq_free(&f);

	snprintf(all, sizeof(all), "%s,%s,%s", nodes[0].addr, nodes[1].addr,
	    nodes[2].addr);
	snprintf(two, sizeof(two), "%s,%s", nodes[1].addr, nodes[2].addr);
	REQUIRE(client_open(&c, all, 10000));
	CHECK_EQ_STR(c.leader, nodes[0].addr);

	/* Leadership moves away from a stopped leader. */
	node_kill(0, SIGSTOP);
	t0 = now_mono_ms();
	REQUIRE(client_open(&f, two, 30000));
	/* (Time that includes the client's own timeouts on the stopped
	 * node, which the others still named as leader for a while.) */
	fprintf(stderr, "node_cluster: %s found leading %llu ms after the "
	    "leader stopped\n", f.leader,
	    (unsigned long long)(now_mono_ms() - t0));
	snprintf(first, sizeof(first), "%s", f.leader);
	dq_free(&f);
	node_kill(0, SIGCONT);
	rc = dq_exec_sql(&c, SQL("INSERT INTO c VALUES (2)"), NULL, 0, NULL);
	fprintf(stderr, "node_cluster: the old leader answers: %s\n", c.err);
	CHECK(rc == DQ_ELOST || (rc == DQ_EFAIL && dq_code_leader(c.code)));
	CHECK(!dq_connected(&c));
	REQUIRE(reconnect(&c) == DQ_OK);
	CHECK_EQ_STR(c.leader, first);
	CHECK_EQ_INT(c.leader_changes, 1);
	CHECK_EQ_INT(q_int(&c, "SELECT count(*) FROM c WHERE v = 1"), 1);

	/* The new leader killed. */
	for (i = 0; i < MAX_NODES; i++)
		if (strcmp(nodes[i].addr, first) == 0)
			victim = i;
	REQUIRE(victim > 0);
	node_kill(victim, SIGKILL);
	t0 = now_mono_ms();
	rc = dq_exec_sql(&c, SQL("INSERT INTO c VALUES (3)"), NULL, 0, NULL);
	CHECK_EQ_INT(rc, DQ_ELOST);
	REQUIRE(reconnect(&c) == DQ_OK);
	fprintf(stderr, "node_cluster: %s leads %llu ms after the leader was "
	    "killed\n", c.leader, (unsigned long long)(now_mono_ms() - t0));
	CHECK(strcmp(c.leader, first) != 0);
	CHECK_EQ_INT(c.leader_changes, 2);
	CHECK_EQ_INT(c.connects, 3);
	CHECK_EQ_INT(q_int(&c, "SELECT count(*) FROM c WHERE v = 1"), 1);
	REQUIRE(ex(&c, "INSERT INTO c VALUES (4)") == DQ_OK);
	dq_free(&c);
	nodes_stop();
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Round trips of a small EXEC (one INSERT, its own transaction, which
 * dqlite replicates through its Raft log before answering) and of one
 * inside an open transaction; printed, and bounded loosely. */
static void
test_node_latency(void)
{
	enum { N = 500 };
	static uint64_t	 t[N];
	struct dq_client c;
	struct entry_param p[1];
	uint32_t	 st;
	size_t		 i;
	uint64_t	 t0;
	bool		 ok = true;
	const char	*ins = "INSERT INTO l(v) VALUES (?)";
	const char	*what[2] = { "autocommit", "in a transaction" };
	int		 pass;

	REQUIRE(node_start(0, NULL));
	REQUIRE(client_open(&c, nodes[0].addr, 10000));
	REQUIRE(ex(&c, "CREATE TABLE l(v)") == DQ_OK);
	REQUIRE(dq_prepare(&c, ins, strlen(ins), &st, NULL) == DQ_OK);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			REQUIRE(ex(&c, "BEGIN") == DQ_OK);
		for (i = 0; i < N; i++) {
			p[0] = P_INT((int64_t)i);
			t0 = now_mono_us();
			if (dq_exec(&c, st, p, 1, NULL) != DQ_OK)
				ok = false;
			t[i] = now_mono_us() - t0;
		}
		if (pass == 1)
			REQUIRE(ex(&c, "COMMIT") == DQ_OK);
		qsort(t, N, sizeof(t[0]), cmp_u64);
		fprintf(stderr, "node_latency: EXEC %s: median %llu us, p90 "
		    "%llu us, p99 %llu us (%d runs)\n", what[pass],
		    (unsigned long long)t[N / 2],
		    (unsigned long long)t[N * 9 / 10],
		    (unsigned long long)t[N * 99 / 100], N);
		CHECK(t[N / 2] < 200000);
	}
	CHECK(ok);
	CHECK_EQ_INT(q_int(&c, "SELECT count(*) FROM l"), 2 * N);
	dq_free(&c);
	nodes_stop();
}

static const struct hqtest node_tests[] = {
	{ "node_types", test_node_types },
	{ "node_shell", test_node_shell },
	{ "node_failure", test_node_failure },
	{ "node_transaction", test_node_transaction },
	{ "node_rows_parts", test_node_rows_parts },
	{ "node_kill", test_node_kill },
	{ "node_timeout", test_node_timeout },
	{ "node_cluster", test_node_cluster },
	{ "node_latency", test_node_latency },
};

/* dqlite-demo from HQ_DQLITE_DEMO or PATH, or NULL. */
static const char *
find_demo(void)
{
	static char	 path[PATH_MAX];
	const char	*env = getenv("HQ_DQLITE_DEMO"), *dirs, *colon;
	size_t		 len;

	if (env != NULL && env[0] != '\0')
		return access(env, X_OK) == 0 ? env : NULL;
	for (dirs = getenv("PATH"); dirs != NULL && *dirs != '\0';
	    dirs = colon ? colon + 1 : NULL) {
		colon = strchr(dirs, ':');
		len = colon ? (size_t)(colon - dirs) : strlen(dirs);
		snprintf(path, sizeof(path), "%.*s/dqlite-demo", (int)len,
		    dirs);
		if (len > 0 && access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	int	rc;

	if (argc < 2 || strcmp(argv[1], "node") != 0)
		return hqtest_main(wire_tests, nitems(wire_tests), argc, argv);
	if ((demo_path = find_demo()) == NULL) {
		printf("SKIP: dqlite-demo not found (Debian: apt-get install "
		    "go-dqlite; or set HQ_DQLITE_DEMO)\n");
		return 77;
	}
	rc = hqtest_main(node_tests, nitems(node_tests), argc - 1, argv + 1);
	nodes_stop();
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * test_dqlite.c: the dqlite wire format (worker/dqwire.c) without a
 * network: the bytes of each request against the layouts of the protocol
 * document, responses built word by word and decoded, the decoder's
 * refusals.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/hq.h"
#include "worker/dqwire.h"
#include "tests/unit/hqtest.h"

#define ERRLEN	512

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
	CHECK(dec(3, &b[0], &r) == -1);
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

static const struct hqtest wire_tests[] = {
	{ "wire_leader", test_wire_leader },
	{ "wire_open", test_wire_open },
	{ "wire_prepare", test_wire_prepare },
	{ "wire_exec_params", test_wire_exec_params },
	{ "wire_params_header", test_wire_params_header },
	{ "wire_refusals", test_wire_refusals },
	{ "wire_header", test_wire_header },
	{ "wire_responses", test_wire_responses },
	{ "wire_failure_query", test_wire_failure_query },
	{ "wire_rows", test_wire_rows },
	{ "wire_rows_wide", test_wire_rows_wide },
	{ "wire_rows_bad", test_wire_rows_bad },
};

HQTEST_MAIN(wire_tests)

/* SPDX-License-Identifier: MIT */
/*
 * test_proto.c: common/proto.c. Round trips of every message, the frame
 * length rules, the strict decoder against truncated, trailing, unknown,
 * wrong-arity and wrong-type bodies crafted with msgpack-c, the blocking
 * helpers over a real socketpair (and a forked writer for frames larger
 * than the socket buffer), and seeded random bodies. Every body is decoded
 * from an exact-size heap copy so ASan and valgrind see any read past it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <msgpack.h>

#include "common/hq.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "tests/unit/hqtest.h"

/* Decode len bytes from an exact-size heap copy of body. */
static int
test_proto_decode(const void *body, size_t len, struct hq_msg *m)
{
	char	*copy;
	int	 r;

	copy = malloc(len ? len : 1);
	if (len > 0)
		memcpy(copy, body, len);
	r = proto_decode(copy, len, m);
	free(copy);
	return r;
}

static bool
test_proto_zeroed(const struct hq_msg *m)
{
	static const struct hq_msg zero;

	return memcmp(m, &zero, sizeof(zero)) == 0;
}

/* Decode must refuse body and leave m zeroed; false (counted) if not. */
static bool
test_proto_refuse(int line, const void *body, size_t len)
{
	struct hq_msg	m;

	memset(&m, 0xa5, sizeof(m));
	if (test_proto_decode(body, len, &m) != -1) {
		fprintf(stderr, "%s:%d: decode accepted a bad body (%zu "
		    "bytes, type %d)\n", __FILE__, line, len, (int)m.type);
		hqtest_failures++;
		proto_msg_free(&m);
		return false;
	}
	if (!test_proto_zeroed(&m)) {
		fprintf(stderr, "%s:%d: m not zeroed after a refusal\n",
		    __FILE__, line);
		hqtest_failures++;
		return false;
	}
	return true;
}

#define REFUSE_SB(sb)	test_proto_refuse(__LINE__, (sb)->data, (sb)->size)

static void
test_proto_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		CHECK(a == b);
	else
		CHECK_EQ_STR(a, b);
}

/* Compare what travels for m's type. */
static void
test_proto_same(const struct hq_msg *a, const struct hq_msg *b)
{
	const struct hq_config	*x = &a->cfg, *y = &b->cfg;
	size_t			 i;

	CHECK_EQ_INT(a->type, b->type);
	switch (a->type) {
	case HQ_MSG_HELLO:
		CHECK_EQ_INT(a->version, b->version);
		CHECK_EQ_INT(a->slot, b->slot);
		CHECK_EQ_INT(a->gen, b->gen);
		CHECK_EQ_INT(a->pid, b->pid);
		break;
	case HQ_MSG_CONFIG:
		test_proto_same_str(x->root, y->root);
		test_proto_same_str(x->db, y->db);
		CHECK_EQ_INT(x->batch_size, y->batch_size);
		CHECK_EQ_INT(x->max_retries, y->max_retries);
		CHECK_EQ_INT(x->sync_full, y->sync_full);
		CHECK_EQ_INT(x->busy_timeout_ms, y->busy_timeout_ms);
		CHECK_EQ_INT(x->max_entry_bytes, y->max_entry_bytes);
		CHECK_EQ_INT(x->retry_base_ms, y->retry_base_ms);
		CHECK_EQ_INT(x->ledger_days, y->ledger_days);
		CHECK_EQ_INT(x->keep_completed, y->keep_completed);
		test_proto_same_str(x->log_file, y->log_file);
		CHECK_EQ_INT(x->log_level, y->log_level);
		test_proto_same_str(x->shm_name, y->shm_name);
		CHECK_EQ_INT(x->statement_timeout_ms, y->statement_timeout_ms);
		CHECK_EQ_INT(x->memory_limit_mib, y->memory_limit_mib);
		break;
	case HQ_MSG_READY:
	case HQ_MSG_PROGRESS:
		CHECK_EQ_INT(a->slot, b->slot);
		CHECK_EQ_INT(a->gen, b->gen);
		break;
	case HQ_MSG_WORK:
		CHECK_EQ_INT(a->nnames, b->nnames);
		CHECK(b->names != NULL);
		for (i = 0; i < a->nnames && i < b->nnames; i++)
			CHECK_EQ_STR(a->names[i], b->names[i]);
		CHECK_EQ_INT(a->poison, b->poison);
		break;
	case HQ_MSG_DONE:
		CHECK_EQ_INT(a->slot, b->slot);
		CHECK_EQ_INT(a->gen, b->gen);
		CHECK_EQ_INT(a->applied, b->applied);
		CHECK_EQ_INT(a->failed, b->failed);
		CHECK_EQ_INT(a->retried, b->retried);
		CHECK_EQ_INT(a->dups, b->dups);
		break;
	case HQ_MSG_STOP:
	case HQ_MSG_REOPEN:
	case HQ_MSG_NONE_:
	case HQ_MSG_MAX_:
		break;
	}
}

/* Encode, check the frame, decode the body, compare. */
static void
test_proto_roundtrip(const struct hq_msg *in)
{
	struct pbuf	b = { 0 };
	struct hq_msg	out;

	REQUIRE(proto_encode(in, &b) == 0);
	REQUIRE(b.len > HQ_PROTO_HDR);
	CHECK(b.len <= HQ_PROTO_MAX_FRAME);
	CHECK_EQ_INT(proto_frame_len(b.data, b.len), b.len);
	CHECK_EQ_INT(proto_frame_len(b.data, b.len - 1), 0);
	if (test_proto_decode(b.data + HQ_PROTO_HDR, b.len - HQ_PROTO_HDR,
	    &out) != 0) {
		fprintf(stderr, "round trip of %s: decode failed\n",
		    proto_type_name(in->type));
		hqtest_failures++;
	} else {
		test_proto_same(in, &out);
		proto_msg_free(&out);
		CHECK(test_proto_zeroed(&out));
	}
	pbuf_free(&b);
}

static void
test_proto_config_full(struct hq_config *c)
{
	memset(c, 0, sizeof(*c));
	c->root = xstrdup("/var/spool/hq queue/ünï");
	c->db = xstrdup("/var/lib/hq/hive.db");
	c->batch_size = 10000;
	c->max_retries = 0;
	c->sync_full = true;
	c->busy_timeout_ms = 3600000;
	c->max_entry_bytes = 256 * 1024 * 1024;
	c->retry_base_ms = 1;
	c->ledger_days = 36500;
	c->keep_completed = true;
	c->log_file = xstrdup("/var/log/hq.log");
	c->log_level = 2;
	c->shm_name = xstrdup("/hq-test");
	c->statement_timeout_ms = 86400000;
	c->memory_limit_mib = 1048576;
}

static void
test_roundtrip_hello(void)
{
	struct hq_msg	m = { .type = HQ_MSG_HELLO };

	m.version = HQ_PROTO_VERSION;
	m.slot = 3;
	m.gen = 7;
	m.pid = 12345;
	test_proto_roundtrip(&m);
	m.version = UINT32_MAX;
	m.slot = UINT32_MAX;
	m.gen = UINT32_MAX;
	m.pid = INT32_MAX;
	test_proto_roundtrip(&m);
	m.version = m.slot = m.gen = 0;
	m.pid = 0;
	test_proto_roundtrip(&m);
}

static void
test_roundtrip_config(void)
{
	struct hq_msg	m = { .type = HQ_MSG_CONFIG };
	struct pbuf	b = { 0 };
	struct hq_msg	out;

	test_proto_config_full(&m.cfg);
	test_proto_roundtrip(&m);

	/* The nullable strings as NULL, the booleans false, small ints. */
	free(m.cfg.log_file);
	free(m.cfg.shm_name);
	m.cfg.log_file = m.cfg.shm_name = NULL;
	m.cfg.sync_full = m.cfg.keep_completed = false;
	m.cfg.batch_size = 1;
	m.cfg.max_retries = 1000;
	m.cfg.busy_timeout_ms = 0;
	m.cfg.max_entry_bytes = 1;
	m.cfg.log_level = 0;
	test_proto_roundtrip(&m);

	/* Fields that do not travel come out zero. */
	m.cfg.workers = 9;
	m.cfg.poll_interval_ms = 99;
	m.cfg.group = xstrdup("hq");
	REQUIRE(proto_encode(&m, &b) == 0);
	REQUIRE(test_proto_decode(b.data + HQ_PROTO_HDR,
	    b.len - HQ_PROTO_HDR, &out) == 0);
	CHECK_EQ_INT(out.cfg.workers, 0);
	CHECK_EQ_INT(out.cfg.poll_interval_ms, 0);
	CHECK(out.cfg.group == NULL);
	CHECK(out.cfg.log_file == NULL);
	CHECK(out.cfg.shm_name == NULL);
	proto_msg_free(&out);
	pbuf_free(&b);
	config_free(&m.cfg);
}

static void
test_roundtrip_small(void)
{
	static const enum hq_msg_type types[] = {
		HQ_MSG_READY, HQ_MSG_PROGRESS, HQ_MSG_STOP, HQ_MSG_REOPEN,
	};
	struct hq_msg	m;
	size_t		i;

	for (i = 0; i < nitems(types); i++) {
		memset(&m, 0, sizeof(m));
		m.type = types[i];
		test_proto_roundtrip(&m);
		m.slot = UINT32_MAX;
		m.gen = 1;
		test_proto_roundtrip(&m);
		CHECK(strcmp(proto_type_name(types[i]), "?") != 0);
	}
	memset(&m, 0, sizeof(m));
	m.type = HQ_MSG_DONE;
	test_proto_roundtrip(&m);
	m.slot = 63;
	m.gen = 1000000;
	m.applied = UINT32_MAX;
	m.failed = 1;
	m.retried = 2;
	m.dups = 3;
	test_proto_roundtrip(&m);
	CHECK_EQ_STR(proto_type_name(HQ_MSG_HELLO), "HELLO");
	CHECK_EQ_STR(proto_type_name(HQ_MSG_REOPEN), "REOPEN");
	CHECK_EQ_STR(proto_type_name((enum hq_msg_type)0), "?");
	CHECK_EQ_STR(proto_type_name(HQ_MSG_MAX_), "?");
}

/* n distinct names of exactly len bytes (len >= 10), in a calloc'd array. */
static char **
test_proto_names(size_t n, size_t len)
{
	char	**names;
	size_t	  i;

	names = calloc(n ? n : 1, sizeof(*names));
	for (i = 0; i < n; i++) {
		names[i] = malloc(len + 1);
		memset(names[i], 'x', len);
		names[i][len] = '\0';
		snprintf(names[i], len + 1, "5_%08zu", i);
		names[i][10] = len > 10 ? '_' : '\0';
		if (len >= 16)
			memcpy(names[i] + len - 5, ".json", 5);
	}
	return names;
}

static void
test_proto_names_free(char **names, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
test_roundtrip_work(void)
{
	struct hq_msg	 m = { .type = HQ_MSG_WORK };
	static char	 n1[] = "10_1700000000000000000_1.msgpack";
	char		*one[] = { n1 };

	/* No names: names must still be a valid (empty) array. */
	test_proto_roundtrip(&m);
	m.names = one;
	m.nnames = 1;
	test_proto_roundtrip(&m);
	/* The most names, each as long as a name may be. */
	m.names = test_proto_names(HQ_PROTO_MAX_NAMES, HQ_NAME_MAX);
	m.nnames = HQ_PROTO_MAX_NAMES;
	test_proto_roundtrip(&m);
	test_proto_names_free(m.names, m.nnames);
}

static void
test_encode_oversize(void)
{
	struct hq_msg	 m = { .type = HQ_MSG_WORK };
	struct hq_msg	 hello = { .type = HQ_MSG_HELLO, .slot = 1 };
	struct pbuf	 b = { 0 };
	char		*before;
	size_t		 len;

	/* A frame already in the buffer must survive the refusal. */
	REQUIRE(proto_encode(&hello, &b) == 0);
	len = b.len;
	before = malloc(len);
	memcpy(before, b.data, len);

	m.names = test_proto_names(HQ_PROTO_MAX_NAMES + 1, 20);
	m.nnames = HQ_PROTO_MAX_NAMES + 1;
	errno = 0;
	CHECK_EQ_INT(proto_encode(&m, &b), -1);
	CHECK_EQ_INT(errno, EMSGSIZE);
	CHECK_EQ_INT(b.len, len);
	CHECK(memcmp(b.data, before, len) == 0);
	test_proto_names_free(m.names, m.nnames);

	/* Few enough names, but too many bytes. */
	m.names = test_proto_names(HQ_PROTO_MAX_NAMES, 255);
	m.nnames = HQ_PROTO_MAX_NAMES;
	errno = 0;
	CHECK_EQ_INT(proto_encode(&m, &b), -1);
	CHECK_EQ_INT(errno, EMSGSIZE);
	CHECK_EQ_INT(b.len, len);
	CHECK(memcmp(b.data, before, len) == 0);
	test_proto_names_free(m.names, m.nnames);

	/* The buffer still holds exactly the first frame. */
	CHECK_EQ_INT(proto_frame_len(b.data, b.len), len);
	free(before);
	pbuf_free(&b);
}

static void
test_proto_hdr(unsigned char *p, uint32_t n)
{
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
}

static void
test_frame_len(void)
{
	unsigned char	*buf;
	size_t		 max = HQ_PROTO_MAX_FRAME - HQ_PROTO_HDR, i;

	buf = calloc(1, HQ_PROTO_MAX_FRAME + 16);
	REQUIRE(buf != NULL);
	/* Partial header: always "need more", whatever the bytes say. */
	test_proto_hdr(buf, 10);
	for (i = 0; i < HQ_PROTO_HDR; i++)
		CHECK_EQ_INT(proto_frame_len(buf, i), 0);
	memset(buf, 0xff, 4);
	for (i = 0; i < HQ_PROTO_HDR; i++)
		CHECK_EQ_INT(proto_frame_len(buf, i), 0);
	/* Partial body. */
	test_proto_hdr(buf, 10);
	for (i = HQ_PROTO_HDR; i < HQ_PROTO_HDR + 10; i++)
		CHECK_EQ_INT(proto_frame_len(buf, i), 0);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_HDR + 10), 14);
	/* Bytes after the frame belong to the next one. */
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_HDR + 11), 14);
	CHECK_EQ_INT(proto_frame_len(buf, 1000), 14);
	test_proto_hdr(buf, 1);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_HDR + 1), 5);
	/* Zero length. */
	test_proto_hdr(buf, 0);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_HDR), -1);
	CHECK_EQ_INT(proto_frame_len(buf, 100), -1);
	/* The largest body allowed, and one byte more. */
	test_proto_hdr(buf, (uint32_t)max);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_HDR), 0);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_MAX_FRAME - 1), 0);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_MAX_FRAME),
	    HQ_PROTO_MAX_FRAME);
	test_proto_hdr(buf, (uint32_t)max + 1);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_HDR), -1);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_MAX_FRAME + 16), -1);
	test_proto_hdr(buf, 0x80000000u);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_HDR), -1);
	test_proto_hdr(buf, UINT32_MAX);
	CHECK_EQ_INT(proto_frame_len(buf, HQ_PROTO_HDR), -1);
	free(buf);
}

/* One valid message of each type, encoded; bodies only. */
static size_t
test_proto_samples(struct pbuf *bodies, size_t *offs, size_t max)
{
	static char	 n1[] = "1_a.json", n2[] = "10_b-c_9.msgpack";
	static char	 n3[] = "x";
	char		*names[] = { n1, n2, n3 };
	struct hq_msg	 m;
	struct pbuf	 f = { 0 };
	size_t		 n = 0;
	int		 t;

	for (t = HQ_MSG_HELLO; t < HQ_MSG_MAX_ && n < max; t++) {
		memset(&m, 0, sizeof(m));
		m.type = (enum hq_msg_type)t;
		m.version = 1;
		m.slot = 2;
		m.gen = 300;
		m.pid = 70000;
		m.applied = 1;
		m.dups = 65536;
		if (t == HQ_MSG_CONFIG)
			test_proto_config_full(&m.cfg);
		if (t == HQ_MSG_WORK) {
			m.names = names;
			m.nnames = nitems(names);
		}
		f.len = 0;
		if (proto_encode(&m, &f) == 0) {
			offs[n++] = bodies->len;
			pbuf_reserve(bodies, f.len);
			memcpy(bodies->data + bodies->len,
			    f.data + HQ_PROTO_HDR, f.len - HQ_PROTO_HDR);
			bodies->len += f.len - HQ_PROTO_HDR;
		}
		if (t == HQ_MSG_CONFIG)
			config_free(&m.cfg);
	}
	offs[n] = bodies->len;
	pbuf_free(&f);
	return n;
}

static void
test_decode_truncated(void)
{
	struct pbuf	 bodies = { 0 };
	struct hq_msg	 m;
	size_t		 offs[16], n, i, len, blen;
	char		*extra;

	n = test_proto_samples(&bodies, offs, nitems(offs) - 1);
	CHECK_EQ_INT(n, HQ_MSG_MAX_ - 1);
	for (i = 0; i < n; i++) {
		blen = offs[i + 1] - offs[i];
		/* The whole body decodes... */
		CHECK(test_proto_decode(bodies.data + offs[i], blen, &m) == 0);
		proto_msg_free(&m);
		/* ...and no prefix of it does. */
		for (len = 0; len < blen; len++)
			test_proto_refuse(__LINE__, bodies.data + offs[i], len);
		/* Trailing bytes: one byte, and a whole second value. */
		extra = malloc(blen * 2);
		memcpy(extra, bodies.data + offs[i], blen);
		extra[blen] = (char)0xc0;	/* nil */
		test_proto_refuse(__LINE__, extra, blen + 1);
		memcpy(extra + blen, bodies.data + offs[i], blen);
		test_proto_refuse(__LINE__, extra, blen * 2);
		free(extra);
	}
	pbuf_free(&bodies);
}

/* What a field holds; the decoder checks each. */
enum test_proto_kind {
	K_U32, K_PID, K_INT, K_POS, K_BOOL, K_STR, K_NSTR, K_NAMES,
};

static const struct test_proto_layout {
	int			type;
	int			nfields;	/* after the type */
	enum test_proto_kind	kind[15];
} test_proto_layouts[] = {
	{ HQ_MSG_HELLO, 4, { K_U32, K_U32, K_U32, K_PID } },
	{ HQ_MSG_CONFIG, 15, { K_STR, K_STR, K_POS, K_INT, K_BOOL, K_INT,
	    K_POS, K_POS, K_POS, K_BOOL, K_NSTR, K_INT, K_NSTR, K_INT,
	    K_INT } },
	{ HQ_MSG_READY, 2, { K_U32, K_U32 } },
	{ HQ_MSG_WORK, 2, { K_NAMES, K_U32 } },
	{ HQ_MSG_DONE, 6, { K_U32, K_U32, K_U32, K_U32, K_U32, K_U32 } },
	{ HQ_MSG_PROGRESS, 2, { K_U32, K_U32 } },
	{ HQ_MSG_STOP, 0, { K_U32 } },
	{ HQ_MSG_REOPEN, 0, { K_U32 } },
};

static void
test_proto_pack_cstr(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

/*
 * Pack variant v of a field of kind k: variant 0 is valid, the others are
 * wrong in type or range. Returns false when k has no variant v.
 */
static bool
test_proto_pack_field(msgpack_packer *pk, enum test_proto_kind k, int v)
{
	uint32_t	i;

	if (v == 0) {
		switch (k) {
		case K_U32:
		case K_PID:
		case K_INT:
		case K_POS:
			msgpack_pack_uint32(pk, 100);
			break;
		case K_BOOL:
			msgpack_pack_true(pk);
			break;
		case K_STR:
		case K_NSTR:
			test_proto_pack_cstr(pk, "abc", 3);
			break;
		case K_NAMES:
			msgpack_pack_array(pk, 1);
			test_proto_pack_cstr(pk, "5_a.json", 8);
			break;
		}
		return true;
	}
	/* Wrong whatever the kind (booleans and strings handled below). */
	switch (v) {
	case 1:
		msgpack_pack_double(pk, 1.0);
		return true;
	case 2:
		/* An empty array is a valid list of names. */
		if (k == K_NAMES)
			msgpack_pack_int(pk, 0);
		else
			msgpack_pack_array(pk, 0);
		return true;
	case 3:
		msgpack_pack_map(pk, 0);
		return true;
	case 4:
		msgpack_pack_bin(pk, 3);
		msgpack_pack_bin_body(pk, "abc", 3);
		return true;
	default:
		break;
	}
	v -= 5;
	switch (k) {
	case K_U32:
	case K_PID:
		switch (v) {
		case 0: msgpack_pack_int(pk, -1); return true;
		case 1: msgpack_pack_int64(pk, INT64_MIN); return true;
		case 2: msgpack_pack_nil(pk); return true;
		case 3: msgpack_pack_true(pk); return true;
		case 4: test_proto_pack_cstr(pk, "1", 1); return true;
		case 5:
			if (k == K_U32)
				msgpack_pack_uint64(pk, (uint64_t)UINT32_MAX +
				    1);
			else
				msgpack_pack_uint64(pk, (uint64_t)INT32_MAX +
				    1);
			return true;
		case 6: msgpack_pack_uint64(pk, UINT64_MAX); return true;
		}
		return false;
	case K_INT:
	case K_POS:
		switch (v) {
		case 0: msgpack_pack_nil(pk); return true;
		case 1: msgpack_pack_false(pk); return true;
		case 2: test_proto_pack_cstr(pk, "1", 1); return true;
		case 3:
			msgpack_pack_uint64(pk, (uint64_t)INT32_MAX + 1);
			return true;
		case 4:
			msgpack_pack_int64(pk, (int64_t)INT32_MIN - 1);
			return true;
		case 5: msgpack_pack_uint64(pk, UINT64_MAX); return true;
		case 6:
			/* In range for the type, out of range for the field. */
			if (k != K_POS)
				return false;
			msgpack_pack_int(pk, 0);
			return true;
		case 7:
			if (k != K_POS)
				return false;
			msgpack_pack_int(pk, -5);
			return true;
		}
		return false;
	case K_BOOL:
		switch (v) {
		case 0: msgpack_pack_int(pk, 1); return true;
		case 1: msgpack_pack_int(pk, 0); return true;
		case 2: msgpack_pack_nil(pk); return true;
		case 3: test_proto_pack_cstr(pk, "true", 4); return true;
		}
		return false;
	case K_STR:
	case K_NSTR:
		switch (v) {
		case 0: msgpack_pack_int(pk, 1); return true;
		case 1: msgpack_pack_true(pk); return true;
		case 2: test_proto_pack_cstr(pk, "a\0b", 3); return true;
		case 3: test_proto_pack_cstr(pk, "\0", 1); return true;
		case 4:
			if (k != K_STR)
				return false;
			msgpack_pack_nil(pk);
			return true;
		}
		return false;
	case K_NAMES:
		switch (v) {
		case 0: msgpack_pack_nil(pk); return true;
		case 1: test_proto_pack_cstr(pk, "5_a.json", 8); return true;
		case 2:
			msgpack_pack_array(pk, 1);
			msgpack_pack_int(pk, 1);
			return true;
		case 3:
			msgpack_pack_array(pk, 1);
			test_proto_pack_cstr(pk, "", 0);
			return true;
		case 4:
			msgpack_pack_array(pk, 2);
			test_proto_pack_cstr(pk, "5_a.json", 8);
			test_proto_pack_cstr(pk, "a/b", 3);
			return true;
		case 5:
			msgpack_pack_array(pk, 1);
			test_proto_pack_cstr(pk, "/", 1);
			return true;
		case 6:
			msgpack_pack_array(pk, 1);
			test_proto_pack_cstr(pk, "../5_a.json", 11);
			return true;
		case 7:
			msgpack_pack_array(pk, 3);
			test_proto_pack_cstr(pk, "5_a.json", 8);
			test_proto_pack_cstr(pk, "5_b.json", 8);
			test_proto_pack_cstr(pk, "5_c\0.json", 9);
			return true;
		case 8:
			msgpack_pack_array(pk, 1);
			msgpack_pack_nil(pk);
			return true;
		case 9:
			msgpack_pack_array(pk, 1);
			msgpack_pack_bin(pk, 8);
			msgpack_pack_bin_body(pk, "5_a.json", 8);
			return true;
		case 10:
			msgpack_pack_array(pk, HQ_PROTO_MAX_NAMES + 1);
			for (i = 0; i < HQ_PROTO_MAX_NAMES + 1; i++)
				test_proto_pack_cstr(pk, "5_a.json", 8);
			return true;
		}
		return false;
	}
	return false;
}

/* Pack a body of layout l with nfields fields (variant v at field bad). */
static void
test_proto_pack_body(msgpack_sbuffer *sb, const struct test_proto_layout *l,
    int nfields, int bad, int v)
{
	msgpack_packer	pk;
	int		i;

	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, (size_t)nfields + 1);
	msgpack_pack_int(&pk, l->type);
	for (i = 0; i < nfields; i++) {
		if (i >= l->nfields)
			msgpack_pack_uint32(&pk, 1);
		else
			test_proto_pack_field(&pk, l->kind[i],
			    i == bad ? v : 0);
	}
}

static void
test_decode_wrong_arity(void)
{
	msgpack_sbuffer	 sb;
	struct hq_msg	 m;
	size_t		 i;

	msgpack_sbuffer_init(&sb);
	for (i = 0; i < nitems(test_proto_layouts); i++) {
		const struct test_proto_layout *l = &test_proto_layouts[i];

		/* The crafted body with the right arity is accepted... */
		test_proto_pack_body(&sb, l, l->nfields, -1, 0);
		if (test_proto_decode(sb.data, sb.size, &m) != 0) {
			fprintf(stderr, "crafted %s refused\n",
			    proto_type_name((enum hq_msg_type)l->type));
			hqtest_failures++;
		} else {
			CHECK_EQ_INT(m.type, l->type);
			proto_msg_free(&m);
		}
		/* ...one field fewer or more is not. */
		if (l->nfields > 0) {
			test_proto_pack_body(&sb, l, l->nfields - 1, -1, 0);
			REFUSE_SB(&sb);
		}
		test_proto_pack_body(&sb, l, l->nfields + 1, -1, 0);
		REFUSE_SB(&sb);
		test_proto_pack_body(&sb, l, l->nfields + 10, -1, 0);
		REFUSE_SB(&sb);
	}
	msgpack_sbuffer_destroy(&sb);
}

static void
test_decode_wrong_types(void)
{
	msgpack_sbuffer	 sb;
	size_t		 i;
	int		 f, v, tried = 0;

	msgpack_sbuffer_init(&sb);
	for (i = 0; i < nitems(test_proto_layouts); i++) {
		const struct test_proto_layout *l = &test_proto_layouts[i];

		for (f = 0; f < l->nfields; f++) {
			for (v = 1; ; v++) {
				msgpack_packer	pk;

				msgpack_sbuffer_clear(&sb);
				msgpack_packer_init(&pk, &sb,
				    msgpack_sbuffer_write);
				if (!test_proto_pack_field(&pk, l->kind[f], v))
					break;
				test_proto_pack_body(&sb, l, l->nfields, f, v);
				tried++;
				if (!test_proto_refuse(__LINE__, sb.data,
				    sb.size))
					fprintf(stderr, "  (%s field %d "
					    "variant %d)\n", proto_type_name(
					    (enum hq_msg_type)l->type), f + 1,
					    v);
			}
		}
	}
	CHECK(tried > 100);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_decode_unknown_type(void)
{
	static const unsigned char bodies[][8] = {
		{ 0x91, 0x00 },			/* [0] */
		{ 0x91, 0x63 },			/* [99] */
		{ 0x91, HQ_MSG_MAX_ },		/* [first unknown] */
		{ 0x91, 0xff },			/* [-1] */
		{ 0x91, 0xcd, 0x01, 0x01 },	/* [257] */
		{ 0x91, 0xce, 0x00, 0x00, 0x00, 0x01 },	/* [1]: HELLO */
		{ 0x91, 0xc0 },			/* [nil] */
		{ 0x91, 0xc3 },			/* [true] */
		{ 0x91, 0xa1, 'S' },		/* ["S"] */
		{ 0x90 },			/* [] */
		{ 0x07 },			/* 7 */
		{ 0x81, 0x07, 0x07 },		/* {7: 7} */
		{ 0xc0 },			/* nil */
		{ 0xc1 },			/* never used */
	};
	static const size_t lens[] = { 2, 2, 2, 2, 4, 6, 2, 2, 3, 1, 1, 3,
	    1, 1 };
	unsigned char	 stop[] = { 0x91, HQ_MSG_STOP };
	struct hq_msg	 m;
	size_t		 i;

	for (i = 0; i < nitems(bodies); i++)
		test_proto_refuse(__LINE__, bodies[i], lens[i]);
	/* The one-element STOP is the shortest valid body. */
	REQUIRE(test_proto_decode(stop, sizeof(stop), &m) == 0);
	CHECK_EQ_INT(m.type, HQ_MSG_STOP);
	proto_msg_free(&m);
}

static void
test_proto_config_refused(const char *what, struct hq_config *c)
{
	struct hq_msg	m = { .type = HQ_MSG_CONFIG };
	struct pbuf	b = { 0 };

	m.cfg = *c;
	/* The encoder does not judge values: only the decoder does. */
	if (proto_encode(&m, &b) != 0) {
		fprintf(stderr, "config %s: encode failed\n", what);
		hqtest_failures++;
	} else {
		test_proto_refuse(__LINE__, b.data + HQ_PROTO_HDR,
		    b.len - HQ_PROTO_HDR);
	}
	pbuf_free(&b);
}

static void
test_decode_config_ranges(void)
{
	struct hq_config	c, t;

	test_proto_config_full(&c);
	t = c; t.batch_size = 0;
	test_proto_config_refused("batch_size 0", &t);
	t = c; t.batch_size = -1;
	test_proto_config_refused("batch_size -1", &t);
	t = c; t.max_retries = -1;
	test_proto_config_refused("max_retries -1", &t);
	t = c; t.busy_timeout_ms = -1;
	test_proto_config_refused("busy_timeout_ms -1", &t);
	t = c; t.max_entry_bytes = 0;
	test_proto_config_refused("max_entry_bytes 0", &t);
	t = c; t.retry_base_ms = 0;
	test_proto_config_refused("retry_base_ms 0", &t);
	t = c; t.ledger_days = 0;
	test_proto_config_refused("ledger_days 0", &t);
	t = c; t.root = NULL;
	test_proto_config_refused("root NULL", &t);
	t = c; t.db = NULL;
	test_proto_config_refused("db NULL", &t);
	config_free(&c);
}

static void
test_decode_hello_pid(void)
{
	struct hq_msg	m = { .type = HQ_MSG_HELLO, .version = 1 };
	struct pbuf	b = { 0 };

	m.pid = -1;
	REQUIRE(proto_encode(&m, &b) == 0);
	test_proto_refuse(__LINE__, b.data + HQ_PROTO_HDR,
	    b.len - HQ_PROTO_HDR);
	b.len = 0;
	m.pid = (int64_t)INT32_MAX + 1;
	REQUIRE(proto_encode(&m, &b) == 0);
	test_proto_refuse(__LINE__, b.data + HQ_PROTO_HDR,
	    b.len - HQ_PROTO_HDR);
	pbuf_free(&b);
}

static void
test_decode_oversize_body(void)
{
	char	*big;

	/* Bigger than any frame may carry: refused before parsing. */
	big = calloc(1, HQ_PROTO_MAX_FRAME + 1);
	big[0] = (char)0x91;
	big[1] = HQ_MSG_STOP;
	test_proto_refuse(__LINE__, big, HQ_PROTO_MAX_FRAME + 1);
	free(big);
}

/*
 * A five-byte body announcing a container of 2^32-1 elements. msgpack-c
 * allocates room for every announced element before it reads one, so a
 * decoder that hands it such a body asks malloc for about 100 GB per
 * container (ASan aborts on it). Each element takes at least one byte:
 * no count above the bytes left can be honest.
 */
static void
test_decode_huge_count(void)
{
	static const unsigned char array32[] = { 0xdd, 0xff, 0xff, 0xff,
	    0xff };
	static const unsigned char map32[] = { 0xdf, 0xff, 0xff, 0xff,
	    0xff };
	static const unsigned char work[] = { 0x93, HQ_MSG_WORK, 0xdd,
	    0x7f, 0xff, 0xff, 0xff };

	test_proto_refuse(__LINE__, array32, sizeof(array32));
	test_proto_refuse(__LINE__, map32, sizeof(map32));
	test_proto_refuse(__LINE__, work, sizeof(work));
}

static void
test_read_write_socketpair(void)
{
	struct pbuf	 wb = { 0 }, rb = { 0 };
	struct hq_msg	 msgs[HQ_MSG_MAX_], in;
	static char	 n1[] = "2_a.json", n2[] = "10_b.msgpack";
	char		*names[] = { n1, n2 };
	int		 sv[2], t, r;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	memset(msgs, 0, sizeof(msgs));
	for (t = HQ_MSG_HELLO; t < HQ_MSG_MAX_; t++) {
		msgs[t].type = (enum hq_msg_type)t;
		msgs[t].version = HQ_PROTO_VERSION;
		msgs[t].slot = (uint32_t)t;
		msgs[t].gen = 1;
		msgs[t].pid = getpid();
		msgs[t].applied = 5;
		if (t == HQ_MSG_CONFIG)
			test_proto_config_full(&msgs[t].cfg);
		if (t == HQ_MSG_WORK) {
			msgs[t].names = names;
			msgs[t].nnames = nitems(names);
		}
		CHECK(proto_write(sv[0], &msgs[t], &wb) == 0);
	}
	for (t = HQ_MSG_HELLO; t < HQ_MSG_MAX_; t++) {
		r = proto_read(sv[1], &rb, &in);
		CHECK_EQ_INT(r, 1);
		if (r == 1) {
			test_proto_same(&msgs[t], &in);
			proto_msg_free(&in);
		}
	}
	config_free(&msgs[HQ_MSG_CONFIG].cfg);

	/* A clean EOF between frames. */
	close(sv[0]);
	CHECK_EQ_INT(proto_read(sv[1], &rb, &in), 0);
	CHECK_EQ_INT(proto_read(sv[1], &rb, &in), 0);
	close(sv[1]);

	/* proto_write refuses what proto_encode refuses, writing nothing. */
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	msgs[0].type = HQ_MSG_WORK;
	msgs[0].names = test_proto_names(HQ_PROTO_MAX_NAMES + 1, 12);
	msgs[0].nnames = HQ_PROTO_MAX_NAMES + 1;
	errno = 0;
	CHECK_EQ_INT(proto_write(sv[0], &msgs[0], &wb), -1);
	CHECK_EQ_INT(errno, EMSGSIZE);
	test_proto_names_free(msgs[0].names, msgs[0].nnames);
	close(sv[0]);
	CHECK_EQ_INT(proto_read(sv[1], &rb, &in), 0);
	close(sv[1]);
	pbuf_free(&wb);
	pbuf_free(&rb);
}

/* Write raw bytes to one end, close it, read a frame from the other. */
static int
test_proto_read_raw(const void *bytes, size_t len, int *err)
{
	struct pbuf	rb = { 0 };
	struct hq_msg	m;
	int		sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -2;
	if (len > 0 && write(sv[0], bytes, len) != (ssize_t)len)
		return -2;
	close(sv[0]);
	errno = 0;
	r = proto_read(sv[1], &rb, &m);
	*err = errno;
	if (r == 1)
		proto_msg_free(&m);
	close(sv[1]);
	pbuf_free(&rb);
	return r;
}

static void
test_read_malformed(void)
{
	unsigned char	 buf[64];
	int		 err;

	/* A frame whose body is garbage. */
	test_proto_hdr(buf, 3);
	buf[4] = 0xc1;
	buf[5] = 0xc1;
	buf[6] = 0xc1;
	CHECK_EQ_INT(test_proto_read_raw(buf, 7, &err), -1);
	CHECK_EQ_INT(err, EBADMSG);
	/* A well-formed msgpack body of an unknown type. */
	test_proto_hdr(buf, 2);
	buf[4] = 0x91;
	buf[5] = 99;
	CHECK_EQ_INT(test_proto_read_raw(buf, 6, &err), -1);
	CHECK_EQ_INT(err, EBADMSG);
	/* Zero and oversized lengths. */
	test_proto_hdr(buf, 0);
	CHECK_EQ_INT(test_proto_read_raw(buf, 4, &err), -1);
	CHECK_EQ_INT(err, EBADMSG);
	test_proto_hdr(buf, HQ_PROTO_MAX_FRAME);
	CHECK_EQ_INT(test_proto_read_raw(buf, 4, &err), -1);
	CHECK_EQ_INT(err, EBADMSG);
	test_proto_hdr(buf, UINT32_MAX);
	CHECK_EQ_INT(test_proto_read_raw(buf, 4, &err), -1);
	CHECK_EQ_INT(err, EBADMSG);
	/* EOF inside the header and inside the body: an error, not EOF. */
	test_proto_hdr(buf, 2);
	buf[4] = 0x91;
	buf[5] = HQ_MSG_STOP;
	CHECK_EQ_INT(test_proto_read_raw(buf, 2, &err), -1);
	CHECK_EQ_INT(test_proto_read_raw(buf, 5, &err), -1);
	CHECK_EQ_INT(test_proto_read_raw(buf, 6, &err), 1);
	CHECK_EQ_INT(test_proto_read_raw(buf, 0, &err), 0);
}

/*
 * Frames far larger than the socket buffer, written by a forked child in
 * one proto_write each while the parent reads: the blocking helpers must
 * loop over short reads and writes.
 */
static void
test_read_write_large_forked(void)
{
	struct pbuf	 b = { 0 };
	struct hq_msg	 m = { .type = HQ_MSG_WORK }, in;
	pid_t		 pid;
	int		 sv[2], status, i, r;

	m.names = test_proto_names(HQ_PROTO_MAX_NAMES, HQ_NAME_MAX);
	m.nnames = HQ_PROTO_MAX_NAMES;
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	REQUIRE((pid = fork()) != -1);
	if (pid == 0) {
		close(sv[1]);
		for (i = 0; i < 5; i++) {
			m.names[0][2] = (char)('a' + i);
			if (proto_write(sv[0], &m, &b) == -1)
				_exit(1);
		}
		_exit(0);
	}
	close(sv[0]);
	for (i = 0; i < 5; i++) {
		r = proto_read(sv[1], &b, &in);
		CHECK_EQ_INT(r, 1);
		if (r != 1)
			break;
		m.names[0][2] = (char)('a' + i);
		test_proto_same(&m, &in);
		proto_msg_free(&in);
	}
	CHECK_EQ_INT(proto_read(sv[1], &b, &in), 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[1]);
	pbuf_free(&b);
	test_proto_names_free(m.names, m.nnames);
}

static uint64_t
test_proto_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * 50000 seeded bodies: random bytes, random bytes behind a plausible
 * array-and-type prefix, and valid bodies with bytes flipped, cut or
 * added. Nothing may crash or leak; whatever decodes must encode and
 * decode again to the same message.
 */
static void
test_decode_random(void)
{
	struct pbuf	 bodies = { 0 }, f = { 0 };
	struct hq_msg	 m, again;
	unsigned char	*buf;
	uint64_t	 seed = 0x9e3779b97f4a7c15ull;
	size_t		 offs[16], nsamples, len, j, blen;
	long		 ok = 0;
	int		 i, k;

	nsamples = test_proto_samples(&bodies, offs, nitems(offs) - 1);
	REQUIRE(nsamples > 0);
	buf = malloc(4096);
	for (i = 0; i < 50000; i++) {
		switch (i % 3) {
		case 0:
			len = test_proto_rand(&seed) % 64;
			for (j = 0; j < len; j++)
				buf[j] = (unsigned char)test_proto_rand(&seed);
			break;
		case 1:
			len = 2 + test_proto_rand(&seed) % 48;
			for (j = 0; j < len; j++)
				buf[j] = (unsigned char)test_proto_rand(&seed);
			buf[0] = (unsigned char)(0x90 +
			    test_proto_rand(&seed) % 15);
			buf[1] = (unsigned char)(test_proto_rand(&seed) %
			    (HQ_MSG_MAX_ + 1));
			break;
		default:
			j = test_proto_rand(&seed) % nsamples;
			blen = offs[j + 1] - offs[j];
			memcpy(buf, bodies.data + offs[j], blen);
			len = blen;
			for (k = 0; k < 1 + (int)(test_proto_rand(&seed) % 3);
			    k++)
				buf[test_proto_rand(&seed) % blen] =
				    (unsigned char)test_proto_rand(&seed);
			if (test_proto_rand(&seed) % 4 == 0)
				len = test_proto_rand(&seed) % (blen + 8);
			for (j = blen; j < len; j++)
				buf[j] = (unsigned char)test_proto_rand(&seed);
			break;
		}
		if (test_proto_decode(buf, len, &m) != 0) {
			if (!test_proto_zeroed(&m)) {
				fprintf(stderr, "random %d: m not zeroed\n", i);
				hqtest_failures++;
			}
			continue;
		}
		ok++;
		f.len = 0;
		if (proto_encode(&m, &f) != 0 || test_proto_decode(f.data +
		    HQ_PROTO_HDR, f.len - HQ_PROTO_HDR, &again) != 0) {
			fprintf(stderr, "random %d: decoded %s does not "
			    "encode and decode again\n", i,
			    proto_type_name(m.type));
			hqtest_failures++;
		} else {
			test_proto_same(&m, &again);
			proto_msg_free(&again);
		}
		proto_msg_free(&m);
	}
	/* Some mutations stay valid; none at all would mean a weak test. */
	CHECK(ok > 0);
	free(buf);
	pbuf_free(&f);
	pbuf_free(&bodies);
}

static const struct hqtest tests[] = {
	{ "roundtrip_hello", test_roundtrip_hello },
	{ "roundtrip_config", test_roundtrip_config },
	{ "roundtrip_small", test_roundtrip_small },
	{ "roundtrip_work", test_roundtrip_work },
	{ "encode_oversize", test_encode_oversize },
	{ "frame_len", test_frame_len },
	{ "decode_truncated", test_decode_truncated },
	{ "decode_wrong_arity", test_decode_wrong_arity },
	{ "decode_wrong_types", test_decode_wrong_types },
	{ "decode_unknown_type", test_decode_unknown_type },
	{ "decode_config_ranges", test_decode_config_ranges },
	{ "decode_hello_pid", test_decode_hello_pid },
	{ "decode_oversize_body", test_decode_oversize_body },
	{ "decode_huge_count", test_decode_huge_count },
	{ "read_write_socketpair", test_read_write_socketpair },
	{ "read_malformed", test_read_malformed },
	{ "read_write_large_forked", test_read_write_large_forked },
	{ "decode_random", test_decode_random },
};

HQTEST_MAIN(tests)

/* SPDX-License-Identifier: MIT */
/* mkseeds: writes the seed corpora of the fuzzers (run once by hand:
 * `mkseeds tests/fuzz/corpus`; the output is committed). */
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/hq.h"
#include "common/proto.h"
#include "common/seg.h"
#include "worker/dqwire.h"

static void
put(const char *dir, const char *sub, const char *name, const void *p,
    size_t len)
{
	char	path[4096];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, len, f) != len)
		perror(path);
	if (f)
		fclose(f);
}

static void
put_str(const char *dir, const char *sub, const char *name, const char *s)
{
	put(dir, sub, name, s, strlen(s));
}

static void
mp_entry(const char *dir, const char *name, int variant)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, variant ? 5 : 2);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "sql", 3);
	msgpack_pack_str(&pk, 30);
	msgpack_pack_str_body(&pk, "INSERT INTO t VALUES (?, ?, ?)", 30);
	msgpack_pack_str(&pk, 6);
	msgpack_pack_str_body(&pk, "params", 6);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int64(&pk, -42);
	msgpack_pack_double(&pk, 2.5);
	msgpack_pack_bin(&pk, 3);
	msgpack_pack_bin_body(&pk, "\0\1\2", 3);
	msgpack_pack_nil(&pk);
	if (variant) {
		msgpack_pack_str(&pk, 2);
		msgpack_pack_str_body(&pk, "id", 2);
		msgpack_pack_str(&pk, 3);
		msgpack_pack_str_body(&pk, "abc", 3);
		msgpack_pack_str(&pk, 8);
		msgpack_pack_str_body(&pk, "metadata", 8);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str(&pk, 1);
		msgpack_pack_str_body(&pk, "k", 1);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_true(&pk);
		msgpack_pack_false(&pk);
		msgpack_pack_str(&pk, 9);
		msgpack_pack_str_body(&pk, "operation", 9);
		msgpack_pack_str(&pk, 4);
		msgpack_pack_str_body(&pk, "op\xc3\xa9", 4);
	}
	put(dir, "entry_msgpack", name, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* A dqlite message: header, then the body built so far in body. */
static void
dq_msg(struct pbuf *out, uint8_t type, struct pbuf *body)
{
	unsigned char	hdr[DQ_HDR] = { 0 };
	uint32_t	words = (uint32_t)(body->len / DQ_WORD);

	hdr[0] = (unsigned char)words;
	hdr[1] = (unsigned char)(words >> 8);
	hdr[4] = type;
	pbuf_add(out, hdr, sizeof(hdr));
	pbuf_add(out, body->data, body->len);
	body->len = 0;
}

/* The dqlite responses, as streams of messages a client reads. */
static void
dq_seeds(const char *dir)
{
	static const uint8_t codes[] = { DQ_INTEGER, DQ_FLOAT, DQ_TEXT,
					 DQ_BLOB, DQ_NULL, DQ_UNIXTIME,
					 DQ_ISO8601, DQ_BOOLEAN };
	struct pbuf	out = { 0 }, b = { 0 };
	char		name[32];
	size_t		i, part;

	dq_put_u64(&b, 19);
	dq_put_text(&b, "UNIQUE constraint failed: t.k", 29);
	dq_msg(&out, DQ_RESP_FAILURE, &b);
	dq_put_u64(&b, 1);
	dq_put_text(&b, "127.0.0.1:9001", 14);
	dq_msg(&out, DQ_RESP_SERVER, &b);
	dq_put_u64(&b, 15000);
	dq_msg(&out, DQ_RESP_WELCOME, &b);
	dq_put_u64(&b, 0);
	dq_msg(&out, DQ_RESP_DB, &b);
	dq_put_u64(&b, (uint64_t)3 << 32);
	dq_put_u64(&b, 2);
	dq_msg(&out, DQ_RESP_STMT, &b);
	dq_put_u64(&b, 7);
	dq_put_u64(&b, 1);
	dq_msg(&out, DQ_RESP_RESULT, &b);
	dq_put_u64(&b, 0);
	dq_msg(&out, DQ_RESP_EMPTY, &b);
	put(dir, "dqlite", "fixed.bin", out.data, out.len);

	/* A query in two parts with every value type, then a FAILURE with
	 * the column list dqlite 1.11 puts before it. */
	out.len = 0;
	for (part = 0; part < 2; part++) {
		dq_put_u64(&b, nitems(codes));
		for (i = 0; i < nitems(codes); i++) {
			snprintf(name, sizeof(name), "c%zu", i);
			dq_put_text(&b, name, strlen(name));
		}
		dq_put_u64(&b, (uint64_t)DQ_INTEGER | DQ_FLOAT << 4 |
		    DQ_TEXT << 8 | DQ_BLOB << 12 | DQ_NULL << 16 |
		    (uint64_t)DQ_UNIXTIME << 20 | (uint64_t)DQ_ISO8601 << 24 |
		    (uint64_t)DQ_BOOLEAN << 28);
		dq_put_u64(&b, (uint64_t)-1);
		dq_put_u64(&b, 0x3ff8000000000000ULL);
		dq_put_text(&b, "h\xc3\xa9llo", 6);
		dq_put_blob(&b, "\0\1\2", 3);
		dq_put_u64(&b, 0);
		dq_put_u64(&b, 1700000000);
		dq_put_text(&b, part ? "" : "2024-01-02", part ? 0 : 10);
		dq_put_u64(&b, 1);
		dq_put_u64(&b, part ? DQ_ROWS_DONE : DQ_ROWS_PART);
		dq_msg(&out, DQ_RESP_ROWS, &b);
	}
	dq_put_u64(&b, 1);
	dq_put_text(&b, "a", 1);
	dq_put_u64(&b, 1);
	dq_put_text(&b, "integer overflow", 16);
	dq_msg(&out, DQ_RESP_FAILURE, &b);
	put(dir, "dqlite", "rows.bin", out.data, out.len);

	/* 17 columns: a row header of two words. */
	out.len = 0;
	dq_put_u64(&b, 17);
	for (i = 0; i < 17; i++)
		dq_put_text(&b, "x", 1);
	dq_put_u64(&b, 0x1111111111111111ULL);
	dq_put_u64(&b, 1);
	for (i = 0; i < 17; i++)
		dq_put_u64(&b, i);
	dq_put_u64(&b, DQ_ROWS_DONE);
	dq_msg(&out, DQ_RESP_ROWS, &b);
	put(dir, "dqlite", "wide.bin", out.data, out.len);
	pbuf_free(&out);
	pbuf_free(&b);
}

int
main(int argc, char **argv)
{
	static const char *json[] = {
		"{\"sql\":\"INSERT INTO t VALUES (1)\"}",
		"{\"sql\":\"INSERT INTO t VALUES (?, ?, ?, ?, ?)\",\"params\":"
		"[1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\", null, true],"
		"\"operation\":\"op\",\"id\":\"k1\",\"priority\":3,\"retries\":0}",
		"{\"seq\":\"1_2\",\"priority\":3,\"operation\":\"update_session\","
		"\"sql\":\"UPDATE s SET a = 1;\",\"metadata\":{}},\"created_at\":"
		"\"2026-11-26T17:43:17Z\",\"retries\":0}",
		"{\n  \"sql\": \"SELECT 1\",\n  \"metadata\": {\"a\": [1, {\"b\""
		": null}]}\n}",
		"\xef\xbb\xbf{\"sql\":\"x\",\"params\":[9223372036854775807,"
		"9223372036854775808,1e400]}",
		"[1,2]", "{\"sql\":1}", "{\"sql\":\"a\"", "",
	};
	const char	*dir = argc > 1 ? argv[1] : "corpus";
	struct hq_msg	 m;
	struct pbuf	 b = { 0 };
	static struct seg sg;
	char		 name[32], n0[] = "5_1.json", n1[] = "10_a-b.msgpack";
	char		 n2[] = "1_x.json", *names[3] = { n0, n1, n2 };
	size_t		 i;

	mkdir(dir, 0755);
	for (i = 0; i < sizeof(json) / sizeof(json[0]); i++) {
		snprintf(name, sizeof(name), "seed%zu.json", i);
		put_str(dir, "entry_json", name, json[i]);
	}
	mp_entry(dir, "seed0.msgpack", 0);
	mp_entry(dir, "seed1.msgpack", 1);
	put(dir, "entry_msgpack", "seed2.msgpack", "\x81\xa3sql\xa1x", 7);
	put(dir, "entry_msgpack", "seed3.msgpack", "\xdd\xff\xff\xff\xff", 5);
	for (i = HQ_MSG_HELLO; i < HQ_MSG_MAX_; i++) {
		memset(&m, 0, sizeof(m));
		m.type = (enum hq_msg_type)i;
		m.version = HQ_PROTO_VERSION;
		m.slot = 1;
		m.gen = 7;
		m.pid = 1234;
		m.applied = 3;
		if (i == HQ_MSG_CONFIG) {
			config_defaults(&m.cfg);
			m.cfg.shm_name = (char *)(uintptr_t)"/hq-x";
		}
		if (i == HQ_MSG_WORK) {
			m.names = names;
			m.nnames = 3;
		}
		b.len = 0;
		proto_encode(&m, &b);
		snprintf(name, sizeof(name), "msg%zu.bin", i);
		/* the body, and the framed stream of it twice */
		put(dir, "proto", name, b.data + HQ_PROTO_HDR,
		    b.len - HQ_PROTO_HDR);
		proto_encode(&m, &b);
		snprintf(name, sizeof(name), "stream%zu.bin", i);
		put(dir, "proto", name, b.data, b.len);
		if (i == HQ_MSG_CONFIG) {
			m.cfg.shm_name = NULL;
			config_free(&m.cfg);
		}
	}
	pbuf_free(&b);
	memset(&sg, 0, sizeof(sg));
	sg.h.magic = HQ_SEG_MAGIC;
	sg.h.version = HQ_SEG_VERSION;
	sg.h.nworkers = 2;
	put(dir, "seg", "header.bin", &sg, sizeof(sg.h));
	put(dir, "seg", "small.bin", "\x00\x00HQSEG1", 8);
	SEG_SET(sg.slot[0].c.applied, 5);
	SEG_SET(sg.slot[1].state, 99);
	put(dir, "seg", "slots.bin", &sg.slot[0], 2 * sizeof(sg.slot[0]));
	dq_seeds(dir);
	return 0;
}

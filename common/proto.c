/* SPDX-License-Identifier: MIT */
/* proto.c: message encoding and decoding with msgpack-c. Used by the
 * supervisor (through channel.c) and by workers (blocking helpers). */
#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/mpcheck.h"
#include "common/proto.h"
#include "common/xmalloc.h"

static int
proto_pbuf_write(void *data, const char *buf, size_t len)
{
	struct pbuf	*b = data;

	pbuf_reserve(b, len);
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return 0;
}

static void
proto_pack_str(msgpack_packer *pk, const char *s)
{
	size_t	len;

	if (s == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	len = strlen(s);
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

/* Arity of each body, type included; the decoder insists on it. */
static const uint32_t proto_arity[HQ_MSG_MAX_] = {
#define HQ_MSG(name, arity, dir, fields)	[HQ_MSG_##name] = arity,
#include "common/proto.def"
#undef HQ_MSG
};

int
proto_encode(const struct hq_msg *m, struct pbuf *out)
{
	msgpack_packer	 pk;
	const struct hq_config *c = &m->cfg;
	size_t		 start = out->len, body, i;
	uint32_t	 n;

	if (m->type <= 0 || m->type >= HQ_MSG_MAX_)
		abort();
	pbuf_reserve(out, HQ_PROTO_HDR);
	out->len += HQ_PROTO_HDR;
	msgpack_packer_init(&pk, out, proto_pbuf_write);
	msgpack_pack_array(&pk, proto_arity[m->type]);
	msgpack_pack_uint32(&pk, m->type);
	switch (m->type) {
	case HQ_MSG_HELLO:
		msgpack_pack_uint32(&pk, m->version);
		msgpack_pack_uint32(&pk, m->slot);
		msgpack_pack_uint32(&pk, m->gen);
		msgpack_pack_int64(&pk, m->pid);
		break;
	case HQ_MSG_CONFIG:
		proto_pack_str(&pk, c->root);
		proto_pack_str(&pk, c->db);
		msgpack_pack_int(&pk, c->batch_size);
		msgpack_pack_int(&pk, c->max_retries);
		if (c->sync_full)
			msgpack_pack_true(&pk);
		else
			msgpack_pack_false(&pk);
		msgpack_pack_int(&pk, c->busy_timeout_ms);
		msgpack_pack_int(&pk, c->max_entry_bytes);
		msgpack_pack_int64(&pk, c->retry_base_ms);
		msgpack_pack_int(&pk, c->ledger_days);
		if (c->keep_completed)
			msgpack_pack_true(&pk);
		else
			msgpack_pack_false(&pk);
		proto_pack_str(&pk, c->log_file);
		msgpack_pack_int(&pk, c->log_level);
		proto_pack_str(&pk, c->shm_name);
		msgpack_pack_int64(&pk, c->statement_timeout_ms);
		msgpack_pack_int(&pk, c->memory_limit_mib);
		break;
	case HQ_MSG_READY:
	case HQ_MSG_PROGRESS:
		msgpack_pack_uint32(&pk, m->slot);
		msgpack_pack_uint32(&pk, m->gen);
		break;
	case HQ_MSG_WORK:
		msgpack_pack_array(&pk, (uint32_t)m->nnames);
		for (i = 0; i < m->nnames; i++)
			proto_pack_str(&pk, m->names[i]);
		msgpack_pack_uint32(&pk, m->poison);
		break;
	case HQ_MSG_DONE:
		msgpack_pack_uint32(&pk, m->slot);
		msgpack_pack_uint32(&pk, m->gen);
		msgpack_pack_uint32(&pk, m->applied);
		msgpack_pack_uint32(&pk, m->failed);
		msgpack_pack_uint32(&pk, m->retried);
		msgpack_pack_uint32(&pk, m->dups);
		break;
	case HQ_MSG_STOP:
	case HQ_MSG_REOPEN:
	case HQ_MSG_NONE_:
	case HQ_MSG_MAX_:
		break;
	}
	body = out->len - start - HQ_PROTO_HDR;
	if (body > HQ_PROTO_MAX_FRAME - HQ_PROTO_HDR ||
	    (m->type == HQ_MSG_WORK && m->nnames > HQ_PROTO_MAX_NAMES)) {
		out->len = start;
		errno = EMSGSIZE;
		return -1;
	}
	n = (uint32_t)body;
	out->data[start] = (char)(n >> 24);
	out->data[start + 1] = (char)(n >> 16);
	out->data[start + 2] = (char)(n >> 8);
	out->data[start + 3] = (char)n;
	return 0;
}

ssize_t
proto_frame_len(const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	uint32_t		 n;

	if (len < HQ_PROTO_HDR)
		return 0;
	n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	if (n == 0 || n > HQ_PROTO_MAX_FRAME - HQ_PROTO_HDR)
		return -1;
	if (len < HQ_PROTO_HDR + (size_t)n)
		return 0;
	return (ssize_t)(HQ_PROTO_HDR + n);
}

static int
proto_get_u32(const msgpack_object *o, uint32_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->via.u64 > UINT32_MAX)
		return -1;
	*v = (uint32_t)o->via.u64;
	return 0;
}

static int
proto_get_int(const msgpack_object *o, int *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT32_MAX)
		*v = (int)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
	    o->via.i64 >= INT32_MIN)
		*v = (int)o->via.i64;
	else
		return -1;
	return 0;
}

static int
proto_get_bool(const msgpack_object *o, bool *v)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*v = o->via.boolean;
	return 0;
}

/* A str without NUL bytes, copied; nil gives NULL when nullable. */
static int
proto_get_str(const msgpack_object *o, char **v, bool nullable)
{
	if (nullable && o->type == MSGPACK_OBJECT_NIL) {
		*v = NULL;
		return 0;
	}
	/* msgpack-c gives an empty str a NULL pointer: no memchr on it. */
	if (o->type != MSGPACK_OBJECT_STR || (o->via.str.size > 0 &&
	    memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL))
		return -1;
	*v = o->via.str.size > 0 ? xstrndup(o->via.str.ptr, o->via.str.size) :
	    xstrdup("");
	return 0;
}

static int
proto_decode_config(const msgpack_object *a, struct hq_config *c)
{
	int	ll, rb, st;

	if (proto_get_str(&a[1], &c->root, false) == -1 ||
	    proto_get_str(&a[2], &c->db, false) == -1 ||
	    proto_get_int(&a[3], &c->batch_size) == -1 ||
	    proto_get_int(&a[4], &c->max_retries) == -1 ||
	    proto_get_bool(&a[5], &c->sync_full) == -1 ||
	    proto_get_int(&a[6], &c->busy_timeout_ms) == -1 ||
	    proto_get_int(&a[7], &c->max_entry_bytes) == -1 ||
	    proto_get_int(&a[8], &rb) == -1 ||
	    proto_get_int(&a[9], &c->ledger_days) == -1 ||
	    proto_get_bool(&a[10], &c->keep_completed) == -1 ||
	    proto_get_str(&a[11], &c->log_file, true) == -1 ||
	    proto_get_int(&a[12], &ll) == -1 ||
	    proto_get_str(&a[13], &c->shm_name, true) == -1 ||
	    proto_get_int(&a[14], &st) == -1 ||
	    proto_get_int(&a[15], &c->memory_limit_mib) == -1)
		return -1;
	c->log_level = ll;
	c->retry_base_ms = rb;
	c->statement_timeout_ms = st;
	if (c->batch_size < 1 || c->max_retries < 0 || c->busy_timeout_ms < 0 ||
	    c->max_entry_bytes < 1 || c->retry_base_ms < 1 ||
	    c->ledger_days < 1 || c->statement_timeout_ms < 0 ||
	    c->memory_limit_mib < 0)
		return -1;
	return 0;
}

static int
proto_decode_names(const msgpack_object *o, struct hq_msg *m)
{
	uint32_t	i;

	if (o->type != MSGPACK_OBJECT_ARRAY ||
	    o->via.array.size > HQ_PROTO_MAX_NAMES)
		return -1;
	m->names = xcalloc(o->via.array.size ? o->via.array.size : 1,
	    sizeof(*m->names));
	for (i = 0; i < o->via.array.size; i++) {
		const msgpack_object *s = &o->via.array.ptr[i];

		/* Names travel as bare file names: no path may sneak in. */
		if (s->type != MSGPACK_OBJECT_STR || s->via.str.size == 0 ||
		    memchr(s->via.str.ptr, '/', s->via.str.size) != NULL ||
		    proto_get_str(s, &m->names[m->nnames], false) == -1)
			return -1;
		m->nnames++;
	}
	return 0;
}

int
proto_decode(const void *body, size_t len, struct hq_msg *m)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			 why[128];
	size_t			 off = 0;
	uint32_t		 type, n;
	int			 ret = -1;

	memset(m, 0, sizeof(*m));
	if (len == 0 || len > HQ_PROTO_MAX_FRAME)
		return -1;
	/* A worker is a separate process that may be broken: its bytes get
	 * the same bounds walk as an entry's before msgpack-c allocates. */
	if (mpcheck(body, len, why, sizeof(why)) == -1)
		return -1;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, body, len, &off) !=
	    MSGPACK_UNPACK_SUCCESS || off != len)
		goto out;
	if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size < 1)
		goto out;
	a = u.data.via.array.ptr;
	n = u.data.via.array.size;
	if (proto_get_u32(&a[0], &type) == -1 || type == 0 ||
	    type >= HQ_MSG_MAX_ || n != proto_arity[type])
		goto out;
	m->type = (enum hq_msg_type)type;
	switch (m->type) {
	case HQ_MSG_HELLO:
		if (proto_get_u32(&a[1], &m->version) == -1 ||
		    proto_get_u32(&a[2], &m->slot) == -1 ||
		    proto_get_u32(&a[3], &m->gen) == -1 ||
		    a[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    a[4].via.u64 > INT32_MAX)
			goto out;
		m->pid = (int64_t)a[4].via.u64;
		break;
	case HQ_MSG_CONFIG:
		if (proto_decode_config(a, &m->cfg) == -1)
			goto out;
		break;
	case HQ_MSG_READY:
	case HQ_MSG_PROGRESS:
		if (proto_get_u32(&a[1], &m->slot) == -1 ||
		    proto_get_u32(&a[2], &m->gen) == -1)
			goto out;
		break;
	case HQ_MSG_WORK:
		if (proto_decode_names(&a[1], m) == -1 ||
		    proto_get_u32(&a[2], &m->poison) == -1)
			goto out;
		break;
	case HQ_MSG_DONE:
		if (proto_get_u32(&a[1], &m->slot) == -1 ||
		    proto_get_u32(&a[2], &m->gen) == -1 ||
		    proto_get_u32(&a[3], &m->applied) == -1 ||
		    proto_get_u32(&a[4], &m->failed) == -1 ||
		    proto_get_u32(&a[5], &m->retried) == -1 ||
		    proto_get_u32(&a[6], &m->dups) == -1)
			goto out;
		break;
	case HQ_MSG_STOP:
	case HQ_MSG_REOPEN:
	case HQ_MSG_NONE_:
	case HQ_MSG_MAX_:
		break;
	}
	ret = 0;
out:
	msgpack_unpacked_destroy(&u);
	if (ret == -1)
		proto_msg_free(m);
	return ret;
}

void
proto_msg_free(struct hq_msg *m)
{
	size_t	i;

	for (i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	config_free(&m->cfg);
	memset(m, 0, sizeof(*m));
}

const char *
proto_type_name(enum hq_msg_type t)
{
	static const char *names[HQ_MSG_MAX_] = {
#define HQ_MSG(name, arity, dir, fields)	[HQ_MSG_##name] = #name,
#include "common/proto.def"
#undef HQ_MSG
	};

	if (t <= 0 || t >= HQ_MSG_MAX_)
		return "?";
	return names[t];
}

int
proto_read(int fd, struct pbuf *scratch, struct hq_msg *m)
{
	unsigned char	hdr[HQ_PROTO_HDR];
	ssize_t		n, flen;

	for (;;) {
		n = read(fd, hdr, 1);
		if (n == 1)
			break;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
	if (fd_read_full(fd, hdr + 1, sizeof(hdr) - 1) == -1)
		return -1;
	if ((flen = proto_frame_len(hdr, HQ_PROTO_MAX_FRAME)) <= 0) {
		errno = EBADMSG;
		return -1;
	}
	scratch->len = 0;
	pbuf_reserve(scratch, (size_t)flen - HQ_PROTO_HDR);
	if (fd_read_full(fd, scratch->data, (size_t)flen - HQ_PROTO_HDR) == -1)
		return -1;
	if (proto_decode(scratch->data, (size_t)flen - HQ_PROTO_HDR, m) == -1) {
		errno = EBADMSG;
		return -1;
	}
	return 1;
}

int
proto_write(int fd, const struct hq_msg *m, struct pbuf *scratch)
{
	scratch->len = 0;
	if (proto_encode(m, scratch) == -1)
		return -1;
	return fd_write_full(fd, scratch->data, scratch->len);
}

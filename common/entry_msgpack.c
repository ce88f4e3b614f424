/* SPDX-License-Identifier: MIT */
/*
 * entry_msgpack.c: the MessagePack entry reader. msgpack-c parses, but
 * only after mpcheck() has proved that every declared length fits in the
 * input: msgpack-c allocates for a declared count before reading any
 * element.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/entry_int.h"
#include "common/log.h"
#include "common/mpcheck.h"
#include "common/xmalloc.h"

static bool
entry_mp_is_int(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static bool
entry_mp_is_float(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_FLOAT32 ||
	    o->type == MSGPACK_OBJECT_FLOAT64;
}

/* Checks the params array, and measures the arena bytes its text and
 * blobs need into *sizep. */
static int
entry_mp_params(const msgpack_object *o, size_t *sizep, char *err,
    size_t errlen)
{
	const msgpack_object	*v;
	size_t			 i, size = 0;

	if (o->via.array.size > ENTRY_MAX_PARAMS)
		return entry_err(err, errlen, "params: more than %d values",
		    ENTRY_MAX_PARAMS);
	for (i = 0; i < o->via.array.size; i++) {
		v = &o->via.array.ptr[i];
		switch (v->type) {
		case MSGPACK_OBJECT_NIL:
		case MSGPACK_OBJECT_BOOLEAN:
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			if (v->via.u64 > INT64_MAX)
				return entry_err(err, errlen, "params[%zu]: "
				    "integer out of range", i);
			break;
		case MSGPACK_OBJECT_STR:
			size += (size_t)v->via.str.size + 1;
			break;
		case MSGPACK_OBJECT_BIN:
			size += (size_t)v->via.bin.size + 1;
			break;
		case MSGPACK_OBJECT_ARRAY:
			return entry_err(err, errlen,
			    "params[%zu]: nested arrays are not allowed", i);
		case MSGPACK_OBJECT_MAP:
			return entry_err(err, errlen,
			    "params[%zu]: maps are not allowed", i);
		default:
			return entry_err(err, errlen,
			    "params[%zu]: ext values are not allowed", i);
		}
	}
	*sizep = size;
	return 0;
}

static void
entry_mp_fill_params(const msgpack_object *o, struct entry_param *out,
    struct entry_arena *a)
{
	const msgpack_object	*v;
	struct entry_param	*p;
	size_t			 i;

	for (i = 0; i < o->via.array.size; i++) {
		v = &o->via.array.ptr[i];
		p = &out[i];
		memset(p, 0, sizeof(*p));
		switch (v->type) {
		case MSGPACK_OBJECT_BOOLEAN:
			p->type = ENTRY_PARAM_INT;
			p->i = v->via.boolean ? 1 : 0;
			break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			p->type = ENTRY_PARAM_INT;
			p->i = (int64_t)v->via.u64;
			break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
			p->type = ENTRY_PARAM_INT;
			p->i = v->via.i64;
			break;
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			p->type = ENTRY_PARAM_REAL;
			p->d = v->via.f64;
			break;
		case MSGPACK_OBJECT_STR:
			p->type = ENTRY_PARAM_TEXT;
			p->len = v->via.str.size;
			p->p = entry_arena_copy(a, v->via.str.ptr, p->len);
			break;
		case MSGPACK_OBJECT_BIN:
			p->type = ENTRY_PARAM_BLOB;
			p->len = v->via.bin.size;
			p->p = entry_arena_copy(a, v->via.bin.ptr, p->len);
			break;
		default:
			p->type = ENTRY_PARAM_NULL;
			break;
		}
	}
}

/* A text key's value as bytes, numbers written out in num (room for any
 * int64, uint64 or %.17g double). */
static int
entry_mp_text(enum entry_key key, const msgpack_object *o, char *num,
    size_t numlen, const char **pp, size_t *lenp, char *err, size_t errlen)
{
	int	 r;

	if (o->type == MSGPACK_OBJECT_STR) {
		*pp = o->via.str.ptr;
		*lenp = o->via.str.size;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    (key == ENTRY_KEY_ID || key == ENTRY_KEY_SEQ))
		r = snprintf(num, numlen, "%" PRIu64, o->via.u64);
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
	    (key == ENTRY_KEY_ID || key == ENTRY_KEY_SEQ))
		r = snprintf(num, numlen, "%" PRId64, o->via.i64);
	else if (entry_mp_is_float(o) && key == ENTRY_KEY_SEQ)
		r = snprintf(num, numlen, "%.17g", o->via.f64);
	else
		return entry_type_err(key, err, errlen);
	if (r < 0 || (size_t)r >= numlen)
		abort();
	*pp = num;
	*lenp = (size_t)r;
	return 0;
}

static int
entry_mp_build(const msgpack_object *root, struct entry *e, char *err,
    size_t errlen)
{
	const msgpack_object	*val[ENTRY_KEY_OTHER], *k, *v;
	const char		*src[ENTRY_NTEXT];
	char			 num[ENTRY_NTEXT][ENTRY_SHORT_MAX];
	struct entry_text	 t[ENTRY_NTEXT];
	struct entry_arena	 a;
	size_t			 i, size, psize = 0, srclen[ENTRY_NTEXT];
	enum entry_key		 key;

	if (root->type != MSGPACK_OBJECT_MAP)
		return entry_err(err, errlen,
		    "msgpack: top level must be a map");
	memset(val, 0, sizeof(val));
	memset(t, 0, sizeof(t));
	for (i = 0; i < root->via.map.size; i++) {
		k = &root->via.map.ptr[i].key;
		v = &root->via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		key = entry_key_lookup(k->via.str.ptr, k->via.str.size);
		switch (key) {
		case ENTRY_KEY_SQL:
		case ENTRY_KEY_OPERATION:
		case ENTRY_KEY_ID:
		case ENTRY_KEY_SEQ:
		case ENTRY_KEY_CREATED_AT:
			if (entry_mp_text(key, v, num[key], sizeof(num[key]),
			    &src[key], &srclen[key], err, errlen) == -1)
				return -1;
			break;
		case ENTRY_KEY_PARAMS:
			if (v->type != MSGPACK_OBJECT_ARRAY)
				return entry_type_err(key, err, errlen);
			if (entry_mp_params(v, &psize, err, errlen) == -1)
				return -1;
			break;
		case ENTRY_KEY_PRIORITY:
			/* Informational: an unusable value is 0. */
			e->priority = 0;
			if (v->type == MSGPACK_OBJECT_STR)
				e->priority = entry_priority_digits(
				    v->via.str.ptr, v->via.str.size);
			else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
				if (v->via.u64 >= ENTRY_PRIORITY_MIN &&
				    v->via.u64 <= ENTRY_PRIORITY_MAX)
					e->priority = (int)v->via.u64;
			} else if (!entry_mp_is_int(v) && !entry_mp_is_float(v))
				return entry_type_err(key, err, errlen);
			break;
		case ENTRY_KEY_RETRIES:
			if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
			    v->via.u64 > INT64_MAX)
				return entry_type_err(key, err, errlen);
			e->retries = (int64_t)v->via.u64;
			break;
		case ENTRY_KEY_METADATA:
		case ENTRY_KEY_OTHER:
			/* Already checked by mpcheck(). */
			break;
		}
		if (key != ENTRY_KEY_OTHER)
			val[key] = v;
	}
	if (val[ENTRY_KEY_SQL] == NULL)
		return entry_err(err, errlen, "sql is missing");

	size = sizeof(ENTRY_DEFAULT_OPERATION);
	if (val[ENTRY_KEY_PARAMS] != NULL)
		size += val[ENTRY_KEY_PARAMS]->via.array.size *
		    sizeof(struct entry_param) + psize;
	for (i = 0; i < ENTRY_NTEXT; i++)
		if (val[i] != NULL)
			size += srclen[i] + 1;
	a.base = xmalloc(size);
	a.size = size;
	a.used = 0;
	e->arena = a.base;

	if (val[ENTRY_KEY_PARAMS] != NULL &&
	    val[ENTRY_KEY_PARAMS]->via.array.size > 0) {
		e->nparams = val[ENTRY_KEY_PARAMS]->via.array.size;
		e->params = entry_arena_take(&a,
		    e->nparams * sizeof(struct entry_param));
		entry_mp_fill_params(val[ENTRY_KEY_PARAMS], e->params, &a);
	}
	for (i = 0; i < ENTRY_NTEXT; i++) {
		if (val[i] == NULL)
			continue;
		t[i].present = true;
		t[i].len = srclen[i];
		t[i].p = entry_arena_copy(&a, src[i], srclen[i]);
	}
	return entry_finish(e, t, &a, err, errlen);
}

int
entry_mp_decode(const char *buf, size_t len, struct entry *e, char *err,
    size_t errlen)
{
	msgpack_unpacked	 u;
	msgpack_unpack_return	 r;
	size_t			 off = 0;
	int			 ret = -1;

	if (mpcheck((const unsigned char *)buf, len, err, errlen) == -1)
		return -1;
	msgpack_unpacked_init(&u);
	r = msgpack_unpack_next(&u, buf, len, &off);
	/* The check above leaves only a failed malloc to fail on, which is
	 * fatal like every other. */
	if (r == MSGPACK_UNPACK_NOMEM_ERROR)
		fatalx("entry: msgpack: out of memory");
	if (r != MSGPACK_UNPACK_SUCCESS || off != len)
		entry_errf(err, errlen, "msgpack: cannot unpack (%d)", (int)r);
	else
		ret = entry_mp_build(&u.data, e, err, errlen);
	/* Everything kept was copied to the arena. */
	msgpack_unpacked_destroy(&u);
	return ret;
}

/* SPDX-License-Identifier: MIT */
/*
 * test_report.c: common/report.c. The heartbeat JSON rendered from a
 * segment built in memory is parsed by a strict JSON reader (RFC 8259:
 * grammar, UTF-8, no duplicate keys) and checked value by value, with the
 * old worker's keys and types; the same document must also decode as the
 * metadata of an entry (common/entry.c). The Prometheus text is checked
 * line by line against the exposition format: HELP and TYPE before each
 * family's samples, counters named _total, cumulative histogram buckets
 * ending in +Inf equal to _count. report_count_dirs() runs on a real tree.
 */
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/entry.h"
#include "common/hq.h"
#include "common/pbuf.h"
#include "common/queue.h"
#include "common/report.h"
#include "common/seg.h"
#include "tests/unit/hqtest.h"

/* --- a strict JSON reader ------------------------------------------------ */

enum tj_type { TJ_NULL, TJ_BOOL, TJ_INT, TJ_REAL, TJ_STR, TJ_ARR, TJ_OBJ };

struct tj {
	enum tj_type	 type;
	long long	 i;	/* TJ_INT (also set for TJ_BOOL) */
	double		 d;	/* TJ_INT, TJ_REAL */
	char		*s;	/* TJ_STR, unescaped */
	char		*key;	/* member name inside an object */
	struct tj	*kids;
	size_t		 n;
};

struct tj_parser {
	const char	*p, *end;
	char		 err[128];
	int		 depth;
};

static void	tj_free(struct tj *);

static bool
tj_fail(struct tj_parser *jp, const char *why)
{
	if (jp->err[0] == '\0')
		snprintf(jp->err, sizeof(jp->err), "%s at '%.20s'", why, jp->p);
	return false;
}

static void
tj_ws(struct tj_parser *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
	    *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

/* One UTF-8 sequence at jp->p, appended to out. */
static bool
tj_utf8(struct tj_parser *jp, struct pbuf *out)
{
	const unsigned char	*u = (const unsigned char *)jp->p;
	size_t			 n, k, left = (size_t)(jp->end - jp->p);
	uint32_t		 cp;

	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 1;
		cp = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 2;
		cp = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 3;
		cp = u[0] & 0x07;
	} else
		return tj_fail(jp, "invalid UTF-8");
	if (left <= n)
		return tj_fail(jp, "truncated UTF-8");
	for (k = 1; k <= n; k++) {
		if ((u[k] & 0xc0) != 0x80)
			return tj_fail(jp, "invalid UTF-8");
		cp = cp << 6 | (u[k] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return tj_fail(jp, "invalid UTF-8");
	pbuf_add(out, jp->p, n + 1);
	jp->p += n + 1;
	return true;
}

static bool
tj_string(struct tj_parser *jp, char **outp)
{
	struct pbuf	out = { 0 };
	unsigned	cp;
	int		k;

	if (jp->p >= jp->end || *jp->p != '"')
		return tj_fail(jp, "expected a string");
	jp->p++;
	for (;;) {
		if (jp->p >= jp->end) {
			pbuf_free(&out);
			return tj_fail(jp, "unterminated string");
		}
		if (*jp->p == '"') {
			jp->p++;
			break;
		}
		if ((unsigned char)*jp->p < 0x20) {
			pbuf_free(&out);
			return tj_fail(jp, "control character in a string");
		}
		if ((unsigned char)*jp->p >= 0x80) {
			if (!tj_utf8(jp, &out)) {
				pbuf_free(&out);
				return false;
			}
			continue;
		}
		if (*jp->p != '\\') {
			pbuf_add(&out, jp->p++, 1);
			continue;
		}
		if (++jp->p >= jp->end) {
			pbuf_free(&out);
			return tj_fail(jp, "unterminated escape");
		}
		switch (*jp->p) {
		case '"': case '\\': case '/':
			pbuf_add(&out, jp->p, 1);
			break;
		case 'b': pbuf_add(&out, "\b", 1); break;
		case 'f': pbuf_add(&out, "\f", 1); break;
		case 'n': pbuf_add(&out, "\n", 1); break;
		case 'r': pbuf_add(&out, "\r", 1); break;
		case 't': pbuf_add(&out, "\t", 1); break;
		case 'u':
			cp = 0;
			for (k = 1; k <= 4; k++) {
				char c = jp->p + k < jp->end ? jp->p[k] : 0;

				cp <<= 4;
				if (c >= '0' && c <= '9')
					cp |= (unsigned)(c - '0');
				else if (c >= 'a' && c <= 'f')
					cp |= (unsigned)(c - 'a' + 10);
				else if (c >= 'A' && c <= 'F')
					cp |= (unsigned)(c - 'A' + 10);
				else {
					pbuf_free(&out);
					return tj_fail(jp, "bad \\u escape");
				}
			}
			jp->p += 4;
			/* only what the renderer emits: \u00XX */
			if (cp < 0x80) {
				char c = (char)cp;

				pbuf_add(&out, &c, 1);
			} else
				pbuf_add(&out, "?", 1);
			break;
		default:
			pbuf_free(&out);
			return tj_fail(jp, "bad escape");
		}
		jp->p++;
	}
	pbuf_add(&out, "", 1);
	*outp = out.data;
	return true;
}

static bool
tj_number(struct tj_parser *jp, struct tj *v)
{
	const char	*s = jp->p;
	char		 buf[64];
	bool		 real = false;

	if (jp->p < jp->end && *jp->p == '-')
		jp->p++;
	if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
		return tj_fail(jp, "bad number");
	if (*jp->p == '0')
		jp->p++;
	else
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	if (jp->p < jp->end && *jp->p == '.') {
		real = true;
		jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return tj_fail(jp, "bad fraction");
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
		real = true;
		jp->p++;
		if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
			jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return tj_fail(jp, "bad exponent");
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if ((size_t)(jp->p - s) >= sizeof(buf))
		return tj_fail(jp, "number too long");
	memcpy(buf, s, (size_t)(jp->p - s));
	buf[jp->p - s] = '\0';
	v->type = real ? TJ_REAL : TJ_INT;
	v->d = strtod(buf, NULL);
	if (!real) {
		errno = 0;
		v->i = strtoll(buf, NULL, 10);
		if (errno == ERANGE)
			return tj_fail(jp, "integer out of range");
	}
	return true;
}

static bool	tj_value(struct tj_parser *, struct tj *);

static bool
tj_lit(struct tj_parser *jp, const char *lit)
{
	size_t	n = strlen(lit);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, lit, n) != 0)
		return tj_fail(jp, "bad literal");
	jp->p += n;
	return true;
}

static bool
tj_container(struct tj_parser *jp, struct tj *v, bool obj)
{
	size_t	i;

	v->type = obj ? TJ_OBJ : TJ_ARR;
	if (++jp->depth > 32)
		return tj_fail(jp, "too deep");
	jp->p++;
	tj_ws(jp);
	if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
		jp->p++;
		jp->depth--;
		return true;
	}
	for (;;) {
		struct tj	*kid;
		char		*key = NULL;

		tj_ws(jp);
		if (obj) {
			if (!tj_string(jp, &key))
				return false;
			for (i = 0; i < v->n; i++)
				if (strcmp(v->kids[i].key, key) == 0) {
					free(key);
					return tj_fail(jp, "duplicate key");
				}
			tj_ws(jp);
			if (jp->p >= jp->end || *jp->p != ':') {
				free(key);
				return tj_fail(jp, "expected ':'");
			}
			jp->p++;
		}
		v->kids = realloc(v->kids, (v->n + 1) * sizeof(*v->kids));
		if (v->kids == NULL)
			abort();
		kid = &v->kids[v->n++];
		memset(kid, 0, sizeof(*kid));
		kid->key = key;
		if (!tj_value(jp, kid))
			return false;
		tj_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
			jp->p++;
			jp->depth--;
			return true;
		}
		return tj_fail(jp, obj ? "expected ',' or '}'" :
		    "expected ',' or ']'");
	}
}

static bool
tj_value(struct tj_parser *jp, struct tj *v)
{
	tj_ws(jp);
	if (jp->p >= jp->end)
		return tj_fail(jp, "unexpected end");
	switch (*jp->p) {
	case '{':
		return tj_container(jp, v, true);
	case '[':
		return tj_container(jp, v, false);
	case '"':
		v->type = TJ_STR;
		return tj_string(jp, &v->s);
	case 't':
		v->type = TJ_BOOL;
		v->i = 1;
		return tj_lit(jp, "true");
	case 'f':
		v->type = TJ_BOOL;
		return tj_lit(jp, "false");
	case 'n':
		v->type = TJ_NULL;
		return tj_lit(jp, "null");
	default:
		return tj_number(jp, v);
	}
}

/* Parse the whole of buf[0..len) as one JSON document; NULL + err. */
static struct tj *
tj_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct tj_parser	 jp = { buf, buf + len, "", 0 };
	struct tj		*v = calloc(1, sizeof(*v));

	if (v == NULL)
		abort();
	if (memchr(buf, '\0', len) != NULL)
		tj_fail(&jp, "NUL byte");
	else if (tj_value(&jp, v)) {
		tj_ws(&jp);
		if (jp.p == jp.end) {
			err[0] = '\0';
			return v;
		}
		tj_fail(&jp, "trailing bytes");
	}
	snprintf(err, errlen, "%s (offset %zu)", jp.err,
	    (size_t)(jp.p - buf));
	tj_free(v);
	free(v);
	return NULL;
}

static void
tj_free(struct tj *v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++)
		tj_free(&v->kids[i]);
	free(v->kids);
	free(v->s);
	free(v->key);
	memset(v, 0, sizeof(*v));
}

static struct tj *
tj_get(const struct tj *o, const char *key)
{
	size_t	i;

	if (o == NULL || o->type != TJ_OBJ)
		return NULL;
	for (i = 0; i < o->n; i++)
		if (strcmp(o->kids[i].key, key) == 0)
			return &o->kids[i];
	return NULL;
}

/* key is an integer (no fraction, no exponent) equal to want. */
static void
tj_check_int(int line, const struct tj *o, const char *key, long long want)
{
	const struct tj	*v = tj_get(o, key);

	if (v == NULL || v->type != TJ_INT || v->i != want) {
		fprintf(stderr, "%s:%d: \"%s\": %s %lld, want integer %lld\n",
		    __FILE__, line, key, v == NULL ? "absent" :
		    v->type == TJ_INT ? "integer" : "not an integer",
		    v ? v->i : 0, want);
		hqtest_failures++;
	}
}

static void
tj_check_type(int line, const struct tj *o, const char *key,
    enum tj_type want)
{
	const struct tj	*v = tj_get(o, key);

	if (v == NULL || v->type != want) {
		fprintf(stderr, "%s:%d: \"%s\": %s, want type %d\n", __FILE__,
		    line, key, v == NULL ? "absent" : "wrong type", (int)want);
		hqtest_failures++;
	}
}

static void
tj_check_str(int line, const struct tj *o, const char *key, const char *want)
{
	const struct tj	*v = tj_get(o, key);

	if (v == NULL || v->type != TJ_STR || strcmp(v->s, want) != 0) {
		fprintf(stderr, "%s:%d: \"%s\": %s \"%s\", want \"%s\"\n",
		    __FILE__, line, key, v == NULL ? "absent" : v->type ==
		    TJ_STR ? "string" : "not a string",
		    v && v->s ? v->s : "", want);
		hqtest_failures++;
	}
}

static void
tj_check_bool(int line, const struct tj *o, const char *key, bool want)
{
	const struct tj	*v = tj_get(o, key);

	if (v == NULL || v->type != TJ_BOOL || (v->i != 0) != want) {
		fprintf(stderr, "%s:%d: \"%s\": want boolean %s\n", __FILE__,
		    line, key, want ? "true" : "false");
		hqtest_failures++;
	}
}

#define J_INT(o, k, v)	tj_check_int(__LINE__, o, k, v)
#define J_TYPE(o, k, t)	tj_check_type(__LINE__, o, k, t)
#define J_STR(o, k, v)	tj_check_str(__LINE__, o, k, v)
#define J_BOOL(o, k, v)	tj_check_bool(__LINE__, o, k, v)

/* The reader itself: accepts what it must, refuses what it must. */
static void
test_json_reader(void)
{
	const char *good[] = { "{}", "[]", "0", "-1.5e3", "\"a\\u0041\"",
	    "{\"a\":[1,2,{\"b\":null}],\"c\":true}", " [ 1 , 2 ] \n",
	    "\"\xc3\xa9\"" };
	const char *bad[] = { "", "{", "{\"a\":1,}", "[1,]", "01", "1.",
	    "{\"a\":1,\"a\":2}", "{a:1}", "[1] x", "\"\x01\"", "\"\xff\"",
	    "\"\xc3\"", "nul", "{\"a\" 1}", "\"\\x\"", "+1", ".5" };
	struct tj	*v;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < nitems(good); i++) {
		v = tj_parse(good[i], strlen(good[i]), err, sizeof(err));
		if (v == NULL)
			fprintf(stderr, "refused '%s': %s\n", good[i], err);
		CHECK(v != NULL);
		tj_free(v);
		free(v);
	}
	for (i = 0; i < nitems(bad); i++) {
		v = tj_parse(bad[i], strlen(bad[i]), err, sizeof(err));
		if (v != NULL)
			fprintf(stderr, "accepted '%s'\n", bad[i]);
		CHECK(v == NULL);
		tj_free(v);
		free(v);
	}
}

/* --- the synthetic segment --------------------------------------------- */

#define NOW_S		1800000000ULL
#define NOW_NS		(NOW_S * 1000000000ULL + 500000000ULL)
#define SEC		1000000000ULL

static struct seg *
trep_seg(void)
{
	struct seg	*sg;
	int		 i;

	sg = aligned_alloc(64, sizeof(*sg));
	if (sg == NULL)
		abort();
	memset(sg, 0, sizeof(*sg));
	sg->h.magic = HQ_SEG_MAGIC;
	sg->h.version = HQ_SEG_VERSION;
	sg->h.header_size = sizeof(struct seg_header);
	sg->h.slot_size = sizeof(struct seg_slot);
	sg->h.nslots = HQ_SEG_SLOTS;
	sg->h.total_size = sizeof(struct seg);
	sg->h.pid = 4242;
	sg->h.start_ns = NOW_NS - 100 * SEC;
	sg->h.generation = 0x1234;
	sg->h.nworkers = 2;
	snprintf(sg->h.root, sizeof(sg->h.root), "/srv/q");
	snprintf(sg->h.db, sizeof(sg->h.db), "/srv/q.db");
	atomic_store(&sg->h.ready, 1);
	SEG_SET(sg->h.mode, SEG_MODE_EVENT_LOOP);
	SEG_SET(sg->h.watcher_alive, 1);
	SEG_SET(sg->h.heartbeat_ns, NOW_NS - SEC);
	SEG_SET(sg->h.heartbeat_interval_ms, 5000);
	SEG_SET(sg->h.last_event_ns, NOW_NS - 7 * SEC - SEC / 10);
	SEG_SET(sg->h.queue_size, 5);
	SEG_SET(sg->h.processing, 2);
	SEG_SET(sg->h.oldest_pending_ns, NOW_NS - 30 * SEC - SEC / 5);
	SEG_SET(sg->h.depth[3], 4);
	SEG_SET(sg->h.depth[10], 1);
	SEG_SET(sg->h.c.iterations, 17);
	SEG_SET(sg->h.c.watcher_restarts, 2);
	SEG_SET(sg->h.c.events, 18);
	SEG_SET(sg->h.c.spawns, 2);

	SEG_SET(sg->slot[0].pid, 100);
	SEG_SET(sg->slot[0].gen, 1);
	SEG_SET(sg->slot[0].state, SEG_SLOT_IDLE);
	SEG_SET(sg->slot[0].progress_ns, NOW_NS - 3 * SEC);
	SEG_SET(sg->slot[0].c.applied, 10);
	SEG_SET(sg->slot[0].c.failed, 2);
	SEG_SET(sg->slot[0].c.retried, 3);
	SEG_SET(sg->slot[0].c.duplicates, 1);
	SEG_SET(sg->slot[0].c.repaired, 1);
	SEG_SET(sg->slot[0].c.batches, 4);
	SEG_SET(sg->slot[0].c.busy_us, 1500000);
	SEG_SET(sg->slot[1].pid, 101);
	SEG_SET(sg->slot[1].gen, 3);
	SEG_SET(sg->slot[1].state, SEG_SLOT_BUSY);
	SEG_SET(sg->slot[1].inhand, 2);
	SEG_SET(sg->slot[1].c.applied, 5);
	SEG_SET(sg->slot[1].c.batches, 1);
	/* exec latency: 10 x 100 us, 5 x 5 ms, 3 x 2 s, 2 x 1000 s */
	for (i = 0; i < 10; i++)
		seg_hist_add(&sg->slot[0].lat_exec, 100);
	for (i = 0; i < 5; i++)
		seg_hist_add(&sg->slot[1].lat_exec, 5000);
	for (i = 0; i < 3; i++)
		seg_hist_add(&sg->slot[0].lat_exec, 2000000);
	for (i = 0; i < 2; i++)
		seg_hist_add(&sg->slot[1].lat_exec, 1000000000);
	for (i = 0; i < 15; i++)
		seg_hist_add(&sg->slot[i % 2].lat_commit, 300 + 100 * (uint64_t)i);
	return sg;
}

/* Render, check it is one JSON document ending in a newline, parse. */
static struct tj *
trep_json(const struct seg *sg, const struct report_dirs *d)
{
	struct pbuf	 out = { 0 };
	struct tj	*v;
	char		 err[256];

	report_json(&out, sg, d, NOW_NS);
	if (out.len == 0 || out.data[out.len - 1] != '\n') {
		fprintf(stderr, "report_json: no final newline\n");
		hqtest_failures++;
	}
	v = tj_parse(out.data, out.len, err, sizeof(err));
	if (v == NULL) {
		fprintf(stderr, "report_json: not JSON: %s\n%.*s\n", err,
		    (int)out.len, out.data);
		hqtest_failures++;
	} else if (v->type != TJ_OBJ) {
		fprintf(stderr, "report_json: not an object\n");
		hqtest_failures++;
	}
	pbuf_free(&out);
	return v;
}

static void
trep_json_done(struct tj *v)
{
	tj_free(v);
	free(v);
}

/* The old worker's keys, with the old types, all present. */
static void
trep_old_keys(const struct tj *o)
{
	static const char *ints[] = { "timestamp", "pid", "iteration",
	    "events_processed", "last_event_time", "idle_seconds",
	    "queue_size", "processing_count", "watcher_pid",
	    "watcher_restarts" };
	const struct tj	*mode = tj_get(o, "mode");
	size_t		 i;

	for (i = 0; i < nitems(ints); i++)
		J_TYPE(o, ints[i], TJ_INT);
	J_TYPE(o, "watcher_alive", TJ_BOOL);
	if (mode == NULL || mode->type != TJ_STR ||
	    (strcmp(mode->s, "event-loop") != 0 &&
	    strcmp(mode->s, "polling") != 0)) {
		fprintf(stderr, "\"mode\" is %s%s%s, want \"event-loop\" or "
		    "\"polling\"\n", mode && mode->s ? "\"" : "",
		    mode == NULL ? "absent" : mode->s ? mode->s : "not a "
		    "string", mode && mode->s ? "\"" : "");
		hqtest_failures++;
	}
}

static void
test_json_values(void)
{
	struct seg	*sg = trep_seg();
	struct tj	*o, *w, *l, *x;

	o = trep_json(sg, NULL);
	REQUIRE(o != NULL);
	trep_old_keys(o);
	J_INT(o, "timestamp", (long long)NOW_S);
	J_INT(o, "pid", 4242);
	J_STR(o, "mode", "event-loop");
	J_INT(o, "iteration", 17);
	/* applied + failed + duplicates */
	J_INT(o, "events_processed", 18);
	J_INT(o, "last_event_time", (long long)NOW_S - 7);
	J_INT(o, "idle_seconds", 7);
	J_INT(o, "queue_size", 5);
	J_INT(o, "processing_count", 2);
	J_INT(o, "watcher_pid", 4242);
	J_BOOL(o, "watcher_alive", true);
	J_INT(o, "watcher_restarts", 2);
	/* what hq adds */
	J_INT(o, "schema_version", HQ_REPORT_SCHEMA);
	J_STR(o, "root", "/srv/q");
	J_STR(o, "db", "/srv/q.db");
	J_INT(o, "entries_applied", 15);
	J_INT(o, "entries_failed", 2);
	J_INT(o, "entries_retried", 3);
	J_INT(o, "entries_duplicate", 1);
	J_INT(o, "entries_repaired", 1);
	J_INT(o, "batches", 5);
	J_INT(o, "oldest_pending_age_seconds", 30);
	J_INT(o, "uptime_seconds", 100);
	J_BOOL(o, "draining", false);
	x = tj_get(o, "queue_depth");
	REQUIRE(x != NULL && x->type == TJ_OBJ);
	CHECK_EQ_INT(x->n, 10);
	J_INT(x, "1", 0);
	J_INT(x, "3", 4);
	J_INT(x, "10", 1);
	l = tj_get(o, "latency");
	REQUIRE(l != NULL && l->type == TJ_OBJ);
	x = tj_get(l, "exec");
	REQUIRE(x != NULL);
	J_INT(x, "count", 20);
	J_TYPE(x, "p50_ms", TJ_REAL);
	J_TYPE(x, "p99_ms", TJ_REAL);
	/* p50 of 10 x 100 us and 10 above: in 100 us's bucket or the next */
	{
		const struct tj *p50 = tj_get(x, "p50_ms");

		CHECK(p50 != NULL && p50->d >= 0.1 && p50->d <= 7.0);
	}
	J_INT(tj_get(l, "commit"), "count", 15);
	x = tj_get(o, "supervisor");
	J_INT(x, "iterations", 17);
	J_INT(x, "events", 18);
	J_INT(x, "spawns", 2);
	J_INT(x, "deaths", 0);
	w = tj_get(o, "workers");
	REQUIRE(w != NULL && w->type == TJ_ARR);
	CHECK_EQ_INT(w->n, 2);
	if (w->n == 2) {
		J_INT(&w->kids[0], "slot", 0);
		J_INT(&w->kids[0], "pid", 100);
		J_STR(&w->kids[0], "state", "idle");
		J_INT(&w->kids[0], "entries_applied", 10);
		J_INT(&w->kids[0], "entries_failed", 2);
		J_INT(&w->kids[0], "last_progress_time", (long long)NOW_S - 3);
		J_INT(&w->kids[1], "slot", 1);
		J_INT(&w->kids[1], "pid", 101);
		J_STR(&w->kids[1], "state", "busy");
		J_INT(&w->kids[1], "entries_applied", 5);
		J_INT(&w->kids[1], "entries_failed", 0);
		J_INT(&w->kids[1], "in_hand", 2);
	}
	trep_json_done(o);

	/* polling, watcher down */
	SEG_SET(sg->h.mode, SEG_MODE_POLLING);
	SEG_SET(sg->h.watcher_alive, 0);
	SEG_SET(sg->h.draining, 1);
	o = trep_json(sg, NULL);
	REQUIRE(o != NULL);
	trep_old_keys(o);
	J_STR(o, "mode", "polling");
	J_BOOL(o, "watcher_alive", false);
	J_INT(o, "watcher_pid", 0);
	J_BOOL(o, "draining", true);
	trep_json_done(o);
	free(sg);
}

/* Nothing happened yet: every count is there, and 0. */
static void
test_json_empty(void)
{
	static const char *zero[] = { "iteration", "events_processed",
	    "last_event_time", "queue_size", "processing_count",
	    "watcher_restarts", "entries_applied", "entries_failed",
	    "entries_retried", "entries_duplicate", "entries_repaired",
	    "batches", "oldest_pending_age_seconds", "failed_count" };
	struct seg	*sg;
	struct tj	*o, *x;
	size_t		 i;

	sg = aligned_alloc(64, sizeof(*sg));
	REQUIRE(sg != NULL);
	memset(sg, 0, sizeof(*sg));
	sg->h.magic = HQ_SEG_MAGIC;
	sg->h.version = HQ_SEG_VERSION;
	sg->h.pid = 77;
	sg->h.start_ns = NOW_NS - 5 * SEC;
	sg->h.nworkers = 1;
	SEG_SET(sg->slot[0].pid, 78);
	o = trep_json(sg, NULL);
	REQUIRE(o != NULL);
	trep_old_keys(o);
	for (i = 0; i < nitems(zero); i++)
		J_INT(o, zero[i], 0);
	/* never an event: idle since the start */
	J_INT(o, "idle_seconds", 5);
	x = tj_get(o, "latency");
	J_INT(tj_get(x, "exec"), "count", 0);
	J_INT(tj_get(x, "commit"), "count", 0);
	x = tj_get(o, "workers");
	REQUIRE(x != NULL && x->type == TJ_ARR && x->n == 1);
	J_INT(&x->kids[0], "entries_applied", 0);
	J_INT(&x->kids[0], "last_progress_time", 0);
	trep_json_done(o);

	/* no workers configured: an empty array, not an absent key */
	sg->h.nworkers = 0;
	o = trep_json(sg, NULL);
	REQUIRE(o != NULL);
	x = tj_get(o, "workers");
	CHECK(x != NULL && x->type == TJ_ARR && x->n == 0);
	trep_json_done(o);
	free(sg);
}

/* hqd down: depths from the directories. */
static void
test_json_down(void)
{
	struct report_dirs	 d;
	struct tj		*o, *x;

	memset(&d, 0, sizeof(d));
	d.valid = true;
	d.pending = 3;
	d.processing = 1;
	d.failed = 2;
	d.completed = 9;
	d.depth[5] = 2;
	d.depth[1] = 1;
	d.oldest_pending_ns = NOW_NS - 12 * SEC;
	o = trep_json(NULL, &d);
	REQUIRE(o != NULL);
	J_INT(o, "queue_size", 3);
	J_INT(o, "processing_count", 1);
	J_INT(o, "failed_count", 2);
	J_INT(o, "oldest_pending_age_seconds", 12);
	J_INT(o, "pid", 0);
	J_INT(o, "entries_applied", 0);
	J_BOOL(o, "watcher_alive", false);
	J_STR(o, "daemon", "down");
	x = tj_get(o, "queue_depth");
	J_INT(x, "1", 1);
	J_INT(x, "5", 2);
	J_INT(x, "10", 0);
	x = tj_get(o, "workers");
	CHECK(x != NULL && x->type == TJ_ARR && x->n == 0);
	trep_json_done(o);

	/* no dirs either: still a document of zeros */
	o = trep_json(NULL, NULL);
	REQUIRE(o != NULL);
	J_INT(o, "queue_size", 0);
	J_INT(o, "failed_count", 0);
	trep_json_done(o);
}

/* The old keys keep their types with hqd down too: "mode" is one of the
 * two values the old worker wrote (docs/stats.md); "daemon" says it is down. */
static void
test_json_down_old_keys(void)
{
	struct report_dirs	 d;
	struct tj		*o;

	memset(&d, 0, sizeof(d));
	d.valid = true;
	o = trep_json(NULL, &d);
	REQUIRE(o != NULL);
	trep_old_keys(o);
	trep_json_done(o);
}

/* Strings from the segment are escaped: a root with quotes, backslashes
 * and control characters still gives valid JSON with the same value. */
static void
test_json_escapes(void)
{
	struct seg	*sg = trep_seg();
	struct tj	*o;
	const char	*root = "/srv/we\"ird\\path\n\t\x01\x7f/caf\xc3\xa9";

	snprintf(sg->h.root, sizeof(sg->h.root), "%s", root);
	o = trep_json(sg, NULL);
	REQUIRE(o != NULL);
	J_STR(o, "root", root);
	trep_json_done(o);
	free(sg);
}

/* A root that is not UTF-8 (Linux allows any bytes in a path) must not
 * make the heartbeat invalid JSON. */
static void
test_json_non_utf8_root(void)
{
	struct seg	*sg = trep_seg();
	struct tj	*o;

	snprintf(sg->h.root, sizeof(sg->h.root), "/srv/caf\xe9/queue");
	o = trep_json(sg, NULL);
	trep_json_done(o);
	free(sg);
}

/* The same document through common/entry.c's JSON decoder, as the
 * metadata value of an entry: a second, independent syntax check. */
static void
test_json_entry_decoder(void)
{
	struct seg		*sg = trep_seg();
	struct report_dirs	 d;
	struct pbuf		 out = { 0 }, doc = { 0 };
	struct entry		 e;
	char			 err[256];
	int			 k;

	memset(&d, 0, sizeof(d));
	d.valid = true;
	d.pending = 4;
	for (k = 0; k < 3; k++) {
		report_json(&out, k == 0 ? sg : NULL, k == 1 ? &d : NULL,
		    NOW_NS);
		REQUIRE(out.len > 1);
		pbuf_printf(&doc, "{\"sql\":\"x\",\"metadata\":%.*s}",
		    (int)out.len - 1, out.data);
		if (entry_decode(ENTRY_JSON, doc.data, doc.len, &e, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "entry_decode: %s\n", err);
			hqtest_failures++;
		} else {
			CHECK_EQ_STR(e.sql, "x");
			entry_free(&e);
		}
		pbuf_free(&out);
		pbuf_free(&doc);
	}
	free(sg);
}

/* --- Prometheus text ---------------------------------------------------- */

struct tprom_family {
	char	name[128];
	char	type[16];
	bool	help, typed;
	int	samples;
	/* histogram state */
	double	last_le;
	double	last_count;
	double	inf_count;
	double	count;
	bool	seen_inf, seen_sum, seen_count;
};

static bool
tprom_name_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || !(s[0] == '_' || s[0] == ':' ||
	    (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (i = 1; i < n; i++)
		if (!(s[i] == '_' || s[i] == ':' || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool
tprom_value(const char *s, double *v)
{
	char	*end;

	if (strcmp(s, "+Inf") == 0) {
		*v = INFINITY;
		return true;
	}
	if (strcmp(s, "-Inf") == 0) {
		*v = -INFINITY;
		return true;
	}
	if (strcmp(s, "NaN") == 0) {
		*v = NAN;
		return true;
	}
	if (*s == '\0')
		return false;
	*v = strtod(s, &end);
	return *end == '\0' && strchr(s, 'n') == NULL &&
	    strchr(s, 'N') == NULL && strchr(s, 'i') == NULL;
}

/* Parse {a="x",b="y"} at s; the le value (if any) into le. Returns the
 * byte after '}', or NULL. */
static const char *
tprom_labels(const char *s, char *le, size_t lelen)
{
	const char	*n;
	size_t		 o;
	bool		 is_le;

	le[0] = '\0';
	if (*s != '{')
		return s;
	s++;
	if (*s == '}')
		return NULL;	/* empty braces: legal, but we never do it */
	for (;;) {
		for (n = s; *s && *s != '='; s++)
			;
		if (*s != '=' || !tprom_name_ok(n, (size_t)(s - n)) ||
		    (s - n >= 2 && n[0] == '_' && n[1] == '_'))
			return NULL;
		is_le = s - n == 2 && strncmp(n, "le", 2) == 0;
		if (*++s != '"')
			return NULL;
		for (s++, o = 0; *s && *s != '"'; s++) {
			if (*s == '\\') {
				s++;
				if (*s != '\\' && *s != '"' && *s != 'n')
					return NULL;
			}
			if (is_le && o + 1 < lelen)
				le[o++] = *s;
		}
		if (is_le)
			le[o] = '\0';
		if (*s != '"')
			return NULL;
		s++;
		if (*s == '}')
			return s + 1;
		if (*s != ',')
			return NULL;
		s++;
	}
}

static bool
tprom_ends(const char *s, const char *suffix)
{
	size_t	a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Check the whole exposition; returns the number of problems (each
 * printed). */
static int
tprom_check(const char *text, size_t len)
{
	struct tprom_family	 fam[256], *cur = NULL;
	size_t			 nfam = 0, i;
	char			*copy, *line, *next, le[64], name[128];
	static char		 seen[4096][160];
	size_t			 nseen = 0;
	int			 bad = 0, lineno = 0;

#define PBAD(...) do {							\
	fprintf(stderr, "prometheus line %d: ", lineno);		\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, " [%s]\n", line);				\
	bad++;								\
} while (0)

	if (len == 0 || text[len - 1] != '\n') {
		fprintf(stderr, "prometheus: text does not end in a newline\n");
		bad++;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		abort();
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; line && *line; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '\0') {
			PBAD("empty line");
			continue;
		}
		if (line[0] == '#') {
			char	kw[8], nm[128], rest[256];

			if (sscanf(line, "# %7s %127s %255[^\n]", kw, nm,
			    rest) != 3) {
				PBAD("comment is not '# HELP|TYPE name text'");
				continue;
			}
			if (!tprom_name_ok(nm, strlen(nm))) {
				PBAD("bad metric name");
				continue;
			}
			if (cur == NULL || strcmp(cur->name, nm) != 0) {
				for (i = 0; i < nfam; i++)
					if (strcmp(fam[i].name, nm) == 0)
						break;
				if (i < nfam) {
					PBAD("family %s declared twice", nm);
					continue;
				}
				if (nfam == nitems(fam))
					abort();
				cur = &fam[nfam++];
				memset(cur, 0, sizeof(*cur));
				snprintf(cur->name, sizeof(cur->name), "%s", nm);
				cur->last_le = -INFINITY;
			}
			if (strcmp(kw, "HELP") == 0) {
				if (cur->help || cur->samples)
					PBAD("HELP repeated or after samples");
				cur->help = true;
			} else if (strcmp(kw, "TYPE") == 0) {
				if (cur->typed || cur->samples)
					PBAD("TYPE repeated or after samples");
				if (strcmp(rest, "counter") != 0 &&
				    strcmp(rest, "gauge") != 0 &&
				    strcmp(rest, "histogram") != 0)
					PBAD("type %s", rest);
				snprintf(cur->type, sizeof(cur->type), "%.15s",
				    rest);
				cur->typed = true;
				if (strcmp(rest, "counter") == 0 &&
				    !tprom_ends(nm, "_total"))
					PBAD("counter %s does not end in "
					    "_total", nm);
			} else
				PBAD("comment keyword %s", kw);
			continue;
		}
		/* a sample: name{labels} value */
		{
			const char	*s = line, *after;
			size_t		 n;
			double		 v;
			char		 series[160];

			while (*s && *s != '{' && *s != ' ')
				s++;
			n = (size_t)(s - line);
			if (!tprom_name_ok(line, n) || n >= sizeof(name)) {
				PBAD("bad sample name");
				continue;
			}
			memcpy(name, line, n);
			name[n] = '\0';
			if ((after = tprom_labels(s, le, sizeof(le))) == NULL ||
			    *after != ' ') {
				PBAD("bad labels");
				continue;
			}
			if (!tprom_value(after + 1, &v)) {
				PBAD("bad value '%s'", after + 1);
				continue;
			}
			snprintf(series, sizeof(series), "%.*s",
			    (int)(after - line), line);
			for (i = 0; i < nseen; i++)
				if (strcmp(seen[i], series) == 0)
					PBAD("series repeated");
			if (nseen < nitems(seen))
				snprintf(seen[nseen++], sizeof(seen[0]), "%s",
				    series);
			if (cur == NULL || !cur->help || !cur->typed) {
				PBAD("sample before its HELP and TYPE");
				continue;
			}
			if (strcmp(cur->type, "histogram") == 0) {
				char	base[128];
				size_t	bl = strlen(cur->name);

				snprintf(base, sizeof(base), "%s", cur->name);
				if (strncmp(name, base, bl) != 0) {
					PBAD("sample of another family "
					    "than %s", cur->name);
					continue;
				}
				if (strcmp(name + bl, "_bucket") == 0) {
					double	lev;

					if (le[0] == '\0' ||
					    !tprom_value(le, &lev)) {
						PBAD("bucket without le");
						continue;
					}
					if (cur->seen_inf || !(lev >
					    cur->last_le))
						PBAD("le not increasing");
					if (v < cur->last_count)
						PBAD("buckets not cumulative");
					cur->last_le = lev;
					cur->last_count = v;
					if (isinf(lev)) {
						cur->seen_inf = true;
						cur->inf_count = v;
					}
				} else if (strcmp(name + bl, "_sum") == 0) {
					cur->seen_sum = true;
				} else if (strcmp(name + bl, "_count") == 0) {
					cur->seen_count = true;
					cur->count = v;
					if (!cur->seen_inf)
						PBAD("_count before the +Inf "
						    "bucket");
					else if (v != cur->inf_count)
						PBAD("+Inf bucket %g != _count "
						    "%g", cur->inf_count, v);
				} else
					PBAD("histogram sample %s", name);
			} else {
				if (strcmp(name, cur->name) != 0) {
					PBAD("sample %s in family %s", name,
					    cur->name);
					continue;
				}
				if (le[0] != '\0')
					PBAD("le label outside a histogram");
				if (strcmp(cur->type, "counter") == 0 &&
				    (v < 0 || isnan(v)))
					PBAD("negative counter");
			}
			cur->samples++;
		}
	}
	for (i = 0; i < nfam; i++) {
		if (!fam[i].help || !fam[i].typed || fam[i].samples == 0) {
			fprintf(stderr, "prometheus: family %s: help %d type "
			    "%d samples %d\n", fam[i].name, fam[i].help,
			    fam[i].typed, fam[i].samples);
			bad++;
		}
		if (strcmp(fam[i].type, "histogram") == 0 &&
		    (!fam[i].seen_inf || !fam[i].seen_sum ||
		    !fam[i].seen_count)) {
			fprintf(stderr, "prometheus: histogram %s lacks +Inf, "
			    "_sum or _count\n", fam[i].name);
			bad++;
		}
	}
	free(copy);
	return bad;
#undef PBAD
}

/* The value of series (name with labels, exactly as printed); NAN when
 * absent. */
static double
tprom_get(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);

	while (p && *p) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NAN;
}

#define PROM_EQ(text, series, want) do {				\
	double _v = tprom_get(text, series);				\
	if (!(_v == (double)(want))) {					\
		fprintf(stderr, "%s:%d: %s is %g, want %g\n", __FILE__,	\
		    __LINE__, series, _v, (double)(want));		\
		hqtest_failures++;					\
	}								\
} while (0)

static void
test_prom_reader(void)
{
	const char	*good = "# HELP a_total x\n# TYPE a_total counter\n"
	    "a_total 1\n# HELP h y\n# TYPE h histogram\n"
	    "h_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\n"
	    "h_count 2\n";
	const char	*bad[] = {
	    "a 1\n",
	    "# HELP a x\n# TYPE a counter\na 1\n",
	    "# HELP a x\na 1\n",
	    "# HELP h y\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 3\n"
	    "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
	    "# HELP h y\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\n"
	    "h_sum 1\nh_count 3\n",
	    "# HELP g y\n# TYPE g gauge\ng{a=\"1\" 2\n",
	    "# HELP g y\n# TYPE g gauge\ng 1\n# HELP g y\n",
	    "# HELP g y\n# TYPE g gauge\ng 1",
	};
	size_t		i;

	CHECK_EQ_INT(tprom_check(good, strlen(good)), 0);
	fprintf(stderr, "(expected complaints follow)\n");
	for (i = 0; i < nitems(bad); i++)
		CHECK(tprom_check(bad[i], strlen(bad[i])) > 0);
	fprintf(stderr, "(end of expected complaints)\n");
}

static void
test_prom_values(void)
{
	struct seg	*sg = trep_seg();
	struct pbuf	 out = { 0 };
	double		 v;

	report_prometheus(&out, sg, NULL, NOW_NS);
	pbuf_add(&out, "", 1);
	out.len--;
	CHECK_EQ_INT(tprom_check(out.data, out.len), 0);
	PROM_EQ(out.data, "hq_up", 1);
	PROM_EQ(out.data, "hq_entries_applied_total", 15);
	PROM_EQ(out.data, "hq_entries_failed_total", 2);
	PROM_EQ(out.data, "hq_entries_retried_total", 3);
	PROM_EQ(out.data, "hq_entries_duplicate_total", 1);
	PROM_EQ(out.data, "hq_batches_total", 5);
	PROM_EQ(out.data, "hq_queue_depth{priority=\"3\"}", 4);
	PROM_EQ(out.data, "hq_queue_depth{priority=\"10\"}", 1);
	PROM_EQ(out.data, "hq_queue_depth{priority=\"1\"}", 0);
	PROM_EQ(out.data, "hq_queue_processing", 2);
	PROM_EQ(out.data, "hq_queue_oldest_pending_age_seconds", 30);
	PROM_EQ(out.data, "hq_workers", 2);
	PROM_EQ(out.data, "hq_workers_alive", 2);
	PROM_EQ(out.data, "hq_watcher_up", 1);
	PROM_EQ(out.data, "hq_polling", 0);
	PROM_EQ(out.data, "hq_supervisor_iterations_total", 17);
	PROM_EQ(out.data, "hq_worker_entries_applied_total{worker=\"0\"}", 10);
	PROM_EQ(out.data, "hq_worker_entries_applied_total{worker=\"1\"}", 5);
	PROM_EQ(out.data, "hq_worker_busy_seconds_total{worker=\"0\"}", 1.5);
	PROM_EQ(out.data, "hq_worker_up{worker=\"1\"}", 1);
	v = tprom_get(out.data, "hq_start_time_seconds");
	CHECK(fabs(v - (double)(NOW_NS - 100 * SEC) / 1e9) < 0.01);
	/* exec latency: 10 x 100 us, 5 x 5 ms, 3 x 2 s, 2 x 1000 s */
	PROM_EQ(out.data, "hq_exec_latency_seconds_count", 20);
	PROM_EQ(out.data, "hq_exec_latency_seconds_bucket{le=\"+Inf\"}", 20);
	v = tprom_get(out.data, "hq_exec_latency_seconds_sum");
	CHECK(fabs(v - (0.001 + 0.025 + 6 + 2000)) < 1e-6);
	PROM_EQ(out.data, "hq_exec_latency_seconds_bucket{le=\"0.000128\"}",
	    10);
	PROM_EQ(out.data, "hq_exec_latency_seconds_bucket{le=\"0.008192\"}",
	    15);
	PROM_EQ(out.data, "hq_exec_latency_seconds_bucket{le=\"4.194304\"}",
	    18);
	PROM_EQ(out.data, "hq_commit_latency_seconds_count", 15);
	pbuf_free(&out);

	/* nothing counted: still well-formed, every counter 0 */
	memset(sg, 0, sizeof(*sg));
	sg->h.pid = 1;
	sg->h.nworkers = 1;
	report_prometheus(&out, sg, NULL, NOW_NS);
	pbuf_add(&out, "", 1);
	out.len--;
	CHECK_EQ_INT(tprom_check(out.data, out.len), 0);
	PROM_EQ(out.data, "hq_entries_applied_total", 0);
	PROM_EQ(out.data, "hq_exec_latency_seconds_count", 0);
	PROM_EQ(out.data, "hq_exec_latency_seconds_bucket{le=\"+Inf\"}", 0);
	pbuf_free(&out);
	free(sg);
}

/* le is an inclusive bound in the exposition format: a sample of exactly
 * 128 us belongs to the bucket le="0.000128". */
static void
test_prom_le_inclusive(void)
{
	struct seg	*sg = trep_seg();
	struct pbuf	 out = { 0 };
	const char	*le[] = { "0.000128", "0.001024", "0.131072" };
	uint64_t	 us[] = { 128, 1024, 131072 };
	char		 series[128];
	size_t		 i;

	for (i = 0; i < nitems(us); i++) {
		memset(&sg->slot[0].lat_commit, 0, sizeof(struct seg_hist));
		memset(&sg->slot[1].lat_commit, 0, sizeof(struct seg_hist));
		seg_hist_add(&sg->slot[0].lat_commit, us[i]);
		report_prometheus(&out, sg, NULL, NOW_NS);
		pbuf_add(&out, "", 1);
		snprintf(series, sizeof(series),
		    "hq_commit_latency_seconds_bucket{le=\"%s\"}", le[i]);
		PROM_EQ(out.data, series, 1);
		pbuf_free(&out);
	}
	free(sg);
}

static void
test_prom_down(void)
{
	struct report_dirs	d;
	struct pbuf		out = { 0 };

	memset(&d, 0, sizeof(d));
	d.valid = true;
	d.pending = 3;
	d.depth[5] = 3;
	d.failed = 4;
	report_prometheus(&out, NULL, &d, NOW_NS);
	pbuf_add(&out, "", 1);
	out.len--;
	CHECK_EQ_INT(tprom_check(out.data, out.len), 0);
	PROM_EQ(out.data, "hq_up", 0);
	PROM_EQ(out.data, "hq_queue_depth{priority=\"5\"}", 3);
	PROM_EQ(out.data, "hq_failed_entries", 4);
	PROM_EQ(out.data, "hq_entries_applied_total", 0);
	pbuf_free(&out);
	report_prometheus(&out, NULL, NULL, NOW_NS);
	CHECK_EQ_INT(tprom_check(out.data, out.len), 0);
	pbuf_free(&out);
}

/* The table: the numbers a human looks for are in it. */
static void
test_table(void)
{
	struct seg		*sg = trep_seg();
	struct report_dirs	 d;
	struct pbuf		 out = { 0 };

	report_table(&out, sg, NULL, NOW_NS);
	pbuf_add(&out, "", 1);
	CHECK(strstr(out.data, "pid 4242") != NULL);
	CHECK(strstr(out.data, "5 pending, 2 processing") != NULL);
	CHECK(strstr(out.data, "15 applied, 2 failed") != NULL);
	CHECK(strstr(out.data, "/srv/q.db") != NULL);
	pbuf_free(&out);
	memset(&d, 0, sizeof(d));
	d.valid = true;
	d.pending = 3;
	report_table(&out, NULL, &d, NOW_NS);
	pbuf_add(&out, "", 1);
	CHECK(strstr(out.data, "down") != NULL);
	CHECK(strstr(out.data, "3 pending") != NULL);
	pbuf_free(&out);
	free(sg);
}

/* --- report_count_dirs ---------------------------------------------------- */

static void
trep_file(int dirfd, const char *name, time_t mtime)
{
	struct timespec	ts[2];
	int		fd;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644);
	if (fd == -1) {
		fprintf(stderr, "create %s: %s\n", name, strerror(errno));
		hqtest_failures++;
		return;
	}
	if (write(fd, "{\"sql\":\"SELECT 1\"}", 18) != 18)
		hqtest_failures++;
	if (mtime != 0) {
		ts[0].tv_sec = ts[1].tv_sec = mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = 250000000;
		if (futimens(fd, ts) == -1)
			hqtest_failures++;
	}
	close(fd);
}

static void
test_count_dirs(void)
{
	struct queue		 q;
	struct report_dirs	 d;
	char			 err[256];
	int			 w0, w3, i;

	REQUIRE(queue_open(&q, "root", true, 0755, err, sizeof(err)) == 0);
	/* pending/: 3 at priority 5, 1 at 10, 1 at 2; a bad name, a
	 * producer's temp file */
	trep_file(q.pendingfd, "5_100_1.json", 1700000300);
	trep_file(q.pendingfd, "5_100_2.json", 1700000100);
	trep_file(q.pendingfd, "5_100_3.msgpack", 1700000200);
	trep_file(q.pendingfd, "10_100_4.json", 1700000400);
	trep_file(q.pendingfd, "2_100_5.json", 1700000500);
	trep_file(q.pendingfd, "junk.txt", 1600000000);
	trep_file(q.pendingfd, ".5_100_6.json", 1600000000);
	/* processing/: one loose, 2 in w0, 1 in w3 */
	trep_file(q.processingfd, "5_200_1.json", 0);
	REQUIRE((w0 = queue_worker_dir(&q, 0, true)) != -1);
	REQUIRE((w3 = queue_worker_dir(&q, 3, true)) != -1);
	trep_file(w0, "5_200_2.json", 0);
	trep_file(w0, "5_200_3.json", 0);
	trep_file(w3, "7_200_4.json", 0);
	close(w0);
	close(w3);
	/* failed/: 2 entries and their notes; completed/: 1 */
	for (i = 1; i <= 2; i++) {
		char n[64];

		snprintf(n, sizeof(n), "5_300_%d.json", i);
		trep_file(q.failedfd, n, 0);
		snprintf(n, sizeof(n), "5_300_%d.json.err", i);
		trep_file(q.failedfd, n, 0);
	}
	trep_file(q.completedfd, "5_400_1.json", 0);
	queue_close(&q);

	memset(&d, 0xa5, sizeof(d));
	REQUIRE(report_count_dirs("root", &d) == 0);
	CHECK(d.valid);
	CHECK_EQ_INT(d.pending, 5);
	CHECK_EQ_INT(d.depth[5], 3);
	CHECK_EQ_INT(d.depth[10], 1);
	CHECK_EQ_INT(d.depth[2], 1);
	CHECK_EQ_INT(d.depth[1], 0);
	CHECK_EQ_INT(d.bad_names, 1);
	CHECK_EQ_INT(d.processing, 4);
	CHECK_EQ_INT(d.failed, 2);
	CHECK_EQ_INT(d.completed, 1);
	CHECK_EQ_INT(d.oldest_pending_ns, 1700000100ULL * SEC + 250000000);

	/* and into the documents */
	{
		struct tj *o = trep_json(NULL, &d);

		REQUIRE(o != NULL);
		J_INT(o, "queue_size", 5);
		J_INT(o, "processing_count", 4);
		J_INT(o, "failed_count", 2);
		J_INT(tj_get(o, "queue_depth"), "5", 3);
		trep_json_done(o);
	}

	/* an empty tree */
	REQUIRE(queue_open(&q, "empty", true, 0755, err, sizeof(err)) == 0);
	queue_close(&q);
	REQUIRE(report_count_dirs("empty", &d) == 0);
	CHECK(d.valid);
	CHECK_EQ_INT(d.pending + d.processing + d.failed + d.completed, 0);
	CHECK_EQ_INT(d.oldest_pending_ns, 0);

	/* no tree at all */
	memset(&d, 0xa5, sizeof(d));
	CHECK(report_count_dirs("nonexistent", &d) == -1);
	CHECK(!d.valid);
}

/* The window: counts and percentiles of what happened between two totals
 * only (the 10 x 100 us before the first are not in it); a smaller
 * counter (a new segment) counts from zero. */
static void
test_window(void)
{
	struct seg		*sg = trep_seg();
	struct report_totals	 a, b;
	struct pbuf		 out = { 0 };
	struct tj		*o, *w, *x;
	char			 err[256];
	int			 i;

	report_totals(sg, &a);
	for (i = 0; i < 4; i++)
		seg_hist_add(&sg->slot[0].lat_exec, 40000);	/* 40 ms */
	SEG_ADD(sg->slot[0].c.applied, 4);
	SEG_ADD(sg->slot[1].c.failed, 1);
	report_totals(sg, &b);
	pbuf_printf(&out, "{\"x\":1");
	report_window(&out, &a, &b, 1.5);
	pbuf_printf(&out, "}");
	o = tj_parse(out.data, out.len, err, sizeof(err));
	REQUIRE(o != NULL);
	w = tj_get(o, "window");
	REQUIRE(w != NULL && w->type == TJ_OBJ);
	J_INT(w, "applied", 4);
	J_INT(w, "failed", 1);
	J_INT(w, "retried", 0);
	CHECK(tj_get(w, "seconds") != NULL &&
	    tj_get(w, "seconds")->d == 1.5);
	x = tj_get(w, "exec");
	REQUIRE(x != NULL);
	J_INT(x, "count", 4);
	/* All four in 40 ms's bucket (at most 19 % wide). */
	CHECK(tj_get(x, "p50_ms")->d >= 40.0 && tj_get(x, "p50_ms")->d <= 48.0);
	CHECK(tj_get(x, "p99_ms")->d >= 40.0 && tj_get(x, "p99_ms")->d <= 48.0);
	J_INT(tj_get(w, "commit"), "count", 0);
	tj_free(o);
	free(o);

	/* b before a: counters went down (another segment): b counts whole. */
	out.len = 0;
	report_window(&out, &b, &a, 1.0);
	pbuf_add(&out, "", 1);
	CHECK(strstr(out.data, "\"applied\":15,") != NULL);
	pbuf_free(&out);
	free(sg);
}

/* hqctl health and /healthz: each reason, checked in order. */
static void
test_health(void)
{
	struct seg	*sg = trep_seg();
	char		 msg[256];
	uint64_t	 now = 1000 * SEC;

	/* Workers must exist: ourselves stand in for both. */
	SEG_SET(sg->slot[0].pid, (uint64_t)getpid());
	SEG_SET(sg->slot[1].pid, (uint64_t)getpid());
	SEG_SET(sg->h.heartbeat_mono_ns, now - SEC);
	CHECK(report_health(sg, now, msg, sizeof(msg)));
	CHECK_EQ_STR(msg, "healthy: hqd pid 4242, 2 workers, inotify");
	/* Two intervals (5 s) and a second of slack: 11 s is too old. */
	CHECK(!report_health(sg, now + 11 * SEC, msg, sizeof(msg)));
	CHECK_EQ_STR(msg, "unhealthy: heartbeat is 12.0 s old");
	SEG_SET(sg->slot[1].pid, 0);
	CHECK(!report_health(sg, now, msg, sizeof(msg)));
	CHECK_EQ_STR(msg, "unhealthy: worker 1 is not running");
	SEG_SET(sg->slot[1].pid, (uint64_t)getpid());
	SEG_SET(sg->h.watcher_alive, 0);
	CHECK(!report_health(sg, now, msg, sizeof(msg)));
	CHECK_EQ_STR(msg, "unhealthy: the inotify watcher is down");
	SEG_SET(sg->h.polling, SEG_POLL_FALLBACK);
	CHECK(!report_health(sg, now, msg, sizeof(msg)));
	CHECK_EQ_STR(msg, "unhealthy: inotify failed; hqd is polling");
	SEG_SET(sg->h.draining, 1);
	CHECK(!report_health(sg, now, msg, sizeof(msg)));
	CHECK_EQ_STR(msg, "unhealthy: hqd pid 4242 is shutting down");
	free(sg);
}

/* ROOT/NAME holds TEXT, replaced. */
static void
trep_text(int dirfd, const char *name, const char *text)
{
	int	fd;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);
	if (fd == -1 || write(fd, text, strlen(text)) !=
	    (ssize_t)strlen(text))
		hqtest_failures++;
	if (fd != -1)
		close(fd);
}

/*
 * The old stats.json: the totals hqd started from plus the segment's
 * (duplicates as processed, poison entries as failed), or the file's alone
 * with hqd down; enqueued = processed + failed + queued. The file is read
 * as hqd writes it and as jq pretty-printed the old worker's, and refused
 * when it is not that object.
 */
static void
test_legacy(void)
{
	struct report_legacy	 base, l;
	struct pbuf		 out = { 0 };
	struct seg		*sg = trep_seg();
	int			 fd;

	sg->h.legacy_processed = 100;
	sg->h.legacy_failed = 7;
	sg->h.legacy_retried = 9;
	SEG_SET(sg->h.c.poisoned, 1);
	memset(&base, 0xff, sizeof(base));	/* not used when up */
	report_legacy(&l, sg, &base, 4, 3);
	CHECK_EQ_INT(l.processed, 100 + 15 + 1);
	CHECK_EQ_INT(l.failed, 7 + 2 + 1);
	CHECK_EQ_INT(l.retried, 9 + 3);
	CHECK_EQ_INT(l.enqueued, 116 + 10 + 4);
	CHECK_EQ_INT(l.direct, 3);
	report_legacy_json(&out, &l);
	CHECK_EQ_STR(out.data, "{\"enqueued\":130,\"processed\":116,"
	    "\"failed\":10,\"retried\":12,\"direct\":3}\n");

	REQUIRE((fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1);
	trep_text(fd, "stats.json", out.data);
	REQUIRE(report_legacy_read(fd, &base) == 0);
	CHECK_EQ_INT(base.processed, 116);
	CHECK_EQ_INT(base.failed, 10);
	CHECK_EQ_INT(base.retried, 12);
	report_legacy(&l, NULL, &base, 2, 0);
	CHECK_EQ_INT(l.enqueued, 116 + 10 + 2);
	CHECK_EQ_INT(l.processed, 116);
	trep_text(fd, "stats.json", "{\n  \"enqueued\": 12,\n  \"processed\": "
	    "10,\n  \"failed\" : 1,\n  \"retried\":4,\n  \"direct\": 0\n}\n");
	REQUIRE(report_legacy_read(fd, &base) == 0);
	CHECK_EQ_INT(base.enqueued, 12);
	CHECK_EQ_INT(base.processed, 10);
	CHECK_EQ_INT(base.failed, 1);
	CHECK_EQ_INT(base.retried, 4);
	trep_text(fd, "stats.json", "{\"enqueued\":1,\"processed\":\"2\","
	    "\"failed\":0,\"retried\":0}");
	CHECK(report_legacy_read(fd, &base) == -1 && errno == EINVAL);
	CHECK_EQ_INT(base.processed, 0);
	trep_text(fd, "stats.json", "");
	CHECK(report_legacy_read(fd, &base) == -1 && errno == EINVAL);
	CHECK(unlinkat(fd, "stats.json", 0) == 0);
	CHECK(report_legacy_read(fd, &base) == -1 && errno == ENOENT);
	CHECK_EQ_INT(report_legacy_direct(fd), 0);
	trep_text(fd, ".direct", "xxx");
	CHECK_EQ_INT(report_legacy_direct(fd), 3);
	close(fd);
	pbuf_free(&out);
	free(sg);
}


/* The heartbeat's numbers are formatted without printf: the same text as
 * printf's, for every value a counter or a histogram can hold. */
static void
test_json_numbers(void)
{
	static const uint64_t vs[] = { 0, 1, 9, 10, 99, 100, 999, 1000, 1001,
	    4095, 123456789, 1000000000000ULL, 9007199254740992ULL,
	    UINT64_MAX - 1, UINT64_MAX };
	struct pbuf	b = { 0 };
	char		want[64];
	uint64_t	x = 0x9e3779b97f4a7c15ULL;
	size_t		i;

	for (i = 0; i < nitems(vs) + 1000; i++) {
		uint64_t v = i < nitems(vs) ? vs[i] : (x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> (i % 64);

		b.len = 0;
		pbuf_u64(&b, v);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
		CHECK_EQ_STR(b.data, want);
		b.len = 0;
		pbuf_milli(&b, v);
		snprintf(want, sizeof(want), "%llu.%03llu",
		    (unsigned long long)(v / 1000),
		    (unsigned long long)(v % 1000));
		CHECK_EQ_STR(b.data, want);
		/* exact where a double holds the value */
		if (v < (1ULL << 53)) {
			snprintf(want, sizeof(want), "%.3f", (double)v / 1000.0);
			CHECK_EQ_STR(b.data, want);
		}
	}
	/* pbuf_printf: past the room it reserves, and at its edge */
	for (i = 0; i < 300; i++) {
		size_t before;

		b.len = 0;
		pbuf_printf(&b, "%*s", (int)i, "");
		before = b.len;
		pbuf_printf(&b, "%s-%zu", "x", i);
		snprintf(want, sizeof(want), "x-%zu", i);
		CHECK_EQ_INT(before, i);
		CHECK_EQ_STR(b.data + before, want);
	}
	pbuf_free(&b);
}

/* A histogram's mean is rounded to the microsecond, halves up; its
 * quantiles are bucket bounds shown exactly. */
static void
test_json_hist_mean(void)
{
	struct seg	*sg = calloc(1, sizeof(*sg));
	struct pbuf	 o = { 0 };
	struct tj	*doc;
	const struct tj	*x;
	char		 err[128];

	REQUIRE(sg != NULL);
	sg->h.nworkers = 1;
	SEG_SET(sg->slot[0].pid, 100);
	seg_hist_add(&sg->slot[0].lat_exec, 1);
	seg_hist_add(&sg->slot[0].lat_exec, 2);	/* mean 1.5 us: 2 us */
	seg_hist_add(&sg->slot[0].lat_commit, 1000);
	seg_hist_add(&sg->slot[0].lat_commit, 1001);
	seg_hist_add(&sg->slot[0].lat_commit, 1001);	/* 1000.67: 1001 */
	report_json(&o, sg, NULL, NOW_NS);
	CHECK(strstr(o.data, "\"mean_ms\":0.002}") != NULL);
	CHECK(strstr(o.data, "\"mean_ms\":1.001}") != NULL);
	doc = tj_parse(o.data, o.len, err, sizeof(err));
	REQUIRE(doc != NULL);
	x = tj_get(tj_get(tj_get(doc, "latency"), "exec"), "max_ms");
	CHECK(x != NULL && x->type == TJ_REAL &&
	    fabs(x->d * 1000.0 - (double)seg_hist_upper_us(
	    seg_hist_bucket(2))) < 1e-6);
	tj_free(doc);
	pbuf_free(&o);
	free(sg);
}

static const struct hqtest tests[] = {
	{ "window", test_window },
	{ "health", test_health },
	{ "json_reader", test_json_reader },
	{ "json_values", test_json_values },
	{ "json_empty", test_json_empty },
	{ "json_down", test_json_down },
	{ "json_down_old_keys", test_json_down_old_keys },
	{ "json_escapes", test_json_escapes },
	{ "json_non_utf8_root", test_json_non_utf8_root },
	{ "json_entry_decoder", test_json_entry_decoder },
	{ "prom_reader", test_prom_reader },
	{ "prom_values", test_prom_values },
	{ "prom_le_inclusive", test_prom_le_inclusive },
	{ "prom_down", test_prom_down },
	{ "table", test_table },
	{ "count_dirs", test_count_dirs },
	{ "legacy", test_legacy },
	{ "json_numbers", test_json_numbers },
	{ "json_hist_mean", test_json_hist_mean },
};

HQTEST_MAIN(tests)

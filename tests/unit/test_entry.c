/* SPDX-License-Identifier: MIT */
/*
 * test_entry.c: entry_decode() and entry_free(), JSON and MessagePack: the
 * old shell library's files (tests/fixtures/entries/compat, copied from
 * shared/compat-samples), every value type, every error class, truncation
 * at every length, hostile sizes and nesting, and seeded random inputs.
 * Every input is decoded from an exact-size heap copy that is poisoned and
 * freed right after, so ASan or valgrind catch both a read past len and a
 * pointer left into the input.
 */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/entry.h"
#include "common/pbuf.h"
#include "common/utf8.h"
#include "tests/unit/hqtest.h"

#ifndef HQ_FIXTURES_DIR
#define HQ_FIXTURES_DIR "tests/fixtures"
#endif
#define TEST_ENTRY_COMPAT	HQ_FIXTURES_DIR "/entries/compat"

#define TEST_ENTRY_ERRLEN	256
#define EXCEEDS			"msgpack: declared length exceeds input"

#define JSON_OK(s, e)							\
	test_entry_ok(__LINE__, ENTRY_JSON, (s), strlen(s), (e))
#define JSON_FAIL(s, want)						\
	test_entry_fail(__LINE__, ENTRY_JSON, (s), strlen(s), (want))
#define JSON_FAILN(s, want)						\
	test_entry_fail(__LINE__, ENTRY_JSON, (s), sizeof(s) - 1, (want))
#define MP_OK(sb, e)							\
	test_entry_ok(__LINE__, ENTRY_MSGPACK, (sb)->data, (sb)->size, (e))
#define MP_FAIL(sb, want)						\
	test_entry_fail(__LINE__, ENTRY_MSGPACK, (sb)->data, (sb)->size,\
	    (want))
#define MP_FAILN(s, want)						\
	test_entry_fail(__LINE__, ENTRY_MSGPACK, (s), sizeof(s) - 1, (want))

#define SQL_UPD1 "UPDATE sessions SET verified = 1, last_activity = " \
	"datetime('now') WHERE id = 'sess_123';"
#define SQL_UPD2 "UPDATE sessions SET last_activity = datetime('now') " \
	"WHERE id = 'abc';"
#define SQL_UPD3 "UPDATE sessions SET status = 'active' WHERE id = 'abc';"
#define SQL_INS1 "INSERT INTO session_logs(session_id, level, message) " \
	"VALUES ('s1', 'info', 'a, b: {c}');"
#define SQL_INS2 "INSERT INTO session_logs (session_id, log_level, " \
	"message, data)\n        VALUES ('sess_123', 'info', " \
	"'User logged in, ok', '{\"ip\": \"10.0.0.1\"}}');"

/* What each compat sample must decode to. Its file name is the name
 * plus ".json"; the name is the priority, '_' and the seq. */
static const struct test_entry_compat {
	const char	*dir;
	const char	*name;
	int		 priority;
	const char	*operation;
	const char	*sql;
	const char	*created_at;
} test_entry_compat[] = {
	{ "with-jq", "3_1795714997072384913_3", 3, "update_session",
	    SQL_UPD1, "2026-11-26T17:43:17Z" },
	{ "with-jq", "3_1795714997222865808_5", 3, "session_update",
	    SQL_UPD2, "2026-11-26T17:43:17Z" },
	{ "with-jq", "5_1795714996981967539_2", 5, "generic",
	    SQL_UPD3, "2026-11-26T17:43:16Z" },
	{ "with-jq", "7_1795714996882757219_1", 7, "insert_log",
	    SQL_INS1, "2026-11-26T17:43:16Z" },
	{ "with-jq", "7_1795714997158398662_4", 7, "insert_log",
	    SQL_INS2, "2026-11-26T17:43:17Z" },
	{ "without-jq", "3_1795714997463084351_3", 3, "update_session",
	    SQL_UPD1, "2026-11-26T17:43:17Z" },
	{ "without-jq", "3_1795714997515990140_5", 3, "session_update",
	    SQL_UPD2, "2026-11-26T17:43:17Z" },
	{ "without-jq", "5_1795714997436418997_2", 5, "generic",
	    SQL_UPD3, "2026-11-26T17:43:17Z" },
	{ "without-jq", "7_1795714997410321180_1", 7, "insert_log",
	    SQL_INS1, "2026-11-26T17:43:17Z" },
	{ "without-jq", "7_1795714997491002561_4", 7, "insert_log",
	    SQL_INS2, "2026-11-26T17:43:17Z" },
};

/* Uses every feature at once; no proper prefix of it is valid. */
static const char test_entry_rich[] =
    "{\"seq\":\"12_3\",\"priority\":4,\"operation\":\"op\\u00e9\","
    "\"sql\":\"INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)\","
    "\"params\":[null,true,false,-42,2.5e-3,\"a\\\"b\\ud83d\\ude00\"],"
    "\"id\":\"k-1\",\"created_at\":\"2026-01-01T00:00:00Z\","
    "\"retries\":2,\"metadata\":{\"a\":[1,{\"b\":null}],\"c\":\"}},\"},"
    "\"x\":[-0.5E+2,\"\\t\"]}";

static bool
test_entry_zeroed(const struct entry *e)
{
	static const struct entry zero;

	return memcmp(e, &zero, sizeof(zero)) == 0;
}

/* Decodes from an exact-size heap copy, poisoned and freed afterwards. */
static int
test_entry_decode(enum entry_format fmt, const void *p, size_t len,
    struct entry *e, char *err, size_t errlen)
{
	char	*copy;
	int	 r;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(copy, p, len);
	r = entry_decode(fmt, copy, len, e, err, errlen);
	memset(copy, 0xa5, len);
	free(copy);
	return r;
}

/* What must hold of any entry that decoded. */
static bool
test_entry_sane(const struct entry *e)
{
	size_t	 i;

	if (e->sql == NULL || e->sql[e->sql_len] != '\0' ||
	    strlen(e->sql) != e->sql_len || e->operation == NULL ||
	    e->arena == NULL || (e->params == NULL) != (e->nparams == 0) ||
	    e->nparams > ENTRY_MAX_PARAMS)
		return false;
	if (e->priority < 0 || e->priority > 10 || e->retries < 0)
		return false;
	for (i = 0; i < e->nparams; i++) {
		switch (e->params[i].type) {
		case ENTRY_PARAM_TEXT:
		case ENTRY_PARAM_BLOB:
			if (e->params[i].p == NULL ||
			    e->params[i].p[e->params[i].len] != '\0')
				return false;
			break;
		case ENTRY_PARAM_NULL:
		case ENTRY_PARAM_INT:
		case ENTRY_PARAM_REAL:
			if (e->params[i].p != NULL)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

/* Decode must succeed; the caller frees e. */
static int
test_entry_ok(int line, enum entry_format fmt, const void *p, size_t len,
    struct entry *e)
{
	char	 err[TEST_ENTRY_ERRLEN];

	memset(err, 'x', sizeof(err));
	if (test_entry_decode(fmt, p, len, e, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s:%d: decode failed: %s\n", __FILE__, line,
		    err);
		hqtest_failures++;
		return -1;
	}
	if (err[0] != '\0' || !test_entry_sane(e)) {
		fprintf(stderr, "%s:%d: decoded entry not sane\n", __FILE__,
		    line);
		hqtest_failures++;
		entry_free(e);
		return -1;
	}
	return 0;
}

/* Decode must fail with err == want (NULL: any non-empty reason). */
static void
test_entry_fail(int line, enum entry_format fmt, const void *p, size_t len,
    const char *want)
{
	struct entry	 e;
	char		 err[TEST_ENTRY_ERRLEN];

	memset(&e, 0x5a, sizeof(e));
	if (test_entry_decode(fmt, p, len, &e, err, sizeof(err)) == 0) {
		fprintf(stderr, "%s:%d: decode succeeded, wanted \"%s\"\n",
		    __FILE__, line, want != NULL ? want : "an error");
		hqtest_failures++;
		entry_free(&e);
		return;
	}
	if (err[0] == '\0' || strchr(err, '\n') != NULL ||
	    (want != NULL && strcmp(err, want) != 0)) {
		fprintf(stderr, "%s:%d: error \"%s\", wanted \"%s\"\n",
		    __FILE__, line, err, want != NULL ? want : "non-empty");
		hqtest_failures++;
	}
	if (!test_entry_zeroed(&e)) {
		fprintf(stderr, "%s:%d: entry not zeroed on failure\n",
		    __FILE__, line);
		hqtest_failures++;
	}
}

static char *
test_entry_slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1) {
		fclose(f);
		return NULL;
	}
	if ((buf = malloc((size_t)n + 1)) == NULL)
		abort();
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*lenp = (size_t)n;
	return buf;
}

static uint64_t
test_entry_rand(uint64_t *s)
{
	/* xorshift64: fixed seeds, the same inputs on every run. */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_entry_pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

/* A msgpack map holding just sql, and n more pairs the caller packs. */
static void
test_entry_pk_start(msgpack_sbuffer *sb, msgpack_packer *pk, size_t n)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(pk, n + 1);
	test_entry_pk_str(pk, "sql");
	test_entry_pk_str(pk, "SELECT 1");
}

/* A JSON entry {"sql":"SELECT 1",<member>} in buf. */
static const char *
test_entry_with(char *buf, size_t len, const char *member)
{
	snprintf(buf, len, "{\"sql\":\"SELECT 1\",%s}", member);
	return buf;
}


#define TEST_ENTRY_NCOMPAT	(sizeof(test_entry_compat) / \
	sizeof(test_entry_compat[0]))

/* Every sample decodes to what the old library meant; repaired exactly
 * for the files written without jq. */
static void
test_entry_compat_samples(void)
{
	const struct test_entry_compat *c;
	struct entry	 e;
	char		 path[PATH_MAX], *buf;
	size_t		 i, len;

	for (i = 0; i < TEST_ENTRY_NCOMPAT; i++) {
		c = &test_entry_compat[i];
		snprintf(path, sizeof(path), "%s/%s/%s.json",
		    TEST_ENTRY_COMPAT, c->dir, c->name);
		buf = test_entry_slurp(path, &len);
		if (buf == NULL) {
			fprintf(stderr, "cannot read %s\n", path);
			hqtest_failures++;
			continue;
		}
		if (test_entry_ok(__LINE__, ENTRY_JSON, buf, len, &e) == 0) {
			CHECK_EQ_STR(e.sql, c->sql);
			CHECK_EQ_INT(e.sql_len, strlen(c->sql));
			CHECK_EQ_STR(e.operation, c->operation);
			CHECK_EQ_STR(e.seq, c->name + 2);
			CHECK_EQ_STR(e.created_at, c->created_at);
			CHECK_EQ_INT(e.priority, c->priority);
			CHECK_EQ_INT(e.retries, 0);
			CHECK(e.id == NULL);
			CHECK_EQ_INT(e.nparams, 0);
			CHECK_EQ_INT(e.repaired,
			    strcmp(c->dir, "without-jq") == 0);
			entry_free(&e);
		}
		free(buf);
	}
}

/* The table above covers every file the fixture directories hold. */
static void
test_entry_compat_all_files(void)
{
	static const char *const dirs[] = { "with-jq", "without-jq" };
	struct dirent	*de;
	DIR		*d;
	char		 path[PATH_MAX];
	size_t		 i, k, n = 0, len;
	bool		 known;

	for (k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s", TEST_ENTRY_COMPAT,
		    dirs[k]);
		REQUIRE((d = opendir(path)) != NULL);
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			n++;
			known = false;
			for (i = 0; i < TEST_ENTRY_NCOMPAT; i++) {
				len = strlen(test_entry_compat[i].name);
				if (strcmp(test_entry_compat[i].dir,
				    dirs[k]) == 0 && strncmp(de->d_name,
				    test_entry_compat[i].name, len) == 0 &&
				    strcmp(de->d_name + len, ".json") == 0)
					known = true;
			}
			if (!known)
				fprintf(stderr, "%s/%s: not in the table\n",
				    path, de->d_name);
			CHECK(known);
		}
		closedir(d);
	}
	CHECK_EQ_INT(n, TEST_ENTRY_NCOMPAT);
}

/*
 * A without-jq file with its stray braces removed by hand decodes to the
 * same entry, unrepaired: the repair drops the braces and nothing else.
 */
static void
test_entry_compat_repair_equivalent(void)
{
	const struct test_entry_compat *c;
	struct entry	 a, b;
	char		 path[PATH_MAX], *buf, *fixed, *m;
	size_t		 i, len, j, k;

	for (i = 0; i < TEST_ENTRY_NCOMPAT; i++) {
		c = &test_entry_compat[i];
		if (strcmp(c->dir, "without-jq") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s.json",
		    TEST_ENTRY_COMPAT, c->dir, c->name);
		REQUIRE((buf = test_entry_slurp(path, &len)) != NULL);
		buf[len] = '\0';
		REQUIRE((m = strstr(buf, "\"metadata\":")) != NULL);
		/* Find the end of the metadata value: the first '}' run
		 * followed by ','; drop all but the first '}'. */
		REQUIRE((m = strstr(m, "}}")) != NULL);
		REQUIRE((fixed = malloc(len + 1)) != NULL);
		j = (size_t)(m - buf) + 1;
		memcpy(fixed, buf, j);
		for (k = j; buf[k] == '}'; k++)
			;
		CHECK(buf[k] == ',');
		memcpy(fixed + j, buf + k, len - k);
		j += len - k;
		if (JSON_OK(buf, &a) == 0) {
			if (test_entry_ok(__LINE__, ENTRY_JSON, fixed, j,
			    &b) == 0) {
				CHECK(a.repaired);
				CHECK(!b.repaired);
				CHECK_EQ_STR(a.sql, b.sql);
				CHECK_EQ_STR(a.operation, b.operation);
				CHECK_EQ_STR(a.seq, b.seq);
				CHECK_EQ_STR(a.created_at, b.created_at);
				CHECK_EQ_INT(a.priority, b.priority);
				CHECK_EQ_INT(a.retries, b.retries);
				entry_free(&b);
			}
			entry_free(&a);
		}
		free(fixed);
		free(buf);
	}
}

/*
 * Every prefix of every sample fails, up to its closing brace, but one:
 * in a without-jq file, the prefix that ends at the first stray '}' is a
 * complete object. It must decode unrepaired.
 */
static void
test_entry_compat_truncated(void)
{
	const struct test_entry_compat *c;
	struct entry	 e;
	char		 path[PATH_MAX], err[TEST_ENTRY_ERRLEN], *buf, *close;
	size_t		 i, n, len, end, passed, at;

	for (i = 0; i < TEST_ENTRY_NCOMPAT; i++) {
		c = &test_entry_compat[i];
		snprintf(path, sizeof(path), "%s/%s/%s.json",
		    TEST_ENTRY_COMPAT, c->dir, c->name);
		REQUIRE((buf = test_entry_slurp(path, &len)) != NULL);
		buf[len] = '\0';
		REQUIRE((close = strrchr(buf, '}')) != NULL);
		end = (size_t)(close - buf) + 1;
		/* Without jq: "metadata":{...}} and what follows. */
		at = SIZE_MAX;
		if ((close = strstr(buf, "\"metadata\":{")) != NULL &&
		    (close = strstr(close, "}}")) != NULL)
			at = (size_t)(close - buf) + 2;
		passed = 0;
		for (n = 0; n < end; n++) {
			memset(&e, 0x5a, sizeof(e));
			if (test_entry_decode(ENTRY_JSON, buf, n, &e, err,
			    sizeof(err)) == -1) {
				CHECK(err[0] != '\0');
				CHECK(test_entry_zeroed(&e));
				continue;
			}
			passed++;
			CHECK_EQ_INT(n, at);
			CHECK(!e.repaired);
			entry_free(&e);
		}
		CHECK_EQ_INT(passed, strcmp(c->dir, "without-jq") == 0);
		for (n = end; n <= len; n++)
			if (test_entry_ok(__LINE__, ENTRY_JSON, buf, n,
			    &e) == 0)
				entry_free(&e);
		free(buf);
	}
}

static void
test_entry_json_rich(void)
{
	struct entry	 e;

	REQUIRE(JSON_OK(test_entry_rich, &e) == 0);
	CHECK_EQ_STR(e.sql, "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)");
	CHECK_EQ_STR(e.operation, "op\xc3\xa9");
	CHECK_EQ_STR(e.seq, "12_3");
	CHECK_EQ_STR(e.id, "k-1");
	CHECK_EQ_STR(e.created_at, "2026-01-01T00:00:00Z");
	CHECK_EQ_INT(e.priority, 4);
	CHECK_EQ_INT(e.retries, 2);
	CHECK(!e.repaired);
	REQUIRE(e.nparams == 6);
	CHECK_EQ_INT(e.params[0].type, ENTRY_PARAM_NULL);
	CHECK_EQ_INT(e.params[1].type, ENTRY_PARAM_INT);
	CHECK_EQ_INT(e.params[1].i, 1);
	CHECK_EQ_INT(e.params[2].type, ENTRY_PARAM_INT);
	CHECK_EQ_INT(e.params[2].i, 0);
	CHECK_EQ_INT(e.params[3].type, ENTRY_PARAM_INT);
	CHECK_EQ_INT(e.params[3].i, -42);
	CHECK_EQ_INT(e.params[4].type, ENTRY_PARAM_REAL);
	CHECK(e.params[4].d == 2.5e-3);
	CHECK_EQ_INT(e.params[5].type, ENTRY_PARAM_TEXT);
	CHECK_EQ_INT(e.params[5].len, 7);
	CHECK_EQ_STR(e.params[5].p, "a\"b\xf0\x9f\x98\x80");
	entry_free(&e);
	CHECK(test_entry_zeroed(&e));
	entry_free(&e);
	entry_free(NULL);
}

/* No proper prefix of a valid entry is valid; none crashes. */
static void
test_entry_json_truncated(void)
{
	size_t	 n;

	for (n = 0; n < sizeof(test_entry_rich) - 1; n++)
		test_entry_fail(__LINE__, ENTRY_JSON, test_entry_rich, n,
		    NULL);
	JSON_FAIL("{\"sql\":\"x\"",
	    "json: unexpected end of input at offset 10");
	JSON_FAIL("{\"sql\":\"x", "json: unexpected end of input at offset 9");
	JSON_FAIL("{\"sql\":", "json: unexpected end of input at offset 7");
	JSON_FAIL("{\"sql\":\"\\u12",
	    "json: unexpected end of input at offset 12");
	JSON_FAIL("{\"sql\":\"\\", "json: unexpected end of input at offset 9");
	JSON_FAIL("{\"sql\":\"x\",\"params\":[1,tr",
	    "json: invalid literal at offset 23");
}

/* SQL full of the characters the old line-based reader tripped on. */
static void
test_entry_json_sql_bytes(void)
{
	static const char *const in[] = {
		"{\"sql\":\"INSERT INTO t VALUES ('a, b: {c}', '}', '}},', "
		    "'\\\"q\\\"', ':', '\\\\n')\"}",
		"{\"sql\":\"SELECT '}},\\\"metadata\\\":{}},'\","
		    "\"metadata\":{}}",
		"  {  \"sql\"  :  \"SELECT\\r\\n1\"  }  \n",
	};
	static const char *const want[] = {
		("INSERT INTO t VALUES ('a, b: {c}', '}', '}},', '\"q\"', "
		    "':', '\\n')"),
		"SELECT '}},\"metadata\":{}},'",
		"SELECT\r\n1",
	};
	struct entry	 e;
	size_t		 i;

	for (i = 0; i < 3; i++) {
		if (JSON_OK(in[i], &e) != 0)
			continue;
		CHECK_EQ_STR(e.sql, want[i]);
		CHECK_EQ_INT(e.sql_len, strlen(want[i]));
		CHECK(!e.repaired);
		entry_free(&e);
	}
}

static void
test_entry_json_escapes(void)
{
	static const char want[] = "\"\\/\b\f\n\r\tA\xc3\xa9\xc3\xa9"
	    "\xe2\x82\xac\xef\xbf\xbf\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"
	    "\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	struct entry	 e;

	REQUIRE(JSON_OK("{\"sql\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041"
	    "\\u00e9\\u00E9\\u20ac\\uffff\\ud83d\\ude00\\uDBFF\\uDFFF\x7f"
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", &e) == 0);
	CHECK_EQ_STR(e.sql, want);
	CHECK_EQ_INT(e.sql_len, sizeof(want) - 1);
	entry_free(&e);

	/* A key spelled with escapes is still that key. */
	REQUIRE(JSON_OK("{\"s\\u0071l\":\"x\",\"\\u006fperation\":\"y\"}",
	    &e) == 0);
	CHECK_EQ_STR(e.sql, "x");
	CHECK_EQ_STR(e.operation, "y");
	entry_free(&e);

	JSON_FAIL("{\"sql\":\"\\x\"}", "json: invalid escape at offset 8");
	JSON_FAIL("{\"sql\":\"\\'\"}", "json: invalid escape at offset 8");
	JSON_FAIL("{\"sql\":\"\\U0041\"}", "json: invalid escape at offset 8");
	JSON_FAIL("{\"sql\":\"\\u12g4\"}",
	    "json: invalid \\u escape at offset 12");
	JSON_FAIL("{\"sql\":\"\\u12\"}",
	    "json: invalid \\u escape at offset 12");
	JSON_FAIL("{\"sql\":\"\\ud83d\"}",
	    "json: unpaired surrogate at offset 8");
	JSON_FAIL("{\"sql\":\"\\ude00\"}",
	    "json: unpaired surrogate at offset 8");
	JSON_FAIL("{\"sql\":\"a\\ud83dx\"}",
	    "json: unpaired surrogate at offset 9");
	JSON_FAIL("{\"sql\":\"\\ud83d\\u0041\"}",
	    "json: unpaired surrogate at offset 8");
	JSON_FAIL("{\"sql\":\"\\ud83d\\ud83d\"}",
	    "json: unpaired surrogate at offset 8");
	JSON_FAIL("{\"sql\":\"\\ud83d\\n\"}",
	    "json: unpaired surrogate at offset 8");
	JSON_FAIL("{\"sql\":\"\\ud83d\\ude0\"}",
	    "json: invalid \\u escape at offset 19");
}

static void
test_entry_json_nul(void)
{
	struct entry	 e;

	JSON_FAIL("{\"sql\":\"SELECT 1;\\u0000DROP TABLE t\"}",
	    "sql contains a NUL byte");
	JSON_FAIL("{\"sql\":\"x\",\"id\":\"a\\u0000b\"}",
	    "id contains a NUL byte");
	JSON_FAIL("{\"sql\":\"x\",\"operation\":\"\\u0000\"}",
	    "operation contains a NUL byte");
	JSON_FAIL("{\"sql\":\"x\",\"seq\":\"1\\u0000\"}",
	    "seq contains a NUL byte");
	JSON_FAIL("{\"sql\":\"x\",\"created_at\":\"\\u0000\"}",
	    "created_at contains a NUL byte");
	/* A raw NUL byte is a control character. */
	JSON_FAILN("{\"sql\":\"a\0b\"}",
	    "json: control character in string at offset 9");

	/* Params and ignored values carry their length: NUL is data. */
	REQUIRE(JSON_OK("{\"sql\":\"x\",\"params\":[\"a\\u0000b\"],"
	    "\"metadata\":\"\\u0000\"}", &e) == 0);
	REQUIRE(e.nparams == 1);
	CHECK_EQ_INT(e.params[0].type, ENTRY_PARAM_TEXT);
	CHECK_EQ_INT(e.params[0].len, 3);
	CHECK(memcmp(e.params[0].p, "a\0b", 4) == 0);
	entry_free(&e);
}

static void
test_entry_json_params(void)
{
	static const char *const bad[] = {
		"01", "-01", "+1", ".5", "1.", "1.e3", "1e", "1e+", "-", "--1",
		"0x10", "NaN", "Infinity", "-Infinity", "1.5e+-3", "00",
		"1_000", "\"\\u0041\"x", "tru", "nul", "True", "falsey",
	};
	struct entry	 e;
	char		 buf[512];
	size_t		 i;

	REQUIRE(JSON_OK("{\"sql\":\"x\",\"params\":[0,-0,1E5,1e-5,1.0e+2,"
	    "9223372036854775807,-9223372036854775808,9223372036854775808,"
	    "-9223372036854775809,123456789012345678901234567890,\"\","
	    "1e-400,0.1111111111111111111111111111111111111111111111111111"
	    "11111111111111111111,  true ,false,null]}", &e) == 0);
	REQUIRE(e.nparams == 16);
	CHECK_EQ_INT(e.params[0].type, ENTRY_PARAM_INT);
	CHECK_EQ_INT(e.params[0].i, 0);
	CHECK_EQ_INT(e.params[1].type, ENTRY_PARAM_INT);
	CHECK_EQ_INT(e.params[1].i, 0);
	CHECK_EQ_INT(e.params[2].type, ENTRY_PARAM_REAL);
	CHECK(e.params[2].d == 1e5);
	CHECK_EQ_INT(e.params[3].type, ENTRY_PARAM_REAL);
	CHECK(e.params[3].d == 1e-5);
	CHECK_EQ_INT(e.params[4].type, ENTRY_PARAM_REAL);
	CHECK(e.params[4].d == 100.0);
	CHECK_EQ_INT(e.params[5].type, ENTRY_PARAM_INT);
	CHECK(e.params[5].i == INT64_MAX);
	CHECK_EQ_INT(e.params[6].type, ENTRY_PARAM_INT);
	CHECK(e.params[6].i == INT64_MIN);
	CHECK_EQ_INT(e.params[7].type, ENTRY_PARAM_REAL);
	CHECK(e.params[7].d == 9223372036854775808.0);
	CHECK_EQ_INT(e.params[8].type, ENTRY_PARAM_REAL);
	CHECK(e.params[8].d == -9223372036854775809.0);
	CHECK_EQ_INT(e.params[9].type, ENTRY_PARAM_REAL);
	CHECK(e.params[9].d == 123456789012345678901234567890.0);
	CHECK_EQ_INT(e.params[10].type, ENTRY_PARAM_TEXT);
	CHECK(e.params[10].p != NULL && e.params[10].len == 0);
	CHECK_EQ_INT(e.params[11].type, ENTRY_PARAM_REAL);
	CHECK(e.params[11].d == 0.0);
	CHECK_EQ_INT(e.params[12].type, ENTRY_PARAM_REAL);
	CHECK(fabs(e.params[12].d - 1.0 / 9) < 1e-15);
	CHECK_EQ_INT(e.params[13].i, 1);
	CHECK_EQ_INT(e.params[14].i, 0);
	CHECK_EQ_INT(e.params[15].type, ENTRY_PARAM_NULL);
	entry_free(&e);

	REQUIRE(JSON_OK("{\"sql\":\"x\",\"params\":[ ]}", &e) == 0);
	CHECK(e.nparams == 0 && e.params == NULL);
	entry_free(&e);

	JSON_FAIL("{\"sql\":\"x\",\"params\":[1,[2]]}",
	    "params[1]: nested arrays are not allowed");
	JSON_FAIL("{\"sql\":\"x\",\"params\":[1,2,3,{}]}",
	    "params[3]: objects are not allowed");
	JSON_FAIL("{\"sql\":\"x\",\"params\":[1e400]}",
	    "params[0]: number out of range");
	JSON_FAIL("{\"sql\":\"x\",\"params\":[0,-1e400]}",
	    "params[1]: number out of range");
	JSON_FAIL("{\"sql\":\"x\",\"params\":[1,]}",
	    "json: expected a value at offset 23");
	JSON_FAIL("{\"sql\":\"x\",\"params\":[1 2]}",
	    "json: expected ',' or ']' at offset 23");
	JSON_FAIL("{\"sql\":\"x\",\"params\":[,1]}",
	    "json: expected a value at offset 21");

	/* The JSON number grammar, strictly. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf),
		    "{\"sql\":\"x\",\"params\":[%s]}", bad[i]);
		JSON_FAIL(buf, NULL);
		snprintf(buf, sizeof(buf),
		    "{\"sql\":\"x\",\"other\":%s}", bad[i]);
		JSON_FAIL(buf, NULL);
	}
	JSON_FAIL("{\"sql\":\"x\",\"params\":[01]}",
	    "json: invalid number at offset 22");
	JSON_FAIL("{\"sql\":\"x\",\"params\":[1.]}",
	    "json: invalid number at offset 23");
}

/* ENTRY_MAX_PARAMS values fit; one more is refused. */
static void
test_entry_json_params_max(void)
{
	struct entry	 e;
	char		*buf, *p;
	size_t		 i, n;

	for (n = ENTRY_MAX_PARAMS; n <= ENTRY_MAX_PARAMS + 1; n++) {
		REQUIRE((buf = malloc(64 + 2 * n)) != NULL);
		p = buf + sprintf(buf, "{\"sql\":\"x\",\"params\":[");
		for (i = 0; i < n; i++) {
			*p++ = (char)('0' + i % 10);
			*p++ = i + 1 < n ? ',' : ']';
		}
		strcpy(p, "}");
		if (n == ENTRY_MAX_PARAMS) {
			if (JSON_OK(buf, &e) == 0) {
				CHECK_EQ_INT(e.nparams, n);
				CHECK_EQ_INT(e.params[n - 1].i, (n - 1) % 10);
				entry_free(&e);
			}
		} else
			JSON_FAIL(buf, "params: more than 32766 values");
		free(buf);
	}
}

static void
test_entry_json_defaults(void)
{
	struct entry	 e;

	REQUIRE(JSON_OK("{\"sql\":\"SELECT 1\"}", &e) == 0);
	CHECK_EQ_STR(e.sql, "SELECT 1");
	CHECK_EQ_INT(e.sql_len, 8);
	CHECK_EQ_STR(e.operation, "generic");
	CHECK(e.id == NULL && e.seq == NULL && e.created_at == NULL);
	CHECK(e.params == NULL && e.nparams == 0);
	CHECK_EQ_INT(e.priority, 0);
	CHECK_EQ_INT(e.retries, 0);
	CHECK(!e.repaired);
	entry_free(&e);
}

static void
test_entry_json_fields(void)
{
	static const struct {
		const char	*member;
		int		 priority;
	} prio[] = {
		{ "\"priority\":1", 1 }, { "\"priority\":10", 10 },
		{ "\"priority\":0", 0 }, { "\"priority\":11", 0 },
		{ "\"priority\":-3", 0 }, { "\"priority\":2.5", 0 },
		{ "\"priority\":5e0", 0 },
		{ "\"priority\":99999999999999999999999", 0 },
		{ "\"priority\":\"7\"", 7 }, { "\"priority\":\"007\"", 7 },
		{ "\"priority\":\"10\"", 10 }, { "\"priority\":\"11\"", 0 },
		{ "\"priority\":\"\"", 0 }, { "\"priority\":\"high\"", 0 },
		{ "\"priority\":\" 7\"", 0 }, { "\"priority\":\"-7\"", 0 },
		{ "\"priority\":\"00000000000000000000000000000000007\"", 0 },
		{ "\"priority\":\"99999999999999999999\"", 0 },
		{ "\"priority\":3,\"priority\":\"x\"", 0 },
		{ "\"priority\":\"x\",\"priority\":3", 3 },
	};
	struct entry	 e;
	char		 buf[256];
	size_t		 i;

	for (i = 0; i < sizeof(prio) / sizeof(prio[0]); i++) {
		if (JSON_OK(test_entry_with(buf, sizeof(buf), prio[i].member),
		    &e) != 0)
			continue;
		if (e.priority != prio[i].priority)
			fprintf(stderr, "%s\n", prio[i].member);
		CHECK_EQ_INT(e.priority, prio[i].priority);
		entry_free(&e);
	}

	REQUIRE(JSON_OK("{\"sql\":\"x\",\"id\":42,\"seq\":1.50e3,"
	    "\"retries\":9223372036854775807}", &e) == 0);
	CHECK_EQ_STR(e.id, "42");
	CHECK_EQ_STR(e.seq, "1.50e3");
	CHECK(e.retries == INT64_MAX);
	entry_free(&e);
	REQUIRE(JSON_OK("{\"sql\":\"x\",\"id\":-7,\"seq\":\"s\"}", &e) == 0);
	CHECK_EQ_STR(e.id, "-7");
	CHECK_EQ_STR(e.seq, "s");
	entry_free(&e);
	REQUIRE(JSON_OK("{\"sql\":\"x\",\"id\":123456789012345678901234567890}",
	    &e) == 0);
	CHECK_EQ_STR(e.id, "123456789012345678901234567890");
	entry_free(&e);
	REQUIRE(JSON_OK("{\"sql\":\"x\",\"operation\":\"\"}", &e) == 0);
	CHECK_EQ_STR(e.operation, "");
	entry_free(&e);

	JSON_FAIL("{\"sql\":\"x\",\"id\":\"\"}", "id is empty");
	JSON_FAIL("{\"sql\":\"x\",\"id\":1.5}",
	    "id must be a string or an integer");
	JSON_FAIL("{\"sql\":\"x\",\"id\":1e3}",
	    "id must be a string or an integer");
	JSON_FAIL("{\"sql\":\"x\",\"id\":true}",
	    "id must be a string or an integer");
	JSON_FAIL("{\"sql\":\"x\",\"seq\":null}",
	    "seq must be a string or a number");
	JSON_FAIL("{\"sql\":\"x\",\"seq\":[]}",
	    "seq must be a string or a number");
	JSON_FAIL("{\"sql\":\"x\",\"operation\":1}",
	    "operation must be a string");
	JSON_FAIL("{\"sql\":\"x\",\"created_at\":{}}",
	    "created_at must be a string");
	JSON_FAIL("{\"sql\":\"x\",\"params\":{}}", "params must be an array");
	JSON_FAIL("{\"sql\":\"x\",\"params\":\"[]\"}",
	    "params must be an array");
	JSON_FAIL("{\"sql\":\"x\",\"params\":null}", "params must be an array");
	JSON_FAIL("{\"sql\":\"x\",\"priority\":true}",
	    "priority must be a number or a string");
	JSON_FAIL("{\"sql\":\"x\",\"priority\":null}",
	    "priority must be a number or a string");
	JSON_FAIL("{\"sql\":\"x\",\"priority\":[5]}",
	    "priority must be a number or a string");
	JSON_FAIL("{\"sql\":\"x\",\"retries\":-1}",
	    "retries must be a non-negative integer");
	JSON_FAIL("{\"sql\":\"x\",\"retries\":1.0}",
	    "retries must be a non-negative integer");
	JSON_FAIL("{\"sql\":\"x\",\"retries\":\"1\"}",
	    "retries must be a non-negative integer");
	JSON_FAIL("{\"sql\":\"x\",\"retries\":9223372036854775808}",
	    "retries must be a non-negative integer");
	JSON_FAIL("{\"sql\":\"x\",\"retries\":}",
	    "json: expected a value at offset 21");
}

static void
test_entry_json_sql_required(void)
{
	JSON_FAIL("{}", "sql is missing");
	JSON_FAIL(" { } ", "sql is missing");
	JSON_FAIL("{\"operation\":\"x\",\"SQL\":\"x\"}", "sql is missing");
	JSON_FAIL("{\"sql\\u0000\":\"x\"}", "sql is missing");
	JSON_FAIL("{\"sql\":\"\"}", "sql is empty");
	JSON_FAIL("{\"sql\":\" \\n\\t\\r\\f\\u000b \"}", "sql is empty");
	JSON_FAIL("{\"sql\":1}", "sql must be a string");
	JSON_FAIL("{\"sql\":null}", "sql must be a string");
	JSON_FAIL("{\"sql\":[\"SELECT 1\"]}", "sql must be a string");
	JSON_FAIL("{\"sql\":{\"a\":1}}", "sql must be a string");
	JSON_FAIL("{\"sql\":true}", "sql must be a string");
	JSON_FAIL("{\"sql\": }", "json: expected a value at offset 8");
	JSON_FAIL("{\"sql\" \"x\"}", "json: expected ':' at offset 7");
	JSON_FAIL("{sql:\"x\"}", "json: expected a string key at offset 1");
	JSON_FAIL("{\"sql\":\"x\",}",
	    "json: expected a string key at offset 11");
	JSON_FAIL("{\"sql\":\"x\" \"a\":1}",
	    "json: expected ',' or '}' at offset 11");
	JSON_FAIL("{'sql':'x'}", "json: expected a string key at offset 1");
}

static void
test_entry_json_not_object(void)
{
	static const char *const in[] = {
		"[]", "[{\"sql\":\"x\"}]", "\"sql\"", "1", "null", "true",
		"x", "}", "\xef\xbb\xbf\xef\xbb\xbf{\"sql\":\"x\"}",
		"\xef\xbb{\"sql\":\"x\"}",
	};
	size_t	 i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		JSON_FAIL(in[i], "json: top level must be an object");
	JSON_FAIL("", "empty entry");
	JSON_FAIL(" \t\r\n ", "empty entry");
	JSON_FAIL("\xef\xbb\xbf", "empty entry");
	JSON_FAIL("\xef\xbb\xbf \n", "empty entry");
	test_entry_fail(__LINE__, ENTRY_JSON, NULL, 0, "empty entry");
	test_entry_fail(__LINE__, ENTRY_MSGPACK, NULL, 0, "empty entry");
}

/* A leading UTF-8 byte order mark is skipped, only one and only first. */
static void
test_entry_json_bom(void)
{
	struct entry	 e;

	REQUIRE(JSON_OK("\xef\xbb\xbf{\"sql\":\"x\"}", &e) == 0);
	CHECK_EQ_STR(e.sql, "x");
	CHECK(!e.repaired);
	entry_free(&e);
	JSON_FAIL(" \xef\xbb\xbf{\"sql\":\"x\"}",
	    "json: top level must be an object");
	JSON_FAIL("{\"sql\":\"x\"}\xef\xbb\xbf",
	    "json: trailing data at offset 11");
}

static void
test_entry_json_trailing(void)
{
	struct entry	 e;

	REQUIRE(JSON_OK("{\"sql\":\"x\"} \t\r\n", &e) == 0);
	entry_free(&e);
	JSON_FAIL("{\"sql\":\"x\"} x", "json: trailing data at offset 12");
	JSON_FAIL("{\"sql\":\"x\"}}", "json: trailing data at offset 11");
	JSON_FAIL("{\"sql\":\"x\"}{}", "json: trailing data at offset 11");
	JSON_FAIL("{\"sql\":\"x\"},", "json: trailing data at offset 11");
	JSON_FAILN("{\"sql\":\"x\"}\0", "json: trailing data at offset 11");
	JSON_FAIL("{\"sql\":\"x\"}\f", "json: trailing data at offset 11");
	JSON_FAIL("{\"sql\":\"x\"}\v", "json: trailing data at offset 11");
}

/* The repair takes exactly the old library's defect. */
static void
test_entry_json_repair(void)
{
	static const char *const fixed[] = {
		"{\"metadata\":{}},\"sql\":\"x\"}",
		"{\"sql\":\"x\",\"metadata\":{\"a\":1} } \n},\"retries\":2}",
		"{\"sql\":\"x\",\"metadata\":null},\"seq\":\"1\"}",
		"{\"sql\":\"x\",\"metadata\":{}}}}}}},\"seq\":\"1\"}",
		("{\"sql\":\"x\",\"metadata\":{\"session_id\": \"abc\"}}}},"
		    "\"created_at\":\"t\",\"retries\":0}"),
		"{\"sql\":\"x\",\"metadata\":[]} ,\"seq\":\"1\"}",
		"{\"sql\":\"x\",\"metadata\":{\"a\":{}}},\"seq\":\"1\"}",
		("{\"sql\":\"x\",\"metadata\":{}},\"metadata\":{}},"
		    "\"seq\":\"1\"}"),
	};
	static const char *const plain[] = {
		"{\"sql\":\"x\",\"metadata\":{}}",
		"{\"sql\":\"x\",\"metadata\":{} }",
		"{\"metadata\":{\"a\":\"}},\"},\"sql\":\"x\"}",
		"{\"metadata\":\"}},\",\"sql\":\"x\"}",
		"{\"sql\":\"}},\",\"metadata\":{}}",
	};
	static const struct {
		const char	*in;
		const char	*err;
	} broken[] = {
		{ "{\"sql\":\"x\"}},\"operation\":\"y\"}",
		    "json: trailing data at offset 11" },
		{ "{\"operation\":\"y\"}},\"sql\":\"x\"}",
		    "json: trailing data at offset 17" },
		{ "{\"sql\":\"x\",\"metadata\":{}}}",
		    "json: trailing data at offset 25" },
		{ "{\"sql\":\"x\",\"metadata\":{}} }",
		    "json: trailing data at offset 26" },
		{ "{\"sql\":\"x\",\"metadata\":{}},}",
		    "json: expected a string key at offset 26" },
		{ "{\"sql\":\"x\",\"metadata\":{}},,\"seq\":\"1\"}",
		    "json: expected a string key at offset 26" },
		{ "{\"sql\":\"x\",\"metadata\":{}}]",
		    "json: trailing data at offset 25" },
		{ "{\"sql\":\"x\",\"metadata\":{}]},\"seq\":\"1\"}",
		    "json: expected ',' or '}' at offset 24" },
		{ "{\"sql\":\"x\",\"metadata\":{}} x },\"seq\":\"1\"}",
		    "json: trailing data at offset 26" },
		{ "{\"sql\":\"x\",\"x\":{\"metadata\":{}}},\"seq\":\"1\"}",
		    "json: trailing data at offset 31" },
		{ "{\"sql\":\"x\",\"meta\":{}},\"seq\":\"1\"}",
		    "json: trailing data at offset 21" },
		{ "{\"sql\":\"x\",\"params\":[1]},\"seq\":\"1\"}",
		    "json: trailing data at offset 24" },
		{ "{\"sql\":\"x\",\"operation\":\"y\"},\"seq\":\"1\"}",
		    "json: trailing data at offset 27" },
		{ "{\"sql\":\"x\",\"metadata\":{\"a\":{}}}}",
		    "json: trailing data at offset 31" },
		{ "{\"sql\":\"x\",\"metadata\":{\"a\":1}},\"b\":1}}",
		    "json: trailing data at offset 37" },
		{ "{\"sql\":\"x\",\"metadata\":[1]]},\"seq\":\"1\"}",
		    "json: expected ',' or '}' at offset 25" },
		{ "[{\"metadata\":{}},\"sql\":\"x\"}]",
		    "json: top level must be an object" },
	};
	struct entry	 e;
	size_t		 i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (JSON_OK(fixed[i], &e) != 0)
			continue;
		CHECK(e.repaired);
		CHECK_EQ_STR(e.sql, "x");
		entry_free(&e);
	}
	REQUIRE(JSON_OK(fixed[1], &e) == 0);
	CHECK_EQ_INT(e.retries, 2);
	entry_free(&e);
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (JSON_OK(plain[i], &e) != 0)
			continue;
		CHECK(!e.repaired);
		entry_free(&e);
	}
	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++)
		JSON_FAIL(broken[i].in, broken[i].err);
}

static void
test_entry_json_utf8(void)
{
	static const char *const bad[] = {
		"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\x80",
		"\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
		"\xf8\x88\x80\x80\x80", "\xfe", "\xff", "\x80", "\xbf",
		"\xe2\x82", "\xe2\x28\xa1", "\xc3\x28", "\xf0\x9f\x98",
		"a\xc3",
	};
	struct entry	 e;
	char		 buf[128];
	size_t		 i;

	REQUIRE(JSON_OK("{\"sql\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
	    "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}",
	    &e) == 0);
	CHECK_EQ_INT(e.sql_len, 2 + 2 + 3 + 3 + 3 + 3 + 4 + 4);
	entry_free(&e);
	/* Not UTF-8: kept byte for byte, in sql, params and skipped values
	 * alike (entries carry bytes, as MessagePack ones do). */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"sql\":\"%s\",\"m\":[\"%s\"],"
		    "\"params\":[\"%s\"]}", bad[i], bad[i], bad[i]);
		if (JSON_OK(buf, &e) != 0) {
			hqtest_failures++;
			continue;
		}
		CHECK_EQ_INT(e.sql_len, strlen(bad[i]));
		CHECK(memcmp(e.sql, bad[i], e.sql_len) == 0);
		CHECK_EQ_INT(e.nparams, 1);
		CHECK_EQ_INT(e.params[0].len, strlen(bad[i]));
		CHECK(memcmp(e.params[0].p, bad[i], e.params[0].len) == 0);
		entry_free(&e);
	}
	REQUIRE(JSON_OK("{\"sql\":\"ab\xed\xa0\x80\"}", &e) == 0);
	CHECK_EQ_INT(e.sql_len, 5);
	entry_free(&e);
	JSON_FAIL("{\"sql\":\"ab\xc3\"", "json: unexpected end of input at offset 12");
	JSON_FAIL("{\"sql\":\"ab\xc3", "json: unexpected end of input at offset 11");
	/* Outside strings only ASCII structure is valid. */
	JSON_FAIL("{\xc3\xa9:1}", "json: expected a string key at offset 1");
	JSON_FAIL("{\"sql\":\"x\",\"a\":\xc3\xa9}",
	    "json: expected a value at offset 15");
}

/*
 * What hq's producers write (pbuf_json_bytes) the reader gives back byte
 * for byte, whatever the bytes: random strings, biased towards UTF-8 lead
 * and continuation bytes, quotes, backslashes and control characters, as
 * sql (no NUL there) and as a parameter (NULs too). pbuf_json_str, for
 * documents others parse, stays strict: its output is UTF-8.
 */
static void
test_entry_json_bytes_roundtrip(void)
{
	static const unsigned char pick[] = {
		0x00, 0x01, 0x1f, '"', '\\', '/', 'a', 0x7f, 0x80, 0xbf, 0xc0,
		0xc3, 0xa9, 0xe2, 0x9c, 0x93, 0xed, 0xa0, 0xf0, 0x9f, 0xf4,
		0xf5, 0xfe, 0xff,
	};
	struct entry	 e;
	struct pbuf	 b = { 0 };
	char		 s[48], p[48];
	uint32_t	 x = 2463534242u;
	size_t		 slen, plen, k;
	int		 i;

	for (i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		slen = 1 + x % (sizeof(s) - 1);
		plen = (x >> 8) % sizeof(p);
		for (k = 0; k < slen; k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			s[k] = (char)(x & 1 ? pick[x % sizeof(pick)] : x >> 8);
			if (s[k] == '\0')
				s[k] = 'x';
		}
		s[0] = 'x';	/* blank SQL is refused */
		for (k = 0; k < plen; k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			p[k] = (char)(x & 1 ? pick[x % sizeof(pick)] : x >> 8);
		}
		b.len = 0;
		pbuf_add(&b, "{\"sql\":", 7);
		pbuf_json_bytes(&b, s, slen);
		pbuf_add(&b, ",\"params\":[", 11);
		pbuf_json_bytes(&b, p, plen);
		pbuf_add(&b, "]}", 2);
		if (test_entry_ok(__LINE__, ENTRY_JSON, b.data, b.len, &e) != 0)
			break;
		CHECK_EQ_INT(e.sql_len, slen);
		CHECK(memcmp(e.sql, s, slen) == 0);
		CHECK_EQ_INT(e.params[0].len, plen);
		CHECK(plen == 0 || memcmp(e.params[0].p, p, plen) == 0);
		entry_free(&e);
		s[slen] = '\0';
		b.len = 0;
		pbuf_json_str(&b, s);
		CHECK(utf8_valid(b.data, b.len));
	}
	pbuf_free(&b);
}

static void
test_entry_json_control(void)
{
	struct entry	 e;
	char		 buf[64];
	int		 c;

	for (c = 1; c < 0x20; c++) {
		snprintf(buf, sizeof(buf), "{\"sql\":\"a%cb\"}", c);
		JSON_FAIL(buf, "json: control character in string at offset 9");
		snprintf(buf, sizeof(buf), "{\"sql\":\"x\",\"k%c\":1}", c);
		JSON_FAIL(buf,
		    "json: control character in string at offset 13");
	}
	REQUIRE(JSON_OK("{\"sql\":\"a\x7f\"}", &e) == 0);
	CHECK_EQ_STR(e.sql, "a\x7f");
	entry_free(&e);
	/* White space outside strings is only the four RFC 8259 names. */
	REQUIRE(JSON_OK("\t\r\n {\t\r\n \"sql\"\t\r\n :\t\r\n \"x\"\t\r\n }",
	    &e) == 0);
	entry_free(&e);
	JSON_FAIL("{\f\"sql\":\"x\"}",
	    "json: expected a string key at offset 1");
	JSON_FAIL("{\"sql\":\v\"x\"}", "json: expected a value at offset 7");
}

/* Unknown keys are ignored but must be valid JSON; last duplicate wins. */
static void
test_entry_json_unknown_and_duplicates(void)
{
	struct entry	 e;

	REQUIRE(JSON_OK("{\"x\":[1,{\"a\":[true,false,null,\"s\",-1.5e3,"
	    "{}]}],\"sql\":\"q\",\"SQL\":5,\"metadata\":{\"sql\":7},"
	    "\"a_very_long_key_name_that_is_longer_than_any_known_one\":"
	    "{\"\":\"\"}}", &e) == 0);
	CHECK_EQ_STR(e.sql, "q");
	entry_free(&e);
	JSON_FAIL("{\"sql\":\"x\",\"o\":[1,]}",
	    "json: expected a value at offset 18");
	JSON_FAIL("{\"sql\":\"x\",\"o\":{\"a\" 1}}",
	    "json: expected ':' at offset 20");
	JSON_FAIL("{\"sql\":\"x\",\"o\":{1:2}}",
	    "json: expected a string key at offset 16");
	JSON_FAIL("{\"sql\":\"x\",\"o\":{\"a\":1,}}",
	    "json: expected a string key at offset 22");
	JSON_FAIL("{\"sql\":\"x\",\"o\":[1}",
	    "json: expected ',' or ']' at offset 17");
	JSON_FAIL("{\"sql\":\"x\",\"o\":{\"a\":1]}",
	    "json: expected ',' or '}' at offset 21");
	JSON_FAIL("{\"sql\":\"x\",\"o\":\"\x01\"}",
	    "json: control character in string at offset 16");
	JSON_FAIL("{\"sql\":\"x\",\"metadata\":[1,2}",
	    "json: expected ',' or ']' at offset 26");

	REQUIRE(JSON_OK("{\"sql\":\"a\",\"sql\":\"b\",\"params\":[1,2],"
	    "\"params\":[\"p\"],\"operation\":\"o1\",\"operation\":\"o2\","
	    "\"id\":1,\"id\":\"two\",\"retries\":1,\"retries\":3}", &e) == 0);
	CHECK_EQ_STR(e.sql, "b");
	CHECK_EQ_STR(e.operation, "o2");
	CHECK_EQ_STR(e.id, "two");
	CHECK_EQ_INT(e.retries, 3);
	REQUIRE(e.nparams == 1);
	CHECK_EQ_STR(e.params[0].p, "p");
	entry_free(&e);
	REQUIRE(JSON_OK("{\"sql\":\"a\",\"params\":[1,2],\"params\":[]}",
	    &e) == 0);
	CHECK(e.nparams == 0 && e.params == NULL);
	entry_free(&e);
	/* Every occurrence must have the right type, not just the last. */
	JSON_FAIL("{\"sql\":1,\"sql\":\"b\"}", "sql must be a string");
	JSON_FAIL("{\"sql\":\"b\",\"sql\":1}", "sql must be a string");
	JSON_FAIL("{\"sql\":\"b\",\"params\":[[]],\"params\":[]}",
	    "params[0]: nested arrays are not allowed");
	/* Only the kept value is checked for content. */
	REQUIRE(JSON_OK("{\"sql\":\"\",\"sql\":\"b\",\"id\":\"\",\"id\":\"i\"}",
	    &e) == 0);
	CHECK_EQ_STR(e.sql, "b");
	entry_free(&e);
	JSON_FAIL("{\"sql\":\"b\",\"sql\":\"  \"}", "sql is empty");
}

static void
test_entry_json_depth(void)
{
	struct entry	 e;
	char		*buf, *p;
	size_t		 i, n;

	REQUIRE((buf = malloc(10 * 10000 + 64)) != NULL);

	memset(buf, '[', 10000);
	buf[10000] = '\0';
	JSON_FAIL(buf, "json: top level must be an object");

	p = buf + sprintf(buf, "{\"sql\":\"x\",\"metadata\":");
	memset(p, '[', 10000);
	p[10000] = '\0';
	JSON_FAIL(buf, "json: nesting deeper than 64 at offset 86");
	p = buf + sprintf(buf, "{\"sql\":\"x\",\"o\":");
	for (i = 0; i < 10000; i++)
		p += sprintf(p, "{\"a\":");
	JSON_FAIL(buf, NULL);
	p = buf + sprintf(buf, "{\"sql\":\"x\",\"params\":");
	memset(p, '[', 10000);
	p[10000] = '\0';
	JSON_FAIL(buf, "params[0]: nested arrays are not allowed");

	/* The limit itself: 64 levels pass, 65 fail, closed or not. */
	for (n = ENTRY_MAX_DEPTH; n <= ENTRY_MAX_DEPTH + 1; n++) {
		p = buf + sprintf(buf, "{\"sql\":\"x\",\"metadata\":");
		for (i = 0; i < n; i++) {
			if (i % 2 == 0)
				p += sprintf(p, "{\"k\":");
			else
				*p++ = '[';
		}
		for (i = n; i-- > 0;)
			*p++ = i % 2 ? ']' : '}';
		strcpy(p, "}");
		if (n == ENTRY_MAX_DEPTH) {
			if (JSON_OK(buf, &e) == 0)
				entry_free(&e);
		} else
			JSON_FAIL(buf, NULL);
	}
	free(buf);
}

static void
test_entry_json_errbuf(void)
{
	struct entry	 e;
	char		 err[8];

	memset(err, 'x', sizeof(err));
	CHECK_EQ_INT(entry_decode(ENTRY_JSON, "{}", 2, &e, err, sizeof(err)),
	    -1);
	CHECK_EQ_STR(err, "sql is ");
	memset(err, 'x', sizeof(err));
	CHECK_EQ_INT(entry_decode(ENTRY_JSON, "{}", 2, &e, err, 1), -1);
	CHECK_EQ_INT(err[0], '\0');
	CHECK_EQ_INT(err[1], 'x');
	CHECK_EQ_INT(entry_decode(ENTRY_JSON, "{}", 2, &e, NULL, 0), -1);
	CHECK(test_entry_zeroed(&e));
	memset(err, 'x', sizeof(err));
	CHECK_EQ_INT(entry_decode(ENTRY_JSON, "{\"sql\":\"x\"}", 11, &e, err,
	    sizeof(err)), 0);
	CHECK_EQ_INT(err[0], '\0');
	entry_free(&e);
	CHECK_EQ_INT(entry_decode(ENTRY_JSON, "{\"sql\":\"x\"}", 11, &e, NULL,
	    0), 0);
	entry_free(&e);
	test_entry_fail(__LINE__, (enum entry_format)7, "{}", 2,
	    "unknown entry format 7");
}

/* Every type, every known key, against the same entry in JSON. */
static void
test_entry_mp_full(void)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct entry	 e, j;

	test_entry_pk_start(&sb, &pk, 9);
	test_entry_pk_str(&pk, "params");
	msgpack_pack_array(&pk, 12);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	msgpack_pack_false(&pk);
	msgpack_pack_int64(&pk, -42);
	msgpack_pack_uint64(&pk, INT64_MAX);
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_float(&pk, 0.5f);
	msgpack_pack_double(&pk, 2.5e-3);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "a\0b", 3);
	msgpack_pack_bin(&pk, 4);
	msgpack_pack_bin_body(&pk, "\0\1\xff\0", 4);
	msgpack_pack_str(&pk, 0);
	msgpack_pack_bin(&pk, 0);
	test_entry_pk_str(&pk, "operation");
	test_entry_pk_str(&pk, "op\xc3\xa9");
	test_entry_pk_str(&pk, "id");
	test_entry_pk_str(&pk, "k-1");
	test_entry_pk_str(&pk, "seq");
	test_entry_pk_str(&pk, "12_3");
	test_entry_pk_str(&pk, "created_at");
	test_entry_pk_str(&pk, "2026-01-01T00:00:00Z");
	test_entry_pk_str(&pk, "priority");
	msgpack_pack_int(&pk, 4);
	test_entry_pk_str(&pk, "retries");
	msgpack_pack_int(&pk, 2);
	test_entry_pk_str(&pk, "metadata");
	msgpack_pack_map(&pk, 2);
	test_entry_pk_str(&pk, "a");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_ext(&pk, 2, 5);
	msgpack_pack_ext_body(&pk, "zz", 2);
	msgpack_pack_map(&pk, 0);
	msgpack_pack_int(&pk, 3);	/* a non-string key: ignored */
	test_entry_pk_str(&pk, "sql");
	test_entry_pk_str(&pk, "unknown");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_bin(&pk, 1);
	msgpack_pack_bin_body(&pk, "x", 1);

	if (MP_OK(&sb, &e) == 0) {
		CHECK_EQ_STR(e.sql, "SELECT 1");
		CHECK_EQ_STR(e.operation, "op\xc3\xa9");
		CHECK_EQ_STR(e.id, "k-1");
		CHECK_EQ_STR(e.seq, "12_3");
		CHECK_EQ_STR(e.created_at, "2026-01-01T00:00:00Z");
		CHECK_EQ_INT(e.priority, 4);
		CHECK_EQ_INT(e.retries, 2);
		CHECK(!e.repaired);
		REQUIRE(e.nparams == 12);
		CHECK_EQ_INT(e.params[0].type, ENTRY_PARAM_NULL);
		CHECK_EQ_INT(e.params[1].type, ENTRY_PARAM_INT);
		CHECK_EQ_INT(e.params[1].i, 1);
		CHECK_EQ_INT(e.params[2].type, ENTRY_PARAM_INT);
		CHECK_EQ_INT(e.params[2].i, 0);
		CHECK_EQ_INT(e.params[3].i, -42);
		CHECK(e.params[4].type == ENTRY_PARAM_INT &&
		    e.params[4].i == INT64_MAX);
		CHECK(e.params[5].type == ENTRY_PARAM_INT &&
		    e.params[5].i == INT64_MIN);
		CHECK(e.params[6].type == ENTRY_PARAM_REAL &&
		    e.params[6].d == 0.5);
		CHECK(e.params[7].type == ENTRY_PARAM_REAL &&
		    e.params[7].d == 2.5e-3);
		CHECK(e.params[8].type == ENTRY_PARAM_TEXT &&
		    e.params[8].len == 3 &&
		    memcmp(e.params[8].p, "a\0b", 4) == 0);
		CHECK(e.params[9].type == ENTRY_PARAM_BLOB &&
		    e.params[9].len == 4 &&
		    memcmp(e.params[9].p, "\0\1\xff\0", 5) == 0);
		CHECK(e.params[10].type == ENTRY_PARAM_TEXT &&
		    e.params[10].len == 0 && e.params[10].p != NULL);
		CHECK(e.params[11].type == ENTRY_PARAM_BLOB &&
		    e.params[11].len == 0 && e.params[11].p != NULL);

		/* The same entry in JSON decodes the same. */
		if (JSON_OK(test_entry_rich, &j) == 0) {
			CHECK_EQ_STR(e.operation, j.operation);
			CHECK_EQ_STR(e.id, j.id);
			CHECK_EQ_STR(e.seq, j.seq);
			CHECK_EQ_STR(e.created_at, j.created_at);
			CHECK_EQ_INT(e.priority, j.priority);
			CHECK_EQ_INT(e.retries, j.retries);
			entry_free(&j);
		}
		entry_free(&e);
	}
	msgpack_sbuffer_destroy(&sb);
}

static void
test_entry_mp_fields(void)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct entry	 e;

	/* Defaults. */
	test_entry_pk_start(&sb, &pk, 0);
	if (MP_OK(&sb, &e) == 0) {
		CHECK_EQ_STR(e.operation, "generic");
		CHECK(e.id == NULL && e.seq == NULL && e.created_at == NULL);
		CHECK(e.params == NULL && e.nparams == 0);
		CHECK(e.priority == 0 && e.retries == 0 && !e.repaired);
		entry_free(&e);
	}
	msgpack_sbuffer_destroy(&sb);

	/* Numbers as id and seq keep their text; duplicates: last wins. */
	test_entry_pk_start(&sb, &pk, 7);
	test_entry_pk_str(&pk, "id");
	msgpack_pack_int64(&pk, -7);
	test_entry_pk_str(&pk, "seq");
	msgpack_pack_uint64(&pk, UINT64_MAX);
	test_entry_pk_str(&pk, "priority");
	test_entry_pk_str(&pk, "09");
	test_entry_pk_str(&pk, "retries");
	msgpack_pack_uint64(&pk, INT64_MAX);
	test_entry_pk_str(&pk, "sql");
	test_entry_pk_str(&pk, "SELECT 2");
	test_entry_pk_str(&pk, "params");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	test_entry_pk_str(&pk, "params");
	msgpack_pack_array(&pk, 0);
	if (MP_OK(&sb, &e) == 0) {
		CHECK_EQ_STR(e.id, "-7");
		CHECK_EQ_STR(e.seq, "18446744073709551615");
		CHECK_EQ_INT(e.priority, 9);
		CHECK(e.retries == INT64_MAX);
		CHECK_EQ_STR(e.sql, "SELECT 2");
		CHECK(e.params == NULL && e.nparams == 0);
		entry_free(&e);
	}
	msgpack_sbuffer_destroy(&sb);

	test_entry_pk_start(&sb, &pk, 3);
	test_entry_pk_str(&pk, "id");
	msgpack_pack_uint64(&pk, 42);
	test_entry_pk_str(&pk, "seq");
	msgpack_pack_double(&pk, 1.5);
	test_entry_pk_str(&pk, "priority");
	msgpack_pack_double(&pk, 3.0);
	if (MP_OK(&sb, &e) == 0) {
		CHECK_EQ_STR(e.id, "42");
		CHECK_EQ_STR(e.seq, "1.5");
		CHECK_EQ_INT(e.priority, 0);
		entry_free(&e);
	}
	msgpack_sbuffer_destroy(&sb);

	test_entry_pk_start(&sb, &pk, 1);
	test_entry_pk_str(&pk, "priority");
	msgpack_pack_int(&pk, -3);
	if (MP_OK(&sb, &e) == 0) {
		CHECK_EQ_INT(e.priority, 0);
		entry_free(&e);
	}
	msgpack_sbuffer_destroy(&sb);
	test_entry_pk_start(&sb, &pk, 1);
	test_entry_pk_str(&pk, "priority");
	msgpack_pack_int(&pk, 11);
	if (MP_OK(&sb, &e) == 0) {
		CHECK_EQ_INT(e.priority, 0);
		entry_free(&e);
	}
	msgpack_sbuffer_destroy(&sb);
}

/* Packs {"sql":"SELECT 1", key: <one value from how>} and expects err. */
static void
test_entry_mp_expect(int line, const char *key, int how, const char *err)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	test_entry_pk_start(&sb, &pk, 1);
	test_entry_pk_str(&pk, key);
	switch (how) {
	case 0:
		msgpack_pack_nil(&pk);
		break;
	case 1:
		msgpack_pack_int(&pk, 1);
		break;
	case 2:
		msgpack_pack_bin(&pk, 1);
		msgpack_pack_bin_body(&pk, "x", 1);
		break;
	case 3:
		msgpack_pack_array(&pk, 0);
		break;
	case 4:
		msgpack_pack_map(&pk, 0);
		break;
	case 5:
		msgpack_pack_double(&pk, 1.5);
		break;
	case 6:
		msgpack_pack_int(&pk, -1);
		break;
	case 7:
		msgpack_pack_true(&pk);
		break;
	case 8:
		test_entry_pk_str(&pk, "");
		break;
	case 9:
		msgpack_pack_str(&pk, 3);
		msgpack_pack_str_body(&pk, "a\0b", 3);
		break;
	case 10:
		msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX + 1);
		break;
	case 11:
		test_entry_pk_str(&pk, " \n\t ");
		break;
	}
	test_entry_fail(line, ENTRY_MSGPACK, sb.data, sb.size, err);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_entry_mp_types(void)
{
	test_entry_mp_expect(__LINE__, "sql", 0, "sql must be a string");
	test_entry_mp_expect(__LINE__, "sql", 1, "sql must be a string");
	test_entry_mp_expect(__LINE__, "sql", 2, "sql must be a string");
	test_entry_mp_expect(__LINE__, "sql", 8, "sql is empty");
	test_entry_mp_expect(__LINE__, "sql", 11, "sql is empty");
	test_entry_mp_expect(__LINE__, "sql", 9, "sql contains a NUL byte");
	test_entry_mp_expect(__LINE__, "operation", 1,
	    "operation must be a string");
	test_entry_mp_expect(__LINE__, "operation", 9,
	    "operation contains a NUL byte");
	test_entry_mp_expect(__LINE__, "created_at", 3,
	    "created_at must be a string");
	test_entry_mp_expect(__LINE__, "id", 5,
	    "id must be a string or an integer");
	test_entry_mp_expect(__LINE__, "id", 2,
	    "id must be a string or an integer");
	test_entry_mp_expect(__LINE__, "id", 8, "id is empty");
	test_entry_mp_expect(__LINE__, "id", 9, "id contains a NUL byte");
	test_entry_mp_expect(__LINE__, "seq", 7,
	    "seq must be a string or a number");
	test_entry_mp_expect(__LINE__, "params", 4, "params must be an array");
	test_entry_mp_expect(__LINE__, "params", 0, "params must be an array");
	test_entry_mp_expect(__LINE__, "priority", 0,
	    "priority must be a number or a string");
	test_entry_mp_expect(__LINE__, "priority", 2,
	    "priority must be a number or a string");
	test_entry_mp_expect(__LINE__, "retries", 6,
	    "retries must be a non-negative integer");
	test_entry_mp_expect(__LINE__, "retries", 5,
	    "retries must be a non-negative integer");
	test_entry_mp_expect(__LINE__, "retries", 10,
	    "retries must be a non-negative integer");
}

static void
test_entry_mp_params_bad(void)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct entry	 e;
	size_t		 i, n;
	int		 how;
	static const char *const want[] = {
		"params[1]: nested arrays are not allowed",
		"params[1]: maps are not allowed",
		"params[1]: ext values are not allowed",
		"params[1]: integer out of range",
	};

	for (how = 0; how < 4; how++) {
		test_entry_pk_start(&sb, &pk, 1);
		test_entry_pk_str(&pk, "params");
		msgpack_pack_array(&pk, 2);
		msgpack_pack_nil(&pk);
		if (how == 0)
			msgpack_pack_array(&pk, 0);
		else if (how == 1)
			msgpack_pack_map(&pk, 0);
		else if (how == 2) {
			msgpack_pack_ext(&pk, 1, 1);
			msgpack_pack_ext_body(&pk, "x", 1);
		} else
			msgpack_pack_uint64(&pk, UINT64_MAX);
		MP_FAIL(&sb, want[how]);
		msgpack_sbuffer_destroy(&sb);
	}

	/* ENTRY_MAX_PARAMS values fit; one more is refused. */
	for (how = 0; how < 2; how++) {
		n = ENTRY_MAX_PARAMS + (size_t)how;
		test_entry_pk_start(&sb, &pk, 1);
		test_entry_pk_str(&pk, "params");
		msgpack_pack_array(&pk, n);
		for (i = 0; i < n; i++)
			msgpack_pack_int(&pk, (int)i);
		if (how == 0) {
			if (MP_OK(&sb, &e) == 0) {
				CHECK_EQ_INT(e.nparams, n);
				CHECK_EQ_INT(e.params[n - 1].i, n - 1);
				entry_free(&e);
			}
		} else
			MP_FAIL(&sb, "params: more than 32766 values");
		msgpack_sbuffer_destroy(&sb);
	}
}

static void
test_entry_mp_structure(void)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct entry	 e;
	size_t		 i, n;

	MP_FAILN("\x91\xa1x", "msgpack: top level must be a map");
	MP_FAILN("\x01", "msgpack: top level must be a map");
	MP_FAILN("\xc0", "msgpack: top level must be a map");
	MP_FAILN("\xa3sql", "msgpack: top level must be a map");
	MP_FAILN("\x80", "sql is missing");
	MP_FAILN("\x81\x01\xa1x", "sql is missing");
	MP_FAILN("\x81\xc4\x03sql\xa1x", "sql is missing");
	MP_FAILN("\xc1", "msgpack: invalid byte 0xc1 at offset 0");
	MP_FAILN("\x81\xa3sql\xc1", "msgpack: invalid byte 0xc1 at offset 5");

	/* A few bytes declaring billions: refused before msgpack-c. */
	MP_FAILN("\xdd\xff\xff\xff\xff", EXCEEDS);
	MP_FAILN("\xdf\xff\xff\xff\xff", EXCEEDS);
	MP_FAILN("\xdf\x7f\xff\xff\xff\x01\x01",
	    EXCEEDS);
	MP_FAILN("\xdb\xff\xff\xff\xff", EXCEEDS);
	MP_FAILN("\xc6\xff\xff\xff\xffxx", EXCEEDS);
	MP_FAILN("\xc9\xff\xff\xff\xff\x01", EXCEEDS);
	MP_FAILN("\xc9\x00\x00\x00\x00", EXCEEDS);
	MP_FAILN("\x81\xa3sql\xdd\xff\xff\xff\xff",
	    EXCEEDS);
	MP_FAILN("\x81\xa6params\xdd\x10\x00\x00\x00\x01\x02\x03",
	    EXCEEDS);
	MP_FAILN("\xdc\x00\x05\x01\x01\x01\x01",
	    EXCEEDS);
	MP_FAILN("\x8f\x01", EXCEEDS);
	MP_FAILN("\x82\xa3sql\xa1x",
	    "msgpack: unexpected end of input at offset 7");
	MP_FAILN("\x82\xa3sql\xa1x\x01",
	    "msgpack: unexpected end of input at offset 8");
	MP_FAILN("\x81\xa3sql\xa5x", EXCEEDS);
	MP_FAILN("\x81\xa3sql\xd9",
	    "msgpack: unexpected end of input at offset 6");
	MP_FAILN("\x81\xa3sql\xcb\0\0\0", EXCEEDS);
	MP_FAILN("\x92\xa3sql", "msgpack: unexpected end of input at offset 5");

	/* Exactly one object, nothing after it. */
	MP_FAILN("\x81\xa3sql\xa1x\x00", "msgpack: trailing bytes at offset 7");
	MP_FAILN("\x81\xa3sql\xa1x\x81\xa3sql\xa1x",
	    "msgpack: trailing bytes at offset 7");

	/* Every ext and fixed-size form is walked correctly. */
	MP_FAILN("\x87\xa3sql\xa1x\x01\xd4\x01\x02\x02\xd5\x01\x02\x03"
	    "\x03\xd6\x01\x01\x02\x03\x04\x04\xd7\x01\x01\x02\x03\x04\x05"
	    "\x06\x07\x08\x05\xd8\x01\x01\x02\x03\x04\x05\x06\x07\x08\x09"
	    "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x06\xc7\x01\x01\x02\x00",
	    "msgpack: trailing bytes at offset 58");

	/* msgpack-c's parser stack: 32 levels of containers, the map and
	 * an empty innermost array included. */
	for (n = 29; n <= 31; n++) {
		test_entry_pk_start(&sb, &pk, 1);
		test_entry_pk_str(&pk, "metadata");
		for (i = 0; i < n; i++)
			msgpack_pack_array(&pk, 1);
		msgpack_pack_array(&pk, 0);	/* empty: never pushed */
		if (n < 31) {
			if (MP_OK(&sb, &e) == 0)
				entry_free(&e);
		} else
			MP_FAIL(&sb,
			    "msgpack: nesting deeper than 32 at offset 54");
		msgpack_sbuffer_destroy(&sb);
	}
	MP_FAILN("\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
	    "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
	    "\x91\x91\x91\x91\x91\x91\x91\x91", "msgpack: nesting deeper than "
	    "32 at offset 32");
}

static void
test_entry_mp_truncated(void)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct entry	 e;
	size_t		 n;

	test_entry_pk_start(&sb, &pk, 4);
	test_entry_pk_str(&pk, "params");
	msgpack_pack_array(&pk, 6);
	msgpack_pack_nil(&pk);
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_double(&pk, 1.25);
	msgpack_pack_float(&pk, 1.25f);
	test_entry_pk_str(&pk, "a longer string, over thirty-one bytes long");
	msgpack_pack_bin(&pk, 300);
	for (n = 0; n < 300; n++)
		msgpack_pack_bin_body(&pk, "b", 1);
	test_entry_pk_str(&pk, "metadata");
	msgpack_pack_map(&pk, 1);
	msgpack_pack_uint16(&pk, 1000);
	msgpack_pack_ext(&pk, 20, 3);
	msgpack_pack_ext_body(&pk, "01234567890123456789", 20);
	test_entry_pk_str(&pk, "id");
	msgpack_pack_uint32(&pk, 70000);
	test_entry_pk_str(&pk, "retries");
	msgpack_pack_uint8(&pk, 1);
	REQUIRE(MP_OK(&sb, &e) == 0);
	CHECK_EQ_STR(e.id, "70000");
	CHECK_EQ_INT(e.nparams, 6);
	entry_free(&e);
	for (n = 0; n < sb.size; n++)
		test_entry_fail(__LINE__, ENTRY_MSGPACK, sb.data, n, NULL);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * Random bytes and random mutations of valid entries, from fixed seeds.
 * Nothing can be asserted of the outcome but that it is clean: no crash,
 * no leak (ASan, valgrind), a reason on failure, a sane entry on success.
 */
static void
test_entry_fuzz_one(enum entry_format fmt, const char *buf, size_t len,
    size_t *ok)
{
	struct entry	 e;
	char		 err[TEST_ENTRY_ERRLEN];

	memset(&e, 0x5a, sizeof(e));
	if (test_entry_decode(fmt, buf, len, &e, err, sizeof(err)) == 0) {
		CHECK(test_entry_sane(&e));
		CHECK_EQ_INT(err[0], '\0');
		entry_free(&e);
		(*ok)++;
	} else {
		CHECK(err[0] != '\0');
		CHECK(test_entry_zeroed(&e));
	}
}

static void
test_entry_fuzz(void)
{
	static const char pool[] = "{}[]\",:\\0-9eEu.+\xff\xc3 tfn";
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	const char	*seed[2];
	size_t		 seedlen[2], i, k, n, len, at, ok[2][2] = { { 0 } };
	uint64_t	 rng = 0x9e3779b97f4a7c15ULL, r;
	char		 buf[512];
	int		 f;

	test_entry_pk_start(&sb, &pk, 3);
	test_entry_pk_str(&pk, "params");
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 1);
	test_entry_pk_str(&pk, "two");
	msgpack_pack_double(&pk, 3.0);
	msgpack_pack_bin(&pk, 2);
	msgpack_pack_bin_body(&pk, "\0\1", 2);
	test_entry_pk_str(&pk, "metadata");
	msgpack_pack_map(&pk, 1);
	test_entry_pk_str(&pk, "k");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	test_entry_pk_str(&pk, "priority");
	msgpack_pack_int(&pk, 5);
	seed[0] = test_entry_rich;
	seedlen[0] = sizeof(test_entry_rich) - 1;
	seed[1] = sb.data;
	seedlen[1] = sb.size;

	for (f = 0; f < 2; f++) {
		/* Pure noise, of every length up to 256. */
		for (i = 0; i < 20000; i++) {
			len = (size_t)(test_entry_rand(&rng) % 257);
			for (k = 0; k < len; k++)
				buf[k] = (char)test_entry_rand(&rng);
			test_entry_fuzz_one(f == 0 ? ENTRY_JSON :
			    ENTRY_MSGPACK, buf, len, &ok[f][0]);
		}
		/* A valid entry with one to four bytes changed, inserted
		 * or removed: gets much deeper than noise. */
		for (i = 0; i < 20000; i++) {
			len = seedlen[f];
			memcpy(buf, seed[f], len);
			n = 1 + test_entry_rand(&rng) % 4;
			for (k = 0; k < n && len > 0; k++) {
				r = test_entry_rand(&rng);
				at = (size_t)(r >> 8) % len;
				switch (r % 4) {
				case 0:
					buf[at] = (char)(r >> 40);
					break;
				case 1:
					buf[at] = pool[(r >> 40) %
					    (sizeof(pool) - 1)];
					break;
				case 2:
					if (len < sizeof(buf)) {
						memmove(buf + at + 1, buf + at,
						    len - at);
						buf[at] = (char)(r >> 40);
						len++;
					}
					break;
				default:
					memmove(buf + at, buf + at + 1,
					    len - at - 1);
					len--;
					break;
				}
			}
			test_entry_fuzz_one(f == 0 ? ENTRY_JSON :
			    ENTRY_MSGPACK, buf, len, &ok[f][1]);
		}
	}
	/* The mutations must reach success at times, or they prove little. */
	CHECK(ok[0][1] > 0);
	CHECK(ok[1][1] > 0);
	fprintf(stderr, "fuzz: json %zu+%zu ok, msgpack %zu+%zu ok of 40000 "
	    "each\n", ok[0][0], ok[0][1], ok[1][0], ok[1][1]);
	msgpack_sbuffer_destroy(&sb);
}

static const struct hqtest tests[] = {
	{ "compat_samples", test_entry_compat_samples },
	{ "compat_all_files", test_entry_compat_all_files },
	{ "compat_repair_equivalent", test_entry_compat_repair_equivalent },
	{ "compat_truncated", test_entry_compat_truncated },
	{ "json_rich", test_entry_json_rich },
	{ "json_truncated", test_entry_json_truncated },
	{ "json_sql_bytes", test_entry_json_sql_bytes },
	{ "json_escapes", test_entry_json_escapes },
	{ "json_nul", test_entry_json_nul },
	{ "json_params", test_entry_json_params },
	{ "json_params_max", test_entry_json_params_max },
	{ "json_defaults", test_entry_json_defaults },
	{ "json_fields", test_entry_json_fields },
	{ "json_sql_required", test_entry_json_sql_required },
	{ "json_not_object", test_entry_json_not_object },
	{ "json_bom", test_entry_json_bom },
	{ "json_trailing", test_entry_json_trailing },
	{ "json_repair", test_entry_json_repair },
	{ "json_utf8", test_entry_json_utf8 },
	{ "json_bytes_roundtrip", test_entry_json_bytes_roundtrip },
	{ "json_control", test_entry_json_control },
	{ "json_unknown_and_duplicates",
	    test_entry_json_unknown_and_duplicates },
	{ "json_depth", test_entry_json_depth },
	{ "json_errbuf", test_entry_json_errbuf },
	{ "mp_full", test_entry_mp_full },
	{ "mp_fields", test_entry_mp_fields },
	{ "mp_types", test_entry_mp_types },
	{ "mp_params_bad", test_entry_mp_params_bad },
	{ "mp_structure", test_entry_mp_structure },
	{ "mp_truncated", test_entry_mp_truncated },
	{ "fuzz", test_entry_fuzz },
};

HQTEST_MAIN(tests)

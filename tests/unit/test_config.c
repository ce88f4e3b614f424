/* SPDX-License-Identifier: MIT */
/*
 * test_config.c: common/config.c. Defaults, the option table, each value
 * type's parsing and range errors (messages name their origin), the
 * environment (every variable of the table cleared first, so the caller's
 * environment cannot leak in) and config_check.
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/hq.h"
#include "common/log.h"
#include "tests/unit/hqtest.h"

#define ERRLEN	256

static void
test_config_clear_env(void)
{
	size_t	i, j;

	for (i = 0; i < config_noptions; i++)
		for (j = 0; j < nitems(config_options[i].env); j++)
			if (config_options[i].env[j] != NULL)
				unsetenv(config_options[i].env[j]);
}

static const struct config_option *
test_config_opt(const char *flag)
{
	const struct config_option	*o = config_find(flag);

	if (o == NULL) {
		fprintf(stderr, "no option --%s\n", flag);
		hqtest_failures++;
	}
	return o;
}

/* Set flag to value: must succeed. */
static bool
test_config_ok(struct hq_config *c, const char *flag, const char *value)
{
	const struct config_option	*o = test_config_opt(flag);
	char				 err[ERRLEN] = "";

	if (o == NULL)
		return false;
	if (config_set(c, o, value, flag, err, sizeof(err)) != 0) {
		fprintf(stderr, "--%s '%s' refused: %s\n", flag, value, err);
		hqtest_failures++;
		return false;
	}
	return true;
}

/* Set flag to value: must fail with exactly want as the message, and
 * leave the configuration as it was. */
static void
test_config_bad(struct hq_config *c, const char *flag, const char *value,
    const char *want)
{
	const struct config_option	*o = test_config_opt(flag);
	char				 err[ERRLEN] = "", before[16];
	size_t				 size;

	if (o == NULL)
		return;
	size = o->type == CONFIG_STR ? sizeof(char *) : o->type == CONFIG_MS ?
	    sizeof(int64_t) : o->type == CONFIG_BOOL || o->type ==
	    CONFIG_SYNC ? sizeof(bool) : sizeof(int);
	memcpy(before, (char *)c + o->offset, size);
	if (config_set(c, o, value, "ORIGIN", err, sizeof(err)) != -1) {
		fprintf(stderr, "--%s '%s' accepted\n", flag, value);
		hqtest_failures++;
		return;
	}
	CHECK(memcmp(before, (char *)c + o->offset, size) == 0);
	if (want != NULL && strcmp(err, want) != 0) {
		fprintf(stderr, "--%s '%s': \"%s\", want \"%s\"\n", flag, value,
		    err, want);
		hqtest_failures++;
	}
	CHECK(strncmp(err, "ORIGIN: ", 8) == 0);
}

static void
test_defaults(void)
{
	struct hq_config	c;
	char			err[ERRLEN];

	memset(&c, 0x5a, sizeof(c));
	config_defaults(&c);
	CHECK_EQ_STR(c.root, HQ_DEFAULT_ROOT);
	CHECK_EQ_STR(c.db, HQ_DEFAULT_DB);
	CHECK_EQ_INT(c.workers, 2);
	CHECK_EQ_INT(c.batch_size, 256);
	CHECK_EQ_INT(c.max_retries, 3);
	CHECK(c.sync_full);
	CHECK_EQ_INT(c.busy_timeout_ms, 5000);
	CHECK_EQ_INT(c.shutdown_timeout_ms, 10000);
	CHECK_EQ_INT(c.poll_interval_ms, 100);
	CHECK_EQ_INT(c.rescan_interval_ms, 5000);
	CHECK_EQ_INT(c.heartbeat_interval_ms, 5000);
	CHECK_EQ_INT(c.max_watcher_restarts, 5);
	CHECK(c.use_inotify);
	CHECK_EQ_INT(c.idle_exit_ms, 0);
	CHECK_EQ_INT(c.processing_timeout_ms, 300000);
	CHECK_EQ_INT(c.max_entry_bytes, 1024 * 1024);
	CHECK_EQ_INT(c.retry_base_ms, 250);
	CHECK_EQ_INT(c.ledger_days, 7);
	CHECK(!c.keep_completed);
	CHECK(c.log_file == NULL);
	CHECK_EQ_INT(c.log_level, LOG_LEVEL_INFO);
	CHECK(c.shm_name == NULL);
	CHECK(c.group == NULL);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
	config_free(&c);
	CHECK(c.root == NULL && c.db == NULL);
	config_free(&c);	/* twice is harmless */
}

/* Every default lies within its option's range, every option can be
 * found by its flag, and no variable belongs to two options. */
static void
test_table(void)
{
	struct hq_config	c;
	size_t			i, j, k, l;

	config_defaults(&c);
	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];

		CHECK(config_find(o->flag) == o);
		CHECK(o->help != NULL && o->arg != NULL);
		CHECK(o->offset < sizeof(c));
		if (o->type == CONFIG_INT || o->type == CONFIG_MS) {
			const char *f = (const char *)&c + o->offset;
			long long v = o->type == CONFIG_MS ?
			    *(const int64_t *)(const void *)f :
			    *(const int *)(const void *)f;

			CHECK(o->min <= o->max);
			if (v < o->min || v > o->max) {
				fprintf(stderr, "--%s default %lld outside "
				    "%ld..%ld\n", o->flag, v, o->min, o->max);
				hqtest_failures++;
			}
		}
		for (j = 0; j < nitems(o->env); j++) {
			if (o->env[j] == NULL)
				continue;
			for (k = 0; k < config_noptions; k++)
				for (l = 0; l < nitems(o->env); l++)
					if ((k != i || l != j) &&
					    config_options[k].env[l] != NULL &&
					    strcmp(config_options[k].env[l],
					    o->env[j]) == 0) {
						fprintf(stderr, "%s twice\n",
						    o->env[j]);
						hqtest_failures++;
					}
		}
	}
	CHECK(config_find("no-such-option") == NULL);
	CHECK(config_find("") == NULL);
	CHECK(config_find("--workers") == NULL);
	config_free(&c);
}

static void
test_int(void)
{
	struct hq_config	c;

	config_defaults(&c);
	CHECK(test_config_ok(&c, "workers", "1"));
	CHECK_EQ_INT(c.workers, 1);
	CHECK(test_config_ok(&c, "workers", "64"));
	CHECK_EQ_INT(c.workers, HQ_MAX_WORKERS);
	test_config_bad(&c, "workers", "0",
	    "ORIGIN: '0' is not an integer in 1..64");
	test_config_bad(&c, "workers", "65",
	    "ORIGIN: '65' is not an integer in 1..64");
	test_config_bad(&c, "workers", "-1", NULL);
	test_config_bad(&c, "workers", "", NULL);
	test_config_bad(&c, "workers", "abc",
	    "ORIGIN: 'abc' is not an integer in 1..64");
	test_config_bad(&c, "workers", "4x", NULL);
	test_config_bad(&c, "workers", "4 ", NULL);
	test_config_bad(&c, "workers", "4.0", NULL);
	test_config_bad(&c, "workers", "0x4", NULL);
	test_config_bad(&c, "workers", "99999999999999999999999", NULL);
	test_config_bad(&c, "workers", "-99999999999999999999999", NULL);
	CHECK_EQ_INT(c.workers, HQ_MAX_WORKERS);

	CHECK(test_config_ok(&c, "batch-size", "10000"));
	CHECK_EQ_INT(c.batch_size, 10000);
	test_config_bad(&c, "batch-size", "10001",
	    "ORIGIN: '10001' is not an integer in 1..10000");
	test_config_bad(&c, "batch-size", "0", NULL);
	CHECK(test_config_ok(&c, "max-retries", "0"));
	CHECK_EQ_INT(c.max_retries, 0);
	test_config_bad(&c, "max-retries", "1001", NULL);
	CHECK(test_config_ok(&c, "busy-timeout", "0"));
	CHECK_EQ_INT(c.busy_timeout_ms, 0);
	CHECK(test_config_ok(&c, "busy-timeout", "3600000"));
	CHECK_EQ_INT(c.busy_timeout_ms, 3600000);
	test_config_bad(&c, "busy-timeout", "3600001", NULL);
	test_config_bad(&c, "busy-timeout", "1.5", NULL);
	CHECK(test_config_ok(&c, "max-entry-size", "268435456"));
	CHECK_EQ_INT(c.max_entry_bytes, 256 * 1024 * 1024);
	test_config_bad(&c, "max-entry-size", "63",
	    "ORIGIN: '63' is not an integer in 64..268435456");
	CHECK(test_config_ok(&c, "ledger-days", "36500"));
	test_config_bad(&c, "ledger-days", "0", NULL);
	CHECK(test_config_ok(&c, "max-watcher-restarts", "0"));
	config_free(&c);
}

static void
test_ms(void)
{
	struct hq_config	c;

	config_defaults(&c);
	CHECK(test_config_ok(&c, "shutdown-timeout", "1.5"));
	CHECK_EQ_INT(c.shutdown_timeout_ms, 1500);
	CHECK(test_config_ok(&c, "shutdown-timeout", "0"));
	CHECK_EQ_INT(c.shutdown_timeout_ms, 0);
	CHECK(test_config_ok(&c, "shutdown-timeout", "3600"));
	CHECK_EQ_INT(c.shutdown_timeout_ms, 3600000);
	test_config_bad(&c, "shutdown-timeout", "3600.001",
	    "ORIGIN: '3600.001' is not a number of seconds in 0..3600");
	test_config_bad(&c, "shutdown-timeout", "-1", NULL);
	test_config_bad(&c, "shutdown-timeout", "nan", NULL);
	test_config_bad(&c, "shutdown-timeout", "inf", NULL);
	test_config_bad(&c, "shutdown-timeout", "1s", NULL);
	test_config_bad(&c, "shutdown-timeout", "", NULL);
	test_config_bad(&c, "shutdown-timeout", "1e999", NULL);
	CHECK_EQ_INT(c.shutdown_timeout_ms, 3600000);

	CHECK(test_config_ok(&c, "retry-base", "0.25"));
	CHECK_EQ_INT(c.retry_base_ms, 250);
	CHECK(test_config_ok(&c, "retry-base", "0.001"));
	CHECK_EQ_INT(c.retry_base_ms, 1);
	test_config_bad(&c, "retry-base", "0.0004",
	    "ORIGIN: '0.0004' is not a number of seconds in 0.001..600");
	test_config_bad(&c, "retry-base", "0", NULL);
	CHECK(test_config_ok(&c, "poll-interval", "0.01"));
	CHECK_EQ_INT(c.poll_interval_ms, 10);
	test_config_bad(&c, "poll-interval", "0.009", NULL);
	CHECK(test_config_ok(&c, "rescan-interval", "0"));
	CHECK_EQ_INT(c.rescan_interval_ms, 0);
	CHECK(test_config_ok(&c, "heartbeat-interval", "0.1"));
	CHECK_EQ_INT(c.heartbeat_interval_ms, 100);
	CHECK(test_config_ok(&c, "processing-timeout", "86400"));
	CHECK_EQ_INT(c.processing_timeout_ms, 86400000);
	CHECK(test_config_ok(&c, "idle-exit", "86400"));
	CHECK_EQ_INT(c.idle_exit_ms, 86400000);
	config_free(&c);
}

/*
 * Every value an MS option accepts must be stored as given: the field is
 * an int of milliseconds, so a value the range admits but an int cannot
 * hold would be silently wrapped (30 days is 2592000000 ms > INT_MAX).
 * Refusing such a value is fine; storing something else is not.
 */
static void
test_ms_fits_int(void)
{
	struct hq_config	c;
	char			value[64], err[ERRLEN];
	size_t			i;

	config_defaults(&c);
	if (config_set(&c, config_find("idle-exit"), "2592000", "idle-exit",
	    err, sizeof(err)) == 0)				/* 30 days */
		CHECK_EQ_INT(c.idle_exit_ms, 2592000000LL);
	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];
		int64_t v;

		if (o->type != CONFIG_MS)
			continue;
		/* The largest value the option accepts. */
		snprintf(value, sizeof(value), "%.3f", o->max / 1000.0);
		if (config_set(&c, o, value, o->flag, err, sizeof(err)) != 0)
			continue;	/* refused: fine */
		v = *(int64_t *)(void *)((char *)&c + o->offset);
		if ((long)v != o->max) {
			fprintf(stderr, "--%s %s stored as %lld ms\n", o->flag,
			    value, (long long)v);
			hqtest_failures++;
		}
	}
	config_free(&c);
}

static void
test_bool_sync_level(void)
{
	static const char *const yes[] = { "1", "true", "TRUE", "yes", "Yes",
	    "on", "ON" };
	static const char *const no[] = { "0", "false", "False", "no", "NO",
	    "off", "Off" };
	struct hq_config	c;
	size_t			i;

	config_defaults(&c);
	for (i = 0; i < nitems(yes); i++) {
		c.keep_completed = false;
		CHECK(test_config_ok(&c, "keep-completed", yes[i]));
		CHECK(c.keep_completed);
	}
	for (i = 0; i < nitems(no); i++) {
		c.use_inotify = true;
		CHECK(test_config_ok(&c, "event-loop", no[i]));
		CHECK(!c.use_inotify);
	}
	test_config_bad(&c, "event-loop", "maybe",
	    "ORIGIN: 'maybe' is not a boolean (true/false, 1/0, yes/no)");
	test_config_bad(&c, "event-loop", "", NULL);
	test_config_bad(&c, "event-loop", "2", NULL);
	test_config_bad(&c, "event-loop", "truee", NULL);
	test_config_bad(&c, "event-loop", " true", NULL);

	CHECK(test_config_ok(&c, "sync", "normal"));
	CHECK(!c.sync_full);
	CHECK(test_config_ok(&c, "sync", "FULL"));
	CHECK(c.sync_full);
	CHECK(test_config_ok(&c, "sync", "Normal"));
	CHECK(!c.sync_full);
	test_config_bad(&c, "sync", "off",
	    "ORIGIN: 'off' is not full or normal");
	test_config_bad(&c, "sync", "extra", NULL);

	CHECK(test_config_ok(&c, "log-level", "debug"));
	CHECK_EQ_INT(c.log_level, LOG_LEVEL_DEBUG);
	CHECK(test_config_ok(&c, "log-level", "WARN"));
	CHECK_EQ_INT(c.log_level, LOG_LEVEL_WARN);
	CHECK(test_config_ok(&c, "log-level", "info"));
	CHECK_EQ_INT(c.log_level, LOG_LEVEL_INFO);
	test_config_bad(&c, "log-level", "trace",
	    "ORIGIN: 'trace' is not warn, info or debug");
	test_config_bad(&c, "log-level", "2", NULL);
	config_free(&c);
}

static void
test_str(void)
{
	struct hq_config	c;

	config_defaults(&c);
	CHECK(test_config_ok(&c, "root", "/srv/q"));
	CHECK_EQ_STR(c.root, "/srv/q");
	/* Replacing a value frees the old one (ASan, valgrind). */
	CHECK(test_config_ok(&c, "root", "/srv/q2"));
	CHECK_EQ_STR(c.root, "/srv/q2");
	CHECK(test_config_ok(&c, "log-file", "/var/log/hq.log"));
	CHECK(test_config_ok(&c, "log-file", "/var/log/hq2.log"));
	CHECK_EQ_STR(c.log_file, "/var/log/hq2.log");
	CHECK(test_config_ok(&c, "group", "hq"));
	CHECK_EQ_STR(c.group, "hq");
	CHECK(test_config_ok(&c, "shm-name", "/hq"));
	CHECK(test_config_ok(&c, "db", "with space and ünïcode.db"));
	CHECK_EQ_STR(c.db, "with space and ünïcode.db");
	test_config_bad(&c, "root", "", "ORIGIN: must not be empty");
	test_config_bad(&c, "log-file", "", NULL);
	CHECK_EQ_STR(c.root, "/srv/q2");
	config_free(&c);
	CHECK(c.log_file == NULL && c.group == NULL && c.shm_name == NULL);
}

static void
test_env(void)
{
	struct hq_config	c;
	char			err[ERRLEN];

	test_config_clear_env();
	config_defaults(&c);
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.busy_timeout_ms, 5000);	/* nothing set: defaults */
	CHECK_EQ_STR(c.root, HQ_DEFAULT_ROOT);

	setenv("QUEUE_BASE_DIR", "/env/q", 1);
	setenv("HIVE_DB", "/env/db", 1);
	setenv("QUEUE_BATCH_SIZE", "17", 1);
	setenv("USE_EVENT_LOOP", "false", 1);
	setenv("QUEUE_POLL_INTERVAL", "2.5", 1);
	setenv("QUEUE_IDLE_EXIT", "60", 1);
	setenv("HQ_LOG_LEVEL", "debug", 1);
	setenv("HQ_SYNC", "normal", 1);
	setenv("QUEUE_KEEP_COMPLETED", "yes", 1);
	setenv("SQLITE_TIMEOUT", "111", 1);
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), 0);
	CHECK_EQ_STR(c.root, "/env/q");
	CHECK_EQ_STR(c.db, "/env/db");
	CHECK_EQ_INT(c.batch_size, 17);
	CHECK(!c.use_inotify);
	CHECK_EQ_INT(c.poll_interval_ms, 2500);
	CHECK_EQ_INT(c.idle_exit_ms, 60000);
	CHECK_EQ_INT(c.log_level, LOG_LEVEL_DEBUG);
	CHECK(!c.sync_full);
	CHECK(c.keep_completed);
	/* Only the second name set: it is used. */
	CHECK_EQ_INT(c.busy_timeout_ms, 111);

	/* Both set: SQLITE_BUSY_TIMEOUT wins, whatever the order. */
	setenv("SQLITE_BUSY_TIMEOUT", "222", 1);
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.busy_timeout_ms, 222);
	/* ...even when the loser holds a bad value: it is not read. */
	setenv("SQLITE_TIMEOUT", "not a number", 1);
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.busy_timeout_ms, 222);

	/* A flag applied after the environment wins. */
	CHECK(test_config_ok(&c, "busy-timeout", "333"));
	CHECK_EQ_INT(c.busy_timeout_ms, 333);

	/* A bad value names its variable. */
	setenv("QUEUE_BATCH_SIZE", "abc", 1);
	err[0] = '\0';
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "QUEUE_BATCH_SIZE: 'abc' is not an integer in "
	    "1..10000");
	setenv("QUEUE_BATCH_SIZE", "5", 1);
	setenv("SQLITE_BUSY_TIMEOUT", "-5", 1);
	err[0] = '\0';
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), -1);
	CHECK(strncmp(err, "SQLITE_BUSY_TIMEOUT: ", 21) == 0);
	unsetenv("SQLITE_BUSY_TIMEOUT");
	err[0] = '\0';
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), -1);
	CHECK(strncmp(err, "SQLITE_TIMEOUT: ", 16) == 0);
	setenv("SQLITE_TIMEOUT", "1", 1);
	/* Empty is unset, as the old worker's ${VAR:-default}. */
	setenv("QUEUE_BASE_DIR", "", 1);
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), 0);
	CHECK(c.root != NULL && c.root[0] != '\0');
	test_config_clear_env();
	config_free(&c);
}

static void
test_check(void)
{
	struct hq_config	c;
	char			err[ERRLEN], name[256], *root;

	config_defaults(&c);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
	c.shm_name = strdup("/hq-queue");
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
	free(c.shm_name);
	c.shm_name = strdup("hq");
	err[0] = '\0';
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), -1);
	CHECK(strstr(err, "shm-name") != NULL && strstr(err, "'hq'") != NULL);
	free(c.shm_name);
	c.shm_name = strdup("/a/b");
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), -1);
	free(c.shm_name);
	memset(name, 'a', sizeof(name));
	name[0] = '/';
	name[200] = '\0';
	c.shm_name = strdup(name);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
	free(c.shm_name);
	name[200] = 'a';
	name[201] = '\0';
	c.shm_name = strdup(name);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), -1);
	free(c.shm_name);
	c.shm_name = NULL;

	/* A root too long to build paths under. */
	root = malloc(PATH_MAX);
	memset(root, 'r', PATH_MAX - 1);
	root[PATH_MAX - 1] = '\0';
	free(c.root);
	c.root = root;
	err[0] = '\0';
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), -1);
	CHECK(strstr(err, "root") != NULL);
	config_free(&c);
}

/* An empty variable is unset (the old worker's ${VAR:-default}); an
 * option a flag set is skipped, its variable not even validated. */
static void
test_env_empty_and_skip(void)
{
	struct hq_config	c;
	bool			skip[64] = { false };
	char			err[256];

	config_defaults(&c);
	setenv("QUEUE_BATCH_SIZE", "", 1);
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.batch_size, 256);
	setenv("QUEUE_BATCH_SIZE", "abc", 1);
	CHECK_EQ_INT(config_from_env(&c, NULL, err, sizeof(err)), -1);
	skip[config_find("batch-size") - config_options] = true;
	CHECK_EQ_INT(config_from_env(&c, skip, err, sizeof(err)), 0);
	unsetenv("QUEUE_BATCH_SIZE");
	config_free(&c);
}

/* --http's ADDR:PORT. */
static void
test_hostport(void)
{
	static const struct { const char *in, *host, *port; } ok[] = {
		{ "127.0.0.1:9464", "127.0.0.1", "9464" },
		{ "[::1]:80", "::1", "80" },
		{ ":9464", "0.0.0.0", "9464" },
		{ "localhost:0", "localhost", "0" },
		{ "0.0.0.0:65535", "0.0.0.0", "65535" },
	};
	static const char *bad[] = { "9464", "127.0.0.1", "127.0.0.1:",
	    "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:x", "::1:9464",
	    "[::1]9464", "[::1", "host:+80", "host:80 ", "" };
	struct hq_config	c;
	char			host[64], port[8], err[256];
	size_t			i;

	for (i = 0; i < nitems(ok); i++) {
		CHECK_EQ_INT(config_hostport(ok[i].in, host, sizeof(host), port,
		    sizeof(port)), 0);
		CHECK_EQ_STR(host, ok[i].host);
		CHECK_EQ_STR(port, ok[i].port);
	}
	for (i = 0; i < nitems(bad); i++)
		CHECK_EQ_INT(config_hostport(bad[i], host, sizeof(host), port,
		    sizeof(port)), -1);
	/* A host longer than the buffer is refused, not cut. */
	CHECK_EQ_INT(config_hostport("a-rather-long-host-name:80", host, 8,
	    port, sizeof(port)), -1);
	config_defaults(&c);
	CHECK(c.http == NULL);
	c.http = strdup("nope");
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), -1);
	CHECK(strstr(err, "http: 'nope' is not ADDR:PORT") != NULL);
	config_free(&c);
}

/* hqd's command line: a flag beats its variable, -n asks for a check, -h
 * stops at once, and the errors say what hqd then does. */
static enum config_args
test_config_args(struct hq_config *c, char *err, ...)
{
	char		*argv[16];
	int		 argc = 0;
	va_list		 ap;

	argv[argc++] = (char *)(uintptr_t)"hqd";
	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)) != NULL && argc < 15)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	optind = 0;	/* glibc: start over */
	opterr = 0;
	config_free(c);
	config_defaults(c);
	return config_args(c, argc, argv, err, ERRLEN);
}

static void
test_args(void)
{
	struct hq_config	c;
	char			err[ERRLEN];

	test_config_clear_env();
	config_defaults(&c);
	setenv("QUEUE_BATCH_SIZE", "17", 1);
	setenv("HQ_WORKERS", "5", 1);
	CHECK_EQ_INT(test_config_args(&c, err, "-w", "3", "-v",
	    "--keep-completed", (char *)NULL), CONFIG_ARGS_RUN);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_INT(c.workers, 3);
	CHECK_EQ_INT(c.batch_size, 17);
	CHECK_EQ_INT(c.log_level, LOG_LEVEL_DEBUG);
	CHECK(c.keep_completed);
	CHECK_EQ_INT(test_config_args(&c, err, "--check", "--workers=2",
	    (char *)NULL), CONFIG_ARGS_CHECK);
	CHECK_EQ_INT(c.workers, 2);
	CHECK_EQ_INT(test_config_args(&c, err, "--workers=0", "-h",
	    (char *)NULL), CONFIG_ARGS_HELP);
	CHECK_EQ_INT(test_config_args(&c, err, "-V", (char *)NULL),
	    CONFIG_ARGS_VERSION);
	CHECK_EQ_INT(test_config_args(&c, err, "--no-such", (char *)NULL),
	    CONFIG_ARGS_USAGE);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_INT(test_config_args(&c, err, "extra", (char *)NULL),
	    CONFIG_ARGS_USAGE);
	CHECK_EQ_STR(err, "unexpected argument 'extra'");
	CHECK_EQ_INT(test_config_args(&c, err, "--workers=0", (char *)NULL),
	    CONFIG_ARGS_INVALID);
	CHECK(strstr(err, "--workers") != NULL);
	setenv("QUEUE_BATCH_SIZE", "abc", 1);
	CHECK_EQ_INT(test_config_args(&c, err, (char *)NULL),
	    CONFIG_ARGS_INVALID);
	CHECK(strstr(err, "QUEUE_BATCH_SIZE") != NULL);
	/* Its flag set, the variable is not even read. */
	CHECK_EQ_INT(test_config_args(&c, err, "--batch-size", "9",
	    (char *)NULL), CONFIG_ARGS_RUN);
	CHECK_EQ_INT(c.batch_size, 9);
	test_config_clear_env();
	config_free(&c);
}

static const struct hqtest tests[] = {
	{ "hostport", test_hostport },
	{ "env_empty_and_skip", test_env_empty_and_skip },
	{ "defaults", test_defaults },
	{ "table", test_table },
	{ "int", test_int },
	{ "ms", test_ms },
	{ "ms_fits_int", test_ms_fits_int },
	{ "bool_sync_level", test_bool_sync_level },
	{ "str", test_str },
	{ "env", test_env },
	{ "check", test_check },
	{ "args", test_args },
};

HQTEST_MAIN(tests)

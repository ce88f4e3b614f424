/* SPDX-License-Identifier: MIT */
/* config.c: defaults, the option table, parsing and validation, and
 * hqd's command line and --help built from the table. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/hq.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define OFF(f)	offsetof(struct hq_config, f)
#define DAY_MS	(24L * 3600 * 1000)

const struct config_option config_options[] = {
	{ "root", { "QUEUE_BASE_DIR" }, CONFIG_STR, OFF(root), 0, 0, "DIR",
	  "queue root (default " HQ_DEFAULT_ROOT ")" },
	{ "db", { "HIVE_DB" }, CONFIG_STR, OFF(db), 0, 0, "FILE",
	  "SQLite database, or dqlite://HOST:PORT[,...]/NAME (default "
	  HQ_DEFAULT_DB ")" },
	{ "workers", { "HQ_WORKERS" }, CONFIG_INT, OFF(workers), 1,
	  HQ_MAX_WORKERS, "N", "worker processes (default 2)" },
	{ "batch-size", { "QUEUE_BATCH_SIZE" }, CONFIG_INT, OFF(batch_size),
	  1, 10000, "N", "most entries per transaction (default 256)" },
	{ "max-retries", { "QUEUE_MAX_RETRIES" }, CONFIG_INT,
	  OFF(max_retries), 0, 1000, "N",
	  "transient retries before failed/ (default 3)" },
	{ "sync", { "HQ_SYNC" }, CONFIG_SYNC, OFF(sync_full), 0, 0,
	  "full|normal", "SQLite synchronous level (default full)" },
	{ "busy-timeout", { "SQLITE_BUSY_TIMEOUT", "SQLITE_TIMEOUT" },
	  CONFIG_INT, OFF(busy_timeout_ms), 0, 3600000, "MS",
	  "SQLite busy timeout in milliseconds (default 5000)" },
	{ "shutdown-timeout", { "HQ_SHUTDOWN_TIMEOUT" }, CONFIG_MS,
	  OFF(shutdown_timeout_ms), 0, 3600000, "SECONDS",
	  "drain budget on TERM/INT (default 10)" },
	{ "poll-interval", { "QUEUE_POLL_INTERVAL" }, CONFIG_MS,
	  OFF(poll_interval_ms), 10, 3600000, "SECONDS",
	  "scan interval in polling mode (default 0.1)" },
	{ "rescan-interval", { "EVENT_READ_TIMEOUT" }, CONFIG_MS,
	  OFF(rescan_interval_ms), 0, 86400000, "SECONDS",
	  "maintenance rescan interval, 0 disables (default 5)" },
	{ "heartbeat-interval", { "HEARTBEAT_INTERVAL" }, CONFIG_MS,
	  OFF(heartbeat_interval_ms), 100, 3600000, "SECONDS",
	  "heartbeat file interval (default 5)" },
	{ "max-watcher-restarts", { "MAX_WATCHER_RESTARTS" }, CONFIG_INT,
	  OFF(max_watcher_restarts), 0, 1000000, "N",
	  "inotify failures before polling (default 5)" },
	{ "event-loop", { "USE_EVENT_LOOP" }, CONFIG_BOOL, OFF(use_inotify),
	  0, 0, "true|false", "watch pending/ with inotify (default true)" },
	{ "idle-exit", { "QUEUE_IDLE_EXIT" }, CONFIG_MS, OFF(idle_exit_ms),
	  0, 86400000 * 365L, "SECONDS",
	  "exit after this long idle, 0 never (default 0)" },
	{ "processing-timeout", { "QUEUE_PROCESSING_TIMEOUT" }, CONFIG_MS,
	  OFF(processing_timeout_ms), 0, 86400000, "SECONDS",
	  "kill a worker this long without progress, 0 never (default 300)" },
	{ "statement-timeout", { "HQ_STATEMENT_TIMEOUT" }, CONFIG_MS,
	  OFF(statement_timeout_ms), 0, 86400000, "SECONDS",
	  "an entry's statements may run this long, 0 no limit (default 30)" },
	{ "memory-limit", { "HQ_MEMORY_LIMIT" }, CONFIG_INT,
	  OFF(memory_limit_mib), 0, 1048576, "MIB",
	  "SQLite memory ceiling per worker, 0 none (default 256)" },
	{ "max-entry-size", { "HQ_MAX_ENTRY_SIZE" }, CONFIG_INT,
	  OFF(max_entry_bytes), 64, 256 * 1024 * 1024, "BYTES",
	  "largest entry file accepted (default 1048576)" },
	{ "retry-base", { "HQ_RETRY_BASE" }, CONFIG_MS, OFF(retry_base_ms),
	  1, 600000, "SECONDS",
	  "first transient backoff, doubling (default 0.25)" },
	{ "ledger-days", { "HQ_LEDGER_DAYS" }, CONFIG_INT, OFF(ledger_days),
	  1, 36500, "DAYS", "keep applied ids this long (default 7)" },
	{ "keep-completed", { "QUEUE_KEEP_COMPLETED" }, CONFIG_BOOL,
	  OFF(keep_completed), 0, 0, "true|false",
	  "move applied entries to completed/ (default false)" },
	{ "log-file", { "HQ_LOG_FILE" }, CONFIG_STR, OFF(log_file), 0, 0,
	  "FILE", "append logs here instead of stderr" },
	{ "log-level", { "HQ_LOG_LEVEL" }, CONFIG_LEVEL, OFF(log_level), 0, 0,
	  "warn|info|debug", "log verbosity (default info)" },
	{ "shm-name", { "HQ_SHM_NAME" }, CONFIG_STR, OFF(shm_name), 0, 0,
	  "NAME", "stats segment name (default derived from the root)" },
	{ "group", { "HQ_GROUP" }, CONFIG_STR, OFF(group), 0, 0, "GROUP",
	  "let this group's members enqueue (tree mode 2770)" },
	{ "allow-network-fs", { "HQ_ALLOW_NETWORK_FS" }, CONFIG_BOOL,
	  OFF(allow_network_fs), 0, 0, "true|false",
	  "run with the queue or database on NFS, CIFS... (default false)" },
	{ "http", { "HQ_HTTP" }, CONFIG_STR, OFF(http), 0, 0, "ADDR:PORT",
	  "serve /metrics, health, /events and the dashboard (default off)" },
};
const size_t config_noptions = nitems(config_options);

void
config_defaults(struct hq_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->root = xstrdup(HQ_DEFAULT_ROOT);
	cfg->db = xstrdup(HQ_DEFAULT_DB);
	cfg->workers = 2;
	cfg->batch_size = 256;
	cfg->max_retries = 3;
	cfg->sync_full = true;
	cfg->busy_timeout_ms = 5000;
	cfg->shutdown_timeout_ms = 10000;
	cfg->poll_interval_ms = 100;
	cfg->rescan_interval_ms = 5000;
	cfg->heartbeat_interval_ms = 5000;
	cfg->max_watcher_restarts = 5;
	cfg->use_inotify = true;
	cfg->idle_exit_ms = 0;
	cfg->processing_timeout_ms = 300000;
	cfg->statement_timeout_ms = 30000;
	cfg->memory_limit_mib = 256;
	cfg->max_entry_bytes = 1024 * 1024;
	cfg->retry_base_ms = 250;
	cfg->ledger_days = 7;
	cfg->log_level = LOG_LEVEL_INFO;
}

void
config_free(struct hq_config *cfg)
{
	size_t	i;

	for (i = 0; i < config_noptions; i++)
		if (config_options[i].type == CONFIG_STR) {
			char **p = (char **)(void *)((char *)cfg +
			    config_options[i].offset);
			free(*p);
			*p = NULL;
		}
}

const struct config_option *
config_find(const char *flag)
{
	size_t	i;

	for (i = 0; i < config_noptions; i++)
		if (strcmp(config_options[i].flag, flag) == 0)
			return &config_options[i];
	return NULL;
}

static int
config_parse_bool(const char *v, bool *out)
{
	static const char *yes[] = { "1", "true", "yes", "on" };
	static const char *no[] = { "0", "false", "no", "off" };
	size_t	i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int
config_set(struct hq_config *cfg, const struct config_option *opt,
    const char *value, const char *origin, char *err, size_t errlen)
{
	void	*field = (char *)cfg + opt->offset;
	char	*end;
	long	 l;
	double	 d;
	bool	 b;

	switch (opt->type) {
	case CONFIG_STR:
		if (*value == '\0') {
			snprintf(err, errlen, "%s: must not be empty", origin);
			return -1;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONFIG_INT:
		errno = 0;
		l = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' ||
		    l < opt->min || l > opt->max) {
			snprintf(err, errlen, "%s: '%s' is not an integer "
			    "in %ld..%ld", origin, value, opt->min, opt->max);
			return -1;
		}
		*(int *)field = (int)l;
		return 0;
	case CONFIG_MS:
		errno = 0;
		d = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' ||
		    !isfinite(d) || d * 1000 < (double)opt->min ||
		    d * 1000 > (double)opt->max) {
			snprintf(err, errlen, "%s: '%s' is not a number of "
			    "seconds in %g..%g", origin, value,
			    opt->min / 1000.0, opt->max / 1000.0);
			return -1;
		}
		*(int64_t *)field = (int64_t)llround(d * 1000);
		return 0;
	case CONFIG_BOOL:
		if (config_parse_bool(value, &b) == -1) {
			snprintf(err, errlen, "%s: '%s' is not a boolean "
			    "(true/false, 1/0, yes/no)", origin, value);
			return -1;
		}
		*(bool *)field = b;
		return 0;
	case CONFIG_SYNC:
		if (strcasecmp(value, "full") == 0)
			*(bool *)field = true;
		else if (strcasecmp(value, "normal") == 0)
			*(bool *)field = false;
		else {
			snprintf(err, errlen, "%s: '%s' is not full or normal",
			    origin, value);
			return -1;
		}
		return 0;
	case CONFIG_LEVEL:
		if (strcasecmp(value, "warn") == 0)
			*(int *)field = LOG_LEVEL_WARN;
		else if (strcasecmp(value, "info") == 0)
			*(int *)field = LOG_LEVEL_INFO;
		else if (strcasecmp(value, "debug") == 0)
			*(int *)field = LOG_LEVEL_DEBUG;
		else {
			snprintf(err, errlen, "%s: '%s' is not warn, info "
			    "or debug", origin, value);
			return -1;
		}
		return 0;
	}
	abort();
}

int
config_from_env(struct hq_config *cfg, const bool *skip, char *err,
    size_t errlen)
{
	const char	*v;
	size_t		 i, j;

	for (i = 0; i < config_noptions; i++) {
		/* A flag beats the variable: it is not even validated. */
		if (skip != NULL && skip[i])
			continue;
		for (j = 0; j < nitems(config_options[i].env); j++) {
			const char *name = config_options[i].env[j];

			/* Empty is unset, as the old worker's ${VAR:-default}. */
			if (name == NULL || (v = getenv(name)) == NULL ||
			    *v == '\0')
				continue;
			if (config_set(cfg, &config_options[i], v, name, err,
			    errlen) == -1)
				return -1;
			break;
		}
	}
	return 0;
}

int
config_check(const struct hq_config *cfg, char *err, size_t errlen)
{
	if (strlen(cfg->root) >= PATH_MAX - 300) {
		snprintf(err, errlen, "root: path too long");
		return -1;
	}
	if (cfg->shm_name != NULL && (cfg->shm_name[0] != '/' ||
	    strchr(cfg->shm_name + 1, '/') != NULL ||
	    strlen(cfg->shm_name) > 200)) {
		snprintf(err, errlen, "shm-name: '%s' must be '/' and a name "
		    "without further '/'", cfg->shm_name);
		return -1;
	}
	if (cfg->http != NULL) {
		char	host[256], port[8];

		if (config_hostport(cfg->http, host, sizeof(host), port,
		    sizeof(port)) == -1) {
			snprintf(err, errlen, "http: '%s' is not ADDR:PORT "
			    "(127.0.0.1:9464, [::1]:9464, :9464)", cfg->http);
			return -1;
		}
	}
	return 0;
}

int
config_hostport(const char *spec, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char	*colon, *h = spec;
	size_t		 hl;
	char		*end;
	long		 p;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = spec + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - spec);
		if (memchr(spec, ':', hl) != NULL)	/* IPv6 needs [] */
			return -1;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    p < 0 || p > 65535 || hl >= hostlen || portlen < 6)
		return -1;
	/* No host: every IPv4 address, as "0.0.0.0:PORT" would. */
	if (hl == 0)
		snprintf(host, hostlen, "0.0.0.0");
	else
		snprintf(host, hostlen, "%.*s", (int)hl, h);
	snprintf(port, portlen, "%ld", p);
	return 0;
}

/* --- hqd's command line, built from the table ---------------------- */

void
config_usage(FILE *f)
{
	size_t	i;
	char	left[64];

	fprintf(f, "usage: hqd [options]\n"
	    "Apply SQL entries queued as files under the queue root to a "
	    "SQLite database.\n\noptions (environment variable in "
	    "brackets):\n");
	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];

		snprintf(left, sizeof(left), "--%s%s%s", o->flag,
		    o->type == CONFIG_BOOL ? "[=" : " ",
		    o->arg ? o->arg : "");
		if (o->type == CONFIG_BOOL)
			strncat(left, "]", sizeof(left) - strlen(left) - 1);
		fprintf(f, "  %-32s %s", left, o->help);
		if (o->env[0] != NULL)
			fprintf(f, " [%s%s%s]", o->env[0],
			    o->env[1] ? ", " : "", o->env[1] ? o->env[1] : "");
		fputc('\n', f);
	}
	fprintf(f, "  %-32s %s\n", "-w N", "same as --workers N");
	fprintf(f, "  %-32s %s\n", "-v", "same as --log-level debug");
	fprintf(f, "  %-32s %s\n", "-n, --check",
	    "check the configuration and exit");
	fprintf(f, "  %-32s %s\n", "-h, --help", "show this help");
	fprintf(f, "  %-32s %s\n", "-V, --version", "show the version");
	fprintf(f, "\nSignals: TERM/INT drain and exit 0 (a second INT stops "
	    "at once), HUP rescans\nand reopens the log, USR1 reopens the "
	    "log. Exit codes: 0 ok, 64 usage,\n71 OS limits (open files, "
	    "shared memory), 73 cannot create (tree, database,\n/dev/shm "
	    "segment), 75 root held by another hqd, 78 configuration.\n");
}

enum config_args
config_args(struct hq_config *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	struct option	 longopts[64];
	const struct config_option **fopt;
	const char	**fval;
	bool		 skip[64] = { false }, check = false;
	size_t		 i, n = 0, nflags = 0;
	int		 ch, idx;
	enum config_args ret = CONFIG_ARGS_RUN;

	err[0] = '\0';
	for (i = 0; i < config_noptions && n < nitems(longopts) - 4; i++) {
		longopts[n].name = config_options[i].flag;
		longopts[n].has_arg = config_options[i].type == CONFIG_BOOL ?
		    optional_argument : required_argument;
		longopts[n].flag = NULL;
		longopts[n].val = 1000 + (int)i;
		n++;
	}
	longopts[n++] = (struct option){ "check", no_argument, NULL, 'n' };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };

	/* Flags are collected first and applied after the environment, so
	 * that a flag beats its variable (which is then not even read). */
	fopt = xcalloc((size_t)argc + 1, sizeof(*fopt));
	fval = xcalloc((size_t)argc + 1, sizeof(*fval));
	while ((ch = getopt_long(argc, argv, "w:vnhV", longopts, &idx)) !=
	    -1) {
		const struct config_option *o = NULL;
		const char *val = optarg;

		switch (ch) {
		case 'w':
			o = config_find("workers");
			break;
		case 'v':
			o = config_find("log-level");
			val = "debug";
			break;
		case 'n':
			check = true;
			continue;
		case 'h':
			ret = CONFIG_ARGS_HELP;
			goto out;
		case 'V':
			ret = CONFIG_ARGS_VERSION;
			goto out;
		default:
			/* getopt_long() has said what is wrong. */
			if (ch < 1000 || ch >= 1000 + (int)config_noptions) {
				ret = CONFIG_ARGS_USAGE;
				goto out;
			}
			o = &config_options[ch - 1000];
			if (o->type == CONFIG_BOOL && val == NULL)
				val = "true";
		}
		fopt[nflags] = o;
		fval[nflags++] = val;
		skip[o - config_options] = true;
	}
	ret = CONFIG_ARGS_INVALID;
	if (config_from_env(cfg, skip, err, errlen) == -1)
		goto out;
	for (i = 0; i < nflags; i++) {
		char origin[64];

		snprintf(origin, sizeof(origin), "--%s", fopt[i]->flag);
		if (config_set(cfg, fopt[i], fval[i], origin, err,
		    errlen) == -1)
			goto out;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'",
		    argv[optind]);
		ret = CONFIG_ARGS_USAGE;
		goto out;
	}
	if (config_check(cfg, err, errlen) == -1)
		goto out;
	ret = check ? CONFIG_ARGS_CHECK : CONFIG_ARGS_RUN;
out:
	free(fopt);
	free(fval);
	return ret;
}

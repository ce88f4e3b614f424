/* SPDX-License-Identifier: MIT */
/* config.h: hqd's settings. Flags beat environment variables (the old
 * worker's names, docs/formats.md) beat defaults. One table describes every
 * option, so flags, variables, validation, --help and the example file
 * cannot disagree. hqctl reads the same table for --root and the segment. */
#ifndef HQ_CONFIG_H
#define HQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct hq_config {
	char		*root;			/* queue root, as given */
	char		*db;			/* SQLite file */
	int		 workers;
	int		 batch_size;		/* entries per transaction, max */
	int		 max_retries;		/* transient attempts before failed/ */
	bool		 sync_full;		/* synchronous=FULL, else NORMAL */
	int		 busy_timeout_ms;
	int64_t		 shutdown_timeout_ms;
	int64_t		 poll_interval_ms;
	int64_t		 rescan_interval_ms;	/* 0: no periodic rescan */
	int64_t		 heartbeat_interval_ms;
	int		 max_watcher_restarts;
	bool		 use_inotify;
	int64_t		 idle_exit_ms;		/* 0: never */
	int64_t		 processing_timeout_ms;	/* 0: never */
	int64_t		 statement_timeout_ms;	/* an entry's budget, 0: none */
	int		 memory_limit_mib;	/* worker's SQLite heap, 0: none */
	int		 max_entry_bytes;
	int64_t		 retry_base_ms;		/* first transient backoff */
	int		 ledger_days;		/* ledger rows kept this long */
	bool		 keep_completed;
	char		*log_file;		/* NULL: stderr */
	int		 log_level;		/* enum log_level */
	char		*shm_name;		/* NULL: derived from the root */
	char		*group;			/* producers' group, NULL: none */
	bool		 allow_network_fs;	/* run on NFS, CIFS... anyway */
	char		*http;			/* ADDR:PORT, NULL: no HTTP */
};

/* What an option's value means. */
enum config_type {
	CONFIG_STR, CONFIG_INT, CONFIG_MS /* int64_t */, CONFIG_BOOL, CONFIG_SYNC,
	CONFIG_LEVEL,
};

struct config_option {
	const char	*flag;		/* long option without "--" */
	const char	*env[2];	/* environment variables, first wins */
	enum config_type type;
	size_t		 offset;	/* into struct hq_config */
	long		 min, max;	/* INT: value; MS: milliseconds */
	const char	*arg;		/* --help placeholder, NULL for flags */
	const char	*help;
};

extern const struct config_option	config_options[];
extern const size_t			config_noptions;

void	config_defaults(struct hq_config *cfg);
void	config_free(struct hq_config *cfg);
/* Parse value for opt into cfg. origin names the source in the error
 * ("--workers", "QUEUE_BATCH_SIZE"). Returns 0, or -1 with a message in
 * err ("QUEUE_BATCH_SIZE: 'abc' is not an integer in 1..10000"). */
int	config_set(struct hq_config *cfg, const struct config_option *opt,
	    const char *value, const char *origin, char *err, size_t errlen);
/* Apply every set, non-empty environment variable of the table, except
 * for options skip[i] marks (set by a flag). 0 or -1 + err. */
int	config_from_env(struct hq_config *cfg, const bool *skip, char *err,
	    size_t errlen);
const struct config_option *config_find(const char *flag);
/* Split ADDR:PORT ("127.0.0.1:9464", "[::1]:9464", ":9464" = 0.0.0.0,
 * "localhost:9464") into host and decimal port 0..65535. 0 or -1. */
int	config_hostport(const char *spec, char *host, size_t hostlen,
	    char *port, size_t portlen);
/* Cross-field checks after all sources are applied. 0 or -1 + err. */
int	config_check(const struct hq_config *cfg, char *err, size_t errlen);

/* What hqd's command line asks for, and what hqd then does. */
enum config_args {
	CONFIG_ARGS_RUN = 0,	/* cfg is complete and checked */
	CONFIG_ARGS_CHECK,	/* -n: the same, then exit 0 */
	CONFIG_ARGS_HELP,	/* -h: config_usage(stdout), exit 0 */
	CONFIG_ARGS_VERSION,	/* -V */
	CONFIG_ARGS_USAGE,	/* err (when not empty), usage, exit 64 */
	CONFIG_ARGS_INVALID,	/* err, exit 78 */
};
/* Parse hqd's flags (the table's, -w, -v, -n, -h, -V) and the
 * environment into cfg, a flag beating its variable; then
 * config_check(). err is always set, "" when there is nothing to say. */
enum config_args config_args(struct hq_config *cfg, int argc, char **argv,
		    char *err, size_t errlen);
/* hqd's --help. */
void	config_usage(FILE *f);

#endif

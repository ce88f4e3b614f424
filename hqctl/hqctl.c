/* SPDX-License-Identifier: MIT */
/* hqctl: the operator's and producer's tool. Reads the stats segment
 * directly (no round trip to hqd, works from another container of the pod),
 * counts directories when hqd is down, enqueues entries, lists and retries
 * dead letters. Links hqcommon only: never opens the database. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/enqueue.h"
#include "common/fd.h"
#include "common/hq.h"
#include "common/log.h"
#include "common/now.h"
#include "common/pbuf.h"
#include "common/queue.h"
#include "common/report.h"
#include "common/seg.h"
#include "common/xmalloc.h"
#include "hqctl/hqctl.h"

#define HQCTL_MAX_INPUT	(16 * 1024 * 1024)

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hqctl [--root DIR] [--shm-name NAME] COMMAND [ARGS]\n"
	    "       hqctl --help | --version\n"
	    "\n"
	    "commands:\n"
	    "  stats [--json|--prometheus|--legacy] [--watch SECONDS]\n"
	    "        counters and queue depths; exit 69 when hqd is down.\n"
	    "        --legacy: the old worker's stats.json object, whose\n"
	    "        counts go on across hqd's restarts\n"
	    "  enqueue [--priority N] [--op NAME] [--id ID] [--metadata JSON]\n"
	    "          [--param TEXT]... [--int N] [--real X] [--null]\n"
	    "          [--sync|--no-sync] [--lenient] SQL|-|--many\n"
	    "        queue one entry (SQL '-' reads stdin); prints its name.\n"
	    "        Durable when it returns: the file's data is flushed\n"
	    "        before its rename, pending/ after it (--sync, the\n"
	    "        default); --no-sync skips both (the old library's way).\n"
	    "        --many: one entry per line of stdin, a JSON object\n"
	    "        {\"sql\":...,\"params\":[...],\"priority\":N,...}; all\n"
	    "        share one flush; prints a name per entry.\n"
	    "        --lenient (the shell library's): a bad priority is\n"
	    "        clamped (5 if not a number), metadata that is not JSON\n"
	    "        is kept as a string, an entry hqd would refuse is queued\n"
	    "        to land in failed/ with its reason; warnings on stderr\n"
	    "  health  exit 0 when hqd, its workers and its watcher are alive\n"
	    "        and the heartbeat is fresh; else one line saying why\n"
	    "  drain-wait [--timeout SECONDS]\n"
	    "        wait until pending/ and processing/ are empty (hqd has\n"
	    "        applied or dead-lettered everything); exit 75 when the\n"
	    "        timeout (default 30) passes first, 69 when hqd is down\n"
	    "        with entries left\n"
	    "  failed [--json]\n"
	    "        list dead letters with their reasons\n"
	    "  retry ID|--all\n"
	    "        move dead letters back to pending/\n"
	    "\n"
	    "--root defaults to $QUEUE_BASE_DIR or " HQ_DEFAULT_ROOT "; the "
	    "segment name to\n$HQ_SHM_NAME or one derived from the root.\n"
	    "Exit codes: 0 ok, 1 unhealthy, 64 usage, 65 bad data, 66 no "
	    "such entry,\n69 hqd unavailable, 73 cannot create, 74 I/O "
	    "error, 75 timed out, 78 configuration.\n");
}

int
hqctl_err(int code, const char *fmt, ...)
{
	va_list	ap;

	fputs("hqctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* Resolve root and segment name as hqd does; seg false (enqueue, which
 * needs no segment): the root as given, without realpath's getcwd and
 * readlink per path component, part of every hook's cost. */
static int
hqctl_resolve(struct hqctl *c, bool seg)
{
	char	err[512];

	if (config_check(&c->cfg, err, sizeof(err)) == -1)
		return hqctl_err(HQ_EX_CONFIG, "%s", err);
	if (!seg) {
		snprintf(c->root, sizeof(c->root), "%s", c->cfg.root);
		return 0;
	}
	if (realpath(c->cfg.root, c->root) == NULL)
		snprintf(c->root, sizeof(c->root), "%s", c->cfg.root);
	seg_name(c->segname, sizeof(c->segname), c->root, c->cfg.shm_name);
	return 0;
}

/* --- stats ------------------------------------------------------------ */

enum hqctl_format { FMT_TABLE, FMT_JSON, FMT_PROM, FMT_LEGACY };

/* The old stats.json object, as hqd writes it: from the segment and the
 * totals it started from, or with hqd down from the file it left. */
static void
hqctl_legacy(struct hqctl *c, const struct seg *sg,
    const struct report_dirs *d, struct pbuf *out)
{
	struct report_legacy	base, l;
	uint64_t		queued, direct = 0;
	int			fd;

	memset(&base, 0, sizeof(base));
	if ((fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if (sg == NULL)
			(void)report_legacy_read(fd, &base);
		direct = report_legacy_direct(fd);
		close(fd);
	}
	if (sg != NULL)
		queued = SEG_GET(sg->h.queue_size) + SEG_GET(sg->h.processing);
	else
		queued = d->valid ? d->pending + d->processing : 0;
	report_legacy(&l, sg, &base, queued, direct);
	report_legacy_json(out, &l);
}

static int
hqctl_stats_once(struct hqctl *c, enum hqctl_format fmt, bool clear)
{
	static struct seg	 sg;	/* ~150 KiB: not on the stack */
	struct report_dirs	 d = { 0 };
	struct pbuf		 out = { 0 };
	char			 msg[256];
	enum seg_status		 st;
	uint64_t		 now = now_wall_ns();
	int			 rc = 0;

	/* A live segment has every depth (gauges the supervisor keeps from
	 * its index, failed/ counted per tick): walking pending/ would cost
	 * a readdir and a stat per entry (~1 s at 200k) and take the
	 * directory lock against the workers' claims. Walk only when hqd is
	 * down. */
	st = seg_read(c->segname, &sg, msg, sizeof(msg));
	if (st != SEG_OK) {
		if (report_count_dirs(c->root, &d) == -1)
			fprintf(stderr, "hqctl: no queue at %s\n", c->root);
		fprintf(stderr, "hqctl: hqd is down: %s\n", msg);
		rc = st == SEG_FOREIGN || st == SEG_VERSION || st == SEG_SIZE ?
		    HQ_EX_DATAERR : st == SEG_IOERR ? HQ_EX_IOERR :
		    HQ_EX_UNAVAILABLE;
	}
	switch (fmt) {
	case FMT_JSON:
		report_json(&out, st == SEG_OK ? &sg : NULL, &d, now);
		break;
	case FMT_PROM:
		report_prometheus(&out, st == SEG_OK ? &sg : NULL, &d, now);
		break;
	case FMT_TABLE:
		report_table(&out, st == SEG_OK ? &sg : NULL, &d, now);
		break;
	case FMT_LEGACY:
		hqctl_legacy(c, st == SEG_OK ? &sg : NULL, &d, &out);
		break;
	}
	if (clear)
		fputs("\033[H\033[2J", stdout);
	if (out.len > 0 && fwrite(out.data, 1, out.len, stdout) != out.len)
		rc = HQ_EX_IOERR;
	fflush(stdout);
	pbuf_free(&out);
	return rc;
}

static int
hqctl_stats(struct hqctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "legacy", no_argument, NULL, 'l' },
		{ "watch", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum hqctl_format	fmt = FMT_TABLE;
	double			watch = 0;
	char			*end;
	int			ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jplw:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			fmt = FMT_JSON;
			break;
		case 'l':
			fmt = FMT_LEGACY;
			break;
		case 'p':
			fmt = FMT_PROM;
			break;
		case 'w':
			watch = strtod(optarg, &end);
			if (*end != '\0' || !(watch >= 0.1 && watch <= 86400))
				return hqctl_err(HQ_EX_USAGE, "--watch: '%s' "
				    "is not a number of seconds in 0.1..86400",
				    optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return HQ_EX_USAGE;
		}
	}
	if (optind != argc)
		return hqctl_err(HQ_EX_USAGE, "stats: unexpected '%s'",
		    argv[optind]);
	if (watch == 0)
		return hqctl_stats_once(c, fmt, false);
	for (;;) {
		struct timespec ts = { (time_t)watch,
		    (long)((watch - (double)(time_t)watch) * 1e9) };

		rc = hqctl_stats_once(c, fmt, fmt == FMT_TABLE &&
		    isatty(STDOUT_FILENO));
		if (rc == HQ_EX_IOERR)
			return rc;
		if (fmt != FMT_TABLE)
			putchar('\n');
		nanosleep(&ts, NULL);
	}
}

/* --- health ----------------------------------------------------------- */

static int
hqctl_health(struct hqctl *c, int argc, char **argv)
{
	static struct seg	sg;
	char			msg[256];
	bool			ok;

	(void)argv;
	if (argc > 1)
		return hqctl_err(HQ_EX_USAGE, "health takes no arguments");
	if (seg_read(c->segname, &sg, msg, sizeof(msg)) != SEG_OK) {
		printf("unhealthy: %s\n", msg);
		return 1;
	}
	ok = report_health(&sg, now_mono_ns(), msg, sizeof(msg));
	printf("%s\n", msg);
	return ok ? 0 : 1;
}

/* --- drain-wait ------------------------------------------------------- */

/* Entries left, from the directories: the last word, since the
 * segment's gauges trail a rename by up to a tick. -1: no queue. */
static int
hqctl_left_dirs(struct hqctl *c, struct report_dirs *d)
{
	memset(d, 0, sizeof(*d));
	if (report_count_dirs(c->root, d) == -1)
		return -1;
	return d->pending + d->processing > 0;
}

/*
 * A preStop hook's wait: until hqd has taken every entry out of pending/
 * and processing/ (applied, or dead-lettered in failed/), so that a pod
 * removed after it loses nothing with its volume. Polls the segment,
 * which costs no readdir while entries remain; the directories confirm
 * an empty queue.
 */
static int
hqctl_drain_wait(struct hqctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	static struct seg	 sg;
	struct report_dirs	 d;
	struct timespec		 tick = { 0, 200 * 1000000L };
	double			 timeout = 30;
	uint64_t		 until;
	char			*end, msg[256];
	int			 ch, left;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		if (ch != 't')
			return HQ_EX_USAGE;
		timeout = strtod(optarg, &end);
		if (*end != '\0' || !(timeout >= 0 && timeout <= 86400))
			return hqctl_err(HQ_EX_USAGE, "--timeout: '%s' is not "
			    "a number of seconds in 0..86400", optarg);
	}
	if (optind != argc)
		return hqctl_err(HQ_EX_USAGE, "drain-wait: unexpected '%s'",
		    argv[optind]);
	until = now_mono_ms() + (uint64_t)(timeout * 1000);
	for (;;) {
		if (seg_read(c->segname, &sg, msg, sizeof(msg)) != SEG_OK) {
			if ((left = hqctl_left_dirs(c, &d)) == -1)
				return hqctl_err(HQ_EX_UNAVAILABLE, "no queue "
				    "at %s", c->root);
			if (left == 0)
				break;
			return hqctl_err(HQ_EX_UNAVAILABLE, "hqd is down (%s) "
			    "with %" PRIu64 " entries in pending/ and %" PRIu64
			    " in processing/", msg, d.pending, d.processing);
		}
		if (SEG_GET(sg.h.queue_size) + SEG_GET(sg.h.processing) == 0 &&
		    hqctl_left_dirs(c, &d) == 0)
			break;
		if (now_mono_ms() >= until) {
			(void)hqctl_left_dirs(c, &d);
			return hqctl_err(HQ_EX_TEMPFAIL, "timed out after %g s: "
			    "%" PRIu64 " entries in pending/, %" PRIu64 " in "
			    "processing/", timeout, d.pending, d.processing);
		}
		nanosleep(&tick, NULL);
	}
	/* Dead letters stay in failed/, with the volume. */
	if (d.failed > 0)
		fprintf(stderr, "hqctl: drained; %" PRIu64 " dead letters "
		    "stay in failed/\n", d.failed);
	printf("drained\n");
	return 0;
}

/* --- enqueue ---------------------------------------------------------- */

static char *
hqctl_read_stdin(void)
{
	struct pbuf	b = { 0 };
	char		chunk[65536];
	ssize_t		n;

	pbuf_reserve(&b, 1);
	b.data[0] = '\0';
	for (;;) {
		n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			pbuf_free(&b);
			return NULL;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > HQCTL_MAX_INPUT) {
			pbuf_free(&b);
			errno = EFBIG;
			return NULL;
		}
		pbuf_add(&b, chunk, (size_t)n);
	}
	if (memchr(b.data, '\0', b.len) != NULL) {
		pbuf_free(&b);
		errno = EINVAL;
		return NULL;
	}
	return b.data;
}

/*
 * enqueue --many: stdin holds one entry per line, a JSON object with the
 * entry format's keys (sql, params, priority, operation, id; metadata is
 * dropped as hqd drops it); tmpl gives what a line leaves out. Every line
 * is decoded before anything is written; the entries then share one flush
 * (hq_enqueue_many). Prints one name per line enqueued.
 */
static int
hqctl_enqueue_many(struct hqctl *c, const struct hq_enqueue *tmpl)
{
	struct entry		*ents = NULL;
	struct hq_enqueue	*es = NULL;
	char			*input, *line, *next, *names = NULL, err[4096];
	char			 why[256];
	size_t			 n = 0, cap = 0, done = 0, i, lineno = 0;
	int			 rc = 0;

	if ((input = hqctl_read_stdin()) == NULL)
		return hqctl_err(errno == EIO ? HQ_EX_IOERR : HQ_EX_DATAERR,
		    "read entries from stdin: %s", errno == EINVAL ?
		    "they contain a NUL byte" : strerror(errno));
	for (line = input; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[strspn(line, " \t\r")] == '\0')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ents = xreallocarray(ents, cap, sizeof(*ents));
		}
		if (entry_decode(ENTRY_JSON, line, strlen(line), &ents[n],
		    why, sizeof(why)) == -1) {
			rc = hqctl_err(HQ_EX_DATAERR, "enqueue --many: line "
			    "%zu: %s (nothing enqueued)", lineno, why);
			goto out;
		}
		n++;
	}
	if (n == 0) {
		rc = hqctl_err(HQ_EX_DATAERR, "enqueue --many: no entry on "
		    "stdin");
		goto out;
	}
	es = xcalloc(n, sizeof(*es));
	for (i = 0; i < n; i++) {
		es[i] = *tmpl;
		es[i].sql = ents[i].sql;
		es[i].params = ents[i].params;
		es[i].nparams = ents[i].nparams;
		es[i].id = ents[i].id;
		if (ents[i].priority != 0)
			es[i].priority = ents[i].priority;
		/* The decoder's default: the line named none. */
		if (tmpl->operation == NULL ||
		    strcmp(ents[i].operation, "generic") != 0)
			es[i].operation = ents[i].operation;
	}
	names = xcalloc(n, NAME_MAX + 1);
	if (hq_enqueue_many(c->root, es, n, names, NAME_MAX + 1, &done, err,
	    sizeof(err)) == -1)
		rc = hqctl_err(errno == EINVAL ? HQ_EX_DATAERR :
		    errno == ENOENT ? HQ_EX_NOINPUT : HQ_EX_CANTCREAT,
		    "enqueue --many: %s (%zu of %zu enqueued, named on "
		    "stdout)", err, done, n);
	else if (err[0] != '\0')
		log_warnx("enqueue --many: %s", err);
	for (i = 0; i < done; i++)
		printf("%s\n", names + i * (NAME_MAX + 1));
out:
	for (i = 0; i < n; i++)
		entry_free(&ents[i]);
	free(ents);
	free(es);
	free(names);
	free(input);
	return rc;
}

static int
hqctl_enqueue(struct hqctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "priority", required_argument, NULL, 'p' },
		{ "op", required_argument, NULL, 'o' },
		{ "id", required_argument, NULL, 'i' },
		{ "metadata", required_argument, NULL, 'm' },
		{ "param", required_argument, NULL, 'P' },
		{ "int", required_argument, NULL, 'I' },
		{ "real", required_argument, NULL, 'R' },
		{ "null", no_argument, NULL, 'N' },
		{ "sync", no_argument, NULL, 's' },
		{ "no-sync", no_argument, NULL, 'n' },
		{ "lenient", no_argument, NULL, 'L' },
		{ "many", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hq_enqueue	 e = { .priority = 5 };
	bool			 many = false;
	struct entry_param	*params;
	char			 name[256], err[512], *end, *input = NULL;
	const char		*prio = NULL;
	size_t			 len;
	int			 ch, rc = 0, defaulted = 0;

	params = xcalloc((size_t)argc, sizeof(*params));
	e.params = params;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "p:o:i:m:P:I:R:NsnLMh", opts,
	    NULL)) != -1) {
		struct entry_param *p = &params[e.nparams];

		switch (ch) {
		case 'p':
			/* Read once the options are: --lenient may follow. */
			prio = optarg;
			break;
		case 'o':
			e.operation = optarg;
			break;
		case 'i':
			e.id = optarg;
			break;
		case 'm':
			e.metadata = optarg;
			break;
		case 'P':
			p->type = ENTRY_PARAM_TEXT;
			p->p = optarg;
			p->len = strlen(optarg);
			e.nparams++;
			break;
		case 'I':
			errno = 0;
			p->i = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg) {
				rc = hqctl_err(HQ_EX_USAGE, "--int: '%s' is "
				    "not a 64-bit integer", optarg);
				goto out;
			}
			p->type = ENTRY_PARAM_INT;
			e.nparams++;
			break;
		case 'R':
			errno = 0;
			p->d = strtod(optarg, &end);
			if (errno || *end || end == optarg) {
				rc = hqctl_err(HQ_EX_USAGE, "--real: '%s' is "
				    "not a number", optarg);
				goto out;
			}
			p->type = ENTRY_PARAM_REAL;
			e.nparams++;
			break;
		case 'N':
			p->type = ENTRY_PARAM_NULL;
			e.nparams++;
			break;
		case 's':
			e.sync_dir = true;
			break;
		case 'n':
			e.no_sync = true;
			break;
		case 'L':
			e.lenient = true;
			break;
		case 'M':
			many = true;
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			rc = HQ_EX_USAGE;
			goto out;
		}
	}
	if (prio != NULL && (defaulted = hq_enqueue_priority(prio, e.lenient,
	    &e.priority)) == -1) {
		rc = hqctl_err(HQ_EX_USAGE, "--priority: '%s' is not an "
		    "integer in 1..10", prio);
		goto out;
	}
	if (many) {
		if (optind != argc || e.nparams > 0 || e.id != NULL)
			rc = hqctl_err(HQ_EX_USAGE, "enqueue --many: the "
			    "entries are on stdin, with their own params and "
			    "id");
		else
			rc = hqctl_enqueue_many(c, &e);
		goto out;
	}
	if (optind != argc - 1) {
		rc = hqctl_err(HQ_EX_USAGE, "enqueue: exactly one SQL argument "
		    "('-' for stdin)");
		goto out;
	}
	e.sql = argv[optind];
	if (strcmp(e.sql, "-") == 0) {
		if ((input = hqctl_read_stdin()) == NULL) {
			rc = hqctl_err(errno == EIO ? HQ_EX_IOERR :
			    HQ_EX_DATAERR, "read SQL from stdin: %s",
			    errno == EINVAL ? "it contains a NUL byte" :
			    strerror(errno));
			goto out;
		}
		e.sql = input;
	}
	if (hq_enqueue(c->root, &e, name, sizeof(name), err,
	    sizeof(err)) == -1) {
		rc = hqctl_err(hq_enqueue_status(errno), "enqueue: %s", err);
		goto out;
	}
	hq_enqueue_warn(name, defaulted ? prio : NULL, err);
	/* One write(2), not stdio's fstat of stdout first. */
	len = strlen(name);
	name[len++] = '\n';
	if (fd_write_full(STDOUT_FILENO, name, len) == -1)
		rc = HQ_EX_IOERR;
out:
	free(input);
	free(params);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "shm-name", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct hqctl	 c;
	char		 err[512];
	const char	*cmd;
	int		 ch, rc = 0;

	memset(&c, 0, sizeof(c));
	log_init("hqctl", LOG_LEVEL_INFO);
	config_defaults(&c.cfg);
	if (config_from_env(&c.cfg, NULL, err, sizeof(err)) == -1) {
		rc = hqctl_err(HQ_EX_CONFIG, "%s", err);
		goto out;
	}
	/* '+': options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+r:s:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
		case 's':
			if (config_set(&c.cfg, config_find(ch == 'r' ? "root" :
			    "shm-name"), optarg, ch == 'r' ? "--root" :
			    "--shm-name", err, sizeof(err)) == -1) {
				rc = hqctl_err(HQ_EX_CONFIG, "%s", err);
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			goto out;
		case 'V':
			printf("hqctl %s\n", HQ_VERSION);
			goto out;
		default:
			usage(stderr);
			rc = HQ_EX_USAGE;
			goto out;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		rc = HQ_EX_USAGE;
		goto out;
	}
	cmd = argv[optind];
	if ((rc = hqctl_resolve(&c, strcmp(cmd, "enqueue") != 0)) != 0)
		goto out;
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "stats") == 0)
		rc = hqctl_stats(&c, argc, argv);
	else if (strcmp(cmd, "enqueue") == 0)
		rc = hqctl_enqueue(&c, argc, argv);
	else if (strcmp(cmd, "health") == 0)
		rc = hqctl_health(&c, argc, argv);
	else if (strcmp(cmd, "drain-wait") == 0)
		rc = hqctl_drain_wait(&c, argc, argv);
	else if (strcmp(cmd, "failed") == 0)
		rc = hqctl_failed(&c, argc, argv);
	else if (strcmp(cmd, "retry") == 0)
		rc = hqctl_retry(&c, argc, argv);
	else if (strcmp(cmd, "help") == 0)
		usage(stdout);
	else
		rc = hqctl_err(HQ_EX_USAGE, "unknown command '%s' (see "
		    "hqctl --help)", cmd);
out:
	config_free(&c.cfg);
	return rc;
}

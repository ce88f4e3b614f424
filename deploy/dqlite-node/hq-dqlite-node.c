/* SPDX-License-Identifier: MIT */
/*
 * hq-dqlite-node: one node of the dqlite cluster hqd's dqlite sink writes
 * to, on libdqlite's public dqlite_node_* API. The library runs the node
 * (Raft, SQLite, the client port) in its own thread; this program gives
 * it an identity that survives restarts, makes it a voter of an existing
 * cluster (a node of that API does not join by itself: the leader must
 * be asked, through the client protocol, to ADD it and ASSIGN it the
 * voter role), and stops it on TERM or INT.
 *
 * The identity is DATA/hq-node ("ID ADDRESS"), written once on the first
 * start: a node must come back with the id the cluster knows it by, and
 * at the address the others dial.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dqlite.h>

#include "common/hq.h"
#include "common/log.h"
#include "worker/dqlite.h"

#define NODE_STATE	"hq-node"
#define NODE_LOCK	"hq-node.lock"
/* dqlite's rule: the node of id 1 bootstraps a cluster on empty data. */
#define NODE_BOOTSTRAP_ID	1
/* A promotion waits for the new voter to catch up with the log. */
#define NODE_CHANGE_TIMEOUT_MS	30000
#define NODE_BACKOFF_MAX_MS	5000

struct node {
	const char	*bind;
	const char	*address;	/* as the others dial it */
	const char	*data;
	const char	*join;		/* comma-separated, or NULL */
	bool		 bootstrap;
	uint64_t	 id;		/* 0: not given */
	bool		 fresh;		/* no identity before this start */
	int		 lockfd;
	sigset_t	 sigs;
	dqlite_node	*dn;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: hq-dqlite-node --bind HOST:PORT --data DIR "
	    "[options]\n"
	    "Run one dqlite node: the replicated database hqd --db "
	    "dqlite://... writes to.\n\noptions:\n"
	    "  --bind HOST:PORT        listen here (an IPv4 address)\n"
	    "  --address HOST:PORT     where the others reach this node (a "
	    "name or an\n"
	    "                          address; default: the --bind "
	    "address)\n"
	    "  --data DIR              the node's data (Raft log, snapshots, "
	    "identity)\n"
	    "  --join HOST:PORT[,...]  members of the cluster to join; "
	    "without it a new\n"
	    "                          node creates a cluster of its own\n"
	    "  --bootstrap             with --join: on a first start, create "
	    "the cluster\n"
	    "                          when none of those nodes knows a "
	    "leader\n"
	    "  --id N                  the node's id on its first start "
	    "(default: 1 to\n"
	    "                          create a cluster, else derived from "
	    "the address)\n"
	    "  -h, --help              show this help\n"
	    "  -V, --version           show the version\n"
	    "\nSignals: TERM/INT stop the node and exit 0. Exit codes: 0 ok, "
	    "64 usage,\n71 OS error (the node could not start), 73 cannot "
	    "create the data,\n75 data held by another node process, 78 "
	    "configuration.\n");
}

static void
node_usage_err(const char *what, const char *arg)
{
	fprintf(stderr, "hq-dqlite-node: %s%s%s\n", what, arg ? " " : "",
	    arg ? arg : "");
	usage(stderr);
	exit(HQ_EX_USAGE);
}

static void
node_args(struct node *n, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "address", required_argument, NULL, 'a' },
		{ "data", required_argument, NULL, 'd' },
		{ "join", required_argument, NULL, 'j' },
		{ "bootstrap", no_argument, NULL, 'B' },
		{ "id", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char	*end;
	int	 ch;

	while ((ch = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			n->bind = optarg;
			break;
		case 'a':
			n->address = optarg;
			break;
		case 'd':
			n->data = optarg;
			break;
		case 'j':
			n->join = optarg;
			break;
		case 'B':
			n->bootstrap = true;
			break;
		case 'i':
			errno = 0;
			n->id = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n->id == 0 ||
			    optarg[0] == '-') {
				fprintf(stderr, "hq-dqlite-node: --id: '%s' is "
				    "not a positive integer\n", optarg);
				exit(HQ_EX_CONFIG);
			}
			break;
		case 'h':
			usage(stdout);
			exit(HQ_EX_OK);
		case 'V':
			printf("hq-dqlite-node %s\n", HQ_VERSION);
			exit(HQ_EX_OK);
		default:
			usage(stderr);
			exit(HQ_EX_USAGE);
		}
	}
	if (optind < argc)
		node_usage_err("unexpected argument", argv[optind]);
	if (n->bind == NULL)
		node_usage_err("--bind is required", NULL);
	if (n->data == NULL)
		node_usage_err("--data is required", NULL);
	if (n->bootstrap && n->join == NULL)
		node_usage_err("--bootstrap needs --join", NULL);
	if (n->address == NULL)
		n->address = n->bind;
	if (strlen(n->address) > DQ_MAX_ADDR || strchr(n->address, ' ') ||
	    strchr(n->address, ':') == NULL) {
		fprintf(stderr, "hq-dqlite-node: --address '%s' is not "
		    "HOST:PORT\n", n->address);
		exit(HQ_EX_CONFIG);
	}
}

/* The data directory, made if missing, locked against a second node
 * process on it (two nodes on one Raft log corrupt it). */
static void
node_data_open(struct node *n)
{
	struct stat	st;
	char		path[PATH_MAX];

	if (mkdir(n->data, 0700) == -1 && errno != EEXIST) {
		log_warn("cannot create %s", n->data);
		exit(HQ_EX_CANTCREAT);
	}
	if (stat(n->data, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("--data %s is not a directory", n->data);
		exit(HQ_EX_CONFIG);
	}
	snprintf(path, sizeof(path), "%s/%s", n->data, NODE_LOCK);
	if ((n->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
	    -1) {
		log_warn("cannot create %s", path);
		exit(HQ_EX_CANTCREAT);
	}
	if (flock(n->lockfd, LOCK_EX | LOCK_NB) == -1) {
		log_warnx("%s is in use by another hq-dqlite-node", n->data);
		exit(HQ_EX_TEMPFAIL);
	}
}

/* The identity of an earlier start: 1 read, 0 none, exits when it
 * cannot be read. */
static int
node_state_read(struct node *n, uint64_t *id, char *addr, size_t addrlen)
{
	char	 path[PATH_MAX], line[DQ_MAX_ADDR + 64], *p, *end;
	FILE	*f;
	bool	 ok;

	snprintf(path, sizeof(path), "%s/%s", n->data, NODE_STATE);
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_warn("cannot read %s", path);
		exit(HQ_EX_CONFIG);
	}
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (ok) {
		errno = 0;
		*id = strtoull(line, &p, 10);
		ok = errno == 0 && *id != 0 && p != line && *p++ == ' ';
	}
	if (ok) {
		end = p + strcspn(p, " \n");
		ok = end > p && (size_t)(end - p) < addrlen &&
		    strcmp(end, "\n") == 0;
		if (ok)
			snprintf(addr, addrlen, "%.*s", (int)(end - p), p);
	}
	if (!ok) {
		log_warnx("%s is not 'ID ADDRESS': fix or remove it with the "
		    "rest of the data", path);
		exit(HQ_EX_CONFIG);
	}
	return 1;
}

/* Written under a private name, synced, renamed: a crash leaves the old
 * identity or the new one, never half of one. */
static void
node_state_write(struct node *n)
{
	char	 path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE	*f;
	int	 ok;

	snprintf(path, sizeof(path), "%s/%s", n->data, NODE_STATE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "we")) == NULL) {
		log_warn("cannot create %s", tmp);
		exit(HQ_EX_CANTCREAT);
	}
	ok = fprintf(f, "%" PRIu64 " %s\n", n->id, n->address) > 0 &&
	    fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) == -1) {
		log_warn("cannot write %s", path);
		unlink(tmp);
		exit(HQ_EX_CANTCREAT);
	}
}

/* An administration client of the --join nodes. */
static void
node_client(struct node *n, struct dq_client *c)
{
	char	err[DQ_ERRLEN];

	if (dq_init(c, n->join, NULL, err, sizeof(err)) == -1) {
		log_warnx("--join: %s", err);
		exit(HQ_EX_CONFIG);
	}
	c->timeout_ms = NODE_CHANGE_TIMEOUT_MS;
}

/* --bootstrap on a first start: a leader among the --join nodes means
 * the cluster exists (this node's old data was lost): join it. */
static bool
node_cluster_exists(struct node *n)
{
	struct dq_client c;
	bool		 found;

	node_client(n, &c);
	found = dq_connect(&c) == DQ_OK;
	if (found)
		log_info("%s leads a cluster already: joining it", c.peer);
	else
		log_info("no cluster answers (%s): creating one", c.err);
	dq_free(&c);
	return found;
}

/* The node's id: the one it had, or on a first start --id, 1 to create
 * a cluster, else one derived from the address. */
static void
node_identity(struct node *n)
{
	char		addr[DQ_MAX_ADDR + 1];
	uint64_t	id;

	if (node_state_read(n, &id, addr, sizeof(addr))) {
		if (n->id != 0 && n->id != id) {
			log_warnx("--id %" PRIu64 ", but %s is node %" PRIu64
			    " of its cluster", n->id, n->data, id);
			exit(HQ_EX_CONFIG);
		}
		if (strcmp(addr, n->address) != 0) {
			log_warnx("--address %s, but the cluster knows node %"
			    PRIu64 " as %s", n->address, id, addr);
			exit(HQ_EX_CONFIG);
		}
		n->id = id;
		return;
	}
	n->fresh = true;
	if (n->id == 0) {
		if (n->join == NULL ||
		    (n->bootstrap && !node_cluster_exists(n)))
			n->id = NODE_BOOTSTRAP_ID;
		else
			n->id = dqlite_generate_node_id(n->address);
	}
	if (n->id == NODE_BOOTSTRAP_ID && n->join != NULL && !n->bootstrap) {
		log_warnx("--id 1 creates a cluster: with --join, give "
		    "--bootstrap too");
		exit(HQ_EX_CONFIG);
	}
	node_state_write(n);
}

/*
 * Raft connections to the other members. dqlite 1.11's own dialer takes
 * numeric IPv4 addresses only; this one resolves names too (a
 * StatefulSet's pods are known by theirs). It runs in the node's
 * thread pool and may block there, up to its timeout.
 */
static int
node_connect(void *arg, const char *address, int *fd)
{
	char	err[DQ_ERRLEN];
	int	s, fl;

	(void)arg;
	if ((s = dq_tcp_connect(address, DQ_DEFAULT_CONNECT_MS, err,
	    sizeof(err))) == -1) {
		log_debug("raft connect: %s", err);
		return DQLITE_ERROR;
	}
	/* dqlite writes its handshake with plain write(2). */
	if ((fl = fcntl(s, F_GETFL)) == -1 ||
	    fcntl(s, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		close(s);
		return DQLITE_ERROR;
	}
	*fd = s;
	return 0;
}

static void
node_start(struct node *n)
{
	int	rc;

	if ((rc = dqlite_node_create(n->id, n->address, n->data, &n->dn)) !=
	    0) {
		log_warnx("cannot create the node: %s (%d)", n->dn ?
		    dqlite_node_errmsg(n->dn) : "", rc);
		exit(HQ_EX_OSERR);
	}
	/* 1.11 binds the port here and accepts IPv4 addresses only. */
	if (dqlite_node_set_bind_address(n->dn, n->bind) != 0) {
		log_warnx("--bind %s: not an IPv4 address and port that can "
		    "be bound (%s)", n->bind, strerror(errno));
		exit(HQ_EX_CONFIG);
	}
	if (dqlite_node_set_connect_func(n->dn, node_connect, NULL) != 0 ||
	    (rc = dqlite_node_start(n->dn)) != 0) {
		log_warnx("cannot start the node: %s",
		    dqlite_node_errmsg(n->dn));
		exit(HQ_EX_OSERR);
	}
	log_info("node %" PRIu64 " at %s (listening on %s, data %s)%s", n->id,
	    n->address, n->bind, n->data, n->fresh && n->id ==
	    NODE_BOOTSTRAP_ID ? ": a new cluster" : "");
}

/*
 * One pass at membership, on the leader: done when this node is a
 * voter. A member at this node's address under another id is this node's
 * former self, whose data is gone (this start is a fresh one): it is
 * removed first, or the leader refuses the address twice.
 */
static bool
node_join_once(struct node *n, struct dq_client *c)
{
	struct dq_resp	 r;
	const struct dq_server *me = NULL, *old = NULL;
	uint64_t	 old_id;
	size_t		 i;

	if (dq_connect(c) != DQ_OK || dq_cluster(c, &r) != DQ_OK)
		return false;
	for (i = 0; i < r.nservers; i++) {
		if (r.servers[i].id == n->id)
			me = &r.servers[i];
		else if (strcmp(r.servers[i].address, n->address) == 0)
			old = &r.servers[i];
	}
	if (me != NULL && me->role == DQ_ROLE_VOTER)
		return true;
	if (old != NULL && n->fresh) {
		old_id = old->id;
		log_info("removing node %" PRIu64 ", this address's former "
		    "member (its data is gone)", old_id);
		if (dq_remove(c, old_id) != DQ_OK)
			return false;
	}
	if (me == NULL) {
		if (dq_add(c, n->id, n->address) != DQ_OK)
			return false;
		log_info("added to the cluster by %s", c->peer);
	}
	if (dq_assign(c, n->id, DQ_ROLE_VOTER) != DQ_OK)
		return false;
	return true;
}

/* Sleep ms unless TERM or INT comes: the signal, or 0. */
static int
node_sleep(struct node *n, long ms)
{
	struct timespec	ts = { ms / 1000, ms % 1000 * 1000000L };
	int		sig;

	while ((sig = sigtimedwait(&n->sigs, NULL, &ts)) == -1 &&
	    errno == EINTR)
		;
	return sig == -1 ? 0 : sig;
}

/* Until this node is a voter, or a signal (returned) stops it. The
 * cluster may not be up yet (pods start together): retried with a
 * backoff, the reason logged when it changes. */
static int
node_join(struct node *n)
{
	struct dq_client c;
	char		 last[DQ_ERRLEN] = "";
	long		 backoff = 200;
	int		 sig = 0;

	node_client(n, &c);
	for (;;) {
		if (node_join_once(n, &c)) {
			log_info("a voter of the cluster (leader %s)", c.peer);
			break;
		}
		if (strcmp(last, c.err) != 0) {
			log_warnx("not a voter yet: %s; retrying", c.err);
			snprintf(last, sizeof(last), "%s", c.err);
		}
		if ((sig = node_sleep(n, backoff)) != 0)
			break;
		backoff = backoff * 2 > NODE_BACKOFF_MAX_MS ?
		    NODE_BACKOFF_MAX_MS : backoff * 2;
	}
	dq_free(&c);
	return sig;
}

int
main(int argc, char **argv)
{
	struct node	n = { .lockfd = -1 };
	int		sig;

	log_init("hq-dqlite-node", LOG_LEVEL_INFO);
	node_args(&n, argc, argv);
	/* Blocked before the node's threads exist, so that they inherit
	 * the mask and the signals come to sigtimedwait here. */
	sigemptyset(&n.sigs);
	sigaddset(&n.sigs, SIGTERM);
	sigaddset(&n.sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &n.sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	node_data_open(&n);
	node_identity(&n);
	node_start(&n);
	sig = 0;
	if (n.join != NULL && n.id != NODE_BOOTSTRAP_ID)
		sig = node_join(&n);
	while (sig == 0)
		sig = node_sleep(&n, 3600 * 1000L);
	log_info("%s: stopping", strsignal(sig));
	if (dqlite_node_stop(n.dn) != 0)
		log_warnx("stopping the node: %s", dqlite_node_errmsg(n.dn));
	dqlite_node_destroy(n.dn);
	close(n.lockfd);
	log_info("stopped");
	return HQ_EX_OK;
}

/* SPDX-License-Identifier: MIT */
/*
 * builtin.c: hqenqueue, a bash builtin for queue-lib.sh: queue_db_write's
 * one write done in the shell's own process. A hook is a new bash that
 * writes once, and bash's fork and the exec of hqctl cost more than the
 * write (docs/performance.md, "A hook"); a builtin loaded with `enable -f`
 * costs neither. builtin_bash.c is bash's side (its headers only); this
 * file is hq's.
 *
 *   hqenqueue ROOT PRIORITY OPERATION METADATA SQL
 *
 * does what `hqctl --root ROOT enqueue --lenient --priority PRIORITY --op
 * OPERATION [--metadata METADATA] -- SQL` does (an empty METADATA is
 * none): the same file, flushes, messages on stderr and exit statuses,
 * without the name on stdout. It runs inside the caller's shell, so it
 * never exits, keeps no memory or descriptor past its return, and touches
 * no signal.
 */
#include <errno.h>
#include <stdio.h>

#include "common/enqueue.h"
#include "common/hq.h"
#include "common/log.h"
#include "hqctl/builtin.h"

int
hq_builtin_enqueue(int argc, char **argv)
{
	struct hq_enqueue	 e = { .priority = 5, .lenient = true };
	char			 name[256], err[512];
	int			 defaulted;

	log_init("hqctl", LOG_LEVEL_INFO);
	if (argc != 6 || argv[1][0] == '\0') {
		fputs("hqctl: usage: hqenqueue ROOT PRIORITY OPERATION "
		    "METADATA SQL\n", stderr);
		return HQ_EX_USAGE;
	}
	/* Lenient: never -1. */
	defaulted = hq_enqueue_priority(argv[2], true, &e.priority);
	e.operation = argv[3];
	e.metadata = argv[4][0] != '\0' ? argv[4] : NULL;
	e.sql = argv[5];
	if (hq_enqueue(argv[1], &e, name, sizeof(name), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "hqctl: enqueue: %s\n", err);
		return hq_enqueue_status(errno);
	}
	hq_enqueue_warn(name, defaulted ? argv[2] : NULL, err);
	return HQ_EX_OK;
}

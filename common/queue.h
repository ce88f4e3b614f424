/* SPDX-License-Identifier: MIT */
/* queue.h: the queue tree (SPEC section 2) and entry names. The directory an
 * entry file is in is its state; only rename(2) moves it. Everything here
 * works on directory descriptors, so a root that is renamed or replaced
 * under a running hqd cannot redirect a rename somewhere else. */
#ifndef HQ_QUEUE_H
#define HQ_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/entry.h"

struct queue {
	char	*root;		/* real path of the root */
	int	 rootfd;
	int	 tmpfd, pendingfd, processingfd, completedfd, failedfd;
};

struct queue_name {
	int		 priority;	/* 1..10 */
	const char	*seq;		/* points into the name */
	size_t		 seq_len;
	enum entry_format format;
};

/* Open (and with create, make) the tree under root. mode is for created
 * directories. Returns 0, or -1 with a reason in err. All fds -1 on
 * failure. */
int	queue_open(struct queue *q, const char *root, bool create, int mode,
	    char *err, size_t errlen);
void	queue_close(struct queue *q);
/* Someone removed folders of the tree under a running hqd: make what is
 * missing (mode) and point the fds at the folders now there. 0, or -1
 * when a folder could not be made (the others are still updated). */
int	queue_reopen(struct queue *q, int mode);

/* True when name is "{1..10}_{SEQ}.json|.msgpack", SEQ of [A-Za-z0-9_-],
 * at most HQ_NAME_MAX bytes; fills *qn when not NULL. */
bool	queue_name_parse(const char *name, struct queue_name *qn);
/* Hidden files (".x") are producers' temp files and are never reported. */
bool	queue_name_hidden(const char *name);
/* Order of application: priority as a number, then SEQ with digit runs
 * compared as numbers, then the name. Both must be valid names. */
int	queue_name_cmp(const char *a, const char *b);
/* The SEQ part of that order, on bounded strings. */
int	queue_seq_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* processing/w<slot>/, made when missing; returns an fd or -1. */
int	queue_worker_dir(struct queue *q, int slot, bool create);
/* Move every file of processing/ and its w* subfolders back to pending/.
 * Returns how many were moved, or -1 when processing/ is unreadable. */
long	queue_requeue_all(struct queue *q);
/* Same for one worker's folder. */
long	queue_requeue_slot(struct queue *q, int slot);
#define QUEUE_REASON_MAX	1024	/* bytes of reason kept in a note */

/* Write failed/<name>.err (JSON one-liner) and move fromfd/name into
 * failed/. Returns 0, or -1 with errno (the entry stays where it was). */
int	queue_fail(struct queue *q, int fromfd, const char *name,
	    const char *reason, long attempts, int worker_slot);

#endif

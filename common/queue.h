/* SPDX-License-Identifier: MIT */
/* queue.h: the queue tree (docs/formats.md) and entry names. The directory an
 * entry file is in is its state; only rename(2) moves it. Everything here
 * works on directory descriptors, so a root that is renamed or replaced
 * under a running hqd cannot redirect a rename somewhere else. */
#ifndef HQ_QUEUE_H
#define HQ_QUEUE_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/entry.h"

struct queue {
	char	*root;		/* real path of the root */
	int	 rootfd;
	int	 tmpfd, pendingfd, processingfd, completedfd, failedfd;
	/* Permission bits a reason note may have at most: QUEUE_NOTE_MODE
	 * from queue_open(); a worker narrows it to its database's. */
	int	 note_mode;
};

#define QUEUE_NOTE_MODE	0640

struct queue_name {
	int		 priority;	/* 1..10 */
	const char	*seq;		/* points into the name */
	size_t		 seq_len;
	unsigned long	 copy;		/* N of "~N" (a dead letter's copy
					 * number), 0: none */
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

/* True when name is "{1..10}_{SEQ}[~N].json|.msgpack", SEQ of
 * [A-Za-z0-9_-], N a copy number (1..999999999, no leading zero), at most
 * HQ_NAME_MAX bytes without the "~N"; fills *qn when not NULL. The entry's
 * default id is the name up to the end of SEQ: a copy has its original's. */
bool	queue_name_parse(const char *name, struct queue_name *qn);
/* Candidate try (0, 1, ...) for putting a file named name where that name
 * may be taken: 0 is name itself, then copies "{P}_{SEQ}~N.ext" of it, N
 * from 2 up, then at random (so a crowd of one name costs no long walk).
 * Any name that is not an entry name gets "~N" at its end. Returns 0, or
 * -1 with ENAMETOOLONG. */
int	queue_copy_name(const char *name, unsigned try, char *out,
	    size_t outlen);
#define QUEUE_COPY_TRIES	200	/* candidates worth trying */
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
/* Bytes of reason kept in a note; a longer one is cut between two
 * characters and marked "...". */
#define QUEUE_REASON_MAX	500

/* Write failed/<name>.err (JSON one-liner) and move fromfd/name into
 * failed/, neither ever over an existing file: when failed/<name> or its
 * note is taken (an older dead letter of that name, or anything else),
 * the entry and its note go under the next free queue_copy_name(), with a
 * log line. The note gets the entry's permission bits within
 * q->note_mode. Returns 0, or -1 with errno (the entry stays where it
 * was). */
int	queue_fail(struct queue *q, int fromfd, const char *name,
	    const char *reason, long attempts, int worker_slot);

/* Reading failed/ (hqctl failed, retry). */
/* Bytes of a note read back; the rest of a longer one is not read. */
#define QUEUE_NOTE_READ_MAX	4096
/* The first line of failed/<name>.err, or NULL; caller frees. */
char	*queue_note_read(struct queue *q, const char *name);
/* The value of key in a note queue_fail() wrote, unescaped enough to
 * print ("" when absent). */
void	 queue_note_field(const char *note, const char *key, char *out,
	    size_t len);
/* Entry names in failed/, in application order (NULL, *np 0: none or
 * unreadable); caller frees each and the array. */
char	**queue_failed_names(struct queue *q, size_t *np);
/* failed/ holds a dead letter of that name (anything but a directory). */
bool	 queue_failed_has(struct queue *q, const char *name);
/* failed/<name> back to pending/ under its name, or, when that name is
 * pending (or taken there by anything), as the next free copy of it: same
 * entry, same default id. Never over anything. The name it now has into
 * as; its note is removed. 0, or -1 with errno (it stays in failed/). */
int	 queue_retry(struct queue *q, const char *name, char *as,
	    size_t aslen);
/* True when de, read from dirfd, is a directory. */
bool	queue_dirent_isdir(int dirfd, const struct dirent *de);

#endif

/* SPDX-License-Identifier: MIT */
/* hq.h: project-wide constants shared by hqd, its workers and hqctl. */
#ifndef HQ_HQ_H
#define HQ_HQ_H

#include <stddef.h>
#include <stdint.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* FNV-1a, 64 bits, of a string: the segment's name for a root, and the
 * hash tables of entry names. */
static inline uint64_t
hq_fnv1a(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Queue tree, relative to the root (docs/formats.md). */
#define HQ_DIR_TMP		".tmp"
#define HQ_DIR_PENDING		"pending"
#define HQ_DIR_PROCESSING	"processing"
#define HQ_DIR_COMPLETED	"completed"
#define HQ_DIR_FAILED		"failed"
#define HQ_LOCK_FILE		".hqd.lock"
#define HQ_HEARTBEAT_FILE	".heartbeat"
#define HQ_REASON_SUFFIX	".err"

#define HQ_DEFAULT_ROOT		".hive-mind/queue"
#define HQ_DEFAULT_DB		".hive-mind/hive.db"

/* Longest entry file name we accept; longer names are reported, not run.
 * A dead letter's copy number ("~N", queue.h) may add HQ_COPY_MAX. */
#define HQ_NAME_MAX		200
#define HQ_COPY_MAX		10
#define HQ_MAX_WORKERS		64

/* sysexits(3) values, spelled out so no header is needed on odd libcs. */
#define HQ_EX_OK		0
#define HQ_EX_USAGE		64
#define HQ_EX_DATAERR		65
#define HQ_EX_NOINPUT		66
#define HQ_EX_UNAVAILABLE	69
#define HQ_EX_SOFTWARE		70
#define HQ_EX_OSERR		71
#define HQ_EX_CANTCREAT		73
#define HQ_EX_IOERR		74
#define HQ_EX_TEMPFAIL		75
#define HQ_EX_NOPERM		77
#define HQ_EX_CONFIG		78

#endif

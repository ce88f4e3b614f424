/* SPDX-License-Identifier: MIT */
/* sink.c: the local sink, today's sqlapply behind the sink calls; nothing
 * of its own, so the local path is what it was before the seam. */
#include "worker/sink.h"

static struct sqlapply *
sink_sa(const struct sink *s)
{
	return s->impl;
}

static enum sqlapply_outcome
local_open(struct sink *s, char *err, size_t errlen)
{
	return sqlapply_open(sink_sa(s), err, errlen);
}

static enum sqlapply_outcome
local_begin(struct sink *s, char *err, size_t errlen)
{
	return sqlapply_begin(sink_sa(s), err, errlen);
}

static enum sqlapply_outcome
local_entry(struct sink *s, const char *id, const struct entry *e,
    char *err, size_t errlen)
{
	return sqlapply_entry(sink_sa(s), id, e, err, errlen);
}

static enum sqlapply_outcome
local_commit(struct sink *s, char *err, size_t errlen)
{
	return sqlapply_commit(sink_sa(s), err, errlen);
}

static void
local_rollback(struct sink *s)
{
	sqlapply_rollback(sink_sa(s));
}

static int
local_applied(struct sink *s, const char *id)
{
	return sqlapply_applied(sink_sa(s), id);
}

static void
local_close(struct sink *s)
{
	sqlapply_close(sink_sa(s));
}

static enum seg_wait
local_waiting(const struct sink *s)
{
	if (!sqlapply_waiting(sink_sa(s)))
		return SEG_WAIT_NONE;
	return sqlapply_disk_full(sink_sa(s)) ? SEG_WAIT_DISK : SEG_WAIT_LOCK;
}

static bool
local_txn_lost(const struct sink *s)
{
	return sink_sa(s)->txn_lost;
}

static const struct sink_ops sink_local_ops = {
	.name = "sqlite",
	.open = local_open,
	.begin = local_begin,
	.entry = local_entry,
	.commit = local_commit,
	.rollback = local_rollback,
	.applied = local_applied,
	.close = local_close,
	.waiting = local_waiting,
	.txn_lost = local_txn_lost,
};

void
sink_local(struct sink *s, struct sqlapply *sa)
{
	s->ops = &sink_local_ops;
	s->impl = sa;
	s->id_prefix = NULL;
}

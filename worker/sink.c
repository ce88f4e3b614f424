/* SPDX-License-Identifier: MIT */
/* sink.c: the local sink, today's sqlapply behind the sink calls; nothing
 * of its own, so the local path is what it was before the seam. */
#include <string.h>

#include "common/now.h"
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

/* Texts are copied only when they differ, and never their last byte (see
 * struct seg_sink). */
static void
sink_text(char *dst, size_t size, const char *src)
{
	size_t	n = strnlen(src, size - 1);

	if (strncmp(dst, src, size - 1) == 0)
		return;
	memcpy(dst, src, n);
	memset(dst + n, 0, size - 1 - n);
}

void
sink_publish(struct sink *s, struct seg_slot *sl, bool committed)
{
	struct sink_status	st;

	if (s->ops->status == NULL)
		return;
	memset(&st, 0, sizeof(st));
	s->ops->status(s, &st);
	/* Deltas: the slot's counters outlive this worker. */
	SEG_ADD(sl->sink.round_trips, st.round_trips - s->pub.round_trips);
	SEG_ADD(sl->sink.connects, st.connects - s->pub.connects);
	SEG_ADD(sl->sink.leader_changes, st.leader_changes -
	    s->pub.leader_changes);
	s->pub.round_trips = st.round_trips;
	s->pub.connects = st.connects;
	s->pub.leader_changes = st.leader_changes;
	if (st.leader != NULL)
		sink_text(sl->sink.leader, sizeof(sl->sink.leader), st.leader);
	if (st.error != NULL && st.error_ns != SEG_GET(sl->sink.error_ns)) {
		sink_text(sl->sink.error, sizeof(sl->sink.error), st.error);
		SEG_SET(sl->sink.error_ns, st.error_ns);
	}
	if (committed)
		SEG_SET(sl->sink.ok_ns, now_wall_ns());
}

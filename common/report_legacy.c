/* SPDX-License-Identifier: MIT */
/* report_legacy.c: the old worker's cumulative stats.json (report.h says
 * how its numbers add up): written by hqd's heartbeat, read back at start
 * and by hqctl when hqd is down. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/report.h"

void
report_legacy(struct report_legacy *out, const struct seg *sg,
    const struct report_legacy *base, uint64_t queued, uint64_t direct)
{
	struct report_totals	t;

	memset(out, 0, sizeof(*out));
	if (sg != NULL) {
		report_totals(sg, &t);
		out->processed = sg->h.legacy_processed + t.applied +
		    t.duplicates;
		out->failed = sg->h.legacy_failed + t.failed +
		    SEG_GET(sg->h.c.poisoned);
		out->retried = sg->h.legacy_retried + t.retried;
	} else if (base != NULL) {
		out->processed = base->processed;
		out->failed = base->failed;
		out->retried = base->retried;
	}
	out->enqueued = out->processed + out->failed + queued;
	out->direct = direct;
}

void
report_legacy_json(struct pbuf *o, const struct report_legacy *l)
{
	pbuf_printf(o, "{\"enqueued\":%llu,\"processed\":%llu,\"failed\":%llu,"
	    "\"retried\":%llu,\"direct\":%llu}\n",
	    (unsigned long long)l->enqueued, (unsigned long long)l->processed,
	    (unsigned long long)l->failed, (unsigned long long)l->retried,
	    (unsigned long long)l->direct);
}

/* The number after "key": in doc (spaces allowed around the colon, as jq
 * writes), into *v: 0, or -1. */
static int
report_legacy_key(const char *doc, const char *key, uint64_t *v)
{
	char		 pat[32], *end;
	const char	*p;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	if ((p = strstr(doc, pat)) == NULL)
		return -1;
	p += strlen(pat);
	p += strspn(p, " \t\r\n");
	if (*p++ != ':')
		return -1;
	p += strspn(p, " \t\r\n");
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	*v = strtoull(p, &end, 10);
	return errno == 0 ? 0 : -1;
}

int
report_legacy_read(int rootfd, struct report_legacy *l)
{
	char	buf[4096];
	ssize_t	n;
	int	fd, saved;

	memset(l, 0, sizeof(*l));
	if ((fd = openat(rootfd, "stats.json", O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	saved = errno;
	close(fd);
	if (n == -1) {
		errno = saved;
		return -1;
	}
	buf[n] = '\0';
	if (report_legacy_key(buf, "enqueued", &l->enqueued) == -1 ||
	    report_legacy_key(buf, "processed", &l->processed) == -1 ||
	    report_legacy_key(buf, "failed", &l->failed) == -1 ||
	    report_legacy_key(buf, "retried", &l->retried) == -1) {
		memset(l, 0, sizeof(*l));
		errno = EINVAL;
		return -1;
	}
	/* "direct" is .direct's, not the file's (it is not hqd's count). */
	return 0;
}

uint64_t
report_legacy_direct(int rootfd)
{
	struct stat	st;

	if (fstatat(rootfd, ".direct", &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

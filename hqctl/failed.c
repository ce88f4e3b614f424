/* SPDX-License-Identifier: MIT */
/* failed.c: hqctl failed and hqctl retry, the dead letters for the
 * operator; reading and moving them is common/queue.c's, next to
 * queue_fail() that writes them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hq.h"
#include "common/pbuf.h"
#include "common/queue.h"
#include "hqctl/hqctl.h"

int
hqctl_failed(struct hqctl *c, int argc, char **argv)
{
	struct queue	 q;
	struct pbuf	 out = { 0 };
	char		 err[512], reason[1024], attempts[32], when[64];
	char		**names, *note;
	size_t		 n, i;
	bool		 json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc > 2 || (argc == 2 && !json))
		return hqctl_err(HQ_EX_USAGE, "usage: hqctl failed [--json]");
	if (queue_open(&q, c->root, false, 0, err, sizeof(err)) == -1)
		return hqctl_err(HQ_EX_NOINPUT, "no queue: %s", err);
	names = queue_failed_names(&q, &n);
	if (json)
		pbuf_printf(&out, "[");
	for (i = 0; i < n; i++) {
		note = queue_note_read(&q, names[i]);
		queue_note_field(note ? note : "", "error", reason,
		    sizeof(reason));
		queue_note_field(note ? note : "", "attempts", attempts,
		    sizeof(attempts));
		queue_note_field(note ? note : "", "failed_at", when,
		    sizeof(when));
		if (json) {
			pbuf_printf(&out, "%s{\"entry\":", i ? "," : "");
			pbuf_json_str(&out, names[i]);
			pbuf_printf(&out, ",\"error\":");
			pbuf_json_str(&out, note ? reason : "(no reason note)");
			pbuf_printf(&out, ",\"attempts\":%ld,\"failed_at\":",
			    strtol(attempts, NULL, 10));
			pbuf_json_str(&out, when);
			pbuf_printf(&out, "}");
		} else
			pbuf_printf(&out, "%s  %s  attempts %s  %s\n",
			    names[i], when[0] ? when : "-",
			    attempts[0] ? attempts : "?",
			    note ? reason : "(no reason note)");
		free(note);
		free(names[i]);
	}
	if (json)
		pbuf_printf(&out, "]\n");
	else if (n == 0)
		pbuf_printf(&out, "no failed entries\n");
	if (out.len)
		fwrite(out.data, 1, out.len, stdout);
	pbuf_free(&out);
	free(names);
	queue_close(&q);
	return 0;
}

/* Prints the name it now has. */
static int
hqctl_retry_one(struct queue *q, const char *name)
{
	char	as[NAME_MAX + 1];

	if (queue_retry(q, name, as, sizeof(as)) == -1) {
		fprintf(stderr, "hqctl: retry %s: %s\n", name,
		    strerror(errno));
		return -1;
	}
	if (strcmp(as, name) != 0)
		fprintf(stderr, "hqctl: %s: that name is pending: retried as "
		    "%s\n", name, as);
	printf("%s\n", as);
	return 0;
}

int
hqctl_retry(struct hqctl *c, int argc, char **argv)
{
	struct queue	 q;
	char		 err[512], name[NAME_MAX + 1];
	char		**names;
	size_t		 n, i;
	int		 rc = 0;

	if (argc != 2)
		return hqctl_err(HQ_EX_USAGE, "usage: hqctl retry ID|--all");
	if (queue_open(&q, c->root, false, 0, err, sizeof(err)) == -1)
		return hqctl_err(HQ_EX_NOINPUT, "no queue: %s", err);
	if (strcmp(argv[1], "--all") == 0) {
		names = queue_failed_names(&q, &n);
		for (i = 0; i < n; i++) {
			if (hqctl_retry_one(&q, names[i]) == -1)
				rc = HQ_EX_IOERR;
			free(names[i]);
		}
		free(names);
	} else {
		/* ID: the file name, or the name without its extension. */
		if (queue_name_parse(argv[1], NULL))
			snprintf(name, sizeof(name), "%s", argv[1]);
		else {
			snprintf(name, sizeof(name), "%s.json", argv[1]);
			if (!queue_failed_has(&q, name))
				snprintf(name, sizeof(name), "%s.msgpack",
				    argv[1]);
		}
		if (!queue_name_parse(name, NULL) ||
		    !queue_failed_has(&q, name))
			rc = hqctl_err(HQ_EX_NOINPUT, "no failed entry '%s'",
			    argv[1]);
		else if (hqctl_retry_one(&q, name) == -1)
			rc = HQ_EX_IOERR;
	}
	queue_close(&q);
	return rc;
}

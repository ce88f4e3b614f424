/* SPDX-License-Identifier: MIT */
/* hqctl.h: what hqctl's commands share. */
#ifndef HQ_HQCTL_H
#define HQ_HQCTL_H

#include <limits.h>

#include "common/config.h"

struct hqctl {
	struct hq_config	 cfg;
	char			 root[PATH_MAX];	/* real path when it exists */
	char			 segname[64];
};

/* "hqctl: <message>" on stderr; returns code. */
int	hqctl_err(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* failed.c */
int	hqctl_failed(struct hqctl *, int argc, char **argv);
int	hqctl_retry(struct hqctl *, int argc, char **argv);

#endif

/* SPDX-License-Identifier: MIT */
/* fault.c: HQ_FAULT crash points for the crash-point tests. The variable is
 * read once per process; the pass counter is per process too. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fault.h"
#include "common/log.h"

#ifdef HQ_TESTING
static char	fault_want[64];
static long	fault_nth = 1;

static void
fault_load(void)
{
	static int	 loaded;
	const char	*v, *colon;

	if (loaded)
		return;
	loaded = 1;
	if ((v = getenv("HQ_FAULT")) != NULL) {
		colon = strchr(v, ':');
		snprintf(fault_want, sizeof(fault_want), "%.*s",
		    colon ? (int)(colon - v) : (int)strlen(v), v);
		if (colon)
			fault_nth = strtol(colon + 1, NULL, 10);
	}
}

int
fault_armed(const char *point)
{
	fault_load();
	return fault_want[0] != '\0' && strcmp(fault_want, point) == 0;
}

void
fault_point(const char *point)
{
	static long	 seen;
	const char	*v;

	if (!fault_armed(point))
		return;
	if (++seen < fault_nth)
		return;
	if ((v = getenv("HQ_FAULT_ONCE")) != NULL) {
		int fd = open(v, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd == -1)
			return;		/* fired already, or cannot tell */
		close(fd);
	}
	log_warnx("fault point %s reached: SIGKILL", point);
	kill(getpid(), SIGKILL);
	_exit(99);
}
#endif

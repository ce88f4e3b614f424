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
void
fault_point(const char *point)
{
	static int	 loaded;
	static char	 want[64];
	static long	 nth = 1, seen;
	const char	*v, *colon;

	if (!loaded) {
		loaded = 1;
		if ((v = getenv("HQ_FAULT")) != NULL) {
			colon = strchr(v, ':');
			snprintf(want, sizeof(want), "%.*s",
			    colon ? (int)(colon - v) : (int)strlen(v), v);
			if (colon)
				nth = strtol(colon + 1, NULL, 10);
		}
	}
	if (want[0] == '\0' || strcmp(want, point) != 0)
		return;
	if (++seen < nth)
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

/* SPDX-License-Identifier: MIT */
/* fault.h: test-only crash points. In a build with HQ_TESTING, setting
 * HQ_FAULT=point (optionally HQ_FAULT=point:N to fire on the Nth pass)
 * makes HQ_FAULT("point") kill the calling process with SIGKILL there.
 * With HQ_FAULT_ONCE=path it fires once across all processes: the first
 * to get there creates path (O_EXCL) and dies; the others go on.
 * Without HQ_TESTING it compiles to nothing. */
#ifndef HQ_FAULT_H
#define HQ_FAULT_H

#ifdef HQ_TESTING
void	fault_point(const char *point);
int	fault_armed(const char *point);
#define HQ_FAULT(point)	fault_point(point)
/* A point that counts a pass only when cond holds. */
#define HQ_FAULT_IF(point, cond) do {		\
	if (fault_armed(point) && (cond))	\
		fault_point(point);		\
} while (0)
/* HQ_FAULT names this point: a test may need state settled first. */
#define HQ_FAULT_ARMED(point)	fault_armed(point)
#else
#define HQ_FAULT(point)	do { } while (0)
#define HQ_FAULT_IF(point, cond)	do { } while (0)
#define HQ_FAULT_ARMED(point)	0
#endif

#endif

/* SPDX-License-Identifier: MIT */
/* now.c: clocks. */
#include <time.h>

#include "common/now.h"

uint64_t
now_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
now_mono_ms(void)
{
	return now_mono_us() / 1000;
}

uint64_t
now_wall_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

void
now_iso8601(char *buf, uint64_t wall_ns)
{
	time_t		t = (time_t)(wall_ns / 1000000000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* SPDX-License-Identifier: MIT */
/* now.c: clocks. */
#include <stdio.h>
#include <time.h>

#include "common/now.h"

uint64_t
now_mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

uint64_t
now_mono_us(void)
{
	return now_mono_ns() / 1000;
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

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
 * By hand because glibc's gmtime_r() reads /etc/localtime on first use,
 * which costs a hook-called hqctl a third of its time budget. */
void
now_iso8601(char *buf, uint64_t wall_ns)
{
	int64_t		secs = (int64_t)(wall_ns / 1000000000);
	int64_t		days = secs / 86400, rem = secs % 86400;
	int64_t		era, doe, yoe, doy, mp, y, m, d;

	days += 719468;
	era = days / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(buf, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ",
	    (unsigned)(y % 10000), (unsigned)(m % 100), (unsigned)(d % 100),
	    (unsigned)(rem / 3600 % 100), (unsigned)(rem / 60 % 60),
	    (unsigned)(rem % 60));
}

/* SPDX-License-Identifier: MIT */
/* now.h: clocks. Monotonic for deadlines and intervals, wall for stamps. */
#ifndef HQ_NOW_H
#define HQ_NOW_H

#include <stdint.h>

uint64_t	now_mono_ns(void);
uint64_t	now_mono_us(void);
uint64_t	now_mono_ms(void);
uint64_t	now_wall_ns(void);
/* ISO 8601 UTC with seconds, "2026-11-26T17:43:17Z"; buf >= 21 bytes. */
void		now_iso8601(char *buf, uint64_t wall_ns);

#endif

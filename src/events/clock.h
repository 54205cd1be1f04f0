/* clock.h: capture timestamps are CLOCK_MONOTONIC nanoseconds (what BPF's
 * bpf_ktime_get_ns returns, and util/monotime.h's mono_ns()); events carry
 * both that (ts_mono) and wall time.  clock_sync() re-measures the offset
 * between the two clocks. */
#ifndef OISP_EVENTS_CLOCK_H
#define OISP_EVENTS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

void clock_sync(void);                          /* call at start and now and then */
uint64_t clock_wall_ns(uint64_t mono_ns);       /* unix ns for a monotonic time */
/* "2025-12-22T20:15:05.123456Z" (UTC, microseconds) into out[32]. */
void clock_rfc3339(uint64_t wall_ns, char out[32]);

#endif

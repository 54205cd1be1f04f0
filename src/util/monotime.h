/* monotime.h: CLOCK_MONOTONIC in nanoseconds, for timeouts and intervals at
 * every layer (events/clock.h adds the wall clock for event timestamps). */
#ifndef OISP_UTIL_MONOTIME_H
#define OISP_UTIL_MONOTIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A mono_ns() time as a timespec, for waits on a CLOCK_MONOTONIC condvar. */
static inline void mono_timespec(struct timespec *ts, uint64_t ns)
{
    ts->tv_sec = (time_t)(ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
}

#endif

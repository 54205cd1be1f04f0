/* clock.c: monotonic to wall-clock conversion and RFC 3339 formatting. */
#include "events/clock.h"

#include <stdio.h>
#include <time.h>

static int64_t wall_minus_mono;

static uint64_t ns_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t clock_mono_ns(void) { return ns_of(CLOCK_MONOTONIC); }

void clock_sync(void)
{
    uint64_t m1 = ns_of(CLOCK_MONOTONIC), w = ns_of(CLOCK_REALTIME), m2 = ns_of(CLOCK_MONOTONIC);
    wall_minus_mono = (int64_t)w - (int64_t)(m1 / 2 + m2 / 2);
}

uint64_t clock_wall_ns(uint64_t mono_ns) { return (uint64_t)((int64_t)mono_ns + wall_minus_mono); }

void clock_rfc3339(uint64_t wall_ns, char out[32])
{
    time_t s = (time_t)(wall_ns / 1000000000ull);
    unsigned us = (unsigned)(wall_ns % 1000000000ull / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06uZ", us % 1000000u);
}

/* clock.c: monotonic to wall-clock conversion and RFC 3339 formatting. */
#include "events/clock.h"
#include "util/monotime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t wall_minus_mono;

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void clock_sync(void)
{
    uint64_t m1 = mono_ns(), w = realtime_ns(), m2 = mono_ns();
    wall_minus_mono = (int64_t)w - (int64_t)(m1 / 2 + m2 / 2);
}

uint64_t clock_wall_ns(uint64_t mono_ns) { return (uint64_t)((int64_t)mono_ns + wall_minus_mono); }

/* Each thread keeps the last second it formatted: events come in bursts
 * within one second, and gmtime_r + strftime cost more than the rest of
 * the envelope's fields together. */
void clock_rfc3339(uint64_t wall_ns, char out[32])
{
    static _Thread_local time_t last_s = -1;
    static _Thread_local char last[24];
    static _Thread_local size_t last_n;
    time_t s = (time_t)(wall_ns / 1000000000ull);
    unsigned us = (unsigned)(wall_ns % 1000000000ull / 1000);
    if (s != last_s) {
        struct tm tm;
        gmtime_r(&s, &tm);
        last_n = strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm);
        last_s = last_n ? s : -1;
    }
    memcpy(out, last, last_n);
    out[last_n] = '.';
    for (int i = 6; i >= 1; i--, us /= 10)
        out[last_n + (size_t)i] = (char)('0' + us % 10);
    out[last_n + 7] = 'Z';
    out[last_n + 8] = 0;
}

/* ulid.c: monotonic ULID generator (see ulid.h).  The 80 random bits come
 * from a per-thread generator seeded from getrandom() (util/fastrand) once
 * per millisecond; later ids in the same millisecond add one to them, which
 * keeps ids unique and ordered.  State is per thread, so threads need no
 * lock. */
#include "events/ulid.h"

#include <string.h>

#include "util/fastrand.h"

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static __thread uint64_t last_ms; /* per thread: monitors build events too */
static __thread uint8_t rnd[10];

static void increment(uint8_t r[10])
{
    for (int i = 9; i >= 0; i--)
        if (++r[i] != 0)
            return;
}

void ulid_new(char out[ULID_LEN + 1], uint64_t unix_ms)
{
    if (unix_ms > last_ms) {
        last_ms = unix_ms;
        uint64_t a = fastrand64(), b = fastrand64();
        memcpy(rnd, &a, 8);
        memcpy(rnd + 8, &b, 2);
        rnd[0] &= 0x7f;                 /* room to increment without overflow */
    } else {
        increment(rnd);
    }
    uint64_t t = last_ms;
    for (int i = 9; i >= 0; i--) {
        out[i] = b32[t & 31];
        t >>= 5;
    }
    /* 80 bits -> 16 characters, 5 bits each, big-endian */
    uint64_t hi = ((uint64_t)rnd[0] << 32) | ((uint64_t)rnd[1] << 24) | ((uint64_t)rnd[2] << 16) |
                  ((uint64_t)rnd[3] << 8) | rnd[4];
    uint64_t lo = ((uint64_t)rnd[5] << 32) | ((uint64_t)rnd[6] << 24) | ((uint64_t)rnd[7] << 16) |
                  ((uint64_t)rnd[8] << 8) | rnd[9];
    for (int i = 7; i >= 0; i--) {
        out[10 + i] = b32[hi & 31];
        hi >>= 5;
        out[18 + i] = b32[lo & 31];
        lo >>= 5;
    }
    out[ULID_LEN] = 0;
}

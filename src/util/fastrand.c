/* fastrand.c: splitmix64 per thread (see fastrand.h). */
#include "util/fastrand.h"

#include <sys/random.h>
#include <time.h>

static __thread uint64_t state;
static __thread int seeded;

uint64_t fastrand64(void)
{
    if (!seeded) {
        if (getrandom(&state, sizeof(state), 0) != (ssize_t)sizeof(state)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            state = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
        }
        seeded = 1;
    }
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

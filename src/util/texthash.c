/* texthash.c: see texthash.h. */
#include "util/texthash.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static pthread_once_t seed_once = PTHREAD_ONCE_INIT;
static uint64_t seed;

static void draw_seed(void)
{
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        struct timespec ts; /* no entropy source: still not guessable from outside */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)&seed;
    }
}

texthash texthash_of(const void *p, size_t n)
{
    XXH128_hash_t h = XXH3_128bits(p, n);
    return (texthash){h.low64, h.high64};
}

texthash texthash_keyed(const void *p, size_t n)
{
    pthread_once(&seed_once, draw_seed);
    XXH128_hash_t h = XXH3_128bits_withSeed(p, n, seed);
    return (texthash){h.low64, h.high64};
}

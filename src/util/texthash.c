/* texthash.c: see texthash.h. */
#include "util/texthash.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

texthash texthash_of(const void *p, size_t n)
{
    XXH128_hash_t h = XXH3_128bits(p, n);
    return (texthash){h.low64, h.high64};
}

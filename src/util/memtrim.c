/* memtrim.c: see memtrim.h.  mimalloc is linked into the sensor but not into
 * the sanitizer and fuzz builds, which use their own allocator: its entry
 * point is a weak reference, and glibc's malloc_trim serves otherwise. */
#include "util/memtrim.h"

#include <malloc.h>
#include <stdbool.h>

void mi_collect(bool force) __attribute__((weak));

void mem_release_freed(void)
{
    if (mi_collect)
        mi_collect(false); /* purges that are due happen now, not at the next burst */
    else
        malloc_trim(0);
}

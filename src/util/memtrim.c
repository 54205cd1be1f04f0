/* memtrim.c: see memtrim.h.  mimalloc is linked into the sensor but not into
 * the sanitizer and fuzz builds, which use their own allocator: its entry
 * point is a weak reference, and glibc's malloc_trim serves otherwise. */
#include "util/memtrim.h"

#include <malloc.h>
#include <mimalloc.h>
#include <stdbool.h>

void mi_collect(bool force) __attribute__((weak));
long mi_option_get(mi_option_t option) __attribute__((weak));
void mi_option_set(mi_option_t option, long value) __attribute__((weak));

static long saved_decommit_delay = -1;

void mem_startup_begin(void)
{
    if (!mi_option_set)
        return;
    saved_decommit_delay = mi_option_get(mi_option_decommit_delay);
    mi_option_set(mi_option_decommit_delay, 0);
}

void mem_startup_end(void)
{
    if (mi_collect)
        mi_collect(true);
    if (mi_option_set && saved_decommit_delay >= 0)
        mi_option_set(mi_option_decommit_delay, saved_decommit_delay);
}

void mem_release_freed(void)
{
    if (mi_collect)
        mi_collect(false); /* purges that are due happen now, not at the next burst */
    else
        malloc_trim(0);
}

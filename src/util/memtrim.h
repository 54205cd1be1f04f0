/* memtrim.h: hand memory the allocator keeps after free back to the kernel.
 * The sensor links mimalloc, which returns freed pages only later and only
 * when it is called again: an idle sensor would keep the pages of its last
 * burst resident.  The main loop calls this once a second. */
#ifndef OISP_UTIL_MEMTRIM_H
#define OISP_UTIL_MEMTRIM_H

void mem_release_freed(void);

/* Around start-up, whose peak (BTF, the BPF objects, discovery) is freed
 * before the first event: mimalloc gives freed pages back at once in
 * between, and afterwards only after its usual delay, so that steady
 * operation does not pay for giving pages back and faulting them in. */
void mem_startup_begin(void);
void mem_startup_end(void);

#endif

/* proc.h: the OISP `process` block for a pid (pid, ppid, exe, name,
 * cmdline, uid), read from /proc once and cached.  A cached entry is
 * checked against the process start time, so a reused pid is not mistaken
 * for the old process; exec and exit drop the entry. */
#ifndef OISP_EVENTS_PROC_H
#define OISP_EVENTS_PROC_H

#include <jansson.h>
#include <stdint.h>

typedef struct proc_cache proc_cache;

proc_cache *proc_cache_new(size_t max_entries);
void proc_cache_free(proc_cache *pc);

/* Borrowed reference to the process object for pid (never NULL: a process
 * already gone yields {"pid": pid}).  Valid until the next call. */
json_t *proc_cache_get(proc_cache *pc, uint32_t pid);
void proc_cache_forget(proc_cache *pc, uint32_t pid);

/* Reads /proc/PID into a new process object; NULL if the process is gone.
 * root is the /proc mount to read ("/proc"). */
json_t *proc_read(const char *root, uint32_t pid, uint64_t *start_time);

#endif

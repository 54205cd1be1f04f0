/* proc.h: the process table: the OISP `process` block for a pid (pid,
 * ppid, exe, name, cmdline, uid, cgroup, container_id, ancestors), read
 * from /proc once and cached.
 *
 * Entries are kept current by the kernel's fork/exec/exit records: exec
 * drops the entry's object (the image changed; it is read again when
 * first needed, so an exec storm of processes that never make an event
 * costs no /proc reads), exit marks it dead but keeps it for a
 * grace period (files are closed and in-flight exchanges finished after a
 * process exits, and their events still need it), and the parent of a
 * process is remembered from fork so ancestry works for processes that
 * are already gone.  A pid reused by a new process is caught by exec or
 * by the start time kept per entry. */
#ifndef OISP_EVENTS_PROC_H
#define OISP_EVENTS_PROC_H

#include <jansson.h>
#include <stdint.h>

typedef struct proc_cache proc_cache;

proc_cache *proc_cache_new(size_t max_entries);
void proc_cache_free(proc_cache *pc);

/* Borrowed reference to the full process object for pid, ancestors
 * included (never NULL: a process already gone yields {"pid": pid}).
 * Valid until the next call that changes the cache. */
json_t *proc_cache_get(proc_cache *pc, uint32_t pid);
/* Reads pid's entry now (without ancestors) if it is not cached: for
 * processes that may exit before their first event is built. */
void proc_cache_prefetch(proc_cache *pc, uint32_t pid);
/* The process's image changed (exec): forget what was read of the old
 * one; the next get or prefetch reads the new one. */
void proc_cache_exec(proc_cache *pc, uint32_t pid);
/* The process exited at `now` (monotonic ns): kept until now + grace. */
void proc_cache_exited(proc_cache *pc, uint32_t pid, uint64_t now);
/* The kernel told us pid's parent (fork). */
void proc_cache_set_parent(proc_cache *pc, uint32_t pid, uint32_t ppid);
/* pid's parent, from the cache or /proc; 0 if unknown. */
uint32_t proc_cache_parent(proc_cache *pc, uint32_t pid);
/* Reads every running process into the table (up to half its size). */
void proc_cache_seed(proc_cache *pc);
/* Drops exited entries whose grace period is over. */
void proc_cache_reap(proc_cache *pc, uint64_t now);
/* Forgets everything (used when the table is full). */
void proc_cache_drop(proc_cache *pc, uint32_t pid);

/* Reads /proc/PID into a new process object (no ancestors); NULL if the
 * process is gone.  root is the /proc mount to read ("/proc"). */
json_t *proc_read(const char *root, uint32_t pid, uint64_t *start_time);

/* The container id in a /proc/PID/cgroup text (docker, containerd, crio,
 * podman, kubepods), or "" (out: 65 bytes). */
void proc_container_id(const char *cgroup_text, char out[65]);

#endif

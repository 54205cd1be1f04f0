/* hostcap.h: loads host.bpf.c (process, file and network activity of
 * tracked processes) next to the TLS capture, sharing its ring buffer, and
 * lets user space mark processes as tracked. */
#ifndef OISP_CAPTURE_HOSTCAP_H
#define OISP_CAPTURE_HOSTCAP_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"

typedef struct hostcap_opts {
    int all_processes;             /* track every process */
    uint32_t rate_limit;           /* records per second per process (0: default 2000) */
    const uint32_t *pids;          /* roots: these processes and their descendants */
    size_t npids;
    const char *const *comms;      /* roots by name (at exec) */
    size_t ncomms;
    const char *const *cgroups;    /* roots by cgroup v2 path (e.g. system.slice/agent.service) */
    size_t ncgroups;
} hostcap_opts;

typedef struct hostcap hostcap;

/* ring_fd: the TLS capture's ring buffer map (records arrive there). */
hostcap *hostcap_open(int ring_fd, const hostcap_opts *o, char *err, size_t errlen);

/* Track tgid and its running descendants from now on (idempotent, cheap
 * when already tracked: a tgid confirmed in the kernel map within the last
 * second is not looked up again, so an AI call costs no bpf() syscall). */
void hostcap_track(hostcap *h, uint32_t tgid);

/* tgid exited: forget that it was tracked (its pid may be reused). */
void hostcap_forget(hostcap *h, uint32_t tgid);

void hostcap_read_counters(hostcap *h, uint64_t out[HOST_CNT_MAX]);
void hostcap_close(hostcap *h);

#endif

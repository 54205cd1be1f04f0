/* targets.h: the set of files (TLS libraries and binaries) we have probed,
 * keyed by (device, inode) so each file is attached once however many
 * processes, paths or containers map it, plus a negative cache of files
 * checked and found to carry no OpenSSL. */
#ifndef OISP_CAPTURE_TARGETS_H
#define OISP_CAPTURE_TARGETS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/probe_plan.h"

struct tls_bpf;
struct bpf_link;

typedef struct target {
    dev_t dev;
    ino_t ino;
    char path[512];      /* path used to attach (may be /proc/PID/root/...) */
    probe_plan plan;
    struct bpf_link *links[PROBE_PLAN_MAX * 2];
    size_t nlinks;
    uint32_t first_pid;  /* process in which it was first seen (0: found on disk) */
} target;

typedef struct targets targets;

targets *targets_new(struct tls_bpf *skel);
void targets_free(targets *t); /* detaches every probe */

/* Check one file and attach to it if it carries OpenSSL.  Returns 1 if it
 * is (now or already) attached, 0 if it carries no TLS functions, -1 if
 * attaching failed (errbuf says why).  Cheap for files already checked. */
int targets_consider(targets *t, const char *path, dev_t dev, ino_t ino, uint32_t pid,
                     char *errbuf, size_t errlen);

size_t targets_count(const targets *t);
/* [{path, version, sites[], slow_sites, first_pid, pids[]}]; with_pids scans
 * /proc for the processes mapping each file (slow: for `status`). */
json_t *targets_to_json(const targets *t, int with_pids);
const target *targets_get(const targets *t, size_t i);

#endif

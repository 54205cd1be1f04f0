/* hostev.h: OISP events for host activity records (bpf/host.h):
 * process.exec/exit/fork, file.open/write/delete/rename,
 * network.connect/accept. */
#ifndef OISP_EVENTS_HOSTEV_H
#define OISP_EVENTS_HOSTEV_H

#include <jansson.h>
#include <stddef.h>

#include "events/proc.h"
#include "host.h"

typedef struct hostev hostev;

hostev *hostev_new(proc_cache *pc, json_t *host);
void hostev_free(hostev *h);

/* A new event for r (size bytes), or NULL if r is malformed or carries no
 * event of its own.  The process table is updated from fork/exec/exit
 * records, and the open-file table from opens, as side effects. */
json_t *hostev_event(hostev *h, const struct host_rec *r, size_t size);

/* "/a/b/../c/./d" -> "/a/c/d" in place (absolute paths only). */
void hostev_normalize_path(char *path);

#endif

/* hostev.h: OISP events for host activity records (bpf/host.h):
 * process.exec/exit/fork, file.open/write/delete/rename,
 * network.connect/accept, and network.dns from DNS datagrams (a query
 * waits for its reply; see hostev_set_emit). */
#ifndef OISP_EVENTS_HOSTEV_H
#define OISP_EVENTS_HOSTEV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "events/proc.h"
#include "host.h"

typedef struct hostev hostev;

/* DNS queries waiting longer than this for a reply are emitted without. */
#define HOSTEV_DNS_TIMEOUT_NS (10ull * 1000000000ull)

hostev *hostev_new(proc_cache *pc, json_t *host);
void hostev_free(hostev *h);

/* Receives events that no record returns: network.dns events of queries
 * whose reply did not come in time, whose process exited, that a full
 * table pushed out, or that hostev_expire ends.  tgid: the querying
 * process; ev: a new reference for the callee.  Without a callback those
 * events are dropped. */
typedef void (*hostev_emit_fn)(void *ctx, uint32_t tgid, json_t *ev);
void hostev_set_emit(hostev *h, hostev_emit_fn fn, void *ctx);

/* A new event for r (size bytes), or NULL if r is malformed or carries no
 * event of its own.  The process table is updated from fork/exec/exit
 * records, and the open-file table from opens, as side effects.  A DNS
 * query returns NULL and waits; its reply returns the query's network.dns
 * event with the response fields (NULL if it matches no query).  An exit
 * first emits the process's unanswered queries through the callback. */
json_t *hostev_event(hostev *h, const struct host_rec *r, size_t size);

/* Emits (through the callback) the queries older than max_age_ns without
 * a reply; max_age_ns 0: all of them (shutdown).  now: the records' clock
 * (CLOCK_MONOTONIC ns). */
void hostev_expire(hostev *h, uint64_t now, uint64_t max_age_ns);

typedef struct hostev_stats {
    uint64_t dns_queries;    /* queries parsed and waiting (retries not counted) */
    uint64_t dns_answered;   /* ... that got their reply */
    uint64_t dns_unanswered; /* ... emitted without one */
    uint64_t dns_unmatched;  /* replies that matched no waiting query */
    uint64_t dns_malformed;  /* datagrams that are not a DNS query or reply */
} hostev_stats;
void hostev_get_stats(const hostev *h, hostev_stats *out);

/* "/a/b/../c/./d" -> "/a/c/d" in place (absolute paths only). */
void hostev_normalize_path(char *path);

#endif

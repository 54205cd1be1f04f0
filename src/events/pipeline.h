/* pipeline.h: from captured TLS records to OISP events in the sinks.
 *
 *   record -> conn_table (stream/: HTTP per connection) -> decode/ (is it an
 *   AI API call? which provider, model, messages, usage) -> OISP envelope
 *   with process and host -> sink.
 *
 * ai.request is written as soon as a request is complete, ai.response when
 * its response is; the two share data.request_id.  Exchanges seen from the
 * server side of a connection (a local gateway reading the request) are
 * written only when `inbound` is set, labelled attrs.capture_view
 * "inbound". */
#ifndef OISP_EVENTS_PIPELINE_H
#define OISP_EVENTS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sinks/sink.h"

struct host_rec;

typedef struct pipeline_opts {
    int inbound;         /* also emit the server-side view */
    sink_set *sinks;     /* borrowed */
    /* Called for each process seen making an AI call (to follow its
     * host activity); may be NULL. */
    void (*on_ai_process)(void *ctx, uint32_t pid);
    void *ctx;
} pipeline_opts;

typedef struct pipeline pipeline;

pipeline *pipeline_new(const pipeline_opts *o);
void pipeline_free(pipeline *p);

enum { PIPE_WRITE = 0, PIPE_READ = 1 };

void pipeline_data(pipeline *p, uint32_t tgid, uint32_t tid, uint64_t ssl, int dir,
                   uint64_t offset, const uint8_t *data, size_t len, uint64_t lost_after,
                   uint64_t ts);
void pipeline_close(pipeline *p, uint32_t tgid, uint64_t ssl, uint64_t ts);
void pipeline_exit(pipeline *p, uint32_t tgid, uint64_t ts);
void pipeline_exec(pipeline *p, uint32_t tgid, uint64_t ts);
/* A host activity record (bpf/host.h) of size bytes. */
void pipeline_host(pipeline *p, const struct host_rec *r, size_t size);
void pipeline_tick(pipeline *p, uint64_t now);  /* expiry; call about once a second */
void pipeline_flush(pipeline *p, uint64_t now); /* shutdown: finish all in flight */

typedef struct pipeline_stats {
    uint64_t ai_requests, ai_responses;
    uint64_t non_ai_requests;        /* HTTP requests that are not AI API calls */
    uint64_t inbound_skipped;        /* server-side exchanges not emitted */
    uint64_t requests_no_response;   /* AI requests whose response never came */
    uint64_t responses_no_request;   /* responses whose request was not seen */
    uint64_t host_events;            /* process/file/network events emitted */
    uint64_t host_malformed;         /* host records that could not be decoded */
    uint64_t dns_queries;            /* DNS queries seen (network.dns events to come) */
    uint64_t dns_unanswered;         /* ... emitted without a reply (timeout, exit) */
    uint64_t dns_unmatched;          /* DNS replies that matched no query */
    uint64_t dns_malformed;          /* datagrams to/from port 53 that are not DNS */
    uint64_t tool_calls, tool_results, host_linked; /* agent correlation */
    uint64_t redact_failures;        /* events dropped: redaction ran out of memory */
} pipeline_stats;
void pipeline_get_stats(const pipeline *p, pipeline_stats *out);
/* Events written so far, by type: {"ai.request": N, ...} (thread-safe). */
json_t *pipeline_event_counts(const pipeline *p);
/* Replaces the sink set (reload); returns the old one for the caller to
 * drain and close.  Events emitted after the call go to the new set. */
sink_set *pipeline_swap_sinks(pipeline *p, sink_set *ss);
void pipeline_set_inbound(pipeline *p, int inbound);
/* Replaces the redactor applied to every event (NULL: none); returns the
 * old one for the caller to free.  The pipeline frees the last one. */
struct redactor;
struct redactor *pipeline_swap_redactor(pipeline *p, struct redactor *r);
/* Emits an event built elsewhere (host monitors); takes the reference.
 * Thread-safe. */
void pipeline_emit(pipeline *p, json_t *ev);
struct conn_table;
const struct conn_table *pipeline_conns(const pipeline *p);

#endif

/* deliver.h: the delivery engine shared by the network sinks (OTLP, Kafka,
 * webhook).
 *
 * Each engine owns one bounded queue (events and bytes), one worker thread
 * and one dead-letter file.  submit() only appends to the queue and never
 * waits for the network; the worker takes batches (up to batch_max events
 * or batch_max_bytes, or whatever is there after linger_ms), hands them to
 * the sink's send() and, for the events send() marks for retry, sleeps a
 * "full jitter" backoff (a uniform random time in [0, min(backoff_max,
 * backoff_base * 2^attempt)]) and tries again, at most max_retries times.
 *
 * What cannot be delivered (permanent failure, retries exhausted, queue
 * full, or still queued when close()'s drain time runs out) is appended to
 * the sink's dead-letter file (dlq.h), one whole line per event, unchanged.
 * Only if even that write fails is an event counted as dropped, so at any
 * quiet moment submitted == delivered + dead_lettered + dropped + queued. */
#ifndef OISP_SINKS_DELIVER_H
#define OISP_SINKS_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "sinks/sink.h"

/* One queued event: the line and the envelope fields sinks key on, copied
 * into a single allocation together with `extra` (extra_size bytes, zeroed,
 * for what a sink extracts from the parsed event at submit time). */
typedef struct deliver_item {
    struct deliver_item *next;
    uint64_t enq_ns;
    size_t len;
    uint32_t pid;
    char *line; /* NUL-terminated, no newline */
    const char *type, *event_id, *trace_id; /* "" when absent */
    void *extra;
} deliver_item;

/* What send() says about each event of a batch. */
enum { DELIVER_OK = 0, DELIVER_RETRY = 1, DELIVER_FAIL = 2 };

typedef struct deliver_ops {
    /* Worker thread only.  Deliver items[0..n) within timeout_ms and set
     * res[i] for each.  attempt is 0 for a fresh batch and k for its k-th
     * retry (then items are those of the previous call still marked
     * RETRY, in order).  err gets a short reason for the last failure. */
    void (*send)(void *ctx, deliver_item **items, size_t n, unsigned attempt, int timeout_ms,
                 uint8_t *res, char *err, size_t errlen);
    /* Optional: extract what the sink needs from e->ev into extra. */
    void (*extract)(const sink_event *e, void *extra);
    size_t extra_size;
    /* Frees ctx once the worker has stopped. */
    void (*free)(void *ctx);
} deliver_ops;

/* Sizes and the send timeout left 0 take the default; linger_ms and the
 * backoff times may be 0. */
typedef struct deliver_opts {
    size_t queue_max;       /* events waiting, default 100000 */
    size_t queue_max_bytes; /* bytes waiting, default 256 MiB */
    size_t batch_max;       /* events per send, default 1000 */
    size_t batch_max_bytes; /* bytes per send, default 4 MiB */
    int linger_ms;          /* wait this long for a batch to fill, default 200 */
    int max_retries;        /* retries after the first attempt, default 8 */
    int backoff_base_ms;    /* default 200 */
    int backoff_max_ms;     /* default 30000 */
    int send_timeout_ms;    /* per send() call, default 10000 */
    const char *dlq_dir;    /* NULL: dlq_default_dir() */
    const char *dlq_path;   /* the dead-letter file itself (overrides dlq_dir; replay) */
    const char *dlq_header; /* JSON for the side header (dlq.h); NULL: kind + target */
} deliver_opts;

void deliver_opts_default(deliver_opts *o);

typedef struct deliver deliver;

/* Starts the worker.  kind/target name the sink ("webhook",
 * "http://..."); they choose the dead-letter file.  ctx belongs to the
 * engine from here on, also on failure (ops->free is called).  NULL on
 * error with the reason in err. */
deliver *deliver_new(const char *kind, const char *target, const deliver_opts *o,
                     const deliver_ops *ops, void *ctx, char *err, size_t errlen);
/* Copies e into a queue item and queues it; never waits on the network.
 * 0 if queued, -1 if it did not fit (then dead-lettered, or dropped if
 * that failed too). */
int deliver_submit(deliver *d, const sink_event *e);
/* Ask the worker to send what is queued now instead of lingering. */
void deliver_flush(deliver *d);
/* Stops accepting, delivers what it can within drain_timeout_ms, writes
 * the rest to the dead-letter file, joins the worker and frees. */
void deliver_close(deliver *d, int drain_timeout_ms);
void deliver_stats(deliver *d, sink_stats *out);
const char *deliver_dlq_path(const deliver *d);
/* The last failure's reason ("" if none); copied into buf. */
void deliver_last_error(deliver *d, char *buf, size_t n);

/* A sink (sink.h) that is just an engine: submit/flush/close/stats map
 * onto the calls above.  Takes ownership of d.  name is the sink's name. */
sink *deliver_sink_new(const char *kind, const char *name, deliver *d);

#endif

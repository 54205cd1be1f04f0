/* sink.h: the interface every event destination implements (JSONL file,
 * WebSocket, OTLP, Kafka, webhook), and the sink set that fans one event
 * out to all of them.
 *
 * An event is serialised once; each sink gets the same line.  submit()
 * never blocks the caller (the capture loop): a network sink queues the
 * line (bounded) and delivers it from its own thread; what does not fit or
 * cannot be delivered after retries goes to its dead-letter file, and every
 * outcome is counted in sink_stats. */
#ifndef OISP_SINKS_SINK_H
#define OISP_SINKS_SINK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sink_event {
    const char *line;      /* compact JSON, no newline */
    size_t len;
    const char *type;      /* event_type */
    const char *event_id;
    const char *trace_id;  /* trace_context.trace_id or NULL */
    uint32_t pid;          /* process.pid or 0 */
    const json_t *ev;      /* the parsed event; valid only during submit() */
} sink_event;

typedef struct sink_stats {
    uint64_t submitted;     /* events handed to the sink */
    uint64_t delivered;     /* confirmed written/acknowledged */
    uint64_t retried;       /* delivery attempts that were retried */
    uint64_t failed;        /* delivery attempts that failed */
    uint64_t dead_lettered; /* events written to the dead-letter file */
    uint64_t dropped;       /* events lost (not delivered, not dead-lettered) */
    uint64_t queued;        /* events waiting now */
} sink_stats;

typedef struct sink sink;

typedef struct sink_vtbl {
    const char *kind;                                /* "jsonl", "websocket", ... */
    int (*submit)(sink *s, const sink_event *e);     /* 0, or -1 if not accepted (counted) */
    void (*flush)(sink *s);                          /* push buffered data out now (cheap) */
    void (*close)(sink *s, int drain_timeout_ms);    /* deliver or dead-letter the queue, free */
    void (*stats)(sink *s, sink_stats *out);
} sink_vtbl;

struct sink {
    const sink_vtbl *v;
    char name[64]; /* e.g. "jsonl:events.jsonl", "kafka:b1:9092/oisp" */
};

typedef struct sink_set sink_set;

sink_set *sink_set_new(void);
/* Takes ownership of s. */
int sink_set_add(sink_set *ss, sink *s);
/* Serialises ev once and submits it to every sink.  Thread-safe. */
void sink_set_emit(sink_set *ss, const json_t *ev);
void sink_set_flush(sink_set *ss);
/* Per-sink counters as {"sinks":[{"name":..,"kind":..,"delivered":..,...}], "encode_errors":N}. */
json_t *sink_set_status(sink_set *ss);
size_t sink_set_count(const sink_set *ss);
void sink_set_get_stats(sink_set *ss, size_t i, const char **name, const char **kind,
                        sink_stats *out);
/* Closes every sink (each drains up to drain_timeout_ms) and frees the set. */
void sink_set_close(sink_set *ss, int drain_timeout_ms);
/* Where sink_opts.c keeps the parsed sink options of this set (freed with it). */
struct sink_opts;
struct sink_opts **sink_set_opts_slot(sink_set *ss);
/* The i-th sink (NULL if out of range); it stays owned by the set. */
sink *sink_set_get(sink_set *ss, size_t i);

/* The JSONL file sink (sinks/jsonl.c) behind this interface. */
sink *sink_jsonl_new(const char *path, char *err, size_t errlen);
/* The same with rotation / flush / fsync settings (jsonl.h). */
struct jsonl_opts;
sink *sink_jsonl_new_opts(const char *path, const struct jsonl_opts *o, char *err, size_t errlen);

#endif

/* sink_opts.h: the command-line options that choose and tune the sinks,
 * for `record` (merged into its getopt_long table) and `dlq replay`.
 *
 * Each option maps one to one onto a key of the future config file:
 *
 *   --ws ADDR                sinks.websocket.listen       (e.g. 127.0.0.1:7778)
 *   --ws-token T             sinks.websocket.token
 *   --otlp URL               sinks.otlp.url               (base: /v1/logs, /v1/traces added)
 *   --otlp-header K=V        sinks.otlp.headers.K         (repeatable)
 *   --otlp-token T           sinks.otlp.token             (Authorization: Bearer T)
 *   --otlp-gzip              sinks.otlp.gzip = true
 *   --kafka BROKERS/TOPIC    sinks.kafka.brokers, sinks.kafka.topic
 *   --kafka-key K            sinks.kafka.key              (event_id | process | trace_id)
 *   --kafka-compression C    sinks.kafka.compression      (none gzip snappy lz4 zstd)
 *   --kafka-prop K=V         sinks.kafka.properties.K     (any librdkafka property; repeatable)
 *   --webhook URL            sinks.webhook.url
 *   --webhook-format F       sinks.webhook.format         (json | ndjson)
 *   --webhook-auth A         sinks.webhook.auth           (bearer:T | apikey:HEADER:T | basic:U:P)
 *   --sink-queue N           sinks.queue_size             (events per network sink, default 100000)
 *   --sink-retries N         sinks.max_retries            (default 8)
 *   --sink-batch N           sinks.batch_size             (default 1000)
 *   --sink-linger MS         sinks.linger                 (default 200)
 *   --sink-timeout MS        sinks.timeout                (per request, default 10000)
 *   --sink-backoff MS[,MAX]  sinks.backoff, sinks.backoff_max (default 200,30000)
 *   --dlq-dir DIR            sinks.dead_letter_dir        (default /var/lib/oisp/dlq, ./dlq if not root)
 *   --rotate-size N          sinks.jsonl.rotate_size      (K/M/G suffixes)
 *   --rotate-interval SECS   sinks.jsonl.rotate_interval
 *   --rotate-keep N          sinks.jsonl.rotate_keep      (default 5)
 *   --flush-interval MS      sinks.jsonl.flush_interval   (default 100)
 *   --fsync-interval MS      sinks.jsonl.fsync_interval   (default 0: never)
 *
 * The parsed values live in the sink_set until sink_opts_start() opens
 * the sinks they describe. */
#ifndef OISP_SINKS_SINK_OPTS_H
#define OISP_SINKS_SINK_OPTS_H

#include <getopt.h>
#include <stddef.h>

#include "sinks/sink.h"

/* getopt_long returns SINK_OPT_BASE + index for these options. */
#define SINK_OPT_BASE 0x5100

/* The table (terminated by a zero entry) and its length. */
const struct option *sink_opts_long(void);
size_t sink_opts_count(void);
/* Index of the option called name (no dashes), or -1. */
int sink_opts_index(const char *name);
/* Help text for these options, for `record --help`. */
const char *sink_opts_usage(void);

/* Records one option (opt_index = getopt value - SINK_OPT_BASE).  Values
 * are copied.  0, or -1 with the reason in err. */
int sink_opts_parse(sink_set *ss, int opt_index, const char *value, char *err, size_t errlen);
/* Opens what the options chose and adds it to ss: the JSONL file
 * (jsonl_path, NULL for none) with the rotation settings, then every
 * network sink.  0, or -1 with the reason in err (sinks opened so far
 * stay in ss). */
int sink_opts_start(sink_set *ss, const char *jsonl_path, char *err, size_t errlen);
/* 1 if any network sink was chosen. */
int sink_opts_any_network(sink_set *ss);

/* For dlq replay: every sink opened afterwards dead-letters into path. */
int sink_opts_set_dlq_path(sink_set *ss, const char *path);
/* The side-header JSON (dlq.h) of the sink of this kind, as
 * sink_opts_start would write it; caller frees.  NULL if not chosen. */
char *sink_opts_header(sink_set *ss, const char *kind);

struct sink_opts;
void sink_opts_free(struct sink_opts *o);

#endif

/* kafka.h: the Kafka sink (librdkafka producer behind the delivery engine).
 *
 * Each event is one message on `topic`, its value the event's JSON line.
 * The key is the event_id, the process (pid in decimal, so one process's
 * events stay in order on one partition) or the trace_id (events without
 * one get no key).  Compression is none, gzip, snappy, lz4 or zstd; any
 * other librdkafka property (SASL, TLS, acks, ...) is passed through as
 * "name=value".  The engine hands over a batch, the producer sends it and
 * every message's delivery report decides: delivered, retried by the
 * engine (timeouts, broker and transport errors) or dead-lettered at once
 * (message too large, invalid, not authorised). */
#ifndef OISP_SINKS_KAFKA_H
#define OISP_SINKS_KAFKA_H

#include <stddef.h>

#include "sinks/deliver.h"

#define KAFKA_MAX_PROPS 64

enum { KAFKA_KEY_EVENT_ID, KAFKA_KEY_PROCESS, KAFKA_KEY_TRACE_ID };

typedef struct sink_kafka_config {
    const char *brokers;                 /* host:port[,host:port] (sinks.kafka.brokers) */
    const char *topic;                   /*                       (sinks.kafka.topic) */
    int key;                             /* KAFKA_KEY_*           (sinks.kafka.key) */
    const char *compression;             /* NULL = none           (sinks.kafka.compression) */
    const char *props[KAFKA_MAX_PROPS];  /* "name=value"          (sinks.kafka.properties) */
    size_t nprops;
    int timeout_ms;                      /* per batch, default 30000 (sinks.kafka.timeout) */
    deliver_opts d;
} sink_kafka_config;

void sink_kafka_config_default(sink_kafka_config *c);
/* "event_id", "process", "trace_id" -> KAFKA_KEY_*, or -1. */
int sink_kafka_key_parse(const char *s);
sink *sink_kafka_new(const sink_kafka_config *c, char *err, size_t errlen);

#endif

/* otlp.h: the OpenTelemetry (OTLP/HTTP, JSON encoding) sink.
 *
 * Logs.  Every event becomes one LogRecord, POSTed to URL/v1/logs.  The
 * body is the OISP event as a stringValue holding its JSON line unchanged:
 * collectors and backends (Loki, Elasticsearch, the debug exporter) show
 * it as the event text and can parse it back, whereas a kvlistValue is
 * rendered differently by each and loses nothing only in theory.  The
 * record carries the attributes gen_ai.system, gen_ai.request.model,
 * gen_ai.response.model, gen_ai.usage.input_tokens,
 * gen_ai.usage.output_tokens, gen_ai.response.finish_reasons (array),
 * gen_ai.tool.name / gen_ai.tool.call.id for tool events, oisp.event_type,
 * oisp.event_id, event.name and process.pid, and the traceId/spanId of the
 * exchange it belongs to.
 *
 * Traces.  One span per AI exchange (kind CLIENT), named "chat {model}",
 * from the ai.request's ts to the ai.response's ts (when the request was not
 * seen, from ts - latency_ms), with the same gen_ai.* attributes and status
 * ERROR when the response failed.  The trace id is the request's
 * trace_context.trace_id when present, else the first 16 bytes of
 * SHA-256("oisp-trace:" + request_id); the span id is the first 8 bytes of
 * SHA-256("oisp-span:" + request_id), so every sensor names an exchange
 * the same way.  agent.tool_call events whose related_events point at an
 * ai.response (caused_by/parent) open a child span "execute_tool {tool}",
 * closed by the agent.tool_result with the same call_id (a tool call
 * without a result gets no span).  Spans are POSTed to URL/v1/traces.
 *
 * Both requests carry resource {service.name=oisp-sensor, service.version,
 * host.name} and scope {name=oisp-sensor}.  gzip (Content-Encoding),
 * custom headers, bearer token and timeouts are options.  An event counts
 * as delivered once its log record is accepted; a batch whose logs went
 * through but whose spans failed retries only the spans, and a collector
 * that refuses traces for good (4xx) does not make the events undelivered.
 * Delivery goes through the engine (deliver.h). */
#ifndef OISP_SINKS_OTLP_H
#define OISP_SINKS_OTLP_H

#include <stddef.h>

#include "sinks/deliver.h"

#define OTLP_MAX_HEADERS 32

typedef struct sink_otlp_config {
    const char *url;                        /* base URL: http://host:4318 (sinks.otlp.url) */
    const char *headers[OTLP_MAX_HEADERS];  /* "Name=value"               (sinks.otlp.headers) */
    size_t nheaders;
    const char *token;                      /* bearer token               (sinks.otlp.token) */
    int gzip;                               /*                            (sinks.otlp.gzip) */
    int timeout_ms;                         /* default 10000              (sinks.otlp.timeout) */
    deliver_opts d;
} sink_otlp_config;

void sink_otlp_config_default(sink_otlp_config *c);
sink *sink_otlp_new(const sink_otlp_config *c, char *err, size_t errlen);

#endif

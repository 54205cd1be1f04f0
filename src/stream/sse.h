/* sse.h: Server-Sent Events parser (text/event-stream), per the WHATWG
 * rules: lines end in LF, CR or CRLF; "event:", "data:" (joined with LF),
 * "id:", "retry:" fields; comments (":") ignored; an event is dispatched on a
 * blank line.  Incremental: feed any split of the stream.  Each event reports
 * the stream offset of its first byte so the caller can map it to a capture
 * timestamp (http_msg.marks). */
#ifndef OISP_STREAM_SSE_H
#define OISP_STREAM_SSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sse_event {
    const char *event;   /* "message" when no event: field was given */
    const char *data;    /* joined data lines, NUL-terminated */
    size_t data_len;
    const char *id;      /* last event id, "" if none */
    size_t offset;       /* stream offset of the event's first line */
} sse_event;

typedef void (*sse_event_cb)(void *ctx, const sse_event *ev);

typedef struct sse_parser sse_parser;

/* max_event_bytes bounds one event's data (default 8 MiB when 0); longer
 * events are cut and counted in sse_parser_truncated(). */
sse_parser *sse_parser_new(size_t max_event_bytes, sse_event_cb cb, void *ctx);
void sse_parser_feed(sse_parser *p, const uint8_t *data, size_t len);
/* End of stream: dispatches a final event not followed by a blank line. */
void sse_parser_finish(sse_parser *p);
uint64_t sse_parser_truncated(const sse_parser *p);
void sse_parser_free(sse_parser *p);

/* Convenience: parse a whole buffer; returns the number of events. */
size_t sse_parse_all(const uint8_t *data, size_t len, sse_event_cb cb, void *ctx);

#endif

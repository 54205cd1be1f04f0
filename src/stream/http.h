/* http.h: incremental HTTP/1.1 message parser, one per connection direction.
 *
 * Bytes arrive in whatever pieces SSL_read/SSL_write saw; a request line,
 * a header or a chunk-size line may be split at any byte.  The parser keeps
 * only what it must (the current header block, the decoded body up to a
 * limit) and hands out complete messages through callbacks.  Bodies are
 * de-chunked and decompressed (gzip, deflate, br, zstd) as they arrive, and
 * every feed that adds body bytes leaves a (body offset, timestamp) mark so a
 * decoder can tell when each part of a streamed (SSE) body arrived. */
#ifndef OISP_STREAM_HTTP_H
#define OISP_STREAM_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_header {
    char *name;  /* as sent; compare case-insensitively */
    char *value; /* leading/trailing whitespace removed */
} http_header;

typedef struct http_mark {
    size_t offset; /* decoded body offset at which this feed's bytes start */
    uint64_t ts;   /* timestamp (ns, CLOCK_MONOTONIC) of that feed */
} http_mark;

/* http_msg.flags */
#define HTTP_MSG_TRUNCATED    0x01 /* decoded body longer than the limit; rest counted, not kept */
#define HTTP_MSG_INCOMPLETE   0x02 /* ended by close/gap/EOF before its framing said it was done */
#define HTTP_MSG_DECODE_ERROR 0x04 /* content-encoding could not be decoded; body holds raw bytes */
#define HTTP_MSG_CAPTURE_GAP  0x08 /* bytes missing inside the message (capture cap or lost record) */
#define HTTP_MSG_PARSE_ERROR  0x10 /* framing broke inside the body (e.g. bad chunk size); ends INCOMPLETE */

typedef struct http_msg {
    int is_request;
    char method[16];        /* request: "POST" */
    char *target;           /* request: "/v1/chat/completions?x=y" (NUL-terminated) */
    int status;             /* response: 200 */
    char *reason;           /* response: "OK" */
    int version_minor;      /* HTTP/1.x */
    http_header *headers;
    size_t nheaders;
    uint8_t *body;          /* decoded body, NUL-terminated (body[body_len] == 0) */
    size_t body_len;
    uint64_t body_dropped;  /* decoded bytes beyond the limit, not kept (content-encoded
                               bodies: encoded bytes left undecoded once the limit was hit) */
    uint64_t wire_len;      /* bytes of this message on the wire, head included */
    http_mark *marks;
    size_t nmarks;
    uint64_t ts_start;      /* first byte of the message */
    uint64_t ts_headers;    /* end of the header block */
    uint64_t ts_end;        /* last byte */
    uint32_t tid;           /* thread that moved the first byte */
    unsigned flags;         /* HTTP_MSG_* */
    void *user;             /* owned by the layer above (see conn.h) */
    char *head_block;       /* parsed messages: target, reason and header strings point into
                               this one allocation; NULL when each was malloc'd on its own */
} http_msg;

/* Case-insensitive header lookup; first match or NULL. */
const char *http_msg_header(const http_msg *m, const char *name);
/* Frees m itself (heap-allocated) and everything it points to: head_block if
 * set, otherwise target, reason and each header name/value individually. */
void http_msg_free(http_msg *m);

typedef struct http_limits {
    size_t max_header_bytes; /* whole header block; default 64 KiB */
    size_t max_body_bytes;   /* decoded body kept per message; default 16 MiB */
    size_t max_marks;        /* marks kept per message (merged beyond); default 4096 */
} http_limits;
void http_limits_default(http_limits *l);

typedef enum { HTTP_PARSE_REQUEST, HTTP_PARSE_RESPONSE } http_parse_kind;

typedef struct http_parser http_parser;

typedef struct http_parser_cb {
    void *ctx;
    /* A whole message was parsed; ownership of msg passes to the callee. */
    void (*on_message)(void *ctx, http_msg *msg);
    /* Response parser only: asked when a response head is complete, to learn
     * the request method it answers (a response to HEAD has no body). May be NULL. */
    const char *(*request_method)(void *ctx);
} http_parser_cb;

http_parser *http_parser_new(http_parse_kind kind, const http_limits *lim, const http_parser_cb *cb);
void http_parser_free(http_parser *p);

/* Feed bytes.  Returns 0, or -1 when the stream is not HTTP/1.x or is
 * malformed beyond recovery: the parser then resynchronises (it discards
 * bytes until a feed starts with a plausible message start) and counts the
 * error.  Never crashes on any input.  -1 comes once per loss of sync; feeds
 * dropped while already resynchronising return 0 (see bytes_discarded). */
int http_parser_feed(http_parser *p, const uint8_t *data, size_t len, uint64_t ts, uint32_t tid);

/* The stream lost bytes here (capture gap): finish the current message as
 * INCOMPLETE|CAPTURE_GAP (delivered if its head was complete) and resync. */
void http_parser_gap(http_parser *p, uint64_t ts);

/* The connection closed: a close-delimited body ends here (complete); any
 * other message in progress is delivered INCOMPLETE if its head was complete. */
void http_parser_close(http_parser *p, uint64_t ts);

/* 1 while the parser is waiting for the start of a message (idle or resync). */
int http_parser_idle(const http_parser *p);

/* The message whose head is complete and whose body is still arriving, or
 * NULL.  Only its head fields (method, target, status, headers, ts_*) are
 * meaningful; it stays owned by the parser. */
const http_msg *http_parser_current(const http_parser *p);

/* Does data look like the start of a message of this kind (leading CR/LF
 * skipped)?  Requests: a known method token and SP; responses: "HTTP/1.".
 * Returns 1 yes, 0 too short to tell (a prefix of a start), -1 no. */
int http_message_start(http_parse_kind kind, const uint8_t *data, size_t len);

typedef struct http_parser_stats {
    uint64_t messages, errors, resyncs, bytes_discarded;
} http_parser_stats;
const http_parser_stats *http_parser_get_stats(const http_parser *p);

#endif

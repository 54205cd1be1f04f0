/* http_driver.h: feeds a byte stream through one http_parser the way the
 * capture would (pieces of PRNG-chosen sizes, rising timestamps, an optional
 * capture gap and a close), and checks every message handed out.  Shared by
 * fuzz_http_request.c, fuzz_http_response.c and fuzz_http_chunked.c.
 *
 * opts byte: bits 0-1 limits (0 defaults, 1 small, 2 tiny, 3 defaults with
 * few marks); bit 2 a capture gap a third of the way in; bits 3-4 what the
 * response parser is told the request method was (POST, HEAD, GET, none);
 * bit 5 no close at the end (the parser is freed mid-message). */
#ifndef OISP_FUZZ_HTTP_DRIVER_H
#define OISP_FUZZ_HTTP_DRIVER_H

#include <string.h>

#include "fuzz.h"
#include "stream/http.h"

typedef struct http_drive {
    http_limits lim;
    uint8_t opts;
    size_t messages;
} http_drive;

static void http_drive_check(const http_drive *d, const http_msg *m)
{
    FUZZ_CHECK(m->body != NULL || m->body_len == 0);
    if (m->body)
        FUZZ_CHECK(m->body[m->body_len] == 0);
    FUZZ_CHECK(m->body_len <= d->lim.max_body_bytes);
    FUZZ_CHECK(m->nmarks <= d->lim.max_marks);
    for (size_t i = 0; i < m->nmarks; i++) {
        FUZZ_CHECK(m->marks[i].offset <= m->body_len + m->body_dropped);
        if (i)
            FUZZ_CHECK(m->marks[i].offset >= m->marks[i - 1].offset && m->marks[i].ts >= m->marks[i - 1].ts);
    }
    FUZZ_CHECK(m->ts_start <= m->ts_headers && m->ts_headers <= m->ts_end);
    if (m->is_request) {
        FUZZ_CHECK(memchr(m->method, 0, sizeof m->method) != NULL);
        FUZZ_CHECK(m->target != NULL);
        (void)strlen(m->target);
    } else {
        FUZZ_CHECK(m->status >= 100 && m->status <= 999);
    }
    for (size_t i = 0; i < m->nheaders; i++) {
        FUZZ_CHECK(m->headers[i].name && m->headers[i].value);
        (void)strlen(m->headers[i].name);
        (void)strlen(m->headers[i].value);
    }
    (void)http_msg_header(m, "content-type");
}

static void http_drive_on_message(void *ctx, http_msg *m)
{
    http_drive *d = ctx;
    http_drive_check(d, m);
    d->messages++;
    http_msg_free(m);
}

static const char *http_drive_method(void *ctx)
{
    static const char *const methods[] = {"POST", "HEAD", "GET", NULL};
    const http_drive *d = ctx;
    return methods[(d->opts >> 3) & 3];
}

static void http_drive_limits(http_limits *l, uint8_t opts)
{
    http_limits_default(l);
    switch (opts & 3) {
    case 1: l->max_header_bytes = 1024; l->max_body_bytes = 8192; l->max_marks = 16; break;
    case 2: l->max_header_bytes = 64; l->max_body_bytes = 16; l->max_marks = 1; break;
    case 3: l->max_marks = 2; break;
    default: break;
    }
}

/* Feeds prefix (whole, if any) then data split by seed; returns the number
 * of messages delivered. */
static size_t http_drive_run(http_parse_kind kind, uint8_t seed, uint8_t opts, const uint8_t *prefix,
                             size_t prefix_len, const uint8_t *data, size_t len)
{
    http_drive d = {.opts = opts};
    http_drive_limits(&d.lim, opts);
    http_parser_cb cb = {.ctx = &d, .on_message = http_drive_on_message};
    if (((opts >> 3) & 3) != 3)
        cb.request_method = http_drive_method;
    http_parser *p = http_parser_new(kind, &d.lim, &cb);
    FUZZ_CHECK(p != NULL);
    uint64_t ts = 1000;
    if (prefix_len)
        http_parser_feed(p, prefix, prefix_len, ts++, 1);
    fuzz_rng r;
    fuzz_rng_init(&r, seed);
    size_t gap_at = (opts & 4) ? len / 3 : (size_t)-1, off = 0;
    while (off < len) {
        size_t n = fuzz_piece(&r, seed, len - off);
        if (off <= gap_at && gap_at < off + n && gap_at != (size_t)-1) {
            http_parser_gap(p, ts++);
            gap_at = (size_t)-1;
        }
        int rc = http_parser_feed(p, data + off, n, ts, 2);
        FUZZ_CHECK(rc == 0 || rc == -1);
        ts += 1 + (fuzz_rng_next(&r) & 0xffff);
        off += n;
        (void)http_parser_idle(p);
        const http_msg *cur = http_parser_current(p);
        if (cur)
            (void)http_msg_header(cur, "transfer-encoding");
    }
    if (!(opts & 0x20))
        http_parser_close(p, ts);
    const http_parser_stats *st = http_parser_get_stats(p);
    FUZZ_CHECK(st->messages == d.messages);
    http_parser_free(p);
    return d.messages;
}

#endif

/* test_http.c: tests for src/stream/http.c, the incremental HTTP/1.1 parser.
 *
 * Every test stream is parsed whole, split in two at every byte position and
 * fed one byte at a time; all three must give the same messages (compared
 * through a text summary of every field but timestamps and marks), and the
 * whole-feed result is checked against what the stream really says.  Then
 * malformed input, limits, gaps, close, resync, marks and a fuzz loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "../data/stream/brotli_fixtures.h"
#include "stream/http.h"

#define MAX_MSGS 256

/* ---- helpers ------------------------------------------------------------ */

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static void bytes_add(bytes *b, const void *p, size_t n)
{
    b->p = realloc(b->p, b->n + n + 1);
    assert_non_null(b->p);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void bytes_str(bytes *b, const char *s)
{
    bytes_add(b, s, strlen(s));
}

static void bytes_fmt(bytes *b, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    bytes_add(b, tmp, (size_t)n);
}

/* Frame src as chunked with chunks of `size` bytes (hex sizes, an extension
 * on every other chunk), then the last chunk and an empty trailer. */
static void chunkify(bytes *out, const uint8_t *src, size_t n, size_t size)
{
    for (size_t off = 0, i = 0; off < n; off += size, i++) {
        size_t k = n - off < size ? n - off : size;
        if (i % 2)
            bytes_fmt(out, "%zx;i=%zu\r\n", k, i);
        else
            bytes_fmt(out, "%zX\r\n", k);
        bytes_add(out, src + off, k);
        bytes_str(out, "\r\n");
    }
    bytes_str(out, "0\r\n\r\n");
}

static bytes zlib_pack(const void *src, size_t n, size_t reps, int wbits)
{
    bytes out = {0};
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t buf[65536];
    for (size_t r = 0; r <= reps; r++) {
        int flush = r == reps ? Z_FINISH : Z_NO_FLUSH, ret;
        z.next_in = (Bytef *)src;
        z.avail_in = r == reps ? 0 : (uInt)n;
        do {
            z.next_out = buf;
            z.avail_out = sizeof buf;
            ret = deflate(&z, flush);
            bytes_add(&out, buf, sizeof buf - z.avail_out);
        } while (z.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
    }
    deflateEnd(&z);
    return out;
}

typedef struct collector {
    http_msg *m[MAX_MSGS];
    size_t n;
    const char *method; /* what request_method answers */
} collector;

static void on_msg(void *ctx, http_msg *m)
{
    collector *c = ctx;
    assert_true(c->n < MAX_MSGS);
    c->m[c->n++] = m;
}

static const char *req_method(void *ctx)
{
    return ((collector *)ctx)->method;
}

static void collector_clear(collector *c)
{
    for (size_t i = 0; i < c->n; i++)
        http_msg_free(c->m[i]);
    c->n = 0;
}

static http_parser *parser_for(http_parse_kind kind, collector *c, const http_limits *lim)
{
    http_parser_cb cb = {c, on_msg, req_method};
    http_parser *p = http_parser_new(kind, lim, &cb);
    assert_non_null(p);
    return p;
}

/* Properties every delivered message must have. */
static void check_invariants(const http_msg *m, size_t max_marks)
{
    assert_non_null(m->body);
    assert_int_equal(m->body[m->body_len], 0);
    assert_true(m->nmarks <= max_marks);
    for (size_t i = 0; i < m->nmarks; i++) {
        assert_true(m->marks[i].offset < m->body_len);
        if (i)
            assert_true(m->marks[i].offset > m->marks[i - 1].offset);
    }
    if (m->body_len)
        assert_true(m->nmarks >= 1 && m->marks[0].offset == 0);
    assert_true(m->ts_start <= m->ts_headers && m->ts_headers <= m->ts_end);
    if (m->is_request)
        assert_non_null(m->target);
    else
        assert_non_null(m->reason);
    for (size_t i = 0; i < m->nheaders; i++)
        assert_true(m->headers[i].name[0] != 0);
}

/* Everything but timestamps and marks, as text (bodies in hex). */
static char *summarize(const collector *c)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    for (size_t i = 0; i < c->n; i++) {
        const http_msg *m = c->m[i];
        fprintf(f, "req=%d %s %s st=%d reason=%s v=%d flags=%x len=%zu drop=%llu wire=%llu\n",
                m->is_request, m->method, m->target ? m->target : "-", m->status,
                m->reason ? m->reason : "-", m->version_minor, m->flags, m->body_len,
                (unsigned long long)m->body_dropped, (unsigned long long)m->wire_len);
        for (size_t h = 0; h < m->nheaders; h++)
            fprintf(f, " [%s]=[%s]\n", m->headers[h].name, m->headers[h].value);
        for (size_t b = 0; b < m->body_len; b++)
            fprintf(f, "%02x", m->body[b]);
        fputc('\n', f);
    }
    fclose(f);
    return out;
}

/* Feed `in` as pieces: at `split` in two (step 0) or `step` bytes at a time. */
static void feed_pieces(http_parser *p, const bytes *in, size_t split, size_t step, int close)
{
    uint64_t ts = 1000;
    if (step) {
        for (size_t off = 0; off < in->n; off += step)
            http_parser_feed(p, in->p + off, in->n - off < step ? in->n - off : step, ts++, 7);
    } else {
        http_parser_feed(p, in->p, split, ts++, 7);
        http_parser_feed(p, in->p + split, in->n - split, ts++, 7);
    }
    if (close)
        http_parser_close(p, ts);
}

typedef struct vec {
    const char *name;
    http_parse_kind kind;
    const char *method;
    bytes data;
    int close;
    size_t nmsgs;
    void (*check)(const collector *c, const bytes *data);
} vec;

/* Parse v whole, at every split and byte by byte: all must agree; then run
 * v's own checks on the result. */
static void run_vec(const vec *v)
{
    collector c = {.method = v->method};
    http_parser *p = parser_for(v->kind, &c, NULL);
    feed_pieces(p, &v->data, v->data.n, 0, v->close);
    http_parser_free(p);
    if (c.n != v->nmsgs)
        fail_msg("%s: %zu messages, want %zu", v->name, c.n, v->nmsgs);
    for (size_t i = 0; i < c.n; i++)
        check_invariants(c.m[i], 4096);
    if (v->check)
        v->check(&c, &v->data);
    char *want = summarize(&c);
    collector_clear(&c);

    for (size_t split = 0; split <= v->data.n + 1; split++) {
        p = parser_for(v->kind, &c, NULL);
        if (split <= v->data.n)
            feed_pieces(p, &v->data, split, 0, v->close);
        else
            feed_pieces(p, &v->data, 0, 1, v->close);
        http_parser_free(p);
        for (size_t i = 0; i < c.n; i++)
            check_invariants(c.m[i], 4096);
        char *got = summarize(&c);
        if (strcmp(got, want) != 0)
            fail_msg("%s: split %zu differs:\n--- whole\n%s\n--- split\n%s", v->name, split, want, got);
        free(got);
        collector_clear(&c);
    }
    free(want);
}

static const char k_json[] =
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello, "
    "how are you? Hello, how are you? Hello, how are you?\"}],\"stream\":false}";

/* ---- the test streams and what they must give ---------------------------------- */

static void check_get(const collector *c, const bytes *d)
{
    const http_msg *m = c->m[0];
    assert_true(m->is_request);
    assert_string_equal(m->method, "GET");
    assert_string_equal(m->target, "/v1/models?limit=5");
    assert_int_equal(m->version_minor, 1);
    assert_int_equal(m->nheaders, 3);
    assert_string_equal(http_msg_header(m, "host"), "api.openai.com");
    assert_string_equal(http_msg_header(m, "AUTHORIZATION"), "Bearer sk-test");
    assert_string_equal(http_msg_header(m, "Accept"), "*/*");
    assert_null(http_msg_header(m, "Content-Length"));
    assert_int_equal(m->body_len, 0);
    assert_int_equal(m->flags, 0);
    assert_int_equal(m->wire_len, d->n);
    assert_int_equal(m->tid, 7);
}

static void check_post(const collector *c, const bytes *d)
{
    const http_msg *m = c->m[0];
    assert_string_equal(m->method, "POST");
    assert_string_equal(m->target, "/v1/chat/completions");
    assert_int_equal(m->body_len, strlen(k_json));
    assert_string_equal((const char *)m->body, k_json);
    assert_int_equal(m->flags, 0);
    assert_int_equal(m->wire_len, d->n);
}

static void check_chunked_ext_trailers(const collector *c, const bytes *d)
{
    const http_msg *m = c->m[0];
    assert_false(m->is_request);
    assert_int_equal(m->status, 200);
    assert_string_equal(m->reason, "OK");
    assert_string_equal((const char *)m->body, "{\"a\":1,\"b\":\"chunked!\"}");
    assert_int_equal(m->flags, 0);
    assert_int_equal(m->wire_len, d->n);
    assert_null(http_msg_header(m, "X-Trailer")); /* trailers are not headers */
}

static void check_json_body(const collector *c, const bytes *d)
{
    const http_msg *m = c->m[0];
    assert_int_equal(m->status, 200);
    assert_int_equal(m->flags, 0);
    assert_int_equal(m->body_len, strlen(k_json));
    assert_string_equal((const char *)m->body, k_json);
    assert_int_equal(m->wire_len, d->n);
}

static void check_br(const collector *c, const bytes *d)
{
    const http_msg *m = c->m[0];
    assert_int_equal(m->flags, 0);
    assert_string_equal((const char *)m->body, K_BR_TEXT_PLAIN);
    assert_int_equal(m->wire_len, d->n);
}

static const char *k_sse_events[] = {
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n",
    ": keep-alive\n\n",
    "data: [DONE]\n\n",
};

static void check_sse(const collector *c, const bytes *d)
{
    const http_msg *m = c->m[0];
    char want[1024] = "";
    for (size_t i = 0; i < 4; i++)
        strcat(want, k_sse_events[i]);
    assert_string_equal((const char *)m->body, want);
    assert_string_equal(http_msg_header(m, "content-type"), "text/event-stream");
    assert_int_equal(m->flags, 0);
    assert_int_equal(m->wire_len, d->n);
}

static void check_close_delimited(const collector *c, const bytes *d)
{
    const http_msg *m = c->m[0];
    assert_int_equal(m->version_minor, 0);
    assert_string_equal((const char *)m->body, "hello until the connection closes\r\n\r\nstill body");
    assert_int_equal(m->flags, 0);
    assert_int_equal(m->wire_len, d->n);
}

static void check_head(const collector *c, const bytes *d)
{
    assert_int_equal(c->m[0]->status, 200);
    assert_int_equal(c->m[0]->body_len, 0);
    assert_string_equal(http_msg_header(c->m[0], "content-length"), "1234");
    assert_int_equal(c->m[1]->status, 404);
    assert_string_equal(c->m[1]->reason, "Not Found");
    assert_int_equal(c->m[0]->wire_len + c->m[1]->wire_len, d->n);
}

static void check_continue(const collector *c, const bytes *d)
{
    assert_int_equal(c->m[0]->status, 200);
    assert_string_equal((const char *)c->m[0]->body, "ok");
    assert_null(http_msg_header(c->m[0], "Link"));
    assert_int_equal(c->m[1]->status, 201);
}

static void check_no_body_statuses(const collector *c, const bytes *d)
{
    assert_int_equal(c->m[0]->status, 204);
    assert_int_equal(c->m[0]->body_len, 0);
    assert_int_equal(c->m[1]->status, 304);
    assert_int_equal(c->m[1]->body_len, 0);
    assert_int_equal(c->m[2]->status, 200);
    assert_string_equal((const char *)c->m[2]->body, "abc");
    assert_string_equal(c->m[2]->reason, "");
    uint64_t total = 0;
    for (size_t i = 0; i < 3; i++)
        total += c->m[i]->wire_len;
    assert_int_equal(total, d->n);
}

static void check_pipelined(const collector *c, const bytes *d)
{
    assert_string_equal(c->m[0]->method, "GET");
    assert_string_equal(c->m[0]->target, "/a");
    assert_int_equal(c->m[0]->body_len, 0);
    assert_string_equal(c->m[1]->method, "POST");
    assert_string_equal(c->m[1]->target, "/b");
    assert_string_equal((const char *)c->m[1]->body, "hello");
    assert_string_equal(c->m[2]->method, "DELETE");
    assert_string_equal((const char *)c->m[2]->body, "chunked request");
    assert_int_equal(c->m[0]->wire_len + c->m[1]->wire_len + c->m[2]->wire_len, d->n - 2);
}

static void check_fold_lf(const collector *c, const bytes *d)
{
    const http_msg *m = c->m[0];
    assert_string_equal(http_msg_header(m, "X-Long"), "part one part two part three");
    assert_string_equal(http_msg_header(m, "x-empty"), "");
    assert_string_equal(http_msg_header(m, "x-spaces"), "a  b");
    assert_string_equal((const char *)m->body, "hi");
    assert_string_equal((const char *)c->m[1]->body, "there");
}

static void check_upgrade(const collector *c, const bytes *d)
{
    assert_int_equal(c->m[0]->status, 101);
    assert_string_equal(http_msg_header(c->m[0], "upgrade"), "websocket");
}

static void check_unknown_coding(const collector *c, const bytes *d)
{
    assert_int_equal(c->m[0]->flags, HTTP_MSG_DECODE_ERROR);
    assert_string_equal((const char *)c->m[0]->body, "raw bytes");
    assert_int_equal(c->m[1]->flags, HTTP_MSG_DECODE_ERROR); /* mislabelled gzip */
    assert_string_equal((const char *)c->m[1]->body, k_json);
}

static vec *build_vecs(size_t *nv)
{
    static vec v[20];
    size_t n = 0;
    memset(v, 0, sizeof v);

    v[n] = (vec){"GET", HTTP_PARSE_REQUEST, NULL, {0}, 0, 1, check_get};
    bytes_str(&v[n++].data, "GET /v1/models?limit=5 HTTP/1.1\r\nHost: api.openai.com\r\n"
                            "Authorization:   Bearer sk-test  \r\nAccept: */*\r\n\r\n");

    v[n] = (vec){"POST", HTTP_PARSE_REQUEST, NULL, {0}, 0, 1, check_post};
    bytes_fmt(&v[n++].data, "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
              strlen(k_json), k_json);

    v[n] = (vec){"chunked+ext+trailers", HTTP_PARSE_RESPONSE, "GET", {0}, 0, 1, check_chunked_ext_trailers};
    bytes_str(&v[n++].data, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                            "Content-Type: application/json\r\n\r\n"
                            "7;foo=bar\r\n{\"a\":1,\r\n"
                            "0f ; name=\"quo;ted\"; x\r\n\"b\":\"chunked!\"}\r\n"
                            "000\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n");

    bytes gz = zlib_pack(k_json, strlen(k_json), 1, 15 + 16);
    v[n] = (vec){"gzip chunked", HTTP_PARSE_RESPONSE, "POST", {0}, 0, 1, check_json_body};
    bytes_str(&v[n].data, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
    chunkify(&v[n++].data, gz.p, gz.n, 10);
    free(gz.p);

    bytes zl = zlib_pack(k_json, strlen(k_json), 1, 15);
    v[n] = (vec){"deflate zlib", HTTP_PARSE_RESPONSE, "POST", {0}, 0, 1, check_json_body};
    bytes_fmt(&v[n].data, "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %zu\r\n\r\n", zl.n);
    bytes_add(&v[n++].data, zl.p, zl.n);
    free(zl.p);

    bytes raw = zlib_pack(k_json, strlen(k_json), 1, -15);
    v[n] = (vec){"deflate raw", HTTP_PARSE_RESPONSE, "POST", {0}, 0, 1, check_json_body};
    bytes_fmt(&v[n].data, "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %zu\r\n\r\n", raw.n);
    bytes_add(&v[n++].data, raw.p, raw.n);
    free(raw.p);

    v[n] = (vec){"br", HTTP_PARSE_RESPONSE, "POST", {0}, 0, 1, check_br};
    bytes_fmt(&v[n].data, "HTTP/1.1 200 OK\r\ncontent-encoding: br\r\nContent-Length: %zu\r\n\r\n", sizeof k_br_text);
    bytes_add(&v[n++].data, k_br_text, sizeof k_br_text);

    uint8_t zbuf[1024];
    size_t zn = ZSTD_compress(zbuf, sizeof zbuf, k_json, strlen(k_json), 3);
    assert_false(ZSTD_isError(zn));
    v[n] = (vec){"zstd", HTTP_PARSE_RESPONSE, "POST", {0}, 0, 1, check_json_body};
    bytes_fmt(&v[n].data, "HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nContent-Length: %zu\r\n\r\n", zn);
    bytes_add(&v[n++].data, zbuf, zn);

    v[n] = (vec){"SSE chunked", HTTP_PARSE_RESPONSE, "POST", {0}, 0, 1, check_sse};
    bytes_str(&v[n].data, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                          "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0; i < 4; i++)
        bytes_fmt(&v[n].data, "%zx\r\n%s\r\n", strlen(k_sse_events[i]), k_sse_events[i]);
    bytes_str(&v[n++].data, "0\r\n\r\n");

    v[n] = (vec){"close-delimited", HTTP_PARSE_RESPONSE, "GET", {0}, 1, 1, check_close_delimited};
    bytes_str(&v[n++].data, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                            "hello until the connection closes\r\n\r\nstill body");

    v[n] = (vec){"HEAD", HTTP_PARSE_RESPONSE, "HEAD", {0}, 0, 2, check_head};
    bytes_str(&v[n++].data, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/html\r\n\r\n"
                            "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n");

    v[n] = (vec){"100-continue", HTTP_PARSE_RESPONSE, "POST", {0}, 0, 2, check_continue};
    bytes_str(&v[n++].data, "HTTP/1.1 100 Continue\r\n\r\n"
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                            "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");

    v[n] = (vec){"204/304", HTTP_PARSE_RESPONSE, "GET", {0}, 0, 3, check_no_body_statuses};
    bytes_str(&v[n++].data, "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n"
                            "HTTP/1.1 200 \r\nContent-Length: 3\r\n\r\nabc");

    v[n] = (vec){"pipelined", HTTP_PARSE_REQUEST, NULL, {0}, 0, 3, check_pipelined};
    bytes_str(&v[n++].data, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                            "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\r\n"
                            "DELETE /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "f\r\nchunked request\r\n0\r\n\r\n");

    v[n] = (vec){"obs-fold, bare LF", HTTP_PARSE_RESPONSE, "GET", {0}, 0, 2, check_fold_lf};
    bytes_str(&v[n++].data, "HTTP/1.1 200 OK\r\nX-Long: part one\r\n   part two\r\n\tpart three \r\n"
                            "X-Empty:\r\nX-Spaces: a  b\r\nContent-Length: 2\r\n\r\nhi"
                            "HTTP/1.1 200 OK\nContent-Length: 5\n\nthere");

    v[n] = (vec){"101 upgrade", HTTP_PARSE_RESPONSE, "GET", {0}, 0, 1, check_upgrade};
    bytes_str(&v[n++].data, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\n\r\n\x81\x05hello\x81\x05HTTP/");

    v[n] = (vec){"unknown/mislabelled coding", HTTP_PARSE_RESPONSE, "GET", {0}, 0, 2, check_unknown_coding};
    bytes_str(&v[n].data, "HTTP/1.1 200 OK\r\nContent-Encoding: compress\r\nContent-Length: 9\r\n\r\nraw bytes");
    bytes_fmt(&v[n++].data, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n%s",
              strlen(k_json), k_json);
    *nv = n;
    return v;
}

static void test_all_streams_any_split(void **state)
{
    (void)state;
    size_t nv;
    vec *v = build_vecs(&nv);
    for (size_t i = 0; i < nv; i++) {
        run_vec(&v[i]);
        free(v[i].data.p);
    }
}

/* ---- malformed input --------------------------------------------------------------- */

/* Feed a good message then `bad` in a fresh feed: expect -1 and an error,
 * then a good message in a new feed must parse again. */
static void expect_error(http_parse_kind kind, const char *bad, size_t badlen, size_t want_msgs)
{
    collector c = {.method = "GET"};
    http_parser *p = parser_for(kind, &c, NULL);
    const char *good = kind == HTTP_PARSE_REQUEST ? "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n"
                                                  : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    assert_int_equal(http_parser_feed(p, (const uint8_t *)good, strlen(good), 1, 1), 0);
    assert_int_equal(c.n, 1);
    if (http_parser_feed(p, (const uint8_t *)bad, badlen, 2, 1) != -1)
        fail_msg("accepted: %.*s", (int)(badlen > 200 ? 200 : badlen), bad);
    assert_int_equal(http_parser_get_stats(p)->errors, 1);
    assert_int_equal(c.n, 1 + want_msgs);
    assert_true(http_parser_idle(p));
    /* resync: the tail of the bad stream is dropped, a fresh start parses */
    assert_int_equal(http_parser_feed(p, (const uint8_t *)"tail of junk\r\n\r\n", 16, 3, 1), 0);
    assert_int_equal(http_parser_feed(p, (const uint8_t *)good, strlen(good), 4, 1), 0);
    assert_int_equal(c.n, 2 + want_msgs);
    for (size_t i = 0; i < c.n; i++)
        check_invariants(c.m[i], 4096);
    http_parser_free(p);
    collector_clear(&c);
}

static void expect_error_str(http_parse_kind kind, const char *bad)
{
    expect_error(kind, bad, strlen(bad), 0);
}

static void test_malformed_heads(void **state)
{
    (void)state;
    const char *bad_requests[] = {
        "GET /x HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        "GET /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "GET /x HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n",
        "GET /x HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n",
        "GET /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
        "GET /x HTTP/1.1\r\nContent-Length:\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello",
        "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "GET /x HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n",
        "GET /x HTTP/1.1\r\nName : v\r\n\r\n",
        "GET /x HTTP/1.1\r\n: empty name\r\n\r\n",
        "GET /x HTTP/1.1\r\n folded-first: v\r\n\r\n",
        "GET /x HTTP/2.0\r\n\r\n",
        "GET /x\r\n\r\n",
        "GET  HTTP/1.1\r\n\r\n",
        "GET /a b HTTP/1.1\r\n\r\n",
        "GET /x HTTP/1.1 extra\r\n\r\n",
        "GETX /x HTTP/1.1\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    };
    for (size_t i = 0; i < sizeof bad_requests / sizeof bad_requests[0]; i++)
        expect_error_str(HTTP_PARSE_REQUEST, bad_requests[i]);
    static const char nul1[] = "GET /x HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    static const char nul2[] = "GET /\0 HTTP/1.1\r\n\r\n";
    expect_error(HTTP_PARSE_REQUEST, nul1, sizeof nul1 - 1, 0);
    expect_error(HTTP_PARSE_REQUEST, nul2, sizeof nul2 - 1, 0);

    const char *bad_responses[] = {
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 099 OK\r\n\r\n",
        "HTTP/1.1200 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.x 200 OK\r\n\r\n",
        "HTTP/2 200\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "\x80\x81\x82\x00\x04",
    };
    for (size_t i = 0; i < sizeof bad_responses / sizeof bad_responses[0]; i++)
        expect_error_str(HTTP_PARSE_RESPONSE, bad_responses[i]);
}

static void test_malformed_chunks(void **state)
{
    (void)state;
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const char *bodies[] = {
        "zz\r\nhello\r\n0\r\n\r\n",
        "\r\n",
        "5 x\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n",
        "fffffffffffffffffff\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "5\r\nhello\rX",
        "5;ext\x01\r\nhello\r\n",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s%s", head, bodies[i]);
        /* the head was fine: the message comes out, incomplete */
        expect_error(HTTP_PARSE_RESPONSE, buf, strlen(buf), 1);
    }
    /* and its flags say why */
    collector c = {.method = "GET"};
    http_parser *p = parser_for(HTTP_PARSE_RESPONSE, &c, NULL);
    const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n";
    assert_int_equal(http_parser_feed(p, (const uint8_t *)s, strlen(s), 1, 1), -1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.m[0]->flags, HTTP_MSG_INCOMPLETE | HTTP_MSG_PARSE_ERROR);
    assert_string_equal((const char *)c.m[0]->body, "abc");
    http_parser_free(p);
    collector_clear(&c);

    /* a chunk extension longer than the line limit */
    bytes big = {0};
    bytes_str(&big, head);
    bytes_str(&big, "5;");
    for (int i = 0; i < 5000; i++)
        bytes_str(&big, "x");
    expect_error(HTTP_PARSE_RESPONSE, (const char *)big.p, big.n, 1);
    free(big.p);
}

static void test_oversize_headers(void **state)
{
    (void)state;
    http_limits lim;
    http_limits_default(&lim);
    bytes big = {0};
    bytes_str(&big, "GET / HTTP/1.1\r\nX-Big: ");
    for (size_t i = 0; i < lim.max_header_bytes; i++)
        bytes_str(&big, "a");
    bytes_str(&big, "\r\n\r\n");
    expect_error(HTTP_PARSE_REQUEST, (const char *)big.p, big.n, 0);

    /* byte by byte: one error, the rest dropped, memory bounded */
    collector c = {0};
    http_parser *p = parser_for(HTTP_PARSE_REQUEST, &c, NULL);
    int errors = 0;
    for (size_t i = 0; i < big.n; i++)
        errors += http_parser_feed(p, big.p + i, 1, i, 1) < 0;
    assert_int_equal(errors, 1);
    assert_int_equal(c.n, 0);
    assert_int_equal(http_parser_get_stats(p)->bytes_discarded, big.n);
    http_parser_free(p);

    /* a smaller header limit applies */
    lim.max_header_bytes = 64;
    p = parser_for(HTTP_PARSE_REQUEST, &c, &lim);
    const char *s = "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: a-rather-long-agent\r\n\r\n";
    assert_int_equal(http_parser_feed(p, (const uint8_t *)s, strlen(s), 1, 1), -1);
    assert_int_equal(c.n, 0);
    http_parser_free(p);
    free(big.p);
}

static void test_garbage_into_fresh_parser(void **state)
{
    (void)state;
    collector c = {0};
    http_parser *p = parser_for(HTTP_PARSE_RESPONSE, &c, NULL);
    uint8_t junk[5000];
    uint32_t seed = 99;
    for (size_t i = 0; i < sizeof junk; i++) {
        seed = seed * 1103515245u + 12345u;
        junk[i] = (uint8_t)(seed >> 16);
    }
    junk[0] = 0xff;
    /* not HTTP: dropped quietly while out of sync, no message */
    assert_int_equal(http_parser_feed(p, junk, sizeof junk, 1, 1), 0);
    assert_int_equal(http_parser_feed(p, (const uint8_t *)"\0\0\0", 3, 2, 1), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(http_parser_get_stats(p)->bytes_discarded, sizeof junk + 3);
    assert_int_equal(http_parser_get_stats(p)->errors, 0);
    assert_true(http_parser_idle(p));
    /* a feed that starts a message gets parsed */
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(http_parser_feed(p, (const uint8_t *)ok, strlen(ok), 3, 1), 0);
    assert_int_equal(c.n, 1);
    /* garbage right after it, in sync, is an error */
    assert_int_equal(http_parser_feed(p, junk, sizeof junk, 4, 1), -1);
    assert_int_equal(http_parser_get_stats(p)->errors, 1);
    assert_int_equal(c.n, 1);
    /* a tentative start that turns out wrong is no error */
    assert_int_equal(http_parser_feed(p, (const uint8_t *)"HTT", 3, 5, 1), 0);
    assert_int_equal(http_parser_feed(p, (const uint8_t *)"X/1.1 200\r\n\r\n", 13, 6, 1), 0);
    assert_int_equal(http_parser_get_stats(p)->errors, 1);
    assert_int_equal(c.n, 1);
    http_parser_free(p);
    collector_clear(&c);

    http_parser_feed(NULL, junk, 1, 0, 0);
    http_parser_gap(NULL, 0);
    http_parser_close(NULL, 0);
    http_parser_free(NULL);
    http_msg_free(NULL);
}

/* ---- limits ------------------------------------------------------------------------ */

static void test_body_over_limit(void **state)
{
    (void)state;
    http_limits lim;
    http_limits_default(&lim);
    lim.max_body_bytes = 100;
    collector c = {.method = "POST"};
    http_parser *p = parser_for(HTTP_PARSE_RESPONSE, &c, &lim);
    bytes s = {0};
    bytes_str(&s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    for (int i = 0; i < 1000; i++)
        bytes_add(&s, &"0123456789"[i % 10], 1);
    bytes_str(&s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    uint8_t block[300];
    memset(block, 'z', sizeof block);
    chunkify(&s, block, sizeof block, 64);
    bytes_str(&s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall");
    for (size_t off = 0; off < s.n; off += 77)
        assert_int_equal(http_parser_feed(p, s.p + off, s.n - off < 77 ? s.n - off : 77, off, 1), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.m[0]->body_len, 100);
    assert_int_equal(c.m[0]->body_dropped, 900);
    assert_int_equal(c.m[0]->flags, HTTP_MSG_TRUNCATED);
    assert_memory_equal(c.m[0]->body, "0123456789", 10);
    assert_int_equal(c.m[1]->body_len, 100);
    assert_int_equal(c.m[1]->body_dropped, 200);
    assert_int_equal(c.m[1]->flags, HTTP_MSG_TRUNCATED);
    assert_string_equal((const char *)c.m[2]->body, "small");
    assert_int_equal(c.m[2]->flags, 0);
    for (size_t i = 0; i < c.n; i++)
        check_invariants(c.m[i], lim.max_marks);
    http_parser_free(p);
    collector_clear(&c);
    free(s.p);
}

static void test_gzip_bomb_bounded(void **state)
{
    (void)state;
    static uint8_t zeros[1 << 20];
    bytes gz = zlib_pack(zeros, sizeof zeros, 100, 15 + 16); /* 100 MiB of zeros */
    http_limits lim;
    http_limits_default(&lim);
    lim.max_body_bytes = 1 << 20;
    collector c = {.method = "GET"};
    http_parser *p = parser_for(HTTP_PARSE_RESPONSE, &c, &lim);
    bytes s = {0};
    bytes_str(&s, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
    chunkify(&s, gz.p, gz.n, 8192);
    bytes_str(&s, "HTTP/1.1 204 No Content\r\n\r\n");
    for (size_t off = 0; off < s.n; off += 65536)
        assert_int_equal(http_parser_feed(p, s.p + off, s.n - off < 65536 ? s.n - off : 65536, off, 1), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.m[0]->body_len, 1 << 20);
    assert_true(c.m[0]->flags & HTTP_MSG_TRUNCATED);
    assert_false(c.m[0]->flags & HTTP_MSG_DECODE_ERROR);
    assert_true(c.m[0]->body_dropped > 0);
    assert_int_equal(c.m[1]->status, 204);
    http_parser_free(p);
    collector_clear(&c);
    free(s.p);
    free(gz.p);
}

/* ---- marks --------------------------------------------------------------------------- */

static void test_marks_per_feed(void **state)
{
    (void)state;
    collector c = {.method = "POST"};
    http_parser *p = parser_for(HTTP_PARSE_RESPONSE, &c, NULL);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    char buf[512];
    snprintf(buf, sizeof buf, "%s%zx\r\n%s\r\n", head, strlen(k_sse_events[0]), k_sse_events[0]);
    http_parser_feed(p, (const uint8_t *)buf, strlen(buf), 100, 1);
    size_t off = strlen(k_sse_events[0]);
    for (size_t i = 1; i < 4; i++) {
        snprintf(buf, sizeof buf, "%zx\r\n%s\r\n", strlen(k_sse_events[i]), k_sse_events[i]);
        http_parser_feed(p, (const uint8_t *)buf, strlen(buf), 100 + i * 100, 1);
    }
    http_parser_feed(p, (const uint8_t *)"0\r\n\r\n", 5, 999, 1); /* framing only: no mark */
    assert_int_equal(c.n, 1);
    const http_msg *m = c.m[0];
    assert_int_equal(m->nmarks, 4);
    assert_int_equal(m->marks[0].offset, 0);
    assert_int_equal(m->marks[0].ts, 100);
    for (size_t i = 1; i < 4; i++) {
        assert_int_equal(m->marks[i].offset, off);
        assert_int_equal(m->marks[i].ts, 100 + i * 100);
        off += strlen(k_sse_events[i]);
    }
    assert_int_equal(m->ts_start, 100);
    assert_int_equal(m->ts_headers, 100);
    assert_int_equal(m->ts_end, 999);

    /* many chunks in one feed: one mark; the next feed: another */
    bytes all = {0};
    bytes_str(&all, head);
    for (size_t i = 0; i < 3; i++)
        bytes_fmt(&all, "%zx\r\n%s\r\n", strlen(k_sse_events[i]), k_sse_events[i]);
    http_parser_feed(p, all.p, all.n, 2000, 1);
    snprintf(buf, sizeof buf, "%zx\r\n%s\r\n0\r\n\r\n", strlen(k_sse_events[3]), k_sse_events[3]);
    http_parser_feed(p, (const uint8_t *)buf, strlen(buf), 3000, 1);
    assert_int_equal(c.n, 2);
    m = c.m[1];
    assert_int_equal(m->nmarks, 2);
    assert_int_equal(m->marks[0].offset, 0);
    assert_int_equal(m->marks[0].ts, 2000);
    assert_int_equal(m->marks[1].offset, m->body_len - strlen(k_sse_events[3]));
    assert_int_equal(m->marks[1].ts, 3000);
    free(all.p);
    http_parser_free(p);
    collector_clear(&c);
}

static void test_marks_merge(void **state)
{
    (void)state;
    http_limits lim;
    http_limits_default(&lim);
    lim.max_marks = 4;
    collector c = {.method = "GET"};
    http_parser *p = parser_for(HTTP_PARSE_RESPONSE, &c, &lim);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    http_parser_feed(p, (const uint8_t *)head, strlen(head), 1, 1);
    for (int i = 0; i < 10; i++)
        http_parser_feed(p, (const uint8_t *)"0123456789", 10, 10 + (uint64_t)i, 1);
    assert_int_equal(c.n, 1);
    const http_msg *m = c.m[0];
    check_invariants(m, 4);
    assert_true(m->nmarks >= 2 && m->nmarks <= 4);
    assert_int_equal(m->marks[0].offset, 0);
    assert_int_equal(m->marks[0].ts, 10);
    for (size_t i = 0; i < m->nmarks; i++)
        assert_int_equal(m->marks[i].ts, 10 + m->marks[i].offset / 10);
    http_parser_free(p);
    collector_clear(&c);
}

/* ---- gaps, close, resync ---------------------------------------------------------------- */

static void test_gap_and_close(void **state)
{
    (void)state;
    collector c = {.method = "GET"};
    http_parser *p = parser_for(HTTP_PARSE_RESPONSE, &c, NULL);
    const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part";
    http_parser_feed(p, (const uint8_t *)a, strlen(a), 1, 1);
    assert_false(http_parser_idle(p));
    assert_non_null(http_parser_current(p));
    assert_int_equal(http_parser_current(p)->status, 200);
    http_parser_gap(p, 2);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.m[0]->flags, HTTP_MSG_INCOMPLETE | HTTP_MSG_CAPTURE_GAP);
    assert_string_equal((const char *)c.m[0]->body, "first part");
    assert_int_equal(c.m[0]->ts_end, 2);
    assert_true(http_parser_idle(p));
    assert_null(http_parser_current(p));
    /* the rest of that body arrives: dropped, no error */
    assert_int_equal(http_parser_feed(p, (const uint8_t *)"rest of the body", 16, 3, 1), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(http_parser_get_stats(p)->errors, 0);
    /* gap inside a head: nothing delivered */
    http_parser_feed(p, (const uint8_t *)"HTTP/1.1 200 OK\r\nConte", 22, 4, 1);
    http_parser_gap(p, 5);
    assert_int_equal(c.n, 1);
    /* chunked body cut by close: incomplete */
    const char *b = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
    http_parser_feed(p, (const uint8_t *)b, strlen(b), 6, 1);
    http_parser_close(p, 7);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.m[1]->flags, HTTP_MSG_INCOMPLETE);
    assert_string_equal((const char *)c.m[1]->body, "hello");
    /* close-delimited, with gzip: complete at close */
    bytes gz = zlib_pack(k_json, strlen(k_json), 1, 15 + 16);
    bytes s = {0};
    bytes_str(&s, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n");
    bytes_add(&s, gz.p, gz.n);
    http_parser_feed(p, s.p, s.n, 8, 1);
    http_parser_close(p, 9);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.m[2]->flags, 0);
    assert_string_equal((const char *)c.m[2]->body, k_json);
    /* close while idle: nothing */
    http_parser_close(p, 10);
    assert_int_equal(c.n, 3);
    const http_parser_stats *st = http_parser_get_stats(p);
    assert_int_equal(st->messages, 3);
    assert_int_equal(st->resyncs, 2);
    http_parser_free(p);
    collector_clear(&c);
    free(gz.p);
    free(s.p);
}

static void test_mid_stream_start(void **state)
{
    (void)state;
    collector c = {.method = "GET"};
    http_parser *p = parser_for(HTTP_PARSE_RESPONSE, &c, NULL);
    /* attached inside a body, then a record that happens to hold a message start later on */
    const char *tail = "...end of a body\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
    assert_int_equal(http_parser_feed(p, (const uint8_t *)tail, strlen(tail), 1, 1), 0);
    assert_int_equal(c.n, 0);
    const char *next = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny";
    assert_int_equal(http_parser_feed(p, (const uint8_t *)next, strlen(next), 2, 1), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal((const char *)c.m[0]->body, "y");
    http_parser_free(p);
    collector_clear(&c);

    /* a request stream whose first feed is one byte */
    p = parser_for(HTTP_PARSE_REQUEST, &c, NULL);
    const char *req = "PUT /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
    assert_int_equal(http_parser_feed(p, (const uint8_t *)req, 1, 1, 1), 0);
    assert_int_equal(http_parser_feed(p, (const uint8_t *)req + 1, strlen(req) - 1, 2, 1), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.m[0]->method, "PUT");
    assert_int_equal(c.m[0]->ts_start, 1);
    http_parser_free(p);
    collector_clear(&c);
}

static void test_connect_tunnel(void **state)
{
    (void)state;
    collector c = {.method = "CONNECT"};
    http_parser *p = parser_for(HTTP_PARSE_RESPONSE, &c, NULL);
    const char *s = "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x10tls bytes...";
    assert_int_equal(http_parser_feed(p, (const uint8_t *)s, 55, 1, 1), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.m[0]->body_len, 0);
    assert_int_equal(http_parser_get_stats(p)->errors, 0);
    http_parser_free(p);
    collector_clear(&c);
}

/* ---- fuzz ---------------------------------------------------------------------------------- */

static void test_fuzz_mutations(void **state)
{
    (void)state;
    size_t nv;
    vec *v = build_vecs(&nv);
    uint32_t seed = 4242;
#define RND() (seed = seed * 1103515245u + 12345u, seed >> 8)
    http_limits lim;
    http_limits_default(&lim);
    lim.max_body_bytes = 64;
    lim.max_header_bytes = 256;
    lim.max_marks = 3;
    for (int round = 0; round < 3000; round++) {
        const vec *src = &v[RND() % nv];
        bytes b = {0};
        bytes_add(&b, src->data.p, src->data.n);
        int muts = 1 + RND() % 4;
        for (int k = 0; k < muts && b.n; k++) {
            size_t at = RND() % b.n;
            switch (RND() % 4) {
            case 0: b.p[at] = (uint8_t)RND(); break;
            case 1: b.p[at] ^= (uint8_t)(1u << (RND() % 8)); break;
            case 2: b.n = at; break;
            case 3: b.p[at] = "\r\n:; 0f-"[RND() % 8]; break;
            }
        }
        collector c = {.method = src->method};
        http_parser *p = parser_for(src->kind, &c, round % 2 ? &lim : NULL);
        for (size_t off = 0, k; off < b.n; off += k) {
            k = 1 + RND() % 40;
            if (k > b.n - off)
                k = b.n - off;
            http_parser_feed(p, b.p + off, k, off, 1);
            if (RND() % 50 == 0)
                http_parser_gap(p, off);
            if (c.n > MAX_MSGS - 8)
                collector_clear(&c);
        }
        http_parser_close(p, b.n);
        for (size_t i = 0; i < c.n; i++)
            check_invariants(c.m[i], round % 2 ? lim.max_marks : 4096);
        http_parser_free(p);
        collector_clear(&c);
        free(b.p);
    }
    for (size_t i = 0; i < nv; i++)
        free(v[i].data.p);
#undef RND
}

static void test_message_start(void **state)
{
    (void)state;
    assert_int_equal(http_message_start(HTTP_PARSE_REQUEST, (const uint8_t *)"GET /", 5), 1);
    assert_int_equal(http_message_start(HTTP_PARSE_REQUEST, (const uint8_t *)"\r\nPOST ", 7), 1);
    assert_int_equal(http_message_start(HTTP_PARSE_REQUEST, (const uint8_t *)"OPTIO", 5), 0);
    assert_int_equal(http_message_start(HTTP_PARSE_REQUEST, (const uint8_t *)"P", 1), 0);
    assert_int_equal(http_message_start(HTTP_PARSE_REQUEST, (const uint8_t *)"GETS /", 6), -1);
    assert_int_equal(http_message_start(HTTP_PARSE_REQUEST, (const uint8_t *)"get /", 5), -1);
    assert_int_equal(http_message_start(HTTP_PARSE_REQUEST, (const uint8_t *)"HTTP/1.1 200", 12), -1);
    assert_int_equal(http_message_start(HTTP_PARSE_RESPONSE, (const uint8_t *)"HTTP/1.1 200", 12), 1);
    assert_int_equal(http_message_start(HTTP_PARSE_RESPONSE, (const uint8_t *)"HTTP/", 5), 0);
    assert_int_equal(http_message_start(HTTP_PARSE_RESPONSE, (const uint8_t *)"HTTP/2", 6), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_streams_any_split),
        cmocka_unit_test(test_malformed_heads),
        cmocka_unit_test(test_malformed_chunks),
        cmocka_unit_test(test_oversize_headers),
        cmocka_unit_test(test_garbage_into_fresh_parser),
        cmocka_unit_test(test_body_over_limit),
        cmocka_unit_test(test_gzip_bomb_bounded),
        cmocka_unit_test(test_marks_per_feed),
        cmocka_unit_test(test_marks_merge),
        cmocka_unit_test(test_gap_and_close),
        cmocka_unit_test(test_mid_stream_start),
        cmocka_unit_test(test_connect_tunnel),
        cmocka_unit_test(test_fuzz_mutations),
        cmocka_unit_test(test_message_start),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}

/* seedgen.c: writes the seed corpora of the fuzz targets from the unit-test
 * payloads, so no copy of them is committed: `make fuzz` runs
 *
 *   seedgen DATA_DIR OUT_DIR [TOML_CASES.jsonl]
 *
 * with DATA_DIR = tests/data and OUT_DIR = build-fuzz/corpus, and gets one
 * directory per target (OUT_DIR/TARGET/seed-*).  The provider fixtures
 * (tests/data/decode) become whole HTTP requests and responses (with
 * Content-Length, chunked, close-delimited, compressed with every coding),
 * content-coded bodies, SSE streams, captured record streams, decoder
 * inputs, and JSON documents; DNS messages are built in code (fuzz_dns);
 * packaging/config.toml and the documents of
 * tests/toml_diff.py (when given) seed the TOML parser.  Each input follows
 * the layout in fuzz.h.  Files are named by content hash, so reruns
 * overwrite rather than add. */
#include <brotli/encode.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "fuzz.h"

static const char *data_dir, *out_dir;
static size_t seeds_written;

/* ---- a growable buffer --------------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "seedgen: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void put(buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            die("out of memory");
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        die("format overflow");
    put(b, tmp, (size_t)n);
}

static void putc_(buf *b, uint8_t c) { put(b, &c, 1); }

static void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- files --------------------------------------------------------------- */

static buf load(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        put(&b, tmp, n);
    fclose(f);
    if (!b.p)
        put(&b, "", 0);
    return b;
}

/* A provider fixture, under DATA_DIR/decode/. */
static buf load_fixture(const char *name)
{
    char rel[512];
    snprintf(rel, sizeof rel, "decode/%s", name);
    return load(rel);
}

static void write_seed(const char *target, const buf *b)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < b->len; i++)
        h = (h ^ b->p[i]) * 0x100000001b3ull;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        die("mkdir %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s/seed-%016llx", out_dir, target, (unsigned long long)h);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->p, 1, b->len, f) != b->len || fclose(f) != 0)
        die("cannot write %s", path);
    seeds_written++;
}

/* ---- content codings ------------------------------------------------------ */

static buf z_encode(const buf *in, int window_bits)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2");
    buf out = {0};
    uLong bound = deflateBound(&z, in->len);
    uint8_t *tmp = malloc(bound + 16);
    if (!tmp)
        die("out of memory");
    z.next_in = in->p;
    z.avail_in = (uInt)in->len;
    z.next_out = tmp;
    z.avail_out = (uInt)(bound + 16);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        die("deflate");
    put(&out, tmp, z.total_out);
    deflateEnd(&z);
    free(tmp);
    return out;
}

static buf br_encode(const buf *in)
{
    size_t n = BrotliEncoderMaxCompressedSize(in->len) + 16;
    uint8_t *tmp = malloc(n);
    if (!tmp || !BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, in->len, in->p, &n, tmp))
        die("brotli");
    buf out = {0};
    put(&out, tmp, n);
    free(tmp);
    return out;
}

static buf zstd_encode(const buf *in)
{
    size_t n = ZSTD_compressBound(in->len);
    uint8_t *tmp = malloc(n);
    size_t r = tmp ? ZSTD_compress(tmp, n, in->p, in->len, 3) : 0;
    if (!tmp || ZSTD_isError(r))
        die("zstd");
    buf out = {0};
    put(&out, tmp, r);
    free(tmp);
    return out;
}

/* Encodes in with FUZZ_CODINGS[coding] (codings applied left to right). */
static buf encode(const buf *in, size_t coding, int raw_deflate)
{
    const char *list = FUZZ_CODINGS[coding];
    buf cur = {0};
    put(&cur, in->p, in->len);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s", list);
    for (char *save = NULL, *tok = strtok_r(tmp, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        buf next;
        if (!strcmp(tok, "gzip") || !strcmp(tok, "x-gzip"))
            next = z_encode(&cur, 31);
        else if (!strcmp(tok, "deflate"))
            next = z_encode(&cur, raw_deflate ? -15 : 15);
        else if (!strcmp(tok, "br"))
            next = br_encode(&cur);
        else if (!strcmp(tok, "zstd"))
            next = zstd_encode(&cur);
        else
            continue; /* identity */
        buf_free(&cur);
        cur = next;
    }
    return cur;
}

/* ---- fixtures ------------------------------------------------------------- */

typedef struct fixture {
    const char *provider;      /* decode_<provider> target */
    const fuzz_api *apis;
    size_t napis, api;         /* index into apis */
    const char *req, *resp;    /* files under decode/ */
    int resp_type;             /* FUZZ_RESP_* index */
    int status_idx;            /* index into FUZZ_STATUSES */
} fixture;

#define OA FUZZ_OPENAI_APIS, FUZZ_NAPIS(FUZZ_OPENAI_APIS)
#define AN FUZZ_ANTHROPIC_APIS, FUZZ_NAPIS(FUZZ_ANTHROPIC_APIS)
#define GE FUZZ_GEMINI_APIS, FUZZ_NAPIS(FUZZ_GEMINI_APIS)
#define OL FUZZ_OLLAMA_APIS, FUZZ_NAPIS(FUZZ_OLLAMA_APIS)
#define BR FUZZ_BEDROCK_APIS, FUZZ_NAPIS(FUZZ_BEDROCK_APIS)
enum { JSN = FUZZ_RESP_JSON, SSE = FUZZ_RESP_SSE, NDJ = FUZZ_RESP_NDJSON, ES = FUZZ_RESP_EVENTSTREAM };
enum { S200 = 0, S400 = 2, S429 = 3, S500 = 4 };

static const fixture FIXTURES[] = {
    {"openai", OA, 0, "openai/chat_request.json", "openai/chat_response.json", JSN, S200},
    {"openai", OA, 0, "openai/chat_request.json", "openai/chat_response_tools.json", JSN, S200},
    {"openai", OA, 0, "openai/chat_request.json", "openai/chat_response_refusal.json", JSN, S200},
    {"openai", OA, 0, "openai/chat_request.json", "openai/chat_stream_text.sse", SSE, S200},
    {"openai", OA, 0, "openai/chat_request.json", "openai/chat_stream_tools.sse", SSE, S200},
    {"openai", OA, 0, "openai/chat_request.json", "openai/error_401.json", JSN, S400},
    {"openai", OA, 0, "openai/chat_request.json", "openai/error_429.json", JSN, S429},
    {"openai", OA, 0, "openai/chat_request.json", "openai/error_500.json", JSN, S500},
    {"openai", OA, 1, "openai/completions_request.json", "openai/completions_response.json", JSN, S200},
    {"openai", OA, 2, "openai/responses_request.json", "openai/responses_stream.sse", SSE, S200},
    {"openai", OA, 2, "openai/responses_request_simple.json", "openai/responses_response.json", JSN, S200},
    {"openai", OA, 3, "openai/embeddings_request.json", "openai/embeddings_response.json", JSN, S200},
    {"openai", OA, 4, "openai/chat_request.json", "openai/chat_response.json", JSN, S200},
    {"openai", OA, 5, "openai/chat_request.json", "openai/chat_stream_text.sse", SSE, S200},
    {"anthropic", AN, 0, "anthropic/messages_request.json", "anthropic/messages_response.json", JSN, S200},
    {"anthropic", AN, 0, "anthropic/messages_request.json", "anthropic/messages_stream.sse", SSE, S200},
    {"anthropic", AN, 0, "anthropic/messages_request_simple.json", "anthropic/stream_error.sse", SSE, S200},
    {"anthropic", AN, 0, "anthropic/messages_request_simple.json", "anthropic/error_400.json", JSN, S400},
    {"anthropic", AN, 0, "anthropic/messages_request_simple.json", "anthropic/error_overloaded.json", JSN, S500},
    {"anthropic", AN, 1, "anthropic/messages_request_simple.json", "anthropic/messages_response.json", JSN, S200},
    {"anthropic", AN, 2, "anthropic/messages_request_simple.json", "anthropic/messages_response.json", JSN, S200},
    {"anthropic", AN, 3, "anthropic/messages_request.json", "anthropic/messages_stream.sse", SSE, S200},
    {"gemini", GE, 0, "gemini/generate_request.json", "gemini/generate_response.json", JSN, S200},
    {"gemini", GE, 0, "gemini/generate_request.json", "gemini/response_safety.json", JSN, S200},
    {"gemini", GE, 0, "gemini/generate_request.json", "gemini/prompt_blocked.json", JSN, S200},
    {"gemini", GE, 0, "gemini/generate_request.json", "gemini/error_400.json", JSN, S400},
    {"gemini", GE, 0, "gemini/generate_request.json", "gemini/error_429.json", JSN, S429},
    {"gemini", GE, 1, "gemini/generate_request.json", "gemini/stream_array.json", JSN, S200},
    {"gemini", GE, 2, "gemini/generate_request.json", "gemini/stream_alt_sse.sse", SSE, S200},
    {"gemini", GE, 3, "gemini/embed_request.json", "gemini/embed_response.json", JSN, S200},
    {"gemini", GE, 5, "gemini/generate_request.json", "gemini/generate_response.json", JSN, S200},
    {"ollama", OL, 0, "ollama/chat_request.json", "ollama/chat_stream.ndjson", NDJ, S200},
    {"ollama", OL, 0, "ollama/chat_request.json", "ollama/chat_tools_stream.ndjson", NDJ, S200},
    {"ollama", OL, 1, "ollama/generate_request.json", "ollama/generate_response.json", JSN, S200},
    {"ollama", OL, 1, "ollama/generate_request.json", "ollama/error_404.json", JSN, S400},
    {"ollama", OL, 2, "ollama/embed_request.json", "ollama/embed_response.json", JSN, S200},
    {"bedrock", BR, 0, "bedrock/converse_request.json", "bedrock/converse_response.json", JSN, S200},
    {"bedrock", BR, 0, "bedrock/converse_request.json", "bedrock/error_validation.json", JSN, S400},
    {"bedrock", BR, 1, "bedrock/converse_request.json", "bedrock/converse_stream.bin", ES, S200},
    {"bedrock", BR, 1, "bedrock/converse_request.json", "bedrock/converse_stream_throttled.bin", ES, S200},
    {"bedrock", BR, 2, "bedrock/invoke_anthropic_request.json", "bedrock/invoke_anthropic_response.json", JSN, S200},
    {"bedrock", BR, 3, "bedrock/invoke_anthropic_request.json", "bedrock/invoke_stream.bin", ES, S200},
    {"bedrock", BR, 5, "bedrock/converse_request.json", "bedrock/converse_response.json", JSN, S200},
};
#define NFIX (sizeof FIXTURES / sizeof FIXTURES[0])

static int is_sse(const char *name) { return strstr(name, ".sse") != NULL; }

/* "Name: value\n" lines as CRLF header lines. */
static void put_headers(buf *b, const char *lines)
{
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n');
        put(b, p, (size_t)(nl - p));
        puts_(b, "\r\n");
        p = nl + 1;
    }
}

static void put_chunked(buf *b, const buf *body, size_t pieces)
{
    size_t step = body->len / pieces + 1;
    for (size_t off = 0; off < body->len; off += step) {
        size_t n = body->len - off < step ? body->len - off : step;
        putf(b, "%zx\r\n", n);
        put(b, body->p + off, n);
        puts_(b, "\r\n");
    }
    puts_(b, "0\r\n\r\n");
}

static void put_request(buf *b, const fixture *fx, const buf *body, int chunked)
{
    const fuzz_api *api = &fx->apis[fx->api];
    putf(b, "POST %s HTTP/1.1\r\n", api->target);
    put_headers(b, api->headers);
    puts_(b, "Content-Type: application/json\r\nUser-Agent: seedgen/1\r\n");
    if (chunked) {
        puts_(b, "Transfer-Encoding: chunked\r\n\r\n");
        put_chunked(b, body, 3);
    } else {
        putf(b, "Content-Length: %zu\r\n\r\n", body->len);
        put(b, body->p, body->len);
    }
}

/* framing: 0 length, 1 chunked, 2 close-delimited */
static void put_response(buf *b, const fixture *fx, const buf *body, int framing, size_t coding)
{
    putf(b, "HTTP/1.1 %d X\r\n", FUZZ_STATUSES[fx->status_idx]);
    put_headers(b, FUZZ_RESP_TYPES[fx->resp_type]);
    puts_(b, "x-request-id: req_seedgen\r\n");
    buf enc = encode(body, coding, coding == 2);
    if (coding)
        putf(b, "Content-Encoding: %s\r\n", FUZZ_CODINGS[coding]);
    if (framing == 0) {
        putf(b, "Content-Length: %zu\r\n\r\n", enc.len);
        put(b, enc.p, enc.len);
    } else if (framing == 1) {
        puts_(b, "Transfer-Encoding: chunked\r\n\r\n");
        put_chunked(b, &enc, 4);
    } else {
        puts_(b, "Connection: close\r\n\r\n");
        put(b, enc.p, enc.len);
    }
    buf_free(&enc);
}

/* ---- per-target seeds ----------------------------------------------------- */

static void seeds_http(void)
{
    static const uint8_t ctl[][2] = {{0, 0}, {1, 0}, {3, 0x08}, {9, 0x01}, {200, 0x04}};
    for (size_t f = 0; f < NFIX; f++) {
        const fixture *fx = &FIXTURES[f];
        buf req = load_fixture(fx->req), resp = load_fixture(fx->resp);
        for (size_t c = 0; c < sizeof ctl / sizeof ctl[0]; c++) {
            if (c > 1 && f % 3)
                continue; /* the other split patterns on a third of the fixtures */
            buf b = {0};
            put(&b, ctl[c], 2);
            put_request(&b, fx, &req, c == 2);
            if (c == 4) /* keep-alive: a second request on the connection */
                put_request(&b, fx, &req, 1);
            write_seed("http_request", &b);
            buf_free(&b);
        }
        /* responses: every framing, and every coding once per fixture */
        for (int framing = 0; framing < 3; framing++) {
            buf b = {0};
            put(&b, ctl[framing % 2], 2);
            put_response(&b, fx, &resp, framing, 0);
            write_seed("http_response", &b);
            buf_free(&b);
        }
        buf b = {0};
        put(&b, ctl[3], 2);
        put_response(&b, fx, &resp, (int)(f % 2), 1 + f % (FUZZ_NCODINGS - 1));
        write_seed("http_response", &b);
        buf_free(&b);
        /* chunked bodies for http_chunked: [split][coding] + framing */
        size_t coding = f % FUZZ_NCODINGS;
        buf enc = encode(&resp, coding, 0);
        b = (buf){0};
        putc_(&b, (uint8_t)(f % 2 ? 0 : 5));
        putc_(&b, (uint8_t)coding);
        put_chunked(&b, &enc, 1 + f % 5);
        write_seed("http_chunked", &b);
        buf_free(&b);
        buf_free(&enc);
        buf_free(&req);
        buf_free(&resp);
    }
    /* interim response, HEAD, 204 and 304, a tunnel, and a pipelined pair */
    static const char *const extra[] = {
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/json\r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
        "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: {}\n\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x\r\n\r\n5;ext=1\r\nhello\r\n0\r\nx: y\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        buf b = {0};
        putc_(&b, (uint8_t)i);
        putc_(&b, i == 1 ? 0x08 : 0); /* bits 3-4 = 1: the request was HEAD */
        puts_(&b, extra[i]);
        write_seed("http_response", &b);
        buf_free(&b);
    }
    static const char *const extra_req[] = {
        "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
        "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n",
        "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof extra_req / sizeof extra_req[0]; i++) {
        buf b = {0};
        putc_(&b, (uint8_t)i);
        putc_(&b, 0);
        puts_(&b, extra_req[i]);
        write_seed("http_request", &b);
        buf_free(&b);
    }
}

static void seeds_content(void)
{
    static const char *const bodies[] = {"openai/chat_response.json", "openai/chat_stream_text.sse",
                                         "anthropic/messages_stream.sse", "gemini/stream_array.json"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        buf plain = load_fixture(bodies[i]);
        for (size_t c = 0; c < FUZZ_NCODINGS; c++) {
            for (int raw = 0; raw < 1 + (c == 2); raw++) {
                buf enc = encode(&plain, c, raw);
                buf b = {0};
                putc_(&b, (uint8_t)c);
                putc_(&b, (uint8_t)(i == 0 ? 0 : 3 * i + c));
                put(&b, enc.p, enc.len);
                write_seed("content", &b);
                buf_free(&b);
                buf_free(&enc);
            }
        }
        buf_free(&plain);
    }
}

static void seeds_sse(void)
{
    for (size_t f = 0; f < NFIX; f++) {
        if (!is_sse(FIXTURES[f].resp) || (f > 0 && !strcmp(FIXTURES[f].resp, FIXTURES[f - 1].resp)))
            continue;
        buf s = load_fixture(FIXTURES[f].resp);
        for (uint8_t split = 0; split < 3; split++) {
            buf b = {0};
            putc_(&b, (uint8_t)(split * 5));
            putc_(&b, (uint8_t)(split == 2 ? 3 : 0));
            put(&b, s.p, s.len);
            write_seed("sse", &b);
            buf_free(&b);
        }
        buf_free(&s);
    }
    buf b = {0};
    puts_(&b, "\x02\x00: comment\r\nevent: x\rdata: a\ndata:b\r\n\r\nid: 7\nretry: 10\ndata\n\ndata: tail");
    write_seed("sse", &b);
    buf_free(&b);
}

/* A record in fuzz_conn's format. */
static void put_record(buf *b, uint8_t op, uint8_t arg, const uint8_t *p, size_t n)
{
    uint8_t h[4] = {op, arg, (uint8_t)(n & 0xff), (uint8_t)(n >> 8)};
    put(b, h, 4);
    put(b, p, n);
}

static void put_records(buf *b, uint8_t op, const buf *msg, size_t piece)
{
    for (size_t off = 0; off < msg->len; off += piece) {
        size_t n = msg->len - off < piece ? msg->len - off : piece;
        put_record(b, op, 0, msg->p + off, n);
    }
}

static void seeds_conn(void)
{
    for (size_t f = 0; f < NFIX; f += 2) {
        const fixture *fx = &FIXTURES[f];
        buf req = load_fixture(fx->req), resp = load_fixture(fx->resp), rq = {0}, rs = {0}, b = {0};
        put_request(&rq, fx, &req, 0);
        put_response(&rs, fx, &resp, f % 4 == 2, 0);
        uint8_t conn = (uint8_t)((f / 2) % 4) << 3;
        int server = f % 6 == 4; /* requests read, responses written: the server's view */
        uint8_t wr = conn | (server ? 0x20 : 0), rd = conn | (server ? 0 : 0x20);
        put_records(&b, wr, &rq, 1 + rq.len / 2);
        put_records(&b, rd, &rs, 4096);
        put_records(&b, wr, &rq, 60000); /* keep-alive: the same exchange again */
        if (f % 8 == 0) {
            put_record(&b, (uint8_t)(rd | 2), 40, rs.p, rs.len > 300 ? 300 : rs.len); /* a gap */
        } else {
            put_records(&b, rd, &rs, 1000);
        }
        put_record(&b, (uint8_t)(conn | 6), (uint8_t)(f % 3 == 0), NULL, 0);
        write_seed("conn", &b);
        buf_free(&b);
        buf_free(&rq);
        buf_free(&rs);
        buf_free(&req);
        buf_free(&resp);
    }
}

static void seeds_decode(void)
{
    for (size_t f = 0; f < NFIX; f++) {
        const fixture *fx = &FIXTURES[f];
        buf req = load_fixture(fx->req), resp = load_fixture(fx->resp), b = {0};
        char target[64];
        snprintf(target, sizeof target, "decode_%s", fx->provider);
        putc_(&b, (uint8_t)fx->api);
        putc_(&b, (uint8_t)(fx->resp_type + 6 * fx->status_idx));
        putc_(&b, (uint8_t)(f % 5 == 4 ? FUZZ_DF_ONE_MARK : 0));
        put(&b, req.p, req.len);
        put(&b, FUZZ_SEP, FUZZ_SEP_LEN);
        put(&b, resp.p, resp.len);
        write_seed(target, &b);
        buf_free(&b);
        buf_free(&req);
        buf_free(&resp);
    }
}

/* JSON documents: the whole .json fixtures, and the payload of each SSE
 * data: line and NDJSON line (the streamed form decoders parse most). */
static void seeds_json_file(const char *rel)
{
    buf s = load(rel);
    if (strstr(rel, ".json") && !strstr(rel, ".jsonl")) {
        write_seed("jsonfast", &s);
    } else if (is_sse(rel) || strstr(rel, ".ndjson") || strstr(rel, ".jsonl")) {
        size_t lines = 0;
        for (char *p = (char *)s.p, *nl; p < (char *)s.p + s.len && lines < 40; p = nl + 1) {
            nl = memchr(p, '\n', s.len - (size_t)(p - (char *)s.p));
            if (!nl)
                nl = (char *)s.p + s.len;
            char *q = p;
            if (!strncmp(q, "data: ", 6))
                q += 6;
            if (nl > q && (*q == '{' || *q == '[')) {
                buf b = {0};
                put(&b, q, (size_t)(nl - q));
                write_seed("jsonfast", &b);
                buf_free(&b);
                lines++;
            }
        }
    }
    buf_free(&s);
}

static void seeds_jsonfast(void)
{
    static const char *const dirs[] = {"decode/openai", "decode/anthropic", "decode/gemini", "decode/ollama",
                                       "decode/bedrock", "analyze", "show"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", data_dir, dirs[d]);
        DIR *dir = opendir(path);
        if (!dir)
            continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char rel[1024];
            snprintf(rel, sizeof rel, "%s/%s", dirs[d], e->d_name);
            seeds_json_file(rel);
        }
        closedir(dir);
    }
    static const char *const small[] = {"[1.5e308,-0.0,1e-320,123456789012345678901]", "\"\\ud83d\\ude00\\u00e9\"",
                                        "{\"a\":1,\"a\":2}", "  null  ", "[[[[[]]]]]"};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        buf b = {0};
        puts_(&b, small[i]);
        write_seed("jsonfast", &b);
        buf_free(&b);
    }
}

static void seeds_secrets(void)
{
    static const char *const texts[] = {
        "curl -H 'Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789' https://api.openai.com",
        "python agent.py --api-key=sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789 --token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "x-api-key: sk-ant-api03-0123456789abcdef0123456789abcdef",
        "env AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP GOOGLE_API_KEY=AIzaSyA0123456789abcdefghijklmnopqrstuv node x.js",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "token xoxb-1234567890-abcdefghijklmnop eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc123def456",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ --password hunter2",
        "sk-learn ghost_writer Bearer",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        buf b = {0};
        puts_(&b, texts[i]);
        write_seed("secrets", &b);
        buf_free(&b);
    }
    for (size_t i = 0; i < FUZZ_NAPIS(FUZZ_OPENAI_APIS); i++) {
        buf b = {0};
        puts_(&b, FUZZ_OPENAI_APIS[i].headers);
        write_seed("secrets", &b);
        buf_free(&b);
    }
    buf b = {0};
    puts_(&b, FUZZ_H_ANT FUZZ_H_GEM FUZZ_H_BR FUZZ_H_VERTEX);
    write_seed("secrets", &b);
    buf_free(&b);
}

/* fuzz_redact: [mode][shape] + text (shape even) or an event (shape odd):
 * the secret texts in each mode, and recorded events from tests/data. */
static void seeds_redact(void)
{
    static const char *const texts[] = {
        "please use sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 and mail bob@example.com",
        "card 4111 1111 1111 1111, ticket ACME-123456 on build.corp.example",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc123def456",
        "{\"api_key\": \"hunter2\", \"password\": \"x\"}",
        "[REDACTED:openai_key] already masked",
        "plain prompt text with no secrets \xc3\xa9\xe2\x82\xac",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        for (uint8_t mode = 0; mode < 3; mode++) {
            buf b = {0};
            putc_(&b, (uint8_t)(mode | (i % 2 ? 0x10 : 0) | (uint8_t)((i % 4) << 2)));
            putc_(&b, 0);
            puts_(&b, texts[i]);
            write_seed("redact", &b);
            buf_free(&b);
        }
    }
    static const char *const files[] = {"show/pairing.jsonl", "show/hostile.jsonl", "analyze/agent.jsonl"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", data_dir, files[f]);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        fclose(fp);
        buf s = load(files[f]);
        size_t lines = 0;
        for (char *p = (char *)s.p, *nl; p < (char *)s.p + s.len && lines < 12; p = nl + 1) {
            nl = memchr(p, '\n', s.len - (size_t)(p - (char *)s.p));
            if (!nl)
                nl = (char *)s.p + s.len;
            if (*p != '{')
                continue;
            buf b = {0};
            putc_(&b, (uint8_t)(lines % 3 | 0x10));
            putc_(&b, 1);
            put(&b, p, (size_t)(nl - p));
            write_seed("redact", &b);
            buf_free(&b);
            lines++;
        }
        buf_free(&s);
    }
}

/* fuzz_dns: the messages a stub resolver and a recursive resolver put on
 * the wire (compression pointers to the question and to earlier rdata,
 * EDNS), every answer type dns.c names, and a long pointer chain. */
static void dns_u16(buf *b, unsigned v)
{
    putc_(b, (uint8_t)(v >> 8));
    putc_(b, (uint8_t)v);
}

static void dns_u32(buf *b, uint32_t v)
{
    dns_u16(b, v >> 16);
    dns_u16(b, v & 0xffff);
}

static void dns_name(buf *b, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t n = dot ? (size_t)(dot - name) : strlen(name);
        putc_(b, (uint8_t)n);
        put(b, name, n);
        name += n + (dot ? 1 : 0);
    }
    putc_(b, 0);
}

static void dns_header(buf *b, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
                       unsigned ar)
{
    dns_u16(b, id);
    dns_u16(b, flags);
    dns_u16(b, qd);
    dns_u16(b, an);
    dns_u16(b, ns);
    dns_u16(b, ar);
}

/* A resource record owned by a pointer to `owner`; rdata as given. */
static void dns_rr(buf *b, unsigned owner, unsigned type, uint32_t ttl, const void *rd, size_t n)
{
    dns_u16(b, 0xc000 | owner);
    dns_u16(b, type);
    dns_u16(b, 1);
    dns_u32(b, ttl);
    dns_u16(b, (unsigned)n);
    put(b, rd, n);
}

static void seeds_dns(void)
{
    buf b = {0};
    /* glibc's A query, and one with an EDNS OPT record (dig's) */
    dns_header(&b, 0x1a2b, 0x0100, 1, 0, 0, 0);
    dns_name(&b, "api.openai.com");
    dns_u16(&b, 1);
    dns_u16(&b, 1);
    write_seed("dns", &b);
    b.p[11] = 1;
    put(&b, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
    write_seed("dns", &b);
    buf_free(&b);

    /* CNAME to a CDN name, two A records owned by it (pointer into rdata), OPT */
    dns_header(&b, 0x1a2b, 0x8180, 1, 3, 0, 1);
    dns_name(&b, "api.openai.com");
    dns_u16(&b, 1);
    dns_u16(&b, 1);
    buf rd = {0};
    dns_name(&rd, "api.openai.com.cdn.cloudflare.net");
    size_t target = b.len + 12;
    dns_rr(&b, 12, 5, 300, rd.p, rd.len);
    buf_free(&rd);
    dns_rr(&b, (unsigned)target, 1, 300, "\x68\x12\x21\x2d", 4);
    dns_rr(&b, (unsigned)target, 1, 300, "\xac\x40\x9a\xd3", 4);
    put(&b, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
    write_seed("dns", &b);
    buf_free(&b);

    /* AAAA with TC set */
    dns_header(&b, 7, 0x8380, 1, 2, 0, 0);
    dns_name(&b, "api.openai.com");
    dns_u16(&b, 28);
    dns_u16(&b, 1);
    dns_rr(&b, 12, 28, 5, "\x26\x06\x47\0\0\0\0\0\0\0\0\0\x68\x12\x21\x2d", 16);
    dns_rr(&b, 12, 28, 5, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
    write_seed("dns", &b);
    buf_free(&b);

    /* NXDOMAIN with the zone's SOA in the authority section */
    dns_header(&b, 0xbeef, 0x8183, 1, 0, 1, 0);
    dns_name(&b, "nx.example");
    dns_u16(&b, 1);
    dns_u16(&b, 1);
    dns_rr(&b, 15, 6, 3600, "\2ns\xc0\x0f\xc0\x0f\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5", 27);
    write_seed("dns", &b);
    buf_free(&b);

    /* every type with a presentation: MX, TXT, SRV, PTR, SOA, NS, HTTPS (generic) */
    dns_header(&b, 1, 0x8180, 1, 7, 0, 0);
    dns_name(&b, "example.com");
    dns_u16(&b, 255);
    dns_u16(&b, 1);
    dns_rr(&b, 12, 15, 300, "\0\x0a\4mail\xc0\x0c", 9);
    dns_rr(&b, 12, 16, 300, "\x0bv=spf1 -all\2\"\1", 15);
    dns_rr(&b, 12, 33, 300, "\0\0\0\5\x01\xbb\3svc\xc0\x0c", 12);
    dns_rr(&b, 12, 12, 300, "\xc0\x0c", 2);
    dns_rr(&b, 12, 6, 300, "\2ns\xc0\x0c\0\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5", 26);
    dns_rr(&b, 12, 2, 300, "\2ns\xc0\x0c", 5);
    dns_rr(&b, 12, 65, 300, "\0\1\0", 3);
    write_seed("dns", &b);
    buf_free(&b);

    /* a chain of 20 pointers in an unknown type's rdata, then an A owned by its end */
    dns_header(&b, 1, 0x8180, 1, 2, 0, 0);
    dns_name(&b, "a");
    dns_u16(&b, 1);
    dns_u16(&b, 1);
    size_t rd_at = b.len + 12, prev = 12;
    buf chain = {0};
    for (int i = 0; i < 20; i++) {
        dns_u16(&chain, 0xc000 | (unsigned)prev);
        prev = rd_at + 2 * (size_t)i;
    }
    dns_rr(&b, 12, 99, 0, chain.p, chain.len);
    buf_free(&chain);
    dns_rr(&b, (unsigned)prev, 1, 0, "\x7f\0\0\1", 4);
    write_seed("dns", &b);
    buf_free(&b);

    /* FORMERR without a question */
    dns_header(&b, 0x1234, 0x8001, 0, 0, 0, 0);
    write_seed("dns", &b);
    buf_free(&b);
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void seeds_toml(const char *cases)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/../packaging/config.toml", data_dir);
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        buf s = load("../packaging/config.toml");
        write_seed("toml", &s);
        buf_free(&s);
    }
    static const char *const docs[] = {
        "[output.jsonl]\npath = \"/var/log/oisp/events.jsonl\"\nrotate_size = \"100M\"\n",
        "a.b.c = 1\n[[t]]\nx = 1979-05-27T07:32:00.999999-08:00\ny = [1, 2.5, \"s\", {k = true}]\n",
        "s = '''\nmulti\\nline'''\nt = \"\"\"\\u00e9\\\n  x\"\"\"\nd = 07:32:00\ne = 1979-05-27\ninf = -inf\n",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        buf b = {0};
        puts_(&b, docs[i]);
        write_seed("toml", &b);
        buf_free(&b);
    }
    if (!cases)
        return;
    /* tests/toml_diff.py output: {"doc": HEX, "valid": bool, ...} per line */
    f = fopen(cases, "r");
    if (!f)
        die("cannot open %s", cases);
    char *line = NULL;
    size_t cap = 0, kept = 0;
    while (getline(&line, &cap, f) > 0 && kept < 400) {
        json_t *j = json_loads(line, 0, NULL);
        const char *hex = json_string_value(json_object_get(j, "doc"));
        if (hex && strlen(hex) <= 8192) {
            buf b = {0};
            for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
                int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
                if (hi < 0 || lo < 0)
                    break;
                putc_(&b, (uint8_t)(hi << 4 | lo));
            }
            if (b.p) {
                write_seed("toml", &b);
                kept++;
            }
            buf_free(&b);
        }
        json_decref(j);
    }
    free(line);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: seedgen DATA_DIR OUT_DIR [TOML_CASES.jsonl]\n");
        return 2;
    }
    data_dir = argv[1];
    out_dir = argv[2];
    if (mkdir(out_dir, 0755) < 0 && errno != EEXIST)
        die("mkdir %s: %s", out_dir, strerror(errno));
    seeds_http();
    seeds_content();
    seeds_sse();
    seeds_conn();
    seeds_decode();
    seeds_jsonfast();
    seeds_secrets();
    seeds_dns();
    seeds_redact();
    seeds_toml(argc == 4 ? argv[3] : NULL);
    printf("seedgen: %zu seeds in %s\n", seeds_written, out_dir);
    return 0;
}

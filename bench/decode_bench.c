/* decode_bench.c: offline decode throughput of the user-space pipeline,
 * single thread, in MB/s of captured TLS plaintext per core.
 *
 * It builds recorded TLS streams the way the capture hands them over: for
 * each workload, the bytes a client wrote (an HTTP/1.1 POST with a JSON
 * body from tests/data/decode) and read (the provider's response: a JSON
 * body with Content-Length, or an SSE stream in chunked encoding with one
 * TLS record per event, as servers send them; JSON bodies in records of at
 * most 16 KiB, the TLS maximum).  It then replays them through the real
 * pipeline, pipeline_data() per record: conn_table_record -> HTTP parser ->
 * provider detection and decode -> OISP envelope (process, host, ULID,
 * timestamps) -> redaction (the sensor's default, "safe"; --no-redact to
 * leave it out) -> serialisation, into a sink that only counts the bytes.
 * Exchanges alternate over 8 keep-alive connections of this process.
 *
 * Workloads: OpenAI chat JSON, chat SSE (text, tool calls), Responses SSE,
 * Anthropic Messages JSON and SSE, a 64 KB long-context chat request with a
 * streamed answer, and all of them in turn ("mix").  Each runs for about
 * --seconds (default 1.0) after a warm-up, three rounds, best kept; MB/s
 * counts request and response bytes on the wire (headers and chunk framing
 * included).  Every exchange must come out as one ai.request and one
 * ai.response event, or the run fails.
 *
 * Build and run from the repository root (`make bench` does this):
 *   make build/bench/decode_bench && build/bench/decode_bench [--seconds S] [--rounds N]
 *       [--data tests/data/decode] [--workload NAME] [--no-redact] [--batches N]
 * --batches N replays exactly N batches (8 rounds of the workload each)
 * instead of timing: for counting instructions under valgrind, where two
 * values of N give the cost per exchange without the set-up.
 * Output: a table, and one "RESULT workload=... mb_s=..." line per workload. */
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events/pipeline.h"
#include "events/redact.h"
#include "sinks/sink.h"

#define RECORD_MAX 16384 /* TLS plaintext record */
#define NCONNS 8

/* ---- a sink that counts ------------------------------------------------- */

typedef struct count_sink {
    sink base;
    uint64_t events, bytes;
} count_sink;

static int count_submit(sink *s, const sink_event *e)
{
    count_sink *c = (count_sink *)s;
    c->events++;
    c->bytes += e->len;
    return 0;
}

static void count_flush(sink *s) { (void)s; }
static void count_close(sink *s, int drain_timeout_ms)
{
    (void)drain_timeout_ms;
    free(s);
}

static void count_stats(sink *s, sink_stats *out)
{
    count_sink *c = (count_sink *)s;
    memset(out, 0, sizeof *out);
    out->submitted = out->delivered = c->events;
}

static const sink_vtbl count_vtbl = {"count", count_submit, count_flush, count_close, count_stats};

/* ---- buffers and streams ------------------------------------------------ */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void die(const char *msg)
{
    fprintf(stderr, "decode_bench: %s\n", msg);
    exit(1);
}

static void put(buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(b->p = realloc(b->p, cap)))
            die("out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void putf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        die("format overflow");
    put(b, tmp, (size_t)n);
}

static const char *data_dir = "tests/data/decode";
static int use_redaction = 1;

static buf load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "decode_bench: cannot open %s\n", path);
        exit(1);
    }
    buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        put(&b, tmp, n);
    fclose(f);
    return b;
}

/* One direction of one exchange: its bytes and where the TLS records end. */
typedef struct stream {
    buf bytes;
    size_t *cuts; /* record end offsets */
    size_t ncuts, capcuts;
} stream;

static void cut(stream *s)
{
    if (s->ncuts && s->cuts[s->ncuts - 1] == s->bytes.len)
        return;
    if (s->ncuts == s->capcuts) {
        s->capcuts = s->capcuts ? s->capcuts * 2 : 16;
        if (!(s->cuts = realloc(s->cuts, s->capcuts * sizeof *s->cuts)))
            die("out of memory");
    }
    s->cuts[s->ncuts++] = s->bytes.len;
}

/* Appends n bytes in records of at most RECORD_MAX. */
static void put_records(stream *s, const char *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        size_t k = n - off < RECORD_MAX ? n - off : RECORD_MAX;
        put(&s->bytes, p + off, k);
        cut(s);
        off += k;
    }
}

typedef struct exchange {
    stream req, resp;
} exchange;

typedef struct workload {
    const char *name;
    exchange *x;
    size_t nx;
    uint64_t bytes_per_round; /* wire bytes of one pass over x */
} workload;

static exchange make_exchange(const char *host_lines, const char *path, const buf *body, const buf *answer,
                              int sse)
{
    exchange x = {0};
    buf head = {0};
    putf(&head,
         "POST %s HTTP/1.1\r\n%sContent-Type: application/json\r\nAccept: application/json\r\n"
         "User-Agent: OpenAI/Python 1.54.0\r\nContent-Length: %zu\r\n\r\n",
         path, host_lines, body->len);
    put(&head, body->p, body->len);
    put_records(&x.req, head.p, head.len);
    free(head.p);

    if (!sse) {
        buf r = {0};
        putf(&r,
             "HTTP/1.1 200 OK\r\nDate: Thu, 21 Nov 2024 10:00:00 GMT\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: keep-alive\r\nx-request-id: req_0123456789abcdef\r\n"
             "openai-processing-ms: 412\r\n\r\n",
             answer->len);
        put(&r, answer->p, answer->len);
        put_records(&x.resp, r.p, r.len);
        free(r.p);
        return x;
    }
    /* SSE: the head in one record, then one chunk (one record) per event */
    buf r = {0};
    putf(&r, "HTTP/1.1 200 OK\r\nDate: Thu, 21 Nov 2024 10:00:00 GMT\r\nContent-Type: text/event-stream; "
             "charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
             "x-request-id: req_0123456789abcdef\r\n\r\n");
    put_records(&x.resp, r.p, r.len);
    free(r.p);
    const char *p = answer->p, *end = answer->p + answer->len;
    while (p < end) {
        const char *e = strstr(p, "\n\n");
        size_t n = e ? (size_t)(e + 2 - p) : (size_t)(end - p);
        buf c = {0};
        putf(&c, "%zx\r\n", n);
        put(&c, p, n);
        put(&c, "\r\n", 2);
        put_records(&x.resp, c.p, c.len);
        free(c.p);
        p += n;
    }
    put_records(&x.resp, "0\r\n\r\n", 5);
    return x;
}

/* A chat request of about `size` bytes: the fixture's messages repeated
 * (as earlier turns of a long conversation), its own last. */
static buf long_context_request(size_t size)
{
    buf src = load("openai/chat_request.json");
    json_t *req = json_loadb(src.p, src.len, 0, NULL);
    free(src.p);
    json_t *msgs = json_object_get(req, "messages");
    if (!json_is_array(msgs))
        die("openai/chat_request.json has no messages");
    json_object_set_new(req, "stream", json_true());
    buf out = {0};
    for (int i = 0; i < 10000; i++) {
        char *s = json_dumps(req, JSON_COMPACT);
        size_t n = strlen(s);
        if (n >= size || i == 9999) {
            put(&out, s, n);
            free(s);
            break;
        }
        free(s);
        json_t *filler = json_pack("{s:s, s:s}", "role", i % 2 ? "assistant" : "user", "content",
                                   "Here is the next part of the log we are looking at together; "
                                   "summarise what changed and why the build broke after it. "
                                   "2024-11-21T10:00:00Z build 4821 step compile: warning: unused "
                                   "variable 'x' in src/stream/http.c line 512; step test: 412 passed.");
        json_array_insert_new(msgs, 0, filler);
    }
    json_decref(req);
    return out;
}

#define H_OPENAI "Host: api.openai.com\r\nAuthorization: Bearer sk-proj-BENCHkey0000000000000000000000000000\r\n"
#define H_ANT                                                                                     \
    "Host: api.anthropic.com\r\nx-api-key: sk-ant-api03-BENCHkey000000000000000000000000\r\n" \
    "anthropic-version: 2023-06-01\r\n"

static workload one(const char *name, exchange x)
{
    workload w = {name, NULL, 1, 0};
    if (!(w.x = malloc(sizeof *w.x)))
        die("out of memory");
    w.x[0] = x;
    w.bytes_per_round = x.req.bytes.len + x.resp.bytes.len;
    return w;
}

static size_t build_workloads(workload *w)
{
    buf oreq = load("openai/chat_request.json"), oresp = load("openai/chat_response.json");
    buf otext = load("openai/chat_stream_text.sse"), otools = load("openai/chat_stream_tools.sse");
    buf rreq = load("openai/responses_request.json"), rstream = load("openai/responses_stream.sse");
    buf areq = load("anthropic/messages_request.json"), aresp = load("anthropic/messages_response.json");
    buf astream = load("anthropic/messages_stream.sse");
    buf longreq = long_context_request(64 * 1024);
    size_t n = 0;
    w[n++] = one("openai_chat_json", make_exchange(H_OPENAI, "/v1/chat/completions", &oreq, &oresp, 0));
    w[n++] = one("openai_chat_sse", make_exchange(H_OPENAI, "/v1/chat/completions", &oreq, &otext, 1));
    w[n++] = one("openai_tools_sse", make_exchange(H_OPENAI, "/v1/chat/completions", &oreq, &otools, 1));
    w[n++] = one("openai_responses_sse", make_exchange(H_OPENAI, "/v1/responses", &rreq, &rstream, 1));
    w[n++] = one("anthropic_json", make_exchange(H_ANT, "/v1/messages", &areq, &aresp, 0));
    w[n++] = one("anthropic_sse", make_exchange(H_ANT, "/v1/messages", &areq, &astream, 1));
    w[n++] = one("long_context_64k_sse", make_exchange(H_OPENAI, "/v1/chat/completions", &longreq, &otext, 1));
    workload mix = {"mix", malloc(n * sizeof(exchange)), n, 0};
    if (!mix.x)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        mix.x[i] = w[i].x[0];
        mix.bytes_per_round += w[i].bytes_per_round;
    }
    w[n++] = mix;
    free(oreq.p), free(oresp.p), free(otext.p), free(otools.p), free(rreq.p), free(rstream.p);
    free(areq.p), free(aresp.p), free(astream.p), free(longreq.p);
    return n;
}

/* The mix (last) shares its exchanges with the single workloads. */
static void free_workloads(workload *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n) {
            for (size_t k = 0; k < w[i].nx; k++) {
                free(w[i].x[k].req.bytes.p), free(w[i].x[k].req.cuts);
                free(w[i].x[k].resp.bytes.p), free(w[i].x[k].resp.cuts);
            }
        }
        free(w[i].x);
    }
}

/* ---- replay ------------------------------------------------------------- */

/* CPU time of this thread, not wall time: MB/s per core stays comparable
 * when other work shares the machine (a VM, a parallel build). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct replay {
    pipeline *p;
    count_sink *sink;
    uint64_t offset[NCONNS][2];
    uint64_t ts;
    uint32_t tgid;
    size_t next_conn;
} replay;

static void replay_stream(replay *r, size_t conn, int dir, const stream *s)
{
    size_t from = 0;
    for (size_t i = 0; i < s->ncuts; i++) {
        size_t to = s->cuts[i];
        r->ts += 20000; /* 20 us between records */
        pipeline_data(r->p, r->tgid, r->tgid, 0x7f0000001000ull + conn * 0x1000, dir, r->offset[conn][dir],
                      (const uint8_t *)s->bytes.p + from, to - from, 0, r->ts);
        r->offset[conn][dir] += to - from;
        from = to;
    }
}

static void replay_exchange(replay *r, const exchange *x)
{
    size_t c = r->next_conn++ % NCONNS;
    replay_stream(r, c, PIPE_WRITE, &x->req);
    replay_stream(r, c, PIPE_READ, &x->resp);
}

typedef struct result {
    double seconds;
    uint64_t exchanges, bytes, events, event_bytes;
} result;

/* Replays w for at least `seconds` (or exactly `batches` batches of 8
 * rounds, if not 0) on a fresh pipeline; checks that every exchange became
 * an ai.request and an ai.response. */
static result run(const workload *w, double seconds, uint64_t batches)
{
    sink_set *ss = sink_set_new();
    count_sink *cs = calloc(1, sizeof *cs);
    if (!ss || !cs)
        die("out of memory");
    cs->base.v = &count_vtbl;
    snprintf(cs->base.name, sizeof cs->base.name, "count");
    sink_set_add(ss, &cs->base);
    pipeline_opts o = {.sinks = ss};
    replay r = {.p = pipeline_new(&o), .sink = cs, .ts = 1000000000ull, .tgid = (uint32_t)getpid()};
    if (!r.p)
        die("pipeline_new failed");
    if (use_redaction) { /* as the sensor does: the default mode, no user patterns */
        redact_opts ro = {.mode = REDACT_SAFE};
        char err[256];
        redactor *rd = redact_new(&ro, err, sizeof err);
        if (!rd)
            die(err);
        redact_free(pipeline_swap_redactor(r.p, rd));
    }
    result res = {0};
    /* warm-up: the process block and the host block are read once */
    for (size_t i = 0; i < w->nx; i++)
        replay_exchange(&r, &w->x[i]);
    uint64_t ev0 = cs->events, evb0 = cs->bytes;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 8; k++) {
            for (size_t i = 0; i < w->nx; i++)
                replay_exchange(&r, &w->x[i]);
            res.exchanges += w->nx;
            res.bytes += w->bytes_per_round;
        }
        t = now_s();
    } while (batches ? res.exchanges < batches * 8 * w->nx : t - t0 < seconds);
    res.seconds = t - t0;
    res.events = cs->events - ev0;
    res.event_bytes = cs->bytes - evb0;
    pipeline_flush(r.p, r.ts + 1);
    pipeline_stats st;
    pipeline_get_stats(r.p, &st);
    uint64_t want = res.exchanges + w->nx;
    if (st.ai_requests != want || st.ai_responses != want) {
        fprintf(stderr, "decode_bench: %s: %llu exchanges replayed but %llu ai.request / %llu ai.response\n",
                w->name, (unsigned long long)want, (unsigned long long)st.ai_requests,
                (unsigned long long)st.ai_responses);
        exit(1);
    }
    pipeline_free(r.p);
    sink_set_close(ss, 0);
    return res;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    int rounds = 3;
    uint64_t batches = 0;
    static const struct option opts[] = {
        {"seconds", required_argument, NULL, 's'},
        {"rounds", required_argument, NULL, 'r'},
        {"data", required_argument, NULL, 'd'},
        {"workload", required_argument, NULL, 'w'},
        {"no-redact", no_argument, NULL, 'n'},
        {"batches", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    const char *only = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "s:r:d:w:nb:", opts, NULL)) != -1) {
        switch (c) {
        case 's': seconds = atof(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 'd': data_dir = optarg; break;
        case 'w': only = optarg; break;
        case 'n': use_redaction = 0; break;
        case 'b': batches = strtoull(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: decode_bench [--seconds S] [--rounds N] [--data tests/data/decode] "
                            "[--workload NAME] [--no-redact] [--batches N]\n");
            return 2;
        }
    }
    if (seconds <= 0 || rounds < 1)
        die("--seconds and --rounds must be positive");
    workload w[16];
    size_t nw = build_workloads(w);
    printf("offline decode: records -> conn table -> HTTP -> decode -> OISP event -> %s JSON, 1 thread, "
           "best of %d x %.1f s\n",
           use_redaction ? "redaction (safe) ->" : "(no redaction) ->", rounds, seconds);
    printf("%-22s %10s %10s %12s %12s %12s\n", "workload", "bytes/exch", "MB/s", "exchanges/s", "us/exchange",
           "event B/exch");
    for (size_t i = 0; i < nw; i++) {
        if (only && strcmp(only, w[i].name) != 0)
            continue;
        result best = {0};
        double best_rate = 0;
        for (int k = 0; k < rounds; k++) {
            result r = run(&w[i], seconds, batches);
            double rate = (double)r.bytes / r.seconds;
            if (rate > best_rate) {
                best_rate = rate;
                best = r;
            }
        }
        double mbs = best_rate / 1e6, xps = (double)best.exchanges / best.seconds;
        double per = (double)best.bytes / (double)best.exchanges;
        double evb = (double)best.event_bytes / (double)best.exchanges;
        printf("%-22s %10.0f %10.1f %12.0f %12.2f %12.0f\n", w[i].name, per, mbs, xps, 1e6 / xps, evb);
        printf("RESULT workload=%s bytes_per_exchange=%.0f mb_s=%.1f exchanges_s=%.0f us_per_exchange=%.2f "
               "event_bytes_per_exchange=%.0f exchanges=%llu\n",
               w[i].name, per, mbs, xps, 1e6 / xps, evb, (unsigned long long)best.exchanges);
    }
    free_workloads(w, nw);
    return 0;
}

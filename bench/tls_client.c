/* tls_client.c: the traced program of the benchmark.
 *
 * A keep-alive HTTPS/1.1 client on OpenSSL's libssl (dynamically linked, so
 * the sensor's probes on libssl.so.3 apply to it) that POSTs OpenAI-style
 * chat requests with a JSON body of exactly --body bytes to
 * /v1/chat/completions and reads each full response (Content-Length or
 * chunked; --stream asks for SSE).  One thread per connection.  The
 * prompt starts with the connection's and the request's number, so every
 * request is new text, as a real one is: the sensor gets no help from
 * having seen the same prompt before.
 *
 * Modes:
 *   saturated (default): every connection sends back to back for --duration
 *     seconds; reports requests per second.
 *   paced (--rate R): requests start on a fixed schedule of R per second in
 *     total; reports the mean, p50, p99 and max time from sending a request
 *     to having read all of its response, in microseconds.
 * Each connection first does its handshake and one warm-up request, which
 * are not measured.
 *
 * Prints one line:  RESULT mode=... requests=N warmup=W errors=E ...  (W:
 * warm-up requests completed, not in N) and exits 1 if any request failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX (16u << 20)

typedef struct config {
    const char *host;
    const char *host_header;
    const char *model;
    int port;
    int conns;
    size_t body;
    int stream;
    double duration;
    double rate; /* 0: saturated */
} config;

typedef struct worker {
    const config *cfg;
    int index;
    pthread_t thread;
    SSL_CTX *ctx;
    char *req;
    size_t req_len;
    char *seq;               /* in req: the request's number, so no two prompts are alike */
    uint64_t sent;
    char *buf;
    size_t len, cap;
    uint64_t requests;
    uint64_t errors;
    int warmed;              /* the unmeasured warm-up request completed */
    uint64_t *lat_ns;
    size_t nlat, lat_cap;
    char error[256];
} worker;

static pthread_barrier_t ready;
static uint64_t start_ns; /* set by the main thread between the two barrier waits */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* The request: headers and a JSON body of exactly cfg->body bytes. */
static int build_request(worker *w)
{
    const config *c = w->cfg;
    char prefix[256], suffix[128];
    int pl = snprintf(prefix, sizeof(prefix),
                      "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"", c->model);
    int sl = snprintf(suffix, sizeof(suffix), "\"}],\"stream\":%s}",
                      c->stream ? "true,\"stream_options\":{\"include_usage\":true}" : "false");
    size_t fill = c->body > (size_t)(pl + sl) ? c->body - (size_t)(pl + sl) : 1;
    size_t body = (size_t)(pl + sl) + fill;
    char head[512];
    int hl = snprintf(head, sizeof(head),
                      "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n"
                      "Authorization: Bearer sk-bench-000000000000000000000000\r\n"
                      "Content-Type: application/json\r\nAccept: application/json\r\n"
                      "User-Agent: oisp-bench/1\r\nContent-Length: %zu\r\n\r\n",
                      c->host_header, body);
    static const char words[] = "the quick brown fox jumps over the lazy dog ";

    w->req_len = (size_t)hl + body;
    w->req = malloc(w->req_len);
    if (!w->req)
        return -1;
    char *p = w->req;
    memcpy(p, head, (size_t)hl);
    p += hl;
    memcpy(p, prefix, (size_t)pl);
    p += pl;
    for (size_t i = 0; i < fill; i++)
        *p++ = words[i % (sizeof(words) - 1)];
    if (fill > 24)
        w->seq = p - fill; /* "w<worker> r<number> " over the first words */
    memcpy(p, suffix, (size_t)sl);
    return 0;
}

static int fail(worker *w, const char *what)
{
    unsigned long e = ERR_get_error();
    char msg[160] = "";
    if (e)
        ERR_error_string_n(e, msg, sizeof(msg));
    snprintf(w->error, sizeof(w->error), "%s%s%s", what, *msg ? ": " : "", msg);
    return -1;
}

/* Reads until at least `upto` bytes are buffered. */
static int need(worker *w, SSL *ssl, size_t upto)
{
    if (upto > RESP_MAX)
        return fail(w, "response too large");
    if (upto > w->cap) {
        size_t cap = w->cap;
        while (cap < upto)
            cap *= 2;
        char *p = realloc(w->buf, cap);
        if (!p)
            return fail(w, "out of memory");
        w->buf = p;
        w->cap = cap;
    }
    while (w->len < upto) {
        int r = SSL_read(ssl, w->buf + w->len, (int)(w->cap - w->len));
        if (r <= 0)
            return fail(w, "SSL_read");
        w->len += (size_t)r;
    }
    return 0;
}

/* Offset of the CRLF at or after `from`, reading more as needed. */
static long find_crlf(worker *w, SSL *ssl, size_t from)
{
    for (;;) {
        if (w->len >= from + 2) {
            const char *p = memmem(w->buf + from, w->len - from, "\r\n", 2);
            if (p)
                return p - w->buf;
        }
        if (need(w, ssl, w->len + 1) < 0)
            return -1;
    }
}

static long header_value(const char *h, size_t n, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    const char *end = h + n, *p = h;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && *v == ' ')
                v++;
            snprintf(out, outsz, "%.*s", (int)(eol - v), v);
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

/* One request and its whole response. */
static int do_request(worker *w, SSL *ssl)
{
    size_t off = 0;
    if (w->seq) { /* 24 bytes, rewritten in place: the body's length stays */
        char tag[32];
        snprintf(tag, sizeof(tag), "w%04u r%016llu ", (unsigned)w->index % 10000u,
                 (unsigned long long)(w->sent++ % 10000000000000000ull));
        memcpy(w->seq, tag, 24);
    }
    while (off < w->req_len) {
        int r = SSL_write(ssl, w->req + off, (int)(w->req_len - off));
        if (r <= 0)
            return fail(w, "SSL_write");
        off += (size_t)r;
    }

    w->len = 0;
    long hend;
    for (;;) {
        const char *p = w->len ? memmem(w->buf, w->len, "\r\n\r\n", 4) : NULL;
        if (p) {
            hend = p - w->buf + 4;
            break;
        }
        if (need(w, ssl, w->len + 1) < 0)
            return -1;
    }
    if (w->len < 12 || strncmp(w->buf, "HTTP/1.1 200", 12) != 0)
        return fail(w, "status is not 200");

    char val[64];
    if (header_value(w->buf, (size_t)hend, "Content-Length", val, sizeof(val))) {
        size_t clen = strtoul(val, NULL, 10);
        return need(w, ssl, (size_t)hend + clen);
    }
    if (!header_value(w->buf, (size_t)hend, "Transfer-Encoding", val, sizeof(val)) ||
        strcasecmp(val, "chunked") != 0)
        return fail(w, "no length and not chunked");
    size_t pos = (size_t)hend;
    for (;;) {
        long eol = find_crlf(w, ssl, pos);
        if (eol < 0)
            return -1;
        size_t size = strtoul(w->buf + pos, NULL, 16);
        pos = (size_t)eol + 2;
        if (size == 0) /* no trailers: the final CRLF follows */
            return need(w, ssl, pos + 2);
        if (need(w, ssl, pos + size + 2) < 0)
            return -1;
        pos += size + 2;
    }
}

static SSL *open_connection(worker *w, int *fd_out)
{
    const config *c = w->cfg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || inet_pton(AF_INET, c->host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(w->error, sizeof(w->error), "connect %s:%d: %s", c->host, c->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SSL *ssl = SSL_new(w->ctx);
    if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, c->host_header) ||
        SSL_connect(ssl) != 1) {
        fail(w, "TLS handshake");
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    *fd_out = fd;
    return ssl;
}

static int lat_push(worker *w, uint64_t ns)
{
    if (w->nlat == w->lat_cap) {
        size_t cap = w->lat_cap ? w->lat_cap * 2 : 1024;
        uint64_t *p = realloc(w->lat_ns, cap * sizeof(*p));
        if (!p)
            return -1;
        w->lat_ns = p;
        w->lat_cap = cap;
    }
    w->lat_ns[w->nlat++] = ns;
    return 0;
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    const config *c = w->cfg;
    int fd = -1;
    SSL *ssl = open_connection(w, &fd);
    int ok = ssl && do_request(w, ssl) == 0; /* warm-up */

    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&ready); /* start_ns is set */
    if (!ok) {
        w->errors++;
        goto out;
    }
    w->warmed = 1;
    uint64_t end = start_ns + (uint64_t)(c->duration * 1e9);
    if (c->rate <= 0) {
        while (now_ns() < end) {
            if (do_request(w, ssl) < 0) {
                w->errors++;
                goto out;
            }
            w->requests++;
        }
        goto out;
    }
    /* Paced: this connection's share of the schedule, offset so the
     * connections interleave. */
    double interval = 1e9 * c->conns / c->rate;
    for (uint64_t k = 0;; k++) {
        uint64_t t = start_ns + (uint64_t)(interval * ((double)k + (double)w->index / c->conns));
        if (t >= end)
            break;
        sleep_until(t);
        uint64_t t0 = now_ns();
        if (do_request(w, ssl) < 0) {
            w->errors++;
            goto out;
        }
        w->requests++;
        if (lat_push(w, now_ns() - t0) < 0) {
            snprintf(w->error, sizeof(w->error), "out of memory");
            w->errors++;
            goto out;
        }
    }
out:
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: tls_client --port P [--host IP] [--host-header NAME] [--conns N] [--body BYTES]\n"
            "                  [--stream] [--model NAME] [--duration SECS] [--rate REQ_PER_S]\n");
}

int main(int argc, char **argv)
{
    config c = {.host = "127.0.0.1", .host_header = "api.openai.com", .model = "gpt-4o-mini",
                .port = 0, .conns = 1, .body = 2048, .duration = 5.0};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--stream") == 0) {
            c.stream = 1;
            continue;
        }
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--port") == 0)
            c.port = atoi(v);
        else if (strcmp(a, "--host") == 0)
            c.host = v;
        else if (strcmp(a, "--host-header") == 0)
            c.host_header = v;
        else if (strcmp(a, "--conns") == 0)
            c.conns = atoi(v);
        else if (strcmp(a, "--body") == 0)
            c.body = strtoul(v, NULL, 10);
        else if (strcmp(a, "--model") == 0)
            c.model = v;
        else if (strcmp(a, "--duration") == 0)
            c.duration = atof(v);
        else if (strcmp(a, "--rate") == 0)
            c.rate = atof(v);
        else {
            usage();
            return 2;
        }
    }
    if (c.port <= 0 || c.conns < 1 || c.conns > 1024 || c.duration <= 0 || c.body > (64u << 20) ||
        strlen(c.model) > 100) {
        usage();
        return 2;
    }

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        fprintf(stderr, "tls_client: SSL_CTX_new failed\n");
        return 1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* self-signed local server */

    worker *ws = calloc((size_t)c.conns, sizeof(*ws));
    pthread_barrier_init(&ready, NULL, (unsigned)c.conns + 1);
    for (int i = 0; i < c.conns; i++) {
        ws[i].cfg = &c;
        ws[i].index = i;
        ws[i].ctx = ctx;
        ws[i].cap = 65536;
        ws[i].buf = malloc(ws[i].cap);
        if (!ws[i].buf || build_request(&ws[i]) < 0 ||
            pthread_create(&ws[i].thread, NULL, run_worker, &ws[i]) != 0) {
            fprintf(stderr, "tls_client: cannot start connection %d\n", i);
            return 1;
        }
    }
    pthread_barrier_wait(&ready);
    start_ns = now_ns();
    pthread_barrier_wait(&ready);

    uint64_t requests = 0, errors = 0, warmup = 0;
    size_t nlat = 0;
    for (int i = 0; i < c.conns; i++) {
        pthread_join(ws[i].thread, NULL);
        requests += ws[i].requests;
        errors += ws[i].errors;
        warmup += ws[i].warmed;
        nlat += ws[i].nlat;
        if (ws[i].error[0])
            fprintf(stderr, "tls_client: connection %d: %s\n", i, ws[i].error);
    }
    double elapsed = (double)(now_ns() - start_ns) / 1e9;

    if (c.rate <= 0) {
        printf("RESULT mode=saturated conns=%d body=%zu stream=%d duration_s=%.3f requests=%llu "
               "warmup=%llu errors=%llu rps=%.1f\n",
               c.conns, c.body, c.stream, elapsed, (unsigned long long)requests,
               (unsigned long long)warmup, (unsigned long long)errors, (double)requests / elapsed);
    } else {
        uint64_t *all = malloc((nlat ? nlat : 1) * sizeof(*all));
        size_t n = 0;
        double sum = 0;
        for (int i = 0; i < c.conns; i++)
            for (size_t k = 0; k < ws[i].nlat; k++) {
                all[n++] = ws[i].lat_ns[k];
                sum += (double)ws[i].lat_ns[k];
            }
        qsort(all, n, sizeof(*all), cmp_u64);
        double mean = n ? sum / (double)n / 1e3 : 0;
        double p50 = n ? (double)all[(n - 1) / 2] / 1e3 : 0;
        double p99 = n ? (double)all[(size_t)((double)(n - 1) * 0.99)] / 1e3 : 0;
        double max = n ? (double)all[n - 1] / 1e3 : 0;
        printf("RESULT mode=paced rate=%.0f conns=%d body=%zu stream=%d duration_s=%.3f requests=%llu "
               "warmup=%llu errors=%llu rps=%.1f mean_us=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
               c.rate, c.conns, c.body, c.stream, elapsed, (unsigned long long)requests,
               (unsigned long long)warmup, (unsigned long long)errors, (double)requests / elapsed, mean, p50, p99, max);
        free(all);
    }
    for (int i = 0; i < c.conns; i++) {
        free(ws[i].req);
        free(ws[i].buf);
        free(ws[i].lat_ns);
    }
    free(ws);
    SSL_CTX_free(ctx);
    return errors ? 1 : 0;
}

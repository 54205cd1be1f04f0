/* tls_server.c: the benchmark's stand-in for an OpenAI-compatible API.
 *
 * A small HTTPS/1.1 keep-alive server built on GnuTLS, not OpenSSL, so the
 * sensor (which probes libssl) sees only the client side of the benchmark.
 * One thread per connection with blocking I/O: the benchmark uses a few
 * connections, and this keeps the server's own cost per request minimal.
 *
 * POST /v1/chat/completions answers with an OpenAI chat.completion JSON whose
 * message content is padded to a fixed size (Content-Length), or, when the
 * request body asks for "stream":true, with an SSE stream of N chunk events
 * plus a usage event and [DONE], in chunked transfer encoding, one TLS record
 * per event.  The model of the request is echoed back, so the benchmark can
 * recognise its own exchanges in the sensor's output.
 *
 * usage: tls_server --cert FILE --key FILE [--port P] [--answer-bytes N]
 *                   [--chunks N]
 * Prints "port P" on stdout once listening (P is the bound port; 0 picks
 * one).  Runs until SIGINT/SIGTERM. */
#define _GNU_SOURCE
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX (4u << 20) /* largest request we accept */

static gnutls_certificate_credentials_t creds;
static gnutls_priority_t priority;
static size_t answer_bytes = 512;
static int stream_chunks = 16;

typedef struct conn {
    int fd;
    gnutls_session_t tls;
    char *buf;
    size_t len, cap;
    char *out;            /* response being built */
    size_t out_len, out_cap;
} conn;

static int out_reserve(conn *c, size_t extra)
{
    if (c->out_len + extra <= c->out_cap)
        return 0;
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + extra)
        cap *= 2;
    char *p = realloc(c->out, cap);
    if (!p)
        return -1;
    c->out = p;
    c->out_cap = cap;
    return 0;
}

static int out_printf(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int out_printf(conn *c, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = c->out_cap - c->out_len;
        va_start(ap, fmt);
        int n = vsnprintf(c->out + c->out_len, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if ((size_t)n < room) {
            c->out_len += (size_t)n;
            return 0;
        }
        if (out_reserve(c, (size_t)n + 1) < 0)
            return -1;
    }
}

static int send_all(conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = gnutls_record_send(c->tls, p, n);
        if (w == GNUTLS_E_INTERRUPTED || w == GNUTLS_E_AGAIN)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more bytes into c->buf.  Returns bytes read, 0 on close, -1 on error. */
static ssize_t conn_read(conn *c)
{
    if (c->cap - c->len < 16384) {
        size_t cap = c->cap ? c->cap * 2 : 65536;
        if (cap > REQ_MAX + 65536)
            return -1;
        char *p = realloc(c->buf, cap);
        if (!p)
            return -1;
        c->buf = p;
        c->cap = cap;
    }
    for (;;) {
        ssize_t r = gnutls_record_recv(c->tls, c->buf + c->len, c->cap - c->len);
        if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN)
            continue;
        if (r == GNUTLS_E_PREMATURE_TERMINATION)
            return 0;
        if (r < 0)
            return -1;
        c->len += (size_t)r;
        return r;
    }
}

/* Value of header name in the header block [h, h+n), or -1. */
static long header_long(const char *h, size_t n, const char *name)
{
    size_t nl = strlen(name);
    const char *end = h + n, *p = h;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return strtol(p + nl + 1, NULL, 10);
        p = eol + 2;
    }
    return -1;
}

/* The "model" string of a JSON body (first occurrence), copied into out. */
static void body_model(const char *body, size_t n, char *out, size_t outsz)
{
    const char *k = memmem(body, n, "\"model\"", 7);
    snprintf(out, outsz, "unknown");
    if (!k)
        return;
    const char *end = body + n, *p = k + 7;
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p >= end || *p != '"')
        return;
    const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (!q || (size_t)(q - p - 1) >= outsz)
        return;
    memcpy(out, p + 1, (size_t)(q - p - 1));
    out[q - p - 1] = '\0';
}

static int body_wants_stream(const char *body, size_t n)
{
    return memmem(body, n, "\"stream\":true", 13) || memmem(body, n, "\"stream\": true", 14);
}

static int respond_json(conn *c, const char *model, long prompt_tokens, unsigned long id)
{
    static const char head[] = "{\"id\":\"chatcmpl-bench%lu\",\"object\":\"chat.completion\","
                               "\"created\":1700000000,\"model\":\"%s\",\"choices\":[{\"index\":0,"
                               "\"message\":{\"role\":\"assistant\",\"content\":\"";
    char pre[512], post[256];
    int a = snprintf(pre, sizeof(pre), head, id, model);
    int b = snprintf(post, sizeof(post),
                     "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%ld,"
                     "\"completion_tokens\":%zu,\"total_tokens\":%ld}}",
                     prompt_tokens, answer_bytes / 4, prompt_tokens + (long)(answer_bytes / 4));
    size_t body = (size_t)a + answer_bytes + (size_t)b;

    c->out_len = 0;
    if (out_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n%s", body, pre) < 0 ||
        out_reserve(c, answer_bytes + (size_t)b + 1) < 0)
        return -1;
    for (size_t i = 0; i < answer_bytes; i++)
        c->out[c->out_len++] = "abcdefgh "[i % 9];
    if (out_printf(c, "%s", post) < 0)
        return -1;
    return send_all(c, c->out, c->out_len);
}

/* One SSE event as one HTTP chunk, in one TLS record. */
static int send_chunk(conn *c, const char *event, size_t n)
{
    c->out_len = 0;
    if (out_printf(c, "%zx\r\n%s\r\n", n, event) < 0)
        return -1;
    return send_all(c, c->out, c->out_len);
}

static int respond_stream(conn *c, const char *model, long prompt_tokens, unsigned long id)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
    char ev[1024];
    int n;

    if (send_all(c, head, sizeof(head) - 1) < 0)
        return -1;
    for (int i = 0; i < stream_chunks; i++) {
        n = snprintf(ev, sizeof(ev),
                     "data: {\"id\":\"chatcmpl-bench%lu\",\"object\":\"chat.completion.chunk\","
                     "\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"},"
                     "\"finish_reason\":null}]}\n\n", id, model, i);
        if (send_chunk(c, ev, (size_t)n) < 0)
            return -1;
    }
    n = snprintf(ev, sizeof(ev),
                 "data: {\"id\":\"chatcmpl-bench%lu\",\"object\":\"chat.completion.chunk\","
                 "\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                 "\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%d,\"total_tokens\":%ld}}\n\n",
                 id, model, prompt_tokens, stream_chunks, prompt_tokens + stream_chunks);
    if (send_chunk(c, ev, (size_t)n) < 0)
        return -1;
    if (send_chunk(c, "data: [DONE]\n\n", 14) < 0)
        return -1;
    return send_all(c, "0\r\n\r\n", 5);
}

static int respond_error(conn *c, int code, const char *text)
{
    c->out_len = 0;
    if (out_printf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: keep-alive\r\n\r\n{\"error\":\"%s\"}",
                   code, text, strlen(text) + 12, text) < 0)
        return -1;
    return send_all(c, c->out, c->out_len);
}

static void *serve(void *arg)
{
    conn *c = arg;
    unsigned long served = 0;
    int one = 1;

    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (gnutls_init(&c->tls, GNUTLS_SERVER) < 0)
        goto out;
    gnutls_priority_set(c->tls, priority);
    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, creds);
    gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_IGNORE);
    gnutls_transport_set_int(c->tls, c->fd);
    int r;
    do
        r = gnutls_handshake(c->tls);
    while (r < 0 && !gnutls_error_is_fatal(r));
    if (r < 0)
        goto out;

    for (;;) {
        char *hend;
        while (!(hend = memmem(c->buf ? c->buf : "", c->len, "\r\n\r\n", 4)))
            if (conn_read(c) <= 0)
                goto out;
        size_t hlen = (size_t)(hend - c->buf) + 4;
        long clen = header_long(c->buf, hlen, "Content-Length");
        if (clen < 0)
            clen = 0;
        if ((size_t)clen > REQ_MAX)
            goto out;
        while (c->len < hlen + (size_t)clen)
            if (conn_read(c) <= 0)
                goto out;
        const char *body = c->buf + hlen;
        int ok = strncmp(c->buf, "POST /v1/chat/completions ", 26) == 0;
        char model[128];
        body_model(body, (size_t)clen, model, sizeof(model));
        long prompt_tokens = clen / 4;
        served++;
        if (!ok)
            r = respond_error(c, 404, "not found");
        else if (body_wants_stream(body, (size_t)clen))
            r = respond_stream(c, model, prompt_tokens, served);
        else
            r = respond_json(c, model, prompt_tokens, served);
        if (r < 0)
            goto out;
        size_t used = hlen + (size_t)clen;
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
out:
    if (c->tls) {
        gnutls_bye(c->tls, GNUTLS_SHUT_WR);
        gnutls_deinit(c->tls);
    }
    close(c->fd);
    free(c->buf);
    free(c->out);
    free(c);
    return NULL;
}

/* Started in the background by a script, SIGINT may arrive ignored: handle
 * it (and SIGTERM) explicitly. */
static void on_stop(int sig)
{
    (void)sig;
    _exit(0);
}

static void usage(void)
{
    fprintf(stderr, "usage: tls_server --cert FILE --key FILE [--port P] [--answer-bytes N] [--chunks N]\n");
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL;
    int port = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (strcmp(a, "--cert") == 0)
            cert = v;
        else if (strcmp(a, "--key") == 0)
            key = v;
        else if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--answer-bytes") == 0)
            answer_bytes = (size_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--chunks") == 0)
            stream_chunks = atoi(v);
        else {
            usage();
            return 2;
        }
        i++;
    }
    if (!cert || !key || answer_bytes > (64u << 20) || stream_chunks < 0) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    if (gnutls_global_init() < 0 || gnutls_certificate_allocate_credentials(&creds) < 0 ||
        gnutls_certificate_set_x509_key_file(creds, cert, key, GNUTLS_X509_FMT_PEM) < 0 ||
        gnutls_priority_init(&priority, NULL, NULL) < 0) {
        fprintf(stderr, "tls_server: cannot set up TLS with %s / %s\n", cert, key);
        return 1;
    }

    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 128) < 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
        fprintf(stderr, "tls_server: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);

    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            perror("tls_server: accept");
            return 1;
        }
        conn *c = calloc(1, sizeof(*c));
        pthread_t t;
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        if (pthread_create(&t, NULL, serve, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_detach(t);
    }
}

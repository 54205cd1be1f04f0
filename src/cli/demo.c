/* demo.c: `oisp-sensor demo` (see demo.h).
 *
 * How the live demo works.  Everything happens in this process and two
 * children forked from it, on 127.0.0.1, with files only in a private
 * temporary directory (mode 0700) removed at the end:
 *
 *   1. A self-signed P-256 certificate for localhost/127.0.0.1 is made in
 *      memory with libcrypto.
 *   2. The provider child serves HTTPS on an ephemeral port: POST
 *      /v1/chat/completions answered like OpenAI (a JSON completion, an SSE
 *      stream with stream_options.include_usage, a tool call when the request
 *      offers tools), with keep-alive, request ids and usage counts.
 *   3. The client child waits on a pipe until the sensor is ready, makes
 *      three requests on one keep-alive connection with a made-up key
 *      (sk-demo-...), checks the answers, and sends SIGINT to this process.
 *   4. This process runs the sensor (sensor_run) with an empty configuration
 *      of its own (the user's sinks never see demo events), the JSONL output
 *      in the temporary directory, and no metrics endpoint or control socket.
 *      Its stderr goes through a pipe to a relay thread, which tells the
 *      client to start when the sensor prints "ready", and stops the sensor
 *      if the client dies or the demo overruns DEMO_DEADLINE_S.
 *   5. The events are printed with `show`, and the client's exchanges are
 *      counted: the demo succeeds only if all three were captured.
 *
 * Both children use the host's libssl.so, which the sensor probes: the
 * sensor never captures its own pid, and the provider's side of each
 * exchange (an inbound view) is not written by default, so each exchange
 * appears once.  libssl is loaded with dlopen() because the sensor itself
 * links only libcrypto; the children find the same file the probes are on.
 *
 * Without privileges, the demo shows the events an earlier live demo
 * recorded (demo_find_recorded), and says clearly that they are not live. */
#include "cli/demo.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "cli/replay.h"
#include "cli/sensor.h"
#include "cli/show.h"
#include "events/event.h"

#define DEMO_DEADLINE_S 15        /* the sensor is stopped after this, whatever happens */
#define DEMO_READY_WAIT_MS 10000  /* the client gives up waiting for the sensor */
#define DEMO_IO_TIMEOUT_S 5       /* per socket read/write in both children */
#define DEMO_MAX_MSG (1u << 20)   /* largest HTTP message either side accepts */
#define DEMO_REQUESTS 3
#define DEMO_CLIENT_COMM "oisp-demo-cli"
#define DEMO_PROVIDER_COMM "oisp-demo-srv"
#define DEMO_RECORDED "demo-events.jsonl"
#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* ---- libssl, loaded at run time ---- */

typedef struct tls_api {
    void *lib;
    const SSL_METHOD *(*server_method)(void);
    const SSL_METHOD *(*client_method)(void);
    SSL_CTX *(*ctx_new)(const SSL_METHOD *m);
    void (*ctx_free)(SSL_CTX *c);
    int (*ctx_use_certificate)(SSL_CTX *c, X509 *x);
    int (*ctx_use_private_key)(SSL_CTX *c, EVP_PKEY *k);
    X509_STORE *(*ctx_get_cert_store)(const SSL_CTX *c);
    void (*ctx_set_verify)(SSL_CTX *c, int mode, SSL_verify_cb cb);
    SSL *(*ssl_new)(SSL_CTX *c);
    void (*ssl_free)(SSL *s);
    int (*set_fd)(SSL *s, int fd);
    int (*accept)(SSL *s);
    int (*connect)(SSL *s);
    int (*read)(SSL *s, void *buf, int n);
    int (*write)(SSL *s, const void *buf, int n);
    int (*shutdown)(SSL *s);
    long (*ctrl)(SSL *s, int cmd, long larg, void *parg);
    int (*set1_host)(SSL *s, const char *host);
} tls_api;

static int tls_api_load(tls_api *t, char *err, size_t errlen)
{
    static const char *const sonames[] = {"libssl.so.3", "libssl.so.1.1", "libssl.so"};
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]) && !t->lib; i++)
        t->lib = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
    if (!t->lib) {
        snprintf(err, errlen, "cannot load libssl (install libssl3): %s", dlerror());
        return -1;
    }
    struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"TLS_server_method", (void **)&t->server_method},
        {"TLS_client_method", (void **)&t->client_method},
        {"SSL_CTX_new", (void **)&t->ctx_new},
        {"SSL_CTX_free", (void **)&t->ctx_free},
        {"SSL_CTX_use_certificate", (void **)&t->ctx_use_certificate},
        {"SSL_CTX_use_PrivateKey", (void **)&t->ctx_use_private_key},
        {"SSL_CTX_get_cert_store", (void **)&t->ctx_get_cert_store},
        {"SSL_CTX_set_verify", (void **)&t->ctx_set_verify},
        {"SSL_new", (void **)&t->ssl_new},
        {"SSL_free", (void **)&t->ssl_free},
        {"SSL_set_fd", (void **)&t->set_fd},
        {"SSL_accept", (void **)&t->accept},
        {"SSL_connect", (void **)&t->connect},
        {"SSL_read", (void **)&t->read},
        {"SSL_write", (void **)&t->write},
        {"SSL_shutdown", (void **)&t->shutdown},
        {"SSL_ctrl", (void **)&t->ctrl},
        {"SSL_set1_host", (void **)&t->set1_host},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        *syms[i].slot = dlsym(t->lib, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(err, errlen, "libssl has no %s", syms[i].name);
            dlclose(t->lib);
            t->lib = NULL;
            return -1;
        }
    }
    return 0;
}

/* ---- the certificate, in memory ---- */

static int cert_add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A P-256 key and a self-signed certificate for localhost and 127.0.0.1,
 * valid for a day.  0, or -1 with *key and *cert NULL. */
static int demo_cert_new(EVP_PKEY **key, X509 **cert)
{
    *key = EVP_EC_gen("P-256");
    *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char serial[8];
    int ok = *key && *cert && name && RAND_bytes(serial, sizeof(serial)) == 1;
    if (ok) {
        serial[0] &= 0x7f;
        BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
        ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(*cert)) != NULL;
        BN_free(bn);
    }
    ok = ok && X509_set_version(*cert, X509_VERSION_3) &&
         X509_gmtime_adj(X509_getm_notBefore(*cert), -300) &&
         X509_gmtime_adj(X509_getm_notAfter(*cert), 86400) &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                    (const unsigned char *)"oisp-sensor demo", -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                                    -1, -1, 0) &&
         X509_set_subject_name(*cert, name) && X509_set_issuer_name(*cert, name) &&
         X509_set_pubkey(*cert, *key) &&
         cert_add_ext(*cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") == 0 &&
         cert_add_ext(*cert, NID_ext_key_usage, "serverAuth") == 0 &&
         X509_sign(*cert, *key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        EVP_PKEY_free(*key);
        X509_free(*cert);
        *key = NULL;
        *cert = NULL;
        return -1;
    }
    return 0;
}

/* ---- bounded buffers and HTTP/1.1 over TLS (both children) ---- */

typedef struct dbuf {
    char *p;
    size_t len, cap;
} dbuf;

static int dbuf_add(dbuf *b, const void *d, size_t n)
{
    if (n > DEMO_MAX_MSG || b->len + n > DEMO_MAX_MSG)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

static int dbuf_printf(dbuf *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    return dbuf_add(b, tmp, (size_t)n);
}

/* Drops the first n bytes. */
static void dbuf_consume(dbuf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->p, b->p + n, b->len - n);
        b->len -= n;
    }
    if (b->p)
        b->p[b->len] = 0;
}

static void dbuf_free(dbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* One TLS connection: the library, the SSL and the bytes read but not yet
 * used (the start of the next message on a keep-alive connection). */
typedef struct tconn {
    const tls_api *t;
    SSL *ssl;
    dbuf in;
} tconn;

static int tconn_write(tconn *c, const char *d, size_t n)
{
    while (n > 0) {
        int w = c->t->write(c->ssl, d, n > INT_MAX ? INT_MAX : (int)n);
        if (w <= 0)
            return -1;
        d += w;
        n -= (size_t)w;
    }
    return 0;
}

static int tconn_read_more(tconn *c)
{
    char tmp[16384];
    int n = c->t->read(c->ssl, tmp, sizeof(tmp));
    if (n <= 0)
        return -1;
    return dbuf_add(&c->in, tmp, (size_t)n);
}

/* Waits for a whole header block; returns its length with the blank line,
 * or -1 (closed, timed out, too long). */
static long tconn_read_headers(tconn *c)
{
    for (;;) {
        char *end = c->in.len ? memmem(c->in.p, c->in.len, "\r\n\r\n", 4) : NULL;
        if (end)
            return end + 4 - c->in.p;
        if (c->in.len > 65536 || tconn_read_more(c) != 0)
            return -1;
    }
}

/* The value of header name in hdrs[0..n) (case-insensitive), trimmed. */
static int header_value(const char *hdrs, size_t n, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = memchr(hdrs, '\n', n), *end = hdrs + n;
    while (p && p + 1 < end) {
        p++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            snprintf(out, outlen, "%.*s", (int)(ve - v), v);
            return 0;
        }
        p = eol;
    }
    return -1;
}

/* Reads a Content-Length body of n bytes into body. */
static int tconn_read_fixed(tconn *c, size_t n, dbuf *body)
{
    if (n > DEMO_MAX_MSG)
        return -1;
    while (c->in.len < n)
        if (tconn_read_more(c) != 0)
            return -1;
    int r = dbuf_add(body, c->in.p, n);
    dbuf_consume(&c->in, n);
    return r;
}

/* Reads a chunked body into body (decoded). */
static int tconn_read_chunked(tconn *c, dbuf *body)
{
    for (;;) {
        char *eol;
        while (!(eol = c->in.len ? memmem(c->in.p, c->in.len, "\r\n", 2) : NULL))
            if (c->in.len > 256 || tconn_read_more(c) != 0)
                return -1;
        char *hexend;
        unsigned long size = strtoul(c->in.p, &hexend, 16);
        if (hexend == c->in.p || size > DEMO_MAX_MSG)
            return -1;
        dbuf_consume(&c->in, (size_t)(eol + 2 - c->in.p));
        while (c->in.len < size + 2)
            if (tconn_read_more(c) != 0)
                return -1;
        if (size == 0) { /* no trailers from our provider: the final CRLF */
            dbuf_consume(&c->in, 2);
            return 0;
        }
        if (dbuf_add(body, c->in.p, size) != 0)
            return -1;
        dbuf_consume(&c->in, size + 2);
    }
}

/* The body of the message whose headers are the first hlen bytes of in. */
static int tconn_read_body(tconn *c, size_t hlen, dbuf *body)
{
    char te[64], cl[64];
    int chunked = header_value(c->in.p, hlen, "Transfer-Encoding", te, sizeof(te)) == 0 &&
                  strcasecmp(te, "chunked") == 0;
    int has_length = header_value(c->in.p, hlen, "Content-Length", cl, sizeof(cl)) == 0;
    dbuf_consume(&c->in, hlen);
    if (chunked)
        return tconn_read_chunked(c, body);
    if (!has_length)
        return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(cl, &end, 10);
    return errno || *end || end == cl || cl[0] == '-' ? -1 : tconn_read_fixed(c, n, body);
}

static void set_io_timeouts(int fd)
{
    struct timeval tv = {DEMO_IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void random_text(char *out, size_t n, const char *alphabet)
{
    unsigned char r[128];
    size_t al = strlen(alphabet);
    if (n - 1 > sizeof(r) || RAND_bytes(r, (int)(n - 1)) != 1)
        memset(r, 0, sizeof(r));
    for (size_t i = 0; i + 1 < n; i++)
        out[i] = alphabet[r[i] % al];
    out[n - 1] = 0;
}

/* ---- the fake provider (child) ---- */

typedef struct answer_plan {
    const char *model;
    int stream, include_usage;
    const json_t *tool;    /* the first tool offered, or NULL */
    const char *text;      /* the answer when no tool is called */
    long prompt_tokens;
    char id[40];
    time_t created;
} answer_plan;

/* Roughly what a BPE tokenizer gives for English: a token per 4 bytes. */
static long estimate_tokens(size_t bytes) { return (long)((bytes + 3) / 4); }

static size_t content_bytes(const json_t *messages)
{
    size_t i, n = 0;
    const json_t *m;
    json_array_foreach(messages, i, m) {
        const json_t *c = json_object_get(m, "content");
        n += json_is_string(c) ? json_string_length(c) : 0;
        n += 16; /* role and message framing */
    }
    return n;
}

static const char *last_user_text(const json_t *messages)
{
    for (size_t i = json_array_size(messages); i > 0; i--) {
        const json_t *m = json_array_get(messages, i - 1);
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "user") == 0)
            return json_string_value(json_object_get(m, "content"));
    }
    return NULL;
}

static const char *answer_text(const char *question)
{
    if (question && strstr(question, "haiku"))
        return "Bytes cross the wire sealed,\nbefore the lock clicks shut, a probe\n"
               "reads the plain words first.";
    if (question && strstr(question, "uprobe"))
        return "An eBPF uprobe on SSL_write runs a small verified kernel program each time an "
               "application hands plaintext to OpenSSL, so you can see the exact HTTP request "
               "before it is encrypted, without changing or restarting the application.";
    return "This is the oisp-sensor demo provider: a local stand-in for an OpenAI-compatible API.";
}

/* The arguments a model would plausibly give the tool: a value for each
 * of its parameters (the first enum choice, or one made from the name). */
static json_t *tool_arguments(const json_t *tool)
{
    json_t *args = json_object();
    const json_t *props = json_object_get(
        json_object_get(json_object_get(tool, "function"), "parameters"), "properties");
    const char *name;
    const json_t *p;
    size_t n = 0;
    json_object_foreach((json_t *)props, name, p) {
        if (n++ == 8)
            break;
        const json_t *en = json_object_get(p, "enum");
        const char *type = json_string_value(json_object_get(p, "type"));
        if (json_array_size(en) > 0)
            json_object_set(args, name, json_array_get(en, 0));
        else if (type && (strcmp(type, "number") == 0 || strcmp(type, "integer") == 0))
            json_object_set_new(args, name, json_integer(1));
        else if (type && strcmp(type, "boolean") == 0)
            json_object_set_new(args, name, json_true());
        else if (strstr(name, "city") || strstr(name, "location"))
            json_object_set_new(args, name, json_string("Paris, France"));
        else
            json_object_set_new(args, name, json_string("demo"));
    }
    return args;
}

static json_t *usage_json(long prompt, long completion)
{
    return json_pack("{s:I,s:I,s:I,s:{s:i,s:i},s:{s:i,s:i,s:i,s:i}}",
                     "prompt_tokens", (json_int_t)prompt, "completion_tokens",
                     (json_int_t)completion, "total_tokens", (json_int_t)(prompt + completion),
                     "prompt_tokens_details", "cached_tokens", 0, "audio_tokens", 0,
                     "completion_tokens_details", "reasoning_tokens", 0, "audio_tokens", 0,
                     "accepted_prediction_tokens", 0, "rejected_prediction_tokens", 0);
}

static int send_head(tconn *c, int status, const char *ctype, long content_length,
                     const char *model, int ms)
{
    char rid[33];
    random_text(rid, sizeof(rid), "0123456789abcdef");
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    dbuf h = {0};
    int r = dbuf_printf(&h, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\n", status,
                        status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request", date,
                        ctype);
    r |= content_length >= 0 ? dbuf_printf(&h, "Content-Length: %ld\r\n", content_length)
                             : dbuf_printf(&h, "Transfer-Encoding: chunked\r\n");
    r |= dbuf_printf(&h, "Connection: keep-alive\r\nopenai-version: 2020-10-01\r\n"
                         "openai-processing-ms: %d\r\nx-request-id: req_%s\r\n", ms, rid);
    if (model && model[strcspn(model, "\r\n")] == 0) /* never a header of our own making */
        r |= dbuf_printf(&h, "openai-model: %s\r\n", model);
    r |= dbuf_add(&h, "\r\n", 2);
    r = r ? -1 : tconn_write(c, h.p, h.len);
    dbuf_free(&h);
    return r;
}

static int send_json(tconn *c, int status, json_t *body, const char *model, int ms)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s)
        return -1;
    size_t n = strlen(s);
    int r = send_head(c, status, "application/json", (long)n, model, ms);
    if (r == 0)
        r = tconn_write(c, s, n);
    free(s);
    return r;
}

static int send_error(tconn *c, int status, const char *message, const char *code)
{
    json_t *e = json_pack("{s:{s:s,s:s,s:n,s:s?}}", "error", "message", message, "type",
                          "invalid_request_error", "param", "code", code);
    return send_json(c, status, e, NULL, 2);
}

static json_t *tool_call_json(const answer_plan *p, const char *call_id, const char *args)
{
    const json_t *fn = json_object_get(p->tool, "function");
    const char *fname = json_string_value(json_object_get(fn, "name"));
    return json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", call_id, "type", "function", "function",
                     "name", fname ? fname : "tool", "arguments", args);
}

static int answer_complete(tconn *c, const answer_plan *p)
{
    json_t *msg;
    long completion;
    const char *finish = "stop";
    if (p->tool) {
        char call_id[32] = "call_";
        random_text(call_id + 5, 25, ALNUM);
        json_t *a = tool_arguments(p->tool);
        char *args = json_dumps(a, JSON_COMPACT);
        json_decref(a);
        msg = json_pack("{s:s,s:n,s:[o],s:n,s:[]}", "role", "assistant", "content", "tool_calls",
                        tool_call_json(p, call_id, args ? args : "{}"), "refusal", "annotations");
        completion = 12 + estimate_tokens(args ? strlen(args) : 2);
        free(args);
        finish = "tool_calls";
    } else {
        msg = json_pack("{s:s,s:s,s:n,s:[]}", "role", "assistant", "content", p->text, "refusal",
                        "annotations");
        completion = estimate_tokens(strlen(p->text));
    }
    json_t *body = json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:o,s:n,s:s}],s:o,s:s,s:s}",
                             "id", p->id,
                             "object", "chat.completion",
                             "created", (json_int_t)p->created,
                             "model", p->model,
                             "choices", "index", 0, "message", msg, "logprobs", "finish_reason",
                             finish,
                             "usage", usage_json(p->prompt_tokens, completion),
                             "service_tier", "default",
                             "system_fingerprint", "fp_0demo0demo");
    sleep_ms(180); /* the model "thinks" */
    return body ? send_json(c, 200, body, p->model, 180) : -1;
}

/* One SSE event as one HTTP chunk. */
static int send_sse(tconn *c, json_t *data)
{
    char *s = data ? json_dumps(data, JSON_COMPACT) : strdup("[DONE]");
    json_decref(data);
    if (!s)
        return -1;
    size_t n = strlen(s) + 8; /* "data: " ... "\n\n" */
    char head[32];
    int hl = snprintf(head, sizeof(head), "%zx\r\ndata: ", n);
    int r = tconn_write(c, head, (size_t)hl) || tconn_write(c, s, strlen(s)) ||
            tconn_write(c, "\n\n\r\n", 4) ? -1 : 0;
    free(s);
    return r;
}

static json_t *chunk_json(const answer_plan *p, json_t *delta, const char *finish)
{
    json_t *ch = json_pack("{s:s,s:s,s:I,s:s,s:s,s:[{s:i,s:o,s:n,s:s?}]}", "id", p->id, "object",
                           "chat.completion.chunk", "created", (json_int_t)p->created, "model",
                           p->model, "system_fingerprint", "fp_0demo0demo", "choices", "index", 0,
                           "delta", delta, "logprobs", "finish_reason", finish);
    if (ch && !finish)
        json_object_set_new(json_array_get(json_object_get(ch, "choices"), 0), "finish_reason",
                            json_null());
    if (ch && p->include_usage)
        json_object_set_new(ch, "usage", json_null());
    return ch;
}

/* The answer's pieces as a model would stream them: a word (with the
 * space before it) per chunk. */
static int stream_text(tconn *c, const answer_plan *p, long *completion)
{
    const char *s = p->text;
    *completion = 0;
    while (*s) {
        size_t n = 1;
        while (s[n] && s[n] != ' ' && s[n] != '\n')
            n++;
        json_t *d = json_pack("{s:s%}", "content", s, n);
        if (send_sse(c, chunk_json(p, d, NULL)) != 0)
            return -1;
        (*completion)++;
        s += n;
        sleep_ms(20);
    }
    return 0;
}

static int stream_tool_call(tconn *c, const answer_plan *p, long *completion)
{
    char call_id[32] = "call_";
    random_text(call_id + 5, 25, ALNUM);
    json_t *tc = tool_call_json(p, call_id, "");
    json_object_set_new(tc, "index", json_integer(0));
    if (send_sse(c, chunk_json(p, json_pack("{s:s,s:n,s:[o]}", "role", "assistant", "content",
                                            "tool_calls", tc), NULL)) != 0)
        return -1;
    json_t *a = tool_arguments(p->tool);
    char *args = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (!args)
        return -1;
    size_t len = strlen(args);
    for (size_t off = 0; off < len; off += 8) { /* arguments arrive in fragments */
        size_t n = len - off < 8 ? len - off : 8;
        json_t *d = json_pack("{s:[{s:i,s:{s:s%}}]}", "tool_calls", "index", 0, "function",
                              "arguments", args + off, n);
        if (send_sse(c, chunk_json(p, d, NULL)) != 0) {
            free(args);
            return -1;
        }
        sleep_ms(15);
    }
    *completion = 12 + estimate_tokens(len);
    free(args);
    return 0;
}

static int answer_stream(tconn *c, const answer_plan *p)
{
    sleep_ms(90); /* time to first token */
    if (send_head(c, 200, "text/event-stream; charset=utf-8", -1, p->model, 90) != 0)
        return -1;
    long completion = 0;
    if (!p->tool && send_sse(c, chunk_json(p, json_pack("{s:s,s:s,s:n}", "role", "assistant",
                                                        "content", "", "refusal"), NULL)) != 0)
        return -1;
    if ((p->tool ? stream_tool_call(c, p, &completion) : stream_text(c, p, &completion)) != 0)
        return -1;
    if (send_sse(c, chunk_json(p, json_object(), p->tool ? "tool_calls" : "stop")) != 0)
        return -1;
    if (p->include_usage) {
        json_t *u = json_pack("{s:s,s:s,s:I,s:s,s:s,s:[],s:o}", "id", p->id, "object",
                              "chat.completion.chunk", "created", (json_int_t)p->created, "model",
                              p->model, "system_fingerprint", "fp_0demo0demo", "choices", "usage",
                              usage_json(p->prompt_tokens, completion));
        if (send_sse(c, u) != 0)
            return -1;
    }
    if (send_sse(c, NULL) != 0)
        return -1;
    return tconn_write(c, "0\r\n\r\n", 5);
}

/* Answers one request; -1 ends the connection. */
static int provider_answer(tconn *c, const char *line, const char *body, size_t blen)
{
    char method[16] = "", path[256] = "";
    if (sscanf(line, "%15s %255s", method, path) != 2)
        return -1;
    if (strcmp(method, "POST") != 0 || strcmp(path, "/v1/chat/completions") != 0) {
        char msg[320];
        snprintf(msg, sizeof(msg), "Unknown request URL: %s %s.", method, path);
        return send_error(c, 404, msg, "unknown_url");
    }
    json_t *req = json_loadb(body, blen, 0, NULL);
    const json_t *msgs = json_object_get(req, "messages");
    const char *model = json_string_value(json_object_get(req, "model"));
    if (!json_is_object(req) || !json_array_size(msgs) || !model) {
        json_decref(req);
        return send_error(c, 400, "'messages' and 'model' are required.", NULL);
    }
    answer_plan p = {.model = model, .created = time(NULL)};
    p.stream = json_is_true(json_object_get(req, "stream"));
    p.include_usage =
        json_is_true(json_object_get(json_object_get(req, "stream_options"), "include_usage"));
    const json_t *tools = json_object_get(req, "tools");
    p.tool = json_array_size(tools) ? json_array_get(tools, 0) : NULL;
    p.text = answer_text(last_user_text(msgs));
    char *tools_text = tools ? json_dumps(tools, JSON_COMPACT) : NULL;
    size_t prompt_bytes = content_bytes(msgs) + (tools_text ? strlen(tools_text) : 0);
    p.prompt_tokens = 3 + estimate_tokens(prompt_bytes);
    free(tools_text);
    memcpy(p.id, "chatcmpl-", 9);
    random_text(p.id + 9, 30, ALNUM);
    int r = p.stream ? answer_stream(c, &p) : answer_complete(c, &p);
    json_decref(req);
    return r;
}

static void provider_connection(const tls_api *t, SSL_CTX *ctx, int fd)
{
    set_io_timeouts(fd);
    tconn c = {.t = t, .ssl = t->ssl_new(ctx)};
    if (!c.ssl || t->set_fd(c.ssl, fd) != 1 || t->accept(c.ssl) != 1)
        goto out;
    for (;;) {
        long hl = tconn_read_headers(&c);
        if (hl < 0)
            break;
        char line[512];
        const char *eol = memchr(c.in.p, '\r', (size_t)hl);
        snprintf(line, sizeof(line), "%.*s", (int)(eol - c.in.p), c.in.p);
        dbuf body = {0};
        int r = tconn_read_body(&c, (size_t)hl, &body);
        if (r == 0)
            r = provider_answer(&c, line, body.p ? body.p : "", body.len);
        dbuf_free(&body);
        if (r != 0)
            break;
    }
    t->shutdown(c.ssl);
out:
    if (c.ssl)
        t->ssl_free(c.ssl);
    dbuf_free(&c.in);
    close(fd);
}

/* The provider child's body: serves connections one at a time until
 * killed (SIGTERM from the parent, or the parent's death). */
static int provider_run(const tls_api *t, int lfd, X509 *cert, EVP_PKEY *key)
{
    SSL_CTX *ctx = t->ctx_new(t->server_method());
    if (!ctx || t->ctx_use_certificate(ctx, cert) != 1 || t->ctx_use_private_key(ctx, key) != 1) {
        fprintf(stderr, "oisp-sensor demo: provider: TLS setup failed\n");
        return 1;
    }
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        provider_connection(t, ctx, fd);
    }
    t->ctx_free(ctx);
    return 0;
}

/* ---- the client (child) ---- */

typedef struct demo_request {
    const char *what;
    const char *accept;
    json_t *(*body)(void);
    int (*check)(const char *body, size_t len);
} demo_request;

static json_t *body_plain(void)
{
    return json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s}],s:f,s:i}",
                     "model", "gpt-4o-mini",
                     "messages",
                     "role", "system",
                     "content", "You are a concise assistant for Linux engineers.",
                     "role", "user",
                     "content",
                     "In one sentence: what does an eBPF uprobe on SSL_write let you see?",
                     "temperature", 0.2,
                     "max_tokens", 120);
}

static json_t *body_stream(void)
{
    return json_pack("{s:s,s:b,s:{s:b},s:[{s:s,s:s}]}",
                     "model", "gpt-4o-mini",
                     "stream", 1,
                     "stream_options", "include_usage", 1,
                     "messages", "role", "user",
                     "content", "Write a haiku about reading TLS plaintext.");
}

static json_t *body_tool(void)
{
    json_t *params = json_pack("{s:s,s:{s:{s:s,s:s},s:{s:s,s:[s,s]}},s:[s]}",
                               "type", "object",
                               "properties",
                               "city", "type", "string", "description", "City and country",
                               "unit", "type", "string", "enum", "celsius", "fahrenheit",
                               "required", "city");
    return json_pack("{s:s,s:[{s:s,s:s}],s:[{s:s,s:{s:s,s:s,s:o}}],s:s}",
                     "model", "gpt-4o",
                     "messages", "role", "user",
                     "content", "What is the weather in Paris right now?",
                     "tools", "type", "function", "function", "name", "get_weather", "description",
                     "Current weather for a city", "parameters", params,
                     "tool_choice", "auto");
}

static int check_plain(const char *b, size_t n)
{
    json_t *j = json_loadb(b, n, 0, NULL);
    const char *content = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content"));
    int ok = content && *content;
    json_decref(j);
    return ok ? 0 : -1;
}

static int check_stream(const char *b, size_t n)
{
    return memmem(b, n, "\"usage\":{", 9) && memmem(b, n, "data: [DONE]", 12) ? 0 : -1;
}

static int check_tool(const char *b, size_t n)
{
    json_t *j = json_loadb(b, n, 0, NULL);
    const json_t *call = json_array_get(json_object_get(json_object_get(
        json_array_get(json_object_get(j, "choices"), 0), "message"), "tool_calls"), 0);
    const json_t *fn = json_object_get(call, "function");
    const char *name = json_string_value(json_object_get(fn, "name"));
    int ok = name && strcmp(name, "get_weather") == 0;
    json_decref(j);
    return ok ? 0 : -1;
}

static const demo_request demo_requests[DEMO_REQUESTS] = {
    {"chat completion", "application/json", body_plain, check_plain},
    {"streaming chat completion", "text/event-stream", body_stream, check_stream},
    {"tool call", "application/json", body_tool, check_tool},
};

/* One request on c and its answer; 0 if the answer is what was asked. */
static int client_exchange(tconn *c, const demo_request *r, int port, const char *key)
{
    json_t *b = r->body();
    char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!body)
        return -1;
    dbuf req = {0};
    int rc = dbuf_printf(&req,
                         "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:%d\r\n"
                         "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                         "Accept: %s\r\nUser-Agent: oisp-sensor-demo/%s\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         port, key, r->accept, OISP_SENSOR_VERSION, strlen(body));
    rc |= dbuf_add(&req, body, strlen(body));
    free(body);
    rc = rc ? -1 : tconn_write(c, req.p, req.len);
    dbuf_free(&req);
    long hl = rc ? -1 : tconn_read_headers(c);
    if (hl < 0)
        return -1;
    int status = 0;
    sscanf(c->in.p, "HTTP/1.1 %d", &status);
    dbuf resp = {0};
    rc = tconn_read_body(c, (size_t)hl, &resp);
    if (rc == 0 && (status != 200 || r->check(resp.p ? resp.p : "", resp.len) != 0))
        rc = -1;
    dbuf_free(&resp);
    return rc;
}

static int client_connect(const tls_api *t, SSL_CTX *ctx, int port, tconn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    set_io_timeouts(fd);
    c->ssl = t->ssl_new(ctx);
    if (!c->ssl || t->set_fd(c->ssl, fd) != 1 ||
        t->ctrl(c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                "localhost") != 1 ||
        t->set1_host(c->ssl, "localhost") != 1 || t->connect(c->ssl) != 1) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits for the sensor: a byte on go_fd.  0 when told to start. */
static int client_wait_go(int go_fd)
{
    struct pollfd p = {.fd = go_fd, .events = POLLIN};
    char b;
    if (poll(&p, 1, DEMO_READY_WAIT_MS) != 1)
        return -1;
    return read(go_fd, &b, 1) == 1 && b == 'g' ? 0 : -1;
}

/* The client child's body.  Returns the number of exchanges that failed
 * (DEMO_REQUESTS + 1 if it never started). */
static int client_run(const tls_api *t, X509 *cert, int port, int go_fd, pid_t sensor)
{
    if (client_wait_go(go_fd) != 0)
        return DEMO_REQUESTS + 1;
    SSL_CTX *ctx = t->ctx_new(t->client_method());
    if (!ctx || X509_STORE_add_cert(t->ctx_get_cert_store(ctx), cert) != 1) {
        kill(sensor, SIGINT);
        return DEMO_REQUESTS + 1;
    }
    t->ctx_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    char key[49] = "sk-demo-";
    random_text(key + 8, sizeof(key) - 8,
                ALNUM);
    tconn c = {.t = t};
    int fd = client_connect(t, ctx, port, &c), failed = 0;
    for (int i = 0; i < DEMO_REQUESTS; i++) {
        if (fd < 0 || client_exchange(&c, &demo_requests[i], port, key) != 0) {
            fprintf(stderr, "oisp-sensor demo: client: the %s failed\n", demo_requests[i].what);
            failed++;
        }
    }
    if (c.ssl) {
        t->shutdown(c.ssl);
        t->ssl_free(c.ssl);
    }
    if (fd >= 0)
        close(fd);
    dbuf_free(&c.in);
    t->ctx_free(ctx);
    explicit_bzero(key, sizeof(key));
    kill(sensor, SIGINT); /* every record is in the ring by now: the sensor drains it */
    /* Stay until the sensor is done, so it can still read /proc/PID for
     * the process block of the last events. */
    struct pollfd p = {.fd = go_fd, .events = POLLIN};
    poll(&p, 1, DEMO_DEADLINE_S * 1000);
    return failed;
}

/* ---- the sensor side (this process) ---- */

/* The relay thread: copies the sensor's stderr, starts the client when the
 * sensor is ready, and stops the sensor when the client is gone or the
 * deadline passes. */
typedef struct relay {
    int in_fd;        /* read end of the sensor's stderr */
    int out_fd;       /* the terminal's stderr */
    int go_fd;        /* to the client: 'g' */
    int alive_fd;     /* EOF when the client has exited */
    int verbose;
    int ready;
    int timed_out;
    char log[16384];  /* the sensor's messages, shown if it fails */
    size_t loglen;
    char line[1024];
    size_t linelen;
} relay;

static void relay_line(relay *r)
{
    const char *l = r->line;
    size_t n = r->linelen;
    r->linelen = 0;
    if (r->loglen + n + 1 < sizeof(r->log)) {
        memcpy(r->log + r->loglen, l, n);
        r->loglen += n;
        r->log[r->loglen++] = '\n';
    }
    if (r->verbose || memmem(l, n, "warning", 7)) {
        ssize_t w = write(r->out_fd, l, n);
        w = write(r->out_fd, "\n", 1);
        (void)w;
    }
    if (!r->ready && n >= 18 && memcmp(l, "oisp-sensor: ready", 18) == 0) {
        r->ready = 1;
        if (write(r->go_fd, "g", 1) != 1)
            kill(getpid(), SIGINT);
    }
}

static void relay_bytes(relay *r, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '\n' || r->linelen == sizeof(r->line)) {
            relay_line(r);
            if (b[i] == '\n')
                continue;
        }
        r->line[r->linelen++] = b[i];
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals go to the sensor's thread */
    uint64_t deadline = mono_ms() + DEMO_DEADLINE_S * 1000u;
    for (;;) {
        struct pollfd p[2] = {{.fd = r->in_fd, .events = POLLIN},
                              {.fd = r->alive_fd, .events = POLLIN}};
        uint64_t now = mono_ms();
        int timeout = r->timed_out ? -1 : now >= deadline ? 0 : (int)(deadline - now);
        int n = poll(p, r->alive_fd >= 0 ? 2 : 1, timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (n == 0 && !r->timed_out) {
            r->timed_out = 1;
            kill(getpid(), SIGINT);
            continue;
        }
        if (r->alive_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char b[16];
            if (read(r->alive_fd, b, sizeof(b)) <= 0) { /* the client is gone */
                close(r->alive_fd);
                r->alive_fd = -1;
                kill(getpid(), SIGINT);
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char b[4096];
            ssize_t k = read(r->in_fd, b, sizeof(b));
            if (k <= 0)
                break;
            relay_bytes(r, b, (size_t)k);
        }
    }
    if (r->linelen)
        relay_line(r);
    return NULL;
}

typedef struct demo_opts {
    const char *keep;
    int verbose;
} demo_opts;

/* What the live run made and started, for the cleanup. */
typedef struct demo_run {
    char dir[64];
    char events[128];
    char config[128];
    pid_t provider, client;
    pid_t client_pid;    /* kept after the client is reaped */
    int port;
    int client_status;   /* waitpid status */
    int sensor_rc;
    int sensor_ready;
    int timed_out;
    int interrupted;     /* Ctrl-C or SIGTERM */
    char sensor_log[16384];
} demo_run;

/* Ctrl-C before the sensor runs (it then handles SIGINT itself). */
static volatile sig_atomic_t demo_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    demo_interrupted = 1;
}

static void catch_interrupts(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static pid_t fork_child(const char *comm)
{
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGINT, SIG_DFL); /* Ctrl-C ends the children at once */
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        prctl(PR_SET_NAME, comm);
    }
    return pid;
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Waits up to ms for pid; kills it if it is still there.  Returns the
 * waitpid status. */
static int reap(pid_t pid, int ms)
{
    int st = 0;
    for (int waited = 0; waited <= ms; waited += 10) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return st;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return st;
}

static int write_empty_config(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    static const char text[] =
        "# oisp-sensor demo: defaults only, so no configured sink sees demo events\n";
    ssize_t w = write(fd, text, sizeof(text) - 1);
    close(fd);
    return w == (ssize_t)(sizeof(text) - 1) ? 0 : -1;
}

/* Runs the sensor on this thread with its stderr relayed (see relay). */
static void run_sensor(demo_run *d, const demo_opts *o, int go_fd, int alive_fd)
{
    sensor_args a = {.config_path = d->config, .control_path = ""};
    static char *no_env[] = {NULL}; /* OISP_* variables are the user's, not the demo's */
    a.environ = no_env;
    a.quiet = !o->verbose;
    a.verbose = o->verbose > 1;
    a.settings[a.nsettings++] = (sensor_setting){"demo", "output.jsonl.path", d->events};
    a.settings[a.nsettings++] = (sensor_setting){"demo", "metrics.listen", ""};
    int ep[2];
    relay *r = calloc(1, sizeof(*r));
    int saved = dup(STDERR_FILENO);
    if (!r || saved < 0 || pipe2(ep, O_CLOEXEC) != 0) {
        free(r);
        if (saved >= 0)
            close(saved);
        d->sensor_rc = 1;
        snprintf(d->sensor_log, sizeof(d->sensor_log), "cannot relay the sensor's messages\n");
        return;
    }
    *r = (relay){.in_fd = ep[0], .out_fd = saved, .go_fd = go_fd, .alive_fd = alive_fd,
                 .verbose = o->verbose};
    fflush(stderr);
    dup2(ep[1], STDERR_FILENO);
    close(ep[1]);
    pthread_t th;
    int started = pthread_create(&th, NULL, relay_main, r) == 0;
    d->sensor_rc = started ? sensor_run(&a) : 1;
    fflush(stderr);
    dup2(saved, STDERR_FILENO); /* the pipe's last writer closes: the relay ends */
    if (started)
        pthread_join(th, NULL);
    close(ep[0]);
    close(saved);
    if (r->alive_fd >= 0)
        close(r->alive_fd);
    d->sensor_ready = r->ready;
    d->timed_out = r->timed_out;
    snprintf(d->sensor_log, sizeof(d->sensor_log), "%.*s", (int)r->loglen, r->log);
    free(r);
}

/* Starts the provider and the client, runs the sensor until the client is
 * done, and stops both children.  0, or -1 with err when it could not start. */
static int demo_live_run(demo_run *d, const demo_opts *o, char *err, size_t errlen)
{
    tls_api t;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    if (tls_api_load(&t, err, errlen) != 0)
        return -1;
    if (demo_cert_new(&key, &cert) != 0) {
        snprintf(err, errlen, "cannot make the demo certificate");
        return -1;
    }
    int lfd = listen_loopback(&d->port), rc = -1;
    int go[2] = {-1, -1}, alive[2] = {-1, -1};
    if (lfd < 0) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1: %s", strerror(errno));
        goto out;
    }
    d->provider = fork_child(DEMO_PROVIDER_COMM);
    if (d->provider == 0)
        _exit(provider_run(&t, lfd, cert, key));
    close(lfd);
    if (d->provider < 0 || pipe2(go, O_CLOEXEC) != 0 || pipe2(alive, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot start the demo processes: %s", strerror(errno));
        goto out;
    }
    pid_t sensor = getpid();
    d->client = fork_child(DEMO_CLIENT_COMM);
    if (d->client == 0) {
        close(go[1]);
        close(alive[0]);
        _exit(client_run(&t, cert, d->port, go[0], sensor));
    }
    d->client_pid = d->client;
    close(go[0]);
    close(alive[1]);
    go[0] = alive[1] = -1;
    if (d->client < 0) {
        snprintf(err, errlen, "cannot start the demo client: %s", strerror(errno));
        goto out;
    }
    if (!demo_interrupted)
        run_sensor(d, o, go[1], alive[0]);
    else
        close(alive[0]);
    alive[0] = -1; /* closed by run_sensor */
    close(go[1]); /* the client may now exit */
    go[1] = -1;
    d->client_status = reap(d->client, 3000);
    d->client = 0;
    d->interrupted = demo_interrupted ||
                     (WIFSIGNALED(d->client_status) && (WTERMSIG(d->client_status) == SIGINT ||
                                                        WTERMSIG(d->client_status) == SIGTERM));
    /* nothing sends SIGINT any more: let Ctrl-C end the rest as usual */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    rc = 0;
out:
    if (d->client > 0)
        reap(d->client, 0);
    if (d->provider > 0) {
        kill(d->provider, SIGTERM);
        reap(d->provider, 2000);
    }
    for (int i = 0; i < 2; i++) {
        if (go[i] >= 0)
            close(go[i]);
        if (alive[i] >= 0)
            close(alive[i]);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    /* t.lib stays loaded: OpenSSL registers exit handlers in it */
    return rc;
}

/* Counts the demo client's ai.request and ai.response events in path and
 * whether one response carries a tool call. */
static void count_client_events(const char *path, pid_t client, int *req, int *resp, int *tool)
{
    *req = *resp = *tool = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    replay_reader *r = fd >= 0 ? replay_reader_new(fd, REPLAY_MAX_LINE) : NULL;
    const char *line;
    size_t len;
    int too_long;
    while (r && replay_reader_next(r, &line, &len, &too_long) == 1) {
        json_t *ev;
        if (too_long || replay_parse_line(line, len, &ev) != REPLAY_LINE_EVENT)
            continue;
        json_int_t pid = json_integer_value(json_object_get(json_object_get(ev, "process"), "pid"));
        const char *type = json_string_value(json_object_get(ev, "event_type"));
        if (pid == client && strcmp(type, "ai.request") == 0)
            (*req)++;
        if (pid == client && strcmp(type, "ai.response") == 0) {
            (*resp)++;
            const json_t *calls = json_object_get(json_object_get(ev, "data"), "tool_calls");
            *tool += json_array_size(calls) > 0;
        }
        json_decref(ev);
    }
    replay_reader_free(r);
    if (fd >= 0)
        close(fd);
}

/* Copies src to dst (created or truncated, mode 0600). */
static int copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = in >= 0 ? open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    char buf[65536];
    ssize_t n = 0;
    while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    int ok = in >= 0 && out >= 0 && n == 0;
    if (out >= 0 && close(out) != 0)
        ok = 0;
    if (!ok)
        snprintf(err, errlen, "%s: %s", in < 0 ? src : dst, strerror(errno));
    if (in >= 0)
        close(in);
    return ok ? 0 : -1;
}

static int show_file(const char *path)
{
    char *argv[] = {"show", (char *)path, NULL};
    fflush(stdout);
    return cmd_show(2, argv);
}

static void demo_cleanup(demo_run *d)
{
    if (!d->dir[0])
        return;
    unlink(d->events);
    unlink(d->config);
    if (rmdir(d->dir) != 0) { /* a file we did not expect: the sensor's dead letters, ... */
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", d->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "oisp-sensor demo: could not remove %s\n", d->dir);
    }
}

static int demo_recorded(const demo_opts *o, const char *why);

/* Where the events are (live: a temporary file unless --keep), and how
 * to record for real. */
static void print_next_steps(const char *kept, int live)
{
    if (kept)
        printf("\nThe events are in %s (OISP v0.1 JSON Lines; `oisp-sensor show --json %s`).\n",
               kept, kept);
    else if (live)
        printf("\nThe events were in a temporary file, now removed: keep them with --keep FILE.\n");
    printf("%sRecord the AI calls of every process on this host:\n"
           "  sudo oisp-sensor record -o events.jsonl     (Ctrl-C stops)\n"
           "  oisp-sensor show events.jsonl -f            (in another terminal)\n",
           kept || live ? "" : "\n");
}

/* The live demo: 0 when all three exchanges were captured. */
static int demo_live(const demo_opts *o)
{
    demo_run *d = calloc(1, sizeof(*d));
    if (!d)
        return 1;
    snprintf(d->dir, sizeof(d->dir), "/tmp/oisp-demo.XXXXXX");
    if (!mkdtemp(d->dir)) {
        fprintf(stderr, "oisp-sensor demo: cannot make a temporary directory: %s\n",
                strerror(errno));
        free(d);
        return 1;
    }
    snprintf(d->events, sizeof(d->events), "%s/events.jsonl", d->dir);
    snprintf(d->config, sizeof(d->config), "%s/config.toml", d->dir);
    printf("oisp-sensor demo: live capture.  A local HTTPS fake of an OpenAI-compatible API and a\n"
           "client calling it (plain, streaming, tool call) with a made-up key, both using this\n"
           "host's OpenSSL, captured with eBPF like any other process.\n");
    char err[512] = "";
    int rc = 1;
    catch_interrupts();
    if (write_empty_config(d->config) != 0) {
        fprintf(stderr, "oisp-sensor demo: cannot write %s: %s\n", d->config, strerror(errno));
        goto out;
    }
    if (demo_live_run(d, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "oisp-sensor demo: %s\n", err);
        goto out;
    }
    if (d->interrupted) {
        fprintf(stderr, "oisp-sensor demo: interrupted\n");
        rc = 130;
        goto out;
    }
    if (!d->sensor_ready) {
        fprintf(stderr, "oisp-sensor demo: the sensor did not start:\n%s", d->sensor_log);
        demo_cleanup(d);
        free(d);
        return demo_recorded(o, "live capture failed");
    }
    int failed = WIFEXITED(d->client_status) ? WEXITSTATUS(d->client_status) : DEMO_REQUESTS + 1;
    if (d->timed_out)
        fprintf(stderr, "oisp-sensor demo: stopped after %d s\n", DEMO_DEADLINE_S);
    if (failed)
        fprintf(stderr, "oisp-sensor demo: the client's requests failed (%d of %d)\n",
                failed > DEMO_REQUESTS ? DEMO_REQUESTS : failed, DEMO_REQUESTS);
    if (d->sensor_rc != 0)
        fprintf(stderr, "oisp-sensor demo: the sensor stopped with an error:\n%s", d->sensor_log);
    printf("Fake provider https://localhost:%d (pid %d), client pid %d.\n\n", d->port,
           (int)d->provider, (int)d->client_pid);
    printf("captured events (oisp-sensor show):\n");
    show_file(d->events);
    int req, resp, tool;
    count_client_events(d->events, d->client_pid, &req, &resp, &tool);
    printf("\nThe demo client's %d exchanges: %d request%s and %d response%s captured (%d with a "
           "tool call).  The\nprovider's own view of them is not written: by default only the "
           "client side is.\n", DEMO_REQUESTS, req, req == 1 ? "" : "s", resp, resp == 1 ? "" : "s",
           tool);
    if (o->keep && copy_file(d->events, o->keep, err, sizeof(err)) != 0) {
        fprintf(stderr, "oisp-sensor demo: --keep %s\n", err);
        goto out;
    }
    print_next_steps(o->keep, 1);
    rc = failed == 0 && d->sensor_rc == 0 && req == DEMO_REQUESTS && resp == DEMO_REQUESTS &&
                 tool > 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "oisp-sensor demo: not every exchange was captured; `oisp-sensor check` "
                        "tells what this host lacks\n");
out:
    demo_cleanup(d);
    free(d);
    return rc;
}

/* ---- the recorded demo ---- */

int demo_find_recorded(const char *exe, char *out, unsigned outlen)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", exe ? exe : "");
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    char cand[3][PATH_MAX + 64];
    int n = 0;
    if (slash)
        snprintf(cand[n++], sizeof(cand[0]), "%s/../share/oisp-sensor/" DEMO_RECORDED, dir);
    snprintf(cand[n++], sizeof(cand[0]), "/usr/share/oisp-sensor/" DEMO_RECORDED);
    if (slash)
        snprintf(cand[n++], sizeof(cand[0]), "%s/../packaging/" DEMO_RECORDED, dir);
    for (int i = 0; i < n; i++) {
        if (access(cand[i], R_OK) != 0)
            continue;
        char real[PATH_MAX];
        snprintf(out, outlen, "%s", realpath(cand[i], real) ? real : cand[i]);
        return 0;
    }
    return -1;
}

static int demo_recorded(const demo_opts *o, const char *why)
{
    char exe[PATH_MAX], path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = 0;
    printf("oisp-sensor demo: %s: showing events recorded earlier by `oisp-sensor demo` "
           "(real capture), not live\n", why);
    fflush(stdout);
    if (demo_find_recorded(exe, path, sizeof(path)) != 0) {
        fprintf(stderr, "oisp-sensor demo: no recorded demo events (%s) next to %s or in "
                        "/usr/share/oisp-sensor\n", DEMO_RECORDED, exe);
        return 1;
    }
    printf("from %s\n\n", path);
    int rc = show_file(path);
    char err[512];
    if (rc == 0 && o->keep && copy_file(path, o->keep, err, sizeof(err)) != 0) {
        fprintf(stderr, "oisp-sensor demo: --keep %s\n", err);
        rc = 1;
    }
    printf("\nSee it live: sudo oisp-sensor demo\n");
    print_next_steps(o->keep && rc == 0 ? o->keep : NULL, 0);
    return rc ? 1 : 0;
}

/* ---- the command ---- */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: oisp-sensor demo [--keep FILE] [-v]\n"
        "See real OISP events in seconds, without an API key.  As root (or with CAP_BPF and\n"
        "CAP_PERFMON) the demo starts a local HTTPS fake of an OpenAI-compatible API and a client\n"
        "that makes three calls to it (plain, streaming, tool call), captures them with the\n"
        "sensor, and shows the events.  Nothing leaves 127.0.0.1, no sink you configured is\n"
        "used, and no file is left behind.  Without privileges it shows events an earlier demo\n"
        "recorded.\n"
        "\n"
        "  --keep FILE     also write the events to FILE (mode 0600)\n"
        "  -v, --verbose   show the sensor's messages (-vv: and its probing details)\n"
        "  -h, --help      this help\n");
}

int cmd_demo(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"keep", required_argument, 0, 'k'}, {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    demo_opts o = {0};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'k': o.keep = optarg; break;
        case 'v': o.verbose++; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "oisp-sensor demo: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    char err[256];
    if (capture_check_privileges(err, sizeof(err)) != 0)
        return demo_recorded(&o, geteuid() == 0 ? "not privileged (CAP_BPF, CAP_PERFMON needed)"
                                                : "not running as root");
    return demo_live(&o);
}

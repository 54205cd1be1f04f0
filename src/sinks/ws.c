/* ws.c: WebSocket server sink on libwebsockets (see ws.h).
 *
 * Threads.  submit() runs on the capture thread: under the mutex it puts a
 * reference to one shared, ref-counted copy of the line on the queue of
 * every subscribed client and, when a queue goes from empty to non-empty,
 * calls lws_cancel_service() (the only lws call that is safe from another
 * thread).  The service thread then, in LWS_CALLBACK_EVENT_WAIT_CANCELLED,
 * asks for a writeable callback for each client with queued messages, or
 * kills a client marked slow; in LWS_CALLBACK_SERVER_WRITEABLE it writes
 * queued messages until the socket is choked.  A client that does not
 * read leaves the socket choked, its queue fills, and submit() marks it
 * slow and frees its queue at once. */
#include "sinks/ws.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_MAX_PATS 16
#define WS_RX_MAX 4096

typedef struct ws_msg {
    int refs;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of room for the frame header, then the line */
} ws_msg;

typedef struct ws_client {
    struct lws *wsi;
    ws_msg **q;
    size_t head, count, bytes;
    char pats[WS_MAX_PATS][64];
    int npats; /* 0: everything */
    int slow, killed;
} ws_client;

typedef struct ws_session { /* lws per-session data */
    ws_client *c;
    size_t rx_len;
    char rx[WS_RX_MAX];
} ws_session;

typedef struct ws_sink {
    sink base;
    struct lws_context *ctx;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;
    ws_client **clients;
    size_t nclients;
    sink_ws_config cfg;
    char token[256];
    int port;
    sink_stats st;
} ws_sink;

void sink_ws_config_default(sink_ws_config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen = "127.0.0.1:7778";
    c->client_queue = 4096;
    c->client_queue_bytes = 16u << 20;
    c->max_clients = 64;
}

/* ---- filters ---- */

static int pattern_matches(const char *pat, const char *type)
{
    if (strcmp(pat, "*") == 0)
        return 1;
    size_t n = strlen(pat);
    if (n >= 2 && pat[n - 2] == '.' && pat[n - 1] == '*')
        return strncmp(pat, type, n - 1) == 0;
    return strcmp(pat, type) == 0;
}

static int client_wants(const ws_client *c, const char *type)
{
    if (!c->npats)
        return 1;
    for (int i = 0; i < c->npats; i++)
        if (pattern_matches(c->pats[i], type ? type : ""))
            return 1;
    return 0;
}

/* "a,b,c" -> patterns */
static void set_patterns_csv(ws_client *c, const char *csv)
{
    c->npats = 0;
    while (*csv && c->npats < WS_MAX_PATS) {
        size_t n = strcspn(csv, ",");
        if (n && n < sizeof(c->pats[0]))
            snprintf(c->pats[c->npats++], sizeof(c->pats[0]), "%.*s", (int)n, csv);
        csv += n + (csv[n] == ',');
    }
}

/* {"subscribe":[...]}; other messages are ignored. */
static void apply_subscribe(ws_client *c, const char *msg, size_t len)
{
    json_t *j = json_loadb(msg, len, 0, NULL);
    const json_t *arr = json_object_get(j, "subscribe");
    if (json_is_array(arr)) {
        c->npats = 0;
        for (size_t i = 0; i < json_array_size(arr) && c->npats < WS_MAX_PATS; i++) {
            const char *p = json_string_value(json_array_get(arr, i));
            if (p && *p && strlen(p) < sizeof(c->pats[0]))
                snprintf(c->pats[c->npats++], sizeof(c->pats[0]), "%s", p);
        }
    }
    json_decref(j);
}

/* ---- queues (mu held) ---- */

static void msg_unref(ws_msg *m)
{
    if (--m->refs == 0)
        free(m);
}

static void queue_clear(ws_sink *w, ws_client *c)
{
    size_t cap = w->cfg.client_queue;
    for (size_t i = 0; i < c->count; i++)
        msg_unref(c->q[(c->head + i) % cap]);
    c->head = c->count = c->bytes = 0;
}

static ws_msg *queue_pop(ws_sink *w, ws_client *c)
{
    ws_msg *m = c->q[c->head];
    c->head = (c->head + 1) % w->cfg.client_queue;
    c->count--;
    c->bytes -= m->len;
    return m;
}

/* ---- token ---- */

static int token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static int client_authorised(ws_sink *w, struct lws *wsi)
{
    if (!w->token[0])
        return 1;
    char buf[512];
    const char *t = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof(buf));
    if (t && token_equal(t, w->token))
        return 1;
    if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        strncasecmp(buf, "Bearer ", 7) == 0 && token_equal(buf + 7, w->token))
        return 1;
    return 0;
}

/* ---- the lws callback (service thread) ---- */

static ws_client *client_add(ws_sink *w, struct lws *wsi)
{
    ws_client *c = calloc(1, sizeof(*c));
    ws_msg **q = calloc(w->cfg.client_queue, sizeof(*q));
    if (!c || !q) {
        free(c);
        free(q);
        return NULL;
    }
    c->wsi = wsi;
    c->q = q;
    char buf[1024];
    const char *types = lws_get_urlarg_by_name(wsi, "types=", buf, sizeof(buf));
    if (types)
        set_patterns_csv(c, types);
    pthread_mutex_lock(&w->mu);
    int ok = w->nclients < w->cfg.max_clients;
    if (ok)
        w->clients[w->nclients++] = c;
    pthread_mutex_unlock(&w->mu);
    if (!ok) {
        free(q);
        free(c);
        return NULL;
    }
    return c;
}

static void client_remove(ws_sink *w, ws_client *c)
{
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->nclients; i++)
        if (w->clients[i] == c) {
            w->clients[i] = w->clients[--w->nclients];
            break;
        }
    w->st.dropped += c->count; /* left with events still queued */
    queue_clear(w, c);
    pthread_mutex_unlock(&w->mu);
    free(c->q);
    free(c);
}

static void on_wake(ws_sink *w)
{
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->nclients; i++) {
        ws_client *c = w->clients[i];
        if (c->slow && !c->killed) {
            c->killed = 1;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        } else if (c->count && !c->slow) {
            lws_callback_on_writable(c->wsi);
        }
    }
    pthread_mutex_unlock(&w->mu);
}

static int on_writeable(ws_sink *w, ws_client *c)
{
    pthread_mutex_lock(&w->mu);
    int rc = 0, budget = 64; /* then let submit() in: it waits for this mutex */
    while (c->count && !c->slow && budget-- > 0 && !lws_send_pipe_choked(c->wsi)) {
        ws_msg *m = queue_pop(w, c);
        size_t len = m->len;
        int n = lws_write(c->wsi, m->data + LWS_PRE, len, LWS_WRITE_TEXT);
        msg_unref(m);
        if (n < (int)len) {
            rc = -1;
            break;
        }
        w->st.delivered++;
    }
    if (!rc && c->count && !c->slow)
        lws_callback_on_writable(c->wsi);
    if (c->slow)
        rc = -1;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct lws_context *lc = lws_get_context(wsi);
    ws_sink *w = lc ? lws_context_user(lc) : NULL;
    ws_session *s = user;
    char uri[64];
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/events") != 0)
            return 1;
        return client_authorised(w, wsi) ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED:
        s->c = client_add(w, wsi);
        return s->c ? 0 : -1;
    case LWS_CALLBACK_CLOSED:
        if (s && s->c) {
            client_remove(w, s->c);
            s->c = NULL;
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return s && s->c ? on_writeable(w, s->c) : 0;
    case LWS_CALLBACK_RECEIVE:
        if (!s || !s->c)
            return 0;
        if (s->rx_len + len <= sizeof(s->rx)) {
            memcpy(s->rx + s->rx_len, in, len);
            s->rx_len += len;
        } else {
            s->rx_len = sizeof(s->rx) + 1; /* too long: ignore the message */
        }
        if (lws_is_final_fragment(wsi)) {
            if (s->rx_len <= sizeof(s->rx)) {
                pthread_mutex_lock(&w->mu);
                apply_subscribe(s->c, s->rx, s->rx_len);
                pthread_mutex_unlock(&w->mu);
            }
            s->rx_len = 0;
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (w)
            on_wake(w);
        return 0;
    case LWS_CALLBACK_HTTP:
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
        return -1;
    default:
        return 0;
    }
}

static const struct lws_protocols ws_protocols[] = {
    {"oisp-events", ws_callback, sizeof(ws_session), WS_RX_MAX, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service_main(void *arg)
{
    ws_sink *w = arg;
    while (!atomic_load(&w->stop))
        if (lws_service(w->ctx, 0) < 0)
            break;
    return NULL;
}

/* ---- the sink interface ---- */

static int ws_submit(sink *s, const sink_event *e)
{
    ws_sink *w = (ws_sink *)s;
    int wake = 0;
    pthread_mutex_lock(&w->mu);
    w->st.submitted++;
    ws_msg *m = NULL;
    for (size_t i = 0; i < w->nclients; i++) {
        ws_client *c = w->clients[i];
        if (c->slow || !client_wants(c, e->type))
            continue;
        if (c->count >= w->cfg.client_queue || c->bytes + e->len > w->cfg.client_queue_bytes) {
            c->slow = 1; /* disconnected by the service thread */
            w->st.failed++;
            w->st.dropped += c->count + 1;
            queue_clear(w, c);
            wake = 1;
            continue;
        }
        if (!m) {
            m = malloc(sizeof(*m) + LWS_PRE + e->len);
            if (!m) {
                w->st.dropped++;
                break;
            }
            m->refs = 0;
            m->len = e->len;
            memcpy(m->data + LWS_PRE, e->line, e->len);
        }
        m->refs++;
        c->q[(c->head + c->count) % w->cfg.client_queue] = m;
        c->count++;
        c->bytes += e->len;
        wake |= c->count == 1;
    }
    int unused = m && m->refs == 0; /* once unlocked, m may be sent and freed */
    pthread_mutex_unlock(&w->mu);
    if (unused)
        free(m);
    if (wake)
        lws_cancel_service(w->ctx);
    return 0;
}

static void ws_flush(sink *s) { (void)s; }

static void ws_stats(sink *s, sink_stats *out)
{
    ws_sink *w = (ws_sink *)s;
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->queued = 0;
    for (size_t i = 0; i < w->nclients; i++)
        out->queued += w->clients[i]->count;
    pthread_mutex_unlock(&w->mu);
}

static void ws_close(sink *s, int drain_timeout_ms)
{
    (void)drain_timeout_ms; /* live only: nothing to drain */
    ws_sink *w = (ws_sink *)s;
    atomic_store(&w->stop, 1);
    lws_cancel_service(w->ctx);
    pthread_join(w->thread, NULL);
    lws_context_destroy(w->ctx); /* closes the clients (CLOSED frees them) */
    pthread_mutex_destroy(&w->mu);
    free(w->clients);
    free(w);
}

static const sink_vtbl ws_vtbl = {"websocket", ws_submit, ws_flush, ws_close, ws_stats};

int sink_ws_port(sink *s) { return s && s->v == &ws_vtbl ? ((ws_sink *)s)->port : -1; }

static int is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0;
}

/* "HOST:PORT" or "[V6]:PORT" */
static int parse_listen(const char *spec, char *host, size_t n, int *port)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec)
        return -1;
    const char *h = spec, *he = colon;
    if (*h == '[') {
        if (he[-1] != ']')
            return -1;
        h++;
        he--;
    }
    if ((size_t)(he - h) >= n || he == h)
        return -1;
    snprintf(host, n, "%.*s", (int)(he - h), h);
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

sink *sink_ws_new(const sink_ws_config *c, char *err, size_t errlen)
{
    char host[128];
    int port;
    if (parse_listen(c->listen, host, sizeof(host), &port)) {
        snprintf(err, errlen, "%s: expected HOST:PORT, e.g. 127.0.0.1:7778", c->listen);
        return NULL;
    }
    if (!is_loopback(host) && (!c->token || !*c->token)) {
        snprintf(err, errlen, "%s is not a loopback address: a token is required (--ws-token)",
                 c->listen);
        return NULL;
    }
    if (c->token && strlen(c->token) >= sizeof(((ws_sink *)0)->token)) {
        snprintf(err, errlen, "token too long");
        return NULL;
    }
    ws_sink *w = calloc(1, sizeof(*w));
    if (!w || !(w->clients = calloc(c->max_clients ? c->max_clients : 1, sizeof(*w->clients)))) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->cfg = *c;
    if (!w->cfg.client_queue)
        w->cfg.client_queue = 1;
    if (!w->cfg.max_clients)
        w->cfg.max_clients = 1;
    if (c->token)
        snprintf(w->token, sizeof(w->token), "%s", c->token);
    pthread_mutex_init(&w->mu, NULL);
    lws_set_log_level(0, NULL); /* errors come back to the caller, not on stderr */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = port;
    int any = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
    info.iface = any ? NULL : strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (!strchr(host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.protocols = ws_protocols;
    info.user = w;
    info.gid = -1;
    info.uid = -1;
    w->ctx = lws_create_context(&info);
    struct lws_vhost *vh = w->ctx ? lws_get_vhost_by_name(w->ctx, "default") : NULL;
    w->port = vh ? lws_get_vhost_listen_port(vh) : -1;
    if (!w->ctx || w->port <= 0) {
        snprintf(err, errlen, "%s: cannot listen (address in use or not on this host?)", c->listen);
        goto fail;
    }
    int e = pthread_create(&w->thread, NULL, service_main, w);
    if (e) {
        snprintf(err, errlen, "cannot start the WebSocket thread: %s", strerror(e));
        goto fail;
    }
    w->base.v = &ws_vtbl;
    snprintf(w->base.name, sizeof(w->base.name), "websocket:%s", c->listen);
    return &w->base;
fail:
    if (w->ctx)
        lws_context_destroy(w->ctx);
    pthread_mutex_destroy(&w->mu);
    free(w->clients);
    free(w);
    return NULL;
}

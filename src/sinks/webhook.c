/* webhook.c: POST batches of events to a URL (see webhook.h).  The body
 * is built in a buffer reused from batch to batch; the lines are copied
 * once, into it. */
#include "sinks/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/httpc.h"

typedef struct webhook {
    httpc *http;
    int ndjson;
    char *body;
    size_t cap;
} webhook;

void sink_webhook_config_default(sink_webhook_config *c)
{
    memset(c, 0, sizeof(*c));
    c->timeout_ms = 10000;
    deliver_opts_default(&c->d);
}

int sink_webhook_check_auth(const char *auth, char *err, size_t errlen)
{
    if (!auth || strcmp(auth, "none") == 0)
        return 0;
    if (strncmp(auth, "bearer:", 7) == 0 && auth[7])
        return 0;
    if (strncmp(auth, "basic:", 6) == 0 && strchr(auth + 6, ':'))
        return 0;
    if (strncmp(auth, "apikey:", 7) == 0) {
        const char *c = strchr(auth + 7, ':');
        if (c && c > auth + 7 && c[1] && !memchr(auth + 7, ' ', (size_t)(c - auth - 7)))
            return 0;
    }
    snprintf(err, errlen, "expected none, bearer:TOKEN, apikey:HEADER:TOKEN or basic:USER:PASSWORD");
    return -1;
}

static int apply_auth(httpc *h, const char *auth)
{
    char line[4096];
    if (!auth || strcmp(auth, "none") == 0)
        return 0;
    if (strncmp(auth, "bearer:", 7) == 0) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", auth + 7);
        return httpc_add_header(h, line);
    }
    if (strncmp(auth, "apikey:", 7) == 0) {
        const char *c = strchr(auth + 7, ':');
        snprintf(line, sizeof(line), "%.*s: %s", (int)(c - auth - 7), auth + 7, c + 1);
        return httpc_add_header(h, line);
    }
    /* basic:USER:PASSWORD (the password may contain ':') */
    const char *c = strchr(auth + 6, ':');
    char user[512];
    snprintf(user, sizeof(user), "%.*s", (int)(c - auth - 6), auth + 6);
    return httpc_set_basic_auth(h, user, c + 1);
}

static int reserve(webhook *w, size_t need)
{
    if (need <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 65536;
    while (cap < need)
        cap *= 2;
    char *b = realloc(w->body, cap);
    if (!b)
        return -1;
    w->body = b;
    w->cap = cap;
    return 0;
}

static void webhook_send(void *ctx, deliver_item **items, size_t n, unsigned attempt,
                         int timeout_ms, uint8_t *res, char *err, size_t errlen)
{
    webhook *w = ctx;
    (void)attempt;
    size_t need = 2;
    for (size_t i = 0; i < n; i++)
        need += items[i]->len + 1;
    if (reserve(w, need)) {
        snprintf(err, errlen, "out of memory");
        return; /* all stay RETRY */
    }
    size_t off = 0;
    if (!w->ndjson)
        w->body[off++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (!w->ndjson && i)
            w->body[off++] = ',';
        memcpy(w->body + off, items[i]->line, items[i]->len);
        off += items[i]->len;
        if (w->ndjson)
            w->body[off++] = '\n';
    }
    if (!w->ndjson)
        w->body[off++] = ']';
    long status;
    int r = httpc_post(w->http, NULL, w->body, off, timeout_ms, &status, err, errlen);
    memset(res, r, n);
}

static void webhook_free(void *ctx)
{
    webhook *w = ctx;
    if (!w)
        return;
    httpc_free(w->http);
    free(w->body);
    free(w);
}

sink *sink_webhook_new(const sink_webhook_config *c, char *err, size_t errlen)
{
    if (!c->url || sink_webhook_check_auth(c->auth, err, errlen))
        return NULL;
    webhook *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->ndjson = c->ndjson;
    w->http = httpc_new(c->url, err, errlen);
    if (!w->http) {
        free(w);
        return NULL;
    }
    if (httpc_add_header(w->http, w->ndjson ? "Content-Type: application/x-ndjson"
                                            : "Content-Type: application/json") ||
        apply_auth(w->http, c->auth)) {
        webhook_free(w);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    deliver_opts d = c->d;
    if (c->timeout_ms > 0)
        d.send_timeout_ms = c->timeout_ms;
    deliver_ops ops = {.send = webhook_send, .free = webhook_free};
    deliver *dl = deliver_new("webhook", c->url, &d, &ops, w, err, errlen);
    if (!dl)
        return NULL;
    char name[64];
    snprintf(name, sizeof(name), "webhook:%s", c->url);
    sink *s = deliver_sink_new("webhook", name, dl);
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

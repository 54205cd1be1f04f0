/* sinkconf.c: the configuration's [output.jsonl] and [sinks.*] sections
 * turned into open sinks (see sinkconf.h).  The only place that knows both
 * the config struct and the sinks' own option structs. */
#include "cli/sinkconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/jsonl.h"
#include "sinks/kafka.h"
#include "sinks/otlp.h"
#include "sinks/webhook.h"
#include "sinks/ws.h"

#define KV_MAX 64

static void delivery(const config_sink_common *c, deliver_opts *d)
{
    memset(d, 0, sizeof(*d));
    d->queue_max = (size_t)c->queue_size;
    d->batch_max = (size_t)c->batch_size;
    d->linger_ms = (int)c->batch_interval_ms;
    d->max_retries = (int)c->max_retries;
    d->backoff_base_ms = (int)c->backoff_initial_ms;
    d->backoff_max_ms = (int)c->backoff_max_ms;
    d->dlq_dir = c->dead_letter_dir && *c->dead_letter_dir ? c->dead_letter_dir : NULL;
}

/* "K=V" strings for a table, kept in kv[] (freed by kv_free). */
static size_t kv_strings(const config_strmap *m, const char **out, char **kv, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n && n < max; i++) {
        size_t len = strlen(m->key[i]) + strlen(m->val[i]) + 2;
        kv[n] = malloc(len);
        if (!kv[n])
            break;
        snprintf(kv[n], len, "%s=%s", m->key[i], m->val[i]);
        out[n] = kv[n];
        n++;
    }
    return n;
}

static void kv_free(char **kv, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(kv[i]);
}

static int add(sink_set *ss, sink *s, char *err, size_t errlen, const char *what)
{
    if (!s) {
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "%s", err);
        snprintf(err, errlen, "%s: %s", what, tmp);
        return -1;
    }
    return sink_set_add(ss, s);
}

static int open_jsonl(sink_set *ss, const config_jsonl *j, char *err, size_t errlen)
{
    if (!j->path || !*j->path)
        return 0;
    jsonl_opts o;
    jsonl_opts_default(&o);
    o.rotate_size = j->rotate_size;
    o.rotate_interval_s = (int)j->rotate_interval;
    o.rotate_keep = (int)j->keep;
    o.flush_ms = (int)j->flush_interval_ms;
    o.fsync_ms = (int)j->fsync_interval_ms;
    return add(ss, sink_jsonl_new_opts(j->path, &o, err, errlen), err, errlen, j->path);
}

static int open_ws(sink_set *ss, const config_websocket *w, char *err, size_t errlen)
{
    if (!w->listen || !*w->listen)
        return 0;
    sink_ws_config c;
    sink_ws_config_default(&c);
    c.listen = w->listen;
    c.token = w->token && *w->token ? w->token : NULL;
    if (w->queue > 0)
        c.client_queue = (size_t)w->queue;
    return add(ss, sink_ws_new(&c, err, errlen), err, errlen, "sinks.websocket");
}

static int open_otlp(sink_set *ss, const config_otlp *o, char *err, size_t errlen)
{
    if (!o->url || !*o->url)
        return 0;
    sink_otlp_config c = {.url = o->url, .token = o->bearer_token && *o->bearer_token ? o->bearer_token : NULL,
                          .gzip = o->gzip, .timeout_ms = (int)o->timeout_ms};
    char *kv[KV_MAX];
    c.nheaders = kv_strings(&o->headers, c.headers, kv, OTLP_MAX_HEADERS);
    delivery(&o->common, &c.d);
    int r = add(ss, sink_otlp_new(&c, err, errlen), err, errlen, "sinks.otlp");
    kv_free(kv, c.nheaders);
    return r;
}

static int open_kafka(sink_set *ss, const config_kafka *k, char *err, size_t errlen)
{
    if (!k->brokers.n)
        return 0;
    char *brokers = config_strlist_join(&k->brokers, ",");
    sink_kafka_config c = {.brokers = brokers, .topic = k->topic, .key = k->key,
                           .compression = k->compression == CONFIG_COMPRESSION_NONE ? NULL
                               : config_choice_name("sinks.kafka.compression", k->compression),
                           .timeout_ms = (int)k->timeout_ms};
    char *kv[KV_MAX];
    c.nprops = kv_strings(&k->properties, c.props, kv, KAFKA_MAX_PROPS);
    delivery(&k->common, &c.d);
    int r = add(ss, sink_kafka_new(&c, err, errlen), err, errlen, "sinks.kafka");
    kv_free(kv, c.nprops);
    free(brokers);
    return r;
}

static int open_webhook(sink_set *ss, const config_webhook *w, char *err, size_t errlen)
{
    char auth[1024] = "none";
    switch (w->auth) {
    case CONFIG_AUTH_BEARER: snprintf(auth, sizeof(auth), "bearer:%s", w->token); break;
    case CONFIG_AUTH_API_KEY: snprintf(auth, sizeof(auth), "apikey:%s:%s", w->header, w->token); break;
    case CONFIG_AUTH_BASIC:
        snprintf(auth, sizeof(auth), "basic:%s:%s", w->username, w->password);
        break;
    }
    sink_webhook_config c = {.url = w->url, .ndjson = w->format == CONFIG_WEBHOOK_NDJSON,
                             .auth = auth, .timeout_ms = (int)w->timeout_ms};
    delivery(&w->common, &c.d);
    return add(ss, sink_webhook_new(&c, err, errlen), err, errlen, w->url);
}

sink_set *sinkconf_open(const config *c, char *err, size_t errlen)
{
    sink_set *ss = sink_set_new();
    if (!ss) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int r = open_jsonl(ss, &c->jsonl, err, errlen);
    if (!r)
        r = open_ws(ss, &c->sinks.websocket, err, errlen);
    if (!r)
        r = open_otlp(ss, &c->sinks.otlp, err, errlen);
    if (!r)
        r = open_kafka(ss, &c->sinks.kafka, err, errlen);
    for (size_t i = 0; !r && i < c->sinks.nwebhooks; i++)
        r = open_webhook(ss, &c->sinks.webhooks[i], err, errlen);
    if (r) {
        sink_set_close(ss, 0);
        return NULL;
    }
    return ss;
}

/* kafka.c: Kafka producer sink (see kafka.h).
 *
 * The worker produces a whole batch, then polls until every message's
 * delivery report has come back or the batch's time is up.  A report is
 * matched to its event by the message opaque (batch generation << 32 |
 * index); when time runs out the producer's queue is purged and the
 * generation moves on, so a late report can never touch a newer batch.
 * librdkafka's own threads do the networking; all callbacks run on the
 * worker thread, inside rd_kafka_poll(). */
#include "sinks/kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct kafka {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topic;
    int key;
    uint32_t gen;
    uint8_t *res;
    size_t n, pending;
    char err[256];
} kafka;

void sink_kafka_config_default(sink_kafka_config *c)
{
    memset(c, 0, sizeof(*c));
    c->timeout_ms = 30000;
    deliver_opts_default(&c->d);
}

int sink_kafka_key_parse(const char *s)
{
    if (strcmp(s, "event_id") == 0)
        return KAFKA_KEY_EVENT_ID;
    if (strcmp(s, "process") == 0)
        return KAFKA_KEY_PROCESS;
    if (strcmp(s, "trace_id") == 0)
        return KAFKA_KEY_TRACE_ID;
    return -1;
}

static int classify(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return DELIVER_OK;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return DELIVER_FAIL;
    default:
        return DELIVER_RETRY;
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    kafka *k = opaque;
    uintptr_t tag = (uintptr_t)m->_private;
    size_t idx = (size_t)(tag & 0xffffffffu);
    if ((uint32_t)(tag >> 32) != k->gen || idx >= k->n || !k->pending)
        return; /* a report for a batch that already gave up */
    k->res[idx] = (uint8_t)classify(m->err);
    k->pending--;
    if (m->err)
        snprintf(k->err, sizeof(k->err), "%s", rd_kafka_err2str(m->err));
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)err;
    kafka *k = opaque;
    snprintf(k->err, sizeof(k->err), "%s", reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf; /* errors reach us through on_error */
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

static void key_of(const kafka *k, const deliver_item *it, const char **key, size_t *len,
                   char *buf, size_t n)
{
    *key = NULL;
    *len = 0;
    if (k->key == KAFKA_KEY_EVENT_ID && it->event_id[0]) {
        *key = it->event_id;
    } else if (k->key == KAFKA_KEY_PROCESS && it->pid) {
        snprintf(buf, n, "%u", it->pid);
        *key = buf;
    } else if (k->key == KAFKA_KEY_TRACE_ID && it->trace_id[0]) {
        *key = it->trace_id;
    }
    if (*key)
        *len = strlen(*key);
}

static void kafka_send(void *ctx, deliver_item **items, size_t n, unsigned attempt, int timeout_ms,
                       uint8_t *res, char *err, size_t errlen)
{
    kafka *k = ctx;
    (void)attempt;
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
    k->gen++;
    k->res = res;
    k->n = n;
    k->pending = 0;
    k->err[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        size_t klen;
        char kbuf[16];
        key_of(k, items[i], &key, &klen, kbuf, sizeof(kbuf));
        rd_kafka_resp_err_t e;
        for (;;) {
            e = rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(k->topic),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_VALUE(items[i]->line, items[i]->len),
                                  RD_KAFKA_V_KEY(key, klen),
                                  RD_KAFKA_V_OPAQUE((void *)(((uintptr_t)k->gen << 32) | i)),
                                  RD_KAFKA_V_END);
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || mono_ms() >= deadline)
                break;
            rd_kafka_poll(k->rk, 10); /* let reports drain the local queue */
        }
        if (e) {
            res[i] = (uint8_t)classify(e);
            snprintf(k->err, sizeof(k->err), "%s", rd_kafka_err2str(e));
        } else {
            res[i] = DELIVER_RETRY; /* until its report says otherwise */
            k->pending++;
        }
    }
    while (k->pending) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            break;
        uint64_t left = deadline - now;
        rd_kafka_poll(k->rk, (int)(left < 100 ? left : 100));
    }
    if (k->pending) { /* out of time: forget them here; the engine retries or dead-letters */
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        snprintf(err, errlen, "%zu message(s) not acknowledged in %d ms%s%s", k->pending,
                 timeout_ms, k->err[0] ? ": " : "", k->err);
        k->gen++;
        rd_kafka_poll(k->rk, 0);
    } else if (k->err[0]) {
        snprintf(err, errlen, "%s", k->err);
    }
    k->res = NULL;
    k->n = 0;
}

static void kafka_free(void *ctx)
{
    kafka *k = ctx;
    if (!k)
        return;
    if (k->topic)
        rd_kafka_topic_destroy(k->topic);
    if (k->rk) {
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(k->rk, 1000);
        rd_kafka_destroy(k->rk);
    }
    free(k);
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err, size_t errlen)
{
    char e[256];
    if (rd_kafka_conf_set(conf, name, value, e, sizeof(e)) == RD_KAFKA_CONF_OK)
        return 0;
    snprintf(err, errlen, "kafka property %s: %s", name, e);
    return -1;
}

static rd_kafka_conf_t *make_conf(const sink_kafka_config *c, kafka *k, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char v[32];
    snprintf(v, sizeof(v), "%d", c->timeout_ms);
    if (set(conf, "bootstrap.servers", c->brokers, err, errlen) ||
        set(conf, "compression.codec", c->compression ? c->compression : "none", err, errlen) ||
        set(conf, "message.timeout.ms", v, err, errlen) ||
        set(conf, "linger.ms", "5", err, errlen) || set(conf, "client.id", "oisp-sensor", err, errlen))
        goto fail;
    for (size_t i = 0; i < c->nprops; i++) {
        const char *eq = strchr(c->props[i], '=');
        char name[256];
        if (!eq || eq == c->props[i] || (size_t)(eq - c->props[i]) >= sizeof(name)) {
            snprintf(err, errlen, "kafka property '%s': expected name=value", c->props[i]);
            goto fail;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(eq - c->props[i]), c->props[i]);
        if (set(conf, name, eq + 1, err, errlen))
            goto fail;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

sink *sink_kafka_new(const sink_kafka_config *c, char *err, size_t errlen)
{
    if (!c->brokers || !*c->brokers || !c->topic || !*c->topic) {
        snprintf(err, errlen, "expected BROKERS/TOPIC");
        return NULL;
    }
    kafka *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    k->key = c->key;
    rd_kafka_conf_t *conf = make_conf(c, k, err, errlen);
    if (!conf) {
        free(k);
        return NULL;
    }
    char e[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka: %s", e);
        free(k);
        return NULL;
    }
    k->topic = rd_kafka_topic_new(k->rk, c->topic, NULL);
    if (!k->topic) {
        snprintf(err, errlen, "kafka topic %s: %s", c->topic, rd_kafka_err2str(rd_kafka_last_error()));
        kafka_free(k);
        return NULL;
    }
    deliver_opts d = c->d;
    if (c->timeout_ms > 0)
        d.send_timeout_ms = c->timeout_ms;
    char target[512];
    snprintf(target, sizeof(target), "%s/%s", c->brokers, c->topic);
    deliver_ops ops = {.send = kafka_send, .free = kafka_free};
    deliver *dl = deliver_new("kafka", target, &d, &ops, k, err, errlen);
    if (!dl)
        return NULL;
    char name[64];
    snprintf(name, sizeof(name), "kafka:%.57s", target);
    sink *s = deliver_sink_new("kafka", name, dl);
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

/* pipeline.c: glue from records to events (see pipeline.h).  Everything
 * runs on the sensor's one event-loop thread. */
#include "events/pipeline.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "events/correlate.h"
#include "events/event.h"
#include "events/hostev.h"
#include "events/proc.h"
#include "events/redact.h"
#include "stream/conn.h"

#define PROC_CACHE_MAX 8192

/* Kept on an AI request (http_msg.user) until its response is decoded. */
typedef struct pending {
    ai_call *call;
    char request_id[32];
    char event_id[27];
    char trace_id[33];
} pending;

struct pipeline {
    pipeline_opts o;
    conn_table *conns;
    proc_cache *procs;
    correlator *corr;
    hostev *hev;
    json_t *host;
    pipeline_stats st;
    uint64_t by_type[32]; /* indexes: event_types[] */
    pthread_rwlock_t sinks_lock; /* emit reads o.sinks and redact; reload swaps them */
    redactor *redact;            /* applied to every event before any sink */
    uint64_t redact_failures;    /* events dropped rather than written unredacted */
};

static const char *const event_types[] = {
    "ai.request", "ai.response", "agent.tool_call", "agent.tool_result", "process.exec",
    "process.exit", "process.fork", "file.open", "file.write", "file.delete", "file.rename",
    "network.connect", "network.accept", "network.dns", "other",
};
#define NTYPES (sizeof(event_types) / sizeof(event_types[0]))

#define TOOL_CALL_MAX_AGE_NS (600ull * 1000000000ull) /* unanswered calls are forgotten */

static int partial(const http_msg *m)
{
    return m && (m->flags & (HTTP_MSG_TRUNCATED | HTTP_MSG_INCOMPLETE | HTTP_MSG_CAPTURE_GAP |
                             HTTP_MSG_DECODE_ERROR));
}

static void add_limitations(json_t *conf, const http_msg *m)
{
    json_t *lim = json_array();
    if (m->flags & HTTP_MSG_TRUNCATED)
        json_array_append_new(lim, json_string("body_over_size_limit"));
    if (m->flags & HTTP_MSG_INCOMPLETE)
        json_array_append_new(lim, json_string("message_incomplete"));
    if (m->flags & HTTP_MSG_CAPTURE_GAP)
        json_array_append_new(lim, json_string("capture_gap"));
    if (m->flags & HTTP_MSG_DECODE_ERROR)
        json_array_append_new(lim, json_string("content_encoding_undecodable"));
    json_object_set_new(conf, "limitations", lim);
}

static void set_confidence(json_t *ev, const http_msg *m, const ai_call *call)
{
    json_t *conf = json_object_get(ev, "confidence");
    json_object_set_new(conf, "completeness", json_string(partial(m) ? "partial" : "full"));
    if (partial(m))
        add_limitations(conf, m);
    json_object_set_new(conf, "content_source", json_string("tls_boundary"));
    json_object_set_new(conf, "process_attribution", json_string("direct"));
    if (call->detection)
        json_object_set_new(conf, "ai_detection_method", json_string(call->detection));
}

static json_t *process_block(pipeline *p, uint32_t pid, uint32_t tid)
{
    json_t *proc = json_copy(proc_cache_get(p->procs, pid));
    if (tid && tid != pid)
        json_object_set_new(proc, "thread_id", json_integer(tid));
    return proc;
}

static void count_type(pipeline *p, const json_t *ev)
{
    const char *t = json_string_value(json_object_get(ev, "event_type"));
    size_t i = 0;
    while (i < NTYPES - 1 && (!t || strcmp(t, event_types[i]) != 0))
        i++;
    __atomic_fetch_add(&p->by_type[i], 1, __ATOMIC_RELAXED);
}

static void emit(pipeline *p, json_t *ev)
{
    count_type(p, ev);
    pthread_rwlock_rdlock(&p->sinks_lock);
    if (!p->redact || redact_event(p->redact, ev) >= 0)
        sink_set_emit(p->o.sinks, ev);
    else /* out of memory mid-redaction: never write it half redacted */
        __atomic_fetch_add(&p->redact_failures, 1, __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&p->sinks_lock);
    json_decref(ev);
}

redactor *pipeline_swap_redactor(pipeline *p, redactor *r)
{
    pthread_rwlock_wrlock(&p->sinks_lock);
    redactor *old = p->redact;
    p->redact = r;
    pthread_rwlock_unlock(&p->sinks_lock);
    return old;
}

sink_set *pipeline_swap_sinks(pipeline *p, sink_set *ss)
{
    pthread_rwlock_wrlock(&p->sinks_lock);
    sink_set *old = p->o.sinks;
    p->o.sinks = ss;
    pthread_rwlock_unlock(&p->sinks_lock);
    return old;
}

void pipeline_set_inbound(pipeline *p, int inbound) { p->o.inbound = inbound; }

void pipeline_emit(pipeline *p, json_t *ev) { emit(p, ev); }

json_t *pipeline_event_counts(const pipeline *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < NTYPES; i++) {
        uint64_t n = __atomic_load_n(&p->by_type[i], __ATOMIC_RELAXED);
        if (n)
            json_object_set_new(o, event_types[i], json_integer((json_int_t)n));
    }
    return o;
}

static void emit_cb(void *ctx, json_t *ev) { emit(ctx, ev); }

/* A host event, linked to the tool call its process tree is running. */
static void host_emit(void *ctx, uint32_t tgid, json_t *ev)
{
    pipeline *p = ctx;
    corr_host(p->corr, tgid, ev);
    p->st.host_events++;
    emit(p, ev);
}

static json_t *ai_event(pipeline *p, const conn_info *c, const char *type, uint64_t ts,
                        const char *point, const http_msg *m, const ai_call *call, json_t *data,
                        char id_out[27])
{
    json_t *ev = event_new(type, ts, "ebpf_uprobe", point, p->host, id_out);
    json_object_set_new(ev, "process", process_block(p, c->key.tgid, m ? m->tid : 0));
    set_confidence(ev, m, call);
    json_object_set_new(ev, "data", data);
    json_t *attrs = json_object();
    json_object_set_new(attrs, "capture_view",
                        json_string(c->role == CONN_ROLE_SERVER ? "inbound" : "outbound"));
    json_object_set_new(attrs, "connection_id", json_integer((json_int_t)c->id));
    json_object_set_new(ev, "attrs", attrs);
    return ev;
}

static void on_request(void *ctx, const conn_info *c, http_msg *req)
{
    pipeline *p = ctx;
    if (c->role == CONN_ROLE_SERVER && !p->o.inbound) {
        p->st.inbound_skipped++;
        return;
    }
    json_t *data = NULL;
    ai_call *call = decode_request(req, &data);
    if (!call) {
        p->st.non_ai_requests++;
        return;
    }
    pending *pd = calloc(1, sizeof(*pd));
    if (!pd) {
        ai_call_free(call);
        json_decref(data);
        return;
    }
    pd->call = call;
    json_t *ev = ai_event(p, c, "ai.request", req->ts_start,
                          c->role == CONN_ROLE_SERVER ? "ssl_read" : "ssl_write", req, call,
                          data, pd->event_id);
    snprintf(pd->request_id, sizeof(pd->request_id), "req_%s", pd->event_id);
    json_object_set_new(data, "request_id", json_string(pd->request_id));
    req->user = pd;
    p->st.ai_requests++;
    corr_request(p->corr, c->key.tgid, req->ts_start, ev, emit_cb, p); /* tool results first */
    const char *trace = json_string_value(json_object_get(json_object_get(ev, "trace_context"), "trace_id"));
    snprintf(pd->trace_id, sizeof(pd->trace_id), "%s", trace ? trace : "");
    emit(p, ev);
    if (p->o.on_ai_process)
        p->o.on_ai_process(p->o.ctx, c->key.tgid);
}

static void on_exchange(void *ctx, const conn_info *c, http_msg *req, http_msg *resp)
{
    pipeline *p = ctx;
    pending *pd = req ? req->user : NULL;
    if (!resp) {
        if (pd)
            p->st.requests_no_response++;
        return;
    }
    if (!pd) {
        if (!req)
            p->st.responses_no_request++;
        return;
    }
    json_t *data = decode_response(pd->call, req, resp);
    if (!data)
        return;
    json_object_set_new(data, "request_id", json_string(pd->request_id));
    json_t *ev = ai_event(p, c, "ai.response", resp->ts_end,
                          c->role == CONN_ROLE_SERVER ? "ssl_write" : "ssl_read", resp, pd->call,
                          data, NULL);
    json_t *rel = json_array(), *r = json_object();
    json_object_set_new(r, "event_id", json_string(pd->event_id));
    json_object_set_new(r, "relationship", json_string("parent"));
    json_array_append_new(rel, r);
    json_object_set_new(ev, "related_events", rel);
    if (pd->trace_id[0])
        corr_set_trace(ev, pd->trace_id);
    p->st.ai_responses++;
    json_incref(ev);
    emit(p, ev);
    corr_response(p->corr, c->key.tgid, resp->ts_end, ev, emit_cb, p); /* then its tool calls */
    json_decref(ev);
}

static void free_user(void *ctx, void *user)
{
    pending *pd = user;
    if (!pd)
        return;
    ai_call_free(pd->call);
    free(pd);
}

pipeline *pipeline_new(const pipeline_opts *o)
{
    pipeline *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->o = *o;
    pthread_rwlock_init(&p->sinks_lock, NULL);
    conn_limits lim;
    conn_limits_default(&lim);
    conn_table_cb cb = {.ctx = p, .on_request = on_request, .on_exchange = on_exchange,
                        .free_user = free_user};
    p->conns = conn_table_new(&lim, &cb);
    p->procs = proc_cache_new(PROC_CACHE_MAX);
    if (p->procs)
        proc_cache_seed(p->procs); /* processes already running: their ancestry too */
    p->host = event_host_info();
    p->corr = corr_new(p->procs, p->host);
    p->hev = hostev_new(p->procs, p->host);
    if (p->hev)
        hostev_set_emit(p->hev, host_emit, p);
    if (!p->conns || !p->procs || !p->host || !p->corr || !p->hev) {
        pipeline_free(p);
        return NULL;
    }
    return p;
}

void pipeline_free(pipeline *p)
{
    if (!p)
        return;
    conn_table_free(p->conns);
    corr_free(p->corr);
    hostev_free(p->hev);
    redact_free(p->redact);
    proc_cache_free(p->procs);
    json_decref(p->host);
    free(p);
}

void pipeline_data(pipeline *p, uint32_t tgid, uint32_t tid, uint64_t ssl, int dir,
                   uint64_t offset, const uint8_t *data, size_t len, uint64_t lost_after,
                   uint64_t ts)
{
    /* Read the process now: a short-lived client (curl) may be gone from
     * /proc by the time its first exchange is decoded. */
    proc_cache_prefetch(p->procs, tgid);
    conn_key k = {.tgid = tgid, .ssl = ssl};
    conn_table_record(p->conns, &k, dir == PIPE_READ ? CONN_DIR_READ : CONN_DIR_WRITE, offset,
                      data, len, lost_after, ts, tid);
}

void pipeline_close(pipeline *p, uint32_t tgid, uint64_t ssl, uint64_t ts)
{
    conn_key k = {.tgid = tgid, .ssl = ssl};
    conn_table_close(p->conns, &k, ts);
}

void pipeline_exit(pipeline *p, uint32_t tgid, uint64_t ts)
{
    conn_table_exit(p->conns, tgid, ts);
    proc_cache_exited(p->procs, tgid, ts);
}

void pipeline_exec(pipeline *p, uint32_t tgid, uint64_t ts)
{
    /* The old image's connections died with it and its process block is
     * stale; the new one is read at its first TLS record (pipeline_data). */
    conn_table_exit(p->conns, tgid, ts);
    proc_cache_exec(p->procs, tgid);
}

void pipeline_host(pipeline *p, const struct host_rec *r, size_t size)
{
    json_t *ev = hostev_event(p->hev, r, size);
    if (!ev) {
        /* DNS records make events later, or never (hostev counts why) */
        if (r->kind != HOST_DNS_QUERY && r->kind != HOST_DNS_REPLY)
            p->st.host_malformed++;
        return;
    }
    host_emit(p, r->tgid, ev);
}

void pipeline_tick(pipeline *p, uint64_t now)
{
    conn_table_expire(p->conns, now);
    hostev_expire(p->hev, now, HOSTEV_DNS_TIMEOUT_NS);
    proc_cache_reap(p->procs, now);
    corr_expire(p->corr, now, TOOL_CALL_MAX_AGE_NS);
}
void pipeline_flush(pipeline *p, uint64_t now)
{
    conn_table_flush(p->conns, now);
    hostev_expire(p->hev, now, 0);
}
void pipeline_get_stats(const pipeline *p, pipeline_stats *out)
{
    *out = p->st;
    corr_stats cs;
    corr_get_stats(p->corr, &cs);
    out->tool_calls = cs.tool_calls;
    out->tool_results = cs.tool_results;
    out->host_linked = cs.host_linked;
    out->redact_failures = __atomic_load_n(&p->redact_failures, __ATOMIC_RELAXED);
    hostev_stats hs;
    hostev_get_stats(p->hev, &hs);
    out->dns_queries = hs.dns_queries;
    out->dns_unanswered = hs.dns_unanswered;
    out->dns_unmatched = hs.dns_unmatched;
    out->dns_malformed = hs.dns_malformed;
}
const struct conn_table *pipeline_conns(const pipeline *p) { return p->conns; }

/* otlp.c: OTLP/HTTP JSON logs and traces (see otlp.h).
 *
 * At submit time (capture thread) extract() copies the handful of fields
 * the records need out of the parsed event into a fixed-size struct, so
 * the worker never parses JSON.  The worker turns a batch into two
 * request bodies, written directly as JSON text: one ExportLogsServiceRequest
 * and, when the batch closes exchanges or tool calls, one
 * ExportTraceServiceRequest.  Open exchanges and tool calls are remembered
 * in small fixed-size maps (oldest forgotten first). */
#include "sinks/otlp.h"

#include <jansson.h>
#include "util/sha256.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events/event.h"
#include "sinks/httpc.h"

/* ---- what each event contributes (filled on the capture thread) ---- */

typedef struct otlp_extra {
    uint64_t ts_ns;                  /* wall clock of `ts`, 0 if unparseable */
    int64_t in_tok, out_tok, latency_ms; /* -1 when absent */
    int failed;                      /* ai.response with success false */
    char system[32];
    char model[128];                 /* data.model(.id) */
    char finish[48];
    char request_id[80];
    char tool[96];
    char call_id[80];
    char cause[40];                  /* related event (caused_by/parent) */
    char trace_id[33];               /* a valid trace_context.trace_id */
} otlp_extra;

static void copy_str(char *dst, size_t n, const json_t *v)
{
    const char *s = json_string_value(v);
    if (s)
        snprintf(dst, n, "%s", s);
}

static int64_t int_or(const json_t *v, int64_t dflt)
{
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* "2025-12-22T14:30:16.345678Z" (or +hh:mm) to ns since the epoch; 0 if not that. */
static uint64_t parse_rfc3339(const char *s)
{
    if (!s)
        return 0;
    int y, mo, d, h, mi, sec, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 || used != 19)
        return 0;
    const char *p = s + 19;
    uint64_t frac = 0;
    int digits = 0;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (digits < 9) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                digits++;
            }
    for (; digits < 9; digits++)
        frac *= 10;
    long off = 0;
    if ((*p == '+' || *p == '-') && strlen(p) >= 6)
        off = (*p == '-' ? -1 : 1) * ((p[1] - '0') * 36000 + (p[2] - '0') * 3600 +
                                      (p[4] - '0') * 600 + (p[5] - '0') * 60);
    else if (*p != 'Z' && *p != 'z')
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm) - off;
    if (t < 0)
        return 0;
    return (uint64_t)t * 1000000000ull + frac;
}

static int is_hex32(const char *s)
{
    if (!s || strlen(s) != 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static void otlp_extract(const sink_event *e, void *extra)
{
    otlp_extra *x = extra;
    const json_t *ev = e->ev, *data = json_object_get(ev, "data");
    x->ts_ns = parse_rfc3339(json_string_value(json_object_get(ev, "ts")));
    x->in_tok = x->out_tok = x->latency_ms = -1;
    copy_str(x->system, sizeof(x->system), json_object_get(json_object_get(data, "provider"), "name"));
    const json_t *model = json_object_get(data, "model");
    copy_str(x->model, sizeof(x->model), json_is_object(model) ? json_object_get(model, "id") : model);
    copy_str(x->request_id, sizeof(x->request_id), json_object_get(data, "request_id"));
    copy_str(x->finish, sizeof(x->finish), json_object_get(data, "finish_reason"));
    const json_t *usage = json_object_get(data, "usage");
    x->in_tok = int_or(json_object_get(usage, "prompt_tokens"),
                       int_or(json_object_get(usage, "input_tokens"), -1));
    x->out_tok = int_or(json_object_get(usage, "completion_tokens"),
                        int_or(json_object_get(usage, "output_tokens"), -1));
    x->latency_ms = int_or(json_object_get(data, "latency_ms"), -1);
    x->failed = json_is_false(json_object_get(data, "success"));
    const json_t *tool = json_object_get(data, "tool");
    copy_str(x->tool, sizeof(x->tool), json_is_object(tool) ? json_object_get(tool, "name") : tool);
    copy_str(x->call_id, sizeof(x->call_id), json_object_get(data, "call_id"));
    const json_t *rel = json_object_get(ev, "related_events");
    for (size_t i = 0; i < json_array_size(rel); i++) {
        const json_t *r = json_array_get(rel, i);
        const char *how = json_string_value(json_object_get(r, "relationship"));
        if (how && (strcmp(how, "caused_by") == 0 || strcmp(how, "parent") == 0)) {
            copy_str(x->cause, sizeof(x->cause), json_object_get(r, "event_id"));
            break;
        }
    }
    if (is_hex32(e->trace_id))
        memcpy(x->trace_id, e->trace_id, 33);
}

/* ---- JSON text builder ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* s as a JSON string literal, quotes included. */
static void sb_str(sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sb_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sb_put(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', (char)c, 0};
        size_t el = 2;
        if (c == '\n')
            esc[1] = 'n';
        else if (c == '\t')
            esc[1] = 't';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        sb_put(b, esc, el);
    }
    sb_put(b, s + run, n - run);
    sb_put(b, "\"", 1);
}

static void sb_cstr(sbuf *b, const char *s) { sb_str(b, s, strlen(s)); }

static void sb_u64q(sbuf *b, uint64_t v) /* a 64-bit integer, quoted as OTLP/JSON wants */
{
    char t[32];
    sb_put(b, t, (size_t)snprintf(t, sizeof(t), "\"%llu\"", (unsigned long long)v));
}

/* attribute helpers: each writes ",{...}" or "{...}" depending on *first */
static void attr_open(sbuf *b, int *first, const char *key)
{
    sb_puts(b, *first ? "{\"key\":" : ",{\"key\":");
    *first = 0;
    sb_cstr(b, key);
    sb_puts(b, ",\"value\":");
}

static void attr_str(sbuf *b, int *first, const char *key, const char *v)
{
    if (!v || !*v)
        return;
    attr_open(b, first, key);
    sb_puts(b, "{\"stringValue\":");
    sb_cstr(b, v);
    sb_puts(b, "}}");
}

static void attr_int(sbuf *b, int *first, const char *key, int64_t v)
{
    if (v < 0)
        return;
    attr_open(b, first, key);
    sb_puts(b, "{\"intValue\":");
    sb_u64q(b, (uint64_t)v);
    sb_puts(b, "}}");
}

static void attr_str_array(sbuf *b, int *first, const char *key, const char *v)
{
    if (!v || !*v)
        return;
    attr_open(b, first, key);
    sb_puts(b, "{\"arrayValue\":{\"values\":[{\"stringValue\":");
    sb_cstr(b, v);
    sb_puts(b, "}]}}}");
}

/* ---- ids ---- */

static void hex_of(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = 0;
}

/* hex of the first nbytes of SHA-256(prefix + key) */
static void derive_id(const char *prefix, const char *key, size_t nbytes, char *out)
{
    unsigned char md[SHA256_LEN];
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "%s%s", prefix, key);
    sha256(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, md);
    hex_of(md, nbytes, out);
}

/* ---- small maps: key -> fixed-size value, the oldest entry is replaced ---- */

#define MAP_CAP 4096
#define MAP_BUCKETS 8192

typedef struct open_span {
    char trace_id[33], span_id[17], parent_id[17];
    uint64_t start_ns;
    char model[128], system[32], tool[96];
} open_span;

typedef struct span_map {
    char keys[MAP_CAP][80];
    open_span vals[MAP_CAP];
    int next[MAP_CAP];     /* chain within a bucket, -1 ends */
    int used[MAP_CAP];
    int buckets[MAP_BUCKETS];
    size_t cursor;          /* next slot to (re)use */
} span_map;

static uint32_t key_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h % MAP_BUCKETS;
}

static void map_init(span_map *m)
{
    memset(m->used, 0, sizeof(m->used));
    for (size_t i = 0; i < MAP_BUCKETS; i++)
        m->buckets[i] = -1;
    m->cursor = 0;
}

static open_span *map_get(span_map *m, const char *key)
{
    for (int i = m->buckets[key_hash(key)]; i >= 0; i = m->next[i])
        if (strcmp(m->keys[i], key) == 0)
            return &m->vals[i];
    return NULL;
}

static void map_unlink(span_map *m, int slot)
{
    int *pp = &m->buckets[key_hash(m->keys[slot])];
    while (*pp >= 0 && *pp != slot)
        pp = &m->next[*pp];
    if (*pp == slot)
        *pp = m->next[slot];
    m->used[slot] = 0;
}

static open_span *map_put(span_map *m, const char *key)
{
    open_span *v = map_get(m, key);
    if (v)
        return v;
    int slot = (int)m->cursor;
    m->cursor = (m->cursor + 1) % MAP_CAP;
    if (m->used[slot])
        map_unlink(m, slot);
    snprintf(m->keys[slot], sizeof(m->keys[slot]), "%s", key);
    memset(&m->vals[slot], 0, sizeof(m->vals[slot]));
    uint32_t h = key_hash(m->keys[slot]);
    m->next[slot] = m->buckets[h];
    m->buckets[h] = slot;
    m->used[slot] = 1;
    return &m->vals[slot];
}

static void map_del(span_map *m, const char *key)
{
    for (int i = m->buckets[key_hash(key)]; i >= 0; i = m->next[i])
        if (strcmp(m->keys[i], key) == 0) {
            map_unlink(m, i);
            return;
        }
}

/* ---- the sink ---- */

typedef struct otlp {
    httpc *http;
    char *logs_url, *traces_url;
    char resource[1024]; /* "resource":{...},"scope...":{...} prefix pieces */
    span_map requests;   /* request_id -> exchange opened by ai.request */
    span_map responses;  /* ai.response event_id -> its exchange (tool parents) */
    span_map tools;      /* call_id -> tool span opened by agent.tool_call */
    sbuf logs, spans;
    size_t nspans;
    int logs_done, spans_done;
    uint64_t spans_rejected;
} otlp;

static void resource_json(otlp *o)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    sbuf b = {0};
    int first = 1;
    sb_puts(&b, "\"resource\":{\"attributes\":[");
    attr_str(&b, &first, "service.name", OISP_COLLECTOR);
    attr_str(&b, &first, "service.version", OISP_SENSOR_VERSION);
    attr_str(&b, &first, "host.name", host);
    sb_puts(&b, "]}");
    snprintf(o->resource, sizeof(o->resource), "%s", b.p ? b.p : "\"resource\":{}");
    free(b.p);
}

static void scope_json(sbuf *b)
{
    sb_puts(b, "\"scope\":{\"name\":\"" OISP_COLLECTOR "\",\"version\":\"" OISP_SENSOR_VERSION "\"}");
}

/* The exchange (trace id, chat span id) an event belongs to, if any.
 * Updates the maps in event order; emits spans into o->spans. */
typedef struct ex_link {
    char trace_id[33], span_id[17];
    const open_span *ex; /* exchange info for attributes, may be NULL */
} ex_link;

static void span_json(otlp *o, const char *name, const open_span *s, uint64_t end_ns,
                      const otlp_extra *resp, uint32_t pid, const char *op, int error)
{
    sbuf *b = &o->spans;
    sb_puts(b, o->nspans++ ? ",{" : "{");
    sb_puts(b, "\"traceId\":\"");
    sb_puts(b, s->trace_id);
    sb_puts(b, "\",\"spanId\":\"");
    sb_puts(b, s->span_id);
    sb_puts(b, "\",");
    if (s->parent_id[0]) {
        sb_puts(b, "\"parentSpanId\":\"");
        sb_puts(b, s->parent_id);
        sb_puts(b, "\",");
    }
    sb_puts(b, "\"name\":");
    sb_cstr(b, name);
    sb_puts(b, ",\"kind\":");
    sb_puts(b, strcmp(op, "chat") == 0 ? "3" : "1"); /* CLIENT, INTERNAL */
    sb_puts(b, ",\"startTimeUnixNano\":");
    sb_u64q(b, s->start_ns);
    sb_puts(b, ",\"endTimeUnixNano\":");
    sb_u64q(b, end_ns >= s->start_ns ? end_ns : s->start_ns);
    sb_puts(b, ",\"attributes\":[");
    int first = 1;
    attr_str(b, &first, "gen_ai.operation.name", op);
    attr_str(b, &first, "gen_ai.system", s->system);
    if (strcmp(op, "chat") == 0) {
        attr_str(b, &first, "gen_ai.request.model", s->model);
        attr_str(b, &first, "gen_ai.response.model", resp ? resp->model : NULL);
        attr_int(b, &first, "gen_ai.usage.input_tokens", resp ? resp->in_tok : -1);
        attr_int(b, &first, "gen_ai.usage.output_tokens", resp ? resp->out_tok : -1);
        attr_str_array(b, &first, "gen_ai.response.finish_reasons", resp ? resp->finish : NULL);
    } else {
        attr_str(b, &first, "gen_ai.tool.name", s->tool);
    }
    attr_int(b, &first, "process.pid", pid);
    sb_puts(b, error ? "],\"status\":{\"code\":2}}" : "],\"status\":{}}");
}

static void chat_name(char *out, size_t n, const char *model)
{
    snprintf(out, n, "chat%s%s", model[0] ? " " : "", model);
}

static void link_exchange(otlp *o, const deliver_item *it, const otlp_extra *x, ex_link *l)
{
    memset(l, 0, sizeof(*l));
    int is_req = strcmp(it->type, "ai.request") == 0, is_resp = strcmp(it->type, "ai.response") == 0;
    if ((is_req || is_resp) && x->request_id[0]) {
        open_span *ex = map_get(&o->requests, x->request_id);
        if (is_req || !ex) {
            ex = map_put(&o->requests, x->request_id);
            if (x->trace_id[0])
                memcpy(ex->trace_id, x->trace_id, 33);
            else
                derive_id("oisp-trace:", x->request_id, 16, ex->trace_id);
            derive_id("oisp-span:", x->request_id, 8, ex->span_id);
            snprintf(ex->model, sizeof(ex->model), "%s", x->model);
            snprintf(ex->system, sizeof(ex->system), "%s", x->system);
            ex->start_ns = x->ts_ns;
            if (is_resp && x->latency_ms >= 0 && x->ts_ns > (uint64_t)x->latency_ms * 1000000ull)
                ex->start_ns = x->ts_ns - (uint64_t)x->latency_ms * 1000000ull;
        }
        memcpy(l->trace_id, ex->trace_id, 33);
        memcpy(l->span_id, ex->span_id, 17);
        l->ex = ex;
        if (is_resp) {
            char name[160];
            chat_name(name, sizeof(name), ex->model[0] ? ex->model : x->model);
            span_json(o, name, ex, x->ts_ns, x, it->pid, "chat", x->failed);
            open_span *r = map_put(&o->responses, it->event_id);
            *r = *ex;
            map_del(&o->requests, x->request_id); /* ex (and l->ex) stay valid until the next put */
        }
        return;
    }
    if (strcmp(it->type, "agent.tool_call") == 0) {
        const open_span *parent = x->cause[0] ? map_get(&o->responses, x->cause) : NULL;
        const char *key = x->call_id[0] ? x->call_id : it->event_id;
        open_span *t = map_put(&o->tools, key);
        if (parent) {
            memcpy(t->trace_id, parent->trace_id, 33);
            memcpy(t->parent_id, parent->span_id, 17);
            snprintf(t->system, sizeof(t->system), "%s", parent->system);
        } else {
            derive_id("oisp-trace:", key, 16, t->trace_id);
        }
        derive_id("oisp-tool-span:", key, 8, t->span_id);
        snprintf(t->tool, sizeof(t->tool), "%s", x->tool);
        t->start_ns = x->ts_ns;
        memcpy(l->trace_id, t->trace_id, 33);
        memcpy(l->span_id, t->span_id, 17);
        return;
    }
    if (strcmp(it->type, "agent.tool_result") == 0) {
        const char *key = x->call_id[0] ? x->call_id : x->cause;
        open_span *t = key[0] ? map_get(&o->tools, key) : NULL;
        if (!t)
            return;
        char name[160];
        snprintf(name, sizeof(name), "execute_tool %s", t->tool[0] ? t->tool : x->tool);
        span_json(o, name, t, x->ts_ns, NULL, it->pid, "execute_tool", x->failed);
        memcpy(l->trace_id, t->trace_id, 33);
        memcpy(l->span_id, t->span_id, 17);
        map_del(&o->tools, key);
    }
}

static void log_record_json(otlp *o, const deliver_item *it, const otlp_extra *x, const ex_link *l,
                            uint64_t observed_ns, int first_rec)
{
    sbuf *b = &o->logs;
    sb_puts(b, first_rec ? "{" : ",{");
    sb_puts(b, "\"timeUnixNano\":");
    sb_u64q(b, x->ts_ns ? x->ts_ns : observed_ns);
    sb_puts(b, ",\"observedTimeUnixNano\":");
    sb_u64q(b, observed_ns);
    sb_puts(b, ",\"severityNumber\":9,\"severityText\":\"INFO\",\"body\":{\"stringValue\":");
    sb_str(b, it->line, it->len);
    sb_puts(b, "},\"attributes\":[");
    int first = 1;
    int is_resp = strcmp(it->type, "ai.response") == 0;
    attr_str(b, &first, "event.name", it->type);
    attr_str(b, &first, "oisp.event_type", it->type);
    attr_str(b, &first, "oisp.event_id", it->event_id);
    attr_str(b, &first, "gen_ai.system", x->system[0] ? x->system : (l->ex ? l->ex->system : NULL));
    if (is_resp) {
        attr_str(b, &first, "gen_ai.request.model", l->ex ? l->ex->model : NULL);
        attr_str(b, &first, "gen_ai.response.model", x->model);
    } else if (strcmp(it->type, "ai.request") == 0) {
        attr_str(b, &first, "gen_ai.request.model", x->model);
    }
    attr_int(b, &first, "gen_ai.usage.input_tokens", x->in_tok);
    attr_int(b, &first, "gen_ai.usage.output_tokens", x->out_tok);
    attr_str_array(b, &first, "gen_ai.response.finish_reasons", x->finish);
    attr_str(b, &first, "gen_ai.tool.name", x->tool);
    attr_str(b, &first, "gen_ai.tool.call.id", x->call_id);
    attr_int(b, &first, "process.pid", it->pid ? (int64_t)it->pid : -1);
    sb_puts(b, "]");
    if (l->trace_id[0]) {
        sb_puts(b, ",\"traceId\":\"");
        sb_puts(b, l->trace_id);
        sb_puts(b, "\",\"spanId\":\"");
        sb_puts(b, l->span_id);
        sb_puts(b, "\"");
    }
    sb_puts(b, "}");
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Both request bodies for a fresh batch. */
static void build_bodies(otlp *o, deliver_item **items, size_t n)
{
    o->logs.len = o->spans.len = 0;
    o->logs.oom = o->spans.oom = 0;
    o->nspans = 0;
    sb_puts(&o->logs, "{\"resourceLogs\":[{");
    sb_puts(&o->logs, o->resource);
    sb_puts(&o->logs, ",\"scopeLogs\":[{");
    scope_json(&o->logs);
    sb_puts(&o->logs, ",\"logRecords\":[");
    sb_puts(&o->spans, "{\"resourceSpans\":[{");
    sb_puts(&o->spans, o->resource);
    sb_puts(&o->spans, ",\"scopeSpans\":[{");
    scope_json(&o->spans);
    sb_puts(&o->spans, ",\"spans\":[");
    uint64_t observed = wall_ns();
    static const otlp_extra none = {.in_tok = -1, .out_tok = -1, .latency_ms = -1};
    for (size_t i = 0; i < n; i++) {
        const otlp_extra *x = items[i]->extra ? items[i]->extra : &none;
        ex_link l;
        link_exchange(o, items[i], x, &l);
        log_record_json(o, items[i], x, &l, observed, i == 0);
    }
    sb_puts(&o->logs, "]}]}]}");
    sb_puts(&o->spans, "]}]}]}");
}

static void otlp_send(void *ctx, deliver_item **items, size_t n, unsigned attempt, int timeout_ms,
                      uint8_t *res, char *err, size_t errlen)
{
    otlp *o = ctx;
    if (attempt == 0) {
        build_bodies(o, items, n);
        o->logs_done = 0;
        o->spans_done = o->nspans == 0;
    }
    if (o->logs.oom || o->spans.oom) {
        snprintf(err, errlen, "out of memory");
        return; /* RETRY; bodies are rebuilt only for a fresh batch, so drop them */
    }
    long status;
    if (!o->logs_done) {
        int r = httpc_post(o->http, o->logs_url, o->logs.p, o->logs.len, timeout_ms, &status, err,
                           errlen);
        if (r != DELIVER_OK) {
            memset(res, r, n);
            return;
        }
        o->logs_done = 1;
    }
    if (!o->spans_done) {
        char serr[256];
        int r = httpc_post(o->http, o->traces_url, o->spans.p, o->spans.len, timeout_ms, &status,
                           serr, sizeof(serr));
        if (r == DELIVER_RETRY) {
            snprintf(err, errlen, "traces: %s", serr);
            memset(res, DELIVER_RETRY, n);
            return;
        }
        if (r == DELIVER_FAIL)
            o->spans_rejected++; /* the events themselves are delivered as logs */
        o->spans_done = 1;
    }
    memset(res, DELIVER_OK, n);
}

static void otlp_free(void *ctx)
{
    otlp *o = ctx;
    if (!o)
        return;
    httpc_free(o->http);
    free(o->logs_url);
    free(o->traces_url);
    free(o->logs.p);
    free(o->spans.p);
    free(o);
}

void sink_otlp_config_default(sink_otlp_config *c)
{
    memset(c, 0, sizeof(*c));
    c->timeout_ms = 10000;
    deliver_opts_default(&c->d);
}

static char *join_url(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    char *u = malloc(n + strlen(path) + 1);
    if (u) {
        memcpy(u, base, n);
        strcpy(u + n, path);
    }
    return u;
}

static int add_headers(otlp *o, const sink_otlp_config *c, char *err, size_t errlen)
{
    char line[4096];
    for (size_t i = 0; i < c->nheaders; i++) {
        const char *eq = strchr(c->headers[i], '=');
        if (!eq || eq == c->headers[i]) {
            snprintf(err, errlen, "header '%s': expected NAME=VALUE", c->headers[i]);
            return -1;
        }
        snprintf(line, sizeof(line), "%.*s: %s", (int)(eq - c->headers[i]), c->headers[i], eq + 1);
        if (httpc_add_header(o->http, line))
            goto oom;
    }
    if (c->token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", c->token);
        if (httpc_add_header(o->http, line))
            goto oom;
    }
    if (httpc_add_header(o->http, "Content-Type: application/json"))
        goto oom;
    httpc_set_gzip(o->http, c->gzip);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

sink *sink_otlp_new(const sink_otlp_config *c, char *err, size_t errlen)
{
    if (!c->url) {
        snprintf(err, errlen, "no URL");
        return NULL;
    }
    otlp *o = calloc(1, sizeof(*o));
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    map_init(&o->requests);
    map_init(&o->responses);
    map_init(&o->tools);
    resource_json(o);
    o->logs_url = join_url(c->url, "/v1/logs");
    o->traces_url = join_url(c->url, "/v1/traces");
    o->http = httpc_new(c->url, err, errlen);
    if (!o->http || !o->logs_url || !o->traces_url || add_headers(o, c, err, errlen)) {
        if (o->http && (!o->logs_url || !o->traces_url))
            snprintf(err, errlen, "out of memory");
        otlp_free(o);
        return NULL;
    }
    deliver_opts d = c->d;
    if (c->timeout_ms > 0)
        d.send_timeout_ms = c->timeout_ms;
    deliver_ops ops = {.send = otlp_send, .extract = otlp_extract,
                       .extra_size = sizeof(otlp_extra), .free = otlp_free};
    deliver *dl = deliver_new("otlp", c->url, &d, &ops, o, err, errlen);
    if (!dl)
        return NULL;
    char name[64];
    snprintf(name, sizeof(name), "otlp:%s", c->url);
    sink *s = deliver_sink_new("otlp", name, dl);
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

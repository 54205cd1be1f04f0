/* correlate.c: agent correlation (see correlate.h).
 *
 * State is small and bounded: a table of pending tool calls (each with
 * the ids of the host events it caused, capped) and a table of agents'
 * current traces.  Looking up the agent of a host event walks the event's
 * process up through its parents (proc_cache_parent) until it meets a
 * process with pending calls, at most ANCESTRY_MAX steps.
 *
 * Every lookup scans a compact key array beside each table (a call's
 * agent, age and call-id hash; an agent's pid and age), never the large
 * entries themselves: with the tables full, a scan reads 24 KB instead of
 * 400 KB, and a call id is compared only when its hash matches.  Host
 * events walk up to ANCESTRY_MAX processes, and most of those have no
 * pending call and no agent slot: a count per pid bucket of each table
 * says so without a scan (with --all-processes the scans were 15% of the
 * sensor's CPU in an exec storm). */
#include "events/correlate.h"

#include "util/sha256.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/event.h"
#include "events/secrets.h"
#include "util/fastrand.h"
#include "util/jsonu.h"
#include "util/texthash.h"

#define PENDING_MAX 1024
#define AGENTS_MAX 1024
#define LINKS_MAX 256
#define ANCESTRY_MAX 16
#define PID_BUCKETS 4096 /* per-bucket counts of the pids in each table */
#define PREVIEW_MAX 200

typedef struct pending_call {
    uint64_t ts;
    char call_id[128];
    char tool[128];
    char event_id[27];
    char trace_id[33];
    char (*links)[27]; /* host events caused, up to LINKS_MAX */
    size_t nlinks;
    uint64_t links_dropped;
} pending_call;

typedef struct agent_trace { /* its pid is in akeys, where scans look */
    char trace_id[33];
} agent_trace;

/* What scans look at, per pending call; hash 0 marks a free slot. */
typedef struct call_key {
    uint64_t ts;
    uint32_t agent;
    uint32_t hash;
} call_key;

/* What scans look at, per agent slot (its pid and last activity). */
typedef struct agent_key {
    uint64_t last;
    uint32_t pid;
} agent_key;

struct correlator {
    proc_cache *pc;
    json_t *host;
    pending_call calls[PENDING_MAX];
    call_key keys[PENDING_MAX];
    agent_trace agents[AGENTS_MAX];
    agent_key akeys[AGENTS_MAX];
    size_t npending; /* used slots in calls */
    uint16_t calls_of[PID_BUCKETS];  /* pending calls per agent pid bucket */
    uint16_t agents_of[PID_BUCKETS]; /* agent slots per pid bucket */
    size_t cursor;   /* where new_call looks first */
    corr_stats st;
};

correlator *corr_new(proc_cache *pc, json_t *host)
{
    correlator *c = calloc(1, sizeof(*c));
    if (c) {
        c->pc = pc;
        c->host = host;
    }
    return c;
}

/* FNV-1a of a call id, never 0 (0 marks a free slot). */
static uint32_t call_hash(const char *id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h | 1;
}

static size_t pid_bucket(uint32_t pid) { return pid % PID_BUCKETS; }

static void drop_call(correlator *c, size_t i)
{
    if (c->keys[i].hash) {
        c->npending--;
        c->calls_of[pid_bucket(c->keys[i].agent)]--;
    }
    free(c->calls[i].links);
    memset(&c->calls[i], 0, sizeof(c->calls[i]));
    memset(&c->keys[i], 0, sizeof(c->keys[i]));
}

void corr_free(correlator *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < PENDING_MAX; i++)
        drop_call(c, i);
    free(c);
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = 0;
}

static void random_span(char out[17])
{
    uint64_t v = fastrand64();
    unsigned char b[8];
    memcpy(b, &v, sizeof(b));
    hex(b, sizeof(b), out);
}

static const json_t *first_user_text(const json_t *msgs)
{
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        if (strcmp(json_string_value(json_object_get(m, "role")) ?: "", "user") == 0) {
            const json_t *t = json_object_get(m, "content");
            return json_is_string(t) ? t : NULL;
        }
    }
    return NULL;
}

/* trace id = hash(pid, exe, system prompt hash, hash of the first user
 * message): stable across the turns of one conversation.  A fast hash, not
 * SHA-256: the first message is often most of a request, and this is a key,
 * not a fingerprint anyone checks. */
static void conversation_trace(correlator *c, uint32_t pid, const json_t *data, char out[33])
{
    const json_t *proc = proc_cache_get(c->pc, pid);
    const char *exe = json_string_value(json_object_get(proc, "exe"));
    const char *sys = json_string_value(json_object_get(data, "system_prompt_hash"));
    const json_t *u = first_user_text(json_object_get(data, "messages"));
    texthash h = {0, 0};
    if (u)
        h = texthash_of(json_string_value(u), json_string_length(u));
    char key[1024];
    int n = snprintf(key, sizeof(key), "%u\n%.500s\n%.100s\n%016" PRIx64 "%016" PRIx64, pid,
                     exe ? exe : "", sys ? sys : "", h.hi, h.lo);
    h = texthash_of(key, n > 0 ? (size_t)n : 0);
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, h.hi, h.lo);
}

static agent_trace *agent_slot(correlator *c, uint32_t pid, int create)
{
    if (!create && !c->agents_of[pid_bucket(pid)])
        return NULL;
    size_t oldest = 0;
    for (size_t i = 0; i < AGENTS_MAX; i++) {
        if (c->akeys[i].pid == pid)
            return &c->agents[i];
        if (c->akeys[i].last < c->akeys[oldest].last)
            oldest = i;
    }
    if (!create)
        return NULL;
    if (c->akeys[oldest].pid)
        c->agents_of[pid_bucket(c->akeys[oldest].pid)]--;
    c->agents_of[pid_bucket(pid)]++;
    memset(&c->agents[oldest], 0, sizeof(c->agents[oldest]));
    c->akeys[oldest].pid = pid;
    c->akeys[oldest].last = 0;
    return &c->agents[oldest];
}

static void agent_touch(correlator *c, agent_trace *a, uint64_t ts)
{
    c->akeys[a - c->agents].last = ts;
}

void corr_set_trace(json_t *ev, const char *trace_id)
{
    char span[17];
    random_span(span);
    json_object_set_new(ev, "trace_context", json_pack("{s:s,s:s}", "trace_id", trace_id,
                                                       "span_id", span));
}

static void add_related(json_t *ev, const char *id, const char *rel)
{
    json_t *arr = json_object_get(ev, "related_events");
    if (!arr) {
        arr = json_array();
        json_object_set_new(ev, "related_events", arr);
    }
    json_array_append_new(arr, json_pack("{s:s,s:s}", "event_id", id, "relationship", rel));
}

/* The slot of a pending call, or -1. */
static ssize_t find_call(correlator *c, const char *call_id)
{
    uint32_t h = call_hash(call_id);
    for (size_t i = 0; i < PENDING_MAX; i++)
        if (c->keys[i].hash == h && strcmp(c->calls[i].call_id, call_id) == 0)
            return (ssize_t)i;
    return -1;
}

static json_t *tool_result_event(correlator *c, const json_t *req_ev, uint64_t ts,
                                 pending_call *p, const json_t *msg)
{
    json_t *ev = event_new("agent.tool_result", ts, "ebpf_uprobe", "ssl_write", c->host, NULL);
    json_t *proc = json_object_get(req_ev, "process");
    if (proc)
        json_object_set(ev, "process", proc);
    json_t *d = json_object();
    json_object_set_new(d, "call_id", json_string(p->call_id));
    json_object_set_new(d, "tool", json_pack("{s:s}", "name", p->tool));
    json_object_set_new(d, "success", json_boolean(!json_is_true(json_object_get(msg, "is_error"))));
    const char *content = json_string_value(json_object_get(msg, "content"));
    if (content) {
        size_t n = strlen(content);
        unsigned char md[SHA256_LEN];
        char h[72] = "sha256:";
        sha256(content, n, md);
        hex(md, sizeof(md), h + 7);
        json_object_set_new(d, "result_hash", json_string(h));
        json_object_set_new(d, "result_size_bytes", json_integer((json_int_t)n));
        size_t cut = jsonu_utf8_valid_prefix(content, n < PREVIEW_MAX ? n : PREVIEW_MAX);
        size_t mlen;
        char *masked = secrets_mask(content, cut, &mlen);
        json_object_set_new(d, "result", masked ? jsonu_string_lossy(masked, mlen)
                                                : jsonu_string_lossy(content, cut));
        free(masked);
    }
    json_object_set_new(d, "duration_ms", json_integer((json_int_t)((ts - p->ts) / 1000000)));
    json_object_set_new(ev, "data", d);
    add_related(ev, p->event_id, "parent");
    for (size_t i = 0; i < p->nlinks; i++)
        add_related(ev, p->links[i], "causes");
    if (p->links_dropped)
        json_object_set_new(ev, "attrs", json_pack("{s:I}", "related_events_dropped",
                                                   (json_int_t)p->links_dropped));
    corr_set_trace(ev, p->trace_id);
    return ev;
}

void corr_request(correlator *c, uint32_t pid, uint64_t ts, json_t *req_ev, corr_emit_fn emit,
                  void *ctx)
{
    json_t *data = json_object_get(req_ev, "data");
    char trace[33];
    conversation_trace(c, pid, data, trace);
    char conv[24];
    snprintf(conv, sizeof(conv), "conv_%.16s", trace);
    json_object_set_new(data, "conversation_id", json_string(conv));
    corr_set_trace(req_ev, trace);
    agent_trace *a = agent_slot(c, pid, 1);
    memcpy(a->trace_id, trace, sizeof(trace));
    agent_touch(c, a, ts);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(data, "messages"), i, m) {
        const char *id = json_string_value(json_object_get(m, "tool_call_id"));
        ssize_t k = id ? find_call(c, id) : -1;
        if (k < 0)
            continue;
        emit(ctx, tool_result_event(c, req_ev, ts, &c->calls[k], m));
        c->st.tool_results++;
        drop_call(c, (size_t)k);
    }
}

static const char *tool_type(const char *name)
{
    static const struct { const char *needle, *type; } map[] = {
        {"bash", "shell"},   {"shell", "shell"},       {"exec", "shell"},   {"command", "shell"},
        {"terminal", "terminal"}, {"write", "file_write"}, {"edit", "file_edit"},
        {"read", "file_read"}, {"fetch", "http"},      {"http", "http"},    {"search", "search"},
        {"browse", "browser"}, {"sql", "database"},    {"python", "code_execution"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasestr(name, map[i].needle))
            return map[i].type;
    return "other";
}

/* A free slot, or, with the table full, the oldest call's, which is
 * dropped and counted.  Slots are handed out round-robin from a cursor,
 * so when the table is full the slot under the cursor holds the call
 * made PENDING_MAX calls ago: the oldest, found without a scan. */
static size_t new_call(correlator *c)
{
    size_t i = c->cursor;
    if (c->npending == PENDING_MAX) {
        c->st.dropped_pending++;
        drop_call(c, i);
    } else {
        while (c->keys[i].hash)
            i = (i + 1) % PENDING_MAX;
    }
    c->cursor = (i + 1) % PENDING_MAX;
    c->npending++;
    return i;
}

static void emit_tool_call(correlator *c, uint32_t pid, uint64_t ts, const json_t *resp_ev,
                           const json_t *call, const char *trace, corr_emit_fn emit, void *ctx)
{
    const char *name = json_string_value(json_object_get(call, "name"));
    const char *id = json_string_value(json_object_get(call, "id"));
    const char *resp_id = json_string_value(json_object_get(resp_ev, "event_id"));
    if (!name || !resp_id)
        return;
    char id_buf[64], ev_id[27];
    json_t *ev = event_new("agent.tool_call", ts, "ebpf_uprobe", "ssl_read", c->host, ev_id);
    if (!id) { /* Gemini's function calls carry no id */
        snprintf(id_buf, sizeof(id_buf), "call_%s", ev_id);
        id = id_buf;
    }
    json_t *proc = json_object_get(resp_ev, "process");
    if (proc)
        json_object_set(ev, "process", proc);
    json_t *args = json_object_get(call, "arguments");
    json_t *d = json_pack("{s:{s:s,s:s},s:s,s:s}", "tool", "name", name, "type", tool_type(name),
                          "call_id", id, "triggered_by", "llm_decision");
    if (json_is_object(args))
        json_object_set(d, "arguments", args);
    else if (json_is_string(args))
        json_object_set_new(d, "arguments", json_pack("{s:O}", "raw", args));
    const char *ah = json_string_value(json_object_get(call, "arguments_hash"));
    if (ah)
        json_object_set_new(d, "arguments_hash", json_string(ah));
    json_object_set_new(ev, "data", d);
    add_related(ev, resp_id, "caused_by");
    corr_set_trace(ev, trace);
    size_t k = new_call(c);
    pending_call *p = &c->calls[k];
    p->ts = ts;
    snprintf(p->call_id, sizeof(p->call_id), "%.127s", id);
    c->keys[k] = (call_key){.ts = ts, .agent = pid, .hash = call_hash(p->call_id)};
    c->calls_of[pid_bucket(pid)]++;
    snprintf(p->tool, sizeof(p->tool), "%.127s", name);
    memcpy(p->event_id, ev_id, sizeof(ev_id));
    snprintf(p->trace_id, sizeof(p->trace_id), "%.32s", trace);
    c->st.tool_calls++;
    emit(ctx, ev);
}

void corr_response(correlator *c, uint32_t pid, uint64_t ts, const json_t *resp_ev,
                   corr_emit_fn emit, void *ctx)
{
    const char *trace =
        json_string_value(json_object_get(json_object_get(resp_ev, "trace_context"), "trace_id"));
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(json_object_get(resp_ev, "data"), "tool_calls"), i, call)
        emit_tool_call(c, pid, ts, resp_ev, call, trace ? trace : "", emit, ctx);
}

static void link_call(pending_call *p, const char *event_id)
{
    if (!p->links)
        p->links = calloc(LINKS_MAX, sizeof(*p->links));
    if (!p->links || p->nlinks == LINKS_MAX) {
        p->links_dropped++;
        return;
    }
    memcpy(p->links[p->nlinks++], event_id, 27);
}

void corr_host(correlator *c, uint32_t pid, json_t *ev)
{
    const char *id = json_string_value(json_object_get(ev, "event_id"));
    uint32_t p = pid;
    for (int depth = 0; depth < ANCESTRY_MAX && p > 1; depth++) {
        int linked = 0;
        for (size_t i = 0; c->calls_of[pid_bucket(p)] && i < PENDING_MAX; i++) {
            if (!c->keys[i].hash || c->keys[i].agent != p)
                continue;
            pending_call *pc = &c->calls[i];
            if (!linked)
                corr_set_trace(ev, pc->trace_id);
            add_related(ev, pc->event_id, "caused_by");
            link_call(pc, id);
            linked = 1;
        }
        if (linked) {
            c->st.host_linked++;
            return;
        }
        agent_trace *a = agent_slot(c, p, 0);
        if (a && a->trace_id[0]) { /* in an agent's tree, no call pending */
            corr_set_trace(ev, a->trace_id);
            return;
        }
        p = proc_cache_parent(c->pc, p);
    }
}

void corr_expire(correlator *c, uint64_t now, uint64_t max_age_ns)
{
    for (size_t i = 0; i < PENDING_MAX; i++)
        if (c->keys[i].hash && now > c->keys[i].ts + max_age_ns) {
            drop_call(c, i);
            c->st.expired++;
        }
}

void corr_get_stats(const correlator *c, corr_stats *out) { *out = c->st; }

/* test_analyze.c: tests for src/cli/analyze.c and src/cli/prices.c
 * (`oisp-sensor analyze traces|inventory|costs`).
 *
 * Fixtures in tests/data/analyze/ (valid OISP events, checked with
 * oisp-validate by one of the tests):
 *   agent.jsonl      an agent conversation (3 LLM calls, 3 tool calls and the
 *                    execs, file and network events they caused), a second
 *                    trace, untraced events; a tool_result and an ai.response
 *                    come before their tool_call and ai.request in the file
 *   costs.jsonl      priced and unpriced models, cached/reasoning/cache-write
 *                    tokens, a response before its request, a request without
 *                    response, a response without request, inbound views
 *   malformed.jsonl  good events between bad lines (not validated)
 *   *-traces.txt, *-inventory.txt, costs-builtin.txt: expected text output
 *   bundle-*.json    small v1/v2 bundles and broken ones
 * The real OISP bundles are read from ../../../shared/oisp-spec/bundles/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/analyze.h"
#include "cli/prices.h"

#define DATA "../data/analyze/"
#define BUNDLES "../../../shared/oisp-spec/bundles/"
#define VALIDATE "../../../shared/tools/oisp-validate"

/* ---- helpers ---- */

static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len_out)
        *len_out = (size_t)n;
    return buf;
}

/* Runs a report over a file; returns its output (caller frees). */
static char *run_path(const analyze_opts *o, const char *path, analyze_stats *st)
{
    char *out = NULL;
    size_t outlen = 0;
    int opened;
    analyze_stats local;
    FILE *mem = open_memstream(&out, &outlen);
    assert_non_null(mem);
    assert_int_equal(analyze_path(o, path, mem, st ? st : &local, &opened), 0);
    assert_true(opened);
    fclose(mem);
    return out;
}

/* Runs a report over lines given in memory (no trailing newline needed). */
typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static void lines_add(lines *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    l->v[l->n] = strdup(s);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static lines lines_of_file(const char *path)
{
    lines l = {0};
    size_t len;
    char *buf = read_file(path, &len);
    for (char *p = buf, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl) {
            lines_add(&l, p);
            break;
        }
        *nl = '\0';
        lines_add(&l, p);
    }
    free(buf);
    return l;
}

static char *run_lines(const analyze_opts *o, const lines *l, const size_t *order,
                       analyze_stats *st)
{
    char *out = NULL;
    size_t outlen = 0;
    FILE *mem = open_memstream(&out, &outlen);
    assert_non_null(mem);
    analyzer *a = analyzer_new(o, mem);
    assert_non_null(a);
    for (size_t i = 0; i < l->n; i++) {
        const char *s = l->v[order ? order[i] : i];
        analyzer_line(a, s, strlen(s));
    }
    analyzer_end(a);
    if (st)
        analyzer_stats(a, st);
    analyzer_free(a);
    fclose(mem);
    return out;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void assert_same_text(const char *got, const char *want)
{
    if (strcmp(got, want) == 0)
        return;
    size_t i = 0;
    while (got[i] && got[i] == want[i])
        i++;
    size_t from = i > 120 ? i - 120 : 0;
    fail_msg("output differs at byte %zu:\n--- got (from byte %zu):\n%.300s\n--- want:\n%.300s",
             i, from, got + from, want + from);
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static analyze_opts opts_of(analyze_report r)
{
    analyze_opts o = {.report = r};
    return o;
}

/* The JSON document of a report (inventory, costs). */
static json_t *run_json(analyze_opts o, const char *path)
{
    json_error_t err;
    o.json = 1;
    char *out = run_path(&o, path, NULL);
    json_t *doc = json_loads(out, 0, &err);
    if (!doc)
        fail_msg("not JSON (%s): %s", err.text, out);
    free(out);
    return doc;
}

/* The element of a JSON array whose field key equals val. */
static json_t *find_by(json_t *arr, const char *key, const char *val)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        json_t *v = json_object_get(e, key);
        if (json_is_string(v) && strcmp(json_string_value(v), val) == 0)
            return e;
    }
    fail_msg("no element with %s=%s", key, val);
    return NULL;
}

static long long jint_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", key);
    return (long long)json_integer_value(v);
}

static double jnum_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("%s is not a number", key);
    return json_number_value(v);
}

static void assert_usd(double got, double want)
{
    if (fabs(got - want) > 1e-12)
        fail_msg("USD %.12f, want %.12f", got, want);
}

/* ---- traces ---- */

static void test_traces_agent_tree(void **state)
{
    (void)state;
    analyze_opts o = opts_of(ANALYZE_TRACES);
    analyze_stats st;
    char *out = run_path(&o, DATA "agent.jsonl", &st);
    char *want = read_file(DATA "agent-traces.txt", NULL);
    assert_same_text(out, want);
    assert_int_equal(st.events, 24);
    assert_int_equal(st.traces, 3);
    assert_int_equal(st.traces_early, 0);
    free(out);
    free(want);
}

/* The tree does not depend on the order of the lines: reversed, and
 * interleaved from both ends, give the same output. */
static void test_traces_any_order(void **state)
{
    (void)state;
    analyze_opts o = opts_of(ANALYZE_TRACES);
    lines l = lines_of_file(DATA "agent.jsonl");
    size_t *rev = malloc(l.n * sizeof(size_t)), *mix = malloc(l.n * sizeof(size_t));
    for (size_t i = 0; i < l.n; i++) {
        rev[i] = l.n - 1 - i;
        mix[i] = i % 2 ? l.n - 1 - i / 2 : i / 2;
    }
    char *want = read_file(DATA "agent-traces.txt", NULL);
    char *a = run_lines(&o, &l, rev, NULL), *b = run_lines(&o, &l, mix, NULL);
    assert_same_text(a, want);
    assert_same_text(b, want);
    free(a);
    free(b);
    free(want);
    free(rev);
    free(mix);
    lines_free(&l);
}

static void test_traces_ascii(void **state)
{
    (void)state;
    analyze_opts o = opts_of(ANALYZE_TRACES);
    o.ascii = 1;
    char *out = run_path(&o, DATA "agent.jsonl", NULL);
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        assert_true(*p < 0x80);
    assert_contains(out, "|  |  |- +853.5 ms  exec sh -c 'ls -la /tmp'  sh[4250]\n");
    assert_contains(out, "|     |- +862.0 ms  rename /tmp/out.txt -> /tmp/report.txt  "
                         "python3[4242]\n");
    assert_contains(out, "`- +1.930 s  LLM openai gpt-4o-2024-08-06  1800->50 tok  570.0 ms  "
                         "HTTP 200  stop\n");
    free(out);
}

static void test_traces_json(void **state)
{
    (void)state;
    analyze_opts o = opts_of(ANALYZE_TRACES);
    json_error_t err;
    o.json = 1;
    char *out = run_path(&o, DATA "agent.jsonl", NULL);
    char *save, *line = strtok_r(out, "\n", &save);
    json_t *groups[3];
    for (int i = 0; i < 3; i++, line = strtok_r(NULL, "\n", &save)) {
        assert_non_null(line);
        groups[i] = json_loads(line, 0, &err);
        assert_non_null(groups[i]);
    }
    assert_null(line);
    /* order: untraced python3 (earliest), trace A, trace B */
    assert_true(json_is_true(json_object_get(groups[0], "untraced")));
    assert_int_equal(jint_at(groups[0], "pid"), 4242);
    json_t *a = groups[1];
    assert_string_equal(json_string_value(json_object_get(a, "trace_id")),
                        "4bf92f3577b34da6a3ce929d0e0e4736");
    json_t *counts = json_object_get(a, "counts");
    assert_int_equal(jint_at(counts, "events"), 20);
    assert_int_equal(jint_at(counts, "llm_calls"), 3);
    assert_int_equal(jint_at(counts, "tool_calls"), 3);
    assert_int_equal(jint_at(counts, "host_events"), 8);
    json_t *items = json_object_get(a, "items");
    assert_int_equal(json_array_size(items), 3);
    json_t *llm = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(llm, "kind")), "llm_call");
    assert_string_equal(json_string_value(json_object_get(llm, "request_id")), "req_1");
    assert_int_equal(jint_at(json_object_get(llm, "usage"), "cached_tokens"), 1024);
    json_t *calls = json_object_get(llm, "children");
    assert_int_equal(json_array_size(calls), 2);
    json_t *c1 = json_array_get(calls, 0);
    assert_string_equal(json_string_value(json_object_get(c1, "tool")), "run_shell");
    assert_string_equal(json_string_value(json_object_get(c1, "arguments")),
                        "{\"command\":\"ls -la /tmp\"}");
    json_t *host = json_object_get(c1, "children");
    assert_int_equal(json_array_size(host), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(host, 0), "event_type")),
                        "process.exec");
    assert_string_equal(json_string_value(json_object_get(json_array_get(host, 0), "args")),
                        "sh -c 'ls -la /tmp'");
    json_t *res = json_object_get(c1, "result");
    assert_true(json_is_true(json_object_get(res, "success")));
    assert_int_equal(jint_at(res, "size_bytes"), 2048);
    assert_true(fabs(jnum_at(res, "offset_ms") - 862.5) < 1e-9);
    json_t *c2host = json_object_get(json_array_get(calls, 1), "children");
    json_t *wr = json_array_get(c2host, 1);
    assert_string_equal(json_string_value(json_object_get(wr, "event_type")), "file.write");
    assert_int_equal(jint_at(wr, "bytes"), 4523);
    json_t *b = groups[2];
    json_t *bl = json_array_get(json_object_get(b, "items"), 0);
    assert_int_equal(jint_at(bl, "status_code"), 429);
    assert_true(json_is_false(json_object_get(bl, "success")));
    for (int i = 0; i < 3; i++)
        json_decref(groups[i]);
    free(out);
}

static void test_traces_filter(void **state)
{
    (void)state;
    analyze_opts o = opts_of(ANALYZE_TRACES);
    analyze_stats st;
    o.trace_id = "0af7651916cd43dd8448eb211c80319c";
    char *out = run_path(&o, DATA "agent.jsonl", &st);
    assert_int_equal(st.traces, 1);
    assert_same_text(out, "trace 0af7651916cd43dd8448eb211c80319c  node[5100]  "
                          "2025-12-22T14:30:16.500000Z  120.1 ms\n"
                          "  1 LLM call, 0 tool calls, 0 host events (2 events)\n"
                          "\xE2\x94\x94\xE2\x94\x80 +0.0 ms  LLM anthropic "
                          "claude-sonnet-4-5-20250929  120.0 ms  error 429\n"
                          "\n1 trace, 24 events\n");
    free(out);
    o.trace_id = "ffffffffffffffffffffffffffffffff";
    out = run_path(&o, DATA "agent.jsonl", &st);
    assert_int_equal(st.traces, 0);
    assert_same_text(out, "no events with trace_id ffffffffffffffffffffffffffffffff\n");
    free(out);
}

/* ---- generated events ---- */

static char *gen_event(const char *type, const char *id, const char *trace, long long ms,
                       const char *data, const char *related)
{
    static char buf[4096];
    long long s = ms / 1000;
    snprintf(buf, sizeof(buf),
             "{\"oisp_version\":\"0.1\",\"event_id\":\"%s\",\"event_type\":\"%s\","
             "\"ts\":\"2025-01-01T%02lld:%02lld:%02lld.%03lld000Z\","
             "\"source\":{\"collector\":\"t\"},\"confidence\":{\"level\":\"high\","
             "\"completeness\":\"full\"},\"process\":{\"pid\":7,\"name\":\"agent\"},"
             "\"trace_context\":{\"trace_id\":\"%s\"},\"data\":%s,\"related_events\":%s}",
             id, type, s / 3600, s / 60 % 60, s % 60, ms % 1000, trace, data,
             related ? related : "[]");
    return buf;
}

/* Same rule as the report: under 1 s in ms with one decimal, else seconds. */
static void offset_text(long long ms, char *out, size_t n)
{
    if (ms < 1000)
        snprintf(out, n, "+%.1f ms", (double)ms);
    else
        snprintf(out, n, "+%.3f s", (double)ms / 1000.0);
}

/* One trace of 300 LLM calls, each with a tool call that causes three file
 * writes and returns a result: 2100 events, fed newest first.  The whole
 * tree is checked line by line. */
static void test_traces_long_trace(void **state)
{
    (void)state;
    enum { CALLS = 300 };
    const char *trace = "11111111111111111111111111111111";
    lines l = {0};
    char id[64], id2[64], data[512], rel[256];
    for (int i = 0; i < CALLS; i++) {
        long long t = i * 100LL;
        snprintf(id, sizeof(id), "q%d", i);
        snprintf(data, sizeof(data), "{\"request_id\":\"r%d\",\"provider\":{\"name\":\"openai\"},"
                                     "\"model\":{\"id\":\"gpt-4o\"}}", i);
        lines_add(&l, gen_event("ai.request", id, trace, t, data, NULL));
        snprintf(id2, sizeof(id2), "p%d", i);
        snprintf(data, sizeof(data), "{\"request_id\":\"r%d\",\"status_code\":200,"
                                     "\"latency_ms\":10,\"usage\":{\"prompt_tokens\":%d,"
                                     "\"completion_tokens\":5},\"tool_calls\":[{\"id\":\"c%d\","
                                     "\"name\":\"save\"}]}", i, 100 + i, i);
        snprintf(rel, sizeof(rel), "[{\"event_id\":\"q%d\",\"relationship\":\"parent\"}]", i);
        lines_add(&l, gen_event("ai.response", id2, trace, t + 10, data, rel));
        snprintf(id, sizeof(id), "k%d", i);
        snprintf(data, sizeof(data), "{\"call_id\":\"c%d\",\"tool\":{\"name\":\"save\"},"
                                     "\"arguments\":{\"n\":%d}}", i, i);
        snprintf(rel, sizeof(rel), "[{\"event_id\":\"p%d\",\"relationship\":\"caused_by\"}]", i);
        lines_add(&l, gen_event("agent.tool_call", id, trace, t + 11, data, rel));
        for (int k = 0; k < 3; k++) {
            snprintf(id2, sizeof(id2), "w%d_%d", i, k);
            snprintf(data, sizeof(data), "{\"path\":\"/tmp/f%d_%d\",\"bytes_written\":%d}", i, k,
                     k + 1);
            snprintf(rel, sizeof(rel), "[{\"event_id\":\"k%d\",\"relationship\":\"caused_by\"}]",
                     i);
            lines_add(&l, gen_event("file.write", id2, trace, t + 12 + k, data, rel));
        }
        snprintf(id2, sizeof(id2), "s%d", i);
        snprintf(data, sizeof(data), "{\"call_id\":\"c%d\",\"success\":true,"
                                     "\"result_size_bytes\":2,\"duration_ms\":4}", i);
        snprintf(rel, sizeof(rel), "[{\"event_id\":\"k%d\",\"relationship\":\"parent\"}]", i);
        lines_add(&l, gen_event("agent.tool_result", id2, trace, t + 15, data, rel));
    }
    size_t *rev = malloc(l.n * sizeof(size_t));
    for (size_t i = 0; i < l.n; i++)
        rev[i] = l.n - 1 - i;
    analyze_opts o = opts_of(ANALYZE_TRACES);
    o.ascii = 1;
    analyze_stats st;
    char *out = run_lines(&o, &l, rev, &st);

    char *want = NULL, off[32];
    size_t wlen = 0;
    FILE *w = open_memstream(&want, &wlen);
    fprintf(w, "trace %s  agent[7]  2025-01-01T00:00:00.000000Z  29.915 s\n", trace);
    fprintf(w, "  300 LLM calls, 300 tool calls, 900 host events (2100 events)\n");
    for (int i = 0; i < CALLS; i++) {
        long long t = i * 100LL;
        int last = i == CALLS - 1;
        const char *pipe = last ? "   " : "|  ";
        offset_text(t, off, sizeof(off));
        fprintf(w, "%s %s  LLM openai gpt-4o  %d->5 tok  10.0 ms  HTTP 200\n",
                last ? "`-" : "|-", off, 100 + i);
        offset_text(t + 11, off, sizeof(off));
        fprintf(w, "%s`- %s  tool save {\"n\":%d}\n", pipe, off, i);
        for (int k = 0; k < 3; k++) {
            offset_text(t + 12 + k, off, sizeof(off));
            fprintf(w, "%s   |- %s  write /tmp/f%d_%d %d B  agent[7]\n", pipe, off, i, k, k + 1);
        }
        offset_text(t + 15, off, sizeof(off));
        fprintf(w, "%s   `- %s  result ok  2 B  in 4.0 ms\n", pipe, off);
    }
    fprintf(w, "\n1 trace, 2100 events\n");
    fclose(w);
    assert_same_text(out, want);
    assert_int_equal(st.traces_early, 0);
    free(out);
    free(want);
    free(rev);
    lines_free(&l);
}

/* 20,000 traces of 10 events with a 1 MiB bound: the summaries held never
 * exceed it, every event is printed exactly once, and a trace whose events
 * come before and after the flood is printed as an early part and a
 * [continued] part. */
static void test_traces_memory_bound(void **state)
{
    (void)state;
    enum { TRACES = 20000, PER = 10 };
    const size_t bound = 1u << 20;
    analyze_opts o = opts_of(ANALYZE_TRACES);
    o.max_memory = bound;
    o.json = 1;
    char *out = NULL, trace[40], id[40], data[128];
    size_t outlen = 0, peak = 0;
    FILE *mem = open_memstream(&out, &outlen);
    analyzer *a = analyzer_new(&o, mem);
    assert_non_null(a);
    const char *early = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    for (int k = 0; k < 3; k++) {
        snprintf(id, sizeof(id), "e%d", k);
        const char *ev = gen_event("file.delete", id, early, k, "{\"path\":\"/x\"}", NULL);
        analyzer_line(a, ev, strlen(ev));
    }
    for (int t = 0; t < TRACES; t++) {
        snprintf(trace, sizeof(trace), "%032x", t + 1);
        for (int i = 0; i < PER; i++) {
            snprintf(id, sizeof(id), "%d_%d", t, i);
            snprintf(data, sizeof(data), "{\"path\":\"/tmp/%d\",\"bytes_written\":%d}", t, i);
            const char *ev = gen_event("file.write", id, trace, 1000 + t, data, NULL);
            analyzer_line(a, ev, strlen(ev));
            size_t m = analyzer_memory(a);
            if (m > peak)
                peak = m;
        }
    }
    const char *ev = gen_event("file.delete", "e9", early, 999999, "{\"path\":\"/y\"}", NULL);
    analyzer_line(a, ev, strlen(ev));
    analyzer_end(a);
    analyze_stats st;
    analyzer_stats(a, &st);
    analyzer_free(a);
    fclose(mem);

    assert_true(peak <= bound);
    assert_true(peak > bound / 2);
    assert_true(st.traces_early > 0);
    assert_int_equal(st.traces_continued, 1);
    size_t events = 0, blocks = 0, early_parts = 0;
    json_error_t err;
    char *save;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *g = json_loads(line, 0, &err);
        assert_non_null(g);
        events += (size_t)jint_at(json_object_get(g, "counts"), "events");
        blocks++;
        json_t *tid = json_object_get(g, "trace_id");
        if (json_is_string(tid) && strcmp(json_string_value(tid), early) == 0) {
            early_parts++;
            assert_true(json_is_true(json_object_get(g, early_parts == 1 ? "printed_early"
                                                                         : "continued")));
        }
        json_decref(g);
    }
    assert_int_equal(events, TRACES * PER + 4);
    assert_int_equal(blocks, st.traces);
    assert_int_equal(early_parts, 2);
    free(out);
}

/* Hostile content: escape sequences, bidi overrides and controls in every
 * field reach the terminal neutralised; broken links and self-links show
 * every event once. */
static void test_traces_hostile(void **state)
{
    (void)state;
    const char *t = "22222222222222222222222222222222";
    lines l = {0};
    lines_add(&l, gen_event("agent.tool_call", "k1", t, 1,
                            "{\"call_id\":\"c1\",\"tool\":{\"name\":\"x\\u001b]0;pwned\\u0007\"},"
                            "\"arguments\":{\"cmd\":\"\\u001b[2J\\u202eevil\\u009b31m\"}}",
                            "[{\"event_id\":\"k1\",\"relationship\":\"caused_by\"}]"));
    lines_add(&l, gen_event("file.write", "w1", t, 2,
                            "{\"path\":\"/tmp/\\u001b[31mred\\nnext\",\"bytes_written\":-5}",
                            "[{\"event_id\":\"w1\",\"relationship\":\"caused_by\"}]"));
    lines_add(&l, gen_event("agent.tool_result", "s1", t, 3, "{\"call_id\":\"c1\"}",
                            "[{\"event_id\":\"s1\",\"relationship\":\"parent\"},"
                            "{\"event_id\":\"s1\",\"relationship\":\"causes\"},"
                            "{\"relationship\":\"causes\"}, 7, null]"));
    lines_add(&l, gen_event("ai.response", "p1", t, 4, "{\"request_id\":\"r1\",\"tool_calls\":7,"
                            "\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":\"many\"}}",
                            "{\"not\":\"an array\"}"));
    lines_add(&l, gen_event("process.exec", "x1", t, 5,
                            "{\"exe\":\"/bin/sh\",\"args\":[\"sh\",1,null,\"\\u0000a\"]}",
                            "[{\"event_id\":\"p1\",\"relationship\":\"caused_by\"}]"));
    analyze_opts o = opts_of(ANALYZE_TRACES);
    analyze_stats st;
    char *out = run_lines(&o, &l, NULL, &st);
    assert_null(strchr(out, '\x1b'));
    assert_null(strchr(out, '\a'));
    assert_null(strstr(out, "\xE2\x80\xAE")); /* U+202E */
    assert_null(strstr(out, "\xC2\x9B"));     /* U+009B */
    assert_contains(out, "tool x^[]0;pwned^G");
    assert_contains(out, "write /tmp/^[[31mred next  agent[7]");
    assert_int_equal(st.events, 5);
    /* header, counts, 5 events, blank, footer */
    assert_int_equal(count_str(out, "\n"), 9);
    free(out);
    lines_free(&l);
}

/* ---- inventory ---- */

static void test_inventory_text(void **state)
{
    (void)state;
    analyze_opts o = opts_of(ANALYZE_INVENTORY);
    char *out = run_path(&o, DATA "agent.jsonl", NULL);
    char *want = read_file(DATA "agent-inventory.txt", NULL);
    assert_same_text(out, want);
    free(out);
    free(want);
}

static void test_inventory_counts(void **state)
{
    (void)state;
    json_t *d = run_json(opts_of(ANALYZE_INVENTORY), DATA "costs.jsonl");
    assert_int_equal(jint_at(d, "events"), 24);
    assert_int_equal(jint_at(d, "requests"), 11); /* 13 pairs, one without request, one inbound */
    assert_int_equal(jint_at(d, "responses"), 11);
    assert_int_equal(jint_at(d, "errors"), 0);
    json_t *prov = json_object_get(d, "providers");
    assert_int_equal(jint_at(find_by(prov, "provider", "openai"), "requests"), 5);
    assert_int_equal(jint_at(find_by(prov, "provider", "deepseek"), "requests"), 1);
    assert_int_equal(json_array_size(prov), 7);
    json_t *models = json_object_get(d, "models");
    json_t *mini = find_by(models, "model", "gpt-4o-mini");
    assert_int_equal(jint_at(mini, "requests"), 2);
    assert_string_equal(json_string_value(json_object_get(mini, "first_seen")),
                        "2025-12-22T14:30:17.000000Z");
    assert_string_equal(json_string_value(json_object_get(mini, "last_seen")),
                        "2025-12-22T14:30:24.000000Z");
    json_t *procs = json_object_get(d, "processes");
    assert_int_equal(jint_at(find_by(procs, "exe", "/usr/bin/python3.11"), "requests"), 8);
    assert_int_equal(jint_at(find_by(procs, "exe", "/usr/bin/node"), "requests"), 3);
    json_t *keys = json_object_get(d, "api_keys");
    assert_int_equal(json_array_size(keys), 1);
    json_t *k = json_array_get(keys, 0);
    assert_string_equal(json_string_value(json_object_get(k, "key_prefix")), "sk-proj-");
    assert_string_equal(json_string_value(json_object_get(k, "key_hash")), "sha256:9f86d081884c");
    assert_int_equal(jint_at(k, "requests"), 5);
    assert_int_equal(jint_at(json_object_get(d, "input"), "inbound_skipped"), 2);
    json_t *types = json_object_get(d, "event_types");
    assert_int_equal(jint_at(find_by(types, "event_type", "ai.request"), "events"), 12);
    json_decref(d);
}

/* No more than ANALYZE_TABLE_MAX rows; the rest goes to "(other)". */
static void test_inventory_table_bound(void **state)
{
    (void)state;
    enum { MODELS = ANALYZE_TABLE_MAX + 904 };
    lines l = {0};
    char data[256], id[32];
    for (int i = 0; i < MODELS; i++) {
        snprintf(id, sizeof(id), "q%d", i);
        snprintf(data, sizeof(data), "{\"request_id\":\"r%d\",\"provider\":{\"name\":\"openai\"},"
                                     "\"model\":{\"id\":\"model-%05d\"}}", i, i);
        lines_add(&l, gen_event("ai.request", id, "33333333333333333333333333333333", i, data,
                                NULL));
    }
    analyze_opts o = opts_of(ANALYZE_INVENTORY);
    o.json = 1;
    char *out = run_lines(&o, &l, NULL, NULL);
    json_error_t err;
    json_t *d = json_loads(out, 0, &err);
    assert_non_null(d);
    json_t *models = json_object_get(d, "models");
    assert_int_equal(json_array_size(models), ANALYZE_TABLE_MAX + 1);
    json_t *other = json_array_get(models, ANALYZE_TABLE_MAX);
    assert_string_equal(json_string_value(json_object_get(other, "model")), "(other)");
    assert_int_equal(jint_at(other, "requests"), 904);
    json_decref(d);
    free(out);
    lines_free(&l);
}

/* ---- costs ---- */

/* Expected USD of costs.jsonl's models at the built-in prices. */
#define USD_GPT4O   ((1000 * 2.5 + 1000 * 1.25 + 500 * 10.0) / 1e6)
#define USD_MINI_B  ((6000 * 0.15 + 4000 * 0.075 + 1000 * 0.6 + 999 * 0.15 + 1 * 0.6) / 1e6)
#define USD_MINI_X  ((6000 * 0.15 + 4000 * 0.08 + 1000 * 0.6 + 999 * 0.15 + 1 * 0.6) / 1e6)
#define USD_CLAUDE  ((500 * 3.0 + 2000 * 0.3 + 500 * 3.75 + 400 * 15.0) / 1e6)
#define USD_DS      ((40 * 0.28 + 9 * 0.42) / 1e6)
#define USD_GEMINI  ((100 * 0.3 + 300 * 2.5) / 1e6)
#define USD_O3MINI  ((1000 * 1.1 + 2000 * 4.4) / 1e6)
#define USD_OSS_B   ((1000 * 0.075 + 1000 * 0.3) / 1e6)
#define USD_OSS_V1  ((1000 * 0.1 + 1000 * 0.5) / 1e6)
#define USD_MISTRAL ((1000 * 2.0 + 100 * 6.0) / 1e6)

static void test_costs_text(void **state)
{
    (void)state;
    analyze_opts o = opts_of(ANALYZE_COSTS);
    char *out = run_path(&o, DATA "costs.jsonl", NULL);
    char *want = read_file(DATA "costs-builtin.txt", NULL);
    assert_same_text(out, want);
    free(out);
    free(want);
}

static void test_costs_builtin(void **state)
{
    (void)state;
    json_t *d = run_json(opts_of(ANALYZE_COSTS), DATA "costs.jsonl");
    assert_int_equal(jint_at(d, "responses"), 11);
    assert_int_equal(jint_at(d, "responses_without_usage"), 1);
    assert_int_equal(jint_at(d, "requests_without_response"), 1);
    json_t *models = json_object_get(d, "by_model");
    json_t *m = find_by(models, "model", "gpt-4o-2024-08-06");
    assert_usd(jnum_at(m, "usd"), USD_GPT4O);
    json_t *pr = json_object_get(m, "price");
    assert_string_equal(json_string_value(json_object_get(pr, "model")), "gpt-4o");
    assert_string_equal(json_string_value(json_object_get(pr, "match")), "snapshot");
    assert_string_equal(json_string_value(json_object_get(pr, "source")), "built-in");
    m = find_by(models, "model", "gpt-4o-mini");
    assert_usd(jnum_at(m, "usd"), USD_MINI_B);
    assert_int_equal(jint_at(m, "responses"), 3);
    assert_int_equal(jint_at(m, "input_tokens"), 10999);
    assert_int_equal(jint_at(m, "cached_tokens"), 4000);
    m = find_by(models, "model", "claude-sonnet-4-5-20250929");
    assert_usd(jnum_at(m, "usd"), USD_CLAUDE);
    assert_int_equal(jint_at(m, "cache_write_tokens"), 500);
    assert_usd(jnum_at(find_by(models, "model", "deepseek-chat"), "usd"), USD_DS);
    assert_usd(jnum_at(find_by(models, "model", "gemini-2.5-flash"), "usd"), USD_GEMINI);
    m = find_by(models, "model", "o3-mini-2025-01-31");
    assert_usd(jnum_at(m, "usd"), USD_O3MINI);
    assert_int_equal(jint_at(m, "reasoning_tokens"), 1500);
    assert_usd(jnum_at(find_by(models, "model", "openai/gpt-oss-20b"), "usd"), USD_OSS_B);
    assert_usd(jnum_at(find_by(models, "model", "mistral-large-2411"), "usd"), USD_MISTRAL);
    m = find_by(models, "model", "llama3.3:70b");
    assert_true(json_is_null(json_object_get(m, "price")));
    assert_int_equal(jint_at(m, "unpriced_responses"), 1);
    assert_int_equal(jint_at(m, "input_tokens"), 500);
    double all = USD_GPT4O + USD_MINI_B + USD_CLAUDE + USD_DS + USD_GEMINI + USD_O3MINI +
                 USD_OSS_B + USD_MISTRAL;
    assert_usd(jnum_at(json_object_get(d, "total"), "usd"), all);
    /* processes: the request's process, else the response's (r11 has no request) */
    json_t *procs = json_object_get(d, "by_process");
    json_t *node = find_by(procs, "exe", "/usr/bin/node");
    assert_int_equal(jint_at(node, "responses"), 4);
    assert_usd(jnum_at(node, "usd"), USD_CLAUDE + USD_DS + USD_OSS_B + (999 * 0.15 + 0.6) / 1e6);
    json_t *prov = json_object_get(d, "by_provider");
    assert_usd(jnum_at(find_by(prov, "provider", "openai"), "usd"),
               USD_GPT4O + USD_MINI_B + USD_O3MINI);
    json_decref(d);
}

static json_t *costs_with_bundle(const char *bundle, const char *format, size_t models)
{
    char err[256];
    price_table *t = prices_new();
    assert_non_null(t);
    if (prices_load_bundle(t, bundle, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    assert_string_equal(prices_bundle_format(t), format);
    assert_int_equal(prices_bundle_models(t), models);
    analyze_opts o = opts_of(ANALYZE_COSTS);
    o.prices = t;
    o.bundle_path = bundle;
    json_t *d = run_json(o, DATA "costs.jsonl");
    prices_free(t);
    json_t *b = json_object_get(json_object_get(d, "prices"), "bundle");
    assert_string_equal(json_string_value(json_object_get(b, "format")), format);
    return d;
}

static void test_costs_bundle_v1(void **state)
{
    (void)state;
    json_t *d = costs_with_bundle(BUNDLES "bundle-v1.json", "v1", 1874);
    json_t *models = json_object_get(d, "by_model");
    json_t *m = find_by(models, "model", "gpt-4o-mini");
    assert_usd(jnum_at(m, "usd"), USD_MINI_X);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "price"), "source")),
                        "bundle");
    assert_usd(jnum_at(find_by(models, "model", "openai/gpt-oss-20b"), "usd"), USD_OSS_V1);
    m = find_by(models, "model", "gpt-4o-2024-08-06"); /* listed in the bundle: exact */
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "price"), "match")),
                        "exact");
    assert_usd(jnum_at(m, "usd"), USD_GPT4O);
    json_decref(d);
}

static void test_costs_bundle_v2(void **state)
{
    (void)state;
    json_t *d = costs_with_bundle(BUNDLES "bundle-v2.json", "v2", 1965);
    json_t *models = json_object_get(d, "by_model");
    assert_usd(jnum_at(find_by(models, "model", "gpt-4o-mini"), "usd"), USD_MINI_X);
    assert_usd(jnum_at(find_by(models, "model", "openai/gpt-oss-20b"), "usd"), USD_OSS_B);
    assert_usd(jnum_at(find_by(models, "model", "claude-sonnet-4-5-20250929"), "usd"),
               USD_CLAUDE);
    json_decref(d);
}

static void test_costs_join_bound(void **state)
{
    (void)state;
    /* more requests waiting than the join table holds, then their responses:
     * the oldest requests are counted unanswered, their responses alone */
    enum { N = ANALYZE_JOIN_MAX + 100 };
    lines l = {0};
    char data[256], id[32];
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < N; i++) {
            snprintf(id, sizeof(id), "%c%d", pass ? 'p' : 'q', i);
            snprintf(data, sizeof(data), "{\"request_id\":\"r%d\",\"provider\":{\"name\":"
                                         "\"openai\"},\"model\":{\"id\":\"gpt-4o\"}%s}", i,
                     pass ? ",\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":0}" : "");
            lines_add(&l, gen_event(pass ? "ai.response" : "ai.request", id,
                                    "44444444444444444444444444444444", i, data, NULL));
        }
    analyze_opts o = opts_of(ANALYZE_COSTS);
    o.json = 1;
    char *out = run_lines(&o, &l, NULL, NULL);
    json_error_t err;
    json_t *d = json_loads(out, 0, &err);
    assert_non_null(d);
    assert_int_equal(jint_at(d, "responses"), N);
    assert_int_equal(jint_at(d, "requests_without_response"), 100);
    assert_usd(jnum_at(json_object_get(d, "total"), "usd"), N * 1000 * 2.5 / 1e6);
    json_decref(d);
    free(out);
    lines_free(&l);
}

/* ---- prices ---- */

static const price *lookup(const price_table *t, const char *prov, const char *model,
                           price_match *how)
{
    return prices_lookup(t, prov, NULL, model, how);
}

static void expect_price(const price_table *t, const char *prov, const char *model,
                         const char *want_model, price_match want_how)
{
    price_match how = 0;
    const price *p = lookup(t, prov, model, &how);
    if (!p)
        fail_msg("%s/%s: no price, want %s", prov ? prov : "-", model, want_model);
    if (strcmp(p->model, want_model) != 0 || how != want_how)
        fail_msg("%s/%s: got %s (%s), want %s (%s)", prov ? prov : "-", model, p->model,
                 prices_match_name(how), want_model, prices_match_name(want_how));
}

static void test_prices_matching(void **state)
{
    (void)state;
    price_table *t = prices_new();
    assert_non_null(t);
    expect_price(t, "openai", "gpt-4o", "gpt-4o", PRICE_EXACT);
    expect_price(t, "openai", "GPT-4o", "gpt-4o", PRICE_EXACT);
    expect_price(t, "azure_openai", "gpt-4o-mini", "gpt-4o-mini", PRICE_EXACT);
    expect_price(t, NULL, "claude-haiku-4-5", "claude-haiku-4-5", PRICE_EXACT);
    /* a dated snapshot with its own price is found exactly */
    expect_price(t, "openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13", PRICE_EXACT);
    /* provider-prefixed forms */
    expect_price(t, "other", "openai/gpt-4.1-mini", "gpt-4.1-mini", PRICE_PROVIDER_FORM);
    expect_price(t, "google", "models/gemini-2.0-flash", "gemini-2.0-flash", PRICE_PROVIDER_FORM);
    expect_price(t, "aws_bedrock", "anthropic.claude-3-haiku", "claude-3-haiku",
                 PRICE_PROVIDER_FORM);
    /* dated snapshots */
    expect_price(t, "openai", "gpt-4o-2024-08-06", "gpt-4o", PRICE_SNAPSHOT);
    expect_price(t, "openai", "gpt-4.1-nano-2025-04-14", "gpt-4.1-nano", PRICE_SNAPSHOT);
    expect_price(t, "openai", "gpt-4-0613", "gpt-4", PRICE_SNAPSHOT);
    expect_price(t, "anthropic", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet",
                 PRICE_SNAPSHOT);
    expect_price(t, "anthropic", "claude-3-7-sonnet-latest", "claude-3-7-sonnet",
                 PRICE_SNAPSHOT);
    expect_price(t, "google", "claude-3-5-sonnet@20240620", "claude-3-5-sonnet", PRICE_SNAPSHOT);
    expect_price(t, "aws_bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0",
                 "claude-3-5-haiku", PRICE_SNAPSHOT);
    expect_price(t, "mistral", "mistral-large-2407", "mistral-large", PRICE_SNAPSHOT);
    /* longest prefix, cut at - : @ / _ only */
    expect_price(t, "openai", "gpt-4o-mini-search-preview", "gpt-4o-mini", PRICE_PREFIX);
    expect_price(t, "openai", "o3-mini-high", "o3-mini", PRICE_PREFIX);
    expect_price(t, "anthropic", "claude-sonnet-4-0", "claude-sonnet-4", PRICE_PREFIX);
    expect_price(t, "google", "gemini-2.5-flash-lite-preview-06-17", "gemini-2.5-flash-lite",
                 PRICE_PREFIX);
    /* unknown */
    assert_null(lookup(t, "openai", "gpt-4.5-preview", NULL)); /* not gpt-4: '.' is no cut */
    assert_null(lookup(t, "ollama", "llama3.3:70b", NULL));
    assert_null(lookup(t, "openai", "", NULL));
    assert_null(lookup(t, "openai", NULL, NULL));
    char longid[400];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    memcpy(longid, "gpt-4o-", 7);
    assert_null(lookup(t, "openai", longid, NULL));
    /* the provider decides between equal ids */
    const price *p = prices_lookup(t, "groq", NULL, "openai/gpt-oss-20b", NULL);
    assert_non_null(p);
    assert_string_equal(p->provider, "groq");
    p = prices_lookup(t, "deepseek", "other", "deepseek-chat", NULL);
    assert_non_null(p);
    assert_string_equal(p->provider, "deepseek");
    prices_free(t);
}

static void test_prices_cost_math(void **state)
{
    (void)state;
    price p = {.input = 2.0, .output = 8.0, .cached_input = 0.5, .cache_write = -1,
               .reasoning = -1};
    price_usage u = {.input = 1000000, .cached = 400000, .output = 100000, .reasoning = 50000};
    /* 600k * 2 + 400k * 0.5 + 100k * 8 */
    assert_usd(prices_cost_usd(&p, &u), 1.2 + 0.2 + 0.8);
    p.cached_input = -1; /* unknown cached price: billed as input */
    assert_usd(prices_cost_usd(&p, &u), 2.0 + 0.8);
    p.reasoning = 20.0;  /* a reasoning price */
    assert_usd(prices_cost_usd(&p, &u), 2.0 + 0.05 * 8 + 0.05 * 20);
    p.reasoning = -1;
    p.cache_write = 2.5;
    price_usage w = {.input = 1000, .cache_write = 400, .output = 0};
    assert_usd(prices_cost_usd(&p, &w), (600 * 2.0 + 400 * 2.5) / 1e6);
    /* parts larger than their whole are capped; negatives count as 0 */
    price_usage bad = {.input = 100, .cached = 500, .cache_write = 50, .output = -7,
                       .reasoning = 9};
    p.cached_input = 1.0;
    assert_usd(prices_cost_usd(&p, &bad), 100 * 1.0 / 1e6);
}

static void test_prices_bundle_files(void **state)
{
    (void)state;
    char err[256];
    price_table *t = prices_new();
    price_match how;
    assert_int_equal(prices_load_bundle(t, DATA "bundle-mini-v1.json", err, sizeof(err)), 0);
    assert_string_equal(prices_bundle_format(t), "v1");
    assert_int_equal(prices_bundle_models(t), 3);
    /* the bundle's gpt-4o wins over the built-in one */
    const price *p = prices_lookup(t, "openai", NULL, "gpt-4o", &how);
    assert_string_equal(p->source, "bundle");
    assert_true(fabs(p->input - 1.0) < 1e-12 && fabs(p->output - 4.0) < 1e-12);
    assert_true(fabs(p->cached_input - 0.1) < 1e-12);
    /* model with only a key "provider/id", and a reasoning price */
    p = prices_lookup(t, "acme", NULL, "acme-think-2025-01-01", &how);
    assert_non_null(p);
    assert_string_equal(p->model, "acme-think");
    assert_int_equal(how, PRICE_SNAPSHOT);
    assert_true(fabs(p->reasoning - 30.0) < 1e-12);
    /* entries without a sane price were skipped */
    assert_null(prices_lookup(t, "acme", NULL, "acme-free", NULL));
    /* built-in entries remain */
    assert_non_null(prices_lookup(t, "anthropic", NULL, "claude-3-opus", NULL));
    /* one bundle per table */
    assert_int_equal(prices_load_bundle(t, DATA "bundle-mini-v2.json", err, sizeof(err)), -1);
    prices_free(t);

    t = prices_new();
    assert_int_equal(prices_load_bundle(t, DATA "bundle-mini-v2.json", err, sizeof(err)), 0);
    assert_string_equal(prices_bundle_format(t), "v2");
    p = prices_lookup(t, "other", NULL, "acme/acme-1", &how);
    assert_non_null(p);
    assert_string_equal(p->provider, "acme");
    assert_int_equal(how, PRICE_PROVIDER_FORM);
    prices_free(t);

    static const struct { const char *file, *msg; } bad[] = {
        {"bundle-bad-version.json", "unsupported bundle_version 3.0.0"},
        {"bundle-no-models.json", "no \"models\""},
        {"bundle-unpriced.json", "no priced model"},
        {"malformed.jsonl", "not JSON"},
        {"no-such-bundle.json", "cannot open"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), DATA "%s", bad[i].file);
        t = prices_new();
        err[0] = '\0';
        assert_int_equal(prices_load_bundle(t, path, err, sizeof(err)), -1);
        assert_contains(err, bad[i].msg);
        assert_null(strchr(err, '\n'));
        assert_null(prices_bundle_format(t));
        assert_non_null(prices_lookup(t, "openai", NULL, "gpt-4o", NULL)); /* still usable */
        prices_free(t);
    }
}

/* ---- input ---- */

static void test_malformed_lines(void **state)
{
    (void)state;
    analyze_opts o = opts_of(ANALYZE_TRACES);
    analyze_stats st;
    char *out = run_path(&o, DATA "malformed.jsonl", &st);
    assert_int_equal(st.lines, 13);
    assert_int_equal(st.events, 6);
    assert_int_equal(st.bad_json, 4);
    assert_int_equal(st.not_event, 3);
    assert_int_equal(st.first_bad_line, 2);
    /* the CRLF line and the last line (no newline) were read */
    assert_contains(out, "LLM anthropic claude-sonnet-4-5-20250929  120.0 ms  error 429");
    assert_contains(out, "LLM openai gpt-4o-2024-08-06  1200 (1024 cached)");
    assert_contains(out, "skipped 7 malformed lines (first at line 2)");
    free(out);
    /* the same for the other reports */
    o = opts_of(ANALYZE_INVENTORY);
    out = run_path(&o, DATA "malformed.jsonl", &st);
    assert_int_equal(st.bad_json + st.not_event, 7);
    assert_contains(out, "AI requests: 2, responses: 3 (1 error)");
    free(out);
    o = opts_of(ANALYZE_COSTS);
    out = run_path(&o, DATA "malformed.jsonl", &st);
    assert_contains(out, "costs of 3 responses (2 without usage)");
    free(out);
}

/* A line longer than ANALYZE_MAX_LINE is skipped up to its newline; the
 * lines around it are read. */
static void test_line_too_long(void **state)
{
    (void)state;
    char path[] = "/tmp/test_analyze_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    lines l = lines_of_file(DATA "agent.jsonl");
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%s\n", l.v[2]);
    fputc('{', f);
    for (size_t i = 0; i < ANALYZE_MAX_LINE / 16 + 1; i++)
        fputs("\"aaaaaaaaaaaa\":1", f);
    fputs("}\n", f);
    fprintf(f, "%s\n", l.v[3]);
    fclose(f);
    analyze_opts o = opts_of(ANALYZE_INVENTORY);
    analyze_stats st;
    char *out = run_path(&o, path, &st);
    unlink(path);
    assert_int_equal(st.too_long, 1);
    assert_int_equal(st.first_bad_line, 2);
    assert_int_equal(st.events, 2);
    assert_contains(out, "AI requests: 2");
    free(out);
    lines_free(&l);
}

/* Every fixture line cut at every byte, and lines with bytes flipped at
 * random (fixed seed), through all three reports: no crash, no leak (run
 * under ASan), and every line is either an event or counted as bad. */
static void test_robust_cuts_and_flips(void **state)
{
    (void)state;
    const char *files[] = {DATA "agent.jsonl", DATA "costs.jsonl"};
    analyze_report reports[] = {ANALYZE_TRACES, ANALYZE_INVENTORY, ANALYZE_COSTS};
    unsigned seed = 12345;
    for (size_t r = 0; r < 3; r++) {
        analyze_opts o = opts_of(reports[r]);
        o.max_memory = 1u << 20;
        o.json = r == 0;
        char *out = NULL;
        size_t outlen = 0;
        FILE *mem = open_memstream(&out, &outlen);
        analyzer *a = analyzer_new(&o, mem);
        size_t fed = 0;
        for (size_t f = 0; f < 2; f++) {
            lines l = lines_of_file(files[f]);
            for (size_t i = 0; i < l.n; i++) {
                size_t len = strlen(l.v[i]);
                for (size_t cut = 1; cut <= len; cut += 1 + r) {
                    analyzer_line(a, l.v[i], cut);
                    fed++;
                }
                char *m = malloc(len + 1);
                for (int k = 0; k < 200; k++) {
                    memcpy(m, l.v[i], len + 1);
                    for (int flips = 0; flips < 4; flips++) {
                        seed = seed * 1103515245u + 12345u;
                        size_t at = (seed >> 8) % len;
                        seed = seed * 1103515245u + 12345u;
                        m[at] = (char)(seed >> 16);
                    }
                    analyzer_line(a, m, len);
                    fed++;
                }
                free(m);
            }
            lines_free(&l);
        }
        analyzer_end(a);
        analyze_stats st;
        analyzer_stats(a, &st);
        analyzer_free(a);
        fclose(mem);
        assert_true(st.events > 0);
        assert_true(st.bad_json + st.not_event > 0);
        assert_true(st.lines <= fed);
        assert_int_equal(st.lines, st.events + st.bad_json + st.not_event + st.too_long);
        free(out);
    }
}

/* ---- the command ---- */

/* Runs cmd_analyze with stdout and stderr captured; returns the status. */
static int run_cmd(char **out, char **err, int argc, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    char opath[] = "/tmp/test_analyze_out_XXXXXX", epath[] = "/tmp/test_analyze_err_XXXXXX";
    int ofd = mkstemp(opath), efd = mkstemp(epath);
    assert_true(ofd >= 0 && efd >= 0);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(ofd, 1);
    dup2(efd, 2);
    int rc = cmd_analyze(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(ofd);
    close(efd);
    *out = read_file(opath, NULL);
    *err = read_file(epath, NULL);
    unlink(opath);
    unlink(epath);
    return rc;
}

static void test_cmd(void **state)
{
    (void)state;
    char *out, *err;
    static const struct {
        int rc;
        const char *a1, *a2, *a3, *a4;
        const char *err;
    } cases[] = {
        {2, NULL, NULL, NULL, NULL, "missing REPORT"},
        {2, "nope", DATA "agent.jsonl", NULL, NULL, "unknown report 'nope'"},
        {2, "traces", NULL, NULL, NULL, "missing FILE"},
        {2, "traces", DATA "no-such.jsonl", NULL, NULL,
         "cannot open ../data/analyze/no-such.jsonl"},
        {2, "traces", DATA, NULL, NULL, "Is a directory"},
        {2, "inventory", DATA "agent.jsonl", "--ascii", NULL, "unknown option '--ascii'"},
        {2, "costs", DATA "agent.jsonl", "--by", "vendor", "bad --by 'vendor'"},
        {2, "costs", DATA "agent.jsonl", "--bundle", NULL, "--bundle needs a path"},
        {2, "costs", DATA "agent.jsonl", "--bundle", DATA "bundle-bad-version.json",
         "unsupported bundle_version"},
        {2, "traces", DATA "agent.jsonl", "--max-memory", "lots", "bad --max-memory 'lots'"},
        {2, "traces", DATA "agent.jsonl", DATA "costs.jsonl", NULL, "one FILE only"},
        {1, "traces", DATA "agent.jsonl", "--json", "--trace=nope", "no events with trace_id nope"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int argc = 1 + (cases[i].a1 != NULL) + (cases[i].a2 != NULL) + (cases[i].a3 != NULL) +
                   (cases[i].a4 != NULL);
        int rc = run_cmd(&out, &err, argc, "analyze", cases[i].a1, cases[i].a2, cases[i].a3,
                         cases[i].a4);
        if (rc != cases[i].rc)
            fail_msg("case %zu: status %d, want %d (%s)", i, rc, cases[i].rc, err);
        assert_contains(err, cases[i].err);
        assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err)); /* one line */
        free(out);
        free(err);
    }
    /* --help for each */
    const char *reports[] = {"--help", "traces", "inventory", "costs"};
    for (size_t i = 0; i < 4; i++) {
        int rc = i == 0 ? run_cmd(&out, &err, 2, "analyze", "--help")
                        : run_cmd(&out, &err, 3, "analyze", reports[i], "-h");
        assert_int_equal(rc, 0);
        assert_contains(out, "usage: oisp-sensor analyze");
        if (i > 0)
            assert_contains(out, reports[i]);
        assert_string_equal(err, "");
        free(out);
        free(err);
    }
    /* real runs */
    assert_int_equal(run_cmd(&out, &err, 6, "analyze", "costs", DATA "costs.jsonl", "--by",
                             "provider", "--bundle=" BUNDLES "bundle-v2.json"), 0);
    assert_contains(out, "by provider");
    assert_contains(out, "(v2, 1965 priced models)");
    assert_true(strstr(out, "by model") == NULL);
    free(out);
    free(err);
    assert_int_equal(run_cmd(&out, &err, 5, "analyze", "traces", DATA "agent.jsonl", "--trace",
                             "0af7651916cd43dd8448eb211c80319c"), 0);
    assert_contains(out, "1 trace, 24 events");
    free(out);
    free(err);
}

static void test_stdin(void **state)
{
    (void)state;
    int fd = open(DATA "agent.jsonl", O_RDONLY);
    assert_true(fd >= 0);
    int saved = dup(0);
    dup2(fd, 0);
    close(fd);
    analyze_opts o = opts_of(ANALYZE_TRACES);
    char *out = run_path(&o, "-", NULL);
    dup2(saved, 0);
    close(saved);
    char *want = read_file(DATA "agent-traces.txt", NULL);
    assert_same_text(out, want);
    free(out);
    free(want);
}

/* The fixtures are valid OISP v0.1 events. */
static void test_fixtures_validate(void **state)
{
    (void)state;
    if (access(VALIDATE, X_OK) != 0) {
        print_message("oisp-validate not found at %s\n", VALIDATE);
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(VALIDATE, VALIDATE, "--quiet", DATA "agent.jsonl", DATA "costs.jsonl",
              (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traces_agent_tree),
        cmocka_unit_test(test_traces_any_order),
        cmocka_unit_test(test_traces_ascii),
        cmocka_unit_test(test_traces_json),
        cmocka_unit_test(test_traces_filter),
        cmocka_unit_test(test_traces_long_trace),
        cmocka_unit_test(test_traces_memory_bound),
        cmocka_unit_test(test_traces_hostile),
        cmocka_unit_test(test_inventory_text),
        cmocka_unit_test(test_inventory_counts),
        cmocka_unit_test(test_inventory_table_bound),
        cmocka_unit_test(test_costs_text),
        cmocka_unit_test(test_costs_builtin),
        cmocka_unit_test(test_costs_bundle_v1),
        cmocka_unit_test(test_costs_bundle_v2),
        cmocka_unit_test(test_costs_join_bound),
        cmocka_unit_test(test_prices_matching),
        cmocka_unit_test(test_prices_cost_math),
        cmocka_unit_test(test_prices_bundle_files),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_robust_cuts_and_flips),
        cmocka_unit_test(test_cmd),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_fixtures_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

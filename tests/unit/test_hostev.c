/* test_hostev.c: tests src/events/hostev.c (host records to OISP events)
 * and src/events/correlate.c (tool calls, host events, tool results).
 * Records are built by hand as host.bpf.c would send them; every event is
 * checked against the OISP schemas with oisp-validate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/clock.h"
#include "events/correlate.h"
#include "events/event.h"
#include "events/hostev.h"

#define VALIDATE "../../../shared/tools/oisp-validate"

typedef struct fixture {
    proc_cache *pc;
    json_t *host;
    hostev *h;
    json_t *out; /* every event made, for validation */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    clock_sync();
    f->pc = proc_cache_new(256);
    f->host = event_host_info();
    f->h = hostev_new(f->pc, f->host);
    f->out = json_array();
    *state = f;
    return 0;
}

static void validate_all(json_t *arr)
{
    if (access(VALIDATE, X_OK) != 0)
        return;
    char path[] = "/tmp/oisp-hostev-XXXXXX";
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w");
    size_t i;
    json_t *ev;
    json_array_foreach(arr, i, ev) {
        char *s = json_dumps(ev, JSON_COMPACT);
        fprintf(fp, "%s\n", s);
        free(s);
    }
    fclose(fp);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "%s --quiet %s >/dev/null", VALIDATE, path);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof(cmd), "%s %s", VALIDATE, path);
        if (system(cmd) != 0) { /* print the reasons */ }
    }
    unlink(path);
    assert_int_equal(rc, 0);
}

static int teardown(void **state)
{
    fixture *f = *state;
    validate_all(f->out);
    json_decref(f->out);
    hostev_free(f->h);
    json_decref(f->host);
    proc_cache_free(f->pc);
    free(f);
    return 0;
}

/* A record with room for strings, from the current process. */
static struct host_rec *rec(int kind)
{
    struct host_rec *r = calloc(1, sizeof(*r) + HOST_DATA_MAX);
    r->kind = (uint8_t)kind;
    r->tgid = r->tid = (uint32_t)getpid();
    r->ppid = (uint32_t)getppid();
    r->ts = clock_mono_ns();
    return r;
}

static json_t *event(fixture *f, struct host_rec *r)
{
    json_t *ev = hostev_event(f->h, r, sizeof(*r) + HOST_DATA_MAX);
    if (ev)
        json_array_append_new(f->out, ev); /* f->out owns it; valid until teardown */
    return ev;
}

static const char *str(const json_t *ev, const char *k1, const char *k2)
{
    return json_string_value(json_object_get(json_object_get(ev, k1), k2));
}

static void test_normalize(void **state)
{
    (void)state;
    char a[] = "/a/b/../c/./d//e/", b[] = "/../..", c[] = "rel/../x";
    hostev_normalize_path(a);
    hostev_normalize_path(b);
    hostev_normalize_path(c);
    assert_string_equal(a, "/a/c/d/e");
    assert_string_equal(b, "/");
    assert_string_equal(c, "rel/../x"); /* relative paths are left alone */
}

static void test_exec_and_exit(void **state)
{
    fixture *f = *state;
    struct host_rec *r = rec(HOST_EXEC);
    strcpy(r->data, "/bin/sh");
    r->len1 = 8;
    static const char argv_area[] = "sh\0-c\0echo hi"; /* each arg NUL-ended */
    memcpy(r->data + 512, argv_area, sizeof(argv_area));
    r->len2 = sizeof(argv_area);
    json_t *ev = event(f, r);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "event_type")), "process.exec");
    json_t *args = json_object_get(json_object_get(ev, "data"), "args");
    assert_int_equal(json_array_size(args), 3);
    assert_string_equal(json_string_value(json_array_get(args, 2)), "echo hi");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "process"), "pid")), getpid());
    assert_non_null(json_object_get(json_object_get(ev, "process"), "ancestors"));
    free(r);
    r = rec(HOST_EXIT);
    r->u.exit.code = 3;
    r->u.exit.sig = 9;
    r->u.exit.runtime_ns = 1500000000ull;
    ev = event(f, r);
    json_t *d = json_object_get(ev, "data");
    assert_int_equal(json_integer_value(json_object_get(d, "exit_code")), 3);
    assert_string_equal(json_string_value(json_object_get(d, "signal_name")), "SIGKILL");
    assert_int_equal(json_integer_value(json_object_get(d, "runtime_ms")), 1500);
    free(r);
}

static void test_open_write_paths(void **state)
{
    fixture *f = *state;
    char cwd[4096], want[4200];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    struct host_rec *r = rec(HOST_OPEN);
    strcpy(r->data, "sub/../out.txt"); /* relative to the cwd */
    r->len1 = 15;
    r->dfd = HOST_AT_FDCWD;
    r->u.file.flags = O_WRONLY | O_CREAT | O_TRUNC;
    r->u.file.file = 0xffff888012345600ull;
    json_t *ev = event(f, r);
    snprintf(want, sizeof(want), "%s/out.txt", cwd);
    assert_string_equal(str(ev, "data", "path"), want);
    json_t *flags = json_object_get(json_object_get(ev, "data"), "flags");
    assert_int_equal(json_array_size(flags), 3); /* write, create, truncate */
    free(r);
    r = rec(HOST_WRITE); /* named by the struct file pointer the open returned */
    r->u.file.file = 0xffff888012345600ull;
    r->u.file.bytes = 10000;
    r->u.file.calls = 10000;
    ev = event(f, r);
    assert_string_equal(str(ev, "data", "path"), want);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "data"), "bytes_written")), 10000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "attrs"), "write_calls")), 10000);
    r->u.file.file = 0x1234; /* never opened under tracking */
    ev = event(f, r);
    assert_non_null(json_object_get(json_object_get(ev, "attrs"), "path_resolved"));
    free(r);
}

static void test_rename_connect(void **state)
{
    fixture *f = *state;
    struct host_rec *r = rec(HOST_RENAME);
    strcpy(r->data, "/tmp/a");
    r->len1 = 7;
    strcpy(r->data + 512, "/tmp/./b");
    r->len2 = 9;
    json_t *ev = event(f, r);
    assert_string_equal(str(ev, "data", "new_path"), "/tmp/b");
    free(r);
    r = rec(HOST_CONNECT);
    r->family = 2;
    memcpy(r->u.net.daddr, "\x7f\0\0\x01", 4);
    r->u.net.dport = 443;
    r->ret = -111;
    ev = event(f, r);
    json_t *d = json_object_get(ev, "data");
    assert_string_equal(str(d, "dest", "ip"), "127.0.0.1");
    assert_false(json_is_true(json_object_get(d, "success")));
    assert_non_null(json_object_get(d, "error"));
    free(r);
    r = rec(99); /* unknown kind */
    assert_null(hostev_event(f->h, r, sizeof(*r) + HOST_DATA_MAX));
    r->kind = HOST_EXEC;
    assert_null(hostev_event(f->h, r, sizeof(*r))); /* too short for its strings */
    free(r);
}

static json_t *emitted;
static void collect(void *ctx, json_t *ev)
{
    (void)ctx;
    json_array_append_new(emitted, ev);
}

static json_t *ai_event(const char *type, json_t *data)
{
    json_t *ev = event_new(type, clock_mono_ns(), "ebpf_uprobe", "ssl_write", NULL, NULL);
    json_object_set_new(ev, "process", json_pack("{s:i}", "pid", getpid()));
    json_object_set_new(ev, "data", data);
    return ev;
}

static void test_correlation(void **state)
{
    fixture *f = *state;
    emitted = json_array();
    correlator *c = corr_new(f->pc, f->host);
    uint32_t pid = (uint32_t)getpid();
    json_t *req = ai_event("ai.request", json_pack("{s:[{s:s,s:s}]}", "messages", "role", "user",
                                                   "content", "do it"));
    corr_request(c, pid, clock_mono_ns(), req, collect, NULL);
    const char *trace = str(req, "trace_context", "trace_id");
    assert_int_equal(strlen(trace), 32);
    json_t *resp = ai_event("ai.response", json_pack("{s:[{s:s,s:s,s:{s:s}}]}", "tool_calls", "id",
                                                     "call_1", "name", "run_shell", "arguments",
                                                     "command", "ls"));
    corr_set_trace(resp, trace);
    corr_response(c, pid, clock_mono_ns(), resp, collect, NULL);
    assert_int_equal(json_array_size(emitted), 1);
    json_t *call = json_array_get(emitted, 0);
    assert_string_equal(str(call, "data", "call_id"), "call_1");
    assert_string_equal(str(call, "trace_context", "trace_id"), trace);
    /* a host event of the agent itself while the call is pending */
    struct host_rec *r = rec(HOST_FORK);
    r->u.fork.child = pid + 1000000;
    json_t *hev = event(f, r);
    corr_host(c, pid, hev);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(hev, "related_events"), 0), "event_id")),
                        json_string_value(json_object_get(call, "event_id")));
    free(r);
    /* the next request returns the result: a tool_result, listing the host event */
    json_t *req2 = ai_event("ai.request", json_pack("{s:[{s:s,s:s},{s:s,s:s,s:s}]}", "messages",
                                                    "role", "user", "content", "do it", "role",
                                                    "tool", "tool_call_id", "call_1", "content",
                                                    "sk-proj-abcdefghijklmnopqrstuvwx done"));
    corr_request(c, pid, clock_mono_ns(), req2, collect, NULL);
    assert_string_equal(str(req2, "trace_context", "trace_id"), trace); /* same conversation */
    assert_int_equal(json_array_size(emitted), 2);
    json_t *res = json_array_get(emitted, 1);
    assert_string_equal(json_string_value(json_object_get(res, "event_type")), "agent.tool_result");
    assert_int_equal(json_array_size(json_object_get(res, "related_events")), 2);
    assert_null(strstr(str(res, "data", "result"), "sk-proj-")); /* the preview is masked */
    corr_request(c, pid, clock_mono_ns(), req2, collect, NULL); /* resent history: no duplicate */
    assert_int_equal(json_array_size(emitted), 2);
    corr_stats st;
    corr_get_stats(c, &st);
    assert_int_equal(st.tool_calls, 1);
    assert_int_equal(st.tool_results, 1);
    json_array_extend(f->out, emitted);
    json_array_append(f->out, req);
    json_array_append(f->out, resp);
    json_decref(req);
    json_decref(req2);
    json_decref(resp);
    json_decref(emitted);
    corr_free(c);
}

/* With more tool calls pending than the table holds, the oldest are
 * dropped and counted; the rest are still found by their call ids. */
static void test_pending_table_full(void **state)
{
    fixture *f = *state;
    emitted = json_array();
    correlator *c = corr_new(f->pc, f->host);
    uint32_t pid = (uint32_t)getpid();
    uint64_t ts = clock_mono_ns();
    for (int i = 0; i < 1100; i++) {
        char id[32];
        snprintf(id, sizeof(id), "call_%d", i);
        json_t *resp = ai_event("ai.response", json_pack("{s:[{s:s,s:s,s:{}}]}", "tool_calls", "id",
                                                         id, "name", "run_shell", "arguments"));
        corr_set_trace(resp, "0123456789abcdef0123456789abcdef");
        corr_response(c, pid, ts + (uint64_t)i, resp, collect, NULL);
        json_decref(resp);
    }
    corr_stats st;
    corr_get_stats(c, &st);
    assert_int_equal(st.tool_calls, 1100);
    assert_int_equal(st.dropped_pending, 1100 - 1024);
    json_t *req = ai_event("ai.request", json_pack("{s:[{s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s}]}",
                                                   "messages", "role", "user", "content", "go",
                                                   "role", "tool", "tool_call_id", "call_0", "content", "old",
                                                   "role", "tool", "tool_call_id", "call_80", "content", "a",
                                                   "role", "tool", "tool_call_id", "call_1099", "content", "b"));
    size_t before = json_array_size(emitted);
    corr_request(c, pid, ts + 2000, req, collect, NULL);
    assert_int_equal(json_array_size(emitted) - before, 2); /* call_0 was dropped */
    assert_string_equal(str(json_array_get(emitted, before), "data", "call_id"), "call_80");
    assert_string_equal(str(json_array_get(emitted, before + 1), "data", "call_id"), "call_1099");
    corr_get_stats(c, &st);
    assert_int_equal(st.tool_results, 2);
    json_decref(req);
    json_decref(emitted);
    corr_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test_setup_teardown(test_exec_and_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_write_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_correlation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_table_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

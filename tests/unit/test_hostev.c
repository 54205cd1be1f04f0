/* test_hostev.c: tests src/events/hostev.c (host records to OISP events,
 * network.dns from query and reply datagrams) and src/events/correlate.c
 * (tool calls, host events, tool results).  Records are built by hand as
 * host.bpf.c would send them; every event is checked against the OISP
 * schemas with oisp-validate. */
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
#include "util/monotime.h"
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
    r->ts = mono_ns();
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

/* ---- network.dns ---- */

/* Events hostev hands to its emit callback (unanswered queries). */
static void collect_host(void *ctx, uint32_t tgid, json_t *ev)
{
    json_t *arr = ctx;
    json_object_set_new(ev, "x_tgid", json_integer(tgid)); /* checked, then removed */
    json_array_append_new(arr, ev);
}

/* A DNS message: header, one question (name, qtype), and for a reply
 * (flags with QR) `an` A records 10.0.0.1.. owned by the question name. */
static size_t dns_msg_bytes(uint8_t *p, unsigned id, unsigned flags, const char *name,
                            unsigned qtype, int an)
{
    uint8_t hdr[12] = {id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, 1, 0, (uint8_t)an};
    memcpy(p, hdr, 12);
    size_t off = 12;
    for (const char *l = name; *l;) {
        const char *dot = strchr(l, '.');
        size_t n = dot ? (size_t)(dot - l) : strlen(l);
        p[off++] = (uint8_t)n;
        memcpy(p + off, l, n);
        off += n;
        l += n + (dot ? 1 : 0);
    }
    p[off++] = 0;
    uint8_t q[4] = {0, (uint8_t)qtype, 0, 1};
    memcpy(p + off, q, 4);
    off += 4;
    for (int i = 0; i < an; i++) {
        uint8_t a[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, (uint8_t)(i + 1)};
        memcpy(p + off, a, 16);
        off += 16;
    }
    return off;
}

/* A DNS record as host.bpf.c sends it: resolver 127.0.0.1:53 (or ::1). */
static struct host_rec *dns_rec(int kind, unsigned sysnr, uint64_t ts, const uint8_t *msg,
                                size_t len, int v6)
{
    struct host_rec *r = rec(kind);
    r->sysnr = (uint16_t)sysnr;
    r->ts = ts;
    r->family = v6 ? 10 : 2;
    if (v6)
        r->u.net.daddr[15] = 1;
    else
        memcpy(r->u.net.daddr, "\x7f\0\0\x01", 4);
    r->u.net.dport = 53;
    r->u.net.sport = 40000;
    r->u.net.len = (uint32_t)len;
    r->len1 = (uint16_t)len;
    memcpy(r->data, msg, len);
    return r;
}

/* Feeds a DNS record; the event it returns (if any) joins f->out. */
static json_t *dns_feed(fixture *f, struct host_rec *r)
{
    json_t *ev = hostev_event(f->h, r, sizeof(*r) + HOST_DNS_AREA);
    free(r);
    if (ev)
        json_array_append_new(f->out, ev);
    return ev;
}

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static void test_dns_answered(void **state)
{
    fixture *f = *state;
    uint8_t q[512], a[512];
    uint64_t t0 = mono_ns();
    size_t ql = dns_msg_bytes(q, 0x1234, 0x0100, "api.openai.com", 1, 0);
    size_t al = dns_msg_bytes(a, 0x1234, 0x8180, "API.openai.com", 1, 2); /* 0x20 case: still it */
    assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 307, t0, q, ql, 0)));
    json_t *ev = dns_feed(f, dns_rec(HOST_DNS_REPLY, 45, t0 + 1500000, a, al, 0));
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "event_type")), "network.dns");
    assert_string_equal(str(ev, "source", "capture_point"), "sys_exit_sendmmsg");
    json_t *d = json_object_get(ev, "data");
    assert_string_equal(str(ev, "data", "query_name"), "api.openai.com");
    assert_string_equal(str(ev, "data", "query_type"), "A");
    assert_string_equal(str(ev, "data", "response_code"), "NOERROR");
    assert_string_equal(str(ev, "data", "resolver"), "127.0.0.1:53");
    assert_true(num(d, "latency_ms") == 1.5);
    json_t *ans = json_object_get(d, "answers");
    assert_int_equal(json_array_size(ans), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ans, 1), "value")), "10.0.0.2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ans, 0), "type")), "A");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ans, 0), "ttl")), 30);
    assert_string_equal(str(ev, "attrs", "reply_syscall"), "recvfrom");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "attrs"), "transaction_id")), 0x1234);
    assert_string_equal(str(ev, "confidence", "completeness"), "full");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "process"), "pid")), getpid());
    /* the same reply again matches nothing now */
    assert_null(dns_feed(f, dns_rec(HOST_DNS_REPLY, 45, t0 + 2000000, a, al, 0)));
    hostev_stats st;
    hostev_get_stats(f->h, &st);
    assert_int_equal(st.dns_queries, 1);
    assert_int_equal(st.dns_answered, 1);
    assert_int_equal(st.dns_unmatched, 1);
}

/* Replies are matched on process, id, name and type; a query sent twice
 * is one event. */
static void test_dns_matching(void **state)
{
    fixture *f = *state;
    uint8_t q[512], a[512];
    uint64_t t0 = mono_ns();
    size_t ql = dns_msg_bytes(q, 7, 0x0100, "a.example", 28, 0);
    assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 44, t0, q, ql, 1)));
    assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 44, t0 + 1000, q, ql, 1))); /* a retry */
    size_t al = dns_msg_bytes(a, 8, 0x8180, "a.example", 28, 0); /* wrong id */
    assert_null(dns_feed(f, dns_rec(HOST_DNS_REPLY, 45, t0 + 2000, a, al, 1)));
    al = dns_msg_bytes(a, 7, 0x8180, "b.example", 28, 0); /* wrong name */
    assert_null(dns_feed(f, dns_rec(HOST_DNS_REPLY, 45, t0 + 2000, a, al, 1)));
    al = dns_msg_bytes(a, 7, 0x8180, "a.example", 1, 0); /* wrong type */
    assert_null(dns_feed(f, dns_rec(HOST_DNS_REPLY, 45, t0 + 2000, a, al, 1)));
    al = dns_msg_bytes(a, 7, 0x8183, "a.example", 28, 0);
    struct host_rec *r = dns_rec(HOST_DNS_REPLY, 45, t0 + 2000, a, al, 1);
    r->tgid = r->tid = 1; /* another process */
    assert_null(dns_feed(f, r));
    json_t *ev = dns_feed(f, dns_rec(HOST_DNS_REPLY, 47, t0 + 3000, a, al, 1));
    assert_non_null(ev);
    assert_string_equal(str(ev, "data", "query_type"), "AAAA");
    assert_string_equal(str(ev, "data", "response_code"), "NXDOMAIN");
    assert_string_equal(str(ev, "data", "resolver"), "[::1]:53");
    assert_int_equal(json_array_size(json_object_get(json_object_get(ev, "data"), "answers")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "attrs"), "sends")), 2);
    hostev_stats st;
    hostev_get_stats(f->h, &st);
    assert_int_equal(st.dns_queries, 1);
    assert_int_equal(st.dns_unmatched, 4);
}

/* Other types and codes: "other" plus the real name; a reply without a
 * question matches on the id; a reply cut at 512 bytes is partial. */
static void test_dns_other(void **state)
{
    fixture *f = *state;
    uint8_t q[512], a[512];
    uint64_t t0 = mono_ns();
    size_t ql = dns_msg_bytes(q, 9, 0x0100, "svc.example", 65, 0);
    assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 1, t0, q, ql, 0)));
    static const uint8_t formerr[12] = {0, 9, 0x80, 0x01};
    json_t *ev = dns_feed(f, dns_rec(HOST_DNS_REPLY, 0, t0 + 10, formerr, 12, 0));
    assert_non_null(ev);
    assert_string_equal(str(ev, "data", "query_type"), "other");
    assert_string_equal(str(ev, "attrs", "query_type_name"), "HTTPS");
    assert_string_equal(str(ev, "data", "response_code"), "other");
    assert_string_equal(str(ev, "attrs", "response_code_name"), "FORMERR");
    assert_string_equal(str(ev, "source", "capture_point"), "sys_exit_write");
    assert_string_equal(str(ev, "attrs", "reply_syscall"), "read");

    ql = dns_msg_bytes(q, 10, 0x0100, "big.example", 1, 0);
    size_t al = dns_msg_bytes(a, 10, 0x8380, "big.example", 1, 3);
    assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 44, t0, q, ql, 0)));
    struct host_rec *r = dns_rec(HOST_DNS_REPLY, 45, t0 + 10, a, al - 10, 0);
    r->u.net.len = 1400; /* the kernel copied the first bytes only */
    ev = dns_feed(f, r);
    assert_non_null(ev);
    assert_string_equal(str(ev, "confidence", "completeness"), "partial");
    assert_int_equal(json_array_size(json_object_get(json_object_get(ev, "data"), "answers")), 2);
    assert_true(json_is_true(json_object_get(json_object_get(ev, "attrs"), "truncated_by_server")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "attrs"), "reply_bytes_captured")),
                     (json_int_t)(al - 10));
}

/* Queries without a reply come out through the callback: when their
 * process exits (before its process.exit), at the timeout, when the table
 * is full (the oldest) and at shutdown. */
static void test_dns_unanswered(void **state)
{
    fixture *f = *state;
    json_t *got = json_array();
    hostev_set_emit(f->h, collect_host, got);
    uint8_t q[512];
    uint64_t t0 = mono_ns();
    size_t ql = dns_msg_bytes(q, 1, 0x0100, "gone.example", 1, 0);
    assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 44, t0, q, ql, 0)));
    struct host_rec *r = rec(HOST_EXIT);
    json_t *exit_ev = event(f, r);
    free(r);
    assert_non_null(exit_ev);
    assert_int_equal(json_array_size(got), 1);
    json_t *ev = json_array_get(got, 0);
    assert_string_equal(str(ev, "attrs", "no_reply"), "process_exited");
    assert_string_equal(str(ev, "confidence", "completeness"), "partial");
    assert_null(json_object_get(json_object_get(ev, "data"), "response_code"));
    assert_int_equal(json_integer_value(json_object_get(ev, "x_tgid")), getpid());

    ql = dns_msg_bytes(q, 2, 0x0100, "slow.example", 1, 0);
    assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 44, t0, q, ql, 0)));
    hostev_expire(f->h, t0 + HOSTEV_DNS_TIMEOUT_NS - 1, HOSTEV_DNS_TIMEOUT_NS);
    assert_int_equal(json_array_size(got), 1);
    hostev_expire(f->h, t0 + HOSTEV_DNS_TIMEOUT_NS, HOSTEV_DNS_TIMEOUT_NS);
    assert_int_equal(json_array_size(got), 2);
    assert_string_equal(str(json_array_get(got, 1), "attrs", "no_reply"), "timeout");

    for (unsigned i = 0; i < 513; i++) { /* one more than the table holds */
        ql = dns_msg_bytes(q, 1000 + i, 0x0100, "many.example", 1, 0);
        assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 44, t0 + i, q, ql, 0)));
    }
    assert_int_equal(json_array_size(got), 3);
    ev = json_array_get(got, 2);
    assert_string_equal(str(ev, "attrs", "no_reply"), "table_full");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "attrs"), "transaction_id")), 1000);
    hostev_expire(f->h, t0, 0);
    assert_int_equal(json_array_size(got), 3 + 512);
    assert_string_equal(str(json_array_get(got, 3), "attrs", "no_reply"), "sensor_stopped");
    hostev_stats st;
    hostev_get_stats(f->h, &st);
    assert_int_equal(st.dns_unanswered, 3 + 512);
    size_t i;
    json_array_foreach(got, i, ev) {
        json_object_del(ev, "x_tgid");
        if (i < 8)
            json_array_append(f->out, ev);
    }
    json_decref(got);
}

/* Datagrams that are not DNS, and records that are too short. */
static void test_dns_malformed(void **state)
{
    fixture *f = *state;
    uint8_t q[512];
    uint64_t t0 = mono_ns();
    assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 44, t0, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, 0)));
    size_t ql = dns_msg_bytes(q, 3, 0x8100, "reply.example", 1, 0); /* a reply sent as a query */
    assert_null(dns_feed(f, dns_rec(HOST_DNS_QUERY, 44, t0, q, ql, 0)));
    ql = dns_msg_bytes(q, 3, 0x0100, "query.example", 1, 0); /* a query received */
    assert_null(dns_feed(f, dns_rec(HOST_DNS_REPLY, 45, t0, q, ql, 0)));
    hostev_stats st;
    hostev_get_stats(f->h, &st);
    assert_int_equal(st.dns_malformed, 3);
    assert_int_equal(st.dns_queries, 0);
    struct host_rec *r = dns_rec(HOST_DNS_QUERY, 44, t0, q, ql, 0);
    assert_null(hostev_event(f->h, r, sizeof(*r) + HOST_DNS_AREA - 1)); /* short record */
    r->len1 = HOST_DNS_MAX + 1;
    r->u.net.len = 4096;
    assert_null(hostev_event(f->h, r, sizeof(*r) + HOST_DNS_AREA)); /* more than was copied */
    r->len1 = 40;
    r->u.net.len = 20;
    assert_null(hostev_event(f->h, r, sizeof(*r) + HOST_DNS_AREA)); /* more than was sent */
    free(r);
    hostev_get_stats(f->h, &st);
    assert_int_equal(st.dns_malformed, 3); /* rejected before parsing */
}

static json_t *ai_event(const char *type, json_t *data)
{
    json_t *ev = event_new(type, mono_ns(), "ebpf_uprobe", "ssl_write", NULL, NULL);
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
    corr_request(c, pid, mono_ns(), req, collect, NULL);
    const char *trace = str(req, "trace_context", "trace_id");
    assert_int_equal(strlen(trace), 32);
    json_t *resp = ai_event("ai.response", json_pack("{s:[{s:s,s:s,s:{s:s}}]}", "tool_calls", "id",
                                                     "call_1", "name", "run_shell", "arguments",
                                                     "command", "ls"));
    corr_set_trace(resp, trace);
    corr_response(c, pid, mono_ns(), resp, collect, NULL);
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
    corr_request(c, pid, mono_ns(), req2, collect, NULL);
    assert_string_equal(str(req2, "trace_context", "trace_id"), trace); /* same conversation */
    assert_int_equal(json_array_size(emitted), 2);
    json_t *res = json_array_get(emitted, 1);
    assert_string_equal(json_string_value(json_object_get(res, "event_type")), "agent.tool_result");
    assert_int_equal(json_array_size(json_object_get(res, "related_events")), 2);
    assert_null(strstr(str(res, "data", "result"), "sk-proj-")); /* the preview is masked */
    corr_request(c, pid, mono_ns(), req2, collect, NULL); /* resent history: no duplicate */
    assert_int_equal(json_array_size(emitted), 2);
    corr_stats st;
    corr_get_stats(c, &st);
    assert_int_equal(st.tool_calls, 1);
    assert_int_equal(st.tool_results, 1);
    /* another conversation of the same process: another trace */
    json_t *req3 = ai_event("ai.request", json_pack("{s:[{s:s,s:s}]}", "messages", "role", "user",
                                                    "content", "do it again"));
    corr_request(c, pid, mono_ns(), req3, collect, NULL);
    assert_int_equal(strlen(str(req3, "trace_context", "trace_id")), 32);
    assert_string_not_equal(str(req3, "trace_context", "trace_id"), trace);
    json_decref(req3);
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
    uint64_t ts = mono_ns();
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

/* A host event of pid p: linked to the calls pending for p's agent and
 * traced by it, through the per-bucket counts that let the lookup skip
 * its scans.  Pids here do not exist (pid_max is far lower), so the walk
 * stops at the process itself. */
static json_t *host_event_of(correlator *c, uint32_t p)
{
    json_t *ev = json_pack("{s:s}", "event_id", "01JAAAAAAAAAAAAAAAAAAAAAAA");
    corr_host(c, p, ev);
    return ev;
}

static void test_host_lookup_buckets(void **state)
{
    fixture *f = *state;
    emitted = json_array();
    correlator *c = corr_new(f->pc, f->host);
    const uint32_t agent = 5000001, twin = agent + 4096; /* the same bucket */
    uint64_t ts = mono_ns();
    json_t *req = ai_event("ai.request", json_pack("{s:[{s:s,s:s}]}", "messages", "role", "user",
                                                   "content", "go"));
    corr_request(c, agent, ts, req, collect, NULL);
    json_t *resp = ai_event("ai.response", json_pack("{s:[{s:s,s:s,s:{}}]}", "tool_calls", "id", "b1",
                                                     "name", "run_shell", "arguments"));
    corr_set_trace(resp, str(req, "trace_context", "trace_id"));
    corr_response(c, agent, ts + 1, resp, collect, NULL);
    json_t *ev = host_event_of(c, twin); /* same bucket, other process: nothing */
    assert_null(json_object_get(ev, "related_events"));
    assert_null(json_object_get(ev, "trace_context"));
    json_decref(ev);
    ev = host_event_of(c, agent); /* the agent, call pending: linked */
    assert_int_equal(json_array_size(json_object_get(ev, "related_events")), 1);
    json_decref(ev);
    corr_expire(c, ts + 10, 0); /* the call goes: traced by the agent, not linked */
    ev = host_event_of(c, agent);
    assert_null(json_object_get(ev, "related_events"));
    assert_string_equal(str(ev, "trace_context", "trace_id"), str(req, "trace_context", "trace_id"));
    json_decref(ev);
    for (uint32_t i = 0; i < 1024; i++) /* 1024 newer agents: the first one's slot goes */
        corr_request(c, 6000000 + i, ts + 100 + i, req, collect, NULL);
    ev = host_event_of(c, agent);
    assert_null(json_object_get(ev, "trace_context"));
    json_decref(ev);
    ev = host_event_of(c, 6000000 + 1023); /* and the newest is found */
    assert_non_null(json_object_get(ev, "trace_context"));
    json_decref(ev);
    json_decref(req);
    json_decref(resp);
    json_decref(emitted);
    corr_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test_setup_teardown(test_host_lookup_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_and_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_write_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_correlation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_matching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_unanswered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_malformed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

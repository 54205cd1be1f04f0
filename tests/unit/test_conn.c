/* test_conn.c: tests for src/stream/conn.c, the connection table.
 *
 * Records are made the way the capture makes them (per direction offsets,
 * arbitrary cuts), and the exchanges that come out are checked: FIFO pairing
 * on keep-alive connections, connections of one process kept apart, client
 * and server roles, gaps, mid-stream starts, SSL* reuse, exits, expiry,
 * eviction, and that every request's user pointer is released. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stream/conn.h"

#define MAX_EX 1024

typedef struct ex {
    uint64_t conn_id;
    int role;
    int has_req, has_resp;
    char method[16];
    char target[64];
    int status;
    char body[128];
    unsigned req_flags, resp_flags;
    uint32_t tgid;
    uint64_t ssl;
} ex;

typedef struct rec {
    ex e[MAX_EX];
    size_t n;
    size_t on_request, users_alloc, users_freed;
} rec;

static void cb_request(void *ctx, const conn_info *c, http_msg *req)
{
    rec *r = ctx;
    r->on_request++;
    assert_null(req->user);
    req->user = malloc(32); /* must come back through free_user */
    assert_non_null(req->user);
    r->users_alloc++;
    assert_true(c->role == CONN_ROLE_CLIENT || c->role == CONN_ROLE_SERVER);
}

static void cb_exchange(void *ctx, const conn_info *c, http_msg *req, http_msg *resp)
{
    rec *r = ctx;
    assert_true(r->n < MAX_EX);
    assert_true(req || resp);
    ex *e = &r->e[r->n++];
    memset(e, 0, sizeof *e);
    e->conn_id = c->id;
    e->role = c->role;
    e->tgid = c->key.tgid;
    e->ssl = c->key.ssl;
    if (req) {
        assert_true(req->is_request);
        e->has_req = 1;
        snprintf(e->method, sizeof e->method, "%s", req->method);
        snprintf(e->target, sizeof e->target, "%s", req->target);
        e->req_flags = req->flags;
    }
    if (resp) {
        assert_false(resp->is_request);
        e->has_resp = 1;
        e->status = resp->status;
        snprintf(e->body, sizeof e->body, "%s", (const char *)resp->body);
        e->resp_flags = resp->flags;
    }
}

static void cb_free_user(void *ctx, void *user)
{
    rec *r = ctx;
    r->users_freed++;
    free(user);
}

static conn_table *table_new(rec *r, const conn_limits *lim)
{
    memset(r, 0, sizeof *r);
    conn_table_cb cb = {r, cb_request, cb_exchange, cb_free_user};
    conn_table *t = conn_table_new(lim, &cb);
    assert_non_null(t);
    return t;
}

/* One connection's two byte streams, as the capture numbers them. */
typedef struct stream {
    conn_table *t;
    conn_key k;
    uint64_t off[2];
} stream;

static uint64_t g_clock = 1000;

static void put_n(stream *s, int dir, const void *data, size_t len)
{
    conn_table_record(s->t, &s->k, dir, s->off[dir], data, len, 0, ++g_clock, 42);
    s->off[dir] += len;
}

static void put(stream *s, int dir, const char *data)
{
    put_n(s, dir, data, strlen(data));
}

/* Send `data` on dir in pieces of `step` bytes. */
static void put_split(stream *s, int dir, const char *data, size_t step)
{
    size_t n = strlen(data);
    for (size_t off = 0; off < n; off += step)
        put_n(s, dir, data + off, n - off < step ? n - off : step);
}

static void fmt_request(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap,
             "POST /v1/%s HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n{\"tag\":\"%s\"}",
             tag, strlen(tag) + 10, tag);
}

static void fmt_response(char *buf, size_t cap, const char *tag, int chunked)
{
    if (chunked)
        snprintf(buf, cap, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\nresp %s\r\n0\r\n\r\n",
                 strlen(tag) + 5, tag);
    else
        snprintf(buf, cap, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\nresp %s", strlen(tag) + 5, tag);
}

static void assert_pair(const ex *e, const char *tag)
{
    char target[64], body[64];
    snprintf(target, sizeof target, "/v1/%s", tag);
    snprintf(body, sizeof body, "resp %s", tag);
    assert_true(e->has_req && e->has_resp);
    assert_string_equal(e->target, target);
    assert_string_equal(e->body, body);
    assert_int_equal(e->status, 200);
    assert_int_equal(e->req_flags, 0);
    assert_int_equal(e->resp_flags, 0);
}

static void table_done(conn_table *t, rec *r)
{
    conn_table_flush(t, ++g_clock);
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_int_equal(st.conns_open, 0);
    conn_table_free(t);
    assert_int_equal(r->users_alloc, r->users_freed);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_keepalive_50_in_order(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {100, 0x7f0001}, {0, 0}};
    char buf[512], tag[16];
    for (int i = 0; i < 50; i++) {
        snprintf(tag, sizeof tag, "x%d", i);
        fmt_request(buf, sizeof buf, tag);
        put_split(&s, CONN_DIR_WRITE, buf, i % 3 ? 1000 : 7);
        assert_int_equal(r.on_request, (size_t)i + 1);
        fmt_response(buf, sizeof buf, tag, i % 2);
        put_split(&s, CONN_DIR_READ, buf, 5 + (size_t)i);
        assert_int_equal(r.n, (size_t)i + 1);
    }
    for (int i = 0; i < 50; i++) {
        snprintf(tag, sizeof tag, "x%d", i);
        assert_pair(&r.e[i], tag);
        assert_int_equal(r.e[i].role, CONN_ROLE_CLIENT);
        assert_int_equal(r.e[i].conn_id, r.e[0].conn_id);
    }
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_int_equal(st.requests, 50);
    assert_int_equal(st.responses, 50);
    assert_int_equal(st.conns_open, 1);
    assert_int_equal(st.conns_total, 1);
    assert_int_equal(st.unpaired_responses + st.orphaned_requests + st.gaps + st.parse_errors, 0);
    table_done(t, &r);
    assert_int_equal(r.n, 50);
}

static void test_pipelined_fifo(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {100, 0x7f0002}, {0, 0}};
    char all[4096] = "", buf[512], tag[16];
    for (int i = 0; i < 5; i++) {
        snprintf(tag, sizeof tag, "p%d", i);
        fmt_request(buf, sizeof buf, tag);
        strcat(all, buf);
    }
    put(&s, CONN_DIR_WRITE, all);
    all[0] = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(tag, sizeof tag, "p%d", i);
        fmt_response(buf, sizeof buf, tag, i == 2);
        strcat(all, buf);
    }
    put_split(&s, CONN_DIR_READ, all, 33);
    assert_int_equal(r.n, 5);
    for (int i = 0; i < 5; i++) {
        snprintf(tag, sizeof tag, "p%d", i);
        assert_pair(&r.e[i], tag);
    }
    table_done(t, &r);
}

static void test_two_conns_same_tgid_interleaved(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream a = {t, {555, 0xaaaa}, {0, 0}}, b = {t, {555, 0xbbbb}, {0, 0}};
    char ra[4096] = "", rb[4096] = "", sa[4096] = "", sb[4096] = "", buf[512], tag[16];
    for (int i = 0; i < 4; i++) {
        snprintf(tag, sizeof tag, "a%d", i);
        fmt_request(buf, sizeof buf, tag);
        strcat(ra, buf);
        fmt_response(buf, sizeof buf, tag, i % 2);
        strcat(sa, buf);
        snprintf(tag, sizeof tag, "b%d", i);
        fmt_request(buf, sizeof buf, tag);
        strcat(rb, buf);
        fmt_response(buf, sizeof buf, tag, !(i % 2));
        strcat(sb, buf);
    }
    /* record by record: a and b alternate, requests and responses are cut
     * at different places */
    size_t la = strlen(ra), lb = strlen(rb), lsa = strlen(sa), lsb = strlen(sb);
    size_t oa = 0, ob = 0, osa = 0, osb = 0;
    while (oa < la || ob < lb) {
        size_t k = la - oa < 37 ? la - oa : 37;
        if (k)
            put_n(&a, CONN_DIR_WRITE, ra + oa, k), oa += k;
        k = lb - ob < 53 ? lb - ob : 53;
        if (k)
            put_n(&b, CONN_DIR_WRITE, rb + ob, k), ob += k;
    }
    while (osa < lsa || osb < lsb) {
        size_t k = lsb - osb < 29 ? lsb - osb : 29;
        if (k)
            put_n(&b, CONN_DIR_READ, sb + osb, k), osb += k;
        k = lsa - osa < 41 ? lsa - osa : 41;
        if (k)
            put_n(&a, CONN_DIR_READ, sa + osa, k), osa += k;
    }
    assert_int_equal(r.n, 8);
    int na = 0, nb = 0;
    uint64_t ida = 0, idb = 0;
    for (size_t i = 0; i < r.n; i++) {
        const ex *e = &r.e[i];
        char want[16];
        if (e->ssl == 0xaaaa) {
            snprintf(want, sizeof want, "a%d", na++);
            ida = e->conn_id;
        } else {
            assert_int_equal(e->ssl, 0xbbbb);
            snprintf(want, sizeof want, "b%d", nb++);
            idb = e->conn_id;
        }
        assert_pair(e, want);
    }
    assert_int_equal(na, 4);
    assert_int_equal(nb, 4);
    assert_true(ida != idb);
    table_done(t, &r);
}

static void test_server_role(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {300, 0x5e}, {0, 0}};
    char buf[512];
    /* a local gateway: it reads requests and writes responses */
    fmt_request(buf, sizeof buf, "srv1");
    put_split(&s, CONN_DIR_READ, buf, 10);
    fmt_response(buf, sizeof buf, "srv1", 1);
    put(&s, CONN_DIR_WRITE, buf);
    fmt_request(buf, sizeof buf, "srv2");
    put(&s, CONN_DIR_READ, buf);
    fmt_response(buf, sizeof buf, "srv2", 0);
    put_split(&s, CONN_DIR_WRITE, buf, 3);
    assert_int_equal(r.n, 2);
    assert_pair(&r.e[0], "srv1");
    assert_pair(&r.e[1], "srv2");
    assert_int_equal(r.e[0].role, CONN_ROLE_SERVER);
    table_done(t, &r);
}

static void test_gap_in_body(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {1, 0x6a9}, {0, 0}};
    char buf[512];
    fmt_request(buf, sizeof buf, "g1");
    put(&s, CONN_DIR_WRITE, buf);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
    put(&s, CONN_DIR_READ, head);
    s.off[CONN_DIR_READ] += 30; /* 30 bytes never captured */
    put(&s, CONN_DIR_READ, "the rest of the body is here, sixty bytes of it ........");
    assert_int_equal(r.n, 1);
    assert_true(r.e[0].has_req && r.e[0].has_resp);
    assert_string_equal(r.e[0].target, "/v1/g1");
    assert_string_equal(r.e[0].body, "0123456789");
    assert_int_equal(r.e[0].resp_flags, HTTP_MSG_INCOMPLETE | HTTP_MSG_CAPTURE_GAP);
    /* the connection carries on */
    fmt_request(buf, sizeof buf, "g2");
    put(&s, CONN_DIR_WRITE, buf);
    fmt_response(buf, sizeof buf, "g2", 0);
    put(&s, CONN_DIR_READ, buf);
    assert_int_equal(r.n, 2);
    assert_pair(&r.e[1], "g2");

    /* a record over the per-call cap: lost_after makes the gap */
    fmt_request(buf, sizeof buf, "g3");
    put(&s, CONN_DIR_WRITE, buf);
    head = "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\nkept part";
    conn_table_record(t, &s.k, CONN_DIR_READ, s.off[1], (const uint8_t *)head, strlen(head), 4000, ++g_clock, 1);
    s.off[1] += strlen(head) + 4000;
    assert_int_equal(r.n, 3);
    assert_int_equal(r.e[2].resp_flags, HTTP_MSG_INCOMPLETE | HTTP_MSG_CAPTURE_GAP);
    assert_string_equal(r.e[2].body, "kept part");
    fmt_request(buf, sizeof buf, "g4");
    put(&s, CONN_DIR_WRITE, buf);
    fmt_response(buf, sizeof buf, "g4", 1);
    put(&s, CONN_DIR_READ, buf);
    assert_int_equal(r.n, 4);
    assert_pair(&r.e[3], "g4");

    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_int_equal(st.gaps, 2);
    assert_int_equal(st.parse_errors, 0);
    table_done(t, &r);
}

static void test_response_lost_in_gap(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {1, 0x10a}, {0, 0}};
    char buf[512];
    fmt_request(buf, sizeof buf, "lost");
    put(&s, CONN_DIR_WRITE, buf);
    fmt_response(buf, sizeof buf, "lost", 0);
    s.off[CONN_DIR_READ] += strlen(buf); /* the whole response vanished */
    fmt_request(buf, sizeof buf, "next");
    put(&s, CONN_DIR_WRITE, buf);
    fmt_response(buf, sizeof buf, "next", 0);
    put(&s, CONN_DIR_READ, buf);
    assert_int_equal(r.n, 2);
    assert_true(r.e[0].has_req && !r.e[0].has_resp);
    assert_string_equal(r.e[0].target, "/v1/lost");
    assert_pair(&r.e[1], "next");
    table_done(t, &r);
}

static void test_mid_stream_start(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {9, 0x3d}, {700, 5000}};
    /* attached inside a response body */
    put(&s, CONN_DIR_READ, "...\"content\":\"tail of an old response\"}]}");
    put(&s, CONN_DIR_READ, "\r\n0\r\n\r\n");
    assert_int_equal(r.n, 0);
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_int_equal(st.requests + st.responses, 0);
    assert_true(st.non_http_bytes > 0);
    char buf[512];
    fmt_request(buf, sizeof buf, "next");
    put(&s, CONN_DIR_WRITE, buf);
    assert_int_equal(r.on_request, 1);
    fmt_response(buf, sizeof buf, "next", 1);
    put(&s, CONN_DIR_READ, buf);
    assert_int_equal(r.n, 1);
    assert_pair(&r.e[0], "next");
    assert_int_equal(r.e[0].role, CONN_ROLE_CLIENT);
    table_done(t, &r);
}

static void test_mid_stream_response_then_request(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {9, 0x3e}, {0, 0}};
    /* the first record of the write side starts in a request body; the read
     * side is a response whose request we never saw */
    put(&s, CONN_DIR_WRITE, "\"stream\":true}");
    put(&s, CONN_DIR_READ, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(r.n, 0);
    char buf[512];
    fmt_request(buf, sizeof buf, "first-seen");
    put(&s, CONN_DIR_WRITE, buf);
    fmt_response(buf, sizeof buf, "first-seen", 0);
    put(&s, CONN_DIR_READ, buf);
    assert_int_equal(r.n, 1);
    assert_pair(&r.e[0], "first-seen");
    table_done(t, &r);
}

static void test_ssl_reuse(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {77, 0x55aa}, {0, 0}};
    char buf[512];
    fmt_request(buf, sizeof buf, "old1");
    put(&s, CONN_DIR_WRITE, buf);
    fmt_response(buf, sizeof buf, "old1", 0);
    put(&s, CONN_DIR_READ, buf);
    fmt_request(buf, sizeof buf, "old2");
    put(&s, CONN_DIR_WRITE, buf); /* never answered */
    assert_int_equal(r.n, 1);
    /* the SSL* is freed and reallocated for a new connection: offsets restart */
    s.off[0] = s.off[1] = 0;
    fmt_request(buf, sizeof buf, "new1");
    put(&s, CONN_DIR_WRITE, buf);
    assert_int_equal(r.n, 2);
    assert_true(r.e[1].has_req && !r.e[1].has_resp);
    assert_string_equal(r.e[1].target, "/v1/old2");
    fmt_response(buf, sizeof buf, "new1", 1);
    put(&s, CONN_DIR_READ, buf);
    assert_int_equal(r.n, 3);
    assert_pair(&r.e[2], "new1");
    assert_true(r.e[2].conn_id != r.e[0].conn_id);
    assert_int_equal(r.e[0].conn_id, r.e[1].conn_id);
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_int_equal(st.conns_total, 2);
    assert_int_equal(st.conns_open, 1);
    assert_int_equal(st.orphaned_requests, 1);
    table_done(t, &r);
}

static void test_exit_with_pending_request(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream a = {t, {1234, 0xa}, {0, 0}}, a2 = {t, {1234, 0xa2}, {0, 0}}, b = {t, {999, 0xa}, {0, 0}};
    char buf[512];
    fmt_request(buf, sizeof buf, "dying");
    put(&a, CONN_DIR_WRITE, buf);
    fmt_request(buf, sizeof buf, "dying2");
    put_split(&a2, CONN_DIR_WRITE, buf, 50);
    fmt_request(buf, sizeof buf, "other");
    put(&b, CONN_DIR_WRITE, buf);
    conn_table_exit(t, 1234, ++g_clock);
    assert_int_equal(r.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(r.e[i].has_req && !r.e[i].has_resp);
        assert_int_equal(r.e[i].tgid, 1234);
    }
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_int_equal(st.orphaned_requests, 2);
    assert_int_equal(st.conns_open, 1);
    /* the other process is untouched */
    fmt_response(buf, sizeof buf, "other", 0);
    put(&b, CONN_DIR_READ, buf);
    assert_int_equal(r.n, 3);
    assert_pair(&r.e[2], "other");
    conn_table_exit(t, 4242, ++g_clock); /* unknown: nothing */
    table_done(t, &r);
}

static void test_duplicate_and_overlap(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    conn_key k = {5, 0xd0};
    char req[512], resp[512];
    fmt_request(req, sizeof req, "dup");
    fmt_response(resp, sizeof resp, "dup", 0);
    size_t n = strlen(req), m = strlen(resp);
    conn_table_record(t, &k, CONN_DIR_WRITE, 0, (const uint8_t *)req, 20, 0, 1, 1);
    conn_table_record(t, &k, CONN_DIR_WRITE, 0, (const uint8_t *)req, 20, 0, 2, 1);       /* same again */
    conn_table_record(t, &k, CONN_DIR_WRITE, 10, (const uint8_t *)req + 10, n - 10, 0, 3, 1); /* overlaps */
    conn_table_record(t, &k, CONN_DIR_WRITE, 5, (const uint8_t *)req + 5, 10, 0, 4, 1);    /* old */
    assert_int_equal(r.on_request, 1);
    conn_table_record(t, &k, CONN_DIR_READ, 0, (const uint8_t *)resp, m, 0, 5, 1);
    assert_int_equal(r.n, 1);
    assert_pair(&r.e[0], "dup");
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_int_equal(st.gaps + st.parse_errors, 0);
    table_done(t, &r);
}

static void test_close_ends_close_delimited(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {8, 0xc1}, {0, 0}};
    put(&s, CONN_DIR_WRITE, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
    put(&s, CONN_DIR_READ, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one ");
    put(&s, CONN_DIR_READ, "part two");
    assert_int_equal(r.n, 0);
    conn_table_close(t, &s.k, ++g_clock);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.e[0].body, "part one part two");
    assert_int_equal(r.e[0].resp_flags, 0);
    conn_table_close(t, &s.k, ++g_clock); /* already gone */
    assert_int_equal(r.n, 1);
    table_done(t, &r);
}

static void test_head_and_continue(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {8, 0xc2}, {0, 0}};
    put(&s, CONN_DIR_WRITE, "HEAD /v1/h HTTP/1.1\r\nHost: h\r\n\r\n");
    put(&s, CONN_DIR_READ, "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n");
    put(&s, CONN_DIR_WRITE, "POST /v1/c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    put(&s, CONN_DIR_READ, "HTTP/1.1 100 Continue\r\n\r\n");
    put(&s, CONN_DIR_WRITE, "body");
    put(&s, CONN_DIR_READ, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nresp body");
    assert_int_equal(r.n, 2);
    assert_string_equal(r.e[0].method, "HEAD");
    assert_int_equal(r.e[0].status, 200);
    assert_string_equal(r.e[0].body, "");
    assert_string_equal(r.e[1].target, "/v1/c");
    assert_string_equal(r.e[1].body, "resp body");
    table_done(t, &r);
}

static void test_early_response(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {8, 0xc3}, {0, 0}};
    put(&s, CONN_DIR_WRITE, "POST /v1/upload HTTP/1.1\r\nContent-Length: 100000\r\n\r\nsome of the body");
    put(&s, CONN_DIR_READ, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig");
    assert_int_equal(r.n, 0);
    conn_table_close(t, &s.k, ++g_clock);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.e[0].target, "/v1/upload");
    assert_int_equal(r.e[0].req_flags, HTTP_MSG_INCOMPLETE);
    assert_int_equal(r.e[0].status, 413);
    table_done(t, &r);
}

static void test_expire_and_evict(void **state)
{
    (void)state;
    rec r;
    conn_limits lim;
    conn_limits_default(&lim);
    lim.max_conns = 2;
    lim.idle_timeout_ns = 1000;
    conn_table *t = table_new(&r, &lim);
    char buf[512];
    fmt_request(buf, sizeof buf, "c1");
    conn_table_record(t, &(conn_key){1, 1}, CONN_DIR_WRITE, 0, (const uint8_t *)buf, strlen(buf), 0, 10, 1);
    fmt_request(buf, sizeof buf, "c2");
    conn_table_record(t, &(conn_key){1, 2}, CONN_DIR_WRITE, 0, (const uint8_t *)buf, strlen(buf), 0, 20, 1);
    /* touching c1 makes c2 the least recently used */
    conn_table_record(t, &(conn_key){1, 1}, CONN_DIR_READ, 0, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17, 0, 30, 1);
    fmt_request(buf, sizeof buf, "c3");
    conn_table_record(t, &(conn_key){1, 3}, CONN_DIR_WRITE, 0, (const uint8_t *)buf, strlen(buf), 0, 40, 1);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.e[0].target, "/v1/c2");
    assert_false(r.e[0].has_resp);
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_int_equal(st.conns_evicted, 1);
    assert_int_equal(st.conns_open, 2);
    /* at 1035 c1 (last 30) is idle for 1005, c3 (last 40) for 995 */
    conn_table_expire(t, 1035);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.e[1].target, "/v1/c1");
    conn_table_get_stats(t, &st);
    assert_int_equal(st.conns_open, 1);
    conn_table_expire(t, 1040);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.e[2].target, "/v1/c3");
    table_done(t, &r);
}

static void test_max_pending(void **state)
{
    (void)state;
    rec r;
    conn_limits lim;
    conn_limits_default(&lim);
    lim.max_pending = 2;
    conn_table *t = table_new(&r, &lim);
    stream s = {t, {3, 3}, {0, 0}};
    char buf[512];
    const char *tags[] = {"q0", "q1", "q2"};
    for (int i = 0; i < 3; i++) {
        fmt_request(buf, sizeof buf, tags[i]);
        put(&s, CONN_DIR_WRITE, buf);
    }
    assert_int_equal(r.n, 1);
    assert_string_equal(r.e[0].target, "/v1/q0");
    assert_false(r.e[0].has_resp);
    fmt_response(buf, sizeof buf, "q1", 0);
    put(&s, CONN_DIR_READ, buf);
    assert_pair(&r.e[1], "q1");
    table_done(t, &r);
    assert_int_equal(r.n, 3); /* q2 orphaned at flush */
    assert_string_equal(r.e[2].target, "/v1/q2");
}

static void test_not_http(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    stream s = {t, {4, 4}, {0, 0}};
    static const char h2[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00";
    put_n(&s, CONN_DIR_WRITE, h2, sizeof h2 - 1);
    put_n(&s, CONN_DIR_READ, "\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
    put(&s, CONN_DIR_WRITE, "G"); /* a start too short to judge ... */
    put(&s, CONN_DIR_WRITE, "ARBAGE that is not a method"); /* ... that fails */
    assert_int_equal(r.n, 0);
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_int_equal(st.non_http_bytes, sizeof h2 - 1 + 9 + 1 + 27);
    assert_int_equal(st.requests, 0);
    /* a request start split over records still decides the role */
    put(&s, CONN_DIR_WRITE, "PO");
    put(&s, CONN_DIR_WRITE, "ST /v1/late HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(r.on_request, 1);
    put(&s, CONN_DIR_READ, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_int_equal(r.n, 1);
    assert_string_equal(r.e[0].target, "/v1/late");
    assert_int_equal(r.e[0].status, 204);
    table_done(t, &r);
    /* robustness of the API edges */
    conn_table_record(NULL, NULL, 0, 0, NULL, 0, 0, 0, 0);
    conn_table_free(NULL);
}

/* Many connections, random cuts and interleaving, random tiny gaps on some:
 * every exchange on a clean connection must pair right. */
static void test_random_interleaving(void **state)
{
    (void)state;
    rec r;
    conn_table *t = table_new(&r, NULL);
    enum { NC = 12, NX = 6 };
    typedef struct { stream s; char req[4096], resp[4096]; size_t lq, lr, oq, or_; } conv;
    static conv cv[NC];
    char buf[512], tag[32];
    for (int c = 0; c < NC; c++) {
        cv[c].s = (stream){t, {(uint32_t)(10 + c % 3), (uint64_t)(0x1000 + c)}, {0, 0}};
        cv[c].req[0] = cv[c].resp[0] = 0;
        for (int x = 0; x < NX; x++) {
            snprintf(tag, sizeof tag, "c%dx%d", c, x);
            fmt_request(buf, sizeof buf, tag);
            strcat(cv[c].req, buf);
            fmt_response(buf, sizeof buf, tag, (c + x) % 2);
            strcat(cv[c].resp, buf);
        }
        cv[c].lq = strlen(cv[c].req);
        cv[c].lr = strlen(cv[c].resp);
        cv[c].oq = cv[c].or_ = 0;
    }
    uint32_t seed = 77;
    for (int left = 1; left;) {
        left = 0;
        for (int c = 0; c < NC; c++) {
            conv *v = &cv[c];
            seed = seed * 1103515245u + 12345u;
            size_t k = 1 + (seed >> 16) % 90;
            /* a response byte only after the whole request stream: keeps FIFO honest */
            if (v->oq < v->lq) {
                if (k > v->lq - v->oq)
                    k = v->lq - v->oq;
                put_n(&v->s, CONN_DIR_WRITE, v->req + v->oq, k);
                v->oq += k;
                left = 1;
            } else if (v->or_ < v->lr) {
                if (k > v->lr - v->or_)
                    k = v->lr - v->or_;
                put_n(&v->s, CONN_DIR_READ, v->resp + v->or_, k);
                v->or_ += k;
                left = 1;
            }
        }
    }
    assert_int_equal(r.n, NC * NX);
    int next[NC] = {0};
    for (size_t i = 0; i < r.n; i++) {
        int c = (int)(r.e[i].ssl - 0x1000);
        assert_true(c >= 0 && c < NC);
        snprintf(tag, sizeof tag, "c%dx%d", c, next[c]++);
        assert_pair(&r.e[i], tag);
        assert_int_equal(r.e[i].tgid, 10 + c % 3);
    }
    table_done(t, &r);
}

/* Hostile or broken capture: random keys, directions, offsets, cuts of
 * valid traffic mixed with junk, closes and exits.  Nothing may crash or
 * leak, and every request handed out comes back through free_user. */
static void test_fuzz_records(void **state)
{
    (void)state;
    rec r;
    conn_limits lim;
    conn_limits_default(&lim);
    lim.max_conns = 4;
    lim.max_pending = 3;
    lim.http.max_body_bytes = 100;
    lim.http.max_header_bytes = 300;
    lim.idle_timeout_ns = 500;
    conn_table *t = table_new(&r, &lim);
    const char *pieces[] = {
        "POST /v1/x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "GET / HTTP/1.1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\nclose-delimited",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "\x16\x03\x01garbage\xff\xfe",
        "5\r\nhel",
        "HEAD /h HTTP/1.1\r\n\r\n",
    };
    size_t np = sizeof pieces / sizeof pieces[0];
    uint64_t off[6][2] = {{0}};
    uint32_t seed = 31337;
#define RND() (seed = seed * 1103515245u + 12345u, seed >> 8)
    for (int i = 0; i < 20000; i++) {
        int c = (int)(RND() % 6), dir = (int)(RND() % 2);
        conn_key k = {(uint32_t)(1 + c % 2), (uint64_t)c};
        const char *pc = pieces[RND() % np];
        size_t len = strlen(pc), from = RND() % 3 == 0 ? RND() % (len + 1) : 0;
        uint64_t o = off[c][dir];
        switch (RND() % 16) {
        case 0: o += RND() % 50; break;               /* gap */
        case 1: o = o > 10 ? o - RND() % 10 : 0; break; /* overlap */
        case 2: o = 0; break;                            /* reuse */
        default: break;
        }
        uint64_t lost = RND() % 40 == 0 ? RND() % 100 : 0;
        conn_table_record(t, &k, dir, o, (const uint8_t *)pc + from, len - from, lost, (uint64_t)i, 1);
        if (o + (len - from) + lost > off[c][dir])
            off[c][dir] = o + (len - from) + lost;
        switch (RND() % 200) {
        case 0: conn_table_close(t, &k, (uint64_t)i); off[c][0] = off[c][1] = 0; break;
        case 1: conn_table_exit(t, k.tgid, (uint64_t)i); memset(off, 0, sizeof off); break;
        case 2: conn_table_expire(t, (uint64_t)i); break;
        default: break;
        }
        if (r.n > MAX_EX - 50)
            r.n = 0;
    }
#undef RND
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    assert_true(st.conns_open <= 4);
    assert_true(st.conns_evicted > 0);
    assert_true(st.requests > 0 && st.responses > 0);
    table_done(t, &r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_50_in_order),
        cmocka_unit_test(test_pipelined_fifo),
        cmocka_unit_test(test_two_conns_same_tgid_interleaved),
        cmocka_unit_test(test_server_role),
        cmocka_unit_test(test_gap_in_body),
        cmocka_unit_test(test_response_lost_in_gap),
        cmocka_unit_test(test_mid_stream_start),
        cmocka_unit_test(test_mid_stream_response_then_request),
        cmocka_unit_test(test_ssl_reuse),
        cmocka_unit_test(test_exit_with_pending_request),
        cmocka_unit_test(test_duplicate_and_overlap),
        cmocka_unit_test(test_close_ends_close_delimited),
        cmocka_unit_test(test_head_and_continue),
        cmocka_unit_test(test_early_response),
        cmocka_unit_test(test_expire_and_evict),
        cmocka_unit_test(test_max_pending),
        cmocka_unit_test(test_not_http),
        cmocka_unit_test(test_random_interleaving),
        cmocka_unit_test(test_fuzz_records),
    };
    return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}

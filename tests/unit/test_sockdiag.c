/* test_sockdiag.c: tests src/host/sockdiag.c.
 *
 * The netlink parser is fed hand-built inet_diag replies (byte order,
 * IPv4 and IPv6, errors, truncation, the size limit) and random bytes.
 * Live: listeners and connections on 127.0.0.1 and ::1 made by this test
 * must appear with this pid and the right addresses and ports, only the
 * outbound ones become network.connect events (schema-valid), the seen
 * filter suppresses them, and closing the sockets makes them disappear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events/clock.h"
#include "events/event.h"
#include "host/sockdiag.h"

#define VALIDATE "../../../shared/tools/oisp-validate"

/* Appends one inet_diag_msg reply to buf at *off. */
static void put_msg(char *buf, size_t *off, uint8_t family, uint8_t state, const char *src,
                    uint16_t sport, const char *dst, uint16_t dport, uint32_t inode,
                    uint32_t cookie)
{
    struct nlmsghdr h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct inet_diag_msg)),
                         .nlmsg_type = SOCK_DIAG_BY_FAMILY};
    struct inet_diag_msg m;
    memset(&m, 0, sizeof(m));
    m.idiag_family = family;
    m.idiag_state = state;
    m.id.idiag_sport = htons(sport);
    m.id.idiag_dport = htons(dport);
    inet_pton(family, src, m.id.idiag_src);
    inet_pton(family, dst, m.id.idiag_dst);
    m.id.idiag_cookie[0] = cookie;
    m.idiag_inode = inode;
    m.idiag_uid = 1000;
    memcpy(buf + *off, &h, sizeof(h));
    memcpy(buf + *off + NLMSG_HDRLEN, &m, sizeof(m));
    *off += NLMSG_ALIGN(h.nlmsg_len);
}

static void put_done(char *buf, size_t *off)
{
    struct nlmsghdr h = {.nlmsg_len = NLMSG_LENGTH(sizeof(int)), .nlmsg_type = NLMSG_DONE};
    memset(buf + *off, 0, NLMSG_ALIGN(h.nlmsg_len));
    memcpy(buf + *off, &h, sizeof(h));
    *off += NLMSG_ALIGN(h.nlmsg_len);
}

static void test_parse(void **state)
{
    (void)state;
    char buf[4096];
    size_t off = 0, n = 0;
    uint64_t dropped = 0;
    sockdiag_conn out[4];
    put_msg(buf, &off, AF_INET, TCP_ESTABLISHED, "10.1.2.3", 8080, "93.184.216.34", 443, 777, 5);
    put_msg(buf, &off, AF_INET6, TCP_LISTEN, "::1", 9464, "::", 0, 778, 6);
    assert_int_equal(sockdiag_parse(buf, off, IPPROTO_TCP, out, 4, &n, &dropped), 0);
    put_done(buf, &off);
    n = 0;
    assert_int_equal(sockdiag_parse(buf, off, IPPROTO_TCP, out, 4, &n, &dropped), 1);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].family, AF_INET);
    assert_int_equal(out[0].sport, 8080); /* host order after ntohs */
    assert_int_equal(out[0].dport, 443);
    assert_int_equal(out[0].inode, 777);
    assert_int_equal(out[0].uid, 1000);
    assert_int_equal(out[0].cookie, 5);
    char ip[64];
    sockdiag_addr_str(&out[0], 0, ip, sizeof(ip));
    assert_string_equal(ip, "10.1.2.3");
    sockdiag_addr_str(&out[0], 1, ip, sizeof(ip));
    assert_string_equal(ip, "93.184.216.34");
    assert_string_equal(sockdiag_state_name(&out[0]), "ESTAB");
    assert_false(sockdiag_is_listening(&out[0]));
    sockdiag_addr_str(&out[1], 0, ip, sizeof(ip));
    assert_string_equal(ip, "::1");
    assert_string_equal(sockdiag_state_name(&out[1]), "LISTEN");
    assert_true(sockdiag_is_listening(&out[1]));

    /* bounded: the third socket is counted, not stored */
    n = 0;
    assert_int_equal(sockdiag_parse(buf, off, IPPROTO_UDP, out, 1, &n, &dropped), 1);
    assert_int_equal(n, 1);
    assert_int_equal(dropped, 1);
    assert_int_equal(out[0].proto, IPPROTO_UDP);

    /* an NLMSG_ERROR reply carries its errno */
    struct {
        struct nlmsghdr h;
        struct nlmsgerr e;
    } err = {.h = {.nlmsg_len = sizeof(err), .nlmsg_type = NLMSG_ERROR}, .e = {.error = -EPERM}};
    n = 0;
    assert_int_equal(sockdiag_parse(&err, sizeof(err), IPPROTO_TCP, out, 4, &n, &dropped), -EPERM);
    /* a length running past the buffer, or shorter than a header */
    struct nlmsghdr bad = {.nlmsg_len = 9999, .nlmsg_type = SOCK_DIAG_BY_FAMILY};
    assert_int_equal(sockdiag_parse(&bad, sizeof(bad), IPPROTO_TCP, out, 4, &n, &dropped),
                     -EBADMSG);
    bad.nlmsg_len = 3;
    assert_int_equal(sockdiag_parse(&bad, sizeof(bad), IPPROTO_TCP, out, 4, &n, &dropped),
                     -EBADMSG);
    /* a message too short for inet_diag_msg is skipped */
    bad.nlmsg_len = sizeof(bad);
    n = 0;
    assert_int_equal(sockdiag_parse(&bad, sizeof(bad), IPPROTO_TCP, out, 4, &n, &dropped), 0);
    assert_int_equal(n, 0);

    /* every truncation of a valid reply and random bytes: no crash */
    for (size_t cut = 0; cut <= off; cut++) {
        char *c = malloc(cut ? cut : 1);
        memcpy(c, buf, cut);
        n = 0;
        sockdiag_parse(c, cut, IPPROTO_TCP, out, 4, &n, &dropped);
        assert_true(n <= 4);
        free(c);
    }
    srand(3);
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand() % 200);
        char *g = malloc(len ? len : 1);
        for (size_t k = 0; k < len; k++)
            g[k] = (char)rand();
        if (len >= 4 && rand() % 2) { /* plausible lengths reach the deeper paths */
            uint32_t l = (uint32_t)(rand() % (int)(len + 1));
            memcpy(g, &l, 4);
        }
        n = 0;
        sockdiag_parse(g, len, IPPROTO_TCP, out, 4, &n, &dropped);
        free(g);
    }
}

static void test_private(void **state)
{
    (void)state;
    static const struct {
        int fam;
        const char *ip;
        int priv;
    } cases[] = {{AF_INET, "10.0.0.1", 1},        {AF_INET, "172.16.0.1", 1},
                 {AF_INET, "172.32.0.1", 0},      {AF_INET, "192.168.1.1", 1},
                 {AF_INET, "127.0.0.1", 1},       {AF_INET, "169.254.1.1", 1},
                 {AF_INET, "100.64.0.1", 1},      {AF_INET, "100.128.0.1", 0},
                 {AF_INET, "8.8.8.8", 0},         {AF_INET6, "::1", 1},
                 {AF_INET6, "fd00::1", 1},        {AF_INET6, "fe80::1", 1},
                 {AF_INET6, "2001:db8::1", 0},    {AF_INET6, "::ffff:10.1.1.1", 1},
                 {AF_INET6, "::ffff:1.1.1.1", 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t a[16] = {0};
        assert_int_equal(inet_pton(cases[i].fam, cases[i].ip, a), 1);
        if (sockdiag_addr_private((uint8_t)cases[i].fam, a) != cases[i].priv)
            fail_msg("%s: expected private=%d", cases[i].ip, cases[i].priv);
    }
}

/* ---- live ---- */

typedef struct pair {
    int listener, client, server;
    uint16_t lport, cport;
} pair;

static pair make_pair(int family)
{
    pair p;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sl;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        sl = sizeof(*a);
    }
    p.listener = socket(family, SOCK_STREAM, 0);
    assert_int_equal(bind(p.listener, (struct sockaddr *)&ss, sl), 0);
    assert_int_equal(listen(p.listener, 4), 0);
    getsockname(p.listener, (struct sockaddr *)&ss, &sl);
    p.lport = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
    p.client = socket(family, SOCK_STREAM, 0);
    assert_int_equal(connect(p.client, (struct sockaddr *)&ss, sl), 0);
    p.server = accept(p.listener, NULL, NULL);
    assert_true(p.server >= 0);
    getsockname(p.client, (struct sockaddr *)&ss, &sl);
    p.cport = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return p;
}

static void close_pair(pair *p)
{
    close(p->client);
    close(p->server);
    close(p->listener);
}

static const sockdiag_conn *find(const sockdiag *sd, int family, uint8_t state, uint16_t sport,
                                 uint16_t dport)
{
    size_t n;
    const sockdiag_conn *t = sockdiag_table(sd, &n);
    for (size_t i = 0; i < n; i++)
        if (t[i].family == family && t[i].proto == IPPROTO_TCP && t[i].state == state &&
            t[i].sport == sport && t[i].dport == dport)
            return &t[i];
    return NULL;
}

typedef struct collected {
    json_t *events;
    int news, closes;
    uint16_t watch_ports[4];
    int seen_filter_result;
} collected;

static int watched(const collected *c, const sockdiag_conn *x)
{
    for (int i = 0; i < 4; i++)
        if (c->watch_ports[i] && (x->sport == c->watch_ports[i] || x->dport == c->watch_ports[i]))
            return 1;
    return 0;
}

static void on_change(int is_new, const sockdiag_conn *x, void *ctx)
{
    collected *c = ctx;
    if (!watched(c, x))
        return;
    if (is_new)
        c->news++;
    else
        c->closes++;
}

static void on_event(json_t *ev, void *ctx)
{
    collected *c = ctx;
    json_t *d = json_object_get(ev, "data");
    int port = (int)json_integer_value(json_object_get(json_object_get(d, "dest"), "port"));
    for (int i = 0; i < 4; i++)
        if (c->watch_ports[i] && port == c->watch_ports[i])
            json_array_append(c->events, ev);
}

static int seen_filter(const sockdiag_conn *x, void *ctx)
{
    collected *c = ctx;
    return watched(c, x) ? c->seen_filter_result : 0;
}

static void check_pair(const sockdiag *sd, int family, const pair *p, const char *loop)
{
    uint32_t me = (uint32_t)getpid();
    const sockdiag_conn *l = find(sd, family, TCP_LISTEN, p->lport, 0);
    assert_non_null(l);
    assert_int_equal(l->pid, me);
    assert_true(sockdiag_is_listening(l));
    char ip[64];
    sockdiag_addr_str(l, 0, ip, sizeof(ip));
    assert_string_equal(ip, loop);
    const sockdiag_conn *c = find(sd, family, TCP_ESTABLISHED, p->cport, p->lport);
    assert_non_null(c);
    assert_int_equal(c->pid, me);
    assert_true(sockdiag_is_outbound(sd, c));
    sockdiag_addr_str(c, 1, ip, sizeof(ip));
    assert_string_equal(ip, loop);
    const sockdiag_conn *s = find(sd, family, TCP_ESTABLISHED, p->lport, p->cport);
    assert_non_null(s);
    assert_int_equal(s->pid, me);
    assert_false(sockdiag_is_outbound(sd, s)); /* accepted by our listener */
    assert_true(c->inode != s->inode && c->inode && s->inode);
}

static void validate_events(json_t *events)
{
    if (access(VALIDATE, X_OK) != 0) {
        print_message("oisp-validate not found; schema check skipped\n");
        return;
    }
    char path[] = "/tmp/oisp-sockdiag-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        char *s = json_dumps(ev, JSON_COMPACT);
        fprintf(f, "%s\n", s);
        free(s);
    }
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s --quiet %s", VALIDATE, path);
    int rc = system(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
}

static void test_live(void **state)
{
    (void)state;
    char err[256];
    sockdiag *sd = sockdiag_new(NULL, err, sizeof(err));
    if (!sd) {
        print_message("no sock_diag: %s\n", err);
        skip();
    }
    collected col = {.events = json_array()};
    json_t *host = event_host_info();
    sockdiag_set_change_cb(sd, on_change, &col);
    sockdiag_set_event_cb(sd, on_event, &col, host);
    json_decref(host);
    assert_int_equal(sockdiag_poll(sd), 0); /* baseline */

    pair p4 = make_pair(AF_INET), p6 = make_pair(AF_INET6);
    col.watch_ports[0] = p4.lport;
    col.watch_ports[1] = p6.lport;
    assert_int_equal(sockdiag_poll(sd), 0);
    check_pair(sd, AF_INET, &p4, "127.0.0.1");
    check_pair(sd, AF_INET6, &p6, "::1");
    assert_int_equal(col.news, 6); /* 2 x (listener, client, accepted) */

    /* exactly one network.connect per pair: the client side */
    assert_int_equal(json_array_size(col.events), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *ev = json_array_get(col.events, i);
        assert_string_equal(json_string_value(json_object_get(ev, "event_type")), "network.connect");
        json_t *src = json_object_get(ev, "source");
        assert_string_equal(json_string_value(json_object_get(src, "capture_method")), "other");
        assert_string_equal(json_string_value(json_object_get(src, "capture_point")), "inet_diag");
        assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "confidence"),
                                                              "process_attribution")),
                            "socket_inode");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "process"), "pid")),
                         getpid());
        json_t *d = json_object_get(ev, "data");
        json_t *dst = json_object_get(d, "dest"), *src_ep = json_object_get(d, "src");
        const char *ip = json_string_value(json_object_get(dst, "ip"));
        int v4 = strcmp(ip, "127.0.0.1") == 0;
        assert_true(v4 || strcmp(ip, "::1") == 0);
        pair *p = v4 ? &p4 : &p6;
        assert_int_equal(json_integer_value(json_object_get(dst, "port")), p->lport);
        assert_int_equal(json_integer_value(json_object_get(src_ep, "port")), p->cport);
        assert_true(json_is_true(json_object_get(dst, "is_private")));
        assert_string_equal(json_string_value(json_object_get(d, "protocol")), "tcp");
    }
    validate_events(col.events);

    /* a connection the eBPF probes already reported makes no event */
    col.seen_filter_result = 1;
    sockdiag_set_seen_filter(sd, seen_filter, &col);
    pair p4b = make_pair(AF_INET);
    col.watch_ports[2] = p4b.lport;
    assert_int_equal(sockdiag_poll(sd), 0);
    assert_int_equal(json_array_size(col.events), 2);
    json_t *st = sockdiag_stats_json(sd);
    assert_true(json_integer_value(json_object_get(st, "seen_elsewhere")) >= 1);
    json_decref(st);

    /* closed: gone from the table, reported as closed */
    int closes_before = col.closes;
    close_pair(&p4);
    close_pair(&p6);
    close_pair(&p4b);
    assert_int_equal(sockdiag_poll(sd), 0);
    assert_null(find(sd, AF_INET, TCP_LISTEN, p4.lport, 0));
    assert_null(find(sd, AF_INET6, TCP_LISTEN, p6.lport, 0));
    assert_null(find(sd, AF_INET, TCP_ESTABLISHED, p4.cport, p4.lport));
    assert_null(find(sd, AF_INET6, TCP_ESTABLISHED, p6.cport, p6.lport));
    /* the listeners and the accepted sockets vanish at once; the clients may
     * linger in TIME-WAIT (a new, owner-less socket) or vanish */
    assert_true(col.closes - closes_before >= 6);

    /* a tiny table: truncation is counted, the poll still works */
    sockdiag_set_max(sd, 1);
    assert_int_equal(sockdiag_poll(sd), 0);
    size_t n;
    sockdiag_table(sd, &n);
    assert_true(n <= 1);
    st = sockdiag_stats_json(sd);
    print_message("stats: polls %lld, last poll %.2f ms\n",
                  json_integer_value(json_object_get(st, "polls")),
                  json_real_value(json_object_get(st, "last_poll_ms")));
    json_decref(st);

    json_decref(col.events);
    sockdiag_free(sd);
}

static void test_udp_listen(void **state)
{
    (void)state;
    char err[256];
    sockdiag *sd = sockdiag_new(NULL, err, sizeof(err));
    if (!sd)
        skip();
    int u = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(u, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(u, (struct sockaddr *)&a, &al);
    uint16_t port = ntohs(a.sin6_port);
    assert_int_equal(sockdiag_poll(sd), 0);
    size_t n;
    const sockdiag_conn *t = sockdiag_table(sd, &n);
    const sockdiag_conn *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (t[i].proto == IPPROTO_UDP && t[i].sport == port && t[i].family == AF_INET6)
            found = &t[i];
    assert_non_null(found);
    assert_true(sockdiag_is_listening(found));
    assert_string_equal(sockdiag_state_name(found), "UNCONN");
    assert_int_equal(found->pid, (uint32_t)getpid());
    json_t *j = sockdiag_conn_json(found);
    assert_string_equal(json_string_value(json_object_get(j, "proto")), "udp");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "local"), "port")), port);
    json_decref(j);
    close(u);
    sockdiag_free(sd);
}

int main(void)
{
    clock_sync();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_private),
        cmocka_unit_test(test_live),
        cmocka_unit_test(test_udp_listen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

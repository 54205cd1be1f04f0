/* promhttp.c: the /metrics endpoint over libmicrohttpd (see promhttp.h).
 *
 * How it works.  MHD runs its own polling thread with a small connection
 * limit and timeout.  The access handler answers GET and HEAD of /metrics
 * only: it checks the bearer token when one is set, asks the render
 * callback for the text into a bounded metrics_buf and hands that buffer
 * to MHD, which frees it after sending. */
#include "host/promhttp.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_BODY         (16u << 20)
#define MAX_CONNECTIONS  16
#define CONN_TIMEOUT_S   10

typedef struct promhttp {
    struct MHD_Daemon *d;
    char token[256];
    promhttp_render_fn cb;
    void *ctx;
    _Atomic uint64_t scrapes, unauthorized;
    char err[256];
} promhttp;

static promhttp srv; /* one endpoint per process */

const char *promhttp_error(void) { return srv.err; }

void promhttp_counters(uint64_t *scrapes, uint64_t *unauthorized)
{
    *scrapes = atomic_load(&srv.scrapes);
    *unauthorized = atomic_load(&srv.unauthorized);
}

int promhttp_addr_is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return 0;
}

int promhttp_parse_listen(const char *s, char *addr, size_t addrlen, int *port)
{
    const char *colon;
    size_t alen;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        alen = (size_t)(rb - s - 1);
        s++;
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        alen = (size_t)(colon - s);
    }
    if (alen >= addrlen)
        return -1;
    if (alen == 0)
        snprintf(addr, addrlen, "127.0.0.1");
    else {
        memcpy(addr, s, alen);
        addr[alen] = 0;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

/* Constant-time comparison of the presented token with ours. */
static int token_ok(const char *header)
{
    if (!srv.token[0])
        return 1;
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return 0;
    const char *got = header + 7;
    size_t n = strlen(srv.token), m = strlen(got);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(srv.token[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text,
                             int auth_challenge)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    if (auth_challenge)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) { /* first call: headers only */
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*upload_data_size) { /* a body we do not want */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", 0);
    if (!token_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"))) {
        atomic_fetch_add(&srv.unauthorized, 1);
        return reply(c, MHD_HTTP_UNAUTHORIZED, "bearer token required\n", 1);
    }
    if (strcmp(url, "/metrics") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "try /metrics\n", 0);
    atomic_fetch_add(&srv.scrapes, 1); /* this one included */
    metrics_buf b;
    metrics_buf_init(&b, MAX_BODY);
    if (srv.cb(&b, srv.ctx) != 0 || b.failed || !b.p) {
        metrics_buf_free(&b);
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n", 0);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        metrics_buf_free(&b);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

int promhttp_start(const char *addr, int port, const char *token, promhttp_render_fn cb,
                   void *ctx)
{
    if (srv.d) {
        snprintf(srv.err, sizeof(srv.err), "already serving");
        return -1;
    }
    if (!addr || !*addr)
        addr = "127.0.0.1";
    if (!token)
        token = "";
    if (!cb || port < 1 || port > 65535) {
        snprintf(srv.err, sizeof(srv.err), "bad port or no render callback");
        return -1;
    }
    if (!promhttp_addr_is_loopback(addr) && !token[0]) {
        snprintf(srv.err, sizeof(srv.err),
                 "refusing to serve metrics on %s without a bearer token", addr);
        return -1;
    }
    if (strlen(token) >= sizeof(srv.token)) {
        snprintf(srv.err, sizeof(srv.err), "token too long");
        return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(srv.err, sizeof(srv.err), "'%s' is not an IP address", addr);
        return -1;
    }
    snprintf(srv.token, sizeof(srv.token), "%s", token);
    srv.cb = cb;
    srv.ctx = ctx;
    srv.d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
                             MHD_OPTION_END);
    if (!srv.d) {
        snprintf(srv.err, sizeof(srv.err), "cannot listen on %s port %d (in use?)", addr, port);
        memset(srv.token, 0, sizeof(srv.token));
        return -1;
    }
    return 0;
}

void promhttp_stop(void)
{
    if (!srv.d)
        return;
    MHD_stop_daemon(srv.d);
    srv.d = NULL;
    memset(srv.token, 0, sizeof(srv.token));
}

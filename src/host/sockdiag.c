/* sockdiag.c: socket table from NETLINK_SOCK_DIAG (see sockdiag.h).
 *
 * How it works.  One netlink socket is kept open.  A poll sends four
 * SOCK_DIAG_BY_FAMILY dump requests (inet_diag_req_v2: TCP and UDP over
 * AF_INET and AF_INET6, every state) and parses the inet_diag_msg replies
 * into a fixed-size array.  Ports and addresses arrive in network byte
 * order; ports are converted, addresses kept as bytes for inet_ntop.
 *
 * Pids: the inodes of the dump are sorted; one pass over /proc/PID/fd
 * reads each descriptor link and, for "socket:[N]" with N in the dump,
 * records the pid (the first process found owns it; a socket shared after
 * fork belongs to several) and that process's comm.  The pass stops early
 * once every inode has an owner.  Processes that vanish mid-scan are
 * skipped.
 *
 * Diff: the table is sorted by (proto, cookie); the kernel's socket cookie
 * is unique for the socket's life, so a merge walk of the previous and
 * current tables yields the sockets that appeared and disappeared. */
#include "host/sockdiag.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/monotime.h"
#include "events/event.h"
#include "events/proc.h"

#define RECV_BUF   (64u << 10)
#define PATH_LEN   512
#define UDP_UNCONN 7 /* TCP_CLOSE: what the kernel reports for unconnected UDP */

typedef struct inode_ref {
    uint32_t inode;
    uint32_t idx; /* into the current table */
} inode_ref;

struct sockdiag {
    char root[PATH_LEN - 64];
    int nl;
    uint32_t seq;
    size_t max;
    sockdiag_conn *cur, *prev;
    size_t ncur, nprev;
    int have_prev, map_pids;
    void *rbuf;
    inode_ref *refs;
    sockdiag_change_fn change_fn;
    void *change_ctx;
    sockdiag_event_fn event_fn;
    void *event_ctx;
    json_t *host;
    sockdiag_seen_fn seen_fn;
    void *seen_ctx;
    struct {
        uint64_t polls, new_conns, closed, events, seen_elsewhere, truncated, errors;
        uint64_t last_poll_ns, sockets, unmapped;
    } st;
};

sockdiag *sockdiag_new(const char *root, char *err, size_t errlen)
{
    sockdiag *sd = calloc(1, sizeof(*sd));
    if (!sd) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(sd->root, sizeof(sd->root), "%s", root && strcmp(root, "/") != 0 ? root : "");
    sd->max = SOCKDIAG_DEFAULT_MAX;
    sd->map_pids = 1;
    sd->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (sd->nl < 0) {
        snprintf(err, errlen, "netlink NETLINK_SOCK_DIAG: %s", strerror(errno));
        free(sd);
        return NULL;
    }
    struct timeval tv = {.tv_sec = 2}; /* a dump never blocks a poll forever */
    setsockopt(sd->nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sd->rbuf = malloc(RECV_BUF);
    if (!sd->rbuf) {
        snprintf(err, errlen, "out of memory");
        sockdiag_free(sd);
        return NULL;
    }
    return sd;
}

void sockdiag_free(sockdiag *sd)
{
    if (!sd)
        return;
    if (sd->nl >= 0)
        close(sd->nl);
    free(sd->cur);
    free(sd->prev);
    free(sd->refs);
    free(sd->rbuf);
    json_decref(sd->host);
    free(sd);
}

void sockdiag_set_max(sockdiag *sd, size_t max_conns)
{
    if (max_conns == 0)
        max_conns = 1;
    if (max_conns == sd->max)
        return;
    sd->max = max_conns;
    free(sd->cur); /* reallocated at the next poll; the diff restarts */
    free(sd->prev);
    free(sd->refs);
    sd->cur = sd->prev = NULL;
    sd->refs = NULL;
    sd->ncur = sd->nprev = 0;
    sd->have_prev = 0;
}

void sockdiag_set_change_cb(sockdiag *sd, sockdiag_change_fn fn, void *ctx)
{
    sd->change_fn = fn;
    sd->change_ctx = ctx;
}

void sockdiag_set_event_cb(sockdiag *sd, sockdiag_event_fn fn, void *ctx, json_t *host)
{
    sd->event_fn = fn;
    sd->event_ctx = ctx;
    json_decref(sd->host);
    sd->host = json_incref(host);
}

void sockdiag_set_seen_filter(sockdiag *sd, sockdiag_seen_fn fn, void *ctx)
{
    sd->seen_fn = fn;
    sd->seen_ctx = ctx;
}

void sockdiag_set_map_pids(sockdiag *sd, int on) { sd->map_pids = on; }

const sockdiag_conn *sockdiag_table(const sockdiag *sd, size_t *n)
{
    *n = sd->ncur;
    return sd->cur;
}

/* ------------------------------------------------------------------------ */
/* Netlink. */

int sockdiag_parse(const void *buf, size_t len, uint8_t proto, sockdiag_conn *out, size_t max,
                   size_t *n, uint64_t *dropped)
{
    const char *p = buf;
    size_t left = len;
    while (left >= sizeof(struct nlmsghdr)) {
        struct nlmsghdr h;
        memcpy(&h, p, sizeof(h)); /* the buffer may not be aligned */
        if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > left)
            return -EBADMSG;
        const char *payload = p + NLMSG_HDRLEN;
        size_t plen = h.nlmsg_len - NLMSG_HDRLEN;
        if (h.nlmsg_type == NLMSG_DONE)
            return 1;
        if (h.nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr e;
            if (plen < sizeof(e))
                return -EBADMSG;
            memcpy(&e, payload, sizeof(e));
            return e.error < 0 ? e.error : -EPROTO;
        }
        if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY && plen >= sizeof(struct inet_diag_msg)) {
            struct inet_diag_msg m;
            memcpy(&m, payload, sizeof(m));
            if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6) {
                /* not ours: skip */
            } else if (*n >= max) {
                (*dropped)++;
            } else {
                sockdiag_conn *c = &out[(*n)++];
                memset(c, 0, sizeof(*c));
                c->family = m.idiag_family;
                c->proto = proto;
                c->state = m.idiag_state;
                size_t alen = m.idiag_family == AF_INET ? 4 : 16;
                memcpy(c->src, m.id.idiag_src, alen);
                memcpy(c->dst, m.id.idiag_dst, alen);
                c->sport = ntohs(m.id.idiag_sport);
                c->dport = ntohs(m.id.idiag_dport);
                c->ifindex = m.id.idiag_if;
                c->cookie = ((uint64_t)m.id.idiag_cookie[1] << 32) | m.id.idiag_cookie[0];
                c->inode = m.idiag_inode;
                c->uid = m.idiag_uid;
                c->rqueue = m.idiag_rqueue;
                c->wqueue = m.idiag_wqueue;
            }
        }
        size_t step = NLMSG_ALIGN(h.nlmsg_len);
        if (step >= left)
            break;
        p += step;
        left -= step;
    }
    return 0;
}

static int dump_one(sockdiag *sd, uint8_t family, uint8_t proto)
{
    struct {
        struct nlmsghdr h;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof(req));
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = ++sd->seq;
    req.r.sdiag_family = family;
    req.r.sdiag_protocol = proto;
    req.r.idiag_states = ~0u; /* every state, listeners included */
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(sd->nl, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return -errno;
    for (;;) {
        ssize_t r = recv(sd->nl, sd->rbuf, RECV_BUF, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EPROTO;
        /* replies to an older, abandoned request are skipped */
        struct nlmsghdr h;
        memcpy(&h, sd->rbuf, sizeof(h));
        if ((size_t)r >= sizeof(h) && h.nlmsg_seq != sd->seq)
            continue;
        int rc = sockdiag_parse(sd->rbuf, (size_t)r, proto, sd->cur, sd->max, &sd->ncur,
                                &sd->st.truncated);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Inode -> pid. */

static int cmp_ref(const void *a, const void *b)
{
    uint32_t x = ((const inode_ref *)a)->inode, y = ((const inode_ref *)b)->inode;
    return x < y ? -1 : x > y;
}

/* Index of the first ref with this inode, or -1. */
static long find_ref(const inode_ref *r, size_t n, uint32_t inode)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].inode < inode)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && r[lo].inode == inode ? (long)lo : -1;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static void read_comm(int procfd, const char *pid, char out[16])
{
    char path[300];
    snprintf(path, sizeof(path), "%s/comm", pid);
    out[0] = 0;
    int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t r = read(fd, out, 15);
    close(fd);
    if (r <= 0)
        return;
    out[r] = 0;
    out[strcspn(out, "\n")] = 0;
}

/* "socket:[12345]" -> 12345; 0 if not a socket link. */
static uint32_t socket_inode(const char *link, ssize_t len)
{
    if (len < 10 || memcmp(link, "socket:[", 8) != 0 || link[len - 1] != ']')
        return 0;
    uint64_t v = 0;
    for (ssize_t i = 8; i < len - 1; i++) {
        if (link[i] < '0' || link[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(link[i] - '0');
        if (v > UINT32_MAX)
            return 0;
    }
    return (uint32_t)v;
}

/* Gives every socket of pid dir `pidname` that is in refs its owner;
 * returns how many sockets got one. */
static size_t map_process(sockdiag *sd, int procfd, const char *pidname, size_t nrefs)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/fd", pidname);
    int fdd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fdd < 0)
        return 0; /* gone, or a kernel thread */
    DIR *d = fdopendir(fdd);
    if (!d) {
        close(fdd);
        return 0;
    }
    uint32_t pid = (uint32_t)strtoul(pidname, NULL, 10);
    char comm[16];
    int have_comm = 0;
    size_t found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char link[64];
        ssize_t l = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
        if (l <= 0)
            continue;
        link[l] = 0;
        uint32_t ino = socket_inode(link, l);
        if (ino == 0)
            continue;
        long i = find_ref(sd->refs, nrefs, ino);
        for (; i >= 0 && (size_t)i < nrefs && sd->refs[i].inode == ino; i++) {
            sockdiag_conn *c = &sd->cur[sd->refs[i].idx];
            if (c->pid)
                continue;
            if (!have_comm) {
                read_comm(procfd, pidname, comm);
                have_comm = 1;
            }
            c->pid = pid;
            memcpy(c->comm, comm, sizeof(comm));
            found++;
        }
    }
    closedir(d);
    return found;
}

static void map_pids(sockdiag *sd)
{
    size_t nrefs = 0;
    for (size_t i = 0; i < sd->ncur; i++)
        if (sd->cur[i].inode)
            sd->refs[nrefs++] = (inode_ref){sd->cur[i].inode, (uint32_t)i};
    if (nrefs == 0)
        return;
    qsort(sd->refs, nrefs, sizeof(*sd->refs), cmp_ref);
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "%s/proc", sd->root);
    int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return;
    DIR *d = fdopendir(dup(procfd));
    if (!d) {
        close(procfd);
        return;
    }
    size_t mapped = 0;
    struct dirent *e;
    while (mapped < nrefs && (e = readdir(d)) != NULL)
        if (all_digits(e->d_name))
            mapped += map_process(sd, procfd, e->d_name, nrefs);
    closedir(d);
    close(procfd);
    sd->st.unmapped = nrefs - mapped;
}

/* ------------------------------------------------------------------------ */
/* Diff and events. */

static int cmp_conn(const void *a, const void *b)
{
    const sockdiag_conn *x = a, *y = b;
    if (x->proto != y->proto)
        return x->proto < y->proto ? -1 : 1;
    if (x->cookie != y->cookie)
        return x->cookie < y->cookie ? -1 : 1;
    return 0;
}

static int same_addr(const sockdiag_conn *l, const sockdiag_conn *c)
{
    static const uint8_t zero[16];
    size_t alen = l->family == AF_INET ? 4 : 16;
    if (memcmp(l->src, zero, alen) == 0)
        return 1; /* wildcard listener */
    if (l->family == c->family)
        return memcmp(l->src, c->src, alen) == 0;
    return 0;
}

int sockdiag_is_outbound(const sockdiag *sd, const sockdiag_conn *c)
{
    if (c->proto != IPPROTO_TCP || c->state == TCP_LISTEN)
        return 0;
    for (size_t i = 0; i < sd->ncur; i++) {
        const sockdiag_conn *l = &sd->cur[i];
        if (l->proto == IPPROTO_TCP && l->state == TCP_LISTEN && l->sport == c->sport &&
            (l->family == c->family || l->family == AF_INET6) && same_addr(l, c))
            return 0; /* accepted by a local listener */
    }
    return 1;
}

static int reportable_state(uint8_t st)
{
    return st == TCP_SYN_SENT || st == TCP_ESTABLISHED || st == TCP_FIN_WAIT1 ||
           st == TCP_FIN_WAIT2 || st == TCP_CLOSE_WAIT || st == TCP_LAST_ACK ||
           st == TCP_CLOSING;
}

static void on_new(sockdiag *sd, const sockdiag_conn *c)
{
    sd->st.new_conns++;
    if (sd->change_fn)
        sd->change_fn(1, c, sd->change_ctx);
    if (!sd->event_fn || !reportable_state(c->state) || !sockdiag_is_outbound(sd, c))
        return;
    if (sd->seen_fn && sd->seen_fn(c, sd->seen_ctx)) {
        sd->st.seen_elsewhere++;
        return;
    }
    char proc_root[PATH_LEN];
    snprintf(proc_root, sizeof(proc_root), "%s/proc", sd->root);
    json_t *ev = sockdiag_connect_event(c, proc_root, sd->host);
    if (!ev)
        return;
    sd->st.events++;
    sd->event_fn(ev, sd->event_ctx);
    json_decref(ev);
}

static void diff(sockdiag *sd)
{
    size_t i = 0, j = 0;
    while (i < sd->nprev || j < sd->ncur) {
        int c = i >= sd->nprev ? 1 : j >= sd->ncur ? -1 : cmp_conn(&sd->prev[i], &sd->cur[j]);
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            sd->st.closed++;
            if (sd->change_fn)
                sd->change_fn(0, &sd->prev[i], sd->change_ctx);
            i++;
        } else {
            on_new(sd, &sd->cur[j++]);
        }
    }
}

static int ensure_tables(sockdiag *sd)
{
    if (sd->cur)
        return 0;
    sd->cur = calloc(sd->max, sizeof(*sd->cur));
    sd->prev = calloc(sd->max, sizeof(*sd->prev));
    sd->refs = calloc(sd->max, sizeof(*sd->refs));
    if (!sd->cur || !sd->prev || !sd->refs) {
        free(sd->cur);
        free(sd->prev);
        free(sd->refs);
        sd->cur = sd->prev = NULL;
        sd->refs = NULL;
        return -ENOMEM;
    }
    return 0;
}

int sockdiag_poll(sockdiag *sd)
{
    uint64_t t0 = mono_ns();
    int rc = ensure_tables(sd);
    if (rc)
        return rc;
    /* the last table becomes the previous one */
    sockdiag_conn *t = sd->prev;
    sd->prev = sd->cur;
    sd->cur = t;
    sd->nprev = sd->ncur;
    sd->ncur = 0;
    static const uint8_t fams[2] = {AF_INET, AF_INET6};
    static const uint8_t protos[2] = {IPPROTO_TCP, IPPROTO_UDP};
    for (int f = 0; f < 2 && rc == 0; f++)
        for (int p = 0; p < 2 && rc == 0; p++)
            rc = dump_one(sd, fams[f], protos[p]);
    if (rc) { /* keep the previous table as the current one */
        sd->st.errors++;
        t = sd->cur;
        sd->cur = sd->prev;
        sd->prev = t;
        sd->ncur = sd->nprev;
        return rc;
    }
    qsort(sd->cur, sd->ncur, sizeof(*sd->cur), cmp_conn);
    if (sd->map_pids)
        map_pids(sd);
    if (sd->have_prev)
        diff(sd);
    sd->have_prev = 1;
    sd->st.polls++;
    sd->st.sockets = sd->ncur;
    sd->st.last_poll_ns = mono_ns() - t0;
    return 0;
}

json_t *sockdiag_stats_json(const sockdiag *sd)
{
    return json_pack("{sI sI sI sI sI sI sI sI sI sf}", "polls", (json_int_t)sd->st.polls,
                     "sockets", (json_int_t)sd->st.sockets, "new", (json_int_t)sd->st.new_conns,
                     "closed", (json_int_t)sd->st.closed, "events", (json_int_t)sd->st.events,
                     "seen_elsewhere", (json_int_t)sd->st.seen_elsewhere, "truncated",
                     (json_int_t)sd->st.truncated, "errors", (json_int_t)sd->st.errors,
                     "unmapped", (json_int_t)sd->st.unmapped, "last_poll_ms",
                     (double)sd->st.last_poll_ns / 1e6);
}

/* ------------------------------------------------------------------------ */
/* Presentation. */

const char *sockdiag_state_name(const sockdiag_conn *c)
{
    static const char *const tcp[] = {"?",          "ESTABLISHED", "SYN-SENT",  "SYN-RECV",
                                      "FIN-WAIT-1", "FIN-WAIT-2",  "TIME-WAIT", "UNCONN",
                                      "CLOSE-WAIT", "LAST-ACK",    "LISTEN",    "CLOSING",
                                      "NEW-SYN-RECV"};
    if (c->proto == IPPROTO_UDP)
        return c->state == TCP_ESTABLISHED ? "ESTAB" : "UNCONN";
    if (c->state == TCP_ESTABLISHED)
        return "ESTAB";
    return c->state < sizeof(tcp) / sizeof(tcp[0]) ? tcp[c->state] : "?";
}

int sockdiag_is_listening(const sockdiag_conn *c)
{
    if (c->proto == IPPROTO_TCP)
        return c->state == TCP_LISTEN;
    return c->state == UDP_UNCONN && c->sport != 0;
}

void sockdiag_addr_str(const sockdiag_conn *c, int dst, char *out, size_t n)
{
    if (!inet_ntop(c->family, dst ? c->dst : c->src, out, (socklen_t)n))
        snprintf(out, n, "?");
}

int sockdiag_addr_private(uint8_t family, const uint8_t *a)
{
    if (family == AF_INET6) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const uint8_t zero15[15];
        if (memcmp(a, mapped, 12) == 0)
            return sockdiag_addr_private(AF_INET, a + 12);
        if (memcmp(a, zero15, 15) == 0)
            return 1;                      /* :: and ::1 */
        if ((a[0] & 0xfe) == 0xfc)         /* fc00::/7 unique local */
            return 1;
        return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; /* fe80::/10 */
    }
    return a[0] == 10 || a[0] == 127 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
           (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 100 && (a[1] & 0xc0) == 64) || a[0] == 0;
}

static json_t *endpoint(const sockdiag_conn *c, int dst, int with_private)
{
    char ip[INET6_ADDRSTRLEN];
    sockdiag_addr_str(c, dst, ip, sizeof(ip));
    json_t *o = json_object();
    json_object_set_new(o, "ip", json_string(ip));
    json_object_set_new(o, "port", json_integer(dst ? c->dport : c->sport));
    if (with_private)
        json_object_set_new(o, "is_private",
                            json_boolean(sockdiag_addr_private(c->family, dst ? c->dst : c->src)));
    return o;
}

static json_t *comm_json(const char *comm)
{
    char clean[16];
    size_t i = 0;
    for (; comm[i] && i < 15; i++)
        clean[i] = (comm[i] >= 0x20 && comm[i] < 0x7f) ? comm[i] : '?';
    clean[i] = 0;
    return json_string(clean);
}

json_t *sockdiag_conn_json(const sockdiag_conn *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "proto", json_string(c->proto == IPPROTO_TCP ? "tcp" : "udp"));
    json_object_set_new(o, "family", json_string(c->family == AF_INET ? "ipv4" : "ipv6"));
    json_object_set_new(o, "state", json_string(sockdiag_state_name(c)));
    json_object_set_new(o, "local", endpoint(c, 0, 0));
    json_object_set_new(o, "peer", endpoint(c, 1, 0));
    if (c->pid) {
        json_object_set_new(o, "pid", json_integer(c->pid));
        json_object_set_new(o, "process", comm_json(c->comm));
    }
    json_object_set_new(o, "uid", json_integer(c->uid));
    json_object_set_new(o, "inode", json_integer(c->inode));
    json_object_set_new(o, "recv_q", json_integer(c->rqueue));
    json_object_set_new(o, "send_q", json_integer(c->wqueue));
    return o;
}

json_t *sockdiag_connect_event(const sockdiag_conn *c, const char *proc_root, json_t *host)
{
    uint64_t now = mono_ns();
    json_t *ev = event_new("network.connect", now, "other", "inet_diag", host, NULL);
    if (!ev)
        return NULL;
    json_t *conf = json_object_get(ev, "confidence");
    json_object_set_new(conf, "process_attribution",
                        json_string(c->pid ? "socket_inode" : "unknown"));
    json_object_set_new(conf, "limitations", json_pack("[s]", "polled_socket_table"));
    if (c->pid) {
        uint64_t start;
        json_t *p = proc_read(proc_root, c->pid, &start);
        if (!p) { /* exited since the scan: what the scan saw */
            p = json_object();
            json_object_set_new(p, "pid", json_integer(c->pid));
            if (c->comm[0])
                json_object_set_new(p, "name", comm_json(c->comm));
        }
        json_object_set_new(ev, "process", p);
    }
    json_t *d = json_object();
    json_object_set_new(d, "dest", endpoint(c, 1, 1));
    json_object_set_new(d, "src", endpoint(c, 0, 1));
    json_object_set_new(d, "protocol", json_string("tcp"));
    if (c->state != TCP_SYN_SENT)
        json_object_set_new(d, "success", json_true());
    json_object_set_new(ev, "data", d);
    json_t *a = json_object();
    json_object_set_new(a, "state", json_string(sockdiag_state_name(c)));
    json_object_set_new(a, "inode", json_integer(c->inode));
    json_object_set_new(a, "uid", json_integer(c->uid));
    json_object_set_new(a, "cookie", json_integer((json_int_t)(c->cookie & INT64_MAX)));
    json_t *attrs = json_object();
    json_object_set_new(attrs, "sockdiag", a);
    json_object_set_new(ev, "attrs", attrs);
    return ev;
}

/* sockdiag.h: the host's TCP and UDP sockets (IPv4 and IPv6, listening
 * ones included) from netlink NETLINK_SOCK_DIAG, each with its owning
 * process, and the difference between successive polls.
 *
 * sockdiag_poll() dumps the four (family, protocol) tables, maps socket
 * inodes to pids by one pass over /proc/PID/fd (`socket:[N]` links), and
 * compares the result with the previous poll by socket cookie: sockets
 * that appeared are "new", sockets that disappeared "closed".  The first
 * poll only sets the baseline.  New outbound TCP connections become OISP
 * `network.connect` events (source.capture_method "other", capture_point
 * "inet_diag", confidence.process_attribution "socket_inode").
 *
 * eBPF connect probes, when the sensor has them, report connections
 * directly and earlier; sockdiag_set_seen_filter() lets the caller say
 * which connections those probes already reported, so they are not
 * reported twice.  Without a filter every new outbound TCP connection is
 * reported.
 *
 * Polling sees a connection only if it is still open at a poll: one that
 * opens and closes between two polls is missed.  Everything is bounded by
 * the maximum table size (sockdiag_set_max; more sockets are counted as
 * truncated). */
#ifndef OISP_HOST_SOCKDIAG_H
#define OISP_HOST_SOCKDIAG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SOCKDIAG_DEFAULT_MAX 65536

typedef struct sockdiag_conn {
    uint8_t family;          /* AF_INET or AF_INET6 */
    uint8_t proto;           /* IPPROTO_TCP or IPPROTO_UDP */
    uint8_t state;           /* TCP_ESTABLISHED ... (UDP: 1 connected, 7 unconnected) */
    uint8_t src[16], dst[16]; /* network byte order; IPv4 in the first 4 bytes */
    uint16_t sport, dport;   /* host byte order */
    uint32_t inode, uid, ifindex, rqueue, wqueue;
    uint64_t cookie;
    uint32_t pid;            /* owning process, 0 if unknown */
    char comm[16];
} sockdiag_conn;

typedef struct sockdiag sockdiag;

/* root: the directory holding proc/ ("/" if NULL).  NULL on error (netlink
 * unavailable), with the reason in err. */
sockdiag *sockdiag_new(const char *root, char *err, size_t errlen);
void sockdiag_free(sockdiag *sd);
void sockdiag_set_max(sockdiag *sd, size_t max_conns);

/* Called for every socket that appeared (is_new 1) or disappeared (0)
 * since the previous poll, from inside sockdiag_poll(). */
typedef void (*sockdiag_change_fn)(int is_new, const sockdiag_conn *c, void *ctx);
void sockdiag_set_change_cb(sockdiag *sd, sockdiag_change_fn fn, void *ctx);

/* Receives each network.connect event (borrowed: copy or incref to keep
 * it).  host is the OISP host block to put in events (referenced). */
typedef void (*sockdiag_event_fn)(json_t *ev, void *ctx);
void sockdiag_set_event_cb(sockdiag *sd, sockdiag_event_fn fn, void *ctx, json_t *host);

/* Returns nonzero if the connection was already reported by another
 * source (eBPF connect probes): no event is made for it, and it is
 * counted as seen_elsewhere. */
typedef int (*sockdiag_seen_fn)(const sockdiag_conn *c, void *ctx);
void sockdiag_set_seen_filter(sockdiag *sd, sockdiag_seen_fn fn, void *ctx);

/* Skip the /proc/PID/fd scan (no pids; for cheap polls).  Default 1: map. */
void sockdiag_set_map_pids(sockdiag *sd, int on);

/* One poll: dump, map pids, diff, callbacks.  Returns 0, or -errno if a
 * dump failed (the previous table is kept). */
int sockdiag_poll(sockdiag *sd);

/* The table of the last poll, sorted by (proto, cookie). */
const sockdiag_conn *sockdiag_table(const sockdiag *sd, size_t *n);

/* 1 if c is a TCP connection this host opened (not a listener, not one
 * accepted by a listener of the last poll's table on the same port). */
int sockdiag_is_outbound(const sockdiag *sd, const sockdiag_conn *c);

/* Counters: polls, sockets, new, closed, events, seen_elsewhere,
 * truncated, errors, last poll duration. */
json_t *sockdiag_stats_json(const sockdiag *sd);

/* ---- helpers, also used by `connections` ---- */

/* "ESTABLISHED", "LISTEN", ... ("UNCONN" for an unconnected UDP socket). */
const char *sockdiag_state_name(const sockdiag_conn *c);
/* 1 for a TCP listener or an unconnected UDP socket bound to a port. */
int sockdiag_is_listening(const sockdiag_conn *c);
/* The address as text ("127.0.0.1", "::1"). */
void sockdiag_addr_str(const sockdiag_conn *c, int dst, char *out, size_t n);
/* 1 for loopback, private, link-local, CGNAT and ULA addresses. */
int sockdiag_addr_private(uint8_t family, const uint8_t *addr);
/* {proto, state, family, local{ip,port}, peer{ip,port}, pid, process, uid, inode}. */
json_t *sockdiag_conn_json(const sockdiag_conn *c);
/* A network.connect event for c (process read from root/proc). */
json_t *sockdiag_connect_event(const sockdiag_conn *c, const char *proc_root, json_t *host);

/* Parses one netlink receive buffer of an inet_diag dump for protocol
 * proto, appending at most max - *n sockets to out (more are counted in
 * *dropped).  Returns 1 when the dump's NLMSG_DONE was seen, 0 if more
 * follows, -errno for an NLMSG_ERROR, -EBADMSG for malformed data. */
int sockdiag_parse(const void *buf, size_t len, uint8_t proto, sockdiag_conn *out, size_t max,
                   size_t *n, uint64_t *dropped);

#endif

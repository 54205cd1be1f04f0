/* conn.h: the connection table.  Turns captured TLS records into HTTP
 * exchanges.
 *
 * A connection is (tgid, SSL*).  Each has one HTTP parser per direction: the
 * bytes the process wrote and the bytes it read.  Which side is the client is
 * learnt from the data: the side that writes a request line is the client
 * (outbound view), the side that reads one is the server (inbound view, e.g. a
 * local gateway).  Requests are paired with responses in FIFO order, so
 * keep-alive connections carrying many exchanges work.  Record offsets reveal
 * lost bytes (a gap), which end the message in progress as incomplete. */
#ifndef OISP_STREAM_CONN_H
#define OISP_STREAM_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "stream/http.h"

enum { CONN_DIR_WRITE = 0, CONN_DIR_READ = 1 };
enum { CONN_ROLE_UNKNOWN = 0, CONN_ROLE_CLIENT = 1, CONN_ROLE_SERVER = 2 };

typedef struct conn_key {
    uint32_t tgid;
    uint64_t ssl; /* SSL* in the traced process */
} conn_key;

typedef struct conn_info {
    conn_key key;
    int role;        /* CONN_ROLE_* */
    uint64_t id;     /* unique for this sensor run, never reused */
} conn_info;

typedef struct conn_table conn_table;

typedef struct conn_table_cb {
    void *ctx;
    /* A complete request.  The callee may set req->user; it stays with the
     * request until the exchange is done. */
    void (*on_request)(void *ctx, const conn_info *c, http_msg *req);
    /* A response paired with its request (req may be NULL if its request was
     * never seen, e.g. mid-stream start), or a request that will never get a
     * response (resp NULL: connection closed, process exited, gap).  After the
     * call both messages are freed; req->user is released by free_user. */
    void (*on_exchange)(void *ctx, const conn_info *c, http_msg *req, http_msg *resp);
    void (*free_user)(void *ctx, void *user);
} conn_table_cb;

typedef struct conn_limits {
    http_limits http;
    size_t max_conns;          /* default 65536; oldest idle evicted beyond */
    size_t max_pending;        /* requests waiting for responses per conn; default 64 */
    uint64_t idle_timeout_ns;  /* conns idle this long are expired; default 300 s */
} conn_limits;
void conn_limits_default(conn_limits *l);

conn_table *conn_table_new(const conn_limits *lim, const conn_table_cb *cb);
void conn_table_free(conn_table *t); /* flushes nothing; call conn_table_flush first */

/* One captured record.  offset is the position of data[0] in this direction's
 * byte stream as counted by the capture; a jump means bytes were lost.
 * lost_after > 0 says the capture kept only len of this call's bytes and
 * lost_after more followed (over the per-call cap). */
void conn_table_record(conn_table *t, const conn_key *k, int dir, uint64_t offset,
                       const uint8_t *data, size_t len, uint64_t lost_after,
                       uint64_t ts, uint32_t tid);

void conn_table_close(conn_table *t, const conn_key *k, uint64_t ts);     /* SSL_free/shutdown */
void conn_table_exit(conn_table *t, uint32_t tgid, uint64_t ts);          /* process exited */
void conn_table_expire(conn_table *t, uint64_t now);                      /* idle sweep */
void conn_table_flush(conn_table *t, uint64_t ts);                        /* shutdown: close all */

typedef struct conn_table_stats {
    uint64_t conns_open, conns_total, conns_evicted;
    uint64_t requests, responses, unpaired_responses, orphaned_requests;
    uint64_t gaps, parse_errors, resyncs, non_http_bytes;
} conn_table_stats;
void conn_table_get_stats(const conn_table *t, conn_table_stats *out);

#endif

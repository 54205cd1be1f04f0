/* conn.c: the connection table (see conn.h).
 *
 * Connections live in a chained hash table keyed by (tgid, SSL*).  Each is
 * also on an LRU list (for eviction and idle expiry) and on a per-tgid chain
 * (a second bucket array hashed by tgid alone) so a process exit finds its
 * connections without a full scan.
 *
 * Until a request line is seen the role is unknown and records are only
 * sniffed: the first direction to start with "METHOD SP" carries requests
 * (WRITE: we are the client; READ: we are the server).  Up to a few bytes of
 * a too-short start are held back until the next record decides.  Then the
 * request direction gets a request parser and the other a response parser.
 *
 * Offsets per direction find lost bytes (a jump: gap), repeated bytes (a
 * step back: the seen part is skipped) and a reused SSL* (offset 0 again:
 * the old connection is finished and a new one begins).
 *
 * Complete requests wait in a FIFO ring (bounded by max_pending) for their
 * responses.  A response that completes while its request is still being
 * sent (an early 413, say) is held until that request ends.  After a gap on
 * the response side, queued requests that a later response cannot answer
 * (the next request was already complete when it began) are given up as
 * orphans so the pairing stays right for non-pipelined clients.  A response
 * side whose first record is past offset 0 is treated the same way.
 *
 * Callbacks run inside conn_table_* calls and must not call back into the
 * table. */
#include "stream/conn.h"

#include <stdlib.h>
#include <string.h>

#define TABLE_INIT_BUCKETS 256
#define PEND_MAX 16

typedef struct conn conn;

struct conn {
    conn_info info;
    conn_table *t;
    conn *hnext;                 /* key hash chain */
    conn *tg_prev, *tg_next;     /* tgid hash chain */
    conn *lru_prev, *lru_next;   /* least recently used first */
    http_parser *parser[2];      /* by CONN_DIR_*; NULL while the role is unknown */
    uint64_t expect[2];          /* next stream offset per direction */
    uint8_t seen[2];
    uint8_t npend[2];            /* held-back bytes of an undecided start */
    uint8_t pend[2][PEND_MAX];
    int resp_gap;                /* the response side lost bytes since its last message */
    uint8_t late_start[2];       /* first record of a direction came after offset 0 */
    http_msg **q;                /* requests awaiting responses (ring) */
    size_t qhead, qlen, qcap;
    http_msg *early;             /* response that finished before its request */
    uint64_t last_ts;
};

struct conn_table {
    conn_limits lim;
    conn_table_cb cb;
    conn **buckets;              /* by key */
    conn **tg_buckets;           /* by tgid */
    size_t nbuckets, count;
    conn *lru_head, *lru_tail;
    uint64_t next_id;
    conn_table_stats st;         /* totals; parser stats of freed conns folded in */
};

void conn_limits_default(conn_limits *l)
{
    http_limits_default(&l->http);
    l->max_conns = 65536;
    l->max_pending = 64;
    l->idle_timeout_ns = 300ull * 1000000000ull;
}

/* ---- hashing ---------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t key_slot(const conn_table *t, const conn_key *k)
{
    return (size_t)(mix64(k->ssl ^ mix64(k->tgid + 1)) & (t->nbuckets - 1));
}

static size_t tg_slot(const conn_table *t, uint32_t tgid)
{
    return (size_t)(mix64(tgid + 1) & (t->nbuckets - 1));
}

static void tg_link(conn_table *t, conn *c)
{
    conn **head = &t->tg_buckets[tg_slot(t, c->info.key.tgid)];
    c->tg_prev = NULL;
    c->tg_next = *head;
    if (*head)
        (*head)->tg_prev = c;
    *head = c;
}

static void tg_unlink(conn_table *t, conn *c)
{
    if (c->tg_prev)
        c->tg_prev->tg_next = c->tg_next;
    else
        t->tg_buckets[tg_slot(t, c->info.key.tgid)] = c->tg_next;
    if (c->tg_next)
        c->tg_next->tg_prev = c->tg_prev;
}

static void table_grow(conn_table *t)
{
    size_t n = t->nbuckets * 2;
    conn **b = calloc(n, sizeof *b), **tb = calloc(n, sizeof *tb);
    if (!b || !tb) {
        free(b);
        free(tb);
        return; /* keep the old size: longer chains, still correct */
    }
    free(t->buckets);
    free(t->tg_buckets);
    t->buckets = b;
    t->tg_buckets = tb;
    t->nbuckets = n;
    for (conn *c = t->lru_head; c; c = c->lru_next) {
        size_t s = key_slot(t, &c->info.key);
        c->hnext = b[s];
        b[s] = c;
        tg_link(t, c);
    }
}

static conn *conn_find(const conn_table *t, const conn_key *k)
{
    for (conn *c = t->buckets[key_slot(t, k)]; c; c = c->hnext)
        if (c->info.key.tgid == k->tgid && c->info.key.ssl == k->ssl)
            return c;
    return NULL;
}

static void lru_unlink(conn_table *t, conn *c)
{
    if (c->lru_prev)
        c->lru_prev->lru_next = c->lru_next;
    else
        t->lru_head = c->lru_next;
    if (c->lru_next)
        c->lru_next->lru_prev = c->lru_prev;
    else
        t->lru_tail = c->lru_prev;
    c->lru_prev = c->lru_next = NULL;
}

static void lru_append(conn_table *t, conn *c)
{
    c->lru_prev = t->lru_tail;
    c->lru_next = NULL;
    if (t->lru_tail)
        t->lru_tail->lru_next = c;
    else
        t->lru_head = c;
    t->lru_tail = c;
}

/* ---- exchanges ------------------------------------------------------------------ */

static void msg_release(conn_table *t, http_msg *m)
{
    if (!m)
        return;
    if (m->user && t->cb.free_user)
        t->cb.free_user(t->cb.ctx, m->user);
    m->user = NULL;
    http_msg_free(m);
}

static void exchange(conn *c, http_msg *req, http_msg *resp)
{
    conn_table *t = c->t;
    if (!resp)
        t->st.orphaned_requests++;
    if (!req)
        t->st.unpaired_responses++;
    if (t->cb.on_exchange)
        t->cb.on_exchange(t->cb.ctx, &c->info, req, resp);
    msg_release(t, req);
    msg_release(t, resp);
}

static http_msg *queue_pop(conn *c)
{
    http_msg *m = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    return m;
}

static http_msg *queue_at(const conn *c, size_t i)
{
    return c->q[(c->qhead + i) % c->qcap];
}

static int queue_push(conn *c, http_msg *m)
{
    if (c->qlen == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : 4;
        http_msg **nq = malloc(ncap * sizeof *nq);
        if (!nq)
            return -1;
        for (size_t i = 0; i < c->qlen; i++)
            nq[i] = queue_at(c, i);
        free(c->q);
        c->q = nq;
        c->qcap = ncap;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qlen) % c->qcap] = m;
    c->qlen++;
    return 0;
}

static int request_dir(const conn *c)
{
    return c->info.role == CONN_ROLE_SERVER ? CONN_DIR_READ : CONN_DIR_WRITE;
}

static void on_request_msg(void *ctx, http_msg *req)
{
    conn *c = ctx;
    conn_table *t = c->t;
    t->st.requests++;
    if (t->cb.on_request)
        t->cb.on_request(t->cb.ctx, &c->info, req);
    if (c->early) {
        http_msg *resp = c->early;
        c->early = NULL;
        exchange(c, req, resp);
        return;
    }
    if (c->qlen >= t->lim.max_pending)
        exchange(c, queue_pop(c), NULL);
    if (queue_push(c, req) < 0)
        exchange(c, req, NULL);
}

/* After a response-side gap: if a later request was already complete when
 * this response began, the queued head was answered inside the gap. */
static void drop_answered_in_gap(conn *c, const http_msg *resp)
{
    while (c->qlen > 1 && queue_at(c, 1)->ts_end <= resp->ts_start)
        exchange(c, queue_pop(c), NULL);
}

static void on_response_msg(void *ctx, http_msg *resp)
{
    conn *c = ctx;
    conn_table *t = c->t;
    t->st.responses++;
    int resp_side = !request_dir(c);
    if (c->resp_gap || c->late_start[resp_side]) {
        c->resp_gap = 0;
        c->late_start[resp_side] = 0;
        drop_answered_in_gap(c, resp);
    }
    if (c->qlen) {
        exchange(c, queue_pop(c), resp);
        return;
    }
    if (!c->early && http_parser_current(c->parser[request_dir(c)])) {
        c->early = resp;
        return;
    }
    exchange(c, NULL, resp);
}

static const char *request_method(void *ctx)
{
    conn *c = ctx;
    if (c->qlen)
        return c->q[c->qhead]->method;
    const http_msg *cur = http_parser_current(c->parser[request_dir(c)]);
    return cur ? cur->method : NULL;
}

/* ---- connection lifecycle ---------------------------------------------------------- */

static void parser_fold_stats(conn_table *t, http_parser *p)
{
    const http_parser_stats *s = http_parser_get_stats(p);
    t->st.parse_errors += s->errors;
    t->st.resyncs += s->resyncs;
    t->st.non_http_bytes += s->bytes_discarded;
}

static void conn_drop_state(conn *c)
{
    conn_table *t = c->t;
    for (int d = 0; d < 2; d++) {
        if (c->parser[d]) {
            parser_fold_stats(t, c->parser[d]);
            http_parser_free(c->parser[d]);
            c->parser[d] = NULL;
        }
        t->st.non_http_bytes += c->npend[d];
        c->npend[d] = 0;
        c->seen[d] = 0;
        c->late_start[d] = 0;
        c->expect[d] = 0;
    }
    while (c->qlen)
        msg_release(t, queue_pop(c));
    msg_release(t, c->early);
    c->early = NULL;
    c->resp_gap = 0;
    c->info.role = CONN_ROLE_UNKNOWN;
}

/* End of the connection: finish close-delimited bodies, deliver what waits. */
static void conn_finish(conn *c, uint64_t ts)
{
    int rq = request_dir(c);
    if (c->parser[rq])
        http_parser_close(c->parser[rq], ts);
    if (c->parser[!rq])
        http_parser_close(c->parser[!rq], ts);
    if (c->early) {
        http_msg *resp = c->early;
        c->early = NULL;
        exchange(c, NULL, resp);
    }
    while (c->qlen)
        exchange(c, queue_pop(c), NULL);
    conn_drop_state(c);
}

static void conn_destroy(conn_table *t, conn *c)
{
    conn **pp = &t->buckets[key_slot(t, &c->info.key)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    tg_unlink(t, c);
    lru_unlink(t, c);
    conn_drop_state(c);
    free(c->q);
    free(c);
    t->count--;
}

static void conn_end(conn_table *t, conn *c, uint64_t ts)
{
    conn_finish(c, ts);
    conn_destroy(t, c);
}

static conn *conn_create(conn_table *t, const conn_key *k, uint64_t ts)
{
    if (t->count >= t->lim.max_conns && t->lru_head) {
        t->st.conns_evicted++;
        conn_end(t, t->lru_head, ts);
    }
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->t = t;
    c->info.key = *k;
    c->info.id = ++t->next_id;
    c->last_ts = ts;
    if (t->count + 1 > t->nbuckets)
        table_grow(t);
    size_t s = key_slot(t, k);
    c->hnext = t->buckets[s];
    t->buckets[s] = c;
    tg_link(t, c);
    lru_append(t, c);
    t->count++;
    t->st.conns_total++;
    return c;
}

/* The SSL* was reused for a new connection: finish the old one in place. */
static void conn_restart(conn_table *t, conn *c, uint64_t ts)
{
    conn_finish(c, ts);
    c->info.id = ++t->next_id;
    t->st.conns_total++;
}

/* ---- records --------------------------------------------------------------------- */

static void conn_set_role(conn *c, int request_side)
{
    conn_table *t = c->t;
    c->info.role = request_side == CONN_DIR_WRITE ? CONN_ROLE_CLIENT : CONN_ROLE_SERVER;
    http_parser_cb rq = {c, on_request_msg, NULL};
    http_parser_cb rs = {c, on_response_msg, request_method};
    c->parser[request_side] = http_parser_new(HTTP_PARSE_REQUEST, &t->lim.http, &rq);
    c->parser[!request_side] = http_parser_new(HTTP_PARSE_RESPONSE, &t->lim.http, &rs);
    t->st.non_http_bytes += c->npend[!request_side];
    c->npend[!request_side] = 0;
}

/* Role unknown: does this direction start with a request line? */
static void sniff_role(conn *c, int dir, const uint8_t *data, size_t len, uint64_t ts, uint32_t tid)
{
    conn_table *t = c->t;
    uint8_t probe[PEND_MAX];
    size_t np = c->npend[dir], take = len < PEND_MAX - np ? len : PEND_MAX - np;
    memcpy(probe, c->pend[dir], np);
    memcpy(probe + np, data, take);
    int r = http_message_start(HTTP_PARSE_REQUEST, probe, np + take);
    if (r == 0 && np + len < PEND_MAX) {
        memcpy(c->pend[dir] + np, data, len);
        c->npend[dir] = (uint8_t)(np + len);
        return;
    }
    if (r <= 0) {
        t->st.non_http_bytes += np + len;
        c->npend[dir] = 0;
        return;
    }
    conn_set_role(c, dir);
    http_parser *p = c->parser[dir];
    if (!p)
        return;
    c->npend[dir] = 0;
    if (np)
        http_parser_feed(p, c->pend[dir], np, ts, tid);
    http_parser_feed(p, data, len, ts, tid);
}

static void conn_gap(conn *c, int dir, uint64_t ts)
{
    c->t->st.gaps++;
    if (!c->parser[dir]) {
        c->t->st.non_http_bytes += c->npend[dir];
        c->npend[dir] = 0;
        return;
    }
    http_parser_gap(c->parser[dir], ts);
    if (dir != request_dir(c))
        c->resp_gap = 1;
}

void conn_table_record(conn_table *t, const conn_key *k, int dir, uint64_t offset,
                       const uint8_t *data, size_t len, uint64_t lost_after,
                       uint64_t ts, uint32_t tid)
{
    if (!t || !k || (dir != CONN_DIR_WRITE && dir != CONN_DIR_READ) || (!data && len))
        return;
    conn *c = conn_find(t, k);
    if (c) {
        lru_unlink(t, c);
        lru_append(t, c);
    } else if (!(c = conn_create(t, k, ts))) {
        return;
    }
    c->last_ts = ts;
    if (offset == 0 && c->seen[dir] && c->expect[dir] > 0)
        conn_restart(t, c, ts);
    if (!c->seen[dir]) {
        c->seen[dir] = 1;
        c->late_start[dir] = offset > 0; /* attached late, or the first records were lost */
        c->expect[dir] = offset;
    }
    if (offset > c->expect[dir]) {
        conn_gap(c, dir, ts);
    } else if (offset < c->expect[dir]) {
        uint64_t old = c->expect[dir] - offset;
        if (old >= len)
            return; /* all seen before */
        data += old;
        len -= (size_t)old;
        offset = c->expect[dir];
    }
    c->expect[dir] = offset + len;
    if (len) {
        if (c->parser[dir]) {
            http_parser_feed(c->parser[dir], data, len, ts, tid);
        } else if (c->info.role == CONN_ROLE_UNKNOWN) {
            sniff_role(c, dir, data, len, ts, tid);
        } else {
            t->st.non_http_bytes += len; /* parser allocation failed */
        }
    }
    if (lost_after) {
        conn_gap(c, dir, ts);
        c->expect[dir] += lost_after;
    }
}

/* ---- table ------------------------------------------------------------------------ */

conn_table *conn_table_new(const conn_limits *lim, const conn_table_cb *cb)
{
    conn_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    conn_limits_default(&t->lim);
    if (lim) {
        t->lim.http = lim->http;
        if (lim->max_conns)
            t->lim.max_conns = lim->max_conns;
        if (lim->max_pending)
            t->lim.max_pending = lim->max_pending;
        if (lim->idle_timeout_ns)
            t->lim.idle_timeout_ns = lim->idle_timeout_ns;
    }
    if (cb)
        t->cb = *cb;
    t->nbuckets = TABLE_INIT_BUCKETS;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    t->tg_buckets = calloc(t->nbuckets, sizeof *t->tg_buckets);
    if (!t->buckets || !t->tg_buckets) {
        free(t->buckets);
        free(t->tg_buckets);
        free(t);
        return NULL;
    }
    return t;
}

void conn_table_free(conn_table *t)
{
    if (!t)
        return;
    while (t->lru_head)
        conn_destroy(t, t->lru_head);
    free(t->buckets);
    free(t->tg_buckets);
    free(t);
}

void conn_table_close(conn_table *t, const conn_key *k, uint64_t ts)
{
    if (!t || !k)
        return;
    conn *c = conn_find(t, k);
    if (c)
        conn_end(t, c, ts);
}

void conn_table_exit(conn_table *t, uint32_t tgid, uint64_t ts)
{
    if (!t)
        return;
    conn *c = t->tg_buckets[tg_slot(t, tgid)];
    while (c) {
        conn *next = c->tg_next;
        if (c->info.key.tgid == tgid)
            conn_end(t, c, ts);
        c = next;
    }
}

void conn_table_expire(conn_table *t, uint64_t now)
{
    if (!t)
        return;
    conn *c = t->lru_head;
    while (c) {
        conn *next = c->lru_next;
        if (now >= c->last_ts && now - c->last_ts >= t->lim.idle_timeout_ns)
            conn_end(t, c, now);
        else if (now >= c->last_ts)
            break; /* the rest were used more recently */
        c = next;
    }
}

void conn_table_flush(conn_table *t, uint64_t ts)
{
    if (!t)
        return;
    while (t->lru_head)
        conn_end(t, t->lru_head, ts);
}

void conn_table_get_stats(const conn_table *t, conn_table_stats *out)
{
    *out = t->st;
    out->conns_open = t->count;
    for (const conn *c = t->lru_head; c; c = c->lru_next) {
        for (int d = 0; d < 2; d++) {
            if (!c->parser[d])
                continue;
            const http_parser_stats *s = http_parser_get_stats(c->parser[d]);
            out->parse_errors += s->errors;
            out->resyncs += s->resyncs;
            out->non_http_bytes += s->bytes_discarded;
        }
    }
}

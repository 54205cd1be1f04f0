/* fuzz_conn.c: libFuzzer target for the connection table
 * (src/stream/conn.c): a stream of captured TLS records, as the capture
 * would hand them over, over four connections of two processes.
 *
 * Input: a sequence of records, each a 4-byte header [op][arg][len lo]
 * [len hi] followed by len data bytes (cut short at the end of the input).
 * op bits 3-4 pick the connection, bit 5 the direction (write/read), and
 * op & 7 what happens:
 *   0, 1  data at the expected offset
 *   2     data after a gap of arg+1 bytes
 *   3     data of which arg+1 more bytes were lost (over the capture cap)
 *   4     data repeated: offset arg bytes back
 *   5     data at absolute offset arg (0 restarts a reused SSL*)
 *   6     close the connection (arg odd: its process exits); no data
 *   7     time passes: arg seconds, then an idle sweep; no data
 * The table is small (3 connections, 4 pending requests, 10 s idle) so
 * eviction, expiry and the pending limit are reached.  Checks: every
 * request handed to on_request comes back exactly once in on_exchange,
 * with or without a response; directions and roles are consistent; user
 * data is released exactly once (ASan/LSan catch double frees and leaks). */
#include <string.h>

#include "fuzz.h"
#include "stream/conn.h"

typedef struct tally {
    size_t requests, exchanged, responses;
} tally;

typedef struct req_tag {
    uint64_t magic;
    uint64_t conn_id;
} req_tag;

#define TAG_MAGIC 0x6f6973702d726571ull

static void on_request(void *ctx, const conn_info *c, http_msg *req)
{
    tally *t = ctx;
    FUZZ_CHECK(req->is_request && req->user == NULL);
    FUZZ_CHECK(c->role == CONN_ROLE_CLIENT || c->role == CONN_ROLE_SERVER);
    req_tag *tag = malloc(sizeof *tag);
    FUZZ_CHECK(tag != NULL);
    tag->magic = TAG_MAGIC;
    tag->conn_id = c->id;
    req->user = tag;
    t->requests++;
}

static void on_exchange(void *ctx, const conn_info *c, http_msg *req, http_msg *resp)
{
    tally *t = ctx;
    FUZZ_CHECK(req || resp);
    if (req) {
        FUZZ_CHECK(req->is_request);
        req_tag *tag = req->user;
        FUZZ_CHECK(tag && tag->magic == TAG_MAGIC && tag->conn_id == c->id);
        t->exchanged++;
    }
    if (resp) {
        FUZZ_CHECK(!resp->is_request);
        FUZZ_CHECK(resp->body == NULL || resp->body[resp->body_len] == 0);
        t->responses++;
    }
}

static void free_user(void *ctx, void *user)
{
    (void)ctx;
    req_tag *tag = user;
    FUZZ_CHECK(tag->magic == TAG_MAGIC);
    tag->magic = 0;
    free(tag);
}

static const conn_key KEYS[4] = {{100, 0x1000}, {100, 0x2000}, {200, 0x1000}, {200, 0x3000}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    conn_limits lim;
    conn_limits_default(&lim);
    lim.max_conns = 3;
    lim.max_pending = 4;
    lim.idle_timeout_ns = 10000000000ull;
    lim.http.max_header_bytes = 8192;
    lim.http.max_body_bytes = 65536;
    lim.http.max_marks = 64;
    tally tl = {0};
    conn_table_cb cb = {.ctx = &tl, .on_request = on_request, .on_exchange = on_exchange,
                        .free_user = free_user};
    conn_table *t = conn_table_new(&lim, &cb);
    FUZZ_CHECK(t != NULL);

    uint64_t expect[4][2] = {{0}};
    uint64_t ts = 1000000000ull;
    size_t i = 0;
    while (i + 4 <= size) {
        uint8_t op = data[i], arg = data[i + 1];
        size_t len = (size_t)data[i + 2] | (size_t)data[i + 3] << 8;
        i += 4;
        int ci = (op >> 3) & 3, dir = (op >> 5) & 1;
        ts += 1000 + arg;
        switch (op & 7) {
        case 6:
            if (arg & 1) {
                conn_table_exit(t, KEYS[ci].tgid, ts);
                for (int k = 0; k < 4; k++)
                    if (KEYS[k].tgid == KEYS[ci].tgid)
                        expect[k][0] = expect[k][1] = 0;
            } else {
                conn_table_close(t, &KEYS[ci], ts);
                expect[ci][0] = expect[ci][1] = 0;
            }
            continue;
        case 7:
            ts += (uint64_t)arg * 1000000000ull;
            conn_table_expire(t, ts);
            continue;
        default:
            break;
        }
        if (len > size - i)
            len = size - i;
        uint64_t off = expect[ci][dir], lost = 0;
        switch (op & 7) {
        case 2: off += (uint64_t)arg + 1; break;
        case 3: lost = (uint64_t)arg + 1; break;
        case 4: off -= off < arg ? off : arg; break;
        case 5: off = arg; break;
        default: break;
        }
        conn_table_record(t, &KEYS[ci], dir, off, data + i, len, lost, ts, 7);
        if (off + len + lost > expect[ci][dir] || (op & 7) == 5)
            expect[ci][dir] = off + len + lost;
        i += len;
    }
    conn_table_flush(t, ts + 1);
    conn_table_stats st;
    conn_table_get_stats(t, &st);
    FUZZ_CHECK(st.conns_open == 0);
    FUZZ_CHECK(tl.exchanged == tl.requests);
    conn_table_free(t);
    return 0;
}

// SPDX-License-Identifier: GPL-2.0
/* tls.bpf.c: capture the plaintext of OpenSSL reads and writes.
 *
 * An entry probe saves the arguments of an SSL read/write (SSL*, buffer,
 * pointer to the byte count) keyed by thread; the matching return probe
 * learns how many bytes were really moved and copies them into the ring
 * buffer as one or more chunks of at most TLS_CHUNK_MAX bytes, each tagged
 * with its offset in the connection's byte stream, up to max_capture bytes a
 * call.  Where the probes sit (the public SSL_* functions or the internal
 * function they share) is chosen by user space; the attach cookie says which
 * calling convention the probed function has.
 *
 * Records are submitted without waking the consumer, which polls; a wake-up
 * is forced only when unread data passes wake_bytes, and at the first chunk
 * of a call larger than that, which may not fit the ring unless the reader
 * drains it while the rest is written.  Every record
 * that cannot be delivered is counted, by cause, in `counters`. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tls.h"


const volatile __u64 max_capture = TLS_MAX_CAPTURE_DEFAULT;
const volatile __u64 wake_bytes = 4 << 20;
const volatile __u32 self_tgid = 0;
/* .bss, not .rodata: SIGHUP may turn the pid/comm filter on or off */
volatile bool filter_on = false;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 16 << 20); /* resized by user space before load */
} events SEC(".maps");

struct call_args {
    __u64 ssl;
    __u64 buf;
    __u64 bytes_ptr;
    __u64 cookie;
    __u64 valid; /* set on entry, cleared on return */
};

/* The arguments of the SSL call in progress, per thread.  Task storage is
 * a pointer away from the task: cheaper than a hash map on every call. */
struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct call_args);
} active SEC(".maps");

struct off_key {
    __u32 tgid;
    __u32 dir;
    __u64 ssl;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct off_key);
    __type(value, __u64);
} offsets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32); /* tgid that produced TLS records: report its exit */
    __type(value, __u8);
} tls_tgids SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u8);
} pid_filter SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, char[16]);
    __type(value, __u8);
} comm_filter SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, TLS_CNT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx, __u64 n)
{
    __u64 *v = bpf_map_lookup_elem(&counters, &idx);
    if (v)
        *v += n;
}

/* Wake the consumer only when this record (size bytes) takes the unread
 * data past wake_bytes: one wake-up per crossing.  Waking on every record
 * while the ring is above the mark costs an inter-processor interrupt per
 * record, which is what a saturated client would pay. */
static __always_inline __u64 wake_flag_sized(__u64 size)
{
    __u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
    return avail > wake_bytes && avail <= wake_bytes + size ? BPF_RB_FORCE_WAKEUP
                                                            : BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 wake_flag(void) { return wake_flag_sized(sizeof(struct oisp_rec)); }

static __always_inline bool wanted(__u32 tgid)
{
    if (tgid == self_tgid)
        return false;
    if (!filter_on)
        return true;
    if (bpf_map_lookup_elem(&pid_filter, &tgid))
        return true;
    char comm[16] = {};
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    BPF_CORE_READ_STR_INTO(&comm, task, group_leader, comm);
    return bpf_map_lookup_elem(&comm_filter, &comm) != NULL;
}

/* One call's data, being cut into chunks by emit_chunk(). */
struct emit_ctx {
    __u64 buf;
    __u64 ssl;
    __u64 offset;
    __u64 ts;
    __u64 cap;  /* bytes to capture */
    __u64 lost; /* bytes over the cap */
    __u32 tgid;
    __u32 tid;
    __u32 dir;
    __u32 wake_first; /* a call larger than wake_bytes: wake the reader at its first chunk */
};

static __always_inline void fill_header(struct oisp_rec *r, struct emit_ctx *c, __u64 pos, __u64 len)
{
    r->kind = TLS_REC_DATA;
    r->dir = c->dir;
    r->len = len;
    r->tgid = c->tgid;
    r->tid = c->tid;
    r->ssl = c->ssl;
    r->offset = c->offset + pos;
    r->ts = c->ts;
    bool last = pos + len >= c->cap;
    r->flags = last ? TLS_REC_F_LAST : 0;
    r->lost = last ? c->lost : 0;
}

/* Reserve a record with room for SZ payload bytes and copy len (<= SZ) in.
 * Ring records must have a size known to the verifier, so payloads go into
 * the smallest of a ladder of power-of-two sizes. */
#define DEFINE_OUT(SZ)                                                                   \
    static __noinline int out_##SZ(struct emit_ctx *c, __u64 pos, __u64 len)             \
    {                                                                                    \
        struct oisp_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r) + SZ, 0);             \
        if (!r) {                                                                        \
            count(TLS_CNT_DROP_RING, 1);                                                 \
            count(TLS_CNT_DROP_RING_BYTES, len);                                         \
            return 0;                                                                    \
        }                                                                                \
        asm volatile("" : "+r"(len)); /* keep the clamp: the verifier needs it */        \
        if (len > SZ)                                                                    \
            len = SZ;                                                                    \
        fill_header(r, c, pos, len);                                                     \
        if (bpf_probe_read_user(r->data, len, (void *)(c->buf + pos))) {                 \
            bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);                                    \
            count(TLS_CNT_DROP_READ, 1);                                                 \
            count(TLS_CNT_DROP_READ_BYTES, len);                                         \
            return 0;                                                                    \
        }                                                                                \
        bpf_ringbuf_submit(r, pos == 0 && c->wake_first ? BPF_RB_FORCE_WAKEUP             \
                                                        : wake_flag_sized(sizeof(*r) + SZ)); \
        count(TLS_CNT_BYTES, len);                                                       \
        return 0;                                                                        \
    }
DEFINE_OUT(128)
DEFINE_OUT(512)
DEFINE_OUT(2048)
DEFINE_OUT(4096)
DEFINE_OUT(8192)
DEFINE_OUT(16384)
DEFINE_OUT(32768)
_Static_assert(TLS_CHUNK_MAX == 32768, "ladder ends at TLS_CHUNK_MAX");

static long emit_chunk(__u32 i, void *arg)
{
    struct emit_ctx *c = arg;
    __u64 pos = (__u64)i * TLS_CHUNK_MAX;
    if (pos >= c->cap)
        return 1;
    __u64 rest = c->cap - pos;
    __u64 len = rest > TLS_CHUNK_MAX ? TLS_CHUNK_MAX : rest;
    if (len <= 128)
        return out_128(c, pos, len);
    if (len <= 512)
        return out_512(c, pos, len);
    if (len <= 2048)
        return out_2048(c, pos, len);
    if (len <= 4096)
        return out_4096(c, pos, len);
    if (len <= 8192)
        return out_8192(c, pos, len);
    if (len <= 16384)
        return out_16384(c, pos, len);
    return out_32768(c, pos, len);
}

/* Claim [offset, offset + n) of this connection direction's stream. */
static __always_inline __u64 take_offset(__u32 tgid, __u32 dir, __u64 ssl, __u64 n)
{
    struct off_key k = {.tgid = tgid, .dir = dir, .ssl = ssl};
    __u64 *cur = bpf_map_lookup_elem(&offsets, &k);
    if (cur)
        return __sync_fetch_and_add(cur, n);
    if (bpf_map_update_elem(&offsets, &k, &n, BPF_NOEXIST))
        count(TLS_CNT_DROP_OFFSET_MAP, 1);
    __u8 one = 1; /* a new connection: make sure this process's exit is reported */
    bpf_map_update_elem(&tls_tgids, &tgid, &one, BPF_ANY);
    return 0;
}

static __always_inline void emit_call(struct call_args *a, __u64 pid_tgid, __u64 n)
{
    struct emit_ctx c = {};
    c.tgid = pid_tgid >> 32;
    c.tid = (__u32)pid_tgid;
    c.dir = (a->cookie & TLS_COOKIE_DIR_READ) ? TLS_DIR_READ : TLS_DIR_WRITE;
    c.buf = a->buf;
    c.ssl = a->ssl;
    c.ts = bpf_ktime_get_ns();
    c.cap = n > max_capture ? max_capture : n;
    c.lost = n - c.cap;
    /* A call this large fills a good part of the ring in one go: the reader
     * starts copying while the rest is still being written. */
    c.wake_first = c.cap > wake_bytes;
    c.offset = take_offset(c.tgid, c.dir, c.ssl, n);
    count(TLS_CNT_CALLS, 1);
    if (c.lost) {
        count(TLS_CNT_OVER_CAP_CALLS, 1);
        count(TLS_CNT_OVER_CAP_BYTES, c.lost);
    }
    __u32 chunks = (c.cap + TLS_CHUNK_MAX - 1) / TLS_CHUNK_MAX;
    bpf_loop(chunks, emit_chunk, &c, 0);
}

SEC("uprobe")
int BPF_KPROBE(tls_enter, void *ssl, void *buf, __u64 num, void *bytes_ptr)
{
    __u64 id = bpf_get_current_pid_tgid();
    if (!wanted(id >> 32)) {
        count(TLS_CNT_FILTERED, 1);
        return 0;
    }
    struct call_args *a = bpf_task_storage_get(&active, bpf_get_current_task_btf(), 0,
                                               BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!a) {
        count(TLS_CNT_DROP_ACTIVE_MAP, 1);
        return 0;
    }
    a->ssl = (__u64)ssl;
    a->buf = (__u64)buf;
    a->bytes_ptr = (__u64)bytes_ptr;
    a->cookie = bpf_get_attach_cookie(ctx);
    a->valid = 1;
    return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(tls_exit, long ret)
{
    struct call_args *p = bpf_task_storage_get(&active, bpf_get_current_task_btf(), 0, 0);
    if (!p || !p->valid)
        return 0;
    struct call_args a = *p;
    p->valid = 0;
    if ((int)ret <= 0)
        return 0;
    __u64 n = (__u64)(int)ret;
    if (a.cookie & TLS_COOKIE_EX_CONV) {
        if (bpf_probe_read_user(&n, sizeof(n), (void *)a.bytes_ptr)) {
            count(TLS_CNT_DROP_READ, 1);
            return 0;
        }
    }
    if (n > 0)
        emit_call(&a, bpf_get_current_pid_tgid(), n);
    return 0;
}

static __always_inline void emit_ctrl(__u8 kind, __u32 tgid, __u32 tid, __u64 ssl, __u64 offset,
                                      __u64 flags)
{
    struct oisp_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
    if (!r) {
        count(TLS_CNT_DROP_CTRL, 1);
        return;
    }
    __builtin_memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->tgid = tgid;
    r->tid = tid;
    r->ssl = ssl;
    r->offset = offset;
    r->ts = bpf_ktime_get_ns();
    bpf_ringbuf_submit(r, flags);
}

SEC("uprobe")
int BPF_KPROBE(tls_free, void *ssl)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32;
    struct off_key k = {.tgid = tgid, .dir = TLS_DIR_WRITE, .ssl = (__u64)ssl};
    bool seen = bpf_map_delete_elem(&offsets, &k) == 0;
    k.dir = TLS_DIR_READ;
    seen |= bpf_map_delete_elem(&offsets, &k) == 0;
    if (seen)
        emit_ctrl(TLS_REC_CLOSE, tgid, (__u32)id, (__u64)ssl, 0, wake_flag());
    return 0;
}

/* tp_btf needs no tracefs mount.  The record names the new executable
 * (device, inode) so user space looks at each binary once, not per exec. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct inode *ino = BPF_CORE_READ(bprm, file, f_inode);
    __u64 inum = BPF_CORE_READ(ino, i_ino), dev = BPF_CORE_READ(ino, i_sb, s_dev);
    /* no forced wake-up: an exec storm must not wake the sensor per exec;
     * the consumer's poll period (20 ms) is shorter than any client's
     * start-up before its first TLS call */
    emit_ctrl(TLS_REC_EXEC, id >> 32, (__u32)id, inum, dev, wake_flag());
    return 0;
}

SEC("tp_btf/sched_process_exit")
int handle_exit(void *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32;
    if (tgid != (__u32)id)
        return 0; /* a thread, not the process */
    if (bpf_map_delete_elem(&tls_tgids, &tgid) == 0)
        emit_ctrl(TLS_REC_EXIT, tgid, tgid, 0, 0, wake_flag());
    return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* host.bpf.c: what tracked processes do on the host: exec, fork, exit,
 * file open/write/delete/rename, TCP connect and accept, DNS over UDP.
 *
 * "Tracked" is decided in the kernel so unrelated processes cost a hash
 * lookup: a process is tracked when user space marks it (it made an AI
 * call, or --pid), when its name or cgroup is in a filter, or when its
 * parent is tracked at fork (descendants inherit).  all_processes tracks
 * everything.  Each process may send at most rate_limit records a second;
 * the rest are shed and counted.
 *
 * File writes (write, pwrite64, writev, pwritev, pwritev2) are tallied per
 * (process, open file) in a map from the calls' results and reported once,
 * when the file is closed, so 10,000 small writes make one event.
 *
 * DNS: a datagram a tracked process sends on a UDP socket to port 53
 * (sendto, sendmsg, sendmmsg, or write/writev/send on a connected socket),
 * and one it receives from port 53 or on a socket that sent to it
 * (recvfrom, recvmsg, recvmmsg, read), is copied (its first HOST_DNS_MAX
 * bytes) for user space to parse.  Any other read or send costs the check
 * of its descriptor: a socket, UDP, and the peer's port.
 * Records go to the TLS capture's ring buffer (the map is shared). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "host.h"

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFSOCK 0140000
#define IPPROTO_UDP 17
#define DNS_PORT 53
#define DNS_IOV_MAX 4  /* iovecs of one datagram copied */
#define DNS_MMSG_MAX 4 /* datagrams of one sendmmsg/recvmmsg copied (glibc sends 2) */
#define PROC_SUPER_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
#define DEVPTS_SUPER_MAGIC 0x1cd1
#define CGROUP2_SUPER_MAGIC 0x63677270
#define FILENAME_MAX_ 512
#define ARGS_MAX (HOST_DATA_MAX - FILENAME_MAX_)

const volatile bool all_processes = false;
const volatile __u32 self_tgid = 0;
const volatile __u32 rate_limit = 2000; /* records per second per process */
const volatile __u64 wake_bytes = 4 << 20;  /* set by user space: a quarter of the ring */

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096); /* replaced by the TLS capture's ring */
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u8);
} tracked SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, char[16]);
    __type(value, __u8);
} comm_roots SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u64);
    __type(value, __u8);
} cgroup_roots SEC(".maps");

struct rate {
    __u64 window; /* second (ktime / 1e9) the count belongs to */
    __u64 count;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, struct rate);
} rates SEC(".maps");

struct write_key {
    __u32 tgid;
    __u32 pad;
    __u64 file;
};

struct write_tally {
    __u64 bytes;
    __u64 calls;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct write_key);
    __type(value, struct write_tally);
} writes SEC(".maps");

/* UDP sockets (struct sock *) that sent to port 53 without being connected
 * there: their replies may come through recv()/read() with no address.
 * Closed sockets age out (LRU); a stray datagram user space cannot match
 * to a query is dropped there. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64);
    __type(value, __u8);
} dns_socks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, HOST_CNT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} host_counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
    __u64 *v = bpf_map_lookup_elem(&host_counters, &idx);
    if (v)
        *v += 1;
}

static __always_inline bool is_tracked(__u32 tgid)
{
    if (tgid == self_tgid)
        return false;
    return all_processes || bpf_map_lookup_elem(&tracked, &tgid);
}

static __always_inline void track(__u32 tgid)
{
    __u8 one = 1;
    if (!all_processes)
        bpf_map_update_elem(&tracked, &tgid, &one, BPF_ANY);
}

/* A root by name or cgroup (checked at exec, when the name is new). */
static __always_inline bool is_root(struct task_struct *p)
{
    char comm[16] = {};
    BPF_CORE_READ_STR_INTO(&comm, p, comm);
    if (bpf_map_lookup_elem(&comm_roots, &comm))
        return true;
    __u64 cg = bpf_get_current_cgroup_id();
    return bpf_map_lookup_elem(&cgroup_roots, &cg) != NULL;
}

static __always_inline bool within_rate(__u32 tgid, __u64 now)
{
    __u64 sec = now / 1000000000ull;
    struct rate *r = bpf_map_lookup_elem(&rates, &tgid);
    if (!r) {
        struct rate fresh = {.window = sec, .count = 1};
        bpf_map_update_elem(&rates, &tgid, &fresh, BPF_ANY);
        return true;
    }
    if (r->window != sec) {
        r->window = sec;
        r->count = 0;
    }
    if (++r->count > rate_limit) {
        count(HOST_CNT_SHED);
        return false;
    }
    return true;
}

/* Reserve a record (size: header, plus `extra` data bytes: 0,
 * HOST_DATA_MAX for strings or HOST_DNS_AREA for a datagram; a constant at
 * every call) and fill the common header from the current task. */
static __always_inline struct host_rec *start(__u8 kind, __u32 extra)
{
    __u64 now = bpf_ktime_get_ns();
    __u64 id = bpf_get_current_pid_tgid();
    if (!within_rate(id >> 32, now))
        return NULL;
    struct host_rec *r;
    if (extra == HOST_DATA_MAX)
        r = bpf_ringbuf_reserve(&events, sizeof(*r) + HOST_DATA_MAX, 0);
    else if (extra == HOST_DNS_AREA)
        r = bpf_ringbuf_reserve(&events, sizeof(*r) + HOST_DNS_AREA, 0);
    else
        r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
    if (!r) {
        count(HOST_CNT_DROP_RING);
        return NULL;
    }
    __builtin_memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->tgid = id >> 32;
    r->tid = (__u32)id;
    r->ts = now;
    __u64 ug = bpf_get_current_uid_gid();
    r->uid = (__u32)ug;
    r->gid = ug >> 32;
    r->cgroup = bpf_get_current_cgroup_id();
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    r->ppid = BPF_CORE_READ(t, real_parent, tgid);
    bpf_get_current_comm(&r->comm, sizeof(r->comm));
    return r;
}

/* As tls.bpf.c: the consumer polls every 20 ms, so a record wakes it only
 * when it takes unread data past wake_bytes.  The default (wake when the
 * ring was empty) woke the sensor for nearly every exec, fork and exit of
 * an exec storm. */
static __always_inline void submit(struct host_rec *r)
{
    count(HOST_CNT_EVENTS);
    __u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
    bpf_ringbuf_submit(r, avail > wake_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(host_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    __u32 tgid = BPF_CORE_READ(p, tgid);
    if (!is_tracked(tgid)) {
        if (tgid == self_tgid || !is_root(p))
            return 0;
        track(tgid);
    }
    struct host_rec *r = start(HOST_EXEC, HOST_DATA_MAX);
    if (!r)
        return 0;
    long n = bpf_probe_read_kernel_str(r->data, FILENAME_MAX_, BPF_CORE_READ(bprm, filename));
    r->len1 = n > 0 ? n : 0;
    struct mm_struct *mm = BPF_CORE_READ(p, mm);
    __u64 a0 = BPF_CORE_READ(mm, arg_start), a1 = BPF_CORE_READ(mm, arg_end);
    __u64 len = a1 > a0 ? a1 - a0 : 0;
    if (len > ARGS_MAX)
        len = ARGS_MAX;
    if (len && bpf_probe_read_user(r->data + FILENAME_MAX_, len, (void *)a0) == 0)
        r->len2 = len;
    submit(r);
    return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(host_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
    if (ptgid == ctgid || !is_tracked(ptgid))
        return 0; /* a new thread, or nobody we follow */
    track(ctgid);
    struct host_rec *r = start(HOST_FORK, 0);
    if (!r)
        return 0;
    r->u.fork.child = ctgid;
    submit(r);
    return 0;
}

static __always_inline void flush_tallies(__u32 tgid);

SEC("tp_btf/sched_process_exit")
int BPF_PROG(host_exit, struct task_struct *p)
{
    __u32 tgid = BPF_CORE_READ(p, tgid);
    if (BPF_CORE_READ(p, pid) != tgid || !is_tracked(tgid))
        return 0;
    struct host_rec *r = start(HOST_EXIT, 0);
    if (r) {
        __u32 code = BPF_CORE_READ(p, exit_code);
        r->u.exit.code = (code >> 8) & 0xff;
        r->u.exit.sig = code & 0x7f;
        r->u.exit.runtime_ns = r->ts - BPF_CORE_READ(p, start_time);
        r->u.exit.utime_ns = BPF_CORE_READ(p, utime) + BPF_CORE_READ(p, signal, utime);
        r->u.exit.stime_ns = BPF_CORE_READ(p, stime) + BPF_CORE_READ(p, signal, stime);
        r->u.exit.maxrss_kb = BPF_CORE_READ(p, signal, maxrss) * 4;
        submit(r);
    }
    flush_tallies(tgid);
    bpf_map_delete_elem(&tracked, &tgid);
    return 0;
}

/* ---- files and sockets: the raw syscall tracepoints ----
 * kprobes and fentry are not available on every kernel we run on (this
 * one has neither), tracepoints are.  sys_enter saves the arguments of the
 * few syscalls we follow in task storage; sys_exit pairs them with the
 * result.  Every other syscall costs one comparison. */

enum {
    NR_READ = 0, NR_WRITE = 1, NR_OPEN = 2, NR_CLOSE = 3, NR_PWRITE64 = 18, NR_WRITEV = 20,
    NR_CONNECT = 42, NR_ACCEPT = 43, NR_SENDTO = 44, NR_RECVFROM = 45, NR_SENDMSG = 46,
    NR_RECVMSG = 47, NR_RENAME = 82, NR_RMDIR = 84, NR_CREAT = 85, NR_UNLINK = 87,
    NR_OPENAT = 257, NR_UNLINKAT = 263, NR_RENAMEAT = 264, NR_ACCEPT4 = 288, NR_PWRITEV = 296,
    NR_RECVMMSG = 299, NR_SENDMMSG = 307, NR_RENAMEAT2 = 316, NR_PWRITEV2 = 328, NR_OPENAT2 = 437,
};

struct sys_args {
    long nr; /* syscall in progress, -1 if none */
    __u64 a[5]; /* a[4] only for sendto/recvfrom (the address) */
};

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct sys_args);
} sys_inflight SEC(".maps");

static __always_inline bool followed(long nr)
{
    switch (nr) {
    case NR_WRITE: case NR_PWRITE64: case NR_WRITEV: case NR_PWRITEV: case NR_PWRITEV2:
    case NR_OPEN: case NR_CLOSE: case NR_CONNECT: case NR_ACCEPT: case NR_RENAME: case NR_RMDIR:
    case NR_CREAT: case NR_UNLINK: case NR_OPENAT: case NR_UNLINKAT: case NR_RENAMEAT:
    case NR_ACCEPT4: case NR_RENAMEAT2: case NR_OPENAT2:
    case NR_READ: case NR_SENDTO: case NR_RECVFROM: case NR_SENDMSG: case NR_RECVMSG:
    case NR_SENDMMSG: case NR_RECVMMSG:
        return true;
    }
    return false;
}

static __always_inline struct file *fd_file(int fd)
{
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
    unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
    struct file *f = NULL;
    if (fd < 0 || (unsigned int)fd >= max)
        return NULL;
    bpf_probe_read_kernel(&f, sizeof(f), fds + fd);
    return f;
}

static __always_inline bool regular_file(struct file *f)
{
    if (!f)
        return false;
    struct inode *ino = BPF_CORE_READ(f, f_inode);
    if ((BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFREG)
        return false;
    unsigned long magic = BPF_CORE_READ(ino, i_sb, s_magic);
    return magic != PROC_SUPER_MAGIC && magic != SYSFS_MAGIC && magic != CGROUP2_SUPER_MAGIC;
}

static __always_inline void on_close_enter(int fd);

/* One program for every syscall of every process: a syscall we do not
 * follow returns after the switch, one of an untracked process after a
 * hash lookup.
 * close() is handled here, while the descriptor still names the file
 * (only tracked processes have write tallies). */
SEC("tp_btf/sys_enter")
int BPF_PROG(host_sys_enter, struct pt_regs *regs, long nr)
{
    if (!followed(nr) || !is_tracked(bpf_get_current_pid_tgid() >> 32))
        return 0;
    if (nr == NR_CLOSE) {
        on_close_enter((int)BPF_CORE_READ(regs, di));
        return 0;
    }
    struct sys_args *a = bpf_task_storage_get(&sys_inflight, bpf_get_current_task_btf(), 0,
                                              BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!a)
        return 0;
    a->nr = nr;
    a->a[0] = BPF_CORE_READ(regs, di);
    a->a[1] = BPF_CORE_READ(regs, si);
    a->a[2] = BPF_CORE_READ(regs, dx);
    a->a[3] = BPF_CORE_READ(regs, r10);
    if (nr == NR_SENDTO || nr == NR_RECVFROM)
        a->a[4] = BPF_CORE_READ(regs, r8);
    return 0;
}

/* Path arguments are copied as the process gave them; user space makes
 * them absolute (dfd, cwd). */
static __always_inline void copy_user_path(struct host_rec *r, int slot, __u64 uptr)
{
    long n = bpf_probe_read_user_str(r->data + (slot ? FILENAME_MAX_ : 0), FILENAME_MAX_,
                                     (void *)uptr);
    if (slot)
        r->len2 = n > 0 ? n : 0;
    else
        r->len1 = n > 0 ? n : 0;
}

static __always_inline void on_open(struct sys_args *a, long ret)
{
    if (ret == -2) /* ENOENT: probing for files that do not exist is noise */
        return;
    bool at = a->nr == NR_OPENAT || a->nr == NR_OPENAT2;
    struct file *f = ret >= 0 ? fd_file((int)ret) : NULL;
    if (ret >= 0 && !regular_file(f))
        return;
    struct host_rec *r = start(HOST_OPEN, HOST_DATA_MAX);
    if (!r)
        return;
    r->ret = ret < 0 ? (int)ret : 0;
    r->dfd = at ? (int)a->a[0] : HOST_AT_FDCWD;
    if (a->nr == NR_OPENAT2) {
        __u64 flags = 0; /* struct open_how { u64 flags; ... } */
        bpf_probe_read_user(&flags, sizeof(flags), (void *)a->a[2]);
        r->u.file.flags = (__u32)flags;
    } else if (a->nr == NR_CREAT) {
        r->u.file.flags = 0101 | 01000; /* O_WRONLY|O_CREAT|O_TRUNC */
    } else {
        r->u.file.flags = (__u32)a->a[at ? 2 : 1];
    }
    r->u.file.file = (__u64)f;
    copy_user_path(r, 0, a->a[at ? 1 : 0]);
    submit(r);
}

static __always_inline void on_dgram_file(struct sys_args *a, struct file *f, long ret);

static __always_inline void on_write(struct sys_args *a, long ret)
{
    if (ret <= 0)
        return;
    struct file *f = fd_file((int)a->a[0]);
    if (!regular_file(f)) {
        if (a->nr == NR_WRITE || a->nr == NR_WRITEV)
            on_dgram_file(a, f, ret); /* a query on a connected UDP socket? */
        return;
    }
    struct write_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .file = (__u64)f};
    struct write_tally *t = bpf_map_lookup_elem(&writes, &k);
    if (t) {
        __sync_fetch_and_add(&t->bytes, ret);
        __sync_fetch_and_add(&t->calls, 1);
        return;
    }
    struct write_tally fresh = {.bytes = ret, .calls = 1};
    if (bpf_map_update_elem(&writes, &k, &fresh, BPF_ANY))
        count(HOST_CNT_WRITES_EVICTED);
}

static __always_inline void emit_tally(__u32 tgid, __u64 file, struct write_tally *t)
{
    struct host_rec *r = start(HOST_WRITE, 0);
    if (!r)
        return;
    r->tgid = tgid;
    r->u.file.bytes = t->bytes;
    r->u.file.calls = t->calls;
    r->u.file.file = file;
    submit(r);
}

/* close(): report what was written through this file.  The tally is taken
 * at sys_enter, while the descriptor still names the file. */
static __always_inline void on_close_enter(int fd)
{
    struct file *f = fd_file(fd);
    if (!f)
        return;
    struct write_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .file = (__u64)f};
    struct write_tally *t = bpf_map_lookup_elem(&writes, &k);
    if (!t)
        return;
    struct write_tally tally = *t;
    bpf_map_delete_elem(&writes, &k);
    emit_tally(k.tgid, k.file, &tally);
}

static __always_inline void on_path_op(struct sys_args *a, long ret)
{
    __u8 kind = (a->nr == NR_RENAME || a->nr == NR_RENAMEAT || a->nr == NR_RENAMEAT2) ? HOST_RENAME
                                                                                       : HOST_UNLINK;
    struct host_rec *r = start(kind, HOST_DATA_MAX);
    if (!r)
        return;
    r->ret = (int)ret;
    r->dfd = r->dfd2 = HOST_AT_FDCWD;
    switch (a->nr) {
    case NR_UNLINK: case NR_RMDIR:
        copy_user_path(r, 0, a->a[0]);
        break;
    case NR_UNLINKAT:
        r->dfd = (int)a->a[0];
        copy_user_path(r, 0, a->a[1]);
        break;
    case NR_RENAME:
        copy_user_path(r, 0, a->a[0]);
        copy_user_path(r, 1, a->a[1]);
        break;
    default: /* renameat, renameat2 */
        r->dfd = (int)a->a[0];
        r->dfd2 = (int)a->a[2];
        copy_user_path(r, 0, a->a[1]);
        copy_user_path(r, 1, a->a[3]);
    }
    submit(r);
}

static __always_inline struct sock *fd_sock(int fd)
{
    struct file *f = fd_file(fd);
    struct socket *so = f ? BPF_CORE_READ(f, private_data) : NULL;
    return so ? BPF_CORE_READ(so, sk) : NULL;
}

static __always_inline bool is_tcp(struct sock *sk)
{
    __u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);
    return (fam == AF_INET || fam == AF_INET6) && BPF_CORE_READ(sk, sk_protocol) == 6 &&
           BPF_CORE_READ(sk, sk_type) == 1 /* SOCK_STREAM */;
}

static __always_inline void sock_addrs(struct host_rec *r, struct sock *sk)
{
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    r->family = family;
    if (family == AF_INET6) {
        BPF_CORE_READ_INTO(&r->u.net.saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
        BPF_CORE_READ_INTO(&r->u.net.daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
    } else {
        BPF_CORE_READ_INTO((__u32 *)r->u.net.saddr, sk, __sk_common.skc_rcv_saddr);
        BPF_CORE_READ_INTO((__u32 *)r->u.net.daddr, sk, __sk_common.skc_daddr);
    }
    r->u.net.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
    r->u.net.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

static __always_inline void on_connect(struct sys_args *a, long ret)
{
    struct sock *sk = fd_sock((int)a->a[0]);
    if (!sk || !is_tcp(sk))
        return;
    struct host_rec *r = start(HOST_CONNECT, 0);
    if (!r)
        return;
    sock_addrs(r, sk);
    /* the destination as asked: right even when connect() failed early */
    __u16 fam = 0;
    bpf_probe_read_user(&fam, sizeof(fam), (void *)a->a[1]);
    if (fam == AF_INET6) {
        struct sockaddr_in6 s6 = {};
        bpf_probe_read_user(&s6, sizeof(s6), (void *)a->a[1]);
        __builtin_memcpy(r->u.net.daddr, &s6.sin6_addr, 16);
        r->u.net.dport = bpf_ntohs(s6.sin6_port);
    } else if (fam == AF_INET) {
        struct sockaddr_in s4 = {};
        bpf_probe_read_user(&s4, sizeof(s4), (void *)a->a[1]);
        __builtin_memcpy(r->u.net.daddr, &s4.sin_addr, 4);
        r->u.net.dport = bpf_ntohs(s4.sin_port);
    }
    r->ret = (int)ret;
    submit(r);
}

static __always_inline void on_accept(long ret)
{
    if (ret < 0)
        return;
    struct sock *sk = fd_sock((int)ret);
    if (!sk || !is_tcp(sk))
        return;
    struct host_rec *r = start(HOST_ACCEPT, 0);
    if (!r)
        return;
    sock_addrs(r, sk);
    submit(r);
}

/* ---- DNS over UDP ---- */

struct peer {
    __u16 family, port;
    __u8 addr[16];
};

/* The UDP socket behind file f (IPv4 or IPv6), or NULL. */
static __always_inline struct sock *udp_sock_of(struct file *f)
{
    if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
        return NULL;
    struct socket *so = BPF_CORE_READ(f, private_data);
    struct sock *sk = so ? BPF_CORE_READ(so, sk) : NULL;
    if (!sk)
        return NULL;
    __u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);
    if ((fam != AF_INET && fam != AF_INET6) || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
        return NULL;
    return sk;
}

/* The peer a socket is connected to (port 0 if none). */
static __always_inline void sock_peer(struct peer *p, struct sock *sk)
{
    p->family = BPF_CORE_READ(sk, __sk_common.skc_family);
    p->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    if (p->family == AF_INET6)
        BPF_CORE_READ_INTO(&p->addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
    else
        BPF_CORE_READ_INTO((__u32 *)p->addr, sk, __sk_common.skc_daddr);
}

/* The peer a call named: sendto's or sendmsg's destination, or the source
 * recvfrom/recvmsg filled in.  False if there is none. */
static __always_inline bool user_peer(struct peer *p, __u64 uaddr)
{
    __u16 fam = 0;
    if (!uaddr || bpf_probe_read_user(&fam, sizeof(fam), (void *)uaddr))
        return false;
    if (fam == AF_INET) {
        struct sockaddr_in s4 = {};
        if (bpf_probe_read_user(&s4, sizeof(s4), (void *)uaddr))
            return false;
        __builtin_memset(p->addr, 0, sizeof(p->addr));
        __builtin_memcpy(p->addr, &s4.sin_addr, 4);
        p->port = bpf_ntohs(s4.sin_port);
    } else if (fam == AF_INET6) {
        struct sockaddr_in6 s6 = {};
        if (bpf_probe_read_user(&s6, sizeof(s6), (void *)uaddr))
            return false;
        __builtin_memcpy(p->addr, &s6.sin6_addr, 16);
        p->port = bpf_ntohs(s6.sin6_port);
    } else {
        return false;
    }
    p->family = fam;
    return true;
}

/* Copies the datagram's first bytes (at most HOST_DNS_MAX of len) from a
 * flat buffer, or from up to DNS_IOV_MAX iovecs when iov is set. */
static __always_inline void copy_dgram(struct host_rec *r, __u64 buf, __u64 iov, __u64 iovlen,
                                       __u64 len)
{
    if (len > HOST_DNS_MAX)
        len = HOST_DNS_MAX;
    if (!iov) {
        if (bpf_probe_read_user(r->data, len, (void *)buf) == 0)
            r->len1 = len;
        return;
    }
    __u32 off = 0;
    for (int i = 0; i < DNS_IOV_MAX; i++) {
        struct iovec v = {};
        if (i >= iovlen || off >= len ||
            bpf_probe_read_user(&v, sizeof(v), (void *)(iov + i * sizeof(v))))
            break;
        __u64 n = v.iov_len < len - off ? v.iov_len : len - off;
        off &= HOST_DNS_MAX - 1; /* off < len <= HOST_DNS_MAX: for the verifier */
        if (n > HOST_DNS_MAX || bpf_probe_read_user(r->data + off, n, v.iov_base))
            break;
        off += n;
    }
    r->len1 = off;
}

/* A datagram sent (HOST_DNS_QUERY) or received (HOST_DNS_REPLY) on UDP
 * socket sk: recorded if its peer is port 53 or, received, if the socket
 * sent to port 53 unconnected.  uaddr: the address the call carried. */
static __always_inline void on_dgram(__u8 kind, long nr, struct sock *sk, __u64 uaddr, __u64 buf,
                                     __u64 iov, __u64 iovlen, __u64 len)
{
    struct peer conn = {}, p = {};
    sock_peer(&conn, sk);
    if (!user_peer(&p, uaddr))
        p = conn;
    __u64 key = (__u64)sk;
    if (kind == HOST_DNS_QUERY) {
        if (p.port != DNS_PORT)
            return;
        if (conn.port != DNS_PORT) {
            __u8 one = 1;
            bpf_map_update_elem(&dns_socks, &key, &one, BPF_ANY);
        }
    } else if (p.port != DNS_PORT && !bpf_map_lookup_elem(&dns_socks, &key)) {
        return;
    }
    struct host_rec *r = start(kind, HOST_DNS_AREA);
    if (!r)
        return;
    r->sysnr = nr;
    r->family = p.family;
    __builtin_memcpy(r->u.net.daddr, p.addr, 16);
    r->u.net.dport = p.port;
    r->u.net.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
    if (p.family == AF_INET6)
        BPF_CORE_READ_INTO(&r->u.net.saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
    else
        BPF_CORE_READ_INTO((__u32 *)r->u.net.saddr, sk, __sk_common.skc_rcv_saddr);
    r->u.net.len = len;
    copy_dgram(r, buf, iov, iovlen, len);
    submit(r);
}

static __always_inline void on_msghdr(__u8 kind, long nr, struct sock *sk, __u64 umsg, __u64 len)
{
    struct user_msghdr h = {};
    if (bpf_probe_read_user(&h, sizeof(h), (void *)umsg) == 0)
        on_dgram(kind, nr, sk, (__u64)h.msg_name, 0, (__u64)h.msg_iov, h.msg_iovlen, len);
}

/* sendmmsg/recvmmsg: count datagrams, each with its length in msg_len. */
static __always_inline void on_mmsg(__u8 kind, long nr, struct sock *sk, __u64 uvec, long count)
{
    for (int i = 0; i < DNS_MMSG_MAX; i++) {
        struct mmsghdr m = {};
        if (i >= count || bpf_probe_read_user(&m, sizeof(m), (void *)(uvec + i * sizeof(m))))
            break;
        on_dgram(kind, nr, sk, (__u64)m.msg_hdr.msg_name, 0, (__u64)m.msg_hdr.msg_iov,
                 m.msg_hdr.msg_iovlen, m.msg_len);
    }
}

/* write/writev on a descriptor that is not a regular file. */
static __always_inline void on_dgram_file(struct sys_args *a, struct file *f, long ret)
{
    struct sock *sk = udp_sock_of(f);
    if (!sk)
        return;
    if (a->nr == NR_WRITEV)
        on_dgram(HOST_DNS_QUERY, a->nr, sk, 0, 0, a->a[1], a->a[2], ret);
    else
        on_dgram(HOST_DNS_QUERY, a->nr, sk, 0, a->a[1], 0, 0, ret);
}

/* read and the socket calls: ret is the bytes (or, *mmsg, datagrams) moved. */
static __always_inline void on_sock_io(struct sys_args *a, long ret)
{
    if (ret <= 0)
        return;
    struct sock *sk = udp_sock_of(fd_file((int)a->a[0]));
    if (!sk)
        return;
    __u64 flat = (__u64)ret < a->a[2] ? (__u64)ret : a->a[2]; /* MSG_TRUNC: ret may exceed the buffer */
    switch (a->nr) {
    case NR_READ:
        on_dgram(HOST_DNS_REPLY, a->nr, sk, 0, a->a[1], 0, 0, flat);
        break;
    case NR_SENDTO:
        on_dgram(HOST_DNS_QUERY, a->nr, sk, a->a[4], a->a[1], 0, 0, flat);
        break;
    case NR_RECVFROM:
        on_dgram(HOST_DNS_REPLY, a->nr, sk, a->a[4], a->a[1], 0, 0, flat);
        break;
    case NR_SENDMSG:
        on_msghdr(HOST_DNS_QUERY, a->nr, sk, a->a[1], ret);
        break;
    case NR_RECVMSG:
        on_msghdr(HOST_DNS_REPLY, a->nr, sk, a->a[1], ret);
        break;
    case NR_SENDMMSG:
        on_mmsg(HOST_DNS_QUERY, a->nr, sk, a->a[1], ret);
        break;
    case NR_RECVMMSG:
        on_mmsg(HOST_DNS_REPLY, a->nr, sk, a->a[1], ret);
        break;
    }
}

SEC("tp_btf/sys_exit")
int BPF_PROG(host_sys_exit, struct pt_regs *regs, long ret)
{
    struct sys_args *a = bpf_task_storage_get(&sys_inflight, bpf_get_current_task_btf(), 0, 0);
    if (!a || a->nr < 0)
        return 0;
    struct sys_args args = *a;
    a->nr = -1;
    switch (args.nr) {
    case NR_OPEN: case NR_OPENAT: case NR_OPENAT2: case NR_CREAT:
        on_open(&args, ret);
        break;
    case NR_WRITE: case NR_PWRITE64: case NR_WRITEV: case NR_PWRITEV: case NR_PWRITEV2:
        on_write(&args, ret); /* the bytes written, whatever the call */
        break;
    case NR_UNLINK: case NR_UNLINKAT: case NR_RMDIR: case NR_RENAME: case NR_RENAMEAT:
    case NR_RENAMEAT2:
        on_path_op(&args, ret);
        break;
    case NR_CONNECT:
        on_connect(&args, ret);
        break;
    case NR_ACCEPT: case NR_ACCEPT4:
        on_accept(ret);
        break;
    case NR_READ: case NR_SENDTO: case NR_RECVFROM: case NR_SENDMSG: case NR_RECVMSG:
    case NR_SENDMMSG: case NR_RECVMMSG:
        on_sock_io(&args, ret);
        break;
    }
    return 0;
}

/* A process that exits without closing its files: report their tallies. */
static long flush_tally(void *map, struct write_key *k, struct write_tally *t, __u32 *tgid)
{
    if (k->tgid == *tgid) {
        emit_tally(k->tgid, k->file, t);
        bpf_map_delete_elem(map, k);
    }
    return 0;
}

static __always_inline void flush_tallies(__u32 tgid)
{
    bpf_for_each_map_elem(&writes, flush_tally, &tgid, 0);
}

char LICENSE[] SEC("license") = "GPL";

/* host.h: records of host activity (process, file, network) that
 * host.bpf.c sends to user space.  They share the TLS capture's ring
 * buffer; `kind` values start at 16 so one consumer can tell them apart
 * from struct oisp_rec (tls.h).  Plain fixed-size types only. */
#ifndef OISP_BPF_HOST_H
#define OISP_BPF_HOST_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum host_kind {
    HOST_EXEC = 16,   /* data: filename \0 argv (NUL-separated); str2 = interpreter */
    HOST_EXIT = 17,
    HOST_FORK = 18,
    HOST_OPEN = 19,   /* data: path as given (relative to dfd) */
    HOST_WRITE = 20,  /* no data: bytes and write calls through u.file.file until close */
    HOST_UNLINK = 21, /* data: path as given (relative to dfd) */
    HOST_RENAME = 22, /* data: old path \0 new path (as given) */
    HOST_CONNECT = 23,
    HOST_ACCEPT = 24,
    HOST_DNS_QUERY = 25, /* data: a UDP datagram sent to port 53 (its first len1 bytes) */
    HOST_DNS_REPLY = 26, /* data: a UDP datagram received from port 53, or on a socket that sent one */
};

#define HOST_DATA_MAX 1536 /* string bytes in one record */
/* DNS records copy at most HOST_DNS_MAX bytes of the datagram and carry
 * HOST_DNS_AREA data bytes: a copy from several iovecs starts anywhere
 * below HOST_DNS_MAX, which is how the verifier sees it. */
#define HOST_DNS_MAX 512
#define HOST_DNS_AREA (2 * HOST_DNS_MAX)
#define HOST_AT_FDCWD (-100)

struct host_rec {
    __u8 kind;
    __u8 family;     /* network: AF_INET (2) or AF_INET6 (10) */
    __u16 len1;      /* bytes of the first string in data (with its NUL); dns: datagram bytes */
    __u16 len2;      /* bytes of the second string (exec: argv; rename: new path) */
    __u16 sysnr;     /* dns: the syscall that sent or received the datagram (x86-64 number) */
    __u32 tgid;
    __u32 tid;
    __u32 ppid;
    __u32 uid;
    __u32 gid;
    __s32 ret;       /* syscall-level result (0 or -errno) */
    __s32 dfd;       /* unlink/rename: directory fd the path is relative to */
    __s32 dfd2;      /* rename: the new path's dfd */
    __u64 ts;        /* bpf_ktime_get_ns() */
    __u64 cgroup;    /* cgroup id */
    union {
        struct { __u32 code; __u32 sig; __u64 runtime_ns, utime_ns, stime_ns, maxrss_kb; } exit;
        struct { __u32 child; __u32 is_thread; } fork;
        struct { __u32 flags; __u32 mode; __u64 bytes, calls, file; } file; /* file: struct file* */
        /* network; dns: s = local, d = the peer (resolver), len = the datagram's length */
        struct { __u8 saddr[16], daddr[16]; __u16 sport, dport; __u32 len; } net;
    } u;
    char comm[16];
    char data[];
};

/* Indexes into host.bpf.c's per-CPU counter array. */
enum host_counter {
    HOST_CNT_EVENTS = 0,     /* records sent */
    HOST_CNT_DROP_RING,      /* records lost: ring full */
    HOST_CNT_SHED,           /* records not sent: a process over its rate */
    HOST_CNT_WRITES_EVICTED, /* write tallies lost from a full map */
    HOST_CNT_MAX
};

#endif

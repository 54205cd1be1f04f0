/* tls.h: records that tls.bpf.c sends to user space through the ring
 * buffer, and the indexes of its counter maps.  Plain fixed-size types only:
 * this header is compiled by clang for BPF and by gcc for user space. */
#ifndef OISP_BPF_TLS_H
#define OISP_BPF_TLS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TLS_CHUNK_MAX    (32 * 1024) /* payload bytes per ring record */
#define TLS_MAX_CAPTURE_DEFAULT (2 * 1024 * 1024)

/* tls_rec.kind */
enum tls_rec_kind {
    TLS_REC_DATA = 1,  /* plaintext bytes of one SSL read or write */
    TLS_REC_CLOSE = 2, /* SSL_free: the connection is gone */
    TLS_REC_EXEC = 3,  /* a process executed a new binary (check it for TLS) */
    TLS_REC_EXIT = 4,  /* a process (thread group) exited */
};

/* tls_rec.dir */
enum tls_dir { TLS_DIR_WRITE = 0, TLS_DIR_READ = 1 };

/* Attach cookie: how the probed function passes its byte count. */
#define TLS_COOKIE_DIR_READ 0x1   /* else write */
#define TLS_COOKIE_EX_CONV  0x2   /* int f(SSL*, buf, size_t num, size_t *bytes): count in *bytes;
                                     else int f(SSL*, buf, int num): count is the return value */

/* tls_rec.flags */
#define TLS_REC_F_LAST 0x1 /* last chunk of this call */

struct oisp_rec {
    __u8 kind;
    __u8 dir;
    __u16 flags;
    __u32 len;       /* payload bytes that follow this header */
    __u32 tgid;
    __u32 tid;
    __u64 ssl;       /* SSL* of the connection; EXEC: the new executable's inode number; EXIT: 0 */
    __u64 offset;    /* stream offset of data[0] in (tgid, ssl, dir); EXEC: the executable's
                        device as the kernel numbers it (s_dev), so (offset, ssl) names the file */
    __u64 ts;        /* bpf_ktime_get_ns() at the end of the call */
    __u64 lost;      /* on the last chunk: bytes of the call over the capture cap */
    __u8 data[];
};

/* Indexes into the per-CPU counter array `counters`. */
enum tls_counter {
    TLS_CNT_CALLS = 0,        /* SSL calls captured */
    TLS_CNT_BYTES,            /* payload bytes put in the ring */
    TLS_CNT_DROP_RING,        /* records lost: ring buffer full (reserve failed) */
    TLS_CNT_DROP_RING_BYTES,  /* payload bytes in those records */
    TLS_CNT_DROP_ACTIVE_MAP,  /* calls lost: argument map full */
    TLS_CNT_DROP_READ,        /* records lost: reading user memory failed */
    TLS_CNT_DROP_READ_BYTES,
    TLS_CNT_OVER_CAP_CALLS,   /* calls longer than the capture cap */
    TLS_CNT_OVER_CAP_BYTES,   /* bytes beyond the cap, not captured */
    TLS_CNT_DROP_OFFSET_MAP,  /* stream offset map full (offsets restart) */
    TLS_CNT_DROP_CTRL,        /* close/exec/exit records lost: ring full */
    TLS_CNT_FILTERED,         /* calls skipped by the pid/comm filter */
    TLS_CNT_MAX
};

#endif

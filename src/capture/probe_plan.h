/* probe_plan.h: decide where to put the TLS probes in one ELF file.
 *
 * A uprobe on an instruction the kernel must single-step costs the traced
 * program two traps (~19 µs a hit on these VMs); one on an instruction the
 * kernel emulates (push, call, jmp, jcc, nop) costs one (~6 µs here; 0.5 µs
 * where traps are cheap; `build/bench/probe_cost self` measures both).  A
 * function's "site" is its first instruction if that is emulated, else the
 * first emulated one after up to three instructions that leave the
 * arguments, the stack and memory alone (endbr64, test, cmp), unless a
 * branch leads back into them.  For each direction (read, write):
 *   1. all public functions (SSL_read/SSL_read_ex, SSL_write/SSL_write_ex)
 *      have a site (node's static OpenSSL starts them with `push %rbp`):
 *      probe them there;
 *   2. otherwise, if they all call one internal function first
 *      (ssl_read_internal(s, buf, num, &bytes) in OpenSSL 1.1 and 3.x) and
 *      that function has a site: probe it once, with the _ex convention;
 *   3. otherwise probe the public functions anyway (slow but complete).
 * SSL_free gets an entry probe, at its site if it has one (`test %rdi,%rdi;
 * je` in Debian's libssl and node), so connection close is seen. */
#ifndef OISP_CAPTURE_PROBE_PLAN_H
#define OISP_CAPTURE_PROBE_PLAN_H

#include <stddef.h>
#include <stdint.h>

enum { PROBE_DATA = 1, PROBE_FREE = 2 };

typedef struct probe_site {
    uint64_t file_offset;
    uint32_t cookie;  /* TLS_COOKIE_* (bpf/tls.h) */
    int kind;         /* PROBE_DATA: entry + return probe; PROBE_FREE: entry only */
    int emulated;     /* the probed instruction is emulated by the kernel */
    char what[96];    /* e.g. "SSL_read", "SSL_free+0x3" or "internal@SSL_read+0x1e" */
} probe_site;

#define PROBE_PLAN_MAX 8

typedef struct probe_plan {
    probe_site sites[PROBE_PLAN_MAX];
    size_t n;
    int slow;          /* data sites on single-stepped instructions */
    char version[64];  /* embedded OpenSSL version string, if any */
} probe_plan;

/* Returns 1 with plan filled if path exports OpenSSL's read/write functions,
 * 0 if it does not (not a TLS library/binary), -1 if it cannot be read. */
int probe_plan_build(const char *path, probe_plan *plan);

/* 1 if the x86-64 instruction at code (len bytes) is one the kernel emulates
 * for uprobes instead of single-stepping it. */
int probe_insn_emulated(const uint8_t *code, size_t len);

#endif

/* capture.h: the TLS capture: loads the BPF programs (tls.bpf.c), finds
 * and probes every OpenSSL on the host, and hands the records of the ring
 * buffer to a handler.
 *
 * Discovery: at start, libssl.so* in the standard library directories and
 * every executable mapping of every running process (/proc/PID/maps, opened
 * through /proc/PID/root so containers work); afterwards, each exec is
 * checked at once (the new binary), and its maps are scanned again shortly
 * after (libraries it loads), and every process every 30 s. */
#ifndef OISP_CAPTURE_CAPTURE_H
#define OISP_CAPTURE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "capture/targets.h"
#include "tls.h"

typedef struct capture_opts {
    uint64_t max_capture;          /* bytes captured per SSL call (>= 1 MiB by default) */
    uint64_t ring_bytes;           /* ring buffer size, a power of two; raised to hold one
                                      max_capture call */
    uint64_t queue_bytes;          /* user-space queue behind the ring (touched on demand) */
    const uint32_t *pids;          /* capture only these processes ... */
    size_t npids;
    const char *const *comms;      /* ... or processes with these names (none: all) */
    size_t ncomms;
    const char *const *binaries;   /* extra files to probe (static OpenSSL not running yet) */
    size_t nbinaries;
} capture_opts;

enum { CAPTURE_LOG_INFO, CAPTURE_LOG_WARN };

struct host_rec;

typedef struct capture_handler {
    void *ctx;
    void (*on_record)(void *ctx, const struct oisp_rec *r);
    /* Host activity records (host.bpf.c) that share the ring; may be NULL. */
    void (*on_host)(void *ctx, const struct host_rec *r, size_t size);
    void (*on_log)(void *ctx, int level, const char *msg);
} capture_handler;

typedef struct capture capture;

/* The largest record the ring carries: a TLS chunk with its header. */
#define CAPTURE_REC_MAX (sizeof(struct oisp_rec) + TLS_CHUNK_MAX)

typedef struct capture_queue {
    uint64_t queued_bytes;     /* copied out of the ring, not yet handed on */
    uint64_t peak_bytes;       /* the deepest the queue has been */
    uint64_t oversize_records; /* dropped: larger than CAPTURE_REC_MAX */
} capture_queue;

/* 0 if this process may load BPF and attach uprobes; else -1 with the fix in err. */
int capture_check_privileges(char *err, size_t errlen);

/* NULL on failure, with a one-line explanation (and the fix) in err. */
capture *capture_open(const capture_opts *o, const capture_handler *h, char *err, size_t errlen);

/* Waits up to timeout_ms for records, then hands every queued one to the
 * handler, in this thread.  Returns the number of records handled. */
int capture_poll(capture *c, int timeout_ms);

/* At shutdown: stops the reader and hands on everything still queued or in
 * the ring.  capture_poll() must not be called after it. */
void capture_finish(capture *c);

void capture_queue_stats(capture *c, capture_queue *out);

/* Replaces the pid/comm capture filter (none: capture every process). */
int capture_set_filters(capture *c, const uint32_t *pids, size_t npids, const char *const *comms,
                        size_t ncomms, char *err, size_t errlen);

/* Sums the per-CPU counters of the BPF side (indexes: enum tls_counter). */
void capture_read_counters(capture *c, uint64_t out[TLS_CNT_MAX]);

const targets *capture_targets(const capture *c);
/* The ring buffer map, for other BPF objects to send records into. */
int capture_ring_fd(const capture *c);
uint64_t capture_attach_errors(const capture *c);
void capture_close(capture *c);

#endif

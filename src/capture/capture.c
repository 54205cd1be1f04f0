/* capture.c: BPF lifetime, discovery scheduling and the ring-buffer
 * consumer (see capture.h).
 *
 * The BPF side submits records without waking us, so a reader thread polls:
 * it waits on the ring's epoll fd for at most READER_POLL_MS (a quarter-full
 * ring does wake it), then copies whatever is there into the stage
 * (stage.h), from which capture_poll() hands the records on in the caller's
 * thread.  The reader does nothing else, so the ring is emptied within
 * moments even while decoding falls behind.  An exec record names the new binary
 * by (device, inode): a binary not looked at before is checked at once, and
 * every exec gets a later rescan of its mappings, for the libraries it
 * loads after exec. */
#include "capture/capture.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "capture/discover.h"
#include "capture/exeset.h"
#include "capture/stage.h"
#include "host.h"
#include "tls.skel.h"
#include "util/monotime.h"

#define RESCAN_QUEUE 1024
#define FULL_SCAN_NS (30ull * 1000000000ull)
#define READER_POLL_MS 20
#define READER_NICE_BOOST 10

_Static_assert(sizeof(struct host_rec) + HOST_DATA_MAX <= CAPTURE_REC_MAX &&
                   sizeof(struct host_rec) + HOST_DNS_AREA <= CAPTURE_REC_MAX,
               "every record of the ring fits the stage's largest record");

typedef struct rescan {
    uint64_t due;
    uint32_t pid;
} rescan;

struct capture {
    struct tls_bpf *skel;
    struct ring_buffer *rb;
    stage *st;
    pthread_t reader;
    int reader_running;
    atomic_int reader_stop;
    int direct;                 /* the reader is gone: ring records go straight to handle_rec */
    atomic_ullong oversize;     /* records larger than CAPTURE_REC_MAX (none are made) */
    struct bpf_link *tp_exec, *tp_exit;
    targets *targets;
    capture_handler h;
    rescan queue[RESCAN_QUEUE]; /* ring of pending rescans, in due order */
    size_t qhead, qlen;
    exeset exes_checked; /* binaries already checked at an exec */
    uint64_t rescans_skipped;
    uint64_t attach_errors;
    uint64_t next_full_scan;
};

static void logf_(capture *c, int level, const char *fmt, ...)
{
    if (!c->h.on_log)
        return;
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->h.on_log(c->h.ctx, level, buf);
}

static void on_attach_error(void *ctx, const char *msg)
{
    capture *c = ctx;
    c->attach_errors++;
    logf_(c, CAPTURE_LOG_WARN, "%s", msg);
}

static void queue_rescan(capture *c, uint32_t pid, uint64_t due)
{
    if (c->qlen == RESCAN_QUEUE) {
        c->rescans_skipped++;
        return;
    }
    c->queue[(c->qhead + c->qlen++) % RESCAN_QUEUE] = (rescan){due, pid};
}

static void run_due_scans(capture *c, uint64_t now)
{
    while (c->qlen && c->queue[c->qhead].due <= now) {
        /* Most processes of an exec storm are gone by now; a failed open of
         * /proc/PID/maps costs a slow dentry lookup, kill(pid, 0) does not. */
        uint32_t pid = c->queue[c->qhead].pid;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            discover_pid_maps(c->targets, pid, on_attach_error, c);
        c->qhead = (c->qhead + 1) % RESCAN_QUEUE;
        c->qlen--;
    }
    if (now >= c->next_full_scan) {
        discover_all_pids(c->targets, on_attach_error, c);
        c->next_full_scan = now + FULL_SCAN_NS;
    }
}

static void on_exec(capture *c, uint32_t pid, exe_id id)
{
    size_t before = targets_count(c->targets);
    if (!exeset_has(&c->exes_checked, id) && discover_pid_exe(c->targets, pid, on_attach_error, c) == 0)
        exeset_add(&c->exes_checked, id);
    if (targets_count(c->targets) > before)
        logf_(c, CAPTURE_LOG_INFO, "probed %s (new process %u)",
              targets_get(c->targets, before)->path, pid);
    uint64_t now = mono_ns();
    /* Queue entries are in due order only if every delay is the same. */
    queue_rescan(c, pid, now + 200000000ull);
}

static int handle_rec(void *ctx, void *data, size_t size)
{
    capture *c = ctx;
    const struct oisp_rec *r = data;
    if (size >= sizeof(struct host_rec) && r->kind >= HOST_EXEC) {
        if (c->h.on_host)
            c->h.on_host(c->h.ctx, data, size);
        return 0;
    }
    if (size < sizeof(*r) || r->len > size - sizeof(*r))
        return 0;
    if (r->kind == TLS_REC_EXEC)
        on_exec(c, r->tgid, (exe_id){.dev = r->offset, .ino = r->ssl});
    if (c->h.on_record)
        c->h.on_record(c->h.ctx, r);
    return 0;
}

static void drain_rec(void *ctx, void *data, size_t size) { handle_rec(ctx, data, size); }

/* The ring's callback: copy the record into the stage; a negative return
 * stops this pass over the ring once the stage has no room for another. */
static int stage_rec(void *ctx, void *data, size_t size)
{
    capture *c = ctx;
    if (c->direct)
        return handle_rec(c, data, size);
    int room = stage_push(c->st, data, size);
    if (room < 0)
        atomic_fetch_add(&c->oversize, 1);
    return room == 0 ? -ENOSPC : 0;
}

static void *reader_main(void *arg)
{
    capture *c = arg;
    /* Its work is a copy and it must not wait behind decoding: ten nice
     * levels above the sensor's other threads (if allowed to). */
    int nice = getpriority(PRIO_PROCESS, 0) - READER_NICE_BOOST;
    setpriority(PRIO_PROCESS, 0, nice < -20 ? -20 : nice);
    while (!atomic_load(&c->reader_stop)) {
        if (!stage_begin(c->st, READER_POLL_MS))
            continue;
        /* epoll only reports a wake-up; data submitted without one is
         * picked up by the consume after the timeout */
        if (ring_buffer__poll(c->rb, READER_POLL_MS) >= 0)
            ring_buffer__consume(c->rb);
        stage_publish(c->st);
    }
    return NULL;
}

static int start_reader(capture *c, char *err, size_t errlen)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with the caller's thread */
    int rc = pthread_create(&c->reader, NULL, reader_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        snprintf(err, errlen, "cannot start the ring-buffer reader: %s", strerror(rc));
        return -1;
    }
    c->reader_running = 1;
    return 0;
}

static void stop_reader(capture *c)
{
    if (!c->reader_running)
        return;
    atomic_store(&c->reader_stop, 1);
    pthread_join(c->reader, NULL);
    c->reader_running = 0;
}

static int load_bpf(capture *c, const capture_opts *o, char *err, size_t errlen)
{
    c->skel = tls_bpf__open();
    if (!c->skel) {
        snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
        return -1;
    }
    c->skel->rodata->max_capture = o->max_capture;
    uint64_t ring = o->ring_bytes; /* one call of max_capture must fit */
    while (ring < o->max_capture && ring < (1ull << 30))
        ring <<= 1;
    c->skel->rodata->wake_bytes = ring / 4;
    c->skel->rodata->self_tgid = (uint32_t)getpid();
    bpf_map__set_max_entries(c->skel->maps.events, (uint32_t)ring);
    int e = tls_bpf__load(c->skel);
    if (e) {
        if (e == -EPERM && geteuid() != 0)
            snprintf(err, errlen, "permission denied loading eBPF programs: run as root "
                                  "(or with CAP_SYS_ADMIN, CAP_BPF and CAP_PERFMON)");
        else
            snprintf(err, errlen, "loading the eBPF programs failed: %s (run with -v for "
                                  "the verifier's log)", strerror(-e));
        return -1;
    }
    return 0;
}

static void clear_map(struct bpf_map *m, size_t key_size)
{
    char key[64], next[64];
    while (bpf_map__get_next_key(m, NULL, next, key_size) == 0) {
        memcpy(key, next, key_size);
        bpf_map__delete_elem(m, key, key_size, 0);
    }
}

int capture_set_filters(capture *c, const uint32_t *pids, size_t npids, const char *const *comms,
                        size_t ncomms, char *err, size_t errlen)
{
    uint8_t one = 1;
    c->skel->bss->filter_on = false; /* everything passes while the maps change */
    clear_map(c->skel->maps.pid_filter, sizeof(uint32_t));
    clear_map(c->skel->maps.comm_filter, 16);
    for (size_t i = 0; i < npids; i++)
        if (bpf_map__update_elem(c->skel->maps.pid_filter, &pids[i], sizeof(uint32_t), &one, 1, 0)) {
            snprintf(err, errlen, "pid filter: %s", strerror(errno));
            return -1;
        }
    for (size_t i = 0; i < ncomms; i++) {
        char comm[16] = {0};
        strncpy(comm, comms[i], sizeof(comm) - 1);
        if (bpf_map__update_elem(c->skel->maps.comm_filter, comm, sizeof(comm), &one, 1, 0)) {
            snprintf(err, errlen, "comm filter: %s", strerror(errno));
            return -1;
        }
    }
    c->skel->bss->filter_on = npids || ncomms;
    return 0;
}

static int set_filters(capture *c, const capture_opts *o, char *err, size_t errlen)
{
    return capture_set_filters(c, o->pids, o->npids, o->comms, o->ncomms, err, errlen);
}

static int attach_tracepoints(capture *c, char *err, size_t errlen)
{
    c->tp_exec = bpf_program__attach(c->skel->progs.handle_exec);
    c->tp_exit = c->tp_exec ? bpf_program__attach(c->skel->progs.handle_exit) : NULL;
    if (!c->tp_exit) {
        snprintf(err, errlen, "attaching the sched tracepoints failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int discover(capture *c, const capture_opts *o, char *err, size_t errlen)
{
    for (size_t i = 0; i < o->nbinaries; i++)
        if (!discover_path(c->targets, o->binaries[i], on_attach_error, c)) {
            snprintf(err, errlen, "%s: no OpenSSL read/write functions found in it (or it "
                                  "cannot be read)", o->binaries[i]);
            return -1;
        }
    discover_lib_dirs(c->targets, on_attach_error, c);
    discover_all_pids(c->targets, on_attach_error, c);
    c->next_full_scan = mono_ns() + FULL_SCAN_NS;
    if (targets_count(c->targets) == 0 && c->attach_errors) {
        snprintf(err, errlen, "OpenSSL was found but no probe could be attached (%llu attach "
                              "errors, see above): on this kernel uprobes need CAP_SYS_ADMIN",
                 (unsigned long long)c->attach_errors);
        return -1;
    }
    if (targets_count(c->targets) == 0) {
        snprintf(err, errlen, "no TLS library found: no libssl.so* in the library directories "
                              "and no running process with OpenSSL; install OpenSSL (libssl3) "
                              "or name a binary with --binary PATH");
        return -1;
    }
    return 0;
}

/* Root, or CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON (bits 21, 39, 38). */
static int privileged(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    unsigned long long eff = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1)
            break;
    if (f)
        fclose(f);
    return (eff >> 21 & 1) || ((eff >> 39 & 1) && (eff >> 38 & 1));
}

int capture_check_privileges(char *err, size_t errlen)
{
    if (privileged())
        return 0;
    snprintf(err, errlen, "not privileged: run as root (sudo oisp-sensor ...) or grant "
                          "CAP_SYS_ADMIN (uprobes), CAP_BPF, CAP_PERFMON, and CAP_SYS_PTRACE with "
                          "CAP_DAC_READ_SEARCH to see other users' processes");
    return -1;
}

capture *capture_open(const capture_opts *o, const capture_handler *h, char *err, size_t errlen)
{
    if (capture_check_privileges(err, errlen))
        return NULL;
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        snprintf(err, errlen, "kernel BTF not found (/sys/kernel/btf/vmlinux): use a kernel "
                              "built with CONFIG_DEBUG_INFO_BTF=y (Debian and Ubuntu kernels are)");
        return NULL;
    }
    capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->h = *h;
    if (load_bpf(c, o, err, errlen) || set_filters(c, o, err, errlen) ||
        attach_tracepoints(c, err, errlen))
        goto fail;
    c->targets = targets_new(c->skel);
    c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), stage_rec, c, NULL);
    if (!c->targets || !c->rb) {
        snprintf(err, errlen, "ring buffer setup failed: %s", strerror(errno));
        goto fail;
    }
    c->st = stage_new(o->queue_bytes, CAPTURE_REC_MAX);
    if (!c->st) {
        snprintf(err, errlen, "cannot reserve the %llu-byte record queue (capture.queue_size)",
                 (unsigned long long)o->queue_bytes);
        goto fail;
    }
    if (start_reader(c, err, errlen) || discover(c, o, err, errlen))
        goto fail;
    return c;
fail:
    capture_close(c);
    return NULL;
}

int capture_poll(capture *c, int timeout_ms)
{
    size_t n = 0;
    if (stage_wait(c->st, timeout_ms))
        n = stage_drain(c->st, drain_rec, c);
    run_due_scans(c, mono_ns());
    return (int)n;
}

void capture_finish(capture *c)
{
    stop_reader(c);
    stage_drain(c->st, drain_rec, c);
    c->direct = 1;
    ring_buffer__consume(c->rb);
}

void capture_queue_stats(capture *c, capture_queue *out)
{
    stage_stats ss;
    stage_get_stats(c->st, &ss);
    out->queued_bytes = ss.queued_bytes;
    out->peak_bytes = ss.peak_bytes;
    out->oversize_records = atomic_load(&c->oversize);
}

void capture_read_counters(capture *c, uint64_t out[TLS_CNT_MAX])
{
    int ncpu = libbpf_num_possible_cpus();
    uint64_t *vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(uint64_t));
    for (uint32_t i = 0; i < TLS_CNT_MAX; i++) {
        out[i] = 0;
        if (!vals || bpf_map__lookup_elem(c->skel->maps.counters, &i, sizeof(i), vals,
                                          sizeof(uint64_t) * ncpu, 0))
            continue;
        for (int cpu = 0; cpu < ncpu; cpu++)
            out[i] += vals[cpu];
    }
    free(vals);
}

const targets *capture_targets(const capture *c) { return c->targets; }
uint64_t capture_attach_errors(const capture *c) { return c->attach_errors; }
int capture_ring_fd(const capture *c) { return bpf_map__fd(c->skel->maps.events); }

void capture_close(capture *c)
{
    if (!c)
        return;
    stop_reader(c);
    ring_buffer__free(c->rb);
    stage_free(c->st);
    targets_free(c->targets);
    bpf_link__destroy(c->tp_exec);
    bpf_link__destroy(c->tp_exit);
    tls_bpf__destroy(c->skel);
    free(c);
}

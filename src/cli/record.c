/* record.c: `oisp-sensor record`.  Owns the event loop: poll the capture
 * ring, feed the pipeline, flush the sink on a timer, expire idle
 * connections, and on SIGINT/SIGTERM drain everything in flight before
 * exiting. */
#include "cli/record.h"

#include <bpf/libbpf.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/hostcap.h"
#include "cli/opts.h"
#include "events/clock.h"
#include "events/pipeline.h"
#include "sinks/sink.h"
#include "stream/conn.h"

#define MAX_LIST 256
#define POLL_MS 20
#define FLUSH_NS 100000000ull
#define TICK_NS 1000000000ull

typedef struct record_args {
    const char *out;
    uint64_t max_capture, ring_bytes;
    uint32_t pids[MAX_LIST];
    size_t npids;
    const char *comms[MAX_LIST];
    size_t ncomms;
    const char *binaries[MAX_LIST];
    size_t nbinaries;
    const char *cgroups[MAX_LIST];
    size_t ncgroups;
    uint64_t host_rate;
    int all_processes, no_host;
    int inbound, verbose, quiet;
} record_args;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: oisp-sensor record [options]\n"
        "Capture AI API calls made through OpenSSL on this host and write OISP v0.1 events.\n"
        "\n"
        "  -o, --output FILE      write JSON Lines here (default: events.jsonl; - for stdout);\n"
        "                         the file is created with mode 0600\n"
        "      --pid PID          capture only this process (repeatable)\n"
        "      --comm NAME        capture only processes with this name (repeatable)\n"
        "      --binary PATH      also probe this binary (static OpenSSL, not running yet)\n"
        "      --max-capture N    bytes captured per SSL read/write (default 4M; K/M/G suffixes);\n"
        "                         longer calls are marked confidence.completeness \"partial\"\n"
        "      --ring-size N      kernel ring buffer size (default 8M, a power of two)\n"
        "      --inbound          also emit the server-side view of exchanges whose server\n"
        "                         runs on this host (labelled attrs.capture_view \"inbound\")\n"
        "\n"
        "Host activity (process, file and network events) is recorded for the process\n"
        "trees of processes that made an AI call, and of --pid, --comm and --cgroup roots:\n"
        "      --cgroup PATH      a cgroup v2 path (below /sys/fs/cgroup) whose processes are roots\n"
        "      --all-processes    record host activity of every process\n"
        "      --host-rate N      host events per second per process before shedding (default 2000)\n"
        "      --no-host-events   record AI calls only\n"
        "  -v, --verbose          log probing details\n"
        "  -q, --quiet            no progress messages (errors and stats only)\n"
        "  -h, --help             this help\n"
        "\n"
        "Needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_RESOURCE). Stop with Ctrl-C: events in\n"
        "flight are written before exit, and the capture statistics are printed.\n");
}

static int add_pid(record_args *a, const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == 0 || *end || v == 0 || v > 0x7fffffff || a->npids == MAX_LIST)
        return -1;
    a->pids[a->npids++] = (uint32_t)v;
    return 0;
}

static int is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

static int parse_args(int argc, char **argv, record_args *a)
{
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},  {"pid", required_argument, 0, 'p'},
        {"comm", required_argument, 0, 'c'},    {"binary", required_argument, 0, 'b'},
        {"max-capture", required_argument, 0, 'm'}, {"ring-size", required_argument, 0, 'r'},
        {"inbound", no_argument, 0, 'I'},       {"verbose", no_argument, 0, 'v'},
        {"cgroup", required_argument, 0, 'g'},  {"all-processes", no_argument, 0, 'A'},
        {"host-rate", required_argument, 0, 'R'}, {"no-host-events", no_argument, 0, 'N'},
        {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    a->out = "events.jsonl";
    a->max_capture = TLS_MAX_CAPTURE_DEFAULT;
    a->ring_bytes = 8u << 20;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:vqh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': a->out = optarg; break;
        case 'p':
            if (add_pid(a, optarg)) {
                fprintf(stderr, "oisp-sensor record: --pid %s: expected a process id\n", optarg);
                return 2;
            }
            break;
        case 'c':
            if (a->ncomms == MAX_LIST || strlen(optarg) > 15) {
                fprintf(stderr, "oisp-sensor record: --comm %s: names are at most 15 "
                                "characters (the kernel's comm)\n", optarg);
                return 2;
            }
            a->comms[a->ncomms++] = optarg;
            break;
        case 'b':
            if (a->nbinaries < MAX_LIST)
                a->binaries[a->nbinaries++] = optarg;
            break;
        case 'm':
            if (opts_parse_size(optarg, &a->max_capture) || a->max_capture < 4096 ||
                a->max_capture > (1ull << 30)) {
                fprintf(stderr, "oisp-sensor record: --max-capture %s: expected a size from "
                                "4K to 1G, e.g. 1M\n", optarg);
                return 2;
            }
            break;
        case 'r':
            if (opts_parse_size(optarg, &a->ring_bytes) || !is_pow2(a->ring_bytes) ||
                a->ring_bytes < (1u << 20) || a->ring_bytes > (1ull << 30)) {
                fprintf(stderr, "oisp-sensor record: --ring-size %s: expected a power of two "
                                "from 1M to 1G\n", optarg);
                return 2;
            }
            break;
        case 'I': a->inbound = 1; break;
        case 'g':
            if (a->ncgroups < MAX_LIST)
                a->cgroups[a->ncgroups++] = optarg;
            break;
        case 'A': a->all_processes = 1; break;
        case 'N': a->no_host = 1; break;
        case 'R':
            if (opts_parse_size(optarg, &a->host_rate) || a->host_rate == 0 ||
                a->host_rate > 1000000) {
                fprintf(stderr, "oisp-sensor record: --host-rate %s: expected 1 to 1000000\n",
                        optarg);
                return 2;
            }
            break;
        case 'v': a->verbose = 1; break;
        case 'q': a->quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "oisp-sensor record: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return -1;
}

typedef struct recorder {
    record_args *args;
    pipeline *pipe;
    hostcap *host;
} recorder;

static void on_host(void *ctx, const struct host_rec *r, size_t size)
{
    recorder *rc = ctx;
    pipeline_host(rc->pipe, r, size);
}

static void on_ai_process(void *ctx, uint32_t pid)
{
    recorder *rc = ctx;
    hostcap_track(rc->host, pid);
}

static hostcap *open_host(const record_args *a, capture *c, char *err, size_t errlen)
{
    hostcap_opts ho = {.all_processes = a->all_processes, .rate_limit = (uint32_t)a->host_rate,
                       .pids = a->pids, .npids = a->npids, .comms = a->comms,
                       .ncomms = a->ncomms, .cgroups = a->cgroups, .ncgroups = a->ncgroups};
    return hostcap_open(capture_ring_fd(c), &ho, err, errlen);
}

static void on_record(void *ctx, const struct oisp_rec *r)
{
    recorder *rc = ctx;
    switch (r->kind) {
    case TLS_REC_DATA:
        pipeline_data(rc->pipe, r->tgid, r->tid, r->ssl,
                      r->dir == TLS_DIR_READ ? PIPE_READ : PIPE_WRITE, r->offset, r->data, r->len,
                      (r->flags & TLS_REC_F_LAST) ? r->lost : 0, r->ts);
        break;
    case TLS_REC_CLOSE: pipeline_close(rc->pipe, r->tgid, r->ssl, r->ts); break;
    case TLS_REC_EXIT: pipeline_exit(rc->pipe, r->tgid, r->ts); break;
    case TLS_REC_EXEC: pipeline_exec(rc->pipe, r->tgid, r->ts); break;
    }
}

static void on_log(void *ctx, int level, const char *msg)
{
    recorder *rc = ctx;
    if (level == CAPTURE_LOG_WARN || rc->args->verbose)
        fprintf(stderr, "oisp-sensor: %s%s\n", level == CAPTURE_LOG_WARN ? "warning: " : "", msg);
}

static int quiet_libbpf(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
    return lvl == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int verbose_libbpf(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
    (void)lvl;
    return vfprintf(stderr, fmt, ap);
}

static void print_ready(const record_args *a, capture *c)
{
    const targets *t = capture_targets(c);
    size_t n = targets_count(t), slow = 0;
    for (size_t i = 0; i < n; i++)
        slow += targets_get(t, i)->plan.slow;
    fprintf(stderr, "oisp-sensor: ready: %zu TLS file%s probed, writing %s\n", n,
            n == 1 ? "" : "s", a->out);
    for (size_t i = 0; i < n && a->verbose; i++) {
        const target *tg = targets_get(t, i);
        for (size_t j = 0; j < tg->plan.n; j++)
            fprintf(stderr, "oisp-sensor:   %s: %s at +0x%llx%s\n", tg->path, tg->plan.sites[j].what,
                    (unsigned long long)tg->plan.sites[j].file_offset,
                    tg->plan.sites[j].emulated ? "" : " (single-stepped: slow)");
    }
    if (slow)
        fprintf(stderr, "oisp-sensor: warning: %zu probe site(s) are single-stepped by the kernel "
                        "(~18 us per call); see -v\n", slow);
}

static void print_stats(capture *c, hostcap *hc, pipeline *p, sink_set *sinks)
{
    uint64_t k[TLS_CNT_MAX], hk[HOST_CNT_MAX];
    capture_read_counters(c, k);
    hostcap_read_counters(hc, hk);
    pipeline_stats ps;
    pipeline_get_stats(p, &ps);
    conn_table_stats cs;
    conn_table_get_stats(pipeline_conns(p), &cs);
    fprintf(stderr,
            "oisp-sensor: stats ai.request=%llu ai.response=%llu ssl_calls=%llu "
            "bytes=%llu http_requests=%llu http_responses=%llu non_ai=%llu inbound_skipped=%llu\n"
            "oisp-sensor: drops ring=%llu ring_bytes=%llu args_map=%llu read=%llu "
            "read_bytes=%llu over_cap_calls=%llu over_cap_bytes=%llu offset_map=%llu ctrl=%llu "
            "gaps=%llu parse_errors=%llu no_response=%llu no_request=%llu attach_errors=%llu\n",
            (unsigned long long)ps.ai_requests, (unsigned long long)ps.ai_responses,
            (unsigned long long)k[TLS_CNT_CALLS],
            (unsigned long long)k[TLS_CNT_BYTES], (unsigned long long)cs.requests,
            (unsigned long long)cs.responses, (unsigned long long)ps.non_ai_requests,
            (unsigned long long)ps.inbound_skipped, (unsigned long long)k[TLS_CNT_DROP_RING],
            (unsigned long long)k[TLS_CNT_DROP_RING_BYTES],
            (unsigned long long)k[TLS_CNT_DROP_ACTIVE_MAP], (unsigned long long)k[TLS_CNT_DROP_READ],
            (unsigned long long)k[TLS_CNT_DROP_READ_BYTES],
            (unsigned long long)k[TLS_CNT_OVER_CAP_CALLS],
            (unsigned long long)k[TLS_CNT_OVER_CAP_BYTES],
            (unsigned long long)k[TLS_CNT_DROP_OFFSET_MAP], (unsigned long long)k[TLS_CNT_DROP_CTRL],
            (unsigned long long)cs.gaps, (unsigned long long)cs.parse_errors,
            (unsigned long long)ps.requests_no_response, (unsigned long long)ps.responses_no_request,
            (unsigned long long)capture_attach_errors(c));
    fprintf(stderr,
            "oisp-sensor: host events=%llu kernel_records=%llu shed=%llu ring_drops=%llu "
            "write_tallies_lost=%llu malformed=%llu tool_calls=%llu tool_results=%llu "
            "linked=%llu\n",
            (unsigned long long)ps.host_events, (unsigned long long)hk[HOST_CNT_EVENTS],
            (unsigned long long)hk[HOST_CNT_SHED], (unsigned long long)hk[HOST_CNT_DROP_RING],
            (unsigned long long)hk[HOST_CNT_WRITES_EVICTED], (unsigned long long)ps.host_malformed,
            (unsigned long long)ps.tool_calls, (unsigned long long)ps.tool_results,
            (unsigned long long)ps.host_linked);
    for (size_t i = 0; i < sink_set_count(sinks); i++) {
        const char *name = "", *kind = "";
        sink_stats st;
        sink_set_get_stats(sinks, i, &name, &kind, &st);
        fprintf(stderr, "oisp-sensor: sink %s submitted=%llu delivered=%llu retried=%llu "
                "failed=%llu dead_lettered=%llu dropped=%llu queued=%llu\n", name,
                (unsigned long long)st.submitted, (unsigned long long)st.delivered,
                (unsigned long long)st.retried, (unsigned long long)st.failed,
                (unsigned long long)st.dead_lettered, (unsigned long long)st.dropped,
                (unsigned long long)st.queued);
    }
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: let poll return */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void run_loop(capture *c, pipeline *p, sink_set *sinks)
{
    uint64_t last_flush = clock_mono_ns(), last_tick = last_flush;
    while (!stop_requested) {
        if (capture_poll(c, POLL_MS) < 0 && !stop_requested)
            break;
        uint64_t now = clock_mono_ns();
        if (now - last_flush >= FLUSH_NS) {
            sink_set_flush(sinks);
            last_flush = now;
        }
        if (now - last_tick >= TICK_NS) {
            clock_sync();
            pipeline_tick(p, now);
            last_tick = now;
        }
    }
    capture_poll(c, 0); /* what is still in the ring */
    pipeline_flush(p, clock_mono_ns());
}

int cmd_record(int argc, char **argv)
{
    record_args a = {0};
    int r = parse_args(argc, argv, &a);
    if (r >= 0)
        return r;
    libbpf_set_print(a.verbose ? verbose_libbpf : quiet_libbpf);
    clock_sync();
    char err[1024];
    if (capture_check_privileges(err, sizeof(err))) {
        fprintf(stderr, "oisp-sensor: %s\n", err);
        return 1;
    }
    sink_set *sinks = sink_set_new();
    sink *out = sinks ? sink_jsonl_new(a.out, err, sizeof(err)) : NULL;
    if (!out) {
        fprintf(stderr, "oisp-sensor: cannot open the output: %s\n", sinks ? err : "out of memory");
        sink_set_close(sinks, 0);
        return 1;
    }
    sink_set_add(sinks, out);
    recorder rc = {.args = &a};
    pipeline_opts po = {.inbound = a.inbound, .sinks = sinks, .on_ai_process = on_ai_process,
                        .ctx = &rc};
    pipeline *p = pipeline_new(&po);
    rc.pipe = p;
    capture_opts co = {.max_capture = a.max_capture, .ring_bytes = a.ring_bytes,
                       .pids = a.pids, .npids = a.npids, .comms = a.comms, .ncomms = a.ncomms,
                       .binaries = a.binaries, .nbinaries = a.nbinaries};
    capture_handler h = {.ctx = &rc, .on_record = on_record, .on_host = on_host, .on_log = on_log};
    install_signals();
    capture *c = p ? capture_open(&co, &h, err, sizeof(err)) : NULL;
    if (!c) {
        fprintf(stderr, "oisp-sensor: %s\n", p ? err : "out of memory");
        pipeline_free(p);
        sink_set_close(sinks, 0);
        return 1;
    }
    if (!a.no_host && !(rc.host = open_host(&a, c, err, sizeof(err)))) {
        fprintf(stderr, "oisp-sensor: %s\n", err);
        capture_close(c);
        pipeline_free(p);
        sink_set_close(sinks, 0);
        return 1;
    }
    if (!a.quiet)
        print_ready(&a, c);
    else
        fprintf(stderr, "oisp-sensor: ready\n");
    run_loop(c, p, sinks);
    sink_set_flush(sinks);
    print_stats(c, rc.host, p, sinks);
    hostcap_close(rc.host);
    capture_close(c);
    pipeline_free(p);
    sink_set_close(sinks, 5000);
    return 0;
}

/* hostcmds.c: `oisp-sensor top`, `metrics`, `connections` and `fanotify`:
 * thin command-line fronts over src/host (metrics sampler, sock_diag
 * table, fanotify monitor, Prometheus endpoint).
 *
 * How it works.  Each command parses its options with getopt_long, builds
 * the host module it needs, and runs either once or until SIGINT/SIGTERM
 * (a flag set by the handler; sleeps are short so the flag is seen
 * quickly).  `top` redraws a plain-ANSI screen (alternate screen on a
 * terminal) every interval; process names are printed through a filter
 * that turns control bytes into '?', so a process cannot drive the
 * terminal.  `fanotify` writes events through a JSONL sink guarded by a
 * mutex (the monitor's worker thread writes, the main thread flushes every
 * 100 ms) and prints the monitor's counters on exit. */
#include "cli/hostcmds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "events/clock.h"
#include "util/monotime.h"
#include "events/event.h"
#include "host/fanmon.h"
#include "host/metrics.h"
#include "host/promhttp.h"
#include "host/sockdiag.h"
#include "sinks/jsonl.h"

#define MAX_PATHS 64
#define MAX_RULES 256

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps return early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Sleeps up to sec seconds, in slices, returning early on a signal. */
static void nap(double sec)
{
    uint64_t end = mono_ns() + (uint64_t)(sec * 1e9);
    while (!g_stop) {
        uint64_t now = mono_ns();
        if (now >= end)
            return;
        uint64_t left = end - now;
        if (left > 100000000ull)
            left = 100000000ull;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)left};
        nanosleep(&ts, NULL);
    }
}

static int parse_interval(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v >= 0.05 && v <= 86400))
        return -1;
    *out = v;
    return 0;
}

static int parse_count(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* "1.5G" style, 1024-based. */
static void fmt_bytes(double v, char *out, size_t n)
{
    static const char units[] = "BKMGTP";
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%.0fB", v);
    else
        snprintf(out, n, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* A process name or interface for the terminal: printable ASCII only. */
static void safe_name(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++)
        out[k++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    out[k] = 0;
}

static void print_json_line(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (s) {
        puts(s);
        free(s);
    }
    fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* metrics */

static void metrics_usage(FILE *f)
{
    fprintf(f,
            "usage: oisp-sensor metrics [options]\n"
            "Host CPU, memory, disk, network, load and top processes, from /proc and /sys.\n"
            "Rates are measured over --interval (two samples are taken).\n"
            "\n"
            "  --json              one JSON object per report\n"
            "  --prometheus        Prometheus text format instead\n"
            "  --interval SEC      time between samples (default 1, sub-second allowed)\n"
            "  --count N           reports to print (default 1; 0 = until Ctrl-C)\n"
            "  --include-lo        include the loopback interface\n"
            "  --serve ADDR:PORT   serve GET /metrics (Prometheus) until Ctrl-C, e.g.\n"
            "                      127.0.0.1:9464; other addresses need --token\n"
            "  --token T           bearer token the endpoint requires (or OISP_METRICS_TOKEN)\n"
            "  --root DIR          read DIR/proc and DIR/sys instead of /proc and /sys\n"
            "  -h, --help          this help\n");
}

static void print_metrics_text(const metrics_snapshot *m)
{
    char a[16], b[16], c[16];
    printf("uptime %.0fs  load %.2f %.2f %.2f  processes %u  threads %u  running %u  blocked %u\n",
           m->uptime_s, m->load1, m->load5, m->load15, m->processes, m->threads,
           m->procs_running, m->procs_blocked);
    printf("cpu    %5.1f%% busy  (user %.1f sys %.1f iowait %.1f steal %.1f)  %zu cores\n",
           m->cpu_total.busy_pct, m->cpu_total.pct[METRICS_CPU_USER],
           m->cpu_total.pct[METRICS_CPU_SYSTEM], m->cpu_total.pct[METRICS_CPU_IOWAIT],
           m->cpu_total.pct[METRICS_CPU_STEAL], m->ncpu);
    for (size_t i = 0; i < m->ncpu; i++)
        printf("  cpu%-3d %5.1f%%\n", m->cpus[i].id, m->cpus[i].busy_pct);
    fmt_bytes((double)m->mem.used, a, sizeof(a));
    fmt_bytes((double)m->mem.total, b, sizeof(b));
    fmt_bytes((double)m->mem.available, c, sizeof(c));
    printf("memory %s used of %s (%s available)", a, b, c);
    fmt_bytes((double)m->mem.swap_used, a, sizeof(a));
    fmt_bytes((double)m->mem.swap_total, b, sizeof(b));
    printf("  swap %s of %s\n", a, b);
    for (size_t i = 0; i < m->ndisks; i++) {
        const metrics_disk *d = &m->disks[i];
        fmt_bytes(d->read_bps, a, sizeof(a));
        fmt_bytes(d->write_bps, b, sizeof(b));
        printf("disk %-8s read %s/s write %s/s  %.0f/%.0f IOPS  util %.1f%%\n", d->name, a, b,
               d->read_iops, d->write_iops, d->util_pct);
    }
    for (size_t i = 0; i < m->nifaces; i++) {
        const metrics_net *d = &m->ifaces[i];
        char nm[METRICS_NAME_MAX];
        safe_name(d->name, nm, sizeof(nm));
        fmt_bytes(d->rx_bps, a, sizeof(a));
        fmt_bytes(d->tx_bps, b, sizeof(b));
        printf("net  %-8s rx %s/s tx %s/s  %.0f/%.0f pkt/s  err %.0f/%.0f drop %.0f/%.0f\n", nm, a,
               b, d->rx_pps, d->tx_pps, d->rx_errs_ps, d->tx_errs_ps, d->rx_drop_ps,
               d->tx_drop_ps);
    }
    printf("top by cpu:");
    for (size_t i = 0; i < m->ntop_cpu && i < 5; i++) {
        char nm[METRICS_NAME_MAX];
        safe_name(m->top_cpu[i].comm, nm, sizeof(nm));
        printf("  %s(%u) %.1f%%", nm, m->top_cpu[i].pid, m->top_cpu[i].cpu_pct);
    }
    printf("\ntop by rss:");
    for (size_t i = 0; i < m->ntop_rss && i < 5; i++) {
        char nm[METRICS_NAME_MAX];
        safe_name(m->top_rss[i].comm, nm, sizeof(nm));
        fmt_bytes((double)m->top_rss[i].rss_bytes, a, sizeof(a));
        printf("  %s(%u) %s", nm, m->top_rss[i].pid, a);
    }
    printf("\n");
    fflush(stdout);
}

typedef struct serve_ctx {
    pthread_mutex_t mu;
    const metrics_snapshot *snap; /* latest, under mu */
} serve_ctx;

static int render_metrics(metrics_buf *out, void *arg)
{
    serve_ctx *sc = arg;
    pthread_mutex_lock(&sc->mu);
    if (sc->snap)
        metrics_prometheus(sc->snap, out);
    pthread_mutex_unlock(&sc->mu);
    metrics_prometheus_self(out);
    uint64_t scrapes, unauth;
    promhttp_counters(&scrapes, &unauth);
    metrics_buf_printf(out,
                       "# HELP oisp_sensor_scrapes_total Scrapes of this endpoint served.\n"
                       "# TYPE oisp_sensor_scrapes_total counter\n"
                       "oisp_sensor_scrapes_total %llu\n"
                       "# HELP oisp_sensor_scrapes_unauthorized_total Requests refused for a "
                       "missing or wrong token.\n"
                       "# TYPE oisp_sensor_scrapes_unauthorized_total counter\n"
                       "oisp_sensor_scrapes_unauthorized_total %llu\n",
                       (unsigned long long)scrapes, (unsigned long long)unauth);
    return 0;
}

static int serve_metrics(metrics_sampler *s, const char *listen, const char *token,
                         double interval)
{
    char addr[128];
    int port;
    if (promhttp_parse_listen(listen, addr, sizeof(addr), &port) != 0) {
        fprintf(stderr, "oisp-sensor metrics: --serve wants ADDR:PORT, e.g. 127.0.0.1:9464\n");
        return 2;
    }
    serve_ctx sc = {.snap = NULL};
    pthread_mutex_init(&sc.mu, NULL);
    const metrics_snapshot *m;
    metrics_sampler_sample(s, mono_ns(), &m);
    sc.snap = m;
    if (promhttp_start(addr, port, token, render_metrics, &sc) != 0) {
        fprintf(stderr, "oisp-sensor metrics: %s\n", promhttp_error());
        pthread_mutex_destroy(&sc.mu);
        return 1;
    }
    fprintf(stderr, "oisp-sensor: serving metrics on http://%s%s%s:%d/metrics%s\n",
            strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "", port,
            token && *token ? " (bearer token required)" : "");
    while (!g_stop) {
        nap(interval);
        if (g_stop)
            break;
        pthread_mutex_lock(&sc.mu); /* the snapshot is rewritten in place */
        if (metrics_sampler_sample(s, mono_ns(), &m) == 0)
            sc.snap = m;
        pthread_mutex_unlock(&sc.mu);
    }
    promhttp_stop();
    pthread_mutex_destroy(&sc.mu);
    return 0;
}

int cmd_metrics(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},        {"prometheus", no_argument, NULL, 'P'},
        {"interval", required_argument, NULL, 'i'}, {"count", required_argument, NULL, 'n'},
        {"include-lo", no_argument, NULL, 'l'},  {"serve", required_argument, NULL, 's'},
        {"token", required_argument, NULL, 'T'}, {"root", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int json = 0, prom = 0, include_lo = 0, ch;
    double interval = 1.0;
    long count = 1;
    const char *serve = NULL, *root = "/", *token = getenv("OISP_METRICS_TOKEN");
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = 1; break;
        case 'P': prom = 1; break;
        case 'l': include_lo = 1; break;
        case 's': serve = optarg; break;
        case 'T': token = optarg; break;
        case 'r': root = optarg; break;
        case 'i':
            if (parse_interval(optarg, &interval) != 0) {
                fprintf(stderr, "oisp-sensor metrics: bad --interval '%s'\n", optarg);
                return 2;
            }
            break;
        case 'n':
            if (parse_count(optarg, &count) != 0) {
                fprintf(stderr, "oisp-sensor metrics: bad --count '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': metrics_usage(stdout); return 0;
        default: metrics_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        metrics_usage(stderr);
        return 2;
    }
    clock_sync();
    install_signals();
    metrics_sampler *s = metrics_sampler_new(root);
    if (!s) {
        fprintf(stderr, "oisp-sensor metrics: out of memory\n");
        return 1;
    }
    metrics_sampler_set_include_lo(s, include_lo);
    int rc = 0;
    if (serve) {
        rc = serve_metrics(s, serve, token, interval);
        metrics_sampler_free(s);
        return rc;
    }
    const metrics_snapshot *m;
    if (metrics_sampler_sample(s, mono_ns(), &m) != 0) {
        fprintf(stderr, "oisp-sensor metrics: cannot read %s/proc/stat\n",
                strcmp(root, "/") ? root : "");
        metrics_sampler_free(s);
        return 1;
    }
    for (long i = 0; (count == 0 || i < count) && !g_stop; i++) {
        nap(interval);
        if (g_stop || metrics_sampler_sample(s, mono_ns(), &m) != 0)
            break;
        if (json) {
            json_t *j = metrics_to_json(m);
            print_json_line(j);
            json_decref(j);
        } else if (prom) {
            metrics_buf b;
            metrics_buf_init(&b, 0);
            metrics_prometheus(m, &b);
            if (b.p)
                fwrite(b.p, 1, b.len, stdout);
            fflush(stdout);
            metrics_buf_free(&b);
        } else {
            print_metrics_text(m);
            if (count != 1)
                printf("\n");
        }
    }
    metrics_sampler_free(s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* top */

static void top_usage(FILE *f)
{
    fprintf(f,
            "usage: oisp-sensor top [options]\n"
            "A refreshing view of the host: CPU per core, memory, disks, network and the\n"
            "processes using the most CPU and memory.  Ctrl-C quits.\n"
            "\n"
            "  --interval SEC   refresh period (default 1)\n"
            "  --count N        refreshes before exiting (default 0 = until Ctrl-C)\n"
            "  --include-lo     include the loopback interface\n"
            "  -h, --help       this help\n");
}

static void bar(char *out, double pct, int width)
{
    int fill = (int)(pct / 100.0 * width + 0.5);
    if (fill > width)
        fill = width;
    if (fill < 0)
        fill = 0;
    for (int i = 0; i < width; i++)
        out[i] = i < fill ? '|' : ' ';
    out[width] = 0;
}

static void draw_top(const metrics_snapshot *m, int rows, int cols, int tty)
{
    const char *clr = tty ? "\033[H\033[2J" : "", *bold = tty ? "\033[1m" : "",
               *dim = tty ? "\033[2m" : "", *rst = tty ? "\033[0m" : "";
    char a[16], b[16], c[16], br[64];
    int used = 0, bw = cols > 60 ? 30 : 10;
    printf("%s%soisp-sensor top%s  up %.0fh%02.0fm  load %.2f %.2f %.2f  %u processes, %u "
           "threads, %u running\n",
           clr, bold, rst, floor(m->uptime_s / 3600), fmod(floor(m->uptime_s / 60), 60), m->load1,
           m->load5, m->load15, m->processes, m->threads, m->procs_running);
    used++;
    bar(br, m->cpu_total.busy_pct, bw);
    printf("CPU  [%s] %5.1f%%  usr %.1f sys %.1f io %.1f irq %.1f st %.1f\n", br,
           m->cpu_total.busy_pct, m->cpu_total.pct[METRICS_CPU_USER],
           m->cpu_total.pct[METRICS_CPU_SYSTEM], m->cpu_total.pct[METRICS_CPU_IOWAIT],
           m->cpu_total.pct[METRICS_CPU_IRQ] + m->cpu_total.pct[METRICS_CPU_SOFTIRQ],
           m->cpu_total.pct[METRICS_CPU_STEAL]);
    used++;
    size_t show_cores = m->ncpu <= 16 ? m->ncpu : 16;
    for (size_t i = 0; i < show_cores; i++, used++) {
        bar(br, m->cpus[i].busy_pct, bw);
        printf("%s cpu%-3d%s[%s] %5.1f%%\n", dim, m->cpus[i].id, rst, br, m->cpus[i].busy_pct);
    }
    fmt_bytes((double)m->mem.used, a, sizeof(a));
    fmt_bytes((double)m->mem.total, b, sizeof(b));
    bar(br, m->mem.total ? 100.0 * (double)m->mem.used / (double)m->mem.total : 0, bw);
    printf("Mem  [%s] %s/%s", br, a, b);
    fmt_bytes((double)m->mem.swap_used, a, sizeof(a));
    fmt_bytes((double)m->mem.swap_total, b, sizeof(b));
    printf("  swap %s/%s\n", a, b);
    used++;
    for (size_t i = 0; i < m->ndisks; i++, used++) {
        fmt_bytes(m->disks[i].read_bps, a, sizeof(a));
        fmt_bytes(m->disks[i].write_bps, b, sizeof(b));
        printf("Disk %-8s r %7s/s w %7s/s  %6.0f IOPS  util %5.1f%%\n", m->disks[i].name, a, b,
               m->disks[i].read_iops + m->disks[i].write_iops, m->disks[i].util_pct);
    }
    for (size_t i = 0; i < m->nifaces; i++, used++) {
        char nm[METRICS_NAME_MAX];
        safe_name(m->ifaces[i].name, nm, sizeof(nm));
        fmt_bytes(m->ifaces[i].rx_bps, a, sizeof(a));
        fmt_bytes(m->ifaces[i].tx_bps, b, sizeof(b));
        printf("Net  %-8s rx %7s/s tx %7s/s  err %.0f drop %.0f\n", nm, a, b,
               m->ifaces[i].rx_errs_ps + m->ifaces[i].tx_errs_ps,
               m->ifaces[i].rx_drop_ps + m->ifaces[i].tx_drop_ps);
    }
    printf("\n%s%7s %-16s %6s %8s %4s %s%s\n", bold, "PID", "COMMAND", "CPU%", "RSS", "THR", "S",
           rst);
    used += 2;
    int room = rows - used - 2;
    size_t ncpu_rows = m->ntop_cpu, nrss = 0;
    int half = (room - 2) / 2; /* leave the other half to the memory list */
    if (half > 0 && (int)ncpu_rows > half)
        ncpu_rows = (size_t)half;
    if (room < (int)ncpu_rows)
        ncpu_rows = room > 0 ? (size_t)room : 0;
    for (size_t i = 0; i < ncpu_rows; i++) {
        const metrics_proc *p = &m->top_cpu[i];
        char nm[METRICS_NAME_MAX];
        safe_name(p->comm, nm, sizeof(nm));
        fmt_bytes((double)p->rss_bytes, c, sizeof(c));
        printf("%7u %-16.16s %6.1f %8s %4u %c\n", p->pid, nm, p->cpu_pct, c, p->threads,
               p->state >= 0x20 && p->state < 0x7f ? p->state : '?');
    }
    room -= (int)ncpu_rows + 2;
    if (room > 0) {
        printf("%s%7s %-16s %8s %6s  (by memory)%s\n", bold, "PID", "COMMAND", "RSS", "CPU%", rst);
        nrss = m->ntop_rss < (size_t)room ? m->ntop_rss : (size_t)room;
        for (size_t i = 0; i < nrss; i++) {
            const metrics_proc *p = &m->top_rss[i];
            char nm[METRICS_NAME_MAX];
            safe_name(p->comm, nm, sizeof(nm));
            fmt_bytes((double)p->rss_bytes, c, sizeof(c));
            printf("%7u %-16.16s %8s %6.1f\n", p->pid, nm, c, p->cpu_pct);
        }
    }
    (void)c;
    fflush(stdout);
}

int cmd_top(int argc, char **argv)
{
    static const struct option longopts[] = {{"interval", required_argument, NULL, 'i'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"include-lo", no_argument, NULL, 'l'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    double interval = 1.0;
    long count = 0;
    int include_lo = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            if (parse_interval(optarg, &interval) != 0) {
                fprintf(stderr, "oisp-sensor top: bad --interval '%s'\n", optarg);
                return 2;
            }
            break;
        case 'n':
            if (parse_count(optarg, &count) != 0) {
                fprintf(stderr, "oisp-sensor top: bad --count '%s'\n", optarg);
                return 2;
            }
            break;
        case 'l': include_lo = 1; break;
        case 'h': top_usage(stdout); return 0;
        default: top_usage(stderr); return 2;
        }
    }
    clock_sync();
    install_signals();
    metrics_sampler *s = metrics_sampler_new("/");
    if (!s)
        return 1;
    metrics_sampler_set_include_lo(s, include_lo);
    metrics_sampler_set_top_n(s, METRICS_TOP_MAX);
    int tty = isatty(STDOUT_FILENO);
    if (tty)
        printf("\033[?1049h\033[?25l"); /* alternate screen, hide cursor */
    const metrics_snapshot *m;
    int rc = 0;
    if (metrics_sampler_sample(s, mono_ns(), &m) != 0) {
        rc = 1;
        goto out;
    }
    for (long i = 0; (count == 0 || i < count) && !g_stop; i++) {
        nap(i == 0 && interval > 0.5 ? 0.5 : interval);
        if (g_stop || metrics_sampler_sample(s, mono_ns(), &m) != 0)
            break;
        struct winsize ws = {0};
        int rows = 24, cols = 80;
        if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
            rows = ws.ws_row;
            cols = ws.ws_col;
        } else if (!tty) {
            rows = 60;
        }
        draw_top(m, rows, cols, tty);
    }
out:
    if (tty)
        printf("\033[?25h\033[?1049l");
    fflush(stdout);
    metrics_sampler_free(s);
    if (rc)
        fprintf(stderr, "oisp-sensor top: cannot read /proc/stat\n");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* connections */

static void connections_usage(FILE *f)
{
    fprintf(f,
            "usage: oisp-sensor connections [options]\n"
            "TCP and UDP sockets (IPv4 and IPv6) with their owning process, from netlink\n"
            "sock_diag, like `ss -tunp`.  Processes are shown for sockets this user can see\n"
            "(all of them as root).\n"
            "\n"
            "  -l, --listening    only listening sockets (TCP LISTEN, bound UDP)\n"
            "  -a, --all          listening and connected sockets (default: connected only)\n"
            "  -t, --tcp          TCP only\n"
            "  -u, --udp          UDP only\n"
            "  --json             one JSON object per socket\n"
            "  --watch            poll every --interval and print sockets that open (+) and\n"
            "                     close (-); new outbound TCP connections are written as\n"
            "                     OISP network.connect events to -o FILE\n"
            "  --interval SEC     --watch poll period (default 1)\n"
            "  -o FILE            --watch: network.connect events (JSONL; '-' = stdout)\n"
            "  -h, --help         this help\n");
}

static int conn_wanted(const sockdiag_conn *c, int listening, int all, int tcp, int udp)
{
    if (tcp != udp && ((tcp && c->proto != IPPROTO_TCP) || (udp && c->proto != IPPROTO_UDP)))
        return 0;
    int l = sockdiag_is_listening(c);
    if (listening)
        return l;
    if (all)
        return 1;
    if (c->proto == IPPROTO_UDP)
        return c->state == 1; /* connected UDP */
    return !l;
}

static void endpoint_str(const sockdiag_conn *c, int dst, char *out, size_t n)
{
    char ip[INET6_ADDRSTRLEN];
    sockdiag_addr_str(c, dst, ip, sizeof(ip));
    uint16_t port = dst ? c->dport : c->sport;
    char ps[8];
    if (port == 0)
        snprintf(ps, sizeof(ps), "*");
    else
        snprintf(ps, sizeof(ps), "%u", port);
    if (c->family == AF_INET6)
        snprintf(out, n, "[%s]:%s", ip, ps);
    else
        snprintf(out, n, "%s:%s", ip, ps);
}

static void print_conn(const sockdiag_conn *c, const char *prefix)
{
    char l[64], p[64], proc[48] = "", nm[16];
    endpoint_str(c, 0, l, sizeof(l));
    endpoint_str(c, 1, p, sizeof(p));
    if (c->pid) {
        safe_name(c->comm, nm, sizeof(nm));
        snprintf(proc, sizeof(proc), "%s(pid=%u)", nm, c->pid);
    }
    printf("%s%-5s %-11s %6u %6u %-40s %-40s %s\n", prefix,
           c->proto == IPPROTO_TCP ? "tcp" : "udp", sockdiag_state_name(c), c->rqueue, c->wqueue,
           l, p, proc);
}

typedef struct watch_ctx {
    jsonl_sink *out;
    int listening, all, tcp, udp;
} watch_ctx;

static void on_change(int is_new, const sockdiag_conn *c, void *arg)
{
    watch_ctx *w = arg;
    if (conn_wanted(c, w->listening, 1, w->tcp, w->udp))
        print_conn(c, is_new ? "+ " : "- ");
}

static void on_connect_event(json_t *ev, void *arg)
{
    watch_ctx *w = arg;
    if (!w->out)
        return;
    size_t len;
    char *s = event_serialize(ev, &len);
    if (s) {
        jsonl_write(w->out, s, len);
        jsonl_flush(w->out);
        free(s);
    }
}

static int watch_connections(sockdiag *sd, watch_ctx *w, double interval)
{
    json_t *host = event_host_info();
    sockdiag_set_change_cb(sd, on_change, w);
    sockdiag_set_event_cb(sd, on_connect_event, w, host);
    json_decref(host);
    int rc = sockdiag_poll(sd);
    if (rc != 0) {
        fprintf(stderr, "oisp-sensor connections: sock_diag dump: %s\n", strerror(-rc));
        return 1;
    }
    fprintf(stderr, "oisp-sensor: watching connections\n");
    while (!g_stop) {
        nap(interval);
        if (g_stop)
            break;
        rc = sockdiag_poll(sd);
        if (rc != 0)
            fprintf(stderr, "oisp-sensor connections: sock_diag dump: %s\n", strerror(-rc));
        fflush(stdout);
    }
    json_t *st = sockdiag_stats_json(sd);
    char *s = json_dumps(st, JSON_COMPACT | JSON_REAL_PRECISION(6));
    fprintf(stderr, "oisp-sensor: connections counters %s\n", s ? s : "{}");
    free(s);
    json_decref(st);
    return 0;
}

int cmd_connections(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listening", no_argument, NULL, 'l'}, {"all", no_argument, NULL, 'a'},
        {"tcp", no_argument, NULL, 't'},       {"udp", no_argument, NULL, 'u'},
        {"json", no_argument, NULL, 'j'},      {"watch", no_argument, NULL, 'w'},
        {"interval", required_argument, NULL, 'i'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int listening = 0, all = 0, tcp = 0, udp = 0, json = 0, watch = 0, ch;
    double interval = 1.0;
    const char *out_path = NULL;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "latuo:nph", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l': listening = 1; break;
        case 'a': all = 1; break;
        case 't': tcp = 1; break;
        case 'u': udp = 1; break;
        case 'j': json = 1; break;
        case 'w': watch = 1; break;
        case 'o': out_path = optarg; break;
        case 'n': case 'p': break; /* ss habits: always numeric, always processes */
        case 'i':
            if (parse_interval(optarg, &interval) != 0) {
                fprintf(stderr, "oisp-sensor connections: bad --interval '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': connections_usage(stdout); return 0;
        default: connections_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        connections_usage(stderr);
        return 2;
    }
    clock_sync();
    char err[256];
    sockdiag *sd = sockdiag_new("/", err, sizeof(err));
    if (!sd) {
        fprintf(stderr, "oisp-sensor connections: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (watch) {
        install_signals();
        watch_ctx w = {.listening = listening, .all = all, .tcp = tcp, .udp = udp};
        if (out_path && !(w.out = jsonl_open(out_path, err, sizeof(err)))) {
            fprintf(stderr, "oisp-sensor connections: %s\n", err);
            sockdiag_free(sd);
            return 1;
        }
        rc = watch_connections(sd, &w, interval);
        if (w.out)
            jsonl_close(w.out);
        sockdiag_free(sd);
        return rc;
    }
    rc = sockdiag_poll(sd);
    if (rc != 0) {
        fprintf(stderr, "oisp-sensor connections: sock_diag dump: %s\n", strerror(-rc));
        sockdiag_free(sd);
        return 1;
    }
    size_t n;
    const sockdiag_conn *t = sockdiag_table(sd, &n);
    if (!json)
        printf("%-5s %-11s %6s %6s %-40s %-40s %s\n", "Netid", "State", "Recv-Q", "Send-Q",
               "Local Address:Port", "Peer Address:Port", "Process");
    for (size_t i = 0; i < n; i++) {
        if (!conn_wanted(&t[i], listening, all, tcp, udp))
            continue;
        if (json) {
            json_t *j = sockdiag_conn_json(&t[i]);
            print_json_line(j);
            json_decref(j);
        } else {
            print_conn(&t[i], "");
        }
    }
    fflush(stdout);
    sockdiag_free(sd);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* fanotify */

static void fanotify_usage(FILE *f)
{
    fprintf(f,
            "usage: oisp-sensor fanotify --path P [--path P2 ...] [--mode MODE] [rules] [-o FILE]\n"
            "Watch executions, opens and writes under the given paths with fanotify and write\n"
            "them as OISP events (process.exec, file.open, file.write) until Ctrl-C (root).\n"
            "The whole mount (or, with --filesystem, filesystem) holding each path is marked;\n"
            "events outside the given paths are let through unreported.\n"
            "\n"
            "  --path P             a directory to watch (repeatable)\n"
            "  --mode MODE          passive (default): only log;\n"
            "                       permissive: refuse executions matching a --deny rule;\n"
            "                       enforcing: refuse executions not matching an --allow rule\n"
            "                       (--deny rules still win); needs at least one --allow rule\n"
            "  --allow-hash H       allow executing a file whose SHA-256 is H\n"
            "  --allow-exe PATH     allow executions requested by the program PATH\n"
            "  --allow-prefix P     allow executing files under directory P\n"
            "  --deny-hash H, --deny-exe PATH, --deny-prefix P   the same, to refuse\n"
            "  --filesystem         mark whole filesystems instead of mounts\n"
            "  --events LIST        exec,open,modify,close_write (default: all)\n"
            "  --timeout-ms N       decisions not made within N ms are allowed (default 1000)\n"
            "  -o FILE              output JSON Lines (default fanotify.jsonl, '-' = stdout)\n"
            "  -h, --help           this help\n"
            "\n"
            "Refused executions fail with EPERM.  The monitor never blocks the host: requests\n"
            "it cannot decide in time are allowed and counted.  Counters are printed on exit.\n");
}

typedef struct fan_ctx {
    pthread_mutex_t mu;
    jsonl_sink *out;
} fan_ctx;

static void on_fan_event(json_t *ev, void *arg)
{
    fan_ctx *fc = arg;
    size_t len;
    char *s = event_serialize(ev, &len);
    if (!s)
        return;
    pthread_mutex_lock(&fc->mu);
    jsonl_write(fc->out, s, len);
    pthread_mutex_unlock(&fc->mu);
    free(s);
}

static int parse_events(const char *s, unsigned *out)
{
    unsigned ev = 0;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "exec") == 0)
            ev |= FANMON_EV_EXEC;
        else if (strcmp(t, "open") == 0)
            ev |= FANMON_EV_OPEN;
        else if (strcmp(t, "modify") == 0)
            ev |= FANMON_EV_MODIFY;
        else if (strcmp(t, "close_write") == 0)
            ev |= FANMON_EV_CLOSE_WRITE;
        else
            return -1;
    }
    if (!ev)
        return -1;
    *out = ev;
    return 0;
}

int cmd_fanotify(int argc, char **argv)
{
    enum { O_PATH_ = 1000, O_MODE, O_AH, O_AE, O_AP, O_DH, O_DE, O_DP, O_FS, O_EV, O_TO };
    static const struct option longopts[] = {
        {"path", required_argument, NULL, O_PATH_},      {"mode", required_argument, NULL, O_MODE},
        {"allow-hash", required_argument, NULL, O_AH},   {"allow-exe", required_argument, NULL, O_AE},
        {"allow-prefix", required_argument, NULL, O_AP}, {"deny-hash", required_argument, NULL, O_DH},
        {"deny-exe", required_argument, NULL, O_DE},     {"deny-prefix", required_argument, NULL, O_DP},
        {"filesystem", no_argument, NULL, O_FS},         {"events", required_argument, NULL, O_EV},
        {"timeout-ms", required_argument, NULL, O_TO},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *paths[MAX_PATHS];
    fanmon_rule rules[MAX_RULES];
    fanmon_config cfg = {.mode = FANMON_PASSIVE};
    size_t npaths = 0, nrules = 0;
    const char *out_path = "fanotify.jsonl";
    int ch;
    char err[512];
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        fanmon_rule r = {0};
        switch (ch) {
        case O_PATH_:
            if (npaths == MAX_PATHS) {
                fprintf(stderr, "oisp-sensor fanotify: at most %d paths\n", MAX_PATHS);
                return 2;
            }
            paths[npaths++] = optarg;
            continue;
        case O_MODE:
            if (fanmon_mode_parse(optarg, &cfg.mode) != 0) {
                fprintf(stderr, "oisp-sensor fanotify: --mode is passive, permissive or enforcing\n");
                return 2;
            }
            continue;
        case O_FS: cfg.filesystem_marks = 1; continue;
        case O_EV:
            if (parse_events(optarg, &cfg.events) != 0) {
                fprintf(stderr, "oisp-sensor fanotify: bad --events '%s'\n", optarg);
                return 2;
            }
            continue;
        case O_TO: {
            long v;
            if (parse_count(optarg, &v) != 0 || v < 10 || v > 60000) {
                fprintf(stderr, "oisp-sensor fanotify: --timeout-ms is 10..60000\n");
                return 2;
            }
            cfg.timeout_ms = (unsigned)v;
            continue;
        }
        case 'o': out_path = optarg; continue;
        case 'h': fanotify_usage(stdout); return 0;
        case O_AH: case O_AE: case O_AP: case O_DH: case O_DE: case O_DP:
            r.deny = ch >= O_DH;
            r.kind = (ch == O_AH || ch == O_DH)   ? FANMON_RULE_HASH
                     : (ch == O_AE || ch == O_DE) ? FANMON_RULE_EXE
                                                  : FANMON_RULE_PREFIX;
            r.value = optarg;
            if (fanmon_rule_check(&r, err, sizeof(err)) != 0) {
                fprintf(stderr, "oisp-sensor fanotify: %s\n", err);
                return 2;
            }
            if (nrules == MAX_RULES) {
                fprintf(stderr, "oisp-sensor fanotify: at most %d rules\n", MAX_RULES);
                return 2;
            }
            rules[nrules++] = r;
            continue;
        default: fanotify_usage(stderr); return 2;
        }
    }
    if (optind < argc || npaths == 0) {
        fprintf(stderr, "oisp-sensor fanotify: at least one --path is needed\n");
        fanotify_usage(stderr);
        return 2;
    }
    int have_allow = 0;
    for (size_t i = 0; i < nrules; i++)
        have_allow |= !rules[i].deny;
    if (cfg.mode == FANMON_ENFORCING && !have_allow) {
        fprintf(stderr, "oisp-sensor fanotify: enforcing mode with no --allow rule would refuse "
                        "every execution; add --allow-hash/--allow-exe/--allow-prefix\n");
        return 2;
    }
    clock_sync();
    json_t *host = event_host_info(); /* before any mark exists */
    fan_ctx fc;
    pthread_mutex_init(&fc.mu, NULL);
    fc.out = jsonl_open(out_path, err, sizeof(err));
    if (!fc.out) {
        fprintf(stderr, "oisp-sensor fanotify: %s\n", err);
        json_decref(host);
        return 1;
    }
    install_signals();
    cfg.paths = paths;
    cfg.npaths = npaths;
    cfg.rules = rules;
    cfg.nrules = nrules;
    cfg.cb = on_fan_event;
    cfg.ctx = &fc;
    cfg.host = host;
    fanmon *fm = fanmon_start(&cfg, err, sizeof(err));
    json_decref(host);
    if (!fm) {
        fprintf(stderr, "oisp-sensor fanotify: %s\n", err);
        jsonl_close(fc.out);
        pthread_mutex_destroy(&fc.mu);
        return 1;
    }
    fprintf(stderr, "oisp-sensor: fanotify ready (mode %s, %zu path%s, %zu rule%s)\n",
            fanmon_mode_name(cfg.mode), npaths, npaths == 1 ? "" : "s", nrules,
            nrules == 1 ? "" : "s");
    while (!g_stop) {
        nap(0.1);
        pthread_mutex_lock(&fc.mu);
        jsonl_flush(fc.out);
        pthread_mutex_unlock(&fc.mu);
    }
    fanmon_stop(fm); /* drains; the callback may still write */
    json_t *counters = fanmon_counters_json(fm);
    fanmon_free(fm);
    pthread_mutex_lock(&fc.mu);
    const jsonl_stats *js = jsonl_get_stats(fc.out);
    json_object_set_new(counters, "lines_written", json_integer((json_int_t)js->lines));
    jsonl_close(fc.out);
    pthread_mutex_unlock(&fc.mu);
    pthread_mutex_destroy(&fc.mu);
    char *s = json_dumps(counters, JSON_COMPACT);
    fprintf(stderr, "oisp-sensor: fanotify counters %s\n", s ? s : "{}");
    free(s);
    json_decref(counters);
    return 0;
}

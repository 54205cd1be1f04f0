/* metrics.h: host metrics sampled from /proc and /sys: CPU (total and per
 * core), memory and swap, disk I/O per physical device, network per
 * interface, load, uptime, process and thread counts, and the top
 * processes by CPU and by RSS.
 *
 * A metrics_sampler keeps the previous counters; each metrics_sampler_sample()
 * reads the files again (under a root directory, "/" normally, a fixture
 * tree in tests) and turns the deltas into rates over the CLOCK_MONOTONIC
 * time between the two samples.  A counter that went backwards (reset,
 * wrap, device replaced) restarts its delta: that interval's rate is 0,
 * never negative or huge.  Every table has a fixed maximum, so memory is
 * bounded whatever the host.
 *
 * The metrics_parse_* functions take file contents (not NUL-terminated,
 * any bytes) so fixtures can be tested directly. */
#ifndef OISP_HOST_METRICS_H
#define OISP_HOST_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_CPUS   1024
#define METRICS_MAX_DISKS  64
#define METRICS_MAX_IFACES 128
#define METRICS_TOP_MAX    32
#define METRICS_MAX_PROCS  65536 /* processes examined per sample */
#define METRICS_NAME_MAX   32

/* The /proc/stat CPU fields, in file order. */
enum {
    METRICS_CPU_USER,
    METRICS_CPU_NICE,
    METRICS_CPU_SYSTEM,
    METRICS_CPU_IDLE,
    METRICS_CPU_IOWAIT,
    METRICS_CPU_IRQ,
    METRICS_CPU_SOFTIRQ,
    METRICS_CPU_STEAL,
    METRICS_CPU_NFIELDS
};
extern const char *const metrics_cpu_field_names[METRICS_CPU_NFIELDS];

typedef struct metrics_cpu {
    int id;                             /* core number; -1 for the total */
    uint64_t ticks[METRICS_CPU_NFIELDS]; /* cumulative, USER_HZ ticks */
    double pct[METRICS_CPU_NFIELDS];    /* share of the interval, 0..100 */
    double busy_pct;                    /* 100 - idle - iowait, 0 without rates */
} metrics_cpu;

typedef struct metrics_mem { /* bytes */
    uint64_t total, free, available, buffers, cached, used;
    uint64_t swap_total, swap_free, swap_used;
} metrics_mem;

typedef struct metrics_disk {
    char name[METRICS_NAME_MAX];
    /* cumulative, from /proc/diskstats (sectors are 512 bytes) */
    uint64_t reads, sectors_read, writes, sectors_written, io_ticks_ms;
    double read_bps, write_bps, read_iops, write_iops, util_pct;
} metrics_disk;

typedef struct metrics_net {
    char name[METRICS_NAME_MAX];
    uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
    uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
    double rx_bps, tx_bps, rx_pps, tx_pps, rx_errs_ps, tx_errs_ps, rx_drop_ps, tx_drop_ps;
} metrics_net;

typedef struct metrics_proc {
    uint32_t pid, ppid, threads;
    char comm[METRICS_NAME_MAX];
    char state;
    double cpu_pct;                     /* percent of one core over the interval */
    uint64_t rss_bytes, vsz_bytes, shared_bytes;
} metrics_proc;

typedef struct metrics_snapshot {
    uint64_t mono_ns;                   /* when sampled */
    double interval_s;                  /* since the previous sample; 0 on the first */
    int has_rates;                      /* 0 on the first sample */
    metrics_cpu cpu_total;
    size_t ncpu;
    metrics_cpu cpus[METRICS_MAX_CPUS];
    uint64_t ctxt, forks;               /* cumulative context switches and forks */
    uint32_t procs_running, procs_blocked;
    metrics_mem mem;
    size_t ndisks;
    metrics_disk disks[METRICS_MAX_DISKS];
    size_t nifaces;
    metrics_net ifaces[METRICS_MAX_IFACES];
    double load1, load5, load15, uptime_s;
    uint32_t processes, threads;        /* threads: scheduling entities (loadavg) */
    size_t ntop_cpu, ntop_rss;
    metrics_proc top_cpu[METRICS_TOP_MAX], top_rss[METRICS_TOP_MAX];
    uint64_t sample_cpu_ns;             /* CPU time this sample cost the sampler's thread */
} metrics_snapshot;

/* ---- parsers of single files (buf need not be NUL-terminated) ---- */

/* /proc/stat: cpu_total, cpus[], ncpu, ctxt, forks, procs_running/blocked.
 * Returns 0, or -1 if there is no "cpu " line. */
int metrics_parse_stat(const char *buf, size_t len, metrics_snapshot *m);
/* /proc/meminfo into bytes; used = total - available (MemAvailable, or
 * free + buffers + cached on kernels without it).  -1 without MemTotal. */
int metrics_parse_meminfo(const char *buf, size_t len, metrics_mem *mem);
/* /proc/diskstats: fills out[] with the devices named in names[] (in the
 * order the file lists them); returns how many. */
size_t metrics_parse_diskstats(const char *buf, size_t len, char (*names)[METRICS_NAME_MAX],
                               size_t nnames, metrics_disk *out, size_t max);
/* /proc/net/dev; lo only if include_lo.  Returns the number of interfaces. */
size_t metrics_parse_netdev(const char *buf, size_t len, int include_lo, metrics_net *out,
                            size_t max);
/* /proc/loadavg: the three loads and the total of scheduling entities. */
int metrics_parse_loadavg(const char *buf, size_t len, double load[3], uint32_t *threads);
int metrics_parse_uptime(const char *buf, size_t len, double *uptime_s);

typedef struct metrics_pid_stat {
    char comm[METRICS_NAME_MAX];
    char state;
    uint32_t ppid, threads;
    uint64_t utime, stime, starttime, vsize, rss_pages;
} metrics_pid_stat;
/* /proc/PID/stat (comm may hold spaces and parentheses). */
int metrics_parse_pid_stat(const char *buf, size_t len, metrics_pid_stat *st);
/* /proc/PID/statm: size, resident and shared, in pages. */
int metrics_parse_statm(const char *buf, size_t len, uint64_t *size, uint64_t *resident,
                        uint64_t *shared);

/* 1 for whole physical disks by name: nvme*n*, vd*, xvd*, sd*, mmcblk*
 * (no partitions, mmcblk boot/rpmb areas, loop, ram, zram, dm). */
int metrics_disk_name_ok(const char *name);
/* The physical disks under ROOT/sys/block (entries with a `device` link
 * and a name metrics_disk_name_ok accepts).  Returns how many. */
size_t metrics_list_disks(const char *root, char (*names)[METRICS_NAME_MAX], size_t max);

/* ---- the sampler ---- */

typedef struct metrics_sampler metrics_sampler;

/* root: the directory holding proc/ and sys/ ("/" if NULL).  NULL on
 * allocation failure. */
metrics_sampler *metrics_sampler_new(const char *root);
void metrics_sampler_free(metrics_sampler *s);
void metrics_sampler_set_include_lo(metrics_sampler *s, int include_lo); /* default 0 */
void metrics_sampler_set_top_n(metrics_sampler *s, size_t n);  /* default 10, max METRICS_TOP_MAX */
void metrics_sampler_set_procs(metrics_sampler *s, int on);     /* per-process scan, default 1 */

/* Reads everything once.  mono_ns is the sample time (normally mono_ns(); a
 * value supplied by tests).  *out points into the sampler and stays valid
 * until the next call.  Returns 0, or -1 if ROOT/proc/stat is unreadable. */
int metrics_sampler_sample(metrics_sampler *s, uint64_t mono_ns, const metrics_snapshot **out);

/* ---- output ---- */

json_t *metrics_to_json(const metrics_snapshot *m);

/* A growable text buffer with a hard size limit: past it, appends are
 * dropped and `failed` is set. */
typedef struct metrics_buf {
    char *p;
    size_t len, cap, max;
    int failed;
} metrics_buf;
void metrics_buf_init(metrics_buf *b, size_t max);
void metrics_buf_free(metrics_buf *b);
void metrics_buf_printf(metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prometheus text exposition format (version 0.0.4): oisp_host_* metrics
 * with HELP and TYPE lines, appended to buf. */
void metrics_prometheus(const metrics_snapshot *m, metrics_buf *buf);
/* The sensor's own CPU seconds and RSS (from /proc/self), as
 * oisp_sensor_process_* metrics. */
void metrics_prometheus_self(metrics_buf *buf);
/* Every number in a flat JSON object of counters as a gauge named
 * PREFIX_KEY (keys sanitised to [a-zA-Z0-9_]); nested objects recurse with
 * their key added to the prefix. */
void metrics_prometheus_json(metrics_buf *buf, const char *prefix, const json_t *counters,
                             const char *help);

#endif

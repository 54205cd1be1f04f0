/* test_metrics.c: tests src/host/metrics.c.
 *
 * Fixtures: tests/data/host/t0 and t1 are two samples of /proc and /sys
 * with known deltas (see tests/data/host/README.md); the sampler reads them
 * through a root symlink switched between the two, with a supplied clock.
 * Every parser is also fed every prefix of every fixture and random bytes.
 * Live checks on this host: a pinned busy loop raises its core, an fsynced
 * write raises disk writes, a loopback transfer raises lo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events/clock.h"
#include "util/monotime.h"
#include "host/metrics.h"

#define DATA "../data/host/"
#define SEC  1000000000ull

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void test_parse_stat(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp(DATA "t0/proc/stat", &len);
    metrics_snapshot *m = calloc(1, sizeof(*m));
    assert_int_equal(metrics_parse_stat(buf, len, m), 0);
    assert_int_equal(m->ncpu, 2);
    assert_int_equal(m->cpu_total.ticks[METRICS_CPU_USER], 63185);
    assert_int_equal(m->cpu_total.ticks[METRICS_CPU_SYSTEM], 25056);
    assert_int_equal(m->cpu_total.ticks[METRICS_CPU_IDLE], 454767);
    assert_int_equal(m->cpu_total.ticks[METRICS_CPU_IOWAIT], 617);
    assert_int_equal(m->cpu_total.ticks[METRICS_CPU_SOFTIRQ], 3581);
    assert_int_equal(m->cpu_total.ticks[METRICS_CPU_STEAL], 50);
    assert_int_equal(m->cpus[1].id, 1);
    assert_int_equal(m->cpus[1].ticks[METRICS_CPU_USER], 33851);
    assert_int_equal(m->ctxt, 12130127);
    assert_int_equal(m->forks, 51087);
    assert_int_equal(m->procs_running, 4);
    /* no "cpu " line: an error, not zeros */
    assert_int_equal(metrics_parse_stat("cpu0 1 2 3\n", 11, m), -1);
    /* an old kernel with only four columns */
    assert_int_equal(metrics_parse_stat("cpu 1 2 3 4\n", 12, m), 0);
    assert_int_equal(m->cpu_total.ticks[METRICS_CPU_IDLE], 4);
    assert_int_equal(m->cpu_total.ticks[METRICS_CPU_STEAL], 0);
    free(m);
    free(buf);
}

static void test_parse_meminfo(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp(DATA "t0/proc/meminfo", &len);
    metrics_mem mem;
    assert_int_equal(metrics_parse_meminfo(buf, len, &mem), 0);
    assert_int_equal(mem.total, 24684096ull * 1024);
    assert_int_equal(mem.available, 24272544ull * 1024);
    assert_int_equal(mem.free, 23897140ull * 1024);
    assert_int_equal(mem.used, (24684096ull - 24272544ull) * 1024);
    assert_int_equal(mem.swap_total, 0);
    free(buf);
    /* without MemAvailable (kernel < 3.14): free + buffers + cached */
    const char *old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n"
                      "SwapTotal: 400 kB\nSwapFree: 100 kB\n";
    assert_int_equal(metrics_parse_meminfo(old, strlen(old), &mem), 0);
    assert_int_equal(mem.available, 400 * 1024);
    assert_int_equal(mem.used, 600 * 1024);
    assert_int_equal(mem.swap_used, 300 * 1024);
    /* MemAvailable larger than MemTotal (nonsense) does not underflow "used" */
    const char *odd = "MemTotal: 10 kB\nMemAvailable: 20 kB\n";
    assert_int_equal(metrics_parse_meminfo(odd, strlen(odd), &mem), 0);
    assert_int_equal(mem.used, 0);
    assert_int_equal(metrics_parse_meminfo("Foo: 1\n", 7, &mem), -1);
}

static void test_disk_names(void **state)
{
    (void)state;
    static const char *const yes[] = {"sda", "sdaa", "vda", "vdb", "xvda", "nvme0n1", "nvme12n3",
                                      "mmcblk0", "mmcblk10"};
    static const char *const no[] = {"sda1",   "vda2",         "nvme0n1p1",   "nvme0c0n1", "loop0",
                                     "ram0",   "zram0",        "dm-0",        "mmcblk0p1", "mmcblk0boot0",
                                     "mmcblk0rpmb", "sd",      "nvme",        "md0",       "sr0", ""};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(metrics_disk_name_ok(yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(metrics_disk_name_ok(no[i]));

    char names[METRICS_MAX_DISKS][METRICS_NAME_MAX];
    size_t n = metrics_list_disks(DATA "t0", names, METRICS_MAX_DISKS);
    assert_int_equal(n, 4); /* vda sda nvme0n1 mmcblk0: loop0/zram0/dm-0 have no device link */
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        seen |= (strcmp(names[i], "vda") == 0) | (strcmp(names[i], "sda") == 0) << 1 |
                (strcmp(names[i], "nvme0n1") == 0) << 2 | (strcmp(names[i], "mmcblk0") == 0) << 3;
    assert_int_equal(seen, 15);

    size_t len;
    char *buf = slurp(DATA "t0/proc/diskstats", &len);
    metrics_disk d[8];
    n = metrics_parse_diskstats(buf, len, names, 4, d, 8);
    assert_int_equal(n, 4); /* partitions and boot areas in the file are not listed */
    assert_string_equal(d[0].name, "vda");
    assert_int_equal(d[0].reads, 78920);
    assert_int_equal(d[0].sectors_read, 5325482);
    assert_int_equal(d[0].writes, 13015);
    assert_int_equal(d[0].sectors_written, 2243024);
    assert_int_equal(d[0].io_ticks_ms, 10664);
    free(buf);
}

static void test_parse_small_files(void **state)
{
    (void)state;
    size_t len;
    char *buf = slurp(DATA "t0/proc/net/dev", &len);
    metrics_net nets[8];
    size_t n = metrics_parse_netdev(buf, len, 0, nets, 8);
    assert_int_equal(n, 2); /* eth0 wg0; lo left out */
    assert_string_equal(nets[0].name, "eth0");
    assert_int_equal(nets[0].rx_bytes, 80033241);
    assert_int_equal(nets[0].rx_errs, 5);
    assert_int_equal(nets[0].rx_drop, 7);
    assert_int_equal(nets[0].tx_bytes, 148481);
    assert_int_equal(nets[0].tx_packets, 1509);
    assert_int_equal(nets[0].tx_drop, 2);
    assert_int_equal(metrics_parse_netdev(buf, len, 1, nets, 8), 3);
    assert_string_equal(nets[0].name, "lo");
    assert_int_equal(metrics_parse_netdev(buf, len, 1, nets, 1), 1); /* bounded */
    free(buf);
    /* an interface name glued to its first number */
    const char *glued = "h1\nh2\n  eth9:123 4 0 0 0 0 0 0 567 8 0 0 0 0 0 0\n";
    assert_int_equal(metrics_parse_netdev(glued, strlen(glued), 0, nets, 8), 1);
    assert_string_equal(nets[0].name, "eth9");
    assert_int_equal(nets[0].rx_bytes, 123);
    assert_int_equal(nets[0].tx_bytes, 567);

    double load[3];
    uint32_t threads;
    const char *la = "2.28 1.19 0.71 3/345 18625\n";
    assert_int_equal(metrics_parse_loadavg(la, strlen(la), load, &threads), 0);
    assert_true(fabs(load[0] - 2.28) < 1e-9 && fabs(load[2] - 0.71) < 1e-9);
    assert_int_equal(threads, 345);
    assert_int_equal(metrics_parse_loadavg("1 2", 3, load, &threads), -1);
    double up;
    assert_int_equal(metrics_parse_uptime("1000.50 1900.90\n", 16, &up), 0);
    assert_true(fabs(up - 1000.5) < 1e-9);

    buf = slurp(DATA "t1/proc/100/stat", &len);
    metrics_pid_stat st;
    assert_int_equal(metrics_parse_pid_stat(buf, len, &st), 0);
    assert_string_equal(st.comm, "my (weird) comm");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 1);
    assert_int_equal(st.utime, 525);
    assert_int_equal(st.stime, 325);
    assert_int_equal(st.threads, 4);
    assert_int_equal(st.starttime, 5000);
    assert_int_equal(st.vsize, 40960000);
    assert_int_equal(st.rss_pages, 1);
    free(buf);
    /* a real one: our own */
    char self[1024];
    int fd = open("/proc/self/stat", O_RDONLY);
    ssize_t r = read(fd, self, sizeof(self));
    close(fd);
    assert_true(r > 0);
    assert_int_equal(metrics_parse_pid_stat(self, (size_t)r, &st), 0);
    assert_int_equal(st.ppid, (uint32_t)getppid());
    assert_true(st.threads >= 1 && st.rss_pages > 0);
    uint64_t sz, res, sh;
    assert_int_equal(metrics_parse_statm("10000 2560 300 10 0 500 0\n", 26, &sz, &res, &sh), 0);
    assert_int_equal(res, 2560);
    assert_int_equal(metrics_parse_statm("12", 2, &sz, &res, &sh), -1);
}

/* Every prefix of every fixture file and random garbage through every
 * parser: nothing may crash or read past the end (run under ASan). */
static void test_parsers_hostile(void **state)
{
    (void)state;
    static const char *const files[] = {"t0/proc/stat",     "t0/proc/meminfo", "t0/proc/diskstats",
                                        "t0/proc/net/dev",  "t0/proc/loadavg", "t0/proc/uptime",
                                        "t1/proc/100/stat", "t0/proc/400/stat"};
    char names[2][METRICS_NAME_MAX] = {"vda", "sda"};
    metrics_snapshot *m = calloc(1, sizeof(*m));
    metrics_disk d[4];
    metrics_net nets[4];
    metrics_mem mem;
    metrics_pid_stat st;
    double load[3], up;
    uint32_t th;
    uint64_t a, b, c;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char path[256];
        snprintf(path, sizeof(path), DATA "%s", files[f]);
        size_t len;
        char *buf = slurp(path, &len);
        for (size_t cut = 0; cut <= len; cut++) {
            char *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
            memcpy(copy, buf, cut);
            metrics_parse_stat(copy, cut, m);
            metrics_parse_meminfo(copy, cut, &mem);
            metrics_parse_diskstats(copy, cut, names, 2, d, 4);
            metrics_parse_netdev(copy, cut, 1, nets, 4);
            metrics_parse_loadavg(copy, cut, load, &th);
            metrics_parse_uptime(copy, cut, &up);
            metrics_parse_pid_stat(copy, cut, &st);
            metrics_parse_statm(copy, cut, &a, &b, &c);
            free(copy);
        }
        free(buf);
    }
    srand(7);
    for (int i = 0; i < 3000; i++) {
        size_t n = (size_t)(rand() % 300);
        char *g = malloc(n ? n : 1);
        for (size_t k = 0; k < n; k++)
            g[k] = (char)(rand() % 4 == 0 ? "0123456789 \n:()/"[rand() % 17] : rand());
        metrics_parse_stat(g, n, m);
        metrics_parse_meminfo(g, n, &mem);
        metrics_parse_diskstats(g, n, names, 2, d, 4);
        metrics_parse_netdev(g, n, 1, nets, 4);
        metrics_parse_loadavg(g, n, load, &th);
        metrics_parse_pid_stat(g, n, &st);
        free(g);
    }
    /* a number longer than 64 bits saturates instead of wrapping */
    const char *big = "cpu  99999999999999999999999999 1 1 1\n";
    assert_int_equal(metrics_parse_stat(big, strlen(big), m), 0);
    assert_true(m->cpu_total.ticks[0] == UINT64_MAX);
    free(m);
}

/* A root symlink the sampler reads, switched from t0 to t1. */
static char *fixture_root(char dir[64], const char *which)
{
    char target[PATH_MAX], link[128];
    assert_non_null(realpath(DATA, target));
    strcat(target, "/");
    strcat(target, which);
    snprintf(link, sizeof(link), "%s/root", dir);
    unlink(link);
    assert_int_equal(symlink(target, link), 0);
    return dir;
}

static const metrics_disk *disk(const metrics_snapshot *m, const char *name)
{
    for (size_t i = 0; i < m->ndisks; i++)
        if (!strcmp(m->disks[i].name, name))
            return &m->disks[i];
    return NULL;
}

static const metrics_net *iface(const metrics_snapshot *m, const char *name)
{
    for (size_t i = 0; i < m->nifaces; i++)
        if (!strcmp(m->ifaces[i].name, name))
            return &m->ifaces[i];
    return NULL;
}

#define NEAR(x, y) assert_true(fabs((double)(x) - (double)(y)) < 1e-6 * (1 + fabs((double)(y))))

static void test_sampler_rates(void **state)
{
    (void)state;
    char dir[64] = "/tmp/oisp-metrics-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char root[128];
    snprintf(root, sizeof(root), "%s/root", dir);
    fixture_root(dir, "t0");
    metrics_sampler *s = metrics_sampler_new(root);
    assert_non_null(s);
    const metrics_snapshot *m;
    uint64_t t0 = 5 * SEC;
    assert_int_equal(metrics_sampler_sample(s, t0, &m), 0);
    assert_false(m->has_rates);
    assert_true(m->cpu_total.busy_pct == 0);
    assert_int_equal(m->ndisks, 4);
    fixture_root(dir, "t1");
    assert_int_equal(metrics_sampler_sample(s, t0 + SEC / 2, &m), 0);
    assert_true(m->has_rates);
    NEAR(m->interval_s, 0.5);

    NEAR(m->cpu_total.pct[METRICS_CPU_USER], 20);
    NEAR(m->cpu_total.pct[METRICS_CPU_SYSTEM], 10);
    NEAR(m->cpu_total.pct[METRICS_CPU_IDLE], 50);
    NEAR(m->cpu_total.pct[METRICS_CPU_IOWAIT], 20);
    NEAR(m->cpu_total.busy_pct, 30);
    NEAR(m->cpus[0].busy_pct, 100);
    NEAR(m->cpus[1].busy_pct, 0);
    NEAR(m->cpus[1].pct[METRICS_CPU_IOWAIT], 100.0 * 100 / 350);

    const metrics_disk *vda = disk(m, "vda");
    assert_non_null(vda);
    NEAR(vda->read_bps, 2 << 20);
    NEAR(vda->write_bps, 4 << 20);
    NEAR(vda->read_iops, 200);
    NEAR(vda->write_iops, 100);
    NEAR(vda->util_pct, 50);
    NEAR(disk(m, "nvme0n1")->util_pct, 100); /* 1000 ms busy in 500 ms: capped */
    const metrics_disk *sda = disk(m, "sda"); /* counters went backwards */
    assert_true(sda->read_bps == 0 && sda->write_bps == 0 && sda->read_iops == 0 &&
                sda->util_pct == 0);
    assert_null(disk(m, "sda1"));
    assert_null(disk(m, "loop0"));

    const metrics_net *eth = iface(m, "eth0");
    assert_non_null(eth);
    NEAR(eth->rx_bps, 1000000);
    NEAR(eth->rx_pps, 2000);
    NEAR(eth->rx_errs_ps, 4);
    NEAR(eth->rx_drop_ps, 8);
    NEAR(eth->tx_bps, 500000);
    NEAR(eth->tx_pps, 1000);
    NEAR(eth->tx_errs_ps, 2);
    NEAR(eth->tx_drop_ps, 6);
    const metrics_net *wg = iface(m, "wg0");
    assert_true(wg->rx_bps == 0 && wg->tx_bps == 0 && wg->rx_pps == 0);
    assert_null(iface(m, "lo"));

    NEAR(m->load1, 0.52);
    assert_int_equal(m->threads, 346);
    NEAR(m->uptime_s, 1000.5);
    assert_int_equal(m->processes, 3); /* 100 200 300; 400 is garbage */
    assert_int_equal(m->procs_blocked, 1);

    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    assert_true(m->ntop_cpu == 3 && m->ntop_rss == 3);
    assert_int_equal(m->top_cpu[0].pid, 100);
    assert_string_equal(m->top_cpu[0].comm, "my (weird) comm");
    NEAR(m->top_cpu[0].cpu_pct, 100.0 * 50 / 0.5 / (double)tck);
    assert_int_equal(m->top_cpu[1].pid, 200); /* born after the first sample */
    NEAR(m->top_cpu[1].cpu_pct, 100.0 * 10 / 0.5 / (double)tck);
    NEAR(m->top_cpu[2].cpu_pct, 0);
    assert_int_equal(m->top_rss[0].pid, 300);
    assert_int_equal(m->top_rss[0].rss_bytes, 25600ull * (uint64_t)page);
    assert_int_equal(m->top_rss[1].pid, 100);
    assert_int_equal(m->top_rss[1].rss_bytes, 2560ull * (uint64_t)page); /* statm, not stat */
    assert_int_equal(m->top_rss[1].shared_bytes, 300ull * (uint64_t)page);

    /* back to t0: every counter goes backwards; no negative or huge rate */
    fixture_root(dir, "t0");
    assert_int_equal(metrics_sampler_sample(s, t0 + SEC, &m), 0);
    assert_true(m->cpu_total.busy_pct == 0 && disk(m, "vda")->write_bps == 0 &&
                iface(m, "eth0")->rx_bps == 0);
    for (size_t i = 0; i < m->ntop_cpu; i++)
        assert_true(m->top_cpu[i].cpu_pct >= 0 && m->top_cpu[i].cpu_pct < 1e6);
    /* the same clock reading twice: no division by zero */
    assert_int_equal(metrics_sampler_sample(s, t0 + SEC, &m), 0);
    assert_false(m->has_rates);

    metrics_sampler_set_top_n(s, 1);
    fixture_root(dir, "t1");
    assert_int_equal(metrics_sampler_sample(s, t0 + 2 * SEC, &m), 0);
    assert_int_equal(m->ntop_cpu, 1);
    metrics_sampler_free(s);
    unlink(root);
    rmdir(dir);

    /* a root without /proc */
    s = metrics_sampler_new("/nonexistent-oisp");
    assert_int_equal(metrics_sampler_sample(s, SEC, &m), -1);
    metrics_sampler_free(s);
}

/* Every line of the exposition is a comment or `name{labels} value`; each
 * metric has HELP and TYPE before its samples. */
static void check_exposition(const char *text)
{
    regex_t sample, help, type;
    assert_int_equal(regcomp(&sample,
                             "^(oisp_[a-z0-9_]+)(\\{([a-z_]+=\"([^\"\\\\]|\\\\.)*\",?)+\\})? "
                             "[-+0-9.eEinfaN]+$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regcomp(&help, "^# HELP (oisp_[a-z0-9_]+) .+$", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&type, "^# TYPE (oisp_[a-z0-9_]+) (gauge|counter)$", REG_EXTENDED),
                     0);
    char *copy = strdup(text), *save = NULL;
    char current[128] = "";
    int lines = 0;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
        regmatch_t mt[2];
        if (regexec(&help, l, 2, mt, 0) == 0) {
            snprintf(current, sizeof(current), "%.*s", (int)(mt[1].rm_eo - mt[1].rm_so),
                     l + mt[1].rm_so);
            continue;
        }
        if (regexec(&type, l, 2, mt, 0) == 0) {
            assert_int_equal(strncmp(l + mt[1].rm_so, current, strlen(current)), 0);
            continue;
        }
        if (regexec(&sample, l, 2, mt, 0) != 0)
            fail_msg("bad exposition line: %s", l);
        assert_int_equal((size_t)(mt[1].rm_eo - mt[1].rm_so), strlen(current));
        assert_int_equal(strncmp(l, current, strlen(current)), 0);
    }
    assert_true(lines > 50);
    free(copy);
    regfree(&sample);
    regfree(&help);
    regfree(&type);
}

static void test_outputs(void **state)
{
    (void)state;
    char dir[64] = "/tmp/oisp-metrics-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char root[128];
    snprintf(root, sizeof(root), "%s/root", dir);
    fixture_root(dir, "t0");
    metrics_sampler *s = metrics_sampler_new(root);
    const metrics_snapshot *m;
    metrics_sampler_sample(s, SEC, &m);
    fixture_root(dir, "t1");
    metrics_sampler_sample(s, SEC + SEC / 2, &m);

    json_t *j = metrics_to_json(m);
    assert_true(fabs(json_real_value(json_object_get(json_object_get(j, "cpu"), "busy_pct")) - 30) <
                1e-9);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "cpu"), "cores")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "disks")), 4);
    json_t *top = json_array_get(json_object_get(j, "top_cpu"), 0);
    assert_string_equal(json_string_value(json_object_get(top, "name")), "my (weird) comm");
    assert_int_equal(json_integer_value(json_object_get(j, "processes")), 3);
    json_decref(j);

    metrics_buf b;
    metrics_buf_init(&b, 0);
    metrics_prometheus(m, &b);
    metrics_prometheus_self(&b);
    json_t *counters = json_pack("{si s{si} ss}", "events", 7, "drops", "ring", 2, "mode", "x");
    metrics_prometheus_json(&b, "oisp_sensor_fanotify", counters, NULL);
    json_decref(counters);
    assert_false(b.failed);
    check_exposition(b.p);
    assert_non_null(strstr(b.p, "oisp_host_cpu_seconds_total{cpu=\"0\",mode=\"user\"} "));
    assert_non_null(strstr(b.p, "oisp_host_disk_write_bytes_per_second{device=\"vda\"} 4194304\n"));
    assert_non_null(strstr(b.p, "oisp_host_network_receive_errors_total{interface=\"eth0\"} 7\n"));
    assert_non_null(strstr(b.p, "comm=\"my (weird) comm\""));
    assert_non_null(strstr(b.p, "oisp_sensor_fanotify_drops_ring 2\n"));
    assert_non_null(strstr(b.p, "oisp_sensor_process_resident_memory_bytes "));
    metrics_buf_free(&b);

    /* the size cap holds */
    metrics_buf_init(&b, 1000);
    metrics_prometheus(m, &b);
    assert_true(b.failed && b.len < 1000);
    metrics_buf_free(&b);

    metrics_sampler_free(s);
    unlink(root);
    rmdir(dir);
}

/* ---- live checks on this host ---- */

static const metrics_snapshot *sample_after(metrics_sampler *s, double sec)
{
    usleep((useconds_t)(sec * 1e6));
    const metrics_snapshot *m;
    assert_int_equal(metrics_sampler_sample(s, mono_ns(), &m), 0);
    return m;
}

static void test_live_busy_core(void **state)
{
    (void)state;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int core = (int)(ncpu - 1);
    pid_t child = fork();
    if (child == 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(core, &set);
        sched_setaffinity(0, sizeof(set), &set);
        for (volatile unsigned long i = 0;; i++) {
        }
    }
    metrics_sampler *s = metrics_sampler_new(NULL);
    metrics_sampler_set_top_n(s, METRICS_TOP_MAX);
    const metrics_snapshot *m;
    metrics_sampler_sample(s, mono_ns(), &m);
    m = sample_after(s, 1.0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    const metrics_cpu *c = NULL;
    for (size_t i = 0; i < m->ncpu; i++)
        if (m->cpus[i].id == core)
            c = &m->cpus[i];
    assert_non_null(c);
    print_message("core %d busy %.1f%%, total %.1f%%\n", core, c->busy_pct, m->cpu_total.busy_pct);
    assert_true(c->busy_pct > 60);
    double child_pct = -1;
    for (size_t i = 0; i < m->ntop_cpu; i++)
        if (m->top_cpu[i].pid == (uint32_t)child)
            child_pct = m->top_cpu[i].cpu_pct;
    print_message("busy loop process: %.1f%% of one core\n", child_pct);
    assert_true(child_pct > 40 && child_pct < 110);
    metrics_sampler_free(s);
}

static void test_live_disk_write(void **state)
{
    (void)state;
    metrics_sampler *s = metrics_sampler_new(NULL);
    metrics_sampler_set_procs(s, 0);
    const metrics_snapshot *m;
    metrics_sampler_sample(s, mono_ns(), &m);
    if (m->ndisks == 0) {
        metrics_sampler_free(s);
        skip();
    }
    uint64_t before = 0;
    for (size_t i = 0; i < m->ndisks; i++)
        before += m->disks[i].sectors_written;
    /* like dd if=/dev/zero of=FILE bs=1M count=32 conv=fsync */
    char path[] = "/var/tmp/oisp-metrics-dd-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *buf = calloc(1, 1 << 20);
    for (int i = 0; i < 32; i++) {
        buf[0] = (char)i;
        assert_int_equal(write(fd, buf, 1 << 20), 1 << 20);
    }
    assert_int_equal(fsync(fd), 0);
    close(fd);
    unlink(path);
    free(buf);
    m = sample_after(s, 0.1);
    uint64_t after = 0;
    double bps = 0;
    for (size_t i = 0; i < m->ndisks; i++) {
        after += m->disks[i].sectors_written;
        bps += m->disks[i].write_bps;
    }
    print_message("disk writes: +%.1f MiB, %.1f MiB/s\n", (double)(after - before) * 512 / (1 << 20),
                  bps / (1 << 20));
    if (after - before == 0) {
        /* /var/tmp not on a listed physical disk (e.g. tmpfs, overlay on a dm device) */
        metrics_sampler_free(s);
        skip();
    }
    assert_true((after - before) * 512 >= 30ull << 20);
    assert_true(bps > 0);
    metrics_sampler_free(s);
}

static void test_live_loopback(void **state)
{
    (void)state;
    metrics_sampler *s = metrics_sampler_new(NULL);
    metrics_sampler_set_procs(s, 0);
    const metrics_snapshot *m;
    metrics_sampler_sample(s, mono_ns(), &m);
    assert_null(iface(m, "lo")); /* not included by default */
    metrics_sampler_set_include_lo(s, 1);
    m = sample_after(s, 0.05);
    const metrics_net *lo = iface(m, "lo");
    assert_non_null(lo);
    uint64_t before = lo->rx_bytes;

    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    listen(l, 1);
    getsockname(l, (struct sockaddr *)&a, &al);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    int srv = accept(l, NULL, NULL);
    char *buf = calloc(1, 1 << 16);
    size_t total = 0;
    while (total < (8u << 20)) {
        ssize_t w = write(c, buf, 1 << 16);
        assert_true(w > 0);
        total += (size_t)w;
        for (ssize_t got = 0; got < w;) {
            ssize_t r = read(srv, buf, 1 << 16);
            assert_true(r > 0);
            got += r;
        }
    }
    close(c);
    close(srv);
    close(l);
    free(buf);
    m = sample_after(s, 0.05);
    lo = iface(m, "lo");
    print_message("lo: +%.1f MiB, %.1f MiB/s\n", (double)(lo->rx_bytes - before) / (1 << 20),
                  lo->rx_bps / (1 << 20));
    assert_true(lo->rx_bytes - before >= 8u << 20);
    assert_true(lo->rx_bps > 1e6);
    metrics_sampler_free(s);
}

int main(void)
{
    clock_sync();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_stat),      cmocka_unit_test(test_parse_meminfo),
        cmocka_unit_test(test_disk_names),      cmocka_unit_test(test_parse_small_files),
        cmocka_unit_test(test_parsers_hostile), cmocka_unit_test(test_sampler_rates),
        cmocka_unit_test(test_outputs),         cmocka_unit_test(test_live_busy_core),
        cmocka_unit_test(test_live_disk_write), cmocka_unit_test(test_live_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* metrics.c: host metrics from /proc and /sys (see metrics.h).
 *
 * How it works.  Each file is read whole with open/read/close into one
 * buffer the sampler owns (files larger than it are cut, and the cut line
 * is ignored), then parsed with a small bounded cursor: no stdio, no
 * strtoull past the end of the data.  The sampler holds two snapshots and
 * flips between them, so the previous counters are always at hand; rates
 * are (current - previous) / dt with dt from CLOCK_MONOTONIC, and a
 * counter lower than before restarts (rate 0 for that interval).
 *
 * Processes: /proc is listed once per sample; for each pid, /proc/PID/stat
 * gives comm, state, CPU ticks, threads and RSS.  CPU use is the tick delta
 * against the same (pid, start time) in the previous sample, kept in an
 * array sorted by pid (binary search); a process started since the previous
 * sample counts all its ticks.  The top N by CPU and by RSS are
 * kept while scanning; only those few then read /proc/PID/statm for exact
 * resident, virtual and shared sizes.  A process that vanishes mid-read is
 * simply skipped. */
#include "host/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF_SIZE (512u << 10) /* /proc/stat with 1024 CPUs is ~100 KiB */
#define PATH_LEN      512

const char *const metrics_cpu_field_names[METRICS_CPU_NFIELDS] = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};

/* ------------------------------------------------------------------------ */
/* A bounded cursor over file contents. */

typedef struct cur {
    const char *p, *end;
} cur;

static int is_sp(char c) { return c == ' ' || c == '\t'; }

static void skip_sp(cur *c)
{
    while (c->p < c->end && is_sp(*c->p))
        c->p++;
}

static void next_line(cur *c)
{
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    c->p = nl ? nl + 1 : c->end;
}

/* The end of the current line (exclusive). */
static const char *line_end(const cur *c)
{
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    return nl ? nl : c->end;
}

/* Unsigned decimal after optional blanks; saturates instead of wrapping.
 * Returns 1 if a digit was read. */
static int parse_u64(cur *c, uint64_t *v)
{
    skip_sp(c);
    uint64_t x = 0;
    const char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p - '0');
        x = (x > (UINT64_MAX - d) / 10) ? UINT64_MAX : x * 10 + d;
        c->p++;
    }
    *v = x;
    return c->p > s;
}

/* A non-negative decimal with optional fraction ("0.52", "12345.67"). */
static int parse_udouble(cur *c, double *v)
{
    uint64_t ip;
    if (!parse_u64(c, &ip))
        return 0;
    double x = (double)ip;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        double scale = 0.1;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            x += (*c->p - '0') * scale;
            scale /= 10;
            c->p++;
        }
    }
    *v = x;
    return 1;
}

/* Skips one blank-separated token (any bytes). Returns 1 if there was one. */
static int skip_token(cur *c)
{
    skip_sp(c);
    const char *s = c->p;
    while (c->p < c->end && !is_sp(*c->p) && *c->p != '\n')
        c->p++;
    return c->p > s;
}

/* Copies a token ending at a blank, newline or `stop` into out (cut to fit). */
static size_t read_token(cur *c, char stop, char *out, size_t n)
{
    skip_sp(c);
    size_t k = 0;
    while (c->p < c->end && !is_sp(*c->p) && *c->p != '\n' && *c->p != stop) {
        if (k + 1 < n)
            out[k++] = *c->p;
        c->p++;
    }
    out[k] = 0;
    return k;
}

static int starts_with(const cur *c, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(c->end - c->p) >= n && memcmp(c->p, lit, n) == 0;
}

/* ------------------------------------------------------------------------ */
/* Parsers. */

static void parse_cpu_fields(cur *c, uint64_t t[METRICS_CPU_NFIELDS])
{
    for (int i = 0; i < METRICS_CPU_NFIELDS; i++)
        if (!parse_u64(c, &t[i]))
            t[i] = 0; /* older kernels have fewer columns */
}

int metrics_parse_stat(const char *buf, size_t len, metrics_snapshot *m)
{
    cur c = {buf, buf + len};
    int have_total = 0;
    m->ncpu = 0;
    while (c.p < c.end) {
        if (starts_with(&c, "cpu ")) {
            c.p += 4;
            m->cpu_total.id = -1;
            parse_cpu_fields(&c, m->cpu_total.ticks);
            have_total = 1;
        } else if (starts_with(&c, "cpu") && c.p + 3 < c.end && c.p[3] >= '0' && c.p[3] <= '9') {
            c.p += 3;
            uint64_t id;
            parse_u64(&c, &id);
            if (m->ncpu < METRICS_MAX_CPUS && id < 1u << 20) {
                metrics_cpu *k = &m->cpus[m->ncpu++];
                memset(k, 0, sizeof(*k));
                k->id = (int)id;
                parse_cpu_fields(&c, k->ticks);
            }
        } else if (starts_with(&c, "ctxt ")) {
            c.p += 5;
            parse_u64(&c, &m->ctxt);
        } else if (starts_with(&c, "processes ")) {
            c.p += 10;
            parse_u64(&c, &m->forks);
        } else if (starts_with(&c, "procs_running ")) {
            uint64_t v = 0;
            c.p += 14;
            parse_u64(&c, &v);
            m->procs_running = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        } else if (starts_with(&c, "procs_blocked ")) {
            uint64_t v = 0;
            c.p += 14;
            parse_u64(&c, &v);
            m->procs_blocked = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        }
        next_line(&c);
    }
    return have_total ? 0 : -1;
}

int metrics_parse_meminfo(const char *buf, size_t len, metrics_mem *mem)
{
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"MemTotal", offsetof(metrics_mem, total)},
        {"MemFree", offsetof(metrics_mem, free)},
        {"MemAvailable", offsetof(metrics_mem, available)},
        {"Buffers", offsetof(metrics_mem, buffers)},
        {"Cached", offsetof(metrics_mem, cached)},
        {"SwapTotal", offsetof(metrics_mem, swap_total)},
        {"SwapFree", offsetof(metrics_mem, swap_free)},
    };
    cur c = {buf, buf + len};
    int have_total = 0, have_avail = 0;
    memset(mem, 0, sizeof(*mem));
    while (c.p < c.end) {
        const char *colon = memchr(c.p, ':', (size_t)(line_end(&c) - c.p));
        if (colon) {
            size_t klen = (size_t)(colon - c.p);
            for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                if (strlen(keys[i].key) != klen || memcmp(keys[i].key, c.p, klen) != 0)
                    continue;
                cur v = {colon + 1, line_end(&c)};
                uint64_t x;
                if (!parse_u64(&v, &x))
                    break;
                skip_sp(&v);
                if (v.end - v.p >= 2 && v.p[0] == 'k' && v.p[1] == 'B')
                    x = x > UINT64_MAX / 1024 ? UINT64_MAX : x * 1024;
                *(uint64_t *)((char *)mem + keys[i].off) = x;
                have_total |= i == 0;
                have_avail |= i == 2;
                break;
            }
        }
        next_line(&c);
    }
    if (!have_avail) /* kernels before 3.14 */
        mem->available = mem->free + mem->buffers + mem->cached;
    if (mem->available > mem->total)
        mem->available = mem->total;
    mem->used = mem->total - mem->available;
    mem->swap_used = mem->swap_total > mem->swap_free ? mem->swap_total - mem->swap_free : 0;
    return have_total ? 0 : -1;
}

static int name_in(const char *name, char (*names)[METRICS_NAME_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

size_t metrics_parse_diskstats(const char *buf, size_t len, char (*names)[METRICS_NAME_MAX],
                               size_t nnames, metrics_disk *out, size_t max)
{
    cur c = {buf, buf + len};
    size_t n = 0;
    for (; c.p < c.end && n < max; next_line(&c)) {
        cur l = {c.p, line_end(&c)};
        uint64_t major, minor, f[10];
        char name[METRICS_NAME_MAX];
        if (!parse_u64(&l, &major) || !parse_u64(&l, &minor))
            continue;
        if (read_token(&l, 0, name, sizeof(name)) == 0 || !name_in(name, names, nnames))
            continue;
        int ok = 1;
        for (int i = 0; i < 10 && ok; i++)
            ok = parse_u64(&l, &f[i]);
        if (!ok)
            continue;
        metrics_disk *d = &out[n++];
        memset(d, 0, sizeof(*d));
        memcpy(d->name, name, sizeof(name));
        d->reads = f[0];
        d->sectors_read = f[2];
        d->writes = f[4];
        d->sectors_written = f[6];
        d->io_ticks_ms = f[9];
    }
    return n;
}

size_t metrics_parse_netdev(const char *buf, size_t len, int include_lo, metrics_net *out,
                            size_t max)
{
    cur c = {buf, buf + len};
    size_t n = 0;
    for (; c.p < c.end && n < max; next_line(&c)) {
        const char *le = line_end(&c);
        const char *colon = memchr(c.p, ':', (size_t)(le - c.p));
        if (!colon) /* the two header lines have none */
            continue;
        cur name_c = {c.p, colon};
        char name[METRICS_NAME_MAX];
        if (read_token(&name_c, ':', name, sizeof(name)) == 0)
            continue;
        if (!include_lo && strcmp(name, "lo") == 0)
            continue;
        cur l = {colon + 1, le};
        uint64_t f[16];
        int ok = 1;
        for (int i = 0; i < 16 && ok; i++)
            ok = parse_u64(&l, &f[i]);
        if (!ok)
            continue;
        metrics_net *d = &out[n++];
        memset(d, 0, sizeof(*d));
        memcpy(d->name, name, sizeof(name));
        d->rx_bytes = f[0];
        d->rx_packets = f[1];
        d->rx_errs = f[2];
        d->rx_drop = f[3];
        d->tx_bytes = f[8];
        d->tx_packets = f[9];
        d->tx_errs = f[10];
        d->tx_drop = f[11];
    }
    return n;
}

int metrics_parse_loadavg(const char *buf, size_t len, double load[3], uint32_t *threads)
{
    cur c = {buf, buf + len};
    for (int i = 0; i < 3; i++)
        if (!parse_udouble(&c, &load[i]))
            return -1;
    uint64_t running, total;
    if (!parse_u64(&c, &running) || c.p >= c.end || *c.p != '/')
        return -1;
    c.p++;
    if (!parse_u64(&c, &total))
        return -1;
    *threads = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
    return 0;
}

int metrics_parse_uptime(const char *buf, size_t len, double *uptime_s)
{
    cur c = {buf, buf + len};
    return parse_udouble(&c, uptime_s) ? 0 : -1;
}

int metrics_parse_pid_stat(const char *buf, size_t len, metrics_pid_stat *st)
{
    const char *open = memchr(buf, '(', len);
    if (!open)
        return -1;
    const char *close = NULL;
    for (const char *p = buf + len; p > open;) /* the last ')': comm may hold one */
        if (*--p == ')') {
            close = p;
            break;
        }
    if (!close)
        return -1;
    memset(st, 0, sizeof(*st));
    size_t clen = (size_t)(close - open - 1);
    if (clen >= sizeof(st->comm))
        clen = sizeof(st->comm) - 1;
    memcpy(st->comm, open + 1, clen);
    st->comm[clen] = 0;
    cur c = {close + 1, buf + len};
    skip_sp(&c);
    if (c.p >= c.end)
        return -1;
    st->state = *c.p++;
    /* fields after state, 1-based: ppid(1) pgrp session tty_nr tpgid flags
     * minflt cminflt majflt cmajflt utime(11) stime(12) cutime cstime
     * priority nice num_threads(17) itrealvalue starttime(19) vsize(20) rss(21) */
    uint64_t v;
    for (int i = 1; i <= 21; i++) {
        int want = i == 1 || i == 11 || i == 12 || i == 17 || i >= 19;
        if (!want) {
            if (!skip_token(&c)) /* may be negative (priority, nice, cutime) */
                return -1;
            continue;
        }
        if (!parse_u64(&c, &v))
            return -1;
        switch (i) {
        case 1: st->ppid = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v; break;
        case 11: st->utime = v; break;
        case 12: st->stime = v; break;
        case 17: st->threads = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v; break;
        case 19: st->starttime = v; break;
        case 20: st->vsize = v; break;
        default: st->rss_pages = v; break;
        }
    }
    return 0;
}

int metrics_parse_statm(const char *buf, size_t len, uint64_t *size, uint64_t *resident,
                        uint64_t *shared)
{
    cur c = {buf, buf + len};
    return parse_u64(&c, size) && parse_u64(&c, resident) && parse_u64(&c, shared) ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Disks. */

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* "sda", "vdb", "xvdaa": letters only after the prefix. */
static int letters_after(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0 || !s[n])
        return 0;
    for (s += n; *s; s++)
        if (*s < 'a' || *s > 'z')
            return 0;
    return 1;
}

int metrics_disk_name_ok(const char *name)
{
    if (letters_after(name, "sd") || letters_after(name, "vd") || letters_after(name, "xvd"))
        return 1;
    if (strncmp(name, "mmcblk", 6) == 0) /* mmcblk0, not mmcblk0p1/boot0/rpmb */
        return all_digits(name + 6);
    if (strncmp(name, "nvme", 4) == 0) { /* nvme0n1, not nvme0n1p1 or nvme0c0n1 */
        const char *p = name + 4;
        const char *n = strchr(p, 'n');
        if (!n || n == p)
            return 0;
        char ctrl[16];
        size_t cl = (size_t)(n - p);
        if (cl >= sizeof(ctrl))
            return 0;
        memcpy(ctrl, p, cl);
        ctrl[cl] = 0;
        return all_digits(ctrl) && all_digits(n + 1);
    }
    return 0;
}

size_t metrics_list_disks(const char *root, char (*names)[METRICS_NAME_MAX], size_t max)
{
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "%s/sys/block", root);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= METRICS_NAME_MAX)
            continue;
        if (!metrics_disk_name_ok(e->d_name))
            continue;
        char dev[PATH_LEN];
        struct stat st;
        snprintf(dev, sizeof(dev), "%s/device", e->d_name);
        if (fstatat(dirfd(d), dev, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* no backing device: virtual */
        snprintf(names[n++], METRICS_NAME_MAX, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------------ */
/* The sampler. */

typedef struct proc_prev {
    uint32_t pid;
    uint64_t starttime, ticks;
} proc_prev;

struct metrics_sampler {
    char root[PATH_LEN - 64];
    int include_lo, want_procs;
    size_t top_n;
    long clk_tck, page_size;
    char *buf;
    metrics_snapshot *snap[2];
    int cur;                      /* index of the newest snapshot */
    int nsamples;
    proc_prev *prev, *next;       /* sorted by pid */
    size_t nprev, nnext, proc_cap;
    char disk_names[METRICS_MAX_DISKS][METRICS_NAME_MAX];
};

metrics_sampler *metrics_sampler_new(const char *root)
{
    metrics_sampler *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->root, sizeof(s->root), "%s", root && *root ? root : "/");
    size_t rl = strlen(s->root);
    if (rl > 1 && s->root[rl - 1] == '/')
        s->root[rl - 1] = 0;
    else if (rl == 1)
        s->root[0] = 0; /* "/" -> "" so paths read "/proc/stat" */
    s->want_procs = 1;
    s->top_n = 10;
    s->clk_tck = sysconf(_SC_CLK_TCK);
    if (s->clk_tck <= 0)
        s->clk_tck = 100;
    s->page_size = sysconf(_SC_PAGESIZE);
    if (s->page_size <= 0)
        s->page_size = 4096;
    s->buf = malloc(READ_BUF_SIZE);
    s->snap[0] = calloc(1, sizeof(metrics_snapshot));
    s->snap[1] = calloc(1, sizeof(metrics_snapshot));
    if (!s->buf || !s->snap[0] || !s->snap[1]) {
        metrics_sampler_free(s);
        return NULL;
    }
    return s;
}

void metrics_sampler_free(metrics_sampler *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s->snap[0]);
    free(s->snap[1]);
    free(s->prev);
    free(s->next);
    free(s);
}

void metrics_sampler_set_include_lo(metrics_sampler *s, int include_lo) { s->include_lo = include_lo; }
void metrics_sampler_set_procs(metrics_sampler *s, int on) { s->want_procs = on; }

void metrics_sampler_set_top_n(metrics_sampler *s, size_t n)
{
    s->top_n = n > METRICS_TOP_MAX ? METRICS_TOP_MAX : n;
}

/* Reads a whole small file relative to dirfd into buf (cut at cap-1 bytes,
 * NUL-terminated).  Returns the length, or -1. */
static ssize_t read_at(int dirfd, const char *path, char *buf, size_t cap)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0 && got == 0) {
                close(fd);
                return -1;
            }
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    return (ssize_t)got;
}

static ssize_t read_root(metrics_sampler *s, const char *rel, char *buf, size_t cap)
{
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "%s/%s", s->root, rel);
    return read_at(AT_FDCWD, path, buf, cap);
}

/* (cur - prev) / dt, or 0 if the counter went backwards (restart). */
static double rate(uint64_t cur, uint64_t prev, double dt)
{
    if (cur < prev || dt <= 0)
        return 0;
    return (double)(cur - prev) / dt;
}

static void cpu_rates(metrics_cpu *c, const metrics_cpu *prev)
{
    uint64_t d[METRICS_CPU_NFIELDS], total = 0;
    for (int i = 0; i < METRICS_CPU_NFIELDS; i++) {
        if (c->ticks[i] < prev->ticks[i])
            return; /* reset (CPU hot-plugged back): restart from here */
        d[i] = c->ticks[i] - prev->ticks[i];
        total += d[i];
    }
    if (total == 0)
        return;
    for (int i = 0; i < METRICS_CPU_NFIELDS; i++)
        c->pct[i] = 100.0 * (double)d[i] / (double)total;
    c->busy_pct = 100.0 - c->pct[METRICS_CPU_IDLE] - c->pct[METRICS_CPU_IOWAIT];
    if (c->busy_pct < 0)
        c->busy_pct = 0;
}

static const metrics_cpu *find_cpu(const metrics_snapshot *p, int id, size_t hint)
{
    if (hint < p->ncpu && p->cpus[hint].id == id)
        return &p->cpus[hint];
    for (size_t i = 0; i < p->ncpu; i++)
        if (p->cpus[i].id == id)
            return &p->cpus[i];
    return NULL;
}

static void sample_cpu(metrics_sampler *s, metrics_snapshot *m, const metrics_snapshot *p)
{
    if (!m->has_rates)
        return;
    cpu_rates(&m->cpu_total, &p->cpu_total);
    for (size_t i = 0; i < m->ncpu; i++) {
        const metrics_cpu *pc = find_cpu(p, m->cpus[i].id, i);
        if (pc)
            cpu_rates(&m->cpus[i], pc);
    }
    (void)s;
}

static void sample_disks(metrics_sampler *s, metrics_snapshot *m, const metrics_snapshot *p,
                         double dt)
{
    size_t nn = metrics_list_disks(s->root, s->disk_names, METRICS_MAX_DISKS);
    ssize_t len = read_root(s, "proc/diskstats", s->buf, READ_BUF_SIZE);
    m->ndisks = len > 0 ? metrics_parse_diskstats(s->buf, (size_t)len, s->disk_names, nn,
                                                  m->disks, METRICS_MAX_DISKS)
                        : 0;
    if (!m->has_rates)
        return;
    for (size_t i = 0; i < m->ndisks; i++) {
        metrics_disk *d = &m->disks[i];
        const metrics_disk *o = NULL;
        for (size_t j = 0; j < p->ndisks && !o; j++)
            if (strcmp(p->disks[j].name, d->name) == 0)
                o = &p->disks[j];
        if (!o)
            continue;
        d->read_bps = rate(d->sectors_read, o->sectors_read, dt) * 512;
        d->write_bps = rate(d->sectors_written, o->sectors_written, dt) * 512;
        d->read_iops = rate(d->reads, o->reads, dt);
        d->write_iops = rate(d->writes, o->writes, dt);
        d->util_pct = rate(d->io_ticks_ms, o->io_ticks_ms, dt) / 10.0; /* ms/s -> % */
        if (d->util_pct > 100)
            d->util_pct = 100;
    }
}

static void sample_net(metrics_sampler *s, metrics_snapshot *m, const metrics_snapshot *p,
                       double dt)
{
    ssize_t len = read_root(s, "proc/net/dev", s->buf, READ_BUF_SIZE);
    m->nifaces = len > 0 ? metrics_parse_netdev(s->buf, (size_t)len, s->include_lo, m->ifaces,
                                                METRICS_MAX_IFACES)
                         : 0;
    if (!m->has_rates)
        return;
    for (size_t i = 0; i < m->nifaces; i++) {
        metrics_net *d = &m->ifaces[i];
        const metrics_net *o = NULL;
        for (size_t j = 0; j < p->nifaces && !o; j++)
            if (strcmp(p->ifaces[j].name, d->name) == 0)
                o = &p->ifaces[j];
        if (!o)
            continue;
        d->rx_bps = rate(d->rx_bytes, o->rx_bytes, dt);
        d->tx_bps = rate(d->tx_bytes, o->tx_bytes, dt);
        d->rx_pps = rate(d->rx_packets, o->rx_packets, dt);
        d->tx_pps = rate(d->tx_packets, o->tx_packets, dt);
        d->rx_errs_ps = rate(d->rx_errs, o->rx_errs, dt);
        d->tx_errs_ps = rate(d->tx_errs, o->tx_errs, dt);
        d->rx_drop_ps = rate(d->rx_drop, o->rx_drop, dt);
        d->tx_drop_ps = rate(d->tx_drop, o->tx_drop, dt);
    }
}

/* Inserts p into the top list ordered by key (descending), keeping n. */
static void top_insert(metrics_proc *top, size_t *count, size_t n, const metrics_proc *p,
                       int by_rss)
{
    if (n == 0)
        return;
    size_t i = *count;
    while (i > 0) {
        const metrics_proc *q = &top[i - 1];
        int before = by_rss ? p->rss_bytes > q->rss_bytes : p->cpu_pct > q->cpu_pct;
        if (!before)
            break;
        i--;
    }
    if (i >= n)
        return;
    size_t last = *count < n ? *count : n - 1;
    memmove(&top[i + 1], &top[i], (last - i) * sizeof(*top));
    top[i] = *p;
    if (*count < n)
        (*count)++;
}

static int cmp_rss(const void *a, const void *b)
{
    uint64_t x = ((const metrics_proc *)a)->rss_bytes, y = ((const metrics_proc *)b)->rss_bytes;
    return x > y ? -1 : x < y;
}

static const proc_prev *find_prev(const metrics_sampler *s, uint32_t pid)
{
    size_t lo = 0, hi = s->nprev;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->prev[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nprev && s->prev[lo].pid == pid ? &s->prev[lo] : NULL;
}

static int cmp_prev(const void *a, const void *b)
{
    uint32_t x = ((const proc_prev *)a)->pid, y = ((const proc_prev *)b)->pid;
    return x < y ? -1 : x > y;
}

static int push_next(metrics_sampler *s, const proc_prev *e)
{
    if (s->nnext == s->proc_cap) {
        if (s->proc_cap >= METRICS_MAX_PROCS)
            return -1;
        size_t cap = s->proc_cap ? s->proc_cap * 2 : 1024;
        proc_prev *a = realloc(s->prev, cap * sizeof(*a));
        if (!a)
            return -1;
        s->prev = a;
        proc_prev *b = realloc(s->next, cap * sizeof(*b));
        if (!b)
            return -1;
        s->next = b;
        s->proc_cap = cap;
    }
    s->next[s->nnext++] = *e;
    return 0;
}

/* statm for the few top processes: exact resident/virtual/shared sizes. */
static void refine_top(metrics_sampler *s, int procfd, metrics_proc *top, size_t n)
{
    char path[32], buf[256];
    for (size_t i = 0; i < n; i++) {
        uint64_t size, res, shared;
        snprintf(path, sizeof(path), "%u/statm", top[i].pid);
        ssize_t len = read_at(procfd, path, buf, sizeof(buf));
        if (len > 0 && metrics_parse_statm(buf, (size_t)len, &size, &res, &shared) == 0) {
            top[i].vsz_bytes = size * (uint64_t)s->page_size;
            top[i].rss_bytes = res * (uint64_t)s->page_size;
            top[i].shared_bytes = shared * (uint64_t)s->page_size;
        }
    }
}

static void sample_procs(metrics_sampler *s, metrics_snapshot *m, double dt, double prev_uptime)
{
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "%s/proc", s->root);
    int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return;
    DIR *d = fdopendir(dup(procfd));
    if (!d) {
        close(procfd);
        return;
    }
    s->nnext = 0;
    uint32_t nproc = 0;
    struct dirent *e;
    char buf[1024], rel[32];
    while ((e = readdir(d)) != NULL && nproc < METRICS_MAX_PROCS) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || !all_digits(e->d_name))
            continue;
        unsigned long pid = strtoul(e->d_name, NULL, 10);
        if (pid == 0 || pid > UINT32_MAX)
            continue;
        snprintf(rel, sizeof(rel), "%lu/stat", pid);
        ssize_t len = read_at(procfd, rel, buf, sizeof(buf));
        metrics_pid_stat st;
        if (len <= 0 || metrics_parse_pid_stat(buf, (size_t)len, &st) != 0)
            continue; /* gone, or a kernel we do not understand */
        nproc++;
        proc_prev cur = {(uint32_t)pid, st.starttime, st.utime + st.stime};
        push_next(s, &cur);
        metrics_proc p = {.pid = (uint32_t)pid, .ppid = st.ppid, .threads = st.threads,
                          .state = st.state, .vsz_bytes = st.vsize,
                          .rss_bytes = st.rss_pages * (uint64_t)s->page_size};
        memcpy(p.comm, st.comm, sizeof(p.comm));
        const proc_prev *o = m->has_rates ? find_prev(s, cur.pid) : NULL;
        if (o && o->starttime == cur.starttime && dt > 0)
            p.cpu_pct = 100.0 * rate(cur.ticks, o->ticks, dt) / (double)s->clk_tck;
        else if (m->has_rates && dt > 0 && prev_uptime > 0 &&
                 (double)cur.starttime / (double)s->clk_tck >= prev_uptime)
            p.cpu_pct = 100.0 * (double)cur.ticks / dt / (double)s->clk_tck; /* born since */
        top_insert(m->top_cpu, &m->ntop_cpu, s->top_n, &p, 0);
        top_insert(m->top_rss, &m->ntop_rss, s->top_n, &p, 1);
    }
    closedir(d);
    m->processes = nproc;
    refine_top(s, procfd, m->top_cpu, m->ntop_cpu);
    refine_top(s, procfd, m->top_rss, m->ntop_rss);
    qsort(m->top_rss, m->ntop_rss, sizeof(*m->top_rss), cmp_rss); /* statm may reorder */
    close(procfd);
    /* the current table becomes the previous one */
    qsort(s->next, s->nnext, sizeof(*s->next), cmp_prev);
    proc_prev *t = s->prev;
    s->prev = s->next;
    s->next = t;
    s->nprev = s->nnext;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int metrics_sampler_sample(metrics_sampler *s, uint64_t mono_ns, const metrics_snapshot **out)
{
    uint64_t cpu0 = thread_cpu_ns();
    const metrics_snapshot *p = s->snap[s->cur];
    metrics_snapshot *m = s->snap[s->cur ^ 1];
    memset(m, 0, sizeof(*m));
    m->mono_ns = mono_ns;
    if (s->nsamples > 0 && mono_ns > p->mono_ns) {
        m->has_rates = 1;
        m->interval_s = (double)(mono_ns - p->mono_ns) / 1e9;
    }
    double dt = m->interval_s;

    ssize_t len = read_root(s, "proc/stat", s->buf, READ_BUF_SIZE);
    if (len <= 0 || metrics_parse_stat(s->buf, (size_t)len, m) != 0)
        return -1;
    sample_cpu(s, m, p);
    len = read_root(s, "proc/meminfo", s->buf, READ_BUF_SIZE);
    if (len > 0)
        metrics_parse_meminfo(s->buf, (size_t)len, &m->mem);
    sample_disks(s, m, p, dt);
    sample_net(s, m, p, dt);
    double load[3] = {0, 0, 0};
    len = read_root(s, "proc/loadavg", s->buf, READ_BUF_SIZE);
    if (len > 0 && metrics_parse_loadavg(s->buf, (size_t)len, load, &m->threads) == 0) {
        m->load1 = load[0];
        m->load5 = load[1];
        m->load15 = load[2];
    }
    len = read_root(s, "proc/uptime", s->buf, READ_BUF_SIZE);
    if (len > 0)
        metrics_parse_uptime(s->buf, (size_t)len, &m->uptime_s);
    if (s->want_procs)
        sample_procs(s, m, dt, p->uptime_s);

    s->cur ^= 1;
    s->nsamples++;
    m->sample_cpu_ns = thread_cpu_ns() - cpu0;
    *out = m;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* JSON. */

static json_t *real2(double x) { return json_real(round(x * 100.0) / 100.0); }

static json_t *cpu_json(const metrics_cpu *c)
{
    json_t *o = json_object();
    if (c->id >= 0)
        json_object_set_new(o, "cpu", json_integer(c->id));
    json_object_set_new(o, "busy_pct", real2(c->busy_pct));
    for (int i = 0; i < METRICS_CPU_NFIELDS; i++) {
        char k[32];
        snprintf(k, sizeof(k), "%s_pct", metrics_cpu_field_names[i]);
        json_object_set_new(o, k, real2(c->pct[i]));
    }
    return o;
}

static json_t *name_json(const char *s) /* comm and ifnames are not always UTF-8 */
{
    char clean[METRICS_NAME_MAX];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof(clean); i++)
        clean[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    clean[i] = 0;
    return json_string(clean);
}

static json_t *procs_json(const metrics_proc *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "pid", json_integer(v[i].pid));
        json_object_set_new(o, "ppid", json_integer(v[i].ppid));
        json_object_set_new(o, "name", name_json(v[i].comm));
        char st[2] = {v[i].state >= 0x20 && v[i].state < 0x7f ? v[i].state : '?', 0};
        json_object_set_new(o, "state", json_string(st));
        json_object_set_new(o, "cpu_pct", real2(v[i].cpu_pct));
        json_object_set_new(o, "rss_bytes", json_integer((json_int_t)v[i].rss_bytes));
        json_object_set_new(o, "vsz_bytes", json_integer((json_int_t)v[i].vsz_bytes));
        json_object_set_new(o, "shared_bytes", json_integer((json_int_t)v[i].shared_bytes));
        json_object_set_new(o, "threads", json_integer(v[i].threads));
        json_array_append_new(a, o);
    }
    return a;
}

static json_int_t jint(uint64_t v) { return v > INT64_MAX ? INT64_MAX : (json_int_t)v; }

json_t *metrics_to_json(const metrics_snapshot *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "interval_s", json_real(round(m->interval_s * 1e6) / 1e6));
    json_object_set_new(o, "has_rates", json_boolean(m->has_rates));

    json_t *cpu = cpu_json(&m->cpu_total);
    json_t *cores = json_array();
    for (size_t i = 0; i < m->ncpu; i++)
        json_array_append_new(cores, cpu_json(&m->cpus[i]));
    json_object_set_new(cpu, "count", json_integer((json_int_t)m->ncpu));
    json_object_set_new(cpu, "cores", cores);
    json_object_set_new(o, "cpu", cpu);

    json_t *mem = json_object();
    json_object_set_new(mem, "total_bytes", json_integer(jint(m->mem.total)));
    json_object_set_new(mem, "available_bytes", json_integer(jint(m->mem.available)));
    json_object_set_new(mem, "used_bytes", json_integer(jint(m->mem.used)));
    json_object_set_new(mem, "free_bytes", json_integer(jint(m->mem.free)));
    json_object_set_new(mem, "buffers_bytes", json_integer(jint(m->mem.buffers)));
    json_object_set_new(mem, "cached_bytes", json_integer(jint(m->mem.cached)));
    json_object_set_new(mem, "used_pct",
                        real2(m->mem.total ? 100.0 * (double)m->mem.used / (double)m->mem.total : 0));
    json_object_set_new(o, "memory", mem);
    json_t *swap = json_object();
    json_object_set_new(swap, "total_bytes", json_integer(jint(m->mem.swap_total)));
    json_object_set_new(swap, "free_bytes", json_integer(jint(m->mem.swap_free)));
    json_object_set_new(swap, "used_bytes", json_integer(jint(m->mem.swap_used)));
    json_object_set_new(o, "swap", swap);

    json_t *disks = json_array();
    for (size_t i = 0; i < m->ndisks; i++) {
        const metrics_disk *d = &m->disks[i];
        json_t *x = json_object();
        json_object_set_new(x, "device", name_json(d->name));
        json_object_set_new(x, "read_bytes_per_s", real2(d->read_bps));
        json_object_set_new(x, "write_bytes_per_s", real2(d->write_bps));
        json_object_set_new(x, "read_iops", real2(d->read_iops));
        json_object_set_new(x, "write_iops", real2(d->write_iops));
        json_object_set_new(x, "util_pct", real2(d->util_pct));
        json_object_set_new(x, "read_bytes_total", json_integer(jint(d->sectors_read * 512)));
        json_object_set_new(x, "write_bytes_total", json_integer(jint(d->sectors_written * 512)));
        json_array_append_new(disks, x);
    }
    json_object_set_new(o, "disks", disks);

    json_t *net = json_array();
    for (size_t i = 0; i < m->nifaces; i++) {
        const metrics_net *d = &m->ifaces[i];
        json_t *x = json_object();
        json_object_set_new(x, "interface", name_json(d->name));
        json_object_set_new(x, "rx_bytes_per_s", real2(d->rx_bps));
        json_object_set_new(x, "tx_bytes_per_s", real2(d->tx_bps));
        json_object_set_new(x, "rx_packets_per_s", real2(d->rx_pps));
        json_object_set_new(x, "tx_packets_per_s", real2(d->tx_pps));
        json_object_set_new(x, "rx_errors_per_s", real2(d->rx_errs_ps));
        json_object_set_new(x, "tx_errors_per_s", real2(d->tx_errs_ps));
        json_object_set_new(x, "rx_drops_per_s", real2(d->rx_drop_ps));
        json_object_set_new(x, "tx_drops_per_s", real2(d->tx_drop_ps));
        json_object_set_new(x, "rx_bytes_total", json_integer(jint(d->rx_bytes)));
        json_object_set_new(x, "tx_bytes_total", json_integer(jint(d->tx_bytes)));
        json_array_append_new(net, x);
    }
    json_object_set_new(o, "network", net);

    json_t *load = json_array();
    json_array_append_new(load, real2(m->load1));
    json_array_append_new(load, real2(m->load5));
    json_array_append_new(load, real2(m->load15));
    json_object_set_new(o, "load", load);
    json_object_set_new(o, "uptime_s", real2(m->uptime_s));
    json_object_set_new(o, "processes", json_integer(m->processes));
    json_object_set_new(o, "threads", json_integer(m->threads));
    json_object_set_new(o, "procs_running", json_integer(m->procs_running));
    json_object_set_new(o, "procs_blocked", json_integer(m->procs_blocked));
    json_object_set_new(o, "top_cpu", procs_json(m->top_cpu, m->ntop_cpu));
    json_object_set_new(o, "top_rss", procs_json(m->top_rss, m->ntop_rss));
    json_object_set_new(o, "sample_cpu_us", real2((double)m->sample_cpu_ns / 1000.0));
    return o;
}

/* ------------------------------------------------------------------------ */
/* Text buffer and Prometheus exposition. */

void metrics_buf_init(metrics_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max ? max : (8u << 20);
}

void metrics_buf_free(metrics_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void metrics_buf_printf(metrics_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (int tries = 0; tries < 2; tries++) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t need = b->len + (size_t)n + 1;
        if (need > b->max) {
            b->failed = 1;
            if (b->p)
                b->p[b->len] = 0;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < need)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* A label value: \ " and newline escaped, anything not printable ASCII as
 * '?', so the output stays valid UTF-8 text whatever a comm holds. */
static void label_value(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 3 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == '"') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else {
            out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
    }
    out[k] = 0;
}

static void head(metrics_buf *b, const char *name, const char *type, const char *help)
{
    metrics_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(metrics_buf *b, const char *name, const char *help, double v)
{
    head(b, name, "gauge", help);
    metrics_buf_printf(b, "%s %.17g\n", name, v);
}

static void counter_u(metrics_buf *b, const char *name, const char *help, uint64_t v)
{
    head(b, name, "counter", help);
    metrics_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void prom_cpu(const metrics_snapshot *m, metrics_buf *b, double tck)
{
    head(b, "oisp_host_cpu_seconds_total", "counter",
         "CPU time spent in each mode, from /proc/stat (cpu=\"total\" is all cores).");
    for (size_t c = 0; c <= m->ncpu; c++) {
        const metrics_cpu *k = c == 0 ? &m->cpu_total : &m->cpus[c - 1];
        char id[16];
        if (c == 0)
            snprintf(id, sizeof(id), "total");
        else
            snprintf(id, sizeof(id), "%d", k->id);
        for (int i = 0; i < METRICS_CPU_NFIELDS; i++)
            metrics_buf_printf(b, "oisp_host_cpu_seconds_total{cpu=\"%s\",mode=\"%s\"} %.2f\n", id,
                               metrics_cpu_field_names[i], (double)k->ticks[i] / tck);
    }
    head(b, "oisp_host_cpu_busy_ratio", "gauge",
         "Share of the last interval a CPU was not idle or waiting for I/O (0..1).");
    metrics_buf_printf(b, "oisp_host_cpu_busy_ratio{cpu=\"total\"} %.4f\n",
                       m->cpu_total.busy_pct / 100);
    for (size_t c = 0; c < m->ncpu; c++)
        metrics_buf_printf(b, "oisp_host_cpu_busy_ratio{cpu=\"%d\"} %.4f\n", m->cpus[c].id,
                           m->cpus[c].busy_pct / 100);
    gauge(b, "oisp_host_cpus", "CPUs online.", (double)m->ncpu);
    counter_u(b, "oisp_host_context_switches_total", "Context switches since boot.", m->ctxt);
    counter_u(b, "oisp_host_forks_total", "Processes and threads created since boot.", m->forks);
    gauge(b, "oisp_host_procs_running", "Runnable tasks.", m->procs_running);
    gauge(b, "oisp_host_procs_blocked", "Tasks blocked on I/O.", m->procs_blocked);
}

static void prom_mem(const metrics_snapshot *m, metrics_buf *b)
{
    gauge(b, "oisp_host_memory_total_bytes", "MemTotal.", (double)m->mem.total);
    gauge(b, "oisp_host_memory_available_bytes", "MemAvailable.", (double)m->mem.available);
    gauge(b, "oisp_host_memory_used_bytes", "MemTotal - MemAvailable.", (double)m->mem.used);
    gauge(b, "oisp_host_memory_free_bytes", "MemFree.", (double)m->mem.free);
    gauge(b, "oisp_host_memory_buffers_bytes", "Buffers.", (double)m->mem.buffers);
    gauge(b, "oisp_host_memory_cached_bytes", "Cached.", (double)m->mem.cached);
    gauge(b, "oisp_host_swap_total_bytes", "SwapTotal.", (double)m->mem.swap_total);
    gauge(b, "oisp_host_swap_free_bytes", "SwapFree.", (double)m->mem.swap_free);
    gauge(b, "oisp_host_swap_used_bytes", "SwapTotal - SwapFree.", (double)m->mem.swap_used);
}

#define DISK_SERIES(metric, type, help, expr)                                             \
    do {                                                                                       \
        head(b, metric, type, help);                                                           \
        for (size_t i = 0; i < m->ndisks; i++) {                                               \
            const metrics_disk *d = &m->disks[i];                                              \
            char dv[METRICS_NAME_MAX * 2];                                                     \
            label_value(dv, sizeof(dv), d->name);                                              \
            metrics_buf_printf(b, "%s{device=\"%s\"} %.17g\n", metric, dv, (double)(expr));    \
        }                                                                                      \
    } while (0)

static void prom_disks(const metrics_snapshot *m, metrics_buf *b)
{
    DISK_SERIES("oisp_host_disk_read_bytes_total", "counter", "Bytes read.",
                d->sectors_read * 512);
    DISK_SERIES("oisp_host_disk_written_bytes_total", "counter", "Bytes written.",
                d->sectors_written * 512);
    DISK_SERIES("oisp_host_disk_reads_completed_total", "counter", "Reads completed.",
                d->reads);
    DISK_SERIES("oisp_host_disk_writes_completed_total", "counter", "Writes completed.",
                d->writes);
    DISK_SERIES("oisp_host_disk_io_time_seconds_total", "counter",
                "Time the device had I/O in flight.", d->io_ticks_ms / 1000.0);
    DISK_SERIES("oisp_host_disk_read_bytes_per_second", "gauge",
                "Read rate over the last interval.", d->read_bps);
    DISK_SERIES("oisp_host_disk_write_bytes_per_second", "gauge",
                "Write rate over the last interval.", d->write_bps);
    DISK_SERIES("oisp_host_disk_read_iops", "gauge", "Reads per second.", d->read_iops);
    DISK_SERIES("oisp_host_disk_write_iops", "gauge", "Writes per second.", d->write_iops);
    DISK_SERIES("oisp_host_disk_utilization_ratio", "gauge",
                "Share of the last interval with I/O in flight (0..1).", d->util_pct / 100);
}

#define NET_SERIES(metric, type, help, expr)                                                     \
    do {                                                                                       \
        head(b, metric, type, help);                                                           \
        for (size_t i = 0; i < m->nifaces; i++) {                                              \
            const metrics_net *d = &m->ifaces[i];                                              \
            char dv[METRICS_NAME_MAX * 2];                                                     \
            label_value(dv, sizeof(dv), d->name);                                              \
            metrics_buf_printf(b, "%s{interface=\"%s\"} %.17g\n", metric, dv, (double)(expr)); \
        }                                                                                      \
    } while (0)

static void prom_net(const metrics_snapshot *m, metrics_buf *b)
{
    NET_SERIES("oisp_host_network_receive_bytes_total", "counter", "Bytes received.", d->rx_bytes);
    NET_SERIES("oisp_host_network_transmit_bytes_total", "counter", "Bytes sent.", d->tx_bytes);
    NET_SERIES("oisp_host_network_receive_packets_total", "counter", "Packets received.",
               d->rx_packets);
    NET_SERIES("oisp_host_network_transmit_packets_total", "counter", "Packets sent.",
               d->tx_packets);
    NET_SERIES("oisp_host_network_receive_errors_total", "counter", "Receive errors.", d->rx_errs);
    NET_SERIES("oisp_host_network_transmit_errors_total", "counter", "Transmit errors.",
               d->tx_errs);
    NET_SERIES("oisp_host_network_receive_drops_total", "counter", "Received packets dropped.",
               d->rx_drop);
    NET_SERIES("oisp_host_network_transmit_drops_total", "counter", "Sent packets dropped.",
               d->tx_drop);
    NET_SERIES("oisp_host_network_receive_bytes_per_second", "gauge",
               "Receive rate over the last interval.", d->rx_bps);
    NET_SERIES("oisp_host_network_transmit_bytes_per_second", "gauge",
               "Transmit rate over the last interval.", d->tx_bps);
    NET_SERIES("oisp_host_network_receive_packets_per_second", "gauge",
               "Packets received per second.", d->rx_pps);
    NET_SERIES("oisp_host_network_transmit_packets_per_second", "gauge",
               "Packets sent per second.", d->tx_pps);
    NET_SERIES("oisp_host_network_errors_per_second", "gauge",
               "Receive plus transmit errors per second.", d->rx_errs_ps + d->tx_errs_ps);
    NET_SERIES("oisp_host_network_drops_per_second", "gauge",
               "Receive plus transmit drops per second.", d->rx_drop_ps + d->tx_drop_ps);
}

static void prom_top(metrics_buf *b, const char *name, const char *help, const metrics_proc *v,
                     size_t n, int rss)
{
    head(b, name, "gauge", help);
    for (size_t i = 0; i < n; i++) {
        char comm[METRICS_NAME_MAX * 2];
        label_value(comm, sizeof(comm), v[i].comm);
        metrics_buf_printf(b, "%s{rank=\"%zu\",pid=\"%u\",comm=\"%s\"} %.17g\n", name, i + 1,
                           v[i].pid, comm, rss ? (double)v[i].rss_bytes : v[i].cpu_pct);
    }
}

void metrics_prometheus(const metrics_snapshot *m, metrics_buf *b)
{
    long tck = sysconf(_SC_CLK_TCK);
    prom_cpu(m, b, tck > 0 ? (double)tck : 100.0);
    prom_mem(m, b);
    prom_disks(m, b);
    prom_net(m, b);
    gauge(b, "oisp_host_load1", "Load average over 1 minute.", m->load1);
    gauge(b, "oisp_host_load5", "Load average over 5 minutes.", m->load5);
    gauge(b, "oisp_host_load15", "Load average over 15 minutes.", m->load15);
    gauge(b, "oisp_host_uptime_seconds", "Time since boot.", m->uptime_s);
    gauge(b, "oisp_host_processes", "Processes.", m->processes);
    gauge(b, "oisp_host_threads", "Threads (kernel scheduling entities).", m->threads);
    prom_top(b, "oisp_host_top_process_cpu_percent",
             "Top processes by CPU over the last interval (percent of one core).", m->top_cpu,
             m->ntop_cpu, 0);
    prom_top(b, "oisp_host_top_process_rss_bytes", "Top processes by resident memory.", m->top_rss,
             m->ntop_rss, 1);
    gauge(b, "oisp_host_sample_cpu_seconds", "CPU time the last metrics sample cost.",
          (double)m->sample_cpu_ns / 1e9);
}

void metrics_prometheus_self(metrics_buf *b)
{
    char buf[1024];
    ssize_t len = read_at(AT_FDCWD, "/proc/self/stat", buf, sizeof(buf));
    metrics_pid_stat st;
    if (len <= 0 || metrics_parse_pid_stat(buf, (size_t)len, &st) != 0)
        return;
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    uint64_t size, res = st.rss_pages, shared;
    len = read_at(AT_FDCWD, "/proc/self/statm", buf, sizeof(buf));
    if (len > 0)
        metrics_parse_statm(buf, (size_t)len, &size, &res, &shared);
    head(b, "oisp_sensor_process_cpu_seconds_total", "counter",
         "CPU time used by the sensor process (user + system).");
    metrics_buf_printf(b, "oisp_sensor_process_cpu_seconds_total %.2f\n",
                       (double)(st.utime + st.stime) / (double)(tck > 0 ? tck : 100));
    gauge(b, "oisp_sensor_process_resident_memory_bytes", "Resident memory of the sensor.",
          (double)(res * (uint64_t)(page > 0 ? page : 4096)));
    gauge(b, "oisp_sensor_process_threads", "Threads of the sensor.", st.threads);
}

static void sanitize_name(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        out[k++] = ok ? c : '_';
    }
    out[k] = 0;
}

void metrics_prometheus_json(metrics_buf *b, const char *prefix, const json_t *counters,
                             const char *help)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)counters, key, v)
    {
        char clean[128], name[256];
        sanitize_name(clean, sizeof(clean), key);
        snprintf(name, sizeof(name), "%s_%s", prefix, clean);
        if (json_is_object(v))
            metrics_prometheus_json(b, name, v, help);
        else if (json_is_number(v))
            gauge(b, name, help ? help : "Sensor counter.", json_number_value(v));
        else if (json_is_boolean(v))
            gauge(b, name, help ? help : "Sensor flag.", json_is_true(v) ? 1 : 0);
    }
}

/* hostcap.c: lifetime of the host-activity BPF programs (see hostcap.h).
 * The programs' `events` ring is the TLS capture's (bpf_map__reuse_fd), so
 * one consumer sees both kinds of record in order. */
#include "capture/hostcap.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host.skel.h"

#define TRACK_CACHE 256                /* direct-mapped by tgid */
#define TRACK_RECHECK_NS 1000000000ull /* confirm a cached tgid once a second */

typedef struct tracked_tgid {
    uint32_t tgid;
    uint64_t checked; /* CLOCK_MONOTONIC_COARSE ns */
} tracked_tgid;

struct hostcap {
    struct host_bpf *skel;
    tracked_tgid cache[TRACK_CACHE];
};

static uint64_t coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int set_roots(hostcap *h, const hostcap_opts *o, char *err, size_t errlen)
{
    uint8_t one = 1;
    for (size_t i = 0; i < o->ncomms; i++) {
        char comm[16] = {0};
        strncpy(comm, o->comms[i], sizeof(comm) - 1);
        bpf_map__update_elem(h->skel->maps.comm_roots, comm, sizeof(comm), &one, 1, 0);
    }
    for (size_t i = 0; i < o->ncgroups; i++) {
        char path[4096];
        struct stat st;
        const char *cg = o->cgroups[i];
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", cg[0] == '/' ? cg + 1 : cg);
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "--cgroup %s: %s: %s (a cgroup v2 path below /sys/fs/cgroup)",
                     cg, path, strerror(errno));
            return -1;
        }
        uint64_t id = st.st_ino; /* the cgroup id is the directory's inode on cgroup v2 */
        bpf_map__update_elem(h->skel->maps.cgroup_roots, &id, sizeof(id), &one, 1, 0);
    }
    for (size_t i = 0; i < o->npids; i++)
        hostcap_track(h, o->pids[i]);
    return 0;
}

hostcap *hostcap_open(int ring_fd, const hostcap_opts *o, char *err, size_t errlen)
{
    hostcap *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->skel = host_bpf__open();
    if (!h->skel) {
        snprintf(err, errlen, "cannot open the host BPF object: %s", strerror(errno));
        free(h);
        return NULL;
    }
    h->skel->rodata->all_processes = o->all_processes;
    h->skel->rodata->self_tgid = (uint32_t)getpid();
    if (o->rate_limit)
        h->skel->rodata->rate_limit = o->rate_limit;
    struct bpf_map_info ring = {0};
    uint32_t len = sizeof(ring);
    if (bpf_obj_get_info_by_fd(ring_fd, &ring, &len) == 0 && ring.max_entries)
        h->skel->rodata->wake_bytes = ring.max_entries / 4; /* as the TLS probes */
    int e = bpf_map__reuse_fd(h->skel->maps.events, ring_fd);
    if (!e)
        e = host_bpf__load(h->skel);
    if (!e)
        e = host_bpf__attach(h->skel);
    if (e) {
        snprintf(err, errlen, "loading the host activity probes failed: %s (run with -v for "
                              "details)", strerror(e < 0 ? -e : e));
        hostcap_close(h);
        return NULL;
    }
    if (set_roots(h, o, err, errlen)) {
        hostcap_close(h);
        return NULL;
    }
    return h;
}

static uint32_t parent_of(uint32_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%u/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned pp = 0;
    return p && sscanf(p + 2, "%*c %u", &pp) == 1 ? pp : 0;
}

/* Children that already ran before their parent became tracked. */
static void track_descendants(hostcap *h, uint32_t root)
{
    uint32_t set[512];
    size_t n = 0;
    set[n++] = root;
    DIR *d = opendir("/proc");
    if (!d)
        return;
    for (int pass = 0; pass < 4; pass++) { /* a few generations deep */
        rewinddir(d);
        struct dirent *de;
        size_t before = n;
        while ((de = readdir(d)) && n < 512) {
            if (!isdigit((unsigned char)de->d_name[0]))
                continue;
            uint32_t pid = (uint32_t)strtoul(de->d_name, NULL, 10), pp = parent_of(pid);
            for (size_t i = 0; i < n; i++)
                if (pp == set[i] && pid != set[i]) {
                    int dup = 0;
                    for (size_t j = 0; j < n; j++)
                        dup |= set[j] == pid;
                    if (!dup)
                        set[n++] = pid;
                    break;
                }
        }
        if (n == before)
            break;
    }
    closedir(d);
    uint8_t one = 1;
    for (size_t i = 1; i < n; i++)
        bpf_map__update_elem(h->skel->maps.tracked, &set[i], sizeof(uint32_t), &one, 1, 0);
}

void hostcap_track(hostcap *h, uint32_t tgid)
{
    uint8_t one = 1, v;
    if (!h || h->skel->rodata->all_processes)
        return;
    uint64_t now = coarse_ns();
    tracked_tgid *e = &h->cache[tgid % TRACK_CACHE];
    if (e->tgid == tgid && now - e->checked < TRACK_RECHECK_NS)
        return;
    e->tgid = tgid;
    e->checked = now;
    if (bpf_map__lookup_elem(h->skel->maps.tracked, &tgid, sizeof(tgid), &v, 1, 0) == 0)
        return; /* already tracked: its descendants are, too */
    bpf_map__update_elem(h->skel->maps.tracked, &tgid, sizeof(tgid), &one, 1, 0);
    track_descendants(h, tgid);
}

void hostcap_forget(hostcap *h, uint32_t tgid)
{
    if (h && h->cache[tgid % TRACK_CACHE].tgid == tgid)
        h->cache[tgid % TRACK_CACHE].tgid = 0;
}

void hostcap_read_counters(hostcap *h, uint64_t out[HOST_CNT_MAX])
{
    int ncpu = libbpf_num_possible_cpus();
    uint64_t *vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(uint64_t));
    for (uint32_t i = 0; i < HOST_CNT_MAX; i++) {
        out[i] = 0;
        if (!h || !vals ||
            bpf_map__lookup_elem(h->skel->maps.host_counters, &i, sizeof(i), vals,
                                 sizeof(uint64_t) * ncpu, 0))
            continue;
        for (int c = 0; c < ncpu; c++)
            out[i] += vals[c];
    }
    free(vals);
}

void hostcap_close(hostcap *h)
{
    if (!h)
        return;
    host_bpf__destroy(h->skel);
    free(h);
}

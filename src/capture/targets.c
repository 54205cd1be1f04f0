/* targets.c: attach the probes of a probe_plan to a file, once per
 * (device, inode); see targets.h. */
#include "capture/targets.h"

#include <bpf/libbpf.h>
#include <ctype.h>
#include <dirent.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.skel.h"

#define CHECKED_MAX 65536 /* negative cache entries kept (then reset) */

typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;

struct targets {
    struct tls_bpf *skel;
    target *v;
    size_t n, cap;
    file_id *checked; /* open-addressing set of non-TLS files */
    size_t nchecked, checked_cap;
};

targets *targets_new(struct tls_bpf *skel)
{
    targets *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->skel = skel;
    t->checked_cap = 1024;
    t->checked = calloc(t->checked_cap, sizeof(file_id));
    if (!t->checked) {
        free(t);
        return NULL;
    }
    return t;
}

void targets_free(targets *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        for (size_t j = 0; j < t->v[i].nlinks; j++)
            bpf_link__destroy(t->v[i].links[j]);
    free(t->v);
    free(t->checked);
    free(t);
}

static size_t id_hash(dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29));
}

/* Returns the slot for (dev, ino): occupied by it, or the empty one to use. */
static file_id *checked_slot(targets *t, dev_t dev, ino_t ino)
{
    size_t mask = t->checked_cap - 1;
    for (size_t i = id_hash(dev, ino) & mask;; i = (i + 1) & mask) {
        file_id *f = &t->checked[i];
        if ((f->dev == dev && f->ino == ino) || (f->dev == 0 && f->ino == 0))
            return f;
    }
}

static void checked_grow(targets *t)
{
    if (t->checked_cap >= CHECKED_MAX) { /* bounded: forget and re-check later */
        memset(t->checked, 0, t->checked_cap * sizeof(file_id));
        t->nchecked = 0;
        return;
    }
    file_id *old = t->checked;
    size_t oldcap = t->checked_cap;
    file_id *nv = calloc(oldcap * 2, sizeof(file_id));
    if (!nv)
        return;
    t->checked = nv;
    t->checked_cap = oldcap * 2;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].dev || old[i].ino)
            *checked_slot(t, old[i].dev, old[i].ino) = old[i];
    free(old);
}

static void checked_add(targets *t, dev_t dev, ino_t ino)
{
    if ((t->nchecked + 1) * 2 > t->checked_cap)
        checked_grow(t);
    file_id *f = checked_slot(t, dev, ino);
    if (f->dev == 0 && f->ino == 0) {
        f->dev = dev;
        f->ino = ino;
        t->nchecked++;
    }
}

static target *find_target(targets *t, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].dev == dev && t->v[i].ino == ino)
            return &t->v[i];
    return NULL;
}

static struct bpf_link *attach_one(struct bpf_program *prog, const char *path, uint64_t off,
                                   uint32_t cookie, int ret)
{
    LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret, .bpf_cookie = cookie);
    return bpf_program__attach_uprobe_opts(prog, -1, path, off, &o);
}

static int attach_plan(targets *t, target *tg, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < tg->plan.n; i++) {
        const probe_site *s = &tg->plan.sites[i];
        struct bpf_link *l1, *l2 = NULL;
        if (s->kind == PROBE_FREE) {
            l1 = attach_one(t->skel->progs.tls_free, tg->path, s->file_offset, 0, 0);
        } else {
            l1 = attach_one(t->skel->progs.tls_enter, tg->path, s->file_offset, s->cookie, 0);
            if (l1)
                l2 = attach_one(t->skel->progs.tls_exit, tg->path, s->file_offset, s->cookie, 1);
            if (l1 && !l2) {
                bpf_link__destroy(l1);
                l1 = NULL;
            }
        }
        if (!l1) {
            snprintf(errbuf, errlen, "attach %s in %s: %s", s->what, tg->path, strerror(errno));
            return -1;
        }
        tg->links[tg->nlinks++] = l1;
        if (l2)
            tg->links[tg->nlinks++] = l2;
    }
    return 0;
}

int targets_consider(targets *t, const char *path, dev_t dev, ino_t ino, uint32_t pid,
                     char *errbuf, size_t errlen)
{
    if (find_target(t, dev, ino))
        return 1;
    file_id *seen = checked_slot(t, dev, ino);
    if (seen->dev == dev && seen->ino == ino && (dev || ino))
        return 0;
    probe_plan plan;
    int r = probe_plan_build(path, &plan);
    if (r <= 0) {
        if (r == 0)
            checked_add(t, dev, ino);
        return 0;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 8;
        target *nv = realloc(t->v, nc * sizeof(*nv));
        if (!nv) {
            snprintf(errbuf, errlen, "out of memory");
            return -1;
        }
        t->v = nv;
        t->cap = nc;
    }
    target *tg = &t->v[t->n];
    memset(tg, 0, sizeof(*tg));
    tg->dev = dev;
    tg->ino = ino;
    tg->plan = plan;
    tg->first_pid = pid;
    snprintf(tg->path, sizeof(tg->path), "%s", path);
    if (attach_plan(t, tg, errbuf, errlen) < 0) {
        for (size_t j = 0; j < tg->nlinks; j++)
            bpf_link__destroy(tg->links[j]);
        checked_add(t, dev, ino); /* do not retry on every scan */
        return -1;
    }
    t->n++;
    return 1;
}

size_t targets_count(const targets *t) { return t->n; }
const target *targets_get(const targets *t, size_t i) { return i < t->n ? &t->v[i] : NULL; }

/* Processes that map (dev, ino), from /proc/PID/maps ("... fd:01 1234 /path"). */
static json_t *pids_mapping(dev_t dev, ino_t ino)
{
    json_t *pids = json_array();
    DIR *d = opendir("/proc");
    struct dirent *de;
    char want[64];
    snprintf(want, sizeof(want), " %02x:%02x %lu ", major(dev), minor(dev), (unsigned long)ino);
    while (d && (de = readdir(d)) && json_array_size(pids) < 1000) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        char path[288], line[512];
        snprintf(path, sizeof(path), "/proc/%s/maps", de->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f))
            if (strstr(line, want)) {
                json_array_append_new(pids, json_integer(atoi(de->d_name)));
                break;
            }
        fclose(f);
    }
    if (d)
        closedir(d);
    return pids;
}

json_t *targets_to_json(const targets *t, int with_pids)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < t->n; i++) {
        const target *tg = &t->v[i];
        json_t *sites = json_array();
        for (size_t j = 0; j < tg->plan.n; j++)
            json_array_append_new(sites, json_pack("{s:s,s:I,s:b}", "what", tg->plan.sites[j].what,
                                                   "offset", (json_int_t)tg->plan.sites[j].file_offset,
                                                   "emulated", tg->plan.sites[j].emulated));
        json_t *o = json_pack("{s:s,s:s,s:o,s:i,s:i}", "path", tg->path, "version", tg->plan.version,
                              "sites", sites, "slow_sites", tg->plan.slow, "first_pid",
                              (int)tg->first_pid);
        if (with_pids)
            json_object_set_new(o, "pids", pids_mapping(tg->dev, tg->ino));
        json_array_append_new(arr, o);
    }
    return arr;
}

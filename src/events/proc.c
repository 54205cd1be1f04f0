/* proc.c: the process table (see proc.h).  An open-addressing table keyed
 * by pid; entries carry the parsed process object, the parent pid, the
 * start time, and when the process died.  When the table is full, dead
 * entries go first, then everything (entries are cheap to read again),
 * so memory stays bounded whatever the pid churn. */
#include "events/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/monotime.h"
#include "events/secrets.h"
#include "util/jsonu.h"

#define CMDLINE_MAX 4096
#define ANCESTORS_MAX 8
#define GRACE_NS (10ull * 1000000000ull)
#define REVALIDATE_NS (5ull * 1000000000ull)

typedef struct proc_entry {
    uint32_t pid;
    uint32_t ppid;
    uint64_t start_time;
    uint64_t dead_at;    /* 0 while alive */
    uint64_t checked_at; /* when start_time was last compared with /proc */
    json_t *obj;         /* NULL: only the parent is known (from fork) */
    int has_ancestors;
} proc_entry;

struct proc_cache {
    proc_entry *v;
    size_t cap, n, max;
};

proc_cache *proc_cache_new(size_t max_entries)
{
    proc_cache *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return NULL;
    pc->cap = 1;
    while (pc->cap < max_entries * 2)
        pc->cap <<= 1;
    pc->max = max_entries;
    pc->v = calloc(pc->cap, sizeof(proc_entry));
    if (!pc->v) {
        free(pc);
        return NULL;
    }
    return pc;
}

static void clear_all(proc_cache *pc)
{
    for (size_t i = 0; i < pc->cap; i++)
        json_decref(pc->v[i].obj);
    memset(pc->v, 0, pc->cap * sizeof(proc_entry));
    pc->n = 0;
}

void proc_cache_free(proc_cache *pc)
{
    if (!pc)
        return;
    clear_all(pc);
    free(pc->v);
    free(pc);
}

static size_t slot_of(const proc_cache *pc, uint32_t pid)
{
    size_t mask = pc->cap - 1;
    size_t i = (pid * 2654435761u) & mask;
    while (pc->v[i].pid && pc->v[i].pid != pid)
        i = (i + 1) & mask;
    return i;
}

/* One read(2): /proc files are generated whole, and stdio would add two
 * allocations and a copy per file on the exec path. */
static ssize_t read_file(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r < 0)
        return -1;
    buf[r] = 0;
    return r;
}

/* ppid and start time (clock ticks since boot) from /proc/PID/stat; the
 * comm field may contain spaces and parentheses, so parse after the last ')'. */
static int read_stat(const char *root, uint32_t pid, uint32_t *ppid, uint64_t *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "%s/%u/stat", root, pid);
    if (read_file(path, buf, sizeof(buf)) <= 0)
        return -1;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long st = 0;
    unsigned pp = 0;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
       utime stime cutime cstime priority nice threads itrealvalue starttime */
    if (sscanf(p + 2, "%*c %u %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
               &pp, &st) != 2)
        return -1;
    *ppid = pp;
    *start = st;
    return 0;
}

static void add_cmdline(json_t *o, const char *root, uint32_t pid)
{
    char path[64], buf[CMDLINE_MAX + 1];
    snprintf(path, sizeof(path), "%s/%u/cmdline", root, pid);
    ssize_t n = read_file(path, buf, sizeof(buf));
    if (n <= 0)
        return;
    while (n > 0 && buf[n - 1] == 0)
        n--;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == 0)
            buf[i] = ' ';
    size_t mlen;
    char *masked = secrets_mask(buf, (size_t)n, &mlen); /* keys passed as arguments */
    json_object_set_new(o, "cmdline", masked ? jsonu_string_lossy(masked, mlen)
                                             : jsonu_string_lossy(buf, (size_t)n));
    free(masked);
}

static void add_uid(json_t *o, const char *root, uint32_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "%s/%u/status", root, pid);
    if (read_file(path, buf, sizeof(buf)) <= 0)
        return;
    const char *u = strstr(buf, "\nUid:");
    unsigned uid;
    if (u && sscanf(u + 5, "%u", &uid) == 1)
        json_object_set_new(o, "uid", json_integer(uid));
}

void proc_container_id(const char *text, char out[65])
{
    out[0] = 0;
    for (const char *p = text; *p; p++) {
        if (!isxdigit((unsigned char)*p) || (p > text && isxdigit((unsigned char)p[-1])))
            continue;
        size_t n = 0;
        while (isxdigit((unsigned char)p[n]))
            n++;
        if (n == 64) { /* docker-<id>.scope, cri-containerd-<id>, crio-<id>, /docker/<id> */
            memcpy(out, p, 64);
            out[64] = 0;
            for (int i = 0; i < 64; i++)
                out[i] = (char)tolower((unsigned char)out[i]);
            return;
        }
        p += n - 1;
    }
}

static void add_cgroup(json_t *o, const char *root, uint32_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "%s/%u/cgroup", root, pid);
    if (read_file(path, buf, sizeof(buf)) <= 0)
        return;
    const char *v2 = strstr(buf, "0::");
    if (v2) {
        const char *s = v2 + 3;
        size_t len = strcspn(s, "\n");
        json_object_set_new(o, "cgroup", jsonu_string_lossy(s, len));
    }
    char id[65];
    proc_container_id(buf, id);
    if (id[0])
        json_object_set_new(o, "container_id", json_string(id));
}

static void add_link(json_t *o, const char *key, const char *root, uint32_t pid, const char *what)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "%s/%u/%s", root, pid, what);
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    if (n > 0)
        json_object_set_new(o, key, jsonu_string_lossy(buf, (size_t)n));
}

static void add_comm(json_t *o, const char *root, uint32_t pid)
{
    char path[64], buf[64];
    snprintf(path, sizeof(path), "%s/%u/comm", root, pid);
    if (read_file(path, buf, sizeof(buf)) > 0) {
        buf[strcspn(buf, "\n")] = 0;
        json_object_set_new(o, "name", jsonu_string_lossy(buf, strlen(buf)));
    }
}

json_t *proc_read(const char *root, uint32_t pid, uint64_t *start_time)
{
    uint32_t ppid;
    if (read_stat(root, pid, &ppid, start_time) != 0)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "pid", json_integer(pid));
    json_object_set_new(o, "ppid", json_integer(ppid));
    add_link(o, "exe", root, pid, "exe");
    add_comm(o, root, pid);
    add_cmdline(o, root, pid);
    add_uid(o, root, pid);
    add_cgroup(o, root, pid);
    return o;
}

/* Makes room: dead entries first, everything if that is not enough. */
static void make_room(proc_cache *pc)
{
    if (pc->n < pc->max)
        return;
    for (size_t i = 0; i < pc->cap; i++)
        if (pc->v[i].pid && pc->v[i].dead_at)
            proc_cache_drop(pc, pc->v[i].pid);
    if (pc->n >= pc->max)
        clear_all(pc);
}

static proc_entry *entry_for(proc_cache *pc, uint32_t pid)
{
    size_t i = slot_of(pc, pid);
    if (pc->v[i].pid == pid)
        return &pc->v[i];
    make_room(pc);
    i = slot_of(pc, pid);
    pc->v[i] = (proc_entry){.pid = pid};
    pc->n++;
    return &pc->v[i];
}

static void load(proc_entry *e)
{
    uint64_t start = 0;
    json_t *o = proc_read("/proc", e->pid, &start);
    if (!o) {
        o = json_object();
        json_object_set_new(o, "pid", json_integer(e->pid));
        if (e->ppid)
            json_object_set_new(o, "ppid", json_integer(e->ppid));
    } else {
        json_int_t pp = json_integer_value(json_object_get(o, "ppid"));
        if (pp > 0)
            e->ppid = (uint32_t)pp;
        e->start_time = start;
    }
    e->obj = o;
}

void proc_cache_prefetch(proc_cache *pc, uint32_t pid)
{
    proc_entry *e = entry_for(pc, pid);
    if (!e->obj)
        load(e);
}

uint32_t proc_cache_parent(proc_cache *pc, uint32_t pid)
{
    size_t i = slot_of(pc, pid);
    if (pc->v[i].pid == pid && pc->v[i].ppid)
        return pc->v[i].ppid;
    uint32_t ppid;
    uint64_t start;
    return read_stat("/proc", pid, &ppid, &start) == 0 ? ppid : 0;
}

/* [{pid, exe, name}] from pid up to init.  May reorganise the table (it
 * reads ancestors into it), so callers look their own entry up again. */
static json_t *ancestors_of(proc_cache *pc, uint32_t pid)
{
    json_t *arr = json_array();
    for (int depth = 0; depth < ANCESTORS_MAX && pid > 0; depth++) {
        proc_entry *a = entry_for(pc, pid);
        if (!a->obj)
            load(a);
        json_t *item = json_object();
        json_object_set_new(item, "pid", json_integer(pid));
        json_t *v;
        if ((v = json_object_get(a->obj, "exe")))
            json_object_set(item, "exe", v);
        if ((v = json_object_get(a->obj, "name")))
            json_object_set(item, "name", v);
        json_array_append_new(arr, item);
        if (pid == 1)
            break;
        pid = a->ppid;
    }
    return arr;
}

/* A pid the kernel gave to a new process while we missed the old one's
 * exit shows up as a different start time: read the entry again. */
static void revalidate(proc_entry *e, uint64_t now)
{
    if (e->dead_at || now - e->checked_at < REVALIDATE_NS)
        return;
    e->checked_at = now;
    uint32_t ppid;
    uint64_t start;
    if (read_stat("/proc", e->pid, &ppid, &start) == 0 && e->start_time && start != e->start_time) {
        json_decref(e->obj);
        e->obj = NULL;
        e->has_ancestors = 0;
        load(e);
    }
}

json_t *proc_cache_get(proc_cache *pc, uint32_t pid)
{
    proc_entry *e = entry_for(pc, pid);
    if (!e->obj) {
        load(e);
        e->checked_at = mono_ns();
    } else {
        revalidate(e, mono_ns());
    }
    if (e->has_ancestors)
        return e->obj;
    json_t *arr = ancestors_of(pc, e->ppid);
    e = entry_for(pc, pid);
    if (!e->obj)
        load(e);
    json_object_set_new(e->obj, "ancestors", arr);
    e->has_ancestors = 1;
    return e->obj;
}

void proc_cache_exec(proc_cache *pc, uint32_t pid)
{
    size_t i = slot_of(pc, pid);
    if (pc->v[i].pid != pid)
        return; /* not cached: read when first needed */
    proc_entry *e = &pc->v[i];
    json_decref(e->obj);
    e->obj = NULL;
    e->has_ancestors = 0;
    e->dead_at = 0;
}

void proc_cache_exited(proc_cache *pc, uint32_t pid, uint64_t now)
{
    size_t i = slot_of(pc, pid);
    if (pc->v[i].pid == pid)
        pc->v[i].dead_at = now ? now : 1;
}

void proc_cache_set_parent(proc_cache *pc, uint32_t pid, uint32_t ppid)
{
    proc_entry *e = entry_for(pc, pid);
    e->ppid = ppid;
}

void proc_cache_drop(proc_cache *pc, uint32_t pid)
{
    size_t i = slot_of(pc, pid);
    if (pc->v[i].pid != pid)
        return;
    json_decref(pc->v[i].obj);
    pc->v[i] = (proc_entry){0};
    pc->n--;
    /* re-insert the rest of the cluster so lookups do not stop at the hole */
    size_t mask = pc->cap - 1;
    for (size_t j = (i + 1) & mask; pc->v[j].pid; j = (j + 1) & mask) {
        proc_entry e = pc->v[j];
        pc->v[j] = (proc_entry){0};
        pc->v[slot_of(pc, e.pid)] = e;
    }
}

void proc_cache_seed(proc_cache *pc)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d)) && pc->n < pc->max / 2)
        if (isdigit((unsigned char)de->d_name[0]))
            proc_cache_prefetch(pc, (uint32_t)strtoul(de->d_name, NULL, 10));
    if (d)
        closedir(d);
}

void proc_cache_reap(proc_cache *pc, uint64_t now)
{
    for (size_t i = 0; i < pc->cap; i++) {
        proc_entry *e = &pc->v[i];
        if (e->pid && e->dead_at && now > e->dead_at + GRACE_NS) {
            proc_cache_drop(pc, e->pid);
            i--; /* the slot may hold a moved entry now */
        }
    }
}

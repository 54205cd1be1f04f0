/* proc.c: process info from /proc, cached by pid (see proc.h).  The cache
 * is a small open-addressing table; when full, it is cleared (entries are
 * cheap to read again), which keeps memory bounded whatever the pid churn. */
#include "events/proc.h"

#include "events/secrets.h"
#include "util/jsonu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMDLINE_MAX 4096

typedef struct proc_entry {
    uint32_t pid;
    uint64_t start_time;
    json_t *obj;
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

static ssize_t read_file(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t r = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[r] = 0;
    return (ssize_t)r;
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

json_t *proc_read(const char *root, uint32_t pid, uint64_t *start_time)
{
    uint32_t ppid;
    if (read_stat(root, pid, &ppid, start_time) != 0)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "pid", json_integer(pid));
    json_object_set_new(o, "ppid", json_integer(ppid));
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "%s/%u/exe", root, pid);
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    if (n > 0) {
        buf[n] = 0;
        json_object_set_new(o, "exe", jsonu_string_lossy(buf, (size_t)n));
    }
    snprintf(path, sizeof(path), "%s/%u/comm", root, pid);
    if (read_file(path, buf, 64) > 0) {
        buf[strcspn(buf, "\n")] = 0;
        json_object_set_new(o, "name", jsonu_string_lossy(buf, strlen(buf)));
    }
    add_cmdline(o, root, pid);
    add_uid(o, root, pid);
    return o;
}

json_t *proc_cache_get(proc_cache *pc, uint32_t pid)
{
    size_t i = slot_of(pc, pid);
    if (pc->v[i].pid == pid)
        return pc->v[i].obj;
    uint64_t start = 0;
    json_t *o = proc_read("/proc", pid, &start);
    if (!o) {
        o = json_object();
        json_object_set_new(o, "pid", json_integer(pid));
    }
    if (pc->n >= pc->max) {
        clear_all(pc);
        i = slot_of(pc, pid);
    }
    pc->v[i] = (proc_entry){pid, start, o};
    pc->n++;
    return o;
}

void proc_cache_forget(proc_cache *pc, uint32_t pid)
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

/* discover.c: walk library directories and /proc to find files to probe
 * (see discover.h).  Files are opened through /proc/PID/root/<path>, so a
 * library inside a container's mount namespace is probed by its own inode;
 * targets_consider() dedups by (device, inode). */
#include "capture/discover.h"

#include <ctype.h>
#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const lib_globs[] = {
    "/lib/libssl.so*",          "/lib64/libssl.so*",         "/usr/lib/libssl.so*",
    "/usr/lib64/libssl.so*",    "/usr/local/lib/libssl.so*", "/usr/local/lib64/libssl.so*",
    "/lib/*-linux-gnu*/libssl.so*", "/usr/lib/*-linux-gnu*/libssl.so*",
};

/* Returns 0 if the file was looked at, -1 if it could not be reached. */
static int consider(targets *t, const char *path, uint32_t pid, discover_err_fn err, void *ctx)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    char ebuf[640];
    if (targets_consider(t, path, st.st_dev, st.st_ino, pid, ebuf, sizeof(ebuf)) < 0 && err)
        err(ctx, ebuf);
    return 0;
}

void discover_lib_dirs(targets *t, discover_err_fn err, void *ctx)
{
    for (size_t i = 0; i < sizeof(lib_globs) / sizeof(lib_globs[0]); i++) {
        glob_t g;
        if (glob(lib_globs[i], 0, NULL, &g) != 0)
            continue;
        for (size_t j = 0; j < g.gl_pathc; j++) {
            char real[4096]; /* libssl.so -> libssl.so.3: name the file itself */
            consider(t, realpath(g.gl_pathv[j], real) ? real : g.gl_pathv[j], 0, err, ctx);
        }
        globfree(&g);
    }
}

/* "55d0c000-55d0d000 r-xp 00001000 fd:01 1234   /usr/bin/node" -> path if executable */
static const char *exec_mapping_path(char *line)
{
    char *sp = strchr(line, ' ');
    if (!sp || strlen(sp) < 5 || sp[3] != 'x')
        return NULL;
    char *path = strchr(line, '/');
    if (!path)
        return NULL;
    path[strcspn(path, "\n")] = 0;
    size_t n = strlen(path);
    if (n > 10 && strcmp(path + n - 10, " (deleted)") == 0)
        return NULL;
    return path;
}

void discover_pid_maps(targets *t, uint32_t pid, discover_err_fn err, void *ctx)
{
    char fn[64];
    snprintf(fn, sizeof(fn), "/proc/%u/maps", pid);
    FILE *f = fopen(fn, "re");
    if (!f)
        return;
    char line[4352], prev[4352] = "", full[4448];
    while (fgets(line, sizeof(line), f)) {
        const char *path = exec_mapping_path(line);
        if (!path || strcmp(path, prev) == 0)
            continue;
        snprintf(prev, sizeof(prev), "%s", path);
        snprintf(full, sizeof(full), "/proc/%u/root%s", pid, path);
        consider(t, full, pid, err, ctx);
    }
    fclose(f);
}

void discover_all_pids(targets *t, discover_err_fn err, void *ctx)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    struct dirent *de;
    uint32_t self = (uint32_t)getpid();
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        uint32_t pid = (uint32_t)strtoul(de->d_name, NULL, 10);
        if (pid != self)
            discover_pid_maps(t, pid, err, ctx);
    }
    closedir(d);
}

int discover_pid_exe(targets *t, uint32_t pid, discover_err_fn err, void *ctx)
{
    char link[64], target[4096], full[4160];
    snprintf(link, sizeof(link), "/proc/%u/exe", pid);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0 || target[0] != '/')
        return -1;
    target[n] = 0;
    snprintf(full, sizeof(full), "/proc/%u/root%s", pid, target);
    return consider(t, full, pid, err, ctx);
}

int discover_path(targets *t, const char *path, discover_err_fn err, void *ctx)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    char ebuf[640];
    int r = targets_consider(t, path, st.st_dev, st.st_ino, 0, ebuf, sizeof(ebuf));
    if (r < 0 && err)
        err(ctx, ebuf);
    return r == 1;
}

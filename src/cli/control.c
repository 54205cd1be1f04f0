/* control.c: control socket server and client (see control.h).  The
 * server thread polls the listening socket with a timeout so control_stop
 * is prompt; each client is served in turn (answers are small, built in
 * microseconds) with a 1 s receive timeout, so a stuck client cannot hold
 * the thread. */
#include "cli/control.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

struct control {
    int fd;
    char path[108];
    control_status_fn status;
    void *ctx;
    pthread_t thread;
    volatile int stop;
};

static int make_addr(const char *path, struct sockaddr_un *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path)) {
        snprintf(err, errlen, "%s: socket path too long", path);
        return -1;
    }
    strcpy(a->sun_path, path);
    return 0;
}

static void make_parent(const char *path)
{
    char dir[108];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir(dir, 0750);
    }
}

static void serve_one(control *c, int cfd)
{
    struct timeval tv = {1, 0};
    setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char cmd[64];
    ssize_t n = recv(cfd, cmd, sizeof(cmd) - 1, 0);
    if (n <= 0)
        return;
    cmd[n] = 0;
    cmd[strcspn(cmd, "\r\n")] = 0;
    json_t *ans = strcmp(cmd, "status") == 0 ? c->status(c->ctx)
                                             : json_pack("{s:s}", "error", "unknown command");
    char *s = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
    json_decref(ans);
    if (!s)
        return;
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t w = send(cfd, s + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    send(cfd, "\n", 1, MSG_NOSIGNAL);
    free(s);
}

static void *control_main(void *arg)
{
    control *c = arg;
    while (!c->stop) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int cfd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0)
            continue;
        serve_one(c, cfd);
        close(cfd);
    }
    return NULL;
}

control *control_start(const char *path, control_status_fn status, void *ctx, char *err,
                       size_t errlen)
{
    struct sockaddr_un a;
    if (make_addr(path, &a, err, errlen))
        return NULL;
    make_parent(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "control socket: %s", strerror(errno));
        return NULL;
    }
    /* a stale socket of a sensor that died is replaced; a live one is not */
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        snprintf(err, errlen, "%s: another oisp-sensor is running (stop it, or give this one "
                              "--control PATH)", path);
        close(fd);
        return NULL;
    }
    unlink(path);
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
    umask(old);
    if (r != 0 || listen(fd, 8) != 0) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    control *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = fd;
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->status = status;
    c->ctx = ctx;
    if (pthread_create(&c->thread, NULL, control_main, c) != 0) {
        snprintf(err, errlen, "control thread: %s", strerror(errno));
        close(fd);
        unlink(path);
        free(c);
        return NULL;
    }
    return c;
}

void control_stop(control *c)
{
    if (!c)
        return;
    c->stop = 1;
    pthread_join(c->thread, NULL);
    close(c->fd);
    unlink(c->path);
    free(c);
}

json_t *control_request(const char *path, const char *cmd, char *err, size_t errlen)
{
    struct sockaddr_un a;
    if (make_addr(path, &a, err, errlen))
        return NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        snprintf(err, errlen, "no running sensor at %s (%s)%s", path, strerror(e),
                 e == EACCES ? ": run as root" : ": start one with `oisp-sensor record`");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char line[72];
    int n = snprintf(line, sizeof(line), "%s\n", cmd);
    send(fd, line, (size_t)n, MSG_NOSIGNAL);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 == cap) {
            char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    json_error_t je;
    json_t *ans = buf ? json_loadb(buf, len, 0, &je) : NULL;
    if (!ans)
        snprintf(err, errlen, "the sensor's answer was not understood");
    free(buf);
    return ans;
}

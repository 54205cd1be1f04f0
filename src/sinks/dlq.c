/* dlq.c: dead-letter files (see dlq.h for the layout and the locking
 * protocol shared with `dlq replay`). */
#include "sinks/dlq.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DLQ_IOV 512

struct dlq {
    pthread_mutex_t mu;
    char *path, *kind, *target, *header;
    int fd;
};

const char *dlq_default_dir(void) { return geteuid() == 0 ? "/var/lib/oisp/dlq" : "./dlq"; }

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int dlq_path_for(const char *dir, const char *kind, const char *target, char *out, size_t n)
{
    char safe[81];
    size_t i = 0;
    for (const char *p = target; *p && i < sizeof(safe) - 1; p++, i++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        safe[i] = ok ? c : '_';
    }
    safe[i] = 0;
    int w = snprintf(out, n, "%s/%s-%s-%08x.jsonl", dir, kind, safe, fnv1a(target));
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

dlq *dlq_new(const char *path, const char *kind, const char *target, const char *header)
{
    dlq *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->path = strdup(path);
    q->kind = strdup(kind);
    q->target = strdup(target);
    q->header = header ? strdup(header) : NULL;
    if (!q->path || !q->kind || !q->target || (header && !q->header)) {
        dlq_free(q);
        return NULL;
    }
    q->fd = -1;
    pthread_mutex_init(&q->mu, NULL);
    return q;
}

void dlq_free(dlq *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    if (q->path)
        pthread_mutex_destroy(&q->mu);
    free(q->path);
    free(q->kind);
    free(q->target);
    free(q->header);
    free(q);
}

const char *dlq_path(const dlq *q) { return q->path; }

/* mkdir -p with mode 0700 for the directories we create. */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -1;
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf)
        return 0;
    *slash = 0;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0700) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) && errno != EEXIST)
        return -1;
    return 0;
}

static void write_side_header(dlq *q)
{
    char side[PATH_MAX];
    if (snprintf(side, sizeof(side), "%s.sink", q->path) >= (int)sizeof(side))
        return;
    int fd = open(side, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return; /* exists already: keep the first one */
    char *text = NULL;
    if (q->header) {
        text = strdup(q->header);
    } else {
        json_t *h = json_pack("{s:s,s:s}", "kind", q->kind, "target", q->target);
        text = h ? json_dumps(h, JSON_COMPACT) : NULL;
        json_decref(h);
    }
    if (text) {
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
            unlink(side);
    }
    free(text);
    close(fd);
}

static int open_file(dlq *q, char *err, size_t errlen)
{
    if (make_dirs(q->path)) {
        snprintf(err, errlen, "%s: cannot create its directory: %s", q->path, strerror(errno));
        return -1;
    }
    q->fd = open(q->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (q->fd < 0) {
        snprintf(err, errlen, "%s: %s", q->path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(q->fd, &st) == 0 && (st.st_mode & 077))
        fchmod(q->fd, 0600);
    write_side_header(q);
    return 0;
}

/* Open the path if needed and lock it; reopen if a replay has claimed the
 * file we hold.  Returns 1 if locked, 0 if open but unlocked, -1 if not open. */
static int lock_current(dlq *q, char *err, size_t errlen)
{
    for (int tries = 0; tries < 3; tries++) {
        if (q->fd < 0 && open_file(q, err, errlen))
            return -1;
        int locked = flock(q->fd, LOCK_EX | LOCK_NB) == 0;
        struct stat a, b;
        int same = fstat(q->fd, &a) == 0 && stat(q->path, &b) == 0 && a.st_dev == b.st_dev &&
                   a.st_ino == b.st_ino;
        if (locked && same)
            return 1;
        if (locked)
            flock(q->fd, LOCK_UN);
        close(q->fd);
        q->fd = -1;
    }
    /* Someone keeps taking the file away: append unlocked to what we have. */
    return q->fd >= 0 || open_file(q, err, errlen) == 0 ? 0 : -1;
}

/* writev everything; on a short write, finish the torn line with '\n' so
 * the next append starts a fresh line.  Returns whole lines written. */
static size_t write_lines(int fd, const char *const *lines, const size_t *lens, size_t n,
                          char *err, size_t errlen)
{
    static const char nl = '\n';
    size_t done = 0;
    while (done < n) {
        struct iovec iov[DLQ_IOV];
        size_t k = 0, total = 0;
        for (size_t i = done; i < n && k + 2 <= DLQ_IOV; i++) {
            iov[k++] = (struct iovec){(void *)lines[i], lens[i]};
            iov[k++] = (struct iovec){(void *)&nl, 1};
            total += lens[i] + 1;
        }
        ssize_t w;
        do
            w = writev(fd, iov, (int)k);
        while (w < 0 && errno == EINTR);
        if (w == (ssize_t)total) {
            done += k / 2;
            continue;
        }
        snprintf(err, errlen, "dead-letter write: %s", w < 0 ? strerror(errno) : "short write");
        if (w > 0) { /* count the whole lines, terminate a torn one */
            size_t left = (size_t)w;
            for (size_t i = 0; i < k; i += 2) {
                size_t l = iov[i].iov_len + 1;
                if (left < l) {
                    if (left > 0 && write(fd, "\n", 1) < 0)
                        break;
                    break;
                }
                left -= l;
                done++;
            }
        }
        break;
    }
    return done;
}

size_t dlq_append(dlq *q, const char *const *lines, const size_t *lens, size_t n, char *err,
                  size_t errlen)
{
    if (!n)
        return 0;
    pthread_mutex_lock(&q->mu);
    size_t done = 0;
    int locked = lock_current(q, err, errlen);
    if (locked >= 0) {
        done = write_lines(q->fd, lines, lens, n, err, errlen);
        if (locked)
            flock(q->fd, LOCK_UN);
    }
    pthread_mutex_unlock(&q->mu);
    return done;
}

int dlq_claim(const char *path, char *claimed, size_t n, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX) < 0) {
        snprintf(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (snprintf(claimed, n, "%s.replaying.%d", path, (int)getpid()) >= (int)n ||
        rename(path, claimed) < 0) {
        snprintf(err, errlen, "%s: cannot claim: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd; /* the lock stays until fd is closed */
}

/* fanmon.c: the fanotify monitor (see fanmon.h for what it does and the
 * safety rules it keeps).
 *
 * How it works.
 *
 * Reader thread.  Reads batches of events from the non-blocking fanotify
 * fd (poll() with an eventfd to stop).  Every event is settled or handed
 * on before the next is looked at, and nothing here can block on a file:
 *   - FAN_Q_OVERFLOW and bad versions are counted;
 *   - events of the sensor's own pid are allowed at once (never judged);
 *   - the path comes from readlink(/proc/self/fd/N); events outside the
 *     configured subtrees are allowed at once and not reported;
 *   - a permission request (exec) takes a slot in the pending table, with a
 *     deadline, and its slot number goes into the worker's queue; when no
 *     slot is free it is allowed at once ("busy");
 *   - a notification is fstat()ed, its fd closed (exec notifications in
 *     passive mode keep theirs, a bounded number, for hashing) and queued;
 *     a full queue drops it (counted).
 *
 * Worker thread.  Takes permission requests before notifications.  For a
 * request: hash the file through the event fd (cached), read the asking
 * process's exe, evaluate the rules, answer if nobody has yet, free the
 * slot, close the fd, build the process.exec event, call the callback.
 * For a notification: build the file.* or process.exec event and call the
 * callback.  A long run of modify events from one process on one file
 * is reported once until its close-write.
 *
 * Watchdog thread.  Sleeps until the earliest deadline; any request still
 * unanswered by then is allowed (counted).  If the worker had not picked
 * it up yet, the watchdog also closes its fd, so a stalled worker holds no
 * descriptors; the worker later reports the event as decided by the
 * watchdog.
 *
 * Every answer after the reader's own goes through respond_locked() under
 * the one mutex, and fanmon_stop() closes the fanotify fd under that mutex
 * after allowing everything pending, so no answer is ever written to a
 * closed or reused descriptor.  File descriptors held at once are bounded
 * by the pending table, the exec-notification allowance and one read
 * batch; the pending table is sized to fit under RLIMIT_NOFILE, because
 * the kernel denies a permission event whose fd it cannot create. */
#include "host/fanmon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events/clock.h"
#include "events/event.h"
#include "events/proc.h"
#include "util/jsonu.h"
#include "util/monotime.h"

#define PENDING_MAX    512
#define NOTE_MAX       4096
#define EXEC_FD_MAX    64
#define READ_BUF       4096  /* at most ~170 events (and fds) per read */
#define HASH_SLOTS     1024
#define MODIFY_SLOTS   256
#define HASH_CHUNK     (64u << 10)
#define DRAIN_NS       2000000000ull
#define DEFAULT_TIMEOUT_MS 1000
#define DEFAULT_MAX_HASH   (256ull << 20)

#define PERM_MASK (FAN_OPEN_PERM | FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM)

/* Counters; the names are those of fanmon_counters_json(). */
enum {
    C_EVENTS_READ, C_PERM, C_ALLOWED, C_DENIED, C_WATCHDOG, C_BUSY, C_STOP_ALLOWED, C_OWN,
    C_SCOPE, C_OVERFLOW, C_QDROP, C_EVENTS, C_SUPPRESSED, C_HASHES, C_HASH_HITS, C_HASH_ERR,
    C_HASH_SKIP, C_RESP_ERR, C_FD_ERR, C_READ_ERR, C_BADVER, C_STOP_DROPPED, C_N
};
static const char *const counter_names[C_N] = {
    "events_read", "perm_requests", "allowed", "denied", "watchdog_allowed", "busy_allowed",
    "stop_allowed", "own_pid", "out_of_scope", "overflows", "queue_dropped", "events",
    "modify_suppressed", "hashes", "hash_cache_hits", "hash_errors", "hash_skipped_large",
    "response_errors", "fd_errors", "read_errors", "bad_version", "stop_dropped"};

enum { SLOT_FREE, SLOT_QUEUED, SLOT_WORKING };
enum { BY_NONE, BY_RULES, BY_WATCHDOG, BY_STOP };
static const char *const by_names[] = {"none", "rules", "watchdog", "stop"};

typedef struct slot {      /* a permission request awaiting its answer */
    int state, answered, by;
    int fd;                /* -1 once closed */
    uint32_t response, pid;
    uint64_t mask, ts, deadline;
    char *path;
} slot;

typedef struct note {      /* a queued notification */
    uint64_t mask, ts;
    uint32_t pid;
    int fd;                /* -1 unless kept for hashing */
    int have_st;
    struct stat st;
    char *path;
} note;

typedef struct hash_entry {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    int valid;
    char hex[65];
} hash_entry;

typedef struct modify_key {
    uint32_t pid;
    dev_t dev;
    ino_t ino;
} modify_key;

struct fanmon {
    fanmon_mode mode;
    fanmon_rule *rules;
    size_t nrules;
    char **paths;
    size_t npaths;
    unsigned events;
    uint64_t timeout_ns, max_hash;
    fanmon_event_fn cb;
    void *ctx;
    json_t *host;
    pid_t self;
    int fan, wake;

    pthread_mutex_t mu;
    pthread_cond_t work_cv, wd_cv, done_cv;
    slot *slots;
    size_t nslots;
    uint32_t *permq;       /* ring of slot numbers */
    size_t pq_head, pq_len;
    note *notes;           /* ring */
    size_t nq_head, nq_len;
    int exec_fds;          /* fds kept by queued exec notifications */
    int worker_exit, worker_done, wd_exit, hard_stop;

    pthread_t reader, worker, watchdog;
    int have_reader, have_worker, have_watchdog;
    atomic_int stopping;
    int stopped;

    /* worker-only state */
    hash_entry hcache[HASH_SLOTS];
    modify_key mod[MODIFY_SLOTS];
    unsigned char *hbuf;

    _Atomic uint64_t c[C_N];
};

static void count(fanmon *fm, int which) { atomic_fetch_add(&fm->c[which], 1); }

/* ------------------------------------------------------------------------ */
/* Fork safety.  A child forked by this process (system(), a helper) would
 * inherit the fanotify fd until it execs.  If the monitor then died, or
 * the child itself raised a permission event, that copy would keep the
 * group alive with nobody reading it, and every process touching the
 * marked paths would wait forever.  So every child closes the groups
 * right after fork, before it can do anything else. */

#define MAX_GROUPS 16
static int group_fds[MAX_GROUPS];   /* under groups_mu; -1 = free */
static pthread_mutex_t groups_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* fork() holds groups_mu from before the fork until after it, so a group
 * is never closed by its owner while a child is being made with a copy. */
static void groups_lock(void) { pthread_mutex_lock(&groups_mu); }
static void groups_unlock(void) { pthread_mutex_unlock(&groups_mu); }

static void close_groups_in_child(void)
{
    for (int i = 0; i < MAX_GROUPS; i++)
        if (group_fds[i] >= 0)
            close(group_fds[i]);
    pthread_mutex_unlock(&groups_mu);
}

static void install_atfork(void)
{
    for (int i = 0; i < MAX_GROUPS; i++)
        group_fds[i] = -1;
    pthread_atfork(groups_lock, groups_unlock, close_groups_in_child);
}

static int register_group(int fd)
{
    pthread_once(&atfork_once, install_atfork);
    int rc = -1;
    pthread_mutex_lock(&groups_mu);
    for (int i = 0; i < MAX_GROUPS && rc; i++)
        if (group_fds[i] < 0) {
            group_fds[i] = fd;
            rc = 0;
        }
    pthread_mutex_unlock(&groups_mu);
    return rc;
}

/* Closes a registered group fd (never while a fork is copying it). */
static void close_group(int fd)
{
    pthread_mutex_lock(&groups_mu);
    for (int i = 0; i < MAX_GROUPS; i++)
        if (group_fds[i] == fd)
            group_fds[i] = -1;
    close(fd);
    pthread_mutex_unlock(&groups_mu);
}

/* ------------------------------------------------------------------------ */
/* Pure helpers. */

int fanmon_mode_parse(const char *s, fanmon_mode *mode)
{
    if (strcmp(s, "passive") == 0)
        *mode = FANMON_PASSIVE;
    else if (strcmp(s, "permissive") == 0)
        *mode = FANMON_PERMISSIVE;
    else if (strcmp(s, "enforcing") == 0)
        *mode = FANMON_ENFORCING;
    else
        return -1;
    return 0;
}

const char *fanmon_mode_name(fanmon_mode mode)
{
    return mode == FANMON_ENFORCING ? "enforcing" : mode == FANMON_PERMISSIVE ? "permissive"
                                                                               : "passive";
}

int fanmon_rule_check(const fanmon_rule *r, char *err, size_t errlen)
{
    if (!r->value || !*r->value) {
        snprintf(err, errlen, "empty rule value");
        return -1;
    }
    if (r->kind == FANMON_RULE_HASH) {
        size_t n = strlen(r->value);
        if (n != 64 || strspn(r->value, "0123456789abcdefABCDEF") != 64) {
            snprintf(err, errlen, "'%s' is not a SHA-256 (64 hex digits)", r->value);
            return -1;
        }
        return 0;
    }
    if (r->value[0] != '/') {
        snprintf(err, errlen, "'%s' is not an absolute path", r->value);
        return -1;
    }
    return 0;
}

int fanmon_path_under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/')
        n--;
    if (n == 1 && prefix[0] == '/')
        return path[0] == '/';
    if (strncmp(path, prefix, n) != 0)
        return 0;
    return path[n] == 0 || path[n] == '/' || strcmp(path + n, " (deleted)") == 0;
}

static int rule_matches(const fanmon_rule *r, const char *target, const char *exe,
                        const char *sha256)
{
    switch (r->kind) {
    case FANMON_RULE_PREFIX:
        return target && *target && fanmon_path_under(target, r->value);
    case FANMON_RULE_EXE:
        return exe && *exe && strcmp(exe, r->value) == 0;
    case FANMON_RULE_HASH:
        return sha256 && strlen(sha256) == 64 && strcasecmp(sha256, r->value) == 0;
    }
    return 0;
}

int fanmon_evaluate(fanmon_mode mode, const fanmon_rule *rules, size_t nrules, const char *target,
                    const char *exe, const char *sha256, long *matched)
{
    *matched = -1;
    if (mode == FANMON_PASSIVE)
        return 1;
    for (size_t i = 0; i < nrules; i++) /* deny rules win */
        if (rules[i].deny && rule_matches(&rules[i], target, exe, sha256)) {
            *matched = (long)i;
            return 0;
        }
    if (mode == FANMON_PERMISSIVE)
        return 1;
    for (size_t i = 0; i < nrules; i++)
        if (!rules[i].deny && rule_matches(&rules[i], target, exe, sha256)) {
            *matched = (long)i;
            return 1;
        }
    return 0;
}

void fanmon_rule_name(const fanmon_rule *r, char *out, size_t n)
{
    static const char *const kinds[] = {"prefix", "exe", "hash"};
    snprintf(out, n, "%s-%s:%s", r->deny ? "deny" : "allow", kinds[r->kind], r->value);
}

/* ------------------------------------------------------------------------ */
/* Answers. */

static void respond_fd(fanmon *fm, int fd, uint32_t response)
{
    struct fanotify_response r = {.fd = fd, .response = response};
    for (;;) {
        ssize_t w = write(fm->fan, &r, sizeof(r));
        if (w == (ssize_t)sizeof(r))
            return;
        if (w < 0 && errno == EINTR)
            continue;
        count(fm, C_RESP_ERR);
        return;
    }
}

/* Answers slot s if nobody has: caller holds mu. */
static void respond_locked(fanmon *fm, slot *s, uint32_t response, int by)
{
    if (s->answered)
        return;
    s->answered = 1;
    s->by = by;
    s->response = response;
    if (fm->fan >= 0 && s->fd >= 0)
        respond_fd(fm, s->fd, response);
}

/* ------------------------------------------------------------------------ */
/* Reader. */

static int fd_path(int fd, char *out, size_t n)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t l = readlink(link, out, n - 1);
    if (l <= 0) {
        out[0] = 0;
        return -1;
    }
    out[l] = 0;
    return 0;
}

static int in_scope(const fanmon *fm, const char *path)
{
    if (!path[0])
        return 1; /* unknown: judge it rather than let it through unseen */
    for (size_t i = 0; i < fm->npaths; i++)
        if (fanmon_path_under(path, fm->paths[i]))
            return 1;
    return 0;
}

/* Allow at once (reader only: the fanotify fd is open while it runs). */
static void settle_now(fanmon *fm, int fd, int perm)
{
    if (perm) {
        respond_fd(fm, fd, FAN_ALLOW);
        count(fm, C_ALLOWED);
    }
    close(fd);
}

static void queue_perm(fanmon *fm, const struct fanotify_event_metadata *m, const char *path)
{
    pthread_mutex_lock(&fm->mu);
    slot *s = NULL;
    size_t idx = 0;
    for (idx = 0; idx < fm->nslots; idx++)
        if (fm->slots[idx].state == SLOT_FREE) {
            s = &fm->slots[idx];
            break;
        }
    if (!s) {
        pthread_mutex_unlock(&fm->mu);
        count(fm, C_BUSY);
        settle_now(fm, m->fd, 1);
        return;
    }
    uint64_t t = mono_ns();
    *s = (slot){.state = SLOT_QUEUED, .fd = m->fd, .pid = (uint32_t)m->pid, .mask = m->mask,
                .ts = t, .deadline = t + fm->timeout_ns, .path = strdup(path)};
    fm->permq[(fm->pq_head + fm->pq_len++) % fm->nslots] = (uint32_t)idx;
    pthread_cond_signal(&fm->work_cv);
    pthread_cond_signal(&fm->wd_cv);
    pthread_mutex_unlock(&fm->mu);
}

static void queue_note(fanmon *fm, const struct fanotify_event_metadata *m, uint64_t mask,
                       const char *path)
{
    note n = {.mask = mask, .ts = mono_ns(), .pid = (uint32_t)m->pid, .fd = -1};
    n.have_st = fstat(m->fd, &n.st) == 0;
    pthread_mutex_lock(&fm->mu);
    if (fm->nq_len == NOTE_MAX) {
        pthread_mutex_unlock(&fm->mu);
        count(fm, C_QDROP);
        close(m->fd);
        return;
    }
    if ((mask & FAN_OPEN_EXEC) && fm->exec_fds < EXEC_FD_MAX) {
        n.fd = m->fd; /* kept for the binary's hash */
        fm->exec_fds++;
    }
    n.path = strdup(path);
    fm->notes[(fm->nq_head + fm->nq_len++) % NOTE_MAX] = n;
    pthread_cond_signal(&fm->work_cv);
    pthread_mutex_unlock(&fm->mu);
    if (n.fd < 0)
        close(m->fd);
}

static void handle_event(fanmon *fm, const struct fanotify_event_metadata *m)
{
    count(fm, C_EVENTS_READ);
    int perm = (m->mask & PERM_MASK) != 0;
    if (m->vers != FANOTIFY_METADATA_VERSION) {
        count(fm, C_BADVER);
        if (m->fd >= 0)
            settle_now(fm, m->fd, perm);
        return;
    }
    if (m->mask & FAN_Q_OVERFLOW) {
        count(fm, C_OVERFLOW);
        if (m->fd >= 0)
            close(m->fd);
        return;
    }
    if (m->fd < 0) { /* no fd: nothing can be answered or read */
        count(fm, C_FD_ERR);
        return;
    }
    if (perm)
        count(fm, C_PERM);
    if (m->pid == fm->self) {
        count(fm, C_OWN);
        settle_now(fm, m->fd, perm);
        return;
    }
    char path[PATH_MAX];
    fd_path(m->fd, path, sizeof(path));
    if (!in_scope(fm, path)) {
        count(fm, C_SCOPE);
        settle_now(fm, m->fd, perm);
        return;
    }
    if (perm) {
        queue_perm(fm, m, path);
        return;
    }
    uint64_t mask = m->mask;
    if (fm->mode != FANMON_PASSIVE && (mask & FAN_OPEN_EXEC)) /* judged and reported already */
        mask &= ~(uint64_t)(FAN_OPEN | FAN_OPEN_EXEC);
    if (!(mask & (FAN_OPEN | FAN_OPEN_EXEC | FAN_MODIFY | FAN_CLOSE_WRITE))) {
        close(m->fd);
        return;
    }
    queue_note(fm, m, mask, path);
}

static void *reader_main(void *arg)
{
    fanmon *fm = arg;
    union {
        struct fanotify_event_metadata m;
        char b[READ_BUF];
    } buf;
    struct pollfd p[2] = {{.fd = fm->fan, .events = POLLIN}, {.fd = fm->wake, .events = POLLIN}};
    while (!atomic_load(&fm->stopping)) {
        int r = poll(p, 2, 1000);
        if (r < 0 && errno != EINTR) {
            count(fm, C_READ_ERR);
            usleep(10000);
            continue;
        }
        if (r <= 0 || (p[1].revents & POLLIN))
            continue; /* the loop condition sees stopping */
        ssize_t n = read(fm->fan, buf.b, sizeof(buf.b));
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                count(fm, C_READ_ERR);
                usleep(1000);
            }
            continue;
        }
        const struct fanotify_event_metadata *m = &buf.m;
        size_t len = (size_t)n;
        for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len))
            handle_event(fm, m);
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Watchdog. */

static void *watchdog_main(void *arg)
{
    fanmon *fm = arg;
    pthread_mutex_lock(&fm->mu);
    while (!fm->wd_exit) {
        uint64_t now = mono_ns(), next = now + 100000000ull; /* look at least every 100 ms */
        for (size_t i = 0; i < fm->nslots; i++) {
            slot *s = &fm->slots[i];
            if (s->state == SLOT_FREE || s->answered)
                continue;
            if (s->deadline <= now) {
                respond_locked(fm, s, FAN_ALLOW, BY_WATCHDOG);
                count(fm, C_WATCHDOG);
                if (s->state == SLOT_QUEUED && s->fd >= 0) { /* not picked up: free the fd */
                    close(s->fd);
                    s->fd = -1;
                }
            } else if (s->deadline < next) {
                next = s->deadline;
            }
        }
        struct timespec ts;
        mono_timespec(&ts, next);
        pthread_cond_timedwait(&fm->wd_cv, &fm->mu, &ts);
    }
    pthread_mutex_unlock(&fm->mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Worker: hashing. */

static void hex_of(const unsigned char *d, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = 0;
}

/* SHA-256 of the file behind fd, read with pread (the event fd is the
 * monitor's own open file; reads through it raise no fanotify events).
 * Returns 0 with out filled, or -1 (unreadable, changed, too big). */
static int hash_fd(fanmon *fm, int fd, char out[65], const char **why)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *why = "not a regular file";
        count(fm, C_HASH_ERR);
        return -1;
    }
    if ((uint64_t)st.st_size > fm->max_hash) {
        *why = "file larger than the hash limit";
        count(fm, C_HASH_SKIP);
        return -1;
    }
    size_t h = ((size_t)st.st_dev * 31u + (size_t)st.st_ino) % HASH_SLOTS;
    hash_entry *e = &fm->hcache[h];
    if (e->valid && e->dev == st.st_dev && e->ino == st.st_ino && e->size == st.st_size &&
        e->mtime.tv_sec == st.st_mtim.tv_sec && e->mtime.tv_nsec == st.st_mtim.tv_nsec &&
        e->ctime.tv_sec == st.st_ctim.tv_sec && e->ctime.tv_nsec == st.st_ctim.tv_nsec) {
        count(fm, C_HASH_HITS);
        memcpy(out, e->hex, 65);
        return 0;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        *why = "no SHA-256";
        count(fm, C_HASH_ERR);
        return -1;
    }
    off_t off = 0;
    int ok = 1;
    while (off < st.st_size) {
        ssize_t r = pread(fd, fm->hbuf, HASH_CHUNK, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ok = r == 0 ? 1 : 0; /* a shorter file than stat said: hash what is there */
            break;
        }
        EVP_DigestUpdate(ctx, fm->hbuf, (size_t)r);
        off += r;
    }
    unsigned char md[32];
    unsigned mdlen = 0;
    if (ok)
        ok = EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        *why = "read error";
        count(fm, C_HASH_ERR);
        return -1;
    }
    hex_of(md, 32, out);
    count(fm, C_HASHES);
    struct stat after;
    if (fstat(fd, &after) == 0 && after.st_size == st.st_size &&
        after.st_mtim.tv_sec == st.st_mtim.tv_sec && after.st_mtim.tv_nsec == st.st_mtim.tv_nsec &&
        after.st_ctim.tv_sec == st.st_ctim.tv_sec && after.st_ctim.tv_nsec == st.st_ctim.tv_nsec) {
        *e = (hash_entry){.dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
                          .mtime = st.st_mtim, .ctime = st.st_ctim, .valid = 1};
        memcpy(e->hex, out, 65);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Worker: events. */

static json_t *mask_json(uint64_t mask)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } bits[] = {{FAN_OPEN_EXEC_PERM, "open_exec_perm"}, {FAN_OPEN_EXEC, "open_exec"},
                {FAN_OPEN, "open"},                     {FAN_MODIFY, "modify"},
                {FAN_CLOSE_WRITE, "close_write"}};
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (mask & bits[i].bit)
            json_array_append_new(a, json_string(bits[i].name));
    return a;
}

static json_t *str_json(const char *s) { return jsonu_string_lossy(s, strlen(s)); }

static void rfc3339_of(const struct timespec *t, char out[32])
{
    clock_rfc3339((uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec, out);
}

static json_t *file_info(const char *path, const struct stat *st)
{
    json_t *f = json_object();
    json_object_set_new(f, "path", str_json(path));
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (*base)
        json_object_set_new(f, "name", str_json(base));
    const char *dot = strrchr(base, '.');
    if (dot && dot != base && dot[1] && !strchr(dot, ' '))
        json_object_set_new(f, "extension", str_json(dot + 1));
    if (st) {
        char mode[8], ts[32];
        snprintf(mode, sizeof(mode), "%04o", (unsigned)(st->st_mode & 07777));
        json_object_set_new(f, "size", json_integer((json_int_t)st->st_size));
        json_object_set_new(f, "inode", json_integer((json_int_t)st->st_ino));
        json_object_set_new(f, "mode", json_string(mode));
        json_object_set_new(f, "uid", json_integer(st->st_uid));
        json_object_set_new(f, "gid", json_integer(st->st_gid));
        rfc3339_of(&st->st_mtim, ts);
        json_object_set_new(f, "mtime", json_string(ts));
        json_object_set_new(f, "is_directory", json_boolean(S_ISDIR(st->st_mode)));
    }
    return f;
}

static json_t *new_event(fanmon *fm, const char *type, const char *point, uint64_t ts,
                         uint32_t pid, json_t *data, json_t *fan)
{
    json_t *ev = event_new(type, ts, "other", point, fm->host, NULL);
    uint64_t start;
    json_t *p = proc_read("/proc", pid, &start);
    if (!p) { /* exited already */
        p = json_object();
        json_object_set_new(p, "pid", json_integer(pid));
    }
    json_object_set_new(ev, "process", p);
    json_object_set_new(json_object_get(ev, "confidence"), "process_attribution",
                        json_string("direct"));
    json_object_set_new(ev, "data", data);
    json_t *attrs = json_object();
    json_object_set_new(fan, "mode", json_string(fanmon_mode_name(fm->mode)));
    json_object_set_new(attrs, "fanotify", fan);
    json_object_set_new(ev, "attrs", attrs);
    return ev;
}

static void emit(fanmon *fm, json_t *ev)
{
    count(fm, C_EVENTS);
    if (fm->cb)
        fm->cb(ev, fm->ctx);
    json_decref(ev);
}

static json_t *exec_data(const char *path, const char *hash)
{
    json_t *d = json_object();
    json_object_set_new(d, "exe", str_json(path));
    if (hash && hash[0])
        json_object_set_new(d, "binary_hash", json_pack("{ss}", "sha256", hash));
    return d;
}

static void work_perm(fanmon *fm, size_t idx)
{
    pthread_mutex_lock(&fm->mu);
    slot *s = &fm->slots[idx];
    s->state = SLOT_WORKING;
    int fd = s->fd; /* -1 if the watchdog already answered and closed it */
    uint32_t pid = s->pid;
    uint64_t mask = s->mask, ts = s->ts;
    char *path = s->path;
    s->path = NULL;
    pthread_mutex_unlock(&fm->mu);

    char hash[65] = "", exe[PATH_MAX] = "", link[64];
    const char *hash_why = NULL;
    if (fd >= 0 && hash_fd(fm, fd, hash, &hash_why) != 0)
        hash[0] = 0;
    snprintf(link, sizeof(link), "/proc/%u/exe", pid);
    ssize_t l = readlink(link, exe, sizeof(exe) - 1);
    exe[l > 0 ? l : 0] = 0;
    long matched;
    int allow = fanmon_evaluate(fm->mode, fm->rules, fm->nrules, path ? path : "", exe, hash,
                                &matched);

    pthread_mutex_lock(&fm->mu);
    respond_locked(fm, s, allow ? FAN_ALLOW : FAN_DENY, BY_RULES);
    int by = s->by;
    uint32_t response = s->response;
    *s = (slot){.state = SLOT_FREE, .fd = -1};
    pthread_mutex_unlock(&fm->mu);
    if (fd >= 0)
        close(fd);
    if (by == BY_RULES)
        count(fm, response == FAN_ALLOW ? C_ALLOWED : C_DENIED);

    json_t *fan = json_object();
    json_object_set_new(fan, "verdict", json_string(response == FAN_ALLOW ? "allow" : "deny"));
    json_object_set_new(fan, "decided_by",
                        json_string(by == BY_RULES && matched < 0 ? "default" : by_names[by]));
    if (by == BY_RULES && matched >= 0) {
        char rn[PATH_MAX + 32];
        fanmon_rule_name(&fm->rules[matched], rn, sizeof(rn));
        json_object_set_new(fan, "rule", str_json(rn));
    } else {
        json_object_set_new(fan, "rule", json_null());
    }
    json_object_set_new(fan, "mask", mask_json(mask));
    if (hash_why)
        json_object_set_new(fan, "hash_error", json_string(hash_why));
    json_t *ev = new_event(fm, "process.exec", "fan_open_exec_perm", ts, pid,
                           exec_data(path ? path : "", hash), fan);
    free(path);
    emit(fm, ev);
}

/* A run of modify events by one process on one file is reported once,
 * until its close-write.  Returns 1 to drop this one. */
static int modify_repeat(fanmon *fm, const note *n)
{
    if (!n->have_st)
        return 0;
    size_t h = ((size_t)n->st.st_ino * 131u + n->pid) % MODIFY_SLOTS;
    modify_key *k = &fm->mod[h];
    int same = k->pid == n->pid && k->dev == n->st.st_dev && k->ino == n->st.st_ino;
    if (n->mask & FAN_CLOSE_WRITE) {
        if (same)
            *k = (modify_key){0};
        return 0;
    }
    if (!(n->mask & FAN_MODIFY))
        return 0;
    if (same)
        return 1;
    *k = (modify_key){n->pid, n->st.st_dev, n->st.st_ino};
    return 0;
}

static void work_note(fanmon *fm, note *n)
{
    const char *path = n->path ? n->path : "";
    json_t *fan = json_object();
    json_object_set_new(fan, "mask", mask_json(n->mask));
    json_t *ev;
    if (n->mask & FAN_OPEN_EXEC) {
        char hash[65] = "";
        const char *why = NULL;
        if (n->fd >= 0 && hash_fd(fm, n->fd, hash, &why) != 0)
            hash[0] = 0;
        json_object_set_new(fan, "verdict", json_string("allow"));
        json_object_set_new(fan, "decided_by", json_string("passive"));
        json_object_set_new(fan, "rule", json_null());
        ev = new_event(fm, "process.exec", "fan_open_exec", n->ts, n->pid, exec_data(path, hash),
                       fan);
    } else if (n->mask & (FAN_MODIFY | FAN_CLOSE_WRITE)) {
        if (modify_repeat(fm, n)) {
            json_decref(fan);
            count(fm, C_SUPPRESSED);
            return;
        }
        json_t *d = json_object();
        json_object_set_new(d, "path", str_json(path));
        json_object_set_new(d, "file", file_info(path, n->have_st ? &n->st : NULL));
        ev = new_event(fm, "file.write",
                       (n->mask & FAN_CLOSE_WRITE) ? "fan_close_write" : "fan_modify", n->ts,
                       n->pid, d, fan);
    } else {
        json_t *d = json_object();
        json_object_set_new(d, "path", str_json(path));
        json_object_set_new(d, "flags", json_array()); /* fanotify does not tell them */
        json_object_set_new(d, "file", file_info(path, n->have_st ? &n->st : NULL));
        ev = new_event(fm, "file.open", "fan_open", n->ts, n->pid, d, fan);
        json_object_set_new(json_object_get(ev, "confidence"), "missing",
                            json_pack("[s]", "open_flags"));
    }
    emit(fm, ev);
}

static void *worker_main(void *arg)
{
    fanmon *fm = arg;
    pthread_mutex_lock(&fm->mu);
    for (;;) {
        while (!fm->pq_len && !fm->nq_len && !fm->worker_exit)
            pthread_cond_wait(&fm->work_cv, &fm->mu);
        if (fm->hard_stop || (fm->worker_exit && !fm->pq_len && !fm->nq_len))
            break;
        if (fm->pq_len) {
            size_t idx = fm->permq[fm->pq_head];
            fm->pq_head = (fm->pq_head + 1) % fm->nslots;
            fm->pq_len--;
            pthread_mutex_unlock(&fm->mu);
            work_perm(fm, idx);
        } else {
            note n = fm->notes[fm->nq_head];
            fm->nq_head = (fm->nq_head + 1) % NOTE_MAX;
            fm->nq_len--;
            pthread_mutex_unlock(&fm->mu);
            work_note(fm, &n);
            free(n.path);
            if (n.fd >= 0) {
                close(n.fd);
                pthread_mutex_lock(&fm->mu);
                fm->exec_fds--;
                pthread_mutex_unlock(&fm->mu);
            }
        }
        pthread_mutex_lock(&fm->mu);
    }
    fm->worker_done = 1;
    pthread_cond_broadcast(&fm->done_cv);
    pthread_mutex_unlock(&fm->mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Start and stop. */

/* Raises the soft RLIMIT_NOFILE to the hard one and sizes the pending
 * table to fit, so the kernel can always create the event fds. */
static size_t size_pending(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 64;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    long room = (long)rl.rlim_cur - 256 - EXEC_FD_MAX - READ_BUF / 24;
    if (room < 16)
        room = 16;
    return room < PENDING_MAX ? (size_t)room : PENDING_MAX;
}

static void release(fanmon *fm)
{
    if (!fm)
        return;
    for (size_t i = 0; fm->slots && i < fm->nslots; i++)
        free(fm->slots[i].path);
    for (size_t i = 0; fm->notes && i < fm->nq_len; i++) {
        note *n = &fm->notes[(fm->nq_head + i) % NOTE_MAX];
        free(n->path);
        if (n->fd >= 0)
            close(n->fd);
    }
    for (size_t i = 0; i < fm->nrules; i++)
        free((char *)fm->rules[i].value);
    free(fm->rules);
    for (size_t i = 0; i < fm->npaths; i++)
        free(fm->paths[i]);
    free(fm->paths);
    free(fm->slots);
    free(fm->permq);
    free(fm->notes);
    free(fm->hbuf);
    json_decref(fm->host);
    if (fm->fan >= 0)
        close_group(fm->fan);
    if (fm->wake >= 0)
        close(fm->wake);
    pthread_mutex_destroy(&fm->mu);
    pthread_cond_destroy(&fm->work_cv);
    pthread_cond_destroy(&fm->wd_cv);
    pthread_cond_destroy(&fm->done_cv);
    free(fm);
}

static int copy_config(fanmon *fm, const fanmon_config *cfg, char *err, size_t errlen)
{
    if (cfg->npaths == 0) {
        snprintf(err, errlen, "no path to watch");
        return -1;
    }
    fm->paths = calloc(cfg->npaths, sizeof(char *));
    fm->rules = calloc(cfg->nrules ? cfg->nrules : 1, sizeof(fanmon_rule));
    if (!fm->paths || !fm->rules) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->npaths; i++) {
        char *rp = realpath(cfg->paths[i], NULL);
        if (!rp) {
            snprintf(err, errlen, "%s: %s", cfg->paths[i], strerror(errno));
            return -1;
        }
        fm->paths[fm->npaths++] = rp;
    }
    for (size_t i = 0; i < cfg->nrules; i++) {
        if (fanmon_rule_check(&cfg->rules[i], err, errlen) != 0)
            return -1;
        fanmon_rule r = cfg->rules[i];
        char *v = strdup(r.value);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (r.kind == FANMON_RULE_HASH)
            for (char *p = v; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                    *p = (char)(*p - 'A' + 'a');
        r.value = v;
        fm->rules[fm->nrules++] = r;
    }
    fm->mode = cfg->mode;
    fm->events = cfg->events ? cfg->events : FANMON_EV_ALL;
    fm->timeout_ns = (uint64_t)(cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS) * 1000000ull;
    fm->max_hash = cfg->max_hash_bytes ? cfg->max_hash_bytes : DEFAULT_MAX_HASH;
    fm->cb = cfg->cb;
    fm->ctx = cfg->ctx;
    fm->host = json_incref(cfg->host);
    return 0;
}

static uint64_t mark_mask(const fanmon *fm)
{
    uint64_t m = 0;
    if (fm->events & FANMON_EV_EXEC)
        m |= fm->mode == FANMON_PASSIVE ? FAN_OPEN_EXEC : (FAN_OPEN_EXEC_PERM | FAN_OPEN_EXEC);
    if (fm->events & FANMON_EV_OPEN)
        m |= FAN_OPEN;
    if (fm->events & FANMON_EV_MODIFY)
        m |= FAN_MODIFY;
    if (fm->events & FANMON_EV_CLOSE_WRITE)
        m |= FAN_CLOSE_WRITE;
    return m;
}

static int init_sync(fanmon *fm)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_mutex_init(&fm->mu, NULL) || pthread_cond_init(&fm->work_cv, &ca) ||
             pthread_cond_init(&fm->wd_cv, &ca) || pthread_cond_init(&fm->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc ? -1 : 0;
}

fanmon *fanmon_start(const fanmon_config *cfg, char *err, size_t errlen)
{
    fanmon *fm = calloc(1, sizeof(*fm));
    if (!fm) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fm->fan = fm->wake = -1;
    if (init_sync(fm) != 0) {
        snprintf(err, errlen, "pthread init failed");
        free(fm);
        return NULL;
    }
    if (copy_config(fm, cfg, err, errlen) != 0)
        goto fail;
    clock_sync();
    if (!fm->host)
        fm->host = event_host_info(); /* read now: nothing is marked yet */
    fm->self = getpid();
    fm->nslots = size_pending();
    fm->slots = calloc(fm->nslots, sizeof(slot));
    fm->permq = calloc(fm->nslots, sizeof(uint32_t));
    fm->notes = calloc(NOTE_MAX, sizeof(note));
    fm->hbuf = malloc(HASH_CHUNK);
    if (!fm->slots || !fm->permq || !fm->notes || !fm->hbuf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < fm->nslots; i++)
        fm->slots[i].fd = -1;
    fm->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    fm->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
                            O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (fm->wake < 0 || fm->fan < 0) {
        snprintf(err, errlen, "fanotify_init: %s%s", strerror(errno),
                 errno == EPERM ? " (needs root / CAP_SYS_ADMIN)" : "");
        goto fail;
    }
    if (register_group(fm->fan) != 0) { /* before any mark: children must not hold it */
        snprintf(err, errlen, "too many fanotify monitors in this process");
        close(fm->fan);
        fm->fan = -1;
        goto fail;
    }
    unsigned flags = FAN_MARK_ADD | (cfg->filesystem_marks ? FAN_MARK_FILESYSTEM : FAN_MARK_MOUNT);
    uint64_t mask = mark_mask(fm);
    for (size_t i = 0; i < fm->npaths; i++)
        if (fanotify_mark(fm->fan, flags, mask, AT_FDCWD, fm->paths[i]) != 0) {
            snprintf(err, errlen, "fanotify_mark %s: %s", fm->paths[i], strerror(errno));
            goto fail;
        }
    /* From here on the threads must run: the reader answers what arrives. */
    if (pthread_create(&fm->watchdog, NULL, watchdog_main, fm) != 0)
        goto fail_threads;
    fm->have_watchdog = 1;
    if (pthread_create(&fm->worker, NULL, worker_main, fm) != 0)
        goto fail_threads;
    fm->have_worker = 1;
    if (pthread_create(&fm->reader, NULL, reader_main, fm) != 0)
        goto fail_threads;
    fm->have_reader = 1;
    return fm;

fail_threads:
    snprintf(err, errlen, "cannot start threads");
    fanmon_free(fm);
    return NULL;
fail:
    release(fm);
    return NULL;
}

void fanmon_stop(fanmon *fm)
{
    if (!fm || fm->stopped)
        return;
    fm->stopped = 1;
    atomic_store(&fm->stopping, 1);
    uint64_t one = 1;
    if (fm->wake >= 0 && write(fm->wake, &one, sizeof(one)) < 0) {
        /* the reader also wakes up every second by itself */
    }
    if (fm->have_reader)
        pthread_join(fm->reader, NULL);

    /* Let the worker drain its queue, for a while. */
    pthread_mutex_lock(&fm->mu);
    fm->worker_exit = 1;
    pthread_cond_broadcast(&fm->work_cv);
    struct timespec ts;
    mono_timespec(&ts, mono_ns() + DRAIN_NS);
    while (fm->have_worker && !fm->worker_done)
        if (pthread_cond_timedwait(&fm->done_cv, &fm->mu, &ts) == ETIMEDOUT)
            break;
    fm->hard_stop = 1;
    /* Allow whatever is still pending, then close the group: the kernel
     * allows what was never read. */
    for (size_t i = 0; i < fm->nslots; i++) {
        slot *s = &fm->slots[i];
        if (s->state == SLOT_FREE)
            continue;
        if (!s->answered) {
            respond_locked(fm, s, FAN_ALLOW, BY_STOP);
            count(fm, C_STOP_ALLOWED);
        }
        if (s->state == SLOT_QUEUED && s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
        }
    }
    if (fm->fan >= 0) {
        close_group(fm->fan);
        fm->fan = -1;
    }
    atomic_fetch_add(&fm->c[C_STOP_DROPPED], fm->nq_len + fm->pq_len);
    fm->wd_exit = 1;
    pthread_cond_broadcast(&fm->wd_cv);
    pthread_cond_broadcast(&fm->work_cv);
    pthread_mutex_unlock(&fm->mu);
    if (fm->have_watchdog)
        pthread_join(fm->watchdog, NULL);
    if (fm->have_worker) /* waits for a callback still running */
        pthread_join(fm->worker, NULL);
}

void fanmon_free(fanmon *fm)
{
    if (!fm)
        return;
    fanmon_stop(fm);
    release(fm);
}

json_t *fanmon_counters_json(fanmon *fm)
{
    json_t *o = json_object();
    json_object_set_new(o, "mode", json_string(fanmon_mode_name(fm->mode)));
    for (int i = 0; i < C_N; i++)
        json_object_set_new(o, counter_names[i], json_integer((json_int_t)atomic_load(&fm->c[i])));
    json_object_set_new(o, "pending_slots", json_integer((json_int_t)fm->nslots));
    return o;
}

uint64_t fanmon_counter(fanmon *fm, const char *name)
{
    for (int i = 0; i < C_N; i++)
        if (strcmp(name, counter_names[i]) == 0)
            return atomic_load(&fm->c[i]);
    return 0;
}

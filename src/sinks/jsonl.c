/* jsonl.c: buffered JSON Lines file sink with rotation, background fsync
 * and write-behind (see jsonl.h for the guarantees).
 *
 * Everything runs on the caller's thread except what may wait on the disk,
 * which a helper thread does on a dup() of the current fd, so a slow disk
 * never stalls capture: fdatasync (fsync_ms) and write-behind.  The mutex
 * only guards the hand-over with that helper.
 *
 * Write-behind: every WRITE_BEHIND bytes written to a regular file, the
 * helper hands the new span to writeback (sync_file_range) and drops the
 * span it handed over the time before, written out by now, from the page
 * cache (POSIX_FADV_DONTNEED skips pages still being written).  A sensor writing
 * gigabytes of events then keeps a few MB of them cached instead of
 * filling memory with pages nobody reads back, and the same pages are
 * reused: on a VM whose memory the host backs lazily, copying events into
 * never-touched pages cost a quarter of the sensor's CPU. */
#include "sinks/jsonl.h"
#include "sinks/sink.h"
#include "util/monotime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define JSONL_BUF (256 * 1024)
#define WRITE_BEHIND (8u << 20)

struct jsonl_sink {
    char *path; /* NULL for stdout */
    jsonl_opts o;
    int fd;
    int own_fd;
    char *buf;
    size_t used;
    size_t buffered_lines; /* lines in buf, lost if their write fails */
    uint64_t file_size;    /* bytes in the current file */
    int regular;           /* the file is a regular file: write-behind applies */
    uint64_t wb_asked;     /* file_size when write-behind was last asked for */
    uint64_t opened_ns, oldest_ns;
    jsonl_stats st;

    /* the helper thread; wb_* are shared with it under mu */
    pthread_t syncer;
    int syncer_on, stop, dirty;
    int retired_fd;    /* a rotated-out file still to sync and close */
    uint64_t wb_size;  /* bytes of the current file to hand to writeback */
    uint64_t wb_base;  /* size of the current file when it was opened */
    unsigned wb_gen;   /* bumped when the current file changes */
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

void jsonl_opts_default(jsonl_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->rotate_keep = 5;
    o->flush_ms = 100;
}

/* ---- opening ---- */

/* If the file ends in a fragment (a crash mid-line), end it with '\n'. */
static int terminate_torn_tail(int fd, uint64_t size)
{
    char last;
    if (size == 0 || pread(fd, &last, 1, (off_t)size - 1) != 1 || last == '\n')
        return 0;
    return write(fd, "\n", 1) == 1 ? 1 : -1;
}

static int open_file(jsonl_sink *s, char *err, size_t errlen)
{
    int fd = open(s->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    struct stat st;
    s->file_size = 0;
    s->regular = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        s->regular = 1;
        if (st.st_mode & 077)
            fchmod(fd, 0600); /* an existing file keeps no wider access than ours */
        s->file_size = (uint64_t)st.st_size;
        if (terminate_torn_tail(fd, s->file_size) > 0)
            s->file_size++;
    }
    s->fd = fd;
    s->opened_ns = mono_ns();
    s->wb_asked = s->file_size;
    return 0;
}

static void *syncer_main(void *arg);

jsonl_sink *jsonl_open_opts(const char *path, const jsonl_opts *o, char *err, size_t errlen)
{
    jsonl_sink *s = calloc(1, sizeof(*s));
    char *buf = malloc(JSONL_BUF);
    if (!s || !buf) {
        free(s);
        free(buf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->o = *o;
    if (s->o.rotate_keep < 0)
        s->o.rotate_keep = 0;
    s->buf = buf;
    s->retired_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (strcmp(path, "-") == 0) {
        s->fd = STDOUT_FILENO;
        s->o.rotate_size = 0;
        s->o.rotate_interval_s = 0;
    } else {
        s->path = strdup(path);
        s->own_fd = 1;
        if (!s->path || open_file(s, err, errlen)) {
            if (!s->path)
                snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    s->wb_size = s->wb_base = s->file_size;
    if (s->o.fsync_ms > 0 || s->regular) {
        int e = pthread_create(&s->syncer, NULL, syncer_main, s);
        if (e) {
            snprintf(err, errlen, "cannot start the file's helper thread: %s", strerror(e));
            if (s->own_fd)
                close(s->fd);
            goto fail;
        }
        s->syncer_on = 1;
    }
    return s;
fail:
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->path);
    free(s->buf);
    free(s);
    return NULL;
}

jsonl_sink *jsonl_open(const char *path, char *err, size_t errlen)
{
    jsonl_opts o;
    jsonl_opts_default(&o);
    return jsonl_open_opts(path, &o, err, errlen);
}

/* ---- background fsync ---- */

/* Hands [*started, upto) to writeback and drops [*dropped, *started),
 * handed over the time before, from the page cache. */
static void write_behind(int fd, uint64_t upto, uint64_t *started, uint64_t *dropped)
{
    if (*started > *dropped)
        posix_fadvise(fd, (off_t)*dropped, (off_t)(*started - *dropped), POSIX_FADV_DONTNEED);
    sync_file_range(fd, (off_t)*started, (off_t)(upto - *started), SYNC_FILE_RANGE_WRITE);
    *dropped = *started;
    *started = upto;
}

static void wait_for_work(jsonl_sink *s)
{
    if (s->o.fsync_ms <= 0) {
        pthread_cond_wait(&s->cv, &s->mu);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)s->o.fsync_ms * 1000000ull;
    ts.tv_sec += (time_t)(ns / 1000000000ull);
    ts.tv_nsec = (long)(ns % 1000000000ull);
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

static void *syncer_main(void *arg)
{
    jsonl_sink *s = arg;
    unsigned gen = s->wb_gen;
    uint64_t started = s->wb_base, dropped = s->wb_base;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        wait_for_work(s);
        if (gen != s->wb_gen) { /* rotated: a new file */
            gen = s->wb_gen;
            started = dropped = s->wb_base;
        }
        uint64_t upto = s->wb_size;
        int behind = s->regular && upto - started >= WRITE_BEHIND;
        int sync = s->dirty;
        int retired = s->retired_fd, fd = -1;
        s->retired_fd = -1;
        if ((sync || behind) && s->fd >= 0)
            fd = dup(s->fd);
        s->dirty = 0;
        pthread_mutex_unlock(&s->mu);
        if (retired >= 0) {
            fdatasync(retired);
            close(retired);
        }
        if (fd >= 0) {
            if (behind)
                write_behind(fd, upto, &started, &dropped);
            if (sync)
                fdatasync(fd);
            close(fd);
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- writing ---- */

/* After a write: tell the helper when fsync or write-behind has work.
 * The mutex is taken only then, not on every write. */
static void notify_helper(jsonl_sink *s)
{
    int behind = s->regular && s->file_size - s->wb_asked >= WRITE_BEHIND;
    int sync = s->o.fsync_ms > 0;
    if (!s->syncer_on || (!behind && !sync))
        return;
    pthread_mutex_lock(&s->mu);
    if (sync)
        s->dirty = 1;
    if (behind) {
        s->wb_asked = s->wb_size = s->file_size;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

static int write_iov(jsonl_sink *s, struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    while (total) {
        ssize_t w = writev(s->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            s->st.write_errors++;
            return -1;
        }
        s->file_size += (uint64_t)w;
        total -= (size_t)w;
        while (n && (size_t)w >= iov->iov_len) { /* a short write: go on from where it stopped */
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    notify_helper(s);
    return 0;
}

int jsonl_flush(jsonl_sink *s)
{
    if (!s->used)
        return 0;
    struct iovec iov = {s->buf, s->used};
    int r = write_iov(s, &iov, 1);
    if (r < 0)
        s->st.dropped += s->buffered_lines;
    s->used = 0;
    s->buffered_lines = 0;
    return r;
}

/* PATH.(i) -> PATH.(i+1), PATH -> PATH.1, new PATH.  The buffer is empty. */
static int rotate(jsonl_sink *s)
{
    char from[PATH_MAX], to[PATH_MAX];
    int keep = s->o.rotate_keep;
    snprintf(to, sizeof(to), "%s.%d", s->path, keep + 1);
    for (int i = keep; i >= 1; i--) {
        snprintf(from, sizeof(from), "%s.%d", s->path, i);
        if (i == keep)
            unlink(from);
        else {
            snprintf(to, sizeof(to), "%s.%d", s->path, i + 1);
            rename(from, to);
        }
    }
    if (keep > 0) {
        snprintf(to, sizeof(to), "%s.1", s->path);
        rename(s->path, to);
    } else {
        unlink(s->path);
    }
    int old = s->fd;
    char err[256];
    if (open_file(s, err, sizeof(err))) {
        s->fd = old; /* keep writing to the renamed file rather than lose lines */
        s->st.write_errors++;
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    if (s->syncer_on && s->o.fsync_ms > 0 && s->retired_fd < 0) {
        s->retired_fd = old; /* the helper syncs and closes it */
        old = -1;
    }
    s->wb_gen++;
    s->wb_base = s->wb_size = s->file_size;
    pthread_mutex_unlock(&s->mu);
    if (old >= 0)
        close(old);
    s->st.rotations++;
    return 0;
}

static int time_to_rotate(const jsonl_sink *s, uint64_t now)
{
    return s->o.rotate_interval_s > 0 && s->file_size + s->used > 0 &&
           now - s->opened_ns >= (uint64_t)s->o.rotate_interval_s * 1000000000ull;
}

void jsonl_tick(jsonl_sink *s)
{
    uint64_t now = mono_ns();
    if (s->used && now - s->oldest_ns >= (uint64_t)s->o.flush_ms * 1000000ull)
        jsonl_flush(s);
    if (time_to_rotate(s, now)) {
        jsonl_flush(s);
        rotate(s);
    }
}

int jsonl_write(jsonl_sink *s, const char *line, size_t len)
{
    uint64_t now = mono_ns();
    uint64_t after = s->file_size + s->used + len + 1;
    if ((s->o.rotate_size && after > s->o.rotate_size && s->file_size + s->used > 0) ||
        time_to_rotate(s, now)) {
        jsonl_flush(s);
        rotate(s);
    }
    if (s->used + len + 1 > JSONL_BUF)
        jsonl_flush(s); /* a failure is counted there */
    if (len + 1 > JSONL_BUF) { /* bigger than the buffer: write it alone, still in one call */
        struct iovec iov[2] = {{(void *)line, len}, {"\n", 1}};
        if (write_iov(s, iov, 2) < 0) {
            s->st.dropped++;
            return -1;
        }
    } else {
        if (!s->used)
            s->oldest_ns = now;
        memcpy(s->buf + s->used, line, len);
        s->buf[s->used + len] = '\n';
        s->used += len + 1;
        s->buffered_lines++;
    }
    s->st.lines++;
    s->st.bytes += len + 1;
    if (s->used && now - s->oldest_ns >= (uint64_t)s->o.flush_ms * 1000000ull)
        jsonl_flush(s);
    return 0;
}

void jsonl_close(jsonl_sink *s)
{
    if (!s)
        return;
    jsonl_flush(s);
    if (s->syncer_on) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->syncer, NULL);
        if (s->retired_fd >= 0) {
            fdatasync(s->retired_fd);
            close(s->retired_fd);
        }
        fdatasync(s->fd);
    }
    if (s->own_fd)
        close(s->fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->path);
    free(s->buf);
    free(s);
}

const jsonl_stats *jsonl_get_stats(const jsonl_sink *s) { return &s->st; }

/* ---- the sink interface (sink.h) ---- */

typedef struct jsonl_as_sink {
    sink base;
    jsonl_sink *j;
    uint64_t submitted;
} jsonl_as_sink;

static int js_submit(sink *s, const sink_event *e)
{
    jsonl_as_sink *js = (jsonl_as_sink *)s;
    js->submitted++;
    return jsonl_write(js->j, e->line, e->len);
}

/* The record loop calls this every 100 ms: write what is flush_ms old, rotate if due. */
static void js_flush(sink *s) { jsonl_tick(((jsonl_as_sink *)s)->j); }

static void js_close(sink *s, int drain_timeout_ms)
{
    (void)drain_timeout_ms;
    jsonl_close(((jsonl_as_sink *)s)->j);
    free(s);
}

static void js_stats(sink *s, sink_stats *out)
{
    jsonl_as_sink *js = (jsonl_as_sink *)s;
    const jsonl_stats *st = jsonl_get_stats(js->j);
    memset(out, 0, sizeof(*out));
    out->submitted = js->submitted;
    out->dropped = st->dropped;
    out->delivered = st->lines - st->dropped; /* includes lines buffered for <= flush_ms */
    out->failed = st->write_errors;
}

static const sink_vtbl jsonl_vtbl = {"jsonl", js_submit, js_flush, js_close, js_stats};

sink *sink_jsonl_new_opts(const char *path, const jsonl_opts *o, char *err, size_t errlen)
{
    jsonl_sink *j = jsonl_open_opts(path, o, err, errlen);
    if (!j)
        return NULL;
    jsonl_as_sink *s = calloc(1, sizeof(*s));
    if (!s) {
        jsonl_close(j);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.v = &jsonl_vtbl;
    snprintf(s->base.name, sizeof(s->base.name), "jsonl:%s", path);
    s->j = j;
    return &s->base;
}

sink *sink_jsonl_new(const char *path, char *err, size_t errlen)
{
    jsonl_opts o;
    jsonl_opts_default(&o);
    return sink_jsonl_new_opts(path, &o, err, errlen);
}

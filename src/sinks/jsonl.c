/* jsonl.c: buffered JSON Lines file sink (see jsonl.h). */
#include "sinks/jsonl.h"
#include "sinks/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSONL_BUF (256 * 1024)

struct jsonl_sink {
    int fd;
    int own_fd;
    char *buf;
    size_t used;
    size_t buffered_lines; /* lines in buf, lost if their write fails */
    jsonl_stats st;
};

jsonl_sink *jsonl_open(const char *path, char *err, size_t errlen)
{
    int fd, own = 1;
    if (strcmp(path, "-") == 0) {
        fd = STDOUT_FILENO;
        own = 0;
    } else {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return NULL;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
            fchmod(fd, 0600); /* an existing file keeps no wider access than ours */
    }
    jsonl_sink *s = calloc(1, sizeof(*s));
    char *buf = malloc(JSONL_BUF);
    if (!s || !buf) {
        free(s);
        free(buf);
        if (own)
            close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->fd = fd;
    s->own_fd = own;
    s->buf = buf;
    return s;
}

static int write_all(jsonl_sink *s, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            s->st.write_errors++;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int jsonl_flush(jsonl_sink *s)
{
    if (!s->used)
        return 0;
    int r = write_all(s, s->buf, s->used);
    if (r < 0)
        s->st.dropped += s->buffered_lines;
    s->used = 0;
    s->buffered_lines = 0;
    return r;
}

int jsonl_write(jsonl_sink *s, const char *line, size_t len)
{
    if (s->used + len + 1 > JSONL_BUF)
        jsonl_flush(s); /* a failure is counted there */
    if (len + 1 > JSONL_BUF) { /* bigger than the buffer: write it alone */
        int r = write_all(s, line, len);
        if (r == 0)
            r = write_all(s, "\n", 1);
        if (r < 0) {
            s->st.dropped++;
            return -1;
        }
    } else {
        memcpy(s->buf + s->used, line, len);
        s->buf[s->used + len] = '\n';
        s->used += len + 1;
        s->buffered_lines++;
    }
    s->st.lines++;
    s->st.bytes += len + 1;
    return 0;
}

void jsonl_close(jsonl_sink *s)
{
    if (!s)
        return;
    jsonl_flush(s);
    if (s->own_fd)
        close(s->fd);
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

static void js_flush(sink *s) { jsonl_flush(((jsonl_as_sink *)s)->j); }

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
    out->delivered = st->lines - st->dropped; /* includes lines buffered for <= 100 ms */
    out->failed = st->write_errors;
}

static const sink_vtbl jsonl_vtbl = {"jsonl", js_submit, js_flush, js_close, js_stats};

sink *sink_jsonl_new(const char *path, char *err, size_t errlen)
{
    jsonl_sink *j = jsonl_open(path, err, errlen);
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

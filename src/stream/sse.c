/* sse.c: incremental Server-Sent Events parser (see sse.h).
 *
 * The parser scans each feed with memchr for line ends.  A line that lies
 * wholly inside one feed is processed in place; only a line split across
 * feeds is copied into p->line.  "data:" values are appended to the event's
 * data buffer with an LF after each; a blank line dispatches the event (if
 * its data buffer is non-empty, per WHATWG) and resets the event state.  A CR
 * at the very end of a feed is remembered so that an LF starting the next
 * feed is taken as the second half of the same CRLF.
 *
 * Memory is bounded: the carried line and the data buffer never grow past
 * max_event_bytes (plus a little room for the field name); bytes beyond are
 * dropped and the event is counted once in `truncated`.  The event type and
 * id are bounded by SSE_FIELD_MAX. */
#include "stream/sse.h"

#include <stdlib.h>
#include <string.h>

#define SSE_DEFAULT_MAX   ((size_t)8 << 20)
#define SSE_FIELD_MAX     1024            /* event type / id values */
#define SSE_LINE_SLACK    (SSE_FIELD_MAX + 16)
#define SSE_KEEP_CAPACITY ((size_t)1 << 20) /* free bigger buffers after use */

typedef struct sse_buf {
    char *p;
    size_t len, cap;
} sse_buf;

struct sse_parser {
    size_t max;             /* bound on one event's data */
    sse_event_cb cb;
    void *ctx;
    uint64_t pos;           /* stream offset of the next byte fed */
    unsigned bom_seen;      /* UTF-8 BOM bytes matched at stream start (3 = done) */
    int after_cr;           /* previous line ended in CR: skip one LF */
    sse_buf line;           /* partial line carried between feeds */
    size_t line_offset;     /* stream offset of the carried line */
    int line_cut;           /* the carried line lost bytes */
    sse_buf data;           /* joined data lines of the current event */
    char event[SSE_FIELD_MAX + 1];
    char id[SSE_FIELD_MAX + 1];
    int ev_started;         /* a field line of the current event was seen */
    size_t ev_offset;       /* offset of that line */
    int ev_cut;             /* the current event lost bytes */
    uint64_t truncated;
};

static const unsigned char SSE_BOM[3] = {0xEF, 0xBB, 0xBF};

/* Appends up to `limit - b->len` bytes, keeping room for a NUL.  Returns 0
 * when everything fitted, 1 when bytes were dropped (limit or no memory). */
static int sse_buf_put(sse_buf *b, const char *s, size_t n, size_t limit)
{
    int cut = 0;
    if (b->len >= limit)
        return n > 0;
    if (n > limit - b->len) {
        n = limit - b->len;
        cut = 1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return cut;
}

static void sse_buf_release_if_big(sse_buf *b)
{
    b->len = 0;
    if (b->cap > SSE_KEEP_CAPACITY) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

static void sse_set_field(char *dst, const char *v, size_t n, int *cut)
{
    if (n > SSE_FIELD_MAX) {
        n = SSE_FIELD_MAX;
        *cut = 1;
    }
    memcpy(dst, v, n);
    dst[n] = 0;
}

static void sse_reset_event(sse_parser *p)
{
    sse_buf_release_if_big(&p->data);
    p->event[0] = 0;
    p->ev_started = 0;
    p->ev_cut = 0;
}

/* Blank line: hand the event to the callback if it has data. */
static void sse_dispatch(sse_parser *p)
{
    if (p->data.len == 0) {
        if (p->ev_cut)
            p->truncated++;
        sse_reset_event(p);
        return;
    }
    if (p->data.p[p->data.len - 1] == '\n')
        p->data.len--;
    p->data.p[p->data.len] = 0;

    sse_event ev = {
        .event = p->event[0] ? p->event : "message",
        .data = p->data.p,
        .data_len = p->data.len,
        .id = p->id,
        .offset = p->ev_offset,
    };
    if (p->ev_cut)
        p->truncated++;
    if (p->cb)
        p->cb(p->ctx, &ev);
    sse_reset_event(p);
}

/* One line without its terminator.  `cut` says the line lost its tail.
 * A line longer than a carried line may grow is cut here to the same
 * length, so that a line seen whole in one feed and one carried across
 * feeds give the same event (an id whose NUL lies past the cut, say). */
static void sse_process_line(sse_parser *p, const char *s, size_t n, size_t offset, int cut)
{
    if (n > p->max + SSE_LINE_SLACK) {
        n = p->max + SSE_LINE_SLACK;
        cut = 1;
    }
    if (n == 0 && !cut) {
        sse_dispatch(p);
        return;
    }
    if (n > 0 && s[0] == ':')
        return; /* comment */

    const char *colon = memchr(s, ':', n);
    size_t flen = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vlen = (size_t)(s + n - v);
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }

    if (!p->ev_started) {
        p->ev_started = 1;
        p->ev_offset = offset;
    }
    if (flen == 4 && memcmp(s, "data", 4) == 0) {
        if (sse_buf_put(&p->data, v, vlen, p->max) || cut)
            p->ev_cut = 1;
        if (sse_buf_put(&p->data, "\n", 1, p->max))
            p->ev_cut = 1;
    } else if (flen == 5 && memcmp(s, "event", 5) == 0) {
        sse_set_field(p->event, v, vlen, &p->ev_cut);
    } else if (flen == 2 && memcmp(s, "id", 2) == 0) {
        if (!memchr(v, 0, vlen))
            sse_set_field(p->id, v, vlen, &p->ev_cut);
    }
    /* "retry" and unknown fields: nothing to keep for a passive observer. */
}

/* Position of the first CR or LF in s[0..n), or n.  memchr for LF over the
 * whole rest, then for CR only before that LF, keeps the scan linear. */
static size_t sse_find_eol(const char *s, size_t n)
{
    const char *lf = memchr(s, '\n', n);
    size_t lim = lf ? (size_t)(lf - s) : n;
    const char *cr = memchr(s, '\r', lim);
    return cr ? (size_t)(cr - s) : lim;
}

static void sse_carry(sse_parser *p, const char *s, size_t n)
{
    if (p->line.len == 0 && !p->line_cut)
        p->line_offset = (size_t)p->pos;
    if (sse_buf_put(&p->line, s, n, p->max + SSE_LINE_SLACK))
        p->line_cut = 1;
}

static void sse_finish_carried_line(sse_parser *p)
{
    sse_process_line(p, p->line.p ? p->line.p : "", p->line.len, p->line_offset, p->line_cut);
    sse_buf_release_if_big(&p->line);
    p->line_cut = 0;
}

static void sse_feed_lines(sse_parser *p, const char *s, size_t len)
{
    while (len > 0) {
        if (p->after_cr) {
            p->after_cr = 0;
            if (s[0] == '\n') {
                s++;
                len--;
                p->pos++;
                continue;
            }
        }
        size_t eol = sse_find_eol(s, len);
        if (eol == len) {
            sse_carry(p, s, len);
            p->pos += len;
            return;
        }
        if (p->line.len > 0 || p->line_cut) {
            sse_carry(p, s, eol);
            sse_finish_carried_line(p);
        } else {
            sse_process_line(p, s, eol, (size_t)p->pos, 0);
        }
        p->after_cr = s[eol] == '\r';
        s += eol + 1;
        len -= eol + 1;
        p->pos += eol + 1;
    }
}

/* A UTF-8 BOM at the very start of the stream is skipped.  Bytes that began
 * like a BOM but were not one go back into the line. */
static size_t sse_skip_bom(sse_parser *p, const uint8_t *data, size_t len)
{
    size_t i = 0;
    while (p->bom_seen < 3 && i < len) {
        if (data[i] != SSE_BOM[p->bom_seen]) {
            unsigned matched = p->bom_seen;
            p->bom_seen = 3;
            if (matched) {
                p->pos -= matched;
                sse_feed_lines(p, (const char *)SSE_BOM, matched);
            }
            return i;
        }
        p->bom_seen++;
        p->pos++;
        i++;
    }
    return i;
}

static void sse_init(sse_parser *p, size_t max_event_bytes, sse_event_cb cb, void *ctx)
{
    memset(p, 0, sizeof(*p));
    p->max = max_event_bytes ? max_event_bytes : SSE_DEFAULT_MAX;
    p->cb = cb;
    p->ctx = ctx;
}

static void sse_destroy(sse_parser *p)
{
    free(p->line.p);
    free(p->data.p);
}

sse_parser *sse_parser_new(size_t max_event_bytes, sse_event_cb cb, void *ctx)
{
    sse_parser *p = malloc(sizeof(*p));
    if (p)
        sse_init(p, max_event_bytes, cb, ctx);
    return p;
}

void sse_parser_feed(sse_parser *p, const uint8_t *data, size_t len)
{
    if (!p || !data || len == 0)
        return;
    size_t skip = sse_skip_bom(p, data, len);
    sse_feed_lines(p, (const char *)data + skip, len - skip);
}

void sse_parser_finish(sse_parser *p)
{
    if (!p)
        return;
    if (p->bom_seen < 3) { /* stream was only a BOM prefix */
        unsigned matched = p->bom_seen;
        p->bom_seen = 3;
        p->pos -= matched;
        sse_feed_lines(p, (const char *)SSE_BOM, matched);
    }
    if (p->line.len > 0 || p->line_cut)
        sse_finish_carried_line(p);
    p->after_cr = 0;
    sse_dispatch(p);
}

uint64_t sse_parser_truncated(const sse_parser *p)
{
    return p ? p->truncated : 0;
}

void sse_parser_free(sse_parser *p)
{
    if (!p)
        return;
    sse_destroy(p);
    free(p);
}

typedef struct sse_counter {
    sse_event_cb cb;
    void *ctx;
    size_t n;
} sse_counter;

static void sse_count_event(void *ctx, const sse_event *ev)
{
    sse_counter *c = ctx;
    c->n++;
    if (c->cb)
        c->cb(c->ctx, ev);
}

size_t sse_parse_all(const uint8_t *data, size_t len, sse_event_cb cb, void *ctx)
{
    sse_counter c = {cb, ctx, 0};
    sse_parser p;
    sse_init(&p, 0, sse_count_event, &c);
    sse_parser_feed(&p, data, len);
    sse_parser_finish(&p);
    sse_destroy(&p);
    return c.n;
}

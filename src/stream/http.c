/* http.c: incremental HTTP/1.1 parser (see http.h).
 *
 * One parser per connection direction, a state machine fed whatever pieces
 * the capture saw:
 *
 *   RESYNC --feed starting like a message--> IDLE --start--> HEAD
 *   HEAD --blank line--> BODY_LEN | BODY_CLOSE | CHUNK_SIZE <-> CHUNK_DATA
 *        (-> CHUNK_CRLF -> CHUNK_SIZE ... -> TRAILER) --> IDLE
 *
 * The header block is gathered into one buffer (bounded by max_header_bytes),
 * searched for its blank line with memchr, and parsed in place: lines are cut
 * with NULs and the buffer becomes the message's head_block, so header
 * strings cost no copy and one allocation.  Body bytes go through the content
 * decoder (or plain memcpy) straight into the message's body buffer.
 *
 * Sync: a parser starts in RESYNC (the capture may attach mid-stream) and
 * returns there after an error or a gap; there it drops whole feeds until
 * one begins like a message ("GET ", "POST ", ... or "HTTP/1.").  A feed too
 * short to tell (one byte, say) is taken tentatively and checked as the head
 * grows.  Errors inside a body deliver the message so far as INCOMPLETE so
 * the layer above can keep pairing requests with responses.
 *
 * Framing follows RFC 9112 6.3: no body for responses to HEAD, 1xx, 204 and
 * 304.  Interim responses (100, 103) are dropped and the final one delivered;
 * 101 and a 2xx to CONNECT are delivered and the rest of the stream is a
 * tunnel, dropped until a resync.  Content-Length together with
 * Transfer-Encoding, disagreeing lengths and a request body that is neither
 * counted nor chunked are errors.  obs-fold lines are joined with one SP.
 * For a content-encoded body decoding stops at the body limit; body_dropped
 * then counts the encoded bytes left undecoded (a lower bound).
 *
 * Marks: every feed that adds decoded body bytes records (offset, ts); when
 * max_marks is reached every other mark is dropped, halving the resolution. */
#include "stream/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stream/content.h"

#define HEAD_INIT_CAP 1024
#define CHUNK_LINE_MAX 4096    /* chunk-size line, extensions included */
#define LINE_INIT_CAP 64
#define HEAD_KEEP_CAP 4096     /* a bigger idle head buffer is given back */
#define RESERVE_HINT_MAX ((size_t)1 << 20) /* trust a length header this far up front */
#define MARKS_INIT_CAP 16
#define ENCODING_MAX 256       /* joined Content-Encoding + Transfer-Encoding */
#define CHUNK_SIZE_MAX ((uint64_t)1 << 62)

typedef enum {
    P_RESYNC,      /* out of sync: waiting for a feed that starts a message */
    P_IDLE,        /* between messages */
    P_HEAD,        /* gathering the start line and headers */
    P_BODY_LEN,    /* Content-Length body */
    P_BODY_CLOSE,  /* body ends when the connection closes */
    P_CHUNK_SIZE,  /* chunked: reading a chunk-size line */
    P_CHUNK_DATA,  /* chunked: inside chunk data */
    P_CHUNK_CRLF,  /* chunked: CRLF after chunk data */
    P_TRAILER,     /* chunked: trailer section after the last chunk */
} parse_state;

typedef enum { BODY_NONE, BODY_LEN, BODY_CHUNKED, BODY_CLOSE } body_kind;

struct http_parser {
    http_parse_kind kind;
    http_limits lim;
    http_parser_cb cb;
    parse_state state;
    int verified;        /* the current message's start matched a known start */
    int from_resync;     /* current message began in resync: a false start is no error */
    int after_head;      /* what to do once the current head is delivered */
    char *head;          /* header block being gathered; becomes msg->head_block */
    size_t head_len, head_cap;
    char *line;          /* chunk-size line split across feeds */
    size_t line_len, line_cap;
    http_msg *msg;       /* message in progress (NULL when idle) */
    content_buf body;
    content_decoder *dec;
    size_t marks_cap;
    uint64_t remaining;  /* Content-Length or chunk bytes still to come */
    int got_cr;          /* P_CHUNK_CRLF: the CR has been seen */
    uint64_t trailer_len;
    size_t tline_len;    /* P_TRAILER: bytes in the current trailer line */
    uint8_t tlast;       /* P_TRAILER: last byte of the current line */
    uint64_t feed_seq;   /* counts feeds, so each feed marks a body once */
    uint64_t mark_seq;
    int body_started;    /* body bytes (encoded) have arrived */
    uint64_t first_body_ts;
    http_parser_stats stats;
};

enum { AFTER_IDLE, AFTER_TUNNEL };

/* ---- messages ----------------------------------------------------------- */

const char *http_msg_header(const http_msg *m, const char *name)
{
    if (!m || !name)
        return NULL;
    for (size_t i = 0; i < m->nheaders; i++)
        if (m->headers[i].name && strcasecmp(m->headers[i].name, name) == 0)
            return m->headers[i].value;
    return NULL;
}

void http_msg_free(http_msg *m)
{
    if (!m)
        return;
    if (m->head_block) {
        free(m->head_block);
    } else {
        free(m->target);
        free(m->reason);
        for (size_t i = 0; i < m->nheaders; i++) {
            free(m->headers[i].name);
            free(m->headers[i].value);
        }
    }
    free(m->headers);
    free(m->body);
    free(m->marks);
    free(m);
}

void http_limits_default(http_limits *l)
{
    l->max_header_bytes = 64 * 1024;
    l->max_body_bytes = 16 * 1024 * 1024;
    l->max_marks = 4096;
}

/* ---- message starts ------------------------------------------------------ */

static const struct { const char *pat; size_t len; } k_request_starts[] = {
    {"GET ", 4},    {"POST ", 5},    {"PUT ", 4},     {"DELETE ", 7}, {"HEAD ", 5},
    {"OPTIONS ", 8}, {"PATCH ", 6},  {"CONNECT ", 8}, {"TRACE ", 6},
};

/* 1: data starts with pat; 0: data is a proper prefix of pat; -1: neither. */
static int match_prefix(const uint8_t *d, size_t n, const char *pat, size_t plen)
{
    size_t m = n < plen ? n : plen;
    if (memcmp(d, pat, m) != 0)
        return -1;
    return n >= plen ? 1 : 0;
}

int http_message_start(http_parse_kind kind, const uint8_t *d, size_t n)
{
    while (n && (*d == '\r' || *d == '\n')) {
        d++;
        n--;
    }
    if (n == 0)
        return 0;
    if (kind == HTTP_PARSE_RESPONSE)
        return match_prefix(d, n, "HTTP/1.", 7);
    int best = -1;
    for (size_t i = 0; i < sizeof k_request_starts / sizeof k_request_starts[0]; i++) {
        int r = match_prefix(d, n, k_request_starts[i].pat, k_request_starts[i].len);
        if (r == 1)
            return 1;
        if (r == 0)
            best = 0;
    }
    return best;
}

/* ---- parser lifecycle ----------------------------------------------------- */

http_parser *http_parser_new(http_parse_kind kind, const http_limits *lim, const http_parser_cb *cb)
{
    http_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->kind = kind;
    http_limits_default(&p->lim);
    if (lim) {
        if (lim->max_header_bytes)
            p->lim.max_header_bytes = lim->max_header_bytes;
        if (lim->max_body_bytes)
            p->lim.max_body_bytes = lim->max_body_bytes;
        if (lim->max_marks)
            p->lim.max_marks = lim->max_marks;
    }
    if (cb)
        p->cb = *cb;
    p->state = P_RESYNC;
    return p;
}

/* Drop the message in progress without delivering it. */
static void msg_discard(http_parser *p)
{
    if (p->msg && !p->msg->head_block) {
        /* strings still point into p->head, which the parser keeps */
        p->msg->target = p->msg->reason = NULL;
        p->msg->nheaders = 0;
    }
    http_msg_free(p->msg);
    p->msg = NULL;
    if (p->head_cap > HEAD_KEEP_CAP) {
        free(p->head);
        p->head = NULL;
        p->head_cap = 0;
    }
    content_buf_destroy(&p->body);
    content_decoder_free(p->dec);
    p->dec = NULL;
    p->head_len = 0;
    p->line_len = 0;
}

void http_parser_free(http_parser *p)
{
    if (!p)
        return;
    msg_discard(p);
    free(p->head);
    free(p->line);
    free(p);
}

int http_parser_idle(const http_parser *p)
{
    return p->state == P_IDLE || p->state == P_RESYNC;
}

const http_msg *http_parser_current(const http_parser *p)
{
    if (!p || !p->msg || p->state == P_HEAD)
        return NULL;
    return p->msg;
}

const http_parser_stats *http_parser_get_stats(const http_parser *p)
{
    return &p->stats;
}

static int msg_begin(http_parser *p, uint64_t ts, uint32_t tid)
{
    p->msg = calloc(1, sizeof *p->msg);
    if (!p->msg)
        return -1;
    p->msg->is_request = p->kind == HTTP_PARSE_REQUEST;
    p->msg->ts_start = ts;
    p->msg->tid = tid;
    p->head_len = 0;
    p->mark_seq = 0;
    p->marks_cap = 0;
    p->body_started = 0;
    p->state = P_HEAD;
    return 0;
}

/* ---- body bytes and marks -------------------------------------------------- */

static void mark_add(http_parser *p, size_t offset, uint64_t ts)
{
    http_msg *m = p->msg;
    size_t max = p->lim.max_marks;
    if (m->nmarks >= max) { /* merge: keep every other mark */
        size_t j = 0;
        for (size_t i = 0; i < m->nmarks; i += 2)
            m->marks[j++] = m->marks[i];
        m->nmarks = j;
        if (m->nmarks >= max)
            return;
    }
    if (m->nmarks == p->marks_cap) {
        size_t ncap = p->marks_cap ? p->marks_cap * 2 : MARKS_INIT_CAP;
        if (ncap > max)
            ncap = max;
        http_mark *nm = realloc(m->marks, ncap * sizeof *nm);
        if (!nm)
            return;
        m->marks = nm;
        p->marks_cap = ncap;
    }
    m->marks[m->nmarks].offset = offset;
    m->marks[m->nmarks].ts = ts;
    m->nmarks++;
}

/* A failed decode replaced the body with the raw bytes: the decoded offsets
 * mean nothing now, so one mark at 0 (the first body feed) stands for all. */
static void marks_restart(http_parser *p)
{
    p->msg->nmarks = 0;
    if (p->body.len)
        mark_add(p, 0, p->first_body_ts);
    p->mark_seq = p->feed_seq;
}

static void body_write(http_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
    size_t before = p->body.len;
    if (n && !p->body_started) {
        p->body_started = 1;
        p->first_body_ts = ts;
    }
    if (p->dec) {
        int failed = content_decoder_failed(p->dec);
        content_decoder_write(p->dec, d, n, &p->body);
        if (!failed && content_decoder_failed(p->dec)) {
            marks_restart(p);
            return;
        }
    } else {
        content_buf_append(&p->body, d, n);
    }
    if (p->body.len > before && p->mark_seq != p->feed_seq) {
        p->mark_seq = p->feed_seq;
        mark_add(p, before, ts);
    }
}

static void msg_deliver(http_parser *p, http_msg *m)
{
    p->stats.messages++;
    if (p->cb.on_message)
        p->cb.on_message(p->cb.ctx, m);
    else
        http_msg_free(m);
}

/* The message in progress is done (complete or not): settle its body and
 * hand it over.  The parser goes idle; callers pick another state if needed. */
static void msg_finish(http_parser *p, uint64_t ts, unsigned flags)
{
    http_msg *m = p->msg;
    if (p->dec) {
        int failed = content_decoder_failed(p->dec);
        int r = content_decoder_finish(p->dec, &p->body);
        if (r < 0 || (r > 0 && !(flags & HTTP_MSG_INCOMPLETE)))
            flags |= HTTP_MSG_DECODE_ERROR;
        if (!failed && content_decoder_failed(p->dec))
            marks_restart(p);
        content_decoder_free(p->dec);
        p->dec = NULL;
    }
    p->msg = NULL;
    if (p->body.truncated)
        flags |= HTTP_MSG_TRUNCATED;
    m->body_dropped = p->body.dropped;
    m->body = content_buf_release(&p->body, &m->body_len);
    content_buf_destroy(&p->body);
    m->flags |= flags;
    m->ts_end = ts;
    p->state = P_IDLE;
    p->from_resync = 0;
    if (!m->body) { /* out of memory */
        http_msg_free(m);
        return;
    }
    msg_deliver(p, m);
}

/* ---- head parsing -------------------------------------------------------------- */

/* RFC 9110 tchar */
static int is_tchar(unsigned char c)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr(extra, c) != NULL;
}

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int parse_version(const char *v, size_t len, int *minor)
{
    if (len != 8 || memcmp(v, "HTTP/1.", 7) != 0 || v[7] < '0' || v[7] > '9')
        return -1;
    *minor = v[7] - '0';
    return 0;
}

/* "METHOD SP target SP HTTP/1.x" */
static int parse_request_line(http_msg *m, char *line, size_t len)
{
    char *sp1 = memchr(line, ' ', len);
    if (!sp1 || sp1 == line || (size_t)(sp1 - line) >= sizeof m->method)
        return -1;
    for (char *c = line; c < sp1; c++)
        if (!is_tchar((unsigned char)*c))
            return -1;
    char *sp2 = memrchr(line, ' ', len);
    if (sp2 == sp1)
        return -1;
    if (parse_version(sp2 + 1, (size_t)(line + len - sp2 - 1), &m->version_minor) < 0)
        return -1;
    char *target = sp1 + 1;
    if (target == sp2)
        return -1;
    for (char *c = target; c < sp2; c++)
        if (*c == ' ' || is_ctl((unsigned char)*c))
            return -1;
    memcpy(m->method, line, (size_t)(sp1 - line));
    m->method[sp1 - line] = 0;
    *sp2 = 0;
    m->target = target;
    return 0;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]" */
static int parse_status_line(http_msg *m, char *line, size_t len)
{
    if (len < 12 || parse_version(line, 8, &m->version_minor) < 0 || line[8] != ' ')
        return -1;
    char *s = line + 9;
    for (int i = 0; i < 3; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    if (s[0] == '0')
        return -1;
    m->status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    if (len > 12 && s[3] != ' ')
        return -1;
    char *reason = len > 12 ? s + 4 : line + len; /* line[len] is the NUL */
    for (char *c = reason; c < line + len; c++)
        if (is_ctl((unsigned char)*c) && *c != '\t')
            return -1;
    m->reason = reason;
    return 0;
}

static void trim_ows(char **s, char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* "name: value"; the value is trimmed, bare CRs in it become SP. */
static int parse_header_line(http_header *h, char *line, size_t len)
{
    char *colon = memchr(line, ':', len);
    if (!colon || colon == line)
        return -1;
    for (char *c = line; c < colon; c++)
        if (!is_tchar((unsigned char)*c))
            return -1;
    char *vs = colon + 1, *ve = line + len;
    trim_ows(&vs, &ve);
    for (char *c = vs; (c = memchr(c, '\r', (size_t)(ve - c))) != NULL; c++)
        *c = ' ';
    *colon = 0;
    *ve = 0;
    h->name = line;
    h->value = vs;
    return 0;
}

/* obs-fold: a line starting with SP/HT continues the previous value; it is
 * joined with one SP, moving the continuation left in the block. */
static void fold_header_line(http_header *prev, char *line, size_t len)
{
    char *cs = line, *ce = line + len;
    trim_ows(&cs, &ce);
    if (cs == ce)
        return;
    char *vend = prev->value + strlen(prev->value);
    size_t clen = (size_t)(ce - cs);
    if (vend != prev->value)
        *vend++ = ' ';
    memmove(vend, cs, clen);
    vend[clen] = 0;
}

/* Split the gathered block into start line and headers, in place. */
static int head_parse(http_parser *p, http_msg *m)
{
    char *h = p->head, *end = p->head + p->head_len;
    *end = 0;
    if (memchr(h, 0, p->head_len))
        return -1;
    size_t lines = 0;
    for (char *q = h; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        lines++;
    m->headers = calloc(lines, sizeof *m->headers); /* start + blank line included: enough */
    if (!m->headers)
        return -1;
    int first = 1;
    for (char *line = h; line < end;) {
        char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            return -1;
        size_t len = (size_t)(eol - line);
        if (len && line[len - 1] == '\r')
            len--;
        line[len] = 0;
        if (first) {
            int r = p->kind == HTTP_PARSE_REQUEST ? parse_request_line(m, line, len)
                                                  : parse_status_line(m, line, len);
            if (r < 0)
                return -1;
            first = 0;
        } else if (len == 0) {
            break;
        } else if (line[0] == ' ' || line[0] == '\t') {
            if (m->nheaders == 0)
                return -1;
            fold_header_line(&m->headers[m->nheaders - 1], line, len);
        } else {
            if (parse_header_line(&m->headers[m->nheaders], line, len) < 0)
                return -1;
            m->nheaders++;
        }
        line = eol + 1;
    }
    return first ? -1 : 0;
}

/* ---- framing ------------------------------------------------------------------- */

typedef struct framing {
    body_kind kind;
    uint64_t length;
    char enc[ENCODING_MAX]; /* codings to undo, in the order they were applied */
    size_t enc_len;
    int enc_overflow;
} framing;

static void enc_append(framing *f, const char *s, size_t n)
{
    if (f->enc_len + n + 3 > sizeof f->enc) {
        f->enc_overflow = 1;
        return;
    }
    if (f->enc_len) {
        memcpy(f->enc + f->enc_len, ", ", 2);
        f->enc_len += 2;
    }
    memcpy(f->enc + f->enc_len, s, n);
    f->enc_len += n;
    f->enc[f->enc_len] = 0;
}

/* Content-Length: digits only; a list is allowed if all values agree. */
static int parse_content_length(const char *v, uint64_t *out, int *seen)
{
    const char *p = v;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p < '0' || *p > '9')
            return -1;
        uint64_t n = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (n > (UINT64_MAX - 9) / 10)
                return -1;
            n = n * 10 + (uint64_t)(*p - '0');
        }
        if (n > CHUNK_SIZE_MAX || (*seen && n != *out))
            return -1;
        *out = n;
        *seen = 1;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == 0)
            return 0;
        if (*p++ != ',')
            return -1;
    }
}

/* Transfer-Encoding: "chunked" must come last if present; other codings
 * are decoded like content codings. */
static int parse_transfer_encoding(const char *v, framing *f, int *chunked, int *any)
{
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',' && *p != ';')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        while (*p && *p != ',')
            p++;
        if (e == s)
            continue;
        if (*chunked)
            return -1; /* something after chunked */
        *any = 1;
        if (e - s == 7 && strncasecmp(s, "chunked", 7) == 0)
            *chunked = 1;
        else if (!(e - s == 8 && strncasecmp(s, "identity", 8) == 0))
            enc_append(f, s, (size_t)(e - s));
    }
    return 0;
}

static int decide_framing(http_parser *p, http_msg *m, framing *f)
{
    int has_cl = 0, chunked = 0, has_te = 0;
    uint64_t cl = 0;
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < m->nheaders; i++) {
        const char *n = m->headers[i].name, *v = m->headers[i].value;
        if (strcasecmp(n, "content-length") == 0) {
            if (parse_content_length(v, &cl, &has_cl) < 0)
                return -1;
        } else if (strcasecmp(n, "content-encoding") == 0) {
            if (*v)
                enc_append(f, v, strlen(v));
        }
    }
    for (size_t i = 0; i < m->nheaders; i++)
        if (strcasecmp(m->headers[i].name, "transfer-encoding") == 0 &&
            parse_transfer_encoding(m->headers[i].value, f, &chunked, &has_te) < 0)
            return -1;
    if (has_te && has_cl)
        return -1; /* RFC 9112 6.3: a smuggling vector; refuse */
    p->after_head = AFTER_IDLE;
    f->kind = BODY_NONE;
    if (p->kind == HTTP_PARSE_RESPONSE) {
        const char *method = p->cb.request_method ? p->cb.request_method(p->cb.ctx) : NULL;
        int st = m->status;
        if (st == 101 || (method && strcmp(method, "CONNECT") == 0 && st >= 200 && st < 300)) {
            p->after_head = AFTER_TUNNEL; /* not HTTP from here on */
            return 0;
        }
        if ((st >= 100 && st < 200) || st == 204 || st == 304 || (method && strcmp(method, "HEAD") == 0))
            return 0;
        if (has_te)
            f->kind = chunked ? BODY_CHUNKED : BODY_CLOSE;
        else if (has_cl)
            f->kind = BODY_LEN;
        else
            f->kind = BODY_CLOSE;
    } else {
        if (has_te && !chunked)
            return -1; /* a request body must be chunked or counted */
        if (strcmp(m->method, "CONNECT") == 0)
            p->after_head = AFTER_TUNNEL;
        if (has_te)
            f->kind = BODY_CHUNKED;
        else if (has_cl)
            f->kind = BODY_LEN;
    }
    f->length = cl;
    if (f->kind == BODY_LEN && cl == 0)
        f->kind = BODY_NONE;
    return 0;
}

/* The blank line ending the head arrived: parse, then set up the body. */
static int head_complete(http_parser *p, uint64_t ts)
{
    http_msg *m = p->msg;
    if (head_parse(p, m) < 0)
        return -1;
    framing f;
    if (decide_framing(p, m, &f) < 0)
        return -1;
    m->head_block = p->head; /* the strings live there now */
    p->head = NULL;
    p->head_len = p->head_cap = 0;
    m->ts_headers = ts;
    if (p->kind == HTTP_PARSE_RESPONSE && m->status >= 100 && m->status < 200 && m->status != 101) {
        http_msg_free(m); /* interim (100 Continue, 103 ...): wait for the final one */
        p->msg = NULL;
        p->state = P_IDLE;
        return 0;
    }
    content_buf_init(&p->body, p->lim.max_body_bytes);
    if (f.kind != BODY_NONE && (f.enc_overflow || content_decoder_new(f.enc, &p->dec) < 0)) {
        m->flags |= HTTP_MSG_DECODE_ERROR; /* unknown coding: keep the raw bytes */
        p->dec = NULL;
    }
    switch (f.kind) {
    case BODY_NONE: {
        int tunnel = p->after_head == AFTER_TUNNEL;
        msg_finish(p, ts, 0);
        if (tunnel)
            p->state = P_RESYNC;
        return 0;
    }
    case BODY_LEN:
        if (!p->dec)
            content_buf_reserve(&p->body, f.length < RESERVE_HINT_MAX ? (size_t)f.length : RESERVE_HINT_MAX);
        p->remaining = f.length;
        p->state = P_BODY_LEN;
        return 0;
    case BODY_CHUNKED:
        p->line_len = 0;
        p->state = P_CHUNK_SIZE;
        return 0;
    case BODY_CLOSE:
        p->state = P_BODY_CLOSE;
        return 0;
    }
    return -1;
}

/* ---- states ------------------------------------------------------------------------ */

/* Byte k positions before data[i], looking back into the gathered head. */
static int byte_before(const http_parser *p, const uint8_t *d, size_t i, size_t k)
{
    if (i >= k)
        return d[i - k];
    size_t back = k - i;
    return back <= p->head_len ? (unsigned char)p->head[p->head_len - back] : -1;
}

static int head_reserve(http_parser *p, size_t n)
{
    size_t need = p->head_len + n + 1;
    if (need <= p->head_cap)
        return 0;
    size_t ncap = p->head_cap ? p->head_cap : HEAD_INIT_CAP;
    while (ncap < need)
        ncap *= 2;
    char *nh = realloc(p->head, ncap);
    if (!nh)
        return -1;
    p->head = nh;
    p->head_cap = ncap;
    return 0;
}

static long step_idle(http_parser *p, const uint8_t *d, size_t n, uint64_t ts, uint32_t tid)
{
    size_t i = 0;
    while (i < n && (d[i] == '\r' || d[i] == '\n'))
        i++;
    if (i == n)
        return (long)n;
    int r = http_message_start(p->kind, d + i, n - i);
    if (r < 0 || msg_begin(p, ts, tid) < 0)
        return -1;
    p->verified = r == 1;
    return (long)i;
}

static long step_head(http_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
    size_t room = p->lim.max_header_bytes - p->head_len;
    size_t scan = n < room ? n : room, take = n, pos = 0;
    int found = 0;
    while (pos < scan) {
        const uint8_t *q = memchr(d + pos, '\n', scan - pos);
        if (!q)
            break;
        size_t i = (size_t)(q - d);
        int b1 = byte_before(p, d, i, 1), b2 = byte_before(p, d, i, 2);
        if (b1 == '\n' || (b1 == '\r' && b2 == '\n')) {
            take = i + 1;
            found = 1;
            break;
        }
        pos = i + 1;
    }
    if (!found && n > room)
        return -1; /* header block too large */
    if (head_reserve(p, take) < 0)
        return -1;
    memcpy(p->head + p->head_len, d, take);
    p->head_len += take;
    if (!p->verified) {
        int r = http_message_start(p->kind, (const uint8_t *)p->head, p->head_len);
        if (r < 0)
            return -1;
        p->verified = r == 1;
    }
    p->msg->wire_len += take;
    if (found && head_complete(p, ts) < 0) {
        p->msg->wire_len -= take;
        return -1;
    }
    return (long)take;
}

static long step_body_len(http_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
    size_t take = p->remaining < n ? (size_t)p->remaining : n;
    body_write(p, d, take, ts);
    p->msg->wire_len += take;
    p->remaining -= take;
    if (p->remaining == 0)
        msg_finish(p, ts, 0);
    return (long)take;
}

static long step_body_close(http_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
    body_write(p, d, n, ts);
    p->msg->wire_len += n;
    return (long)n;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "1a;ext=v\r\n" (the LF included in len) -> size; -1 if malformed. */
static int parse_chunk_line(const uint8_t *s, size_t len, uint64_t *size)
{
    len--; /* LF */
    if (len && s[len - 1] == '\r')
        len--;
    size_t i = 0;
    uint64_t v = 0;
    for (int h; i < len && (h = hex_value(s[i])) >= 0; i++) {
        if (v > (CHUNK_SIZE_MAX >> 4))
            return -1;
        v = (v << 4) | (uint64_t)h;
    }
    if (i == 0)
        return -1;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < len && s[i] != ';')
        return -1;
    for (; i < len; i++)
        if (is_ctl(s[i]) && s[i] != '\t')
            return -1;
    *size = v;
    return 0;
}

static int line_reserve(http_parser *p, size_t n)
{
    size_t need = p->line_len + n;
    if (need <= p->line_cap)
        return 0;
    size_t ncap = p->line_cap ? p->line_cap : LINE_INIT_CAP;
    while (ncap < need)
        ncap *= 2;
    char *nl = realloc(p->line, ncap);
    if (!nl)
        return -1;
    p->line = nl;
    p->line_cap = ncap;
    return 0;
}

static long step_chunk_size(http_parser *p, const uint8_t *d, size_t n)
{
    size_t room = CHUNK_LINE_MAX - p->line_len;
    size_t scan = n < room ? n : room;
    const uint8_t *nl = memchr(d, '\n', scan);
    size_t take = nl ? (size_t)(nl - d) + 1 : n;
    if (!nl && n >= room)
        return -1;
    if (!nl || p->line_len) {
        if (line_reserve(p, take) < 0)
            return -1;
        memcpy(p->line + p->line_len, d, take);
        p->line_len += take;
    }
    p->msg->wire_len += take;
    if (!nl)
        return (long)take;
    uint64_t size;
    const uint8_t *ln = p->line_len ? (const uint8_t *)p->line : d;
    size_t ll = p->line_len ? p->line_len : take;
    p->line_len = 0;
    if (parse_chunk_line(ln, ll, &size) < 0)
        return -1;
    if (size == 0) {
        p->trailer_len = 0;
        p->tline_len = 0;
        p->state = P_TRAILER;
    } else {
        if (!p->dec)
            content_buf_reserve(&p->body, size < RESERVE_HINT_MAX ? (size_t)size : RESERVE_HINT_MAX);
        p->remaining = size;
        p->state = P_CHUNK_DATA;
    }
    return (long)take;
}

static long step_chunk_data(http_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
    size_t take = p->remaining < n ? (size_t)p->remaining : n;
    body_write(p, d, take, ts);
    p->msg->wire_len += take;
    p->remaining -= take;
    if (p->remaining == 0) {
        p->got_cr = 0;
        p->state = P_CHUNK_CRLF;
    }
    return (long)take;
}

static long step_chunk_crlf(http_parser *p, const uint8_t *d, size_t n)
{
    size_t i = 0;
    if (!p->got_cr && d[0] == '\r') {
        p->got_cr = 1;
        i = 1;
        if (n == 1) {
            p->msg->wire_len += 1;
            return 1;
        }
    }
    if (d[i] != '\n')
        return -1;
    i++;
    p->msg->wire_len += i;
    p->state = P_CHUNK_SIZE;
    return (long)i;
}

/* Trailer fields are skipped (bounded like a header block) up to the blank line. */
static long step_trailer(http_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
    size_t pos = 0;
    while (pos < n) {
        const uint8_t *q = memchr(d + pos, '\n', n - pos);
        if (!q) {
            p->tline_len += n - pos;
            p->tlast = d[n - 1];
            p->trailer_len += n - pos;
            pos = n;
            break;
        }
        size_t i = (size_t)(q - d);
        size_t ll = p->tline_len + (i - pos);
        uint8_t last = i > pos ? d[i - 1] : p->tlast;
        p->trailer_len += i + 1 - pos;
        pos = i + 1;
        p->tline_len = 0;
        if (ll == 0 || (ll == 1 && last == '\r')) {
            p->msg->wire_len += pos;
            msg_finish(p, ts, 0);
            return (long)pos;
        }
    }
    if (p->trailer_len > p->lim.max_header_bytes)
        return -1;
    p->msg->wire_len += pos;
    return (long)pos;
}

/* ---- feeding ------------------------------------------------------------------------ */

static int in_body(parse_state s)
{
    return s >= P_BODY_LEN;
}

/* Leave sync after malformed input.  Returns 1 if it counts as an error (a
 * tentative start taken in resync that turns out wrong does not). */
static int parser_fail(http_parser *p, uint64_t ts)
{
    int silent = p->from_resync && !p->verified && (p->state == P_IDLE || p->state == P_HEAD);
    if (in_body(p->state) && p->msg) {
        msg_finish(p, ts, HTTP_MSG_INCOMPLETE | HTTP_MSG_PARSE_ERROR);
    } else if (p->msg) {
        p->stats.bytes_discarded += p->msg->wire_len;
        msg_discard(p);
    }
    p->state = P_RESYNC;
    p->from_resync = 0;
    if (silent)
        return 0;
    p->stats.errors++;
    p->stats.resyncs++;
    return 1;
}

int http_parser_feed(http_parser *p, const uint8_t *data, size_t len, uint64_t ts, uint32_t tid)
{
    if (!p || (!data && len))
        return -1;
    if (len == 0)
        return 0;
    p->feed_seq++;
    if (p->state == P_RESYNC) {
        size_t blank = 0;
        while (blank < len && (data[blank] == '\r' || data[blank] == '\n'))
            blank++;
        if (blank == len || http_message_start(p->kind, data, len) < 0) {
            p->stats.bytes_discarded += len;
            return 0;
        }
        p->state = P_IDLE;
        p->from_resync = 1;
        p->verified = 0;
    }
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *d = data + pos;
        size_t n = len - pos;
        long used = -1;
        switch (p->state) {
        case P_RESYNC: /* tunnel after 101 / CONNECT */
            p->stats.bytes_discarded += n;
            return 0;
        case P_IDLE:
            used = step_idle(p, d, n, ts, tid);
            break;
        case P_HEAD:
            used = step_head(p, d, n, ts);
            break;
        case P_BODY_LEN:
            used = step_body_len(p, d, n, ts);
            break;
        case P_BODY_CLOSE:
            used = step_body_close(p, d, n, ts);
            break;
        case P_CHUNK_SIZE:
            used = step_chunk_size(p, d, n);
            break;
        case P_CHUNK_DATA:
            used = step_chunk_data(p, d, n, ts);
            break;
        case P_CHUNK_CRLF:
            used = step_chunk_crlf(p, d, n);
            break;
        case P_TRAILER:
            used = step_trailer(p, d, n, ts);
            break;
        }
        if (used < 0) {
            int counted = parser_fail(p, ts);
            p->stats.bytes_discarded += n;
            return counted ? -1 : 0;
        }
        pos += (size_t)used;
    }
    return 0;
}

void http_parser_gap(http_parser *p, uint64_t ts)
{
    if (!p || p->state == P_RESYNC)
        return;
    if (in_body(p->state) && p->msg)
        msg_finish(p, ts, HTTP_MSG_INCOMPLETE | HTTP_MSG_CAPTURE_GAP);
    else if (p->msg)
        msg_discard(p);
    p->state = P_RESYNC;
    p->from_resync = 0;
    p->stats.resyncs++;
}

void http_parser_close(http_parser *p, uint64_t ts)
{
    if (!p)
        return;
    if (p->state == P_BODY_CLOSE && p->msg)
        msg_finish(p, ts, 0);
    else if (in_body(p->state) && p->msg)
        msg_finish(p, ts, HTTP_MSG_INCOMPLETE);
    else if (p->msg)
        msg_discard(p);
    p->state = P_RESYNC;
    p->from_resync = 0;
}

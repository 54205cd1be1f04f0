/* show.c: `oisp-sensor show`, a readable view of OISP v0.1 JSONL events.
 *
 * How it works.  cmd_show() reads the input with read(2) into a bounded line
 * buffer (no stdio per byte; lines over SHOW_MAX_LINE are skipped and
 * counted) and hands every line to a show_view.  The view parses it with
 * jansson and:
 *   - for ai.request, extracts a small summary (time, process, provider,
 *     model, the start of the last user message) into a fixed table of
 *     SHOW_PENDING_MAX slots indexed by request_id, so memory stays bounded
 *     whatever the input; a slot reused by a newer request first prints its
 *     old occupant as "no response";
 *   - for ai.response, finds the summary by data.request_id and prints one
 *     line for the whole exchange (a response without a request prints with
 *     what it has);
 *   - for every other event prints one generic line with its key fields.
 * Lines go straight to the output, or, with -n, into a ring of the last N
 * until the backlog has been read.  --json copies the selected raw lines.
 *
 * Everything taken from an event passes through show_text_fit() before it
 * reaches the terminal: one line, cut on a UTF-8 character boundary to the
 * column budget, control characters shown as ^X and C1 controls, bidi
 * overrides and invalid UTF-8 as U+FFFD, so a prompt cannot move the cursor,
 * recolour or retitle the terminal.
 *
 * -f follows a file like `tail -F`: at EOF it polls; a shrunken file is read
 * again from the start, a replaced file (new inode) is drained and reopened.
 * SIGINT or SIGTERM ends it cleanly. */
#include "cli/show.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHOW_MAX_LINE    (32u << 20) /* longest event line we parse */
#define READ_CHUNK       (64u << 10)
#define HASH_BUCKETS     8192        /* power of two, > SHOW_PENDING_MAX */
#define POLL_INTERVAL_NS 100000000L  /* -f: 100 ms between looks at the file */
#define RAW_TEXT_MAX     (64u << 10) /* raw text gathered for one field */
#define FIELD_BYTES      4096        /* a fitted field, in bytes */
#define PROMPT_KEEP_COLS 300         /* prompt columns kept with a pending request */
#define DEFAULT_WIDTH    160

/* Column widths of the summary line. */
#define W_PROC   20
#define W_PROV   10
#define W_MODEL  22
#define W_TOKENS 11
#define W_LAT    6
#define W_STATUS 3
#define W_STATUS_MAX 32
#define W_TEXT_MIN 40   /* prompt + answer get at least this much */

#define C_RESET "\033[0m"
#define C_DIM   "\033[2m"
#define C_BOLD  "\033[1m"
#define C_RED   "\033[31m"
#define C_GREEN "\033[32m"
#define C_YEL   "\033[33m"
#define C_BLUE  "\033[34m"
#define C_MAG   "\033[35m"
#define C_CYAN  "\033[36m"

/* ------------------------------------------------------------------------ */
/* A growable byte buffer; on allocation failure it stops growing and the
 * line is printed shorter, never overrun. */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static int sbuf_reserve(sbuf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sbuf_put(sbuf *b, const char *s, size_t n)
{
    if (sbuf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sbuf_puts(sbuf *b, const char *s)
{
    sbuf_put(b, s, strlen(s));
}

static void sbuf_spaces(sbuf *b, size_t n)
{
    while (n-- > 0)
        sbuf_put(b, " ", 1);
}

static void sbuf_reset(sbuf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->p)
        b->p[0] = '\0';
}

static void sbuf_free(sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------------ */
/* UTF-8 and terminal safety. */

/* Decodes one UTF-8 sequence at s (n > 0 bytes left).  Returns its length
 * and sets *cp; an invalid, overlong, surrogate or truncated sequence gives
 * *cp = -1 and length 1, so decoding resynchronises on the next byte. */
static size_t utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    int32_t v, min;

    if (c < 0x80) {
        *cp = (int32_t)c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2; v = c & 0x1F; min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3; v = c & 0x0F; min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4; v = c & 0x07; min = 0x10000;
    } else {
        *cp = -1;
        return 1;
    }
    if (n < len) {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = -1;
        return 1;
    }
    *cp = v;
    return len;
}

/* The longest prefix of s (len bytes) that is at most max bytes and does not
 * end inside a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

enum char_class { CH_PRINT, CH_SPACE, CH_CONTROL, CH_REPLACE };

static enum char_class char_class(int32_t cp)
{
    if (cp < 0)
        return CH_REPLACE;
    if (cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0x2028 || cp == 0x2029)
        return CH_SPACE;
    if (cp < 0x20 || cp == 0x7F)
        return CH_CONTROL;
    if (cp >= 0x80 && cp <= 0x9F)
        return CH_REPLACE; /* C1 controls: 0x9B is CSI on some terminals */
    if (cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069))
        return CH_REPLACE; /* bidi controls can make text read backwards */
    return CH_PRINT;
}

/* Terminal columns of a printable code point: 0 for combining marks and
 * zero-width characters, 2 for East Asian wide ones and emoji, else 1. */
static size_t char_width(int32_t cp)
{
    if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
        (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
        (cp >= 0xFE20 && cp <= 0xFE2F) || (cp >= 0x200B && cp <= 0x200D) ||
        (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF)
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
        (cp >= 0x3041 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
        (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
        (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) ||
        (cp >= 0x1F300 && cp <= 0x1F64F) || (cp >= 0x1F900 && cp <= 0x1F9FF) ||
        (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

size_t show_text_fit(char *dst, size_t dstsz, const char *src, size_t len, size_t max_cols)
{
    static const char ellipsis[] = "\xE2\x80\xA6";      /* … */
    static const char replacement[] = "\xEF\xBF\xBD";   /* U+FFFD */
    const unsigned char *s = (const unsigned char *)src;
    size_t cap, out = 0, cols = 0, mark_out = 0, mark_cols = 0, i = 0;
    int pending_space = 0;

    if (dstsz < 8 || max_cols == 0 || src == NULL) {
        if (dstsz > 0)
            dst[0] = '\0';
        return 0;
    }
    cap = dstsz - 1;
    while (i < len) {
        int32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        enum char_class cls = char_class(cp);
        char enc[4];
        size_t elen, w;

        if (cls == CH_SPACE) {
            pending_space = out > 0;
            i += n;
            continue;
        }
        if (cls == CH_PRINT) {
            memcpy(enc, s + i, n);
            elen = n;
            w = char_width(cp);
        } else if (cls == CH_CONTROL) {
            enc[0] = '^';
            enc[1] = cp == 0x7F ? '?' : (char)(cp + 0x40);
            elen = 2;
            w = 2;
        } else {
            memcpy(enc, replacement, 3);
            elen = 3;
            w = 1;
        }
        size_t sp = pending_space ? 1 : 0;
        if (cols + sp + w > max_cols || out + sp + elen > cap) {
            /* No room: go back to the last place that leaves room for "…". */
            out = mark_out;
            cols = mark_cols;
            if (cols + 1 <= max_cols && out + 3 <= cap) {
                memcpy(dst + out, ellipsis, 3);
                out += 3;
                cols += 1;
            }
            dst[out] = '\0';
            return cols;
        }
        if (sp) {
            dst[out++] = ' ';
            cols++;
            pending_space = 0;
        }
        memcpy(dst + out, enc, elen);
        out += elen;
        cols += w;
        if (cols + 1 <= max_cols && out + 3 <= cap) {
            mark_out = out;
            mark_cols = cols;
        }
        i += n;
    }
    dst[out] = '\0';
    return cols;
}

/* ------------------------------------------------------------------------ */
/* Time: RFC 3339 timestamps to local HH:MM:SS.mmm. */

static int parse_digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* Parses YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM|-HH:MM] into Unix ms. */
static int ts_parse_ms(const char *ts, long long *ms)
{
    int Y, M, D, h, m, s, frac = 0, fdigits = 0;
    long off = 0;

    if (!ts || strlen(ts) < 19)
        return -1;
    if (!parse_digits(ts, 4, &Y) || ts[4] != '-' || !parse_digits(ts + 5, 2, &M) ||
        ts[7] != '-' || !parse_digits(ts + 8, 2, &D) ||
        (ts[10] != 'T' && ts[10] != 't' && ts[10] != ' ') || !parse_digits(ts + 11, 2, &h) ||
        ts[13] != ':' || !parse_digits(ts + 14, 2, &m) || ts[16] != ':' ||
        !parse_digits(ts + 17, 2, &s))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60)
        return -1;
    const char *p = ts + 19;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (fdigits < 3) {
                frac = frac * 10 + (*p - '0');
                fdigits++;
            }
            p++;
        }
        if (p == ts + 20)
            return -1;
        while (fdigits < 3) {
            frac *= 10;
            fdigits++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!parse_digits(p + 1, 2, &oh) || p[3] != ':' || !parse_digits(p + 4, 2, &om))
            return -1;
        off = (oh * 60L + om) * 60L * (*p == '-' ? -1 : 1);
        p += 6;
    }
    if (*p != '\0')
        return -1;
    long long secs = days_from_civil(Y, M, D) * 86400LL + h * 3600LL + m * 60LL + s - off;
    *ms = secs * 1000 + frac;
    return 0;
}

static void format_local_time(long long ms, char out[16])
{
    long long secs = ms / 1000, rem = ms % 1000;
    struct tm tm;

    if (rem < 0) {
        rem += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    if (!localtime_r(&t, &tm)) {
        snprintf(out, 16, "--:--:--.---");
        return;
    }
    snprintf(out, 16, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}

/* ------------------------------------------------------------------------ */
/* Reading fields from an event. */

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A string value and its byte length (strings may hold \u0000). */
static const char *jstrn(json_t *o, const char *key, size_t *len)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}

static int jint(json_t *o, const char *key, long long *out)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d > -9e18 && d < 9e18) {
            *out = (long long)d;
            return 1;
        }
    }
    return 0;
}

static int event_time(json_t *ev, long long *ms)
{
    return ts_parse_ms(jstr(ev, "ts"), ms) == 0;
}

static void event_time_text(json_t *ev, char out[16])
{
    long long ms;
    if (event_time(ev, &ms))
        format_local_time(ms, out);
    else
        snprintf(out, 16, "--:--:--.---");
}

/* "name[pid]" from the envelope's process, into raw (uncleaned) text. */
static void process_text(json_t *ev, sbuf *b)
{
    json_t *proc = json_object_get(ev, "process");
    const char *name = jstr(proc, "name");
    long long pid;

    if (!name || !*name) {
        const char *exe = jstr(proc, "exe");
        if (exe) {
            const char *slash = strrchr(exe, '/');
            name = slash ? slash + 1 : exe;
        }
    }
    sbuf_puts(b, name && *name ? name : "?");
    if (jint(proc, "pid", &pid)) {
        char num[32];
        snprintf(num, sizeof(num), "[%lld]", pid);
        sbuf_puts(b, num);
    }
}

/* The host of an endpoint URL, lowercased, without userinfo or port. */
static int endpoint_host(const char *url, char *out, size_t outsz)
{
    const char *p = strstr(url, "://");
    size_t n = 0;

    p = p ? p + 3 : url;
    const char *end = p + strcspn(p, "/?#");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1;
    if (*p == '[') { /* IPv6 literal */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return 0;
        end = close + 1;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon)
            end = colon;
    }
    if (end == p || (size_t)(end - p) >= outsz)
        return 0;
    for (; p < end; p++)
        out[n++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    out[n] = '\0';
    return 1;
}

/* Copies n bytes of s into out, cut on a UTF-8 boundary to fit. */
static void copy_text(char *out, size_t outsz, const char *s, size_t n)
{
    n = utf8_prefix(s, n, outsz - 1);
    memcpy(out, s, n);
    out[n] = '\0';
}

static int host_ends_with(const char *host, const char *suffix)
{
    size_t h = strlen(host), s = strlen(suffix);
    return h >= s && strcmp(host + h - s, suffix) == 0 && (h == s || host[h - s - 1] == '.');
}

/* The real provider behind provider.name "other", from the endpoint host:
 * a few known hosts, else the label before the top-level domain
 * (api.deepseek.com -> deepseek); IP literals and single labels as they are. */
static void provider_from_host(const char *host, char *out, size_t outsz)
{
    static const struct { const char *suffix, *name; } known[] = {
        {"x.ai", "xai"},           {"aliyuncs.com", "qwen"},   {"bigmodel.cn", "zhipu"},
        {"githubcopilot.com", "copilot"}, {"minimax.chat", "minimax"},
        {"moonshot.cn", "moonshot"}, {"api.nvidia.com", "nvidia"},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (host_ends_with(host, known[i].suffix)) {
            copy_text(out, outsz, known[i].name, strlen(known[i].name));
            return;
        }
    }
    const char *last = strrchr(host, '.');
    int numeric = strspn(host, "0123456789.") == strlen(host) || host[0] == '[';
    if (!last || numeric) {
        copy_text(out, outsz, host, strlen(host));
        return;
    }
    const char *start = last;
    while (start > host && start[-1] != '.')
        start--;
    copy_text(out, outsz, start, (size_t)(last - start));
}

static void provider_text(json_t *data, char *out, size_t outsz)
{
    json_t *prov = json_object_get(data, "provider");
    const char *name = jstr(prov, "name");
    const char *endpoint = jstr(prov, "endpoint");
    char host[256];

    if (name && *name && strcmp(name, "other") != 0) {
        copy_text(out, outsz, name, strlen(name));
    } else if (endpoint && endpoint_host(endpoint, host, sizeof(host))) {
        provider_from_host(host, out, outsz);
    } else {
        name = name && *name ? name : "?";
        copy_text(out, outsz, name, strlen(name));
    }
}

static const char *model_of(json_t *data)
{
    json_t *m = json_object_get(data, "model");
    return json_is_string(m) ? json_string_value(m) : jstr(m, "id");
}

static void sbuf_put_capped(sbuf *b, const char *s, size_t len)
{
    if (b->len >= RAW_TEXT_MAX)
        return;
    sbuf_put(b, s, utf8_prefix(s, len, RAW_TEXT_MAX - b->len));
}

/* Appends the text of a message content: a string, a redaction marker (its
 * preview), or an array of parts ("text" fields). */
static void content_text(json_t *c, sbuf *b)
{
    if (json_is_string(c)) {
        sbuf_put_capped(b, json_string_value(c), json_string_length(c));
    } else if (json_is_array(c)) {
        size_t i;
        json_t *part;
        json_array_foreach(c, i, part) {
            size_t n = 0;
            const char *t = json_is_string(part) ? json_string_value(part) : jstrn(part, "text", &n);
            if (json_is_string(part))
                n = json_string_length(part);
            if (t) {
                if (b->len)
                    sbuf_put_capped(b, " ", 1);
                sbuf_put_capped(b, t, n);
            }
        }
    } else if (json_is_object(c)) {
        json_t *red = json_object_get(c, "$redacted");
        size_t n = 0;
        const char *t;
        if (red) {
            t = jstrn(red, "preview", &n);
            sbuf_puts(b, "[redacted] ");
            if (t)
                sbuf_put_capped(b, t, n);
        } else if ((t = jstrn(c, "text", &n)) != NULL) {
            sbuf_put_capped(b, t, n);
        }
    }
}

/* The last user message of an ai.request, as raw text. */
static void prompt_text(json_t *data, sbuf *b)
{
    json_t *msgs = json_object_get(data, "messages");
    json_t *last = NULL, *m;
    size_t i;

    json_array_foreach(msgs, i, m) {
        const char *role = jstr(m, "role");
        if (role && strcmp(role, "user") == 0)
            last = m;
    }
    if (!last)
        return;
    json_t *content = json_object_get(last, "content");
    long long clen;
    if (content) {
        content_text(content, b);
    } else if (jint(last, "content_length", &clen)) {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "[%lld chars, not captured]", clen);
        sbuf_puts(b, tmp);
    }
}

/* "tool: name(args…)" from a tool call in either the OISP shape
 * {name, arguments} or the OpenAI shape {function:{name, arguments}}. */
static void tool_call_text(json_t *call, size_t ncalls, sbuf *b)
{
    json_t *fn = json_object_get(call, "function");
    json_t *src = json_is_object(fn) ? fn : call;
    const char *name = jstr(src, "name");
    json_t *args = json_object_get(src, "arguments");

    sbuf_puts(b, "tool: ");
    sbuf_puts(b, name ? name : "?");
    sbuf_puts(b, "(");
    if (json_is_string(args)) {
        sbuf_put_capped(b, json_string_value(args), json_string_length(args));
    } else if (json_is_object(args) && json_object_get(args, "$redacted")) {
        sbuf_puts(b, "[redacted]");
    } else if (args) {
        char *dump = json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (dump) {
            sbuf_put_capped(b, dump, strlen(dump));
            free(dump);
        }
    }
    sbuf_puts(b, ")");
    if (ncalls > 1) {
        char more[32];
        snprintf(more, sizeof(more), " +%zu more", ncalls - 1);
        sbuf_puts(b, more);
    }
}

/* The answer of an ai.response: choices[0].message.content, else its tool
 * calls, else the error message. */
static void answer_text(json_t *data, sbuf *b)
{
    json_t *msg = json_object_get(json_array_get(json_object_get(data, "choices"), 0), "message");
    json_t *calls = json_object_get(msg, "tool_calls");
    size_t before = b->len;

    content_text(json_object_get(msg, "content"), b);
    if (b->len > before)
        return;
    if (!json_is_array(calls) || json_array_size(calls) == 0)
        calls = json_object_get(data, "tool_calls");
    if (json_is_array(calls) && json_array_size(calls) > 0) {
        tool_call_text(json_array_get(calls, 0), json_array_size(calls), b);
        return;
    }
    size_t n = 0;
    const char *err = jstrn(json_object_get(data, "error"), "message", &n);
    if (err) {
        sbuf_puts(b, "error: ");
        sbuf_put_capped(b, err, n);
    }
}

static void tokens_text(json_t *data, char *out, size_t outsz)
{
    json_t *u = json_object_get(data, "usage");
    long long in, outt;
    int has_in = jint(u, "prompt_tokens", &in) || jint(u, "input_tokens", &in);
    int has_out = jint(u, "completion_tokens", &outt) || jint(u, "output_tokens", &outt);
    char a[24] = "?", c[24] = "?";

    if (!has_in && !has_out) {
        snprintf(out, outsz, "-");
        return;
    }
    if (has_in)
        snprintf(a, sizeof(a), "%lld", in);
    if (has_out)
        snprintf(c, sizeof(c), "%lld", outt);
    snprintf(out, outsz, "%s\xE2\x86\x92%s", a, c); /* in→out */
}

static void latency_text(long long ms, char *out, size_t outsz)
{
    if (ms < 0)
        snprintf(out, outsz, "-");
    else if (ms < 1000)
        snprintf(out, outsz, "%lldms", ms);
    else if (ms < 100000)
        snprintf(out, outsz, "%.1fs", (double)ms / 1000.0);
    else
        snprintf(out, outsz, "%llds", ms / 1000);
}

/* ------------------------------------------------------------------------ */
/* The view. */

/* What an ai.request left behind for its response: cleaned display text. */
typedef struct req_info {
    int used;
    int next;                /* hash chain, -1 ends */
    char id[256];
    int has_ts;
    long long ts_ms;
    char time[16];
    char proc[128];
    char provider[64];
    char model[160];
    char prompt[PROMPT_KEEP_COLS * 4 + 8];
} req_info;

struct show_view {
    show_opts o;
    FILE *out;
    int holding;             /* -n: lines wait in the ring until caught up */
    char **ring;
    size_t ring_len, ring_cap, ring_head;
    int track_ai;            /* pair ai.request/ai.response */
    req_info *slots;         /* SHOW_PENDING_MAX, in arrival order mod size */
    int *buckets;            /* HASH_BUCKETS chain heads into slots */
    unsigned long long seq;  /* requests stored so far */
    size_t line_no;
    show_bad bad;
    sbuf line;               /* the output line being built */
    sbuf raw;                /* raw text of one field */
};

static int pattern_matches(const char *pat, const char *type)
{
    size_t n = strlen(pat);
    if (n > 0 && pat[n - 1] == '*') {
        n--;
        if (n > 0 && pat[n - 1] == '.' && strlen(type) == n - 1 && strncmp(type, pat, n - 1) == 0)
            return 1; /* "ai.*" also matches a bare "ai" */
        return strncmp(type, pat, n) == 0;
    }
    if (strcmp(type, pat) == 0)
        return 1;
    return strncmp(type, pat, n) == 0 && type[n] == '.';
}

static int type_selected(const show_view *v, const char *type)
{
    if (v->o.ntypes == 0)
        return 1;
    for (size_t i = 0; i < v->o.ntypes; i++)
        if (pattern_matches(v->o.types[i], type))
            return 1;
    return 0;
}

static void ring_push(show_view *v, const char *s, size_t len)
{
    size_t n = (size_t)v->o.last_n;
    char *copy;

    if (n == 0 || !(copy = malloc(len + 1)))
        return;
    memcpy(copy, s, len);
    copy[len] = '\0';
    if (v->ring_len < n) {
        if (v->ring_len == v->ring_cap) {
            size_t cap = v->ring_cap ? v->ring_cap * 2 : 64;
            if (cap > n)
                cap = n;
            char **r = realloc(v->ring, cap * sizeof(*r));
            if (!r) {
                free(copy);
                return;
            }
            v->ring = r;
            v->ring_cap = cap;
        }
        v->ring[v->ring_len++] = copy;
        return;
    }
    free(v->ring[v->ring_head]);
    v->ring[v->ring_head] = copy;
    v->ring_head = (v->ring_head + 1) % n;
}

static void emit(show_view *v, const char *s, size_t len)
{
    if (v->holding) {
        ring_push(v, s, len);
        return;
    }
    fwrite(s, 1, len, v->out);
    fputc('\n', v->out);
}

static void emit_line(show_view *v)
{
    emit(v, v->line.p ? v->line.p : "", v->line.len);
    sbuf_reset(&v->line);
}

/* A raw event line for --json.  On a terminal, the C1 and DEL bytes that
 * JSON allows raw inside strings are written as \u escapes (same JSON). */
static void emit_raw(show_view *v, const char *line, size_t len)
{
    int risky = 0;
    for (size_t i = 0; i < len && !risky; i++) {
        unsigned char c = (unsigned char)line[i];
        risky = c == 0x7F || (c == 0xC2 && i + 1 < len && (unsigned char)line[i + 1] >= 0x80 &&
                              (unsigned char)line[i + 1] <= 0x9F);
    }
    if (!v->o.tty || !risky) {
        emit(v, line, len);
        return;
    }
    sbuf_reset(&v->line);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        char esc[8];
        if (c == 0x7F) {
            sbuf_puts(&v->line, "\\u007f");
        } else if (c == 0xC2 && i + 1 < len && (unsigned char)line[i + 1] >= 0x80 &&
                   (unsigned char)line[i + 1] <= 0x9F) {
            snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)line[i + 1]);
            sbuf_puts(&v->line, esc);
            i++;
        } else {
            sbuf_put(&v->line, line + i, 1);
        }
    }
    emit_line(v);
}

static void put_color(show_view *v, const char *color)
{
    if (v->o.color && color)
        sbuf_puts(&v->line, color);
}

enum pad { PAD_NONE, PAD_RIGHT, PAD_LEFT };

/* Appends untrusted text fitted into cols columns, in colour, padded to cols
 * (PAD_RIGHT: text then spaces; PAD_LEFT: right-aligned).  Returns the
 * columns written. */
static size_t put_field(show_view *v, const char *color, const char *text, size_t len,
                        size_t cols, enum pad pad)
{
    char buf[FIELD_BYTES];
    size_t w = show_text_fit(buf, sizeof(buf), text, len, cols);

    if (pad == PAD_LEFT)
        sbuf_spaces(&v->line, cols - w);
    put_color(v, w ? color : NULL);
    sbuf_puts(&v->line, buf);
    put_color(v, w && color ? C_RESET : NULL);
    if (pad == PAD_RIGHT)
        sbuf_spaces(&v->line, cols - w);
    return pad == PAD_NONE ? w : cols;
}

static size_t put_fields(show_view *v, const char *color, const char *text, size_t cols, enum pad pad)
{
    return put_field(v, color, text, strlen(text), cols, pad);
}

/* Columns left for free text.  The last column stays empty (some terminals
 * wrap when it is written); below about 130 columns lines wrap instead of
 * losing the prompt and answer altogether. */
static size_t text_budget(const show_view *v, size_t used)
{
    size_t width = v->o.width > 0 ? (size_t)v->o.width : DEFAULT_WIDTH;
    return used + W_TEXT_MIN < width - 1 ? width - 1 - used : W_TEXT_MIN;
}

/* One exchange line.  rq may be NULL (response without a seen request);
 * resp may be NULL (request without a response). */
static void print_exchange(show_view *v, const req_info *rq, json_t *resp)
{
    json_t *data = json_object_get(resp, "data");
    char time[16], provider[64], tokens[64], latency[32], status[160];
    const char *status_color = C_GREEN;
    long long lat = -1, code, resp_ms;
    size_t used = 0;

    /* Time and process: from the request when seen (the exchange's start). */
    if (rq)
        memcpy(time, rq->time, sizeof(time));
    else
        event_time_text(resp, time);
    used += put_fields(v, C_DIM, time, 12, PAD_RIGHT) + 1;
    sbuf_puts(&v->line, " ");
    if (rq) {
        used += put_fields(v, C_CYAN, rq->proc, W_PROC, PAD_RIGHT) + 1;
    } else {
        sbuf_reset(&v->raw);
        process_text(resp, &v->raw);
        used += put_field(v, C_CYAN, v->raw.p, v->raw.len, W_PROC, PAD_RIGHT) + 1;
    }
    sbuf_puts(&v->line, " ");

    /* Provider and model: the response's when present (the model served). */
    if (data && json_object_get(data, "provider"))
        provider_text(data, provider, sizeof(provider));
    else
        snprintf(provider, sizeof(provider), "%s", rq ? rq->provider : "?");
    used += put_fields(v, C_MAG, provider, W_PROV, PAD_RIGHT) + 1;
    sbuf_puts(&v->line, " ");
    const char *model = model_of(data);
    if (!model || !*model)
        model = rq && rq->model[0] ? rq->model : "?";
    used += put_fields(v, C_BOLD, model, W_MODEL, PAD_RIGHT) + 1;
    sbuf_puts(&v->line, " ");

    /* Tokens, latency, status. */
    if (resp)
        tokens_text(data, tokens, sizeof(tokens));
    else
        snprintf(tokens, sizeof(tokens), "-");
    used += put_fields(v, NULL, tokens, W_TOKENS, PAD_LEFT) + 1;
    sbuf_puts(&v->line, " ");
    if (!jint(data, "latency_ms", &lat) && rq && rq->has_ts && resp && event_time(resp, &resp_ms))
        lat = resp_ms - rq->ts_ms;
    latency_text(resp ? lat : -1, latency, sizeof(latency));
    used += put_fields(v, NULL, latency, W_LAT, PAD_LEFT) + 1;
    sbuf_puts(&v->line, " ");

    json_t *err = json_object_get(data, "error");
    const char *etype = jstr(err, "type");
    json_t *success = json_object_get(data, "success");
    int has_code = jint(data, "status_code", &code);
    if (!resp) {
        snprintf(status, sizeof(status), "no response");
        status_color = C_YEL;
    } else if (has_code && etype) {
        snprintf(status, sizeof(status), "%lld %s", code, etype);
    } else if (has_code) {
        snprintf(status, sizeof(status), "%lld", code);
    } else {
        snprintf(status, sizeof(status), "%s", etype ? etype : "?");
    }
    if (resp && (etype || json_is_false(success) || (has_code && (code < 200 || code > 299))))
        status_color = C_RED;
    size_t sw = put_fields(v, status_color, status, W_STATUS_MAX, PAD_NONE);
    if (sw < W_STATUS)
        sbuf_spaces(&v->line, W_STATUS - sw);
    used += (sw < W_STATUS ? W_STATUS : sw) + 2;
    sbuf_puts(&v->line, "  ");

    /* Prompt ⇒ answer, sharing what is left of the width. */
    size_t avail = text_budget(v, used);
    char pbuf[FIELD_BYTES], abuf[FIELD_BYTES];
    const char *prompt = rq ? rq->prompt : "(request not seen)";
    sbuf_reset(&v->raw);
    if (resp)
        answer_text(data, &v->raw);
    size_t pw = show_text_fit(pbuf, sizeof(pbuf), prompt, strlen(prompt), avail);
    size_t aw = v->raw.len ? show_text_fit(abuf, sizeof(abuf), v->raw.p, v->raw.len, avail) : 0;
    if (aw > 0) {
        avail = avail > 3 ? avail - 3 : 1; /* " ⇒ " */
        size_t half = avail / 2, pcols = half, acols = avail - half;
        if (pw <= half) {
            pcols = pw;
            acols = avail - pw;
        } else if (aw <= avail - half) {
            acols = aw;
            pcols = avail - aw;
        }
        pw = show_text_fit(pbuf, sizeof(pbuf), prompt, strlen(prompt), pcols);
        show_text_fit(abuf, sizeof(abuf), v->raw.p, v->raw.len, acols);
    }
    put_color(v, rq ? NULL : C_DIM);
    sbuf_puts(&v->line, pbuf);
    put_color(v, rq ? NULL : C_RESET);
    if (aw > 0) {
        if (pw > 0)
            sbuf_puts(&v->line, " ");
        put_color(v, C_DIM);
        sbuf_puts(&v->line, "\xE2\x87\x92"); /* ⇒ */
        put_color(v, C_RESET);
        sbuf_puts(&v->line, " ");
        sbuf_puts(&v->line, abuf);
    }
    emit_line(v);
}

/* Key fields of a non-exchange event, as raw text in v->raw. */
static void generic_details(show_view *v, json_t *ev, const char *type)
{
    json_t *data = json_object_get(ev, "data");
    sbuf *b = &v->raw;
    size_t n = 0;
    const char *s;
    long long x;
    char num[64];

    if (strcmp(type, "process.exec") == 0) {
        json_t *args = json_object_get(data, "args"), *a;
        size_t i;
        if (json_is_array(args) && json_array_size(args) > 0) {
            json_array_foreach(args, i, a) {
                if (!json_is_string(a))
                    continue;
                if (b->len)
                    sbuf_put_capped(b, " ", 1);
                sbuf_put_capped(b, json_string_value(a), json_string_length(a));
            }
        } else if ((s = jstrn(data, "exe", &n)) || (s = jstrn(json_object_get(ev, "process"), "cmdline", &n))) {
            sbuf_put_capped(b, s, n);
        }
    } else if (strcmp(type, "process.exit") == 0) {
        if ((s = jstr(data, "signal_name")))
            snprintf(num, sizeof(num), "signal %.40s", s);
        else if (jint(data, "exit_code", &x))
            snprintf(num, sizeof(num), "exit %lld", x);
        else
            num[0] = '\0';
        sbuf_puts(b, num);
    } else if (strcmp(type, "process.fork") == 0) {
        if (jint(data, "child_pid", &x)) {
            snprintf(num, sizeof(num), "child %lld", x);
            sbuf_puts(b, num);
        }
    } else if (strcmp(type, "file.rename") == 0) {
        if ((s = jstrn(data, "old_path", &n)))
            sbuf_put_capped(b, s, n);
        sbuf_puts(b, " \xE2\x86\x92 ");
        if ((s = jstrn(data, "new_path", &n)))
            sbuf_put_capped(b, s, n);
    } else if (strncmp(type, "file.", 5) == 0) {
        if ((s = jstrn(data, "path", &n)) || (s = jstrn(json_object_get(data, "file"), "path", &n)))
            sbuf_put_capped(b, s, n);
        if (jint(data, "bytes_written", &x) || jint(data, "bytes_read", &x)) {
            snprintf(num, sizeof(num), " (%lld bytes)", x);
            sbuf_puts(b, num);
        }
    } else if (strcmp(type, "network.dns") == 0) {
        if ((s = jstrn(data, "query_name", &n)))
            sbuf_put_capped(b, s, n);
    } else if (strncmp(type, "network.", 8) == 0) {
        json_t *dest = json_object_get(data, "dest");
        const char *ip = jstr(dest, "ip"), *domain = jstr(dest, "domain");
        int v6 = ip && strchr(ip, ':');
        if (ip) {
            sbuf_puts(b, v6 ? "[" : "");
            sbuf_put_capped(b, ip, strlen(ip));
            sbuf_puts(b, v6 ? "]" : "");
        }
        if (jint(dest, "port", &x)) {
            snprintf(num, sizeof(num), ":%lld", x);
            sbuf_puts(b, num);
        }
        if (domain) {
            sbuf_puts(b, " (");
            sbuf_put_capped(b, domain, strlen(domain));
            sbuf_puts(b, ")");
        }
    } else if (strcmp(type, "agent.tool_call") == 0) {
        json_t *call = json_object(); /* reuse the tool-call formatter */
        if (call) {
            json_object_set(call, "name", json_object_get(json_object_get(data, "tool"), "name"));
            if (json_object_get(data, "arguments"))
                json_object_set(call, "arguments", json_object_get(data, "arguments"));
            tool_call_text(call, 1, b);
            json_decref(call);
        }
    } else if (strncmp(type, "agent.", 6) == 0) {
        json_t *ok = json_object_get(data, "success");
        if ((s = jstrn(json_object_get(data, "tool"), "name", &n)))
            sbuf_put_capped(b, s, n);
        else if ((s = jstrn(json_object_get(data, "agent"), "name", &n)))
            sbuf_put_capped(b, s, n);
        if (json_is_boolean(ok))
            sbuf_puts(b, json_is_true(ok) ? " ok" : " failed");
    } else if (strncmp(type, "ai.", 3) == 0) {
        char prov[64];
        provider_text(data, prov, sizeof(prov));
        sbuf_puts(b, prov);
        if ((s = model_of(data))) {
            sbuf_puts(b, " ");
            sbuf_put_capped(b, s, strlen(s));
        }
    }
}

static void print_generic(show_view *v, json_t *ev, const char *type)
{
    char time[16];
    size_t used = 0;

    event_time_text(ev, time);
    used += put_fields(v, C_DIM, time, 12, PAD_RIGHT) + 1;
    sbuf_puts(&v->line, " ");
    sbuf_reset(&v->raw);
    process_text(ev, &v->raw);
    used += put_field(v, C_CYAN, v->raw.p, v->raw.len, W_PROC, PAD_RIGHT) + 1;
    sbuf_puts(&v->line, " ");
    used += put_fields(v, C_BLUE, *type ? type : "?", W_PROV + 1 + W_MODEL, PAD_RIGHT) + 2;
    sbuf_puts(&v->line, "  ");
    sbuf_reset(&v->raw);
    generic_details(v, ev, type);
    if (v->raw.len)
        put_field(v, NULL, v->raw.p, v->raw.len, text_budget(v, used), PAD_NONE);
    /* No trailing spaces on a line without details. */
    while (v->line.len > 0 && v->line.p[v->line.len - 1] == ' ')
        v->line.p[--v->line.len] = '\0';
    emit_line(v);
}

/* ---- pending requests ---- */

static unsigned hash_id(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h & (HASH_BUCKETS - 1);
}

static int pending_find(const show_view *v, const char *id)
{
    for (int i = v->buckets[hash_id(id)]; i >= 0; i = v->slots[i].next)
        if (strcmp(v->slots[i].id, id) == 0)
            return i;
    return -1;
}

static void pending_unlink(show_view *v, int slot)
{
    int *link = &v->buckets[hash_id(v->slots[slot].id)];
    while (*link >= 0 && *link != slot)
        link = &v->slots[*link].next;
    if (*link == slot)
        *link = v->slots[slot].next;
    v->slots[slot].used = 0;
}

static void fill_req_info(req_info *r, json_t *ev)
{
    json_t *data = json_object_get(ev, "data");
    sbuf raw = {0};
    char prov[64];
    const char *model = model_of(data);

    r->has_ts = event_time(ev, &r->ts_ms);
    if (r->has_ts)
        format_local_time(r->ts_ms, r->time);
    else
        snprintf(r->time, sizeof(r->time), "--:--:--.---");
    process_text(ev, &raw);
    show_text_fit(r->proc, sizeof(r->proc), raw.p, raw.len, W_PROC);
    provider_text(data, prov, sizeof(prov));
    show_text_fit(r->provider, sizeof(r->provider), prov, strlen(prov), W_PROV);
    show_text_fit(r->model, sizeof(r->model), model, model ? strlen(model) : 0, W_MODEL);
    sbuf_reset(&raw);
    prompt_text(data, &raw);
    show_text_fit(r->prompt, sizeof(r->prompt), raw.p, raw.len, PROMPT_KEEP_COLS);
    sbuf_free(&raw);
}

static void on_request(show_view *v, json_t *ev)
{
    const char *id = jstr(json_object_get(ev, "data"), "request_id");
    req_info tmp;

    if (!id || !*id || strlen(id) >= sizeof(tmp.id)) {
        /* Cannot be paired: print it now, as it stands. */
        memset(&tmp, 0, sizeof(tmp));
        fill_req_info(&tmp, ev);
        print_exchange(v, &tmp, NULL);
        return;
    }
    int old = pending_find(v, id);
    if (old >= 0) { /* same id again: the earlier one got no answer */
        print_exchange(v, &v->slots[old], NULL);
        pending_unlink(v, old);
    }
    int slot = (int)(v->seq++ % SHOW_PENDING_MAX);
    req_info *r = &v->slots[slot];
    if (r->used) { /* the oldest: give up on it */
        print_exchange(v, r, NULL);
        pending_unlink(v, slot);
    }
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    fill_req_info(r, ev);
    r->used = 1;
    unsigned h = hash_id(id);
    r->next = v->buckets[h];
    v->buckets[h] = slot;
}

static void on_response(show_view *v, json_t *ev)
{
    const char *id = jstr(json_object_get(ev, "data"), "request_id");
    int slot = id ? pending_find(v, id) : -1;

    if (slot < 0) {
        print_exchange(v, NULL, ev);
        return;
    }
    print_exchange(v, &v->slots[slot], ev);
    pending_unlink(v, slot);
}

static void flush_pending(show_view *v)
{
    if (!v->slots)
        return;
    unsigned long long start = v->seq > SHOW_PENDING_MAX ? v->seq - SHOW_PENDING_MAX : 0;
    for (unsigned long long s = start; s < v->seq; s++) {
        int slot = (int)(s % SHOW_PENDING_MAX);
        if (v->slots[slot].used) {
            print_exchange(v, &v->slots[slot], NULL);
            pending_unlink(v, slot);
        }
    }
}

/* ---- public view API ---- */

show_view *show_view_new(const show_opts *opts, FILE *out)
{
    show_view *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->o = *opts;
    v->out = out;
    v->holding = opts->last_n >= 0;
    v->track_ai = !opts->json && (type_selected(v, "ai.request") || type_selected(v, "ai.response"));
    if (v->track_ai) {
        v->slots = calloc(SHOW_PENDING_MAX, sizeof(*v->slots));
        v->buckets = malloc(HASH_BUCKETS * sizeof(*v->buckets));
        if (!v->slots || !v->buckets) {
            show_view_free(v);
            return NULL;
        }
        for (int i = 0; i < HASH_BUCKETS; i++)
            v->buckets[i] = -1;
    }
    return v;
}

static void count_bad(show_view *v, size_t *counter)
{
    (*counter)++;
    if (!v->bad.first_line)
        v->bad.first_line = v->line_no;
}

void show_view_line_too_long(show_view *v)
{
    v->line_no++;
    count_bad(v, &v->bad.too_long);
}

void show_view_line(show_view *v, const char *line, size_t len)
{
    json_error_t err;
    size_t i = 0;

    v->line_no++;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return; /* blank lines are not events, nor errors */
    json_t *ev = json_loadb(line, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
    if (!ev) {
        count_bad(v, &v->bad.not_json);
        return;
    }
    if (!json_is_object(ev)) {
        count_bad(v, &v->bad.not_object);
        json_decref(ev);
        return;
    }
    const char *type = jstr(ev, "event_type");
    if (!type)
        type = "";
    if (v->o.json) {
        if (type_selected(v, type))
            emit_raw(v, line, len);
    } else if (strcmp(type, "ai.request") == 0) {
        if (v->track_ai)
            on_request(v, ev);
    } else if (strcmp(type, "ai.response") == 0) {
        if (v->track_ai)
            on_response(v, ev);
    } else if (type_selected(v, type)) {
        print_generic(v, ev, type);
    }
    json_decref(ev);
}

void show_view_catch_up(show_view *v)
{
    if (!v->holding)
        return;
    v->holding = 0;
    for (size_t i = 0; i < v->ring_len; i++) {
        char *s = v->ring[(v->ring_head + i) % v->ring_len];
        emit(v, s, strlen(s));
        free(s);
    }
    free(v->ring);
    v->ring = NULL;
    v->ring_len = v->ring_cap = v->ring_head = 0;
}

void show_view_end(show_view *v)
{
    flush_pending(v);
    show_view_catch_up(v);
    fflush(v->out);
}

void show_view_bad(const show_view *v, show_bad *out)
{
    *out = v->bad;
}

void show_view_free(show_view *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->ring_len; i++)
        free(v->ring[i]);
    free(v->ring);
    free(v->slots);
    free(v->buckets);
    sbuf_free(&v->line);
    sbuf_free(&v->raw);
    free(v);
}

/* ------------------------------------------------------------------------ */
/* Input: a bounded line splitter over read(2), and -f following. */

typedef struct line_reader {
    char *buf;
    size_t len, cap;
    size_t scanned;   /* bytes already searched for a newline */
    int discarding;   /* inside a line that was too long */
} line_reader;

/* Feeds every complete line in the buffer to the view; keeps the partial
 * tail.  A partial line reaching SHOW_MAX_LINE is dropped and counted. */
static void reader_drain_lines(line_reader *r, show_view *v)
{
    size_t start = 0;
    char *nl;

    while ((nl = memchr(r->buf + r->scanned, '\n', r->len - r->scanned)) != NULL) {
        size_t end = (size_t)(nl - r->buf);
        if (r->discarding)
            r->discarding = 0;
        else
            show_view_line(v, r->buf + start, end - start);
        start = r->scanned = end + 1;
    }
    r->scanned = r->len;
    if (start > 0) {
        memmove(r->buf, r->buf + start, r->len - start);
        r->len -= start;
        r->scanned = r->len;
    }
    if (r->len >= SHOW_MAX_LINE || (r->discarding && r->len > 0)) {
        if (!r->discarding)
            show_view_line_too_long(v);
        r->discarding = 1;
        r->len = r->scanned = 0;
    }
}

/* The last line when the input ends without a newline. */
static void reader_finish(line_reader *r, show_view *v)
{
    if (r->len > 0 && !r->discarding)
        show_view_line(v, r->buf, r->len);
    r->len = r->scanned = 0;
    r->discarding = 0;
}

/* Reads what fd has now.  Returns bytes read, 0 at EOF, -1 on error
 * (errno set; EINTR when a signal arrived). */
static ssize_t reader_fill(line_reader *r, int fd, show_view *v)
{
    if (r->cap - r->len < READ_CHUNK) {
        size_t cap = r->cap ? r->cap * 2 : 2 * READ_CHUNK;
        char *p = realloc(r->buf, cap);
        if (!p) {
            errno = ENOMEM;
            return -1;
        }
        r->buf = p;
        r->cap = cap;
    }
    ssize_t n = read(fd, r->buf + r->len, r->cap - r->len);
    if (n > 0) {
        r->len += (size_t)n;
        reader_drain_lines(r, v);
    }
    return n;
}

static volatile sig_atomic_t show_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    show_stop = 1;
}

typedef struct input {
    const char *path; /* NULL for stdin */
    const char *label;
    int fd;
    off_t offset;     /* bytes read from fd */
    dev_t dev;
    ino_t ino;
} input;

static int input_open(input *in)
{
    struct stat st = {0};
    int fd = STDIN_FILENO;

    if (in->path && (fd = open(in->path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (in->path)
            close(fd);
        errno = EISDIR;
        return -1;
    }
    in->fd = fd;
    in->offset = 0;
    in->dev = st.st_dev;
    in->ino = st.st_ino;
    return 0;
}

/* Reads in->fd to its current end.  Returns 0, or -1 on a read error. */
static int input_read_to_eof(input *in, line_reader *r, show_view *v)
{
    for (;;) {
        ssize_t n = reader_fill(r, in->fd, v);
        if (n > 0) {
            in->offset += n;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR) {
            if (show_stop)
                return 0;
            continue;
        }
        return -1;
    }
}

/* -f at EOF: notices truncation (start again) and replacement (drain the old
 * file, open the new one).  Returns 0, or -1 on a read error. */
static int input_check_rotation(input *in, line_reader *r, show_view *v)
{
    struct stat st, cur;

    if (fstat(in->fd, &cur) == 0 && S_ISREG(cur.st_mode) && cur.st_size < in->offset) {
        fprintf(stderr, "oisp-sensor show: %s: file truncated\n", in->label);
        if (lseek(in->fd, 0, SEEK_SET) == 0) {
            in->offset = 0;
            r->len = r->scanned = 0;
            r->discarding = 0;
        }
        return 0;
    }
    if (!in->path || stat(in->path, &st) != 0)
        return 0; /* gone for now: keep reading the old one */
    if (st.st_dev == in->dev && st.st_ino == in->ino)
        return 0;
    if (input_read_to_eof(in, r, v) < 0)
        return -1;
    reader_finish(r, v);
    int oldfd = in->fd;
    if (input_open(in) < 0)
        return 0; /* not openable yet: try again next time */
    close(oldfd);
    fprintf(stderr, "oisp-sensor show: %s: file replaced, following the new file\n", in->label);
    return 0;
}

static void usage(FILE *f)
{
    fputs("usage: oisp-sensor show [FILE|-] [-f] [-t TYPE]... [-n N] [--json] [--no-color]\n"
          "\n"
          "Print recorded OISP events for a person: one line per AI exchange\n"
          "(time, process, provider, model, tokens in\xE2\x86\x92out, latency, status, prompt \xE2\x87\x92 answer)\n"
          "and one line per other event.  FILE defaults to stdin (\"-\").\n"
          "\n"
          "  -f, --follow        keep reading as the file grows (survives truncation and\n"
          "                      rotation) until interrupted\n"
          "  -t, --type TYPE     only events of TYPE; repeatable; a prefix such as \"ai\",\n"
          "                      \"process\" or \"file.*\" selects a family\n"
          "  -n, --lines N       only the last N lines of what is already there\n"
          "      --json          print the selected raw event lines instead\n"
          "      --no-color      no colours (they are only used on a terminal anyway)\n"
          "  -h, --help          this help\n",
          f);
}

static int parse_count(const char *s, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < 0)
        return -1;
    *out = n;
    return 0;
}

typedef struct show_args {
    const char *path;
    int follow;
    int json;
    int no_color;
    long last_n;
    const char **types;
    size_t ntypes;
} show_args;

/* Returns 0 to run, 1 after --help, 2 on a usage error (message printed). */
static int parse_args(int argc, char **argv, show_args *a)
{
    int only_files = 0;

    a->last_n = -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = NULL;

        if (only_files || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (a->path) {
                fprintf(stderr, "oisp-sensor show: only one FILE may be given\n");
                return 2;
            }
            a->path = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_files = 1;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(arg, "--follow") == 0) {
            a->follow = 1;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(arg, "--no-color") == 0 || strcmp(arg, "--no-colour") == 0) {
            a->no_color = 1;
        } else if (strncmp(arg, "--type", 6) == 0 || strncmp(arg, "--lines", 7) == 0) {
            int is_type = arg[2] == 't';
            const char *rest = arg + (is_type ? 6 : 7);
            if (*rest == '=')
                val = rest + 1;
            else if (*rest == '\0' && i + 1 < argc)
                val = argv[++i];
            else {
                fprintf(stderr, "oisp-sensor show: %s needs a value\n", arg);
                return 2;
            }
            if (is_type) {
                a->types[a->ntypes++] = val;
            } else if (parse_count(val, &a->last_n) < 0) {
                fprintf(stderr, "oisp-sensor show: bad line count '%s'\n", val);
                return 2;
            }
        } else if (arg[1] != '-') {
            /* A cluster of short options: -f, -t TYPE, -n N (value attached or next). */
            for (const char *p = arg + 1; *p; p++) {
                if (*p == 'f') {
                    a->follow = 1;
                    continue;
                }
                if (*p != 't' && *p != 'n') {
                    fprintf(stderr, "oisp-sensor show: unknown option -%c (see show --help)\n", *p);
                    return 2;
                }
                if (p[1])
                    val = p + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else {
                    fprintf(stderr, "oisp-sensor show: -%c needs a value\n", *p);
                    return 2;
                }
                if (*p == 't') {
                    a->types[a->ntypes++] = val;
                } else if (parse_count(val, &a->last_n) < 0) {
                    fprintf(stderr, "oisp-sensor show: bad line count '%s'\n", val);
                    return 2;
                }
                break;
            }
        } else {
            fprintf(stderr, "oisp-sensor show: unknown option %s (see show --help)\n", arg);
            return 2;
        }
    }
    if (a->path && strcmp(a->path, "-") == 0)
        a->path = NULL;
    return 0;
}

static int output_width(int tty)
{
    struct winsize ws;
    const char *cols = getenv("COLUMNS");
    long n;

    if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (cols && parse_count(cols, &n) == 0 && n > 0 && n < 100000)
        return (int)n;
    return DEFAULT_WIDTH;
}

static void report_bad_lines(const show_view *v, const char *label)
{
    show_bad bad;
    show_view_bad(v, &bad);
    size_t total = bad.not_json + bad.not_object + bad.too_long;
    if (total == 0)
        return;
    fprintf(stderr, "oisp-sensor show: %s: skipped %zu bad line%s (%zu not JSON, %zu not an object, "
            "%zu too long); first at line %zu\n",
            label, total, total == 1 ? "" : "s", bad.not_json, bad.not_object, bad.too_long,
            bad.first_line);
}

/* Reads the input to its end, or with follow until a stop signal. */
static int run_input(input *in, int follow, show_view *v)
{
    line_reader r = {0};
    int rc = 0, caught_up = 0;

    for (;;) {
        if (input_read_to_eof(in, &r, v) < 0) {
            fprintf(stderr, "oisp-sensor show: %s: %s\n", in->label, strerror(errno));
            rc = 1;
            break;
        }
        if (!follow || show_stop)
            break;
        if (!caught_up) {
            show_view_catch_up(v);
            caught_up = 1;
        }
        fflush(stdout);
        struct stat st;
        if (!in->path && fstat(in->fd, &st) == 0 && !S_ISREG(st.st_mode))
            break; /* a pipe at EOF: its writer is gone */
        if (input_check_rotation(in, &r, v) < 0) {
            fprintf(stderr, "oisp-sensor show: %s: %s\n", in->label, strerror(errno));
            rc = 1;
            break;
        }
        struct timespec ts = {0, POLL_INTERVAL_NS};
        nanosleep(&ts, NULL);
        if (show_stop)
            break;
    }
    reader_finish(&r, v);
    free(r.buf);
    return rc;
}

int cmd_show(int argc, char **argv)
{
    const char **types = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*types));
    show_args a = {.types = types};
    input in = {0};
    int rc;

    if (!types) {
        fprintf(stderr, "oisp-sensor show: out of memory\n");
        return 1;
    }
    rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        free(types);
        return rc == 1 ? 0 : 2;
    }
    in.path = a.path;
    in.label = a.path ? a.path : "stdin";
    if (input_open(&in) < 0) {
        fprintf(stderr, "oisp-sensor show: cannot open %s: %s\n", in.label, strerror(errno));
        free(types);
        return 2;
    }

    int tty = isatty(STDOUT_FILENO);
    show_opts o = {
        .json = a.json,
        .color = tty && !a.no_color && !getenv("NO_COLOR"),
        .tty = tty,
        .width = output_width(tty),
        .last_n = a.last_n,
        .types = types,
        .ntypes = a.ntypes,
    };
    show_view *v = show_view_new(&o, stdout);
    if (!v) {
        fprintf(stderr, "oisp-sensor show: out of memory\n");
        if (in.path)
            close(in.fd);
        free(types);
        return 1;
    }

    struct sigaction sa, old_int, old_term;
    if (a.follow) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop_signal; /* no SA_RESTART: wake the sleep/read */
        sigemptyset(&sa.sa_mask);
        show_stop = 0;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    }
    rc = run_input(&in, a.follow, v);
    if (a.follow) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    show_view_end(v);
    report_bad_lines(v, in.label);
    show_view_free(v);
    if (in.path)
        close(in.fd);
    free(types);
    return rc;
}

/* analyze.c: `oisp-sensor analyze traces|inventory|costs FILE`, reports over
 * a recorded OISP v0.1 JSONL file.
 *
 * How it works.  analyze_path() reads the file with read(2) into a bounded
 * line buffer (lines over ANALYZE_MAX_LINE are skipped and counted) and gives
 * each line to an analyzer, which parses it with jansson, keeps what its
 * report needs and drops the event:
 *
 *   traces     Each event becomes a small summary node (ids, time, a few
 *              capped fields) in the group of its trace_context.trace_id, or,
 *              without one, in the "untraced" group of its process.  At the
 *              end each group is built into a tree and printed, groups in
 *              order of their first event.  Links are found by id, never by
 *              file order, so events may come in any order:
 *                ai.response      -> its ai.request (related "parent", else
 *                                    the same request_id): one LLM call
 *                agent.tool_call  -> the ai.response it was caused_by (else
 *                                    the response whose tool_calls carry its
 *                                    call_id)
 *                agent.tool_result-> its tool_call (related "parent", else
 *                                    the same call_id)
 *                host events      -> the tool call they were caused_by, or
 *                                    the call whose call or result lists them
 *                                    as "causes"
 *              Whatever links nowhere is shown at the top of its group, in
 *              time order.  Memory: the nodes of all open groups are counted;
 *              past max_memory the least recently active groups are printed
 *              early and freed, down to 3/4 of it; a later event of such a
 *              group starts a new block, marked [continued].
 *   inventory  Counters in bounded tables (ANALYZE_TABLE_MAX rows, then one
 *              "(other)" row): providers, models, processes and API keys
 *              from ai.request, responses and errors from ai.response, event
 *              types from everything.
 *   costs      Each ai.response is joined to its ai.request by request_id in
 *              a table of at most ANALYZE_JOIN_MAX waiting halves (either may
 *              come first; when full, the oldest waiting request is counted
 *              as unanswered, and a response finding nothing is counted with
 *              its own fields), then its usage is priced (prices.c) and added
 *              to the provider, model and process tables.  Server-side
 *              (inbound) views of an exchange are left out of inventory and
 *              costs so that nothing is counted twice.
 *
 * Text output passes every string taken from an event through show_text_fit()
 * (one line, control characters and bidi overrides neutralised, cut to a
 * column budget), so events cannot drive the terminal.  JSON output is
 * written by jansson. */
#include "cli/analyze.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/opts.h"
#include "cli/show.h"

#define READ_CHUNK    (256u << 10)
#define ID_BYTES      64     /* event, trace, request and call ids kept */
#define NAME_BYTES    128    /* provider, model, tool and process names */
#define TEXT_BYTES    256    /* paths, argument lists, tool arguments */
#define LINK_MAX      64     /* "causes" links kept per tool call or result */
#define CALL_IDS_MAX  32     /* tool call ids kept per response */
#define COLS_NAME     40     /* terminal columns for a name */
#define COLS_ARGS     60     /* ... for tool arguments */
#define COLS_PATH     80     /* ... for a path or a command line */
#define NODE_OVERHEAD 16     /* malloc bookkeeping, counted per allocation */
#define TS_BYTES      48     /* a formatted timestamp */
#define EARLY_KEYS_MAX 65536 /* traces printed early remembered, to mark continuations */
#define TOKENS_MAX    1000000000000000LL /* one usage figure above this is ignored */

/* ------------------------------------------------------------------------ */
/* Small helpers. */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

/* On allocation failure the buffer stops growing: output gets shorter, never
 * overruns. */
static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static const char *sb_str(const sbuf *b)
{
    return b->p ? b->p : "";
}

static void sb_reset(sbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* Length of the longest prefix of s (n bytes) of at most max bytes that does
 * not end inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* A malloc'd copy of s cut to at most max bytes; NULL for NULL or "".  *acct
 * (may be NULL) grows by the bytes allocated. */
static char *dup_cap(const char *s, size_t max, size_t *acct)
{
    if (!s || !*s)
        return NULL;
    size_t n = utf8_cut(s, strlen(s), max);
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    if (acct)
        *acct += n + 1 + NODE_OVERHEAD;
    return d;
}

static long long sat_add(long long a, long long b)
{
    if (b > 0 && a > LLONG_MAX - b)
        return LLONG_MAX;
    return a + b;
}

/* ---- JSON fields ---- */

static const char *jstr(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

static int jint(const json_t *o, const char *key, long long *out)
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

/* A non-negative integer field, or -1. */
static long long jcount(const json_t *o, const char *key)
{
    long long v;
    return jint(o, key, &v) && v >= 0 ? v : -1;
}

/* A non-negative finite number field, or -1. */
static double jms(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return -1;
    double d = json_number_value(v);
    return isfinite(d) && d >= 0 && d < 1e12 ? d : -1;
}

/* 1, 0, or -1 when absent or not a boolean. */
static int jbool(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* ---- time ---- */

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

static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" to Unix microseconds. */
static int ts_parse_us(const char *ts, int64_t *us)
{
    int Y, M, D, h, m, s, oh, om;
    long long frac = 0, off = 0;
    int digits = 0;

    if (!ts || strnlen(ts, 20) < 19)
        return -1;
    if (!parse_digits(ts, 4, &Y) || ts[4] != '-' || !parse_digits(ts + 5, 2, &M) ||
        ts[7] != '-' || !parse_digits(ts + 8, 2, &D) ||
        (ts[10] != 'T' && ts[10] != 't' && ts[10] != ' ') || !parse_digits(ts + 11, 2, &h) ||
        ts[13] != ':' || !parse_digits(ts + 14, 2, &m) || ts[16] != ':' ||
        !parse_digits(ts + 17, 2, &s))
        return -1;
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60)
        return -1;
    const char *p = ts + 19;
    if (*p == '.') {
        p++;
        const char *start = p;
        while (*p >= '0' && *p <= '9') {
            if (digits < 6) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        if (p == start)
            return -1;
        for (; digits < 6; digits++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        if (!parse_digits(p + 1, 2, &oh) || p[3] != ':' || !parse_digits(p + 4, 2, &om))
            return -1;
        off = (oh * 60LL + om) * 60LL * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    long long secs = days_from_civil(Y, M, D) * 86400LL + h * 3600LL + m * 60LL + s - off;
    *us = (int64_t)(secs * 1000000LL + frac);
    return 0;
}

/* Unix microseconds as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC). */
static void ts_format(int64_t us, char out[TS_BYTES])
{
    long long secs = us / 1000000, frac = us % 1000000;
    int y, mo, d;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    long long days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &mo, &d);
    snprintf(out, TS_BYTES, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", y, mo, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), frac);
}

/* A duration in microseconds: "12.3 ms", "4.321 s", "2m05.123s", "1h02m03s". */
static void fmt_dur(int64_t us, char out[32])
{
    const char *sign = "";
    unsigned long long u;
    if (us < 0) {
        sign = "-";
        u = (unsigned long long)(-(us + 1)) + 1;
    } else {
        u = (unsigned long long)us;
    }
    if (u < 1000000ULL)
        snprintf(out, 32, "%s%.1f ms", sign, (double)u / 1000.0);
    else if (u < 60000000ULL)
        snprintf(out, 32, "%s%.3f s", sign, (double)u / 1e6);
    else if (u < 3600000000ULL)
        snprintf(out, 32, "%s%llum%02llu.%03llus", sign, u / 60000000ULL, u / 1000000ULL % 60,
                 u / 1000ULL % 1000);
    else
        snprintf(out, 32, "%s%lluh%02llum%02llus", sign, u / 3600000000ULL,
                 u / 60000000ULL % 60, u / 1000000ULL % 60);
}

static int64_t ms_to_us(double ms)
{
    return (int64_t)llround(ms * 1000.0);
}

static void fmt_bytes(long long b, char out[32])
{
    if (b < 10240)
        snprintf(out, 32, "%lld B", b);
    else if (b < 10LL << 20)
        snprintf(out, 32, "%.1f KiB", (double)b / 1024.0);
    else if (b < 10LL << 30)
        snprintf(out, 32, "%.1f MiB", (double)b / (1024.0 * 1024.0));
    else
        snprintf(out, 32, "%.1f GiB", (double)b / (1024.0 * 1024.0 * 1024.0));
}

/* ------------------------------------------------------------------------ */
/* A string-keyed hash map (open addressing, linear probing, backward-shift
 * deletion).  Keys are not copied: they must live as long as their entry. */

typedef struct smap {
    const char **keys;
    void **vals;
    size_t cap, len; /* cap: 0 or a power of two */
} smap;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t smap_find(const smap *m, const char *k)
{
    size_t mask = m->cap - 1, i = (size_t)hash_str(k) & mask;
    while (m->keys[i] && strcmp(m->keys[i], k) != 0)
        i = (i + 1) & mask;
    return i;
}

static void *smap_get(const smap *m, const char *k)
{
    if (m->cap == 0)
        return NULL;
    size_t i = smap_find(m, k);
    return m->keys[i] ? m->vals[i] : NULL;
}

static int smap_grow(smap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    smap n = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(void *)), cap, 0};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = smap_find(&n, m->keys[i]);
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
        n.len++;
    }
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

/* Inserts or replaces.  Returns 0, or -1 when out of memory. */
static int smap_put(smap *m, const char *k, void *v)
{
    if ((m->len + 1) * 10 >= m->cap * 7 && smap_grow(m) < 0)
        return -1;
    size_t i = smap_find(m, k);
    if (!m->keys[i])
        m->len++;
    m->keys[i] = k;
    m->vals[i] = v;
    return 0;
}

static void smap_del(smap *m, const char *k)
{
    if (m->cap == 0)
        return;
    size_t mask = m->cap - 1, i = smap_find(m, k), j = i;
    if (!m->keys[i])
        return;
    m->keys[i] = NULL;
    m->len--;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->keys[j])
            return;
        size_t h = (size_t)hash_str(m->keys[j]) & mask;
        /* leave it if its home slot lies cyclically in (i, j] */
        if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
            continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        m->keys[j] = NULL;
        i = j;
    }
}

static void smap_free(smap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------------ */
/* Text output: untrusted strings made safe for one terminal line. */

/* Appends src fitted to max_cols columns; with ascii, every non-ASCII
 * character becomes '?' (the "…" of a cut becomes "..."). */
static void put_fit(sbuf *b, const char *src, size_t max_cols, int ascii)
{
    char tmp[4 * TEXT_BYTES + 16];
    if (!src)
        src = "";
    show_text_fit(tmp, sizeof(tmp), src, strlen(src), max_cols);
    if (!ascii) {
        sb_puts(b, tmp);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)tmp; *p;) {
        if (*p < 0x80) {
            sb_put(b, (const char *)p, 1);
            p++;
        } else if (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0xA6) {
            sb_puts(b, "...");
            p += 3;
        } else {
            sb_puts(b, "?");
            p++;
            while ((*p & 0xC0) == 0x80)
                p++;
        }
    }
}

/* Display columns of a fitted cell (ASCII-safe count of UTF-8 characters;
 * show_text_fit already maps wide characters, so this counts code points,
 * which is what column alignment of names needs in practice). */
static size_t utf8_cols(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* A table printed with aligned columns.  Cells are copied. */
typedef struct ttable {
    size_t ncols;
    unsigned right;   /* bit i: column i is right-aligned */
    char **cells;
    size_t n, cap;
} ttable;

static void tt_add(ttable *t, const char *s)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **c = realloc(t->cells, cap * sizeof(*c));
        if (!c)
            return;
        t->cells = c;
        t->cap = cap;
    }
    char *d = strdup(s ? s : "");
    if (d)
        t->cells[t->n++] = d;
}

static void tt_add_fit(ttable *t, const char *s, size_t cols, int ascii)
{
    sbuf b = {0};
    put_fit(&b, s, cols, ascii);
    tt_add(t, sb_str(&b));
    free(b.p);
}

static void tt_add_num(ttable *t, long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", v);
    tt_add(t, tmp);
}

static void tt_print(ttable *t, FILE *out, const char *indent)
{
    size_t w[16] = {0}, rows;
    if (t->ncols == 0 || t->ncols > 16 || t->n % t->ncols != 0)
        rows = 0;
    else
        rows = t->n / t->ncols;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t cols = utf8_cols(t->cells[r * t->ncols + c]);
            if (cols > w[c])
                w[c] = cols;
        }
    for (size_t r = 0; r < rows; r++) {
        sbuf line = {0};
        sb_puts(&line, indent);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            size_t pad = w[c] - utf8_cols(s);
            int last = c + 1 == t->ncols;
            if (t->right & (1u << c))
                for (size_t i = 0; i < pad; i++)
                    sb_put(&line, " ", 1);
            sb_puts(&line, s);
            if (!(t->right & (1u << c)) && !last)
                for (size_t i = 0; i < pad; i++)
                    sb_put(&line, " ", 1);
            if (!last)
                sb_puts(&line, "  ");
        }
        while (line.len > 0 && line.p[line.len - 1] == ' ')
            line.p[--line.len] = '\0';
        fprintf(out, "%s\n", sb_str(&line));
        free(line.p);
    }
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------------------ */
/* The envelope fields every report reads (borrowed from the event). */

typedef struct envelope {
    const char *type, *event_id, *trace_id;
    int64_t ts;
    int has_ts;
    long long pid;          /* -1: none */
    const char *pname, *pexe;
    json_t *data;           /* the data object, or NULL */
    json_t *related;        /* the related_events array, or NULL */
    int inbound;            /* attrs.capture_view "inbound": a server's view */
} envelope;

static int envelope_read(json_t *ev, envelope *e)
{
    memset(e, 0, sizeof(*e));
    e->type = jstr(ev, "event_type");
    if (!e->type)
        return -1;
    e->event_id = jstr(ev, "event_id");
    e->trace_id = jstr(json_object_get(ev, "trace_context"), "trace_id");
    e->has_ts = ts_parse_us(jstr(ev, "ts"), &e->ts) == 0;
    json_t *proc = json_object_get(ev, "process");
    e->pid = jcount(proc, "pid");
    e->pexe = jstr(proc, "exe");
    e->pname = jstr(proc, "name");
    if (!e->pname && e->pexe) {
        const char *slash = strrchr(e->pexe, '/');
        e->pname = slash && slash[1] ? slash + 1 : e->pexe;
    }
    json_t *d = json_object_get(ev, "data");
    e->data = json_is_object(d) ? d : NULL;
    json_t *rel = json_object_get(ev, "related_events");
    e->related = json_is_array(rel) ? rel : NULL;
    const char *view = jstr(json_object_get(ev, "attrs"), "capture_view");
    e->inbound = view && strcmp(view, "inbound") == 0;
    return 0;
}

/* The event id of the first related event with relationship rel. */
static const char *related_id(const envelope *e, const char *rel)
{
    size_t i;
    json_t *r;
    json_array_foreach(e->related, i, r) {
        const char *how = jstr(r, "relationship");
        if (how && strcmp(how, rel) == 0 && jstr(r, "event_id"))
            return jstr(r, "event_id");
    }
    return NULL;
}

/* Provider names of an ai.* data object: display is what people call it
 * (the real name behind OISP's "other"), lookup and alt are tried for
 * prices. */
static void provider_names(const json_t *data, const char **display, const char **lookup,
                           const char **alt)
{
    json_t *p = json_object_get(data, "provider");
    const char *name = jstr(p, "name"), *real = jstr(p, "real_name");
    *display = name && strcmp(name, "other") != 0 ? name : real ? real : name;
    *lookup = real ? real : name;
    *alt = name;
}

static const char *model_id(const json_t *data)
{
    json_t *m = json_object_get(data, "model");
    return json_is_string(m) ? jstr(data, "model") : jstr(m, "id");
}

/* ai.response usage in OISP terms: prompt includes cached and cache writes,
 * completion includes reasoning.  Figures that are absent, negative or
 * absurd are -1. */
typedef struct usage {
    long long prompt, completion, cached, cache_write, reasoning;
} usage;

static long long usage_field(const json_t *u, const char *key)
{
    long long v = jcount(u, key);
    return v > TOKENS_MAX ? -1 : v;
}

static int usage_read(const json_t *data, usage *out)
{
    json_t *u = json_object_get(data, "usage");
    out->prompt = usage_field(u, "prompt_tokens");
    out->completion = usage_field(u, "completion_tokens");
    out->cached = usage_field(u, "cached_tokens");
    out->cache_write = usage_field(u, "cache_creation_tokens");
    out->reasoning = usage_field(u, "reasoning_tokens");
    long long total = usage_field(u, "total_tokens");
    if (out->prompt < 0 && total >= 0 && out->completion >= 0 && total >= out->completion)
        out->prompt = total - out->completion;
    return out->prompt >= 0 || out->completion >= 0;
}

/* ------------------------------------------------------------------------ */
/* traces: summaries of events, grouped by trace. */

enum nkind { N_REQ, N_RESP, N_CALL, N_RESULT, N_HOST, N_OTHER };

typedef struct tnode tnode;
struct tnode {
    tnode *next;            /* the group's nodes in file order */
    long long seq;          /* line number */
    int64_t ts, sort_ts;    /* sort_ts: ts, or the last earlier one in the file */
    int has_ts;
    enum nkind kind;
    char *type;             /* event_type */
    char *event_id;
    char *link;             /* the event this one hangs under (see the file comment) */
    char *key;              /* request_id (REQ, RESP) or call_id (CALL, RESULT) */
    char **causes;          /* CALL, RESULT: ids listed with relationship "causes" */
    unsigned ncauses;
    long long pid;
    char *pname;
    union {
        struct {
            char *provider, *model;
        } req;
        struct {
            char *provider, *model, *finish;
            long long status;
            double latency_ms;
            int success;
            usage use;
            int has_usage;
            char **call_ids;
            unsigned ncall_ids;
        } resp;
        struct {
            char *tool, *args;
        } call;
        struct {
            char *tool, *preview;
            long long size;
            double duration_ms;
            int success;
        } result;
        struct {             /* meaning by type, see host_fill() */
            char *a, *b;
            long long n1, n2, n3;
            int ok;
        } host;
    } u;
    /* the tree, built when the group is printed */
    tnode *pair;            /* REQ <-> RESP of one LLM call, CALL <-> RESULT */
    tnode *up;              /* the node this one is shown under */
    tnode **kids;
    unsigned nkids, capkids;
};

typedef struct tgroup tgroup;
struct tgroup {
    char *key;              /* "T" trace_id, or "U" pid */
    long long pid;          /* untraced: the process, -1 if none */
    char *label;            /* "name[pid]" of its first AI event, else first event */
    int label_from_ai;
    tnode *head, *tail;
    size_t nnodes, bytes;
    int64_t first_ts;
    int has_ts;
    long long first_seq;
    int continued;          /* an earlier part of this trace was printed early */
    tgroup *prev, *next;    /* least recently active first */
};

static int is_host_type(const char *t)
{
    return strncmp(t, "process.", 8) == 0 || strncmp(t, "file.", 5) == 0 ||
           strncmp(t, "network.", 8) == 0;
}

static enum nkind kind_of(const char *type)
{
    if (strcmp(type, "ai.request") == 0)
        return N_REQ;
    if (strcmp(type, "ai.response") == 0)
        return N_RESP;
    if (strcmp(type, "agent.tool_call") == 0)
        return N_CALL;
    if (strcmp(type, "agent.tool_result") == 0)
        return N_RESULT;
    return is_host_type(type) ? N_HOST : N_OTHER;
}

/* The ids of related events with relationship "causes", at most LINK_MAX. */
static char **causes_read(const envelope *e, unsigned *n, size_t *acct)
{
    size_t i, cnt = 0;
    json_t *r;
    json_array_foreach(e->related, i, r) {
        const char *how = jstr(r, "relationship");
        if (how && strcmp(how, "causes") == 0 && jstr(r, "event_id"))
            cnt++;
    }
    *n = 0;
    if (cnt == 0)
        return NULL;
    if (cnt > LINK_MAX)
        cnt = LINK_MAX;
    char **v = calloc(cnt, sizeof(*v));
    if (!v)
        return NULL;
    *acct += cnt * sizeof(*v) + NODE_OVERHEAD;
    json_array_foreach(e->related, i, r) {
        const char *how = jstr(r, "relationship");
        if (*n < cnt && how && strcmp(how, "causes") == 0 && jstr(r, "event_id")) {
            v[*n] = dup_cap(jstr(r, "event_id"), ID_BYTES, acct);
            if (v[*n])
                (*n)++;
        }
    }
    return v;
}

/* A JSON value as short compact text (a string as itself). */
static char *value_text(const json_t *v, size_t *acct)
{
    if (json_is_string(v))
        return dup_cap(json_string_value(v), TEXT_BYTES, acct);
    if (!v || json_is_null(v))
        return NULL;
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *d = dup_cap(s, TEXT_BYTES, acct);
    free(s);
    return d;
}

/* Appends one exec argument, quoted when it has spaces or quotes or is empty. */
static void arg_append(sbuf *b, const char *arg)
{
    if (b->len > 0)
        sb_puts(b, " ");
    if (*arg && !strpbrk(arg, " \t\n'\"\\")) {
        sb_puts(b, arg);
        return;
    }
    sb_puts(b, "'");
    sb_puts(b, arg);
    sb_puts(b, "'");
}

/* Strings of a JSON array joined by sep (exec args when sep is NULL), cut
 * at TEXT_BYTES. */
static char *join_strings(const json_t *arr, const char *sep, size_t *acct)
{
    sbuf b = {0};
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v))
            continue;
        if (sep) {
            if (b.len > 0)
                sb_puts(&b, sep);
            sb_puts(&b, json_string_value(v));
        } else {
            arg_append(&b, json_string_value(v));
        }
        if (b.len > TEXT_BYTES)
            break;
    }
    char *d = dup_cap(b.p, TEXT_BYTES, acct);
    free(b.p);
    return d;
}

/* "ip:port" ("[ip]:port" for IPv6) of an endpoint object. */
static char *endpoint_text(const json_t *ep, size_t *acct)
{
    const char *ip = jstr(ep, "ip");
    long long port = jcount(ep, "port");
    char tmp[160];
    if (!ip)
        return NULL;
    if (strlen(ip) > 100)
        return dup_cap(ip, 100, acct);
    if (port < 0)
        snprintf(tmp, sizeof(tmp), "%s", ip);
    else
        snprintf(tmp, sizeof(tmp), strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, port);
    return dup_cap(tmp, sizeof(tmp), acct);
}

/* Host event fields, by type:
 *   process.exec   a: args joined (else exe)        b: exe
 *   process.exit   n1: exit code, n2: signal, n3: runtime ms
 *   process.fork   n1: child pid
 *   file.open      a: path  b: flags                 file.read/write  a: path  n1: bytes
 *   file.delete    a: path                           file.rename  a: old  b: new
 *   network.connect a: dest ip:port  b: domain  ok: success
 *   network.accept a: src ip:port                    network.dns  a: query name */
static void host_fill(tnode *n, const envelope *e, size_t *acct)
{
    const json_t *d = e->data;
    const char *t = n->type;
    n->u.host.n1 = n->u.host.n2 = n->u.host.n3 = -1;
    n->u.host.ok = -1;
    if (strcmp(t, "process.exec") == 0) {
        n->u.host.b = dup_cap(jstr(d, "exe"), TEXT_BYTES, acct);
        n->u.host.a = join_strings(json_object_get(d, "args"), NULL, acct);
    } else if (strcmp(t, "process.exit") == 0) {
        long long v;
        if (jint(d, "exit_code", &v))
            n->u.host.n1 = v;
        n->u.host.n2 = jcount(d, "signal");
        n->u.host.n3 = jcount(d, "runtime_ms");
    } else if (strcmp(t, "process.fork") == 0) {
        n->u.host.n1 = jcount(d, "child_pid");
    } else if (strcmp(t, "file.open") == 0) {
        n->u.host.a = dup_cap(jstr(d, "path"), TEXT_BYTES, acct);
        n->u.host.b = join_strings(json_object_get(d, "flags"), ",", acct);
    } else if (strcmp(t, "file.write") == 0) {
        n->u.host.a = dup_cap(jstr(d, "path"), TEXT_BYTES, acct);
        n->u.host.n1 = jcount(d, "bytes_written");
    } else if (strcmp(t, "file.read") == 0) {
        n->u.host.a = dup_cap(jstr(d, "path"), TEXT_BYTES, acct);
        n->u.host.n1 = jcount(d, "bytes_read");
    } else if (strcmp(t, "file.delete") == 0) {
        n->u.host.a = dup_cap(jstr(d, "path"), TEXT_BYTES, acct);
    } else if (strcmp(t, "file.rename") == 0) {
        n->u.host.a = dup_cap(jstr(d, "old_path"), TEXT_BYTES, acct);
        n->u.host.b = dup_cap(jstr(d, "new_path"), TEXT_BYTES, acct);
    } else if (strcmp(t, "network.connect") == 0) {
        json_t *dest = json_object_get(d, "dest");
        n->u.host.a = endpoint_text(dest, acct);
        n->u.host.b = dup_cap(jstr(dest, "domain"), NAME_BYTES, acct);
        n->u.host.ok = jbool(d, "success");
    } else if (strcmp(t, "network.accept") == 0) {
        n->u.host.a = endpoint_text(json_object_get(d, "src"), acct);
    } else if (strcmp(t, "network.dns") == 0) {
        n->u.host.a = dup_cap(jstr(d, "query_name"), NAME_BYTES, acct);
    }
}

static void resp_fill(tnode *n, const envelope *e, size_t *acct)
{
    const json_t *d = e->data;
    const char *display, *lookup, *alt;
    provider_names(d, &display, &lookup, &alt);
    n->u.resp.provider = dup_cap(display, NAME_BYTES, acct);
    n->u.resp.model = dup_cap(model_id(d), NAME_BYTES, acct);
    n->u.resp.finish = dup_cap(jstr(d, "finish_reason"), NAME_BYTES, acct);
    n->u.resp.status = jcount(d, "status_code");
    n->u.resp.latency_ms = jms(d, "latency_ms");
    n->u.resp.success = jbool(d, "success");
    n->u.resp.has_usage = usage_read(d, &n->u.resp.use);
    json_t *calls = json_object_get(d, "tool_calls"), *c;
    size_t i, cnt = json_is_array(calls) ? json_array_size(calls) : 0;
    if (cnt > CALL_IDS_MAX)
        cnt = CALL_IDS_MAX;
    if (cnt > 0 && (n->u.resp.call_ids = calloc(cnt, sizeof(char *)))) {
        *acct += cnt * sizeof(char *) + NODE_OVERHEAD;
        json_array_foreach(calls, i, c) {
            if (n->u.resp.ncall_ids >= cnt)
                break;
            char *id = dup_cap(jstr(c, "id"), ID_BYTES, acct);
            if (id)
                n->u.resp.call_ids[n->u.resp.ncall_ids++] = id;
        }
    }
    n->link = dup_cap(related_id(e, "parent"), ID_BYTES, acct);
    n->key = dup_cap(jstr(d, "request_id"), ID_BYTES, acct);
}

static const char *tool_name(const json_t *d)
{
    json_t *t = json_object_get(d, "tool");
    return json_is_string(t) ? jstr(d, "tool") : jstr(t, "name");
}

/* A summary node of one event.  *bytes gets what it holds.  NULL when out
 * of memory. */
static tnode *node_new(const envelope *e, long long seq, size_t *bytes)
{
    size_t acct = sizeof(tnode) + NODE_OVERHEAD;
    tnode *n = calloc(1, sizeof(*n));
    const json_t *d = e->data;

    if (!n)
        return NULL;
    n->seq = seq;
    n->ts = e->ts;
    n->has_ts = e->has_ts;
    n->kind = kind_of(e->type);
    n->type = dup_cap(e->type, NAME_BYTES, &acct);
    n->event_id = dup_cap(e->event_id, ID_BYTES, &acct);
    n->pid = e->pid;
    n->pname = dup_cap(e->pname, NAME_BYTES, &acct);
    switch (n->kind) {
    case N_REQ: {
        const char *display, *lookup, *alt;
        provider_names(d, &display, &lookup, &alt);
        n->u.req.provider = dup_cap(display, NAME_BYTES, &acct);
        n->u.req.model = dup_cap(model_id(d), NAME_BYTES, &acct);
        n->key = dup_cap(jstr(d, "request_id"), ID_BYTES, &acct);
        break;
    }
    case N_RESP:
        resp_fill(n, e, &acct);
        break;
    case N_CALL:
        n->key = dup_cap(jstr(d, "call_id"), ID_BYTES, &acct);
        n->u.call.tool = dup_cap(tool_name(d), NAME_BYTES, &acct);
        n->u.call.args = value_text(json_object_get(d, "arguments"), &acct);
        n->link = dup_cap(related_id(e, "caused_by"), ID_BYTES, &acct);
        if (!n->link)
            n->link = dup_cap(related_id(e, "parent"), ID_BYTES, &acct);
        n->causes = causes_read(e, &n->ncauses, &acct);
        break;
    case N_RESULT:
        n->key = dup_cap(jstr(d, "call_id"), ID_BYTES, &acct);
        n->u.result.tool = dup_cap(tool_name(d), NAME_BYTES, &acct);
        n->u.result.success = jbool(d, "success");
        n->u.result.size = jcount(d, "result_size_bytes");
        n->u.result.duration_ms = jms(d, "duration_ms");
        n->u.result.preview = value_text(json_object_get(d, "result"), &acct);
        n->link = dup_cap(related_id(e, "parent"), ID_BYTES, &acct);
        n->causes = causes_read(e, &n->ncauses, &acct);
        break;
    case N_HOST:
    case N_OTHER:
        if (n->kind == N_HOST)
            host_fill(n, e, &acct);
        n->link = dup_cap(related_id(e, "caused_by"), ID_BYTES, &acct);
        if (!n->link)
            n->link = dup_cap(related_id(e, "parent"), ID_BYTES, &acct);
        break;
    }
    *bytes = acct;
    return n;
}

static void strv_free(char **v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void node_free(tnode *n)
{
    free(n->type);
    free(n->event_id);
    free(n->link);
    free(n->key);
    strv_free(n->causes, n->ncauses);
    free(n->pname);
    switch (n->kind) {
    case N_REQ:
        free(n->u.req.provider);
        free(n->u.req.model);
        break;
    case N_RESP:
        free(n->u.resp.provider);
        free(n->u.resp.model);
        free(n->u.resp.finish);
        strv_free(n->u.resp.call_ids, n->u.resp.ncall_ids);
        break;
    case N_CALL:
        free(n->u.call.tool);
        free(n->u.call.args);
        break;
    case N_RESULT:
        free(n->u.result.tool);
        free(n->u.result.preview);
        break;
    case N_HOST:
    case N_OTHER:
        free(n->u.host.a);
        free(n->u.host.b);
        break;
    }
    free(n->kids);
    free(n);
}

/* ------------------------------------------------------------------------ */
/* inventory and costs: bounded tables of rows. */

typedef struct row {
    char *key;               /* map key */
    char *a, *b, *c;         /* display columns, by table (see the callers) */
    size_t count;            /* inventory: requests or events; costs: responses */
    int64_t first, last;
    int has_ts;
    /* costs */
    size_t priced, unpriced; /* responses with usage, with and without a price */
    long long in, cached, cache_write, out, reasoning;
    double usd;
    const price *pr;         /* model rows: their price, found once */
    price_match how;
    int looked_up;
} row;

typedef struct table {
    smap map;
    row **rows;
    size_t n, cap;
    row *other;              /* what comes after ANALYZE_TABLE_MAX rows */
} table;

/* One ai.request or ai.response, as costs needs it. */
typedef struct half {
    int have;
    char *provider, *lookup, *alt, *model, *pname, *pexe;
} half;

typedef struct jent jent;
struct jent {
    char *rid;               /* request_id, the join key */
    half req, resp;
    usage use;
    int has_usage;
    jent *prev, *next;       /* oldest first */
};

struct analyzer {
    analyze_opts o;
    FILE *out;
    analyze_stats st;
    size_t lineno;
    int ended;
    const char *arrow, *g_mid, *g_last, *g_pipe;
    /* traces */
    smap groups;
    smap early;             /* keys of groups printed early (the map owns them) */
    tgroup *lru_head, *lru_tail;
    size_t mem, max_mem;
    /* inventory and costs */
    table prov, model, proc, keys, types;
    size_t requests, responses, errors;
    int64_t first, last;
    int has_ts;
    /* costs */
    smap join;
    jent *jhead, *jtail;
    size_t njoin, unanswered, no_usage;
    row total;
    const price_table *prices;
    price_table *own_prices;
};

/* ------------------------------------------------------------------------ */
/* traces: groups. */

static void lru_unlink(analyzer *a, tgroup *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        a->lru_head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    else
        a->lru_tail = g->prev;
    g->prev = g->next = NULL;
}

static void lru_append(analyzer *a, tgroup *g)
{
    g->prev = a->lru_tail;
    g->next = NULL;
    if (a->lru_tail)
        a->lru_tail->next = g;
    else
        a->lru_head = g;
    a->lru_tail = g;
}

static void group_free(tgroup *g)
{
    for (tnode *n = g->head, *next; n; n = next) {
        next = n->next;
        node_free(n);
    }
    free(g->key);
    free(g->label);
    free(g);
}

static tgroup *group_for(analyzer *a, const envelope *e)
{
    char key[ID_BYTES + 32];
    if (e->trace_id)
        snprintf(key, sizeof(key), "T%.*s",
                 (int)utf8_cut(e->trace_id, strlen(e->trace_id), ID_BYTES), e->trace_id);
    else
        snprintf(key, sizeof(key), "U%lld", e->pid);
    tgroup *g = smap_get(&a->groups, key);
    if (g)
        return g;
    g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->key = strdup(key);
    if (!g->key || smap_put(&a->groups, g->key, g) < 0) {
        free(g->key);
        free(g);
        return NULL;
    }
    g->pid = e->trace_id ? -1 : e->pid;
    g->first_seq = (long long)a->lineno;
    if (smap_get(&a->early, key)) {
        g->continued = 1;
        a->st.traces_continued++;
    }
    g->bytes = sizeof(*g) + strlen(key) + 1 + 2 * NODE_OVERHEAD + 2 * sizeof(void *) * 2;
    a->mem += g->bytes;
    lru_append(a, g);
    return g;
}

/* The group's process label, from its first AI event (else its first). */
static void group_label(tgroup *g, const envelope *e)
{
    int ai = strncmp(e->type, "ai.", 3) == 0;
    if ((g->label && (g->label_from_ai || !ai)) || (!e->pname && e->pid < 0))
        return;
    char tmp[NAME_BYTES + 32];
    const char *name = e->pname ? e->pname : "?";
    size_t n = utf8_cut(name, strlen(name), NAME_BYTES);
    if (e->pid >= 0)
        snprintf(tmp, sizeof(tmp), "%.*s[%lld]", (int)n, name, e->pid);
    else
        snprintf(tmp, sizeof(tmp), "%.*s", (int)n, name);
    char *label = strdup(tmp);
    if (!label)
        return;
    if (g->label)
        g->bytes -= strlen(g->label) + 1;
    free(g->label);
    g->label = label;
    g->bytes += strlen(label) + 1;
    g->label_from_ai = ai;
}

static void group_print(analyzer *a, tgroup *g, int early);

static void group_flush(analyzer *a, tgroup *g, int early)
{
    group_print(a, g, early);
    lru_unlink(a, g);
    smap_del(&a->groups, g->key);
    a->mem -= g->bytes;
    a->st.traces++;
    if (early) {
        a->st.traces_early++;
        char *k = a->early.len < EARLY_KEYS_MAX && !smap_get(&a->early, g->key) ? strdup(g->key)
                                                                              : NULL;
        if (k && smap_put(&a->early, k, k) < 0)
            free(k);
    }
    group_free(g);
}

static void traces_event(analyzer *a, const envelope *e)
{
    if (a->o.trace_id && (!e->trace_id || strcmp(e->trace_id, a->o.trace_id) != 0))
        return;
    tgroup *g = group_for(a, e);
    if (!g)
        return;
    size_t bytes = 0, before = g->bytes;
    tnode *n = node_new(e, (long long)a->lineno, &bytes);
    if (!n)
        return;
    if (g->tail)
        g->tail->next = n;
    else
        g->head = n;
    g->tail = n;
    g->nnodes++;
    g->bytes += bytes;
    if (e->has_ts && (!g->has_ts || e->ts < g->first_ts)) {
        g->first_ts = e->ts;
        g->has_ts = 1;
    }
    group_label(g, e);
    a->mem += g->bytes - before;
    lru_unlink(a, g);
    lru_append(a, g);
    if (a->mem > a->max_mem) { /* print the least recently active groups early */
        size_t target = a->max_mem - a->max_mem / 4;
        while (a->mem > target && a->lru_head)
            group_flush(a, a->lru_head, 1);
    }
}

/* ------------------------------------------------------------------------ */
/* traces: building a group's tree. */

typedef struct callref {
    const char *id;
    tnode *resp;
} callref;

typedef struct tree {
    tnode **nodes;           /* file order */
    size_t n;
    tnode **by_id, **reqs, **calls, **top;
    size_t nid, nreq, ncall, ntop;
    callref *refs;
    size_t nref;
    size_t n_llm, n_call, n_host, n_other;
    int64_t base, end;       /* first and last event time */
    int has_ts;
} tree;

static int cmp_id(const void *x, const void *y)
{
    const tnode *a = *(tnode *const *)x, *b = *(tnode *const *)y;
    int c = strcmp(a->event_id, b->event_id);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int cmp_key(const void *x, const void *y)
{
    const tnode *a = *(tnode *const *)x, *b = *(tnode *const *)y;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int cmp_ref(const void *x, const void *y)
{
    const callref *a = x, *b = y;
    int c = strcmp(a->id, b->id);
    return c ? c : (a->resp->seq > b->resp->seq) - (a->resp->seq < b->resp->seq);
}

static int cmp_time(const void *x, const void *y)
{
    const tnode *a = *(tnode *const *)x, *b = *(tnode *const *)y;
    if (a->sort_ts != b->sort_ts)
        return a->sort_ts < b->sort_ts ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Index of the first element of v (sorted by field) equal to s, or n. */
static size_t lower_by_id(tnode **v, size_t n, const char *s, int by_key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(by_key ? v[mid]->key : v[mid]->event_id, s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static tnode *find_event(const tree *t, const char *id)
{
    if (!id)
        return NULL;
    size_t i = lower_by_id(t->by_id, t->nid, id, 0);
    return i < t->nid && strcmp(t->by_id[i]->event_id, id) == 0 ? t->by_id[i] : NULL;
}

/* The first node of v (REQs or CALLs sorted by key) with this key and no pair. */
static tnode *find_unpaired(tnode **v, size_t n, const char *key)
{
    if (!key)
        return NULL;
    for (size_t i = lower_by_id(v, n, key, 1); i < n && strcmp(v[i]->key, key) == 0; i++)
        if (!v[i]->pair)
            return v[i];
    return NULL;
}

static tnode *find_ref(const tree *t, const char *id)
{
    size_t lo = 0, hi = t->nref;
    if (!id)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->refs[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->nref && strcmp(t->refs[lo].id, id) == 0 ? t->refs[lo].resp : NULL;
}

/* The node an LLM call is shown as: its request, else its lone response. */
static tnode *llm_item(tnode *n)
{
    return n->kind == N_RESP && n->pair ? n->pair : n;
}

static void attach(tnode *parent, tnode *kid)
{
    if (parent->nkids == parent->capkids) {
        unsigned cap = parent->capkids ? parent->capkids * 2 : 4;
        tnode **k = realloc(parent->kids, cap * sizeof(*k));
        if (!k)
            return; /* shown at the top instead */
        parent->kids = k;
        parent->capkids = cap;
    }
    parent->kids[parent->nkids++] = kid;
    kid->up = parent;
}

static void tree_free(tree *t)
{
    free(t->nodes);
    free(t->by_id);
    free(t->reqs);
    free(t->calls);
    free(t->top);
    free(t->refs);
}

static void tree_link_calls(tree *t)
{
    for (size_t i = 0; i < t->n; i++) { /* responses to their requests */
        tnode *r = t->nodes[i], *q = NULL;
        if (r->kind != N_RESP)
            continue;
        tnode *x = find_event(t, r->link);
        if (x && x->kind == N_REQ && !x->pair)
            q = x;
        if (!q)
            q = find_unpaired(t->reqs, t->nreq, r->key);
        if (q) {
            q->pair = r;
            r->pair = q;
        }
    }
    for (size_t i = 0; i < t->n; i++) { /* tool calls to their responses */
        tnode *c = t->nodes[i], *p = NULL;
        if (c->kind != N_CALL)
            continue;
        tnode *x = find_event(t, c->link);
        if (x && (x->kind == N_RESP || x->kind == N_REQ))
            p = llm_item(x);
        if (!p && c->key && (x = find_ref(t, c->key)))
            p = llm_item(x);
        if (p)
            attach(p, c);
    }
    for (size_t i = 0; i < t->n; i++) { /* results to their calls */
        tnode *r = t->nodes[i], *q = NULL;
        if (r->kind != N_RESULT)
            continue;
        tnode *x = find_event(t, r->link);
        if (x && x->kind == N_CALL && !x->pair)
            q = x;
        if (!q)
            q = find_unpaired(t->calls, t->ncall, r->key);
        if (q) {
            q->pair = r;
            r->pair = q;
        }
    }
}

static void tree_link_host(tree *t)
{
    for (size_t i = 0; i < t->n; i++) { /* by their own caused_by */
        tnode *h = t->nodes[i];
        if (h->kind != N_HOST && h->kind != N_OTHER)
            continue;
        tnode *x = find_event(t, h->link);
        if (!x)
            continue;
        if (x->kind == N_CALL)
            attach(x, h);
        else if (x->kind == N_RESULT && x->pair)
            attach(x->pair, h);
        else if (x->kind == N_RESP || x->kind == N_REQ)
            attach(llm_item(x), h);
    }
    for (size_t i = 0; i < t->n; i++) { /* listed as "causes" by a call or result */
        tnode *s = t->nodes[i];
        tnode *call = s->kind == N_CALL ? s : s->kind == N_RESULT ? s->pair : NULL;
        if (!call)
            continue;
        for (unsigned k = 0; k < s->ncauses; k++) {
            tnode *h = find_event(t, s->causes[k]);
            if (h && (h->kind == N_HOST || h->kind == N_OTHER) && !h->up)
                attach(call, h);
        }
    }
}

/* Builds the tree of g.  Returns 0, or -1 when out of memory. */
static int tree_build(tree *t, tgroup *g)
{
    size_t n = g->nnodes ? g->nnodes : 1;
    memset(t, 0, sizeof(*t));
    t->nodes = malloc(n * sizeof(tnode *));
    t->by_id = malloc(n * sizeof(tnode *));
    t->reqs = malloc(n * sizeof(tnode *));
    t->calls = malloc(n * sizeof(tnode *));
    t->top = malloc(n * sizeof(tnode *));
    size_t nrefs = 0;
    for (tnode *x = g->head; x; x = x->next)
        if (x->kind == N_RESP)
            nrefs += x->u.resp.ncall_ids;
    t->refs = malloc((nrefs ? nrefs : 1) * sizeof(callref));
    if (!t->nodes || !t->by_id || !t->reqs || !t->calls || !t->top || !t->refs) {
        tree_free(t);
        return -1;
    }
    int64_t carry = g->has_ts ? g->first_ts : 0;
    t->base = carry;
    t->has_ts = g->has_ts;
    t->end = carry;
    for (tnode *x = g->head; x; x = x->next) {
        x->pair = x->up = NULL;
        x->nkids = 0;
        if (x->has_ts) {
            carry = x->ts;
            if (x->ts > t->end)
                t->end = x->ts;
        }
        x->sort_ts = carry;
        t->nodes[t->n++] = x;
        if (x->event_id)
            t->by_id[t->nid++] = x;
        if (x->kind == N_REQ && x->key)
            t->reqs[t->nreq++] = x;
        if (x->kind == N_CALL && x->key)
            t->calls[t->ncall++] = x;
        if (x->kind == N_RESP)
            for (unsigned k = 0; k < x->u.resp.ncall_ids; k++)
                t->refs[t->nref++] = (callref){x->u.resp.call_ids[k], x};
    }
    qsort(t->by_id, t->nid, sizeof(tnode *), cmp_id);
    qsort(t->reqs, t->nreq, sizeof(tnode *), cmp_key);
    qsort(t->calls, t->ncall, sizeof(tnode *), cmp_key);
    qsort(t->refs, t->nref, sizeof(callref), cmp_ref);
    tree_link_calls(t);
    tree_link_host(t);
    for (size_t i = 0; i < t->n; i++) {
        tnode *x = t->nodes[i];
        if (x->kind == N_REQ || (x->kind == N_RESP && !x->pair))
            t->n_llm++;
        else if (x->kind == N_CALL)
            t->n_call++;
        else if (x->kind == N_HOST)
            t->n_host++;
        else if (x->kind == N_OTHER)
            t->n_other++;
        if (x->up || ((x->kind == N_RESP || x->kind == N_RESULT) && x->pair))
            continue;
        t->top[t->ntop++] = x;
    }
    qsort(t->top, t->ntop, sizeof(tnode *), cmp_time);
    for (size_t i = 0; i < t->n; i++)
        if (t->nodes[i]->nkids > 1)
            qsort(t->nodes[i]->kids, t->nodes[i]->nkids, sizeof(tnode *), cmp_time);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* traces: text. */

/* Appends an event string: fitted for the terminal (fit), or as it is (JSON). */
static void put_s(const analyzer *a, sbuf *b, const char *s, size_t cols, int fit)
{
    if (fit)
        put_fit(b, s ? s : "?", cols, a->o.ascii);
    else
        sb_puts(b, s ? s : "?");
}

/* One line describing a host (or other) event. */
static void host_text(const analyzer *a, sbuf *b, const tnode *n, int fit)
{
    const char *t = n->type;
    char tmp[32];
    if (strcmp(t, "process.exec") == 0) {
        sb_puts(b, "exec ");
        put_s(a, b, n->u.host.a ? n->u.host.a : n->u.host.b, COLS_PATH, fit);
    } else if (strcmp(t, "process.exit") == 0) {
        if (n->u.host.n2 > 0)
            sb_printf(b, "exit by signal %lld", n->u.host.n2);
        else if (n->u.host.n1 != -1)
            sb_printf(b, "exit %lld", n->u.host.n1);
        else
            sb_puts(b, "exit");
        if (n->u.host.n3 >= 0) {
            fmt_dur(n->u.host.n3 * 1000, tmp);
            sb_printf(b, " after %s", tmp);
        }
    } else if (strcmp(t, "process.fork") == 0) {
        sb_puts(b, "fork");
        if (n->u.host.n1 >= 0)
            sb_printf(b, " %s %lld", a->arrow, n->u.host.n1);
    } else if (strcmp(t, "file.open") == 0) {
        sb_puts(b, "open ");
        put_s(a, b, n->u.host.a, COLS_PATH, fit);
        if (n->u.host.b) {
            sb_puts(b, " ");
            put_s(a, b, n->u.host.b, COLS_NAME, fit);
        }
    } else if (strcmp(t, "file.write") == 0 || strcmp(t, "file.read") == 0) {
        sb_puts(b, t[5] == 'w' ? "write " : "read ");
        put_s(a, b, n->u.host.a, COLS_PATH, fit);
        if (n->u.host.n1 >= 0) {
            fmt_bytes(n->u.host.n1, tmp);
            sb_printf(b, " %s", tmp);
        }
    } else if (strcmp(t, "file.delete") == 0) {
        sb_puts(b, "delete ");
        put_s(a, b, n->u.host.a, COLS_PATH, fit);
    } else if (strcmp(t, "file.rename") == 0) {
        sb_puts(b, "rename ");
        put_s(a, b, n->u.host.a, COLS_PATH, fit);
        sb_printf(b, " %s ", a->arrow);
        put_s(a, b, n->u.host.b, COLS_PATH, fit);
    } else if (strcmp(t, "network.connect") == 0) {
        sb_puts(b, "connect ");
        put_s(a, b, n->u.host.a, COLS_NAME, fit);
        if (n->u.host.b) {
            sb_puts(b, " (");
            put_s(a, b, n->u.host.b, COLS_NAME, fit);
            sb_puts(b, ")");
        }
        if (n->u.host.ok == 0)
            sb_puts(b, " failed");
    } else if (strcmp(t, "network.accept") == 0) {
        sb_puts(b, "accept from ");
        put_s(a, b, n->u.host.a, COLS_NAME, fit);
    } else if (strcmp(t, "network.dns") == 0) {
        sb_puts(b, "dns ");
        put_s(a, b, n->u.host.a, COLS_NAME, fit);
    } else {
        put_s(a, b, t, COLS_NAME, fit);
    }
}

/* The latency of an LLM call, in microseconds, or -1. */
static int64_t llm_latency_us(const tnode *req, const tnode *resp)
{
    if (resp && resp->u.resp.latency_ms >= 0)
        return ms_to_us(resp->u.resp.latency_ms);
    if (req && resp && req->has_ts && resp->has_ts && resp->ts >= req->ts)
        return resp->ts - req->ts;
    return -1;
}

static void llm_text(const analyzer *a, sbuf *b, const tnode *n)
{
    const tnode *req = n->kind == N_REQ ? n : NULL;
    const tnode *resp = n->kind == N_RESP ? n : n->pair;
    const char *prov = req && req->u.req.provider ? req->u.req.provider
                       : resp ? resp->u.resp.provider : NULL;
    const char *model = resp && resp->u.resp.model ? resp->u.resp.model
                        : req ? req->u.req.model : NULL;
    char tmp[32];

    sb_puts(b, "LLM ");
    put_fit(b, prov ? prov : "?", COLS_NAME, a->o.ascii);
    sb_puts(b, " ");
    put_fit(b, model ? model : "?", COLS_NAME, a->o.ascii);
    if (!resp) {
        sb_puts(b, "  no response");
        return;
    }
    const usage *u = &resp->u.resp.use;
    if (resp->u.resp.has_usage) {
        sb_puts(b, "  ");
        sb_printf(b, u->prompt >= 0 ? "%lld" : "?", u->prompt);
        if (u->cached > 0)
            sb_printf(b, " (%lld cached)", u->cached);
        sb_puts(b, a->arrow);
        sb_printf(b, u->completion >= 0 ? "%lld" : "?", u->completion);
        if (u->reasoning > 0)
            sb_printf(b, " (%lld reasoning)", u->reasoning);
        sb_puts(b, " tok");
    }
    int64_t lat = llm_latency_us(req, resp);
    if (lat >= 0) {
        fmt_dur(lat, tmp);
        sb_printf(b, "  %s", tmp);
    }
    long long st = resp->u.resp.status;
    if (st >= 0)
        sb_printf(b, resp->u.resp.success == 0 || st >= 400 ? "  error %lld" : "  HTTP %lld", st);
    else if (resp->u.resp.success == 0)
        sb_puts(b, "  failed");
    if (resp->u.resp.finish) {
        sb_puts(b, "  ");
        put_fit(b, resp->u.resp.finish, 24, a->o.ascii);
    }
    if (!req)
        sb_puts(b, "  (request not in file)");
}

static int64_t result_duration_us(const tnode *r)
{
    if (r->u.result.duration_ms >= 0)
        return ms_to_us(r->u.result.duration_ms);
    if (r->pair && r->pair->has_ts && r->has_ts && r->ts >= r->pair->ts)
        return r->ts - r->pair->ts;
    return -1;
}

static void node_text(const analyzer *a, sbuf *b, const tnode *n)
{
    char tmp[32];
    switch (n->kind) {
    case N_REQ:
    case N_RESP:
        llm_text(a, b, n);
        return;
    case N_CALL:
        sb_puts(b, "tool ");
        put_fit(b, n->u.call.tool ? n->u.call.tool : "?", COLS_NAME, a->o.ascii);
        if (n->u.call.args) {
            sb_puts(b, " ");
            put_fit(b, n->u.call.args, COLS_ARGS, a->o.ascii);
        }
        return;
    case N_RESULT: {
        int ok = n->u.result.success;
        sb_puts(b, ok == 1 ? "result ok" : ok == 0 ? "result failed" : "result");
        if (!n->pair) {
            sb_puts(b, " of ");
            put_fit(b, n->u.result.tool ? n->u.result.tool : n->key ? n->key : "?", COLS_NAME,
                    a->o.ascii);
        }
        if (n->u.result.size >= 0) {
            fmt_bytes(n->u.result.size, tmp);
            sb_printf(b, "  %s", tmp);
        }
        int64_t d = result_duration_us(n);
        if (d >= 0) {
            fmt_dur(d, tmp);
            sb_printf(b, "  in %s", tmp);
        }
        return;
    }
    case N_HOST:
    case N_OTHER:
        host_text(a, b, n, 1);
        if (n->pname || n->pid >= 0) {
            sb_puts(b, "  ");
            if (n->pname)
                put_fit(b, n->pname, 24, a->o.ascii);
            if (n->pid >= 0)
                sb_printf(b, "[%lld]", n->pid);
        }
        return;
    }
}

static int64_t item_ts(const tnode *n, int *has)
{
    *has = 1;
    if (n->has_ts)
        return n->ts;
    if (n->kind == N_REQ && n->pair && n->pair->has_ts)
        return n->pair->ts;
    *has = 0;
    return 0;
}

static void print_text_node(analyzer *a, const tree *t, const tnode *n, const char *prefix,
                            int last)
{
    sbuf line = {0}, sub = {0};
    char tmp[32];
    int has;
    int64_t ts = item_ts(n, &has);

    sb_puts(&line, prefix);
    sb_puts(&line, last ? a->g_last : a->g_mid);
    if (has && t->has_ts) {
        fmt_dur(ts - t->base, tmp);
        sb_printf(&line, "+%s  ", tmp);
    } else {
        sb_puts(&line, "+?  ");
    }
    node_text(a, &line, n);
    fprintf(a->out, "%s\n", sb_str(&line));
    free(line.p);

    size_t nk = n->nkids + (n->kind == N_CALL && n->pair ? 1 : 0);
    if (nk == 0)
        return;
    sb_puts(&sub, prefix);
    sb_puts(&sub, last ? "   " : a->g_pipe);
    for (unsigned i = 0; i < n->nkids; i++)
        print_text_node(a, t, n->kids[i], sb_str(&sub), i + 1 == nk);
    if (n->kind == N_CALL && n->pair)
        print_text_node(a, t, n->pair, sb_str(&sub), 1);
    free(sub.p);
}

static void plural(sbuf *b, size_t n, const char *what, const char *sep)
{
    sb_printf(b, "%s%zu %s%s", sep, n, what, n == 1 ? "" : "s");
}

static void print_text_group(analyzer *a, tgroup *g, const tree *t, int early)
{
    sbuf line = {0};
    char when[TS_BYTES], dur[32];
    if (g->key[0] == 'T') {
        sb_puts(&line, "trace ");
        put_fit(&line, g->key + 1, ID_BYTES, a->o.ascii);
    } else {
        sb_puts(&line, "untraced");
    }
    sb_puts(&line, "  ");
    put_fit(&line, g->label ? g->label : "?", COLS_NAME, a->o.ascii);
    if (t->has_ts) {
        ts_format(t->base, when);
        fmt_dur(t->end - t->base, dur);
        sb_printf(&line, "  %s  %s", when, dur);
    }
    fprintf(a->out, "%s\n", sb_str(&line));
    sb_reset(&line);
    sb_puts(&line, "  ");
    plural(&line, t->n_llm, "LLM call", "");
    plural(&line, t->n_call, "tool call", ", ");
    plural(&line, t->n_host, "host event", ", ");
    if (t->n_other)
        plural(&line, t->n_other, "other event", ", ");
    plural(&line, t->n, "event", " (");
    sb_puts(&line, ")");
    if (g->continued)
        sb_puts(&line, "  [continued]");
    if (early)
        sb_puts(&line, "  [printed early to bound memory]");
    fprintf(a->out, "%s\n", sb_str(&line));
    free(line.p);
    for (size_t i = 0; i < t->ntop; i++)
        print_text_node(a, t, t->top[i], "", i + 1 == t->ntop);
    fputc('\n', a->out);
}

/* ------------------------------------------------------------------------ */
/* traces: JSON, one object per group and line. */

static void jset_str(json_t *o, const char *key, const char *s)
{
    if (s)
        json_object_set_new(o, key, json_string(s));
}

static void jset_count(json_t *o, const char *key, long long v)
{
    if (v >= 0)
        json_object_set_new(o, key, json_integer(v));
}

static void jset_bool(json_t *o, const char *key, int v)
{
    if (v >= 0)
        json_object_set_new(o, key, json_boolean(v));
}

static void jset_offset(json_t *o, const tree *t, const tnode *n)
{
    int has;
    int64_t ts = item_ts(n, &has);
    json_object_set_new(o, "offset_ms",
                        has && t->has_ts ? json_real((double)(ts - t->base) / 1000.0)
                                         : json_null());
}

static json_t *node_json(const analyzer *a, const tree *t, const tnode *n);

static void jset_kids(const analyzer *a, const tree *t, json_t *o, const tnode *n)
{
    if (n->nkids == 0)
        return;
    json_t *arr = json_array();
    for (unsigned i = 0; i < n->nkids; i++)
        json_array_append_new(arr, node_json(a, t, n->kids[i]));
    json_object_set_new(o, "children", arr);
}

static json_t *llm_json(const tree *t, const tnode *n)
{
    const tnode *req = n->kind == N_REQ ? n : NULL;
    const tnode *resp = n->kind == N_RESP ? n : n->pair;
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("llm_call"));
    jset_offset(o, t, n);
    if (req) {
        jset_str(o, "request_event_id", req->event_id);
        jset_str(o, "request_id", req->key);
        jset_str(o, "provider", req->u.req.provider);
        jset_str(o, "model", req->u.req.model);
    }
    if (!resp)
        return o;
    jset_str(o, "response_event_id", resp->event_id);
    if (!req) {
        jset_str(o, "request_id", resp->key);
        jset_str(o, "provider", resp->u.resp.provider);
    }
    jset_str(o, "response_model", resp->u.resp.model);
    if (resp->u.resp.has_usage) {
        const usage *u = &resp->u.resp.use;
        json_t *uo = json_object();
        jset_count(uo, "prompt_tokens", u->prompt);
        jset_count(uo, "completion_tokens", u->completion);
        jset_count(uo, "cached_tokens", u->cached);
        jset_count(uo, "reasoning_tokens", u->reasoning);
        json_object_set_new(o, "usage", uo);
    }
    int64_t lat = llm_latency_us(req, resp);
    if (lat >= 0)
        json_object_set_new(o, "latency_ms", json_real((double)lat / 1000.0));
    jset_count(o, "status_code", resp->u.resp.status);
    jset_bool(o, "success", resp->u.resp.success);
    jset_str(o, "finish_reason", resp->u.resp.finish);
    return o;
}

static json_t *result_json(const tree *t, const tnode *n)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("tool_result"));
    jset_offset(o, t, n);
    jset_str(o, "event_id", n->event_id);
    jset_str(o, "call_id", n->key);
    jset_str(o, "tool", n->u.result.tool);
    jset_bool(o, "success", n->u.result.success);
    jset_count(o, "size_bytes", n->u.result.size);
    int64_t d = result_duration_us(n);
    if (d >= 0)
        json_object_set_new(o, "duration_ms", json_real((double)d / 1000.0));
    jset_str(o, "preview", n->u.result.preview);
    return o;
}

static void host_json_fields(json_t *o, const tnode *n)
{
    const char *t = n->type;
    if (strcmp(t, "process.exec") == 0) {
        jset_str(o, "exe", n->u.host.b);
        jset_str(o, "args", n->u.host.a);
    } else if (strcmp(t, "process.exit") == 0) {
        if (n->u.host.n1 != -1)
            json_object_set_new(o, "exit_code", json_integer(n->u.host.n1));
        jset_count(o, "signal", n->u.host.n2);
        jset_count(o, "runtime_ms", n->u.host.n3);
    } else if (strcmp(t, "process.fork") == 0) {
        jset_count(o, "child_pid", n->u.host.n1);
    } else if (strcmp(t, "file.rename") == 0) {
        jset_str(o, "old_path", n->u.host.a);
        jset_str(o, "new_path", n->u.host.b);
    } else if (strncmp(t, "file.", 5) == 0) {
        jset_str(o, "path", n->u.host.a);
        jset_str(o, "flags", n->u.host.b);
        jset_count(o, "bytes", n->u.host.n1);
    } else if (strcmp(t, "network.connect") == 0) {
        jset_str(o, "dest", n->u.host.a);
        jset_str(o, "domain", n->u.host.b);
        jset_bool(o, "success", n->u.host.ok);
    } else if (strcmp(t, "network.accept") == 0) {
        jset_str(o, "src", n->u.host.a);
    } else if (strcmp(t, "network.dns") == 0) {
        jset_str(o, "query_name", n->u.host.a);
    }
}

static json_t *node_json(const analyzer *a, const tree *t, const tnode *n)
{
    json_t *o;
    switch (n->kind) {
    case N_REQ:
    case N_RESP:
        o = llm_json(t, n);
        break;
    case N_CALL:
        o = json_object();
        json_object_set_new(o, "kind", json_string("tool_call"));
        jset_offset(o, t, n);
        jset_str(o, "event_id", n->event_id);
        jset_str(o, "call_id", n->key);
        jset_str(o, "tool", n->u.call.tool);
        jset_str(o, "arguments", n->u.call.args);
        break;
    case N_RESULT:
        return result_json(t, n);
    default: {
        sbuf b = {0};
        o = json_object();
        json_object_set_new(o, "kind", json_string(n->kind == N_HOST ? "host" : "event"));
        json_object_set_new(o, "event_type", json_string(n->type ? n->type : "?"));
        jset_offset(o, t, n);
        jset_str(o, "event_id", n->event_id);
        jset_count(o, "pid", n->pid);
        jset_str(o, "process", n->pname);
        host_text(a, &b, n, 0);
        json_object_set_new(o, "summary", json_string(sb_str(&b)));
        free(b.p);
        host_json_fields(o, n);
        break;
    }
    }
    jset_kids(a, t, o, n);
    if (n->kind == N_CALL && n->pair)
        json_object_set_new(o, "result", result_json(t, n->pair));
    return o;
}

static void print_json_group(analyzer *a, tgroup *g, const tree *t, int early)
{
    json_t *o = json_object(), *items = json_array(), *counts = json_object();
    char when[TS_BYTES];
    json_object_set_new(o, "trace_id", g->key[0] == 'T' ? json_string(g->key + 1) : json_null());
    json_object_set_new(o, "untraced", json_boolean(g->key[0] != 'T'));
    if (g->key[0] != 'T')
        json_object_set_new(o, "pid", g->pid >= 0 ? json_integer(g->pid) : json_null());
    jset_str(o, "process", g->label);
    if (t->has_ts) {
        ts_format(t->base, when);
        json_object_set_new(o, "start", json_string(when));
        json_object_set_new(o, "duration_ms", json_real((double)(t->end - t->base) / 1000.0));
    }
    json_object_set_new(o, "printed_early", json_boolean(early));
    json_object_set_new(o, "continued", json_boolean(g->continued));
    json_object_set_new(counts, "events", json_integer((json_int_t)t->n));
    json_object_set_new(counts, "llm_calls", json_integer((json_int_t)t->n_llm));
    json_object_set_new(counts, "tool_calls", json_integer((json_int_t)t->n_call));
    json_object_set_new(counts, "host_events", json_integer((json_int_t)t->n_host));
    json_object_set_new(counts, "other_events", json_integer((json_int_t)t->n_other));
    json_object_set_new(o, "counts", counts);
    for (size_t i = 0; i < t->ntop; i++)
        json_array_append_new(items, node_json(a, t, t->top[i]));
    json_object_set_new(o, "items", items);
    json_dumpf(o, a->out, JSON_COMPACT | JSON_REAL_PRECISION(12) |
                              (a->o.ensure_ascii ? JSON_ENSURE_ASCII : 0));
    fputc('\n', a->out);
    json_decref(o);
}

static void group_print(analyzer *a, tgroup *g, int early)
{
    tree t;
    if (tree_build(&t, g) < 0) {
        fprintf(a->out, "%s %s: out of memory building its tree\n",
                g->key[0] == 'T' ? "trace" : "untraced", g->key + 1);
        return;
    }
    if (a->o.json)
        print_json_group(a, g, &t, early);
    else
        print_text_group(a, g, &t, early);
    tree_free(&t);
}

static int cmp_group(const void *x, const void *y)
{
    const tgroup *a = *(tgroup *const *)x, *b = *(tgroup *const *)y;
    if (a->has_ts != b->has_ts)
        return a->has_ts ? -1 : 1;
    if (a->has_ts && a->first_ts != b->first_ts)
        return a->first_ts < b->first_ts ? -1 : 1;
    return (a->first_seq > b->first_seq) - (a->first_seq < b->first_seq);
}

static void input_note(const analyzer *a, sbuf *b);

static void traces_end(analyzer *a)
{
    size_t n = 0;
    for (tgroup *g = a->lru_head; g; g = g->next)
        n++;
    tgroup **v = malloc((n ? n : 1) * sizeof(*v));
    if (v) {
        n = 0;
        for (tgroup *g = a->lru_head; g; g = g->next)
            v[n++] = g;
        qsort(v, n, sizeof(*v), cmp_group);
        for (size_t i = 0; i < n; i++)
            group_flush(a, v[i], 0);
        free(v);
    }
    while (a->lru_head) /* out of memory above: print in any order */
        group_flush(a, a->lru_head, 0);
    if (a->o.json)
        return;
    sbuf b = {0};
    if (a->o.trace_id && a->st.traces == 0) {
        sb_puts(&b, "no events with trace_id ");
        put_fit(&b, a->o.trace_id, ID_BYTES, a->o.ascii);
    } else {
        plural(&b, a->st.traces, "trace", "");
        plural(&b, a->st.events, "event", ", ");
    }
    input_note(a, &b);
    fprintf(a->out, "%s\n", sb_str(&b));
    if (a->st.traces_early)
        fprintf(a->out, "%zu trace%s printed early to stay within the memory bound "
                        "(--max-memory); %zu later part%s marked [continued]\n",
                a->st.traces_early, a->st.traces_early == 1 ? " was" : "s were",
                a->st.traces_continued, a->st.traces_continued == 1 ? " is" : "s are");
    free(b.p);
}

/* ------------------------------------------------------------------------ */
/* inventory and costs: tables. */

static void row_free(row *r)
{
    if (!r)
        return;
    free(r->key);
    free(r->a);
    free(r->b);
    free(r->c);
    free(r);
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->n; i++)
        row_free(t->rows[i]);
    free(t->rows);
    row_free(t->other);
    smap_free(&t->map);
    memset(t, 0, sizeof(*t));
}

/* The row for key, created with display columns a, b, c (copied) when new;
 * past ANALYZE_TABLE_MAX rows, the "(other)" row.  NULL when out of memory. */
static row *table_row(table *t, const char *key, const char *a, const char *b, const char *c)
{
    row *r = smap_get(&t->map, key);
    if (r)
        return r;
    if (t->n >= ANALYZE_TABLE_MAX) {
        if (!t->other && (t->other = calloc(1, sizeof(row)))) {
            t->other->key = strdup("(other)");
            t->other->a = strdup("(other)");
        }
        return t->other;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        row **v = realloc(t->rows, cap * sizeof(*v));
        if (!v)
            return NULL;
        t->rows = v;
        t->cap = cap;
    }
    r = calloc(1, sizeof(*r));
    if (!r || !(r->key = strdup(key)) || smap_put(&t->map, r->key, r) < 0) {
        row_free(r);
        return NULL;
    }
    r->a = dup_cap(a, TEXT_BYTES, NULL);
    r->b = dup_cap(b, TEXT_BYTES, NULL);
    r->c = dup_cap(c, TEXT_BYTES, NULL);
    t->rows[t->n++] = r;
    return r;
}

static void row_seen(row *r, const envelope *e)
{
    if (!r)
        return;
    r->count++;
    if (!e->has_ts)
        return;
    if (!r->has_ts || e->ts < r->first)
        r->first = e->ts;
    if (!r->has_ts || e->ts > r->last)
        r->last = e->ts;
    r->has_ts = 1;
}

/* "a\x1fb": a two-part table key. */
static void key2(char *out, size_t outsz, const char *a, const char *b)
{
    snprintf(out, outsz, "%s\x1f%s", a ? a : "?", b ? b : "?");
}

/* The rows of t, sorted by cmp, with "(other)" last.  Caller frees. */
static row **table_sorted(const table *t, int (*cmp)(const void *, const void *), size_t *n)
{
    row **v = malloc((t->n + 1) * sizeof(*v));
    *n = 0;
    if (!v)
        return NULL;
    if (t->n > 0) {
        memcpy(v, t->rows, t->n * sizeof(*v));
        qsort(v, t->n, sizeof(*v), cmp);
    }
    *n = t->n;
    if (t->other)
        v[(*n)++] = t->other;
    return v;
}

static int cmp_count(const void *x, const void *y)
{
    const row *a = *(row *const *)x, *b = *(row *const *)y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int cmp_cost(const void *x, const void *y)
{
    const row *a = *(row *const *)x, *b = *(row *const *)y;
    if (a->usd != b->usd)
        return a->usd > b->usd ? -1 : 1;
    long long ta = sat_add(a->in, a->out), tb = sat_add(b->in, b->out);
    if (ta != tb)
        return ta > tb ? -1 : 1;
    return strcmp(a->key, b->key);
}

static void input_note(const analyzer *a, sbuf *b)
{
    size_t bad = a->st.bad_json + a->st.not_event + a->st.too_long;
    if (bad)
        sb_printf(b, "; skipped %zu malformed line%s (first at line %zu)", bad,
                  bad == 1 ? "" : "s", a->st.first_bad_line);
    if (a->st.inbound_skipped)
        sb_printf(b, "; left out %zu server-side (inbound) view%s of exchanges",
                  a->st.inbound_skipped, a->st.inbound_skipped == 1 ? "" : "s");
}

static json_t *input_json(const analyzer *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "lines", json_integer((json_int_t)a->st.lines));
    json_object_set_new(o, "events", json_integer((json_int_t)a->st.events));
    json_object_set_new(o, "bad_json", json_integer((json_int_t)a->st.bad_json));
    json_object_set_new(o, "not_event", json_integer((json_int_t)a->st.not_event));
    json_object_set_new(o, "too_long", json_integer((json_int_t)a->st.too_long));
    json_object_set_new(o, "inbound_skipped", json_integer((json_int_t)a->st.inbound_skipped));
    return o;
}

static void put_ts_cell(ttable *t, const row *r, int first)
{
    char when[TS_BYTES];
    if (!r->has_ts) {
        tt_add(t, "-");
        return;
    }
    ts_format(first ? r->first : r->last, when);
    tt_add(t, when);
}

static void jset_seen(json_t *o, const row *r)
{
    char when[TS_BYTES];
    if (!r->has_ts)
        return;
    ts_format(r->first, when);
    json_object_set_new(o, "first_seen", json_string(when));
    ts_format(r->last, when);
    json_object_set_new(o, "last_seen", json_string(when));
}

static void print_json_doc(analyzer *a, json_t *o)
{
    json_dumpf(o, a->out, JSON_INDENT(2) | JSON_REAL_PRECISION(12) |
                              (a->o.ensure_ascii ? JSON_ENSURE_ASCII : 0));
    fputc('\n', a->out);
    json_decref(o);
}

/* ------------------------------------------------------------------------ */
/* inventory */

/* "sha256:" and 12 hex digits of a key hash (or its first 12 characters). */
static void short_hash(const char *h, char out[32])
{
    if (!h) {
        snprintf(out, 32, "-");
        return;
    }
    const char *p = strncmp(h, "sha256:", 7) == 0 ? h + 7 : h;
    size_t n = utf8_cut(p, strlen(p), 12);
    snprintf(out, 32, "%s%.*s", p == h ? "" : "sha256:", (int)n, p);
}

static void inventory_request(analyzer *a, const envelope *e)
{
    const char *prov, *lookup, *alt, *model = model_id(e->data);
    char key[2 * TEXT_BYTES + 8];
    provider_names(e->data, &prov, &lookup, &alt);
    if (!prov)
        prov = "?";
    a->requests++;
    row_seen(table_row(&a->prov, prov, prov, NULL, NULL), e);
    key2(key, sizeof(key), prov, model);
    row_seen(table_row(&a->model, key, model ? model : "?", prov, NULL), e);
    snprintf(key, sizeof(key), "%s%s", e->pexe ? "E" : "N",
             e->pexe ? e->pexe : e->pname ? e->pname : "?");
    row_seen(table_row(&a->proc, key, e->pname ? e->pname : "?", e->pexe, NULL), e);

    json_t *auth = json_object_get(e->data, "auth");
    const char *kp = jstr(auth, "key_prefix"), *kh = jstr(auth, "key_hash");
    if (!kp && !kh)
        return;
    char prefix[16], hash[32];
    size_t pn = kp ? utf8_cut(kp, strlen(kp), 8) : 0;
    snprintf(prefix, sizeof(prefix), "%.*s", (int)pn, kp ? kp : "");
    short_hash(kh, hash);
    snprintf(key, sizeof(key), "%s%s", kh ? "H" : "P", kh ? hash : prefix);
    row_seen(table_row(&a->keys, key, prefix[0] ? prefix : "-", hash, prov), e);
}

static void inventory_event(analyzer *a, const envelope *e)
{
    row_seen(table_row(&a->types, e->type, e->type, NULL, NULL), e);
    if (e->has_ts) {
        if (!a->has_ts || e->ts < a->first)
            a->first = e->ts;
        if (!a->has_ts || e->ts > a->last)
            a->last = e->ts;
        a->has_ts = 1;
    }
    int req = strcmp(e->type, "ai.request") == 0, resp = strcmp(e->type, "ai.response") == 0;
    if (!req && !resp)
        return;
    if (e->inbound) {
        a->st.inbound_skipped++;
        return;
    }
    if (req) {
        inventory_request(a, e);
        return;
    }
    a->responses++;
    if (jbool(e->data, "success") == 0 || jcount(e->data, "status_code") >= 400)
        a->errors++;
}

/* One inventory table: the rows' a, b (if cb) and c (if cc) columns, the
 * count, and first/last seen when with_seen. */
static void inventory_table(analyzer *a, const char *title, const table *t, const char *ca,
                            const char *cb, const char *cc, const char *count_name,
                            int with_seen)
{
    size_t n, count_col = 1 + (cb != NULL) + (cc != NULL);
    row **v = table_sorted(t, cmp_count, &n);
    if (!v)
        return;
    fprintf(a->out, "\n%s\n", title);
    if (n == 0) {
        fprintf(a->out, "  (none)\n");
        free(v);
        return;
    }
    ttable tt = {.ncols = count_col + 1 + (with_seen ? 2 : 0), .right = 1u << count_col};
    tt_add(&tt, ca);
    if (cb)
        tt_add(&tt, cb);
    if (cc)
        tt_add(&tt, cc);
    tt_add(&tt, count_name);
    if (with_seen) {
        tt_add(&tt, "first seen");
        tt_add(&tt, "last seen");
    }
    for (size_t i = 0; i < n; i++) {
        tt_add_fit(&tt, v[i]->a ? v[i]->a : "-", COLS_NAME, a->o.ascii);
        if (cb)
            tt_add_fit(&tt, v[i]->b ? v[i]->b : "-", COLS_NAME, a->o.ascii);
        if (cc)
            tt_add_fit(&tt, v[i]->c ? v[i]->c : "-", COLS_NAME, a->o.ascii);
        tt_add_num(&tt, (long long)v[i]->count);
        if (with_seen) {
            put_ts_cell(&tt, v[i], 1);
            put_ts_cell(&tt, v[i], 0);
        }
    }
    tt_print(&tt, a->out, "  ");
    free(v);
}

static json_t *inventory_json_table(const table *t, const char *ka, const char *kb,
                                    const char *kc, const char *count_name)
{
    size_t n;
    json_t *arr = json_array();
    row **v = table_sorted(t, cmp_count, &n);
    for (size_t i = 0; v && i < n; i++) {
        json_t *o = json_object();
        jset_str(o, ka, v[i]->a);
        if (kb)
            jset_str(o, kb, v[i]->b);
        if (kc)
            jset_str(o, kc, v[i]->c);
        json_object_set_new(o, count_name, json_integer((json_int_t)v[i]->count));
        jset_seen(o, v[i]);
        json_array_append_new(arr, o);
    }
    free(v);
    return arr;
}

static void inventory_end(analyzer *a)
{
    char first[TS_BYTES], last[TS_BYTES];
    if (a->o.json) {
        json_t *o = json_object();
        if (a->has_ts) {
            ts_format(a->first, first);
            ts_format(a->last, last);
            json_object_set_new(o, "first_seen", json_string(first));
            json_object_set_new(o, "last_seen", json_string(last));
        }
        json_object_set_new(o, "events", json_integer((json_int_t)a->st.events));
        json_object_set_new(o, "requests", json_integer((json_int_t)a->requests));
        json_object_set_new(o, "responses", json_integer((json_int_t)a->responses));
        json_object_set_new(o, "errors", json_integer((json_int_t)a->errors));
        json_object_set_new(o, "providers",
                            inventory_json_table(&a->prov, "provider", NULL, NULL, "requests"));
        json_object_set_new(o, "models",
                            inventory_json_table(&a->model, "model", "provider", NULL,
                                                 "requests"));
        json_object_set_new(o, "processes",
                            inventory_json_table(&a->proc, "name", "exe", NULL, "requests"));
        json_object_set_new(o, "api_keys",
                            inventory_json_table(&a->keys, "key_prefix", "key_hash", "provider",
                                                 "requests"));
        json_object_set_new(o, "event_types",
                            inventory_json_table(&a->types, "event_type", NULL, NULL, "events"));
        json_object_set_new(o, "input", input_json(a));
        print_json_doc(a, o);
        return;
    }
    sbuf b = {0};
    plural(&b, a->st.events, "event", "inventory: ");
    if (a->has_ts) {
        ts_format(a->first, first);
        ts_format(a->last, last);
        sb_printf(&b, " from %s to %s", first, last);
    }
    fprintf(a->out, "%s\n", sb_str(&b));
    fprintf(a->out, "AI requests: %zu, responses: %zu (%zu error%s)\n", a->requests,
            a->responses, a->errors, a->errors == 1 ? "" : "s");
    inventory_table(a, "providers", &a->prov, "provider", NULL, NULL, "requests", 1);
    inventory_table(a, "models", &a->model, "model", "provider", NULL, "requests", 1);
    inventory_table(a, "processes", &a->proc, "process", "exe", NULL, "requests", 1);
    inventory_table(a, "API keys", &a->keys, "key prefix", "key hash", "provider", "requests",
                    1);
    inventory_table(a, "event types", &a->types, "event type", NULL, NULL, "events", 0);
    sb_reset(&b);
    sb_printf(&b, "\ninput: %zu line%s", a->st.lines, a->st.lines == 1 ? "" : "s");
    input_note(a, &b);
    fprintf(a->out, "%s\n", sb_str(&b));
    free(b.p);
}

/* ------------------------------------------------------------------------ */
/* costs: joining responses to requests. */

static void half_free(half *h)
{
    free(h->provider);
    free(h->lookup);
    free(h->alt);
    free(h->model);
    free(h->pname);
    free(h->pexe);
    memset(h, 0, sizeof(*h));
}

static void half_fill(half *h, const envelope *e)
{
    const char *display, *lookup, *alt;
    half_free(h);
    provider_names(e->data, &display, &lookup, &alt);
    h->have = 1;
    h->provider = dup_cap(display, NAME_BYTES, NULL);
    h->lookup = dup_cap(lookup, NAME_BYTES, NULL);
    h->alt = dup_cap(alt, NAME_BYTES, NULL);
    h->model = dup_cap(model_id(e->data), NAME_BYTES, NULL);
    h->pname = dup_cap(e->pname, NAME_BYTES, NULL);
    h->pexe = dup_cap(e->pexe, TEXT_BYTES, NULL);
}

static void jent_free(jent *j)
{
    half_free(&j->req);
    half_free(&j->resp);
    free(j->rid);
    free(j);
}

static void row_add(row *r, const jent *j, const price *pr, double usd)
{
    if (!r)
        return;
    r->count++;
    if (!j->has_usage)
        return;
    const usage *u = &j->use;
    r->in = sat_add(r->in, u->prompt > 0 ? u->prompt : 0);
    r->cached = sat_add(r->cached, u->cached > 0 ? u->cached : 0);
    r->cache_write = sat_add(r->cache_write, u->cache_write > 0 ? u->cache_write : 0);
    r->out = sat_add(r->out, u->completion > 0 ? u->completion : 0);
    r->reasoning = sat_add(r->reasoning, u->reasoning > 0 ? u->reasoning : 0);
    if (pr) {
        r->usd += usd;
        r->priced++;
    } else {
        r->unpriced++;
    }
}

/* Adds one response (with its request when known) to the cost tables. */
static void cost_account(analyzer *a, const jent *j)
{
    const half *rq = j->req.have ? &j->req : NULL, *rs = j->resp.have ? &j->resp : NULL;
    const half *ph = rq && rq->provider ? rq : rs;
    const char *prov = ph && ph->provider ? ph->provider : "?";
    const char *model = rs && rs->model ? rs->model : rq && rq->model ? rq->model : "?";
    const half *proc = rq && (rq->pname || rq->pexe) ? rq : rs;
    const char *pname = proc && proc->pname ? proc->pname : "?";
    const char *pexe = proc ? proc->pexe : NULL;
    char key[2 * TEXT_BYTES + 8];
    const price *pr;
    price_match how = PRICE_EXACT;

    row *pr_row = table_row(&a->prov, prov, prov, NULL, NULL);
    key2(key, sizeof(key), prov, model);
    row *m_row = table_row(&a->model, key, model, prov, NULL);
    snprintf(key, sizeof(key), "%s%s", pexe ? "E" : "N", pexe ? pexe : pname);
    row *p_row = table_row(&a->proc, key, pname, pexe, NULL);

    if (m_row && m_row != a->model.other) {
        if (!m_row->looked_up) {
            m_row->pr = prices_lookup(a->prices, ph ? ph->lookup : NULL, ph ? ph->alt : NULL,
                                      model, &m_row->how);
            m_row->looked_up = 1;
        }
        pr = m_row->pr;
    } else {
        pr = prices_lookup(a->prices, ph ? ph->lookup : NULL, ph ? ph->alt : NULL, model, &how);
    }
    double usd = 0;
    if (pr && j->has_usage) {
        price_usage pu = {j->use.prompt, j->use.cached, j->use.cache_write, j->use.completion,
                          j->use.reasoning};
        usd = prices_cost_usd(pr, &pu);
    }
    row_add(pr_row, j, pr, usd);
    row_add(m_row, j, pr, usd);
    row_add(p_row, j, pr, usd);
    row_add(&a->total, j, pr, usd);
    a->responses++;
    if (!j->has_usage)
        a->no_usage++;
}

static void join_unlink(analyzer *a, jent *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        a->jhead = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        a->jtail = j->prev;
    smap_del(&a->join, j->rid);
    a->njoin--;
}

/* A waiting half leaves the table: a response is counted with what it has,
 * a request without response is counted as unanswered. */
static void join_settle(analyzer *a, jent *j)
{
    join_unlink(a, j);
    if (j->resp.have)
        cost_account(a, j);
    else
        a->unanswered++;
    jent_free(j);
}

static jent *join_new(analyzer *a, const char *rid)
{
    if (a->njoin >= ANALYZE_JOIN_MAX && a->jhead)
        join_settle(a, a->jhead);
    jent *j = calloc(1, sizeof(*j));
    if (!j || !(j->rid = dup_cap(rid, ID_BYTES, NULL)) || smap_put(&a->join, j->rid, j) < 0) {
        if (j)
            free(j->rid);
        free(j);
        return NULL;
    }
    j->prev = a->jtail;
    if (a->jtail)
        a->jtail->next = j;
    else
        a->jhead = j;
    a->jtail = j;
    a->njoin++;
    return j;
}

/* A response that joins nothing (no request_id, or a second response to
 * one request) is counted on its own. */
static void cost_alone(analyzer *a, const envelope *e)
{
    jent j = {0};
    half_fill(&j.resp, e);
    j.has_usage = usage_read(e->data, &j.use);
    cost_account(a, &j);
    half_free(&j.resp);
}

static void costs_event(analyzer *a, const envelope *e)
{
    int req = strcmp(e->type, "ai.request") == 0, resp = strcmp(e->type, "ai.response") == 0;
    if (!req && !resp)
        return;
    if (e->inbound) {
        a->st.inbound_skipped++;
        return;
    }
    char rid[ID_BYTES + 1];
    const char *r = jstr(e->data, "request_id");
    if (r)
        snprintf(rid, sizeof(rid), "%.*s", (int)utf8_cut(r, strlen(r), ID_BYTES), r);
    jent *j = r ? smap_get(&a->join, rid) : NULL;
    if (req) {
        a->requests++;
        if (!r || (j && j->req.have))
            return; /* nothing to join on, or a repeated request id */
        if (!j && !(j = join_new(a, rid)))
            return;
        half_fill(&j->req, e);
    } else {
        /* a response that joins nothing waiting is counted on its own when
         * the table is full: it must not push out requests still waiting */
        if (!r || (j && j->resp.have) || (!j && a->njoin >= ANALYZE_JOIN_MAX)) {
            cost_alone(a, e);
            return;
        }
        if (!j && !(j = join_new(a, rid))) {
            cost_alone(a, e);
            return;
        }
        half_fill(&j->resp, e);
        j->has_usage = usage_read(e->data, &j->use);
    }
    if (j->req.have && j->resp.have) {
        join_unlink(a, j);
        cost_account(a, j);
        jent_free(j);
    }
}

/* ------------------------------------------------------------------------ */
/* costs: report. */

static void usd_text(const row *r, char out[48])
{
    if (r->unpriced == 0)
        snprintf(out, 48, "%.6f", r->usd);
    else if (r->priced == 0)
        snprintf(out, 48, "unknown");
    else
        snprintf(out, 48, "%.6f*", r->usd);
}

static void price_text(const row *r, sbuf *b)
{
    if (!r->pr) {
        sb_puts(b, "price unknown");
        return;
    }
    sb_printf(b, "%s/%s (%s, %s)", r->pr->provider, r->pr->model, r->pr->source,
              prices_match_name(r->how));
}

static void cost_cells(ttable *tt, const row *r)
{
    char usd[48];
    tt_add_num(tt, (long long)r->count);
    tt_add_num(tt, r->in);
    tt_add_num(tt, r->cached);
    tt_add_num(tt, r->out);
    tt_add_num(tt, r->reasoning);
    usd_text(r, usd);
    tt_add(tt, usd);
}

/* One cost table; by is ANALYZE_BY_*. */
static void costs_table(analyzer *a, unsigned by, int *starred)
{
    const table *t = by == ANALYZE_BY_PROVIDER ? &a->prov
                     : by == ANALYZE_BY_MODEL  ? &a->model : &a->proc;
    const char *title = by == ANALYZE_BY_PROVIDER ? "by provider"
                        : by == ANALYZE_BY_MODEL  ? "by model" : "by process";
    size_t n, lead = by == ANALYZE_BY_PROVIDER ? 1 : 2;
    row **v = table_sorted(t, cmp_cost, &n);
    if (!v)
        return;
    fprintf(a->out, "\n%s\n", title);
    ttable tt = {.ncols = lead + 6 + (by == ANALYZE_BY_MODEL), .right = 0x3Fu << lead};
    tt_add(&tt, by == ANALYZE_BY_PROVIDER ? "provider" : by == ANALYZE_BY_MODEL ? "model"
                                                                               : "process");
    if (lead == 2)
        tt_add(&tt, by == ANALYZE_BY_MODEL ? "provider" : "exe");
    const char *heads[] = {"responses", "input", "cached", "output", "reasoning", "USD"};
    for (size_t i = 0; i < 6; i++)
        tt_add(&tt, heads[i]);
    if (by == ANALYZE_BY_MODEL)
        tt_add(&tt, "price");
    for (size_t i = 0; i <= n; i++) {
        const row *r = i < n ? v[i] : &a->total;
        if (r->unpriced && r->priced)
            *starred = 1;
        if (i < n) {
            tt_add_fit(&tt, r->a ? r->a : "-", COLS_NAME, a->o.ascii);
            if (lead == 2)
                tt_add_fit(&tt, r->b ? r->b : "-", COLS_NAME, a->o.ascii);
        } else {
            tt_add(&tt, "total");
            if (lead == 2)
                tt_add(&tt, "");
        }
        cost_cells(&tt, r);
        if (by == ANALYZE_BY_MODEL) {
            sbuf b = {0};
            if (i < n && r != a->model.other)
                price_text(r, &b);
            tt_add_fit(&tt, sb_str(&b), COLS_PATH, a->o.ascii);
            free(b.p);
        }
    }
    tt_print(&tt, a->out, "  ");
    free(v);
}

static json_t *cost_row_json(const row *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "responses", json_integer((json_int_t)r->count));
    json_object_set_new(o, "input_tokens", json_integer(r->in));
    json_object_set_new(o, "cached_tokens", json_integer(r->cached));
    json_object_set_new(o, "cache_write_tokens", json_integer(r->cache_write));
    json_object_set_new(o, "output_tokens", json_integer(r->out));
    json_object_set_new(o, "reasoning_tokens", json_integer(r->reasoning));
    json_object_set_new(o, "usd", json_real(r->usd));
    json_object_set_new(o, "unpriced_responses", json_integer((json_int_t)r->unpriced));
    return o;
}

static json_t *price_json(const row *r)
{
    if (!r->pr)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "provider", json_string(r->pr->provider));
    json_object_set_new(o, "model", json_string(r->pr->model));
    json_object_set_new(o, "source", json_string(r->pr->source));
    json_object_set_new(o, "match", json_string(prices_match_name(r->how)));
    json_object_set_new(o, "input_per_mtok", json_real(r->pr->input));
    json_object_set_new(o, "output_per_mtok", json_real(r->pr->output));
    if (r->pr->cached_input >= 0)
        json_object_set_new(o, "cached_input_per_mtok", json_real(r->pr->cached_input));
    if (r->pr->cache_write >= 0)
        json_object_set_new(o, "cache_write_per_mtok", json_real(r->pr->cache_write));
    if (r->pr->reasoning >= 0)
        json_object_set_new(o, "reasoning_per_mtok", json_real(r->pr->reasoning));
    return o;
}

static json_t *costs_json_table(analyzer *a, unsigned by)
{
    const table *t = by == ANALYZE_BY_PROVIDER ? &a->prov
                     : by == ANALYZE_BY_MODEL  ? &a->model : &a->proc;
    size_t n;
    json_t *arr = json_array();
    row **v = table_sorted(t, cmp_cost, &n);
    for (size_t i = 0; v && i < n; i++) {
        json_t *o = json_object();
        if (by == ANALYZE_BY_PROVIDER) {
            jset_str(o, "provider", v[i]->a);
        } else if (by == ANALYZE_BY_MODEL) {
            jset_str(o, "model", v[i]->a);
            jset_str(o, "provider", v[i]->b);
        } else {
            jset_str(o, "process", v[i]->a);
            jset_str(o, "exe", v[i]->b);
        }
        json_t *c = cost_row_json(v[i]);
        json_object_update(o, c);
        json_decref(c);
        if (by == ANALYZE_BY_MODEL && v[i] != a->model.other)
            json_object_set_new(o, "price", price_json(v[i]));
        json_array_append_new(arr, o);
    }
    free(v);
    return arr;
}

static void costs_end(analyzer *a)
{
    while (a->jhead)
        join_settle(a, a->jhead);
    unsigned by = a->o.by ? a->o.by : ANALYZE_BY_PROVIDER | ANALYZE_BY_MODEL | ANALYZE_BY_PROCESS;
    const char *bfmt = prices_bundle_format(a->prices);
    if (a->o.json) {
        json_t *o = json_object(), *pj = json_object();
        json_object_set_new(o, "requests", json_integer((json_int_t)a->requests));
        json_object_set_new(o, "responses", json_integer((json_int_t)a->responses));
        json_object_set_new(o, "responses_without_usage", json_integer((json_int_t)a->no_usage));
        json_object_set_new(o, "requests_without_response",
                            json_integer((json_int_t)a->unanswered));
        json_object_set_new(pj, "builtin_date", json_string(prices_builtin_date));
        if (bfmt) {
            json_t *bj = json_object();
            jset_str(bj, "path", a->o.bundle_path);
            json_object_set_new(bj, "format", json_string(bfmt));
            json_object_set_new(bj, "models",
                                json_integer((json_int_t)prices_bundle_models(a->prices)));
            json_object_set_new(pj, "bundle", bj);
        }
        json_object_set_new(o, "prices", pj);
        json_object_set_new(o, "total", cost_row_json(&a->total));
        if (by & ANALYZE_BY_PROVIDER)
            json_object_set_new(o, "by_provider", costs_json_table(a, ANALYZE_BY_PROVIDER));
        if (by & ANALYZE_BY_MODEL)
            json_object_set_new(o, "by_model", costs_json_table(a, ANALYZE_BY_MODEL));
        if (by & ANALYZE_BY_PROCESS)
            json_object_set_new(o, "by_process", costs_json_table(a, ANALYZE_BY_PROCESS));
        json_object_set_new(o, "input", input_json(a));
        print_json_doc(a, o);
        return;
    }
    sbuf b = {0};
    plural(&b, a->responses, "response", "costs of ");
    sb_printf(&b, " (%zu without usage), %zu request%s without response", a->no_usage,
              a->unanswered, a->unanswered == 1 ? "" : "s");
    fprintf(a->out, "%s\n", sb_str(&b));
    sb_reset(&b);
    sb_printf(&b, "prices: built-in table of %s", prices_builtin_date);
    if (bfmt) {
        sb_puts(&b, ", then bundle ");
        put_fit(&b, a->o.bundle_path ? a->o.bundle_path : "?", COLS_PATH, a->o.ascii);
        sb_printf(&b, " (%s, %zu priced models)", bfmt, prices_bundle_models(a->prices));
    }
    fprintf(a->out, "%s\n", sb_str(&b));
    fprintf(a->out, "tokens: input includes cached, output includes reasoning; USD per "
                    "response at its model's price\n");
    int starred = 0;
    if (by & ANALYZE_BY_PROVIDER)
        costs_table(a, ANALYZE_BY_PROVIDER, &starred);
    if (by & ANALYZE_BY_MODEL)
        costs_table(a, ANALYZE_BY_MODEL, &starred);
    if (by & ANALYZE_BY_PROCESS)
        costs_table(a, ANALYZE_BY_PROCESS, &starred);
    fputc('\n', a->out);
    if (a->total.unpriced)
        fprintf(a->out, "%s%zu response%s with usage but no known price %s not in USD\n",
                starred ? "*: " : "", a->total.unpriced, a->total.unpriced == 1 ? "" : "s",
                a->total.unpriced == 1 ? "is" : "are");
    sb_reset(&b);
    sb_printf(&b, "input: %zu line%s", a->st.lines, a->st.lines == 1 ? "" : "s");
    input_note(a, &b);
    fprintf(a->out, "%s\n", sb_str(&b));
    free(b.p);
}

/* ------------------------------------------------------------------------ */
/* The analyzer. */

analyzer *analyzer_new(const analyze_opts *opts, FILE *out)
{
    analyzer *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->o = *opts;
    a->out = out;
    a->max_mem = opts->max_memory ? opts->max_memory : ANALYZE_MEMORY_DEFAULT;
    a->arrow = opts->ascii ? "->" : "\xE2\x86\x92";          /* → */
    a->g_mid = opts->ascii ? "|- " : "\xE2\x94\x9C\xE2\x94\x80 ";   /* ├─ */
    a->g_last = opts->ascii ? "`- " : "\xE2\x94\x94\xE2\x94\x80 ";  /* └─ */
    a->g_pipe = opts->ascii ? "|  " : "\xE2\x94\x82  ";          /* │ */
    a->prices = opts->prices;
    if (opts->report == ANALYZE_COSTS && !a->prices) {
        a->own_prices = prices_new();
        if (!a->own_prices) {
            free(a);
            return NULL;
        }
        a->prices = a->own_prices;
    }
    return a;
}

static void count_bad(analyzer *a, size_t *counter)
{
    (*counter)++;
    if (!a->st.first_bad_line)
        a->st.first_bad_line = a->lineno;
}

void analyzer_line_too_long(analyzer *a)
{
    a->lineno++;
    a->st.lines++;
    count_bad(a, &a->st.too_long);
}

void analyzer_line(analyzer *a, const char *line, size_t len)
{
    json_error_t err;
    envelope e;

    a->lineno++;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len)
        return; /* blank */
    a->st.lines++;
    json_t *ev = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    if (!ev) {
        count_bad(a, &a->st.bad_json);
        return;
    }
    if (!json_is_object(ev) || envelope_read(ev, &e) < 0) {
        count_bad(a, &a->st.not_event);
        json_decref(ev);
        return;
    }
    a->st.events++;
    switch (a->o.report) {
    case ANALYZE_TRACES:
        traces_event(a, &e);
        break;
    case ANALYZE_INVENTORY:
        inventory_event(a, &e);
        break;
    case ANALYZE_COSTS:
        costs_event(a, &e);
        break;
    }
    json_decref(ev);
}

void analyzer_end(analyzer *a)
{
    if (a->ended)
        return;
    a->ended = 1;
    switch (a->o.report) {
    case ANALYZE_TRACES:
        traces_end(a);
        break;
    case ANALYZE_INVENTORY:
        inventory_end(a);
        break;
    case ANALYZE_COSTS:
        costs_end(a);
        break;
    }
    fflush(a->out);
}

void analyzer_stats(const analyzer *a, analyze_stats *out)
{
    *out = a->st;
}

size_t analyzer_memory(const analyzer *a)
{
    return a->mem;
}

void analyzer_free(analyzer *a)
{
    if (!a)
        return;
    while (a->lru_head) {
        tgroup *g = a->lru_head;
        lru_unlink(a, g);
        group_free(g);
    }
    smap_free(&a->groups);
    for (size_t i = 0; i < a->early.cap; i++)
        free((char *)a->early.keys[i]);
    smap_free(&a->early);
    while (a->jhead) {
        jent *j = a->jhead;
        join_unlink(a, j);
        jent_free(j);
    }
    smap_free(&a->join);
    table_free(&a->prov);
    table_free(&a->model);
    table_free(&a->proc);
    table_free(&a->keys);
    table_free(&a->types);
    prices_free(a->own_prices);
    free(a);
}

/* ------------------------------------------------------------------------ */
/* Reading a file line by line: read(2) into one buffer that grows up to
 * ANALYZE_MAX_LINE + 1 bytes; a longer line is dropped up to its newline. */

typedef struct reader {
    char *buf;
    size_t len, cap, scan;  /* scan: bytes of buf already searched for '\n' */
    int skipping;           /* inside a line that was too long */
} reader;

/* Hands every complete line in the buffer to the analyzer. */
static void reader_drain(reader *r, analyzer *a)
{
    size_t start = 0;
    char *nl;
    while ((nl = memchr(r->buf + r->scan, '\n', r->len - r->scan))) {
        size_t end = (size_t)(nl - r->buf);
        if (r->skipping)
            r->skipping = 0;
        else
            analyzer_line(a, r->buf + start, end - start);
        start = end + 1;
        r->scan = start;
    }
    if (start > 0) {
        memmove(r->buf, r->buf + start, r->len - start);
        r->len -= start;
    }
    r->scan = r->len;
}

/* Makes room to read into.  Returns 0, or -1 when out of memory. */
static int reader_room(reader *r, analyzer *a)
{
    if (r->len < r->cap)
        return 0;
    if (r->cap > ANALYZE_MAX_LINE) { /* a line longer than the limit */
        if (!r->skipping)
            analyzer_line_too_long(a);
        r->skipping = 1;
        r->len = r->scan = 0;
        return 0;
    }
    size_t cap = r->cap ? r->cap * 2 : READ_CHUNK;
    if (cap > ANALYZE_MAX_LINE + 1)
        cap = ANALYZE_MAX_LINE + 1;
    char *b = realloc(r->buf, cap);
    if (!b)
        return -1;
    r->buf = b;
    r->cap = cap;
    return 0;
}

int analyze_path(const analyze_opts *opts, const char *path, FILE *out, analyze_stats *stats,
                 int *opened)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    reader r = {0};
    int rc = 0, saved = 0;

    *opened = fd >= 0;
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        *opened = 0;
        if (fd != STDIN_FILENO)
            close(fd);
        errno = EISDIR;
        return -1;
    }
    analyzer *a = analyzer_new(opts, out);
    if (!a) {
        if (fd != STDIN_FILENO)
            close(fd);
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        if (reader_room(&r, a) < 0) {
            rc = -1;
            saved = ENOMEM;
            break;
        }
        ssize_t n = read(fd, r.buf + r.len, r.cap - r.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -1;
            saved = errno;
            break;
        }
        if (n == 0)
            break;
        r.len += (size_t)n;
        reader_drain(&r, a);
    }
    if (rc == 0 && r.len > 0 && !r.skipping) /* a last line without newline */
        analyzer_line(a, r.buf, r.len);
    analyzer_end(a);
    if (stats)
        analyzer_stats(a, stats);
    analyzer_free(a);
    free(r.buf);
    if (fd != STDIN_FILENO)
        close(fd);
    errno = saved;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The command. */

static const char usage_main[] =
    "usage: oisp-sensor analyze REPORT FILE [options]\n"
    "Reports over a recorded OISP JSONL file (FILE '-' reads standard input).\n"
    "\n"
    "reports:\n"
    "  traces      one tree per trace: LLM calls, their tool calls, the processes, files\n"
    "              and connections those caused, and the tool results, with timings\n"
    "  inventory   providers, models, processes, API key prefixes, request counts\n"
    "  costs       tokens and USD per provider, model and process\n"
    "\n"
    "`oisp-sensor analyze REPORT --help` describes each report.\n";

static const char usage_traces[] =
    "usage: oisp-sensor analyze traces FILE [--trace ID] [--json] [--ascii] [--max-memory SIZE]\n"
    "One tree per trace_context.trace_id (events without one are grouped per process as\n"
    "\"untraced\"), in order of first event:\n"
    "  LLM call (ai.request + ai.response: model, tokens in->out, latency, status)\n"
    "  +- tool call (name, arguments)\n"
    "     +- host events it caused (exec, file open/write/delete/rename, connect)\n"
    "     +- tool result (success, size, duration)\n"
    "Times are relative to the first event of the trace.  Events may be in any order.\n"
    "\n"
    "  --trace ID         only this trace (exit status 1 if it has no events)\n"
    "  --json             one JSON object per trace and line\n"
    "  --ascii            draw the tree with ASCII characters only\n"
    "  --max-memory SIZE  memory for events of traces not yet printed (default 256M);\n"
    "                     past it the least recently active traces are printed early\n";

static const char usage_inventory[] =
    "usage: oisp-sensor analyze inventory FILE [--json]\n"
    "What AI is used here: providers, models, processes (with request counts), API keys\n"
    "(key prefix and a short hash of the key only), request, response and error counts,\n"
    "event types, and when each was first and last seen.  Server-side (inbound) views of\n"
    "exchanges are left out so that no request is counted twice.\n"
    "\n"
    "  --json             one JSON document\n";

static const char usage_costs[] =
    "usage: oisp-sensor analyze costs FILE [--bundle PATH] [--by provider|model|process]\n"
    "                                      [--json]\n"
    "Tokens (input, cached, output, reasoning) and USD per provider, model and process,\n"
    "from the usage each ai.response reports, joined to its ai.request.  Prices come from\n"
    "a built-in table of common models and, with --bundle, from an OISP provider bundle\n"
    "(v1 or v2 format), which takes precedence.  A model id is matched exactly, then\n"
    "without a provider prefix, then without a dated snapshot suffix, then by its longest\n"
    "known prefix; models without a price are listed with their tokens as \"price unknown\".\n"
    "Cached input tokens are billed at the cached price when it is known.\n"
    "\n"
    "  --bundle PATH      OISP bundle with model prices\n"
    "  --by WHAT          only this table: provider, model or process (repeatable)\n"
    "  --json             one JSON document\n";

typedef struct cli_args {
    analyze_opts o;
    const char *report, *path, *bundle;
} cli_args;

/* The value of option name at argv[*i] ("--name V" or "--name=V"), or NULL
 * if argv[*i] is not that option.  *missing is set when the value is. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int usage_error(const char *report, const char *fmt, const char *arg)
{
    fprintf(stderr, "oisp-sensor analyze%s%s: ", report ? " " : "", report ? report : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, cli_args *c)
{
    const char *rep = argc > 1 ? argv[1] : NULL;
    const char *help;

    if (!rep)
        return usage_error(NULL, "missing REPORT: traces, inventory or costs%s", "");
    if (strcmp(rep, "--help") == 0 || strcmp(rep, "-h") == 0 || strcmp(rep, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(rep, "traces") == 0) {
        c->o.report = ANALYZE_TRACES;
        help = usage_traces;
    } else if (strcmp(rep, "inventory") == 0) {
        c->o.report = ANALYZE_INVENTORY;
        help = usage_inventory;
    } else if (strcmp(rep, "costs") == 0) {
        c->o.report = ANALYZE_COSTS;
        help = usage_costs;
    } else {
        return usage_error(NULL, "unknown report '%s': traces, inventory or costs", rep);
    }
    c->report = rep;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i], *v;
        int missing = 0, traces = c->o.report == ANALYZE_TRACES;
        int costs = c->o.report == ANALYZE_COSTS;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(help, stdout);
            return 0;
        }
        if (strcmp(arg, "--json") == 0) {
            c->o.json = 1;
        } else if (traces && strcmp(arg, "--ascii") == 0) {
            c->o.ascii = 1;
        } else if (traces && ((v = opt_value(argc, argv, &i, "--trace", &missing)) || missing)) {
            if (missing || !*v)
                return usage_error(rep, "%s needs a trace id", "--trace");
            c->o.trace_id = v;
        } else if (traces &&
                   ((v = opt_value(argc, argv, &i, "--max-memory", &missing)) || missing)) {
            uint64_t size;
            if (missing)
                return usage_error(rep, "%s needs a size such as 64M", "--max-memory");
            if (opts_parse_size(v, &size) < 0 || size < (1u << 20) || size > (1ULL << 40))
                return usage_error(rep, "bad --max-memory '%s': a size from 1M to 1T", v);
            c->o.max_memory = (size_t)size;
        } else if (costs && ((v = opt_value(argc, argv, &i, "--bundle", &missing)) || missing)) {
            if (missing || !*v)
                return usage_error(rep, "%s needs a path", "--bundle");
            c->bundle = v;
        } else if (costs && ((v = opt_value(argc, argv, &i, "--by", &missing)) || missing)) {
            if (missing)
                return usage_error(rep, "%s needs provider, model or process", "--by");
            if (strcmp(v, "provider") == 0)
                c->o.by |= ANALYZE_BY_PROVIDER;
            else if (strcmp(v, "model") == 0)
                c->o.by |= ANALYZE_BY_MODEL;
            else if (strcmp(v, "process") == 0)
                c->o.by |= ANALYZE_BY_PROCESS;
            else
                return usage_error(rep, "bad --by '%s': provider, model or process", v);
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error(rep, "unknown option '%s'", arg);
        } else if (c->path) {
            return usage_error(rep, "unexpected argument '%s': one FILE only", arg);
        } else {
            c->path = arg;
        }
    }
    if (!c->path)
        return usage_error(rep, "missing FILE%s", "");
    return -1;
}

int cmd_analyze(int argc, char **argv)
{
    cli_args c = {0};
    price_table *prices = NULL;
    analyze_stats st = {0};
    char err[512];
    int rc = parse_args(argc, argv, &c), opened;

    if (rc >= 0)
        return rc;
    if (c.o.report == ANALYZE_COSTS) {
        prices = prices_new();
        if (!prices) {
            fprintf(stderr, "oisp-sensor analyze costs: out of memory\n");
            return 1;
        }
        if (c.bundle && prices_load_bundle(prices, c.bundle, err, sizeof(err)) < 0) {
            fprintf(stderr, "oisp-sensor analyze costs: %s\n", err);
            prices_free(prices);
            return 2;
        }
        c.o.prices = prices;
        c.o.bundle_path = c.bundle;
    }
    c.o.ensure_ascii = isatty(STDOUT_FILENO);
    rc = analyze_path(&c.o, c.path, stdout, &st, &opened);
    if (rc < 0) {
        fprintf(stderr, "oisp-sensor analyze %s: %s %s: %s\n", c.report,
                opened ? "error reading" : "cannot open", c.path, strerror(errno));
        prices_free(prices);
        return opened ? 1 : 2;
    }
    prices_free(prices);
    if (c.o.trace_id && st.traces == 0) {
        if (c.o.json)
            fprintf(stderr, "oisp-sensor analyze traces: no events with trace_id %s\n",
                    c.o.trace_id);
        return 1;
    }
    if (c.o.json && c.o.report == ANALYZE_TRACES && st.first_bad_line)
        fprintf(stderr, "oisp-sensor analyze traces: skipped %zu malformed lines "
                        "(first at line %zu)\n",
                st.bad_json + st.not_event + st.too_long, st.first_bad_line);
    return 0;
}

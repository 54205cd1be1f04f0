/* toml.c: TOML 1.0 parser (see toml.h).
 *
 * How it works.  The input is first checked to be UTF-8 as a whole; after
 * that the parser works on bytes and only ever treats ASCII bytes
 * specially.  A recursive-descent parser reads one statement per line at the
 * top level (key = value, [table], [[array of tables]], comment) and one value
 * at a time inside arrays and inline tables.  Scalars are recognised in the
 * same order and with the same greedy shapes as tomllib (strings, booleans,
 * arrays, inline tables, date-times, times, numbers, inf/nan); whatever
 * follows a value must be a separator, so "1979-05-27x" or "0x" fail there.
 *
 * Redefinition rules live in the tables themselves: every table records how
 * it came to be (implicitly as the parent of a [header], by a [header], by
 * dotted keys, as an inline table, as an element of [[tables]]) and every
 * array whether it is a literal or an array of tables.  A [header] may
 * complete an implicit table but never reopen a defined one, may pass
 * through tables defined by dotted keys (to add sub-tables) but never
 * through an inline table or array literal; dotted keys may extend only
 * implicit or dotted-key tables.
 *
 * Memory.  All values, keys and strings come from one arena owned by the
 * toml_doc, so an error anywhere is cleaned up by freeing the arena and
 * nothing in the tree is freed piecemeal.  Tables index their keys with an
 * open-addressing hash once they hold more than a few, so lookups stay O(1)
 * on hostile documents with huge tables.  The arena is capped (ARENA_MAX),
 * the document size by TOML_MAX_DOC and the nesting by TOML_MAX_DEPTH,
 * which also bounds the parser's recursion. */
#include "config/toml.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK  ((size_t)64 << 10)
#define ARENA_MAX    ((size_t)96 << 20)
#define INDEX_FROM   8          /* tables with more entries get a hash index */

/* How a table came to exist (value->kind for tables). */
enum { TK_ROOT, TK_IMPLICIT, TK_HEADER, TK_DOTTED, TK_INLINE };
/* How an array came to exist (value->kind for arrays). */
enum { AK_LITERAL, AK_TABLES };

typedef struct toml_entry {
    const char *key;
    size_t keylen;
    toml_value *val;
} toml_entry;

struct toml_value {
    uint8_t type;
    uint8_t kind;
    uint16_t depth;
    int line, column;
    union {
        struct { const char *s; size_t len; } str;
        int64_t i;
        double f;
        bool b;
        toml_datetime dt;
        struct { toml_value **items; size_t n, cap; } arr;
        struct {
            toml_entry *ents;
            size_t n, cap;
            uint32_t *index;       /* entry number + 1, 0 = empty slot */
            size_t index_cap;      /* power of two, or 0 */
        } tab;
    } u;
};

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
} arena_chunk;

struct toml_doc {
    arena_chunk *chunks;
    size_t total;
    toml_value *root;
};

/* One part of a dotted key, as read: either pointing into the input (bare
 * keys) or decoded into the arena (quoted keys). */
typedef struct keypart {
    const char *s;
    size_t len;
    int in_input;           /* s points into the input: copy before keeping */
    const char *at;         /* where it starts in the input */
    int line, column;
} keypart;

/* Key parts of all key/value pairs being parsed at once (nested inline
 * tables) live on one stack; its size bounds the nesting like the depth. */
#define PARTS_MAX (2 * (TOML_MAX_DEPTH + 1))

typedef struct parser {
    const char *buf, *p, *end;
    int line;
    const char *line_start;
    const char *col_pos;    /* column cache: col_pos is at column col_at */
    int col_at;
    toml_doc *doc;
    toml_error *err;
    int failed;
    toml_value *cur;        /* table receiving key/value pairs */
    char *scratch;          /* string decoding buffer */
    size_t slen, scap;
    int ptop;               /* parts in use on the stack */
    keypart parts[PARTS_MAX];
} parser;

/* ---- arena ---- */

static void *arena_alloc(toml_doc *d, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    arena_chunk *c = d->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        if (d->total + cap > ARENA_MAX)
            return NULL;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = d->chunks;
        d->chunks = c;
        d->total += cap;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void toml_doc_free(toml_doc *doc)
{
    if (!doc)
        return;
    arena_chunk *c = doc->chunks;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(doc);
}

/* ---- positions and errors ---- */

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

static int column_of(parser *ps, const char *at)
{
    const char *from = ps->line_start;
    int col = 1;
    if (ps->col_pos >= ps->line_start && ps->col_pos <= at) {
        from = ps->col_pos;
        col = ps->col_at;
    }
    for (const char *q = from; q < at; q++)
        col += !is_cont((unsigned char)*q);
    ps->col_pos = at;
    ps->col_at = col;
    return col;
}

static void locate(const parser *ps, const char *at, int *line, int *col)
{
    int l = 1;
    const char *ls = ps->buf;
    for (const char *q = ps->buf; q < at; q++)
        if (*q == '\n') {
            l++;
            ls = q + 1;
        }
    int c = 1;
    for (const char *q = ls; q < at; q++)
        c += !is_cont((unsigned char)*q);
    *line = l;
    *col = c;
}

__attribute__((format(printf, 3, 4)))
static int fail(parser *ps, const char *at, const char *fmt, ...)
{
    if (ps->failed)
        return -1;
    ps->failed = 1;
    if (at > ps->end)
        at = ps->end;
    locate(ps, at, &ps->err->line, &ps->err->column);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_nomem(parser *ps)
{
    return fail(ps, ps->p, "document needs too much memory (limit %zu MiB)", ARENA_MAX >> 20);
}

/* A key for messages: printable ASCII kept, the rest as '?', bounded. */
static const char *show_key(const char *s, size_t len, char *buf, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 4 < n; i++)
        buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (o + 4 >= n && len > o) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o] = 0;
    return buf;
}

/* The character at q for messages: 'x' or U+XXXX (q is valid UTF-8). */
static const char *describe_at(const parser *ps, const char *q, char *buf, size_t n)
{
    unsigned char c = (unsigned char)*q;
    if (c >= 0x20 && c < 0x7f) {
        snprintf(buf, n, "'%c'", c);
        return buf;
    }
    unsigned cp = c;
    int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (more)
        cp &= 0x3F >> more;
    for (int i = 1; i <= more && q + i < ps->end; i++)
        cp = (cp << 6) | ((unsigned char)q[i] & 0x3F);
    snprintf(buf, n, "U+%04X", cp);
    return buf;
}

/* ---- UTF-8 ---- */

/* Returns NULL if s[0..len) is valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF), else the first bad byte. */
static const char *utf8_invalid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n;
        unsigned min, cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; min = 0x10000; }
        else return (const char *)p;
        if ((size_t)(end - p) <= n)
            return (const char *)p;
        for (size_t i = 1; i <= n; i++) {
            if (!is_cont(p[i]))
                return (const char *)p;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return (const char *)p;
        p += n + 1;
    }
    return NULL;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- character classes and small scanners ---- */

static int is_ws(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int is_bare(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           c == '-';
}
/* Control characters TOML forbids unescaped (tab is allowed everywhere). */
static int is_ctrl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

static int at_newline(const parser *ps, const char *q)
{
    return q < ps->end && (*q == '\n' || (*q == '\r' && q + 1 < ps->end && q[1] == '\n'));
}

/* Consume one newline (LF or CRLF) at ps->p. */
static void take_newline(parser *ps)
{
    ps->p += (*ps->p == '\r') ? 2 : 1;
    ps->line++;
    ps->line_start = ps->p;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && is_ws(*ps->p))
        ps->p++;
}

static int starts(const parser *ps, const char *q, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(ps->end - q) >= n && memcmp(q, lit, n) == 0;
}

/* At '#': skip to the end of the line, refusing control characters. */
static int skip_comment(parser *ps)
{
    if (ps->p >= ps->end || *ps->p != '#')
        return 0;
    const char *q = ps->p + 1;
    while (q < ps->end && *q != '\n') {
        if (*q == '\r' && q + 1 < ps->end && q[1] == '\n')
            break;
        if (is_ctrl((unsigned char)*q)) {
            char cb[16];
            return fail(ps, q, "control character %s is not allowed in a comment",
                        describe_at(ps, q, cb, sizeof(cb)));
        }
        q++;
    }
    ps->p = q;
    return 0;
}

/* Whitespace, newlines and comments, as allowed between array items. */
static int skip_array_space(parser *ps)
{
    for (;;) {
        skip_ws(ps);
        if (at_newline(ps, ps->p)) {
            take_newline(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == '#') {
            if (skip_comment(ps))
                return -1;
            continue;
        }
        return 0;
    }
}

/* ---- scratch buffer for decoding strings ---- */

static int scratch_put(parser *ps, const char *s, size_t n)
{
    if (!n)
        return 0;
    if (ps->scap - ps->slen < n) {
        size_t cap = ps->scap ? ps->scap : 256;
        while (cap - ps->slen < n)
            cap *= 2;
        char *b = realloc(ps->scratch, cap);
        if (!b)
            return fail_nomem(ps);
        ps->scratch = b;
        ps->scap = cap;
    }
    memcpy(ps->scratch + ps->slen, s, n);
    ps->slen += n;
    return 0;
}

/* Copy s[0..len) into the arena, NUL-terminated. */
static const char *arena_strdup(parser *ps, const char *s, size_t len)
{
    char *d = arena_alloc(ps->doc, len + 1);
    if (!d) {
        fail_nomem(ps);
        return NULL;
    }
    memcpy(d, s, len);
    d[len] = 0;
    return d;
}

/* ---- values ---- */

/* Line and column of a place on the current line. */
static void pos_of(parser *ps, const char *at, int *line, int *col)
{
    if (at >= ps->line_start) {
        *line = ps->line;
        *col = column_of(ps, at);
    } else {
        locate(ps, at, line, col);      /* not reached: callers stay on the line */
    }
}

static toml_value *new_value_at(parser *ps, int type, int depth, int line, int col)
{
    toml_value *v = arena_alloc(ps->doc, sizeof(*v));
    if (!v) {
        fail_nomem(ps);
        return NULL;
    }
    memset(v, 0, sizeof(*v));
    v->type = (uint8_t)type;
    v->depth = (uint16_t)depth;
    v->line = line;
    v->column = col;
    return v;
}

/* A value starting at `at` on the current line. */
static toml_value *new_value(parser *ps, int type, int depth, const char *at)
{
    int line, col;
    pos_of(ps, at, &line, &col);
    return new_value_at(ps, type, depth, line, col);
}

static uint64_t hash_key(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static toml_entry *table_find(const toml_value *t, const char *key, size_t len)
{
    if (t->u.tab.index) {
        size_t mask = t->u.tab.index_cap - 1;
        for (size_t i = hash_key(key, len) & mask;; i = (i + 1) & mask) {
            uint32_t slot = t->u.tab.index[i];
            if (!slot)
                return NULL;
            toml_entry *e = &t->u.tab.ents[slot - 1];
            if (e->keylen == len && memcmp(e->key, key, len) == 0)
                return e;
        }
    }
    for (size_t i = 0; i < t->u.tab.n; i++) {
        toml_entry *e = &t->u.tab.ents[i];
        if (e->keylen == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

static void index_put(toml_value *t, size_t entry)
{
    size_t mask = t->u.tab.index_cap - 1;
    const toml_entry *e = &t->u.tab.ents[entry];
    size_t i = hash_key(e->key, e->keylen) & mask;
    while (t->u.tab.index[i])
        i = (i + 1) & mask;
    t->u.tab.index[i] = (uint32_t)(entry + 1);
}

static int table_reindex(parser *ps, toml_value *t)
{
    size_t cap = 32;
    while (cap < t->u.tab.n * 2 + 2)
        cap *= 2;
    uint32_t *idx = arena_alloc(ps->doc, cap * sizeof(*idx));
    if (!idx)
        return fail_nomem(ps);
    memset(idx, 0, cap * sizeof(*idx));
    t->u.tab.index = idx;
    t->u.tab.index_cap = cap;
    for (size_t i = 0; i < t->u.tab.n; i++)
        index_put(t, i);
    return 0;
}

/* Add key -> val to t (the caller has checked the key is new).  Keys that
 * point into the input are copied into the arena. */
static int table_add(parser *ps, toml_value *t, const keypart *k, toml_value *val)
{
    if (t->u.tab.n == t->u.tab.cap) {
        size_t cap = t->u.tab.cap ? t->u.tab.cap * 2 : 4;
        toml_entry *e = arena_alloc(ps->doc, cap * sizeof(*e));
        if (!e)
            return fail_nomem(ps);
        if (t->u.tab.n)
            memcpy(e, t->u.tab.ents, t->u.tab.n * sizeof(*e));
        t->u.tab.ents = e;
        t->u.tab.cap = cap;
    }
    const char *key = k->s;
    if (k->in_input) {
        key = arena_strdup(ps, k->s, k->len);
        if (!key)
            return -1;
    }
    size_t i = t->u.tab.n++;
    t->u.tab.ents[i] = (toml_entry){key, k->len, val};
    if (t->u.tab.n > INDEX_FROM) {
        if (!t->u.tab.index || t->u.tab.n * 2 > t->u.tab.index_cap)
            return table_reindex(ps, t);
        index_put(t, i);
    }
    return 0;
}

static int array_add(parser *ps, toml_value *a, toml_value *item)
{
    if (a->u.arr.n == a->u.arr.cap) {
        size_t cap = a->u.arr.cap ? a->u.arr.cap * 2 : 4;
        toml_value **items = arena_alloc(ps->doc, cap * sizeof(*items));
        if (!items)
            return fail_nomem(ps);
        if (a->u.arr.n)
            memcpy(items, a->u.arr.items, a->u.arr.n * sizeof(*items));
        a->u.arr.items = items;
        a->u.arr.cap = cap;
    }
    a->u.arr.items[a->u.arr.n++] = item;
    return 0;
}

/* ---- strings ---- */

/* At a backslash inside a basic string: decode one escape into scratch. */
static int parse_escape(parser *ps)
{
    const char *at = ps->p;
    if (ps->p + 1 >= ps->end)
        return fail(ps, at, "unterminated string");
    char c = ps->p[1];
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    const char *m = c ? strchr(from, c) : NULL;
    if (m) {
        ps->p += 2;
        return scratch_put(ps, &to[m - from], 1);
    }
    if (c != 'u' && c != 'U') {
        char cb[16];
        return fail(ps, at, "unknown escape \\%s in a string (valid: \\b \\t \\n \\f \\r "
                    "\\\" \\\\ \\uXXXX \\UXXXXXXXX)",
                    describe_at(ps, ps->p + 1, cb, sizeof(cb)));
    }
    int n = c == 'u' ? 4 : 8;
    if (ps->end - (ps->p + 2) < n)
        return fail(ps, at, "\\%c needs %d hexadecimal digits", c, n);
    uint32_t cp = 0;
    for (int i = 0; i < n; i++) {
        char h = ps->p[2 + i];
        if (!is_hex(h))
            return fail(ps, at, "\\%c needs %d hexadecimal digits", c, n);
        cp = cp * 16 + (uint32_t)(is_digit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(ps, at, "escape \\%c%.*s is not a Unicode scalar value", c, n, ps->p + 2);
    ps->p += 2 + n;
    char out[4];
    return scratch_put(ps, out, utf8_encode(cp, out));
}

static int string_char_error(parser *ps, const char *q, int multiline)
{
    if (*q == '\n' || *q == '\r')
        return fail(ps, q, multiline ? "carriage return without a line feed in a string"
                                     : "newline in a single-line string (use \"\"\" for "
                                       "multi-line strings)");
    char cb[16];
    return fail(ps, q, "control character %s must be escaped in a string",
                describe_at(ps, q, cb, sizeof(cb)));
}

/* "..." with ps->p on the opening quote; the decoded text is left in scratch. */
static int parse_basic(parser *ps)
{
    const char *open = ps->p++;
    ps->slen = 0;
    for (;;) {
        const char *q = ps->p;
        while (q < ps->end && *q != '"' && *q != '\\' && !is_ctrl((unsigned char)*q))
            q++;
        if (scratch_put(ps, ps->p, (size_t)(q - ps->p)))
            return -1;
        ps->p = q;
        if (q >= ps->end)
            return fail(ps, open, "unterminated string");
        if (*q == '"') {
            ps->p++;
            return 0;
        }
        if (*q == '\\') {
            if (parse_escape(ps))
                return -1;
            continue;
        }
        return string_char_error(ps, q, 0);
    }
}

/* '...' */
static int parse_literal(parser *ps)
{
    const char *open = ps->p++;
    const char *q = ps->p;
    while (q < ps->end && *q != '\'' && !is_ctrl((unsigned char)*q))
        q++;
    if (q >= ps->end)
        return fail(ps, open, "unterminated string");
    if (*q != '\'')
        return string_char_error(ps, q, 0);
    ps->slen = 0;
    if (scratch_put(ps, ps->p, (size_t)(q - ps->p)))
        return -1;
    ps->p = q + 1;
    return 0;
}

/* After a line-ending backslash in a """ string: skip whitespace and
 * newlines.  ps->p is on the backslash. */
static int skip_line_ending_backslash(parser *ps)
{
    const char *at = ps->p;
    const char *q = ps->p + 1;
    while (q < ps->end && is_ws(*q))
        q++;
    if (!at_newline(ps, q)) {
        if (q >= ps->end)
            return fail(ps, at, "unterminated string");
        return fail(ps, at, "a backslash followed by whitespace must end the line");
    }
    ps->p = q;
    for (;;) {
        skip_ws(ps);
        if (!at_newline(ps, ps->p))
            return 0;
        take_newline(ps);
    }
}

/* """...""" or '''...''' with ps->p on the opening delimiter. */
static int parse_multiline(parser *ps, char delim)
{
    const char *open = ps->p;
    ps->p += 3;
    ps->slen = 0;
    if (at_newline(ps, ps->p))
        take_newline(ps);
    for (;;) {
        const char *q = ps->p;
        /* Literal strings have no escapes. */
        while (q < ps->end && *q != delim && (*q != '\\' || delim == '\'') &&
               !is_ctrl((unsigned char)*q))
            q++;
        if (scratch_put(ps, ps->p, (size_t)(q - ps->p)))
            return -1;
        ps->p = q;
        if (q >= ps->end)
            return fail(ps, open, "unterminated multi-line string");
        char c = *q;
        if (c == delim) {
            if (ps->end - q >= 3 && q[1] == delim && q[2] == delim) {
                ps->p += 3;
                /* Up to two more quotes belong to the content. */
                for (int extra = 0; extra < 2 && ps->p < ps->end && *ps->p == delim; extra++) {
                    if (scratch_put(ps, &delim, 1))
                        return -1;
                    ps->p++;
                }
                return 0;
            }
            if (scratch_put(ps, &delim, 1))
                return -1;
            ps->p++;
        } else if (c == '\\') {
            char n = q + 1 < ps->end ? q[1] : 0;
            if (is_ws(n) || at_newline(ps, q + 1)) {
                if (skip_line_ending_backslash(ps))
                    return -1;
            } else if (parse_escape(ps)) {
                return -1;
            }
        } else if (at_newline(ps, q)) {
            if (scratch_put(ps, "\n", 1))
                return -1;
            take_newline(ps);
        } else {
            return string_char_error(ps, q, 1);
        }
    }
}

/* A string value; created before its text is read, which may span lines. */
static toml_value *parse_string_value(parser *ps, int depth)
{
    const char *at = ps->p;
    toml_value *v = new_value(ps, TOML_STRING, depth, at);
    if (!v)
        return NULL;
    char q = *at;
    int ml = starts(ps, at, q == '"' ? "\"\"\"" : "'''");
    int rc = ml ? parse_multiline(ps, q) : q == '"' ? parse_basic(ps) : parse_literal(ps);
    if (rc)
        return NULL;
    v->u.str.s = arena_strdup(ps, ps->scratch ? ps->scratch : "", ps->slen);
    v->u.str.len = ps->slen;
    return v->u.str.s ? v : NULL;
}

/* ---- keys ---- */

/* Read one key part at ps->p into *k. */
static int parse_key_part(parser *ps, keypart *k)
{
    const char *at = ps->p;
    k->at = at;
    pos_of(ps, at, &k->line, &k->column);
    k->in_input = 0;
    if (at < ps->end && is_bare(*at)) {
        const char *q = at;
        while (q < ps->end && is_bare(*q))
            q++;
        k->s = at;
        k->len = (size_t)(q - at);
        k->in_input = 1;
        ps->p = q;
        return 0;
    }
    if (at < ps->end && (*at == '"' || *at == '\'')) {
        if ((*at == '"' ? parse_basic(ps) : parse_literal(ps)))
            return -1;
        k->s = arena_strdup(ps, ps->scratch ? ps->scratch : "", ps->slen);
        k->len = ps->slen;
        return k->s ? 0 : -1;
    }
    if (at >= ps->end || at_newline(ps, at))
        return fail(ps, at, "expected a key");
    char cb[16];
    return fail(ps, at, "a key cannot start with %s (bare keys use A-Z a-z 0-9 _ -; "
                "quote other keys)", describe_at(ps, at, cb, sizeof(cb)));
}

/* A dotted key; pushes its parts on ps->parts (from ps->ptop, which the
 * caller advances while it needs them) and returns their number, or -1. */
static int parse_key(parser *ps)
{
    int n = 0;
    for (;;) {
        if (ps->ptop + n >= PARTS_MAX || n > TOML_MAX_DEPTH)
            return fail(ps, ps->p, "keys nested deeper than %d levels", TOML_MAX_DEPTH);
        if (parse_key_part(ps, &ps->parts[ps->ptop + n]))
            return -1;
        n++;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '.')
            return n;
        ps->p++;
        skip_ws(ps);
    }
}

/* ---- scalars: date-times and numbers ---- */

static int digits_at(const char *q, const char *end, int n)
{
    if (end - q < n)
        return 0;
    for (int i = 0; i < n; i++)
        if (!is_digit(q[i]))
            return 0;
    return 1;
}

static int two(const char *q) { return (q[0] - '0') * 10 + (q[1] - '0'); }

/* HH:MM:SS[.fraction] -> length matched, or 0. */
static size_t match_time(const char *q, const char *end, toml_datetime *dt)
{
    if (!digits_at(q, end, 2) || end - q < 8 || q[2] != ':' || !digits_at(q + 3, end, 2) ||
        q[5] != ':' || !digits_at(q + 6, end, 2))
        return 0;
    int h = two(q), m = two(q + 3), s = two(q + 6);
    if (h > 23 || m > 59 || s > 59)
        return 0;
    dt->hour = h;
    dt->minute = m;
    dt->second = s;
    dt->microsecond = 0;
    size_t n = 8;
    if (end - q > 9 && q[8] == '.' && is_digit(q[9])) {
        int us = 0, nd = 0;
        for (n = 9; q + n < end && is_digit(q[n]); n++)
            if (nd < 6) {
                us = us * 10 + (q[n] - '0');
                nd++;
            }
        while (nd++ < 6)
            us *= 10;
        dt->microsecond = us;
    }
    return n;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* YYYY-MM-DD[(T|t| )HH:MM:SS[.frac][Z|z|(+|-)HH:MM]] -> length matched or 0;
 * *type is set to the kind of value. */
static size_t match_datetime(const char *q, const char *end, toml_datetime *dt, int *type)
{
    if (!digits_at(q, end, 4) || end - q < 10 || q[4] != '-' || !digits_at(q + 5, end, 2) ||
        q[7] != '-' || !digits_at(q + 8, end, 2))
        return 0;
    int mo = two(q + 5), d = two(q + 8);
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return 0;
    memset(dt, 0, sizeof(*dt));
    dt->year = two(q) * 100 + two(q + 2);
    dt->month = mo;
    dt->day = d;
    *type = TOML_DATE_LOCAL;
    size_t n = 10;
    if (end - q > 10 && (q[10] == 'T' || q[10] == 't' || q[10] == ' ')) {
        size_t t = match_time(q + 11, end, dt);
        if (t) {
            n = 11 + t;
            *type = TOML_DATETIME_LOCAL;
            const char *o = q + n;
            if (o < end && (*o == 'Z' || *o == 'z')) {
                *type = TOML_DATETIME;
                n++;
            } else if (end - o >= 6 && (*o == '+' || *o == '-') && digits_at(o + 1, end, 2) &&
                       o[3] == ':' && digits_at(o + 4, end, 2) && two(o + 1) <= 23 &&
                       two(o + 4) <= 59) {
                int off = two(o + 1) * 60 + two(o + 4);
                dt->offset_minutes = *o == '-' ? -off : off;
                *type = TOML_DATETIME;
                n += 6;
            }
        }
    }
    return n;
}

/* Greedy run of digits allowing single underscores between digits. */
static const char *scan_digits(const char *q, const char *end, int (*ok)(char))
{
    if (q >= end || !ok(*q))
        return NULL;
    q++;
    for (;;) {
        if (q < end && ok(*q))
            q++;
        else if (q + 1 < end && *q == '_' && ok(q[1]))
            q += 2;
        else
            return q;
    }
}

static int is_oct(char c) { return c >= '0' && c <= '7'; }
static int is_bin(char c) { return c == '0' || c == '1'; }

/* Value of an unsigned digit run (underscores skipped); -1 on overflow
 * past INT64_MAX, or past INT64_MAX + 1 when allow_min. */
static int digits_value(const char *q, const char *end, unsigned base, int allow_min,
                        uint64_t *out)
{
    uint64_t limit = (uint64_t)INT64_MAX + (allow_min ? 1u : 0u), v = 0;
    for (; q < end; q++) {
        if (*q == '_')
            continue;
        unsigned d = is_digit(*q) ? (unsigned)(*q - '0') : (unsigned)((*q | 0x20) - 'a' + 10);
        if (v > (limit - d) / base)
            return -1;
        v = v * base + d;
    }
    *out = v;
    return 0;
}

/* Floats are read in the C locale whatever the process's locale is. */
static locale_t c_loc;
static pthread_once_t c_loc_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) { c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static locale_t c_locale(void)
{
    pthread_once(&c_loc_once, c_locale_init);
    return c_loc;
}

/* Integers and floats with the shapes tomllib accepts.  Returns the value
 * or NULL; *matched is 0 if nothing number-like is at q. */
static toml_value *parse_number(parser *ps, int depth, int *matched)
{
    const char *q = ps->p, *end = ps->end, *at = ps->p;
    *matched = 1;
    if (end - q >= 3 && q[0] == '0' && (q[1] == 'x' || q[1] == 'o' || q[1] == 'b')) {
        int (*ok)(char) = q[1] == 'x' ? is_hex : q[1] == 'o' ? is_oct : is_bin;
        unsigned base = q[1] == 'x' ? 16 : q[1] == 'o' ? 8 : 2;
        const char *e = scan_digits(q + 2, end, ok);
        if (e) {
            uint64_t u;
            if (digits_value(q + 2, e, base, 0, &u)) {
                fail(ps, at, "integer %.*s does not fit in 64 bits", (int)(e - q), q);
                return NULL;
            }
            toml_value *v = new_value(ps, TOML_INTEGER, depth, at);
            if (v)
                v->u.i = (int64_t)u;
            ps->p = e;
            return v;
        }
    }
    const char *s = q;
    if (s < end && (*s == '+' || *s == '-'))
        s++;
    const char *e;
    if (s < end && *s == '0')
        e = s + 1;
    else if (s < end && *s >= '1' && *s <= '9')
        e = scan_digits(s, end, is_digit);
    else {
        *matched = 0;
        return NULL;
    }
    const char *int_end = e;
    if (e + 1 < end && *e == '.' && is_digit(e[1]))
        e = scan_digits(e + 1, end, is_digit);
    if (e < end && (*e == 'e' || *e == 'E')) {
        const char *x = e + 1;
        if (x < end && (*x == '+' || *x == '-'))
            x++;
        const char *xe = scan_digits(x, end, is_digit);
        if (xe)
            e = xe;
    }
    if (e == int_end) {
        uint64_t u;
        if (digits_value(s, e, 10, *q == '-', &u)) {
            fail(ps, at, "integer %.*s does not fit in 64 bits", (int)(e - q), q);
            return NULL;
        }
        toml_value *v = new_value(ps, TOML_INTEGER, depth, at);
        if (v)
            v->u.i = *q == '-' ? (int64_t)(0 - u) : (int64_t)u;
        ps->p = e;
        return v;
    }
    /* A float: strip underscores and let strtod (C locale) round it. */
    char tmp[128], *buf = tmp;
    size_t n = (size_t)(e - q);
    if (n >= sizeof(tmp) && !(buf = malloc(n + 1))) {
        fail_nomem(ps);
        return NULL;
    }
    size_t o = 0;
    for (const char *c = q; c < e; c++)
        if (*c != '_')
            buf[o++] = *c;
    buf[o] = 0;
    double f = strtod_l(buf, NULL, c_locale());
    if (buf != tmp)
        free(buf);
    toml_value *v = new_value(ps, TOML_FLOAT, depth, at);
    if (v)
        v->u.f = f;
    ps->p = e;
    return v;
}

static toml_value *parse_special_float(parser *ps, int depth)
{
    const char *q = ps->p;
    int neg = 0;
    size_t n = 0;
    if (q < ps->end && (*q == '+' || *q == '-')) {
        neg = *q == '-';
        n = 1;
    }
    double f;
    if (starts(ps, q + n, "inf"))
        f = neg ? -INFINITY : INFINITY;
    else if (starts(ps, q + n, "nan"))
        f = neg ? -NAN : NAN;
    else
        return NULL;
    toml_value *v = new_value(ps, TOML_FLOAT, depth, q);
    if (v)
        v->u.f = f;
    ps->p = q + n + 3;
    return v;
}

/* ---- arrays, inline tables, values ---- */

static toml_value *parse_value(parser *ps, int depth);
static int insert_dotted(parser *ps, toml_value *t, keypart *parts, int nparts,
                         toml_value *val);

static toml_value *parse_array(parser *ps, int depth)
{
    const char *open = ps->p;
    toml_value *a = new_value(ps, TOML_ARRAY, depth, open);
    if (!a)
        return NULL;
    a->kind = AK_LITERAL;
    ps->p++;
    for (;;) {
        if (skip_array_space(ps))
            return NULL;
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return a;
        }
        toml_value *item = parse_value(ps, depth + 1);
        if (!item || array_add(ps, a, item) || skip_array_space(ps))
            return NULL;
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return a;
        }
        if (ps->p >= ps->end || *ps->p != ',') {
            fail(ps, ps->p, ps->p >= ps->end ? "unterminated array (opened on line %d)"
                                             : "expected ',' or ']' after an array item "
                                               "(array opened on line %d)", a->line);
            return NULL;
        }
        ps->p++;
    }
}

static toml_value *parse_inline_table(parser *ps, int depth)
{
    toml_value *t = new_value(ps, TOML_TABLE, depth, ps->p);
    if (!t)
        return NULL;
    t->kind = TK_INLINE;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return t;
    }
    for (;;) {
        int n = parse_key(ps);
        if (n < 0)
            return NULL;
        if (ps->p >= ps->end || *ps->p != '=') {
            fail(ps, ps->p, "expected '=' after the key");
            return NULL;
        }
        ps->p++;
        skip_ws(ps);
        keypart *parts = &ps->parts[ps->ptop];
        ps->ptop += n;
        toml_value *v = parse_value(ps, depth + n);
        ps->ptop -= n;
        if (!v || insert_dotted(ps, t, parts, n, v))
            return NULL;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return t;
        }
        if (ps->p >= ps->end || *ps->p != ',') {
            fail(ps, ps->p, at_newline(ps, ps->p) || ps->p >= ps->end
                            ? "inline table must be closed with '}' on the same line"
                            : "expected ',' or '}' after a value in an inline table");
            return NULL;
        }
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '}') {
            fail(ps, ps->p, "trailing comma is not allowed in an inline table");
            return NULL;
        }
    }
}

static toml_value *parse_value(parser *ps, int depth)
{
    const char *at = ps->p;
    if (depth > TOML_MAX_DEPTH) {
        fail(ps, at, "values nested deeper than %d levels", TOML_MAX_DEPTH);
        return NULL;
    }
    char c = at < ps->end ? *at : 0;
    if (c == '"' || c == '\'')
        return parse_string_value(ps, depth);
    if (starts(ps, at, "true") || starts(ps, at, "false")) {
        toml_value *v = new_value(ps, TOML_BOOLEAN, depth, at);
        if (v)
            v->u.b = c == 't';
        ps->p += c == 't' ? 4 : 5;
        return v;
    }
    if (c == '[')
        return parse_array(ps, depth);
    if (c == '{')
        return parse_inline_table(ps, depth);
    toml_datetime dt;
    int type;
    size_t n = match_datetime(at, ps->end, &dt, &type);
    if (!n && (n = match_time(at, ps->end, &dt)) != 0) {
        dt.year = dt.month = dt.day = 0;
        dt.offset_minutes = 0;
        type = TOML_TIME_LOCAL;
    }
    if (n) {
        if (type != TOML_TIME_LOCAL &&
            (dt.year == 0 || dt.day > days_in_month(dt.year, dt.month))) {
            fail(ps, at, "%.10s is not a valid date", at);
            return NULL;
        }
        toml_value *v = new_value(ps, type, depth, at);
        if (v)
            v->u.dt = dt;
        ps->p = at + n;
        return v;
    }
    int matched;
    toml_value *v = parse_number(ps, depth, &matched);
    if (matched)
        return v;
    if ((v = parse_special_float(ps, depth)) != NULL || ps->failed)
        return v;
    if (at >= ps->end || at_newline(ps, at) || c == '#')
        fail(ps, at, "expected a value after '='");
    else
        fail(ps, at, "invalid value (strings need quotes; numbers, true/false, dates, "
                     "[arrays] and {tables} do not)");
    return NULL;
}

/* ---- placing keys and tables ---- */

static const char *table_kind_name(const toml_value *v)
{
    if (v->type == TOML_ARRAY)
        return v->kind == AK_TABLES ? "an array of tables" : "an array";
    if (v->type != TOML_TABLE)
        return toml_type_name(v->type);
    switch (v->kind) {
    case TK_INLINE: return "an inline table";
    case TK_DOTTED: return "a table defined by dotted keys";
    default: return "a table";
    }
}

static int conflict(parser *ps, const keypart *k, const toml_value *old, const char *what)
{
    char kb[64];
    return fail(ps, k->at, "%s '%s': already %s (line %d)", what,
                show_key(k->s, k->len, kb, sizeof(kb)), table_kind_name(old), old->line);
}

/* A table first named by key part k. */
static toml_value *new_table(parser *ps, int kind, int depth, const keypart *k)
{
    if (depth > TOML_MAX_DEPTH) {
        fail(ps, k->at, "tables nested deeper than %d levels", TOML_MAX_DEPTH);
        return NULL;
    }
    toml_value *t = new_value_at(ps, TOML_TABLE, depth, k->line, k->column);
    if (t)
        t->kind = (uint8_t)kind;
    return t;
}

/* Place val at the dotted key parts[0..nparts) below t (the current table,
 * or an inline table being built). */
static int insert_dotted(parser *ps, toml_value *t, keypart *parts, int nparts,
                         toml_value *val)
{
    for (int i = 0; i < nparts - 1; i++) {
        keypart *k = &parts[i];
        toml_entry *e = table_find(t, k->s, k->len);
        toml_value *next;
        if (!e) {
            next = new_table(ps, TK_DOTTED, t->depth + 1, k);
            if (!next || table_add(ps, t, k, next))
                return -1;
        } else {
            next = e->val;
            if (next->type != TOML_TABLE ||
                (next->kind != TK_IMPLICIT && next->kind != TK_DOTTED))
                return conflict(ps, k, next, "cannot add keys to");
            next->kind = TK_DOTTED;
        }
        t = next;
    }
    keypart *k = &parts[nparts - 1];
    toml_entry *e = table_find(t, k->s, k->len);
    if (e) {
        char kb[64];
        return fail(ps, k->at, "duplicate key '%s' (first defined on line %d)",
                    show_key(k->s, k->len, kb, sizeof(kb)), e->val->line);
    }
    return table_add(ps, t, k, val);
}

/* Walk the [header] path ps->parts[0..nparts-1) from the root, creating
 * implicit tables; returns the parent of the last part. */
static toml_value *walk_header(parser *ps, int nparts)
{
    toml_value *t = ps->doc->root;
    for (int i = 0; i < nparts - 1; i++) {
        keypart *k = &ps->parts[i];
        toml_entry *e = table_find(t, k->s, k->len);
        toml_value *next;
        if (!e) {
            next = new_table(ps, TK_IMPLICIT, t->depth + 1, k);
            if (!next || table_add(ps, t, k, next))
                return NULL;
        } else {
            next = e->val;
            if (next->type == TOML_ARRAY && next->kind == AK_TABLES)
                next = next->u.arr.items[next->u.arr.n - 1];
            else if (next->type != TOML_TABLE || next->kind == TK_INLINE) {
                conflict(ps, k, next, "cannot define a table under");
                return NULL;
            }
        }
        t = next;
    }
    return t;
}

/* [a.b.c] or [[a.b.c]] with ps->p on the first '['. */
static int parse_header(parser *ps)
{
    int aot = starts(ps, ps->p, "[[");
    const char *open = ps->p;
    ps->p += aot ? 2 : 1;
    skip_ws(ps);
    int n = parse_key(ps);
    if (n < 0)
        return -1;
    if (!starts(ps, ps->p, aot ? "]]" : "]"))
        return fail(ps, ps->p, aot ? "expected ']]' to close the [[array of tables]] header"
                                   : "expected ']' to close the [table] header");
    ps->p += aot ? 2 : 1;
    toml_value *parent = walk_header(ps, n);
    if (!parent)
        return -1;
    keypart *k = &ps->parts[n - 1];
    keypart hdr = *k;           /* the table's position: the header */
    hdr.at = open;
    pos_of(ps, open, &hdr.line, &hdr.column);
    toml_entry *e = table_find(parent, k->s, k->len);
    char kb[64];
    if (!aot) {
        if (!e) {
            toml_value *t = new_table(ps, TK_HEADER, parent->depth + 1, &hdr);
            if (!t || table_add(ps, parent, k, t))
                return -1;
            ps->cur = t;
            return 0;
        }
        toml_value *t = e->val;
        if (t->type == TOML_TABLE && t->kind == TK_IMPLICIT) {
            t->kind = TK_HEADER;
            t->line = hdr.line;
            t->column = hdr.column;
            ps->cur = t;
            return 0;
        }
        if (t->type == TOML_TABLE && t->kind == TK_HEADER)
            return fail(ps, open, "table [%s] is defined twice (first on line %d)",
                        show_key(k->s, k->len, kb, sizeof(kb)), t->line);
        return conflict(ps, k, t, "cannot define table");
    }
    toml_value *arr;
    if (!e) {
        if (parent->depth + 2 > TOML_MAX_DEPTH)
            return fail(ps, open, "tables nested deeper than %d levels", TOML_MAX_DEPTH);
        arr = new_value(ps, TOML_ARRAY, parent->depth + 1, open);
        if (!arr || table_add(ps, parent, k, arr))
            return -1;
        arr->kind = AK_TABLES;
    } else {
        arr = e->val;
        if (arr->type != TOML_ARRAY || arr->kind != AK_TABLES)
            return conflict(ps, k, arr, "cannot append a [[table]] to");
    }
    toml_value *t = new_table(ps, TK_HEADER, arr->depth + 1, &hdr);
    if (!t || array_add(ps, arr, t))
        return -1;
    ps->cur = t;
    return 0;
}

static int parse_keyval(parser *ps)
{
    int n = parse_key(ps);
    if (n < 0)
        return -1;
    if (ps->p >= ps->end || *ps->p != '=')
        return fail(ps, ps->p, "expected '=' after the key");
    ps->p++;
    skip_ws(ps);
    keypart *parts = &ps->parts[ps->ptop];
    ps->ptop += n;
    toml_value *v = parse_value(ps, ps->cur->depth + n);
    ps->ptop -= n;
    if (!v)
        return -1;
    return insert_dotted(ps, ps->cur, parts, n, v);
}

static int parse_document(parser *ps)
{
    while (ps->p < ps->end) {
        skip_ws(ps);
        if (ps->p >= ps->end)
            break;
        char c = *ps->p;
        if (at_newline(ps, ps->p)) {
            take_newline(ps);
            continue;
        }
        if (is_bare(c) || c == '"' || c == '\'') {
            if (parse_keyval(ps))
                return -1;
        } else if (c == '[') {
            if (parse_header(ps))
                return -1;
        } else if (c != '#') {
            char cb[16];
            return fail(ps, ps->p, "expected a key, a [table] or a comment, found %s",
                        describe_at(ps, ps->p, cb, sizeof(cb)));
        }
        skip_ws(ps);
        if (skip_comment(ps))
            return -1;
        if (ps->p >= ps->end)
            break;
        if (!at_newline(ps, ps->p)) {
            char cb[16];
            return fail(ps, ps->p, "expected the end of the line, found %s",
                        describe_at(ps, ps->p, cb, sizeof(cb)));
        }
        take_newline(ps);
    }
    return 0;
}

toml_doc *toml_parse(const char *buf, size_t len, toml_error *err)
{
    toml_error dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof(*err));
    if (len > TOML_MAX_DOC) {
        snprintf(err->msg, sizeof(err->msg), "document is %zu bytes; the limit is %zu",
                 len, TOML_MAX_DOC);
        return NULL;
    }
    toml_doc *doc = calloc(1, sizeof(*doc));
    if (!doc) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    parser *ps = malloc(sizeof(*ps));
    if (!ps) {
        free(doc);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    memset(ps, 0, offsetof(parser, parts));
    ps->buf = ps->p = ps->line_start = buf ? buf : "";
    ps->end = ps->buf + (buf ? len : 0);
    ps->line = 1;
    ps->doc = doc;
    ps->err = err;
    int rc = -1;
    const char *bad = utf8_invalid(ps->buf, len);
    if (bad) {
        fail(ps, bad, "invalid UTF-8 (byte 0x%02X)", (unsigned char)*bad);
    } else if ((doc->root = new_value(ps, TOML_TABLE, 0, ps->buf)) != NULL) {
        doc->root->kind = TK_ROOT;
        ps->cur = doc->root;
        rc = parse_document(ps);
    }
    free(ps->scratch);
    free(ps);
    if (rc) {
        toml_doc_free(doc);
        return NULL;
    }
    return doc;
}

/* ---- reading the tree ---- */

const toml_value *toml_doc_root(const toml_doc *doc) { return doc ? doc->root : NULL; }
toml_type toml_type_of(const toml_value *v) { return (toml_type)v->type; }
int toml_line(const toml_value *v) { return v ? v->line : 0; }
int toml_column(const toml_value *v) { return v ? v->column : 0; }

const char *toml_type_name(toml_type t)
{
    switch (t) {
    case TOML_TABLE: return "table";
    case TOML_ARRAY: return "array";
    case TOML_STRING: return "string";
    case TOML_INTEGER: return "integer";
    case TOML_FLOAT: return "float";
    case TOML_BOOLEAN: return "boolean";
    case TOML_DATETIME: return "offset date-time";
    case TOML_DATETIME_LOCAL: return "local date-time";
    case TOML_DATE_LOCAL: return "local date";
    case TOML_TIME_LOCAL: return "local time";
    }
    return "value";
}

size_t toml_count(const toml_value *v)
{
    if (!v)
        return 0;
    if (v->type == TOML_TABLE)
        return v->u.tab.n;
    if (v->type == TOML_ARRAY)
        return v->u.arr.n;
    return 0;
}

const toml_value *toml_array_at(const toml_value *arr, size_t i)
{
    if (!arr || arr->type != TOML_ARRAY || i >= arr->u.arr.n)
        return NULL;
    return arr->u.arr.items[i];
}

const toml_value *toml_table_at(const toml_value *tab, size_t i, const char **key,
                                size_t *keylen)
{
    if (!tab || tab->type != TOML_TABLE || i >= tab->u.tab.n)
        return NULL;
    const toml_entry *e = &tab->u.tab.ents[i];
    if (key)
        *key = e->key;
    if (keylen)
        *keylen = e->keylen;
    return e->val;
}

const toml_value *toml_table_getn(const toml_value *tab, const char *key, size_t keylen)
{
    if (!tab || tab->type != TOML_TABLE)
        return NULL;
    const toml_entry *e = table_find(tab, key, keylen);
    return e ? e->val : NULL;
}

const toml_value *toml_table_get(const toml_value *tab, const char *key)
{
    return toml_table_getn(tab, key, strlen(key));
}

bool toml_is_inline(const toml_value *v)
{
    if (!v)
        return false;
    return (v->type == TOML_TABLE && v->kind == TK_INLINE) ||
           (v->type == TOML_ARRAY && v->kind == AK_LITERAL);
}

const char *toml_string(const toml_value *v, size_t *len)
{
    if (!v || v->type != TOML_STRING) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = v->u.str.len;
    return v->u.str.s;
}

int64_t toml_integer(const toml_value *v) { return v && v->type == TOML_INTEGER ? v->u.i : 0; }
double toml_float(const toml_value *v) { return v && v->type == TOML_FLOAT ? v->u.f : 0.0; }
bool toml_boolean(const toml_value *v) { return v && v->type == TOML_BOOLEAN && v->u.b; }

const toml_datetime *toml_datetime_of(const toml_value *v)
{
    if (!v || v->type < TOML_DATETIME || v->type > TOML_TIME_LOCAL)
        return NULL;
    return &v->u.dt;
}

int toml_datetime_format(toml_type t, const toml_datetime *dt, char *buf, size_t n)
{
    char date[48] = "", time[64] = "", off[32] = "";
    if (t != TOML_TIME_LOCAL)
        snprintf(date, sizeof(date), "%04d-%02d-%02d", dt->year, dt->month, dt->day);
    if (t != TOML_DATE_LOCAL)
        snprintf(time, sizeof(time), "%s%02d:%02d:%02d.%06d", t == TOML_TIME_LOCAL ? "" : "T",
                 dt->hour, dt->minute, dt->second, dt->microsecond);
    if (t == TOML_DATETIME) {
        int m = dt->offset_minutes < 0 ? -dt->offset_minutes : dt->offset_minutes;
        snprintf(off, sizeof(off), "%c%02d:%02d", dt->offset_minutes < 0 ? '-' : '+', m / 60,
                 m % 60);
    }
    return snprintf(buf, n, "%s%s%s", date, time, off);
}

void toml_write_string(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && !is_ctrl(c))
            continue;
        fwrite(s + run, 1, i - run, f);
        run = i + 1;
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\t': fputs("\\t", f); break;
        case '\r': fputs("\\r", f); break;
        default: fprintf(f, "\\u%04X", c); break;
        }
    }
    fwrite(s + run, 1, len - run, f);
    fputc('"', f);
}

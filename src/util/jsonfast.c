/* jsonfast.c: fast JSON text <-> jansson json_t (see jsonfast.h).
 *
 * Loader.  One pass over the input, no recursion: open containers live on
 * an explicit stack bounded by max_depth.  A container is attached to its
 * parent as soon as its opening bracket is read, so an object key is only
 * needed until the very next value is created and the tree is complete at
 * every step (an error just drops the root).  Strings are scanned 16 bytes
 * at a time (SSE2; 8-byte SWAR words and a byte table for the rest) for
 * the only bytes that need a look: '"', '\\', control characters and
 * non-ASCII lead bytes, which are validated as whole UTF-8 sequences.  A
 * string without escapes goes straight from the input to
 * json_stringn_nocheck; one with escapes is decoded into a scratch buffer
 * first.  Integers are converted inline; reals take an exact fast path
 * (mantissa at most 2^53, power of ten at most 22: one correctly rounded
 * IEEE operation) or else strtod in the C locale.
 *
 * Acceptance follows jansson 2.14's json_loadb(JSON_DECODE_ANY), quirks
 * included: integers outside json_int_t and reals overflowing a double
 * are errors, \u0000 is refused, and a single NUL byte right after a
 * number or a literal is skipped (jansson's lexer loses it when it
 * pushes the byte back).
 *
 * Dumper.  Recursive walk bounded by JSONFAST_DUMP_MAX_DEPTH into one
 * growable buffer.  String bodies are copied 16 or 8 bytes at a time while
 * scanning for bytes to escape, the last few with one overlapping 8-byte
 * load.  Escapes and reals come out exactly as jansson 2.14 writes them
 * ("\\u%04X" for other control characters; "%.17g", then ".0" or a trimmed
 * exponent).  The 17 digits are computed exactly in 128-bit integers for
 * the usual range [1e-6, 1e17) and by printf elsewhere. */
#include "util/jsonfast.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

_Static_assert(sizeof(json_int_t) == 8, "jsonfast assumes a 64-bit json_int_t");

/* ---- shared helpers ------------------------------------------------------ */

/* For the per-value helpers the hot loops call from more than one place. */
#define ALWAYS_INLINE inline __attribute__((always_inline))

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* High bit set in (at least) the first byte of w, in memory order, that is
 * '"', '\\', below 0x20 or above 0x7f; zero when there is none.  Each test
 * is the classic "has byte less than n" trick, exact for the first hit. */
static inline uint64_t special_bytes(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"');
    uint64_t b = w ^ (ONES * '\\');
    uint64_t ctl = (w - ONES * 0x20) & ~w;
    uint64_t quo = (q - ONES) & ~q;
    uint64_t bsl = (b - ONES) & ~b;
    return (ctl | quo | bsl | w) & HIGHS;
}

/* The same test one byte at a time, for the last few bytes of a string. */
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char special_byte[256] = {
    R16(1), R16(1), /* control characters */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
    R16(0), R16(0),
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
    R16(0), R16(0),
    R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), /* non-ASCII */
};
#undef R16

/* Index of the byte flagged by special_bytes(w) that comes first. */
static inline size_t first_flagged(uint64_t mask)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t)__builtin_ctzll(mask) >> 3;
#else
    return (size_t)__builtin_clzll(mask) >> 3;
#endif
}

#ifdef __SSE2__
/* Bit i set when byte i of the 16 at p is '"', '\\', below 0x20 or above
 * 0x7f (a signed compare with 0x20 catches both ranges at once). */
static inline unsigned special_bytes16(const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                             _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* Length (2-4) of the valid UTF-8 sequence starting with the non-ASCII
 * byte at p, or 0 if it is not one: no overlong forms, no surrogates,
 * nothing above U+10FFFF, and all of it inside [p, end). */
static inline size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t avail = (size_t)(end - p);
    if (c < 0xc2)
        return 0;
    if (c < 0xe0)
        return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c < 0xf0) {
        if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
            return 0;
        return 3;
    }
    if (c < 0xf5) {
        if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
            (p[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

/* The "C" locale, so that strtod and printf use '.' whatever setlocale()
 * the process called (jansson converts around the locale too). */
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t c_locale_get(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale;
}

/* ---- loader: scratch buffers and container stack ------------------------- */

#define SCRATCH_INLINE 512
#define STACK_INLINE 64

typedef struct scratch {
    char *data;
    size_t len, cap;
    char inline_buf[SCRATCH_INLINE];
} scratch;

static void scratch_init(scratch *s)
{
    s->data = s->inline_buf;
    s->len = 0;
    s->cap = sizeof s->inline_buf;
}

static void scratch_destroy(scratch *s)
{
    if (s->data != s->inline_buf)
        free(s->data);
}

/* Makes room for n more bytes. */
static int scratch_reserve(scratch *s, size_t n)
{
    if (s->cap - s->len >= n)
        return 0;
    size_t cap = s->cap * 2;
    if (cap < s->len + n)
        cap = s->len + n;
    char *d;
    if (s->data == s->inline_buf) {
        d = malloc(cap);
        if (d)
            memcpy(d, s->data, s->len);
    } else {
        d = realloc(s->data, cap);
    }
    if (!d)
        return -1;
    s->data = d;
    s->cap = cap;
    return 0;
}

typedef struct parser {
    const unsigned char *p; /* next unread byte */
    const unsigned char *end;
    size_t max_depth;
    json_t *root;
    json_t **stack; /* open containers, innermost last */
    size_t depth, cap;
    const char *key; /* key of the next value when the innermost is an object */
    size_t key_len;
    scratch key_buf, str_buf; /* decoded keys and string values with escapes */
    json_t *stack_inline[STACK_INLINE];
} parser;

static void parser_init(parser *ps, const char *buf, size_t len, size_t max_depth)
{
    ps->p = (const unsigned char *)buf;
    ps->end = ps->p + len;
    ps->max_depth = max_depth ? max_depth : JSONFAST_DEFAULT_MAX_DEPTH;
    ps->root = NULL;
    ps->stack = ps->stack_inline;
    ps->depth = 0;
    ps->cap = STACK_INLINE;
    ps->key = NULL;
    ps->key_len = 0;
    scratch_init(&ps->key_buf);
    scratch_init(&ps->str_buf);
}

static void parser_destroy(parser *ps)
{
    if (ps->stack != ps->stack_inline)
        free(ps->stack);
    scratch_destroy(&ps->key_buf);
    scratch_destroy(&ps->str_buf);
}

static int stack_push(parser *ps, json_t *container)
{
    if (ps->depth == ps->cap) {
        size_t cap = ps->cap * 2;
        json_t **s;
        if (ps->stack == ps->stack_inline) {
            s = malloc(cap * sizeof *s);
            if (s)
                memcpy(s, ps->stack, ps->depth * sizeof *s);
        } else {
            s = realloc(ps->stack, cap * sizeof *s);
        }
        if (!s)
            return -1;
        ps->stack = s;
        ps->cap = cap;
    }
    ps->stack[ps->depth++] = container;
    return 0;
}

/* Hands v (a new reference) to the innermost container, or makes it the
 * root.  The reference is consumed even on failure. */
static ALWAYS_INLINE int attach(parser *ps, json_t *v)
{
    if (!v)
        return -1;
    if (ps->depth == 0) {
        ps->root = v;
        return 0;
    }
    json_t *top = ps->stack[ps->depth - 1];
    if (json_is_object(top))
        return json_object_setn_new_nocheck(top, ps->key, ps->key_len, v);
    return json_array_append_new(top, v);
}

static inline void skip_ws(parser *ps)
{
    const unsigned char *p = ps->p, *end = ps->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    ps->p = p;
}

/* ---- loader: strings ----------------------------------------------------- */

static const signed char hex_value[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
    ['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
    ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
    ['F'] = 16,
};

/* The four hex digits at p (p + 4 <= end checked by the caller), or -1. */
static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_value[p[i]];
        if (!d)
            return -1;
        v = (v << 4) | (d - 1);
    }
    return v;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the escape at p (a backslash) into out, which has room for 4
 * bytes.  Returns the byte after the escape, or NULL if it is invalid:
 * unknown letter, bad hex, \u0000, or a surrogate not in a proper pair. */
static const unsigned char *decode_escape(const unsigned char *p, const unsigned char *end,
                                          char *out, size_t *out_len)
{
    if (end - p < 2)
        return NULL;
    char c;
    switch (p[1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
        if (end - p < 6)
            return NULL;
        int cp = hex4(p + 2);
        if (cp <= 0) /* invalid, or \u0000 */
            return NULL;
        p += 6;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return NULL;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                return NULL;
            int lo = hex4(p + 2);
            if (lo < 0xdc00 || lo > 0xdfff)
                return NULL;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        }
        *out_len = utf8_encode((uint32_t)cp, out);
        return p;
    }
    default:
        return NULL;
    }
    out[0] = c;
    *out_len = 1;
    return p + 2;
}

/* Reads the string whose opening quote has been consumed.  On success the
 * decoded bytes are at *s (in the input, or in sb when there were escapes),
 * *n long, and ps->p is past the closing quote. */
static ALWAYS_INLINE int scan_string(parser *ps, scratch *sb, const char **s, size_t *n)
{
    const unsigned char *p = ps->p, *end = ps->end;
    const unsigned char *seg = p; /* start of the bytes not yet copied to sb */
    int escaped = 0;
    for (;;) {
#ifdef __SSE2__
        while (end - p >= 16) {
            unsigned m = special_bytes16(p);
            if (m) {
                p += __builtin_ctz(m);
                goto special;
            }
            p += 16;
        }
#endif
        while (end - p >= 8) {
            uint64_t m = special_bytes(load64(p));
            if (m) {
                p += first_flagged(m);
                goto special;
            }
            p += 8;
        }
        while (p < end && !special_byte[*p])
            p++;
        if (p >= end)
            goto fail;
    special:;
        unsigned c = *p;
        if (c == '"')
            break;
        if (c == '\\') {
            if (!escaped) {
                sb->len = 0;
                escaped = 1;
            }
            size_t span = (size_t)(p - seg);
            if (scratch_reserve(sb, span + 4))
                goto fail;
            memcpy(sb->data + sb->len, seg, span);
            sb->len += span;
            size_t k;
            p = decode_escape(p, end, sb->data + sb->len, &k);
            if (!p) {
                p = seg + span; /* report the backslash */
                goto fail;
            }
            sb->len += k;
            seg = p;
        } else if (c >= 0x80) {
            size_t k = utf8_seq(p, end);
            if (!k)
                goto fail;
            p += k;
        } else {
            goto fail; /* control character */
        }
    }
    if (escaped) {
        size_t span = (size_t)(p - seg);
        if (scratch_reserve(sb, span))
            goto fail;
        memcpy(sb->data + sb->len, seg, span);
        sb->len += span;
        *s = sb->data;
        *n = sb->len;
    } else {
        *s = (const char *)seg;
        *n = (size_t)(p - seg);
    }
    ps->p = p + 1;
    return 0;
fail:
    ps->p = p;
    return -1;
}

/* ---- loader: numbers and literals ---------------------------------------- */

static inline int is_digit(unsigned c)
{
    return c - '0' < 10;
}

static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* strtod of the number text [s, e) in the C locale; 0, or -1 on overflow. */
static int real_by_strtod(const unsigned char *s, const unsigned char *e, double *out)
{
    char small[64];
    size_t n = (size_t)(e - s);
    char *txt = n < sizeof small ? small : malloc(n + 1);
    if (!txt)
        return -1;
    memcpy(txt, s, n);
    txt[n] = 0;
    locale_t loc = c_locale_get();
    errno = 0;
    double v = loc ? strtod_l(txt, NULL, loc) : strtod(txt, NULL);
    int overflow = (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
    if (txt != small)
        free(txt);
    if (overflow)
        return -1;
    *out = v;
    return 0;
}

/* Reads the number at ps->p (a '-' or a digit) and returns its json_t:
 * an integer when it has no fraction or exponent, a real otherwise. */
static json_t *scan_number(parser *ps)
{
    const unsigned char *p = ps->p, *end = ps->end, *start = p;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        if (++p >= end)
            goto fail;
    }
    const unsigned char *int_start = p;
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p))
            goto fail; /* leading zero */
    } else if (is_digit(*p)) {
        while (p < end && is_digit(*p))
            p++;
    } else {
        goto fail;
    }
    const unsigned char *int_end = p;

    if (p >= end || (*p != '.' && *p != 'e' && *p != 'E')) {
        size_t nd = (size_t)(int_end - int_start);
        if (nd > 19)
            goto fail;
        uint64_t v = 0;
        for (const unsigned char *d = int_start; d < int_end; d++)
            v = v * 10 + (uint64_t)(*d - '0');
        json_int_t iv;
        if (neg) {
            if (v > (uint64_t)INT64_MAX + 1)
                goto fail;
            iv = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v;
        } else {
            if (v > (uint64_t)INT64_MAX)
                goto fail;
            iv = (json_int_t)v;
        }
        ps->p = p;
        return json_integer(iv);
    }

    const unsigned char *frac_start = p, *frac_end = p;
    if (*p == '.') {
        frac_start = ++p;
        if (p >= end || !is_digit(*p))
            goto fail;
        while (p < end && is_digit(*p))
            p++;
        frac_end = p;
    }
    long exp10 = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || !is_digit(*p))
            goto fail;
        while (p < end && is_digit(*p)) {
            if (exp10 < 100000)
                exp10 = exp10 * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            exp10 = -exp10;
    }

    /* Mantissa: the significant digits of integer and fraction parts. */
    uint64_t m = 0;
    int sig = 0;
    for (const unsigned char *d = int_start; d < int_end; d++) {
        if (m || *d != '0')
            sig++;
        m = m * 10 + (uint64_t)(*d - '0');
        if (sig > 19)
            break;
    }
    for (const unsigned char *d = frac_start; d < frac_end && sig <= 19; d++) {
        if (m || *d != '0')
            sig++;
        m = m * 10 + (uint64_t)(*d - '0');
    }
    double v;
    long e = exp10 - (long)(frac_end - frac_start);
    if (sig <= 19 && m == 0) {
        v = neg ? -0.0 : 0.0;
#if FLT_EVAL_METHOD == 0
    } else if (sig <= 19 && m <= (1ULL << 53) && e >= -22 && e <= 22) {
        v = e >= 0 ? (double)m * exact_pow10[e] : (double)m / exact_pow10[-e];
        if (neg)
            v = -v;
#endif
    } else if (real_by_strtod(start, p, &v)) {
        goto fail;
    }
    ps->p = p;
    return json_real(v);
fail:
    ps->p = p;
    return NULL;
}

/* jansson pushes back the byte after a number or literal, and a pushed
 * back NUL is lost: "1\0" loads as 1.  Skip it the same way. */
static inline void skip_lost_nul(parser *ps)
{
    if (ps->p < ps->end && *ps->p == 0)
        ps->p++;
}

static json_t *scan_literal(parser *ps)
{
    const unsigned char *p = ps->p;
    size_t avail = (size_t)(ps->end - p);
    json_t *v = NULL;
    size_t n = 0;
    if (avail >= 4 && memcmp(p, "true", 4) == 0) {
        v = json_true();
        n = 4;
    } else if (avail >= 5 && memcmp(p, "false", 5) == 0) {
        v = json_false();
        n = 5;
    } else if (avail >= 4 && memcmp(p, "null", 4) == 0) {
        v = json_null();
        n = 4;
    }
    ps->p = p + n;
    return v;
}

/* ---- loader: the grammar ------------------------------------------------- */

/* Parses one value and, if whole, any whitespace after it.  Returns the
 * root, or NULL with ps->p at the offending byte. */
static json_t *parse(parser *ps)
{
    json_t *v;
    const char *s;
    size_t n;

value:
    skip_ws(ps);
    if (ps->p >= ps->end || ps->depth >= ps->max_depth)
        goto fail;
    switch (*ps->p) {
    case '{':
    case '[': {
        int is_obj = *ps->p == '{';
        v = is_obj ? json_object() : json_array();
        if (attach(ps, v) || stack_push(ps, v))
            goto fail;
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == (is_obj ? '}' : ']')) {
            ps->p++;
            ps->depth--;
            goto next;
        }
        if (is_obj)
            goto key;
        goto value;
    }
    case '"':
        ps->p++;
        if (scan_string(ps, &ps->str_buf, &s, &n))
            goto fail;
        if (attach(ps, json_stringn_nocheck(s, n)))
            goto fail;
        goto next;
    case 't':
    case 'f':
    case 'n':
        if (attach(ps, scan_literal(ps)))
            goto fail;
        skip_lost_nul(ps);
        goto next;
    default:
        if (*ps->p != '-' && !is_digit(*ps->p))
            goto fail;
        if (attach(ps, scan_number(ps)))
            goto fail;
        skip_lost_nul(ps);
        goto next;
    }

key:
    if (ps->p >= ps->end || *ps->p != '"')
        goto fail;
    ps->p++;
    if (scan_string(ps, &ps->key_buf, &ps->key, &ps->key_len))
        goto fail;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':')
        goto fail;
    ps->p++;
    goto value;

next:
    skip_ws(ps);
    if (ps->depth == 0)
        return ps->root;
    if (ps->p >= ps->end)
        goto fail;
    if (json_is_object(ps->stack[ps->depth - 1])) {
        if (*ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            goto key;
        }
        if (*ps->p != '}')
            goto fail;
    } else {
        if (*ps->p == ',') {
            ps->p++;
            goto value;
        }
        if (*ps->p != ']')
            goto fail;
    }
    ps->p++;
    ps->depth--;
    goto next;

fail:
    json_decref(ps->root);
    ps->root = NULL;
    return NULL;
}

json_t *jsonfast_loadb_prefix(const char *buf, size_t len, size_t max_depth, size_t *consumed,
                              const char **errpos)
{
    if (consumed)
        *consumed = 0;
    if (!buf) {
        if (errpos)
            *errpos = NULL;
        return NULL;
    }
    parser ps;
    parser_init(&ps, buf, len, max_depth);
    json_t *root = parse(&ps);
    parser_destroy(&ps);
    if (errpos)
        *errpos = root ? NULL : (const char *)ps.p;
    if (root && consumed)
        *consumed = (size_t)((const char *)ps.p - buf);
    return root;
}

json_t *jsonfast_loadb(const char *buf, size_t len, size_t max_depth, const char **errpos)
{
    size_t used;
    json_t *root = jsonfast_loadb_prefix(buf, len, max_depth, &used, errpos);
    if (root && used != len) {
        json_decref(root);
        if (errpos)
            *errpos = buf + used;
        return NULL;
    }
    return root;
}

/* ---- dumper -------------------------------------------------------------- */

typedef struct outbuf {
    char *data;
    size_t len, cap;
} outbuf;

static int out_grow(outbuf *o, size_t n)
{
    size_t cap = o->cap ? o->cap * 2 : 1024;
    while (cap - o->len < n)
        cap *= 2;
    char *d = realloc(o->data, cap);
    if (!d)
        return -1;
    o->data = d;
    o->cap = cap;
    return 0;
}

/* Makes room for n more bytes. */
static inline int out_reserve(outbuf *o, size_t n)
{
    return o->cap - o->len >= n ? 0 : out_grow(o, n);
}

static inline int out_put(outbuf *o, const char *s, size_t n)
{
    if (out_reserve(o, n))
        return -1;
    memcpy(o->data + o->len, s, n);
    o->len += n;
    return 0;
}

/* Writes the escape for the ASCII byte c ('"', '\\' or a control
 * character) at d, returning its length. */
static size_t escape_byte(unsigned c, char *d)
{
    static const char hex[] = "0123456789ABCDEF";
    d[0] = '\\';
    switch (c) {
    case '"': d[1] = '"'; return 2;
    case '\\': d[1] = '\\'; return 2;
    case '\b': d[1] = 'b'; return 2;
    case '\f': d[1] = 'f'; return 2;
    case '\n': d[1] = 'n'; return 2;
    case '\r': d[1] = 'r'; return 2;
    case '\t': d[1] = 't'; return 2;
    default:
        memcpy(d + 1, "u00", 3);
        d[4] = hex[c >> 4];
        d[5] = hex[c & 15];
        return 6;
    }
}

/* Appends s[0..n) as a quoted JSON string.  Every input byte becomes at
 * least one output byte, so with room for n + 2 reserved, the 16- and
 * 8-byte stores below made while that many input bytes remain never pass
 * the reservation; the 8-byte store of the last 1-7 bytes may pass it by
 * up to 7, hence STORE_SLACK.  Escapes reserve their extra. */
#define STORE_SLACK 8

static ALWAYS_INLINE int dump_string(outbuf *o, const char *str, size_t n)
{
    const unsigned char *p = (const unsigned char *)str, *end = p + n;
    if (out_reserve(o, n + 2 + STORE_SLACK))
        return -1;
    char *d = o->data + o->len;
    *d++ = '"';
    for (;;) {
#ifdef __SSE2__
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            _mm_storeu_si128((__m128i *)(void *)d, v);
            unsigned m = special_bytes16(p);
            if (m) {
                size_t k = (size_t)__builtin_ctz(m);
                p += k;
                d += k;
                goto special;
            }
            p += 16;
            d += 16;
        }
#endif
        while (end - p >= 8) {
            uint64_t w = load64(p);
            memcpy(d, &w, 8);
            uint64_t m = special_bytes(w);
            if (m) {
                size_t k = first_flagged(m);
                p += k;
                d += k;
                goto special;
            }
            p += 8;
            d += 8;
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (p < end && n >= 8) {
            /* The last 1-7 bytes: reload the string's last eight and shift
             * the ones already done out (they may hold specials, so mask). */
            size_t r = (size_t)(end - p);
            uint64_t w = load64(end - 8) >> (8 * (8 - r));
            uint64_t m = special_bytes(w) & ((1ULL << (8 * r)) - 1);
            memcpy(d, &w, 8);
            if (!m) {
                d += r;
                break;
            }
            size_t k = first_flagged(m);
            p += k;
            d += k;
            goto special;
        }
#endif
        while (p < end && !special_byte[*p])
            *d++ = (char)*p++;
        if (p >= end)
            break;
    special:;
        unsigned c = *p;
        if (c >= 0x80) {
            size_t k = utf8_seq(p, end);
            if (!k)
                return -1;
            memcpy(d, p, k);
            p += k;
            d += k;
            continue;
        }
        /* '"', '\\' or control: up to 5 bytes more than the input byte. */
        o->len = (size_t)(d - o->data);
        if (out_reserve(o, (size_t)(end - p) + 1 + 5 + STORE_SLACK))
            return -1;
        d = o->data + o->len;
        d += escape_byte(c, d);
        p++;
    }
    *d++ = '"';
    o->len = (size_t)(d - o->data);
    return 0;
}

/* Writes the decimal digits of u ending just before e; returns the start. */
static char *u64_digits(uint64_t u, char *e)
{
    do {
        *--e = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    return e;
}

static int dump_integer(outbuf *o, json_int_t v)
{
    char tmp[24];
    char *e = tmp + sizeof tmp;
    char *s = u64_digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, e);
    if (v < 0)
        *--s = '-';
    return out_put(o, s, (size_t)(e - s));
}

/* The 17 significant digits "%.17g" prints for v > 0, as an integer D in
 * [1e16, 1e17) with v ~ D * 10^(X-16), computed exactly: v = m * 2^q, so
 * D = round(m * 10^(16-X) / 2^-q), rounding half to even as glibc does.
 * Only for non-integers in [1e-6, 1e17), where 10^(16-X) <= 10^22 keeps
 * the product below 2^127; returns -1 elsewhere. */
static int real_digits17(double v, uint64_t *digits, int *exp10)
{
    static const uint64_t P16 = 10000000000000000ULL, P17 = 100000000000000000ULL;
    int q;
    double fr = frexp(v, &q);
    uint64_t m = (uint64_t)ldexp(fr, 53);
    q -= 53;
    if (q >= 0 || v < 1e-6 || v >= 1e17)
        return -1;
    unsigned s = (unsigned)-q;
    int x = (int)floor(log10(v));
    for (int tries = 0; tries < 3; tries++) {
        int k = 16 - x;
        if (k < 0 || k > 22 || s > 127)
            return -1;
        unsigned __int128 p10 = 1;
        for (int i = 0; i < k; i++)
            p10 *= 10;
        unsigned __int128 n = (unsigned __int128)m * p10;
        unsigned __int128 d = n >> s, rem = n - (d << s);
        if (d >= P17) {
            x++;
            continue;
        }
        if (d < P16) {
            x--;
            continue;
        }
        unsigned __int128 half = (unsigned __int128)1 << (s - 1);
        if (rem > half || (rem == half && (d & 1)))
            d++;
        if (d == P17) {
            d = P16;
            x++;
        }
        *digits = (uint64_t)d;
        *exp10 = x;
        return 0;
    }
    return -1;
}

/* Formats v > 0 as jansson prints it ("%.17g", then ".0" or a trimmed
 * exponent) when real_digits17 can; returns the length or -1. */
static int real_fast(double v, char *out)
{
    uint64_t d;
    int x;
    if (real_digits17(v, &d, &x))
        return -1;
    char dig[24];
    char *e = dig + sizeof dig, *s = u64_digits(d, e);
    while (e[-1] == '0')
        e--;
    int nd = (int)(e - s);
    char *o = out;
    if (x < -4) { /* d.ddde-X */
        *o++ = s[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, s + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = '-';
        char eb[8], *es = u64_digits((uint64_t)-x, eb + sizeof eb);
        memcpy(o, es, (size_t)(eb + sizeof eb - es));
        o += eb + sizeof eb - es;
    } else if (x < 0) { /* 0.000ddd */
        memcpy(o, "0.", 2);
        o += 2;
        memset(o, '0', (size_t)(-x - 1));
        o += -x - 1;
        memcpy(o, s, (size_t)nd);
        o += nd;
    } else if (nd <= x + 1) { /* ddd000.0 */
        memcpy(o, s, (size_t)nd);
        o += nd;
        memset(o, '0', (size_t)(x + 1 - nd));
        o += x + 1 - nd;
        memcpy(o, ".0", 2);
        o += 2;
    } else { /* ddd.ddd */
        memcpy(o, s, (size_t)x + 1);
        o += x + 1;
        *o++ = '.';
        memcpy(o, s + x + 1, (size_t)(nd - x - 1));
        o += nd - x - 1;
    }
    return (int)(o - out);
}

/* jansson 2.14's jsonp_dtostr with precision 17: "%.17g", then ".0" if it
 * reads like an integer, then no '+' and no leading zeros in the exponent.
 * Integral values below 1e17 (printed as integers) and non-integers that
 * real_fast handles skip printf; the rest take the printf route. */
static int dump_real(outbuf *o, double v)
{
    if (!isfinite(v))
        return -1;
    char buf[48];
    double a = fabs(v);
    if (a < 1e17 && a == trunc(a)) {
        char *e = buf + sizeof buf - 2, *s = u64_digits((uint64_t)a, e);
        memcpy(e, ".0", 2);
        if (signbit(v))
            *--s = '-';
        return out_put(o, s, (size_t)(buf + sizeof buf - s));
    }
    buf[0] = '-';
    int fast = real_fast(a, buf + 1);
    if (fast > 0)
        return signbit(v) ? out_put(o, buf, (size_t)fast + 1) : out_put(o, buf + 1, (size_t)fast);

    locale_t loc = c_locale_get();
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    int n = snprintf(buf, sizeof buf - 3, "%.17g", v);
    if (loc)
        uselocale(old);
    if (n < 0 || (size_t)n >= sizeof buf - 3)
        return -1;
    size_t len = (size_t)n;
    char *e = memchr(buf, 'e', len);
    if (!e && !memchr(buf, '.', len)) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    if (e) {
        char *start = e + 1, *after = start + 1;
        if (*start == '-')
            start++;
        while (*after == '0')
            after++;
        if (after != start) {
            memmove(start, after, len + 1 - (size_t)(after - buf));
            len -= (size_t)(after - start);
        }
    }
    return out_put(o, buf, len);
}

static int dump_value(outbuf *o, const json_t *j, int depth);

static int dump_object(outbuf *o, const json_t *j, int depth)
{
    if (out_put(o, "{", 1))
        return -1;
    void *it = json_object_iter((json_t *)j);
    int first = 1;
    while (it) {
        if (!first && out_put(o, ",", 1))
            return -1;
        first = 0;
        if (dump_string(o, json_object_iter_key(it), json_object_iter_key_len(it)) ||
            out_put(o, ":", 1) || dump_value(o, json_object_iter_value(it), depth + 1))
            return -1;
        it = json_object_iter_next((json_t *)j, it);
    }
    return out_put(o, "}", 1);
}

static int dump_array(outbuf *o, const json_t *j, int depth)
{
    if (out_put(o, "[", 1))
        return -1;
    size_t n = json_array_size(j);
    for (size_t i = 0; i < n; i++) {
        if (i && out_put(o, ",", 1))
            return -1;
        if (dump_value(o, json_array_get(j, i), depth + 1))
            return -1;
    }
    return out_put(o, "]", 1);
}

static int dump_value(outbuf *o, const json_t *j, int depth)
{
    if (!j)
        return -1;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        if (depth >= JSONFAST_DUMP_MAX_DEPTH)
            return -1;
        return dump_object(o, j, depth);
    case JSON_ARRAY:
        if (depth >= JSONFAST_DUMP_MAX_DEPTH)
            return -1;
        return dump_array(o, j, depth);
    case JSON_STRING:
        return dump_string(o, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return dump_integer(o, json_integer_value(j));
    case JSON_REAL:
        return dump_real(o, json_real_value(j));
    case JSON_TRUE:
        return out_put(o, "true", 4);
    case JSON_FALSE:
        return out_put(o, "false", 5);
    case JSON_NULL:
        return out_put(o, "null", 4);
    }
    return -1;
}

int jsonfast_dump(const json_t *j, char **out, size_t *outlen)
{
    outbuf o = {NULL, 0, 0};
    if (dump_value(&o, j, 0) || out_put(&o, "", 1)) {
        free(o.data);
        *out = NULL;
        if (outlen)
            *outlen = 0;
        return -1;
    }
    *out = o.data;
    if (outlen)
        *outlen = o.len - 1;
    return 0;
}

/* test_jsonfast.c: tests for src/util/jsonfast.c, differential against the
 * installed jansson.  For every input, jsonfast_loadb must accept it
 * exactly when json_loadb(JSON_DECODE_ANY) does, build an equal tree, and
 * jsonfast_dump of that tree must be byte-identical to
 * json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) of jansson's tree (which also
 * checks that key order matches).  Inputs: a hand-written corpus with the
 * expected verdict, every payload under tests/data/decode (whole .json
 * files, SSE data: lines, NDJSON lines), seeded random documents with
 * random UTF-8 and escapes, byte mutants of those, random number texts and
 * random doubles.  Plus trees built by hand for the dumper, the depth
 * limits, error positions, the prefix loader and hostile sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <float.h>
#include <math.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/jsonfast.h"

#define DATA_DIR "../data/decode"

/* ---- the differential check ---------------------------------------------- */

static void print_input(const char *buf, size_t len)
{
    fprintf(stderr, "input (%zu bytes): ", len);
    for (size_t i = 0; i < len && i < 400; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c >= 0x20 && c < 0x7f)
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

/* Loads buf with both parsers and compares verdicts, trees and dumps.
 * Returns 1 if the input was accepted. */
static int check_doc(const char *buf, size_t len)
{
    json_error_t err;
    json_t *ref = json_loadb(buf, len, JSON_DECODE_ANY, &err);
    const char *errpos = (const char *)1;
    json_t *got = jsonfast_loadb(buf, len, 0, &errpos);
    if (!ref != !got) {
        print_input(buf, len);
        fail_msg("jansson %s (%s), jsonfast %s", ref ? "accepts" : "rejects", ref ? "" : err.text,
                 got ? "accepts" : "rejects");
    }
    if (!ref) {
        assert_true(errpos >= buf && errpos <= buf + len);
        return 0;
    }
    assert_null(errpos);
    if (!json_equal(ref, got)) {
        print_input(buf, len);
        fail_msg("trees differ");
    }
    char *want = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(want);
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(jsonfast_dump(got, &out, &out_len), 0);
    if (out_len != strlen(want) || memcmp(out, want, out_len) != 0 || out[out_len] != 0) {
        print_input(buf, len);
        fail_msg("dump differs:\n jansson:  %s\n jsonfast: %s", want, out);
    }
    free(out);
    free(want);
    json_decref(ref);
    json_decref(got);
    return 1;
}

/* ---- a: hand-written corpus ---------------------------------------------- */

typedef struct doc {
    const char *s;
    size_t n;
    int ok;
} doc;

#define OK(lit) {lit, sizeof(lit) - 1, 1}
#define BAD(lit) {lit, sizeof(lit) - 1, 0}

static const doc CORPUS[] = {
    /* structure and whitespace */
    OK("{}"), OK("[]"), OK(" \t\r\n{ } \t\r\n"), OK("[1, 2 ,3 ]"), OK("{\"a\":1,\"b\":[true,false,null]}"),
    OK("{\"a\" : { \"b\" :\n[ {} , [ ] ] } }"), OK("{\"a\":1,\"a\":2}"), OK("{\"a\":[1],\"b\":0,\"a\":{\"c\":2}}"),
    OK("{\"\":0}"), OK("[[[[[]]]]]"), OK("\"\""), OK("true"), OK("false"), OK("null"), OK(" null "),
    BAD(""), BAD(" "), BAD("\n\t"), BAD("["), BAD("]"), BAD("{"), BAD("[1,]"), BAD("{\"a\":1,}"), BAD("{,}"),
    BAD("[,1]"), BAD("[1 2]"), BAD("{\"a\" 1}"), BAD("{\"a\":}"), BAD("{1:2}"), BAD("{a:1}"), BAD("[1]]"),
    BAD("[[1]"), BAD("1 2"), BAD("{\"a\":1}x"), BAD("{} {}"), BAD("[\"a\":1]"), BAD("{\"a\",1}"),
    BAD("{\"a\":1 \"b\":2}"), BAD("[1,,2]"), BAD("{'a':1}"), BAD("'a'"), BAD("\x0c{}"), BAD("\v1"),
    BAD("\xc2\xa0{}"),
    /* comments, BOM, NaN and friends */
    BAD("// c\n1"), BAD("/* c */1"), BAD("1 // c"), BAD("[1/*x*/]"), BAD("#1"), BAD("\xef\xbb\xbf{}"),
    BAD("NaN"), BAD("Infinity"), BAD("-Infinity"), BAD("nan"), BAD("undefined"),
    /* literals */
    BAD("tru"), BAD("truex"), BAD("True"), BAD("nul"), BAD("nulll"), BAD("fals"), BAD("[true1]"),
    BAD("true false"),
    /* numbers */
    OK("0"), OK("-0"), OK("-0.0"), OK("0.0"), OK("1.5e10"), OK("1E+2"), OK("1e-2"), OK("2.5E-3"), OK("0e0"),
    OK("0.1"), OK("123.456"), OK("9223372036854775807"), OK("-9223372036854775808"), OK("1e-400"),
    OK("-1e-400"), OK("123456789012345678901234567890.0"), OK("1e308"), OK("1.7976931348623157e308"),
    OK("4.9e-324"), OK("2.2250738585072014e-308"), OK("0.30000000000000004"), OK("1e22"), OK("1e23"),
    OK("9007199254740993.0"), OK("0.00000000000000000000000000001"), OK("0e99999999999999999999"),
    OK("100000000000000000000000000000000000000e-20"), OK("[0,-0,1,-1]"),
    BAD("01"), BAD("-01"), BAD("00"), BAD("1."), BAD(".5"), BAD("-.5"), BAD("-"), BAD("+1"), BAD("1e"),
    BAD("1e+"), BAD("1e-"), BAD("1.e5"), BAD("1.0e"), BAD("1e5.0"), BAD("0x10"), BAD("[-]"), BAD("--1"),
    BAD("9223372036854775808"), BAD("-9223372036854775809"), BAD("99999999999999999999"),
    BAD("100000000000000000000"), BAD("1e400"), BAD("-1e400"), BAD("1E400"), BAD("1.8e308"), BAD("1,5"),
    BAD("[1e]"), BAD("- 1"),
    /* strings: escapes */
    OK("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), OK("\"\\u00e9\\u4E2D\\uD83D\\uDE00\""), OK("\"\\u0001\\u001f\\u007F\""),
    OK("\"\\uffff\\uFFFE\\u0800\\u07ff\""), OK("\"\\uDBFF\\uDFFF\""), OK("\"a/b\""), OK("\"\\u002F\""),
    BAD("\"\\x\""), BAD("\"\\a\""), BAD("\"\\u12G4\""), BAD("\"\\u12\""), BAD("\"\\u\""), BAD("\"\\"),
    BAD("\"\\U00e9\""), BAD("\"\\'\""), BAD("\"\\0\""),
    /* NUL */
    BAD("\"\\u0000\""), BAD("{\"\\u0000\":1}"), BAD("{\"a\\u0000\":1}"), BAD("\"a\0b\""), BAD("\0"),
    BAD("[\0]"), BAD("\"a\"\0"), BAD("[]\0"), BAD("1\0\0"), BAD("\0 1"), BAD("-\0"), BAD("1.\0"),
    /* jansson's lexer loses one NUL pushed back after a number or literal */
    OK("1\0"), OK("[1\0]"), OK("true\0"), OK("[null\0,false\0]"), OK("1.5\0 "), OK("-2e3\0"),
    OK("{\"a\":7\0}"),
    /* strings: surrogates */
    BAD("\"\\uD800\""), BAD("\"\\uDC00\""), BAD("\"\\uD800\\u0041\""), BAD("\"\\uD800\\n\""),
    BAD("\"\\uDBFF\\uDBFF\""), BAD("\"\\uDC00\\uD800\""), BAD("\"\\uD800x\""), BAD("\"\\uD800\\u\""),
    BAD("\"\\uD800\\uDC0"),
    /* strings: raw UTF-8 and control characters */
    OK("\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\""), OK("\"\x7f\""), OK("\"\xc2\x80\xdf\xbf\""),
    OK("\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\""), OK("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""),
    BAD("\"\xc0\xaf\""), BAD("\"\xc1\xbf\""), BAD("\"\xe0\x80\xaf\""), BAD("\"\xe0\x9f\xbf\""),
    BAD("\"\xf0\x80\x80\xaf\""), BAD("\"\xf0\x8f\xbf\xbf\""), BAD("\"\xed\xa0\x80\""), BAD("\"\xed\xbf\xbf\""),
    BAD("\"\xf4\x90\x80\x80\""), BAD("\"\xf5\x80\x80\x80\""), BAD("\"\xff\""), BAD("\"\xfe\""), BAD("\"\x80\""),
    BAD("\"\xbf\""), BAD("\"\xe4\xb8\""), BAD("\"\xe4\xb8"), BAD("\"\xc3\""), BAD("\"\xc3"), BAD("\"\xc3x\""),
    BAD("\"\xf0\x9f\x98\""), BAD("\"abc"), BAD("\"\t\""), BAD("\"a\nb\""), BAD("\"\x1f\""), BAD("\"\r\""),
    BAD("\xc3\xa9"), BAD("[\xff]"), BAD("{\"\xff\":1}"),
};

static void test_corpus(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CORPUS / sizeof CORPUS[0]; i++) {
        const doc *d = &CORPUS[i];
        int ok = check_doc(d->s, d->n);
        if (ok != d->ok) {
            print_input(d->s, d->n);
            fail_msg("corpus entry %zu: expected %s", i, d->ok ? "accept" : "reject");
        }
    }
}

/* Nesting: jansson counts every value, so the innermost scalar is one level
 * below its array; 2048 levels load, 2049 do not. */
static void check_nesting(size_t arrays, const char *inner, int ok)
{
    size_t il = strlen(inner), n = 2 * arrays + il;
    char *b = malloc(n);
    assert_non_null(b);
    memset(b, '[', arrays);
    memcpy(b + arrays, inner, il);
    memset(b + arrays + il, ']', arrays);
    assert_int_equal(check_doc(b, n), ok);
    free(b);
}

static void test_nesting(void **state)
{
    (void)state;
    check_nesting(2048, "", 1);
    check_nesting(2049, "", 0);
    check_nesting(2047, "1", 1);
    check_nesting(2048, "1", 0);
    check_nesting(2047, "{}", 1);
    check_nesting(2047, "{\"a\":1}", 0);
    check_nesting(2046, "{\"a\":1}", 1);
    check_nesting(3000, "", 0);

    /* deep objects too */
    size_t depth = 2048;
    char *b = malloc(depth * 6 + 2);
    assert_non_null(b);
    size_t n = 0;
    for (size_t i = 0; i < depth - 1; i++) {
        memcpy(b + n, "{\"k\":", 5);
        n += 5;
    }
    memcpy(b + n, "{}", 2);
    n += 2;
    memset(b + n, '}', depth - 1);
    n += depth - 1;
    assert_int_equal(check_doc(b, n), 1);
    free(b);

    /* a caller's own limit */
    const char *e;
    json_t *j = jsonfast_loadb("[[1]]", 5, 3, &e);
    assert_non_null(j);
    json_decref(j);
    const char *deep3 = "[[[1]]]";
    assert_null(jsonfast_loadb(deep3, 7, 3, &e));
    assert_ptr_equal(e, deep3 + 3); /* the value one level too deep */
    j = jsonfast_loadb("[[[]]]", 6, 3, &e);
    assert_non_null(j);
    json_decref(j);

    /* 4 MB of '[': an error, not a stack overflow, whatever the limit
     * (without one, memory grows with the input as in jansson) */
    size_t big = 4u << 20;
    b = malloc(big);
    assert_non_null(b);
    memset(b, '[', big);
    assert_null(jsonfast_loadb(b, 200000, SIZE_MAX, &e));
    assert_ptr_equal(e, b + 200000);
    assert_null(jsonfast_loadb(b, big, 0, &e));
    assert_ptr_equal(e, b + 2048);
    free(b);
}

/* ---- fixtures ------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

typedef struct fixture_stats {
    int files, documents;
} fixture_stats;

/* Every line of an SSE or NDJSON file that carries JSON must round-trip. */
static void check_lines(const char *buf, size_t len, int sse, fixture_stats *st)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p;
        size_t n = (size_t)(le - p);
        if (n && s[n - 1] == '\r')
            n--;
        int carries = 0;
        if (sse && n >= 5 && memcmp(s, "data:", 5) == 0) {
            s += 5;
            n -= 5;
            if (n && *s == ' ') {
                s++;
                n--;
            }
            carries = n && (*s == '{' || *s == '[') && !(n == 6 && memcmp(s, "[DONE]", 6) == 0);
        } else if (!sse) {
            carries = n > 0;
        }
        if (n)
            check_doc(s, n); /* "[DONE]" and friends: both must reject */
        if (carries) {
            if (!check_doc(s, n)) {
                print_input(s, n);
                fail_msg("fixture line rejected");
            }
            st->documents++;
        }
        p = le + 1;
    }
}

static void walk_fixtures(const char *dir, fixture_stats *st)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR) {
            walk_fixtures(path, st);
            continue;
        }
        size_t len;
        if (ends_with(path, ".json")) {
            char *buf = read_file(path, &len);
            if (!check_doc(buf, len))
                fail_msg("%s rejected", path);
            st->documents++;
            st->files++;
            free(buf);
        } else if (ends_with(path, ".sse") || ends_with(path, ".ndjson")) {
            char *buf = read_file(path, &len);
            check_lines(buf, len, ends_with(path, ".sse"), st);
            st->files++;
            free(buf);
        }
    }
    closedir(d);
}

static void test_fixtures(void **state)
{
    (void)state;
    fixture_stats st = {0, 0};
    walk_fixtures(DATA_DIR, &st);
    print_message("%d fixture files, %d JSON documents\n", st.files, st.documents);
    assert_true(st.files >= 40);
    assert_true(st.documents >= 100);
}

/* ---- b: random documents and mutants ------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static unsigned rndn(rng *r, unsigned n)
{
    return (unsigned)(rnd(r) % n);
}

typedef struct text {
    char *d;
    size_t n, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->n + n > t->cap) {
        t->cap = (t->n + n) * 2 + 64;
        t->d = realloc(t->d, t->cap);
        assert_non_null(t->d);
    }
    memcpy(t->d + t->n, s, n);
    t->n += n;
}

static void puts_(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void gen_ws(rng *r, text *t)
{
    static const char *ws[] = {" ", "\n", "\t", "\r\n", "  "};
    if (rndn(r, 4) == 0)
        puts_(t, ws[rndn(r, 5)]);
}

static void put_utf8(text *t, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    put(t, b, n);
}

static uint32_t rand_codepoint(rng *r)
{
    uint32_t cp;
    switch (rndn(r, 4)) {
    case 0: cp = 1 + rndn(r, 0x7f); break;
    case 1: cp = 0x80 + rndn(r, 0x780); break;
    case 2: cp = 0x800 + rndn(r, 0xf800); break;
    default: cp = 0x10000 + rndn(r, 0x100000); break;
    }
    if (cp >= 0xd800 && cp <= 0xdfff)
        cp = 0xe000;
    return cp;
}

static void gen_string(rng *r, text *t, int short_key)
{
    static const char *esc[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
    puts_(t, "\"");
    unsigned len = short_key ? rndn(r, 6) : (rndn(r, 8) == 0 ? rndn(r, 300) : rndn(r, 24));
    char hex[16];
    for (unsigned i = 0; i < len; i++) {
        unsigned k = rndn(r, 20);
        if (k < 10) {
            char c = (char)('a' + rndn(r, 26));
            put(t, &c, 1);
        } else if (k < 12) {
            puts_(t, esc[rndn(r, 8)]);
        } else if (k < 14) {
            uint32_t cp = rand_codepoint(r);
            if (cp < 0x10000) {
                snprintf(hex, sizeof hex, rndn(r, 2) ? "\\u%04x" : "\\u%04X", cp);
                puts_(t, hex);
            } else {
                cp -= 0x10000;
                snprintf(hex, sizeof hex, "\\u%04X", 0xd800 + (cp >> 10));
                puts_(t, hex);
                snprintf(hex, sizeof hex, "\\u%04x", 0xdc00 + (cp & 0x3ff));
                puts_(t, hex);
            }
        } else if (k < 15) {
            snprintf(hex, sizeof hex, "\\u%04X", 1 + rndn(r, 0x1f));
            puts_(t, hex);
        } else {
            uint32_t cp = rand_codepoint(r);
            if (cp < 0x20 || cp == '"' || cp == '\\')
                cp = 'x';
            put_utf8(t, cp);
        }
    }
    puts_(t, "\"");
}

static void gen_digits(rng *r, text *t, unsigned n, int lead_nonzero)
{
    for (unsigned i = 0; i < n; i++) {
        char c = (char)('0' + (i == 0 && lead_nonzero ? 1 + rndn(r, 9) : rndn(r, 10)));
        put(t, &c, 1);
    }
}

static void gen_number(rng *r, text *t)
{
    static const char *edge[] = {"9223372036854775807", "-9223372036854775808", "0", "-0", "1e308",
                                 "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308",
                                 "0.1", "1e22", "1e23", "9007199254740993.0", "-0.0", "5e-324"};
    if (rndn(r, 10) == 0) {
        puts_(t, edge[rndn(r, sizeof edge / sizeof edge[0])]);
        return;
    }
    if (rndn(r, 3) == 0)
        puts_(t, "-");
    if (rndn(r, 5) == 0)
        puts_(t, "0");
    else
        gen_digits(r, t, 1 + rndn(r, rndn(r, 4) ? 6 : 19), 1);
    unsigned kind = rndn(r, 3);
    if (kind >= 1) {
        puts_(t, ".");
        gen_digits(r, t, 1 + rndn(r, rndn(r, 3) ? 6 : 25), 0);
    }
    if (kind == 2 || rndn(r, 8) == 0) {
        puts_(t, rndn(r, 2) ? "e" : "E");
        unsigned s = rndn(r, 3);
        if (s)
            puts_(t, s == 1 ? "+" : "-");
        gen_digits(r, t, 1 + rndn(r, 3), 0);
    }
}

static void gen_value(rng *r, text *t, int depth)
{
    unsigned k = rndn(r, depth > 5 ? 6 : 9);
    gen_ws(r, t);
    switch (k) {
    case 0: case 1: gen_string(r, t, 0); break;
    case 2: case 3: gen_number(r, t); break;
    case 4: puts_(t, "true"); break;
    case 5: puts_(t, rndn(r, 2) ? "false" : "null"); break;
    case 6: case 7: {
        puts_(t, "{");
        unsigned n = rndn(r, 6);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                puts_(t, ",");
            gen_ws(r, t);
            gen_string(r, t, 1); /* short keys: duplicates happen */
            gen_ws(r, t);
            puts_(t, ":");
            gen_value(r, t, depth + 1);
        }
        gen_ws(r, t);
        puts_(t, "}");
        break;
    }
    default: {
        puts_(t, "[");
        unsigned n = rndn(r, 6);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                puts_(t, ",");
            gen_value(r, t, depth + 1);
        }
        gen_ws(r, t);
        puts_(t, "]");
        break;
    }
    }
    gen_ws(r, t);
}

/* Longer campaigns: build with e.g. -DN_MUTANTS=5000000 -DFUZZ_SEED=7. */
#ifndef N_RANDOM
#define N_RANDOM 20000
#endif
#ifndef N_MUTANTS
#define N_MUTANTS 200000
#endif
#ifndef FUZZ_SEED
#define FUZZ_SEED 0
#endif
#define POOL 512

static void test_random_documents(void **state)
{
    (void)state;
    rng r = {0x9e3779b97f4a7c15ULL + FUZZ_SEED};
    text t = {NULL, 0, 0};
    int accepted = 0;
    for (int i = 0; i < N_RANDOM; i++) {
        t.n = 0;
        gen_value(&r, &t, 0);
        accepted += check_doc(t.d, t.n);
    }
    free(t.d);
    print_message("%d of %d random documents accepted\n", accepted, N_RANDOM);
    /* Most are valid (huge integers and reals overflow on purpose). */
    assert_true(accepted > N_RANDOM * 8 / 10);
    assert_true(accepted < N_RANDOM);
}

static void mutate(rng *r, text *t)
{
    static const char interesting[] = {0,   '"', '\\', '{', '}', '[', ']', ',', ':', '0', '1', '9',
                                       'e', 'E', '-', '+', '.', 'u', 'n', 't', ' ', '\n', 'D', 'd'};
    static const unsigned char high[] = {0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef,
                                         0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x90, 0x8f};
    unsigned rounds = 1 + rndn(r, 3);
    for (unsigned k = 0; k < rounds; k++) {
        size_t pos = t->n ? rndn(r, (unsigned)t->n) : 0;
        unsigned char c;
        switch (rndn(r, 3)) {
        case 0: c = (unsigned char)rnd(r); break;
        case 1: c = (unsigned char)interesting[rndn(r, sizeof interesting)]; break;
        default: c = high[rndn(r, sizeof high)]; break;
        }
        switch (rndn(r, 6)) {
        case 0:
        case 1: /* replace */
            if (t->n)
                t->d[pos] = (char)c;
            break;
        case 2: /* insert */
            put(t, "", 1);
            memmove(t->d + pos + 1, t->d + pos, t->n - 1 - pos);
            t->d[pos] = (char)c;
            break;
        case 3: /* delete */
            if (t->n) {
                memmove(t->d + pos, t->d + pos + 1, t->n - pos - 1);
                t->n--;
            }
            break;
        case 4: /* truncate */
            t->n = pos;
            break;
        default: { /* duplicate a span */
            size_t span = rndn(r, 12);
            if (pos + span > t->n)
                span = t->n - pos;
            char tmp[12];
            memcpy(tmp, t->d + pos, span);
            put(t, tmp, span);
            break;
        }
        }
    }
}

static void test_mutants(void **state)
{
    (void)state;
    rng r = {0x243f6a8885a308d3ULL + FUZZ_SEED};
    text pool[POOL];
    for (int i = 0; i < POOL; i++) {
        pool[i] = (text){NULL, 0, 0};
        do {
            pool[i].n = 0;
            gen_value(&r, &pool[i], 2); /* depth 2: smaller documents */
        } while (pool[i].n > 400);
    }
    /* a few corpus entries too: the NUL quirk, surrogates, deep values */
    text t = {NULL, 0, 0};
    int accepted = 0;
    for (int i = 0; i < N_MUTANTS; i++) {
        t.n = 0;
        if (i % 8 == 0) {
            const doc *d = &CORPUS[rndn(&r, sizeof CORPUS / sizeof CORPUS[0])];
            put(&t, d->s, d->n);
        } else {
            const text *src = &pool[rndn(&r, POOL)];
            put(&t, src->d, src->n);
        }
        mutate(&r, &t);
        accepted += check_doc(t.d, t.n);
    }
    for (int i = 0; i < POOL; i++)
        free(pool[i].d);
    free(t.d);
    print_message("%d of %d mutants accepted\n", accepted, N_MUTANTS);
    /* the mutants must exercise both verdicts */
    assert_true(accepted > N_MUTANTS / 20);
    assert_true(accepted < N_MUTANTS * 9 / 10);
}

/* Number texts alone, many digits and exponents: the real fast path and
 * its strtod fallback must give the very same double (checked bitwise). */
static void test_random_numbers(void **state)
{
    (void)state;
    rng r = {0x13198a2e03707344ULL + FUZZ_SEED};
    text t = {NULL, 0, 0};
    for (int i = 0; i < 100000; i++) {
        t.n = 0;
        gen_number(&r, &t);
        json_t *ref = json_loadb(t.d, t.n, JSON_DECODE_ANY, NULL);
        json_t *got = jsonfast_loadb(t.d, t.n, 0, NULL);
        assert_int_equal(!ref, !got);
        if (!ref)
            continue;
        assert_int_equal(json_typeof(ref), json_typeof(got));
        if (json_is_real(ref)) {
            double a = json_real_value(ref), b = json_real_value(got);
            if (memcmp(&a, &b, sizeof a) != 0) {
                print_input(t.d, t.n);
                fail_msg("%.17g != %.17g", a, b);
            }
        } else {
            assert_true(json_integer_value(ref) == json_integer_value(got));
        }
        json_decref(ref);
        json_decref(got);
    }
    free(t.d);
}

/* ---- the dumper on trees built by hand ------------------------------------ */

static void check_dump_same(const json_t *j)
{
    char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out = NULL;
    size_t n = 0;
    int rc = jsonfast_dump(j, &out, &n);
    if (!want) {
        assert_int_equal(rc, -1);
        assert_null(out);
        return;
    }
    assert_int_equal(rc, 0);
    if (strcmp(want, out) != 0 || n != strlen(want))
        fail_msg("dump differs:\n jansson:  %s\n jsonfast: %s", want, out);
    free(want);
    free(out);
}

static void check_real_dump(double v)
{
    json_t *j = json_real(v);
    assert_non_null(j);
    check_dump_same(j);
    json_decref(j);
}

static void test_dump_reals(void **state)
{
    (void)state;
    static const double fixed[] = {0.0, -0.0, 0.1, 1.0, -1.0, 1e16, 1e17, 1e20, 1e21, 1e22, 123.0, 1.5,
                                   1e-4, 1e-5, 1.25e-7, 1e100, 1e-100, 1e300, -1e-300, DBL_MAX,
                                   DBL_MIN, 5e-324, 9007199254740993.0, 12345678901234567890.0,
                                   0.30000000000000004, 100.0, 1e15, 123456789.0, 1234567890123456.25,
                                   1234567890123456.75, 1999999999999999.75, 2.5e-5, 1e-6, 9.999999999999999e-7,
                                   1e-5, 0.0001, 0.001, 99999999999999990.0, 9.9999999999999e16, 1e17 - 8,
                                   0.1 + 0.2, 1.0 / 3, 2.0 / 3, 4503599627370495.5, 9007199254740991.0};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_real_dump(fixed[i]);
    rng r = {0xa4093822299f31d0ULL + FUZZ_SEED};
    for (int i = 0; i < 50000; i++) {
        uint64_t bits = rnd(&r);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        switch (i % 4) { /* random bits reach every exponent; then the common ranges */
        case 1: /* human-sized */
            v = (double)(int64_t)(rnd(&r) % 2000001 - 1000000) / (double)(1 + rndn(&r, 10000));
            break;
        case 2: /* log-uniform over 1e-8 .. 1e18, around the exact digit path's edges */
            v = pow(10.0, -8.0 + 26.0 * (double)(rnd(&r) >> 11) / 9007199254740992.0);
            break;
        case 3: /* few fraction bits: exact decimal ties at the 18th digit */
            v = ldexp((double)(rnd(&r) >> (11 + rndn(&r, 40))), -(int)rndn(&r, 60));
            break;
        }
        check_real_dump(v);
        /* and back: the text must load to the same bits */
        char *out;
        size_t n;
        json_t *j = json_real(v);
        assert_int_equal(jsonfast_dump(j, &out, &n), 0);
        json_t *back = jsonfast_loadb(out, n, 0, NULL);
        assert_non_null(back);
        double b = json_real_value(back);
        assert_memory_equal(&b, &v, sizeof v);
        json_decref(back);
        json_decref(j);
        free(out);
    }
}

static void test_dump_trees(void **state)
{
    (void)state;
    /* scalars and integers at the edges */
    json_t *a = json_array();
    json_array_append_new(a, json_integer(INT64_MIN));
    json_array_append_new(a, json_integer(INT64_MAX));
    json_array_append_new(a, json_integer(0));
    json_array_append_new(a, json_integer(-7));
    json_array_append_new(a, json_true());
    json_array_append_new(a, json_false());
    json_array_append_new(a, json_null());
    json_array_append_new(a, json_object());
    json_array_append_new(a, json_array());
    check_dump_same(a);

    /* every control character, DEL, '/', quotes, NUL inside a string */
    char all[160];
    size_t n = 0;
    for (int c = 1; c < 0x80; c++)
        all[n++] = (char)c;
    all[n++] = 0;
    memcpy(all + n, "\xc3\xa9\xf0\x9f\x98\x80", 6);
    n += 6;
    json_t *s = json_stringn(all, n);
    assert_non_null(s);
    check_dump_same(s);
    json_array_append_new(a, s);

    /* keys need escaping too, and keep insertion order */
    json_t *o = json_object();
    json_object_set_new(o, "z\"q\n", json_integer(1));
    json_object_set_new(o, "a", json_integer(2));
    json_object_setn_new(o, "k\0ey", 4, json_integer(3));
    json_object_set_new(o, "m", json_string("x"));
    json_object_set_new(o, "a", json_integer(4)); /* replaced in place */
    check_dump_same(o);
    json_array_append_new(a, o);
    check_dump_same(a);

    /* long strings: the 8-byte path, escapes at every offset */
    for (size_t len = 0; len < 70; len++) {
        for (size_t at = 0; at <= len; at++) {
            char buf[80];
            memset(buf, 'x', len);
            if (at < len)
                buf[at] = (at & 1) ? '"' : '\n';
            json_t *j = json_stringn(buf, len);
            check_dump_same(j);
            json_decref(j);
        }
    }

    /* invalid UTF-8 stored without checks: both refuse */
    json_t *bad = json_stringn_nocheck("ab\xff", 3);
    check_dump_same(bad);
    json_array_append_new(a, bad);
    char *out = (char *)1;
    assert_int_equal(jsonfast_dump(a, &out, NULL), -1);
    assert_null(out);
    /* an invalid key: jansson writes a broken document, we refuse */
    json_t *bk = json_object();
    json_object_set_new_nocheck(bk, "\xc3", json_null());
    assert_int_equal(jsonfast_dump(bk, &out, NULL), -1);
    json_decref(bk);
    json_decref(a);

    /* NULL and cycles */
    assert_int_equal(jsonfast_dump(NULL, &out, NULL), -1);
    json_t *cyc = json_array(), *inner = json_object();
    json_array_append(cyc, inner);
    json_object_set(inner, "loop", cyc);
    assert_null(json_dumps(cyc, JSON_COMPACT));
    assert_int_equal(jsonfast_dump(cyc, &out, NULL), -1);
    json_object_clear(inner);
    json_decref(inner);
    json_decref(cyc);

    /* depth: JSONFAST_DUMP_MAX_DEPTH containers dump like jansson, one more is refused */
    json_t *root = json_array(), *cur = root;
    for (int i = 1; i < JSONFAST_DUMP_MAX_DEPTH; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    check_dump_same(root);
    json_array_append_new(cur, json_array());
    assert_int_equal(jsonfast_dump(root, &out, NULL), -1);
    json_decref(root);
}

/* ---- the API around the parser ------------------------------------------- */

static void test_errpos_and_prefix(void **state)
{
    (void)state;
    const char *e = NULL;
    const char *b1 = "{\"a\":[1,2,x]}";
    assert_null(jsonfast_loadb(b1, strlen(b1), 0, &e));
    assert_ptr_equal(e, b1 + 10);
    const char *b2 = "{\"a\":\"\\uD800\"}";
    assert_null(jsonfast_loadb(b2, strlen(b2), 0, &e));
    assert_ptr_equal(e, b2 + 6);
    const char *b3 = "[1] x";
    assert_null(jsonfast_loadb(b3, strlen(b3), 0, &e));
    assert_ptr_equal(e, b3 + 4);
    assert_null(jsonfast_loadb(NULL, 0, 0, &e));
    /* only [0, len) is read: the byte after is a digit that would change the value */
    json_t *j = jsonfast_loadb("123", 2, 0, &e);
    assert_non_null(j);
    assert_int_equal(json_integer_value(j), 12);
    json_decref(j);
    j = jsonfast_loadb("\"ab\"", 3, 0, &e);
    assert_null(j);

    /* prefix: consecutive values, as in a streamed JSON array */
    const char *s = "{\"a\":1} \n[2,\"x\"]  7tail";
    size_t used, pos = 0;
    j = jsonfast_loadb_prefix(s + pos, strlen(s) - pos, 0, &used, &e);
    assert_non_null(j);
    assert_int_equal(used, 9);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
    json_decref(j);
    pos += used;
    j = jsonfast_loadb_prefix(s + pos, strlen(s) - pos, 0, &used, &e);
    assert_non_null(j);
    assert_int_equal(used, 9);
    assert_true(json_is_array(j));
    json_decref(j);
    pos += used;
    /* "7tail": 7 is a whole number; what follows is left to the caller */
    j = jsonfast_loadb_prefix(s + pos, strlen(s) - pos, 0, &used, &e);
    assert_non_null(j);
    assert_int_equal(used, 1);
    json_decref(j);
    assert_null(jsonfast_loadb_prefix("[1", 2, 0, &used, &e));
    assert_int_equal(used, 0);
}

static void test_hostile_sizes(void **state)
{
    (void)state;
    /* 200k digits: an integer overflow, and a real through strtod */
    size_t n = 200000;
    char *b = malloc(n + 3);
    assert_non_null(b);
    memset(b, '7', n);
    assert_int_equal(check_doc(b, n), 0);
    memcpy(b, "0.", 2);
    assert_int_equal(check_doc(b, n), 1);
    memcpy(b + n, "e5", 2);
    assert_int_equal(check_doc(b, n + 2), 1);
    free(b);

    /* a 1 MB string with escapes everywhere, and random garbage */
    n = 1 << 20;
    b = malloc(n);
    assert_non_null(b);
    b[0] = '"';
    for (size_t i = 1; i + 1 < n; i += 2)
        memcpy(b + i, (i / 2) % 3 ? "\\n" : "\\u", 2);
    b[n - 1] = '"';
    assert_int_equal(check_doc(b, n), 0); /* \u without digits */
    for (size_t i = 1; i + 1 < n; i += 2)
        memcpy(b + i, (i / 2) % 3 ? "\\n" : "\xc3\xa9", 2);
    assert_int_equal(check_doc(b, n), 1);
    rng r = {77};
    for (int k = 0; k < 20; k++) {
        for (size_t i = 0; i < 4096; i++)
            b[i] = (char)rnd(&r);
        check_doc(b, 4096);
    }
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),          cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_fixtures),        cmocka_unit_test(test_random_documents),
        cmocka_unit_test(test_mutants),         cmocka_unit_test(test_random_numbers),
        cmocka_unit_test(test_dump_reals),      cmocka_unit_test(test_dump_trees),
        cmocka_unit_test(test_errpos_and_prefix), cmocka_unit_test(test_hostile_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

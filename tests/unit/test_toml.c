/* test_toml.c: tests for src/config/toml.c.
 *
 * Two kinds of test.  The API tests parse small documents and check the
 * tree (types, values, lookups, document order, line and column of values
 * and errors, limits).  The differential test runs tests/toml_diff.py, which
 * writes thousands of documents (hand-written per feature and error, random,
 * mutated) judged by python3's tomllib, and requires this parser to give the
 * same verdict on every one and the same value on every valid one; the only
 * accepted differences are those the corpus marks as deliberate (integers
 * beyond 64 bits, nesting or size over the caps).  It prints the agreement
 * rate.  OISP_TOML_DIFF_COUNT and OISP_TOML_DIFF_SEED change the number of
 * random documents and the seed; without python3 and tomllib the
 * differential test is skipped, saying so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/toml.h"

/* ---- helpers ---- */

static toml_doc *parse_ok(const char *text)
{
    toml_error err;
    toml_doc *d = toml_parse(text, strlen(text), &err);
    if (!d)
        fail_msg("unexpected error %d:%d: %s\n--- document ---\n%s", err.line, err.column,
                 err.msg, text);
    return d;
}

/* Parse text expecting an error at line:col whose message contains `what`. */
static void parse_err(const char *text, int line, int col, const char *what)
{
    toml_error err;
    toml_doc *d = toml_parse(text, strlen(text), &err);
    if (d) {
        toml_doc_free(d);
        fail_msg("accepted invalid document:\n%s", text);
    }
    if (err.line != line || err.column != col || !strstr(err.msg, what))
        fail_msg("document:\n%s\nexpected %d:%d '%s', got %d:%d '%s'", text, line, col, what,
                 err.line, err.column, err.msg);
}

static const toml_value *path(const toml_doc *d, const char *a, const char *b)
{
    const toml_value *v = toml_table_get(toml_doc_root(d), a);
    return b ? toml_table_get(v, b) : v;
}

/* ---- API tests ---- */

static void test_scalar_values(void **state)
{
    (void)state;
    toml_doc *d = parse_ok("s = \"a\\tb\\u00e9\\U0001F600\"\n"
                           "lit = 'C:\\x'\n"
                           "i = -9223372036854775808\n"
                           "h = 0xff_ff\n"
                           "f = 6.25e-1\n"
                           "n = -nan\n"
                           "b = true\n"
                           "dt = 1979-05-27T07:32:00.123456789-08:30\n"
                           "ld = 2000-02-29\n"
                           "lt = 23:59:59\n"
                           "z = \"\\u0000x\"\n");
    size_t len;
    const char *s = toml_string(path(d, "s", NULL), &len);
    assert_int_equal(len, 1 + 1 + 1 + 2 + 4);
    assert_memory_equal(s, "a\tb\xc3\xa9\xf0\x9f\x98\x80", len);
    assert_string_equal(toml_string(path(d, "lit", NULL), NULL), "C:\\x");
    assert_true(toml_integer(path(d, "i", NULL)) == INT64_MIN);
    assert_int_equal(toml_integer(path(d, "h", NULL)), 0xffff);
    assert_true(toml_float(path(d, "f", NULL)) == 0.625);
    assert_true(isnan(toml_float(path(d, "n", NULL))));
    assert_true(toml_boolean(path(d, "b", NULL)));
    const toml_value *dt = path(d, "dt", NULL);
    assert_int_equal(toml_type_of(dt), TOML_DATETIME);
    char buf[64];
    toml_datetime_format(toml_type_of(dt), toml_datetime_of(dt), buf, sizeof(buf));
    assert_string_equal(buf, "1979-05-27T07:32:00.123456-08:30");
    const toml_value *ld = path(d, "ld", NULL), *lt = path(d, "lt", NULL);
    toml_datetime_format(toml_type_of(ld), toml_datetime_of(ld), buf, sizeof(buf));
    assert_string_equal(buf, "2000-02-29");
    toml_datetime_format(toml_type_of(lt), toml_datetime_of(lt), buf, sizeof(buf));
    assert_string_equal(buf, "23:59:59.000000");
    s = toml_string(path(d, "z", NULL), &len);
    assert_int_equal(len, 2);
    assert_memory_equal(s, "\0x", 2);
    /* Wrong-type accessors return zero values. */
    assert_null(toml_string(path(d, "i", NULL), NULL));
    assert_int_equal(toml_integer(path(d, "s", NULL)), 0);
    assert_null(toml_datetime_of(path(d, "b", NULL)));
    assert_string_equal(toml_type_name(toml_type_of(lt)), "local time");
    toml_doc_free(d);
}

static void test_tables_order_and_positions(void **state)
{
    (void)state;
    const char *text = "title = 'x'\n"               /* line 1 */
                       "\n"
                       "[server]\n"                  /* line 3 */
                       "  host = \"é\"   # c\n"      /* line 4 */
                       "  ports = [ 80,\n"           /* line 5 */
                       "    443 ]\n"                 /* line 6 */
                       "[[hook]]\n"                  /* line 7 */
                       "url = 'a'\n"
                       "[[hook]]\n"                  /* line 9 */
                       "url = 'b'\n"
                       "x.y.z = 1\n";                /* line 11 */
    toml_doc *d = parse_ok(text);
    const toml_value *root = toml_doc_root(d);
    assert_int_equal(toml_count(root), 3);
    const char *k;
    size_t kl;
    toml_table_at(root, 0, &k, &kl);
    assert_string_equal(k, "title");
    toml_table_at(root, 2, &k, &kl);
    assert_string_equal(k, "hook");
    const toml_value *server = toml_table_get(root, "server");
    assert_int_equal(toml_line(server), 3);
    assert_int_equal(toml_column(server), 1);
    const toml_value *ports = toml_table_get(server, "ports");
    assert_int_equal(toml_line(ports), 5);
    assert_int_equal(toml_column(ports), 11);
    assert_int_equal(toml_count(ports), 2);
    assert_int_equal(toml_line(toml_array_at(ports, 1)), 6);
    assert_int_equal(toml_column(toml_array_at(ports, 1)), 5);
    assert_true(toml_is_inline(ports));
    /* Columns count code points: "é" is one. */
    const toml_value *host = toml_table_get(server, "host");
    assert_int_equal(toml_column(host), 10);
    const toml_value *hooks = toml_table_get(root, "hook");
    assert_false(toml_is_inline(hooks));
    assert_int_equal(toml_count(hooks), 2);
    assert_int_equal(toml_line(toml_array_at(hooks, 1)), 9);
    assert_string_equal(toml_string(toml_table_get(toml_array_at(hooks, 1), "url"), NULL), "b");
    /* Tables made by dotted keys sit where they were first named. */
    const toml_value *x = toml_table_get(toml_array_at(hooks, 1), "x");
    assert_int_equal(toml_line(x), 11);
    assert_int_equal(toml_integer(toml_table_get(toml_table_get(x, "y"), "z")), 1);
    assert_null(toml_table_get(root, "nope"));
    assert_null(toml_array_at(ports, 2));
    toml_doc_free(d);
}

static void test_implicit_table_takes_header_position(void **state)
{
    (void)state;
    toml_doc *d = parse_ok("[a.b]\nx = 1\n\n[a]\ny = 2\n");
    assert_int_equal(toml_line(path(d, "a", NULL)), 4);
    assert_int_equal(toml_line(path(d, "a", "b")), 1);
    toml_doc_free(d);
}

static void test_big_table_lookup(void **state)
{
    (void)state;
    /* Enough keys to use the hash index; every one must still be found,
     * and a duplicate among them must be caught. */
    size_t cap = 400000, n = 0;
    char *text = malloc(cap);
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(text + n, cap - n, "key%d = %d\n", i, i);
    toml_doc *d = parse_ok(text);
    char key[32];
    for (int i = 0; i < 20000; i += 7) {
        snprintf(key, sizeof(key), "key%d", i);
        assert_int_equal(toml_integer(toml_table_get(toml_doc_root(d), key)), i);
    }
    toml_doc_free(d);
    snprintf(text + n, cap - n, "key12345 = 0\n");
    parse_err(text, 20001, 1, "duplicate key 'key12345' (first defined on line 12346)");
    free(text);
}

static void test_error_positions(void **state)
{
    (void)state;
    parse_err("a = 1\nb = 01\n", 2, 6, "expected the end of the line, found '1'");
    parse_err("a = 1\na = 2\n", 2, 1, "duplicate key 'a' (first defined on line 1)");
    parse_err("[t]\n[t]\n", 2, 1, "table [t] is defined twice (first on line 1)");
    parse_err("x = \"abc\n", 1, 9, "newline in a single-line string");
    parse_err("x = \"\\q\"", 1, 6, "unknown escape \\'q'");
    parse_err("x = \"\\uD800\"", 1, 6, "not a Unicode scalar value");
    parse_err("\n\n  é = 1", 3, 3, "expected a key, a [table] or a comment, found U+00E9");
    parse_err("a.é = 1", 1, 3, "a key cannot start with U+00E9");
    parse_err("x = [1,\n 2,,]", 2, 4, "invalid value");
    parse_err("x = {a = 1,}", 1, 12, "trailing comma");
    parse_err("x = {a = 1\n}", 1, 11, "closed with '}' on the same line");
    parse_err("x = 9223372036854775808", 1, 5, "does not fit in 64 bits");
    parse_err("x = 2001-02-29", 1, 5, "not a valid date");
    parse_err("x = 1\n# \x01", 2, 3, "control character U+0001 is not allowed in a comment");
    parse_err("a = {}\n[a]", 2, 2, "cannot define table 'a': already an inline table (line 1)");
    parse_err("a.b = 1\n[a]", 2, 2, "already a table defined by dotted keys (line 1)");
    parse_err("[a]\nb = 1\n[a.b]", 3, 4, "already integer (line 2)");
    parse_err("a = [1]\n[[a]]", 2, 3, "cannot append a [[table]] to 'a': already an array");
    parse_err("x = '''\nabc", 1, 5, "unterminated multi-line string");
    parse_err("x = \"ok\" \xff", 1, 10, "invalid UTF-8 (byte 0xFF)");
    parse_err("x =", 1, 4, "expected a value");
    parse_err("[a.b.c]\n[a]\nb.c.t = 1", 3, 3, "cannot add keys to 'c': already a table");
}

static void test_limits(void **state)
{
    (void)state;
    /* Depth: the root is 0; 99 arrays hold a scalar at depth 100. */
    char buf[1024];
    int n = 0;
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "a = ");
    for (int i = 0; i < 99; i++)
        buf[n++] = '[';
    buf[n++] = '1';
    for (int i = 0; i < 99; i++)
        buf[n++] = ']';
    buf[n] = 0;
    toml_doc_free(parse_ok(buf));
    memmove(buf + 5, buf + 4, (size_t)n - 3);
    buf[4] = '[';
    strcat(buf, "]");
    parse_err(buf, 1, 105, "nested deeper than 100 levels");

    /* Size: one byte over the limit is refused before parsing. */
    size_t big = TOML_MAX_DOC + 1;
    char *doc = malloc(big);
    memset(doc, '#', big);
    toml_error err;
    assert_null(toml_parse(doc, big, &err));
    assert_non_null(strstr(err.msg, "the limit is 1048576"));
    toml_doc *at_limit = toml_parse(doc, big - 1, &err);
    assert_non_null(at_limit);
    toml_doc_free(at_limit);
    free(doc);
    toml_doc_free(toml_parse("", 0, NULL));
}

static void test_hostile_input_never_crashes(void **state)
{
    (void)state;
    /* Every prefix of a document using every feature parses or fails
     * cleanly (run under the sanitizers this also checks every path frees). */
    const char *text = "# c\n[a . \"b\\u0041\"]\nx = [1, 2.5e3, 'l', \"\"\"m\\\n  l\"\"\",\n"
                       " {y.z = 1979-05-27T07:32:00.5Z}, inf, 0x_1]\n[[c.d]]\n"
                       "e = '''x''''\nf = { g = [ ], h = {} }\n";
    size_t len = strlen(text);
    for (size_t i = 0; i <= len; i++) {
        toml_error err;
        toml_doc_free(toml_parse(text, i, &err));
    }
    static const char pool[] = "[]{}=.,'\"#\n \\xu01e+-:_tfa\xc3\xa9";
    unsigned seed = 12345;
    char junk[256];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand_r(&seed) % sizeof(junk));
        for (size_t i = 0; i < n; i++)
            junk[i] = pool[(size_t)rand_r(&seed) % (sizeof(pool) - 1)];
        toml_error err;
        toml_doc_free(toml_parse(junk, n, &err));
    }
}

static void test_write_string_round_trips(void **state)
{
    (void)state;
    const char raw[] = "q\"b\\ t\t n\n c\x01 d\x7f é";
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    fputs("v = ", f);
    toml_write_string(f, raw, sizeof(raw) - 1);
    fclose(f);
    toml_doc *d = parse_ok(out);
    size_t len;
    const char *s = toml_string(path(d, "v", NULL), &len);
    assert_int_equal(len, sizeof(raw) - 1);
    assert_memory_equal(s, raw, len);
    toml_doc_free(d);
    free(out);
}

/* ---- differential test against tomllib ---- */

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

static const char *tag_of(toml_type t)
{
    switch (t) {
    case TOML_TABLE: return "table";
    case TOML_ARRAY: return "array";
    case TOML_STRING: return "string";
    case TOML_INTEGER: return "integer";
    case TOML_FLOAT: return "float";
    case TOML_BOOLEAN: return "bool";
    case TOML_DATETIME: return "datetime";
    case TOML_DATETIME_LOCAL: return "datetime-local";
    case TOML_DATE_LOCAL: return "date-local";
    case TOML_TIME_LOCAL: return "time-local";
    }
    return "?";
}

/* Compare a value with its tagged JSON; on a difference write why. */
static int same_value(const toml_value *v, json_t *exp, char *why, size_t n)
{
    const char *type = json_string_value(json_object_get(exp, "type"));
    json_t *val = json_object_get(exp, "value");
    if (!v || !type || strcmp(type, tag_of(toml_type_of(v))) != 0) {
        snprintf(why, n, "type %s, expected %s", v ? tag_of(toml_type_of(v)) : "missing",
                 type ? type : "?");
        return 0;
    }
    if (!strcmp(type, "table") || !strcmp(type, "array")) {
        if (toml_count(v) != json_array_size(val)) {
            snprintf(why, n, "%s of %zu, expected %zu", type, toml_count(v),
                     json_array_size(val));
            return 0;
        }
        for (size_t i = 0; i < json_array_size(val); i++) {
            json_t *item = json_array_get(val, i);
            const toml_value *got;
            if (!strcmp(type, "array")) {
                got = toml_array_at(v, i);
            } else {
                json_t *k = json_array_get(item, 0);
                got = toml_table_getn(v, json_string_value(k), json_string_length(k));
                item = json_array_get(item, 1);
            }
            if (!same_value(got, item, why, n))
                return 0;
        }
        return 1;
    }
    const char *want = json_string_value(val);
    char got[96];
    if (!strcmp(type, "string")) {
        size_t len;
        const char *s = toml_string(v, &len);
        if (len == json_string_length(val) && memcmp(s, want, len) == 0)
            return 1;
        snprintf(why, n, "string of %zu bytes, expected %zu", len, json_string_length(val));
        return 0;
    }
    if (!strcmp(type, "integer")) {
        snprintf(got, sizeof(got), "%lld", (long long)toml_integer(v));
    } else if (!strcmp(type, "float")) {
        double e = strtod(want, NULL), f = toml_float(v);
        if ((isnan(e) && isnan(f)) || (e == f && signbit(e) == signbit(f)))
            return 1;
        snprintf(why, n, "float %.17g, expected %s", f, want);
        return 0;
    } else if (!strcmp(type, "bool")) {
        snprintf(got, sizeof(got), "%s", toml_boolean(v) ? "true" : "false");
    } else {
        toml_datetime_format(toml_type_of(v), toml_datetime_of(v), got, sizeof(got));
    }
    if (strcmp(got, want) == 0)
        return 1;
    snprintf(why, n, "%s %s, expected %s", type, got, want);
    return 0;
}

static void show_doc(const char *doc, size_t len)
{
    fprintf(stderr, "    document (%zu bytes): ", len);
    for (size_t i = 0; i < len && i < 300; i++) {
        unsigned char c = (unsigned char)doc[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

static void test_differential_tomllib(void **state)
{
    (void)state;
    if (system("python3 -c 'import tomllib' 2>/dev/null") != 0) {
        print_message("python3 with tomllib not found: differential test skipped\n");
        skip();
    }
    char corpus[] = "/tmp/oisp-toml-corpus-XXXXXX";
    int fd = mkstemp(corpus);
    assert_true(fd >= 0);
    close(fd);
    const char *count = getenv("OISP_TOML_DIFF_COUNT");
    const char *seed = getenv("OISP_TOML_DIFF_SEED");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "python3 ../toml_diff.py %s%s%s%s%s", corpus,
             count ? " --count " : "", count ? count : "", seed ? " --seed " : "",
             seed ? seed : "");
    assert_int_equal(system(cmd), 0);

    FILE *f = fopen(corpus, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    long total = 0, agree = 0, valid = 0, deliberate = 0, shown = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *rec = json_loads(line, JSON_ALLOW_NUL, &jerr);
        assert_non_null(rec);
        const char *name = json_string_value(json_object_get(rec, "name"));
        const char *hex = json_string_value(json_object_get(rec, "doc"));
        int want_valid = json_is_true(json_object_get(rec, "valid"));
        size_t len = strlen(hex) / 2;
        char *doc = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            doc[i] = (char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        toml_error err;
        toml_doc *d = toml_parse(doc, len, &err);
        char why[320] = "";
        int ok;
        if (want_valid && !d)
            snprintf(why, sizeof(why), "rejected valid document: %d:%d: %s", err.line,
                     err.column, err.msg);
        else if (!want_valid && d)
            snprintf(why, sizeof(why), "accepted invalid document");
        ok = !why[0] && (!d || same_value(toml_doc_root(d), json_object_get(rec, "expect"),
                                          why, sizeof(why)));
        total++;
        valid += want_valid;
        deliberate += json_object_get(rec, "note") != NULL;
        if (ok)
            agree++;
        else if (shown++ < 25) {
            fprintf(stderr, "  DISAGREE %s: %s\n", name, why);
            show_doc(doc, len);
        }
        toml_doc_free(d);
        free(doc);
        json_decref(rec);
    }
    free(line);
    fclose(f);
    unlink(corpus);
    print_message("toml differential vs tomllib: %ld documents (%ld valid), agreement "
                  "%ld/%ld = %.2f%%; %ld of the rejections are deliberate (int64/depth/size)\n",
                  total, valid, agree, total, total ? 100.0 * (double)agree / (double)total : 0,
                  deliberate);
    assert_true(total > 5000);
    assert_int_equal(agree, total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_values),
        cmocka_unit_test(test_tables_order_and_positions),
        cmocka_unit_test(test_implicit_table_takes_header_position),
        cmocka_unit_test(test_big_table_lookup),
        cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_hostile_input_never_crashes),
        cmocka_unit_test(test_write_string_round_trips),
        cmocka_unit_test(test_differential_tomllib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

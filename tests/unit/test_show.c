/* test_show.c: tests for src/cli/show.c (`oisp-sensor show`).
 *
 * The view is driven with the JSONL fixtures in tests/data/show/ and its
 * output captured with open_memstream; cmd_show itself is run with stdout
 * and stderr redirected to files, and -f is run in a child process while the
 * test appends to, truncates and replaces the file it follows.  Times are
 * shown in local time, so every test runs with TZ=UTC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/show.h"

#define DATA "../data/show/"

/* ---- helpers ---- */

static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len_out)
        *len_out = (size_t)n;
    return buf;
}

static show_opts plain_opts(void)
{
    show_opts o = {.json = 0, .color = 0, .tty = 0, .width = 200, .last_n = -1};
    return o;
}

/* Feeds the lines of buf to a new view, as cmd_show would. */
static void feed_lines(show_view *v, const char *buf, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            show_view_line(v, buf + start, i - start);
            start = i + 1;
        }
    }
    if (start < len)
        show_view_line(v, buf + start, len - start);
}

/* Runs a view over a fixture; returns its output (caller frees). */
static char *view_file(const show_opts *o, const char *path, show_bad *bad)
{
    char *out = NULL;
    size_t outlen = 0, len;
    FILE *mem = open_memstream(&out, &outlen);
    assert_non_null(mem);
    show_view *v = show_view_new(o, mem);
    assert_non_null(v);
    char *buf = read_file(path, &len);
    feed_lines(v, buf, len);
    show_view_end(v);
    if (bad)
        show_view_bad(v, bad);
    show_view_free(v);
    fclose(mem);
    free(buf);
    return out;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Line n (0-based) of s, copied (caller frees). */
static char *line_at(const char *s, size_t n)
{
    while (n-- > 0) {
        s = strchr(s, '\n');
        assert_non_null(s);
        s++;
    }
    size_t len = strcspn(s, "\n");
    char *line = malloc(len + 1);
    memcpy(line, s, len);
    line[len] = '\0';
    return line;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

/* Strict UTF-8 check: returns 1 if s is valid. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* No byte that a terminal would act on: C0 (except \n), DEL, C1 in UTF-8. */
static void assert_terminal_safe(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i]; i++) {
        if ((p[i] < 0x20 && p[i] != '\n') || p[i] == 0x7F)
            fail_msg("control byte 0x%02x at %zu in:\n%s", p[i], i, s);
        if (p[i] == 0xC2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)
            fail_msg("C1 control at %zu", i);
    }
    assert_true(utf8_valid(p, strlen(s)));
}

/* ---- show_text_fit ---- */

static void test_fit_cuts_with_ellipsis(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(show_text_fit(out, sizeof(out), "hello world", 11, 5), 5);
    assert_string_equal(out, "hell\xE2\x80\xA6");
    assert_int_equal(show_text_fit(out, sizeof(out), "hello world", 11, 11), 11);
    assert_string_equal(out, "hello world");
    assert_int_equal(show_text_fit(out, sizeof(out), "hello", 5, 1), 1);
    assert_string_equal(out, "\xE2\x80\xA6");
}

static void test_fit_collapses_whitespace(void **state)
{
    char out[64];
    (void)state;
    const char *s = "  \t what\n\n  is\r\nthis?  \n";
    show_text_fit(out, sizeof(out), s, strlen(s), 60);
    assert_string_equal(out, "what is this?");
    /* A cut never leaves a trailing space before the ellipsis. */
    show_text_fit(out, sizeof(out), "abc def", 7, 5);
    assert_string_equal(out, "abc\xE2\x80\xA6");
}

static void test_fit_utf8_boundaries(void **state)
{
    /* Latin with accents, CJK (2 columns each), emoji (4 bytes, 2 columns),
     * a combining accent (0 columns). */
    const char *s = "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E "
                    "\xF0\x9F\x98\x80\xF0\x9F\x98\x80 e\xCC\x81nd";
    char out[256];
    (void)state;
    for (size_t cols = 1; cols <= 30; cols++) {
        size_t w = show_text_fit(out, sizeof(out), s, strlen(s), cols);
        assert_true(w <= cols);
        assert_true(utf8_valid((const unsigned char *)out, strlen(out)));
    }
    /* 日本 is 4 columns, so 5 columns hold it and the ellipsis. */
    const char *cjk = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x83\x86";
    assert_int_equal(show_text_fit(out, sizeof(out), cjk, strlen(cjk), 5), 5);
    assert_string_equal(out, "\xE6\x97\xA5\xE6\x9C\xAC\xE2\x80\xA6");
    /* The byte budget also cuts on a boundary: a destination of 8 bytes
     * holds one 3-byte character and the 3-byte ellipsis. */
    char small[8];
    show_text_fit(small, sizeof(small), cjk, strlen(cjk), 100);
    assert_string_equal(small, "\xE6\x97\xA5\xE2\x80\xA6");
    /* Input cut in the middle of a sequence: the stray lead byte becomes
     * U+FFFD, never a partial sequence. */
    show_text_fit(out, sizeof(out), cjk, 4, 100);
    assert_string_equal(out, "\xE6\x97\xA5\xEF\xBF\xBD");
}

static void test_fit_bounded_by_bytes_with_zero_width_flood(void **state)
{
    /* 10,000 combining marks take no columns but must not overrun dst. */
    size_t n = 1 + 2 * 10000;
    char *s = malloc(n + 1);
    char out[64];
    (void)state;
    s[0] = 'a';
    for (size_t i = 0; i < 10000; i++)
        memcpy(s + 1 + 2 * i, "\xCC\x81", 2);
    s[n] = '\0';
    show_text_fit(out, sizeof(out), s, n, 10);
    assert_true(strlen(out) < sizeof(out));
    assert_true(utf8_valid((const unsigned char *)out, strlen(out)));
    free(s);
}

static void test_fit_neutralises_escapes(void **state)
{
    const char s[] = "a\x1b[2Jb\x07" "c\x7f" "d\xC2\x9B" "31m e\xE2\x80\xAE" "f \xFF\xFE g\x00h";
    char out[256];
    (void)state;
    show_text_fit(out, sizeof(out), s, sizeof(s) - 1, 200);
    assert_string_equal(out, "a^[[2Jb^Gc^?d\xEF\xBF\xBD" "31m e\xEF\xBF\xBD" "f "
                             "\xEF\xBF\xBD\xEF\xBF\xBD g^@h");
    assert_terminal_safe(out);
    /* Overlong encodings and surrogates are invalid, not decoded. */
    const char bad[] = "\xC0\xAF\xED\xA0\x80";
    show_text_fit(out, sizeof(out), bad, sizeof(bad) - 1, 200);
    assert_lacks(out, "/");
    assert_true(utf8_valid((const unsigned char *)out, strlen(out)));
}

/* ---- the view ---- */

static void test_pairing(void **state)
{
    show_opts o = plain_opts();
    show_bad bad;
    (void)state;
    char *out = view_file(&o, DATA "pairing.jsonl", &bad);

    assert_int_equal(bad.not_json + bad.not_object + bad.too_long, 0);
    /* 12 events: 4 requests and 4 responses make 5 exchange lines (one
     * orphan response, one request without response), plus 4 others. */
    assert_int_equal(count_lines(out), 9);

    /* The deepseek exchange completes first, so it prints first. */
    char *l2 = line_at(out, 2);
    assert_contains(l2, "14:30:16.400 node[200]");
    assert_contains(l2, "deepseek ");     /* provider "other" named from the host */
    assert_contains(l2, "deepseek-chat");
    assert_contains(l2, "40\xE2\x86\x92" "9");
    assert_contains(l2, "600ms 200");
    assert_contains(l2, "Weather in Paris? \xE2\x87\x92 tool: get_weather({\"city\":\"Paris\"})");
    free(l2);

    /* The openai one: request time, served model, tokens, latency, the last
     * user message with whitespace collapsed, and the answer. */
    char *l3 = line_at(out, 3);
    assert_contains(l3, "14:30:16.345 python3[100]");
    assert_contains(l3, "openai     gpt-4o-2024-11-20");
    assert_contains(l3, "12\xE2\x86\x92" "5");
    assert_contains(l3, "2.2s 200");
    assert_contains(l3, "What is the capital of France? \xE2\x87\x92 Paris.");
    assert_lacks(l3, "Hi");
    free(l3);

    /* Error responses show the HTTP code and the error type; the latency
     * falls back to the difference of the timestamps. */
    char *l7 = line_at(out, 7);
    assert_contains(l7, "250ms 429 rate_limit_error");
    assert_contains(l7, "Too many \xE2\x87\x92 error: Slow down");
    free(l7);
    free(out);
}

static void test_response_without_request(void **state)
{
    show_opts o = plain_opts();
    (void)state;
    char *out = view_file(&o, DATA "pairing.jsonl", NULL);
    char *l6 = line_at(out, 6);
    assert_contains(l6, "14:30:20.000 claude[300]");
    assert_contains(l6, "anthropic  claude-3-5-sonnet");
    assert_contains(l6, "7\xE2\x86\x92" "3");      /* input_tokens/output_tokens */
    assert_contains(l6, "(request not seen) \xE2\x87\x92 Orphan answer");
    free(l6);
    free(out);
}

static void test_request_without_response(void **state)
{
    show_opts o = plain_opts();
    (void)state;
    char *out = view_file(&o, DATA "pairing.jsonl", NULL);
    char *last = line_at(out, 8);
    assert_contains(last, "14:30:22.000 python3[100]");
    assert_contains(last, "no response");
    assert_contains(last, "Never answered");
    free(last);
    free(out);
}

static char *request_line(int i)
{
    char *s = NULL;
    assert_true(asprintf(&s, "{\"event_type\":\"ai.request\",\"ts\":\"2025-01-01T00:00:00Z\","
                             "\"process\":{\"pid\":1,\"name\":\"p\"},\"data\":{\"request_id\":\"id%d\","
                             "\"model\":{\"id\":\"m\"},\"messages\":[{\"role\":\"user\",\"content\":\"q%d\"}]}}",
                         i, i) > 0);
    return s;
}

static void test_pending_table_evicts_oldest(void **state)
{
    show_opts o = plain_opts();
    char *out = NULL;
    size_t outlen = 0;
    (void)state;
    FILE *mem = open_memstream(&out, &outlen);
    show_view *v = show_view_new(&o, mem);

    for (int i = 0; i <= SHOW_PENDING_MAX; i++) {
        char *l = request_line(i);
        show_view_line(v, l, strlen(l));
        free(l);
    }
    fflush(mem);
    /* One request too many: the oldest is given up and printed. */
    assert_int_equal(count_lines(out), 1);
    assert_contains(out, "no response");
    assert_contains(out, "q0");

    /* Its late response still prints, alone; a kept one pairs. */
    const char *late = "{\"event_type\":\"ai.response\",\"data\":{\"request_id\":\"id0\",\"status_code\":200}}";
    const char *kept = "{\"event_type\":\"ai.response\",\"data\":{\"request_id\":\"id1\",\"status_code\":200}}";
    show_view_line(v, late, strlen(late));
    show_view_line(v, kept, strlen(kept));
    fflush(mem);
    assert_int_equal(count_lines(out), 3);
    char *l1 = line_at(out, 1), *l2 = line_at(out, 2);
    assert_contains(l1, "(request not seen)");
    assert_contains(l2, "q1");
    assert_contains(l2, " 200");
    free(l1);
    free(l2);

    /* At the end the rest are printed as unanswered, oldest first. */
    show_view_end(v);
    assert_int_equal(count_lines(out), 3 + SHOW_PENDING_MAX - 1);
    char *l3 = line_at(out, 3);
    assert_contains(l3, "q2");
    free(l3);
    show_view_free(v);
    fclose(mem);
    free(out);
}

static void test_type_filters(void **state)
{
    show_opts o = plain_opts();
    char *out;
    (void)state;

    const char *proc[] = {"process"};
    o.types = proc;
    o.ntypes = 1;
    out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_int_equal(count_lines(out), 1);
    assert_contains(out, "process.exec");
    assert_contains(out, "python3 agent.py --mode=prod");
    free(out);

    /* "ai" selects exchanges only. */
    const char *ai[] = {"ai"};
    o.types = ai;
    out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_int_equal(count_lines(out), 5);
    assert_lacks(out, "process.exec");
    assert_lacks(out, "agent.tool_call");
    free(out);

    /* ai.response alone still shows the prompt of the paired request. */
    const char *resp[] = {"ai.response"};
    o.types = resp;
    out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_int_equal(count_lines(out), 5);
    assert_contains(out, "What is the capital of France?");
    free(out);

    /* Repeated -t and the "family.*" form; no partial word matches. */
    const char *two[] = {"file.*", "network"};
    o.types = two;
    o.ntypes = 2;
    out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_int_equal(count_lines(out), 2);
    assert_contains(out, "file.write                         /tmp/out.py (4523 bytes)");
    assert_contains(out, "network.connect                    104.18.7.192:443 (api.deepseek.com)");
    free(out);

    const char *partial[] = {"proc"};
    o.types = partial;
    o.ntypes = 1;
    out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_int_equal(count_lines(out), 0);
    free(out);
}

static void test_last_n(void **state)
{
    show_opts o = plain_opts();
    (void)state;

    o.last_n = 2;
    char *out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_int_equal(count_lines(out), 2);
    char *l0 = line_at(out, 0), *l1 = line_at(out, 1);
    assert_contains(l0, "rate_limit_error");
    assert_contains(l1, "Never answered");
    free(l0);
    free(l1);
    free(out);

    o.last_n = 0;
    out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_string_equal(out, "");
    free(out);

    /* More than there is: everything. */
    o.last_n = 1000;
    out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_int_equal(count_lines(out), 9);
    free(out);

    /* After catching up (follow mode), new lines print at once. */
    char *buf = NULL;
    size_t blen = 0, len;
    FILE *mem = open_memstream(&buf, &blen);
    o.last_n = 1;
    show_view *v = show_view_new(&o, mem);
    char *data = read_file(DATA "garbage.jsonl", &len);
    feed_lines(v, data, len);
    fflush(mem);
    assert_int_equal(count_lines(buf), 0);
    show_view_catch_up(v);
    fflush(mem);
    assert_int_equal(count_lines(buf), 1);
    assert_contains(buf, "file.rename");
    feed_lines(v, data, len);
    fflush(mem);
    assert_int_equal(count_lines(buf), 4);
    show_view_free(v);
    fclose(mem);
    free(data);
    free(buf);
}

static void test_json_passthrough(void **state)
{
    show_opts o = plain_opts();
    size_t len;
    (void)state;
    char *in = read_file(DATA "pairing.jsonl", &len);

    o.json = 1;
    char *out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_string_equal(out, in); /* every line, byte for byte */
    free(out);

    const char *ai[] = {"ai.response"};
    o.types = ai;
    o.ntypes = 1;
    o.last_n = 2;
    out = view_file(&o, DATA "pairing.jsonl", NULL);
    assert_int_equal(count_lines(out), 2);
    char *l0 = line_at(out, 0);
    char *src = line_at(in, 8); /* the orphan response */
    assert_string_equal(l0, src);
    free(l0);
    free(src);
    free(out);
    free(in);
}

static void test_json_on_terminal_escapes_c1(void **state)
{
    show_opts o = plain_opts();
    (void)state;
    o.json = 1;
    o.tty = 1;
    char *out = view_file(&o, DATA "hostile.jsonl", NULL);
    assert_int_equal(count_lines(out), 3);
    assert_terminal_safe(out);
    assert_contains(out, "\\u009b31m");
    free(out);
}

static void test_hostile_content_is_neutralised(void **state)
{
    show_opts o = plain_opts();
    (void)state;
    o.width = 400;
    char *out = view_file(&o, DATA "hostile.jsonl", NULL);
    assert_int_equal(count_lines(out), 2); /* one line per event, newlines collapsed */
    assert_terminal_safe(out);
    assert_contains(out, "evil^[[31mproc[7]");
    assert_contains(out, "clear^[[2J^[[H screen");
    assert_contains(out, "/tmp/^[[1;31mred file");
    free(out);

    /* With colour on, only our own SGR sequences appear: every ESC is
     * followed by '[' digits 'm'. */
    o.color = 1;
    out = view_file(&o, DATA "hostile.jsonl", NULL);
    for (const char *p = strchr(out, '\x1b'); p; p = strchr(p + 1, '\x1b')) {
        const char *q = p + 1;
        assert_int_equal(*q, '[');
        q++;
        while (*q >= '0' && *q <= '9')
            q++;
        assert_int_equal(*q, 'm');
    }
    free(out);
}

static void test_long_answer_cut_to_width(void **state)
{
    show_opts o = plain_opts();
    (void)state;
    o.width = 120;
    char *out = view_file(&o, DATA "hostile.jsonl", NULL);
    char *l0 = line_at(out, 0);
    /* The answer is 40 × 7 CJK characters: it is cut with an ellipsis, on a
     * character boundary, and the line holds about 120 columns. */
    assert_contains(l0, "\xE2\x80\xA6");
    assert_true(utf8_valid((const unsigned char *)l0, strlen(l0)));
    assert_true(strlen(l0) < 120 * 3);
    free(l0);
    free(out);
}

/* Columns of a line of our output: code points, CJK counted as 2. */
static size_t line_columns(const char *s)
{
    size_t cols = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x80) {
            cols++;
            p++;
        } else if (*p >= 0xE3 && *p <= 0xE9) { /* CJK in these fixtures */
            cols += 2;
            p += 3;
        } else {
            cols++;
            p += *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2;
        }
    }
    return cols;
}

static void test_lines_fit_the_width(void **state)
{
    show_opts o = plain_opts();
    const char *files[] = {DATA "pairing.jsonl", DATA "hostile.jsonl", DATA "garbage.jsonl"};
    (void)state;
    for (int width = 140; width <= 220; width += 40) {
        o.width = width;
        for (size_t f = 0; f < 3; f++) {
            char *out = view_file(&o, files[f], NULL);
            for (size_t i = 0; i < count_lines(out); i++) {
                char *l = line_at(out, i);
                if (line_columns(l) >= (size_t)width)
                    fail_msg("%zu columns at width %d: %s", line_columns(l), width, l);
                free(l);
            }
            free(out);
        }
    }
}

static void test_garbage_lines_skipped_and_counted(void **state)
{
    show_opts o = plain_opts();
    show_bad bad;
    (void)state;
    char *out = view_file(&o, DATA "garbage.jsonl", &bad);
    assert_int_equal(count_lines(out), 3);
    assert_contains(out, "process.exec                       sh -c true");
    assert_contains(out, "[2001:db8::1]:443");
    assert_contains(out, "file.rename                        /a \xE2\x86\x92 /b"); /* no final newline */
    assert_int_equal(bad.not_json, 3);
    assert_int_equal(bad.not_object, 3);
    assert_int_equal(bad.too_long, 0);
    assert_int_equal(bad.first_line, 1);
    free(out);
}

static void test_offset_timestamps_shown_in_local_time(void **state)
{
    show_opts o = plain_opts();
    char *out = NULL;
    size_t n = 0;
    (void)state;
    FILE *mem = open_memstream(&out, &n);
    show_view *v = show_view_new(&o, mem);
    const char *a = "{\"event_type\":\"file.open\",\"ts\":\"2025-06-01T23:59:59.9999+02:00\"}";
    const char *b = "{\"event_type\":\"file.open\",\"ts\":\"yesterday\"}";
    show_view_line(v, a, strlen(a));
    show_view_line(v, b, strlen(b));
    show_view_end(v);
    fclose(mem);
    assert_contains(out, "21:59:59.999 ?");
    assert_contains(out, "--:--:--.--- ?");
    show_view_free(v);
    free(out);
}

/* ---- cmd_show ---- */

/* Runs cmd_show with stdout and stderr sent to files; returns its status. */
static int run_cmd(char **argv, int argc, char **out, char **err)
{
    char outp[] = "/tmp/test_show_outXXXXXX", errp[] = "/tmp/test_show_errXXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp);
    assert_true(ofd >= 0 && efd >= 0);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(ofd, 1);
    dup2(efd, 2);
    int rc = cmd_show(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(ofd);
    close(efd);
    *out = read_file(outp, NULL);
    *err = read_file(errp, NULL);
    unlink(outp);
    unlink(errp);
    return rc;
}

static void test_cmd_missing_file(void **state)
{
    char *argv[] = {"show", "/nonexistent/events.jsonl"};
    char *out, *err;
    (void)state;
    assert_int_equal(run_cmd(argv, 2, &out, &err), 2);
    assert_string_equal(out, "");
    assert_int_equal(count_lines(err), 1);
    assert_contains(err, "cannot open /nonexistent/events.jsonl");
    free(out);
    free(err);
}

static void test_cmd_help_and_usage_errors(void **state)
{
    char *out, *err;
    (void)state;
    char *help[] = {"show", "--help"};
    assert_int_equal(run_cmd(help, 2, &out, &err), 0);
    assert_contains(out, "usage: oisp-sensor show");
    free(out);
    free(err);

    char *bad[] = {"show", "--frobnicate"};
    assert_int_equal(run_cmd(bad, 2, &out, &err), 2);
    assert_contains(err, "unknown option");
    free(out);
    free(err);

    char *badn[] = {"show", "-n", "lots", DATA "pairing.jsonl"};
    assert_int_equal(run_cmd(badn, 4, &out, &err), 2);
    assert_contains(err, "bad line count");
    free(out);
    free(err);
}

static void test_cmd_reads_file_and_reports_bad_lines(void **state)
{
    char *out, *err;
    (void)state;
    char *argv[] = {"show", "--no-color", "-t", "process.*", "-tnetwork", "-n1", DATA "garbage.jsonl"};
    assert_int_equal(run_cmd(argv, 7, &out, &err), 0);
    assert_int_equal(count_lines(out), 1);
    assert_contains(out, "[2001:db8::1]:443");
    assert_contains(err, "skipped 6 bad lines (3 not JSON, 3 not an object, 0 too long); first at line 1");
    free(out);
    free(err);

    char *json[] = {"show", "--json", "--type=ai.request", DATA "pairing.jsonl"};
    assert_int_equal(run_cmd(json, 4, &out, &err), 0);
    assert_int_equal(count_lines(out), 4);
    assert_string_equal(err, "");
    free(out);
    free(err);
}

static void test_cmd_skips_overlong_line(void **state)
{
    char path[] = "/tmp/test_show_longXXXXXX";
    int fd = mkstemp(path);
    size_t big = (32u << 20) + 100;
    char *buf = malloc(big);
    char *out, *err;
    (void)state;
    assert_non_null(buf);
    memset(buf, 'x', big);
    buf[0] = '{';
    const char *ok = "{\"event_type\":\"process.exec\",\"data\":{\"exe\":\"/bin/after\"}}\n";
    assert_int_equal(write(fd, ok, strlen(ok)), (ssize_t)strlen(ok));
    assert_int_equal(write(fd, buf, big), (ssize_t)big);
    assert_int_equal(write(fd, "\n", 1), 1);
    assert_int_equal(write(fd, ok, strlen(ok)), (ssize_t)strlen(ok));
    close(fd);
    free(buf);

    char *argv[] = {"show", path};
    assert_int_equal(run_cmd(argv, 2, &out, &err), 0);
    assert_int_equal(count_lines(out), 2);
    assert_contains(err, "0 not JSON, 0 not an object, 1 too long); first at line 2");
    free(out);
    free(err);
    unlink(path);
}

static void append(const char *path, const char *s)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_cmd_follow_survives_truncation_and_rotation(void **state)
{
    char dir[] = "/tmp/test_show_followXXXXXX";
    char path[256], rotated[256], outp[256];
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/events.jsonl", dir);
    snprintf(rotated, sizeof(rotated), "%s/events.jsonl.1", dir);
    snprintf(outp, sizeof(outp), "%s/out", dir);

    append(path, "{\"event_type\":\"file.open\",\"data\":{\"path\":\"/old1\"}}\n"
                 "{\"event_type\":\"file.open\",\"data\":{\"path\":\"/old2\"}}\n");
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        char *argv[] = {"show", "-f", "-n", "1", path};
        _exit(cmd_show(5, argv));
    }
    sleep_ms(400);
    append(path, "{\"event_type\":\"file.open\",\"data\":{\"path\":\"/grown\"}}\n");
    /* A line written in two pieces is shown once, whole. */
    append(path, "{\"event_type\":\"file.open\",");
    sleep_ms(300);
    append(path, "\"data\":{\"path\":\"/joined\"}}\n");
    sleep_ms(300);
    /* Truncated in place (copytruncate), then written again. */
    assert_int_equal(truncate(path, 0), 0);
    sleep_ms(300);
    append(path, "{\"event_type\":\"file.open\",\"data\":{\"path\":\"/after-truncate\"}}\n");
    sleep_ms(300);
    /* Rotated: renamed away, a last line lands in the old file, then a new
     * file appears under the name. */
    assert_int_equal(rename(path, rotated), 0);
    append(rotated, "{\"event_type\":\"file.open\",\"data\":{\"path\":\"/late-in-old\"}}\n");
    append(path, "{\"event_type\":\"file.open\",\"data\":{\"path\":\"/new-file\"}}\n");
    sleep_ms(500);
    kill(pid, SIGINT);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    char *out = read_file(outp, NULL);
    assert_lacks(out, "/old1");
    const char *order[] = {"/old2", "/grown", "/joined", "/after-truncate", "/late-in-old", "/new-file"};
    const char *p = out;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *q = strstr(p, order[i]);
        if (!q)
            fail_msg("missing %s after position %zu in:\n%s", order[i], (size_t)(p - out), out);
        p = q;
    }
    assert_int_equal(count_lines(out), 6);
    free(out);
    unlink(outp);
    unlink(path);
    unlink(rotated);
    rmdir(dir);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_cuts_with_ellipsis),
        cmocka_unit_test(test_fit_collapses_whitespace),
        cmocka_unit_test(test_fit_utf8_boundaries),
        cmocka_unit_test(test_fit_bounded_by_bytes_with_zero_width_flood),
        cmocka_unit_test(test_fit_neutralises_escapes),
        cmocka_unit_test(test_pairing),
        cmocka_unit_test(test_response_without_request),
        cmocka_unit_test(test_request_without_response),
        cmocka_unit_test(test_pending_table_evicts_oldest),
        cmocka_unit_test(test_type_filters),
        cmocka_unit_test(test_last_n),
        cmocka_unit_test(test_json_passthrough),
        cmocka_unit_test(test_json_on_terminal_escapes_c1),
        cmocka_unit_test(test_hostile_content_is_neutralised),
        cmocka_unit_test(test_long_answer_cut_to_width),
        cmocka_unit_test(test_lines_fit_the_width),
        cmocka_unit_test(test_garbage_lines_skipped_and_counted),
        cmocka_unit_test(test_offset_timestamps_shown_in_local_time),
        cmocka_unit_test(test_cmd_missing_file),
        cmocka_unit_test(test_cmd_help_and_usage_errors),
        cmocka_unit_test(test_cmd_reads_file_and_reports_bad_lines),
        cmocka_unit_test(test_cmd_skips_overlong_line),
        cmocka_unit_test(test_cmd_follow_survives_truncation_and_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

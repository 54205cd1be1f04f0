/* test_sse.c: tests for src/stream/sse.c, the incremental Server-Sent Events
 * parser.  Each stream is also fed split at every byte (and one byte at a
 * time) and must produce exactly the events of the one-shot parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stream/sse.h"

#define MAX_EVENTS 64

typedef struct rec_event {
    char event[64];
    char data[512];
    size_t data_len;
    char id[64];
    size_t offset;
} rec_event;

typedef struct recorder {
    rec_event ev[MAX_EVENTS];
    size_t n;
} recorder;

static void record(void *ctx, const sse_event *e)
{
    recorder *r = ctx;
    assert_true(r->n < MAX_EVENTS);
    rec_event *d = &r->ev[r->n++];
    assert_int_equal(strlen(e->data), e->data_len); /* NUL-terminated, no NUL inside */
    snprintf(d->event, sizeof d->event, "%s", e->event);
    assert_true(e->data_len < sizeof d->data);
    memcpy(d->data, e->data, e->data_len + 1);
    d->data_len = e->data_len;
    snprintf(d->id, sizeof d->id, "%s", e->id);
    d->offset = e->offset;
}

static void parse_split(const char *s, size_t len, size_t split, recorder *r)
{
    memset(r, 0, sizeof *r);
    sse_parser *p = sse_parser_new(0, record, r);
    assert_non_null(p);
    sse_parser_feed(p, (const uint8_t *)s, split);
    sse_parser_feed(p, (const uint8_t *)s + split, len - split);
    sse_parser_finish(p);
    assert_int_equal(sse_parser_truncated(p), 0);
    sse_parser_free(p);
}

static void assert_same(const recorder *a, const recorder *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->ev[i].event, b->ev[i].event);
        assert_int_equal(a->ev[i].data_len, b->ev[i].data_len);
        assert_memory_equal(a->ev[i].data, b->ev[i].data, a->ev[i].data_len);
        assert_string_equal(a->ev[i].id, b->ev[i].id);
        assert_int_equal(a->ev[i].offset, b->ev[i].offset);
    }
}

/* Every two-piece split and the byte-at-a-time feed give the same events. */
static void assert_split_invariant(const char *s, size_t len, const recorder *whole)
{
    recorder r;
    for (size_t k = 0; k <= len; k++) {
        parse_split(s, len, k, &r);
        assert_same(whole, &r);
    }
    memset(&r, 0, sizeof r);
    sse_parser *p = sse_parser_new(0, record, &r);
    for (size_t i = 0; i < len; i++)
        sse_parser_feed(p, (const uint8_t *)s + i, 1);
    sse_parser_finish(p);
    sse_parser_free(p);
    assert_same(whole, &r);
}

static void test_basic_fields(void **state)
{
    (void)state;
    const char *s = "event: message_start\n"
                    "data: {\"a\":1}\n"
                    "\n"
                    ": keep-alive comment\n"
                    "id: 42\n"
                    "data:no-space\n"
                    "data:  two spaces\n"
                    "\n"
                    "data\n"
                    "\n";
    recorder r;
    parse_split(s, strlen(s), 0, &r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.ev[0].event, "message_start");
    assert_string_equal(r.ev[0].data, "{\"a\":1}");
    assert_int_equal(r.ev[0].offset, 0);
    assert_string_equal(r.ev[0].id, "");
    assert_string_equal(r.ev[1].event, "message");
    assert_string_equal(r.ev[1].data, "no-space\n two spaces");
    assert_string_equal(r.ev[1].id, "42");
    /* the event starts at its first field line, after the comment */
    assert_int_equal(r.ev[1].offset, strstr(s, "id: 42") - s);
    /* "data" with no colon: empty value, still an event; id persists */
    assert_string_equal(r.ev[2].data, "");
    assert_string_equal(r.ev[2].id, "42");
    assert_split_invariant(s, strlen(s), &r);
}

static void test_line_endings(void **state)
{
    (void)state;
    const char *s = "data: a\r\n\r\n"   /* CRLF */
                    "data: b\r\r"       /* CR */
                    "data: c\n\n"       /* LF */
                    "data: d\r\ndata: e\r\r\n"; /* mixed; the final LF is a blank line too */
    recorder r;
    parse_split(s, strlen(s), 0, &r);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.ev[0].data, "a");
    assert_string_equal(r.ev[1].data, "b");
    assert_string_equal(r.ev[2].data, "c");
    assert_string_equal(r.ev[3].data, "d\ne");
    assert_int_equal(r.ev[1].offset, 11);
    assert_split_invariant(s, strlen(s), &r);
}

static void test_no_data_no_dispatch(void **state)
{
    (void)state;
    /* event/id without data is not dispatched, and the event type resets */
    const char *s = "event: ping\n\n"
                    "data: x\n\n"
                    "retry: 1000\n"
                    "unknown: field\n\n";
    recorder r;
    parse_split(s, strlen(s), 0, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.ev[0].event, "message");
    assert_string_equal(r.ev[0].data, "x");
    assert_split_invariant(s, strlen(s), &r);
}

static void test_bom_and_final_event(void **state)
{
    (void)state;
    const char *s = "\xEF\xBB\xBF" "data: first\n\n"
                    "event: last\ndata: no blank line after";
    recorder r;
    parse_split(s, strlen(s), 0, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.ev[0].data, "first");
    assert_int_equal(r.ev[0].offset, 3);
    assert_string_equal(r.ev[1].event, "last");
    assert_string_equal(r.ev[1].data, "no blank line after");
    assert_split_invariant(s, strlen(s), &r);

    /* a BOM only at the start: a later one is data */
    const char *t = "\xEF\xBB" "X: y\n" "data: z\n\n";
    parse_split(t, strlen(t), 0, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.ev[0].data, "z");
    assert_int_equal(r.ev[0].offset, 0); /* "\xEF\xBBX" field line starts the event */
    assert_split_invariant(t, strlen(t), &r);
}

static void test_realistic_openai_stream(void **state)
{
    (void)state;
    const char *s =
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"H\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80\"}}]}\n\n"
        "data: [DONE]\n\n";
    recorder r;
    parse_split(s, strlen(s), 0, &r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.ev[2].data, "[DONE]");
    assert_non_null(strstr(r.ev[1].data, "\xF0\x9F\x98\x80"));
    assert_split_invariant(s, strlen(s), &r);
    assert_int_equal(sse_parse_all((const uint8_t *)s, strlen(s), NULL, NULL), 3);
}

static void test_truncation_bounded(void **state)
{
    (void)state;
    recorder r;
    memset(&r, 0, sizeof r);
    sse_parser *p = sse_parser_new(100, record, &r);
    char big[1000];
    memset(big, 'x', sizeof big);
    sse_parser_feed(p, (const uint8_t *)"data: ", 6);
    for (int i = 0; i < 50; i++) /* 50 KB in one line, split in pieces */
        sse_parser_feed(p, (const uint8_t *)big, sizeof big);
    sse_parser_feed(p, (const uint8_t *)"\n\ndata: ok\n\n", 12);
    sse_parser_finish(p);
    assert_int_equal(r.n, 2);
    assert_true(r.ev[0].data_len <= 100);
    assert_true(r.ev[0].data_len >= 99);
    assert_string_equal(r.ev[1].data, "ok");
    assert_int_equal(sse_parser_truncated(p), 1);
    sse_parser_free(p);

    /* many data lines also stop at the bound (in one feed, processed in place) */
    memset(&r, 0, sizeof r);
    p = sse_parser_new(64, record, &r);
    char lines[4000];
    size_t n = 0;
    while (n + 9 < sizeof lines) {
        memcpy(lines + n, "data: ab\n", 9);
        n += 9;
    }
    sse_parser_feed(p, (const uint8_t *)lines, n);
    sse_parser_feed(p, (const uint8_t *)"\n", 1);
    sse_parser_finish(p);
    assert_int_equal(r.n, 1);
    assert_true(r.ev[0].data_len <= 64);
    assert_int_equal(sse_parser_truncated(p), 1);
    sse_parser_free(p);
}

static void test_garbage_never_crashes(void **state)
{
    (void)state;
    unsigned seed = 12345;
    uint8_t buf[4096];
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(round * 17) % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            /* bias towards structural bytes */
            static const char alpha[] = "data:event:id\r\n: x\0\xEF\xBB\xBF";
            buf[i] = (seed >> 16) & 1 ? (uint8_t)alpha[(seed >> 8) % (sizeof alpha - 1)] : (uint8_t)(seed >> 8);
        }
        sse_parser *p = sse_parser_new(128, NULL, NULL);
        size_t off = 0;
        while (off < len) {
            size_t k = 1 + (size_t)(seed % 97);
            seed = seed * 1103515245u + 12345u;
            if (k > len - off)
                k = len - off;
            sse_parser_feed(p, buf + off, k);
            off += k;
        }
        sse_parser_finish(p);
        sse_parser_free(p);
        (void)sse_parse_all(buf, len, NULL, NULL);
    }
    sse_parser_feed(NULL, (const uint8_t *)"x", 1);
    sse_parser_finish(NULL);
    sse_parser_free(NULL);
}

/* Parses s with limit `max`, fed whole or in pieces of `piece` bytes. */
static void parse_pieces(const char *s, size_t len, size_t max, size_t piece, recorder *r,
                         uint64_t *truncated)
{
    memset(r, 0, sizeof *r);
    sse_parser *p = sse_parser_new(max, record, r);
    assert_non_null(p);
    for (size_t off = 0; off < len; off += piece)
        sse_parser_feed(p, (const uint8_t *)s + off, len - off < piece ? len - off : piece);
    sse_parser_finish(p);
    *truncated = sse_parser_truncated(p);
    sse_parser_free(p);
}

/* Found by fuzzing: an id line longer than a carried line may grow, with a
 * NUL past that length, was ignored when seen whole (it holds a NUL) but
 * taken when carried across feeds (the NUL was cut off).  Both must agree. */
static void test_long_line_split_like_whole(void **state)
{
    (void)state;
    char s[2000];
    size_t n = 0;
    memcpy(s, "id:", 3);
    n = 3;
    memset(s + n, 'i', 1500);
    n += 1500;
    s[1400] = 0; /* past 64 + the line slack, inside the line */
    memcpy(s + n, "\ndata: x\n\n", 11);
    n += 11;
    recorder whole, split;
    uint64_t tw, ts;
    parse_pieces(s, n, 64, n, &whole, &tw);
    for (size_t piece = 1; piece < 200; piece += 37) {
        parse_pieces(s, n, 64, piece, &split, &ts);
        assert_same(&whole, &split);
        assert_int_equal(tw, ts);
    }
    assert_int_equal(whole.n, 1);
    assert_string_equal(whole.ev[0].data, "x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_fields),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_no_data_no_dispatch),
        cmocka_unit_test(test_bom_and_final_event),
        cmocka_unit_test(test_realistic_openai_stream),
        cmocka_unit_test(test_truncation_bounded),
        cmocka_unit_test(test_garbage_never_crashes),
        cmocka_unit_test(test_long_line_split_like_whole),
    };
    return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}

/* test_stage.c: tests src/capture/stage.c, the queue between the ring
 * reader and the decoder: records come out whole and in order (one thread
 * and two), a full queue says so and takes records again once drained, an
 * oversized record is refused, the memory touched stays as shallow as the
 * backlog however much passes through, and it is given back after idling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/stage.h"

#define MAX_REC 33000
#define BLOCK (256 * 1024)

/* Record seq: its length and bytes follow from seq alone. */
static size_t len_of(uint64_t seq)
{
    uint64_t x = seq * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return (x % 16 == 0) ? MAX_REC - (size_t)(x % 64) : (size_t)(x % 3000) + 8;
}

static void fill(uint8_t *buf, uint64_t seq)
{
    size_t n = len_of(seq);
    memcpy(buf, &seq, 8);
    for (size_t i = 8; i < n; i++)
        buf[i] = (uint8_t)(seq * 31 + i);
}

typedef struct checker {
    uint64_t next;
    int bad;
} checker;

static void check_rec(void *ctx, void *rec, size_t len)
{
    checker *c = ctx;
    uint64_t seq;
    memcpy(&seq, rec, 8);
    const uint8_t *b = rec;
    int ok = seq == c->next && len == len_of(seq);
    for (size_t i = 8; ok && i < len; i++)
        ok = b[i] == (uint8_t)(seq * 31 + i);
    if (!ok)
        c->bad++;
    c->next++;
}

/* Pushes records from *seq until the batch is full or `upto`; returns how many. */
static size_t push_batch(stage *st, uint64_t *seq, uint64_t upto)
{
    static uint8_t buf[MAX_REC];
    size_t n = 0;
    if (!stage_begin(st, 10))
        return 0;
    int room = 1;
    while (room > 0 && *seq < upto) {
        fill(buf, *seq);
        room = stage_push(st, buf, len_of(*seq));
        assert_true(room >= 0);
        (*seq)++;
        n++;
    }
    stage_publish(st);
    return n;
}

static void test_order_and_content(void **state)
{
    (void)state;
    stage *st = stage_new(4 * BLOCK, MAX_REC);
    assert_non_null(st);
    uint64_t seq = 0;
    checker c = {0};
    while (seq < 20000) {
        uint64_t upto = seq + 1 + seq % 37;
        push_batch(st, &seq, upto < 20000 ? upto : 20000);
        assert_true(stage_wait(st, 0));
        stage_drain(st, check_rec, &c);
    }
    assert_int_equal(c.next, 20000);
    assert_int_equal(c.bad, 0);
    stage_stats ss;
    stage_get_stats(st, &ss);
    assert_int_equal(ss.queued_bytes, 0);
    assert_false(stage_wait(st, 0));
    stage_free(st);
}

static void test_full_then_resume(void **state)
{
    (void)state;
    stage *st = stage_new(4 * BLOCK, MAX_REC);
    uint64_t seq = 0;
    while (push_batch(st, &seq, UINT64_MAX) > 0)
        ;
    assert_false(stage_begin(st, 5)); /* full: no room for another largest record */
    stage_stats ss;
    stage_get_stats(st, &ss);
    assert_true(ss.queued_bytes > 3 * BLOCK); /* the room was used, not refused early */
    assert_true(ss.peak_bytes >= ss.queued_bytes);
    checker c = {0};
    stage_drain(st, check_rec, &c);
    assert_int_equal(c.next, seq);
    assert_int_equal(c.bad, 0);
    assert_true(stage_begin(st, 5));
    stage_publish(st);
    stage_free(st);
}

static void test_oversize_refused(void **state)
{
    (void)state;
    stage *st = stage_new(4 * BLOCK, MAX_REC);
    static uint8_t big[MAX_REC + 1];
    assert_true(stage_begin(st, 5));
    assert_int_equal(stage_push(st, big, sizeof(big)), -1);
    stage_publish(st);
    assert_false(stage_wait(st, 0));
    assert_null(stage_new(BLOCK, MAX_REC));         /* fewer than 4 blocks */
    assert_null(stage_new(64 * BLOCK, 2 * BLOCK));  /* a record larger than a block */
    stage_free(st);
}

typedef struct producer {
    stage *st;
    uint64_t total;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    uint64_t seq = 0;
    while (seq < p->total) {
        uint64_t upto = seq + 1 + seq % 97;
        push_batch(p->st, &seq, upto < p->total ? upto : p->total);
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    stage *st = stage_new(8 * BLOCK, MAX_REC);
    producer p = {st, 200000};
    pthread_t t;
    pthread_create(&t, NULL, produce, &p);
    checker c = {0};
    while (c.next < p.total)
        if (stage_wait(st, 20))
            stage_drain(st, check_rec, &c);
    pthread_join(t, NULL);
    assert_int_equal(c.next, p.total);
    assert_int_equal(c.bad, 0);
    stage_stats ss;
    stage_get_stats(st, &ss);
    assert_int_equal(ss.queued_bytes, 0);
    assert_true(ss.peak_bytes <= 8 * BLOCK);
    stage_free(st);
}

/* 200 MB through a 32 MiB queue, a few records deep: only the first block
 * or two are ever touched; then, once idle, nothing stays resident. */
static void test_memory_shallow_and_released(void **state)
{
    (void)state;
    stage *st = stage_new(128 * BLOCK, MAX_REC);
    uint64_t seq = 0;
    checker c = {0};
    size_t bytes = 0;
    while (bytes < 200u << 20) {
        uint64_t from = seq;
        push_batch(st, &seq, seq + 4);
        for (uint64_t s = from; s < seq; s++)
            bytes += len_of(s);
        stage_drain(st, check_rec, &c);
    }
    assert_int_equal(c.bad, 0);
    print_message("resident after 200 MB at depth 4: %zu KiB\n", stage_resident(st) / 1024);
    assert_true(stage_resident(st) <= 2 * BLOCK);
    sleep(2);
    usleep(200000);
    assert_true(stage_begin(st, 5)); /* the producer gives the pages back */
    stage_publish(st);
    assert_int_equal(stage_resident(st), 0);
    push_batch(st, &seq, seq + 3); /* and the queue still works */
    stage_drain(st, check_rec, &c);
    assert_int_equal(c.next, seq);
    assert_int_equal(c.bad, 0);
    stage_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_content),
        cmocka_unit_test(test_full_then_resume),
        cmocka_unit_test(test_oversize_refused),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_memory_shallow_and_released),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_sink_deliver.c: tests src/sinks/deliver.c (queue, batching,
 * retries, dead-lettering, close), src/sinks/dlq.c (file layout, replay
 * claim) and src/sinks/sink_opts.c (option checks, side headers), with a
 * scripted transport standing in for the network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sinks/deliver.h"
#include "sinks/dlq.h"
#include "sinks/sink_opts.h"

/* ---- a scripted transport ---- */

typedef struct script {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int mode;          /* 0 ok, 1 retry N times then ok, 2 always retry, 3 fail, 4 odd ok / even retry once */
    int retries_left;
    int gate_closed;   /* send() waits while set */
    size_t batches, sizes[256];
    unsigned attempts[256];
    char delivered[4096][16]; /* event_ids in delivery order */
    size_t ndelivered;
} script;

static void sc_send(void *ctx, deliver_item **items, size_t n, unsigned attempt, int timeout_ms,
                    uint8_t *res, char *err, size_t errlen)
{
    script *s = ctx;
    (void)timeout_ms;
    pthread_mutex_lock(&s->mu);
    while (s->gate_closed)
        pthread_cond_wait(&s->cv, &s->mu);
    if (s->batches < 256) {
        s->sizes[s->batches] = n;
        s->attempts[s->batches] = attempt;
    }
    s->batches++;
    for (size_t i = 0; i < n; i++) {
        int r = DELIVER_OK;
        if (s->mode == 1 && s->retries_left > 0)
            r = DELIVER_RETRY;
        else if (s->mode == 2)
            r = DELIVER_RETRY;
        else if (s->mode == 3)
            r = DELIVER_FAIL;
        else if (s->mode == 4 && attempt == 0 && i % 2 == 1)
            r = DELIVER_RETRY;
        res[i] = (uint8_t)r;
        if (r == DELIVER_OK && s->ndelivered < 4096)
            snprintf(s->delivered[s->ndelivered++], 16, "%s", items[i]->event_id);
    }
    if (s->mode == 1 && s->retries_left > 0)
        s->retries_left--;
    snprintf(err, errlen, "scripted");
    pthread_mutex_unlock(&s->mu);
}

static void sc_free(void *ctx) { (void)ctx; }

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/oisp-test-deliver-XXXXXX");
    assert_non_null(mkdtemp(dir));
    script *s = calloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(*state);
    return 0;
}

static deliver *engine(script *s, deliver_opts *o)
{
    deliver_ops ops = {.send = sc_send, .free = sc_free};
    char err[256];
    if (!o->dlq_dir && !o->dlq_path)
        o->dlq_dir = dir;
    deliver *d = deliver_new("test", "http://x/y", o, &ops, s, err, sizeof(err));
    assert_non_null(d);
    return d;
}

static void opts_fast(deliver_opts *o)
{
    deliver_opts_default(o);
    o->backoff_base_ms = 1;
    o->backoff_max_ms = 4;
    o->linger_ms = 5;
}

static void submit_n(deliver *d, int from, int n, int *rc)
{
    for (int i = from; i < from + n; i++) {
        char line[64], id[16];
        snprintf(id, sizeof(id), "E%05d", i);
        int len = snprintf(line, sizeof(line), "{\"event_id\":\"%s\",\"n\":%d}", id, i);
        sink_event e = {.line = line, .len = (size_t)len, .type = "ai.request", .event_id = id};
        int r = deliver_submit(d, &e);
        if (rc)
            rc[i - from] = r;
    }
}

static size_t count_lines(const char *path, char lines[][64], size_t max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[256];
    size_t n = 0;
    while (fgets(buf, sizeof(buf), f)) {
        assert_non_null(strchr(buf, '\n')); /* whole lines only */
        if (lines && n < max)
            snprintf(lines[n], 64, "%.*s", (int)strcspn(buf, "\n"), buf);
        n++;
    }
    fclose(f);
    return n;
}

static void check_conserved(deliver *d, uint64_t submitted)
{
    sink_stats st;
    deliver_stats(d, &st);
    assert_int_equal(st.submitted, submitted);
    assert_int_equal(st.delivered + st.dead_lettered + st.dropped + st.queued, submitted);
}

static void test_batches_by_size_then_flush(void **state)
{
    script *s = *state;
    deliver_opts o;
    opts_fast(&o);
    o.batch_max = 10;
    o.linger_ms = 60000; /* only size or flush can send */
    deliver *d = engine(s, &o);
    submit_n(d, 0, 25, NULL);
    for (int i = 0; i < 200 && s->ndelivered < 20; i++)
        usleep(5000);
    assert_int_equal(s->ndelivered, 20);
    assert_int_equal(s->sizes[0], 10);
    assert_int_equal(s->sizes[1], 10);
    usleep(50000);
    assert_int_equal(s->ndelivered, 20); /* the last 5 linger */
    deliver_flush(d);
    for (int i = 0; i < 200 && s->ndelivered < 25; i++)
        usleep(5000);
    assert_int_equal(s->ndelivered, 25);
    assert_int_equal(s->sizes[2], 5);
    for (size_t i = 0; i < 25; i++) { /* in order */
        char id[16];
        snprintf(id, sizeof(id), "E%05zu", i);
        assert_string_equal(s->delivered[i], id);
    }
    check_conserved(d, 25);
    deliver_close(d, 1000);
}

static void test_linger_sends_a_partial_batch(void **state)
{
    script *s = *state;
    deliver_opts o;
    opts_fast(&o);
    o.linger_ms = 30;
    deliver *d = engine(s, &o);
    submit_n(d, 0, 3, NULL);
    for (int i = 0; i < 200 && s->ndelivered < 3; i++)
        usleep(5000);
    assert_int_equal(s->ndelivered, 3);
    assert_int_equal(s->batches, 1);
    deliver_close(d, 1000);
}

static void test_retry_then_deliver(void **state)
{
    script *s = *state;
    s->mode = 1;
    s->retries_left = 3;
    deliver_opts o;
    opts_fast(&o);
    o.max_retries = 5;
    deliver *d = engine(s, &o);
    submit_n(d, 0, 7, NULL);
    deliver_close(d, 5000); /* drains */
    assert_int_equal(s->ndelivered, 7);
    assert_int_equal(s->batches, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(s->attempts[i], i);
    char path[256];
    dlq_path_for(dir, "test", "http://x/y", path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1); /* nothing dead-lettered: no file */
}

static void test_retries_exhausted_go_to_dlq(void **state)
{
    script *s = *state;
    s->mode = 2;
    deliver_opts o;
    opts_fast(&o);
    o.max_retries = 2;
    o.dlq_header = "{\"kind\":\"test\",\"options\":{}}";
    deliver *d = engine(s, &o);
    submit_n(d, 0, 12, NULL);
    for (int i = 0; i < 400; i++) {
        sink_stats st;
        deliver_stats(d, &st);
        if (st.dead_lettered == 12)
            break;
        usleep(5000);
    }
    sink_stats st;
    deliver_stats(d, &st);
    assert_int_equal(st.dead_lettered, 12);
    assert_int_equal(st.delivered, 0);
    assert_int_equal(st.retried, 24);      /* 12 events x 2 retries */
    assert_int_equal(st.failed, 36);       /* x 3 attempts */
    assert_int_equal(s->batches, 3);
    const char *path = deliver_dlq_path(d);
    char lines[16][64];
    assert_int_equal(count_lines(path, lines, 16), 12);
    for (int i = 0; i < 12; i++) { /* the original lines, in order */
        char want[64];
        snprintf(want, sizeof(want), "{\"event_id\":\"E%05d\",\"n\":%d}", i, i);
        assert_string_equal(lines[i], want);
    }
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char side[300];
    snprintf(side, sizeof(side), "%s.sink", path);
    FILE *f = fopen(side, "r");
    assert_non_null(f);
    char hdr[256] = "";
    assert_non_null(fgets(hdr, sizeof(hdr), f));
    fclose(f);
    assert_string_equal(hdr, "{\"kind\":\"test\",\"options\":{}}\n");
    assert_non_null(strstr(path, "/test-http___x_y-"));
    char err[256];
    deliver_last_error(d, err, sizeof(err));
    assert_string_equal(err, "scripted");
    deliver_close(d, 100);
}

static void test_permanent_failure_not_retried(void **state)
{
    script *s = *state;
    s->mode = 3;
    deliver_opts o;
    opts_fast(&o);
    deliver *d = engine(s, &o);
    submit_n(d, 0, 5, NULL);
    deliver_close(d, 2000);
    assert_int_equal(s->batches, 1);
    char path[256];
    dlq_path_for(dir, "test", "http://x/y", path, sizeof(path));
    assert_int_equal(count_lines(path, NULL, 0), 5);
}

static void test_partial_results_retry_only_the_rest(void **state)
{
    script *s = *state;
    s->mode = 4;
    deliver_opts o;
    opts_fast(&o);
    deliver *d = engine(s, &o);
    submit_n(d, 0, 10, NULL);
    deliver_close(d, 2000);
    assert_int_equal(s->ndelivered, 10);
    assert_int_equal(s->sizes[0], 10);
    assert_int_equal(s->sizes[1], 5);
    assert_string_equal(s->delivered[5], "E00001"); /* the retried ones, in order */
    assert_string_equal(s->delivered[9], "E00009");
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void test_full_queue_dead_letters_without_blocking(void **state)
{
    script *s = *state;
    s->gate_closed = 1; /* the destination hangs */
    deliver_opts o;
    opts_fast(&o);
    o.queue_max = 5;
    o.batch_max = 2;
    o.linger_ms = 0;
    deliver *d = engine(s, &o);
    int rc[40];
    submit_n(d, 0, 1, rc);
    usleep(20000); /* the worker takes it and hangs in send() */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    submit_n(d, 1, 39, rc + 1);
    assert_true(ms_since(&t0) < 500); /* never waits for the destination */
    int refused = 0;
    for (int i = 0; i < 40; i++)
        refused += rc[i] != 0;
    assert_int_equal(refused, 34); /* 1 in flight + 5 queued */
    sink_stats st;
    deliver_stats(d, &st);
    assert_int_equal(st.dead_lettered, 34);
    assert_int_equal(st.queued, 6);
    pthread_mutex_lock(&s->mu);
    s->gate_closed = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    deliver_close(d, 2000);
    assert_int_equal(s->ndelivered, 6);
}

static void test_close_deadline_dead_letters_the_rest(void **state)
{
    script *s = *state;
    s->mode = 2;
    deliver_opts o;
    deliver_opts_default(&o);
    o.backoff_base_ms = 5000; /* a long backoff that close must cut short */
    o.backoff_max_ms = 5000;
    o.linger_ms = 0;
    o.max_retries = 100;
    deliver *d = engine(s, &o);
    submit_n(d, 0, 50, NULL);
    usleep(30000);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char path[256];
    snprintf(path, sizeof(path), "%s", deliver_dlq_path(d));
    deliver_close(d, 200);
    double took = ms_since(&t0);
    assert_true(took >= 150 && took < 2000);
    assert_int_equal(count_lines(path, NULL, 0), 50);
}

static void test_dlq_write_failure_counts_dropped(void **state)
{
    script *s = *state;
    s->mode = 3;
    char file[128];
    snprintf(file, sizeof(file), "%s/plainfile", dir);
    FILE *f = fopen(file, "w");
    fclose(f);
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/sub", file); /* a directory under a file: cannot exist */
    deliver_opts o;
    opts_fast(&o);
    o.dlq_dir = bad;
    deliver *d = engine(s, &o);
    submit_n(d, 0, 4, NULL);
    for (int i = 0; i < 200; i++) {
        sink_stats st;
        deliver_stats(d, &st);
        if (st.dropped == 4)
            break;
        usleep(5000);
    }
    check_conserved(d, 4);
    sink_stats st;
    deliver_stats(d, &st);
    assert_int_equal(st.dropped, 4);
    assert_int_equal(st.dead_lettered, 0);
    char err[256];
    deliver_last_error(d, err, sizeof(err));
    assert_non_null(strstr(err, "cannot create its directory"));
    deliver_close(d, 100);
}

typedef struct flood {
    deliver *d;
    int base;
} flood;

static void *flood_main(void *arg)
{
    flood *f = arg;
    submit_n(f->d, f->base, 3000, NULL);
    return NULL;
}

static void test_concurrent_submitters_lose_nothing(void **state)
{
    script *s = *state;
    s->mode = 4;
    deliver_opts o;
    opts_fast(&o);
    o.queue_max = 1000;
    o.batch_max = 64;
    deliver *d = engine(s, &o);
    pthread_t t[4];
    flood fl[4];
    for (int i = 0; i < 4; i++) {
        fl[i] = (flood){d, i * 3000};
        pthread_create(&t[i], NULL, flood_main, &fl[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 400; i++) {
        sink_stats st;
        deliver_stats(d, &st);
        if (!st.queued)
            break;
        usleep(5000);
    }
    check_conserved(d, 12000);
    sink_stats st;
    deliver_stats(d, &st);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.queued, 0);
    char path[256];
    snprintf(path, sizeof(path), "%s", deliver_dlq_path(d));
    assert_int_equal(count_lines(path, NULL, 0), st.dead_lettered);
    deliver_close(d, 1000);
}

static void test_dlq_claim_moves_writers_to_a_new_file(void **state)
{
    (void)state;
    char path[256], claimed[300], err[256];
    snprintf(path, sizeof(path), "%s/q/x.jsonl", dir);
    dlq *q = dlq_new(path, "webhook", "http://h/", NULL);
    const char *l1[2] = {"{\"a\":1}", "{\"a\":2}"};
    size_t n1[2] = {7, 7};
    assert_int_equal(dlq_append(q, l1, n1, 2, err, sizeof(err)), 2);
    int fd = dlq_claim(path, claimed, sizeof(claimed), err, sizeof(err));
    assert_true(fd >= 0);
    const char *l2[1] = {"{\"a\":3}"};
    assert_int_equal(dlq_append(q, l2, n1, 1, err, sizeof(err)), 1); /* while claimed */
    char lines[4][64];
    assert_int_equal(count_lines(claimed, lines, 4), 2);
    assert_int_equal(count_lines(path, lines, 4), 1);
    assert_string_equal(lines[0], "{\"a\":3}");
    close(fd);
    assert_int_equal(dlq_append(q, l2, n1, 1, err, sizeof(err)), 1); /* after the claim ends */
    assert_int_equal(count_lines(path, NULL, 0), 2);
    assert_int_equal(count_lines(claimed, NULL, 0), 2);
    char side[300];
    snprintf(side, sizeof(side), "%s.sink", path);
    assert_int_equal(access(side, F_OK), 0);
    dlq_free(q);
    char other[256];
    assert_int_equal(dlq_path_for("/d", "kafka", "k1:9092,k2:9092/topic", other, sizeof(other)), 0);
    assert_non_null(strstr(other, "/d/kafka-k1_9092_k2_9092_topic-"));
    assert_int_equal(dlq_path_for("/d", "kafka", "k1:9092/topicB", path, sizeof(path)), 0);
    assert_string_not_equal(other, path);
}

static void test_sink_opts_checks_and_headers(void **state)
{
    (void)state;
    sink_set *ss = sink_set_new();
    char err[512];
    int i;
#define OPT(name, v) sink_opts_parse(ss, sink_opts_index(name), v, err, sizeof(err))
    assert_int_equal(OPT("webhook", "ftp://x"), -1);
    assert_non_null(strstr(err, "--webhook ftp://x"));
    assert_int_equal(OPT("kafka", "brokers-without-topic"), -1);
    assert_int_equal(OPT("kafka-key", "pid"), -1);
    assert_int_equal(OPT("kafka-compression", "brotli"), -1);
    assert_int_equal(OPT("webhook-auth", "apikey:nokey"), -1);
    assert_int_equal(OPT("sink-queue", "0"), -1);
    assert_int_equal(OPT("rotate-size", "12"), -1);
    assert_int_equal(OPT("sink-backoff", "10,x"), -1);
    assert_int_equal(OPT("webhook", "http://127.0.0.1:9/h"), 0);
    assert_int_equal(OPT("webhook-auth", "basic:u:p:w"), 0);
    assert_int_equal(OPT("webhook-format", "ndjson"), 0);
    assert_int_equal(OPT("sink-retries", "3"), 0);
    assert_int_equal(OPT("kafka", "127.0.0.1:9/t"), 0);
    assert_int_equal(OPT("kafka-prop", "sasl.password=hunter2"), 0);
    assert_int_equal(OPT("kafka-prop", "acks=all"), 0);
    assert_int_equal(OPT("rotate-size", "10M"), 0);
    char *h = sink_opts_header(ss, "webhook");
    assert_non_null(h);
    assert_null(strstr(h, "u:p:w"));
    assert_non_null(strstr(h, "\"needs\":[\"webhook-auth\"]"));
    assert_non_null(strstr(h, "\"webhook-format\":[\"ndjson\"]"));
    assert_non_null(strstr(h, "\"sink-retries\":[\"3\"]"));
    assert_null(strstr(h, "kafka"));
    assert_null(strstr(h, "rotate"));
    free(h);
    h = sink_opts_header(ss, "kafka");
    assert_null(strstr(h, "hunter2"));
    assert_non_null(strstr(h, "\"kafka-prop sasl.password\""));
    assert_non_null(strstr(h, "acks=all"));
    free(h);
    assert_null(sink_opts_header(ss, "otlp"));
    for (i = 0; sink_opts_long()[i].name; i++) /* one table entry per option, values in range */
        assert_int_equal(sink_opts_long()[i].val, SINK_OPT_BASE + i);
    assert_int_equal((size_t)i, sink_opts_count());
    sink_set_close(ss, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batches_by_size_then_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linger_sends_a_partial_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_deliver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_exhausted_go_to_dlq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_failure_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_results_retry_only_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_dead_letters_without_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_deadline_dead_letters_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dlq_write_failure_counts_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_submitters_lose_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dlq_claim_moves_writers_to_a_new_file, setup, teardown),
        cmocka_unit_test(test_sink_opts_checks_and_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

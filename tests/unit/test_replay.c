/* test_replay.c: tests for src/cli/replay.c (`oisp-sensor replay`).
 *
 * The line reader is fed through pipes and files (lines across read
 * blocks, CR LF, a last line without newline, overlong lines in the middle
 * and at the end); line classification gets blank, malformed, truncated
 * and binary lines; the pacer is driven with made-up clocks; the same-file
 * check is tried through hard links, symbolic links and stdout.  Then
 * cmd_replay itself runs with an empty config file and --set: it copies
 * events to a new JSONL file with their event ids, counts what it skips,
 * keeps --rate, and refuses to replay a file into itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/replay.h"

/* ---- helpers ---- */

static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_replay.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_in(const char *name)
{
    static char bufs[16][256];
    static int k;
    char *p = bufs[k++ % 16];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* A reader over a file holding data. */
static replay_reader *reader_over(const char *data, size_t len, size_t max, int *fd)
{
    const char *p = path_in("reader.in");
    write_file(p, data, len);
    *fd = open(p, O_RDONLY);
    assert_true(*fd >= 0);
    replay_reader *r = replay_reader_new(*fd, max);
    assert_non_null(r);
    return r;
}

/* Next line must be exactly want (or an overlong line when want is NULL). */
static void expect_line(replay_reader *r, const char *want)
{
    const char *line;
    size_t len;
    int too_long;
    assert_int_equal(replay_reader_next(r, &line, &len, &too_long), 1);
    if (!want) {
        assert_int_equal(too_long, 1);
        assert_int_equal(len, 0);
        return;
    }
    assert_int_equal(too_long, 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(line, want, len);
}

static void expect_eof(replay_reader *r)
{
    const char *line;
    size_t len;
    int too_long;
    assert_int_equal(replay_reader_next(r, &line, &len, &too_long), 0);
    assert_int_equal(replay_reader_next(r, &line, &len, &too_long), 0);
}

static const char *EV1 = "{\"oisp_version\":\"0.1\",\"event_id\":\"01JAAAAAAAAAAAAAAAAAAAAAA1\","
                         "\"event_type\":\"ai.request\",\"ts\":\"2025-03-01T12:00:00.000000Z\"}";
static const char *EV2 = "{\"oisp_version\":\"0.1\",\"event_id\":\"01JAAAAAAAAAAAAAAAAAAAAAA2\","
                         "\"event_type\":\"ai.response\",\"ts\":\"2025-03-01T12:00:00.250000Z\"}";
static const char *EV3 = "{\"oisp_version\":\"0.1\",\"event_id\":\"01JAAAAAAAAAAAAAAAAAAAAAA3\","
                         "\"event_type\":\"ai.request\",\"ts\":\"2025-03-01T12:00:00.500000Z\"}";

/* ---- the reader ---- */

static void test_reader_lines_crlf_and_last_line(void **state)
{
    (void)state;
    const char *data = "one\ntwo\r\n\nthree\r\nlast without newline";
    int fd;
    replay_reader *r = reader_over(data, strlen(data), 1024, &fd);
    expect_line(r, "one");
    expect_line(r, "two");
    expect_line(r, "");
    expect_line(r, "three");
    expect_line(r, "last without newline");
    assert_int_equal(replay_reader_lineno(r), 5);
    expect_eof(r);
    replay_reader_free(r);
    close(fd);
}

static void test_reader_empty_input(void **state)
{
    (void)state;
    int fd;
    replay_reader *r = reader_over("", 0, 1024, &fd);
    expect_eof(r);
    replay_reader_free(r);
    close(fd);
}

/* Lines far longer than one read block, built byte-exact across blocks. */
static void test_reader_lines_across_blocks(void **state)
{
    (void)state;
    size_t n1 = 300000, n2 = 70000;
    char *data = malloc(n1 + n2 + 4);
    assert_non_null(data);
    for (size_t i = 0; i < n1; i++)
        data[i] = (char)('a' + i % 26);
    data[n1] = '\n';
    for (size_t i = 0; i < n2; i++)
        data[n1 + 1 + i] = (char)('0' + i % 10);
    data[n1 + 1 + n2] = '\n';
    int fd;
    replay_reader *r = reader_over(data, n1 + n2 + 2, 1 << 20, &fd);
    const char *line;
    size_t len;
    int tl;
    assert_int_equal(replay_reader_next(r, &line, &len, &tl), 1);
    assert_int_equal(len, n1);
    assert_memory_equal(line, data, n1);
    assert_int_equal(replay_reader_next(r, &line, &len, &tl), 1);
    assert_int_equal(len, n2);
    assert_memory_equal(line, data + n1 + 1, n2);
    expect_eof(r);
    replay_reader_free(r);
    close(fd);
    free(data);
}

/* An overlong line is skipped whole, the lines around it survive, and an
 * overlong last line (no newline) is reported too. */
static void test_reader_skips_overlong_lines(void **state)
{
    (void)state;
    size_t big = 500000;
    size_t cap = big * 2 + 64;
    char *data = malloc(cap);
    assert_non_null(data);
    size_t n = 0;
    n += (size_t)sprintf(data + n, "short\n");
    memset(data + n, 'x', big);
    n += big;
    data[n++] = '\n';
    n += (size_t)sprintf(data + n, "0123456789\n"); /* exactly max: kept */
    n += (size_t)sprintf(data + n, "01234567890\n"); /* max + 1: skipped */
    n += (size_t)sprintf(data + n, "after\n");
    memset(data + n, 'y', big);
    n += big;
    int fd;
    replay_reader *r = reader_over(data, n, 10, &fd);
    expect_line(r, "short");
    expect_line(r, NULL);
    expect_line(r, "0123456789");
    expect_line(r, NULL);
    expect_line(r, "after");
    expect_line(r, NULL);
    assert_int_equal(replay_reader_lineno(r), 6);
    expect_eof(r);
    replay_reader_free(r);
    close(fd);
    free(data);
}

/* A pipe delivers a line in many small writes. */
static void test_reader_from_pipe_in_pieces(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        const char *parts[] = {"{\"a\":", "1}\n{\"b\"", ":2}", "\n", "tail"};
        for (size_t i = 0; i < 5; i++) {
            if (write(p[1], parts[i], strlen(parts[i])) < 0)
                _exit(1);
            usleep(20000);
        }
        _exit(0);
    }
    close(p[1]);
    replay_reader *r = replay_reader_new(p[0], 1024);
    assert_non_null(r);
    expect_line(r, "{\"a\":1}");
    expect_line(r, "{\"b\":2}");
    expect_line(r, "tail");
    expect_eof(r);
    replay_reader_free(r);
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- line classification ---- */

static void test_parse_line_kinds(void **state)
{
    (void)state;
    json_t *ev;
    assert_int_equal(replay_parse_line("", 0, &ev), REPLAY_LINE_BLANK);
    assert_null(ev);
    assert_int_equal(replay_parse_line(" \t \r", 4, &ev), REPLAY_LINE_BLANK);
    const char *bad[] = {"not json", "{\"event_id\":\"x\",\"event_type\":\"ai.request\"", "{}{}",
                         "{\"event_id\":\"x\",} ", "\"just a string", "nul"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(replay_parse_line(bad[i], strlen(bad[i]), &ev), REPLAY_LINE_NOT_JSON);
        assert_null(ev);
    }
    const char *not_event[] = {"[1,2,3]", "42", "\"text\"", "{}",
                               "{\"event_type\":\"ai.request\"}",
                               "{\"event_id\":\"01J\"}",
                               "{\"event_id\":7,\"event_type\":\"ai.request\"}",
                               "{\"event_id\":\"01J\",\"event_type\":null}"};
    for (size_t i = 0; i < sizeof(not_event) / sizeof(not_event[0]); i++) {
        assert_int_equal(replay_parse_line(not_event[i], strlen(not_event[i]), &ev),
                         REPLAY_LINE_NOT_EVENT);
        assert_null(ev);
    }
    assert_int_equal(replay_parse_line(EV1, strlen(EV1), &ev), REPLAY_LINE_EVENT);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "event_id")),
                        "01JAAAAAAAAAAAAAAAAAAAAAA1");
    json_decref(ev);
}

/* Binary garbage, embedded NULs and a truncated copy of every prefix of
 * an event never crash and are never taken for events. */
static void test_parse_line_garbage_and_truncation(void **state)
{
    (void)state;
    json_t *ev;
    char garbage[4096];
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(rand_r(&seed) % sizeof(garbage));
        for (size_t i = 0; i < n; i++)
            garbage[i] = (char)(rand_r(&seed) & 0xff);
        replay_line_kind k = replay_parse_line(garbage, n, &ev);
        assert_true(k != REPLAY_LINE_EVENT);
        assert_null(ev);
    }
    size_t len = strlen(EV1);
    for (size_t n = 1; n < len; n++) {
        assert_int_not_equal(replay_parse_line(EV1, n, &ev), REPLAY_LINE_EVENT);
        assert_null(ev);
    }
    char withnul[256];
    memcpy(withnul, EV1, len);
    withnul[10] = 0;
    assert_int_equal(replay_parse_line(withnul, len, &ev), REPLAY_LINE_NOT_JSON);
}

/* ---- timestamps ---- */

static void test_parse_ts(void **state)
{
    (void)state;
    int64_t us, base;
    assert_int_equal(replay_parse_ts("1970-01-01T00:00:00Z", &us), 0);
    assert_int_equal(us, 0);
    assert_int_equal(replay_parse_ts("2025-03-01T12:00:00.123456Z", &base), 0);
    assert_int_equal(base, 1740830400123456LL);
    assert_int_equal(replay_parse_ts("2025-03-01T12:00:00.123Z", &us), 0);
    assert_int_equal(us, 1740830400123000LL);
    assert_int_equal(replay_parse_ts("2025-03-01T12:00:00.123456789Z", &us), 0);
    assert_int_equal(us, base); /* kept to the microsecond */
    assert_int_equal(replay_parse_ts("2025-03-01T14:00:00.123456+02:00", &us), 0);
    assert_int_equal(us, base);
    assert_int_equal(replay_parse_ts("2025-03-01T06:30:00.123456-05:30", &us), 0);
    assert_int_equal(us, base);
    assert_int_equal(replay_parse_ts("2024-02-29T00:00:00Z", &us), 0);
    assert_int_equal(us, 1709164800000000LL);
    const char *bad[] = {"", "2025-03-01", "2025-03-01T12:00:00", "2025-13-01T00:00:00Z",
                         "2025-02-29T00:00:00Z", "2025-03-01T24:00:00Z", "2025-03-01T12:00:00.Z",
                         "2025-03-01T12:00:00Zjunk", "2025-03-01T12:00:00+0200",
                         "2025/03/01T12:00:00Z", "x025-03-01T12:00:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(replay_parse_ts(bad[i], &us), -1);
    assert_int_equal(replay_parse_ts(NULL, &us), -1);
}

/* ---- pacing ---- */

static void test_pacer_fast(void **state)
{
    (void)state;
    replay_pacer p;
    replay_pacer_init(&p, REPLAY_FAST, 0);
    assert_int_equal(replay_pacer_due(&p, 1000, 0, 0), 1000);
    assert_int_equal(replay_pacer_due(&p, 5000, 1, 99), 5000);
    assert_int_equal(replay_pacer_due(&p, 7000, 0, 0), 7000);
}

static void test_pacer_rate(void **state)
{
    (void)state;
    replay_pacer p;
    replay_pacer_init(&p, REPLAY_RATE, 4); /* one event each 250 ms */
    uint64_t t0 = 1000000000ull;
    assert_int_equal(replay_pacer_due(&p, t0, 0, 0), t0);
    /* the schedule is from the start, not from when the caller got round to it */
    assert_int_equal(replay_pacer_due(&p, t0 + 10, 0, 0), t0 + 250000000ull);
    assert_int_equal(replay_pacer_due(&p, t0 + 900000000ull, 0, 0), t0 + 500000000ull);
    assert_int_equal(replay_pacer_due(&p, t0 + 900000000ull, 0, 0), t0 + 750000000ull);
    replay_pacer_init(&p, REPLAY_RATE, 1000000);
    for (int i = 0; i < 1000; i++)
        replay_pacer_due(&p, 0, 0, 0);
    assert_int_equal(replay_pacer_due(&p, 0, 0, 0), 1000000ull); /* 1000 events at 1M/s: 1 ms */
}

static void test_pacer_realtime(void **state)
{
    (void)state;
    replay_pacer p;
    replay_pacer_init(&p, REPLAY_REALTIME, 0);
    uint64_t t0 = 50000;
    int64_t ts = 1740830400000000LL;
    assert_int_equal(replay_pacer_due(&p, t0, 1, ts), t0);
    assert_int_equal(replay_pacer_due(&p, t0 + 1, 1, ts + 250000), t0 + 250000000ull);
    /* no ts: with the one before */
    assert_int_equal(replay_pacer_due(&p, t0 + 2, 0, 0), t0 + 250000000ull);
    /* older than the one before: not earlier than it */
    assert_int_equal(replay_pacer_due(&p, t0 + 3, 1, ts + 100000), t0 + 250000000ull);
    assert_int_equal(replay_pacer_due(&p, t0 + 4, 1, ts + 2000000), t0 + 2000000000ull);
    /* events before the first one's ts never go back in time either */
    assert_int_equal(replay_pacer_due(&p, t0 + 5, 1, ts - 5000000), t0 + 2000000000ull);

    /* a file whose first events have no ts starts its clock at the first ts */
    replay_pacer_init(&p, REPLAY_REALTIME, 0);
    assert_int_equal(replay_pacer_due(&p, 100, 0, 0), 100);
    assert_int_equal(replay_pacer_due(&p, 200, 1, ts), 100);
    assert_int_equal(replay_pacer_due(&p, 300, 1, ts + 1), 1100);
}

/* ---- same file ---- */

static void test_same_file(void **state)
{
    (void)state;
    const char *a = path_in("same.a"), *b = path_in("same.b");
    write_file(a, "x\n", 2);
    write_file(b, "x\n", 2);
    int fd = open(a, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(replay_same_file(fd, a), 1);
    assert_int_equal(replay_same_file(fd, b), 0);
    assert_int_equal(replay_same_file(fd, path_in("does-not-exist")), 0);
    const char *hard = path_in("same.hard"), *soft = path_in("same.soft");
    assert_int_equal(link(a, hard), 0);
    assert_int_equal(symlink(a, soft), 0);
    assert_int_equal(replay_same_file(fd, hard), 1);
    assert_int_equal(replay_same_file(fd, soft), 1);
    char dotted[300];
    snprintf(dotted, sizeof(dotted), "%s/./../%s/same.a", tmpdir, strrchr(tmpdir, '/') + 1);
    assert_int_equal(replay_same_file(fd, dotted), 1);
    /* "-": stdout, here pointed at the input file */
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int w = open(a, O_WRONLY | O_APPEND);
    assert_true(w >= 0 && saved >= 0);
    dup2(w, STDOUT_FILENO);
    int r = replay_same_file(fd, "-");
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(w);
    assert_int_equal(r, 1);
    assert_int_equal(replay_same_file(fd, "-"), 0);
    close(fd);
    assert_int_equal(replay_same_file(-1, a), -1);
}

/* ---- the command ---- */

static int run_replay(const char *in, const char *out, const char *extra)
{
    const char *cfg = path_in("empty.toml");
    write_file(cfg, "# nothing: defaults\n", 20);
    char setout[512];
    snprintf(setout, sizeof(setout), "output.jsonl.path=%s", out);
    char *argv[12] = {"replay", (char *)in, "--config", (char *)cfg, "--set", setout, "-q", "--drain",
                      "2000", NULL, NULL, NULL};
    int argc = 9;
    char extra_copy[128];
    if (extra) { /* "--rate 20" */
        snprintf(extra_copy, sizeof(extra_copy), "%s", extra);
        char *sp = strchr(extra_copy, ' ');
        argv[argc++] = extra_copy;
        if (sp) {
            *sp = 0;
            argv[argc++] = sp + 1;
        }
    }
    return cmd_replay(argc, argv);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_cmd_copies_events_and_skips_bad_lines(void **state)
{
    (void)state;
    const char *in = path_in("cmd.in"), *out = path_in("cmd.out");
    char data[2048];
    int n = snprintf(data, sizeof(data), "%s\nnot json at all\n\n[1,2]\n%s\r\n{\"event_type\":\"x\"}\n%s",
                     EV1, EV2, EV3);
    write_file(in, data, (size_t)n);
    unlink(out);
    assert_int_equal(run_replay(in, out, NULL), 0);
    char *got = read_all(out, NULL);
    assert_non_null(got);
    assert_int_equal(count_lines(got), 3);
    char want[2048];
    snprintf(want, sizeof(want), "%s\n%s\n%s\n", EV1, EV2, EV3);
    assert_string_equal(got, want); /* same events, same ids, same bytes */
    free(got);
    chmod(out, 0600);
}

static void test_cmd_refuses_to_replay_into_itself(void **state)
{
    (void)state;
    const char *in = path_in("self.jsonl"), *link_name = path_in("self.link");
    char data[1024];
    int n = snprintf(data, sizeof(data), "%s\n%s\n", EV1, EV2);
    write_file(in, data, (size_t)n);
    assert_int_equal(run_replay(in, in, NULL), 2);
    assert_int_equal(symlink(in, link_name), 0);
    assert_int_equal(run_replay(in, link_name, NULL), 2);
    size_t len;
    char *got = read_all(in, &len);
    assert_int_equal(len, (size_t)n); /* untouched */
    free(got);
}

static void test_cmd_rate_paces(void **state)
{
    (void)state;
    const char *in = path_in("rate.in"), *out = path_in("rate.out");
    char data[4096] = "";
    size_t n = 0;
    for (int i = 0; i < 6; i++)
        n += (size_t)snprintf(data + n, sizeof(data) - n,
                              "{\"event_id\":\"E%d\",\"event_type\":\"ai.request\"}\n", i);
    write_file(in, data, n);
    unlink(out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(run_replay(in, out, "--rate 20"), 0); /* 6 events: 5 gaps of 50 ms */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(el >= 0.24);
    assert_true(el < 2.0);
    char *got = read_all(out, NULL);
    assert_non_null(got);
    assert_int_equal(count_lines(got), 6);
    free(got);
}

static void test_cmd_realtime_keeps_gaps(void **state)
{
    (void)state;
    const char *in = path_in("rt.in"), *out = path_in("rt.out");
    char data[2048];
    int n = snprintf(data, sizeof(data), "%s\n%s\n%s\n", EV1, EV2, EV3); /* 0, 250, 500 ms */
    write_file(in, data, (size_t)n);
    unlink(out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(run_replay(in, out, "--realtime"), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(el >= 0.49);
    assert_true(el < 2.0);
}

static void test_cmd_wait_delays_the_first_event(void **state)
{
    (void)state;
    const char *in = path_in("wait.in"), *out = path_in("wait.out");
    char data[1024];
    int n = snprintf(data, sizeof(data), "%s\n", EV1);
    write_file(in, data, (size_t)n);
    unlink(out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(run_replay(in, out, "--wait 300"), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(el >= 0.29);
    assert_true(el < 2.0);
    char *got = read_all(out, NULL);
    assert_non_null(got);
    assert_int_equal(count_lines(got), 1);
    free(got);
}

static void test_cmd_usage_errors(void **state)
{
    (void)state;
    char *a1[] = {"replay", NULL};
    assert_int_equal(cmd_replay(1, a1), 2);
    char *a2[] = {"replay", (char *)path_in("no-such-file"), NULL};
    assert_int_equal(cmd_replay(2, a2), 2);
    char *a3[] = {"replay", "x", "--rate", "0", NULL};
    assert_int_equal(cmd_replay(4, a3), 2);
    char *a4[] = {"replay", "x", "--rate", "5", "--realtime", NULL};
    assert_int_equal(cmd_replay(5, a4), 2);
    char *a5[] = {"replay", "x", "--set", "novalue", NULL};
    assert_int_equal(cmd_replay(4, a5), 2);
    char *a7[] = {"replay", "x", "--wait", "soon", NULL};
    assert_int_equal(cmd_replay(4, a7), 2);
    char *a6[] = {"replay", "--help", NULL};
    assert_int_equal(cmd_replay(2, a6), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_lines_crlf_and_last_line),
        cmocka_unit_test(test_reader_empty_input),
        cmocka_unit_test(test_reader_lines_across_blocks),
        cmocka_unit_test(test_reader_skips_overlong_lines),
        cmocka_unit_test(test_reader_from_pipe_in_pieces),
        cmocka_unit_test(test_parse_line_kinds),
        cmocka_unit_test(test_parse_line_garbage_and_truncation),
        cmocka_unit_test(test_parse_ts),
        cmocka_unit_test(test_pacer_fast),
        cmocka_unit_test(test_pacer_rate),
        cmocka_unit_test(test_pacer_realtime),
        cmocka_unit_test(test_same_file),
        cmocka_unit_test(test_cmd_copies_events_and_skips_bad_lines),
        cmocka_unit_test(test_cmd_refuses_to_replay_into_itself),
        cmocka_unit_test(test_cmd_rate_paces),
        cmocka_unit_test(test_cmd_realtime_keeps_gaps),
        cmocka_unit_test(test_cmd_wait_delays_the_first_event),
        cmocka_unit_test(test_cmd_usage_errors),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}

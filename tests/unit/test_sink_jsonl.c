/* test_sink_jsonl.c: tests src/sinks/jsonl.c: rotation by size and by
 * time with retention, modes, flush interval, background fsync, and that a
 * writer killed with SIGKILL leaves only whole lines (or one fragment a
 * reader skips, which a reopened sink closes with '\n'). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sinks/jsonl.h"
#include "sinks/sink.h"

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/oisp-test-jsonl-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/events.jsonl", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Reads a file the way a reader should: whole lines that parse; returns
 * their "n" values into ns, and counts fragments / bad lines. */
static size_t read_events(const char *p, long *ns, size_t max, size_t *bad, int *torn_tail)
{
    FILE *f = fopen(p, "r");
    *bad = 0;
    *torn_tail = 0;
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n') {
            *torn_tail = 1;
            break;
        }
        json_t *j = json_loadb(line, (size_t)len - 1, 0, NULL);
        if (!j) {
            (*bad)++;
            continue;
        }
        if (n < max)
            ns[n] = (long)json_integer_value(json_object_get(j, "n"));
        n++;
        json_decref(j);
    }
    free(line);
    fclose(f);
    return n;
}

static void write_event(jsonl_sink *s, long i, size_t pad)
{
    char line[8192];
    char fill[4096];
    if (pad >= sizeof(fill))
        pad = sizeof(fill) - 1;
    memset(fill, 'x', pad);
    fill[pad] = 0;
    int len = snprintf(line, sizeof(line), "{\"n\":%ld,\"pad\":\"%s\"}", i, fill);
    assert_int_equal(jsonl_write(s, line, (size_t)len), 0);
}

static off_t size_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static void test_rotation_by_size_keeps_n(void **state)
{
    (void)state;
    jsonl_opts o;
    jsonl_opts_default(&o);
    o.rotate_size = 64 * 1024;
    o.rotate_keep = 2;
    char err[256];
    jsonl_sink *s = jsonl_open_opts(path, &o, err, sizeof(err));
    assert_non_null(s);
    for (long i = 0; i < 1000; i++) /* ~330 KB: 5 rotations */
        write_event(s, i, 300);
    jsonl_close(s);
    char p1[160], p2[160], p3[160];
    snprintf(p1, sizeof(p1), "%s.1", path);
    snprintf(p2, sizeof(p2), "%s.2", path);
    snprintf(p3, sizeof(p3), "%s.3", path);
    assert_int_equal(access(p3, F_OK), -1); /* only 2 kept */
    const char *files[3] = {p2, p1, path};
    long ns[1000];
    long expect = -1;
    for (int f = 0; f < 3; f++) {
        size_t bad;
        int torn;
        off_t sz = size_of(files[f]);
        assert_true(sz > 0 && sz <= 64 * 1024);
        size_t n = read_events(files[f], ns, 1000, &bad, &torn);
        assert_int_equal(bad, 0);
        assert_int_equal(torn, 0);
        for (size_t k = 0; k < n; k++) { /* consecutive across the files, ending at 999 */
            if (expect >= 0)
                assert_int_equal(ns[k], expect + 1);
            expect = ns[k];
        }
        struct stat st;
        assert_int_equal(stat(files[f], &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    assert_int_equal(expect, 999);
}

static void test_rotation_by_time(void **state)
{
    (void)state;
    jsonl_opts o;
    jsonl_opts_default(&o);
    o.rotate_interval_s = 1;
    o.rotate_keep = 3;
    char err[256];
    jsonl_sink *s = jsonl_open_opts(path, &o, err, sizeof(err));
    assert_non_null(s);
    write_event(s, 0, 10);
    jsonl_tick(s);
    usleep(1100000);
    jsonl_tick(s); /* due: rotates */
    write_event(s, 1, 10);
    usleep(1100000);
    jsonl_tick(s);
    jsonl_tick(s); /* nothing new written since the last rotation: no empty files rotated */
    usleep(1100000);
    jsonl_tick(s);
    assert_int_equal(jsonl_get_stats(s)->rotations, 2);
    jsonl_close(s);
    char p1[160], p2[160], p3[160];
    snprintf(p1, sizeof(p1), "%s.1", path);
    snprintf(p2, sizeof(p2), "%s.2", path);
    snprintf(p3, sizeof(p3), "%s.3", path);
    long ns[4];
    size_t bad;
    int torn;
    assert_int_equal(read_events(p2, ns, 4, &bad, &torn), 1);
    assert_int_equal(ns[0], 0);
    assert_int_equal(read_events(p1, ns, 4, &bad, &torn), 1);
    assert_int_equal(ns[0], 1);
    assert_int_equal(size_of(path), 0);
    assert_int_equal(access(p3, F_OK), -1);
}

static void test_flush_interval_and_fsync(void **state)
{
    (void)state;
    jsonl_opts o;
    jsonl_opts_default(&o);
    o.flush_ms = 0; /* every line is written at once */
    o.fsync_ms = 5;
    char err[256];
    jsonl_sink *s = jsonl_open_opts(path, &o, err, sizeof(err));
    assert_non_null(s);
    write_event(s, 0, 5);
    off_t one = size_of(path);
    assert_true(one > 0);
    write_event(s, 1, 5);
    assert_true(size_of(path) > one);
    usleep(30000); /* the fsync thread runs meanwhile */
    jsonl_close(s);

    o.flush_ms = 60000; /* now nothing is written until close or a full buffer */
    o.fsync_ms = 0;
    s = jsonl_open_opts(path, &o, err, sizeof(err));
    off_t before = size_of(path);
    write_event(s, 2, 5);
    jsonl_tick(s);
    assert_int_equal(size_of(path), before);
    jsonl_flush(s);
    assert_true(size_of(path) > before);
    jsonl_close(s);
}

/* A child writes as fast as it can; SIGKILL it mid-stream. */
static void test_killed_writer_leaves_whole_lines(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            jsonl_opts o;
            jsonl_opts_default(&o);
            o.flush_ms = round; /* 0, 1, 2 ms: many write() calls */
            char err[256];
            jsonl_sink *s = jsonl_open_opts(path, &o, err, sizeof(err));
            if (!s)
                _exit(1);
            for (long i = 0;; i++)
                write_event(s, i, (size_t)(i % 3000));
        }
        usleep(150000);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFSIGNALED(st));
        long *ns = malloc(sizeof(long) * 2000000);
        size_t bad;
        int torn;
        size_t n = read_events(path, ns, 2000000, &bad, &torn);
        assert_true(n > 100);
        assert_int_equal(bad, 0); /* every complete line parses */
        free(ns);
        unlink(path);
    }
}

static void test_reopen_after_torn_tail(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    fputs("{\"n\":1}\n{\"n\":2,\"pad\":\"cut he", f); /* a crash cut the last line */
    fclose(f);
    chmod(path, 0644);
    char err[256];
    jsonl_sink *s = jsonl_open(path, err, sizeof(err));
    assert_non_null(s);
    write_event(s, 3, 1);
    jsonl_close(s);
    long ns[8];
    size_t bad;
    int torn;
    assert_int_equal(read_events(path, ns, 8, &bad, &torn), 2);
    assert_int_equal(ns[0], 1);
    assert_int_equal(ns[1], 3); /* whole, on its own line */
    assert_int_equal(bad, 1);   /* the fragment: one line a reader skips */
    assert_int_equal(torn, 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_big_line_and_sink_interface(void **state)
{
    (void)state;
    jsonl_opts o;
    jsonl_opts_default(&o);
    o.rotate_size = 8192;
    char err[256];
    sink *s = sink_jsonl_new_opts(path, &o, err, sizeof(err));
    assert_non_null(s);
    size_t big = 600 * 1024; /* larger than the buffer and the rotation size */
    char *line = malloc(big + 32);
    int len = snprintf(line, 32, "{\"n\":7,\"pad\":\"");
    memset(line + len, 'y', big);
    memcpy(line + len + big, "\"}", 3);
    sink_event e = {.line = line, .len = strlen(line), .type = "ai.request"};
    assert_int_equal(s->v->submit(s, &e), 0);
    e.line = "{\"n\":8}";
    e.len = 7;
    assert_int_equal(s->v->submit(s, &e), 0);
    sink_stats st;
    s->v->stats(s, &st);
    assert_int_equal(st.submitted, 2);
    assert_int_equal(st.delivered, 2);
    s->v->close(s, 0);
    free(line);
    long ns[4];
    size_t bad;
    int torn;
    char p1[160];
    snprintf(p1, sizeof(p1), "%s.1", path);
    /* the big line got a file of its own, then rotated away */
    assert_int_equal(read_events(p1, ns, 4, &bad, &torn), 1);
    assert_int_equal(ns[0], 7);
    assert_int_equal(read_events(path, ns, 4, &bad, &torn), 1);
    assert_int_equal(ns[0], 8);
}

/* Pages of the file that are in the page cache, counted with mincore(). */
static size_t cached_pages(const char *p, size_t len)
{
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    size_t pages = (len + 4095) / 4096, n = 0;
    unsigned char *vec = malloc(pages);
    assert_int_equal(mincore(m, len, vec), 0);
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    free(vec);
    munmap(m, len);
    close(fd);
    return n;
}

/* Write-behind: after 64 MiB of events, the first 16 MiB (handed to
 * writeback long before) are no longer in the page cache, while every
 * line is still in the file. */
static void test_write_behind_drops_old_pages(void **state)
{
    (void)state;
    jsonl_opts o;
    jsonl_opts_default(&o);
    char err[256];
    jsonl_sink *s = jsonl_open_opts(path, &o, err, sizeof(err));
    assert_non_null(s);
    long n = 0;
    struct stat st = {0};
    for (int round = 0; round < 50 && (stat(path, &st) != 0 || st.st_size < (64 << 20)); round++) {
        for (int i = 0; i < 2000; i++)
            write_event(s, n++, 600);
        jsonl_flush(s);
        usleep(10000); /* the helper works in the background */
    }
    size_t early = 16u << 20, cached = 0;
    for (int tries = 0; tries < 100; tries++) { /* writeback may still be running */
        cached = cached_pages(path, early);
        if (cached < early / 4096 / 4)
            break;
        for (int i = 0; i < 2000; i++)
            write_event(s, n++, 600);
        jsonl_flush(s);
        usleep(20000);
    }
    jsonl_close(s);
    assert_true(cached < early / 4096 / 4);
    size_t bad;
    int torn;
    long first[1];
    assert_int_equal(read_events(path, first, 1, &bad, &torn), (size_t)n);
    assert_int_equal(bad, 0);
    assert_int_equal(torn, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotation_by_size_keeps_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_interval_and_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_writer_leaves_whole_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_line_and_sink_interface, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_behind_drops_old_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

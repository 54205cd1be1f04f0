/* test_events.c: tests src/events (ulid.c, clock.c, event.c, proc.c),
 * src/sinks/jsonl.c, src/util/jsonu.c and src/cli/opts.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/opts.h"
#include "events/clock.h"
#include "util/monotime.h"
#include "events/event.h"
#include "events/proc.h"
#include "events/ulid.h"
#include "sinks/jsonl.h"
#include "util/jsonu.h"

static void test_ulid_format_and_order(void **state)
{
    (void)state;
    char prev[27] = "", id[27];
    for (int i = 0; i < 5000; i++) {
        ulid_new(id, 1700000000000ull + (uint64_t)(i / 1000));
        assert_int_equal(strlen(id), 26);
        assert_int_equal(strspn(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 26);
        assert_true(strcmp(prev, id) < 0); /* strictly increasing, also within one ms */
        memcpy(prev, id, sizeof(id));
    }
}

static void test_rfc3339(void **state)
{
    (void)state;
    char ts[32];
    clock_rfc3339(1766434505123456789ull, ts);
    assert_string_equal(ts, "2025-12-22T20:15:05.123456Z");
    clock_rfc3339(1766434505000000999ull, ts); /* same second: the kept date, new fraction */
    assert_string_equal(ts, "2025-12-22T20:15:05.000000Z");
    clock_rfc3339(1766434506999999000ull, ts); /* next second */
    assert_string_equal(ts, "2025-12-22T20:15:06.999999Z");
    clock_rfc3339(0, ts);
    assert_string_equal(ts, "1970-01-01T00:00:00.000000Z");
}

static void test_envelope(void **state)
{
    (void)state;
    clock_sync();
    json_t *host = event_host_info();
    char id[27];
    json_t *ev = event_new("ai.request", mono_ns(), "ebpf_uprobe", "ssl_write", host, id);
    assert_string_equal(json_string_value(json_object_get(ev, "event_id")), id);
    assert_string_equal(json_string_value(json_object_get(ev, "oisp_version")), "0.1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "host"), "os")),
                        "linux");
    size_t len;
    char *s = event_serialize(ev, &len);
    assert_non_null(s);
    assert_null(memchr(s, '\n', len));
    free(s);
    json_decref(ev);
    json_decref(host);
}

static void test_jsonu_lossy(void **state)
{
    (void)state;
    json_t *a = jsonu_string_lossy("caf\xc3\xa9 \xf0\x9f\x9a\x80", 10);
    assert_string_equal(json_string_value(a), "caf\xc3\xa9 \xf0\x9f\x9a\x80");
    json_t *b = jsonu_string_lossy("a\xff" "b\xc3", 4);
    assert_string_equal(json_string_value(b), "a\xef\xbf\xbd" "b\xef\xbf\xbd");
    json_t *c = jsonu_string_lossy("x\0y", 3); /* NUL is not allowed in jansson strings */
    assert_string_equal(json_string_value(c), "x\xef\xbf\xbdy");
    json_t *d = jsonu_string_lossy("\xed\xa0\x80", 3); /* encoded surrogate */
    assert_int_equal(json_string_length(d), 9);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
}

static void test_parse_size(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(opts_parse_size("1M", &v), 0);
    assert_int_equal(v, 1048576);
    assert_int_equal(opts_parse_size("64k", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(opts_parse_size("2GiB", &v), 0);
    assert_int_equal(v, 2ull << 30);
    assert_int_equal(opts_parse_size("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(opts_parse_size("", &v), -1);
    assert_int_equal(opts_parse_size("-1", &v), -1);
    assert_int_equal(opts_parse_size("12X", &v), -1);
    assert_int_equal(opts_parse_size("99999999999999999999G", &v), -1);
}

static void test_jsonl_sink_mode_and_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/oisp-test-jsonl-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    chmod(path, 0644);
    char err[256];
    jsonl_sink *s = jsonl_open(path, err, sizeof(err));
    assert_non_null(s);
    char big[300000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(jsonl_write(s, "{\"a\":1}", 7), 0);
    assert_int_equal(jsonl_write(s, big, strlen(big)), 0); /* larger than the buffer */
    jsonl_close(s);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 1000 * 8 + sizeof(big));
    unlink(path);
    assert_null(jsonl_open("/nonexistent-dir/x.jsonl", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent-dir/x.jsonl"));
}

static void test_proc_self(void **state)
{
    (void)state;
    uint64_t start;
    json_t *o = proc_read("/proc", (uint32_t)getpid(), &start);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
    assert_int_equal(json_integer_value(json_object_get(o, "ppid")), getppid());
    assert_non_null(strstr(json_string_value(json_object_get(o, "exe")), "test_events"));
    assert_non_null(json_object_get(o, "cmdline"));
    json_decref(o);
    proc_cache *pc = proc_cache_new(4);
    for (uint32_t pid = 1; pid < 50; pid++) /* more than max: cleared, stays bounded */
        assert_non_null(proc_cache_get(pc, pid));
    assert_non_null(json_object_get(proc_cache_get(pc, 999999999), "pid"));
    proc_cache_exited(pc, 49, 1);
    proc_cache_reap(pc, 1);            /* within the grace period: kept */
    assert_non_null(proc_cache_get(pc, 49));
    proc_cache_reap(pc, 60000000000ull);
    proc_cache_drop(pc, 48);
    json_t *me = proc_cache_get(pc, (uint32_t)getpid());
    assert_true(json_array_size(json_object_get(me, "ancestors")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(me, "ancestors"), 0), "pid")), getppid());
    proc_cache_free(pc);
    char id[65];
    proc_container_id("0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n", id);
    assert_string_equal(id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    proc_container_id("0::/user.slice/user-0.slice/session-1.scope\n", id);
    assert_string_equal(id, "");
}

/* The name /proc gives pid now ("" if gone). */
static void comm_of(pid_t pid, char *out, size_t n)
{
    char fn[64];
    snprintf(fn, sizeof fn, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(fn, "r");
    out[0] = 0;
    if (f && fgets(out, (int)n, f))
        out[strcspn(out, "\n")] = 0;
    if (f)
        fclose(f);
}

/* exec: the cached block of the old image is dropped, and the new image is
 * read at the next get (not at the exec: a pid that execs and never makes
 * an event costs no /proc read). */
static void test_proc_exec_rereads(void **state)
{
    (void)state;
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) == 1)
            execl("/bin/sleep", "sleep", "5", (char *)NULL);
        _exit(1);
    }
    close(go[0]);
    proc_cache *pc = proc_cache_new(16);
    assert_string_equal(json_string_value(json_object_get(proc_cache_get(pc, (uint32_t)child), "name")),
                        "test_events");
    assert_int_equal(write(go[1], "x", 1), 1);
    char comm[32] = "";
    for (int i = 0; i < 500 && strcmp(comm, "sleep") != 0; i++) {
        usleep(10000);
        comm_of(child, comm, sizeof comm);
    }
    assert_string_equal(comm, "sleep");
    /* not told yet: still the cached old image */
    assert_string_equal(json_string_value(json_object_get(proc_cache_get(pc, (uint32_t)child), "name")),
                        "test_events");
    proc_cache_exec(pc, (uint32_t)child);
    json_t *now = proc_cache_get(pc, (uint32_t)child);
    assert_string_equal(json_string_value(json_object_get(now, "name")), "sleep");
    assert_int_equal(json_integer_value(json_object_get(now, "ppid")), getpid());
    proc_cache_exec(pc, 99999999); /* never cached: nothing to drop */
    proc_cache_free(pc);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(go[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulid_format_and_order), cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_envelope),              cmocka_unit_test(test_jsonu_lossy),
        cmocka_unit_test(test_parse_size),            cmocka_unit_test(test_jsonl_sink_mode_and_lines),
        cmocka_unit_test(test_proc_self),             cmocka_unit_test(test_proc_exec_rereads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_fanmon.c: tests src/host/fanmon.c.
 *
 * Pure: path prefixes, rule checks, the verdict table of the three modes.
 * Live (root; skipped otherwise): a tmpfs the test mounts on a fresh
 * directory under /tmp (the root filesystem is never marked) holds copies
 * of /bin/true and /bin/false, and child processes act on it:
 *   - passive mode logs a file written there, attributed to the writer, and
 *     never reports the monitor's own process;
 *   - enforcing mode with a hash allow list runs the allowed copy of true
 *     and refuses false with EPERM; changing the allowed file's content
 *     (same inode) makes it refused: the hash cache sees the change;
 *   - permissive mode refuses by deny prefix and by the asking executable;
 *   - 10,000 opens (and execs among them) complete without a hang;
 *   - a decision thread stalled in the event callback: the next exec is
 *     still answered, by the watchdog, after about 1 s.
 * Produced events are checked with oisp-validate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/clock.h"
#include "util/monotime.h"
#include "host/fanmon.h"

#define VALIDATE "../../../shared/tools/oisp-validate"

/* ---- pure ---- */

static void test_paths_and_rules(void **state)
{
    (void)state;
    assert_true(fanmon_path_under("/opt/app", "/opt/app"));
    assert_true(fanmon_path_under("/opt/app/bin/x", "/opt/app"));
    assert_true(fanmon_path_under("/opt/app/bin/x", "/opt/app/"));
    assert_false(fanmon_path_under("/opt/apple", "/opt/app"));
    assert_false(fanmon_path_under("/opt", "/opt/app"));
    assert_true(fanmon_path_under("/opt/app (deleted)", "/opt/app"));
    assert_true(fanmon_path_under("/anything", "/"));

    char err[256];
    fanmon_rule r = {0, FANMON_RULE_HASH, "abc"};
    assert_int_equal(fanmon_rule_check(&r, err, sizeof(err)), -1);
    r.value = "C79BF44242829108E323378531F4AC839513CA1FBA45EFD6583643526E1E9FD2";
    assert_int_equal(fanmon_rule_check(&r, err, sizeof(err)), 0);
    r = (fanmon_rule){1, FANMON_RULE_PREFIX, "relative/path"};
    assert_int_equal(fanmon_rule_check(&r, err, sizeof(err)), -1);
    r.value = "";
    assert_int_equal(fanmon_rule_check(&r, err, sizeof(err)), -1);
    r = (fanmon_rule){0, FANMON_RULE_EXE, "/usr/bin/make"};
    assert_int_equal(fanmon_rule_check(&r, err, sizeof(err)), 0);
    char name[128];
    fanmon_rule_name(&r, name, sizeof(name));
    assert_string_equal(name, "allow-exe:/usr/bin/make");

    fanmon_mode m;
    assert_int_equal(fanmon_mode_parse("enforcing", &m), 0);
    assert_int_equal(m, FANMON_ENFORCING);
    assert_int_equal(fanmon_mode_parse("Enforcing", &m), -1);
    assert_int_equal(fanmon_mode_parse("", &m), -1);
    assert_string_equal(fanmon_mode_name(FANMON_PERMISSIVE), "permissive");
}

static void test_verdicts(void **state)
{
    (void)state;
    const char *h1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *h2 = "2222222222222222222222222222222222222222222222222222222222222222";
    fanmon_rule rules[] = {
        {0, FANMON_RULE_PREFIX, "/opt/ok"},
        {0, FANMON_RULE_HASH, h1},
        {0, FANMON_RULE_EXE, "/usr/bin/make"},
        {1, FANMON_RULE_PREFIX, "/opt/ok/bad"},
        {1, FANMON_RULE_HASH, h2},
    };
    size_t n = sizeof(rules) / sizeof(rules[0]);
    long mt;
    /* passive: always allow, no rule */
    assert_int_equal(fanmon_evaluate(FANMON_PASSIVE, rules, n, "/opt/ok/bad/x", "", h2, &mt), 1);
    assert_int_equal(mt, -1);
    /* permissive: deny list only */
    assert_int_equal(fanmon_evaluate(FANMON_PERMISSIVE, rules, n, "/tmp/x", "/bin/sh", "", &mt), 1);
    assert_int_equal(mt, -1);
    assert_int_equal(fanmon_evaluate(FANMON_PERMISSIVE, rules, n, "/opt/ok/bad/x", "", "", &mt), 0);
    assert_int_equal(mt, 3);
    assert_int_equal(fanmon_evaluate(FANMON_PERMISSIVE, rules, n, "/tmp/x", "", h2, &mt), 0);
    assert_int_equal(mt, 4);
    /* enforcing: allow list, deny wins, default deny */
    assert_int_equal(fanmon_evaluate(FANMON_ENFORCING, rules, n, "/tmp/x", "/bin/sh", "", &mt), 0);
    assert_int_equal(mt, -1);
    assert_int_equal(fanmon_evaluate(FANMON_ENFORCING, rules, n, "/opt/ok/y", "", "", &mt), 1);
    assert_int_equal(mt, 0);
    assert_int_equal(fanmon_evaluate(FANMON_ENFORCING, rules, n, "/tmp/x", "", h1, &mt), 1);
    assert_int_equal(mt, 1);
    assert_int_equal(fanmon_evaluate(FANMON_ENFORCING, rules, n, "/tmp/x", "/usr/bin/make", "", &mt),
                     1);
    assert_int_equal(mt, 2);
    assert_int_equal(fanmon_evaluate(FANMON_ENFORCING, rules, n, "/opt/ok/bad/z", "/usr/bin/make",
                                     h1, &mt),
                     0);
    assert_int_equal(mt, 3);
    /* unknown path/hash/exe never match */
    assert_int_equal(fanmon_evaluate(FANMON_ENFORCING, rules, n, "", "", "", &mt), 0);
    assert_int_equal(fanmon_evaluate(FANMON_ENFORCING, rules, n, NULL, NULL, NULL, &mt), 0);
}

static void test_start_errors(void **state)
{
    (void)state;
    char err[256];
    fanmon_config c = {.mode = FANMON_PASSIVE};
    assert_null(fanmon_start(&c, err, sizeof(err))); /* no path */
    const char *bad[] = {"/nonexistent/oisp-fanmon"};
    c.paths = bad;
    c.npaths = 1;
    assert_null(fanmon_start(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "nonexistent"));
    const char *ok[] = {"/tmp"};
    fanmon_rule r = {0, FANMON_RULE_HASH, "nothex"};
    c.paths = ok;
    c.rules = &r;
    c.nrules = 1;
    assert_null(fanmon_start(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "SHA-256"));
}

/* ---- live ---- */

static char g_dir[64];
static int g_mounted;

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0)
        return -1;
    char buf[65536];
    ssize_t r;
    while ((r = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)r) != r)
            return -1;
    close(in);
    close(out);
    return 0;
}

static void sha256_file(const char *path, char out[65])
{
    unsigned char md[32];
    unsigned len;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    int fd = open(path, O_RDONLY);
    char buf[65536];
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)r);
    close(fd);
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static int setup_mount(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    snprintf(g_dir, sizeof(g_dir), "/tmp/oisp-fanmon-XXXXXX");
    if (!mkdtemp(g_dir))
        return 0;
    if (mount("tmpfs", g_dir, "tmpfs", 0, "size=64m,mode=0755") != 0) {
        rmdir(g_dir);
        return 0;
    }
    g_mounted = 1;
    char p[128];
    snprintf(p, sizeof(p), "%s/true", g_dir);
    copy_file("/bin/true", p);
    snprintf(p, sizeof(p), "%s/false", g_dir);
    copy_file("/bin/false", p);
    snprintf(p, sizeof(p), "%s/bad", g_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/bad/true", g_dir);
    copy_file("/bin/true", p);
    return 0;
}

static int teardown_mount(void **state)
{
    (void)state;
    if (g_mounted) {
        umount2(g_dir, MNT_DETACH);
        rmdir(g_dir);
    }
    return 0;
}

#define NEED_MOUNT()                                                                           \
    do {                                                                                       \
        if (!g_mounted) {                                                                      \
            print_message("needs root and a tmpfs mount; skipped\n");                         \
            skip();                                                                            \
        }                                                                                      \
    } while (0)

/* Events collected from the monitor's worker thread. */
typedef struct sink {
    pthread_mutex_t mu;
    json_t *events;
    int stall_first_exec_ms; /* the callback sleeps this long on the first exec event */
    int stalled;
} sink;

static void sink_init(sink *s)
{
    pthread_mutex_init(&s->mu, NULL);
    s->events = json_array();
    s->stall_first_exec_ms = 0;
    s->stalled = 0;
}

static void sink_destroy(sink *s)
{
    json_decref(s->events);
    pthread_mutex_destroy(&s->mu);
}

static void on_event(json_t *ev, void *ctx)
{
    sink *s = ctx;
    pthread_mutex_lock(&s->mu);
    json_array_append(s->events, ev);
    int stall = !s->stalled && s->stall_first_exec_ms &&
                strcmp(json_string_value(json_object_get(ev, "event_type")), "process.exec") == 0;
    if (stall)
        s->stalled = 1;
    pthread_mutex_unlock(&s->mu);
    if (stall) /* a slow sink: the decision thread is stuck here */
        usleep((useconds_t)s->stall_first_exec_ms * 1000);
}

/* The first event of type whose data.path or data.exe is path (and, if
 * pid is nonzero, from pid), waiting up to ms. */
static json_t *wait_event(sink *s, const char *type, const char *path, pid_t pid, int ms)
{
    for (int t = 0; t <= ms; t += 10) {
        pthread_mutex_lock(&s->mu);
        size_t i;
        json_t *ev, *found = NULL;
        json_array_foreach(s->events, i, ev)
        {
            json_t *d = json_object_get(ev, "data");
            const char *p = json_string_value(json_object_get(d, "path"));
            if (!p)
                p = json_string_value(json_object_get(d, "exe"));
            json_int_t epid = json_integer_value(json_object_get(json_object_get(ev, "process"), "pid"));
            if (!strcmp(json_string_value(json_object_get(ev, "event_type")), type) && p &&
                !strcmp(p, path) && (!pid || epid == pid)) {
                found = ev;
                break;
            }
        }
        pthread_mutex_unlock(&s->mu);
        if (found)
            return found;
        usleep(10000);
    }
    return NULL;
}

/* The file.write event of path that reports the close-write. */
static json_t *wait_close_write(sink *s, const char *path, int ms)
{
    for (int t = 0; t <= ms; t += 10) {
        json_t *found = NULL;
        pthread_mutex_lock(&s->mu);
        size_t i;
        json_t *ev;
        json_array_foreach(s->events, i, ev)
        {
            const char *p = json_string_value(json_object_get(json_object_get(ev, "data"), "path"));
            const char *pt = json_string_value(json_object_get(json_object_get(ev, "source"),
                                                               "capture_point"));
            if (p && pt && !strcmp(p, path) && !strcmp(pt, "fan_close_write"))
                found = ev;
        }
        pthread_mutex_unlock(&s->mu);
        if (found)
            return found;
        usleep(10000);
    }
    return NULL;
}

static void validate(sink *s)
{
    if (access(VALIDATE, X_OK) != 0) {
        print_message("oisp-validate not found; schema check skipped\n");
        return;
    }
    char path[] = "/var/tmp/oisp-fanmon-ev-XXXXXX"; /* not under the mark */
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    pthread_mutex_lock(&s->mu);
    size_t i;
    json_t *ev;
    json_array_foreach(s->events, i, ev)
    {
        char *t = json_dumps(ev, JSON_COMPACT);
        fprintf(f, "%s\n", t);
        free(t);
    }
    pthread_mutex_unlock(&s->mu);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s --quiet %s >/dev/null", VALIDATE, path);
    int rc = system(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
}

static double now_s(void) { return (double)mono_ns() / 1e9; }

/* Runs argv in a child; returns its exit status, or -errno if execv failed. */
static int run(char *const argv[], pid_t *pid_out, double *secs)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1000;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        execv(argv[0], argv);
        int e = errno;
        if (write(p[1], &e, sizeof(e)) < 0)
            _exit(126);
        _exit(127);
    }
    close(p[1]);
    int e = 0, st = 0;
    ssize_t r = read(p[0], &e, sizeof(e));
    close(p[0]);
    waitpid(pid, &st, 0);
    if (secs)
        *secs = now_s() - t0;
    if (pid_out)
        *pid_out = pid;
    if (r == (ssize_t)sizeof(e))
        return -e;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1000;
}

static sink g_sink;
static fanmon *g_fm;

static void stop_monitor(void)
{
    fanmon_free(g_fm);
    g_fm = NULL;
}

/* After every test, even a failed one: no monitor left running with a
 * callback into a dead test. */
static int teardown_test(void **state)
{
    (void)state;
    stop_monitor();
    if (g_sink.events) {
        sink_destroy(&g_sink);
        g_sink.events = NULL;
    }
    return 0;
}

static fanmon *start(sink *s, fanmon_mode mode, const fanmon_rule *rules, size_t n)
{
    const char *paths[] = {g_dir};
    fanmon_config c = {.mode = mode, .paths = paths, .npaths = 1, .rules = rules, .nrules = n,
                       .cb = on_event, .ctx = s};
    char err[256];
    g_fm = fanmon_start(&c, err, sizeof(err));
    if (!g_fm)
        fail_msg("fanmon_start: %s", err);
    return g_fm;
}

static void test_passive_logs_write(void **state)
{
    (void)state;
    NEED_MOUNT();
    sink *s = &g_sink;
    sink_init(s);
    fanmon *fm = start(s, FANMON_PASSIVE, NULL, 0);
    char file[128], cmd[400], tru[128];
    snprintf(file, sizeof(file), "%s/passive.txt", g_dir);
    snprintf(cmd, sizeof(cmd), "echo hello > %s", file);
    char *sh[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t pid;
    assert_int_equal(run(sh, &pid, NULL), 0);
    json_t *ev = wait_event(s, "file.write", file, pid, 3000);
    assert_non_null(ev);
    json_t *fan = json_object_get(json_object_get(ev, "attrs"), "fanotify");
    assert_string_equal(json_string_value(json_object_get(fan, "mode")), "passive");
    ev = wait_close_write(s, file, 3000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(ev, "data"),
                                                                        "file"),
                                                        "size")),
                     6);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "source"),
                                                          "capture_point")),
                        "fan_close_write");
    /* an exec is logged (with its hash) and allowed */
    snprintf(tru, sizeof(tru), "%s/true", g_dir);
    char *t[] = {tru, NULL};
    assert_int_equal(run(t, &pid, NULL), 0);
    ev = wait_event(s, "process.exec", tru, pid, 3000);
    assert_non_null(ev);
    char want[65];
    sha256_file("/bin/true", want);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(ev, "data"),
                                                                          "binary_hash"),
                                                          "sha256")),
                        want);
    /* the monitor's own process writes: not reported, not judged */
    char own[128];
    snprintf(own, sizeof(own), "%s/own.txt", g_dir);
    int fd = open(own, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    usleep(200000);
    assert_null(wait_event(s, "file.write", own, 0, 0));
    assert_true(fanmon_counter(fm, "own_pid") >= 1);
    fanmon_stop(fm);
    json_t *c = fanmon_counters_json(fm);
    assert_int_equal(json_integer_value(json_object_get(c, "perm_requests")), 0);
    json_decref(c);
    stop_monitor();
    validate(s);
    }

static void test_enforcing_hash(void **state)
{
    (void)state;
    NEED_MOUNT();
    char hash[65], tru[128], fal[128];
    sha256_file("/bin/true", hash);
    fanmon_rule allow = {0, FANMON_RULE_HASH, hash};
    sink *s = &g_sink;
    sink_init(s);
    fanmon *fm = start(s, FANMON_ENFORCING, &allow, 1);
    snprintf(tru, sizeof(tru), "%s/true", g_dir);
    snprintf(fal, sizeof(fal), "%s/false", g_dir);
    char *t[] = {tru, NULL}, *f[] = {fal, NULL};
    pid_t pt, pf;
    assert_int_equal(run(t, &pt, NULL), 0);
    assert_int_equal(run(f, &pf, NULL), -EPERM);
    json_t *ev = wait_event(s, "process.exec", tru, pt, 3000);
    assert_non_null(ev);
    json_t *fan = json_object_get(json_object_get(ev, "attrs"), "fanotify");
    assert_string_equal(json_string_value(json_object_get(fan, "verdict")), "allow");
    char rule[128];
    snprintf(rule, sizeof(rule), "allow-hash:%s", hash);
    assert_string_equal(json_string_value(json_object_get(fan, "rule")), rule);
    assert_string_equal(json_string_value(json_object_get(fan, "mode")), "enforcing");
    ev = wait_event(s, "process.exec", fal, pf, 3000);
    assert_non_null(ev);
    fan = json_object_get(json_object_get(ev, "attrs"), "fanotify");
    assert_string_equal(json_string_value(json_object_get(fan, "verdict")), "deny");
    assert_true(json_is_null(json_object_get(fan, "rule")));
    assert_string_equal(json_string_value(json_object_get(fan, "decided_by")), "default");

    /* again: from the hash cache */
    assert_int_equal(run(t, NULL, NULL), 0);
    assert_true(fanmon_counter(fm, "hash_cache_hits") >= 1);
    /* same inode, new content: the cache must not allow it */
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s/copy", g_dir);
    int fd = open(tru, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
    assert_int_equal(run(t, NULL, NULL), -EPERM);

    fanmon_stop(fm);
    assert_true(fanmon_counter(fm, "allowed") >= 2);
    assert_true(fanmon_counter(fm, "denied") >= 2);
    assert_int_equal(fanmon_counter(fm, "watchdog_allowed"), 0);
    stop_monitor();
    copy_file("/bin/true", tru); /* restore for the other tests */
    validate(s);
    }

static void test_permissive_rules(void **state)
{
    (void)state;
    NEED_MOUNT();
    char bad[128], tru[128], self[PATH_MAX];
    snprintf(bad, sizeof(bad), "%s/bad", g_dir);
    snprintf(tru, sizeof(tru), "%s/true", g_dir);
    fanmon_rule deny = {1, FANMON_RULE_PREFIX, bad};
    sink *s = &g_sink;
    sink_init(s);
    start(s, FANMON_PERMISSIVE, &deny, 1);
    char badtrue[160];
    snprintf(badtrue, sizeof(badtrue), "%s/true", bad);
    char *b[] = {badtrue, NULL}, *t[] = {tru, NULL};
    assert_int_equal(run(b, NULL, NULL), -EPERM);
    assert_int_equal(run(t, NULL, NULL), 0);
    json_t *ev = wait_event(s, "process.exec", badtrue, 0, 3000);
    assert_non_null(ev);
    char rule[200];
    snprintf(rule, sizeof(rule), "deny-prefix:%s", bad);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(ev, "attrs"), "fanotify"), "rule")),
                        rule);
    stop_monitor();

    /* deny by the asking executable: a child of this test, before exec, is
     * this test binary */
    ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(l > 0);
    self[l] = 0;
    fanmon_rule deny_exe = {1, FANMON_RULE_EXE, self};
    start(s, FANMON_PERMISSIVE, &deny_exe, 1);
    assert_int_equal(run(t, NULL, NULL), -EPERM);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "%s", tru); /* through sh: asked by /bin/sh, allowed */
    char *sh[] = {"/bin/sh", "-c", cmd, NULL};
    assert_int_equal(run(sh, NULL, NULL), 0);
    stop_monitor();
    validate(s);
    }

static void test_many_opens(void **state)
{
    (void)state;
    NEED_MOUNT();
    char hash[65], tru[128], file[128];
    sha256_file("/bin/true", hash);
    fanmon_rule allow = {0, FANMON_RULE_HASH, hash};
    sink *s = &g_sink;
    sink_init(s);
    fanmon *fm = start(s, FANMON_ENFORCING, &allow, 1);
    snprintf(tru, sizeof(tru), "%s/true", g_dir);
    char dir[160];
    snprintf(dir, sizeof(dir), "%s/many", g_dir);
    mkdir(dir, 0755);
    for (int i = 0; i < 2000; i++) { /* by this process: own events, not reported */
        snprintf(file, sizeof(file), "%s/many/%d", g_dir, i);
        close(open(file, O_WRONLY | O_CREAT, 0644));
    }
    double t0 = now_s();
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 10000; i++) {
            /* 2000 distinct files, so the kernel cannot merge most events */
            snprintf(file, sizeof(file), "%s/many/%d", g_dir, i % 2000);
            int fd = open(file, O_RDONLY);
            if (fd < 0)
                _exit(1);
            close(fd);
            if (i % 500 == 0) { /* an exec now and then, judged among the opens */
                pid_t c = fork();
                if (c == 0) {
                    execl(tru, tru, (char *)NULL);
                    _exit(127);
                }
                int st;
                waitpid(c, &st, 0);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                    _exit(2);
            }
        }
        _exit(0);
    }
    int st = 0;
    pid_t r = 0;
    while ((r = waitpid(child, &st, WNOHANG)) == 0 && now_s() - t0 < 60)
        usleep(10000);
    double secs = now_s() - t0;
    if (r == 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        fail_msg("10,000 opens did not finish within 60 s");
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    print_message("10,000 opens + 20 execs in %.2f s under enforcing mode\n", secs);
    usleep(300000);
    fanmon_stop(fm);
    json_t *c = fanmon_counters_json(fm);
    char *txt = json_dumps(c, JSON_COMPACT);
    print_message("%s\n", txt);
    free(txt);
    uint64_t events = (uint64_t)json_integer_value(json_object_get(c, "events"));
    uint64_t dropped = (uint64_t)json_integer_value(json_object_get(c, "queue_dropped"));
    uint64_t overflows = (uint64_t)json_integer_value(json_object_get(c, "overflows"));
    /* each distinct file gives at least one open event: reported or counted */
    assert_true(events + dropped >= 2000 || overflows > 0);
    assert_int_equal(json_integer_value(json_object_get(c, "allowed")), 20); /* by the rules */
    assert_int_equal(json_integer_value(json_object_get(c, "watchdog_allowed")), 0);
    assert_int_equal(json_integer_value(json_object_get(c, "response_errors")), 0);
    json_decref(c);
    stop_monitor();
    }

static void test_watchdog_answers_stalled(void **state)
{
    (void)state;
    NEED_MOUNT();
    char hash[65], tru[128];
    sha256_file("/bin/true", hash);
    fanmon_rule allow = {0, FANMON_RULE_HASH, hash};
    sink *s = &g_sink;
    sink_init(s);
    s->stall_first_exec_ms = 3000;
    fanmon *fm = start(s, FANMON_ENFORCING, &allow, 1);
    snprintf(tru, sizeof(tru), "%s/true", g_dir);
    char *t[] = {tru, NULL};
    double first, second;
    pid_t p2;
    assert_int_equal(run(t, NULL, &first), 0); /* decided, then the callback stalls */
    usleep(100000);
    assert_int_equal(run(t, &p2, &second), 0); /* waits for the watchdog */
    print_message("first exec %.3f s, second (decision thread stalled) %.3f s\n", first, second);
    assert_true(first < 0.9);
    assert_true(second > 0.7 && second < 2.5);
    assert_int_equal(fanmon_counter(fm, "watchdog_allowed"), 1);
    json_t *ev = wait_event(s, "process.exec", tru, p2, 5000);
    assert_non_null(ev);
    json_t *fan = json_object_get(json_object_get(ev, "attrs"), "fanotify");
    assert_string_equal(json_string_value(json_object_get(fan, "decided_by")), "watchdog");
    assert_string_equal(json_string_value(json_object_get(fan, "verdict")), "allow");
    stop_monitor();
    validate(s);
    }

static void test_filesystem_mark(void **state)
{
    (void)state;
    NEED_MOUNT();
    const char *paths[] = {g_dir};
    sink *s = &g_sink;
    sink_init(s);
    fanmon_config c = {.mode = FANMON_PASSIVE, .paths = paths, .npaths = 1, .filesystem_marks = 1,
                       .events = FANMON_EV_CLOSE_WRITE, .cb = on_event, .ctx = s};
    char err[256];
    fanmon *fm = g_fm = fanmon_start(&c, err, sizeof(err));
    if (!fm) {
        print_message("filesystem mark refused here: %s\n", err);
                skip();
    }
    char file[128], cmd[400];
    snprintf(file, sizeof(file), "%s/fs.txt", g_dir);
    snprintf(cmd, sizeof(cmd), "echo fs > %s; cat %s >/dev/null", file, file);
    char *sh[] = {"/bin/sh", "-c", cmd, NULL};
    assert_int_equal(run(sh, NULL, NULL), 0);
    assert_non_null(wait_event(s, "file.write", file, 0, 3000));
    assert_null(wait_event(s, "file.open", file, 0, 200)); /* opens not asked for */
    stop_monitor();
    }

int main(void)
{
    clock_sync();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_and_rules),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test_teardown(test_passive_logs_write, teardown_test),
        cmocka_unit_test_teardown(test_enforcing_hash, teardown_test),
        cmocka_unit_test_teardown(test_permissive_rules, teardown_test),
        cmocka_unit_test_teardown(test_many_opens, teardown_test),
        cmocka_unit_test_teardown(test_watchdog_answers_stalled, teardown_test),
        cmocka_unit_test_teardown(test_filesystem_mark, teardown_test),
    };
    return cmocka_run_group_tests(tests, setup_mount, teardown_mount);
}

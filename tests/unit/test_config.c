/* test_config.c: tests for src/config/config.c and src/cli/configcmd.c.
 *
 * Files are written to a temporary directory and loaded with an explicit
 * environment array, so nothing depends on the machine's own
 * /etc/oisp/config.toml or environment.  Covered: defaults, the precedence
 * file < environment < flag (values and recorded origins), every kind of
 * error message with its exact line, lookup order, [sinks.common]
 * inheritance, webhooks from file, environment and flags, the packaged
 * packaging/config.toml (valid, documents every key, its commented values
 * are the defaults), `config show` output read back, the command's exit
 * codes, and garbage files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/configcmd.h"
#include "config/config.h"

#define PACKAGED "../../packaging/config.toml"

static char tmpdir[64];
static char errbuf[16384];

/* ---- helpers ---- */

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/oisp-config-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[4][256];
    static int turn;
    char *p = path[turn++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    char dir[256];
    snprintf(dir, sizeof(dir), "%s", p);
    char *slash = strrchr(dir, '/');
    *slash = 0;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0, len = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        buf = realloc(buf, cap = len + n + 1);
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    buf[len] = 0;
    (void)cap;
    return buf;
}

static void load_ok(config *c, const char *text, char **env)
{
    const char *p = text ? write_file("ok.toml", text) : NULL;
    int n = config_load_file(c, p, env, errbuf, sizeof(errbuf));
    if (n)
        fail_msg("unexpected errors:\n%s", errbuf);
}

/* Load text expecting errors; every expected line must be in the output and
 * the count must match. */
static void load_err(const char *text, char **env, int count, const char *const *want)
{
    const char *p = write_file("bad.toml", text);
    config c;
    memset(&c, 0x5a, sizeof(c));
    int n = config_load_file(&c, p, env, errbuf, sizeof(errbuf));
    for (int i = 0; want[i]; i++) {
        char line[1024];
        snprintf(line, sizeof(line), want[i], p);
        if (!strstr(errbuf, line))
            fail_msg("missing error\n  %s\ngot:\n%s", line, errbuf);
    }
    if (n != count)
        fail_msg("expected %d errors, got %d:\n%s", count, n, errbuf);
    /* A failed load leaves the struct alone. */
    unsigned char *b = (unsigned char *)&c;
    for (size_t i = 0; i < sizeof(c); i++)
        assert_int_equal(b[i], 0x5a);
}

static const char *origin(const config *c, const char *key)
{
    static char buf[256];
    return config_origin_text(c, key, config_origin_of(c, key), buf, sizeof(buf));
}

/* ---- defaults and schema ---- */

static void test_defaults(void **state)
{
    (void)state;
    config c;
    assert_int_equal(config_init(&c), 0);
    assert_int_equal(c.capture.max_capture, 2u << 20);
    assert_int_equal(c.capture.ring_size, 2u << 20);
    assert_int_equal(c.capture.queue_size, 32u << 20);
    assert_false(c.capture.inbound);
    assert_int_equal(c.redaction.mode, CONFIG_REDACT_SAFE);
    assert_string_equal(c.jsonl.path, "events.jsonl");
    assert_int_equal(c.jsonl.keep, 5);
    assert_string_equal(c.web.listen, "127.0.0.1:7777");
    assert_string_equal(c.metrics.listen, "127.0.0.1:9464");
    assert_int_equal(c.sinks.otlp.signals, CONFIG_OTLP_LOGS | CONFIG_OTLP_TRACES);
    assert_int_equal(c.host.fanotify.events, 15);
    assert_int_equal(c.host.fanotify.mode, CONFIG_FANOTIFY_OFF);
    assert_int_equal(c.sinks.kafka.common.queue_size, 100000);
    assert_string_equal(origin(&c, "capture.max_capture"), "default");
    assert_string_equal(origin(&c, "sinks.kafka.queue_size"),
                        "inherited from sinks.common (default)");
    assert_null(c.path);
    assert_string_equal(config_choice_name("sinks.kafka.compression", CONFIG_COMPRESSION_ZSTD),
                        "zstd");
    assert_string_equal(config_choice_name("sinks.webhook.auth", CONFIG_AUTH_API_KEY),
                        "api_key");
    assert_null(config_choice_name("capture.max_capture", 0));
    config_free(&c);
}

static void test_env_names_are_unique(void **state)
{
    (void)state;
    const char *key;
    char a[128], b[128];
    size_t n = 0;
    for (size_t i = 0; (key = config_key_at(i, NULL, NULL, NULL)) != NULL; i++, n++) {
        config_env_name(key, a, sizeof(a));
        const char *other;
        for (size_t j = 0; j < i && (other = config_key_at(j, NULL, NULL, NULL)); j++) {
            config_env_name(other, b, sizeof(b));
            if (!strcmp(a, b))
                fail_msg("%s and %s share %s", key, other, a);
        }
    }
    assert_true(n > 60);
    config_env_name("output.jsonl.flush_interval_ms", a, sizeof(a));
    assert_string_equal(a, "OISP_OUTPUT_JSONL_FLUSH_INTERVAL_MS");
}

/* ---- precedence ---- */

static void test_precedence_file_env_flag(void **state)
{
    (void)state;
    const char *text = "[capture]\n"
                       "max_capture = \"1M\"\n"           /* line 2 */
                       "ring_size = \"16M\"\n"            /* line 3 */
                       "pids = [100]\n"                   /* line 4 */
                       "comms = [\"python3\"]\n";         /* line 5 */
    char *env[] = {"HOME=/nonexistent", "OISP_CAPTURE_MAX_CAPTURE=2M",
                   "OISP_CAPTURE_PIDS=200, 300", "PATH=/usr/bin", NULL};
    config c;
    load_ok(&c, text, env);
    /* file < environment */
    assert_int_equal(c.capture.max_capture, 2u << 20);
    assert_string_equal(origin(&c, "capture.max_capture"), "env OISP_CAPTURE_MAX_CAPTURE");
    assert_int_equal(c.capture.ring_size, 16u << 20);
    char want[300];
    snprintf(want, sizeof(want), "%s/ok.toml:3", tmpdir);
    assert_string_equal(origin(&c, "capture.ring_size"), want);
    assert_int_equal(c.capture.pids.n, 2);
    assert_int_equal(c.capture.pids.v[1], 300);
    /* environment < flag */
    char err[512];
    assert_int_equal(config_set_flag_as(&c, "--max-capture", "capture.max_capture", "8M", err,
                                        sizeof(err)), 0);
    assert_int_equal(c.capture.max_capture, 8u << 20);
    assert_string_equal(origin(&c, "capture.max_capture"), "flag --max-capture");
    /* A repeated list flag adds; the first replaces file and environment. */
    assert_int_equal(config_set_flag_as(&c, "--pid", "capture.pids", "7", err, sizeof(err)), 0);
    assert_int_equal(config_set_flag_as(&c, "--pid", "capture.pids", "8", err, sizeof(err)), 0);
    assert_int_equal(c.capture.pids.n, 2);
    assert_int_equal(c.capture.pids.v[0], 7);
    assert_int_equal(c.capture.pids.v[1], 8);
    assert_string_equal(origin(&c, "capture.pids"), "flag --pid");
    /* A rejected flag leaves the value and says why. */
    assert_int_equal(config_set_flag_as(&c, "--max-capture", "capture.max_capture", "lots", err,
                                        sizeof(err)), -1);
    assert_string_equal(err, "--max-capture lots: expected a size from 4K to 1G, e.g. \"2M\" "
                             "(K, M, G suffixes) or a number of bytes");
    assert_int_equal(c.capture.max_capture, 8u << 20);
    /* Without a flag name the key is named. */
    assert_int_equal(config_set_flag(&c, "capture.inbound", "yes", err, sizeof(err)), 0);
    assert_true(c.capture.inbound);
    assert_string_equal(origin(&c, "capture.inbound"), "flag capture.inbound");
    assert_int_equal(config_set_flag(&c, "capture.nope", "1", err, sizeof(err)), -1);
    assert_string_equal(err, "capture.nope: 'capture.nope' is not a configuration key");
    config_free(&c);
}

static void test_env_value_forms(void **state)
{
    (void)state;
    char *env[] = {
        "OISP_CAPTURE_INBOUND=on",
        "OISP_SINKS_KAFKA_BROKERS=k1:9092, k2:9092",
        "OISP_SINKS_KAFKA_TOPIC=events",
        "OISP_SINKS_KAFKA_PROPERTIES=acks=all,sasl.username=me",
        "OISP_SINKS_OTLP_HEADERS={ \"X-A\" = \"1\" }",
        "OISP_SINKS_OTLP_TIMEOUT_MS=5s",
        "OISP_OUTPUT_JSONL_ROTATE_INTERVAL=1d",
        "OISP_OUTPUT_JSONL_PATH=/var/log/oisp/e.jsonl",
        "OISP_HOST_FANOTIFY_EVENTS=exec",
        "OISP_REDACTION_PATTERNS=[{ name = \"t\", regex = \"TKT-[0-9]+\" }]",
        "OISP_SINKS_WEBHOOK=[{ url = \"https://h.example/x\", auth = \"bearer\", token = \"s\" }]",
        "OISP_CONFIG_UNRELATED=1", "OISP_VALIDATE=x", NULL,
    };
    config c;
    load_ok(&c, NULL, env);
    assert_true(c.capture.inbound);
    assert_int_equal(c.sinks.kafka.brokers.n, 2);
    char *joined = config_strlist_join(&c.sinks.kafka.brokers, ",");
    assert_string_equal(joined, "k1:9092,k2:9092");
    free(joined);
    assert_int_equal(c.sinks.kafka.properties.n, 2);
    assert_string_equal(c.sinks.kafka.properties.key[1], "sasl.username");
    assert_string_equal(c.sinks.kafka.properties.val[1], "me");
    assert_string_equal(c.sinks.otlp.headers.val[0], "1");
    assert_int_equal(c.sinks.otlp.timeout_ms, 5000);
    assert_int_equal(c.jsonl.rotate_interval, 86400);
    assert_string_equal(c.jsonl.path, "/var/log/oisp/e.jsonl");
    assert_int_equal(c.host.fanotify.events, CONFIG_FAN_EXEC);
    assert_int_equal(c.redaction.patterns.n, 1);
    assert_string_equal(c.redaction.patterns.v[0].regex, "TKT-[0-9]+");
    assert_int_equal(c.sinks.nwebhooks, 1);
    assert_int_equal(c.sinks.webhooks[0].auth, CONFIG_AUTH_BEARER);
    char buf[128];
    assert_string_equal(config_origin_text(&c, "sinks.webhook.url",
                                           config_webhook_origin(&c.sinks.webhooks[0],
                                                                 "sinks.webhook.url"),
                                           buf, sizeof(buf)),
                        "env OISP_SINKS_WEBHOOK");
    config_free(&c);
}

static void test_common_inheritance(void **state)
{
    (void)state;
    const char *text = "[sinks.common]\n"
                       "queue_size = 500\n"                /* line 2 */
                       "dead_letter_dir = \"/srv/dlq\"\n"
                       "[sinks.kafka]\n"
                       "queue_size = 7\n"                  /* line 5 */
                       "[[sinks.webhook]]\n"
                       "url = \"http://127.0.0.1:9/\"\n";
    config c;
    load_ok(&c, text, NULL);
    assert_int_equal(c.sinks.otlp.common.queue_size, 500);
    assert_string_equal(c.sinks.otlp.common.dead_letter_dir, "/srv/dlq");
    assert_int_equal(c.sinks.kafka.common.queue_size, 7);
    assert_int_equal(c.sinks.webhooks[0].common.queue_size, 500);
    char want[300];
    snprintf(want, sizeof(want), "inherited from sinks.common (%s/ok.toml:2)", tmpdir);
    assert_string_equal(origin(&c, "sinks.otlp.queue_size"), want);
    /* A flag on the common value reaches every sink that did not set it. */
    char err[256];
    assert_int_equal(config_set_flag_as(&c, "--sink-queue", "sinks.common.queue_size", "9", err,
                                        sizeof(err)), 0);
    assert_int_equal(c.sinks.otlp.common.queue_size, 9);
    assert_int_equal(c.sinks.webhooks[0].common.queue_size, 9);
    assert_int_equal(c.sinks.kafka.common.queue_size, 7);
    assert_string_equal(origin(&c, "sinks.otlp.queue_size"),
                        "inherited from sinks.common (flag --sink-queue)");
    config_free(&c);
}

static void test_webhook_and_map_flags(void **state)
{
    (void)state;
    const char *text = "[[sinks.webhook]]\nurl = \"http://a.example/\"\n"
                       "[sinks.otlp]\nheaders = { A = \"1\" }\n";
    config c;
    load_ok(&c, text, NULL);
    char err[256];
    /* A flag's webhook replaces the file's list; later webhook flags apply
     * to the webhook added last. */
    assert_int_equal(config_set_flag_as(&c, "--webhook-format", "sinks.webhook.format", "ndjson",
                                        err, sizeof(err)), -1);
    assert_string_equal(err, "--webhook-format ndjson: give the webhook's URL first "
                             "(sinks.webhook.url)");
    assert_int_equal(config_set_flag_as(&c, "--webhook", "sinks.webhook.url",
                                        "https://b.example/", err, sizeof(err)), 0);
    assert_int_equal(config_set_flag_as(&c, "--webhook-format", "sinks.webhook.format", "ndjson",
                                        err, sizeof(err)), 0);
    assert_int_equal(config_set_flag_as(&c, "--webhook", "sinks.webhook.url", "ftp://c",
                                        err, sizeof(err)), -1);
    assert_string_equal(err, "--webhook ftp://c: expected an http:// or https:// URL");
    assert_int_equal(config_set_flag_as(&c, "--webhook", "sinks.webhook.url",
                                        "https://c.example/", err, sizeof(err)), 0);
    assert_int_equal(c.sinks.nwebhooks, 2);
    assert_string_equal(c.sinks.webhooks[0].url, "https://b.example/");
    assert_int_equal(c.sinks.webhooks[0].format, CONFIG_WEBHOOK_NDJSON);
    assert_int_equal(c.sinks.webhooks[1].format, CONFIG_WEBHOOK_JSON_ARRAY);
    /* Map flags take K=V; repeated, they add. */
    assert_int_equal(config_set_flag_as(&c, "--otlp-header", "sinks.otlp.headers", "X-B=2", err,
                                        sizeof(err)), 0);
    assert_int_equal(config_set_flag_as(&c, "--otlp-header", "sinks.otlp.headers", "X-C=3=3",
                                        err, sizeof(err)), 0);
    assert_int_equal(c.sinks.otlp.headers.n, 2);
    assert_string_equal(c.sinks.otlp.headers.key[0], "X-B");
    assert_string_equal(c.sinks.otlp.headers.val[1], "3=3");
    assert_int_equal(config_set_flag_as(&c, "--otlp-header", "sinks.otlp.headers", "novalue",
                                        err, sizeof(err)), -1);
    assert_int_equal(config_set_flag_as(&c, "--kafka", "sinks.kafka.brokers", "k:1", err,
                                        sizeof(err)), 0);
    /* Flags can leave the whole inconsistent: config_validate says so. */
    assert_int_equal(config_validate(&c, err, sizeof(err)), 1);
    assert_string_equal(err, "flag --kafka: sinks.kafka.brokers is set but sinks.kafka.topic "
                             "is not");
    assert_int_equal(config_set_flag_as(&c, "--kafka", "sinks.kafka.topic", "t", err,
                                        sizeof(err)), 0);
    assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
    config_free(&c);
}

/* ---- errors ---- */

static void test_error_unknown_keys(void **state)
{
    (void)state;
    const char *text = "[capture]\n"
                       "max_captur = \"4M\"\n"                  /* 2 */
                       "\n"
                       "[sinks.kafka]\n"
                       "compresion = \"gzip\"\n"                /* 5 */
                       "[sink.otlp]\n"                          /* 6 */
                       "url = \"x\"\n"
                       "[outptu]\n"                             /* 8 */
                       "[host]\n"
                       "zzz = 1\n";                             /* 10 */
    const char *want[] = {
        "%s:2: key 'capture.max_captur' is not known (did you mean 'max_capture'?); valid "
        "keys: libraries, binaries, pids, comms, cgroups, max_capture, ring_size, queue_size, inbound, nice",
        "%s:5: key 'sinks.kafka.compresion' is not known (did you mean 'compression'?); valid "
        "keys: brokers, topic, key, compression, properties, timeout_ms, queue_size,",
        "%s:6: section 'sink' is not known (did you mean 'sinks'?); valid sections: "
        "[capture], [redaction], [output], [sinks], [web], [metrics], [correlation], [host]",
        "%s:8: section 'outptu' is not known (did you mean 'output'?)",
        "%s:10: key 'host.zzz' is not known; valid keys: metrics_interval_ms, "
        "connections_interval_ms, [host.fanotify]",
        NULL,
    };
    load_err(text, NULL, 5, want);

    const char *top = "max_capture = 1\n"
                      "\"capture.inbound\" = true\n";
    const char *want_top[] = {"%s:1: key 'max_capture' is not known (did you mean "
                              "'capture.max_capture'?); valid sections: [capture]",
                              "%s:2: key 'capture.inbound' is not known (a quoted name with "
                              "dots is one key: leave out the quotes)", NULL};
    load_err(top, NULL, 2, want_top);
}

static void test_error_bad_values(void **state)
{
    (void)state;
    const char *text = "[capture]\n"
                       "inbound = \"yes\"\n"                    /* 2 */
                       "ring_size = \"3M\"\n"                   /* 3 */
                       "pids = [\n  1,\n  0,\n]\n"              /* 4; item on 6 */
                       "binaries = [\"relative/path\"]\n"       /* 8 */
                       "[sinks.kafka]\n"
                       "compression = \"gz\"\n"                 /* 10 */
                       "[sinks.otlp]\n"
                       "timeout_ms = \"2 seconds\"\n"           /* 12 */
                       "[redaction]\n"
                       "patterns = [{ name = \"a\", regex = \"(\" }]\n" /* 14 */
                       "[host.fanotify]\n"
                       "deny = [{ sha256 = \"abc\" }]\n"        /* 16 */
                       "[web]\n"
                       "listen = \"localhost\"\n";              /* 18 */
    const char *want[] = {
        "%s:2: capture.inbound = \"yes\": expected true or false",
        "%s:3: capture.ring_size = \"3M\": expected a size that is a power of two from 1M to "
        "1G, e.g. \"2M\" (K, M, G suffixes) or a number of bytes",
        "%s:6: capture.pids[1] = 0: expected an array of integers from 1 to 2147483647",
        "%s:8: capture.binaries[0] = \"relative/path\": expected an absolute path",
        "%s:10: sinks.kafka.compression = \"gz\": expected one of \"none\", \"gzip\", "
        "\"snappy\", \"lz4\", \"zstd\"",
        "%s:12: sinks.otlp.timeout_ms = \"2 seconds\": expected a duration from 100 to 600000 "
        "milliseconds",
        "%s:14: redaction.patterns[0] = \"(\": pattern 'a': not a POSIX extended regular "
        "expression",
        "%s:16: host.fanotify.deny[0] = \"abc\": sha256 must be 64 hexadecimal digits",
        "%s:18: web.listen = \"localhost\": expected HOST:PORT",
        NULL,
    };
    load_err(text, NULL, 9, want);
}

static void test_error_toml_syntax_and_types(void **state)
{
    (void)state;
    const char *syntax = "[capture]\ninbound = true\nring_size = 8M\n";
    const char *want[] = {"%s:3:14: expected the end of the line, found 'M'", NULL};
    load_err(syntax, NULL, 1, want);

    const char *types = "capture = 1\n"                        /* 1 */
                        "[sinks]\nwebhook = { url = \"x\" }\n"  /* 3 */
                        "[sinks.otlp]\nheaders = [\"a\"]\n";    /* 5 */
    const char *want_types[] = {
        "%s:1: capture is a section: write [capture] and put its keys below it",
        "%s:3: sinks.webhook must be an array of tables: write [[sinks.webhook]] once per "
        "webhook",
        "%s:5: sinks.otlp.headers = [\"a\"]: expected a table of names and values",
        NULL,
    };
    load_err(types, NULL, 3, want_types);
}

static void test_error_across_keys(void **state)
{
    (void)state;
    const char *text = "[web]\n"
                       "listen = \"0.0.0.0:7777\"\n"            /* 2 */
                       "[sinks.kafka]\n"
                       "brokers = [\"k:9092\"]\n"               /* 4 */
                       "[[sinks.webhook]]\n"
                       "url = \"https://h.example/\"\n"
                       "auth = \"basic\"\n"                     /* 7 */
                       "username = \"u\"\n"
                       "[[sinks.webhook]]\n"                    /* 9 */
                       "format = \"ndjson\"\n"
                       "[host.fanotify]\n"
                       "mode = \"passive\"\n"                   /* 12 */
                       "[sinks.common]\n"
                       "backoff_initial_ms = 5000\n"
                       "backoff_max_ms = 1000\n";               /* 15 */
    const char *want[] = {
        "%s:2: web.listen = \"0.0.0.0:7777\" is not a loopback address, so web.token must be "
        "set",
        "%s:4: sinks.kafka.brokers is set but sinks.kafka.topic is not",
        "%s:7: sinks.webhook[0].auth = \"basic\" needs sinks.webhook[0].password",
        "%s:9: [[sinks.webhook]] needs a url",
        "%s:12: host.fanotify.mode = \"passive\" needs host.fanotify.paths",
        "%s:15: sinks.common.backoff_max_ms = 1000 is below sinks.common.backoff_initial_ms = "
        "5000",
        NULL,
    };
    /* The two webhooks inherit the common backoff too (4 more), and so do
     * otlp and kafka. */
    load_err(text, NULL, 10, want);
}

static void test_error_environment(void **state)
{
    (void)state;
    char *env[] = {"OISP_CAPTURE_MAX_CAPTUR=1M", "OISP_SINKS_KAFKA_KEY=partition",
                   "OISP_HOST_FOO=1", "OISP_SINKS_WEBHOOK_URL=http://x",
                   "OISP_REDACTION_PATTERNS=[]\nmode = 1", NULL};
    const char *want[] = {
        "environment OISP_CAPTURE_MAX_CAPTUR is not a known setting (did you mean "
        "OISP_CAPTURE_MAX_CAPTURE?)",
        "environment OISP_SINKS_KAFKA_KEY=partition: expected one of \"event_id\", \"process\", "
        "\"trace_id\"",
        "environment OISP_HOST_FOO is not a known setting; OISP_<SECTION>_<KEY> variables",
        "environment OISP_SINKS_WEBHOOK_URL: webhooks are set as a whole",
        /* Text cannot smuggle in lines of its own. */
        "environment OISP_REDACTION_PATTERNS=[]\\nmode = 1: expected an array of { name",
        NULL,
    };
    load_err("", env, 5, want);
}

static void test_errors_are_bounded(void **state)
{
    (void)state;
    /* 3000 unknown keys: every one counted, the text cut with a note. */
    size_t cap = 3000 * 16, n = 0;
    char *text = malloc(cap);
    n += (size_t)snprintf(text, cap, "[capture]\n");
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(text + n, cap - n, "k%d = 1\n", i);
    const char *p = write_file("many.toml", text);
    free(text);
    config c;
    char small[2048];
    assert_int_equal(config_load_file(&c, p, NULL, small, sizeof(small)), 3000);
    assert_true(strlen(small) < sizeof(small));
    assert_non_null(strstr(small, " more"));
}

/* ---- lookup ---- */

static void test_lookup_order(void **state)
{
    (void)state;
    char path[512], err[512], home[300], xdg[300], envh[320], envx[320], envc[320];
    snprintf(home, sizeof(home), "%s/home", tmpdir);
    snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
    snprintf(envh, sizeof(envh), "HOME=%s", home);
    snprintf(envx, sizeof(envx), "XDG_CONFIG_HOME=%s", xdg);
    const char *homecfg = write_file("home/.config/oisp-sensor/config.toml", "");
    char *env_home[] = {envh, NULL};
    assert_int_equal(config_find(NULL, env_home, path, sizeof(path), err, sizeof(err)), 1);
    assert_string_equal(path, homecfg);
    /* XDG_CONFIG_HOME wins over HOME when set. */
    const char *xdgcfg = write_file("xdg/oisp-sensor/config.toml", "");
    char *env_xdg[] = {envh, envx, NULL};
    assert_int_equal(config_find(NULL, env_xdg, path, sizeof(path), err, sizeof(err)), 1);
    assert_string_equal(path, xdgcfg);
    /* $OISP_CONFIG wins over both, --config over it. */
    const char *named = write_file("named.toml", "");
    snprintf(envc, sizeof(envc), "OISP_CONFIG=%s", named);
    char *env_named[] = {envh, envc, NULL};
    assert_int_equal(config_find(NULL, env_named, path, sizeof(path), err, sizeof(err)), 1);
    assert_string_equal(path, named);
    assert_int_equal(config_find(homecfg, env_named, path, sizeof(path), err, sizeof(err)), 1);
    assert_string_equal(path, homecfg);
    /* A named file that does not exist is an error, not a fallback. */
    assert_int_equal(config_find("/nonexistent/c.toml", env_home, path, sizeof(path), err,
                                 sizeof(err)), -1);
    assert_string_equal(err, "--config /nonexistent/c.toml: No such file or directory");
    char *env_missing[] = {"OISP_CONFIG=/nonexistent/o.toml", envh, NULL};
    assert_int_equal(config_find(NULL, env_missing, path, sizeof(path), err, sizeof(err)), -1);
    assert_string_equal(err, "OISP_CONFIG /nonexistent/o.toml: No such file or directory");
    config c;
    assert_int_equal(config_load(&c, "/nonexistent/c.toml", env_home, err, sizeof(err)), 1);
    /* config_load reads what config_find found. */
    write_file("home/.config/oisp-sensor/config.toml", "[capture]\ninbound = true\n");
    assert_int_equal(config_load(&c, NULL, env_home, err, sizeof(err)), 0);
    assert_true(c.capture.inbound);
    assert_string_equal(c.path, homecfg);
    config_free(&c);
    /* With nothing found, defaults (unless this machine has the system file). */
    char *env_none[] = {"HOME=/nonexistent", NULL};
    int found = config_find(NULL, env_none, path, sizeof(path), err, sizeof(err));
    struct stat st;
    assert_int_equal(found, stat(CONFIG_SYSTEM_PATH, &st) == 0 ? 1 : 0);
}

/* The "key = value" and "[section]" lines of config_print output, origin
 * comments cut off, [[sinks.webhook]] blocks left out.  Modifies text. */
static size_t value_lines(char *text, char **out, size_t max)
{
    size_t n = 0;
    int in_webhook = 0;
    char *save, *line;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        if (line[0] == '[')
            in_webhook = !strcmp(line, "[[sinks.webhook]]");
        if (in_webhook)
            continue;
        char *c = strstr(line, " # ");
        if (c)
            *c = 0;
        if (n < max)
            out[n++] = line;
    }
    return n;
}

/* ---- the packaged file and config show ---- */

static void test_packaged_config(void **state)
{
    (void)state;
    config c;
    int n = config_load_file(&c, PACKAGED, NULL, errbuf, sizeof(errbuf));
    if (n)
        fail_msg("%s:\n%s", PACKAGED, errbuf);
    assert_string_equal(c.jsonl.path, "/var/log/oisp/events.jsonl");
    config_free(&c);

    /* Every key is documented in its section, as "#key =" or "key =". */
    char *text = slurp(PACKAGED);
    const char *key;
    for (size_t i = 0; (key = config_key_at(i, NULL, NULL, NULL)) != NULL; i++) {
        const char *dot = strrchr(key, '.');
        char sec[96], hdr[100], line[100];
        snprintf(sec, sizeof(sec), "%.*s", (int)(dot - key), key);
        /* Per-sink delivery settings are documented once in [sinks.common]. */
        int common = !strncmp(sec, "sinks.", 6) && strcmp(sec, "sinks.common") != 0 &&
                     strstr("queue_size batch_size batch_interval_ms max_retries "
                            "backoff_initial_ms backoff_max_ms dead_letter_dir", dot + 1);
        if (common && strcmp(sec, "sinks.websocket") != 0)
            snprintf(sec, sizeof(sec), "sinks.common");
        snprintf(hdr, sizeof(hdr), strcmp(sec, "sinks.webhook") ? "\n[%s]\n" : "\n#[[%s]]\n",
                 sec);
        const char *at = strstr(text, hdr);
        if (!at)
            fail_msg("%s: no section %s for %s", PACKAGED, sec, key);
        const char *end = strstr(at + strlen(hdr), "\n[");
        snprintf(line, sizeof(line), "\n#%s = ", dot + 1);
        const char *found = strstr(at, line);
        if (!found || (end && found > end)) {
            snprintf(line, sizeof(line), "\n%s = ", dot + 1);
            found = strstr(at, line);
        }
        if (!found || (end && found > end))
            fail_msg("%s: %s is not documented in [%s]", PACKAGED, key, sec);
    }

    /* Uncommenting every "#key = value" line gives the built-in defaults
     * (apart from what the file sets and the example webhook). */
    size_t len = strlen(text), o = 0;
    char *un = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '#' && (i == 0 || text[i - 1] == '\n') && i + 1 < len &&
            text[i + 1] != ' ' && text[i + 1] != '\n' && text[i + 1] != '#')
            continue;
        un[o++] = text[i];
    }
    un[o] = 0;
    const char *p = write_file("uncommented.toml", un);
    free(un);
    free(text);
    n = config_load_file(&c, p, NULL, errbuf, sizeof(errbuf));
    if (n)
        fail_msg("uncommented %s:\n%s", PACKAGED, errbuf);
    config d;
    assert_int_equal(config_init(&d), 0);
    char *a = NULL, *b = NULL;
    size_t al, bl;
    FILE *fa = open_memstream(&a, &al), *fb = open_memstream(&b, &bl);
    config_print(&c, fa);
    config_print(&d, fb);
    fclose(fa);
    fclose(fb);
    /* Compare value by value, origins and webhooks aside. */
    char *va[200], *vb[200];
    size_t na = value_lines(a, va, 200), nb = value_lines(b, vb, 200);
    assert_int_equal(na, nb);
    int compared = 0;
    for (size_t i = 0; i < na; i++) {
        if (!strncmp(va[i], "path = ", 7))
            continue;
        if (strcmp(va[i], vb[i]) != 0)
            fail_msg("packaged default differs: '%s' vs built-in '%s'", va[i], vb[i]);
        compared++;
    }
    assert_true(compared > 40);
    free(a);
    free(b);
    config_free(&c);
    config_free(&d);
}

static void test_show_output_reads_back(void **state)
{
    (void)state;
    const char *text = "[capture]\n"
                       "pids = [3, 4]\n"
                       "comms = [\"a \\\"q\\\"\"]\n"
                       "max_capture = 123457\n"
                       "[redaction]\n"
                       "patterns = [{ name = \"t\", regex = \"T-[0-9]+\" }]\n"
                       "[sinks.otlp]\n"
                       "url = \"http://127.0.0.1:4318\"\n"
                       "signals = [\"traces\"]\n"
                       "[sinks.kafka]\n"
                       "brokers = [\"k:1\"]\n"
                       "topic = \"t\"\n"
                       "properties = { acks = \"all\" }\n"
                       "[[sinks.webhook]]\n"
                       "url = \"https://h.example/\"\n"
                       "[host.fanotify]\n"
                       "mode = \"enforcing\"\n"
                       "paths = [\"/opt\"]\n"
                       "allow = [{ exe = \"/usr/bin/make\" }]\n"
                       "deny = [{ sha256 = \"" "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934C"
                       "A495991B7852B855\" }]\n";
    config c;
    load_ok(&c, text, NULL);
    char *out = NULL;
    size_t len;
    FILE *f = open_memstream(&out, &len);
    config_print(&c, f);
    fclose(f);
    assert_non_null(strstr(out, "max_capture = 123457"));
    assert_non_null(strstr(out, "deny = [{ sha256 = \"e3b0c442"));
    /* What show prints is a valid configuration with the same values. */
    const char *p = write_file("shown.toml", out);
    config d;
    if (config_load_file(&d, p, NULL, errbuf, sizeof(errbuf)))
        fail_msg("show output does not load:\n%s\n---\n%s", errbuf, out);
    char *out2 = NULL;
    size_t len2;
    f = open_memstream(&out2, &len2);
    config_print(&d, f);
    fclose(f);
    /* Same lines apart from the origin comments. */
    char *s1, *s2, *l1 = strtok_r(out, "\n", &s1), *l2 = strtok_r(out2, "\n", &s2);
    for (; l1 && l2; l1 = strtok_r(NULL, "\n", &s1), l2 = strtok_r(NULL, "\n", &s2)) {
        char *c1 = strstr(l1, " # "), *c2 = strstr(l2, " # ");
        if (c1)
            *c1 = 0;
        if (c2)
            *c2 = 0;
        if (l1[0] != '#')
            assert_string_equal(l1, l2);
    }
    assert_null(l1);
    assert_null(l2);
    free(out);
    free(out2);
    config_free(&c);
    config_free(&d);
}

static void test_show_masks_secrets(void **state)
{
    (void)state;
    const char *text = "[web]\ntoken = \"webtoken123\"\n"
                       "[sinks.otlp]\nbearer_token = \"otlpsecret\"\n"
                       "headers = { Authorization = \"Basic abc\" }\n"
                       "[sinks.kafka]\nproperties = { \"sasl.password\" = \"kpw\", "
                       "\"sasl.username\" = \"kuser\" }\n"
                       "[[sinks.webhook]]\nurl = \"https://h.example/\"\nauth = \"basic\"\n"
                       "username = \"wuser\"\npassword = \"wpass\"\n";
    config c;
    load_ok(&c, text, NULL);
    char *out = NULL;
    size_t len;
    FILE *f = open_memstream(&out, &len);
    config_print(&c, f);
    fclose(f);
    const char *secrets[] = {"webtoken123", "otlpsecret", "Basic abc", "kpw", "wpass"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (strstr(out, secrets[i]))
            fail_msg("config show printed the secret %s", secrets[i]);
    assert_non_null(strstr(out, "kuser"));
    assert_non_null(strstr(out, "wuser"));
    free(out);
    config_free(&c);
}

/* ---- the command ---- */

/* Run cmd_config with stdout and stderr captured. */
static int run_cmd(char *const *args, char **out, char **err)
{
    char po[300], pe[300];
    snprintf(po, sizeof(po), "%s/stdout", tmpdir);
    snprintf(pe, sizeof(pe), "%s/stderr", tmpdir);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    int fe = open(pe, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    int argc = 0;
    while (args[argc])
        argc++;
    int rc = cmd_config(argc, (char **)args);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    *out = slurp(po);
    *err = slurp(pe);
    return rc;
}

static void test_command(void **state)
{
    (void)state;
    char *out, *err;
    char *check_pkg[] = {"config", "check", PACKAGED, NULL};
    assert_int_equal(run_cmd(check_pkg, &out, &err), 0);
    assert_string_equal(out, PACKAGED ": OK\n");
    assert_string_equal(err, "");
    free(out);
    free(err);

    const char *bad = write_file("cmd-bad.toml", "[capture]\ninbound = 1\n[nope]\n");
    char *check_bad[] = {"config", "check", (char *)bad, NULL};
    assert_int_equal(run_cmd(check_bad, &out, &err), 1);
    assert_string_equal(out, "");
    char want[1024];
    snprintf(want, sizeof(want), "%s:2: capture.inbound = 1: expected true or false\n%s:3: "
             "section 'nope' is not known; valid sections: [capture], [redaction], [output], "
             "[sinks], [web], [metrics], [correlation], [host]\n2 errors\n", bad, bad);
    assert_string_equal(err, want);
    free(out);
    free(err);

    const char *good = write_file("cmd-good.toml", "[capture]\ncomms = [\"curl\"]\n");
    char *show[] = {"config", "show", "--config", (char *)good, NULL};
    assert_int_equal(run_cmd(show, &out, &err), 0);
    snprintf(want, sizeof(want), "comms = [\"curl\"]                         # %s:2\n", good);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "ring_size = \"2M\"                         # default\n"));
    free(out);
    free(err);

    char *missing[] = {"config", "show", "--config", "/nonexistent.toml", NULL};
    assert_int_equal(run_cmd(missing, &out, &err), 1);
    assert_string_equal(err, "--config /nonexistent.toml: No such file or directory\n");
    free(out);
    free(err);

    char *help[] = {"config", "--help", NULL};
    assert_int_equal(run_cmd(help, &out, &err), 0);
    assert_non_null(strstr(out, "usage: oisp-sensor config check [FILE]"));
    free(out);
    free(err);

    char *usage1[] = {"config", NULL};
    char *usage2[] = {"config", "frob", NULL};
    char *usage3[] = {"config", "show", "extra", NULL};
    assert_int_equal(run_cmd(usage1, &out, &err), 2);
    free(out);
    free(err);
    assert_int_equal(run_cmd(usage2, &out, &err), 2);
    free(out);
    free(err);
    assert_int_equal(run_cmd(usage3, &out, &err), 2);
    free(out);
    free(err);
}

/* ---- hostile files ---- */

static void test_garbage_files(void **state)
{
    (void)state;
    char *base = slurp(PACKAGED);
    size_t len = strlen(base);
    unsigned seed = 7;
    const char pool[] = "[]{}=.,'\"#\n \\x0_-:ab\xff";
    for (int round = 0; round < 400; round++) {
        char *m = malloc(len + 16);
        memcpy(m, base, len + 1);
        for (int k = 0; k < 1 + round % 4; k++) {
            size_t at = (size_t)rand_r(&seed) % len;
            m[at] = pool[(size_t)rand_r(&seed) % (sizeof(pool) - 1)];
        }
        /* Uncomment a random line too, so values get checked. */
        char *hash = strchr(m + (size_t)rand_r(&seed) % len, '#');
        if (hash)
            *hash = ' ';
        const char *p = write_file("garbage.toml", m);
        config c;
        if (config_load_file(&c, p, NULL, errbuf, sizeof(errbuf)) == 0)
            config_free(&c);
        free(m);
    }
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_env_names_are_unique),
        cmocka_unit_test(test_precedence_file_env_flag),
        cmocka_unit_test(test_env_value_forms),
        cmocka_unit_test(test_common_inheritance),
        cmocka_unit_test(test_webhook_and_map_flags),
        cmocka_unit_test(test_error_unknown_keys),
        cmocka_unit_test(test_error_bad_values),
        cmocka_unit_test(test_error_toml_syntax_and_types),
        cmocka_unit_test(test_error_across_keys),
        cmocka_unit_test(test_error_environment),
        cmocka_unit_test(test_errors_are_bounded),
        cmocka_unit_test(test_lookup_order),
        cmocka_unit_test(test_packaged_config),
        cmocka_unit_test(test_show_output_reads_back),
        cmocka_unit_test(test_show_masks_secrets),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_garbage_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_redact.c: tests src/events/redact.c.
 *
 * Events come from two places: tests/data/redact/events.jsonl (hand-made,
 * one of each kind that carries text, full of secrets) and the real
 * pipeline (HTTP exchanges with OpenAI and Anthropic fed through
 * pipeline_data, written by the JSONL sink).  Each is redacted in the three
 * modes; the results must pass oisp-validate, hold none of the secrets the
 * mode hides, keep what it keeps, and not change when redacted again.
 * Also: the user's patterns and their errors, credential-named keys,
 * nesting limits, several threads at once, hostile event shapes, and the
 * cost of a 2 KB prompt without findings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/clock.h"
#include "util/monotime.h"
#include "events/pipeline.h"
#include "events/redact.h"
#include "events/secrets.h"
#include "sinks/sink.h"

#define VALIDATE "../../../shared/tools/oisp-validate"
#define FIXTURE "../data/redact/events.jsonl"
#define CLEAN "../data/redact/clean.txt"

#define OPENAI "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34"
#define ANTHROPIC "sk-ant-api03-Xy12Zw34Vu56Ts78Rq90-AAbb"
#define AWS "AKIAIOSFODNN7EXAMPLE"
#define GITHUB "ghp_0123456789abcdefghijklmnopqrstuvwxyz"
#define JWT "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"
#define SLACK "xoxb-1234-5678-abcdefgh"
#define GOOGLE "AIzaSyA1234567890abcdefghijklmnopqrstu"

/* Never written, whatever the mode. */
static const char *const credentials[] = {
    OPENAI, ANTHROPIC, AWS, GITHUB, JWT, SLACK, GOOGLE, "dGhpcyBpcyBhIHRva2Vu", "hunter2",
    "session=abc",
};
/* Written only in minimal mode. */
static const char *const personal[] = {
    "alice.smith@example.com", "bob@corp.example.org", "carol@example.net", "dave@example.com",
    "eve@example.com", "frank@example.com", "grace@example.com", "heidi@example.com",
    "ops@example.com", "4111 1111 1111 1111", "5555555555554444", "4012888888881881",
};

/* ---- helpers ---- */

static json_t *load_jsonl(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    json_t *arr = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (n <= 1)
            continue;
        json_error_t e;
        json_t *ev = json_loadb(line, (size_t)n, 0, &e);
        if (!ev)
            fail_msg("%s: %s", path, e.text);
        json_array_append_new(arr, ev);
    }
    free(line);
    fclose(f);
    return arr;
}

static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(s);
    return s;
}

/* Every event through oisp-validate. */
static void validate(const json_t *events, const char *what)
{
    if (access(VALIDATE, X_OK) != 0)
        skip();
    char path[] = "/tmp/oisp-redact-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        char *s = json_dumps(ev, JSON_COMPACT);
        fprintf(f, "%s\n", s);
        free(s);
    }
    fclose(f);
    char cmd[256], out[8192] = "";
    snprintf(cmd, sizeof(cmd), "%s %s 2>&1", VALIDATE, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof(out) - 1, p);
    out[got] = 0;
    int st = pclose(p);
    unlink(path);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("%s: oisp-validate failed:\n%s", what, out);
}

static redactor *make(redact_mode mode, const redact_pattern *pats, size_t npats, int preview)
{
    char err[256] = "";
    redact_opts o = {.mode = mode, .patterns = pats, .npatterns = npats, .preview_chars = preview};
    redactor *r = redact_new(&o, err, sizeof(err));
    if (!r)
        fail_msg("redact_new: %s", err);
    return r;
}

/* A deep copy of events with every event redacted. */
static json_t *redact_all(const redactor *r, const json_t *events)
{
    json_t *out = json_deep_copy(events);
    size_t i;
    json_t *ev;
    json_array_foreach(out, i, ev)
        assert_true(redact_event(r, ev) >= 0);
    return out;
}

static void expect_absent(const json_t *events, const char *const *list, size_t n,
                          const char *mode)
{
    char *s = dump(events);
    for (size_t i = 0; i < n; i++)
        if (strstr(s, list[i]))
            fail_msg("%s: '%s' was written", mode, list[i]);
    free(s);
}

static void expect_present(const json_t *events, const char *const *list, size_t n,
                           const char *mode)
{
    char *s = dump(events);
    for (size_t i = 0; i < n; i++)
        if (!strstr(s, list[i]))
            fail_msg("%s: '%s' should have been kept", mode, list[i]);
    free(s);
}

/* Redacting again changes nothing. */
static void expect_idempotent(const redactor *r, const json_t *events)
{
    json_t *again = json_deep_copy(events);
    size_t i;
    json_t *ev;
    json_array_foreach(again, i, ev) {
        char *before = dump(ev);
        assert_int_equal(redact_event(r, ev), 0);
        char *after = dump(ev);
        if (strcmp(before, after) != 0)
            fail_msg("event %zu changed on a second pass:\n  once:  %s\n  twice: %s", i, before,
                     after);
        free(before);
        free(after);
    }
    json_decref(again);
}

static json_t *path(json_t *ev, const char *p) /* "data.messages.1.content" */
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", p);
    json_t *v = ev;
    for (char *save, *tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
        v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10)) : json_object_get(v, tok);
    return v;
}

static const char *str_at(json_t *ev, const char *p)
{
    const char *s = json_string_value(path(ev, p));
    if (!s)
        fail_msg("no string at %s", p);
    return s;
}

static json_int_t finding(json_t *ev, const char *type)
{
    size_t i;
    json_t *f;
    json_array_foreach(path(ev, "attrs.redaction.findings"), i, f) {
        if (strcmp(json_string_value(json_object_get(f, "type")), type) == 0)
            return json_integer_value(json_object_get(f, "count"));
    }
    return 0;
}

static void sha256_hex(const char *s, char out[72])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    strcpy(out, "sha256:");
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static json_t *event_with_data(const char *type, json_t *data)
{
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:{s:s,s:s}}", "oisp_version", "0.1",
                           "event_id", "01JFWK8XA00000000000000077", "event_type", type, "ts",
                           "2025-12-22T14:30:16.000000Z", "source", "collector", "oisp-sensor",
                           "confidence", "level", "high", "completeness", "full");
    json_object_set_new(ev, "data", data);
    return ev;
}

/* ---- the fixture in each mode ---- */

static void test_fixture_valid_as_is(void **state)
{
    (void)state;
    json_t *events = load_jsonl(FIXTURE);
    assert_true(json_array_size(events) >= 9);
    validate(events, "fixture");
    expect_present(events, credentials, sizeof(credentials) / sizeof(credentials[0]), "fixture");
    json_decref(events);
}

static void test_safe(void **state)
{
    (void)state;
    json_t *events = load_jsonl(FIXTURE);
    redactor *r = make(REDACT_SAFE, NULL, 0, 0);
    json_t *out = redact_all(r, events);
    validate(out, "safe");
    expect_absent(out, credentials, sizeof(credentials) / sizeof(credentials[0]), "safe");
    expect_absent(out, personal, sizeof(personal) / sizeof(personal[0]), "safe");
    expect_idempotent(r, out);

    json_t *req = json_array_get(out, 0);
    assert_string_equal(str_at(req, "data.messages.1.content"),
                        "My key is [REDACTED:openai_key] and my card [REDACTED:card]; mail me at "
                        "[REDACTED:email] (日本語 ok) The rest of the prompt talks about quarterly "
                        "numbers. The rest of the prompt talks about quarterly numbers. The rest of "
                        "the prompt talks about quarterly numbers. CANARY-TAIL-TEXT");
    assert_string_equal(str_at(req, "data.messages.4.content"),
                        "Plain question with order 12345678 and uuid "
                        "550e8400-e29b-41d4-a716-446655440000.");
    assert_string_equal(str_at(req, "data.messages.2.tool_calls.0.arguments"),
                        "{\"cmd\":\"curl -H 'Authorization: Bearer [REDACTED:jwt]' https://x\"}");
    assert_string_equal(str_at(req, "data.messages.3.content"),
                        "aws_access_key_id = [REDACTED:aws_key]\nuser [REDACTED:email]");
    assert_string_equal(str_at(req, "data.headers.Authorization"), "Bearer [REDACTED:credential]");
    assert_string_equal(str_at(req, "data.headers.Cookie"), "[REDACTED:credential]");
    assert_string_equal(str_at(req, "data.headers.X-Api-Key"), "[REDACTED:credential]");
    assert_string_equal(str_at(req, "data.headers.User-Agent"),
                        "python-httpx/0.27 (contact [REDACTED:email])");
    assert_string_equal(str_at(req, "process.cmdline"),
                        "python3 agent.py --user [REDACTED:email] --mode=production");
    assert_int_equal(finding(req, "email"), 4); /* message, tool message, header, cmdline */
    assert_int_equal(finding(req, "card"), 1);
    assert_int_equal(finding(req, "openai_key"), 1);
    assert_int_equal(finding(req, "aws_key"), 1);
    assert_int_equal(finding(req, "jwt"), 1);
    assert_int_equal(finding(req, "credential"), 3);
    assert_true(json_is_true(path(req, "confidence.redaction_applied")));
    assert_string_equal(str_at(req, "confidence.redaction_profile"), "safe");
    assert_string_equal(str_at(req, "confidence.completeness"), "full");

    json_t *resp = json_array_get(out, 1);
    assert_string_equal(str_at(resp, "data.choices.0.message.content"),
                        "Sure. Write to [REDACTED:email]; the token [REDACTED:github_token] is yours.");
    assert_string_equal(str_at(resp, "data.choices.0.message.thinking"),
                        "The user pasted [REDACTED:anthropic_key] earlier.");
    assert_string_equal(str_at(resp, "data.tool_calls.0.arguments.content"),
                        "Contact [REDACTED:email], card [REDACTED:card]");
    assert_string_equal(str_at(resp, "data.tool_calls.0.arguments.api_key"), "[REDACTED:credential]");
    assert_string_equal(str_at(resp, "data.tool_calls.0.arguments.nested.password"),
                        "[REDACTED:credential]");
    assert_string_equal(str_at(resp, "data.tool_calls.0.arguments.nested.list.1"), "[REDACTED:email]");
    assert_string_equal(str_at(resp, "data.tool_calls.0.arguments.path"), "/tmp/report.md");
    assert_string_equal(str_at(resp, "data.tool_calls.1.arguments"),
                        "{\"url\":\"https://slack.com/api?token=[REDACTED:slack_token]\"}");

    assert_string_equal(str_at(json_array_get(out, 2), "data.error.message"),
                        "Incorrect API key provided: [REDACTED:openai_key]. You can find your API "
                        "key at https://platform.openai.com/account/api-keys.");
    assert_string_equal(str_at(json_array_get(out, 4), "data.result"),
                        "export GOOGLE_API_KEY=[REDACTED:google_key]\nowner: [REDACTED:email]\n");
    json_t *exec = json_array_get(out, 6);
    assert_string_equal(str_at(exec, "data.args.2"), "Authorization: Bearer [REDACTED:jwt]");
    assert_string_equal(str_at(exec, "data.args.4"), "[REDACTED:email]:pw");
    json_t *res = json_array_get(out, 8);
    assert_string_equal(str_at(res, "data.result.rows.0.card"), "[REDACTED:card]");
    assert_string_equal(str_at(res, "data.result.token"), "[REDACTED:credential]");

    json_t *net = json_array_get(out, 7); /* only its process block has text */
    assert_true(json_equal(path(net, "data"), path(json_array_get(events, 7), "data")));
    assert_int_equal(finding(net, "email"), 1);
    json_t *plain = event_with_data("network.connect", json_pack("{s:{s:s,s:i}}", "dest", "ip",
                                                                 "10.0.0.1", "port", 443));
    json_t *plain_orig = json_deep_copy(plain);
    assert_int_equal(redact_event(r, plain), 0);
    assert_true(json_is_false(path(plain, "confidence.redaction_applied")));
    assert_string_equal(str_at(plain, "confidence.redaction_profile"), "safe");
    assert_null(json_object_get(plain, "attrs"));
    json_object_del(json_object_get(plain, "confidence"), "redaction_applied");
    json_object_del(json_object_get(plain, "confidence"), "redaction_profile");
    assert_true(json_equal(plain, plain_orig));
    json_decref(plain);
    json_decref(plain_orig);
    /* masked at the source (proc.c masks command lines): applied, nothing new found */
    json_t *pre = event_with_data("process.exec", json_pack("{s:s,s:[s,s]}", "exe", "/bin/x",
                                                            "args", "x", "--token=[REDACTED:credential]"));
    assert_int_equal(redact_event(r, pre), 0);
    assert_true(json_is_true(path(pre, "confidence.redaction_applied")));
    assert_null(json_object_get(pre, "attrs"));
    json_decref(pre);

    json_decref(out);
    json_decref(events);
    redact_free(r);
}

static void test_minimal(void **state)
{
    (void)state;
    json_t *events = load_jsonl(FIXTURE);
    redactor *r = make(REDACT_MINIMAL, NULL, 0, 0);
    json_t *out = redact_all(r, events);
    validate(out, "minimal");
    expect_absent(out, credentials, sizeof(credentials) / sizeof(credentials[0]), "minimal");
    expect_present(out, personal, sizeof(personal) / sizeof(personal[0]), "minimal");
    expect_idempotent(r, out);
    json_t *req = json_array_get(out, 0);
    static const char want[] = "My key is [REDACTED:openai_key] and my card 4111 1111 1111 "
                               "1111; mail me at alice.smith@example.com";
    assert_true(strncmp(str_at(req, "data.messages.1.content"), want, sizeof(want) - 1) == 0);
    assert_string_equal(str_at(req, "confidence.redaction_profile"), "minimal");
    assert_int_equal(finding(req, "email"), 0);
    assert_int_equal(finding(req, "openai_key"), 1);
    json_decref(out);
    json_decref(events);
    redact_free(r);
}

static void expect_marker(json_t *ev, const char *p, const char *original, const char *detector)
{
    json_t *m = path(ev, p);
    if (!json_is_object(m) || json_object_size(m) != 1)
        fail_msg("%s is not a marker", p);
    json_t *red = json_object_get(m, "$redacted");
    assert_string_equal(json_string_value(json_object_get(red, "reason")), "policy");
    assert_string_equal(json_string_value(json_object_get(red, "redaction_profile")), "full");
    if (original) {
        char h[72];
        sha256_hex(original, h);
        assert_string_equal(json_string_value(json_object_get(red, "hash")), h);
    }
    const char *det = json_string_value(json_object_get(red, "detector"));
    if (detector)
        assert_string_equal(det ? det : "(none)", detector);
    else
        assert_null(det);
    const char *pv = json_string_value(json_object_get(red, "preview"));
    if (pv) {
        size_t chars = 0;
        for (const char *c = pv; *c; c++)
            chars += ((unsigned char)*c & 0xC0) != 0x80;
        assert_true(chars <= REDACT_PREVIEW_MAX);
    }
}

static int removed_has(json_t *ev, const char *ptr)
{
    size_t i;
    json_t *v;
    json_array_foreach(path(ev, "attrs.redaction.removed"), i, v) {
        if (strcmp(json_string_value(v), ptr) == 0)
            return 1;
    }
    return 0;
}

static void test_full(void **state)
{
    (void)state;
    json_t *events = load_jsonl(FIXTURE);
    redactor *r = make(REDACT_FULL, NULL, 0, 0);
    json_t *out = redact_all(r, events);
    validate(out, "full");
    expect_absent(out, credentials, sizeof(credentials) / sizeof(credentials[0]), "full");
    expect_absent(out, personal, sizeof(personal) / sizeof(personal[0]), "full");
    /* past the first 100 characters, in removed fields */
    static const char *const prose[] = {"CANARY-TAIL-TEXT", "quarterly numbers. The rest",
                                        "owner:", "rows"};
    expect_absent(out, prose, sizeof(prose) / sizeof(prose[0]), "full");
    expect_idempotent(r, out);

    json_t *orig = json_array_get(events, 0), *req = json_array_get(out, 0);
    expect_marker(req, "data.messages.0.content", str_at(orig, "data.messages.0.content"), NULL);
    assert_string_equal(str_at(req, "data.messages.0.content.$redacted.preview"),
                        "You are an ops agent. Never reveal keys. CANARY-SYSTEM-TEXT");
    expect_marker(req, "data.messages.1.content", str_at(orig, "data.messages.1.content"),
                  "openai_key");
    assert_true(strncmp(str_at(req, "data.messages.1.content.$redacted.preview"),
                        "My key is [REDACTED:openai_key] and my card [REDACTED:card]", 57) == 0);
    json_t *mk = path(req, "data.messages.1.content.$redacted");
    assert_int_equal(json_integer_value(json_object_get(mk, "original_length")),
                     strlen(str_at(orig, "data.messages.1.content")) - 6); /* 日本語: 9 bytes, 3 chars */
    assert_int_equal(json_array_size(json_object_get(mk, "findings")), 3);
    assert_null(path(req, "data.messages.2.tool_calls.0.arguments"));
    char h[72];
    sha256_hex(str_at(orig, "data.messages.2.tool_calls.0.arguments"), h);
    assert_string_equal(str_at(req, "data.messages.2.tool_calls.0.arguments_hash"), h);
    assert_true(removed_has(req, "/data/messages/2/tool_calls/0/arguments"));
    assert_string_equal(str_at(req, "confidence.completeness"), "redacted");
    assert_string_equal(str_at(req, "confidence.redaction_profile"), "full");
    assert_string_equal(str_at(req, "data.headers.Authorization"), "Bearer [REDACTED:credential]");
    assert_int_equal(finding(req, "jwt"), 1); /* counted although the arguments went away */

    json_t *resp = json_array_get(out, 1);
    expect_marker(resp, "data.choices.0.message.content", NULL, "github_token");
    expect_marker(resp, "data.choices.0.message.thinking", NULL, "anthropic_key");
    expect_marker(resp, "data.choices.0.message.refusal", NULL, NULL);
    assert_null(path(resp, "data.tool_calls.0.arguments"));
    assert_null(path(resp, "data.tool_calls.1.arguments"));
    assert_true(removed_has(resp, "/data/tool_calls/0/arguments"));
    assert_true(removed_has(resp, "/data/tool_calls/1/arguments"));
    assert_string_equal(str_at(resp, "data.tool_calls.0.name"), "write_file");

    json_t *call = json_array_get(out, 3);
    expect_marker(call, "data.arguments", NULL, "credential");
    assert_true(strstr(str_at(call, "data.arguments.$redacted.preview"), "[REDACTED:email]"));
    json_t *res = json_array_get(out, 4);
    assert_null(path(res, "data.result"));
    assert_string_equal(str_at(res, "data.result_hash"),
                        "sha256:0000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(json_integer_value(path(res, "data.result_size_bytes")), 4096);
    json_t *res9 = json_array_get(out, 8);
    assert_null(path(res9, "data.result"));
    assert_true(strncmp(str_at(res9, "data.result_hash"), "sha256:", 7) == 0);
    assert_true(json_integer_value(path(res9, "data.result_size_bytes")) > 0);
    assert_int_equal(finding(res9, "card"), 1);
    assert_string_equal(str_at(json_array_get(out, 7), "confidence.completeness"), "full");
    assert_string_equal(str_at(json_array_get(out, 6), "data.args.2"),
                        "Authorization: Bearer [REDACTED:jwt]");
    json_decref(out);

    /* without previews not even the first characters leave */
    redactor *np = make(REDACT_FULL, NULL, 0, -1);
    out = redact_all(np, events);
    validate(out, "full without preview");
    static const char *const start[] = {"CANARY-SYSTEM-TEXT", "My key is", "\"preview\"",
                                        "Plain question", "Sure. Write", "/tmp/report.md",
                                        "slack.com/api"};
    expect_absent(out, start, sizeof(start) / sizeof(start[0]), "full without preview");
    json_decref(out);
    redact_free(np);

    json_decref(events);
    redact_free(r);
}

/* ---- user patterns ---- */

static void test_user_patterns(void **state)
{
    (void)state;
    static const redact_pattern pats[] = {
        {"ticket", "TKT-[0-9]+"}, {"employee", "EMP[0-9]{6}"}, {"cafe", "caf."}, {"tail", "end$"},
    };
    for (int mode = 0; mode < 3; mode++) {
        redactor *r = make((redact_mode)mode, pats, 4, 0);
        json_t *ev = json_pack(
            "{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:[{s:s,s:s}]}}", "oisp_version", "0.1", "event_id",
            "01JFWK8XA00000000000000099", "event_type", "ai.request", "ts",
            "2025-12-22T14:30:16.000000Z", "source", "collector", "oisp-sensor", "capture_method",
            "ebpf_uprobe", "data", "messages", "role", "user", "content",
            "See TKT-1234 and TKT-99 for EMP123456 (not EMP12345) at the café; " OPENAI
            " TKT-5 end");
        json_object_set_new(ev, "confidence", json_pack("{s:s,s:s}", "level", "high",
                                                        "completeness", "full"));
        assert_int_equal(redact_event(r, ev), 1);
        char *once = dump(ev);
        assert_int_equal(redact_event(r, ev), 0);
        char *twice = dump(ev);
        assert_string_equal(once, twice);
        if (mode != REDACT_FULL) {
            assert_string_equal(str_at(ev, "data.messages.0.content"),
                                "See [REDACTED:ticket] and [REDACTED:ticket] for [REDACTED:employee] "
                                "(not EMP12345) at the [REDACTED:cafe]; [REDACTED:openai_key] "
                                "[REDACTED:ticket] [REDACTED:tail]");
        } else {
            expect_marker(ev, "data.messages.0.content", NULL, "openai_key");
        }
        assert_int_equal(finding(ev, "ticket"), 3);
        assert_int_equal(finding(ev, "employee"), 1);
        assert_int_equal(finding(ev, "cafe"), 1);
        assert_int_equal(finding(ev, "tail"), 1);
        /* built-ins first, then the patterns in their order */
        json_t *f = path(ev, "attrs.redaction.findings");
        assert_string_equal(str_at(json_array_get(f, 0), "type"), "openai_key");
        assert_string_equal(str_at(json_array_get(f, 1), "type"), "ticket");
        json_t *arr = json_array();
        json_array_append(arr, ev);
        validate(arr, "user patterns");
        json_decref(arr);
        free(once);
        free(twice);
        json_decref(ev);
        redact_free(r);
    }
}

/* A pattern that matches everywhere: adjacent matches share a mask, and
 * the text never grows past a bound. */
static void test_pattern_blowup(void **state)
{
    (void)state;
    redactor *r = make(REDACT_SAFE, (redact_pattern[]){{"a_rather_long_pattern_name", "[0-9]"}},
                       1, 0);
    size_t n = 1 << 16;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = i % 2 ? 'x' : '7'; /* 7x7x7x...: every other byte matches */
    big[n] = 0;
    json_t *ev = event_with_data("agent.tool_result", json_pack("{s:s,s:s}", "call_id", "c",
                                                                "result", big));
    json_object_set_new(ev, "process", json_pack("{s:s}", "cmdline", "run 123 456789 x"));
    assert_int_equal(redact_event(r, ev), 1);
    assert_string_equal(str_at(ev, "data.result"), "[REDACTED:a_rather_long_pattern_name]");
    assert_string_equal(str_at(ev, "process.cmdline"),
                        "run [REDACTED:a_rather_long_pattern_name] "
                        "[REDACTED:a_rather_long_pattern_name] x");
    assert_int_equal(redact_event(r, ev), 0);
    json_decref(ev);
    free(big);
    redact_free(r);
}

static void expect_error(const redact_pattern *p, size_t n, const char *want)
{
    char err[256] = "";
    redact_opts o = {.patterns = p, .npatterns = n};
    redactor *r = redact_new(&o, err, sizeof(err));
    if (r)
        fail_msg("accepted a bad pattern (want '%s')", want);
    if (!strstr(err, want))
        fail_msg("error '%s' does not say '%s'", err, want);
}

static void test_pattern_errors(void **state)
{
    (void)state;
    expect_error((redact_pattern[]){{"ticket", "TKT-[0-9"}}, 1,
                 "redaction pattern 'ticket': not a POSIX extended regular expression: ");
    expect_error((redact_pattern[]){{"paren", "(abc"}}, 1, "pattern 'paren': not a POSIX");
    expect_error((redact_pattern[]){{"any", "a*"}}, 1, "pattern 'any' matches the empty string");
    expect_error((redact_pattern[]){{"bad name", "x"}}, 1, "pattern name 'bad name'");
    expect_error((redact_pattern[]){{"", "x"}}, 1, "pattern name ''");
    expect_error((redact_pattern[]){{"email", "x"}}, 1, "'email' is a built-in detector");
    expect_error((redact_pattern[]){{"a", "x"}, {"a", "y"}}, 2, "'a' is used twice");
    expect_error((redact_pattern[]){{"empty", ""}}, 1, "'empty': empty regex");
    char err[128];
    redact_opts o = {.mode = (redact_mode)7};
    assert_null(redact_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "safe, full or minimal"));
    assert_int_equal(redact_mode_parse("safe"), REDACT_SAFE);
    assert_int_equal(redact_mode_parse("full"), REDACT_FULL);
    assert_int_equal(redact_mode_parse("minimal"), REDACT_MINIMAL);
    assert_int_equal(redact_mode_parse("Safe"), -1);
    assert_int_equal(redact_mode_parse(NULL), -1);
    assert_string_equal(redact_mode_name(REDACT_MINIMAL), "minimal");
}

/* ---- shapes ---- */

static void test_depth_limit(void **state)
{
    (void)state;
    json_t *deep = json_string("alice@example.com");
    for (int i = 0; i < 200; i++)
        deep = json_pack("{s:o}", "k", deep);
    json_t *ev = event_with_data("agent.tool_call", json_pack("{s:{s:s},s:o}", "tool", "name",
                                                              "x", "arguments", deep));
    redactor *r = make(REDACT_SAFE, NULL, 0, 0);
    assert_int_equal(redact_event(r, ev), 1);
    char *s = dump(ev);
    assert_null(strstr(s, "alice@example.com"));
    assert_non_null(strstr(s, "[REDACTED:too_deep]"));
    free(s);
    assert_int_equal(redact_event(r, ev), 0);
    json_t *arr = json_array();
    json_array_append_new(arr, ev);
    validate(arr, "depth");
    json_decref(arr);
    redact_free(r);
}

/* Hostile shapes: wrong types everywhere; no crash, nothing invented. */
static void test_odd_shapes(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}",
        "{\"data\":[1,2,3]}",
        "{\"data\":{\"messages\":{\"role\":\"user\"}},\"confidence\":[]}",
        "{\"data\":{\"messages\":[1,null,\"x\",[],{\"content\":5},{\"content\":null},"
        "{\"content\":[\"alice@example.com\",{\"t\":\"" OPENAI "\"}]}]}}",
        "{\"data\":{\"choices\":[{\"message\":\"x\"},{\"message\":{\"content\":\"\"}}],"
        "\"tool_calls\":[1,{\"arguments\":7},{\"arguments\":null},{\"arguments\":[\"" OPENAI "\"]}]}}",
        "{\"data\":{\"arguments\":\"" OPENAI "\",\"result\":[[[\"" OPENAI "\"]]],\"error\":\"x\","
        "\"args\":{\"a\":1},\"headers\":[\"Authorization\"],\"provider\":\"x\"}}",
        "{\"process\":{\"cmdline\":5,\"cmdline_args\":[1,\"" OPENAI "\"],\"env\":{\"OPENAI_API_KEY\":"
        "\"x\",\"N\":1},\"ancestors\":[1,{\"cmdline\":\"--token abcd1234efgh\"}]},"
        "\"attrs\":{\"headers\":{\"Cookie\":[\"a\",1,\"[REDACTED:credential]\"]}}}",
        "{\"attrs\":5,\"data\":{\"messages\":[{\"content\":\"" OPENAI "\"}]}}",
        "{\"attrs\":{\"redaction\":{\"findings\":[5,{\"type\":1},{\"type\":\"openai_key\","
        "\"count\":\"x\"}]}},\"data\":{\"messages\":[{\"content\":\"" OPENAI "\"}]}}",
    };
    for (int mode = 0; mode < 3; mode++) {
        redactor *r = make((redact_mode)mode, (redact_pattern[]){{"t", "TKT-[0-9]+"}}, 1, 0);
        for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
            json_t *ev = json_loads(docs[i], 0, NULL);
            assert_non_null(ev);
            assert_true(redact_event(r, ev) >= 0);
            char *s = dump(ev);
            if (i != 7 && strstr(s, OPENAI)) /* attrs that is not an object stays as it is */
                fail_msg("mode %d doc %zu: key left in %s", mode, i, s);
            if (strstr(s, "x\"},\"N") || strstr(s, "abcd1234efgh"))
                fail_msg("mode %d doc %zu: credential left in %s", mode, i, s);
            assert_true(redact_event(r, ev) >= 0);
            char *s2 = dump(ev);
            assert_string_equal(s, s2);
            free(s);
            free(s2);
            json_decref(ev);
        }
        assert_int_equal(redact_event(r, NULL), 0);
        json_t *num = json_integer(5);
        assert_int_equal(redact_event(r, num), 0);
        json_decref(num);
        redact_free(r);
    }
    redact_free(NULL);
}

/* ---- real events from the pipeline ---- */

typedef struct feed {
    pipeline *p;
    uint64_t ssl, off[2];
} feed;

static void send_http(feed *f, int dir, const char *head, const char *body)
{
    char *msg;
    int n = asprintf(&msg, "%sContent-Length: %zu\r\n\r\n%s", head, strlen(body), body);
    assert_true(n > 0);
    pipeline_data(f->p, (uint32_t)getpid(), (uint32_t)getpid(), f->ssl, dir, f->off[dir],
                  (const uint8_t *)msg, (size_t)n, 0, mono_ns());
    f->off[dir] += (uint64_t)n;
    free(msg);
}

#define OAI_REQ                                                                               \
    "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer " OPENAI \
    "\r\nContent-Type: application/json\r\n"
#define ANT_REQ                                                                               \
    "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nx-api-key: " ANTHROPIC          \
    "\r\nanthropic-version: 2023-06-01\r\nContent-Type: application/json\r\n"
#define OK_JSON "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: req_x1\r\n"

static json_t *pipeline_events(void)
{
    char path[] = "/tmp/oisp-redact-pipe-XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    clock_sync();
    sink_set *ss = sink_set_new();
    sink *js = sink_jsonl_new(path, err, sizeof(err));
    assert_non_null(js);
    assert_int_equal(sink_set_add(ss, js), 0);
    pipeline_opts po = {.sinks = ss};
    feed f = {.p = pipeline_new(&po), .ssl = 0x7000};
    assert_non_null(f.p);

    send_http(&f, PIPE_WRITE, OAI_REQ,
              "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You help "
              "ops.\"},{\"role\":\"user\",\"content\":\"my card is 4111 1111 1111 1111 and my mail "
              "alice.smith@example.com, key " GOOGLE "\"}],\"tools\":[{\"type\":\"function\","
              "\"function\":{\"name\":\"run_shell\",\"parameters\":{}}}]}");
    send_http(&f, PIPE_READ, OK_JSON,
              "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
              "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Mailing "
              "carol@example.net\",\"tool_calls\":[{\"id\":\"call_a\",\"type\":\"function\","
              "\"function\":{\"name\":\"run_shell\",\"arguments\":\"{\\\"cmd\\\":\\\"export "
              "GH=" GITHUB "; mail dave@example.com\\\",\\\"password\\\":\\\"hunter2\\\"}\"}}]},"
              "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":10,"
              "\"completion_tokens\":5,\"total_tokens\":15}}");
    send_http(&f, PIPE_WRITE, OAI_REQ,
              "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You help "
              "ops.\"},{\"role\":\"user\",\"content\":\"my card is 4111 1111 1111 1111 and my mail "
              "alice.smith@example.com, key " GOOGLE "\"},{\"role\":\"assistant\",\"content\":null,"
              "\"tool_calls\":[{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":"
              "\"run_shell\",\"arguments\":\"{\\\"cmd\\\":\\\"export GH=" GITHUB "\\\"}\"}}]},"
              "{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"AWS_ACCESS_KEY_ID=" AWS
              " owner eve@example.com\"}]}");
    send_http(&f, PIPE_READ, OK_JSON,
              "{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
              "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Done, "
              "frank@example.com was told. Token " JWT "\"},\"finish_reason\":\"stop\"}]}");
    send_http(&f, PIPE_WRITE, ANT_REQ,
              "{\"model\":\"claude-3-7-sonnet-20250219\",\"max_tokens\":256,\"system\":\"Be brief."
              "\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"slack "
              SLACK " mail grace@example.com\"}]}]}");
    send_http(&f, PIPE_READ, OK_JSON,
              "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
              "\"claude-3-7-sonnet-20250219\",\"content\":[{\"type\":\"thinking\",\"thinking\":"
              "\"The user gave " ANTHROPIC " and heidi@example.com\",\"signature\":\"c2ln\"},"
              "{\"type\":\"text\",\"text\":\"Card 5555555555554444 noted.\"},{\"type\":\"tool_use\","
              "\"id\":\"toolu_1\",\"name\":\"bash\",\"input\":{\"command\":\"echo hi\",\"api_key\":"
              "\"abc\"}}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":20,"
              "\"output_tokens\":9}}");
    uint64_t now = mono_ns();
    pipeline_flush(f.p, now);
    pipeline_free(f.p);
    sink_set_close(ss, 1000);
    json_t *events = load_jsonl(path);
    unlink(path);
    return events;
}

static int count_type(const json_t *events, const char *type)
{
    int n = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
        n += strcmp(json_string_value(json_object_get(ev, "event_type")), type) == 0;
    return n;
}

static void test_pipeline_events(void **state)
{
    (void)state;
    json_t *events = pipeline_events();
    assert_int_equal(count_type(events, "ai.request"), 3);
    assert_int_equal(count_type(events, "ai.response"), 3);
    assert_true(count_type(events, "agent.tool_call") >= 2);
    assert_int_equal(count_type(events, "agent.tool_result"), 1);
    validate(events, "pipeline output");
    static const char *const raw[] = {"4111 1111 1111 1111", "alice.smith@example.com", GOOGLE,
                                      GITHUB, "hunter2", AWS, JWT, SLACK, ANTHROPIC,
                                      "5555555555554444", "heidi@example.com"};
    expect_present(events, raw, sizeof(raw) / sizeof(raw[0]), "pipeline output");

    static const char *const personal_here[] = {
        "4111 1111 1111 1111", "alice.smith@example.com", "carol@example.net", "dave@example.com",
        "eve@example.com", "frank@example.com", "grace@example.com", "heidi@example.com",
        "5555555555554444"};
    for (int mode = 0; mode < 3; mode++) {
        redactor *r = make((redact_mode)mode, NULL, 0, 0);
        json_t *out = redact_all(r, events);
        char what[64];
        snprintf(what, sizeof(what), "pipeline, %s", redact_mode_name((redact_mode)mode));
        validate(out, what);
        expect_absent(out, credentials, sizeof(credentials) / sizeof(credentials[0]), what);
        if (mode == REDACT_MINIMAL)
            expect_present(out, personal_here, sizeof(personal_here) / sizeof(personal_here[0]),
                           what);
        else
            expect_absent(out, personal_here, sizeof(personal_here) / sizeof(personal_here[0]),
                          what);
        expect_idempotent(r, out);
        json_decref(out);
        redact_free(r);
    }
    json_decref(events);
}

/* ---- threads ---- */

typedef struct worker {
    const redactor *r;
    json_t *events;
    int rc;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int round = 0; round < 50; round++) {
        json_t *copy = json_deep_copy(w->events);
        size_t i;
        json_t *ev;
        json_array_foreach(copy, i, ev)
            w->rc |= redact_event(w->r, ev) < 0;
        json_decref(copy);
    }
    json_t *last = w->events;
    size_t i;
    json_t *ev;
    json_array_foreach(last, i, ev)
        w->rc |= redact_event(w->r, ev) < 0;
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    json_t *events = load_jsonl(FIXTURE);
    redactor *r = make(REDACT_SAFE, (redact_pattern[]){{"ticket", "TKT-[0-9]+|order [0-9]+"}}, 1, 0);
    json_t *want = redact_all(r, events);
    char *want_s = dump(want);
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){r, json_deep_copy(events), 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].rc, 0);
        char *s = dump(w[i].events);
        assert_string_equal(s, want_s);
        free(s);
        json_decref(w[i].events);
    }
    free(want_s);
    json_decref(want);
    json_decref(events);
    redact_free(r);
}

/* ---- cost ---- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The cost of 2 KB without findings, in text and as an ai.request through
 * redact_event (seen for the first time, and again): prose, and the clean corpus (numbers, hashes, UUIDs, code:
 * dense in bytes that wake detectors).  Prints the costs; fails only when
 * far off (sanitizer builds are slower). */
static void cost_of(const char *name, const char *text, size_t n)
{
    secret_match m;
    assert_int_equal(secrets_next(text, n, 0, SECRETS_ALL, &m), 0);
    int iters = 100000;
    volatile int sink = 0;
    double t0 = now_ns();
    for (int i = 0; i < iters; i++)
        sink += secrets_next(text, n, 0, SECRETS_ALL, &m);
    double scan = (now_ns() - t0) / iters;

    json_t *ev = event_with_data("ai.request", json_pack("{s:[{s:s,s:s}]}", "messages", "role",
                                                         "user", "content", text));
    json_object_set_new(ev, "process", json_pack("{s:i,s:s}", "pid", 42, "cmdline",
                                                 "python3 agent.py --mode=production"));
    int firsts = iters / 20;
    t0 = now_ns();
    for (int i = 0; i < firsts; i++) { /* a new redactor each time: nothing remembered */
        redactor *r = make(REDACT_SAFE, NULL, 0, 0);
        sink += redact_event(r, ev);
        redact_free(r);
    }
    double first = (now_ns() - t0) / firsts;
    redactor *r = make(REDACT_SAFE, NULL, 0, 0);
    t0 = now_ns();
    for (int i = 0; i < iters; i++)
        sink += redact_event(r, ev);
    double whole = (now_ns() - t0) / iters;
    print_message("%s, %zu bytes, no findings: scan %.0f ns (%.0f ns/KB), redact_event %.0f ns "
                  "the first time, %.0f ns remembered clean\n",
                  name, n, scan, scan * 1024 / (double)n, first, whole);
    assert_int_equal(sink, 0);
    assert_true(whole < 20000); /* the first time includes a new redactor: only printed */
    json_decref(ev);
    redact_free(r);
}

static void fill(char *dst, size_t cap, const char *src)
{
    size_t n = 0, l = strlen(src);
    while (n < cap) {
        size_t k = l < cap - n ? l : cap - n;
        memcpy(dst + n, src, k);
        n += k;
    }
    while (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0x80) /* whole characters */
        n--;
    if (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0xC0)
        n--;
    dst[n] = 0;
}

static void test_cost_of_clean_prompt(void **state)
{
    (void)state;
    static char prose[2049], corpus[2049], all[8192];
    fill(prose, 2048,
         "Please review the following design document and summarise the main risks. The "
         "service receives events from sensors on every host, batches them, and forwards "
         "them to the storage cluster. Each batch is compressed before it is sent, and the "
         "receiver acknowledges every batch it has stored. ");
    FILE *f = fopen(CLEAN, "r");
    assert_non_null(f);
    size_t n = fread(all, 1, sizeof(all) - 1, f);
    fclose(f);
    all[n] = 0;
    char *body = strstr(all, "\nThe quick"); /* after the comment lines */
    assert_non_null(body);
    fill(corpus, 2048, body + 1);
    cost_of("prose", prose, strlen(prose));
    cost_of("corpus", corpus, strlen(corpus));
}

/* The memory of clean strings changes nothing but the time: each mode,
 * with and without user patterns, gives the fixture events the same
 * output on a second pass (clean strings remembered) as a fresh redactor
 * on its first; a long clean string remembered does not hide a key
 * appended to it. */
static void test_clean_memo(void **state)
{
    (void)state;
    static const redact_pattern pats[] = {{"ticket", "TKT-[0-9]+"}};
    json_t *events = load_jsonl(FIXTURE);
    for (int k = 0; k < 6; k++) {
        redact_mode mode = (redact_mode)(k % 3);
        size_t np = k < 3 ? 0 : 1;
        redactor *r = make(mode, pats, np, 0), *fresh = make(mode, pats, np, 0);
        json_t *first = redact_all(r, events), *again = redact_all(r, events);
        json_t *want = redact_all(fresh, events);
        assert_true(json_equal(first, want));
        assert_true(json_equal(again, want));
        json_decref(first);
        json_decref(again);
        json_decref(want);
        redact_free(r);
        redact_free(fresh);
    }
    json_decref(events);

    redactor *r = make(REDACT_SAFE, NULL, 0, 0);
    static char clean[161], dirty[256];
    fill(clean, 160, "nothing secret in this sentence at all. ");
    snprintf(dirty, sizeof(dirty), "%s " OPENAI, clean);
    for (int i = 0; i < 3; i++) {
        json_t *ev = event_with_data("ai.request",
                                     json_pack("{s:[{s:s,s:s},{s:s,s:s}]}", "messages", "role",
                                               "user", "content", clean, "role", "user",
                                               "content", i == 1 ? clean : dirty));
        assert_int_equal(redact_event(r, ev), i != 1);
        assert_string_equal(str_at(ev, "data.messages.0.content"), clean);
        assert_null(strstr(str_at(ev, "data.messages.1.content"), OPENAI));
        assert_int_equal(finding(ev, "openai_key"), i != 1);
        json_decref(ev);
    }
    redact_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_valid_as_is), cmocka_unit_test(test_safe),
        cmocka_unit_test(test_minimal),             cmocka_unit_test(test_full),
        cmocka_unit_test(test_user_patterns),       cmocka_unit_test(test_pattern_blowup),
        cmocka_unit_test(test_pattern_errors),
        cmocka_unit_test(test_depth_limit),         cmocka_unit_test(test_odd_shapes),
        cmocka_unit_test(test_pipeline_events),     cmocka_unit_test(test_threads),
        cmocka_unit_test(test_cost_of_clean_prompt), cmocka_unit_test(test_clean_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

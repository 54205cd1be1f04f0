/* test_decode_helpers.h: shared by the tests/unit/test_decode_*.c tests.
 *
 * - td_load(): reads a payload from tests/data/decode/ (tests run from
 *   tests/unit, so the path is ../data/decode/NAME);
 * - td_request()/td_response(): build http_msg values as the HTTP parser
 *   would hand them over (heap-allocated, freed with http_msg_free);
 *   td_response_marks() spreads a body over marks so each SSE event/line
 *   "arrives" at a known time;
 * - td_validate_*: wrap produced data objects in full OISP envelopes, write
 *   them to a temporary JSONL file and run the official validator
 *   (../../../shared/tools/oisp-validate, or $OISP_VALIDATE);
 * - td_assert_no_secret(): the JSON text of a data object must not contain
 *   a key.
 * All functions are static inline so each test uses only what it needs. */
#ifndef TEST_DECODE_HELPERS_H
#define TEST_DECODE_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "decode/decode.h"
#include "stream/http.h"

#define TD_DATA_DIR "../data/decode/"
#define TD_VALIDATOR "../../../shared/tools/oisp-validate"

/* ---- payloads ----------------------------------------------------------- */

static inline char *td_load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, TD_DATA_DIR "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
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

/* ---- http_msg builders -------------------------------------------------- */

/* headers: "Name: value\n" lines. */
static inline void td_set_headers(http_msg *m, const char *headers)
{
    size_t cap = 0;
    for (const char *p = headers; p && *p; p++)
        cap += *p == '\n';
    m->headers = calloc(cap + 1, sizeof *m->headers);
    assert_non_null(m->headers);
    const char *p = headers;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        assert_non_null(colon);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        m->headers[m->nheaders].name = strndup(p, (size_t)(colon - p));
        m->headers[m->nheaders].value = strndup(v, (size_t)(p + len - v));
        m->nheaders++;
        p = nl ? nl + 1 : p + len;
    }
}

static inline void td_set_body(http_msg *m, const char *body, size_t len)
{
    m->body = malloc(len + 1);
    assert_non_null(m->body);
    if (len)
        memcpy(m->body, body, len);
    m->body[len] = 0;
    m->body_len = len;
}

static inline http_msg *td_request(const char *target, const char *headers, const char *body, size_t len)
{
    http_msg *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->is_request = 1;
    strcpy(m->method, "POST");
    m->target = strdup(target);
    m->version_minor = 1;
    td_set_headers(m, headers);
    td_set_body(m, body ? body : "", body ? len : 0);
    m->ts_start = 1000000000ull;
    m->ts_headers = 1000000000ull;
    m->ts_end = 1001000000ull; /* request fully sent at t = 1.001 s */
    return m;
}

/* A response whose body arrived in one piece at ts_start. */
static inline http_msg *td_response(int status, const char *headers, const char *body, size_t len)
{
    http_msg *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->status = status;
    m->reason = strdup(status == 200 ? "OK" : status == 429 ? "Too Many Requests" : "Error");
    m->version_minor = 1;
    td_set_headers(m, headers);
    td_set_body(m, body ? body : "", body ? len : 0);
    m->ts_start = 1301000000ull;  /* head 300 ms after the request */
    m->ts_headers = 1301000000ull;
    m->ts_end = 2501000000ull;    /* done 1500 ms after the request */
    m->marks = calloc(1, sizeof *m->marks);
    m->marks[0].offset = 0;
    m->marks[0].ts = m->ts_start;
    m->nmarks = 1;
    return m;
}

/* Marks at each separator-terminated piece of the body (blank line for SSE,
 * newline for NDJSON): piece i arrives at ts_start + i * step_ns. */
static inline void td_response_marks(http_msg *m, const char *sep, uint64_t step_ns)
{
    free(m->marks);
    size_t cap = 16, n = 0;
    m->marks = malloc(cap * sizeof *m->marks);
    const char *b = (const char *)m->body, *p = b;
    while (p < b + m->body_len) {
        if (n == cap) {
            cap *= 2;
            m->marks = realloc(m->marks, cap * sizeof *m->marks);
        }
        m->marks[n].offset = (size_t)(p - b);
        m->marks[n].ts = m->ts_start + n * step_ns;
        n++;
        const char *s = strstr(p, sep);
        if (!s)
            break;
        p = s + strlen(sep);
    }
    m->nmarks = n;
}

/* ---- validation ----------------------------------------------------------- */

typedef struct td_validator {
    FILE *f;
    char path[64];
    int count;
} td_validator;

static inline void td_validate_begin(td_validator *v)
{
    strcpy(v->path, "/tmp/oisp-decode-test-XXXXXX");
    int fd = mkstemp(v->path);
    assert_true(fd >= 0);
    v->f = fdopen(fd, "w");
    assert_non_null(v->f);
    v->count = 0;
}

/* Wraps data (borrowed) in an envelope and appends it. */
static inline void td_validate_add(td_validator *v, const char *event_type, json_t *data, const char *detection)
{
    char id[40];
    snprintf(id, sizeof id, "01JTESTDECODE%013d", ++v->count);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:I, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:O}",
                           "oisp_version", "0.1", "event_id", id, "event_type", event_type,
                           "ts", "2025-12-22T14:30:16.345678Z", "ts_mono", (json_int_t)1001000000,
                           "source", "collector", "oisp-sensor", "collector_version", "0.1.0",
                           "capture_method", "ebpf_uprobe",
                           "confidence", "level", "high", "completeness", "full", "ai_detection_method",
                           detection ? detection : "known_endpoint",
                           "data", data);
    assert_non_null(ev);
    char *line = json_dumps(ev, JSON_COMPACT);
    fprintf(v->f, "%s\n", line);
    free(line);
    json_decref(ev);
}

/* Runs the validator; fails the test if any event is invalid. */
static inline void td_validate_end(td_validator *v)
{
    fclose(v->f);
    const char *tool = getenv("OISP_VALIDATE");
    if (!tool)
        tool = TD_VALIDATOR;
    if (access(tool, X_OK) != 0) {
        unlink(v->path);
        fail_msg("validator %s not found (set OISP_VALIDATE)", tool);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s >/tmp/oisp-decode-validate.log 2>&1", tool, v->path);
    int rc = system(cmd);
    if (rc != 0) {
        char show[1200];
        snprintf(show, sizeof show, "cat /tmp/oisp-decode-validate.log; head -c 3000 %s", v->path);
        if (system(show) != 0)
            fprintf(stderr, "(could not show validator output)\n");
    }
    unlink(v->path);
    assert_int_equal(rc, 0);
}

/* ---- assertions ------------------------------------------------------------ */

static inline void td_assert_no_secret(const json_t *data, const char *secret)
{
    char *s = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII);
    char *raw = json_dumps(data, JSON_COMPACT);
    assert_non_null(s);
    if (strstr(s, secret) || strstr(raw, secret))
        fail_msg("secret %s leaked into %s", secret, raw);
    free(s);
    free(raw);
}

/* json_object_get along a path "a.b.0.c" (numbers index arrays). */
static inline json_t *td_get(json_t *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && v; tok = strtok(NULL, ".")) {
        if (json_is_array(v))
            v = json_array_get(v, (size_t)strtoul(tok, NULL, 10));
        else
            v = json_object_get(v, tok);
    }
    return v;
}

static inline const char *td_str(json_t *v, const char *path)
{
    json_t *s = td_get(v, path);
    if (!json_is_string(s))
        fail_msg("%s is not a string", path);
    return json_string_value(s);
}

static inline json_int_t td_int(json_t *v, const char *path)
{
    json_t *s = td_get(v, path);
    if (!json_is_integer(s))
        fail_msg("%s is not an integer", path);
    return json_integer_value(s);
}

static inline int td_bool(json_t *v, const char *path)
{
    json_t *s = td_get(v, path);
    if (!json_is_boolean(s))
        fail_msg("%s is not a boolean", path);
    return json_is_true(s);
}

static inline double td_num(json_t *v, const char *path)
{
    json_t *s = td_get(v, path);
    if (!json_is_number(s))
        fail_msg("%s is not a number", path);
    return json_number_value(s);
}

/* Decodes a request + response pair from data files; returns both datas. */
typedef struct td_exchange {
    ai_call *call;
    json_t *req_data;
    json_t *resp_data;
} td_exchange;

/* Validates both data objects of an exchange as ai.request / ai.response
 * events and checks that `secret` (if any) appears in neither. */
static inline void td_check(const td_exchange *x, const char *secret)
{
    td_validator v;
    td_validate_begin(&v);
    if (x->req_data)
        td_validate_add(&v, "ai.request", x->req_data, x->call ? x->call->detection : NULL);
    if (x->resp_data)
        td_validate_add(&v, "ai.response", x->resp_data, x->call ? x->call->detection : NULL);
    td_validate_end(&v);
    if (secret) {
        if (x->req_data)
            td_assert_no_secret(x->req_data, secret);
        if (x->resp_data)
            td_assert_no_secret(x->resp_data, secret);
    }
}

/* Decodes a request (body from req_file, NULL for none) and, if resp_file is
 * given, its response.  Bodies named *.sse get a mark per event and *.ndjson
 * a mark per line, step_ms apart.  The call must be recognised. */
static inline td_exchange td_run(const char *target, const char *req_headers, const char *req_file, int status,
                                 const char *resp_headers, const char *resp_file, unsigned step_ms)
{
    td_exchange x = {0};
    size_t len = 0;
    char *body = req_file ? td_load(req_file, &len) : NULL;
    http_msg *req = td_request(target, req_headers, body, len);
    free(body);
    x.call = decode_request(req, &x.req_data);
    if (!x.call)
        fail_msg("request %s not recognised", target);
    assert_non_null(x.req_data);
    if (resp_file) {
        body = td_load(resp_file, &len);
        http_msg *resp = td_response(status, resp_headers, body, len);
        free(body);
        if (strstr(resp_file, ".sse"))
            td_response_marks(resp, "\n\n", (uint64_t)step_ms * 1000000u);
        else if (strstr(resp_file, ".ndjson"))
            td_response_marks(resp, "\n", (uint64_t)step_ms * 1000000u);
        x.resp_data = decode_response(x.call, req, resp);
        assert_non_null(x.resp_data);
        http_msg_free(resp);
    }
    http_msg_free(req);
    return x;
}

static inline void td_exchange_free(td_exchange *x)
{
    ai_call_free(x->call);
    json_decref(x->req_data);
    json_decref(x->resp_data);
    memset(x, 0, sizeof *x);
}

#endif

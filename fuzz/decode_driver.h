/* decode_driver.h: one provider decoder under fuzz.  Builds a POST to one
 * of the provider's API paths (with its Host and credential headers) whose
 * body is the fuzzed request text, runs decode_request(), then builds the
 * response (status and content type from a control byte, body the fuzzed
 * response text, one arrival mark per line so time-to-first-token logic
 * runs) and runs decode_response().  Both data objects must serialise:
 * a decoder that produced invalid UTF-8 or a non-finite number would lose
 * the event.  Input: [path][resp][flags] request FUZZ_SEP response. */
#ifndef OISP_FUZZ_DECODE_DRIVER_H
#define OISP_FUZZ_DECODE_DRIVER_H

#include <string.h>

#include "decode/decode.h"
#include "fuzz.h"
#include "util/jsonfast.h"

static char *dd_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    FUZZ_CHECK(p != NULL);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static void dd_set_headers(http_msg *m, const char *lines)
{
    size_t cap = 1;
    for (const char *p = lines; *p; p++)
        cap += *p == '\n';
    m->headers = calloc(cap, sizeof *m->headers);
    FUZZ_CHECK(m->headers != NULL);
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n'), *colon = strchr(p, ':');
        FUZZ_CHECK(nl && colon && colon < nl);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        m->headers[m->nheaders].name = dd_strndup(p, (size_t)(colon - p));
        m->headers[m->nheaders].value = dd_strndup(v, (size_t)(nl - v));
        m->nheaders++;
        p = nl + 1;
    }
}

static void dd_set_body(http_msg *m, const uint8_t *b, size_t n)
{
    m->body = malloc(n + 1);
    FUZZ_CHECK(m->body != NULL);
    if (n)
        memcpy(m->body, b, n);
    m->body[n] = 0;
    m->body_len = n;
}

/* A mark at the start of the body and after every newline (at most 512),
 * 20 ms apart, or one mark for the whole body. */
static void dd_set_marks(http_msg *m, int one)
{
    size_t cap = 512, n = 0;
    m->marks = malloc(cap * sizeof *m->marks);
    FUZZ_CHECK(m->marks != NULL);
    size_t off = 0;
    while (n < cap) {
        m->marks[n].offset = off;
        m->marks[n].ts = m->ts_start + n * 20000000ull;
        n++;
        const uint8_t *nl = one ? NULL : memchr(m->body + off, '\n', m->body_len - off);
        if (!nl || (size_t)(nl - m->body) + 1 >= m->body_len)
            break;
        off = (size_t)(nl - m->body) + 1;
    }
    m->nmarks = n;
    if (m->ts_end < m->marks[n - 1].ts)
        m->ts_end = m->marks[n - 1].ts;
}

static void dd_check_serialises(const json_t *data)
{
    char *out = NULL;
    size_t len = 0;
    FUZZ_CHECK(jsonfast_dump(data, &out, &len) == 0);
    free(out);
}

static void decode_drive(const fuzz_api *apis, size_t napis, const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    const fuzz_api *api = &apis[data[0] % napis];
    uint8_t rsel = data[1], flags = data[2];
    data += 3;
    size -= 3;
    const uint8_t *sep = memmem(data, size, FUZZ_SEP, FUZZ_SEP_LEN);
    size_t req_len = sep ? (size_t)(sep - data) : size;
    const uint8_t *resp_body = sep ? sep + FUZZ_SEP_LEN : data + size;
    size_t resp_len = (size_t)(data + size - resp_body);

    http_msg *req = calloc(1, sizeof *req);
    FUZZ_CHECK(req != NULL);
    req->is_request = 1;
    strcpy(req->method, "POST");
    req->target = dd_strndup(api->target, strlen(api->target));
    req->version_minor = 1;
    dd_set_headers(req, api->headers);
    dd_set_body(req, data, req_len);
    req->ts_start = req->ts_headers = 1000000000ull;
    req->ts_end = 1001000000ull;
    req->wire_len = req_len + 200;
    if (flags & FUZZ_DF_REQ_TRUNCATED) {
        req->flags |= HTTP_MSG_TRUNCATED;
        req->body_dropped = 12345;
    }

    json_t *rdata = NULL;
    ai_call *call = decode_request(req, &rdata);
    if (!call) {
        FUZZ_CHECK(rdata == NULL);
        http_msg_free(req);
        return;
    }
    FUZZ_CHECK(json_is_object(rdata));
    FUZZ_CHECK(memchr(call->model, 0, sizeof call->model) && memchr(call->provider, 0, sizeof call->provider));
    dd_check_serialises(rdata);
    json_decref(rdata);

    http_msg *resp = calloc(1, sizeof *resp);
    FUZZ_CHECK(resp != NULL);
    resp->status = FUZZ_STATUSES[(rsel / 6) % 6];
    resp->reason = dd_strndup("X", 1);
    resp->version_minor = 1;
    dd_set_headers(resp, FUZZ_RESP_TYPES[rsel % 6]);
    dd_set_body(resp, resp_body, resp_len);
    resp->ts_start = resp->ts_headers = 1301000000ull;
    resp->ts_end = 2501000000ull;
    resp->wire_len = resp_len + 100;
    dd_set_marks(resp, flags & FUZZ_DF_ONE_MARK);
    if (flags & FUZZ_DF_RESP_INCOMPLETE)
        resp->flags |= HTTP_MSG_INCOMPLETE;
    if (flags & FUZZ_DF_RESP_GAP)
        resp->flags |= HTTP_MSG_INCOMPLETE | HTTP_MSG_CAPTURE_GAP;

    json_t *sdata = decode_response(call, (flags & FUZZ_DF_NO_REQUEST) ? NULL : req, resp);
    if (sdata) {
        FUZZ_CHECK(json_is_object(sdata));
        dd_check_serialises(sdata);
        json_decref(sdata);
    }
    ai_call_free(call);
    http_msg_free(resp);
    http_msg_free(req);
}

#endif

/* response.c: response side of the decode layer.
 *
 * decode_response(): status, success and latency always; then the body is
 * split into documents by its framing (SSE, NDJSON, a JSON array of chunks,
 * Bedrock event-stream, or one JSON value), each handed to the API's
 * response decoder, which accumulates into a dresp: text per choice, tool
 * calls keyed by the provider's own index, usage, finish reason.
 * dresp_build() then writes the OISP fields.  Error documents (any
 * provider's shape) are recognised here, not in each API.
 *
 * Framing sniffing is lenient: captured bodies from proxies or odd servers
 * often carry the wrong content-type, so the first bytes also decide. */
#include "decode/decode_priv.h"
#include "util/jsonfast.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/sse.h"

static dchoice *choice_at(dresp *r, int choice)
{
    if (choice < 0 || choice >= DRESP_MAX_CHOICES)
        return NULL;
    r->choices[choice].used = 1;
    return &r->choices[choice];
}

void dresp_mark_content(dresp *r)
{
    if (r->first_offset < 0)
        r->first_offset = (int64_t)r->cur_offset;
}

static void choice_append(dresp *r, int choice, size_t field, const char *s, size_t n)
{
    dchoice *c = choice_at(r, choice);
    if (!c || !s)
        return;
    dbuf *b = (dbuf *)((char *)c + field);
    dbuf_put(b, s, n);
    if (n > 0)
        dresp_mark_content(r);
}

void dresp_text(dresp *r, int choice, const char *s, size_t n)
{
    choice_append(r, choice, offsetof(dchoice, text), s, n);
}

void dresp_thinking(dresp *r, int choice, const char *s, size_t n)
{
    choice_append(r, choice, offsetof(dchoice, thinking), s, n);
}

void dresp_refusal(dresp *r, int choice, const char *s, size_t n)
{
    choice_append(r, choice, offsetof(dchoice, refusal), s, n);
}

void dresp_content(dresp *r, int choice, const json_t *content)
{
    dmsg m;
    dmsg_init(&m, "assistant");
    dmsg_content(&m, content);
    if (m.parts > 0)
        dresp_text(r, choice, dbuf_str(&m.text), m.text.len);
    dmsg_clear(&m);
}

void dresp_finish(dresp *r, int choice, const char *raw)
{
    const char *f = decode_finish_reason(raw);
    dchoice *c = f ? choice_at(r, choice) : NULL;
    if (c)
        c->finish = f;
}

dtool *dresp_tool(dresp *r, int choice, int key, int create)
{
    for (size_t i = 0; i < r->ntools; i++)
        if (r->tools[i].choice == choice && r->tools[i].key == key)
            return &r->tools[i];
    if (!create || r->ntools >= DRESP_MAX_TOOLS || !choice_at(r, choice))
        return NULL;
    if (r->ntools == r->tools_cap) {
        size_t cap = r->tools_cap ? r->tools_cap * 2 : 8;
        dtool *t = realloc(r->tools, cap * sizeof *t);
        if (!t)
            return NULL;
        r->tools = t;
        r->tools_cap = cap;
    }
    dtool *t = &r->tools[r->ntools++];
    memset(t, 0, sizeof *t);
    t->choice = choice;
    t->key = key;
    dresp_mark_content(r);
    return t;
}

void dtool_set(dtool *t, const char *id, const char *name)
{
    if (!t)
        return;
    if (id && *id && !t->id[0])
        decode_copy(t->id, sizeof t->id, id, strlen(id));
    if (name && *name && !t->name[0])
        decode_copy(t->name, sizeof t->name, name, strlen(name));
}

void dtool_args(dresp *r, dtool *t, const json_t *args)
{
    if (!t)
        return;
    size_t n;
    const char *s = dj_strn(args, &n);
    if (s) {
        dbuf_put(&t->args, s, n);
        if (n > 0)
            dresp_mark_content(r);
    } else if (json_is_object(args)) {
        json_decref(t->args_obj);
        t->args_obj = json_deep_copy(args);
    }
}

void dresp_usage(dresp *r, dusage u, const json_t *v)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        r->usage[u] = json_integer_value(v);
}

void dresp_usage_uncached(dresp *r, const json_t *input, const json_t *cache_read,
                          const json_t *cache_write, const json_t *output)
{
    dresp_usage(r, U_CACHED, cache_read);
    dresp_usage(r, U_CACHE_WRITE, cache_write);
    dresp_usage(r, U_COMPLETION, output);
    if (json_is_integer(input) && json_integer_value(input) >= 0) {
        json_int_t p = json_integer_value(input);
        if (r->usage[U_CACHED] > 0)
            p += r->usage[U_CACHED];
        if (r->usage[U_CACHE_WRITE] > 0)
            p += r->usage[U_CACHE_WRITE];
        r->usage[U_PROMPT] = p;
    }
}

void dresp_model(dresp *r, const char *model)
{
    if (model && *model && !r->model[0])
        decode_copy(r->model, sizeof r->model, model, strlen(model));
}

void dresp_id(dresp *r, const char *id)
{
    if (id && *id && !r->id[0])
        decode_copy(r->id, sizeof r->id, id, strlen(id));
}

int dresp_error(dresp *r, const json_t *obj)
{
    if (!json_is_object(obj))
        return 0;
    const json_t *src = NULL;
    const char *message = NULL;
    json_t *e = json_object_get(obj, "error");
    if (json_is_object(e))
        src = e;
    else if (json_is_string(e))
        message = json_string_value(e);
    else if (dj_str(obj, "message") || dj_str(obj, "Message"))
        src = obj; /* Bedrock, Mistral, AWS JSON */
    else if (dj_str(obj, "detail"))
        message = dj_str(obj, "detail"); /* FastAPI servers (vLLM, proxies) */
    else if (src == NULL && !(json_is_string(json_object_get(obj, "type")) &&
                              strcmp(dj_str(obj, "type"), "error") == 0))
        return 0;
    if (r->error)
        return 1; /* the first error is the cause */

    json_t *err = json_object();
    const char *type = NULL;
    char tmp[32];
    const char *code = NULL;
    if (src) {
        type = dj_str(src, "type");
        if (!type)
            type = dj_str(src, "status");   /* Gemini "INVALID_ARGUMENT" */
        if (!type)
            type = dj_str(src, "__type");   /* AWS JSON protocol */
        if (type && src == obj && strcmp(type, "error") == 0)
            type = NULL;                    /* an event tag, not an error type */
        message = dj_str(src, "message");
        if (!message)
            message = dj_str(src, "Message");
        code = dj_scalar(json_object_get(src, "code"), tmp, sizeof tmp);
    }
    if (type)
        json_object_set_new(err, "type", json_string(type));
    if (message)
        json_object_set_new(err, "message", json_string(message));
    if (code)
        json_object_set_new(err, "code", json_string(code));
    r->error = err;
    return 1;
}

/* A stream document that reports an error rather than output. */
static int doc_is_error(const json_t *doc)
{
    json_t *e = json_object_get(doc, "error");
    const char *type = dj_str(doc, "type");
    return json_is_object(e) || json_is_string(e) || (type && strcmp(type, "error") == 0);
}

void dresp_document(dresp *r, const dec_api_ops *ops, const char *event, const json_t *doc, size_t offset)
{
    r->cur_offset = offset;
    if (doc_is_error(doc))
        dresp_error(r, doc);
    ops->response(r, event, doc);
}

/* ---- body framings ------------------------------------------------------ */

typedef struct sse_ctx {
    dresp *r;
    const dec_api_ops *ops;
} sse_ctx;

static void on_sse_event(void *ctx, const sse_event *ev)
{
    sse_ctx *sc = ctx;
    if (ev->data_len == 0 || strcmp(ev->data, "[DONE]") == 0)
        return;
    json_t *doc = jsonfast_loadb(ev->data, ev->data_len, 0, NULL);
    if (json_is_object(doc))
        dresp_document(sc->r, sc->ops, ev->event, doc, ev->offset);
    json_decref(doc);
}

static void decode_sse_body(dresp *r, const dec_api_ops *ops, const uint8_t *b, size_t n)
{
    sse_ctx sc = {r, ops};
    r->streamed = 1;
    sse_parse_all(b, n, on_sse_event, &sc);
}

static void decode_ndjson_body(dresp *r, const dec_api_ops *ops, const uint8_t *b, size_t n)
{
    size_t pos = 0;
    r->streamed = 1;
    while (pos < n) {
        const uint8_t *nl = memchr(b + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - b) : n;
        if (end > pos) {
            json_t *doc = jsonfast_loadb((const char *)b + pos, end - pos, 0, NULL);
            if (json_is_object(doc))
                dresp_document(r, ops, NULL, doc, pos);
            json_decref(doc);
        }
        pos = end + 1;
    }
}

/* "[{...},\r\n{...}]" (Gemini streamGenerateContent without alt=sse): one
 * element at a time, so a truncated array still yields its whole elements. */
static void decode_json_array_body(dresp *r, const dec_api_ops *ops, const uint8_t *b, size_t n, size_t pos)
{
    r->streamed = 1;
    pos++; /* '[' */
    while (pos < n) {
        while (pos < n && (isspace(b[pos]) || b[pos] == ','))
            pos++;
        if (pos >= n || b[pos] == ']')
            return;
        size_t used = 0;
        json_t *doc = jsonfast_loadb_prefix((const char *)b + pos, n - pos, 0, &used, NULL);
        if (!doc)
            return;
        if (json_is_object(doc))
            dresp_document(r, ops, NULL, doc, pos);
        json_decref(doc);
        if (used == 0)
            return;
        pos += used;
    }
}

static int starts_like_sse(const uint8_t *b, size_t n)
{
    return (n >= 5 && memcmp(b, "data:", 5) == 0) || (n >= 6 && memcmp(b, "event:", 6) == 0) ||
           (n >= 1 && b[0] == ':');
}

static int is_ollama_api(ai_api api)
{
    return api == AI_API_OLLAMA_CHAT || api == AI_API_OLLAMA_GENERATE || api == AI_API_OLLAMA_EMBED;
}

static void decode_body(dresp *r, const dec_api_ops *ops, const http_msg *resp, int ok)
{
    const uint8_t *b = resp->body;
    size_t n = resp->body_len, pos = 0;
    const char *ct = http_msg_header(resp, "content-type");
    while (pos < n && isspace(b[pos]))
        pos++;
    if (pos == n)
        return;

    if (ok && ct && strcasestr(ct, "vnd.amazon.eventstream")) {
        r->streamed = 1;
        bedrock_eventstream(r, b, n);
        return;
    }
    if (ok && ((ct && strcasestr(ct, "text/event-stream")) || starts_like_sse(b + pos, n - pos))) {
        decode_sse_body(r, ops, b, n);
        return;
    }
    if (ok && ((ct && strcasestr(ct, "ndjson")) ||
               (is_ollama_api(r->call->api) && r->call->streaming && memchr(b + pos, '\n', n - pos - 1)))) {
        decode_ndjson_body(r, ops, b, n);
        return;
    }
    if (ok && b[pos] == '[') {
        decode_json_array_body(r, ops, b, n, pos);
        return;
    }
    json_t *doc = jsonfast_loadb((const char *)b + pos, n - pos, 0, NULL);
    if (json_is_object(doc)) {
        r->cur_offset = pos;
        if (!ok)
            dresp_error(r, doc);
        else
            dresp_document(r, ops, NULL, doc, pos);
    } else if (json_is_array(doc) && !ok) {
        dresp_error(r, json_array_get(doc, 0)); /* Gemini sometimes wraps errors in [] */
    }
    json_decref(doc);
}

/* ---- assembly ------------------------------------------------------------ */

static uint64_t mark_ts(const http_msg *m, size_t offset)
{
    size_t lo = 0, hi = m->nmarks;
    while (lo < hi) { /* first mark with offset > target */
        size_t mid = lo + (hi - lo) / 2;
        if (m->marks[mid].offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? m->marks[lo - 1].ts : 0;
}

static json_int_t ns_to_ms(uint64_t later, uint64_t earlier)
{
    return later > earlier ? (json_int_t)((later - earlier) / 1000000u) : 0;
}

static json_t *tool_call_object(dtool *t)
{
    json_t *o = json_object();
    if (t->id[0])
        json_object_set_new(o, "id", json_string(t->id));
    if (t->name[0])
        json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "type", json_string("function"));
    if (t->args.len > 0)
        json_object_set_new(o, "arguments", decode_args_value(t->args.p, t->args.len));
    else if (t->args_obj)
        json_object_set(o, "arguments", t->args_obj);
    else
        json_object_set_new(o, "arguments", json_object());
    return o;
}

static int choice_has_tools(const dresp *r, int choice)
{
    for (size_t i = 0; i < r->ntools; i++)
        if (r->tools[i].choice == choice)
            return 1;
    return 0;
}

/* Gemini, Ollama and Responses say "stop" even when the model called tools. */
static const char *finish_with_tools(const char *f, int has_tools)
{
    return has_tools && f && strcmp(f, "stop") == 0 ? "tool_calls" : f;
}

static void build_choices(dresp *r, json_t *data)
{
    json_t *choices = NULL;
    for (int i = 0; i < DRESP_MAX_CHOICES; i++) {
        dchoice *c = &r->choices[i];
        if (!c->used)
            continue;
        json_t *msg = json_object();
        json_object_set_new(msg, "role", json_string("assistant"));
        /* joined from parsed JSON strings: valid UTF-8 already */
        json_object_set_new(msg, "content", json_stringn_nocheck(dbuf_str(&c->text), c->text.len));
        json_object_set_new(msg, "content_length",
                            json_integer((json_int_t)decode_utf8_chars(dbuf_str(&c->text), c->text.len)));
        if (c->thinking.len)
            json_object_set_new(msg, "thinking", json_stringn_nocheck(c->thinking.p, c->thinking.len));
        if (c->refusal.len)
            json_object_set_new(msg, "refusal", json_stringn_nocheck(c->refusal.p, c->refusal.len));
        json_t *ch = json_object();
        json_object_set_new(ch, "index", json_integer(i));
        json_object_set_new(ch, "message", msg);
        const char *f = finish_with_tools(c->finish ? c->finish : (i == 0 ? r->finish : NULL),
                                          choice_has_tools(r, i));
        if (f)
            json_object_set_new(ch, "finish_reason", json_string(f));
        if (!choices)
            choices = json_array();
        json_array_append_new(choices, ch);
    }
    if (choices)
        json_object_set_new(data, "choices", choices);
}

static void build_usage(dresp *r, json_t *data)
{
    static const char *const names[U_COUNT] = {"prompt_tokens", "completion_tokens", "total_tokens",
                                               "cached_tokens", "reasoning_tokens", "cache_creation_tokens"};
    json_int_t *u = r->usage;
    if (u[U_TOTAL] < 0 && u[U_PROMPT] >= 0 && u[U_COMPLETION] >= 0)
        u[U_TOTAL] = u[U_PROMPT] + u[U_COMPLETION];
    json_t *o = NULL;
    for (int i = 0; i < U_COUNT; i++) {
        if (u[i] < 0)
            continue;
        if (!o)
            o = json_object();
        json_object_set_new(o, names[i], json_integer(u[i]));
    }
    if (o)
        json_object_set_new(data, "usage", o);
}

static const char *response_finish(dresp *r)
{
    const char *f = r->finish;
    for (int i = 0; !f && i < DRESP_MAX_CHOICES; i++)
        if (r->choices[i].used)
            f = r->choices[i].finish;
    f = finish_with_tools(f, r->ntools > 0);
    if (!f && r->error)
        f = "error";
    return f;
}

static void build_error(dresp *r, json_t *data, int status_ok)
{
    if (!r->error && status_ok)
        return;
    json_t *err = r->error ? r->error : json_object();
    r->error = NULL;
    const char *amz = http_msg_header(r->resp, "x-amzn-errortype");
    if (amz && !json_object_get(err, "type")) /* "ValidationException:http://..." */
        json_object_set_new(err, "type", json_stringn(amz, strcspn(amz, ":")));
    if (!json_object_get(err, "message") && r->resp->reason && *r->resp->reason)
        json_object_set_new(err, "message", json_string(r->resp->reason));
    if (!json_object_get(err, "type") && !status_ok)
        json_object_set_new(err, "type", json_string("http_error"));
    if (!json_object_get(err, "code") && !status_ok) {
        char code[16];
        snprintf(code, sizeof code, "%d", r->resp->status);
        json_object_set_new(err, "code", json_string(code));
    }
    json_object_set_new(data, "error", err);
}

static const char *header_request_id(const http_msg *resp)
{
    static const char *const names[] = {"x-request-id", "request-id", "apim-request-id", "x-amzn-requestid"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = http_msg_header(resp, names[i]);
        if (v && *v)
            return v;
    }
    return NULL;
}

static void dresp_destroy(dresp *r)
{
    for (int i = 0; i < DRESP_MAX_CHOICES; i++) {
        dbuf_free(&r->choices[i].text);
        dbuf_free(&r->choices[i].thinking);
        dbuf_free(&r->choices[i].refusal);
    }
    for (size_t i = 0; i < r->ntools; i++) {
        dbuf_free(&r->tools[i].args);
        json_decref(r->tools[i].args_obj);
    }
    free(r->tools);
    json_decref(r->error);
}

static void dresp_build(dresp *r, json_t *data)
{
    const ai_call *c = r->call;
    const http_msg *resp = r->resp;
    int status_ok = resp->status >= 200 && resp->status < 300;

    const char *prid = header_request_id(resp);
    if (prid)
        json_object_set_new(data, "provider_request_id", json_string(prid));
    else if (r->id[0])
        json_object_set_new(data, "provider_request_id", json_string(r->id));
    if (r->id[0])
        json_object_set_new(data, "response_id", json_string(r->id));
    json_object_set_new(data, "provider", provider_object(c));
    const char *model = r->model[0] ? r->model : c->model;
    if (model[0])
        json_object_set_new(data, "model", model_object(model));
    json_object_set_new(data, "status_code", json_integer(resp->status));
    json_object_set_new(data, "success", json_boolean(status_ok && !r->error));
    const char *finish = response_finish(r); /* before build_error takes r->error */
    build_error(r, data, status_ok);
    build_choices(r, data);
    if (r->ntools > 0) {
        json_t *tc = json_array();
        for (size_t i = 0; i < r->ntools; i++)
            json_array_append_new(tc, tool_call_object(&r->tools[i]));
        json_object_set_new(data, "tool_calls", tc);
    }
    if (r->ntools > 0 || json_object_get(data, "choices"))
        json_object_set_new(data, "tool_calls_count", json_integer((json_int_t)r->ntools));
    build_usage(r, data);
    if (finish)
        json_object_set_new(data, "finish_reason", json_string(finish));
    if (r->embeddings > 0) {
        json_object_set_new(data, "embeddings_count", json_integer(r->embeddings));
        if (r->dimensions > 0)
            json_object_set_new(data, "dimensions", json_integer(r->dimensions));
    }

    const http_msg *req = r->req;
    json_object_set_new(data, "latency_ms",
                        json_integer(req ? ns_to_ms(resp->ts_end, req->ts_end) : ns_to_ms(resp->ts_end, resp->ts_start)));
    if (req && r->streamed && r->first_offset >= 0 && resp->nmarks > 0) {
        uint64_t ts = mark_ts(resp, (size_t)r->first_offset);
        if (ts)
            json_object_set_new(data, "time_to_first_token_ms", json_integer(ns_to_ms(ts, req->ts_end)));
    }
    if (resp->flags & (HTTP_MSG_TRUNCATED | HTTP_MSG_INCOMPLETE | HTTP_MSG_CAPTURE_GAP))
        json_object_set_new(data, "body_incomplete", json_true());
}

json_t *decode_response(const ai_call *call, const http_msg *req, const http_msg *resp)
{
    if (!call || !resp)
        return NULL;
    dresp r;
    memset(&r, 0, sizeof r);
    r.call = call;
    r.req = req;
    r.resp = resp;
    r.first_offset = -1;
    for (int i = 0; i < U_COUNT; i++)
        r.usage[i] = -1;

    int status_ok = resp->status >= 200 && resp->status < 300;
    if (resp->body && resp->body_len > 0 && !(resp->flags & HTTP_MSG_DECODE_ERROR))
        decode_body(&r, api_ops(call->api), resp, status_ok);

    json_t *data = json_object();
    dresp_build(&r, data);
    dresp_destroy(&r);
    return data;
}

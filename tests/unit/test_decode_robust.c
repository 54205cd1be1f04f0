/* test_decode_robust.c: hostile and damaged input through decode_request()
 * and decode_response(): every request and response fixture cut at every
 * byte, wrong-typed JSON in every field the decoders read (as whole bodies,
 * SSE events and NDJSON lines, for every API), binary garbage, deep
 * nesting, non-JSON error pages, undecodable bodies, missing requests.
 * Nothing may crash or leak (run under ASan), and every produced data object
 * must still validate against the OISP schema.  Also a rough cost check:
 * decoding a long stream costs little more than parsing its JSON. */
#include <time.h>

#include "test_decode_helpers.h"
#include "decode/decode_priv.h"

typedef struct fixture {
    const char *target, *headers, *req, *resp, *resp_headers;
} fixture;

#define H_OPENAI "Host: api.openai.com\nAuthorization: Bearer sk-proj-ROBUSTkey000000000000000000000000\n"
#define H_ANT "Host: api.anthropic.com\nx-api-key: sk-ant-ROBUSTkey0000000000000000000000000\n"
#define H_GEM "Host: generativelanguage.googleapis.com\n"
#define H_OLL "Host: localhost:11434\n"
#define H_BR "Host: bedrock-runtime.us-east-1.amazonaws.com\n"
#define SSE "Content-Type: text/event-stream\n"
#define JSN "Content-Type: application/json\n"
#define NDJ "Content-Type: application/x-ndjson\n"
#define ES "Content-Type: application/vnd.amazon.eventstream\n"

static const fixture FIXTURES[] = {
    {"/v1/chat/completions", H_OPENAI, "openai/chat_request.json", "openai/chat_stream_tools.sse", SSE},
    {"/v1/chat/completions", H_OPENAI, "openai/chat_request.json", "openai/chat_response_tools.json", JSN},
    {"/v1/responses", H_OPENAI, "openai/responses_request.json", "openai/responses_stream.sse", SSE},
    {"/v1/responses", H_OPENAI, "openai/responses_request_simple.json", "openai/responses_response.json", JSN},
    {"/v1/embeddings", H_OPENAI, "openai/embeddings_request.json", "openai/embeddings_response.json", JSN},
    {"/v1/messages", H_ANT, "anthropic/messages_request.json", "anthropic/messages_stream.sse", SSE},
    {"/v1/messages", H_ANT, "anthropic/messages_request_simple.json", "anthropic/messages_response.json", JSN},
    {"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", H_GEM, "gemini/generate_request.json",
     "gemini/stream_alt_sse.sse", SSE},
    {"/v1beta/models/gemini-2.0-flash:streamGenerateContent", H_GEM, "gemini/generate_request.json",
     "gemini/stream_array.json", JSN},
    {"/api/chat", H_OLL, "ollama/chat_request.json", "ollama/chat_stream.ndjson", NDJ},
    {"/api/generate", H_OLL, "ollama/generate_request.json", "ollama/generate_response.json", JSN},
    {"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", H_BR, "bedrock/converse_request.json",
     "bedrock/converse_response.json", JSN},
    {"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", H_BR, "bedrock/converse_request.json",
     "bedrock/converse_stream.bin", ES},
    {"/model/anthropic.claude-3-5-sonnet-20240620-v1:0/invoke-with-response-stream", H_BR,
     "bedrock/invoke_anthropic_request.json", "bedrock/invoke_stream.bin", ES},
};
#define NFIX (sizeof FIXTURES / sizeof FIXTURES[0])

/* Every cut of every request body: a known endpoint is still reported
 * (metadata only), never a crash. */
static void test_truncated_requests(void **state)
{
    (void)state;
    td_validator v;
    td_validate_begin(&v);
    for (size_t f = 0; f < NFIX; f++) {
        size_t len;
        char *body = td_load(FIXTURES[f].req, &len);
        for (size_t cut = 0; cut <= len; cut++) {
            http_msg *req = td_request(FIXTURES[f].target, FIXTURES[f].headers, body, cut);
            req->flags = cut < len ? HTTP_MSG_TRUNCATED : 0;
            json_t *d;
            ai_call *c = decode_request(req, &d);
            assert_non_null(c);
            assert_true(json_is_object(d));
            if (cut + 1 < len) /* the last byte may be a newline */
                assert_true(c->flags & AI_CALL_BODY_UNPARSED);
            if (cut % 61 == 0 || cut == len)
                td_validate_add(&v, "ai.request", d, c->detection);
            json_decref(d);
            ai_call_free(c);
            http_msg_free(req);
        }
        free(body);
    }
    td_validate_end(&v);

    /* a request cut after its model still names the model */
    size_t len;
    char *body = td_load("openai/chat_request.json", &len);
    http_msg *req = td_request("/v1/chat/completions", H_OPENAI, body, 300);
    json_t *d;
    ai_call *c = decode_request(req, &d);
    assert_string_equal(c->model, "gpt-4o-2024-08-06");
    assert_string_equal(td_str(d, "model.id"), "gpt-4o-2024-08-06");
    assert_int_equal(td_int(d, "messages_count"), 0);

    /* and its response still gets status, success, latency and content */
    free(body);
    body = td_load("openai/chat_response.json", &len);
    http_msg *resp = td_response(200, JSN, body, len);
    json_t *rd = decode_response(c, req, resp);
    assert_int_equal(td_int(rd, "status_code"), 200);
    assert_true(td_bool(rd, "success"));
    assert_int_equal(td_int(rd, "latency_ms"), 1500);
    assert_string_equal(td_str(rd, "finish_reason"), "stop");
    td_exchange x = {c, d, rd};
    td_check(&x, "sk-proj-ROBUSTkey000000000000000000000000");
    td_exchange_free(&x);
    http_msg_free(resp);
    http_msg_free(req);
    free(body);
}

/* Every cut of every response body (SSE, NDJSON, JSON arrays, event-stream). */
static void test_truncated_responses(void **state)
{
    (void)state;
    td_validator v;
    td_validate_begin(&v);
    for (size_t f = 0; f < NFIX; f++) {
        size_t rlen, len;
        char *rbody = td_load(FIXTURES[f].req, &rlen);
        http_msg *req = td_request(FIXTURES[f].target, FIXTURES[f].headers, rbody, rlen);
        free(rbody);
        ai_call *c = decode_request(req, NULL);
        assert_non_null(c);
        char *body = td_load(FIXTURES[f].resp, &len);
        for (size_t cut = 0; cut <= len; cut++) {
            http_msg *resp = td_response(200, FIXTURES[f].resp_headers, body, cut);
            resp->flags = cut < len ? HTTP_MSG_TRUNCATED | HTTP_MSG_INCOMPLETE : 0;
            json_t *d = decode_response(c, req, resp);
            assert_true(json_is_object(d));
            assert_int_equal(td_int(d, "status_code"), 200);
            if (cut % 53 == 0 || cut == len)
                td_validate_add(&v, "ai.response", d, c->detection);
            json_decref(d);
            http_msg_free(resp);
        }
        free(body);
        ai_call_free(c);
        http_msg_free(req);
    }
    td_validate_end(&v);
}

static const char *const HOSTILE_DOCS[] = {
    "{\"choices\":\"x\",\"usage\":[],\"model\":5,\"id\":{}}",
    "{\"choices\":[null,1,\"a\",{\"index\":-1,\"delta\":{\"content\":5}},{\"index\":99999999999,\"delta\":{\"content\":\"x\"}},"
    "{\"index\":15,\"message\":{\"content\":[1,{\"type\":\"text\",\"text\":7},{\"type\":\"text\",\"text\":\"ok\"}],"
    "\"tool_calls\":[{\"index\":-3,\"function\":{\"arguments\":{}}},{\"index\":\"a\",\"function\":\"x\"},{},5]},"
    "\"finish_reason\":7}],\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":\"9\",\"prompt_tokens_details\":3}}",
    "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":5,\"function\":{\"name\":[],\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
    "{\"type\":\"content_block_delta\",\"index\":-1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":5}}",
    "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":[],\"input\":\"s\"}}",
    "{\"type\":\"message_start\",\"message\":\"str\"}",
    "{\"type\":\"message\",\"content\":{\"type\":\"text\"},\"usage\":{\"input_tokens\":\"x\"}}",
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":[\"x\"]},\"usage\":{\"output_tokens\":-1}}",
    "{\"candidates\":[{\"index\":\"0\",\"content\":{\"parts\":{\"text\":\"obj not array\"}}},{\"content\":{\"parts\":"
    "[{\"functionCall\":{\"name\":5,\"args\":\"str\"}},{\"text\":5,\"thought\":true}]},\"finishReason\":\"WEIRD\"}],"
    "\"usageMetadata\":{\"promptTokenCount\":\"1\",\"thoughtsTokenCount\":-4},\"promptFeedback\":{\"blockReason\":3}}",
    "{\"error\":5}",
    "{\"error\":null,\"type\":\"error\"}",
    "{\"error\":{\"code\":{\"x\":1},\"message\":[\"a\"],\"type\":7,\"status\":[]}}",
    "{\"type\":\"response.function_call_arguments.delta\",\"output_index\":-9,\"delta\":null}",
    "{\"type\":\"response.output_item.done\",\"output_index\":2,\"item\":{\"type\":\"function_call\",\"arguments\":{\"a\":1}}}",
    "{\"type\":\"response.completed\",\"response\":{\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":7},"
    "\"output\":\"x\",\"usage\":\"y\",\"error\":{\"code\":5}}}",
    "{\"type\":\"response.output_text.delta\",\"delta\":{\"x\":1}}",
    "{\"object\":\"response\",\"output\":[5,{\"type\":\"message\",\"content\":\"x\"},{\"type\":\"reasoning\",\"summary\":[1]}]}",
    "{\"message\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{\\\"a\\\":\"}},5]},\"done\":true,\"done_reason\":5,\"eval_count\":\"x\"}",
    "{\"response\":7,\"done\":\"yes\"}",
    "{\"output\":{\"message\":{\"content\":[{\"toolUse\":{\"input\":\"not obj\"}},{\"reasoningContent\":{\"reasoningText\":5}}]}},"
    "\"stopReason\":5,\"usage\":{\"inputTokens\":\"x\"}}",
    "{\"contentBlockDelta\":{\"contentBlockIndex\":-2,\"delta\":{\"toolUse\":{\"input\":7}}}}",
    "{\"embedding\":{\"values\":\"x\"},\"embeddings\":[5],\"data\":[{\"embedding\":\"base64str\"}]}",
    "{\"message\":\"top-level message\",\"detail\":[1]}",
    "{}",
    "[]",
    "\"just a string\"",
};
#define NHOSTILE (sizeof HOSTILE_DOCS / sizeof HOSTILE_DOCS[0])

/* Each hostile document, as a whole body, an SSE event and an NDJSON line,
 * for every API, at a 200 and a 500. */
static void test_hostile_response_documents(void **state)
{
    (void)state;
    td_validator v;
    td_validate_begin(&v);
    for (size_t f = 0; f < NFIX; f++) {
        size_t rlen;
        char *rbody = td_load(FIXTURES[f].req, &rlen);
        http_msg *req = td_request(FIXTURES[f].target, FIXTURES[f].headers, rbody, rlen);
        free(rbody);
        ai_call *c = decode_request(req, NULL);
        for (size_t h = 0; h < NHOSTILE; h++) {
            char buf[4096];
            const char *forms[3][2] = {{"%s", JSN}, {"data: %s\n\nevent: x\ndata: %s\n\n", SSE}, {"%s\n%s\n", NDJ}};
            for (int form = 0; form < 3; form++) {
                snprintf(buf, sizeof buf, forms[form][0], HOSTILE_DOCS[h], HOSTILE_DOCS[h]);
                for (int status = 200; status <= 500; status += 300) {
                    http_msg *resp = td_response(status, forms[form][1], buf, strlen(buf));
                    json_t *d = decode_response(c, req, resp);
                    assert_true(json_is_object(d));
                    td_validate_add(&v, "ai.response", d, c->detection);
                    json_decref(d);
                    http_msg_free(resp);
                }
            }
        }
        ai_call_free(c);
        http_msg_free(req);
    }
    td_validate_end(&v);
}

static const char *const HOSTILE_REQUESTS[] = {
    "{\"model\":5,\"messages\":\"x\",\"tools\":{},\"tool_choice\":7,\"temperature\":\"hot\",\"stop\":[1,2,\"ok\"],\"max_tokens\":1.5,\"stream\":\"yes\"}",
    "{\"model\":\"m\",\"messages\":[null,5,{\"role\":5,\"content\":{\"type\":\"image_url\"}},{\"role\":\"wizard\",\"content\":\"x\"},"
    "{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"arguments\":5}},null,{\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}],"
    "\"tools\":[null,{\"function\":5},{\"type\":7}],\"tool_choice\":{\"type\":5},\"max_tokens\":3.0}",
    "{\"model\":\"claude-x\",\"system\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"content\":{\"x\":1}},"
    "{\"type\":\"tool_use\",\"input\":\"str\"},5,{\"type\":\"image\"}]},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\"}]}],"
    "\"tool_choice\":\"any\",\"thinking\":{\"budget_tokens\":\"x\"},\"tools\":[5,{\"name\":7}]}",
    "{\"contents\":[{\"parts\":\"x\"},{\"role\":\"model\",\"parts\":[{\"functionCall\":5},{\"functionResponse\":{\"response\":\"str\"}},"
    "{\"inlineData\":5},{\"functionResponse\":7}]}],\"systemInstruction\":\"plain string\",\"tools\":[5,{\"functionDeclarations\":\"x\"}],"
    "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":5}},\"generationConfig\":{\"maxOutputTokens\":\"5\",\"thinkingConfig\":5}}",
    "{\"model\":\"m\",\"input\":[5,{\"type\":\"function_call\",\"arguments\":{\"a\":1}},{\"type\":\"function_call_output\",\"output\":"
    "[{\"type\":\"input_text\",\"text\":\"x\"}]},{\"role\":\"user\",\"content\":[{\"type\":\"input_image\"}]}],\"instructions\":5}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"images\":\"x\",\"content\":5}],\"options\":[],\"think\":\"high\",\"input\":{}}",
    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"toolResult\":{\"content\":\"x\",\"status\":5}},{\"text\":5}]}],\"system\":\"str\","
    "\"toolConfig\":{\"toolChoice\":{\"tool\":5},\"tools\":[{\"toolSpec\":5}]},\"inferenceConfig\":[]}",
    "{\"model\":\"m\",\"prompt\":[1,2,3],\"input\":[[1,2],[3]]}",
};

static void test_hostile_requests(void **state)
{
    (void)state;
    td_validator v;
    td_validate_begin(&v);
    for (size_t f = 0; f < NFIX; f++)
        for (size_t h = 0; h < sizeof HOSTILE_REQUESTS / sizeof HOSTILE_REQUESTS[0]; h++) {
            http_msg *req = td_request(FIXTURES[f].target, FIXTURES[f].headers, HOSTILE_REQUESTS[h],
                                       strlen(HOSTILE_REQUESTS[h]));
            json_t *d;
            ai_call *c = decode_request(req, &d);
            assert_non_null(c); /* known hosts and paths */
            td_validate_add(&v, "ai.request", d, c->detection);
            json_decref(d);
            ai_call_free(c);
            http_msg_free(req);
        }
    td_validate_end(&v);
}

static void test_garbage_and_deep_nesting(void **state)
{
    (void)state;
    unsigned seed = 7;
    size_t n = 1 << 16;
    char *buf = malloc(n);
    for (int round = 0; round < 40; round++) {
        size_t len = (size_t)(round * 1637) % n;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            static const char alpha[] = "{}[]\":,data: \n\\u00e9tool_callsindex0123456789";
            buf[i] = (seed >> 16) & 1 ? alpha[(seed >> 8) % (sizeof alpha - 1)] : (char)(seed >> 8);
        }
        for (size_t f = 0; f < NFIX; f++) {
            http_msg *req = td_request(FIXTURES[f].target, FIXTURES[f].headers, buf, len);
            json_t *d;
            ai_call *c = decode_request(req, &d);
            assert_non_null(c);
            http_msg *resp = td_response(200, FIXTURES[f].resp_headers, buf, len);
            json_t *rd = decode_response(c, req, resp);
            assert_non_null(rd);
            json_decref(rd);
            json_decref(d);
            ai_call_free(c);
            http_msg_free(req);
            http_msg_free(resp);
        }
    }
    /* 60000 nested arrays/objects: jansson's depth limit, not the stack */
    size_t depth = 60000;
    char *deep = malloc(2 * depth + 64);
    size_t o = 0;
    o += (size_t)sprintf(deep, "data: {\"choices\":");
    for (size_t i = 0; i < depth; i++)
        deep[o++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[o++] = ']';
    o += (size_t)sprintf(deep + o, "}\n\n");
    for (size_t f = 0; f < NFIX; f++) {
        http_msg *req = td_request(FIXTURES[f].target, FIXTURES[f].headers, deep + 6, o - 8);
        json_t *d;
        ai_call *c = decode_request(req, &d);
        http_msg *resp = td_response(200, SSE, deep, o);
        json_t *rd = decode_response(c, req, resp);
        assert_non_null(rd);
        json_decref(rd);
        json_decref(d);
        ai_call_free(c);
        http_msg_free(req);
        http_msg_free(resp);
    }
    free(deep);
    free(buf);
}

static void test_odd_responses(void **state)
{
    (void)state;
    size_t len;
    char *body = td_load("openai/chat_request.json", &len);
    http_msg *req = td_request("/v1/chat/completions", H_OPENAI, body, len);
    free(body);
    json_t *rq;
    ai_call *c = decode_request(req, &rq);
    td_validator v;
    td_validate_begin(&v);

    /* an HTML page from a proxy */
    const char *html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    http_msg *resp = td_response(502, "Content-Type: text/html\n", html, strlen(html));
    free(resp->reason);
    resp->reason = strdup("Bad Gateway");
    json_t *d = decode_response(c, req, resp);
    assert_false(td_bool(d, "success"));
    assert_string_equal(td_str(d, "error.type"), "http_error");
    assert_string_equal(td_str(d, "error.message"), "Bad Gateway");
    assert_string_equal(td_str(d, "error.code"), "502");
    td_validate_add(&v, "ai.response", d, c->detection);
    json_decref(d);
    http_msg_free(resp);

    /* content-encoding could not be undone: metadata only */
    body = td_load("openai/chat_response.json", &len);
    resp = td_response(200, JSN, body, len);
    resp->flags = HTTP_MSG_DECODE_ERROR;
    d = decode_response(c, req, resp);
    assert_true(td_bool(d, "success"));
    assert_null(td_get(d, "choices"));
    assert_string_equal(td_str(d, "model.id"), "gpt-4o-2024-08-06");
    td_validate_add(&v, "ai.response", d, c->detection);
    json_decref(d);

    /* no request seen (capture started mid-connection): latency from the response */
    resp->flags = 0;
    d = decode_response(c, NULL, resp);
    assert_int_equal(td_int(d, "latency_ms"), 1200);
    assert_null(td_get(d, "time_to_first_token_ms"));
    td_validate_add(&v, "ai.response", d, c->detection);
    json_decref(d);
    http_msg_free(resp);
    free(body);

    /* an SSE stream sent without a content-type; no marks at all */
    body = td_load("openai/chat_stream_text.sse", &len);
    resp = td_response(200, "", body, len);
    free(resp->marks);
    resp->marks = NULL;
    resp->nmarks = 0;
    d = decode_response(c, req, resp);
    assert_string_equal(td_str(d, "choices.0.message.content"), "Café ☕ 日本語 😀!");
    assert_null(td_get(d, "time_to_first_token_ms"));
    td_validate_add(&v, "ai.response", d, c->detection);
    json_decref(d);
    http_msg_free(resp);
    free(body);

    /* an empty 204 and a 200 with no body */
    resp = td_response(204, "", NULL, 0);
    d = decode_response(c, req, resp);
    assert_true(td_bool(d, "success"));
    td_validate_add(&v, "ai.response", d, c->detection);
    json_decref(d);
    http_msg_free(resp);

    assert_null(decode_response(NULL, req, NULL));
    assert_null(decode_response(c, req, NULL));
    td_validate_end(&v);
    json_decref(rq);
    ai_call_free(c);
    http_msg_free(req);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 20000-chunk chat stream: decoding should cost little beyond jansson
 * parsing every event once. */
static void test_decode_cost(void **state)
{
    (void)state;
    const char *chunk = "data: {\"id\":\"chatcmpl-Perf\",\"object\":\"chat.completion.chunk\",\"created\":1734881500,"
                        "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
                        "\"delta\":{\"content\":\" token\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n";
    size_t clen = strlen(chunk), n = 20000;
    char *body = malloc(clen * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(body + i * clen, chunk, clen);
    body[clen * n] = 0;

    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loadb(body + i * clen + 6, clen - 8, 0, NULL);
        assert_non_null(j);
        json_decref(j);
    }
    double parse = now_s() - t0;

    const char *rq = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    http_msg *req = td_request("/v1/chat/completions", H_OPENAI, rq, strlen(rq));
    ai_call *c = decode_request(req, NULL);
    http_msg *resp = td_response(200, SSE, body, clen * n);
    free(body);
    t0 = now_s();
    json_t *d = decode_response(c, req, resp);
    double dec = now_s() - t0;
    assert_int_equal(td_int(d, "choices.0.message.content_length"), (json_int_t)(6 * n));
    print_message("stream of %zu KB: jansson alone %.1f ms, full decode %.1f ms (%.2fx)\n", clen * n / 1024,
                  parse * 1e3, dec * 1e3, dec / parse);
    assert_true(dec < parse * 3 + 0.05);
    json_decref(d);
    ai_call_free(c);
    http_msg_free(req);
    http_msg_free(resp);
}

/* decode_utf8_chars counts sixteen bytes at a time, in lanes summed every
 * 255 blocks: it must agree with a byte-at-a-time count on every length and
 * alignment, for ASCII, multi-byte text and random bytes, also past the
 * 255-block sums (long all-continuation runs would overflow a lane). */
static size_t utf8_chars_slow(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static void test_utf8_chars(void **state)
{
    (void)state;
    char buf[300];
    const char *text = "caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80 plain ascii";
    assert_int_equal(decode_utf8_chars(text, strlen(text)), 21);
    unsigned seed = 12345;
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand_r(&seed) % 260);
        size_t off = (size_t)(rand_r(&seed) % 8);
        for (size_t i = 0; i < n; i++)
            buf[off + i] = (char)(round % 3 == 0 ? rand_r(&seed) : text[i % strlen(text)]);
        assert_int_equal(decode_utf8_chars(buf + off, n), utf8_chars_slow(buf + off, n));
    }
    static char big[70000 + 16];
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < sizeof(big); i++)
            big[i] = (char)(kind == 0   ? (int)(0x80 + i % 64) /* continuation bytes only */
                            : kind == 1 ? rand_r(&seed)
                                        : (int)text[i % strlen(text)]);
        for (size_t off = 0; off < 16; off += 5)
            for (size_t n = 16 * 255 - 17; n < sizeof(big) - off; n += 4079)
                assert_int_equal(decode_utf8_chars(big + off, n), utf8_chars_slow(big + off, n));
    }
}

/* Found by fuzzing: an integer parameter sent as a real outside the range
 * of a 64-bit integer (seed 8e78) was converted anyway (undefined
 * behaviour, caught by UBSan).  Whole reals are kept, the others dropped. */
static void test_int_params_from_reals(void **state)
{
    (void)state;
    const char *body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                       "\"seed\":8e78,\"top_k\":7.0}";
    http_msg *req = td_request("/v1/chat/completions", "Host: api.openai.com\r\n", body, strlen(body));
    json_t *d = NULL;
    ai_call *c = decode_request(req, &d);
    assert_non_null(c);
    assert_null(td_get(d, "parameters.seed"));
    assert_int_equal(td_int(d, "parameters.top_k"), 7);
    json_decref(d);
    ai_call_free(c);
    http_msg_free(req);
    body = "{\"model\":\"gpt-4o\",\"messages\":[],\"seed\":-9.3e18,\"top_k\":1e300}";
    req = td_request("/v1/chat/completions", "Host: api.openai.com\r\n", body, strlen(body));
    c = decode_request(req, &d);
    assert_non_null(c);
    assert_null(td_get(d, "parameters.seed"));
    assert_null(td_get(d, "parameters.top_k"));
    json_decref(d);
    ai_call_free(c);
    http_msg_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_requests),
        cmocka_unit_test(test_truncated_responses),
        cmocka_unit_test(test_hostile_response_documents),
        cmocka_unit_test(test_hostile_requests),
        cmocka_unit_test(test_garbage_and_deep_nesting),
        cmocka_unit_test(test_odd_responses),
        cmocka_unit_test(test_decode_cost),
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_int_params_from_reals),
    };
    return cmocka_run_group_tests_name("decode_robust", tests, NULL, NULL);
}

/* test_decode_openai.c: tests for src/decode/openai.c through the public
 * decode_request()/decode_response(): Chat Completions (streamed and whole,
 * tool calls split over many deltas, usage details, refusal, errors),
 * Responses (input items, stream events, incomplete), legacy completions,
 * embeddings, and Azure deployments.  Every data object is validated against
 * the OISP schema and checked for key leaks. */
#include "test_decode_helpers.h"

#define OPENAI_KEY "sk-proj-TESTkey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
#define OPENAI_KEY_HASH "sha256:6e5c6b2fbdf5e6f1fee0b86b7c8c32849029455d6bf0bad89dc5154721c9ff40"
#define OPENAI_HDRS "Host: api.openai.com\nAuthorization: Bearer " OPENAI_KEY "\nContent-Type: application/json\n"
#define SSE_HDRS "Content-Type: text/event-stream; charset=utf-8\nx-request-id: req_7f3c0b1e2a\n"
#define JSON_HDRS "Content-Type: application/json\n"

static void test_chat_request(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/chat/completions", OPENAI_HDRS, "openai/chat_request.json", 0, NULL, NULL, 0);
    json_t *d = x.req_data;
    assert_int_equal(x.call->api, AI_API_OPENAI_CHAT);
    assert_string_equal(x.call->provider, "openai");
    assert_string_equal(x.call->detection, "known_endpoint");
    assert_true(x.call->streaming);
    assert_string_equal(td_str(d, "provider.name"), "openai");
    assert_string_equal(td_str(d, "provider.endpoint"), "https://api.openai.com/v1/chat/completions");
    assert_string_equal(td_str(d, "model.id"), "gpt-4o-2024-08-06");
    assert_string_equal(td_str(d, "model.family"), "gpt-4o");
    assert_string_equal(td_str(d, "auth.type"), "api_key");
    assert_string_equal(td_str(d, "auth.key_prefix"), "sk-proj-");
    assert_string_equal(td_str(d, "auth.key_hash"), OPENAI_KEY_HASH);
    assert_string_equal(td_str(d, "request_type"), "chat");
    assert_true(td_bool(d, "streaming"));

    assert_int_equal(td_int(d, "messages_count"), 5);
    assert_string_equal(td_str(d, "messages.0.role"), "system");
    assert_true(td_bool(d, "has_system_prompt"));
    assert_string_equal(td_str(d, "system_prompt_hash"),
                        "sha256:50455eda21f33bf7894f0e9bd3e9fccd40530b7a8d9a3b86513f82eef55cd92a");
    /* parts flattened to text; the image counted; length in code points */
    assert_string_equal(td_str(d, "messages.1.content"), "What is in this screenshot? Café ☕ 日本語 😀");
    assert_int_equal(td_int(d, "messages.1.content_length"), 40);
    assert_int_equal(td_int(d, "messages.1.image_count"), 1);
    assert_true(td_bool(d, "messages.1.has_images"));
    /* assistant tool call kept, arguments parsed */
    assert_string_equal(td_str(d, "messages.2.role"), "assistant");
    assert_null(td_get(d, "messages.2.content"));
    assert_string_equal(td_str(d, "messages.2.tool_calls.0.id"), "call_Vx7pB3oPqYh2Qm1");
    assert_string_equal(td_str(d, "messages.2.tool_calls.0.name"), "read_file");
    assert_string_equal(td_str(d, "messages.2.tool_calls.0.arguments.path"), "src/main.c");
    assert_string_equal(td_str(d, "messages.3.role"), "tool");
    assert_string_equal(td_str(d, "messages.3.tool_call_id"), "call_Vx7pB3oPqYh2Qm1");
    /* \u escapes (incl. a surrogate pair) decode to the same UTF-8 */
    assert_string_equal(td_str(d, "messages.4.content"), "Café 日本 😀 — now fix it");
    assert_int_equal(td_int(d, "messages.4.content_length"), 22);

    assert_int_equal(td_int(d, "tools_count"), 2);
    assert_string_equal(td_str(d, "tools.1.name"), "write_file");
    assert_string_equal(td_str(d, "tools.1.type"), "function");
    assert_string_equal(td_str(d, "tools.0.description"), "Read a file from the workspace");
    assert_string_equal(td_str(d, "tool_choice"), "auto");
    assert_true(td_num(d, "parameters.temperature") > 0.19 && td_num(d, "parameters.temperature") < 0.21);
    assert_true(td_num(d, "parameters.top_p") == 1.0);
    assert_int_equal(td_int(d, "parameters.max_tokens"), 4096);
    assert_true(td_num(d, "parameters.presence_penalty") == 0.5);
    assert_string_equal(td_str(d, "parameters.stop.0"), "\n\nUser:");
    assert_int_equal(json_array_size(td_get(d, "parameters.stop")), 1);
    assert_true(td_bool(d, "has_images"));
    assert_int_equal(td_int(d, "image_count"), 1);
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);
}

static void test_chat_stream_tool_calls(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/chat/completions", OPENAI_HDRS, "openai/chat_request.json", 200, SSE_HDRS,
                           "openai/chat_stream_tools.sse", 10);
    json_t *d = x.resp_data;
    assert_int_equal(td_int(d, "status_code"), 200);
    assert_true(td_bool(d, "success"));
    assert_string_equal(td_str(d, "provider_request_id"), "req_7f3c0b1e2a");
    assert_string_equal(td_str(d, "response_id"), "chatcmpl-AbC123");
    assert_string_equal(td_str(d, "model.id"), "gpt-4o-2024-08-06");
    assert_int_equal(td_int(d, "tool_calls_count"), 2);
    assert_string_equal(td_str(d, "tool_calls.0.id"), "call_abc123");
    assert_string_equal(td_str(d, "tool_calls.0.name"), "read_file");
    assert_string_equal(td_str(d, "tool_calls.0.type"), "function");
    /* assembled from six deltas, \u escapes and raw UTF-8 mixed */
    assert_string_equal(td_str(d, "tool_calls.0.arguments.path"), "/tmp/résumé_日本.txt");
    assert_string_equal(td_str(d, "tool_calls.1.id"), "call_def456");
    assert_string_equal(td_str(d, "tool_calls.1.arguments.cmd"), "ls -la");
    assert_string_equal(td_str(d, "finish_reason"), "tool_calls");
    assert_string_equal(td_str(d, "choices.0.finish_reason"), "tool_calls");
    assert_int_equal(td_int(d, "usage.prompt_tokens"), 1823);
    assert_int_equal(td_int(d, "usage.completion_tokens"), 56);
    assert_int_equal(td_int(d, "usage.total_tokens"), 1879);
    assert_int_equal(td_int(d, "usage.cached_tokens"), 1536);
    assert_int_equal(td_int(d, "usage.reasoning_tokens"), 0);
    assert_int_equal(td_int(d, "latency_ms"), 1500);
    /* the first event already opens a tool call: it arrives with the head */
    assert_int_equal(td_int(d, "time_to_first_token_ms"), 300);
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);
}

static void test_chat_stream_text(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/chat/completions", OPENAI_HDRS, "openai/chat_request.json", 200, SSE_HDRS,
                           "openai/chat_stream_text.sse", 10);
    json_t *d = x.resp_data;
    assert_string_equal(td_str(d, "choices.0.message.role"), "assistant");
    assert_string_equal(td_str(d, "choices.0.message.content"), "Café ☕ 日本語 😀!");
    assert_int_equal(td_int(d, "choices.0.message.content_length"), 13);
    assert_string_equal(td_str(d, "finish_reason"), "length");
    assert_int_equal(td_int(d, "usage.reasoning_tokens"), 832);
    assert_int_equal(td_int(d, "usage.cached_tokens"), 0);
    assert_string_equal(td_str(d, "model.family"), "o3");
    /* event 0 has only the role and "": the first text is event 1, 10 ms later */
    assert_int_equal(td_int(d, "time_to_first_token_ms"), 310);
    assert_int_equal(td_int(d, "tool_calls_count"), 0);
    assert_null(td_get(d, "tool_calls"));
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);
}

static void test_chat_whole_responses(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/chat/completions", OPENAI_HDRS, "openai/chat_request.json", 200, JSON_HDRS,
                           "openai/chat_response.json", 0);
    json_t *d = x.resp_data;
    assert_string_equal(td_str(d, "choices.0.message.content"), "Bonjour ! Le café ☕ est prêt. 日本語もOK 😀");
    assert_string_equal(td_str(d, "finish_reason"), "stop");
    assert_string_equal(td_str(d, "model.id"), "gpt-4.1-2025-04-14");
    assert_string_equal(td_str(d, "model.family"), "gpt-4.1");
    assert_string_equal(td_str(d, "provider_request_id"), "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
    assert_int_equal(td_int(d, "usage.total_tokens"), 29);
    assert_null(td_get(d, "time_to_first_token_ms")); /* not streamed */
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);

    x = td_run("/v1/chat/completions", OPENAI_HDRS, "openai/chat_request.json", 200, JSON_HDRS,
               "openai/chat_response_tools.json", 0);
    d = x.resp_data;
    assert_int_equal(td_int(d, "tool_calls_count"), 2);
    assert_string_equal(td_str(d, "tool_calls.0.arguments.location"), "Paris, France");
    /* arguments that are not a JSON object stay a string */
    assert_string_equal(td_str(d, "tool_calls.1.arguments"), "not json at all");
    assert_string_equal(td_str(d, "choices.0.message.content"), "");
    assert_string_equal(td_str(d, "finish_reason"), "tool_calls");
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);

    x = td_run("/v1/chat/completions", OPENAI_HDRS, "openai/chat_request.json", 200, JSON_HDRS,
               "openai/chat_response_refusal.json", 0);
    d = x.resp_data;
    assert_string_equal(td_str(d, "choices.0.message.refusal"), "I'm sorry, I can't help with that.");
    assert_string_equal(td_str(d, "finish_reason"), "stop");
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);
}

static void test_chat_errors(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *file, *type, *code, *msg_start;
    } cases[] = {
        {401, "openai/error_401.json", "invalid_request_error", "invalid_api_key", "Incorrect API key provided"},
        {429, "openai/error_429.json", "tokens", "rate_limit_exceeded", "Rate limit reached for gpt-4o"},
        {500, "openai/error_500.json", "server_error", "500", "The server had an error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        td_exchange x = td_run("/v1/chat/completions", OPENAI_HDRS, "openai/chat_request.json", cases[i].status,
                               JSON_HDRS "x-request-id: req_err\n", cases[i].file, 0);
        json_t *d = x.resp_data;
        assert_int_equal(td_int(d, "status_code"), cases[i].status);
        assert_false(td_bool(d, "success"));
        assert_string_equal(td_str(d, "error.type"), cases[i].type);
        assert_string_equal(td_str(d, "error.code"), cases[i].code);
        assert_true(strncmp(td_str(d, "error.message"), cases[i].msg_start, strlen(cases[i].msg_start)) == 0);
        assert_null(td_get(d, "choices"));
        assert_string_equal(td_str(d, "model.id"), "gpt-4o-2024-08-06"); /* from the request */
        td_check(&x, OPENAI_KEY);
        td_exchange_free(&x);
    }
}

static void test_responses_request(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/responses", OPENAI_HDRS, "openai/responses_request.json", 0, NULL, NULL, 0);
    json_t *d = x.req_data;
    assert_int_equal(x.call->api, AI_API_OPENAI_RESPONSES);
    assert_string_equal(td_str(d, "request_type"), "chat");
    assert_string_equal(td_str(d, "model.id"), "gpt-5-codex");
    assert_int_equal(td_int(d, "messages_count"), 6);
    assert_string_equal(td_str(d, "messages.0.role"), "system"); /* instructions */
    assert_string_equal(td_str(d, "messages.0.content"), "You are Codex, a coding agent. Be concise.");
    assert_string_equal(td_str(d, "messages.1.role"), "system"); /* developer */
    assert_string_equal(td_str(d, "messages.2.content"), "List the files, s'il vous plaît 🙏");
    assert_int_equal(td_int(d, "messages.2.image_count"), 1);
    assert_string_equal(td_str(d, "messages.3.role"), "assistant");
    assert_string_equal(td_str(d, "messages.3.tool_calls.0.id"), "call_shell_1");
    assert_string_equal(td_str(d, "messages.3.tool_calls.0.arguments.command.1"), "-la");
    assert_string_equal(td_str(d, "messages.4.role"), "tool");
    assert_string_equal(td_str(d, "messages.4.tool_call_id"), "call_shell_1");
    assert_string_equal(td_str(d, "messages.5.content"), "Now read README.md");
    assert_int_equal(td_int(d, "tools_count"), 3);
    assert_string_equal(td_str(d, "tools.0.name"), "shell");
    assert_string_equal(td_str(d, "tools.0.description"), "Runs a shell command and returns its output.");
    assert_string_equal(td_str(d, "tools.1.type"), "other");
    assert_string_equal(td_str(d, "tools.2.type"), "file_search");
    assert_int_equal(td_int(d, "parameters.max_tokens"), 8000);
    assert_true(td_bool(d, "streaming"));
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);

    x = td_run("/v1/responses", OPENAI_HDRS, "openai/responses_request_simple.json", 0, NULL, NULL, 0);
    d = x.req_data;
    assert_int_equal(td_int(d, "messages_count"), 1);
    assert_string_equal(td_str(d, "messages.0.role"), "user");
    assert_false(td_bool(d, "has_system_prompt"));
    assert_null(td_get(d, "system_prompt_hash"));
    assert_string_equal(td_str(d, "previous_response_id"), "resp_prev123");
    assert_false(td_bool(d, "streaming"));
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);
}

static void test_responses_stream(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/responses", OPENAI_HDRS, "openai/responses_request.json", 200, SSE_HDRS,
                           "openai/responses_stream.sse", 20);
    json_t *d = x.resp_data;
    /* text from deltas only: response.completed's copy is not added again */
    assert_string_equal(td_str(d, "choices.0.message.content"), "Je vais lire le fichier — 📄");
    assert_string_equal(td_str(d, "choices.0.message.thinking"), "**Reading the README**");
    assert_int_equal(td_int(d, "tool_calls_count"), 1);
    assert_string_equal(td_str(d, "tool_calls.0.id"), "call_shell_2");
    assert_string_equal(td_str(d, "tool_calls.0.name"), "shell");
    assert_string_equal(td_str(d, "tool_calls.0.arguments.command.1"), "README.md");
    assert_string_equal(td_str(d, "finish_reason"), "tool_calls");
    assert_int_equal(td_int(d, "usage.prompt_tokens"), 4210);
    assert_int_equal(td_int(d, "usage.completion_tokens"), 148);
    assert_int_equal(td_int(d, "usage.total_tokens"), 4358);
    assert_int_equal(td_int(d, "usage.cached_tokens"), 3968);
    assert_int_equal(td_int(d, "usage.reasoning_tokens"), 64);
    assert_string_equal(td_str(d, "response_id"), "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654");
    /* first output: the reasoning summary delta, event 3 */
    assert_int_equal(td_int(d, "time_to_first_token_ms"), 300 + 3 * 20);
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);

    x = td_run("/v1/responses", OPENAI_HDRS, "openai/responses_request_simple.json", 200, JSON_HDRS,
               "openai/responses_response.json", 0);
    d = x.resp_data;
    assert_string_equal(td_str(d, "choices.0.message.content"), "Once upon a time, in a quiet village nestled");
    assert_string_equal(td_str(d, "finish_reason"), "length");
    assert_int_equal(td_int(d, "usage.total_tokens"), 52);
    assert_string_equal(td_str(d, "model.id"), "gpt-4.1-2025-04-14");
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);
}

static void test_completions_and_embeddings(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/completions", OPENAI_HDRS, "openai/completions_request.json", 200, JSON_HDRS,
                           "openai/completions_response.json", 0);
    assert_int_equal(x.call->api, AI_API_OPENAI_COMPLETIONS);
    assert_string_equal(td_str(x.req_data, "request_type"), "completion");
    assert_string_equal(td_str(x.req_data, "messages.0.content"), "Say this is a test");
    assert_int_equal(json_array_size(td_get(x.req_data, "parameters.stop")), 2);
    assert_int_equal(td_int(x.req_data, "parameters.max_tokens"), 7);
    assert_string_equal(td_str(x.resp_data, "choices.0.message.content"), "\n\nThis is indeed a test");
    assert_string_equal(td_str(x.resp_data, "finish_reason"), "length");
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);

    x = td_run("/v1/embeddings", OPENAI_HDRS, "openai/embeddings_request.json", 200, JSON_HDRS,
               "openai/embeddings_response.json", 0);
    assert_int_equal(x.call->api, AI_API_OPENAI_EMBEDDINGS);
    assert_string_equal(td_str(x.req_data, "request_type"), "embedding");
    assert_int_equal(td_int(x.req_data, "input_count"), 2);
    assert_int_equal(td_int(x.req_data, "messages_count"), 0);
    assert_int_equal(td_int(x.resp_data, "embeddings_count"), 2);
    assert_int_equal(td_int(x.resp_data, "dimensions"), 4);
    assert_int_equal(td_int(x.resp_data, "usage.prompt_tokens"), 17);
    assert_int_equal(td_int(x.resp_data, "usage.total_tokens"), 17);
    assert_null(td_get(x.resp_data, "choices"));
    td_check(&x, OPENAI_KEY);
    td_exchange_free(&x);
}

static void test_azure_deployment(void **state)
{
    (void)state;
    const char *key = "0123456789abcdef0123456789abcdef";
    char hdrs[256];
    snprintf(hdrs, sizeof hdrs, "Host: contoso-eastus.openai.azure.com\napi-key: %s\n", key);
    size_t len;
    char *body = td_load("openai/chat_request.json", &len);
    /* Azure bodies usually carry no model: drop it */
    json_t *j = json_loadb(body, len, 0, NULL);
    json_object_del(j, "model");
    char *nomodel = json_dumps(j, 0);
    json_decref(j);
    free(body);
    http_msg *req = td_request("/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21", hdrs,
                               nomodel, strlen(nomodel));
    free(nomodel);
    json_t *data;
    ai_call *c = decode_request(req, &data);
    assert_non_null(c);
    assert_string_equal(td_str(data, "provider.name"), "azure_openai");
    assert_string_equal(td_str(data, "provider.endpoint"),
                        "https://contoso-eastus.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21");
    assert_string_equal(td_str(data, "model.id"), "gpt-4o-prod");
    assert_string_equal(td_str(data, "auth.type"), "api_key");
    /* no vendor separator: 4 chars at most */
    assert_string_equal(td_str(data, "auth.key_prefix"), "0123");

    char *rb = td_load("openai/chat_response.json", &len);
    http_msg *resp = td_response(200, JSON_HDRS "apim-request-id: 2c9b3f6e-azure\n", rb, len);
    free(rb);
    json_t *rd = decode_response(c, req, resp);
    assert_string_equal(td_str(rd, "provider_request_id"), "2c9b3f6e-azure");
    td_exchange x = {c, data, rd};
    td_check(&x, key);
    td_exchange_free(&x);
    http_msg_free(req);
    http_msg_free(resp);
}

/* Compatible servers that send each whole tool call with "index": 0. */
static void test_whole_calls_same_index(void **state)
{
    (void)state;
    const char *rq = "{\"model\":\"gemini-2.0-flash\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    const char *sse =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
        "\"type\":\"function\",\"function\":{\"name\":\"a\",\"arguments\":\"{\\\"x\\\":1}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c2\",\"type\":\"function\","
        "\"function\":{\"name\":\"b\",\"arguments\":\"{\\\"y\\\":2}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"
        "data: [DONE]\n\n";
    http_msg *req = td_request("/v1beta/openai/chat/completions", "Host: generativelanguage.googleapis.com\n", rq, strlen(rq));
    json_t *d;
    ai_call *c = decode_request(req, &d);
    assert_non_null(c);
    assert_int_equal(c->api, AI_API_OPENAI_CHAT);
    http_msg *resp = td_response(200, SSE_HDRS, sse, strlen(sse));
    json_t *rd = decode_response(c, req, resp);
    assert_int_equal(td_int(rd, "tool_calls_count"), 2);
    assert_int_equal(td_int(rd, "tool_calls.0.arguments.x"), 1);
    assert_string_equal(td_str(rd, "tool_calls.1.name"), "b");
    assert_int_equal(td_int(rd, "tool_calls.1.arguments.y"), 2);
    td_exchange x = {c, d, rd};
    td_check(&x, NULL);
    td_exchange_free(&x);
    http_msg_free(req);
    http_msg_free(resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_request),
        cmocka_unit_test(test_chat_stream_tool_calls),
        cmocka_unit_test(test_chat_stream_text),
        cmocka_unit_test(test_chat_whole_responses),
        cmocka_unit_test(test_chat_errors),
        cmocka_unit_test(test_responses_request),
        cmocka_unit_test(test_responses_stream),
        cmocka_unit_test(test_completions_and_embeddings),
        cmocka_unit_test(test_azure_deployment),
        cmocka_unit_test(test_whole_calls_same_index),
    };
    return cmocka_run_group_tests_name("decode_openai", tests, NULL, NULL);
}

/* test_decode_anthropic.c: tests for src/decode/anthropic.c: Messages
 * requests (system blocks, images, tool_use / tool_result, server tools,
 * thinking), streamed responses (thinking, text and input_json_delta per
 * block, cache usage), whole responses, error bodies and mid-stream error
 * events, Vertex rawPredict, and Anthropic-compatible unknown hosts. */
#include "test_decode_helpers.h"

#define ANT_KEY "sk-ant-api03-TESTkeyR4nd0mStr1ngThatIsLongEnough0123456789-abcdefAA"
#define ANT_HDRS "Host: api.anthropic.com\nx-api-key: " ANT_KEY "\nanthropic-version: 2023-06-01\ncontent-type: application/json\n"
#define SSE_HDRS "Content-Type: text/event-stream; charset=utf-8\nrequest-id: req_018EeWyXxfu5pfWkrYcMdjWG\n"
#define JSON_HDRS "Content-Type: application/json\nrequest-id: req_011CSHoEeqs5C35K2UUqR7Fy\n"

static void test_messages_request(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/messages", ANT_HDRS, "anthropic/messages_request.json", 0, NULL, NULL, 0);
    json_t *d = x.req_data;
    assert_int_equal(x.call->api, AI_API_ANTHROPIC_MESSAGES);
    assert_string_equal(td_str(d, "provider.name"), "anthropic");
    assert_string_equal(td_str(d, "provider.endpoint"), "https://api.anthropic.com/v1/messages");
    assert_string_equal(td_str(d, "model.id"), "claude-sonnet-4-5-20250929");
    assert_string_equal(td_str(d, "model.family"), "claude-4.5");
    assert_string_equal(td_str(d, "auth.key_prefix"), "sk-ant-");
    assert_true(td_bool(d, "streaming"));

    assert_int_equal(td_int(d, "messages_count"), 7);
    assert_string_equal(td_str(d, "messages.0.role"), "system");
    assert_string_equal(td_str(d, "messages.0.content"),
                        "You are Claude Code, Anthropic's official CLI for Claude.\nRéponds toujours poliment. 日本語も話せます。");
    assert_true(td_bool(d, "has_system_prompt"));
    assert_string_equal(td_str(d, "messages.1.content"), "Look at this diagram and tell me what's wrong 🤔");
    assert_int_equal(td_int(d, "messages.1.content_length"), 47);
    assert_string_equal(td_str(d, "messages.2.content"), "Both images, please.");
    assert_int_equal(td_int(d, "messages.2.image_count"), 2);
    /* assistant: text kept, thinking block not, tool_use as tool_calls */
    assert_string_equal(td_str(d, "messages.3.role"), "assistant");
    assert_string_equal(td_str(d, "messages.3.content"), "Let me read the config first.");
    assert_string_equal(td_str(d, "messages.3.tool_calls.0.id"), "toolu_01A09q90qw90lq917835lq9");
    assert_string_equal(td_str(d, "messages.3.tool_calls.0.name"), "Read");
    assert_string_equal(td_str(d, "messages.3.tool_calls.0.arguments.file_path"), "/home/dev/app/config.yaml");
    /* each tool_result becomes a tool message, ahead of the turn's text */
    assert_string_equal(td_str(d, "messages.4.role"), "tool");
    assert_string_equal(td_str(d, "messages.4.tool_call_id"), "toolu_01A09q90qw90lq917835lq9");
    assert_string_equal(td_str(d, "messages.4.content"), "port: 8080\nhost: café.local");
    assert_string_equal(td_str(d, "messages.5.tool_call_id"), "toolu_01B");
    assert_string_equal(td_str(d, "messages.5.content"), "Permission denied");
    assert_true(td_bool(d, "messages.5.is_error"));
    assert_string_equal(td_str(d, "messages.6.role"), "user");
    assert_string_equal(td_str(d, "messages.6.content"), "Continue, por favor.");

    assert_int_equal(td_int(d, "tools_count"), 4);
    assert_string_equal(td_str(d, "tools.0.type"), "function");
    assert_string_equal(td_str(d, "tools.0.description"), "Reads a file from the local filesystem.");
    assert_string_equal(td_str(d, "tools.2.type"), "computer_use");
    assert_string_equal(td_str(d, "tools.3.name"), "web_search");
    assert_string_equal(td_str(d, "tools.3.type"), "other");
    assert_string_equal(td_str(d, "tool_choice"), "required");
    assert_int_equal(td_int(d, "parameters.max_tokens"), 32000);
    assert_true(td_num(d, "parameters.temperature") == 1.0);
    assert_string_equal(td_str(d, "parameters.stop.0"), "</answer>");
    assert_string_equal(td_str(d, "parameters.thinking"), "enabled");
    assert_int_equal(td_int(d, "parameters.thinking_budget_tokens"), 10000);
    assert_int_equal(td_int(d, "image_count"), 2);
    td_check(&x, ANT_KEY);
    td_exchange_free(&x);
}

static void test_messages_stream(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/messages", ANT_HDRS, "anthropic/messages_request.json", 200, SSE_HDRS,
                           "anthropic/messages_stream.sse", 10);
    json_t *d = x.resp_data;
    assert_true(td_bool(d, "success"));
    assert_string_equal(td_str(d, "provider_request_id"), "req_018EeWyXxfu5pfWkrYcMdjWG");
    assert_string_equal(td_str(d, "response_id"), "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_string_equal(td_str(d, "choices.0.message.content"), "Le fichier est correct — mais l'hôte « café.local » 日本 🚀");
    assert_int_equal(td_int(d, "choices.0.message.content_length"), 56);
    assert_string_equal(td_str(d, "choices.0.message.thinking"), "The port looks fine; check the host.");
    assert_int_equal(td_int(d, "tool_calls_count"), 2);
    assert_string_equal(td_str(d, "tool_calls.0.id"), "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    assert_string_equal(td_str(d, "tool_calls.0.name"), "Bash");
    assert_string_equal(td_str(d, "tool_calls.0.arguments.command"), "ping -c1 café.local");
    assert_int_equal(td_int(d, "tool_calls.0.arguments.timeout"), 5000);
    /* no input_json_delta at all: the block's own input {} */
    assert_string_equal(td_str(d, "tool_calls.1.name"), "ListFiles");
    assert_true(json_is_object(td_get(d, "tool_calls.1.arguments")));
    assert_int_equal(json_object_size(td_get(d, "tool_calls.1.arguments")), 0);
    assert_string_equal(td_str(d, "finish_reason"), "tool_calls");
    /* prompt = input + cache reads + cache writes */
    assert_int_equal(td_int(d, "usage.prompt_tokens"), 25 + 14000 + 1200);
    assert_int_equal(td_int(d, "usage.cached_tokens"), 14000);
    assert_int_equal(td_int(d, "usage.completion_tokens"), 89);
    assert_int_equal(td_int(d, "usage.total_tokens"), 25 + 14000 + 1200 + 89);
    /* first token: the first thinking_delta, event 3 (after start, block start, ping) */
    assert_int_equal(td_int(d, "time_to_first_token_ms"), 330);
    td_check(&x, ANT_KEY);
    td_exchange_free(&x);
}

static void test_messages_whole(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/messages", ANT_HDRS, "anthropic/messages_request_simple.json", 200, JSON_HDRS,
                           "anthropic/messages_response.json", 0);
    json_t *d = x.req_data;
    assert_false(td_bool(d, "streaming"));
    assert_string_equal(td_str(d, "messages.0.content"), "Be brief.");
    assert_string_equal(td_str(d, "model.family"), "claude-3.5");

    d = x.resp_data;
    assert_string_equal(td_str(d, "model.id"), "claude-3-7-sonnet-20250219");
    assert_string_equal(td_str(d, "model.family"), "claude-3.7");
    assert_string_equal(td_str(d, "choices.0.message.content"), "Vagues sur la grève —\n潮の音\nthe sea breathes 🌊");
    assert_string_equal(td_str(d, "choices.0.message.thinking"), "The user wants a haiku about the sea.");
    assert_string_equal(td_str(d, "tool_calls.0.name"), "save_poem");
    assert_int_equal(td_int(d, "tool_calls.0.arguments.lines"), 3);
    assert_string_equal(td_str(d, "finish_reason"), "tool_calls");
    assert_int_equal(td_int(d, "usage.prompt_tokens"), 2095);
    assert_int_equal(td_int(d, "usage.total_tokens"), 2598);
    td_check(&x, ANT_KEY);
    td_exchange_free(&x);
}

static void test_errors(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1/messages", ANT_HDRS, "anthropic/messages_request_simple.json", 529, JSON_HDRS,
                           "anthropic/error_overloaded.json", 0);
    json_t *d = x.resp_data;
    assert_int_equal(td_int(d, "status_code"), 529);
    assert_false(td_bool(d, "success"));
    assert_string_equal(td_str(d, "error.type"), "overloaded_error");
    assert_string_equal(td_str(d, "error.message"), "Overloaded");
    assert_string_equal(td_str(d, "error.code"), "529");
    td_check(&x, ANT_KEY);
    td_exchange_free(&x);

    x = td_run("/v1/messages", ANT_HDRS, "anthropic/messages_request_simple.json", 400, JSON_HDRS,
               "anthropic/error_400.json", 0);
    d = x.resp_data;
    assert_string_equal(td_str(d, "error.type"), "invalid_request_error");
    assert_non_null(strstr(td_str(d, "error.message"), "tool_result"));
    td_check(&x, ANT_KEY);
    td_exchange_free(&x);

    /* HTTP 200, then an error event mid-stream */
    x = td_run("/v1/messages", ANT_HDRS, "anthropic/messages_request_simple.json", 200, SSE_HDRS,
               "anthropic/stream_error.sse", 10);
    d = x.resp_data;
    assert_int_equal(td_int(d, "status_code"), 200);
    assert_false(td_bool(d, "success"));
    assert_string_equal(td_str(d, "error.type"), "overloaded_error");
    assert_string_equal(td_str(d, "choices.0.message.content"), "Partial answ");
    assert_string_equal(td_str(d, "finish_reason"), "error");
    assert_string_equal(td_str(d, "model.id"), "claude-opus-4-1-20250805");
    td_check(&x, ANT_KEY);
    td_exchange_free(&x);
}

static void test_vertex_raw_predict(void **state)
{
    (void)state;
    const char *token = "ya29.a0AfB_byTESTtokenVertexAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char hdrs[256];
    snprintf(hdrs, sizeof hdrs, "Host: us-east5-aiplatform.googleapis.com\nAuthorization: Bearer %s\n", token);
    td_exchange x = td_run("/v1/projects/my-proj-123/locations/us-east5/publishers/anthropic/models/"
                           "claude-3-5-sonnet-v2@20241022:streamRawPredict",
                           hdrs, "anthropic/messages_request_simple.json", 200, SSE_HDRS,
                           "anthropic/messages_stream.sse", 10);
    json_t *d = x.req_data;
    assert_int_equal(x.call->api, AI_API_ANTHROPIC_MESSAGES);
    assert_string_equal(td_str(d, "provider.name"), "google");
    assert_string_equal(td_str(d, "provider.real_name"), "google_vertex");
    assert_string_equal(td_str(d, "provider.region"), "us-east5");
    assert_string_equal(td_str(d, "provider.project_id"), "my-proj-123");
    /* the path names the model on Vertex (the body's model is ignored) */
    assert_string_equal(td_str(d, "model.id"), "claude-3-5-sonnet-v2@20241022");
    assert_true(td_bool(d, "streaming"));
    assert_string_equal(td_str(d, "auth.type"), "oauth");
    assert_string_equal(td_str(x.resp_data, "tool_calls.0.name"), "Bash");
    td_check(&x, token);
    td_exchange_free(&x);
}

static void test_compatible_unknown_host(void **state)
{
    (void)state;
    td_exchange x = td_run("/anthropic/v1/messages",
                           "Host: llm-gateway.internal.example:8443\nx-api-key: " ANT_KEY "\nanthropic-version: 2023-06-01\n",
                           "anthropic/messages_request_simple.json", 0, NULL, NULL, 0);
    json_t *d = x.req_data;
    assert_string_equal(td_str(d, "provider.name"), "other");
    assert_string_equal(td_str(d, "provider.real_name"), "llm-gateway.internal.example");
    assert_string_equal(td_str(d, "provider.endpoint"), "https://llm-gateway.internal.example:8443/anthropic/v1/messages");
    assert_string_equal(x.call->detection, "payload_inspection");
    td_check(&x, ANT_KEY);
    td_exchange_free(&x);

    /* no model in the body: the anthropic-version header is the evidence */
    const char *body = "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    http_msg *req = td_request("/v1/messages", "Host: 10.0.0.7:8080\nanthropic-version: 2023-06-01\n", body, strlen(body));
    json_t *data;
    ai_call *c = decode_request(req, &data);
    assert_non_null(c);
    assert_string_equal(c->detection, "header_fingerprint");
    assert_string_equal(td_str(data, "auth.type"), "none");
    json_decref(data);
    ai_call_free(c);
    http_msg_free(req);

    /* neither: not an AI call */
    req = td_request("/v1/messages", "Host: chat.example.com\n", body, strlen(body));
    assert_null(decode_request(req, &data));
    assert_null(data);
    http_msg_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_request),
        cmocka_unit_test(test_messages_stream),
        cmocka_unit_test(test_messages_whole),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_vertex_raw_predict),
        cmocka_unit_test(test_compatible_unknown_host),
    };
    return cmocka_run_group_tests_name("decode_anthropic", tests, NULL, NULL);
}

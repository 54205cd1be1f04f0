/* test_decode_ollama.c: tests for src/decode/ollama.c: /api/chat with
 * images and tool calls, NDJSON streams (default streaming, done line with
 * token counts), thinking, /api/generate, /api/embed, error bodies, and
 * Ollama / LM Studio found by port or by payload. */
#include "test_decode_helpers.h"

#define OLLAMA_HOST "Host: localhost:11434\nContent-Type: application/json\nUser-Agent: ollama-python/0.4.4\n"
#define NDJSON_HDRS "Content-Type: application/x-ndjson\n"
#define JSON_HDRS "Content-Type: application/json; charset=utf-8\n"

static void test_chat_stream(void **state)
{
    (void)state;
    td_exchange x = td_run("/api/chat", OLLAMA_HOST, "ollama/chat_request.json", 200, NDJSON_HDRS,
                           "ollama/chat_stream.ndjson", 25);
    json_t *d = x.req_data;
    assert_int_equal(x.call->api, AI_API_OLLAMA_CHAT);
    assert_string_equal(td_str(d, "provider.name"), "ollama");
    assert_string_equal(td_str(d, "provider.endpoint"), "https://localhost:11434/api/chat");
    assert_string_equal(td_str(d, "model.id"), "llama3.3:70b");
    assert_string_equal(td_str(d, "model.family"), "llama");
    assert_string_equal(td_str(d, "auth.type"), "none");
    assert_true(td_bool(d, "streaming")); /* Ollama streams unless told not to */
    assert_int_equal(td_int(d, "messages_count"), 5);
    assert_int_equal(td_int(d, "messages.1.image_count"), 1);
    assert_string_equal(td_str(d, "messages.1.content"), "Qu'y a-t-il sur cette image ? 🖼");
    assert_string_equal(td_str(d, "messages.2.tool_calls.0.name"), "get_current_weather");
    assert_string_equal(td_str(d, "messages.2.tool_calls.0.arguments.location"), "Paris");
    assert_string_equal(td_str(d, "messages.3.role"), "tool");
    assert_string_equal(td_str(d, "messages.3.name"), "get_current_weather");
    assert_int_equal(td_int(d, "tools_count"), 1);
    assert_true(td_num(d, "parameters.temperature") == 0.0);
    assert_int_equal(td_int(d, "parameters.max_tokens"), 512);
    assert_string_equal(td_str(d, "parameters.stop.0"), "<|eot_id|>");
    assert_int_equal(td_int(d, "parameters.seed"), 42);

    d = x.resp_data;
    assert_string_equal(td_str(d, "choices.0.message.content"), "Demain à Paris : 18°C, nuageux ☁️ 明日");
    assert_string_equal(td_str(d, "finish_reason"), "stop");
    assert_int_equal(td_int(d, "usage.prompt_tokens"), 326);
    assert_int_equal(td_int(d, "usage.completion_tokens"), 14);
    assert_int_equal(td_int(d, "usage.total_tokens"), 340);
    assert_int_equal(td_int(d, "time_to_first_token_ms"), 325); /* line 1 */
    td_check(&x, NULL);
    td_exchange_free(&x);

    x = td_run("/api/chat", OLLAMA_HOST, "ollama/chat_request.json", 200, NDJSON_HDRS,
               "ollama/chat_tools_stream.ndjson", 25);
    d = x.resp_data;
    assert_string_equal(td_str(d, "model.id"), "qwen3:8b");
    assert_string_equal(td_str(d, "choices.0.message.thinking"), "The user wants the weather.");
    assert_string_equal(td_str(d, "tool_calls.0.name"), "get_current_weather");
    assert_string_equal(td_str(d, "tool_calls.0.arguments.location"), "Tōkyō");
    assert_string_equal(td_str(d, "finish_reason"), "tool_calls");
    assert_int_equal(td_int(d, "time_to_first_token_ms"), 300);
    td_check(&x, NULL);
    td_exchange_free(&x);
}

static void test_generate_and_embed(void **state)
{
    (void)state;
    td_exchange x = td_run("/api/generate", OLLAMA_HOST, "ollama/generate_request.json", 200, JSON_HDRS,
                           "ollama/generate_response.json", 0);
    json_t *d = x.req_data;
    assert_int_equal(x.call->api, AI_API_OLLAMA_GENERATE);
    assert_string_equal(td_str(d, "request_type"), "completion");
    assert_false(td_bool(d, "streaming"));
    assert_string_equal(td_str(d, "messages.0.role"), "system");
    assert_string_equal(td_str(d, "messages.1.content"), "Why is the sky blue? Réponse courte.");
    assert_string_equal(td_str(d, "parameters.thinking"), "enabled");
    assert_int_equal(td_int(d, "parameters.max_tokens"), 256);
    assert_string_equal(td_str(d, "model.family"), "deepseek");
    d = x.resp_data;
    assert_string_equal(td_str(d, "choices.0.message.content"), "Rayleigh scattering: blue light scatters more. 🌌");
    assert_string_equal(td_str(d, "choices.0.message.thinking"), "Short physics answer.");
    assert_int_equal(td_int(d, "usage.completion_tokens"), 237);
    assert_null(td_get(d, "time_to_first_token_ms"));
    td_check(&x, NULL);
    td_exchange_free(&x);

    x = td_run("/api/embed", OLLAMA_HOST, "ollama/embed_request.json", 200, JSON_HDRS, "ollama/embed_response.json", 0);
    assert_string_equal(td_str(x.req_data, "request_type"), "embedding");
    assert_int_equal(td_int(x.req_data, "input_count"), 2);
    assert_int_equal(td_int(x.resp_data, "embeddings_count"), 2);
    assert_int_equal(td_int(x.resp_data, "dimensions"), 3);
    assert_int_equal(td_int(x.resp_data, "usage.prompt_tokens"), 8);
    td_check(&x, NULL);
    td_exchange_free(&x);
}

static void test_error(void **state)
{
    (void)state;
    td_exchange x = td_run("/api/chat", OLLAMA_HOST, "ollama/chat_request.json", 404, JSON_HDRS,
                           "ollama/error_404.json", 0);
    json_t *d = x.resp_data;
    assert_int_equal(td_int(d, "status_code"), 404);
    assert_false(td_bool(d, "success"));
    assert_string_equal(td_str(d, "error.message"), "model \"llama9:70b\" not found, try pulling it first");
    assert_string_equal(td_str(d, "error.code"), "404");
    td_check(&x, NULL);
    td_exchange_free(&x);
}

static void test_found_by_port_or_payload(void **state)
{
    (void)state;
    /* a remote Ollama: unknown host, the /api/chat body shape decides */
    td_exchange x = td_run("/api/chat", "Host: gpu-box.lan:11434\n", "ollama/chat_request.json", 0, NULL, NULL, 0);
    assert_string_equal(td_str(x.req_data, "provider.name"), "ollama");
    assert_string_equal(x.call->detection, "payload_inspection");
    td_check(&x, NULL);
    td_exchange_free(&x);

    /* LM Studio's OpenAI-compatible server on its port */
    x = td_run("/v1/chat/completions", "Host: 127.0.0.1:1234\nAuthorization: Bearer lm-studio\n",
               "openai/chat_request.json", 200, "Content-Type: text/event-stream\n", "openai/chat_stream_text.sse", 5);
    assert_int_equal(x.call->api, AI_API_OPENAI_CHAT);
    assert_string_equal(td_str(x.req_data, "provider.name"), "lmstudio");
    assert_string_equal(td_str(x.req_data, "provider.endpoint"), "https://127.0.0.1:1234/v1/chat/completions");
    assert_string_equal(x.call->detection, "known_endpoint");
    /* a 9-character key: at most a quarter of it is shown */
    assert_string_equal(td_str(x.req_data, "auth.key_prefix"), "lm");
    assert_string_equal(td_str(x.resp_data, "choices.0.message.content"), "Café ☕ 日本語 😀!");
    td_check(&x, "lm-studio");
    td_exchange_free(&x);

    /* /api/chat without the Ollama body shape is not an AI call */
    const char *body = "{\"text\":\"hello\"}";
    http_msg *req = td_request("/api/chat", "Host: chat.example.org\n", body, strlen(body));
    json_t *d;
    assert_null(decode_request(req, &d));
    http_msg_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_stream),
        cmocka_unit_test(test_generate_and_embed),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_found_by_port_or_payload),
    };
    return cmocka_run_group_tests_name("decode_ollama", tests, NULL, NULL);
}

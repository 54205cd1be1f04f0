/* test_decode_gemini.c: tests for src/decode/gemini.c: model from the path,
 * ?key= stripped from the endpoint, contents/parts with images, function
 * calls and responses, tools and toolConfig, generationConfig (camelCase and
 * snake_case), SSE (?alt=sse) and JSON-array streams, thoughts, usage,
 * finish reasons, safety blocks, errors, embeddings, Vertex AI. */
#include "test_decode_helpers.h"

#define GEM_KEY "AIzaSyTESTkeyD3c0d3Rxxxxxxxxxxxxxxxxxxx"
#define GEM_HOST "Host: generativelanguage.googleapis.com\nContent-Type: application/json\n"
#define SSE_HDRS "Content-Type: text/event-stream\n"
#define JSON_HDRS "Content-Type: application/json; charset=UTF-8\n"

static void test_request_and_sse_stream(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=" GEM_KEY, GEM_HOST,
                           "gemini/generate_request.json", 200, SSE_HDRS, "gemini/stream_alt_sse.sse", 10);
    json_t *d = x.req_data;
    assert_int_equal(x.call->api, AI_API_GEMINI_GENERATE);
    assert_string_equal(td_str(d, "provider.name"), "google");
    /* the key in the URL is gone; alt=sse stays */
    assert_string_equal(td_str(d, "provider.endpoint"),
                        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    assert_string_equal(td_str(d, "auth.type"), "api_key");
    assert_string_equal(td_str(d, "auth.key_prefix"), "AIza");
    assert_true(strncmp(td_str(d, "auth.key_hash"), "sha256:", 7) == 0);
    assert_string_equal(td_str(d, "model.id"), "gemini-2.5-flash");
    assert_string_equal(td_str(d, "model.family"), "gemini-2.5");
    assert_true(td_bool(d, "streaming"));

    assert_int_equal(td_int(d, "messages_count"), 5);
    assert_string_equal(td_str(d, "messages.0.role"), "system");
    assert_string_equal(td_str(d, "messages.0.content"), "You are a travel assistant. Réponds en français.");
    assert_string_equal(td_str(d, "messages.1.content"), "Quel temps fait-il à Zürich ? 🌦");
    assert_int_equal(td_int(d, "messages.1.image_count"), 1);
    assert_string_equal(td_str(d, "messages.2.role"), "assistant"); /* "model" */
    assert_string_equal(td_str(d, "messages.2.tool_calls.0.name"), "get_weather");
    assert_string_equal(td_str(d, "messages.2.tool_calls.0.arguments.city"), "Zürich");
    assert_string_equal(td_str(d, "messages.3.role"), "tool");
    assert_string_equal(td_str(d, "messages.3.name"), "get_weather");
    assert_string_equal(td_str(d, "messages.3.content"), "{\"temperature\":18,\"sky\":\"nuageux\"}");
    assert_string_equal(td_str(d, "messages.4.content"), "Et à 東京 ?");
    assert_null(td_get(d, "messages.4.image_count")); /* a PDF is not an image */
    assert_int_equal(td_int(d, "image_count"), 1);

    assert_int_equal(td_int(d, "tools_count"), 4);
    assert_string_equal(td_str(d, "tools.0.name"), "get_weather");
    assert_string_equal(td_str(d, "tools.0.description"), "Get the current weather for a city");
    assert_string_equal(td_str(d, "tools.2.name"), "googleSearch");
    assert_string_equal(td_str(d, "tools.2.type"), "other");
    assert_string_equal(td_str(d, "tools.3.type"), "code_interpreter");
    assert_string_equal(td_str(d, "tool_choice"), "specific");
    assert_string_equal(td_str(d, "tool_choice_name"), "get_weather");
    assert_true(td_num(d, "parameters.temperature") > 0.39 && td_num(d, "parameters.temperature") < 0.41);
    assert_true(td_num(d, "parameters.top_p") > 0.94);
    assert_int_equal(td_int(d, "parameters.top_k"), 40);
    assert_int_equal(td_int(d, "parameters.max_tokens"), 2048);
    assert_string_equal(td_str(d, "parameters.stop.0"), "FIN");
    assert_int_equal(td_int(d, "parameters.thinking_budget_tokens"), 1024);

    d = x.resp_data;
    assert_string_equal(td_str(d, "choices.0.message.content"), "À 東京, il fait 22°C et ensoleillé ☀️.");
    assert_string_equal(td_str(d, "choices.0.message.thinking"), "Let me think about Tokyo weather.");
    assert_string_equal(td_str(d, "finish_reason"), "stop");
    assert_string_equal(td_str(d, "model.id"), "gemini-2.5-flash");
    assert_string_equal(td_str(d, "provider_request_id"), "mM9haOiBI4ay1dkPkqCz-AE");
    assert_int_equal(td_int(d, "usage.prompt_tokens"), 1250);
    assert_int_equal(td_int(d, "usage.completion_tokens"), 17 + 95); /* thoughts included */
    assert_int_equal(td_int(d, "usage.reasoning_tokens"), 95);
    assert_int_equal(td_int(d, "usage.cached_tokens"), 1024);
    assert_int_equal(td_int(d, "usage.total_tokens"), 1362);
    assert_int_equal(td_int(d, "time_to_first_token_ms"), 300);
    td_check(&x, GEM_KEY);
    td_exchange_free(&x);
}

static void test_json_array_stream(void **state)
{
    (void)state;
    size_t len;
    char *body = td_load("gemini/generate_request.json", &len);
    http_msg *req = td_request("/v1beta/models/gemini-2.0-flash-001:streamGenerateContent",
                               GEM_HOST "x-goog-api-key: " GEM_KEY "\n", body, len);
    free(body);
    json_t *rq;
    ai_call *c = decode_request(req, &rq);
    assert_non_null(c);
    assert_string_equal(td_str(rq, "auth.key_prefix"), "AIza");

    body = td_load("gemini/stream_array.json", &len);
    http_msg *resp = td_response(200, JSON_HDRS, body, len);
    /* second element arrives 40 ms after the first */
    td_response_marks(resp, "\r\n,\r\n", 40000000u);
    json_t *d = decode_response(c, req, resp);
    assert_string_equal(td_str(d, "choices.0.message.content"), "Je vérifie");
    assert_int_equal(td_int(d, "tool_calls_count"), 2);
    assert_string_equal(td_str(d, "tool_calls.0.name"), "get_weather");
    assert_string_equal(td_str(d, "tool_calls.0.arguments.city"), "東京");
    assert_string_equal(td_str(d, "tool_calls.1.name"), "book_hotel");
    assert_int_equal(td_int(d, "tool_calls.1.arguments.nights"), 2);
    /* Gemini says STOP when it calls functions */
    assert_string_equal(td_str(d, "finish_reason"), "tool_calls");
    assert_int_equal(td_int(d, "usage.total_tokens"), 334);
    assert_int_equal(td_int(d, "usage.completion_tokens"), 24);
    assert_int_equal(td_int(d, "time_to_first_token_ms"), 300);
    td_exchange x = {c, rq, d};
    td_check(&x, GEM_KEY);

    /* the same array cut in the middle of its second element: the first
     * element is still decoded */
    json_decref(d);
    resp->body_len = strstr(body, "book_hotel") - body;
    resp->flags |= HTTP_MSG_TRUNCATED;
    d = decode_response(c, req, resp);
    assert_string_equal(td_str(d, "choices.0.message.content"), "Je vérifie");
    assert_null(td_get(d, "tool_calls"));
    assert_true(td_bool(d, "body_incomplete"));
    x.resp_data = d;
    td_check(&x, GEM_KEY);
    free(body);
    td_exchange_free(&x);
    http_msg_free(req);
    http_msg_free(resp);
}

static void test_whole_responses(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1beta/models/gemini-1.5-pro:generateContent", GEM_HOST "x-goog-api-key: " GEM_KEY "\n",
                           "gemini/generate_request.json", 200, JSON_HDRS, "gemini/generate_response.json", 0);
    json_t *d = x.resp_data;
    assert_false(td_bool(x.req_data, "streaming"));
    assert_string_equal(td_str(d, "choices.0.message.content"), "Zürich: 18 °C, nuageux. ☁️");
    assert_string_equal(td_str(d, "finish_reason"), "length");
    assert_string_equal(td_str(d, "model.id"), "gemini-1.5-pro-002");
    assert_string_equal(td_str(d, "model.family"), "gemini-1.5");
    assert_int_equal(td_int(d, "usage.completion_tokens"), 11);
    td_check(&x, GEM_KEY);
    td_exchange_free(&x);

    x = td_run("/v1beta/models/gemini-1.5-flash:generateContent", GEM_HOST, "gemini/generate_request.json", 200,
               JSON_HDRS, "gemini/response_safety.json", 0);
    assert_string_equal(td_str(x.resp_data, "finish_reason"), "content_filter");
    assert_string_equal(td_str(x.resp_data, "choices.0.message.content"), "");
    assert_string_equal(td_str(x.req_data, "auth.type"), "none");
    td_check(&x, NULL);
    td_exchange_free(&x);

    x = td_run("/v1beta/models/gemini-2.0-flash:generateContent", GEM_HOST, "gemini/generate_request.json", 200,
               JSON_HDRS, "gemini/prompt_blocked.json", 0);
    assert_string_equal(td_str(x.resp_data, "finish_reason"), "content_filter");
    assert_null(td_get(x.resp_data, "choices"));
    td_check(&x, NULL);
    td_exchange_free(&x);
}

static void test_errors(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1beta/models/gemini-2.5-pro:generateContent?key=" GEM_KEY, GEM_HOST,
                           "gemini/generate_request.json", 400, JSON_HDRS, "gemini/error_400.json", 0);
    json_t *d = x.resp_data;
    assert_false(td_bool(d, "success"));
    assert_string_equal(td_str(d, "error.type"), "INVALID_ARGUMENT");
    assert_string_equal(td_str(d, "error.code"), "400");
    assert_string_equal(td_str(d, "error.message"), "API key not valid. Please pass a valid API key.");
    td_check(&x, GEM_KEY);
    td_exchange_free(&x);

    x = td_run("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", GEM_HOST, "gemini/generate_request.json",
               429, JSON_HDRS, "gemini/error_429.json", 0);
    assert_string_equal(td_str(x.resp_data, "error.type"), "RESOURCE_EXHAUSTED");
    assert_string_equal(td_str(x.resp_data, "error.code"), "429");
    td_check(&x, NULL);
    td_exchange_free(&x);
}

static void test_embed_and_vertex(void **state)
{
    (void)state;
    td_exchange x = td_run("/v1beta/models/text-embedding-004:embedContent", GEM_HOST "x-goog-api-key: " GEM_KEY "\n",
                           "gemini/embed_request.json", 200, JSON_HDRS, "gemini/embed_response.json", 0);
    assert_int_equal(x.call->api, AI_API_GEMINI_EMBED);
    assert_string_equal(td_str(x.req_data, "request_type"), "embedding");
    assert_string_equal(td_str(x.req_data, "model.id"), "text-embedding-004");
    assert_int_equal(td_int(x.req_data, "input_count"), 1);
    assert_int_equal(td_int(x.resp_data, "embeddings_count"), 1);
    assert_int_equal(td_int(x.resp_data, "dimensions"), 5);
    td_check(&x, GEM_KEY);
    td_exchange_free(&x);

    /* Vertex AI, snake_case body */
    const char *body = "{\"system_instruction\":{\"role\":\"user\",\"parts\":{\"text\":\"Sois bref.\"}},"
                       "\"contents\":{\"role\":\"user\",\"parts\":[{\"text\":\"Bonjour\"}]},"
                       "\"generation_config\":{\"max_output_tokens\":256,\"temperature\":0}}";
    http_msg *req = td_request("/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/"
                               "gemini-2.0-flash-001:generateContent",
                               "Host: europe-west4-aiplatform.googleapis.com\n", body, strlen(body));
    json_t *d;
    ai_call *c = decode_request(req, &d);
    assert_non_null(c);
    assert_string_equal(td_str(d, "provider.name"), "google");
    assert_string_equal(td_str(d, "provider.region"), "europe-west4");
    assert_string_equal(td_str(d, "provider.project_id"), "acme-prod");
    assert_string_equal(td_str(d, "model.id"), "gemini-2.0-flash-001");
    assert_string_equal(td_str(d, "messages.0.role"), "system"); /* whatever role it claims */
    assert_string_equal(td_str(d, "messages.0.content"), "Sois bref.");
    assert_string_equal(td_str(d, "messages.1.content"), "Bonjour");
    assert_int_equal(td_int(d, "parameters.max_tokens"), 256);
    assert_true(td_num(d, "parameters.temperature") == 0.0);
    td_exchange y = {c, d, NULL};
    td_check(&y, NULL);
    td_exchange_free(&y);
    http_msg_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_and_sse_stream),
        cmocka_unit_test(test_json_array_stream),
        cmocka_unit_test(test_whole_responses),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_embed_and_vertex),
    };
    return cmocka_run_group_tests_name("decode_gemini", tests, NULL, NULL);
}

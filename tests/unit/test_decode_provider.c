/* test_decode_provider.c: tests for src/decode/provider.c and the provider
 * detection in decode_request(): the built-in host table (exact names,
 * host:port for local servers, glob patterns), case/port/trailing-dot
 * normalisation, OISP bundle loading (v1 domain_index and v2 domain_lookup
 * from ../shared/oisp-spec/bundles, plus domain_patterns), bad bundles, the
 * path + body fallback for unknown hosts, generic calls on known hosts, and
 * what must not be taken for an AI call. */
#include "test_decode_helpers.h"

#include "decode/decode_priv.h"
#include "decode/provider.h"
#include <openssl/sha.h>

#define BUNDLE_DIR "../../../shared/oisp-spec/bundles/"

static void expect_host(const char *host, const char *name, const char *real)
{
    provider_info pi;
    int found = provider_lookup(host, strlen(host), &pi);
    if (!name) {
        if (found)
            fail_msg("%s should be unknown, got %s/%s", host, pi.name, pi.real);
        return;
    }
    if (!found)
        fail_msg("%s not found", host);
    assert_string_equal(pi.name, name);
    assert_string_equal(pi.real, real);
}

static void test_builtin_table(void **state)
{
    (void)state;
    static const struct {
        const char *host, *name, *real;
    } cases[] = {
        {"api.openai.com", "openai", "openai"},
        {"api.anthropic.com", "anthropic", "anthropic"},
        {"generativelanguage.googleapis.com", "google", "google"},
        {"us-central1-aiplatform.googleapis.com", "google", "google_vertex"},
        {"europe-west4-aiplatform.googleapis.com", "google", "google_vertex"},
        {"contoso.openai.azure.com", "azure_openai", "azure_openai"},
        {"my-res.cognitiveservices.azure.com", "azure_openai", "azure_openai"},
        {"bedrock-runtime.us-east-1.amazonaws.com", "aws_bedrock", "aws_bedrock"},
        {"bedrock-runtime.ap-northeast-1.amazonaws.com", "aws_bedrock", "aws_bedrock"},
        {"api.mistral.ai", "mistral", "mistral"},
        {"api.groq.com", "groq", "groq"},
        {"api.cohere.ai", "cohere", "cohere"},
        {"api.cohere.com", "cohere", "cohere"},
        {"api.deepseek.com", "other", "deepseek"},
        {"api.together.xyz", "together", "together"},
        {"api.together.ai", "together", "together"},
        {"api.fireworks.ai", "fireworks", "fireworks"},
        {"openrouter.ai", "other", "openrouter"},
        {"api.x.ai", "other", "xai"},
        {"api.perplexity.ai", "other", "perplexity"},
        {"api-inference.huggingface.co", "huggingface", "huggingface"},
        {"router.huggingface.co", "huggingface", "huggingface"},
        {"api.replicate.com", "replicate", "replicate"},
        {"localhost:11434", "ollama", "ollama"},
        {"127.0.0.1:11434", "ollama", "ollama"},
        {"localhost:1234", "lmstudio", "lmstudio"},
        {"127.0.0.1:1234", "lmstudio", "lmstudio"},
        /* normalisation: case, default port, trailing dot */
        {"API.OpenAI.COM", "openai", "openai"},
        {"api.openai.com:443", "openai", "openai"},
        {"api.anthropic.com.", "anthropic", "anthropic"},
        {"api.anthropic.com.:443", "anthropic", "anthropic"},
        {"Contoso.OpenAI.Azure.com:443", "azure_openai", "azure_openai"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_host(cases[i].host, cases[i].name, cases[i].real);

    static const char *const unknown[] = {
        "localhost", "localhost:8080", "127.0.0.1:11435", "example.com", "api.openai.com.evil.example",
        "evil-api.openai.com", "openai.azure.com", "bedrock-runtime.amazonaws.com.evil.io", "", ":443",
        "[::1]:8080",
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        expect_host(unknown[i], NULL, NULL);
    provider_info pi;
    assert_int_equal(provider_lookup(NULL, 0, &pi), 0);
    char longhost[600];
    memset(longhost, 'a', sizeof longhost);
    assert_int_equal(provider_lookup(longhost, sizeof longhost, &pi), 0);
    assert_string_equal(provider_oisp_name("google_vertex"), "google");
    assert_string_equal(provider_oisp_name("togetherai"), "together");
    assert_string_equal(provider_oisp_name("moonshotai"), "other");
    assert_string_equal(provider_oisp_name("vllm"), "vllm");
}

static void test_bundles(void **state)
{
    (void)state;
    char err[256];
    expect_host("bedrock.us-east-1.amazonaws.com", NULL, NULL);
    expect_host("api.cerebras.ai", NULL, NULL);

    int n = provider_bundle_load(BUNDLE_DIR "bundle-v1.json", err, sizeof err);
    if (n < 0)
        fail_msg("v1: %s", err);
    assert_true(n >= 16 + 7); /* 16 domain_index entries + 7 patterns */
    /* the v1 "bedrock.*" control-plane pattern (regex) */
    expect_host("bedrock.us-east-1.amazonaws.com", "aws_bedrock", "aws_bedrock");
    /* "*.local:11434" is a v1 provider domain but not in domain_patterns */
    expect_host("api.openai.com", "openai", "openai"); /* built-in still wins */

    n = provider_bundle_load(BUNDLE_DIR "bundle-v2.json", err, sizeof err);
    if (n < 0)
        fail_msg("v2: %s", err);
    assert_true(n >= 62 + 3);
    expect_host("api.cerebras.ai", "other", "cerebras");
    expect_host("api.moonshot.ai", "other", "moonshotai");
    expect_host("dashscope.aliyuncs.com", "other", "alibaba_cn");
    expect_host("API.Cerebras.AI:443", "other", "cerebras");
    expect_host("models.github.ai", "other", "github_models");
    /* built-in names keep their mapping, whatever the bundle says */
    expect_host("us-central1-aiplatform.googleapis.com", "google", "google_vertex");
    expect_host("ollama.com", "ollama", "ollama");

    /* a call to a bundle host is a known endpoint */
    const char *req_body = "{\"model\":\"llama-3.3-70b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    http_msg *req = td_request("/v1/chat/completions", "Host: api.cerebras.ai\nAuthorization: Bearer csk-TESTcerebraskey00000000000000\n",
                               req_body, strlen(req_body));
    json_t *d;
    ai_call *c = decode_request(req, &d);
    assert_non_null(c);
    assert_string_equal(c->provider, "other");
    assert_string_equal(c->provider_real, "cerebras");
    assert_string_equal(c->detection, "known_endpoint");
    assert_string_equal(td_str(d, "provider.real_name"), "cerebras");
    assert_string_equal(td_str(d, "auth.key_prefix"), "csk-");
    td_exchange x = {c, d, NULL};
    td_check(&x, "csk-TESTcerebraskey00000000000000");
    td_exchange_free(&x);

    provider_bundle_unload();
    expect_host("api.cerebras.ai", NULL, NULL);
    /* without the bundle: found by path + body, named after the host */
    c = decode_request(req, &d);
    assert_non_null(c);
    assert_string_equal(c->detection, "payload_inspection");
    assert_string_equal(c->provider_real, "api.cerebras.ai");
    json_decref(d);
    ai_call_free(c);
    http_msg_free(req);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_bad_bundles(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(provider_bundle_load("/nonexistent/bundle.json", err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(provider_bundle_load("/tmp", err, sizeof err), -1);

    const char *path = "/tmp/oisp-test-bundle.json";
    write_file(path, "{\"bundle_version\": \"1.0.0\"}");
    assert_int_equal(provider_bundle_load(path, err, sizeof err), -1);
    write_file(path, "not json {{{");
    assert_int_equal(provider_bundle_load(path, err, sizeof err), -1);
    write_file(path, "[1,2,3]");
    assert_int_equal(provider_bundle_load(path, err, sizeof err), -1);

    /* wrong types are skipped; a bad regex does not spoil the rest */
    write_file(path, "{\"domain_lookup\": {\"llm.example.net\": \"examplellm\", \"bad.example\": 5, \"\": \"x\"},"
                     " \"domain_patterns\": [{\"pattern\": \"([unclosed\", \"provider\": \"broken\"},"
                     " {\"pattern\": \"^inference\\\\..*\\\\.example\\\\.org$\", \"provider\": \"vllm\"},"
                     " {\"provider\": \"nopattern\"}, 7]}");
    int n = provider_bundle_load(path, err, sizeof err);
    assert_int_equal(n, 2);
    expect_host("llm.example.net", "other", "examplellm");
    expect_host("inference.eu.example.org", "vllm", "vllm");
    expect_host("bad.example", NULL, NULL);
    /* loading the same bundle twice keeps one entry per host */
    assert_int_equal(provider_bundle_load(path, err, sizeof err), 2);
    expect_host("llm.example.net", "other", "examplellm");
    provider_bundle_unload();
    expect_host("llm.example.net", NULL, NULL);
    unlink(path);
}

static ai_call *try_request(const char *method, const char *target, const char *headers, const char *body,
                            json_t **data)
{
    http_msg *req = td_request(target, headers, body, body ? strlen(body) : 0);
    strcpy(req->method, method);
    ai_call *c = decode_request(req, data);
    http_msg_free(req);
    return c;
}

static void test_not_ai_calls(void **state)
{
    (void)state;
    json_t *d = (json_t *)1;
    const char *chat = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    assert_null(try_request("GET", "/", "Host: api.openai.com\n", NULL, &d));
    assert_null(d);
    assert_null(try_request("GET", "/v1/models", "Host: api.openai.com\n", NULL, &d));
    assert_null(try_request("GET", "/static/app.js", "Host: chat.example.com\n", NULL, &d));
    assert_null(try_request("POST", "/v1/files", "Host: api.openai.com\nContent-Type: multipart/form-data; boundary=x\n",
                            "--x\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--x--\r\n", &d));
    assert_null(try_request("POST", "/v1/chat/completions", "Host: example.com\n", "{\"messages\":[]}", &d));
    assert_null(try_request("POST", "/api/login", "Host: example.com\n", "{\"user\":\"a\",\"model\":\"x\"}", &d));
    assert_null(try_request("POST", "/v1/chat/completions", "Host: example.com\n", "not json", &d));
    assert_null(try_request("POST", "/v1/chat/completions", "Host: example.com\n", "[1,2]", &d));
    assert_null(try_request("POST", "/v1/chat/completions", "Host: example.com\nContent-Type: multipart/form-data\n", chat, &d));
    assert_null(try_request("POST", "/v1/threads/thread_abc/messages", "Host: example.com\n", chat, &d));
    http_msg resp = {0};
    assert_null(decode_request(&resp, &d)); /* a response is not a request */
    assert_null(decode_request(NULL, &d));

    /* unknown host, OpenAI-compatible path + model: payload inspection */
    ai_call *c = try_request("POST", "/v1/chat/completions", "Host: vllm.internal:8000\n", chat, &d);
    assert_non_null(c);
    assert_string_equal(c->provider, "other");
    assert_string_equal(c->provider_real, "vllm.internal");
    assert_string_equal(c->detection, "payload_inspection");
    assert_string_equal(td_str(d, "provider.endpoint"), "https://vllm.internal:8000/v1/chat/completions");
    json_decref(d);
    ai_call_free(c);

    /* a JSON body sent with a wrong content-type (curl -d) still counts */
    c = try_request("POST", "/v1/chat/completions", "Host: api.groq.com\nContent-Type: application/x-www-form-urlencoded\n",
                    chat, &d);
    assert_non_null(c);
    assert_string_equal(td_str(d, "model.id"), "gpt-4o");
    assert_int_equal(c->flags & AI_CALL_BODY_UNPARSED, 0);
    json_decref(d);
    ai_call_free(c);
}

static void test_generic_known_host_calls(void **state)
{
    (void)state;
    json_t *d;
    ai_call *c = try_request("POST", "/v1/images/generations", "Host: api.openai.com\n",
                             "{\"model\":\"gpt-image-1\",\"prompt\":\"a cat\",\"size\":\"1024x1024\"}", &d);
    assert_non_null(c);
    assert_int_equal(c->api, AI_API_NONE);
    assert_string_equal(td_str(d, "request_type"), "image");
    assert_string_equal(td_str(d, "model.id"), "gpt-image-1");
    td_exchange x = {c, d, NULL};
    td_check(&x, NULL);
    td_exchange_free(&x);

    c = try_request("POST", "/v1/moderations", "Host: api.openai.com\n", "{\"model\":\"omni-moderation-latest\",\"input\":\"x\"}", &d);
    assert_string_equal(td_str(d, "request_type"), "moderation");
    json_decref(d);
    ai_call_free(c);

    /* Cohere v2 chat: OpenAI-like messages on a known host */
    c = try_request("POST", "/v2/chat", "Host: api.cohere.com\nAuthorization: bearer co-TESTcoherekey0000000000000000\n",
                    "{\"model\":\"command-r-plus-08-2024\",\"stream\":true,\"messages\":[{\"role\":\"system\",\"content\":\"Be nice\"},"
                    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hola\"}]}],\"temperature\":0.3}",
                    &d);
    assert_non_null(c);
    assert_string_equal(td_str(d, "provider.name"), "cohere");
    assert_string_equal(td_str(d, "request_type"), "chat");
    assert_int_equal(td_int(d, "messages_count"), 2);
    assert_string_equal(td_str(d, "messages.1.content"), "Hola");
    assert_true(td_bool(d, "streaming"));
    assert_string_equal(td_str(d, "model.family"), "command");
    x = (td_exchange){c, d, NULL};
    td_check(&x, "co-TESTcoherekey0000000000000000");
    td_exchange_free(&x);
}

static void test_endpoint_and_target_forms(void **state)
{
    (void)state;
    json_t *d;
    const char *chat = "{\"model\":\"gpt-4o\",\"messages\":[]}";
    /* absolute-form target (through a proxy), no Host header */
    ai_call *c = try_request("POST", "https://api.openai.com/v1/chat/completions?foo=1", "", chat, &d);
    assert_non_null(c);
    assert_string_equal(c->provider, "openai");
    assert_string_equal(td_str(d, "provider.endpoint"), "https://api.openai.com/v1/chat/completions");
    json_decref(d);
    ai_call_free(c);

    /* secrets in the query never reach the endpoint */
    c = try_request("POST", "/openai/deployments/d1/chat/completions?key=SECRETKEY123&api-version=2024-06-01&sig=SIGSECRET&alt=sse",
                    "Host: r1.openai.azure.com\n", chat, &d);
    assert_non_null(c);
    assert_string_equal(td_str(d, "provider.endpoint"),
                        "https://r1.openai.azure.com/openai/deployments/d1/chat/completions?api-version=2024-06-01&alt=sse");
    /* ?key= is still the credential: hashed, not copied */
    assert_string_equal(td_str(d, "auth.type"), "api_key");
    td_assert_no_secret(d, "SECRETKEY123");
    td_assert_no_secret(d, "SIGSECRET");
    json_decref(d);
    ai_call_free(c);

    /* OpenAI organisation and project headers */
    c = try_request("POST", "/v1/chat/completions",
                    "Host: api.openai.com\nOpenAI-Organization: org-TESTorg\nOpenAI-Project: proj_TEST\n", chat, &d);
    assert_string_equal(td_str(d, "provider.organization_id"), "org-TESTorg");
    assert_string_equal(td_str(d, "provider.project_id"), "proj_TEST");
    json_decref(d);
    ai_call_free(c);

    /* a JWT bearer is OAuth; data==NULL is allowed */
    http_msg *req = td_request("/v1/messages", "Host: api.anthropic.com\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig\n",
                               chat, strlen(chat));
    c = decode_request(req, NULL);
    assert_non_null(c);
    assert_string_equal(c->provider, "anthropic");
    ai_call_free(c);
    c = decode_request(req, &d);
    assert_string_equal(td_str(d, "auth.type"), "oauth");
    td_assert_no_secret(d, "eyJhbGciOiJIUzI1NiJ9.e30.sig");
    json_decref(d);
    ai_call_free(c);
    http_msg_free(req);

    /* other schemes: the scheme is named, the credentials only hashed */
    c = try_request("POST", "/v1/chat/completions", "Host: api.openai.com\nAuthorization: Basic dXNlcjpwYXNzd29yZA==\n", chat, &d);
    assert_string_equal(td_str(d, "auth.type"), "unknown");
    assert_string_equal(td_str(d, "auth.scheme"), "Basic");
    assert_null(td_get(d, "auth.key_prefix"));
    assert_true(strncmp(td_str(d, "auth.key_hash"), "sha256:", 7) == 0);
    td_assert_no_secret(d, "dXNlcjpwYXNzd29yZA==");
    td_exchange y = {c, d, NULL};
    td_check(&y, "dXNlcjpwYXNzd29yZA==");
    td_exchange_free(&y);
}

/* decode_sha256_tag remembers recent tags: what it returns, first time or
 * remembered, slots shared or not, is always SHA-256 of the bytes. */
static void test_sha256_tags(void **state)
{
    (void)state;
    char tag[72], want[72];
    for (int i = 0; i < 2; i++) {
        decode_sha256_tag("abc", 3, tag);
        assert_string_equal(
            tag, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 300; i++) { /* more inputs than slots */
            char key[64];
            int n = snprintf(key, sizeof(key), "sk-proj-%040d", i * 7919);
            unsigned char md[SHA256_DIGEST_LENGTH];
            SHA256((const unsigned char *)key, (size_t)n, md);
            memcpy(want, "sha256:", 7);
            for (int j = 0; j < SHA256_DIGEST_LENGTH; j++)
                snprintf(want + 7 + 2 * j, 3, "%02x", md[j]);
            decode_sha256_tag(key, (size_t)n, tag);
            assert_string_equal(tag, want);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_table),
        cmocka_unit_test(test_bundles),
        cmocka_unit_test(test_bad_bundles),
        cmocka_unit_test(test_not_ai_calls),
        cmocka_unit_test(test_generic_known_host_calls),
        cmocka_unit_test(test_endpoint_and_target_forms),
        cmocka_unit_test(test_sha256_tags),
    };
    return cmocka_run_group_tests_name("decode_provider", tests, NULL, NULL);
}

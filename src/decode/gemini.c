/* gemini.c: Google Gemini API (generativelanguage.googleapis.com) and Vertex
 * AI (*-aiplatform.googleapis.com): generateContent, streamGenerateContent
 * (SSE with ?alt=sse, or a JSON array of chunks), embedContent and
 * batchEmbedContents.
 *
 * The model is in the path ("/v1beta/models/gemini-2.0-flash:generateContent",
 * Vertex "/v1/projects/P/locations/R/publishers/google/models/M:method").
 * The REST API accepts both lowerCamel and snake_case field names, so every
 * field is read under both spellings.  Stream chunks have the shape of a
 * whole response, so one handler serves both; usageMetadata is cumulative and
 * simply overwritten by each chunk. */
#include "decode/decode_priv.h"

#include <stdlib.h>
#include <string.h>

/* ---- path --------------------------------------------------------------- */

/* Copies the path segment following "/<name>/" into out. */
static int segment_after(const char *p, size_t n, const char *name, char *out, size_t outlen)
{
    size_t k = strlen(name);
    for (size_t i = 0; i + k + 2 <= n; i++) {
        if (p[i] != '/' || memcmp(p + i + 1, name, k) != 0 || p[i + 1 + k] != '/')
            continue;
        const char *s = p + i + k + 2;
        size_t len = strcspn(s, "/:");
        if ((size_t)(s - p) + len > n)
            len = n - (size_t)(s - p);
        decode_pct(s, len, out, outlen);
        return 1;
    }
    return 0;
}

int gemini_parse_path(const char *path, size_t len, gemini_path *out)
{
    memset(out, 0, sizeof *out);
    const char *slash = NULL;
    for (size_t i = len; i > 0; i--)
        if (path[i - 1] == '/') {
            slash = path + i - 1;
            break;
        }
    if (!slash)
        return 0;
    const char *last = slash + 1;
    size_t last_len = (size_t)(path + len - last);
    const char *colon = memchr(last, ':', last_len);
    if (!colon || colon == last)
        return 0;
    /* the segment before the model must be "models" or "tunedModels" */
    size_t before = (size_t)(slash - path);
    if (!((before >= 7 && memcmp(slash - 7, "/models", 7) == 0) ||
          (before >= 12 && memcmp(slash - 12, "/tunedModels", 12) == 0)))
        return 0;
    decode_pct(last, (size_t)(colon - last), out->model, sizeof out->model);
    decode_copy(out->method, sizeof out->method, colon + 1, (size_t)(path + len - colon - 1));
    segment_after(path, len, "projects", out->project, sizeof out->project);
    segment_after(path, len, "locations", out->region, sizeof out->region);
    char publisher[64] = {0};
    segment_after(path, len, "publishers", publisher, sizeof publisher);
    out->publisher_anthropic = strcmp(publisher, "anthropic") == 0;
    return 1;
}

/* ---- request -------------------------------------------------------------- */

static void gemini_function_response(dreq *r, const json_t *fr)
{
    dmsg m;
    dmsg_init(&m, "tool");
    const char *s;
    if ((s = dj_str(fr, "name")) != NULL)
        decode_copy(m.name, sizeof m.name, s, strlen(s));
    if ((s = dj_str(fr, "id")) != NULL)
        decode_copy(m.tool_call_id, sizeof m.tool_call_id, s, strlen(s));
    const json_t *resp = json_object_get(fr, "response");
    if (resp) { /* the tool's output is an object: keep it as its JSON text */
        char *text = json_dumps(resp, JSON_COMPACT);
        if (text)
            dmsg_text(&m, text, strlen(text));
        free(text);
    }
    dreq_push(r, &m);
}

static int is_image_blob(const json_t *blob)
{
    const char *mime = json_string_value(dj_get2(blob, "mimeType", "mime_type"));
    return mime && strncmp(mime, "image/", 6) == 0;
}

/* One Content {role, parts}: function responses become tool messages.
 * `role` overrides the content's own (systemInstruction may say "user"). */
static void gemini_content(dreq *r, const json_t *content, const char *role)
{
    const char *own = dj_str(content, "role");
    dmsg m;
    dmsg_init(&m, role ? role : own ? own : "user");
    const json_t *parts = json_object_get(content, "parts");
    int results = 0;
    size_t i, count = json_is_array(parts) ? json_array_size(parts) : 1;
    for (i = 0; i < count; i++) {
        const json_t *p = json_is_array(parts) ? json_array_get(parts, i) : parts;
        const json_t *v;
        if (!json_is_object(p) || dj_true(p, "thought"))
            continue;
        if ((v = json_object_get(p, "text")) != NULL) {
            size_t n;
            const char *s = dj_strn(v, &n);
            if (s)
                dmsg_text(&m, s, n);
        } else if ((v = dj_get2(p, "inlineData", "inline_data")) != NULL ||
                   (v = dj_get2(p, "fileData", "file_data")) != NULL) {
            if (is_image_blob(v))
                dmsg_image(&m);
        } else if ((v = dj_get2(p, "functionCall", "function_call")) != NULL) {
            dmsg_tool_call(&m, dj_str(v, "id"), dj_str(v, "name"), json_object_get(v, "args"));
        } else if ((v = dj_get2(p, "functionResponse", "function_response")) != NULL) {
            gemini_function_response(r, v);
            results++;
        }
    }
    dreq_push_turn(r, &m, results);
}

static void gemini_tools(dreq *r, const json_t *tools)
{
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const json_t *decls = dj_get2(t, "functionDeclarations", "function_declarations");
        size_t j;
        json_t *d;
        json_array_foreach(decls, j, d)
            dreq_tool(r, dj_str(d, "name"), "function", dj_str(d, "description"));
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)t, key, v) {
            if (strcmp(key, "functionDeclarations") == 0 || strcmp(key, "function_declarations") == 0)
                continue;
            /* googleSearch, codeExecution, urlContext, retrieval, ... */
            int code = strcmp(key, "codeExecution") == 0 || strcmp(key, "code_execution") == 0;
            dreq_tool(r, key, code ? "code_execution" : key, NULL);
        }
    }
}

static void gemini_tool_choice(dreq *r, const json_t *cfg)
{
    const json_t *fc = dj_get2(cfg, "functionCallingConfig", "function_calling_config");
    const char *mode = json_string_value(json_object_get(fc, "mode"));
    if (!mode)
        return;
    const json_t *names = dj_get2(fc, "allowedFunctionNames", "allowed_function_names");
    if (strcmp(mode, "ANY") == 0 && json_array_size(names) == 1)
        dreq_tool_choice(r, "specific", json_string_value(json_array_get(names, 0)));
    else if (strcmp(mode, "ANY") == 0)
        dreq_tool_choice(r, "required", NULL);
    else if (strcmp(mode, "NONE") == 0)
        dreq_tool_choice(r, "none", NULL);
    else
        dreq_tool_choice(r, "auto", NULL); /* AUTO, VALIDATED */
}

static void gemini_request(dreq *r, const json_t *body)
{
    dreq_model(r, dj_str(body, "model"));
    const json_t *sys = dj_get2(body, "systemInstruction", "system_instruction");
    if (json_is_object(sys)) {
        gemini_content(r, sys, "system");
    } else if (json_is_string(sys)) {
        dreq_message(r, "system", sys);
    }
    const json_t *contents = json_object_get(body, "contents");
    if (json_is_array(contents)) {
        size_t i;
        json_t *c;
        json_array_foreach(contents, i, c)
            if (json_is_object(c))
                gemini_content(r, c, NULL);
    } else if (json_is_object(contents)) {
        gemini_content(r, contents, NULL);
    }
    gemini_tools(r, dj_arr(body, "tools"));
    gemini_tool_choice(r, dj_get2(body, "toolConfig", "tool_config"));
    const json_t *gen = dj_get2(body, "generationConfig", "generation_config");
    dreq_params(r, gen);
    const json_t *think = dj_get2(gen, "thinkingConfig", "thinking_config");
    const json_t *budget = dj_get2(think, "thinkingBudget", "thinking_budget");
    if (json_is_integer(budget))
        dreq_param(r, "thinking_budget_tokens", json_integer(json_integer_value(budget)));
}

static void gemini_embed_request(dreq *r, const json_t *body)
{
    const json_t *reqs = dj_arr(body, "requests");
    dreq_set(r, "input_count", json_integer(reqs ? (json_int_t)json_array_size(reqs) : 1));
}

/* ---- response ------------------------------------------------------------- */

static void gemini_usage(dresp *r, const json_t *u)
{
    if (!json_is_object(u))
        return;
    const json_t *cand = dj_get2(u, "candidatesTokenCount", "candidates_token_count");
    const json_t *thoughts = dj_get2(u, "thoughtsTokenCount", "thoughts_token_count");
    dresp_usage(r, U_PROMPT, dj_get2(u, "promptTokenCount", "prompt_token_count"));
    dresp_usage(r, U_TOTAL, dj_get2(u, "totalTokenCount", "total_token_count"));
    dresp_usage(r, U_CACHED, dj_get2(u, "cachedContentTokenCount", "cached_content_token_count"));
    dresp_usage(r, U_REASONING, thoughts);
    /* completion counts thinking too, as OpenAI's completion_tokens does */
    if (json_is_integer(cand) || json_is_integer(thoughts)) {
        json_int_t c = json_is_integer(cand) ? json_integer_value(cand) : 0;
        json_int_t t = json_is_integer(thoughts) ? json_integer_value(thoughts) : 0;
        if (c >= 0 && t >= 0)
            r->usage[U_COMPLETION] = c + t;
    }
}

static void gemini_candidate(dresp *r, const json_t *cand, int idx)
{
    dresp_text(r, idx, "", 0);
    const json_t *parts = json_object_get(dj_obj(cand, "content"), "parts");
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        size_t n;
        const char *s = dj_strn(json_object_get(p, "text"), &n);
        const json_t *fc = dj_get2(p, "functionCall", "function_call");
        if (s && dj_true(p, "thought"))
            dresp_thinking(r, idx, s, n);
        else if (s)
            dresp_text(r, idx, s, n);
        else if (json_is_object(fc)) {
            /* each functionCall part is a whole call: a fresh key per part */
            dtool *t = dresp_tool(r, idx, r->extra_count++, 1);
            dtool_set(t, dj_str(fc, "id"), dj_str(fc, "name"));
            dtool_args(r, t, dj_obj(fc, "args"));
        }
    }
    dresp_finish(r, idx, json_string_value(dj_get2(cand, "finishReason", "finish_reason")));
}

static void gemini_response(dresp *r, const char *event, const json_t *obj)
{
    (void)event;
    dresp_model(r, json_string_value(dj_get2(obj, "modelVersion", "model_version")));
    dresp_id(r, json_string_value(dj_get2(obj, "responseId", "response_id")));
    size_t i;
    json_t *c;
    json_array_foreach(dj_arr(obj, "candidates"), i, c) {
        json_int_t idx;
        if (!json_is_object(c))
            continue;
        if (!dj_int(c, "index", &idx))
            idx = (json_int_t)i;
        if (idx >= 0 && idx < DRESP_MAX_CHOICES)
            gemini_candidate(r, c, (int)idx);
    }
    const json_t *fb = dj_get2(obj, "promptFeedback", "prompt_feedback");
    const char *block = json_string_value(dj_get2(fb, "blockReason", "block_reason"));
    if (block)
        r->finish = decode_finish_reason(block);
    gemini_usage(r, dj_get2(obj, "usageMetadata", "usage_metadata"));
}

static void gemini_embed_response(dresp *r, const char *event, const json_t *obj)
{
    (void)event;
    const json_t *one = dj_obj(obj, "embedding");
    const json_t *many = dj_arr(obj, "embeddings");
    const json_t *first = one ? one : json_array_get(many, 0);
    r->embeddings += one ? 1 : (int)json_array_size(many);
    const json_t *values = dj_arr(first, "values");
    if (values)
        r->dimensions = (int)json_array_size(values);
}

const dec_api_ops dec_gemini_generate_ops = {"chat", gemini_request, gemini_response};
const dec_api_ops dec_gemini_embed_ops = {"embedding", gemini_embed_request, gemini_embed_response};

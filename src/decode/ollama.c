/* ollama.c: Ollama's native API (localhost:11434 and anything else serving
 * /api/chat, /api/generate, /api/embed, /api/embeddings).
 *
 * Ollama streams by default ("stream": false turns it off) as NDJSON: one
 * JSON object per line, each a partial response, the last one with
 * "done": true, done_reason and the token counts prompt_eval_count and
 * eval_count.  A non-streamed response is that last object with the whole
 * text, so one handler serves both.  Chat messages and tools have OpenAI's
 * shapes, with images as a base64 list beside the content and tool call
 * arguments as objects. */
#include "decode/decode_priv.h"

#include <string.h>

static void ollama_common(dreq *r, const json_t *body)
{
    dreq_model(r, dj_str(body, "model"));
    r->call->streaming = !json_is_false(json_object_get(body, "stream"));
    dreq_params(r, dj_obj(body, "options"));
    const json_t *think = json_object_get(body, "think");
    if (json_is_boolean(think) || json_is_string(think))
        dreq_param(r, "thinking", json_is_string(think) ? json_copy((json_t *)think)
                                                         : json_string(json_is_true(think) ? "enabled" : "disabled"));
}

static void ollama_images(dmsg *m, const json_t *msg)
{
    size_t n = json_array_size(dj_arr(msg, "images"));
    for (size_t i = 0; i < n; i++)
        dmsg_image(m);
}

static void ollama_chat_request(dreq *r, const json_t *body)
{
    ollama_common(r, body);
    size_t i;
    json_t *msg;
    json_array_foreach(dj_arr(body, "messages"), i, msg) {
        if (!json_is_object(msg))
            continue;
        dmsg m;
        dmsg_init(&m, dj_str(msg, "role"));
        dmsg_content(&m, json_object_get(msg, "content"));
        ollama_images(&m, msg);
        size_t j;
        json_t *tc;
        json_array_foreach(dj_arr(msg, "tool_calls"), j, tc) {
            json_t *fn = dj_obj(tc, "function");
            dmsg_tool_call(&m, dj_str(tc, "id"), dj_str(fn, "name"), json_object_get(fn, "arguments"));
        }
        const char *name = dj_str(msg, "tool_name");
        if (!name)
            name = dj_str(msg, "name");
        if (name)
            decode_copy(m.name, sizeof m.name, name, strlen(name));
        const char *id = dj_str(msg, "tool_call_id");
        if (id)
            decode_copy(m.tool_call_id, sizeof m.tool_call_id, id, strlen(id));
        dreq_push(r, &m);
    }
    openai_tools(r, body);
}

static void ollama_generate_request(dreq *r, const json_t *body)
{
    ollama_common(r, body);
    const json_t *system = json_object_get(body, "system");
    if (json_is_string(system))
        dreq_message(r, "system", system);
    const json_t *prompt = json_object_get(body, "prompt");
    if (json_is_string(prompt) || json_object_get(body, "images")) {
        dmsg m;
        dmsg_init(&m, "user");
        dmsg_content(&m, prompt);
        ollama_images(&m, body);
        dreq_push(r, &m);
    }
}

static void ollama_embed_request(dreq *r, const json_t *body)
{
    dreq_model(r, dj_str(body, "model"));
    r->call->streaming = 0;
    dreq_params(r, dj_obj(body, "options"));
    const json_t *input = json_object_get(body, "input");
    size_t count = json_is_array(input) ? json_array_size(input) : 1;
    dreq_set(r, "input_count", json_integer((json_int_t)count));
}

static void ollama_done(dresp *r, const json_t *obj)
{
    if (!dj_true(obj, "done"))
        return;
    const char *why = dj_str(obj, "done_reason");
    dresp_finish(r, 0, why ? why : "stop");
    dresp_usage(r, U_PROMPT, json_object_get(obj, "prompt_eval_count"));
    dresp_usage(r, U_COMPLETION, json_object_get(obj, "eval_count"));
}

static void ollama_chat_response(dresp *r, const char *event, const json_t *obj)
{
    (void)event;
    dresp_model(r, dj_str(obj, "model"));
    const json_t *msg = dj_obj(obj, "message");
    size_t n;
    const char *s;
    if (msg) {
        if ((s = dj_strn(json_object_get(msg, "content"), &n)) != NULL)
            dresp_text(r, 0, s, n);
        if ((s = dj_strn(json_object_get(msg, "thinking"), &n)) != NULL)
            dresp_thinking(r, 0, s, n);
        size_t j;
        json_t *tc;
        json_array_foreach(dj_arr(msg, "tool_calls"), j, tc) {
            json_t *fn = dj_obj(tc, "function");
            dtool *t = dresp_tool(r, 0, r->extra_count++, 1); /* each call arrives whole */
            dtool_set(t, dj_str(tc, "id"), dj_str(fn, "name"));
            dtool_args(r, t, json_object_get(fn, "arguments"));
        }
    }
    ollama_done(r, obj);
}

static void ollama_generate_response(dresp *r, const char *event, const json_t *obj)
{
    (void)event;
    dresp_model(r, dj_str(obj, "model"));
    size_t n;
    const char *s;
    if ((s = dj_strn(json_object_get(obj, "response"), &n)) != NULL)
        dresp_text(r, 0, s, n);
    if ((s = dj_strn(json_object_get(obj, "thinking"), &n)) != NULL)
        dresp_thinking(r, 0, s, n);
    ollama_done(r, obj);
}

static void ollama_embed_response(dresp *r, const char *event, const json_t *obj)
{
    (void)event;
    dresp_model(r, dj_str(obj, "model"));
    const json_t *many = dj_arr(obj, "embeddings"); /* /api/embed */
    const json_t *one = dj_arr(obj, "embedding");   /* /api/embeddings */
    const json_t *first = many ? json_array_get(many, 0) : one;
    r->embeddings += many ? (int)json_array_size(many) : (one ? 1 : 0);
    if (json_is_array(first))
        r->dimensions = (int)json_array_size(first);
    dresp_usage(r, U_PROMPT, json_object_get(obj, "prompt_eval_count"));
}

const dec_api_ops dec_ollama_chat_ops = {"chat", ollama_chat_request, ollama_chat_response};
const dec_api_ops dec_ollama_generate_ops = {"completion", ollama_generate_request, ollama_generate_response};
const dec_api_ops dec_ollama_embed_ops = {"embedding", ollama_embed_request, ollama_embed_response};

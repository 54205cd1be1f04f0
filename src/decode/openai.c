/* openai.c: OpenAI APIs, also spoken by most other providers (Azure, Groq,
 * Mistral, DeepSeek, OpenRouter, vLLM, LM Studio, Ollama's /v1, ...):
 *
 * - Chat Completions: messages (string or content parts), tools, tool_choice;
 *   responses whole or streamed (choices[].delta chunks; tool calls arrive
 *   as delta.tool_calls[i] pieces keyed by "index"; the usage chunk of
 *   stream_options.include_usage has empty choices);
 * - legacy Completions (prompt / choices[].text), same response handler;
 * - Responses: instructions + input items, flat tools, output items, and the
 *   typed stream events (response.output_text.delta,
 *   response.function_call_arguments.delta, response.completed, ...);
 * - Embeddings: input count, vector count and dimensions, usage.
 *
 * Whole responses and stream chunks go through the same handlers: a chunk is
 * just a partial response. */
#include "decode/decode_priv.h"

#include <string.h>

/* ---- shared pieces -------------------------------------------------------- */

void openai_usage(dresp *r, const json_t *u)
{
    if (!json_is_object(u))
        return;
    /* Chat Completions spelling, then the Responses API spelling */
    dresp_usage(r, U_PROMPT, dj_get2(u, "prompt_tokens", "input_tokens"));
    dresp_usage(r, U_COMPLETION, dj_get2(u, "completion_tokens", "output_tokens"));
    dresp_usage(r, U_TOTAL, json_object_get(u, "total_tokens"));
    const json_t *in = dj_get2(u, "prompt_tokens_details", "input_tokens_details");
    const json_t *out = dj_get2(u, "completion_tokens_details", "output_tokens_details");
    dresp_usage(r, U_CACHED, json_object_get(in, "cached_tokens"));
    dresp_usage(r, U_CACHED, json_object_get(u, "prompt_cache_hit_tokens")); /* DeepSeek */
    dresp_usage(r, U_REASONING, json_object_get(out, "reasoning_tokens"));
}

void openai_messages(dreq *r, const json_t *messages)
{
    size_t i;
    json_t *msg;
    json_array_foreach(messages, i, msg) {
        if (!json_is_object(msg))
            continue;
        dmsg m;
        dmsg_init(&m, dj_str(msg, "role"));
        dmsg_content(&m, json_object_get(msg, "content"));
        size_t j;
        json_t *tc;
        json_array_foreach(dj_arr(msg, "tool_calls"), j, tc) {
            json_t *fn = dj_obj(tc, "function");
            dmsg_tool_call(&m, dj_str(tc, "id"), dj_str(fn, "name"), json_object_get(fn, "arguments"));
        }
        json_t *fc = dj_obj(msg, "function_call"); /* legacy functions API */
        if (fc)
            dmsg_tool_call(&m, NULL, dj_str(fc, "name"), json_object_get(fc, "arguments"));
        const char *s;
        if ((s = dj_str(msg, "tool_call_id")) != NULL)
            decode_copy(m.tool_call_id, sizeof m.tool_call_id, s, strlen(s));
        if ((s = dj_str(msg, "name")) != NULL)
            decode_copy(m.name, sizeof m.name, s, strlen(s));
        dreq_push(r, &m);
    }
}

/* "auto" | {"type":"function","function":{"name":...}} | {"type":"function","name":...} */
static void openai_tool_choice(dreq *r, const json_t *tc)
{
    if (json_is_string(tc)) {
        dreq_tool_choice(r, json_string_value(tc), NULL);
        return;
    }
    if (!json_is_object(tc))
        return;
    const char *name = dj_str(dj_obj(tc, "function"), "name");
    if (!name)
        name = dj_str(tc, "name");
    if (name)
        dreq_tool_choice(r, "specific", name);
    else
        dreq_tool_choice(r, dj_str(tc, "type"), NULL); /* e.g. "file_search", "allowed_tools" */
}

void openai_tools(dreq *r, const json_t *body)
{
    size_t i;
    json_t *t;
    json_array_foreach(dj_arr(body, "tools"), i, t) {
        const json_t *fn = dj_obj(t, "function");
        const json_t *src = fn ? fn : t; /* Chat nests under "function"; Responses is flat */
        dreq_tool(r, dj_str(src, "name"), dj_str(t, "type"), dj_str(src, "description"));
    }
    json_array_foreach(dj_arr(body, "functions"), i, t) /* legacy */
        dreq_tool(r, dj_str(t, "name"), "function", dj_str(t, "description"));
    json_t *tc = json_object_get(body, "tool_choice");
    if (!tc)
        tc = json_object_get(body, "function_call");
    openai_tool_choice(r, tc);
}

static void openai_common_request(dreq *r, const json_t *body)
{
    dreq_model(r, dj_str(body, "model"));
    r->call->streaming = dj_true(body, "stream");
    dreq_params(r, body);
}

/* ---- Chat Completions ---------------------------------------------------- */

static void chat_request(dreq *r, const json_t *body)
{
    openai_common_request(r, body);
    openai_messages(r, dj_arr(body, "messages"));
    openai_tools(r, body);
    json_int_t n;
    if (dj_int(body, "n", &n) && n > 1)
        dreq_set(r, "n", json_integer(n));
}

/* Finds the tool a (possibly partial) tool_calls[j] element belongs to:
 * by "index" when streamed (unless the id says it is another call), by id
 * when a server streams whole calls without index, else by position. */
static dtool *chat_tool_for(dresp *r, int choice, const json_t *tc, size_t j)
{
    json_int_t idx;
    const char *id = dj_str(tc, "id");
    if (dj_int(tc, "index", &idx) && idx >= 0 && idx < 100000) {
        dtool *t = dresp_tool(r, choice, (int)idx, 1);
        /* some compatible servers send every whole call with index 0 */
        if (!t || !id || !*id || !t->id[0] || strcmp(t->id, id) == 0)
            return t;
    }
    if (id && *id) {
        for (size_t k = 0; k < r->ntools; k++)
            if (r->tools[k].choice == choice && strcmp(r->tools[k].id, id) == 0)
                return &r->tools[k];
        return dresp_tool(r, choice, 100000 + (int)r->ntools, 1);
    }
    return dresp_tool(r, choice, (int)j, 1);
}

static void chat_choice(dresp *r, const json_t *c, int idx)
{
    const json_t *src = dj_obj(c, "delta");
    if (!src)
        src = dj_obj(c, "message");
    if (src) {
        const json_t *content = json_object_get(src, "content");
        size_t n;
        const char *s = dj_strn(content, &n);
        if (s)
            dresp_text(r, idx, s, n);
        else if (json_is_array(content))
            dresp_content(r, idx, content);
        else
            dresp_text(r, idx, "", 0); /* the choice exists even without text */
        if ((s = dj_strn(json_object_get(src, "refusal"), &n)) != NULL)
            dresp_refusal(r, idx, s, n);
        if ((s = dj_strn(dj_get2(src, "reasoning_content", "reasoning"), &n)) != NULL)
            dresp_thinking(r, idx, s, n);
        size_t j;
        json_t *tc;
        json_array_foreach(dj_arr(src, "tool_calls"), j, tc) {
            if (!json_is_object(tc))
                continue;
            dtool *t = chat_tool_for(r, idx, tc, j);
            json_t *fn = dj_obj(tc, "function");
            dtool_set(t, dj_str(tc, "id"), dj_str(fn, "name"));
            dtool_args(r, t, json_object_get(fn, "arguments"));
        }
        json_t *fc = dj_obj(src, "function_call");
        if (fc) {
            dtool *t = dresp_tool(r, idx, -1, 1);
            dtool_set(t, NULL, dj_str(fc, "name"));
            dtool_args(r, t, json_object_get(fc, "arguments"));
        }
    }
    size_t n;
    const char *text = dj_strn(json_object_get(c, "text"), &n); /* legacy completions */
    if (text)
        dresp_text(r, idx, text, n);
    dresp_finish(r, idx, dj_str(c, "finish_reason"));
}

static void chat_response(dresp *r, const char *event, const json_t *obj)
{
    (void)event;
    dresp_model(r, dj_str(obj, "model"));
    dresp_id(r, dj_str(obj, "id"));
    size_t i;
    json_t *c;
    json_array_foreach(dj_arr(obj, "choices"), i, c) {
        json_int_t idx;
        if (!json_is_object(c))
            continue;
        if (!dj_int(c, "index", &idx))
            idx = (json_int_t)i;
        if (idx >= 0 && idx < DRESP_MAX_CHOICES)
            chat_choice(r, c, (int)idx);
    }
    openai_usage(r, dj_obj(obj, "usage"));
}

/* ---- legacy Completions --------------------------------------------------- */

static void completions_request(dreq *r, const json_t *body)
{
    openai_common_request(r, body);
    const json_t *prompt = json_object_get(body, "prompt");
    if (json_is_string(prompt) || json_is_array(prompt))
        dreq_message(r, "user", prompt); /* arrays of strings join; token arrays are skipped */
}

/* ---- Responses ------------------------------------------------------------- */

static void responses_input_item(dreq *r, const json_t *item)
{
    const char *type = dj_str(item, "type");
    const char *role = dj_str(item, "role");
    if ((!type && role) || (type && strcmp(type, "message") == 0)) {
        dreq_message(r, role, json_object_get(item, "content"));
        return;
    }
    if (!type)
        return;
    dmsg m;
    if (strcmp(type, "function_call") == 0 || strcmp(type, "custom_tool_call") == 0) {
        dmsg_init(&m, "assistant");
        const json_t *args = json_object_get(item, "arguments");
        dmsg_tool_call(&m, dj_str(item, "call_id"), dj_str(item, "name"),
                       args ? args : json_object_get(item, "input"));
        dreq_push(r, &m);
    } else if (strcmp(type, "function_call_output") == 0 || strcmp(type, "custom_tool_call_output") == 0) {
        dmsg_init(&m, "tool");
        dmsg_content(&m, json_object_get(item, "output"));
        const char *id = dj_str(item, "call_id");
        if (id)
            decode_copy(m.tool_call_id, sizeof m.tool_call_id, id, strlen(id));
        dreq_push(r, &m);
    }
    /* reasoning, item_reference, web/file search results: not conversation text */
}

static void responses_request(dreq *r, const json_t *body)
{
    openai_common_request(r, body);
    const json_t *instr = json_object_get(body, "instructions");
    if (json_is_string(instr))
        dreq_message(r, "system", instr);
    const json_t *input = json_object_get(body, "input");
    if (json_is_string(input)) {
        dreq_message(r, "user", input);
    } else if (json_is_array(input)) {
        size_t i;
        json_t *item;
        json_array_foreach(input, i, item)
            if (json_is_object(item))
                responses_input_item(r, item);
    }
    openai_tools(r, body);
    const char *prev = dj_str(body, "previous_response_id");
    if (prev)
        dreq_set(r, "previous_response_id", json_string(prev));
}

static void responses_output(dresp *r, const json_t *output)
{
    size_t i;
    json_t *item;
    json_array_foreach(output, i, item) {
        const char *type = dj_str(item, "type");
        if (!type)
            continue;
        if (strcmp(type, "message") == 0) {
            size_t j;
            json_t *part;
            json_array_foreach(dj_arr(item, "content"), j, part) {
                size_t n;
                const char *pt = dj_str(part, "type"), *s;
                if (pt && strcmp(pt, "refusal") == 0 && (s = dj_strn(json_object_get(part, "refusal"), &n)))
                    dresp_refusal(r, 0, s, n);
                else if ((s = dj_strn(json_object_get(part, "text"), &n)) != NULL)
                    dresp_text(r, 0, s, n);
            }
        } else if (strcmp(type, "function_call") == 0 || strcmp(type, "custom_tool_call") == 0) {
            dtool *t = dresp_tool(r, 0, (int)i, 1);
            dtool_set(t, dj_str(item, "call_id"), dj_str(item, "name"));
            const json_t *args = json_object_get(item, "arguments");
            dtool_args(r, t, args ? args : json_object_get(item, "input"));
        } else if (strcmp(type, "reasoning") == 0) {
            size_t j;
            json_t *sum;
            json_array_foreach(dj_arr(item, "summary"), j, sum) {
                size_t n;
                const char *s = dj_strn(json_object_get(sum, "text"), &n);
                if (s)
                    dresp_thinking(r, 0, s, n);
            }
        }
    }
}

/* A response object: whole body, or inside response.* stream events.  Its
 * output is taken only when `with_output` (not already streamed as deltas). */
static void responses_object(dresp *r, const json_t *resp, int with_output)
{
    if (!json_is_object(resp))
        return;
    dresp_model(r, dj_str(resp, "model"));
    dresp_id(r, dj_str(resp, "id"));
    const char *status = dj_str(resp, "status");
    if (status && strcmp(status, "incomplete") == 0) {
        const char *why = dj_str(dj_obj(resp, "incomplete_details"), "reason");
        r->finish = decode_finish_reason(why ? why : "other");
    } else if (status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                          strcmp(status, "cancelled") == 0)) {
        r->finish = decode_finish_reason(status);
    }
    if (json_is_object(json_object_get(resp, "error")))
        dresp_error(r, resp);
    if (with_output)
        responses_output(r, dj_arr(resp, "output"));
    openai_usage(r, dj_obj(resp, "usage"));
}

static int any_output(const dresp *r)
{
    if (r->ntools > 0)
        return 1;
    for (int i = 0; i < DRESP_MAX_CHOICES; i++)
        if (r->choices[i].used)
            return 1;
    return 0;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void responses_response(dresp *r, const char *event, const json_t *obj)
{
    const char *type = dj_str(obj, "type");
    if (!type || strcmp(type, "response") == 0 || json_object_get(obj, "output")) {
        responses_object(r, obj, 1); /* not streamed */
        return;
    }
    size_t n;
    const char *delta = dj_strn(json_object_get(obj, "delta"), &n);
    json_int_t oi = 0;
    dj_int(obj, "output_index", &oi);
    int key = oi >= 0 && oi < 100000 ? (int)oi : 0;

    if (strcmp(type, "response.created") == 0 || strcmp(type, "response.in_progress") == 0) {
        responses_object(r, dj_obj(obj, "response"), 0);
    } else if (strcmp(type, "response.completed") == 0 || strcmp(type, "response.incomplete") == 0 ||
               strcmp(type, "response.failed") == 0) {
        responses_object(r, dj_obj(obj, "response"), !any_output(r));
    } else if (strcmp(type, "response.output_text.delta") == 0 && delta) {
        dresp_text(r, 0, delta, n);
    } else if (strcmp(type, "response.refusal.delta") == 0 && delta) {
        dresp_refusal(r, 0, delta, n);
    } else if ((starts(type, "response.reasoning_summary_text.delta") ||
                starts(type, "response.reasoning_text.delta")) && delta) {
        dresp_thinking(r, 0, delta, n);
    } else if (strcmp(type, "response.function_call_arguments.delta") == 0 ||
               strcmp(type, "response.custom_tool_call_input.delta") == 0) {
        dtool_args(r, dresp_tool(r, 0, key, 1), json_object_get(obj, "delta"));
    } else if (starts(type, "response.output_item.")) {
        const json_t *item = dj_obj(obj, "item");
        const char *it = dj_str(item, "type");
        if (it && (strcmp(it, "function_call") == 0 || strcmp(it, "custom_tool_call") == 0)) {
            dtool *t = dresp_tool(r, 0, key, 1);
            dtool_set(t, dj_str(item, "call_id"), dj_str(item, "name"));
            const json_t *args = json_object_get(item, "arguments");
            if (!args)
                args = json_object_get(item, "input");
            if (t && t->args.len == 0 && strcmp(type, "response.output_item.done") == 0)
                dtool_args(r, t, args); /* no deltas were seen */
        }
    }
    (void)event;
}

/* ---- Embeddings ------------------------------------------------------------ */

static void embeddings_request(dreq *r, const json_t *body)
{
    dreq_model(r, dj_str(body, "model"));
    const json_t *input = json_object_get(body, "input");
    size_t count = json_is_string(input) ? 1 : json_array_size(input);
    /* one token array is one input, not many */
    if (json_is_array(input) && json_is_integer(json_array_get(input, 0)))
        count = 1;
    dreq_set(r, "input_count", json_integer((json_int_t)count));
    json_int_t dims;
    if (dj_int(body, "dimensions", &dims))
        dreq_set(r, "dimensions", json_integer(dims));
}

static void embeddings_response(dresp *r, const char *event, const json_t *obj)
{
    (void)event;
    dresp_model(r, dj_str(obj, "model"));
    const json_t *data = dj_arr(obj, "data");
    r->embeddings += (int)json_array_size(data);
    const json_t *vec = json_object_get(json_array_get(data, 0), "embedding");
    if (json_is_array(vec))
        r->dimensions = (int)json_array_size(vec);
    openai_usage(r, dj_obj(obj, "usage"));
}

const dec_api_ops dec_openai_chat_ops = {"chat", chat_request, chat_response};
const dec_api_ops dec_openai_completions_ops = {"completion", completions_request, chat_response};
const dec_api_ops dec_openai_responses_ops = {"chat", responses_request, responses_response};
const dec_api_ops dec_openai_embeddings_ops = {"embedding", embeddings_request, embeddings_response};

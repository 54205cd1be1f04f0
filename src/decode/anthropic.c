/* anthropic.c: Anthropic Messages API (api.anthropic.com /v1/messages, the
 * same body on Bedrock InvokeModel and Vertex rawPredict, and the
 * Anthropic-compatible endpoints of other vendors).
 *
 * Requests: "system" (string or text blocks) becomes the system message;
 * message content is a string or blocks: text, image (counted), tool_use
 * (kept as the assistant message's tool_calls), tool_result (each becomes a
 * "tool" message with tool_call_id, ahead of the rest of its user turn).
 *
 * Responses: one handler for the whole message and for the stream events,
 * dispatched on "type": message_start (model, id, input usage),
 * content_block_start/delta per block index (text_delta, input_json_delta
 * assembled per block, thinking_delta), message_delta (stop_reason, output
 * usage).  "error" events are recognised in decode.c. */
#include "decode/decode_priv.h"

#include <string.h>

/* tool_result content: a string or text/image blocks */
static void anthropic_tool_result(dreq *r, const json_t *block)
{
    dmsg m;
    dmsg_init(&m, "tool");
    const char *id = dj_str(block, "tool_use_id");
    if (id)
        decode_copy(m.tool_call_id, sizeof m.tool_call_id, id, strlen(id));
    dmsg_content(&m, json_object_get(block, "content"));
    m.is_error = dj_true(block, "is_error");
    dreq_push(r, &m);
}

static void anthropic_message(dreq *r, const json_t *msg)
{
    dmsg m;
    dmsg_init(&m, dj_str(msg, "role"));
    const json_t *content = json_object_get(msg, "content");
    int results = 0;
    if (!json_is_array(content)) {
        dmsg_content(&m, content);
    } else {
        size_t i;
        json_t *b;
        json_array_foreach(content, i, b) {
            const char *type = dj_str(b, "type");
            if (type && strcmp(type, "tool_use") == 0) {
                dmsg_tool_call(&m, dj_str(b, "id"), dj_str(b, "name"), json_object_get(b, "input"));
            } else if (type && strcmp(type, "tool_result") == 0) {
                anthropic_tool_result(r, b);
                results++;
            } else if (type && strcmp(type, "document") == 0) {
                /* PDFs and text documents: not images, text not inline */
            } else {
                dmsg_part(&m, b); /* text, image; thinking blocks are skipped */
            }
        }
    }
    dreq_push_turn(r, &m, results);
}

static void anthropic_tool_choice(dreq *r, const json_t *tc)
{
    const char *type = dj_str(tc, "type");
    if (!type)
        return;
    if (strcmp(type, "any") == 0)
        dreq_tool_choice(r, "required", NULL);
    else if (strcmp(type, "tool") == 0)
        dreq_tool_choice(r, "specific", dj_str(tc, "name"));
    else
        dreq_tool_choice(r, type, NULL); /* auto, none */
}

static void anthropic_request(dreq *r, const json_t *body)
{
    dreq_model(r, dj_str(body, "model"));
    r->call->streaming = r->call->streaming || dj_true(body, "stream");
    const json_t *system = json_object_get(body, "system");
    if (json_is_string(system) || json_is_array(system))
        dreq_message(r, "system", system);
    size_t i;
    json_t *msg;
    json_array_foreach(dj_arr(body, "messages"), i, msg)
        if (json_is_object(msg))
            anthropic_message(r, msg);
    json_t *t;
    json_array_foreach(dj_arr(body, "tools"), i, t)
        dreq_tool(r, dj_str(t, "name"), dj_str(t, "type"), dj_str(t, "description"));
    anthropic_tool_choice(r, dj_obj(body, "tool_choice"));
    dreq_params(r, body);
    const json_t *thinking = dj_obj(body, "thinking");
    if (thinking) {
        const char *type = dj_str(thinking, "type");
        json_int_t budget;
        if (type)
            dreq_param(r, "thinking", json_string(type));
        if (dj_int(thinking, "budget_tokens", &budget))
            dreq_param(r, "thinking_budget_tokens", json_integer(budget));
    }
}

/* ---- responses ---------------------------------------------------------- */

static void anthropic_usage(dresp *r, const json_t *u)
{
    if (!json_is_object(u))
        return;
    dresp_usage_uncached(r, json_object_get(u, "input_tokens"), json_object_get(u, "cache_read_input_tokens"),
                         json_object_get(u, "cache_creation_input_tokens"), json_object_get(u, "output_tokens"));
}

static int block_index(const json_t *obj)
{
    json_int_t i;
    if (dj_int(obj, "index", &i) && i >= 0 && i < 100000)
        return (int)i;
    return 0;
}

/* One content block, whole (non-streaming) or as content_block_start. */
static void anthropic_block(dresp *r, const json_t *b, int index)
{
    const char *type = dj_str(b, "type");
    size_t n;
    const char *s;
    if (!type)
        return;
    if (strcmp(type, "text") == 0) {
        if ((s = dj_strn(json_object_get(b, "text"), &n)) != NULL)
            dresp_text(r, 0, s, n);
    } else if (strcmp(type, "thinking") == 0) {
        if ((s = dj_strn(json_object_get(b, "thinking"), &n)) != NULL)
            dresp_thinking(r, 0, s, n);
    } else if (strcmp(type, "tool_use") == 0) {
        dtool *t = dresp_tool(r, 0, index, 1);
        dtool_set(t, dj_str(b, "id"), dj_str(b, "name"));
        dtool_args(r, t, dj_obj(b, "input"));
    }
}

static void anthropic_delta(dresp *r, const json_t *obj)
{
    const json_t *d = dj_obj(obj, "delta");
    const char *type = dj_str(d, "type");
    size_t n;
    const char *s;
    if (!type)
        return;
    if (strcmp(type, "text_delta") == 0 && (s = dj_strn(json_object_get(d, "text"), &n)))
        dresp_text(r, 0, s, n);
    else if (strcmp(type, "thinking_delta") == 0 && (s = dj_strn(json_object_get(d, "thinking"), &n)))
        dresp_thinking(r, 0, s, n);
    else if (strcmp(type, "input_json_delta") == 0)
        dtool_args(r, dresp_tool(r, 0, block_index(obj), 1), json_object_get(d, "partial_json"));
}

static void anthropic_message_head(dresp *r, const json_t *m)
{
    dresp_model(r, dj_str(m, "model"));
    dresp_id(r, dj_str(m, "id"));
    anthropic_usage(r, dj_obj(m, "usage"));
    const char *stop = dj_str(m, "stop_reason");
    if (stop)
        r->finish = decode_finish_reason(stop);
}

static void anthropic_response(dresp *r, const char *event, const json_t *obj)
{
    const char *type = dj_str(obj, "type");
    if (!type)
        type = event ? event : "";
    if (strcmp(type, "message") == 0) { /* non-streaming */
        anthropic_message_head(r, obj);
        dresp_text(r, 0, "", 0);
        size_t i;
        json_t *b;
        json_array_foreach(dj_arr(obj, "content"), i, b)
            anthropic_block(r, b, (int)i);
    } else if (strcmp(type, "message_start") == 0) {
        anthropic_message_head(r, dj_obj(obj, "message"));
    } else if (strcmp(type, "content_block_start") == 0) {
        anthropic_block(r, dj_obj(obj, "content_block"), block_index(obj));
    } else if (strcmp(type, "content_block_delta") == 0) {
        anthropic_delta(r, obj);
    } else if (strcmp(type, "message_delta") == 0) {
        const char *stop = dj_str(dj_obj(obj, "delta"), "stop_reason");
        if (stop)
            r->finish = decode_finish_reason(stop);
        anthropic_usage(r, dj_obj(obj, "usage"));
    }
}

const dec_api_ops dec_anthropic_ops = {"chat", anthropic_request, anthropic_response};

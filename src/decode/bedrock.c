/* bedrock.c: Amazon Bedrock runtime (bedrock-runtime.REGION.amazonaws.com).
 *
 * The path names the model and the action: /model/{modelId}/invoke,
 * /invoke-with-response-stream, /converse, /converse-stream (the id is
 * URL-encoded: "anthropic.claude-3-5-sonnet-20240620-v1%3A0", ARNs).
 *
 * - Converse (and Nova's InvokeModel body, which has the same shape):
 *   content blocks keyed by kind ({text}, {image}, {toolUse}, {toolResult},
 *   {reasoningContent}), system blocks, inferenceConfig, toolConfig;
 *   responses output.message / stopReason / usage.
 * - InvokeModel of Anthropic models: the body is the Anthropic Messages body
 *   (anthropic.c decodes it); other vendors' bodies give prompt text only.
 * - Streams are application/vnd.amazon.eventstream: binary frames (prelude
 *   with lengths and CRC32, typed headers, payload, CRC32).  converse-stream
 *   frames carry the event JSON with the event name in ":event-type";
 *   invoke-with-response-stream frames carry {"bytes": base64(vendor chunk)}.
 *   Exception frames become the response error. */
#include "decode/decode_priv.h"
#include "util/jsonfast.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* ---- path --------------------------------------------------------------- */

int bedrock_parse_path(const char *path, size_t len, bedrock_path *out)
{
    static const char *const actions[] = {"invoke", "invoke-with-response-stream", "converse", "converse-stream"};
    memset(out, 0, sizeof *out);
    if (len < 8 || memcmp(path, "/model/", 7) != 0)
        return 0;
    const char *slash = NULL;
    for (size_t i = len; i > 7; i--)
        if (path[i - 1] == '/') {
            slash = path + i - 1;
            break;
        }
    if (!slash || slash == path + 7)
        return 0;
    size_t alen = (size_t)(path + len - slash - 1);
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strlen(actions[i]) == alen && memcmp(slash + 1, actions[i], alen) == 0) {
            decode_copy(out->action, sizeof out->action, actions[i], alen);
            decode_pct(path + 7, (size_t)(slash - path - 7), out->model, sizeof out->model);
            return 1;
        }
    return 0;
}

/* ---- Converse request ----------------------------------------------------- */

static void converse_tool_result(dreq *r, const json_t *res)
{
    dmsg m;
    dmsg_init(&m, "tool");
    const char *id = dj_str(res, "toolUseId");
    if (id)
        decode_copy(m.tool_call_id, sizeof m.tool_call_id, id, strlen(id));
    size_t i;
    json_t *c;
    json_array_foreach(dj_arr(res, "content"), i, c) {
        size_t n;
        const char *s = dj_strn(json_object_get(c, "text"), &n);
        const json_t *js = json_object_get(c, "json");
        if (s) {
            dmsg_text(&m, s, n);
        } else if (js) {
            char *text = json_dumps(js, JSON_COMPACT | JSON_ENCODE_ANY);
            if (text)
                dmsg_text(&m, text, strlen(text));
            free(text);
        } else if (json_object_get(c, "image")) {
            dmsg_image(&m);
        }
    }
    const char *status = dj_str(res, "status");
    m.is_error = status && strcmp(status, "error") == 0;
    dreq_push(r, &m);
}

static void converse_message(dreq *r, const json_t *msg)
{
    dmsg m;
    dmsg_init(&m, dj_str(msg, "role"));
    const json_t *content = json_object_get(msg, "content");
    int results = 0;
    if (json_is_string(content))
        dmsg_content(&m, content);
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        size_t n;
        const char *s = dj_strn(json_object_get(b, "text"), &n);
        const json_t *v;
        if (s)
            dmsg_text(&m, s, n);
        else if (json_object_get(b, "image"))
            dmsg_image(&m);
        else if ((v = dj_obj(b, "toolUse")) != NULL)
            dmsg_tool_call(&m, dj_str(v, "toolUseId"), dj_str(v, "name"), json_object_get(v, "input"));
        else if ((v = dj_obj(b, "toolResult")) != NULL) {
            converse_tool_result(r, v);
            results++;
        }
    }
    dreq_push_turn(r, &m, results);
}

static void converse_request(dreq *r, const json_t *body)
{
    const json_t *system = json_object_get(body, "system");
    if (json_is_array(system) && json_array_size(system) > 0)
        dreq_message(r, "system", system); /* [{text}] parts */
    else if (json_is_string(system))
        dreq_message(r, "system", system);
    size_t i;
    json_t *msg;
    json_array_foreach(dj_arr(body, "messages"), i, msg)
        if (json_is_object(msg))
            converse_message(r, msg);
    /* older single-prompt bodies: Titan inputText, Llama/Mistral prompt */
    const json_t *prompt = dj_get2(body, "prompt", "inputText");
    if (json_is_string(prompt))
        dreq_message(r, "user", prompt);

    const json_t *tc = dj_obj(body, "toolConfig");
    json_t *t;
    json_array_foreach(dj_arr(tc, "tools"), i, t) {
        const json_t *spec = dj_obj(t, "toolSpec");
        if (spec)
            dreq_tool(r, dj_str(spec, "name"), "function", dj_str(spec, "description"));
    }
    const json_t *choice = dj_obj(tc, "toolChoice");
    if (dj_obj(choice, "auto"))
        dreq_tool_choice(r, "auto", NULL);
    else if (dj_obj(choice, "any"))
        dreq_tool_choice(r, "required", NULL);
    else if (dj_obj(choice, "tool"))
        dreq_tool_choice(r, "specific", dj_str(dj_obj(choice, "tool"), "name"));

    dreq_params(r, dj_obj(body, "inferenceConfig"));
    dreq_params(r, dj_obj(body, "textGenerationConfig")); /* Titan */
    dreq_params(r, body);                                 /* Llama max_gen_len etc. */
    json_int_t gen;
    if (dj_int(body, "max_gen_len", &gen))
        dreq_param(r, "max_tokens", json_integer(gen));
}

static void bedrock_request(dreq *r, const json_t *body)
{
    if (r->call->flags & AI_CALL_ANTHROPIC_BODY)
        dec_anthropic_ops.request(r, body);
    else
        converse_request(r, body);
}

/* ---- Converse response ---------------------------------------------------- */

static void converse_usage(dresp *r, const json_t *u)
{
    if (!json_is_object(u))
        return;
    dresp_usage_uncached(r, json_object_get(u, "inputTokens"), json_object_get(u, "cacheReadInputTokens"),
                         json_object_get(u, "cacheWriteInputTokens"), json_object_get(u, "outputTokens"));
    dresp_usage(r, U_TOTAL, json_object_get(u, "totalTokens"));
}

static int block_index(const json_t *obj)
{
    json_int_t i;
    return dj_int(obj, "contentBlockIndex", &i) && i >= 0 && i < 100000 ? (int)i : 0;
}

static void converse_whole(dresp *r, const json_t *obj)
{
    const json_t *msg = dj_obj(dj_obj(obj, "output"), "message");
    dresp_text(r, 0, "", 0);
    size_t i;
    json_t *b;
    json_array_foreach(dj_arr(msg, "content"), i, b) {
        size_t n;
        const char *s = dj_strn(json_object_get(b, "text"), &n);
        const json_t *v;
        if (s) {
            dresp_text(r, 0, s, n);
        } else if ((v = dj_obj(b, "toolUse")) != NULL) {
            dtool *t = dresp_tool(r, 0, (int)i, 1);
            dtool_set(t, dj_str(v, "toolUseId"), dj_str(v, "name"));
            dtool_args(r, t, json_object_get(v, "input"));
        } else if ((v = dj_obj(dj_obj(b, "reasoningContent"), "reasoningText")) != NULL &&
                   (s = dj_strn(json_object_get(v, "text"), &n)) != NULL) {
            dresp_thinking(r, 0, s, n);
        }
    }
}

/* One converse-stream event; also accepts the {"eventName": {...}} wrapping
 * used by Nova's invoke-with-response-stream chunks. */
static void converse_event(dresp *r, const char *event, const json_t *obj)
{
    if (!event) {
        static const char *const names[] = {"messageStart", "contentBlockStart", "contentBlockDelta",
                                            "messageStop", "metadata"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const json_t *inner = dj_obj(obj, names[i]);
            if (inner) {
                converse_event(r, names[i], inner);
                return;
            }
        }
        return;
    }
    if (strcmp(event, "contentBlockStart") == 0) {
        const json_t *tu = dj_obj(dj_obj(obj, "start"), "toolUse");
        if (tu)
            dtool_set(dresp_tool(r, 0, block_index(obj), 1), dj_str(tu, "toolUseId"), dj_str(tu, "name"));
    } else if (strcmp(event, "contentBlockDelta") == 0) {
        const json_t *d = dj_obj(obj, "delta");
        size_t n;
        const char *s = dj_strn(json_object_get(d, "text"), &n);
        const json_t *v;
        if (s)
            dresp_text(r, 0, s, n);
        else if ((v = dj_obj(d, "toolUse")) != NULL)
            dtool_args(r, dresp_tool(r, 0, block_index(obj), 1), json_object_get(v, "input"));
        else if ((v = dj_obj(d, "reasoningContent")) != NULL && (s = dj_strn(json_object_get(v, "text"), &n)))
            dresp_thinking(r, 0, s, n);
    } else if (strcmp(event, "messageStop") == 0) {
        const char *stop = dj_str(obj, "stopReason");
        if (stop)
            r->finish = decode_finish_reason(stop);
    } else if (strcmp(event, "metadata") == 0) {
        converse_usage(r, dj_obj(obj, "usage"));
    }
}

/* Non-Anthropic InvokeModel chunks and bodies: Titan, Llama, Mistral, Nova. */
static void invoke_other(dresp *r, const json_t *obj)
{
    static const char *const text_keys[] = {"outputText", "generation", "completion"};
    for (size_t i = 0; i < sizeof text_keys / sizeof text_keys[0]; i++) {
        size_t n;
        const char *s = dj_strn(json_object_get(obj, text_keys[i]), &n);
        if (s)
            dresp_text(r, 0, s, n);
    }
    const json_t *results = dj_arr(obj, "results"); /* Titan whole body */
    size_t i;
    json_t *res;
    json_array_foreach(results, i, res) {
        size_t n;
        const char *s = dj_strn(json_object_get(res, "outputText"), &n);
        if (s)
            dresp_text(r, 0, s, n);
        dresp_finish(r, 0, dj_str(res, "completionReason"));
    }
    const char *stop = dj_str(obj, "stop_reason");
    if (!stop)
        stop = dj_str(obj, "completionReason");
    if (stop)
        dresp_finish(r, 0, stop);
    dresp_usage(r, U_PROMPT, dj_get2(obj, "prompt_token_count", "inputTextTokenCount"));
    dresp_usage(r, U_COMPLETION, json_object_get(obj, "generation_token_count"));
    if (dj_obj(obj, "output"))
        converse_whole(r, obj); /* Nova */
    converse_event(r, NULL, obj);
}

static void bedrock_response(dresp *r, const char *event, const json_t *obj)
{
    const json_t *metrics = dj_obj(obj, "amazon-bedrock-invocationMetrics");
    if (metrics) { /* last chunk of invoke-with-response-stream */
        dresp_usage(r, U_PROMPT, json_object_get(metrics, "inputTokenCount"));
        dresp_usage(r, U_COMPLETION, json_object_get(metrics, "outputTokenCount"));
    }
    if (r->call->flags & AI_CALL_ANTHROPIC_BODY) {
        dec_anthropic_ops.response(r, event, obj);
    } else if (r->call->flags & AI_CALL_BEDROCK_CONVERSE) {
        if (event) {
            converse_event(r, event, obj);
        } else {
            dresp_model(r, dj_str(obj, "modelId"));
            converse_whole(r, obj);
            const char *stop = dj_str(obj, "stopReason");
            if (stop)
                r->finish = decode_finish_reason(stop);
            converse_usage(r, dj_obj(obj, "usage"));
        }
    } else {
        invoke_other(r, obj);
    }
}

/* ---- event-stream framing --------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct es_headers {
    char event_type[64];
    char message_type[32];
    char exception_type[64];
} es_headers;

/* Reads the string headers we need; returns 0 on malformed headers. */
static int es_parse_headers(const uint8_t *h, size_t n, es_headers *out)
{
    /* value sizes by type; -1 = 2-byte length prefix */
    static const int sizes[10] = {0, 0, 1, 2, 4, 8, -1, -1, 8, 16};
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < n) {
        size_t nl = h[i++];
        if (i + nl + 1 > n)
            return 0;
        const char *name = (const char *)h + i;
        i += nl;
        uint8_t type = h[i++];
        if (type > 9)
            return 0;
        size_t vl;
        const uint8_t *v = h + i;
        if (sizes[type] < 0) {
            if (i + 2 > n)
                return 0;
            vl = (size_t)h[i] << 8 | h[i + 1];
            v = h + i + 2;
            i += 2;
        } else {
            vl = (size_t)sizes[type];
        }
        if (i + vl > n)
            return 0;
        i += vl;
        if (type != 7)
            continue;
        if (nl == 11 && memcmp(name, ":event-type", 11) == 0)
            decode_copy(out->event_type, sizeof out->event_type, (const char *)v, vl);
        else if (nl == 13 && memcmp(name, ":message-type", 13) == 0)
            decode_copy(out->message_type, sizeof out->message_type, (const char *)v, vl);
        else if (nl == 15 && memcmp(name, ":exception-type", 15) == 0)
            decode_copy(out->exception_type, sizeof out->exception_type, (const char *)v, vl);
    }
    return 1;
}

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes base64 into a new buffer (*outlen bytes); NULL on bad input. */
static uint8_t *b64_decode(const char *s, size_t n, size_t *outlen)
{
    uint8_t *out = malloc(n / 4 * 3 + 3);
    if (!out)
        return NULL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        int v = b64val((uint8_t)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *outlen = o;
    return out;
}

static void es_frame(dresp *r, const es_headers *h, const uint8_t *payload, size_t n)
{
    json_t *doc = jsonfast_loadb((const char *)payload, n, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return;
    }
    if (strcmp(h->message_type, "exception") == 0 || strcmp(h->message_type, "error") == 0) {
        if (!r->error) {
            if (!dresp_error(r, doc))
                r->error = json_object();
            if (h->exception_type[0] && !json_object_get(r->error, "type"))
                json_object_set_new(r->error, "type", json_string(h->exception_type));
        }
    } else if (strcmp(h->event_type, "chunk") == 0) {
        size_t n64, blen;
        const char *b64 = dj_strn(json_object_get(doc, "bytes"), &n64);
        uint8_t *bytes = b64 ? b64_decode(b64, n64, &blen) : NULL;
        json_t *inner = bytes ? jsonfast_loadb((const char *)bytes, blen, 0, NULL) : NULL;
        if (json_is_object(inner))
            dresp_document(r, &dec_bedrock_ops, NULL, inner, r->cur_offset);
        json_decref(inner);
        free(bytes);
    } else {
        dresp_document(r, &dec_bedrock_ops, h->event_type[0] ? h->event_type : NULL, doc, r->cur_offset);
    }
    json_decref(doc);
}

size_t bedrock_eventstream(dresp *r, const uint8_t *b, size_t len)
{
    size_t pos = 0, frames = 0;
    while (len - pos >= 16) {
        const uint8_t *f = b + pos;
        uint32_t total = be32(f), hlen = be32(f + 4);
        if (total < 16 || total > len - pos || hlen > total - 16)
            break;
        if ((uint32_t)crc32(0L, f, 8) != be32(f + 8) ||
            (uint32_t)crc32(0L, f, total - 4) != be32(f + total - 4))
            break; /* not (or no longer) an event stream */
        es_headers h;
        if (!es_parse_headers(f + 12, hlen, &h))
            break;
        r->cur_offset = pos;
        es_frame(r, &h, f + 12 + hlen, total - 16 - hlen);
        frames++;
        pos += total;
    }
    return frames;
}

const dec_api_ops dec_bedrock_ops = {"chat", bedrock_request, bedrock_response};

/* decode.c: request side of the decode layer, and the parts every API's
 * request decoder shares (response side: response.c).
 *
 * decode_request():
 *   1. target: host (Host header, or an absolute-form request target), path,
 *      query;
 *   2. provider: provider_lookup(host); the API from the path (the Gemini and
 *      Bedrock paths also carry the model);
 *   3. the body is parsed once with jansson; unknown hosts qualify only by
 *      path + body shape (OpenAI-compatible needs a "model", ...);
 *   4. provider, model, auth (prefix + SHA-256 only), endpoint (query
 *      reduced to an allow-list so ?key= never leaks), then the API's request
 *      decoder fills a dreq, assembled here into the ai.request data.
 *
 * Unknown hosts speaking the Anthropic API are "other" (with the host as
 * real name), not "anthropic": other vendors and gateways expose
 * Anthropic-compatible endpoints, and the SDK sends anthropic-version to
 * all of them.  Detection is "payload_inspection", or "header_fingerprint"
 * when only that header (no model) identified the call.  Ollama's API is
 * "ollama" wherever it runs.
 *
 * dmsg/dreq collect messages, tools and parameters from the API decoders and
 * keep the OISP names, role mapping, counts and system prompt hash here. */
#include "decode/decode_priv.h"
#include "util/jsonfast.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode/provider.h"

typedef struct dtarget {
    char host[256];       /* lower-cased, with port if given */
    const char *path;     /* into req->target, without query */
    size_t path_len;
    const char *query;    /* after '?', without fragment; NULL if none */
    size_t query_len;
} dtarget;

static void parse_target(const http_msg *req, dtarget *t)
{
    memset(t, 0, sizeof *t);
    const char *s = req->target ? req->target : "";
    const char *host = NULL;
    size_t host_len = 0;

    /* absolute-form (proxies): "https://api.openai.com/v1/..." */
    const char *sep = strstr(s, "://");
    if (sep && sep - s <= 5 && s[0] != '/') {
        host = sep + 3;
        host_len = strcspn(host, "/?#");
        s = host + host_len;
    }
    if (!host) {
        host = http_msg_header(req, "host");
        host_len = host ? strlen(host) : 0;
    }
    if (host) {
        if (host_len >= sizeof t->host)
            host_len = sizeof t->host - 1;
        for (size_t i = 0; i < host_len; i++)
            t->host[i] = (char)tolower((unsigned char)host[i]);
        t->host[host_len] = 0;
    }
    t->path = s;
    t->path_len = strcspn(s, "?#");
    if (s[t->path_len] == '?') {
        t->query = s + t->path_len + 1;
        t->query_len = strcspn(t->query, "#");
    }
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

typedef struct dpath {
    ai_api api;
    char model[160];
    int streaming;         /* from the path (Gemini stream*, Bedrock *-stream) */
    unsigned flags;
    char region[64];
    char project[128];
} dpath;

/* Azure "/openai/deployments/{name}/chat/completions": the deployment names
 * the model when the body does not. */
static void azure_deployment(const char *p, size_t n, dpath *out)
{
    const char *key = "/deployments/";
    size_t k = strlen(key);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, key, k) == 0) {
            const char *d = p + i + k;
            const char *e = memchr(d, '/', (size_t)(p + n - d));
            size_t dl = e ? (size_t)(e - d) : (size_t)(p + n - d);
            decode_pct(d, dl, out->model, sizeof out->model);
            return;
        }
}

static ai_api classify_path(const char *p, size_t n, dpath *out)
{
    memset(out, 0, sizeof *out);
    if (n > 1 && p[n - 1] == '/')
        n--;

    bedrock_path bp;
    if (bedrock_parse_path(p, n, &bp)) {
        decode_copy(out->model, sizeof out->model, bp.model, strlen(bp.model));
        out->streaming = ends_with(bp.action, strlen(bp.action), "stream");
        if (strncmp(bp.action, "converse", 8) == 0)
            out->flags |= AI_CALL_BEDROCK_CONVERSE;
        return out->api = AI_API_BEDROCK;
    }
    gemini_path gp;
    if (gemini_parse_path(p, n, &gp)) {
        decode_copy(out->model, sizeof out->model, gp.model, strlen(gp.model));
        decode_copy(out->region, sizeof out->region, gp.region, strlen(gp.region));
        decode_copy(out->project, sizeof out->project, gp.project, strlen(gp.project));
        out->streaming = strncmp(gp.method, "stream", 6) == 0;
        if (gp.publisher_anthropic && strstr(gp.method, "RawPredict"))
            return out->api = AI_API_ANTHROPIC_MESSAGES;
        if (strcmp(gp.method, "generateContent") == 0 || strcmp(gp.method, "streamGenerateContent") == 0)
            return out->api = AI_API_GEMINI_GENERATE;
        if (strcmp(gp.method, "embedContent") == 0 || strcmp(gp.method, "batchEmbedContents") == 0)
            return out->api = AI_API_GEMINI_EMBED;
        return out->api = AI_API_NONE;
    }
    if (ends_with(p, n, "/api/chat"))
        return out->api = AI_API_OLLAMA_CHAT;
    if (ends_with(p, n, "/api/generate"))
        return out->api = AI_API_OLLAMA_GENERATE;
    if (ends_with(p, n, "/api/embed") || ends_with(p, n, "/api/embeddings"))
        return out->api = AI_API_OLLAMA_EMBED;

    ai_api api = AI_API_NONE;
    if (ends_with(p, n, "/chat/completions"))
        api = AI_API_OPENAI_CHAT;
    else if (ends_with(p, n, "/completions"))
        api = AI_API_OPENAI_COMPLETIONS;
    else if (ends_with(p, n, "/responses"))
        api = AI_API_OPENAI_RESPONSES;
    else if (ends_with(p, n, "/embeddings"))
        api = AI_API_OPENAI_EMBEDDINGS;
    else if (ends_with(p, n, "/v1/messages"))
        api = AI_API_ANTHROPIC_MESSAGES;
    if (api != AI_API_NONE && api != AI_API_ANTHROPIC_MESSAGES)
        azure_deployment(p, n, out);
    return out->api = api;
}

const dec_api_ops *api_ops(ai_api api)
{
    switch (api) {
    case AI_API_OPENAI_CHAT: return &dec_openai_chat_ops;
    case AI_API_OPENAI_COMPLETIONS: return &dec_openai_completions_ops;
    case AI_API_OPENAI_RESPONSES: return &dec_openai_responses_ops;
    case AI_API_OPENAI_EMBEDDINGS: return &dec_openai_embeddings_ops;
    case AI_API_ANTHROPIC_MESSAGES: return &dec_anthropic_ops;
    case AI_API_GEMINI_GENERATE: return &dec_gemini_generate_ops;
    case AI_API_GEMINI_EMBED: return &dec_gemini_embed_ops;
    case AI_API_OLLAMA_CHAT: return &dec_ollama_chat_ops;
    case AI_API_OLLAMA_GENERATE: return &dec_ollama_generate_ops;
    case AI_API_OLLAMA_EMBED: return &dec_ollama_embed_ops;
    case AI_API_BEDROCK: return &dec_bedrock_ops;
    case AI_API_NONE: break;
    }
    return &dec_generic_ops;
}

/* Does a body on an unknown host look like a call of this API? */
static int body_fits_api(ai_api api, const json_t *body, const http_msg *req)
{
    if (!json_is_object(body))
        return 0;
    int has_model = json_is_string(json_object_get(body, "model"));
    switch (api) {
    case AI_API_ANTHROPIC_MESSAGES:
        return dj_arr(body, "messages") && (has_model || http_msg_header(req, "anthropic-version"));
    case AI_API_GEMINI_GENERATE:
        return json_object_get(body, "contents") != NULL;
    case AI_API_GEMINI_EMBED:
        return json_object_get(body, "content") || json_object_get(body, "requests");
    case AI_API_OLLAMA_CHAT:
        return has_model && dj_arr(body, "messages");
    case AI_API_BEDROCK:
        return 0; /* only on Bedrock hosts */
    case AI_API_NONE:
        return 0;
    default:
        return has_model;
    }
}

/* Allow-listed query parameters survive in provider.endpoint; everything
 * else (key=, sig=, tokens) is dropped. */
static int query_param_allowed(const char *k, size_t n)
{
    static const char *const ok[] = {"api-version", "alt", "beta"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strlen(ok[i]) == n && memcmp(ok[i], k, n) == 0)
            return 1;
    return 0;
}

static void build_endpoint(ai_call *c, const dtarget *t)
{
    dbuf b = {0};
    dbuf_puts(&b, "https://"); /* everything decoded here was captured inside TLS */
    dbuf_puts(&b, t->host);
    dbuf_put(&b, t->path, t->path_len);
    int first = 1;
    const char *q = t->query, *end = t->query ? t->query + t->query_len : NULL;
    while (q && q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pe - q));
        size_t klen = (size_t)((eq ? eq : pe) - q);
        if (query_param_allowed(q, klen)) {
            dbuf_puts(&b, first ? "?" : "&");
            dbuf_put(&b, q, (size_t)(pe - q));
            first = 0;
        }
        q = amp ? amp + 1 : end;
    }
    decode_copy(c->endpoint, sizeof c->endpoint, dbuf_str(&b), b.len);
    dbuf_free(&b);
}

/* ---- auth ------------------------------------------------------------- */

/* Vendor prefixes ("sk-proj-", "sk-ant-", "gsk_") end at the last '-' or '_'
 * within 8 characters; without one, 4 characters.  Never more than a quarter
 * of the key, so short keys reveal next to nothing. */
static size_t key_prefix_len(const char *k, size_t n)
{
    size_t lim = n < 8 ? n : 8, best = 0;
    for (size_t i = 0; i < lim; i++)
        if (k[i] == '-' || k[i] == '_')
            best = i + 1;
    if (best == 0)
        best = lim < 4 ? lim : 4;
    if (best > n / 4)
        best = n / 4;
    return best;
}

static void auth_key(json_t *auth, const char *type, const char *k, size_t n)
{
    while (n > 0 && isspace((unsigned char)k[n - 1]))
        n--;
    json_object_set_new(auth, "type", json_string(type));
    if (n == 0)
        return;
    size_t pl = key_prefix_len(k, n);
    if (pl > 0) {
        json_t *prefix = json_stringn_nocheck(k, pl);
        if (json_string_value(prefix) && decode_utf8_chars(k, pl) == pl) /* ASCII only */
            json_object_set_new(auth, "key_prefix", prefix);
        else
            json_decref(prefix);
    }
    char tag[72];
    decode_sha256_tag(k, n, tag);
    json_object_set_new(auth, "key_hash", json_string(tag));
}

static json_t *build_auth(const http_msg *req, const dtarget *t)
{
    json_t *auth = json_object();
    const char *v = http_msg_header(req, "authorization");
    if (v) {
        while (*v == ' ')
            v++;
        if (strncasecmp(v, "Bearer ", 7) == 0) {
            const char *k = v + 7;
            while (*k == ' ')
                k++;
            /* JWTs and Google access tokens are OAuth, not API keys */
            int oauth = strncmp(k, "eyJ", 3) == 0 || strncmp(k, "ya29.", 5) == 0;
            auth_key(auth, oauth ? "oauth" : "api_key", k, strlen(k));
        } else if (strncmp(v, "AWS4-HMAC-SHA256", 16) == 0) {
            json_object_set_new(auth, "type", json_string("api_key"));
            json_object_set_new(auth, "scheme", json_string("aws_sigv4"));
        } else { /* Basic, Token, ...: hash the credentials, name the scheme */
            size_t sl = strcspn(v, " ");
            const char *cred = v + sl;
            while (*cred == ' ')
                cred++;
            json_object_set_new(auth, "type", json_string("unknown"));
            if (sl > 0 && sl < 32)
                json_object_set_new(auth, "scheme", json_stringn(v, sl));
            if (*cred) {
                char tag[72];
                decode_sha256_tag(cred, strlen(cred), tag);
                json_object_set_new(auth, "key_hash", json_string(tag));
            }
        }
        return auth;
    }
    static const char *const key_headers[] = {"x-api-key", "api-key", "x-goog-api-key"};
    for (size_t i = 0; i < sizeof key_headers / sizeof key_headers[0]; i++)
        if ((v = http_msg_header(req, key_headers[i])) != NULL) {
            auth_key(auth, "api_key", v, strlen(v));
            return auth;
        }
    /* ?key=... (Gemini) */
    const char *q = t->query, *end = t->query ? t->query + t->query_len : NULL;
    while (q && q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pe = amp ? amp : end;
        if ((size_t)(pe - q) > 4 && memcmp(q, "key=", 4) == 0) {
            char key[512];
            decode_pct(q + 4, (size_t)(pe - q - 4), key, sizeof key);
            auth_key(auth, "api_key", key, strlen(key));
            memset(key, 0, sizeof key);
            return auth;
        }
        q = amp ? amp + 1 : end;
    }
    json_object_set_new(auth, "type", json_string("none"));
    return auth;
}

/* ---- messages, tools, parameters ------------------------------------------- */

void dmsg_init(dmsg *m, const char *role)
{
    memset(m, 0, sizeof *m);
    m->role = role;
}

void dmsg_clear(dmsg *m)
{
    dbuf_free(&m->text);
    json_decref(m->tool_calls);
    m->tool_calls = NULL;
}

void dmsg_text(dmsg *m, const char *s, size_t n)
{
    if (!s)
        return;
    if (m->parts++ > 0)
        dbuf_put(&m->text, "\n", 1);
    dbuf_put(&m->text, s, n);
}

void dmsg_image(dmsg *m)
{
    m->images++;
}

int dmsg_part(dmsg *m, const json_t *part)
{
    size_t n;
    const char *s = dj_strn(part, &n);
    if (s) {
        dmsg_text(m, s, n);
        return 1;
    }
    if (!json_is_object(part))
        return 0;
    const char *type = dj_str(part, "type");
    if (!type || strcmp(type, "text") == 0 || strcmp(type, "input_text") == 0 ||
        strcmp(type, "output_text") == 0 || strcmp(type, "refusal") == 0) {
        const json_t *t = json_object_get(part, "text");
        if (!t && type && strcmp(type, "refusal") == 0)
            t = json_object_get(part, "refusal");
        if ((s = dj_strn(t, &n)) != NULL) {
            dmsg_text(m, s, n);
            return 1;
        }
        return 0;
    }
    if (strcmp(type, "image_url") == 0 || strcmp(type, "image") == 0 ||
        strcmp(type, "input_image") == 0 || strcmp(type, "image_file") == 0) {
        dmsg_image(m);
        return 1;
    }
    return 0;
}

void dmsg_content(dmsg *m, const json_t *content)
{
    if (json_is_array(content)) {
        size_t i;
        json_t *part;
        json_array_foreach(content, i, part)
            dmsg_part(m, part);
    } else if (content) {
        dmsg_part(m, content);
    }
}

void dmsg_tool_call(dmsg *m, const char *id, const char *name, const json_t *args)
{
    json_t *tc = json_object();
    if (id && *id)
        json_object_set_new(tc, "id", json_string(id));
    if (name && *name)
        json_object_set_new(tc, "name", json_string(name));
    json_object_set_new(tc, "type", json_string("function"));
    size_t n;
    const char *s = dj_strn(args, &n);
    if (s)
        json_object_set_new(tc, "arguments", decode_args_value(s, n));
    else if (json_is_object(args))
        json_object_set_new(tc, "arguments", json_deep_copy(args));
    if (!m->tool_calls)
        m->tool_calls = json_array();
    json_array_append_new(m->tool_calls, tc);
}

/* Provider roles onto the OISP enum (system, user, assistant, tool, function). */
static const char *oisp_role(const char *role)
{
    static const struct {
        const char *from, *to;
    } map[] = {
        {"system", "system"}, {"developer", "system"},
        {"user", "user"}, {"human", "user"},
        {"assistant", "assistant"}, {"model", "assistant"}, {"ai", "assistant"},
        {"bot", "assistant"}, {"chatbot", "assistant"},
        {"tool", "tool"}, {"ipython", "tool"}, {"function", "function"},
    };
    for (size_t i = 0; role && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(role, map[i].from) == 0)
            return map[i].to;
    return NULL;
}

void dreq_push(dreq *r, dmsg *m)
{
    const char *role = oisp_role(m->role);
    json_t *msg = json_object();
    json_object_set_new(msg, "role", json_string(role ? role : "user"));
    if (!role && m->role)
        json_object_set_new(msg, "original_role", json_string(m->role));
    if (m->parts > 0) {
        /* parts of parsed JSON strings: valid UTF-8 already */
        json_object_set_new(msg, "content", json_stringn_nocheck(dbuf_str(&m->text), m->text.len));
        json_object_set_new(msg, "content_length",
                            json_integer((json_int_t)decode_utf8_chars(m->text.p, m->text.len)));
    }
    if (m->images > 0) {
        json_object_set_new(msg, "has_images", json_true());
        json_object_set_new(msg, "image_count", json_integer(m->images));
        r->images += m->images;
    }
    if (m->tool_call_id[0])
        json_object_set_new(msg, "tool_call_id", json_string(m->tool_call_id));
    if (m->name[0])
        json_object_set_new(msg, "name", json_string(m->name));
    if (m->is_error)
        json_object_set_new(msg, "is_error", json_true());
    if (m->tool_calls) {
        json_object_set_new(msg, "tool_calls", m->tool_calls);
        m->tool_calls = NULL;
    }
    if (role && strcmp(role, "system") == 0) {
        if (r->has_system)
            dbuf_put(&r->system, "\n", 1);
        dbuf_put(&r->system, m->text.p, m->text.len);
        r->has_system = 1;
    }
    if (!r->messages)
        r->messages = json_array();
    json_array_append_new(r->messages, msg);
    dmsg_clear(m);
}

void dreq_push_turn(dreq *r, dmsg *m, int results)
{
    if (!results || m->parts || m->images || m->tool_calls)
        dreq_push(r, m);
    else
        dmsg_clear(m);
}

void dreq_message(dreq *r, const char *role, const json_t *content)
{
    dmsg m;
    dmsg_init(&m, role);
    dmsg_content(&m, content);
    dreq_push(r, &m);
}

void dreq_tool(dreq *r, const char *name, const char *type, const char *description)
{
    json_t *t = json_object();
    if (name && *name)
        json_object_set_new(t, "name", json_string(name));
    json_object_set_new(t, "type", json_string(decode_tool_type(type)));
    if (description && *description)
        json_object_set_new(t, "description", json_string(description));
    if (!r->tools)
        r->tools = json_array();
    json_array_append_new(r->tools, t);
}

void dreq_tool_choice(dreq *r, const char *choice, const char *name)
{
    if (!choice || !*choice)
        return;
    dreq_set(r, "tool_choice", json_string(choice));
    if (name && *name)
        dreq_set(r, "tool_choice_name", json_string(name));
}

enum { P_NUM, P_INT, P_STOP };

static const struct {
    const char *key, *oisp;
    int kind;
} PARAM_KEYS[] = {
    {"temperature", "temperature", P_NUM},
    {"top_p", "top_p", P_NUM}, {"topP", "top_p", P_NUM},
    {"max_tokens", "max_tokens", P_INT}, {"max_completion_tokens", "max_tokens", P_INT},
    {"max_output_tokens", "max_tokens", P_INT}, {"maxOutputTokens", "max_tokens", P_INT},
    {"num_predict", "max_tokens", P_INT}, {"maxTokens", "max_tokens", P_INT},
    {"max_tokens_to_sample", "max_tokens", P_INT}, {"max_new_tokens", "max_tokens", P_INT},
    {"frequency_penalty", "frequency_penalty", P_NUM}, {"frequencyPenalty", "frequency_penalty", P_NUM},
    {"presence_penalty", "presence_penalty", P_NUM}, {"presencePenalty", "presence_penalty", P_NUM},
    {"stop", "stop", P_STOP}, {"stop_sequences", "stop", P_STOP}, {"stopSequences", "stop", P_STOP},
    {"top_k", "top_k", P_INT}, {"topK", "top_k", P_INT}, {"seed", "seed", P_INT},
};

/* A real that is a whole number within json_int_t's range (2.0 for a
 * seed): converting one outside that range is undefined behaviour. */
static int real_is_int(double d)
{
    return d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
           d == (double)(json_int_t)d;
}

static json_t *param_value(const json_t *v, int kind)
{
    if (kind == P_NUM)
        return json_is_number(v) ? json_real(json_number_value(v)) : NULL;
    if (kind == P_INT) {
        if (json_is_integer(v))
            return json_integer(json_integer_value(v));
        if (json_is_real(v) && real_is_int(json_real_value(v)))
            return json_integer((json_int_t)json_real_value(v));
        return NULL;
    }
    if (json_is_string(v)) {
        json_t *a = json_array();
        json_array_append(a, (json_t *)v);
        return a;
    }
    if (!json_is_array(v))
        return NULL;
    json_t *a = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
        if (json_is_string(e))
            json_array_append(a, e);
    return a;
}

void dreq_params(dreq *r, const json_t *src)
{
    if (!json_is_object(src))
        return;
    for (size_t i = 0; i < sizeof PARAM_KEYS / sizeof PARAM_KEYS[0]; i++) {
        json_t *v = json_object_get(src, PARAM_KEYS[i].key);
        if (!v || (r->params && json_object_get(r->params, PARAM_KEYS[i].oisp)))
            continue;
        json_t *pv = param_value(v, PARAM_KEYS[i].kind);
        if (!pv)
            continue;
        if (!r->params)
            r->params = json_object();
        json_object_set_new(r->params, PARAM_KEYS[i].oisp, pv);
    }
}

void dreq_model(dreq *r, const char *model)
{
    if (model && *model && !r->call->model[0])
        decode_copy(r->call->model, sizeof r->call->model, model, strlen(model));
}

void dreq_param(dreq *r, const char *key, json_t *value)
{
    if (!value)
        return;
    if (!r->params)
        r->params = json_object();
    json_object_set_new(r->params, key, value);
}

void dreq_set(dreq *r, const char *key, json_t *value)
{
    if (!value)
        return;
    if (!r->extra)
        r->extra = json_object();
    json_object_set_new(r->extra, key, value);
}

/* ---- generic calls (known host, unrecognised path) ------------------------- */

static const char *generic_request_type(const char *p, size_t n)
{
    static const struct {
        const char *needle, *type;
    } map[] = {
        {"/images", "image"}, {"/audio", "audio"}, {"/moderations", "moderation"},
        {"embed", "embedding"}, {"/rerank", "other"}, {"chat", "chat"}, {"complet", "completion"},
        {"/generate", "completion"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (memmem(p, n, map[i].needle, strlen(map[i].needle)))
            return map[i].type;
    return "other";
}

static void generic_request(dreq *r, const json_t *body)
{
    dreq_model(r, dj_str(body, "model"));
    r->call->streaming = dj_true(body, "stream");
    json_t *msgs = dj_arr(body, "messages");
    if (msgs)
        openai_messages(r, msgs);
    dreq_params(r, body);
}

static void generic_response(dresp *r, const char *event, const json_t *obj)
{
    (void)event;
    dresp_model(r, dj_str(obj, "model"));
    dresp_id(r, dj_str(obj, "id"));
    json_t *u = dj_obj(obj, "usage");
    if (u)
        openai_usage(r, u);
}

const dec_api_ops dec_generic_ops = {NULL, generic_request, generic_response};

/* ---- provider detection and ai.request assembly --------------------------- */

json_t *provider_object(const ai_call *c)
{
    json_t *p = json_object();
    json_object_set_new(p, "name", json_string(c->provider));
    json_object_set_new(p, "endpoint", json_string(c->endpoint));
    if (strcmp(c->provider, "other") == 0 || strcmp(c->provider, c->provider_real) != 0)
        json_object_set_new(p, "real_name", json_string(c->provider_real));
    return p;
}

json_t *model_object(const char *id)
{
    json_t *m = json_object();
    json_object_set_new(m, "id", json_string(id));
    const char *fam = decode_model_family(id);
    if (fam)
        json_object_set_new(m, "family", json_string(fam));
    return m;
}

/* Region from "bedrock-runtime.us-east-1.amazonaws.com". */
static void bedrock_region(const char *host, char *out, size_t outlen)
{
    const char *d = strchr(host, '.');
    if (!d)
        return;
    const char *e = strchr(d + 1, '.');
    if (e && strncmp(e, ".amazonaws.com", 14) == 0)
        decode_copy(out, outlen, d + 1, (size_t)(e - d - 1));
}

/* Looks for "model":"..." in a body that did not parse (cut by the capture
 * limit): enough to name the model of a huge request. */
static void scan_model(const http_msg *req, char *out, size_t outlen)
{
    const char *b = (const char *)req->body;
    size_t n = req->body_len < 4096 ? req->body_len : 4096; /* "model" leads in practice */
    const char *key = "\"model\"";
    for (size_t i = 0; b && i + 8 < n; i++) {
        if (b[i] != '"' || memcmp(b + i, key, 7) != 0)
            continue;
        size_t j = i + 7;
        while (j < n && (b[j] == ' ' || b[j] == ':'))
            j++;
        if (j >= n || b[j] != '"')
            continue;
        size_t k = ++j;
        while (k < n && b[k] != '"' && b[k] != '\\' && k - j < outlen - 1)
            k++;
        if (k < n && b[k] == '"')
            decode_copy(out, outlen, b + j, k - j);
        return;
    }
}

int json_media(const char *ct)
{
    return !ct || strcasestr(ct, "json") != NULL;
}

/* JSON media types, and any body that starts like a JSON object (clients
 * such as curl -d send JSON as form data); never multipart uploads. */
static int body_may_be_json(const http_msg *req)
{
    const char *ct = http_msg_header(req, "content-type");
    if (json_media(ct))
        return 1;
    if (strncasecmp(ct, "multipart/", 10) == 0)
        return 0;
    size_t i = 0;
    while (i < req->body_len && isspace(req->body[i]))
        i++;
    return i < req->body_len && req->body[i] == '{';
}

/* A body cut short by the capture (over --max-capture, a lost record) does
 * not parse; on an API path, a "model" near its start is enough to report
 * the call, marked partial by the events layer. */
static int partial_body_fits_api(ai_api api, const json_t *body, const http_msg *req)
{
    if (body || api == AI_API_NONE || api == AI_API_BEDROCK ||
        !(req->flags & (HTTP_MSG_TRUNCATED | HTTP_MSG_INCOMPLETE | HTTP_MSG_CAPTURE_GAP)))
        return 0;
    char model[160] = "";
    scan_model(req, model, sizeof model);
    return model[0] != 0;
}

static json_t *parse_request_body(const http_msg *req)
{
    if (!req->body || req->body_len == 0 || !body_may_be_json(req))
        return NULL;
    json_t *body = jsonfast_loadb((const char *)req->body, req->body_len, 0, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static void assemble_request(dreq *r, const char *request_type, json_t *auth, const dpath *dp,
                             const dtarget *t)
{
    ai_call *c = r->call;
    json_t *d = r->data;
    json_t *prov = provider_object(c);
    char region[64] = {0};
    if (strcmp(c->provider, "aws_bedrock") == 0)
        bedrock_region(t->host, region, sizeof region);
    else if (dp->region[0])
        memcpy(region, dp->region, sizeof region);
    if (region[0])
        json_object_set_new(prov, "region", json_string(region));
    const char *org = http_msg_header(r->msg, "openai-organization");
    if (org && *org)
        json_object_set_new(prov, "organization_id", json_string(org));
    const char *proj = http_msg_header(r->msg, "openai-project");
    if (dp->project[0])
        json_object_set_new(prov, "project_id", json_string(dp->project));
    else if (proj && *proj)
        json_object_set_new(prov, "project_id", json_string(proj));
    json_object_set_new(d, "provider", prov);
    if (c->model[0])
        json_object_set_new(d, "model", model_object(c->model));
    json_object_set_new(d, "auth", auth);
    json_object_set_new(d, "request_type", json_string(request_type));
    json_object_set_new(d, "streaming", json_boolean(c->streaming));

    size_t nmsg = json_array_size(r->messages);
    if (r->messages)
        json_object_set_new(d, "messages", r->messages);
    r->messages = NULL;
    json_object_set_new(d, "messages_count", json_integer((json_int_t)nmsg));
    json_object_set_new(d, "has_system_prompt", json_boolean(r->has_system));
    if (r->has_system) {
        char tag[72];
        decode_sha256_tag(dbuf_str(&r->system), r->system.len, tag);
        json_object_set_new(d, "system_prompt_hash", json_string(tag));
    }
    size_t ntools = json_array_size(r->tools);
    if (r->tools)
        json_object_set_new(d, "tools", r->tools);
    r->tools = NULL;
    json_object_set_new(d, "tools_count", json_integer((json_int_t)ntools));
    if (r->params)
        json_object_set_new(d, "parameters", r->params);
    r->params = NULL;
    json_object_set_new(d, "has_images", json_boolean(r->images > 0));
    if (r->images > 0)
        json_object_set_new(d, "image_count", json_integer(r->images));
    if (r->extra)
        json_object_update(d, r->extra);
}

static void dreq_destroy(dreq *r)
{
    json_decref(r->messages);
    json_decref(r->tools);
    json_decref(r->params);
    json_decref(r->extra);
    dbuf_free(&r->system);
}

ai_call *decode_request(const http_msg *req, json_t **data)
{
    if (data)
        *data = NULL;
    if (!req || !req->is_request || strcmp(req->method, "POST") != 0 || !req->target)
        return NULL;

    dtarget t;
    parse_target(req, &t);
    dpath dp;
    ai_api api = classify_path(t.path, t.path_len, &dp);
    provider_info pi;
    int known = t.host[0] && provider_lookup(t.host, strlen(t.host), &pi);
    json_t *body = parse_request_body(req);

    const char *detection = "known_endpoint";
    if (known) {
        if (api == AI_API_BEDROCK && strcmp(pi.name, "aws_bedrock") != 0)
            api = AI_API_NONE;
        if (api == AI_API_NONE && !(body && json_is_string(json_object_get(body, "model")))) {
            json_decref(body);
            return NULL;
        }
    } else {
        if (!body_fits_api(api, body, req) && !partial_body_fits_api(api, body, req)) {
            json_decref(body);
            return NULL;
        }
        int ollama = api == AI_API_OLLAMA_CHAT || api == AI_API_OLLAMA_GENERATE || api == AI_API_OLLAMA_EMBED;
        pi.name = ollama ? "ollama" : "other";
        pi.real = ollama ? "ollama" : NULL;
        detection = api == AI_API_ANTHROPIC_MESSAGES && !json_is_string(json_object_get(body, "model"))
                        ? "header_fingerprint"
                        : "payload_inspection";
    }

    ai_call *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(body);
        return NULL;
    }
    c->api = api;
    c->detection = detection;
    c->flags = dp.flags | (body ? 0 : AI_CALL_BODY_UNPARSED);
    decode_copy(c->provider, sizeof c->provider, pi.name, strlen(pi.name));
    if (pi.real) {
        decode_copy(c->provider_real, sizeof c->provider_real, pi.real, strlen(pi.real));
    } else { /* unknown host: its name (without port) is the best real name */
        size_t hl = strcspn(t.host, ":");
        decode_copy(c->provider_real, sizeof c->provider_real, t.host[0] ? t.host : "unknown",
                    t.host[0] ? hl : 7);
    }
    build_endpoint(c, &t);
    if (dp.model[0])
        decode_copy(c->model, sizeof c->model, dp.model, strlen(dp.model));
    c->streaming = dp.streaming;
    if (api == AI_API_BEDROCK && !(c->flags & AI_CALL_BEDROCK_CONVERSE) && strstr(c->model, "anthropic."))
        c->flags |= AI_CALL_ANTHROPIC_BODY;

    const dec_api_ops *ops = api_ops(api);
    dreq r = {.msg = req, .call = c, .data = json_object()};
    if (body)
        ops->request(&r, body);
    else if (!c->model[0])
        scan_model(req, c->model, sizeof c->model);
    const char *rtype = ops->request_type ? ops->request_type : generic_request_type(t.path, t.path_len);
    assemble_request(&r, rtype, build_auth(req, &t), &dp, &t);
    dreq_destroy(&r);
    json_decref(body);
    if (data)
        *data = r.data;
    else
        json_decref(r.data);
    return c;
}

void ai_call_free(ai_call *call)
{
    free(call);
}

/* decode_priv.h: what decode.c shares with the per-API decoders (openai.c,
 * anthropic.c, gemini.c, ollama.c, bedrock.c).  Not a public API.
 *
 * - dbuf and the dj_* accessors (decode_util.c): a growable string buffer and
 *   type-checked reads of jansson values, so hostile JSON with unexpected
 *   types is simply ignored.
 * - dreq (decode.c): builds the ai.request data object.  API decoders feed
 *   it messages (dmsg), tools, tool choice and parameters; it keeps the
 *   counts, the system prompt hash and the OISP field names in one place.
 * - dresp (decode.c): accumulates an ai.response from one JSON body or from
 *   many stream documents (SSE events, NDJSON lines, JSON array elements,
 *   Bedrock event-stream frames): text per choice, tool calls keyed by the
 *   provider's index, usage, finish reason, model, errors.  dresp_build()
 *   turns it into OISP fields.
 * - dec_api_ops: one per API; decode.c picks it from the request path. */
#ifndef OISP_DECODE_PRIV_H
#define OISP_DECODE_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "decode/decode.h"

/* ---- decode_util.c -------------------------------------------------- */

#define DECODE_MAX_TEXT ((size_t)32 << 20) /* bound on any accumulated text */

typedef struct dbuf {
    char *p;
    size_t len, cap;
} dbuf;

void dbuf_put(dbuf *b, const char *s, size_t n);
void dbuf_puts(dbuf *b, const char *s);
const char *dbuf_str(const dbuf *b); /* NUL-terminated; "" when empty */
void dbuf_free(dbuf *b);

const char *dj_str(const json_t *o, const char *key);   /* string member or NULL */
json_t *dj_obj(const json_t *o, const char *key);       /* object member or NULL */
json_t *dj_arr(const json_t *o, const char *key);       /* array member or NULL */
int dj_int(const json_t *o, const char *key, json_int_t *out); /* integer member */
int dj_true(const json_t *o, const char *key);          /* member is true */
json_t *dj_get2(const json_t *o, const char *k1, const char *k2); /* k1, else k2 */
/* Strings only: s and its length in *n (NULL when v is not a string). */
const char *dj_strn(const json_t *v, size_t *n);
/* A scalar id or code as a string ("400" for 400); NULL for other types. */
const char *dj_scalar(const json_t *v, char *tmp, size_t tmplen);

size_t decode_utf8_chars(const char *s, size_t n);
/* "sha256:" + 64 hex digits of SHA-256(p[0..n)) into out[72]. */
void decode_sha256_tag(const void *p, size_t n, char out[72]);
/* Tool-call arguments: the JSON object when s parses as one, else the string. */
json_t *decode_args_value(const char *s, size_t n);
/* Percent-decode src[0..n) into dst (NUL-terminated, truncated to dstlen). */
void decode_pct(const char *src, size_t n, char *dst, size_t dstlen);
/* Copy at most dstlen-1 bytes and NUL-terminate. */
void decode_copy(char *dst, size_t dstlen, const char *src, size_t n);
/* Model family for well-known model ids ("gpt-4o-2024-08-06" -> "gpt-4o"). */
const char *decode_model_family(const char *model);
/* Maps provider finish/stop reasons onto the OISP enum. */
const char *decode_finish_reason(const char *raw);
/* OISP tool_definition.type for a provider's tool type ("function" if NULL). */
const char *decode_tool_type(const char *raw);

/* ---- request builder (decode.c) --------------------------------------- */

typedef struct dmsg {
    const char *role;       /* provider role; mapped onto the OISP enum */
    dbuf text;              /* text parts joined with "\n" */
    int parts;
    int images;
    json_t *tool_calls;     /* assistant's tool calls, or NULL */
    char tool_call_id[128];
    char name[160];
    int is_error;           /* tool result reported an error */
} dmsg;

typedef struct dreq {
    const http_msg *msg;
    ai_call *call;
    json_t *data;
    json_t *messages;
    json_t *tools;
    json_t *params;         /* parameters{} */
    json_t *extra;          /* further data fields (tool_choice, input_count, ...) */
    dbuf system;            /* all system text, for the hash */
    int has_system;
    int images;
} dreq;

void dmsg_init(dmsg *m, const char *role);
void dmsg_text(dmsg *m, const char *s, size_t n);
/* Content as a string or an array of typed parts ("text", "input_text",
 * "output_text", "image_url", "image", "input_image", ...). */
void dmsg_content(dmsg *m, const json_t *content);
/* One typed part; returns 1 if it was recognised. */
int dmsg_part(dmsg *m, const json_t *part);
void dmsg_image(dmsg *m);
/* args: a JSON string (parsed if it holds an object) or an object, or NULL. */
void dmsg_tool_call(dmsg *m, const char *id, const char *name, const json_t *args);
void dmsg_clear(dmsg *m);
/* Appends m to the request's messages and clears m. */
void dreq_push(dreq *r, dmsg *m);
/* The rest of a turn whose tool results were pushed as separate "tool"
 * messages: pushed only if something is left (or there were no results). */
void dreq_push_turn(dreq *r, dmsg *m, int results);
/* Convenience: one message from a role and a content value. */
void dreq_message(dreq *r, const char *role, const json_t *content);
void dreq_tool(dreq *r, const char *name, const char *type, const char *description);
void dreq_tool_choice(dreq *r, const char *choice, const char *name);
/* Reads temperature, top_p, max_tokens, ..., stop under any provider's key
 * spelling from src (the body, generationConfig, options, inferenceConfig). */
void dreq_params(dreq *r, const json_t *src);
void dreq_model(dreq *r, const char *model);
void dreq_set(dreq *r, const char *key, json_t *value);   /* steals value */
void dreq_param(dreq *r, const char *key, json_t *value); /* parameters.key; steals */

/* ---- response accumulator (decode.c) ----------------------------------- */

#define DRESP_MAX_CHOICES 16
#define DRESP_MAX_TOOLS   512

typedef enum { U_PROMPT, U_COMPLETION, U_TOTAL, U_CACHED, U_REASONING, U_CACHE_WRITE, U_COUNT } dusage;

typedef struct dchoice {
    int used;
    dbuf text, thinking, refusal;
    const char *finish;     /* OISP enum value or NULL */
} dchoice;

typedef struct dtool {
    int choice, key;
    char id[128];
    char name[160];
    dbuf args;              /* streamed argument text */
    json_t *args_obj;       /* arguments given as an object */
} dtool;

typedef struct dresp {
    const ai_call *call;
    const http_msg *req, *resp;
    dchoice choices[DRESP_MAX_CHOICES];
    dtool *tools;
    size_t ntools, tools_cap;
    json_int_t usage[U_COUNT];  /* -1 when not reported */
    char model[160];
    char id[160];
    json_t *error;          /* error object built from the body, or NULL */
    const char *finish;     /* response-level finish reason (OISP enum) */
    size_t cur_offset;      /* body offset of the document being decoded */
    int64_t first_offset;   /* offset of the first content-bearing document */
    int streamed;
    int embeddings;         /* embedding vectors returned */
    int dimensions;
    int extra_count;        /* per-API bookkeeping (e.g. Gemini part counter) */
} dresp;

void dresp_text(dresp *r, int choice, const char *s, size_t n);
void dresp_thinking(dresp *r, int choice, const char *s, size_t n);
void dresp_refusal(dresp *r, int choice, const char *s, size_t n);
void dresp_content(dresp *r, int choice, const json_t *content); /* string or parts */
void dresp_finish(dresp *r, int choice, const char *raw);
/* The tool call identified by (choice, key); created when `create`. */
dtool *dresp_tool(dresp *r, int choice, int key, int create);
void dtool_set(dtool *t, const char *id, const char *name);
void dtool_args(dresp *r, dtool *t, const json_t *args); /* string delta or object */
void dresp_usage(dresp *r, dusage u, const json_t *v);
/* Anthropic and Bedrock count input without cached tokens: prompt_tokens is
 * input + cache reads + cache writes, cached_tokens the cache reads.  Any
 * argument may be NULL (not in this usage object). */
void dresp_usage_uncached(dresp *r, const json_t *input, const json_t *cache_read,
                          const json_t *cache_write, const json_t *output);
void dresp_model(dresp *r, const char *model);
void dresp_id(dresp *r, const char *id);
/* Error from an error object or string: OpenAI, Anthropic, Gemini, Ollama,
 * Bedrock, FastAPI shapes.  Returns 1 if obj looked like an error. */
int dresp_error(dresp *r, const json_t *obj);
/* Marks the current document as carrying output (for time to first token). */
void dresp_mark_content(dresp *r);

typedef struct dec_api_ops dec_api_ops;
/* Decodes one response document found at body offset `offset`: error shapes
 * are recorded, then ops->response runs. */
void dresp_document(dresp *r, const dec_api_ops *ops, const char *event, const json_t *doc, size_t offset);

/* ---- shared by decode.c and response.c ---------------------------------- */

json_t *provider_object(const ai_call *c);   /* provider{name, endpoint, ...} */
json_t *model_object(const char *id);        /* model{id, family} */
const dec_api_ops *api_ops(ai_api api);
int json_media(const char *content_type);    /* absent or *json* */

/* ---- API table ---------------------------------------------------------- */

struct dec_api_ops {
    const char *request_type;   /* OISP request_type */
    /* Decodes a parsed request body (an object) into r. */
    void (*request)(dreq *r, const json_t *body);
    /* One response document: the whole body, or one stream element.  event
     * is the SSE event name or Bedrock event type (NULL for plain JSON). */
    void (*response)(dresp *r, const char *event, const json_t *obj);
};

extern const dec_api_ops dec_openai_chat_ops, dec_openai_completions_ops,
    dec_openai_responses_ops, dec_openai_embeddings_ops;
extern const dec_api_ops dec_anthropic_ops;
extern const dec_api_ops dec_gemini_generate_ops, dec_gemini_embed_ops;
extern const dec_api_ops dec_ollama_chat_ops, dec_ollama_generate_ops, dec_ollama_embed_ops;
extern const dec_api_ops dec_bedrock_ops;
/* Known AI host, unrecognised path, JSON body with a "model": request_type
 * from the path, OpenAI-like fields where present. */
extern const dec_api_ops dec_generic_ops;

/* OpenAI-style messages array (also used for generic/Cohere-like bodies). */
void openai_messages(dreq *r, const json_t *messages);
/* OpenAI-style "usage" object (prompt_tokens, completion_tokens, details). */
void openai_usage(dresp *r, const json_t *usage);
/* OpenAI chat "tools" array and "tool_choice" (Ollama uses the same shapes). */
void openai_tools(dreq *r, const json_t *body);

/* Gemini path: "/v1beta/models/gemini-1.5-pro:streamGenerateContent" ->
 * model and method; Vertex paths also give region and project. */
typedef struct gemini_path {
    char model[160];
    char method[32];     /* "generateContent", "streamRawPredict", ... */
    char region[64];
    char project[128];
    int publisher_anthropic;
} gemini_path;
int gemini_parse_path(const char *path, size_t len, gemini_path *out);

/* Bedrock path: "/model/{id}/converse-stream" -> model and action. */
typedef struct bedrock_path {
    char model[160];
    char action[32];     /* invoke, invoke-with-response-stream, converse, converse-stream */
} bedrock_path;
int bedrock_parse_path(const char *path, size_t len, bedrock_path *out);
/* Decodes an application/vnd.amazon.eventstream body into r; returns the
 * number of frames decoded. */
size_t bedrock_eventstream(dresp *r, const uint8_t *body, size_t len);

#endif

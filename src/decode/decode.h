/* decode.h: recognise AI provider API calls in HTTP exchanges and decode
 * them into OISP v0.1 `ai.request` / `ai.response` data objects.
 *
 * The provider comes from the Host header (api.openai.com, api.anthropic.com,
 * ...), and for unknown hosts from the path and body shape
 * (/v1/chat/completions with a "model" means OpenAI-compatible).  The API
 * decoders (OpenAI Chat Completions and Responses, Anthropic Messages, Gemini
 * generateContent, embeddings, Ollama) read JSON bodies and SSE streams.
 * Nothing here knows about capture or sinks: input is http_msg, output is
 * jansson objects. */
#ifndef OISP_DECODE_DECODE_H
#define OISP_DECODE_DECODE_H

#include <jansson.h>

#include "stream/http.h"

typedef enum ai_api {
    AI_API_NONE = 0,
    AI_API_OPENAI_CHAT,        /* POST .../chat/completions */
    AI_API_OPENAI_COMPLETIONS, /* POST .../completions (legacy) */
    AI_API_OPENAI_RESPONSES,   /* POST .../responses */
    AI_API_OPENAI_EMBEDDINGS,  /* POST .../embeddings */
    AI_API_ANTHROPIC_MESSAGES, /* POST /v1/messages */
    AI_API_GEMINI_GENERATE,    /* POST .../models/M:generateContent | :streamGenerateContent */
    AI_API_GEMINI_EMBED,       /* POST .../models/M:embedContent | :batchEmbedContents */
    AI_API_OLLAMA_CHAT,        /* POST /api/chat */
    AI_API_OLLAMA_GENERATE,    /* POST /api/generate */
    AI_API_OLLAMA_EMBED,       /* POST /api/embed, /api/embeddings */
    AI_API_BEDROCK,            /* POST /model/{id}/invoke | converse (+ -stream) */
} ai_api;

/* What decoding a request learnt; kept until its response is decoded. */
typedef struct ai_call {
    ai_api api;
    char provider[24];      /* OISP provider.name (closed enum; "other" if not in it) */
    char provider_real[48]; /* the real provider ("deepseek", "openrouter", ...) */
    char model[160];        /* model id as requested ("" if none) */
    int streaming;          /* the request asked for a stream */
    const char *detection;  /* confidence.ai_detection_method value */
    char endpoint[512];     /* provider.endpoint: https://host/path, secrets removed */
    unsigned flags;         /* AI_CALL_* */
} ai_call;

/* ai_call.flags */
#define AI_CALL_BODY_UNPARSED    0x01 /* request body was not (complete) JSON: metadata only */
#define AI_CALL_BEDROCK_CONVERSE 0x02 /* Bedrock Converse API (else InvokeModel) */
#define AI_CALL_ANTHROPIC_BODY   0x04 /* Bedrock InvokeModel of an Anthropic model */

/* Returns a new ai_call and sets *data to the ai.request data object (no
 * request_id / conversation_id: the events layer adds them), or returns NULL
 * when req is not an AI API call.  API keys and Authorization values are never
 * copied: auth.key_prefix (<= 8 chars) and auth.key_hash ("sha256:<hex>") only. */
ai_call *decode_request(const http_msg *req, json_t **data);

/* The ai.response data for the response to call (no request_id).  Status and
 * success come from resp; error bodies become error{type,message,code};
 * latency_ms = resp->ts_end - req->ts_end (req may be NULL: then from
 * resp->ts_start); time_to_first_token_ms from the body marks of the first
 * content-bearing SSE event. */
json_t *decode_response(const ai_call *call, const http_msg *req, const http_msg *resp);

void ai_call_free(ai_call *call);

/* Extends the host -> provider table with an OISP provider bundle (v1
 * "domain_index" or v2 "domain_lookup", plus "domain_patterns").  Built-in
 * hosts keep their mapping.  Returns the number of entries added, or -1 with
 * a message in err.  Call at start-up, before decoding starts. */
int provider_bundle_load(const char *path, char *err, size_t errlen);

#endif

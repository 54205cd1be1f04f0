/* fuzz.h: what the libFuzzer targets in fuzz/ share, and the layout of their
 * inputs, which fuzz/seedgen.c must write the same way.
 *
 * Most targets read a few leading control bytes (how to split the rest into
 * feeds, which limits, which coding, which API path) and treat the rest as
 * the untrusted bytes.  The split is drawn from a small PRNG seeded by a
 * control byte, so one input always replays the same way, and the fuzzer
 * can still explore where reads end, which is where incremental parsers
 * break.  Invariant checks abort through FUZZ_CHECK, which libFuzzer
 * reports as a crash with the input saved.
 *
 * Input layouts (byte 0 first):
 *   http_request, http_response  [split][opts] stream
 *   http_chunked                 [split][coding] chunked body (head is fixed)
 *   content                      [coding][split] encoded body
 *   sse                          [split][limit] event stream
 *   conn                         a record stream (see fuzz_conn.c)
 *   decode_*                     [path][resp][flags] request FUZZ_SEP response body
 *   jsonfast, secrets, toml      the raw text
 *   dns                          a DNS message (a UDP datagram's payload) */
#ifndef OISP_FUZZ_H
#define OISP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* Separates the request body from the response body in decode_* inputs. */
#define FUZZ_SEP "\n--oisp-fuzz--\n"
#define FUZZ_SEP_LEN (sizeof(FUZZ_SEP) - 1)

/* Content codings a control byte selects (content, http_chunked). */
static const char *const FUZZ_CODINGS[] = {
    "identity", "gzip", "deflate", "br", "zstd", "x-gzip", "gzip, br", "zstd, deflate",
};
#define FUZZ_NCODINGS (sizeof(FUZZ_CODINGS) / sizeof(FUZZ_CODINGS[0]))

/* xorshift32: deterministic piece sizes from a seed byte. */
typedef struct fuzz_rng {
    uint32_t s;
} fuzz_rng;

static inline void fuzz_rng_init(fuzz_rng *r, uint8_t seed) { r->s = 0x9e3779b9u ^ ((uint32_t)seed * 0x01000193u); }

static inline uint32_t fuzz_rng_next(fuzz_rng *r)
{
    uint32_t x = r->s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return r->s = x ? x : 1;
}

/* The size of the next feed out of `left` bytes: seed 0 feeds everything at
 * once, small seeds single bytes and tiny pieces, others a mix up to 4 KiB. */
static inline size_t fuzz_piece(fuzz_rng *r, uint8_t seed, size_t left)
{
    size_t n;
    if (seed == 0)
        n = left;
    else if (seed < 8)
        n = 1 + fuzz_rng_next(r) % seed;
    else
        n = 1 + fuzz_rng_next(r) % ((fuzz_rng_next(r) & 1) ? 16 : 4096);
    return n < left ? n : left;
}

/* Provider API paths the decode_* targets pick from with their first byte. */
typedef struct fuzz_api {
    const char *target;
    const char *headers; /* "Name: value\n" lines */
} fuzz_api;

#define FUZZ_H_OPENAI "Host: api.openai.com\nAuthorization: Bearer sk-proj-FUZZkey0000000000000000000000000000\n"
#define FUZZ_H_AZURE "Host: acme.openai.azure.com\napi-key: 0123456789abcdef0123456789abcdef\n"
#define FUZZ_H_OTHER "Host: llm.example.org:8443\n"
#define FUZZ_H_ANT "Host: api.anthropic.com\nx-api-key: sk-ant-api03-FUZZkey00000000000000000000000\nanthropic-version: 2023-06-01\n"
#define FUZZ_H_GEM "Host: generativelanguage.googleapis.com\nx-goog-api-key: AIzaSyFUZZkey000000000000000000000000000\n"
#define FUZZ_H_VERTEX "Host: us-east5-aiplatform.googleapis.com\nAuthorization: Bearer ya29.FUZZtoken\n"
#define FUZZ_H_OLL "Host: localhost:11434\n"
#define FUZZ_H_BR "Host: bedrock-runtime.us-east-1.amazonaws.com\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIAFUZZKEY000000000/20250101/us-east-1/bedrock/aws4_request\n"

static const fuzz_api FUZZ_OPENAI_APIS[] = {
    {"/v1/chat/completions", FUZZ_H_OPENAI},
    {"/v1/completions", FUZZ_H_OPENAI},
    {"/v1/responses", FUZZ_H_OPENAI},
    {"/v1/embeddings", FUZZ_H_OPENAI},
    {"/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21", FUZZ_H_AZURE},
    {"/v1/chat/completions", FUZZ_H_OTHER},
};
static const fuzz_api FUZZ_ANTHROPIC_APIS[] = {
    {"/v1/messages", FUZZ_H_ANT},
    {"/v1/messages", FUZZ_H_OTHER},
    {"/v1/projects/acme/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet@20240620:rawPredict",
     FUZZ_H_VERTEX},
    {"/v1/projects/acme/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet@20240620:streamRawPredict",
     FUZZ_H_VERTEX},
};
static const fuzz_api FUZZ_GEMINI_APIS[] = {
    {"/v1beta/models/gemini-2.0-flash:generateContent", FUZZ_H_GEM},
    {"/v1beta/models/gemini-2.0-flash:streamGenerateContent", FUZZ_H_GEM},
    {"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", FUZZ_H_GEM},
    {"/v1beta/models/text-embedding-004:embedContent", FUZZ_H_GEM},
    {"/v1beta/models/text-embedding-004:batchEmbedContents", FUZZ_H_GEM},
    {"/v1/projects/acme/locations/europe-west4/publishers/google/models/gemini-2.0-flash-001:generateContent",
     FUZZ_H_VERTEX},
};
static const fuzz_api FUZZ_OLLAMA_APIS[] = {
    {"/api/chat", FUZZ_H_OLL},
    {"/api/generate", FUZZ_H_OLL},
    {"/api/embed", FUZZ_H_OLL},
    {"/api/embeddings", FUZZ_H_OLL},
};
static const fuzz_api FUZZ_BEDROCK_APIS[] = {
    {"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", FUZZ_H_BR},
    {"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", FUZZ_H_BR},
    {"/model/anthropic.claude-3-5-sonnet-20240620-v1:0/invoke", FUZZ_H_BR},
    {"/model/anthropic.claude-3-5-sonnet-20240620-v1:0/invoke-with-response-stream", FUZZ_H_BR},
    {"/model/amazon.nova-pro-v1:0/invoke", FUZZ_H_BR},
    {"/model/meta.llama3-70b-instruct-v1:0/converse", FUZZ_H_BR},
};
#define FUZZ_NAPIS(a) (sizeof(a) / sizeof((a)[0]))

/* Response headers and statuses the second control byte of decode_* picks:
 * content type = FUZZ_RESP_TYPES[b % 6], status = FUZZ_STATUSES[(b / 6) % 6].
 * The third byte holds FUZZ_DF_* flags. */
static const char *const FUZZ_RESP_TYPES[] = {
    "Content-Type: application/json\n",
    "Content-Type: text/event-stream\n",
    "Content-Type: application/x-ndjson\n",
    "Content-Type: application/vnd.amazon.eventstream\n",
    "",
    "Content-Type: text/html; charset=utf-8\n",
};
static const int FUZZ_STATUSES[] = {200, 200, 400, 429, 500, 204};
#define FUZZ_RESP_JSON 0
#define FUZZ_RESP_SSE 1
#define FUZZ_RESP_NDJSON 2
#define FUZZ_RESP_EVENTSTREAM 3
#define FUZZ_DF_REQ_TRUNCATED  0x01 /* request body cut at the body limit */
#define FUZZ_DF_RESP_INCOMPLETE 0x02 /* response ended early (close, gap) */
#define FUZZ_DF_NO_REQUEST     0x04 /* decode_response gets req == NULL */
#define FUZZ_DF_RESP_GAP       0x08 /* response lost bytes (capture gap) */
#define FUZZ_DF_ONE_MARK       0x10 /* whole body arrived at once */

#endif

/* decode_util.c: small helpers shared by every API decoder: a growable string
 * buffer (dbuf), type-checked jansson accessors (dj_*), UTF-8 character
 * counting, SHA-256 tags, percent-decoding, and the tables that map provider
 * vocabularies onto OISP enums (finish reasons, tool types, model families).
 * Everything here is pure: no globals, no I/O. */
#include "decode/decode_priv.h"
#include "util/jsonfast.h"

#include <ctype.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/sha256.h"
#include "util/texthash.h"

/* ---- dbuf ----------------------------------------------------------- */

void dbuf_put(dbuf *b, const char *s, size_t n)
{
    if (n == 0 || b->len >= DECODE_MAX_TEXT)
        return;
    if (n > DECODE_MAX_TEXT - b->len) {
        n = DECODE_MAX_TEXT - b->len;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* cut on a character boundary: the text stays valid UTF-8 */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void dbuf_puts(dbuf *b, const char *s)
{
    if (s)
        dbuf_put(b, s, strlen(s));
}

const char *dbuf_str(const dbuf *b)
{
    return b->len ? b->p : "";
}

void dbuf_free(dbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- jansson accessors ------------------------------------------------ */

const char *dj_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

json_t *dj_obj(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_object(v) ? v : NULL;
}

json_t *dj_arr(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_array(v) ? v : NULL;
}

int dj_int(const json_t *o, const char *key, json_int_t *out)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    return 0;
}

int dj_true(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

json_t *dj_get2(const json_t *o, const char *k1, const char *k2)
{
    json_t *v = json_object_get(o, k1);
    return v ? v : json_object_get(o, k2);
}

const char *dj_strn(const json_t *v, size_t *n)
{
    if (!json_is_string(v))
        return NULL;
    *n = json_string_length(v);
    return json_string_value(v);
}

const char *dj_scalar(const json_t *v, char *tmp, size_t tmplen)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return tmp;
    }
    return NULL;
}

/* ---- text ------------------------------------------------------------- */

/* The number of code points in s[0..n): the bytes that are not UTF-8
 * continuation bytes (10xxxxxx), counted sixteen at a time with SSE2 (see
 * below) and the tail one by one. */
size_t decode_utf8_chars(const char *s, size_t n)
{
    size_t cont = 0, i = 0;
#ifdef __SSE2__
    /* 16 bytes at a time: as signed bytes, continuation bytes are the ones
     * below -64.  Each lane counts up to 255 blocks, then the lanes are
     * summed (psadbw). */
    const __m128i lim = _mm_set1_epi8(-64);
    while (n - i >= 16) {
        size_t blocks = (n - i) / 16;
        size_t end = i + 16 * (blocks > 255 ? 255 : blocks);
        __m128i acc = _mm_setzero_si128();
        for (; i < end; i += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            acc = _mm_sub_epi8(acc, _mm_cmplt_epi8(v, lim));
        }
        __m128i sums = _mm_sad_epu8(acc, _mm_setzero_si128());
        cont += (size_t)_mm_cvtsi128_si32(sums) + (size_t)_mm_extract_epi16(sums, 4);
    }
#endif
    for (; i < n; i++)
        cont += ((unsigned char)s[i] & 0xC0) == 0x80;
    return n - cont;
}

/* Each thread remembers the tags it made last, by a keyed hash of the
 * bytes: the same API key comes with every request and the same system
 * prompt with every turn, and SHA-256 of them each time was 3-5% of the
 * sensor's CPU.  No key is kept, only its hash and its tag. */
#define TAG_SLOTS 64 /* direct-mapped, a power of two */

typedef struct tag_slot {
    texthash h;
    char tag[72]; /* "" when empty */
} tag_slot;

static _Thread_local tag_slot tag_memo[TAG_SLOTS];

static void sha256_tag(const void *p, size_t n, char out[72])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_LEN];
    sha256(p, n, md);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < SHA256_LEN; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[71] = 0;
}

void decode_sha256_tag(const void *p, size_t n, char out[72])
{
    texthash h = texthash_keyed(p, n);
    tag_slot *s = &tag_memo[h.lo & (TAG_SLOTS - 1)];
    if (s->tag[0] && s->h.lo == h.lo && s->h.hi == h.hi) {
        memcpy(out, s->tag, 72);
        return;
    }
    sha256_tag(p, n, out);
    s->h = h;
    memcpy(s->tag, out, 72);
}

json_t *decode_args_value(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    if (i < n && s[i] == '{') {
        json_t *v = jsonfast_loadb(s, n, 0, NULL);
        if (json_is_object(v))
            return v;
        json_decref(v);
    }
    return json_stringn(s, n);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void decode_pct(const char *src, size_t n, char *dst, size_t dstlen)
{
    size_t o = 0;
    if (dstlen == 0)
        return;
    for (size_t i = 0; i < n && o + 1 < dstlen; i++) {
        int hi, lo;
        if (src[i] == '%' && i + 2 < n && (hi = hexval(src[i + 1])) >= 0 &&
            (lo = hexval(src[i + 2])) >= 0) {
            char c = (char)(hi << 4 | lo);
            i += 2;
            if (c == 0)
                continue;
            dst[o++] = c;
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = 0;
}

void decode_copy(char *dst, size_t dstlen, const char *src, size_t n)
{
    if (dstlen == 0)
        return;
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* ---- vocabularies ------------------------------------------------------- */

typedef struct name_map {
    const char *from, *to;
} name_map;

/* Finish/stop reasons of OpenAI, Anthropic, Gemini, Ollama, Bedrock, Cohere
 * and the OpenAI Responses incomplete reasons, case-insensitive. */
static const name_map FINISH_MAP[] = {
    {"stop", "stop"}, {"end_turn", "stop"}, {"stop_sequence", "stop"},
    {"complete", "stop"}, {"completed", "stop"}, {"eos", "stop"},
    {"length", "length"}, {"max_tokens", "length"}, {"max_output_tokens", "length"},
    {"model_context_window_exceeded", "length"}, {"model_length", "length"},
    {"tool_calls", "tool_calls"}, {"tool_use", "tool_calls"}, {"function_call", "tool_calls"},
    {"content_filter", "content_filter"}, {"safety", "content_filter"},
    {"recitation", "content_filter"}, {"blocklist", "content_filter"},
    {"prohibited_content", "content_filter"}, {"spii", "content_filter"},
    {"image_safety", "content_filter"}, {"refusal", "content_filter"},
    {"guardrail_intervened", "content_filter"}, {"content_filtered", "content_filter"},
    {"error", "error"}, {"failed", "error"}, {"malformed_function_call", "error"},
    {"error_toxic", "content_filter"}, {"error_limit", "length"},
};

const char *decode_finish_reason(const char *raw)
{
    if (!raw || !*raw)
        return NULL;
    for (size_t i = 0; i < sizeof FINISH_MAP / sizeof FINISH_MAP[0]; i++)
        if (strcasecmp(raw, FINISH_MAP[i].from) == 0)
            return FINISH_MAP[i].to;
    return "other";
}

/* Tool types: OpenAI chat/Responses built-ins, Anthropic versioned server
 * tools ("computer_20241022"), Gemini tool kinds. Prefix match. */
static const name_map TOOL_TYPE_MAP[] = {
    {"function", "function"}, {"custom", "function"},
    {"code_interpreter", "code_interpreter"}, {"code_execution", "code_interpreter"},
    {"codeExecution", "code_interpreter"},
    {"file_search", "file_search"},
    {"computer", "computer_use"},
};

const char *decode_tool_type(const char *raw)
{
    if (!raw || !*raw)
        return "function";
    for (size_t i = 0; i < sizeof TOOL_TYPE_MAP / sizeof TOOL_TYPE_MAP[0]; i++)
        if (strncmp(raw, TOOL_TYPE_MAP[i].from, strlen(TOOL_TYPE_MAP[i].from)) == 0)
            return TOOL_TYPE_MAP[i].to;
    return "other";
}

/* Longest prefixes first within each family. */
static const name_map FAMILY_MAP[] = {
    {"gpt-4o", "gpt-4o"}, {"gpt-4.1", "gpt-4.1"}, {"gpt-4.5", "gpt-4.5"},
    {"gpt-4", "gpt-4"}, {"gpt-3.5", "gpt-3.5"}, {"gpt-5", "gpt-5"},
    {"gpt-oss", "gpt-oss"}, {"chatgpt-4o", "gpt-4o"},
    {"o1", "o1"}, {"o3", "o3"}, {"o4", "o4"},
    {"text-embedding-3", "text-embedding-3"}, {"text-embedding-ada", "text-embedding-ada"},
    {"claude-3-5", "claude-3.5"}, {"claude-3-7", "claude-3.7"}, {"claude-3", "claude-3"},
    {"claude-sonnet-4-5", "claude-4.5"}, {"claude-opus-4-5", "claude-4.5"},
    {"claude-haiku-4-5", "claude-4.5"}, {"claude-opus-4-1", "claude-4.1"},
    {"claude-sonnet-4", "claude-4"}, {"claude-opus-4", "claude-4"}, {"claude-2", "claude-2"},
    {"gemini-1.0", "gemini-1.0"}, {"gemini-1.5", "gemini-1.5"}, {"gemini-2.0", "gemini-2.0"},
    {"gemini-2.5", "gemini-2.5"}, {"gemini-3", "gemini-3"}, {"gemma", "gemma"},
    {"text-embedding-004", "text-embedding"}, {"gemini-embedding", "gemini-embedding"},
    {"llama", "llama"}, {"meta-llama", "llama"}, {"codellama", "llama"},
    {"mistral", "mistral"}, {"mixtral", "mixtral"}, {"codestral", "codestral"},
    {"deepseek", "deepseek"}, {"qwen", "qwen"}, {"phi", "phi"}, {"grok", "grok"},
    {"command", "command"}, {"titan", "titan"}, {"nova", "nova"},
};

static const char *family_at(const char *s)
{
    for (size_t i = 0; i < sizeof FAMILY_MAP / sizeof FAMILY_MAP[0]; i++) {
        size_t n = strlen(FAMILY_MAP[i].from);
        if (strncasecmp(s, FAMILY_MAP[i].from, n) == 0)
            return FAMILY_MAP[i].to;
    }
    return NULL;
}

/* Tries the id, then each part after '/' or '.' (OpenRouter "openai/gpt-4o",
 * Bedrock "us.anthropic.claude-3-5-sonnet-...", Gemini "models/gemini-..."). */
const char *decode_model_family(const char *model)
{
    if (!model || !*model)
        return NULL;
    const char *f = family_at(model);
    for (const char *p = model; !f && *p; p++)
        if (*p == '/' || (*p == '.' && isalpha((unsigned char)p[1])))
            f = family_at(p + 1);
    return f;
}

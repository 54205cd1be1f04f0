/* jsonfast_bench.c: load and dump throughput of src/util/jsonfast.c against
 * jansson on typical AI API bodies: a ~2 KB OpenAI chat request with tools,
 * a ~100 KB request with long multi-line content, and the JSON payloads
 * under tests/data/decode: whole .json files, SSE data: and NDJSON lines
 * (streamed events, a few hundred bytes each), and both together.
 * Each case runs five rounds of 0.2 s per function and keeps the best; MB/s counts input
 * (JSON text) bytes, for dumps the compact text produced.
 *
 * Build and run from the repository root:
 *   gcc -O2 -std=c11 -D_GNU_SOURCE -Isrc -o build/jsonfast_bench \
 *       bench/jsonfast_bench.c src/util/jsonfast.c -ljansson -lpthread -lm
 *   ./build/jsonfast_bench [tests/data/decode] */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "util/jsonfast.h"

typedef struct corpus {
    char **doc;
    size_t *len;
    size_t n, cap, bytes;
} corpus;

static void corpus_add(corpus *c, const char *s, size_t n)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->doc = realloc(c->doc, c->cap * sizeof *c->doc);
        c->len = realloc(c->len, c->cap * sizeof *c->len);
        if (!c->doc || !c->len)
            exit(1);
    }
    c->doc[c->n] = malloc(n);
    memcpy(c->doc[c->n], s, n);
    c->len[c->n++] = n;
    c->bytes += n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- synthetic requests -------------------------------------------------- */

static const char *PROSE[] = {
    "The quick brown fox jumps over the lazy dog. ",
    "Please review the following function and explain what it does.\n",
    "    if (n < 0) {\n        return \"negative\";\n    }\n",
    "Caf\\u00e9 cr\\u00e8me, na\xc3\xafve r\xc3\xa9sum\xc3\xa9 \xe2\x80\x94 \xe4\xb8\xad\xe6\x96\x87. ",
    "Summarise the design doc in three bullet points, keeping numbers exact. ",
    "\\tfor (size_t i = 0; i < len; i++) sum += buf[i];\\n",
};

/* A JSON string body (already escaped) of about n bytes. */
static void prose(char *out, size_t n, unsigned seed)
{
    size_t o = 0;
    while (o < n) {
        const char *p = PROSE[seed++ % 6];
        size_t l = strlen(p);
        for (size_t i = 0; i < l && o < n; i++) {
            char c = p[i];
            if (c == '\n') { /* escape raw newlines and quotes */
                if (o + 2 > n)
                    break;
                out[o++] = '\\';
                out[o++] = 'n';
            } else if (c == '"') {
                if (o + 2 > n)
                    break;
                out[o++] = '\\';
                out[o++] = '"';
            } else {
                out[o++] = c;
            }
        }
        seed = seed * 1103515245 + 12345;
    }
    /* do not end inside an escape or a UTF-8 sequence */
    while (o && (out[o - 1] == '\\' || (unsigned char)out[o - 1] >= 0x80))
        o--;
    out[o] = 0;
}

static char *chat_request(size_t content_bytes, int turns)
{
    size_t cap = content_bytes * 2 + 4096;
    char *buf = malloc(cap), *tmp = malloc(content_bytes + 1);
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o,
                          "{\"model\":\"gpt-4o-2024-08-06\",\"messages\":[{\"role\":\"system\","
                          "\"content\":\"You are a helpful assistant.\"}");
    for (int t = 0; t < turns; t++) {
        prose(tmp, content_bytes / (size_t)turns, (unsigned)t);
        o += (size_t)snprintf(buf + o, cap - o, ",{\"role\":\"%s\",\"content\":\"%s\"}",
                              t % 2 ? "assistant" : "user", tmp);
    }
    o += (size_t)snprintf(
        buf + o, cap - o,
        "],\"temperature\":0.7,\"top_p\":1,\"max_tokens\":1024,\"stream\":true,"
        "\"stream_options\":{\"include_usage\":true},\"user\":\"user-1234\","
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"description\":\"Get the current weather in a given location\",\"parameters\":"
        "{\"type\":\"object\",\"properties\":{\"location\":{\"type\":\"string\",\"description\":"
        "\"The city and state, e.g. San Francisco, CA\"},\"unit\":{\"type\":\"string\",\"enum\":"
        "[\"celsius\",\"fahrenheit\"]}},\"required\":[\"location\"]}}}],\"tool_choice\":\"auto\"}");
    free(tmp);
    return buf;
}

/* ---- fixtures -------------------------------------------------------------- */

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void add_lines(corpus *c, const char *buf, size_t len, int sse)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p;
        size_t n = (size_t)(le - p);
        if (sse) {
            if (n >= 5 && memcmp(s, "data:", 5) == 0) {
                s += 5, n -= 5;
                if (n && *s == ' ')
                    s++, n--;
            } else {
                n = 0;
            }
        }
        if (n && *s == '{')
            corpus_add(c, s, n);
        p = le + 1;
    }
}

/* Whole .json bodies go to bodies, SSE data: and NDJSON lines to events. */
static void load_fixtures(corpus *bodies, corpus *events, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR) {
            load_fixtures(bodies, events, path);
            continue;
        }
        int json = ends_with(path, ".json"), sse = ends_with(path, ".sse");
        if (!json && !sse && !ends_with(path, ".ndjson"))
            continue;
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        if (json)
            corpus_add(bodies, buf, n);
        else
            add_lines(events, buf, n, sse);
    }
    closedir(d);
}

/* ---- timing ---------------------------------------------------------------- */

typedef enum { LOAD_JANSSON, LOAD_FAST, DUMP_JANSSON, DUMP_FAST } op;

/* Seconds per pass over the corpus, the best of five rounds of about 0.2 s
 * (other work on the machine only ever makes a round slower), and bytes
 * per pass (input bytes for loads, output bytes for dumps). */
static double run(const corpus *c, json_t **trees, op what, size_t *bytes)
{
    double best = 1e9;
    *bytes = 0;
    for (int round = 0; round < 5; round++) {
        size_t passes = 0, b = 0;
        double t0 = now(), t;
        do {
            for (size_t i = 0; i < c->n; i++) {
                json_t *j;
                char *s;
                size_t n;
                switch (what) {
                case LOAD_JANSSON:
                    j = json_loadb(c->doc[i], c->len[i], JSON_DECODE_ANY, NULL);
                    json_decref(j);
                    b += c->len[i];
                    break;
                case LOAD_FAST:
                    j = jsonfast_loadb(c->doc[i], c->len[i], 0, NULL);
                    json_decref(j);
                    b += c->len[i];
                    break;
                case DUMP_JANSSON:
                    s = json_dumps(trees[i], JSON_COMPACT | JSON_ENCODE_ANY);
                    b += strlen(s);
                    free(s);
                    break;
                case DUMP_FAST:
                    jsonfast_dump(trees[i], &s, &n);
                    b += n;
                    free(s);
                    break;
                }
            }
            passes++;
            t = now() - t0;
        } while (t < 0.2);
        if (t / (double)passes < best)
            best = t / (double)passes;
        *bytes = b / passes;
    }
    return best;
}

static void bench(const char *name, const corpus *c)
{
    json_t **trees = calloc(c->n, sizeof *trees);
    for (size_t i = 0; i < c->n; i++) {
        trees[i] = json_loadb(c->doc[i], c->len[i], JSON_DECODE_ANY, NULL);
        json_t *mine = jsonfast_loadb(c->doc[i], c->len[i], 0, NULL);
        if (!trees[i] || !mine || !json_equal(trees[i], mine)) {
            fprintf(stderr, "%s: document %zu does not load the same\n", name, i);
            exit(1);
        }
        json_decref(mine);
    }
    printf("%s: %zu documents, %zu bytes\n", name, c->n, c->bytes);
    static const char *label[] = {"load  jansson ", "load  jsonfast", "dump  jansson ", "dump  jsonfast"};
    double secs[4];
    for (int w = 0; w < 4; w++) {
        size_t bytes;
        secs[w] = run(c, trees, (op)w, &bytes);
        printf("  %s %8.1f MB/s %9.2f us/pass\n", label[w], (double)bytes / secs[w] / 1e6,
               secs[w] * 1e6);
    }
    printf("  speed-up: load x%.1f, dump x%.1f\n", secs[0] / secs[1], secs[2] / secs[3]);
    for (size_t i = 0; i < c->n; i++)
        json_decref(trees[i]);
    free(trees);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data/decode";
    corpus small = {0}, big = {0}, bodies = {0}, events = {0}, all = {0};
    char *s = chat_request(1200, 4);
    corpus_add(&small, s, strlen(s));
    free(s);
    s = chat_request(100000, 10);
    corpus_add(&big, s, strlen(s));
    free(s);
    load_fixtures(&bodies, &events, dir);
    load_fixtures(&all, &all, dir);
    bench("openai chat request ~2 KB", &small);
    bench("request with long content ~100 KB", &big);
    if (all.n) {
        bench("tests/data/decode: whole .json bodies", &bodies);
        bench("tests/data/decode: SSE data: and NDJSON lines", &events);
        bench("tests/data/decode: all of them", &all);
    }
    return 0;
}

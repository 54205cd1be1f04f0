/* provider.c: host -> AI provider table (see provider.h).
 *
 * Lookup order: built-in exact names ("host:port", then host), loaded bundle
 * exact names (sorted, binary search), built-in glob patterns (fnmatch), then
 * bundle patterns (POSIX extended regexes: bundle-v1 gives a "regex" next to
 * its glob "pattern", bundle-v2's "pattern" is itself a regex).  Hosts are
 * lower-cased and a trailing dot is dropped before matching.
 *
 * The bundle table is the one process-wide piece of state in the decode
 * layer: provider_bundle_load() has no context argument, and the table is
 * written only at start-up. */
#include "decode/provider.h"

#include <ctype.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "decode/decode_priv.h"

#define HOST_MAX            256
#define BUNDLE_MAX_FILE     ((off_t)256 << 20)
#define BUNDLE_MAX_ENTRIES  100000

typedef struct builtin_host {
    const char *host; /* exact name or glob */
    const char *name; /* OISP enum */
    const char *real;
} builtin_host;

static const builtin_host BUILTIN_EXACT[] = {
    {"api.openai.com", "openai", "openai"},
    {"api.anthropic.com", "anthropic", "anthropic"},
    {"generativelanguage.googleapis.com", "google", "google"},
    {"aiplatform.googleapis.com", "google", "google_vertex"},
    {"api.mistral.ai", "mistral", "mistral"},
    {"codestral.mistral.ai", "mistral", "mistral"},
    {"api.groq.com", "groq", "groq"},
    {"api.cohere.ai", "cohere", "cohere"},
    {"api.cohere.com", "cohere", "cohere"},
    {"api.together.xyz", "together", "together"},
    {"api.together.ai", "together", "together"},
    {"api.fireworks.ai", "fireworks", "fireworks"},
    {"api.replicate.com", "replicate", "replicate"},
    {"api-inference.huggingface.co", "huggingface", "huggingface"},
    {"router.huggingface.co", "huggingface", "huggingface"},
    {"api.deepseek.com", "other", "deepseek"},
    {"openrouter.ai", "other", "openrouter"},
    {"api.x.ai", "other", "xai"},
    {"api.perplexity.ai", "other", "perplexity"},
    {"ollama.com", "ollama", "ollama"},
    {"localhost:11434", "ollama", "ollama"},
    {"127.0.0.1:11434", "ollama", "ollama"},
    {"[::1]:11434", "ollama", "ollama"},
    {"localhost:1234", "lmstudio", "lmstudio"},
    {"127.0.0.1:1234", "lmstudio", "lmstudio"},
    {"[::1]:1234", "lmstudio", "lmstudio"},
};

static const builtin_host BUILTIN_GLOB[] = {
    {"*-aiplatform.googleapis.com", "google", "google_vertex"},
    {"*.openai.azure.com", "azure_openai", "azure_openai"},
    {"*.cognitiveservices.azure.com", "azure_openai", "azure_openai"},
    {"bedrock-runtime.*.amazonaws.com", "aws_bedrock", "aws_bedrock"},
    {"bedrock-runtime-fips.*.amazonaws.com", "aws_bedrock", "aws_bedrock"},
    {"*.endpoints.huggingface.cloud", "huggingface", "huggingface"},
};

static const char *const OISP_PROVIDERS[] = {
    "openai", "anthropic", "google", "azure_openai", "aws_bedrock", "cohere",
    "mistral", "groq", "together", "fireworks", "replicate", "huggingface",
    "ollama", "lmstudio", "vllm", "other",
};

static const struct {
    const char *id, *name;
} PROVIDER_ALIASES[] = {
    {"google_vertex", "google"},
    {"google_vertex_anthropic", "google"},
    {"togetherai", "together"},
    {"azure_cognitive_services", "azure_openai"},
};

typedef struct bundle_host {
    char *host;
    const char *name;
    char *real;
    size_t seq;       /* load order, to keep the first of duplicates */
} bundle_host;

typedef struct bundle_pattern {
    regex_t re;
    const char *name;
    char *real;
} bundle_pattern;

static struct {
    bundle_host *hosts;
    size_t nhosts;
    bundle_pattern *pats;
    size_t npats;
    size_t seq;
} g_bundle;

const char *provider_oisp_name(const char *id)
{
    if (!id)
        return "other";
    for (size_t i = 0; i < sizeof OISP_PROVIDERS / sizeof OISP_PROVIDERS[0]; i++)
        if (strcmp(id, OISP_PROVIDERS[i]) == 0)
            return OISP_PROVIDERS[i];
    for (size_t i = 0; i < sizeof PROVIDER_ALIASES / sizeof PROVIDER_ALIASES[0]; i++)
        if (strcmp(id, PROVIDER_ALIASES[i].id) == 0)
            return PROVIDER_ALIASES[i].name;
    return "other";
}

/* Lower-cases host into out and drops a trailing dot (before any port).
 * *hostonly_len is the length without ":port". Returns 0 if it does not fit. */
static int normalise_host(const char *host, size_t len, char *out, size_t *hostonly_len)
{
    while (len > 0 && isspace((unsigned char)host[len - 1]))
        len--;
    if (len == 0 || len >= HOST_MAX)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)host[i]);
        if (c == 0)
            return 0;
        out[o++] = c;
    }
    out[o] = 0;

    size_t hl = o;
    if (out[0] == '[') {
        char *rb = strchr(out, ']');
        hl = rb ? (size_t)(rb - out + 1) : o;
    } else {
        char *colon = strchr(out, ':');
        if (colon && !strchr(colon + 1, ':')) /* one colon: host:port */
            hl = (size_t)(colon - out);
    }
    if (hl > 1 && out[hl - 1] == '.') { /* "api.openai.com.:443" */
        memmove(out + hl - 1, out + hl, o - hl + 1);
        hl--;
    }
    *hostonly_len = hl;
    return 1;
}

static int builtin_exact(const char *h, provider_info *out)
{
    for (size_t i = 0; i < sizeof BUILTIN_EXACT / sizeof BUILTIN_EXACT[0]; i++)
        if (strcmp(h, BUILTIN_EXACT[i].host) == 0) {
            out->name = BUILTIN_EXACT[i].name;
            out->real = BUILTIN_EXACT[i].real;
            return 1;
        }
    return 0;
}

static int cmp_bundle_host_key(const void *key, const void *elem)
{
    return strcmp(key, ((const bundle_host *)elem)->host);
}

static int bundle_exact(const char *h, provider_info *out)
{
    if (!g_bundle.nhosts)
        return 0;
    const bundle_host *e = bsearch(h, g_bundle.hosts, g_bundle.nhosts, sizeof *e, cmp_bundle_host_key);
    if (!e)
        return 0;
    out->name = e->name;
    out->real = e->real;
    return 1;
}

static int builtin_glob(const char *h, provider_info *out)
{
    for (size_t i = 0; i < sizeof BUILTIN_GLOB / sizeof BUILTIN_GLOB[0]; i++)
        if (fnmatch(BUILTIN_GLOB[i].host, h, 0) == 0) {
            out->name = BUILTIN_GLOB[i].name;
            out->real = BUILTIN_GLOB[i].real;
            return 1;
        }
    return 0;
}

static int bundle_regex(const char *h, provider_info *out)
{
    for (size_t i = 0; i < g_bundle.npats; i++)
        if (regexec(&g_bundle.pats[i].re, h, 0, NULL, 0) == 0) {
            out->name = g_bundle.pats[i].name;
            out->real = g_bundle.pats[i].real;
            return 1;
        }
    return 0;
}

int provider_lookup(const char *host, size_t len, provider_info *out)
{
    char full[HOST_MAX];
    size_t hl;
    if (!host || !normalise_host(host, len, full, &hl))
        return 0;
    char only[HOST_MAX];
    memcpy(only, full, hl);
    only[hl] = 0;
    int has_port = full[hl] != 0;

    if (builtin_exact(full, out) || (has_port && builtin_exact(only, out)))
        return 1;
    if (bundle_exact(full, out) || (has_port && bundle_exact(only, out)))
        return 1;
    if (builtin_glob(only, out))
        return 1;
    if (bundle_regex(full, out) || (has_port && bundle_regex(only, out)))
        return 1;
    return 0;
}

/* ---- bundle loading --------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, const char *arg)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, arg ? arg : "");
}

static int valid_host_key(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < HOST_MAX;
}

static int cmp_bundle_host(const void *a, const void *b)
{
    const bundle_host *x = a, *y = b;
    int c = strcmp(x->host, y->host);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts the exact table and drops later duplicates. */
static void bundle_hosts_finish(void)
{
    qsort(g_bundle.hosts, g_bundle.nhosts, sizeof *g_bundle.hosts, cmp_bundle_host);
    size_t o = 0;
    for (size_t i = 0; i < g_bundle.nhosts; i++) {
        if (o > 0 && strcmp(g_bundle.hosts[o - 1].host, g_bundle.hosts[i].host) == 0) {
            free(g_bundle.hosts[i].host);
            free(g_bundle.hosts[i].real);
            continue;
        }
        g_bundle.hosts[o++] = g_bundle.hosts[i];
    }
    g_bundle.nhosts = o;
}

static int bundle_add_hosts(json_t *index, size_t *added)
{
    size_t n = json_object_size(index);
    if (g_bundle.nhosts + n > BUNDLE_MAX_ENTRIES)
        return -1;
    bundle_host *h = realloc(g_bundle.hosts, (g_bundle.nhosts + n + 1) * sizeof *h);
    if (!h)
        return -1;
    g_bundle.hosts = h;
    const char *key;
    json_t *val;
    json_object_foreach(index, key, val) {
        const char *id = json_string_value(val);
        if (!id || !*id || !valid_host_key(key))
            continue;
        char norm[HOST_MAX];
        size_t hl;
        if (!normalise_host(key, strlen(key), norm, &hl))
            continue;
        bundle_host *e = &g_bundle.hosts[g_bundle.nhosts];
        e->host = strdup(norm);
        e->real = strdup(id);
        if (!e->host || !e->real) {
            free(e->host);
            free(e->real);
            return -1;
        }
        e->name = provider_oisp_name(id);
        e->seq = g_bundle.seq++;
        g_bundle.nhosts++;
        (*added)++;
    }
    return 0;
}

static int bundle_add_patterns(json_t *pats, size_t *added, char *err, size_t errlen)
{
    size_t n = json_array_size(pats);
    if (g_bundle.npats + n > BUNDLE_MAX_ENTRIES)
        return -1;
    bundle_pattern *p = realloc(g_bundle.pats, (g_bundle.npats + n + 1) * sizeof *p);
    if (!p)
        return -1;
    g_bundle.pats = p;
    size_t i;
    json_t *e;
    json_array_foreach(pats, i, e) {
        const char *id = dj_str(e, "provider");
        /* v1 gives "regex" beside a glob "pattern"; v2's "pattern" is a regex */
        const char *rx = dj_str(e, "regex");
        if (!rx)
            rx = dj_str(e, "pattern");
        if (!id || !*id || !rx || strlen(rx) > 1024)
            continue;
        bundle_pattern *bp = &g_bundle.pats[g_bundle.npats];
        if (regcomp(&bp->re, rx, REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0) {
            set_err(err, errlen, "bad domain pattern regex: %s", rx);
            continue; /* one bad pattern does not spoil the bundle */
        }
        bp->real = strdup(id);
        if (!bp->real) {
            regfree(&bp->re);
            return -1;
        }
        bp->name = provider_oisp_name(id);
        g_bundle.npats++;
        (*added)++;
    }
    return 0;
}

int provider_bundle_load(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (err && errlen)
        err[0] = 0;
    if (!path || stat(path, &st) != 0) {
        set_err(err, errlen, "cannot stat bundle %s", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > BUNDLE_MAX_FILE) {
        set_err(err, errlen, "not a regular file of sane size: %s", path);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!json_is_object(root)) {
        set_err(err, errlen, "bundle is not a JSON object: %s", root ? path : jerr.text);
        json_decref(root);
        return -1;
    }
    json_t *index = json_object_get(root, "domain_index"); /* v1 */
    if (!json_is_object(index))
        index = json_object_get(root, "domain_lookup");     /* v2 */
    json_t *pats = json_object_get(root, "domain_patterns");
    if (!json_is_object(index) && !json_is_array(pats)) {
        set_err(err, errlen, "no domain_index, domain_lookup or domain_patterns in %s", path);
        json_decref(root);
        return -1;
    }

    size_t added = 0;
    int rc = 0;
    if (json_is_object(index))
        rc = bundle_add_hosts(index, &added);
    if (rc == 0 && json_is_array(pats))
        rc = bundle_add_patterns(pats, &added, err, errlen);
    bundle_hosts_finish();
    json_decref(root);
    if (rc != 0) {
        set_err(err, errlen, "out of memory or too many entries loading %s", path);
        return -1;
    }
    return (int)added;
}

void provider_bundle_unload(void)
{
    for (size_t i = 0; i < g_bundle.nhosts; i++) {
        free(g_bundle.hosts[i].host);
        free(g_bundle.hosts[i].real);
    }
    for (size_t i = 0; i < g_bundle.npats; i++) {
        regfree(&g_bundle.pats[i].re);
        free(g_bundle.pats[i].real);
    }
    free(g_bundle.hosts);
    free(g_bundle.pats);
    memset(&g_bundle, 0, sizeof g_bundle);
}

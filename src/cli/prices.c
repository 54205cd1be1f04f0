/* prices.c: model prices for `oisp-sensor analyze costs`: the built-in table,
 * OISP bundle loading and model id matching.
 *
 * How it works.  Every price (built-in or from a bundle) becomes one entry
 * with lowercased "provider/model" and "model" keys.  Two sorted arrays of
 * entry pointers index them: by "provider/model" (bundle entries sort before
 * built-in ones with the same key, so the bundle wins) and by "model" alone
 * (first-party providers first, so "gpt-4o" without a provider resolves to
 * OpenAI's entry rather than a reseller's).  A lookup is a handful of binary
 * searches per candidate form of the model id (see prices.h for the order),
 * so resolving an id costs O(length of id * log entries), whatever the input.
 *
 * Bundles.  Both OISP bundle formats keep prices in the same place: the
 * top-level "models" object, keyed "provider/id", each value carrying
 * "provider", "id" and USD prices per 1,000 tokens in input_cost_per_1k,
 * output_cost_per_1k and, when the provider has them, cache_read_cost_per_1k,
 * cache_write_cost_per_1k and reasoning_cost_per_1k.  The formats differ
 * elsewhere: v1 ("bundle_version": "1.x") has providers with "domains" and
 * "auth", "domain_index" and "extraction_rules"; v2 ("2.x") has providers
 * listing their model ids, "domain_lookup" and "parsers".  The format is
 * taken from bundle_version, else from those keys.  A "models" array of the
 * same objects is accepted too. */
#include "cli/prices.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define ID_MAX       256   /* longest provider or model id we keep or look up */
#define FORMS_MAX    4     /* candidate spellings of one model id */
#define PROVS_MAX    4     /* candidate providers of one lookup */
#define SNAP_STRIPS  4     /* snapshot suffixes stripped, at most, in a row */
#define ORDER_BUILTIN 100000000

/* ------------------------------------------------------------------------ */
/* The built-in prices: data only.
 *
 * USD per 1,000,000 tokens, standard (non-batch) tier, the lowest context tier
 * where a provider has several.  Source: the providers' public pricing pages
 * (openai.com/api/pricing, anthropic.com/pricing, ai.google.dev/pricing,
 * mistral.ai/pricing, groq.com/pricing, api-docs.deepseek.com/quick_start/
 * pricing, docs.x.ai), cross-checked against the models.dev data that
 * oisp-spec bundle-v2.json carries.  Prices as of 2026-01-06.
 * -1 means the provider publishes no separate price for that kind of token. */

const char prices_builtin_date[] = "2026-01-06";

static const struct builtin_price {
    const char *provider, *model;
    double input, cached_input, cache_write, output;
} builtin_prices[] = {
    /* OpenAI */
    {"openai", "gpt-5", 1.25, 0.125, -1, 10.00},
    {"openai", "gpt-5-mini", 0.25, 0.025, -1, 2.00},
    {"openai", "gpt-5-nano", 0.05, 0.005, -1, 0.40},
    {"openai", "gpt-5-pro", 15.00, -1, -1, 120.00},
    {"openai", "gpt-5-codex", 1.25, 0.125, -1, 10.00},
    {"openai", "gpt-5.1", 1.25, 0.125, -1, 10.00},
    {"openai", "gpt-5.1-codex-mini", 0.25, 0.025, -1, 2.00},
    {"openai", "gpt-5.2", 1.75, 0.175, -1, 14.00},
    {"openai", "gpt-5.2-pro", 21.00, -1, -1, 168.00},
    {"openai", "gpt-4.1", 2.00, 0.50, -1, 8.00},
    {"openai", "gpt-4.1-mini", 0.40, 0.10, -1, 1.60},
    {"openai", "gpt-4.1-nano", 0.10, 0.025, -1, 0.40},
    {"openai", "gpt-4o", 2.50, 1.25, -1, 10.00},
    {"openai", "gpt-4o-2024-05-13", 5.00, -1, -1, 15.00},
    {"openai", "gpt-4o-mini", 0.15, 0.075, -1, 0.60},
    {"openai", "gpt-4-turbo", 10.00, -1, -1, 30.00},
    {"openai", "gpt-4", 30.00, -1, -1, 60.00},
    {"openai", "gpt-3.5-turbo", 0.50, -1, -1, 1.50},
    {"openai", "o1", 15.00, 7.50, -1, 60.00},
    {"openai", "o1-mini", 1.10, 0.55, -1, 4.40},
    {"openai", "o1-pro", 150.00, -1, -1, 600.00},
    {"openai", "o3", 2.00, 0.50, -1, 8.00},
    {"openai", "o3-mini", 1.10, 0.55, -1, 4.40},
    {"openai", "o3-pro", 20.00, -1, -1, 80.00},
    {"openai", "o4-mini", 1.10, 0.275, -1, 4.40},
    {"openai", "codex-mini", 1.50, 0.375, -1, 6.00},
    {"openai", "text-embedding-3-small", 0.02, -1, -1, 0.00},
    {"openai", "text-embedding-3-large", 0.13, -1, -1, 0.00},
    {"openai", "text-embedding-ada-002", 0.10, -1, -1, 0.00},
    /* Anthropic: cache reads 0.1x input, 5-minute cache writes 1.25x input */
    {"anthropic", "claude-opus-4-5", 5.00, 0.50, 6.25, 25.00},
    {"anthropic", "claude-opus-4-1", 15.00, 1.50, 18.75, 75.00},
    {"anthropic", "claude-opus-4", 15.00, 1.50, 18.75, 75.00},
    {"anthropic", "claude-sonnet-4-5", 3.00, 0.30, 3.75, 15.00},
    {"anthropic", "claude-sonnet-4", 3.00, 0.30, 3.75, 15.00},
    {"anthropic", "claude-haiku-4-5", 1.00, 0.10, 1.25, 5.00},
    {"anthropic", "claude-3-7-sonnet", 3.00, 0.30, 3.75, 15.00},
    {"anthropic", "claude-3-5-sonnet", 3.00, 0.30, 3.75, 15.00},
    {"anthropic", "claude-3-5-haiku", 0.80, 0.08, 1.00, 4.00},
    {"anthropic", "claude-3-opus", 15.00, 1.50, 18.75, 75.00},
    {"anthropic", "claude-3-sonnet", 3.00, 0.30, 3.75, 15.00},
    {"anthropic", "claude-3-haiku", 0.25, 0.03, 0.30, 1.25},
    /* Google Gemini (prompts up to 128k/200k tokens) */
    {"google", "gemini-3-pro-preview", 2.00, 0.20, -1, 12.00},
    {"google", "gemini-3-flash-preview", 0.50, 0.05, -1, 3.00},
    {"google", "gemini-2.5-pro", 1.25, 0.31, -1, 10.00},
    {"google", "gemini-2.5-flash", 0.30, 0.075, -1, 2.50},
    {"google", "gemini-2.5-flash-lite", 0.10, 0.025, -1, 0.40},
    {"google", "gemini-2.0-flash", 0.10, 0.025, -1, 0.40},
    {"google", "gemini-2.0-flash-lite", 0.075, -1, -1, 0.30},
    {"google", "gemini-1.5-pro", 1.25, 0.3125, -1, 5.00},
    {"google", "gemini-1.5-flash", 0.075, 0.01875, -1, 0.30},
    {"google", "gemini-1.5-flash-8b", 0.0375, 0.01, -1, 0.15},
    /* Mistral */
    {"mistral", "mistral-large-latest", 0.50, -1, -1, 1.50},
    {"mistral", "mistral-large-2512", 0.50, -1, -1, 1.50},
    {"mistral", "mistral-large", 2.00, -1, -1, 6.00}, /* 2407 and 2411 */
    {"mistral", "mistral-medium", 0.40, -1, -1, 2.00},
    {"mistral", "mistral-small", 0.10, -1, -1, 0.30},
    {"mistral", "magistral-medium", 2.00, -1, -1, 5.00},
    {"mistral", "magistral-small", 0.50, -1, -1, 1.50},
    {"mistral", "codestral", 0.30, -1, -1, 0.90},
    {"mistral", "devstral-medium", 0.40, -1, -1, 2.00},
    {"mistral", "devstral-small", 0.10, -1, -1, 0.30},
    {"mistral", "ministral-8b", 0.10, -1, -1, 0.10},
    {"mistral", "ministral-3b", 0.04, -1, -1, 0.04},
    {"mistral", "open-mistral-nemo", 0.15, -1, -1, 0.15},
    {"mistral", "mistral-nemo", 0.15, -1, -1, 0.15},
    {"mistral", "pixtral-large", 2.00, -1, -1, 6.00},
    {"mistral", "pixtral-12b", 0.15, -1, -1, 0.15},
    /* Groq */
    {"groq", "llama-3.3-70b-versatile", 0.59, -1, -1, 0.79},
    {"groq", "llama-3.1-8b-instant", 0.05, -1, -1, 0.08},
    {"groq", "llama3-70b-8192", 0.59, -1, -1, 0.79},
    {"groq", "llama3-8b-8192", 0.05, -1, -1, 0.08},
    {"groq", "meta-llama/llama-4-maverick-17b-128e-instruct", 0.20, -1, -1, 0.60},
    {"groq", "meta-llama/llama-4-scout-17b-16e-instruct", 0.11, -1, -1, 0.34},
    {"groq", "openai/gpt-oss-120b", 0.15, -1, -1, 0.60},
    {"groq", "openai/gpt-oss-20b", 0.075, -1, -1, 0.30},
    {"groq", "qwen/qwen3-32b", 0.29, -1, -1, 0.59},
    {"groq", "moonshotai/kimi-k2-instruct", 1.00, -1, -1, 3.00},
    /* DeepSeek (V3.2 prices, cache hit vs miss) */
    {"deepseek", "deepseek-chat", 0.28, 0.028, -1, 0.42},
    {"deepseek", "deepseek-reasoner", 0.28, 0.028, -1, 0.42},
    /* xAI */
    {"xai", "grok-4", 3.00, 0.75, -1, 15.00},
    {"xai", "grok-4-fast", 0.20, 0.05, -1, 0.50},
    {"xai", "grok-code-fast-1", 0.20, 0.02, -1, 1.50},
    {"xai", "grok-3", 3.00, 0.75, -1, 15.00},
    {"xai", "grok-3-mini", 0.30, 0.075, -1, 0.50},
};

/* Providers preferred, in this order, when an id is listed under several
 * (resellers and gateways list the same ids at other prices). */
static const char *const first_party[] = {
    "openai", "anthropic", "google", "mistral", "deepseek", "xai", "groq", "cohere",
};

/* Event provider names (OISP names and the sensor's real names) that bundles
 * and the built-in table spell differently. */
static const struct { const char *from, *to; } provider_aliases[] = {
    {"together", "togetherai"},
    {"togetherai", "together"},
    {"google_vertex", "google"},
    {"azure_cognitive_services", "azure_openai"},
    {"gemini", "google"},
};

/* Vendor prefixes of Bedrock-style ids ("anthropic.claude-...", with an
 * optional cross-region "us." / "eu." / "apac." / "global." before it). */
static const char *const dotted_vendors[] = {
    "anthropic", "meta", "amazon", "mistral", "cohere", "ai21", "deepseek", "openai", "qwen",
    "writer",
};
static const char *const region_prefixes[] = {"us.", "eu.", "apac.", "global.", "us-gov."};

/* ------------------------------------------------------------------------ */

typedef struct entry {
    price p;          /* p.provider and p.model point at prov and model */
    char *prov, *model;
    char *prov_lc, *model_lc, *pm_lc; /* lowercase; pm_lc is "prov/model" */
    int rank;         /* first-party preference, lower first */
    int order;        /* bundle entries before built-in ones */
} entry;

struct price_table {
    entry **v;
    size_t n, cap;
    entry **by_pm, **by_m;
    size_t npm;       /* by_pm without duplicate keys */
    char format[8];   /* "v1", "v2"; "" without a bundle */
    size_t bundle_models;
};

static char *lower_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    d[n] = '\0';
    return d;
}

static void lower_into(char *dst, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    dst[n] = '\0';
}

static int provider_rank(const char *prov_lc)
{
    for (size_t i = 0; i < sizeof(first_party) / sizeof(first_party[0]); i++)
        if (strcmp(prov_lc, first_party[i]) == 0)
            return (int)i;
    return 1000;
}

static void entry_free(entry *e)
{
    if (!e)
        return;
    free(e->prov);
    free(e->model);
    free(e->prov_lc);
    free(e->model_lc);
    free(e->pm_lc);
    free(e);
}

/* Adds one entry.  Returns 0, or -1 when out of memory. */
static int table_add(price_table *t, const char *prov, const char *model, const price *pr,
                     const char *source, int order)
{
    size_t pl = strlen(prov), ml = strlen(model);
    entry *e = calloc(1, sizeof(*e));

    if (!e)
        return -1;
    e->prov = strdup(prov);
    e->model = strdup(model);
    e->prov_lc = lower_dup(prov, pl);
    e->model_lc = lower_dup(model, ml);
    e->pm_lc = malloc(pl + ml + 2);
    if (!e->prov || !e->model || !e->prov_lc || !e->model_lc || !e->pm_lc) {
        entry_free(e);
        return -1;
    }
    memcpy(e->pm_lc, e->prov_lc, pl);
    e->pm_lc[pl] = '/';
    memcpy(e->pm_lc + pl + 1, e->model_lc, ml + 1);
    e->p = *pr;
    e->p.provider = e->prov;
    e->p.model = e->model;
    e->p.source = source;
    e->rank = provider_rank(e->prov_lc);
    e->order = order;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        entry **v = realloc(t->v, cap * sizeof(*v));
        if (!v) {
            entry_free(e);
            return -1;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = e;
    return 0;
}

static int cmp_pm(const void *a, const void *b)
{
    const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
    int c = strcmp(x->pm_lc, y->pm_lc);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_m(const void *a, const void *b)
{
    const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
    int c = strcmp(x->model_lc, y->model_lc);
    if (c)
        return c;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Rebuilds both indexes after entries were added. */
static int table_index(price_table *t)
{
    entry **pm = malloc((t->n ? t->n : 1) * sizeof(*pm));
    entry **m = malloc((t->n ? t->n : 1) * sizeof(*m));

    if (!pm || !m) {
        free(pm);
        free(m);
        return -1;
    }
    memcpy(pm, t->v, t->n * sizeof(*pm));
    memcpy(m, t->v, t->n * sizeof(*m));
    qsort(pm, t->n, sizeof(*pm), cmp_pm);
    qsort(m, t->n, sizeof(*m), cmp_m);
    /* keep the first of equal provider/model keys: the bundle's */
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        if (k == 0 || strcmp(pm[k - 1]->pm_lc, pm[i]->pm_lc) != 0)
            pm[k++] = pm[i];
    free(t->by_pm);
    free(t->by_m);
    t->by_pm = pm;
    t->by_m = m;
    t->npm = k;
    return 0;
}

price_table *prices_new(void)
{
    price_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    for (size_t i = 0; i < sizeof(builtin_prices) / sizeof(builtin_prices[0]); i++) {
        const struct builtin_price *b = &builtin_prices[i];
        price pr = {
            .input = b->input,
            .output = b->output,
            .cached_input = b->cached_input,
            .cache_write = b->cache_write,
            .reasoning = -1,
        };
        if (table_add(t, b->provider, b->model, &pr, "built-in", ORDER_BUILTIN + (int)i) < 0) {
            prices_free(t);
            return NULL;
        }
    }
    if (table_index(t) < 0) {
        prices_free(t);
        return NULL;
    }
    return t;
}

void prices_free(price_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        entry_free(t->v[i]);
    free(t->v);
    free(t->by_pm);
    free(t->by_m);
    free(t);
}

const char *prices_bundle_format(const price_table *t)
{
    return t && t->format[0] ? t->format : NULL;
}

size_t prices_bundle_models(const price_table *t)
{
    return t ? t->bundle_models : 0;
}

/* ------------------------------------------------------------------------ */
/* Bundles. */

static void set_err(char *err, size_t errsz, const char *fmt, const char *a, const char *b)
{
    if (err && errsz)
        snprintf(err, errsz, fmt, a ? a : "", b ? b : "");
}

/* A per-1k price field as USD per 1M: 1 and the value, 0 if absent, -1 if
 * present but not a sane non-negative number. */
static int per_1k(json_t *m, const char *key, double *out)
{
    json_t *v = json_object_get(m, key);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return -1;
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > 1e6)
        return -1;
    *out = d * 1000.0;
    return 1;
}

static int id_ok(const char *s)
{
    return s && *s && strlen(s) < ID_MAX;
}

/* One model object of the bundle; key is its "provider/id" key when the
 * models are an object (NULL for an array).  Returns 1 added, 0 skipped,
 * -1 out of memory. */
static int bundle_model(price_table *t, const char *key, json_t *m, int order)
{
    char prov[ID_MAX], model[ID_MAX];
    json_t *pv = json_object_get(m, "provider"), *iv = json_object_get(m, "id");
    const char *slash = key ? strchr(key, '/') : NULL;
    price pr = {.cached_input = -1, .cache_write = -1, .reasoning = -1};

    if (!json_is_object(m))
        return 0;
    if (json_is_string(pv) && id_ok(json_string_value(pv)))
        snprintf(prov, sizeof(prov), "%s", json_string_value(pv));
    else if (slash && slash > key && (size_t)(slash - key) < sizeof(prov))
        snprintf(prov, sizeof(prov), "%.*s", (int)(slash - key), key);
    else
        return 0;
    if (json_is_string(iv) && id_ok(json_string_value(iv)))
        snprintf(model, sizeof(model), "%s", json_string_value(iv));
    else if (slash && id_ok(slash + 1))
        snprintf(model, sizeof(model), "%s", slash + 1);
    else
        return 0;
    if (per_1k(m, "input_cost_per_1k", &pr.input) != 1 ||
        per_1k(m, "output_cost_per_1k", &pr.output) != 1)
        return 0;
    if (per_1k(m, "cache_read_cost_per_1k", &pr.cached_input) != 1)
        pr.cached_input = -1;
    if (per_1k(m, "cache_write_cost_per_1k", &pr.cache_write) != 1)
        pr.cache_write = -1;
    if (per_1k(m, "reasoning_cost_per_1k", &pr.reasoning) != 1)
        pr.reasoning = -1;
    return table_add(t, prov, model, &pr, "bundle", order) < 0 ? -1 : 1;
}

/* "v1" or "v2" from bundle_version, else from the keys each format has. */
static const char *bundle_format(json_t *root, const char **bad_version)
{
    json_t *ver = json_object_get(root, "bundle_version");
    *bad_version = NULL;
    if (json_is_string(ver)) {
        const char *s = json_string_value(ver);
        if (s[0] == '1' && (s[1] == '.' || s[1] == '\0'))
            return "v1";
        if (s[0] == '2' && (s[1] == '.' || s[1] == '\0'))
            return "v2";
        *bad_version = s;
        return NULL;
    }
    if (json_object_get(root, "domain_index") || json_object_get(root, "extraction_rules"))
        return "v1";
    if (json_object_get(root, "domain_lookup") || json_object_get(root, "parsers"))
        return "v2";
    return NULL;
}

int prices_load_bundle(price_table *t, const char *path, char *err, size_t errsz)
{
    struct stat st;
    json_error_t jerr;
    const char *fmt, *bad_version;
    size_t added = 0, n0 = t->n;
    int order = 0, rc = -1;

    if (t->format[0]) {
        set_err(err, errsz, "only one bundle can be loaded%s%s", NULL, NULL);
        return -1;
    }
    if (stat(path, &st) < 0) {
        set_err(err, errsz, "cannot open bundle %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (unsigned long long)st.st_size > PRICES_BUNDLE_MAX) {
        set_err(err, errsz, "bundle %s is not a regular file of at most 64 MiB%s", path, NULL);
        return -1;
    }
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        set_err(err, errsz, "bundle %s is not JSON: %s", path, jerr.text);
        return -1;
    }
    json_t *models = json_object_get(root, "models");
    if (!json_is_object(root) || !(json_is_object(models) || json_is_array(models))) {
        set_err(err, errsz, "%s is not an OISP bundle: no \"models\"%s", path, NULL);
        goto out;
    }
    fmt = bundle_format(root, &bad_version);
    if (!fmt) {
        if (bad_version)
            set_err(err, errsz, "%s: unsupported bundle_version %s (v1 and v2 are)", path,
                    bad_version);
        else
            set_err(err, errsz, "%s: not a v1 or v2 OISP bundle%s", path, NULL);
        goto out;
    }
    if (json_is_object(models)) {
        const char *key;
        json_t *m;
        json_object_foreach(models, key, m) {
            int r = bundle_model(t, key, m, order++);
            if (r < 0)
                goto oom;
            added += (size_t)r;
        }
    } else {
        size_t i;
        json_t *m;
        json_array_foreach(models, i, m) {
            int r = bundle_model(t, NULL, m, order++);
            if (r < 0)
                goto oom;
            added += (size_t)r;
        }
    }
    if (added == 0) {
        set_err(err, errsz, "bundle %s has no priced model%s", path, NULL);
        goto out;
    }
    if (table_index(t) < 0)
        goto oom;
    snprintf(t->format, sizeof(t->format), "%s", fmt);
    t->bundle_models = added;
    rc = 0;
    goto out;
oom:
    set_err(err, errsz, "out of memory loading bundle %s%s", path, NULL);
out:
    if (rc < 0) { /* drop what this bundle added, keep the table usable */
        for (size_t i = n0; i < t->n; i++)
            entry_free(t->v[i]);
        t->n = n0;
    }
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Lookup. */

static const entry *find_pm(const price_table *t, const char *prov_lc, const char *model_lc)
{
    char key[2 * ID_MAX + 2];
    size_t lo = 0, hi = t->npm;

    if ((size_t)snprintf(key, sizeof(key), "%s/%s", prov_lc, model_lc) >= sizeof(key))
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->by_pm[mid]->pm_lc, key);
        if (c == 0)
            return t->by_pm[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The preferred entry with this model id under any provider. */
static const entry *find_m(const price_table *t, const char *model_lc)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* lower bound */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->by_m[mid]->model_lc, model_lc) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n && strcmp(t->by_m[lo]->model_lc, model_lc) == 0)
        return t->by_m[lo];
    return NULL;
}

typedef struct form {
    char id[ID_MAX];      /* lowercase model id */
    const char *vendor;   /* provider named inside the original id, or NULL */
    char vendor_buf[ID_MAX];
} form;

typedef struct query {
    const price_table *t;
    const char *provs[PROVS_MAX];
    size_t nprovs;
    form forms[FORMS_MAX];
    size_t nforms;
} query;

/* The id under the query's providers, then its vendor, then any provider. */
static const entry *find_form(const query *q, const form *f, const char *id)
{
    const entry *e;
    for (size_t i = 0; i < q->nprovs; i++)
        if ((e = find_pm(q->t, q->provs[i], id)))
            return e;
    if (f->vendor && (e = find_pm(q->t, f->vendor, id)))
        return e;
    return find_m(q->t, id);
}

static void add_provider(query *q, const char *name)
{
    char lc[ID_MAX];
    size_t n;

    if (!name || !*name || (n = strlen(name)) >= sizeof(lc) || q->nprovs >= PROVS_MAX)
        return;
    lower_into(lc, name, n);
    for (size_t i = 0; i < q->nprovs; i++)
        if (strcmp(q->provs[i], lc) == 0)
            return;
    /* keep a pointer to an entry's provider of that name: stable storage,
     * and a provider no entry has cannot match anyway */
    char key[ID_MAX + 1];
    memcpy(key, lc, n);
    key[n] = '/';
    key[n + 1] = '\0';
    size_t lo = 0, hi = q->t->npm;
    while (lo < hi) { /* lower bound of "lc/": the first key starting with it */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(q->t->by_pm[mid]->pm_lc, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < q->t->npm && strncmp(q->t->by_pm[lo]->pm_lc, key, n + 1) == 0)
        q->provs[q->nprovs++] = q->t->by_pm[lo]->prov_lc;
}

static void add_provider_with_alias(query *q, const char *name)
{
    if (!name)
        return;
    add_provider(q, name);
    for (size_t i = 0; i < sizeof(provider_aliases) / sizeof(provider_aliases[0]); i++)
        if (strcasecmp(name, provider_aliases[i].from) == 0)
            add_provider(q, provider_aliases[i].to);
}

static void add_form(query *q, const char *id, size_t n, const char *vendor, size_t vn)
{
    if (q->nforms >= FORMS_MAX || n == 0 || n >= ID_MAX)
        return;
    form *f = &q->forms[q->nforms];
    lower_into(f->id, id, n);
    for (size_t i = 0; i < q->nforms; i++)
        if (strcmp(q->forms[i].id, f->id) == 0)
            return;
    f->vendor = NULL;
    if (vendor && vn > 0 && vn < sizeof(f->vendor_buf)) {
        lower_into(f->vendor_buf, vendor, vn);
        f->vendor = f->vendor_buf;
    }
    q->nforms++;
}

static int has_prefix_ci(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* The model id as given, then without the provider spelled into it:
 * "openai/gpt-4o" (vendor/id), "models/gemini-2.0-flash", Fireworks'
 * "accounts/x/models/id" (after the last '/'), Bedrock's
 * "[region.]anthropic.claude-..." (vendor.id). */
static void make_forms(query *q, const char *model)
{
    size_t n = strlen(model);
    const char *slash = strchr(model, '/'), *last = strrchr(model, '/');

    add_form(q, model, n, NULL, 0);
    if (slash) {
        int generic = has_prefix_ci(model, "models/") || has_prefix_ci(model, "accounts/");
        add_form(q, slash + 1, n - (size_t)(slash + 1 - model), generic ? NULL : model,
                 generic ? 0 : (size_t)(slash - model));
        if (last != slash)
            add_form(q, last + 1, n - (size_t)(last + 1 - model), NULL, 0);
    }
    const char *p = model;
    for (size_t i = 0; i < sizeof(region_prefixes) / sizeof(region_prefixes[0]); i++)
        if (has_prefix_ci(p, region_prefixes[i])) {
            p += strlen(region_prefixes[i]);
            break;
        }
    for (size_t i = 0; i < sizeof(dotted_vendors) / sizeof(dotted_vendors[0]); i++) {
        size_t vl = strlen(dotted_vendors[i]);
        if (strncasecmp(p, dotted_vendors[i], vl) == 0 && p[vl] == '.') {
            add_form(q, p + vl + 1, n - (size_t)(p + vl + 1 - model), p, vl);
            break;
        }
    }
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

/* Length of id without one trailing snapshot marker, or 0 if it has none:
 * -latest, -YYYY-MM-DD, -YYYYMMDD, @YYYYMMDD, -MM-DD, -vN[:M], -NNNN. */
static size_t strip_snapshot(const char *id, size_t n)
{
    if (n > 7 && strcmp(id + n - 7, "-latest") == 0)
        return n - 7;
    if (n > 11 && id[n - 11] == '-' && all_digits(id + n - 10, 4) && id[n - 6] == '-' &&
        all_digits(id + n - 5, 2) && id[n - 3] == '-' && all_digits(id + n - 2, 2))
        return n - 11;
    if (n > 9 && (id[n - 9] == '-' || id[n - 9] == '@') && all_digits(id + n - 8, 8))
        return n - 9;
    if (n > 6 && id[n - 6] == '-' && all_digits(id + n - 5, 2) && id[n - 3] == '-' &&
        all_digits(id + n - 2, 2))
        return n - 6;
    /* Bedrock version suffix: -v1, -v2:0 */
    size_t i = n;
    while (i > 0 && id[i - 1] >= '0' && id[i - 1] <= '9')
        i--;
    if (i < n && i > 0 && id[i - 1] == ':') {
        size_t j = i - 1;
        while (j > 0 && id[j - 1] >= '0' && id[j - 1] <= '9')
            j--;
        if (j < i - 1 && j >= 2 && id[j - 1] == 'v' && id[j - 2] == '-')
            return j - 2;
    } else if (i < n && i >= 2 && id[i - 1] == 'v' && id[i - 2] == '-' && i - 2 > 0) {
        return i - 2;
    }
    if (n > 5 && id[n - 5] == '-' && all_digits(id + n - 4, 4))
        return n - 5;
    return 0;
}

static int prefix_boundary(char c)
{
    return c == '-' || c == ':' || c == '@' || c == '/' || c == '_';
}

const price *prices_lookup(const price_table *t, const char *provider, const char *alt,
                           const char *model, price_match *how)
{
    query q = {.t = t};
    const entry *e = NULL;
    price_match m = PRICE_EXACT;

    if (!t || !model || !*model || strlen(model) >= ID_MAX)
        return NULL;
    add_provider_with_alias(&q, provider);
    add_provider_with_alias(&q, alt);
    make_forms(&q, model);
    if (q.nforms == 0)
        return NULL;

    /* 1. exact */
    e = find_form(&q, &q.forms[0], q.forms[0].id);
    /* 2. provider-prefixed forms */
    for (size_t i = 1; !e && i < q.nforms; i++) {
        m = PRICE_PROVIDER_FORM;
        e = find_form(&q, &q.forms[i], q.forms[i].id);
    }
    /* 3. dated snapshots */
    for (size_t i = 0; !e && i < q.nforms; i++) {
        char id[ID_MAX];
        size_t n = strlen(q.forms[i].id);
        memcpy(id, q.forms[i].id, n + 1);
        for (int k = 0; !e && k < SNAP_STRIPS; k++) {
            size_t s = strip_snapshot(id, n);
            if (s == 0)
                break;
            id[n = s] = '\0';
            m = PRICE_SNAPSHOT;
            e = find_form(&q, &q.forms[i], id);
        }
    }
    /* 4. longest prefix, of each form with its snapshots stripped */
    for (size_t i = 0; !e && i < q.nforms; i++) {
        char id[ID_MAX];
        size_t n = strlen(q.forms[i].id), s;
        memcpy(id, q.forms[i].id, n + 1);
        for (int k = 0; k < SNAP_STRIPS && (s = strip_snapshot(id, n)) > 0; k++)
            id[n = s] = '\0';
        for (size_t cut = n; !e && cut-- > 1;) {
            if (!prefix_boundary(id[cut]))
                continue;
            id[cut] = '\0';
            m = PRICE_PREFIX;
            e = find_form(&q, &q.forms[i], id);
        }
    }
    if (e && how)
        *how = m;
    return e ? &e->p : NULL;
}

const char *prices_match_name(price_match how)
{
    switch (how) {
    case PRICE_EXACT: return "exact";
    case PRICE_PROVIDER_FORM: return "provider form";
    case PRICE_SNAPSHOT: return "snapshot";
    case PRICE_PREFIX: return "prefix";
    }
    return "?";
}

static double clamp_count(long long v)
{
    return v > 0 ? (double)v : 0.0;
}

double prices_cost_usd(const price *p, const price_usage *u)
{
    double input = clamp_count(u->input), output = clamp_count(u->output);
    double cached = clamp_count(u->cached), write = clamp_count(u->cache_write);
    double reasoning = clamp_count(u->reasoning);

    if (cached > input)
        cached = input;
    if (write > input - cached)
        write = input - cached;
    if (reasoning > output)
        reasoning = output;
    double plain_in = input - cached - write, plain_out = output - reasoning;
    double usd = plain_in * p->input;
    usd += cached * (p->cached_input >= 0 ? p->cached_input : p->input);
    usd += write * (p->cache_write >= 0 ? p->cache_write : p->input);
    usd += plain_out * p->output;
    usd += reasoning * (p->reasoning >= 0 ? p->reasoning : p->output);
    return usd / 1e6;
}

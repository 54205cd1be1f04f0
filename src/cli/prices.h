/* prices.h: model prices for `oisp-sensor analyze costs`.
 *
 * A price_table holds USD prices per million tokens for (provider, model)
 * pairs: the built-in table of common models (prices.c, data only), plus, if
 * loaded, the models of an OISP provider bundle (v1 or v2 format), which win
 * over built-in entries for the same provider and model.
 *
 * prices_lookup() resolves a model id as seen in an event, in this order,
 * stopping at the first hit (every step tries the event's provider first,
 * then the vendor named inside the id, then the id under any provider, where
 * first-party providers are preferred):
 *   1. exact id                       gpt-4o
 *   2. provider-prefixed forms        openai/gpt-4o, models/gemini-2.0-flash,
 *                                     us.anthropic.claude-3-5-sonnet-...
 *   3. dated snapshots stripped       gpt-4o-2024-08-06, claude-...@20240620,
 *                                     ...-20241022-v2:0, gpt-4-0613, -latest
 *   4. longest prefix ending at - : @ / _    gpt-4o-mini-search-preview
 * Matching ignores ASCII case. */
#ifndef OISP_CLI_PRICES_H
#define OISP_CLI_PRICES_H

#include <stddef.h>

/* One price entry.  All prices are USD per 1,000,000 tokens. */
typedef struct price {
    const char *provider;  /* provider id, e.g. "openai", "anthropic" */
    const char *model;     /* model id as listed, e.g. "gpt-4o" */
    double input;          /* uncached input (prompt) tokens */
    double output;         /* output (completion) tokens */
    double cached_input;   /* input tokens read from a prompt cache; < 0 unknown */
    double cache_write;    /* input tokens written to a prompt cache; < 0 unknown */
    double reasoning;      /* reasoning tokens; < 0: billed as output */
    const char *source;    /* "built-in" or "bundle" */
} price;

/* How prices_lookup() found its entry (the steps above). */
typedef enum price_match {
    PRICE_EXACT = 1,
    PRICE_PROVIDER_FORM,
    PRICE_SNAPSHOT,
    PRICE_PREFIX,
} price_match;

/* The date of the built-in prices, "YYYY-MM-DD". */
extern const char prices_builtin_date[];

typedef struct price_table price_table;

/* A table holding the built-in prices.  NULL when out of memory. */
price_table *prices_new(void);

/* Adds the priced models of the OISP bundle at path; they take precedence
 * over the built-in entries.  Returns 0, or -1 with a one-line reason in err
 * (unreadable, not JSON, not a bundle, no priced model).  Bundles larger
 * than PRICES_BUNDLE_MAX bytes are refused. */
#define PRICES_BUNDLE_MAX (64u << 20)
int prices_load_bundle(price_table *t, const char *path, char *err, size_t errsz);

/* The loaded bundle's format ("v1" or "v2") and its priced models; NULL and
 * 0 when no bundle is loaded. */
const char *prices_bundle_format(const price_table *t);
size_t prices_bundle_models(const price_table *t);

/* The entry for a model id seen with a provider (provider may be NULL; alt
 * is a second provider name to try, e.g. OISP's "other" behind a real name,
 * and may be NULL).  NULL when nothing matches.  *how (may be NULL) says
 * which step matched.  The entry lives as long as the table. */
const price *prices_lookup(const price_table *t, const char *provider, const char *alt,
                           const char *model, price_match *how);

/* Token counts of one response, as OISP usage reports them: input includes
 * cached and cache_write, output includes reasoning.  Negative counts are
 * taken as 0; a part larger than its whole is capped to the whole. */
typedef struct price_usage {
    long long input, cached, cache_write, output, reasoning;
} price_usage;

/* USD for usage at price p.  Cached input is billed at the cached price when
 * known (else as input), cache writes at the write price when known (else as
 * input), reasoning at the reasoning price when known (else as output). */
double prices_cost_usd(const price *p, const price_usage *u);

/* A short name for a match step: "exact", "provider form", "snapshot", "prefix". */
const char *prices_match_name(price_match how);

void prices_free(price_table *t);

#endif

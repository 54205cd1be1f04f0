/* provider.h: which AI provider serves a host.
 *
 * A built-in table maps well-known API hosts (exact names, "host:port" for
 * local servers, and glob patterns such as "*.openai.azure.com") to a
 * provider.  OISP provider bundles (bundle-v1 "domain_index", bundle-v2
 * "domain_lookup", and both versions' "domain_patterns") loaded with
 * provider_bundle_load() extend it; built-in entries win on conflicts.
 *
 * The table is process-wide: load bundles at start-up, before any thread
 * decodes (lookups only read it). */
#ifndef OISP_DECODE_PROVIDER_H
#define OISP_DECODE_PROVIDER_H

#include <stddef.h>

typedef struct provider_info {
    const char *name; /* OISP provider.name (closed enum; "other" if not in it) */
    const char *real; /* the real provider id ("openai", "deepseek", "google_vertex") */
} provider_info;

/* Looks up a Host header value ("API.OpenAI.com:443", "localhost:11434",
 * "[::1]:11434").  "host:port" is tried first, then the host without port.
 * Returns 1 and fills *out on a match, else 0. */
int provider_lookup(const char *host, size_t len, provider_info *out);

/* OISP provider.name for a provider id: the id itself if it is in the OISP
 * enum, a known alias ("google_vertex" -> "google"), else "other". */
const char *provider_oisp_name(const char *id);

/* Declared in decode.h: int provider_bundle_load(path, err, errlen). */

/* Forgets every loaded bundle entry (tests, shutdown). */
void provider_bundle_unload(void);

#endif

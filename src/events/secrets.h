/* secrets.h: find credentials in free text (command lines, headers) and
 * mask them.  Detects OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), Google
 * (AIza), AWS (AKIA/ASIA), GitHub (gh?_ / github_pat_), Slack (xox?-)
 * keys, JWTs, and the value after "Bearer", "Basic", "Authorization:",
 * "x-api-key:", "api-key:" and "--api-key"/"--token"/"--password"-style
 * options.  A match becomes "[REDACTED:kind]". */
#ifndef OISP_EVENTS_SECRETS_H
#define OISP_EVENTS_SECRETS_H

#include <stddef.h>

/* Returns a newly allocated copy of s[0..n) with secrets masked (NUL-
 * terminated, length in *outlen), or NULL when nothing was found (the
 * common case: no allocation). */
char *secrets_mask(const char *s, size_t n, size_t *outlen);

#endif

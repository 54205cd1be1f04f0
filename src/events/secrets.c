/* secrets.c: credential masking (see secrets.h).  One left-to-right scan:
 * at each position, try the detectors whose first byte matches; a match is
 * replaced and the scan resumes after it.  Detectors require a minimum
 * length of key characters so ordinary words ("sk-learn", "ghost_") pass. */
#include "events/secrets.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct out_buf {
    char *p;
    size_t len, cap;
} out_buf;

static int put(out_buf *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t nc = (o->len + n + 1) * 2;
        char *np = realloc(o->p, nc);
        if (!np)
            return -1;
        o->p = np;
        o->cap = nc;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
    return 0;
}

static int keych(int c) { return isalnum(c) || c == '-' || c == '_'; }
static int b64ch(int c) { return isalnum(c) || c == '-' || c == '_' || c == '+' || c == '/' || c == '='; }

static size_t span(const char *s, size_t n, int (*ok)(int))
{
    size_t i = 0;
    while (i < n && ok((unsigned char)s[i]))
        i++;
    return i;
}

static int at_word_start(const char *s, size_t i)
{
    return i == 0 || !keych((unsigned char)s[i - 1]);
}

/* A prefixed key: prefix then at least min key characters. */
static size_t match_prefixed(const char *s, size_t n, const char *prefix, size_t min)
{
    size_t pl = strlen(prefix);
    if (n < pl || memcmp(s, prefix, pl) != 0)
        return 0;
    size_t k = span(s + pl, n - pl, keych);
    return k >= min ? pl + k : 0;
}

/* header.payload.signature, each base64url, starting with "eyJ" */
static size_t match_jwt(const char *s, size_t n)
{
    if (n < 3 || memcmp(s, "eyJ", 3) != 0)
        return 0;
    size_t i = 0;
    for (int part = 0; part < 3; part++) {
        size_t k = span(s + i, n - i, keych);
        if (k < 8)
            return 0;
        i += k;
        if (part < 2) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
    }
    return i;
}

static const struct {
    const char *prefix;
    size_t min;
    const char *kind;
} prefixed[] = {
    {"sk-ant-", 16, "anthropic_key"}, {"sk-proj-", 16, "openai_key"}, {"sk-", 20, "openai_key"},
    {"AIza", 30, "google_key"},       {"AKIA", 16, "aws_key"},        {"ASIA", 16, "aws_key"},
    {"ghp_", 30, "github_token"},     {"gho_", 30, "github_token"},   {"ghu_", 30, "github_token"},
    {"ghs_", 30, "github_token"},     {"ghr_", 30, "github_token"},   {"github_pat_", 30, "github_token"},
    {"xoxb-", 10, "slack_token"},     {"xoxp-", 10, "slack_token"},   {"xoxa-", 10, "slack_token"},
    {"xoxr-", 10, "slack_token"},     {"xoxs-", 10, "slack_token"},
};

/* Labels after which the next token is a secret whatever it looks like. */
static const char *const labels[] = {
    "bearer ", "basic ", "authorization:", "authorization=", "x-api-key:", "x-api-key=",
    "api-key:", "api-key=", "x-goog-api-key:", "--api-key=", "--api-key ", "--token=",
    "--token ", "--password=", "--password ", "api_key=", "apikey=", "token=", "password=",
};

static size_t match_label(const char *s, size_t n, size_t *value_at)
{
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        size_t l = strlen(labels[i]);
        if (n < l || strncasecmp(s, labels[i], l) != 0)
            continue;
        size_t j = l;
        while (j < n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        /* "Authorization: Bearer X": let the Bearer label take it */
        if (n - j >= 7 && strncasecmp(s + j, "bearer ", 7) == 0)
            return 0;
        if (n - j >= 6 && strncasecmp(s + j, "basic ", 6) == 0)
            return 0;
        size_t k = span(s + j, n - j, b64ch);
        if (k >= 8) {
            *value_at = j;
            return j + k;
        }
    }
    return 0;
}

static size_t match_any(const char *s, size_t n, size_t i, size_t *keep, const char **kind)
{
    *keep = 0;
    if (at_word_start(s, i)) {
        for (size_t d = 0; d < sizeof(prefixed) / sizeof(prefixed[0]); d++) {
            size_t m = match_prefixed(s + i, n - i, prefixed[d].prefix, prefixed[d].min);
            if (m) {
                *kind = prefixed[d].kind;
                return m;
            }
        }
        size_t m = match_jwt(s + i, n - i);
        if (m) {
            *kind = "jwt";
            return m;
        }
    }
    size_t m = match_label(s + i, n - i, keep);
    if (m) {
        *kind = "credential";
        return m;
    }
    return 0;
}

char *secrets_mask(const char *s, size_t n, size_t *outlen)
{
    out_buf o = {0};
    size_t copied = 0;
    for (size_t i = 0; i < n;) {
        size_t keep;
        const char *kind;
        size_t m = match_any(s, n, i, &keep, &kind);
        if (!m) {
            i++;
            continue;
        }
        put(&o, s + copied, i + keep - copied);
        put(&o, "[REDACTED:", 10);
        put(&o, kind, strlen(kind));
        put(&o, "]", 1);
        i += m;
        copied = i;
    }
    if (!o.p)
        return NULL;
    put(&o, s + copied, n - copied);
    if (outlen)
        *outlen = o.len;
    return o.p;
}

/* secrets.h: find secrets and personal data in free text, fast.
 *
 * One left-to-right pass over the bytes, 16 at a time: only bytes that
 * can anchor a finding (digits, ':', '=', '@', '-', '_', '[', 'A', 'J',
 * 'B', 'b') reach a detector, which looks at a few bytes around it.  Text
 * without findings is not copied.  What each detector accepts:
 *
 *   openai_key     "sk-proj-" + 16, "sk-" + 20 key characters ([A-Za-z0-9_-])
 *   anthropic_key  "sk-ant-" + 16
 *   google_key     "AIza" + 30
 *   aws_key        "AKIA" / "ASIA" + exactly 16 of [A-Z0-9]
 *   github_token   "ghp_" "gho_" "ghu_" "ghs_" "ghr_" "github_pat_" + 30
 *   slack_token    "xox[abeprs]-" + 10
 *     (all of these only at the start of a word: the byte before is not a
 *      key character, so "task-force" or "ghost_town" never match)
 *   jwt            "eyJ" + three base64url parts of 8+ characters joined by '.'
 *   credential     the value after a credential label: "Bearer X", "Basic X",
 *                  "Authorization: X" (the scheme word is kept), and
 *                  NAME: X / NAME=X / "NAME": "X" / --NAME X where NAME ends
 *                  in authorization, api-key, api_key, apikey, token,
 *                  password, passwd, secret, access_key or secret_key (so
 *                  "x-api-key", "GITHUB_TOKEN", "--password"; not
 *                  "max_tokens").  The value must look like a secret: 8+
 *                  characters with a digit, one of + / = _ ~, an upper-case
 *                  letter after the first, or 24+ characters (so prose such
 *                  as "token: the next word" is left alone).  When the value
 *                  is itself a known key, the key's own kind is reported.
 *   email          local@domain.tld: a dot-separated domain whose last label
 *                  is 2+ letters.  Not the git account of "git@github.com:
 *                  org/repo", not "icon@2x.png".
 *   card           13-19 digits, optionally grouped by one kind of separator
 *                  (' ' or '-') as 4-4-4-4[-1..4], 4-6-5 or 4-6-4; the issuer
 *                  prefix and length must fit a card network (Visa,
 *                  Mastercard, Amex, Discover, JCB, Diners, UnionPay,
 *                  Maestro) and the Luhn check must pass.  The number must
 *                  stand alone: not inside a word, a decimal ("3.1415..."), a
 *                  phone number ("+4915...") or a longer digit run.
 *
 * A match is replaced by the mask "[REDACTED:<kind>]".  Masks already in
 * the text are skipped whole (and the byte after a mask does not start a
 * word), so masking masked text changes nothing.  Matches start and end on
 * UTF-8 character boundaries. */
#ifndef OISP_EVENTS_SECRETS_H
#define OISP_EVENTS_SECRETS_H

#include <stddef.h>
#include <stdint.h>

typedef enum secret_kind {
    SECRET_OPENAI_KEY,
    SECRET_ANTHROPIC_KEY,
    SECRET_GOOGLE_KEY,
    SECRET_AWS_KEY,
    SECRET_GITHUB_TOKEN,
    SECRET_SLACK_TOKEN,
    SECRET_JWT,
    SECRET_CREDENTIAL,
    SECRET_EMAIL,
    SECRET_CARD,
    SECRET_KIND_COUNT
} secret_kind;

#define SECRET_BIT(k) (1u << (k))
/* API keys, tokens and credential values: never written, in any mode. */
#define SECRETS_CREDENTIALS                                                               \
    (SECRET_BIT(SECRET_OPENAI_KEY) | SECRET_BIT(SECRET_ANTHROPIC_KEY) |                     \
     SECRET_BIT(SECRET_GOOGLE_KEY) | SECRET_BIT(SECRET_AWS_KEY) |                           \
     SECRET_BIT(SECRET_GITHUB_TOKEN) | SECRET_BIT(SECRET_SLACK_TOKEN) |                     \
     SECRET_BIT(SECRET_JWT) | SECRET_BIT(SECRET_CREDENTIAL))
#define SECRETS_ALL (SECRETS_CREDENTIALS | SECRET_BIT(SECRET_EMAIL) | SECRET_BIT(SECRET_CARD))

/* Longest mask name accepted in "[REDACTED:name]". */
#define SECRETS_MASK_NAME_MAX 64

typedef struct secret_match {
    size_t start, end; /* s[start..end) is the secret */
    secret_kind kind;
} secret_match;

/* "openai_key", "email", ... */
const char *secrets_kind_name(secret_kind k);

/* The first finding of a kind in `kinds` (SECRET_BIT set) in s[from..n).
 * Returns 1 and fills *m, or 0.  Bytes before `from` are looked at only as
 * context (word starts, e-mail local parts). */
int secrets_next(const char *s, size_t n, size_t from, unsigned kinds, secret_match *m);

/* Length of the mask "[REDACTED:name]" that starts at s[i], or 0. */
size_t secrets_mask_at(const char *s, size_t n, size_t i);

/* Whether a field, header or option name names a credential (the same
 * suffix rule as the labels above): "api_key", "Authorization",
 * "x-goog-api-key", "GITHUB_TOKEN", "client_secret". */
int secrets_name_is_credential(const char *name, size_t n);

/* What masking found. */
typedef struct secrets_tally {
    uint32_t found[SECRET_KIND_COUNT]; /* findings masked, by kind */
    uint32_t masks_seen;               /* masks already there, stepped over */
} secrets_tally;

/* Masks every finding of `kinds` in s[0..n), repeating the pass on its
 * own output until it finds nothing (at most SECRETS_MAX_PASSES passes):
 * a finding can appear once a neighbour is masked (a key inside an e-mail
 * domain), and the result must be final.  Returns 0 when there is none
 * (*out untouched), 1 with *out a new NUL-terminated string of *outlen
 * bytes (outlen may be NULL), -1 when memory ran out.  tally, if not
 * NULL, is added to (the caller zeroes it). */
#define SECRETS_MAX_PASSES 8
int secrets_mask_kinds(const char *s, size_t n, unsigned kinds, secrets_tally *tally, char **out,
                       size_t *outlen);

/* Credentials only (SECRETS_CREDENTIALS).  Returns a newly allocated copy
 * of s[0..n) with them masked (NUL-terminated, length in *outlen if not
 * NULL), or NULL when nothing was found (the common case: no allocation)
 * or memory ran out. */
char *secrets_mask(const char *s, size_t n, size_t *outlen);

#endif

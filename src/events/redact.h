/* redact.h: the redaction every event goes through before any sink.
 *
 * Detectors (events/secrets.h has the exact rules): API keys (openai_key,
 * anthropic_key, google_key, aws_key, github_token, slack_token), jwt,
 * credential (Bearer/Basic values, Authorization/api-key/token/password
 * labels, values of JSON keys and headers named like credentials), email,
 * card (Luhn-checked, issuer prefix and length of a real card network), and
 * the user's own patterns (POSIX extended regular expressions, by name).
 *
 * Where: the free text of an event.
 *   content   ai.request/ai.response data.messages[].content, .thinking,
 *             .refusal; data.choices[].message (the same keys);
 *             tool-call arguments (data.tool_calls[].arguments and
 *             data.messages[].tool_calls[].arguments; a string, or an
 *             object whose string values are walked); agent.tool_call
 *             data.arguments (object, walked); agent.tool_result data.result
 *             (string, object or array).
 *   text      process.cmdline and process.cmdline_args[]; data.args[]
 *             (process.exec); data.error.message; data.provider.endpoint;
 *             headers (data.headers, data.request_headers,
 *             data.response_headers, attrs.headers: values of Authorization,
 *             Cookie, x-api-key, ... are masked whole, the scheme word kept).
 *   In objects, the value of a key named like a credential ("api_key",
 *   "password", "token", "Authorization") is masked whole, whatever it
 *   looks like.  Objects deeper than REDACT_DEPTH_MAX are replaced by
 *   "[REDACTED:too_deep]".
 *
 * Modes:
 *   safe (default)  API keys, tokens, credentials, e-mail addresses, card
 *                   numbers and the user's patterns are replaced in place by
 *                   "[REDACTED:<detector>]"; content stays a readable string.
 *   minimal         only API keys, JWTs and credentials (and the user's
 *                   patterns); e-mail addresses and card numbers are kept.
 *   full            text fields as in safe; every content field is replaced
 *                   whole so that no prompt or answer text leaves the host:
 *                   - message content / thinking / refusal and
 *                     agent.tool_call data.arguments become the OISP marker
 *                     {"$redacted": {reason: "policy", detector (if
 *                     anything was found: the first detector in the order
 *                     below that did), redaction_profile: "full",
 *                     original_length (characters), hash ("sha256:<hex>" of
 *                     the UTF-8 bytes; of the compact JSON with sorted keys
 *                     for objects), preview (the first preview_chars
 *                     characters, at most 100, of the text with its findings
 *                     masked; left out when preview_chars < 0), findings}};
 *                   - tool-call arguments (ai events) and agent.tool_result
 *                     data.result are removed, and arguments_hash /
 *                     result_hash (+ result_size_bytes) set: the OISP schema
 *                     types these as oneOf string|object|marker, and a marker
 *                     is also an object, so it would fail validation.  The
 *                     removed fields are listed as JSON pointers in
 *                     attrs.redaction.removed.
 *                   confidence.completeness "full" becomes "redacted".
 *
 * Every event gets confidence.redaction_profile (the mode name) and
 * confidence.redaction_applied: true when anything was masked, replaced or
 * removed, now or by an earlier pass, or when its text already holds masks
 * (command lines are masked where they are read).  Findings are summed in
 * attrs.redaction.findings = [{type, count}] (built-in detectors in the
 * order of secret_kind, then the user's patterns in their order).  A user
 * pattern's adjacent matches share one mask; one that matches so often
 * that the text would grow past 4 times its size masks the whole string.
 *
 * Redacting an event twice gives the same event as redacting it once:
 * masks and markers are skipped, counts are only added for new findings.
 *
 * Threads: a redactor is immutable after redact_new(), so redact_event()
 * may run on several threads at once (on different events); glibc's
 * regexec() is thread-safe.  To change settings (SIGHUP), build a new
 * redactor and swap the pointer where no redact_event() is running on the
 * old one, then free the old one. */
#ifndef OISP_EVENTS_REDACT_H
#define OISP_EVENTS_REDACT_H

#include <jansson.h>
#include <stddef.h>

/* The order of config.h's CONFIG_REDACT_* (safe, full, minimal). */
typedef enum redact_mode { REDACT_SAFE = 0, REDACT_FULL = 1, REDACT_MINIMAL = 2 } redact_mode;

typedef struct redact_pattern {
    const char *name;  /* mask and finding type: [A-Za-z0-9_.-], 1-64 characters */
    const char *regex; /* POSIX extended regular expression */
} redact_pattern;

#define REDACT_PATTERNS_MAX 1024
#define REDACT_PREVIEW_MAX 100 /* the OISP marker's preview maxLength */
#define REDACT_DEPTH_MAX 64

typedef struct redact_opts {
    redact_mode mode;                /* REDACT_SAFE when zeroed */
    const redact_pattern *patterns;  /* borrowed; copied by redact_new */
    size_t npatterns;
    int preview_chars;               /* full: 0 = REDACT_PREVIEW_MAX, < 0 = no preview */
} redact_opts;

typedef struct redactor redactor;

/* "safe", "full", "minimal"; -1 for anything else. */
int redact_mode_parse(const char *name);
const char *redact_mode_name(redact_mode m);

/* A new redactor, or NULL with a message in err: unknown mode, a pattern
 * name that is empty, too long, used twice, a built-in detector's name or
 * has characters other than [A-Za-z0-9_.-]; a regex that does not compile
 * (regerror's text) or that matches the empty string. */
redactor *redact_new(const redact_opts *o, char *err, size_t errlen);
void redact_free(redactor *r);
redact_mode redact_get_mode(const redactor *r);

/* Redacts ev in place.  Returns 1 if it changed, 0 if not, -1 if memory
 * ran out: then ev may be only partly redacted and must not be emitted.
 * Strings are replaced in their parent object or array; objects the event
 * shares with others (by reference count) are changed for all of them. */
int redact_event(const redactor *r, json_t *ev);

#endif

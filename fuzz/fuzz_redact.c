/* fuzz_redact.c: libFuzzer target for the redaction engine
 * (src/events/redact.c), which every event passes before any sink.
 * Input: [mode][shape] then the rest.
 *
 * mode byte: % 3 picks safe, full or minimal; bits 2-3 the preview length
 * (default, none, 5 characters, 100); bit 4 adds two user patterns.
 * shape byte: even: the rest is placed as text (when it is valid UTF-8)
 * in every free-text field redact.h lists for one kind of event (bits 1-2:
 * ai.request, ai.response, agent.tool_call, agent.tool_result): message
 * content, thinking, refusal, tool-call arguments, error message,
 * endpoint, headers, tool results, process cmdline and args; odd: the rest is a
 * JSON document and, if it is an object, is redacted as the event itself
 * (the engine must cope with any shape and type where it looks).
 *
 * Checks: redact_event returns -1, 0 or 1 and the event still serialises;
 * redacting again changes nothing (redact.h promises idempotence); and an
 * OpenAI key planted in each text field, set apart by blank lines, is
 * gone from the output in every mode (unless the input itself spells it). */
#include <string.h>

#include <jansson.h>

#include "events/redact.h"
#include "fuzz.h"
#include "util/jsonfast.h"

#define PLANTED "sk-proj-PLANTEDkey0123456789abcdefghijABCD"

/* An event of the kind shape picks (bits 1-2), with s in each place
 * redact.h says holds free text for that kind. */
static json_t *text_event(uint8_t shape, const char *text, size_t n)
{
    size_t tlen = n + 2 * 2 + sizeof(PLANTED) - 1;
    char *t = malloc(tlen + 1);
    FUZZ_CHECK(t != NULL);
    memcpy(t, text, n);
    memcpy(t + n, "\n\n" PLANTED "\n\n", tlen - n);
    t[tlen] = 0;
    json_t *s = json_stringn(t, tlen);
    free(t);
    if (!s)
        return NULL; /* not valid UTF-8: events never hold such strings */
    json_t *proc = json_pack("{s:O, s:[O], s:i}", "cmdline", s, "cmdline_args", s, "pid", 42);
    json_t *data;
    const char *type;
    switch ((shape >> 1) & 3) {
    case 0:
        type = "ai.request";
        data = json_pack("{s:[{s:s, s:O, s:O, s:[{s:s, s:O}]}, {s:s, s:{s:O}}], s:{s:O, s:s}, s:{s:O}, "
                         "s:{s:O, s:s}}",
                         "messages", "role", "user", "content", s, "thinking", s, "tool_calls", "name", "f",
                         "arguments", s, "role", "tool", "content", "text", s, "error", "message", s, "type",
                         "x", "provider", "endpoint", s, "request_headers", "Authorization", s, "x-trace", "t");
        break;
    case 1:
        type = "ai.response";
        data = json_pack("{s:[{s:{s:O, s:O, s:[{s:s, s:{s:O}}]}}], s:[{s:s, s:O}], s:{s:O}}", "choices",
                         "message", "content", s, "refusal", s, "tool_calls", "id", "c1", "arguments", "q", s,
                         "tool_calls", "id", "c2", "arguments", s, "response_headers", "x-api-key", s);
        break;
    case 2:
        type = "agent.tool_call";
        data = json_pack("{s:s, s:{s:O, s:[O]}}", "tool_name", "shell", "arguments", "cmd", s, "argv", s);
        break;
    default:
        type = "agent.tool_result";
        data = json_pack("{s:s, s:O}", "tool_name", "shell", "result", s);
        break;
    }
    json_t *ev = json_pack("{s:s, s:s, s:o, s:o, s:{s:{s:O}}}", "event_type", type, "oisp_version", "0.1",
                           "process", proc, "data", data, "attrs", "headers", "cookie", s);
    json_decref(s);
    return ev;
}

static char *dump(const json_t *ev)
{
    char *out = NULL;
    FUZZ_CHECK(jsonfast_dump(ev, &out, NULL) == 0);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const int previews[] = {0, -1, 5, 100};
    static const redact_pattern pats[] = {{"ticket", "ACME-[0-9]{4,8}"}, {"host.internal", "[a-z]+\\.corp\\.example"}};
    redact_opts o = {.mode = (redact_mode)(data[0] % 3), .preview_chars = previews[(data[0] >> 2) & 3]};
    if (data[0] & 0x10) {
        o.patterns = pats;
        o.npatterns = 2;
    }
    char err[256];
    redactor *r = redact_new(&o, err, sizeof err);
    FUZZ_CHECK(r != NULL);

    int planted = !(data[1] & 1);
    json_t *ev = planted ? text_event(data[1], (const char *)data + 2, size - 2)
                         : jsonfast_loadb((const char *)data + 2, size - 2, 0, NULL);
    if (!json_is_object(ev)) {
        json_decref(ev);
        redact_free(r);
        return 0;
    }
    int rc = redact_event(r, ev);
    FUZZ_CHECK(rc >= -1 && rc <= 1);
    if (rc >= 0) {
        char *once = dump(ev);
        if (planted && strstr(once, PLANTED) && !memmem(data, size, "PLANTED", 7)) {
            fprintf(stderr, "planted key survived redaction (mode %s): %.2000s\n", redact_mode_name(o.mode), once);
            abort();
        }
        FUZZ_CHECK(redact_event(r, ev) >= 0);
        char *twice = dump(ev);
        if (strcmp(once, twice) != 0) {
            fprintf(stderr, "redaction is not idempotent (mode %s)\nonce:  %.2000s\ntwice: %.2000s\n",
                    redact_mode_name(o.mode), once, twice);
            abort();
        }
        free(once);
        free(twice);
    }
    json_decref(ev);
    redact_free(r);
    return 0;
}

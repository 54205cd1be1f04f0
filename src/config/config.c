/* config.c: the configuration schema and its loader (see config.h).
 *
 * How it works.  `keys` below is the schema: one row per setting with its
 * full dotted name, type, place in struct config (offsetof), default (as
 * text, read by the same code that reads environment values, so defaults
 * are checked like everything else), range or choices, and help.  The
 * [[sinks.webhook]] keys are a second table whose offsets are inside
 * config_webhook.
 *
 * Every value, whatever its source, becomes a toml_value first: the file's
 * come from the parsed document; environment and flag text is turned into
 * a one-line TOML document by type (text_to_toml).  One function per type
 * then checks the value and stores it (store_value), into a scratch slot
 * that replaces the old value only if it is valid, so a rejected override
 * leaves the previous value in place.
 *
 * The file is walked table by table against the schema (walk_table):
 * known keys are stored, known sections are descended into, anything else
 * is reported with the closest valid name and the list of valid ones.
 * Errors are collected (errbuf), not stopped at, so `config check` shows
 * them all. */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/toml.h"

#define LIST_MAX    1024        /* items in one list setting */
#define TEXT_MAX    4096        /* bytes in one string setting */

/* ---- the schema ---- */

typedef enum {
    CT_BOOL, CT_INT, CT_SIZE, CT_DURATION, CT_STRING, CT_ENUM, CT_FLAGS, CT_STRLIST,
    CT_INTLIST, CT_STRMAP, CT_PATTERNS, CT_RULES,
} ctype;

/* Extra checks on strings (and on the items of string lists). */
typedef enum {
    CK_NONE, CK_ABSPATH, CK_URL, CK_LISTEN, CK_COMM, CK_NONEMPTY, CK_EVENT_TYPE,
    CK_BROKER, CK_HEADER, CK_TOPIC, CK_POW2,
} check;

#define F_SECRET        1u      /* never printed */
#define F_SECRET_VALUES 2u      /* map: every value is secret */
#define F_SECRET_NAMED  4u      /* map: values whose name looks secret */
#define F_COMMON        8u      /* inherited from sinks.common.<name> when unset */

typedef struct key_def {
    const char *key;            /* full dotted name */
    ctype type;
    check check;
    unsigned flags;
    size_t off;                 /* in struct config, or config_webhook */
    const char *def;            /* default, as environment text */
    int64_t min, max;           /* ints, sizes, durations (in unit) */
    int64_t unit_ms;            /* durations: 1 (milliseconds) or 1000 (seconds) */
    const char *const *choices; /* enums and flag sets, NULL-terminated */
    const char *help;
} key_def;

static const char *const redact_modes[] = {"safe", "full", "minimal", NULL};
static const char *const kafka_keys[] = {"event_id", "process", "trace_id", NULL};
static const char *const compressions[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
static const char *const webhook_formats[] = {"json_array", "ndjson", NULL};
static const char *const auths[] = {"none", "bearer", "api_key", "basic", NULL};
static const char *const otlp_signals[] = {"logs", "traces", NULL};
static const char *const fan_modes[] = {"off", "passive", "permissive", "enforcing", NULL};
static const char *const fan_marks[] = {"mount", "filesystem", NULL};
static const char *const fan_events[] = {"exec", "open", "modify", "close_write", NULL};

#define OFF(field) offsetof(config, field)
#define WOFF(field) offsetof(config_webhook, field)
#define DAY_S   86400
#define HOUR_MS 3600000

/* The delivery settings every network sink has, in [sinks.common] and per
 * sink.  SEC is the section as a string literal, BASE the offset of its
 * config_sink_common. */
#define COMMON_KEYS(SEC, BASE, FL)                                                           \
    {SEC ".queue_size", CT_INT, CK_NONE, FL, BASE + offsetof(config_sink_common, queue_size),  \
     "100000", 1, 10000000, 0, NULL, "events waiting for delivery; more are dead-lettered"},   \
    {SEC ".batch_size", CT_INT, CK_NONE, FL, BASE + offsetof(config_sink_common, batch_size),  \
     "1000", 1, 100000, 0, NULL, "events per delivery (request, Kafka batch)"},                \
    {SEC ".batch_interval_ms", CT_DURATION, CK_NONE, FL,                                       \
     BASE + offsetof(config_sink_common, batch_interval_ms), "200", 0, HOUR_MS, 1, NULL,       \
     "how long to wait for a batch to fill"},                                                  \
    {SEC ".max_retries", CT_INT, CK_NONE, FL, BASE + offsetof(config_sink_common, max_retries), \
     "8", 0, 1000, 0, NULL, "retries after the first attempt, then dead-letter"},              \
    {SEC ".backoff_initial_ms", CT_DURATION, CK_NONE, FL,                                      \
     BASE + offsetof(config_sink_common, backoff_initial_ms), "200", 1, HOUR_MS, 1, NULL,      \
     "first retry delay; doubles each retry, with jitter"},                                    \
    {SEC ".backoff_max_ms", CT_DURATION, CK_NONE, FL,                                          \
     BASE + offsetof(config_sink_common, backoff_max_ms), "30000", 1, HOUR_MS, 1, NULL,        \
     "longest retry delay"},                                                                   \
    {SEC ".dead_letter_dir", CT_STRING, CK_NONE, FL,                                           \
     BASE + offsetof(config_sink_common, dead_letter_dir), "", 0, 0, 0, NULL,                  \
     "directory of dead-letter files; \"\" = /var/lib/oisp/dlq (./dlq when not root)"}

static const key_def keys[] = {
    {"capture.libraries", CT_STRLIST, CK_ABSPATH, 0, OFF(capture.libraries), "", 0, 0, 0, NULL,
     "TLS libraries to probe besides those found (absolute paths)"},
    {"capture.binaries", CT_STRLIST, CK_ABSPATH, 0, OFF(capture.binaries), "", 0, 0, 0, NULL,
     "binaries to probe, e.g. with OpenSSL linked in statically (absolute paths)"},
    {"capture.pids", CT_INTLIST, CK_NONE, 0, OFF(capture.pids), "", 1, 0x7fffffff, 0, NULL,
     "capture only these processes (and comms/cgroups); empty: every process"},
    {"capture.comms", CT_STRLIST, CK_COMM, 0, OFF(capture.comms), "", 0, 0, 0, NULL,
     "capture only processes with these names (at most 15 characters)"},
    {"capture.cgroups", CT_STRLIST, CK_NONEMPTY, 0, OFF(capture.cgroups), "", 0, 0, 0, NULL,
     "capture only processes in these cgroup v2 paths, e.g. system.slice/agent.service"},
    {"capture.max_capture", CT_SIZE, CK_NONE, 0, OFF(capture.max_capture), "2M", 4096,
     1 << 30, 0, NULL, "bytes captured per TLS read/write; longer calls are marked partial"},
    {"capture.ring_size", CT_SIZE, CK_POW2, 0, OFF(capture.ring_size), "2M", 1 << 20, 1 << 30,
     0, NULL, "kernel ring buffer size, a power of two, raised to hold one max_capture call; a "
     "reader thread empties it into queue_size"},
    {"capture.queue_size", CT_SIZE, CK_NONE, 0, OFF(capture.queue_size), "32M", 1 << 20,
     1 << 30, 0, NULL, "user-space queue behind the ring for bursts that decoding has not "
     "caught up with; its memory is touched only as deep as the backlog goes"},
    {"capture.inbound", CT_BOOL, CK_NONE, 0, OFF(capture.inbound), "false", 0, 0, 0, NULL,
     "also report the server side of exchanges whose server runs on this host"},
    {"capture.nice", CT_INT, CK_NONE, 0, OFF(capture.nice), "-10", -20, 19, 0, NULL,
     "the sensor's scheduling priority (nice value), so that on a busy host it keeps up "
     "with the ring buffer; 0: as started"},

    {"redaction.mode", CT_ENUM, CK_NONE, 0, OFF(redaction.mode), "safe", 0, 0, 0, redact_modes,
     "safe: API keys, tokens, e-mail addresses, card numbers; full: also all message "
     "content; minimal: API keys and tokens only"},
    {"redaction.patterns", CT_PATTERNS, CK_NONE, 0, OFF(redaction.patterns), "[]", 0, 0, 0,
     NULL, "your own detectors: [{ name = \"ticket\", regex = \"TKT-[0-9]+\" }] (POSIX "
     "extended regular expressions)"},

    {"output.jsonl.path", CT_STRING, CK_NONE, 0, OFF(jsonl.path), "events.jsonl", 0, 0, 0, NULL,
     "JSON Lines output file (mode 0600); \"-\" for stdout, \"\" for none"},
    {"output.jsonl.rotate_size", CT_SIZE, CK_NONE, 0, OFF(jsonl.rotate_size), "0", 0,
     (int64_t)1 << 40, 0, NULL, "rotate when the file reaches this size; 0: never"},
    {"output.jsonl.rotate_interval", CT_DURATION, CK_NONE, 0, OFF(jsonl.rotate_interval), "0",
     0, 366 * (int64_t)DAY_S, 1000, NULL,
     "rotate after this long (seconds, or \"1h\", \"1d\"); 0: never"},
    {"output.jsonl.keep", CT_INT, CK_NONE, 0, OFF(jsonl.keep), "5", 0, 10000, 0, NULL,
     "rotated files kept"},
    {"output.jsonl.flush_interval_ms", CT_DURATION, CK_NONE, 0, OFF(jsonl.flush_interval_ms),
     "100", 0, 60000, 1, NULL, "longest time an event waits in memory before it is written"},
    {"output.jsonl.fsync_interval_ms", CT_DURATION, CK_NONE, 0, OFF(jsonl.fsync_interval_ms),
     "0", 0, HOUR_MS, 1, NULL, "fsync the file this often; 0: never (the kernel decides)"},

    COMMON_KEYS("sinks.common", OFF(sinks.common), 0),

    {"sinks.websocket.listen", CT_STRING, CK_LISTEN, 0, OFF(sinks.websocket.listen), "", 0, 0,
     0, NULL, "serve live events over WebSocket at HOST:PORT, e.g. 127.0.0.1:7778; "
     "\"\": off"},
    {"sinks.websocket.token", CT_STRING, CK_NONE, F_SECRET, OFF(sinks.websocket.token), "", 0,
     0, 0, NULL, "token clients must present; required when not on loopback"},
    {"sinks.websocket.types", CT_STRLIST, CK_EVENT_TYPE, 0, OFF(sinks.websocket.types), "", 0,
     0, 0, NULL, "event types sent to clients that ask for none (\"ai.request\", \"ai.*\"); "
     "empty: all"},
    {"sinks.websocket.queue", CT_INT, CK_NONE, 0, OFF(sinks.websocket.queue), "4096", 1,
     1000000, 0, NULL, "events queued per client; a client that falls further behind is "
     "dropped"},

    {"sinks.otlp.url", CT_STRING, CK_URL, 0, OFF(sinks.otlp.url), "", 0, 0, 0, NULL,
     "OpenTelemetry collector base URL, e.g. http://127.0.0.1:4318 (/v1/logs and "
     "/v1/traces are added); \"\": off"},
    {"sinks.otlp.headers", CT_STRMAP, CK_HEADER, F_SECRET_VALUES, OFF(sinks.otlp.headers), "{}",
     0, 0, 0, NULL, "extra HTTP headers: { \"X-Scope-OrgID\" = \"team\" }"},
    {"sinks.otlp.bearer_token", CT_STRING, CK_NONE, F_SECRET, OFF(sinks.otlp.bearer_token), "",
     0, 0, 0, NULL, "sent as Authorization: Bearer TOKEN"},
    {"sinks.otlp.gzip", CT_BOOL, CK_NONE, 0, OFF(sinks.otlp.gzip), "true", 0, 0, 0, NULL,
     "compress requests"},
    {"sinks.otlp.timeout_ms", CT_DURATION, CK_NONE, 0, OFF(sinks.otlp.timeout_ms), "10000", 100,
     600000, 1, NULL, "per request"},
    {"sinks.otlp.signals", CT_FLAGS, CK_NONE, 0, OFF(sinks.otlp.signals), "logs,traces", 0, 0,
     0, otlp_signals, "what to export: events as logs, AI exchanges as traces"},
    COMMON_KEYS("sinks.otlp", OFF(sinks.otlp.common), F_COMMON),

    {"sinks.kafka.brokers", CT_STRLIST, CK_BROKER, 0, OFF(sinks.kafka.brokers), "", 0, 0, 0,
     NULL, "bootstrap brokers as HOST:PORT; empty: off"},
    {"sinks.kafka.topic", CT_STRING, CK_TOPIC, 0, OFF(sinks.kafka.topic), "", 0, 0, 0, NULL,
     "topic to produce to (required with brokers)"},
    {"sinks.kafka.key", CT_ENUM, CK_NONE, 0, OFF(sinks.kafka.key), "event_id", 0, 0, 0,
     kafka_keys, "message key: process keeps one process's events in order"},
    {"sinks.kafka.compression", CT_ENUM, CK_NONE, 0, OFF(sinks.kafka.compression), "none", 0, 0,
     0, compressions, "message compression"},
    {"sinks.kafka.properties", CT_STRMAP, CK_NONE, F_SECRET_NAMED, OFF(sinks.kafka.properties),
     "{}", 0, 0, 0, NULL, "librdkafka properties passed as they are (SASL, TLS, acks): "
     "{ \"security.protocol\" = \"sasl_ssl\" }"},
    {"sinks.kafka.timeout_ms", CT_DURATION, CK_NONE, 0, OFF(sinks.kafka.timeout_ms), "30000",
     100, 600000, 1, NULL, "per batch"},
    COMMON_KEYS("sinks.kafka", OFF(sinks.kafka.common), F_COMMON),

    {"web.listen", CT_STRING, CK_LISTEN, 0, OFF(web.listen), "127.0.0.1:7777", 0, 0, 0, NULL,
     "web UI at HOST:PORT; \"\": off"},
    {"web.token", CT_STRING, CK_NONE, F_SECRET, OFF(web.token), "", 0, 0, 0, NULL,
     "token the UI asks for; required when not on loopback"},
    {"metrics.listen", CT_STRING, CK_LISTEN, 0, OFF(metrics.listen), "127.0.0.1:9464", 0, 0, 0,
     NULL, "Prometheus /metrics at HOST:PORT; \"\": off"},
    {"metrics.token", CT_STRING, CK_NONE, F_SECRET, OFF(metrics.token), "", 0, 0, 0, NULL,
     "bearer token scrapers must send; required when not on loopback"},

    {"correlation.enabled", CT_BOOL, CK_NONE, 0, OFF(correlation.enabled), "true", 0, 0, 0,
     NULL, "tie tool calls to the process, file and network events they cause"},
    {"correlation.window_ms", CT_DURATION, CK_NONE, 0, OFF(correlation.window_ms), "300000",
     1000, 24 * (int64_t)HOUR_MS, 1, NULL,
     "how long a tool call waits for its result before it is closed"},
    {"correlation.all_processes", CT_BOOL, CK_NONE, 0, OFF(correlation.all_processes), "false",
     0, 0, 0, NULL, "record host activity of every process, not only AI-active ones"},

    {"host.metrics_interval_ms", CT_DURATION, CK_NONE, 0, OFF(host.metrics_interval_ms), "1000",
     100, HOUR_MS, 1, NULL, "system metrics sampling period"},
    {"host.connections_interval_ms", CT_DURATION, CK_NONE, 0,
     OFF(host.connections_interval_ms), "2000", 100, HOUR_MS, 1, NULL,
     "socket table polling period"},
    {"host.fanotify.mode", CT_ENUM, CK_NONE, 0, OFF(host.fanotify.mode), "off", 0, 0, 0,
     fan_modes, "passive logs; permissive refuses executions a deny rule matches; enforcing "
     "refuses executions no allow rule matches"},
    {"host.fanotify.mark", CT_ENUM, CK_NONE, 0, OFF(host.fanotify.mark), "mount", 0, 0, 0,
     fan_marks, "mark the mount of each path, or its whole filesystem"},
    {"host.fanotify.paths", CT_STRLIST, CK_ABSPATH, 0, OFF(host.fanotify.paths), "", 0, 0, 0,
     NULL, "paths to watch (absolute); needed unless mode is off"},
    {"host.fanotify.events", CT_FLAGS, CK_NONE, 0, OFF(host.fanotify.events),
     "exec,open,modify,close_write", 0, 0, 0, fan_events, "which file events to report"},
    {"host.fanotify.allow", CT_RULES, CK_NONE, 0, OFF(host.fanotify.allow), "[]", 0, 0, 0, NULL,
     "rules: [{ prefix = \"/usr/bin\" }, { exe = \"/usr/bin/make\" }, { sha256 = \"...\" }]"},
    {"host.fanotify.deny", CT_RULES, CK_NONE, 0, OFF(host.fanotify.deny), "[]", 0, 0, 0, NULL,
     "rules, as for allow; deny wins"},
};

static const key_def webhook_keys[] = {
    {"sinks.webhook.url", CT_STRING, CK_URL, 0, WOFF(url), "", 0, 0, 0, NULL,
     "where to POST batches (http:// or https://); required"},
    {"sinks.webhook.format", CT_ENUM, CK_NONE, 0, WOFF(format), "json_array", 0, 0, 0,
     webhook_formats, "a JSON array per request, or one event per line"},
    {"sinks.webhook.auth", CT_ENUM, CK_NONE, 0, WOFF(auth), "none", 0, 0, 0, auths,
     "bearer and api_key send token; basic sends username and password"},
    {"sinks.webhook.token", CT_STRING, CK_NONE, F_SECRET, WOFF(token), "", 0, 0, 0, NULL,
     "for auth = bearer or api_key"},
    {"sinks.webhook.header", CT_STRING, CK_HEADER, 0, WOFF(header), "X-API-Key", 0, 0, 0, NULL,
     "for auth = api_key: the header carrying the token"},
    {"sinks.webhook.username", CT_STRING, CK_NONE, 0, WOFF(username), "", 0, 0, 0, NULL,
     "for auth = basic"},
    {"sinks.webhook.password", CT_STRING, CK_NONE, F_SECRET, WOFF(password), "", 0, 0, 0, NULL,
     "for auth = basic"},
    {"sinks.webhook.timeout_ms", CT_DURATION, CK_NONE, 0, WOFF(timeout_ms), "10000", 100,
     600000, 1, NULL, "per request"},
    COMMON_KEYS("sinks.webhook", WOFF(common), F_COMMON),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
#define NWKEYS (sizeof(webhook_keys) / sizeof(webhook_keys[0]))

/* Sections, in the order config show prints them.  Tables that only hold
 * other sections (output, sinks) have no keys of their own. */
static const char *const sections[] = {
    "capture", "redaction", "output", "output.jsonl", "sinks", "sinks.common",
    "sinks.websocket", "sinks.otlp", "sinks.kafka", "sinks.webhook", "web", "metrics",
    "correlation", "host", "host.fanotify", NULL,
};

/* ---- small helpers ---- */

static const char *key_name(const key_def *k) { return strrchr(k->key, '.') + 1; }

static size_t section_len(const key_def *k) { return (size_t)(key_name(k) - 1 - k->key); }

static int in_section(const key_def *k, const char *sec)
{
    size_t n = section_len(k);
    return strlen(sec) == n && memcmp(k->key, sec, n) == 0;
}

static const key_def *find_key(const key_def *tab, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tab[i].key, key) == 0)
            return &tab[i];
    return NULL;
}

static int is_section(const char *name)
{
    for (size_t i = 0; sections[i]; i++)
        if (strcmp(sections[i], name) == 0)
            return 1;
    return 0;
}

/* The subsection or key directly below sec ("" for the root) that name is,
 * i.e. name == sec + "." + child with no further dot. */
static const char *child_of(const char *name, const char *sec)
{
    size_t n = strlen(sec);
    if (n) {
        if (strncmp(name, sec, n) != 0 || name[n] != '.')
            return NULL;
        name += n + 1;
    }
    return strchr(name, '.') ? NULL : name;
}

static void *slot_of(const key_def *k, void *base) { return (char *)base + k->off; }

static char *xstrdup(const char *s) { return strdup(s ? s : ""); }

void config_env_name(const char *key, char *buf, size_t n)
{
    size_t o = (size_t)snprintf(buf, n, "OISP_");
    for (const char *p = key; *p && o + 1 < n; p++)
        buf[o++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
    if (o < n)
        buf[o] = 0;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (tolower((unsigned char)a[i - 1]) !=
                                  tolower((unsigned char)b[j - 1]));
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Is `cand` a plausible correction of `typo`? */
static int close_enough(const char *typo, const char *cand, size_t *best)
{
    size_t d = edit_distance(typo, cand), limit = strlen(typo) / 4 + 1;
    if (limit > 3)
        limit = 3;
    if (d > limit || d >= *best)
        return 0;
    *best = d;
    return 1;
}

/* ---- errors ---- */

typedef struct errbuf {
    char *buf;
    size_t cap, len;
    int n, lost;
} errbuf;

__attribute__((format(printf, 2, 3)))
static void errf(errbuf *e, const char *fmt, ...)
{
    e->n++;
    if (!e->buf || !e->cap)
        return;
    size_t reserve = 48;                    /* for the "... more" line */
    if (e->len + reserve >= e->cap) {
        e->lost++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(e->buf + e->len, e->cap - reserve - e->len, fmt, ap);
    va_end(ap);
    if (w < 0 || e->len + (size_t)w + 1 >= e->cap - reserve) {
        e->buf[e->len] = 0;
        e->lost++;
        return;
    }
    e->len += (size_t)w;
    e->buf[e->len++] = '\n';
    e->buf[e->len] = 0;
}

static void errbuf_finish(errbuf *e)
{
    if (!e->buf || !e->cap)
        return;
    if (e->lost)
        e->len += (size_t)snprintf(e->buf + e->len, e->cap - e->len, "... and %d more\n",
                                   e->lost);
    if (e->len && e->buf[e->len - 1] == '\n')
        e->buf[--e->len] = 0;
}

/* Where a value being stored came from, for messages. */
typedef struct src {
    config_from from;
    const char *path;           /* FILE */
    int line;                   /* FILE */
    const char *name;           /* ENV: variable; FLAG: flag or key */
    const char *text;           /* ENV, FLAG: the raw text */
    int append;                 /* FLAG: add to a list instead of replacing */
} src;

/* Printable, bounded rendering of a TOML value for messages. */
static void show_value(const toml_value *v, char *buf, size_t n)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) {
        snprintf(buf, n, "?");
        return;
    }
    switch (toml_type_of(v)) {
    case TOML_STRING: {
        size_t sl;
        const char *s = toml_string(v, &sl);
        toml_write_string(f, s, sl > 60 ? 60 : sl);
        if (sl > 60)
            fputs("...", f);
        break;
    }
    case TOML_INTEGER: fprintf(f, "%lld", (long long)toml_integer(v)); break;
    case TOML_FLOAT: fprintf(f, "%g", toml_float(v)); break;
    case TOML_BOOLEAN: fputs(toml_boolean(v) ? "true" : "false", f); break;
    case TOML_ARRAY:
        fputc('[', f);
        for (size_t i = 0; i < toml_count(v) && i < 4; i++) {
            char item[80];
            show_value(toml_array_at(v, i), item, sizeof(item));
            fprintf(f, "%s%s", i ? ", " : "", item);
        }
        fputs(toml_count(v) > 4 ? ", ...]" : "]", f);
        break;
    case TOML_TABLE: fputs(toml_count(v) ? "{...}" : "{}", f); break;
    default: {
        char d[64];
        toml_datetime_format(toml_type_of(v), toml_datetime_of(v), d, sizeof(d));
        fputs(d, f);
    }
    }
    fclose(f);
    snprintf(buf, n, "%s", out ? out : "?");
    free(out);
}

/* Raw environment or flag text for a one-line message: control characters
 * escaped, at most 200 bytes. */
static const char *show_text(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    for (; *s && o + 8 < n && o < 200; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            o += (size_t)snprintf(buf + o, n - o, "\\n");
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    snprintf(buf + o, n - o, "%s", *s ? "..." : "");
    return buf;
}

__attribute__((format(printf, 5, 6)))
static void bad_value(errbuf *e, const src *s, const char *key, const toml_value *v,
                      const char *fmt, ...)
{
    char msg[512], shown[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    switch (s->from) {
    case CONFIG_FROM_FILE:
        show_value(v, shown, sizeof(shown));
        errf(e, "%s:%d: %s = %s: %s", s->path, v ? toml_line(v) : s->line, key, shown, msg);
        break;
    case CONFIG_FROM_ENV:
        errf(e, "environment %s=%s: %s", s->name, show_text(s->text, shown, sizeof(shown)),
             msg);
        break;
    case CONFIG_FROM_FLAG:
        errf(e, "%s %s: %s", s->name, show_text(s->text, shown, sizeof(shown)), msg);
        break;
    default:
        errf(e, "default of %s: %s", key, msg);     /* a schema bug; tests catch it */
    }
}

/* ---- value slots ---- */

static void strlist_free(config_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void strmap_free(config_strmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->key[i]);
        free(m->val[i]);
    }
    free(m->key);
    free(m->val);
    memset(m, 0, sizeof(*m));
}

static void patterns_free(config_patterns *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].regex);
    }
    free(p->v);
    memset(p, 0, sizeof(*p));
}

static void rules_free(config_rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].value);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static void slot_free(const key_def *k, void *slot)
{
    switch (k->type) {
    case CT_STRING: free(*(char **)slot); *(char **)slot = NULL; break;
    case CT_STRLIST: strlist_free(slot); break;
    case CT_INTLIST:
        free(((config_intlist *)slot)->v);
        memset(slot, 0, sizeof(config_intlist));
        break;
    case CT_STRMAP: strmap_free(slot); break;
    case CT_PATTERNS: patterns_free(slot); break;
    case CT_RULES: rules_free(slot); break;
    default: break;
    }
}

static size_t slot_size(ctype t)
{
    switch (t) {
    case CT_BOOL: return sizeof(bool);
    case CT_INT: case CT_DURATION: return sizeof(int64_t);
    case CT_SIZE: return sizeof(uint64_t);
    case CT_STRING: return sizeof(char *);
    case CT_ENUM: return sizeof(int);
    case CT_FLAGS: return sizeof(unsigned);
    case CT_STRLIST: return sizeof(config_strlist);
    case CT_INTLIST: return sizeof(config_intlist);
    case CT_STRMAP: return sizeof(config_strmap);
    case CT_PATTERNS: return sizeof(config_patterns);
    case CT_RULES: return sizeof(config_rules);
    }
    return 0;
}

/* Append the items of `more` to `slot` (lists, maps, patterns, rules);
 * `more` is emptied.  -1 if out of memory or over LIST_MAX. */
static int slot_append(const key_def *k, void *slot, void *more)
{
    size_t esz, *n, *m;
    void **a, **b;
    switch (k->type) {
    case CT_STRLIST: esz = sizeof(char *); break;
    case CT_INTLIST: esz = sizeof(int64_t); break;
    case CT_PATTERNS: esz = sizeof(config_pattern); break;
    case CT_RULES: esz = sizeof(config_rule); break;
    case CT_STRMAP: {
        config_strmap *x = slot, *y = more;
        if (x->n + y->n > LIST_MAX)
            return -1;
        char **nk = realloc(x->key, (x->n + y->n + 1) * sizeof(char *));
        if (nk)
            x->key = nk;
        char **nv = realloc(x->val, (x->n + y->n + 1) * sizeof(char *));
        if (nv)
            x->val = nv;
        if (!nk || !nv)
            return -1;
        memcpy(x->key + x->n, y->key, y->n * sizeof(char *));
        memcpy(x->val + x->n, y->val, y->n * sizeof(char *));
        x->n += y->n;
        free(y->key);
        free(y->val);
        memset(y, 0, sizeof(*y));
        return 0;
    }
    default: return -1;
    }
    /* The list types share the layout { T *v; size_t n; }. */
    a = (void **)slot;
    b = (void **)more;
    n = (size_t *)((char *)slot + sizeof(void *));
    m = (size_t *)((char *)more + sizeof(void *));
    if (*n + *m > LIST_MAX)
        return -1;
    void *grown = realloc(*a, (*n + *m + 1) * esz);
    if (!grown)
        return -1;
    memcpy((char *)grown + *n * esz, *b, *m * esz);
    *a = grown;
    *n += *m;
    free(*b);
    *b = NULL;
    *m = 0;
    return 0;
}

/* ---- checks on strings ---- */

/* "HOST:PORT" with HOST an IPv4 literal, [IPv6], localhost or empty. */
static int parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        size_t n = (size_t)(close - s - 1);
        if (n >= hostlen)
            return -1;
        memcpy(host, s + 1, n);
        host[n] = 0;
        unsigned char a6[16];
        if (inet_pton(AF_INET6, host, a6) != 1)
            return -1;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= hostlen)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
        unsigned char a4[4];
        if (host[0] && strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, a4) != 1)
            return -1;
    }
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || p < 0 || p > 65535 || !isdigit((unsigned char)colon[1]))
        return -1;
    *port = (int)p;
    return 0;
}

static int host_is_loopback(const char *host)
{
    unsigned char a[16];
    if (!host[0] || strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return 1;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return memcmp(a, mapped, 12) == 0 && a[12] == 127;
    }
    return 0;
}

static int is_tchar(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* NULL if s passes the check, else what was expected. */
static const char *check_string(check ck, const char *s)
{
    size_t n = strlen(s);
    switch (ck) {
    case CK_NONE:
    case CK_POW2:
        return NULL;
    case CK_ABSPATH:
        return s[0] == '/' ? NULL : "expected an absolute path";
    case CK_NONEMPTY:
        return n ? NULL : "expected a non-empty string";
    case CK_COMM:
        return n && n <= 15 ? NULL : "expected a process name of 1 to 15 characters (the "
                                     "kernel's comm)";
    case CK_URL: {
        if (!n)
            return NULL;
        const char *h = !strncmp(s, "http://", 7) ? s + 7 : !strncmp(s, "https://", 8) ? s + 8
                                                                                        : NULL;
        if (!h || !*h || *h == '/' || strpbrk(s, " \t\r\n"))
            return "expected an http:// or https:// URL";
        return NULL;
    }
    case CK_LISTEN: {
        char host[64];
        int port;
        if (!n || parse_listen(s, host, sizeof(host), &port) == 0)
            return NULL;
        return "expected HOST:PORT with HOST an IP address (IPv6 in brackets) or localhost, "
               "e.g. \"127.0.0.1:7777\", or \"\" for off";
    }
    case CK_EVENT_TYPE: {
        /* [a-z][a-z0-9]* ( "." [a-z][a-z0-9_]* )* with an optional ".*" */
        const char *p = s;
        if (!islower((unsigned char)*p))
            return "expected an event type such as \"ai.request\" or a family such as "
                   "\"ai.*\"";
        while (*p) {
            while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || (*p == '_' && p != s))
                p++;
            if (!*p)
                break;
            if (*p != '.' || !(islower((unsigned char)p[1]) || (p[1] == '*' && !p[2])))
                return "expected an event type such as \"ai.request\" or a family such as "
                       "\"ai.*\"";
            if (p[1] == '*')
                break;
            p++;
        }
        return NULL;
    }
    case CK_BROKER: {
        const char *colon = strrchr(s, ':');
        if (!n || !colon || colon == s || !colon[1] || strspn(colon + 1, "0123456789") !=
            strlen(colon + 1) || strpbrk(s, " ,\t"))
            return "expected a broker as HOST:PORT";
        return NULL;
    }
    case CK_HEADER:
        for (const char *p = s; *p; p++)
            if (!is_tchar(*p))
                return "expected an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)";
        return n ? NULL : "expected an HTTP header name";
    case CK_TOPIC:
        if (n > 249 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                 "._-") != n)
            return "expected a Kafka topic name (letters, digits, '.', '_', '-'; at most "
                   "249)";
        return NULL;
    }
    return NULL;
}

/* ---- storing one value, by type ---- */

static void size_text(uint64_t v, char *buf, size_t n)
{
    static const char units[] = "KMGT";
    int u = -1;
    while (v && u < 3 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, n, "%llu", (unsigned long long)v);
    else
        snprintf(buf, n, "%llu%c", (unsigned long long)v, units[u]);
}

static int parse_size_text(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: return -1;
    }
    if (shift && *end == 'i' && end[1] == 'B')
        end += 2;
    else if (*end == 'B')
        end++;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* "500ms", "10s", "5m", "1h", "1d" -> milliseconds. */
static int parse_duration_text(const char *s, int64_t *ms)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno)
        return -1;
    int64_t mul;
    if (!strcmp(end, "ms")) mul = 1;
    else if (!strcmp(end, "s")) mul = 1000;
    else if (!strcmp(end, "m")) mul = 60000;
    else if (!strcmp(end, "h")) mul = HOUR_MS;
    else if (!strcmp(end, "d")) mul = 24 * (int64_t)HOUR_MS;
    else return -1;
    if (v > INT64_MAX / mul)
        return -1;
    *ms = v * mul;
    return 0;
}

static void duration_range(const key_def *k, char *buf, size_t n)
{
    if (k->unit_ms == 1)
        snprintf(buf, n, "from %lld to %lld milliseconds, e.g. %s or \"%llds\"",
                 (long long)k->min, (long long)k->max, k->def, (long long)(k->max < 10000 ?
                                                                          1 : 10));
    else
        snprintf(buf, n, "from %lld to %lld seconds, e.g. 3600 or \"1h\"", (long long)k->min,
                 (long long)k->max);
}

static const char *string_or_null(const toml_value *v, const char **err)
{
    size_t len;
    const char *s = toml_string(v, &len);
    if (!s) {
        *err = "expected a string";
        return NULL;
    }
    if (strlen(s) != len) {
        *err = "must not contain NUL characters";
        return NULL;
    }
    if (len > TEXT_MAX) {
        *err = "is too long (at most 4096 bytes)";
        return NULL;
    }
    return s;
}

static void choices_text(const char *const *ch, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; ch[i] && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s\"%s\"", i ? ", " : "", ch[i]);
}

static int choice_index(const char *const *ch, const char *s)
{
    for (int i = 0; ch[i]; i++)
        if (!strcmp(ch[i], s))
            return i;
    return -1;
}

/* "capture.pids[2]" for messages about one item. */
static const char *item_key(const key_def *k, size_t i, char *buf)
{
    snprintf(buf, 128, "%s[%zu]", k->key, i);
    return buf;
}

/* Check that an element of a list of inline tables has only known keys. */
static int only_keys(errbuf *e, const src *s, const char *key, const toml_value *t,
                     const char *const *allowed)
{
    for (size_t i = 0; i < toml_count(t); i++) {
        const char *k;
        const toml_value *v = toml_table_at(t, i, &k, NULL);
        if (choice_index(allowed, k) < 0) {
            char ch[200];
            choices_text(allowed, ch, sizeof(ch));
            bad_value(e, s, key, v, "'%s' is not known here; valid keys: %s", k, ch);
            return -1;
        }
    }
    return 0;
}

static int store_patterns(errbuf *e, const src *s, const key_def *k, const toml_value *v,
                          config_patterns *out)
{
    static const char *const allowed[] = {"name", "regex", NULL};
    const char *want = "expected an array of { name = \"...\", regex = \"...\" }";
    if (toml_type_of(v) != TOML_ARRAY) {
        bad_value(e, s, k->key, v, "%s", want);
        return -1;
    }
    size_t n = toml_count(v);
    if (n > LIST_MAX) {
        bad_value(e, s, k->key, v, "at most %d patterns", LIST_MAX);
        return -1;
    }
    out->v = calloc(n + 1, sizeof(*out->v));
    if (!out->v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const toml_value *t = toml_array_at(v, i);
        char ik[128];
        const char *key = item_key(k, i, ik);
        if (toml_type_of(t) != TOML_TABLE) {
            bad_value(e, s, key, t, "%s", want);
            return -1;
        }
        if (only_keys(e, s, key, t, allowed))
            return -1;
        const char *why = NULL;
        const toml_value *nv = toml_table_get(t, "name"), *rv = toml_table_get(t, "regex");
        const char *name = nv ? string_or_null(nv, &why) : NULL;
        const char *re = rv ? string_or_null(rv, &why) : NULL;
        if (!name || !re || !*name || !*re) {
            bad_value(e, s, key, t, "each pattern needs a non-empty name and regex%s%s",
                      why ? ": " : "", why ? why : "");
            return -1;
        }
        for (size_t j = 0; j < out->n; j++)
            if (!strcmp(out->v[j].name, name)) {
                bad_value(e, s, key, nv, "pattern name '%s' is used twice", name);
                return -1;
            }
        regex_t rx;
        int rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char msg[128];
            regerror(rc, &rx, msg, sizeof(msg));
            bad_value(e, s, key, rv, "pattern '%s': not a POSIX extended regular "
                      "expression: %s", name, msg);
            return -1;
        }
        regfree(&rx);
        out->v[out->n].name = xstrdup(name);
        out->v[out->n].regex = xstrdup(re);
        out->n++;
        if (!out->v[out->n - 1].name || !out->v[out->n - 1].regex)
            return -1;
    }
    return 0;
}

static int store_rules(errbuf *e, const src *s, const key_def *k, const toml_value *v,
                       config_rules *out)
{
    static const char *const kinds[] = {"prefix", "exe", "sha256", NULL};
    const char *want = "expected an array of rules such as { prefix = \"/usr/bin\" }, "
                       "{ exe = \"/usr/bin/make\" } or { sha256 = \"<64 hex digits>\" }";
    if (toml_type_of(v) != TOML_ARRAY) {
        bad_value(e, s, k->key, v, "%s", want);
        return -1;
    }
    size_t n = toml_count(v);
    if (n > LIST_MAX) {
        bad_value(e, s, k->key, v, "at most %d rules", LIST_MAX);
        return -1;
    }
    out->v = calloc(n + 1, sizeof(*out->v));
    if (!out->v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const toml_value *t = toml_array_at(v, i);
        char ik[128];
        const char *key = item_key(k, i, ik);
        if (toml_type_of(t) != TOML_TABLE || toml_count(t) != 1) {
            bad_value(e, s, key, t, "%s, one key per rule", want);
            return -1;
        }
        if (only_keys(e, s, key, t, kinds))
            return -1;
        const char *kind;
        const toml_value *rv = toml_table_at(t, 0, &kind, NULL);
        const char *why = NULL, *val = string_or_null(rv, &why);
        if (!val) {
            bad_value(e, s, key, rv, "%s", why);
            return -1;
        }
        int ki = choice_index(kinds, kind);
        char hex[65];
        if (ki == CONFIG_RULE_SHA256) {
            if (strlen(val) != 64 || strspn(val, "0123456789abcdefABCDEF") != 64) {
                bad_value(e, s, key, rv, "sha256 must be 64 hexadecimal digits");
                return -1;
            }
            for (int j = 0; j < 64; j++)
                hex[j] = (char)tolower((unsigned char)val[j]);
            hex[64] = 0;
            val = hex;
        } else if (val[0] != '/') {
            bad_value(e, s, key, rv, "%s must be an absolute path", kind);
            return -1;
        }
        out->v[out->n].kind = (config_rule_kind)ki;
        out->v[out->n].value = xstrdup(val);
        if (!out->v[out->n++].value)
            return -1;
    }
    return 0;
}

static int store_strmap(errbuf *e, const src *s, const key_def *k, const toml_value *v,
                        config_strmap *out)
{
    if (toml_type_of(v) != TOML_TABLE) {
        bad_value(e, s, k->key, v, "expected a table of names and values, e.g. "
                  "{ \"name\" = \"value\" }");
        return -1;
    }
    size_t n = toml_count(v);
    if (n > LIST_MAX) {
        bad_value(e, s, k->key, v, "at most %d entries", LIST_MAX);
        return -1;
    }
    out->key = calloc(n + 1, sizeof(char *));
    out->val = calloc(n + 1, sizeof(char *));
    if (!out->key || !out->val)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *name;
        size_t nlen;
        const toml_value *iv = toml_table_at(v, i, &name, &nlen);
        const char *why = check_string(k->check, name);
        if (strlen(name) != nlen || !nlen || why) {
            bad_value(e, s, k->key, v, "'%s': %s", name, why ? why : "expected a name");
            return -1;
        }
        char num[64];
        const char *val = num;
        switch (toml_type_of(iv)) {
        case TOML_STRING:
            if (!(val = string_or_null(iv, &why))) {
                bad_value(e, s, k->key, iv, "%s", why);
                return -1;
            }
            break;
        case TOML_INTEGER: snprintf(num, sizeof(num), "%lld", (long long)toml_integer(iv)); break;
        case TOML_BOOLEAN: snprintf(num, sizeof(num), "%s", toml_boolean(iv) ? "true" : "false");
            break;
        default:
            bad_value(e, s, k->key, iv, "the value of '%s' must be a string, integer or "
                      "boolean", name);
            return -1;
        }
        if (strpbrk(val, "\r\n")) {
            bad_value(e, s, k->key, iv, "the value of '%s' must not contain line breaks", name);
            return -1;
        }
        out->key[out->n] = xstrdup(name);
        out->val[out->n] = xstrdup(val);
        out->n++;
        if (!out->key[out->n - 1] || !out->val[out->n - 1])
            return -1;
    }
    return 0;
}

static int store_list(errbuf *e, const src *s, const key_def *k, const toml_value *v,
                      void *out)
{
    char want[300], ik[128];
    if (k->type == CT_INTLIST)
        snprintf(want, sizeof(want), "expected an array of integers from %lld to %lld",
                 (long long)k->min, (long long)k->max);
    else if (k->type == CT_FLAGS) {
        char ch[200];
        choices_text(k->choices, ch, sizeof(ch));
        snprintf(want, sizeof(want), "expected an array of %s", ch);
    } else
        snprintf(want, sizeof(want), "expected an array of strings");
    if (toml_type_of(v) != TOML_ARRAY) {
        bad_value(e, s, k->key, v, "%s", want);
        return -1;
    }
    size_t n = toml_count(v);
    if (n > LIST_MAX) {
        bad_value(e, s, k->key, v, "at most %d items", LIST_MAX);
        return -1;
    }
    if (k->type == CT_INTLIST) {
        config_intlist *l = out;
        l->v = calloc(n + 1, sizeof(int64_t));
        if (!l->v)
            return -1;
        for (size_t i = 0; i < n; i++) {
            const toml_value *iv = toml_array_at(v, i);
            int64_t x = toml_integer(iv);
            if (toml_type_of(iv) != TOML_INTEGER || x < k->min || x > k->max) {
                bad_value(e, s, item_key(k, i, ik), iv, "%s", want);
                return -1;
            }
            l->v[l->n++] = x;
        }
        return 0;
    }
    if (k->type == CT_FLAGS) {
        unsigned *bits = out;
        *bits = 0;
        for (size_t i = 0; i < n; i++) {
            const toml_value *iv = toml_array_at(v, i);
            const char *why;
            const char *str = string_or_null(iv, &why);
            int ci = str ? choice_index(k->choices, str) : -1;
            if (ci < 0) {
                bad_value(e, s, item_key(k, i, ik), iv, "%s", want);
                return -1;
            }
            *bits |= 1u << ci;
        }
        return 0;
    }
    config_strlist *l = out;
    l->v = calloc(n + 1, sizeof(char *));
    if (!l->v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const toml_value *iv = toml_array_at(v, i);
        const char *why = NULL;
        const char *str = string_or_null(iv, &why);
        if (str)
            why = check_string(k->check, str);
        if (why) {
            bad_value(e, s, item_key(k, i, ik), iv, "%s%s", why,
                      str ? "" : " (an array of strings)");
            return -1;
        }
        if (!(l->v[l->n++] = xstrdup(str)))
            return -1;
    }
    return 0;
}

/* Check v against k and write it to out (a zeroed slot of k's type).
 * 0, or -1 (reported) leaving out for slot_free. */
static int convert(errbuf *e, const src *s, const key_def *k, const toml_value *v, void *out)
{
    char range[200];
    switch (k->type) {
    case CT_BOOL:
        if (toml_type_of(v) != TOML_BOOLEAN) {
            bad_value(e, s, k->key, v, "expected true or false");
            return -1;
        }
        *(bool *)out = toml_boolean(v);
        return 0;
    case CT_INT:
        if (toml_type_of(v) != TOML_INTEGER || toml_integer(v) < k->min ||
            toml_integer(v) > k->max) {
            bad_value(e, s, k->key, v, "expected an integer from %lld to %lld",
                      (long long)k->min, (long long)k->max);
            return -1;
        }
        *(int64_t *)out = toml_integer(v);
        return 0;
    case CT_SIZE: {
        char lo[32], hi[32];
        size_text((uint64_t)k->min, lo, sizeof(lo));
        size_text((uint64_t)k->max, hi, sizeof(hi));
        uint64_t x = 0;
        int ok = 0;
        if (toml_type_of(v) == TOML_INTEGER && toml_integer(v) >= 0) {
            x = (uint64_t)toml_integer(v);
            ok = 1;
        } else if (toml_type_of(v) == TOML_STRING) {
            ok = parse_size_text(toml_string(v, NULL), &x) == 0;
        }
        int pow2 = k->check == CK_POW2;
        if (!ok || x < (uint64_t)k->min || x > (uint64_t)k->max || (pow2 && (x & (x - 1)))) {
            bad_value(e, s, k->key, v, "expected a size%s from %s to %s, e.g. \"%s\" (K, M, G "
                      "suffixes) or a number of bytes", pow2 ? " that is a power of two" : "",
                      lo, hi, k->def);
            return -1;
        }
        *(uint64_t *)out = x;
        return 0;
    }
    case CT_DURATION: {
        int64_t x = 0;
        int ok = 0;
        if (toml_type_of(v) == TOML_INTEGER) {
            x = toml_integer(v);
            ok = 1;
        } else if (toml_type_of(v) == TOML_STRING &&
                   parse_duration_text(toml_string(v, NULL), &x) == 0) {
            ok = x % k->unit_ms == 0;
            x /= k->unit_ms;
        }
        if (!ok || x < k->min || x > k->max) {
            duration_range(k, range, sizeof(range));
            bad_value(e, s, k->key, v, "expected a duration %s", range);
            return -1;
        }
        *(int64_t *)out = x;
        return 0;
    }
    case CT_STRING: {
        const char *why = NULL;
        const char *str = string_or_null(v, &why);
        if (str)
            why = check_string(k->check, str);
        if (why) {
            bad_value(e, s, k->key, v, "%s", why);
            return -1;
        }
        *(char **)out = xstrdup(str);
        return *(char **)out ? 0 : -1;
    }
    case CT_ENUM: {
        const char *why;
        const char *str = string_or_null(v, &why);
        int ci = str ? choice_index(k->choices, str) : -1;
        if (ci < 0) {
            choices_text(k->choices, range, sizeof(range));
            bad_value(e, s, k->key, v, "expected one of %s", range);
            return -1;
        }
        *(int *)out = ci;
        return 0;
    }
    case CT_FLAGS:
    case CT_STRLIST:
    case CT_INTLIST:
        return store_list(e, s, k, v, out);
    case CT_STRMAP:
        return store_strmap(e, s, k, v, out);
    case CT_PATTERNS:
        return store_patterns(e, s, k, v, out);
    case CT_RULES:
        return store_rules(e, s, k, v, out);
    }
    return -1;
}

/* Store v into k's slot in base and record where it came from.  On error
 * the old value stays. */
static int store_value(errbuf *e, const src *s, const key_def *k, void *base,
                       config_origin *origin, const toml_value *v)
{
    union {
        config_strlist l;
        config_intlist il;
        config_strmap m;
        config_patterns p;
        config_rules r;
        int64_t i;
        char *str;
    } tmp;
    memset(&tmp, 0, sizeof(tmp));
    void *slot = slot_of(k, base);
    if (convert(e, s, k, v, &tmp)) {
        slot_free(k, &tmp);
        return -1;
    }
    int listlike = k->type == CT_STRLIST || k->type == CT_INTLIST || k->type == CT_STRMAP ||
                   k->type == CT_PATTERNS || k->type == CT_RULES;
    if (s->append && listlike) {
        if (slot_append(k, slot, &tmp)) {
            slot_free(k, &tmp);
            bad_value(e, s, k->key, v, "too many items (at most %d)", LIST_MAX);
            return -1;
        }
    } else {
        slot_free(k, slot);
        memcpy(slot, &tmp, slot_size(k->type));
    }
    origin->from = s->from;
    origin->line = s->from == CONFIG_FROM_FILE ? toml_line(v) : 0;
    origin->flag[0] = 0;
    if (s->from == CONFIG_FROM_FLAG)
        snprintf(origin->flag, sizeof(origin->flag), "%s", s->name);
    return 0;
}

/* ---- text (environment, flags, defaults) to TOML ---- */

static void write_item(FILE *f, const char *s, size_t n, int raw)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (raw)
        fwrite(s, 1, n, f);
    else
        toml_write_string(f, s, n);
}

/* A one-value document "v = ..." holding text read as k's type; see
 * config.h for the rules.  NULL (out of memory) is the only failure: text
 * that does not fit the type becomes a string, which convert() rejects
 * with the right message. */
static toml_doc *text_to_toml(const key_def *k, const char *text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs("v = ", f);
    size_t tl = strlen(text);
    int as_string = 0;
    switch (k->type) {
    case CT_STRING:
    case CT_ENUM:
        as_string = 1;
        break;
    case CT_BOOL: {
        static const char *const yes[] = {"true", "1", "yes", "on", NULL};
        static const char *const no[] = {"false", "0", "no", "off", NULL};
        int b = -1;
        for (int i = 0; yes[i]; i++) {
            if (!strcasecmp(text, yes[i]))
                b = 1;
            if (!strcasecmp(text, no[i]))
                b = 0;
        }
        if (b >= 0)
            fputs(b ? "true" : "false", f);
        else
            as_string = 1;
        break;
    }
    case CT_INT:
    case CT_SIZE:
    case CT_DURATION:
        if (tl && strspn(text, "0123456789_+-") == tl)
            fputs(text, f);
        else
            as_string = 1;
        break;
    case CT_STRLIST:
    case CT_INTLIST:
    case CT_FLAGS:
        if (text[strspn(text, " \t")] == '[') {
            fputs(text, f);
            break;
        }
        fputc('[', f);
        for (const char *p = text; tl && p;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            write_item(f, p, n, k->type == CT_INTLIST);
            fputs(comma ? ", " : "", f);
            p = comma ? comma + 1 : NULL;
        }
        fputc(']', f);
        break;
    case CT_STRMAP:
        if (text[strspn(text, " \t")] == '{') {
            fputs(text, f);
            break;
        }
        fputc('{', f);
        for (const char *p = text; tl && p;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            const char *eq = memchr(p, '=', n);
            if (!eq) {                      /* not K=V: make it a type error */
                fclose(f);
                free(buf);
                buf = NULL;
                f = open_memstream(&buf, &len);
                if (!f)
                    return NULL;
                fputs("v = ", f);
                as_string = 1;
                break;
            }
            write_item(f, p, (size_t)(eq - p), 0);
            fputs(" = ", f);
            write_item(f, eq + 1, n - (size_t)(eq - p) - 1, 0);
            fputs(comma ? ", " : "", f);
            p = comma ? comma + 1 : NULL;
        }
        if (!as_string)
            fputc('}', f);
        break;
    case CT_PATTERNS:
    case CT_RULES:
        fputs(text, f);
        break;
    }
    if (as_string)
        toml_write_string(f, text, tl);
    fputc('\n', f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    toml_error terr;
    toml_doc *d = toml_parse(buf, len, &terr);
    if (d && toml_count(toml_doc_root(d)) != 1) {   /* text that adds lines of its own */
        toml_doc_free(d);
        d = NULL;
    }
    if (!d) {                               /* not TOML: let the type check say why */
        free(buf);
        buf = NULL;
        f = open_memstream(&buf, &len);
        if (!f)
            return NULL;
        fputs("v = ", f);
        toml_write_string(f, text, tl);
        fclose(f);
        d = toml_parse(buf, len, &terr);
    }
    free(buf);
    return d;
}

/* Store text into k's slot (environment, flag or default). */
static int store_text(errbuf *e, const src *s, const key_def *k, void *base,
                      config_origin *origin, const char *text)
{
    toml_doc *d = text_to_toml(k, text);
    if (!d) {
        errf(e, "out of memory");
        return -1;
    }
    int rc = store_value(e, s, k, base, origin, toml_table_get(toml_doc_root(d), "v"));
    toml_doc_free(d);
    return rc;
}

/* ---- defaults, webhooks, inheritance ---- */

static int set_defaults(const key_def *tab, size_t n, void *base, config_origin *origin)
{
    src s = {.from = CONFIG_FROM_DEFAULT};
    errbuf e = {0};
    for (size_t i = 0; i < n; i++)
        if (store_text(&e, &s, &tab[i], base, &origin[i], tab[i].def))
            return -1;
    return 0;
}

static void webhook_free(config_webhook *w)
{
    for (size_t i = 0; i < NWKEYS; i++)
        slot_free(&webhook_keys[i], slot_of(&webhook_keys[i], w));
    free(w->origin);
    w->origin = NULL;
}

static void webhooks_clear(config *c)
{
    for (size_t i = 0; i < c->sinks.nwebhooks; i++)
        webhook_free(&c->sinks.webhooks[i]);
    free(c->sinks.webhooks);
    c->sinks.webhooks = NULL;
    c->sinks.nwebhooks = 0;
}

static config_webhook *webhook_add(config *c)
{
    if (c->sinks.nwebhooks >= 64)
        return NULL;
    config_webhook *a = realloc(c->sinks.webhooks, (c->sinks.nwebhooks + 1) * sizeof(*a));
    if (!a)
        return NULL;
    c->sinks.webhooks = a;
    config_webhook *w = &a[c->sinks.nwebhooks];
    memset(w, 0, sizeof(*w));
    w->origin = calloc(NWKEYS, sizeof(*w->origin));
    if (!w->origin || set_defaults(webhook_keys, NWKEYS, w, w->origin)) {
        webhook_free(w);
        return NULL;
    }
    c->sinks.nwebhooks++;
    return w;
}

static size_t key_index(const key_def *k) { return (size_t)(k - keys); }

/* Copy one [sinks.common] value into a sink's slot. */
static int copy_common(const key_def *from, const config *c, const key_def *to, void *base)
{
    const void *src_slot = slot_of(from, (void *)c);
    void *dst = slot_of(to, base);
    if (to->type == CT_STRING) {
        char *dup = xstrdup(*(char *const *)src_slot);
        if (!dup)
            return -1;
        free(*(char **)dst);
        *(char **)dst = dup;
    } else {
        memcpy(dst, src_slot, slot_size(to->type));
    }
    return 0;
}

/* Every sink key marked F_COMMON that was not set takes [sinks.common]'s. */
static int inherit_common(config *c)
{
    for (size_t i = 0; i < NKEYS + NWKEYS; i++) {
        const key_def *k = i < NKEYS ? &keys[i] : &webhook_keys[i - NKEYS];
        if (!(k->flags & F_COMMON))
            continue;
        char name[96];
        snprintf(name, sizeof(name), "sinks.common.%s", key_name(k));
        const key_def *from = find_key(keys, NKEYS, name);
        if (i < NKEYS) {
            config_origin *o = &c->origin[i];
            if (o->from != CONFIG_FROM_DEFAULT && o->from != CONFIG_FROM_INHERITED)
                continue;
            if (copy_common(from, c, k, c))
                return -1;
            o->from = CONFIG_FROM_INHERITED;
            continue;
        }
        for (size_t w = 0; w < c->sinks.nwebhooks; w++) {
            config_webhook *wh = &c->sinks.webhooks[w];
            config_origin *o = &wh->origin[i - NKEYS];
            if (o->from != CONFIG_FROM_DEFAULT && o->from != CONFIG_FROM_INHERITED)
                continue;
            if (copy_common(from, c, k, wh))
                return -1;
            o->from = CONFIG_FROM_INHERITED;
        }
    }
    return 0;
}

int config_init(config *c)
{
    memset(c, 0, sizeof(*c));
    c->origin = calloc(NKEYS, sizeof(*c->origin));
    if (!c->origin || set_defaults(keys, NKEYS, c, c->origin) || inherit_common(c)) {
        config_free(c);
        return -1;
    }
    return 0;
}

void config_free(config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        slot_free(&keys[i], slot_of(&keys[i], c));
    webhooks_clear(c);
    free(c->origin);
    free(c->path);
    memset(c, 0, sizeof(*c));
}

/* ---- the file ---- */

typedef struct walker {
    config *c;
    errbuf *e;
    const char *path;
} walker;

static void list_valid(const char *sec, char *buf, size_t n, int *nsub)
{
    size_t o = 0;
    buf[0] = 0;
    *nsub = 0;
    for (size_t i = 0; i < NKEYS + NWKEYS && o < n; i++) {
        const key_def *k = i < NKEYS ? &keys[i] : &webhook_keys[i - NKEYS];
        if (in_section(k, sec))
            o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", key_name(k));
    }
    for (size_t i = 0; sections[i] && o < n; i++) {
        const char *child = child_of(sections[i], sec);
        if (child) {
            o += (size_t)snprintf(buf + o, n - o, "%s[%s]", o ? ", " : "", sections[i]);
            (*nsub)++;
        }
    }
}

/* Closest valid name for `name` found in section `sec` (or elsewhere). */
static void suggest(const char *sec, const char *name, char *buf, size_t n)
{
    size_t best = 99;
    buf[0] = 0;
    for (size_t i = 0; i < NKEYS + NWKEYS; i++) {
        const key_def *k = i < NKEYS ? &keys[i] : &webhook_keys[i - NKEYS];
        if (in_section(k, sec) && close_enough(name, key_name(k), &best))
            snprintf(buf, n, "%s", key_name(k));
    }
    for (size_t i = 0; sections[i]; i++) {
        const char *child = child_of(sections[i], sec);
        if (child && close_enough(name, child, &best))
            snprintf(buf, n, "%s", child);
    }
    if (buf[0])
        return;
    /* The same name in another section: "max_capture" -> capture.max_capture. */
    for (size_t i = 0; i < NKEYS + NWKEYS; i++) {
        const key_def *k = i < NKEYS ? &keys[i] : &webhook_keys[i - NKEYS];
        if (!strcmp(key_name(k), name) && !(k->flags & F_COMMON)) {
            snprintf(buf, n, "%s", k->key);
            return;
        }
    }
}

static void unknown(walker *w, const char *sec, const char *name, const toml_value *v)
{
    char valid[1024], hint[128], full[256], shown[64];
    int nsub;
    list_valid(sec, valid, sizeof(valid), &nsub);
    suggest(sec, name, hint, sizeof(hint) - 40);
    /* Keys can hold anything; show them printable. */
    size_t o = 0;
    for (const char *p = name; *p && o + 4 < sizeof(shown); p++)
        shown[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    shown[o] = 0;
    snprintf(full, sizeof(full), "%s%s%s", sec, *sec ? "." : "", shown);
    char dym[160] = "";
    if (hint[0])
        snprintf(dym, sizeof(dym), " (did you mean '%s'?)", hint);
    else if (strchr(name, '.'))
        snprintf(dym, sizeof(dym), " (a quoted name with dots is one key: leave out the "
                 "quotes)");
    if (toml_type_of(v) == TOML_TABLE || toml_type_of(v) == TOML_ARRAY)
        errf(w->e, "%s:%d: section '%s' is not known%s; valid %s: %s", w->path, toml_line(v),
             full, dym, *sec ? "keys" : "sections", valid);
    else
        errf(w->e, "%s:%d: key '%s' is not known%s; valid %s: %s", w->path, toml_line(v), full,
             dym, *sec ? "keys" : "sections", valid);
}

static void walk_webhooks(walker *w, const toml_value *v)
{
    if (toml_type_of(v) != TOML_ARRAY) {
        errf(w->e, "%s:%d: sinks.webhook must be an array of tables: write [[sinks.webhook]] "
             "once per webhook", w->path, toml_line(v));
        return;
    }
    w->c->webhooks_origin = (config_origin){.from = CONFIG_FROM_FILE, .line = toml_line(v)};
    src s = {.from = CONFIG_FROM_FILE, .path = w->path};
    for (size_t i = 0; i < toml_count(v); i++) {
        const toml_value *t = toml_array_at(v, i);
        if (toml_type_of(t) != TOML_TABLE) {
            errf(w->e, "%s:%d: sinks.webhook must be an array of tables: write "
                 "[[sinks.webhook]] once per webhook", w->path, toml_line(t));
            continue;
        }
        config_webhook *wh = webhook_add(w->c);
        if (!wh) {
            errf(w->e, "%s:%d: too many webhooks (at most 64)", w->path, toml_line(t));
            return;
        }
        s.line = toml_line(t);
        for (size_t j = 0; j < toml_count(t); j++) {
            const char *name;
            const toml_value *kv = toml_table_at(t, j, &name, NULL);
            char full[128];
            snprintf(full, sizeof(full), "sinks.webhook.%s", name);
            const key_def *k = find_key(webhook_keys, NWKEYS, full);
            if (!k)
                unknown(w, "sinks.webhook", name, kv);
            else
                store_value(w->e, &s, k, wh, &wh->origin[k - webhook_keys], kv);
        }
        if (!toml_table_get(t, "url"))
            errf(w->e, "%s:%d: [[sinks.webhook]] needs a url", w->path, toml_line(t));
    }
}

static void walk_table(walker *w, const toml_value *t, const char *sec)
{
    src s = {.from = CONFIG_FROM_FILE, .path = w->path};
    for (size_t i = 0; i < toml_count(t); i++) {
        const char *name;
        size_t nlen;
        const toml_value *v = toml_table_at(t, i, &name, &nlen);
        char full[256];
        int n = snprintf(full, sizeof(full), "%s%s%s", sec, *sec ? "." : "", name);
        /* A quoted key with a dot ("capture.max_capture" = 1) is one key,
         * not a path: it matches nothing. */
        if (n < 0 || (size_t)n >= sizeof(full) || strlen(name) != nlen || strchr(name, '.')) {
            unknown(w, sec, name, v);
            continue;
        }
        const key_def *k = find_key(keys, NKEYS, full);
        if (k) {
            store_value(w->e, &s, k, w->c, &w->c->origin[key_index(k)], v);
        } else if (!strcmp(full, "sinks.webhook")) {
            walk_webhooks(w, v);
        } else if (is_section(full)) {
            if (toml_type_of(v) != TOML_TABLE)
                errf(w->e, "%s:%d: %s is a section: write [%s] and put its keys below it",
                     w->path, toml_line(v), full, full);
            else
                walk_table(w, v, full);
        } else {
            unknown(w, sec, name, v);
        }
    }
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    if ((uint64_t)st.st_size > TOML_MAX_DOC) {
        snprintf(err, errlen, "%s: %lld bytes; a configuration file may have at most %zu",
                 path, (long long)st.st_size, TOML_MAX_DOC);
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size + 1, f) : 0;
    int bad = !buf || ferror(f) || n > (size_t)st.st_size;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: read failed", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void load_file(config *c, const char *path, errbuf *e)
{
    char msg[512];
    size_t len;
    char *text = read_file(path, &len, msg, sizeof(msg));
    if (!text) {
        errf(e, "%s", msg);
        return;
    }
    toml_error terr;
    toml_doc *d = toml_parse(text, len, &terr);
    free(text);
    if (!d) {
        if (terr.line)
            errf(e, "%s:%d:%d: %s", path, terr.line, terr.column, terr.msg);
        else
            errf(e, "%s: %s", path, terr.msg);
        return;
    }
    walker w = {c, e, path};
    walk_table(&w, toml_doc_root(d), "");
    toml_doc_free(d);
}

/* ---- the environment ---- */

static const key_def *key_for_env(const char *var, size_t n)
{
    char name[128];
    for (size_t i = 0; i < NKEYS; i++) {
        config_env_name(keys[i].key, name, sizeof(name));
        if (strlen(name) == n && !memcmp(name, var, n))
            return &keys[i];
    }
    return NULL;
}

/* Does the variable start like a section's variables (OISP_CAPTURE_...)? */
static int env_in_config_space(const char *var, size_t n)
{
    char name[128];
    for (size_t i = 0; sections[i]; i++) {
        if (strchr(sections[i], '.'))
            continue;
        config_env_name(sections[i], name, sizeof(name));
        size_t sl = strlen(name);
        if (n > sl && !memcmp(var, name, sl) && var[sl] == '_')
            return 1;
    }
    return 0;
}

static void env_unknown(errbuf *e, const char *var, size_t n)
{
    char name[128], best_name[128] = "", typo[128];
    snprintf(typo, sizeof(typo), "%.*s", (int)n, var);
    size_t best = 99;
    for (size_t i = 0; i < NKEYS; i++) {
        config_env_name(keys[i].key, name, sizeof(name));
        if (close_enough(typo, name, &best))
            snprintf(best_name, sizeof(best_name), "%s", name);
    }
    if (!strncmp(typo, "OISP_SINKS_WEBHOOK_", 19))
        errf(e, "environment %s: webhooks are set as a whole: OISP_SINKS_WEBHOOK='[{ url = "
             "\"https://...\" }]'", typo);
    else if (best_name[0])
        errf(e, "environment %s is not a known setting (did you mean %s?)", typo, best_name);
    else
        errf(e, "environment %s is not a known setting; OISP_<SECTION>_<KEY> variables "
             "name keys of the config file, e.g. OISP_CAPTURE_MAX_CAPTURE", typo);
}

/* OISP_SINKS_WEBHOOK: a TOML array of inline tables replacing the list. */
static void env_webhooks(config *c, const char *var, const char *text, errbuf *e)
{
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    if (!f)
        return;
    fprintf(f, "v = %s\n", text);
    fclose(f);
    toml_error terr;
    toml_doc *d = toml_parse(doc, len, &terr);
    free(doc);
    const toml_value *v = d ? toml_table_get(toml_doc_root(d), "v") : NULL;
    if (!v || toml_type_of(v) != TOML_ARRAY) {
        char shown[240];
        errf(e, "environment %s=%s: expected a TOML array of inline tables, e.g. "
             "[{ url = \"https://example.com/hook\", auth = \"bearer\", token = \"...\" }]",
             var, show_text(text, shown, sizeof(shown)));
        toml_doc_free(d);
        return;
    }
    webhooks_clear(c);
    c->webhooks_origin = (config_origin){.from = CONFIG_FROM_ENV};
    src s = {.from = CONFIG_FROM_ENV, .name = var, .text = text};
    for (size_t i = 0; i < toml_count(v); i++) {
        const toml_value *t = toml_array_at(v, i);
        config_webhook *wh = toml_type_of(t) == TOML_TABLE ? webhook_add(c) : NULL;
        if (!wh) {
            errf(e, "environment %s: item %zu must be an inline table (at most 64)", var, i + 1);
            break;
        }
        for (size_t j = 0; j < toml_count(t); j++) {
            const char *name;
            const toml_value *kv = toml_table_at(t, j, &name, NULL);
            char full[128];
            snprintf(full, sizeof(full), "sinks.webhook.%s", name);
            const key_def *k = find_key(webhook_keys, NWKEYS, full);
            if (!k)
                errf(e, "environment %s: '%s' is not a webhook key", var, name);
            else
                store_value(e, &s, k, wh, &wh->origin[k - webhook_keys], kv);
        }
        if (!toml_table_get(t, "url"))
            errf(e, "environment %s: webhook %zu needs a url", var, i + 1);
    }
    toml_doc_free(d);
}

static void load_env(config *c, char **environ, errbuf *e)
{
    for (char **ep = environ; ep && *ep; ep++) {
        const char *var = *ep, *eq = strchr(var, '=');
        if (!eq || strncmp(var, "OISP_", 5) != 0)
            continue;
        size_t n = (size_t)(eq - var);
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)n, var);
        const key_def *k = key_for_env(var, n);
        if (k) {
            src s = {.from = CONFIG_FROM_ENV, .name = name, .text = eq + 1};
            store_text(e, &s, k, c, &c->origin[key_index(k)], eq + 1);
        } else if (!strcmp(name, "OISP_SINKS_WEBHOOK")) {
            env_webhooks(c, name, eq + 1, e);
        } else if (env_in_config_space(var, n)) {
            env_unknown(e, var, n);
        }
    }
}

/* ---- checks across keys ---- */

static const char *where(const config *c, const char *key, const config_origin *o, char *buf,
                         size_t n)
{
    if (o->from == CONFIG_FROM_FILE)
        snprintf(buf, n, "%s:%d", c->path ? c->path : "config", o->line);
    else
        config_origin_text(c, key, o, buf, n);
    return buf;
}

static void check_listener(const config *c, errbuf *e, const char *lkey, const char *listen,
                           const char *token)
{
    char host[64], w[300];
    int port;
    if (!listen[0] || parse_listen(listen, host, sizeof(host), &port) || host_is_loopback(host) ||
        token[0])
        return;
    char tkey[96];
    snprintf(tkey, sizeof(tkey), "%.*s.token", (int)(strrchr(lkey, '.') - lkey), lkey);
    errf(e, "%s: %s = \"%s\" is not a loopback address, so %s must be set (anyone who can "
         "reach it could read the events)", where(c, lkey, config_origin_of(c, lkey), w,
                                                  sizeof(w)), lkey, listen, tkey);
}

static void check_common(const config *c, errbuf *e, const char *sec,
                         const config_sink_common *cm, const config_origin *origin_max)
{
    if (cm->backoff_initial_ms <= cm->backoff_max_ms)
        return;
    char key[96], w[300];
    snprintf(key, sizeof(key), "%s.backoff_max_ms", sec);
    errf(e, "%s: %s = %lld is below %s.backoff_initial_ms = %lld", where(c, key, origin_max, w,
                                                                          sizeof(w)),
         key, (long long)cm->backoff_max_ms, sec, (long long)cm->backoff_initial_ms);
}

static void check_webhook(const config *c, errbuf *e, size_t i)
{
    const config_webhook *wh = &c->sinks.webhooks[i];
    char w[300];
    const char *need = NULL, *key = "sinks.webhook.auth";
    if ((wh->auth == CONFIG_AUTH_BEARER || wh->auth == CONFIG_AUTH_API_KEY) && !wh->token[0])
        need = "token";
    else if (wh->auth == CONFIG_AUTH_BASIC && !wh->username[0])
        need = "username";
    else if (wh->auth == CONFIG_AUTH_BASIC && !wh->password[0])
        need = "password";
    /* (A missing url is reported where the webhook is read.) */
    if (need)
        errf(e, "%s: sinks.webhook[%zu].auth = \"%s\" needs sinks.webhook[%zu].%s", where(c,
             key, config_webhook_origin(wh, key), w, sizeof(w)), i, auths[wh->auth], i, need);
    const config_origin *om = config_webhook_origin(wh, "sinks.webhook.backoff_max_ms");
    check_common(c, e, "sinks.webhook", &wh->common, om);
}

static void validate_into(const config *c, errbuf *ep)
{
    errbuf e = *ep;
    char w[300];
    check_listener(c, &e, "web.listen", c->web.listen, c->web.token);
    check_listener(c, &e, "metrics.listen", c->metrics.listen, c->metrics.token);
    check_listener(c, &e, "sinks.websocket.listen", c->sinks.websocket.listen,
                   c->sinks.websocket.token);
    const config_kafka *kf = &c->sinks.kafka;
    if (kf->brokers.n && !kf->topic[0])
        errf(&e, "%s: sinks.kafka.brokers is set but sinks.kafka.topic is not",
             where(c, "sinks.kafka.brokers", config_origin_of(c, "sinks.kafka.brokers"), w,
                   sizeof(w)));
    if (!kf->brokers.n && kf->topic[0])
        errf(&e, "%s: sinks.kafka.topic is set but sinks.kafka.brokers is not",
             where(c, "sinks.kafka.topic", config_origin_of(c, "sinks.kafka.topic"), w,
                   sizeof(w)));
    if (c->sinks.otlp.url[0] && !c->sinks.otlp.signals)
        errf(&e, "%s: sinks.otlp.signals is empty: nothing would be exported",
             where(c, "sinks.otlp.signals", config_origin_of(c, "sinks.otlp.signals"), w,
                   sizeof(w)));
    check_common(c, &e, "sinks.common", &c->sinks.common,
                 config_origin_of(c, "sinks.common.backoff_max_ms"));
    check_common(c, &e, "sinks.otlp", &c->sinks.otlp.common,
                 config_origin_of(c, "sinks.otlp.backoff_max_ms"));
    check_common(c, &e, "sinks.kafka", &c->sinks.kafka.common,
                 config_origin_of(c, "sinks.kafka.backoff_max_ms"));
    for (size_t i = 0; i < c->sinks.nwebhooks; i++)
        check_webhook(c, &e, i);
    const config_fanotify *fa = &c->host.fanotify;
    if (fa->mode != CONFIG_FANOTIFY_OFF && !fa->paths.n)
        errf(&e, "%s: host.fanotify.mode = \"%s\" needs host.fanotify.paths (the paths to "
             "watch)", where(c, "host.fanotify.mode", config_origin_of(c, "host.fanotify.mode"),
                             w, sizeof(w)), fan_modes[fa->mode]);
    if (fa->mode == CONFIG_FANOTIFY_ENFORCING && !fa->allow.n)
        errf(&e, "%s: host.fanotify.mode = \"enforcing\" with no allow rules would refuse "
             "every execution under the watched paths; add host.fanotify.allow",
             where(c, "host.fanotify.mode", config_origin_of(c, "host.fanotify.mode"), w,
                   sizeof(w)));
    *ep = e;
}

int config_validate(const config *c, char *err, size_t errlen)
{
    errbuf e = {err, errlen, 0, 0, 0};
    if (err && errlen)
        err[0] = 0;
    validate_into(c, &e);
    errbuf_finish(&e);
    return e.n;
}

/* ---- loading ---- */

static int exists_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static const char *env_get(char **environ, const char *name)
{
    size_t n = strlen(name);
    for (char **ep = environ; ep && *ep; ep++)
        if (!strncmp(*ep, name, n) && (*ep)[n] == '=')
            return *ep + n + 1;
    return NULL;
}

int config_find(const char *explicit_path, char **environ, char *path, size_t pathlen,
                char *err, size_t errlen)
{
    const char *named = explicit_path, *how = "--config";
    if (!named || !*named) {
        named = env_get(environ, "OISP_CONFIG");
        how = "OISP_CONFIG";
    }
    if (named && *named) {
        if (!exists_file(named)) {
            snprintf(err, errlen, "%s %s: %s", how, named, strerror(errno));
            return -1;
        }
        snprintf(path, pathlen, "%s", named);
        return 1;
    }
    const char *xdg = env_get(environ, "XDG_CONFIG_HOME"), *home = env_get(environ, "HOME");
    if (xdg && xdg[0] == '/')
        snprintf(path, pathlen, "%s/oisp-sensor/config.toml", xdg);
    else if (home && home[0] == '/')
        snprintf(path, pathlen, "%s/.config/oisp-sensor/config.toml", home);
    else
        path[0] = 0;
    if (path[0] && exists_file(path))
        return 1;
    snprintf(path, pathlen, "%s", CONFIG_SYSTEM_PATH);
    if (exists_file(path))
        return 1;
    path[0] = 0;
    return 0;
}

int config_load_file(config *out, const char *path, char **environ, char *err, size_t errlen)
{
    errbuf e = {err, errlen, 0, 0, 0};
    if (err && errlen)
        err[0] = 0;
    config c;
    if (config_init(&c)) {
        errf(&e, "out of memory");
        errbuf_finish(&e);
        return 1;
    }
    if (path) {
        c.path = strdup(path);
        load_file(&c, path, &e);
    }
    load_env(&c, environ, &e);
    if (inherit_common(&c))
        errf(&e, "out of memory");
    /* Checks across keys run even after errors, so one run shows them all;
     * a value that was refused stays at its default meanwhile. */
    validate_into(&c, &e);
    errbuf_finish(&e);
    if (e.n) {
        config_free(&c);
        return e.n;
    }
    *out = c;
    return 0;
}

int config_load(config *out, const char *explicit_path, char **environ, char *err,
                size_t errlen)
{
    char path[4096];
    int found = config_find(explicit_path, environ, path, sizeof(path), err, errlen);
    if (found < 0)
        return 1;
    return config_load_file(out, found ? path : NULL, environ, err, errlen);
}

/* ---- flags ---- */

int config_set_flag(config *c, const char *key, const char *value, char *err, size_t errlen)
{
    return config_set_flag_as(c, NULL, key, value, err, errlen);
}

int config_set_flag_as(config *c, const char *flag, const char *key, const char *value,
                       char *err, size_t errlen)
{
    errbuf e = {err, errlen, 0, 0, 0};
    if (err && errlen)
        err[0] = 0;
    src s = {.from = CONFIG_FROM_FLAG, .name = flag ? flag : key, .text = value};
    const key_def *k = find_key(keys, NKEYS, key);
    if (k) {
        config_origin *o = &c->origin[key_index(k)];
        /* A repeated flag adds to a list or table; the first replaces. */
        s.append = o->from == CONFIG_FROM_FLAG && !strcmp(o->flag, s.name);
        store_text(&e, &s, k, c, o, value);
    } else if ((k = find_key(webhook_keys, NWKEYS, key)) != NULL) {
        config_webhook *wh = NULL;
        if (k == &webhook_keys[0]) {
            if (!c->webhooks_flagged) {
                webhooks_clear(c);
                c->webhooks_flagged = 1;
                c->webhooks_origin = (config_origin){.from = CONFIG_FROM_FLAG};
                snprintf(c->webhooks_origin.flag, sizeof(c->webhooks_origin.flag), "%s",
                         s.name);
            }
            if (!(wh = webhook_add(c)))
                errf(&e, "%s: too many webhooks (at most 64)", s.name);
        } else if (c->webhooks_flagged && c->sinks.nwebhooks) {
            wh = &c->sinks.webhooks[c->sinks.nwebhooks - 1];
        } else {
            errf(&e, "%s %s: give the webhook's URL first (sinks.webhook.url)", s.name, value);
        }
        if (wh && store_text(&e, &s, k, wh, &wh->origin[k - webhook_keys], value) == 0 &&
            k == &webhook_keys[0] && !wh->url[0])
            errf(&e, "%s: a webhook needs a url", s.name);
        if (e.n && k == &webhook_keys[0] && wh)
            webhook_free(&c->sinks.webhooks[--c->sinks.nwebhooks]);
    } else {
        errf(&e, "%s: '%s' is not a configuration key", s.name, key);
    }
    if (inherit_common(c))
        errf(&e, "out of memory");
    errbuf_finish(&e);
    return e.n ? -1 : 0;
}

/* ---- reading ---- */

const config_origin *config_origin_of(const config *c, const char *key)
{
    const key_def *k = find_key(keys, NKEYS, key);
    return k ? &c->origin[key_index(k)] : NULL;
}

const config_origin *config_webhook_origin(const config_webhook *w, const char *key)
{
    const key_def *k = find_key(webhook_keys, NWKEYS, key);
    return k ? &w->origin[k - webhook_keys] : NULL;
}

const char *config_origin_text(const config *c, const char *key, const config_origin *o,
                               char *buf, size_t n)
{
    char env[128];
    switch (o ? o->from : CONFIG_FROM_DEFAULT) {
    case CONFIG_FROM_DEFAULT:
        snprintf(buf, n, "default");
        break;
    case CONFIG_FROM_FILE:
        snprintf(buf, n, "%s:%d", c->path ? c->path : "config", o->line);
        break;
    case CONFIG_FROM_ENV:
        if (!strncmp(key, "sinks.webhook", 13))
            snprintf(env, sizeof(env), "OISP_SINKS_WEBHOOK");
        else
            config_env_name(key, env, sizeof(env));
        snprintf(buf, n, "env %s", env);
        break;
    case CONFIG_FROM_FLAG:
        snprintf(buf, n, "flag %s", o->flag);
        break;
    case CONFIG_FROM_INHERITED: {
        char from[96], inner[200];
        snprintf(from, sizeof(from), "sinks.common.%s", strrchr(key, '.') + 1);
        config_origin_text(c, from, config_origin_of(c, from), inner, sizeof(inner));
        snprintf(buf, n, "inherited from sinks.common (%s)", inner);
        break;
    }
    }
    return buf;
}

const char *config_choice_name(const char *key, int value)
{
    const key_def *k = find_key(keys, NKEYS, key);
    if (!k)
        k = find_key(webhook_keys, NWKEYS, key);
    if (!k || !k->choices || value < 0)
        return NULL;
    for (int i = 0; k->choices[i]; i++)
        if (i == value)
            return k->choices[i];
    return NULL;
}

char *config_strlist_join(const config_strlist *l, const char *sep)
{
    size_t n = 1;
    for (size_t i = 0; i < l->n; i++)
        n += strlen(l->v[i]) + strlen(sep);
    char *out = malloc(n);
    if (!out)
        return NULL;
    out[0] = 0;
    size_t o = 0;
    for (size_t i = 0; i < l->n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? sep : "", l->v[i]);
    return out;
}

const char *config_key_at(size_t i, const char **type, const char **def, const char **help)
{
    static const char *const names[] = {
        "boolean", "integer", "size", "duration", "string", "choice", "choices",
        "list of strings", "list of integers", "table", "patterns", "rules",
    };
    if (i >= NKEYS + NWKEYS)
        return NULL;
    const key_def *k = i < NKEYS ? &keys[i] : &webhook_keys[i - NKEYS];
    if (type)
        *type = names[k->type];
    if (def)
        *def = k->def;
    if (help)
        *help = k->help;
    return k->key;
}

/* ---- printing ---- */

static int secret_name(const char *name)
{
    static const char *const hints[] = {"password", "secret", "token", "credential", "key.pem",
                                        "private", NULL};
    char low[128];
    size_t i;
    for (i = 0; name[i] && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = 0;
    for (i = 0; hints[i]; i++)
        if (strstr(low, hints[i]))
            return 1;
    return 0;
}

static void print_string(FILE *f, const char *s, int secret)
{
    if (secret && s[0])
        fputs("\"********\"", f);
    else
        toml_write_string(f, s, strlen(s));
}

static void print_value(FILE *f, const key_def *k, const void *slot)
{
    char buf[64];
    switch (k->type) {
    case CT_BOOL: fputs(*(const bool *)slot ? "true" : "false", f); break;
    case CT_INT:
    case CT_DURATION: fprintf(f, "%lld", (long long)*(const int64_t *)slot); break;
    case CT_SIZE: {
        uint64_t v = *(const uint64_t *)slot;
        size_text(v, buf, sizeof(buf));
        if (isdigit((unsigned char)buf[strlen(buf) - 1]))
            fputs(buf, f);
        else
            fprintf(f, "\"%s\"", buf);
        break;
    }
    case CT_STRING: print_string(f, *(char *const *)slot, k->flags & F_SECRET); break;
    case CT_ENUM: fprintf(f, "\"%s\"", k->choices[*(const int *)slot]); break;
    case CT_FLAGS: {
        unsigned bits = *(const unsigned *)slot;
        int first = 1;
        fputc('[', f);
        for (int i = 0; k->choices[i]; i++)
            if (bits & (1u << i)) {
                fprintf(f, "%s\"%s\"", first ? "" : ", ", k->choices[i]);
                first = 0;
            }
        fputc(']', f);
        break;
    }
    case CT_STRLIST: {
        const config_strlist *l = slot;
        fputc('[', f);
        for (size_t i = 0; i < l->n; i++) {
            fputs(i ? ", " : "", f);
            print_string(f, l->v[i], 0);
        }
        fputc(']', f);
        break;
    }
    case CT_INTLIST: {
        const config_intlist *l = slot;
        fputc('[', f);
        for (size_t i = 0; i < l->n; i++)
            fprintf(f, "%s%lld", i ? ", " : "", (long long)l->v[i]);
        fputc(']', f);
        break;
    }
    case CT_STRMAP: {
        const config_strmap *m = slot;
        fputc('{', f);
        for (size_t i = 0; i < m->n; i++) {
            fputs(i ? ", " : " ", f);
            print_string(f, m->key[i], 0);
            fputs(" = ", f);
            print_string(f, m->val[i], (k->flags & F_SECRET_VALUES) ||
                                           ((k->flags & F_SECRET_NAMED) &&
                                            secret_name(m->key[i])));
        }
        fputs(m->n ? " }" : "}", f);
        break;
    }
    case CT_PATTERNS: {
        const config_patterns *p = slot;
        fputc('[', f);
        for (size_t i = 0; i < p->n; i++) {
            fputs(i ? ", { name = " : "{ name = ", f);
            print_string(f, p->v[i].name, 0);
            fputs(", regex = ", f);
            print_string(f, p->v[i].regex, 0);
            fputs(" }", f);
        }
        fputc(']', f);
        break;
    }
    case CT_RULES: {
        static const char *const kinds[] = {"prefix", "exe", "sha256"};
        const config_rules *r = slot;
        fputc('[', f);
        for (size_t i = 0; i < r->n; i++) {
            fprintf(f, "%s{ %s = ", i ? ", " : "", kinds[r->v[i].kind]);
            print_string(f, r->v[i].value, 0);
            fputs(" }", f);
        }
        fputc(']', f);
        break;
    }
    }
}

static void print_key(FILE *f, const config *c, const key_def *k, const void *base,
                      const config_origin *o)
{
    char *line = NULL, from[300];
    size_t len = 0;
    FILE *m = open_memstream(&line, &len);
    if (!m)
        return;
    fprintf(m, "%s = ", key_name(k));
    print_value(m, k, slot_of(k, (void *)base));
    fclose(m);
    config_origin_text(c, k->key, o, from, sizeof(from));
    fprintf(f, "%-40s # %s\n", line ? line : "", from);
    free(line);
}

void config_print(const config *c, FILE *f)
{
    fprintf(f, "# oisp-sensor effective configuration\n# file: %s\n",
            c->path ? c->path : "(none: built-in defaults)");
    for (size_t s = 0; sections[s]; s++) {
        const char *sec = sections[s];
        if (!strcmp(sec, "sinks.webhook")) {
            if (!c->sinks.nwebhooks)
                fputs("\n# [[sinks.webhook]]: none\n", f);
            for (size_t w = 0; w < c->sinks.nwebhooks; w++) {
                const config_webhook *wh = &c->sinks.webhooks[w];
                fputs("\n[[sinks.webhook]]\n", f);
                for (size_t i = 0; i < NWKEYS; i++)
                    print_key(f, c, &webhook_keys[i], wh, &wh->origin[i]);
            }
            continue;
        }
        int header = 0;
        for (size_t i = 0; i < NKEYS; i++) {
            if (!in_section(&keys[i], sec))
                continue;
            if (!header++)
                fprintf(f, "\n[%s]\n", sec);
            print_key(f, c, &keys[i], c, &c->origin[i]);
        }
    }
}

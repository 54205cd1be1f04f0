/* config.h: the sensor's configuration: schema, loading, overrides.
 *
 * The schema is one table in config.c: every key has a section, a type, a
 * default, its valid choices or range and a help text.  Loading fills a
 * plain C struct (below) in three layers, each overriding the one before:
 *
 *   1. the file: --config PATH, else $OISP_CONFIG, else
 *      $XDG_CONFIG_HOME/oisp-sensor/config.toml (default ~/.config/...),
 *      else /etc/oisp/config.toml; the first that exists.  A file named by
 *      --config or $OISP_CONFIG must exist.  With no file, defaults apply.
 *   2. the environment: OISP_<KEY> where KEY is the key's full dotted name
 *      upper-cased with '.' turned into '_':
 *        capture.max_capture      -> OISP_CAPTURE_MAX_CAPTURE=8M
 *        sinks.kafka.brokers      -> OISP_SINKS_KAFKA_BROKERS=b1:9092,b2:9092
 *        host.fanotify.mode       -> OISP_HOST_FANOTIFY_MODE=passive
 *        output.jsonl.path        -> OISP_OUTPUT_JSONL_PATH=/var/lib/oisp/e.jsonl
 *      The schema guarantees every name is unique (a test checks).  The
 *      [[sinks.webhook]] list as a whole is OISP_SINKS_WEBHOOK, a TOML array
 *      of inline tables.  An OISP_ variable that starts like a section
 *      (OISP_CAPTURE_..., OISP_SINKS_..., ...) but names no key is an error;
 *      other OISP_ variables (OISP_CONFIG, ...) are left alone.
 *   3. command-line flags, through config_set_flag() (the caller maps its
 *      flags onto keys: --max-capture -> capture.max_capture).
 *
 * Text values (environment, flags) are read by type: strings as they are;
 * booleans true/false/1/0/yes/no/on/off; numbers, sizes ("8M", 8388608) and
 * durations ("10s", "500ms", "5m", "1h", "1d", or a bare number in the key's
 * unit); lists either as a TOML array or comma-separated ("1,2,3"); tables
 * (otlp headers, kafka properties) as a TOML inline table or "K=V,K2=V2";
 * redaction patterns and fanotify rules as TOML arrays of inline tables.
 * A repeated flag on a list or table key adds to it (the first replaces
 * what the file and environment said), so --pid 1 --pid 2 gives [1, 2].
 *
 * Every value remembers where it came from (config_origin), which
 * `oisp-sensor config show` prints.  The network sinks' delivery settings
 * (queue_size, max_retries, ...) may be set in [sinks.common] and per sink;
 * a sink that does not set one inherits it (origin CONFIG_FROM_INHERITED).
 *
 * Errors name the place and the fix, one per line:
 *   /etc/oisp/config.toml:12: key 'sinks.kafka.compresion' is not known (did
 *     you mean 'compression'?); valid keys: brokers, topic, ...
 *   /etc/oisp/config.toml:13: sinks.kafka.compression = "gz": expected one of
 *     "none", "gzip", "snappy", "lz4", "zstd"
 *   environment OISP_CAPTURE_MAX_CAPTURE=8X: expected a size from 4K to 1G ...
 * Loading reports every error it finds, not just the first. */
#ifndef OISP_CONFIG_CONFIG_H
#define OISP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_SYSTEM_PATH "/etc/oisp/config.toml"

/* ---- value types ---- */

typedef struct config_strlist {
    char **v;
    size_t n;
} config_strlist;

typedef struct config_intlist {
    int64_t *v;
    size_t n;
} config_intlist;

typedef struct config_strmap {     /* in the order written */
    char **key, **val;
    size_t n;
} config_strmap;

typedef struct config_pattern {
    char *name;
    char *regex;                   /* POSIX extended regular expression */
} config_pattern;

typedef struct config_patterns {
    config_pattern *v;
    size_t n;
} config_patterns;

typedef enum { CONFIG_RULE_PREFIX, CONFIG_RULE_EXE, CONFIG_RULE_SHA256 } config_rule_kind;

typedef struct config_rule {
    config_rule_kind kind;
    char *value;                   /* absolute path, or 64 lowercase hex digits */
} config_rule;

typedef struct config_rules {
    config_rule *v;
    size_t n;
} config_rules;

typedef enum {
    CONFIG_FROM_DEFAULT,
    CONFIG_FROM_FILE,              /* line: where in config.path */
    CONFIG_FROM_ENV,               /* the key's OISP_ variable */
    CONFIG_FROM_FLAG,              /* flag: the command-line flag */
    CONFIG_FROM_INHERITED,         /* from [sinks.common]; see its origin */
} config_from;

typedef struct config_origin {
    config_from from;
    int line;
    char flag[40];
} config_origin;

/* ---- choices (the order of the names in the schema) ---- */

enum { CONFIG_REDACT_SAFE, CONFIG_REDACT_FULL, CONFIG_REDACT_MINIMAL };
enum { CONFIG_KAFKA_KEY_EVENT_ID, CONFIG_KAFKA_KEY_PROCESS, CONFIG_KAFKA_KEY_TRACE_ID };
enum {
    CONFIG_COMPRESSION_NONE, CONFIG_COMPRESSION_GZIP, CONFIG_COMPRESSION_SNAPPY,
    CONFIG_COMPRESSION_LZ4, CONFIG_COMPRESSION_ZSTD,
};
enum { CONFIG_WEBHOOK_JSON_ARRAY, CONFIG_WEBHOOK_NDJSON };
enum { CONFIG_AUTH_NONE, CONFIG_AUTH_BEARER, CONFIG_AUTH_API_KEY, CONFIG_AUTH_BASIC };
enum {
    CONFIG_FANOTIFY_OFF, CONFIG_FANOTIFY_PASSIVE, CONFIG_FANOTIFY_PERMISSIVE,
    CONFIG_FANOTIFY_ENFORCING,
};
enum { CONFIG_MARK_MOUNT, CONFIG_MARK_FILESYSTEM };
/* Bit sets. */
#define CONFIG_OTLP_LOGS        1u
#define CONFIG_OTLP_TRACES      2u
#define CONFIG_FAN_EXEC         1u   /* same values as FANMON_EV_* */
#define CONFIG_FAN_OPEN         2u
#define CONFIG_FAN_MODIFY       4u
#define CONFIG_FAN_CLOSE_WRITE  8u

/* ---- the configuration ---- */

typedef struct config_capture {
    config_strlist libraries;      /* TLS libraries to probe besides those found */
    config_strlist binaries;       /* binaries to probe (static OpenSSL) */
    config_intlist pids;           /* capture only these processes (empty: all) */
    config_strlist comms;          /* ... or processes with these names */
    config_strlist cgroups;        /* ... or in these cgroup v2 paths */
    uint64_t max_capture;          /* bytes per SSL read/write */
    uint64_t ring_size;            /* kernel ring buffer, a power of two */
    uint64_t queue_size;           /* user-space queue behind the ring */
    bool inbound;                  /* also the server side of local exchanges */
    int64_t nice;                  /* the sensor's nice value at start (0: as started) */
} config_capture;

typedef struct config_redaction {
    int mode;                      /* CONFIG_REDACT_* */
    config_patterns patterns;      /* the user's own detectors */
} config_redaction;

typedef struct config_jsonl {      /* [output.jsonl] */
    char *path;                    /* "" for no file, "-" for stdout */
    uint64_t rotate_size;          /* bytes, 0: never */
    int64_t rotate_interval;       /* seconds, 0: never */
    int64_t keep;                  /* rotated files kept */
    int64_t flush_interval_ms;
    int64_t fsync_interval_ms;     /* 0: never fsync */
} config_jsonl;

typedef struct config_sink_common {
    int64_t queue_size;            /* events waiting per sink */
    int64_t batch_size;            /* events per delivery */
    int64_t batch_interval_ms;     /* wait this long for a batch to fill */
    int64_t max_retries;
    int64_t backoff_initial_ms;
    int64_t backoff_max_ms;
    char *dead_letter_dir;         /* "": the sinks' default */
} config_sink_common;

typedef struct config_websocket {
    char *listen;                  /* "HOST:PORT"; "" disables */
    char *token;
    config_strlist types;          /* default event types ("ai.request", "ai.*") */
    int64_t queue;                 /* events per client */
} config_websocket;

typedef struct config_otlp {
    char *url;                     /* "" disables */
    config_strmap headers;
    char *bearer_token;
    bool gzip;
    int64_t timeout_ms;
    unsigned signals;              /* CONFIG_OTLP_* */
    config_sink_common common;
} config_otlp;

typedef struct config_kafka {
    config_strlist brokers;        /* empty disables */
    char *topic;
    int key;                       /* CONFIG_KAFKA_KEY_* */
    int compression;               /* CONFIG_COMPRESSION_* */
    config_strmap properties;      /* passed to librdkafka as they are */
    int64_t timeout_ms;
    config_sink_common common;
} config_kafka;

typedef struct config_webhook {    /* one [[sinks.webhook]] */
    char *url;
    int format;                    /* CONFIG_WEBHOOK_* */
    int auth;                      /* CONFIG_AUTH_* */
    char *token;                   /* bearer and api_key */
    char *header;                  /* api_key: the header carrying the token */
    char *username, *password;     /* basic */
    int64_t timeout_ms;
    config_sink_common common;
    config_origin *origin;         /* per webhook key (config_webhook_origin) */
} config_webhook;

typedef struct config_endpoint {   /* [web], [metrics] */
    char *listen;                  /* "HOST:PORT"; "" disables */
    char *token;                   /* required when HOST is not loopback */
} config_endpoint;

typedef struct config_correlation {
    bool enabled;
    int64_t window_ms;
    bool all_processes;
} config_correlation;

typedef struct config_fanotify {
    int mode;                      /* CONFIG_FANOTIFY_* */
    int mark;                      /* CONFIG_MARK_* */
    config_strlist paths;
    unsigned events;               /* CONFIG_FAN_* */
    config_rules allow, deny;
} config_fanotify;

typedef struct config_host {
    int64_t metrics_interval_ms;
    int64_t connections_interval_ms;
    config_fanotify fanotify;
} config_host;

typedef struct config {
    char *path;                    /* the file read, or NULL */
    config_capture capture;
    config_redaction redaction;
    config_jsonl jsonl;
    struct {
        config_sink_common common;
        config_websocket websocket;
        config_otlp otlp;
        config_kafka kafka;
        config_webhook *webhooks;
        size_t nwebhooks;
    } sinks;
    config_endpoint web, metrics;
    config_correlation correlation;
    config_host host;
    /* Where each value came from; read with config_origin_of(). */
    config_origin *origin;
    config_origin webhooks_origin; /* the [[sinks.webhook]] list as a whole */
    int webhooks_flagged;          /* a flag has replaced the list */
} config;

/* ---- loading ---- */

/* Defaults only.  0, or -1 if out of memory. */
int config_init(config *c);
void config_free(config *c);

/* Finds the file (see above) into path.  Returns 1 if found, 0 if none
 * exists (defaults apply), -1 if a named file is missing (message in err). */
int config_find(const char *explicit_path, char **environ, char *path, size_t pathlen,
                char *err, size_t errlen);

/* Defaults, then the file (NULL: none), then the environment (environ may
 * be NULL), then checks across keys.  On success fills *out (which must not
 * hold a loaded config) and returns 0; on error leaves *out alone, returns
 * the number of errors and writes them to err, one per line. */
int config_load_file(config *out, const char *path, char **environ, char *err, size_t errlen);

/* config_find + config_load_file. */
int config_load(config *out, const char *explicit_path, char **environ, char *err,
                size_t errlen);

/* Sets key (full dotted name, e.g. "capture.max_capture") from a flag's
 * text.  config_set_flag_as also names the flag for config show ("--pid").
 * "sinks.webhook.url" adds a webhook; the other sinks.webhook keys set the
 * webhook added last.  "sinks.otlp.headers" and "sinks.kafka.properties"
 * take K=V.  0, or -1 with the message in err. */
int config_set_flag(config *c, const char *key, const char *value, char *err, size_t errlen);
int config_set_flag_as(config *c, const char *flag, const char *key, const char *value,
                       char *err, size_t errlen);

/* The checks across keys (a token for non-loopback listeners, kafka topic
 * with brokers, webhook credentials, fanotify paths, ...).  config_load
 * runs them; run them again after config_set_flag.  0, or the number of
 * errors (written to err, one per line). */
int config_validate(const config *c, char *err, size_t errlen);

/* ---- reading ---- */

/* Origin of a key (full dotted name), or NULL if there is no such key.
 * For sinks.webhook keys use config_webhook_origin. */
const config_origin *config_origin_of(const config *c, const char *key);
const config_origin *config_webhook_origin(const config_webhook *w, const char *key);
/* "default", "/etc/oisp/config.toml:12", "env OISP_CAPTURE_PIDS",
 * "flag --pid", "inherited from sinks.common (default)". */
const char *config_origin_text(const config *c, const char *key, const config_origin *o,
                               char *buf, size_t n);

/* Name of a choice of an enum key: ("sinks.kafka.compression", 1) -> "gzip". */
const char *config_choice_name(const char *key, int value);
/* Items joined with sep; caller frees.  NULL if out of memory. */
char *config_strlist_join(const config_strlist *l, const char *sep);
/* The environment variable of a key: "capture.max_capture" ->
 * "OISP_CAPTURE_MAX_CAPTURE". */
void config_env_name(const char *key, char *buf, size_t n);

/* The effective configuration as TOML, each value followed by a comment
 * saying where it came from.  Secrets (tokens, passwords, header values)
 * are shown as "********". */
void config_print(const config *c, FILE *f);

/* Schema iteration: i-th key's full name, type name, default text and help;
 * NULL past the end.  Includes the sinks.webhook keys. */
const char *config_key_at(size_t i, const char **type, const char **def, const char **help);

#endif

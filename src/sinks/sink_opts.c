/* sink_opts.c: parse the sink options (table in sink_opts.h) into a
 * struct kept in the sink_set, then open the sinks they describe.
 *
 * Each network sink also gets a dead-letter side header listing the
 * options that rebuild it, so `dlq replay` can resend to the same place:
 * every option of its kind and the shared sink-* ones, except secrets
 * (tokens, auth, headers, Kafka properties that look like credentials),
 * which are named under "needs" instead and must be given again. */
#include "sinks/sink_opts.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/jsonl.h"
#include "sinks/kafka.h"
#include "sinks/otlp.h"
#include "sinks/webhook.h"
#include "sinks/ws.h"

enum {
    O_WS, O_WS_TOKEN, O_OTLP, O_OTLP_HEADER, O_OTLP_TOKEN, O_OTLP_GZIP, O_KAFKA, O_KAFKA_KEY,
    O_KAFKA_COMPRESSION, O_KAFKA_PROP, O_WEBHOOK, O_WEBHOOK_FORMAT, O_WEBHOOK_AUTH, O_SINK_QUEUE,
    O_SINK_RETRIES, O_SINK_BATCH, O_SINK_LINGER, O_SINK_TIMEOUT, O_SINK_BACKOFF, O_DLQ_DIR,
    O_ROTATE_SIZE, O_ROTATE_INTERVAL, O_ROTATE_KEEP, O_FLUSH_INTERVAL, O_FSYNC_INTERVAL, O_COUNT
};

#define ARG(name, id) {name, required_argument, 0, SINK_OPT_BASE + (id)}
static const struct option table[O_COUNT + 1] = {
    ARG("ws", O_WS), ARG("ws-token", O_WS_TOKEN), ARG("otlp", O_OTLP),
    ARG("otlp-header", O_OTLP_HEADER), ARG("otlp-token", O_OTLP_TOKEN),
    {"otlp-gzip", no_argument, 0, SINK_OPT_BASE + O_OTLP_GZIP}, ARG("kafka", O_KAFKA),
    ARG("kafka-key", O_KAFKA_KEY), ARG("kafka-compression", O_KAFKA_COMPRESSION),
    ARG("kafka-prop", O_KAFKA_PROP), ARG("webhook", O_WEBHOOK), ARG("webhook-format", O_WEBHOOK_FORMAT),
    ARG("webhook-auth", O_WEBHOOK_AUTH), ARG("sink-queue", O_SINK_QUEUE),
    ARG("sink-retries", O_SINK_RETRIES), ARG("sink-batch", O_SINK_BATCH),
    ARG("sink-linger", O_SINK_LINGER), ARG("sink-timeout", O_SINK_TIMEOUT),
    ARG("sink-backoff", O_SINK_BACKOFF), ARG("dlq-dir", O_DLQ_DIR), ARG("rotate-size", O_ROTATE_SIZE),
    ARG("rotate-interval", O_ROTATE_INTERVAL), ARG("rotate-keep", O_ROTATE_KEEP),
    ARG("flush-interval", O_FLUSH_INTERVAL), ARG("fsync-interval", O_FSYNC_INTERVAL),
    {0, 0, 0, 0},
};

/* Which sink an option belongs to ("" = all network sinks, "jsonl"), and
 * whether its value is a secret. */
static const struct {
    const char *kind;
    int secret;
} meta[O_COUNT] = {
    [O_WS] = {"websocket", 0},     [O_WS_TOKEN] = {"websocket", 1},
    [O_OTLP] = {"otlp", 0},        [O_OTLP_HEADER] = {"otlp", 1},
    [O_OTLP_TOKEN] = {"otlp", 1},  [O_OTLP_GZIP] = {"otlp", 0},
    [O_KAFKA] = {"kafka", 0},      [O_KAFKA_KEY] = {"kafka", 0},
    [O_KAFKA_COMPRESSION] = {"kafka", 0}, [O_KAFKA_PROP] = {"kafka", 0},
    [O_WEBHOOK] = {"webhook", 0},  [O_WEBHOOK_FORMAT] = {"webhook", 0},
    [O_WEBHOOK_AUTH] = {"webhook", 1},
    [O_SINK_QUEUE] = {"", 0},      [O_SINK_RETRIES] = {"", 0},
    [O_SINK_BATCH] = {"", 0},      [O_SINK_LINGER] = {"", 0},
    [O_SINK_TIMEOUT] = {"", 0},    [O_SINK_BACKOFF] = {"", 0},
    [O_DLQ_DIR] = {"", 0},
    [O_ROTATE_SIZE] = {"jsonl", 0}, [O_ROTATE_INTERVAL] = {"jsonl", 0},
    [O_ROTATE_KEEP] = {"jsonl", 0}, [O_FLUSH_INTERVAL] = {"jsonl", 0},
    [O_FSYNC_INTERVAL] = {"jsonl", 0},
};

#define MAX_VALUES 64

struct sink_opts {
    char *vals[O_COUNT][MAX_VALUES]; /* as given, copied */
    size_t nvals[O_COUNT];
    char *dlq_path;                   /* replay: dead-letter here */
};

const struct option *sink_opts_long(void) { return table; }
size_t sink_opts_count(void) { return O_COUNT; }

int sink_opts_index(const char *name)
{
    for (int i = 0; i < O_COUNT; i++)
        if (strcmp(table[i].name, name) == 0)
            return i;
    return -1;
}

const char *sink_opts_usage(void)
{
    return "sinks (besides -o FILE; each may be combined with the others):\n"
           "      --ws ADDR              WebSocket server at ws://ADDR/events (e.g. 127.0.0.1:7778)\n"
           "      --ws-token T           clients must pass ?token=T or Authorization: Bearer T\n"
           "                             (required when ADDR is not a loopback address)\n"
           "      --otlp URL             OpenTelemetry collector (OTLP/HTTP JSON): URL/v1/logs, /v1/traces\n"
           "      --otlp-header K=V      extra request header (repeatable)\n"
           "      --otlp-token T         Authorization: Bearer T\n"
           "      --otlp-gzip            gzip the requests\n"
           "      --kafka BROKERS/TOPIC  Kafka producer (e.g. k1:9092,k2:9092/oisp-events)\n"
           "      --kafka-key K          message key: event_id (default), process or trace_id\n"
           "      --kafka-compression C  none, gzip, snappy, lz4 or zstd\n"
           "      --kafka-prop K=V       any librdkafka property, e.g. security.protocol=SASL_SSL\n"
           "      --webhook URL          POST batches of events to URL\n"
           "      --webhook-format F     json (an array, default) or ndjson\n"
           "      --webhook-auth A       bearer:TOKEN, apikey:HEADER:TOKEN or basic:USER:PASSWORD\n"
           "      --sink-queue N         events each network sink may hold (default 100000)\n"
           "      --sink-retries N       retries before an event is dead-lettered (default 8)\n"
           "      --sink-batch N         events per request (default 1000)\n"
           "      --sink-linger MS       wait this long for a batch to fill (default 200)\n"
           "      --sink-timeout MS      per request (default 10000)\n"
           "      --sink-backoff MS[,MAX] first retry delay and cap (default 200,30000; full jitter)\n"
           "      --dlq-dir DIR          dead-letter files (default /var/lib/oisp/dlq, ./dlq if not root)\n"
           "      --rotate-size N        rotate the JSONL file at N bytes (K/M/G)\n"
           "      --rotate-interval SECS rotate the JSONL file this often\n"
           "      --rotate-keep N        rotated files kept: FILE.1 .. FILE.N (default 5)\n"
           "      --flush-interval MS    write buffered JSONL lines at least this often (default 100)\n"
           "      --fsync-interval MS    fdatasync the JSONL file this often (default: never)\n";
}

static struct sink_opts *opts_of(sink_set *ss, int create)
{
    struct sink_opts **slot = sink_set_opts_slot(ss);
    if (!*slot && create)
        *slot = calloc(1, sizeof(**slot));
    return *slot;
}

void sink_opts_free(struct sink_opts *o)
{
    if (!o)
        return;
    for (int i = 0; i < O_COUNT; i++)
        for (size_t j = 0; j < o->nvals[i]; j++)
            free(o->vals[i][j]);
    free(o->dlq_path);
    free(o);
}

/* ---- value checks ---- */

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024;
    else if (*end == 'G' || *end == 'g')
        mul = 1024ull * 1024 * 1024;
    if (mul > 1)
        end++;
    if (*end || v > max / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static int is_http_url(const char *s)
{
    return (strncmp(s, "http://", 7) == 0 && s[7]) || (strncmp(s, "https://", 8) == 0 && s[8]);
}

static int check_value(int i, const char *v, char *err, size_t errlen)
{
    uint64_t n;
    const char *why = NULL;
    switch (i) {
    case O_OTLP:
    case O_WEBHOOK:
        if (!is_http_url(v))
            why = "expected an http:// or https:// URL";
        break;
    case O_OTLP_HEADER:
    case O_KAFKA_PROP:
        if (!strchr(v, '=') || v[0] == '=')
            why = "expected NAME=VALUE";
        break;
    case O_KAFKA: {
        const char *slash = strrchr(v, '/');
        if (!slash || slash == v || !slash[1])
            why = "expected BROKERS/TOPIC, e.g. 127.0.0.1:9092/oisp-events";
        break;
    }
    case O_KAFKA_KEY:
        if (sink_kafka_key_parse(v) < 0)
            why = "expected event_id, process or trace_id";
        break;
    case O_KAFKA_COMPRESSION:
        if (strcmp(v, "none") && strcmp(v, "gzip") && strcmp(v, "snappy") && strcmp(v, "lz4") &&
            strcmp(v, "zstd"))
            why = "expected none, gzip, snappy, lz4 or zstd";
        break;
    case O_WEBHOOK_FORMAT:
        if (strcmp(v, "json") && strcmp(v, "ndjson"))
            why = "expected json or ndjson";
        break;
    case O_WEBHOOK_AUTH:
        if (sink_webhook_check_auth(v, err, errlen))
            return -1;
        break;
    case O_SINK_QUEUE:
    case O_SINK_BATCH:
        if (parse_u64(v, 100000000, &n) || !n)
            why = "expected a positive number";
        break;
    case O_SINK_RETRIES:
    case O_ROTATE_KEEP:
        if (parse_u64(v, 1000000, &n))
            why = "expected a number";
        break;
    case O_SINK_LINGER:
    case O_SINK_TIMEOUT:
    case O_FLUSH_INTERVAL:
    case O_FSYNC_INTERVAL:
    case O_ROTATE_INTERVAL:
        if (parse_u64(v, 86400000, &n))
            why = "expected a number";
        break;
    case O_SINK_BACKOFF: {
        char a[32];
        const char *comma = strchr(v, ',');
        snprintf(a, sizeof(a), "%.*s", comma ? (int)(comma - v) : (int)strlen(v), v);
        if (parse_u64(a, 86400000, &n) || (comma && parse_u64(comma + 1, 86400000, &n)))
            why = "expected MS or MS,MAX_MS";
        break;
    }
    case O_ROTATE_SIZE:
        if (parse_u64(v, 1ull << 50, &n) || (n && n < 4096))
            why = "expected a size of at least 4K (K/M/G suffixes)";
        break;
    default:
        if (!*v && table[i].has_arg)
            why = "expected a value";
    }
    if (why) {
        snprintf(err, errlen, "--%s %s: %s", table[i].name, v, why);
        return -1;
    }
    return 0;
}

static int repeatable(int i) { return i == O_OTLP_HEADER || i == O_KAFKA_PROP; }

int sink_opts_parse(sink_set *ss, int opt_index, const char *value, char *err, size_t errlen)
{
    if (opt_index < 0 || opt_index >= O_COUNT) {
        snprintf(err, errlen, "unknown sink option");
        return -1;
    }
    if (!value)
        value = "";
    if (check_value(opt_index, value, err, errlen))
        return -1;
    struct sink_opts *o = opts_of(ss, 1);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t *n = &o->nvals[opt_index];
    if (!repeatable(opt_index) && *n) { /* the last one wins */
        free(o->vals[opt_index][0]);
        *n = 0;
    }
    if (*n == MAX_VALUES) {
        snprintf(err, errlen, "--%s: at most %d", table[opt_index].name, MAX_VALUES);
        return -1;
    }
    char *copy = strdup(value);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    o->vals[opt_index][(*n)++] = copy;
    return 0;
}

int sink_opts_set_dlq_path(sink_set *ss, const char *path)
{
    struct sink_opts *o = opts_of(ss, 1);
    if (!o)
        return -1;
    free(o->dlq_path);
    o->dlq_path = strdup(path);
    return o->dlq_path ? 0 : -1;
}

int sink_opts_any_network(sink_set *ss)
{
    struct sink_opts *o = opts_of(ss, 0);
    return o && (o->nvals[O_WS] || o->nvals[O_OTLP] || o->nvals[O_KAFKA] || o->nvals[O_WEBHOOK]);
}

/* ---- building the sinks ---- */

static const char *val(const struct sink_opts *o, int i)
{
    return o->nvals[i] ? o->vals[i][0] : NULL;
}

static uint64_t num(const struct sink_opts *o, int i, uint64_t dflt)
{
    uint64_t v;
    const char *s = val(o, i);
    return s && parse_u64(s, UINT64_MAX, &v) == 0 ? v : dflt;
}

static void deliver_from(const struct sink_opts *o, deliver_opts *d)
{
    deliver_opts_default(d);
    d->queue_max = (size_t)num(o, O_SINK_QUEUE, d->queue_max);
    d->max_retries = (int)num(o, O_SINK_RETRIES, (uint64_t)d->max_retries);
    d->batch_max = (size_t)num(o, O_SINK_BATCH, d->batch_max);
    d->linger_ms = (int)num(o, O_SINK_LINGER, (uint64_t)d->linger_ms);
    const char *b = val(o, O_SINK_BACKOFF);
    if (b) {
        d->backoff_base_ms = atoi(b);
        const char *comma = strchr(b, ',');
        if (comma)
            d->backoff_max_ms = atoi(comma + 1);
        if (d->backoff_max_ms < d->backoff_base_ms)
            d->backoff_max_ms = d->backoff_base_ms;
    }
    d->dlq_dir = val(o, O_DLQ_DIR);
    d->dlq_path = o->dlq_path;
}

static int is_secret_prop(const char *kv)
{
    static const char *const words[] = {"password", "secret", "token", "key", "pem", "jaas"};
    const char *eq = strchr(kv, '=');
    size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t wl = strlen(words[i]);
        for (size_t j = 0; j + wl <= n; j++)
            if (strncmp(kv + j, words[i], wl) == 0)
                return 1;
    }
    return 0;
}

char *sink_opts_header(sink_set *ss, const char *kind)
{
    struct sink_opts *o = opts_of(ss, 0);
    int main_opt = strcmp(kind, "otlp") == 0      ? O_OTLP
                   : strcmp(kind, "kafka") == 0   ? O_KAFKA
                   : strcmp(kind, "webhook") == 0 ? O_WEBHOOK
                                                  : -1;
    if (!o || main_opt < 0 || !o->nvals[main_opt])
        return NULL;
    json_t *opts = json_object(), *needs = json_array();
    for (int i = 0; i < O_COUNT; i++) {
        if (!o->nvals[i] || (strcmp(meta[i].kind, kind) != 0 && meta[i].kind[0]) || i == O_DLQ_DIR)
            continue;
        json_t *arr = json_array();
        for (size_t j = 0; j < o->nvals[i]; j++) {
            int secret = meta[i].secret || (i == O_KAFKA_PROP && is_secret_prop(o->vals[i][j]));
            if (!secret)
                json_array_append_new(arr, json_string(o->vals[i][j]));
            else if (i == O_KAFKA_PROP) { /* name which property */
                char name[256];
                snprintf(name, sizeof(name), "kafka-prop %.*s", (int)strcspn(o->vals[i][j], "="),
                         o->vals[i][j]);
                json_array_append_new(needs, json_string(name));
            } else if (j == 0) {
                json_array_append_new(needs, json_string(table[i].name));
            }
        }
        if (json_array_size(arr))
            json_object_set_new(opts, table[i].name, arr);
        else
            json_decref(arr);
    }
    json_t *h = json_pack("{s:i,s:s,s:s,s:o,s:o}", "oisp_dlq", 1, "kind", kind, "target",
                          o->vals[main_opt][0], "options", opts, "needs", needs);
    char *text = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    return text;
}

static sink *start_otlp(sink_set *ss, const struct sink_opts *o, char *err, size_t errlen)
{
    sink_otlp_config c;
    sink_otlp_config_default(&c);
    c.url = val(o, O_OTLP);
    for (size_t i = 0; i < o->nvals[O_OTLP_HEADER] && i < OTLP_MAX_HEADERS; i++)
        c.headers[c.nheaders++] = o->vals[O_OTLP_HEADER][i];
    c.token = val(o, O_OTLP_TOKEN);
    c.gzip = o->nvals[O_OTLP_GZIP] > 0;
    deliver_from(o, &c.d);
    c.timeout_ms = (int)num(o, O_SINK_TIMEOUT, (uint64_t)c.timeout_ms);
    char *hdr = sink_opts_header(ss, "otlp");
    c.d.dlq_header = hdr;
    sink *s = sink_otlp_new(&c, err, errlen);
    free(hdr);
    return s;
}

static sink *start_kafka(sink_set *ss, const struct sink_opts *o, char *err, size_t errlen)
{
    sink_kafka_config c;
    sink_kafka_config_default(&c);
    const char *spec = val(o, O_KAFKA), *slash = strrchr(spec, '/');
    char brokers[1024];
    snprintf(brokers, sizeof(brokers), "%.*s", (int)(slash - spec), spec);
    c.brokers = brokers;
    c.topic = slash + 1;
    if (val(o, O_KAFKA_KEY))
        c.key = sink_kafka_key_parse(val(o, O_KAFKA_KEY));
    c.compression = val(o, O_KAFKA_COMPRESSION);
    for (size_t i = 0; i < o->nvals[O_KAFKA_PROP] && i < KAFKA_MAX_PROPS; i++)
        c.props[c.nprops++] = o->vals[O_KAFKA_PROP][i];
    deliver_from(o, &c.d);
    if (val(o, O_SINK_TIMEOUT))
        c.timeout_ms = (int)num(o, O_SINK_TIMEOUT, (uint64_t)c.timeout_ms);
    char *hdr = sink_opts_header(ss, "kafka");
    c.d.dlq_header = hdr;
    sink *s = sink_kafka_new(&c, err, errlen);
    free(hdr);
    return s;
}

static sink *start_webhook(sink_set *ss, const struct sink_opts *o, char *err, size_t errlen)
{
    sink_webhook_config c;
    sink_webhook_config_default(&c);
    c.url = val(o, O_WEBHOOK);
    c.ndjson = val(o, O_WEBHOOK_FORMAT) && strcmp(val(o, O_WEBHOOK_FORMAT), "ndjson") == 0;
    c.auth = val(o, O_WEBHOOK_AUTH);
    deliver_from(o, &c.d);
    c.timeout_ms = (int)num(o, O_SINK_TIMEOUT, (uint64_t)c.timeout_ms);
    char *hdr = sink_opts_header(ss, "webhook");
    c.d.dlq_header = hdr;
    sink *s = sink_webhook_new(&c, err, errlen);
    free(hdr);
    return s;
}

static sink *start_ws(const struct sink_opts *o, char *err, size_t errlen)
{
    sink_ws_config c;
    sink_ws_config_default(&c);
    c.listen = val(o, O_WS);
    c.token = val(o, O_WS_TOKEN);
    return sink_ws_new(&c, err, errlen);
}

static int add(sink_set *ss, sink *s, const char *what, char *err, size_t errlen)
{
    if (!s) {
        char why[512];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "%s: %s", what, why);
        return -1;
    }
    if (sink_set_add(ss, s)) {
        snprintf(err, errlen, "%s: too many sinks", what);
        return -1;
    }
    return 0;
}

int sink_opts_start(sink_set *ss, const char *jsonl_path, char *err, size_t errlen)
{
    struct sink_opts empty = {0}, *o = opts_of(ss, 0);
    if (!o)
        o = &empty;
    if (jsonl_path) {
        jsonl_opts jo;
        jsonl_opts_default(&jo);
        jo.rotate_size = num(o, O_ROTATE_SIZE, 0);
        jo.rotate_interval_s = (int)num(o, O_ROTATE_INTERVAL, 0);
        jo.rotate_keep = (int)num(o, O_ROTATE_KEEP, (uint64_t)jo.rotate_keep);
        jo.flush_ms = (int)num(o, O_FLUSH_INTERVAL, (uint64_t)jo.flush_ms);
        jo.fsync_ms = (int)num(o, O_FSYNC_INTERVAL, 0);
        if (add(ss, sink_jsonl_new_opts(jsonl_path, &jo, err, errlen), "output", err, errlen))
            return -1;
    }
    if (val(o, O_WS) && add(ss, start_ws(o, err, errlen), "--ws", err, errlen))
        return -1;
    if (val(o, O_OTLP) && add(ss, start_otlp(ss, o, err, errlen), "--otlp", err, errlen))
        return -1;
    if (val(o, O_KAFKA) && add(ss, start_kafka(ss, o, err, errlen), "--kafka", err, errlen))
        return -1;
    if (val(o, O_WEBHOOK) && add(ss, start_webhook(ss, o, err, errlen), "--webhook", err, errlen))
        return -1;
    return 0;
}

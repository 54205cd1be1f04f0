/* record.c: `oisp-sensor record`: read the configuration (file <
 * environment < flags), then run the sensor (sensor.c) until SIGINT or
 * SIGTERM.  Every flag that sets something maps onto one configuration key,
 * so a command line can always be written as a config file instead. */
#include "cli/record.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/control.h"
#include "cli/sensor.h"

extern char **environ;

/* A flag and the configuration key it sets; value NULL means the flag's
 * argument, else this fixed value (for switches). */
typedef struct flag_key {
    const char *flag;
    const char *key;
    const char *value;
} flag_key;

static const flag_key flag_keys[] = {
    {"output", "output.jsonl.path", NULL},          {"pid", "capture.pids", NULL},
    {"comm", "capture.comms", NULL},                {"binary", "capture.binaries", NULL},
    {"library", "capture.libraries", NULL},         {"cgroup", "capture.cgroups", NULL},
    {"max-capture", "capture.max_capture", NULL},   {"ring-size", "capture.ring_size", NULL},
    {"queue-size", "capture.queue_size", NULL},     {"nice", "capture.nice", NULL},
    {"inbound", "capture.inbound", "true"},         {"all-processes", "correlation.all_processes", "true"},
    {"no-host-events", "correlation.enabled", "false"}, {"redaction", "redaction.mode", NULL},
    {"ws", "sinks.websocket.listen", NULL},         {"ws-token", "sinks.websocket.token", NULL},
    {"otlp", "sinks.otlp.url", NULL},               {"otlp-header", "sinks.otlp.headers", NULL},
    {"otlp-token", "sinks.otlp.bearer_token", NULL}, {"otlp-gzip", "sinks.otlp.gzip", "true"},
    {"kafka-key", "sinks.kafka.key", NULL},         {"kafka-compression", "sinks.kafka.compression", NULL},
    {"kafka-prop", "sinks.kafka.properties", NULL}, {"webhook", "sinks.webhook.url", NULL},
    {"sink-queue", "sinks.common.queue_size", NULL}, {"sink-retries", "sinks.common.max_retries", NULL},
    {"dlq-dir", "sinks.common.dead_letter_dir", NULL}, {"rotate-size", "output.jsonl.rotate_size", NULL},
    {"rotate-interval", "output.jsonl.rotate_interval", NULL}, {"rotate-keep", "output.jsonl.keep", NULL},
    {"fsync-interval", "output.jsonl.fsync_interval_ms", NULL}, {"metrics", "metrics.listen", NULL},
    {"metrics-token", "metrics.token", NULL},       {"fanotify-mode", "host.fanotify.mode", NULL},
    {"fanotify-path", "host.fanotify.paths", NULL},
};
#define NFLAGKEYS (sizeof(flag_keys) / sizeof(flag_keys[0]))

/* Flags that need more than one key, and the ones that are not settings. */
enum { OPT_KAFKA = 1000, OPT_WEBHOOK_FORMAT, OPT_WEBHOOK_AUTH, OPT_SET, OPT_CONFIG, OPT_CONTROL };

static void usage(FILE *f)
{
    fprintf(f,
        "usage: oisp-sensor record [options]\n"
        "Capture the AI API calls made through OpenSSL on this host, and what AI agents then\n"
        "do, as OISP v0.1 events.  Settings come from the config file, then OISP_* environment\n"
        "variables, then these flags (see `oisp-sensor config show`).\n"
        "\n"
        "  -c, --config FILE        configuration file (default: $OISP_CONFIG,\n"
        "                           ~/.config/oisp-sensor/config.toml, /etc/oisp/config.toml)\n"
        "      --set KEY=VALUE      set any configuration key (repeatable)\n"
        "  -o, --output FILE        JSON Lines output (default events.jsonl; - for stdout;\n"
        "                           \"\" for none), created with mode 0600\n"
        "capture\n"
        "      --pid PID            capture only this process (repeatable); also a root for\n"
        "                           host activity\n"
        "      --comm NAME          ... or processes with this name (repeatable)\n"
        "      --cgroup PATH        ... or processes in this cgroup v2 path (host activity)\n"
        "      --binary PATH        also probe this binary (static OpenSSL not running yet)\n"
        "      --library PATH       also probe this TLS library\n"
        "      --max-capture N      bytes captured per SSL read/write (default 2M); longer\n"
        "                           calls are marked confidence.completeness \"partial\"\n"
        "      --ring-size N        kernel ring buffer (default 2M, a power of two, raised\n"
        "                           to hold one --max-capture call); a reader thread\n"
        "                           copies it out as soon as it is woken\n"
        "      --queue-size N       user-space queue behind the ring for bursts (default\n"
        "                           32M; memory is touched only as deep as the backlog)\n"
        "      --nice N             the sensor's scheduling priority (default -10; 0: as\n"
        "                           started), so it keeps up on a busy host\n"
        "      --inbound            also the server side of exchanges whose server runs on this\n"
        "                           host (labelled attrs.capture_view \"inbound\")\n"
        "host activity (process, file, network events of AI-active process trees)\n"
        "      --all-processes      record the host activity of every process\n"
        "      --no-host-events     AI calls only\n"
        "      --fanotify-mode M    passive|permissive|enforcing file monitor on --fanotify-path\n"
        "      --fanotify-path P    a path to watch (repeatable)\n"
        "privacy\n"
        "      --redaction MODE     safe (default), full or minimal\n"
        "sinks (besides the JSONL file)\n"
        "      --ws HOST:PORT       WebSocket stream of events (a token is required off loopback:\n"
        "                           --ws-token T)\n"
        "      --otlp URL           OpenTelemetry collector (OTLP/HTTP JSON), --otlp-header K=V,\n"
        "                           --otlp-token T, --otlp-gzip\n"
        "      --kafka BROKERS/TOPIC  Kafka, --kafka-key event_id|process|trace_id,\n"
        "                           --kafka-compression C, --kafka-prop K=V (librdkafka)\n"
        "      --webhook URL        HTTP webhook (repeatable), --webhook-format json|ndjson,\n"
        "                           --webhook-auth bearer:T|apikey:HEADER:T|basic:USER:PASS\n"
        "      --sink-queue N, --sink-retries N, --dlq-dir DIR   delivery settings\n"
        "      --rotate-size N, --rotate-interval SECS, --rotate-keep N, --fsync-interval MS\n"
        "endpoints\n"
        "      --metrics HOST:PORT  Prometheus /metrics (default 127.0.0.1:9464; \"\" for none;\n"
        "                           a token is required off loopback: --metrics-token T)\n"
        "      --control PATH       control socket for `oisp-sensor status` (default %s)\n"
        "  -v, --verbose            log probing details\n"
        "  -q, --quiet              no progress messages (errors and stats only)\n"
        "  -h, --help               this help\n"
        "\n"
        "Needs root (CAP_SYS_ADMIN for uprobes, CAP_BPF, CAP_PERFMON; CAP_SYS_PTRACE and\n"
        "CAP_DAC_READ_SEARCH for other users' processes).  SIGHUP reloads the configuration\n"
        "(sinks, filters, redaction); Ctrl-C or SIGTERM writes everything in flight, prints the\n"
        "counters (every loss, by cause) and exits.\n",
        CONTROL_DEFAULT_PATH);
}

static struct option *long_options(void)
{
    static struct option opts[NFLAGKEYS + 16];
    size_t n = 0;
    for (size_t i = 0; i < NFLAGKEYS; i++)
        opts[n++] = (struct option){flag_keys[i].flag, flag_keys[i].value ? no_argument : required_argument,
                                    0, (int)(2000 + i)};
    opts[n++] = (struct option){"kafka", required_argument, 0, OPT_KAFKA};
    opts[n++] = (struct option){"webhook-format", required_argument, 0, OPT_WEBHOOK_FORMAT};
    opts[n++] = (struct option){"webhook-auth", required_argument, 0, OPT_WEBHOOK_AUTH};
    opts[n++] = (struct option){"set", required_argument, 0, OPT_SET};
    opts[n++] = (struct option){"config", required_argument, 0, OPT_CONFIG};
    opts[n++] = (struct option){"control", required_argument, 0, OPT_CONTROL};
    opts[n++] = (struct option){"verbose", no_argument, 0, 'v'};
    opts[n++] = (struct option){"quiet", no_argument, 0, 'q'};
    opts[n++] = (struct option){"help", no_argument, 0, 'h'};
    opts[n] = (struct option){0, 0, 0, 0};
    return opts;
}

static int add_setting(sensor_args *a, const char *flag, const char *key, const char *value)
{
    if (a->nsettings == SENSOR_MAX_SETTINGS)
        return -1;
    a->settings[a->nsettings++] = (sensor_setting){flag, key, value};
    return 0;
}

/* --kafka BROKERS/TOPIC, --webhook-format, --webhook-auth, --set K=V */
static int add_compound(sensor_args *a, int opt, const char *v, char *err, size_t errlen)
{
    static char bufs[64][1024]; /* values live as long as the process */
    static size_t nb;
    if (nb + 4 > 64) {
        snprintf(err, errlen, "too many compound options");
        return -1;
    }
    if (opt == OPT_SET) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v) {
            snprintf(err, errlen, "--set %s: expected KEY=VALUE", v);
            return -1;
        }
        char *k = bufs[nb++];
        snprintf(k, 1024, "%.*s", (int)(eq - v), v);
        return add_setting(a, "--set", k, eq + 1);
    }
    if (opt == OPT_KAFKA) {
        const char *slash = strrchr(v, '/');
        if (!slash || slash == v || !slash[1]) {
            snprintf(err, errlen, "--kafka %s: expected BROKERS/TOPIC, e.g. localhost:9092/oisp", v);
            return -1;
        }
        char *b = bufs[nb++];
        snprintf(b, 1024, "%.*s", (int)(slash - v), v);
        return add_setting(a, "--kafka", "sinks.kafka.brokers", b) |
               add_setting(a, "--kafka", "sinks.kafka.topic", slash + 1);
    }
    if (opt == OPT_WEBHOOK_FORMAT)
        return add_setting(a, "--webhook-format", "sinks.webhook.format",
                           strcmp(v, "json") == 0 ? "json_array" : v);
    /* --webhook-auth bearer:T | apikey:HEADER:T | basic:USER:PASS */
    char *copy = bufs[nb++];
    snprintf(copy, 1024, "%s", v);
    char *kind = copy, *rest = strchr(copy, ':');
    if (!rest) {
        snprintf(err, errlen, "--webhook-auth: expected bearer:T, apikey:HEADER:T or basic:USER:PASS");
        return -1;
    }
    *rest++ = 0;
    const char *f = "--webhook-auth";
    if (strcmp(kind, "bearer") == 0)
        return add_setting(a, f, "sinks.webhook.auth", "bearer") |
               add_setting(a, f, "sinks.webhook.token", rest);
    char *second = strchr(rest, ':');
    if (!second) {
        snprintf(err, errlen, "--webhook-auth %s: expected %s:A:B", kind, kind);
        return -1;
    }
    *second++ = 0;
    if (strcmp(kind, "apikey") == 0)
        return add_setting(a, f, "sinks.webhook.auth", "api_key") |
               add_setting(a, f, "sinks.webhook.header", rest) |
               add_setting(a, f, "sinks.webhook.token", second);
    if (strcmp(kind, "basic") == 0)
        return add_setting(a, f, "sinks.webhook.auth", "basic") |
               add_setting(a, f, "sinks.webhook.username", rest) |
               add_setting(a, f, "sinks.webhook.password", second);
    snprintf(err, errlen, "--webhook-auth %s: expected bearer, apikey or basic", kind);
    return -1;
}

/* Returns -1 to run, or the exit status. */
static int parse_args(int argc, char **argv, sensor_args *a)
{
    static char flagnames[NFLAGKEYS][48];
    struct option *opts = long_options();
    char err[512];
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:o:vqh", opts, NULL)) != -1) {
        if (ch >= 2000 && ch < 2000 + (int)NFLAGKEYS) {
            const flag_key *fk = &flag_keys[ch - 2000];
            snprintf(flagnames[ch - 2000], sizeof(flagnames[0]), "--%s", fk->flag);
            if (add_setting(a, flagnames[ch - 2000], fk->key, fk->value ? fk->value : optarg)) {
                fprintf(stderr, "oisp-sensor record: too many options\n");
                return 2;
            }
            continue;
        }
        switch (ch) {
        case 'o': add_setting(a, "-o", "output.jsonl.path", optarg); break;
        case 'c': case OPT_CONFIG: a->config_path = optarg; break;
        case OPT_CONTROL: a->control_path = optarg; break;
        case OPT_KAFKA: case OPT_WEBHOOK_FORMAT: case OPT_WEBHOOK_AUTH: case OPT_SET:
            if (add_compound(a, ch, optarg, err, sizeof(err))) {
                fprintf(stderr, "oisp-sensor record: %s\n", err);
                return 2;
            }
            break;
        case 'v': a->verbose = 1; break;
        case 'q': a->quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "oisp-sensor record: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return -1;
}

int cmd_record(int argc, char **argv)
{
    sensor_args a = {.control_path = CONTROL_DEFAULT_PATH, .environ = environ};
    int r = parse_args(argc, argv, &a);
    if (r >= 0)
        return r;
    return sensor_run(&a);
}

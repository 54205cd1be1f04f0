/* status.c: `oisp-sensor status` prints what a running sensor reports:
 * events by type, drops by cause (every place an event can be lost),
 * sinks, and the files it probes with the processes using them. */
#include "cli/status.h"

#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli/control.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: oisp-sensor status [--json] [--control PATH]\n"
               "Counters of the running sensor: events by type, drops by cause, sinks, and the\n"
               "TLS libraries and binaries it probes with the processes using them.\n"
               "  --json          the raw status document\n"
               "  --control PATH  the sensor's control socket (default %s)\n",
            CONTROL_DEFAULT_PATH);
}

static void print_counts(const char *title, json_t *o, int nonzero_only)
{
    const char *k;
    json_t *v;
    printf("%s\n", title);
    int any = 0;
    json_object_foreach(o, k, v) {
        if (nonzero_only && json_integer_value(v) == 0)
            continue;
        printf("  %-28s %lld\n", k, (long long)json_integer_value(v));
        any = 1;
    }
    if (!any)
        printf("  (none)\n");
}

static void print_sinks(json_t *sinks)
{
    printf("sinks%*s%10s %10s %8s %8s %8s %8s %8s\n", 36, "", "submitted", "delivered", "retried",
           "failed", "dlq", "dropped", "queued");
    size_t i;
    json_t *s;
    json_array_foreach(sinks, i, s) {
        printf("  %-39.39s%10lld %10lld %8lld %8lld %8lld %8lld %8lld\n",
               json_string_value(json_object_get(s, "name")),
               (long long)json_integer_value(json_object_get(s, "submitted")),
               (long long)json_integer_value(json_object_get(s, "delivered")),
               (long long)json_integer_value(json_object_get(s, "retried")),
               (long long)json_integer_value(json_object_get(s, "failed")),
               (long long)json_integer_value(json_object_get(s, "dead_lettered")),
               (long long)json_integer_value(json_object_get(s, "dropped")),
               (long long)json_integer_value(json_object_get(s, "queued")));
    }
}

static void print_targets(json_t *targets)
{
    printf("probed files\n");
    size_t i, j;
    json_t *t, *pid;
    json_array_foreach(targets, i, t) {
        const char *ver = json_string_value(json_object_get(t, "version"));
        printf("  %s%s%s%s\n", json_string_value(json_object_get(t, "path")), ver && *ver ? " (" : "",
               ver && *ver ? ver : "", ver && *ver ? ")" : "");
        json_t *pids = json_object_get(t, "pids");
        printf("    %zu process%s", json_array_size(pids), json_array_size(pids) == 1 ? "" : "es");
        json_array_foreach(pids, j, pid) {
            if (j == 12) {
                printf(" ...");
                break;
            }
            printf("%s%lld", j ? ", " : ": ", (long long)json_integer_value(pid));
        }
        int slow = (int)json_integer_value(json_object_get(t, "slow_sites"));
        printf("%s\n", slow ? "  [some probes single-stepped: slow]" : "");
    }
}

int cmd_status(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, 0, 'j'}, {"control", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *path = CONTROL_DEFAULT_PATH;
    int as_json = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'j': as_json = 1; break;
        case 'c': path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    char err[512];
    json_t *st = control_request(path, "status", err, sizeof(err));
    if (!st) {
        fprintf(stderr, "oisp-sensor status: %s\n", err);
        return 1;
    }
    if (as_json) {
        char *s = json_dumps(st, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(st);
        return 0;
    }
    json_t *sensor = json_object_get(st, "sensor");
    printf("oisp-sensor %s, pid %lld, up %llds, RSS %lld kB, CPU %.1fs, config %s\n",
           json_string_value(json_object_get(sensor, "version")),
           (long long)json_integer_value(json_object_get(sensor, "pid")),
           (long long)json_integer_value(json_object_get(sensor, "uptime_s")),
           (long long)json_integer_value(json_object_get(sensor, "rss_kb")),
           json_number_value(json_object_get(sensor, "cpu_s")),
           json_string_value(json_object_get(sensor, "config")) ?: "(none)");
    print_counts("events", json_object_get(st, "events"), 0);
    print_counts("capture", json_object_get(st, "capture"), 0);
    print_counts("drops (non-zero)", json_object_get(st, "drops"), 1);
    print_sinks(json_object_get(st, "sinks"));
    print_targets(json_object_get(st, "targets"));
    json_decref(st);
    return 0;
}

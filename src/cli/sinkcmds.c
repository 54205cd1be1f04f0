/* sinkcmds.c: `oisp-sensor dlq replay FILE [--to KIND:TARGET] [sink options]`.
 *
 * Resends the events of a dead-letter file (sinks/dlq.h) to the sink they
 * were meant for, as named by the file's side header FILE.sink, or to
 * another one given with --to (otlp:URL, kafka:BROKERS/TOPIC,
 * webhook:URL, jsonl:PATH).  The sink is rebuilt from the options in the
 * header; secrets it lists under "needs" must be given again on the
 * command line, with the same options `record` takes.
 *
 * How nothing is lost.  The file is first claimed (locked and renamed to
 * FILE.replaying.PID, so a sensor still running appends to a new FILE);
 * its lines are submitted unchanged, paced by the sink's queue; whatever
 * the sink still cannot deliver goes back into FILE through the sink's
 * own dead-letter path, and so do lines that are not JSON.  Only when
 * every line is accounted for is the claimed copy deleted.  A last line
 * without '\n' is a fragment torn by a crash: it is reported and
 * skipped. */
#include "cli/sinkcmds.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sinks/dlq.h"
#include "sinks/sink.h"
#include "sinks/sink_opts.h"

#define REPLAY_MAX_LINE (64u << 20)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: oisp-sensor dlq replay FILE [--to KIND:TARGET] [--drain MS] [sink options]\n"
            "Resend the events of a dead-letter file to the sink named in FILE.sink, or to\n"
            "KIND:TARGET (otlp:URL, kafka:BROKERS/TOPIC, webhook:URL, jsonl:PATH).  Events that\n"
            "still cannot be delivered go back into FILE; the rest are removed from it.\n"
            "Secrets are not kept in FILE.sink: give them again (e.g. --webhook-auth, --otlp-token).\n"
            "  --drain MS   how long to wait for the last deliveries (default 30000)\n\n%s",
            sink_opts_usage());
}

static const char *main_option(const char *kind)
{
    if (strcmp(kind, "otlp") == 0)
        return "otlp";
    if (strcmp(kind, "kafka") == 0)
        return "kafka";
    if (strcmp(kind, "webhook") == 0)
        return "webhook";
    return NULL;
}

static int set_opt(sink_set *ss, const char *name, const char *value)
{
    char err[512];
    int i = sink_opts_index(name);
    if (i < 0 || sink_opts_parse(ss, i, value, err, sizeof(err))) {
        fprintf(stderr, "oisp-sensor dlq: %s\n", i < 0 ? "unknown option in the side header" : err);
        return -1;
    }
    return 0;
}

static json_t *read_header(const char *file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s.sink", file);
    return json_load_file(path, 0, NULL);
}

/* Options from the side header: for each name, its values. */
static int apply_header(sink_set *ss, const json_t *hdr)
{
    const char *name;
    json_t *vals;
    json_object_foreach(json_object_get(hdr, "options"), name, vals) {
        for (size_t i = 0; i < json_array_size(vals); i++) {
            const char *v = json_string_value(json_array_get(vals, i));
            if (v && set_opt(ss, name, v))
                return -1;
        }
    }
    return 0;
}

/* Every "needs" entry must be on the command line. */
static int check_needs(const json_t *hdr, int argc, char **argv)
{
    int missing = 0;
    const json_t *needs = json_object_get(hdr, "needs");
    for (size_t i = 0; i < json_array_size(needs); i++) {
        const char *need = json_string_value(json_array_get(needs, i));
        if (!need)
            continue;
        char opt[300], prefix[300] = "";
        const char *sp = strchr(need, ' ');
        snprintf(opt, sizeof(opt), "--%.*s", sp ? (int)(sp - need) : (int)strlen(need), need);
        if (sp)
            snprintf(prefix, sizeof(prefix), "%s=", sp + 1);
        int found = 0;
        for (int a = 1; a < argc && !found; a++) {
            size_t ol = strlen(opt);
            if (strncmp(argv[a], opt, ol) != 0)
                continue;
            const char *v = argv[a][ol] == '=' ? argv[a] + ol + 1 : argv[a][ol] ? NULL : (a + 1 < argc ? argv[a + 1] : NULL);
            found = v && strncmp(v, prefix, strlen(prefix)) == 0;
        }
        if (!found) {
            fprintf(stderr, "oisp-sensor dlq: this sink was configured with %s%s%s; give it again "
                            "(secrets are not kept in the side header)\n",
                    opt, sp ? " " : "", sp ? prefix : "");
            missing++;
        }
    }
    return missing ? -1 : 0;
}

static uint64_t queued_now(sink_set *ss)
{
    uint64_t q = 0;
    for (size_t i = 0; i < sink_set_count(ss); i++) {
        const char *n, *k;
        sink_stats st;
        sink_set_get_stats(ss, i, &n, &k, &st);
        q += st.queued;
    }
    return q;
}

typedef struct replay_counts {
    uint64_t lines, torn, not_json;
} replay_counts;

static void submit_line(sink_set *ss, char *line, size_t len, dlq *back, replay_counts *rc)
{
    json_t *ev = json_loadb(line, len, 0, NULL);
    if (!json_is_object(ev)) { /* keep it: back into the dead-letter file as it was */
        const char *l[1] = {line};
        char err[256];
        dlq_append(back, l, &len, 1, err, sizeof(err));
        rc->not_json++;
        json_decref(ev);
        return;
    }
    const json_t *tc = json_object_get(ev, "trace_context"), *proc = json_object_get(ev, "process");
    sink_event e = {
        .line = line,
        .len = len,
        .type = json_string_value(json_object_get(ev, "event_type")),
        .event_id = json_string_value(json_object_get(ev, "event_id")),
        .trace_id = json_string_value(json_object_get(tc, "trace_id")),
        .pid = (uint32_t)json_integer_value(json_object_get(proc, "pid")),
        .ev = ev,
    };
    for (size_t i = 0; i < sink_set_count(ss); i++) {
        sink *s = sink_set_get(ss, i);
        s->v->submit(s, &e);
    }
    json_decref(ev);
    rc->lines++;
}

/* Feed the claimed file to the sinks, keeping their queues below limit. */
static int feed(sink_set *ss, int fd, dlq *back, uint64_t limit, replay_counts *rc)
{
    FILE *f = fdopen(fd, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n') {
            rc->torn++;
            break;
        }
        line[--n] = 0;
        if (n == 0)
            continue;
        while (queued_now(ss) >= limit) {
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
        submit_line(ss, line, (size_t)n, back, rc);
    }
    free(line);
    fclose(f);
    return 0;
}

static int parse_to(sink_set *ss, const char *to, const char **kind, const char **jsonl_path)
{
    const char *colon = strchr(to, ':');
    if (!colon) {
        fprintf(stderr, "oisp-sensor dlq: --to %s: expected KIND:TARGET\n", to);
        return -1;
    }
    static char k[16];
    snprintf(k, sizeof(k), "%.*s", (int)(colon - to), to);
    *kind = k;
    if (strcmp(k, "jsonl") == 0) {
        *jsonl_path = colon + 1;
        return 0;
    }
    if (!main_option(k)) {
        fprintf(stderr, "oisp-sensor dlq: --to %s: kind must be otlp, kafka, webhook or jsonl\n", to);
        return -1;
    }
    return set_opt(ss, main_option(k), colon + 1);
}

static int replay(int argc, char **argv)
{
    size_t n = sink_opts_count();
    const struct option *so = sink_opts_long();
    struct option *longopts = calloc(n + 4, sizeof(*longopts));
    if (!longopts)
        return 1;
    memcpy(longopts, so, n * sizeof(*so));
    longopts[n] = (struct option){"to", required_argument, 0, 't'};
    longopts[n + 1] = (struct option){"drain", required_argument, 0, 'd'};
    longopts[n + 2] = (struct option){"help", no_argument, 0, 'h'};
    sink_set *cli = sink_set_new(), *ss = sink_set_new();
    const char *to = NULL;
    int drain_ms = 30000, ch, rc = 2;
    char err[512];
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch == 't')
            to = optarg;
        else if (ch == 'd')
            drain_ms = atoi(optarg);
        else if (ch == 'h') {
            usage(stdout);
            rc = 0;
            goto out;
        } else if (ch >= SINK_OPT_BASE && ch < SINK_OPT_BASE + (int)n) {
            if (sink_opts_parse(cli, ch - SINK_OPT_BASE, optarg, err, sizeof(err))) {
                fprintf(stderr, "oisp-sensor dlq: %s\n", err);
                goto out;
            }
        } else {
            usage(stderr);
            goto out;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        goto out;
    }
    const char *file = argv[optind], *kind = NULL, *jsonl_path = NULL;
    json_t *hdr = read_header(file);
    const char *hkind = json_string_value(json_object_get(hdr, "kind"));
    rc = 1;
    /* header options first, then --to, then the command line's (they win) */
    if (hkind && (!to || strncmp(to, hkind, strlen(hkind)) == 0)) {
        if (apply_header(ss, hdr) || check_needs(hdr, argc, argv))
            goto out_hdr;
        kind = hkind;
    }
    if (to && parse_to(ss, to, &kind, &jsonl_path))
        goto out_hdr;
    if (!kind) {
        fprintf(stderr, "oisp-sensor dlq: %s.sink is missing or unreadable: say where to send "
                        "the events with --to KIND:TARGET\n", file);
        goto out_hdr;
    }
    for (int a = 1; a < argc; a++) { /* re-apply the command line's sink options over the header's */
        const char *name = argv[a] + 2;
        if (strncmp(argv[a], "--", 2) != 0)
            continue;
        char nm[64];
        snprintf(nm, sizeof(nm), "%.*s", (int)strcspn(name, "="), name);
        int i = sink_opts_index(nm);
        if (i < 0)
            continue;
        const char *v = name[strlen(nm)] == '=' ? name + strlen(nm) + 1
                        : so[i].has_arg && a + 1 < argc ? argv[++a] : NULL;
        if (sink_opts_parse(ss, i, v, err, sizeof(err))) {
            fprintf(stderr, "oisp-sensor dlq: %s\n", err);
            goto out_hdr;
        }
    }
    char claimed[PATH_MAX];
    int fd = dlq_claim(file, claimed, sizeof(claimed), err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "oisp-sensor dlq: %s\n", err);
        goto out_hdr;
    }
    sink_opts_set_dlq_path(ss, file);
    dlq *back = dlq_new(file, kind, "replay", NULL);
    if (!back || sink_opts_start(ss, jsonl_path, err, sizeof(err)) || sink_set_count(ss) == 0) {
        fprintf(stderr, "oisp-sensor dlq: %s\n", back ? err : "out of memory");
        fprintf(stderr, "oisp-sensor dlq: the events are kept in %s\n", claimed);
        close(fd);
        dlq_free(back);
        goto out_hdr;
    }
    replay_counts c = {0};
    feed(ss, fd, back, 5000, &c);
    dlq_free(back);
    /* wait for the queue to empty (or the drain time to run out) before counting */
    sink_set_flush(ss);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        sink_set_flush(ss);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (queued_now(ss) &&
             (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 < drain_ms);
    sink_stats st = {0};
    const char *nm = "", *kd = "";
    sink_set_get_stats(ss, 0, &nm, &kd, &st);
    char name[64];
    snprintf(name, sizeof(name), "%s", nm);
    sink_set_close(ss, 0); /* what is still queued is dead-lettered into FILE */
    ss = NULL;
    uint64_t back_in = st.dead_lettered + st.queued;
    fprintf(stderr, "oisp-sensor dlq: %s: %llu event(s) replayed to %s: %llu delivered, %llu back in "
                    "the file, %llu lost\n", file, (unsigned long long)c.lines, name,
            (unsigned long long)st.delivered, (unsigned long long)back_in,
            (unsigned long long)st.dropped);
    if (c.not_json)
        fprintf(stderr, "oisp-sensor dlq: %llu line(s) are not JSON events; kept in %s\n",
                (unsigned long long)c.not_json, file);
    if (c.torn)
        fprintf(stderr, "oisp-sensor dlq: skipped a torn last line (no newline)\n");
    if (st.dropped) { /* we cannot tell which: keep every line of the claimed copy */
        fprintf(stderr, "oisp-sensor dlq: the original lines stay in %s\n", claimed);
        rc = 1;
    } else {
        if (unlink(claimed) < 0)
            fprintf(stderr, "oisp-sensor dlq: cannot remove %s: %s\n", claimed, strerror(errno));
        rc = back_in || c.not_json ? 1 : 0;
    }
out_hdr:
    json_decref(hdr);
out:
    sink_set_close(ss, 0);
    sink_set_close(cli, 0);
    free(longopts);
    return rc;
}

int cmd_dlq(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "replay") == 0)
        return replay(argc - 1, argv + 1);
    usage(argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) ? stdout
                                                                                        : stderr);
    return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) ? 0 : 2;
}

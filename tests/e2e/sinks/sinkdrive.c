/* sinkdrive.c: drives the real sinks without eBPF, for the sink end-to-end
 * tests (tests/e2e/sinks_*.sh) until `record` takes the sink options.
 *
 *   sinkdrive emit [-o FILE.jsonl] [-n EXCHANGES] [--rate EVENTS/S] [--prompt BYTES]
 *                  [--start-delay MS] [--drain MS] [sink options as for record]
 *   sinkdrive dlq replay FILE ...          (the real `oisp-sensor dlq` code)
 *
 * `emit` builds a sink_set from the options with sink_opts (the same code
 * record will use), emits the events of testevents.h through
 * sink_set_emit, waits up to --drain ms for the queues to empty, closes
 * the set, and prints one JSON line: the sink_set_status taken just before
 * close, the events emitted, the emit time and the slowest single
 * sink_set_emit call in microseconds. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/sinkcmds.h"
#include "events/clock.h"
#include "util/monotime.h"
#include "sinks/sink.h"
#include "sinks/sink_opts.h"
#include "testevents.h"

static uint64_t now_us(void) { return mono_ns() / 1000; }

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t queued(sink_set *ss)
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

static int emit_main(int argc, char **argv)
{
    size_t nso = sink_opts_count();
    struct option *lo = calloc(nso + 8, sizeof(*lo));
    memcpy(lo, sink_opts_long(), nso * sizeof(*lo));
    lo[nso] = (struct option){"rate", required_argument, 0, 'r'};
    lo[nso + 1] = (struct option){"prompt", required_argument, 0, 'p'};
    lo[nso + 2] = (struct option){"start-delay", required_argument, 0, 's'};
    lo[nso + 3] = (struct option){"drain", required_argument, 0, 'd'};
    sink_set *ss = sink_set_new();
    const char *out = NULL;
    long n = 100, rate = 0, prompt = 600, delay = 0, drain = 10000;
    char err[512];
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:n:", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'n': n = atol(optarg); break;
        case 'r': rate = atol(optarg); break;
        case 'p': prompt = atol(optarg); break;
        case 's': delay = atol(optarg); break;
        case 'd': drain = atol(optarg); break;
        default:
            if (ch >= SINK_OPT_BASE && ch < SINK_OPT_BASE + (int)nso) {
                if (sink_opts_parse(ss, ch - SINK_OPT_BASE, optarg, err, sizeof(err))) {
                    fprintf(stderr, "sinkdrive: %s\n", err);
                    return 2;
                }
                break;
            }
            fprintf(stderr, "sinkdrive: bad option\n");
            return 2;
        }
    }
    free(lo);
    clock_sync();
    if (sink_opts_start(ss, out, err, sizeof(err))) {
        fprintf(stderr, "sinkdrive: %s\n", err);
        sink_set_close(ss, 0);
        return 1;
    }
    if (delay)
        sleep_ms(delay);
    json_t *host = event_host_info();
    uint64_t t0 = now_us(), worst = 0, events = 0, last_flush = t0;
    for (long i = 0; i < n; i++) {
        json_t *ev[4];
        size_t k = te_exchange(host, (int)i, (size_t)prompt, ev);
        for (size_t j = 0; j < k; j++) {
            uint64_t a = now_us();
            sink_set_emit(ss, ev[j]);
            uint64_t d = now_us() - a;
            worst = d > worst ? d : worst;
            json_decref(ev[j]);
            events++;
        }
        uint64_t now = now_us();
        if (now - last_flush >= 100000) { /* as record's loop does */
            sink_set_flush(ss);
            last_flush = now;
        }
        if (rate > 0) {
            uint64_t due = t0 + events * 1000000ull / (uint64_t)rate;
            if (due > now)
                usleep((useconds_t)(due - now));
        }
    }
    uint64_t emit_us = now_us() - t0;
    sink_set_flush(ss);
    uint64_t d0 = now_us();
    while (queued(ss) && now_us() - d0 < (uint64_t)drain * 1000) {
        sleep_ms(10);
        sink_set_flush(ss);
    }
    json_t *st = sink_set_status(ss);
    json_object_set_new(st, "events", json_integer((json_int_t)events));
    json_object_set_new(st, "emit_us", json_integer((json_int_t)emit_us));
    json_object_set_new(st, "emit_max_us", json_integer((json_int_t)worst));
    sink_set_close(ss, (int)drain);
    char *s = json_dumps(st, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(st);
    json_decref(host);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "emit") == 0)
        return emit_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "dlq") == 0)
        return cmd_dlq(argc - 1, argv + 1);
    fprintf(stderr, "usage: sinkdrive emit|dlq ...\n");
    return 2;
}

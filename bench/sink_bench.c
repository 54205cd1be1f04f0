/* sink_bench.c: throughput of all five sinks at once (bench/sink_bench.sh
 * runs it).
 *
 *   sink_bench --otlp URL --webhook URL [--events N] [--rate R] [--prompt BYTES]
 *
 * It builds, with record's option parser, a JSONL file sink, a WebSocket
 * server (with one client in this process that reads and parses every
 * frame), an OTLP sink and a webhook sink to the given local receivers,
 * and a Kafka sink to a librdkafka mock cluster in this process.  It then
 * emits N events (testevents.h envelopes) through sink_set_emit, at R
 * events/s or as fast as it can, and waits until every sink has
 * delivered everything.  It prints the emit rate, the end-to-end rate
 * (events / time until the last sink caught up), per-sink counters, the
 * largest queue seen, the slowest single emit, and peak RSS (VmHWM of this
 * process, which includes the mock Kafka cluster and the WS client). */
#include <arpa/inet.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events/clock.h"
#include "sinks/sink.h"
#include "sinks/sink_opts.h"
#include "sinks/ws.h"
#include "testevents.h"

static atomic_ullong ws_frames;
static atomic_int ws_stop;

/* A minimal WebSocket reader: handshake, then count the frames. */
static void *ws_reader(void *arg)
{
    int port = *(int *)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("ws connect");
        return NULL;
    }
    char req[256];
    int n = snprintf(req, sizeof(req),
                     "GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n", port);
    if (write(fd, req, (size_t)n) != n)
        return NULL;
    static unsigned char buf[1 << 20];
    size_t have = 0, hdr_done = 0;
    uint64_t need = 0; /* payload bytes still to skip */
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (!atomic_load(&ws_stop)) {
        ssize_t r = read(fd, buf + have, sizeof(buf) - have);
        if (r <= 0) {
            if (r < 0)
                continue;
            break;
        }
        have += (size_t)r;
        size_t off = 0;
        if (!hdr_done) {
            unsigned char *e = memmem(buf, have, "\r\n\r\n", 4);
            if (!e)
                continue;
            off = (size_t)(e - buf) + 4;
            hdr_done = 1;
        }
        for (;;) {
            if (need) {
                size_t take = have - off < need ? have - off : (size_t)need;
                off += take;
                need -= take;
                if (need)
                    break;
                atomic_fetch_add(&ws_frames, 1);
            }
            if (have - off < 2)
                break;
            uint64_t len = buf[off + 1] & 0x7f;
            size_t h = 2;
            if (len == 126) {
                if (have - off < 4)
                    break;
                len = (uint64_t)buf[off + 2] << 8 | buf[off + 3];
                h = 4;
            } else if (len == 127) {
                if (have - off < 10)
                    break;
                len = 0;
                for (int i = 0; i < 8; i++)
                    len = len << 8 | buf[off + 2 + i];
                h = 10;
            }
            off += h;
            need = len;
            if (!need)
                atomic_fetch_add(&ws_frames, 1);
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    close(fd);
    return NULL;
}

static long vm_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256], fmt[32];
    long v = -1;
    snprintf(fmt, sizeof(fmt), "%s: %%ld", field);
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, fmt, &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static void opt(sink_set *ss, const char *name, const char *v)
{
    char err[512];
    if (sink_opts_parse(ss, sink_opts_index(name), v, err, sizeof(err))) {
        fprintf(stderr, "sink_bench: %s\n", err);
        exit(2);
    }
}

static uint64_t now_us(void) { return mono_ns() / 1000; }

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"otlp", required_argument, 0, 'o'}, {"webhook", required_argument, 0, 'w'},
        {"events", required_argument, 0, 'n'}, {"rate", required_argument, 0, 'r'},
        {"prompt", required_argument, 0, 'p'}, {"dir", required_argument, 0, 'd'},
        {0, 0, 0, 0}};
    const char *otlp = NULL, *webhook = NULL, *dir = "/tmp";
    long n = 200000, rate = 0, prompt = 600;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': otlp = optarg; break;
        case 'w': webhook = optarg; break;
        case 'n': n = atol(optarg); break;
        case 'r': rate = atol(optarg); break;
        case 'p': prompt = atol(optarg); break;
        case 'd': dir = optarg; break;
        default: return 2;
        }
    }
    if (!otlp || !webhook) {
        fprintf(stderr, "usage: sink_bench --otlp URL --webhook URL [--events N] [--rate R]\n");
        return 2;
    }
    clock_sync();
    char err[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_conf_set(kc, "log_level", "0", err, sizeof(err));
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
    rd_kafka_mock_topic_create(mc, "oisp", 4, 1);
    char spec[512], jpath[512], dlq[512];
    snprintf(spec, sizeof(spec), "%s/oisp", rd_kafka_mock_cluster_bootstraps(mc));
    snprintf(jpath, sizeof(jpath), "%s/bench-events.jsonl", dir);
    snprintf(dlq, sizeof(dlq), "%s/bench-dlq", dir);
    unlink(jpath);

    sink_set *ss = sink_set_new();
    opt(ss, "ws", "127.0.0.1:0");
    opt(ss, "otlp", otlp);
    opt(ss, "otlp-gzip", NULL);
    opt(ss, "kafka", spec);
    opt(ss, "kafka-compression", "lz4");
    opt(ss, "webhook", webhook);
    opt(ss, "webhook-format", "ndjson");
    opt(ss, "dlq-dir", dlq);
    if (sink_opts_start(ss, jpath, err, sizeof(err))) {
        fprintf(stderr, "sink_bench: %s\n", err);
        return 1;
    }
    int port = -1;
    for (size_t i = 0; i < sink_set_count(ss); i++)
        if (sink_ws_port(sink_set_get(ss, i)) > 0)
            port = sink_ws_port(sink_set_get(ss, i));
    pthread_t reader;
    pthread_create(&reader, NULL, ws_reader, &port);
    usleep(300000); /* the client connects */

    /* events made up front so that the run measures the sinks, not json_pack */
    json_t *host = event_host_info();
    size_t cap = (size_t)n + 4, have = 0;
    json_t **evs = malloc(cap * sizeof(*evs));
    for (int i = 0; have < (size_t)n; i++)
        have += te_exchange(host, i, (size_t)prompt, evs + have);
    n = (long)have;

    long rss_before = vm_kb("VmRSS");
    uint64_t t0 = now_us(), worst = 0, last_flush = t0, max_queued = 0;
    for (long i = 0; i < n; i++) {
        uint64_t a = now_us();
        sink_set_emit(ss, evs[i]);
        uint64_t d = now_us() - a;
        worst = d > worst ? d : worst;
        if (a - last_flush >= 100000) {
            sink_set_flush(ss);
            last_flush = a;
            for (size_t k = 0; k < sink_set_count(ss); k++) {
                const char *nm, *kd;
                sink_stats st;
                sink_set_get_stats(ss, k, &nm, &kd, &st);
                max_queued = st.queued > max_queued ? st.queued : max_queued;
            }
        }
        if (rate > 0) {
            uint64_t due = t0 + (uint64_t)(i + 1) * 1000000ull / (uint64_t)rate;
            uint64_t now = now_us();
            if (due > now)
                usleep((useconds_t)(due - now));
        }
    }
    uint64_t t_emit = now_us() - t0, done_at[8] = {0};
    /* wait for every sink to catch up, noting when each one did */
    for (;;) {
        sink_set_flush(ss);
        uint64_t q = 0;
        for (size_t k = 0; k < sink_set_count(ss) && k < 8; k++) {
            const char *nm, *kd;
            sink_stats st;
            sink_set_get_stats(ss, k, &nm, &kd, &st);
            q += st.queued;
            if (!done_at[k] && st.delivered + st.dead_lettered + st.dropped >= (uint64_t)n)
                done_at[k] = now_us() - t0;
        }
        if (!q && atomic_load(&ws_frames) >= (unsigned long long)n)
            break;
        if (now_us() - t0 > 300000000ull)
            break;
        usleep(2000);
    }
    uint64_t t_all = now_us() - t0;
    (void)done_at;
    printf("events            %ld (%ld-byte prompts), rate %s\n", n, prompt, rate ? "paced" : "unpaced");
    printf("emit              %.0f events/s (%.2f s), slowest emit %llu us\n",
           (double)n * 1e6 / (double)t_emit, (double)t_emit / 1e6, (unsigned long long)worst);
    printf("end to end        %.0f events/s (%.2f s until every sink had delivered all)\n",
           (double)n * 1e6 / (double)t_all, (double)t_all / 1e6);
    for (size_t k = 0; k < sink_set_count(ss); k++) {
        const char *nm, *kd;
        sink_stats st;
        sink_set_get_stats(ss, k, &nm, &kd, &st);
        printf("  %-10s delivered %-8llu dead-lettered %-6llu dropped %-6llu retried %-4llu done at %.2f s\n",
               kd, (unsigned long long)st.delivered, (unsigned long long)st.dead_lettered,
               (unsigned long long)st.dropped, (unsigned long long)st.retried,
               k < 8 ? (double)done_at[k] / 1e6 : 0.0);
    }
    printf("  ws client  received %llu frames\n", (unsigned long long)atomic_load(&ws_frames));
    printf("largest queue     %llu events (sampled every 100 ms)\n", (unsigned long long)max_queued);
    printf("peak RSS          %.1f MiB (VmHWM), %.1f MiB before the run: the %zu prepared events, "
           "the mock Kafka cluster and the WS client\n", (double)vm_kb("VmHWM") / 1024.0,
           (double)rss_before / 1024.0, (size_t)n);
    atomic_store(&ws_stop, 1);
    sink_set_close(ss, 5000);
    pthread_join(reader, NULL);
    for (long i = 0; i < n; i++)
        json_decref(evs[i]);
    free(evs);
    json_decref(host);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    unlink(jpath);
    return 0;
}

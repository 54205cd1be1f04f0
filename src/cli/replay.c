/* replay.c: `oisp-sensor replay FILE` (see replay.h).
 *
 * The configuration is loaded the way `record` loads it (file <
 * environment < --set), and sinkconf_open() opens the same sinks the
 * sensor would write to.  The input is read line by line with bounded
 * memory; each line that is an event is parsed once and handed to the sink
 * set unchanged (same event_id, same fields), so a sink cannot tell a
 * replayed event from a live one.  Lines that are not events are skipped
 * and counted by reason.
 *
 * Pacing: as fast as the sinks' queues allow (the reader waits while any
 * sink holds more than REPLAY_QUEUE_HIGH events, so a fast replay never
 * overflows a network sink's queue into its dead-letter file), or --rate N
 * events per second, or --realtime, which keeps the gaps between the
 * events' ts.  At the end the sinks are given up to --drain ms to deliver
 * what they hold; the counters are then printed, and the exit status says
 * whether every event reached every sink. */
#include "cli/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/sensor.h"
#include "cli/sinkconf.h"
#include "config/config.h"
#include "sinks/sink.h"
#include "util/jsonfast.h"
#include "util/monotime.h"

extern char **environ;

#define REPLAY_READ_BLOCK (64u * 1024)
#define REPLAY_QUEUE_HIGH 5000   /* events a sink may hold before the reader waits */
#define REPLAY_FLUSH_NS 100000000ull
#define REPLAY_DEFAULT_DRAIN_MS 30000

/* ---- lines ---- */

struct replay_reader {
    int fd;
    size_t max;      /* longest line kept */
    char *buf;
    size_t cap;      /* allocated */
    size_t start;    /* first unreturned byte */
    size_t end;      /* bytes in buf */
    size_t lineno;
    int eof;
    int skipping;    /* inside a line longer than max: discard to its '\n' */
};

replay_reader *replay_reader_new(int fd, size_t max_line)
{
    replay_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->fd = fd;
    r->max = max_line ? max_line : 1;
    r->cap = REPLAY_READ_BLOCK;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    return r;
}

void replay_reader_free(replay_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

size_t replay_reader_lineno(const replay_reader *r) { return r->lineno; }

/* Room for one more block after the unreturned bytes, growing the buffer
 * up to one block past max.  0, or -1 if out of memory. */
static int reader_make_room(replay_reader *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end >= REPLAY_READ_BLOCK / 2)
        return 0;
    size_t ncap = r->cap * 2;
    if (ncap > r->max + REPLAY_READ_BLOCK)
        ncap = r->max + REPLAY_READ_BLOCK;
    if (ncap <= r->cap)
        return 0;
    char *nb = realloc(r->buf, ncap);
    if (!nb)
        return -1;
    r->buf = nb;
    r->cap = ncap;
    return 0;
}

static int reader_fill(replay_reader *r)
{
    if (reader_make_room(r) != 0) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n > 0) {
            r->end += (size_t)n;
            return 0;
        }
        if (n == 0) {
            r->eof = 1;
            return 0;
        }
        if (errno != EINTR)
            return -1;
    }
}

static int reader_emit(replay_reader *r, size_t from, size_t len, const char **line, size_t *out)
{
    if (len > 0 && r->buf[from + len - 1] == '\r')
        len--;
    *line = r->buf + from;
    *out = len;
    r->lineno++;
    return 1;
}

int replay_reader_next(replay_reader *r, const char **line, size_t *len, int *too_long)
{
    *too_long = 0;
    *line = NULL;
    *len = 0;
    for (;;) {
        size_t avail = r->end - r->start;
        char *nl = avail ? memchr(r->buf + r->start, '\n', avail) : NULL;
        if (nl) {
            size_t from = r->start, n = (size_t)(nl - (r->buf + from));
            r->start = from + n + 1;
            if (r->skipping || n > r->max) {
                r->skipping = 0;
                *too_long = 1;
                r->lineno++;
                return 1;
            }
            return reader_emit(r, from, n, line, len);
        }
        if (r->skipping || avail > r->max) { /* no '\n' yet and already too long */
            r->skipping = 1;
            r->start = r->end = 0;
            avail = 0;
        }
        if (r->eof) {
            if (r->skipping) {
                r->skipping = 0;
                *too_long = 1;
                r->lineno++;
                return 1;
            }
            if (avail == 0)
                return 0;
            size_t from = r->start;
            r->start = r->end;
            return reader_emit(r, from, avail, line, len);
        }
        if (reader_fill(r) != 0)
            return -1;
    }
}

replay_line_kind replay_parse_line(const char *line, size_t len, json_t **ev)
{
    *ev = NULL;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
        i++;
    if (i == len)
        return REPLAY_LINE_BLANK;
    json_t *j = jsonfast_loadb(line, len, 0, NULL);
    if (!j)
        return REPLAY_LINE_NOT_JSON;
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "event_type")) ||
        !json_is_string(json_object_get(j, "event_id"))) {
        json_decref(j);
        return REPLAY_LINE_NOT_EVENT;
    }
    *ev = j;
    return REPLAY_LINE_EVENT;
}

/* n decimal digits at s into *v; 0 or -1. */
static int digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int replay_parse_ts(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, sec;
    if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 6)
                frac = frac * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0)
            return -1;
        for (; nd < 6; nd++)
            frac *= 10;
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off_s = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_s;
    *us = secs * 1000000 + frac;
    return 0;
}

/* ---- pacing ---- */

void replay_pacer_init(replay_pacer *p, replay_mode mode, double rate)
{
    memset(p, 0, sizeof(*p));
    p->mode = mode;
    p->rate = rate;
}

uint64_t replay_pacer_due(replay_pacer *p, uint64_t now_ns, int has_ts, int64_t ts_us)
{
    if (!p->started) {
        p->started = 1;
        p->start_ns = now_ns;
        p->last_due_ns = now_ns;
    }
    uint64_t due = p->last_due_ns;
    switch (p->mode) {
    case REPLAY_FAST:
        due = now_ns;
        break;
    case REPLAY_RATE:
        due = p->start_ns + (uint64_t)((double)p->sent * 1e9 / p->rate);
        break;
    case REPLAY_REALTIME:
        if (!has_ts)
            break;
        if (!p->have_first) {
            p->have_first = 1;
            p->first_ts_us = ts_us;
        }
        if (ts_us > p->first_ts_us) {
            uint64_t delta_ns = (uint64_t)(ts_us - p->first_ts_us) * 1000u;
            due = p->start_ns + delta_ns;
        }
        break;
    }
    if (due < p->last_due_ns)
        due = p->last_due_ns;
    p->last_due_ns = due;
    p->sent++;
    return due;
}

/* ---- safety ---- */

int replay_same_file(int in_fd, const char *out_path)
{
    struct stat in, out;
    if (fstat(in_fd, &in) != 0)
        return -1;
    int r = strcmp(out_path, "-") == 0 ? fstat(STDOUT_FILENO, &out) : stat(out_path, &out);
    if (r != 0)
        return 0;
    return in.st_dev == out.st_dev && in.st_ino == out.st_ino;
}

/* ---- the command ---- */

typedef struct replay_opts {
    sensor_args args;   /* --config and the --set settings, as `record` keeps them */
    const char *file;
    replay_mode mode;
    double rate;
    int wait_ms;        /* before the first event */
    int drain_ms;
    int quiet;
} replay_opts;

typedef struct replay_counts {
    uint64_t lines, events, sent, not_json, not_event, too_long;
    size_t first_bad;   /* line number of the first skipped line */
} replay_counts;

static volatile sig_atomic_t replay_stop;

static void on_stop(int sig)
{
    (void)sig;
    replay_stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: oisp-sensor replay FILE [options]\n"
        "Send recorded OISP events (JSON Lines, as `record` writes them; - for stdin) to the\n"
        "sinks the configuration names: the JSONL file, the WebSocket stream of the UI, OTLP,\n"
        "Kafka, webhooks.  Events keep their event_id and every field.  Lines that are not\n"
        "events are skipped and counted.\n"
        "\n"
        "  -c, --config FILE    configuration file (default: as `record`)\n"
        "      --set KEY=VALUE  set any configuration key (repeatable), e.g.\n"
        "                       --set output.jsonl.path=copy.jsonl (\"\" for no file)\n"
        "                       --set sinks.webhook.url=http://127.0.0.1:8080/events\n"
        "                       --set sinks.websocket.listen=127.0.0.1:7778\n"
        "      --rate N         send N events per second (default: as fast as the sinks take\n"
        "                       them)\n"
        "      --realtime       keep the time between events (from their ts)\n"
        "      --wait MS        wait MS before the first event, e.g. for the UI to connect to\n"
        "                       the WebSocket sink (which only sends to clients connected)\n"
        "      --drain MS       time the sinks get to deliver at the end (default %d)\n"
        "  -q, --quiet          print only the counters\n"
        "  -h, --help           this help\n"
        "\n"
        "The JSONL output is the configured one (output.jsonl.path, default events.jsonl);\n"
        "replaying a file into itself is refused.  Exit status: 0 when every sink took every\n"
        "event, 1 when a sink dropped or dead-lettered events, 2 on a usage error.\n",
        REPLAY_DEFAULT_DRAIN_MS);
}

/* --set KEY=VALUE: the key is copied into keys[] (lives as long as o). */
static int add_set(replay_opts *o, char keys[][256], const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || (size_t)(eq - kv) >= 256) {
        fprintf(stderr, "oisp-sensor replay: --set %s: expected KEY=VALUE\n", kv);
        return -1;
    }
    if (o->args.nsettings == SENSOR_MAX_SETTINGS) {
        fprintf(stderr, "oisp-sensor replay: too many --set options\n");
        return -1;
    }
    char *k = keys[o->args.nsettings];
    memcpy(k, kv, (size_t)(eq - kv));
    k[eq - kv] = 0;
    o->args.settings[o->args.nsettings++] = (sensor_setting){"--set", k, eq + 1};
    return 0;
}

static int parse_positive(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0)
        return -1;
    *out = v;
    return 0;
}

/* Returns -1 to run, else the exit status. */
static int parse_args(int argc, char **argv, replay_opts *o, char keys[][256])
{
    enum { OPT_SET = 1000, OPT_RATE, OPT_REALTIME, OPT_DRAIN, OPT_WAIT };
    static const struct option longopts[] = {
        {"config", required_argument, 0, 'c'}, {"set", required_argument, 0, OPT_SET},
        {"rate", required_argument, 0, OPT_RATE}, {"realtime", no_argument, 0, OPT_REALTIME},
        {"drain", required_argument, 0, OPT_DRAIN}, {"wait", required_argument, 0, OPT_WAIT},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    int ch, rate_given = 0;
    double d;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->args.config_path = optarg; break;
        case OPT_SET:
            if (add_set(o, keys, optarg))
                return 2;
            break;
        case OPT_RATE:
            if (parse_positive(optarg, &o->rate)) {
                fprintf(stderr, "oisp-sensor replay: --rate %s: expected a number of events per "
                                "second above 0\n", optarg);
                return 2;
            }
            rate_given = 1;
            o->mode = REPLAY_RATE;
            break;
        case OPT_REALTIME: o->mode = REPLAY_REALTIME; break;
        case OPT_DRAIN:
            if (parse_positive(optarg, &d) || d > 3600000) {
                fprintf(stderr, "oisp-sensor replay: --drain %s: expected milliseconds\n", optarg);
                return 2;
            }
            o->drain_ms = (int)d;
            break;
        case OPT_WAIT:
            if (parse_positive(optarg, &d) || d > 3600000) {
                fprintf(stderr, "oisp-sensor replay: --wait %s: expected milliseconds\n", optarg);
                return 2;
            }
            o->wait_ms = (int)d;
            break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (rate_given && o->mode == REPLAY_REALTIME) {
        fprintf(stderr, "oisp-sensor replay: --rate and --realtime exclude each other\n");
        return 2;
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    o->file = argv[optind];
    return -1;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    nanosleep(&ts, NULL); /* a signal cuts it short: the caller looks at replay_stop */
}

/* The most events any one sink holds now. */
static uint64_t max_queued(sink_set *ss)
{
    uint64_t q = 0;
    for (size_t i = 0; i < sink_set_count(ss); i++) {
        const char *n, *k;
        sink_stats st;
        sink_set_get_stats(ss, i, &n, &k, &st);
        if (st.queued > q)
            q = st.queued;
    }
    return q;
}

/* Waits until due_ns, flushing the sinks every 100 ms meanwhile. */
static void wait_until(sink_set *ss, uint64_t due_ns)
{
    for (uint64_t now = mono_ns(); now < due_ns && !replay_stop; now = mono_ns()) {
        uint64_t left = due_ns - now;
        sleep_ns(left < REPLAY_FLUSH_NS ? left : REPLAY_FLUSH_NS);
        if (left >= REPLAY_FLUSH_NS)
            sink_set_flush(ss);
    }
}

/* Holds the reader while a sink's queue is high; gives up waiting after
 * stall_ms without progress (then the sink's own overflow rules apply). */
static void wait_for_room(sink_set *ss, int stall_ms)
{
    uint64_t q = max_queued(ss), since = mono_ns();
    while (q >= REPLAY_QUEUE_HIGH && !replay_stop) {
        sink_set_flush(ss);
        sleep_ns(5000000);
        uint64_t nq = max_queued(ss);
        if (nq < q)
            since = mono_ns();
        else if (mono_ns() - since > (uint64_t)stall_ms * 1000000ull)
            return;
        q = nq;
    }
}

static void count_skip(replay_counts *c, uint64_t *counter, size_t lineno)
{
    (*counter)++;
    if (!c->first_bad)
        c->first_bad = lineno;
}

static int feed(replay_reader *r, sink_set *ss, const replay_opts *o, replay_counts *c)
{
    replay_pacer p;
    replay_pacer_init(&p, o->mode, o->rate);
    uint64_t last_flush = mono_ns();
    const char *line;
    size_t len;
    int too_long, rc = 0;
    while (!replay_stop && (rc = replay_reader_next(r, &line, &len, &too_long)) == 1) {
        size_t lineno = replay_reader_lineno(r);
        c->lines++;
        if (too_long) {
            count_skip(c, &c->too_long, lineno);
            continue;
        }
        json_t *ev;
        switch (replay_parse_line(line, len, &ev)) {
        case REPLAY_LINE_BLANK: c->lines--; continue;
        case REPLAY_LINE_NOT_JSON: count_skip(c, &c->not_json, lineno); continue;
        case REPLAY_LINE_NOT_EVENT: count_skip(c, &c->not_event, lineno); continue;
        case REPLAY_LINE_EVENT: break;
        }
        c->events++;
        int64_t ts_us = 0;
        int has_ts = replay_parse_ts(json_string_value(json_object_get(ev, "ts")), &ts_us) == 0;
        wait_until(ss, replay_pacer_due(&p, mono_ns(), has_ts, ts_us));
        if (c->sent % 64 == 0)
            wait_for_room(ss, o->drain_ms);
        if (!replay_stop) {
            sink_set_emit(ss, ev);
            c->sent++;
        }
        json_decref(ev);
        uint64_t now = mono_ns();
        if (now - last_flush >= REPLAY_FLUSH_NS) {
            sink_set_flush(ss);
            last_flush = now;
        }
    }
    return replay_stop ? 0 : rc;
}

/* Gives the sinks up to drain_ms to empty their queues. */
static void drain(sink_set *ss, int drain_ms)
{
    uint64_t until = mono_ns() + (uint64_t)drain_ms * 1000000ull;
    sink_set_flush(ss);
    while (max_queued(ss) > 0 && mono_ns() < until) {
        sleep_ns(10000000);
        sink_set_flush(ss);
    }
}

/* Prints the counters; returns the number of events some sink did not
 * deliver (dropped, dead-lettered, or still queued after the drain). */
static uint64_t report(sink_set *ss, const replay_opts *o, const replay_counts *c)
{
    fprintf(stderr, "oisp-sensor replay: %s: %llu event(s) read, %llu sent, %llu line(s) skipped "
                    "(%llu not JSON, %llu not an event, %llu over %u MiB)",
            o->file, (unsigned long long)c->events, (unsigned long long)c->sent,
            (unsigned long long)(c->not_json + c->not_event + c->too_long),
            (unsigned long long)c->not_json, (unsigned long long)c->not_event,
            (unsigned long long)c->too_long, REPLAY_MAX_LINE >> 20);
    if (c->first_bad)
        fprintf(stderr, "; first skipped: line %zu", c->first_bad);
    fputc('\n', stderr);
    uint64_t lost = 0;
    for (size_t i = 0; i < sink_set_count(ss); i++) {
        const char *name, *kind;
        sink_stats st;
        sink_set_get_stats(ss, i, &name, &kind, &st);
        fprintf(stderr, "oisp-sensor replay: sink %s submitted=%llu delivered=%llu retried=%llu "
                        "failed=%llu dead_lettered=%llu dropped=%llu queued=%llu\n",
                name, (unsigned long long)st.submitted, (unsigned long long)st.delivered,
                (unsigned long long)st.retried, (unsigned long long)st.failed,
                (unsigned long long)st.dead_lettered, (unsigned long long)st.dropped,
                (unsigned long long)st.queued);
        if (strcmp(kind, "websocket") == 0 && st.delivered < st.submitted)
            fprintf(stderr, "oisp-sensor replay: sink %s: an event reaches only the clients "
                            "connected when it is sent: connect the UI during --wait MS, or pace "
                            "the replay with --rate or --realtime\n", name);
        if (st.queued)
            fprintf(stderr, "oisp-sensor replay: sink %s: %llu event(s) not delivered within "
                            "--drain %d ms go to its dead-letter file\n",
                    name, (unsigned long long)st.queued, o->drain_ms);
        lost += st.dropped + st.dead_lettered + st.queued;
    }
    return lost;
}

static int open_input(const char *file)
{
    if (strcmp(file, "-") == 0)
        return dup(STDIN_FILENO);
    return open(file, O_RDONLY | O_CLOEXEC);
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_stop; /* no SA_RESTART: sleeps and reads return */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int cmd_replay(int argc, char **argv)
{
    static char keys[SENSOR_MAX_SETTINGS][256];
    replay_opts o = {.args = {.control_path = "", .environ = environ},
                     .mode = REPLAY_FAST, .drain_ms = REPLAY_DEFAULT_DRAIN_MS};
    int rc = parse_args(argc, argv, &o, keys);
    if (rc >= 0)
        return rc;
    int fd = open_input(o.file);
    if (fd < 0) {
        fprintf(stderr, "oisp-sensor replay: %s: %s\n", o.file, strerror(errno));
        return 2;
    }
    char err[4096];
    config cfg;
    if (sensor_load_config(&o.args, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "oisp-sensor replay: %s\n", err);
        close(fd);
        return 2;
    }
    const char *out = cfg.jsonl.path;
    if (out && *out && replay_same_file(fd, out) == 1) {
        fprintf(stderr, "oisp-sensor replay: %s is also the JSONL output (output.jsonl.path); "
                        "replaying it into itself would never end: choose another with "
                        "--set output.jsonl.path=FILE, or \"\" for none\n", o.file);
        config_free(&cfg);
        close(fd);
        return 2;
    }
    sink_set *ss = sinkconf_open(&cfg, err, sizeof(err));
    if (!ss || sink_set_count(ss) == 0) {
        fprintf(stderr, "oisp-sensor replay: %s\n", ss ? "the configuration names no sink" : err);
        sink_set_close(ss, 0);
        config_free(&cfg);
        close(fd);
        return 2;
    }
    if (!o.quiet)
        fprintf(stderr, "oisp-sensor replay: %s -> %zu sink%s%s%s\n", o.file, sink_set_count(ss),
                sink_set_count(ss) == 1 ? "" : "s", out && *out ? ", writing " : "",
                out && *out ? out : "");
    replay_stop = 0;
    install_signals();
    if (o.wait_ms > 0) {
        if (!o.quiet)
            fprintf(stderr, "oisp-sensor replay: waiting %d ms before the first event\n",
                    o.wait_ms);
        wait_until(ss, mono_ns() + (uint64_t)o.wait_ms * 1000000ull);
    }
    replay_reader *r = replay_reader_new(fd, REPLAY_MAX_LINE);
    replay_counts c = {0};
    int read_rc = r ? feed(r, ss, &o, &c) : -1;
    if (read_rc < 0)
        fprintf(stderr, "oisp-sensor replay: %s: %s\n", o.file,
                r ? strerror(errno) : "out of memory");
    if (replay_stop && !o.quiet)
        fprintf(stderr, "oisp-sensor replay: interrupted: draining what was sent\n");
    drain(ss, o.drain_ms);
    uint64_t lost = report(ss, &o, &c);
    sink_set_close(ss, 0); /* queues are empty, or what is left is dead-lettered */
    replay_reader_free(r);
    config_free(&cfg);
    close(fd);
    return lost || read_rc < 0 ? 1 : 0;
}

/* sensor.c: the running sensor (see sensor.h).
 *
 * One thread owns the event loop: it polls the capture ring (TLS records
 * and host activity records share it), feeds the pipeline, flushes the
 * sinks, expires idle state and samples host metrics.  Other threads only
 * produce events into the pipeline (file monitor) or read counters
 * (control socket, Prometheus endpoint).
 *
 * SIGHUP reloads the configuration: the file and environment are read
 * again and the command-line settings re-applied.  An invalid result keeps
 * the running configuration.  A valid one swaps in new sinks (the old ones
 * drain first, so no event is lost or written twice), new capture filters
 * and the inbound setting; settings fixed at start (ring size, capture
 * cap, host scope, endpoints, file monitor) are reported as needing a
 * restart. */
#include "cli/sensor.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/hostcap.h"
#include "cli/control.h"
#include "cli/sinkconf.h"
#include "config/config.h"
#include "events/clock.h"
#include "util/monotime.h"
#include "events/event.h"
#include "events/pipeline.h"
#include "events/redact.h"
#include "host/fanmon.h"
#include "host/metrics.h"
#include "host/promhttp.h"
#include "stream/conn.h"
#include "util/log.h"
#include "util/memtrim.h"

#define POLL_MS 20
#define FLUSH_NS 100000000ull
#define TICK_NS 1000000000ull
#define DRAIN_MS 5000
#define MAX_IDS 1024

typedef struct sensor {
    const sensor_args *args;
    config cfg;
    capture *cap;
    hostcap *host;
    pipeline *pipe;
    sink_set *sinks;
    control *ctl;
    fanmon *fan;
    metrics_sampler *ms;
    json_t *host_block;
    int prom_on;
    uint64_t started;
    uint64_t reloads, reload_errors;
} sensor;

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

#define say(s, ...) log_msg(LOG_LVL_INFO, __VA_ARGS__)

/* ---- configuration ---- */

int sensor_load_config(const sensor_args *a, config *out, char *err, size_t errlen)
{
    config c;
    if (config_load(&c, a->config_path, a->environ, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < a->nsettings; i++)
        if (config_set_flag_as(&c, a->settings[i].flag, a->settings[i].key, a->settings[i].value,
                               err, errlen) != 0) {
            config_free(&c);
            return -1;
        }
    if (config_validate(&c, err, errlen) != 0) {
        config_free(&c);
        return -1;
    }
    *out = c;
    return 0;
}

/* int64 pids from the config as the uint32 the BPF side keys on */
static size_t pid_list(const config *c, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < c->capture.pids.n && n < MAX_IDS; i++)
        out[n++] = (uint32_t)c->capture.pids.v[i];
    return n;
}

/* ---- capture and host activity ---- */

static void on_record(void *ctx, const struct oisp_rec *r)
{
    sensor *s = ctx;
    switch (r->kind) {
    case TLS_REC_DATA:
        pipeline_data(s->pipe, r->tgid, r->tid, r->ssl, r->dir == TLS_DIR_READ ? PIPE_READ : PIPE_WRITE,
                      r->offset, r->data, r->len, (r->flags & TLS_REC_F_LAST) ? r->lost : 0, r->ts);
        break;
    case TLS_REC_CLOSE: pipeline_close(s->pipe, r->tgid, r->ssl, r->ts); break;
    case TLS_REC_EXIT:
        hostcap_forget(s->host, r->tgid);
        pipeline_exit(s->pipe, r->tgid, r->ts);
        break;
    case TLS_REC_EXEC: pipeline_exec(s->pipe, r->tgid, r->ts); break;
    }
}

static void on_host(void *ctx, const struct host_rec *r, size_t size)
{
    pipeline_host(((sensor *)ctx)->pipe, r, size);
}

static void on_log(void *ctx, int level, const char *msg)
{
    sensor *s = ctx;
    (void)s;
    log_msg(level == CAPTURE_LOG_WARN ? LOG_LVL_WARN : LOG_LVL_DEBUG, "%s", msg);
}

static void on_ai_process(void *ctx, uint32_t pid) { hostcap_track(((sensor *)ctx)->host, pid); }

static int quiet_libbpf(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
    return lvl == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int verbose_libbpf(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
    (void)lvl;
    return vfprintf(stderr, fmt, ap);
}

static int open_capture(sensor *s, char *err, size_t errlen)
{
    const config_capture *cc = &s->cfg.capture;
    uint32_t pids[MAX_IDS];
    size_t npids = pid_list(&s->cfg, pids);
    const char *files[2 * MAX_IDS];
    size_t nfiles = 0;
    for (size_t i = 0; i < cc->binaries.n && nfiles < 2 * MAX_IDS; i++)
        files[nfiles++] = cc->binaries.v[i];
    for (size_t i = 0; i < cc->libraries.n && nfiles < 2 * MAX_IDS; i++)
        files[nfiles++] = cc->libraries.v[i];
    capture_opts co = {.max_capture = cc->max_capture, .ring_bytes = cc->ring_size,
                       .queue_bytes = cc->queue_size, .pids = pids,
                       .npids = npids, .comms = (const char *const *)cc->comms.v,
                       .ncomms = cc->comms.n, .binaries = files, .nbinaries = nfiles};
    capture_handler h = {.ctx = s, .on_record = on_record, .on_host = on_host, .on_log = on_log};
    s->cap = capture_open(&co, &h, err, errlen);
    if (!s->cap)
        return -1;
    if (!s->cfg.correlation.enabled)
        return 0;
    hostcap_opts ho = {.all_processes = s->cfg.correlation.all_processes, .pids = pids,
                       .npids = npids, .comms = (const char *const *)cc->comms.v,
                       .ncomms = cc->comms.n, .cgroups = (const char *const *)cc->cgroups.v,
                       .ncgroups = cc->cgroups.n};
    s->host = hostcap_open(capture_ring_fd(s->cap), &ho, err, errlen);
    return s->host ? 0 : -1;
}

/* ---- redaction ---- */

static redactor *make_redactor(const config *c, char *err, size_t errlen)
{
    size_t n = c->redaction.patterns.n;
    redact_pattern *pv = calloc(n + 1, sizeof(*pv));
    if (!pv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        pv[i] = (redact_pattern){c->redaction.patterns.v[i].name, c->redaction.patterns.v[i].regex};
    redact_opts o = {.mode = (redact_mode)c->redaction.mode, .patterns = pv, .npatterns = n};
    redactor *r = redact_new(&o, err, errlen);
    free(pv);
    return r;
}

/* ---- file monitor ---- */

static void on_fan_event(json_t *ev, void *ctx)
{
    json_incref(ev);
    pipeline_emit(((sensor *)ctx)->pipe, ev);
}

static int open_fanotify(sensor *s, char *err, size_t errlen)
{
    const config_fanotify *f = &s->cfg.host.fanotify;
    if (f->mode == CONFIG_FANOTIFY_OFF)
        return 0;
    fanmon_rule rules[256];
    size_t n = 0;
    for (int deny = 0; deny < 2; deny++) {
        const config_rules *l = deny ? &f->deny : &f->allow;
        for (size_t i = 0; i < l->n && n < 256; i++)
            rules[n++] = (fanmon_rule){deny, l->v[i].kind == CONFIG_RULE_PREFIX ? FANMON_RULE_PREFIX
                                             : l->v[i].kind == CONFIG_RULE_EXE  ? FANMON_RULE_EXE
                                                                                 : FANMON_RULE_HASH,
                                       l->v[i].value};
    }
    static const fanmon_mode modes[] = {FANMON_PASSIVE, FANMON_PASSIVE, FANMON_PERMISSIVE,
                                        FANMON_ENFORCING};
    fanmon_config fc = {.mode = modes[f->mode], .paths = (const char *const *)f->paths.v,
                        .npaths = f->paths.n, .filesystem_marks = f->mark == CONFIG_MARK_FILESYSTEM,
                        .rules = rules, .nrules = n, .events = f->events, .cb = on_fan_event,
                        .ctx = s, .host = s->host_block};
    s->fan = fanmon_start(&fc, err, errlen);
    return s->fan ? 0 : -1;
}

/* ---- status: the control socket and the Prometheus endpoint ---- */

static json_t *drops_json(sensor *s)
{
    uint64_t k[TLS_CNT_MAX], hk[HOST_CNT_MAX];
    capture_read_counters(s->cap, k);
    hostcap_read_counters(s->host, hk);
    pipeline_stats ps;
    pipeline_get_stats(s->pipe, &ps);
    conn_table_stats cs;
    conn_table_get_stats(pipeline_conns(s->pipe), &cs);
    capture_queue q;
    capture_queue_stats(s->cap, &q);
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
        "ring_full_records", (json_int_t)k[TLS_CNT_DROP_RING],
        "ring_full_bytes", (json_int_t)k[TLS_CNT_DROP_RING_BYTES],
        "oversize_records", (json_int_t)q.oversize_records,
        "args_map_full", (json_int_t)k[TLS_CNT_DROP_ACTIVE_MAP],
        "user_read_failed", (json_int_t)k[TLS_CNT_DROP_READ],
        "over_cap_calls", (json_int_t)k[TLS_CNT_OVER_CAP_CALLS],
        "over_cap_bytes", (json_int_t)k[TLS_CNT_OVER_CAP_BYTES],
        "offset_map_full", (json_int_t)k[TLS_CNT_DROP_OFFSET_MAP],
        "control_records", (json_int_t)k[TLS_CNT_DROP_CTRL],
        "host_ring_full", (json_int_t)hk[HOST_CNT_DROP_RING],
        "host_rate_shed", (json_int_t)hk[HOST_CNT_SHED],
        "write_tallies_lost", (json_int_t)hk[HOST_CNT_WRITES_EVICTED],
        "stream_gaps", (json_int_t)cs.gaps,
        "http_parse_errors", (json_int_t)cs.parse_errors,
        "requests_without_response", (json_int_t)ps.requests_no_response,
        "responses_without_request", (json_int_t)ps.responses_no_request,
        "redaction_failures", (json_int_t)ps.redact_failures,
        "dns_replies_unmatched", (json_int_t)ps.dns_unmatched,
        "dns_malformed", (json_int_t)ps.dns_malformed);
}

static json_t *capture_json(sensor *s)
{
    uint64_t k[TLS_CNT_MAX], hk[HOST_CNT_MAX];
    capture_read_counters(s->cap, k);
    hostcap_read_counters(s->host, hk);
    pipeline_stats ps;
    pipeline_get_stats(s->pipe, &ps);
    conn_table_stats cs;
    conn_table_get_stats(pipeline_conns(s->pipe), &cs);
    capture_queue q;
    capture_queue_stats(s->cap, &q);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                     "ssl_calls", (json_int_t)k[TLS_CNT_CALLS], "bytes", (json_int_t)k[TLS_CNT_BYTES],
                     "queue_bytes", (json_int_t)q.queued_bytes,
                     "queue_peak_bytes", (json_int_t)q.peak_bytes,
                     "connections_open", (json_int_t)cs.conns_open,
                     "http_requests", (json_int_t)cs.requests, "http_responses", (json_int_t)cs.responses,
                     "non_ai_requests", (json_int_t)ps.non_ai_requests,
                     "inbound_skipped", (json_int_t)ps.inbound_skipped,
                     "host_records", (json_int_t)hk[HOST_CNT_EVENTS],
                     "host_events", (json_int_t)ps.host_events,
                     "host_malformed", (json_int_t)ps.host_malformed,
                     "tool_calls", (json_int_t)ps.tool_calls, "tool_results", (json_int_t)ps.tool_results,
                     "dns_queries", (json_int_t)ps.dns_queries,
                     "dns_unanswered", (json_int_t)ps.dns_unanswered);
}

static void self_usage(uint64_t *rss_kb, double *cpu_s)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    unsigned long ut = 0, st = 0;
    long rss = 0;
    if (f && fgets(buf, sizeof(buf), f)) {
        char *p = strrchr(buf, ')');
        if (p)
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                          "%*d %*u %*u %ld", &ut, &st, &rss);
    }
    if (f)
        fclose(f);
    *rss_kb = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
    *cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static json_t *status_json(sensor *s, int with_pids)
{
    uint64_t rss;
    double cpu;
    self_usage(&rss, &cpu);
    json_t *sst = sink_set_status(s->sinks);
    json_t *sinks = json_object_get(sst, "sinks");
    json_t *st = json_pack("{s:{s:s,s:i,s:I,s:I,s:f,s:s?,s:I,s:I},s:o,s:o,s:o,s:O,s:o}",
        "sensor", "version", OISP_SENSOR_VERSION, "pid", (int)getpid(),
        "uptime_s", (json_int_t)((mono_ns() - s->started) / 1000000000ull),
        "rss_kb", (json_int_t)rss, "cpu_s", cpu, "config", s->cfg.path,
        "reloads", (json_int_t)s->reloads, "reload_errors", (json_int_t)s->reload_errors,
        "events", pipeline_event_counts(s->pipe), "capture", capture_json(s), "drops", drops_json(s),
        "sinks", sinks ? sinks : json_array(),
        "targets", targets_to_json(capture_targets(s->cap), with_pids));
    json_decref(sst);
    if (s->fan)
        json_object_set_new(st, "fanotify", fanmon_counters_json(s->fan));
    return st;
}

static json_t *control_status(void *ctx) { return status_json(ctx, 1); }

static int render_metrics(metrics_buf *out, void *ctx)
{
    sensor *s = ctx;
    const metrics_snapshot *m = NULL;
    /* a fresh host sample per scrape: the sampler is used by this thread only */
    if (s->ms && metrics_sampler_sample(s->ms, mono_ns(), &m) == 0 && m)
        metrics_prometheus(m, out);
    metrics_prometheus_self(out);
    json_t *st = status_json(s, 0);
    metrics_prometheus_json(out, "oisp_sensor_events", json_object_get(st, "events"),
                            "events written, by type");
    metrics_prometheus_json(out, "oisp_sensor_capture", json_object_get(st, "capture"),
                            "TLS capture counters");
    metrics_prometheus_json(out, "oisp_sensor_drops", json_object_get(st, "drops"),
                            "records and events lost, by cause");
    size_t i;
    json_t *sk;
    json_array_foreach(json_object_get(st, "sinks"), i, sk) {
        char prefix[96];
        snprintf(prefix, sizeof(prefix), "oisp_sensor_sink_%s_%zu",
                 json_string_value(json_object_get(sk, "kind")), i);
        json_t *nums = json_deep_copy(sk);
        json_object_del(nums, "name");
        json_object_del(nums, "kind");
        metrics_prometheus_json(out, prefix, nums, json_string_value(json_object_get(sk, "name")));
        json_decref(nums);
    }
    json_decref(st);
    return 0;
}

/* The endpoints are conveniences: one that cannot open (a second sensor
 * holds the socket or the port) is reported and the sensor runs without
 * it.  A bad address is a configuration error. */
static int open_endpoints(sensor *s, char *err, size_t errlen)
{
    if (s->args->control_path && *s->args->control_path) {
        s->ctl = control_start(s->args->control_path, control_status, s, err, errlen);
        if (!s->ctl)
            log_msg(LOG_LVL_WARN, "no control socket: %s", err);
    }
    const char *listen = s->cfg.metrics.listen;
    if (!listen || !*listen)
        return 0;
    char addr[64];
    int port;
    if (promhttp_parse_listen(listen, addr, sizeof(addr), &port) != 0) {
        snprintf(err, errlen, "metrics.listen %s: expected HOST:PORT", listen);
        return -1;
    }
    s->ms = metrics_sampler_new("/");
    if (promhttp_start(addr, port, s->cfg.metrics.token, render_metrics, s) != 0) {
        log_msg(LOG_LVL_WARN, "no metrics endpoint on %s: %s", listen, promhttp_error());
        return 0;
    }
    s->prom_on = 1;
    return 0;
}

/* ---- reload ---- */

static int same_str(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

static void note_restart_needed(const sensor *s, const config *n)
{
    const config *o = &s->cfg;
    const char *keys[8];
    size_t k = 0;
    if (o->capture.max_capture != n->capture.max_capture)
        keys[k++] = "capture.max_capture";
    if (o->capture.ring_size != n->capture.ring_size)
        keys[k++] = "capture.ring_size";
    if (o->capture.queue_size != n->capture.queue_size)
        keys[k++] = "capture.queue_size";
    if (o->capture.nice != n->capture.nice)
        keys[k++] = "capture.nice";
    if (o->correlation.enabled != n->correlation.enabled ||
        o->correlation.all_processes != n->correlation.all_processes)
        keys[k++] = "correlation";
    if (!same_str(o->metrics.listen, n->metrics.listen))
        keys[k++] = "metrics.listen";
    if (o->host.fanotify.mode != n->host.fanotify.mode)
        keys[k++] = "host.fanotify";
    for (size_t i = 0; i < k; i++)
        log_msg(LOG_LVL_WARN, "reload: %s changed; it takes effect at the next start", keys[i]);
}

static void reload(sensor *s)
{
    char err[4096];
    config n;
    if (sensor_load_config(s->args, &n, err, sizeof(err)) != 0) {
        s->reload_errors++;
        log_msg(LOG_LVL_ERR, "reload failed, keeping the running configuration:\n%s", err);
        return;
    }
    redactor *nr = make_redactor(&n, err, sizeof(err));
    sink_set *ns = nr ? sinkconf_open(&n, err, sizeof(err)) : NULL;
    if (!ns) {
        redact_free(nr);
        s->reload_errors++;
        log_msg(LOG_LVL_ERR, "reload failed, keeping the running configuration: %s", err);
        config_free(&n);
        return;
    }
    uint32_t pids[MAX_IDS];
    size_t npids = pid_list(&n, pids);
    if (capture_set_filters(s->cap, pids, npids, (const char *const *)n.capture.comms.v,
                            n.capture.comms.n, err, sizeof(err)) != 0)
        log_msg(LOG_LVL_ERR, "reload: %s", err);
    for (size_t i = 0; i < npids; i++)
        hostcap_track(s->host, pids[i]);
    pipeline_set_inbound(s->pipe, n.capture.inbound);
    note_restart_needed(s, &n);
    redact_free(pipeline_swap_redactor(s->pipe, nr));
    sink_set *old = pipeline_swap_sinks(s->pipe, ns);
    sink_set_close(old, DRAIN_MS); /* everything it holds is delivered or dead-lettered */
    s->sinks = ns;
    config_free(&s->cfg);
    s->cfg = n;
    s->reloads++;
    say(s, "configuration reloaded (%zu sink%s)", sink_set_count(ns), sink_set_count(ns) == 1 ? "" : "s");
}

/* ---- the loop ---- */

static void print_ready(const sensor *s)
{
    const targets *t = capture_targets(s->cap);
    size_t n = targets_count(t), slow = 0;
    for (size_t i = 0; i < n; i++)
        slow += targets_get(t, i)->plan.slow;
    if (s->args->quiet) {
        fprintf(stderr, "oisp-sensor: ready\n");
        return;
    }
    const char *out = s->cfg.jsonl.path;
    fprintf(stderr, "oisp-sensor: ready: %zu TLS file%s probed, writing %s, %zu sink%s%s%s\n", n,
            n == 1 ? "" : "s", out && *out ? out : "(no file)", sink_set_count(s->sinks),
            sink_set_count(s->sinks) == 1 ? "" : "s", s->prom_on ? ", metrics on " : "",
            s->prom_on ? s->cfg.metrics.listen : "");
    for (size_t i = 0; i < n && s->args->verbose; i++) {
        const target *tg = targets_get(t, i);
        for (size_t j = 0; j < tg->plan.n; j++)
            fprintf(stderr, "oisp-sensor:   %s: %s at +0x%llx%s\n", tg->path, tg->plan.sites[j].what,
                    (unsigned long long)tg->plan.sites[j].file_offset,
                    tg->plan.sites[j].emulated ? "" : " (single-stepped: slow)");
    }
    if (slow)
        fprintf(stderr, "oisp-sensor: warning: %zu probe site(s) are single-stepped by the kernel "
                        "(~18 us per call); see -v\n", slow);
}

static void print_stats(sensor *s)
{
    json_t *st = status_json(s, 0);
    const char *sections[] = {"events", "capture", "drops"};
    const char *names[] = {"stats", "capture", "drops"};
    for (size_t i = 0; i < 3; i++) {
        fprintf(stderr, "oisp-sensor: %s", names[i]);
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(st, sections[i]), k, v)
            fprintf(stderr, " %s=%lld", k, (long long)json_integer_value(v));
        fputc('\n', stderr);
    }
    size_t i;
    json_t *sk;
    json_array_foreach(json_object_get(st, "sinks"), i, sk)
        fprintf(stderr, "oisp-sensor: sink %s submitted=%lld delivered=%lld retried=%lld failed=%lld "
                        "dead_lettered=%lld dropped=%lld queued=%lld\n",
                json_string_value(json_object_get(sk, "name")),
                (long long)json_integer_value(json_object_get(sk, "submitted")),
                (long long)json_integer_value(json_object_get(sk, "delivered")),
                (long long)json_integer_value(json_object_get(sk, "retried")),
                (long long)json_integer_value(json_object_get(sk, "failed")),
                (long long)json_integer_value(json_object_get(sk, "dead_lettered")),
                (long long)json_integer_value(json_object_get(sk, "dropped")),
                (long long)json_integer_value(json_object_get(sk, "queued")));
    json_decref(st);
}

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_stop; /* no SA_RESTART: let poll return */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void run_loop(sensor *s)
{
    uint64_t last_flush = mono_ns(), last_tick = last_flush;
    while (!stop_requested) {
        if (capture_poll(s->cap, POLL_MS) < 0 && !stop_requested)
            break;
        uint64_t now = mono_ns();
        if (now - last_flush >= FLUSH_NS) {
            sink_set_flush(s->sinks);
            last_flush = now;
        }
        if (now - last_tick >= TICK_NS) {
            clock_sync();
            pipeline_tick(s->pipe, now);
            mem_release_freed();
            last_tick = now;
        }
        if (reload_requested) {
            reload_requested = 0;
            reload(s);
        }
    }
    capture_finish(s->cap); /* what is still queued or in the ring */
    pipeline_flush(s->pipe, mono_ns());
}

static void sensor_close(sensor *s)
{
    if (s->prom_on)
        promhttp_stop();
    control_stop(s->ctl);
    fanmon_free(s->fan); /* answers every pending permission request first */
    hostcap_close(s->host);
    capture_close(s->cap);
    pipeline_free(s->pipe);
    sink_set_close(s->sinks, DRAIN_MS);
    metrics_sampler_free(s->ms);
    json_decref(s->host_block);
    config_free(&s->cfg);
}

/* Before any thread starts, so that they all inherit it: on a host whose
 * CPUs are busy, a sensor at the default priority gets only its fair share
 * and the ring buffer overflows (the load test lost a quarter of the
 * exchanges at nice 0, while the sensor needed a fifth of one CPU). */
static void set_priority(const sensor *s)
{
    int nice = (int)s->cfg.capture.nice;
    if (nice == 0 || getpriority(PRIO_PROCESS, 0) == nice)
        return;
    if (setpriority(PRIO_PROCESS, 0, nice) != 0)
        log_msg(LOG_LVL_WARN, "capture.nice = %d: %s (raising the priority needs "
                "CAP_SYS_NICE; under systemd, set Nice= in the unit)", nice, strerror(errno));
}

static int start(sensor *s, char *err, size_t errlen)
{
    if (sensor_load_config(s->args, &s->cfg, err, errlen) != 0)
        return -1;
    if (capture_check_privileges(err, errlen))
        return -1;
    set_priority(s);
    s->sinks = sinkconf_open(&s->cfg, err, errlen);
    if (!s->sinks)
        return -1;
    s->host_block = event_host_info();
    pipeline_opts po = {.inbound = s->cfg.capture.inbound, .sinks = s->sinks,
                        .on_ai_process = on_ai_process, .ctx = s};
    s->pipe = pipeline_new(&po);
    if (!s->pipe) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    redactor *r = make_redactor(&s->cfg, err, errlen);
    if (!r)
        return -1;
    pipeline_swap_redactor(s->pipe, r);
    if (open_capture(s, err, errlen) || open_fanotify(s, err, errlen) ||
        open_endpoints(s, err, errlen))
        return -1;
    return 0;
}

int sensor_run(const sensor_args *a)
{
    sensor s = {.args = a, .started = mono_ns()};
    libbpf_set_print(a->verbose ? verbose_libbpf : quiet_libbpf);
    log_set_level(a->verbose ? LOG_LVL_DEBUG : a->quiet ? LOG_LVL_WARN : LOG_LVL_INFO);
    clock_sync();
    install_signals();
    char err[4096];
    mem_startup_begin();
    int rc = start(&s, err, sizeof(err));
    mem_startup_end();
    if (rc != 0) {
        log_msg(LOG_LVL_ERR, "%s", err);
        sensor_close(&s);
        return 1;
    }
    print_ready(&s);
    run_loop(&s);
    sink_set_flush(s.sinks);
    print_stats(&s);
    sensor_close(&s);
    return 0;
}

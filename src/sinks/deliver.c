/* deliver.c: bounded queue + worker thread + batching + retries with full
 * jitter backoff + dead-lettering, for the network sinks (see deliver.h).
 *
 * Locking: one mutex guards the queue and the counters.  The worker holds
 * it only to take a batch and to count outcomes, never across send(), so
 * submit() waits at most for a few pointer moves.  The submitter wakes the
 * worker only when the queue becomes non-empty or a batch is full, not on
 * every event. */
#include "sinks/deliver.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sinks/dlq.h"
#include "util/monotime.h"

struct deliver {
    pthread_mutex_t mu;
    pthread_cond_t wake;   /* worker: work, flush or close */
    pthread_t thread;
    deliver_ops ops;
    void *ctx;
    deliver_opts o;
    dlq *dlq;

    deliver_item *head, *tail;
    size_t count, bytes;
    size_t inflight; /* events taken by the worker, not yet settled */
    int flush_requested, closing;
    uint64_t deadline_ns; /* when closing: give up sending at this time */

    deliver_item **items, **tmp; /* the worker's batch, batch_max each */
    uint8_t *res;

    sink_stats st;
    char last_error[256];
    uint64_t rng;
};

void deliver_opts_default(deliver_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->queue_max = 100000;
    o->queue_max_bytes = 256u << 20;
    o->batch_max = 1000;
    o->batch_max_bytes = 4u << 20;
    o->linger_ms = 200;
    o->max_retries = 8;
    o->backoff_base_ms = 200;
    o->backoff_max_ms = 30000;
    o->send_timeout_ms = 10000;
}

/* ---- items ---- */

static size_t slen(const char *s) { return s ? strlen(s) : 0; }

static char *put(char **p, const char *s, size_t n)
{
    char *r = *p;
    if (n)
        memcpy(r, s, n);
    r[n] = 0;
    *p += n + 1;
    return r;
}

static deliver_item *item_new(const deliver *d, const sink_event *e)
{
    size_t extra = (d->ops.extra_size + 15) & ~(size_t)15;
    size_t lt = slen(e->type), li = slen(e->event_id), ltr = slen(e->trace_id);
    size_t head = (sizeof(deliver_item) + 15) & ~(size_t)15;
    deliver_item *it = malloc(head + extra + e->len + lt + li + ltr + 4);
    if (!it)
        return NULL;
    memset(it, 0, head + extra);
    it->extra = extra ? (char *)it + head : NULL;
    char *p = (char *)it + head + extra;
    it->line = put(&p, e->line, e->len);
    it->type = put(&p, e->type, lt);
    it->event_id = put(&p, e->event_id, li);
    it->trace_id = put(&p, e->trace_id, ltr);
    it->len = e->len;
    it->pid = e->pid;
    if (d->ops.extract && e->ev) {
        d->ops.extract(e, it->extra);
    } else if (d->ops.extract) { /* a caller without the parsed event (replay) */
        json_t *ev = json_loadb(e->line, e->len, 0, NULL);
        sink_event pe = *e;
        pe.ev = ev;
        if (ev)
            d->ops.extract(&pe, it->extra);
        json_decref(ev);
    }
    return it;
}

/* ---- dead letters (caller does not hold mu) ---- */

static void dead_letter(deliver *d, deliver_item **items, size_t n)
{
    if (!n)
        return;
    const char *stack_l[64];
    size_t stack_n[64];
    const char **lines = n <= 64 ? stack_l : malloc(n * sizeof(*lines));
    size_t *lens = n <= 64 ? stack_n : malloc(n * sizeof(*lens));
    size_t ok = 0;
    char err[256] = "";
    if (lines && lens) {
        for (size_t i = 0; i < n; i++) {
            lines[i] = items[i]->line;
            lens[i] = items[i]->len;
        }
        ok = dlq_append(d->dlq, lines, lens, n, err, sizeof(err));
    } else {
        snprintf(err, sizeof(err), "out of memory");
    }
    if (lines != stack_l)
        free(lines);
    if (lens != stack_n)
        free(lens);
    pthread_mutex_lock(&d->mu);
    d->st.dead_lettered += ok;
    d->st.dropped += n - ok;
    if (ok < n)
        snprintf(d->last_error, sizeof(d->last_error), "%s", err);
    pthread_mutex_unlock(&d->mu);
}

/* ---- submit side ---- */

int deliver_submit(deliver *d, const sink_event *e)
{
    deliver_item *it = item_new(d, e);
    pthread_mutex_lock(&d->mu);
    d->st.submitted++;
    int fits = it && !d->closing && d->count < d->o.queue_max &&
               d->bytes + e->len <= d->o.queue_max_bytes;
    if (fits) {
        it->enq_ns = mono_ns();
        if (d->tail)
            d->tail->next = it;
        else
            d->head = it;
        d->tail = it;
        d->count++;
        d->bytes += e->len;
        if (d->count == 1 || d->count == d->o.batch_max)
            pthread_cond_signal(&d->wake);
    } else if (!it) {
        d->st.dropped++;
        snprintf(d->last_error, sizeof(d->last_error), "out of memory");
    }
    pthread_mutex_unlock(&d->mu);
    if (fits)
        return 0;
    if (it) {
        dead_letter(d, &it, 1);
        free(it);
    }
    return -1;
}

void deliver_flush(deliver *d)
{
    pthread_mutex_lock(&d->mu);
    if (d->count) {
        d->flush_requested = 1;
        pthread_cond_signal(&d->wake);
    }
    pthread_mutex_unlock(&d->mu);
}

/* ---- worker ---- */

/* With mu held: wait for a batch to be due; returns 0 when closing with
 * nothing left. */
static int wait_for_batch(deliver *d)
{
    for (;;) {
        if (d->count == 0) {
            if (d->closing)
                return 0;
            pthread_cond_wait(&d->wake, &d->mu);
            continue;
        }
        if (d->closing || d->flush_requested || d->count >= d->o.batch_max ||
            d->bytes >= d->o.batch_max_bytes)
            return 1;
        uint64_t due = d->head->enq_ns + (uint64_t)d->o.linger_ms * 1000000ull;
        if (mono_ns() >= due)
            return 1;
        struct timespec ts;
        mono_timespec(&ts, due);
        pthread_cond_timedwait(&d->wake, &d->mu, &ts);
    }
}

/* With mu held: unlink up to batch_max events / batch_max_bytes (at least one). */
static size_t take_batch(deliver *d, deliver_item **out)
{
    size_t n = 0, bytes = 0;
    while (d->head && n < d->o.batch_max && (n == 0 || bytes + d->head->len <= d->o.batch_max_bytes)) {
        deliver_item *it = d->head;
        d->head = it->next;
        it->next = NULL;
        out[n++] = it;
        bytes += it->len;
    }
    if (!d->head)
        d->tail = NULL;
    d->count -= n;
    d->bytes -= bytes;
    d->inflight = n;
    if (!d->count)
        d->flush_requested = 0;
    return n;
}

static uint64_t rng_next(deliver *d)
{
    uint64_t x = d->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return d->rng = x;
}

/* Full jitter: uniform in [0, min(max, base * 2^attempt)]. */
static uint64_t backoff_ms(deliver *d, unsigned attempt)
{
    uint64_t cap = (uint64_t)d->o.backoff_base_ms;
    for (unsigned i = 0; i < attempt && cap < (uint64_t)d->o.backoff_max_ms; i++)
        cap *= 2;
    if (cap > (uint64_t)d->o.backoff_max_ms)
        cap = (uint64_t)d->o.backoff_max_ms;
    return cap ? rng_next(d) % (cap + 1) : 0;
}

/* Sleep ms, waking early when close() sets a deadline before that.  With mu
 * held.  Returns 0, or -1 if the close deadline has passed. */
static int backoff_sleep(deliver *d, uint64_t ms)
{
    uint64_t until = mono_ns() + ms * 1000000ull;
    for (;;) {
        uint64_t t = until;
        if (d->closing && d->deadline_ns < t)
            t = d->deadline_ns;
        if (mono_ns() >= t)
            break;
        struct timespec ts;
        mono_timespec(&ts, t);
        pthread_cond_timedwait(&d->wake, &d->mu, &ts);
    }
    return d->closing && mono_ns() >= d->deadline_ns ? -1 : 0;
}

/* How long the next send() may take; <= 0 if the close deadline passed. With mu held. */
static int send_budget(deliver *d)
{
    if (!d->closing)
        return d->o.send_timeout_ms;
    uint64_t now = mono_ns();
    if (now >= d->deadline_ns)
        return 0;
    uint64_t left = (d->deadline_ns - now) / 1000000ull;
    return left < (uint64_t)d->o.send_timeout_ms ? (int)(left ? left : 1) : d->o.send_timeout_ms;
}

/* Send one batch until every event is delivered or dead-lettered.  tmp
 * and res have room for n entries. */
static void settle_batch(deliver *d, deliver_item **items, size_t n, deliver_item **tmp,
                         uint8_t *res)
{
    unsigned attempt = 0;
    char err[256];
    while (n) {
        pthread_mutex_lock(&d->mu);
        int budget = send_budget(d);
        pthread_mutex_unlock(&d->mu);
        if (budget <= 0)
            break; /* closing and out of time: the rest goes to the dead-letter file */
        err[0] = 0;
        memset(res, DELIVER_RETRY, n);
        d->ops.send(d->ctx, items, n, attempt, budget, res, err, sizeof(err));

        size_t ok = 0, nfail = 0, keep = 0;
        for (size_t i = 0; i < n; i++) {
            if (res[i] == DELIVER_OK) {
                ok++;
                free(items[i]);
            } else if (res[i] == DELIVER_FAIL) {
                tmp[nfail++] = items[i];
            } else {
                items[keep++] = items[i];
            }
        }
        int more = keep && attempt < (unsigned)d->o.max_retries;
        pthread_mutex_lock(&d->mu);
        d->st.delivered += ok;
        d->st.failed += n - ok;
        d->inflight = keep;
        if (more)
            d->st.retried += keep;
        if (ok < n)
            snprintf(d->last_error, sizeof(d->last_error), "%s", err[0] ? err : "send failed");
        pthread_mutex_unlock(&d->mu);
        dead_letter(d, tmp, nfail);
        for (size_t i = 0; i < nfail; i++)
            free(tmp[i]);
        n = keep;
        if (!more)
            break;
        attempt++;
        pthread_mutex_lock(&d->mu);
        int r = backoff_sleep(d, backoff_ms(d, attempt - 1));
        pthread_mutex_unlock(&d->mu);
        if (r < 0)
            break;
    }
    dead_letter(d, items, n);
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    pthread_mutex_lock(&d->mu);
    d->inflight = 0;
    pthread_mutex_unlock(&d->mu);
}

static void *worker_main(void *arg)
{
    deliver *d = arg;
    pthread_mutex_lock(&d->mu);
    while (wait_for_batch(d)) {
        size_t n = take_batch(d, d->items);
        pthread_mutex_unlock(&d->mu);
        settle_batch(d, d->items, n, d->tmp, d->res);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* ---- lifecycle ---- */

deliver *deliver_new(const char *kind, const char *target, const deliver_opts *o,
                     const deliver_ops *ops, void *ctx, char *err, size_t errlen)
{
    deliver *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        if (ops->free)
            ops->free(ctx);
        return NULL;
    }
    d->ops = *ops;
    d->ctx = ctx;
    d->o = *o;
    deliver_opts dflt; /* a zero (unset) size or time means the default */
    deliver_opts_default(&dflt);
    if (!d->o.queue_max)
        d->o.queue_max = dflt.queue_max;
    if (!d->o.queue_max_bytes)
        d->o.queue_max_bytes = dflt.queue_max_bytes;
    if (!d->o.batch_max)
        d->o.batch_max = dflt.batch_max;
    if (!d->o.batch_max_bytes)
        d->o.batch_max_bytes = dflt.batch_max_bytes;
    if (d->o.linger_ms < 0)
        d->o.linger_ms = 0;
    if (d->o.max_retries < 0)
        d->o.max_retries = 0;
    if (d->o.backoff_base_ms < 0)
        d->o.backoff_base_ms = 0;
    if (d->o.backoff_max_ms < d->o.backoff_base_ms)
        d->o.backoff_max_ms = d->o.backoff_base_ms;
    if (d->o.send_timeout_ms <= 0)
        d->o.send_timeout_ms = dflt.send_timeout_ms;
    d->o.dlq_dir = d->o.dlq_path = d->o.dlq_header = NULL; /* not kept: may not outlive us */
    char path[PATH_MAX];
    if (o->dlq_path)
        snprintf(path, sizeof(path), "%s", o->dlq_path);
    else if (dlq_path_for(o->dlq_dir ? o->dlq_dir : dlq_default_dir(), kind, target, path,
                          sizeof(path))) {
        snprintf(err, errlen, "dead-letter path too long");
        goto fail;
    }
    d->dlq = dlq_new(path, kind, target, o->dlq_header);
    d->items = malloc(d->o.batch_max * sizeof(*d->items));
    d->tmp = malloc(d->o.batch_max * sizeof(*d->tmp));
    d->res = malloc(d->o.batch_max);
    if (!d->dlq || !d->items || !d->tmp || !d->res) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    d->rng = mono_ns() ^ (uint64_t)(uintptr_t)d ^ 0x9e3779b97f4a7c15ull;
    if (!d->rng)
        d->rng = 1;
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &ca);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&d->thread, NULL, worker_main, d);
    if (e) {
        snprintf(err, errlen, "cannot start the delivery thread: %s", strerror(e));
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->mu);
        goto fail;
    }
    return d;
fail:
    dlq_free(d->dlq);
    free(d->items);
    free(d->tmp);
    free(d->res);
    if (ops->free)
        ops->free(ctx);
    free(d);
    return NULL;
}

void deliver_close(deliver *d, int drain_timeout_ms)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->closing = 1;
    d->deadline_ns = mono_ns() + (uint64_t)(drain_timeout_ms > 0 ? drain_timeout_ms : 0) * 1000000ull;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    if (d->ops.free)
        d->ops.free(d->ctx);
    dlq_free(d->dlq);
    free(d->items);
    free(d->tmp);
    free(d->res);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void deliver_stats(deliver *d, sink_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->st;
    out->queued = d->count + d->inflight;
    pthread_mutex_unlock(&d->mu);
}

const char *deliver_dlq_path(const deliver *d) { return dlq_path(d->dlq); }

void deliver_last_error(deliver *d, char *buf, size_t n)
{
    pthread_mutex_lock(&d->mu);
    snprintf(buf, n, "%s", d->last_error);
    pthread_mutex_unlock(&d->mu);
}

/* ---- the engine as a sink ---- */

typedef struct deliver_sink {
    sink base;
    sink_vtbl vt;
    deliver *d;
} deliver_sink;

static int ds_submit(sink *s, const sink_event *e) { return deliver_submit(((deliver_sink *)s)->d, e); }
static void ds_flush(sink *s) { deliver_flush(((deliver_sink *)s)->d); }
static void ds_stats(sink *s, sink_stats *out) { deliver_stats(((deliver_sink *)s)->d, out); }

static void ds_close(sink *s, int drain_timeout_ms)
{
    deliver_close(((deliver_sink *)s)->d, drain_timeout_ms);
    free(s);
}

sink *deliver_sink_new(const char *kind, const char *name, deliver *d)
{
    deliver_sink *s = calloc(1, sizeof(*s));
    if (!s) {
        deliver_close(d, 0);
        return NULL;
    }
    s->vt = (sink_vtbl){kind, ds_submit, ds_flush, ds_close, ds_stats};
    s->base.v = &s->vt;
    snprintf(s->base.name, sizeof(s->base.name), "%s", name);
    s->d = d;
    return &s->base;
}

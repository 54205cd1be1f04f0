/* sinkset.c: fan one event out to every sink (see sink.h).  A mutex makes
 * emit safe from the monitor threads; the critical section is one
 * serialisation plus one non-blocking submit per sink. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "events/event.h"
#include "sinks/sink.h"
#include "sinks/sink_opts.h"

#define MAX_SINKS 32

struct sink_set {
    pthread_mutex_t mu;
    sink *v[MAX_SINKS];
    size_t n;
    uint64_t encode_errors;
    struct sink_opts *opts;
};

struct sink_opts **sink_set_opts_slot(sink_set *ss) { return &ss->opts; }

sink *sink_set_get(sink_set *ss, size_t i) { return i < ss->n ? ss->v[i] : NULL; }

sink_set *sink_set_new(void)
{
    sink_set *ss = calloc(1, sizeof(*ss));
    if (ss)
        pthread_mutex_init(&ss->mu, NULL);
    return ss;
}

int sink_set_add(sink_set *ss, sink *s)
{
    pthread_mutex_lock(&ss->mu);
    int ok = ss->n < MAX_SINKS;
    if (ok)
        ss->v[ss->n++] = s;
    pthread_mutex_unlock(&ss->mu);
    if (!ok)
        s->v->close(s, 0);
    return ok ? 0 : -1;
}

static const char *str_at(const json_t *ev, const char *k1, const char *k2)
{
    const json_t *o = json_object_get(ev, k1);
    return json_string_value(k2 ? json_object_get(o, k2) : o);
}

void sink_set_emit(sink_set *ss, const json_t *ev)
{
    size_t len;
    char *line = event_serialize(ev, &len);
    pthread_mutex_lock(&ss->mu);
    if (!line) {
        ss->encode_errors++;
    } else {
        sink_event e = {
            .line = line,
            .len = len,
            .type = str_at(ev, "event_type", NULL),
            .event_id = str_at(ev, "event_id", NULL),
            .trace_id = str_at(ev, "trace_context", "trace_id"),
            .pid = (uint32_t)json_integer_value(json_object_get(json_object_get(ev, "process"), "pid")),
            .ev = ev,
        };
        for (size_t i = 0; i < ss->n; i++)
            ss->v[i]->v->submit(ss->v[i], &e);
    }
    pthread_mutex_unlock(&ss->mu);
    free(line);
}

void sink_set_flush(sink_set *ss)
{
    pthread_mutex_lock(&ss->mu);
    for (size_t i = 0; i < ss->n; i++)
        if (ss->v[i]->v->flush)
            ss->v[i]->v->flush(ss->v[i]);
    pthread_mutex_unlock(&ss->mu);
}

size_t sink_set_count(const sink_set *ss) { return ss->n; }

void sink_set_get_stats(sink_set *ss, size_t i, const char **name, const char **kind,
                        sink_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&ss->mu);
    if (i < ss->n) {
        *name = ss->v[i]->name;
        *kind = ss->v[i]->v->kind;
        ss->v[i]->v->stats(ss->v[i], out);
    }
    pthread_mutex_unlock(&ss->mu);
}

json_t *sink_set_status(sink_set *ss)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < ss->n; i++) {
        const char *name = "", *kind = "";
        sink_stats st;
        sink_set_get_stats(ss, i, &name, &kind, &st);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", name,
                                             "kind", kind, "submitted", (json_int_t)st.submitted,
                                             "delivered", (json_int_t)st.delivered, "retried",
                                             (json_int_t)st.retried, "failed", (json_int_t)st.failed,
                                             "dead_lettered", (json_int_t)st.dead_lettered,
                                             "dropped", (json_int_t)st.dropped, "queued",
                                             (json_int_t)st.queued));
    }
    return json_pack("{s:o,s:I}", "sinks", arr, "encode_errors", (json_int_t)ss->encode_errors);
}

void sink_set_close(sink_set *ss, int drain_timeout_ms)
{
    if (!ss)
        return;
    for (size_t i = 0; i < ss->n; i++)
        ss->v[i]->v->close(ss->v[i], drain_timeout_ms);
    sink_opts_free(ss->opts);
    pthread_mutex_destroy(&ss->mu);
    free(ss);
}

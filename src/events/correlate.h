/* correlate.h: ties an agent's AI calls to what it then does on the host.
 *
 *   ai.response with tool calls  -> one agent.tool_call per call (pending)
 *   exec/file/network events of the agent's process tree while a call is
 *     pending                    -> related_events "caused_by" the call
 *   the tool result in the agent's next ai.request
 *                                -> agent.tool_result (duration, size,
 *                                   hash, preview; related_events: the
 *                                   call "parent", host events "causes")
 *
 * An agent conversation (same process, same system prompt and first user
 * message) gets one trace_context.trace_id, shared by its AI, agent and
 * host events. */
#ifndef OISP_EVENTS_CORRELATE_H
#define OISP_EVENTS_CORRELATE_H

#include <jansson.h>
#include <stdint.h>

#include "events/proc.h"

typedef void (*corr_emit_fn)(void *ctx, json_t *ev); /* takes the reference */

typedef struct correlator correlator;

correlator *corr_new(proc_cache *pc, json_t *host);
void corr_free(correlator *c);

/* Before an ai.request event is emitted: sets data.conversation_id and
 * trace_context, and emits agent.tool_result events for the tool results
 * it carries that answer pending calls. */
void corr_request(correlator *c, uint32_t pid, uint64_t ts, json_t *req_ev, corr_emit_fn emit,
                  void *ctx);
/* After its ai.response event is emitted (resp_ev already has trace_context
 * and event_id): emits an agent.tool_call per tool call. */
void corr_response(correlator *c, uint32_t pid, uint64_t ts, const json_t *resp_ev,
                   corr_emit_fn emit, void *ctx);
/* Before a host event is emitted: links it to the pending tool calls of
 * the agent whose process tree pid belongs to, and to its trace. */
void corr_host(correlator *c, uint32_t pid, json_t *ev);
/* Sets ev's trace_context to trace_id with a new span id. */
void corr_set_trace(json_t *ev, const char *trace_id);
/* Forgets pending calls older than max_age_ns (never answered). */
void corr_expire(correlator *c, uint64_t now, uint64_t max_age_ns);

typedef struct corr_stats {
    uint64_t tool_calls, tool_results, host_linked, expired, dropped_pending;
} corr_stats;
void corr_get_stats(const correlator *c, corr_stats *out);

#endif

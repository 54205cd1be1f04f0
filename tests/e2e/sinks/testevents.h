/* testevents.h: realistic OISP events for the sink tests and the sink
 * benchmark, built with the sensor's own envelope (event_new): for
 * exchange i an ai.request and its ai.response (OpenAI chat, usage, finish
 * reason, latency, related_events), and for every fourth exchange an
 * agent.tool_call caused by the response and its agent.tool_result.
 * Header-only so unit tests, the driver and the bench share it. */
#ifndef OISP_TESTS_SINK_TESTEVENTS_H
#define OISP_TESTS_SINK_TESTEVENTS_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/monotime.h"
#include "events/event.h"

static json_t *te_process(void)
{
    return json_pack("{s:i,s:i,s:s,s:s,s:i}", "pid", 4242, "ppid", 1, "name", "agent.py", "exe",
                     "/usr/bin/python3", "uid", 1000);
}

/* Up to 4 events of exchange i into out; returns how many. prompt_len sets the size. */
static size_t te_exchange(json_t *host, int i, size_t prompt_len, json_t **out)
{
    char req_id[40], rid[27], resp_id[27], call_id[40], tool_id[27];
    size_t n = 0;
    snprintf(req_id, sizeof(req_id), "req_%08d", i);
    uint64_t t = mono_ns();

    char prompt[8192];
    if (prompt_len >= sizeof(prompt))
        prompt_len = sizeof(prompt) - 1;
    for (size_t k = 0; k < prompt_len; k++)
        prompt[k] = "abcdefghij klmnopqrstuvwxyz \"quoted\" \\ é"[k % 42];
    prompt[prompt_len] = 0;

    json_t *req = event_new("ai.request", t, "ebpf_uprobe", "ssl_write", host, rid);
    json_object_set_new(req, "process", te_process());
    json_object_set_new(req, "data",
        json_pack("{s:s,s:{s:s,s:s},s:{s:s},s:s,s:b,s:[{s:s,s:s}],s:i}", "request_id", req_id,
                  "provider", "name", "openai", "endpoint", "https://api.openai.com/v1/chat/completions",
                  "model", "id", "gpt-4o", "request_type", "chat", "streaming", 0, "messages",
                  "role", "user", "content", prompt, "messages_count", 1));
    if (i % 3 == 0) { /* some exchanges arrive with a W3C trace context */
        char tid[33];
        snprintf(tid, sizeof(tid), "%032x", i + 1);
        json_object_set_new(req, "trace_context", json_pack("{s:s}", "trace_id", tid));
    }
    out[n++] = req;

    json_t *resp = event_new("ai.response", t + 1500000, "ebpf_uprobe", "ssl_read", host, resp_id);
    json_object_set_new(resp, "process", te_process());
    json_t *data = json_pack("{s:s,s:{s:s},s:{s:s},s:i,s:b,s:s,s:{s:i,s:i,s:i},s:i}", "request_id",
                             req_id, "provider", "name", "openai", "model", "id", "gpt-4o-2024-11-20",
                             "status_code", 200, "success", 1, "finish_reason",
                             i % 4 == 0 ? "tool_calls" : "stop", "usage", "prompt_tokens", 100 + i,
                             "completion_tokens", 20 + i % 50, "total_tokens", 120 + i + i % 50,
                             "latency_ms", 1500);
    snprintf(call_id, sizeof(call_id), "call_%08d", i);
    if (i % 4 == 0)
        json_object_set_new(data, "tool_calls",
                            json_pack("[{s:s,s:s,s:s}]", "id", call_id, "name", "read_file", "type",
                                      "function"));
    json_object_set_new(resp, "data", data);
    json_object_set_new(resp, "related_events",
                        json_pack("[{s:s,s:s}]", "event_id", rid, "relationship", "parent"));
    out[n++] = resp;

    if (i % 4 == 0) {
        json_t *tc = event_new("agent.tool_call", t + 1600000, "ebpf_uprobe", "ssl_read", host, tool_id);
        json_object_set_new(tc, "process", te_process());
        json_object_set_new(tc, "data", json_pack("{s:{s:s},s:s,s:{s:s}}", "tool", "name", "read_file",
                                                  "call_id", call_id, "arguments", "path", "/etc/hosts"));
        json_object_set_new(tc, "related_events",
                            json_pack("[{s:s,s:s}]", "event_id", resp_id, "relationship", "caused_by"));
        out[n++] = tc;
        json_t *tr = event_new("agent.tool_result", t + 2600000, "ebpf_uprobe", "ssl_write", host, NULL);
        json_object_set_new(tr, "process", te_process());
        json_object_set_new(tr, "data", json_pack("{s:{s:s},s:s,s:b}", "tool", "name", "read_file",
                                                  "call_id", call_id, "success", 1));
        json_object_set_new(tr, "related_events",
                            json_pack("[{s:s,s:s}]", "event_id", tool_id, "relationship", "parent"));
        out[n++] = tr;
    }
    return n;
}

#endif

/* ws.h: the WebSocket server sink (libwebsockets), a live stream of
 * events for dashboards and `websocat`-style tails.
 *
 * Clients connect to ws://ADDR/events.  They get every event, or only
 * some types: ?types=ai.request,ai.response in the URL, or a text message
 * {"subscribe":["ai.*","agent.tool_call"]} at any time (a pattern is an
 * exact type, a prefix ending in ".*", or "*").  Each event is one text
 * message holding the event's JSON line.
 *
 * Each client has a bounded queue (events and bytes).  A client that
 * falls behind until its queue is full is disconnected and its queued
 * events are discarded; submit() never waits for a client.  The server
 * runs on its own service thread.  It binds to 127.0.0.1 unless told
 * otherwise; bound to any other address it refuses to start without a
 * token, which clients then pass as ?token=T or "Authorization: Bearer T"
 * (a token set on a loopback address is required too).
 *
 * This sink is live only: there is no retry and no dead-letter file (an
 * event nobody is subscribed to is not lost, it just has no audience).
 * Its counters: submitted events; delivered = messages written to
 * clients; failed = clients dropped for being slow; dropped = messages
 * discarded with them (or with a client that left); queued = messages
 * waiting in client queues. */
#ifndef OISP_SINKS_WS_H
#define OISP_SINKS_WS_H

#include <stddef.h>

#include "sinks/sink.h"

typedef struct sink_ws_config {
    const char *listen;     /* "HOST:PORT", default 127.0.0.1:7778 (sinks.websocket.listen) */
    const char *token;      /* required when HOST is not loopback  (sinks.websocket.token) */
    size_t client_queue;    /* events per client, default 4096     (sinks.websocket.client_queue) */
    size_t client_queue_bytes; /* default 16 MiB */
    size_t max_clients;     /* default 64 */
} sink_ws_config;

void sink_ws_config_default(sink_ws_config *c);
sink *sink_ws_new(const sink_ws_config *c, char *err, size_t errlen);
/* The port it listens on (useful with port 0). */
int sink_ws_port(sink *s);

#endif

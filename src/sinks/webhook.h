/* webhook.h: the HTTP webhook sink.  Batches of events are POSTed as a
 * JSON array ("[ev,ev]", Content-Type application/json) or as NDJSON (one
 * event per line, application/x-ndjson), through the delivery engine
 * (deliver.h): bounded queue, batching, retries on connection errors,
 * timeouts, 408, 429 and 5xx (not on other 4xx), dead-letter file.
 * Delivery is at least once: a batch whose reply was lost is sent again,
 * so receivers should de-duplicate on event_id. */
#ifndef OISP_SINKS_WEBHOOK_H
#define OISP_SINKS_WEBHOOK_H

#include <stddef.h>

#include "sinks/deliver.h"

typedef struct sink_webhook_config {
    const char *url;  /* http:// or https://                  (sinks.webhook.url) */
    int ndjson;       /* 0: JSON array, 1: NDJSON             (sinks.webhook.format) */
    const char *auth; /* NULL, "none", "bearer:TOKEN", "apikey:HEADER:TOKEN",
                       * "basic:USER:PASSWORD"                 (sinks.webhook.auth) */
    int timeout_ms;   /* per request, default 10000           (sinks.webhook.timeout) */
    deliver_opts d;
} sink_webhook_config;

void sink_webhook_config_default(sink_webhook_config *c);
/* Checks an auth spec; 0 if valid, else -1 with the reason in err. */
int sink_webhook_check_auth(const char *auth, char *err, size_t errlen);
sink *sink_webhook_new(const sink_webhook_config *c, char *err, size_t errlen);

#endif

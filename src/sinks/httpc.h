/* httpc.h: the HTTP POST client the OTLP and webhook sinks share (libcurl).
 *
 * One httpc per sink, used only from that sink's worker thread: a curl easy
 * handle that keeps its connection alive between batches, fixed headers,
 * optional gzip of the body (Content-Encoding: gzip) and optional basic
 * auth.  httpc_post() classifies the outcome for the delivery engine:
 * 2xx is delivered; connection errors, timeouts, 408, 429 and 5xx are
 * worth retrying; any other status (4xx: the request itself is wrong) and
 * malformed URLs are permanent failures. */
#ifndef OISP_SINKS_HTTPC_H
#define OISP_SINKS_HTTPC_H

#include <stddef.h>

typedef struct httpc httpc;

/* NULL on error (reason in err). */
httpc *httpc_new(const char *url, char *err, size_t errlen);
void httpc_free(httpc *h);
/* "Name: value".  0, or -1 if out of memory. */
int httpc_add_header(httpc *h, const char *line);
int httpc_set_basic_auth(httpc *h, const char *user, const char *password);
void httpc_set_gzip(httpc *h, int on);
/* Connection timeout (ms) applied to each post; the whole post is bounded
 * by its timeout_ms argument. */
void httpc_set_connect_timeout(httpc *h, int ms);

/* POSTs body to url (NULL: the URL given to httpc_new).  Returns a
 * DELIVER_* code (deliver.h); *status gets the HTTP status (0 if none) and
 * err a short reason when it is not DELIVER_OK. */
int httpc_post(httpc *h, const char *url, const char *body, size_t len, int timeout_ms,
               long *status, char *err, size_t errlen);

/* gzip-compress in into a new buffer (*out, caller frees).  0 or -1. */
int httpc_gzip(const char *in, size_t len, char **out, size_t *outlen);

#endif

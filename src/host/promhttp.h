/* promhttp.h: a minimal Prometheus endpoint: HTTP/1.1 GET /metrics served
 * by a libmicrohttpd thread.  Bound to 127.0.0.1 by default; on any other
 * address it refuses to start without a token, and with a token every
 * request must carry `Authorization: Bearer TOKEN` (compared in constant
 * time).  Each scrape calls the render callback from the server thread,
 * so the callback must be thread-safe with respect to the caller.
 * One endpoint per process. */
#ifndef OISP_HOST_PROMHTTP_H
#define OISP_HOST_PROMHTTP_H

#include <stddef.h>
#include <stdint.h>

#include "host/metrics.h"

/* Appends the exposition text to out; returns 0, or -1 for a 500. */
typedef int (*promhttp_render_fn)(metrics_buf *out, void *ctx);

/* addr: an IPv4 or IPv6 literal, or NULL for 127.0.0.1.  token: NULL or
 * "" for none (loopback only).  Returns 0, or -1 with the reason in
 * promhttp_error(). */
int promhttp_start(const char *addr, int port, const char *token, promhttp_render_fn cb,
                   void *ctx);
void promhttp_stop(void);
const char *promhttp_error(void);

/* Scrapes served and requests refused for a missing or wrong token. */
void promhttp_counters(uint64_t *scrapes, uint64_t *unauthorized);

/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
int promhttp_addr_is_loopback(const char *addr);

/* "127.0.0.1:9464", "[::1]:9464", ":9464" (127.0.0.1) -> addr and port.
 * Returns 0, or -1 if malformed. */
int promhttp_parse_listen(const char *s, char *addr, size_t addrlen, int *port);

#endif

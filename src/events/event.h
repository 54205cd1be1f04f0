/* event.h: the OISP v0.1 envelope.  event_new() fills everything every
 * event has (version, ULID id, type, wall and monotonic time, source, host,
 * a default confidence); callers add process, data and the rest, then
 * event_serialize() makes one JSON line. */
#ifndef OISP_EVENTS_EVENT_H
#define OISP_EVENTS_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define OISP_COLLECTOR "oisp-sensor"
#define OISP_VERSION "0.1"

#ifndef OISP_SENSOR_VERSION
#define OISP_SENSOR_VERSION "0.1.0"
#endif

/* The host block, read once (hostname, os, os_version, arch, kernel). */
json_t *event_host_info(void);

/* A new envelope.  capture_method and capture_point go into `source`;
 * host is copied by reference.  event_id is written to id_out if not NULL. */
json_t *event_new(const char *type, uint64_t ts_mono, const char *capture_method,
                  const char *capture_point, json_t *host, char id_out[27]);

/* The compact JSON of ev, with no newline; caller frees.  NULL if ev
 * cannot be encoded. */
char *event_serialize(const json_t *ev, size_t *len);

#endif

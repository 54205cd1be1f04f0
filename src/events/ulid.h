/* ulid.h: ULIDs (26 characters, Crockford base32: 48-bit millisecond time +
 * 80 random bits) for event ids.  Within one millisecond the random part is
 * incremented, so ids from one sensor sort in creation order. */
#ifndef OISP_EVENTS_ULID_H
#define OISP_EVENTS_ULID_H

#include <stdint.h>

#define ULID_LEN 26

/* Writes a new ULID and a NUL into out; unix_ms is the wall-clock time. */
void ulid_new(char out[ULID_LEN + 1], uint64_t unix_ms);

#endif

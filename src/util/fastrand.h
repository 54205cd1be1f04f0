/* fastrand.h: non-cryptographic random numbers for identifiers (event id
 * random bits, span ids): a per-thread splitmix64 seeded once from
 * getrandom(), so hot paths make no syscall per id. */
#ifndef OISP_UTIL_FASTRAND_H
#define OISP_UTIL_FASTRAND_H

#include <stdint.h>

uint64_t fastrand64(void);

#endif

/* sha256.h: SHA-256 of a buffer, for the hashes every event carries
 * (key hashes, prompt hashes, conversation ids).  OpenSSL 3's one-shot
 * SHA256() looks the algorithm up in its provider on every call, which is
 * most of the cost of hashing a short string; here it is fetched once. */
#ifndef OISP_UTIL_SHA256_H
#define OISP_UTIL_SHA256_H

#include <stddef.h>

#define SHA256_LEN 32

/* out = SHA-256(p[0..n)).  Thread-safe. */
void sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);

#endif

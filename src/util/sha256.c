/* sha256.c: SHA-256 with the algorithm fetched once (see sha256.h).  If
 * the fetch fails, every call falls back to OpenSSL's one-shot SHA256(). */
#include "util/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md; /* kept for the life of the process */

static void fetch_md(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

void sha256(const void *p, size_t n, unsigned char out[SHA256_LEN])
{
    pthread_once(&fetch_once, fetch_md);
    if (!sha256_md || !EVP_Digest(p, n, out, NULL, sha256_md, NULL))
        SHA256(p, n, out);
}

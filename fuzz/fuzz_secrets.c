/* fuzz_secrets.c: libFuzzer target for credential masking
 * (src/events/secrets.c), which runs over command lines and header values
 * of every traced process.  Input: the text.  Checks: the masked copy is
 * NUL-terminated at its stated length and holds at least one
 * "[REDACTED:kind]" (NULL means nothing was found), and masking is
 * deterministic. */
#include <string.h>

#include "events/secrets.h"
#include "fuzz.h"

static size_t count(const char *s, size_t n, const char *needle)
{
    size_t k = 0, m = strlen(needle);
    for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), needle, m)) != NULL; p += m)
        k++;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t outlen = 0;
    char *out = secrets_mask(s, size, &outlen);
    if (!out)
        return 0;
    FUZZ_CHECK(out[outlen] == 0);
    FUZZ_CHECK(count(out, outlen, "[REDACTED:") > 0);
    size_t again_len = 0;
    char *again = secrets_mask(s, size, &again_len);
    FUZZ_CHECK(again && again_len == outlen && memcmp(again, out, outlen) == 0);
    free(again);
    free(out);
    return 0;
}

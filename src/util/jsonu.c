/* jsonu.c: lossy UTF-8 to JSON strings (see jsonu.h).  Valid input, the
 * common case, costs one validation pass and no copy beyond jansson's. */
#include "util/jsonu.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

size_t jsonu_utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80 && p[i] != 0) {
            i++;
            continue;
        }
        size_t l = p[i] ? seq_len(p + i, n - i) : 0;
        if (!l)
            break;
        i += l;
    }
    return i;
}

json_t *jsonu_string_lossy(const char *s, size_t n)
{
    size_t ok = jsonu_utf8_valid_prefix(s, n);
    if (ok == n)
        return json_stringn(s, n);
    char *out = malloc(n * 3 + 1); /* worst case: every byte becomes U+FFFD */
    if (!out)
        return NULL;
    memcpy(out, s, ok);
    size_t o = ok;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = ok; i < n;) {
        size_t l = p[i] ? seq_len(p + i, n - i) : 0;
        if (l) {
            memcpy(out + o, p + i, l);
            o += l;
            i += l;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    json_t *r = json_stringn(out, o);
    free(out);
    return r;
}

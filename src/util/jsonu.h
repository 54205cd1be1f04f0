/* jsonu.h: jansson helpers for strings that come from the traced world and
 * may not be valid UTF-8 (jansson refuses those). */
#ifndef OISP_UTIL_JSONU_H
#define OISP_UTIL_JSONU_H

#include <jansson.h>
#include <stddef.h>

/* A JSON string of s[0..n); invalid UTF-8 sequences become U+FFFD. */
json_t *jsonu_string_lossy(const char *s, size_t n);

/* Length of the longest prefix of s[0..n) that is valid UTF-8. */
size_t jsonu_utf8_valid_prefix(const char *s, size_t n);

#endif

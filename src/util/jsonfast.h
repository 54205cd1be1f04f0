/* jsonfast.h: a fast JSON loader and compact dumper for jansson's json_t.
 *
 * jansson stays the data model; these two functions only replace its
 * byte-at-a-time lexer and its callback-per-fragment dumper on hot paths.
 * Both are drop-in equivalents of jansson 2.14 as the sensor calls it:
 *
 * - jsonfast_loadb(buf, len, 0, NULL) accepts exactly the documents that
 *   json_loadb(buf, len, JSON_DECODE_ANY, &err) accepts and builds an equal
 *   tree (same value types, same key order, last duplicate key wins).
 *   Callers that want jansson's flags-0 behaviour (top level must be an
 *   object or array) check json_is_object/json_is_array on the result.
 * - jsonfast_dump(j, ...) produces the same bytes as
 *   json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY).
 *
 * tests/unit/test_jsonfast.c checks both claims differentially against the
 * installed jansson on hand-written, generated and mutated documents. */
#ifndef OISP_UTIL_JSONFAST_H
#define OISP_UTIL_JSONFAST_H

#include <jansson.h>
#include <stddef.h>

/* jansson's own nesting limit (JSON_PARSER_MAX_DEPTH).  Depth is counted
 * the way jansson counts it: every value, scalars included, is one level
 * deeper than its container and the top-level value is at depth 1, so
 * 2048 nested empty arrays load and 2048 arrays around a number do not. */
#define JSONFAST_DEFAULT_MAX_DEPTH 2048

/* The dumper refuses trees with more nested containers than this (and so
 * reference cycles, which jansson also refuses) instead of recursing
 * without bound. */
#define JSONFAST_DUMP_MAX_DEPTH 4096

/* Parses buf[0..len) as one JSON value (any type at top level) followed by
 * nothing but whitespace.  max_depth 0 means JSONFAST_DEFAULT_MAX_DEPTH.
 * Returns a new reference, or NULL when the text is not accepted or memory
 * runs out; then *errpos (if errpos is not NULL) points at the byte of buf
 * where parsing stopped.  On success *errpos is set to NULL.  buf need not
 * be NUL-terminated; nothing outside buf[0..len) is read. */
json_t *jsonfast_loadb(const char *buf, size_t len, size_t max_depth, const char **errpos);

/* Like jsonfast_loadb, but stops after the first value and stores in
 * *consumed how many bytes of buf it used (the value plus any whitespace
 * after it), leaving the rest unread: for JSON streams such as the
 * elements of a Gemini array response, where json_loadb would be called
 * with JSON_DISABLE_EOF_CHECK. */
json_t *jsonfast_loadb_prefix(const char *buf, size_t len, size_t max_depth, size_t *consumed,
                              const char **errpos);

/* Serialises j compactly into a new NUL-terminated buffer *out (the caller
 * frees it with free()) of *outlen bytes, the NUL not counted.  Returns 0,
 * or -1 with *out = NULL when j is NULL, holds a string or key that is not
 * valid UTF-8, a real that is not finite, nests containers deeper than
 * JSONFAST_DUMP_MAX_DEPTH (a cycle does), or memory runs out.  outlen may
 * be NULL. */
int jsonfast_dump(const json_t *j, char **out, size_t *outlen);

#endif

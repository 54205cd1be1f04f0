/* content.h: streaming decoders for HTTP content codings (gzip, x-gzip,
 * deflate in both its zlib-wrapped and raw forms, br, zstd, identity), and
 * the bounded output buffer they decode into.
 *
 * The HTTP parser decodes each body as it arrives, straight into the
 * message's body buffer (content_buf), which grows geometrically up to a
 * limit.  Once the limit is reached decoding stops: the buffer is flagged
 * truncated and later input is only counted, so a decompression bomb costs
 * at most the limit in memory and little CPU.  Stacked codings ("gzip, br")
 * are undone in reverse order through small on-stack scratch buffers. */
#ifndef OISP_STREAM_CONTENT_H
#define OISP_STREAM_CONTENT_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer that keeps at most `limit` bytes.  data is always
 * NUL-terminated once allocated (data[len] == 0). */
typedef struct content_buf {
    uint8_t *data;
    size_t len;
    size_t cap;        /* allocated bytes, the NUL's slot included */
    size_t limit;      /* keep at most this many bytes */
    uint64_t dropped;  /* bytes not kept: output beyond the limit, or encoded
                          input left undecoded once the limit was reached */
    int truncated;     /* something was dropped because of the limit */
} content_buf;

void content_buf_init(content_buf *b, size_t limit);
void content_buf_destroy(content_buf *b);
/* Make room for `want` more bytes (bounded by the limit); geometric growth.
 * Returns the free space now available (0 at the limit or out of memory). */
size_t content_buf_reserve(content_buf *b, size_t want);
/* Append, keeping what fits under the limit and counting the rest. */
void content_buf_append(content_buf *b, const void *p, size_t n);
/* Hand the bytes to the caller (never NULL unless out of memory; always
 * NUL-terminated) and leave b empty.  Large slack is given back. */
uint8_t *content_buf_release(content_buf *b, size_t *len);

typedef struct content_decoder content_decoder;

/* Build a decoder for a Content-Encoding list in the order the codings were
 * applied ("gzip", "gzip, br", "identity").  Returns 0 and sets *out (NULL
 * when nothing needs decoding), or -1 for an unknown coding or too many. */
int content_decoder_new(const char *encodings, content_decoder **out);
void content_decoder_free(content_decoder *d);

/* Decode n more encoded bytes into out (which only this decoder writes to
 * from its first write on).  Never fails loudly: on corrupt input the decoder
 * is marked failed; if that happens within the first 64 KiB of input, what it
 * wrote to out is replaced by the raw encoded bytes (and all later input goes
 * there undecoded), else the decoded prefix stays and later input is
 * ignored.  Once out reaches its limit, the rest is counted in out->dropped. */
void content_decoder_write(content_decoder *d, const uint8_t *in, size_t n, content_buf *out);

/* End of the body.  Returns 0 when every coding's stream ended cleanly (or
 * decoding stopped at the limit, or no input came at all), 1 when the
 * encoded stream was cut short (out holds what was decoded), -1 when
 * decoding failed (out holds the raw bytes or a decoded prefix). */
int content_decoder_finish(content_decoder *d, content_buf *out);

/* 1 once corrupt input was seen. */
int content_decoder_failed(const content_decoder *d);

#endif

/* fuzz_content.c: libFuzzer target for the streaming content decoders
 * (src/stream/content.c: gzip, deflate zlib-wrapped or raw, br, zstd and
 * stacked codings).  Input: [coding][split seed] then the encoded body.
 * Checks that the output stays within its limit, is NUL-terminated, and
 * that finish reports one of its three outcomes; a decompression bomb must
 * stop at the limit (libFuzzer's -rss_limit_mb and -timeout catch the rest). */
#include <string.h>

#include "fuzz.h"
#include "stream/content.h"

#define OUT_LIMIT (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    content_decoder *d = NULL;
    FUZZ_CHECK(content_decoder_new(FUZZ_CODINGS[data[0] % FUZZ_NCODINGS], &d) == 0);
    content_buf out;
    content_buf_init(&out, (data[0] & 0x80) ? 64 : OUT_LIMIT);
    uint8_t seed = data[1];
    data += 2;
    size -= 2;
    fuzz_rng r;
    fuzz_rng_init(&r, seed);
    for (size_t off = 0; off < size;) {
        size_t n = fuzz_piece(&r, seed, size - off);
        if (d)
            content_decoder_write(d, data + off, n, &out);
        else
            content_buf_append(&out, data + off, n);
        off += n;
        FUZZ_CHECK(out.len <= out.limit);
        FUZZ_CHECK(out.len < out.cap || out.data == NULL);
    }
    if (d) {
        int rc = content_decoder_finish(d, &out);
        FUZZ_CHECK(rc == 0 || rc == 1 || rc == -1);
        if (rc == -1)
            FUZZ_CHECK(content_decoder_failed(d));
        content_decoder_free(d);
    }
    FUZZ_CHECK(out.len <= out.limit);
    if (out.data)
        FUZZ_CHECK(out.data[out.len] == 0);
    size_t len = 0;
    uint8_t *body = content_buf_release(&out, &len);
    if (body) {
        FUZZ_CHECK(body[len] == 0);
        free(body);
    }
    content_buf_destroy(&out);
    return 0;
}

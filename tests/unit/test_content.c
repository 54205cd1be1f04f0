/* test_content.c: tests for src/stream/content.c, the streaming content-coding
 * decoders.  Inputs are compressed here with zlib and libzstd (brotli inputs
 * come from tests/data/stream/brotli_fixtures.h); each is decoded whole, split
 * at every byte and one byte at a time, and must give back the original.
 * Bombs (100 MiB of zeros) must stop at the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "../data/stream/brotli_fixtures.h"
#include "stream/content.h"

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static void bytes_add(bytes *b, const void *p, size_t n)
{
    b->p = realloc(b->p, b->n + n + 1);
    assert_non_null(b->p);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

/* zlib deflate of `reps` copies of src; wbits 15+16 gzip, 15 zlib, -15 raw. */
static bytes zlib_pack(const void *src, size_t n, size_t reps, int wbits)
{
    bytes out = {0};
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t buf[65536];
    for (size_t r = 0; r <= reps; r++) {
        int flush = r == reps ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = (Bytef *)src;
        z.avail_in = r == reps ? 0 : (uInt)n;
        int ret;
        do {
            z.next_out = buf;
            z.avail_out = sizeof buf;
            ret = deflate(&z, flush);
            assert_true(ret == Z_OK || ret == Z_STREAM_END || ret == Z_BUF_ERROR);
            bytes_add(&out, buf, sizeof buf - z.avail_out);
        } while (z.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
    }
    deflateEnd(&z);
    return out;
}

static bytes zstd_pack(const void *src, size_t n, size_t reps)
{
    bytes out = {0};
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_non_null(c);
    uint8_t buf[65536];
    for (size_t r = 0; r <= reps; r++) {
        ZSTD_EndDirective end = r == reps ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer in = {src, r == reps ? 0 : n, 0};
        size_t left;
        do {
            ZSTD_outBuffer o = {buf, sizeof buf, 0};
            left = ZSTD_compressStream2(c, &o, &in, end);
            assert_false(ZSTD_isError(left));
            bytes_add(&out, buf, o.pos);
        } while (in.pos < in.size || (end == ZSTD_e_end && left != 0));
    }
    ZSTD_freeCCtx(c);
    return out;
}

static const char k_text[] =
    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello. Say hello. "
    "Say hello.\"}],\"stream\":true,\"temperature\":0.2,\"note\":\"the quick brown fox jumps over "
    "the lazy dog, the quick brown fox jumps over the lazy dog\"}";

/* Decode enc-coded `in` fed in pieces of `step` bytes (0: all at once; a
 * value >= n with split < n: two pieces at `split`). */
static content_buf decode_pieces(const char *enc, const bytes *in, size_t split, size_t step,
                                 size_t limit, int *finish)
{
    content_decoder *d = NULL;
    assert_int_equal(content_decoder_new(enc, &d), 0);
    content_buf out;
    content_buf_init(&out, limit);
    if (step) {
        for (size_t off = 0; off < in->n; off += step)
            content_decoder_write(d, in->p + off, in->n - off < step ? in->n - off : step, &out);
    } else {
        content_decoder_write(d, in->p, split, &out);
        content_decoder_write(d, in->p + split, in->n - split, &out);
    }
    *finish = content_decoder_finish(d, &out);
    content_decoder_free(d);
    return out;
}

static void assert_decodes_everywhere(const char *enc, const bytes *in, const void *want, size_t want_len)
{
    int fin;
    for (size_t split = 0; split <= in->n; split++) {
        content_buf out = decode_pieces(enc, in, split, 0, 1 << 20, &fin);
        assert_int_equal(fin, 0);
        assert_int_equal(out.len, want_len);
        assert_memory_equal(out.data, want, want_len);
        assert_int_equal(out.data[out.len], 0);
        assert_false(out.truncated);
        content_buf_destroy(&out);
    }
    content_buf out = decode_pieces(enc, in, 0, 1, 1 << 20, &fin);
    assert_int_equal(fin, 0);
    assert_int_equal(out.len, want_len);
    assert_memory_equal(out.data, want, want_len);
    content_buf_destroy(&out);
}

static void test_gzip_and_xgzip(void **state)
{
    (void)state;
    bytes gz = zlib_pack(k_text, strlen(k_text), 1, 15 + 16);
    assert_decodes_everywhere("gzip", &gz, k_text, strlen(k_text));
    assert_decodes_everywhere("x-gzip", &gz, k_text, strlen(k_text));
    assert_decodes_everywhere("GZip", &gz, k_text, strlen(k_text));
    free(gz.p);
}

static void test_deflate_zlib_and_raw(void **state)
{
    (void)state;
    bytes zl = zlib_pack(k_text, strlen(k_text), 1, 15);
    bytes raw = zlib_pack(k_text, strlen(k_text), 1, -15);
    assert_true(zl.n != raw.n);
    assert_decodes_everywhere("deflate", &zl, k_text, strlen(k_text));
    assert_decodes_everywhere("deflate", &raw, k_text, strlen(k_text));
    free(zl.p);
    free(raw.p);
}

static void test_brotli(void **state)
{
    (void)state;
    bytes br = {0};
    bytes_add(&br, k_br_text, sizeof k_br_text);
    assert_decodes_everywhere("br", &br, K_BR_TEXT_PLAIN, strlen(K_BR_TEXT_PLAIN));
    free(br.p);
}

static void test_zstd(void **state)
{
    (void)state;
    bytes zs = zstd_pack(k_text, strlen(k_text), 1);
    assert_decodes_everywhere("zstd", &zs, k_text, strlen(k_text));
    free(zs.p);
}

static void test_identity_and_lists(void **state)
{
    (void)state;
    content_decoder *d = (content_decoder *)1;
    assert_int_equal(content_decoder_new("identity", &d), 0);
    assert_null(d);
    assert_int_equal(content_decoder_new("", &d), 0);
    assert_null(d);
    assert_int_equal(content_decoder_new(NULL, &d), 0);
    assert_null(d);
    assert_int_equal(content_decoder_new(" , identity ,", &d), 0);
    assert_null(d);
    assert_int_equal(content_decoder_new("compress", &d), -1);
    assert_null(d);
    assert_int_equal(content_decoder_new("gzip, lzma", &d), -1);
    assert_int_equal(content_decoder_new("gzip, gzip, gzip, gzip, gzip", &d), -1);
    assert_int_equal(content_decoder_new("gzip;q=1", &d), 0);
    assert_non_null(d);
    content_decoder_free(d);
    content_decoder_free(NULL);
}

/* "deflate, gzip": deflate applied first, so decoded gzip first. */
static void test_stacked(void **state)
{
    (void)state;
    bytes zl = zlib_pack(k_text, strlen(k_text), 1, 15);
    bytes both = zlib_pack(zl.p, zl.n, 1, 15 + 16);
    assert_decodes_everywhere("deflate, gzip", &both, k_text, strlen(k_text));
    assert_decodes_everywhere("deflate, identity, gzip", &both, k_text, strlen(k_text));

    bytes gz = zlib_pack(k_text, strlen(k_text), 1, 15 + 16);
    bytes gz_zs = zstd_pack(gz.p, gz.n, 1);
    assert_decodes_everywhere("gzip,zstd", &gz_zs, k_text, strlen(k_text));

    /* the wrong order is a decode error, not garbage */
    int fin;
    content_buf out = decode_pieces("gzip, deflate", &both, 0, 7, 1 << 20, &fin);
    assert_int_equal(fin, -1);
    content_buf_destroy(&out);
    free(zl.p);
    free(both.p);
    free(gz.p);
    free(gz_zs.p);
}

static void test_gzip_members_and_trailing(void **state)
{
    (void)state;
    bytes a = zlib_pack("hello ", 6, 1, 15 + 16);
    bytes b = zlib_pack("world", 5, 1, 15 + 16);
    bytes ab = {0};
    bytes_add(&ab, a.p, a.n);
    bytes_add(&ab, b.p, b.n);
    assert_decodes_everywhere("gzip", &ab, "hello world", 11);

    bytes zl = zlib_pack(k_text, strlen(k_text), 1, 15);
    bytes_add(&zl, "\r\ngarbage", 9); /* after the end: ignored */
    assert_decodes_everywhere("deflate", &zl, k_text, strlen(k_text));
    free(a.p);
    free(b.p);
    free(ab.p);
    free(zl.p);
}

static void check_bomb(const char *enc, const bytes *in)
{
    size_t limit = 1 << 20;
    int fin;
    content_buf out = decode_pieces(enc, in, 0, 4096, limit, &fin);
    assert_int_equal(fin, 0);
    assert_int_equal(out.len, limit);
    assert_true(out.cap <= limit + 1);
    assert_true(out.truncated);
    assert_true(out.dropped > 0);
    for (size_t i = 0; i < out.len; i++)
        if (out.data[i] != 0)
            fail_msg("byte %zu is %d", i, out.data[i]);
    content_buf_destroy(&out);
}

static void test_bombs_bounded(void **state)
{
    (void)state;
    static uint8_t zeros[1 << 20];
    bytes gz = zlib_pack(zeros, sizeof zeros, 100, 15 + 16);
    assert_true(gz.n < 200 * 1024);
    check_bomb("gzip", &gz);
    bytes zs = zstd_pack(zeros, sizeof zeros, 100);
    check_bomb("zstd", &zs);
    bytes br = {0};
    bytes_add(&br, k_br_bomb, sizeof k_br_bomb);
    check_bomb("br", &br);
    /* the whole bomb in one write */
    int fin;
    content_buf out = decode_pieces("gzip", &gz, gz.n, 0, 1 << 16, &fin);
    assert_int_equal(out.len, 1 << 16);
    assert_true(out.truncated);
    content_buf_destroy(&out);
    free(gz.p);
    free(zs.p);
    free(br.p);
}

static void test_limit_exact_is_not_truncated(void **state)
{
    (void)state;
    size_t n = strlen(k_text);
    bytes gz = zlib_pack(k_text, n, 1, 15 + 16);
    int fin;
    content_buf out = decode_pieces("gzip", &gz, 0, 1, n, &fin);
    assert_int_equal(fin, 0);
    assert_int_equal(out.len, n);
    assert_false(out.truncated);
    assert_int_equal(out.dropped, 0);
    content_buf_destroy(&out);
    out = decode_pieces("gzip", &gz, 0, 1, n - 1, &fin);
    assert_int_equal(out.len, n - 1);
    assert_true(out.truncated);
    assert_memory_equal(out.data, k_text, n - 1);
    content_buf_destroy(&out);
    free(gz.p);
}

static void test_mislabelled_body_passes_through(void **state)
{
    (void)state;
    bytes plain = {0};
    bytes_add(&plain, k_text, strlen(k_text));
    const char *encs[] = {"gzip", "deflate", "zstd"};
    for (size_t i = 0; i < 3; i++) {
        int fin;
        content_buf out = decode_pieces(encs[i], &plain, 0, 5, 1 << 20, &fin);
        assert_int_equal(fin, -1);
        assert_int_equal(out.len, plain.n);
        assert_memory_equal(out.data, k_text, plain.n);
        content_buf_destroy(&out);
    }
    free(plain.p);
}

static void test_corrupt_and_cut_streams(void **state)
{
    (void)state;
    static char big[600000];
    uint32_t seed = 7;
    for (size_t i = 0; i < sizeof big; i++) {
        seed = seed * 1103515245u + 12345u;
        big[i] = "abcdefghij\n"[(seed >> 16) % 11];
    }
    bytes gz = zlib_pack(big, sizeof big, 1, 15 + 16);
    assert_true(gz.n > 3 * 65536);

    /* cut in half: the decoded part is a prefix, finish says "cut short" */
    bytes half = {gz.p, gz.n / 2};
    int fin;
    content_buf out = decode_pieces("gzip", &half, 0, 1000, 1 << 20, &fin);
    assert_int_equal(fin, 1);
    assert_true(out.len > 0 && out.len < sizeof big);
    assert_memory_equal(out.data, big, out.len);
    content_buf_destroy(&out);

    /* corrupted past the first 64 KiB: decoded prefix kept, failure reported */
    for (size_t i = gz.n / 2; i < gz.n / 2 + 64; i++)
        gz.p[i] ^= 0x5a;
    out = decode_pieces("gzip", &gz, 0, 1000, 1 << 20, &fin);
    assert_int_equal(fin, -1);
    assert_true(out.len > 65536 && out.len < sizeof big);
    assert_memory_equal(out.data, big, 65536);
    content_buf_destroy(&out);

    /* corrupted early: the body becomes the raw bytes */
    bytes small = zlib_pack(big, 5000, 1, 15 + 16);
    for (size_t i = small.n / 2; i < small.n / 2 + 16; i++)
        small.p[i] ^= 0x5a;
    out = decode_pieces("gzip", &small, 0, 100, 1 << 20, &fin);
    assert_int_equal(fin, -1);
    assert_int_equal(out.len, small.n);
    assert_memory_equal(out.data, small.p, small.n);
    content_buf_destroy(&out);
    free(small.p);

    /* no input at all: fine (an empty body) */
    content_decoder *d;
    assert_int_equal(content_decoder_new("br", &d), 0);
    content_buf_init(&out, 100);
    assert_int_equal(content_decoder_finish(d, &out), 0);
    content_decoder_free(d);
    content_buf_destroy(&out);
    free(gz.p);
}

static void test_garbage_never_crashes(void **state)
{
    (void)state;
    const char *encs[] = {"gzip", "deflate", "br", "zstd", "br, gzip", "zstd, deflate"};
    uint32_t seed = 12345;
    uint8_t buf[4096];
    for (int round = 0; round < 300; round++) {
        size_t len = seed % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 16);
        }
        /* sometimes start with a valid magic so the decoders get further */
        if (round % 3 == 0 && len > 4) {
            buf[0] = 0x1f;
            buf[1] = 0x8b;
            buf[2] = 8;
            buf[3] = 0;
        }
        content_decoder *d;
        assert_int_equal(content_decoder_new(encs[round % 6], &d), 0);
        content_buf out;
        content_buf_init(&out, 1 << 16);
        for (size_t off = 0, k; off < len; off += k) {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % 300;
            if (k > len - off)
                k = len - off;
            content_decoder_write(d, buf + off, k, &out);
        }
        (void)content_decoder_finish(d, &out);
        assert_true(out.len <= 1 << 16);
        content_decoder_free(d);
        content_buf_destroy(&out);
    }
}

static void test_content_buf(void **state)
{
    (void)state;
    content_buf b;
    content_buf_init(&b, 10);
    content_buf_append(&b, "hello", 5);
    content_buf_append(&b, " world!", 7);
    assert_int_equal(b.len, 10);
    assert_string_equal((char *)b.data, "hello worl");
    assert_int_equal(b.dropped, 2);
    assert_true(b.truncated);
    size_t n;
    uint8_t *p = content_buf_release(&b, &n);
    assert_int_equal(n, 10);
    assert_null(b.data);
    free(p);
    p = content_buf_release(&b, &n); /* empty: still a NUL-terminated buffer */
    assert_non_null(p);
    assert_int_equal(n, 0);
    assert_int_equal(p[0], 0);
    free(p);
    content_buf_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_and_xgzip),
        cmocka_unit_test(test_deflate_zlib_and_raw),
        cmocka_unit_test(test_brotli),
        cmocka_unit_test(test_zstd),
        cmocka_unit_test(test_identity_and_lists),
        cmocka_unit_test(test_stacked),
        cmocka_unit_test(test_gzip_members_and_trailing),
        cmocka_unit_test(test_bombs_bounded),
        cmocka_unit_test(test_limit_exact_is_not_truncated),
        cmocka_unit_test(test_mislabelled_body_passes_through),
        cmocka_unit_test(test_corrupt_and_cut_streams),
        cmocka_unit_test(test_garbage_never_crashes),
        cmocka_unit_test(test_content_buf),
    };
    return cmocka_run_group_tests_name("content", tests, NULL, NULL);
}

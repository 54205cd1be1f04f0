/* fuzz_sse.c: libFuzzer target for the Server-Sent Events parser
 * (src/stream/sse.c).  Input: [split seed][limit] then the stream.
 *
 * Besides memory safety it checks the parser's central promise, that any
 * split of a stream gives the same events: the stream is parsed once fed
 * in PRNG-sized pieces and once whole (sse_parse_all), and the two event
 * sequences (name, data, id, offset, in order) must agree, as must the
 * truncation counts.  Each event's strings must be NUL-terminated where
 * they say. */
#include <string.h>

#include "fuzz.h"
#include "stream/sse.h"

typedef struct sse_digest {
    size_t events;
    uint64_t hash;
} sse_digest;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void on_event(void *ctx, const sse_event *ev)
{
    sse_digest *d = ctx;
    FUZZ_CHECK(ev->event && ev->data && ev->id);
    FUZZ_CHECK(ev->data[ev->data_len] == 0);
    size_t el = strlen(ev->event), il = strlen(ev->id);
    d->hash = fnv(d->hash, ev->event, el + 1);
    d->hash = fnv(d->hash, ev->data, ev->data_len);
    d->hash = fnv(d->hash, &ev->data_len, sizeof ev->data_len);
    d->hash = fnv(d->hash, ev->id, il + 1);
    d->hash = fnv(d->hash, &ev->offset, sizeof ev->offset);
    d->events++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const size_t limits[] = {0, 1, 7, 64, 4096};
    size_t limit = limits[data[1] % 5];
    uint8_t seed = data[0];
    data += 2;
    size -= 2;

    sse_digest split = {0, 0xcbf29ce484222325ull}, whole = split;
    sse_parser *p = sse_parser_new(limit, on_event, &split);
    FUZZ_CHECK(p != NULL);
    fuzz_rng r;
    fuzz_rng_init(&r, seed);
    for (size_t off = 0; off < size;) {
        size_t n = fuzz_piece(&r, seed, size - off);
        sse_parser_feed(p, data + off, n);
        off += n;
    }
    sse_parser_finish(p);
    uint64_t split_trunc = sse_parser_truncated(p);
    sse_parser_free(p);

    p = sse_parser_new(limit, on_event, &whole);
    FUZZ_CHECK(p != NULL);
    sse_parser_feed(p, data, size);
    sse_parser_finish(p);
    uint64_t whole_trunc = sse_parser_truncated(p);
    sse_parser_free(p);

    FUZZ_CHECK(split.events == whole.events);
    FUZZ_CHECK(split.hash == whole.hash);
    FUZZ_CHECK(split_trunc == whole_trunc);
    if (limit == 0) /* the default limit: sse_parse_all must agree too */
        FUZZ_CHECK(sse_parse_all(data, size, NULL, NULL) == whole.events);
    return 0;
}

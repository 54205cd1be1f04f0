/* content.c: streaming content-coding decoders (see content.h).
 *
 * A decoder is a short pipeline of stages, one per coding, in the reverse of
 * the order the sender applied them.  Each stage wraps one library (zlib for
 * gzip/deflate, libbrotlidec, libzstd) behind the same step function: take
 * some input, write some output, say whether more output is pending.  The
 * last stage writes straight into the caller's content_buf; earlier stages
 * write into an on-stack scratch buffer that is passed down at once.
 *
 * "deflate" is meant to be zlib-wrapped (RFC 9110) but many servers send raw
 * deflate; the first two bytes tell which (a valid zlib header is a multiple
 * of 31 with method 8).  gzip accepts concatenated members.  zstd windows are
 * capped at 8 MiB as RFC 8878 asks of HTTP decoders, so a hostile frame
 * cannot make us allocate more. */
#include "stream/content.h"

#include <brotli/decode.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#define MAX_STAGES 4
#define RAW_KEEP_MAX (64 * 1024)   /* raw input kept until the first output */
#define SCRATCH_BYTES (16 * 1024)  /* between stacked stages */
#define PROBE_BYTES 64             /* output probe once the buffer is full */
#define BUF_MIN_CAP 4096
#define BUF_SHRINK_SLACK (64 * 1024)
#define ZSTD_WINDOW_LOG_MAX 23     /* 8 MiB */
#define STEP_MAX ((size_t)1 << 30) /* zlib counts in 32 bits */

/* ---- content_buf ---------------------------------------------------- */

void content_buf_init(content_buf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

void content_buf_destroy(content_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

size_t content_buf_reserve(content_buf *b, size_t want)
{
    if (b->len >= b->limit)
        return 0;
    size_t room = b->limit - b->len;
    if (want > room)
        want = room;
    size_t free_now = b->cap ? b->cap - 1 - b->len : 0;
    if (free_now >= want && free_now > 0)
        return free_now;
    size_t need = b->len + want + 1;
    size_t ncap = b->cap ? b->cap * 2 : BUF_MIN_CAP;
    if (ncap < need)
        ncap = need;
    if (ncap > b->limit + 1)
        ncap = b->limit + 1;
    uint8_t *nd = realloc(b->data, ncap);
    if (!nd)
        return free_now;
    b->data = nd;
    b->cap = ncap;
    b->data[b->len] = 0;
    return b->cap - 1 - b->len;
}

void content_buf_append(content_buf *b, const void *p, size_t n)
{
    size_t keep = b->len < b->limit ? b->limit - b->len : 0;
    if (keep > n)
        keep = n;
    if (keep) {
        size_t room = content_buf_reserve(b, keep);
        if (keep > room)
            keep = room;
        memcpy(b->data + b->len, p, keep);
        b->len += keep;
        b->data[b->len] = 0;
    }
    if (n > keep) {
        b->dropped += n - keep;
        b->truncated = 1;
    }
}

uint8_t *content_buf_release(content_buf *b, size_t *len)
{
    uint8_t *d = b->data;
    size_t n = b->len;
    if (!d) {
        d = malloc(1);
        if (d)
            d[0] = 0;
        n = 0;
    } else if (b->cap - n - 1 > BUF_SHRINK_SLACK) {
        uint8_t *s = realloc(d, n + 1);
        if (s)
            d = s;
    }
    b->data = NULL;
    b->len = b->cap = 0;
    *len = n;
    return d;
}

/* ---- stages ----------------------------------------------------------- */

typedef enum { ST_GZIP, ST_DEFLATE, ST_BR, ST_ZSTD } stage_kind;

typedef struct stage {
    stage_kind kind;
    int ready;              /* library state initialised */
    int ended;              /* the coded stream reached its end */
    z_stream z;
    BrotliDecoderState *br;
    ZSTD_DStream *zs;
    uint8_t hdr[2];         /* deflate: first two bytes, kept to pick zlib or raw */
    uint8_t nhdr, hdr_used;
} stage;

struct content_decoder {
    stage st[MAX_STAGES];
    size_t nstages;
    int failed;       /* corrupt input seen */
    int passthrough;  /* failed before any output: raw bytes go to the body */
    int full;         /* output limit reached: input is only counted */
    int produced;     /* some output reached the buffer */
    uint64_t total_in;
    size_t out_base;  /* out->len before the first write */
    uint8_t *raw;     /* the first RAW_KEEP_MAX input bytes, for passthrough */
    size_t raw_len;
    int raw_over;     /* input went past RAW_KEEP_MAX: no passthrough any more */
};

enum { STEP_OK = 0, STEP_ERR = -1 };

static int zlib_header_is_valid(const uint8_t h[2])
{
    return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((h[0] << 8) | h[1]) % 31 == 0;
}

static int zlib_start(stage *s, const uint8_t **in, size_t *in_len)
{
    int wbits = 15 + 32; /* gzip: gzip or zlib header, auto-detected */
    if (s->kind == ST_DEFLATE) {
        while (s->nhdr < 2 && *in_len) {
            s->hdr[s->nhdr++] = **in;
            (*in)++;
            (*in_len)--;
        }
        if (s->nhdr < 2)
            return 0;
        wbits = zlib_header_is_valid(s->hdr) ? 15 : -15;
    }
    memset(&s->z, 0, sizeof s->z);
    if (inflateInit2(&s->z, wbits) != Z_OK)
        return -1;
    s->ready = 1;
    return 0;
}

static int zlib_step(stage *s, const uint8_t **in, size_t *in_len, uint8_t *out,
                     size_t cap, size_t *produced, int *more)
{
    if (!s->ready) {
        if (zlib_start(s, in, in_len) < 0)
            return STEP_ERR;
        if (!s->ready)
            return STEP_OK;
    }
    int from_hdr = s->hdr_used < s->nhdr;
    const uint8_t *src = from_hdr ? s->hdr + s->hdr_used : *in;
    size_t srclen = from_hdr ? (size_t)(s->nhdr - s->hdr_used) : *in_len;
    if (srclen > STEP_MAX)
        srclen = STEP_MAX;
    if (cap > STEP_MAX)
        cap = STEP_MAX;
    s->z.next_in = (Bytef *)src;
    s->z.avail_in = (uInt)srclen;
    s->z.next_out = out;
    s->z.avail_out = (uInt)cap;
    int r = inflate(&s->z, Z_NO_FLUSH);
    size_t used = srclen - s->z.avail_in;
    if (from_hdr) {
        s->hdr_used += (uint8_t)used;
    } else {
        *in += used;
        *in_len -= used;
    }
    *produced = cap - s->z.avail_out;
    *more = s->z.avail_out == 0;
    if (r == Z_STREAM_END) {
        s->ended = 1;
        return STEP_OK;
    }
    return (r == Z_OK || r == Z_BUF_ERROR) ? STEP_OK : STEP_ERR;
}

static int br_step(stage *s, const uint8_t **in, size_t *in_len, uint8_t *out,
                   size_t cap, size_t *produced, int *more)
{
    if (!s->ready) {
        s->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (!s->br)
            return STEP_ERR;
        s->ready = 1;
    }
    size_t avail_in = *in_len, avail_out = cap;
    const uint8_t *next_in = *in;
    uint8_t *next_out = out;
    BrotliDecoderResult r =
        BrotliDecoderDecompressStream(s->br, &avail_in, &next_in, &avail_out, &next_out, NULL);
    *in = next_in;
    *in_len = avail_in;
    *produced = cap - avail_out;
    *more = r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT || BrotliDecoderHasMoreOutput(s->br);
    if (r == BROTLI_DECODER_RESULT_ERROR)
        return STEP_ERR;
    if (r == BROTLI_DECODER_RESULT_SUCCESS)
        s->ended = 1;
    return STEP_OK;
}

static int zstd_step(stage *s, const uint8_t **in, size_t *in_len, uint8_t *out,
                     size_t cap, size_t *produced, int *more)
{
    if (!s->ready) {
        s->zs = ZSTD_createDStream();
        if (!s->zs)
            return STEP_ERR;
        if (ZSTD_isError(ZSTD_DCtx_setParameter(s->zs, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX)))
            return STEP_ERR;
        s->ready = 1;
    }
    ZSTD_inBuffer ib = {*in, *in_len, 0};
    ZSTD_outBuffer ob = {out, cap, 0};
    size_t r = ZSTD_decompressStream(s->zs, &ob, &ib);
    *in += ib.pos;
    *in_len -= ib.pos;
    *produced = ob.pos;
    *more = ob.pos == cap;
    if (ZSTD_isError(r))
        return STEP_ERR;
    s->ended = r == 0; /* a later frame may follow; zstd starts it by itself */
    return STEP_OK;
}

/* After its stream ended a stage takes a new gzip member (or zstd frame);
 * anything else is trailing garbage and is dropped. */
static int stage_accepts_more(stage *s, const uint8_t *in, size_t in_len)
{
    if (s->kind == ST_ZSTD)
        return 1;
    if (s->kind == ST_GZIP && in_len && in[0] == 0x1f && inflateReset(&s->z) == Z_OK) {
        s->ended = 0;
        return 1;
    }
    return 0;
}

static int stage_step(stage *s, const uint8_t **in, size_t *in_len, uint8_t *out,
                      size_t cap, size_t *produced, int *more)
{
    *produced = 0;
    *more = 0;
    if (s->ended && *in_len && !stage_accepts_more(s, *in, *in_len)) {
        *in += *in_len;
        *in_len = 0;
        return STEP_OK;
    }
    switch (s->kind) {
    case ST_GZIP:
    case ST_DEFLATE:
        return zlib_step(s, in, in_len, out, cap, produced, more);
    case ST_BR:
        return br_step(s, in, in_len, out, cap, produced, more);
    case ST_ZSTD:
        return zstd_step(s, in, in_len, out, cap, produced, more);
    }
    return STEP_ERR;
}

static void stage_destroy(stage *s)
{
    if (!s->ready)
        return;
    if (s->kind == ST_GZIP || s->kind == ST_DEFLATE)
        inflateEnd(&s->z);
    if (s->br)
        BrotliDecoderDestroyInstance(s->br);
    if (s->zs)
        ZSTD_freeDStream(s->zs);
    s->ready = 0;
}

/* ---- the pipeline ------------------------------------------------------ */

enum { RUN_OK = 0, RUN_FULL = 1, RUN_ERR = -1 };

/* Give the final stage's output a place to go: free space in the buffer, or
 * a small probe once the limit is reached (to learn whether more output
 * exists, which makes the body truncated). */
static uint8_t *final_space(content_buf *out, uint8_t *probe, size_t *cap, int *probing)
{
    size_t room = content_buf_reserve(out, out->len < BUF_MIN_CAP ? BUF_MIN_CAP : out->len);
    if (room) {
        *cap = room;
        *probing = 0;
        return out->data + out->len;
    }
    *cap = PROBE_BYTES;
    *probing = 1;
    return probe;
}

static int run_stage(content_decoder *d, size_t k, const uint8_t *in, size_t n, content_buf *out)
{
    stage *s = &d->st[k];
    int last = k + 1 == d->nstages;
    uint8_t scratch[SCRATCH_BYTES];
    uint8_t probe[PROBE_BYTES];
    for (;;) {
        uint8_t *dst;
        size_t cap, produced, before = n;
        int probing = 0, more;
        if (last) {
            dst = final_space(out, probe, &cap, &probing);
        } else {
            dst = scratch;
            cap = sizeof scratch;
        }
        if (stage_step(s, &in, &n, dst, cap, &produced, &more) != STEP_OK)
            return RUN_ERR;
        if (produced) {
            if (probing) {
                out->dropped += produced + n;
                out->truncated = 1;
                return RUN_FULL;
            }
            if (last) {
                out->len += produced;
                out->data[out->len] = 0;
            } else {
                int r = run_stage(d, k + 1, dst, produced, out);
                if (r != RUN_OK)
                    return r;
            }
        }
        if (n == 0 && !more)
            return RUN_OK;
        if (produced == 0 && n == before)
            return RUN_OK; /* no progress possible: wait for more input */
    }
}

static int parse_coding(const char *tok, size_t len, stage_kind *kind)
{
    static const struct { const char *name; stage_kind kind; } names[] = {
        {"gzip", ST_GZIP}, {"x-gzip", ST_GZIP}, {"deflate", ST_DEFLATE},
        {"br", ST_BR},     {"zstd", ST_ZSTD},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == len && strncasecmp(tok, names[i].name, len) == 0) {
            *kind = names[i].kind;
            return 1;
        }
    }
    if (len == 8 && strncasecmp(tok, "identity", 8) == 0)
        return 0;
    return -1;
}

int content_decoder_new(const char *encodings, content_decoder **out)
{
    stage_kind kinds[MAX_STAGES];
    size_t nk = 0;
    *out = NULL;
    const char *p = encodings ? encodings : "";
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ';')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        while (*p && *p != ',') /* parameters are ignored */
            p++;
        if (end == start)
            continue;
        stage_kind k;
        int r = parse_coding(start, (size_t)(end - start), &k);
        if (r < 0 || (r > 0 && nk == MAX_STAGES))
            return -1;
        if (r > 0)
            kinds[nk++] = k;
    }
    if (nk == 0)
        return 0;
    content_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->nstages = nk;
    for (size_t i = 0; i < nk; i++)
        d->st[i].kind = kinds[nk - 1 - i]; /* undo the last coding first */
    *out = d;
    return 0;
}

void content_decoder_free(content_decoder *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nstages; i++)
        stage_destroy(&d->st[i]);
    free(d->raw);
    free(d);
}

static void raw_keep(content_decoder *d, const uint8_t *in, size_t n)
{
    if (d->raw_over)
        return;
    if (d->raw_len + n > RAW_KEEP_MAX) {
        d->raw_over = 1;
        free(d->raw);
        d->raw = NULL;
        d->raw_len = 0;
        return;
    }
    uint8_t *r = realloc(d->raw, d->raw_len + n);
    if (!r) {
        d->raw_over = 1;
        return;
    }
    memcpy(r + d->raw_len, in, n);
    d->raw = r;
    d->raw_len += n;
}

static void raw_drop(content_decoder *d)
{
    free(d->raw);
    d->raw = NULL;
    d->raw_len = 0;
}

/* Decoding failed.  Within the first RAW_KEEP_MAX input bytes the body
 * becomes the raw bytes (a mislabelled body, or raw deflate that was really
 * plain text, decodes to garbage first); later, the decoded prefix stays. */
static void decoder_fail(content_decoder *d, content_buf *out)
{
    d->failed = 1;
    if (!d->raw_over) {
        d->passthrough = 1;
        out->len = d->out_base;
        if (out->data)
            out->data[out->len] = 0;
        out->dropped = 0;
        out->truncated = 0;
        content_buf_append(out, d->raw, d->raw_len);
    }
    raw_drop(d);
}

void content_decoder_write(content_decoder *d, const uint8_t *in, size_t n, content_buf *out)
{
    if (n == 0)
        return;
    if (d->total_in == 0)
        d->out_base = out->len;
    d->total_in += n;
    if (d->passthrough) {
        content_buf_append(out, in, n);
        return;
    }
    if (d->full) {
        out->dropped += n;
        return;
    }
    if (d->failed)
        return;
    raw_keep(d, in, n);
    int r = run_stage(d, 0, in, n, out);
    if (out->len > d->out_base || out->truncated)
        d->produced = 1;
    if (r == RUN_FULL) {
        d->full = 1;
        raw_drop(d);
    } else if (r == RUN_ERR) {
        decoder_fail(d, out);
    }
}

int content_decoder_finish(content_decoder *d, content_buf *out)
{
    if (d->failed)
        return -1;
    if (d->full || d->total_in == 0)
        return 0;
    for (size_t i = 0; i < d->nstages; i++) {
        if (!d->st[i].ended) {
            if (!d->produced) {
                decoder_fail(d, out); /* nothing decoded: show the raw bytes */
                return -1;
            }
            raw_drop(d);
            return 1;
        }
    }
    raw_drop(d);
    return 0;
}

int content_decoder_failed(const content_decoder *d)
{
    return d ? d->failed : 0;
}

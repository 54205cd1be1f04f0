/* stage.c: see stage.h.
 *
 * Layout: one anonymous mapping cut into STAGE_BLOCK-byte blocks.  Each
 * record is an 8-byte header (its length) and its bytes, padded to 8; a
 * block's records end at an END header or at the block's end.  The blocks
 * holding data are in a FIFO, oldest first; the last of them is the one the
 * producer fills, readable up to pub_off.  A drained block goes on top of a
 * stack of free blocks, and the producer takes the top one: the same few
 * blocks are used over and over, so the pages touched are as many as the
 * backlog is deep, however much passes through.  When the queue is empty
 * the producer starts its block again from offset 0, and after
 * RELEASE_IDLE_NS of emptiness every page is given back (MADV_DONTNEED).
 *
 * Both sides copy outside the mutex; they exchange positions under it once
 * per batch (producer) or drain (consumer), and once per block. */
#include "capture/stage.h"
#include "util/monotime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define STAGE_BLOCK (256u * 1024u)
#define HDR 8u
#define END UINT32_MAX
#define RELEASE_IDLE_NS 2000000000ull

struct stage {
    uint8_t *base;
    size_t nblocks, max_rec;
    pthread_mutex_t mu;
    pthread_cond_t data, room;
    /* under mu */
    uint32_t *fifo;  /* blocks with data, oldest first, a ring of nblocks slots */
    size_t fhead, fcount;
    uint32_t *free_stack;
    size_t nfree;
    size_t pub_off;  /* published bytes of the last block in the FIFO */
    size_t hoff;     /* the consumer's offset in the first block */
    int consumer_waiting, producer_waiting;
    int dirty;       /* pages touched since the last release */
    uint64_t last_busy, queued, peak;
    /* the producer's own: its block (the last in the FIFO) and offset in it */
    uint32_t pblock;
    size_t poff;
};

static size_t rec_size(size_t len) { return (HDR + len + 7) & ~(size_t)7; }

static uint8_t *block_at(const stage *st, uint32_t b) { return st->base + (size_t)b * STAGE_BLOCK; }

static uint32_t fifo_get(const stage *st, size_t i) { return st->fifo[(st->fhead + i) % st->nblocks]; }

static void deadline_in(struct timespec *ts, int ms)
{
    mono_timespec(ts, mono_ns() + (uint64_t)(ms > 0 ? ms : 0) * 1000000ull);
}

stage *stage_new(size_t cap, size_t max_rec)
{
    size_t nblocks = cap / STAGE_BLOCK;
    if (max_rec == 0 || rec_size(max_rec) + HDR > STAGE_BLOCK || nblocks < 4)
        return NULL;
    stage *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->base = mmap(NULL, nblocks * STAGE_BLOCK, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    st->fifo = calloc(nblocks, sizeof(uint32_t));
    st->free_stack = calloc(nblocks, sizeof(uint32_t));
    if (st->base == MAP_FAILED || !st->fifo || !st->free_stack) {
        if (st->base != MAP_FAILED)
            munmap(st->base, nblocks * STAGE_BLOCK);
        free(st->fifo);
        free(st->free_stack);
        free(st);
        return NULL;
    }
    st->nblocks = nblocks;
    st->max_rec = max_rec;
    for (size_t i = 0; i < nblocks; i++) /* block 0 on top */
        st->free_stack[i] = (uint32_t)(nblocks - 1 - i);
    st->nfree = nblocks;
    pthread_mutex_init(&st->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->data, &ca);
    pthread_cond_init(&st->room, &ca);
    pthread_condattr_destroy(&ca);
    return st;
}

void stage_free(stage *st)
{
    if (!st)
        return;
    munmap(st->base, st->nblocks * STAGE_BLOCK);
    free(st->fifo);
    free(st->free_stack);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->data);
    pthread_cond_destroy(&st->room);
    free(st);
}

/* Under mu: the queue holds nothing the consumer has not handed on. */
static int is_empty(const stage *st) { return st->fcount <= 1 && st->hoff == st->pub_off; }

static void release_if_idle(stage *st, uint64_t now)
{
    if (!st->dirty || now - st->last_busy < RELEASE_IDLE_NS)
        return;
    madvise(st->base, st->nblocks * STAGE_BLOCK, MADV_DONTNEED);
    st->dirty = 0;
}

/* Under mu: appends the top free block to the FIFO as the producer's. */
static void take_block(stage *st)
{
    st->pblock = st->free_stack[--st->nfree];
    st->fifo[(st->fhead + st->fcount++) % st->nblocks] = st->pblock;
    st->pub_off = 0;
    st->poff = 0;
    if (st->fcount == 1)
        st->hoff = 0;
}

static int block_has_room(const stage *st, size_t n) { return st->poff + n + HDR <= STAGE_BLOCK; }

int stage_begin(stage *st, int timeout_ms)
{
    struct timespec dl;
    deadline_in(&dl, timeout_ms);
    size_t need = rec_size(st->max_rec);
    pthread_mutex_lock(&st->mu);
    if (is_empty(st)) { /* start the block over; nothing in it is wanted */
        st->hoff = st->pub_off = st->poff = 0;
        release_if_idle(st, mono_ns());
    }
    while (!(st->fcount && block_has_room(st, need)) && st->nfree == 0) {
        st->producer_waiting = 1;
        int rc = pthread_cond_timedwait(&st->room, &st->mu, &dl);
        st->producer_waiting = 0;
        if (rc) {
            pthread_mutex_unlock(&st->mu);
            return 0;
        }
    }
    if (!st->fcount)
        take_block(st);
    pthread_mutex_unlock(&st->mu);
    return 1;
}

/* Ends the producer's block and moves to a free one: returns 0 if none. */
static int next_block(stage *st)
{
    uint8_t *blk = block_at(st, st->pblock);
    if (st->poff + HDR <= STAGE_BLOCK) {
        uint32_t e = END;
        memcpy(blk + st->poff, &e, sizeof(e));
    }
    pthread_mutex_lock(&st->mu);
    int ok = st->nfree > 0;
    st->queued += st->poff - st->pub_off; /* the block's records are visible now */
    if (ok)
        take_block(st);
    else
        st->pub_off = st->poff;
    pthread_mutex_unlock(&st->mu);
    return ok;
}

int stage_push(stage *st, const void *rec, size_t len)
{
    size_t n = rec_size(len);
    if (len > st->max_rec || (!block_has_room(st, n) && !next_block(st)))
        return -1;
    uint8_t *at = block_at(st, st->pblock) + st->poff;
    uint32_t l = (uint32_t)len;
    memcpy(at, &l, sizeof(l));
    memcpy(at + HDR, rec, len);
    st->poff += n;
    if (block_has_room(st, rec_size(st->max_rec)))
        return 1;
    pthread_mutex_lock(&st->mu);
    int more = st->nfree > 0;
    pthread_mutex_unlock(&st->mu);
    return more;
}

void stage_publish(stage *st)
{
    pthread_mutex_lock(&st->mu);
    if (st->fcount && st->poff != st->pub_off) {
        st->queued += st->poff - st->pub_off;
        st->pub_off = st->poff;
        st->last_busy = mono_ns();
        st->dirty = 1;
        if (st->queued > st->peak)
            st->peak = st->queued;
        if (st->consumer_waiting)
            pthread_cond_signal(&st->data);
    }
    pthread_mutex_unlock(&st->mu);
}

int stage_wait(stage *st, int timeout_ms)
{
    struct timespec dl;
    deadline_in(&dl, timeout_ms);
    pthread_mutex_lock(&st->mu);
    int rc = 0;
    while (is_empty(st) && rc == 0 && timeout_ms > 0) {
        st->consumer_waiting = 1;
        rc = pthread_cond_timedwait(&st->data, &st->mu, &dl);
        st->consumer_waiting = 0;
    }
    int have = !is_empty(st);
    pthread_mutex_unlock(&st->mu);
    return have;
}

/* Hands the records of block b from *off up to end (or its END) to fn;
 * adds the bytes they took to *bytes. */
static size_t drain_block(const stage *st, uint32_t b, size_t *off, size_t end, size_t *bytes,
                          void (*fn)(void *, void *, size_t), void *ctx)
{
    uint8_t *blk = block_at(st, b);
    size_t n = 0;
    while (*off + HDR <= end) {
        uint32_t len;
        memcpy(&len, blk + *off, sizeof(len));
        if (len == END)
            break;
        fn(ctx, blk + *off + HDR, len);
        *off += rec_size(len);
        *bytes += rec_size(len);
        n++;
    }
    return n;
}

size_t stage_drain(stage *st, void (*fn)(void *ctx, void *rec, size_t len), void *ctx)
{
    pthread_mutex_lock(&st->mu);
    size_t count = st->fcount, last_end = st->pub_off, off = st->hoff;
    pthread_mutex_unlock(&st->mu);
    /* Nothing to hand on: leave hoff alone, the producer may be starting
     * its block over. */
    if (count <= 1 && off == last_end)
        return 0;
    size_t n = 0, done = 0, bytes = 0;
    for (size_t i = 0; i < count; i++) {
        int last = i + 1 == count;
        n += drain_block(st, fifo_get(st, i), &off, last ? last_end : STAGE_BLOCK, &bytes, fn, ctx);
        if (last)
            break;
        done++;
        off = 0;
    }
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < done; i++) /* the oldest freed goes deepest */
        st->free_stack[st->nfree++] = fifo_get(st, i);
    st->fhead = (st->fhead + done) % st->nblocks;
    st->fcount -= done;
    st->hoff = off;
    st->queued -= bytes;
    if (st->producer_waiting)
        pthread_cond_signal(&st->room);
    pthread_mutex_unlock(&st->mu);
    return n;
}

size_t stage_resident(stage *st)
{
    size_t len = st->nblocks * STAGE_BLOCK, pg = (size_t)sysconf(_SC_PAGESIZE), n = 0;
    unsigned char *vec = malloc(len / pg);
    if (vec && mincore(st->base, len, vec) == 0)
        for (size_t i = 0; i < len / pg; i++)
            n += vec[i] & 1;
    free(vec);
    return n * pg;
}

void stage_get_stats(stage *st, stage_stats *out)
{
    pthread_mutex_lock(&st->mu);
    out->queued_bytes = st->queued;
    out->peak_bytes = st->peak;
    pthread_mutex_unlock(&st->mu);
}

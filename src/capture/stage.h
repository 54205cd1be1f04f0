/* stage.h: the queue between the ring-buffer reader thread and the decoder.
 *
 * The reader copies records out of the kernel ring as soon as it is woken,
 * so the ring (which the kernel keeps allocated and mapped twice for good)
 * can be small, and a burst waits here instead, in memory that is touched
 * only as deep as the backlog goes and given back once the queue has been
 * empty for a while.  One producer thread, one consumer thread; records
 * come out in the order they went in.
 *
 * Producer:  stage_begin() (waits for room), then stage_push() for each
 *            record while it returns 1, then stage_publish().
 * Consumer:  stage_wait(), then stage_drain(). */
#ifndef OISP_CAPTURE_STAGE_H
#define OISP_CAPTURE_STAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct stage stage;

typedef struct stage_stats {
    uint64_t queued_bytes; /* published and not yet drained */
    uint64_t peak_bytes;   /* the deepest the queue has been */
} stage_stats;

/* cap: bytes reserved (address space; touched on demand), cut into 256 KiB
 * blocks; max_rec: the largest record that will be pushed.  NULL if cap
 * holds fewer than 4 blocks, a largest record does not fit one block, or
 * the reservation fails. */
stage *stage_new(size_t cap, size_t max_rec);
void stage_free(stage *st);

/* Producer: waits up to timeout_ms for room for one largest record.
 * Returns 1 when there is room (a batch may start), 0 on timeout. */
int stage_begin(stage *st, int timeout_ms);

/* Producer, inside a batch: copies one record in.  Returns 1 if there is
 * still room for another largest record, 0 if the batch must end (publish,
 * then begin again), -1 if the record was not copied: it is larger than
 * max_rec, or the batch went on after a 0. */
int stage_push(stage *st, const void *rec, size_t len);

/* Producer: makes the batch's records visible and wakes the consumer. */
void stage_publish(stage *st);

/* Consumer: waits up to timeout_ms for published records; 1 if there are. */
int stage_wait(stage *st, int timeout_ms);

/* Consumer: hands every published record to fn, in order, then frees their
 * room.  Returns how many were handed. */
size_t stage_drain(stage *st, void (*fn)(void *ctx, void *rec, size_t len), void *ctx);

void stage_get_stats(stage *st, stage_stats *out);

/* Bytes of the queue's memory that are resident (mincore), for tests. */
size_t stage_resident(stage *st);

#endif

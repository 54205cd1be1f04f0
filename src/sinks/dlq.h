/* dlq.h: dead-letter files, where a sink keeps the events it could not
 * deliver.
 *
 * Layout.  One file per sink: DIR/KIND-TARGET-HASH.jsonl, where TARGET is
 * the sink's target (URL, brokers/topic) with every character outside
 * [A-Za-z0-9._-] replaced by '_' (cut to 80) and HASH the FNV-1a hash of
 * the full target, so two sinks never share a file.  DIR is the configured
 * dead_letter_dir, by default /var/lib/oisp/dlq for root and ./dlq for
 * anyone else (dlq_default_dir); it is created with mode 0700.
 *
 * Content.  The event lines exactly as the sink got them, one per line, in
 * a file of mode 0600.  Each append is one writev() of whole lines with
 * O_APPEND; a crash can leave at most a final line without '\n', which
 * readers (dlq replay) skip.  Which sink the events were for is kept in a
 * side header FILE.sink (JSON: {"kind","target","options","needs"}), written
 * when the file is created, so the event lines stay untouched.  Secrets
 * (tokens, passwords) are never written there: "needs" lists the options
 * that must be given again to replay.
 *
 * Replay while the sensor runs.  dlq_claim() locks the file (flock),
 * renames it to FILE.replaying.PID and keeps reading it; a writer takes the
 * same lock, non-blocking, around each append and, if the lock is held or
 * its path now names another file, reopens the path, so appends made during
 * a replay go to a fresh FILE and none are lost. */
#ifndef OISP_SINKS_DLQ_H
#define OISP_SINKS_DLQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct dlq dlq;

/* "/var/lib/oisp/dlq" when running as root, else "./dlq". */
const char *dlq_default_dir(void);
/* DIR/KIND-TARGET-HASH.jsonl into out.  -1 if it does not fit. */
int dlq_path_for(const char *dir, const char *kind, const char *target, char *out, size_t n);

/* Nothing is opened until the first append. header is the side header's
 * JSON (NULL: {"kind":..,"target":..}). */
dlq *dlq_new(const char *path, const char *kind, const char *target, const char *header);
void dlq_free(dlq *q);
const char *dlq_path(const dlq *q);
/* Appends n lines (each without '\n'; one is added).  Thread-safe.
 * Returns how many lines were written whole; the rest were not written
 * (an error, reason in err). */
size_t dlq_append(dlq *q, const char *const *lines, const size_t *lens, size_t n, char *err,
                  size_t errlen);

/* For replay: takes the file at path away from its writers (see above).
 * Returns an fd open for reading the claimed file, positioned at 0, and
 * its new name in claimed; -1 with err if it cannot. */
int dlq_claim(const char *path, char *claimed, size_t n, char *err, size_t errlen);

#endif

/* jsonl.h: the JSON Lines file sink.
 *
 * Lines are buffered and written with one write()/writev() per flush,
 * always whole lines (a line larger than the buffer is written alone, line
 * and '\n' in one writev()), with O_APPEND, to a file created with mode
 * 0600 ("-" is standard output).
 *
 * Torn lines.  A crash (kill -9, power loss) can at worst leave the file
 * ending in a fragment without '\n'.  Readers skip a last line without
 * '\n' and any line that does not parse; when the sink reopens such a file
 * it first writes '\n', so the fragment stays a single unparseable line
 * and every later line is whole.  Nothing already written is changed.
 *
 * Rotation (regular files only).  With rotate_size, the file is rotated
 * before a line would take it past rotate_size bytes (a single line larger
 * than that gets a file of its own); with rotate_interval_s, once the file
 * has been open that long and holds data.  Rotation renames PATH to
 * PATH.1, PATH.1 to PATH.2, ... up to PATH.<rotate_keep> (the oldest is
 * deleted; rotate_keep 0 keeps no old file) and opens a new PATH, the
 * scheme logrotate uses, so `tail -F PATH` follows it.
 *
 * Flushing.  The buffer is written when full, when jsonl_flush() is called,
 * and by jsonl_write()/jsonl_tick() once the oldest buffered line is
 * flush_ms old.  With fsync_ms, a helper thread fdatasync()s the file that
 * often when it was written to, so the capture thread never waits for the
 * disk.
 *
 * Page cache.  Every 8 MiB written to a regular file, the same helper hands
 * the new data to writeback and drops the data handed over before from the
 * page cache: a sensor writing gigabytes keeps only the last few MB of its
 * output cached. */
#ifndef OISP_SINKS_JSONL_H
#define OISP_SINKS_JSONL_H

#include <stddef.h>
#include <stdint.h>

typedef struct jsonl_sink jsonl_sink;

typedef struct jsonl_opts {
    uint64_t rotate_size;  /* bytes, 0: no size rotation          (sinks.jsonl.rotate_size) */
    int rotate_interval_s; /* 0: no time rotation          (sinks.jsonl.rotate_interval) */
    int rotate_keep;       /* old files kept, default 5           (sinks.jsonl.rotate_keep) */
    int flush_ms;          /* max age of a buffered line, default 100 (sinks.jsonl.flush_interval) */
    int fsync_ms;          /* 0: never fsync                  (sinks.jsonl.fsync_interval) */
} jsonl_opts;

void jsonl_opts_default(jsonl_opts *o);

/* NULL on error, with the reason in err.  jsonl_open uses the defaults. */
jsonl_sink *jsonl_open(const char *path, char *err, size_t errlen);
jsonl_sink *jsonl_open_opts(const char *path, const jsonl_opts *o, char *err, size_t errlen);
/* Appends line (no newline in it) + "\n".  Returns 0, or -1 if the write
 * failed (the line is counted as dropped). */
int jsonl_write(jsonl_sink *s, const char *line, size_t len);
int jsonl_flush(jsonl_sink *s);
/* Flushes if the oldest buffered line is flush_ms old; rotates if due. */
void jsonl_tick(jsonl_sink *s);
void jsonl_close(jsonl_sink *s); /* flushes */

typedef struct jsonl_stats {
    uint64_t lines, bytes, dropped, write_errors, rotations;
} jsonl_stats;
const jsonl_stats *jsonl_get_stats(const jsonl_sink *s);

#endif

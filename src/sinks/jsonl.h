/* jsonl.h: the JSON Lines file sink.  Lines are buffered and written with
 * one write() per flush, always whole lines, to a file created with mode
 * 0600 ("-" is standard output).  A line never straddles two write() calls
 * unless it is larger than the buffer, so a crash leaves at most one torn
 * final line, which readers skip. */
#ifndef OISP_SINKS_JSONL_H
#define OISP_SINKS_JSONL_H

#include <stddef.h>
#include <stdint.h>

typedef struct jsonl_sink jsonl_sink;

/* NULL on error, with the reason in err. */
jsonl_sink *jsonl_open(const char *path, char *err, size_t errlen);
/* Appends line (no newline in it) + "\n".  Returns 0, or -1 if the write
 * failed (the line is counted as dropped). */
int jsonl_write(jsonl_sink *s, const char *line, size_t len);
int jsonl_flush(jsonl_sink *s);
void jsonl_close(jsonl_sink *s); /* flushes */

typedef struct jsonl_stats {
    uint64_t lines, bytes, dropped, write_errors;
} jsonl_stats;
const jsonl_stats *jsonl_get_stats(const jsonl_sink *s);

#endif

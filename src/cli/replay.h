/* replay.h: `oisp-sensor replay FILE`: send recorded OISP events (JSON
 * Lines, as `record` writes them) to the sinks a configuration names: the
 * JSONL file, the WebSocket stream the UI reads, OTLP, Kafka, webhooks.
 *
 * cmd_replay() is the command.  The pieces below it are public so that the
 * unit tests can drive them without sinks or clocks:
 *
 *   replay_reader   splits a file descriptor into lines with bounded memory
 *                   (a line longer than the limit is skipped, not buffered);
 *   replay_parse_line  tells an event line from a blank or malformed one;
 *   replay_pacer    says when each event is due (--rate, --realtime);
 *   replay_same_file   refuses to replay a file into itself. */
#ifndef OISP_CLI_REPLAY_H
#define OISP_CLI_REPLAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The command.  argv[0] is "replay".  Returns 0 when every event read was
 * delivered by every sink, 1 when a sink dropped or dead-lettered events
 * (or the input could not be read), 2 on a usage or configuration error. */
int cmd_replay(int argc, char **argv);

/* ---- lines ---- */

#define REPLAY_MAX_LINE (64u << 20) /* the longest event line replayed */

typedef struct replay_reader replay_reader;

/* Reads fd (not owned) in blocks; lines longer than max_line bytes are
 * skipped without being kept in memory.  NULL if out of memory. */
replay_reader *replay_reader_new(int fd, size_t max_line);
/* The next line, without its newline (or CR LF): returns 1 and sets
 * line and len (valid until the next call).  A skipped overlong line also
 * returns 1, with too_long set to 1 and len to 0.  A last line without a
 * newline is returned like the others.  0 at end of input, -1 on a read error
 * (errno set). */
int replay_reader_next(replay_reader *r, const char **line, size_t *len, int *too_long);
/* Lines returned so far (the 1-based number of the last one). */
size_t replay_reader_lineno(const replay_reader *r);
void replay_reader_free(replay_reader *r);

typedef enum {
    REPLAY_LINE_EVENT,     /* a JSON object with string event_type and event_id */
    REPLAY_LINE_BLANK,     /* only whitespace: ignored, not counted */
    REPLAY_LINE_NOT_JSON,  /* not one JSON value */
    REPLAY_LINE_NOT_EVENT, /* JSON, but not an object with event_type and event_id */
} replay_line_kind;

/* Classifies one line; for REPLAY_LINE_EVENT *ev gets a new reference to
 * the parsed event (else NULL). */
replay_line_kind replay_parse_line(const char *line, size_t len, json_t **ev);

/* "2025-03-01T12:00:00.123456Z" or with a "+02:00" offset, fractions of
 * any length (kept to the microsecond) -> microseconds since the epoch.
 * 0, or -1 if s is not an RFC 3339 date-time. */
int replay_parse_ts(const char *s, int64_t *us);

/* ---- pacing ---- */

typedef enum {
    REPLAY_FAST,     /* as fast as the sinks take them */
    REPLAY_RATE,     /* a fixed number of events per second */
    REPLAY_REALTIME, /* the gaps between the events' ts */
} replay_mode;

typedef struct replay_pacer {
    replay_mode mode;
    double rate;       /* events per second (REPLAY_RATE) */
    int started;
    uint64_t start_ns; /* monotonic time of the first event */
    uint64_t sent;     /* events paced so far */
    int have_first;
    int64_t first_ts_us; /* ts of the first event that had one */
    uint64_t last_due_ns;
} replay_pacer;

void replay_pacer_init(replay_pacer *p, replay_mode mode, double rate);
/* The monotonic time at which the next event is due; now_ns is the
 * current time (the first call starts the clock, so the first event is due
 * at once).  has_ts/ts_us: the event's ts (REPLAY_REALTIME).  Due times
 * never go backwards: an event older than the one before it, or without a
 * ts, is due with the one before it. */
uint64_t replay_pacer_due(replay_pacer *p, uint64_t now_ns, int has_ts, int64_t ts_us);

/* ---- safety ---- */

/* 1 if writing to out_path ("-" for stdout) would write into the file open
 * as in_fd (same device and inode, whatever the names), 0 if not (also when
 * out_path does not exist yet), -1 if in_fd cannot be examined. */
int replay_same_file(int in_fd, const char *out_path);

#endif

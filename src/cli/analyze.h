/* analyze.h: `oisp-sensor analyze`, reports over a recorded OISP JSONL file.
 *
 *   analyze traces FILE     one tree per trace: LLM calls -> tool calls ->
 *                           the host events they caused -> tool results
 *   analyze inventory FILE  providers, models, processes, API keys, counts
 *   analyze costs FILE      tokens and USD per provider, model and process
 *
 * cmd_analyze() is the command.  Below it, an analyzer takes event lines one
 * at a time (analyze_line) and writes its report at the end (analyze_end), so
 * the unit tests can drive it with in-memory lines.  The file is streamed;
 * memory is bounded by the limits below, never by the size of the file:
 *   - lines longer than ANALYZE_MAX_LINE are skipped (and counted);
 *   - traces keeps a small summary per event (ids, times, a few short
 *     fields: typically 200-600 bytes, whatever the event's size), up to
 *     max_memory bytes in all; past that, the least recently active traces
 *     are printed early and freed (later events of such a trace make a new
 *     block marked [continued]; the keys of up to 65536 traces printed early
 *     are remembered for that, about 100 bytes each);
 *   - inventory and costs keep at most ANALYZE_TABLE_MAX rows per table (the
 *     rest is added up in one "(other)" row) and at most ANALYZE_JOIN_MAX
 *     ai.request/ai.response halves waiting for their other half. */
#ifndef OISP_CLI_ANALYZE_H
#define OISP_CLI_ANALYZE_H

#include <stddef.h>
#include <stdio.h>

#include "cli/prices.h"

/* The command.  argv[0] is "analyze".  Returns the exit status: 0 ok, 1 read
 * error or --trace ID not found, 2 usage error, missing file or bad bundle. */
int cmd_analyze(int argc, char **argv);

#define ANALYZE_MAX_LINE        (32u << 20)
#define ANALYZE_MEMORY_DEFAULT  (256u << 20)
#define ANALYZE_TABLE_MAX       4096
#define ANALYZE_JOIN_MAX        16384

typedef enum analyze_report {
    ANALYZE_TRACES = 1,
    ANALYZE_INVENTORY,
    ANALYZE_COSTS,
} analyze_report;

/* costs --by: which tables to print (0: all three) */
#define ANALYZE_BY_PROVIDER 1u
#define ANALYZE_BY_MODEL    2u
#define ANALYZE_BY_PROCESS  4u

typedef struct analyze_opts {
    analyze_report report;
    int json;                   /* JSON instead of text */
    int ascii;                  /* traces: draw the tree with ASCII only */
    int ensure_ascii;           /* JSON: escape non-ASCII (for terminals) */
    const char *trace_id;       /* traces: only this trace_id (NULL: all) */
    unsigned by;                /* costs: ANALYZE_BY_* bits */
    const price_table *prices;  /* costs: prices (NULL: the built-in table) */
    const char *bundle_path;    /* costs: shown as the price source */
    size_t max_memory;          /* traces: summary bytes kept (0: default) */
} analyze_opts;

/* What the input held. */
typedef struct analyze_stats {
    size_t lines;          /* non-empty lines */
    size_t events;         /* JSON objects with a string event_type */
    size_t bad_json;       /* not JSON */
    size_t not_event;      /* JSON, but not an object with an event_type */
    size_t too_long;       /* longer than ANALYZE_MAX_LINE */
    size_t first_bad_line; /* 1-based, 0 if none */
    size_t inbound_skipped;/* inventory/costs: server-side views of exchanges */
    size_t traces;         /* traces: groups printed (parts of a split trace count once each) */
    size_t traces_early;   /* traces: printed early to stay within max_memory */
    size_t traces_continued; /* traces: later parts of traces printed early */
} analyze_stats;

typedef struct analyzer analyzer;

/* Output goes to out (not owned); opts (and what it points to) must outlive
 * the analyzer.  NULL when out of memory. */
analyzer *analyzer_new(const analyze_opts *opts, FILE *out);
/* One input line without its newline (a trailing '\r' is ignored). */
void analyzer_line(analyzer *a, const char *line, size_t len);
/* A line longer than the reader's limit: counted, never parsed. */
void analyzer_line_too_long(analyzer *a);
/* End of input: writes the report.  Call once. */
void analyzer_end(analyzer *a);
void analyzer_stats(const analyzer *a, analyze_stats *out);
/* Bytes the traces report holds now (summaries of events not yet printed). */
size_t analyzer_memory(const analyzer *a);
void analyzer_free(analyzer *a);

/* Runs a whole report over the file at path ("-": standard input).
 * Returns 0, or -1 with errno set when the file cannot be opened or read;
 * *opened says whether it could be opened. */
int analyze_path(const analyze_opts *opts, const char *path, FILE *out, analyze_stats *stats,
                 int *opened);

#endif

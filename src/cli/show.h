/* show.h: `oisp-sensor show`, the human view of a recorded OISP event file.
 *
 * cmd_show() is the command: it parses its arguments, reads a JSONL file (or
 * stdin, or follows a growing file) and prints one line per AI exchange and
 * one line per other event.  The pieces below it are public so that the unit
 * tests can drive them without a terminal:
 *
 *   show_view  turns event lines into output lines (pairing ai.request with
 *              ai.response, -t filtering, the -n ring, --json passthrough);
 *   show_text_fit  makes untrusted text safe and short for one terminal line.
 */
#ifndef OISP_CLI_SHOW_H
#define OISP_CLI_SHOW_H

#include <stddef.h>
#include <stdio.h>

/* The command.  argv[0] is "show".  Returns the process exit status:
 * 0 ok, 1 read error, 2 usage error or missing file. */
int cmd_show(int argc, char **argv);

/* Pending ai.request entries kept for pairing; the oldest is printed as
 * "no response" when a newer one needs its slot. */
#define SHOW_PENDING_MAX 4096

typedef struct show_opts {
    int json;            /* print the raw event lines instead of summaries */
    int color;           /* emit ANSI colours */
    int tty;             /* out is a terminal: --json escapes raw C1/DEL bytes */
    int width;           /* output width in columns (summary lines) */
    long last_n;         /* keep only the last N lines until caught up; -1: all */
    const char **types;  /* -t patterns ("ai", "ai.response", "process.*") */
    size_t ntypes;
} show_opts;

typedef struct show_view show_view;

/* Output goes to out (not owned).  The opts strings must outlive the view. */
show_view *show_view_new(const show_opts *opts, FILE *out);
/* One input line, without its newline.  Bad lines are counted, not printed. */
void show_view_line(show_view *v, const char *line, size_t len);
/* The input read so far is the backlog: print what the -n ring kept and from
 * now on print lines as they come (follow mode calls this at the first EOF). */
void show_view_catch_up(show_view *v);
/* End of input: requests still waiting for a response are printed as
 * "pending", then the ring is flushed. */
void show_view_end(show_view *v);
/* A line longer than the reader's limit: counted as bad, never parsed. */
void show_view_line_too_long(show_view *v);

/* Lines skipped as bad, by reason, and the number (1-based) of the first. */
typedef struct show_bad {
    size_t not_json, not_object, too_long;
    size_t first_line;
} show_bad;
void show_view_bad(const show_view *v, show_bad *out);
void show_view_free(show_view *v);

/* Writes src (len bytes of untrusted UTF-8) into dst as one line of at most
 * max_cols terminal columns and dstsz-1 bytes, NUL-terminated: whitespace runs
 * (including newlines) become one space and are trimmed at both ends; C0
 * controls and DEL are shown as ^X, C1 controls, bidi overrides and invalid
 * UTF-8 as U+FFFD; a cut is made on a character boundary and marked with "…".
 * Returns the columns used.  dstsz must be at least 8. */
size_t show_text_fit(char *dst, size_t dstsz, const char *src, size_t len, size_t max_cols);

#endif

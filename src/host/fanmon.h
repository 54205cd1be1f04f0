/* fanmon.h: a fanotify file monitor that logs executions, opens and writes
 * under configured paths and, when told to, refuses executions.
 *
 * Marks: FAN_CLASS_CONTENT group, one mount mark (or filesystem mark) per
 * configured path; events outside the configured paths' subtrees are
 * allowed at once and not reported.  Events: exec, open, modify and
 * close-write, each reported as an OISP event attributed to the process:
 * process.exec, file.open, file.write.
 *
 * Modes:
 *   passive     logs only (exec is watched with FAN_OPEN_EXEC; nothing waits);
 *   permissive  executions matching a deny rule are refused (EPERM);
 *   enforcing   executions are refused unless an allow rule matches (deny
 *               rules still win).  Never a default: must be asked for.
 * Only executions are judged (FAN_OPEN_EXEC_PERM); opens and writes are
 * reported, never blocked.
 *
 * Rules match the executed file by path prefix (whole components:
 * /opt/app matches /opt/app/x, not /opt/apple), the executable of the
 * process asking (exact path, e.g. allow everything make runs), or the
 * SHA-256 of the file's content, read through the event's own descriptor
 * (reads through it raise no fanotify events) and cached by device, inode,
 * size, mtime and ctime.  Errors while evaluating (file unreadable, too
 * big to hash) mean that rule does not match.
 *
 * Safety, before anything else:
 *   - every permission event is answered on every path, errors included;
 *   - the sensor's own events are allowed at once and never judged;
 *   - a watchdog answers "allow" (counted) for any request not decided
 *     within the timeout (1 s), so a stalled decision never hangs the host;
 *   - when the pending table is full, requests are allowed at once (counted);
 *   - FAN_Q_OVERFLOW is counted;
 *   - a child forked by this process closes the fanotify fd at once
 *     (pthread_atfork), so no copy can keep an unread group alive;
 *   - the monitor opens no file under its marks and its own I/O is never
 *     waited on (hashing reads the event fd; logging by the callback from
 *     this process raises only own-pid events, which are not judged).
 *
 * Threads: a reader (reads the fanotify fd, answers what needs no thought,
 * queues the rest), a worker (rules, hashing, events, callback) and the
 * watchdog.  The callback is called from the worker thread only. */
#ifndef OISP_HOST_FANMON_H
#define OISP_HOST_FANMON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { FANMON_PASSIVE, FANMON_PERMISSIVE, FANMON_ENFORCING } fanmon_mode;
typedef enum { FANMON_RULE_PREFIX, FANMON_RULE_EXE, FANMON_RULE_HASH } fanmon_rule_kind;

typedef struct fanmon_rule {
    int deny;                 /* 1: deny list, 0: allow list */
    fanmon_rule_kind kind;
    const char *value;        /* path, or 64 lowercase hex digits */
} fanmon_rule;

/* Receives each event (borrowed: incref to keep it), from the worker thread. */
typedef void (*fanmon_event_fn)(json_t *ev, void *ctx);

#define FANMON_EV_EXEC        1u
#define FANMON_EV_OPEN        2u
#define FANMON_EV_MODIFY      4u
#define FANMON_EV_CLOSE_WRITE 8u
#define FANMON_EV_ALL         15u

typedef struct fanmon_config {
    fanmon_mode mode;
    const char *const *paths;  /* absolute paths to watch */
    size_t npaths;
    int filesystem_marks;      /* FAN_MARK_FILESYSTEM instead of FAN_MARK_MOUNT */
    const fanmon_rule *rules;  /* copied by fanmon_start */
    size_t nrules;
    unsigned events;           /* FANMON_EV_*; 0 means all */
    unsigned timeout_ms;       /* watchdog; 0 means 1000 */
    uint64_t max_hash_bytes;   /* larger files are not hashed; 0 means 256 MiB */
    fanmon_event_fn cb;
    void *ctx;
    json_t *host;              /* OISP host block for events (referenced) */
} fanmon_config;

typedef struct fanmon fanmon;

/* Starts the threads.  NULL on error (no fanotify, bad path, bad config),
 * with the reason in err.  Needs CAP_SYS_ADMIN. */
fanmon *fanmon_start(const fanmon_config *cfg, char *err, size_t errlen);
/* Stops: the queue is drained for up to 2 s, every request still pending
 * is allowed, and the group is closed (the kernel allows what was never
 * read).  Waits for a callback still running.  Counters stay readable
 * until fanmon_free(). */
void fanmon_stop(fanmon *fm);
/* Stops if needed, then frees. */
void fanmon_free(fanmon *fm);

/* {mode, events_read, perm_requests, allowed, denied, watchdog_allowed,
 *  busy_allowed, own_pid, out_of_scope, overflows, queue_dropped, events,
 *  hashes, hash_cache_hits, hash_errors, response_errors, ...} */
json_t *fanmon_counters_json(fanmon *fm);
/* One counter by name (as in the JSON), 0 if unknown; cheap, thread-safe. */
uint64_t fanmon_counter(fanmon *fm, const char *name);

/* ---- helpers (pure; also used by the CLI and tests) ---- */

int fanmon_mode_parse(const char *s, fanmon_mode *mode);
const char *fanmon_mode_name(fanmon_mode mode);
/* Checks a rule: absolute path for prefix/exe, 64 hex digits for hash
 * (uppercase accepted).  Returns 0, or -1 with the reason in err. */
int fanmon_rule_check(const fanmon_rule *r, char *err, size_t errlen);
/* 1 if path is prefix or inside it, by whole components. */
int fanmon_path_under(const char *path, const char *prefix);

/* The verdict for an execution: 1 allow, 0 deny.  target is the executed
 * file's path, exe the asking process's executable, sha256 the target's
 * hash (lowercase hex; NULL/empty if unknown).  *matched gets the index of
 * the deciding rule, or -1 (no rule: passive, permissive default allow,
 * enforcing default deny). */
int fanmon_evaluate(fanmon_mode mode, const fanmon_rule *rules, size_t nrules, const char *target,
                    const char *exe, const char *sha256, long *matched);
/* "deny-hash:ab12...", "allow-prefix:/opt" into out. */
void fanmon_rule_name(const fanmon_rule *r, char *out, size_t n);

#endif

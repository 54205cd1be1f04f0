/* discover.h: find files that may carry OpenSSL: library directories,
 * running processes' executable mappings, and the binary of a new exec. */
#ifndef OISP_CAPTURE_DISCOVER_H
#define OISP_CAPTURE_DISCOVER_H

#include <stdint.h>

#include "capture/targets.h"

typedef void (*discover_err_fn)(void *ctx, const char *msg);

/* libssl.so* in the standard library directories. */
void discover_lib_dirs(targets *t, discover_err_fn err, void *ctx);
/* Every executable file mapping of one process. */
void discover_pid_maps(targets *t, uint32_t pid, discover_err_fn err, void *ctx);
/* Every running process. */
void discover_all_pids(targets *t, discover_err_fn err, void *ctx);
/* The executable of pid (just exec'd).  Returns 0 if the file was looked
 * at, -1 if it could not be reached (the process is gone). */
int discover_pid_exe(targets *t, uint32_t pid, discover_err_fn err, void *ctx);
/* One file named by the user. Returns 1 if it was attached. */
int discover_path(targets *t, const char *path, discover_err_fn err, void *ctx);

#endif

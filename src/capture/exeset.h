/* exeset.h: the executables already checked for TLS at an exec, named as
 * the kernel names them in exec records (device, inode).  An exec storm of
 * one binary (a shell loop, a build) then costs one look at /proc, not one
 * per exec: the uprobes on a file apply to every process that maps it.
 * Fixed size; when 3/4 full it starts over (a binary is then checked once
 * more, which is harmless). */
#ifndef OISP_CAPTURE_EXESET_H
#define OISP_CAPTURE_EXESET_H

#include <stddef.h>
#include <stdint.h>

#define EXESET_SLOTS 4096

typedef struct exe_id {
    uint64_t dev, ino; /* {0, 0}: unknown, never remembered */
} exe_id;

typedef struct exeset {
    exe_id slot[EXESET_SLOTS];
    size_t n;
} exeset;

int exeset_has(const exeset *s, exe_id id);
void exeset_add(exeset *s, exe_id id);

#endif

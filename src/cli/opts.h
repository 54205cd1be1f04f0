/* opts.h: small helpers for command-line parsing shared by the commands. */
#ifndef OISP_CLI_OPTS_H
#define OISP_CLI_OPTS_H

#include <stdint.h>

/* "64K", "1M", "1048576", "2G" -> bytes.  Returns 0, or -1 if malformed. */
int opts_parse_size(const char *s, uint64_t *out);

#endif

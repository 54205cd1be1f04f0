/* sinkconf.h: open the sinks a configuration names (config.h -> sinks/). */
#ifndef OISP_CLI_SINKCONF_H
#define OISP_CLI_SINKCONF_H

#include <stddef.h>

#include "config/config.h"
#include "sinks/sink.h"

/* A new sink set with the JSONL file (output.jsonl.path, unless "") and
 * every network sink the configuration enables.  NULL with the reason in
 * err if one cannot be opened. */
sink_set *sinkconf_open(const config *c, char *err, size_t errlen);

#endif

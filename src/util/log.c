/* log.c: leveled stderr logging with journal priorities (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int max_level = LOG_LVL_INFO;

void log_set_level(int level) { max_level = level; }

void log_msg(int level, const char *fmt, ...)
{
    if (level > max_level)
        return;
    static const char *const tag[] = {[LOG_LVL_ERR] = "error: ", [LOG_LVL_WARN] = "warning: ",
                                      [LOG_LVL_INFO] = "", [LOG_LVL_DEBUG] = "debug: "};
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    const char *t = level >= 0 && level <= LOG_LVL_DEBUG && tag[level] ? tag[level] : "";
    if (getenv("JOURNAL_STREAM"))
        fprintf(stderr, "<%d>oisp-sensor: %s%s\n", level, t, line);
    else
        fprintf(stderr, "oisp-sensor: %s%s\n", t, line);
}

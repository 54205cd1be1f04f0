/* log.h: the sensor's operational log, on stderr.  Under systemd (the
 * JOURNAL_STREAM variable is set) each line starts with its syslog
 * priority ("<4>"), so the journal records the level.  Messages never
 * carry captured payloads: only counts, paths, addresses and errors. */
#ifndef OISP_UTIL_LOG_H
#define OISP_UTIL_LOG_H

enum { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* Messages above max_level are not written (default LOG_LVL_INFO). */
void log_set_level(int max_level);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

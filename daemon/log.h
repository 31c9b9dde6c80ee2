/*
 * log.h - toud's logging: one line per event.  On standard error: each
 * line prefixed with the sd-daemon(3) priority "<N>" when it is the
 * journal's stream (JOURNAL_STREAM matches it), so that journald files it
 * at the right level; else with a timestamp, "toud[pid]:" and the level's
 * name.  Or to syslog(3) (facility daemon), when asked.  log_peer()
 * rate-limits lines about one remote peer (floods).
 */
#ifndef TOUD_LOG_H
#define TOUD_LOG_H

#include <stdarg.h>
#include <stdint.h>

/* syslog priorities (sd-daemon.h SD_ERR ... SD_DEBUG) */
#define LOG_LVL_ERR 3
#define LOG_LVL_WARNING 4
#define LOG_LVL_NOTICE 5
#define LOG_LVL_INFO 6
#define LOG_LVL_DEBUG 7

#define TOUD_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Sets the level and looks whether standard error is the journal. */
void log_init(int level);
/* 1: lines go to syslog(3) from now on; 0: back to standard error. */
void log_set_syslog(int on);
void log_set_level(int level);
int log_get_level(void);
/* "err", "warning", "notice", "info", "debug" -> level, or -1 */
int log_level_parse(const char *s);
const char *log_level_name(int level);

void log_msg(int level, const char *fmt, ...) TOUD_PRINTF(2, 3);
void log_vmsg(int level, const char *fmt, va_list ap);
#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
/* Logs at LOG_ERR and exits with status 1. */
void fatal(const char *fmt, ...) TOUD_PRINTF(1, 2) __attribute__((noreturn));

/*
 * Rate-limited line about a peer (key: its address bytes, up to 16).
 * At most LOG_PEER_BURST lines per peer per LOG_PEER_INTERVAL_US; the
 * lines suppressed are counted and reported with the next line allowed.
 * now is monotonic microseconds.  Returns 1 if the line was written.
 */
#define LOG_PEER_BURST 5
#define LOG_PEER_INTERVAL_US 10000000ull
int log_peer(int level, const uint8_t *key, int keylen, uint64_t now, const char *fmt, ...)
	TOUD_PRINTF(5, 6);

#endif

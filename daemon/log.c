/*
 * log.c - one line per event: to the journal with sd-daemon "<N>"
 * prefixes when standard error is the journal's stream (JOURNAL_STREAM,
 * systemd.exec(5)), else with a timestamp and the level's name (a
 * terminal, a log file), or to syslog(3) when asked; and per-peer rate
 * limiting of lines a remote peer can provoke at will (floods of bad
 * segments, connections over a limit).
 */
#include "log.h"

#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Process-wide, as syslog(3)'s state is: every part of toud logs without
 * a context (docs/DESIGN.md section 5.1). */
static int log_level = LOG_LVL_INFO;
static enum log_dest { DEST_PLAIN, DEST_JOURNAL, DEST_SYSLOG } log_dest = DEST_PLAIN;

static const char *const level_names[8] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
};

/* Is standard error the journal?  systemd sets JOURNAL_STREAM to the
 * "<device>:<inode>" of the stream it connects (systemd.exec(5)); a
 * stderr redirected elsewhere does not match. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &sb) != 0)
		return 0;
	return (unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino;
}

void log_init(int level)
{
	log_level = level;
	if (log_dest != DEST_SYSLOG)
		log_dest = stderr_is_journal() ? DEST_JOURNAL : DEST_PLAIN;
	/* Line buffered: one write per event even when stderr is a pipe. */
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void log_set_syslog(int on)
{
	if (on && log_dest != DEST_SYSLOG) {
		openlog("toud", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_dest = DEST_SYSLOG;
	} else if (!on && log_dest == DEST_SYSLOG) {
		closelog();
		log_dest = stderr_is_journal() ? DEST_JOURNAL : DEST_PLAIN;
	}
}

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }

int log_level_parse(const char *s)
{
	for (int i = 3; i < 8; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "error") == 0)
		return LOG_LVL_ERR;
	if (strcmp(s, "warn") == 0)
		return LOG_LVL_WARNING;
	return -1;
}

const char *log_level_name(int level)
{
	return level >= 0 && level < 8 ? level_names[level] : "?";
}

/* "2026-12-05T02:03:39.123+0000 toud[812]: notice: " */
static int plain_prefix(char *buf, size_t len, int level)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	char date[32], zone[8];
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof zone, "%z", &tm);
	return snprintf(buf, len, "%s.%03ld%s toud[%d]: %s: ", date, (long)tv.tv_usec / 1000, zone,
			(int)getpid(), log_level_name(level));
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	char line[1024];
	int n = 0;
	if (log_dest == DEST_JOURNAL)
		n = snprintf(line, sizeof line, "<%d>", level);
	else if (log_dest == DEST_PLAIN)
		n = plain_prefix(line, sizeof line, level);
	if (n < 0 || (size_t)n >= sizeof line / 2)
		n = 0;
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	/* One event, one line: no embedded newlines reach the log. */
	for (size_t i = (size_t)n; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (log_dest == DEST_SYSLOG) {
		line[len] = '\0';
		syslog(level, "%s", line);
		return;
	}
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Per-peer token buckets in a small direct-mapped table: a collision just
 * shares a bucket, which errs on the side of logging less. */
#define PEER_SLOTS 256
struct peer_slot {
	uint8_t key[16];
	int keylen;
	uint64_t window_start;
	unsigned count;      /* lines in the current window */
	unsigned suppressed; /* lines dropped in the current window */
};
static struct peer_slot peer_slots[PEER_SLOTS];
static pthread_mutex_t peer_mu = PTHREAD_MUTEX_INITIALIZER; /* the shards' threads share the slots */

static unsigned peer_hash(const uint8_t *key, int keylen)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (int i = 0; i < keylen; i++) {
		h ^= key[i];
		h *= 16777619u;
	}
	return h % PEER_SLOTS;
}

int log_peer(int level, const uint8_t *key, int keylen, uint64_t now, const char *fmt, ...)
{
	if (level > log_level)
		return 0;
	if (keylen > 16)
		keylen = 16;
	struct peer_slot *p = &peer_slots[peer_hash(key, keylen)];
	pthread_mutex_lock(&peer_mu);
	if (p->keylen != keylen || memcmp(p->key, key, (size_t)keylen) != 0) {
		memcpy(p->key, key, (size_t)keylen);
		p->keylen = keylen;
		p->window_start = now;
		p->count = 0;
		p->suppressed = 0;
	}
	unsigned suppressed = 0;
	if (now - p->window_start >= LOG_PEER_INTERVAL_US) {
		suppressed = p->suppressed;
		p->window_start = now;
		p->count = 0;
		p->suppressed = 0;
	}
	if (p->count >= LOG_PEER_BURST) {
		p->suppressed++;
		pthread_mutex_unlock(&peer_mu);
		return 0;
	}
	p->count++;
	pthread_mutex_unlock(&peer_mu);
	char line[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (suppressed)
		log_msg(level, "%s (%u similar lines about this peer suppressed)", line, suppressed);
	else
		log_msg(level, "%s", line);
	return 1;
}

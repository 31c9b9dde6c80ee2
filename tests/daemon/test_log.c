/* test_log.c - log lines carry the sd-daemon "<N>" prefix when standard
 * error is the journal (JOURNAL_STREAM names it), else a timestamp and the
 * level's name; they stay on one line, respect the level, and per-peer
 * rate limiting lets a burst through, then counts what it suppressed. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tt.h"

static char captured[8192];

/* Runs fn with stderr redirected to a temporary file; returns its text.
 * journal: JOURNAL_STREAM names that file, as systemd names the journal's
 * stream; else it names another file (a stderr redirected elsewhere). */
static const char *capture_as(void (*fn)(void), int journal)
{
	char path[256];
	const char *dir = getenv("TOU_TEST_TMP");
	snprintf(path, sizeof path, "%s/log.%d", dir ? dir : "/tmp", (int)getpid());
	fflush(stderr);
	int saved = dup(2);
	FILE *f = fopen(path, "w+");
	if (!f || saved < 0)
		return "";
	dup2(fileno(f), 2);
	struct stat sb;
	char js[64];
	if (fstat(journal ? 2 : 0, &sb) == 0) {
		snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)sb.st_dev,
			 (unsigned long long)sb.st_ino);
		setenv("JOURNAL_STREAM", js, 1);
	}
	fn();
	unsetenv("JOURNAL_STREAM");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	size_t n = fread(captured, 1, sizeof captured - 1, f);
	captured[n] = '\0';
	fclose(f);
	unlink(path);
	return captured;
}

static const char *capture(void (*fn)(void))
{
	return capture_as(fn, 1);
}

static void levels(void)
{
	log_init(LOG_LVL_INFO);
	log_err("bad %d", 1);
	log_info("two\nlines");
	log_debug("hidden");
}

TT_TEST(prefix_level_and_one_line)
{
	const char *out = capture(levels);
	TT_STREQ(out, "<3>bad 1\n<6>two lines\n");
}

static void flood(void)
{
	log_init(LOG_LVL_INFO);
	const uint8_t a[4] = { 192, 0, 2, 1 }, b[4] = { 192, 0, 2, 2 };
	for (int i = 0; i < 20; i++)
		log_peer(LOG_LVL_WARNING, a, 4, 1000 + (uint64_t)i, "from a %d", i);
	log_peer(LOG_LVL_WARNING, b, 4, 2000, "from b");
	/* a new window: the next line reports the suppressed count */
	log_peer(LOG_LVL_WARNING, a, 4, 1000 + LOG_PEER_INTERVAL_US, "from a again");
}

TT_TEST(per_peer_rate_limit)
{
	const char *out = capture(flood);
	int a_lines = 0;
	for (const char *p = out; (p = strstr(p, "from a ")); p++)
		a_lines++;
	TT_EQ(a_lines, LOG_PEER_BURST + 1); /* the burst, then "from a again" */
	TT_ASSERT(strstr(out, "<4>from b\n") != NULL); /* another peer is not limited */
	char want[128];
	snprintf(want, sizeof want, "<4>from a again (%d similar lines about this peer suppressed)\n",
		 20 - LOG_PEER_BURST);
	TT_ASSERT(strstr(out, want) != NULL);
}

/* Not the journal (a terminal, a log file): "2026-12-05T02:03:39.123+0000
 * toud[812]: err: bad 1", no "<N>". */
TT_TEST(plain_lines_have_timestamps_not_prefixes)
{
	const char *out = capture_as(levels, 0);
	TT_ASSERT(strchr(out, '<') == NULL);
	char want[320];
	snprintf(want, sizeof want,
		 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[-+][0-9]{4} toud\\[%d\\]: err: bad 1\n"
		 "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}[-+][0-9]{4} toud\\[%d\\]: info: two lines\n$",
		 (int)getpid(), (int)getpid());
	regex_t re;
	TT_EQ(regcomp(&re, want, REG_EXTENDED | REG_NOSUB), 0);
	int m = regexec(&re, out, 0, NULL, 0);
	regfree(&re);
	if (m != 0)
		fprintf(stderr, "got: %s", out);
	TT_EQ(m, 0);
}

TT_TEST(level_names)
{
	TT_EQ(log_level_parse("debug"), LOG_LVL_DEBUG);
	TT_EQ(log_level_parse("warning"), LOG_LVL_WARNING);
	TT_EQ(log_level_parse("warn"), LOG_LVL_WARNING);
	TT_EQ(log_level_parse("verbose"), -1);
	TT_STREQ(log_level_name(LOG_LVL_NOTICE), "notice");
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

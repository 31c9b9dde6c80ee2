/* test_config.c - toud's configuration parser: value syntax, every error
 * names file:line and the reason, -o overrides, the shipped toud.conf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "config.h"
#include "log.h"
#include "tt.h"

static const char *write_tmp(const char *name, const char *text)
{
	static char path[512];
	const char *dir = getenv("TOU_TEST_TMP");
	snprintf(path, sizeof path, "%s/%s.%d", dir ? dir : "/tmp", name, (int)getpid());
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

TT_TEST(sizes)
{
	uint64_t v;
	TT_EQ(config_parse_size("1500", &v), 0); TT_EQ(v, 1500);
	TT_EQ(config_parse_size("64K", &v), 0); TT_EQ(v, 65536);
	TT_EQ(config_parse_size("4M", &v), 0); TT_EQ(v, 4u << 20);
	TT_EQ(config_parse_size("4MiB", &v), 0); TT_EQ(v, 4u << 20);
	TT_EQ(config_parse_size("1g", &v), 0); TT_EQ(v, 1u << 30);
	TT_EQ(config_parse_size("", &v), -1);
	TT_EQ(config_parse_size("4X", &v), -1);
	TT_EQ(config_parse_size("-1", &v), -1);
	TT_EQ(config_parse_size("1 M", &v), -1);
	TT_EQ(config_parse_size("99999999999999999999", &v), -1);
	TT_EQ(config_parse_size("17179869184G", &v), -1); /* overflow */
}

TT_TEST(durations)
{
	uint64_t v;
	TT_EQ(config_parse_duration("200ms", &v), 0); TT_EQ(v, 200000);
	TT_EQ(config_parse_duration("2", &v), 0); TT_EQ(v, 2000000);
	TT_EQ(config_parse_duration("2s", &v), 0); TT_EQ(v, 2000000);
	TT_EQ(config_parse_duration("5m", &v), 0); TT_EQ(v, 300000000);
	TT_EQ(config_parse_duration("2h", &v), 0); TT_EQ(v, 7200000000ull);
	TT_EQ(config_parse_duration("750us", &v), 0); TT_EQ(v, 750);
	TT_EQ(config_parse_duration("1.5s", &v), -1);
	TT_EQ(config_parse_duration("ms", &v), -1);
	TT_EQ(config_parse_duration("3d", &v), -1);
}

TT_TEST(booleans)
{
	int b;
	TT_EQ(config_parse_bool("yes", &b), 0); TT_EQ(b, 1);
	TT_EQ(config_parse_bool("Off", &b), 0); TT_EQ(b, 0);
	TT_EQ(config_parse_bool("1", &b), 0); TT_EQ(b, 1);
	TT_EQ(config_parse_bool("maybe", &b), -1);
}

TT_TEST(udp_lists)
{
	struct sockaddr_storage a[4];
	int n;
	char err[200];
	TT_EQ(config_parse_udp_list("0.0.0.0:9811 [::]:9811", a, 4, &n, err, sizeof err), 0);
	TT_EQ(n, 2);
	TT_EQ(a[0].ss_family, AF_INET);
	TT_EQ(ntohs(((struct sockaddr_in *)&a[0])->sin_port), 9811);
	TT_EQ(a[1].ss_family, AF_INET6);
	TT_EQ(config_parse_udp_list("127.0.0.1,[::1]:4000", a, 4, &n, err, sizeof err), 0);
	TT_EQ(n, 2);
	TT_EQ(ntohs(((struct sockaddr_in *)&a[0])->sin_port), 9811); /* default port */
	TT_EQ(ntohs(((struct sockaddr_in6 *)&a[1])->sin6_port), 4000);
	TT_EQ(config_parse_udp_list("", a, 4, &n, err, sizeof err), -1);
	TT_EQ(config_parse_udp_list("1.2.3.4:70000", a, 4, &n, err, sizeof err), -1);
	TT_EQ(config_parse_udp_list("localhost:9811", a, 4, &n, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "localhost") != NULL);
	TT_EQ(config_parse_udp_list("[::1:9811", a, 4, &n, err, sizeof err), -1);
	TT_EQ(config_parse_udp_list("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5", a, 4, &n, err, sizeof err), -1);
}

TT_TEST(keys_and_values)
{
	struct toud_config c;
	char err[300];
	config_default(&c);
	TT_EQ(c.socket_mode, 0660);
	TT_EQ(c.privileged_ports, 1024);
	TT_EQ(config_set(&c, "tcp", "mss", "1400", err, sizeof err), 0);
	TT_EQ(c.tcp.mss, 1400);
	TT_EQ(config_set(&c, "tcp", "send_buffer", "8M", err, sizeof err), 0);
	TT_EQ(c.tcp.send_buffer, 8u << 20);
	TT_EQ(config_set(&c, "tcp", "rto_min", "300ms", err, sizeof err), 0);
	TT_EQ(c.tcp.rto_min, 300000);
	TT_EQ(config_set(&c, "tcp", "congestion", "newreno", err, sizeof err), 0);
	TT_EQ(c.tcp.cc, TCP_CC_NEWRENO);
	TT_EQ(c.tcp.loss_detection, TCP_LOSS_RACK); /* the default */
	TT_EQ(config_set(&c, "tcp", "loss_detection", "rfc6675", err, sizeof err), 0);
	TT_EQ(c.tcp.loss_detection, TCP_LOSS_RFC6675);
	TT_EQ(config_set(&c, "tcp", "loss_detection", "RACK", err, sizeof err), 0);
	TT_EQ(c.tcp.loss_detection, TCP_LOSS_RACK);
	TT_EQ(c.tcp.hystart, 1); /* the default */
	TT_EQ(config_set(&c, "tcp", "hystart", "no", err, sizeof err), 0);
	TT_EQ(c.tcp.hystart, 0);
	TT_EQ(config_set(&c, "daemon", "socket_mode", "0600", err, sizeof err), 0);
	TT_EQ(c.socket_mode, 0600);
	TT_EQ(config_set(&c, "daemon", "log_level", "debug", err, sizeof err), 0);
	TT_EQ(c.log_level, LOG_LVL_DEBUG);
	TT_EQ(config_set(&c, "limits", "request_timeout", "2s", err, sizeof err), 0);
	TT_EQ(c.request_timeout, 2000000);
	TT_EQ(c.busy_poll, 0); /* off by default: an idle daemon never spins */
	TT_EQ(config_set(&c, "daemon", "busy_poll", "50us", err, sizeof err), 0);
	TT_EQ(c.busy_poll, 50);
	TT_EQ(config_set(&c, "daemon", "busy_poll", "10ms", err, sizeof err), 0);
	TT_EQ(c.busy_poll, TOUD_MAX_BUSY_POLL);
	/* a bare number is seconds: 50 s of spinning is refused, not taken */
	TT_EQ(config_set(&c, "daemon", "busy_poll", "50", err, sizeof err), -1);
	TT_ASSERT(strstr(err, "out of range") != NULL);
	TT_EQ(config_set(&c, "daemon", "busy_poll", "0", err, sizeof err), 0);
	TT_EQ(c.busy_poll, 0);

	TT_EQ(config_set(&c, "tcp", "mss", "100", err, sizeof err), -1);
	TT_ASSERT(strstr(err, "out of range") != NULL);
	TT_EQ(config_set(&c, "tcp", "mss", "abc", err, sizeof err), -1);
	TT_ASSERT(strstr(err, "not a non-negative integer") != NULL);
	TT_EQ(c.tcp.mss, 1400); /* unchanged after errors */
	TT_EQ(config_set(&c, "tcp", "congestion", "vegas", err, sizeof err), -1);
	TT_ASSERT(strstr(err, "cubic, newreno, bbr") != NULL);
	TT_EQ(config_set(&c, "tcp", "congestion", "BBR", err, sizeof err), 0);
	TT_EQ(c.tcp.cc, TCP_CC_BBR);
	TT_EQ(config_set(&c, "tcp", "loss_detection", "fack", err, sizeof err), -1);
	TT_ASSERT(strstr(err, "rack, rfc6675") != NULL);
	TT_EQ(config_set(&c, "tcp", "nosuchkey", "1", err, sizeof err), -1);
	TT_ASSERT(strstr(err, "unknown key") != NULL);
	TT_EQ(config_set(&c, "nosection", "mss", "1", err, sizeof err), -1);
	TT_ASSERT(strstr(err, "unknown section") != NULL);
	TT_EQ(config_set(&c, "daemon", "socket", "relative/path", err, sizeof err), -1);
	TT_EQ(config_set(&c, "daemon", "socket_mode", "0999", err, sizeof err), -1);
	TT_EQ(config_set(&c, "daemon", "log_level", "loud", err, sizeof err), -1);
	TT_EQ(config_set(&c, "tcp", "sack", "perhaps", err, sizeof err), -1);
}

TT_TEST(file_errors_name_file_and_line)
{
	struct toud_config c;
	char err[400];
	const char *p = write_tmp("badval", "[daemon]\nlog_level = info\n\n[tcp]\nmss = 12\n");
	TT_ASSERT(p);
	config_default(&c);
	TT_EQ(config_load(&c, p, 0, err, sizeof err), -1);
	char want[600];
	snprintf(want, sizeof want, "%s:5: mss", p);
	TT_ASSERT(strncmp(err, want, strlen(want)) == 0);
	unlink(p);

	p = write_tmp("badkey", "[tcp]\n# comment\nwindow_scale = yes\n");
	config_default(&c);
	TT_EQ(config_load(&c, p, 0, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:3: unknown key", p);
	TT_ASSERT(strncmp(err, want, strlen(want)) == 0);
	unlink(p);

	p = write_tmp("syntax", "[daemon]\nthis line has no equals sign\n");
	config_default(&c);
	TT_EQ(config_load(&c, p, 0, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2: syntax error", p);
	TT_ASSERT(strncmp(err, want, strlen(want)) == 0);
	unlink(p);

	p = write_tmp("cross", "[tcp]\nrto_min = 5s\nrto_max = 1s\n");
	config_default(&c);
	TT_EQ(config_load(&c, p, 0, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "rto_min") != NULL);
	unlink(p);

	config_default(&c);
	TT_EQ(config_load(&c, "/nonexistent/toud.conf", 0, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "/nonexistent/toud.conf") != NULL);
	TT_EQ(config_load(&c, "/nonexistent/toud.conf", 1, err, sizeof err), 0); /* default path */
}

TT_TEST(good_file_and_overrides)
{
	struct toud_config c;
	char err[400];
	const char *p = write_tmp("good", "; comment\n[daemon]\nudp = 127.0.0.1:9900\nsocket = /tmp/x.sock\n"
					  "[tcp]\nsack = no\ndelayed_ack = 0\n[limits]\nmax_per_peer = 3\n");
	TT_ASSERT(p);
	config_default(&c);
	TT_EQ(config_load(&c, p, 0, err, sizeof err), 0);
	unlink(p);
	TT_EQ(c.n_udp, 1);
	TT_STREQ(c.socket, "/tmp/x.sock");
	TT_EQ(c.tcp.sack, 0);
	TT_EQ(c.tcp.delayed_ack, 0);
	TT_EQ(c.max_per_peer, 3);
	TT_EQ(config_override(&c, "tcp.sack=yes", err, sizeof err), 0);
	TT_EQ(c.tcp.sack, 1);
	TT_EQ(config_override(&c, "limits.max_per_peer=9", err, sizeof err), 0);
	TT_EQ(c.max_per_peer, 9);
	TT_EQ(config_override(&c, "tcp.mss", err, sizeof err), -1);
	TT_ASSERT(strstr(err, "section.key=value") != NULL);
	TT_EQ(config_override(&c, "mss=1", err, sizeof err), -1);
	TT_EQ(config_override(&c, "tcp.mss=1", err, sizeof err), -1);
	TT_ASSERT(strncmp(err, "-o tcp.mss=1: ", 14) == 0);
}

static void count_line(void *arg, const char *line)
{
	(void)line;
	(*(int *)arg)++;
}

/* The shipped conf/toud.conf, uncommented, must parse and equal the defaults. */
TT_TEST(shipped_conf_lists_the_defaults)
{
	const char *src = getenv("TOU_SOURCE_DIR");
	char path[600];
	snprintf(path, sizeof path, "%s/conf/toud.conf", src ? src : TOU_SOURCE_DIR_DEFAULT);
	FILE *f = fopen(path, "r");
	TT_ASSERT(f != NULL);
	char text[16384] = "";
	size_t tl = 0;
	char line[512];
	int keys = 0;
	while (fgets(line, sizeof line, f)) {
		const char *l = line;
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " =")) {
			l = line + 1; /* "#key = value" -> "key = value" */
			keys++;
		} else if (line[0] != '[') {
			continue;
		}
		size_t n = strlen(l);
		TT_ASSERT(tl + n < sizeof text);
		memcpy(text + tl, l, n + 1);
		tl += n;
	}
	fclose(f);
	const char *p = write_tmp("shipped", text);
	struct toud_config a, b;
	char err[400];
	config_default(&a);
	config_default(&b);
	TT_EQ(config_load(&a, p, 0, err, sizeof err), 0);
	unlink(p);
	TT_MEMEQ(&a.tcp, &b.tcp, sizeof a.tcp);
	TT_EQ(a.max_connections, b.max_connections);
	TT_EQ(a.request_timeout, b.request_timeout);
	TT_STREQ(a.udp, b.udp);
	int dumped = 0;
	config_dump(&a, count_line, &dumped);
	TT_EQ(keys, dumped - 3); /* every key is in the file; 3 section lines */
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

/* test_api_parse.c - the API request-line parser (tou_proto.h). */
#include <string.h>

#include "api_parse.h"
#include "tou_proto.h"
#include "tt.h"

static int P(const char *line, struct api_request *r, char *err)
{
	return api_parse_line(line, strlen(line), r, err, 256);
}

TT_TEST(connect_forms)
{
	struct api_request r;
	char err[256];
	TT_EQ(P("CONNECT 10.0.0.1 80", &r, err), 0);
	TT_EQ(r.verb, API_CONNECT);
	TT_STREQ(r.host, "10.0.0.1");
	TT_EQ(r.udp_port, 0);
	TT_EQ(r.port, 80);
	TT_EQ(r.nodelay, -1);
	TT_EQ(r.has_timeout, 0);
	TT_EQ(P("CONNECT example.org:9900 443 nodelay keepalive timeout=5", &r, err), 0);
	TT_STREQ(r.host, "example.org");
	TT_EQ(r.udp_port, 9900);
	TT_EQ(r.port, 443);
	TT_EQ(r.nodelay, 1);
	TT_EQ(r.keepalive, 1);
	TT_EQ(r.has_timeout, 1);
	TT_EQ(r.timeout_s, 5);
	TT_EQ(P("CONNECT [::1]:9811 7\r", &r, err), 0);
	TT_STREQ(r.host, "::1");
	TT_EQ(r.host_is_ip6, 1);
	TT_EQ(r.udp_port, 9811);
	TT_EQ(P("CONNECT fe80::1%eth0 7", &r, err), 0);
	TT_STREQ(r.host, "fe80::1%eth0");
	TT_EQ(r.udp_port, 0);
	TT_EQ(P("connect host 7", &r, err), 0); /* verbs are case-insensitive */
}

TT_TEST(connect_errors)
{
	struct api_request r;
	char err[256];
	TT_EQ(P("CONNECT", &r, err), -1);
	TT_ASSERT(strstr(err, "usage: CONNECT") != NULL);
	TT_EQ(P("CONNECT host", &r, err), -1);
	TT_EQ(P("CONNECT host 0", &r, err), -1);
	TT_EQ(P("CONNECT host 65536", &r, err), -1);
	TT_EQ(P("CONNECT host -1", &r, err), -1);
	TT_EQ(P("CONNECT host 80x", &r, err), -1);
	TT_EQ(P("CONNECT host:0 80", &r, err), -1);
	TT_EQ(P("CONNECT host:99999 80", &r, err), -1);
	TT_EQ(P("CONNECT [::1 80", &r, err), -1);
	TT_EQ(P("CONNECT [::1]x 80", &r, err), -1);
	TT_EQ(P("CONNECT ho/st 80", &r, err), -1);
	TT_EQ(P("CONNECT host 80 fast", &r, err), -1);
	TT_EQ(P("CONNECT host 80 nodelay nodelay", &r, err), -1);
	TT_EQ(P("CONNECT host 80 timeout=0", &r, err), -1);
	TT_EQ(P("CONNECT host 80 timeout=abc", &r, err), -1);
	TT_EQ(P("CONNECT host 80 timeout=86401", &r, err), -1);
	char longhost[400];
	memset(longhost, 'a', sizeof longhost);
	memcpy(longhost, "CONNECT ", 8);
	strcpy(longhost + 300, " 80");
	TT_EQ(P(longhost, &r, err), -1);
}

TT_TEST(forward_serve)
{
	struct api_request r;
	char err[256];
	TT_EQ(P("FORWARD 8080 hostb 80", &r, err), 0);
	TT_EQ(r.verb, API_FORWARD);
	TT_STREQ(r.listen, "8080");
	TT_STREQ(r.host, "hostb");
	TT_EQ(r.port, 80);
	TT_EQ(P("forward [::1]:2222 [2001:db8::7]:9000 22 nodelay timeout=30 ao=peer-b", &r, err), 0);
	TT_STREQ(r.listen, "[::1]:2222");
	TT_STREQ(r.host, "2001:db8::7");
	TT_EQ(r.udp_port, 9000);
	TT_EQ(r.port, 22);
	TT_EQ(r.nodelay, 1);
	TT_EQ(r.timeout_s, 30);
	TT_EQ(r.ao, API_AO_KEY);
	TT_STREQ(r.ao_key, "peer-b");
	TT_EQ(P("FORWARD 8080 hostb", &r, err), -1);
	TT_ASSERT(strstr(err, "usage: FORWARD") != NULL);
	TT_EQ(P("FORWARD 80/80 hostb 80", &r, err), -1); /* not an address */
	TT_EQ(P("FORWARD 8080 hostb 0", &r, err), -1);
	TT_EQ(P("FORWARD 8080 hostb 80 allow=any", &r, err), -1);
	TT_EQ(P("SERVE 80 127.0.0.1:8000", &r, err), 0);
	TT_EQ(r.verb, API_SERVE);
	TT_EQ(r.port, 80);
	TT_STREQ(r.target, "127.0.0.1:8000");
	TT_EQ(r.nallow, 0u);
	TT_EQ(P("SERVE 22 unix:/run/a+b.sock allow=192.0.2.0/24,::1 ao=required max_per_peer=4", &r, err), 0);
	TT_STREQ(r.target, "unix:/run/a+b.sock");
	TT_EQ(r.nallow, 2u);
	TT_STREQ(r.allow_text, "192.0.2.0/24,::1");
	TT_EQ(r.ao, API_AO_REQUIRED);
	TT_EQ(r.max_per_peer, 4u);
	TT_EQ(P("SERVE 80", &r, err), -1);
	TT_ASSERT(strstr(err, "usage: SERVE") != NULL);
	TT_EQ(P("SERVE 80 x allow=10.0.0.0/33", &r, err), -1);
	TT_EQ(P("SERVE 80 x max_per_peer=0", &r, err), -1);
	TT_EQ(P("SERVE 80 x nodelay", &r, err), -1);
	TT_EQ(P("SERVE 0 x", &r, err), -1);
}

TT_TEST(listen_accept)
{
	struct api_request r;
	char err[256];
	TT_EQ(P("LISTEN 8080", &r, err), 0);
	TT_EQ(r.verb, API_LISTEN);
	TT_EQ(r.port, 8080);
	TT_EQ(r.has_backlog, 0);
	TT_EQ(P("LISTEN 8080 backlog=16", &r, err), 0);
	TT_EQ(r.backlog, 16);
	TT_EQ(P("LISTEN 8080 backlog=0", &r, err), -1);
	TT_EQ(P("LISTEN 70000", &r, err), -1);
	TT_EQ(P("LISTEN", &r, err), -1);
	TT_EQ(P("LISTEN 80 timeout=3", &r, err), -1);
	TT_EQ(P("ACCEPT 8080", &r, err), 0);
	TT_EQ(r.verb, API_ACCEPT);
	TT_EQ(P("ACCEPT 8080 timeout=30", &r, err), 0);
	TT_EQ(r.timeout_s, 30);
	TT_EQ(P("ACCEPT 8080 backlog=3", &r, err), -1);
	TT_EQ(r.nodelay, -1);
	TT_EQ(P("ACCEPT 8080 nodelay keepalive timeout=5", &r, err), 0);
	TT_EQ(r.nodelay, 1);
	TT_EQ(r.keepalive, 1);
	TT_EQ(r.timeout_s, 5);
	TT_EQ(P("ACCEPT 8080 nodelay nodelay", &r, err), -1);
}

TT_TEST(queries)
{
	struct api_request r;
	char err[256];
	TT_EQ(P("STATUS", &r, err), 0);
	TT_EQ(r.has_id, 0);
	TT_EQ(P("STATUS 42", &r, err), 0);
	TT_EQ(r.has_id, 1);
	TT_EQ(r.id, 42);
	TT_EQ(P("STATUS 18446744073709551615", &r, err), 0);
	TT_EQ(P("STATUS 18446744073709551616", &r, err), -1);
	TT_EQ(P("STATUS x", &r, err), -1);
	TT_EQ(P("STATUS 1 2", &r, err), -1);
	TT_EQ(P("LIST", &r, err), 0);
	TT_EQ(r.verb, API_LIST);
	TT_EQ(P("LIST all", &r, err), -1);
	TT_EQ(P("STATS", &r, err), 0);
	TT_EQ(P("VERSION", &r, err), 0);
	TT_EQ(P("ABORT 7", &r, err), 0);
	TT_EQ(r.id, 7);
	TT_EQ(P("ABORT", &r, err), -1);
}

TT_TEST(garbage)
{
	struct api_request r;
	char err[256];
	TT_EQ(P("", &r, err), -1);
	TT_ASSERT(strstr(err, "empty") != NULL);
	TT_EQ(P("   ", &r, err), -1);
	TT_EQ(P("HELLO", &r, err), -1);
	TT_ASSERT(strstr(err, "unknown request") != NULL);
	TT_EQ(P("GET / HTTP/1.1", &r, err), -1);
	TT_EQ(api_parse_line("VERSION\0x", 9, &r, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "control character") != NULL);
	TT_EQ(P("VERSION \xff", &r, err), -1);
	TT_EQ(P("a b c d e f g h i j", &r, err), -1);
	/* every prefix of a valid line either parses or fails cleanly */
	const char *full = "CONNECT [2001:db8::1]:9811 8080 nodelay keepalive timeout=30";
	for (size_t n = 0; n <= strlen(full); n++)
		(void)api_parse_line(full, n, &r, err, sizeof err);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

/* test_fwd_conf.c - [forward NAME] and [service NAME] sections
 * (daemon/fwd_conf.c): accepted forms, every refusal names its section
 * and key, completeness and clash checks, allow-list matching. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "config.h"
#include "fwd_conf.h"
#include "tt.h"

static char err[512];

static int set(struct toud_config *c, const char *sect, const char *k, const char *v)
{
	err[0] = '\0';
	return config_set(c, sect, k, v, err, sizeof err);
}

TT_TEST(fwd_forward_forms)
{
	struct toud_config c;
	config_default(&c);
	TT_EQ(set(&c, "forward web", "listen", "127.0.0.1:8080"), 0);
	TT_EQ(set(&c, "forward web", "to", "hostb.example 80"), 0);
	const struct fwd_forward_conf *f = &c.fwd.forward[0];
	TT_EQ(c.fwd.n_forward, 1u);
	TT_EQ(strcmp(f->host, "hostb.example"), 0);
	TT_EQ(f->udp_port, 9811);
	TT_EQ(f->port, 80);
	TT_EQ(f->listen.ss_family, AF_INET);
	TT_EQ(ntohs(((struct sockaddr_in *)&f->listen)->sin_port), 8080);
	TT_EQ(set(&c, "forward web", "to", "[2001:db8::7]:9000 22"), 0);
	TT_EQ(strcmp(f->host, "2001:db8::7"), 0);
	TT_EQ(f->udp_port, 9000);
	TT_EQ(f->port, 22);
	TT_EQ(set(&c, "forward v6", "listen", "[::1]:2222"), 0);
	TT_EQ(c.fwd.forward[1].listen.ss_family, AF_INET6);
	TT_EQ(set(&c, "forward web", "nodelay", "yes"), 0);
	TT_EQ(f->nodelay, 1);
	TT_EQ(set(&c, "forward web", "timeout", "30s"), 0);
	TT_EQ(f->timeout, 30000000u);
	/* [forward v6] has no "to": the check names it */
	TT_EQ(fwd_conf_check(&c.fwd, NULL, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "[forward v6]") && strstr(err, "\"to\""));
	TT_EQ(set(&c, "forward v6", "to", "192.0.2.1 22"), 0);
	TT_EQ(fwd_conf_check(&c.fwd, NULL, err, sizeof err), 0);
}

TT_TEST(fwd_bad_values_name_section_and_key)
{
	static const char *bad[][3] = {
		{ "forward a", "listen", "8080" },            /* no address */
		{ "forward a", "listen", "localhost:8080" },  /* not numeric */
		{ "forward a", "listen", "::1:8080" },        /* v6 without brackets */
		{ "forward a", "listen", "127.0.0.1:65536" },
		{ "forward a", "to", "hostb" },               /* no port */
		{ "forward a", "to", "hostb:x 80" },
		{ "forward a", "to", "hostb 80x" },
		{ "forward a", "nodelay", "maybe" },
		{ "forward a", "timeout", "soon" },
		{ "forward a", "color", "red" },
		{ "service s", "port", "0" },
		{ "service s", "to", "unix:relative" },
		{ "service s", "to", "example.com:80" },
		{ "service s", "allow", "10.0.0.0/33" },
		{ "service s", "allow", "" },
		{ "service s", "allow", "nonsense" },
		{ "service s", "listen", "127.0.0.1:1" },
		{ "forward bad/name", "to", "h 1" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct toud_config c;
		config_default(&c);
		TT_EQ(set(&c, bad[i][0], bad[i][1], bad[i][2]), -1);
		char want[80];
		snprintf(want, sizeof want, "[%s", bad[i][0]);
		TT_ASSERT(strstr(err, want) != NULL);
		if (strcmp(bad[i][0], "forward bad/name") != 0)
			TT_ASSERT(strstr(err, bad[i][1]) != NULL);
	}
}

/* listen port 0 (the kernel's pick) passes the parser, for the API's
 * FORWARD; a configured section with it is refused by the check. */
TT_TEST(fwd_listen_port_zero_api_only)
{
	struct toud_config c;
	config_default(&c);
	TT_EQ(set(&c, "forward a", "listen", "127.0.0.1:0"), 0);
	TT_EQ(set(&c, "forward a", "to", "hostb 80"), 0);
	TT_EQ(fwd_conf_check(&c.fwd, NULL, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "[forward a] listen: port 0") != NULL);
	TT_EQ(set(&c, "forward a", "listen", "[::1]:8080"), 0);
	TT_EQ(fwd_conf_check(&c.fwd, NULL, err, sizeof err), 0);
	TT_EQ(set(&c, "forward a", "to", "hostb:0 80"), -1); /* a UDP port 0 still is not */
}

TT_TEST(fwd_service_and_allow)
{
	struct toud_config c;
	config_default(&c);
	TT_EQ(set(&c, "service web", "port", "80"), 0);
	TT_EQ(set(&c, "service web", "to", "unix:/run/app.sock"), 0);
	const struct fwd_service_conf *s = &c.fwd.service[0];
	TT_EQ(s->to_unix, 1);
	TT_EQ(strcmp(s->to_path, "/run/app.sock"), 0);
	uint8_t a4[16] = { 192, 0, 2, 77 }, b4[16] = { 192, 0, 3, 1 }, a6[16];
	inet_pton(AF_INET6, "2001:db8:1::5", a6);
	TT_EQ(fwd_allowed(s, 4, a4), 1); /* no allow key: anyone */
	TT_EQ(set(&c, "service web", "allow", "192.0.2.0/25, 2001:db8::/32"), 0);
	TT_EQ(s->n_allow, 2u);
	TT_EQ(fwd_allowed(s, 4, a4), 1);
	TT_EQ(fwd_allowed(s, 4, b4), 0);
	TT_EQ(fwd_allowed(s, 6, a6), 1);
	a4[3] = 200; /* outside /25 */
	TT_EQ(fwd_allowed(s, 4, a4), 0);
	TT_EQ(fwd_conf_check(&c.fwd, NULL, err, sizeof err), 0);
	/* two services on one port */
	TT_EQ(set(&c, "service two", "port", "80"), 0);
	TT_EQ(set(&c, "service two", "to", "127.0.0.1:81"), 0);
	TT_EQ(fwd_conf_check(&c.fwd, NULL, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "[service two] port") != NULL);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

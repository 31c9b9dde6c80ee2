/*
 * test_synrate.c - per-source SYN rate limits (tcp_synrate.c, issue 14):
 * while a listener is pressed (its backlog full, or SYN cookies sent in
 * the last second) one source address may open cfg.syn_rate_per_source
 * connections per second, a burst of as many, whatever its ports; the
 * rest are discarded unanswered (DropSynRate); other sources keep their
 * share; an unpressed listener limits nobody.
 */
#include "peer.h"

static const struct tcp_endpoint FLOODER = { 4, { 192, 0, 2, 66 }, 9811 };
static const struct tcp_endpoint OTHER = { 4, { 198, 51, 100, 7 }, 9811 };

/* a SYN from ep (port sport) to port 80; returns what came out: 1 a
 * SYN,ACK, 0 nothing, -1 anything else */
static int syn_from(struct host *b, const struct tcp_endpoint *ep, uint16_t sport, tcp_time_t now)
{
	struct peer p = PEER(b, .ep = *ep, .port = sport);
	peer_send(&p, .flags = F_SYN, .seq = 1000u * sport, .now = now);
	if (!host_pop(b))
		return 0;
	int r = b->seg.flags == (F_SYN | F_ACK) ? 1 : -1;
	host_drop_all(b);
	return r;
}

static void rate_config(struct tcp_config *cfg, unsigned rate)
{
	peer_plain_config(cfg);
	cfg->syn_rate_per_source = rate;
}

TT_TEST(unpressed_listener_limits_nobody)
{
	struct tcp_config cfg;
	rate_config(&cfg, 3);
	struct host b;
	TT_EQ(host_init(&b, 2, &cfg), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 16, NULL, &l), 0);
	for (uint16_t port = 1; port <= 10; port++)
		TT_EQ(syn_from(&b, &FLOODER, port, b.now), 1);
	TT_EQ(host_stats(&b).DropSynRate, 0u);
	TT_EQ(host_stats(&b).SyncookiesSent, 0u);
	host_free(&b);
}

TT_TEST(pressed_listener_one_source_gets_its_rate)
{
	struct tcp_config cfg;
	rate_config(&cfg, 3);
	struct host b;
	TT_EQ(host_init(&b, 2, &cfg), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 2, NULL, &l), 0);
	/* the backlog (2) fills: not limited yet */
	TT_EQ(syn_from(&b, &FLOODER, 1, b.now), 1);
	TT_EQ(syn_from(&b, &FLOODER, 2, b.now), 1);
	/* pressed: a burst of 3 (cookies), then nothing for this source,
	 * whatever its port */
	for (uint16_t port = 3; port <= 5; port++)
		TT_EQ(syn_from(&b, &FLOODER, port, b.now), 1);
	for (uint16_t port = 6; port <= 20; port++)
		TT_EQ(syn_from(&b, &FLOODER, port, b.now), 0);
	struct tcp_stats st = host_stats(&b);
	TT_EQ(st.DropSynRate, 15u);
	TT_EQ(st.SyncookiesSent, 3u);
	/* another source still gets its SYN,ACK (a cookie) */
	TT_EQ(syn_from(&b, &OTHER, 1, b.now), 1);
	/* a third of a second later the flooder has one more (3 per second) */
	tcp_time_t later = b.now + TCP_MS(334);
	TT_EQ(syn_from(&b, &FLOODER, 21, later), 1);
	TT_EQ(syn_from(&b, &FLOODER, 22, later), 0);
	TT_EQ(host_stats(&b).DropSynRate, 16u);
	host_free(&b);
}

TT_TEST(ipv6_sources_share_their_64)
{
	struct tcp_config cfg;
	rate_config(&cfg, 2);
	struct host b;
	TT_EQ(host_init(&b, 2, &cfg), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 1, NULL, &l), 0);
	struct tcp_endpoint a = { 6, { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 }, 9811 };
	TT_EQ(syn_from(&b, &a, 1, b.now), 1); /* fills the backlog */
	/* the same /64, other interface identifiers: one budget */
	for (int i = 0; i < 4; i++) {
		a.addr[15] = (uint8_t)(i + 1);
		TT_EQ(syn_from(&b, &a, (uint16_t)(10 + i), b.now), i < 2 ? 1 : 0);
	}
	/* another /64 has its own */
	a.addr[7] = 2;
	TT_EQ(syn_from(&b, &a, 20, b.now), 1);
	TT_EQ(host_stats(&b).DropSynRate, 2u);
	host_free(&b);
}

TT_TEST(zero_rate_is_no_limit)
{
	struct tcp_config cfg;
	rate_config(&cfg, 0);
	struct host b;
	TT_EQ(host_init(&b, 2, &cfg), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 1, NULL, &l), 0);
	for (uint16_t port = 1; port <= 50; port++)
		TT_EQ(syn_from(&b, &FLOODER, port, b.now), 1);
	TT_EQ(host_stats(&b).DropSynRate, 0u);
	cfg.syn_rate_per_source = 1000001;
	TT_EQ(tcp_stack_reconfigure(b.s, &cfg), TCP_EINVAL);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

/*
 * test_listen_allow.c - listener allow lists (tcp_listener_set_allow): a
 * SYN from a peer outside every prefix is refused before a TCB exists,
 * answered with RST,ACK or nothing as configured, and counted; peers
 * inside connect as usual.
 */
#include "peer.h"

static struct tcp_prefix pfx(uint8_t family, uint8_t len, uint8_t a0, uint8_t a1)
{
	struct tcp_prefix p;
	memset(&p, 0, sizeof p);
	p.family = family;
	p.len = len;
	p.addr[0] = a0;
	p.addr[1] = a1;
	return p;
}

static const struct tcp_endpoint INSIDE = { 4, { 10, 1, 2, 3 }, 9811 };
static const struct tcp_endpoint OUTSIDE = { 4, { 192, 0, 2, 9 }, 9811 };
static const struct tcp_endpoint OUTSIDE6 = { 6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, 9811 };

TT_TEST(allow_refuses_outside_with_rst_before_a_tcb)
{
	struct host b;
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 8, NULL, &l), 0);
	struct tcp_prefix allow[2] = { pfx(4, 8, 10, 0), pfx(6, 16, 0xfd, 0) };
	TT_EQ(tcp_listener_set_allow(l, allow, 2, 1), 0);
	struct peer p = PEER(&b, .ep = OUTSIDE, .flags = F_SYN, .seq = 700);
	TT_EQ(peer_send(&p), 0);
	/* RFC 9293 3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
	EXPECT_SEG(&b, F_RST | F_ACK, 0, 701);
	TT_EQ(host_nconns(&b), 0);
	TT_EQ(host_stats(&b).DropListenDenied, 1);
	TT_EQ(host_stats(&b).PassiveOpens, 0);
	/* the other family is outside too */
	struct peer p6 = PEER(&b, .ep = OUTSIDE6, .flags = F_SYN, .seq = 5);
	TT_EQ(peer_send(&p6), 0);
	EXPECT_SEG(&b, F_RST | F_ACK, 0, 6);
	TT_EQ(host_stats(&b).DropListenDenied, 2);
	/* inside: the usual SYN,ACK and a connection */
	struct peer in = PEER(&b, .ep = INSIDE, .flags = F_SYN, .seq = 900);
	TT_EQ(peer_send(&in), 0);
	EXPECT_SEG(&b, F_SYN | F_ACK, b.isn, 901);
	TT_EQ(host_nconns(&b), 1);
	TT_EQ(host_stats(&b).DropListenDenied, 2);
	/* the listener counts its own refusals (a [service]'s "refused") */
	struct tcp_listener_counters lc;
	TT_EQ(tcp_listener_get_counters(l, &lc), 0);
	TT_EQ(lc.denied, 2);
	TT_EQ(lc.ao_dropped, 0);
	TT_EQ(tcp_listener_get_counters(NULL, &lc), TCP_EINVAL);
	host_free(&b);
}

TT_TEST(allow_silent_refusal)
{
	struct host b;
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 8, NULL, &l), 0);
	struct tcp_prefix allow = pfx(4, 32, 10, 1);
	allow.addr[2] = 2;
	allow.addr[3] = 3; /* exactly 10.1.2.3 */
	TT_EQ(tcp_listener_set_allow(l, &allow, 1, 0), 0);
	struct peer p = PEER(&b, .ep = OUTSIDE, .flags = F_SYN, .seq = 700);
	TT_EQ(peer_send(&p), 0);
	EXPECT_NONE(&b);
	TT_EQ(host_stats(&b).DropListenDenied, 1);
	TT_EQ(host_nconns(&b), 0);
	struct peer in = PEER(&b, .ep = INSIDE, .flags = F_SYN, .seq = 900);
	TT_EQ(peer_send(&in), 0);
	EXPECT_SEG(&b, F_SYN | F_ACK, b.isn, 901);
	/* n = 0 allows every peer again */
	TT_EQ(tcp_listener_set_allow(l, NULL, 0, 0), 0);
	TT_EQ(peer_send(&p), 0);
	EXPECT_SEG(&b, F_SYN | F_ACK, b.isn, 701);
	TT_EQ(host_stats(&b).DropListenDenied, 1);
	host_free(&b);
}

TT_TEST(allow_list_validation)
{
	struct host b;
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 8, NULL, &l), 0);
	struct tcp_prefix bad = pfx(4, 33, 10, 0);
	TT_EQ(tcp_listener_set_allow(l, &bad, 1, 1), TCP_EINVAL);
	bad = pfx(5, 0, 0, 0);
	TT_EQ(tcp_listener_set_allow(l, &bad, 1, 1), TCP_EINVAL);
	struct tcp_prefix any = pfx(0, 0, 0, 0);
	TT_EQ(tcp_listener_set_allow(l, &any, 1, 1), 0);
	TT_EQ(tcp_listener_set_allow(NULL, &any, 1, 1), TCP_EINVAL);
	TT_EQ(tcp_listener_set_allow(l, &any, TCP_LISTEN_ALLOW_MAX + 1, 1), TCP_EINVAL);
	/* an ACK from outside is still answered as without a listener's TCB */
	struct tcp_prefix only = pfx(4, 8, 10, 0);
	TT_EQ(tcp_listener_set_allow(l, &only, 1, 0), 0);
	struct peer p = PEER(&b, .ep = OUTSIDE, .seq = 5, .ack = 77);
	TT_EQ(peer_send(&p), 0);
	EXPECT_SEG(&b, F_RST, 77, 0);
	TT_EQ(host_stats(&b).DropListenDenied, 0);
	tcp_unlisten(l, T0); /* frees the list (ASan) */
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

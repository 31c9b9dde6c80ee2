/*
 * test_api.c - the public API's contract (tcp.h): argument checks, error
 * names, STATUS, iteration, lookup by id, counters, reconfiguration,
 * events and release.
 */
#include "peer.h"


TT_TEST(api_strerror_and_state_names)
{
	TT_STREQ(tcp_state_name(TCP_S_SYN_RECEIVED), "SYN-RECEIVED");
	TT_STREQ(tcp_state_name(TCP_S_TIME_WAIT), "TIME-WAIT");
	TT_STREQ(tcp_state_name(TCP_S_FIN_WAIT_2), "FIN-WAIT-2");
	TT_STREQ(tcp_state_name((enum tcp_state)99), "?");
	for (int e = 0; e >= -14; e--) {
		const char *s = tcp_strerror(e);
		TT_ASSERT(s && *s);
		TT_ASSERT(strcmp(s, "unknown error") != 0);
	}
	TT_STREQ(tcp_strerror(TCP_ECONNREFUSED), "connection refused");
	TT_STREQ(tcp_strerror(-1000), "unknown error");
}

TT_TEST(api_bad_arguments)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	TT_EQ(cfg.mss, 1452);
	TT_EQ(cfg.send_buffer, 4u << 20);
	TT_EQ(cfg.rto_initial, TCP_SEC(1));
	TT_EQ(cfg.msl, TCP_SEC(30));
	TT_EQ(cfg.cc, TCP_CC_CUBIC);
	struct tcp_callbacks cb = { NULL, NULL, NULL, NULL, NULL, NULL };
	uint8_t secret[16] = { 0 };
	struct tcp_stack *s;
	cfg.mss = 10;
	TT_EQ(tcp_stack_new(&s, &cfg, &cb, secret, 1), TCP_EINVAL);
	tcp_config_default(&cfg);
	cfg.rto_max = cfg.rto_min - 1;
	TT_EQ(tcp_stack_new(&s, &cfg, &cb, secret, 1), TCP_EINVAL);
	tcp_config_default(&cfg);
	cfg.cc = (enum tcp_cc_algo)7;
	TT_EQ(tcp_stack_new(&s, &cfg, &cb, secret, 1), TCP_EINVAL);
	TT_EQ(tcp_stack_new(&s, NULL, &cb, secret, 1), 0); /* defaults */
	struct tcp_endpoint bad = { 5, { 0 }, 1 };
	struct tcp_conn *c;
	TT_EQ(tcp_connect(s, &bad, 80, 0, NULL, NULL, 0, &c), TCP_EINVAL);
	struct tcp_endpoint ok = { 4, { 10, 0, 0, 1 }, 9811 };
	TT_EQ(tcp_connect(s, &ok, 0, 0, NULL, NULL, 0, &c), TCP_EINVAL);
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	o.cc = 9;
	TT_EQ(tcp_connect(s, &ok, 80, 0, &o, NULL, 0, &c), TCP_EINVAL);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(s, 0, 1, NULL, &l), TCP_EINVAL);
	TT_EQ(tcp_input(s, &bad, (const uint8_t *)"x", 1, 0), TCP_EINVAL);
	TT_EQ(tcp_send(NULL, "x", 1, 0), TCP_EINVAL);
	TT_EQ(tcp_recv(NULL, NULL, 0, 0), TCP_EINVAL);
	TT_EQ(tcp_close(NULL, 0), TCP_EINVAL);
	TT_EQ(tcp_abort(NULL, 0), TCP_EINVAL);
	TT_EQ(tcp_next_deadline(s), TCP_TIME_NEVER);
	tcp_release(NULL, T0);
	tcp_stack_free(s);
	tcp_stack_free(NULL);
}

static int count_cb(void *arg, struct tcp_conn *c)
{
	(void)c;
	return ++*(int *)arg >= 2; /* stop after two */
}

TT_TEST(api_status_foreach_find)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	int u;
	tcp_conn_set_user(ca, &u);
	TT_ASSERT(tcp_conn_user(ca) == &u);
	TT_EQ(tcp_send(ca, "hello", 5, T0), 5);
	struct tcp_conn_info i;
	TT_EQ(tcp_conn_info(ca, &i), 0);
	TT_STREQ(tcp_state_name(i.state), "ESTABLISHED");
	TT_EQ(i.local_port, 1000);
	TT_EQ(i.remote_port, 80);
	TT_EQ(i.remote.addr[3], 2);
	TT_EQ(i.snd_una, 100);
	TT_EQ(i.snd_nxt, 105);
	TT_EQ(i.rcv_nxt, 300);
	TT_EQ(i.send_queue, 5);
	TT_EQ(i.mss, 1000); /* the peer's MSS option */
	TT_STREQ(i.cc_name, "newreno");
	TT_EQ(i.bytes_sent, 5);
	host_free(&a);
	host_free(&b);
}

TT_TEST(api_ids_and_iteration)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct tcp_conn *c[3];
	for (int k = 0; k < 3; k++)
		TT_EQ(tcp_connect(a.s, &PB, 80, 0, NULL, NULL, T0, &c[k]), 0);
	TT_ASSERT(tcp_conn_id(c[0]) != tcp_conn_id(c[1]));
	TT_ASSERT(tcp_find_by_id(a.s, tcp_conn_id(c[2])) == c[2]);
	TT_ASSERT(tcp_find_by_id(a.s, 999999) == NULL);
	int n = 0;
	tcp_foreach(a.s, count_cb, &n);
	TT_EQ(n, 2);
	uint64_t id = tcp_conn_id(c[1]);
	tcp_abort(c[1], T0);
	tcp_release(c[1], T0);
	TT_ASSERT(tcp_find_by_id(a.s, id) == NULL);
	TT_EQ(host_nconns(&a), 2);
	/* ids are never reused */
	struct tcp_conn *d;
	TT_EQ(tcp_connect(a.s, &PB, 80, 0, NULL, NULL, T0, &d), 0);
	TT_ASSERT(tcp_conn_id(d) > tcp_conn_id(c[2]));
	host_free(&a);
}

TT_TEST(api_reconfigure_affects_new_connections)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct tcp_conn *c1, *c2;
	TT_EQ(tcp_connect(a.s, &PB, 80, 0, NULL, NULL, T0, &c1), 0);
	EXPECT_SEG(&a, F_SYN, a.seg.seq, 0);
	TT_EQ(a.seg.mss, 1000);
	struct tcp_config cfg = a.cfg;
	cfg.mss = 700;
	TT_EQ(tcp_stack_reconfigure(a.s, &cfg), 0);
	cfg.mss = 1;
	TT_EQ(tcp_stack_reconfigure(a.s, &cfg), TCP_EINVAL);
	TT_EQ(tcp_connect(a.s, &PB, 80, 0, NULL, NULL, T0, &c2), 0);
	EXPECT_SEG(&a, F_SYN, a.seg.seq, 0);
	TT_EQ(a.seg.mss, 700);
	host_free(&a);
}

/* Events come after the engine call returns; a callback may call back into
 * the engine (send, close, release). */
static void reentrant_event(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err)
{
	peer_event(ctx, c, user, ev, err);
	if (ev == TCP_EV_ESTABLISHED) {
		tcp_send(c, "hi", 2, T0);
		tcp_close(c, T0);
	}
	if (ev == TCP_EV_CLOSED)
		tcp_release(c, T0);
}

TT_TEST(api_reentrant_callbacks)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer pa = PEER(&b);
	tcp_stack_free(a.s);
	struct tcp_callbacks cb = { &a, peer_emit, reentrant_event, NULL, NULL, NULL };
	uint8_t secret[16] = { 9 };
	TT_EQ(tcp_stack_new(&a.s, &a.cfg, &cb, secret, 1), 0);
	tcp_stack_set_isn_hook(a.s, peer_isn, &a);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 4, NULL, &l), 0);
	a.isn = 99;
	b.isn = 299;
	struct tcp_conn *ca;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1000, NULL, NULL, T0, &ca), 0);
	host_deliver(&a, &b, T0);
	host_deliver(&b, &a, T0);
	/* inside ESTABLISHED the callback sent data and closed */
	EXPECT_SEG(&a, F_ACK, 100, 300);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 100, 300, 8192, 2);
	EXPECT_SEG(&a, F_ACK | F_FIN, 102, 300);
	peer_send(&pa, .seq = 100, .ack = 300);
	peer_send(&pa, .flags = F_ACK | F_PSH, .seq = 100, .ack = 300, .data = "hi");
	peer_send(&pa, .flags = F_ACK | F_FIN, .seq = 102, .ack = 300);
	struct tcp_conn *cb2 = b.accepted;
	TT_ASSERT(cb2 != NULL);
	tcp_close(cb2, T0);
	host_deliver(&b, &a, T0);
	/* A reached TIME-WAIT: CLOSED(0) delivered, released inside */
	TT_EQ(host_count_ev(&a, TCP_EV_CLOSED), 1);
	TT_EQ(host_closed_err(&a), 0);
	TT_EQ(host_nconns(&a), 1); /* the engine keeps TIME-WAIT */
	tcp_timeout(a.s, T0 + 2 * a.cfg.msl);
	TT_EQ(host_nconns(&a), 0);
	host_free(&a);
	host_free(&b);
}

TT_TEST(api_stats_counters)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct tcp_stats sa = host_stats(&a), sb = host_stats(&b);
	TT_EQ(sa.ActiveOpens, 1);
	TT_EQ(sb.PassiveOpens, 1);
	TT_EQ(sa.CurrEstab, 1);
	TT_EQ(sb.CurrEstab, 1);
	TT_EQ(sa.OutSegs, 2); /* SYN, ACK */
	TT_EQ(sa.InSegs, 1);
	TT_EQ(sb.OutSegs, 1);
	TT_EQ(sb.InSegs, 2);
	tcp_close(ca, T0);
	host_deliver(&a, &b, T0);
	TT_EQ(host_stats(&a).CurrEstab, 0); /* FIN-WAIT-1 */
	TT_EQ(host_stats(&b).CurrEstab, 1); /* CLOSE-WAIT counts */
	host_free(&a);
	host_free(&b);
}

/* tcp_stack_set_shard: shard k of n picks only ports whose replies the
 * steering ((sport ^ dport) % n) brings back to it, and its ids are
 * k+1, k+1+n, ... so that n stacks never give the same id. */
TT_TEST(api_shard_ports_and_ids)
{
	struct tcp_callbacks cb = { 0 };
	uint8_t secret[16] = { 0 };
	struct tcp_stack *s;
	TT_EQ(tcp_stack_new(&s, NULL, &cb, secret, 7), 0);
	TT_EQ(tcp_stack_set_shard(s, 0, 0), TCP_EINVAL);
	TT_EQ(tcp_stack_set_shard(s, 3, 3), TCP_EINVAL);
	TT_EQ(tcp_stack_set_shard(s, 3, 2), 0);
	struct tcp_endpoint peer = { 4, { 10, 0, 0, 1 }, 9811 };
	for (unsigned i = 0; i < 40; i++) {
		struct tcp_conn *c;
		uint16_t rport = (uint16_t)(1000 + i * 7);
		TT_EQ(tcp_connect(s, &peer, rport, 0, NULL, NULL, 0, &c), 0);
		struct tcp_conn_info info;
		TT_EQ(tcp_conn_info(c, &info), 0);
		TT_EQ((info.local_port ^ rport) % 3, 2);
		TT_ASSERT(info.local_port >= 49152);
		TT_EQ(info.id, 3 + 3 * (uint64_t)i);
		TT_EQ(tcp_conn_id(c), info.id);
	}
	TT_EQ(tcp_reserve_id(s), 3 + 3 * 40);
	TT_EQ(tcp_stack_set_shard(s, 3, 2), TCP_EINVAL); /* ids already given */
	tcp_stack_free(s);
}

/* tcp_stack_reserve_port: an active open never picks a reserved port
 * (toud's [service] ports pinned to shard 0), and picks it again once
 * it is freed. */
TT_TEST(api_reserved_ports_are_never_picked)
{
	struct tcp_callbacks cb = { 0 };
	uint8_t secret[16] = { 0 };
	struct tcp_stack *s;
	TT_EQ(tcp_stack_new(&s, NULL, &cb, secret, 9), 0);
	TT_EQ(tcp_stack_set_shard(s, 2, 1), 0);
	TT_EQ(tcp_stack_reserve_port(NULL, 50000, 1), TCP_EINVAL);
	TT_EQ(tcp_stack_reserve_port(s, 7000, 1), 0); /* below the dynamic range: nothing to do */
	/* every dynamic port but 50000-50009 */
	for (unsigned p = 49152; p < 65536; p++)
		if (p < 50000 || p > 50009)
			TT_EQ(tcp_stack_reserve_port(s, (uint16_t)p, 1), 0);
	struct tcp_endpoint peer = { 4, { 10, 0, 0, 1 }, 9811 };
	const uint16_t rport = 1; /* shard 1 of 2: (p ^ 1) % 2 == 1, even ports */
	unsigned seen = 0;
	struct tcp_conn *c;
	for (unsigned i = 0; i < 5; i++) {
		TT_EQ(tcp_connect(s, &peer, rport, 0, NULL, NULL, 0, &c), 0);
		struct tcp_conn_info info;
		TT_EQ(tcp_conn_info(c, &info), 0);
		TT_ASSERT(info.local_port >= 50000 && info.local_port <= 50008 && info.local_port % 2 == 0);
		seen |= 1u << (info.local_port - 50000);
	}
	TT_EQ(seen, 0x155u); /* each of 50000, 50002, ... 50008 once */
	TT_EQ(tcp_connect(s, &peer, rport, 0, NULL, NULL, 0, &c), TCP_ENOPORTS);
	TT_EQ(tcp_stack_reserve_port(s, 60000, 0), 0);
	TT_EQ(tcp_connect(s, &peer, rport, 0, NULL, NULL, 0, &c), 0);
	struct tcp_conn_info info;
	TT_EQ(tcp_conn_info(c, &info), 0);
	TT_EQ(info.local_port, 60000);
	tcp_stack_free(s);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

/*
 * test_time_wait.c - TIME-WAIT that never denies service (issue 9 item 6)
 * and kept compact (issue 11): TIME-WAIT records do not count against
 * max_connections, have their own bound (max_time_wait) at which the
 * oldest is recycled, answer as RFC 9293 3.10.7.4 says, and an active
 * open reuses a TIME-WAIT 4-tuple where RFC 6191's conditions hold.
 */
#include "peer.h"

#define T0 TCP_SEC(100)

static struct tcp_mem_info mem(const struct host *h)
{
	struct tcp_mem_info mi;
	tcp_get_mem_info(h->s, &mi);
	return mi;
}

/* a (port pa) and b (port 80) connect and close, a first: a ends in
 * TIME-WAIT and lets go of it.  Returns a's SND.NXT (0 on failure). */
static uint32_t a_closes_first(struct host *a, struct host *b, uint16_t pa, uint32_t isn_a,
			       tcp_time_t now)
{
	struct tcp_conn *ca;
	a->isn = isn_a;
	b->isn = 7000;
	b->accepted = NULL;
	if (tcp_connect(a->s, &b->ep, 80, pa, NULL, NULL, now, &ca) != 0)
		return 0;
	host_deliver(a, b, now);
	host_deliver(b, a, now);
	host_deliver(a, b, now);
	struct tcp_conn *cb = b->accepted;
	if (!cb || tcp_conn_state(ca) != TCP_S_ESTABLISHED)
		return 0;
	tcp_close(ca, now);
	host_deliver(a, b, now);
	host_deliver(b, a, now);
	tcp_close(cb, now);
	host_deliver(b, a, now);
	host_deliver(a, b, now);
	if (tcp_conn_state(ca) != TCP_S_TIME_WAIT)
		return 0;
	struct tcp_conn_info i;
	tcp_conn_info(ca, &i);
	tcp_release(ca, now);
	tcp_release(cb, now);
	return i.snd_nxt;
}

/* b's side of the 4-tuple (b.ep, port 80) -> (a, port aport) as a
 * scripted peer: segments to a's TIME-WAIT after b has forgotten it. */
static struct peer from_b(struct host *a, const struct host *b, uint16_t aport)
{
	return PEER(a, .ep = b->ep, .port = 80, .hport = aport);
}

static int listen80(struct host *b)
{
	struct tcp_listener *l;
	return tcp_listen(b->s, 80, 64, NULL, &l);
}

/* a (10.0.0.1) with config ca, b (10.0.0.2) with cb listening on port 80
 * (NULL: peer_plain_config).  0 or -1. */
static int two_hosts(struct host *a, const struct tcp_config *ca, struct host *b,
		     const struct tcp_config *cb)
{
	if (host_init(a, 1, ca) != 0 || host_init(b, 2, cb) != 0)
		return -1;
	return listen80(b);
}

/* max_connections counts live connections only: with 2 allowed, two
 * connections in TIME-WAIT leave room for two more. */
TT_TEST(tw_not_counted_against_max_connections)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.max_connections = 2;
	struct host a, b;
	TT_EQ(two_hosts(&a, &cfg, &b, NULL), 0);
	TT_ASSERT(a_closes_first(&a, &b, 1001, 100, T0) != 0);
	TT_ASSERT(a_closes_first(&a, &b, 1002, 200, T0 + 1) != 0);
	TT_EQ(mem(&a).time_wait, 2);
	struct tcp_conn *c1, *c2, *c3;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1003, NULL, NULL, T0 + 2, &c1), 0);
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1004, NULL, NULL, T0 + 2, &c2), 0);
	/* the live bound still holds */
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1005, NULL, NULL, T0 + 2, &c3), TCP_ELIMIT);
	TT_EQ(mem(&a).time_wait, 2);
	host_free(&a);
	host_free(&b);
}

/* At max_time_wait the oldest record goes (counted); the others still
 * acknowledge a retransmitted FIN, the recycled one's 4-tuple is CLOSED
 * (a RST answers it). */
TT_TEST(tw_bound_recycles_the_oldest)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.max_time_wait = 2;
	struct host a, b;
	TT_EQ(two_hosts(&a, &cfg, &b, NULL), 0);
	TT_ASSERT(a_closes_first(&a, &b, 1001, 100, T0) != 0);
	TT_ASSERT(a_closes_first(&a, &b, 1002, 200, T0 + 1) != 0);
	TT_EQ(host_stats(&a).TimeWaitRecycled, 0);
	TT_ASSERT(a_closes_first(&a, &b, 1003, 300, T0 + 2) != 0);
	TT_EQ(mem(&a).time_wait, 2);
	TT_EQ(host_stats(&a).TimeWaitRecycled, 1);
	host_drop_all(&a);
	/* b's FIN of the second connection again: ACKed from TIME-WAIT */
	struct peer p2 = from_b(&a, &b, 1002), p1 = from_b(&a, &b, 1001);
	peer_send(&p2, .flags = F_FIN | F_ACK, .seq = 7001, .ack = 202, .now = T0 + 3);
	EXPECT_SEG(&a, F_ACK, 202, 7002);
	/* the first (oldest) is gone: its FIN meets CLOSED */
	peer_send(&p1, .flags = F_FIN | F_ACK, .seq = 7001, .ack = 102, .now = T0 + 3);
	EXPECT_SEG(&a, F_RST, 102, 0);
	host_free(&a);
	host_free(&b);
}

/* The record answers as the TCB did: a retransmitted FIN is acknowledged
 * and restarts 2 MSL (RFC 9293 3.10.7.4); the record ends 2 MSL after
 * that, not before. */
TT_TEST(tw_record_acks_fin_and_restarts_2msl)
{
	struct host a, b;
	TT_EQ(two_hosts(&a, NULL, &b, NULL), 0);
	TT_ASSERT(a_closes_first(&a, &b, 1001, 100, T0) != 0);
	TT_EQ(mem(&a).time_wait, 1);
	TT_EQ(tcp_next_deadline(a.s), T0 + 2 * a.cfg.msl);
	tcp_time_t t1 = T0 + a.cfg.msl;
	struct peer p = from_b(&a, &b, 1001);
	peer_send(&p, .flags = F_FIN | F_ACK, .seq = 7001, .ack = 102, .now = t1);
	EXPECT_SEG(&a, F_ACK, 102, 7002);
	TT_EQ(mem(&a).time_wait, 1); /* compact again */
	TT_EQ(mem(&a).conns, 0);
	TT_EQ(tcp_next_deadline(a.s), t1 + 2 * a.cfg.msl);
	tcp_timeout(a.s, T0 + 2 * a.cfg.msl);
	TT_EQ(mem(&a).time_wait, 1);
	tcp_timeout(a.s, t1 + 2 * a.cfg.msl);
	TT_EQ(mem(&a).time_wait, 0);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);
	host_free(&a);
	host_free(&b);
}

/* RFC 6191 with timestamps: an active open reuses the 4-tuple of a
 * TIME-WAIT when its SYN's TSval is above the last one the old
 * incarnation sent (the TS.Recent the peer holds); not in the same
 * millisecond. */
TT_TEST(tw_reuse_with_timestamps)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.timestamps = 1;
	struct host a, b;
	TT_EQ(two_hosts(&a, &cfg, &b, &cfg), 0);
	TT_ASSERT(a_closes_first(&a, &b, 1001, 100, T0) != 0);
	TT_EQ(mem(&a).time_wait, 1);
	struct tcp_conn *c;
	/* same millisecond: the TSval would not be greater */
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1001, NULL, NULL, T0 + 500, &c), TCP_EEXIST);
	TT_EQ(host_stats(&a).TimeWaitReused, 0);
	TT_EQ(mem(&a).time_wait, 1);
	/* the ISN is forced below the old SND.NXT: timestamps decide alone */
	a.isn = 50;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1001, NULL, NULL, T0 + TCP_MS(2), &c), 0);
	TT_EQ(host_stats(&a).TimeWaitReused, 1);
	TT_EQ(mem(&a).time_wait, 0);
	EXPECT_STATE(c, TCP_S_SYN_SENT);
	TT_ASSERT(host_pop(&a));
	TT_EQ(a.seg.flags, F_SYN);
	TT_ASSERT(a.seg.has_ts);
	/* b is CLOSED for the old 4-tuple: the new connection completes */
	host_drop_all(&a);
	tcp_abort(c, T0 + TCP_MS(3));
	host_free(&a);
	host_free(&b);
}

/* RFC 6191 without timestamps: reuse only when the new ISN is above the
 * old SND.NXT (the peer's RCV.NXT, RFC 1122 4.2.2.13). */
TT_TEST(tw_reuse_without_timestamps_needs_a_higher_isn)
{
	struct host a, b;
	TT_EQ(two_hosts(&a, NULL, &b, NULL), 0);
	uint32_t nxt = a_closes_first(&a, &b, 1001, 100, T0);
	TT_EQ(nxt, 102); /* ISN 100, SYN and FIN */
	struct tcp_conn *c;
	a.isn = 101;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1001, NULL, NULL, T0 + TCP_SEC(1), &c), TCP_EEXIST);
	TT_EQ(host_stats(&a).TimeWaitReused, 0);
	TT_EQ(mem(&a).conns, 0);
	host_drop_all(&a);
	a.isn = 5000;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1001, NULL, NULL, T0 + TCP_SEC(1), &c), 0);
	TT_EQ(host_stats(&a).TimeWaitReused, 1);
	TT_EQ(mem(&a).time_wait, 0);
	/* the new incarnation completes with b */
	host_deliver(&a, &b, T0 + TCP_SEC(1));
	host_deliver(&b, &a, T0 + TCP_SEC(1));
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	host_free(&a);
	host_free(&b);
}

/* The ephemeral port choice prefers a free port; only when every port to
 * that peer is taken does it reuse a TIME-WAIT 4-tuple. */
TT_TEST(tw_ephemeral_ports_reuse_when_all_taken)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.max_time_wait = 20000;
	struct host a, b;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	struct tcp_config cb;
	peer_plain_config(&cb);
	cb.max_time_wait = 0; /* b keeps nothing (it closes second anyway) */
	TT_EQ(host_init(&b, 2, &cb), 0);
	TT_EQ(listen80(&b), 0);
	const unsigned nports = 65536 - 49152;
	tcp_time_t now = T0;
	for (unsigned i = 0; i < nports; i++) {
		TT_ASSERT(a_closes_first(&a, &b, 0, 1000u * i + 1u, now) != 0);
		now += 10;
	}
	TT_EQ(mem(&a).time_wait, nports);
	TT_EQ(host_stats(&a).TimeWaitReused, 0);
	/* every ephemeral port is in TIME-WAIT: one is reused */
	struct tcp_conn *c;
	a.isn = 0x80000000u;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 0, NULL, NULL, now + TCP_SEC(1), &c), 0);
	TT_EQ(host_stats(&a).TimeWaitReused, 1);
	TT_EQ(mem(&a).time_wait, nports - 1);
	host_free(&a);
	host_free(&b);
}

/* The record keeps the rate limit of ACKs to unacceptable segments
 * (cfg.invalid_ratelimit): waking it for each segment must not give a
 * spoofer one ACK per segment. */
TT_TEST(tw_record_keeps_the_ack_rate_limit)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.invalid_ratelimit = TCP_MS(500);
	struct host a, b;
	TT_EQ(two_hosts(&a, &cfg, &b, NULL), 0);
	TT_ASSERT(a_closes_first(&a, &b, 1001, 100, T0) != 0);
	host_drop_all(&a);
	struct peer p = from_b(&a, &b, 1001);
	unsigned acks = 0;
	for (int i = 0; i < 10; i++) {
		/* out of window: far beyond RCV.NXT (7002) */
		peer_send(&p, .seq = 900000u + 10u * (uint32_t)i, .ack = 102,
			  .now = T0 + TCP_MS(10) * (tcp_time_t)(i + 1));
		while (host_pop(&a))
			acks++;
		TT_EQ(mem(&a).time_wait, 1);
	}
	TT_EQ(acks, 1);
	TT_EQ(host_stats(&a).AckSkippedTimeWait, 9);
	host_free(&a);
	host_free(&b);
}

/* The listener h closes first and ends in TIME-WAIT (released: a
 * record); the peer p (timestamps, last TSval 501) is gone.  0 or -1. */
static int listener_in_time_wait(struct host *h, struct peer *p)
{
	struct tcp_conn *c;
	if (fx_passive(h, p, &c, .ts = 1, .tsval = 500) != 0)
		return -1;
	tcp_close(c, h->now);
	if (!host_pop(h) || h->seg.flags != (F_FIN | F_ACK))
		return -1;
	/* the peer ACKs the FIN and sends its own: TSval 501 is the last */
	peer_send(p, .flags = F_FIN | F_ACK, .ack = 301);
	if (!host_pop(h) || h->seg.flags != F_ACK || tcp_conn_state(c) != TCP_S_TIME_WAIT)
		return -1;
	tcp_release(c, h->now);
	host_drop_all(h);
	return mem(h).time_wait == 1 ? 0 : -1;
}

/* RFC 6191 2 on the listener's side: a SYN for a TIME-WAIT 4-tuple with
 * the same TSval as the old incarnation's last (a new connection within
 * the same millisecond) and a sequence number beyond RCV.NXT opens the
 * new connection; with the same TSval and an old sequence number, or an
 * older TSval, the TIME-WAIT stays (before, the equal TSval drew a
 * challenge ACK and the peer's connect waited 1 s for its retransmission:
 * bench/conn.sh saw such 1 s setups). */
TT_TEST(tw_reopen_same_tsval_newer_seq)
{
	struct host h;
	struct peer p;
	TT_EQ(listener_in_time_wait(&h, &p), 0);
	peer_send(&p, .flags = F_SYN, .seq = 5000, .ack = 0, .tsval = 501, .tsecr = 0);
	TT_ASSERT(host_pop(&h));
	TT_EQ(h.seg.flags, F_SYN | F_ACK);
	TT_EQ(h.seg.ack, 5001);
	TT_EQ(mem(&h).time_wait, 0);
	host_free(&h);
}

TT_TEST(tw_reopen_refused_same_tsval_old_seq)
{
	struct host h;
	struct peer p;
	TT_EQ(listener_in_time_wait(&h, &p), 0);
	/* RCV.NXT is 102 (after the peer's FIN) */
	peer_send(&p, .flags = F_SYN, .seq = 101, .ack = 0, .tsval = 501, .tsecr = 0);
	while (host_pop(&h))
		TT_ASSERT(h.seg.flags != (F_SYN | F_ACK));
	TT_EQ(mem(&h).time_wait, 1);
	host_free(&h);
}

TT_TEST(tw_reopen_refused_older_tsval)
{
	struct host h;
	struct peer p;
	TT_EQ(listener_in_time_wait(&h, &p), 0);
	peer_send(&p, .flags = F_SYN, .seq = 5000, .ack = 0, .tsval = 400, .tsecr = 0);
	while (host_pop(&h))
		TT_ASSERT(h.seg.flags != (F_SYN | F_ACK));
	TT_EQ(mem(&h).time_wait, 1);
	host_free(&h);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

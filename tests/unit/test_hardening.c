/*
 * test_hardening.c - the engine against off-path attackers and the
 * departures of issue 9: TS.Recent poisoning (RFC 7323 4.3), timestamps
 * that go backwards, the timestamp offset per 4-tuple (RFC 7323 7.1) and
 * TIME-WAIT reuse, challenge-ACK budgets (RFC 5961 7, CVE-2016-5696),
 * ACK reflection (Linux's tcp_invalid_ratelimit), TIME-WAIT answers
 * (RFC 9293 3.10.7.4), out-of-order FIN (RFC 5681 4.2), duplicate window
 * ACKs without window scaling, text on a SYN in SYN-SENT (3.10.7.3) and
 * CLOSE in SYN-RECEIVED (3.10.4).  Every attacker is scripted, the clock
 * virtual.
 */
#include "peer.h"

/* peer_plain_config with timestamps and the default per-connection
 * limit on ACKs answering unacceptable segments */
static void hard_config(struct tcp_config *cfg, int timestamps)
{
	peer_plain_config(cfg);
	cfg->timestamps = timestamps;
	cfg->invalid_ratelimit = TCP_MS(500);
}

/* a sends one byte to b and b's ACK comes back: *tsa is a's TSval. */
static int ts_probe(struct host *a, struct host *b, struct tcp_conn *ca, tcp_time_t now,
		    uint32_t *tsa)
{
	if (tcp_send(ca, "x", 1, now) != 1 || !host_pop(a) || !a->seg.has_ts)
		return -1;
	*tsa = a->seg.tsval;
	host_forward_last(a, b, now);
	host_deliver(b, a, now);
	host_drop_all(a);
	return 0;
}

/* A bulk transfer a -> b through pair_run, reading at b. */
struct xfer {
	struct tcp_conn *ca, *cb;
	uint8_t src[40000], dst[40000];
	size_t total, sent, got;
};

static int xfer_step(void *arg, tcp_time_t now)
{
	struct xfer *x = arg;
	while (x->sent < x->total) {
		ssize_t n = tcp_send(x->ca, x->src + x->sent, x->total - x->sent, now);
		if (n <= 0)
			break;
		x->sent += (size_t)n;
	}
	for (;;) {
		ssize_t n = tcp_recv(x->cb, x->dst + x->got, x->total - x->got, now);
		if (n <= 0)
			break;
		x->got += (size_t)n;
	}
	return x->got == x->total;
}

/* Runs a 40000-byte transfer from `now`; 1 if it completed byte-exact
 * within 60 s of virtual time. */
static int transfer_completes(struct host *a, struct host *b, struct tcp_conn *ca,
			      struct tcp_conn *cb, tcp_time_t now)
{
	static struct xfer x;
	memset(&x, 0, sizeof x);
	x.ca = ca;
	x.cb = cb;
	x.total = sizeof x.src;
	for (size_t i = 0; i < x.total; i++)
		x.src[i] = (uint8_t)(i * 131 + 7);
	pair_run(a, b, now, now + TCP_SEC(60), TCP_MS(5), NULL, NULL, xfer_step, &x);
	return x.got == x.total && memcmp(x.src, x.dst, x.total) == 0;
}

/* ---- item 1: TS.Recent poisoning ---- */

/* The attack with known sequence numbers: segments covering
 * RCV.NXT with a TSval 2^31 - 1 ahead, without an ACK bit, with an ACK
 * outside RFC 5961's range, and with an old ACK inside it.  None may
 * move TS.Recent: the real peer's segments keep passing PAWS and the
 * transfer completes. */
TT_TEST(ts_recent_not_poisoned_by_known_seq_segments)
{
	struct tcp_config cfg;
	hard_config(&cfg, 1);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pa = PEER(&b);
	uint32_t tsa;
	TT_EQ(ts_probe(&a, &b, ca, T0, &tsa), 0);
	TT_EQ(tcp_recv(cb, (char[4]){ 0 }, 4, T0), 1);
	/* b: RCV.NXT 101, SND.UNA = SND.NXT 300 */
	uint32_t evil = tsa + 0x7fffffffu;
	peer_send(&pa, .flags = 0, .seq = 101, .data = "A", .has_ts = 1, .tsval = evil);
	peer_send(&pa, .seq = 101, .ack = 300u - 0x80000000u, .data = "B", .has_ts = 1,
		  .tsval = evil);
	peer_send(&pa, .seq = 101, .ack = 300u - 100u, .has_ts = 1, .tsval = evil);
	host_drop_all(&b);
	TT_EQ(host_stats(&b).DropPaws, 0);
	TT_ASSERT(transfer_completes(&a, &b, ca, cb, T0 + TCP_MS(10)));
	TT_EQ(host_stats(&b).DropPaws, 0);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	host_free(&a);
	host_free(&b);
}

/* The blind variant: the attacker does not know RCV.NXT and sweeps the
 * whole sequence space with 32 KiB segments end to end (131072 of them:
 * one covers RCV.NXT, SEG.SEQ =< Last.ACK.sent < SEG.SEQ+SEG.LEN, the
 * condition for recording its TSval), without an ACK bit and again with
 * a guessed ACK. */
TT_TEST(ts_recent_not_poisoned_by_blind_sweep)
{
	struct tcp_config cfg;
	hard_config(&cfg, 1);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pa = PEER(&b);
	uint32_t tsa;
	TT_EQ(ts_probe(&a, &b, ca, T0, &tsa), 0);
	TT_EQ(tcp_recv(cb, (char[4]){ 0 }, 4, T0), 1);
	static uint8_t junk[32768];
	memset(junk, 'J', sizeof junk);
	uint64_t n = 0;
	for (uint64_t seq = 4153; seq < (1ull << 32); seq += sizeof junk, n++) {
		tcp_time_t t = T0 + n; /* 1 us apart */
		peer_send(&pa, .flags = 0, .seq = (uint32_t)seq, .data = junk,
			  .len = sizeof junk, .has_ts = 1, .tsval = tsa + 0x40000000u,
			  .now = t);
		peer_send(&pa, .seq = (uint32_t)seq, .ack = 0x5a5a5a5au, .data = junk,
			  .len = sizeof junk, .has_ts = 1, .tsval = tsa + 0x40000000u,
			  .now = t);
		if (b.qlen > PEER_QMAX / 2)
			host_drop_all(&b);
	}
	host_drop_all(&b);
	TT_EQ(n, 131072);
	TT_ASSERT(transfer_completes(&a, &b, ca, cb, T0 + TCP_SEC(1)));
	TT_EQ(host_stats(&b).DropPaws, 0);
	host_free(&a);
	host_free(&b);
}

/* ---- item 1: TSval monotonic per connection ---- */

/* A caller that passes an older `now` than before (the daemon stamps a
 * receive batch with the time it started) must not send an older TSval:
 * the peer would drop the segment by PAWS. */
TT_TEST(tsval_never_goes_backwards_with_a_stale_now)
{
	struct tcp_config cfg;
	hard_config(&cfg, 1);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	TT_EQ(tcp_send(ca, "new", 3, T0 + TCP_MS(100)), 3);
	TT_ASSERT(host_pop(&a));
	uint32_t ts1 = a.seg.tsval;
	host_forward_last(&a, &b, T0 + TCP_MS(100));
	TT_EQ(tcp_send(ca, "old", 3, T0 + TCP_MS(50)), 3);
	TT_ASSERT(host_pop(&a));
	uint32_t ts2 = a.seg.tsval;
	TT_ASSERT((int32_t)(ts2 - ts1) >= 0);
	host_forward_last(&a, &b, T0 + TCP_MS(100));
	TT_EQ(host_stats(&b).DropPaws, 0);
	char buf[8];
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0 + TCP_MS(100)), 6);
	TT_MEMEQ(buf, "newold", 6);
	/* and the clock goes on from there */
	TT_EQ(tcp_send(ca, "z", 1, T0 + TCP_MS(300)), 1);
	TT_ASSERT(host_pop(&a));
	TT_EQ(a.seg.tsval, ts1 + 200);
	host_free(&a);
	host_free(&b);
}

/* ---- item 1 / churn: the timestamp offset is a keyed hash of the 4-tuple ---- */

TT_TEST(ts_offset_same_for_one_4tuple_different_for_another)
{
	struct tcp_config cfg;
	hard_config(&cfg, 1);
	struct host a;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	a.release_on_close = 1;
	struct tcp_conn *c;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	TT_ASSERT(host_pop(&a) && a.seg.has_ts);
	uint32_t ts1 = a.seg.tsval;
	TT_EQ(tcp_abort(c, T0), 0);
	/* the next incarnation of the 4-tuple, 1 s later: the same clock */
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0 + TCP_SEC(1), &c), 0);
	TT_ASSERT(host_pop(&a) && a.seg.has_ts);
	TT_EQ(a.seg.tsval, ts1 + 1000);
	TT_EQ(tcp_abort(c, T0 + TCP_SEC(1)), 0);
	/* another 4-tuple: another offset (the TSval says nothing of the
	 * host's uptime or of its other connections) */
	TT_EQ(tcp_connect(a.s, &PB, 80, 1001, NULL, NULL, T0 + TCP_SEC(1), &c), 0);
	TT_ASSERT(host_pop(&a) && a.seg.has_ts);
	TT_ASSERT(a.seg.tsval != ts1 + 1000);
	host_free(&a);
}

/* Churn: the server closes first and keeps TIME-WAIT; the client opens
 * the same 4-tuple again 50 ms later.  RFC 9293 3.6.1 MAY-2 with RFC 6191
 * reopens the TIME-WAIT only for a SYN with a newer TSval: with an
 * offset per 4-tuple it always is (with a random offset per connection,
 * half of the SYNs failed PAWS and got an ACK instead of a SYN,ACK). */
TT_TEST(time_wait_reopen_succeeds_for_every_reused_4tuple)
{
	struct tcp_config cfg;
	hard_config(&cfg, 1);
	struct host a, b;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	TT_EQ(host_init(&b, 2, &cfg), 0);
	a.release_on_close = b.release_on_close = 1;
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 64, NULL, &l), 0);
	tcp_time_t now = T0;
	int reopened = 0;
	const int rounds = 20;
	for (int i = 0; i < rounds; i++) {
		uint16_t lport = (uint16_t)(1000 + i);
		struct tcp_conn *ca;
		a.isn = 1000u + 100000u * (uint32_t)i;
		b.isn = 5000000u + 100000u * (uint32_t)i;
		b.accepted = NULL;
		TT_EQ(tcp_connect(a.s, &b.ep, 80, lport, NULL, NULL, now, &ca), 0);
		host_deliver(&a, &b, now);
		host_deliver(&b, &a, now);
		host_deliver(&a, &b, now);
		TT_ASSERT(b.accepted != NULL);
		struct tcp_conn *cb = b.accepted;
		now += TCP_MS(10);
		TT_EQ(tcp_close(cb, now), 0); /* the server closes first */
		host_deliver(&b, &a, now);
		host_deliver(&a, &b, now);
		now += TCP_MS(10);
		TT_EQ(tcp_close(ca, now), 0);
		host_deliver(&a, &b, now);
		EXPECT_STATE(cb, TCP_S_TIME_WAIT);
		host_deliver(&b, &a, now);
		now += TCP_MS(50);
		a.isn += 50000; /* a new ISN beyond the old incarnation's */
		TT_EQ(tcp_connect(a.s, &b.ep, 80, lport, NULL, NULL, now, &ca), 0);
		host_deliver(&a, &b, now);
		TT_ASSERT(host_pop(&b));
		if (b.seg.flags == (F_SYN | F_ACK))
			reopened++;
		host_drop_all(&b);
		TT_EQ(tcp_abort(ca, now), 0);
		host_drop_all(&a);
		now += TCP_MS(10);
	}
	TT_EQ(reopened, rounds);
	TT_EQ(host_stats(&b).DropPaws, 0);
	host_free(&a);
	host_free(&b);
}

/* ---- item 2: challenge ACKs and reflection ---- */

/* b's queued segments addressed to the host with last octet `octet` */
static unsigned queued_to(const struct host *h, uint8_t octet)
{
	unsigned n = 0;
	for (unsigned k = 0; k < h->qlen; k++)
		n += h->q[(h->qhead + k) % PEER_QMAX].to.addr[3] == octet;
	return n;
}

/* CVE-2016-5696: within one second the attacker spends spoofed RSTs on
 * the victim's 4-tuple (a sequence number in or out of the window), then
 * elicits challenge ACKs on its own connection and counts them.  Returns
 * that count. */
static int side_channel_count(int guess_in_window, unsigned *victim_acks)
{
	struct tcp_config cfg;
	hard_config(&cfg, 0);
	cfg.challenge_ack_limit = 100;
	struct host a, b, e;
	if (host_init(&a, 1, &cfg) || host_init(&b, 2, &cfg) || host_init(&e, 3, &cfg))
		return -1;
	struct peer pa = PEER(&b);
	struct peer pe = PEER(&b, .ep = e.ep, .port = 2000);
	struct tcp_listener *l;
	struct tcp_conn *ca, *cb, *ce, *cbe;
	int r = -1;
	if (tcp_listen(b.s, 80, 8, NULL, &l) == 0 &&
	    pair_connect(&a, &b, 99, 299, 1000, 80, T0, &ca, &cb) == 0 &&
	    pair_connect(&e, &b, 499, 699, 2000, 80, T0, &ce, &cbe) == 0) {
		tcp_time_t t = T0 + TCP_SEC(5);
		/* b: victim RCV.NXT 100, attacker's RCV.NXT 500 */
		for (uint32_t i = 0; i < 100; i++)
			peer_send(&pa, .flags = F_RST,
				  .seq = guess_in_window ? 101 + i : 100000 + i, .now = t + i);
		*victim_acks = queued_to(&b, 1);
		host_drop_all(&b);
		for (uint32_t i = 0; i < 100; i++)
			peer_send(&pe, .flags = F_RST, .seq = 501 + i, .now = t + TCP_MS(100) + i);
		r = (int)queued_to(&b, 3);
	}
	host_free(&a);
	host_free(&b);
	host_free(&e);
	return r;
}

TT_TEST(challenge_ack_count_does_not_reveal_the_window)
{
	unsigned va_in = 0, va_out = 0;
	int in = side_channel_count(1, &va_in);
	int out = side_channel_count(0, &va_out);
	TT_ASSERT(in >= 0 && out >= 0);
	/* what the attacker sees is the same whether it guessed right */
	TT_EQ(in, out);
	/* and the victim answered its 100 in-window RSTs at most once */
	TT_ASSERT(va_in <= 1);
	TT_EQ(va_out, 0);
}

/* The stack's budget is drawn anew each second in [limit/2, limit*3/2):
 * 40 connections, each hit by one SYN per second (so the per-connection
 * limit lets each answer), spend a budget of limit 10. */
TT_TEST(challenge_ack_budget_randomized_per_second)
{
	struct tcp_config cfg;
	hard_config(&cfg, 0);
	cfg.challenge_ack_limit = 10;
	struct host a, b;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	TT_EQ(host_init(&b, 2, &cfg), 0);
	struct peer pa = PEER(&b);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 64, NULL, &l), 0);
	const unsigned nconn = 40;
	for (unsigned i = 0; i < nconn; i++) {
		struct tcp_conn *ca, *cb;
		TT_EQ(pair_connect(&a, &b, 99 + 1000 * i, 299 + 1000 * i, (uint16_t)(1000 + i), 80, T0,
				   &ca, &cb),
		      0);
	}
	unsigned counts[6], distinct = 0;
	for (unsigned sec = 0; sec < 6; sec++) {
		tcp_time_t t = T0 + TCP_SEC(2 + sec);
		for (unsigned i = 0; i < nconn; i++)
			peer_send(&pa, .sport = (uint16_t)(1000 + i), .flags = F_SYN,
				  .seq = 12345, .now = t + i);
		counts[sec] = b.qlen;
		host_drop_all(&b);
		TT_ASSERT(counts[sec] >= 5 && counts[sec] <= 14);
		int seen = 0;
		for (unsigned k = 0; k < sec; k++)
			seen |= counts[k] == counts[sec];
		distinct += !seen;
	}
	TT_ASSERT(distinct >= 2);
	struct tcp_stats st = host_stats(&b);
	TT_EQ(st.ChallengeAcks + st.ChallengeAcksSuppressed, 6 * nconn);
	host_free(&a);
	host_free(&b);
}

/* Reflection: 1000 spoofed segments in one second - SYNs, in-window RSTs,
 * data outside the window, ACKs of unsent data, segments failing PAWS -
 * draw at most one ACK per 500 ms from the connection; the connection
 * survives, answers a keep-alive afterwards and carries a transfer. */
TT_TEST(reflected_acks_bounded_per_connection)
{
	struct tcp_config cfg;
	hard_config(&cfg, 1);
	cfg.challenge_ack_limit = 1000;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pa = PEER(&b);
	uint32_t tsa;
	TT_EQ(ts_probe(&a, &b, ca, T0, &tsa), 0);
	TT_EQ(tcp_recv(cb, (char[4]){ 0 }, 4, T0), 1);
	/* b: RCV.NXT 101, SND.NXT 300 */
	tcp_time_t t = T0 + TCP_SEC(1);
	unsigned acks = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		tcp_time_t now = t + TCP_MS(1) * i;
		switch (i % 5) {
		case 0: peer_send(&pa, .flags = F_SYN, .seq = 7777 * i, .has_ts = 1,
				  .tsval = tsa, .now = now); break;
		case 1: peer_send(&pa, .flags = F_RST, .seq = 102 + i % 100, .has_ts = 1,
				  .tsval = tsa, .now = now); break;
		case 2: peer_send(&pa, .seq = 50000 + i, .ack = 300, .data = "data", .has_ts = 1,
				  .tsval = tsa, .now = now); break;
		case 3: peer_send(&pa, .seq = 101, .ack = 900000, .has_ts = 1, .tsval = tsa,
				  .now = now); break;
		default: peer_send(&pa, .seq = 101, .ack = 300, .has_ts = 1, .tsval = tsa - 5000,
				  .now = now); break;
		}
		acks += b.qlen;
		host_drop_all(&b);
	}
	TT_ASSERT(acks <= 2);
	struct tcp_stats st = host_stats(&b);
	TT_ASSERT(st.AckSkippedChallenge + st.AckSkippedSeq + st.AckSkippedPaws >= 998);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	/* a keep-alive of the real peer (SEQ = SND.NXT - 1) is answered */
	peer_send(&pa, .seq = 100, .ack = 300, .has_ts = 1, .tsval = tsa + 3000,
		  .now = t + TCP_SEC(2));
	EXPECT_SEG(&b, F_ACK, 300, 101);
	TT_ASSERT(transfer_completes(&a, &b, ca, cb, t + TCP_SEC(3)));
	host_free(&a);
	host_free(&b);
}

/* ---- item 9: departures ---- */

/* RFC 9293 3.10.7.4 TIME-WAIT: "Acknowledge it, and restart the 2 MSL
 * timeout" - a pure ACK above RCV.NXT, a FIN at or beyond RCV.NXT; a bare
 * ACK at RCV.NXT is not answered (no ACK loop between two TIME-WAITs). */
TT_TEST(time_wait_acknowledges_acceptable_segments_and_restarts_2msl)
{
	struct tcp_config cfg;
	hard_config(&cfg, 0);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	TT_EQ(tcp_close(ca, T0), 0);
	host_deliver(&a, &b, T0);
	host_deliver(&b, &a, T0);
	TT_EQ(tcp_close(cb, T0), 0);
	host_deliver(&b, &a, T0);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	host_drop_all(&a);
	/* a: SND.NXT 101, RCV.NXT 301 */
	const tcp_time_t msl2 = 2 * cfg.msl;
	tcp_time_t t = T0 + TCP_SEC(1);
	peer_send(&pb, .seq = 306, .ack = 101, .now = t);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	TT_EQ(tcp_next_deadline(a.s), t + msl2);
	t += TCP_SEC(1);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 301, .ack = 101, .now = t);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	TT_EQ(tcp_next_deadline(a.s), t + msl2);
	t += TCP_SEC(1);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 310, .ack = 101, .now = t);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	TT_EQ(tcp_next_deadline(a.s), t + msl2);
	t += TCP_SEC(1);
	peer_send(&pb, .seq = 301, .ack = 101, .now = t);
	EXPECT_NONE(&a);
	/* the exact retransmission of the FIN is answered each time */
	t += TCP_SEC(1);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 300, .ack = 101, .now = t);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 300, .ack = 101, .now = t + TCP_MS(200));
	EXPECT_SEG(&a, F_ACK, 101, 301);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	host_free(&a);
	host_free(&b);
}

/* RFC 5681 4.2: a bare FIN beyond a hole is acknowledged at once (the
 * duplicate ACK tells the sender of the hole); the FIN is processed when
 * the hole fills. */
TT_TEST(out_of_order_bare_fin_acknowledged_at_once)
{
	struct tcp_config cfg;
	hard_config(&cfg, 0);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pa = PEER(&b);
	peer_send(&pa, .flags = F_FIN | F_ACK, .seq = 110, .ack = 300);
	EXPECT_SEG(&b, F_ACK, 300, 100);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	peer_send(&pa, .seq = 100, .ack = 300, .data = "0123456789");
	EXPECT_SEG(&b, F_ACK, 300, 111);
	EXPECT_STATE(cb, TCP_S_CLOSE_WAIT);
	host_free(&a);
	host_free(&b);
}

/* Without window scaling the window field tops out at 65535: handing
 * data to the application when the buffer is larger does not change the
 * announced window, and must not send an ACK repeating it (a duplicate
 * ACK for the sender, RFC 5681 2). */
TT_TEST(no_duplicate_window_ack_on_read_without_scaling)
{
	struct tcp_config cfg;
	hard_config(&cfg, 0);
	cfg.recv_buffer = 256 * 1024;
	cfg.send_buffer = 256 * 1024;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	static uint8_t data[3000];
	memset(data, 'd', sizeof data);
	TT_EQ(tcp_send(ca, data, sizeof data, T0), (ssize_t)sizeof data);
	host_deliver(&a, &b, T0);
	while (host_pop(&b))
		TT_EQ(b.seg.wnd, 65535);
	static uint8_t buf[3000];
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), (ssize_t)sizeof buf);
	EXPECT_NONE(&b);
	host_free(&a);
	host_free(&b);
}

/* RFC 9293 3.10.7.3: a SYN without ACK in SYN-SENT (simultaneous open):
 * "If there are other controls or text in the segment, queue them for
 * processing after the ESTABLISHED state has been reached". */
TT_TEST(syn_sent_text_on_syn_queued_until_established)
{
	struct tcp_config cfg;
	hard_config(&cfg, 0);
	struct host a;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	host_drop_all(&a);
	peer_send(&pb, .flags = F_SYN, .seq = 300, .data = "hello");
	EXPECT_STATE(c, TCP_S_SYN_RECEIVED);
	EXPECT_SEG(&a, F_SYN | F_ACK, 100, 301); /* the text is not acknowledged yet */
	peer_send(&pb, .seq = 306, .ack = 101);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	EXPECT_SEG(&a, F_ACK, 101, 306);
	char buf[8];
	TT_EQ(tcp_recv(c, buf, sizeof buf, T0), 5);
	TT_MEMEQ(buf, "hello", 5);
	host_free(&a);
}

/* RFC 9293 3.10.4 CLOSE in SYN-RECEIVED: "If no SENDs have been issued
 * and there is no pending data to send, then form a FIN segment and send
 * it, and enter FIN-WAIT-1 state".  The SYN,ACK and the FIN are both
 * retransmitted until acknowledged; the handshake completes in
 * FIN-WAIT-1 and the close goes on as usual. */
TT_TEST(close_in_syn_received_sends_fin_at_once)
{
	struct tcp_config cfg;
	hard_config(&cfg, 0);
	struct host a;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	host_drop_all(&a);
	peer_send(&pb, .flags = F_SYN, .seq = 300);
	EXPECT_SEG(&a, F_SYN | F_ACK, 100, 301);
	TT_EQ(tcp_close(c, T0), 0);
	EXPECT_STATE(c, TCP_S_FIN_WAIT_1);
	EXPECT_SEG(&a, F_FIN | F_ACK, 101, 301);
	EXPECT_NONE(&a);
	/* nothing acknowledged: the timer resends the SYN,ACK, then the FIN */
	host_run_timers(&a, T0 + TCP_MS(1500));
	EXPECT_SEG(&a, F_SYN | F_ACK, 100, 301);
	EXPECT_SEG(&a, F_FIN | F_ACK, 101, 301);
	EXPECT_NONE(&a);
	tcp_time_t t = T0 + TCP_SEC(2);
	/* the SYN is acknowledged: the FIN is still out, its timer runs */
	peer_send(&pb, .seq = 301, .ack = 101, .now = t);
	EXPECT_STATE(c, TCP_S_FIN_WAIT_1);
	TT_EQ(host_count_ev(&a, TCP_EV_ESTABLISHED), 1);
	TT_ASSERT(tcp_next_deadline(a.s) != TCP_TIME_NEVER);
	peer_send(&pb, .seq = 301, .ack = 102, .now = t);
	EXPECT_STATE(c, TCP_S_FIN_WAIT_2);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 301, .ack = 102, .now = t);
	EXPECT_STATE(c, TCP_S_TIME_WAIT);
	EXPECT_SEG(&a, F_ACK, 102, 302);
	host_free(&a);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

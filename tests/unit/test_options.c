/*
 * test_options.c - RFC 7323 window scaling, timestamps, PAWS and RTT from
 * TSecr; RFC 2018 SACK and RFC 6675 SACK-based loss recovery.
 */
#include "peer.h"



/* A connects with timestamps and window scaling (a 1 MiB buffer: shift
 * 5); the scripted peer's SYN,ACK offers TS (TSval 1000), WS 3, MSS 1000
 * and a 1000-octet window.  p's template: <SEQ=301><ACK=101>, TSecr A's
 * TSval. */
static int setup_ts(struct host *a, struct peer *p, struct tcp_conn **c)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.recv_buffer = 1 << 20;
	cfg.recv_buffer_auto = 0; /* the whole buffer is the window from the start */
	int err = fx_active(a, p, c, .cfg = &cfg, .ts = 1, .tsval = 1000, .ws = 1, .wscale = 3,
			    .mss = 1000, .wnd = 1000);
	if (err)
		return err;
	return p->hsyn.ws == 5 ? 0 : -6;
}

/* RFC 7323 2: the shift applies to every window field after the SYN. */
TT_TEST(opt_window_scaling)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup_ts(&a, &p, &c), 0);
	uint32_t tsv = p.tsecr;
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.snd_wnd, 1000); /* the SYN,ACK's window is not scaled */
	TT_EQ(info.snd_wscale, 3);
	TT_EQ(info.rcv_wscale, 5);
	TT_EQ(a.seg.wnd, (1 << 20) >> 5);
	peer_send(&p, .wnd = 5000, .tsval = 1001, .tsecr = tsv, .now = T0 + 1);
	tcp_conn_info(c, &info);
	TT_EQ(info.snd_wnd, 5000u << 3);
	/* received data shrinks the advertised (scaled) window */
	char d[1001];
	memset(d, 'a', 1000);
	d[1000] = 0;
	peer_send(&p, .wnd = 5000, .data = d, .tsval = 1002, .tsecr = tsv, .now = T0 + 2);
	TT_ASSERT(host_pop(&a));
	TT_EQ(a.seg.ack, 1301);
	/* rounded up: the right edge 301 + 2^20 must not move left */
	TT_EQ(a.seg.wnd, (((1 << 20) - 1000) >> 5) + 1);
	host_free(&a);
}

/* RFC 9293 3.8.6.2.2 / RFC 7323 2.4: with a scaled window the right edge
 * never moves left, whatever the sizes of the arriving segments, and what
 * it promises is accepted. */
TT_TEST(opt_scaled_window_edge_never_moves_left)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup_ts(&a, &p, &c), 0);
	uint32_t tsv = p.tsecr;
	uint32_t right = a.seg.ack + ((uint32_t)a.seg.wnd << 5);
	uint32_t seq = 301, tv = 1001;
	static char d[1001];
	memset(d, 'e', 1000);
	for (int i = 0; i < 5000; i++) {
		/* a sender that fills exactly the advertised window */
		uint32_t len = 1 + (uint32_t)(i * 37) % 999;
		if (len > right - seq)
			len = right - seq;
		if (!len)
			break;
		d[len] = 0;
		peer_send(&p, .seq = seq, .data = d, .tsval = tv++, .tsecr = tsv, .now = T0 + 1);
		d[len] = 'e';
		TT_ASSERT(host_pop(&a));
		TT_EQ(a.seg.ack, seq + len); /* all of it accepted */
		uint32_t edge = a.seg.ack + ((uint32_t)a.seg.wnd << 5);
		TT_ASSERT(seq_geq(edge, right));
		right = edge;
		seq += len;
	}
	TT_EQ(right, seq); /* the window closed */
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.recv_queue, seq - 301);
	TT_ASSERT(info.recv_queue >= (1u << 20)); /* all of the promised space */
	host_free(&a);
}

/* RFC 7323 5.3 R1 PAWS: SEG.TSval < TS.Recent -> ACK and drop; R3 updates
 * TS.Recent; 3.2: a segment without TSopt is dropped. */
TT_TEST(opt_timestamps_paws)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup_ts(&a, &p, &c), 0);
	uint32_t tsv = p.tsecr;
	peer_send(&p, .data = "old", .tsval = 999, .tsecr = tsv, .now = T0 + 1);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	TT_EQ(a.seg.tsecr, 1000);
	TT_EQ(host_stats(&a).DropPaws, 1);
	char buf[8];
	TT_EQ(tcp_recv(c, buf, sizeof buf, T0 + 1), TCP_EAGAIN);
	/* newer: accepted, echoed */
	peer_send(&p, .data = "new", .tsval = 1005, .tsecr = tsv, .now = T0 + 2);
	EXPECT_SEG(&a, F_ACK, 101, 304);
	TT_EQ(a.seg.tsecr, 1005);
	TT_EQ(tcp_recv(c, buf, sizeof buf, T0 + 2), 3);
	/* no TSopt: silently dropped */
	peer_send(&p, .seq = 304, .data = "nots", .has_ts = 0, .now = T0 + 3);
	EXPECT_NONE(&a);
	TT_EQ(host_stats(&a).DropPaws, 2);
	/* but an RST without TSopt is processed (RFC 7323 3.2) */
	peer_send(&p, .flags = F_RST, .seq = 304, .wnd = 0, .has_ts = 0, .now = T0 + 4);
	EXPECT_STATE(c, TCP_S_CLOSED);
	host_free(&a);
}

/* RFC 7323 4.1 / RFC 6298: RTT samples from TSecr (also for
 * retransmitted data: the echo says which transmission is answered). */
TT_TEST(opt_rtt_from_tsecr)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup_ts(&a, &p, &c), 0);
	uint32_t tsv = p.tsecr;
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.srtt, 0); /* SYN,ACK came back at once */
	tcp_time_t t = T0 + TCP_SEC(1);
	TT_EQ(tcp_send(c, "x", 1, t), 1);
	TT_ASSERT(host_pop(&a));
	uint32_t sent_ts = a.seg.tsval;
	TT_EQ(sent_ts, tsv + 1000); /* 1 ms clock */
	peer_send(&p, .ack = 102, .tsval = 1010, .tsecr = sent_ts, .now = t + TCP_MS(80));
	tcp_conn_info(c, &info);
	TT_EQ(info.srtt, TCP_MS(80) / 8);
	TT_EQ(info.rttvar, TCP_MS(80) / 4);
	host_free(&a);
}

/* RFC 6675: SACK-based loss recovery.  A sends six segments, the first is
 * lost; the third duplicate ACK with SACK blocks triggers the
 * retransmission of exactly the hole; the full ACK ends recovery with
 * cwnd = ssthresh. */
TT_TEST(opt_sack_recovery_rfc6675)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.sack = 1;
	struct host a;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	TT_ASSERT(host_pop(&a));
	TT_EQ(a.seg.sack_perm, 1);
	struct peer p = PEER(&a, .ep = PB, .port = 80, .hport = 1000, .seq = 301, .ack = 101,
			     .wnd = 60000);
	peer_send(&p, .flags = F_SYN | F_ACK, .seq = 300, .sack_perm = 1, .has_mss = 1, .mss = 1000);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	char d[6000];
	memset(d, 's', sizeof d);
	TT_EQ(tcp_send(c, d, sizeof d, T0), 6000);
	for (int i = 0; i < 6; i++) {
		EXPECT_SEG_WL(&a, i == 5 ? F_ACK | F_PSH : F_ACK, 101 + 1000 * (uint32_t)i, 301, 8192, 1000);
	}
	/* segment 101 is lost; 1101.. arrive and are SACKed */
	for (uint32_t k = 1; k <= 2; k++) {
		peer_send(&p, .nsack = 1, .sack = { { 1101, 1101 + 1000 * k } }, .now = T0 + TCP_MS(10));
		EXPECT_NONE(&a);
	}
	peer_send(&p, .nsack = 1, .sack = { { 1101, 4101 } }, .now = T0 + TCP_MS(10));
	EXPECT_SEG_WL(&a, F_ACK, 101, 301, 8192, 1000);
	EXPECT_NONE(&a);
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.SackRecoveries, 1);
	TT_EQ(st.FastRetransmits, 1);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.ssthresh, 3000); /* FlightSize 6000 / 2 */
	/* the full ACK */
	peer_send(&p, .ack = 6101, .now = T0 + TCP_MS(20));
	tcp_conn_info(c, &info);
	TT_EQ(info.snd_una, 6101);
	TT_EQ(info.cwnd, info.ssthresh);
	TT_EQ(info.retransmits, 1);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);
	host_free(&a);
}

/* Scripted SACK receiver for A (sack_ok, MSS 1000, window 60000). */
static int setup_sack(struct host *a, struct peer *p, struct tcp_conn **c)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.send_buffer = 65536;
	return fx_active(a, p, c, .cfg = &cfg, .sack = 1, .mss = 1000, .wnd = 60000);
}

/* RFC 6675 NextSeg rule (1): two holes in one window; the second is
 * retransmitted once IsLost() says so (DupThresh segments SACKed above
 * it), within cwnd - pipe. */
TT_TEST(opt_sack_recovery_two_holes)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup_sack(&a, &p, &c), 0);
	static char d[10000];
	memset(d, 'h', sizeof d);
	TT_EQ(tcp_send(c, d, sizeof d, T0), 10000);
	for (int i = 0; i < 10; i++)
		TT_ASSERT(host_pop(&a));
	EXPECT_NONE(&a);
	tcp_time_t t = T0 + TCP_MS(10);
	/* lost: 101 and 3101 */
	peer_send_sack(&p, 101, (uint32_t[]){ 1101, 2101 }, 1, t);
	peer_send_sack(&p, 101, (uint32_t[]){ 1101, 3101 }, 1, t);
	EXPECT_NONE(&a);
	peer_send_sack(&p, 101, (uint32_t[]){ 4101, 5101, 1101, 3101 }, 2, t);
	EXPECT_SEG_WL(&a, F_ACK, 101, 301, 8192, 1000); /* first hole */
	EXPECT_NONE(&a);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.ssthresh, 5000);
	peer_send_sack(&p, 101, (uint32_t[]){ 4101, 6101, 1101, 3101 }, 2, t);
	peer_send_sack(&p, 101, (uint32_t[]){ 4101, 7101, 1101, 3101 }, 2, t);
	/* three segments SACKed above 3101: it is lost; pipe has room */
	int saw = 0;
	while (host_pop(&a)) {
		if (a.seg.seq == 3101 && a.seg.len == 1000)
			saw = 1;
	}
	TT_EQ(saw, 1);
	/* the retransmissions arrive: cumulative ACK to the end */
	peer_send_sack(&p, 3101, (uint32_t[]){ 4101, 10101 }, 1, t + TCP_MS(10));
	peer_send_sack(&p, 10101, NULL, 0, t + TCP_MS(20));
	tcp_conn_info(c, &info);
	TT_EQ(info.snd_una, 10101);
	TT_EQ(info.retransmits, 2);
	TT_EQ(host_stats(&a).SackRecoveries, 1);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);
	host_free(&a);
}

/* Data segments never exceed the peer's MSS: SACK blocks give way. */
TT_TEST(opt_sack_blocks_fit_mss_on_data)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup_sack(&a, &p, &c), 0);
	/* a hole at 301: A holds 311..315 out of order */
	peer_send(&p, .seq = 311, .data = "abcde", .now = T0 + 1);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	TT_EQ(a.seg.nsack, 1);
	/* a full-sized data segment: no room for the block */
	static char d[1000];
	memset(d, 'm', sizeof d);
	TT_EQ(tcp_send(c, d, sizeof d, T0 + 2), 1000);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 101, 301, 8192, 1000); /* edge kept */
	TT_EQ(a.seg.nsack, 0);
	TT_ASSERT(a.seglen <= 20 + 1000);
	/* a small one carries it */
	TT_EQ(tcp_send(c, "x", 1, T0 + 3), 1);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 1101, 301, 8192, 1);
	TT_EQ(a.seg.nsack, 1);
	host_free(&a);
}

/* RFC 2018 4: SACK blocks in order of recency, at most 3 with timestamps. */
TT_TEST(opt_sack_generation_order)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.sack = 1;
	cfg.timestamps = 1;
	struct host a;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	TT_ASSERT(host_pop(&a));
	uint32_t tsv = a.seg.tsval;
	struct peer p = PEER(&a, .ep = PB, .port = 80, .hport = 1000, .seq = 301, .ack = 101,
			     .wnd = 60000, .ts = 1, .tsecr = tsv);
	peer_send(&p, .flags = F_SYN | F_ACK, .seq = 300, .tsval = 1, .sack_perm = 1);
	TT_ASSERT(host_pop(&a));
	/* holes at 301, 311, 321, 331: blocks 306, 316, 326, 336 */
	uint32_t starts[4] = { 306, 316, 326, 336 };
	for (int i = 0; i < 4; i++) {
		peer_send(&p, .seq = starts[i], .data = "abcde", .tsval = 2 + (uint32_t)i, .now = T0 + 1);
		EXPECT_SEG(&a, F_ACK, 101, 301);
		TT_EQ(a.seg.nsack, i < 3 ? i + 1 : 3);
		TT_EQ(a.seg.sack[0].start, starts[i]);
		TT_EQ(a.seg.sack[0].end, starts[i] + 5);
	}
	TT_EQ(a.seg.sack[1].start, 326);
	TT_EQ(a.seg.sack[2].start, 316);
	host_free(&a);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

/* RFC 9293 3.7.1: the MSS we advertise follows the path's MTU; a loopback
 * peer's path is the loopback interface (cfg.mss_loopback), any other
 * peer's cfg.mss; IPv6 gives 20 octets more to its header. */
static uint16_t syn_mss_to(struct host *h, const struct tcp_endpoint *to, uint16_t lport)
{
	struct tcp_conn *c;
	if (tcp_connect(h->s, to, 80, lport, NULL, NULL, h->now, &c) != 0 || !host_pop(h) ||
	    h->seg.flags != F_SYN || !h->seg.has_mss)
		return 0;
	return h->seg.mss;
}

TT_TEST(opt_mss_loopback)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.mss_loopback = 16000;
	struct host h;
	TT_EQ(host_init(&h, 1, &cfg), 0);
	const struct tcp_endpoint v4_loop = { 4, { 127, 0, 0, 2 }, 9811 };
	const struct tcp_endpoint v6_loop = { 6, { [15] = 1 }, 9811 };
	const struct tcp_endpoint v4_mapped_loop = { 6, { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 }, 9811 };
	const struct tcp_endpoint v6_other = { 6, { 0xfd, [15] = 1 }, 9811 };
	const struct tcp_endpoint v4_mapped_other = { 6, { [10] = 0xff, [11] = 0xff, [12] = 10, [15] = 2 }, 9811 };
	TT_EQ(syn_mss_to(&h, &v4_loop, 1000), 16000);
	TT_EQ(syn_mss_to(&h, &PB, 1001), cfg.mss);
	TT_EQ(syn_mss_to(&h, &v6_loop, 1002), 16000 - 20);
	TT_EQ(syn_mss_to(&h, &v4_mapped_loop, 1003), 16000 - 20);
	TT_EQ(syn_mss_to(&h, &v6_other, 1004), cfg.mss - 20);
	TT_EQ(syn_mss_to(&h, &v4_mapped_other, 1005), cfg.mss - 20);
	host_free(&h);

	/* 0: loopback peers get cfg.mss like any other */
	cfg.mss_loopback = 0;
	TT_EQ(host_init(&h, 1, &cfg), 0);
	TT_EQ(syn_mss_to(&h, &v4_loop, 1000), cfg.mss);
	host_free(&h);

	/* the send MSS is the smaller of the two ends' (the peer's SYN,ACK
	 * offers 60000): a loopback connection's segments carry 16000 */
	struct peer p;
	struct tcp_conn *c;
	cfg.mss_loopback = 16000;
	TT_EQ(host_init(&h, 1, &cfg), 0);
	TT_EQ(tcp_connect(h.s, &v4_loop, 80, 1000, NULL, NULL, h.now, &c), 0);
	TT_ASSERT(host_pop(&h));
	p = PEER(&h, .ep = v4_loop, .port = 80, .hport = 1000, .seq = 301, .ack = h.seg.seq + 1, .wnd = 65535);
	peer_send(&p, .flags = F_SYN | F_ACK, .seq = 300, .has_mss = 1, .mss = 60000);
	TT_EQ(tcp_conn_state(c), TCP_S_ESTABLISHED);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.mss, 16000);
	host_free(&h);

	/* a value the engine cannot use is refused */
	cfg.mss_loopback = 10;
	TT_EQ(host_init(&h, 1, &cfg), TCP_EINVAL);
}

/*
 * test_options.c - RFC 7323 window scaling, timestamps, PAWS and RTT from
 * TSecr; RFC 2018 SACK and RFC 6675 SACK-based loss recovery.
 */
#include "peer.h"



/* Scripted peer segment with options. */
static int psend(struct host *a, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
		 const char *data, const struct tcp_seg *o, tcp_time_t now)
{
	uint8_t buf[2048];
	size_t n = peer_build(buf, sizeof buf, 80, 1000, seq, ack, flags, wnd, data,
			      data ? strlen(data) : 0, o);
	return tcp_input(a->s, &PB, buf, n, now);
}

static struct tcp_seg ts_opt(uint32_t tsval, uint32_t tsecr)
{
	struct tcp_seg o;
	memset(&o, 0, sizeof o);
	o.has_ts = 1;
	o.tsval = tsval;
	o.tsecr = tsecr;
	return o;
}

/* A connects with timestamps and window scaling; the peer's SYN,ACK
 * offers TS (TSval 1000) and WS 3. */
static int setup_ts(struct host *a, struct tcp_conn **c, uint32_t *a_tsval)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.timestamps = 1;
	cfg.window_scaling = 1;
	cfg.recv_buffer = 1 << 20;
	if (host_init(a, 1, &cfg) != 0)
		return -1;
	a->isn = 100;
	if (tcp_connect(a->s, &PB, 80, 1000, NULL, NULL, T0, c) != 0)
		return -2;
	if (!host_pop(a) || !a->seg.has_ts || !a->seg.has_ws || a->seg.ws != 5 || a->seg.tsecr != 0)
		return -3;
	*a_tsval = a->seg.tsval;
	struct tcp_seg o = ts_opt(1000, a->seg.tsval);
	o.has_ws = 1;
	o.ws = 3;
	o.has_mss = 1;
	o.mss = 1000;
	psend(a, 300, 101, F_SYN | F_ACK, 1000, NULL, &o, T0);
	if (tcp_conn_state(*c) != TCP_S_ESTABLISHED)
		return -4;
	if (!host_pop(a) || a->seg.flags != F_ACK || !a->seg.has_ts || a->seg.tsecr != 1000)
		return -5;
	return 0;
}

/* RFC 7323 2: the shift applies to every window field after the SYN. */
TT_TEST(opt_window_scaling)
{
	struct host a;
	struct tcp_conn *c;
	uint32_t tsv;
	TT_EQ(setup_ts(&a, &c, &tsv), 0);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.snd_wnd, 1000); /* the SYN,ACK's window is not scaled */
	TT_EQ(info.snd_wscale, 3);
	TT_EQ(info.rcv_wscale, 5);
	TT_EQ(a.seg.wnd, (1 << 20) >> 5);
	struct tcp_seg o = ts_opt(1001, tsv);
	psend(&a, 301, 101, F_ACK, 5000, NULL, &o, T0 + 1);
	tcp_conn_info(c, &info);
	TT_EQ(info.snd_wnd, 5000u << 3);
	/* received data shrinks the advertised (scaled) window */
	char d[1001];
	memset(d, 'a', 1000);
	d[1000] = 0;
	o = ts_opt(1002, tsv);
	psend(&a, 301, 101, F_ACK, 5000, d, &o, T0 + 2);
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
	struct tcp_conn *c;
	uint32_t tsv;
	TT_EQ(setup_ts(&a, &c, &tsv), 0);
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
		struct tcp_seg o = ts_opt(tv++, tsv);
		psend(&a, seq, 101, F_ACK, 1000, d, &o, T0 + 1);
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
	struct tcp_conn *c;
	uint32_t tsv;
	TT_EQ(setup_ts(&a, &c, &tsv), 0);
	struct tcp_seg o = ts_opt(999, tsv);
	psend(&a, 301, 101, F_ACK, 1000, "old", &o, T0 + 1);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	TT_EQ(a.seg.tsecr, 1000);
	TT_EQ(host_stats(&a).DropPaws, 1);
	char buf[8];
	TT_EQ(tcp_recv(c, buf, sizeof buf, T0 + 1), TCP_EAGAIN);
	/* newer: accepted, echoed */
	o = ts_opt(1005, tsv);
	psend(&a, 301, 101, F_ACK, 1000, "new", &o, T0 + 2);
	EXPECT_SEG(&a, F_ACK, 101, 304);
	TT_EQ(a.seg.tsecr, 1005);
	TT_EQ(tcp_recv(c, buf, sizeof buf, T0 + 2), 3);
	/* no TSopt: silently dropped */
	psend(&a, 304, 101, F_ACK, 1000, "nots", NULL, T0 + 3);
	EXPECT_NONE(&a);
	TT_EQ(host_stats(&a).DropPaws, 2);
	/* but an RST without TSopt is processed (RFC 7323 3.2) */
	psend(&a, 304, 0, F_RST, 0, NULL, NULL, T0 + 4);
	EXPECT_STATE(c, TCP_S_CLOSED);
	host_free(&a);
}

/* RFC 7323 4.1 / RFC 6298: RTT samples from TSecr (also for
 * retransmitted data: the echo says which transmission is answered). */
TT_TEST(opt_rtt_from_tsecr)
{
	struct host a;
	struct tcp_conn *c;
	uint32_t tsv;
	TT_EQ(setup_ts(&a, &c, &tsv), 0);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.srtt, 0); /* SYN,ACK came back at once */
	tcp_time_t t = T0 + TCP_SEC(1);
	TT_EQ(tcp_send(c, "x", 1, t), 1);
	TT_ASSERT(host_pop(&a));
	uint32_t sent_ts = a.seg.tsval;
	TT_EQ(sent_ts, tsv + 1000); /* 1 ms clock */
	struct tcp_seg o = ts_opt(1010, sent_ts);
	psend(&a, 301, 102, F_ACK, 1000, NULL, &o, t + TCP_MS(80));
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
	struct tcp_seg o;
	memset(&o, 0, sizeof o);
	o.sack_perm = 1;
	o.has_mss = 1;
	o.mss = 1000;
	psend(&a, 300, 101, F_SYN | F_ACK, 60000, NULL, &o, T0);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	char d[6000];
	memset(d, 's', sizeof d);
	TT_EQ(tcp_send(c, d, sizeof d, T0), 6000);
	for (int i = 0; i < 6; i++) {
		EXPECT_SEG_WL(&a, i == 5 ? F_ACK | F_PSH : F_ACK, 101 + 1000 * (uint32_t)i, 301, 8192, 1000);
	}
	/* segment 101 is lost; 1101.. arrive and are SACKed */
	for (uint32_t k = 1; k <= 2; k++) {
		memset(&o, 0, sizeof o);
		o.nsack = 1;
		o.sack[0].start = 1101;
		o.sack[0].end = 1101 + 1000 * k;
		psend(&a, 301, 101, F_ACK, 60000, NULL, &o, T0 + TCP_MS(10));
		EXPECT_NONE(&a);
	}
	memset(&o, 0, sizeof o);
	o.nsack = 1;
	o.sack[0].start = 1101;
	o.sack[0].end = 4101;
	psend(&a, 301, 101, F_ACK, 60000, NULL, &o, T0 + TCP_MS(10));
	EXPECT_SEG_WL(&a, F_ACK, 101, 301, 8192, 1000);
	EXPECT_NONE(&a);
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.SackRecoveries, 1);
	TT_EQ(st.FastRetransmits, 1);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.ssthresh, 3000); /* FlightSize 6000 / 2 */
	/* the full ACK */
	psend(&a, 301, 6101, F_ACK, 60000, NULL, NULL, T0 + TCP_MS(20));
	tcp_conn_info(c, &info);
	TT_EQ(info.snd_una, 6101);
	TT_EQ(info.cwnd, info.ssthresh);
	TT_EQ(info.retransmits, 1);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);
	host_free(&a);
}

/* Scripted SACK receiver for A (sack_ok, MSS 1000, window 60000). */
static int setup_sack(struct host *a, struct tcp_conn **c)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.sack = 1;
	cfg.send_buffer = 65536;
	if (host_init(a, 1, &cfg) != 0)
		return -1;
	a->isn = 100;
	if (tcp_connect(a->s, &PB, 80, 1000, NULL, NULL, T0, c) != 0)
		return -2;
	host_pop(a);
	struct tcp_seg o;
	memset(&o, 0, sizeof o);
	o.sack_perm = 1;
	o.has_mss = 1;
	o.mss = 1000;
	psend(a, 300, 101, F_SYN | F_ACK, 60000, NULL, &o, T0);
	if (!host_pop(a) || tcp_conn_state(*c) != TCP_S_ESTABLISHED)
		return -3;
	return 0;
}

static void sack_ack(struct host *a, uint32_t ack, const uint32_t *blk, unsigned n, tcp_time_t now)
{
	struct tcp_seg o;
	memset(&o, 0, sizeof o);
	o.nsack = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		o.sack[i].start = blk[2 * i];
		o.sack[i].end = blk[2 * i + 1];
	}
	psend(a, 301, ack, F_ACK, 60000, NULL, &o, now);
}

/* RFC 6675 NextSeg rule (1): two holes in one window; the second is
 * retransmitted once IsLost() says so (DupThresh segments SACKed above
 * it), within cwnd - pipe. */
TT_TEST(opt_sack_recovery_two_holes)
{
	struct host a;
	struct tcp_conn *c;
	TT_EQ(setup_sack(&a, &c), 0);
	static char d[10000];
	memset(d, 'h', sizeof d);
	TT_EQ(tcp_send(c, d, sizeof d, T0), 10000);
	for (int i = 0; i < 10; i++)
		TT_ASSERT(host_pop(&a));
	EXPECT_NONE(&a);
	tcp_time_t t = T0 + TCP_MS(10);
	/* lost: 101 and 3101 */
	sack_ack(&a, 101, (uint32_t[]){ 1101, 2101 }, 1, t);
	sack_ack(&a, 101, (uint32_t[]){ 1101, 3101 }, 1, t);
	EXPECT_NONE(&a);
	sack_ack(&a, 101, (uint32_t[]){ 4101, 5101, 1101, 3101 }, 2, t);
	EXPECT_SEG_WL(&a, F_ACK, 101, 301, 8192, 1000); /* first hole */
	EXPECT_NONE(&a);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.ssthresh, 5000);
	sack_ack(&a, 101, (uint32_t[]){ 4101, 6101, 1101, 3101 }, 2, t);
	sack_ack(&a, 101, (uint32_t[]){ 4101, 7101, 1101, 3101 }, 2, t);
	/* three segments SACKed above 3101: it is lost; pipe has room */
	int saw = 0;
	while (host_pop(&a)) {
		if (a.seg.seq == 3101 && a.seg.len == 1000)
			saw = 1;
	}
	TT_EQ(saw, 1);
	/* the retransmissions arrive: cumulative ACK to the end */
	sack_ack(&a, 3101, (uint32_t[]){ 4101, 10101 }, 1, t + TCP_MS(10));
	sack_ack(&a, 10101, NULL, 0, t + TCP_MS(20));
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
	struct tcp_conn *c;
	TT_EQ(setup_sack(&a, &c), 0);
	/* a hole at 301: A holds 311..315 out of order */
	psend(&a, 311, 101, F_ACK, 60000, "abcde", NULL, T0 + 1);
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
	struct tcp_seg o = ts_opt(1, tsv);
	o.sack_perm = 1;
	psend(&a, 300, 101, F_SYN | F_ACK, 60000, NULL, &o, T0);
	TT_ASSERT(host_pop(&a));
	/* holes at 301, 311, 321, 331: blocks 306, 316, 326, 336 */
	uint32_t starts[4] = { 306, 316, 326, 336 };
	for (int i = 0; i < 4; i++) {
		o = ts_opt(2 + (uint32_t)i, tsv);
		psend(&a, starts[i], 101, F_ACK, 60000, "abcde", &o, T0 + 1);
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

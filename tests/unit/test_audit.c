/*
 * test_audit.c - RFC 9293 / RFC 7323 rules found by the RFC audit: each
 * test is named after the rule it checks and drives one engine stack
 * with segments hand-crafted by a scripted peer (peer.h).
 */
#include "peer.h"

/* RFC 9293 3.8.6.2.2 (MUST-39): "The suggested SWS avoidance algorithm for
 * the receiver is to keep RCV.NXT+RCV.WND fixed until the reduction
 * satisfies: RCV.BUFF - RCV.USER - RCV.WND >= min( Fr * RCV.BUFF,
 * Eff.snd.MSS )".  Without window scaling too: after the window closed,
 * reading 100 octets must not advertise a 100-octet window. */
TT_TEST(rule_receiver_sws_avoidance_unscaled)
{
	struct host b;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(fx_passive(&b, &p, &c), 0);
	/* no MSS option from the peer: Eff.snd.MSS = 536, RCV.BUFF = 8192 */
	char blk[1025];
	memset(blk, 'x', 1024);
	blk[1024] = 0;
	for (uint32_t i = 0; i < 8; i++) {
		peer_send(&p, .seq = 100 + i * 1024, .ack = 300, .data = blk);
		EXPECT_SEG_WL(&b, F_ACK, 300, 100 + (i + 1) * 1024, 8192 - (i + 1) * 1024, 0);
	}
	uint8_t rb[600];
	TT_EQ(tcp_recv(c, rb, 100, T0), 100);
	EXPECT_NONE(&b);
	/* a zero-window probe: the answer keeps the right edge where it was */
	peer_send(&p, .seq = 100 + 8192, .ack = 300, .data = "y");
	EXPECT_SEG_WL(&b, F_ACK, 300, 100 + 8192, 0, 0);
	/* 600 free octets >= min(4096, 536): the window opens */
	TT_EQ(tcp_recv(c, rb, 500, T0), 500);
	EXPECT_SEG_WL(&b, F_ACK, 300, 100 + 8192, 600, 0);
	host_free(&b);
}

/* RFC 9293 3.8.6.2.2 receiver SWS avoidance with a buffer larger than an
 * unscaled window field (no window scaling): the window is at most 65535
 * ("the window field ... 16 bits", RFC 9293 3.1), so once 65535 is
 * announced, reading does not open it further.  Reads must not send window
 * updates that repeat the last ACK: a pure ACK with the same SEG.ACK and
 * SEG.WND is a duplicate ACK to the peer (RFC 5681 2 "DUPLICATE
 * ACKNOWLEDGMENT"), and three of them trigger its fast retransmit. */
TT_TEST(rule_receiver_reads_no_duplicate_65535_window_updates)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.recv_buffer = 256 * 1024;
	struct host b;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(fx_passive(&b, &p, &c, .cfg = &cfg), 0);
	char blk[1001];
	memset(blk, 'w', 1000);
	blk[1000] = 0;
	for (uint32_t i = 0; i < 10; i++) {
		peer_send(&p, .seq = 100 + i * 1000, .data = blk);
		EXPECT_SEG_WL(&b, F_ACK, 300, 100 + (i + 1) * 1000, 65535, 0);
	}
	uint64_t out = host_stats(&b).OutSegs;
	uint8_t rb[100];
	for (int i = 0; i < 100; i++) {
		TT_EQ(tcp_recv(c, rb, sizeof rb, T0), 100);
		EXPECT_NONE(&b);
	}
	TT_EQ(host_stats(&b).OutSegs, out);
	/* the window still takes what it announced */
	peer_send(&p, .seq = 100 + 10000, .data = blk);
	EXPECT_SEG_WL(&b, F_ACK, 300, 100 + 11000, 65535, 0);
	host_free(&b);
}

/* RFC 7323 3.2: "Once TSopt has been successfully negotiated, that is both
 * <SYN> and <SYN,ACK> contain TSopt, the TSopt MUST be sent in every
 * non-<RST> segment for the duration of the connection, and SHOULD be sent
 * in an <RST> segment." */
TT_TEST(rule_rst_carries_tsopt_when_negotiated)
{
	struct host b;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(fx_passive(&b, &p, &c, .ts = 1, .tsval = 500), 0);
	uint32_t tsv = p.tsecr; /* b's TSval on its SYN,ACK */
	TT_EQ(tcp_abort(c, T0 + TCP_MS(5)), 0);
	/* ABORT: <SEQ=SND.NXT><CTL=RST>; no ACK bit, so TSecr 0 ("if the ACK
	 * bit is not set in an outgoing TCP header, the sender of that segment
	 * SHOULD set the TSecr field to zero") */
	EXPECT_SEG(&b, F_RST, 300, 0);
	TT_EQ(b.seg.has_ts, 1);
	TT_EQ(b.seg.tsecr, 0);
	TT_EQ(b.seg.tsval, tsv + 5);
	TT_EQ(b.seg.nsack, 0);
	host_free(&b);
}

/* RFC 7323 4.3 / 5.3 R3: "If an arriving segment satisfies SEG.TSval >=
 * TS.Recent and SEG.SEQ =< Last.ACK.sent (see Section 4.3), then record its
 * timestamp in TS.Recent."  An out-of-order segment (beyond Last.ACK.sent)
 * does not update TS.Recent; the segment that fills the hole does. */
TT_TEST(rule_ts_recent_only_from_in_sequence_segments)
{
	struct host b;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(fx_passive(&b, &p, &c, .ts = 1, .tsval = 500), 0);
	uint32_t tsv = p.tsecr; /* b's TSval on its SYN,ACK */
	peer_send(&p, .seq = 110, .ack = 300, .data = "later", .tsval = 600, .tsecr = tsv,
		  .now = T0 + TCP_MS(1));
	EXPECT_SEG(&b, F_ACK, 300, 100);
	TT_EQ(b.seg.has_ts, 1);
	TT_EQ(b.seg.tsecr, 501);
	peer_send(&p, .seq = 100, .ack = 300, .data = "0123456789", .tsval = 601, .tsecr = tsv,
		  .now = T0 + TCP_MS(2));
	EXPECT_SEG(&b, F_ACK, 300, 115);
	TT_EQ(b.seg.tsecr, 601);
	/* an old TSval (PAWS R1): "Send an acknowledgment in reply ... and
	 * drop the segment" */
	peer_send(&p, .seq = 115, .ack = 300, .data = "old", .tsval = 590, .tsecr = tsv,
		  .now = T0 + TCP_MS(3));
	EXPECT_SEG(&b, F_ACK, 300, 115);
	TT_EQ(b.seg.tsecr, 601);
	/* a RST is exempt from PAWS (RFC 7323 5.3 R1 "if the RST bit is not
	 * set") */
	peer_send(&p, .flags = F_RST, .seq = 115, .wnd = 0, .tsval = 590, .tsecr = tsv,
		  .now = T0 + TCP_MS(4));
	EXPECT_STATE(c, TCP_S_CLOSED);
	host_free(&b);
}

/* RFC 9293 3.10.7.4 LAST-ACK: "The only thing that can arrive in this state
 * is an acknowledgment of our FIN. If our FIN is now acknowledged, delete
 * the TCB, enter the CLOSED state, and return."  Text is ignored
 * ("This should not occur since a FIN has been received"). */
TT_TEST(rule_last_ack_only_ack_of_fin)
{
	struct host b;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(fx_passive(&b, &p, &c), 0);
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 100, .ack = 300);
	EXPECT_SEG(&b, F_ACK, 300, 101);
	EXPECT_STATE(c, TCP_S_CLOSE_WAIT);
	TT_EQ(tcp_send(c, "ab", 2, T0), 2);
	EXPECT_SEG(&b, F_ACK | F_PSH, 300, 101);
	TT_EQ(tcp_close(c, T0), 0);
	EXPECT_SEG(&b, F_ACK | F_FIN, 302, 101);
	EXPECT_STATE(c, TCP_S_LAST_ACK);
	/* acks the data, not the FIN: remain */
	peer_send(&p, .seq = 101, .ack = 302);
	EXPECT_NONE(&b);
	EXPECT_STATE(c, TCP_S_LAST_ACK);
	/* the peer's FIN again (our ACK was lost): acknowledged */
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 100, .ack = 302);
	EXPECT_SEG(&b, F_ACK, 303, 101);
	EXPECT_STATE(c, TCP_S_LAST_ACK);
	peer_send(&p, .seq = 101, .ack = 303);
	EXPECT_STATE(c, TCP_S_CLOSED);
	EXPECT_NONE(&b);
	TT_EQ(host_closed_err(&b), 0);
	host_free(&b);
}

/* RFC 7323 2.2: "The window field in a segment where the SYN bit is set
 * (i.e., a <SYN> or <SYN,ACK>) MUST NOT be scaled."  In a simultaneous
 * open the peer's SYN,ACK completes the handshake in SYN-RECEIVED: its
 * window field is taken as it is, not shifted by the peer's WS. */
TT_TEST(rule_simultaneous_open_synack_window_not_scaled)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.window_scaling = 1;
	struct host b;
	TT_EQ(host_init(&b, 2, &cfg), 0);
	struct peer p = PEER(&b);
	struct tcp_conn *c;
	b.isn = 299;
	TT_EQ(tcp_connect(b.s, &PA, 1000, 80, NULL, NULL, T0, &c), 0);
	EXPECT_SEG(&b, F_SYN, 299, 0);
	TT_EQ(b.seg.has_ws, 1);
	/* the SYNs cross */
	peer_send(&p, .flags = F_SYN, .seq = 99, .wnd = 2000, .has_ws = 1, .ws = 3, .has_mss = 1,
		  .mss = 1000);
	EXPECT_SEG(&b, F_SYN | F_ACK, 299, 100);
	EXPECT_STATE(c, TCP_S_SYN_RECEIVED);
	/* the peer's SYN,ACK: window 1000 octets, unscaled */
	peer_send(&p, .flags = F_SYN | F_ACK, .seq = 99, .ack = 300, .wnd = 1000, .has_ws = 1,
		  .ws = 3, .has_mss = 1, .mss = 1000);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	struct tcp_conn_info info;
	TT_EQ(tcp_conn_info(c, &info), 0);
	TT_EQ(info.snd_wscale, 3);
	TT_EQ(info.snd_wnd, 1000);
	/* a later non-SYN segment's window is scaled */
	host_drop_all(&b);
	peer_send(&p, .seq = 100, .ack = 300, .wnd = 250);
	TT_EQ(tcp_conn_info(c, &info), 0);
	TT_EQ(info.snd_wnd, 2000);
	host_free(&b);
}

/* RFC 7323 3.2 (TSopt "SHOULD be sent in an <RST> segment") with RFC 9293
 * 3.10.7.4 SYN-RECEIVED: "If the segment acknowledgment is not acceptable,
 * form a reset segment <SEQ=SEG.ACK><CTL=RST> and send it."  Timestamps
 * were negotiated by the SYN and SYN,ACK, so the RST carries TSopt, with
 * TSecr zero as the ACK bit is off ("the sender of that segment SHOULD set
 * the TSecr field to zero"). */
TT_TEST(rule_syn_received_bad_ack_rst_with_tsopt)
{
	struct host b;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(fx_passive(&b, &p, &c, .ts = 1, .tsval = 500, .syn_received = 1), 0);
	uint32_t tsv = p.tsecr; /* b's TSval on its SYN,ACK */
	peer_send(&p, .seq = 100, .ack = 900, .tsval = 501, .tsecr = tsv);
	EXPECT_SEG(&b, F_RST, 900, 0);
	TT_EQ(b.seg.has_ts, 1);
	TT_EQ(b.seg.tsecr, 0);
	EXPECT_STATE(host_any_conn(&b), TCP_S_SYN_RECEIVED);
	host_free(&b);
}

/* RFC 9293 3.10.7.4: "One could tailor actual segments to fit this
 * assumption by trimming off any portions that lie outside the window
 * (including SYN and FIN)".  Data filling the window exactly plus a FIN:
 * the FIN's sequence number is RCV.NXT+RCV.WND, outside the window, so it
 * is trimmed (as a bare FIN into a zero window is not acceptable); once
 * the window opens, the retransmitted FIN is taken. */
TT_TEST(rule_fin_beyond_window_edge_trimmed)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.recv_buffer = 20;
	struct host b;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(fx_passive(&b, &p, &c, .cfg = &cfg), 0);
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 100, .ack = 300, .data = "ABCDEFGHIJKLMNOPQRST");
	EXPECT_SEG_WL(&b, F_ACK, 300, 120, 0, 0);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	/* a bare FIN into the zero window: not acceptable either */
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 120, .ack = 300);
	EXPECT_SEG_WL(&b, F_ACK, 300, 120, 0, 0);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	char buf[32];
	TT_EQ(tcp_recv(c, buf, sizeof buf, T0), 20);
	TT_MEMEQ(buf, "ABCDEFGHIJKLMNOPQRST", 20);
	EXPECT_SEG_WL(&b, F_ACK, 300, 120, 20, 0);
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 120, .ack = 300);
	EXPECT_SEG(&b, F_ACK, 300, 121);
	EXPECT_STATE(c, TCP_S_CLOSE_WAIT);
	TT_EQ(tcp_recv(c, buf, sizeof buf, T0), 0);
	host_free(&b);
}

/* A retransmitted SYN in SYN-RECEIVED (our SYN,ACK was lost) is the
 * peer's latest segment: the SYN,ACK that answers it echoes its TSval, not
 * the first SYN's, or the peer's RTT sample would span its whole SYN
 * backoff (RFC 7323 4.1: TSecr echoes "the most recent" TSval; Linux
 * updates ts_recent the same way). */
TT_TEST(rule_dup_syn_in_syn_received_echoes_latest_tsval)
{
	struct host b;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(fx_passive(&b, &p, &c, .ts = 1, .tsval = 500, .syn_received = 1), 0);
	peer_send(&p, .flags = F_SYN, .seq = 99, .tsval = 1500, .tsecr = 0, .now = T0 + TCP_SEC(1));
	EXPECT_SEG(&b, F_SYN | F_ACK, 299, 100);
	TT_EQ(b.seg.tsecr, 1500);
	/* an older duplicate of the first SYN fails PAWS: ACKed, no change */
	peer_send(&p, .flags = F_SYN, .seq = 99, .tsval = 500, .tsecr = 0, .now = T0 + TCP_SEC(1));
	EXPECT_SEG(&b, F_ACK, 300, 100);
	TT_EQ(b.seg.tsecr, 1500);
	EXPECT_NONE(&b);
	EXPECT_STATE(host_any_conn(&b), TCP_S_SYN_RECEIVED);
	host_free(&b);
}

/* RFC 6298 (3), Karn: "RTT samples MUST NOT be made using segments that
 * were retransmitted".  Our SYN was sent twice; a SYN,ACK whose TSecr
 * echoes the first SYN does not tell which one it answers, so it gives no
 * sample and RFC 6298 (5.7) applies ("the RTO MUST be re-initialized to 3
 * seconds"); one echoing the latest SYN is an exact sample. */
TT_TEST(rule_handshake_rtt_sample_after_syn_retransmission)
{
	for (int latest = 0; latest <= 1; latest++) {
		struct tcp_config cfg;
		peer_plain_config(&cfg);
		cfg.timestamps = 1;
		struct host b;
		TT_EQ(host_init(&b, 2, &cfg), 0);
		struct peer p = PEER(&b);
		struct tcp_conn *c;
		b.isn = 299;
		TT_EQ(tcp_connect(b.s, &PA, 1000, 80, NULL, NULL, T0, &c), 0);
		EXPECT_SEG(&b, F_SYN, 299, 0);
		uint32_t first = b.seg.tsval;
		TT_EQ(host_run_timers(&b, T0 + TCP_MS(1500)), T0 + TCP_SEC(1));
		EXPECT_SEG(&b, F_SYN, 299, 0);
		uint32_t second = b.seg.tsval;
		TT_EQ(second - first, 1000);
		peer_send(&p, .flags = F_SYN | F_ACK, .seq = 99, .ack = 300, .has_ts = 1, .tsval = 700,
			  .tsecr = latest ? second : first, .now = T0 + TCP_MS(1020));
		EXPECT_SEG(&b, F_ACK, 300, 100);
		EXPECT_STATE(c, TCP_S_ESTABLISHED);
		struct tcp_conn_info info;
		TT_EQ(tcp_conn_info(c, &info), 0);
		if (latest) {
			TT_EQ(info.srtt, TCP_MS(20));
		} else {
			TT_EQ(info.srtt, 0);
			TT_EQ(info.rto, TCP_SEC(3));
		}
		host_free(&b);
	}
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

/*
 * test_audit.c - RFC 9293 / RFC 7323 rules found by the RFC audit: each
 * test is named after the rule it checks and drives one engine stack
 * with segments hand-crafted by a scripted peer (peer.h).
 */
#include "peer.h"

#define T0 TCP_SEC(100)

static const struct tcp_endpoint PA = { 4, { 10, 0, 0, 1 }, 9811 };

/* B listens on 80 and is ESTABLISHED with the scripted peer PA:1000:
 * B's SND.NXT = 300, RCV.NXT = 100, window 8192 both ways. */
static int setup_established(struct host *b, struct tcp_conn **cb, const struct tcp_config *cfg)
{
	if (host_init(b, 2, cfg) != 0)
		return -1;
	struct tcp_listener *l;
	if (tcp_listen(b->s, 80, 4, NULL, &l) != 0)
		return -2;
	b->isn = 299;
	host_recv_from(b, &PA, 1000, 80, 99, 0, F_SYN, 8192, NULL, T0);
	host_recv_from(b, &PA, 1000, 80, 100, 300, F_ACK, 8192, NULL, T0);
	if (!b->accepted || tcp_conn_state(b->accepted) != TCP_S_ESTABLISHED)
		return -3;
	*cb = b->accepted;
	host_drop_all(b);
	b->nev = 0;
	return 0;
}

/* RFC 9293 3.8.6.2.2 (MUST-39): "The suggested SWS avoidance algorithm for
 * the receiver is to keep RCV.NXT+RCV.WND fixed until the reduction
 * satisfies: RCV.BUFF - RCV.USER - RCV.WND >= min( Fr * RCV.BUFF,
 * Eff.snd.MSS )".  Without window scaling too: after the window closed,
 * reading 100 octets must not advertise a 100-octet window. */
TT_TEST(rule_receiver_sws_avoidance_unscaled)
{
	struct host b;
	struct tcp_conn *c;
	TT_EQ(setup_established(&b, &c, NULL), 0);
	/* no MSS option from the peer: Eff.snd.MSS = 536, RCV.BUFF = 8192 */
	char blk[1025];
	memset(blk, 'x', 1024);
	blk[1024] = 0;
	for (uint32_t i = 0; i < 8; i++) {
		host_recv_from(&b, &PA, 1000, 80, 100 + i * 1024, 300, F_ACK, 8192, blk, T0);
		EXPECT_SEG_WL(&b, F_ACK, 300, 100 + (i + 1) * 1024, 8192 - (i + 1) * 1024, 0);
	}
	uint8_t rb[600];
	TT_EQ(tcp_recv(c, rb, 100, T0), 100);
	EXPECT_NONE(&b);
	/* a zero-window probe: the answer keeps the right edge where it was */
	host_recv_from(&b, &PA, 1000, 80, 100 + 8192, 300, F_ACK, 8192, "y", T0);
	EXPECT_SEG_WL(&b, F_ACK, 300, 100 + 8192, 0, 0);
	/* 600 free octets >= min(4096, 536): the window opens */
	TT_EQ(tcp_recv(c, rb, 500, T0), 500);
	EXPECT_SEG_WL(&b, F_ACK, 300, 100 + 8192, 600, 0);
	host_free(&b);
}

/* The scripted peer PA:1000 sends a segment with options o (may be NULL). */
static int osend(struct host *b, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
		 const char *data, const struct tcp_seg *o, tcp_time_t now)
{
	uint8_t buf[2048];
	size_t n = peer_build(buf, sizeof buf, 1000, 80, seq, ack, flags, wnd, data,
			      data ? strlen(data) : 0, o);
	return tcp_input(b->s, &PA, buf, n, now);
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

/* B listens on 80 with timestamps on; the scripted peer's SYN (ISN 99,
 * TSval 500) makes it SYN-RECEIVED: the SYN,ACK <SEQ=299><ACK=100> with
 * TSecr 500 is checked and consumed, its TSval stored in *b_tsval. */
static int setup_syn_received_ts(struct host *b, uint32_t *b_tsval)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.timestamps = 1;
	if (host_init(b, 2, &cfg) != 0)
		return -1;
	struct tcp_listener *l;
	if (tcp_listen(b->s, 80, 4, NULL, &l) != 0)
		return -2;
	b->isn = 299;
	struct tcp_seg o = ts_opt(500, 0);
	osend(b, 99, 0, F_SYN, 8192, NULL, &o, T0);
	if (!host_pop(b) || b->seg.flags != (F_SYN | F_ACK) || b->seg.seq != 299 ||
	    b->seg.ack != 100 || !b->seg.has_ts || b->seg.tsecr != 500)
		return -3;
	*b_tsval = b->seg.tsval;
	return 0;
}

/* Like setup_established, with timestamps negotiated (the peer's TSval is
 * 500 on the SYN, 501 on the ACK). */
static int setup_established_ts(struct host *b, struct tcp_conn **cb, uint32_t *b_tsval)
{
	int err = setup_syn_received_ts(b, b_tsval);
	if (err)
		return err;
	struct tcp_seg o = ts_opt(501, *b_tsval);
	osend(b, 100, 300, F_ACK, 8192, NULL, &o, T0);
	if (!b->accepted || tcp_conn_state(b->accepted) != TCP_S_ESTABLISHED)
		return -4;
	*cb = b->accepted;
	host_drop_all(b);
	b->nev = 0;
	return 0;
}

/* RFC 7323 3.2: "Once TSopt has been successfully negotiated, that is both
 * <SYN> and <SYN,ACK> contain TSopt, the TSopt MUST be sent in every
 * non-<RST> segment for the duration of the connection, and SHOULD be sent
 * in an <RST> segment." */
TT_TEST(rule_rst_carries_tsopt_when_negotiated)
{
	struct host b;
	struct tcp_conn *c;
	uint32_t tsv;
	TT_EQ(setup_established_ts(&b, &c, &tsv), 0);
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
	struct tcp_conn *c;
	uint32_t tsv;
	TT_EQ(setup_established_ts(&b, &c, &tsv), 0);
	struct tcp_seg o = ts_opt(600, tsv);
	osend(&b, 110, 300, F_ACK, 8192, "later", &o, T0 + TCP_MS(1));
	EXPECT_SEG(&b, F_ACK, 300, 100);
	TT_EQ(b.seg.has_ts, 1);
	TT_EQ(b.seg.tsecr, 501);
	o = ts_opt(601, tsv);
	osend(&b, 100, 300, F_ACK, 8192, "0123456789", &o, T0 + TCP_MS(2));
	EXPECT_SEG(&b, F_ACK, 300, 115);
	TT_EQ(b.seg.tsecr, 601);
	/* an old TSval (PAWS R1): "Send an acknowledgment in reply ... and
	 * drop the segment" */
	o = ts_opt(590, tsv);
	osend(&b, 115, 300, F_ACK, 8192, "old", &o, T0 + TCP_MS(3));
	EXPECT_SEG(&b, F_ACK, 300, 115);
	TT_EQ(b.seg.tsecr, 601);
	/* a RST is exempt from PAWS (RFC 7323 5.3 R1 "if the RST bit is not
	 * set") */
	osend(&b, 115, 0, F_RST, 0, NULL, &o, T0 + TCP_MS(4));
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
	struct tcp_conn *c;
	TT_EQ(setup_established(&b, &c, NULL), 0);
	host_recv_from(&b, &PA, 1000, 80, 100, 300, F_ACK | F_FIN, 8192, NULL, T0);
	EXPECT_SEG(&b, F_ACK, 300, 101);
	EXPECT_STATE(c, TCP_S_CLOSE_WAIT);
	TT_EQ(tcp_send(c, "ab", 2, T0), 2);
	EXPECT_SEG(&b, F_ACK | F_PSH, 300, 101);
	TT_EQ(tcp_close(c, T0), 0);
	EXPECT_SEG(&b, F_ACK | F_FIN, 302, 101);
	EXPECT_STATE(c, TCP_S_LAST_ACK);
	/* acks the data, not the FIN: remain */
	host_recv_from(&b, &PA, 1000, 80, 101, 302, F_ACK, 8192, NULL, T0);
	EXPECT_NONE(&b);
	EXPECT_STATE(c, TCP_S_LAST_ACK);
	/* the peer's FIN again (our ACK was lost): acknowledged */
	host_recv_from(&b, &PA, 1000, 80, 100, 302, F_ACK | F_FIN, 8192, NULL, T0);
	EXPECT_SEG(&b, F_ACK, 303, 101);
	EXPECT_STATE(c, TCP_S_LAST_ACK);
	host_recv_from(&b, &PA, 1000, 80, 101, 303, F_ACK, 8192, NULL, T0);
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
	struct tcp_conn *c;
	b.isn = 299;
	TT_EQ(tcp_connect(b.s, &PA, 1000, 80, NULL, NULL, T0, &c), 0);
	EXPECT_SEG(&b, F_SYN, 299, 0);
	TT_EQ(b.seg.has_ws, 1);
	struct tcp_seg o;
	memset(&o, 0, sizeof o);
	o.has_ws = 1;
	o.ws = 3;
	o.has_mss = 1;
	o.mss = 1000;
	/* the SYNs cross */
	osend(&b, 99, 0, F_SYN, 2000, NULL, &o, T0);
	EXPECT_SEG(&b, F_SYN | F_ACK, 299, 100);
	EXPECT_STATE(c, TCP_S_SYN_RECEIVED);
	/* the peer's SYN,ACK: window 1000 octets, unscaled */
	osend(&b, 99, 300, F_SYN | F_ACK, 1000, NULL, &o, T0);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	struct tcp_conn_info info;
	TT_EQ(tcp_conn_info(c, &info), 0);
	TT_EQ(info.snd_wscale, 3);
	TT_EQ(info.snd_wnd, 1000);
	/* a later non-SYN segment's window is scaled */
	host_drop_all(&b);
	osend(&b, 100, 300, F_ACK, 250, NULL, NULL, T0);
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
	uint32_t tsv;
	TT_EQ(setup_syn_received_ts(&b, &tsv), 0);
	struct tcp_seg o = ts_opt(501, tsv);
	osend(&b, 100, 900, F_ACK, 8192, NULL, &o, T0);
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
	struct tcp_conn *c;
	TT_EQ(setup_established(&b, &c, &cfg), 0);
	host_recv_from(&b, &PA, 1000, 80, 100, 300, F_ACK | F_FIN, 8192, "ABCDEFGHIJKLMNOPQRST", T0);
	EXPECT_SEG_WL(&b, F_ACK, 300, 120, 0, 0);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	/* a bare FIN into the zero window: not acceptable either */
	host_recv_from(&b, &PA, 1000, 80, 120, 300, F_ACK | F_FIN, 8192, NULL, T0);
	EXPECT_SEG_WL(&b, F_ACK, 300, 120, 0, 0);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	char buf[32];
	TT_EQ(tcp_recv(c, buf, sizeof buf, T0), 20);
	TT_MEMEQ(buf, "ABCDEFGHIJKLMNOPQRST", 20);
	EXPECT_SEG_WL(&b, F_ACK, 300, 120, 20, 0);
	host_recv_from(&b, &PA, 1000, 80, 120, 300, F_ACK | F_FIN, 8192, NULL, T0);
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
	uint32_t tsv;
	TT_EQ(setup_syn_received_ts(&b, &tsv), 0);
	struct tcp_seg o = ts_opt(1500, 0);
	osend(&b, 99, 0, F_SYN, 8192, NULL, &o, T0 + TCP_SEC(1));
	EXPECT_SEG(&b, F_SYN | F_ACK, 299, 100);
	TT_EQ(b.seg.tsecr, 1500);
	/* an older duplicate of the first SYN fails PAWS: ACKed, no change */
	o = ts_opt(500, 0);
	osend(&b, 99, 0, F_SYN, 8192, NULL, &o, T0 + TCP_SEC(1));
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
		struct tcp_conn *c;
		b.isn = 299;
		TT_EQ(tcp_connect(b.s, &PA, 1000, 80, NULL, NULL, T0, &c), 0);
		EXPECT_SEG(&b, F_SYN, 299, 0);
		uint32_t first = b.seg.tsval;
		TT_EQ(host_run_timers(&b, T0 + TCP_MS(1500)), T0 + TCP_SEC(1));
		EXPECT_SEG(&b, F_SYN, 299, 0);
		uint32_t second = b.seg.tsval;
		TT_EQ(second - first, 1000);
		struct tcp_seg o = ts_opt(700, latest ? second : first);
		osend(&b, 99, 300, F_SYN | F_ACK, 8192, NULL, &o, T0 + TCP_MS(1020));
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

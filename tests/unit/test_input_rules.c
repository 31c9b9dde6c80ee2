/*
 * test_input_rules.c - one test per rule of RFC 9293 3.10.7 SEGMENT ARRIVES
 * not already covered by a figure (test_handshake.c, test_close.c) or by
 * test_rst.c.
 */
#include "peer.h"

/* 3.10.7.2 LISTEN "First, check for a RST ... An incoming RST should be
 * ignored." */
TT_TEST(rule_listen_rst_ignored)
{
	struct host b;
	struct peer p;
	TT_EQ(fx_listen(&b, &p), 0);
	peer_send(&p, .flags = F_RST, .seq = 5, .wnd = 0);
	peer_send(&p, .flags = F_RST | F_ACK, .seq = 5, .ack = 9, .wnd = 0);
	peer_send(&p, .flags = F_RST | F_SYN, .seq = 5, .wnd = 0);
	EXPECT_NONE(&b);
	TT_EQ(host_nconns(&b), 0);
	host_free(&b);
}

/* LISTEN "Fourth, other data or control ... drop the segment and return." */
TT_TEST(rule_listen_other_dropped)
{
	struct host b;
	struct peer p;
	TT_EQ(fx_listen(&b, &p), 0);
	peer_send(&p, .flags = F_FIN, .seq = 5, .wnd = 0, .data = "text");
	peer_send(&p, .flags = 0, .seq = 5, .wnd = 0, .data = "text");
	EXPECT_NONE(&b);
	TT_EQ(host_nconns(&b), 0);
	host_free(&b);
}

/* LISTEN "Third, check for a SYN": SYN,ACK with MSS; the peer's MSS option
 * sets the send MSS, its absence means 536 (RFC 9293 3.7.1). */
TT_TEST(rule_listen_syn_options)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.timestamps = cfg.sack = cfg.window_scaling = 1;
	cfg.recv_buffer = 1 << 20;
	struct host b;
	struct peer p;
	TT_EQ(fx_listen(&b, &p, .cfg = &cfg), 0);
	/* no options: the SYN,ACK has only MSS, window unscaled */
	b.isn = 300;
	peer_send(&p, .flags = F_SYN, .seq = 100);
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	TT_EQ(b.seg.has_mss, 1);
	TT_EQ(b.seg.mss, 1000);
	TT_EQ(b.seg.has_ws + b.seg.has_ts + b.seg.sack_perm, 0);
	TT_EQ(b.seg.wnd, 65535);
	struct tcp_conn *c = host_any_conn(&b);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.mss, 536);
	TT_EQ(info.ts_ok + info.sack_ok, 0);
	/* all options: echoed */
	struct peer p2 = PEER(&b, .port = 1001);
	peer_send(&p2, .flags = F_SYN, .seq = 7, .wnd = 1000, .has_mss = 1, .mss = 900,
		  .has_ws = 1, .ws = 20, .sack_perm = 1, .has_ts = 1, .tsval = 4242);
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 8);
	TT_EQ(b.seg.has_ws, 1);
	TT_EQ(b.seg.ws, 5); /* 1 MiB >> 5 = 32768 */
	TT_EQ(b.seg.sack_perm, 1);
	TT_EQ(b.seg.has_ts, 1);
	TT_EQ(b.seg.tsecr, 4242);
	/* ACK with timestamps: ESTABLISHED with shift 14 (RFC 7323 2.3
	 * "MUST use 14 instead") and MSS 900 - 12 */
	peer_send(&p2, .seq = 8, .ack = 301, .wnd = 1, .has_ts = 1, .tsval = 4243,
		  .tsecr = b.seg.tsval, .now = T0 + 1);
	TT_ASSERT(b.accepted != NULL);
	tcp_conn_info(b.accepted, &info);
	TT_EQ(info.snd_wscale, 14);
	TT_EQ(info.snd_wnd, 1u << 14);
	TT_EQ(info.mss, 888);
	TT_EQ(info.ts_ok, 1);
	TT_EQ(info.sack_ok, 1);
	host_free(&b);
}

/* IPv6 peers: the advertised MSS is 20 octets less (docs/DESIGN.md section 3), and the
 * default send MSS without the option is 1220 (RFC 9293 3.7.1 MUST-15). */
TT_TEST(rule_listen_syn_ipv6_mss)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.mss = 1452;
	struct host b;
	struct peer p;
	TT_EQ(fx_listen(&b, &p, .cfg = &cfg), 0);
	struct peer p6 = PEER(&b, .ep = { 6, { 0xfd, 0, [15] = 1 }, 9811 });
	b.isn = 300;
	peer_send(&p6, .flags = F_SYN, .seq = 100);
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	TT_EQ(b.seg.mss, 1432);
	struct tcp_conn_info info;
	tcp_conn_info(host_any_conn(&b), &info);
	TT_EQ(info.mss, 1220);
	TT_EQ(info.remote.family, 6);
	host_free(&b);
}

/* LISTEN: text on a SYN is "queued for processing later": not
 * acknowledged by the SYN,ACK, delivered once ESTABLISHED. */
TT_TEST(rule_listen_syn_text_queued)
{
	struct host b;
	struct peer p;
	TT_EQ(fx_listen(&b, &p), 0);
	b.isn = 300;
	peer_send(&p, .flags = F_SYN, .seq = 100, .data = "early");
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	peer_send(&p, .seq = 101, .ack = 301);
	TT_ASSERT(b.accepted != NULL);
	EXPECT_SEG(&b, F_ACK, 301, 106);
	TT_EQ(host_count_ev(&b, TCP_EV_READABLE), 1);
	char r[8];
	TT_EQ(tcp_recv(b.accepted, r, sizeof r, T0), 5);
	TT_MEMEQ(r, "early", 5);
	/* the peer's retransmission of that text is a duplicate */
	peer_send(&p, .seq = 101, .ack = 301, .data = "early");
	EXPECT_SEG(&b, F_ACK, 301, 106);
	TT_EQ(tcp_recv(b.accepted, r, sizeof r, T0), TCP_EAGAIN);
	host_free(&b);
}

/* 3.10.7.3 SYN-SENT "Fifth, if neither of the SYN or RST bits is set,
 * then drop the segment and return." */
TT_TEST(rule_syn_sent_neither_syn_nor_rst_dropped)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer p = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	host_pop(&a);
	peer_send(&p, .seq = 300, .ack = 101, .data = "data");
	peer_send(&p, .flags = F_FIN, .seq = 300);
	EXPECT_NONE(&a);
	EXPECT_STATE(c, TCP_S_SYN_SENT);
	host_free(&a);
}

/* 3.10.7.4 first, case 1: SEG.LEN = 0, RCV.WND = 0: SEG.SEQ = RCV.NXT. */
TT_TEST(rule_seq_check_len0_wnd0)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.recv_buffer = 2048;
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb, .cfg = &cfg), 0);
	char d[2048];
	memset(d, 'w', sizeof d);
	peer_send(&p, .seq = 100, .ack = 300, .data = d, .len = 1000);
	peer_send(&p, .seq = 1100, .ack = 300, .data = d, .len = 1048);
	host_drop_all(&b);
	struct tcp_conn_info info;
	tcp_conn_info(cb, &info);
	TT_EQ(info.rcv_wnd, 0);
	TT_EQ(info.rcv_nxt, 2148);
	/* B has data out so the ACK matters */
	TT_EQ(tcp_send(cb, "abc", 3, T0), 3);
	EXPECT_SEG_WL(&b, F_ACK | F_PSH, 300, 2148, 0, 3);
	/* acceptable: SEQ = RCV.NXT, the ACK is processed */
	peer_send(&p, .seq = 2148, .ack = 303);
	EXPECT_NONE(&b);
	tcp_conn_info(cb, &info);
	TT_EQ(info.snd_una, 303);
	/* unacceptable: SEQ != RCV.NXT -> ACK */
	peer_send(&p, .seq = 2149, .ack = 303);
	EXPECT_SEG_WL(&b, F_ACK, 303, 2148, 0, 0);
	host_free(&b);
}

/* case 2: SEG.LEN = 0, RCV.WND > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND */
TT_TEST(rule_seq_check_len0_wnd_positive)
{
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb), 0);
	peer_send(&p, .seq = 100 + 8191, .ack = 300);
	EXPECT_NONE(&b);
	peer_send(&p, .seq = 100 + 8192, .ack = 300);
	EXPECT_SEG(&b, F_ACK, 300, 100);
	peer_send(&p, .seq = 99, .ack = 300);
	EXPECT_SEG(&b, F_ACK, 300, 100);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	host_free(&b);
}

/* case 3: SEG.LEN > 0, RCV.WND = 0: not acceptable - "but special
 * allowance should be made to accept valid ACKs, URGs, and RSTs" */
TT_TEST(rule_seq_check_len_positive_wnd0)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.recv_buffer = 1000;
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb, .cfg = &cfg), 0);
	char d[1000];
	memset(d, 'w', sizeof d);
	peer_send(&p, .seq = 100, .ack = 300, .data = d, .len = 1000);
	EXPECT_SEG_WL(&b, F_ACK, 300, 1100, 0, 0);
	TT_EQ(tcp_send(cb, "abc", 3, T0), 3);
	EXPECT_SEG(&b, F_ACK | F_PSH, 300, 1100);
	/* data at RCV.NXT with a zero window: the data is refused, the ACK of
	 * our 3 bytes is taken, and an ACK goes back */
	peer_send(&p, .seq = 1100, .ack = 303, .data = "more");
	EXPECT_SEG_WL(&b, F_ACK, 303, 1100, 0, 0);
	struct tcp_conn_info info;
	tcp_conn_info(cb, &info);
	TT_EQ(info.snd_una, 303);
	TT_EQ(info.recv_queue, 1000);
	/* an RST at RCV.NXT is accepted too */
	peer_send(&p, .flags = F_RST, .seq = 1100, .wnd = 0);
	EXPECT_STATE(cb, TCP_S_CLOSED);
	host_free(&b);
}

/* case 4: SEG.LEN > 0, RCV.WND > 0: either end inside the window; the
 * idealized segment is trimmed to [RCV.NXT, RCV.NXT+RCV.WND). */
TT_TEST(rule_seq_check_len_positive_wnd_positive_trim)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.recv_buffer = 20;
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb, .cfg = &cfg), 0);
	/* starts before RCV.NXT, ends inside: the old part is trimmed */
	peer_send(&p, .seq = 95, .ack = 300, .data = "xxxxxABCDE");
	EXPECT_SEG(&b, F_ACK, 300, 105);
	/* starts inside, ends beyond the window (RCV.NXT 105, wnd 20 from
	 * 100 never shrinks: right edge 120): bytes past 120 are cut, and so
	 * is the FIN after them */
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 105, .ack = 300, .data = "FGHIJKLMNOPQRSTUVWXYZ");
	EXPECT_SEG(&b, F_ACK, 300, 120);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	char buf[64];
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), 20);
	TT_MEMEQ(buf, "ABCDEFGHIJKLMNOPQRST", 20);
	host_free(&b);
}

/* "fifth, check the ACK field: if the ACK bit is off, drop the segment and
 * return" */
TT_TEST(rule_ack_bit_off_dropped)
{
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb), 0);
	peer_send(&p, .flags = 0, .seq = 100, .data = "noack");
	peer_send(&p, .flags = F_FIN, .seq = 100);
	EXPECT_NONE(&b);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	TT_EQ(tcp_recv(cb, (char[8]){ 0 }, 8, T0), TCP_EAGAIN);
	host_free(&b);
}

/* "Sixth, check the URG bit": urgent data is not supported (RFC 6093
 * discourages it); the octets are delivered inline in sequence. */
TT_TEST(rule_urg_data_inline)
{
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb), 0);
	peer_send(&p, .flags = F_ACK | F_URG, .seq = 100, .ack = 300, .urp = 3, .data = "urgent");
	EXPECT_SEG(&b, F_ACK, 300, 106);
	char r[8];
	TT_EQ(tcp_recv(cb, r, sizeof r, T0), 6);
	TT_MEMEQ(r, "urgent", 6);
	host_free(&b);
}

/* "If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)),
 * set SND.WND <- SEG.WND" - an old segment does not update the window. */
TT_TEST(rule_window_update_wl1_wl2)
{
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb), 0);
	struct tcp_conn_info info;
	peer_send(&p, .seq = 100, .ack = 300, .wnd = 4000, .data = "abcd");
	tcp_conn_info(cb, &info);
	TT_EQ(info.snd_wnd, 4000);
	/* an older segment (SEG.SEQ < WL1) with another window: ignored */
	peer_send(&p, .seq = 100, .ack = 300, .wnd = 100);
	tcp_conn_info(cb, &info);
	TT_EQ(info.snd_wnd, 4000);
	/* SEG.SEQ = WL1 and SEG.ACK = WL2: taken (a pure window update) */
	peer_send(&p, .seq = 104, .ack = 300, .wnd = 6000);
	tcp_conn_info(cb, &info);
	TT_EQ(info.snd_wnd, 6000);
	host_free(&b);
}

/* FIN-WAIT-1: FIN and the ACK of our FIN in one segment -> TIME-WAIT ("If
 * our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT") */
TT_TEST(rule_fin_wait_1_fin_with_ack_to_time_wait)
{
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb), 0);
	tcp_close(cb, T0);
	EXPECT_SEG(&b, F_FIN | F_ACK, 300, 100);
	peer_send(&p, .flags = F_FIN | F_ACK, .seq = 100, .ack = 301);
	EXPECT_STATE(cb, TCP_S_TIME_WAIT);
	EXPECT_SEG(&b, F_ACK, 301, 101);
	host_free(&b);
}

/* FIN-WAIT-2 still receives data (step seven) and a FIN (step eight). */
TT_TEST(rule_fin_wait_2_receives_data)
{
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb), 0);
	tcp_close(cb, T0);
	host_pop(&b);
	peer_send(&p, .seq = 100, .ack = 301);
	EXPECT_STATE(cb, TCP_S_FIN_WAIT_2);
	peer_send(&p, .seq = 100, .ack = 301, .data = "late data");
	EXPECT_SEG(&b, F_ACK, 301, 109);
	char buf[16];
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), 9);
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 109, .ack = 301);
	EXPECT_STATE(cb, TCP_S_TIME_WAIT);
	EXPECT_SEG(&b, F_ACK, 301, 110);
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), 0);
	host_free(&b);
}

/* CLOSE-WAIT: "Ignore the segment text." and a repeated FIN is ACKed. */
TT_TEST(rule_close_wait_text_ignored)
{
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb), 0);
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 100, .ack = 300);
	EXPECT_STATE(cb, TCP_S_CLOSE_WAIT);
	EXPECT_SEG(&b, F_ACK, 300, 101);
	peer_send(&p, .seq = 101, .ack = 300, .data = "after fin");
	struct tcp_conn_info info;
	tcp_conn_info(cb, &info);
	TT_EQ(info.recv_queue, 0);
	TT_EQ(info.rcv_nxt, 101);
	host_drop_all(&b);
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 100, .ack = 300);
	EXPECT_SEG(&b, F_ACK, 300, 101);
	EXPECT_STATE(cb, TCP_S_CLOSE_WAIT);
	host_free(&b);
}

/* CLOSING: "if the ACK acknowledges our FIN, then enter the TIME-WAIT
 * state; otherwise, ignore the segment." */
TT_TEST(rule_closing_needs_ack_of_fin)
{
	struct host b;
	struct peer p;
	struct tcp_conn *cb;
	TT_EQ(fx_passive(&b, &p, &cb), 0);
	tcp_close(cb, T0);
	host_pop(&b);
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 100, .ack = 300);
	EXPECT_STATE(cb, TCP_S_CLOSING);
	EXPECT_SEG(&b, F_ACK, 301, 101);
	peer_send(&p, .seq = 101, .ack = 300);
	EXPECT_STATE(cb, TCP_S_CLOSING);
	peer_send(&p, .seq = 101, .ack = 301);
	EXPECT_STATE(cb, TCP_S_TIME_WAIT);
	host_free(&b);
}

/* SYN-RECEIVED: FIN on the ACK that completes the handshake ->
 * ESTABLISHED then CLOSE-WAIT ("SYN-RECEIVED STATE ... Enter the
 * CLOSE-WAIT state"); CLOSE in SYN-RECEIVED sends the FIN at once. */
TT_TEST(rule_syn_received_fin_and_queued_close)
{
	struct host b;
	struct peer p;
	TT_EQ(fx_listen(&b, &p), 0);
	b.isn = 299;
	peer_send(&p, .flags = F_SYN, .seq = 99);
	host_pop(&b);
	peer_send(&p, .flags = F_ACK | F_FIN, .seq = 100, .ack = 300);
	TT_ASSERT(b.accepted != NULL);
	EXPECT_STATE(b.accepted, TCP_S_CLOSE_WAIT);
	EXPECT_SEG(&b, F_ACK, 300, 101);
	TT_EQ(b.ev[0].ev, TCP_EV_ACCEPTED);
	TT_EQ(host_count_ev(&b, TCP_EV_PEER_FIN), 1);
	host_free(&b);

	/* active side: simultaneous open, CLOSE while SYN-RECEIVED */
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer pa = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	peer_send(&pa, .flags = F_SYN, .seq = 300);
	EXPECT_STATE(c, TCP_S_SYN_RECEIVED);
	host_drop_all(&a);
	/* RFC 9293 3.10.4: "If no SENDs have been issued and there is no
	 * pending data to send, then form a FIN segment and send it, and
	 * enter FIN-WAIT-1 state" */
	TT_EQ(tcp_close(c, T0), 0);
	EXPECT_STATE(c, TCP_S_FIN_WAIT_1);
	EXPECT_SEG(&a, F_FIN | F_ACK, 101, 301);
	peer_send(&pa, .seq = 301, .ack = 101);
	EXPECT_STATE(c, TCP_S_FIN_WAIT_1);
	EXPECT_NONE(&a);
	host_free(&a);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

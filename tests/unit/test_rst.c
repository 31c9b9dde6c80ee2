/*
 * test_rst.c - RFC 9293 3.5.2 reset generation (the three rules), reset
 * processing, and the RFC 5961 blind-attack mitigations.
 */
#include "peer.h"



/* Rule 1: "If the connection does not exist (CLOSED), then a reset is sent
 * in response to any incoming segment except another reset." */
TT_TEST(test_rst_rule_1_no_connection)
{
	struct host b;
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer pa = PEER(&b);
	/* ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (SYN and FIN count) */
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	EXPECT_SEG_WL(&b, F_RST | F_ACK, 0, 101, 0, 0);
	peer_send(&pa, .flags = F_FIN, .seq = 100, .data = "abc");
	EXPECT_SEG(&b, F_RST | F_ACK, 0, 104);
	/* ACK on: <SEQ=SEG.ACK><CTL=RST> */
	peer_send(&pa, .seq = 100, .ack = 777, .data = "abc");
	EXPECT_SEG(&b, F_RST, 777, 0);
	TT_EQ(b.seg.dport, 1000);
	TT_EQ(b.seg.sport, 80);
	/* "An incoming segment containing a RST is discarded." */
	peer_send(&pa, .flags = F_RST | F_ACK, .seq = 100, .ack = 777, .wnd = 0);
	peer_send(&pa, .flags = F_RST, .seq = 100, .wnd = 0);
	EXPECT_NONE(&b);
	struct tcp_stats st = host_stats(&b);
	TT_EQ(st.DropNoConn, 5);
	TT_EQ(st.OutRsts, 3);
	host_free(&b);
}

/* Rule 2: "If the connection is in any non-synchronized state (LISTEN,
 * SYN-SENT, SYN-RECEIVED), and the incoming segment acknowledges something
 * not yet sent (the segment carries an unacceptable ACK) ... a reset is
 * sent.  ... <SEQ=SEG.ACK><CTL=RST>" */
TT_TEST(test_rst_rule_2_unsynchronized)
{
	struct host b;
	struct peer pa;
	TT_EQ(fx_listen(&b, &pa), 0);
	/* LISTEN */
	peer_send(&pa, .seq = 100, .ack = 555);
	EXPECT_SEG(&b, F_RST, 555, 0);
	TT_EQ(host_nconns(&b), 0);
	/* SYN-RECEIVED: an ACK outside SND.UNA < SEG.ACK =< SND.NXT */
	b.isn = 300;
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	peer_send(&pa, .seq = 101, .ack = 900);
	EXPECT_SEG(&b, F_RST, 900, 0);
	peer_send(&pa, .seq = 101, .ack = 300);
	EXPECT_SEG(&b, F_RST, 300, 0);
	EXPECT_STATE(host_any_conn(&b), TCP_S_SYN_RECEIVED);
	/* SYN-SENT: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset" */
	struct tcp_conn *c;
	b.isn = 1000;
	TT_EQ(tcp_connect(b.s, &PA, 2000, 81, NULL, NULL, T0, &c), 0);
	EXPECT_SEG(&b, F_SYN, 1000, 0);
	peer_send(&pa, .sport = 2000, .dport = 81, .seq = 50, .ack = 1000);
	EXPECT_SEG(&b, F_RST, 1000, 0);
	peer_send(&pa, .sport = 2000, .dport = 81, .flags = F_SYN | F_ACK, .seq = 50, .ack = 1002);
	EXPECT_SEG(&b, F_RST, 1002, 0);
	/* "(unless the RST bit is set, if so drop the segment and return)" */
	peer_send(&pa, .sport = 2000, .dport = 81, .flags = F_RST | F_ACK, .seq = 50, .ack = 1002);
	EXPECT_NONE(&b);
	EXPECT_STATE(c, TCP_S_SYN_SENT);
	host_free(&b);
}

/* Rule 3: "If the connection is in a synchronized state ..., any
 * unacceptable segment (out-of-window sequence number or unacceptable
 * acknowledgment number) must be responded to with an empty acknowledgment
 * segment ... containing the current send sequence number and an
 * acknowledgment indicating the next sequence number expected to be
 * received, and the connection remains in the same state." */
TT_TEST(test_rst_rule_3_synchronized_unacceptable)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pa = PEER(&b);
	/* beyond the window (RCV.NXT 100 + 8192) */
	peer_send(&pa, .seq = 100 + 8192, .ack = 300, .data = "x");
	EXPECT_SEG(&b, F_ACK, 300, 100);
	/* entirely old */
	peer_send(&pa, .seq = 90, .ack = 300, .data = "0123456789");
	EXPECT_SEG(&b, F_ACK, 300, 100);
	/* acknowledging something not yet sent */
	peer_send(&pa, .seq = 100, .ack = 500, .data = "data");
	EXPECT_SEG(&b, F_ACK, 300, 100);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	TT_EQ(tcp_recv(cb, (char[8]){ 0 }, 8, T0), TCP_EAGAIN); /* data dropped */
	struct tcp_stats st = host_stats(&b);
	TT_EQ(st.DropOutOfWindow, 2);
	TT_EQ(st.DropBadAck, 1);
	host_free(&a);
	host_free(&b);
}

/* RFC 5961 3.2: RST with SEQ = RCV.NXT resets. */
TT_TEST(test_rfc5961_rst_exact_resets)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pa = PEER(&b);
	peer_send(&pa, .flags = F_RST, .seq = 100, .wnd = 0);
	EXPECT_NONE(&b);
	EXPECT_STATE(cb, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&b), TCP_ECONNRESET);
	char buf[4];
	TT_EQ(tcp_recv(cb, buf, 4, T0), TCP_ECONNRESET);
	tcp_release(cb, T0);
	host_free(&a);
	host_free(&b);
}

/* RFC 5961 3.2 3): in window but not exact -> challenge ACK, no reset. */
TT_TEST(test_rfc5961_rst_in_window_challenge_ack)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pa = PEER(&b);
	peer_send(&pa, .flags = F_RST, .seq = 101, .wnd = 0);
	EXPECT_SEG(&b, F_ACK, 300, 100);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	TT_EQ(host_stats(&b).ChallengeAcks, 1);
	/* the real peer answers the challenge ACK with an exact RST */
	peer_send(&pa, .flags = F_RST, .seq = 100, .wnd = 0);
	EXPECT_STATE(cb, TCP_S_CLOSED);
	host_free(&a);
	host_free(&b);
}

/* RFC 5961 3.2 1): RST outside the window is silently dropped. */
TT_TEST(test_rfc5961_rst_out_of_window_dropped)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pa = PEER(&b);
	peer_send(&pa, .flags = F_RST, .seq = 100 + 9000, .wnd = 0);
	peer_send(&pa, .flags = F_RST, .seq = 99, .wnd = 0);
	EXPECT_NONE(&b);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	TT_EQ(host_stats(&b).DropOutOfWindow, 2);
	host_free(&a);
	host_free(&b);
}

/* RFC 5961 4.2: SYN in a synchronized state -> challenge ACK, whatever the
 * sequence number; the connection is untouched. */
TT_TEST(test_rfc5961_syn_challenge_ack)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pa = PEER(&b);
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	EXPECT_SEG(&b, F_ACK, 300, 100);
	peer_send(&pa, .flags = F_SYN, .seq = 100000);
	EXPECT_SEG(&b, F_ACK, 300, 100);
	peer_send(&pa, .flags = F_SYN | F_ACK, .seq = 100, .ack = 300, .data = "x");
	EXPECT_SEG(&b, F_ACK, 300, 100);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	TT_EQ(host_stats(&b).ChallengeAcks, 3);
	TT_EQ(tcp_recv(cb, (char[4]){ 0 }, 4, T0), TCP_EAGAIN);
	host_free(&a);
	host_free(&b);
}

/* RFC 5961 5.2: an ACK below SND.UNA - MAX.SND.WND is dropped with an ACK;
 * within it, an old ACK is ignored and the data accepted. */
TT_TEST(test_rfc5961_ack_too_old_dropped)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pa = PEER(&b);
	/* MAX.SND.WND is 8192: SEG.ACK = 300 - 9000 is too old */
	peer_send(&pa, .seq = 100, .ack = 300 - 9000, .data = "bad");
	EXPECT_SEG(&b, F_ACK, 300, 100);
	TT_EQ(host_stats(&b).DropBadAck, 1);
	TT_EQ(tcp_recv(cb, (char[4]){ 0 }, 4, T0), TCP_EAGAIN);
	/* SEG.ACK = 300 - 100: acceptable ("If SEG.ACK < SND.UNA, it can be
	 * ignored"), the text is processed */
	peer_send(&pa, .seq = 100, .ack = 200, .data = "ok");
	EXPECT_SEG(&b, F_ACK, 300, 102);
	host_free(&a);
	host_free(&b);
}

/* RFC 5961 7: a budget of challenge ACKs per second, drawn at random in
 * [limit/2, limit*3/2) (CVE-2016-5696; limit 10 here). */
TT_TEST(test_rfc5961_challenge_ack_rate_limit)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pa = PEER(&b);
	for (int i = 0; i < 15; i++)
		peer_send(&pa, .flags = F_RST, .seq = 200 + (uint32_t)i, .wnd = 0, .now = T0 + TCP_MS(10) * (tcp_time_t)i);
	struct tcp_stats st = host_stats(&b);
	TT_EQ(b.qlen, st.ChallengeAcks);
	TT_ASSERT(st.ChallengeAcks >= 5 && st.ChallengeAcks <= 14);
	TT_EQ(st.ChallengeAcks + st.ChallengeAcksSuppressed, 15);
	host_drop_all(&b);
	/* a new second: a new budget */
	peer_send(&pa, .flags = F_RST, .seq = 200, .wnd = 0, .now = T0 + TCP_SEC(2));
	EXPECT_SEG(&b, F_ACK, 300, 100);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	host_free(&a);
	host_free(&b);
}

/* SYN-SENT RST (RFC 9293 3.10.7.3 / RFC 5961 3.2): acceptable only if the
 * ACK acknowledges the SYN; then "connection reset" (refused). */
TT_TEST(test_syn_sent_rst_rules)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	host_pop(&a);
	/* no ACK: "drop the segment and return" */
	peer_send(&pb, .flags = F_RST, .wnd = 0);
	EXPECT_STATE(c, TCP_S_SYN_SENT);
	EXPECT_NONE(&a);
	/* ACK acknowledges the SYN: refused */
	peer_send(&pb, .flags = F_RST | F_ACK, .ack = 101, .wnd = 0);
	EXPECT_STATE(c, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&a), TCP_ECONNREFUSED);
	EXPECT_NONE(&a);
	TT_EQ(host_stats(&a).AttemptFails, 1);
	host_free(&a);
}

/* SYN-RECEIVED RST: passive open returns to LISTEN quietly; active
 * (simultaneous) open is refused. */
TT_TEST(test_syn_received_rst_passive_and_active)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 2000, .hport = 1000);
	struct peer pa;
	TT_EQ(fx_listen(&b, &pa), 0);
	b.isn = 300;
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	host_drop_all(&b);
	/* in window, not exact: challenge ACK */
	peer_send(&pa, .flags = F_RST, .seq = 150, .wnd = 0);
	EXPECT_SEG(&b, F_ACK, 301, 101);
	peer_send(&pa, .flags = F_RST, .seq = 101, .wnd = 0);
	TT_EQ(host_nconns(&b), 0);
	TT_EQ(b.nev, 0);
	/* active: simultaneous open then RST */
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &b.ep, 2000, 1000, NULL, NULL, T0, &c), 0);
	peer_send(&pb, .flags = F_SYN, .seq = 500);
	EXPECT_STATE(c, TCP_S_SYN_RECEIVED);
	peer_send(&pb, .flags = F_RST, .seq = 501, .wnd = 0);
	EXPECT_STATE(c, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&a), TCP_ECONNREFUSED);
	host_free(&a);
	host_free(&b);
}

/* A SYN to SYN-RECEIVED of a passive open with another sequence number:
 * RFC 9293 3.10.7.4 fourth: "return this connection to the LISTEN state" */
TT_TEST(test_syn_received_new_syn_returns_to_listen)
{
	struct host b;
	struct peer pa;
	TT_EQ(fx_listen(&b, &pa), 0);
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	host_drop_all(&b);
	peer_send(&pa, .flags = F_SYN, .seq = 120);
	TT_EQ(host_nconns(&b), 0);
	EXPECT_NONE(&b);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

/*
 * test_retransmit.c - RFC 6298 retransmission timer: the estimator
 * (tcp_rtt.c), exponential backoff of SYN, SYN-ACK, data and FIN, giving
 * up (R2), Karn's rule, keep-alive, user timeout.
 */
#include "peer.h"
#include "tcp_rtt.h"


TT_TEST(rtt_estimator_rfc6298)
{
	struct tcp_rtt r;
	tcp_rtt_init(&r, TCP_SEC(1), TCP_MS(200), TCP_SEC(60));
	TT_EQ(tcp_rtt_current_rto(&r), TCP_SEC(1));     /* (2.1) */
	tcp_rtt_sample(&r, TCP_MS(100));                 /* (2.2) */
	TT_EQ(r.srtt, TCP_MS(100));
	TT_EQ(r.rttvar, TCP_MS(50));
	TT_EQ(r.rto, TCP_MS(300));                       /* 100 + 4*50 */
	tcp_rtt_sample(&r, TCP_MS(200));                 /* (2.3) */
	TT_EQ(r.rttvar, TCP_MS(50) * 3 / 4 + TCP_MS(100) / 4);
	TT_EQ(r.srtt, TCP_MS(100) * 7 / 8 + TCP_MS(200) / 8);
	TT_EQ(r.rto, r.srtt + 4 * r.rttvar);
	/* (2.4) floor */
	tcp_rtt_init(&r, TCP_SEC(1), TCP_MS(200), TCP_SEC(60));
	tcp_rtt_sample(&r, TCP_MS(1));
	TT_EQ(r.rto, TCP_MS(200));
	/* (5.5) backoff doubles up to the maximum */
	tcp_rtt_on_timeout(&r);
	TT_EQ(tcp_rtt_current_rto(&r), TCP_MS(400));
	for (int i = 0; i < 20; i++)
		tcp_rtt_on_timeout(&r);
	TT_EQ(tcp_rtt_current_rto(&r), TCP_SEC(60));
	tcp_rtt_on_new_ack(&r);
	TT_EQ(tcp_rtt_current_rto(&r), TCP_MS(200));
	/* zero RTT: G = 1 ms keeps RTO above SRTT */
	tcp_rtt_init(&r, TCP_SEC(1), 1, TCP_SEC(60));
	tcp_rtt_sample(&r, 0);
	TT_EQ(r.rto, TCP_MS(1));
}

/* SYN: retransmitted at 1 s, 2 s, 4 s, ... (RFC 6298 (5.5)); after
 * cfg.syn_retries retransmissions, TCP_EV_CLOSED(TCP_ETIMEDOUT). */
TT_TEST(retransmit_syn_backoff_and_give_up)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.syn_retries = 4;
	struct host a;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	EXPECT_SEG(&a, F_SYN, 100, 0);
	tcp_time_t t = T0, gap = TCP_SEC(1);
	for (int i = 0; i < 4; i++) {
		TT_EQ(tcp_next_deadline(a.s), t + gap);
		tcp_timeout(a.s, t + gap - 1);
		EXPECT_NONE(&a);
		t += gap;
		tcp_timeout(a.s, t);
		EXPECT_SEG(&a, F_SYN, 100, 0);
		EXPECT_STATE(c, TCP_S_SYN_SENT);
		gap *= 2;
	}
	TT_EQ(tcp_next_deadline(a.s), t + gap);
	tcp_timeout(a.s, t + gap);
	EXPECT_NONE(&a);
	EXPECT_STATE(c, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&a), TCP_ETIMEDOUT);
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.RetransSegs, 4);
	TT_EQ(st.AttemptFails, 1);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);
	tcp_release(c, t + gap);
	host_free(&a);
}

/* SYN,ACK retransmission in SYN-RECEIVED; give-up removes the embryonic
 * TCB silently. */
TT_TEST(retransmit_synack_backoff_and_give_up)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.syn_retries = 2;
	struct host b;
	struct peer pa;
	TT_EQ(fx_listen(&b, &pa, .cfg = &cfg), 0);
	b.isn = 300;
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	tcp_timeout(b.s, T0 + TCP_SEC(1));
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	tcp_timeout(b.s, T0 + TCP_SEC(3));
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	tcp_timeout(b.s, T0 + TCP_SEC(7));
	EXPECT_NONE(&b);
	TT_EQ(host_nconns(&b), 0);
	TT_EQ(b.nev, 0);
	host_free(&b);
}

/* Data: retransmitted from SND.UNA at RTO, 2*RTO, 4*RTO...; R2 reached ->
 * TCP_EV_CLOSED(TCP_ETIMEDOUT). */
TT_TEST(retransmit_data_backoff_and_give_up)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.retries = 3;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	char d[1500];
	memset(d, 'q', sizeof d);
	TT_EQ(tcp_send(ca, d, sizeof d, T0), 1500);
	EXPECT_SEG_WL(&a, F_ACK, 100, 300, 8192, 1000);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 1100, 300, 8192, 500);
	/* RTO after a zero-RTT handshake sample is the 1 s minimum */
	tcp_time_t t = T0, gap = TCP_SEC(1);
	for (int i = 0; i < 3; i++) {
		TT_EQ(tcp_next_deadline(a.s), t + gap);
		t += gap;
		tcp_timeout(a.s, t);
		EXPECT_SEG_WL(&a, F_ACK, 100, 300, 8192, 1000); /* first unacked segment */
		EXPECT_NONE(&a); /* cwnd is one segment after an RTO */
		gap *= 2;
	}
	struct tcp_conn_info info;
	tcp_conn_info(ca, &info);
	TT_EQ(info.retransmits, 3);
	TT_EQ(info.cwnd, info.mss); /* RFC 5681 (4) loss window */
	t += gap;
	tcp_timeout(a.s, t);
	EXPECT_NONE(&a);
	EXPECT_STATE(ca, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&a), TCP_ETIMEDOUT);
	TT_EQ(host_stats(&a).Timeouts, 3);
	host_free(&a);
	host_free(&b);
}

/* After an RTO the ACK of the retransmission resets the backoff and the
 * rest goes out (go-back-N from SND.UNA), in slow start. */
TT_TEST(retransmit_recovery_after_rto)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	char d[3000];
	memset(d, 'r', sizeof d);
	TT_EQ(tcp_send(ca, d, sizeof d, T0), 3000);
	host_drop_all(&a); /* all three segments lost */
	tcp_timeout(a.s, T0 + TCP_SEC(1));
	EXPECT_SEG_WL(&a, F_ACK, 100, 300, 8192, 1000);
	host_forward_last(&a, &b, T0 + TCP_SEC(1));
	EXPECT_SEG(&b, F_ACK, 300, 1100);
	host_forward_last(&b, &a, T0 + TCP_SEC(1) + 10);
	/* cwnd 2 MSS now: the other two go */
	EXPECT_SEG_WL(&a, F_ACK, 1100, 300, 8192, 1000);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 2100, 300, 8192, 1000);
	EXPECT_NONE(&a);
	/* backoff reset: the timer is one RTO again */
	TT_EQ(tcp_next_deadline(a.s), T0 + TCP_SEC(1) + 10 + TCP_SEC(1));
	host_free(&a);
	host_free(&b);
}

/* RFC 9293 3.8.6: the RTO retransmission stays inside SND.UNA + SND.WND. */
TT_TEST(retransmit_respects_send_window)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	host_pop(&a);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	peer_send(&pb, .flags = F_SYN | F_ACK, .seq = 300, .ack = 101, .wnd = 700, .has_mss = 1,
		  .mss = 1000);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	char d[5000];
	memset(d, 'w', sizeof d);
	TT_EQ(tcp_send(c, d, sizeof d, T0), 5000);
	EXPECT_SEG_WL(&a, F_ACK, 101, 301, 8192, 700);
	EXPECT_NONE(&a);
	tcp_timeout(a.s, T0 + TCP_SEC(1));
	EXPECT_SEG_WL(&a, F_ACK, 101, 301, 8192, 700);
	EXPECT_NONE(&a);
	host_free(&a);
}

/* RFC 9293 3.8.6.1 "MUST NOT close a connection merely because the window
 * is zero": the window shrinks to zero with data in flight; the RTO sends
 * one-octet probes past R2 without giving up. */
TT_TEST(retransmit_zero_window_does_not_give_up)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.retries = 3;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	char d[2000];
	memset(d, 'z', sizeof d);
	TT_EQ(tcp_send(ca, d, sizeof d, T0), 2000);
	host_drop_all(&a);
	peer_send(&pb, .seq = 300, .ack = 1100, .wnd = 0, .now = T0 + 10);
	tcp_time_t t = T0 + 10;
	for (int i = 0; i < 8; i++) {
		t = tcp_next_deadline(a.s);
		tcp_timeout(a.s, t);
		EXPECT_SEG_WL(&a, F_ACK, 1100, 300, 8192, 1);
		EXPECT_STATE(ca, TCP_S_ESTABLISHED);
		/* the receiver keeps answering: window still zero */
		peer_send(&pb, .seq = 300, .ack = 1100, .wnd = 0, .now = t);
	}
	/* the window opens: the rest goes */
	peer_send(&pb, .seq = 300, .ack = 1100, .now = t + 1);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 1100, 300, 8192, 1000);
	host_free(&a);
	host_free(&b);
}

/* RFC 5681 2 counts an ACK as duplicate when "the advertised window in the
 * incoming acknowledgment equals the advertised window in the last incoming
 * acknowledgment"; ACKs of a zero window answer window probes (RFC 9293
 * 3.8.6.1), not losses: four of them start no fast retransmit and leave
 * cwnd alone. */
TT_TEST(retransmit_zero_window_acks_are_not_dupacks)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	char d[3000];
	memset(d, 'z', sizeof d);
	TT_EQ(tcp_send(ca, d, sizeof d, T0), 3000);
	host_drop_all(&a);
	/* the first segment is acknowledged and the window closes */
	peer_send(&pb, .seq = 300, .ack = 1100, .wnd = 0, .now = T0 + 10);
	struct tcp_conn_info before, after;
	TT_EQ(tcp_conn_info(ca, &before), 0);
	for (int i = 0; i < 4; i++)
		peer_send(&pb, .seq = 300, .ack = 1100, .wnd = 0, .now = T0 + 20 + i);
	EXPECT_NONE(&a);
	TT_EQ(tcp_conn_info(ca, &after), 0);
	TT_EQ(after.cwnd, before.cwnd);
	TT_EQ(after.retransmits, 0);
	host_free(&a);
	host_free(&b);
}

/* Karn's rule (RFC 6298 3): the ACK of a retransmitted segment gives no
 * RTT sample (no timestamps). */
TT_TEST(retransmit_karn_no_sample)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.rto_min = TCP_MS(10);
	struct host a, b;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	TT_EQ(host_init(&b, 2, &cfg), 0);
	struct tcp_conn *ca, *cb;
	/* handshake with a 100 ms RTT */
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 4, NULL, &l), 0);
	a.isn = 99;
	b.isn = 299;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1000, NULL, NULL, T0, &ca), 0);
	host_deliver(&a, &b, T0 + TCP_MS(50));
	host_deliver(&b, &a, T0 + TCP_MS(100));
	host_deliver(&a, &b, T0 + TCP_MS(150));
	cb = b.accepted;
	TT_ASSERT(cb != NULL);
	struct tcp_conn_info info;
	tcp_conn_info(ca, &info);
	TT_EQ(info.srtt, TCP_MS(100));
	TT_EQ(info.rto, TCP_MS(300));
	tcp_time_t t = T0 + TCP_MS(200);
	TT_EQ(tcp_send(ca, "k", 1, t), 1);
	host_drop_all(&a);
	tcp_timeout(a.s, t + TCP_MS(300));
	EXPECT_SEG(&a, F_ACK | F_PSH, 100, 300);
	/* the ACK comes 5 s later: no sample (SRTT unchanged) */
	peer_send(&pb, .seq = 300, .ack = 101, .now = t + TCP_SEC(5));
	tcp_conn_info(ca, &info);
	TT_EQ(info.srtt, TCP_MS(100));
	/* a fresh segment is timed again */
	tcp_time_t t2 = t + TCP_SEC(6);
	TT_EQ(tcp_send(ca, "l", 1, t2), 1);
	peer_send(&pb, .seq = 300, .ack = 102, .now = t2 + TCP_MS(180));
	tcp_conn_info(ca, &info);
	TT_EQ(info.srtt, TCP_MS(100) * 7 / 8 + TCP_MS(180) / 8);
	host_free(&a);
	host_free(&b);
}

/* The FIN is retransmitted like data. */
TT_TEST(retransmit_fin)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	tcp_close(ca, T0);
	EXPECT_SEG(&a, F_FIN | F_ACK, 100, 300);
	tcp_timeout(a.s, T0 + TCP_SEC(1));
	EXPECT_SEG(&a, F_FIN | F_ACK, 100, 300);
	tcp_timeout(a.s, T0 + TCP_SEC(3));
	EXPECT_SEG(&a, F_FIN | F_ACK, 100, 300);
	host_forward_last(&a, &b, T0 + TCP_SEC(3));
	EXPECT_SEG(&b, F_ACK, 300, 101);
	host_forward_last(&b, &a, T0 + TCP_SEC(3));
	EXPECT_STATE(ca, TCP_S_FIN_WAIT_2);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);
	host_free(&a);
	host_free(&b);
}

/* Two linked hosts (fx_pair, no SACK), a's six segments 100..6100 sent
 * at T0 and taken; pb is b as a scripted peer.  0 or the failed step. */
static int six_segments_out(struct host *a, struct host *b, struct tcp_conn **ca,
			    struct peer *pb)
{
	struct tcp_conn *cb;
	if (fx_pair(a, b, ca, &cb) != 0)
		return -1;
	*pb = PEER(a, .ep = PB, .port = 80, .hport = 1000);
	char d[6000];
	memset(d, 'f', sizeof d);
	if (tcp_send(*ca, d, sizeof d, T0) != 6000)
		return -2;
	for (int i = 0; i < 6; i++)
		if (!host_pop(a))
			return -3;
	return host_pop(a) ? -4 : 0;
}

/* Fast retransmit on the third duplicate ACK (RFC 5681 3.2). */
TT_TEST(retransmit_fast_on_three_dupacks)
{
	struct host a, b;
	struct tcp_conn *ca;
	struct peer pb;
	TT_EQ(six_segments_out(&a, &b, &ca, &pb), 0);
	/* segment 100 lost; the next ones cause duplicate ACKs */
	for (int i = 0; i < 2; i++) {
		peer_send(&pb, .seq = 300, .ack = 100, .now = T0 + 10);
		EXPECT_NONE(&a);
	}
	peer_send(&pb, .seq = 300, .ack = 100, .now = T0 + 10);
	EXPECT_SEG_WL(&a, F_ACK, 100, 300, 8192, 1000);
	TT_EQ(host_stats(&a).FastRetransmits, 1);
	/* the full ACK ends recovery */
	peer_send(&pb, .seq = 300, .ack = 6100, .now = T0 + 20);
	struct tcp_conn_info info;
	tcp_conn_info(ca, &info);
	TT_EQ(info.snd_una, 6100);
	TT_EQ(info.cwnd, info.ssthresh);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);
	host_free(&a);
	host_free(&b);
}

/* RFC 5681 2: a duplicate ACK's "acknowledgment number is equal to the
 * greatest acknowledgment received on the given connection" - SND.UNA
 * before it.  An ACK that advances SND.UNA is new, not the first of the
 * three duplicates: after it two duplicate ACKs start nothing, the third
 * the fast retransmit.  (The engine counted the new ACK itself once and
 * retransmitted on the second duplicate.) */
TT_TEST(retransmit_new_ack_is_not_a_dupack)
{
	struct host a, b;
	struct tcp_conn *ca;
	struct peer pb;
	TT_EQ(six_segments_out(&a, &b, &ca, &pb), 0);
	/* the first segment arrives, the second (1100) is lost */
	peer_send(&pb, .seq = 300, .ack = 1100, .now = T0 + 10);
	EXPECT_NONE(&a);
	for (int i = 0; i < 2; i++) {
		peer_send(&pb, .seq = 300, .ack = 1100, .now = T0 + 11);
		EXPECT_NONE(&a);
	}
	TT_EQ(host_stats(&a).FastRetransmits, 0);
	peer_send(&pb, .seq = 300, .ack = 1100, .now = T0 + 12);
	EXPECT_SEG_WL(&a, F_ACK, 1100, 300, 8192, 1000);
	TT_EQ(host_stats(&a).FastRetransmits, 1);
	host_free(&a);
	host_free(&b);
}

/* Keep-alive (RFC 9293 3.8.4): <SEQ=SND.NXT-1> after the idle time, every
 * interval, reset after the probes go unanswered. */
TT_TEST(keepalive_probes_and_timeout)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.keepalive_idle = TCP_SEC(10);
	cfg.keepalive_intvl = TCP_SEC(2);
	cfg.keepalive_probes = 2;
	struct host a, b;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	TT_EQ(host_init(&b, 2, &cfg), 0);
	struct tcp_conn *ca, *cb;
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 4, NULL, &l), 0);
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	o.keepalive = 1;
	a.isn = 99;
	b.isn = 299;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1000, &o, NULL, T0, &ca), 0);
	host_deliver(&a, &b, T0);
	host_deliver(&b, &a, T0);
	host_deliver(&a, &b, T0);
	cb = b.accepted;
	TT_ASSERT(cb != NULL);
	TT_EQ(tcp_next_deadline(a.s), T0 + TCP_SEC(10));
	tcp_timeout(a.s, T0 + TCP_SEC(10));
	EXPECT_SEG(&a, F_ACK, 99, 300);
	/* the peer answers: the idle time starts over */
	host_forward_last(&a, &b, T0 + TCP_SEC(10));
	EXPECT_SEG(&b, F_ACK, 300, 100);
	host_forward_last(&b, &a, T0 + TCP_SEC(10));
	TT_EQ(tcp_next_deadline(a.s), T0 + TCP_SEC(20));
	tcp_timeout(a.s, T0 + TCP_SEC(20));
	EXPECT_SEG(&a, F_ACK, 99, 300);
	tcp_timeout(a.s, T0 + TCP_SEC(22));
	EXPECT_SEG(&a, F_ACK, 99, 300);
	tcp_timeout(a.s, T0 + TCP_SEC(24));
	EXPECT_SEG(&a, F_RST | F_ACK, 100, 300);
	EXPECT_STATE(ca, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&a), TCP_ETIMEDOUT);
	TT_EQ(host_stats(&a).KeepAlives, 3);
	host_free(&a);
	host_free(&b);
}

/* Connect timeout from tcp_conn_opts.timeout. */
TT_TEST(connect_user_timeout)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	o.timeout = TCP_MS(2500);
	struct tcp_conn *c;
	TT_EQ(tcp_connect(a.s, &PB, 80, 0, &o, NULL, T0, &c), 0);
	host_run_timers(&a, T0 + TCP_MS(2500));
	EXPECT_STATE(c, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&a), TCP_ETIMEDOUT);
	host_free(&a);
}

/* tcp_conn_opts.timeout after the handshake: no acknowledgment for that
 * long gives up before R2 (RFC 9293 3.10.8 USER TIMEOUT). */
TT_TEST(user_timeout_established)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	o.timeout = TCP_SEC(5);
	TT_EQ(tcp_conn_set_opts(ca, &o), 0);
	tcp_time_t t = T0 + TCP_SEC(10);
	TT_EQ(tcp_send(ca, "u", 1, t), 1);
	host_run_timers(&a, t + TCP_SEC(4));
	EXPECT_STATE(ca, TCP_S_ESTABLISHED); /* RTOs at +1 s and +3 s */
	host_run_timers(&a, t + TCP_SEC(8));
	EXPECT_STATE(ca, TCP_S_CLOSED);      /* the RTO at +7 s is past 5 s */
	TT_EQ(host_closed_err(&a), TCP_ETIMEDOUT);
	host_free(&a);
	host_free(&b);
}

/* The stack's single deadline (a heap of TCBs) stays the minimum over
 * thousands of connections as timers are armed, fire and are cancelled. */
TT_TEST(timer_heap_many_connections)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.max_connections = 3000;
	cfg.send_buffer = cfg.recv_buffer = 64;
	cfg.syn_retries = 2;
	struct host a;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	static struct tcp_conn *c[3000];
	/* connect k at T0 + (k * 7919 % 3000) ms: SYN timers in scrambled order */
	for (int k = 0; k < 3000; k++) {
		tcp_time_t t = T0 + TCP_MS((k * 7919) % 3000);
		TT_EQ(tcp_connect(a.s, &PB, 80, (uint16_t)(1000 + k), NULL, NULL, t, &c[k]), 0);
	}
	struct tcp_conn *extra;
	TT_EQ(tcp_connect(a.s, &PB, 80, 999, NULL, NULL, T0, &extra), TCP_ELIMIT);
	TT_EQ(tcp_next_deadline(a.s), T0 + TCP_SEC(1));
	/* abort every connection whose first SYN went at an even ms */
	int live = 0;
	for (int k = 0; k < 3000; k++) {
		if (((k * 7919) % 3000) % 2 == 0)
			tcp_abort(c[k], T0 + TCP_SEC(3));
		else
			live++;
	}
	TT_EQ(tcp_next_deadline(a.s), T0 + TCP_SEC(1) + TCP_MS(1));
	host_drop_all(&a);
	/* fire everything: every live connection retransmits twice, then gives up */
	tcp_time_t last = 0;
	unsigned fired = 0;
	for (int i = 0; i < 20000; i++) {
		tcp_time_t d = tcp_next_deadline(a.s);
		if (d == TCP_TIME_NEVER)
			break;
		TT_ASSERT(d >= last); /* deadlines come in order */
		last = d;
		tcp_timeout(a.s, d);
		fired++;
		host_drop_all(&a);
	}
	TT_EQ(host_stats(&a).RetransSegs, 2u * (unsigned)live);
	TT_EQ(host_stats(&a).AttemptFails, 3000);
	TT_EQ(host_nconns(&a), 0);
	TT_ASSERT(fired > 0);
	host_free(&a);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

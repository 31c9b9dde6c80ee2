/*
 * test_close.c - RFC 9293 3.6 closing: the normal and simultaneous close
 * figures, TIME-WAIT, CLOSE in each state, tcp_close_no_read, release.
 */
#include "peer.h"


/* Figure: normal close sequence.
 *   1. ESTABLISHED                                          ESTABLISHED
 *   2. (Close) FIN-WAIT-1 --> <SEQ=100><ACK=300><CTL=FIN,ACK>  --> CLOSE-WAIT
 *   3. FIN-WAIT-2  <-- <SEQ=300><ACK=101><CTL=ACK>      <-- CLOSE-WAIT
 *   4. (Close) TIME-WAIT   <-- <SEQ=300><ACK=101><CTL=FIN,ACK>  <-- LAST-ACK
 *   5. TIME-WAIT   --> <SEQ=101><ACK=301><CTL=ACK>      --> CLOSED
 *   6. (2 MSL) CLOSED */
TT_TEST(test_fig_normal_close)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct peer pa = PEER(&b);
	/* 2 */
	TT_EQ(tcp_close(ca, T0), 0);
	EXPECT_STATE(ca, TCP_S_FIN_WAIT_1);
	EXPECT_SEG(&a, F_FIN | F_ACK, 100, 300);
	peer_send(&pa, .flags = F_FIN | F_ACK, .seq = 100, .ack = 300);
	EXPECT_STATE(cb, TCP_S_CLOSE_WAIT);
	TT_EQ(host_count_ev(&b, TCP_EV_PEER_FIN), 1);
	char buf[4];
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), 0); /* EOF */
	/* 3 */
	EXPECT_SEG(&b, F_ACK, 300, 101);
	peer_send(&pb, .seq = 300, .ack = 101);
	EXPECT_STATE(ca, TCP_S_FIN_WAIT_2);
	/* 4 */
	TT_EQ(tcp_close(cb, T0), 0);
	EXPECT_STATE(cb, TCP_S_LAST_ACK);
	EXPECT_SEG(&b, F_FIN | F_ACK, 300, 101);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 300, .ack = 101);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	TT_EQ(host_count_ev(&a, TCP_EV_CLOSED), 1);
	TT_EQ(host_closed_err(&a), 0);
	/* 5 */
	EXPECT_SEG(&a, F_ACK, 101, 301);
	peer_send(&pa, .seq = 101, .ack = 301);
	EXPECT_STATE(cb, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&b), 0);
	/* 6: TIME-WAIT lasts 2 MSL */
	TT_EQ(tcp_next_deadline(a.s), T0 + 2 * a.cfg.msl);
	tcp_timeout(a.s, T0 + 2 * a.cfg.msl - 1);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	tcp_timeout(a.s, T0 + 2 * a.cfg.msl);
	EXPECT_STATE(ca, TCP_S_CLOSED);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);
	TT_EQ(host_count_ev(&a, TCP_EV_CLOSED), 1); /* reported once */
	tcp_release(ca, T0 + 2 * a.cfg.msl);
	tcp_release(cb, T0 + 2 * a.cfg.msl);
	EXPECT_NONE(&a);
	EXPECT_NONE(&b);
	host_free(&a);
	host_free(&b);
}

/* Figure: simultaneous close sequence.
 *   2. (Close) FIN-WAIT-1 --> <SEQ=100><ACK=300><CTL=FIN,ACK> ... FIN-WAIT-1
 *                   <-- <SEQ=300><ACK=100><CTL=FIN,ACK>  <--
 *   3. CLOSING     --> <SEQ=101><ACK=301><CTL=ACK>      ... CLOSING
 *                   <-- <SEQ=301><ACK=101><CTL=ACK>      <--
 *   4. TIME-WAIT                                         TIME-WAIT
 *      (2 MSL) CLOSED                                    (2 MSL) CLOSED */
TT_TEST(test_fig_simultaneous_close)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct peer pa = PEER(&b);
	/* 2 */
	TT_EQ(tcp_close(ca, T0), 0);
	TT_EQ(tcp_close(cb, T0), 0);
	EXPECT_SEG(&a, F_FIN | F_ACK, 100, 300);
	EXPECT_SEG(&b, F_FIN | F_ACK, 300, 100);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 300, .ack = 100);
	peer_send(&pa, .flags = F_FIN | F_ACK, .seq = 100, .ack = 300);
	/* 3 */
	EXPECT_STATE(ca, TCP_S_CLOSING);
	EXPECT_STATE(cb, TCP_S_CLOSING);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	EXPECT_SEG(&b, F_ACK, 301, 101);
	peer_send(&pb, .seq = 301, .ack = 101);
	peer_send(&pa, .seq = 101, .ack = 301);
	/* 4 */
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	EXPECT_STATE(cb, TCP_S_TIME_WAIT);
	EXPECT_NONE(&a);
	EXPECT_NONE(&b);
	tcp_timeout(a.s, T0 + 2 * a.cfg.msl);
	tcp_timeout(b.s, T0 + 2 * b.cfg.msl);
	EXPECT_STATE(ca, TCP_S_CLOSED);
	EXPECT_STATE(cb, TCP_S_CLOSED);
	tcp_release(ca, T0 + 2 * b.cfg.msl);
	tcp_release(cb, T0 + 2 * b.cfg.msl);
	host_free(&a);
	host_free(&b);
}

/* RFC 9293 3.10.7.4 TIME-WAIT: "The only thing that can arrive in this state
 * is a retransmission of the remote FIN. Acknowledge it, and restart the
 * 2 MSL timeout." */
TT_TEST(test_time_wait_fin_retransmission_restarts_2msl)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	tcp_close(ca, T0);
	host_pop(&a);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 300, .ack = 101);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	tcp_time_t t1 = T0 + TCP_SEC(20);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 300, .ack = 101, .now = t1);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	TT_EQ(tcp_next_deadline(a.s), t1 + 2 * a.cfg.msl);
	tcp_timeout(a.s, T0 + 2 * a.cfg.msl);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	tcp_timeout(a.s, t1 + 2 * a.cfg.msl);
	EXPECT_STATE(ca, TCP_S_CLOSED);
	tcp_release(ca, t1 + 2 * a.cfg.msl);
	host_free(&a);
	host_free(&b);
}

/* TIME-WAIT: an RST closes (RFC 9293 3.10.7.4 second, CLOSING/LAST-ACK/
 * TIME-WAIT "enter the CLOSED state, delete the TCB"); a SYN gets a
 * challenge ACK; the released TCB is freed by the engine. */
TT_TEST(test_time_wait_rst_and_syn)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	tcp_close(ca, T0);
	host_pop(&a);
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 300, .ack = 101);
	host_pop(&a);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	tcp_release(ca, T0); /* engine owns it now */
	TT_EQ(host_nconns(&a), 1);
	peer_send(&pb, .flags = F_SYN, .seq = 5000, .now = T0 + 1);
	EXPECT_SEG(&a, F_ACK, 101, 301);
	TT_EQ(host_nconns(&a), 1);
	peer_send(&pb, .flags = F_RST, .seq = 301, .wnd = 0, .now = T0 + 2);
	TT_EQ(host_nconns(&a), 0);
	EXPECT_NONE(&a);
	host_free(&a);
	host_free(&b);
}

/* RFC 9293 3.6.1 MAY-2: a new SYN (sequence number beyond RCV.NXT) for a
 * listening port reopens the connection from TIME-WAIT with a larger ISN;
 * an old SYN gets the challenge ACK. */
TT_TEST(test_time_wait_reopened_by_new_syn)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer pa = PEER(&b);
	struct tcp_conn *ca, *cb;
	/* B (the listener) closes first and ends in TIME-WAIT */
	TT_EQ(pair_establish(&a, &b, 99, 299, 1000, 80, T0, &ca, &cb), 0);
	tcp_close(cb, T0);
	host_deliver(&b, &a, T0);
	host_deliver(&a, &b, T0);
	tcp_close(ca, T0);
	host_deliver(&a, &b, T0);
	host_deliver(&b, &a, T0);
	EXPECT_STATE(cb, TCP_S_TIME_WAIT);
	EXPECT_STATE(ca, TCP_S_CLOSED);
	tcp_release(cb, T0);
	/* an old SYN: challenge ACK, still TIME-WAIT */
	peer_send(&pa, .flags = F_SYN, .seq = 50, .now = T0 + 10);
	EXPECT_SEG(&b, F_ACK, 301, 101);
	/* a new one: a new connection, ISN above the old SND.NXT (the hook
	 * would give 299 again) */
	peer_send(&pa, .flags = F_SYN, .seq = 5000, .now = T0 + 20);
	EXPECT_SEG(&b, F_SYN | F_ACK, 301 + 65536, 5001);
	EXPECT_STATE(host_any_conn(&b), TCP_S_SYN_RECEIVED);
	TT_EQ(host_nconns(&b), 1);
	host_free(&a);
	host_free(&b);
}

/* RFC 6298 (5.7): after a SYN timeout, data starts with RTO 3 s. */
TT_TEST(test_rto_3s_after_syn_timeout)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct tcp_conn *c;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c), 0);
	tcp_timeout(a.s, T0 + TCP_SEC(1));
	host_drop_all(&a);
	peer_send(&pb, .flags = F_SYN | F_ACK, .seq = 300, .ack = 101, .now = T0 + TCP_SEC(2));
	EXPECT_SEG(&a, F_ACK, 101, 301);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.rto, TCP_SEC(3));
	TT_EQ(tcp_send(c, "x", 1, T0 + TCP_SEC(2)), 1);
	TT_EQ(tcp_next_deadline(a.s), T0 + TCP_SEC(5));
	host_free(&a);
}

/* Queued data goes out before the FIN (RFC 9293 3.10.4 "Queue this until
 * all preceding SENDs have been segmentized"), and SEND after CLOSE is
 * "connection closing". */
TT_TEST(test_close_after_data_sends_fin_last)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	char data[2500];
	memset(data, 'x', sizeof data);
	TT_EQ(tcp_send(ca, data, sizeof data, T0), 2500);
	TT_EQ(tcp_close(ca, T0), 0);
	TT_EQ(tcp_send(ca, "y", 1, T0), TCP_ECLOSING);
	EXPECT_SEG_WL(&a, F_ACK, 100, 300, 8192, 1000);
	EXPECT_SEG_WL(&a, F_ACK, 1100, 300, 8192, 1000);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 2100, 300, 8192, 500);
	EXPECT_SEG_WL(&a, F_ACK | F_FIN, 2600, 300, 8192, 0);
	EXPECT_NONE(&a);
	/* with Nagle on and data outstanding, the FIN rides on the last
	 * data segment */
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	o.nodelay = 0;
	struct tcp_conn *c2;
	a.isn = 5000;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1001, &o, NULL, T0, &c2), 0);
	host_deliver(&a, &b, T0);
	host_deliver(&b, &a, T0);
	host_drop_all(&a);
	TT_EQ(tcp_send(c2, data, 1500, T0), 1500);
	EXPECT_SEG_WL(&a, F_ACK, 5001, 300, 8192, 1000);
	EXPECT_NONE(&a); /* Nagle holds the 500 */
	TT_EQ(tcp_close(c2, T0), 0);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH | F_FIN, 6001, 300, 8192, 500);
	host_free(&a);
	host_free(&b);
}

/* CLOSE in SYN-SENT: "Delete the TCB"; in CLOSE-WAIT: FIN and LAST-ACK; in
 * LAST-ACK: "error: connection closing". */
TT_TEST(test_close_in_each_state)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer pa = PEER(&b);
	struct tcp_conn *c;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1000, NULL, NULL, T0, &c), 0);
	host_drop_all(&a);
	TT_EQ(tcp_close(c, T0), 0);
	EXPECT_STATE(c, TCP_S_CLOSED);
	EXPECT_NONE(&a);
	TT_EQ(host_closed_err(&a), 0);
	TT_EQ(tcp_close(c, T0), TCP_ENOTCONN);
	tcp_release(c, T0);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);

	struct tcp_conn *ca, *cb;
	TT_EQ(pair_establish(&a, &b, 99, 299, 1000, 80, T0, &ca, &cb), 0);
	peer_send(&pa, .flags = F_FIN | F_ACK, .seq = 100, .ack = 300);
	EXPECT_STATE(cb, TCP_S_CLOSE_WAIT);
	EXPECT_SEG(&b, F_ACK, 300, 101);
	/* SEND in CLOSE-WAIT is allowed */
	TT_EQ(tcp_send(cb, "abc", 3, T0), 3);
	EXPECT_SEG(&b, F_ACK | F_PSH, 300, 101);
	TT_EQ(tcp_close(cb, T0), 0);
	EXPECT_STATE(cb, TCP_S_LAST_ACK);
	EXPECT_SEG(&b, F_FIN | F_ACK, 303, 101);
	TT_EQ(tcp_close(cb, T0), TCP_ECLOSING);
	/* an ACK of the data only: still LAST-ACK */
	peer_send(&pa, .seq = 101, .ack = 303);
	EXPECT_STATE(cb, TCP_S_LAST_ACK);
	peer_send(&pa, .seq = 101, .ack = 304);
	EXPECT_STATE(cb, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&b), 0);
	host_free(&a);
	host_free(&b);
}

/* tcp_close_no_read: data arriving later resets the connection; unread
 * data at the time of the call resets it at once. */
TT_TEST(test_close_no_read_resets_on_data)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pa = PEER(&b);
	TT_EQ(tcp_close_no_read(cb, T0), 0);
	EXPECT_STATE(cb, TCP_S_FIN_WAIT_1);
	EXPECT_SEG(&b, F_FIN | F_ACK, 300, 100);
	peer_send(&pa, .seq = 100, .ack = 301, .data = "late");
	EXPECT_SEG(&b, F_RST | F_ACK, 301, 100);
	EXPECT_STATE(cb, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&b), TCP_EABORTED);
	tcp_release(cb, T0);

	/* second connection: unread data buffered at the call */
	b.nev = 0;
	struct tcp_conn *ca2, *cb2;
	a.isn = 1000;
	b.isn = 2000;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1001, NULL, NULL, T0, &ca2), 0);
	host_deliver(&a, &b, T0);
	host_deliver(&b, &a, T0);
	host_deliver(&a, &b, T0);
	cb2 = b.accepted;
	TT_ASSERT(cb2 && cb2 != cb);
	TT_EQ(tcp_send(ca2, "unread", 6, T0), 6);
	host_deliver(&a, &b, T0);
	host_drop_all(&b);
	TT_EQ(tcp_close_no_read(cb2, T0), 0);
	EXPECT_SEG(&b, F_RST, 2001, 0); /* ABORT: <SEQ=SND.NXT><CTL=RST> */
	EXPECT_STATE(cb2, TCP_S_CLOSED);
	host_free(&a);
	host_free(&b);
}

/* ABORT (RFC 9293 3.10.5): RST <SEQ=SND.NXT>, TCP_EV_CLOSED(TCP_EABORTED). */
TT_TEST(test_abort_sends_rst)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pa = PEER(&b);
	TT_EQ(tcp_abort(ca, T0), 0);
	EXPECT_SEG(&a, F_RST, 100, 0);
	TT_EQ(host_closed_err(&a), TCP_EABORTED);
	TT_EQ(tcp_abort(ca, T0), TCP_ENOTCONN);
	peer_send(&pa, .flags = F_RST | F_ACK, .seq = 100, .ack = 300, .wnd = 0);
	TT_EQ(host_closed_err(&b), TCP_ECONNRESET);
	TT_EQ(host_stats(&a).CurrEstab, 0);
	TT_EQ(host_stats(&b).CurrEstab, 0);
	host_free(&a);
	host_free(&b);
}

/* CLOSE with data queued, then the peer's FIN: FIN-WAIT-1 -> CLOSING; the
 * ACKs in CLOSING keep clocking out the queued data and our FIN follows. */
TT_TEST(test_closing_keeps_sending_queued_data)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.send_buffer = 65536;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	static char d[30000];
	memset(d, 'c', sizeof d);
	TT_EQ(tcp_send(ca, d, sizeof d, T0), (long long)sizeof d);
	TT_EQ(tcp_close(ca, T0), 0);
	host_drop_all(&a); /* the first flight is lost */
	/* the peer closes: its FIN arrives while our data is queued */
	peer_send(&pb, .flags = F_FIN | F_ACK, .seq = 300, .ack = 100, .now = T0 + 1);
	EXPECT_STATE(ca, TCP_S_CLOSING);
	host_drop_all(&a);
	/* run everything through B: all data, then both FINs */
	tcp_close(cb, T0 + 1); /* B's own FIN was the scripted one; its stack sends it too */
	host_drop_all(&b);
	char buf[4096];
	size_t got = 0;
	tcp_time_t now = T0 + 2;
	for (int i = 0; i < 20000 && tcp_conn_state(ca) != TCP_S_TIME_WAIT; i++) {
		now += TCP_MS(1);
		tcp_timeout(a.s, now);
		tcp_timeout(b.s, now);
		host_deliver(&a, &b, now);
		host_deliver(&b, &a, now);
		ssize_t r;
		while ((r = tcp_recv(cb, buf, sizeof buf, now)) > 0)
			got += (size_t)r;
	}
	TT_EQ(got, sizeof d);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	host_free(&a);
	host_free(&b);
}

/* Release inside the TCP_EV_CLOSED callback is allowed. */
TT_TEST(test_release_inside_closed_event)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	a.release_on_close = 1;
	peer_send(&pb, .flags = F_RST, .seq = 300, .wnd = 0);
	TT_EQ(host_closed_err(&a), TCP_ECONNRESET);
	TT_EQ(host_nconns(&a), 0);
	host_free(&a);
	host_free(&b);
}

/* A released connection in FIN-WAIT-2 does not wait forever. */
TT_TEST(test_orphan_fin_wait_2_times_out)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	tcp_close(ca, T0);
	tcp_release(ca, T0);
	host_deliver(&a, &b, T0);
	host_deliver(&b, &a, T0);
	TT_EQ(host_nconns(&a), 1);
	tcp_timeout(a.s, T0 + 2 * a.cfg.msl);
	TT_EQ(host_nconns(&a), 0);
	host_free(&a);
	host_free(&b);

	/* the owner that closed without reading (the daemon when the app has
	 * gone) learns the end: a timeout, the peer's FIN never came */
	TT_EQ(host_init(&a, 1, NULL), 0);
	TT_EQ(host_init(&b, 2, NULL), 0);
	TT_EQ(pair_establish(&a, &b, 99, 299, 1000, 80, T0, &ca, &cb), 0);
	TT_EQ(tcp_close_no_read(ca, T0), 0);
	host_deliver(&a, &b, T0);
	host_deliver(&b, &a, T0);
	EXPECT_STATE(ca, TCP_S_FIN_WAIT_2);
	tcp_timeout(a.s, T0 + 2 * a.cfg.msl - 1);
	EXPECT_STATE(ca, TCP_S_FIN_WAIT_2);
	tcp_timeout(a.s, T0 + 2 * a.cfg.msl);
	EXPECT_STATE(ca, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&a), TCP_ETIMEDOUT);
	host_free(&a);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

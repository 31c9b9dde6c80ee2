/*
 * test_handshake.c - the connection establishment figures of RFC 9293
 * section 3.5, with their exact sequence numbers.
 */
#include "peer.h"


/* Figure: basic three-way handshake.
 *   1. CLOSED                                  LISTEN
 *   2. SYN-SENT    --> <SEQ=100><CTL=SYN>       --> SYN-RECEIVED
 *   3. ESTABLISHED <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED
 *   4. ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK>  --> ESTABLISHED
 *   5. ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK><DATA> --> ESTABLISHED */
TT_TEST(test_fig_three_way_handshake)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer pa = PEER(&b);
	struct tcp_listener *l;
	int luser;
	TT_EQ(tcp_listen(b.s, 80, 4, &luser, &l), 0);
	struct tcp_conn *ca;
	a.isn = 100;
	b.isn = 300;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1000, NULL, NULL, T0, &ca), 0);
	EXPECT_STATE(ca, TCP_S_SYN_SENT);
	/* 2 */
	EXPECT_SEG(&a, F_SYN, 100, 0);
	TT_EQ(a.seg.has_mss, 1);
	TT_EQ(a.seg.mss, 1000);
	TT_EQ(a.seg.wnd, 8192);
	TT_EQ(peer_send(&pa, .flags = F_SYN, .seq = 100), 0);
	struct tcp_conn *cb = host_any_conn(&b);
	TT_ASSERT(cb != NULL);
	EXPECT_STATE(cb, TCP_S_SYN_RECEIVED);
	/* 3 */
	EXPECT_SEG_WL(&b, F_SYN | F_ACK, 300, 101, 8192, 0);
	TT_EQ(peer_send(&pb, .flags = F_SYN | F_ACK, .seq = 300, .ack = 101), 0);
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	TT_EQ(host_count_ev(&a, TCP_EV_ESTABLISHED), 1);
	/* 4 */
	EXPECT_SEG_WL(&a, F_ACK, 101, 301, 8192, 0);
	TT_EQ(peer_send(&pa, .seq = 101, .ack = 301), 0);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	TT_EQ(host_count_ev(&b, TCP_EV_ACCEPTED), 1);
	TT_ASSERT(b.accepted == cb);
	TT_ASSERT(b.ev[0].user == &luser);
	EXPECT_NONE(&b);
	/* 5: data with the same SEQ/ACK */
	TT_EQ(tcp_send(ca, "hello", 5, T0), 5);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 101, 301, 8192, 5);
	TT_MEMEQ(a.seg.data, "hello", 5);
	TT_EQ(peer_send(&pa, .flags = F_ACK | F_PSH, .seq = 101, .ack = 301, .data = "hello"), 0);
	EXPECT_SEG_WL(&b, F_ACK, 301, 106, 8192 - 5, 0);
	char buf[16];
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), 5);
	TT_MEMEQ(buf, "hello", 5);
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), TCP_EAGAIN);
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.ActiveOpens, 1);
	TT_EQ(st.CurrEstab, 1);
	st = host_stats(&b);
	TT_EQ(st.PassiveOpens, 1);
	host_free(&a);
	host_free(&b);
}

/* The final ACK of the handshake carries data (line 4 and 5 in one). */
TT_TEST(test_fig_three_way_handshake_data_on_final_ack)
{
	struct host b;
	struct peer pa;
	TT_EQ(fx_listen(&b, &pa), 0);
	b.isn = 300;
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	peer_send(&pa, .seq = 101, .ack = 301, .data = "data!");
	TT_ASSERT(b.accepted != NULL);
	EXPECT_STATE(b.accepted, TCP_S_ESTABLISHED);
	EXPECT_SEG_WL(&b, F_ACK, 301, 106, 8192 - 5, 0);
	/* ACCEPTED comes before READABLE */
	TT_EQ(b.nev, 2);
	TT_EQ(b.ev[0].ev, TCP_EV_ACCEPTED);
	TT_EQ(b.ev[1].ev, TCP_EV_READABLE);
	char buf[8];
	TT_EQ(tcp_recv(b.accepted, buf, sizeof buf, T0), 5);
	TT_MEMEQ(buf, "data!", 5);
	host_free(&b);
}

/* Figure: simultaneous initiation.
 *   2. SYN-SENT     --> <SEQ=100><CTL=SYN>              ...
 *   3. SYN-RECEIVED <-- <SEQ=300><CTL=SYN>              <-- SYN-SENT
 *   4.              ... <SEQ=100><CTL=SYN>              --> SYN-RECEIVED
 *   5. SYN-RECEIVED --> <SEQ=100><ACK=301><CTL=SYN,ACK> ...
 *   6. ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED
 *   7.              ... <SEQ=101><ACK=301><CTL=ACK>     --> ESTABLISHED */
TT_TEST(test_fig_simultaneous_open)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 2000, .hport = 1000);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer pa = PEER(&b, .port = 1000, .hport = 2000);
	struct tcp_conn *ca, *cb;
	a.isn = 100;
	b.isn = 300;
	TT_EQ(tcp_connect(a.s, &b.ep, 2000, 1000, NULL, NULL, T0, &ca), 0);
	TT_EQ(tcp_connect(b.s, &a.ep, 1000, 2000, NULL, NULL, T0, &cb), 0);
	EXPECT_STATE(ca, TCP_S_SYN_SENT);
	EXPECT_STATE(cb, TCP_S_SYN_SENT);
	/* 2: A's SYN is in flight (kept in a's queue) */
	/* 3: B's SYN reaches A */
	TT_EQ(host_deliver_one(&b, &a, T0), 1);
	EXPECT_STATE(ca, TCP_S_SYN_RECEIVED);
	/* 4: A's SYN reaches B */
	TT_EQ(host_deliver_one(&a, &b, T0), 1);
	EXPECT_STATE(cb, TCP_S_SYN_RECEIVED);
	/* 5 */
	EXPECT_SEG(&a, F_SYN | F_ACK, 100, 301);
	/* 6 */
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	peer_send(&pb, .flags = F_SYN | F_ACK, .seq = 300, .ack = 101);
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	/* 7 */
	EXPECT_SEG(&a, F_ACK, 101, 301);
	peer_send(&pa, .seq = 101, .ack = 301);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	TT_EQ(host_count_ev(&a, TCP_EV_ESTABLISHED), 1);
	TT_EQ(host_count_ev(&b, TCP_EV_ESTABLISHED), 1);
	/* and A's SYN,ACK (5) reaching B, now ESTABLISHED, is an old
	 * duplicate: its SYN is answered with a challenge ACK */
	peer_send(&pa, .flags = F_SYN | F_ACK, .seq = 100, .ack = 301);
	EXPECT_SEG(&b, F_ACK, 301, 101);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	host_free(&a);
	host_free(&b);
}

/* Figure: recovery from old duplicate SYN.
 *   2. SYN-SENT    --> <SEQ=100><CTL=SYN>               ...
 *   3. (duplicate) ... <SEQ=90><CTL=SYN>                --> SYN-RECEIVED
 *   4. SYN-SENT    <-- <SEQ=300><ACK=91><CTL=SYN,ACK>   <-- SYN-RECEIVED
 *   5. SYN-SENT    --> <SEQ=91><CTL=RST>                --> LISTEN
 *   6.             ... <SEQ=100><CTL=SYN>               --> SYN-RECEIVED
 *   7. SYN-SENT    <-- <SEQ=400><ACK=101><CTL=SYN,ACK>  <-- SYN-RECEIVED
 *   8. ESTABLISHED --> <SEQ=101><ACK=401><CTL=ACK>      --> ESTABLISHED */
TT_TEST(test_fig_old_duplicate_syn)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct peer pa;
	TT_EQ(fx_listen(&b, &pa), 0);
	struct tcp_conn *ca;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1000, NULL, NULL, T0, &ca), 0);
	/* 2: hold A's SYN */
	TT_EQ(host_pop(&a), 1);
	TT_EQ(a.seg.seq, 100);
	/* 3 */
	b.isn = 300;
	peer_send(&pa, .flags = F_SYN, .seq = 90);
	EXPECT_STATE(host_any_conn(&b), TCP_S_SYN_RECEIVED);
	/* 4 */
	TT_EQ(host_deliver_one(&b, &a, T0), 1);
	EXPECT_STATE(ca, TCP_S_SYN_SENT);
	/* 5 */
	EXPECT_SEG(&a, F_RST, 91, 0);
	peer_send(&pa, .flags = F_RST, .seq = 91, .wnd = 0);
	TT_EQ(host_nconns(&b), 0); /* back to LISTEN: only the listener */
	TT_EQ(host_stats(&b).AttemptFails, 1);
	/* 6 */
	b.isn = 400;
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	EXPECT_STATE(host_any_conn(&b), TCP_S_SYN_RECEIVED);
	/* 7 */
	EXPECT_SEG(&b, F_SYN | F_ACK, 400, 101);
	peer_send(&pb, .flags = F_SYN | F_ACK, .seq = 400, .ack = 101);
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	/* 8 */
	EXPECT_SEG(&a, F_ACK, 101, 401);
	peer_send(&pa, .seq = 101, .ack = 401);
	TT_ASSERT(b.accepted != NULL);
	EXPECT_STATE(b.accepted, TCP_S_ESTABLISHED);
	host_free(&a);
	host_free(&b);
}

/* Figure: half-open connection discovery.
 *   1. (CRASH)                               (send 300,receive 100)
 *   2. CLOSED                                ESTABLISHED
 *   3. SYN-SENT --> <SEQ=400><CTL=SYN>       --> (??)
 *   4. (!!)     <-- <SEQ=300><ACK=100><CTL=ACK> <-- ESTABLISHED
 *   5. SYN-SENT --> <SEQ=100><CTL=RST>       --> (Abort!!)
 *   6. SYN-SENT                              CLOSED
 *   7. SYN-SENT --> <SEQ=400><CTL=SYN>       --> */
TT_TEST(test_fig_half_open_discovery)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer pa = PEER(&b);
	struct tcp_conn *ca, *cb;
	/* B: send 300, receive 100 */
	TT_EQ(pair_establish(&a, &b, 99, 299, 1000, 80, T0, &ca, &cb), 0);
	host_free(&a); /* 1: A crashes */
	TT_EQ(host_init(&a, 1, NULL), 0);
	/* 3 */
	a.isn = 400;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1000, NULL, NULL, T0, &ca), 0);
	EXPECT_SEG(&a, F_SYN, 400, 0);
	peer_send(&pa, .flags = F_SYN, .seq = 400);
	/* 4: B's challenge ACK (RFC 5961 4.2) */
	EXPECT_SEG(&b, F_ACK, 300, 100);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	peer_send(&pb, .seq = 300, .ack = 100);
	/* 5 */
	EXPECT_SEG(&a, F_RST, 100, 0);
	EXPECT_STATE(ca, TCP_S_SYN_SENT);
	peer_send(&pa, .flags = F_RST, .seq = 100, .wnd = 0);
	/* 6 */
	TT_EQ(host_count_ev(&b, TCP_EV_CLOSED), 1);
	TT_EQ(host_closed_err(&b), TCP_ECONNRESET);
	EXPECT_STATE(cb, TCP_S_CLOSED);
	TT_EQ(host_stats(&b).EstabResets, 1);
	/* 7: A's SYN timer: the SYN again after the initial RTO */
	tcp_timeout(a.s, T0 + TCP_SEC(1));
	EXPECT_SEG(&a, F_SYN, 400, 0);
	peer_send(&pa, .flags = F_SYN, .seq = 400, .now = T0 + TCP_SEC(1));
	EXPECT_SEG(&b, F_SYN | F_ACK, 299, 401); /* the listener answers (ISN hook still 299) */
	tcp_release(cb, T0 + TCP_SEC(1));
	host_free(&a);
	host_free(&b);
}

/* Figure: active side causes half-open connection discovery.
 *   1. (CRASH)                                    (send 300,receive 100)
 *   2. (??)    <-- <SEQ=300><ACK=100><DATA=10><CTL=ACK> <-- ESTABLISHED
 *   3.         --> <SEQ=100><CTL=RST>                   --> (ABORT!!) */
TT_TEST(test_fig_half_open_data_rst_abort)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct peer pa = PEER(&b);
	host_free(&a);
	TT_EQ(host_init(&a, 1, NULL), 0);
	/* 2 */
	TT_EQ(tcp_send(cb, "0123456789", 10, T0), 10);
	EXPECT_SEG_WL(&b, F_ACK | F_PSH, 300, 100, 8192, 10);
	peer_send(&pb, .seq = 300, .ack = 100, .data = "0123456789");
	/* 3 */
	EXPECT_SEG(&a, F_RST, 100, 0);
	TT_EQ(host_stats(&a).OutRsts, 1);
	peer_send(&pa, .flags = F_RST, .seq = 100, .wnd = 0);
	TT_EQ(host_closed_err(&b), TCP_ECONNRESET);
	TT_EQ(tcp_send(cb, "x", 1, T0), TCP_ECONNRESET);
	tcp_release(cb, T0);
	host_free(&a);
	host_free(&b);
}

/* Figure: old duplicate SYN initiates a reset on two passive sockets.
 *   1. LISTEN                                   LISTEN
 *   2.      ... <SEQ=Z><CTL=SYN>                --> SYN-RECEIVED
 *   3. (??) <-- <SEQ=X><ACK=Z+1><CTL=SYN,ACK>   <-- SYN-RECEIVED
 *   4.      --> <SEQ=Z+1><CTL=RST>              --> (return to LISTEN!)
 *   5. LISTEN                                   LISTEN */
TT_TEST(test_fig_old_syn_listen_rst)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer pa = PEER(&b);
	struct tcp_listener *la, *lb;
	TT_EQ(tcp_listen(a.s, 1000, 4, NULL, &la), 0);
	TT_EQ(tcp_listen(b.s, 80, 4, NULL, &lb), 0);
	const uint32_t Z = 5000, X = 7000;
	b.isn = X;
	/* 2 */
	peer_send(&pa, .flags = F_SYN, .seq = Z);
	EXPECT_STATE(host_any_conn(&b), TCP_S_SYN_RECEIVED);
	/* 3 */
	TT_EQ(host_deliver_one(&b, &a, T0), 1);
	/* 4 */
	EXPECT_SEG(&a, F_RST, Z + 1, 0);
	TT_EQ(host_nconns(&a), 0);
	peer_send(&pa, .flags = F_RST, .seq = Z + 1, .wnd = 0);
	/* 5 */
	TT_EQ(host_nconns(&b), 0);
	EXPECT_NONE(&b);
	/* both still listen */
	peer_send(&pa, .flags = F_SYN, .seq = Z + 10);
	EXPECT_SEG(&b, F_SYN | F_ACK, X, Z + 11);
	host_free(&a);
	host_free(&b);
}

/* SYN-SENT: data and FIN on the SYN,ACK are processed ("continue
 * processing at the sixth step"). */
TT_TEST(test_syn_sent_synack_with_data_and_fin)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	struct tcp_conn *ca;
	a.isn = 100;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &ca), 0);
	EXPECT_SEG(&a, F_SYN, 100, 0);
	peer_send(&pb, .flags = F_SYN | F_ACK | F_FIN, .seq = 300, .ack = 101, .data = "abc");
	EXPECT_STATE(ca, TCP_S_CLOSE_WAIT);
	EXPECT_SEG(&a, F_ACK, 101, 305);
	EXPECT_NONE(&a);
	char buf[8];
	TT_EQ(tcp_recv(ca, buf, sizeof buf, T0), 3);
	TT_EQ(tcp_recv(ca, buf, sizeof buf, T0), 0);
	TT_EQ(host_count_ev(&a, TCP_EV_PEER_FIN), 1);
	host_free(&a);
}

/* A duplicate SYN in SYN-RECEIVED (our SYN,ACK was lost) is answered with
 * the SYN,ACK again. */
TT_TEST(test_syn_received_duplicate_syn_resends_synack)
{
	struct host b;
	struct peer pa;
	TT_EQ(fx_listen(&b, &pa), 0);
	b.isn = 300;
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	peer_send(&pa, .flags = F_SYN, .seq = 100, .now = T0 + 10);
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	EXPECT_STATE(host_any_conn(&b), TCP_S_SYN_RECEIVED);
	TT_EQ(host_nconns(&b), 1);
	host_free(&b);
}

/* Listener backlog: SYN-RECEIVED TCBs count; when full and SYN cookies
 * are off (cfg.syncookies = 0; with them see test_syncookie.c), the
 * oldest half-open TCB is recycled for the new SYN (RFC 4987 3.4), so a
 * SYN flood does not lock out legitimate clients. */
TT_TEST(test_listen_backlog_overflow_recycles_oldest)
{
	struct host b;
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.syncookies = 0;
	TT_EQ(host_init(&b, 2, &cfg), 0);
	struct peer pa = PEER(&b, .port = 1001, .hport = 80);
	struct tcp_listener *l, *l2;
	TT_EQ(tcp_listen(b.s, 80, 2, NULL, &l), 0);
	TT_EQ(tcp_listen(b.s, 80, 2, NULL, &l2), TCP_EADDRINUSE);
	b.isn = 0;
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	peer_send(&pa, .sport = 1002, .flags = F_SYN, .seq = 100);
	TT_EQ(peer_send(&pa, .sport = 1003, .flags = F_SYN, .seq = 100), 0);
	TT_EQ(host_nconns(&b), 2);
	TT_EQ(host_stats(&b).DropListenOverflow, 1);
	host_drop_all(&b);
	/* 1001 was recycled: its ACK now finds no TCB, LISTEN answers RST */
	peer_send(&pa, .seq = 101, .ack = 1);
	EXPECT_SEG(&b, F_RST, 1, 0);
	TT_ASSERT(b.accepted == NULL);
	/* 1002 and 1003 complete */
	peer_send(&pa, .sport = 1003, .seq = 101, .ack = 1);
	TT_ASSERT(b.accepted != NULL);
	/* a flood of 100 more: the listener still answers each */
	for (uint16_t p = 2000; p < 2100; p++) {
		peer_send(&pa, .sport = p, .flags = F_SYN, .seq = 100);
		EXPECT_SEG(&b, F_SYN | F_ACK, 0, 101);
	}
	TT_EQ(host_nconns(&b), 3); /* two half-open + the accepted one */
	/* unlisten resets the two not yet accepted */
	tcp_unlisten(l, T0);
	TT_EQ(host_nconns(&b), 1);
	EXPECT_SEG(&b, F_RST | F_ACK, 1, 101);
	EXPECT_SEG(&b, F_RST | F_ACK, 1, 101);
	EXPECT_NONE(&b);
	host_free(&b);
}

/* Ephemeral ports come from 49152-65535 and skip tuples in use. */
TT_TEST(test_ephemeral_ports)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct tcp_conn *c[20];
	for (int i = 0; i < 20; i++) {
		TT_EQ(tcp_connect(a.s, &PB, 80, 0, NULL, NULL, T0, &c[i]), 0);
		struct tcp_conn_info info;
		TT_EQ(tcp_conn_info(c[i], &info), 0);
		TT_ASSERT(info.local_port >= 49152);
		for (int j = 0; j < i; j++) {
			struct tcp_conn_info o;
			tcp_conn_info(c[j], &o);
			TT_ASSERT(o.local_port != info.local_port);
			TT_ASSERT(o.id != info.id);
		}
	}
	struct tcp_conn *dup;
	struct tcp_conn_info info;
	tcp_conn_info(c[0], &info);
	TT_EQ(tcp_connect(a.s, &PB, 80, info.local_port, NULL, NULL, T0, &dup), TCP_EEXIST);
	host_free(&a);
}

/* RFC 9293 3.4.1: ISN = M + F(): 4 us clock plus a keyed hash. */
TT_TEST(test_isn_clock_and_hash)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	tcp_stack_set_isn_hook(a.s, NULL, NULL);
	struct tcp_conn *c1, *c2, *c3;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0, &c1), 0);
	EXPECT_SEG(&a, F_SYN, a.seg.seq, 0);
	uint32_t i1 = a.seg.seq;
	tcp_abort(c1, T0);
	/* same tuple 4 ms later: ISN advanced by 1000 (4 us ticks) */
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, T0 + 4000, &c2), 0);
	EXPECT_SEG(&a, F_SYN, i1 + 1000, 0);
	/* another tuple: a different F() */
	TT_EQ(tcp_connect(a.s, &PB, 80, 1001, NULL, NULL, T0 + 4000, &c3), 0);
	TT_ASSERT(host_pop(&a));
	TT_ASSERT(a.seg.seq != i1 + 1000);
	host_free(&a);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

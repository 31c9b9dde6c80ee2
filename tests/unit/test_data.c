/*
 * test_data.c - data transfer through two engine stacks: segmentation by
 * MSS and window, flow control and zero-window probing, out-of-order
 * reassembly, delayed ACKs, Nagle, loss recovery; byte-exact checks.
 */
#include "peer.h"
#include "tcp_cc.h"


struct xfer {
	struct tcp_conn *snd, *rcv;
	size_t total, sent, recvd;
	int close_after, closed_sent, eof, bad;
	int read_enabled;
};

static int xfer_step(void *arg, tcp_time_t now)
{
	struct xfer *x = arg;
	uint8_t buf[8192];
	while (x->sent < x->total) {
		size_t n = x->total - x->sent;
		if (n > sizeof buf)
			n = sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = peer_pattern(x->sent + i);
		ssize_t r = tcp_send(x->snd, buf, n, now);
		if (r <= 0)
			break;
		x->sent += (size_t)r;
	}
	if (x->sent == x->total && x->close_after && !x->closed_sent) {
		tcp_close(x->snd, now);
		x->closed_sent = 1;
	}
	while (x->read_enabled) {
		ssize_t r = tcp_recv(x->rcv, buf, sizeof buf, now);
		if (r == 0) {
			x->eof = 1;
			break;
		}
		if (r < 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != peer_pattern(x->recvd + (size_t)i))
				x->bad = 1;
		x->recvd += (size_t)r;
	}
	return x->eof;
}

/* Every option on, 256 KiB buffers, a realistic MSS, RTO and delayed ACK. */
static void options_config(struct tcp_config *cfg)
{
	peer_options_config(cfg);
	cfg->send_buffer = 256 * 1024;
	cfg->recv_buffer = 256 * 1024;
	cfg->mss = 1452;
	cfg->rto_min = TCP_MS(200);
	cfg->delayed_ack = TCP_MS(40);
}

/* RFC 9438 5.8: "CUBIC does not increase its congestion window size if a
 * flow is currently limited by the application instead of the congestion
 * window" (RFC 7661 for NewReno).  One segment per RTT for 100 RTTs leaves
 * cwnd at the initial window; a bulk transfer then grows it. */
TT_TEST(data_app_limited_cwnd_does_not_grow)
{
	for (int algo = 0; algo < 2; algo++) {
		struct tcp_config cfg;
		options_config(&cfg);
		cfg.cc = algo ? TCP_CC_NEWRENO : TCP_CC_CUBIC;
		struct host a, b;
		struct tcp_conn *ca, *cb;
		TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
		struct tcp_conn_info info;
		TT_EQ(tcp_conn_info(ca, &info), 0);
		uint32_t iw = info.cwnd;
		TT_EQ(iw, tcp_cc_initial_window(info.mss));
		struct xfer x = { ca, cb, 0, 0, 0, 0, 0, 0, 0, 1 };
		tcp_time_t now = T0;
		for (int i = 0; i < 100; i++) {
			x.total += 1000;
			now = pair_run(&a, &b, now, now + TCP_MS(50), TCP_MS(5), NULL, NULL, xfer_step, &x);
			now += TCP_MS(10);
		}
		TT_EQ(x.recvd, 100000);
		TT_EQ(x.bad, 0);
		TT_EQ(tcp_conn_info(ca, &info), 0);
		TT_EQ(info.cwnd, iw);
		/* cwnd-limited now: slow start grows it */
		x.total += 1000000;
		pair_run(&a, &b, now, now + TCP_SEC(30), TCP_MS(5), NULL, NULL, xfer_step, &x);
		TT_EQ(x.recvd, 1100000);
		TT_EQ(tcp_conn_info(ca, &info), 0);
		TT_ASSERT(info.cwnd > 4 * iw);
		host_free(&a);
		host_free(&b);
	}
}

/* 2 MB one way with every option on, then FIN; both sides end cleanly. */
TT_TEST(data_bulk_transfer_with_options)
{
	struct tcp_config cfg;
	options_config(&cfg);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg, .peer_isn = 1000, .isn = 2000), 0);
	struct tcp_conn_info info;
	TT_EQ(tcp_conn_info(ca, &info), 0);
	TT_EQ(info.ts_ok, 1);
	TT_EQ(info.sack_ok, 1);
	TT_EQ(info.snd_wscale, 3); /* 256 KiB >> 3 fits 16 bits */
	TT_EQ(info.mss, 1452 - 12);
	struct xfer x = { ca, cb, 2u << 20, 0, 0, 1, 0, 0, 0, 1 };
	tcp_time_t now = pair_run(&a, &b, T0, T0 + TCP_SEC(60), TCP_MS(5), NULL, NULL, xfer_step, &x);
	TT_EQ(x.bad, 0);
	TT_EQ(x.recvd, x.total);
	TT_EQ(x.eof, 1);
	EXPECT_STATE(cb, TCP_S_CLOSE_WAIT);
	tcp_close(cb, now);
	pair_run(&a, &b, now, now + TCP_SEC(1), TCP_MS(5), NULL, NULL, NULL, NULL);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	EXPECT_STATE(cb, TCP_S_CLOSED);
	TT_EQ(tcp_conn_info(ca, &info), 0);
	TT_EQ(info.bytes_acked, x.total);
	/* virtual RTT 5 ms, plus at most the 40 ms ACK delay */
	TT_ASSERT(info.srtt >= TCP_MS(5) && info.srtt <= TCP_MS(45));
	TT_EQ(info.rto, TCP_MS(200)); /* RFC 6298 (2.4) floor from cfg.rto_min */
	TT_EQ(info.retransmits, 0);
	TT_ASSERT(info.cwnd > 10 * info.mss); /* slow start grew it */
	host_free(&a);
	host_free(&b);
}

static int drop_every_nth(void *arg, const struct host *from, const uint8_t *buf, size_t len)
{
	unsigned *n = arg;
	(void)buf;
	if (from->ep.addr[3] != 1 || len <= 60)
		return 0; /* only A's data segments */
	return (++*n % 37) == 0;
}

/* Loss: NewReno/SACK recovery and RTO still deliver every byte in order. */
TT_TEST(data_transfer_with_loss)
{
	struct tcp_config cfg;
	options_config(&cfg);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg, .peer_isn = 1000, .isn = 2000), 0);
	struct xfer x = { ca, cb, 1u << 20, 0, 0, 1, 0, 0, 0, 1 };
	unsigned n = 0;
	pair_run(&a, &b, T0, T0 + TCP_SEC(300), TCP_MS(5), drop_every_nth, &n, xfer_step, &x);
	TT_EQ(x.bad, 0);
	TT_EQ(x.recvd, x.total);
	TT_EQ(x.eof, 1);
	struct tcp_stats st = host_stats(&a);
	TT_ASSERT(st.RetransSegs > 0);
	TT_ASSERT(st.FastRetransmits > 0);
	TT_ASSERT(st.SackRecoveries > 0);
	host_free(&a);
	host_free(&b);
}

/* CUBIC (the default) with SACK through loss. */
TT_TEST(data_transfer_with_loss_cubic)
{
	struct tcp_config cfg;
	options_config(&cfg);
	cfg.cc = TCP_CC_CUBIC;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg, .peer_isn = 1000, .isn = 2000), 0);
	struct tcp_conn_info info;
	tcp_conn_info(ca, &info);
	TT_STREQ(info.cc_name, "cubic");
	struct xfer x = { ca, cb, 1u << 20, 0, 0, 1, 0, 0, 0, 1 };
	unsigned n = 0;
	pair_run(&a, &b, T0, T0 + TCP_SEC(300), TCP_MS(5), drop_every_nth, &n, xfer_step, &x);
	TT_EQ(x.bad, 0);
	TT_EQ(x.recvd, x.total);
	TT_EQ(x.eof, 1);
	TT_ASSERT(host_stats(&a).SackRecoveries > 0);
	host_free(&a);
	host_free(&b);
}

/* The same without SACK and timestamps (plain NewReno). */
TT_TEST(data_transfer_with_loss_plain)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.send_buffer = cfg.recv_buffer = 64 * 1024;
	cfg.rto_min = TCP_MS(200);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg, .peer_isn = 0xfffff000u, .isn = 2000), 0);
	struct xfer x = { ca, cb, 512u * 1024, 0, 0, 1, 0, 0, 0, 1 };
	unsigned n = 0;
	pair_run(&a, &b, T0, T0 + TCP_SEC(300), TCP_MS(5), drop_every_nth, &n, xfer_step, &x);
	TT_EQ(x.bad, 0);
	TT_EQ(x.recvd, x.total); /* across the 2^32 wrap of A's sequence space */
	TT_EQ(x.eof, 1);
	TT_ASSERT(host_stats(&a).RetransSegs > 0);
	host_free(&a);
	host_free(&b);
}

/* Out-of-order segments are held and delivered when the hole fills; the
 * ACK for out-of-order data is immediate and carries SACK blocks. */
TT_TEST(data_out_of_order_reassembly_and_sack)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.sack = 1;
	cfg.delayed_ack = TCP_MS(40);
	struct host b;
	struct peer pa;
	TT_EQ(fx_listen(&b, &pa, .cfg = &cfg), 0);
	uint8_t buf[256];
	b.isn = 300;
	peer_send(&pa, .flags = F_SYN, .seq = 100, .sack_perm = 1, .has_mss = 1, .mss = 1000);
	EXPECT_SEG(&b, F_SYN | F_ACK, 300, 101);
	TT_EQ(b.seg.sack_perm, 1);
	peer_send(&pa, .seq = 101, .ack = 301);
	struct tcp_conn *cb = b.accepted;
	TT_ASSERT(cb != NULL);
	/* bytes 101..110 "0123456789", 111..120 "abcdefghij", 121..130 "ABCDEFGHIJ" */
	peer_send(&pa, .seq = 121, .ack = 301, .data = "ABCDEFGHIJ");
	EXPECT_SEG(&b, F_ACK, 301, 101);
	TT_EQ(b.seg.nsack, 1);
	TT_EQ(b.seg.sack[0].start, 121);
	TT_EQ(b.seg.sack[0].end, 131);
	TT_EQ(b.seg.wnd, 8192); /* window from RCV.NXT is unchanged */
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), TCP_EAGAIN);
	/* overlapping duplicate of part of the held block plus new bytes */
	peer_send(&pa, .seq = 116, .ack = 301, .data = "fghijABCDE");
	EXPECT_SEG(&b, F_ACK, 301, 101);
	TT_EQ(b.seg.nsack, 1);
	TT_EQ(b.seg.sack[0].start, 116);
	TT_EQ(b.seg.sack[0].end, 131);
	/* the hole fills: the ACK covers everything, at once */
	peer_send(&pa, .seq = 101, .ack = 301, .data = "0123456789abcde");
	EXPECT_SEG(&b, F_ACK, 301, 131);
	TT_EQ(b.seg.nsack, 0);
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), 30);
	TT_MEMEQ(buf, "0123456789abcdefghijABCDEFGHIJ", 30);
	/* a duplicate of old data: immediate ACK, nothing delivered */
	peer_send(&pa, .seq = 101, .ack = 301, .data = "0123456789");
	EXPECT_SEG(&b, F_ACK, 301, 131);
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), TCP_EAGAIN);
	/* a FIN beyond a hole waits for the data */
	peer_send(&pa, .flags = F_ACK | F_FIN, .seq = 141, .ack = 301, .data = "klmnopqrst");
	EXPECT_SEG(&b, F_ACK, 301, 131);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	peer_send(&pa, .seq = 131, .ack = 301, .data = "KLMNOPQRST");
	EXPECT_SEG(&b, F_ACK, 301, 152);
	EXPECT_STATE(cb, TCP_S_CLOSE_WAIT);
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), 20);
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), 0);
	host_free(&b);
}

/* The out-of-order map is bounded: beyond its ranges, segments are
 * dropped and counted (DropRcvBufFull); filling the holes still works. */
TT_TEST(data_out_of_order_memory_bound)
{
	struct host b;
	struct peer pa;
	TT_EQ(fx_listen(&b, &pa), 0);
	b.isn = 300;
	peer_send(&pa, .flags = F_SYN, .seq = 100);
	peer_send(&pa, .seq = 101, .ack = 301);
	struct tcp_conn *cb = b.accepted;
	TT_ASSERT(cb != NULL);
	/* 40 islands: bytes 101+20k+10 .. +20, holes between */
	for (uint32_t k = 0; k < 40; k++)
		peer_send(&pa, .seq = 111 + 20 * k, .ack = 301, .data = "ABCDEFGHIJ");
	TT_EQ(host_stats(&b).DropRcvBufFull, 8);
	/* fill every hole in order: the first 32 islands join the stream */
	for (uint32_t k = 0; k < 40; k++)
		peer_send(&pa, .seq = 101 + 20 * k, .ack = 301, .data = "0123456789");
	struct tcp_conn_info info;
	tcp_conn_info(cb, &info);
	TT_EQ(info.rcv_nxt, 101 + 20 * 32 + 10);
	char buf[1024];
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), 20 * 32 + 10);
	TT_MEMEQ(buf, "0123456789ABCDEFGHIJ0123456789", 30);
	host_free(&b);
}

/* RFC 9293 3.8.6.3 / RFC 5681 4.2 delayed ACK: one segment waits for the
 * timer, the second full-sized one is ACKed at once. */
TT_TEST(data_delayed_ack)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.delayed_ack = TCP_MS(40);
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pa = PEER(&b);
	char d[1000];
	memset(d, 'd', sizeof d);
	d[sizeof d - 1] = 0;
	peer_send(&pa, .seq = 100, .ack = 300, .data = "small");
	EXPECT_NONE(&b);
	TT_EQ(tcp_next_deadline(b.s), T0 + TCP_MS(40));
	tcp_timeout(b.s, T0 + TCP_MS(40));
	EXPECT_SEG(&b, F_ACK, 300, 105);
	TT_EQ(host_stats(&b).DelayedAcks, 1);
	/* two full-sized segments (MSS 1000): ACK on the second */
	memset(d, 'x', 1000);
	peer_send(&pa, .seq = 105, .ack = 300, .data = d, .len = 1000, .now = T0 + TCP_MS(50));
	EXPECT_NONE(&b);
	peer_send(&pa, .seq = 1105, .ack = 300, .data = d, .len = 1000, .now = T0 + TCP_MS(51));
	EXPECT_SEG(&b, F_ACK, 300, 2105);
	EXPECT_NONE(&b);
	TT_EQ(tcp_next_deadline(b.s), TCP_TIME_NEVER);
	host_free(&a);
	host_free(&b);
}

/* Nagle (RFC 9293 3.7.4): small writes wait while data is unacknowledged;
 * nodelay sends at once. */
TT_TEST(data_nagle)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.nodelay = 0;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct peer pb = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	TT_EQ(tcp_send(ca, "a", 1, T0), 1);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 100, 300, 8192, 1);
	TT_EQ(tcp_send(ca, "b", 1, T0), 1);
	TT_EQ(tcp_send(ca, "c", 1, T0), 1);
	EXPECT_NONE(&a);
	peer_send(&pb, .seq = 300, .ack = 101, .now = T0 + 10);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 101, 300, 8192, 2);
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	o.nodelay = 1;
	TT_EQ(tcp_conn_set_opts(ca, &o), 0);
	TT_EQ(tcp_send(ca, "d", 1, T0 + 20), 1);
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 103, 300, 8192, 1);
	host_free(&a);
	host_free(&b);
}

/* Flow control: the sender fills the receiver's window and stops; the
 * zero window is probed with backoff (RFC 9293 3.8.6.1), each probe one
 * octet of new data at SND.NXT (3.8.6: "send at least one octet of new
 * data even if the send window is zero"), which the receiver refuses with
 * an ACK of its zero window; the probes do not touch cwnd; reading opens
 * the window (receiver SWS avoidance) and the transfer completes. */
TT_TEST(data_zero_window_probe_and_reopen)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.recv_buffer = 4096;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct xfer x = { ca, cb, 10000, 0, 0, 0, 0, 0, 0, 0 };
	tcp_time_t now = pair_run(&a, &b, T0, T0 + TCP_SEC(2), TCP_MS(1), NULL, NULL, xfer_step, &x);
	struct tcp_conn_info ia, ib;
	tcp_conn_info(ca, &ia);
	tcp_conn_info(cb, &ib);
	/* 4000 bytes in MSS segments, the last 96 only after the SWS
	 * override (persist) timeout */
	TT_EQ(ib.recv_queue, 4096);
	TT_EQ(ib.rcv_wnd, 0);
	TT_EQ(ia.snd_wnd, 0);
	TT_EQ(ia.snd_una, 100 + 4096);
	TT_EQ(host_stats(&a).ZeroWindowProbes, 0);
	/* probes at RTO, then 2*RTO, 4*RTO... */
	tcp_time_t t1 = tcp_next_deadline(a.s);
	TT_ASSERT(t1 > now && t1 != TCP_TIME_NEVER);
	TT_EQ(t1 - now, ia.rto);
	tcp_timeout(a.s, t1);
	EXPECT_SEG_WL(&a, F_ACK, 100 + 4096, 300, 4096, 1);
	/* the receiver answers with its (still zero) window, keeping nothing */
	host_forward_last(&a, &b, t1);
	EXPECT_SEG_WL(&b, F_ACK, 300, 100 + 4096, 0, 0);
	host_forward_last(&b, &a, t1);
	EXPECT_NONE(&a);
	tcp_time_t t2 = tcp_next_deadline(a.s);
	TT_EQ(t2 - t1, ia.rto);
	tcp_timeout(a.s, t2);
	EXPECT_SEG_WL(&a, F_ACK, 100 + 4096, 300, 4096, 1);
	host_forward_last(&a, &b, t2);
	EXPECT_SEG_WL(&b, F_ACK, 300, 100 + 4096, 0, 0);
	host_forward_last(&b, &a, t2);
	tcp_time_t t3 = tcp_next_deadline(a.s);
	TT_EQ(t3 - t2, 2 * (t2 - t1));
	tcp_timeout(a.s, t3);
	EXPECT_SEG_WL(&a, F_ACK, 100 + 4096, 300, 4096, 1);
	TT_EQ(tcp_next_deadline(a.s) - t3, 4 * (t2 - t1));
	TT_EQ(host_stats(&a).ZeroWindowProbes, 3);
	/* probes are not congestion: cwnd as before, still ESTABLISHED */
	struct tcp_conn_info ia2;
	tcp_conn_info(ca, &ia2);
	TT_EQ(ia2.cwnd, ia.cwnd);
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	host_drop_all(&a);
	tcp_time_t t = t3;
	/* reading a little does not open the window (SWS avoidance), reading
	 * more does */
	char buf[4096];
	TT_EQ(tcp_recv(cb, buf, 100, t), 100);
	EXPECT_NONE(&b);
	TT_EQ(tcp_recv(cb, buf, 2000, t), 2000);
	EXPECT_SEG_WL(&b, F_ACK, 300, 100 + 4096, 2100, 0);
	/* and everything arrives */
	x.read_enabled = 1;
	x.recvd = 2100;
	pair_run(&a, &b, t, t + TCP_SEC(30), TCP_MS(1), NULL, NULL, xfer_step, &x);
	TT_EQ(x.recvd, 10000);
	TT_EQ(x.bad, 0);
	host_free(&a);
	host_free(&b);
}

/* The send buffer bounds tcp_send; TCP_EV_WRITABLE follows the ACK. */
TT_TEST(data_send_buffer_full_then_writable)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.send_buffer = 4096;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	char d[5000];
	memset(d, 'z', sizeof d);
	TT_EQ(tcp_send(ca, d, sizeof d, T0), 4096);
	TT_EQ(tcp_send(ca, d, 1, T0), 0);
	TT_EQ(host_count_ev(&a, TCP_EV_WRITABLE), 0);
	host_deliver(&a, &b, T0 + 1);
	host_deliver(&b, &a, T0 + 2);
	TT_EQ(host_count_ev(&a, TCP_EV_WRITABLE), 1);
	TT_EQ(tcp_send(ca, d, sizeof d, T0 + 3), 4096);
	host_free(&a);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

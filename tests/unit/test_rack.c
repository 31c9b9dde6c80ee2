/*
 * test_rack.c - RACK-TLP loss detection (RFC 8985) and the switch back to
 * RFC 6675 (cfg.loss_detection): time-based loss marks after the
 * reordering window, lost retransmissions found without an RTO, the tail
 * loss probe, the reordering window widened by D-SACK.
 *
 * The host (A, MSS 1000, NewReno, RTO 1 s, SACK) sends; a scripted peer
 * acknowledges with SACK blocks.  Every time is virtual and exact.
 */
#include "peer.h"
#include "tcp_rack.h" /* TCP_RACK_PTO_SLACK */

static int setup(struct host *a, struct peer *p, struct tcp_conn **c, int mode)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.send_buffer = 65536;
	cfg.loss_detection = (enum tcp_loss_detection)mode;
	return fx_active(a, p, c, .cfg = &cfg, .sack = 1, .mss = 1000, .wnd = 60000);
}

/* Queue n octets and take the segments A sends at `now`. */
static int send_pop(struct host *a, struct tcp_conn *c, size_t n, tcp_time_t now)
{
	static char d[20000];
	memset(d, 'r', sizeof d);
	if (tcp_send(c, d, n, now) != (ssize_t)n)
		return -1;
	int segs = 0;
	while (host_pop(a))
		segs++;
	return segs;
}

/* The peer acknowledges everything up to `ack`: nothing is left
 * outstanding, no timer runs.  0 or the failed check. */
static int all_acked(struct peer *p, struct tcp_conn *c, uint32_t ack, tcp_time_t now)
{
	peer_send_sack(p, ack, NULL, 0, now);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	if (info.snd_una != ack)
		return -1;
	return tcp_next_deadline(p->h->s) == TCP_TIME_NEVER ? 0 : -2;
}

/* Three segments at T0; at T0 + 10 ms the peer SACKs the second: RTT
 * 10 ms, the first is lost once RACK.reo_wnd = RACK.min_RTT / 4 = 2.5 ms
 * has passed (the reordering timer), not before.  0 or the failed step. */
static int hole_after_reo_wnd(struct host *a, struct peer *p, struct tcp_conn *c)
{
	if (send_pop(a, c, 3000, T0) != 3)
		return -1;
	peer_send_sack(p, 101, (uint32_t[]){ 1101, 2101 }, 1, T0 + TCP_MS(10));
	if (host_pop(a))
		return -2;
	if (tcp_next_deadline(a->s) != T0 + TCP_MS(10) + 2500)
		return -3;
	host_run_timers(a, T0 + TCP_MS(12));
	if (host_pop(a))
		return -4;
	host_run_timers(a, T0 + TCP_MS(13));
	if (!host_pop(a) || a->seg.seq != 101 || a->seg.len != 1000)
		return -5;
	return 0;
}

/* RFC 8985 6.2: one segment SACKed above a hole (one duplicate ACK, far
 * from DupThresh): RACK marks the hole lost once RACK.reo_wnd =
 * RACK.min_RTT / 4 has passed since the SACKed segment's RTT - at
 * T0 + 10 ms + 2.5 ms - and fast recovery retransmits it. */
TT_TEST(rack_marks_lost_after_reo_wnd)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_LOSS_RACK), 0);
	TT_EQ(hole_after_reo_wnd(&a, &p, c), 0);
	EXPECT_NONE(&a);
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.RackLost, 1);
	TT_EQ(st.FastRetransmits, 1);
	TT_EQ(st.Timeouts, 0);
	/* the repair arrives: recovery ends, nothing is outstanding */
	TT_EQ(all_acked(&p, c, 3101, T0 + TCP_MS(23)), 0);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.retransmits, 1);
	host_free(&a);
}

/* The same ACK with loss_detection = rfc6675: one duplicate ACK is below
 * DupThresh (RFC 6675 5 (2)), so nothing goes until the RTO (1 s from the
 * first transmission, RFC 6298 (5.1)). */
TT_TEST(rack_rfc6675_switch_waits_for_dupthresh)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_LOSS_RFC6675), 0);
	TT_EQ(send_pop(&a, c, 3000, T0), 3);
	peer_send_sack(&p, 101, (uint32_t[]){ 1101, 2101 }, 1, T0 + TCP_MS(10));
	EXPECT_NONE(&a);
	TT_EQ(tcp_next_deadline(a.s), T0 + TCP_SEC(1));
	host_run_timers(&a, T0 + TCP_MS(999));
	EXPECT_NONE(&a);
	host_run_timers(&a, T0 + TCP_SEC(1));
	EXPECT_SEG_WL(&a, F_ACK, 101, 301, 8192, 1000);
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.RackLost, 0);
	TT_EQ(st.FastRetransmits, 0);
	TT_EQ(st.Timeouts, 1);
	host_free(&a);
}

/* A lost retransmission (RFC 8985 6.2 step 5): 101 is lost, its
 * fast retransmission at 10 ms is lost too; new data sent at 20 ms is
 * SACKed at 30 ms, so the retransmission, sent before it and one RACK.rtt
 * ago, is lost: 101 goes a third time at 30 ms, not after an RTO.
 * Returns the time of the third transmission of 101 (0: none by 3 s). */
static tcp_time_t lost_retransmission(struct host *a, struct peer *p, struct tcp_conn *c,
				      int *fail)
{
	*fail = 1;
	if (send_pop(a, c, 5000, T0) != 5)
		return 0;
	/* three SACKed above 101: lost at once (RFC 6675 and RACK alike) */
	peer_send_sack(p, 101, (uint32_t[]){ 1101, 4101 }, 1, T0 + TCP_MS(10));
	if (!host_pop(a) || a->seg.seq != 101 || a->seg.len != 1000 || host_pop(a))
		return 0;
	/* one more segment of data to send */
	if (send_pop(a, c, 1000, T0 + TCP_MS(15)) != 0)
		return 0;
	/* 4101 arrives: pipe has room for the new segment */
	peer_send_sack(p, 101, (uint32_t[]){ 1101, 5101 }, 1, T0 + TCP_MS(20));
	if (!host_pop(a) || a->seg.seq != 5101 || a->seg.len != 1000 || host_pop(a))
		return 0;
	/* the new segment arrives, the retransmission of 101 does not */
	peer_send_sack(p, 101, (uint32_t[]){ 1101, 6101 }, 1, T0 + TCP_MS(30));
	*fail = 0;
	for (tcp_time_t t = T0 + TCP_MS(30);; t = tcp_next_deadline(a->s)) {
		if (t > T0 + TCP_SEC(3))
			return 0;
		host_run_timers(a, t);
		while (host_pop(a))
			if (a->seg.seq == 101 && a->seg.len == 1000)
				return t;
	}
}

TT_TEST(rack_lost_retransmission_without_rto)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_LOSS_RACK), 0);
	int fail;
	tcp_time_t t = lost_retransmission(&a, &p, c, &fail);
	TT_EQ(fail, 0);
	TT_EQ(t, T0 + TCP_MS(30));
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.Timeouts, 0);
	TT_EQ(st.RackLost, 2); /* 101 twice */
	TT_EQ(st.FastRetransmits, 1);
	host_free(&a);
}

/* RFC 6675 retransmits a segment once per recovery (HighRxt): the lost
 * retransmission waits for the RTO, armed by the first transmission at T0
 * (RFC 6298 (5.1); no ACK advanced SND.UNA since). */
TT_TEST(rack_rfc6675_switch_lost_retransmission_waits_rto)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_LOSS_RFC6675), 0);
	int fail;
	tcp_time_t t = lost_retransmission(&a, &p, c, &fail);
	TT_EQ(fail, 0);
	TT_EQ(t, T0 + TCP_SEC(1));
	TT_EQ(host_stats(&a).Timeouts, 1);
	host_free(&a);
}

/* RFC 8985 7: the last two segments of a flight are lost and no SACK can
 * come.  The probe timeout, PTO = 2 * SRTT + TCP_RACK_PTO_SLACK (two
 * segments in flight, no WCDelAckT), resends the last segment; its ACK SACKs it, which shows the
 * earlier one lost: fast recovery, no RTO. */
TT_TEST(rack_tlp_probe_at_pto)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_LOSS_RACK), 0);
	TT_EQ(send_pop(&a, c, 3000, T0), 3);
	tcp_time_t t1 = T0 + TCP_MS(10);
	peer_send_sack(&p, 1101, NULL, 0, t1);
	EXPECT_NONE(&a);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_ASSERT(info.srtt > 0);
	tcp_time_t pto = t1 + 2 * info.srtt + TCP_RACK_PTO_SLACK;
	TT_EQ(tcp_next_deadline(a.s), pto);
	TT_ASSERT(pto < t1 + info.rto);
	host_run_timers(&a, pto - 1);
	EXPECT_NONE(&a);
	host_run_timers(&a, pto);
	/* TLP_send: no new data, so "the highest-sequence Segment sent" */
	EXPECT_SEG_WL(&a, F_ACK | F_PSH, 2101, 301, 8192, 1000);
	EXPECT_NONE(&a);
	TT_EQ(host_stats(&a).TlpProbes, 1);
	/* "the sender MUST re-arm the RTO timer": one RTO from the probe */
	TT_EQ(tcp_next_deadline(a.s), pto + info.rto);
	/* the probe's ACK: 2101 SACKed, 1101 sent before it is lost */
	peer_send_sack(&p, 1101, (uint32_t[]){ 2101, 3101 }, 1, pto + TCP_MS(10));
	EXPECT_SEG_WL(&a, F_ACK, 1101, 301, 8192, 1000);
	EXPECT_NONE(&a);
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.Timeouts, 0);
	TT_EQ(st.RackLost, 1);
	TT_EQ(st.FastRetransmits, 1);
	TT_EQ(all_acked(&p, c, 3101, pto + TCP_MS(20)), 0);
	host_free(&a);
}

/* Without RACK there is no probe: the tail waits for the RTO. */
TT_TEST(rack_rfc6675_switch_no_tlp)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_LOSS_RFC6675), 0);
	TT_EQ(send_pop(&a, c, 3000, T0), 3);
	tcp_time_t t1 = T0 + TCP_MS(10);
	peer_send_sack(&p, 1101, NULL, 0, t1);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(tcp_next_deadline(a.s), t1 + info.rto);
	host_run_timers(&a, t1 + info.rto);
	EXPECT_SEG_WL(&a, F_ACK, 1101, 301, 8192, 1000);
	TT_EQ(host_stats(&a).TlpProbes, 0);
	TT_EQ(host_stats(&a).Timeouts, 1);
	host_free(&a);
}

/* A RACK-TLP connection whose retransmission of 101 (hole_after_reo_wnd)
 * was spurious: the original was only late, everything is acknowledged at
 * T0 + 14 ms, then the retransmission arrives and the peer reports it as a
 * duplicate (D-SACK) at T0 + 20 ms.  0 or the failed step. */
static int dsack_after_spurious_rtx(struct host *a, struct peer *p, struct tcp_conn **c)
{
	if (setup(a, p, c, TCP_LOSS_RACK) != 0)
		return -1;
	if (hole_after_reo_wnd(a, p, *c) != 0)
		return -2;
	if (all_acked(p, *c, 3101, T0 + TCP_MS(14)) != 0)
		return -3;
	peer_send_sack(p, 3101, (uint32_t[]){ 101, 1101 }, 1, T0 + TCP_MS(20));
	return tcp_next_deadline(a->s) == TCP_TIME_NEVER ? 0 : -4;
}

/* RFC 8985 6.2 step 4: a D-SACK shows a spurious retransmission (the
 * network reordered 101 beyond RACK.reo_wnd): "RACK.reo_wnd_mult += 1",
 * so the next hole waits 2 * RACK.min_RTT / 4 = 5 ms instead of 2.5 ms. */
TT_TEST(rack_dsack_widens_reo_wnd)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(dsack_after_spurious_rtx(&a, &p, &c), 0);
	/* the next flight (cwnd is 2 segments after that recovery), the
	 * same hole */
	TT_EQ(send_pop(&a, c, 2000, T0 + TCP_MS(20)), 2);
	peer_send_sack(&p, 3101, (uint32_t[]){ 4101, 5101 }, 1, T0 + TCP_MS(30));
	EXPECT_NONE(&a);
	TT_EQ(tcp_next_deadline(a.s), T0 + TCP_MS(30) + TCP_MS(5));
	host_run_timers(&a, T0 + TCP_MS(34));
	EXPECT_NONE(&a);
	host_run_timers(&a, T0 + TCP_MS(35));
	EXPECT_SEG_WL(&a, F_ACK, 3101, 301, 8192, 1000);
	TT_EQ(host_stats(&a).RackLost, 2);
	host_free(&a);
}

/* An RTO with SACKed data above the holes: 8 segments at T0, 2101..8101
 * SACKed at 10 ms (six segments: 101 and 1101 are lost at once, RFC 6675
 * and RACK alike); recovery resends both and both are lost again; no ACK
 * comes until the RTO at T0 + 1 s.  From then on every segment arrives and
 * the peer acknowledges what it holds in order (with the SACK block while
 * a hole is left).  Returns a bit mask of the data segments A sent from
 * the RTO until all is acknowledged: bit k for the one at 101 + 1000 k. */
static unsigned rto_with_sacked(struct host *a, struct peer *p, struct tcp_conn *c, int *fail)
{
	*fail = 1;
	if (send_pop(a, c, 8000, T0) != 8)
		return 0;
	peer_send_sack(p, 101, (uint32_t[]){ 2101, 8101 }, 1, T0 + TCP_MS(10));
	while (host_pop(a))
		;
	if (tcp_next_deadline(a->s) != T0 + TCP_SEC(1))
		return 0;
	unsigned sent = 0;
	uint32_t held = 101; /* in order at the peer */
	tcp_time_t t = T0 + TCP_SEC(1);
	host_run_timers(a, t);
	for (int round = 0; round < 8 && held < 2101; round++) {
		int any = 0;
		while (host_pop(a)) {
			if (!a->seg.len)
				continue;
			any = 1;
			sent |= 1u << ((a->seg.seq - 101) / 1000);
			if (a->seg.seq <= held && a->seg.seq + (uint32_t)a->seg.len > held)
				held = a->seg.seq + (uint32_t)a->seg.len;
		}
		if (!any)
			break;
		t += TCP_MS(10);
		if (held >= 2101)
			peer_send_sack(p, 8101, NULL, 0, t);
		else
			peer_send_sack(p, held, (uint32_t[]){ 2101, 8101 }, 1, t);
	}
	*fail = 0;
	return sent;
}

/* RFC 8985 6.3: after the RTO, RACK resends what it marks lost (101 and
 * 1101), not the SACKed segments above them. */
TT_TEST(rack_rto_resends_only_lost)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_LOSS_RACK), 0);
	int fail;
	unsigned sent = rto_with_sacked(&a, &p, c, &fail);
	TT_EQ(fail, 0);
	TT_EQ(sent, 0x3u);
	TT_EQ(host_stats(&a).Timeouts, 1);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.snd_una, 8101);
	host_free(&a);
}

/* RFC 6675 5.1: the RTO clears the scoreboard and the retransmission goes
 * back to SND.UNA through the flight as cwnd allows (go-back-N): the
 * SACKed 2101 is sent again. */
TT_TEST(rack_rfc6675_switch_rto_go_back_n)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_LOSS_RFC6675), 0);
	int fail;
	unsigned sent = rto_with_sacked(&a, &p, c, &fail);
	TT_EQ(fail, 0);
	TT_EQ(sent, 0x7u);
	TT_EQ(host_stats(&a).Timeouts, 1);
	host_free(&a);
}

/* RFC 8985 6.2 step 1: "The sender SHOULD track a windowed min-filtered
 * estimate of recent RTT measurements that can adapt when migrating to
 * significantly longer paths rather than tracking a simple global minimum
 * of all RTT measurements" - here over TCP_RACK_MIN_RTT_WLEN (300 s). */
TT_TEST(rack_min_rtt_windowed)
{
	struct tcp_rack r;
	tcp_rack_init(&r);
	const tcp_time_t W = TCP_RACK_MIN_RTT_WLEN;
	/* the path moves from 10 ms to 50 ms: the old minimum holds for the
	 * window, then the longer path's */
	tcp_rack_min_rtt_sample(&r, TCP_MS(10), T0);
	for (tcp_time_t t = TCP_SEC(10); t <= W; t += TCP_SEC(10)) {
		tcp_rack_min_rtt_sample(&r, TCP_MS(50), T0 + t);
		TT_EQ(r.min_rtt, TCP_MS(10));
	}
	tcp_rack_min_rtt_sample(&r, TCP_MS(50), T0 + W + TCP_SEC(10));
	TT_EQ(r.min_rtt, TCP_MS(50));
	/* a shorter sample is the minimum at once */
	tcp_rack_min_rtt_sample(&r, TCP_MS(5), T0 + W + TCP_SEC(11));
	TT_EQ(r.min_rtt, TCP_MS(5));
	tcp_rack_free(&r);

	/* the runners-up: a minimum that ages out gives way to the best of
	 * the samples that came after it, not to the latest one */
	tcp_rack_init(&r);
	tcp_rack_min_rtt_sample(&r, TCP_MS(10), T0);
	tcp_rack_min_rtt_sample(&r, TCP_MS(20), T0 + TCP_SEC(100)); /* > W/4 later */
	tcp_rack_min_rtt_sample(&r, TCP_MS(30), T0 + TCP_SEC(200)); /* > W/2 later */
	TT_EQ(r.min_rtt, TCP_MS(10));
	tcp_rack_min_rtt_sample(&r, TCP_MS(40), T0 + TCP_SEC(301));
	TT_EQ(r.min_rtt, TCP_MS(20));
	tcp_rack_min_rtt_sample(&r, TCP_MS(50), T0 + TCP_SEC(401));
	TT_EQ(r.min_rtt, TCP_MS(30));
	tcp_rack_min_rtt_sample(&r, TCP_MS(45), T0 + TCP_SEC(402));
	TT_EQ(r.min_rtt, TCP_MS(30));
	/* no sample for a whole window: the next one starts over */
	tcp_rack_min_rtt_sample(&r, TCP_MS(70), T0 + TCP_SEC(1000));
	TT_EQ(r.min_rtt, TCP_MS(70));
	tcp_rack_free(&r);
}

/* RFC 8985 6.2 step 4, RACK_update_reo_wnd(): "Grow the reordering window
 * per round that sees DSACK. Reset the window after 16 DSACK-free
 * recoveries": a D-SACK sets RACK.reo_wnd_mult += 1 and
 * RACK.reo_wnd_persist = 16, once per round (RACK.dsack_round = SND.NXT);
 * each exit from fast or RTO recovery decrements the persistence, and at
 * 0 the multiplier is 1 again. */
TT_TEST(rack_reo_wnd_persist_16_recoveries)
{
	struct tcp_rack r;
	tcp_rack_init(&r);
	tcp_rack_min_rtt_sample(&r, TCP_MS(10), T0);
	const tcp_time_t srtt = TCP_MS(100);
	TT_EQ(tcp_rack_update_reo_wnd(&r, 1000, 5000, 0, 0, 0, srtt), TCP_MS(10) / 4);
	/* a D-SACK: x2 */
	TT_EQ(tcp_rack_update_reo_wnd(&r, 1000, 5000, 1, 0, 0, srtt), 2 * TCP_MS(10) / 4);
	TT_EQ(r.reo_wnd_persist, TCP_RACK_REO_WND_PERSIST);
	/* another in the same round (SND.UNA below RACK.dsack_round = 5000):
	 * no more */
	TT_EQ(tcp_rack_update_reo_wnd(&r, 4000, 6000, 1, 0, 0, srtt), 2 * TCP_MS(10) / 4);
	/* the round is over: the next D-SACK grows it again, x3 */
	TT_EQ(tcp_rack_update_reo_wnd(&r, 5000, 7000, 1, 0, 0, srtt), 3 * TCP_MS(10) / 4);
	/* 15 D-SACK-free recoveries end: still x3 */
	for (int i = 1; i < TCP_RACK_REO_WND_PERSIST; i++) {
		TT_EQ(tcp_rack_update_reo_wnd(&r, 8000 + (uint32_t)i, 9000, 0, 0, 1, srtt),
		      3 * TCP_MS(10) / 4);
		TT_EQ(r.reo_wnd_persist, TCP_RACK_REO_WND_PERSIST - i);
	}
	/* ACKs that end no recovery change nothing */
	TT_EQ(tcp_rack_update_reo_wnd(&r, 8100, 9000, 0, 0, 0, srtt), 3 * TCP_MS(10) / 4);
	/* the 16th: back to x1 */
	TT_EQ(tcp_rack_update_reo_wnd(&r, 8200, 9000, 0, 0, 1, srtt), TCP_MS(10) / 4);
	TT_EQ(r.reo_wnd_mult, 1);
	/* and it stays there, the persistence not running below 0 */
	for (int i = 0; i < 3; i++)
		TT_EQ(tcp_rack_update_reo_wnd(&r, 8300, 9000, 0, 0, 1, srtt), TCP_MS(10) / 4);
	TT_EQ(r.reo_wnd_persist, 0);
	tcp_rack_free(&r);
}

/* The reordering window of the next hole of a flight of two segments
 * sent at t, the second SACKed at t + 10 ms (RACK.rtt 10 ms): the RACK
 * timer's delay beyond t + 10 ms.  The first then arrives (it was late,
 * not lost): no recovery.  Returns the delay, 0 on a failed step. */
static tcp_time_t next_reo_wnd(struct host *a, struct peer *p, struct tcp_conn *c, tcp_time_t t)
{
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	uint32_t una = info.snd_una;
	if (send_pop(a, c, 2000, t) != 2)
		return 0;
	peer_send_sack(p, una, (uint32_t[]){ una + 1000, una + 2000 }, 1, t + TCP_MS(10));
	tcp_time_t d = tcp_next_deadline(a->s);
	if (host_pop(a) || d == TCP_TIME_NEVER || all_acked(p, c, una + 2000, t + TCP_MS(11)) != 0)
		return 0;
	return d - (t + TCP_MS(10));
}

/* One RTO recovery: a segment at t is not acknowledged; the tail loss
 * probe and then the retransmission timeout resend it; the peer
 * acknowledges it 10 ms after the RTO (no D-SACK).  Returns the time of
 * that ACK, 0 on a failed step. */
static tcp_time_t rto_recovery(struct host *a, struct peer *p, struct tcp_conn *c, tcp_time_t t)
{
	if (send_pop(a, c, 1000, t) != 1)
		return 0;
	uint64_t rtos = host_stats(a).Timeouts;
	tcp_time_t now = t;
	while (host_stats(a).Timeouts == rtos) {
		now = tcp_next_deadline(a->s);
		if (now == TCP_TIME_NEVER || now > t + TCP_SEC(10))
			return 0;
		host_run_timers(a, now);
		host_drop_all(a);
	}
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	if (all_acked(p, c, info.snd_nxt, now + TCP_MS(10)) != 0)
		return 0;
	return now + TCP_MS(10);
}

/* RFC 8985 6.2 step 4 in a connection: after the D-SACK of
 * rack_dsack_widens_reo_wnd the window is 2 * RACK.min_RTT / 4 = 5 ms;
 * it stays so through 15 RTO recoveries without D-SACK ("exiting Fast or
 * RTO recovery: RACK.reo_wnd_persist -= 1") and is 2.5 ms again after the
 * 16th. */
TT_TEST(rack_reo_wnd_persist_in_connection)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(dsack_after_spurious_rtx(&a, &p, &c), 0);
	/* RACK.reo_wnd is at most SRTT, and the handshake on the virtual
	 * clock measured 0: one round trip of 100 ms lifts SRTT above the
	 * windows compared here (RFC 6298 (2.3): 0 + 100 / 8 ms) */
	TT_EQ(send_pop(&a, c, 1000, T0 + TCP_MS(30)), 1);
	TT_EQ(all_acked(&p, c, 4101, T0 + TCP_MS(130)), 0);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_ASSERT(info.srtt > TCP_MS(5));
	tcp_time_t t = T0 + TCP_MS(140);
	TT_EQ(next_reo_wnd(&a, &p, c, t), TCP_MS(5));
	t += TCP_MS(20);
	uint64_t fast = host_stats(&a).FastRetransmits;
	for (int k = 1; k <= TCP_RACK_REO_WND_PERSIST; k++) {
		t = rto_recovery(&a, &p, c, t);
		TT_ASSERT(t != 0);
		TT_EQ(host_stats(&a).Timeouts, (uint64_t)k);
		t += TCP_MS(10);
		TT_EQ(next_reo_wnd(&a, &p, c, t), k < TCP_RACK_REO_WND_PERSIST ? TCP_MS(5) : 2500);
		t += TCP_MS(20);
	}
	/* the probes of the window were no recoveries, SRTT stayed above
	 * the windows */
	TT_EQ(host_stats(&a).FastRetransmits, fast);
	tcp_conn_info(c, &info);
	TT_ASSERT(info.srtt > TCP_MS(5));
	host_free(&a);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

/*
 * test_bbr.c - BBR congestion control (draft-ietf-ccwg-bbr, tcp_cc_bbr.c)
 * driven with synthetic rate samples: the windowed filters, each state
 * transition (Startup -> Drain -> ProbeBW DOWN/CRUISE/REFILL/UP ->
 * ProbeRTT and back), the exits on a bandwidth plateau and on loss, the
 * short-term model's answer to a lossy round, cwnd in recovery and after
 * an RTO, the pacing rate and send quantum.
 *
 * Expectations are computed here from the draft's formulas with the
 * scenario's literal numbers.  One call of ack() is one ACK; with
 * .round = 1 it is the first ACK of a new packet-timed round trip.
 */
#include <math.h>
#include <string.h>

#include "tcp_cc.h"
#include "tt.h"

/* ack(cc, .field = ...) lists the defaults first and the caller's after
 * them: C11 6.7.9p19, the last initializer of a member wins. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define MSS 1000u
#define SRTT TCP_MS(10)

static void setup(struct tcp_cc *cc)
{
	TT_EQ(tcp_cc_init(cc, TCP_CC_BBR, MSS, 0), 0);
	tcp_cc_bbr_start(cc, SRTT, 7, 0);
}

struct sample {
	tcp_time_t now;
	uint32_t bytes;       /* newly delivered */
	double rate;          /* RS.delivery_rate, bytes/s */
	tcp_time_t rtt;       /* RS.rtt, 0: none */
	uint32_t inflight;    /* C.inflight after the ACK, and RS.tx_in_flight */
	uint64_t lost;        /* RS.lost */
	uint32_t newly_lost;
	int app_limited;
	int round;            /* the ACK starts a new round */
};

static void ack_(struct tcp_cc *cc, const struct sample *s)
{
	struct tcp_rate_sample *rs = &cc->rs;
	tcp_rate_sample_init(rs);
	rs->has_data = 1;
	/* a segment sent after the round began (P.delivered >=
	 * BBR.next_round_delivered) ends the round; one sent before does not */
	rs->prior_delivered = s->round ? cc->rate.delivered : 0;
	cc->rate.delivered += s->bytes;
	rs->delivered = s->bytes;
	rs->newly_acked = s->bytes;
	rs->delivery_rate = s->rate;
	rs->rtt = s->rtt;
	rs->has_rtt = s->rtt != 0;
	rs->is_app_limited = (uint8_t)s->app_limited;
	rs->tx_in_flight = s->inflight;
	rs->lost = s->lost;
	rs->newly_lost = s->newly_lost;
	cc->inflight = s->inflight;
	cc->ops->on_rate_sample(cc, s->now);
}
#define ack(cc, ...) ack_((cc), &(struct sample){ .bytes = 10 * MSS, .rtt = SRTT, .round = 1, __VA_ARGS__ })

/* Startup to the plateau at 4 MB/s (BDP 40000 bytes at 10 ms), then
 * through Drain to ProbeBW: returns the time reached. */
static tcp_time_t to_probe_bw(struct tcp_cc *cc)
{
	setup(cc);
	static const double rates[] = { 1e6, 2e6, 4e6, 4e6, 4e6, 4e6 };
	tcp_time_t t = 0;
	for (unsigned i = 0; i < 6; i++) {
		t += SRTT;
		ack(cc, .now = t, .rate = rates[i], .inflight = 100000);
	}
	t += SRTT;
	ack(cc, .now = t, .rate = 4e6, .inflight = 30000);
	return t;
}

TT_TEST(bbr_winmax_filter)
{
	struct tcp_winmax m;
	tcp_winmax_reset(&m, 0, 0);
	TT_EQ(tcp_winmax_update(&m, 10, 0, 100), 100);
	TT_EQ(tcp_winmax_update(&m, 10, 1, 50), 100);
	TT_EQ(tcp_winmax_update(&m, 10, 5, 70), 100);
	/* t = 11: the 100 of t = 0 left the window (11 - 0 > 10); the best
	 * left in it is the 70 of t = 5 */
	TT_EQ(tcp_winmax_update(&m, 10, 11, 60), 70);
	/* t = 16: the 70 left too; the 60 of t = 11 remains */
	TT_EQ(tcp_winmax_update(&m, 10, 16, 10), 60);
	/* a new maximum replaces everything */
	TT_EQ(tcp_winmax_update(&m, 10, 17, 200), 200);
	TT_EQ(tcp_winmax_update(&m, 10, 18, 1), 200);
	/* nothing left in the window: the sample alone */
	TT_EQ(tcp_winmax_update(&m, 10, 100, 5), 5);
	/* window 1 (BBR's extra_acked in Startup): the round before counts */
	tcp_winmax_reset(&m, 0, 0);
	TT_EQ(tcp_winmax_update(&m, 1, 3, 9), 9);
	TT_EQ(tcp_winmax_update(&m, 1, 4, 2), 9);
	TT_EQ(tcp_winmax_update(&m, 1, 5, 3), 3);
}

TT_TEST(bbr_max_bw_filter_two_cycles)
{
	/* 2.10: "the current cycle and the previous full cycle" */
	struct tcp_bbr_bw_filter f;
	memset(&f, 0, sizeof f);
	TT_ASSERT(tcp_bbr_bw_filter_update(&f, 0, 100) == 100);
	TT_ASSERT(tcp_bbr_bw_filter_update(&f, 0, 90) == 100);
	TT_ASSERT(tcp_bbr_bw_filter_advance(&f, 1) == 100); /* the previous cycle's */
	TT_ASSERT(tcp_bbr_bw_filter_update(&f, 1, 80) == 100);
	TT_ASSERT(tcp_bbr_bw_filter_advance(&f, 2) == 80);  /* cycle 0 forgotten */
	TT_ASSERT(tcp_bbr_bw_filter_update(&f, 2, 85) == 85);
}

TT_TEST(bbr_init_pacing_and_quantum)
{
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, TCP_CC_BBR, MSS, 0), 0);
	TT_STREQ(cc.ops->name, "bbr");
	TT_EQ(cc.cwnd, 10 * MSS);          /* RFC 6928 IW */
	TT_EQ(cc.bbr.state, TCP_BBR_STARTUP);
	TT_ASSERT(cc.bbr.pacing_gain == 2.77 && cc.bbr.cwnd_gain == 2.0);
	/* 5.6.2 BBRInitPacingRate(): "nominal_bandwidth = C.InitialCwnd /
	 * (C.srtt ? C.srtt : 1ms); C.pacing_rate = BBR.StartupPacingGain *
	 * nominal_bandwidth" - no SRTT: 1 ms */
	TT_EQ(cc.pacing_rate, (uint64_t)(2.77 * 10000.0 * 1e6 / 1000.0));
	/* 5.6.3: pacing_rate * 1 ms, at most 64 KB, at least 2 SMSS */
	TT_EQ(cc.send_quantum, (uint32_t)(cc.pacing_rate / 1000));
	TT_EQ(cc.bbr.min_rtt, TCP_TIME_NEVER);
	tcp_cc_bbr_start(&cc, TCP_MS(100), 1, 0);
	TT_EQ(cc.pacing_rate, (uint64_t)(2.77 * 10000.0 * 1e6 / 100000.0));
	TT_EQ(cc.send_quantum, 2 * MSS);
	TT_EQ(cc.bbr.min_rtt, TCP_MS(100));
}

TT_TEST(bbr_startup_exits_on_plateau)
{
	struct tcp_cc cc;
	setup(&cc);
	/* rates growing >= 25% per round: still Startup, pacing only grows */
	ack(&cc, .now = TCP_MS(10), .rate = 1e6, .inflight = 100000);
	uint64_t p1 = cc.pacing_rate;
	ack(&cc, .now = TCP_MS(20), .rate = 2e6, .inflight = 100000);
	ack(&cc, .now = TCP_MS(30), .rate = 4e6, .inflight = 100000);
	TT_EQ(cc.bbr.state, TCP_BBR_STARTUP);
	TT_ASSERT(cc.pacing_rate >= p1);
	TT_EQ(cc.pacing_rate, (uint64_t)(2.77 * 4e6 * 0.99));
	TT_ASSERT(cc.bbr.max_bw == 4e6);
	/* three rounds without 25% growth: the pipe is full (5.3.1.2) */
	ack(&cc, .now = TCP_MS(40), .rate = 4.1e6, .inflight = 100000);
	ack(&cc, .now = TCP_MS(50), .rate = 4.2e6, .inflight = 100000);
	TT_EQ(cc.bbr.state, TCP_BBR_STARTUP);
	TT_EQ(cc.bbr.full_bw_count, 2);
	ack(&cc, .now = TCP_MS(60), .rate = 4.2e6, .inflight = 100000);
	TT_EQ(cc.bbr.full_bw_reached, 1);
	/* 5.3.2 Drain: pacing_gain 0.35, while inflight > BDP (42000) */
	TT_EQ(cc.bbr.state, TCP_BBR_DRAIN);
	TT_ASSERT(cc.bbr.pacing_gain == 0.35);
	TT_EQ(cc.pacing_rate, (uint64_t)(0.35 * 4.2e6 * 0.99));
	ack(&cc, .now = TCP_MS(70), .rate = 4.2e6, .inflight = 60000);
	TT_EQ(cc.bbr.state, TCP_BBR_DRAIN);
	/* inflight <= BBRInflight(1.0) = BDP: ProbeBW_DOWN, and at once
	 * CRUISE as inflight is also below the BDP (5.3.3.1) */
	uint64_t changes = cc.bbr.state_changes;
	ack(&cc, .now = TCP_MS(80), .rate = 4.2e6, .inflight = 42000);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_CRUISE);
	TT_EQ(cc.bbr.state_changes, changes + 2);
	TT_ASSERT(cc.bbr.pacing_gain == 1.0);
	TT_EQ(cc.pacing_rate, (uint64_t)(4.2e6 * 0.99));
}

TT_TEST(bbr_app_limited_samples_do_not_lower_max_bw)
{
	struct tcp_cc cc;
	to_probe_bw(&cc);
	TT_ASSERT(cc.bbr.max_bw == 4e6);
	/* 5.5.4: an app-limited sample below max_bw is left out ... */
	ack(&cc, .now = TCP_MS(100), .rate = 1e6, .inflight = 5000, .app_limited = 1);
	TT_ASSERT(cc.bbr.max_bw == 4e6);
	/* ... one above it counts */
	ack(&cc, .now = TCP_MS(110), .rate = 5e6, .inflight = 5000, .app_limited = 1);
	TT_ASSERT(cc.bbr.max_bw == 5e6);
}

TT_TEST(bbr_probe_bw_cycle)
{
	struct tcp_cc cc;
	tcp_time_t t = to_probe_bw(&cc);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_CRUISE);
	uint64_t cycles = cc.bbr.cycle_count;
	/* 5.5.6: the max_bw filter advances once per cycle - it did at the
	 * round that ended the probe (entering ProbeBW), not every round of
	 * CRUISE */
	TT_EQ(cycles, 1);
	tcp_time_t start = cc.bbr.cycle_stamp;
	TT_ASSERT(cc.bbr.bw_probe_wait >= TCP_SEC(2) && cc.bbr.bw_probe_wait <= TCP_SEC(3));
	for (int i = 0; i < 3; i++) {
		t += SRTT;
		ack(&cc, .now = t, .rate = 4e6, .inflight = 30000);
	}
	TT_EQ(cc.bbr.cycle_count, cycles);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_CRUISE);
	/* CRUISE holds until BBRIsTimeToProbeBW(): at most 3 s after the
	 * cycle began (T_bbr, 5.3.3.5.2) */
	/* time up: REFILL with the short-term model reset, pacing_gain 1 */
	cc.bbr.bw_shortterm = 3e6;
	t = start + cc.bbr.bw_probe_wait + 1;
	ack(&cc, .now = t, .rate = 4e6, .inflight = 30000, .round = 0);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_REFILL);
	TT_ASSERT(isinf(cc.bbr.bw_shortterm));
	TT_ASSERT(cc.bbr.pacing_gain == 1.0);
	/* "After one round of REFILL, start UP": gains 1.25 and 2.25 */
	t += SRTT;
	ack(&cc, .now = t, .rate = 4e6, .inflight = 40000);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_UP);
	TT_ASSERT(cc.bbr.pacing_gain == 1.25 && cc.bbr.cwnd_gain == 2.25);
	TT_EQ(cc.bbr.bw_probe_samples, 1);
	TT_EQ(cc.pacing_rate, (uint64_t)(1.25 * 4e6 * 0.99));
	/* three rounds without 25% growth: BBRIsTimeToGoDown() */
	for (int i = 0; i < 2; i++) {
		t += SRTT;
		ack(&cc, .now = t, .rate = 4.2e6, .inflight = 50000);
		TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_UP);
	}
	t += SRTT;
	ack(&cc, .now = t, .rate = 4.2e6, .inflight = 50000);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_DOWN);
	TT_ASSERT(cc.bbr.pacing_gain == 0.90);
	/* DOWN until inflight <= BDP (4.2e6 * 10 ms = 42000) */
	TT_EQ(cc.bbr.cycle_count, cycles);
	t += SRTT;
	ack(&cc, .now = t, .rate = 4.2e6, .inflight = 45000);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_DOWN);
	TT_EQ(cc.bbr.cycle_count, cycles + 1); /* one round after UP */
	t += SRTT;
	ack(&cc, .now = t, .rate = 4.2e6, .inflight = 41000);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_CRUISE);
}

TT_TEST(bbr_probe_up_exits_on_loss)
{
	struct tcp_cc cc;
	tcp_time_t t = to_probe_bw(&cc);
	t = cc.bbr.cycle_stamp + cc.bbr.bw_probe_wait + 1;
	ack(&cc, .now = t, .rate = 4e6, .inflight = 30000);
	t += SRTT;
	ack(&cc, .now = t, .rate = 4e6, .inflight = 40000);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_UP);
	/* a segment sent with 50000 in flight is lost, 5000 lost since its
	 * send: more than BBR.LossThresh (2%) - 5.5.10.2 */
	struct tcp_rate_pkt p;
	memset(&p, 0, sizeof p);
	p.tx_in_flight = 50000;
	p.lost = cc.rate.lost;
	cc.rate.lost += 5000;
	cc.ops->on_packet_lost(&cc, &p, MSS, t + 1);
	/* BBRInflightAtLoss(): inflight_prev 49000, lost_prev 4000,
	 * lost_prefix = (0.02 * 49000 - 4000) / 0.98 */
	double at_loss = 49000.0 + (0.02 * 49000.0 - 4000.0) / 0.98;
	TT_EQ(cc.bbr.inflight_longterm, (uint64_t)at_loss);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_DOWN);
	TT_EQ(cc.bbr.bw_probe_samples, 0);
	/* a second loss of the same probe: no second reaction */
	cc.rate.lost += 5000;
	cc.ops->on_packet_lost(&cc, &p, MSS, t + 2);
	TT_EQ(cc.bbr.inflight_longterm, (uint64_t)at_loss);
	TT_EQ(cc.bbr.loss_in_round, 1);
}

TT_TEST(bbr_loss_round_lowers_short_term_model)
{
	struct tcp_cc cc;
	tcp_time_t t = to_probe_bw(&cc);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_CRUISE);
	/* a loss outside bandwidth probing: no inflight_longterm */
	struct tcp_rate_pkt p;
	memset(&p, 0, sizeof p);
	cc.rate.lost += MSS;
	cc.ops->on_packet_lost(&cc, &p, MSS, t);
	TT_EQ(cc.bbr.inflight_longterm, TCP_BBR_INF);
	TT_EQ(cc.bbr.loss_in_round, 1);
	/* that round ends without a lower bound yet (bw_latest from the
	 * round before: 4e6) */
	ack(&cc, .now = t + 1, .rate = 4e6, .bytes = 3000, .inflight = 30000);
	TT_ASSERT(cc.bbr.bw_shortterm == 4e6);
	cc.bbr.bw_shortterm = HUGE_VAL;
	cc.bbr.inflight_shortterm = TCP_BBR_INF;
	/* a round that delivered 3.5 MB/s (9000 bytes), then a round with
	 * the loss ends: 5.5.10.3 bw_shortterm = max(bw_latest, Beta *
	 * max_bw), inflight_shortterm = max(inflight_latest, Beta * cwnd) */
	t += SRTT;
	ack(&cc, .now = t, .rate = 3.5e6, .bytes = 9000, .inflight = 30000);
	cc.ops->on_packet_lost(&cc, &p, MSS, t + 1);
	uint32_t cwnd = cc.cwnd;
	ack(&cc, .now = t + 2, .rate = 2e6, .bytes = 3000, .inflight = 30000);
	TT_ASSERT(cc.bbr.bw_shortterm == 3.5e6);
	TT_EQ(cc.bbr.inflight_shortterm, (uint64_t)(0.7 * cwnd) > 9000 ? (uint64_t)(0.7 * cwnd) : 9000);
	TT_ASSERT(cc.bbr.bw == 3.5e6);
	TT_EQ(cc.pacing_rate, (uint64_t)(3.5e6 * 0.99));
	TT_EQ(cc.bbr.loss_in_round, 0);
	/* the next lossy round: 0.7 * 3.5e6 = 2.45e6 > bw_latest 2e6 */
	cc.ops->on_packet_lost(&cc, &p, MSS, t + 3);
	ack(&cc, .now = t + 4, .rate = 2e6, .bytes = 3000, .inflight = 30000);
	TT_ASSERT(fabs(cc.bbr.bw_shortterm - 0.7 * 3.5e6) < 1e-6);
	/* cwnd is bounded by the short-term model */
	TT_ASSERT(cc.cwnd <= cc.bbr.inflight_shortterm);
}

TT_TEST(bbr_startup_exits_on_high_loss)
{
	struct tcp_cc cc;
	setup(&cc);
	ack(&cc, .now = TCP_MS(10), .rate = 1e6, .inflight = 20000);
	ack(&cc, .now = TCP_MS(20), .rate = 2e6, .inflight = 40000);
	/* fast recovery begins (cwnd kept), six ACKs of the round mark
	 * losses, the round ends with 6000 of 60000 lost (10% > 2%) */
	uint32_t cwnd = cc.cwnd;
	cc.ops->on_congestion(&cc, 60000, TCP_MS(21));
	TT_EQ(cc.cwnd, cwnd);
	TT_EQ(cc.in_recovery, 1);
	for (int i = 0; i < 6; i++)
		ack(&cc, .now = TCP_MS(22) + (tcp_time_t)i, .rate = 3e6, .bytes = MSS,
		    .inflight = 60000, .newly_lost = MSS, .round = 0);
	TT_EQ(cc.bbr.state, TCP_BBR_STARTUP);
	ack(&cc, .now = TCP_MS(31), .rate = 3e6, .bytes = MSS, .inflight = 60000, .lost = 6000);
	/* 5.3.1.3: full_bw_reached, inflight_longterm = max(BBR.bdp,
	 * BBR.inflight_latest), Drain */
	TT_EQ(cc.bbr.full_bw_reached, 1);
	TT_EQ(cc.bbr.state, TCP_BBR_DRAIN);
	/* BBR.bdp from the model of the ACK before: max_bw 3e6 * 10 ms;
	 * inflight_latest (1 MSS per ACK) is below it */
	TT_EQ(cc.bbr.inflight_longterm, (uint64_t)(3e6 * 0.010));
}

TT_TEST(bbr_probe_rtt)
{
	struct tcp_cc cc;
	tcp_time_t t = to_probe_bw(&cc);
	TT_EQ(cc.bbr.min_rtt, SRTT);
	uint32_t cwnd = cc.cwnd;
	/* samples above min_rtt only: 5 s later ProbeRTT (5.3.4.3) */
	tcp_time_t stamp = cc.bbr.probe_rtt_min_stamp;
	t = stamp + TCP_SEC(5);
	ack(&cc, .now = t, .rate = 4e6, .rtt = TCP_MS(12), .inflight = 30000);
	TT_ASSERT(cc.bbr.state != TCP_BBR_PROBE_RTT); /* not past 5 s yet */
	t += 1;
	ack(&cc, .now = t, .rate = 4e6, .rtt = TCP_MS(12), .inflight = 30000);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_RTT);
	TT_ASSERT(cc.bbr.pacing_gain == 1.0 && cc.bbr.cwnd_gain == 0.5);
	/* cwnd: BBRProbeRTTCwnd() = max(0.5 * BDP, 4 SMSS) = 20000 */
	TT_EQ(cc.cwnd, 20000);
	TT_ASSERT(cc.rate.app_limited != 0); /* "Ignore low rate samples" */
	TT_EQ(cc.bbr.min_rtt, SRTT); /* within MinRTTFilterLen: kept */
	/* inflight down to it: 200 ms and one round to wait */
	t += SRTT;
	ack(&cc, .now = t, .rate = 4e6, .rtt = TCP_MS(12), .inflight = 20000);
	TT_EQ(cc.bbr.probe_rtt_done_stamp_set, 1);
	TT_EQ(cc.bbr.probe_rtt_done_stamp, t + TCP_MS(200));
	tcp_time_t done = t + TCP_MS(200);
	t += SRTT;
	ack(&cc, .now = t, .rate = 4e6, .rtt = TCP_MS(12), .inflight = 20000);
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_RTT);
	ack(&cc, .now = done + 1, .rate = 4e6, .rtt = TCP_MS(12), .inflight = 20000, .round = 0);
	/* 5.3.4.4: the pipe was full: ProbeBW via DOWN to CRUISE, cwnd
	 * restored, the next ProbeRTT 5 s from now */
	TT_EQ(cc.bbr.state, TCP_BBR_PROBE_BW_CRUISE);
	TT_ASSERT(cc.cwnd >= cwnd);
	TT_EQ(cc.bbr.probe_rtt_min_stamp, done + 1);
}

TT_TEST(bbr_min_rtt_filter)
{
	struct tcp_cc cc;
	tcp_time_t t = to_probe_bw(&cc);
	/* a lower sample is taken at once */
	ack(&cc, .now = t + 1, .rate = 4e6, .rtt = TCP_MS(8), .inflight = 30000);
	TT_EQ(cc.bbr.min_rtt, TCP_MS(8));
	TT_EQ(cc.bbr.min_rtt_stamp, t + 1);
	/* higher ones do not replace it within MinRTTFilterLen (10 s) ... */
	ack(&cc, .now = t + TCP_SEC(4), .rate = 4e6, .rtt = TCP_MS(9), .inflight = 30000);
	TT_EQ(cc.bbr.min_rtt, TCP_MS(8));
	/* ... after it, the ProbeRTT sample does */
	ack(&cc, .now = t + TCP_SEC(10) + 2, .rate = 4e6, .rtt = TCP_MS(11), .inflight = 30000);
	TT_EQ(cc.bbr.min_rtt, TCP_MS(11));
}

TT_TEST(bbr_recovery_keeps_cwnd_rto_cuts)
{
	struct tcp_cc cc;
	tcp_time_t t = to_probe_bw(&cc);
	uint32_t cwnd = cc.cwnd;
	TT_ASSERT(cwnd > 4 * MSS);
	/* 5.6.4.4 BBROnEnterFastRecovery(): BBRSaveCwnd(), nothing more */
	cc.ops->on_congestion(&cc, cwnd, t + 1);
	TT_EQ(cc.cwnd, cwnd);
	TT_EQ(cc.in_recovery, 1);
	cc.cwnd = cwnd / 2; /* what a non-SACK peer's deflation could leave */
	cc.ops->on_recovery_end(&cc, t + 2);
	TT_EQ(cc.cwnd, cwnd); /* BBRRestoreCwnd() */
	TT_EQ(cc.in_recovery, 0);
	/* the RTO: 1 SMSS, the window before remembered */
	cc.ops->on_rto(&cc, cwnd, t + 3);
	TT_EQ(cc.cwnd, MSS);
	TT_EQ(cc.bbr.prior_cwnd, cwnd);
	/* the next ACK grows it by what was delivered, at least MinPipeCwnd */
	ack(&cc, .now = t + 4, .rate = 4e6, .bytes = 2 * MSS, .inflight = 0, .round = 0);
	TT_EQ(cc.cwnd, 4 * MSS);
}

TT_TEST(bbr_restart_from_idle_paces_at_bw)
{
	struct tcp_cc cc;
	tcp_time_t t = to_probe_bw(&cc);
	/* DOWN: pacing at 0.9 bw ... */
	cc.bbr.state = TCP_BBR_PROBE_BW_DOWN;
	cc.bbr.pacing_gain = 0.9;
	ack(&cc, .now = t + 1, .rate = 4e6, .inflight = 50000, .round = 0);
	TT_EQ(cc.pacing_rate, (uint64_t)(0.9 * 4e6 * 0.99));
	/* not app-limited: no restart */
	cc.ops->on_restart(&cc, t + 2);
	TT_EQ(cc.bbr.idle_restart, 0);
	/* 5.4.1: app-limited, nothing in flight: pace at exactly BBR.bw */
	tcp_rate_mark_app_limited(&cc.rate, 0);
	cc.ops->on_restart(&cc, t + 3);
	TT_EQ(cc.bbr.idle_restart, 1);
	TT_EQ(cc.pacing_rate, (uint64_t)(4e6 * 0.99));
	TT_EQ(cc.bbr.extra_acked_interval_start, t + 3);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

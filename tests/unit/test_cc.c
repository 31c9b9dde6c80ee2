/*
 * test_cc.c - congestion control: RFC 6928 initial window, RFC 5681 slow
 * start / congestion avoidance / loss, RFC 6582 recovery window, RFC 9438
 * CUBIC curve, regions and fast convergence.
 *
 * The CUBIC expectations are computed here from the RFC's formulas with
 * literal constants, not through the module's own helpers.
 */
#include <math.h>

#include "tcp_cc.h"
#include "tt.h"

#define MSS 1452u

static double near(double a, double b) { return fabs(a - b); }

TT_TEST(cc_initial_window_rfc6928)
{
	/* IW = min(10*MSS, max(2*MSS, 14600)) */
	TT_EQ(tcp_cc_initial_window(1452), 14520);
	TT_EQ(tcp_cc_initial_window(1460), 14600);
	TT_EQ(tcp_cc_initial_window(1500), 14600);
	TT_EQ(tcp_cc_initial_window(536), 5360);
	TT_EQ(tcp_cc_initial_window(9000), 18000);
	TT_EQ(tcp_cc_initial_window(100), 1000);
}

TT_TEST(cc_init_and_find)
{
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, TCP_CC_NEWRENO, 0, 0), TCP_EINVAL);
	TT_EQ(tcp_cc_init(&cc, (enum tcp_cc_algo)7, MSS, 0), TCP_EINVAL);
	TT_ASSERT(tcp_cc_find((enum tcp_cc_algo)7) == NULL);
	TT_EQ(tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS, 0), 0);
	TT_STREQ(cc.ops->name, "newreno");
	TT_EQ(cc.cwnd, 14520);
	TT_EQ(cc.ssthresh, UINT32_MAX);
	TT_EQ(cc.mss, MSS);
	TT_EQ(cc.in_recovery, 0);
	TT_EQ(tcp_cc_init(&cc, TCP_CC_CUBIC, MSS, 5), 0);
	TT_STREQ(cc.ops->name, "cubic");
	TT_EQ(cc.cwnd, 14520);
	TT_ASSERT(tcp_cc_find(TCP_CC_CUBIC) == &tcp_cc_cubic);
	TT_ASSERT(tcp_cc_find(TCP_CC_NEWRENO) == &tcp_cc_newreno);
}

static void slow_start_checks(enum tcp_cc_algo algo)
{
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, algo, MSS, 0), 0);
	/* RFC 5681 (2): cwnd += min(N, SMSS) */
	cc.ops->on_ack(&cc, MSS, TCP_MS(10), 1000);
	TT_EQ(cc.cwnd, 14520 + MSS);
	cc.ops->on_ack(&cc, 3 * MSS, TCP_MS(10), 2000); /* stretch ACK: one SMSS */
	TT_EQ(cc.cwnd, 14520 + 2 * MSS);
	cc.ops->on_ack(&cc, 100, TCP_MS(10), 3000);
	TT_EQ(cc.cwnd, 14520 + 2 * MSS + 100);
	cc.ops->on_ack(&cc, 0, 0, 4000);
	TT_EQ(cc.cwnd, 14520 + 2 * MSS + 100);
	/* one window of ACKs doubles cwnd */
	struct tcp_cc d;
	TT_EQ(tcp_cc_init(&d, algo, MSS, 0), 0);
	uint32_t w = d.cwnd;
	for (uint32_t i = 0; i < w / MSS; i++)
		d.ops->on_ack(&d, MSS, TCP_MS(10), 1000 + i);
	TT_EQ(d.cwnd, 2 * w);
}

TT_TEST(cc_newreno_slow_start)
{
	slow_start_checks(TCP_CC_NEWRENO);
}

TT_TEST(cc_cubic_slow_start)
{
	slow_start_checks(TCP_CC_CUBIC);
}

/* RFC 9438 5.8 / RFC 7661: while app_limited is set, ACKs keep the RTT
 * and clear the RTO backoff but do not grow cwnd, in slow start or in
 * congestion avoidance. */
static void app_limited_checks(enum tcp_cc_algo algo)
{
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, algo, MSS, 0), 0);
	uint32_t iw = cc.cwnd;
	cc.app_limited = 1;
	cc.rto_backoff = 1;
	for (int i = 0; i < 50; i++)
		cc.ops->on_ack(&cc, MSS, TCP_MS(10), TCP_MS(10) * (tcp_time_t)i);
	TT_EQ(cc.cwnd, iw);
	TT_EQ(cc.last_rtt, TCP_MS(10));
	TT_EQ(cc.rto_backoff, 0);
	cc.ssthresh = cc.cwnd; /* congestion avoidance */
	for (int i = 0; i < 200; i++)
		cc.ops->on_ack(&cc, MSS, TCP_MS(10), TCP_SEC(1) + TCP_MS(10) * (tcp_time_t)i);
	TT_EQ(cc.cwnd, iw);
	cc.app_limited = 0;
	for (int i = 0; i < 200; i++)
		cc.ops->on_ack(&cc, MSS, TCP_MS(10), TCP_SEC(5) + TCP_MS(10) * (tcp_time_t)i);
	TT_ASSERT(cc.cwnd > iw);
}

TT_TEST(cc_newreno_app_limited_no_growth)
{
	app_limited_checks(TCP_CC_NEWRENO);
}

TT_TEST(cc_cubic_app_limited_no_growth)
{
	app_limited_checks(TCP_CC_CUBIC);
}

TT_TEST(cc_newreno_congestion_avoidance_byte_counting)
{
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS, 0), 0);
	cc.cwnd = 20 * MSS;
	cc.ssthresh = 20 * MSS; /* cwnd >= ssthresh: congestion avoidance */
	/* a full window acked in SMSS pieces raises cwnd by exactly SMSS */
	for (int i = 0; i < 19; i++)
		cc.ops->on_ack(&cc, MSS, TCP_MS(10), i);
	TT_EQ(cc.cwnd, 20 * MSS);
	cc.ops->on_ack(&cc, MSS, TCP_MS(10), 20);
	TT_EQ(cc.cwnd, 21 * MSS);
	/* byte counting: 21 ACKs of 1 SMSS needed now; small ACKs add up */
	for (int i = 0; i < 21 * 2 - 1; i++)
		cc.ops->on_ack(&cc, MSS / 2, TCP_MS(10), 100 + i);
	TT_EQ(cc.cwnd, 21 * MSS);
	cc.ops->on_ack(&cc, MSS, TCP_MS(10), 200);
	TT_EQ(cc.cwnd, 22 * MSS);
	/* ten windows -> ten SMSS */
	uint32_t start = cc.cwnd;
	for (int w = 0; w < 10; w++) {
		uint32_t n = cc.cwnd / MSS;
		for (uint32_t i = 0; i < n; i++)
			cc.ops->on_ack(&cc, MSS, TCP_MS(10), 1000 + i);
	}
	TT_EQ(cc.cwnd, start + 10 * MSS);
}

TT_TEST(cc_newreno_fast_recovery)
{
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS, 0), 0);
	cc.cwnd = 40 * MSS;
	/* RFC 5681 (4): ssthresh = max(FlightSize/2, 2*SMSS) */
	cc.ops->on_congestion(&cc, 30 * MSS, 100);
	TT_EQ(cc.ssthresh, 15 * MSS);
	TT_EQ(cc.cwnd, 15 * MSS);
	TT_EQ(cc.in_recovery, 1);
	/* no growth during recovery, no second reduction */
	cc.ops->on_ack(&cc, 5 * MSS, TCP_MS(10), 200);
	TT_EQ(cc.cwnd, 15 * MSS);
	cc.ops->on_congestion(&cc, 10 * MSS, 300);
	TT_EQ(cc.ssthresh, 15 * MSS);
	/* RFC 6582 window inflation helpers for a sender without SACK */
	tcp_cc_newreno_enter_inflate(&cc);
	TT_EQ(cc.cwnd, 18 * MSS);
	tcp_cc_recovery_dupack(&cc);
	TT_EQ(cc.cwnd, 19 * MSS);
	tcp_cc_recovery_partial_ack(&cc, 3 * MSS); /* deflate 3, add back 1 */
	TT_EQ(cc.cwnd, 17 * MSS);
	tcp_cc_recovery_partial_ack(&cc, 100); /* less than SMSS: no add-back */
	TT_EQ(cc.cwnd, 17 * MSS - 100);
	/* RFC 6582 full ACK: cwnd = ssthresh */
	cc.ops->on_recovery_end(&cc, 400);
	TT_EQ(cc.in_recovery, 0);
	TT_EQ(cc.cwnd, 15 * MSS);
	/* back in congestion avoidance: linear growth */
	for (int i = 0; i < 15; i++)
		cc.ops->on_ack(&cc, MSS, TCP_MS(10), 500 + i);
	TT_EQ(cc.cwnd, 16 * MSS);
	/* helpers do nothing outside recovery */
	tcp_cc_recovery_dupack(&cc);
	TT_EQ(cc.cwnd, 16 * MSS);
	/* a tiny flight: ssthresh floor 2*SMSS */
	cc.ops->on_congestion(&cc, MSS, 600);
	TT_EQ(cc.ssthresh, 2 * MSS);
	TT_EQ(cc.cwnd, 2 * MSS);
}

static void rto_checks(enum tcp_cc_algo algo, uint32_t expect_ssthresh, uint32_t expect2)
{
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, algo, MSS, 0), 0);
	cc.cwnd = 40 * MSS;
	cc.ops->on_rto(&cc, 40 * MSS, TCP_SEC(1));
	TT_EQ(cc.cwnd, MSS);   /* loss window */
	TT_EQ(cc.ssthresh, expect_ssthresh);
	TT_EQ(cc.in_recovery, 0);
	/* RFC 5681: the same segment timing out again keeps ssthresh */
	cc.ops->on_rto(&cc, 2 * MSS, TCP_SEC(3));
	TT_EQ(cc.ssthresh, expect_ssthresh);
	TT_EQ(cc.cwnd, MSS);
	/* slow start again from 1 SMSS */
	cc.ops->on_ack(&cc, MSS, TCP_MS(100), TCP_SEC(4));
	TT_EQ(cc.cwnd, 2 * MSS);
	/* after new data was acked, a new timeout recomputes ssthresh */
	cc.ops->on_rto(&cc, 4 * MSS, TCP_SEC(10));
	TT_EQ(cc.ssthresh, expect2);
	TT_EQ(cc.cwnd, MSS);
	/* an RTO during fast recovery ends recovery */
	cc.cwnd = 30 * MSS;
	cc.ops->on_ack(&cc, MSS, TCP_MS(100), TCP_SEC(11));
	cc.ops->on_congestion(&cc, 30 * MSS, TCP_SEC(12));
	TT_EQ(cc.in_recovery, 1);
	cc.ops->on_rto(&cc, 30 * MSS, TCP_SEC(13));
	TT_EQ(cc.in_recovery, 0);
	TT_EQ(cc.cwnd, MSS);
}

TT_TEST(cc_newreno_rto_loss_window)
{
	rto_checks(TCP_CC_NEWRENO, 20 * MSS, 2 * MSS);
}

TT_TEST(cc_cubic_rto_loss_window)
{
	/* RFC 9438 4.8: ssthresh from beta_cubic = 0.7 */
	rto_checks(TCP_CC_CUBIC, (uint32_t)(40 * MSS * 0.7), 2 * MSS);
}

static void idle_checks(enum tcp_cc_algo algo)
{
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, algo, MSS, 0), 0);
	cc.cwnd = 50 * MSS;
	cc.ssthresh = 30 * MSS;
	cc.ops->on_idle_restart(&cc, TCP_SEC(5));
	TT_EQ(cc.cwnd, 14520);         /* RW = min(IW, cwnd) */
	TT_EQ(cc.ssthresh, 30 * MSS);  /* unchanged: slow start back up */
	cc.cwnd = 3 * MSS;
	cc.ops->on_idle_restart(&cc, TCP_SEC(6));
	TT_EQ(cc.cwnd, 3 * MSS);
}

static void flight_above_cwnd_checks(enum tcp_cc_algo algo, double factor)
{
	/* FlightSize counts SACKed data: after a long recovery it may be
	 * far above cwnd.  ssthresh comes from min(FlightSize, cwnd), never
	 * more than RFC 5681 (4) / RFC 9438 4.6 allow. */
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, algo, MSS, 0), 0);
	cc.cwnd = 80 * MSS;
	cc.ops->on_rto(&cc, 1700 * MSS, TCP_SEC(1));
	TT_EQ(cc.ssthresh, (uint32_t)(80 * MSS * factor));
	TT_EQ(cc.cwnd, MSS);
	TT_EQ(tcp_cc_init(&cc, algo, MSS, 0), 0);
	cc.cwnd = 80 * MSS;
	cc.ops->on_congestion(&cc, 500 * MSS, TCP_SEC(1));
	TT_EQ(cc.ssthresh, (uint32_t)(80 * MSS * factor));
	/* a flight below cwnd (application-limited) is used as is */
	TT_EQ(tcp_cc_init(&cc, algo, MSS, 0), 0);
	cc.cwnd = 80 * MSS;
	cc.ops->on_congestion(&cc, 20 * MSS, TCP_SEC(1));
	TT_EQ(cc.ssthresh, (uint32_t)(20 * MSS * factor));
}

TT_TEST(cc_newreno_ssthresh_from_min_flight_cwnd)
{
	flight_above_cwnd_checks(TCP_CC_NEWRENO, 0.5);
}

TT_TEST(cc_cubic_ssthresh_from_min_flight_cwnd)
{
	flight_above_cwnd_checks(TCP_CC_CUBIC, 0.7);
}

TT_TEST(cc_newreno_idle_restart)
{
	idle_checks(TCP_CC_NEWRENO);
}

TT_TEST(cc_cubic_idle_restart)
{
	idle_checks(TCP_CC_CUBIC);
}

/* ---- CUBIC ---- */

/* RFC 9438 with literal constants: C = 0.4, beta = 0.7 */
static double rfc_k(double w_max, double cwnd_epoch) { return cbrt((w_max - cwnd_epoch) / 0.4); }
static double rfc_w(double t, double k, double w_max) { return 0.4 * pow(t - k, 3) + w_max; }

/* Put a CUBIC cc into congestion avoidance right after a loss at
 * `w` segments (flight == cwnd). */
static void cubic_after_loss(struct tcp_cc *cc, double w, tcp_time_t now)
{
	tcp_cc_init(cc, TCP_CC_CUBIC, MSS, 0);
	cc->cwnd = (uint32_t)(w * MSS);
	cc->ops->on_congestion(cc, cc->cwnd, now);
	cc->ops->on_recovery_end(cc, now);
}

/* ACK-clock one RTT: one ACK of SMSS per segment of cwnd, spread evenly. */
static tcp_time_t ack_one_rtt(struct tcp_cc *cc, tcp_time_t now, tcp_time_t rtt)
{
	uint32_t n = cc->cwnd / MSS;
	if (n == 0)
		n = 1;
	for (uint32_t i = 0; i < n; i++)
		cc->ops->on_ack(cc, MSS, rtt, now + rtt * (i + 1) / n);
	return now + rtt;
}

TT_TEST(cc_cubic_reduction_and_k)
{
	struct tcp_cc cc;
	cubic_after_loss(&cc, 100, TCP_SEC(1));
	/* beta_cubic = 0.7: ssthresh = 0.7 * flight */
	TT_EQ(cc.ssthresh, (uint32_t)(100 * MSS * 0.7));
	TT_EQ(cc.cwnd, cc.ssthresh);
	TT_ASSERT(near(cc.w_max, 100) < 1e-9);
	/* the first ACK in congestion avoidance starts the epoch */
	cc.ops->on_ack(&cc, MSS, TCP_MS(100), TCP_SEC(2));
	TT_EQ(cc.epoch_valid, 1);
	TT_EQ(cc.epoch_start, TCP_SEC(2));
	/* K = cbrt(W_max*(1-beta)/C) when cwnd_epoch = beta * W_max */
	double k = cbrt(100 * (1 - 0.7) / 0.4);
	TT_ASSERT(near(cc.k, k) < 1e-3);
	/* the curve at chosen t against the formula */
	double ts[] = { 0, 0.5, 1, 2, 3, k, 5, 6, 8 };
	for (unsigned i = 0; i < sizeof ts / sizeof ts[0]; i++) {
		double want = 0.4 * pow(ts[i] - k, 3) + 100;
		double got = tcp_cc_cubic_window(&cc, ts[i]);
		if (near(got, want) > 0.01) {
			TT_FAIL_("W_cubic(%g) = %g, want %g", ts[i], got, want);
			return;
		}
	}
	TT_ASSERT(near(tcp_cc_cubic_window(&cc, 0), 70) < 0.01);
	TT_ASSERT(near(tcp_cc_cubic_window(&cc, k), 100) < 1e-9);
}

TT_TEST(cc_cubic_follows_curve_concave_then_convex)
{
	struct tcp_cc cc;
	const tcp_time_t rtt = TCP_MS(100);
	tcp_time_t now = TCP_SEC(10);
	/* W_max = 300 segments, RTT 100 ms: the Reno estimate stays below the
	 * curve for the whole run (checked below), so cwnd follows the curve */
	cubic_after_loss(&cc, 300, now);
	double k = rfc_k(300, 210);
	double w_est = 210, alpha = 3 * (1 - 0.7) / (1 + 0.7);
	tcp_time_t t0 = now + 1; /* epoch starts at the first ACK */
	double prev = cc.cwnd / (double)MSS, prev_inc = 1e9;
	int concave_steps = 0, convex_steps = 0;
	double last_inc_convex = 0;
	for (int r = 0; r < 120; r++) {
		w_est += alpha * (cc.cwnd / MSS) / (cc.cwnd / (double)MSS);
		now = ack_one_rtt(&cc, now, rtt);
		double w = cc.cwnd / (double)MSS;
		double t = (double)(now - t0) / 1e6;
		/* cwnd aims at W_cubic(t + RTT) each RTT, so at the end of an RTT
		 * it is close to W_cubic(t) (and never far above it) */
		double want = rfc_w(t, k, 300);
		TT_ASSERT(w_est < want);
		double tol = 0.005 * want + 1.0;
		if (w > want + tol || w < want - 2 * tol) {
			TT_FAIL_("rtt %d t=%.2f cwnd %.2f segs, W_cubic %.2f", r, t, w, want);
			return;
		}
		double inc = w - prev;
		if (t < k - 0.3) {
			/* concave: below W_max and growth slowing */
			TT_ASSERT(w < 300);
			TT_ASSERT(inc <= prev_inc + 0.05);
			concave_steps++;
		} else if (t > k + 0.5) {
			/* convex: above W_max and growth accelerating */
			TT_ASSERT(w > 300);
			TT_ASSERT(inc >= last_inc_convex - 0.05);
			last_inc_convex = inc;
			convex_steps++;
		}
		prev_inc = inc;
		prev = w;
	}
	TT_ASSERT(concave_steps > 50);
	TT_ASSERT(convex_steps > 40);
}

TT_TEST(cc_cubic_reno_friendly_region)
{
	/* Short RTT and small W_max: Reno (alpha_cubic per RTT, then 1 per RTT
	 * once W_est >= cwnd_prior) outgrows the cubic curve. */
	struct tcp_cc cc;
	const tcp_time_t rtt = TCP_MS(1);
	tcp_time_t now = TCP_SEC(1);
	cubic_after_loss(&cc, 20, now);
	double alpha = 3 * (1 - 0.7) / (1 + 0.7);
	double k = rfc_k(20, 14);
	tcp_time_t t0 = now + 1;
	/* independent Reno estimate per RFC 9438 4.3, same ACK clock */
	double w_est = 14, prior = 20;
	double cw = 14; /* segments, the expected cwnd (floor per ACK) */
	int reno_steps = 0;
	for (int r = 0; r < 200; r++) {
		uint32_t n = cc.cwnd / MSS;
		for (uint32_t i = 0; i < n; i++) {
			w_est += (w_est >= prior ? 1.0 : alpha) * 1.0 / cw;
			cc.ops->on_ack(&cc, MSS, rtt, now + rtt * (i + 1) / n);
			cw = cc.cwnd / (double)MSS;
		}
		now += rtt;
		double t = (double)(now - t0) / 1e6;
		double wc = rfc_w(t, k, 20);
		if (wc < w_est) {
			reno_steps++;
			if (near(cw, w_est) > 0.01) {
				TT_FAIL_("rtt %d: cwnd %.3f, W_est %.3f (W_cubic %.3f)", r, cw, w_est, wc);
				return;
			}
		}
	}
	TT_ASSERT(reno_steps > 150);
	/* about 1 segment per RTT after W_est passed cwnd_prior */
	double before = cc.cwnd / (double)MSS;
	for (int r = 0; r < 10; r++)
		now = ack_one_rtt(&cc, now, rtt);
	double grew = cc.cwnd / (double)MSS - before;
	TT_ASSERT(grew > 9.0 && grew < 11.0);
}

TT_TEST(cc_cubic_fast_convergence)
{
	struct tcp_cc cc;
	cubic_after_loss(&cc, 100, TCP_SEC(1));
	TT_ASSERT(near(cc.w_max, 100) < 1e-9);
	/* a second loss below the previous W_max: W_max = cwnd*(1+beta)/2 */
	cc.cwnd = 80 * MSS;
	cc.ops->on_congestion(&cc, 80 * MSS, TCP_SEC(2));
	TT_ASSERT(near(cc.w_max, 80 * (1 + 0.7) / 2) < 1e-9);
	TT_ASSERT(near(cc.w_last_max, 100) < 1e-9);
	TT_EQ(cc.ssthresh, (uint32_t)(80 * MSS * 0.7));
	cc.ops->on_recovery_end(&cc, TCP_SEC(2));
	/* a loss above W_max: W_max = cwnd */
	cc.cwnd = 90 * MSS;
	cc.ops->on_congestion(&cc, 90 * MSS, TCP_SEC(3));
	TT_ASSERT(near(cc.w_max, 90) < 1e-9);
}

TT_TEST(cc_cubic_after_rto_k_zero)
{
	/* RFC 9438 4.8: first CA stage after a timeout: K = 0 and W_max =
	 * cwnd at the start of that stage, so growth is convex from there. */
	struct tcp_cc cc;
	TT_EQ(tcp_cc_init(&cc, TCP_CC_CUBIC, MSS, 0), 0);
	cc.cwnd = 50 * MSS;
	cc.ops->on_rto(&cc, 50 * MSS, TCP_SEC(1));
	TT_EQ(cc.cwnd, MSS);
	TT_EQ(cc.ssthresh, (uint32_t)(50 * MSS * 0.7));
	tcp_time_t now = TCP_SEC(2);
	while (cc.cwnd < cc.ssthresh) {
		cc.ops->on_ack(&cc, MSS, TCP_MS(50), now);
		now += TCP_MS(1);
	}
	TT_EQ(cc.epoch_valid, 0);
	double w0 = cc.cwnd / (double)MSS;
	cc.ops->on_ack(&cc, MSS, TCP_MS(50), now);
	TT_EQ(cc.epoch_valid, 1);
	TT_ASSERT(near(cc.k, 0) < 1e-12);
	TT_ASSERT(near(cc.w_max, w0) < 1e-6);
}

TT_TEST(cc_cubic_no_growth_in_recovery_and_idle_resets_epoch)
{
	struct tcp_cc cc;
	cubic_after_loss(&cc, 60, TCP_SEC(1));
	cc.ops->on_ack(&cc, MSS, TCP_MS(10), TCP_SEC(2));
	TT_EQ(cc.epoch_valid, 1);
	cc.ops->on_idle_restart(&cc, TCP_SEC(30));
	TT_EQ(cc.epoch_valid, 0);
	TT_EQ(cc.cwnd, 14520);
	cc.cwnd = 50 * MSS;
	cc.ops->on_congestion(&cc, 50 * MSS, TCP_SEC(31));
	uint32_t w = cc.cwnd;
	for (int i = 0; i < 100; i++)
		cc.ops->on_ack(&cc, MSS, TCP_MS(10), TCP_SEC(32) + i);
	TT_EQ(cc.cwnd, w);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

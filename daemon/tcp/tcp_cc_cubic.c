/*
 * tcp_cc_cubic.c - CUBIC congestion control, RFC 9438.
 *
 * cwnd is kept in bytes (struct tcp_cc); the curve is computed in segments of
 * SMSS bytes because RFC 9438's constant C = 0.4 is in segments/second^3.
 * Slow start and the loss window follow RFC 5681; the increase in
 * congestion avoidance follows RFC 9438 sections 4.2-4.5, the decrease
 * 4.6-4.8.
 */
#include <math.h>
#include <stdint.h>

#include "tcp_cc.h"

/* RFC 9438 4.3: "alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic)" */
#define CUBIC_ALPHA (3.0 * (1.0 - TCP_CUBIC_BETA) / (1.0 + TCP_CUBIC_BETA))

static uint32_t clamp_cwnd(double w, uint32_t mss)
{
	if (!(w >= mss)) /* also catches NaN */
		return mss;
	if (w >= (double)TCP_CC_CWND_MAX)
		return TCP_CC_CWND_MAX;
	return (uint32_t)w;
}

static double segs(const struct tcp_cc *cc, uint32_t bytes)
{
	return (double)bytes / (double)cc->mss;
}

double tcp_cc_cubic_window(const struct tcp_cc *cc, double t)
{
	/* RFC 9438 Figure 1: W_cubic(t) = C * (t - K)^3 + W_max */
	double d = t - cc->k;
	return TCP_CUBIC_C * d * d * d + cc->w_max;
}

static void cubic_init(struct tcp_cc *cc, tcp_time_t now)
{
	(void)now;
	cc->cwnd = tcp_cc_initial_window(cc->mss); /* RFC 6928 */
	cc->ssthresh = UINT32_MAX;                 /* RFC 5681 3.1 */
	cc->in_recovery = 0;
	cc->epoch_valid = 0;
	cc->w_max = 0;
	cc->w_last_max = 0;
	cc->k = 0;
	cc->w_est = 0;
	cc->cwnd_prior = 0;
	cc->cwnd_frac = 0;
	cc->rto_backoff = 0;
}

/* Begin a congestion avoidance epoch (RFC 9438 4.2, 4.3). */
static void cubic_epoch_start(struct tcp_cc *cc, tcp_time_t now)
{
	cc->epoch_valid = 1;
	cc->epoch_start = now;
	cc->cwnd_epoch = segs(cc, cc->cwnd);
	cc->cwnd_frac = 0;
	cc->cubic_acked = 0;
	if (cc->cwnd_epoch < cc->w_max) {
		/* RFC 9438 Figure 2: "K = cubic_root((W_max - cwnd_epoch) / C)" */
		cc->k = cbrt((cc->w_max - cc->cwnd_epoch) / TCP_CUBIC_C);
	} else {
		/* No reduction seen (or after an RTO, RFC 9438 4.8: "K is set
		 * to 0, and W_max is set to the congestion window size at the
		 * beginning of the current congestion avoidance stage"). */
		cc->k = 0;
		cc->w_max = cc->cwnd_epoch;
	}
	/* RFC 9438 4.3: "W_est is set equal to cwnd_epoch at the start of
	 * the congestion avoidance stage." */
	cc->w_est = cc->cwnd_epoch;
}

static void cubic_on_ack(struct tcp_cc *cc, uint32_t acked, tcp_time_t rtt, tcp_time_t now)
{
	if (rtt)
		cc->last_rtt = rtt;
	cc->rto_backoff = 0;
	if (cc->in_recovery || acked == 0 || cc->app_limited)
		return;
	if (cc->cwnd < cc->ssthresh) {
		/* RFC 9438 4.10 slow start, RFC 5681 3.1 equation (2):
		 * "cwnd += min (N, SMSS)" */
		uint32_t inc = acked < cc->mss ? acked : cc->mss;
		if (cc->ssthresh == UINT32_MAX) {
			/* RFC 9406 4.2: "An implementation SHOULD use HyStart++
			 * only for the initial slow start (when the ssthresh is
			 * at its initial value of arbitrarily high per
			 * [RFC5681])" */
			int to_ca;
			inc = tcp_hystart_on_ack(&cc->hs, cc->mss, acked, rtt, cc->ack_seq,
						 cc->snd_nxt, &to_ca);
			if (to_ca) {
				cc->ssthresh = cc->cwnd;
				return;
			}
		}
		cc->cwnd = clamp_cwnd((double)cc->cwnd + inc, cc->mss);
		return;
	}
	if (!cc->epoch_valid)
		cubic_epoch_start(cc, now);

	double cwnd = segs(cc, cc->cwnd);
	double acked_segs = segs(cc, acked);
	double t = (double)(now - cc->epoch_start) / 1e6;
	double rtt_s = (double)cc->last_rtt / 1e6;

	/* RFC 9438 4.3 Reno-friendly region:
	 * "W_est = W_est + alpha_cubic * segments_acked / cwnd"; "Once W_est
	 * has grown to reach the cwnd at the time of most recently setting
	 * ssthresh -- that is, W_est >= cwnd_prior -- the sender SHOULD set
	 * alpha_cubic to 1 to ensure that it can achieve the same congestion
	 * window increment rate as Reno". */
	double alpha = cc->w_est >= cc->cwnd_prior ? 1.0 : CUBIC_ALPHA;
	cc->w_est += alpha * acked_segs / cwnd;
	cc->cubic_acked += acked;

	double w_t = tcp_cc_cubic_window(cc, t);
	double next;
	if (w_t < cc->w_est) {
		/* "When receiving a new ACK in congestion avoidance (where cwnd
		 * could be greater than or less than W_max), CUBIC checks whether
		 * W_cubic(t) is less than W_est.  If so, CUBIC is in the
		 * Reno-friendly region and cwnd SHOULD be set to W_est" */
		next = cc->w_est > cwnd ? cc->w_est : cwnd;
		cc->cwnd_frac = 0;
		cc->cwnd = clamp_cwnd(next * cc->mss, cc->mss);
		cc->ca_increases++;
		return;
	}
	/* RFC 9438 4.4/4.5 concave and convex regions: target = W_cubic(t+RTT)
	 * clamped: "if W_cubic(t + RTT) < cwnd: target = cwnd; else if
	 * W_cubic(t + RTT) > 1.5 * cwnd: target = 1.5 * cwnd", then "cwnd
	 * MUST be incremented by (target - cwnd) / cwnd for each received
	 * ACK" (per SMSS acknowledged: we count bytes). */
	double target = tcp_cc_cubic_window(cc, t + rtt_s);
	if (target < cwnd)
		target = cwnd;
	else if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;
	double inc_bytes = (target - cwnd) / cwnd * acked_segs * cc->mss + cc->cwnd_frac;
	double whole = floor(inc_bytes);
	cc->cwnd_frac = inc_bytes - whole;
	if (whole > 0)
		cc->ca_increases++;
	cc->cwnd = clamp_cwnd((double)cc->cwnd + whole, cc->mss);
}

/* RFC 9438 4.6 + 4.7: the reduction shared by loss detection and RTO. */
static void cubic_reduce(struct tcp_cc *cc, uint32_t flight)
{
	double cwnd = segs(cc, cc->cwnd);
	/* 4.7 fast convergence: "if (cwnd < W_max and fast_convergence)
	 * W_max = cwnd * (1 + beta_cubic) / 2; else W_max = cwnd" */
	cc->w_last_max = cc->w_max;
	if (cwnd < cc->w_max)
		cc->w_max = cwnd * (1.0 + TCP_CUBIC_BETA) / 2.0;
	else
		cc->w_max = cwnd;
	/* 4.6: "ssthresh = flight_size * beta_cubic; cwnd_prior = cwnd;
	 * cwnd = max(ssthresh, 2); ssthresh = max(ssthresh, 2)" (segments) */
	cc->cwnd_prior = cwnd;
	/* 4.6: "Some implementations of CUBIC currently use cwnd instead of
	 * flight_size when calculating a new ssthresh."  flight_size (SND.NXT
	 * - SND.UNA) counts SACKed data too and can exceed cwnd many times
	 * after a long recovery; min(flight_size, cwnd) keeps ssthresh at
	 * what the path carried (and below what flight_size alone gives). */
	if (flight > cc->cwnd)
		flight = cc->cwnd;
	double ss = (double)flight * TCP_CUBIC_BETA;
	if (ss < 2.0 * cc->mss)
		ss = 2.0 * cc->mss;
	cc->ssthresh = clamp_cwnd(ss, cc->mss);
	cc->epoch_valid = 0;
	cc->cwnd_frac = 0;
}

static void cubic_on_congestion(struct tcp_cc *cc, uint32_t flight, tcp_time_t now)
{
	(void)now;
	if (cc->in_recovery)
		return;
	cubic_reduce(cc, flight);
	cc->cwnd = cc->ssthresh;
	cc->in_recovery = 1;
}

static void cubic_on_recovery_end(struct tcp_cc *cc, tcp_time_t now)
{
	(void)now;
	if (cc->in_recovery)
		cc->cwnd = clamp_cwnd(cc->ssthresh, cc->mss);
	cc->in_recovery = 0;
	cc->epoch_valid = 0;
}

static void cubic_on_rto(struct tcp_cc *cc, uint32_t flight, tcp_time_t now)
{
	(void)now;
	/* RFC 9438 4.8: "CUBIC MUST ... reduce cwnd [as RFC 5681] but sets
	 * ssthresh using beta_cubic (same as in Section 4.6)"; RFC 5681 keeps
	 * ssthresh when the same data times out again. */
	if (!cc->rto_backoff) {
		cubic_reduce(cc, flight);
		/* 4.8: in the first CA stage after a timeout "K is set to 0,
		 * and W_max is set to the congestion window size at the
		 * beginning of the current congestion avoidance stage". */
		cc->w_max = 0;
	}
	cc->cwnd = cc->mss; /* RFC 5681 (4): loss window, 1 SMSS */
	cc->in_recovery = 0;
	cc->epoch_valid = 0;
	cc->rto_backoff = 1;
}

static void cubic_on_idle_restart(struct tcp_cc *cc, tcp_time_t now)
{
	(void)now;
	/* RFC 5681 4.1: "RW = min (IW, cwnd)".  The curve's clock must not
	 * run while idle: a new epoch begins with the next ACK. */
	uint32_t iw = tcp_cc_initial_window(cc->mss);
	if (cc->cwnd > iw)
		cc->cwnd = iw;
	cc->epoch_valid = 0;
}

const struct tcp_cc_ops tcp_cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.on_ack = cubic_on_ack,
	.on_congestion = cubic_on_congestion,
	.on_recovery_end = cubic_on_recovery_end,
	.on_rto = cubic_on_rto,
	.on_idle_restart = cubic_on_idle_restart,
};

/*
 * tcp_cc_newreno.c - RFC 5681 congestion control with RFC 6582 NewReno
 * recovery (the engine tracks `recover`; these hooks set the window), RFC
 * 6928 initial window and RFC 3465 byte counting.
 */
#include <stdint.h>

#include "tcp_cc.h"

static uint32_t clamp_cwnd(uint64_t w, uint32_t mss)
{
	if (w < mss)
		w = mss;
	return w > TCP_CC_CWND_MAX ? TCP_CC_CWND_MAX : (uint32_t)w;
}

/* RFC 5681 section 3.1 equation (4):
 *   "ssthresh = max (FlightSize / 2, 2*SMSS)"
 * and ssthresh "MUST be set to no more than" that.  FlightSize (SND.NXT -
 * SND.UNA) also counts SACKed data the receiver holds; after a long
 * recovery it can be many times cwnd, and halving it would set ssthresh far
 * above what the path carried.  We halve min(FlightSize, cwnd), which is
 * never more than equation (4) allows. */
static uint32_t reno_ssthresh(const struct tcp_cc *cc, uint32_t flight)
{
	if (flight > cc->cwnd)
		flight = cc->cwnd;
	uint32_t half = flight / 2, two = 2 * cc->mss;
	return half > two ? half : two;
}

static void newreno_init(struct tcp_cc *cc, tcp_time_t now)
{
	(void)now;
	/* RFC 6928 section 2 initial window. */
	cc->cwnd = tcp_cc_initial_window(cc->mss);
	/* RFC 5681 3.1: "The initial value of ssthresh SHOULD be set
	 * arbitrarily high (e.g., to the size of the largest possible
	 * advertised window)". */
	cc->ssthresh = UINT32_MAX;
	cc->in_recovery = 0;
	cc->bytes_acked = 0;
	cc->rto_backoff = 0;
}

static void newreno_on_ack(struct tcp_cc *cc, uint32_t acked, tcp_time_t rtt, tcp_time_t now)
{
	(void)now;
	if (rtt)
		cc->last_rtt = rtt;
	cc->rto_backoff = 0;
	if (cc->in_recovery || acked == 0 || cc->app_limited)
		return;
	if (cc->cwnd < cc->ssthresh) {
		/* RFC 5681 3.1 equation (2): "cwnd += min (N, SMSS)" */
		uint32_t inc = acked < cc->mss ? acked : cc->mss;
		cc->cwnd = clamp_cwnd((uint64_t)cc->cwnd + inc, cc->mss);
		cc->bytes_acked = 0;
		return;
	}
	/* RFC 5681 3.1 congestion avoidance with appropriate byte counting
	 * (RFC 3465 2.1): "the congestion window is increased by SMSS bytes
	 * when the number of bytes acknowledged reaches cwnd". */
	uint64_t b = (uint64_t)cc->bytes_acked + acked;
	while (b >= cc->cwnd) {
		b -= cc->cwnd;
		cc->cwnd = clamp_cwnd((uint64_t)cc->cwnd + cc->mss, cc->mss);
		cc->ca_increases++;
	}
	cc->bytes_acked = (uint32_t)b;
}

static void newreno_on_congestion(struct tcp_cc *cc, uint32_t flight, tcp_time_t now)
{
	(void)now;
	if (cc->in_recovery)
		return; /* RFC 6582: one reduction per window of data */
	/* RFC 5681 3.2 step 2 / RFC 6675 5 (4.2): ssthresh = max(FlightSize/2,
	 * 2*SMSS); RFC 6675: "cwnd = ssthresh". */
	cc->ssthresh = reno_ssthresh(cc, flight);
	cc->cwnd = cc->ssthresh;
	cc->bytes_acked = 0;
	cc->in_recovery = 1;
}

static void newreno_on_recovery_end(struct tcp_cc *cc, tcp_time_t now)
{
	(void)now;
	/* RFC 6582 3.2 step 3 (full acknowledgment): "Set cwnd to ...
	 * (1) min (ssthresh, max(FlightSize, SMSS) + SMSS); or (2) ssthresh".
	 * We take option (2). */
	if (cc->in_recovery)
		cc->cwnd = clamp_cwnd(cc->ssthresh, cc->mss);
	cc->in_recovery = 0;
	cc->bytes_acked = 0;
}

static void newreno_on_rto(struct tcp_cc *cc, uint32_t flight, tcp_time_t now)
{
	(void)now;
	/* RFC 5681 3.1: "When a TCP sender detects segment loss using the
	 * retransmission timer and the given segment has not yet been resent
	 * by way of the retransmission timer, the value of ssthresh MUST be
	 * set to no more than the value given in equation (4)."  "...has
	 * already been retransmitted by way of the retransmission timer at
	 * least once, the value of ssthresh is held constant." */
	if (!cc->rto_backoff)
		cc->ssthresh = reno_ssthresh(cc, flight);
	/* "Furthermore, upon a timeout (as specified in [RFC2988]) cwnd MUST
	 * be set to no more than the loss window, LW, which equals 1 full-
	 * sized segment (regardless of the value of IW)." */
	cc->cwnd = cc->mss;
	cc->in_recovery = 0;
	cc->bytes_acked = 0;
	cc->rto_backoff = 1;
}

static void newreno_on_idle_restart(struct tcp_cc *cc, tcp_time_t now)
{
	(void)now;
	/* RFC 5681 4.1: "if the TCP has not sent data in an interval exceeding
	 * the retransmission timeout ... cwnd is reduced to the value of the
	 * restart window (RW) before transmission begins."
	 * "RW = min (IW, cwnd)" */
	uint32_t iw = tcp_cc_initial_window(cc->mss);
	if (cc->cwnd > iw)
		cc->cwnd = iw;
	cc->bytes_acked = 0;
}

const struct tcp_cc_ops tcp_cc_newreno = {
	.name = "newreno",
	.init = newreno_init,
	.on_ack = newreno_on_ack,
	.on_congestion = newreno_on_congestion,
	.on_recovery_end = newreno_on_recovery_end,
	.on_rto = newreno_on_rto,
	.on_idle_restart = newreno_on_idle_restart,
};

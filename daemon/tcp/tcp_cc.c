/*
 * tcp_cc.c - congestion control: algorithm table, initial window and the
 * recovery-window helpers shared by every algorithm.
 *
 * The algorithms themselves are in tcp_cc_newreno.c (RFC 5681 + RFC 6582)
 * tcp_cc_cubic.c (RFC 9438) and tcp_cc_bbr.c (draft-ietf-ccwg-bbr).
 */
#include <string.h>

#include "tcp_cc.h"

/* RFC 6928 section 2: "the upper bound for the initial window will be
 *   min (10*MSS, max (2*MSS, 14600))" */
uint32_t tcp_cc_initial_window(uint32_t mss)
{
	uint64_t ten = 10ull * mss, two = 2ull * mss;
	uint64_t lo = two > 14600 ? two : 14600;
	uint64_t iw = ten < lo ? ten : lo;
	if (iw > TCP_CC_CWND_MAX)
		iw = TCP_CC_CWND_MAX;
	return (uint32_t)iw;
}

const struct tcp_cc_ops *tcp_cc_find(enum tcp_cc_algo algo)
{
	switch (algo) {
	case TCP_CC_CUBIC:
		return &tcp_cc_cubic;
	case TCP_CC_NEWRENO:
		return &tcp_cc_newreno;
	case TCP_CC_BBR:
		return &tcp_cc_bbr;
	}
	return NULL;
}

int tcp_cc_init(struct tcp_cc *cc, enum tcp_cc_algo algo, uint32_t mss, tcp_time_t now)
{
	const struct tcp_cc_ops *ops = tcp_cc_find(algo);
	if (!cc || !ops || mss == 0)
		return TCP_EINVAL;
	memset(cc, 0, sizeof(*cc));
	cc->ops = ops;
	cc->mss = mss;
	ops->init(cc, now);
	return 0;
}

int tcp_cc_in_slow_start(const struct tcp_cc *cc)
{
	return cc->cwnd < cc->ssthresh;
}

void tcp_cc_newreno_enter_inflate(struct tcp_cc *cc)
{
	/* RFC 6582 3.2 step 2 (RFC 5681 3.2 step 3): "set cwnd to
	 * ssthresh plus 3*SMSS.  This artificially "inflates" the congestion
	 * window by the number of segments (three) that have left the
	 * network and which the receiver has buffered." */
	uint64_t w = (uint64_t)cc->ssthresh + 3ull * cc->mss;
	cc->cwnd = w > TCP_CC_CWND_MAX ? TCP_CC_CWND_MAX : (uint32_t)w;
}

void tcp_cc_recovery_dupack(struct tcp_cc *cc)
{
	/* RFC 6582 3.2 step 3: "For each additional duplicate ACK received
	 * (after the third), increment cwnd by SMSS." */
	if (!cc->in_recovery)
		return;
	uint64_t w = (uint64_t)cc->cwnd + cc->mss;
	cc->cwnd = w > TCP_CC_CWND_MAX ? TCP_CC_CWND_MAX : (uint32_t)w;
}

void tcp_cc_recovery_partial_ack(struct tcp_cc *cc, uint32_t acked)
{
	/* RFC 6582 3.2 step 5 (partial acknowledgments): "deflate the
	 * congestion window by the amount of new data acknowledged by the
	 * cumulative acknowledgment field.  If the partial ACK acknowledges
	 * at least one SMSS of new data, then add back SMSS bytes to the
	 * congestion window." */
	if (!cc->in_recovery)
		return;
	uint64_t w = cc->cwnd > acked ? cc->cwnd - acked : 0;
	if (acked >= cc->mss)
		w += cc->mss;
	if (w < cc->mss)
		w = cc->mss;
	cc->cwnd = w > TCP_CC_CWND_MAX ? TCP_CC_CWND_MAX : (uint32_t)w;
}

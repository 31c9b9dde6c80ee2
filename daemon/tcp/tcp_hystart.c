/*
 * tcp_hystart.c - HyStart++, RFC 9406 section 4.2 (see tcp_hystart.h).
 */
#include <string.h>

#include "tcp_hystart.h"
#include "tcp_seqset.h"

void tcp_hystart_init(struct tcp_hystart *h, int enabled)
{
	memset(h, 0, sizeof *h);
	h->enabled = enabled;
	h->last_round_min_rtt = TCP_TIME_NEVER;
	h->current_round_min_rtt = TCP_TIME_NEVER;
	h->css_baseline_min_rtt = TCP_TIME_NEVER;
}

uint32_t tcp_hystart_on_ack(struct tcp_hystart *h, uint32_t mss, uint32_t acked,
			    tcp_time_t rtt, uint32_t ack, uint32_t snd_nxt, int *to_ca)
{
	*to_ca = 0;
	/* "cwnd = cwnd + min(N, L * SMSS)" (CSS divides it below) */
	uint64_t lim = (uint64_t)TCP_HS_L * mss;
	uint32_t inc = acked < lim ? acked : (uint32_t)lim;
	if (!h->enabled) {
		/* RFC 5681 3.1 equation (2): "cwnd += min (N, SMSS)" */
		return acked < mss ? acked : mss;
	}
	/* "At the start of each round during standard slow start [RFC5681]
	 * and CSS, initialize the variables used to compute the last round's
	 * minimum RTT and current round's minimum RTT: lastRoundMinRTT =
	 * currentRoundMinRTT; currentRoundMinRTT = infinity; rttSampleCount =
	 * 0" - a round ends when the ACK passes windowEnd, SND.NXT when the
	 * round began. */
	if (!h->round_valid || tcp_seq_geq(ack, h->window_end)) {
		if (h->round_valid && h->in_css && ++h->css_rounds >= TCP_HS_CSS_ROUNDS) {
			/* "If CSS_ROUNDS rounds are complete, enter congestion
			 * avoidance by setting the ssthresh to the current
			 * cwnd." */
			h->in_css = 0;
			*to_ca = 1;
			return 0;
		}
		h->round_valid = 1;
		h->window_end = snd_nxt;
		h->last_round_min_rtt = h->current_round_min_rtt;
		h->current_round_min_rtt = TCP_TIME_NEVER;
		h->rtt_sample_count = 0;
	}
	/* "Keep track of the minimum observed RTT: currentRoundMinRTT =
	 * min(currentRoundMinRTT, currentRTT); rttSampleCount += 1" */
	if (rtt) {
		if (rtt < h->current_round_min_rtt)
			h->current_round_min_rtt = rtt;
		h->rtt_sample_count++;
	}
	int enough = h->rtt_sample_count >= TCP_HS_N_RTT_SAMPLE;
	if (!h->in_css) {
		/* "if ((rttSampleCount >= N_RTT_SAMPLE) AND (currentRoundMinRTT
		 * != infinity) AND (lastRoundMinRTT != infinity)) RttThresh =
		 * max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
		 * MAX_RTT_THRESH)); if (currentRoundMinRTT >= (lastRoundMinRTT +
		 * RttThresh)) cssBaselineMinRtt = currentRoundMinRTT; exit slow
		 * start and enter CSS" */
		if (enough && h->current_round_min_rtt != TCP_TIME_NEVER &&
		    h->last_round_min_rtt != TCP_TIME_NEVER) {
			tcp_time_t thresh = h->last_round_min_rtt / TCP_HS_MIN_RTT_DIVISOR;
			if (thresh > TCP_HS_MAX_RTT_THRESH)
				thresh = TCP_HS_MAX_RTT_THRESH;
			if (thresh < TCP_HS_MIN_RTT_THRESH)
				thresh = TCP_HS_MIN_RTT_THRESH;
			if (h->current_round_min_rtt >= h->last_round_min_rtt + thresh) {
				h->css_baseline_min_rtt = h->current_round_min_rtt;
				h->in_css = 1;
				h->css_rounds = 0;
				h->css_entered++;
			}
		}
		return inc;
	}
	/* CSS: "For CSS rounds where at least N_RTT_SAMPLE RTT samples have
	 * been obtained, check to see if the current round's minRTT drops
	 * below baseline (cssBaselineMinRtt) indicating that slow start exit
	 * was spurious: if (currentRoundMinRTT < cssBaselineMinRtt)
	 * cssBaselineMinRtt = infinity; resume slow start including
	 * HyStart++" */
	if (enough && h->current_round_min_rtt < h->css_baseline_min_rtt) {
		h->css_baseline_min_rtt = TCP_TIME_NEVER;
		h->in_css = 0;
		return inc;
	}
	/* "cwnd = cwnd + (min(N, L * SMSS) / CSS_GROWTH_DIVISOR)" */
	return inc / TCP_HS_CSS_GROWTH_DIVISOR;
}

/*
 * tcp_rtt.c - RFC 6298 "Computing TCP's Retransmission Timer".
 */
#include "tcp_rtt.h"

/* RFC 6298 (2.2)/(2.3): clock granularity G; the engine's clock ticks in
 * microseconds but timestamps have 1 ms resolution. */
#define TCP_RTT_G TCP_MS(1)

static tcp_time_t clamp(const struct tcp_rtt *r, tcp_time_t rto)
{
	/* RFC 6298 (2.4): "Whenever RTO is computed, if it is less than 1
	 * second, then the RTO SHOULD be rounded up to 1 second" (rto_min is
	 * configurable); (2.5): "A maximum value MAY be placed on RTO provided
	 * it is at least 60 seconds." */
	if (rto < r->rto_min)
		rto = r->rto_min;
	if (rto > r->rto_max)
		rto = r->rto_max;
	return rto;
}

void tcp_rtt_init(struct tcp_rtt *r, tcp_time_t initial, tcp_time_t min, tcp_time_t max)
{
	r->srtt = r->rttvar = 0;
	r->rto_min = min;
	r->rto_max = max < min ? min : max;
	/* RFC 6298 (2.1): "Until a round-trip time (RTT) measurement has been
	 * made ... the sender SHOULD set RTO <- 1 second" */
	r->rto = initial;
	if (r->rto > r->rto_max)
		r->rto = r->rto_max;
	r->backoff = 0;
	r->has_sample = 0;
}

void tcp_rtt_sample(struct tcp_rtt *r, tcp_time_t rtt)
{
	tcp_time_t k_rttvar;
	if (!r->has_sample) {
		/* RFC 6298 (2.2): "When the first RTT measurement R is made, the
		 * host MUST set SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR)
		 * where K = 4." */
		r->srtt = rtt;
		r->rttvar = rtt / 2;
		r->has_sample = 1;
	} else {
		/* RFC 6298 (2.3): "RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
		 * SRTT <- (1 - alpha) * SRTT + alpha * R'" with alpha=1/8, beta=1/4,
		 * RTTVAR updated first with the old SRTT. */
		tcp_time_t diff = r->srtt > rtt ? r->srtt - rtt : rtt - r->srtt;
		r->rttvar = r->rttvar - r->rttvar / 4 + diff / 4;
		r->srtt = r->srtt - r->srtt / 8 + rtt / 8;
	}
	k_rttvar = 4 * r->rttvar;
	if (k_rttvar < TCP_RTT_G)
		k_rttvar = TCP_RTT_G;
	r->rto = clamp(r, r->srtt + k_rttvar);
}

tcp_time_t tcp_rtt_current_rto(const struct tcp_rtt *r)
{
	tcp_time_t rto = r->rto;
	/* RFC 6298 (5.5): "The host MUST set RTO <- RTO * 2 ("back off the
	 * timer")" - once per expiration, bounded by the maximum. */
	for (unsigned i = 0; i < r->backoff; i++) {
		if (rto >= r->rto_max)
			break;
		rto *= 2;
	}
	if (rto > r->rto_max)
		rto = r->rto_max;
	return rto;
}

void tcp_rtt_on_timeout(struct tcp_rtt *r)
{
	if (r->backoff < 64)
		r->backoff++;
}

void tcp_rtt_on_new_ack(struct tcp_rtt *r)
{
	r->backoff = 0;
}

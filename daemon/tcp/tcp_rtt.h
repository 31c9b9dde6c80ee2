/*
 * tcp_rtt.h - the retransmission timer's estimator, RFC 6298.
 * Pure arithmetic on microseconds; no clock reads.
 */
#ifndef TOU_TCP_RTT_H
#define TOU_TCP_RTT_H

#include <stdint.h>
#include "tcp.h"

struct tcp_rtt {
	tcp_time_t srtt, rttvar;   /* valid once has_sample */
	tcp_time_t rto;            /* current RTO, backoff not applied */
	tcp_time_t rto_min, rto_max;
	unsigned backoff;          /* number of RTO expirations since last new ack */
	int has_sample;
};

/* RFC 6298 (2.1): before any measurement RTO = initial (1 s). */
void tcp_rtt_init(struct tcp_rtt *r, tcp_time_t initial, tcp_time_t min, tcp_time_t max);
/* RFC 6298 (2.2)/(2.3) with clock granularity G = 1 ms; (2.4) min, (2.5) max.
 * Callers obey Karn's rule (RFC 6298 section 3): no sample from a
 * retransmitted segment unless timestamps identify it. */
void tcp_rtt_sample(struct tcp_rtt *r, tcp_time_t rtt);
/* The RTO to arm now: rto << backoff, clamped to rto_max (RFC 6298 (5.5)). */
tcp_time_t tcp_rtt_current_rto(const struct tcp_rtt *r);
/* RFC 6298 (5.5): the timer expired: back off. */
void tcp_rtt_on_timeout(struct tcp_rtt *r);
/* A new ACK arrived acknowledging new data: reset the backoff (RFC 6298
 * (5.7) note / RFC 9293 common practice). */
void tcp_rtt_on_new_ack(struct tcp_rtt *r);

#endif

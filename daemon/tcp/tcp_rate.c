/*
 * tcp_rate.c - delivery rate estimation, draft-ietf-ccwg-bbr section 4.1
 * (see tcp_rate.h): the estimator's arithmetic, then the engine glue that
 * runs it for a connection whose congestion control takes rate samples.
 *
 * The per-segment snapshots live in the transmission record (tcp_rack.c):
 * it stamps them when a segment is sent or resent, delivers them when the
 * cumulative ACK or a SACK block covers the segment, and counts the bytes
 * RACK marks lost.  The record is kept for such a connection whichever
 * loss detection it uses.
 */
#include <string.h>

#include "tcp_int.h"
#include "tcp_rate.h"

void tcp_rate_on_send(struct tcp_rate *c, struct tcp_rate_pkt *p, tcp_time_t send_time,
		      int idle, uint32_t inflight)
{
	/* 4.1.2.2: "if (C.inflight == 0) C.first_send_time =
	 * C.delivered_time = P.send_time" - "If there is no data in flight
	 * yet, then we can start the delivery rate interval at the current
	 * time" */
	if (idle)
		c->first_send_time = c->delivered_time = send_time;
	/* "P.first_send_time = C.first_send_time; P.delivered_time =
	 * C.delivered_time; P.delivered = C.delivered; P.is_app_limited =
	 * (C.app_limited != 0); P.tx_in_flight = C.inflight  (includes data
	 * in P)" */
	p->first_send_time = c->first_send_time;
	p->delivered_time = c->delivered_time;
	p->delivered = c->delivered;
	p->is_app_limited = c->app_limited != 0;
	p->tx_in_flight = inflight;
	p->lost = c->lost;
}

void tcp_rate_sample_init(struct tcp_rate_sample *rs)
{
	/* 4.1.2.3 InitRateSample(): "RS.rtt = -1; RS.has_data = false;
	 * RS.prior_time = 0; RS.interval = 0; RS.delivery_rate = 0" */
	memset(rs, 0, sizeof *rs);
}

void tcp_rate_delivered(struct tcp_rate *c, struct tcp_rate_sample *rs,
			const struct tcp_rate_pkt *p, uint32_t bytes, tcp_time_t send_time,
			uint32_t end_seq, tcp_time_t now)
{
	/* 4.1.2.3 UpdateRateSample(P) ("if (P.delivered_time == 0) return"
	 * is the record's business: it delivers each byte once):
	 * "C.delivered += P.data_length; C.delivered_time = Now()" */
	c->delivered += bytes;
	c->delivered_time = now;
	rs->newly_acked += bytes;
	/* "if (!RS.has_data or IsNewestPacket(P, RS))" with IsNewestPacket:
	 * "P.send_time > C.first_send_time or (P.send_time ==
	 * C.first_send_time and after(P.end_seq, RS.last_end_seq))" */
	if (rs->has_data && !(send_time > c->first_send_time ||
			      (send_time == c->first_send_time && seq_gt(end_seq, rs->last_end_seq))))
		return;
	rs->has_data = 1;
	rs->prior_delivered = p->delivered;
	rs->prior_time = p->delivered_time;
	rs->is_app_limited = p->is_app_limited;
	rs->send_elapsed = send_time - p->first_send_time;
	rs->ack_elapsed = c->delivered_time - p->delivered_time;
	rs->last_end_seq = end_seq;
	rs->last_send_time = send_time;
	/* 2.2 RS.tx_in_flight and RS.lost come from the same packet: "the
	 * most recently sent packet among packets ACKed" */
	rs->tx_in_flight = p->tx_in_flight;
	rs->lost_at_send = p->lost;
	c->first_send_time = send_time;
}

void tcp_rate_lost(struct tcp_rate *c, struct tcp_rate_sample *rs, uint32_t bytes)
{
	c->lost += bytes;
	rs->newly_lost += bytes;
}

int tcp_rate_generate(struct tcp_rate *c, struct tcp_rate_sample *rs, tcp_time_t min_rtt)
{
	/* 4.1.2.3 GenerateRateSample(): "Clear app-limited field if bubble is
	 * ACKed and gone: if (C.app_limited and C.delivered > C.app_limited)
	 * C.app_limited = 0" */
	if (c->app_limited && c->delivered > c->app_limited)
		c->app_limited = 0;
	/* "if (RS.prior_time == 0) return" (nothing delivered on this ACK) */
	if (!rs->has_data)
		return 0;
	/* "Use the longer of the send_elapsed and ack_elapsed" */
	rs->interval = rs->send_elapsed > rs->ack_elapsed ? rs->send_elapsed : rs->ack_elapsed;
	rs->delivered = c->delivered - rs->prior_delivered;
	/* 5.5.10.2: "RS.lost = C.lost - P.lost" (data lost since transmit) */
	rs->lost = c->lost - rs->lost_at_send;
	/* "if (RS.interval <  C.min_rtt) return" (no reliable rate sample) */
	if (rs->interval < min_rtt || rs->interval == 0)
		return 0;
	rs->delivery_rate = (double)rs->delivered * 1e6 / (double)rs->interval;
	return 1;
}

void tcp_rate_check_app_limited(struct tcp_rate *c, uint32_t unsent, uint32_t smss,
				uint32_t inflight, uint32_t cwnd, int lost_pending)
{
	/* 4.1.2.4 CheckIfApplicationLimited(): "if (NoUnsentData() and
	 * C.pending_transmissions == 0 and C.inflight < C.cwnd and C.lost_out
	 * <= C.retrans_out)" - NoUnsentData per 4.1.1.3 "less than one C.SMSS
	 * of unsent data"; nothing waits below the transport (the engine
	 * hands each segment to its emit callback at once) */
	if (unsent < smss && inflight < cwnd && !lost_pending)
		tcp_rate_mark_app_limited(c, inflight);
}

void tcp_rate_mark_app_limited(struct tcp_rate *c, uint32_t inflight)
{
	/* "C.app_limited = (C.delivered + C.inflight) ? : 1" */
	uint64_t mark = c->delivered + inflight;
	c->app_limited = mark ? mark : 1;
}

/* ---- engine glue ---- */

int tcp_rate_conn_on(const struct tcp_conn *c)
{
	return c->rack.cc != NULL;
}

uint32_t tcp_rate_inflight(const struct tcp_conn *c)
{
	return tcp_rack_pipe(&c->rack, c->snd_una, c->snd_nxt);
}

void tcp_rate_conn_ack_start(struct tcp_conn *c)
{
	if (tcp_rate_conn_on(c))
		tcp_rate_sample_init(&c->cc.rs);
}

void tcp_rate_conn_ack_end(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_cc *cc = &c->cc;
	if (!tcp_rate_conn_on(c) || c->detached)
		return;
	tcp_rate_generate(&cc->rate, &cc->rs, c->rack.min_rtt);
	if (!cc->rs.newly_acked && !cc->rs.newly_lost)
		return;
	cc->inflight = tcp_rate_inflight(c);
	cc->ops->on_rate_sample(cc, now);
}

void tcp_rate_conn_check_app_limited(struct tcp_conn *c)
{
	if (!tcp_rate_conn_on(c))
		return;
	uint32_t end = c->snd_buf_seq + c->sndbuf.len;
	uint32_t unsent = seq_lt(c->snd_nxt, end) ? end - c->snd_nxt : 0;
	tcp_rate_check_app_limited(&c->cc.rate, unsent, c->smss, tcp_rate_inflight(c), c->cc.cwnd,
				   c->rack.lost_bytes != 0);
}

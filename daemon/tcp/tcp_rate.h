/*
 * tcp_rate.h - delivery rate estimation: draft-ietf-ccwg-bbr section 4.1
 * "Delivery Rate Samples" (the algorithm of
 * draft-cheng-iccrg-delivery-rate-estimation, carried into the BBR draft).
 *
 * "Each acknowledgment that cumulatively or selectively acknowledges that
 * the network has delivered new data produces a rate sample which records
 * the amount of data delivered over the time interval between the
 * transmission of a data packet and the acknowledgment of that packet."
 *
 * The pure part (this header's first half) is arithmetic on the three
 * records the draft names: the connection's (C) state, the per-packet (P)
 * snapshot taken at each (re)transmission and the per-ACK rate sample (RS).
 * Times are microseconds, volumes bytes, rates bytes per second.  The
 * engine keeps one P snapshot in each entry of the transmission record
 * (tcp_rack.h, struct tcp_rack_seg) and the C and RS state in the
 * connection's struct tcp_cc; the glue that feeds them from sends, ACKs and
 * loss marks is declared at the end (tcp_rate.c).
 */
#ifndef TOU_TCP_RATE_H
#define TOU_TCP_RATE_H

#include <stdint.h>

#include "tcp.h"

/* 4.1.2.1.2 "Per-packet (P) state", taken when the segment is sent. */
struct tcp_rate_pkt {
	uint64_t delivered;          /* P.delivered */
	uint64_t lost;               /* C.lost at the send (5.5.10.2: RS.lost =
	                                C.lost - P.lost) */
	tcp_time_t delivered_time;   /* P.delivered_time */
	tcp_time_t first_send_time;  /* P.first_send_time */
	uint32_t tx_in_flight;       /* P.tx_in_flight: C.inflight after the send */
	uint8_t is_app_limited;      /* P.is_app_limited */
};

/* 4.1.2.1.1 "Per-connection (C) state". */
struct tcp_rate {
	uint64_t delivered;          /* C.delivered: bytes (S)ACKed, ever */
	uint64_t lost;               /* C.lost: bytes ever marked lost */
	tcp_time_t delivered_time;   /* C.delivered_time */
	tcp_time_t first_send_time;  /* C.first_send_time */
	uint64_t app_limited;        /* C.app_limited: 0, or the C.delivered
	                                mark the "bubble" ends at */
};

/* 4.1.2.1.3 "Rate Sample (rs) Output" and 2.2 "Per-ACK Rate Sample State". */
struct tcp_rate_sample {
	double delivery_rate;        /* RS.delivery_rate, bytes/s; 0: none */
	uint64_t delivered;          /* RS.delivered */
	uint64_t prior_delivered;    /* RS.prior_delivered */
	uint64_t lost;               /* RS.lost: marked lost since the newest
	                                delivered segment was sent */
	tcp_time_t prior_time;       /* RS.prior_time */
	tcp_time_t interval;         /* RS.interval */
	tcp_time_t send_elapsed;     /* RS.send_elapsed */
	tcp_time_t ack_elapsed;      /* RS.ack_elapsed */
	tcp_time_t rtt;              /* RS.rtt (when has_rtt) */
	tcp_time_t last_send_time;   /* P.send_time of the newest delivered */
	uint32_t last_end_seq;       /* RS.last_end_seq */
	uint32_t newly_acked;        /* RS.newly_acked (RFC 6937 DeliveredData) */
	uint32_t newly_lost;         /* RS.newly_lost */
	uint32_t tx_in_flight;       /* RS.tx_in_flight */
	uint64_t lost_at_send;       /* P.lost of the newest delivered */
	uint8_t has_data;            /* RS.has_data */
	uint8_t has_rtt;             /* RS.rtt is a sample (the draft's -1: none) */
	uint8_t is_app_limited;      /* RS.is_app_limited */
};

/* 4.1.2.2 OnPacketSent(P): snapshot C into p for a segment sent at
 * send_time; `idle` says nothing was in flight before it ("if (C.inflight
 * == 0) C.first_send_time = C.delivered_time = P.send_time"), inflight is
 * C.inflight after the send. */
void tcp_rate_on_send(struct tcp_rate *c, struct tcp_rate_pkt *p, tcp_time_t send_time,
		      int idle, uint32_t inflight);
/* 4.1.2.3 InitRateSample(). */
void tcp_rate_sample_init(struct tcp_rate_sample *rs);
/* 4.1.2.3 UpdateRateSample(P): `bytes` of the segment [.., end_seq) sent
 * at send_time with snapshot p were newly delivered at now. */
void tcp_rate_delivered(struct tcp_rate *c, struct tcp_rate_sample *rs,
			const struct tcp_rate_pkt *p, uint32_t bytes, tcp_time_t send_time,
			uint32_t end_seq, tcp_time_t now);
/* `bytes` were newly marked lost (C.lost, RS.newly_lost). */
void tcp_rate_lost(struct tcp_rate *c, struct tcp_rate_sample *rs, uint32_t bytes);
/* 4.1.2.3 GenerateRateSample(): 1 when rs holds a rate (interval at least
 * min_rtt, the lifetime minimum RTT; 0 = none yet), else 0. */
int tcp_rate_generate(struct tcp_rate *c, struct tcp_rate_sample *rs, tcp_time_t min_rtt);
/* 4.1.2.4 CheckIfApplicationLimited(): unsent bytes ready, C.inflight,
 * C.cwnd, and whether some data marked lost awaits retransmission. */
void tcp_rate_check_app_limited(struct tcp_rate *c, uint32_t unsent, uint32_t smss,
				uint32_t inflight, uint32_t cwnd, int lost_pending);
/* 5.3.4.3 MarkConnectionAppLimited(). */
void tcp_rate_mark_app_limited(struct tcp_rate *c, uint32_t inflight);

/* ---- engine glue (tcp_rate.c, for a connection whose congestion control
 * takes rate samples: tcp_rate_conn_on) ---- */
struct tcp_conn;
struct tcp_seg;
/* The congestion control wants rate samples (it has on_rate_sample). */
int tcp_rate_conn_on(const struct tcp_conn *c);
/* C.inflight: SND.NXT - SND.UNA less what is SACKed or marked lost. */
uint32_t tcp_rate_inflight(const struct tcp_conn *c);
/* An acceptable ACK arrives: InitRateSample(). */
void tcp_rate_conn_ack_start(struct tcp_conn *c);
/* The ACK's deliveries and loss marks are done: GenerateRateSample() and
 * the congestion control's on_rate_sample. */
void tcp_rate_conn_ack_end(struct tcp_conn *c, tcp_time_t now);
/* tcp_output stopped: CheckIfApplicationLimited(). */
void tcp_rate_conn_check_app_limited(struct tcp_conn *c);

#endif

/*
 * tcp_cc.h - congestion control behind one small interface (a table of
 * functions, in the spirit of ngtcp2's ngtcp2_cc).  The engine owns one
 * struct tcp_cc per connection and calls the hooks; the algorithm only
 * changes cwnd and ssthresh.  All sizes in bytes, times in microseconds.
 *
 * Algorithms: RFC 5681 + RFC 6582 NewReno, RFC 9438 CUBIC (default).
 */
#ifndef TOU_TCP_CC_H
#define TOU_TCP_CC_H

#include <stdint.h>
#include "tcp.h"

struct tcp_cc;

struct tcp_cc_ops {
	const char *name;
	/* connection established: set the initial window (RFC 6928). */
	void (*init)(struct tcp_cc *cc, tcp_time_t now);
	/* `acked` bytes newly acknowledged (cumulatively or by SACK) outside
	 * recovery; rtt is the latest sample (0 if none). */
	void (*on_ack)(struct tcp_cc *cc, uint32_t acked, tcp_time_t rtt, tcp_time_t now);
	/* loss detected by duplicate ACKs / SACK: enter fast recovery
	 * (RFC 5681 3.2 step 2 / RFC 6675 5.(4)); flight is FlightSize/pipe. */
	void (*on_congestion)(struct tcp_cc *cc, uint32_t flight, tcp_time_t now);
	/* fast recovery ended (RFC 6582: full ACK covering `recover`). */
	void (*on_recovery_end)(struct tcp_cc *cc, tcp_time_t now);
	/* retransmission timeout (RFC 5681 (4)): cwnd = 1 MSS (loss window). */
	void (*on_rto)(struct tcp_cc *cc, uint32_t flight, tcp_time_t now);
	/* RFC 5681 4.1 restart after idle: called when sending after an idle
	 * period longer than rto. */
	void (*on_idle_restart)(struct tcp_cc *cc, tcp_time_t now);
};

struct tcp_cc {
	const struct tcp_cc_ops *ops;
	uint32_t cwnd, ssthresh;   /* bytes */
	uint32_t mss;              /* SMSS */
	int in_recovery;
	/* CUBIC state (RFC 9438 section 4) */
	tcp_time_t epoch_start;    /* t=0 of the current congestion avoidance epoch, 0 = none */
	double w_max, w_last_max, k, w_est;
	uint32_t cubic_acked;      /* bytes acked in the epoch, for the Reno-friendly estimate */
	/* NewReno congestion avoidance byte counter (RFC 5681 3.1, RFC 3465) */
	uint32_t bytes_acked;
};

/* Set up cc for `algo` with sender MSS. Returns 0 or TCP_EINVAL. */
int tcp_cc_init(struct tcp_cc *cc, enum tcp_cc_algo algo, uint32_t mss, tcp_time_t now);
const struct tcp_cc_ops *tcp_cc_find(enum tcp_cc_algo algo);
/* RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)). */
uint32_t tcp_cc_initial_window(uint32_t mss);

extern const struct tcp_cc_ops tcp_cc_newreno;
extern const struct tcp_cc_ops tcp_cc_cubic;

#endif

/*
 * tcp_cc.h - congestion control behind one small interface (a table of
 * functions, in the spirit of ngtcp2's ngtcp2_cc).  The engine owns one
 * struct tcp_cc per connection and calls the hooks; the algorithm only
 * changes cwnd and ssthresh.  All sizes in bytes, times in microseconds.
 *
 * Algorithms: RFC 5681 + RFC 6582 NewReno, RFC 9438 CUBIC (default), and
 * the model-based BBR (draft-ietf-ccwg-bbr), which also sets a pacing rate
 * the engine enforces on new data (tcp_output.c) and takes delivery-rate
 * samples (tcp_rate.h) instead of on_ack.
 */
#ifndef TOU_TCP_CC_H
#define TOU_TCP_CC_H

#include <stdint.h>
#include "tcp.h"
#include "tcp_hystart.h"
#include "tcp_rate.h"
#include "tcp_cc_bbr.h"

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
	/* --- optional, for model-based algorithms (NULL otherwise) --- */
	/* Sending resumes with nothing in flight (draft-ietf-ccwg-bbr 5.2.2
	 * "Before transmitting ... check for the case where the flow is
	 * restarting from idle"). */
	void (*on_restart)(struct tcp_cc *cc, tcp_time_t now);
	/* Every ACK that delivered data or on which data was marked lost: the
	 * rate sample cc->rs is complete, cc->rate and cc->inflight are
	 * current (draft-ietf-ccwg-bbr 5.2.3 BBRUpdateOnACK).  An algorithm
	 * with this hook keeps the engine's per-segment delivery record
	 * (tcp_rate.h) and gets no on_ack. */
	void (*on_rate_sample)(struct tcp_cc *cc, tcp_time_t now);
	/* `size` bytes sent with snapshot p were marked lost (5.2.4
	 * BBRUpdateOnLoss); cc->rate.lost already counts them. */
	void (*on_packet_lost)(struct tcp_cc *cc, const struct tcp_rate_pkt *p, uint32_t size,
			       tcp_time_t now);
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
	/* --- added by the algorithms (see tcp_cc.c) --- */
	int epoch_valid;           /* epoch_start holds a time (0 is a valid time) */
	double cwnd_prior;         /* CUBIC: cwnd (segments) at the last reduction */
	double cwnd_epoch;         /* CUBIC: cwnd (segments) when the epoch began */
	tcp_time_t last_rtt;       /* latest RTT sample seen by on_ack */
	int rto_backoff;           /* on_rto seen and no new ACK since: RFC 5681
	                              (4) keeps ssthresh on repeated timeouts */
	uint64_t ca_increases;     /* statistics: congestion avoidance steps */
	double cwnd_frac;          /* CUBIC: fractional bytes of growth carried over */
	int app_limited;           /* set by the engine for each ACK: the flow did not
	                              fill cwnd (RFC 9438 5.8, RFC 7661) */
	uint32_t ack_seq, snd_nxt; /* set by the engine for each ACK: SEG.ACK and
	                              SND.NXT (HyStart++ rounds) */
	struct tcp_hystart hs;     /* RFC 9406, CUBIC's initial slow start; the
	                              engine sets it up after tcp_cc_init */
	/* --- model-based algorithms (on_rate_sample) --- */
	struct tcp_rate rate;      /* delivery-rate estimator's C state (the engine) */
	struct tcp_rate_sample rs; /* the ACK's rate sample (the engine) */
	uint32_t inflight;         /* C.inflight for on_rate_sample (the engine) */
	int cwnd_limited;          /* the engine found cwnd full since the algorithm
	                              last cleared this */
	uint64_t pacing_rate;      /* C.pacing_rate, bytes/s; 0: no pacing */
	uint32_t send_quantum;     /* C.send_quantum: the burst pacing allows */
	struct tcp_bbr bbr;        /* tcp_cc_bbr.c */
};

/* Upper bound on cwnd so byte arithmetic in uint32_t never overflows;
 * 1 GiB is the largest window RFC 7323 2.3 allows (2^30 bytes). */
#define TCP_CC_CWND_MAX (1u << 30)

/* Note on units: in struct tcp_cc cwnd, ssthresh, mss and the byte counters
 * are bytes; the CUBIC doubles (w_max, w_last_max, w_est, cwnd_prior,
 * cwnd_epoch) are in SEGMENTS of mss bytes, because RFC 9438's C = 0.4 is
 * in segments per second cubed; k is in seconds.
 *
 * Contract with the engine:
 *  - on_ack is for ACKs outside recovery; during recovery (in_recovery set by
 *    on_congestion) it does not grow cwnd, nor while app_limited is set
 *    (RFC 9438 5.8: "CUBIC does not increase its congestion window size if
 *    a flow is currently limited by the application instead of the
 *    congestion window"; RFC 7661 for NewReno).
 *  - on_congestion sets ssthresh and cwnd = ssthresh (RFC 6675 section 5
 *    (4.2): "cwnd = ssthresh"), in_recovery = 1.  A SACK sender then sends
 *    while cwnd - pipe >= 1 SMSS.  A sender without SACK that follows
 *    RFC 6582 section 3.2 uses the helpers below for the "artificially
 *    inflated" window.
 *  - on_recovery_end: RFC 6582 (3.2) step 3 full ACK: cwnd = ssthresh.
 *  - on_rto: loss window (RFC 5681 (4)); in_recovery = 0. */

/* RFC 6582 section 3.2 step 1 for a non-SACK sender entering fast
 * retransmit: cwnd = ssthresh + 3*SMSS (call right after on_congestion). */
void tcp_cc_newreno_enter_inflate(struct tcp_cc *cc);
/* RFC 6582 3.2 step 3: "For each additional duplicate ACK received ...
 * increment cwnd by SMSS." */
void tcp_cc_recovery_dupack(struct tcp_cc *cc);
/* RFC 6582 3.2 step 4 partial ACK: "deflate the congestion window by the
 * amount of new data acknowledged by the cumulative acknowledgment field.
 * If the partial ACK acknowledges at least one SMSS of new data, then add
 * back SMSS bytes to the congestion window." */
void tcp_cc_recovery_partial_ack(struct tcp_cc *cc, uint32_t acked);
/* RFC 9438 constants and the curve, exposed for tests and `tou status`. */
#define TCP_CUBIC_C 0.4     /* RFC 9438 4.2: "C SHOULD be set to 0.4" */
#define TCP_CUBIC_BETA 0.7  /* RFC 9438 4.6: "beta_cubic SHOULD be set to 0.7" */
/* W_cubic(t) = C*(t-K)^3 + W_max (RFC 9438 Figure 1), t in seconds since
 * the epoch began, result in segments, using the epoch's K and W_max. */
double tcp_cc_cubic_window(const struct tcp_cc *cc, double t);

/* Convenience: 1 while cwnd < ssthresh (RFC 5681 3.1 slow start). */
int tcp_cc_in_slow_start(const struct tcp_cc *cc);

/* Set up cc for `algo` with sender MSS. Returns 0 or TCP_EINVAL. */
int tcp_cc_init(struct tcp_cc *cc, enum tcp_cc_algo algo, uint32_t mss, tcp_time_t now);
const struct tcp_cc_ops *tcp_cc_find(enum tcp_cc_algo algo);
/* RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)). */
uint32_t tcp_cc_initial_window(uint32_t mss);

extern const struct tcp_cc_ops tcp_cc_newreno;
extern const struct tcp_cc_ops tcp_cc_cubic;
extern const struct tcp_cc_ops tcp_cc_bbr;

#endif

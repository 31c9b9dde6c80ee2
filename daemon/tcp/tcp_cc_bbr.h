/*
 * tcp_cc_bbr.h - the state of BBR congestion control (draft-ietf-ccwg-bbr,
 * "BBR Congestion Control", BBRv3; the algorithm is tcp_cc_bbr.c) and the
 * max-bw filter, exposed for the unit tests (the extra_acked filter is
 * tcp_winmax.h's).
 *
 * Names follow the draft's (BBR.x is struct tcp_bbr's x).  Volumes are
 * bytes, times microseconds, rates bytes per second (draft section 2:
 * "it is RECOMMENDED that BBR implementations use bytes and bytes per
 * second").  "Infinity" is TCP_BBR_INF for volumes, TCP_TIME_NEVER for
 * times and HUGE_VAL for rates.
 */
#ifndef TOU_TCP_CC_BBR_H
#define TOU_TCP_CC_BBR_H

#include <stdint.h>

#include "tcp.h"
#include "tcp_winmax.h"

#define TCP_BBR_INF UINT64_MAX

/* draft-ietf-ccwg-bbr 2.4-2.13 constants */
#define TCP_BBR_STARTUP_PACING_GAIN 2.77     /* 2.4: "4 * ln(2) ~= 2.77" */
#define TCP_BBR_DRAIN_PACING_GAIN 0.35       /* 2.4: "BBR uses the value 0.35" */
#define TCP_BBR_DEFAULT_CWND_GAIN 2.0        /* 2.5 BBR.DefaultCwndGain */
#define TCP_BBR_PACING_MARGIN_PERCENT 1      /* 2.4 BBR.PacingMarginPercent */
#define TCP_BBR_LOSS_THRESH 0.02             /* 2.7 BBR.LossThresh: 2% */
#define TCP_BBR_BETA 0.7                     /* 2.7 BBR.Beta */
#define TCP_BBR_HEADROOM 0.15                /* 2.7 BBR.Headroom */
#define TCP_BBR_MIN_PIPE_SEGS 4              /* 2.7 BBR.MinPipeCwnd: 4 * C.SMSS */
#define TCP_BBR_EXTRA_ACKED_FILTER_LEN 10    /* 2.11: 10 packet-timed round trips */
#define TCP_BBR_MIN_RTT_FILTER_LEN TCP_SEC(10) /* 2.13.1: 10 secs */
#define TCP_BBR_PROBE_RTT_CWND_GAIN 0.5      /* 2.13.2 */
#define TCP_BBR_PROBE_RTT_DURATION TCP_MS(200) /* 2.13.2: 200 ms */
#define TCP_BBR_PROBE_RTT_INTERVAL TCP_SEC(5) /* 2.13.2: 5 secs */
#define TCP_BBR_STARTUP_FULL_LOSS_CNT 6      /* 5.3.1.3 BBRStartupFullLossCnt */
#define TCP_BBR_PROBE_BW_DOWN_GAIN 0.90      /* 5.3.3.1 */
#define TCP_BBR_PROBE_BW_UP_PACING_GAIN 1.25 /* 5.3.3.4 */
#define TCP_BBR_PROBE_BW_UP_CWND_GAIN 2.25   /* 5.3.3.4 */
#define TCP_BBR_FULL_BW_THRESH 1.25          /* 5.3.1.2: "less than 25 percent" */
#define TCP_BBR_FULL_BW_COUNT 3              /* 5.3.1.2: "three" rounds */
#define TCP_BBR_RENO_ROUNDS_MAX 63           /* 5.3.3.5.3: T_reno bound 62-63 */
#define TCP_BBR_MAX_PROBE_UP_ROUNDS 30       /* 5.3.3.6 BBRRaiseInflightLongtermSlope */
#define TCP_BBR_SEND_QUANTUM_MAX 65536u      /* 5.6.3: 64 KBytes */

/* 5.1.1 the states */
enum tcp_bbr_state {
	TCP_BBR_STARTUP = 0,
	TCP_BBR_DRAIN,
	TCP_BBR_PROBE_BW_DOWN,
	TCP_BBR_PROBE_BW_CRUISE,
	TCP_BBR_PROBE_BW_REFILL,
	TCP_BBR_PROBE_BW_UP,
	TCP_BBR_PROBE_RTT,
};
/* BBR.ack_phase (5.3.3.6) */
enum tcp_bbr_ack_phase {
	TCP_BBR_ACKS_INIT = 0,
	TCP_BBR_ACKS_REFILLING,
	TCP_BBR_ACKS_PROBE_STARTING,
	TCP_BBR_ACKS_PROBE_FEEDBACK,
	TCP_BBR_ACKS_PROBE_STOPPING,
};

/* 2.10: the BBR.max_bw filter "only needs to track samples from two time
 * slots: the previous ProbeBW cycle and the current ProbeBW cycle". */
struct tcp_bbr_bw_filter {
	double slot[2];          /* [cycle_count & 1] is the current cycle's max */
};
/* UpdateWindowedMaxFilter(BBR.max_bw_filter, value, BBR.cycle_count, 2) */
double tcp_bbr_bw_filter_update(struct tcp_bbr_bw_filter *f, uint64_t cycle_count, double v);
/* BBRAdvanceMaxBwFilter() for the new cycle_count: its slot starts empty. */
double tcp_bbr_bw_filter_advance(struct tcp_bbr_bw_filter *f, uint64_t cycle_count);

struct tcp_bbr {
	enum tcp_bbr_state state;          /* BBR.state */
	double pacing_gain, cwnd_gain;     /* BBR.pacing_gain, BBR.cwnd_gain */
	/* 5.5.1 round counting */
	uint64_t round_count, next_round_delivered, rounds_since_bw_probe;
	int round_start;
	int idle_restart;
	/* 2.8 the model */
	struct tcp_bbr_bw_filter max_bw_filter;
	uint64_t cycle_count;              /* BBR.cycle_count */
	double max_bw, bw_shortterm, bw;   /* BBR.max_bw, bw_shortterm, bw */
	tcp_time_t min_rtt, min_rtt_stamp; /* BBR.min_rtt (TCP_TIME_NEVER: none) */
	uint64_t bdp, max_inflight;        /* BBR.bdp, BBR.max_inflight */
	uint64_t inflight_longterm, inflight_shortterm;
	uint64_t offload_budget;           /* BBR.offload_budget */
	/* 2.9 congestion signals */
	double bw_latest;
	uint64_t inflight_latest;
	int loss_in_round, loss_round_start;
	uint64_t loss_round_delivered;
	unsigned loss_events_in_round;     /* ACKs with new losses this round (5.3.1.3) */
	/* 2.11 ACK aggregation */
	tcp_time_t extra_acked_interval_start;
	uint64_t extra_acked_delivered, extra_acked;
	struct tcp_winmax extra_acked_filter;
	/* 2.12 Startup */
	int full_bw_reached, full_bw_now;
	double full_bw;
	unsigned full_bw_count;
	/* 2.13 ProbeRTT */
	tcp_time_t probe_rtt_min_delay, probe_rtt_min_stamp;
	int probe_rtt_expired;
	tcp_time_t probe_rtt_done_stamp;
	int probe_rtt_done_stamp_set;      /* the draft's "!= 0" (0 is a valid time here) */
	int probe_rtt_round_done;
	/* 5.3.3.6 ProbeBW */
	tcp_time_t cycle_stamp, bw_probe_wait;
	enum tcp_bbr_ack_phase ack_phase;
	unsigned bw_probe_up_rounds;
	uint64_t bw_probe_up_acks, probe_up_cnt;
	int bw_probe_samples;
	/* 5.6.4.4 */
	uint32_t prior_cwnd;
	/* C.is_cwnd_limited over the last round (2.1) */
	int cwnd_limited_prev, is_cwnd_limited;
	uint64_t rng;                      /* BBRPickProbeWait's randomness */
	uint64_t state_changes;            /* statistics */
};

struct tcp_cc;
/* The engine's part of BBROnInit (5.2.1) once the connection is set up:
 * "BBR.min_rtt = C.srtt ? C.srtt : Infinity" and BBRInitPacingRate() with
 * the handshake's SRTT (0: none), and a seed for the random parts of
 * BBRPickProbeWait(). */
void tcp_cc_bbr_start(struct tcp_cc *cc, tcp_time_t srtt, uint64_t seed, tcp_time_t now);
const char *tcp_cc_bbr_state_name(enum tcp_bbr_state st);

#endif

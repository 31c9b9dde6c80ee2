/*
 * tcp_hystart.h - HyStart++ (RFC 9406, "HyStart++: Modified Slow Start
 * for TCP"): the first slow start ends, through a Conservative Slow Start
 * (CSS), when the minimum RTT of a round rises above the previous round's,
 * before the bottleneck queue overflows.  Pure arithmetic on what the
 * congestion control passes (bytes acknowledged, the RTT sample, the ACK
 * and SND.NXT); CUBIC (tcp_cc_cubic.c) calls it in slow start.
 */
#ifndef TOU_TCP_HYSTART_H
#define TOU_TCP_HYSTART_H

#include <stdint.h>

#include "tcp.h"

/* RFC 9406 4.3 "Tuning Constants and Other Considerations" */
#define TCP_HS_MIN_RTT_THRESH TCP_MS(4)   /* "MIN_RTT_THRESH = 4 msec" */
#define TCP_HS_MAX_RTT_THRESH TCP_MS(16)  /* "MAX_RTT_THRESH = 16 msec" */
#define TCP_HS_MIN_RTT_DIVISOR 8          /* "MIN_RTT_DIVISOR = 8" */
#define TCP_HS_N_RTT_SAMPLE 8             /* "N_RTT_SAMPLE = 8" */
#define TCP_HS_CSS_GROWTH_DIVISOR 4       /* "CSS_GROWTH_DIVISOR = 4" */
#define TCP_HS_CSS_ROUNDS 5               /* "CSS_ROUNDS = 5" */
#define TCP_HS_L 8                        /* "L = 8 if non-paced" (tou does not pace) */

struct tcp_hystart {
	int enabled;                  /* cfg.hystart */
	int in_css;                   /* in Conservative Slow Start */
	int round_valid;              /* window_end holds a round's end */
	uint32_t window_end;          /* windowEnd: SND.NXT when the round began */
	tcp_time_t last_round_min_rtt;    /* lastRoundMinRTT, TCP_TIME_NEVER = infinity */
	tcp_time_t current_round_min_rtt; /* currentRoundMinRTT */
	tcp_time_t css_baseline_min_rtt;  /* cssBaselineMinRtt */
	unsigned rtt_sample_count;    /* rttSampleCount */
	unsigned css_rounds;          /* rounds completed in CSS */
	uint64_t css_entered;         /* times slow start gave way to CSS */
};

void tcp_hystart_init(struct tcp_hystart *h, int enabled);
/* An ACK in the initial slow start (ssthresh still at its initial value):
 * acked bytes newly acknowledged, rtt the sample it gave (0: none), ack
 * SEG.ACK and snd_nxt SND.NXT.  Returns the bytes cwnd grows by; sets
 * *to_ca when CSS is over and congestion avoidance begins (the caller
 * sets ssthresh = cwnd, RFC 9406 4.2: "enter congestion avoidance by
 * setting the ssthresh to the current cwnd"). */
uint32_t tcp_hystart_on_ack(struct tcp_hystart *h, uint32_t mss, uint32_t acked,
			    tcp_time_t rtt, uint32_t ack, uint32_t snd_nxt, int *to_ca);

#endif

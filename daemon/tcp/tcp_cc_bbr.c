/*
 * tcp_cc_bbr.c - BBR congestion control, draft-ietf-ccwg-bbr ("BBR
 * Congestion Control", BBRv3).  Section numbers below are the draft's.
 *
 * BBR "uses recent measurements of a transport connection's delivery rate,
 * round-trip time, and packet loss rate to build an explicit model of the
 * network path" (Abstract) and sets three control parameters from it: the
 * pacing rate (cc->pacing_rate, enforced by the engine on new data), the
 * send quantum (cc->send_quantum) and cwnd.  Its inputs come from the
 * engine: a delivery-rate sample per ACK (tcp_rate.h, 4.1) through
 * on_rate_sample, each segment marked lost (RACK-TLP, tcp_rack.c) through
 * on_packet_lost, the entry into and exit from fast recovery
 * (on_congestion, on_recovery_end) and the retransmission timeout.
 *
 * Random loss is not congestion here: outside bandwidth probing a round
 * with losses lowers the short-term model to what the last round delivered
 * (5.5.10.3), and only a loss rate above BBR.LossThresh (2%) while probing
 * caps inflight_longterm (5.5.10.2).  Entering fast recovery keeps cwnd
 * (5.6.4.4 "BBROnEnterFastRecovery(): BBRSaveCwnd()").
 */
#include <math.h>
#include <string.h>

#include "tcp_cc.h"

/* ---- the filters ---- */

double tcp_bbr_bw_filter_update(struct tcp_bbr_bw_filter *f, uint64_t cycle_count, double v)
{
	double *cur = &f->slot[cycle_count & 1];
	if (v > *cur)
		*cur = v;
	return f->slot[0] > f->slot[1] ? f->slot[0] : f->slot[1];
}

double tcp_bbr_bw_filter_advance(struct tcp_bbr_bw_filter *f, uint64_t cycle_count)
{
	/* 5.5.6: samples older than the previous cycle leave the window */
	f->slot[cycle_count & 1] = 0;
	return f->slot[0] > f->slot[1] ? f->slot[0] : f->slot[1];
}

const char *tcp_cc_bbr_state_name(enum tcp_bbr_state st)
{
	switch (st) {
	case TCP_BBR_STARTUP:
		return "startup";
	case TCP_BBR_DRAIN:
		return "drain";
	case TCP_BBR_PROBE_BW_DOWN:
		return "probe_bw_down";
	case TCP_BBR_PROBE_BW_CRUISE:
		return "probe_bw_cruise";
	case TCP_BBR_PROBE_BW_REFILL:
		return "probe_bw_refill";
	case TCP_BBR_PROBE_BW_UP:
		return "probe_bw_up";
	case TCP_BBR_PROBE_RTT:
		return "probe_rtt";
	}
	return "?";
}

/* ---- helpers ---- */

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static uint32_t clamp_cwnd(uint64_t w)
{
	return w > TCP_CC_CWND_MAX ? TCP_CC_CWND_MAX : (uint32_t)w;
}

static uint64_t min_pipe_cwnd(const struct tcp_cc *cc)
{
	return (uint64_t)TCP_BBR_MIN_PIPE_SEGS * cc->mss;
}

/* splitmix64 on the seed the engine gave (tcp_cc_bbr_start) */
static uint64_t bbr_random(struct tcp_bbr *b)
{
	uint64_t z = (b->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int is_probe_bw(const struct tcp_bbr *b)
{
	/* 5.3.3.6 IsInAProbeBWState() */
	return b->state == TCP_BBR_PROBE_BW_DOWN || b->state == TCP_BBR_PROBE_BW_CRUISE ||
	       b->state == TCP_BBR_PROBE_BW_REFILL || b->state == TCP_BBR_PROBE_BW_UP;
}

static int is_probing_bw(const struct tcp_bbr *b)
{
	/* 5.3.3.6 BBRIsProbingBW() */
	return b->state == TCP_BBR_STARTUP || b->state == TCP_BBR_PROBE_BW_REFILL ||
	       b->state == TCP_BBR_PROBE_BW_UP;
}

static void set_state(struct tcp_bbr *b, enum tcp_bbr_state st, double pacing_gain,
		      double cwnd_gain)
{
	if (b->state != st)
		b->state_changes++;
	b->state = st;
	b->pacing_gain = pacing_gain;
	b->cwnd_gain = cwnd_gain;
}

/* 5.5.1 BBRStartRound() */
static void start_round(struct tcp_cc *cc)
{
	cc->bbr.next_round_delivered = cc->rate.delivered;
}

/* 5.3.1.2 BBRResetFullBW() */
static void reset_full_bw(struct tcp_bbr *b)
{
	b->full_bw = 0;
	b->full_bw_count = 0;
	b->full_bw_now = 0;
}

/* 5.5.10.3 BBRResetCongestionSignals(), BBRResetShortTermModel() */
static void reset_congestion_signals(struct tcp_bbr *b)
{
	b->loss_in_round = 0;
	b->bw_latest = 0;
	b->inflight_latest = 0;
}

static void reset_short_term_model(struct tcp_bbr *b)
{
	b->bw_shortterm = HUGE_VAL;
	b->inflight_shortterm = TCP_BBR_INF;
}

/* 5.6.4.2 BBRBDPMultiple(gain) with the bandwidth bw */
static uint64_t bdp_multiple(struct tcp_cc *cc, double bw, double gain)
{
	struct tcp_bbr *b = &cc->bbr;
	if (b->min_rtt == TCP_TIME_NEVER)
		return tcp_cc_initial_window(cc->mss); /* "no valid RTT samples yet" */
	b->bdp = (uint64_t)(bw * (double)b->min_rtt / 1e6);
	return (uint64_t)(gain * (double)b->bdp);
}

/* 5.6.4.2 BBRQuantizationBudget(inflight_cap) */
static uint64_t quantization_budget(struct tcp_cc *cc, uint64_t cap)
{
	struct tcp_bbr *b = &cc->bbr;
	/* 5.5.8 BBRUpdateOffloadBudget(): "BBR.offload_budget = 3 *
	 * C.send_quantum" */
	b->offload_budget = 3ull * cc->send_quantum;
	cap = max_u64(cap, b->offload_budget);
	cap = max_u64(cap, min_pipe_cwnd(cc));
	if (b->state == TCP_BBR_PROBE_BW_UP)
		cap += 2ull * cc->mss;
	return cap;
}

/* 5.6.4.2 BBRInflight(gain), with the bandwidth named (5.3.3.6 uses
 * BBRInflight(BBR.max_bw, 1.0)) */
static uint64_t inflight_for(struct tcp_cc *cc, double bw, double gain)
{
	return quantization_budget(cc, bdp_multiple(cc, bw, gain));
}

/* 5.3.3.6 BBRInflightWithHeadroom() */
static uint64_t inflight_with_headroom(const struct tcp_cc *cc)
{
	const struct tcp_bbr *b = &cc->bbr;
	if (b->inflight_longterm == TCP_BBR_INF)
		return TCP_BBR_INF;
	uint64_t headroom = max_u64(cc->mss, (uint64_t)(TCP_BBR_HEADROOM * (double)b->inflight_longterm));
	uint64_t w = b->inflight_longterm > headroom ? b->inflight_longterm - headroom : 0;
	return max_u64(w, min_pipe_cwnd(cc));
}

/* 5.3.3.5.3 BBRTargetInflight(): "min(BBR.bdp, C.cwnd)" */
static uint64_t target_inflight(const struct tcp_cc *cc)
{
	return min_u64(cc->bbr.bdp, cc->cwnd);
}

/* 5.6.2 BBRSetPacingRateWithGain(pacing_gain) */
static void set_pacing_rate_with_gain(struct tcp_cc *cc, double gain)
{
	struct tcp_bbr *b = &cc->bbr;
	double rate = gain * b->bw * (100 - TCP_BBR_PACING_MARGIN_PERCENT) / 100.0;
	if (b->full_bw_reached || rate > (double)cc->pacing_rate)
		cc->pacing_rate = rate < 1.0 ? 1 : (uint64_t)rate;
}

/* 5.6.2 BBRInitPacingRate() */
static void init_pacing_rate(struct tcp_cc *cc, tcp_time_t srtt)
{
	double nominal = (double)tcp_cc_initial_window(cc->mss) * 1e6 /
			 (double)(srtt ? srtt : TCP_MS(1));
	cc->pacing_rate = (uint64_t)(TCP_BBR_STARTUP_PACING_GAIN * nominal);
}

/* 5.6.3 BBRSetSendQuantum() */
static void set_send_quantum(struct tcp_cc *cc)
{
	uint64_t q = cc->pacing_rate / 1000u; /* C.pacing_rate * 1ms */
	q = min_u64(q, TCP_BBR_SEND_QUANTUM_MAX);
	q = max_u64(q, 2ull * cc->mss);
	cc->send_quantum = (uint32_t)q;
}

/* 5.6.4.4 BBRSaveCwnd(), BBRRestoreCwnd() */
static void save_cwnd(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	if (!cc->in_recovery && b->state != TCP_BBR_PROBE_RTT)
		b->prior_cwnd = cc->cwnd;
	else if (cc->cwnd > b->prior_cwnd)
		b->prior_cwnd = cc->cwnd;
}

static void restore_cwnd(struct tcp_cc *cc)
{
	if (cc->bbr.prior_cwnd > cc->cwnd)
		cc->cwnd = cc->bbr.prior_cwnd;
}

/* ---- the state machine ---- */

/* 5.3.1 BBREnterStartup() */
static void enter_startup(struct tcp_cc *cc)
{
	set_state(&cc->bbr, TCP_BBR_STARTUP, TCP_BBR_STARTUP_PACING_GAIN,
		  TCP_BBR_DEFAULT_CWND_GAIN);
}

/* 5.3.2 BBREnterDrain() */
static void enter_drain(struct tcp_cc *cc)
{
	set_state(&cc->bbr, TCP_BBR_DRAIN, TCP_BBR_DRAIN_PACING_GAIN, TCP_BBR_DEFAULT_CWND_GAIN);
}

/* 5.3.3.5.3 BBRPickProbeWait() */
static void pick_probe_wait(struct tcp_bbr *b)
{
	/* "BBR.rounds_since_bw_probe = random_int_between(0, 1)" */
	b->rounds_since_bw_probe = bbr_random(b) & 1;
	/* "BBR.bw_probe_wait = 2 + random_float_between(0.0, 1.0)" secs */
	b->bw_probe_wait = TCP_SEC(2) + bbr_random(b) % (TCP_SEC(1) + 1);
}

/* 5.3.3.6 BBRStartProbeBW_DOWN() .. _UP() (gains from the table of
 * 5.6.1) */
static void start_probe_bw_down(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	reset_congestion_signals(b);
	b->probe_up_cnt = TCP_BBR_INF; /* "not growing BBR.inflight_longterm" */
	pick_probe_wait(b);
	b->cycle_stamp = now;
	b->ack_phase = TCP_BBR_ACKS_PROBE_STOPPING;
	start_round(cc);
	set_state(b, TCP_BBR_PROBE_BW_DOWN, TCP_BBR_PROBE_BW_DOWN_GAIN, TCP_BBR_DEFAULT_CWND_GAIN);
}

static void start_probe_bw_cruise(struct tcp_cc *cc)
{
	set_state(&cc->bbr, TCP_BBR_PROBE_BW_CRUISE, 1.0, TCP_BBR_DEFAULT_CWND_GAIN);
}

static void start_probe_bw_refill(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	reset_short_term_model(b);
	b->bw_probe_up_rounds = 0;
	b->bw_probe_up_acks = 0;
	b->ack_phase = TCP_BBR_ACKS_REFILLING;
	start_round(cc);
	set_state(b, TCP_BBR_PROBE_BW_REFILL, 1.0, TCP_BBR_DEFAULT_CWND_GAIN);
}

/* 5.3.3.6 BBRRaiseInflightLongtermSlope() */
static void raise_inflight_longterm_slope(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	uint64_t growth = (uint64_t)cc->mss << b->bw_probe_up_rounds;
	if (b->bw_probe_up_rounds < TCP_BBR_MAX_PROBE_UP_ROUNDS)
		b->bw_probe_up_rounds++;
	b->probe_up_cnt = max_u64(cc->cwnd / growth, 1);
}

static void start_probe_bw_up(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	b->ack_phase = TCP_BBR_ACKS_PROBE_STARTING;
	start_round(cc);
	reset_full_bw(b);
	b->full_bw = cc->rs.delivery_rate;
	set_state(b, TCP_BBR_PROBE_BW_UP, TCP_BBR_PROBE_BW_UP_PACING_GAIN,
		  TCP_BBR_PROBE_BW_UP_CWND_GAIN);
	raise_inflight_longterm_slope(cc);
}

/* 5.3.3.6 BBREnterProbeBW() */
static void enter_probe_bw(struct tcp_cc *cc, tcp_time_t now)
{
	cc->bbr.cwnd_gain = TCP_BBR_DEFAULT_CWND_GAIN;
	start_probe_bw_down(cc, now);
}

/* 5.5.10.2 IsInflightTooHigh(): "RS.lost > RS.tx_in_flight *
 * BBR.LossThresh" */
static int inflight_too_high(uint64_t lost, uint64_t tx_in_flight)
{
	return (double)lost > (double)tx_in_flight * TCP_BBR_LOSS_THRESH;
}

/* 5.5.10.2 BBRHandleInflightTooHigh() */
static void handle_inflight_too_high(struct tcp_cc *cc, uint64_t tx_in_flight, int app_limited,
				     tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	b->bw_probe_samples = 0; /* "only react once per bw probe" */
	if (!app_limited)
		b->inflight_longterm =
			max_u64(tx_in_flight, (uint64_t)((double)target_inflight(cc) * TCP_BBR_BETA));
	if (b->state == TCP_BBR_PROBE_BW_UP)
		start_probe_bw_down(cc, now);
}

/* 5.5.10.2 BBRNoteLoss() */
static void note_loss(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	if (!b->loss_in_round) /* "first loss in this round trip?" */
		b->loss_round_delivered = cc->rate.delivered;
	b->loss_in_round = 1;
}

/* 5.3.3.6 BBRIsTimeToProbeBW() and its helpers */
static int is_reno_coexistence_probe_time(const struct tcp_cc *cc)
{
	/* "reno_rounds = BBRTargetInflight(); rounds = min(reno_rounds,
	 * 63)" - in segments: T_reno is "min(reno_bdp, T_reno_bound) round
	 * trips" (5.3.3.5.2) */
	uint64_t reno_rounds = target_inflight(cc) / cc->mss;
	uint64_t rounds = min_u64(reno_rounds, TCP_BBR_RENO_ROUNDS_MAX);
	return cc->bbr.rounds_since_bw_probe >= rounds;
}

static int is_time_to_probe_bw(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	/* BBRHasElapsedInPhase(BBR.bw_probe_wait): "Now() >
	 * BBR.cycle_stamp + interval" */
	if (now > b->cycle_stamp + b->bw_probe_wait || is_reno_coexistence_probe_time(cc)) {
		start_probe_bw_refill(cc);
		return 1;
	}
	return 0;
}

static int is_time_to_cruise(struct tcp_cc *cc)
{
	/* "if (C.inflight > BBRInflightWithHeadroom()) return false  (not
	 * enough headroom); if (C.inflight <= BBRInflight(BBR.max_bw, 1.0))
	 * return true  (C.inflight <= estimated BDP)" */
	if (cc->inflight > inflight_with_headroom(cc))
		return 0;
	return cc->inflight <= inflight_for(cc, cc->bbr.max_bw, 1.0);
}

static int is_time_to_go_down(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	/* "if (C.is_cwnd_limited and C.cwnd >= BBR.inflight_longterm)
	 * BBRResetFullBW() (bw is limited by BBR.inflight_longterm);
	 * BBR.full_bw = RS.delivery_rate; else if (BBR.full_bw_now) return
	 * true" */
	if (b->is_cwnd_limited && cc->cwnd >= b->inflight_longterm) {
		reset_full_bw(b);
		b->full_bw = cc->rs.delivery_rate;
	} else if (b->full_bw_now) {
		return 1;
	}
	return 0;
}

/* 5.3.3.6 BBRProbeInflightLongtermUpward() */
static void probe_inflight_longterm_upward(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	if (!b->is_cwnd_limited || cc->cwnd < b->inflight_longterm)
		return; /* "not fully using BBR.inflight_longterm, so don't grow it" */
	b->bw_probe_up_acks += cc->rs.newly_acked;
	if (b->bw_probe_up_acks >= b->probe_up_cnt) {
		uint64_t delta = b->bw_probe_up_acks / b->probe_up_cnt;
		b->bw_probe_up_acks -= delta * b->probe_up_cnt;
		if (b->inflight_longterm != TCP_BBR_INF)
			b->inflight_longterm += delta;
	}
	if (b->round_start)
		raise_inflight_longterm_slope(cc);
}

/* 5.3.3.6 BBRAdaptLongTermModel() */
static void adapt_long_term_model(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	const struct tcp_rate_sample *rs = &cc->rs;
	if (b->ack_phase == TCP_BBR_ACKS_PROBE_STARTING && b->round_start)
		b->ack_phase = TCP_BBR_ACKS_PROBE_FEEDBACK; /* "starting to get bw probing samples" */
	if (b->ack_phase == TCP_BBR_ACKS_PROBE_STOPPING && b->round_start) {
		/* "end of samples from bw probing phase".  Once: 5.5.6 advances
		 * the filter "Each time through the Probe bw cycle, one round
		 * trip after exiting ProbeBW_UP" (the pseudocode leaves
		 * ack_phase as it is, which would age the filter every round of
		 * CRUISE), and what is acknowledged from now on was not sent
		 * while probing (5.5.10.2: the loss response to "data sent in
		 * one of the accelerating phases") */
		b->ack_phase = TCP_BBR_ACKS_INIT;
		b->bw_probe_samples = 0;
		if (is_probe_bw(b) && !rs->is_app_limited) {
			/* 5.5.6 BBRAdvanceMaxBwFilter() */
			b->cycle_count++;
			b->max_bw = tcp_bbr_bw_filter_advance(&b->max_bw_filter, b->cycle_count);
		}
	}
	if (!inflight_too_high(rs->lost, rs->tx_in_flight)) {
		/* "Loss rate is safe. Adjust upper bounds upward." */
		if (b->inflight_longterm == TCP_BBR_INF)
			return;
		if (rs->tx_in_flight > b->inflight_longterm)
			b->inflight_longterm = rs->tx_in_flight;
		if (b->state == TCP_BBR_PROBE_BW_UP)
			probe_inflight_longterm_upward(cc);
	}
}

/* 5.3.3.6 BBRUpdateProbeBWCyclePhase() */
static void update_probe_bw_cycle_phase(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	if (!b->full_bw_reached)
		return; /* "only handling steady-state behavior here" */
	adapt_long_term_model(cc);
	if (!is_probe_bw(b))
		return;
	switch (b->state) {
	case TCP_BBR_PROBE_BW_DOWN:
		if (is_time_to_probe_bw(cc, now))
			return; /* "already decided state transition" */
		if (is_time_to_cruise(cc))
			start_probe_bw_cruise(cc);
		break;
	case TCP_BBR_PROBE_BW_CRUISE:
		is_time_to_probe_bw(cc, now);
		break;
	case TCP_BBR_PROBE_BW_REFILL:
		/* "After one round of REFILL, start UP" */
		if (b->round_start) {
			b->bw_probe_samples = 1;
			start_probe_bw_up(cc);
		}
		break;
	case TCP_BBR_PROBE_BW_UP:
		if (is_time_to_go_down(cc))
			start_probe_bw_down(cc, now);
		break;
	default:
		break;
	}
}

/* 5.3.1.2 BBRCheckFullBWReached() */
static void check_full_bw_reached(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	const struct tcp_rate_sample *rs = &cc->rs;
	if (b->full_bw_now || !b->round_start || rs->is_app_limited)
		return; /* "no need to check for a full pipe now" */
	if (rs->delivery_rate >= b->full_bw * TCP_BBR_FULL_BW_THRESH) {
		reset_full_bw(b); /* "bw is still growing, so reset" */
		b->full_bw = rs->delivery_rate; /* "record new baseline bw" */
		return;
	}
	b->full_bw_count++; /* "another round w/o much growth" */
	b->full_bw_now = b->full_bw_count >= TCP_BBR_FULL_BW_COUNT;
	if (b->full_bw_now)
		b->full_bw_reached = 1;
}

/* 5.3.1.3 BBRCheckStartupHighLoss(): "The connection has been in fast
 * recovery for at least one full packet-timed round trip.  The loss rate
 * over the time scale of a single full round trip exceeds BBR.LossThresh
 * (2%).  There are at least BBRStartupFullLossCnt=6 discontiguous sequence
 * ranges lost in that round trip." - the ranges are counted as the ACKs
 * of the round on which new losses were marked. */
static void check_startup_high_loss(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	const struct tcp_rate_sample *rs = &cc->rs;
	if (b->full_bw_reached)
		return;
	if (rs->newly_lost && b->loss_events_in_round < 0xffff)
		b->loss_events_in_round++;
	if (b->loss_round_start && cc->in_recovery &&
	    b->loss_events_in_round >= TCP_BBR_STARTUP_FULL_LOSS_CNT &&
	    inflight_too_high(rs->lost, rs->tx_in_flight)) {
		/* "it sets BBR.full_bw_reached = true.  Then it sets
		 * BBR.inflight_longterm to ... max(BBR.bdp,
		 * BBR.inflight_latest)" */
		b->full_bw_reached = 1;
		b->inflight_longterm = max_u64(b->bdp, b->inflight_latest);
	}
	if (b->loss_round_start)
		b->loss_events_in_round = 0;
}

/* 5.3.1 BBRCheckStartupDone() */
static void check_startup_done(struct tcp_cc *cc)
{
	check_startup_high_loss(cc);
	if (cc->bbr.state == TCP_BBR_STARTUP && cc->bbr.full_bw_reached)
		enter_drain(cc);
}

/* 5.3.2 BBRCheckDrainDone() */
static void check_drain_done(struct tcp_cc *cc, tcp_time_t now)
{
	if (cc->bbr.state == TCP_BBR_DRAIN && cc->inflight <= inflight_for(cc, cc->bbr.bw, 1.0))
		enter_probe_bw(cc, now); /* "BBR estimates the queue was drained" */
}

/* 5.3.4.3 BBRUpdateMinRTT() */
static void update_min_rtt(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	const struct tcp_rate_sample *rs = &cc->rs;
	b->probe_rtt_expired = now > b->probe_rtt_min_stamp + TCP_BBR_PROBE_RTT_INTERVAL;
	if (rs->has_rtt && (rs->rtt < b->probe_rtt_min_delay || b->probe_rtt_expired)) {
		b->probe_rtt_min_delay = rs->rtt;
		b->probe_rtt_min_stamp = now;
	}
	int min_rtt_expired = now > b->min_rtt_stamp + TCP_BBR_MIN_RTT_FILTER_LEN;
	if (b->probe_rtt_min_delay < b->min_rtt || min_rtt_expired) {
		b->min_rtt = b->probe_rtt_min_delay;
		b->min_rtt_stamp = b->probe_rtt_min_stamp;
	}
}

/* 5.6.4.5 BBRProbeRTTCwnd() */
static uint64_t probe_rtt_cwnd(struct tcp_cc *cc)
{
	uint64_t w = bdp_multiple(cc, cc->bbr.bw, TCP_BBR_PROBE_RTT_CWND_GAIN);
	return max_u64(w, min_pipe_cwnd(cc));
}

/* 5.3.4.4 BBRExitProbeRTT() */
static void exit_probe_rtt(struct tcp_cc *cc, tcp_time_t now)
{
	reset_short_term_model(&cc->bbr);
	if (cc->bbr.full_bw_reached) {
		start_probe_bw_down(cc, now);
		start_probe_bw_cruise(cc);
	} else {
		enter_startup(cc);
	}
}

/* 5.3.4.3 BBRCheckProbeRTTDone() */
static void check_probe_rtt_done(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	if (b->probe_rtt_done_stamp_set && now > b->probe_rtt_done_stamp) {
		b->probe_rtt_min_stamp = now; /* "schedule next ProbeRTT" */
		restore_cwnd(cc);
		exit_probe_rtt(cc, now);
	}
}

/* 5.3.4.3 BBRHandleProbeRTT() */
static void handle_probe_rtt(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	/* "Ignore low rate samples during ProbeRTT:
	 * MarkConnectionAppLimited()" */
	tcp_rate_mark_app_limited(&cc->rate, cc->inflight);
	if (!b->probe_rtt_done_stamp_set && cc->inflight <= probe_rtt_cwnd(cc)) {
		/* "Wait for at least ProbeRTTDuration to elapse" and "for at
		 * least one round to elapse" */
		b->probe_rtt_done_stamp = now + TCP_BBR_PROBE_RTT_DURATION;
		b->probe_rtt_done_stamp_set = 1;
		b->probe_rtt_round_done = 0;
		start_round(cc);
	} else if (b->probe_rtt_done_stamp_set) {
		if (b->round_start)
			b->probe_rtt_round_done = 1;
		if (b->probe_rtt_round_done)
			check_probe_rtt_done(cc, now);
	}
}

/* 5.3.4.3 BBRCheckProbeRTT() */
static void check_probe_rtt(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	if (b->state != TCP_BBR_PROBE_RTT && b->probe_rtt_expired && !b->idle_restart) {
		/* BBREnterProbeRTT(): "BBR.pacing_gain = 1; BBR.cwnd_gain =
		 * BBRProbeRTTCwndGain" */
		set_state(b, TCP_BBR_PROBE_RTT, 1.0, TCP_BBR_PROBE_RTT_CWND_GAIN);
		save_cwnd(cc);
		b->probe_rtt_done_stamp_set = 0;
		b->ack_phase = TCP_BBR_ACKS_PROBE_STOPPING;
		start_round(cc);
	}
	if (b->state == TCP_BBR_PROBE_RTT)
		handle_probe_rtt(cc, now);
	if (cc->rs.delivered > 0)
		b->idle_restart = 0;
}

/* 5.5.1 BBRUpdateRound() */
static void update_round(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	if (cc->rs.has_data && cc->rs.prior_delivered >= b->next_round_delivered) {
		start_round(cc);
		b->round_count++;
		b->rounds_since_bw_probe++;
		b->round_start = 1;
		/* 2.1 C.is_cwnd_limited: "fully utilized C.cwnd at any point in
		 * the last packet-timed round trip" */
		b->cwnd_limited_prev = cc->cwnd_limited;
		cc->cwnd_limited = 0;
	} else {
		b->round_start = 0;
	}
	b->is_cwnd_limited = b->cwnd_limited_prev || cc->cwnd_limited;
}

/* 5.5.5 BBRUpdateMaxBw() */
static void update_max_bw(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	const struct tcp_rate_sample *rs = &cc->rs;
	update_round(cc);
	if (rs->delivery_rate > 0 && (rs->delivery_rate >= b->max_bw || !rs->is_app_limited))
		b->max_bw = tcp_bbr_bw_filter_update(&b->max_bw_filter, b->cycle_count,
						     rs->delivery_rate);
}

/* 5.5.10.3 the short-term model */
static void update_latest_delivery_signals(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	const struct tcp_rate_sample *rs = &cc->rs;
	b->loss_round_start = 0;
	if (rs->delivery_rate > b->bw_latest)
		b->bw_latest = rs->delivery_rate;
	if (rs->delivered > b->inflight_latest)
		b->inflight_latest = rs->delivered;
	if (rs->has_data && rs->prior_delivered >= b->loss_round_delivered) {
		b->loss_round_delivered = cc->rate.delivered;
		b->loss_round_start = 1;
	}
}

static void advance_latest_delivery_signals(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	if (b->loss_round_start) {
		b->bw_latest = cc->rs.delivery_rate;
		b->inflight_latest = cc->rs.delivered;
	}
}

static void adapt_lower_bounds_from_congestion(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	if (is_probing_bw(b))
		return;
	if (b->loss_in_round) {
		/* BBRInitLowerBounds(): "Handle the first congestion episode
		 * in this cycle" */
		if (b->bw_shortterm == HUGE_VAL)
			b->bw_shortterm = b->max_bw;
		if (b->inflight_shortterm == TCP_BBR_INF)
			b->inflight_shortterm = cc->cwnd;
		/* BBRLossLowerBounds(): "BBR.bw_shortterm = max(BBR.bw_latest,
		 * BBR.Beta * BBR.bw_shortterm); BBR.inflight_shortterm =
		 * max(BBR.inflight_latest, BBR.Beta * BBR.inflight_shortterm)" */
		double bw = TCP_BBR_BETA * b->bw_shortterm;
		b->bw_shortterm = b->bw_latest > bw ? b->bw_latest : bw;
		b->inflight_shortterm =
			max_u64(b->inflight_latest,
				(uint64_t)(TCP_BBR_BETA * (double)b->inflight_shortterm));
	}
}

static void update_congestion_signals(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	update_max_bw(cc);
	if (!b->loss_round_start)
		return; /* "wait until end of round trip" */
	adapt_lower_bounds_from_congestion(cc); /* "once per round, adapt" */
	b->loss_in_round = 0;
}

/* 5.5.9 BBRUpdateACKAggregation() */
static void update_ack_aggregation(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	tcp_time_t interval = now - b->extra_acked_interval_start;
	uint64_t expected = (uint64_t)(b->bw * (double)interval / 1e6);
	/* "Reset interval if ACK rate is below expected rate" */
	if (b->extra_acked_delivered <= expected) {
		b->extra_acked_delivered = 0;
		b->extra_acked_interval_start = now;
		expected = 0;
	}
	b->extra_acked_delivered += cc->rs.newly_acked;
	uint64_t extra = b->extra_acked_delivered - expected;
	extra = min_u64(extra, cc->cwnd);
	uint64_t len = b->full_bw_reached ? TCP_BBR_EXTRA_ACKED_FILTER_LEN : 1;
	b->extra_acked = tcp_winmax_update(&b->extra_acked_filter, len, b->round_count, extra);
}

/* 5.5.10.3 BBRBoundBWForModel() */
static void bound_bw_for_model(struct tcp_bbr *b)
{
	b->bw = b->max_bw < b->bw_shortterm ? b->max_bw : b->bw_shortterm;
}

/* 5.6.4.7 BBRBoundCwndForModel() */
static void bound_cwnd_for_model(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	uint64_t cap = TCP_BBR_INF;
	if (is_probe_bw(b) && b->state != TCP_BBR_PROBE_BW_CRUISE)
		cap = b->inflight_longterm;
	else if (b->state == TCP_BBR_PROBE_RTT || b->state == TCP_BBR_PROBE_BW_CRUISE)
		cap = inflight_with_headroom(cc);
	/* "apply BBR.inflight_shortterm (possibly infinite)" */
	cap = min_u64(cap, b->inflight_shortterm);
	cap = max_u64(cap, min_pipe_cwnd(cc));
	if (cc->cwnd > cap)
		cc->cwnd = clamp_cwnd(cap);
}

/* 5.6.4.6 BBRSetCwnd() */
static void set_cwnd(struct tcp_cc *cc)
{
	struct tcp_bbr *b = &cc->bbr;
	uint32_t acked = cc->rs.newly_acked;
	/* 5.6.4.2 BBRUpdateMaxInflight() */
	uint64_t cap = bdp_multiple(cc, b->bw, b->cwnd_gain) + b->extra_acked;
	b->max_inflight = quantization_budget(cc, cap);
	uint64_t w = cc->cwnd;
	if (b->full_bw_reached)
		w = min_u64(w + acked, b->max_inflight);
	else if (w < b->max_inflight || cc->rate.delivered < tcp_cc_initial_window(cc->mss))
		w += acked;
	w = max_u64(w, min_pipe_cwnd(cc));
	cc->cwnd = clamp_cwnd(w);
	/* 5.6.4.5 BBRBoundCwndForProbeRTT() */
	if (b->state == TCP_BBR_PROBE_RTT)
		cc->cwnd = clamp_cwnd(min_u64(cc->cwnd, probe_rtt_cwnd(cc)));
	bound_cwnd_for_model(cc);
}

/* ---- the hooks ---- */

static void bbr_init(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	/* 5.6.4.1: "BBR uses the transport sender implementation's initial
	 * congestion window" (RFC 6928) */
	cc->cwnd = tcp_cc_initial_window(cc->mss);
	cc->ssthresh = UINT32_MAX;
	cc->in_recovery = 0;
	memset(b, 0, sizeof *b);
	/* 5.2.1 BBROnInit() */
	b->max_bw = 0; /* InitWindowedMaxFilter(value=0, time=0) */
	b->min_rtt = TCP_TIME_NEVER;
	b->min_rtt_stamp = now;
	b->probe_rtt_min_delay = TCP_TIME_NEVER;
	b->probe_rtt_min_stamp = now;
	b->extra_acked_interval_start = now;
	reset_congestion_signals(b);
	reset_short_term_model(b);
	b->inflight_longterm = TCP_BBR_INF;
	b->probe_up_cnt = TCP_BBR_INF;
	reset_full_bw(b);
	init_pacing_rate(cc, 0);
	set_send_quantum(cc);
	enter_startup(cc);
	b->state_changes = 0;
}

void tcp_cc_bbr_start(struct tcp_cc *cc, tcp_time_t srtt, uint64_t seed, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	(void)now;
	b->rng = seed;
	if (srtt) {
		/* 5.2.1 "BBR.min_rtt = C.srtt ? C.srtt : Infinity" */
		b->min_rtt = srtt;
		b->probe_rtt_min_delay = srtt;
	}
	init_pacing_rate(cc, srtt);
	set_send_quantum(cc);
}

static void bbr_on_rate_sample(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	/* 5.2.3 BBRUpdateModelAndState() */
	update_latest_delivery_signals(cc);
	update_congestion_signals(cc);
	update_ack_aggregation(cc, now);
	check_full_bw_reached(cc);
	check_startup_done(cc);
	check_drain_done(cc, now);
	update_probe_bw_cycle_phase(cc, now);
	update_min_rtt(cc, now);
	check_probe_rtt(cc, now);
	advance_latest_delivery_signals(cc);
	bound_bw_for_model(b);
	/* BBRUpdateControlParameters() */
	set_pacing_rate_with_gain(cc, b->pacing_gain);
	set_send_quantum(cc);
	set_cwnd(cc);
}

static void bbr_on_packet_lost(struct tcp_cc *cc, const struct tcp_rate_pkt *p, uint32_t size,
			       tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	/* 5.5.10.2 BBRHandleLostPacket(packet) */
	note_loss(cc);
	if (!b->bw_probe_samples)
		return; /* "not a packet sent while probing bandwidth" */
	uint64_t tx_in_flight = p->tx_in_flight;   /* "C.inflight at transmit" */
	uint64_t lost = cc->rate.lost - p->lost;   /* "data lost since transmit" */
	if (!inflight_too_high(lost, tx_in_flight))
		return;
	/* BBRInflightAtLoss(): "inflight_prev = RS.tx_in_flight - size;
	 * lost_prev = RS.lost - size; lost_prefix = (BBR.LossThresh *
	 * inflight_prev - lost_prev) / (1 - BBR.LossThresh); inflight_at_loss
	 * = inflight_prev + lost_prefix" */
	double inflight_prev = tx_in_flight > size ? (double)(tx_in_flight - size) : 0.0;
	double lost_prev = lost > size ? (double)(lost - size) : 0.0;
	double prefix = (TCP_BBR_LOSS_THRESH * inflight_prev - lost_prev) / (1.0 - TCP_BBR_LOSS_THRESH);
	double at_loss = inflight_prev + prefix;
	handle_inflight_too_high(cc, at_loss > 0 ? (uint64_t)at_loss : 0, p->is_app_limited, now);
}

static void bbr_on_congestion(struct tcp_cc *cc, uint32_t flight, tcp_time_t now)
{
	(void)flight;
	(void)now;
	if (cc->in_recovery)
		return;
	/* 5.6.4.4 "BBROnEnterFastRecovery(): BBRSaveCwnd()" - cwnd stays;
	 * the model answers the losses (5.5.10).  ssthresh records the
	 * window to return to (the engine's RFC 6582 helpers for a peer
	 * without SACK inflate from it). */
	save_cwnd(cc);
	note_loss(cc);
	cc->ssthresh = cc->cwnd;
	cc->in_recovery = 1;
}

static void bbr_on_recovery_end(struct tcp_cc *cc, tcp_time_t now)
{
	(void)now;
	/* 5.6.4.4: "Upon exiting loss recovery ... BBR restores the
	 * best-known cwnd value we had upon entering loss recovery:
	 * BBRRestoreCwnd()"; BBRBoundCwndForModel() on the next ACK bounds it. */
	if (cc->in_recovery)
		restore_cwnd(cc);
	cc->in_recovery = 0;
}

static void bbr_on_rto(struct tcp_cc *cc, uint32_t flight, tcp_time_t now)
{
	(void)flight;
	(void)now;
	/* 5.6.4.4 "BBROnEnterRTO(): BBRSaveCwnd(); C.cwnd = C.inflight + 1":
	 * RACK marks the flight lost at the timeout (RFC 8985 6.3), so what
	 * remains in flight is none and cwnd allows 1 SMSS - RFC 5681's
	 * loss window too. */
	save_cwnd(cc);
	note_loss(cc);
	cc->cwnd = cc->mss;
	cc->in_recovery = 0;
}

static void bbr_on_restart(struct tcp_cc *cc, tcp_time_t now)
{
	struct tcp_bbr *b = &cc->bbr;
	/* 5.4.1 BBRHandleRestartFromIdle(): "if (C.inflight == 0 and
	 * C.app_limited)" (the engine calls with nothing in flight) */
	if (!cc->rate.app_limited)
		return;
	b->idle_restart = 1;
	b->extra_acked_interval_start = now;
	if (is_probe_bw(b))
		set_pacing_rate_with_gain(cc, 1.0);
	else if (b->state == TCP_BBR_PROBE_RTT)
		check_probe_rtt_done(cc, now);
}

const struct tcp_cc_ops tcp_cc_bbr = {
	.name = "bbr",
	.init = bbr_init,
	.on_ack = NULL,
	.on_congestion = bbr_on_congestion,
	.on_recovery_end = bbr_on_recovery_end,
	.on_rto = bbr_on_rto,
	.on_idle_restart = NULL,
	.on_restart = bbr_on_restart,
	.on_rate_sample = bbr_on_rate_sample,
	.on_packet_lost = bbr_on_packet_lost,
};

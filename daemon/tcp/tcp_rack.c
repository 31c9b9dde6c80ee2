/*
 * tcp_rack.c - RACK-TLP loss detection, RFC 8985 (see tcp_rack.h): the
 * transmission record and the RACK rules (pure), then the engine glue:
 * what an ACK, the RACK timer (reordering timeout or TLP probe timeout)
 * and an RTO do to a connection that uses it, and the sending during its
 * loss recovery.
 *
 * RACK-TLP detects losses; the response to them is the congestion
 * control's (RFC 8985 recommends PRR, RFC 6937).  Here a first loss starts
 * fast recovery as RFC 6675 5 (4) does (tcp_cc on_congestion: ssthresh and
 * cwnd = ssthresh, RFC 6582 `recover` = SND.NXT), PRR (tcp_prr.c) sets
 * cwnd = pipe + sndcnt on every ACK of the recovery, and segments go while
 * cwnd - pipe >= SMSS, lost ones first (RFC 6675 5 (C) with RACK's marks
 * for IsLost).
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"
#include "tcp_rack.h"

/* ---- the transmission record ---- */

void tcp_rack_init(struct tcp_rack *r)
{
	memset(r, 0, sizeof *r);
	/* RFC 8985 6.1: RACK.reo_wnd_mult starts at 1, RACK.reo_wnd_persist
	 * at 0 */
	r->reo_wnd_mult = 1;
}

void tcp_rack_free(struct tcp_rack *r)
{
	free(r->q);
	r->q = NULL;
	r->head = r->n = r->cap = 0;
	r->sacked_bytes = r->lost_bytes = r->segs_sacked = 0;
}

static struct tcp_rack_seg *at(const struct tcp_rack *r, uint32_t i)
{
	return &r->q[r->head + i];
}

/* Room for one more entry at the end: compact or grow.  0 or -1. */
static int reserve_one(struct tcp_rack *r)
{
	if (r->head + r->n < r->cap)
		return 0;
	if (r->head > 0 && r->head >= r->cap / 4) {
		memmove(r->q, r->q + r->head, r->n * sizeof *r->q);
		r->head = 0;
		return 0;
	}
	uint32_t cap = r->cap ? r->cap * 2 : 16;
	if (cap > (1u << 24))
		return -1;
	struct tcp_rack_seg *q = realloc(r->q, (size_t)cap * sizeof *q);
	if (!q)
		return -1;
	r->q = q;
	r->cap = cap;
	return 0;
}

/* The first entry that ends after seq (the one holding seq, or the next
 * above it); r->n if none.  Entries are in sequence order, disjoint. */
static uint32_t find(const struct tcp_rack *r, uint32_t seq)
{
	uint32_t lo = 0, hi = r->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (seq_leq(at(r, mid)->end, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Split entry i at seq (strictly inside it): i keeps [start, seq), a new
 * i+1 gets [seq, end) with the same time and flags.  0 or -1. */
static int split(struct tcp_rack *r, uint32_t i, uint32_t seq)
{
	if (reserve_one(r) != 0)
		return -1;
	struct tcp_rack_seg *e = at(r, i);
	memmove(e + 2, e + 1, (r->n - i - 1) * sizeof *e);
	e[1] = e[0];
	e[0].end = seq;
	e[1].start = seq;
	r->n++;
	return 0;
}

/* Make entry boundaries fall at a and b where they cut an entry; returns
 * the first entry inside [a, b) (r->n if none).  When a split fails the
 * entry is left whole (then treated as outside the range). */
static uint32_t carve(struct tcp_rack *r, uint32_t a, uint32_t b, int *whole)
{
	*whole = 1;
	uint32_t i = find(r, a);
	if (i < r->n && seq_lt(at(r, i)->start, a)) {
		if (split(r, i, a) == 0)
			i++;
		else
			*whole = 0;
	}
	uint32_t j = find(r, b);
	if (j < r->n && seq_lt(at(r, j)->start, b) && seq_lt(b, at(r, j)->end)) {
		if (split(r, j, b) != 0)
			*whole = 0;
	}
	return i;
}

static uint32_t seg_len(const struct tcp_rack_seg *e)
{
	return e->end - e->start;
}

static void clear_lost(struct tcp_rack *r, struct tcp_rack_seg *e)
{
	if (e->flags & TCP_RACK_LOST) {
		e->flags &= ~TCP_RACK_LOST;
		r->lost_bytes -= seg_len(e);
	}
}

void tcp_rack_on_send(struct tcp_rack *r, uint32_t seq, uint32_t len, uint32_t snd_nxt,
		      tcp_time_t now)
{
	if (!len)
		return;
	uint32_t end = seq + len;
	if (seq_lt(seq, snd_nxt)) {
		uint32_t rend = seq_lt(end, snd_nxt) ? end : snd_nxt;
		int whole;
		for (uint32_t i = carve(r, seq, rend, &whole);
		     i < r->n && seq_leq(at(r, i)->end, rend); i++) {
			struct tcp_rack_seg *e = at(r, i);
			clear_lost(r, e);
			e->flags |= TCP_RACK_RETRANS;
			e->xmit = now;
		}
		seq = rend;
	}
	if (!seq_lt(seq, end))
		return;
	if (reserve_one(r) != 0) {
		r->nomem++;
		return;
	}
	struct tcp_rack_seg *e = &r->q[r->head + r->n++];
	e->start = seq;
	e->end = end;
	e->xmit = now;
	e->flags = 0;
}

void tcp_rack_rate_stamp(struct tcp_rack *r, uint32_t seq, uint32_t len, tcp_time_t now,
			 int idle, uint32_t inflight)
{
	if (!r->cc || !len || !r->n)
		return;
	uint32_t end = seq + len;
	/* new data is the last entry; a retransmission is found by search */
	uint32_t i = seq_leq(at(r, r->n - 1)->start, seq) ? r->n - 1 : find(r, seq);
	for (; i < r->n && seq_lt(at(r, i)->start, end); i++) {
		struct tcp_rack_seg *e = at(r, i);
		if (e->xmit == now)
			tcp_rate_on_send(&r->cc->rate, &e->rs, now, idle, inflight);
	}
}

/* RFC 8985 6.2: "RACK_sent_after(t1, seq1, t2, seq2): If t1 > t2: Return
 * true; Else if t1 == t2 AND seq1 > seq2: Return true; Else: Return
 * false" */
static int sent_after(tcp_time_t t1, uint32_t seq1, tcp_time_t t2, uint32_t seq2)
{
	return t1 > t2 || (t1 == t2 && seq_gt(seq1, seq2));
}

void tcp_rack_ack_start(struct tcp_rack *r, tcp_time_t now, int has_tsecr, uint32_t tsecr,
			uint32_t ts_offset)
{
	memset(&r->ack, 0, sizeof r->ack);
	r->ack.now = now;
	r->ack.has_tsecr = has_tsecr;
	r->ack.tsecr = tsecr;
	r->ack.ts_offset = ts_offset;
}

/* `bytes` of entry e are newly acknowledged (cumulatively or
 * selectively). */
static void deliver(struct tcp_rack *r, const struct tcp_rack_seg *e, uint32_t bytes)
{
	struct tcp_rack_ack *a = &r->ack;
	/* draft-ietf-ccwg-bbr 4.1.2.3: "for each newly acknowledged packet,
	 * the connection calls UpdateRateSample()" */
	if (r->cc)
		tcp_rate_delivered(&r->cc->rate, &r->cc->rs, &e->rs, bytes, e->xmit, e->end, a->now);
	/* RFC 8985 6.2 step 3: "If Segment.end_seq > RACK.fack: RACK.fack =
	 * Segment.end_seq; Else if Segment.end_seq < RACK.fack AND
	 * Segment.retransmitted is FALSE: RACK.reordering_seen = TRUE" -
	 * in ascending order of end_seq, so only an original segment below
	 * the RACK.fack of earlier ACKs counts. */
	if (r->fack_valid && seq_lt(e->end, r->fack) && !(e->flags & TCP_RACK_RETRANS))
		a->reordered = 1;
	if (!a->delivered || seq_gt(e->end, a->max_end))
		a->max_end = e->end;
	a->delivered = 1;
	/* Step 2: "ignore a segment as invalid if any of its sequence range
	 * has been retransmitted before and if either of two conditions is
	 * true: 1. The Timestamp Echo Reply field (TSecr) of the ACK's
	 * timestamp option [RFC7323], if available, indicates the ACK was not
	 * acknowledging the last retransmission of the segment.  2. The
	 * segment was last retransmitted less than RACK.min_rtt ago." */
	if (e->flags & TCP_RACK_RETRANS) {
		uint32_t ts_xmit = (uint32_t)(e->xmit / 1000u) + a->ts_offset;
		if (a->has_tsecr && seq_lt(a->tsecr, ts_xmit))
			return;
		if (r->min_rtt && a->now - e->xmit < r->min_rtt)
			return;
	}
	if (!a->best_valid || sent_after(e->xmit, e->end, a->best_xmit, a->best_end)) {
		a->best_valid = 1;
		a->best_xmit = e->xmit;
		a->best_end = e->end;
	}
}

void tcp_rack_cum_ack(struct tcp_rack *r, uint32_t una)
{
	while (r->n && seq_leq(at(r, 0)->start, una) && seq_lt(at(r, 0)->start, una)) {
		struct tcp_rack_seg *e = at(r, 0);
		if (!(e->flags & TCP_RACK_SACKED))
			deliver(r, e, (seq_leq(e->end, una) ? e->end : una) - e->start);
		if (seq_leq(e->end, una)) {
			if (e->flags & TCP_RACK_SACKED) {
				r->sacked_bytes -= seg_len(e);
				r->segs_sacked--;
			}
			clear_lost(r, e);
			r->head++;
			r->n--;
			continue;
		}
		/* partly acknowledged (the receiver trimmed it): what remains
		 * keeps its marks */
		uint32_t gone = una - e->start;
		if (e->flags & TCP_RACK_SACKED)
			r->sacked_bytes -= gone;
		if (e->flags & TCP_RACK_LOST)
			r->lost_bytes -= gone;
		e->start = una;
		break;
	}
	if (r->n == 0) {
		/* the flight is empty: give the record back */
		tcp_rack_free(r);
	}
}

void tcp_rack_sacked(struct tcp_rack *r, uint32_t start, uint32_t end)
{
	if (!seq_lt(start, end) || !r->n)
		return;
	int whole;
	for (uint32_t i = carve(r, start, end, &whole); i < r->n && seq_leq(at(r, i)->end, end);
	     i++) {
		struct tcp_rack_seg *e = at(r, i);
		if (seq_lt(e->start, start) || (e->flags & TCP_RACK_SACKED))
			continue;
		e->flags |= TCP_RACK_SACKED;
		r->sacked_bytes += seg_len(e);
		r->segs_sacked++;
		clear_lost(r, e);
		deliver(r, e, seg_len(e));
	}
}

void tcp_rack_ack_done(struct tcp_rack *r)
{
	struct tcp_rack_ack *a = &r->ack;
	if (a->reordered)
		r->reordering_seen = 1;
	if (a->delivered && (!r->fack_valid || seq_gt(a->max_end, r->fack))) {
		r->fack = a->max_end;
		r->fack_valid = 1;
	}
	if (a->best_valid) {
		/* Step 2: "RACK.rtt = rtt"; "If RACK_sent_after(Segment.xmit_ts,
		 * Segment.end_seq, RACK.xmit_ts, RACK.end_seq): RACK.xmit_ts =
		 * Segment.xmit_ts; RACK.end_seq = Segment.end_seq" */
		tcp_time_t rtt = a->now - a->best_xmit;
		r->rtt = rtt;
		/* Step 1: "Use the RTT measurements obtained via [RFC6298] or
		 * [RFC7323] to update the estimated minimum RTT in
		 * RACK.min_RTT" - the samples of step 2 are those (Karn's rule
		 * or the TSecr decide on retransmissions). */
		if (rtt)
			tcp_rack_min_rtt_sample(r, rtt, a->now);
		if (!r->seg_valid || sent_after(a->best_xmit, a->best_end, r->xmit_ts, r->end_seq)) {
			r->xmit_ts = a->best_xmit;
			r->end_seq = a->best_end;
			r->seg_valid = 1;
		}
		/* draft-ietf-ccwg-bbr 4.2: "RS.rtt = Now() - P.send_time" of
		 * the most recently sent packet delivered, retransmission
		 * ambiguity considered - the same sample */
		if (r->cc) {
			r->cc->rs.rtt = rtt;
			r->cc->rs.has_rtt = 1;
		}
	}
	memset(a, 0, sizeof *a);
}

void tcp_rack_min_rtt_sample(struct tcp_rack *r, tcp_time_t rtt, tcp_time_t now)
{
	/* RFC 8985 6.2 step 1: "The sender SHOULD track a windowed
	 * min-filtered estimate of recent RTT measurements that can adapt
	 * when migrating to significantly longer paths rather than tracking
	 * a simple global minimum of all RTT measurements." */
	/* A windowed minimum: the running maximum (tcp_winmax.h) of
	 * UINT64_MAX - RTT; the first sample starts it. */
	uint64_t v = UINT64_MAX - rtt;
	if (!r->min_rtt)
		tcp_winmax_reset(&r->min_filter, now, v);
	r->min_rtt = UINT64_MAX - tcp_winmax_update(&r->min_filter, TCP_RACK_MIN_RTT_WLEN, now, v);
}

tcp_time_t tcp_rack_update_reo_wnd(struct tcp_rack *r, uint32_t snd_una, uint32_t snd_nxt,
				   int dsack, int in_recovery, int exiting_recovery,
				   tcp_time_t srtt)
{
	/* RFC 8985 6.2 step 4, RACK_update_reo_wnd():
	 * "If RACK.dsack_round is not None AND SND.UNA >= RACK.dsack_round:
	 *      RACK.dsack_round = None" */
	if (r->dsack_round_valid && seq_geq(snd_una, r->dsack_round))
		r->dsack_round_valid = 0;
	/* "If RACK.dsack_round is None AND any DSACK option is present on
	 * latest received ACK: RACK.dsack_round = SND.NXT; RACK.reo_wnd_mult
	 * += 1; RACK.reo_wnd_persist = 16  Else if exiting Fast or RTO
	 * recovery: RACK.reo_wnd_persist -= 1; If RACK.reo_wnd_persist <= 0:
	 * RACK.reo_wnd_mult = 1" */
	if (!r->dsack_round_valid && dsack) {
		r->dsack_round = snd_nxt;
		r->dsack_round_valid = 1;
		r->reo_wnd_mult++;
		r->reo_wnd_persist = TCP_RACK_REO_WND_PERSIST;
	} else if (exiting_recovery) {
		/* held at 0 once there (the same multiplier; an int counting
		 * down for every recovery of a long connection would wrap) */
		if (r->reo_wnd_persist > 0)
			r->reo_wnd_persist--;
		if (r->reo_wnd_persist <= 0)
			r->reo_wnd_mult = 1;
	}
	/* "If RACK.reordering_seen is FALSE: If in Fast or RTO recovery:
	 * Return 0; Else if RACK.segs_sacked >= DupThresh: Return 0" */
	if (!r->reordering_seen && (in_recovery || r->segs_sacked >= TCP_RACK_DUPTHRESH)) {
		r->reo_wnd = 0;
		return 0;
	}
	/* "Return min(RACK.reo_wnd_mult * RACK.min_RTT / 4, SRTT)" */
	tcp_time_t w = (tcp_time_t)r->reo_wnd_mult * r->min_rtt / 4;
	if (srtt && w > srtt)
		w = srtt;
	r->reo_wnd = w;
	return w;
}

static void mark_lost(struct tcp_rack *r, struct tcp_rack_seg *e, uint32_t *newly, tcp_time_t now)
{
	e->flags |= TCP_RACK_LOST;
	r->lost_bytes += seg_len(e);
	r->marked++;
	*newly += seg_len(e);
	if (r->cc) {
		/* C.lost and RS.newly_lost, then draft-ietf-ccwg-bbr 5.2.4
		 * "On every packet loss event, where some sequence range
		 * "packet" is marked lost": BBRUpdateOnLoss(packet) */
		tcp_rate_lost(&r->cc->rate, &r->cc->rs, seg_len(e));
		if (r->cc->ops && r->cc->ops->on_packet_lost)
			r->cc->ops->on_packet_lost(r->cc, &e->rs, seg_len(e), now);
	}
}

tcp_time_t tcp_rack_detect_loss(struct tcp_rack *r, tcp_time_t now, uint32_t *newly)
{
	/* RFC 8985 6.2 step 5, RACK_detect_loss(): "For each segment,
	 * Segment, not acknowledged yet: If RACK_sent_after(RACK.xmit_ts,
	 * RACK.end_seq, Segment.xmit_ts, Segment.end_seq): remaining =
	 * Segment.xmit_ts + RACK.rtt + RACK.reo_wnd - Now(); If remaining <=
	 * 0: Segment.lost = TRUE; Segment.xmit_ts = INFINITE_TS; Else:
	 * timeout = max(remaining, timeout)".  A lost entry is skipped until
	 * its retransmission gives it a new time (that is INFINITE_TS). */
	tcp_time_t timeout = 0;
	*newly = 0;
	if (!r->seg_valid)
		return 0;
	for (uint32_t i = 0; i < r->n; i++) {
		struct tcp_rack_seg *e = at(r, i);
		if (e->flags & (TCP_RACK_SACKED | TCP_RACK_LOST))
			continue;
		if (!sent_after(r->xmit_ts, r->end_seq, e->xmit, e->end)) {
			/* RFC 8985 suggests walking in send order and stopping
			 * at the first segment sent after RACK.segment; in
			 * sequence order an original transmission sent after it
			 * is followed only by later sends (originals go out in
			 * sequence order, a retransmission after its original),
			 * so the walk stops there. */
			if (!(e->flags & TCP_RACK_RETRANS))
				break;
			continue;
		}
		tcp_time_t due = e->xmit + r->rtt + r->reo_wnd;
		if (due <= now) {
			mark_lost(r, e, newly, now);
		} else if (due - now > timeout) {
			timeout = due - now;
		}
	}
	return timeout;
}

void tcp_rack_mark_losses_on_rto(struct tcp_rack *r, tcp_time_t now)
{
	/* RFC 8985 6.3, RACK_mark_losses_on_RTO(): "For each segment,
	 * Segment, not acknowledged yet: If SEG.UNA == Segment.seq OR
	 * Segment.xmit_ts + RACK.rtt + RACK.reo_wnd - Now() <= 0:
	 * Segment.lost = TRUE" */
	uint32_t newly = 0;
	for (uint32_t i = 0; i < r->n; i++) {
		struct tcp_rack_seg *e = at(r, i);
		if (e->flags & (TCP_RACK_SACKED | TCP_RACK_LOST))
			continue;
		if (i == 0 || e->xmit + r->rtt + r->reo_wnd <= now)
			mark_lost(r, e, &newly, now);
	}
}

uint32_t tcp_rack_pipe(const struct tcp_rack *r, uint32_t snd_una, uint32_t snd_nxt)
{
	uint32_t flight = seq_lt(snd_una, snd_nxt) ? snd_nxt - snd_una : 0;
	uint32_t out = r->sacked_bytes + r->lost_bytes;
	return flight > out ? flight - out : 0;
}

int tcp_rack_next_lost(const struct tcp_rack *r, uint32_t *seq, uint32_t *len)
{
	if (!r->lost_bytes)
		return 0;
	for (uint32_t i = 0; i < r->n; i++) {
		const struct tcp_rack_seg *e = at(r, i);
		if (e->flags & TCP_RACK_LOST) {
			*seq = e->start;
			*len = seg_len(e);
			return 1;
		}
	}
	return 0;
}

int tcp_rack_last(const struct tcp_rack *r, uint32_t *seq, uint32_t *len)
{
	if (!r->n)
		return 0;
	const struct tcp_rack_seg *e = at(r, r->n - 1);
	*seq = e->start;
	*len = seg_len(e);
	return 1;
}

/* ---- engine glue: a connection that uses RACK-TLP ---- */

int tcp_rack_on(const struct tcp_conn *c)
{
	/* RFC 8985 abstract: "RACK-TLP uses per-segment transmit timestamps
	 * and selective acknowledgments (SACKs)"; without SACK the connection
	 * keeps RFC 5681/6582 duplicate-ACK recovery. */
	return c->rack_on && c->sack_ok;
}

static int recovering(const struct tcp_conn *c)
{
	return c->in_fast_recovery || c->rack.rto_recovery;
}

int tcp_rack_recording(const struct tcp_conn *c)
{
	return tcp_rack_on(c) || c->rack.cc;
}

void tcp_rack_sent(struct tcp_conn *c, uint32_t seq, uint32_t used, uint32_t snd_nxt,
		   tcp_time_t now)
{
	struct tcp_rack *r = &c->rack;
	if (!tcp_rack_recording(c))
		return;
	if (!r->cc) {
		tcp_rack_on_send(r, seq, used, snd_nxt, now);
		return;
	}
	/* draft-ietf-ccwg-bbr 4.1.2.2 OnPacketSent(): "if (C.inflight ==
	 * 0)" before, "P.tx_in_flight = C.inflight  (includes data in P)"
	 * after */
	int idle = tcp_rack_pipe(r, c->snd_una, snd_nxt) == 0;
	tcp_rack_on_send(r, seq, used, snd_nxt, now);
	uint32_t nxt = seq_gt(seq + used, snd_nxt) ? seq + used : snd_nxt;
	tcp_rack_rate_stamp(r, seq, used, now, idle, tcp_rack_pipe(r, c->snd_una, nxt));
}

void tcp_rack_ack_begin(struct tcp_conn *c, const struct tcp_seg *seg, tcp_time_t now)
{
	struct tcp_rack *r = &c->rack;
	if (!tcp_rack_recording(c))
		return;
	tcp_rack_ack_start(r, now, c->ts_ok && seg->has_ts, seg->tsecr, c->ts_offset);
	r->una_before = c->snd_una;
	r->dsacks_before = c->sb.dsacks;
}

void tcp_rack_sack_cb(void *arg, uint32_t start, uint32_t end)
{
	tcp_rack_sacked(&((struct tcp_conn *)arg)->rack, start, end);
}

/* Start fast recovery on RACK's first loss mark (RFC 6675 5 (4.1)-(4.2)
 * with RFC 6582's guard: one reduction per window of data). */
static void enter_recovery(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	if (recovering(c) || !seq_gt(c->snd_una, c->recover))
		return;
	c->recover = c->snd_nxt;
	c->in_fast_recovery = 1;
	s->st.FastRetransmits++;
	s->st.SackRecoveries++;
	if (c->cc.ops->on_congestion)
		c->cc.ops->on_congestion(&c->cc, tcp_flight(c), now);
	c->rtt_timing = 0;
	tcp_prr_enter(c);
	/* (4.3) "Retransmit the first data segment presumed dropped": in
	 * send_marked, after PRR has counted this ACK (RFC 6937 3.1: the
	 * fast retransmit is part of the first ACK's sndcnt) */
	c->rack.fast_rtx_due = 1;
}

void tcp_rack_output(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_rack *r = &c->rack;
	for (unsigned guard = 0; guard < 256 && !c->detached; guard++) {
		/* RFC 6675 5 (C): "If cwnd - pipe >= 1 SMSS, the sender SHOULD
		 * transmit one or more segments", pipe from RACK's marks */
		uint32_t pipe = tcp_rack_pipe(r, c->snd_una, c->snd_nxt);
		if (c->cc.cwnd < pipe + c->smss) {
			c->cc.cwnd_limited = 1;
			break;
		}
		uint32_t seq, len;
		if (tcp_rack_next_lost(r, &seq, &len)) {
			/* NextSeg (1) with RACK's Segment.lost for IsLost */
			if (len > c->smss)
				len = c->smss;
			if (!tcp_retransmit_range(c, seq, len, now))
				break;
			continue;
		}
		/* NextSeg (2): new data, in recovery (outside it tcp_output
		 * sends by the flight), when pacing allows */
		if (!recovering(c) || !tcp_pace_allows(c, now) || !tcp_send_new_one(c, now))
			break;
	}
}

/* RFC 8985 6.2 step 5 and its timer. */
static void detect(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_rack *r = &c->rack;
	uint32_t newly;
	uint64_t marked = r->marked;
	tcp_time_t t = tcp_rack_detect_loss(r, now, &newly);
	c->s->st.RackLost += r->marked - marked;
	if (newly)
		enter_recovery(c, now);
	/* RFC 8985 6.2 step 5 "RACK_detect_loss_and_arm_timer(): timeout =
	 * RACK_detect_loss(); If timeout != 0: Arm the RACK timer to call
	 * RACK_detect_loss_and_arm_timer() after timeout" */
	if (t) {
		r->timer = TCP_RACK_T_REO;
		tcp_timer_set(c, TCP_T_RACK, now + t);
	} else if (r->timer == TCP_RACK_T_REO) {
		r->timer = TCP_RACK_T_NONE;
		tcp_timer_clear(c, TCP_T_RACK);
	}
}

/* What the marks allow to send. */
static void send_marked(struct tcp_conn *c, tcp_time_t now)
{
	uint32_t seq, len;
	if (c->rack.fast_rtx_due && !c->detached && tcp_rack_next_lost(&c->rack, &seq, &len))
		/* RFC 6675 5 (4.3), before cwnd - pipe is consulted */
		tcp_retransmit_range(c, seq, len < c->smss ? len : c->smss, now);
	c->rack.fast_rtx_due = 0;
	if (recovering(c) || c->rack.lost_bytes)
		tcp_rack_output(c, now);
}

/* The RACK timer: detection and sending without an ACK.  A timer is no
 * ACK for PRR (RFC 6937 3 "On every ACK during recovery"): the window PRR
 * set on the last ACK stays (as Linux, which runs PRR on ACKs only). */
static void detect_and_send(struct tcp_conn *c, tcp_time_t now)
{
	detect(c, now);
	send_marked(c, now);
}

/* RFC 8985 7.4 "Detecting Losses Using the ACK of the Loss Probe". */
static void tlp_process_ack(struct tcp_conn *c, const struct tcp_seg *seg, int dsack,
			    tcp_time_t now)
{
	struct tcp_rack *r = &c->rack;
	/* "If TLP.end_seq is not None AND ACK's ack. number >= TLP.end_seq" */
	if (!r->tlp_on || !seq_geq(seg->ack, r->tlp_end_seq))
		return;
	int repaired = 0;
	if (!r->tlp_is_retrans) {
		r->tlp_on = 0; /* "TLP of new data delivered" */
	} else if (dsack && seg->nsack && seg->sack[0].end == r->tlp_end_seq) {
		r->tlp_on = 0; /* "Retransmission is redundant" */
	} else if (seq_gt(seg->ack, r->tlp_end_seq)) {
		r->tlp_on = 0; /* "Repaired the single loss" */
		repaired = 1;
	} else if (seg->ack == r->una_before && !seg->nsack && !seg->len) {
		r->tlp_on = 0; /* "ACK is a DUPACK without any SACK option" */
		repaired = 1;
	}
	/* "(Invoke congestion control to lower cwnd and ssthresh)" - once,
	 * as a recovery that ends at once */
	if (repaired && !recovering(c)) {
		c->s->st.TlpRecoveries++;
		if (c->cc.ops->on_congestion)
			c->cc.ops->on_congestion(&c->cc, tcp_flight(c), now);
		if (c->cc.ops->on_recovery_end)
			c->cc.ops->on_recovery_end(&c->cc, now);
	}
}

void tcp_rack_arm_tlp(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_rack *r = &c->rack;
	if (!tcp_rack_on(c) || c->detached || r->timer == TCP_RACK_T_REO)
		return;
	/* RFC 8985 7.2: "A sender SHOULD schedule a PTO only if all of the
	 * following conditions are met: 1. The connection supports SACK
	 * [RFC2018].  2. The connection has no SACKed sequences in the SACK
	 * scoreboard.  3. The connection is not in loss recovery."  And, as
	 * Linux, one probe at a time (TLP.end_seq is None), data in flight,
	 * not into a zero window (the persist rules). */
	if (c->snd_una == c->snd_nxt || r->sacked_bytes || recovering(c) || r->lost_bytes ||
	    r->tlp_on || c->snd_wnd == 0 || !c->cc.ops) {
		if (r->timer == TCP_RACK_T_TLP) {
			r->timer = TCP_RACK_T_NONE;
			tcp_timer_clear(c, TCP_T_RACK);
		}
		return;
	}
	/* "TLP_calc_PTO(): If SRTT is available: PTO = 2 * SRTT; If
	 * FlightSize is one segment: PTO += WCDelAckT  Else: PTO = 1 sec  If
	 * Now() + PTO > TCP_RTO_expire(): PTO = TCP_RTO_expire() - Now()" */
	tcp_time_t pto;
	if (c->rtt.has_sample) {
		pto = 2 * c->rtt.srtt;
		if (tcp_flight(c) <= c->smss)
			pto += TCP_RACK_WCDELACKT;
		else
			pto += TCP_RACK_PTO_SLACK;
	} else {
		pto = TCP_SEC(1);
	}
	tcp_time_t rto = c->timers[TCP_T_RTX];
	if (rto != TCP_TIME_NEVER && now + pto > rto)
		pto = rto > now ? rto - now : 0;
	r->timer = TCP_RACK_T_TLP;
	tcp_timer_set(c, TCP_T_RACK, now + pto);
}

/* RFC 8985 7.3 "Sending a Loss Probe upon PTO Expiration". */
static void tlp_send(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	struct tcp_rack *r = &c->rack;
	if (c->snd_una == c->snd_nxt || r->tlp_on)
		return;
	/* "If TLP.end_seq is None: TLP.is_retrans = False; Segment = send
	 * buffer segment starting at SND.NXT; If Segment exists and fits the
	 * peer receive window limit: Transmit Segment ... Else: Retransmit
	 * the highest-sequence Segment sent; TLP.is_retrans = True" - the
	 * probe goes whatever cwnd says (it stands in for an RTO, which
	 * would send too). */
	uint32_t used = tcp_send_new_one(c, now);
	int is_retrans = 0;
	if (!used) {
		uint32_t seq, len;
		if (!tcp_rack_last(r, &seq, &len))
			return;
		if (len > c->smss) {
			seq += len - c->smss;
			len = c->smss;
		}
		used = tcp_retransmit_range(c, seq, len, now);
		is_retrans = 1;
	}
	if (used) {
		s->st.TlpProbes++;
		r->tlp_on = 1;
		r->tlp_is_retrans = is_retrans;
		r->tlp_end_seq = c->snd_nxt; /* "TLP.end_seq = SND.NXT" */
	}
	/* 7.3: "After attempting to send a loss probe, regardless of whether
	 * a loss probe was sent, the sender MUST re-arm the RTO timer, not
	 * the PTO timer, if the FlightSize is not zero." */
	if (c->snd_una != c->snd_nxt)
		tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
}

void tcp_rack_input(struct tcp_conn *c, const struct tcp_seg *seg, uint32_t delivered,
		    tcp_time_t now)
{
	struct tcp_rack *r = &c->rack;
	if (!c->cc.ops || c->detached)
		return;
	if (seq_gt(c->snd_una, r->una_before))
		tcp_rack_cum_ack(r, c->snd_una);
	tcp_rack_ack_done(r);
	int dsack = c->sb.dsacks != r->dsacks_before;
	tlp_process_ack(c, seg, dsack, now);
	if (r->rto_recovery && seq_geq(c->snd_una, c->recover))
		r->rto_recovery = 0;
	int exiting = r->was_recovering && !recovering(c);
	tcp_rack_update_reo_wnd(r, c->snd_una, c->snd_nxt, dsack, recovering(c), exiting,
				c->rtt.has_sample ? c->rtt.srtt : 0);
	detect(c, now);
	/* the congestion control sees the ACK's deliveries and losses before
	 * what they allow is sent; in fast recovery PRR (RFC 6937) sets the
	 * window from the ACK's DeliveredData */
	tcp_rate_conn_ack_end(c, now);
	tcp_prr_ack(c, delivered);
	send_marked(c, now);
	r->was_recovering = recovering(c);
	tcp_rack_arm_tlp(c, now);
}

void tcp_rack_record_ack(struct tcp_conn *c)
{
	struct tcp_rack *r = &c->rack;
	if (tcp_rack_on(c) || !r->cc)
		return;
	if (seq_gt(c->snd_una, r->una_before))
		tcp_rack_cum_ack(r, c->snd_una);
	tcp_rack_ack_done(r);
}

void tcp_rack_timeout(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_rack *r = &c->rack;
	int what = r->timer;
	r->timer = TCP_RACK_T_NONE;
	if (!tcp_rack_on(c) || !c->cc.ops || c->snd_una == c->snd_nxt)
		return;
	if (what == TCP_RACK_T_TLP) {
		tlp_send(c, now);
	} else if (what == TCP_RACK_T_REO) {
		detect_and_send(c, now);
		r->was_recovering = recovering(c);
	}
}

void tcp_rack_rto(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_rack *r = &c->rack;
	/* the RTO ends any probe; RTO recovery lasts until SND.UNA passes
	 * `recover` (set to SND.NXT by the caller) */
	r->tlp_on = 0;
	if (r->timer != TCP_RACK_T_NONE) {
		r->timer = TCP_RACK_T_NONE;
		tcp_timer_clear(c, TCP_T_RACK);
	}
	r->rto_recovery = 1;
	tcp_rack_update_reo_wnd(r, c->snd_una, c->snd_nxt, 0, 1, 0,
				c->rtt.has_sample ? c->rtt.srtt : 0);
	uint64_t marked = r->marked;
	tcp_rack_mark_losses_on_rto(r, now);
	c->s->st.RackLost += r->marked - marked;
	r->was_recovering = 1;
	/* RFC 6298 (5.4) "Retransmit the earliest segment that has not been
	 * acknowledged": the first lost entry, whatever cwnd says */
	uint32_t seq, len;
	if (tcp_rack_next_lost(r, &seq, &len)) {
		if (len > c->smss)
			len = c->smss;
		if (tcp_retransmit_range(c, seq, len, now))
			return;
	}
	tcp_retransmit_one(c, seq_lt(c->snd_una, c->snd_buf_seq) ? c->snd_buf_seq : c->snd_una,
			   now);
}

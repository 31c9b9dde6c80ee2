/*
 * tcp_input.c - RFC 9293 section 3.10.7 "SEGMENT ARRIVES", state by state,
 * with the RFC 5961 mitigations (3.2 RST, 4.2 SYN, 5.2 ACK, 7 rate limit),
 * RFC 7323 PAWS and timestamps, the ACK's effects (RTT, congestion control,
 * RFC 5681/6582/6675 loss recovery; RACK-TLP in tcp_rack.c) and the
 * receive side of RFC 2018 SACK.  Segments for a listener are
 * tcp_passive.c's (LISTEN, SYN cookies); the text and FIN steps are
 * tcp_reasm.c's.
 */
#include "tcp_int.h"

/* What this segment proved about its sender (tcp.h callbacks.peer): said
 * before any answer is emitted, so the answer leaves by the route it
 * sets. */
void tcp_report_peer(struct tcp_stack *s, const struct tcp_endpoint *from, int proof)
{
	if (s->cb.peer)
		s->cb.peer(s->cb.ctx, from, proof);
}

/* ---- 3.10.7.1 CLOSED ---- */

static int closed_input(struct tcp_stack *s, const struct tcp_endpoint *from,
			const struct tcp_seg *seg)
{
	s->st.DropNoConn++;
	/* "An incoming segment containing a RST is discarded." */
	if (seg->flags & TCP_RST)
		return 0;
	tcp_report_peer(s, from, TCP_PEER_UNPROVEN);
	/* "An incoming segment not containing a RST causes a RST to be sent in
	 * response. ... If the ACK bit is off, sequence number zero is used,
	 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>  If the ACK bit is on,
	 * <SEQ=SEG.ACK><CTL=RST>" */
	if (!(seg->flags & TCP_ACK))
		tcp_send_rst_raw(s, from, seg->dport, seg->sport, 0, seg->seq + tcp_seg_seqlen(seg),
				 TCP_RST | TCP_ACK);
	else
		tcp_send_rst_raw(s, from, seg->dport, seg->sport, seg->ack, 0, TCP_RST);
	return 0;
}

/* Options of a SYN: RFC 9293 3.7.1 MSS, RFC 7323 WS/TS, RFC 2018 SACK-perm */
void tcp_syn_options(struct tcp_conn *c, const struct tcp_seg *seg, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	/* RFC 9293 3.7.1: "If an MSS Option is not received at connection
	 * setup, TCP implementations MUST assume a default send MSS of 536" */
	if (seg->has_mss)
		c->peer_mss = seg->mss;
	uint32_t mss = c->peer_mss < c->adv_mss ? c->peer_mss : c->adv_mss;
	/* a path MTU already reported by ICMP (tcp_icmp.c) caps it too */
	if (mss > tcp_pmtu_mss(c))
		mss = tcp_pmtu_mss(c);
	c->ws_ok = s->cfg.window_scaling && seg->has_ws;
	if (c->ws_ok) {
		/* RFC 7323 2.3: "If a Window Scale option is received with a
		 * shift.cnt value larger than 14, the TCP SHOULD log the error
		 * but MUST use 14 instead of the specified value." */
		c->snd_wscale = seg->ws > 14 ? 14 : seg->ws;
		if (seg->ws > 14)
			tcp_log(s, TCP_LOG_NOTICE, "conn %llu: window scale %u > 14, using 14",
				(unsigned long long)c->id, (unsigned)seg->ws);
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	c->sack_ok = s->cfg.sack && seg->sack_perm;
	/* RFC 9293 3.7.1: the MSS excludes options; TCP-AO's 16 octets go in
	 * every segment (RFC 5925 7.6) */
	if (c->ao && mss > TCP_AO_OPT_LEN + 64)
		mss -= TCP_AO_OPT_LEN;
	c->ts_ok = s->cfg.timestamps && seg->has_ts;
	if (c->ts_ok) {
		c->ts_recent = seg->tsval;
		c->ts_recent_age = now;
		/* RFC 7323 / RFC 9293 3.7.1: the MSS excludes options; leave room
		 * for the 12 bytes of TSopt in every segment */
		if (mss > 12 + 64)
			mss -= 12;
	}
	if (mss < 64)
		mss = 64; /* a floor against absurd MSS values */
	c->smss = mss;
}

/* The RTT sample of a handshake, from the ACK of our SYN or SYN,ACK.
 * RFC 6298 (3): Karn's algorithm, "RTT samples MUST NOT be made using
 * segments that were retransmitted"; with timestamps the echo tells which
 * transmission is acknowledged (RFC 7323 4.1), so a TSecr older than our
 * latest SYN's TSval (the peer answered an earlier SYN, or a retransmitted
 * one it saw late) is ambiguous and not used either. */
static void handshake_rtt_sample(struct tcp_conn *c, const struct tcp_seg *seg, tcp_time_t now)
{
	if (c->from_cookie) {
		/* the cookie SYN,ACK's TSval is the clock rounded down by up to
		 * 127 ms (tcp_syncookie.h): no exact echo, no sample */
	} else if (c->ts_ok) {
		if (seg->has_ts && seg->tsecr && (c->rtx_count == 0 || seq_geq(seg->tsecr, c->ts_syn)))
			tcp_rtt_sample(&c->rtt, (tcp_time_t)(uint32_t)(tcp_ts_now(c, now) - seg->tsecr) * 1000u);
	} else if (c->rtt_timing && c->rtx_count == 0) {
		tcp_rtt_sample(&c->rtt, now - c->rtt_start);
	}
	c->rtt_timing = 0;
}

/* "any other control or text should be queued for processing later"
 * (3.10.7.2 LISTEN, 3.10.7.3 SYN-SENT without ACK): the text of a SYN
 * waits in the receive ring as out-of-order data at RCV.NXT and joins
 * the stream on ESTABLISHED (not acknowledged before), within the window
 * our SYN or SYN,ACK announces. */
void tcp_queue_syn_text(struct tcp_conn *c, const struct tcp_seg *seg)
{
	uint32_t n = (uint32_t)seg->len;
	uint32_t room = tcp_rcv_wnd_syn(c);
	if (n > room)
		n = room;
	if (n && tcp_rcv_reserve(c, n) < 0)
		n = c->rcvbuf.cap; /* what fits without memory */
	if (n && tcp_seqset_add(&c->ooo, c->rcv_nxt, c->rcv_nxt + n) == 0)
		tcp_ring_write(&c->rcvbuf, 0, seg->data, n);
}

/* ---- 3.10.7.3 SYN-SENT ---- */

static int syn_sent_input(struct tcp_conn *c, const struct tcp_seg *seg, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	int ack_ok = 0;
	/* "First, check the ACK bit: If the ACK bit is set, If SEG.ACK =< ISS
	 * or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set, if so
	 * drop the segment and return) <SEQ=SEG.ACK><CTL=RST> and discard the
	 * segment. Return.  If SND.UNA < SEG.ACK =< SND.NXT, then the ACK is
	 * acceptable." */
	if (seg->flags & TCP_ACK) {
		if (seq_leq(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_nxt)) {
			s->st.DropBadAck++;
			if (!(seg->flags & TCP_RST))
				tcp_send_rst_raw(s, &c->remote, c->lport, c->rport, seg->ack, 0, TCP_RST);
			return 0;
		}
		ack_ok = seq_lt(c->snd_una, seg->ack) && seq_leq(seg->ack, c->snd_nxt);
	}
	/* "Second, check the RST bit: ... In the SYN-SENT state (a RST received
	 * in response to an initial SYN), the RST is acceptable if the ACK
	 * field acknowledges the SYN." (RFC 5961 3.2)  "If the ACK was
	 * acceptable, then signal to the user "error: connection reset", drop
	 * the segment, enter CLOSED state, delete TCB, and return. Otherwise
	 * (no ACK), drop the segment and return." */
	if (seg->flags & TCP_RST) {
		if (ack_ok) {
			tcp_conn_closed(c, TCP_ECONNREFUSED);
		} else {
			s->st.DropOutOfWindow++;
		}
		return 0;
	}
	/* "Fourth, check the SYN bit" */
	if (!(seg->flags & TCP_SYN)) {
		/* "Fifth, if neither of the SYN or RST bits is set, then drop the
		 * segment and return." */
		s->st.DropOutOfWindow++;
		return 0;
	}
	/* an acceptable SYN,ACK completes our handshake; a bare SYN (a
	 * simultaneous open) is answered with a SYN,ACK but proves nothing */
	tcp_report_peer(s, &c->remote, ack_ok ? TCP_PEER_ACCEPTED : TCP_PEER_UNPROVEN);
	/* "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ." */
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	tcp_syn_options(c, seg, now);
	/* the window of our SYN, now relative to RCV.NXT */
	c->rcv_adv = c->rcv_nxt + tcp_rcv_wnd_syn(c);
	if (ack_ok) {
		/* "SND.UNA should be advanced to equal SEG.ACK (if there is an
		 * ACK), and any segments on the retransmission queue that are
		 * thereby acknowledged should be removed." */
		c->snd_una = seg->ack;
		handshake_rtt_sample(c, seg, now);
		tcp_rtt_on_new_ack(&c->rtt);
		tcp_timer_clear(c, TCP_T_RTX);
	}
	/* RFC 7323 2.2: the window of a SYN is not scaled */
	c->snd_wnd = seg->wnd;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
	if (seq_gt(c->snd_una, c->iss)) {
		/* "If SND.UNA > ISS (our SYN has been ACKed), change the connection
		 * state to ESTABLISHED, form an ACK segment
		 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it. Data or
		 * controls that were queued for transmission MAY be included. ...
		 * If there are other controls or text in the segment, then
		 * continue processing at the sixth step" */
		c->rtx_nxt = c->snd_nxt;
		tcp_conn_established(c, now);
		c->ack_now = 1;
		uint32_t len = (uint32_t)seg->len;
		uint32_t wnd = tcp_rcv_wnd(c);
		int fin = (seg->flags & TCP_FIN) != 0;
		if (len >= wnd) {
			/* trimmed to the window, "including SYN and FIN" (3.10.7.4):
			 * a FIN at RCV.NXT+RCV.WND lies outside it */
			len = wnd;
			fin = 0;
		}
		if (tcp_process_text(c, seg->seq + 1, seg->data, len, now) < 0)
			return 0;
		if (fin && c->rcv_nxt == seg->seq + 1 + len)
			tcp_process_fin(c, now);
		tcp_output(c, now);
		if (c->ack_now)
			tcp_send_ack(c, now);
		return 0;
	}
	/* "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
	 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it. Set the variables:
	 * SND.WND <- SEG.WND SND.WL1 <- SEG.SEQ SND.WL2 <- SEG.ACK  If there
	 * are other controls or text in the segment, queue them for processing
	 * after the ESTABLISHED state has been reached, return." */
	tcp_set_state(c, TCP_S_SYN_RECEIVED);
	tcp_queue_syn_text(c, seg);
	c->rtx_count = 0;
	tcp_send_syn(c, now);
	tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
	return 0;
}

/* ---- 3.10.7.4 the synchronized states (and SYN-RECEIVED) ---- */

/* Our SYN is not acknowledged yet: SYN-RECEIVED, or FIN-WAIT-1 entered
 * from SYN-RECEIVED by a CLOSE (RFC 9293 3.10.4, tcp_close). */
static int handshake_pending(const struct tcp_conn *c)
{
	return c->state == TCP_S_SYN_RECEIVED ||
	       (c->state == TCP_S_FIN_WAIT_1 && c->snd_una == c->iss);
}

static void challenge_ack(struct tcp_conn *c, tcp_time_t now)
{
	/* RFC 5961 3.2/4.2: "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>", rate
	 * limited per RFC 5961 7: first per connection, then by the stack's
	 * randomized budget (tcp_challenge_ack_allowed) */
	if (tcp_oow_ack_allowed(c, now, &c->s->st.AckSkippedChallenge) &&
	    tcp_challenge_ack_allowed(c->s, now))
		tcp_send_ack(c, now);
}

/* The ACK that answers an unacceptable segment (RFC 9293 3.10.7.4 "If an
 * incoming segment is not acceptable, an acknowledgment should be sent in
 * reply"), at most one per cfg.invalid_ratelimit per connection
 * (tcp_oow_ack_allowed); `skipped` counts those not sent. */
static void oow_ack(struct tcp_conn *c, tcp_time_t now, uint64_t *skipped)
{
	if (tcp_oow_ack_allowed(c, now, skipped))
		tcp_send_ack(c, now);
}

/* SYN-RECEIVED of a passive open "returns to LISTEN": the listener keeps
 * listening; this clone of it goes away. */
static void return_to_listen(struct tcp_conn *c)
{
	tcp_set_state(c, TCP_S_LISTEN);
	tcp_conn_closed(c, 0);
}

/* RFC 9293 3.10.7.4 first: the four cases of the acceptability test */
static int seq_acceptable(const struct tcp_conn *c, uint32_t seq, uint32_t seglen)
{
	uint32_t wnd = tcp_rcv_wnd(c);
	if (seglen == 0 && wnd == 0)
		return seq == c->rcv_nxt;                         /* 0, 0: SEG.SEQ = RCV.NXT */
	if (seglen == 0)
		return seq_leq(c->rcv_nxt, seq) &&                /* 0, >0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND */
		       seq_lt(seq, c->rcv_nxt + wnd);
	if (wnd == 0)
		return 0;                                         /* >0, 0: not acceptable */
	return (seq_leq(c->rcv_nxt, seq) && seq_lt(seq, c->rcv_nxt + wnd)) ||   /* >0, >0 */
	       (seq_leq(c->rcv_nxt, seq + seglen - 1) && seq_lt(seq + seglen - 1, c->rcv_nxt + wnd));
}

/* The RFC 9293 3.10.7.4 fifth step for an acceptable ACK in the
 * synchronized states: SND.UNA < SEG.ACK =< SND.NXT. */
static void new_ack(struct tcp_conn *c, const struct tcp_seg *seg, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	uint32_t acked = seg->ack - c->snd_una;
	/* RFC 9438 5.8 / RFC 7661 (tcp_cc.h app_limited): the flow is
	 * cwnd-limited if this ACK found the window (nearly) full - within one
	 * SMSS, or half of it in slow start, where ACKs come back before the
	 * window fills. */
	uint32_t flight = c->snd_nxt - c->snd_una;
	c->cc.app_limited = !((uint64_t)flight + c->smss >= c->cc.cwnd ||
			      (tcp_cc_in_slow_start(&c->cc) && 2ull * flight >= c->cc.cwnd));
	c->cc.ack_seq = seg->ack;
	c->cc.snd_nxt = c->snd_nxt;
	uint64_t css = c->cc.hs.css_entered;
	/* "set SND.UNA <- SEG.ACK. Any segments on the retransmission queue
	 * that are thereby entirely acknowledged are removed." */
	uint32_t data_acked = 0;
	if (seq_gt(seg->ack, c->snd_buf_seq)) {
		data_acked = seg->ack - c->snd_buf_seq;
		if (data_acked > c->sndbuf.len)
			data_acked = c->sndbuf.len;
		tcp_ring_consume(&c->sndbuf, data_acked);
		c->snd_buf_seq += data_acked;
		c->bytes_acked += data_acked;
		tcp_ring_used(c, now);
	}
	c->snd_una = seg->ack;
	if (seq_lt(c->rtx_nxt, c->snd_una))
		c->rtx_nxt = c->snd_una;
	/* RTT: RFC 7323 4.1 from TSecr, else the timed segment (Karn) */
	tcp_time_t rtt = 0;
	if (c->ts_ok && seg->has_ts && seg->tsecr) {
		rtt = (tcp_time_t)(uint32_t)(tcp_ts_now(c, now) - seg->tsecr) * 1000u;
		if (rtt < TCP_SEC(3600))
			tcp_rtt_sample(&c->rtt, rtt);
	} else if (c->rtt_timing && seq_gt(seg->ack, c->rtt_seq)) {
		rtt = now - c->rtt_start;
		tcp_rtt_sample(&c->rtt, rtt);
		c->rtt_timing = 0;
	}
	tcp_rtt_on_new_ack(&c->rtt);
	c->rtx_count = 0;
	c->progress_at = now;
	/* congestion control: RFC 6582 NewReno recovery, else on_ack */
	if (c->cc.ops) {
		if (c->in_fast_recovery) {
			if (seq_geq(seg->ack, c->recover)) {
				/* RFC 6582 3.2 step 3 "Full acknowledgments"; RFC 6675 5
				 * "(A) An incoming cumulative ACK for a sequence number
				 * greater than RecoveryPoint signals the end of loss
				 * recovery" */
				c->in_fast_recovery = 0;
				if (c->cc.ops->on_recovery_end)
					c->cc.ops->on_recovery_end(&c->cc, now);
			} else if (!c->sack_ok) {
				/* step 4 "Partial acknowledgments": "retransmit the
				 * first unacknowledged segment" and deflate */
				tcp_cc_recovery_partial_ack(&c->cc, acked);
				tcp_retransmit_one(c, c->snd_una, now);
			}
		} else if (c->cc.ops->on_ack) {
			c->cc.ops->on_ack(&c->cc, acked, rtt, now);
		}
	}
	s->st.HystartCss += c->cc.hs.css_entered - css;
	c->dupacks = 0;
	tcp_snd_lim_update(c);
	/* RFC 6298 (5.2) "When all outstanding data has been acknowledged,
	 * turn off the retransmission timer." (5.3) "When an ACK is received
	 * that acknowledges new data, restart the retransmission timer" */
	if (c->snd_una == c->snd_nxt)
		tcp_timer_clear(c, TCP_T_RTX);
	else
		tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
	if (data_acked && c->writable_wanted && c->sndbuf.len < c->sndbuf.lim) {
		c->writable_wanted = 0;
		tcp_conn_event(c, TCP_EVB_WRITABLE);
	}
	(void)s;
}

/* Loss detection and recovery after an ACK: RFC 5681 3.2 fast retransmit
 * on the third duplicate ACK with RFC 6582 NewReno, or with SACK the
 * RFC 6675 5 algorithm on the scoreboard, paced by PRR (RFC 6937, the
 * ACK's DeliveredData `delivered`). */
static void loss_recovery(struct tcp_conn *c, int was_dup, uint32_t delivered, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	if (!c->cc.ops || c->detached)
		return;
	if (was_dup)
		c->dupacks++;
	if (c->in_fast_recovery) {
		if (c->sack_ok) {
			tcp_prr_ack(c, delivered); /* RFC 6937 3 */
			tcp_sack_output(c, now);   /* RFC 6675 5 (C) */
		} else if (was_dup)
			/* RFC 6582 3.2 step 3 (RFC 5681 step 4): inflate per dup ACK */
			tcp_cc_recovery_dupack(&c->cc);
		return;
	}
	if (c->snd_una == c->snd_nxt)
		return;
	/* RFC 6675 5 (2)/(3): "If DupAcks >= DupThresh" or "IsLost
	 * (SND.UNA) returns true": loss recovery; without SACK the third
	 * duplicate ACK (RFC 5681 3.2 step 2). */
	int enter = c->sack_ok ? (c->dupacks >= TCP_SB_DUPTHRESH ||
				  tcp_sb_is_lost(&c->sb, c->snd_una, c->smss))
			       : (was_dup && c->dupacks == 3);
	if (!enter)
		return;
	/* RFC 6582 3.2 step 2: "If the Cumulative Acknowledgment field didn't
	 * cover more than recover, ... do not enter the fast retransmit" */
	if (!seq_gt(c->snd_una, c->recover))
		return;
	/* RFC 6675 5 (4.1) "RecoveryPoint = HighData" / RFC 6582 "recover" */
	c->recover = c->snd_nxt;
	c->in_fast_recovery = 1;
	s->st.FastRetransmits++;
	/* (4.2) ssthresh = cwnd = (FlightSize / 2) */
	if (c->cc.ops->on_congestion)
		c->cc.ops->on_congestion(&c->cc, tcp_flight(c), now);
	c->rtt_timing = 0;
	if (c->sack_ok) {
		s->st.SackRecoveries++;
		tcp_prr_enter(c);
		tcp_sb_recovery_start(&c->sb, c->snd_una);
		/* PRR counts this ACK first (RFC 6937 3.1: the fast retransmit
		 * is part of the first ACK's sndcnt) */
		tcp_prr_ack(c, delivered);
		/* (4.3) "Retransmit the first data segment presumed dropped" */
		uint32_t used = tcp_retransmit_one(c, c->snd_una, now);
		tcp_sb_on_retransmit(&c->sb, c->snd_una, used);
		/* (4.4) "Run SetPipe ()" and send while cwnd allows */
		tcp_sack_output(c, now);
	} else {
		tcp_cc_newreno_enter_inflate(&c->cc);
		tcp_retransmit_one(c, c->snd_una, now);
	}
}

static int sync_input(struct tcp_conn *c, struct tcp_seg *seg, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	uint32_t seglen = tcp_seg_seqlen(seg);
	int zero_wnd_probe = 0;
	/* RFC 7323 2.2: "The window field in a segment where the SYN bit is
	 * set (i.e., a <SYN> or <SYN,ACK>) MUST NOT be scaled." - also the
	 * SYN,ACK of a simultaneous open, whose SYN is trimmed below */
	const uint32_t seg_wnd = (seg->flags & TCP_SYN) ? (uint32_t)seg->wnd
							 : (uint32_t)seg->wnd << c->snd_wscale;

	/* RFC 7323 3.2: "If a non-<RST> segment is received without a TSopt,
	 * a TCP SHOULD silently drop the segment." */
	if (c->ts_ok && !seg->has_ts && !(seg->flags & TCP_RST) && c->state != TCP_S_SYN_RECEIVED) {
		s->st.DropPaws++;
		return 0;
	}
	/* RFC 7323 5.3 R1 (PAWS): "If there is a Timestamps option in the
	 * arriving segment, SEG.TSval < TS.Recent, TS.Recent is valid (see
	 * later discussion), and if the RST bit is not set, then treat the
	 * arriving segment as not acceptable: Send an acknowledgment in reply
	 * as specified in Section 3.10.7.4 of [RFC9293] and drop the
	 * segment."  TS.Recent is invalid after 24 days idle (5.5). */
	if (c->ts_ok && seg->has_ts && !(seg->flags & TCP_RST) &&
	    seq_lt(seg->tsval, c->ts_recent) && now - c->ts_recent_age < TCP_SEC(24u * 86400u)) {
		s->st.DropPaws++;
		oow_ack(c, now, &s->st.AckSkippedPaws);
		return 0;
	}

	/* A retransmitted SYN in SYN-RECEIVED (our SYN-ACK was lost), or the
	 * peer's SYN-ACK of a simultaneous open: the SYN lies before RCV.NXT.
	 * RFC 9293 3.10.7.4: "One could tailor actual segments to fit this
	 * assumption by trimming off any portions that lie outside the window
	 * (including SYN and FIN)". */
	if ((seg->flags & TCP_SYN) && handshake_pending(c) && seg->seq == c->irs &&
	    !(seg->flags & TCP_RST)) {
		if (!(seg->flags & TCP_ACK)) {
			/* The retransmitted SYN is the peer's latest segment: echo
			 * its TSval (it passed PAWS above), or the SYN,ACK would
			 * echo the first SYN and the peer would take its whole SYN
			 * backoff as an RTT sample. RFC 7323 4.3 rule (2) does not
			 * reach a SYN lying wholly before RCV.NXT; Linux does the
			 * same in tcp_check_req(). */
			if (c->ts_ok && seg->has_ts && seq_geq(seg->tsval, c->ts_recent)) {
				c->ts_recent = seg->tsval;
				c->ts_recent_age = now;
			}
			tcp_send_syn(c, now); /* answer the duplicate SYN */
			return 0;
		}
		seg->flags &= (uint8_t)~TCP_SYN;
		seg->seq++;
		seglen--;
		c->ack_now = 1;
	}

	/* "First, check sequence number" */
	if (!seq_acceptable(c, seg->seq, seglen)) {
		/* "If the RCV.WND is zero, no segments will be acceptable, but
		 * special allowance should be made to accept valid ACKs, URGs,
		 * and RSTs." */
		if (tcp_rcv_wnd(c) == 0 && seg->seq == c->rcv_nxt) {
			zero_wnd_probe = 1;
		} else if (seg->flags & TCP_RST) {
			/* RFC 5961 3.2 1) "If the RST bit is set and the sequence
			 * number is outside the current receive window, silently
			 * drop the segment." */
			s->st.DropOutOfWindow++;
			return 0;
		} else if (seg->flags & TCP_SYN) {
			/* RFC 5961 4.2: "If the SYN bit is set, irrespective of the
			 * sequence number, TCP MUST send an ACK (also referred to as
			 * challenge ACK) to the remote peer" */
			s->st.DropOutOfWindow++;
			challenge_ack(c, now);
			return 0;
		} else {
			/* "If an incoming segment is not acceptable, an
			 * acknowledgment should be sent in reply (unless the RST bit
			 * is set, if so drop the segment and return):
			 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> After sending the
			 * acknowledgment, drop the unacceptable segment and return." */
			s->st.DropOutOfWindow++;
			if (c->state == TCP_S_TIME_WAIT && (seg->flags & TCP_FIN) &&
			    seg->seq + seglen == c->rcv_nxt) {
				/* 3.10.7.4 TIME-WAIT: a retransmission of the remote
				 * FIN: "Acknowledge it, and restart the 2 MSL timeout."
				 * Not rate limited: the peer's LAST-ACK waits for
				 * exactly this ACK, and only a sender that knows
				 * RCV.NXT can forge the segment. */
				tcp_timer_set(c, TCP_T_2MSL, now + 2 * s->cfg.msl);
				tcp_send_ack(c, now);
				return 0;
			}
			oow_ack(c, now, c->state == TCP_S_TIME_WAIT ? &s->st.AckSkippedTimeWait
								   : &s->st.AckSkippedSeq);
			return 0;
		}
	}

	/* "Second, check the RST bit" - RFC 5961 3.2 */
	if (seg->flags & TCP_RST) {
		if (seg->seq != c->rcv_nxt) {
			/* "3) If the RST bit is set and the sequence number does not
			 * exactly match the next expected sequence value, yet is
			 * within the current receive window, TCP MUST send an
			 * acknowledgment (challenge ACK)" */
			challenge_ack(c, now);
			return 0;
		}
		/* "2) If the RST bit is set and the sequence number exactly
		 * matches the next expected sequence number (RCV.NXT), then TCP
		 * MUST reset the connection" */
		switch (c->state) {
		case TCP_S_SYN_RECEIVED:
			/* "If this connection was initiated with a passive OPEN (i.e.,
			 * came from the LISTEN state), then return this connection to
			 * LISTEN state and return. ... If this connection was
			 * initiated with an active OPEN (i.e., came from SYN-SENT
			 * state), then the connection was refused; signal the user
			 * "connection refused"." */
			if (c->passive)
				return_to_listen(c);
			else
				tcp_conn_closed(c, TCP_ECONNREFUSED);
			return 0;
		case TCP_S_ESTABLISHED:
		case TCP_S_FIN_WAIT_1:
		case TCP_S_FIN_WAIT_2:
		case TCP_S_CLOSE_WAIT:
			/* "any outstanding RECEIVEs and SEND should receive "reset"
			 * responses. All segment queues should be flushed. Users
			 * should also receive an unsolicited general "connection
			 * reset" signal. Enter the CLOSED state, delete the TCB, and
			 * return." */
			tcp_conn_closed(c, TCP_ECONNRESET);
			return 0;
		default:
			/* CLOSING, LAST-ACK, TIME-WAIT: "If the RST bit is set, then
			 * enter the CLOSED state, delete the TCB, and return." */
			tcp_conn_closed(c, c->state == TCP_S_TIME_WAIT ? 0 : TCP_ECONNRESET);
			return 0;
		}
	}

	/* "Third, check security" - not applicable (no IP security options) */

	/* "Fourth, check the SYN bit" */
	if (seg->flags & TCP_SYN) {
		/* "SYN-RECEIVED STATE: If the connection was initiated with a
		 * passive OPEN, then return this connection to the LISTEN state
		 * and return." */
		if (c->state == TCP_S_SYN_RECEIVED && c->passive) {
			return_to_listen(c);
			return 0;
		}
		/* RFC 5961 4.2 / RFC 9293: "If the SYN bit is set, irrespective of
		 * the sequence number, TCP endpoints MUST send a "challenge ACK"
		 * ... After sending the acknowledgment, TCP implementations MUST
		 * drop the unacceptable segment and stop processing further." */
		challenge_ack(c, now);
		return 0;
	}
	/* trim to the window: "the segment is the idealized segment that
	 * begins at RCV.NXT and does not exceed the window" */
	uint32_t len = (uint32_t)seg->len;
	const uint8_t *data = seg->data;
	uint32_t seq = seg->seq;
	int fin = (seg->flags & TCP_FIN) != 0;
	if (zero_wnd_probe) {
		len = 0;
		fin = 0;
		c->ack_now = 1;
	}
	if (seq_lt(seq, c->rcv_nxt)) {
		uint32_t drop = c->rcv_nxt - seq;
		if (drop >= len) {
			if (drop > len)
				fin = 0; /* the FIN is old too */
			data += len;
			len = 0;
		} else {
			data += drop;
			len -= drop;
		}
		seq = c->rcv_nxt;
		c->ack_now = 1; /* duplicate data: ACK at once (RFC 5681 4.2) */
	}
	uint32_t wnd = tcp_rcv_wnd(c);
	if (len > wnd - (seq - c->rcv_nxt)) {
		len = wnd - (seq - c->rcv_nxt);
		fin = 0;
	}
	/* "trimming off any portions that lie outside the window (including
	 * SYN and FIN)": a FIN right after data that fills the window has the
	 * sequence number RCV.NXT+RCV.WND, outside it */
	if (fin && len == wnd - (seq - c->rcv_nxt))
		fin = 0;

	/* "Fifth, check the ACK field" */
	if (!(seg->flags & TCP_ACK)) {
		/* "if the ACK bit is off, drop the segment and return" */
		return 0;
	}
	if (handshake_pending(c)) {
		/* "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state
		 * and continue processing with the variables below set to:
		 * SND.WND <- SEG.WND SND.WL1 <- SEG.SEQ SND.WL2 <- SEG.ACK  If the
		 * segment acknowledgment is not acceptable, form a reset segment
		 * <SEQ=SEG.ACK><CTL=RST> and send it." */
		if (!(seq_lt(c->snd_una, seg->ack) && seq_leq(seg->ack, c->snd_nxt))) {
			s->st.DropBadAck++;
			/* from the TCB: with timestamps negotiated the RST carries
			 * TSopt (RFC 7323 3.2 "SHOULD be sent in an <RST>
			 * segment") */
			tcp_send_ctl(c, TCP_RST, seg->ack, now);
			return 0;
		}
		c->snd_una = seg->ack;
		c->rtx_nxt = c->snd_nxt;
		handshake_rtt_sample(c, seg, now);
		tcp_rtt_on_new_ack(&c->rtt);
		if (c->snd_una == c->snd_nxt)
			tcp_timer_clear(c, TCP_T_RTX);
		else /* the FIN of a CLOSE in SYN-RECEIVED is still out */
			tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
		c->snd_wnd = seg_wnd;
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = seg->ack;
		tcp_conn_established(c, now);
		if (c->ooo.n) {
			/* text queued from the SYN (3.10.7.2) */
			uint32_t before = c->rcv_nxt;
			tcp_pull_ooo(c);
			if (c->rcv_nxt != before) {
				tcp_conn_event(c, TCP_EVB_READABLE);
				c->ack_now = 1;
			}
		}
		if (c->fin_queued) {
			/* CLOSE in SYN-RECEIVED, with its FIN sent already or
			 * queued "for processing after entering ESTABLISHED
			 * state" behind data (tcp_close) */
			tcp_set_state(c, TCP_S_FIN_WAIT_1);
		}
	} else {
		/* RFC 5961 5.2: "The ACK value is considered acceptable only if it
		 * is in the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =<
		 * SND.NXT). All incoming segments whose ACK value doesn't satisfy
		 * the above condition MUST be discarded and an ACK sent back." */
		if (seq_gt(seg->ack, c->snd_nxt)) {
			/* RFC 9293: "If the ACK acks something not yet sent (SEG.ACK >
			 * SND.NXT), then send an ACK, drop the segment, and return." */
			s->st.DropBadAck++;
			oow_ack(c, now, &s->st.AckSkippedSeq);
			return 0;
		}
		if (seq_lt(seg->ack, c->snd_una - c->max_snd_wnd)) {
			s->st.DropBadAck++;
			challenge_ack(c, now);
			return 0;
		}
	}
	/* the segment passed the first to fifth checks (or completed the
	 * handshake): the sender sees our segments */
	tcp_report_peer(s, &c->remote, TCP_PEER_ACCEPTED);
	/* RFC 7323 4.3 (2) / 5.3 R3: "If an arriving segment satisfies
	 * SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent, then record its
	 * timestamp in TS.Recent" - only now that the segment passed the
	 * sequence check, the RST and SYN checks and the ACK check (the order
	 * of RFC 7323 Appendix D; Linux records it in tcp_ack(), for an ACK in
	 * [SND.UNA, SND.NXT]).  Recorded any earlier, one spoofed segment
	 * without an ACK (or with a guessed one) that covers RCV.NXT and
	 * carries a TSval 2^31 ahead makes every later segment of the real
	 * peer fail PAWS: the connection dies.  The ACK must lie in
	 * [SND.UNA, SND.NXT], not only in RFC 5961's wider acceptable range,
	 * so a blind attacker has to guess it within the flight. */
	if (c->ts_ok && seg->has_ts && seq_leq(c->snd_una, seg->ack) &&
	    seq_geq(seg->tsval, c->ts_recent) && seq_leq(seg->seq, c->last_ack_sent)) {
		c->ts_recent = seg->tsval;
		c->ts_recent_age = now;
	}
	/* receive-window auto-tuning measures the round trip from the echo
	 * in data segments (as Linux's tcp_rcv_rtt_measure_ts) */
	if (c->ts_ok && seg->has_ts && seg->tsecr && len)
		tcp_rcv_rtt_sample(c, seg->tsecr, now);

	/* ESTABLISHED processing (also FIN-WAIT-1/2, CLOSE-WAIT, CLOSING,
	 * LAST-ACK before their additions) */
	int was_dup = 0;
	uint32_t una_before = c->snd_una;
	tcp_rate_conn_ack_start(c);
	tcp_rack_ack_begin(c, seg, now);
	if (seq_lt(c->snd_una, seg->ack))
		new_ack(c, seg, now);
	/* RFC 2018 / RFC 6675: SACK blocks update the scoreboard */
	uint32_t newly_sacked = 0;
	uint32_t sacked_before = c->sack_ok ? tcp_sb_sacked_bytes(&c->sb) : 0;
	if (c->sack_ok && seq_leq(c->snd_una, seg->ack)) {
		struct tcp_seqrange blk[TCP_SEG_MAX_SACK];
		for (unsigned i = 0; i < seg->nsack; i++) {
			blk[i].start = seg->sack[i].start;
			blk[i].end = seg->sack[i].end;
		}
		newly_sacked = tcp_sb_update_cb(&c->sb, c->snd_una, blk, seg->nsack,
						tcp_rack_recording(c) ? tcp_rack_sack_cb : NULL, c);
	}
	if (seg->ack == una_before && c->snd_una != c->snd_nxt && seg->len == 0 &&
	    !(seg->flags & TCP_FIN)) {
		/* RFC 5681 2 DUPLICATE ACKNOWLEDGMENT: outstanding data, no data,
		 * no SYN/FIN, "(b) the acknowledgment number is equal to the
		 * greatest acknowledgment received on the given connection" -
		 * SND.UNA before this ACK: an ACK that moved it is new, not
		 * the first of three duplicates - and the same advertised
		 * window (RFC 6675 2: or new SACK information).  An ACK of a
		 * zero window answers a window probe (RFC 9293 3.8.6.1): no
		 * loss signal. */
		if ((seg_wnd == c->snd_wnd || newly_sacked) && seg_wnd != 0)
			was_dup = 1;
	}
	/* "If SEG.ACK < SND.UNA, it can be ignored." */
	/* "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated.
	 * If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)),
	 * set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <-
	 * SEG.ACK." */
	if (seq_leq(c->snd_una, seg->ack) &&
	    (seq_lt(c->snd_wl1, seg->seq) || (c->snd_wl1 == seg->seq && seq_leq(c->snd_wl2, seg->ack)))) {
		uint32_t old_wnd = c->snd_wnd;
		c->snd_wnd = seg_wnd;
		if (old_wnd == 0 && c->snd_wnd && seq_lt(c->snd_una, c->snd_nxt)) {
			/* A zero window reopens: what went out meanwhile were
			 * probes the receiver could not keep (RFC 9293 3.8.6.1);
			 * resume from SND.UNA now (tcp_output below), not when
			 * the probes' backed-off timer expires.  The probe
			 * backoff ends with the zero window (as in Linux's
			 * tcp_ack_probe): the timer restarts at one RTO. */
			c->rtx_nxt = c->snd_una;
			tcp_rtt_on_new_ack(&c->rtt);
			c->rtx_count = 0;
			tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
		}
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = seg->ack;
		if (c->snd_wnd > c->max_snd_wnd)
			c->max_snd_wnd = c->snd_wnd;
		if (c->snd_wnd && c->timers[TCP_T_PERSIST] != TCP_TIME_NEVER)
			tcp_timer_clear(c, TCP_T_PERSIST);
	}
	/* RFC 6937 DeliveredData of this ACK, for PRR in fast recovery */
	uint32_t delivered = tcp_prr_delivered_data(una_before, c->snd_una, sacked_before,
						    c->sack_ok ? tcp_sb_sacked_bytes(&c->sb) : 0);
	if (tcp_rack_on(c)) {
		tcp_rack_input(c, seg, delivered, now); /* RFC 8985 */
	} else {
		tcp_rack_record_ack(c);
		loss_recovery(c, was_dup, delivered, now);
		tcp_rate_conn_ack_end(c, now);
	}
	if (c->detached)
		return 0;

	switch (c->state) {
	case TCP_S_FIN_WAIT_1:
		/* "In addition to the processing for the ESTABLISHED state, if the
		 * FIN segment is now acknowledged, then enter FIN-WAIT-2 and
		 * continue processing in that state." */
		if (tcp_fin_acked(c)) {
			tcp_set_state(c, TCP_S_FIN_WAIT_2);
			/* nobody will read what comes: an orphan does not wait
			 * for the peer's FIN forever */
			if (c->released || c->no_read)
				tcp_timer_set(c, TCP_T_2MSL, now + 2 * s->cfg.msl);
		}
		break;
	case TCP_S_CLOSING:
		/* "In addition to the processing for the ESTABLISHED state, if the
		 * ACK acknowledges our FIN, then enter the TIME-WAIT state;
		 * otherwise, ignore the segment." */
		if (tcp_fin_acked(c))
			tcp_enter_time_wait(c, now);
		/* "otherwise, ignore the segment" - its text and FIN; the ACK was
		 * processed above, and data queued before our FIN (CLOSE with a
		 * full send queue, then the peer's FIN) must keep flowing */
		break;
	case TCP_S_LAST_ACK:
		/* "The only thing that can arrive in this state is an
		 * acknowledgment of our FIN. If our FIN is now acknowledged,
		 * delete the TCB, enter the CLOSED state, and return." */
		if (tcp_fin_acked(c)) {
			tcp_conn_closed(c, 0);
			return 0;
		}
		break;
	case TCP_S_TIME_WAIT:
		/* "The only thing that can arrive in this state is a
		 * retransmission of the remote FIN. Acknowledge it, and restart
		 * the 2 MSL timeout." - whatever reaches this step (an exact
		 * retransmission of the FIN lies before RCV.NXT and was
		 * answered above): a FIN at or beyond RCV.NXT, a pure ACK above
		 * it, data.  A bare ACK at RCV.NXT is not answered (as Linux's
		 * tcp_timewait_state_process): two TIME-WAIT ends would
		 * acknowledge each other's ACKs forever.  The text is ignored,
		 * there is no FIN to process: done. */
		tcp_timer_set(c, TCP_T_2MSL, now + 2 * s->cfg.msl);
		if (seg->seq != c->rcv_nxt || seglen != 0)
			oow_ack(c, now, &s->st.AckSkippedTimeWait);
		return 0;
	default:
		break;
	}

	/* "Sixth, check the URG bit" - urgent data is not supported; the
	 * pointer is ignored (RFC 6093 discourages its use). */

	/* "Seventh, process the segment text" */
	switch (c->state) {
	case TCP_S_ESTABLISHED:
	case TCP_S_FIN_WAIT_1:
	case TCP_S_FIN_WAIT_2:
		if (tcp_process_text(c, seq, data, len, now) < 0)
			return 0;
		break;
	default:
		/* CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur
		 * since a FIN has been received from the remote side. Ignore the
		 * segment text." */
		break;
	}

	/* "Eighth, check the FIN bit" */
	tcp_fin_step(c, seq, len, fin, now);

	if (c->detached)
		return 0;
	/* keep-alive: traffic from the peer restarts the idle time */
	if (c->keepalive && (c->state == TCP_S_ESTABLISHED || c->state == TCP_S_CLOSE_WAIT)) {
		c->keepalive_sent = 0;
		tcp_timer_set(c, TCP_T_KEEPALIVE, now + s->cfg.keepalive_idle);
	}
	tcp_output(c, now);
	if (c->ack_now && !c->detached)
		tcp_send_ack(c, now);
	return 0;
}

/* Is a SYN reaching TIME-WAIT from a newer incarnation of the connection?
 * RFC 6191 2, when the old incarnation used timestamps: honored if "the
 * timestamp contained in the incoming SYN segment is greater than the last
 * timestamp seen on the previous incarnation", or equal to it with "the
 * sequence number of the incoming SYN segment ... greater than the last
 * sequence number seen" (a new connection in the same millisecond: the
 * peer's TSval clock ticks once per ms, RFC 7323 5.4; without this case
 * such a SYN drew a challenge ACK and the peer's connect stalled for its
 * 1 s SYN retransmission); a SYN without timestamps by its sequence number
 * alone.  Without timestamps, by the sequence number (RFC 1122 4.2.2.13). */
static int tw_syn_newer(const struct tcp_conn *c, const struct tcp_seg *seg)
{
	int seq_newer = seq_gt(seg->seq, c->rcv_nxt);
	if (!c->ts_ok || !seg->has_ts || !c->s->cfg.timestamps)
		return seq_newer;
	return seq_gt(seg->tsval, c->ts_recent) || (seg->tsval == c->ts_recent && seq_newer);
}

int tcp_input_seg(struct tcp_stack *s, const struct tcp_endpoint *from,
		  struct tcp_seg *seg, tcp_time_t now)
{
	if (seg->sport == 0 || seg->dport == 0) {
		s->st.InErrs++;
		s->st.DropMalformed++;
		return TCP_EMALFORMED;
	}
	int nomem;
	struct tcp_conn *c = tcp_conn_or_time_wait(s, from, seg->dport, seg->sport, &nomem);
	if (nomem)
		return TCP_ENOMEM; /* a TIME-WAIT record stays; the peer sends again */
	if (!c) {
		struct tcp_listener *l = tcp_listener_find(s, seg->dport);
		if (!l)
			return closed_input(s, from, seg);
		int r = tcp_cookie_ack_open(s, l, from, seg, now, &c);
		if (r == 0)
			return tcp_listen_input(s, l, from, seg, now, NULL);
		if (r < 0)
			return r;
		/* the ACK of a cookie: on in SYN-RECEIVED; a TCB it does not
		 * bring to ESTABLISHED (a PAWS or window failure) goes at once,
		 * leaving nothing half-open */
		c->segs_in++;
		r = sync_input(c, seg, now);
		if (!c->detached && c->state == TCP_S_SYN_RECEIVED)
			return_to_listen(c);
		return r;
	}
	if (c->state == TCP_S_TIME_WAIT && (seg->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
	    tw_syn_newer(c, seg)) {
		/* RFC 9293 3.6.1: "it MAY accept a new SYN from the remote TCP
		 * endpoint to reopen the connection directly from TIME-WAIT state
		 * (MAY-2)" - if the SYN is newer than the old incarnation
		 * (tw_syn_newer) and the port listens. */
		struct tcp_listener *l = tcp_listener_find(s, seg->dport);
		int ao_mkt;
		if (l && tcp_ao_syn_check(s, l, from, seg, &ao_mkt) == 0) {
			uint32_t old_nxt = c->snd_nxt;
			tcp_log(s, TCP_LOG_DEBUG, "conn %llu: new SYN reopens from TIME-WAIT",
				(unsigned long long)c->id);
			tcp_conn_closed(c, 0);
			return tcp_listen_input(s, l, from, seg, now, &old_nxt);
		}
	}
	/* TCP-AO (RFC 5925 7.5.2): a connection using it authenticates every
	 * segment before any other processing; failures are silently
	 * discarded (and counted) */
	if (c->ao && tcp_ao_verify(c, seg) < 0)
		return 0;
	c->segs_in++;
	if (c->state == TCP_S_SYN_SENT)
		return syn_sent_input(c, seg, now);
	return sync_input(c, seg, now);
}

/*
 * tcp_output.c - building and sending segments: SYN / SYN-ACK with options,
 * data segmented by the peer's MSS and the send window (RFC 9293 3.8.6,
 * Nagle 3.7.4, sender SWS avoidance 3.8.6.2.1), FIN after the queued data,
 * ACKs, RSTs, and the retransmission (RFC 6298), persist (RFC 9293
 * 3.8.6.1) and keep-alive (RFC 9293 3.8.4) timers.
 */
#include <string.h>

#include "tcp_int.h"

uint32_t tcp_ts_now(const struct tcp_conn *c, tcp_time_t now)
{
	/* RFC 7323 5.4: a 1 ms timestamp clock, with an offset per 4-tuple
	 * (RFC 7323 7.1, tcp_conn_new) */
	uint32_t ts = (uint32_t)(now / 1000u) + c->ts_offset;
	/* RFC 7323 5.4: "the receiver treats the timestamp as simply a
	 * monotone-increasing serial number"; its PAWS test (5.3 R1) drops a
	 * segment whose TSval is older than one it already recorded.  A
	 * caller that passes a `now` older than one it passed before (taken
	 * at the start of a batch of work) must not make the clock run
	 * backwards.  Sequence-space comparison: the clock wraps. */
	if (c->ts_sent && seq_lt(ts, c->ts_last))
		ts = c->ts_last;
	return ts;
}

/* The TSval of a segment being sent now: the clock, remembered as the
 * newest one sent. */
static uint32_t ts_stamp(struct tcp_conn *c, tcp_time_t now)
{
	uint32_t ts = tcp_ts_now(c, now);
	c->ts_last = ts;
	c->ts_sent = 1;
	return ts;
}

uint32_t tcp_flight(const struct tcp_conn *c)
{
	return c->snd_nxt - c->snd_una;
}

static uint32_t data_end(const struct tcp_conn *c)
{
	return c->snd_buf_seq + c->sndbuf.len;
}

/* ---- the receive window: every computation of it is here ----
 *
 * RCV.BUFF is the receive ring's limit without its rounding slack
 * (tcp_rcv_buf: auto-tuning grows it, never shrinks it);
 * RCV.USER what it holds (unread or out of order); rcv_adv the right edge
 * last announced, so RCV.WND = rcv_adv - RCV.NXT. */

/* RCV.BUFF - RCV.USER: the space that may be offered. */
static uint32_t rcv_space(const struct tcp_conn *c)
{
	uint32_t usable = tcp_rcv_buf(c);
	return c->rcvbuf.len < usable ? usable - c->rcvbuf.len : 0;
}

uint32_t tcp_rcv_wnd(const struct tcp_conn *c)
{
	return seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
}

uint32_t tcp_rcv_wnd_syn(const struct tcp_conn *c)
{
	/* RFC 7323 2.2: "The window field in a segment where the SYN bit is
	 * set (i.e., a <SYN> or <SYN,ACK>) MUST NOT be scaled." */
	uint32_t space = rcv_space(c);
	return space > 65535 ? 65535 : space;
}

void tcp_rcv_wnd_offer(const struct tcp_conn *c, struct tcp_rwnd *w)
{
	uint8_t shift = c->rcv_wscale;
	uint32_t buf = tcp_rcv_buf(c);
	uint32_t space = rcv_space(c);
	uint32_t cur = tcp_rcv_wnd(c);
	/* RFC 9293 3.8.6.2.2 (MUST-39): "The suggested SWS avoidance algorithm
	 * for the receiver is to keep RCV.NXT+RCV.WND fixed until the
	 * reduction satisfies: RCV.BUFF - RCV.USER - RCV.WND >= min( Fr *
	 * RCV.BUFF, Eff.snd.MSS ) where Fr is a fraction whose recommended
	 * value is 1/2, and Eff.snd.MSS is the effective send MSS for the
	 * connection" */
	uint32_t half = buf / 2;
	uint32_t thresh = half < c->smss ? half : c->smss;
	/* the space in whole units of the scale: RFC 7323 2.3 "The window
	 * field (SEG.WND) in the header of every outgoing segment, with the
	 * exception of <SYN> segments, MUST be right-shifted by Rcv.Wind.Shift
	 * bits: SEG.WND = RCV.WND >> Rcv.Wind.Shift" */
	uint32_t v = (space >> shift) << shift;
	/* what the 16-bit window field (RFC 9293 3.1) can announce at all: a
	 * larger buffer never opens the window beyond it, so it never
	 * justifies an update (without scaling, reads would otherwise repeat
	 * the last ACK with the same 65535 window: duplicate ACKs to the
	 * peer, RFC 5681 2) */
	uint32_t most = (uint32_t)65535 << shift;
	uint32_t reach = v < most ? v : most;
	w->opens = reach > cur && reach - cur >= thresh;
	/* "keep RCV.NXT+RCV.WND fixed" below the threshold - scaled or not;
	 * only a completely free buffer is always announced */
	if (v < cur || (v > cur && v - cur < thresh && space < buf))
		v = cur;
	/* RFC 9293 3.8.6: "A TCP receiver SHOULD NOT shrink the window, i.e.,
	 * move the right window edge to the left (SHLD-14)", and RFC 7323
	 * 2.4: round up so the right edge never moves left; the ring's slack
	 * (rcv_slack) holds the difference */
	uint32_t wnd = v >> shift;
	if (v & ((1u << shift) - 1))
		wnd++;
	/* never promise more than the ring may hold (then, exceptionally,
	 * the edge recedes by less than 2^shift: RFC 7323 2.4); the ring's
	 * allocation grows to it as data comes (tcp_rcv_reserve) */
	uint32_t phys = c->rcvbuf.lim - c->rcvbuf.len;
	if (((uint64_t)wnd << shift) > phys)
		wnd = phys >> shift;
	if (wnd > 65535)
		wnd = 65535;
	w->field = wnd;
	w->edge = c->rcv_nxt + (wnd << shift);
}

/* The window field of the segment being built; records the announced
 * right edge (which only moves right). */
static uint32_t window_to_advertise(struct tcp_conn *c, int syn)
{
	if (syn) {
		uint32_t wnd = tcp_rcv_wnd_syn(c);
		c->rcv_adv = c->rcv_nxt + wnd;
		return wnd;
	}
	struct tcp_rwnd w;
	tcp_rcv_wnd_offer(c, &w);
	if (seq_gt(w.edge, c->rcv_adv))
		c->rcv_adv = w.edge;
	return w.field;
}

static void emit(struct tcp_stack *s, const struct tcp_endpoint *to, const uint8_t *seg, size_t len)
{
	s->st.OutSegs++;
	if (s->cb.emit)
		s->cb.emit(s->cb.ctx, to, seg, len);
}

/* Send one segment: flags, seq, data bytes [seq, seq+len) from the send
 * buffer (len may be 0).  Fills ACK, window and options from the TCB. */
static void send_segment(struct tcp_conn *c, uint8_t flags, uint32_t seq, uint32_t len,
			 tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	struct tcp_seg seg;
	memset(&seg, 0, sizeof seg);
	seg.sport = c->lport;
	seg.dport = c->rport;
	seg.seq = seq;
	seg.flags = flags;
	int syn = (flags & TCP_SYN) != 0;
	if (flags & TCP_ACK)
		seg.ack = c->rcv_nxt;
	if (flags & TCP_RST) {
		seg.wnd = 0;
	} else {
		seg.wnd = (uint16_t)window_to_advertise(c, syn);
	}
	if (syn) {
		int active = c->state == TCP_S_SYN_SENT;
		seg.has_mss = 1;
		seg.mss = c->adv_mss;
		/* RFC 7323 1.3 / 2.2: offer WS and TS on the SYN; on a SYN-ACK
		 * only if the peer's SYN carried them.  RFC 2018 2 likewise. */
		if (s->cfg.window_scaling && (active || c->ws_ok)) {
			seg.has_ws = 1;
			seg.ws = c->rcv_wscale;
		}
		if (s->cfg.sack && (active || c->sack_ok))
			seg.sack_perm = 1;
		if (s->cfg.timestamps && (active || c->ts_ok)) {
			seg.has_ts = 1;
			seg.tsval = ts_stamp(c, now);
			seg.tsecr = (flags & TCP_ACK) ? c->ts_recent : 0;
		}
	} else if (flags & TCP_RST) {
		/* RFC 7323 3.2: "the TSopt MUST be sent in every non-<RST>
		 * segment for the duration of the connection, and SHOULD be sent
		 * in an <RST> segment."  "If the ACK bit is not set in the
		 * outgoing TCP header, the sender of that segment SHOULD set the
		 * TSecr field to zero." */
		if (c->ts_ok) {
			seg.has_ts = 1;
			seg.tsval = ts_stamp(c, now);
			seg.tsecr = (flags & TCP_ACK) ? c->ts_recent : 0;
		}
	} else {
		/* RFC 7323 3.2: "Once TSopt has been successfully negotiated ...
		 * the TSopt MUST be sent in every non-<RST> segment" */
		if (c->ts_ok) {
			seg.has_ts = 1;
			seg.tsval = ts_stamp(c, now);
			seg.tsecr = c->ts_recent;
		}
		/* RFC 2018 4: SACK blocks when holding out-of-order data */
		if (c->sack_ok && (flags & TCP_ACK) && c->ooo.n) {
			struct tcp_seqrange r[TCP_SEG_MAX_SACK];
			unsigned n = tcp_seqset_sack_blocks(&c->ooo, r, c->ts_ok ? 3 : 4);
			for (unsigned i = 0; i < n; i++) {
				seg.sack[i].start = r[i].start;
				seg.sack[i].end = r[i].end;
			}
			seg.nsack = (uint8_t)n;
		}
	}
	/* TCP-AO (RFC 5925 2.2) in every segment of a connection using it */
	if (c->ao)
		tcp_ao_fill(c, &seg);
	/* RFC 9293 3.7.1: options + data within the MSS the peer can take;
	 * SACK blocks give way to data (the peer learns them on the next
	 * pure ACK) */
	uint32_t room = c->smss + (c->ts_ok ? 12u : 0u) + (c->ao ? TCP_AO_OPT_LEN : 0u);
	while (seg.nsack && len && tcp_seg_options_len(&seg) + len > room)
		seg.nsack--;
	size_t hlen = TCP_HDR_LEN + tcp_seg_options_len(&seg);
	if (len > sizeof s->segbuf - hlen)
		len = (uint32_t)(sizeof s->segbuf - hlen);
	seg.len = 0;
	/* build straight into the caller's send queue when it offers room
	 * (tcp.h emit_buf), else into our own buffer */
	uint8_t *out = NULL;
	size_t cap = hlen + len;
	if (s->cb.emit_buf)
		out = s->cb.emit_buf(s->cb.ctx, &c->remote, cap);
	if (!out) {
		out = s->segbuf;
		cap = sizeof s->segbuf;
	}
	size_t n = tcp_seg_build(out, cap, &seg);
	if (!n)
		return;
	if (len) {
		uint32_t off = seq - c->snd_buf_seq;
		tcp_ring_read(&c->sndbuf, off, out + n, len);
		n += len;
	}
	/* RFC 5925 7.5.1: the MAC over the finished segment */
	if (c->ao && tcp_ao_sign(c, out, n) < 0)
		return;
	c->bytes_sent += len;
	if (flags & TCP_ACK) {
		c->last_ack_sent = c->rcv_nxt;
		c->ack_now = 0;
		c->unacked_segs = 0;
		if (c->timers[TCP_T_DELACK] != TCP_TIME_NEVER)
			tcp_timer_clear(c, TCP_T_DELACK);
	}
	if (flags & TCP_RST)
		s->st.OutRsts++;
	c->segs_out++;
	c->last_send = now;
	emit(s, &c->remote, out, n);
}

void tcp_send_ctl(struct tcp_conn *c, uint8_t flags, uint32_t seq, tcp_time_t now)
{
	send_segment(c, flags, seq, 0, now);
}

/* RFC 9293 3.10.7.4: "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" */
void tcp_send_ack(struct tcp_conn *c, tcp_time_t now)
{
	send_segment(c, TCP_ACK, c->snd_nxt, 0, now);
}

/* <SEQ=ISS><CTL=SYN> in SYN-SENT, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> in
 * SYN-RECEIVED (RFC 9293 3.10.1 and 3.10.7.2/3). */
void tcp_send_syn(struct tcp_conn *c, tcp_time_t now)
{
	uint8_t flags = c->state == TCP_S_SYN_SENT ? TCP_SYN : (TCP_SYN | TCP_ACK);
	if (c->rtx_count == 0) {
		/* RTT sample from the handshake (Karn: only if not retransmitted) */
		c->rtt_timing = 1;
		c->rtt_seq = c->iss;
		c->rtt_start = now;
	} else {
		c->rtt_timing = 0;
	}
	c->ts_syn = tcp_ts_now(c, now);
	send_segment(c, flags, c->iss, 0, now);
}

void tcp_send_raw(struct tcp_stack *s, const struct tcp_endpoint *to, const struct tcp_seg *seg)
{
	size_t n = tcp_seg_build(s->segbuf, sizeof s->segbuf, seg);
	if (!n)
		return;
	if (seg->flags & TCP_RST)
		s->st.OutRsts++;
	emit(s, to, s->segbuf, n);
}

void tcp_send_rst_raw(struct tcp_stack *s, const struct tcp_endpoint *to, uint16_t sport,
		      uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	struct tcp_seg seg;
	memset(&seg, 0, sizeof seg);
	seg.sport = sport;
	seg.dport = dport;
	seg.seq = seq;
	seg.ack = ack;
	seg.flags = flags;
	tcp_send_raw(s, to, &seg);
}

void tcp_arm_rtx(struct tcp_conn *c, tcp_time_t now)
{
	if (c->timers[TCP_T_RTX] == TCP_TIME_NEVER)
		tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
}

/* ---- pacing (draft-ietf-ccwg-bbr 5.6.2) ----
 *
 * "The sending host implements pacing by maintaining inter-quantum spacing
 * at the time each packet is scheduled for departure": C.next_send_time
 * (pace_next_ns) advances by "pacing_delay = packet.size / C.pacing_rate"
 * for every data segment sent.  New data waits for it (tcp_pace_allows,
 * TCP_T_PACE); what is not new data never waits - ACKs, RSTs, SYNs, FINs
 * without data, retransmissions, window probes, TLP probes - though
 * retransmitted data counts against the rate.  5.6.3 C.send_quantum: up to
 * that many bytes may leave at once, so the departure time never lags the
 * clock by more than one quantum (a timer that fires late - the driver's
 * are millisecond ones - is made up for by one burst, not lost). */
static void pace_charge(struct tcp_conn *c, uint32_t len, tcp_time_t now)
{
	uint64_t rate = c->cc.pacing_rate;
	if (!rate || !len)
		return;
	uint64_t now_ns = now * 1000u;
	uint64_t burst_ns = (uint64_t)c->cc.send_quantum * 1000000000u / rate;
	uint64_t floor_ns = now_ns > burst_ns ? now_ns - burst_ns : 0;
	/* "C.next_send_time = max(Now(), C.next_send_time)" less the quantum;
	 * "C.next_send_time = C.next_send_time + pacing_delay" */
	if (c->pace_next_ns < floor_ns)
		c->pace_next_ns = floor_ns;
	c->pace_next_ns += (uint64_t)len * 1000000000u / rate;
}

int tcp_pace_allows(struct tcp_conn *c, tcp_time_t now)
{
	if (!c->cc.pacing_rate || c->pace_next_ns <= now * 1000u)
		return 1;
	tcp_time_t due = (tcp_time_t)((c->pace_next_ns + 999u) / 1000u);
	if (c->timers[TCP_T_PACE] != due) {
		c->s->st.PacingDelays++;
		tcp_timer_set(c, TCP_T_PACE, due);
	}
	return 0;
}

void tcp_pace_timeout(struct tcp_conn *c, tcp_time_t now)
{
	if (c->detached)
		return;
	tcp_output(c, now);
	/* new data held back in loss recovery goes the way it would have */
	if (c->detached || !c->cc.ops)
		return;
	if (tcp_rack_on(c))
		tcp_rack_output(c, now);
	else if (c->in_fast_recovery && c->sack_ok)
		tcp_sack_output(c, now);
}

static int can_send_data(enum tcp_state st)
{
	return st == TCP_S_ESTABLISHED || st == TCP_S_CLOSE_WAIT || st == TCP_S_FIN_WAIT_1 ||
	       st == TCP_S_LAST_ACK || st == TCP_S_CLOSING;
}

/* Send [seq, seq+len) plus the FIN if it follows; returns the sequence
 * space used.  Handles the bookkeeping of new versus retransmitted data. */
static uint32_t send_data_at(struct tcp_conn *c, uint32_t seq, uint32_t len, int fin,
			     tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	int rtx = seq_lt(seq, c->snd_nxt);
	uint32_t nxt_before = c->snd_nxt;
	uint8_t flags = TCP_ACK;
	if (fin)
		flags |= TCP_FIN;
	if (len && seq + len == data_end(c))
		flags |= TCP_PSH;
	send_segment(c, flags, seq, len, now);
	uint32_t used = len + (fin ? 1u : 0u);
	pace_charge(c, len, now);
	tcp_rack_sent(c, seq, used, nxt_before, now);
	tcp_prr_on_send(c, used);
	if (rtx) {
		c->retransmits++;
		s->st.RetransSegs++;
		c->retransmitted = 1;
		/* Karn (RFC 6298 3): no RTT sample from a retransmitted segment */
		if (c->rtt_timing && seq_leq(seq, c->rtt_seq) && seq_gt(seq + used, c->rtt_seq))
			c->rtt_timing = 0;
		uint32_t end = seq + used;
		if (seq_gt(end, c->snd_nxt))
			c->snd_nxt = end; /* a retransmission that also carries new data */
	} else {
		if (c->snd_una == c->snd_nxt)
			c->progress_at = now; /* sending from idle */
		if (!c->rtt_timing && used && !c->ts_ok) {
			c->rtt_timing = 1;
			c->rtt_seq = seq;
			c->rtt_start = now;
		}
		c->snd_nxt = seq + used;
	}
	if (fin && !c->fin_sent) {
		c->fin_sent = 1;
		c->fin_seq = seq + len;
	}
	/* RFC 6298 (5.1): "Every time a packet containing data is sent
	 * (including a retransmission), if the timer is not running, start
	 * it running so that it will expire after RTO seconds" */
	tcp_arm_rtx(c, now);
	return used;
}

/* Send what fits.  Called after user SEND/CLOSE and after input. */
void tcp_output(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	int sent = 0;
	if (c->detached)
		return;
	if (!can_send_data(c->state)) {
		if (c->ack_now && c->state != TCP_S_SYN_SENT && c->state != TCP_S_CLOSED &&
		    c->state != TCP_S_LISTEN)
			tcp_send_ack(c, now);
		return;
	}
	/* RFC 5681 4.1: "a TCP SHOULD set cwnd to no more than RW before
	 * beginning transmission if the TCP has not sent data in an interval
	 * exceeding the retransmission timeout." */
	if (c->snd_una == c->snd_nxt && c->cc.ops && c->last_send &&
	    now - c->last_send > tcp_rtt_current_rto(&c->rtt) && seq_lt(c->snd_nxt, data_end(c)) &&
	    c->cc.ops->on_idle_restart)
		c->cc.ops->on_idle_restart(&c->cc, now);
	/* draft-ietf-ccwg-bbr 5.2.2 BBROnTransmit(): restarting from idle */
	if (c->snd_una == c->snd_nxt && c->cc.ops && c->cc.ops->on_restart &&
	    seq_lt(c->snd_nxt, data_end(c)))
		c->cc.ops->on_restart(&c->cc, now);

	for (unsigned guard = 0; guard < 100000; guard++) {
		uint32_t nxt = seq_lt(c->rtx_nxt, c->snd_nxt) ? c->rtx_nxt : c->snd_nxt;
		int rtx = seq_lt(nxt, c->snd_nxt);
		uint32_t end = data_end(c);
		uint32_t avail = seq_lt(nxt, end) ? end - nxt : 0;
		/* the FIN goes with (or after) the last queued byte: new the
		 * first time, again when the retransmission reaches it */
		int fin_pending = c->fin_queued && (rtx ? c->fin_sent : !c->fin_sent);
		if (!avail && !fin_pending)
			break;
		uint32_t wnd = c->snd_wnd;
		if (c->cc.ops && c->cc.cwnd < wnd)
			wnd = c->cc.cwnd;
		uint32_t limit = c->snd_una + wnd;
		uint32_t usable = seq_gt(limit, nxt) ? limit - nxt : 0;
		uint32_t len = avail;
		if (len > c->smss)
			len = c->smss;
		if (len > usable) {
			len = usable;
			if (c->cc.ops && c->cc.cwnd < c->snd_wnd)
				c->cc.cwnd_limited = 1; /* draft-ietf-ccwg-bbr 2.1 */
		}
		if (avail && (len == 0 || (!rtx && len < avail && len < c->smss &&
					   len < c->max_snd_wnd / 2))) {
			/* RFC 9293 3.8.6.2.1 sender SWS avoidance: send only if a
			 * maximum-sized segment can be sent, or "at least a fraction
			 * Fs of the maximum window"; else wait for an ACK or the
			 * override timeout.  RFC 9293 3.8.6.1: with nothing in flight
			 * no ACK will come, so the persist timer probes the zero
			 * window / sends the rest on expiry. */
			if (c->snd_una == c->snd_nxt && c->timers[TCP_T_PERSIST] == TCP_TIME_NEVER &&
			    c->timers[TCP_T_RTX] == TCP_TIME_NEVER) {
				tcp_timer_set(c, TCP_T_PERSIST, now + tcp_rtt_current_rto(&c->rtt));
			}
			break;
		}
		if (!rtx && len && len < c->smss && len == avail && !c->nodelay && !c->fin_queued &&
		    c->snd_una != c->snd_nxt) {
			/* RFC 9293 3.7.4 Nagle: "if there is unacknowledged data
			 * (i.e., SND.NXT > SND.UNA), then the sending TCP endpoint
			 * buffers all user data ... until the outstanding data has
			 * been acknowledged or until the TCP endpoint can send a
			 * full-sized segment" */
			break;
		}
		int fin = fin_pending && nxt + len == end;
		if (!len && !fin)
			break;
		if (!rtx && len && !tcp_pace_allows(c, now))
			break; /* new data leaves at its departure time */
		uint32_t used = send_data_at(c, nxt, len, fin, now);
		if (rtx)
			c->rtx_nxt = nxt + used;
		else
			c->rtx_nxt = c->snd_nxt;
		if (seq_gt(c->rtx_nxt, c->snd_nxt))
			c->rtx_nxt = c->snd_nxt;
		sent = 1;
		if (c->timers[TCP_T_PERSIST] != TCP_TIME_NEVER)
			tcp_timer_clear(c, TCP_T_PERSIST);
	}
	(void)s;
	if (sent)
		tcp_rack_arm_tlp(c, now); /* RFC 8985 7.2: after new data */
	if (!sent && c->ack_now)
		tcp_send_ack(c, now);
	/* draft-ietf-ccwg-bbr 4.1.2.4: the sender stopped - did it run out
	 * of data? */
	tcp_rate_conn_check_app_limited(c);
}

/* One segment at `seq` regardless of the congestion window: RTO and fast
 * retransmit (RFC 5681 3.2 step 1 "retransmit the lost segment").
 * Returns the sequence space sent. */
uint32_t tcp_retransmit_one(struct tcp_conn *c, uint32_t seq, tcp_time_t now)
{
	uint32_t end = data_end(c);
	if (seq_lt(seq, c->snd_buf_seq) || !seq_lt(seq, c->snd_nxt))
		return 0;
	uint32_t len = seq_lt(seq, end) ? end - seq : 0;
	if (len > c->smss)
		len = c->smss;
	/* RFC 9293 3.8.6: never beyond SND.UNA + SND.WND; into a zero (or
	 * shrunk) window one octet goes, as a probe (3.8.6.1) */
	uint32_t edge = c->snd_una + c->snd_wnd;
	uint32_t room = seq_gt(edge, seq) ? edge - seq : 0;
	if (len > room)
		len = room ? room : 1;
	int fin = c->fin_sent && seq + len == c->fin_seq;
	if (!len && !fin)
		return 0;
	return send_data_at(c, seq, len, fin, now);
}

uint32_t tcp_retransmit_range(struct tcp_conn *c, uint32_t seq, uint32_t len, tcp_time_t now)
{
	if (seq_lt(seq, c->snd_buf_seq) || !seq_lt(seq, c->snd_nxt))
		return 0;
	uint32_t end = data_end(c);
	uint32_t have = seq_lt(seq, end) ? end - seq : 0;
	if (len > have)
		len = have;
	uint32_t wnd_edge = c->snd_una + c->snd_wnd;
	uint32_t wroom = seq_gt(wnd_edge, seq) ? wnd_edge - seq : 0;
	if (len > wroom)
		len = wroom;
	int fin = c->fin_sent && seq + len == c->fin_seq;
	if (!len && !fin)
		return 0;
	return send_data_at(c, seq, len, fin, now);
}

uint32_t tcp_send_new_one(struct tcp_conn *c, tcp_time_t now)
{
	uint32_t end = data_end(c);
	uint32_t wnd_edge = c->snd_una + c->snd_wnd;
	if (!seq_lt(c->snd_nxt, end) || !seq_lt(c->snd_nxt, wnd_edge))
		return 0;
	uint32_t avail = end - c->snd_nxt;
	uint32_t room = wnd_edge - c->snd_nxt;
	uint32_t len = c->smss;
	if (len > avail)
		len = avail;
	if (len > room)
		len = room;
	int fin = c->fin_queued && !c->fin_sent && c->snd_nxt + len == end;
	uint32_t used = send_data_at(c, c->snd_nxt, len, fin, now);
	c->rtx_nxt = c->snd_nxt;
	return used;
}

void tcp_sack_output(struct tcp_conn *c, tcp_time_t now)
{
	for (unsigned guard = 0; guard < 256 && !c->detached; guard++) {
		/* RFC 6675 5 (C): "If cwnd - pipe >= 1 SMSS, the sender SHOULD
		 * transmit one or more segments as follows: (C.1) The scoreboard
		 * MUST be queried via NextSeg ()" */
		uint32_t pipe = tcp_sb_pipe(&c->sb, c->snd_una, c->snd_nxt, c->smss);
		if (c->cc.cwnd < pipe + c->smss) {
			c->cc.cwnd_limited = 1;
			break;
		}
		uint32_t end = data_end(c);
		uint32_t wnd_edge = c->snd_una + c->snd_wnd;
		c->sb.can_send_new = seq_lt(c->snd_nxt, end) && seq_lt(c->snd_nxt, wnd_edge);
		uint32_t seq, len;
		int rtx;
		if (!tcp_sb_next_seg(&c->sb, c->snd_una, c->snd_nxt, c->smss, &seq, &len, &rtx))
			break;
		if (rtx) {
			uint32_t used = tcp_retransmit_range(c, seq, len, now);
			if (!used)
				break;
			/* (C.3) "If any of the data octets sent in (C.1) are below
			 * HighData, HighRxt MUST be set to the highest sequence
			 * number of the retransmitted segment" */
			tcp_sb_on_retransmit(&c->sb, seq, used);
		} else if (!tcp_pace_allows(c, now) || !tcp_send_new_one(c, now)) {
			break;
		}
	}
}

/* RFC 6298 5: the retransmission timer expired. */
void tcp_rtx_timeout(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	c->rtx_count++;
	/* our SYN unacknowledged: SYN-SENT, SYN-RECEIVED, or FIN-WAIT-1 after
	 * a CLOSE in SYN-RECEIVED (its FIN goes again after the SYN,ACK) */
	int syn_fin = c->state == TCP_S_FIN_WAIT_1 && c->snd_una == c->iss;
	if (c->state == TCP_S_SYN_SENT || c->state == TCP_S_SYN_RECEIVED || syn_fin) {
		if (c->rtx_count > s->cfg.syn_retries) {
			/* RFC 9293 3.8.3: R2 for a SYN "at least 3 minutes" - here
			 * counted in retransmissions (cfg.syn_retries) */
			tcp_log(s, TCP_LOG_INFO, "conn %llu: SYN not answered after %u retransmissions",
				(unsigned long long)c->id, s->cfg.syn_retries);
			tcp_conn_closed(c, TCP_ETIMEDOUT);
			return;
		}
		s->st.Timeouts++;
		tcp_rtt_on_timeout(&c->rtt);
		s->st.RetransSegs++;
		c->retransmits++;
		tcp_send_syn(c, now);
		if (syn_fin && c->fin_sent)
			tcp_retransmit_one(c, c->fin_seq, now);
		tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
		return;
	}
	if (c->snd_una == c->snd_nxt || c->detached)
		return; /* nothing outstanding */
	if (c->snd_wnd == 0 && c->rtx_count > 1)
		/* RFC 9293 3.8.6.1: "TCP implementations MUST NOT close a
		 * connection merely because the window is zero" - into a zero
		 * window the retransmission is a probe and does not count
		 * toward R2 (the user timeout and keep-alive still apply) */
		c->rtx_count--;
	if (c->user_timeout && now - c->progress_at >= c->user_timeout) {
		/* RFC 9293 3.8.3 / 3.10.8 USER TIMEOUT: "If a timeout occurs, ...
		 * signal the user "error: connection aborted due to user
		 * timeout"" - no acknowledgment for user_timeout */
		tcp_log(s, TCP_LOG_INFO, "conn %llu: user timeout", (unsigned long long)c->id);
		tcp_conn_closed(c, TCP_ETIMEDOUT);
		return;
	}
	if (c->rtx_count > s->cfg.retries) {
		/* RFC 9293 3.8.3: "When the number of transmissions of the same
		 * segment reaches a threshold R2 ... close the connection" */
		tcp_log(s, TCP_LOG_INFO, "conn %llu: R2 reached after %u retransmissions",
			(unsigned long long)c->id, s->cfg.retries);
		tcp_conn_closed(c, TCP_ETIMEDOUT);
		return;
	}
	if (c->rtx_count == 3)
		/* RFC 9293 3.8.3: R1 "at least 3 retransmissions": pass advice
		 * to the IP layer - only logged here */
		tcp_log(s, TCP_LOG_DEBUG, "conn %llu: R1 reached", (unsigned long long)c->id);
	/* RFC 6298 (5.5) back off, (5.4) retransmit the earliest segment not
	 * acknowledged, (5.6) restart the timer */
	tcp_rtt_on_timeout(&c->rtt);
	if (c->snd_wnd == 0) {
		/* Into a zero window this is a probe (RFC 9293 3.8.6.1: "SHOULD
		 * increase exponentially the interval between successive
		 * probes"), not a loss: the receiver refused the octet for want
		 * of room, as its ACK of a zero window said.  So none of the
		 * retransmission timeout's loss recovery below: cwnd and
		 * ssthresh stay, RFC 6582 "recover" stays (or duplicate ACKs
		 * after the window opens could not start fast retransmit),
		 * the RFC 6675 scoreboard stays.  One octet at SND.UNA; the
		 * window update resumes sending from there (tcp_input.c). */
		s->st.ZeroWindowProbes++;
		uint32_t seq = seq_lt(c->snd_una, c->snd_buf_seq) ? c->snd_buf_seq : c->snd_una;
		tcp_retransmit_one(c, seq, now);
		tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
		return;
	}
	s->st.Timeouts++;
	tcp_prr_rto(c);
	if (c->cc.ops && c->cc.ops->on_rto)
		c->cc.ops->on_rto(&c->cc, tcp_flight(c), now);
	c->in_fast_recovery = 0;
	c->dupacks = 0;
	c->recover = c->snd_nxt; /* RFC 6582 4.1 after a timeout */
	/* RFC 6675 5.1: "after a retransmission timeout the sender SHOULD
	 * ... reset the scoreboard" */
	tcp_sb_reset(&c->sb);
	c->rtt_timing = 0;
	if (tcp_rack_on(c)) {
		/* RFC 8985 6.3: RACK marks what the timeout says is lost and
		 * those segments go again, not the whole flight (go-back-N) */
		tcp_rack_rto(c, now);
		tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
		return;
	}
	c->rtx_nxt = c->snd_una;
	uint32_t seq = c->snd_una;
	if (seq_lt(seq, c->snd_buf_seq))
		seq = c->snd_buf_seq;
	uint32_t used = tcp_retransmit_one(c, seq, now);
	c->rtx_nxt = seq + used;
	if (seq_gt(c->rtx_nxt, c->snd_nxt))
		c->rtx_nxt = c->snd_nxt;
	tcp_timer_set(c, TCP_T_RTX, now + tcp_rtt_current_rto(&c->rtt));
}

/* RFC 9293 3.8.6.1: "The transmitting host SHOULD send the first
 * zero-window probe when a zero window has existed for the retransmission
 * timeout period, and SHOULD increase exponentially the interval between
 * successive probes."  3.8.6: "The sending TCP peer must be prepared to
 * accept from the user and send at least one octet of new data even if the
 * send window is zero. The sending TCP peer must regularly retransmit to
 * the receiving TCP peer even when the window is zero, in order to "probe"
 * the window."  The probe is one octet of new data at SND.NXT; the
 * receiver answers it with an ACK carrying its current window, or takes
 * the octet if its window has opened meanwhile.  While the octet is
 * unacknowledged the retransmission timer resends it with exponential
 * backoff (tcp_rtx_timeout: no R2, no congestion response). */
void tcp_persist_timeout(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	if (!can_send_data(c->state) || c->snd_una != c->snd_nxt)
		return;
	if (!seq_lt(c->snd_nxt, data_end(c)))
		return;
	uint32_t avail = data_end(c) - c->snd_nxt;
	uint32_t wnd = c->snd_wnd;
	if (c->cc.ops && c->cc.cwnd < wnd)
		wnd = c->cc.cwnd;
	if (wnd > 0) {
		/* the SWS override timeout: send what the window allows */
		uint32_t len = avail < wnd ? avail : wnd;
		if (len > c->smss)
			len = c->smss;
		int fin = c->fin_queued && !c->fin_sent && c->snd_nxt + len == data_end(c);
		send_data_at(c, c->snd_nxt, len, fin, now);
		c->rtx_nxt = c->snd_nxt;
		return;
	}
	s->st.ZeroWindowProbes++;
	send_data_at(c, c->snd_nxt, 1, 0, now);
	c->rtx_nxt = c->snd_nxt;
	/* the ACK of the octet may come only when the window opens: no RTT
	 * sample from it (with timestamps the echo is exact) */
	c->rtt_timing = 0;
}

/* RFC 9293 3.8.4: "Keep-alive packets MUST only be sent when no sent data
 * is outstanding, and no data or acknowledgment packets have been received
 * for the connection within an interval" ... "SEG.SEQ = SND.NXT-1" */
void tcp_keepalive_timeout(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	if (!c->keepalive || (c->state != TCP_S_ESTABLISHED && c->state != TCP_S_CLOSE_WAIT))
		return;
	if (c->snd_una != c->snd_nxt) {
		tcp_timer_set(c, TCP_T_KEEPALIVE, now + s->cfg.keepalive_idle);
		return;
	}
	if (c->keepalive_sent >= s->cfg.keepalive_probes) {
		tcp_log(s, TCP_LOG_INFO, "conn %llu: keep-alive: no answer to %u probes",
			(unsigned long long)c->id, c->keepalive_sent);
		send_segment(c, TCP_RST | TCP_ACK, c->snd_nxt, 0, now);
		tcp_conn_closed(c, TCP_ETIMEDOUT);
		return;
	}
	c->keepalive_sent++;
	s->st.KeepAlives++;
	send_segment(c, TCP_ACK, c->snd_nxt - 1, 0, now);
	tcp_timer_set(c, TCP_T_KEEPALIVE, now + s->cfg.keepalive_intvl);
}

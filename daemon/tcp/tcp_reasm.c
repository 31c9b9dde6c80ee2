/*
 * tcp_reasm.c - the text and FIN of a segment once RFC 9293 3.10.7.4's
 * first five checks passed ("Seventh, process the segment text", "Eighth,
 * check the FIN bit"): in-order data into the receive ring, out-of-order
 * data held beyond RCV.NXT (reassembly, `c->ooo`), the ACK it calls for
 * (RFC 5681 4.2), and the FIN with the states it leads to (CLOSE-WAIT,
 * CLOSING, TIME-WAIT).
 */
#include "tcp_int.h"

void tcp_enter_time_wait(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	tcp_set_state(c, TCP_S_TIME_WAIT);
	/* "start the time-wait timer, turn off the other timers" */
	for (int t = 0; t < TCP_T_N; t++)
		if (t != TCP_T_DELACK)
			c->timers[t] = TCP_TIME_NEVER;
	tcp_timer_set(c, TCP_T_2MSL, now + 2 * s->cfg.msl);
	/* the user's connection is over: both FINs are acknowledged */
	tcp_report_closed(c, 0);
	/* rings given back; a compact record once nobody holds the TCB */
	tcp_conn_time_wait(c);
}

/* Our FIN was sent and SND.UNA is past it. */
int tcp_fin_acked(const struct tcp_conn *c)
{
	return c->fin_sent && seq_gt(c->snd_una, c->fin_seq);
}

/* Take the contiguous out-of-order data now at RCV.NXT into the stream. */
void tcp_pull_ooo(struct tcp_conn *c)
{
	struct tcp_seqrange r;
	if (!tcp_seqset_first(&c->ooo, &r))
		return;
	if (seq_leq(r.start, c->rcv_nxt) && seq_gt(r.end, c->rcv_nxt)) {
		uint32_t n = r.end - c->rcv_nxt;
		c->rcvbuf.len += n;
		c->rcv_nxt = r.end;
		c->bytes_received += n;
	}
	tcp_seqset_trim_below(&c->ooo, c->rcv_nxt);
}

void tcp_process_fin(struct tcp_conn *c, tcp_time_t now)
{
	/* "If the FIN bit is set, signal the user "connection closing" and
	 * return any pending RECEIVEs with same message, advance RCV.NXT over
	 * the FIN, and send an acknowledgment for the FIN. Note that FIN
	 * implies PUSH for any segment text not yet delivered to the user." */
	c->rcv_nxt++;
	c->fin_rcvd = 1;
	c->ooo_fin = 0;
	c->ack_now = 1;
	tcp_conn_event(c, TCP_EVB_PEER_FIN);
	if (c->rcvbuf.len)
		tcp_conn_event(c, TCP_EVB_READABLE);
	switch (c->state) {
	case TCP_S_SYN_RECEIVED:
	case TCP_S_ESTABLISHED:
		/* "Enter the CLOSE-WAIT state." */
		tcp_set_state(c, TCP_S_CLOSE_WAIT);
		break;
	case TCP_S_FIN_WAIT_1:
		/* "If our FIN has been ACKed (perhaps in this segment), then
		 * enter TIME-WAIT, start the time-wait timer, turn off the other
		 * timers; otherwise, enter the CLOSING state." */
		if (tcp_fin_acked(c))
			tcp_enter_time_wait(c, now);
		else
			tcp_set_state(c, TCP_S_CLOSING);
		break;
	case TCP_S_FIN_WAIT_2:
		/* "Enter the TIME-WAIT state. Start the time-wait timer, turn off
		 * the other timers." */
		tcp_enter_time_wait(c, now);
		break;
	case TCP_S_TIME_WAIT:
		/* "Remain in the TIME-WAIT state. Restart the 2 MSL time-wait
		 * timeout." */
		tcp_timer_set(c, TCP_T_2MSL, now + 2 * c->s->cfg.msl);
		break;
	default:
		/* CLOSE-WAIT, CLOSING, LAST-ACK: "Remain in the ... state." */
		break;
	}
}

/* Step seven for ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2: data in [seq, seq+len)
 * already trimmed to the window.  Returns -1 if the TCB was closed. */
int tcp_process_text(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len,
		     tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	if (!len)
		return 0;
	if (c->no_read) {
		/* tcp.h tcp_close_no_read: data for an owner that has gone aborts
		 * the connection with RST, as a kernel socket does */
		tcp_send_ctl(c, TCP_RST | TCP_ACK, c->snd_nxt, now);
		tcp_conn_closed(c, TCP_EABORTED);
		return -1;
	}
	/* the whole ring, slack included: the window never promised more */
	uint32_t room = c->rcvbuf.lim - c->rcvbuf.len;
	uint32_t off = seq - c->rcv_nxt;
	if (off >= room)
		return 0;
	if (len > room - off)
		len = room - off;
	/* the ring's allocation grows to hold the segment; without memory
	 * it takes what fits (the rest comes again: it is not acknowledged) */
	if (tcp_rcv_reserve(c, c->rcvbuf.len + off + len) < 0) {
		if (c->rcvbuf.cap <= c->rcvbuf.len + off)
			return 0;
		len = c->rcvbuf.cap - c->rcvbuf.len - off;
	}
	if (seq == c->rcv_nxt) {
		int had_ooo = c->ooo.n != 0;
		tcp_ring_write(&c->rcvbuf, c->rcvbuf.len, data, len);
		c->rcvbuf.len += len;
		c->rcv_nxt += len;
		c->bytes_received += len;
		tcp_pull_ooo(c);
		tcp_ring_used(c, now);
		tcp_conn_event(c, TCP_EVB_READABLE);
		/* RFC 5681 4.2: "an ACK SHOULD be generated for at least every
		 * second full-sized segment" and "Out-of-order data segments
		 * SHOULD be acknowledged immediately" - also when filling a hole */
		if (len >= c->smss)
			c->unacked_segs++;
		if (had_ooo || !s->cfg.delayed_ack || c->unacked_segs >= 2) {
			c->ack_now = 1;
		} else if (c->timers[TCP_T_DELACK] == TCP_TIME_NEVER) {
			/* RFC 9293 3.8.6.3: "the delay MUST be less than 0.5 seconds" */
			tcp_timer_set(c, TCP_T_DELACK, now + s->cfg.delayed_ack);
		}
	} else {
		/* out of order: hold it in the ring beyond the in-order data and
		 * remember the range (RFC 9293 3.10.7.4: "Segments with higher
		 * beginning sequence numbers SHOULD be held for later
		 * processing") */
		if (tcp_seqset_add(&c->ooo, seq, seq + len) < 0) {
			s->st.DropRcvBufFull++;
		} else {
			tcp_ring_write(&c->rcvbuf, c->rcvbuf.len + off, data, len);
			tcp_ring_used(c, now);
		}
		c->ack_now = 1;
	}
	return 0;
}

/* RFC 9293 3.10.7.4 "Eighth, check the FIN bit" for the segment's text
 * [seq, seq+len) as step seven saw it: fin is its FIN bit after trimming;
 * a FIN held beyond a hole (c->ooo_fin) is taken once the data reaches
 * it. */
void tcp_fin_step(struct tcp_conn *c, uint32_t seq, uint32_t len, int fin, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	if (fin) {
		if (seq + len == c->rcv_nxt && !c->fin_rcvd) {
			tcp_process_fin(c, now);
		} else if (c->fin_rcvd && seq + len + 1 == c->rcv_nxt) {
			/* a repeated FIN: acknowledge (TIME-WAIT restarts 2 MSL) */
			c->ack_now = 1;
			if (c->state == TCP_S_TIME_WAIT)
				tcp_timer_set(c, TCP_T_2MSL, now + 2 * s->cfg.msl);
		} else if (seq_gt(seq + len, c->rcv_nxt) && !c->fin_rcvd) {
			c->ooo_fin = 1; /* FIN beyond a hole: wait for the data */
			c->ooo_fin_seq = seq + len;
			/* RFC 5681 4.2: "Out-of-order data segments SHOULD be
			 * acknowledged immediately, in order to accelerate loss
			 * recovery" - a bare FIN beyond the hole too: the
			 * duplicate ACK tells the sender of the hole */
			c->ack_now = 1;
		}
	} else if (c->ooo_fin && c->rcv_nxt == c->ooo_fin_seq && !c->fin_rcvd) {
		tcp_process_fin(c, now);
	}
}

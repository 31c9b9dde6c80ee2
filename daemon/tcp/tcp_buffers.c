/*
 * tcp_buffers.c - buffers that follow use: how large a connection's rings
 * may grow (the send limit with cwnd, the receive limit by auto-tuning, as
 * Linux's tcp_sndbuf_expand and tcp_rcv_space_adjust) and when they are
 * given back (empty, or idle for one RTO: TCP_T_IDLE).  The rings
 * themselves are tcp_ring.c.
 */
#include "tcp_int.h"

uint32_t tcp_rcv_buf(const struct tcp_conn *c)
{
	return c->rcvbuf.lim - c->rcv_slack;
}

int tcp_rcv_reserve(struct tcp_conn *c, uint32_t need)
{
	if (need <= c->rcvbuf.cap)
		return 0;
	if (tcp_ring_reserve(&c->rcvbuf, need) == 0)
		return 0;
	c->s->st.NoMemory++;
	return TCP_ENOMEM;
}

void tcp_snd_lim_update(struct tcp_conn *c)
{
	/* like Linux's tcp_sndbuf_expand(): room for about two congestion
	 * windows (one in flight, one queued behind it), up to send_buffer */
	uint64_t want = 2ull * c->cc.cwnd;
	uint32_t max = c->s->cfg.send_buffer;
	if (want > max)
		want = max;
	if (want > c->sndbuf.lim)
		c->sndbuf.lim = (uint32_t)want;
}

/* The idle delay: one RTO without use, the measure RFC 5681 4.1 takes for
 * a connection gone idle (its cwnd restarts, so its buffers may too). */
static tcp_time_t idle_delay(const struct tcp_conn *c)
{
	return tcp_rtt_current_rto(&c->rtt);
}

static int ring_cheap(const struct tcp_ring *r)
{
	return r->cap <= TCP_RING_KEEP && r->cap < r->lim;
}

void tcp_ring_used(struct tcp_conn *c, tcp_time_t now)
{
	c->ring_used_at = now;
	/* an empty small ring not grown to its limit goes at once
	 * (TCP_RING_KEEP); the others when the connection idles */
	if (c->sndbuf.cap && !c->sndbuf.len && ring_cheap(&c->sndbuf))
		tcp_ring_trim(&c->sndbuf, 0);
	if (c->rcvbuf.cap && !c->rcvbuf.len && !c->ooo.n && ring_cheap(&c->rcvbuf))
		tcp_ring_trim(&c->rcvbuf, 0);
	if (c->timers[TCP_T_IDLE] == TCP_TIME_NEVER && !c->detached &&
	    ((c->sndbuf.cap && !ring_cheap(&c->sndbuf)) || (c->rcvbuf.cap && !ring_cheap(&c->rcvbuf))))
		tcp_timer_set(c, TCP_T_IDLE, now + idle_delay(c));
}

/* The receive ring's live extent: in-order bytes and out-of-order data. */
static uint32_t rcv_extent(const struct tcp_conn *c)
{
	struct tcp_seqrange r;
	uint32_t n = c->rcvbuf.len;
	if (tcp_seqset_last(&c->ooo, &r) && seq_gt(r.end, c->rcv_nxt))
		n += r.end - c->rcv_nxt;
	return n;
}

/* TCP_T_IDLE: no ring was used for idle_delay(): free the empty rings and
 * shrink the others to what they hold. */
void tcp_idle_timeout(struct tcp_conn *c, tcp_time_t now)
{
	tcp_time_t due = c->ring_used_at + idle_delay(c);
	if (due > now) {
		tcp_timer_set(c, TCP_T_IDLE, due);
		return;
	}
	tcp_ring_trim(&c->sndbuf, c->sndbuf.len);
	tcp_ring_trim(&c->rcvbuf, rcv_extent(c));
}

void tcp_rcv_rtt_sample(struct tcp_conn *c, uint32_t tsecr, tcp_time_t now)
{
	/* the echo is in 1 ms ticks (RFC 7323 5.4): the RTT lies below
	 * delta + 1 ms; the upper bound errs towards a larger window */
	uint32_t ms = tcp_ts_now(c, now) - tsecr;
	if (ms > 60000u)
		return; /* not an echo of ours (or older than a minute) */
	tcp_time_t rtt = TCP_MS(ms + 1u);
	/* like Linux's tcp_rcv_rtt_update(): a smaller sample is taken at
	 * once, a larger one with a gain of 1/8 */
	if (!c->rcv_rtt || rtt < c->rcv_rtt)
		c->rcv_rtt = rtt;
	else
		c->rcv_rtt += (rtt - c->rcv_rtt) / 8u;
}

/* Receive-buffer auto-tuning, like Linux's tcp_rcv_space_adjust()
 * ("dynamic right-sizing"): once per round trip, what the application
 * drained in it is measured; when that grew, the buffer becomes twice it
 * (the sender's slow start may double per RTT) plus 16 segments, up to
 * cfg.recv_buffer.  An application that does not read drains nothing and
 * its window never grows past what it has buffered.  The round trip is the
 * larger of the receiver's estimate from timestamp echoes
 * (tcp_rcv_rtt_sample) and the sender-side SRTT: an underestimate would
 * measure less than a window per RTT and starve the flow. */
void tcp_rcv_space_adjust(struct tcp_conn *c, tcp_time_t now)
{
	if (!c->s->cfg.recv_buffer_auto)
		return;
	tcp_time_t rtt = c->rcv_rtt;
	if (c->rtt.has_sample && c->rtt.srtt > rtt)
		rtt = c->rtt.srtt;
	if (!rtt)
		rtt = TCP_MS(1); /* the timestamp clock's tick (RFC 7323 5.4) */
	if (!c->rcvq_time) {
		c->rcvq_time = now;
		c->rcvq_copied = 0;
		return;
	}
	if (now - c->rcvq_time < rtt)
		return;
	uint32_t copied = c->rcvq_copied;
	c->rcvq_copied = 0;
	c->rcvq_time = now;
	if (copied <= c->rcvq_space)
		return;
	c->rcvq_space = copied;
	uint64_t want = 2ull * copied + 16ull * c->adv_mss;
	if (want > c->s->cfg.recv_buffer)
		want = c->s->cfg.recv_buffer;
	if (want > tcp_rcv_buf(c))
		c->rcvbuf.lim = (uint32_t)want + c->rcv_slack;
}

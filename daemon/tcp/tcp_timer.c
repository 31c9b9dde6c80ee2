/*
 * tcp_timer.c - the timers: each TCB's eight deadlines (enum tcp_timer),
 * its earliest the key of one binary min-heap of TCBs, so that
 * tcp_next_deadline() is O(1) and re-arming O(log n); tcp_timeout() fires
 * what is due.
 */
#include <stdlib.h>

#include "tcp_int.h"

/* Every TCB needs at most one heap slot: the heap grows with the table. */
int tcp_timer_reserve(struct tcp_stack *s, unsigned n)
{
	if (n <= s->heap_cap)
		return 0;
	unsigned cap = s->heap_cap ? s->heap_cap : 64;
	while (cap < n)
		cap *= 2;
	struct tcp_conn **h = realloc(s->heap, (size_t)cap * sizeof *h);
	if (!h)
		return TCP_ENOMEM;
	s->heap = h;
	s->heap_cap = cap;
	return 0;
}

static void heap_swap(struct tcp_stack *s, unsigned a, unsigned b)
{
	struct tcp_conn *t = s->heap[a];
	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_idx = a;
	s->heap[b]->heap_idx = b;
}

static void heap_up(struct tcp_stack *s, unsigned i)
{
	while (i > 0) {
		unsigned p = (i - 1) / 2;
		if (s->heap[p]->deadline <= s->heap[i]->deadline)
			break;
		heap_swap(s, i, p);
		i = p;
	}
}

static void heap_down(struct tcp_stack *s, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->heap_len && s->heap[l]->deadline < s->heap[m]->deadline)
			m = l;
		if (r < s->heap_len && s->heap[r]->deadline < s->heap[m]->deadline)
			m = r;
		if (m == i)
			break;
		heap_swap(s, i, m);
		i = m;
	}
}

static void heap_remove(struct tcp_stack *s, struct tcp_conn *c)
{
	unsigned i = c->heap_idx;
	if (i == UINT32_MAX)
		return;
	unsigned last = --s->heap_len;
	if (i != last) {
		s->heap[i] = s->heap[last];
		s->heap[i]->heap_idx = i;
		heap_down(s, i);
		heap_up(s, i);
	}
	c->heap_idx = UINT32_MAX;
}

void tcp_timer_reschedule(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	tcp_time_t d = TCP_TIME_NEVER;
	for (int i = 0; i < TCP_T_N; i++)
		if (c->timers[i] < d)
			d = c->timers[i];
	if (c->detached)
		d = TCP_TIME_NEVER;
	if (d == TCP_TIME_NEVER) {
		heap_remove(s, c);
		c->deadline = d;
		return;
	}
	if (c->heap_idx == UINT32_MAX) {
		if (s->heap_len >= s->heap_cap)
			return; /* cannot happen: tcp_timer_reserve() keeps a slot per TCB */
		c->deadline = d;
		c->heap_idx = s->heap_len;
		s->heap[s->heap_len++] = c;
		heap_up(s, c->heap_idx);
		return;
	}
	tcp_time_t old = c->deadline;
	c->deadline = d;
	if (d < old)
		heap_up(s, c->heap_idx);
	else if (d > old)
		heap_down(s, c->heap_idx);
}

void tcp_timer_set(struct tcp_conn *c, enum tcp_timer t, tcp_time_t when)
{
	c->timers[t] = when;
	tcp_timer_reschedule(c);
}

void tcp_timer_clear(struct tcp_conn *c, enum tcp_timer t)
{
	if (c->timers[t] == TCP_TIME_NEVER)
		return;
	c->timers[t] = TCP_TIME_NEVER;
	tcp_timer_reschedule(c);
}

tcp_time_t tcp_next_deadline(const struct tcp_stack *s)
{
	if (!s)
		return TCP_TIME_NEVER;
	tcp_time_t d = s->heap_len ? s->heap[0]->deadline : TCP_TIME_NEVER;
	if (s->tw_head && s->tw_head->deadline < d)
		d = s->tw_head->deadline;
	return d;
}

static void fire_timers(struct tcp_conn *c, tcp_time_t now)
{
	for (int t = 0; t < TCP_T_N && !c->detached; t++) {
		if (c->timers[t] > now)
			continue;
		c->timers[t] = TCP_TIME_NEVER;
		tcp_timer_reschedule(c);
		switch (t) {
		case TCP_T_RTX:
			tcp_rtx_timeout(c, now);
			break;
		case TCP_T_PERSIST:
			tcp_persist_timeout(c, now);
			break;
		case TCP_T_DELACK:
			if (c->state != TCP_S_CLOSED) {
				c->s->st.DelayedAcks++;
				tcp_send_ack(c, now);
			}
			break;
		case TCP_T_2MSL:
			/* RFC 9293 3.10.8: "If the time-wait timeout expires on a
			 * connection, delete the TCB, enter the CLOSED state, and
			 * return."  Also the orphaned FIN-WAIT-2 timeout: the
			 * peer never sent its FIN, so that end is a timeout. */
			tcp_conn_closed(c, c->state == TCP_S_FIN_WAIT_2 ? TCP_ETIMEDOUT : 0);
			break;
		case TCP_T_KEEPALIVE:
			tcp_keepalive_timeout(c, now);
			break;
		case TCP_T_USER:
			/* RFC 9293 3.10.8 USER TIMEOUT: "flush all queues, signal
			 * the user "error: connection aborted due to user timeout"
			 * ... enter the CLOSED state" */
			if (c->state != TCP_S_SYN_SENT && c->state != TCP_S_TIME_WAIT)
				tcp_send_ctl(c, TCP_RST | TCP_ACK, c->snd_nxt, now);
			tcp_conn_closed(c, TCP_ETIMEDOUT);
			break;
		case TCP_T_IDLE:
			tcp_idle_timeout(c, now);
			break;
		case TCP_T_RACK:
			tcp_rack_timeout(c, now);
			break;
		case TCP_T_PACE:
			tcp_pace_timeout(c, now);
			break;
		}
	}
}

void tcp_timeout(struct tcp_stack *s, tcp_time_t now)
{
	if (!s)
		return;
	tcp_enter(s);
	tcp_tw_expire(s, now);
	/* each firing either re-arms later than now or clears the timer; the
	 * bound keeps a bug from becoming an endless loop */
	unsigned bound = 4u * TCP_T_N * (s->heap_len + 1);
	for (unsigned n = 0; s->heap_len && s->heap[0]->deadline <= now && n < bound; n++)
		fire_timers(s->heap[0], now);
	tcp_leave(s);
}

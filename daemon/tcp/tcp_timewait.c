/*
 * tcp_timewait.c - compact TIME-WAIT records (like Linux's
 * inet_timewait_sock): a TIME-WAIT TCB nobody holds becomes a struct
 * tcp_tw, revived as a full TCB for the length of a segment that reaches it
 * (every RFC 9293 3.10.7.4 rule stays in tcp_input.c), expired after 2 MSL,
 * bounded by max_time_wait, and reused by an active open where RFC 6191
 * allows.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"
#include "tcp_siphash.h"

void tcp_conn_time_wait(struct tcp_conn *c)
{
	/* both FINs are acknowledged: nothing is left to send; the receive
	 * ring keeps only what the owner has not read yet */
	tcp_ring_free(&c->sndbuf);
	tcp_rack_free(&c->rack);
	tcp_ring_trim(&c->rcvbuf, c->rcvbuf.len);
	tcp_seqset_clear(&c->ooo);
	if (!c->owned || c->released)
		tcp_tw_todo_push(c);
}

static unsigned tw_bucket(const struct tcp_stack *s, const struct tcp_endpoint *r,
			  uint16_t lport, uint16_t rport)
{
	struct tuple_key k;
	tcp_tuple_key(&k, r, lport, rport);
	return (unsigned)(tcp_siphash24(s->secret, &k, sizeof k) & (s->tw_nbuckets - 1));
}

struct tcp_tw *tcp_tw_lookup(struct tcp_stack *s, const struct tcp_endpoint *r,
				uint16_t lport, uint16_t rport)
{
	if (!s->ntw)
		return NULL;
	for (struct tcp_tw *tw = s->tw_table[tw_bucket(s, r, lport, rport)]; tw; tw = tw->hnext)
		if (tw->lport == lport && tw->rport == rport && tcp_ep_equal(&tw->remote, r))
			return tw;
	return NULL;
}

/* Unlink and free a record. */
void tcp_tw_free(struct tcp_stack *s, struct tcp_tw *tw)
{
	struct tcp_tw **pp = &s->tw_table[tw_bucket(s, &tw->remote, tw->lport, tw->rport)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == tw) {
			*pp = tw->hnext;
			break;
		}
	if (tw->prev)
		tw->prev->next = tw->next;
	else
		s->tw_head = tw->next;
	if (tw->next)
		tw->next->prev = tw->prev;
	else
		s->tw_tail = tw->prev;
	s->ntw--;
	free(tw);
}

void tcp_tw_todo_push(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	if (c->on_tw_todo)
		return;
	c->on_tw_todo = 1;
	c->tw_next = s->tw_todo;
	s->tw_todo = c;
}

/* A TIME-WAIT TCB nobody holds becomes a record (tcp_leave).  If no
 * record can be had (max_time_wait 0, or no memory) the TCB simply ends:
 * the 4-tuple is free earlier, as when the bound recycles a record. */
void tcp_tw_compact(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	if (c->detached || c->state != TCP_S_TIME_WAIT || (c->owned && !c->released) ||
	    c->on_ev_list)
		return; /* gone meanwhile, or held: compacted at tcp_release */
	if (c->ao)
		return; /* TCP-AO keys and sequence-number extensions are not in
			 * the record: such a TIME-WAIT keeps its TCB (no rings)
			 * until 2 MSL */
	if (c->timers[TCP_T_DELACK] != TCP_TIME_NEVER)
		tcp_send_ack(c, c->last_send); /* what was owed goes now (the
						 * engine's latest time for c) */
	/* issue 9 item 6: TIME-WAIT has its own bound; at it, the oldest
	 * record goes (Linux's tcp_max_tw_buckets drops the new one instead;
	 * the oldest is the nearest to its end anyway) */
	while (s->ntw && s->ntw >= s->cfg.max_time_wait) {
		s->st.TimeWaitRecycled++;
		tcp_log(s, TCP_LOG_DEBUG, "conn %llu: TIME-WAIT recycled (max_time_wait %u)",
			(unsigned long long)s->tw_head->id, s->cfg.max_time_wait);
		tcp_tw_free(s, s->tw_head);
	}
	struct tcp_tw *tw = NULL;
	if (s->cfg.max_time_wait)
		tw = calloc(1, sizeof *tw);
	if (!tw) {
		if (s->cfg.max_time_wait)
			s->st.NoMemory++;
		else
			s->st.TimeWaitRecycled++;
		tcp_conn_closed(c, 0);
		return;
	}
	tw->id = c->id;
	tw->deadline = c->timers[TCP_T_2MSL];
	tw->ts_recent_age = c->ts_recent_age;
	tw->remote = c->remote;
	tw->lport = c->lport;
	tw->rport = c->rport;
	tw->iss = c->iss;
	tw->irs = c->irs;
	tw->snd_nxt = c->snd_nxt;
	tw->snd_wnd = c->snd_wnd;
	tw->max_snd_wnd = c->max_snd_wnd;
	tw->snd_wl1 = c->snd_wl1;
	tw->snd_wl2 = c->snd_wl2;
	tw->rcv_nxt = c->rcv_nxt;
	tw->rcv_adv = c->rcv_adv;
	tw->last_ack_sent = c->last_ack_sent;
	tw->ts_offset = c->ts_offset;
	tw->ts_recent = c->ts_recent;
	tw->ts_last = c->ts_last;
	/* the rate limit of ACKs to unacceptable segments carries over (a
	 * spoofer must not get one ACK per segment by waking the record) */
	tw->oow_ack_at = c->oow_ack_at;
	tw->oow_ack_sent = (uint8_t)c->oow_ack_sent;
	tw->ts_sent = (uint8_t)c->ts_sent;
	tw->smss = (uint16_t)c->smss;
	tw->adv_mss = c->adv_mss;
	tw->peer_mss = c->peer_mss;
	tw->snd_wscale = c->snd_wscale;
	tw->rcv_wscale = c->rcv_wscale;
	tw->ws_ok = c->ws_ok;
	tw->sack_ok = c->sack_ok;
	tw->ts_ok = c->ts_ok;
	tw->passive = (uint8_t)c->passive;
	/* into the hash, and into the list in deadline order (nearly always
	 * at the tail: deadlines are set 2 MSL after a monotonic now) */
	unsigned b = tw_bucket(s, &tw->remote, tw->lport, tw->rport);
	tw->hnext = s->tw_table[b];
	s->tw_table[b] = tw;
	struct tcp_tw *after = s->tw_tail;
	while (after && after->deadline > tw->deadline)
		after = after->prev;
	tw->prev = after;
	tw->next = after ? after->next : s->tw_head;
	if (tw->next)
		tw->next->prev = tw;
	else
		s->tw_tail = tw;
	if (after)
		after->next = tw;
	else
		s->tw_head = tw;
	s->ntw++;
	/* the TCB leaves without a state change: the connection lives on
	 * in the record */
	c->closed_reported = 1;
	c->state = TCP_S_CLOSED;
	if (s->ntw_full)
		s->ntw_full--;
	tcp_conn_closed(c, 0);
}

/* A segment for a TIME-WAIT record: a full TCB again (the 3.10.7.4 rules
 * live in one place, tcp_input.c), compacted again at tcp_leave if it
 * stays in TIME-WAIT.  NULL (and the record kept) if memory is short. */
static struct tcp_conn *tw_revive(struct tcp_stack *s, struct tcp_tw *tw)
{
	int err;
	struct tcp_conn *c = tcp_conn_alloc(s, &tw->remote, tw->lport, tw->rport, &err);
	if (!c) {
		s->st.NoMemory++;
		return NULL;
	}
	s->next_id -= s->id_step; /* the same connection: it keeps its id */
	c->id = tw->id;
	tcp_ring_init(&c->sndbuf, 0);
	tcp_ring_init(&c->rcvbuf, 0);
	c->passive = tw->passive;
	c->owned = 0;
	c->released = 1;
	c->no_read = 1;
	c->closed_reported = 1;
	c->iss = tw->iss;
	c->irs = tw->irs;
	c->snd_una = c->snd_nxt = c->rtx_nxt = c->snd_buf_seq = tw->snd_nxt;
	c->snd_wnd = tw->snd_wnd;
	c->max_snd_wnd = tw->max_snd_wnd;
	c->snd_wl1 = tw->snd_wl1;
	c->snd_wl2 = tw->snd_wl2;
	c->rcv_nxt = tw->rcv_nxt;
	c->rcv_adv = tw->rcv_adv;
	c->last_ack_sent = tw->last_ack_sent;
	c->ts_offset = tw->ts_offset;
	c->ts_recent = tw->ts_recent;
	c->ts_recent_age = tw->ts_recent_age;
	c->ts_last = tw->ts_last;
	c->oow_ack_at = tw->oow_ack_at;
	c->oow_ack_sent = tw->oow_ack_sent;
	c->ts_sent = tw->ts_sent;
	c->smss = tw->smss;
	c->adv_mss = tw->adv_mss;
	c->peer_mss = tw->peer_mss;
	c->snd_wscale = tw->snd_wscale;
	c->rcv_wscale = tw->rcv_wscale;
	c->ws_ok = tw->ws_ok;
	c->sack_ok = tw->sack_ok;
	c->ts_ok = tw->ts_ok;
	/* both FINs were exchanged and acknowledged */
	c->fin_queued = c->fin_sent = c->fin_rcvd = 1;
	c->fin_seq = tw->snd_nxt - 1;
	c->state = TCP_S_TIME_WAIT;
	s->ntw_full++;
	tcp_timer_set(c, TCP_T_2MSL, tw->deadline);
	tcp_tw_free(s, tw);
	tcp_tw_todo_push(c);
	return c;
}

struct tcp_conn *tcp_conn_or_time_wait(struct tcp_stack *s, const struct tcp_endpoint *r,
				       uint16_t lport, uint16_t rport, int *nomem)
{
	*nomem = 0;
	struct tcp_conn *c = tcp_conn_lookup(s, r, lport, rport);
	if (c)
		return c;
	struct tcp_tw *tw = tcp_tw_lookup(s, r, lport, rport);
	if (!tw)
		return NULL;
	c = tw_revive(s, tw);
	if (!c)
		*nomem = 1;
	return c;
}

/* Expire the records whose 2 MSL is over (RFC 9293 3.10.8: "If the
 * time-wait timeout expires on a connection, delete the TCB, enter the
 * CLOSED state, and return."). */
void tcp_tw_expire(struct tcp_stack *s, tcp_time_t now)
{
	while (s->tw_head && s->tw_head->deadline <= now) {
		tcp_log(s, TCP_LOG_DEBUG, "conn %llu %u->%u: TIME-WAIT => CLOSED",
			(unsigned long long)s->tw_head->id, (unsigned)s->tw_head->lport,
			(unsigned)s->tw_head->rport);
		tcp_tw_free(s, s->tw_head);
	}
}

static void tw_info(const struct tcp_tw *tw, struct tcp_conn_info *o)
{
	memset(o, 0, sizeof *o);
	o->id = tw->id;
	o->state = TCP_S_TIME_WAIT;
	o->remote = tw->remote;
	o->local_port = tw->lport;
	o->remote_port = tw->rport;
	o->snd_una = o->snd_nxt = tw->snd_nxt;
	o->snd_wnd = tw->snd_wnd;
	o->rcv_nxt = tw->rcv_nxt;
	o->rcv_wnd = seq_gt(tw->rcv_adv, tw->rcv_nxt) ? tw->rcv_adv - tw->rcv_nxt : 0;
	o->mss = tw->smss;
	o->snd_wscale = tw->snd_wscale;
	o->rcv_wscale = tw->rcv_wscale;
	o->sack_ok = tw->sack_ok;
	o->ts_ok = tw->ts_ok;
}

void tcp_foreach_time_wait(struct tcp_stack *s,
			   int (*fn)(void *arg, const struct tcp_conn_info *info), void *arg)
{
	if (!s || !fn)
		return;
	for (const struct tcp_tw *tw = s->tw_head; tw; tw = tw->next) {
		struct tcp_conn_info o;
		tw_info(tw, &o);
		if (fn(arg, &o))
			break;
	}
}

int tcp_time_wait_info(struct tcp_stack *s, uint64_t id, struct tcp_conn_info *out)
{
	if (!s || !out)
		return TCP_EINVAL;
	for (const struct tcp_tw *tw = s->tw_head; tw; tw = tw->next)
		if (tw->id == id) {
			tw_info(tw, out);
			return 0;
		}
	return TCP_ENOTCONN;
}

/* TIME-WAIT reuse for an active open (tcp_connect) where RFC 6191 says
 * the new incarnation cannot be mistaken for the old one.  The peer, if it
 * still holds the old connection in TIME-WAIT, takes a new SYN when "the
 * timestamp [is] greater than the last timestamp seen on the previous
 * incarnation" (RFC 6191 2, its TS.Recent: the TSval we sent last), or
 * without timestamps when the SYN's "sequence number is greater than the
 * last sequence number seen on the previous incarnation" (RFC 1122
 * 4.2.2.13: our old SND.NXT).  The new TCB keeps the old timestamp offset
 * so that its TSvals continue the old clock (RFC 7323 7.1).  1 if the
 * 4-tuple may be reused by c (its ISS chosen). */
int tcp_tw_reusable(const struct tcp_tw *tw, struct tcp_conn *c, tcp_time_t now)
{
	if (tw->ts_ok && c->s->cfg.timestamps) {
		c->ts_offset = tw->ts_offset;
		return !tw->ts_sent || seq_gt(tcp_ts_now(c, now), tw->ts_last);
	}
	return seq_gt(c->iss, tw->snd_nxt);
}

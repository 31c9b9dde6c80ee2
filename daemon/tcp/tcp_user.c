/*
 * tcp_user.c - the user calls of RFC 9293 3.10.1-3.10.6: OPEN (tcp_connect;
 * passive OPEN is tcp_listen.c), SEND (with the zero-copy pair
 * tcp_send_space/tcp_send_commit), RECEIVE (tcp_recv_peek/tcp_recv_consume),
 * CLOSE, ABORT, the owner's release of a TCB, per-connection options and
 * STATUS.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"

/* ---- OPEN (RFC 9293 3.10.1) ---- */

static int port_in_use(struct tcp_stack *s, const struct tcp_endpoint *r, uint16_t lport,
		       uint16_t rport)
{
	return tcp_listener_find(s, lport) != NULL || tcp_conn_lookup(s, r, lport, rport) != NULL;
}

/* tcp_stack_reserve_port() */
static int port_reserved(const struct tcp_stack *s, uint16_t p)
{
	unsigned i = (unsigned)p - TCP_DYN_PORT_LO;
	return s->reserved && p >= TCP_DYN_PORT_LO && (s->reserved[i >> 3] & (1u << (i & 7)));
}

static void apply_opts(struct tcp_conn *c, const struct tcp_conn_opts *o)
{
	if (!o)
		return;
	if (o->nodelay >= 0)
		c->nodelay = o->nodelay ? 1 : 0;
	if (o->keepalive >= 0)
		c->keepalive = o->keepalive ? 1 : 0;
	if (o->cc == TCP_CC_CUBIC || o->cc == TCP_CC_NEWRENO || o->cc == TCP_CC_BBR)
		c->cc_algo = o->cc;
	c->user_timeout = o->timeout;
}

int tcp_connect(struct tcp_stack *s, const struct tcp_endpoint *remote, uint16_t rport,
		uint16_t lport, const struct tcp_conn_opts *opts, void *user,
		tcp_time_t now, struct tcp_conn **out)
{
	if (!s || !out || !tcp_endpoint_valid(remote) || rport == 0)
		return TCP_EINVAL;
	if (opts && opts->cc != -1 && opts->cc != TCP_CC_CUBIC && opts->cc != TCP_CC_NEWRENO &&
	    opts->cc != TCP_CC_BBR)
		return TCP_EINVAL;
	*out = NULL;
	struct tcp_tw *tw = NULL;  /* a TIME-WAIT of the 4-tuple to reuse */
	int fail = TCP_EEXIST;
	if (lport) {
		if (tcp_conn_lookup(s, remote, lport, rport))
			return TCP_EEXIST;
		tw = tcp_tw_lookup(s, remote, lport, rport);
	} else {
		/* RFC 6335 6: dynamic ports 49152-65535; random start from the
		 * injected seed, then the next free one - or, when every port
		 * to this peer is taken, one whose 4-tuple is in TIME-WAIT */
		const unsigned lo = TCP_DYN_PORT_LO, n = 65536 - TCP_DYN_PORT_LO;
		unsigned start = (unsigned)(tcp_rng_next(s) % n), i;
		uint16_t tw_port = 0;
		for (i = 0; i < n; i++) {
			uint16_t p = (uint16_t)(lo + (start + i) % n);
			if (s->shards > 1 && (unsigned)(p ^ rport) % s->shards != s->shard)
				continue; /* the peer's replies would reach another shard */
			if (port_reserved(s, p) || port_in_use(s, remote, p, rport))
				continue;
			if (s->ntw && tcp_tw_lookup(s, remote, p, rport)) {
				if (!tw_port)
					tw_port = p;
				continue;
			}
			lport = p;
			break;
		}
		if (!lport) {
			if (!tw_port)
				return TCP_ENOPORTS;
			lport = tw_port;
			tw = tcp_tw_lookup(s, remote, lport, rport);
			fail = TCP_ENOPORTS;
		}
	}
	int err;
	tcp_enter(s);
	struct tcp_conn *c = tcp_conn_new(s, remote, lport, rport, now, &err);
	if (!c) {
		tcp_leave(s);
		return err;
	}
	/* RFC 9293 3.10.1 OPEN, CLOSED STATE: "A SYN segment of the form
	 * <SEQ=ISS><CTL=SYN> is sent. Set SND.UNA to ISS, SND.NXT to ISS+1,
	 * enter SYN-SENT state, and return." */
	c->iss = tcp_isn(s, c, now);
	apply_opts(c, opts);
	/* TCP-AO (RFC 5925 7.5.1): the MKT for the SYN, or none */
	err = tcp_ao_conn_active(c, opts ? opts->ao : TCP_AO_OPTIONAL, opts ? opts->ao_key : 0);
	if (err < 0) {
		tcp_conn_closed(c, err); /* not owned yet: no event, freed on leave */
		tcp_leave(s);
		return err;
	}
	if (tw) {
		if (!tcp_tw_reusable(tw, c, now)) {
			tcp_conn_closed(c, 0); /* not owned yet: no event */
			tcp_leave(s);
			return fail;
		}
		s->st.TimeWaitReused++;
		tcp_log(s, TCP_LOG_DEBUG, "conn %llu: reuses the 4-tuple of TIME-WAIT conn %llu",
			(unsigned long long)c->id, (unsigned long long)tw->id);
		tcp_tw_free(s, tw);
	}
	c->owned = 1;
	c->user = user;
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->rtx_nxt = c->snd_nxt;
	c->snd_buf_seq = c->iss + 1;
	tcp_set_state(c, TCP_S_SYN_SENT);
	tcp_send_syn(c, now);
	tcp_arm_rtx(c, now);
	if (c->user_timeout)
		tcp_timer_set(c, TCP_T_USER, now + c->user_timeout);
	*out = c;
	tcp_leave(s);
	return 0;
}

/* ---- SEND (RFC 9293 3.10.2) ---- */

/* 0 when SEND is allowed in the current state, else the error to return. */
static int send_allowed(const struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_S_CLOSED:
	case TCP_S_LISTEN:
		/* "If the user does not have access to such a connection, then
		 * return "error: connection illegal for this process"." */
		return c->close_err ? c->close_err : TCP_ENOTCONN;
	case TCP_S_FIN_WAIT_1:
	case TCP_S_FIN_WAIT_2:
	case TCP_S_CLOSING:
	case TCP_S_LAST_ACK:
	case TCP_S_TIME_WAIT:
		/* "Return "error: connection closing" and do not service request." */
		return TCP_ECLOSING;
	default:
		break;
	}
	if (c->fin_queued)
		return TCP_ECLOSING;
	return 0;
}

/* n bytes were appended to the send buffer: send what may go now. */
static void send_queued(struct tcp_conn *c, uint32_t n, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	tcp_enter(s);
	c->sndbuf.len += n;
	tcp_ring_used(c, now);
	/* SYN-SENT / SYN-RECEIVED: "Queue the data for transmission after
	 * entering ESTABLISHED state." ESTABLISHED / CLOSE-WAIT: "Segmentize
	 * the buffer and send it with a piggybacked acknowledgment" */
	if (c->state == TCP_S_ESTABLISHED || c->state == TCP_S_CLOSE_WAIT)
		tcp_output(c, now);
	tcp_leave(s);
}

ssize_t tcp_send(struct tcp_conn *c, const void *buf, size_t len, tcp_time_t now)
{
	if (!c || (!buf && len))
		return TCP_EINVAL;
	int r = send_allowed(c);
	if (r != 0)
		return r;
	uint32_t room = c->sndbuf.lim - c->sndbuf.len;
	uint32_t n = len > room ? room : (uint32_t)len;
	/* grow the ring for what is taken (on allocation failure: what the
	 * ring holds now, the connection keeps its size) */
	if (n && tcp_ring_reserve(&c->sndbuf, c->sndbuf.len + n) < 0) {
		c->s->st.NoMemory++;
		n = c->sndbuf.cap - c->sndbuf.len;
	}
	if (n == 0) {
		c->writable_wanted = 1;
		return 0;
	}
	tcp_ring_write(&c->sndbuf, c->sndbuf.len, buf, n);
	if (n < len)
		c->writable_wanted = 1;
	send_queued(c, n, now);
	return (ssize_t)n;
}

/* The ring's free space [len, cap) from head, as at most two pieces. */
static void ring_free_iov(const struct tcp_ring *r, struct tcp_iov iov[2])
{
	uint32_t room = r->cap - r->len;
	uint32_t pos = (uint32_t)(((uint64_t)r->head + r->len) % (r->cap ? r->cap : 1));
	uint32_t first = r->cap - pos < room ? r->cap - pos : room;
	iov[0] = (struct tcp_iov){ r->buf + pos, first };
	iov[1] = (struct tcp_iov){ r->buf, room - first };
}

ssize_t tcp_send_space(struct tcp_conn *c, struct tcp_iov iov[2])
{
	if (!c || !iov)
		return TCP_EINVAL;
	iov[0] = iov[1] = (struct tcp_iov){ NULL, 0 };
	int r = send_allowed(c);
	if (r != 0)
		return r;
	/* the free space up to the limit, allocated now (the region must
	 * be real memory); on allocation failure what the ring holds */
	if (c->sndbuf.len < c->sndbuf.lim && tcp_ring_reserve(&c->sndbuf, c->sndbuf.lim) < 0)
		c->s->st.NoMemory++;
	uint32_t room = c->sndbuf.cap - c->sndbuf.len;
	if (room == 0) {
		c->writable_wanted = 1;
		return 0;
	}
	ring_free_iov(&c->sndbuf, iov);
	return (ssize_t)room;
}

ssize_t tcp_send_commit(struct tcp_conn *c, size_t len, tcp_time_t now)
{
	if (!c)
		return TCP_EINVAL;
	int r = send_allowed(c);
	if (r != 0)
		return r;
	if (len > c->sndbuf.cap - c->sndbuf.len)
		return TCP_EINVAL;
	if (len == 0)
		return 0;
	send_queued(c, (uint32_t)len, now);
	return (ssize_t)len;
}

/* ---- RECEIVE (RFC 9293 3.10.3) ---- */

ssize_t tcp_recv_peek(struct tcp_conn *c, struct tcp_iov iov[2])
{
	if (!c || !iov)
		return TCP_EINVAL;
	iov[0] = iov[1] = (struct tcp_iov){ NULL, 0 };
	const struct tcp_ring *r = &c->rcvbuf;
	if (r->len == 0) {
		if (c->fin_rcvd)
			return 0;
		if (c->state == TCP_S_CLOSED)
			return c->close_err ? c->close_err : TCP_ENOTCONN;
		return TCP_EAGAIN;
	}
	uint32_t first = r->cap - r->head < r->len ? r->cap - r->head : r->len;
	iov[0] = (struct tcp_iov){ r->buf + r->head, first };
	iov[1] = (struct tcp_iov){ r->buf, r->len - first };
	return (ssize_t)r->len;
}

ssize_t tcp_recv_consume(struct tcp_conn *c, size_t n, tcp_time_t now)
{
	if (!c || n > c->rcvbuf.len)
		return TCP_EINVAL;
	if (n == 0)
		return 0;
	struct tcp_stack *s = c->s;
	tcp_ring_consume(&c->rcvbuf, (uint32_t)n);
	if (c->state != TCP_S_CLOSED) {
		tcp_enter(s);
		c->rcvq_copied += (uint32_t)n;
		tcp_rcv_space_adjust(c, now);
		tcp_ring_used(c, now);
		/* RFC 9293 3.8.6.2.2 receiver SWS avoidance: a window update
		 * once the window opens by the threshold */
		struct tcp_rwnd w;
		tcp_rcv_wnd_offer(c, &w);
		if (w.opens && (c->state == TCP_S_ESTABLISHED || c->state == TCP_S_FIN_WAIT_1 ||
				c->state == TCP_S_FIN_WAIT_2))
			tcp_send_ack(c, now);
		tcp_leave(s);
	}
	return (ssize_t)n;
}

ssize_t tcp_recv(struct tcp_conn *c, void *buf, size_t len, tcp_time_t now)
{
	if (!c || (!buf && len))
		return TCP_EINVAL;
	struct tcp_iov iov[2];
	ssize_t avail = tcp_recv_peek(c, iov);
	if (avail <= 0)
		return avail; /* EOF, TCP_EAGAIN or an error */
	if (len == 0)
		return 0;
	uint32_t n = len > (size_t)avail ? (uint32_t)avail : (uint32_t)len;
	tcp_ring_read(&c->rcvbuf, 0, buf, n);
	return tcp_recv_consume(c, n, now);
}

/* ---- CLOSE (RFC 9293 3.10.4) ---- */

int tcp_close(struct tcp_conn *c, tcp_time_t now)
{
	if (!c)
		return TCP_EINVAL;
	struct tcp_stack *s = c->s;
	int r = 0;
	tcp_enter(s);
	switch (c->state) {
	case TCP_S_CLOSED:
	case TCP_S_LISTEN:
		r = TCP_ENOTCONN;
		break;
	case TCP_S_SYN_SENT:
		/* "Delete the TCB and return "error: closing" responses to any
		 * queued SENDs, or RECEIVEs." */
		tcp_conn_closed(c, 0);
		break;
	case TCP_S_SYN_RECEIVED:
		/* "If no SENDs have been issued and there is no pending data to
		 * send, then form a FIN segment and send it, and enter
		 * FIN-WAIT-1 state; otherwise, queue for processing after
		 * entering ESTABLISHED state."  The FIN follows the SYN,ACK
		 * (SEQ=ISS+1); our SYN stays unacknowledged until the peer's
		 * ACK, which completes the handshake in FIN-WAIT-1 (tcp_input.c
		 * handshake_pending). */
		c->fin_queued = 1;
		if (c->sndbuf.len == 0) {
			tcp_set_state(c, TCP_S_FIN_WAIT_1);
			tcp_output(c, now);
		}
		break;
	case TCP_S_ESTABLISHED:
		/* "Queue this until all preceding SENDs have been segmentized,
		 * then form a FIN segment and send it. In any case, enter
		 * FIN-WAIT-1 state." */
		c->fin_queued = 1;
		tcp_set_state(c, TCP_S_FIN_WAIT_1);
		tcp_output(c, now);
		break;
	case TCP_S_FIN_WAIT_1:
	case TCP_S_FIN_WAIT_2:
		/* "Strictly speaking, this is an error ... An "ok" response
		 * would be acceptable, too" */
		break;
	case TCP_S_CLOSE_WAIT:
		/* "Queue this request until all preceding SENDs have been
		 * segmentized; then send a FIN segment, enter LAST-ACK state." */
		c->fin_queued = 1;
		tcp_set_state(c, TCP_S_LAST_ACK);
		tcp_output(c, now);
		break;
	case TCP_S_CLOSING:
	case TCP_S_LAST_ACK:
	case TCP_S_TIME_WAIT:
		/* "Respond with "error: connection closing"." */
		r = TCP_ECLOSING;
		break;
	}
	tcp_leave(s);
	return r;
}

/* ---- ABORT (RFC 9293 3.10.5) ---- */

static void abort_conn(struct tcp_conn *c, int err, tcp_time_t now)
{
	switch (c->state) {
	case TCP_S_SYN_RECEIVED:
	case TCP_S_ESTABLISHED:
	case TCP_S_FIN_WAIT_1:
	case TCP_S_FIN_WAIT_2:
	case TCP_S_CLOSE_WAIT:
		/* "Send a reset segment: <SEQ=SND.NXT><CTL=RST>" - as written,
		 * without ACK (Linux adds one; the receiver checks only SEQ,
		 * RFC 9293 3.10.7.4 / RFC 5961 3.2) */
		tcp_send_ctl(c, TCP_RST, c->snd_nxt, now);
		break;
	default:
		/* SYN-SENT: "all queued SENDs and RECEIVEs should be given
		 * "connection reset" notification"; CLOSING, LAST-ACK,
		 * TIME-WAIT: "respond with "ok" and delete the TCB" */
		break;
	}
	tcp_conn_closed(c, err);
}

int tcp_abort(struct tcp_conn *c, tcp_time_t now)
{
	if (!c)
		return TCP_EINVAL;
	if (c->detached)
		return TCP_ENOTCONN;
	tcp_enter(c->s);
	abort_conn(c, TCP_EABORTED, now);
	tcp_leave(c->s);
	return 0;
}

int tcp_close_no_read(struct tcp_conn *c, tcp_time_t now)
{
	if (!c)
		return TCP_EINVAL;
	if (c->detached)
		return TCP_ENOTCONN;
	c->no_read = 1;
	if (c->rcvbuf.len > 0 || c->ooo.n > 0) {
		/* unread data: reset, as a kernel socket closed with unread
		 * data does (RFC 2525 2.17) */
		tcp_enter(c->s);
		abort_conn(c, TCP_EABORTED, now);
		tcp_leave(c->s);
		return 0;
	}
	int r = tcp_close(c, now);
	/* already half-closed: the orphaned FIN-WAIT-2 gets its timeout */
	if (c->state == TCP_S_FIN_WAIT_2 && c->timers[TCP_T_2MSL] == TCP_TIME_NEVER)
		tcp_timer_set(c, TCP_T_2MSL, now + 2 * c->s->cfg.msl);
	return r == TCP_ECLOSING ? 0 : r;
}

void tcp_release(struct tcp_conn *c, tcp_time_t now)
{
	if (!c || c->released)
		return;
	struct tcp_stack *s = c->s;
	c->released = 1;
	c->user = NULL;
	if (c->detached) {
		if (s->depth == 0 && !s->delivering && !c->on_ev_list) {
			struct tcp_conn **pp = &s->dead;
			while (*pp && *pp != c)
				pp = &(*pp)->dead_next;
			if (*pp)
				*pp = c->dead_next;
			tcp_conn_free(c);
			return;
		}
		tcp_dead_push(c);
		return;
	}
	/* still live: the engine finishes the close on its own */
	tcp_enter(s);
	c->no_read = 1;
	if (c->state == TCP_S_TIME_WAIT)
		tcp_tw_todo_push(c); /* a compact record from tcp_leave on */
	if (c->state == TCP_S_SYN_SENT) {
		tcp_conn_closed(c, 0);
	} else if (!c->fin_queued && c->state != TCP_S_TIME_WAIT) {
		if (c->rcvbuf.len > 0)
			abort_conn(c, TCP_EABORTED, now);
		else
			tcp_close(c, now);
	}
	/* an orphaned FIN-WAIT-2 does not wait forever */
	if (!c->detached && c->state == TCP_S_FIN_WAIT_2 && c->timers[TCP_T_2MSL] == TCP_TIME_NEVER)
		tcp_timer_set(c, TCP_T_2MSL, now + 2 * s->cfg.msl);
	tcp_leave(s);
}

/* ---- STATUS (RFC 9293 3.10.6) and options ---- */

void tcp_conn_set_user(struct tcp_conn *c, void *user)
{
	if (c)
		c->user = user;
}

void *tcp_conn_user(const struct tcp_conn *c)
{
	return c ? c->user : NULL;
}

int tcp_conn_set_opts(struct tcp_conn *c, const struct tcp_conn_opts *opts)
{
	if (!c || !opts)
		return TCP_EINVAL;
	if (opts->cc != -1 && opts->cc != TCP_CC_CUBIC && opts->cc != TCP_CC_NEWRENO &&
	    opts->cc != TCP_CC_BBR)
		return TCP_EINVAL;
	int old_keep = c->keepalive;
	tcp_time_t old_timeout = c->user_timeout;
	apply_opts(c, opts);
	if (!opts->timeout)
		c->user_timeout = old_timeout;
	if (c->keepalive != old_keep && !c->detached) {
		if (c->keepalive && (c->state == TCP_S_ESTABLISHED || c->state == TCP_S_CLOSE_WAIT))
			tcp_timer_set(c, TCP_T_KEEPALIVE, c->last_send + c->s->cfg.keepalive_idle);
		else
			tcp_timer_clear(c, TCP_T_KEEPALIVE);
	}
	return 0;
}

int tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *o)
{
	if (!c || !o)
		return TCP_EINVAL;
	memset(o, 0, sizeof *o);
	o->id = c->id;
	o->state = c->state;
	o->remote = c->remote;
	o->local_port = c->lport;
	o->remote_port = c->rport;
	o->snd_una = c->snd_una;
	o->snd_nxt = c->snd_nxt;
	o->snd_wnd = c->snd_wnd;
	o->rcv_nxt = c->rcv_nxt;
	o->rcv_wnd = tcp_rcv_wnd(c);
	o->send_queue = c->sndbuf.len;
	o->recv_queue = c->rcvbuf.len;
	o->mss = c->smss;
	o->cwnd = c->cc.cwnd;
	o->ssthresh = c->cc.ssthresh;
	o->srtt = c->rtt.srtt;
	o->rttvar = c->rtt.rttvar;
	o->rto = tcp_rtt_current_rto(&c->rtt);
	o->bytes_sent = c->bytes_sent;
	o->bytes_acked = c->bytes_acked;
	o->bytes_received = c->bytes_received;
	o->segs_out = c->segs_out;
	o->segs_in = c->segs_in;
	o->retransmits = c->retransmits;
	o->snd_wscale = c->snd_wscale;
	o->rcv_wscale = c->rcv_wscale;
	o->sack_ok = c->sack_ok;
	o->ts_ok = c->ts_ok;
	o->nodelay = c->nodelay != 0;
	o->keepalive = c->keepalive != 0;
	const struct tcp_cc_ops *ops = c->cc.ops ? c->cc.ops : tcp_cc_find((enum tcp_cc_algo)c->cc_algo);
	o->cc_name = ops ? ops->name : "";
	if (c->cc.ops == &tcp_cc_bbr) {
		const struct tcp_bbr *b = &c->cc.bbr;
		o->pacing_rate = c->cc.pacing_rate;
		o->model_bw = (uint64_t)b->bw;
		o->model_min_rtt = b->min_rtt == TCP_TIME_NEVER ? 0 : b->min_rtt;
		const char *name = tcp_cc_bbr_state_name(b->state);
		size_t n = strlen(name);
		if (n >= sizeof o->cc_state)
			n = sizeof o->cc_state - 1;
		memcpy(o->cc_state, name, n);
		o->cc_state[n] = 0;
	}
	o->snd_buf_alloc = c->sndbuf.cap;
	o->snd_buf_limit = c->sndbuf.lim;
	o->rcv_buf_alloc = c->rcvbuf.cap;
	o->rcv_buf_limit = tcp_rcv_buf(c);
	if (c->ao) {
		o->ao = 1;
		o->ao_send_id = c->ao->mkt[c->ao->current].key.send_id;
		o->ao_recv_id = c->ao->mkt[c->ao->rnext].key.recv_id;
	}
	o->error_kind = c->err_kind;
	o->error_local = c->err_local;
	o->error_errno = c->err_errno;
	o->pmtu = c->pmtu;
	return 0;
}

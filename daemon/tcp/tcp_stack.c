/*
 * tcp_stack.c - the stack as a whole: its configuration and lifetime, the
 * entry and exit of every engine call (owner events delivered and TCBs
 * freed when the outermost call returns), state changes with their
 * TCP-MIB counters, the per-stack limits on ACKs to unacceptable segments
 * (RFC 5961 7), and SEGMENT ARRIVES' entry point.  The connection table is
 * in tcp_table.c, TIME-WAIT records in tcp_timewait.c, timers in
 * tcp_timer.c, listeners in tcp_listen.c, buffer sizing in tcp_buffers.c,
 * the user calls in tcp_user.c; segment arrival in tcp_input.c, output in
 * tcp_output.c.
 */
#include <stdio.h> /* vsnprintf only: formatting, no I/O */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"
#include "tcp_testing.h" /* defines tcp_stack_set_isn_hook */

/* ---- configuration and lifetime ---- */

const char *tcp_strerror(int err)
{
	switch (err) {
	case TCP_OK: return "success";
	case TCP_EINVAL: return "invalid argument";
	case TCP_ENOMEM: return "out of memory";
	case TCP_EADDRINUSE: return "address in use";
	case TCP_ENOTCONN: return "connection does not exist";
	case TCP_ECONNREFUSED: return "connection refused";
	case TCP_ECONNRESET: return "connection reset";
	case TCP_ETIMEDOUT: return "connection timed out";
	case TCP_ECLOSING: return "connection closing";
	case TCP_EAGAIN: return "try again";
	case TCP_EABORTED: return "connection aborted";
	case TCP_EMALFORMED: return "malformed segment";
	case TCP_ENOPORTS: return "no ephemeral port available";
	case TCP_EEXIST: return "connection already exists";
	case TCP_ELIMIT: return "limit reached";
	case TCP_ENOKEY: return "no TCP-AO key for the peer";
	case TCP_EUNREACH: return "destination unreachable";
	default: return "unknown error";
	}
}

const char *tcp_state_name(enum tcp_state st)
{
	static const char *const names[] = {
		"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED",
		"FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK",
		"TIME-WAIT",
	};
	if ((unsigned)st < sizeof names / sizeof names[0])
		return names[st];
	return "?";
}

void tcp_config_default(struct tcp_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->mss = 1452;                       /* docs/DESIGN.md section 3: 1500 - 20 - 8 - 20 */
	cfg->send_buffer = 4u << 20;
	cfg->recv_buffer = 4u << 20;
	cfg->recv_buffer_auto = 1;
	cfg->rto_initial = TCP_SEC(1);         /* RFC 6298 (2.1) */
	cfg->rto_min = TCP_MS(200);            /* RFC 6298 (2.4) says 1 s; Linux uses 200 ms */
	cfg->rto_max = TCP_SEC(120);           /* RFC 6298 (2.5): at least 60 s */
	cfg->msl = TCP_SEC(30);                /* RFC 9293 3.4.2 says 2 min; Linux-like 30 s */
	/* RFC 9293 3.8.3 (MUST-23): "R2 for a SYN segment MUST be set large
	 * enough to provide retransmission of the segment for at least 3
	 * minutes": 7 retransmissions at 1+2+...+64 s, given up at ~247 s
	 * (RTO capped at rto_max); Linux's 6 gives only ~127 s. */
	cfg->syn_retries = 7;
	cfg->retries = 15;
	cfg->delayed_ack = TCP_MS(40);         /* RFC 9293 3.8.6.3: less than 0.5 s */
	cfg->nodelay = 0;
	cfg->cc = TCP_CC_CUBIC;
	cfg->loss_detection = TCP_LOSS_RACK;   /* RFC 8985 */
	cfg->hystart = 1;                      /* RFC 9406 */
	cfg->prr = 1;                          /* RFC 6937 */
	cfg->keepalive = 0;
	cfg->keepalive_idle = TCP_SEC(7200);   /* RFC 9293 3.8.4: no less than two hours */
	cfg->keepalive_intvl = TCP_SEC(75);
	cfg->keepalive_probes = 9;
	cfg->timestamps = 1;
	cfg->sack = 1;
	cfg->window_scaling = 1;
	cfg->max_connections = 4096;
	cfg->max_time_wait = 4096;
	/* RFC 5961 7 "a configurable limit": Linux's historical 1000/s.  The
	 * budget is per stack, so a low one lets one noisy peer silence the
	 * challenge ACKs every other connection relies on. */
	cfg->challenge_ack_limit = 1000;
	/* Linux's tcp_invalid_ratelimit: at most one ACK per 500 ms in answer
	 * to unacceptable segments of one connection (tcp_oow_ack_allowed) */
	cfg->invalid_ratelimit = TCP_MS(500);
	cfg->syncookies = 1;                   /* as Linux's net.ipv4.tcp_syncookies = 1 */
	cfg->syn_rate_per_source = 100;        /* tcp_synrate.c */
}

void tcp_log(struct tcp_stack *s, int level, const char *fmt, ...)
{
	if (!s->cb.log)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	s->cb.log(s->cb.ctx, level, "%s", line);
}

/* splitmix64: the engine's PRNG, seeded by the caller (docs/DESIGN.md section 4). */
uint64_t tcp_rng_next(struct tcp_stack *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int config_valid(const struct tcp_config *cfg)
{
	if (cfg->mss < 64 || (cfg->mss_loopback && cfg->mss_loopback < 64) || cfg->send_buffer < 16 || cfg->recv_buffer < 16)
		return 0;
	if (cfg->send_buffer > (1u << 30) || cfg->recv_buffer > (1u << 30))
		return 0;
	if (!cfg->rto_initial || !cfg->rto_min || cfg->rto_max < cfg->rto_min)
		return 0;
	if (!cfg->max_connections || cfg->max_connections > (1u << 24))
		return 0;
	if (cfg->max_time_wait > (1u << 24))
		return 0;
	if (cfg->loss_detection != TCP_LOSS_RACK && cfg->loss_detection != TCP_LOSS_RFC6675)
		return 0;
	if (cfg->cc != TCP_CC_CUBIC && cfg->cc != TCP_CC_NEWRENO && cfg->cc != TCP_CC_BBR)
		return 0;
	if (cfg->syn_rate_per_source > 1000000) /* 1 us apart at least (tcp_synrate.c) */
		return 0;
	return 1;
}

int tcp_stack_new(struct tcp_stack **out, const struct tcp_config *cfg,
		  const struct tcp_callbacks *cb, const uint8_t secret[16], uint64_t seed)
{
	struct tcp_config def;
	if (!out || !cb || !secret)
		return TCP_EINVAL;
	*out = NULL;
	if (!cfg) {
		tcp_config_default(&def);
		cfg = &def;
	}
	if (!config_valid(cfg))
		return TCP_EINVAL;
	struct tcp_stack *s = calloc(1, sizeof *s);
	if (!s)
		return TCP_ENOMEM;
	s->cfg = *cfg;
	s->cb = *cb;
	memcpy(s->secret, secret, 16);
	s->rng = seed;
	s->next_id = 1;
	s->id_step = 1;
	s->nbuckets = 64;
	while (s->nbuckets < cfg->max_connections * 2u)
		s->nbuckets *= 2;
	s->table = calloc(s->nbuckets, sizeof *s->table);
	s->tw_nbuckets = 64;
	while (s->tw_nbuckets < cfg->max_time_wait)
		s->tw_nbuckets *= 2;
	s->tw_table = calloc(s->tw_nbuckets, sizeof *s->tw_table);
	s->heap_cap = 64; /* grows with the TCBs (tcp_timer_reserve) */
	s->heap = calloc(s->heap_cap, sizeof *s->heap);
	if (!s->table || !s->heap || !s->tw_table) {
		free(s->table);
		free(s->tw_table);
		free(s->heap);
		free(s);
		return TCP_ENOMEM;
	}
	*out = s;
	return 0;
}

void tcp_stack_free(struct tcp_stack *s)
{
	if (!s)
		return;
	struct tcp_conn *c = s->all, *n;
	for (; c; c = n) {
		n = c->next;
		tcp_conn_free(c);
	}
	/* detached TCBs still held by owners or waiting to be freed */
	for (c = s->dead; c; c = n) {
		n = c->dead_next;
		tcp_conn_free(c);
	}
	struct tcp_listener *l = s->listeners, *ln;
	for (; l; l = ln) {
		ln = l->next;
		free(l->allow);
		free(l);
	}
	struct tcp_tw *tw = s->tw_head, *twn;
	for (; tw; tw = twn) {
		twn = tw->next;
		free(tw);
	}
	free(s->tw_table);
	free(s->reserved);
	tcp_ao_table_free(&s->ao);
	free(s->table);
	free(s->heap);
	free(s);
}

int tcp_stack_reconfigure(struct tcp_stack *s, const struct tcp_config *cfg)
{
	if (!s || !cfg || !config_valid(cfg))
		return TCP_EINVAL;
	/* the table is sized by max_connections at creation (max_time_wait
	 * may change: the TIME-WAIT hash chains just get longer) */
	unsigned maxc = s->cfg.max_connections;
	s->cfg = *cfg;
	if (s->cfg.max_connections > maxc)
		s->cfg.max_connections = maxc;
	return 0;
}

void tcp_stack_set_isn_hook(struct tcp_stack *s, uint32_t (*hook)(void *arg, const struct tcp_conn *c),
			    void *arg)
{
	s->isn_hook = hook;
	s->isn_arg = arg;
}

/* ---- entry / exit: deferred events and frees ---- */

static int conn_freeable(const struct tcp_conn *c)
{
	return c->detached && (!c->owned || c->released) && !c->on_ev_list;
}

static void deliver(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	static const struct { unsigned bit; enum tcp_event ev; } order[] = {
		{ TCP_EVB_ESTABLISHED, TCP_EV_ESTABLISHED },
		{ TCP_EVB_ACCEPTED, TCP_EV_ACCEPTED },
		{ TCP_EVB_READABLE, TCP_EV_READABLE },
		{ TCP_EVB_PEER_FIN, TCP_EV_PEER_FIN },
		{ TCP_EVB_WRITABLE, TCP_EV_WRITABLE },
		{ TCP_EVB_CLOSED, TCP_EV_CLOSED },
	};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		if (!(c->events & order[i].bit))
			continue;
		c->events &= ~order[i].bit;
		if (!c->owned || c->released || !s->cb.event)
			continue;
		if (order[i].ev == TCP_EV_ACCEPTED)
			s->cb.event(s->cb.ctx, c, c->listener_user, TCP_EV_ACCEPTED, 0);
		else
			s->cb.event(s->cb.ctx, c, c->user, order[i].ev,
				    order[i].ev == TCP_EV_CLOSED ? c->close_err : 0);
	}
}

void tcp_enter(struct tcp_stack *s)
{
	s->depth++;
}

void tcp_dead_push(struct tcp_conn *c)
{
	if (c->on_dead_list)
		return;
	c->on_dead_list = 1;
	c->dead_next = c->s->dead;
	c->s->dead = c;
}

void tcp_leave(struct tcp_stack *s)
{
	if (--s->depth > 0 || s->delivering)
		return;
	s->delivering = 1;
	for (unsigned guard = 0; s->ev_head && guard < 1000000; guard++) {
		struct tcp_conn *c = s->ev_head;
		s->ev_head = c->ev_next;
		if (!s->ev_head)
			s->ev_tail = NULL;
		c->on_ev_list = 0;
		c->ev_next = NULL;
		s->depth++;
		deliver(c);
		s->depth--;
		if (c->detached)
			tcp_dead_push(c);
	}
	/* TIME-WAIT TCBs nobody holds become compact records */
	while (s->tw_todo) {
		struct tcp_conn *c = s->tw_todo;
		s->tw_todo = c->tw_next;
		c->tw_next = NULL;
		c->on_tw_todo = 0;
		tcp_tw_compact(c);
	}
	/* free what nobody holds any more */
	struct tcp_conn **pp = &s->dead;
	while (*pp) {
		struct tcp_conn *c = *pp;
		if (conn_freeable(c)) {
			*pp = c->dead_next;
			tcp_conn_free(c);
		} else {
			pp = &c->dead_next; /* the owner still holds it */
		}
	}
	s->delivering = 0;
}

void tcp_conn_event(struct tcp_conn *c, unsigned evbit)
{
	struct tcp_stack *s = c->s;
	c->events |= evbit;
	if (c->on_ev_list)
		return;
	c->on_ev_list = 1;
	c->ev_next = NULL;
	if (s->ev_tail)
		s->ev_tail->ev_next = c;
	else
		s->ev_head = c;
	s->ev_tail = c;
}

/* The user's view of the connection is over (TIME-WAIT reached, or the
 * TCB is gone): TCP_EV_CLOSED(err), once. */
void tcp_report_closed(struct tcp_conn *c, int err)
{
	if (c->closed_reported)
		return;
	c->close_err = err;
	c->closed_reported = 1;
	if (c->owned && !c->released)
		tcp_conn_event(c, TCP_EVB_CLOSED);
}

/* ---- state ---- */

static int is_estab_like(enum tcp_state st)
{
	return st == TCP_S_ESTABLISHED || st == TCP_S_CLOSE_WAIT;
}

/* docs/DESIGN.md section 4: every state change goes through here and logs "old => new". */
void tcp_set_state(struct tcp_conn *c, enum tcp_state st)
{
	struct tcp_stack *s = c->s;
	enum tcp_state old = c->state;
	if (old == st)
		return;
	tcp_log(s, TCP_LOG_DEBUG, "conn %llu %u->%u: %s => %s", (unsigned long long)c->id,
		(unsigned)c->lport, (unsigned)c->rport, tcp_state_name(old), tcp_state_name(st));
	/* RFC 4022 tcpCurrEstab: "number of TCP connections for which the
	 * current state is either ESTABLISHED or CLOSE-WAIT" */
	if (is_estab_like(old) && !is_estab_like(st) && s->st.CurrEstab)
		s->st.CurrEstab--;
	if (!is_estab_like(old) && is_estab_like(st))
		s->st.CurrEstab++;
	/* tcpEstabResets: ESTABLISHED/CLOSE-WAIT -> CLOSED */
	if (is_estab_like(old) && st == TCP_S_CLOSED)
		s->st.EstabResets++;
	/* tcpAttemptFails: SYN-SENT/SYN-RECEIVED -> CLOSED, SYN-RECEIVED -> LISTEN */
	if ((old == TCP_S_SYN_SENT || old == TCP_S_SYN_RECEIVED) &&
	    (st == TCP_S_CLOSED || st == TCP_S_LISTEN))
		s->st.AttemptFails++;
	if (old == TCP_S_CLOSED && st == TCP_S_SYN_SENT)
		s->st.ActiveOpens++;
	if (st == TCP_S_TIME_WAIT)
		s->ntw_full++;
	else if (old == TCP_S_TIME_WAIT && s->ntw_full)
		s->ntw_full--;
	if (old == TCP_S_LISTEN && st == TCP_S_SYN_RECEIVED)
		s->st.PassiveOpens++;
	c->state = st;
}

/* RFC 9293 3.10.7.3: after the SYN was acknowledged.  Sets up the window
 * bookkeeping shared by the active and passive sides. */
void tcp_conn_established(struct tcp_conn *c, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	/* RFC 6298 (5.7): "If the timer expires awaiting the ACK of a SYN
	 * segment and the TCP implementation is using an RTO less than 3
	 * seconds, the RTO MUST be re-initialized to 3 seconds when data
	 * transmission begins" */
	if (c->rtx_count > 0 && !c->rtt.has_sample && c->rtt.rto < TCP_SEC(3)) {
		c->rtt.rto = TCP_SEC(3);
		if (c->rtt.rto > c->rtt.rto_max)
			c->rtt.rto = c->rtt.rto_max;
	}
	tcp_set_state(c, TCP_S_ESTABLISHED);
	/* the SYN is acknowledged: data starts at ISS+1 */
	c->snd_buf_seq = c->iss + 1;
	c->recover = c->iss; /* RFC 6582 3.2 step 1: "recover ... initialized to the ISS" */
	if (!c->ws_ok) {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	tcp_cc_init(&c->cc, (enum tcp_cc_algo)c->cc_algo, c->smss, now);
	tcp_hystart_init(&c->cc.hs, s->cfg.hystart && c->cc_algo == TCP_CC_CUBIC);
	tcp_rack_init(&c->rack);
	c->rack_on = s->cfg.loss_detection == TCP_LOSS_RACK;
	if (c->cc.ops && c->cc.ops->on_rate_sample) {
		/* the congestion control takes delivery-rate samples: the
		 * transmission record feeds them (tcp_rate.h) */
		c->rack.cc = &c->cc;
		if (c->cc_algo == TCP_CC_BBR)
			tcp_cc_bbr_start(&c->cc, c->rtt.has_sample ? c->rtt.srtt : 0,
					 tcp_rng_next(s), now);
	}
	c->pace_next_ns = 0;
	c->rtx_count = 0;
	tcp_timer_clear(c, TCP_T_USER);
	if (c->keepalive)
		tcp_timer_set(c, TCP_T_KEEPALIVE, now + s->cfg.keepalive_idle);
	if (c->passive) {
		tcp_listener_detach(c);
		c->owned = 1;
		tcp_conn_event(c, TCP_EVB_ACCEPTED);
	} else {
		tcp_conn_event(c, TCP_EVB_ESTABLISHED);
	}
}

/* ---- ACKs to unacceptable segments (RFC 5961 7) ---- */

/* RFC 5961 7: "the challenge ACKs are rate limited ... a limit on the
 * number of challenge ACKs sent per second".  A fixed budget shared by
 * every connection is a side channel (CVE-2016-5696): an off-path host
 * that spends it on its own connection counts the challenge ACKs it gets
 * back and learns whether its spoofed segments drew challenge ACKs from
 * another connection (a 4-tuple exists, a sequence number is in window).
 * As Linux does since that fix, each second's budget is drawn at random
 * in [limit/2, limit/2 + limit) from the caller's seed, and each
 * connection is first held to cfg.invalid_ratelimit
 * (tcp_oow_ack_allowed), so no connection can spend the budget. */
int tcp_challenge_ack_allowed(struct tcp_stack *s, tcp_time_t now)
{
	/* a `now` older than the window's start (a caller's stale clock)
	 * stays in the current window */
	if (!s->chack_started ||
	    (now >= s->chack_window_start && now - s->chack_window_start >= TCP_SEC(1))) {
		unsigned limit = s->cfg.challenge_ack_limit;
		unsigned half = (limit + 1) / 2;
		s->chack_started = 1;
		s->chack_window_start = now;
		s->chack_left = limit ? half + (unsigned)(tcp_rng_next(s) % limit) : 0;
	}
	if (!s->chack_left) {
		s->st.ChallengeAcksSuppressed++;
		return 0;
	}
	s->chack_left--;
	s->st.ChallengeAcks++;
	return 1;
}

/* Linux's tcp_invalid_ratelimit (RFC 5961 7 "ACK throttling" per
 * connection): ACKs answering unacceptable segments - PAWS failures, out
 * of window sequence numbers or ACKs, challenges - are what a spoofer
 * can draw from a connection at will (reflection), and what two
 * confused endpoints ping-pong forever (an ACK loop).  One per interval
 * per connection is enough for every legitimate case: the peer that
 * needs the answer (a keep-alive, a retransmitted FIN, a window probe
 * below the window) sends again, later.  Linux exempts segments with
 * data, which may want a D-SACK; tou sends no D-SACK, and a spoofer's
 * data is as easy to forge as a SYN. */
int tcp_oow_ack_allowed(struct tcp_conn *c, tcp_time_t now, uint64_t *skipped)
{
	tcp_time_t gap = c->s->cfg.invalid_ratelimit;
	if (gap && c->oow_ack_sent && (now < c->oow_ack_at || now - c->oow_ack_at < gap)) {
		(*skipped)++;
		return 0;
	}
	c->oow_ack_sent = 1;
	c->oow_ack_at = now;
	return 1;
}

/* ---- counters and input ---- */

void tcp_get_stats(const struct tcp_stack *s, struct tcp_stats *out)
{
	if (s && out)
		*out = s->st;
}

int tcp_endpoint_valid(const struct tcp_endpoint *r)
{
	return r && (r->family == 4 || r->family == 6) && r->udp_port != 0;
}

int tcp_input(struct tcp_stack *s, const struct tcp_endpoint *from,
	      const uint8_t *buf, size_t len, tcp_time_t now)
{
	if (!s || !from || !buf)
		return TCP_EINVAL;
	struct tcp_seg seg;
	s->st.InSegs++;
	if (!tcp_endpoint_valid(from)) {
		s->st.InErrs++;
		s->st.DropMalformed++;
		return TCP_EINVAL;
	}
	int r = tcp_seg_parse(&seg, buf, len);
	if (r < 0) {
		s->st.InErrs++;
		s->st.DropMalformed++;
		return r;
	}
	tcp_enter(s);
	r = tcp_input_seg(s, from, &seg, now);
	tcp_leave(s);
	return r;
}

/*
 * tcp_stack.c - the stack: configuration, connection table, listeners,
 * ephemeral ports, ISNs, the timer heap, owner events, and the RFC 9293
 * section 3.10.1-3.10.6 user calls (OPEN, SEND, RECEIVE, CLOSE, ABORT,
 * STATUS).  Segment arrival is in tcp_input.c, output in tcp_output.c.
 */
#include <stdio.h> /* vsnprintf only: formatting, no I/O */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"
#include "tcp_testing.h" /* defines tcp_stack_set_isn_hook */
#include "tcp_siphash.h"

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
static uint64_t rng_next(struct tcp_stack *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int config_valid(const struct tcp_config *cfg)
{
	if (cfg->mss < 64 || cfg->send_buffer < 16 || cfg->recv_buffer < 16)
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
	if (cfg->cc != TCP_CC_CUBIC && cfg->cc != TCP_CC_NEWRENO)
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
	s->nbuckets = 64;
	while (s->nbuckets < cfg->max_connections * 2u)
		s->nbuckets *= 2;
	s->table = calloc(s->nbuckets, sizeof *s->table);
	s->tw_nbuckets = 64;
	while (s->tw_nbuckets < cfg->max_time_wait)
		s->tw_nbuckets *= 2;
	s->tw_table = calloc(s->tw_nbuckets, sizeof *s->tw_table);
	s->heap_cap = 64; /* grows with the TCBs (heap_reserve) */
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

static void conn_free(struct tcp_conn *c)
{
	tcp_ao_conn_free(c);
	tcp_rack_free(&c->rack);
	tcp_ring_free(&c->sndbuf);
	tcp_ring_free(&c->rcvbuf);
	free(c);
}

void tcp_stack_free(struct tcp_stack *s)
{
	if (!s)
		return;
	struct tcp_conn *c = s->all, *n;
	for (; c; c = n) {
		n = c->next;
		conn_free(c);
	}
	/* detached TCBs still held by owners or waiting to be freed */
	for (c = s->dead; c; c = n) {
		n = c->dead_next;
		conn_free(c);
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

static void tw_compact(struct tcp_conn *c);
static void tw_todo_push(struct tcp_conn *c);
static void tw_expire(struct tcp_stack *s, tcp_time_t now);
static void idle_timeout(struct tcp_conn *c, tcp_time_t now);

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

static void dead_push(struct tcp_conn *c)
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
			dead_push(c);
	}
	/* TIME-WAIT TCBs nobody holds become compact records */
	while (s->tw_todo) {
		struct tcp_conn *c = s->tw_todo;
		s->tw_todo = c->tw_next;
		c->tw_next = NULL;
		c->on_tw_todo = 0;
		tw_compact(c);
	}
	/* free what nobody holds any more */
	struct tcp_conn **pp = &s->dead;
	while (*pp) {
		struct tcp_conn *c = *pp;
		if (conn_freeable(c)) {
			*pp = c->dead_next;
			conn_free(c);
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

/* ---- the connection table ---- */

static void make_key(struct tuple_key *k, const struct tcp_endpoint *r, uint16_t lport, uint16_t rport)
{
	memset(k, 0, sizeof *k);
	k->family = r->family;
	memcpy(k->addr, r->addr, r->family == 4 ? 4 : 16);
	k->udp[0] = (uint8_t)(r->udp_port >> 8); k->udp[1] = (uint8_t)r->udp_port;
	k->lport[0] = (uint8_t)(lport >> 8); k->lport[1] = (uint8_t)lport;
	k->rport[0] = (uint8_t)(rport >> 8); k->rport[1] = (uint8_t)rport;
}

void tcp_tuple_key(struct tuple_key *k, const struct tcp_endpoint *r, uint16_t lport, uint16_t rport)
{
	make_key(k, r, lport, rport);
}

static unsigned bucket(const struct tcp_stack *s, const struct tcp_endpoint *r,
		       uint16_t lport, uint16_t rport)
{
	struct tuple_key k;
	make_key(&k, r, lport, rport);
	return (unsigned)(tcp_siphash24(s->secret, &k, sizeof k) & (s->nbuckets - 1));
}

static int ep_equal(const struct tcp_endpoint *a, const struct tcp_endpoint *b)
{
	if (a->family != b->family || a->udp_port != b->udp_port)
		return 0;
	return memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

struct tcp_conn *tcp_conn_lookup(struct tcp_stack *s, const struct tcp_endpoint *r,
				 uint16_t lport, uint16_t rport)
{
	struct tcp_conn *c = s->last_hit;
	if (c && c->lport == lport && c->rport == rport && ep_equal(&c->remote, r))
		return c;
	for (c = s->table[bucket(s, r, lport, rport)]; c; c = c->hnext)
		if (c->lport == lport && c->rport == rport && ep_equal(&c->remote, r)) {
			s->last_hit = c;
			return c;
		}
	return NULL;
}

void tcp_listener_add_embryo(struct tcp_listener *l, struct tcp_conn *c)
{
	c->listener = l;
	c->lq_next = NULL;
	c->lq_prev = l->embryo_tail;
	if (l->embryo_tail)
		l->embryo_tail->lq_next = c;
	else
		l->embryo_head = c;
	l->embryo_tail = c;
	l->pending++;
}

void tcp_listener_detach(struct tcp_conn *c)
{
	struct tcp_listener *l = c->listener;
	if (!l)
		return;
	if (c->lq_prev)
		c->lq_prev->lq_next = c->lq_next;
	else
		l->embryo_head = c->lq_next;
	if (c->lq_next)
		c->lq_next->lq_prev = c->lq_prev;
	else
		l->embryo_tail = c->lq_prev;
	c->lq_prev = c->lq_next = NULL;
	if (l->pending)
		l->pending--;
	c->listener = NULL;
}

struct tcp_listener *tcp_listener_find(struct tcp_stack *s, uint16_t port)
{
	for (struct tcp_listener *l = s->listeners; l; l = l->next)
		if (l->port == port)
			return l;
	return NULL;
}

/* RFC 9293 3.4.1: "ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey)" where "M is the 4 microsecond timer, and F() is a
 * pseudorandom function (PRF) of the connection's identifying parameters
 * ... and a secret key".  The local IP is the daemon's one UDP socket, so
 * the remote UDP port joins the identifying parameters instead. */
uint32_t tcp_isn(struct tcp_stack *s, const struct tcp_conn *c, tcp_time_t now)
{
	if (s->isn_hook)
		return s->isn_hook(s->isn_arg, c);
	struct tuple_key k;
	make_key(&k, &c->remote, c->lport, c->rport);
	uint32_t f = (uint32_t)tcp_siphash24(s->secret, &k, sizeof k);
	uint32_t m = (uint32_t)(now / 4);
	return m + f;
}

/* RFC 7323 7.1: the timestamp clock of a connection starts at a random
 * offset, so that TSvals reveal nothing of the host's uptime.  As for the
 * ISN (RFC 9293 3.4.1 / RFC 6528), the offset is a keyed hash of the
 * 4-tuple rather than a fresh random number (Linux's tsoffset): every
 * incarnation of one 4-tuple shares the clock, so a new SYN for a 4-tuple
 * the peer still holds in TIME-WAIT carries a newer TSval than the old
 * connection's and passes the peer's PAWS test (RFC 6191). */
uint32_t tcp_ts_offset(const struct tcp_stack *s, const struct tcp_endpoint *r,
		       uint16_t lport, uint16_t rport)
{
	struct {
		char tag[4]; /* not the ISN's F(): another function of the key */
		struct tuple_key k;
	} in;
	memset(&in, 0, sizeof in);
	memcpy(in.tag, "TSof", 4);
	make_key(&in.k, r, lport, rport);
	return (uint32_t)tcp_siphash24(s->secret, &in, sizeof in);
}

static uint8_t pick_wscale(uint32_t buf)
{
	/* RFC 7323 2.3: shift count at most 14 */
	uint8_t ws = 0;
	while (ws < 14 && (buf >> ws) > 65535)
		ws++;
	return ws;
}

uint8_t tcp_rcv_wscale(const struct tcp_stack *s)
{
	return s->cfg.window_scaling ? pick_wscale(s->cfg.recv_buffer) : 0;
}

uint16_t tcp_adv_mss(const struct tcp_stack *s, const struct tcp_endpoint *r)
{
	/* docs/DESIGN.md section 3: MSS = path MTU - IP - UDP - TCP headers; cfg.mss is the
	 * IPv4 value (1452 on a 1500 path), IPv6's header is 20 bytes longer */
	uint16_t mss = s->cfg.mss;
	if (r->family == 6 && mss > 64 + 20)
		mss = (uint16_t)(mss - 20);
	return mss;
}


/* Every TCB needs at most one heap slot: the heap grows with the table. */
static int heap_reserve(struct tcp_stack *s, unsigned n)
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

unsigned tcp_live_conns(const struct tcp_stack *s)
{
	return s->nconns - s->ntw_full;
}

/* Allocate and initialize a TCB for the 4-tuple and put it in the table:
 * no ring is allocated (tcp_ring.c grows them on first need). */
static struct tcp_conn *conn_alloc(struct tcp_stack *s, const struct tcp_endpoint *r,
				   uint16_t lport, uint16_t rport, int *err)
{
	if (heap_reserve(s, s->nconns + 1) < 0) {
		*err = TCP_ENOMEM;
		return NULL;
	}
	struct tcp_conn *c = calloc(1, sizeof *c);
	if (!c) {
		*err = TCP_ENOMEM;
		return NULL;
	}
	c->s = s;
	c->id = s->next_id++;
	c->state = TCP_S_CLOSED;
	c->remote = *r;
	c->lport = lport;
	c->rport = rport;
	c->heap_idx = UINT32_MAX;
	c->deadline = TCP_TIME_NEVER;
	for (int i = 0; i < TCP_T_N; i++)
		c->timers[i] = TCP_TIME_NEVER;
	c->nodelay = s->cfg.nodelay;
	c->keepalive = s->cfg.keepalive;
	c->cc_algo = s->cfg.cc;
	tcp_rtt_init(&c->rtt, s->cfg.rto_initial, s->cfg.rto_min, s->cfg.rto_max);
	tcp_seqset_init(&c->ooo);
	tcp_sb_init(&c->sb);
	/* insert */
	unsigned b = bucket(s, r, lport, rport);
	c->hnext = s->table[b];
	s->table[b] = c;
	c->next = s->all;
	if (s->all)
		s->all->prev = c;
	s->all = c;
	s->nconns++;
	*err = 0;
	return c;
}

struct tcp_conn *tcp_conn_new(struct tcp_stack *s, const struct tcp_endpoint *r,
			      uint16_t lport, uint16_t rport, tcp_time_t now, int *err)
{
	if (tcp_live_conns(s) >= s->cfg.max_connections) {
		*err = TCP_ELIMIT;
		return NULL;
	}
	/* RFC 7323 2.3: the shift is fixed by the SYN, so it is chosen for the
	 * largest buffer auto-tuning may reach (cfg.recv_buffer); the window
	 * advertises only what the buffer's current limit holds. */
	uint8_t ws = tcp_rcv_wscale(s);
	/* RFC 9293 3.8.6.2.2 SHLD-14 with RFC 7323 scaling: keeping the right
	 * edge from moving left means rounding the scaled window up, by less
	 * than 2^shift per ACK while the window closes; this slack (1/16 of
	 * the buffer, at least 2^shift) holds what the rounding promises. */
	uint32_t slack = 0;
	if (ws) {
		slack = s->cfg.recv_buffer / 16;
		if (slack < (1u << ws))
			slack = 1u << ws;
	}
	struct tcp_conn *c = conn_alloc(s, r, lport, rport, err);
	if (!c)
		return NULL;
	tcp_ring_init(&c->sndbuf, s->cfg.send_buffer < TCP_SNDBUF_INIT ? s->cfg.send_buffer
									: TCP_SNDBUF_INIT);
	uint32_t rcv = s->cfg.recv_buffer;
	if (s->cfg.recv_buffer_auto && rcv > TCP_RCVBUF_INIT)
		rcv = TCP_RCVBUF_INIT; /* rcv_space_adjust() grows it */
	tcp_ring_init(&c->rcvbuf, rcv + slack);
	c->rcv_wscale = ws;
	c->rcv_slack = slack;
	c->adv_mss = tcp_adv_mss(s, r);
	/* RFC 9293 3.7.1: "If an MSS Option is not received at connection
	 * setup, TCP implementations MUST assume a default send MSS of 536
	 * (576 - 40) for IPv4 or 1220 (1280 - 60) for IPv6 (MUST-15)." */
	c->peer_mss = r->family == 6 ? 1220 : 536;
	c->smss = c->peer_mss;
	c->ts_offset = tcp_ts_offset(s, r, lport, rport);
	(void)now;
	return c;
}
/* ---- buffers that follow use ---- */

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
static void idle_timeout(struct tcp_conn *c, tcp_time_t now)
{
	tcp_time_t due = c->ring_used_at + idle_delay(c);
	if (due > now) {
		tcp_timer_set(c, TCP_T_IDLE, due);
		return;
	}
	tcp_ring_trim(&c->sndbuf, c->sndbuf.len);
	tcp_ring_trim(&c->rcvbuf, rcv_extent(c));
}

void tcp_conn_time_wait(struct tcp_conn *c)
{
	/* both FINs are acknowledged: nothing is left to send; the receive
	 * ring keeps only what the owner has not read yet */
	tcp_ring_free(&c->sndbuf);
	tcp_rack_free(&c->rack);
	tcp_ring_trim(&c->rcvbuf, c->rcvbuf.len);
	tcp_seqset_init(&c->ooo);
	if (!c->owned || c->released)
		tw_todo_push(c);
}

/* ---- compact TIME-WAIT records ---- */

static unsigned tw_bucket(const struct tcp_stack *s, const struct tcp_endpoint *r,
			  uint16_t lport, uint16_t rport)
{
	struct tuple_key k;
	make_key(&k, r, lport, rport);
	return (unsigned)(tcp_siphash24(s->secret, &k, sizeof k) & (s->tw_nbuckets - 1));
}

static struct tcp_tw *tw_lookup(struct tcp_stack *s, const struct tcp_endpoint *r,
				uint16_t lport, uint16_t rport)
{
	if (!s->ntw)
		return NULL;
	for (struct tcp_tw *tw = s->tw_table[tw_bucket(s, r, lport, rport)]; tw; tw = tw->hnext)
		if (tw->lport == lport && tw->rport == rport && ep_equal(&tw->remote, r))
			return tw;
	return NULL;
}

/* Unlink and free a record. */
static void tw_free(struct tcp_stack *s, struct tcp_tw *tw)
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

static void tw_todo_push(struct tcp_conn *c)
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
static void tw_compact(struct tcp_conn *c)
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
		tw_free(s, s->tw_head);
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
	struct tcp_conn *c = conn_alloc(s, &tw->remote, tw->lport, tw->rport, &err);
	if (!c) {
		s->st.NoMemory++;
		return NULL;
	}
	s->next_id--; /* the same connection: it keeps its id */
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
	tw_free(s, tw);
	tw_todo_push(c);
	return c;
}

struct tcp_conn *tcp_conn_or_time_wait(struct tcp_stack *s, const struct tcp_endpoint *r,
				       uint16_t lport, uint16_t rport, int *nomem)
{
	*nomem = 0;
	struct tcp_conn *c = tcp_conn_lookup(s, r, lport, rport);
	if (c)
		return c;
	struct tcp_tw *tw = tw_lookup(s, r, lport, rport);
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
static void tw_expire(struct tcp_stack *s, tcp_time_t now)
{
	while (s->tw_head && s->tw_head->deadline <= now) {
		tcp_log(s, TCP_LOG_DEBUG, "conn %llu %u->%u: TIME-WAIT => CLOSED",
			(unsigned long long)s->tw_head->id, (unsigned)s->tw_head->lport,
			(unsigned)s->tw_head->rport);
		tw_free(s, s->tw_head);
	}
}

static void tw_info(const struct tcp_tw *tw, struct tcp_conn_info *o);

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

void tcp_get_mem_info(const struct tcp_stack *s, struct tcp_mem_info *o)
{
	if (!s || !o)
		return;
	memset(o, 0, sizeof *o);
	for (const struct tcp_conn *c = s->all; c; c = c->next) {
		o->conns++;
		if (c->sndbuf.cap) {
			o->snd_rings++;
			o->snd_ring_bytes += c->sndbuf.cap;
		}
		if (c->rcvbuf.cap) {
			o->rcv_rings++;
			o->rcv_ring_bytes += c->rcvbuf.cap;
		}
	}
	o->time_wait = s->ntw;
	o->tcb_bytes = sizeof(struct tcp_conn);
	/* the record as malloc holds it (a size_t header, 16-byte chunks),
	 * and its share of the hash table's buckets at the bound */
	size_t rec = (sizeof(struct tcp_tw) + sizeof(size_t) + 15) & ~(size_t)15;
	unsigned per = s->cfg.max_time_wait ? s->cfg.max_time_wait : 1;
	o->time_wait_bytes = rec + (s->tw_nbuckets * sizeof(struct tcp_tw *) + per - 1) / per;
}


/* ---- timers: a binary min-heap of TCBs on their earliest deadline ---- */

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

static void conn_reschedule(struct tcp_conn *c)
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
			return; /* cannot happen: heap_reserve() keeps a slot per TCB */
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
	conn_reschedule(c);
}

void tcp_timer_clear(struct tcp_conn *c, enum tcp_timer t)
{
	if (c->timers[t] == TCP_TIME_NEVER)
		return;
	c->timers[t] = TCP_TIME_NEVER;
	conn_reschedule(c);
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
		conn_reschedule(c);
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
			idle_timeout(c, now);
			break;
		case TCP_T_RACK:
			tcp_rack_timeout(c, now);
			break;
		}
	}
}

void tcp_timeout(struct tcp_stack *s, tcp_time_t now)
{
	if (!s)
		return;
	tcp_enter(s);
	tw_expire(s, now);
	/* each firing either re-arms later than now or clears the timer; the
	 * bound keeps a bug from becoming an endless loop */
	unsigned bound = 4u * TCP_T_N * (s->heap_len + 1);
	for (unsigned n = 0; s->heap_len && s->heap[0]->deadline <= now && n < bound; n++)
		fire_timers(s->heap[0], now);
	tcp_leave(s);
}

/* ---- leaving the table ---- */

void tcp_conn_closed(struct tcp_conn *c, int err)
{
	struct tcp_stack *s = c->s;
	if (c->detached)
		return;
	tcp_listener_detach(c);
	if (c->state == TCP_S_LISTEN)
		c->state = TCP_S_CLOSED; /* SYN-RECEIVED => LISTEN already logged */
	tcp_set_state(c, TCP_S_CLOSED);
	for (int i = 0; i < TCP_T_N; i++)
		c->timers[i] = TCP_TIME_NEVER;
	c->detached = 1;
	conn_reschedule(c);
	/* out of the hash */
	if (s->last_hit == c)
		s->last_hit = NULL;
	struct tcp_conn **pp = &s->table[bucket(s, &c->remote, c->lport, c->rport)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	/* out of the list of live TCBs */
	if (c->prev)
		c->prev->next = c->next;
	else
		s->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	s->nconns--;
	if (!c->closed_reported) {
		c->close_err = err;
		c->closed_reported = 1;
		if (c->owned && !c->released)
			tcp_conn_event(c, TCP_EVB_CLOSED);
	}
	dead_push(c);
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
	tcp_rack_init(&c->rack);
	c->rack_on = s->cfg.loss_detection == TCP_LOSS_RACK;
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
		s->chack_left = limit ? half + (unsigned)(rng_next(s) % limit) : 0;
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

/* ---- listeners ---- */

int tcp_prefix_bits_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

int tcp_listener_set_allow(struct tcp_listener *l, const struct tcp_prefix *allow, unsigned n,
			   int reset)
{
	if (!l || n > TCP_LISTEN_ALLOW_MAX || (n && !allow))
		return TCP_EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!(allow[i].family == 0 && allow[i].len == 0) &&
		    !(allow[i].family == 4 && allow[i].len <= 32) &&
		    !(allow[i].family == 6 && allow[i].len <= 128))
			return TCP_EINVAL;
	struct tcp_prefix *copy = NULL;
	if (n) {
		copy = malloc(n * sizeof *copy);
		if (!copy)
			return TCP_ENOMEM;
		memcpy(copy, allow, n * sizeof *copy);
	}
	free(l->allow);
	l->allow = copy;
	l->nallow = n;
	l->allow_reset = reset != 0;
	return 0;
}

int tcp_prefix_match(const struct tcp_prefix *p, uint8_t family, const uint8_t *addr)
{
	return p->family == 0 || (p->family == family && tcp_prefix_bits_eq(p->addr, addr, p->len));
}

int tcp_listener_allows(const struct tcp_listener *l, const struct tcp_endpoint *peer)
{
	if (!l->nallow)
		return 1;
	for (unsigned i = 0; i < l->nallow; i++)
		if (tcp_prefix_match(&l->allow[i], peer->family, peer->addr))
			return 1;
	return 0;
}

int tcp_listen(struct tcp_stack *s, uint16_t port, unsigned backlog, void *user,
	       struct tcp_listener **out)
{
	if (!s || !out || port == 0)
		return TCP_EINVAL;
	*out = NULL;
	if (tcp_listener_find(s, port))
		return TCP_EADDRINUSE;
	struct tcp_listener *l = calloc(1, sizeof *l);
	if (!l)
		return TCP_ENOMEM;
	l->s = s;
	l->port = port;
	l->backlog = backlog ? backlog : 1;
	l->user = user;
	l->next = s->listeners;
	s->listeners = l;
	tcp_log(s, TCP_LOG_DEBUG, "port %u: CLOSED => LISTEN", (unsigned)port);
	*out = l;
	return 0;
}

void tcp_unlisten(struct tcp_listener *l, tcp_time_t now)
{
	if (!l)
		return;
	struct tcp_stack *s = l->s;
	tcp_enter(s);
	/* connections not yet accepted are reset */
	for (unsigned guard = 0; l->embryo_head && guard < (1u << 25); guard++) {
		struct tcp_conn *c = l->embryo_head;
		tcp_send_ctl(c, TCP_RST | TCP_ACK, c->snd_nxt, now);
		tcp_conn_closed(c, TCP_EABORTED);
	}
	struct tcp_listener **pp = &s->listeners;
	for (; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	tcp_log(s, TCP_LOG_DEBUG, "port %u: LISTEN => CLOSED", (unsigned)l->port);
	free(l->allow);
	free(l);
	tcp_leave(s);
}

/* ---- OPEN (RFC 9293 3.10.1) ---- */

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
static int tw_reusable(const struct tcp_tw *tw, struct tcp_conn *c, tcp_time_t now)
{
	if (tw->ts_ok && c->s->cfg.timestamps) {
		c->ts_offset = tw->ts_offset;
		return !tw->ts_sent || seq_gt(tcp_ts_now(c, now), tw->ts_last);
	}
	return seq_gt(c->iss, tw->snd_nxt);
}

static int port_in_use(struct tcp_stack *s, const struct tcp_endpoint *r, uint16_t lport,
		       uint16_t rport)
{
	return tcp_listener_find(s, lport) != NULL || tcp_conn_lookup(s, r, lport, rport) != NULL;
}

static int valid_endpoint(const struct tcp_endpoint *r)
{
	return r && (r->family == 4 || r->family == 6) && r->udp_port != 0;
}

static void apply_opts(struct tcp_conn *c, const struct tcp_conn_opts *o)
{
	if (!o)
		return;
	if (o->nodelay >= 0)
		c->nodelay = o->nodelay ? 1 : 0;
	if (o->keepalive >= 0)
		c->keepalive = o->keepalive ? 1 : 0;
	if (o->cc == TCP_CC_CUBIC || o->cc == TCP_CC_NEWRENO)
		c->cc_algo = o->cc;
	c->user_timeout = o->timeout;
}

int tcp_connect(struct tcp_stack *s, const struct tcp_endpoint *remote, uint16_t rport,
		uint16_t lport, const struct tcp_conn_opts *opts, void *user,
		tcp_time_t now, struct tcp_conn **out)
{
	if (!s || !out || !valid_endpoint(remote) || rport == 0)
		return TCP_EINVAL;
	if (opts && opts->cc != -1 && opts->cc != TCP_CC_CUBIC && opts->cc != TCP_CC_NEWRENO)
		return TCP_EINVAL;
	*out = NULL;
	struct tcp_tw *tw = NULL;  /* a TIME-WAIT of the 4-tuple to reuse */
	int fail = TCP_EEXIST;
	if (lport) {
		if (tcp_conn_lookup(s, remote, lport, rport))
			return TCP_EEXIST;
		tw = tw_lookup(s, remote, lport, rport);
	} else {
		/* RFC 6335 6: dynamic ports 49152-65535; random start from the
		 * injected seed, then the next free one - or, when every port
		 * to this peer is taken, one whose 4-tuple is in TIME-WAIT */
		const unsigned lo = 49152, n = 65536 - 49152;
		unsigned start = (unsigned)(rng_next(s) % n), i;
		uint16_t tw_port = 0;
		for (i = 0; i < n; i++) {
			uint16_t p = (uint16_t)(lo + (start + i) % n);
			if (port_in_use(s, remote, p, rport))
				continue;
			if (s->ntw && tw_lookup(s, remote, p, rport)) {
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
			tw = tw_lookup(s, remote, lport, rport);
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
		if (!tw_reusable(tw, c, now)) {
			tcp_conn_closed(c, 0); /* not owned yet: no event */
			tcp_leave(s);
			return fail;
		}
		s->st.TimeWaitReused++;
		tcp_log(s, TCP_LOG_DEBUG, "conn %llu: reuses the 4-tuple of TIME-WAIT conn %llu",
			(unsigned long long)c->id, (unsigned long long)tw->id);
		tw_free(s, tw);
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
static void rcv_space_adjust(struct tcp_conn *c, tcp_time_t now)
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
		rcv_space_adjust(c, now);
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
			conn_free(c);
			return;
		}
		dead_push(c);
		return;
	}
	/* still live: the engine finishes the close on its own */
	tcp_enter(s);
	c->no_read = 1;
	if (c->state == TCP_S_TIME_WAIT)
		tw_todo_push(c); /* a compact record from tcp_leave on */
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
	if (opts->cc != -1 && opts->cc != TCP_CC_CUBIC && opts->cc != TCP_CC_NEWRENO)
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

/* ---- STATUS (RFC 9293 3.10.6) ---- */

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
	o->cc_name = c->cc.ops ? c->cc.ops->name : (c->cc_algo == TCP_CC_NEWRENO ? "newreno" : "cubic");
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

enum tcp_state tcp_conn_state(const struct tcp_conn *c)
{
	return c ? c->state : TCP_S_CLOSED;
}

uint64_t tcp_conn_id(const struct tcp_conn *c)
{
	return c ? c->id : 0;
}

uint64_t tcp_reserve_id(struct tcp_stack *s)
{
	return s->next_id++;
}

void tcp_foreach(struct tcp_stack *s, int (*fn)(void *arg, struct tcp_conn *c), void *arg)
{
	if (!s || !fn)
		return;
	struct tcp_conn *c = s->all, *n;
	for (; c; c = n) {
		n = c->next;
		if (fn(arg, c))
			break;
	}
}

struct tcp_conn *tcp_find_by_id(struct tcp_stack *s, uint64_t id)
{
	if (!s)
		return NULL;
	for (struct tcp_conn *c = s->all; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

void tcp_get_stats(const struct tcp_stack *s, struct tcp_stats *out)
{
	if (s && out)
		*out = s->st;
}

/* ---- input ---- */

int tcp_input(struct tcp_stack *s, const struct tcp_endpoint *from,
	      const uint8_t *buf, size_t len, tcp_time_t now)
{
	if (!s || !from || !buf)
		return TCP_EINVAL;
	struct tcp_seg seg;
	s->st.InSegs++;
	if (!valid_endpoint(from)) {
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

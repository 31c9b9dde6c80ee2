/*
 * peer.h - scripted peers for the engine's unit tests (smoltcp style).
 *
 * A `host` is one tcp_stack with a virtual clock: every segment it emits is
 * captured (parsed) in a queue, every event is recorded.  A test injects
 * hand-built segments with host_send() and checks what came out with
 * EXPECT_SEG(); or it links two hosts and moves segments between them with
 * host_deliver().
 */
#ifndef TOU_TEST_PEER_H
#define TOU_TEST_PEER_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"
#include "tcp_seg.h"
#include "tt.h"

#define PEER_QMAX 256

struct peer_pkt {
	struct tcp_endpoint to;
	uint8_t buf[2048];
	size_t len;
};

struct peer_ev {
	struct tcp_conn *c;
	void *user;
	enum tcp_event ev;
	int err;
};

struct host {
	struct tcp_stack *s;
	struct tcp_config cfg;
	struct tcp_endpoint ep;       /* this host's address */
	struct peer_pkt q[PEER_QMAX]; /* emitted, not yet popped */
	unsigned qhead, qlen;
	unsigned emitted;
	struct peer_ev ev[PEER_QMAX];
	unsigned nev;
	struct tcp_conn *accepted;    /* last TCP_EV_ACCEPTED */
	uint32_t isn;                 /* forced ISN for the next open */
	int release_on_close;
	char lastlog[256];
	unsigned nlog;
	/* tcp.h emit_buf: off unless a test sets emit_buf_on; then segments
	 * are built in ebuf and peer_emit counts those that arrive from it */
	int emit_buf_on;
	unsigned emit_buf_calls, emit_buf_used;
	uint8_t ebuf[2048];
	/* the last popped segment, with a private copy of its bytes */
	struct tcp_seg seg;
	uint8_t segbuf[2048];
	size_t seglen;
};

static inline void peer_emit(void *ctx, const struct tcp_endpoint *to, const uint8_t *seg, size_t len)
{
	struct host *h = ctx;
	h->emitted++;
	if (seg == h->ebuf)
		h->emit_buf_used++;
	if (h->qlen >= PEER_QMAX || len > sizeof h->q[0].buf)
		return;
	struct peer_pkt *p = &h->q[(h->qhead + h->qlen) % PEER_QMAX];
	p->to = *to;
	memcpy(p->buf, seg, len);
	p->len = len;
	h->qlen++;
}

static inline uint8_t *peer_emit_buf(void *ctx, const struct tcp_endpoint *to, size_t len)
{
	struct host *h = ctx;
	(void)to;
	if (!h->emit_buf_on || len > sizeof h->ebuf)
		return NULL;
	h->emit_buf_calls++;
	return h->ebuf;
}

static inline void peer_event(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err)
{
	struct host *h = ctx;
	if (h->nev < PEER_QMAX)
		h->ev[h->nev++] = (struct peer_ev){ c, user, ev, err };
	if (ev == TCP_EV_ACCEPTED)
		h->accepted = c;
	if (ev == TCP_EV_CLOSED && h->release_on_close)
		tcp_release(c);
}

static inline void peer_log(void *ctx, int level, const char *fmt, ...)
{
	struct host *h = ctx;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->lastlog, sizeof h->lastlog, fmt, ap);
	va_end(ap);
	h->nlog++;
	(void)level;
	if (getenv("PEER_LOG"))
		fprintf(stderr, "    log: %s\n", h->lastlog);
}

static inline uint32_t peer_isn(void *arg, const struct tcp_conn *c)
{
	(void)c;
	return ((struct host *)arg)->isn;
}

/* A plain configuration: no options, 1 s minimum RTO, immediate ACKs, an
 * 8 KiB receive window, no per-connection limit on ACKs answering
 * unacceptable segments, so figures show simple numbers. */
static inline void peer_plain_config(struct tcp_config *cfg)
{
	tcp_config_default(cfg);
	cfg->mss = 1000;
	cfg->send_buffer = 16384;
	cfg->recv_buffer = 8192;
	cfg->rto_min = TCP_SEC(1);
	cfg->rto_initial = TCP_SEC(1);
	cfg->rto_max = TCP_SEC(60);
	cfg->delayed_ack = 0;
	cfg->timestamps = 0;
	cfg->sack = 0;
	cfg->window_scaling = 0;
	cfg->nodelay = 1;
	cfg->cc = TCP_CC_NEWRENO;
	cfg->max_connections = 64;
	cfg->challenge_ack_limit = 10;
	/* every unacceptable segment answered: tests of the per-connection
	 * ACK rate limit set it (test_hardening.c) */
	cfg->invalid_ratelimit = 0;
	cfg->msl = TCP_SEC(30);
}

/* host_init(h, last_octet, cfg or NULL for peer_plain_config) */
static inline int host_init(struct host *h, uint8_t octet, const struct tcp_config *cfg)
{
	memset(h, 0, sizeof *h);
	if (cfg)
		h->cfg = *cfg;
	else
		peer_plain_config(&h->cfg);
	h->ep.family = 4;
	h->ep.addr[0] = 10;
	h->ep.addr[3] = octet;
	h->ep.udp_port = 9811;
	struct tcp_callbacks cb = { h, peer_emit, peer_event, peer_log, peer_emit_buf };
	uint8_t secret[16];
	for (int i = 0; i < 16; i++)
		secret[i] = (uint8_t)(i * 7 + octet);
	int r = tcp_stack_new(&h->s, &h->cfg, &cb, secret, 42 + octet);
	if (r == 0)
		tcp_stack_set_isn_hook(h->s, peer_isn, h);
	return r;
}

static inline void host_free(struct host *h)
{
	tcp_stack_free(h->s);
	h->s = NULL;
}

/* Pop the oldest emitted segment into h->seg (parsed).  0 if none. */
static inline int host_pop(struct host *h)
{
	if (!h->qlen)
		return 0;
	struct peer_pkt *p = &h->q[h->qhead];
	h->qhead = (h->qhead + 1) % PEER_QMAX;
	h->qlen--;
	memcpy(h->segbuf, p->buf, p->len);
	h->seglen = p->len;
	if (tcp_seg_parse(&h->seg, h->segbuf, p->len) != 0)
		memset(&h->seg, 0, sizeof h->seg);
	return 1;
}

/* Hand the segment last popped from `from` (after EXPECT_SEG) to `to`. */
static inline int host_forward_last(struct host *from, struct host *to, tcp_time_t now)
{
	uint8_t copy[2048];
	memcpy(copy, from->segbuf, from->seglen);
	return tcp_input(to->s, &from->ep, copy, from->seglen, now);
}

static inline void host_drop_all(struct host *h)
{
	h->qhead = h->qlen = 0;
}

/* Build a segment (no options unless o is given) into buf. */
static inline size_t peer_build(uint8_t *buf, size_t cap, uint16_t sport, uint16_t dport,
				uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
				const void *data, size_t len, const struct tcp_seg *o)
{
	struct tcp_seg s;
	if (o)
		s = *o;
	else
		memset(&s, 0, sizeof s);
	s.sport = sport;
	s.dport = dport;
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.wnd = wnd;
	s.data = data;
	s.len = len;
	return tcp_seg_build(buf, cap, &s);
}

/* The scripted peer sends a segment from `from` to host h. */
static inline int host_recv_from(struct host *h, const struct tcp_endpoint *from, uint16_t sport,
				 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
				 uint16_t wnd, const char *data, tcp_time_t now)
{
	uint8_t buf[2048];
	size_t len = peer_build(buf, sizeof buf, sport, dport, seq, ack, flags, wnd, data,
				data ? strlen(data) : 0, NULL);
	return tcp_input(h->s, from, buf, len, now);
}

/* Move every queued segment of `from` into `to` (with from's address). */
static inline unsigned host_deliver(struct host *from, struct host *to, tcp_time_t now)
{
	unsigned n = 0;
	while (from->qlen) {
		struct peer_pkt *p = &from->q[from->qhead];
		from->qhead = (from->qhead + 1) % PEER_QMAX;
		from->qlen--;
		tcp_input(to->s, &from->ep, p->buf, p->len, now);
		n++;
	}
	return n;
}

/* Deliver only the oldest queued segment of `from` to `to`; 0 if none. */
static inline int host_deliver_one(struct host *from, struct host *to, tcp_time_t now)
{
	if (!from->qlen)
		return 0;
	struct peer_pkt *p = &from->q[from->qhead];
	from->qhead = (from->qhead + 1) % PEER_QMAX;
	from->qlen--;
	tcp_input(to->s, &from->ep, p->buf, p->len, now);
	return 1;
}

static inline int host_count_ev(const struct host *h, enum tcp_event ev)
{
	int n = 0;
	for (unsigned i = 0; i < h->nev; i++)
		n += h->ev[i].ev == ev;
	return n;
}

/* err of the last TCP_EV_CLOSED, or 1 if none */
static inline int host_closed_err(const struct host *h)
{
	for (unsigned i = h->nev; i-- > 0;)
		if (h->ev[i].ev == TCP_EV_CLOSED)
			return h->ev[i].err;
	return 1;
}

static inline struct tcp_stats host_stats(const struct host *h)
{
	struct tcp_stats st;
	tcp_get_stats(h->s, &st);
	return st;
}

/* Run the host's timers up to `until`, stepping from deadline to
 * deadline; returns the time of the last firing (or `now`). */
static inline tcp_time_t host_run_timers(struct host *h, tcp_time_t until)
{
	tcp_time_t t = 0;
	for (int i = 0; i < 10000; i++) {
		tcp_time_t d = tcp_next_deadline(h->s);
		if (d == TCP_TIME_NEVER || d > until)
			break;
		tcp_timeout(h->s, d);
		t = d;
	}
	return t;
}

/* Expect the next emitted segment of h: flags, seq, ack (ack compared only
 * when the ACK flag is expected; otherwise it must be 0). */
#define EXPECT_SEG(h, fl, sq, ak)                                              \
	do {                                                                   \
		if (!host_pop(h)) {                                            \
			TT_FAIL_("no segment emitted (expected flags 0x%x)", (unsigned)(fl)); \
			return;                                                \
		}                                                              \
		TT_EQ((h)->seg.flags, (fl));                                   \
		TT_EQ((h)->seg.seq, (uint32_t)(sq));                           \
		TT_EQ((h)->seg.ack, (uint32_t)(ak));                           \
	} while (0)

/* ... and the window and payload length */
#define EXPECT_SEG_WL(h, fl, sq, ak, wn, ln)                                   \
	do {                                                                   \
		EXPECT_SEG(h, fl, sq, ak);                                     \
		TT_EQ((h)->seg.wnd, (wn));                                     \
		TT_EQ((h)->seg.len, (ln));                                     \
	} while (0)

#define EXPECT_NONE(h)                                                         \
	do {                                                                   \
		if ((h)->qlen) {                                               \
			host_pop(h);                                           \
			TT_FAIL_("unexpected segment flags 0x%x seq %u ack %u len %zu", \
				 (unsigned)(h)->seg.flags, (h)->seg.seq, (h)->seg.ack, (h)->seg.len); \
			return;                                                \
		}                                                              \
	} while (0)

#define EXPECT_STATE(c, st) TT_STREQ(tcp_state_name(tcp_conn_state(c)), tcp_state_name(st))

static inline int peer_first_conn_cb(void *arg, struct tcp_conn *c)
{
	*(struct tcp_conn **)arg = c;
	return 1;
}

/* Any (the most recent) TCB of the stack, or NULL. */
static inline struct tcp_conn *host_any_conn(struct host *h)
{
	struct tcp_conn *c = NULL;
	tcp_foreach(h->s, peer_first_conn_cb, &c);
	return c;
}

static inline int peer_count_cb(void *arg, struct tcp_conn *c)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

static inline int host_nconns(struct host *h)
{
	int n = 0;
	tcp_foreach(h->s, peer_count_cb, &n);
	return n;
}

/* Establish a connection from a (ISN isn_a, local port pa) to b's
 * listener on port pb (ISN isn_b) through the real handshake; *ca / *cb
 * get the TCBs.  Returns 0 or a negative step number. */
static inline int pair_establish(struct host *a, struct host *b, uint32_t isn_a, uint32_t isn_b,
				 uint16_t pa, uint16_t pb, tcp_time_t now,
				 struct tcp_conn **ca, struct tcp_conn **cb)
{
	struct tcp_listener *l;
	if (tcp_listen(b->s, pb, 8, NULL, &l) != 0)
		return -1;
	a->isn = isn_a;
	b->isn = isn_b;
	b->accepted = NULL;
	if (tcp_connect(a->s, &b->ep, pb, pa, NULL, NULL, now, ca) != 0)
		return -2;
	host_deliver(a, b, now);  /* SYN */
	host_deliver(b, a, now);  /* SYN,ACK */
	host_deliver(a, b, now);  /* ACK */
	if (!b->accepted || tcp_conn_state(*ca) != TCP_S_ESTABLISHED ||
	    tcp_conn_state(b->accepted) != TCP_S_ESTABLISHED)
		return -3;
	*cb = b->accepted;
	a->nev = b->nev = 0;
	host_drop_all(a);
	host_drop_all(b);
	return 0;
}

/* Drop filter for pair_run: return 1 to drop the datagram. */
typedef int (*peer_filter)(void *arg, const struct host *from, const uint8_t *buf, size_t len);

static inline unsigned pair_move(struct host *from, struct host *to, tcp_time_t now,
				 peer_filter f, void *farg)
{
	unsigned n = 0;
	/* only what is queued now: replies go in the next round */
	unsigned cnt = from->qlen;
	for (unsigned i = 0; i < cnt && from->qlen; i++) {
		struct peer_pkt p = from->q[from->qhead];
		from->qhead = (from->qhead + 1) % PEER_QMAX;
		from->qlen--;
		if (f && f(farg, from, p.buf, p.len))
			continue;
		tcp_input(to->s, &from->ep, p.buf, p.len, now);
		n++;
	}
	return n;
}

/* Exchange segments between a and b with a one-way delay of `delay`,
 * running both stacks' timers, until nothing moves and no timer is due
 * before `until` (or `done` returns non-zero).  `step` runs after every
 * round (e.g. the application reading).  Returns the final time. */
static inline tcp_time_t pair_run(struct host *a, struct host *b, tcp_time_t now, tcp_time_t until,
				  tcp_time_t delay, peer_filter f, void *farg,
				  int (*step)(void *arg, tcp_time_t now), void *sarg)
{
	for (unsigned round = 0; round < 2000000; round++) {
		if (step && step(sarg, now))
			break;
		if (a->qlen || b->qlen) {
			now += delay;
			tcp_timeout(a->s, now);
			tcp_timeout(b->s, now);
			pair_move(a, b, now, f, farg);
			pair_move(b, a, now, f, farg);
			continue;
		}
		tcp_time_t da = tcp_next_deadline(a->s), db = tcp_next_deadline(b->s);
		tcp_time_t d = da < db ? da : db;
		if (d == TCP_TIME_NEVER || d > until)
			break;
		if (d > now)
			now = d;
		tcp_timeout(a->s, now);
		tcp_timeout(b->s, now);
	}
	return now;
}

#define F_SYN TCP_SYN
#define F_ACK TCP_ACK
#define F_RST TCP_RST
#define F_FIN TCP_FIN
#define F_PSH TCP_PSH

#endif

/*
 * peer.h - scripted peers for the engine's unit tests (smoltcp style).
 *
 * A `host` is one tcp_stack with a virtual clock (h->now, starting at T0):
 * every segment it emits is captured (parsed) in a queue, every event is
 * recorded.  A test either talks to it through a scripted `peer`, whose
 * segments are built by named fields over the peer's template
 *
 *     struct peer p = PEER(&b, .seq = 100, .ack = 300);
 *     peer_send(&p, .data = "hello");                 (ACK, SEQ 100, ACK 300)
 *     peer_send(&p, .flags = F_RST, .seq = 105, .wnd = 0, .now = T0 + 5);
 *
 * and checks what came out with EXPECT_SEG(); or it links two hosts and
 * moves segments between them with host_deliver() / pair_run().
 *
 * The fixtures every test file shares are here too: fx_passive() and
 * fx_active() (an ESTABLISHED connection with a scripted peer, with or
 * without timestamps, SACK, window scaling), fx_listen() (a listener),
 * fx_pair() (two hosts through the real handshake; pair_establish() and
 * pair_connect() for other ports), host_init_ev() (a host whose events go
 * elsewhere, e.g. to a daemon's owners).  Fixtures take named fields too:
 * fx_passive(&b, &p, &c, .ts = 1, .tsval = 500).
 */
#ifndef TOU_TEST_PEER_H
#define TOU_TEST_PEER_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"
#include "tcp_seg.h"
#include "tcp_testing.h"
#include "tt.h"

/* peer_send(p, .field = ...) lists the template's fields first and the
 * caller's after them: C11 6.7.9p19 says the last initializer of a member
 * wins, which is the point, so the warning about it is off in the tests. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define PEER_QMAX 256

/* The virtual clock every test starts from (any value far from 0 will do:
 * tcp_time_t 0 is a legal time, 100 s makes "before" representable). */
#define T0 TCP_SEC(100)

#define F_SYN TCP_SYN
#define F_ACK TCP_ACK
#define F_RST TCP_RST
#define F_FIN TCP_FIN
#define F_PSH TCP_PSH
#define F_URG TCP_URG

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
	tcp_time_t now;               /* the virtual clock: peer_send's default */
	int release_on_close;
	char lastlog[256];
	unsigned nlog;
	/* tcp.h emit_buf: off unless a test sets emit_buf_on; then segments
	 * are built in ebuf and peer_emit counts those that arrive from it */
	int emit_buf_on;
	unsigned emit_buf_calls, emit_buf_used;
	uint8_t ebuf[2048];
	/* tcp.h callbacks.peer: calls by proof, the last one's sender and
	 * h->emitted at that call (said before the answer is emitted) */
	unsigned proofs[3];
	struct tcp_endpoint proof_from;
	unsigned proof_emitted;
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

/* tcp.h callbacks.peer: counted by kind (proofs[TCP_PEER_ACCEPTED] ...),
 * with the last sender and the emitted count when it came */
static inline void peer_proof(void *ctx, const struct tcp_endpoint *from, int proof)
{
	struct host *h = ctx;
	if (proof > 0 && proof < 3)
		h->proofs[proof]++;
	h->proof_from = *from;
	h->proof_emitted = h->emitted;
}

static inline void peer_event(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err)
{
	struct host *h = ctx;
	if (h->nev < PEER_QMAX)
		h->ev[h->nev++] = (struct peer_ev){ c, user, ev, err };
	if (ev == TCP_EV_ACCEPTED)
		h->accepted = c;
	if (ev == TCP_EV_CLOSED && h->release_on_close)
		tcp_release(c, h->now);
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

/* host_init_ev(h, last_octet, cfg or NULL for peer_plain_config, event):
 * a host whose stack reports its events to `event` (ctx h): peer_event
 * records them; a daemon test hands them to their owners instead.  ISNs
 * are the engine's own (RFC 9293 3.4.1). */
static inline int host_init_ev(struct host *h, uint8_t octet, const struct tcp_config *cfg,
			       void (*event)(void *ctx, struct tcp_conn *c, void *user,
					     enum tcp_event ev, int err))
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
	h->now = T0;
	struct tcp_callbacks cb = { h, peer_emit, event, peer_log, peer_emit_buf, peer_proof };
	uint8_t secret[16];
	for (int i = 0; i < 16; i++)
		secret[i] = (uint8_t)(i * 7 + octet);
	return tcp_stack_new(&h->s, &h->cfg, &cb, secret, 42 + octet);
}

/* host_init(h, last_octet, cfg or NULL for peer_plain_config): events
 * recorded in h->ev, ISNs forced from h->isn. */
static inline int host_init(struct host *h, uint8_t octet, const struct tcp_config *cfg)
{
	int r = host_init_ev(h, octet, cfg, peer_event);
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
	/* TIME-WAIT connections nobody holds are compact records */
	struct tcp_mem_info mi;
	tcp_get_mem_info(h->s, &mi);
	return n + (int)mi.time_wait;
}

/* a (ISN isn_a, local port pa) connects to b's port pb, which listens
 * already (ISN isn_b), through the real handshake; *ca / *cb get the
 * ESTABLISHED TCBs and both queues are emptied (events are kept).
 * Returns 0 or a negative step number. */
static inline int pair_connect(struct host *a, struct host *b, uint32_t isn_a, uint32_t isn_b,
			       uint16_t pa, uint16_t pb, tcp_time_t now,
			       struct tcp_conn **ca, struct tcp_conn **cb)
{
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
	host_drop_all(a);
	host_drop_all(b);
	return 0;
}

/* b listens on port pb, then pair_connect(); the events so far are
 * forgotten. */
static inline int pair_establish(struct host *a, struct host *b, uint32_t isn_a, uint32_t isn_b,
				 uint16_t pa, uint16_t pb, tcp_time_t now,
				 struct tcp_conn **ca, struct tcp_conn **cb)
{
	struct tcp_listener *l;
	if (tcp_listen(b->s, pb, 8, NULL, &l) != 0)
		return -1;
	int err = pair_connect(a, b, isn_a, isn_b, pa, pb, now, ca, cb);
	if (err)
		return err;
	a->nev = b->nev = 0;
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

/* ---- the scripted peer: segments by named fields over a template ---- */

/* The addresses host_init() gives octets 1 and 2. */
static const struct tcp_endpoint PA __attribute__((unused)) = { 4, { 10, 0, 0, 1 }, 9811 };
static const struct tcp_endpoint PB __attribute__((unused)) = { 4, { 10, 0, 0, 2 }, 9811 };

/* One segment as the scripted peer sends it.  Field names are those of
 * struct tcp_seg (tcp_seg.h) plus where it comes from and when. */
struct seg_spec {
	const struct tcp_endpoint *from; /* source address (the peer's) */
	uint16_t sport, dport;
	uint32_t seq, ack;    /* ack is sent as 0 when F_ACK is not in flags */
	uint8_t flags;
	uint16_t wnd, urp;
	uint8_t has_mss, has_ws, sack_perm, has_ts;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	struct tcp_sack_block sack[TCP_SEG_MAX_SACK];
	const void *data;     /* payload: len octets, or strlen(data) if len is 0 */
	size_t len;
	tcp_time_t now;       /* when it arrives */
};

/* A scripted remote end talking to host h: its address and ports and the
 * template every peer_send() starts from.  Tests move the template along
 * (p.seq += 5) or override a field per segment. */
struct peer {
	struct host *h;          /* the stack under test it sends to */
	struct tcp_endpoint ep;  /* its address */
	uint16_t port, hport;    /* its port, the host's port */
	uint8_t flags;           /* F_ACK unless a test says otherwise */
	uint32_t seq, ack;
	uint16_t wnd;
	uint8_t ts;              /* TSopt (tsval, tsecr) on every segment */
	uint32_t tsval, tsecr;
	struct tcp_seg hsyn;     /* fixtures: the host's SYN or SYN,ACK (options) */
};

/* PEER(&b, .seq = 100, .ack = 300): 10.0.0.1:1000 talking to port 80 of b,
 * ACK segments with an 8192-octet window unless told otherwise. */
#define PEER(host, ...)                                                        \
	((struct peer){ .h = (host), .ep = PA, .port = 1000, .hport = 80,     \
			.flags = F_ACK, .wnd = 8192, __VA_ARGS__ })

/* The template as a seg_spec, the caller's fields last (they win). */
#define PEER_SPEC(p, ...)                                                      \
	((struct seg_spec){ .from = &(p)->ep, .sport = (p)->port,             \
			    .dport = (p)->hport, .seq = (p)->seq,              \
			    .ack = (p)->ack, .flags = (p)->flags,              \
			    .wnd = (p)->wnd, .has_ts = (p)->ts,                \
			    .tsval = (p)->tsval, .tsecr = (p)->tsecr,          \
			    .now = (p)->h->now, __VA_ARGS__ })

static inline size_t peer_spec_build(const struct seg_spec *sp, uint8_t *buf, size_t cap)
{
	struct tcp_seg s;
	memset(&s, 0, sizeof s);
	s.sport = sp->sport;
	s.dport = sp->dport;
	s.seq = sp->seq;
	s.ack = (sp->flags & F_ACK) ? sp->ack : 0;
	s.flags = sp->flags;
	s.wnd = sp->wnd;
	s.urp = sp->urp;
	s.has_mss = sp->has_mss;
	s.mss = sp->mss;
	s.has_ws = sp->has_ws;
	s.ws = sp->ws;
	s.sack_perm = sp->sack_perm;
	s.has_ts = sp->has_ts;
	s.tsval = sp->tsval;
	s.tsecr = sp->tsecr;
	s.nsack = sp->nsack;
	memcpy(s.sack, sp->sack, sizeof s.sack);
	s.data = sp->data;
	s.len = sp->len ? sp->len : sp->data ? strlen(sp->data) : 0;
	return tcp_seg_build(buf, cap, &s);
}

static inline int peer_spec_send(struct host *h, const struct seg_spec *sp)
{
	uint8_t buf[65536 + 60];
	size_t n = peer_spec_build(sp, buf, sizeof buf);
	if (!n) {
		TT_FAIL_("peer_send: segment does not fit");
		return TCP_EINVAL;
	}
	return tcp_input(h->s, sp->from, buf, n, sp->now);
}

/* peer_send(&p, .field = value, ...): the peer's template with these
 * fields changed, into the host; returns what tcp_input() returns. */
#define peer_send(p, ...) peer_spec_send((p)->h, &PEER_SPEC(p, __VA_ARGS__))
/* peer_make(&p, buf, cap, .field = ...): the same segment's bytes in buf
 * (for tests that damage them); returns the length, 0 if cap is short. */
#define peer_make(p, buf, cap, ...) peer_spec_build(&PEER_SPEC(p, __VA_ARGS__), (buf), (cap))

/* The peer acknowledges `ack` at `now` with n SACK blocks (RFC 2018),
 * blk[2i]..blk[2i+1]. */
static inline int peer_send_sack(struct peer *p, uint32_t ack, const uint32_t *blk, unsigned n,
				 tcp_time_t now)
{
	struct seg_spec sp = PEER_SPEC(p, .ack = ack, .nsack = (uint8_t)n, .now = now);
	for (unsigned i = 0; i < n && i < TCP_SEG_MAX_SACK; i++) {
		sp.sack[i].start = blk[2 * i];
		sp.sack[i].end = blk[2 * i + 1];
	}
	return peer_spec_send(p->h, &sp);
}

/* ---- fixtures ---- */

/* What fx_passive() / fx_active() set up, by named fields. */
struct fx_spec {
	const struct tcp_config *cfg; /* the host's; NULL: peer_plain_config */
	uint32_t isn, peer_isn;       /* the host's and the peer's ISN */
	uint16_t wnd;                 /* the peer's SEG.WND */
	uint16_t mss;                 /* the peer's MSS option, 0: none */
	uint8_t ts;                   /* timestamps both ways; the peer's */
	uint32_t tsval;               /*   first TSval */
	uint8_t sack;                 /* SACK-permitted both ways */
	uint8_t ws;                   /* window scaling both ways, the */
	uint8_t wscale;               /*   peer's shift */
	uint8_t syn_received;         /* fx_passive: stop in SYN-RECEIVED */
};

static inline int fx_host(struct host *h, uint8_t octet, const struct fx_spec *f)
{
	struct tcp_config cfg;
	if (f->cfg)
		cfg = *f->cfg;
	else
		peer_plain_config(&cfg);
	if (f->ts)
		cfg.timestamps = 1;
	if (f->sack)
		cfg.sack = 1;
	if (f->ws)
		cfg.window_scaling = 1;
	return host_init(h, octet, &cfg);
}

/* The options of the peer's SYN or SYN,ACK. */
#define FX_SYN_OPTS(f)                                                         \
	.has_mss = (f)->mss != 0, .mss = (f)->mss, .has_ts = (f)->ts,          \
	.tsval = (f)->tsval, .tsecr = 0, .sack_perm = (f)->sack,               \
	.has_ws = (f)->ws, .ws = (f)->wscale

/* Does the host's SYN (or SYN,ACK) offer what f negotiates? */
static inline int fx_syn_ok(const struct tcp_seg *s, const struct fx_spec *f)
{
	return (!f->ts || s->has_ts) && (!f->sack || s->sack_perm) && (!f->ws || s->has_ws);
}

/* fx_listen(&h, &p, .cfg = ...): host h (10.0.0.2) listens on port 80;
 * p is the scripted peer 10.0.0.1:1000 (template SEQ peer_isn + 1, no
 * ACK yet).  Returns 0 or a negative step. */
static inline int fx_listen_(struct host *h, struct peer *p, const struct fx_spec *f)
{
	if (fx_host(h, 2, f) != 0)
		return -1;
	struct tcp_listener *l;
	if (tcp_listen(h->s, 80, 4, NULL, &l) != 0)
		return -2;
	h->isn = f->isn;
	*p = PEER(h, .seq = f->peer_isn + 1);
	return 0;
}
#define fx_listen(h, p, ...)                                                   \
	fx_listen_((h), (p), &(struct fx_spec){ .isn = 299, .peer_isn = 99,    \
						.wnd = 8192, __VA_ARGS__ })

/* fx_passive(&h, &p, &c, .field = ...): fx_listen(), then the peer's SYN
 * (ISN 99, the options f asks for) and the ACK of h's SYN,ACK (which must
 * be <SEQ=299><ACK=100> offering the same options): *c is ESTABLISHED
 * with h's SND.NXT = 300 and RCV.NXT = 100; p's template is <SEQ=100>
 * <ACK=300>, with TSval tsval + 1 and TSecr h's TSval when timestamps are
 * on.  With .syn_received, stops before the ACK (p's template ready for
 * it, *c the SYN-RECEIVED TCB).  The queues and events are emptied.
 * Returns 0 or a negative step. */
static inline int fx_passive_(struct host *h, struct peer *p, struct tcp_conn **c,
			      const struct fx_spec *f)
{
	int err = fx_listen_(h, p, f);
	if (err)
		return err;
	p->wnd = f->wnd;
	peer_send(p, .flags = F_SYN, .seq = f->peer_isn, FX_SYN_OPTS(f));
	if (!host_pop(h) || h->seg.flags != (F_SYN | F_ACK) || h->seg.seq != f->isn ||
	    h->seg.ack != f->peer_isn + 1 || !fx_syn_ok(&h->seg, f) ||
	    (f->ts && h->seg.tsecr != f->tsval))
		return -3;
	p->hsyn = h->seg;
	p->hsyn.data = NULL;
	p->seq = f->peer_isn + 1;
	p->ack = f->isn + 1;
	p->ts = f->ts;
	p->tsval = f->tsval + (f->ts ? 1 : 0);
	p->tsecr = f->ts ? h->seg.tsval : 0;
	if (f->syn_received) {
		*c = host_any_conn(h);
		return *c ? 0 : -4;
	}
	peer_send(p);
	if (!h->accepted || tcp_conn_state(h->accepted) != TCP_S_ESTABLISHED)
		return -5;
	*c = h->accepted;
	host_drop_all(h);
	h->nev = 0;
	return 0;
}
#define fx_passive(h, p, c, ...)                                               \
	fx_passive_((h), (p), (c), &(struct fx_spec){ .isn = 299, .peer_isn = 99, \
						      .wnd = 8192, __VA_ARGS__ })

/* fx_active(&h, &p, &c, .field = ...): host h (10.0.0.1, ISN 100)
 * connects from port 1000 to the scripted peer p (10.0.0.2:80, ISN 300);
 * its SYN (kept in p->hsyn) must offer what f negotiates; p answers
 * <SEQ=300><ACK=101><CTL=SYN,ACK> with f's options and window; h's ACK
 * (left in h->seg) must be <SEQ=101><ACK=301>, echoing p's TSval.  *c is
 * ESTABLISHED; p's template is <SEQ=301><ACK=101> (TSval as sent, TSecr
 * h's).  Returns 0 or a negative step. */
static inline int fx_active_(struct host *h, struct peer *p, struct tcp_conn **c,
			     const struct fx_spec *f)
{
	if (fx_host(h, 1, f) != 0)
		return -1;
	h->isn = f->isn;
	if (tcp_connect(h->s, &PB, 80, 1000, NULL, NULL, h->now, c) != 0)
		return -2;
	if (!host_pop(h) || h->seg.flags != F_SYN || h->seg.seq != f->isn || !fx_syn_ok(&h->seg, f) ||
	    h->seg.tsecr != 0)
		return -3;
	struct tcp_seg syn = h->seg;
	syn.data = NULL;
	*p = PEER(h, .ep = PB, .port = 80, .hport = 1000, .seq = f->peer_isn + 1,
		  .ack = f->isn + 1, .wnd = f->wnd, .ts = f->ts, .tsval = f->tsval,
		  .tsecr = f->ts ? syn.tsval : 0, .hsyn = syn);
	peer_send(p, .flags = F_SYN | F_ACK, .seq = f->peer_isn, FX_SYN_OPTS(f),
		  .tsecr = p->tsecr);
	if (tcp_conn_state(*c) != TCP_S_ESTABLISHED)
		return -4;
	if (!host_pop(h) || h->seg.flags != F_ACK || h->seg.seq != f->isn + 1 ||
	    h->seg.ack != f->peer_isn + 1 || (f->ts && (!h->seg.has_ts || h->seg.tsecr != f->tsval)))
		return -5;
	h->nev = 0;
	return 0;
}
#define fx_active(h, p, c, ...)                                                \
	fx_active_((h), (p), (c), &(struct fx_spec){ .isn = 100, .peer_isn = 300, \
						     .wnd = 8192, __VA_ARGS__ })

/* fx_pair(&a, &b, &ca, &cb, .field = ...): two hosts with the same
 * configuration (.cfg, or peer_plain_config; .ts, .sack, .ws turn those
 * options on): a (10.0.0.1, ISN .peer_isn = 99) connects from port 1000
 * to b (10.0.0.2, listening on port 80, ISN .isn = 299) through the real
 * handshake (pair_establish): *ca and *cb are ESTABLISHED, a's SND.NXT =
 * b's RCV.NXT = 100, b's SND.NXT = a's RCV.NXT = 300.  Returns 0 or a
 * negative step. */
static inline int fx_pair_(struct host *a, struct host *b, struct tcp_conn **ca,
			   struct tcp_conn **cb, const struct fx_spec *f)
{
	if (fx_host(a, 1, f) != 0)
		return -10;
	if (fx_host(b, 2, f) != 0)
		return -11;
	return pair_establish(a, b, f->peer_isn, f->isn, 1000, 80, a->now, ca, cb);
}
#define fx_pair(a, b, ca, cb, ...)                                             \
	fx_pair_((a), (b), (ca), (cb), &(struct fx_spec){ .isn = 299, .peer_isn = 99, \
							  __VA_ARGS__ })

/* Every option on (timestamps, SACK, window scaling), Nagle on. */
static inline void peer_options_config(struct tcp_config *cfg)
{
	peer_plain_config(cfg);
	cfg->timestamps = 1;
	cfg->sack = 1;
	cfg->window_scaling = 1;
	cfg->nodelay = 0;
}

/* A byte pattern with no short period, for byte-exact transfer checks. */
static inline uint8_t peer_pattern(size_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

#endif

/*
 * simlink.h - a deterministic simulated network in virtual time joining two
 * tou engine stacks through the public API of daemon/tcp/tcp.h only.
 *
 *   node 0 (10.0.0.1:9811) --link[0]--> node 1 (10.0.0.2:9811)
 *          <--------------link[1]------
 *
 * Each link has a bottleneck rate with a drop-tail queue, propagation delay,
 * jitter, random loss, Gilbert-Elliott burst loss, reordering, duplication
 * and corruption.  Corruption is modelled as what UDP does with it: the UDP
 * checksum drops the datagram; a configurable fraction of corrupted
 * datagrams is instead delivered MANGLED in ways a parser must reject
 * (truncated header, bad data offset, broken option list) or that stay a
 * valid TCP segment (payload truncated), so the engine's parser is
 * exercised without silently corrupting the stream (the TCP checksum is
 * not verified, docs/DESIGN.md section 3).
 *
 * Every random choice comes from one seeded xoshiro256** generator, so a run
 * is a pure function of (parameters, seed).  Time never comes from a clock:
 * the loop jumps to the earliest of (next datagram arrival, either stack's
 * tcp_next_deadline, next application wake-up).
 *
 * The application on each side ("sim_app") writes a deterministic byte
 * pattern, closes after its last byte (TCP CLOSE = FIN), reads everything
 * the peer sends and checks each byte against the peer's pattern.  Node 0
 * connects, node 1 listens.
 *
 * Header-only (static inline) so the sim tests and the benchmarks can use it.
 */
#ifndef TOU_SIMLINK_H
#define TOU_SIMLINK_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

/* ---------- PRNG: splitmix64 seeding xoshiro256** ---------- */

struct sim_rng {
	uint64_t s[4];
};

static inline uint64_t sim_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = sim_splitmix64(&seed);
}

static inline uint64_t sim_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = sim_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = sim_rotl(s[3], 45);
	return result;
}

/* uniform in [0, 1) */
static inline double sim_rng_unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* uniform in [0, n), n > 0 */
static inline uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
	return n ? sim_rng_next(r) % n : 0;
}

static inline int sim_rng_chance(struct sim_rng *r, double p)
{
	return p > 0 && sim_rng_unit(r) < p;
}

/* ---------- the byte pattern each application sends ---------- */

static inline uint64_t sim_pat_word(uint64_t seed, uint64_t idx)
{
	uint64_t x = seed ^ (idx * 0xD6E8FEB86659FD93ull);
	return sim_splitmix64(&x);
}

static inline uint8_t sim_pat_byte(uint64_t seed, uint64_t off)
{
	return (uint8_t)(sim_pat_word(seed, off >> 3) >> ((off & 7) * 8));
}

static inline void sim_pat_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
	size_t i = 0;
	while (i < len && ((off + i) & 7))
		buf[i] = sim_pat_byte(seed, off + i), i++;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = sim_pat_word(seed, (off + i) >> 3);
		for (int k = 0; k < 8; k++)
			buf[i + k] = (uint8_t)(w >> (8 * k));
	}
	for (; i < len; i++)
		buf[i] = sim_pat_byte(seed, off + i);
}

/* index of the first byte that differs, or -1 */
static inline long sim_pat_check(uint64_t seed, uint64_t off, const uint8_t *buf, size_t len)
{
	uint8_t tmp[4096];
	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof tmp ? len - done : sizeof tmp;
		sim_pat_fill(seed, off + done, tmp, n);
		if (memcmp(tmp, buf + done, n) != 0) {
			for (size_t k = 0; k < n; k++)
				if (tmp[k] != buf[done + k])
					return (long)(done + k);
		}
		done += n;
	}
	return -1;
}

/* ---------- links ---------- */

struct sim_link_params {
	uint64_t rate_bps;        /* bottleneck rate, bits/s (IP+UDP+TCP bytes); 0 = unlimited */
	uint32_t queue_bytes;     /* drop-tail queue in front of the bottleneck; 0 = unlimited */
	tcp_time_t delay;         /* one-way propagation delay, us */
	tcp_time_t jitter;        /* + uniform [0, jitter] us per datagram (reorders, like netem) */
	double loss;              /* random loss probability (in the "good" state) */
	double ge_p_gb;           /* Gilbert-Elliott: P(good -> bad) per datagram; 0 = off */
	double ge_p_bg;           /* P(bad -> good) per datagram */
	double ge_loss_bad;       /* loss probability in the bad state */
	tcp_time_t ge_idle_reset; /* the chain steps per datagram; after this much
	                             idle time the channel is good again (a fade
	                             does not last for minutes because nobody
	                             sent); 0 = 1 s */
	double reorder;           /* probability a datagram is held back ... */
	tcp_time_t reorder_delay; /* ... by an extra uniform [0, reorder_delay] us */
	double dup;               /* probability a datagram is delivered twice */
	double corrupt;           /* probability a datagram is corrupted */
	double corrupt_deliver;   /* fraction of corrupted datagrams delivered mangled
	                             (the rest: dropped by the UDP checksum) */
	tcp_time_t down_from;     /* partition: everything sent in [down_from, down_until) */
	tcp_time_t down_until;    /* (times since the start of the run) is lost; equal = none */
};

struct sim_link_stats {
	uint64_t sent, delivered, bytes_delivered;
	uint64_t lost_random, lost_burst, lost_queue, lost_down, lost_filter;
	uint64_t dups, reordered;
	uint64_t corrupt_dropped, corrupt_delivered;
	uint64_t mangled_rejected;   /* mangled datagrams tcp_input refused */
	uint64_t mangled_accepted;   /* ... accepted (only valid for the payload cut) */
	uint64_t mangled_bad_accept; /* a malformed header accepted: engine bug */
};

struct sim_link {
	struct sim_link_params p;
	struct sim_link_stats st;
	tcp_time_t busy_until;     /* bottleneck serialization */
	int ge_bad;
	tcp_time_t last_sent;      /* previous datagram on this link */
};

/* ---------- applications ---------- */

#define SIM_MAX_CONN 16

struct sim_app {
	struct sim *sim;
	int node;
	unsigned k;                /* connection index */
	uint16_t port;             /* client: its local TCP port (matches the accept) */
	struct tcp_conn *c;
	int established, closed, close_err, close_called, eof, peer_fin;
	int failed;                /* a check failed (message in sim->err) */
	int release_pending;       /* TCP_EV_CLOSED seen: read the rest, then tcp_release */
	int blocked;               /* send buffer was full: wait for TCP_EV_WRITABLE
	                              (as an event-driven application does) */
	uint64_t tx_total, tx_done, tx_seed;
	uint64_t rx_expect, rx_done, rx_seed;
	tcp_time_t t_established, t_eof, t_closed;
	/* slow reader: read at most rx_chunk bytes every rx_interval us (0 = no limit) */
	uint32_t rx_chunk;
	tcp_time_t rx_interval, rx_next;
	uint64_t events[8];
};

/* ---------- packets in flight ---------- */

struct sim_pkt {
	tcp_time_t at;
	uint64_t order;
	int to;                  /* destination node */
	int mangled;             /* 0, or the kind of mangling (SIM_MANGLE_*) */
	uint32_t len;
	uint8_t data[];
};

enum { SIM_MANGLE_NONE = 0, SIM_MANGLE_SHORT, SIM_MANGLE_DOFF_BIG, SIM_MANGLE_DOFF_SMALL,
       SIM_MANGLE_OPTLEN, SIM_MANGLE_CUT_PAYLOAD };

struct sim_node {
	struct sim *sim;
	int idx;
	struct tcp_stack *stack;
	struct tcp_endpoint ep;
	struct sim_link out;     /* link from this node to the other */
};

struct sim_config {
	struct tcp_config tcp;          /* both stacks (tcp_config_default + changes) */
	struct sim_link_params link[2]; /* [0]: 0 -> 1, [1]: 1 -> 0 */
	uint64_t seed;
	uint64_t bytes[2];              /* bytes node 0 / node 1 send */
	uint16_t port;                  /* server TCP port */
	int cc;                         /* -1 stack default */
	uint32_t rx_chunk[2];
	tcp_time_t rx_interval[2];
	int no_close;                   /* applications never CLOSE (bench) */
	int close_after_eof[2];         /* node i CLOSEs only after the peer's FIN
	                                   (request/response style); else as soon
	                                   as its last byte is queued */
	int trace;                      /* print every datagram */
	/* optional: return 1 to drop this datagram (targeted scenarios) */
	int (*filter)(void *arg, int from, const uint8_t *seg, size_t len);
	void *filter_arg;
	unsigned nconn;                 /* parallel connections, each carrying
	                                   bytes[0] / bytes[1] (0 = 1, max SIM_MAX_CONN) */
};

struct sim {
	struct sim_config cfg;
	struct sim_rng rng;
	tcp_time_t now;
	tcp_time_t t_start;        /* virtual time the run began */
	uint64_t order;
	struct sim_node node[2];
	unsigned nconn;                 /* connections (cfg.nconn, at least 1) */
	struct sim_app app[SIM_MAX_CONN][2]; /* [k][0] client on node 0, [k][1] server */
	struct tcp_listener *listener;
	struct sim_pkt **heap;
	size_t heap_len, heap_cap;
	uint64_t steps;
	int input_errs_unexpected;
	char err[512];
	uint8_t iobuf[65536];
	/* what txbuf holds: pattern `tx_seed` from offset tx_off, tx_len bytes
	 * (a full send buffer makes the pump retry every event: do not
	 * regenerate the same bytes each time) */
	uint8_t txbuf[65536];
	uint64_t tx_seed, tx_off;
	size_t tx_len;
};

static inline void sim_config_default(struct sim_config *c)
{
	memset(c, 0, sizeof(*c));
	tcp_config_default(&c->tcp);
	c->tcp.send_buffer = 256 * 1024;
	c->tcp.recv_buffer = 256 * 1024;
	c->port = 80;
	c->cc = -1;
	c->seed = 1;
	for (int i = 0; i < 2; i++)
		c->link[i].delay = TCP_MS(10);
}

static inline void sim_fail(struct sim *s, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
static inline void sim_fail(struct sim *s, const char *fmt, ...)
{
	if (s->err[0])
		return; /* keep the first */
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(s->err, sizeof s->err, "t=%.6fs: ", (double)s->now / 1e6);
	if (n < 0)
		n = 0;
	vsnprintf(s->err + n, sizeof s->err - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---------- event heap ---------- */

static inline int sim_pkt_before(const struct sim_pkt *a, const struct sim_pkt *b)
{
	return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static inline int sim_heap_push(struct sim *s, struct sim_pkt *p)
{
	if (s->heap_len == s->heap_cap) {
		size_t cap = s->heap_cap ? 2 * s->heap_cap : 256;
		struct sim_pkt **h = realloc(s->heap, cap * sizeof(*h));
		if (!h)
			return -1;
		s->heap = h;
		s->heap_cap = cap;
	}
	size_t i = s->heap_len++;
	s->heap[i] = p;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!sim_pkt_before(s->heap[i], s->heap[up]))
			break;
		struct sim_pkt *t = s->heap[i];
		s->heap[i] = s->heap[up];
		s->heap[up] = t;
		i = up;
	}
	return 0;
}

static inline struct sim_pkt *sim_heap_pop(struct sim *s)
{
	if (!s->heap_len)
		return NULL;
	struct sim_pkt *top = s->heap[0];
	s->heap[0] = s->heap[--s->heap_len];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->heap_len && sim_pkt_before(s->heap[l], s->heap[m]))
			m = l;
		if (r < s->heap_len && sim_pkt_before(s->heap[r], s->heap[m]))
			m = r;
		if (m == i)
			break;
		struct sim_pkt *t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
	return top;
}

/* ---------- the wire ---------- */

/* IPv4 (20) + UDP (8) header bytes added on the wire. */
#define SIM_WIRE_OVERHEAD 28

static inline void sim_enqueue(struct sim *s, int to, const uint8_t *seg, size_t len,
			       tcp_time_t at, int mangled)
{
	struct sim_pkt *p = malloc(sizeof(*p) + len);
	if (!p) {
		sim_fail(s, "out of memory");
		return;
	}
	p->at = at;
	p->order = s->order++;
	p->to = to;
	p->mangled = mangled;
	p->len = (uint32_t)len;
	memcpy(p->data, seg, len);
	if (sim_heap_push(s, p) != 0) {
		free(p);
		sim_fail(s, "out of memory");
	}
}

/* Mangle a corrupted datagram so that it is either unparsable or stays a
 * valid (shorter) segment; returns the kind, 0 if none applies, *len may
 * shrink. */
static inline int sim_mangle(struct sim *s, uint8_t *b, size_t *len)
{
	size_t doff = *len >= 13 ? (size_t)(b[12] >> 4) * 4 : 0;
	int kinds[5], nk = 0;
	kinds[nk++] = SIM_MANGLE_SHORT;
	if (*len >= 20) {
		kinds[nk++] = SIM_MANGLE_DOFF_SMALL;
		if (*len < 60)
			kinds[nk++] = SIM_MANGLE_DOFF_BIG;
		if (doff > 20 && doff <= *len)
			kinds[nk++] = SIM_MANGLE_OPTLEN;
		/* flags byte 13: FIN 0x01, SYN 0x02, RST 0x04 */
		if (doff >= 20 && doff < *len && *len - doff > 1 && !(b[13] & 0x07))
			kinds[nk++] = SIM_MANGLE_CUT_PAYLOAD;
	}
	int k = kinds[sim_rng_below(&s->rng, (uint64_t)nk)];
	switch (k) {
	case SIM_MANGLE_SHORT:
		*len = (size_t)sim_rng_below(&s->rng, *len < 20 ? *len : 20);
		break;
	case SIM_MANGLE_DOFF_SMALL: /* data offset < 5 words */
		b[12] = (uint8_t)((b[12] & 0x0F) | (sim_rng_below(&s->rng, 5) << 4));
		break;
	case SIM_MANGLE_DOFF_BIG: { /* data offset beyond the datagram */
		unsigned words = (unsigned)(*len / 4) + 1;
		if (words > 15) /* cannot express: fall back to truncation */
			*len = 19, k = SIM_MANGLE_SHORT;
		else
			b[12] = (uint8_t)((b[12] & 0x0F) | (words << 4));
		break;
	}
	case SIM_MANGLE_OPTLEN: {
		/* make the first option that has a length field claim 0, 1 or
		 * more than what remains */
		size_t i = 20;
		while (i < doff && (b[i] == 1 /* NOP */))
			i++;
		if (i >= doff || b[i] == 0 /* EOL */ || i + 1 >= doff) {
			*len = 19, k = SIM_MANGLE_SHORT;
			break;
		}
		static const uint8_t bad[3] = { 0, 1, 0xFF };
		b[i + 1] = bad[sim_rng_below(&s->rng, 3)];
		if (b[i + 1] == 0xFF && i + 0xFF <= doff)
			b[i + 1] = 0;
		break;
	}
	case SIM_MANGLE_CUT_PAYLOAD:
		*len = doff + 1 + (size_t)sim_rng_below(&s->rng, *len - doff - 1);
		break;
	}
	return k;
}

static inline void sim_emit(void *ctx, const struct tcp_endpoint *to, const uint8_t *seg,
			    size_t len)
{
	struct sim_node *from = ctx;
	struct sim *s = from->sim;
	int dst = 1 - from->idx;
	struct sim_link *l = &from->out;
	struct sim_rng *r = &s->rng;
	if (to->family != s->node[dst].ep.family || memcmp(to->addr, s->node[dst].ep.addr, 16) != 0 ||
	    to->udp_port != s->node[dst].ep.udp_port) {
		sim_fail(s, "node %d emitted a segment to an unknown address", from->idx);
		return;
	}
	l->st.sent++;
	if (s->cfg.trace && len >= 20) {
		/* the timestamps option, if any, for RTT questions */
		unsigned long tsval = 0, tsecr = 0;
		size_t doff = (size_t)(seg[12] >> 4) * 4;
		for (size_t i = 20; i < doff && i < len;) {
			if (seg[i] == 0)
				break;
			if (seg[i] == 1) {
				i++;
				continue;
			}
			if (i + 1 >= len || seg[i + 1] < 2)
				break;
			if (seg[i] == 8 && seg[i + 1] == 10 && i + 10 <= len) {
				tsval = (unsigned long)seg[i + 2] << 24 | (unsigned long)seg[i + 3] << 16 |
					(unsigned long)seg[i + 4] << 8 | seg[i + 5];
				tsecr = (unsigned long)seg[i + 6] << 24 | (unsigned long)seg[i + 7] << 16 |
					(unsigned long)seg[i + 8] << 8 | seg[i + 9];
			}
			i += seg[i + 1];
		}
		fprintf(stderr, "%.6f %d->%d len %zu flags %02x seq %u ack %u wnd %u ts %lu/%lu\n",
			(double)s->now / 1e6, from->idx, dst, len, seg[13],
			(unsigned)seg[4] << 24 | (unsigned)seg[5] << 16 | (unsigned)seg[6] << 8 | seg[7],
			(unsigned)seg[8] << 24 | (unsigned)seg[9] << 16 | (unsigned)seg[10] << 8 | seg[11],
			(unsigned)seg[14] << 8 | seg[15], tsval, tsecr);
	}
	if (s->cfg.filter && s->cfg.filter(s->cfg.filter_arg, from->idx, seg, len)) {
		if (s->cfg.trace)
			fprintf(stderr, "    (dropped by the scenario)\n");
		l->st.lost_filter++;
		return;
	}
	/* partition */
	if (s->now - s->t_start >= l->p.down_from && s->now - s->t_start < l->p.down_until) {
		if (s->cfg.trace)
			fprintf(stderr, "    (link down)\n");
		l->st.lost_down++;
		return;
	}
	/* bottleneck: serialization and a drop-tail queue */
	tcp_time_t depart = s->now;
	if (l->p.rate_bps) {
		tcp_time_t start = l->busy_until > s->now ? l->busy_until : s->now;
		uint64_t backlog = (uint64_t)((double)(start - s->now) * (double)l->p.rate_bps / 8e6);
		if (l->p.queue_bytes && backlog + len + SIM_WIRE_OVERHEAD > l->p.queue_bytes) {
			if (s->cfg.trace)
				fprintf(stderr, "    (queue full: dropped)\n");
			l->st.lost_queue++;
			return;
		}
		uint64_t bits = 8ull * (len + SIM_WIRE_OVERHEAD);
		tcp_time_t tx = (tcp_time_t)((bits * 1000000ull + l->p.rate_bps - 1) / l->p.rate_bps);
		l->busy_until = start + tx;
		depart = l->busy_until;
	}
	/* loss: Gilbert-Elliott state machine, else Bernoulli */
	if (l->p.ge_p_gb > 0) {
		tcp_time_t idle = l->p.ge_idle_reset ? l->p.ge_idle_reset : TCP_SEC(1);
		if (l->ge_bad && s->now - l->last_sent > idle)
			l->ge_bad = 0;
		l->last_sent = s->now;
		if (l->ge_bad) {
			if (sim_rng_chance(r, l->p.ge_p_bg))
				l->ge_bad = 0;
		} else if (sim_rng_chance(r, l->p.ge_p_gb)) {
			l->ge_bad = 1;
		}
		if (l->ge_bad && sim_rng_chance(r, l->p.ge_loss_bad)) {
			if (s->cfg.trace)
				fprintf(stderr, "    (lost in a burst)\n");
			l->st.lost_burst++;
			return;
		}
	}
	if (sim_rng_chance(r, l->p.loss)) {
		if (s->cfg.trace)
			fprintf(stderr, "    (lost)\n");
		l->st.lost_random++;
		return;
	}
	tcp_time_t at = depart + l->p.delay;
	if (l->p.jitter)
		at += sim_rng_below(r, l->p.jitter + 1);
	if (sim_rng_chance(r, l->p.reorder)) {
		at += sim_rng_below(r, l->p.reorder_delay + 1);
		l->st.reordered++;
	}
	if (sim_rng_chance(r, l->p.corrupt)) {
		if (!sim_rng_chance(r, l->p.corrupt_deliver)) {
			if (s->cfg.trace)
				fprintf(stderr, "    (corrupted: dropped by the UDP checksum)\n");
			l->st.corrupt_dropped++; /* the UDP checksum catches it */
			return;
		}
		uint8_t tmp[65536 + 64];
		size_t n = len < sizeof tmp ? len : sizeof tmp;
		memcpy(tmp, seg, n);
		int kind = sim_mangle(s, tmp, &n);
		l->st.corrupt_delivered++;
		sim_enqueue(s, dst, tmp, n, at, kind);
		return;
	}
	sim_enqueue(s, dst, seg, len, at, SIM_MANGLE_NONE);
	if (sim_rng_chance(r, l->p.dup)) {
		l->st.dups++;
		sim_enqueue(s, dst, seg, len, at + sim_rng_below(r, l->p.delay / 4 + 1), SIM_MANGLE_NONE);
	}
}

/* ---------- engine callbacks ---------- */

static inline void sim_event(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err)
{
	struct sim_node *n = ctx;
	struct sim *s = n->sim;
	struct sim_app *a;
	if (ev == TCP_EV_ACCEPTED) {
		/* which client is it?  Its local port is our remote port. */
		struct tcp_conn_info ci;
		a = NULL;
		if (tcp_conn_info(c, &ci) == 0)
			for (unsigned k = 0; k < s->nconn; k++)
				if (s->app[k][0].port == ci.remote_port)
					a = &s->app[k][1];
		if (!a || a->c || a->closed) {
			sim_fail(s, "unexpected connection accepted");
			tcp_abort(c, s->now);
			return;
		}
		a->c = c;
		tcp_conn_set_user(c, a);
		a->established = 1;
		a->t_established = s->now;
	} else {
		a = user;
		if (!a) {
			sim_fail(s, "event %d for a connection without owner", (int)ev);
			return;
		}
	}
	if ((unsigned)ev < 8)
		a->events[ev]++;
	switch (ev) {
	case TCP_EV_ESTABLISHED:
		a->established = 1;
		a->t_established = s->now;
		break;
	case TCP_EV_PEER_FIN:
		a->peer_fin = 1;
		break;
	case TCP_EV_WRITABLE:
		a->blocked = 0;
		break;
	case TCP_EV_CLOSED:
		if (a->closed)
			sim_fail(s, "conn %u node %d: TCP_EV_CLOSED twice", a->k, n->idx);
		a->closed = 1;
		a->close_err = err;
		a->t_closed = s->now;
		/* Data that arrived before the end is still ours to read (a
		 * socket reads it after the peer's FIN too): the pump reads
		 * what is left, then releases the TCB. */
		a->release_pending = 1;
		break;
	default:
		break;
	}
}

static inline void sim_log(void *ctx, int level, const char *fmt, ...)
{
	struct sim_node *n = ctx;
	if (!n->sim->cfg.trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%.6f node%d <%d> ", (double)n->sim->now / 1e6, n->idx, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---------- setup / teardown ---------- */

static inline void sim_free(struct sim *s)
{
	for (int i = 0; i < 2; i++) {
		if (s->node[i].stack)
			tcp_stack_free(s->node[i].stack);
		s->node[i].stack = NULL;
	}
	for (size_t i = 0; i < s->heap_len; i++)
		free(s->heap[i]);
	free(s->heap);
	s->heap = NULL;
	s->heap_len = s->heap_cap = 0;
}

/* Set up both stacks, the listener on node 1 and the connect from node 0.
 * Returns 0 or a negative TCP_E* code (message in s->err). */
static inline int sim_init(struct sim *s, const struct sim_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	sim_rng_seed(&s->rng, cfg->seed);
	s->now = TCP_SEC(1000); /* not zero: catches "0 means unset" bugs */
	s->t_start = s->now;
	for (int i = 0; i < 2; i++) {
		struct sim_node *n = &s->node[i];
		n->sim = s;
		n->idx = i;
		n->ep.family = 4;
		n->ep.addr[0] = 10;
		n->ep.addr[3] = (uint8_t)(1 + i);
		n->ep.udp_port = 9811;
		n->out.p = cfg->link[i];
		struct tcp_callbacks cb = { .ctx = n, .emit = sim_emit, .event = sim_event, .log = sim_log };
		uint8_t secret[16];
		for (int k = 0; k < 16; k++)
			secret[k] = (uint8_t)sim_rng_next(&s->rng);
		int rc = tcp_stack_new(&n->stack, &cfg->tcp, &cb, secret, sim_rng_next(&s->rng));
		if (rc < 0) {
			sim_fail(s, "tcp_stack_new: %s", tcp_strerror(rc));
			sim_free(s);
			return rc;
		}
	}
	s->nconn = cfg->nconn ? cfg->nconn : 1;
	if (s->nconn > SIM_MAX_CONN) {
		sim_fail(s, "too many connections");
		sim_free(s);
		return TCP_EINVAL;
	}
	for (unsigned k = 0; k < s->nconn; k++) {
		for (int i = 0; i < 2; i++) {
			struct sim_app *a = &s->app[k][i];
			a->sim = s;
			a->node = i;
			a->k = k;
			a->tx_total = cfg->bytes[i];
			a->rx_expect = cfg->bytes[1 - i];
			a->tx_seed = cfg->seed * 64 + k * 2 + (uint64_t)i + 0x1234;
			a->rx_seed = cfg->seed * 64 + k * 2 + (uint64_t)(1 - i) + 0x1234;
			a->rx_chunk = cfg->rx_chunk[i];
			a->rx_interval = cfg->rx_interval[i];
		}
	}
	int rc = tcp_listen(s->node[1].stack, cfg->port, 16, s, &s->listener);
	if (rc < 0) {
		sim_fail(s, "tcp_listen: %s", tcp_strerror(rc));
		sim_free(s);
		return rc;
	}
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	o.cc = cfg->cc;
	for (unsigned k = 0; k < s->nconn; k++) {
		struct sim_app *a = &s->app[k][0];
		rc = tcp_connect(s->node[0].stack, &s->node[1].ep, cfg->port, 0, &o, a, s->now, &a->c);
		if (rc < 0) {
			sim_fail(s, "tcp_connect: %s", tcp_strerror(rc));
			sim_free(s);
			return rc;
		}
		struct tcp_conn_info ci;
		rc = tcp_conn_info(a->c, &ci);
		if (rc < 0) {
			sim_fail(s, "tcp_conn_info: %s", tcp_strerror(rc));
			sim_free(s);
			return rc;
		}
		a->port = ci.local_port;
		for (unsigned j = 0; j < k; j++)
			if (s->app[j][0].port == a->port) {
				sim_fail(s, "two connections got local port %u", a->port);
				sim_free(s);
				return TCP_EEXIST;
			}
	}
	return 0;
}

/* ---------- the applications ---------- */

static inline int sim_app_pump(struct sim *s, struct sim_app *a)
{
	int progress = 0;
	if (a->c && a->release_pending) {
		/* the connection is over: read what is left, then let go */
		while (!a->eof) {
			ssize_t r = tcp_recv(a->c, s->iobuf, sizeof s->iobuf, s->now);
			if (r <= 0) {
				if (r == 0 && a->rx_done == a->rx_expect) {
					a->eof = 1;
					a->t_eof = s->now;
				}
				break;
			}
			if (a->rx_done + (uint64_t)r > a->rx_expect ||
			    sim_pat_check(a->rx_seed, a->rx_done, s->iobuf, (size_t)r) >= 0) {
				sim_fail(s, "conn %u node %d: wrong bytes read after the close", a->k, a->node);
				a->failed = 1;
				break;
			}
			a->rx_done += (uint64_t)r;
		}
		a->release_pending = 0;
		struct tcp_conn *c = a->c;
		a->c = NULL;
		tcp_release(c, s->now);
		return 1;
	}
	if (!a->c || a->closed || !a->established)
		return 0;
	/* write */
	while (a->tx_done < a->tx_total && !a->blocked) {
		uint64_t left = a->tx_total - a->tx_done;
		size_t n = left < sizeof s->txbuf ? (size_t)left : sizeof s->txbuf;
		if (s->tx_seed != a->tx_seed || s->tx_off != a->tx_done || s->tx_len < n) {
			sim_pat_fill(a->tx_seed, a->tx_done, s->txbuf, n);
			s->tx_seed = a->tx_seed;
			s->tx_off = a->tx_done;
			s->tx_len = n;
		}
		ssize_t w = tcp_send(a->c, s->txbuf, n, s->now);
		if (!a->c)
			return 1; /* closed from inside */
		if (w < 0) {
			if (w != TCP_EAGAIN)
				sim_fail(s, "conn %u node %d: tcp_send: %s", a->k, a->node, tcp_strerror((int)w));
			break;
		}
		if (w == 0) {
			a->blocked = 1;
			break;
		}
		if ((size_t)w > n) {
			sim_fail(s, "conn %u node %d: tcp_send returned %zd > %zu", a->k, a->node, w, n);
			a->failed = 1;
			break;
		}
		a->tx_done += (uint64_t)w;
		progress = 1;
	}
	if (a->tx_done == a->tx_total && !a->close_called && !s->cfg.no_close && a->c &&
	    (!s->cfg.close_after_eof[a->node] || a->eof)) {
		a->close_called = 1;
		int rc = tcp_close(a->c, s->now);
		if (rc < 0)
			sim_fail(s, "conn %u node %d: tcp_close: %s", a->k, a->node, tcp_strerror(rc));
		progress = 1;
		if (!a->c)
			return 1;
	}
	/* read */
	uint64_t budget = UINT64_MAX;
	if (a->rx_chunk) {
		if (s->now < a->rx_next)
			return progress;
		budget = a->rx_chunk;
		a->rx_next = s->now + a->rx_interval;
	}
	while (!a->eof && a->c && budget > 0) {
		size_t want = budget < sizeof s->iobuf ? (size_t)budget : sizeof s->iobuf;
		ssize_t r = tcp_recv(a->c, s->iobuf, want, s->now);
		if (r == TCP_EAGAIN)
			break;
		if (r < 0) {
			if (!a->closed)
				sim_fail(s, "conn %u node %d: tcp_recv: %s", a->k, a->node, tcp_strerror((int)r));
			break;
		}
		if (r == 0) {
			a->eof = 1;
			a->t_eof = s->now;
			progress = 1;
			if (a->rx_done != a->rx_expect) {
				sim_fail(s, "conn %u node %d: EOF after %llu bytes, expected %llu", a->k, a->node,
					 (unsigned long long)a->rx_done, (unsigned long long)a->rx_expect);
				a->failed = 1;
			}
			break;
		}
		if ((size_t)r > want || a->rx_done + (uint64_t)r > a->rx_expect) {
			sim_fail(s, "conn %u node %d: received %llu+%zd bytes, more than the %llu sent",
				 a->k, a->node, (unsigned long long)a->rx_done, r,
				 (unsigned long long)a->rx_expect);
			a->failed = 1;
			break;
		}
		long bad = sim_pat_check(a->rx_seed, a->rx_done, s->iobuf, (size_t)r);
		if (bad >= 0) {
			sim_fail(s, "conn %u node %d: byte %llu of the stream is wrong", a->k, a->node,
				 (unsigned long long)(a->rx_done + (uint64_t)bad));
			a->failed = 1;
			break;
		}
		a->rx_done += (uint64_t)r;
		budget -= (uint64_t)r;
		progress = 1;
	}
	return progress;
}

static inline void sim_pump(struct sim *s)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		int p = 0;
		for (unsigned k = 0; k < s->nconn; k++)
			p |= sim_app_pump(s, &s->app[k][0]) | sim_app_pump(s, &s->app[k][1]);
		if (!p)
			break;
	}
}

static inline int sim_done(const struct sim *s)
{
	for (unsigned k = 0; k < s->nconn; k++)
		for (int i = 0; i < 2; i++)
			if (!s->app[k][i].closed || s->app[k][i].c)
				return 0;
	return 1;
}

/* ---------- the event loop ---------- */

/* Earliest time something happens, or TCP_TIME_NEVER. */
static inline tcp_time_t sim_next_time(const struct sim *s)
{
	tcp_time_t t = TCP_TIME_NEVER;
	if (s->heap_len)
		t = s->heap[0]->at;
	for (int i = 0; i < 2; i++) {
		tcp_time_t d = tcp_next_deadline(s->node[i].stack);
		if (d < t)
			t = d;
		for (unsigned k = 0; k < s->nconn; k++) {
			const struct sim_app *a = &s->app[k][i];
			if (a->rx_chunk && a->c && !a->eof && a->rx_next > s->now && a->rx_next < t)
				t = a->rx_next;
		}
	}
	return t;
}

/* One event: the earliest datagram, timer or application wake-up.
 * Returns 0, or -1 when nothing is left to happen. */
static inline int sim_step(struct sim *s)
{
	tcp_time_t t = sim_next_time(s);
	if (t == TCP_TIME_NEVER)
		return -1;
	if (t > s->now)
		s->now = t;
	s->steps++;
	if (s->heap_len && s->heap[0]->at <= s->now) {
		struct sim_pkt *p = sim_heap_pop(s);
		struct sim_node *dst = &s->node[p->to];
		struct sim_link *l = &s->node[1 - p->to].out;
		int rc = tcp_input(dst->stack, &s->node[1 - p->to].ep, p->data, p->len, s->now);
		l->st.delivered++;
		l->st.bytes_delivered += p->len;
		if (p->mangled) {
			if (rc < 0)
				l->st.mangled_rejected++;
			else if (p->mangled == SIM_MANGLE_CUT_PAYLOAD)
				l->st.mangled_accepted++;
			else
				/* a short header, a data offset outside [5 words,
				 * datagram] or an option length of 0, 1 or past the
				 * header is malformed: docs/DESIGN.md section 3 "malformed option
				 * lists drop the segment" */
				l->st.mangled_bad_accept++;
		}
		free(p);
	} else {
		for (int i = 0; i < 2; i++)
			if (tcp_next_deadline(s->node[i].stack) <= s->now)
				tcp_timeout(s->node[i].stack, s->now);
	}
	sim_pump(s);
	return 0;
}

/* Run until both applications saw TCP_EV_CLOSED (returns 0), virtual time
 * reaches `until` or max_steps events ran (returns -1), or a check failed
 * (returns -2, message in s->err). */
static inline int sim_run(struct sim *s, tcp_time_t until, uint64_t max_steps)
{
	sim_pump(s);
	uint64_t start = s->steps;
	while (!sim_done(s)) {
		if (s->err[0])
			return -2;
		if (s->steps - start >= max_steps) {
			sim_fail(s, "no completion after %llu events", (unsigned long long)max_steps);
			return -1;
		}
		tcp_time_t t = sim_next_time(s);
		if (t == TCP_TIME_NEVER) {
			sim_fail(s, "stalled: no datagram in flight and no timer armed");
			return -1;
		}
		if (t > until) {
			s->now = until;
			return -1;
		}
		sim_step(s);
	}
	return s->err[0] ? -2 : 0;
}

/* Run the remaining timers (TIME-WAIT etc.) until neither stack has a
 * deadline; returns 0, or -1 if that does not happen by `until`. */
static inline int sim_drain(struct sim *s, tcp_time_t until, uint64_t max_steps)
{
	for (uint64_t k = 0; k < max_steps; k++) {
		tcp_time_t t = sim_next_time(s);
		if (t == TCP_TIME_NEVER)
			return 0;
		if (t > until)
			return -1;
		sim_step(s);
	}
	return -1;
}

static inline int sim_count_conns_cb(void *arg, struct tcp_conn *c)
{
	(void)c;
	(*(unsigned *)arg)++;
	return 0;
}

/* TCBs still alive in node i's stack. */
static inline unsigned sim_conn_count(struct sim *s, int i)
{
	unsigned n = 0;
	tcp_foreach(s->node[i].stack, sim_count_conns_cb, &n);
	return n;
}

/* A one-line description of a configuration, for failure messages. */
static inline void sim_describe(const struct sim_config *c, char *buf, size_t len)
{
	int n = snprintf(buf, len, "seed=%llu bytes=%llu/%llu cc=%d close_after_eof=%d/%d "
			 "rx_chunk=%u/%u rcvbuf=%u sndbuf=%u ts=%d sack=%d ws=%d delack=%llu",
			 (unsigned long long)c->seed, (unsigned long long)c->bytes[0],
			 (unsigned long long)c->bytes[1], c->cc, c->close_after_eof[0],
			 c->close_after_eof[1], c->rx_chunk[0], c->rx_chunk[1],
			 c->tcp.recv_buffer, c->tcp.send_buffer, c->tcp.timestamps, c->tcp.sack,
			 c->tcp.window_scaling, (unsigned long long)c->tcp.delayed_ack);
	for (int i = 0; i < 2 && n >= 0 && (size_t)n < len; i++) {
		const struct sim_link_params *l = &c->link[i];
		n += snprintf(buf + n, len - (size_t)n,
			      "\n    link%d: rate=%llu queue=%u delay=%lluus jitter=%lluus loss=%.3f "
			      "ge=%.3f/%.3f/%.2f reorder=%.3f/%lluus dup=%.3f corrupt=%.3f/%.2f",
			      i, (unsigned long long)l->rate_bps, l->queue_bytes,
			      (unsigned long long)l->delay, (unsigned long long)l->jitter, l->loss,
			      l->ge_p_gb, l->ge_p_bg, l->ge_loss_bad, l->reorder,
			      (unsigned long long)l->reorder_delay, l->dup, l->corrupt,
			      l->corrupt_deliver);
	}
}

#endif

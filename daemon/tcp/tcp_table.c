/*
 * tcp_table.c - the connection table: TCBs keyed by their 4-tuple (keyed
 * SipHash, a last-hit cache), what a new TCB is made with (ISN, timestamp
 * offset, MSS and window shift it announces), TCBs entering and leaving the
 * table, and the walks over it (by id, all, memory use).
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"
#include "tcp_siphash.h"

/* ---- the 4-tuple and its hashes ---- */

void tcp_tuple_key(struct tuple_key *k, const struct tcp_endpoint *r, uint16_t lport, uint16_t rport)
{
	memset(k, 0, sizeof *k);
	k->family = r->family;
	memcpy(k->addr, r->addr, r->family == 4 ? 4 : 16);
	k->udp[0] = (uint8_t)(r->udp_port >> 8); k->udp[1] = (uint8_t)r->udp_port;
	k->lport[0] = (uint8_t)(lport >> 8); k->lport[1] = (uint8_t)lport;
	k->rport[0] = (uint8_t)(rport >> 8); k->rport[1] = (uint8_t)rport;
}

static unsigned bucket(const struct tcp_stack *s, const struct tcp_endpoint *r,
		       uint16_t lport, uint16_t rport)
{
	struct tuple_key k;
	tcp_tuple_key(&k, r, lport, rport);
	return (unsigned)(tcp_siphash24(s->secret, &k, sizeof k) & (s->nbuckets - 1));
}

int tcp_ep_equal(const struct tcp_endpoint *a, const struct tcp_endpoint *b)
{
	if (a->family != b->family || a->udp_port != b->udp_port)
		return 0;
	return memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

struct tcp_conn *tcp_conn_lookup(struct tcp_stack *s, const struct tcp_endpoint *r,
				 uint16_t lport, uint16_t rport)
{
	struct tcp_conn *c = s->last_hit;
	if (c && c->lport == lport && c->rport == rport && tcp_ep_equal(&c->remote, r))
		return c;
	for (c = s->table[bucket(s, r, lport, rport)]; c; c = c->hnext)
		if (c->lport == lport && c->rport == rport && tcp_ep_equal(&c->remote, r)) {
			s->last_hit = c;
			return c;
		}
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
	tcp_tuple_key(&k, &c->remote, c->lport, c->rport);
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
	tcp_tuple_key(&in.k, r, lport, rport);
	return (uint32_t)tcp_siphash24(s->secret, &in, sizeof in);
}

/* ---- a new TCB ---- */

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

/* RFC 1122 3.2.1.3 (g): 127.0.0.0/8 is the internal host loopback; RFC
 * 4291 2.5.3: ::1, and 2.5.5.2: ::ffff:127.x.y.z is that IPv4 address */
static int is_loopback(const struct tcp_endpoint *r)
{
	static const uint8_t v6_loop[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
	if (r->family == 4)
		return r->addr[0] == 127;
	return memcmp(r->addr, v6_loop, 16) == 0 ||
	       (memcmp(r->addr, v4_mapped, 12) == 0 && r->addr[12] == 127);
}

uint16_t tcp_adv_mss(const struct tcp_stack *s, const struct tcp_endpoint *r)
{
	/* docs/DESIGN.md section 3: MSS = path MTU - IP - UDP - TCP headers; cfg.mss is the
	 * IPv4 value (1452 on a 1500 path), IPv6's header is 20 bytes longer; a
	 * loopback peer's path is the loopback interface (cfg.mss_loopback) */
	uint16_t mss = s->cfg.mss_loopback && is_loopback(r) ? s->cfg.mss_loopback : s->cfg.mss;
	if (r->family == 6 && mss > 64 + 20)
		mss = (uint16_t)(mss - 20);
	return mss;
}

unsigned tcp_live_conns(const struct tcp_stack *s)
{
	return s->nconns - s->ntw_full;
}

/* Allocate and initialize a TCB for the 4-tuple and put it in the table:
 * no ring is allocated (tcp_ring.c grows them on first need). */
struct tcp_conn *tcp_conn_alloc(struct tcp_stack *s, const struct tcp_endpoint *r,
				   uint16_t lport, uint16_t rport, int *err)
{
	if (tcp_timer_reserve(s, s->nconns + 1) < 0) {
		*err = TCP_ENOMEM;
		return NULL;
	}
	struct tcp_conn *c = calloc(1, sizeof *c);
	if (!c) {
		*err = TCP_ENOMEM;
		return NULL;
	}
	c->s = s;
	c->id = s->next_id;
	s->next_id += s->id_step;
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
	struct tcp_conn *c = tcp_conn_alloc(s, r, lport, rport, err);
	if (!c)
		return NULL;
	tcp_ring_init(&c->sndbuf, s->cfg.send_buffer < TCP_SNDBUF_INIT ? s->cfg.send_buffer
									: TCP_SNDBUF_INIT);
	uint32_t rcv = s->cfg.recv_buffer;
	if (s->cfg.recv_buffer_auto && rcv > TCP_RCVBUF_INIT)
		rcv = TCP_RCVBUF_INIT; /* tcp_rcv_space_adjust() grows it */
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
	tcp_timer_reschedule(c);
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
	tcp_dead_push(c);
}

void tcp_conn_free(struct tcp_conn *c)
{
	tcp_ao_conn_free(c);
	tcp_seqset_clear(&c->ooo);
	tcp_seqset_clear(&c->sb.sacked);
	tcp_rack_free(&c->rack);
	tcp_ring_free(&c->sndbuf);
	tcp_ring_free(&c->rcvbuf);
	free(c);
}

/* ---- walks ---- */

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
	uint64_t id = s->next_id;
	s->next_id += s->id_step;
	return id;
}

int tcp_stack_set_shard(struct tcp_stack *s, unsigned n, unsigned k)
{
	if (!s || n == 0 || k >= n || s->next_id != 1)
		return TCP_EINVAL;
	s->shards = n;
	s->shard = k;
	s->id_step = n;
	s->next_id = 1 + k;
	return 0;
}

int tcp_stack_reserve_port(struct tcp_stack *s, uint16_t port, int on)
{
	if (!s)
		return TCP_EINVAL;
	if (port < TCP_DYN_PORT_LO)
		return 0;
	unsigned i = port - TCP_DYN_PORT_LO;
	if (!s->reserved) {
		if (!on)
			return 0;
		s->reserved = calloc((65536 - TCP_DYN_PORT_LO) / 8, 1);
		if (!s->reserved)
			return TCP_ENOMEM;
	}
	if (on)
		s->reserved[i >> 3] |= (uint8_t)(1u << (i & 7));
	else
		s->reserved[i >> 3] &= (uint8_t)~(1u << (i & 7));
	return 0;
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

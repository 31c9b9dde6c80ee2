/*
 * loop.c - the driver (loop.h): the stack, the one engine timer, the
 * per-turn order, and the engine's callbacks (emit -> udp.c, events ->
 * their owners, log lines -> log.c).
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "log.h"
#include "loop.h"
#include "shard.h"
#include "udp.h"
#include "udp_err.h"
#include "udp_route.h"
#include "usage.h"

#define ENGINE_LOG_PER_S 100 /* engine log lines per second below debug level */

struct loop {
	uv_timer_t timer;               /* the one engine timer */
	tcp_time_t timer_due;           /* what it is armed for */
	uv_prepare_t prep;
	uv_check_t check;
	/* [daemon] busy_poll: while active, the loop polls without sleeping */
	uv_idle_t busy;
	uint64_t busy_us;               /* the window; 0 = never */
	uint64_t busy_until;            /* toud_now() at which polling stops */
	uint64_t moved;                 /* datagrams in + out at the last turn */
	int busy_on;                    /* busy is started */
	int handles_open;
	/* the engine log's rate limit */
	uint64_t log_window;
	unsigned log_lines, log_dropped;
};

/* ---- the engine's callbacks (ctx = the shard) ---- */

static void cb_emit(void *ctx, const struct tcp_endpoint *to, const uint8_t *seg, size_t len)
{
	struct shard *sh = ctx;
	udp_emit(sh->udp, to, seg, len);
}

static uint8_t *cb_emit_buf(void *ctx, const struct tcp_endpoint *to, size_t len)
{
	struct shard *sh = ctx;
	return udp_emit_buf(sh->udp, to, len);
}

static void cb_peer(void *ctx, const struct tcp_endpoint *from, int proof)
{
	struct shard *sh = ctx;
	udp_peer_proof(sh->udp, from, proof);
}

/* The one way an engine event reaches the daemon: the owner the user
 * pointer names (toud.h struct tcp_owner) notes it. */
static void cb_event(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err)
{
	(void)ctx;
	struct tcp_owner *o = user;
	if (o)
		o->event(o, c, ev, err);
}

/* Rate limited except at debug level. */
static void cb_log(void *ctx, int level, const char *fmt, ...)
{
	struct shard *sh = ctx;
	struct loop *l = sh->drv;
	if (level > log_get_level())
		return;
	if (level < LOG_LVL_DEBUG) {
		uint64_t now = toud_now();
		if (now - l->log_window > 1000000) {
			if (l->log_dropped)
				log_warn("tcp: %u log lines suppressed (rate limit %d/s)", l->log_dropped,
					 ENGINE_LOG_PER_S);
			l->log_window = now;
			l->log_lines = l->log_dropped = 0;
		}
		if (++l->log_lines > ENGINE_LOG_PER_S) {
			l->log_dropped++;
			return;
		}
	}
	char buf[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_msg(level, "tcp: %s", buf);
}

/* A datagram another shard received for this one (no BPF steering), with
 * where it arrived: the engine's proof of its sender teaches this shard's
 * route table (udp_route.h) as for a datagram of its own. */
struct handoff {
	struct tcp_endpoint from;
	int have_arrival;
	struct udp_route_arrival arrival;
	uint8_t seg[];
};

static void on_handoff(struct shard *sh, void *data, size_t len)
{
	struct handoff *h = data;
	sh->handed_in++;
	udp_arrival_set(sh->udp, &h->from, h->have_arrival ? &h->arrival : NULL);
	tcp_input(sh->stack, &h->from, h->seg, len - sizeof *h, toud_now());
	udp_arrival_set(sh->udp, NULL, NULL);
}

/* An ICMP error (or failed send) about a connection of this shard that
 * reached another shard's socket. */
static void on_icmp_handoff(struct shard *sh, void *data, size_t len)
{
	(void)len;
	const struct udp_err_pending *p = data;
	tcp_icmp_error(sh->stack, &p->peer, p->lport, p->rport, p->seq, &p->e, toud_now());
}

/* udp_deliver_errors' filter: 1 if the error's connection is another
 * shard's (by its ports, as the steering), which then gets it. */
static int icmp_elsewhere(void *arg, const struct udp_err_pending *p)
{
	struct shard *sh = arg;
	unsigned owner = shard_of_ports(sh->d, p->lport, p->rport);
	if (owner == sh->idx)
		return 0;
	if (shard_post(&sh->d->shards[owner], on_icmp_handoff, p, sizeof *p) != 0)
		sh->handoff_dropped++;
	return 1;
}

/* udp.c's input: one datagram into the engine - this shard's, or the one
 * its TCP ports belong to (docs/DESIGN.md section 5.8), which gets a copy
 * through its job queue: never dropped unless out of memory (counted). */
static void on_datagram(void *arg, const struct tcp_endpoint *from, const uint8_t *p, size_t len, tcp_time_t now)
{
	struct shard *sh = arg;
	unsigned owner = shard_of_datagram(sh->d, p, len);
	if (owner != sh->idx) {
		struct handoff *h = malloc(sizeof *h + len);
		if (h) {
			const struct udp_route_arrival *a = udp_arrival(sh->udp);
			h->from = *from;
			h->have_arrival = a != NULL;
			if (a)
				h->arrival = *a;
			memcpy(h->seg, p, len);
		}
		if (h && shard_post(&sh->d->shards[owner], on_handoff, h, sizeof *h + len) == 0)
			sh->handed_on++;
		else
			sh->handoff_dropped++;
		free(h);
		return;
	}
	tcp_input(sh->stack, from, p, len, now);
}

/* ---- the turn ---- */

/* [daemon] busy_poll (docs/DESIGN.md section 5.1): while the idle handle
 * is active libuv polls for I/O with a zero timeout, so the loop turns
 * without sleeping - a datagram or an app's bytes that arrive meanwhile
 * need no wakeup of the daemon.  The window ends busy_us after the last
 * turn that moved a datagram; then the loop sleeps in epoll again. */
static void on_busy(uv_idle_t *h)
{
	struct shard *sh = h->data;
	struct loop *l = sh->drv;
	if (toud_now() >= l->busy_until) {
		uv_idle_stop(h);
		l->busy_on = 0;
		return;
	}
	sh->busy_polls++;
	/* as the kernel's own busy polling stops when another task needs the
	 * CPU (need_resched): a runnable task sharing this core - the app
	 * that will answer - runs first */
	sched_yield();
}

/* After a turn: did it move a datagram (in or out)?  Then (re)open the
 * window. */
static void busy_after_turn(struct shard *sh)
{
	struct loop *l = sh->drv;
	struct udp_counters c = { 0 };
	struct udp_err_counters e = { 0 };
	udp_counters_add(sh->udp, &c, &e);
	uint64_t moved = c.rx_datagrams + c.tx_datagrams;
	if (moved == l->moved)
		return;
	l->moved = moved;
	l->busy_until = toud_now() + l->busy_us;
	if (l->busy_on) {
		sh->busy_hits++; /* found by polling, not by a wakeup */
		return;
	}
	sh->busy_windows++;
	l->busy_on = 1;
	uv_idle_start(&l->busy, on_busy);
}

static void on_timer(uv_timer_t *t)
{
	struct shard *sh = t->data;
	sh->drv->timer_due = TCP_TIME_NEVER;
	tcp_timeout(sh->stack, toud_now());
	loop_turn(sh);
}

void loop_turn(struct shard *sh)
{
	struct loop *l = sh->drv;
	bridge_run_all(sh->bridges); /* may send data and window updates: before the flush */
	if (sh->udp) {
		udp_flush(sh->udp);
		/* ICMP errors and failed sends read during the flush (inside
		 * engine callbacks) or by udp.c's poll reach the engine now;
		 * what they send (a retransmission at a lower MSS) goes too */
		for (int round = 0; round < 2 && sh->stack; round++) {
			if (!udp_deliver_errors(sh->udp, sh->stack, toud_now(), icmp_elsewhere, sh))
				break;
			udp_flush(sh->udp);
		}
	}
	if (sh->d->pcap)
		pcap_flush(sh->d->pcap);
	if (!sh->stack || !l->handles_open)
		return;
	if (l->busy_us && sh->udp)
		busy_after_turn(sh);
	tcp_time_t due = tcp_next_deadline(sh->stack);
	if (due == l->timer_due)
		return;
	l->timer_due = due;
	if (due == TCP_TIME_NEVER) {
		uv_timer_stop(&l->timer);
		return;
	}
	tcp_time_t now = toud_now();
	/* libuv timers have millisecond resolution: round up so that the
	 * engine never wakes before its deadline and spins. */
	uint64_t ms = due > now ? (due - now + 999) / 1000 : 0;
	uv_timer_start(&l->timer, on_timer, ms, 0);
}

static void on_prepare(uv_prepare_t *h)
{
	loop_turn(h->data);
}

static void on_check(uv_check_t *h)
{
	loop_turn(h->data);
}

void loop_turn_all(struct toud *d)
{
	loop_turn(&d->shards[0]);
	for (unsigned i = 1; i < d->n_shards; i++)
		shard_wake(&d->shards[i]); /* runs its turn on its thread */
}

/* ---- life ---- */

static int shard_start(struct shard *sh, const uint8_t secret[16], uint64_t seed)
{
	struct toud *d = sh->d;
	struct loop *l = calloc(1, sizeof *l);
	sh->bridges = calloc(1, sizeof *sh->bridges);
	if (!l || !sh->bridges) {
		free(l);
		return UV_ENOMEM;
	}
	sh->drv = l;
	l->timer_due = TCP_TIME_NEVER;
	int r = bridge_set_init(sh->bridges, sh->loop);
	if (r != 0)
		return r;
	struct tcp_callbacks cb = { .ctx = sh, .emit = cb_emit, .event = cb_event, .log = cb_log,
				     .emit_buf = cb_emit_buf, .peer = cb_peer };
	/* one secret (ISNs, SYN cookies: a connection stays on one shard
	 * anyway), a seed of its own per shard */
	r = tcp_stack_new(&sh->stack, &d->cfg.tcp, &cb, secret, seed + 0x9e3779b97f4a7c15ull * sh->idx);
	if (r != 0) {
		log_err("cannot create the TCP stack: %s", tcp_strerror(r));
		return r;
	}
	/* its ports and ids (tcp.h): replies come back to this shard */
	if (d->n_shards > 1 && (r = tcp_stack_set_shard(sh->stack, d->n_shards, sh->idx)) != 0) {
		log_err("shard %u: %s", sh->idx, tcp_strerror(r));
		return r;
	}
	r = keys_apply(sh->stack, &d->cfg.keys); /* TCP-AO master keys (keys.h) */
	if (r != 0) {
		log_err("cannot use the TCP-AO keys: %s", tcp_strerror(r));
		return r;
	}
	r = udp_start(sh, on_datagram, sh);
	if (r != 0)
		return r;
	sh->bridges->route = sh->route;
	sh->bridges->usage = d->usage;
	uv_timer_init(sh->loop, &l->timer);
	uv_prepare_init(sh->loop, &l->prep);
	uv_check_init(sh->loop, &l->check);
	uv_idle_init(sh->loop, &l->busy);
	l->busy_us = d->cfg.busy_poll;
	l->timer.data = l->prep.data = l->check.data = l->busy.data = sh;
	uv_prepare_start(&l->prep, on_prepare);
	uv_check_start(&l->check, on_check);
	l->handles_open = 1;
	return 0;
}

int loop_start(struct toud *d, unsigned n_shards, const uint8_t secret[16], uint64_t seed)
{
	d->usage = usage_new();
	d->route_live = udp_route_live_new();
	d->shards = calloc(n_shards, sizeof *d->shards);
	if (!d->shards || !d->usage || !d->route_live)
		return UV_ENOMEM;
	d->n_shards = n_shards;
	for (unsigned i = 0; i < n_shards; i++)
		d->shards[i].kick_fd = -1;
	/* in order: each binds its UDP sockets after the one before, so
	 * that shard i is socket i of each SO_REUSEPORT group (udp.c) */
	for (unsigned i = 0; i < n_shards; i++) {
		struct shard *sh = &d->shards[i];
		int r = shard_init(sh, d, i);
		if (r != 0) {
			log_err("shard %u: %s", i, uv_strerror(r));
			return r;
		}
		r = shard_start(sh, secret, seed);
		if (r != 0)
			return r;
	}
	if (n_shards > 1)
		log_info("%u engine shards (threads)", n_shards);
	if (d->cfg.keys.n)
		log_info("TCP-AO: %u key(s) loaded", d->cfg.keys.n);
	if (d->cfg.busy_poll)
		log_info("busy_poll: each engine loop polls %llu us after a datagram before it sleeps",
			 (unsigned long long)d->cfg.busy_poll);
	return 0;
}

static void shard_stop(struct shard *sh)
{
	struct loop *l = sh->drv;
	if (sh->bridges)
		bridge_close_all(sh->bridges);
	udp_stop(sh->udp);
	if (!l || !l->handles_open)
		return;
	l->handles_open = 0;
	/* embedded in *l: freed by loop_free() after uv_run ran the closes */
	uv_close((uv_handle_t *)&l->timer, NULL);
	uv_close((uv_handle_t *)&l->prep, NULL);
	uv_close((uv_handle_t *)&l->check, NULL);
	uv_close((uv_handle_t *)&l->busy, NULL);
}

int loop_threads_start(struct toud *d)
{
	for (unsigned i = 1; i < d->n_shards; i++) {
		int r = shard_thread_start(&d->shards[i]);
		if (r != 0) {
			log_err("shard %u: cannot start its thread: %s", i, strerror(-r));
			return r;
		}
	}
	return 0;
}

void loop_stop(struct toud *d)
{
	for (unsigned i = 0; i < d->n_shards; i++) {
		struct shard *sh = &d->shards[i];
		shard_lock(sh);
		shard_stop(sh);
		shard_unlock(sh);
		shard_quit(sh);
	}
}

void loop_join(struct toud *d)
{
	for (unsigned i = 0; i < d->n_shards; i++)
		shard_join(&d->shards[i]);
}

static void shard_free(struct shard *sh)
{
	tcp_stack_free(sh->stack);
	sh->stack = NULL;
	udp_free(sh->udp);
	sh->udp = NULL;
	if (sh->bridges) {
		bridge_set_free(sh->bridges);
		free(sh->bridges);
		sh->bridges = NULL;
	}
	free(sh->drv);
	sh->drv = NULL;
}

void loop_free(struct toud *d)
{
	for (unsigned i = 0; i < d->n_shards; i++) {
		shard_fini(&d->shards[i]);
		shard_free(&d->shards[i]);
	}
	free(d->shards);
	d->shards = NULL;
	d->n_shards = 0;
	usage_free(d->usage);
	d->usage = NULL;
	udp_route_live_free(d->route_live);
	d->route_live = NULL;
}

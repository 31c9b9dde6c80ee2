/*
 * loop.c - the driver (loop.h): the stack, the one engine timer, the
 * per-turn order, and the engine's callbacks (emit -> udp.c, events ->
 * their owners, log lines -> log.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bridge.h"
#include "log.h"
#include "loop.h"
#include "udp.h"

#define ENGINE_LOG_PER_S 100 /* engine log lines per second below debug level */

struct loop {
	uv_timer_t timer;               /* the one engine timer */
	tcp_time_t timer_due;           /* what it is armed for */
	uv_prepare_t prep;
	uv_check_t check;
	int handles_open;
	/* the engine log's rate limit */
	uint64_t log_window;
	unsigned log_lines, log_dropped;
};

/* ---- the engine's callbacks (ctx = d) ---- */

static void cb_emit(void *ctx, const struct tcp_endpoint *to, const uint8_t *seg, size_t len)
{
	struct toud *d = ctx;
	udp_emit(d->udp, to, seg, len);
}

static uint8_t *cb_emit_buf(void *ctx, const struct tcp_endpoint *to, size_t len)
{
	struct toud *d = ctx;
	return udp_emit_buf(d->udp, to, len);
}

static void cb_peer(void *ctx, const struct tcp_endpoint *from, int proof)
{
	struct toud *d = ctx;
	udp_peer_proof(d->udp, from, proof);
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
	struct toud *d = ctx;
	struct loop *l = d->drv;
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

/* udp.c's input: one datagram into the engine. */
static void on_datagram(void *arg, const struct tcp_endpoint *from, const uint8_t *p, size_t len, tcp_time_t now)
{
	struct toud *d = arg;
	tcp_input(d->stack, from, p, len, now);
}

/* ---- the turn ---- */

static void on_timer(uv_timer_t *t)
{
	struct toud *d = t->data;
	d->drv->timer_due = TCP_TIME_NEVER;
	tcp_timeout(d->stack, toud_now());
	loop_turn(d);
}

void loop_turn(struct toud *d)
{
	struct loop *l = d->drv;
	bridge_run_all(d->bridges); /* may send data and window updates: before the flush */
	if (d->udp) {
		udp_flush(d->udp);
		/* ICMP errors and failed sends read during the flush (inside
		 * engine callbacks) or by udp.c's poll reach the engine now;
		 * what they send (a retransmission at a lower MSS) goes too */
		for (int round = 0; round < 2 && d->stack; round++) {
			if (!udp_deliver_errors(d->udp, d->stack, toud_now()))
				break;
			udp_flush(d->udp);
		}
	}
	if (d->pcap)
		pcap_flush(d->pcap);
	if (!d->stack || !l->handles_open)
		return;
	tcp_time_t due = tcp_next_deadline(d->stack);
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

/* ---- life ---- */

int loop_start(struct toud *d, const uint8_t secret[16], uint64_t seed)
{
	struct loop *l = calloc(1, sizeof *l);
	d->bridges = calloc(1, sizeof *d->bridges);
	if (!l || !d->bridges) {
		free(l);
		return UV_ENOMEM;
	}
	d->drv = l;
	l->timer_due = TCP_TIME_NEVER;
	int r = bridge_set_init(d->bridges, d->loop);
	if (r != 0)
		return r;
	struct tcp_callbacks cb = { .ctx = d, .emit = cb_emit, .event = cb_event, .log = cb_log,
				     .emit_buf = cb_emit_buf, .peer = cb_peer };
	r = tcp_stack_new(&d->stack, &d->cfg.tcp, &cb, secret, seed);
	if (r != 0) {
		log_err("cannot create the TCP stack: %s", tcp_strerror(r));
		return r;
	}
	r = keys_apply(d->stack, &d->cfg.keys); /* TCP-AO master keys (keys.h) */
	if (r != 0) {
		log_err("cannot use the TCP-AO keys: %s", tcp_strerror(r));
		return r;
	}
	if (d->cfg.keys.n)
		log_info("TCP-AO: %u key(s) loaded", d->cfg.keys.n);
	r = udp_start(d, on_datagram, d);
	if (r != 0)
		return r;
	d->bridges->route = d->route;
	uv_timer_init(d->loop, &l->timer);
	uv_prepare_init(d->loop, &l->prep);
	uv_check_init(d->loop, &l->check);
	l->timer.data = l->prep.data = l->check.data = d;
	uv_prepare_start(&l->prep, on_prepare);
	uv_check_start(&l->check, on_check);
	l->handles_open = 1;
	return 0;
}

void loop_stop(struct toud *d)
{
	struct loop *l = d->drv;
	if (d->bridges)
		bridge_close_all(d->bridges);
	udp_stop(d->udp);
	if (!l || !l->handles_open)
		return;
	l->handles_open = 0;
	/* embedded in *l: freed by loop_free() after uv_run ran the closes */
	uv_close((uv_handle_t *)&l->timer, NULL);
	uv_close((uv_handle_t *)&l->prep, NULL);
	uv_close((uv_handle_t *)&l->check, NULL);
}

void loop_free(struct toud *d)
{
	tcp_stack_free(d->stack);
	d->stack = NULL;
	udp_free(d->udp);
	d->udp = NULL;
	if (d->bridges) {
		bridge_set_free(d->bridges);
		free(d->bridges);
		d->bridges = NULL;
	}
	free(d->drv);
	d->drv = NULL;
}

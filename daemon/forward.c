/*
 * forward.c - [forward NAME] and [service NAME]: kernel TCP connections
 * joined to tou connections by bridges (forward.h).
 */
#include "forward.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "bridge.h"
#include "endpoint.h"
#include "log.h"
#include "resolve.h"
#include "shard.h"
#include "udp.h"
#include "usage.h"

/* One forward or service. */
struct fwd_entry {
	struct fwd_set *fs;
	int is_service;
	char via[FWD_NAME_MAX + 16];    /* "forward web": bridge.via */
	struct fwd_forward_conf f;      /* is_service 0 */
	struct fwd_service_conf s;      /* is_service 1 */
	uv_tcp_t server;                /* forward: the kernel listener */
	int server_open;
	struct tcp_owner owner;         /* service: the engine listener's user pointer */
	struct tcp_listener *tl;
	uint64_t connections, refused, bytes_out, bytes_in; /* out: towards the tou peer */
	struct fconn *conns;
	struct fwd_entry *next;
};

/* One forwarded connection: the bridge's owner_data, freed when the
 * bridge ended and no libuv request of ours is pending. */
struct fconn {
	struct fwd_entry *e;
	struct bridge *b;               /* NULL before bridge_connect and once ended */
	struct lstream *ls;             /* the side not yet attached (a forward's client; a service's target) */
	struct resolve_req *rr;
	int resolving;
	uv_connect_t creq;              /* service: connecting to the target */
	int connecting;
	struct fconn *next, *prev;
};

struct fwd_set {
	struct toud *d;
	struct shard *sh;               /* the engine shard its connections live on */
	struct fwd_entry *entries;
	void (*end_hook)(void *arg, struct bridge *b, int err);
	void *end_arg;
	int stopped;
};

static void fconn_link(struct fconn *c)
{
	struct fwd_entry *e = c->e;
	c->prev = NULL;
	c->next = e->conns;
	if (e->conns)
		e->conns->prev = c;
	e->conns = c;
}

static void fconn_unlink(struct fconn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->e->conns == c)
		c->e->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

/* A bridge ended: its connection (NULL if none), its bytes counted, the
 * API's end record kept, b and c parted. */
static struct fconn *take_ended(struct bridge *b, int err)
{
	struct fconn *c = b->owner_data;
	b->owner_data = NULL;
	if (!c)
		return NULL;
	c->b = NULL;
	struct fwd_entry *e = c->e;
	struct tcp_conn_info i;
	if (b->tc && tcp_conn_info(b->tc, &i) == 0) {
		e->bytes_out += i.bytes_acked;
		e->bytes_in += i.bytes_received;
	}
	if (e->fs->end_hook)
		e->fs->end_hook(e->fs->end_arg, b, err);
	return c;
}

/* ---- [forward]: kernel client -> tou peer ---- */

static void forward_refuse(struct fconn *c, const char *why)
{
	struct fwd_entry *e = c->e;
	e->refused++;
	log_info("%s: connection refused: %s (the client gets RST)", e->via, why);
	if (c->ls)
		lstream_close(c->ls, 1); /* SO_LINGER 0: the client sees RST */
	c->ls = NULL;
	fconn_unlink(c);
	free(c);
}

static void fwd_opened(struct bridge *b)
{
	struct fconn *c = b->owner_data;
	if (!c || !c->ls)
		return;
	struct lstream *ls = c->ls;
	uv_tcp_nodelay(&ls->u.tcp, 1); /* the engine already batches; never delay the app's bytes again */
	if (bridge_attach(b, ls, NULL, 0, 0) != 0) {
		bridge_reset(b); /* ended follows and closes ls with RST */
		return;
	}
	c->ls = NULL;
	log_debug("%s: conn %" PRIu64 " open", c->e->via, b->id);
}

static void fwd_ended(struct bridge *b, int err)
{
	struct fconn *c = take_ended(b, err);
	if (!c)
		return;
	if (c->ls) { /* never opened: the tou peer refused, timed out, ... */
		char why[400];
		snprintf(why, sizeof why, "%s:%u %s", c->e->f.host, c->e->f.port, bridge_end_reason(err));
		forward_refuse(c, why);
		return;
	}
	fconn_unlink(c);
	free(c);
}

static const struct bridge_ops fwd_ops = { fwd_opened, fwd_ended };

static void fwd_resolved(void *arg, int status, const struct tcp_endpoint *ep)
{
	struct fconn *c = arg;
	struct fwd_entry *e = c->e;
	struct shard *sh = e->fs->sh;
	c->rr = NULL;
	c->resolving = 0;
	char why[400];
	if (status != 0) {
		snprintf(why, sizeof why, "cannot resolve \"%s\": %s", e->f.host, uv_strerror(status));
		forward_refuse(c, why);
		return;
	}
	if (!udp_have_family(sh->udp, ep->family)) {
		snprintf(why, sizeof why, "no IPv%d UDP socket to reach %s", ep->family, e->f.host);
		forward_refuse(c, why);
		return;
	}
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	o.nodelay = e->f.nodelay;
	o.keepalive = e->f.keepalive;
	o.timeout = e->f.timeout;
	struct bridge *b = NULL;
	int r = bridge_connect(sh->bridges, sh->stack, ep, e->f.port, &o, -1, &fwd_ops, e->fs, c, &b);
	if (r != 0) {
		snprintf(why, sizeof why, "cannot open a connection: %s", tcp_strerror(r));
		forward_refuse(c, why);
		return;
	}
	b->via = e->via;
	c->b = b;
}

static void on_kernel_connection(uv_stream_t *server, int status)
{
	struct fwd_entry *e = server->data;
	struct toud *d = e->fs->d;
	struct shard *sh = e->fs->sh;
	if (status < 0) {
		log_warn("%s: accept: %s", e->via, uv_strerror(status));
		return;
	}
	struct lstream *ls = lstream_new(sh->loop, 1, &sh->bridges->pool);
	if (!ls)
		return; /* out of memory: it stays in the kernel's queue */
	if (uv_accept(server, &ls->u.s) != 0) {
		lstream_close(ls, 0);
		return;
	}
	e->connections++;
	struct fconn *c = calloc(1, sizeof *c);
	if (!c) {
		e->refused++;
		lstream_close(ls, 1);
		return;
	}
	c->e = e;
	c->ls = ls;
	fconn_link(c);
	if (d->stopping || usage_total(d->usage) >= d->cfg.max_connections) {
		forward_refuse(c, d->stopping ? "daemon is stopping" : "max_connections reached");
		return;
	}
	int usable = (udp_have_family(sh->udp, 4) ? RESOLVE_V4 : 0) | (udp_have_family(sh->udp, 6) ? RESOLVE_V6 : 0);
	c->resolving = 1;
	int r = resolve_start(sh->loop, e->f.host, e->f.udp_port, usable, fwd_resolved, c, &c->rr);
	if (r != 0) {
		c->resolving = 0;
		char why[400];
		snprintf(why, sizeof why, "cannot resolve \"%s\": %s", e->f.host, uv_strerror(r));
		forward_refuse(c, why);
	}
	/* a literal answered already (fwd_resolved ran; c may be gone) */
}

static int forward_open(struct fwd_entry *e)
{
	int r = uv_tcp_init(e->fs->sh->loop, &e->server);
	if (r != 0)
		return r;
	e->server.data = e;
	e->server_open = 1;
	r = uv_tcp_bind(&e->server, (const struct sockaddr *)&e->f.listen, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&e->server, 511, on_kernel_connection);
	return r;
}

/* ---- [service]: tou peer -> target ---- */

static void svc_target_connected(uv_connect_t *req, int status)
{
	struct fconn *c = req->data;
	c->connecting = 0;
	if (!c->b) { /* the tou side ended meanwhile: svc_ended closed ls */
		free(c);
		return;
	}
	struct bridge *b = c->b;
	struct lstream *ls = c->ls;
	if (status == 0 && bridge_attach(b, ls, NULL, 0, 0) == 0) {
		c->ls = NULL;
		if (ls->is_tcp)
			uv_tcp_nodelay(&ls->u.tcp, 1);
		log_debug("%s: conn %" PRIu64 " open", c->e->via, b->id);
		return;
	}
	c->e->refused++;
	log_info("%s: conn %" PRIu64 ": target %s: %s (the tou peer gets RST)", c->e->via, b->id, c->e->s.to_text,
		 status ? uv_strerror(status) : "out of memory");
	c->ls = NULL;
	lstream_close(ls, 0);
	bridge_reset(b); /* the tou peer sees RST, as a kernel client sees a refusal */
}

static void svc_opened(struct bridge *b)
{
	struct fconn *c = b->owner_data;
	if (!c || c->ls || c->connecting)
		return;
	struct fwd_entry *e = c->e;
	struct shard *sh = e->fs->sh;
	struct lstream *ls = lstream_new(sh->loop, !e->s.to_unix, &sh->bridges->pool);
	if (!ls) {
		e->refused++;
		bridge_reset(b);
		return;
	}
	c->ls = ls;
	c->creq.data = c;
	c->connecting = 1;
	if (e->s.to_unix) {
		uv_pipe_connect(&c->creq, &ls->u.pipe, e->s.to_path, svc_target_connected);
		return;
	}
	int r = uv_tcp_connect(&c->creq, &ls->u.tcp, (const struct sockaddr *)&e->s.to, svc_target_connected);
	if (r != 0) {
		c->connecting = 0;
		e->refused++;
		log_info("%s: conn %" PRIu64 ": target %s: %s (the tou peer gets RST)", e->via, b->id, e->s.to_text,
			 uv_strerror(r));
		c->ls = NULL;
		lstream_close(ls, 0);
		bridge_reset(b);
	}
}

static void svc_ended(struct bridge *b, int err)
{
	struct fconn *c = take_ended(b, err);
	if (!c)
		return;
	fconn_unlink(c);
	struct lstream *ls = c->ls;
	c->ls = NULL;
	int pending = c->connecting;
	if (!pending)
		free(c);
	if (ls)
		lstream_close(ls, 0); /* a pending connect is cancelled; its callback frees c */
}

static const struct bridge_ops svc_ops = { svc_opened, svc_ended };

/* TCP_EV_ACCEPTED: a bridge (PARKED; svc_opened connects the target) or
 * a refusal at once, as api_listen.c does: the engine allows tcp_abort
 * and tcp_release from inside its callbacks; no daemon object exists for
 * the connection yet. */
static void on_service_event(struct tcp_owner *o, struct tcp_conn *tc, enum tcp_event ev, int err)
{
	(void)err;
	struct fwd_entry *e = TOUD_CONTAINER_OF(o, struct fwd_entry, owner);
	if (ev != TCP_EV_ACCEPTED)
		return;
	struct toud *d = e->fs->d;
	struct shard *sh = e->fs->sh;
	struct tcp_conn_info info;
	const char *why = NULL;
	struct fconn *c = NULL;
	struct bridge *b = NULL;
	e->connections++;
	if (tcp_conn_info(tc, &info) != 0)
		why = "no connection information";
	else if (!fwd_allowed(&e->s, info.remote.family, info.remote.addr))
		why = "not in its allow list";
	else if (usage_total(d->usage) >= d->cfg.max_connections)
		why = "max_connections reached";
	else if (!(c = calloc(1, sizeof *c)))
		why = "out of memory";
	else if (!(b = bridge_accepted(sh->bridges, tc, -1, &svc_ops, e->fs, c)))
		why = "out of memory";
	if (why) {
		free(c);
		e->refused++;
		char rem[96] = "?";
		endpoint_format(&info.remote, rem, sizeof rem);
		log_peer(LOG_LVL_WARNING, info.remote.addr, info.remote.family == 6 ? 16 : 4, toud_now(),
			 "%s: connection from %s/%u refused: %s", e->via, rem, info.remote_port, why);
		tcp_abort(tc, toud_now());
		tcp_release(tc, toud_now());
		return;
	}
	c->e = e;
	c->b = b;
	b->via = e->via;
	fconn_link(c);
}

/* ---- the set ---- */

/* One shard's set (docs/DESIGN.md section 5.8): every shard has every
 * entry, in the same order; a [forward]'s kernel listener is shard 0's
 * (its connections live there), a [service] listens on every shard's
 * engine (the SYNs steered to it). */
static int fwd_set_start(struct shard *sh)
{
	struct toud *d = sh->d;
	struct fwd_set *fs = calloc(1, sizeof *fs);
	if (!fs) {
		log_err("forwards: out of memory");
		return -1;
	}
	fs->d = d;
	fs->sh = sh;
	sh->fwd = fs;
	int first = sh->idx == 0;
	const struct fwd_conf *fc = &d->cfg.fwd;
	for (unsigned i = 0; i < fc->n_forward + fc->n_service; i++) {
		struct fwd_entry *e = calloc(1, sizeof *e);
		if (!e) {
			log_err("forwards: out of memory");
			return -1;
		}
		e->fs = fs;
		e->next = fs->entries;
		fs->entries = e;
		int r;
		if (i < fc->n_forward) {
			e->f = fc->forward[i];
			snprintf(e->via, sizeof e->via, "forward %s", e->f.name);
			if (!first)
				continue;
			r = forward_open(e);
			if (r != 0) {
				log_err("[forward %s] listen = %s: %s", e->f.name, e->f.listen_text, uv_strerror(r));
				return -1;
			}
			log_notice("%s: listening on %s, to %s", e->via, e->f.listen_text, e->f.to_text);
		} else {
			e->is_service = 1;
			e->s = fc->service[i - fc->n_forward];
			snprintf(e->via, sizeof e->via, "service %s", e->s.name);
			e->owner.event = on_service_event;
			r = tcp_listen(fs->sh->stack, e->s.port, d->cfg.max_backlog, &e->owner, &e->tl);
			if (r != 0) {
				log_err("[service %s] port = %u: %s", e->s.name, e->s.port, tcp_strerror(r));
				return -1;
			}
			if (first)
				log_notice("%s: tou port %u, to %s, allow %s", e->via, e->s.port, e->s.to_text,
				   e->s.n_allow ? e->s.allow_text : "anyone who reaches the UDP port");
		}
	}
	return 0;
}

int forward_start(struct toud *d)
{
	for (unsigned i = 0; i < d->n_shards; i++)
		if (fwd_set_start(&d->shards[i]) != 0)
			return -1;
	d->fwd = d->shards[0].fwd;
	return 0;
}

void forward_set_end_hook(struct fwd_set *fs, void (*hook)(void *arg, struct bridge *b, int err), void *arg)
{
	if (!fs)
		return;
	fs->end_hook = hook;
	fs->end_arg = arg;
}

static void on_server_closed(uv_handle_t *h)
{
	(void)h; /* the entry is freed by forward_free(), after the loop */
}

static void fwd_set_stop(struct fwd_set *fs)
{
	if (!fs || fs->stopped)
		return;
	fs->stopped = 1;
	for (struct fwd_entry *e = fs->entries; e; e = e->next) {
		if (e->server_open) {
			uv_close((uv_handle_t *)&e->server, on_server_closed);
			e->server_open = 0;
		}
		if (e->tl) {
			tcp_unlisten(e->tl, toud_now());
			e->tl = NULL;
		}
		/* connections still resolving their peer's name: reset */
		for (struct fconn *c = e->conns, *n; c; c = n) {
			n = c->next;
			if (c->resolving && c->rr) {
				resolve_cancel(c->rr);
				c->rr = NULL;
				c->resolving = 0;
				forward_refuse(c, "daemon is stopping");
			}
		}
	}
}

void forward_stop(struct fwd_set *fs)
{
	if (!fs)
		return;
	for (unsigned i = 0; i < fs->d->n_shards; i++) { /* each under its shard's lock (shard.h) */
		struct shard *sh = &fs->d->shards[i];
		shard_lock(sh);
		fwd_set_stop(sh->fwd);
		shard_unlock(sh);
	}
}

static void live_bytes(const struct fwd_entry *e, uint64_t *out, uint64_t *in, unsigned *active)
{
	*out = e->bytes_out;
	*in = e->bytes_in;
	*active = 0;
	for (const struct fconn *c = e->conns; c; c = c->next) {
		struct tcp_conn_info i;
		(*active)++;
		if (c->b && c->b->tc && tcp_conn_info(c->b->tc, &i) == 0) {
			*out += i.bytes_acked;
			*in += i.bytes_received;
		}
	}
}

void forward_stats_json(const struct fwd_set *fs, struct sbuf *b)
{
	for (int svc = 0; svc < 2; svc++) {
		sb_printf(b, "%s\"%s\":[", svc ? "," : "", svc ? "services" : "forwards");
		int n = 0;
		unsigned pos = 0;
		for (const struct fwd_entry *e = fs ? fs->entries : NULL; e; e = e->next, pos++) {
			if (e->is_service != svc)
				continue;
			/* the sum of this entry over the shards (same position in
			 * every shard's list), each read under its shard's lock */
			uint64_t out = 0, in = 0, conns = 0, refused = 0;
			unsigned active = 0;
			for (unsigned i = 0; i < fs->d->n_shards; i++) {
				struct shard *sh = &fs->d->shards[i];
				shard_lock(sh);
				const struct fwd_entry *x = sh->fwd ? sh->fwd->entries : NULL;
				for (unsigned k = 0; x && k < pos; k++)
					x = x->next;
				if (x) {
					uint64_t o1, i1;
					unsigned a1;
					live_bytes(x, &o1, &i1, &a1);
					out += o1;
					in += i1;
					active += a1;
					conns += x->connections;
					refused += x->refused;
				}
				shard_unlock(sh);
			}
			sb_printf(b, "%s{\"name\":", n++ ? "," : "");
			sb_json_str(b, svc ? e->s.name : e->f.name);
			sb_printf(b, ",\"connections\":%" PRIu64 ",\"active\":%u,\"refused\":%" PRIu64
				  ",\"bytes_to_peer\":%" PRIu64 ",\"bytes_from_peer\":%" PRIu64 "}",
				  conns, active, refused, out, in);
		}
		sb_printf(b, "]");
	}
}

static void fwd_set_free(struct fwd_set *fs)
{
	if (!fs)
		return;
	while (fs->entries) {
		struct fwd_entry *e = fs->entries;
		fs->entries = e->next;
		while (e->conns) { /* bridges were released by bridge_close_all() */
			struct fconn *c = e->conns;
			fconn_unlink(c);
			if (!c->connecting)
				free(c);
		}
		free(e);
	}
	free(fs);
}

void forward_free(struct toud *d)
{
	for (unsigned i = 0; i < d->n_shards; i++) {
		fwd_set_free(d->shards[i].fwd);
		d->shards[i].fwd = NULL;
	}
	d->fwd = NULL;
}

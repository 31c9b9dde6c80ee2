/*
 * forward.c - [forward NAME] and [service NAME]: kernel TCP connections
 * joined to tou connections by bridges (forward.h).
 */
#include "forward.h"
#include "forward_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "bridge.h"
#include "endpoint.h"
#include "keys.h"
#include "log.h"
#include "resolve.h"
#include "shard.h"
#include "udp.h"
#include "usage.h"

/* One forwarded connection: the bridge's owner_data, freed when the
 * bridge ended and no libuv request of ours is pending. */
struct fconn {
	struct fwd_entry *e;
	struct bridge *b;               /* NULL before bridge_connect and once ended */
	struct lstream *ls;             /* the side not yet attached (a forward's client; a service's target) */
	struct resolve_req *rr;
	int resolving;
	uint16_t port;                  /* forward: the tou port, as configured when accepted */
	struct tcp_conn_opts opts;      /* forward: likewise */
	uv_connect_t creq;              /* service: connecting to the target */
	int connecting;
	struct fconn *next, *prev;
};

/* A removed entry goes once nothing refers to it: no connection (its
 * bridges' via), no closing handle.  After forward_stop(), forward_free()
 * frees every entry instead. */
static void entry_maybe_free(struct fwd_entry *e)
{
	struct fwd_set *fs = e->fs;
	if (!e->retired || e->conns || e->server_closing || fs->stopped)
		return;
	struct fwd_entry **pp = &fs->entries;
	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	log_debug("%s: removed entry freed (its last connection ended)", e->via);
	free(e);
}

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

/* A connection is over for its entry: unlinked (and freed unless a
 * libuv request of ours still refers to it); a removed entry may go. */
static void fconn_done(struct fconn *c, int keep)
{
	struct fwd_entry *e = c->e;
	fconn_unlink(c);
	if (!keep)
		free(c);
	entry_maybe_free(e);
}

/* A bridge ended: its connection (NULL if none), its bytes counted, the
 * API's end record kept, b and c parted (b's via, which points into the
 * entry, is dropped: the end record has a copy). */
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
	b->via = NULL;
	return c;
}

/* ---- forward: kernel client -> tou peer ---- */

static void forward_refuse(struct fconn *c, const char *why)
{
	struct fwd_entry *e = c->e;
	e->refused++;
	log_info("%s: connection refused: %s (the client gets RST)", e->via, why);
	if (c->ls)
		lstream_close(c->ls, 1); /* SO_LINGER 0: the client sees RST */
	c->ls = NULL;
	fconn_done(c, 0);
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
		snprintf(why, sizeof why, "%s:%u %s", c->e->f.host, c->port, bridge_end_reason(err));
		forward_refuse(c, why);
		return;
	}
	fconn_done(c, 0);
}

static const struct bridge_ops fwd_ops = { fwd_opened, fwd_ended };

static void fwd_resolved(void *arg, int status, const struct tcp_endpoint *ep)
{
	struct fconn *c = arg;
	struct fwd_entry *e = c->e;
	struct toud *d = e->fs->d;
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
	if (usage_peer(d->usage, ep) >= d->cfg.max_per_peer) {
		snprintf(why, sizeof why, "max_per_peer (%u) connections to %s", d->cfg.max_per_peer, e->f.host);
		forward_refuse(c, why);
		return;
	}
	struct bridge *b = NULL;
	int r = bridge_connect(sh->bridges, sh->stack, ep, c->port, &c->opts, e->uid, &fwd_ops, e->fs, c, &b);
	if (r != 0) {
		snprintf(why, sizeof why, "cannot open a connection: %s%s", tcp_strerror(r),
			 r == TCP_ENOKEY ? " (ao: no [key] matches the peer)" : "");
		forward_refuse(c, why);
		return;
	}
	b->via = e->via;
	c->b = b;
}

/* The per-connection options of a forward (tcp_conn_opts): 0, or -1 when
 * its ao key is gone from the configuration. */
static int forward_opts(const struct fwd_entry *e, struct tcp_conn_opts *o)
{
	const struct toud *d = e->fs->d;
	struct tcp_conn_opts def = TCP_CONN_OPTS_DEFAULT;
	*o = def;
	o->nodelay = e->f.nodelay;
	o->keepalive = e->f.keepalive;
	o->timeout = e->f.timeout;
	if (e->f.ao_required) {
		o->ao = TCP_AO_REQUIRED;
		if (e->f.ao_key[0]) {
			int ki = keys_find(&d->cfg.keys, e->f.ao_key);
			if (ki < 0)
				return -1;
			o->ao_key = (unsigned)ki + 1;
		}
	}
	return 0;
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
	c->port = e->f.port;
	fconn_link(c);
	if (d->stopping || usage_total(d->usage) >= d->cfg.max_connections) {
		forward_refuse(c, d->stopping ? "daemon is stopping" : "max_connections reached");
		return;
	}
	if (forward_opts(e, &c->opts) != 0) {
		char why[200];
		snprintf(why, sizeof why, "ao: no [key %s] in the configuration", e->f.ao_key);
		forward_refuse(c, why);
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

static void on_server_closed(uv_handle_t *h)
{
	struct fwd_entry *e = h->data;
	e->server_closing = 0;
	entry_maybe_free(e);
}

static void forward_close_server(struct fwd_entry *e)
{
	if (!e->server_open)
		return;
	e->server_open = 0;
	e->server_closing = 1;
	uv_close((uv_handle_t *)&e->server, on_server_closed); /* the socket is closed now: its address is free */
}

/* listen = ADDR:0 (FORWARD through the API): the port the kernel picked,
 * into the entry's address and text (what OK, STATS and the log say).
 * 0 or a libuv code. */
static int learn_port(struct fwd_entry *e)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	int r = uv_tcp_getsockname(&e->server, (struct sockaddr *)&ss, &len);
	if (r != 0)
		return r;
	e->f.listen = ss;
	char host[INET6_ADDRSTRLEN];
	int v6 = ss.ss_family == AF_INET6;
	const void *a = v6 ? (const void *)&((const struct sockaddr_in6 *)&ss)->sin6_addr
			   : (const void *)&((const struct sockaddr_in *)&ss)->sin_addr;
	unsigned port = ntohs(((const struct sockaddr_in *)&ss)->sin_port); /* sin6_port: same offset */
	if (!inet_ntop(ss.ss_family, a, host, sizeof host))
		return UV_EINVAL;
	snprintf(e->f.listen_text, sizeof e->f.listen_text, v6 ? "[%s]:%u" : "%s:%u", host, port);
	return 0;
}

/* 0, or a libuv code (the listener is closed again then). */
static int forward_open(struct fwd_entry *e)
{
	struct shard *sh = e->fs->sh;
	int r = uv_tcp_init(sh->loop, &e->server);
	if (r != 0)
		return r;
	e->server.data = e;
	e->server_open = 1;
	r = uv_tcp_bind(&e->server, (const struct sockaddr *)&e->f.listen, 0);
	/* the kernel's accept queue, as long as a service's ([limits]
	 * max_backlog; the kernel lowers it to net.core.somaxconn) */
	if (r == 0)
		r = uv_listen((uv_stream_t *)&e->server, (int)e->fs->d->cfg.max_backlog, on_kernel_connection);
	if (r == 0 && ((const struct sockaddr_in *)&e->f.listen)->sin_port == 0)
		r = learn_port(e);
	if (r != 0)
		forward_close_server(e);
	return r;
}

const char *forward_listen_text(const struct fwd_entry *e)
{
	return e->f.listen_text;
}

/* ---- service: tou peer -> target ---- */

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
	struct lstream *ls = c->ls;
	c->ls = NULL;
	fconn_done(c, c->connecting); /* a pending connect's callback frees c */
	if (ls)
		lstream_close(ls, 0); /* a pending connect is cancelled */
}

static const struct bridge_ops svc_ops = { svc_opened, svc_ended };

/* Live connections of this service from that peer. */
static unsigned service_count_peer(const struct fwd_entry *e, const struct tcp_endpoint *ep)
{
	unsigned n = 0;
	size_t al = ep->family == 6 ? 16 : 4;
	for (const struct fconn *c = e->conns; c; c = c->next)
		n += c->b && c->b->remote.family == ep->family && memcmp(c->b->remote.addr, ep->addr, al) == 0;
	return n;
}

/* ao = KEY: was the connection made with that [key]?  (A peer's SendID is
 * our RecvID; (peer, RecvID) names one MKT, RFC 5925 3.1.) */
static int service_key_ok(const struct fwd_entry *e, const struct tcp_conn_info *info)
{
	if (!e->s.ao_key[0])
		return 1;
	const struct toud_keys *ks = &e->fs->d->cfg.keys;
	int ki = keys_find(ks, e->s.ao_key);
	if (ki < 0 || !info->ao)
		return 0;
	const struct tcp_ao_key *k = &ks->key[ki].k;
	struct tcp_prefix p = { .family = k->family, .len = k->prefix_len };
	memcpy(p.addr, k->addr, sizeof p.addr);
	return info->ao_send_id == k->send_id && tcp_prefix_match(&p, info->remote.family, info->remote.addr);
}

/* TCP_EV_ACCEPTED: a bridge (PARKED; svc_opened connects the target) or
 * a refusal at once, as api_listen.c does: the engine allows tcp_abort
 * and tcp_release from inside its callbacks; no daemon object exists for
 * the connection yet.  The allow list and ao = required were the
 * engine's (before a TCB existed). */
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
	unsigned per_peer = e->s.max_per_peer ? e->s.max_per_peer : d->cfg.max_per_peer;
	e->connections++;
	if (tcp_conn_info(tc, &info) != 0)
		why = "no connection information";
	else if (!service_key_ok(e, &info))
		why = "not made with its ao key";
	else if (usage_total(d->usage) >= d->cfg.max_connections)
		why = "max_connections reached";
	else if (service_count_peer(e, &info.remote) >= per_peer)
		why = "its max_per_peer reached";
	else if (usage_peer(d->usage, &info.remote) >= d->cfg.max_per_peer)
		why = "[limits] max_per_peer reached";
	else if (!(c = calloc(1, sizeof *c)))
		why = "out of memory";
	else if (!(b = bridge_accepted(sh->bridges, tc, e->uid, &svc_ops, e->fs, c)))
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

/* The allow list and the TCP-AO policy of a service's engine listener. */
int fwd_service_policy(struct fwd_entry *e)
{
	int r = tcp_listener_set_allow(e->tl, e->s.allow, e->s.n_allow, 1);
	if (r == 0)
		r = tcp_listener_set_ao(e->tl, e->s.ao_required ? TCP_AO_REQUIRED : TCP_AO_OPTIONAL);
	return r;
}

static void service_unlisten(struct fwd_entry *e)
{
	if (!e->tl)
		return;
	struct tcp_listener_counters lc = { 0, 0 };
	tcp_listener_get_counters(e->tl, &lc); /* e->tl is valid: cannot fail */
	e->engine.denied += lc.denied;
	e->engine.ao_dropped += lc.ao_dropped;
	tcp_unlisten(e->tl, toud_now()); /* its half-open connections are reset */
	e->tl = NULL;
	shard_pin_port(e->fs->d, e->s.port, 0);
}

/* 0, or a tcp_* code (nothing listens then). */
static int service_open(struct fwd_entry *e)
{
	struct toud *d = e->fs->d;
	struct shard *sh = e->fs->sh;
	e->owner.event = on_service_event;
	int r = tcp_listen(sh->stack, e->s.port, d->cfg.max_backlog, &e->owner, &e->tl);
	if (r == 0) /* with several shards, its SYNs must reach shard 0 (shard.h) */
		shard_pin_port(d, e->s.port, 1);
	if (r == 0 && (r = fwd_service_policy(e)) != 0)
		service_unlisten(e);
	return r;
}

/* ---- entries ---- */

struct fwd_entry *fwd_entry_new(struct fwd_set *fs, const struct fwd_forward_conf *f,
				const struct fwd_service_conf *s, long long uid)
{
	struct fwd_entry *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->fs = fs;
	e->uid = uid;
	if (f) {
		e->f = *f;
		snprintf(e->via, sizeof e->via, "forward %s", f->name);
	} else {
		e->is_service = 1;
		e->s = *s;
		snprintf(e->via, sizeof e->via, "service %s", s->name);
	}
	return e;
}

const char *fwd_entry_name(const struct fwd_entry *e)
{
	return e->is_service ? e->s.name : e->f.name;
}

int fwd_entry_open(struct fwd_entry *e, char *err, size_t errlen)
{
	int r;
	if (!e->is_service) {
		r = forward_open(e);
		if (r != 0) {
			snprintf(err, errlen, "[forward %s] listen = %s: %s", e->f.name, e->f.listen_text, uv_strerror(r));
			return r; /* libuv codes are negative errnos */
		}
		log_notice("%s: listening on %s, to %s%s", e->via, e->f.listen_text, e->f.to_text,
			   e->f.ao_required ? ", TCP-AO" : "");
	} else {
		r = service_open(e);
		if (r != 0) {
			snprintf(err, errlen, "[service %s] port = %u: %s", e->s.name, e->s.port, tcp_strerror(r));
			return r == TCP_EADDRINUSE ? -EADDRINUSE : r == TCP_ENOMEM ? -ENOMEM : -EINVAL;
		}
		log_notice("%s: tou port %u, to %s, allow %s%s", e->via, e->s.port, e->s.to_text,
			   e->s.n_allow ? e->s.allow_text : "anyone who reaches the UDP port",
			   e->s.ao_required ? ", TCP-AO required" : "");
	}
	e->next = e->fs->entries;
	e->fs->entries = e;
	return 0;
}

void fwd_entry_discard(struct fwd_entry *e)
{
	e->retired = 1;
	entry_maybe_free(e);
}

void fwd_entry_retire(struct fwd_entry *e, const char *why)
{
	if (e->retired)
		return;
	e->retired = 1;
	forward_close_server(e);
	service_unlisten(e);
	unsigned live = 0;
	for (const struct fconn *c = e->conns; c; c = c->next)
		live++;
	log_notice("%s: %s: listener closed; %u live connection(s) go on until they end", e->via, why, live);
	entry_maybe_free(e);
}

int forward_start(struct toud *d)
{
	struct fwd_set *fs = calloc(1, sizeof *fs);
	if (!fs) {
		log_err("forwards: out of memory");
		return -1;
	}
	fs->d = d;
	fs->sh = &d->shards[0];
	d->fwd = fs;
	const struct fwd_conf *fc = &d->cfg.fwd;
	for (unsigned i = 0; i < fc->n_forward + fc->n_service; i++) {
		int svc = i >= fc->n_forward;
		struct fwd_entry *e = svc ? fwd_entry_new(fs, NULL, &fc->service[i - fc->n_forward], -1)
					  : fwd_entry_new(fs, &fc->forward[i], NULL, -1);
		char err[400];
		if (!e) {
			log_err("forwards: out of memory");
			return -1;
		}
		if (fwd_entry_open(e, err, sizeof err) != 0) {
			log_err("%s", err);
			fwd_entry_discard(e);
			return -1;
		}
	}
	return 0;
}

int forward_add(struct fwd_set *fs, const struct fwd_forward_conf *f, const struct fwd_service_conf *s,
		long long uid, struct fwd_entry **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!fs || fs->stopped) {
		snprintf(err, errlen, "daemon is stopping");
		return -EINVAL;
	}
	struct fwd_entry *e = fwd_entry_new(fs, f, s, uid);
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->from_api = 1;
	int r = fwd_entry_open(e, err, errlen);
	if (r != 0) {
		fwd_entry_discard(e);
		return r;
	}
	*out = e;
	return 0;
}

void forward_remove(struct fwd_entry *e)
{
	if (e)
		fwd_entry_retire(e, "its API client went away");
}

void forward_set_end_hook(struct fwd_set *fs, void (*hook)(void *arg, struct bridge *b, int err), void *arg)
{
	if (!fs)
		return;
	fs->end_hook = hook;
	fs->end_arg = arg;
}

void forward_stop(struct fwd_set *fs)
{
	if (!fs || fs->stopped)
		return;
	for (struct fwd_entry *e = fs->entries; e; e = e->next) {
		forward_close_server(e);
		service_unlisten(e);
	}
	fs->stopped = 1; /* from here on forward_free() frees the entries */
	for (struct fwd_entry *e = fs->entries; e; e = e->next) {
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
		for (const struct fwd_entry *e = fs ? fs->entries : NULL; e; e = e->next) {
			if (e->is_service != svc || e->retired)
				continue;
			uint64_t out, in;
			unsigned active;
			live_bytes(e, &out, &in, &active);
			struct tcp_listener_counters lc = e->engine;
			struct tcp_listener_counters now;
			if (e->tl && tcp_listener_get_counters(e->tl, &now) == 0) {
				lc.denied += now.denied;
				lc.ao_dropped += now.ao_dropped;
			}
			sb_printf(b, "%s{\"name\":", n++ ? "," : "");
			sb_json_str(b, fwd_entry_name(e));
			if (svc)
				sb_printf(b, ",\"port\":%u", e->s.port);
			else {
				sb_printf(b, ",\"listen\":");
				sb_json_str(b, e->f.listen_text);
			}
			sb_printf(b, ",\"to\":");
			sb_json_str(b, svc ? e->s.to_text : e->f.to_text);
			if (e->from_api)
				sb_printf(b, ",\"uid\":%lld", e->uid);
			sb_printf(b, ",\"connections\":%" PRIu64 ",\"active\":%u,\"refused\":%" PRIu64, e->connections,
				  active, e->refused + lc.denied + lc.ao_dropped);
			if (svc)
				sb_printf(b, ",\"refused_allow\":%" PRIu64 ",\"refused_ao\":%" PRIu64, lc.denied,
					  lc.ao_dropped);
			sb_printf(b, ",\"bytes_to_peer\":%" PRIu64 ",\"bytes_from_peer\":%" PRIu64 "}", out, in);
		}
		sb_printf(b, "]");
	}
}

void forward_free(struct toud *d)
{
	struct fwd_set *fs = d->fwd;
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
	d->fwd = NULL;
}

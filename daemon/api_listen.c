/*
 * api_listen.c - LISTEN and ACCEPT (docs/API.md): a listener per port,
 * its accept queue of PARKED bridges and its queue of ACCEPT clients.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "endpoint.h"
#include "log.h"
#include "shard.h"
#include "usage.h"

static struct listener *find_listener(const struct api *a, uint16_t port)
{
	for (struct listener *l = a->listeners; l; l = l->next)
		if (l->port == port)
			return l;
	return NULL;
}

static int port_allowed(const struct client *cl, uint16_t port)
{
	return port >= cl->api->d->cfg.privileged_ports || cl->uid == 0;
}

/* The accept queues of a listener and its mirrors hold `backlog` bridges
 * together (docs/API.md), whichever shards accepted them: each shard
 * reserves its place in the primary's count before it queues one. */
static void count_queued(struct listener *l, int delta)
{
	if (delta > 0)
		__atomic_fetch_add(&l->primary->queued_all, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_sub(&l->primary->queued_all, 1, __ATOMIC_RELAXED);
}

/* 1 if l (a listener or a mirror) may queue one more accepted connection
 * (counted then): the queues are below the backlog, or ACCEPTs wait that
 * will take it at once. */
static int reserve_queued(struct listener *l)
{
	struct listener *p = l->primary;
	unsigned before = __atomic_fetch_add(&p->queued_all, 1, __ATOMIC_RELAXED);
	if (before < l->backlog || __atomic_load_n(&p->waiting_all, __ATOMIC_RELAXED))
		return 1;
	count_queued(l, -1);
	return 0;
}

void waiter_remove(struct client *cl)
{
	struct listener *l = cl->waiting_on;
	if (!l)
		return;
	fifo_remove(&l->waiters, &cl->wlink);
	__atomic_fetch_sub(&l->waiting_all, 1, __ATOMIC_RELAXED);
	cl->waiting_on = NULL;
}

static struct client *first_waiter(struct listener *l)
{
	return l->waiters.head ? FIFO_ENTRY(l->waiters.head, struct client, wlink) : NULL;
}

void accept_queue_remove(struct bridge *b)
{
	struct listener *l = b->owner_data;
	if (!l)
		return;
	fifo_remove(&l->queue, &b->owner_link);
	count_queued(l, -1);
	b->owner_data = NULL;
}

static struct bridge *first_accepted(struct listener *l)
{
	return l->queue.head ? FIFO_ENTRY(l->queue.head, struct bridge, owner_link) : NULL;
}

unsigned listener_queued(const struct listener *l)
{
	return __atomic_load_n(&l->primary->queued_all, __ATOMIC_RELAXED);
}

/* ACCEPT on shard 0 with nothing in l's own queue: the first mirror with
 * a connection waiting takes the client (moved to its shard, shard.h)
 * and hands it that connection.  1 if so (cl is gone then). */
static int take_from_mirrors(struct client *cl, struct listener *l)
{
	for (unsigned i = 1; i < l->api->d->n_shards; i++) {
		struct listener *m = l->mirrors[i];
		if (!m)
			continue;
		struct shard *sh = m->api->sh;
		shard_lock(sh);
		struct bridge *b = first_accepted(m);
		if (!b) {
			shard_unlock(sh);
			continue;
		}
		waiter_remove(cl);
		accept_queue_remove(b);
		struct client *n = client_move(cl, m->api);
		if (n) {
			n->phase = CL_ACCEPT_WAIT;
			client_handover(n, b);
		} else { /* cl was answered ERR: the connection waits for the next ACCEPT */
			b->owner_data = m;
			fifo_push(&m->queue, &b->owner_link);
			count_queued(m, 1);
		}
		shard_unlock(sh);
		return 1;
	}
	return 0;
}

void listener_close(struct listener *l)
{
	struct api *a = l->api;
	for (unsigned i = 1; i < a->d->n_shards; i++) { /* the mirrors first, each under its shard's lock */
		struct listener *m = l->mirrors[i];
		if (!m)
			continue;
		l->mirrors[i] = NULL;
		struct shard *sh = m->api->sh;
		shard_lock(sh);
		listener_close(m); /* frees m */
		shard_unlock(sh);
	}
	struct listener **pp = &a->listeners;
	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp)
		*pp = l->next;
	if (!l->is_mirror)
		log_info("listener on port %u closed", l->port);
	tcp_unlisten(l->tl, toud_now());
	struct client *w;
	while ((w = first_waiter(l))) {
		waiter_remove(w);
		client_reply_err(w, TOU_ERR_NOTFOUND, "listener on port %u closed", l->port);
	}
	struct bridge *b;
	while ((b = first_accepted(l))) {
		accept_queue_remove(b);
		bridge_reset(b); /* as a kernel does for its accept queue */
	}
	free(l);
}

void listener_abort(struct client *cl, struct listener *l)
{
	if (l->uid != cl->uid && cl->uid != 0) {
		client_reply_err(cl, TOU_ERR_DENIED, "listener %" PRIu64 " belongs to another user", l->id);
		return;
	}
	log_info("listener %" PRIu64 " (port %u): ABORT by uid %u pid %d", l->id, l->port, (unsigned)cl->uid,
		 (int)cl->pid);
	/* as if its program had closed the LISTEN connection: the listener,
	 * its accept queue and its waiting ACCEPTs end (release hook) */
	client_close(l->holder);
	lstream_printf(cl->ls, "OK");
	client_finish(cl);
}

/* ---- accepted connections ---- */

/* Shard 0, job of a mirror's shard: a connection to port waits in that
 * shard's accept queue; waiting ACCEPT clients take what the mirrors have. */
static void on_accept_ready(struct shard *sh, void *data, size_t len)
{
	(void)len;
	uint16_t port;
	memcpy(&port, data, sizeof port);
	struct listener *l = find_listener(sh->api, port);
	while (l && first_waiter(l)) {
		struct client *w = first_waiter(l);
		if (!take_from_mirrors(w, l))
			break;
	}
}

/* An accepted connection is established: a waiting ACCEPT client takes
 * it, else it stays in the accept queue.  A mirror's: shard 0 (its
 * waiting ACCEPTs) hears of it. */
static void accepted_opened(struct bridge *b)
{
	struct listener *l = b->owner_data;
	if (l && l->is_mirror) {
		if (b->state == BRIDGE_PARKED &&
		    shard_post(&l->api->d->shards[0], on_accept_ready, &l->port, sizeof l->port) != 0)
			log_warn("port %u: out of memory: a connection waits for the next ACCEPT", l->port);
		return;
	}
	struct client *w = l ? first_waiter(l) : NULL;
	if (!w || b->state != BRIDGE_PARKED)
		return;
	waiter_remove(w);
	accept_queue_remove(b);
	client_handover(w, b);
}

static void accepted_ended(struct bridge *b, int err)
{
	conn_ended(b->owner_ctx, b, err);
	accept_queue_remove(b);
}

static const struct bridge_ops accepted_ops = { accepted_opened, accepted_ended };

/* TCP_EV_ACCEPTED: adopt the connection (a PARKED bridge in the accept
 * queue) or refuse it at once.  Refusing calls the engine from inside its
 * callback, which the engine allows (daemon/tcp/README.md "Events are
 * deferred"); no daemon object exists for that connection yet. */
static void on_listener_event(struct tcp_owner *o, struct tcp_conn *tc, enum tcp_event ev, int err)
{
	(void)err;
	struct listener *l = TOUD_CONTAINER_OF(o, struct listener, owner);
	if (ev != TCP_EV_ACCEPTED)
		return;
	struct api *a = l->api;
	const struct toud_config *cfg = &a->d->cfg;
	struct tcp_conn_info info;
	const char *why = NULL;
	if (tcp_conn_info(tc, &info) != 0)
		why = "no connection information";
	else if (usage_total(a->d->usage) >= cfg->max_connections)
		why = "max_connections";
	else if (api_count_peer(a, &info.remote) >= cfg->max_per_peer)
		why = "max_per_peer";
	else if (api_count_uid(a, l->uid) >= cfg->max_per_uid)
		why = "max_per_uid";
	else if (!reserve_queued(l))
		why = "backlog";
	struct bridge *b = why ? NULL : bridge_accepted(a->sh->bridges, tc, (long long)l->uid, &accepted_ops, a, l);
	if (!b && !why)
		count_queued(l, -1); /* its reserved place */
	if (!b) {
		char rem[96];
		endpoint_format(&info.remote, rem, sizeof rem);
		log_peer(LOG_LVL_WARNING, info.remote.addr, info.remote.family == 6 ? 16 : 4, toud_now(),
			 "port %u: connection from %s/%u refused: %s reached", l->port, rem, info.remote_port,
			 why ? why : "out of memory");
		tcp_abort(tc, toud_now());
		tcp_release(tc, toud_now());
		return;
	}
	fifo_push(&l->queue, &b->owner_link);
}

/* ---- verbs ---- */

/* A listener of a's shard's engine for req (port, ao=, allow=): NULL
 * with the engine's code in *err and what failed in *what.  Not linked
 * into a->listeners. */
static struct listener *listener_open(struct api *a, const struct api_request *req, uid_t uid, unsigned backlog,
				      int *err, const char **what)
{
	struct listener *l = calloc(1, sizeof *l);
	if (!l) {
		*err = TCP_ENOMEM;
		*what = "cannot listen";
		return NULL;
	}
	l->owner.event = on_listener_event;
	l->api = a;
	l->primary = l;
	int r = tcp_listen(a->sh->stack, req->port, backlog, &l->owner, &l->tl);
	if (r != 0) {
		free(l);
		*err = r;
		*what = "cannot listen";
		return NULL;
	}
	if (req->ao == API_AO_REQUIRED)
		tcp_listener_set_ao(l->tl, TCP_AO_REQUIRED); /* a valid policy: cannot fail */
	/* allow=: peers outside are refused before a TCB exists */
	if (req->nallow && (r = tcp_listener_set_allow(l->tl, req->allow, req->nallow, !req->refuse_silent)) != 0) {
		tcp_unlisten(l->tl, toud_now());
		free(l);
		*err = r;
		*what = "cannot set the allow list";
		return NULL;
	}
	l->id = tcp_reserve_id(a->sh->stack);
	l->port = req->port;
	l->uid = uid;
	l->backlog = backlog;
	return l;
}

void do_listen(struct client *cl)
{
	struct api *a = cl->api;
	const struct toud_config *cfg = &a->d->cfg;
	uint16_t port = cl->req.port;
	if (!port_allowed(cl, port)) {
		client_reply_err(cl, TOU_ERR_DENIED, "port %u is below %u: only root may listen on it", port,
				 cfg->privileged_ports);
		return;
	}
	if (find_listener(a, port)) {
		client_reply_err(cl, TOU_ERR_INUSE, "port %u is already listened on", port);
		return;
	}
	unsigned backlog = cl->req.has_backlog ? cl->req.backlog : 128;
	if (backlog > cfg->max_backlog)
		backlog = cfg->max_backlog;
	const char *what = NULL;
	int r = 0;
	/* each shard's engine keeps its share of the half-open connections
	 * (tcp_listen's backlog: beyond it, SYN cookies); the accept queues
	 * hold `backlog` together (reserve_queued) */
	unsigned n = a->d->n_shards, half_open = (backlog + n - 1) / n;
	struct listener *l = listener_open(a, &cl->req, cl->uid, half_open, &r, &what);
	if (l)
		l->backlog = backlog;
	/* the mirrors: the same listener on every other shard */
	for (unsigned i = 1; l && i < n; i++) {
		struct shard *sh = &a->d->shards[i];
		shard_lock(sh);
		struct listener *m = listener_open(sh->api, &cl->req, cl->uid, half_open, &r, &what);
		if (m) {
			m->is_mirror = 1;
			m->primary = l;
			m->backlog = backlog;
			l->mirrors[i] = m;
		}
		shard_unlock(sh);
		if (!m) {
			listener_close(l); /* and the mirrors made so far */
			l = NULL;
		}
	}
	if (!l) {
		if (r == TCP_EADDRINUSE)
			client_reply_err(cl, TOU_ERR_INUSE, "port %u is already listened on", port);
		else
			client_reply_err(cl, TOU_ERR_INTERNAL, "%s: %s", what, tcp_strerror(r));
		return;
	}
	for (unsigned i = 1; i < a->d->n_shards; i++)
		l->mirrors[i]->id = l->id;
	l->holder = cl;
	l->next = a->listeners;
	a->listeners = l;
	cl->lst = l;
	cl->phase = CL_LISTENING;
	free(cl->pend); /* LISTEN connections carry no data */
	cl->pend = NULL;
	cl->pend_len = 0;
	lstream_printf(cl->ls, "OK %u", port);
	log_info("listener %" PRIu64 ": listening on port %u for uid %u (backlog %u%s%s)", l->id, port,
		 (unsigned)cl->uid, backlog, cl->req.ao == API_AO_REQUIRED ? ", TCP-AO required" : "",
		 cl->req.nallow ? (cl->req.refuse_silent ? ", allow list, others ignored" : ", allow list, others reset") : "");
	client_read_start(cl); /* notices the client's close (or watches for it after its EOF) */
}

void do_accept(struct client *cl)
{
	struct api *a = cl->api;
	uint16_t port = cl->req.port;
	if (!port_allowed(cl, port)) {
		client_reply_err(cl, TOU_ERR_DENIED, "port %u is below %u: only root may accept on it", port,
				 a->d->cfg.privileged_ports);
		return;
	}
	struct listener *l = find_listener(a, port);
	if (!l) {
		client_reply_err(cl, TOU_ERR_NOTFOUND, "nothing listens on port %u (LISTEN first)", port);
		return;
	}
	if (l->uid != cl->uid && cl->uid != 0) {
		client_reply_err(cl, TOU_ERR_DENIED, "port %u is listened on by another user", port);
		return;
	}
	cl->phase = CL_ACCEPT_WAIT;
	struct bridge *b = first_accepted(l);
	if (b) {
		accept_queue_remove(b);
		client_handover(cl, b);
		return;
	}
	if (take_from_mirrors(cl, l))
		return;
	cl->waiting_on = l;
	fifo_push(&l->waiters, &cl->wlink);
	__atomic_fetch_add(&l->waiting_all, 1, __ATOMIC_RELAXED);
	if (cl->req.has_timeout)
		client_timer_start(cl, (uint64_t)cl->req.timeout_s * 1000, 0);
	client_read_start(cl);
}

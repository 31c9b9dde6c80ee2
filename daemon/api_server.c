/*
 * api_server.c - the Unix-socket API server (client/tou_proto.h,
 * docs/API.md): the listening socket, the dispatch of each request line,
 * the verbs CONNECT, ABORT and VERSION (LISTEN/ACCEPT: api_listen.c;
 * STATUS, LIST, STATS: api_info.c), and the daemon's shutdown.
 *
 * Every API client (api_client.c) sends one request line; the daemon
 * answers one line.  After "OK" to CONNECT or ACCEPT, client_handover()
 * gives the client's stream, and the bytes the app sent before the OK, to
 * the connection's bridge (bridge.c), which carries the TCP stream from
 * then on.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "api_int.h"
#include "api_json.h"
#include "endpoint.h"
#include "forward.h"
#include "log.h"
#include "resolve.h"
#include "tou_addr.h"
#include "shard.h"
#include "udp.h"
#include "usage.h"

/* ---- CONNECT ---- */

static void connect_opened(struct bridge *b)
{
	struct client *cl = b->owner_data;
	if (cl)
		client_handover(cl, b);
}

static void connect_ended(struct bridge *b, int err)
{
	struct api *a = b->owner_ctx;
	conn_ended(a, b, err);
	struct client *cl = b->owner_data;
	if (!cl)
		return;
	b->owner_data = NULL;
	cl->br = NULL;
	char dst[96];
	endpoint_format(&b->remote, dst, sizeof dst);
	if (err == TCP_ECONNREFUSED)
		client_reply_err(cl, TOU_ERR_REFUSED, "connection %" PRIu64 " refused by %s/%u", b->id, dst, b->rport);
	else if (err == TCP_ETIMEDOUT)
		client_reply_err(cl, TOU_ERR_TIMEOUT, "connection %" PRIu64 " to %s/%u timed out", b->id, dst,
				 b->rport);
	else if (err == TCP_EUNREACH) {
		/* the end record (conn_ended) names the ICMP error or errno */
		const struct end_record *e = find_end(a, b->id);
		char why[160] = "";
		if (e)
			conn_error_text(&e->info, why, sizeof why);
		client_reply_err(cl, TOU_ERR_UNREACHABLE, "connection %" PRIu64 " to %s/%u: %s", b->id, dst,
				 b->rport, *why ? why : tcp_strerror(err));
	}
	else if (a->d->stopping)
		client_reply_err(cl, TOU_ERR_SHUTDOWN, "daemon is stopping");
	else
		client_reply_err(cl, TOU_ERR_UNREACHABLE, "connection %" PRIu64 " to %s/%u failed: %s", b->id, dst,
				 b->rport, tcp_strerror(err));
}

static const struct bridge_ops connect_ops = { connect_opened, connect_ended };

/* The directed broadcast addresses of the host's subnets, which CONNECT
 * refuses (RFC 1122 4.2.3.10): read again once they are a second old, so
 * that a CONNECT costs no netlink dump of its own.  An address added within
 * that second is still refused, by the kernel: the SYN's send fails with
 * EACCES and the CONNECT ends "unreachable" all the same. */
static const struct tou_bcast *api_bcast(struct api *a)
{
	tcp_time_t now = toud_now();
	if (!a->bcast_at || now - a->bcast_at >= TCP_SEC(1)) {
		tou_bcast_load(&a->bcast);
		a->bcast_at = now;
	}
	return &a->bcast;
}

static void start_connect(void *arg, int status, const struct tcp_endpoint *ep)
{
	struct client *cl = arg;
	struct api *a = cl->api;
	struct toud *d = a->d;
	struct shard *sh = a->sh;
	cl->rr = NULL;
	if (cl->phase != CL_RESOLVING)
		return; /* answered meanwhile (daemon stopping) */
	if (status != 0) {
		client_reply_err(cl, TOU_ERR_UNREACHABLE, "cannot resolve \"%s\": %s", cl->req.host, uv_strerror(status));
		return;
	}
	const char *why = tou_addr_not_unicast_in(ep->family == 4 ? AF_INET : AF_INET6, ep->addr, api_bcast(a));
	if (why) { /* RFC 1122 4.2.3.10: OPEN to a broadcast or multicast address is an error */
		client_reply_err(cl, TOU_ERR_UNREACHABLE, "%s is %s, not one host", cl->req.host, why);
		return;
	}
	if (!udp_have_family(sh->udp, ep->family)) {
		client_reply_err(cl, TOU_ERR_UNREACHABLE, "no IPv%d UDP socket to reach %s", ep->family, cl->req.host);
		return;
	}
	if (api_count_peer(a, ep) >= d->cfg.max_per_peer) {
		client_reply_err(cl, TOU_ERR_LIMIT, "max_per_peer (%u) connections to this peer", d->cfg.max_per_peer);
		return;
	}
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	if (cl->req.nodelay > 0)
		o.nodelay = 1;
	if (cl->req.keepalive > 0)
		o.keepalive = 1;
	if (cl->req.has_timeout)
		o.timeout = TCP_SEC(cl->req.timeout_s);
	/* TCP-AO (docs/API.md): ao=required, or the [key] to send with */
	if (cl->req.ao == API_AO_REQUIRED) {
		o.ao = TCP_AO_REQUIRED;
	} else if (cl->req.ao == API_AO_KEY) {
		int ki = keys_find(&d->cfg.keys, cl->req.ao_key);
		if (ki < 0) {
			client_reply_err(cl, TOU_ERR_BADREQUEST, "no [key %s] in the configuration", cl->req.ao_key);
			return;
		}
		o.ao = TCP_AO_REQUIRED;
		o.ao_key = (unsigned)ki + 1;
	}
	struct bridge *b = NULL;
	int r = bridge_connect(sh->bridges, sh->stack, ep, cl->req.port, &o, (long long)cl->uid, &connect_ops, a, cl, &b);
	if (r != 0) {
		if (r == TCP_ENOMEM || r == TCP_ELIMIT || r == TCP_ENOPORTS)
			client_reply_err(cl, TOU_ERR_LIMIT, "cannot open a connection: %s", tcp_strerror(r));
		else if (r == TCP_ENOKEY)
			client_reply_err(cl, TOU_ERR_DENIED, "TCP-AO: no [key] %s matches this peer",
					 cl->req.ao == API_AO_KEY ? cl->req.ao_key : "in the configuration");
		else
			client_reply_err(cl, TOU_ERR_INTERNAL, "cannot open a connection: %s", tcp_strerror(r));
		return;
	}
	cl->br = b;
	cl->phase = CL_CONNECTING;
	char dst[96];
	endpoint_format(ep, dst, sizeof dst);
	log_debug("conn %" PRIu64 ": connecting to %s/%u for uid %u", b->id, dst, b->rport, (unsigned)cl->uid);
	client_read_start(cl); /* notice an app that goes away */
}

static void connect_here(struct client *cl)
{
	struct api *a = cl->api;
	struct toud *d = a->d;
	struct shard *sh = a->sh;
	if (usage_total(d->usage) >= d->cfg.max_connections) {
		client_reply_err(cl, TOU_ERR_LIMIT, "max_connections (%u) reached", d->cfg.max_connections);
		return;
	}
	if (api_count_uid(a, cl->uid) >= d->cfg.max_per_uid) {
		client_reply_err(cl, TOU_ERR_LIMIT, "max_per_uid (%u) reached for uid %u", d->cfg.max_per_uid,
				 (unsigned)cl->uid);
		return;
	}
	uint16_t udp_port = cl->req.udp_port ? cl->req.udp_port : TOU_DEFAULT_UDP_PORT;
	int usable = (udp_have_family(sh->udp, 4) ? RESOLVE_V4 : 0) | (udp_have_family(sh->udp, 6) ? RESOLVE_V6 : 0);
	cl->phase = CL_RESOLVING;
	struct resolve_req *rr = NULL;
	int r = resolve_start(sh->loop, cl->req.host, udp_port, usable, start_connect, cl, &rr);
	if (r != 0) {
		client_reply_err(cl, TOU_ERR_UNREACHABLE, "cannot resolve \"%s\": %s", cl->req.host, uv_strerror(r));
		return;
	}
	if (rr && cl->phase == CL_RESOLVING) {
		cl->rr = rr;
		client_read_start(cl);
	}
}

/* CONNECT: the connection goes to the next shard in turn (docs/DESIGN.md
 * section 5.8); the client with it, so that its answer and its stream
 * are that shard's from now on. */
static void do_connect(struct client *cl)
{
	struct api *a = cl->api;
	struct toud *d = a->d;
	unsigned k = d->n_shards > 1 ? a->next_shard++ % d->n_shards : 0;
	if (k == a->sh->idx) {
		connect_here(cl);
		return;
	}
	struct shard *sh = &d->shards[k];
	shard_lock(sh);
	struct client *n = client_move(cl, sh->api);
	if (n)
		connect_here(n);
	shard_unlock(sh);
}

/* ---- ABORT, the dispatcher ---- */

static void do_abort(struct client *cl)
{
	struct api *a = cl->api;
	struct listener *l = find_listener_id(a, cl->req.id);
	if (l) {
		listener_abort(cl, l);
		return;
	}
	struct api *o = api_of_id(a, cl->req.id); /* the shard the connection lives on */
	shard_lock(o->sh);
	struct bridge *b = find_bridge(o, cl->req.id);
	if (!b) {
		int ended = find_end(o, cl->req.id) != NULL;
		shard_unlock(o->sh);
		if (ended)
			client_reply_err(cl, TOU_ERR_NOTFOUND, "connection %" PRIu64 " has already ended", cl->req.id);
		else
			client_reply_err(cl, TOU_ERR_NOTFOUND, "no connection %" PRIu64, cl->req.id);
		return;
	}
	if (b->uid != (long long)cl->uid && cl->uid != 0) {
		shard_unlock(o->sh);
		client_reply_err(cl, TOU_ERR_DENIED, "connection %" PRIu64 " belongs to another user", cl->req.id);
		return;
	}
	log_info("conn %" PRIu64 ": ABORT by uid %u pid %d", b->id, (unsigned)cl->uid, (int)cl->pid);
	bridge_reset(b); /* RST and the end record in this turn's bridges phase */
	shard_unlock(o->sh);
	lstream_printf(cl->ls, "OK");
	client_finish(cl);
}

/* The client's hooks (struct client_hooks). */

static void dispatch(struct client *cl)
{
	struct api *a = cl->api;
	char err[400];
	a->requests++;
	if (cl->phase == CL_REQUEST)
		a->n_req--;
	cl->phase = CL_REPLIED; /* until a verb moves it on */
	uv_timer_stop(&cl->timer);
	if (api_parse_line(cl->line, cl->line_len, &cl->req, err, sizeof err) != 0) {
		client_reply_err(cl, TOU_ERR_BADREQUEST, "%s", err);
		return;
	}
	if (a->d->stopping &&
	    (cl->req.verb == API_CONNECT || cl->req.verb == API_LISTEN || cl->req.verb == API_ACCEPT ||
	     cl->req.verb == API_FORWARD || cl->req.verb == API_SERVE)) {
		client_reply_err(cl, TOU_ERR_SHUTDOWN, "daemon is stopping");
		return;
	}
	switch (cl->req.verb) {
	case API_CONNECT: do_connect(cl); return;
	case API_LISTEN: do_listen(cl); return;
	case API_ACCEPT: do_accept(cl); return;
	case API_STATUS: do_status(cl); return;
	case API_LIST: do_list(cl); return;
	case API_STATS: do_stats(cl); return;
	case API_ABORT: do_abort(cl); return;
	case API_FORWARD: do_forward(cl); return;
	case API_SERVE: do_serve(cl); return;
	case API_VERSION:
		lstream_printf(cl->ls, "OK %s", TOU_VERSION);
		client_finish(cl);
		return;
	}
	client_reply_err(cl, TOU_ERR_INTERNAL, "unhandled request");
}

/* The client goes (or has answered): let go of what its verb holds. */
static void release(struct client *cl)
{
	if (cl->rr) {
		resolve_cancel(cl->rr);
		cl->rr = NULL;
	}
	waiter_remove(cl);
	if (cl->lst) {
		struct listener *l = cl->lst;
		cl->lst = NULL;
		listener_close(l);
	}
	if (cl->tunnel) { /* FORWARD / SERVE: the tunnel goes with its client */
		forward_remove(cl->tunnel);
		cl->tunnel = NULL;
	}
	if (cl->br) { /* CONNECTING: the app went away */
		struct bridge *b = cl->br;
		cl->br = NULL;
		b->owner_data = NULL;
		bridge_reset(b);
	}
}

/* ACCEPT timeout=: nothing came in time. */
static void timeout(struct client *cl)
{
	waiter_remove(cl);
	client_reply_err(cl, TOU_ERR_TIMEOUT, "no connection on port %u within %u s", cl->req.port, cl->req.timeout_s);
}

static const struct client_hooks hooks = { dispatch, release, timeout };

/* ---- the server ---- */

/* The shares of max_api_clients (clients that have not sent a whole
 * request line yet): api_root_reserve of them only root may use (0: a
 * sixteenth, at least 1, always below max_api_clients), and one uid other
 * than root may hold at most max_api_clients_per_uid (0: a quarter, at
 * least 1) of the rest.  So a local user holding idle API connections
 * locks out neither root nor another user. */
static void api_shares(const struct toud_config *cfg, unsigned *reserve, unsigned *per_uid)
{
	unsigned max = cfg->max_api_clients;
	unsigned r = cfg->api_root_reserve ? cfg->api_root_reserve : max / 16;
	if (r < 1)
		r = 1;
	if (r >= max)
		r = max - 1;
	unsigned u = cfg->max_api_clients_per_uid ? cfg->max_api_clients_per_uid : max / 4;
	if (u < 1)
		u = 1;
	if (u > max - r)
		u = max - r;
	*reserve = r;
	*per_uid = u;
}

/* Clients of uid still sending their request line (cl among them). */
static unsigned count_requesting(const struct api *a, uid_t uid)
{
	unsigned n = 0;
	for (const struct client *c = a->clients; c; c = c->next)
		n += c->phase == CL_REQUEST && c->uid == uid;
	return n;
}

/* May cl (just accepted, counted in n_req, uid known) stay?  If not it is
 * answered "ERR limit <why>" and closed, counted, and logged (rate
 * limited per uid). */
static int admit(struct api *a, struct client *cl)
{
	const struct toud_config *cfg = &a->d->cfg;
	unsigned reserve, per_uid;
	api_shares(cfg, &reserve, &per_uid);
	char why[160];
	if (a->n_req > cfg->max_api_clients) {
		snprintf(why, sizeof why, "too many API clients (max_api_clients %u)", cfg->max_api_clients);
	} else if (cl->uid != 0 && count_requesting(a, cl->uid) > per_uid) {
		a->refused_uid++;
		snprintf(why, sizeof why, "too many API clients of uid %u (max_api_clients_per_uid %u)",
			 (unsigned)cl->uid, per_uid);
	} else if (cl->uid != 0 && a->n_req > cfg->max_api_clients - reserve) {
		a->refused_reserve++;
		snprintf(why, sizeof why, "too many API clients (max_api_clients %u, the last %u kept for root)",
			 cfg->max_api_clients, reserve);
	} else {
		return 1;
	}
	a->clients_refused++;
	log_peer(LOG_LVL_WARNING, (const uint8_t *)&cl->uid, sizeof cl->uid, toud_now(),
		 "api: client uid %u pid %d refused: %s", (unsigned)cl->uid, (int)cl->pid, why);
	client_refuse(cl, TOU_ERR_LIMIT, "%s", why);
	return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct api *a = server->data;
	struct toud *d = a->d;
	if (status < 0) {
		log_warn("api: accept: %s", uv_strerror(status));
		return;
	}
	struct client *cl = client_new(a);
	if (!cl) {
		log_err("api: out of memory");
		return;
	}
	struct lstream *ls = cl->ls;
	if (uv_accept(server, &ls->u.s) != 0) {
		client_close(cl);
		return;
	}
	uv_os_fd_t fd;
	struct ucred cred;
	socklen_t cl_len = sizeof cred;
	if (uv_fileno(&ls->u.h, &fd) != 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl_len) != 0) {
		log_warn("api: SO_PEERCRED: %s", strerror(errno));
		client_close(cl);
		return;
	}
	cl->uid = cred.uid;
	cl->gid = cred.gid;
	cl->pid = cred.pid;
	if (!admit(a, cl))
		return;
	client_timer_start(cl, d->cfg.request_timeout / 1000 + 1, 0);
	client_read_start(cl);
}

static int make_socket_dir(const char *path)
{
	char dir[108];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is a daemon answering on path?  (Then we must not steal its socket.) */
static int socket_alive(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	int r = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	return r == 0;
}

static int bind_path(struct api *a, const struct toud_config *cfg)
{
	int r = make_socket_dir(a->path);
	if (r != 0) {
		log_err("api: cannot create the directory of %s: %s", a->path, strerror(-r));
		return r;
	}
	struct stat sb;
	if (lstat(a->path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_err("api: %s exists and is not a socket", a->path);
			return UV_EEXIST;
		}
		if (socket_alive(a->path)) {
			log_err("api: %s: another daemon is answering there", a->path);
			return UV_EADDRINUSE;
		}
		log_info("api: removing stale socket %s", a->path);
		unlink(a->path);
	}
	r = uv_pipe_bind(&a->server, a->path);
	if (r != 0) {
		log_err("api: bind %s: %s", a->path, uv_strerror(r));
		return r;
	}
	a->bound_path = 1;
	if (chmod(a->path, cfg->socket_mode) != 0)
		log_warn("api: chmod %s %04o: %s", a->path, cfg->socket_mode, strerror(errno));
	if (cfg->socket_group[0]) {
		struct group *g = getgrnam(cfg->socket_group);
		if (!g)
			log_warn("api: group \"%s\" not found; %s keeps its group", cfg->socket_group, a->path);
		else if (chown(a->path, (uid_t)-1, g->gr_gid) != 0)
			log_warn("api: chown %s :%s: %s", a->path, cfg->socket_group, strerror(errno));
	}
	return 0;
}

int api_start(struct toud *d)
{
	/* every shard serves the clients handed to it; shard 0 the socket */
	for (unsigned i = 0; i < d->n_shards; i++) {
		struct api *sa = calloc(1, sizeof *sa);
		if (!sa)
			return UV_ENOMEM;
		sa->d = d;
		sa->sh = &d->shards[i];
		sa->hooks = &hooks;
		d->shards[i].api = sa;
	}
	struct api *a = d->shards[0].api;
	d->api = a;
	snprintf(a->path, sizeof a->path, "%s", d->cfg.socket);
	int r = uv_pipe_init(d->loop, &a->server, 0);
	if (r != 0)
		return r;
	a->server.data = a;
	a->server_open = 1;
	if (d->api_fd >= 0) {
		r = uv_pipe_open(&a->server, d->api_fd);
		if (r != 0) {
			log_err("api: passed socket: %s", uv_strerror(r));
			return r;
		}
		size_t len = sizeof a->path;
		if (uv_pipe_getsockname(&a->server, a->path, &len) != 0)
			snprintf(a->path, sizeof a->path, "(passed fd %d)", d->api_fd);
	} else {
		r = bind_path(a, &d->cfg);
		if (r != 0)
			return r;
	}
	r = uv_listen((uv_stream_t *)&a->server, 128, on_connection);
	if (r != 0) {
		log_err("api: listen on %s: %s", a->path, uv_strerror(r));
		return r;
	}
	return 0;
}

void api_stop_accepting(struct api *a)
{
	if (a && a->server_open) {
		a->server_open = 0;
		uv_close((uv_handle_t *)&a->server, NULL);
		if (a->bound_path)
			unlink(a->path);
	}
}

/* One shard's part of api_shutdown() (the caller holds its lock). */
static void shutdown_shard(struct api *a)
{
	struct client *next;
	for (struct client *cl = a->clients; cl; cl = next) {
		next = cl->next;
		switch (cl->phase) {
		case CL_REQUEST:
		case CL_RESOLVING:
		case CL_CONNECTING: /* release_phase resets its bridge */
			client_reply_err(cl, TOU_ERR_SHUTDOWN, "daemon is stopping");
			break;
		case CL_ACCEPT_WAIT:
			waiter_remove(cl);
			client_reply_err(cl, TOU_ERR_SHUTDOWN, "daemon is stopping");
			break;
		case CL_LISTENING:
			client_close(cl); /* resets its accept queue */
			break;
		case CL_REPLIED:
		case CL_GONE:
			break;
		}
	}
	/* every stream: as if its app had shut its side (FIN after the held
	 * bytes; reading stops); a connection without a stream closes */
	for (struct bridge *b = a->sh->bridges->all; b; b = b->next)
		bridge_shutdown(b);
}

/* fn(shard's API) for shard 0 (the main thread's), then for each other
 * shard under its lock (shard.h). */
static void each_shard(struct toud *d, void (*fn)(struct api *sa))
{
	for (unsigned i = 0; i < d->n_shards; i++) {
		struct shard *sh = &d->shards[i];
		if (!sh->api)
			continue;
		shard_lock(sh);
		fn(sh->api);
		shard_unlock(sh);
	}
}

void api_shutdown(struct api *a)
{
	each_shard(a->d, shutdown_shard);
}

static void abort_shard(struct api *a)
{
	for (struct bridge *b = a->sh->bridges->all; b; b = b->next)
		bridge_reset(b);
}

void api_abort_all(struct api *a)
{
	each_shard(a->d, abort_shard);
}

unsigned api_live_connections(const struct api *a)
{
	return usage_total(a->d->usage);
}

static void close_shard(struct api *a)
{
	api_stop_accepting(a);
	while (a->clients)
		client_close(a->clients);
}

void api_close(struct api *a)
{
	if (a)
		each_shard(a->d, close_shard);
}

void api_free(struct toud *d)
{
	for (unsigned i = 0; i < d->n_shards; i++) {
		free(d->shards[i].api);
		d->shards[i].api = NULL;
	}
	d->api = NULL;
}

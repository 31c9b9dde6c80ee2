/*
 * api_client.c - one API client (docs/API.md): its Unix stream while the
 * request line is read and answered, its timer, its one-line replies, and
 * the handover of its stream to a bridge after "OK" to CONNECT or ACCEPT.
 * What a request means is the server's (api_server.c): the client calls
 * it through the server's hooks (struct client_hooks), never directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_int.h"
#include "endpoint.h"
#include "log.h"
#include "udp.h"
#include "udp_route.h"

#define LISTEN_WATCH_MS 250 /* a LISTEN client that sent EOF: how often to look for its close */

static const struct lstream_ops client_ops;

void conn_names(const struct api *a, const struct tcp_endpoint *remote, uint16_t lport, uint16_t rport,
		char *local, size_t llen, char *rem, size_t rlen)
{
	char s[72];
	/* the address the peer talks to (udp_route.c), else the bound one */
	if (udp_route_local_name(a->sh->route, remote, s, sizeof s) != 0)
		udp_local_name(a->sh->udp, remote->family, s, sizeof s);
	snprintf(local, llen, "%s/%u", s, lport);
	endpoint_format(remote, s, sizeof s);
	snprintf(rem, rlen, "%s/%u", s, rport);
}

/* ---- lifetime ---- */

/* A client holds two handles: its timer and, until it closes or hands it
 * over, its stream.  It is freed when both are gone. */
static void client_maybe_free(struct client *cl)
{
	if (cl->phase != CL_GONE || cl->ls || !uv_is_closing((uv_handle_t *)&cl->timer) || cl->timer.data)
		return;
	free(cl->pend);
	free(cl);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct client *cl = h->data;
	h->data = NULL; /* closed */
	client_maybe_free(cl);
}

static void leave_request_phase(struct client *cl)
{
	if (cl->phase == CL_REQUEST)
		cl->api->n_req--;
}

/* Lets go of whatever the phase holds (the verbs' part: the server's
 * release hook). */
static void release_phase(struct client *cl)
{
	leave_request_phase(cl);
	cl->api->hooks->release(cl);
}

void client_close(struct client *cl)
{
	if (cl->phase == CL_GONE)
		return;
	release_phase(cl);
	cl->phase = CL_GONE;
	struct api *a = cl->api;
	if (cl->next)
		cl->next->prev = cl->prev;
	if (cl->prev)
		cl->prev->next = cl->next;
	else if (a->clients == cl)
		a->clients = cl->next;
	cl->next = cl->prev = NULL;
	if (cl->ls)
		lstream_close(cl->ls, 0); /* cl->ls = NULL in its close callback */
	uv_close((uv_handle_t *)&cl->timer, on_timer_closed);
}

/* Final answer written: close once it is out (bounded by request_timeout). */
void client_finish(struct client *cl)
{
	if (cl->phase == CL_GONE)
		return;
	release_phase(cl);
	cl->phase = CL_REPLIED;
	if (!cl->ls) {
		client_close(cl);
		return;
	}
	lstream_close_drained(cl->ls, 0); /* its close callback closes the client */
	if (cl->ls)
		client_timer_start(cl, cl->api->d->cfg.request_timeout / 1000 + 1, 0);
}

/* "ERR <reason> <text>" (counted, logged at debug level). */
static void write_err(struct client *cl, const char *reason, const char *fmt, va_list ap)
{
	char text[700];
	vsnprintf(text, sizeof text, fmt, ap);
	cl->api->errors++;
	log_debug("api: uid %u pid %d: ERR %s %s", (unsigned)cl->uid, (int)cl->pid, reason, text);
	if (cl->ls)
		lstream_printf(cl->ls, "ERR %s %s", reason, text);
}

void client_reply_err(struct client *cl, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_err(cl, reason, fmt, ap);
	va_end(ap);
	client_finish(cl);
}

static void on_client_timer(uv_timer_t *t)
{
	struct client *cl = t->data;
	switch (cl->phase) {
	case CL_REQUEST:
		client_reply_err(cl, TOU_ERR_BADREQUEST, "no complete request line within %" PRIu64 " ms",
				 cl->api->d->cfg.request_timeout / 1000);
		return;
	case CL_ACCEPT_WAIT:
		cl->api->hooks->timeout(cl);
		return;
	case CL_LISTENING:
		/* after the client's EOF: has it closed its socket? */
		if (!cl->ls || lstream_hung_up(cl->ls))
			client_close(cl);
		return;
	case CL_REPLIED:
		client_close(cl); /* the answer did not drain in time */
		return;
	default:
		return;
	}
}

void client_timer_start(struct client *cl, uint64_t ms, uint64_t repeat)
{
	uv_timer_start(&cl->timer, on_client_timer, ms, repeat);
}

void client_read_start(struct client *cl)
{
	if (!cl->ls)
		return;
	if (cl->app_eof) {
		/* libuv reads no more after EOF: a LISTEN client that only
		 * shut its side (e.g. `echo LISTEN 7 | socat ...`) keeps its
		 * listener until it closes, which a timer watches for */
		if (cl->phase == CL_LISTENING)
			client_timer_start(cl, LISTEN_WATCH_MS, LISTEN_WATCH_MS);
		return;
	}
	if (lstream_read_start(cl->ls) != 0)
		client_close(cl);
}

void client_handover(struct client *cl, struct bridge *b)
{
	struct api *a = cl->api;
	char local[96], rem[96];
	uv_timer_stop(&cl->timer);
	if (cl->req.verb == API_ACCEPT && (cl->req.nodelay > 0 || cl->req.keepalive > 0) && b->tc) {
		/* ACCEPT nodelay / keepalive: as CONNECT's, for this stream */
		struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
		o.nodelay = cl->req.nodelay > 0 ? 1 : -1;
		o.keepalive = cl->req.keepalive > 0 ? 1 : -1;
		int r = tcp_conn_set_opts(b->tc, &o);
		if (r < 0)
			log_warn("conn %" PRIu64 ": ACCEPT options: %s", b->id, tcp_strerror(r));
	}
	conn_names(a, &b->remote, b->lport, b->rport, local, sizeof local, rem, sizeof rem);
	cl->br = NULL;
	b->owner_data = NULL;
	char ok[TOU_PROTO_MAX_LINE];
	snprintf(ok, sizeof ok, "OK %" PRIu64 " %s %s\n", b->id, local, rem);
	if (!cl->ls || bridge_attach_answer(b, cl->ls, ok, cl->pend, cl->pend_len, cl->app_eof) != 0) {
		bridge_reset(b); /* the app is gone (or no memory): nobody reads this connection */
		client_close(cl);
		return;
	}
	log_info("conn %" PRIu64 ": %s %s <-> %s (uid %u)", b->id, cl->req.verb == API_CONNECT ? "connected" : "accepted",
		 local, rem, (unsigned)cl->uid);
	cl->ls = NULL; /* the bridge's now */
	client_close(cl);
}

/* ---- its stream ---- */

static void c_alloc(void *holder, uv_buf_t *buf)
{
	struct client *cl = holder;
	*buf = uv_buf_init((char *)cl->api->rbuf, API_RBUF);
}

static int pend_append(struct client *cl, const uint8_t *p, size_t n)
{
	uint8_t *np = realloc(cl->pend, cl->pend_len + n);
	if (!np)
		return -1;
	memcpy(np + cl->pend_len, p, n);
	cl->pend = np;
	cl->pend_len += n;
	return 0;
}

/* The client's EOF (or a read error). */
static void client_eof(struct client *cl, ssize_t nread)
{
	if (nread != UV_EOF || lstream_hung_up(cl->ls) || cl->phase == CL_REPLIED) {
		client_close(cl); /* gone: CONNECTING resets its bridge */
		return;
	}
	cl->app_eof = 1;
	switch (cl->phase) {
	case CL_REQUEST:
		if (cl->line_len == 0)
			client_close(cl);
		else /* a last line without "\n" still counts */
			cl->api->hooks->request(cl);
		return;
	case CL_LISTENING:
		client_read_start(cl); /* watches for the close */
		return;
	default:
		return; /* handed over with the stream: the bridge sends FIN */
	}
}

static void c_read(void *holder, ssize_t nread, const uv_buf_t *buf)
{
	struct client *cl = holder;
	if (cl->phase == CL_GONE)
		return;
	if (nread < 0) {
		client_eof(cl, nread);
		return;
	}
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t n = (size_t)nread;
	switch (cl->phase) {
	case CL_REQUEST: {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (cl->line_len + take + (nl ? 1 : 0) > TOU_PROTO_MAX_LINE) {
			client_reply_err(cl, TOU_ERR_BADREQUEST, "request line longer than %d bytes",
					 TOU_PROTO_MAX_LINE);
			return;
		}
		memcpy(cl->line + cl->line_len, p, take);
		cl->line_len += take;
		if (!nl)
			return;
		size_t rest = n - take - 1;
		if (rest && pend_append(cl, nl + 1, rest) != 0) {
			client_reply_err(cl, TOU_ERR_INTERNAL, "out of memory");
			return;
		}
		cl->api->hooks->request(cl);
		return;
	}
	case CL_RESOLVING:
	case CL_CONNECTING:
	case CL_ACCEPT_WAIT:
		/* bytes sent before the OK: held, sent once the stream starts */
		if (pend_append(cl, p, n) != 0) {
			client_close(cl);
			return;
		}
		if (cl->pend_len >= API_PEND_MAX)
			lstream_read_stop(cl->ls);
		return;
	default:
		return; /* LISTEN clients carry nothing; after a reply: ignored */
	}
}

static void c_closed(void *holder)
{
	struct client *cl = holder;
	cl->ls = NULL;
	if (cl->phase == CL_GONE)
		client_maybe_free(cl);
	else
		client_close(cl); /* drained after the answer, or failed */
}

static const struct lstream_ops client_ops = { c_alloc, c_read, NULL, c_closed };


/* ---- a new client ---- */

struct client *client_new(struct api *a)
{
	struct shard *sh = a->sh;
	struct client *cl = calloc(1, sizeof *cl);
	struct lstream *ls = cl ? lstream_new(sh->loop, 0, &sh->bridges->pool) : NULL;
	if (!ls) {
		free(cl);
		return NULL;
	}
	cl->api = a;
	cl->ls = ls;
	lstream_hold(ls, &client_ops, cl, 0);
	uv_timer_init(sh->loop, &cl->timer);
	cl->timer.data = cl;
	cl->phase = CL_REQUEST;
	cl->next = a->clients;
	if (a->clients)
		a->clients->prev = cl;
	a->clients = cl;
	a->n_req++;
	return cl;
}

struct client *client_move(struct client *cl, struct api *to)
{
	uv_os_fd_t fd;
	int nfd = -1;
	struct client *n = NULL;
	if (cl->ls && uv_fileno(&cl->ls->u.h, &fd) == 0)
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (nfd >= 0)
		n = client_new(to);
	if (!n || uv_pipe_open(&n->ls->u.pipe, nfd) != 0) {
		log_err("api: cannot hand a client to shard %u: %s", to->sh->idx,
			nfd < 0 ? strerror(errno) : "out of memory");
		if (nfd >= 0)
			close(nfd);
		if (n)
			client_close(n);
		client_reply_err(cl, TOU_ERR_INTERNAL, "cannot hand the stream to an engine shard");
		return NULL;
	}
	to->n_req--; /* client_new counted it: it is past its request */
	n->phase = CL_REPLIED; /* until its verb moves it on */
	n->uid = cl->uid;
	n->gid = cl->gid;
	n->pid = cl->pid;
	memcpy(n->line, cl->line, cl->line_len);
	n->line_len = cl->line_len;
	n->req = cl->req;
	n->pend = cl->pend; /* the app's bytes read so far go along */
	n->pend_len = cl->pend_len;
	n->app_eof = cl->app_eof;
	cl->pend = NULL;
	cl->pend_len = 0;
	client_close(cl); /* closes its handle; the socket lives on in n's */
	return n;
}

void client_refuse(struct client *cl, const char *reason, const char *fmt, ...)
{
	/* answer, then drain what the client sends (so that its write of the
	 * request does not fail with EPIPE before it reads the answer) until
	 * its EOF or for a second at most */
	leave_request_phase(cl);
	cl->phase = CL_REPLIED;
	va_list ap;
	va_start(ap, fmt);
	write_err(cl, reason, fmt, ap);
	va_end(ap);
	lstream_shutdown(cl->ls);
	client_timer_start(cl, 1000, 0);
	client_read_start(cl);
}

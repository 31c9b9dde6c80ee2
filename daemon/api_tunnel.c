/*
 * api_tunnel.c - FORWARD and SERVE (docs/API.md): a [forward] or a
 * [service] (forward.c) owned by one API client, for as long as its
 * connection lasts.  The request's words are given to the configuration
 * parser (fwd_conf_set) under a name of the tunnel's id, so a one-off
 * tunnel takes exactly what a section of toud.conf takes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api_int.h"
#include "forward.h"
#include "keys.h"
#include "log.h"

/* FORWARD below this local port, as the kernel's default: root only. */
#define TUNNEL_PRIVILEGED_LOCAL 1024

/* One setting through the configuration's parser; reason in err. */
static int tunnel_set(struct fwd_conf *fc, const char *kind, const char *key, const char *value, char *err,
		      size_t errlen)
{
	return fwd_conf_set(fc, kind, "tunnel", key, value, err, errlen);
}

/* ao=: the [key] must exist (as fwd_conf_check demands of a section). */
static int tunnel_ao(struct client *cl, struct fwd_conf *fc, const char *kind, char *err, size_t errlen)
{
	if (cl->req.ao == API_AO_DEFAULT || cl->req.ao == API_AO_OPTIONAL)
		return 0;
	const char *v = cl->req.ao == API_AO_REQUIRED ? "required" : cl->req.ao_key;
	if (cl->req.ao == API_AO_KEY && keys_find(&cl->api->d->cfg.keys, v) < 0) {
		snprintf(err, errlen, "no [key %s] in the configuration", v);
		return -1;
	}
	return tunnel_set(fc, kind, "ao", v, err, errlen);
}

static void tunnel_failed(struct client *cl, int r, const char *err)
{
	const char *reason = r == -EADDRINUSE ? TOU_ERR_INUSE
			     : r == -EACCES   ? TOU_ERR_DENIED
			     : r == -EADDRNOTAVAIL || r == -EINVAL ? TOU_ERR_BADREQUEST
								  : TOU_ERR_INTERNAL;
	client_reply_err(cl, reason, "%s", err);
}

/* Names the tunnel api-<id> and opens it: "OK <id> <where>" and the
 * client holds it from then on (as a LISTEN client its listener), or ERR. */
static void tunnel_open(struct client *cl, struct fwd_forward_conf *f, struct fwd_service_conf *s)
{
	struct api *a = cl->api;
	char err[400], where[96];
	uint64_t id = tcp_reserve_id(a->sh->stack);
	snprintf(f ? f->name : s->name, FWD_NAME_MAX + 1, "api-%" PRIu64, id);
	struct fwd_entry *e = NULL;
	int r = forward_add(a->d->fwd, f, s, (long long)cl->uid, &e, err, sizeof err);
	if (r != 0) {
		tunnel_failed(cl, r, err);
		return;
	}
	if (f) /* with the port the kernel picked for port 0 */
		snprintf(where, sizeof where, "%s", forward_listen_text(e));
	else
		snprintf(where, sizeof where, "%u", s->port);
	cl->tunnel = e;
	cl->phase = CL_LISTENING; /* holds something until it goes, as LISTEN */
	free(cl->pend);           /* tunnel connections carry no data */
	cl->pend = NULL;
	cl->pend_len = 0;
	lstream_printf(cl->ls, "OK %" PRIu64 " %s", id, where);
	log_info("tunnel %" PRIu64 ": %s %s for uid %u pid %d", id, f ? "forward" : "service", where,
		 (unsigned)cl->uid, (int)cl->pid);
	client_read_start(cl); /* notices the client's close */
}

void do_forward(struct client *cl)
{
	const struct api_request *q = &cl->req;
	struct fwd_conf *fc = calloc(1, sizeof *fc);
	char err[400], v[400];
	if (!fc) {
		client_reply_err(cl, TOU_ERR_INTERNAL, "out of memory");
		return;
	}
	/* [ADDR:]PORT: a bare port listens on loopback only (as ssh -L) */
	if (strchr(q->listen, ':'))
		snprintf(v, sizeof v, "%s", q->listen);
	else
		snprintf(v, sizeof v, "127.0.0.1:%s", q->listen);
	int r = tunnel_set(fc, "forward", "listen", v, err, sizeof err);
	if (r == 0) {
		int n = snprintf(v, sizeof v, q->host_is_ip6 ? "[%s]" : "%s", q->host);
		if (q->udp_port)
			n += snprintf(v + n, sizeof v - (size_t)n, ":%u", q->udp_port);
		snprintf(v + n, sizeof v - (size_t)n, " %u", q->port);
		r = tunnel_set(fc, "forward", "to", v, err, sizeof err);
	}
	if (r == 0 && q->nodelay > 0)
		r = tunnel_set(fc, "forward", "nodelay", "yes", err, sizeof err);
	if (r == 0 && q->keepalive > 0)
		r = tunnel_set(fc, "forward", "keepalive", "yes", err, sizeof err);
	if (r == 0 && q->has_timeout) {
		snprintf(v, sizeof v, "%us", q->timeout_s);
		r = tunnel_set(fc, "forward", "timeout", v, err, sizeof err);
	}
	if (r == 0)
		r = tunnel_ao(cl, fc, "forward", err, sizeof err);
	if (r != 0) {
		client_reply_err(cl, TOU_ERR_BADREQUEST, "%s", err);
		free(fc);
		return;
	}
	struct fwd_forward_conf *f = &fc->forward[0];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&f->listen; /* sin_port: same offset in v6 */
	if (sin->sin_port != 0 && ntohs(sin->sin_port) < TUNNEL_PRIVILEGED_LOCAL && cl->uid != 0) {
		client_reply_err(cl, TOU_ERR_DENIED, "local port %u is below %u: only root may forward it",
				 ntohs(sin->sin_port), TUNNEL_PRIVILEGED_LOCAL);
		free(fc);
		return;
	}
	tunnel_open(cl, f, NULL);
	free(fc);
}

/* A unix: target only for root or the socket's owner: the daemon's user
 * may reach sockets the client may not. */
static int target_allowed(const struct client *cl, const struct fwd_service_conf *s, char *err, size_t errlen)
{
	struct stat sb;
	if (!s->to_unix || cl->uid == 0)
		return 0;
	if (stat(s->to_path, &sb) != 0 || sb.st_uid != cl->uid) {
		snprintf(err, errlen, "%s: only root or the socket's owner may serve it", s->to_path);
		return -1;
	}
	return 0;
}

void do_serve(struct client *cl)
{
	struct api *a = cl->api;
	const struct api_request *q = &cl->req;
	if (q->port < a->d->cfg.privileged_ports && cl->uid != 0) {
		client_reply_err(cl, TOU_ERR_DENIED, "port %u is below %u: only root may serve it", q->port,
				 a->d->cfg.privileged_ports);
		return;
	}
	struct fwd_conf *fc = calloc(1, sizeof *fc);
	char err[400], v[32];
	if (!fc) {
		client_reply_err(cl, TOU_ERR_INTERNAL, "out of memory");
		return;
	}
	snprintf(v, sizeof v, "%u", q->port);
	int r = tunnel_set(fc, "service", "port", v, err, sizeof err);
	if (r == 0)
		r = tunnel_set(fc, "service", "to", q->target, err, sizeof err);
	if (r == 0 && q->nallow)
		r = tunnel_set(fc, "service", "allow", q->allow_text, err, sizeof err);
	if (r == 0 && q->max_per_peer) {
		snprintf(v, sizeof v, "%u", q->max_per_peer);
		r = tunnel_set(fc, "service", "max_per_peer", v, err, sizeof err);
	}
	if (r == 0)
		r = tunnel_ao(cl, fc, "service", err, sizeof err);
	if (r != 0) {
		client_reply_err(cl, TOU_ERR_BADREQUEST, "%s", err);
		free(fc);
		return;
	}
	struct fwd_service_conf *s = &fc->service[0];
	if (target_allowed(cl, s, err, sizeof err) != 0) {
		client_reply_err(cl, TOU_ERR_DENIED, "%s", err);
		free(fc);
		return;
	}
	tunnel_open(cl, NULL, s);
	free(fc);
}

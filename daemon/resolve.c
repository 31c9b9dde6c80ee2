/*
 * resolve.c - name resolution for CONNECT that never blocks the loop:
 * literals are converted on the spot, names go to uv_getaddrinfo() (the
 * libuv thread pool).  The first address of a family we have a UDP socket
 * for wins.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "resolve.h"
#include "tou_addr.h"

struct resolve_req {
	uv_getaddrinfo_t req;
	resolve_cb cb;
	void *arg;     /* NULL once cancelled */
	uint16_t port;
	int usable;    /* RESOLVE_V4 | RESOLVE_V6 */
};

static int pick(const struct addrinfo *res, uint16_t port, int usable, struct tcp_endpoint *ep)
{
	for (int pass = 0; pass < 2; pass++) {
		for (const struct addrinfo *a = res; a; a = a->ai_next) {
			struct tcp_endpoint e;
			if (endpoint_from_sockaddr(&e, a->ai_addr) != 0)
				continue;
			/* pass 0: only unicast addresses of families we can send on
			 * (the caller refuses what pass 1 may pick, saying why) */
			if (pass == 0 && (!(usable & (e.family == 6 ? RESOLVE_V6 : RESOLVE_V4)) ||
					  tou_addr_not_unicast(e.family == 4 ? AF_INET : AF_INET6, e.addr)))
				continue;
			e.udp_port = port;
			*ep = e;
			return 0;
		}
	}
	return -1;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct resolve_req *r = req->data;
	if (r->arg) {
		struct tcp_endpoint ep;
		if (status == 0 && pick(res, r->port, r->usable, &ep) != 0)
			status = UV_EAI_NONAME;
		r->cb(r->arg, status, status == 0 ? &ep : NULL);
	}
	uv_freeaddrinfo(res);
	free(r);
}

int resolve_start(uv_loop_t *loop, const char *host, uint16_t port, int usable, resolve_cb cb, void *arg,
		  struct resolve_req **out)
{
	struct tcp_endpoint ep;
	memset(&ep, 0, sizeof ep);
	ep.udp_port = port;
	*out = NULL;
	if (inet_pton(AF_INET, host, ep.addr) == 1) {
		ep.family = 4;
		cb(arg, 0, &ep);
		return 0;
	}
	if (inet_pton(AF_INET6, host, ep.addr) == 1) {
		ep.family = 6;
		cb(arg, 0, &ep);
		return 0;
	}
	struct resolve_req *r = calloc(1, sizeof *r);
	if (!r)
		return UV_ENOMEM;
	r->cb = cb;
	r->arg = arg;
	r->port = port;
	r->usable = usable;
	r->req.data = r;
	struct addrinfo hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	int e = uv_getaddrinfo(loop, &r->req, on_resolved, host, NULL, &hints);
	if (e != 0) {
		free(r);
		return e;
	}
	*out = r;
	return 0;
}

void resolve_cancel(struct resolve_req *r)
{
	if (!r)
		return;
	r->arg = NULL;                   /* the callback frees it */
	uv_cancel((uv_req_t *)&r->req);  /* may fail if already running: fine */
}

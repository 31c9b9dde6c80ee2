/*
 * api_info.c - STATUS, LIST and STATS (docs/API.md), the end records
 * that let STATUS <id> tell how a connection ended, and the counts of live
 * connections the limits need.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api_int.h"
#include "api.h"
#include "api_json.h"
#include "endpoint.h"
#include "forward.h"
#include "log.h"
#include "udp.h"
#include "udp_route.h"

void api_record_end(void *api, struct bridge *b, int err)
{
	conn_ended(api, b, err);
}

void conn_ended(struct api *a, struct bridge *b, int err)
{
	char local[96], rem[96];
	conn_names(a, &b->remote, b->lport, b->rport, local, sizeof local, rem, sizeof rem);
	struct end_record *e = &a->ends[a->ends_next];
	a->ends_next = (a->ends_next + 1) % API_END_RECORDS;
	if (a->n_ends < API_END_RECORDS)
		a->n_ends++;
	memset(e, 0, sizeof *e);
	e->id = b->id;
	e->uid = b->uid;
	e->end = bridge_end_reason(err);
	snprintf(e->via, sizeof e->via, "%s", b->via ? b->via : "");
	if (b->tc && tcp_conn_info(b->tc, &e->info) == 0) {
		snprintf(e->cc, sizeof e->cc, "%s", e->info.cc_name ? e->info.cc_name : "");
	} else {
		e->info.id = b->id;
		e->info.remote = b->remote;
		e->info.local_port = b->lport;
		e->info.remote_port = b->rport;
	}
	e->info.cc_name = NULL; /* the engine's string may not outlive it */
	e->info.state = TCP_S_CLOSED;
	snprintf(e->local, sizeof e->local, "%s", local);
	snprintf(e->remote, sizeof e->remote, "%s", rem);
	char why[160]; /* the ICMP error or failed send, if any */
	conn_error_text(&e->info, why, sizeof why);
	if (err == 0)
		log_info("conn %" PRIu64 ": closed (%s) %s <-> %s", b->id, bridge_end_reason(err), local, rem);
	else
		log_peer(LOG_LVL_INFO, b->remote.addr, b->remote.family == 6 ? 16 : 4, toud_now(),
			 "conn %" PRIu64 ": closed (%s: %s%s%s) %s <-> %s", b->id, bridge_end_reason(err),
			 tcp_strerror(err), *why ? ", " : "", why, local, rem);
}

/* Live connections of a user, to a peer (the limits). */

unsigned api_count_uid(const struct api *a, uid_t uid)
{
	unsigned n = 0;
	for (const struct bridge *b = a->sh->bridges->all; b; b = b->next)
		n += b->tc && b->uid == (long long)uid;
	return n;
}

unsigned api_count_peer(const struct api *a, const struct tcp_endpoint *ep)
{
	unsigned n = 0;
	size_t al = ep->family == 6 ? 16 : 4;
	for (const struct bridge *b = a->sh->bridges->all; b; b = b->next)
		n += b->tc && b->remote.family == ep->family && memcmp(b->remote.addr, ep->addr, al) == 0;
	return n;
}

const struct end_record *find_end(const struct api *a, uint64_t id)
{
	for (unsigned i = 0; i < a->n_ends; i++)
		if (a->ends[i].id == id)
			return &a->ends[i];
	return NULL;
}

/* The listener with that id (LIST and STATUS show it, ABORT closes it). */
struct listener *find_listener_id(const struct api *a, uint64_t id)
{
	for (struct listener *l = a->listeners; l; l = l->next)
		if (l->id == id)
			return l;
	return NULL;
}

/* A live connection of ours (one that still holds its engine connection). */
struct bridge *find_bridge(const struct api *a, uint64_t id)
{
	for (struct bridge *b = a->sh->bridges->all; b; b = b->next)
		if (b->tc && b->id == id)
			return b;
	return NULL;
}

/* A TCB the engine still has.  Its program's stream may have ended
 * already (e.g. in TIME-WAIT, or FIN-WAIT-2 after the app went): its end
 * record's "end" goes with the live state, so that LIST and STATUS <id>
 * show one view (ours: a bridge still holds it, and has no end yet). */
static void info_json(const struct api *a, struct sbuf *b, const struct tcp_conn_info *i,
		      const struct bridge *br)
{
	const struct end_record *e = br ? NULL : find_end(a, i->id);
	char local[96], rem[96];
	conn_names(a, &i->remote, i->local_port, i->remote_port, local, sizeof local, rem, sizeof rem);
	json_conn(b, i, br ? br->uid : e ? e->uid : -1, local, rem,
		  br ? br->via : e && e->via[0] ? e->via : NULL, e ? e->end : NULL);
}

/* A TIME-WAIT the engine keeps as a compact record: its end record (what
 * the connection was: counters, path MTU ...) in state TIME-WAIT, or the
 * record's own few fields when the end record has gone. */
static void time_wait_json(const struct api *a, struct sbuf *b, const struct tcp_conn_info *twi)
{
	const struct end_record *e = find_end(a, twi->id);
	if (!e) {
		info_json(a, b, twi, NULL);
		return;
	}
	struct tcp_conn_info i = e->info;
	i.state = TCP_S_TIME_WAIT;
	i.cc_name = e->cc;
	json_conn(b, &i, e->uid, e->local, e->remote, e->via[0] ? e->via : NULL, e->end);
}

static void conn_json(const struct api *a, struct sbuf *b, struct tcp_conn *tc, const struct bridge *br)
{
	struct tcp_conn_info i;
	if (tcp_conn_info(tc, &i) == 0)
		info_json(a, b, &i, br);
}

void listener_json(const struct api *a, struct sbuf *b, const struct listener *l)
{
	char s[72], local[96];
	/* a listener: LISTEN state, no peer; it accepts on every UDP socket */
	udp_local_name(a->sh->udp, udp_have_family(a->sh->udp, 4) ? 4 : 6, s, sizeof s);
	snprintf(local, sizeof local, "%s/%u", s, l->port);
	sb_printf(b, "{\"id\":%" PRIu64 ",\"state\":\"LISTEN\",\"local\":", l->id);
	sb_json_str(b, local);
	sb_printf(b, ",\"remote\":\"*\",\"uid\":%u,\"backlog\":%u,\"accept_queue\":%u}", (unsigned)l->uid,
		  l->backlog, l->queue.len);
}

static void reply_doc(struct client *cl, struct sbuf *b)
{
	if (b->oom) {
		sb_free(b);
		client_reply_err(cl, TOU_ERR_INTERNAL, "out of memory");
		return;
	}
	sb_printf(b, "\n");
	struct tcp_iov v[2] = { { (uint8_t *)"OK ", 3 }, { (uint8_t *)b->p, b->len } };
	if (cl->ls)
		lstream_write(cl->ls, v, 2, SIZE_MAX);
	sb_free(b);
	client_finish(cl);
}

void do_status(struct client *cl)
{
	struct api *a = cl->api;
	struct toud *d = a->d;
	struct sbuf b;
	sb_init(&b);
	if (!cl->req.has_id) { /* the daemon itself */
		char udp[512];
		udp_describe(a->sh->udp, udp, sizeof udp);
		unsigned nl = 0;
		for (struct listener *l = a->listeners; l; l = l->next)
			nl++;
		sb_printf(&b, "{\"version\":\"%s\",\"pid\":%d,\"uptime_s\":%" PRIu64
			  ",\"connections\":%u,\"listeners\":%u,\"udp\":",
			  TOU_VERSION, (int)getpid(), (toud_now() - d->started_us) / 1000000, a->sh->bridges->live, nl);
		sb_json_str(&b, udp);
		sb_printf(&b, ",\"socket\":");
		sb_json_str(&b, a->path);
		sb_printf(&b, ",\"stopping\":%s}", d->stopping ? "true" : "false");
		reply_doc(cl, &b);
		return;
	}
	const struct listener *l = find_listener_id(a, cl->req.id);
	if (l) {
		listener_json(a, &b, l);
		reply_doc(cl, &b);
		return;
	}
	/* as LIST shows it while the engine has it (ours first: its
	 * connection answers until the bridges' phase has recorded its end,
	 * also when the engine no longer lists it), then its end record */
	struct bridge *br = find_bridge(a, cl->req.id);
	struct tcp_conn *tc = br ? br->tc : tcp_find_by_id(a->sh->stack, cl->req.id);
	if (tc) {
		conn_json(a, &b, tc, br);
		if (b.len) {
			reply_doc(cl, &b);
			return;
		}
	}
	/* a TIME-WAIT the engine keeps as a compact record */
	struct tcp_conn_info twi;
	if (!br && tcp_time_wait_info(a->sh->stack, cl->req.id, &twi) == 0) {
		time_wait_json(a, &b, &twi);
		reply_doc(cl, &b);
		return;
	}
	const struct end_record *e = find_end(a, cl->req.id);
	if (e) {
		struct tcp_conn_info i = e->info;
		i.cc_name = e->cc;
		json_conn(&b, &i, e->uid, e->local, e->remote, e->via[0] ? e->via : NULL, e->end);
		reply_doc(cl, &b);
		return;
	}
	sb_free(&b);
	client_reply_err(cl, TOU_ERR_NOTFOUND, "no connection %" PRIu64, cl->req.id);
}

struct list_ctx {
	const struct api *a;
	struct sbuf *b;
	int n;
};

static int list_one(void *arg, struct tcp_conn *tc)
{
	struct list_ctx *lc = arg;
	/* ours only if a bridge holds it: the engine's user pointer of an
	 * embryonic connection may be the listener's */
	struct bridge *br = find_bridge(lc->a, tcp_conn_id(tc));
	if (lc->n++)
		sb_printf(lc->b, ",");
	size_t before = lc->b->len;
	conn_json(lc->a, lc->b, tc, br);
	if (lc->b->len == before && lc->n == 1)
		lc->n = 0;
	return 0;
}

/* A TIME-WAIT connection the engine keeps as a compact record. */
static int list_time_wait(void *arg, const struct tcp_conn_info *i)
{
	struct list_ctx *lc = arg;
	sb_printf(lc->b, "%s", lc->n++ ? "," : "");
	time_wait_json(lc->a, lc->b, i);
	return 0;
}

void do_list(struct client *cl)
{
	struct api *a = cl->api;
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "[");
	struct list_ctx lc = { a, &b, 0 };
	tcp_foreach(a->sh->stack, list_one, &lc);
	tcp_foreach_time_wait(a->sh->stack, list_time_wait, &lc);
	for (struct listener *l = a->listeners; l; l = l->next) {
		sb_printf(&b, "%s", lc.n++ ? "," : "");
		listener_json(a, &b, l);
	}
	sb_printf(&b, "]");
	reply_doc(cl, &b);
}

void do_stats(struct client *cl)
{
	struct api *a = cl->api;
	struct tcp_stats s;
	tcp_get_stats(a->sh->stack, &s);
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "{\"tcp\":");
	json_tcp_stats(&b, &s);
	char u[1024];
	udp_json(a->sh->udp, u, sizeof u);
	char rt[512];
	udp_route_json(a->sh->route, rt, sizeof rt);
	sb_printf(&b, ",\"udp\":%s,\"route\":%s,\"api\":{\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
		  ",\"clients_refused\":%" PRIu64 ",\"clients_waiting\":%u,\"connections\":%u,"
		  "\"ended_kept\":%u},",
		  u, rt, a->requests, a->errors, a->clients_refused, a->n_req, a->sh->bridges->live, a->n_ends);
	forward_stats_json(a->d->fwd, &b);
	sb_printf(&b, "}");
	reply_doc(cl, &b);
}

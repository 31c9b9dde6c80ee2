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
#include "shard.h"
#include "udp.h"
#include "udp_err.h"
#include "udp_route.h"
#include "usage.h"

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

/* Over every shard (usage.h: the bridges count theirs). */
unsigned api_count_uid(const struct api *a, uid_t uid)
{
	return usage_uid(a->d->usage, (long long)uid);
}

unsigned api_count_peer(const struct api *a, const struct tcp_endpoint *ep)
{
	return usage_peer(a->d->usage, ep);
}

struct api *api_of_id(const struct api *a, uint64_t id)
{
	unsigned n = a->d->n_shards;
	return a->d->shards[n > 1 && id ? (id - 1) % n : 0].api;
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
		  l->backlog, listener_queued(l));
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

/* STATUS <id> of a connection, on the shard of its id (its lock held):
 * 1 with its document in b, 0 if that shard knows no such id. */
static int status_conn(struct api *a, uint64_t id, struct sbuf *b)
{
	/* as LIST shows it while the engine has it (ours first: its
	 * connection answers until the bridges' phase has recorded its end,
	 * also when the engine no longer lists it), then its end record */
	struct bridge *br = find_bridge(a, id);
	struct tcp_conn *tc = br ? br->tc : tcp_find_by_id(a->sh->stack, id);
	if (tc) {
		conn_json(a, b, tc, br);
		if (b->len)
			return 1;
	}
	/* a TIME-WAIT the engine keeps as a compact record */
	struct tcp_conn_info twi;
	if (!br && tcp_time_wait_info(a->sh->stack, id, &twi) == 0) {
		time_wait_json(a, b, &twi);
		return 1;
	}
	const struct end_record *e = find_end(a, id);
	if (e) {
		struct tcp_conn_info i = e->info;
		i.cc_name = e->cc;
		json_conn(b, &i, e->uid, e->local, e->remote, e->via[0] ? e->via : NULL, e->end);
		return 1;
	}
	return 0;
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
			  TOU_VERSION, (int)getpid(), (toud_now() - d->started_us) / 1000000, usage_total(d->usage), nl);
		sb_json_str(&b, udp);
		sb_printf(&b, ",\"socket\":");
		sb_json_str(&b, a->path);
		sb_printf(&b, ",\"stopping\":%s,\"threads\":%u}", d->stopping ? "true" : "false", d->n_shards);
		reply_doc(cl, &b);
		return;
	}
	const struct listener *l = find_listener_id(a, cl->req.id);
	if (l) {
		listener_json(a, &b, l);
		reply_doc(cl, &b);
		return;
	}
	struct api *o = api_of_id(a, cl->req.id);
	shard_lock(o->sh);
	int found = status_conn(o, cl->req.id, &b);
	shard_unlock(o->sh);
	if (found) {
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
	for (unsigned i = 0; i < a->d->n_shards; i++) { /* every shard's, under its lock */
		struct shard *sh = &a->d->shards[i];
		shard_lock(sh);
		lc.a = sh->api;
		tcp_foreach(sh->stack, list_one, &lc);
		tcp_foreach_time_wait(sh->stack, list_time_wait, &lc);
		shard_unlock(sh);
	}
	lc.a = a;
	for (struct listener *l = a->listeners; l; l = l->next) {
		sb_printf(&b, "%s", lc.n++ ? "," : "");
		listener_json(a, &b, l);
	}
	sb_printf(&b, "]");
	reply_doc(cl, &b);
}

/* STATS: the sums over every shard (each read under its lock), and per
 * shard what shows how the connections and datagrams spread over them
 * (docs/DESIGN.md section 5.8). */
void do_stats(struct client *cl)
{
	struct api *a = cl->api;
	struct toud *d = a->d;
	struct tcp_stats s = { 0 };
	struct udp_counters uc = { 0 };
	struct udp_err_counters ue = { 0 };
	struct udp_route_counters rc = { 0 };
	uint64_t busy[3] = { 0 };
	uint64_t requests = 0, errors = 0;
	unsigned ends = 0;
	struct sbuf per;
	sb_init(&per);
	for (unsigned i = 0; i < d->n_shards; i++) {
		struct shard *sh = &d->shards[i];
		struct tcp_stats one;
		struct udp_counters u1 = { 0 };
		struct udp_err_counters e1 = { 0 };
		shard_lock(sh);
		tcp_get_stats(sh->stack, &one);
		udp_counters_add(sh->udp, &u1, &e1);
		udp_counters_add(sh->udp, &uc, &ue);
		udp_route_counters_add(sh->route, &rc);
		busy[0] += sh->busy_windows;
		busy[1] += sh->busy_polls;
		busy[2] += sh->busy_hits;
		requests += sh->api->requests;
		errors += sh->api->errors;
		ends += sh->api->n_ends;
		sb_printf(&per, "%s{\"shard\":%u,\"connections\":%u,\"established\":%" PRIu64 ",\"active_opens\":%" PRIu64
			  ",\"passive_opens\":%" PRIu64 ",\"in_segs\":%" PRIu64 ",\"out_segs\":%" PRIu64
			  ",\"rx_datagrams\":%" PRIu64 ",\"tx_datagrams\":%" PRIu64 ",\"handed_on\":%" PRIu64
			  ",\"handed_in\":%" PRIu64 ",\"handoff_dropped\":%" PRIu64 "}",
			  i ? "," : "", i, sh->bridges->live, one.CurrEstab, one.ActiveOpens, one.PassiveOpens, one.InSegs,
			  one.OutSegs, u1.rx_datagrams, u1.tx_datagrams, sh->handed_on, sh->handed_in, sh->handoff_dropped);
		shard_unlock(sh);
		/* every field is a uint64_t counter: add them as arrays */
		uint64_t *to = (uint64_t *)&s;
		const uint64_t *from = (const uint64_t *)&one;
		for (size_t k = 0; k < sizeof s / sizeof(uint64_t); k++)
			to[k] += from[k];
	}
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "{\"tcp\":");
	json_tcp_stats(&b, &s);
	char u[1024];
	udp_counters_json(&uc, &ue, u, sizeof u);
	char rt[512];
	udp_route_counters_json(&rc, rt, sizeof rt);
	sb_printf(&b, ",\"udp\":%s,\"route\":%s,\"api\":{\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
		  ",\"clients_refused\":%" PRIu64 ",\"clients_refused_uid\":%" PRIu64
		  ",\"clients_refused_reserve\":%" PRIu64 ",\"clients_waiting\":%u,\"connections\":%u,"
		  "\"ended_kept\":%u},",
		  u, rt, requests, errors, a->clients_refused, a->refused_uid, a->refused_reserve, a->n_req,
		  usage_total(d->usage), ends);
	sb_printf(&b, "\"busy_poll\":{\"us\":%" PRIu64 ",\"windows\":%" PRIu64 ",\"polls\":%" PRIu64
		  ",\"hits\":%" PRIu64 "},",
		  d->cfg.busy_poll, busy[0], busy[1], busy[2]);
	forward_stats_json(d->fwd, &b);
	sb_printf(&b, ",\"shards\":[%s]}", per.p ? per.p : "");
	sb_free(&per);
	reply_doc(cl, &b);
}

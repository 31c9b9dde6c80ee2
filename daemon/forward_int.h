/*
 * forward_int.h - what forward.c (the entries: listeners, connections,
 * counters) and forward_reload.c (SIGHUP: the new sections against the
 * running entries) share.  Not for other parts of the daemon: they use
 * forward.h.
 */
#ifndef TOUD_FORWARD_INT_H
#define TOUD_FORWARD_INT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "forward.h"
#include "fwd_conf.h"
#include "tcp.h"

struct fconn; /* one forwarded connection (forward.c) */

/* One forward or service: its settings, its listener, its connections. */
struct fwd_entry {
	struct fwd_set *fs;
	int is_service;
	int from_api;                   /* FORWARD / SERVE of an API client */
	int retired;                    /* removed: listener closed, freed after its last connection */
	long long uid;                  /* its connections' owner: -1, or the API client's */
	char via[FWD_NAME_MAX + 16];    /* "forward web": bridge.via */
	struct fwd_forward_conf f;      /* is_service 0 */
	struct fwd_service_conf s;      /* is_service 1 */
	uv_tcp_t server;                /* forward: the kernel listener */
	int server_open, server_closing;
	struct tcp_owner owner;         /* service: the engine listener's user pointer */
	struct tcp_listener *tl;
	uint64_t connections, refused, bytes_out, bytes_in; /* out: towards the tou peer */
	struct tcp_listener_counters engine; /* the engine's refusals of closed listeners */
	struct fconn *conns;
	struct fwd_entry *next;
};


/* Every entry of a daemon (d->fwd). */
struct fwd_set {
	struct toud *d;
	struct shard *sh;               /* shard 0: its forwards and services live there (docs/DESIGN.md 5.8) */
	struct fwd_entry *entries;
	void (*end_hook)(void *arg, struct bridge *b, int err);
	void *end_arg;
	int stopped;
};


/* A new entry (not open, not linked) for f or s (the other NULL), its
 * connections owned by uid (-1: the daemon's).  NULL when out of memory. */
struct fwd_entry *fwd_entry_new(struct fwd_set *fs, const struct fwd_forward_conf *f,
				const struct fwd_service_conf *s, long long uid);
/* Its section's name. */
const char *fwd_entry_name(const struct fwd_entry *e);
/* Opens e's listener and links it into the set: 0, or a negative errno
 * with the reason in err ("[forward NAME] listen = ...: ..."); e is
 * not linked then. */
int fwd_entry_open(struct fwd_entry *e, char *err, size_t errlen);
/* An entry fwd_entry_open() refused: freed now, or once its listener's
 * handle has closed. */
void fwd_entry_discard(struct fwd_entry *e);
/* A removed entry: its listener closes, its live connections go on until
 * they end (it is freed after the last); why is logged. */
void fwd_entry_retire(struct fwd_entry *e, const char *why);
/* A service's allow list and TCP-AO policy onto its engine listener: 0 or
 * a tcp_* code. */
int fwd_service_policy(struct fwd_entry *e);

#endif

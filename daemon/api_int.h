/*
 * api_int.h - what the API server's files share: api_server.c (the
 * socket, dispatch, CONNECT/ABORT, shutdown) uses api_listen.c
 * (LISTEN/ACCEPT), api_tunnel.c (FORWARD/SERVE), api_info.c (STATUS/LIST/STATS, end records) and
 * api_client.c (one client's stream, replies, handover); those use
 * api_client.c only.  Not for other parts of the daemon.
 */
#ifndef TOUD_API_INT_H
#define TOUD_API_INT_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "api_parse.h"
#include "bridge.h"
#include "fifo.h"
#include "lstream.h"
#include "tou_addr.h"
#include "tou_proto.h"
#include "toud.h"

#define API_RBUF (64 * 1024)         /* one read from a client before its stream is bridged */
#define API_PEND_MAX (256 * 1024)    /* app bytes held before OK */
#define API_END_RECORDS 1024         /* ended connections kept for STATUS */

/* The one state of an API client. */
enum client_phase {
	CL_REQUEST,     /* reading the request line */
	CL_RESOLVING,   /* CONNECT: name resolution */
	CL_CONNECTING,  /* CONNECT: its bridge's active open */
	CL_ACCEPT_WAIT, /* ACCEPT: waiting for a connection */
	CL_LISTENING,   /* LISTEN: holds the listener */
	CL_REPLIED,     /* answered; the stream closes when drained */
	CL_GONE         /* stream closed or handed to a bridge; freed with the timer */
};

struct listener;
struct sbuf;
struct fwd_entry;

struct client {
	struct api *api;
	struct lstream *ls;             /* NULL once closed or handed over */
	uv_timer_t timer;               /* request, accept and reply timeouts */
	enum client_phase phase;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char line[TOU_PROTO_MAX_LINE];
	size_t line_len;
	uint8_t *pend;                  /* app bytes read before the OK */
	size_t pend_len;
	int app_eof;                    /* the app shut its side before the OK */
	struct api_request req;
	struct resolve_req *rr;         /* CL_RESOLVING */
	struct bridge *br;              /* CL_CONNECTING */
	struct listener *lst;           /* CL_LISTENING: ours */
	struct fwd_entry *tunnel;       /* CL_LISTENING: our FORWARD / SERVE (forward.h) */
	struct listener *waiting_on;    /* CL_ACCEPT_WAIT */
	struct fifo_link wlink;         /* the listener's waiters */
	struct client *next, *prev;
};

struct listener {
	struct tcp_owner owner;         /* the engine listener's user pointer */
	struct api *api;                /* its shard's */
	/* With several shards (docs/DESIGN.md section 5.8) a LISTEN is a
	 * listener on shard 0 (the one its client and ACCEPTs see) and a
	 * mirror on each other shard, whose engine gets the SYNs steered
	 * there; a mirror's accept queue is its shard's, and an ACCEPT takes
	 * from any of them. */
	int is_mirror;
	struct listener *mirrors[TOUD_MAX_THREADS]; /* shard 0's: [i] on shard i, i >= 1 */
	struct listener *primary;       /* shard 0's listener (itself there): it holds the counts */
	/* the primary's, read and written by every shard (atomics): bridges
	 * in all the accept queues (at most backlog while no ACCEPT waits,
	 * api_listen.c) and the ACCEPT clients waiting */
	unsigned queued_all, waiting_all;
	struct tcp_listener *tl;
	uint64_t id;                    /* from the connections' id space (tcp_reserve_id) */
	uint16_t port;
	uid_t uid;
	unsigned backlog;
	struct client *holder;
	struct fifo queue;              /* bridges (owner_link) accepted, not yet handed to an app */
	struct fifo waiters;            /* ACCEPT clients (wlink) waiting */
	struct listener *next;
};

struct end_record {
	uint64_t id;
	long long uid;
	struct tcp_conn_info info;
	char cc[16];
	char local[96], remote[96];
	const char *end;
	char via[96];                   /* "" when not forwarded */
};

/* What a client asks of the server (api_server.c). */
struct client_hooks {
	void (*request)(struct client *cl);  /* the request line is in cl->line */
	void (*release)(struct client *cl);  /* let go of what the verb holds */
	void (*timeout)(struct client *cl);  /* the verb's timer (ACCEPT timeout=) */
};

struct api {
	struct toud *d;
	struct shard *sh;               /* the engine shard its connections live on */
	const struct client_hooks *hooks;
	uv_pipe_t server;
	int server_open;
	int bound_path;                 /* we created the socket file */
	char path[108];
	struct client *clients;
	unsigned n_req;                 /* clients in CL_REQUEST */
	struct listener *listeners;
	struct end_record ends[API_END_RECORDS];
	unsigned n_ends, ends_next;
	uint64_t requests, errors, clients_refused;
	unsigned next_shard;            /* shard 0: where the next CONNECT goes */
	uint64_t refused_uid;           /* of which over max_api_clients_per_uid */
	uint64_t refused_reserve;       /* of which non-root into api_root_reserve */
	struct tou_bcast bcast;         /* the host's subnet broadcasts (api_bcast) */
	tcp_time_t bcast_at;            /* when read, 0: never */
	uint8_t rbuf[API_RBUF];
};

/* api_client.c */
struct client *client_new(struct api *a);       /* CL_REQUEST, its stream ready for uv_accept */
/* max_api_clients: answer ERR, drain the request, close within a second */
void client_refuse(struct client *cl, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void client_reply_err(struct client *cl, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void client_finish(struct client *cl);           /* answered: close when written */
void client_close(struct client *cl);            /* now */
/* Reads from the client (pre-OK bytes, its EOF or close); after its EOF a
 * LISTEN client is watched for its close instead. */
void client_read_start(struct client *cl);
/* The client's one timer; what it does depends on the phase. */
void client_timer_start(struct client *cl, uint64_t ms, uint64_t repeat);
/* The connection b is the client's: "OK id local remote", then the stream
 * and the bytes read so far go to b. */
void client_handover(struct client *cl, struct bridge *b);
/* The client moves to another shard's API (docs/DESIGN.md section 5.8;
 * the main thread holds that shard's lock): a new client on its loop
 * takes a duplicate of the socket, the credentials, the parsed request
 * and the bytes read so far; cl closes.  The new client, in CL_REPLIED
 * until its verb moves it on; NULL when that failed (cl has been answered
 * ERR internal). */
struct client *client_move(struct client *cl, struct api *to);
/* "<ip>:<udp-port>/<tcp-port>" of both sides */
void conn_names(const struct api *a, const struct tcp_endpoint *remote, uint16_t lport, uint16_t rport,
		char *local, size_t llen, char *rem, size_t rlen);

/* api_listen.c */
void do_listen(struct client *cl);
void do_accept(struct client *cl);
void waiter_remove(struct client *cl);
void listener_close(struct listener *l);         /* resets its accept queue, fails its waiters */
/* ABORT <id> of a listener: closes it and its LISTEN client */
void listener_abort(struct client *cl, struct listener *l);
void accept_queue_remove(struct bridge *b);
/* Its accept queue's length, its mirrors' included (locks them). */
unsigned listener_queued(const struct listener *l);

/* api_tunnel.c */
void do_forward(struct client *cl);
void do_serve(struct client *cl);

/* api_info.c */
/* One listener as LIST and STATUS show it. */
void listener_json(const struct api *a, struct sbuf *b, const struct listener *l);
void do_status(struct client *cl);
void do_list(struct client *cl);
void do_stats(struct client *cl);
/* a connection ended: log it, keep its end record for STATUS <id> */
void conn_ended(struct api *a, struct bridge *b, int err);
const struct end_record *find_end(const struct api *a, uint64_t id);
/* live connections (the limits) */
unsigned api_count_uid(const struct api *a, uid_t uid);
unsigned api_count_peer(const struct api *a, const struct tcp_endpoint *ep);
struct bridge *find_bridge(const struct api *a, uint64_t id);
/* The API of the shard whose engine gave that id (tcp_stack_set_shard:
 * ids k+1, k+1+n, ...); listeners' ids are shard 0's. */
struct api *api_of_id(const struct api *a, uint64_t id);
struct listener *find_listener_id(const struct api *a, uint64_t id);

#endif

/*
 * bridge.h - one local byte stream joined to one TCP connection of the
 * engine (docs/DESIGN.md section 5).
 *
 *   app --read--> engine's send buffer   read(2) straight into the send
 *                                        ring (tcp_send_space, then
 *                                        tcp_send_commit), up to
 *                                        BRIDGE_DIRECT_MAX at once: what a
 *                                        TCP app's socket holds, so one
 *                                        read and one window update of
 *                                        that socket per 2 MiB; with less than
 *                                        BRIDGE_DIRECT_MIN free: into the
 *                                        set's buffer, tcp_send, the rest
 *                                        held and reading stopped until
 *                                        TCP_EV_WRITABLE (backpressure)
 *   engine's receive buffer --write--> app   lstream_write() straight from
 *                                        the ring (tcp_recv_peek, then
 *                                        tcp_recv_consume); above
 *                                        BRIDGE_WQ_HIGH queued the bridge
 *                                        stops taking: the window closes
 *                                        (backpressure); below
 *                                        BRIDGE_WQ_LOW it takes again
 *
 * Half-close: the app's EOF is tcp_close() (after the held bytes); the
 * peer's FIN is shutdown(SHUT_WR) of the stream after every byte.  Reset:
 * an app that vanished with bytes it did not get, or a TCP app's RST, is
 * tcp_abort(); the connection's reset or abort ends the stream (RST for a
 * TCP stream) after the bytes already received.
 *
 * Every call below and every engine event only changes the bridge's state
 * and queues it; bridge_run_all() (the driver, once per loop turn after
 * input) does the engine calls and the I/O.  So no bridge code runs inside
 * an engine call and none needs a reentrancy guard.
 */
#ifndef TOUD_BRIDGE_H
#define TOUD_BRIDGE_H

#include <stdint.h>
#include <uv.h>

#include "fifo.h"
#include "lstream.h"
#include "tcp.h"
#include "toud.h"

#define BRIDGE_RBUF (256 * 1024)        /* one read from an app into the set's buffer */
#define BRIDGE_DIRECT_MIN (16 * 1024)   /* read straight into the send ring when this much is free */
#define BRIDGE_DIRECT_MAX BRIDGE_SOCKBUF /* one read straight into the send ring at most */
#define BRIDGE_WQ_HIGH (1024 * 1024)    /* stop taking from the engine above this queued */
#define BRIDGE_WQ_LOW (256 * 1024)      /* ...and take again below this */
#define BRIDGE_SOCKBUF (2 * 1024 * 1024) /* SO_SNDBUF/SO_RCVBUF of an attached stream */

/* The one state of a bridge. */
enum bridge_state {
	BRIDGE_CONNECTING, /* active open under way; no stream yet */
	BRIDGE_PARKED,     /* established, no stream yet (accept queue; the owner answering) */
	BRIDGE_OPEN,       /* stream attached: bytes flow both ways */
	BRIDGE_APP_SHUT,   /* the app's EOF is our FIN; peer -> app goes on */
	BRIDGE_PEER_SHUT,  /* the peer's FIN reached the app; app -> peer goes on */
	BRIDGE_BOTH_SHUT,  /* both halves closed; the engine finishes the close */
	BRIDGE_ORPHANED,   /* the stream is gone; the engine finishes the close */
	BRIDGE_DRAINING,   /* the connection ended; the stream drains, then closes */
	BRIDGE_DONE        /* over; freed once its stream (if any) is closed */
};
const char *bridge_state_name(enum bridge_state s);

struct bridge;

/* What the owner (the API server, a forwarder) is told. */
struct bridge_ops {
	/* The connection is established (CONNECTING -> PARKED, or a
	 * bridge_accepted()'s first run); the owner may answer its client,
	 * then bridge_attach(). */
	void (*opened)(struct bridge *b);
	/* The connection is over: err 0 (both FINs, TIME-WAIT or CLOSED),
	 * TCP_ECONNREFUSED, TCP_ECONNRESET, TCP_ETIMEDOUT or TCP_EABORTED.
	 * Called once, from bridge_run_all(); b->tc still answers
	 * tcp_conn_info() (it is released right after); the owner forgets b
	 * here (it is freed later). */
	void (*ended)(struct bridge *b, int err);
};

/* Requests and engine events noted for the next run (bridge.c). */
enum {
	BRIDGE_EV_ESTABLISHED = 1u << 0,
	BRIDGE_EV_DATA = 1u << 1,      /* READABLE or PEER_FIN: move bytes to the app */
	BRIDGE_EV_WRITABLE = 1u << 2,  /* send buffer room: feed held bytes */
	BRIDGE_EV_CLOSED = 1u << 3,
	BRIDGE_DO_FIN = 1u << 4,       /* the app side ended: FIN after the held bytes */
	BRIDGE_DO_RESET = 1u << 5,     /* tcp_abort */
	BRIDGE_DO_ORPHAN = 1u << 6,    /* the app is gone */
	BRIDGE_DO_ORPHAN_LOST = 1u << 7 /* ... with bytes it never got: abort */
};

struct bridge {
	struct tcp_owner owner;         /* the engine's user pointer */
	enum bridge_state state;
	struct bridge_set *set;
	struct tcp_conn *tc;            /* NULL once released */
	struct lstream *ls;             /* the app's stream; NULL when none */
	const struct bridge_ops *ops;
	void *owner_ctx;                /* the owner's context (the API server) */
	void *owner_data;               /* the owner's, may change (a client, a listener) */
	struct fifo_link owner_link;    /* the owner's queue (an accept queue) */

	/* who, for STATUS / LIST / limits (fixed at creation) */
	uint64_t id;
	long long uid;                  /* local user it belongs to, -1 none */
	struct tcp_endpoint remote;
	uint16_t lport, rport;
	int end_err;                    /* the engine's, once ended */
	const char *via;                /* "forward NAME" / "service NAME" (the owner's string), or NULL */

	/* app -> engine: bytes read that the engine has not taken */
	uint8_t *held;
	size_t held_len, held_off;

	unsigned todo;                  /* BRIDGE_EV_* / BRIDGE_DO_* */
	struct fifo_link ready_link;
	int ready;                      /* on set->ready */
	struct bridge *next, *prev;     /* set->all */
};

/* Every bridge of a daemon, the ready queue, the shared read buffer. */
struct bridge_set {
	uv_loop_t *loop;
	struct bridge *all;
	unsigned live;                  /* bridges holding an engine connection */
	struct fifo ready;               /* bridges with noted work */
	uint8_t *rbuf;                  /* BRIDGE_RBUF: reads not taken directly */
	struct lstream_pool pool;       /* write blocks, for every lstream */
	struct udp_route *route;        /* pins the routes of live peers; may be NULL */
	struct usage *usage;            /* the daemon's counts for the limits (usage.h); may be NULL */
	uint64_t aborted_app_gone;      /* resets: an app vanished with data */
};

int bridge_set_init(struct bridge_set *set, uv_loop_t *loop);
void bridge_set_free(struct bridge_set *set); /* after every bridge is gone */

/* A bridge for an active open: tcp_connect(stack, remote, rport, 0, opts)
 * owned by it.  CONNECTING; ops->opened or ops->ended follow.  0 or the
 * engine's code (TCP_ENOMEM, TCP_ELIMIT, TCP_ENOPORTS, TCP_EINVAL,
 * TCP_EEXIST); *out is NULL then. */
int bridge_connect(struct bridge_set *set, struct tcp_stack *stack, const struct tcp_endpoint *remote,
		   uint16_t rport, const struct tcp_conn_opts *opts, long long uid, const struct bridge_ops *ops,
		   void *owner_ctx, void *owner_data, struct bridge **out);
/* A bridge for a connection that TCP_EV_ACCEPTED delivered: PARKED, and
 * ops->opened follows in the next run.  NULL when out of memory (the
 * caller aborts and releases tc). */
struct bridge *bridge_accepted(struct bridge_set *set, struct tcp_conn *tc, long long uid,
			       const struct bridge_ops *ops, void *owner_ctx, void *owner_data);

/* PARKED -> OPEN: the bridge takes ls (its holder from now on) and the
 * app's bytes already read (copied); app_eof: the app has already shut
 * its side.  0, or -1 (not PARKED, or out of memory: the caller keeps ls). */
int bridge_attach(struct bridge *b, struct lstream *ls, const uint8_t *held, size_t len, int app_eof);
/* The same, writing first the line `answer` (the API's "OK ...\n"), in
 * one write with the bytes the peer has sent already.  -1 also when that
 * write fails (the app is gone). */
int bridge_attach_answer(struct bridge *b, struct lstream *ls, const char *answer, const uint8_t *held,
			 size_t len, int app_eof);
/* RST now (ABORT, a refused accept, the shutdown deadline). */
void bridge_reset(struct bridge *b);
/* The daemon is stopping: as if the app had shut its side (FIN after
 * the held bytes); the connection without a stream closes. */
void bridge_shutdown(struct bridge *b);

/* The bridges' phase of a loop turn: every queued bridge does its work
 * (until none is queued). */
void bridge_run_all(struct bridge_set *set);

/* The daemon's end (after the loop's last turn): every bridge lets its
 * connection go (tcp_release) and closes its stream; each is freed in its
 * stream's close callback, or now. */
void bridge_close_all(struct bridge_set *set);

/* Live connections (holding an engine connection) to the peer address
 * of ep ([limits] max_per_peer). */
unsigned bridge_count_peer(const struct bridge_set *set, const struct tcp_endpoint *ep);

/* "fin", "reset", ... (tou_proto.h TOU_END_*) for an ended's err. */
const char *bridge_end_reason(int err);

#endif

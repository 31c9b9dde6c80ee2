/*
 * toud.h - the daemon's context, passed down to every part, and the small
 * interfaces that have no header of their own.  docs/DESIGN.md section 2
 * is the file map; dependencies point one way:
 *
 *   main.c        options, startup, signals, reload, shutdown
 *   loop.c        the driver: the stack, the clock's use, the one timer,
 *                 the per-turn order                         (loop.h)
 *   api_server.c  the Unix-socket API: clients, request verbs (api.h)
 *   api_listen.c  LISTEN/ACCEPT: listeners and accept queues  (api_int.h)
 *   api_info.c    STATUS/LIST/STATS documents, end records    (api_int.h)
 *   bridge.c      one local byte stream <-> one TCP connection (bridge.h)
 *   lstream.c     a local stream handle and its write queue  (lstream.h)
 *   udp.c         UDP sockets, batched datagram I/O           (udp.h)
 *   udp_route.c   which socket and address each peer talks to (udp_route.h)
 *   shard.c       the shards' threads, locks, wake-ups, jobs (shard.h)
 *   usage.c       live connections for the limits, all shards (usage.h)
 *   endpoint.c    struct tcp_endpoint <-> sockaddr and text  (endpoint.h)
 *   resolve.c     non-blocking name resolution               (resolve.h)
 *   api_parse.c, api_json.c, config.c, log.c, notify.c, pcap.c  leaves
 *
 * There is one `struct toud` per daemon (main.c's stack frame) and one
 * `struct shard` per engine shard in it; every libuv handle's `data` and
 * the engine's callbacks.ctx lead back to one of them or to the object
 * that owns the handle.
 */
#ifndef TOUD_H
#define TOUD_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "tcp.h"

#define TOUD_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct pcap_writer;
struct loop;
struct udp;
struct udp_route;
struct bridge_set;
struct api;
struct fwd_set;
struct shard_job;
struct usage;
struct udp_route_live;

/* One engine shard: everything on the data path, touched by one libuv
 * loop only: the stack, its driver and timer, the UDP sockets and their
 * routes, the bridges, its part of the API server and of the forwards
 * (docs/DESIGN.md sections 5.1 and 5.8).  The engine's callbacks.ctx is
 * the shard.  Shard 0 runs on the process's loop (main thread); each
 * other one on its own thread and loop (shard.c), and the main thread
 * touches its state only under its lock (shard_lock). */
struct shard {
	struct toud *d;               /* the process: configuration, pcap, API */
	unsigned idx;                 /* 0 .. d->n_shards - 1 */
	uv_loop_t *loop;
	struct tcp_stack *stack;      /* loop.c makes and frees it */
	struct loop *drv;             /* loop.c */
	struct udp *udp;              /* udp.c */
	struct udp_route *route;      /* udp_route.c: made and freed by udp.c */
	struct bridge_set *bridges;   /* bridge.c */
	struct api *api;              /* api_server.c: its clients, listeners, end records */

	/* shard.c: the thread, its lock, its wake-up and the jobs other
	 * shards post to it */
	uv_loop_t own_loop;           /* idx > 0: sh->loop */
	pthread_t thread;
	int threaded;                 /* its own thread runs */
	int quit;                     /* under mu: finish once every handle closed */
	pthread_mutex_t mu;           /* its thread holds it while it runs */
	int kick_fd;                  /* eventfd: wakes it (jobs, a change under mu) */
	uv_poll_t kick_h;             /* shard 0: kick_fd on the process's loop */
	int kick_h_open;
	pthread_mutex_t jobs_mu;
	struct shard_job *jobs, **jobs_tail;
	/* datagrams that reached the wrong shard (no BPF steering) */
	uint64_t handed_on, handed_in, handoff_dropped;
	/* [daemon] busy_poll (loop.c): windows opened (a turn moved a
	 * datagram), loop iterations run without sleeping inside them, turns
	 * that moved a datagram found by polling (no wakeup needed) */
	uint64_t busy_windows, busy_polls, busy_hits;
};

struct toud {
	uv_loop_t *loop;              /* the process's loop: signals, API socket */
	struct toud_config cfg;
	const char *config_path;
	int config_explicit;          /* -c given: the file must exist */
	char **overrides;             /* -o arguments, in order */
	int n_overrides;
	const char *pcap_path;        /* --pcap (beats the config key) */

	struct pcap_writer *pcap;
	int stopping;                 /* SIGTERM seen: graceful shutdown */
	uint64_t started_us;

	/* socket activation: fds passed by systemd, -1 if none */
	int api_fd;
	int udp_fds[TOUD_MAX_UDP];
	int n_udp_fds;

	/* the engine shards and the parts, each owned by its file */
	struct shard *shards;         /* n_shards of them (loop.c) */
	unsigned n_shards;
	struct usage *usage;          /* live connections for the limits (usage.h) */
	struct udp_route_live *route_live; /* the shards' peers with live connections (udp_route.h) */
	/* local TCP ports whose datagrams all go to shard 0 (its [service]
	 * listeners; udp_pin_port()): one bit each, read by every shard */
	uint8_t pinned_ports[65536 / 8];
	struct api *api;              /* shard 0's: the API socket's */              /* api_server.c */
	struct fwd_set *fwd;          /* forward.c: [forward] and [service], on shard 0 */
};

/* The clock: monotonic microseconds (uv_hrtime() / 1000).  Inline so that
 * every part reads the same clock without calling up into the driver; the
 * driver (loop.c) is the only one that arms a timer from it. */
static inline tcp_time_t toud_now(void)
{
	return uv_hrtime() / 1000u;
}

/* Every user pointer the daemon gives the engine (tcp_listen,
 * tcp_connect, tcp_conn_set_user) points at one of these, embedded in its
 * owner.  loop.c delivers each engine event to owner->event.  An event
 * handler only NOTES the event (and queues its owner for the bridges'
 * phase of the turn): it never calls the engine or does I/O, so no daemon
 * code runs inside an engine call (docs/DESIGN.md section 5). */
struct tcp_owner {
	void (*event)(struct tcp_owner *self, struct tcp_conn *c, enum tcp_event ev, int err);
};

/* notify.c */
void notify_ready(const char *status);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_stopping(void);
void notify_reloading(void);
/* WATCHDOG=1 at half of WatchdogSec with the caller's timer: 1 if it
 * started (then notify_watchdog_stop() closes it), 0 if no watchdog. */
int notify_watchdog_start(uv_loop_t *loop, uv_timer_t *wd_timer);
void notify_watchdog_stop(uv_timer_t *wd_timer);
/* socket activation: classifies sd_listen_fds() into d->api_fd / d->udp_fds */
int notify_listen_fds(struct toud *d);

/* pcap.c */
struct pcap_writer *pcap_open(const char *path, char *err, size_t errlen);
/* One segment: dir_out 1 = sent to `peer`, 0 = received from `peer`.
 * local = our address of the same family (may be the wildcard). */
void pcap_segment(struct pcap_writer *w, int dir_out, const struct tcp_endpoint *peer,
		  const struct sockaddr *local, const uint8_t *seg, size_t len, uint64_t now_us);
void pcap_flush(struct pcap_writer *w);
void pcap_close(struct pcap_writer *w);

#endif

/*
 * toud.h - the daemon's shared state and the interfaces between its
 * files (one file, one role):
 *   main.c     options, startup, signals, reload, shutdown
 *   config.c   toud.conf and -o overrides      (config.h)
 *   log.c      stderr logging, rate limits      (log.h)
 *   udp.c      UDP sockets, batched I/O, the engine's clock and timer
 *   udp_route.c  which socket and address each peer talks to (udp_route.h)
 *   api.c      the Unix-socket API server and the streams it carries
 *   api_parse.c  request-line parser            (api_parse.h)
 *   api_json.c   JSON documents of STATUS/LIST/STATS
 *   resolve.c  non-blocking name resolution
 *   notify.c   sd_notify and the watchdog, socket activation
 *   pcap.c     --pcap capture of every segment
 */
#ifndef TOUD_H
#define TOUD_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "tcp.h"

#define TOUD_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct pcap_writer;

/* UDP I/O counters (STATS "udp" object). */
struct udp_counters {
	uint64_t rx_datagrams, rx_bytes, rx_truncated, rx_errors, rx_batches;
	uint64_t tx_datagrams, tx_bytes, tx_errors, tx_dropped, tx_batches, tx_gso, tx_nosocket;
};

struct toud {
	uv_loop_t *loop;
	struct toud_config cfg;
	const char *config_path;
	int config_explicit;          /* -c given: the file must exist */
	char **overrides;             /* -o arguments, in order */
	int n_overrides;
	const char *pcap_path;        /* --pcap (beats the config key) */

	struct tcp_stack *stack;
	struct pcap_writer *pcap;
	struct udp_counters udp;
	int stopping;                 /* SIGTERM seen: graceful shutdown */
	uint64_t started_us;

	/* socket activation: fds passed by systemd, -1 if none */
	int api_fd;
	int udp_fds[TOUD_MAX_UDP];
	int n_udp_fds;
};

extern struct toud toud;

/* Monotonic microseconds (uv_hrtime() / 1000). */
tcp_time_t toud_now(void);

/* udp.c */
int udp_start(struct toud *d);                /* bind/adopt sockets, timer, prepare/check */
void udp_stop(struct toud *d);                /* close every handle */
void udp_free_buffers(void);                  /* after the loop ended */
void udp_emit(void *ctx, const struct tcp_endpoint *to, const uint8_t *seg, size_t len);
uint8_t *udp_emit_buf(void *ctx, const struct tcp_endpoint *to, size_t len); /* tcp.h emit_buf */
void engine_kick(void);                       /* flush sends, rearm the timer (also runs each loop turn) */
int udp_have_family(int family);              /* 4 or 6: is there a socket? */
/* "<ip>:<udp-port>" of our socket for that family */
void udp_local_name(int family, char *buf, size_t len);
int udp_describe(char *buf, size_t len);      /* "0.0.0.0:9811 [::]:9811" */
int udp_json(char *buf, size_t len);          /* counters as a JSON object */

/* api.c */
int api_start(struct toud *d);                /* bind or adopt the API socket */
void api_stop_accepting(void);                /* SIGTERM: close the listening socket */
void api_shutdown_streams(void);              /* SIGTERM: FIN every stream, fail waiters */
void api_abort_all(void);                     /* shutdown deadline */
unsigned api_live_connections(void);          /* connections still owned */
void api_event(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err);
void api_config_changed(void);                /* limits may have changed */
void api_close(void);                         /* final: close remaining handles */
void api_reap(void);                          /* frees ended conns (each loop turn) */
void api_pump(void);                          /* received data -> apps (each loop turn) */
void api_free(void);                          /* after the loop ended */

/* endpoint helpers (api.c) */
void endpoint_format(const struct tcp_endpoint *ep, char *buf, size_t len); /* "1.2.3.4:9811" */
int endpoint_from_sockaddr(struct tcp_endpoint *ep, const struct sockaddr *sa);
int endpoint_to_sockaddr(const struct tcp_endpoint *ep, struct sockaddr_storage *ss, socklen_t *sl);

/* notify.c */
void notify_ready(const char *status);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_stopping(void);
void notify_reloading(void);
int notify_watchdog_start(uv_loop_t *loop);
void notify_watchdog_stop(void);
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

/* resolve.c */
struct resolve_req;
typedef void (*resolve_cb)(void *arg, int status, const struct tcp_endpoint *ep);
/* Resolves host (name or literal) for UDP port `port`; cb runs exactly once,
 * unless resolve_cancel() was called first.  Literals answer synchronously. */
int resolve_start(uv_loop_t *loop, const char *host, uint16_t port,
		  resolve_cb cb, void *arg, struct resolve_req **out);
void resolve_cancel(struct resolve_req *r);

#endif

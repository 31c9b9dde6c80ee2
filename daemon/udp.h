/*
 * udp.h - the UDP side of toud: its sockets and batched datagram I/O.
 * udp.c only moves datagrams: each one received goes to the input
 * function the driver gave (loop.c: tcp_input), each segment the engine
 * emits is queued and leaves at udp_flush() (the driver, once per loop
 * turn) or when the queue fills.
 */
#ifndef TOUD_UDP_H
#define TOUD_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "tcp.h"
#include "toud.h"

/* UDP I/O counters (STATS "udp" object). */
struct udp_counters {
	uint64_t rx_datagrams, rx_bytes, rx_truncated, rx_errors, rx_batches;
	uint64_t rx_syn_shed; /* SYNs of full batches beyond RECV_SYN_SHARE, dropped unread (udp.c) */
	uint64_t tx_datagrams, tx_bytes, tx_errors, tx_dropped, tx_batches, tx_gso, tx_nosocket;
};

/* One datagram received from `from` at `now`. */
typedef void (*udp_input_fn)(void *arg, const struct tcp_endpoint *from, const uint8_t *p, size_t len,
			     tcp_time_t now);

/* Binds sh->d->cfg's addresses (or adopts sh->d->udp_fds) and starts
 * receiving on sh->loop into input(arg, ...); sh->udp and sh->route are
 * set.  0 or a negative libuv code (logged). */
int udp_start(struct shard *sh, udp_input_fn input, void *arg);
/* Sends every queued datagram (a blocked socket: what its buffer takes). */
void udp_flush(struct udp *u);
/* A last flush, then every socket closes (freed in its close callback). */
void udp_stop(struct udp *u);
/* After the loop ended: the buffers and u itself. */
void udp_free(struct udp *u);

/* The engine's emit and emit_buf hooks (tcp.h callbacks) for u. */
void udp_emit(struct udp *u, const struct tcp_endpoint *to, const uint8_t *seg, size_t len);
uint8_t *udp_emit_buf(struct udp *u, const struct tcp_endpoint *to, size_t len);
/* The engine's peer hook (tcp.h callbacks.peer), called during the
 * tcp_input of a datagram udp.c hands over: learns the reply route of
 * `from` from that datagram (udp_route_learn with the engine's proof). */
void udp_peer_proof(struct udp *u, const struct tcp_endpoint *from, int proof);
/* Where the datagram being input arrived (during the input function's
 * call; NULL otherwise), and the same for a datagram another shard
 * received and handed on (loop.c): set before its tcp_input, so that the
 * engine's proof teaches this shard's route table; NULL clears it. */
struct udp_route_arrival;
const struct udp_route_arrival *udp_arrival(const struct udp *u);
void udp_arrival_set(struct udp *u, const struct tcp_endpoint *from, const struct udp_route_arrival *a);

/* Several shards (docs/DESIGN.md section 5.8): every datagram to local
 * TCP port `port` goes to shard 0 (on) or by the ports' hash again (off):
 * sh->d->pinned_ports and the steering program of u's sockets (u: shard
 * 0's).  For the [service] listeners, which live on shard 0: through
 * shard_pin_port(). */
void udp_pin_port(struct udp *u, uint16_t port, int on);
int udp_have_family(const struct udp *u, int family);  /* 4 or 6: is there a socket? */
/* "<ip>:<udp-port>" of our socket for that family */
void udp_local_name(const struct udp *u, int family, char *buf, size_t len);
int udp_describe(const struct udp *u, char *buf, size_t len); /* "0.0.0.0:9811 [::]:9811" */
int udp_json(const struct udp *u, char *buf, size_t len);     /* counters as a JSON object */
struct udp_err_counters;
/* Adds u's counters to *c and *e (STATS over the shards); the JSON of a sum. */
void udp_counters_add(const struct udp *u, struct udp_counters *c, struct udp_err_counters *e);
int udp_counters_json(const struct udp_counters *c, const struct udp_err_counters *e, char *buf, size_t len);
/* Hands the ICMP errors and failed sends read since the last call to the
 * engine (udp_err.c; tcp_icmp_error): the driver, once per turn, outside
 * any engine call.  Returns how many. */
struct udp_err_pending;
unsigned udp_deliver_errors(struct udp *u, struct tcp_stack *st, tcp_time_t now,
			    int (*other)(void *arg, const struct udp_err_pending *p), void *arg);

#endif

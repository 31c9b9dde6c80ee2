/*
 * udp_err.h - ICMP errors and failed sends on toud's UDP sockets
 * (udp_err.c), handed to the engine (tcp_icmp_error, tcp_send_failed).
 *
 * udp.c calls: udp_err_sock_init() when it takes a socket (IP_RECVERR /
 * IPV6_RECVERR, don't-fragment), udp_err_read() when the socket reports
 * an error (EPOLLERR) or a send failed, udp_err_send_failed() for a
 * datagram the kernel refused; the driver (loop.c, through
 * udp_deliver_errors()) calls udp_err_deliver() once per loop turn, outside
 * any engine call: what was read is queued until then, because a send (and
 * so a read of the error queue) can happen inside an engine callback,
 * where the engine must not be re-entered.  The state is a struct udp_err
 * (one per struct udp).
 */
#ifndef TOUD_UDP_ERR_H
#define TOUD_UDP_ERR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tcp.h"

/* Errors queued between udp_err_read()/udp_err_send_failed() and
 * udp_err_deliver(); more in one loop turn are dropped (counted). */
#define UDP_ERR_PENDING 64

struct udp_err_counters {
	uint64_t icmp;          /* ICMP / ICMPv6 errors read from the error queues */
	uint64_t icmp_short;    /* ... whose quote was too short to name a connection */
	uint64_t local;         /* errors of this host read from the error queues */
	uint64_t send_failed;   /* datagrams the kernel refused, handed to the engine */
	uint64_t overflow;      /* errors dropped: more than UDP_ERR_PENDING per turn */
};

struct udp_err_pending {
	struct tcp_endpoint peer;
	uint16_t lport, rport;
	uint32_t seq;
	struct tcp_icmp e;
};

struct udp_err {
	struct udp_err_pending q[UDP_ERR_PENDING];
	unsigned n;
	uint32_t local_mtu; /* ee_info of the latest local EMSGSIZE */
	struct udp_err_counters cnt;
	int warned;         /* "unavailable" logged */
};

/* Error reporting and the don't-fragment bit for one UDP socket of
 * `family` (4 or 6): IP_RECVERR and IP_MTU_DISCOVER = IP_PMTUDISC_PROBE
 * (IPv6 alike).  Returns 0 or -errno (the socket works without; logged). */
int udp_err_sock_init(struct udp_err *x, int fd, int family);
/* Reads the socket's error queue until it is empty (bounded), queueing
 * each ICMP error for udp_err_deliver().  Returns the entries read. */
unsigned udp_err_read(struct udp_err *x, int fd);
/* sendmsg() of `seg` (a TCP segment, len bytes) to `to` failed with errno
 * `err` (after a retry: see udp.c): queued for udp_err_deliver(). */
void udp_err_send_failed(struct udp_err *x, const struct sockaddr *to, const uint8_t *seg, size_t len,
			 int err);
/* Whether anything waits for udp_err_deliver(). */
int udp_err_pending(const struct udp_err *x);
/* Hands every queued error to the engine; returns how many. */
unsigned udp_err_deliver(struct udp_err *x, struct tcp_stack *st, tcp_time_t now);
/* ... except those for which other(arg, entry) returns 1: with several
 * shards an ICMP error reaches the socket the kernel picks, and the
 * driver hands it to the shard of its connection (docs/DESIGN.md 5.8). */
unsigned udp_err_deliver_to(struct udp_err *x, struct tcp_stack *st, tcp_time_t now,
			    int (*other)(void *arg, const struct udp_err_pending *p), void *arg);

/* Pure mappings (unit-tested): an ICMP (family 4) or ICMPv6 (family 6)
 * type and code to the engine's kind, and a send errno to a kind; 0 when
 * the message concerns no connection (e.g. an echo). */
int udp_err_icmp_kind(int family, uint8_t type, uint8_t code);
int udp_err_errno_kind(int err);

#endif

/*
 * udp_route.h - which of our UDP sockets, and which of our addresses, each
 * peer talks to (udp_route.c), so that replies leave from there.
 *
 * udp.c makes the table (sh->route, one per shard) and calls four hooks:
 * udp_route_sock_init() when it takes a socket, udp_route_learn() for
 * every datagram the engine vouches for (tcp.h callbacks.peer: accepted by
 * a connection, or answered), udp_route_lookup() for every segment queued and
 * udp_route_add_cmsg() for every message sent.  bridge.c pins the entries
 * of peers with live connections; the API asks for the local address it
 * shows (udp_route_local_name()).
 *
 * With several shards (docs/DESIGN.md section 5.8) each has its own table,
 * read and written by its thread only, and the daemon one `struct
 * udp_route_live` they all share: the peers with live connections on any
 * shard and their proven routes, under a mutex taken only when a
 * connection starts or ends and when a datagram would change a shard's
 * entry - never for the lookups and the unchanged learning of the data
 * path.  So a spoofed datagram that lands on a shard without a
 * connection to that peer cannot move the peer's route there either.
 */
#ifndef TOUD_UDP_ROUTE_H
#define TOUD_UDP_ROUTE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tcp.h"

/* The table: UDP_ROUTE_SETS sets of UDP_ROUTE_WAYS entries, a keyed hash
 * of the peer chooses the set, the least recently used unpinned entry of
 * a full set is replaced.  Fixed size: a flood of spoofed sources only
 * replaces entries, it never grows the table. */
#define UDP_ROUTE_WAYS 4
#define UDP_ROUTE_SETS 4096

/* Control-message room the hooks need, on receive and on send. */
#define UDP_ROUTE_CMSG_SPACE CMSG_SPACE(sizeof(struct in6_pktinfo))

/* The source to put on a datagram to a peer. */
struct udp_route_src {
	uint8_t family;   /* 0: none, the kernel chooses; else 4 or 6 */
	uint8_t addr[16]; /* the local address the peer last sent to */
	int ifindex;      /* IPv6 link-local sources only, else 0 */
};

struct udp_route_counters {
	uint64_t learned;  /* peers entered into the table */
	uint64_t changed;  /* a peer moved to another local address or socket */
	uint64_t evicted;  /* entries replaced by another peer's */
	uint64_t full;     /* not learned: every entry of the set was pinned */
	uint64_t kept;     /* an unproven datagram would have moved a pinned
	                      entry (a peer with live connections): not moved */
	uint64_t misses;   /* segments queued for a peer with no entry */
	unsigned entries;  /* in use now */
	unsigned pinned;   /* of which pinned by live connections */
	int pktinfo;       /* 1 IP(V6)_PKTINFO works, 0 not (yet) enabled, -1 failed */
};

/* Where a datagram arrived: our socket and our address it was sent to.
 * A socket is named by its id, the index of its address in the
 * configuration (udp.c), the same in every shard, so that a datagram
 * handed on to another shard teaches that shard's table too. */
struct udp_route_arrival {
	int sock;            /* the socket's id, >= 0 */
	uint8_t have_local;  /* local is known */
	uint8_t wildcard;    /* the socket is bound to a wildcard: send with PKTINFO */
	uint16_t local_port; /* its UDP port */
	uint8_t local[16];   /* our address the peer sent to */
	int ifindex;         /* where it arrived (IPv6 link-local sources) */
};

/* The live peers shared by the shards (see above); NULL when out of memory. */
struct udp_route_live;
struct udp_route_live *udp_route_live_new(void);
void udp_route_live_free(struct udp_route_live *lv);

/* A shard's table (empty, keyed at its first use), sharing `live` with
 * the other shards' (NULL: one shard, the table alone knows the pins);
 * NULL when out of memory. */
struct udp_route;
struct udp_route *udp_route_new(struct udp_route_live *live);
void udp_route_free(struct udp_route *rt);

/* Socket hook (udp.c, when it takes a UDP socket bound to `bound`):
 * asks for IP_PKTINFO / IPV6_RECVPKTINFO on fd.  Returns 0 or a negative
 * errno; a failure is logged once and toud goes on without (replies then
 * leave from the address the kernel picks, as before). */
int udp_route_sock_init(struct udp_route *rt, int fd, const struct sockaddr *bound);

/* Receive hook (udp.c, every datagram received): *a = where m, from a
 * peer of `family` (4 or 6), arrived: socket `sock` bound to `bound`, and
 * the datagram's destination address (its IP_PKTINFO / IPV6_PKTINFO
 * control message; the bound address if that is not a wildcard). */
void udp_route_arrival(struct udp_route_arrival *a, int sock, const struct sockaddr *bound, int family,
		       const struct msghdr *m);

/* Receive hook (udp.c, for a datagram the engine vouched for during its
 * tcp_input: tcp.h callbacks.peer): `from` sent a datagram that arrived
 * as *a; the peer's replies leave from there from now on.  proof is the
 * engine's (enum tcp_peer_proof): TCP_PEER_ACCEPTED (a connection accepted
 * the segment) may move any entry; TCP_PEER_UNPROVEN (answered, but anyone
 * could have sent it) fills a new entry or moves an unpinned one, never
 * the route of a peer with live connections on any shard (counted in
 * `kept`; the shard's entry takes the route the live connections proved):
 * one spoofed datagram cannot turn a live connection's replies away from
 * its peer. */
void udp_route_learn(struct udp_route *rt, const struct tcp_endpoint *from, const struct udp_route_arrival *a,
		     int proof);
/* The same from a received msghdr (udp_route_arrival() + udp_route_learn()). */
void udp_route_learn_msg(struct udp_route *rt, int sock, const struct sockaddr *bound, const struct tcp_endpoint *from,
			 const struct msghdr *m, int proof);

/* Send hook (udp.c, every segment queued): the id of the socket learned
 * for `to`, or -1 (then the family's first socket, and the kernel's
 * choice of source).  *src: the source address to send from, family 0 if
 * none is needed (no entry, no PKTINFO, or a socket bound to a specific
 * address). */
int udp_route_lookup(struct udp_route *rt, const struct tcp_endpoint *to, struct udp_route_src *src);

/* Send hook (udp.c, every message built): appends an IP_PKTINFO /
 * IPV6_PKTINFO control message carrying src (nothing if src->family is 0)
 * to m.  buf (cap bytes) is m's control buffer; if m->msg_control is set
 * already (UDP_SEGMENT), its msg_controllen bytes are kept in front.
 * Returns 0, or -1 if there was no room (m unchanged). */
int udp_route_add_cmsg(struct msghdr *m, void *buf, size_t cap, const struct udp_route_src *src);

/* "<ip>:<udp-port>" ("[<ip6>]:<udp-port>") of the local side `remote`
 * talks to.  Returns 0, or -1 if it is not known (no entry, or no
 * PKTINFO on a wildcard socket): the caller shows the bound address. */
int udp_route_local_name(struct udp_route *rt, const struct tcp_endpoint *remote, char *buf, size_t len);

/* bridge.c: a connection with `remote` is live (pin) / gone (unpin).  A pinned
 * entry is never replaced by another peer's; pin makes an empty entry if
 * there is none yet (an active open), filled by the first reply.  With a
 * shared `live`, the peer is live for every shard while one pins it. */
void udp_route_pin(struct udp_route *rt, const struct tcp_endpoint *remote);
void udp_route_unpin(struct udp_route *rt, const struct tcp_endpoint *remote);

/* Forget every entry (udp.c, when its sockets close); counters stay. */
void udp_route_reset(struct udp_route *rt);
/* Sets the hash key (random at the first use otherwise; for tests). */
void udp_route_set_key(struct udp_route *rt, uint64_t k0, uint64_t k1);
void udp_route_get_counters(const struct udp_route *rt, struct udp_route_counters *out);
/* The counters as a JSON object (STATS "route"). */
int udp_route_json(const struct udp_route *rt, char *buf, size_t len);
/* STATS over the shards: adds rt's counters to *sum (pktinfo: the best
 * of them); the JSON of such a sum. */
void udp_route_counters_add(const struct udp_route *rt, struct udp_route_counters *sum);
int udp_route_counters_json(const struct udp_route_counters *c, char *buf, size_t len);

#endif

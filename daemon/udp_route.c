/*
 * udp_route.c - replies leave from the socket and the address the peer
 * talked to.
 *
 * On a multi-homed host a socket bound to a wildcard (0.0.0.0, [::]) lets
 * the kernel pick the source address of each datagram sent; a peer that
 * sent to our address X then gets replies from Y, and as it keys its
 * connections by remote IP and UDP port (so do we: docs/DESIGN.md section 3), the
 * handshake fails, or a NAT or a firewall drops the replies.  Likewise with
 * several sockets of one family (udp = 10.0.0.1:9811 192.168.1.1:9811) a
 * peer must get its replies from the socket it talked to.
 *
 * So datagrams received teach a small table: peer (family, IP, UDP
 * port) -> our socket, and our address the datagram was sent to (from the
 * IP_PKTINFO / IPV6_PKTINFO control message, RFC 3542 6.1).  Only the
 * datagrams the engine vouches for teach it (tcp.h callbacks.peer, called
 * during tcp_input): a segment a connection accepted (it passed the
 * sequence and ACK checks, or completed a handshake) moves the entry; one
 * the engine only answers (a SYN to a listener, a RST to a closed port)
 * fills a new entry or an unpinned one, never the entry of a peer with
 * live connections.  A spoofed datagram (source = a peer, sent to another
 * of our addresses) thus cannot turn a live connection's replies away
 * from its peer, which would answer them with RSTs.  Every datagram
 * sent to the peer then leaves from that socket, and from a wildcard socket
 * with an IP_PKTINFO (ipi_spec_dst) / IPV6_PKTINFO (ipi6_addr) control
 * message naming that address as the source.  A peer with no entry (an
 * active open before the first reply) gets the family's first socket and
 * the kernel's choice of source, as before.
 *
 * The table has a fixed size (UDP_ROUTE_SETS x UDP_ROUTE_WAYS): a keyed hash
 * of the peer (its key is random, so a sender cannot aim at one set) picks
 * a set, and a new peer replaces the least recently seen entry of its set
 * that no live connection pins.  A flood of spoofed sources thus costs no
 * memory; it may replace the entries of peers without a connection, which
 * then get the kernel's choice until their next datagram.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "udp_route.h"

struct entry {
	uint8_t family;      /* of the peer; 0 = free */
	uint8_t addr[16];    /* the peer's IP */
	uint16_t port;       /* the peer's UDP port */
	uint8_t have_local;  /* local is known */
	uint8_t wildcard;    /* sock is bound to a wildcard: send with PKTINFO */
	uint16_t local_port; /* sock's UDP port */
	uint8_t local[16];   /* our address the peer sent to */
	int ifindex;         /* where it arrived (for IPv6 link-local sources) */
	uint32_t pins;       /* live connections with this peer */
	uint32_t stamp;      /* rt->tick of the last datagram: LRU */
	void *sock;          /* NULL: pinned, not learned yet */
};

struct udp_route {
	struct entry table[UDP_ROUTE_SETS][UDP_ROUTE_WAYS];
	uint64_t key0, key1;
	int keyed;
	uint32_t tick;
	struct udp_route_counters cnt;
	int pktinfo_warned;
};

struct udp_route *udp_route_new(void)
{
	return calloc(1, sizeof(struct udp_route));
}

void udp_route_free(struct udp_route *rt)
{
	free(rt);
}

void udp_route_set_key(struct udp_route *rt, uint64_t k0, uint64_t k1)
{
	rt->key0 = k0;
	rt->key1 = k1;
	rt->keyed = 1;
}

static void make_key(struct udp_route *rt)
{
	uint64_t k[2];
	if (getrandom(k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
		k[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4full ^ (uint64_t)(uintptr_t)&k;
	}
	udp_route_set_key(rt, k[0], k[1]);
}

/* A keyed 64-bit mix (murmur3's finalizer rounds) of the peer. */
static uint64_t fmix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static struct entry *set_of(struct udp_route *rt, const struct tcp_endpoint *ep)
{
	if (!rt->keyed)
		make_key(rt);
	uint64_t a, b;
	memcpy(&a, ep->addr, 8);
	memcpy(&b, ep->addr + 8, 8);
	uint64_t h = fmix(a ^ rt->key0);
	h = fmix(h ^ b ^ rt->key1);
	h = fmix(h ^ ((uint64_t)ep->family << 16 | ep->udp_port) ^ (rt->key0 >> 17 | rt->key0 << 47));
	return rt->table[h % UDP_ROUTE_SETS];
}

static int same_peer(const struct entry *e, const struct tcp_endpoint *ep)
{
	int alen = ep->family == 6 ? 16 : 4;
	return e->family == ep->family && e->port == ep->udp_port && memcmp(e->addr, ep->addr, (size_t)alen) == 0;
}

static struct entry *find(struct udp_route *rt, const struct tcp_endpoint *ep)
{
	struct entry *set = set_of(rt, ep);
	for (int w = 0; w < UDP_ROUTE_WAYS; w++)
		if (set[w].family && same_peer(&set[w], ep))
			return &set[w];
	return NULL;
}

/* The entry of ep, made (in a free slot or over the least recently seen
 * unpinned one) if there is none.  NULL if every entry of the set is pinned. */
static struct entry *find_or_make(struct udp_route *rt, const struct tcp_endpoint *ep)
{
	struct entry *set = set_of(rt, ep), *free_slot = NULL, *lru = NULL;
	uint32_t oldest = 0;
	for (int w = 0; w < UDP_ROUTE_WAYS; w++) {
		struct entry *e = &set[w];
		if (!e->family) {
			if (!free_slot)
				free_slot = e;
		} else if (same_peer(e, ep)) {
			return e;
		} else if (!e->pins && (!lru || rt->tick - e->stamp > oldest)) {
			lru = e;
			oldest = rt->tick - e->stamp;
		}
	}
	struct entry *victim = free_slot ? free_slot : lru;
	if (!victim) {
		rt->cnt.full++;
		return NULL;
	}
	if (victim->family)
		rt->cnt.evicted++;
	else
		rt->cnt.entries++;
	memset(victim, 0, sizeof *victim);
	victim->family = ep->family;
	memcpy(victim->addr, ep->addr, ep->family == 6 ? 16 : 4);
	victim->port = ep->udp_port;
	victim->stamp = rt->tick;
	return victim;
}

static int is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

int udp_route_sock_init(struct udp_route *rt, int fd, const struct sockaddr *bound)
{
	int one = 1, r;
	if (bound->sa_family == AF_INET6)
		r = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
	else
		r = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
	if (r != 0) {
		int e = errno;
		rt->cnt.pktinfo = -1;
		if (!rt->pktinfo_warned++)
			log_warn("udp: %s unavailable (%s): on a host with several addresses, replies "
				 "leave from the address the kernel picks",
				 bound->sa_family == AF_INET6 ? "IPV6_RECVPKTINFO" : "IP_PKTINFO", strerror(e));
		return -e;
	}
	if (rt->cnt.pktinfo == 0)
		rt->cnt.pktinfo = 1;
	return 0;
}

/* Our address that m was sent to, from its IP_PKTINFO / IPV6_PKTINFO
 * control message.  Returns 1 if found (and usable as a source). */
static int dest_of(const struct msghdr *m, int family, uint8_t addr[16], int *ifindex)
{
	if (!m->msg_control || m->msg_controllen < sizeof(struct cmsghdr))
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (family == 4 && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			/* ipi_spec_dst: the local address to answer from (for a
			 * datagram sent to a broadcast address, the interface's) */
			if (pi.ipi_spec_dst.s_addr == htonl(INADDR_ANY) || IN_MULTICAST(ntohl(pi.ipi_spec_dst.s_addr)))
				return 0;
			memcpy(addr, &pi.ipi_spec_dst, 4);
			*ifindex = pi.ipi_ifindex;
			return 1;
		}
		if (family == 6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			if (IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr) || IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr))
				return 0;
			memcpy(addr, &pi.ipi6_addr, 16);
			*ifindex = (int)pi.ipi6_ifindex;
			return 1;
		}
	}
	return 0;
}

void udp_route_learn(struct udp_route *rt, void *sock, const struct sockaddr *bound, const struct tcp_endpoint *from,
		     const struct msghdr *m, int proof)
{
	uint8_t local[16] = { 0 };
	int ifindex = 0, have = 0;
	int wild = is_wildcard(bound);
	uint16_t lport = 0;
	if (bound->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)bound;
		lport = ntohs(s6->sin6_port);
		if (!wild) {
			memcpy(local, &s6->sin6_addr, 16);
			have = 1;
		}
	} else if (bound->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)bound;
		lport = ntohs(s4->sin_port);
		if (!wild) {
			memcpy(local, &s4->sin_addr, 4);
			have = 1;
		}
	} else {
		return;
	}
	if (wild)
		have = dest_of(m, from->family, local, &ifindex);
	rt->tick++;
	struct entry *e = find_or_make(rt, from);
	if (!e)
		return;
	e->stamp = rt->tick;
	if (!e->sock) {
		rt->cnt.learned++;
	} else if (e->sock == sock && e->have_local == have && e->ifindex == ifindex &&
		   memcmp(e->local, local, sizeof local) == 0) {
		return; /* the usual case: nothing new */
	} else if (e->pins && proof != TCP_PEER_ACCEPTED) {
		rt->cnt.kept++; /* a live connection's route: only its own segments move it */
		return;
	} else {
		rt->cnt.changed++;
	}
	e->sock = sock;
	e->have_local = (uint8_t)have;
	e->wildcard = (uint8_t)wild;
	e->local_port = lport;
	memcpy(e->local, local, sizeof local);
	e->ifindex = ifindex;
}

void *udp_route_lookup(struct udp_route *rt, const struct tcp_endpoint *to, struct udp_route_src *src)
{
	src->family = 0;
	struct entry *e = find(rt, to);
	if (!e || !e->sock) {
		rt->cnt.misses++;
		return NULL;
	}
	if (e->wildcard && e->have_local) {
		src->family = e->family;
		memcpy(src->addr, e->local, sizeof src->addr);
		/* a link-local source names its link (RFC 4007 6) */
		src->ifindex = e->family == 6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)e->local) ? e->ifindex : 0;
	}
	return e->sock;
}

int udp_route_add_cmsg(struct msghdr *m, void *buf, size_t cap, const struct udp_route_src *src)
{
	if (!src->family)
		return 0;
	size_t used = m->msg_control ? m->msg_controllen : 0;
	size_t dlen = src->family == 6 ? sizeof(struct in6_pktinfo) : sizeof(struct in_pktinfo);
	if (m->msg_control && m->msg_control != buf)
		return -1;
	if (used + CMSG_SPACE(dlen) > cap)
		return -1;
	struct cmsghdr *c = (struct cmsghdr *)((char *)buf + used);
	memset(c, 0, CMSG_SPACE(dlen));
	c->cmsg_len = CMSG_LEN(dlen);
	if (src->family == 6) {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof pi);
		memcpy(&pi.ipi6_addr, src->addr, 16);
		pi.ipi6_ifindex = (unsigned)src->ifindex;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
	} else {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof pi);
		memcpy(&pi.ipi_spec_dst, src->addr, 4); /* the source; ipi_ifindex 0: routing picks the link */
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
	}
	m->msg_control = buf;
	m->msg_controllen = used + CMSG_SPACE(dlen);
	return 0;
}

int udp_route_local_name(struct udp_route *rt, const struct tcp_endpoint *remote, char *buf, size_t len)
{
	struct entry *e = find(rt, remote);
	if (!e || !e->sock || !e->have_local)
		return -1;
	char ip[INET6_ADDRSTRLEN];
	if (!inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->local, ip, sizeof ip))
		return -1;
	if (e->family == 6)
		snprintf(buf, len, "[%s]:%u", ip, e->local_port);
	else
		snprintf(buf, len, "%s:%u", ip, e->local_port);
	return 0;
}

void udp_route_pin(struct udp_route *rt, const struct tcp_endpoint *remote)
{
	struct entry *e = find_or_make(rt, remote);
	if (e && !e->pins++)
		rt->cnt.pinned++;
}

void udp_route_unpin(struct udp_route *rt, const struct tcp_endpoint *remote)
{
	struct entry *e = find(rt, remote);
	if (e && e->pins && !--e->pins) {
		rt->cnt.pinned--;
		e->stamp = rt->tick; /* just used: the last to go */
	}
}

void udp_route_reset(struct udp_route *rt)
{
	memset(rt->table, 0, sizeof rt->table);
	rt->cnt.entries = 0;
	rt->cnt.pinned = 0;
}

void udp_route_get_counters(const struct udp_route *rt, struct udp_route_counters *out)
{
	*out = rt->cnt;
}

int udp_route_json(const struct udp_route *rt, char *buf, size_t len)
{
	return udp_route_counters_json(&rt->cnt, buf, len);
}

void udp_route_counters_add(const struct udp_route *rt, struct udp_route_counters *sum)
{
	const struct udp_route_counters *c = &rt->cnt;
	sum->learned += c->learned;
	sum->changed += c->changed;
	sum->evicted += c->evicted;
	sum->full += c->full;
	sum->kept += c->kept;
	sum->misses += c->misses;
	sum->entries += c->entries;
	sum->pinned += c->pinned;
	if (c->pktinfo > sum->pktinfo)
		sum->pktinfo = c->pktinfo;
}

int udp_route_counters_json(const struct udp_route_counters *cnt, char *buf, size_t len)
{
	return snprintf(buf, len,
			"{\"pktinfo\":%s,\"entries\":%u,\"pinned\":%u,\"learned\":%llu,\"changed\":%llu,"
			"\"evicted\":%llu,\"full\":%llu,\"kept\":%llu,\"misses\":%llu}",
			cnt->pktinfo > 0 ? "true" : "false", cnt->entries, cnt->pinned, (unsigned long long)cnt->learned,
			(unsigned long long)cnt->changed, (unsigned long long)cnt->evicted,
			(unsigned long long)cnt->full, (unsigned long long)cnt->kept,
			(unsigned long long)cnt->misses);
}

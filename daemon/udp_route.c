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
#include <pthread.h>
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
	uint8_t learned;     /* r is set (else: pinned, not learned yet) */
	uint32_t pins;       /* this shard's live connections with this peer */
	uint32_t stamp;      /* rt->tick of the last datagram: LRU */
	struct udp_route_arrival r; /* where the peer talks to us */
};

/* A peer with live connections, in the shared table. */
struct live_peer {
	struct live_peer *next;
	uint8_t family, addr[16];
	uint16_t port;
	uint8_t have;        /* r is known */
	uint32_t pins;       /* live connections on every shard */
	struct udp_route_arrival r; /* their route: the last proven */
};

struct udp_route_live {
	pthread_mutex_t mu;          /* held only inside this file's calls */
	struct live_peer **buckets;
	unsigned nbuckets, n;
	uint64_t key0, key1;
};

struct udp_route {
	struct entry table[UDP_ROUTE_SETS][UDP_ROUTE_WAYS];
	uint64_t key0, key1;
	int keyed;
	uint32_t tick;
	struct udp_route_counters cnt;
	int pktinfo_warned;
	struct udp_route_live *live; /* shared by the shards, or NULL */
};

static void random_key(uint64_t k[2])
{
	if (getrandom(k, 2 * sizeof *k, GRND_NONBLOCK) != (ssize_t)(2 * sizeof *k)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
		k[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4full ^ (uint64_t)(uintptr_t)k;
	}
}

struct udp_route *udp_route_new(struct udp_route_live *live)
{
	struct udp_route *rt = calloc(1, sizeof(struct udp_route));
	if (rt)
		rt->live = live;
	return rt;
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

static uint64_t peer_hash(const struct tcp_endpoint *ep, uint64_t key0, uint64_t key1)
{
	uint64_t a, b;
	memcpy(&a, ep->addr, 8);
	memcpy(&b, ep->addr + 8, 8);
	uint64_t h = fmix(a ^ key0);
	h = fmix(h ^ b ^ key1);
	return fmix(h ^ ((uint64_t)ep->family << 16 | ep->udp_port) ^ (key0 >> 17 | key0 << 47));
}

static struct entry *set_of(struct udp_route *rt, const struct tcp_endpoint *ep)
{
	if (!rt->keyed) {
		uint64_t k[2];
		random_key(k);
		udp_route_set_key(rt, k[0], k[1]);
	}
	return rt->table[peer_hash(ep, rt->key0, rt->key1) % UDP_ROUTE_SETS];
}

static int same_peer(const struct entry *e, const struct tcp_endpoint *ep)
{
	int alen = ep->family == 6 ? 16 : 4;
	return e->family == ep->family && e->port == ep->udp_port && memcmp(e->addr, ep->addr, (size_t)alen) == 0;
}

static int same_route(const struct udp_route_arrival *x, const struct udp_route_arrival *y)
{
	return x->sock == y->sock && x->have_local == y->have_local && x->ifindex == y->ifindex &&
	       memcmp(x->local, y->local, sizeof x->local) == 0;
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

/* ---- the live peers, shared by the shards ---- */

struct udp_route_live *udp_route_live_new(void)
{
	struct udp_route_live *lv = calloc(1, sizeof *lv);
	if (!lv)
		return NULL;
	lv->nbuckets = 256;
	lv->buckets = calloc(lv->nbuckets, sizeof *lv->buckets);
	if (!lv->buckets || pthread_mutex_init(&lv->mu, NULL) != 0) {
		free(lv->buckets);
		free(lv);
		return NULL;
	}
	uint64_t k[2];
	random_key(k);
	lv->key0 = k[0];
	lv->key1 = k[1];
	return lv;
}

void udp_route_live_free(struct udp_route_live *lv)
{
	if (!lv)
		return;
	for (unsigned i = 0; i < lv->nbuckets; i++) {
		struct live_peer *p = lv->buckets[i];
		while (p) {
			struct live_peer *next = p->next;
			free(p);
			p = next;
		}
	}
	free(lv->buckets);
	pthread_mutex_destroy(&lv->mu);
	free(lv);
}

static int live_same(const struct live_peer *p, const struct tcp_endpoint *ep)
{
	return p->family == ep->family && p->port == ep->udp_port &&
	       memcmp(p->addr, ep->addr, ep->family == 6 ? 16 : 4) == 0;
}

/* With lv->mu held: ep's slot in its bucket (*slot NULL if not live). */
static struct live_peer **live_slot(struct udp_route_live *lv, const struct tcp_endpoint *ep)
{
	struct live_peer **pp = &lv->buckets[peer_hash(ep, lv->key0, lv->key1) % lv->nbuckets];
	while (*pp && !live_same(*pp, ep))
		pp = &(*pp)->next;
	return pp;
}

/* With lv->mu held: twice the buckets once there are twice as many
 * peers (out of memory: the chains just grow longer). */
static void live_grow(struct udp_route_live *lv)
{
	unsigned nb = lv->nbuckets * 2;
	struct live_peer **b = calloc(nb, sizeof *b);
	if (!b)
		return;
	for (unsigned i = 0; i < lv->nbuckets; i++) {
		struct live_peer *p = lv->buckets[i];
		while (p) {
			struct live_peer *next = p->next;
			struct tcp_endpoint ep = { .family = p->family, .udp_port = p->port };
			memcpy(ep.addr, p->addr, sizeof p->addr);
			struct live_peer **head = &b[peer_hash(&ep, lv->key0, lv->key1) % nb];
			p->next = *head;
			*head = p;
			p = next;
		}
	}
	free(lv->buckets);
	lv->buckets = b;
	lv->nbuckets = nb;
}

/* A connection with ep starts on some shard, whose entry knows the route
 * *have (NULL: not yet).  *out: the route the shard's entry takes (the
 * live connections' if they proved one).  1 if *out is set. */
static int live_pin(struct udp_route_live *lv, const struct tcp_endpoint *ep, const struct udp_route_arrival *have,
		    struct udp_route_arrival *out)
{
	int set = 0;
	pthread_mutex_lock(&lv->mu);
	struct live_peer **pp = live_slot(lv, ep);
	struct live_peer *p = *pp;
	if (!p && (p = calloc(1, sizeof *p))) {
		p->family = ep->family;
		memcpy(p->addr, ep->addr, sizeof p->addr);
		p->port = ep->udp_port;
		*pp = p;
		if (++lv->n > 2 * lv->nbuckets)
			live_grow(lv);
	}
	if (p) { /* (out of memory: this shard's pin still protects its entry) */
		p->pins++;
		if (!p->have && have) {
			p->r = *have;
			p->have = 1;
		}
		if (p->have) {
			*out = p->r;
			set = 1;
		}
	}
	pthread_mutex_unlock(&lv->mu);
	return set;
}

static void live_unpin(struct udp_route_live *lv, const struct tcp_endpoint *ep)
{
	pthread_mutex_lock(&lv->mu);
	struct live_peer **pp = live_slot(lv, ep), *p = *pp;
	if (p && p->pins && !--p->pins) {
		*pp = p->next;
		lv->n--;
		free(p);
	}
	pthread_mutex_unlock(&lv->mu);
}

enum { LIVE_NONE, LIVE_TAKE, LIVE_KEEP };

/* A datagram of ep arrived as *a with the engine's proof, and it would
 * change a shard's entry.  LIVE_NONE: ep has no live connection (the
 * shard's own rules apply); LIVE_TAKE: *a is the live route from now on
 * (proven, or the first answer of an active open); LIVE_KEEP: the live
 * connections proved another route, *out, which the shard's entry takes
 * (a spoofed datagram moves nothing). */
static int live_learn(struct udp_route_live *lv, const struct tcp_endpoint *ep, const struct udp_route_arrival *a,
		      int proof, struct udp_route_arrival *out)
{
	int r = LIVE_NONE;
	pthread_mutex_lock(&lv->mu);
	struct live_peer *p = *live_slot(lv, ep);
	if (p && (proof == TCP_PEER_ACCEPTED || !p->have)) {
		p->r = *a;
		p->have = 1;
		r = LIVE_TAKE;
	} else if (p) {
		*out = p->r;
		r = LIVE_KEEP;
	}
	pthread_mutex_unlock(&lv->mu);
	return r;
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

void udp_route_arrival(struct udp_route_arrival *a, int sock, const struct sockaddr *bound, int family,
		       const struct msghdr *m)
{
	memset(a, 0, sizeof *a);
	a->sock = sock;
	int wild = is_wildcard(bound);
	if (bound->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)bound;
		a->local_port = ntohs(s6->sin6_port);
		if (!wild)
			memcpy(a->local, &s6->sin6_addr, 16);
	} else if (bound->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)bound;
		a->local_port = ntohs(s4->sin_port);
		if (!wild)
			memcpy(a->local, &s4->sin_addr, 4);
	} else {
		return;
	}
	a->wildcard = (uint8_t)wild;
	a->have_local = 1;
	if (wild)
		a->have_local = (uint8_t)dest_of(m, family, a->local, &a->ifindex);
}

void udp_route_learn(struct udp_route *rt, const struct tcp_endpoint *from, const struct udp_route_arrival *a,
		     int proof)
{
	rt->tick++;
	struct entry *e = find_or_make(rt, from);
	if (!e)
		return;
	e->stamp = rt->tick;
	if (e->learned && same_route(&e->r, a))
		return; /* the usual case: nothing new */
	/* a change, or a new peer: do other shards' live connections with
	 * this peer know better? (never on the data path's usual case) */
	struct udp_route_arrival live;
	int verdict = rt->live ? live_learn(rt->live, from, a, proof, &live) : LIVE_NONE;
	if (verdict == LIVE_KEEP) {
		if (!same_route(&live, a))
			rt->cnt.kept++; /* unproven: the live connections' route stays */
		if (!e->learned)
			rt->cnt.learned++;
		e->r = live; /* this shard's entry follows the proven route */
		e->learned = 1;
		return;
	}
	if (!e->learned) {
		rt->cnt.learned++;
	} else if (verdict == LIVE_NONE && e->pins && proof != TCP_PEER_ACCEPTED) {
		rt->cnt.kept++; /* a live connection's route: only its own segments move it */
		return;
	} else {
		rt->cnt.changed++;
	}
	e->r = *a;
	e->learned = 1;
}

void udp_route_learn_msg(struct udp_route *rt, int sock, const struct sockaddr *bound, const struct tcp_endpoint *from,
			 const struct msghdr *m, int proof)
{
	struct udp_route_arrival a;
	udp_route_arrival(&a, sock, bound, from->family, m);
	udp_route_learn(rt, from, &a, proof);
}

int udp_route_lookup(struct udp_route *rt, const struct tcp_endpoint *to, struct udp_route_src *src)
{
	src->family = 0;
	struct entry *e = find(rt, to);
	if (!e || !e->learned) {
		rt->cnt.misses++;
		return -1;
	}
	if (e->r.wildcard && e->r.have_local) {
		src->family = e->family;
		memcpy(src->addr, e->r.local, sizeof src->addr);
		/* a link-local source names its link (RFC 4007 6) */
		src->ifindex = e->family == 6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)e->r.local) ? e->r.ifindex : 0;
	}
	return e->r.sock;
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
	if (!e || !e->learned || !e->r.have_local)
		return -1;
	char ip[INET6_ADDRSTRLEN];
	if (!inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->r.local, ip, sizeof ip))
		return -1;
	if (e->family == 6)
		snprintf(buf, len, "[%s]:%u", ip, e->r.local_port);
	else
		snprintf(buf, len, "%s:%u", ip, e->r.local_port);
	return 0;
}

void udp_route_pin(struct udp_route *rt, const struct tcp_endpoint *remote)
{
	struct entry *e = find_or_make(rt, remote);
	if (e && !e->pins++)
		rt->cnt.pinned++;
	struct udp_route_arrival live;
	if (rt->live && live_pin(rt->live, remote, e && e->learned ? &e->r : NULL, &live) && e) {
		e->r = live; /* what another shard's connections proved */
		e->learned = 1;
	}
}

void udp_route_unpin(struct udp_route *rt, const struct tcp_endpoint *remote)
{
	struct entry *e = find(rt, remote);
	if (e && e->pins && !--e->pins) {
		rt->cnt.pinned--;
		e->stamp = rt->tick; /* just used: the last to go */
	}
	if (rt->live)
		live_unpin(rt->live, remote);
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

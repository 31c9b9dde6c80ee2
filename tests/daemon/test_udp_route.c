/* test_udp_route.c - the peer -> (socket, local address) table of
 * daemon/udp_route.c: learning from IP(V6)_PKTINFO, lookup, the source
 * control message (after UDP_SEGMENT), LRU replacement, pinning, bounds;
 * and one round trip through real loopback sockets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toud.h"
#include "tt.h"
#include "udp_route.h"


static struct udp_route *RT; /* the table under test (main makes it) */

#define SOCK_A 1 /* socket ids (udp.c: the index of its address) */
#define SOCK_B 2

static struct tcp_endpoint peer4(const char *ip, uint16_t port)
{
	struct tcp_endpoint ep = { .family = 4, .udp_port = port };
	inet_pton(AF_INET, ip, ep.addr);
	return ep;
}

static struct tcp_endpoint peer6(const char *ip, uint16_t port)
{
	struct tcp_endpoint ep = { .family = 6, .udp_port = port };
	inet_pton(AF_INET6, ip, ep.addr);
	return ep;
}

static struct sockaddr_in bound4(const char *ip, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 bound6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return s;
}

union cbuf {
	char buf[256];
	struct cmsghdr align;
};

/* A received datagram's msghdr: UDP_GRO first (as the kernel may put it),
 * then IP_PKTINFO to local4 / IPV6_PKTINFO to local6 (NULL: none). */
static struct msghdr rx_msg(union cbuf *cb, const char *local4, const char *local6, int ifindex)
{
	struct msghdr m = { .msg_control = cb->buf, .msg_controllen = sizeof cb->buf };
	memset(cb, 0, sizeof *cb);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	size_t len = 0;
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_GRO;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	int g = 1400;
	memcpy(CMSG_DATA(c), &g, sizeof g);
	len += CMSG_SPACE(sizeof(int));
	m.msg_controllen = len;
	if (local4 || local6) {
		m.msg_controllen = sizeof cb->buf;
		c = CMSG_NXTHDR(&m, c);
		if (local4) {
			struct in_pktinfo pi = { .ipi_ifindex = ifindex };
			inet_pton(AF_INET, local4, &pi.ipi_spec_dst);
			pi.ipi_addr = pi.ipi_spec_dst;
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof pi);
			memcpy(CMSG_DATA(c), &pi, sizeof pi);
			len += CMSG_SPACE(sizeof pi);
		} else {
			struct in6_pktinfo pi = { .ipi6_ifindex = (unsigned)ifindex };
			inet_pton(AF_INET6, local6, &pi.ipi6_addr);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof pi);
			memcpy(CMSG_DATA(c), &pi, sizeof pi);
			len += CMSG_SPACE(sizeof pi);
		}
		m.msg_controllen = len;
	}
	return m;
}

static struct udp_route_counters counters(void)
{
	struct udp_route_counters c;
	udp_route_get_counters(RT, &c);
	return c;
}

TT_TEST(wildcard_ipv4_learns_the_pktinfo_address)
{
	udp_route_reset(RT);
	udp_route_set_key(RT, 1, 2);
	struct tcp_endpoint p = peer4("192.0.2.7", 9811);
	struct sockaddr_in b = bound4("0.0.0.0", 9811);
	union cbuf cb;
	struct msghdr m = rx_msg(&cb, "198.51.100.2", NULL, 3);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &p, &m, TCP_PEER_ACCEPTED);

	struct udp_route_src src;
	TT_ASSERT(udp_route_lookup(RT, &p, &src) == SOCK_A);
	TT_EQ(src.family, 4);
	uint8_t want[4];
	inet_pton(AF_INET, "198.51.100.2", want);
	TT_MEMEQ(src.addr, want, 4);
	TT_EQ(src.ifindex, 0); /* IPv4: routing picks the link */
	char name[64];
	TT_EQ(udp_route_local_name(RT, &p, name, sizeof name), 0);
	TT_STREQ(name, "198.51.100.2:9811");

	/* another UDP port of the same IP is another peer */
	struct tcp_endpoint q = peer4("192.0.2.7", 9812);
	uint64_t misses = counters().misses;
	TT_ASSERT(udp_route_lookup(RT, &q, &src) == -1);
	TT_EQ(src.family, 0);
	TT_EQ(counters().misses, misses + 1);
	TT_EQ(udp_route_local_name(RT, &q, name, sizeof name), -1);
}

TT_TEST(wildcard_ipv6_and_link_local_ifindex)
{
	udp_route_reset(RT);
	struct tcp_endpoint p = peer6("2001:db8::7", 9811);
	struct sockaddr_in6 b = bound6("::", 9811);
	union cbuf cb;
	struct msghdr m = rx_msg(&cb, NULL, "2001:db8::2", 5);
	udp_route_learn_msg(RT, SOCK_B, (struct sockaddr *)&b, &p, &m, TCP_PEER_ACCEPTED);
	struct udp_route_src src;
	TT_ASSERT(udp_route_lookup(RT, &p, &src) == SOCK_B);
	TT_EQ(src.family, 6);
	TT_EQ(src.ifindex, 0); /* a global address needs no link */
	char name[80];
	TT_EQ(udp_route_local_name(RT, &p, name, sizeof name), 0);
	TT_STREQ(name, "[2001:db8::2]:9811");

	struct tcp_endpoint ll = peer6("fe80::7", 9811);
	m = rx_msg(&cb, NULL, "fe80::2", 5);
	udp_route_learn_msg(RT, SOCK_B, (struct sockaddr *)&b, &ll, &m, TCP_PEER_ACCEPTED);
	TT_ASSERT(udp_route_lookup(RT, &ll, &src) == SOCK_B);
	TT_EQ(src.ifindex, 5); /* a link-local source names its link */

	/* a datagram to a multicast group teaches the socket, not a source */
	struct tcp_endpoint mc = peer6("2001:db8::8", 9811);
	m = rx_msg(&cb, NULL, "ff02::1", 5);
	udp_route_learn_msg(RT, SOCK_B, (struct sockaddr *)&b, &mc, &m, TCP_PEER_ACCEPTED);
	TT_ASSERT(udp_route_lookup(RT, &mc, &src) == SOCK_B);
	TT_EQ(src.family, 0);
	TT_EQ(udp_route_local_name(RT, &mc, name, sizeof name), -1);
}

TT_TEST(specific_socket_needs_no_source_but_is_chosen)
{
	udp_route_reset(RT);
	struct tcp_endpoint p = peer4("192.0.2.7", 9811);
	struct sockaddr_in b = bound4("198.51.100.2", 9812);
	union cbuf cb;
	struct msghdr m = rx_msg(&cb, "198.51.100.2", NULL, 3);
	udp_route_learn_msg(RT, SOCK_B, (struct sockaddr *)&b, &p, &m, TCP_PEER_ACCEPTED);
	struct udp_route_src src;
	TT_ASSERT(udp_route_lookup(RT, &p, &src) == SOCK_B);
	TT_EQ(src.family, 0); /* the bound address is the source */
	char name[64];
	TT_EQ(udp_route_local_name(RT, &p, name, sizeof name), 0);
	TT_STREQ(name, "198.51.100.2:9812");

	/* without any PKTINFO (unavailable): still the bound address */
	struct tcp_endpoint q = peer4("192.0.2.8", 9811);
	m = rx_msg(&cb, NULL, NULL, 0);
	udp_route_learn_msg(RT, SOCK_B, (struct sockaddr *)&b, &q, &m, TCP_PEER_ACCEPTED);
	TT_EQ(udp_route_local_name(RT, &q, name, sizeof name), 0);
	TT_STREQ(name, "198.51.100.2:9812");
}

TT_TEST(wildcard_without_pktinfo_keeps_the_kernels_choice)
{
	udp_route_reset(RT);
	struct tcp_endpoint p = peer4("192.0.2.7", 9811);
	struct sockaddr_in b = bound4("0.0.0.0", 9811);
	union cbuf cb;
	struct msghdr m = rx_msg(&cb, NULL, NULL, 0);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &p, &m, TCP_PEER_ACCEPTED);
	struct udp_route_src src;
	TT_ASSERT(udp_route_lookup(RT, &p, &src) == SOCK_A);
	TT_EQ(src.family, 0);
	char name[64];
	TT_EQ(udp_route_local_name(RT, &p, name, sizeof name), -1);
}

TT_TEST(latest_datagram_wins_and_is_counted)
{
	udp_route_reset(RT);
	struct tcp_endpoint p = peer4("192.0.2.7", 9811);
	struct sockaddr_in b = bound4("0.0.0.0", 9811);
	union cbuf cb;
	struct msghdr m = rx_msg(&cb, "198.51.100.1", NULL, 3);
	uint64_t changed = counters().changed, learned = counters().learned;
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &p, &m, TCP_PEER_ACCEPTED);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &p, &m, TCP_PEER_ACCEPTED); /* the same: nothing new */
	TT_EQ(counters().changed, changed);
	m = rx_msg(&cb, "198.51.100.2", NULL, 3);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &p, &m, TCP_PEER_ACCEPTED);
	TT_EQ(counters().changed, changed + 1);
	TT_EQ(counters().learned, learned + 1);
	TT_EQ(counters().entries, 1u);
	char name[64];
	TT_EQ(udp_route_local_name(RT, &p, name, sizeof name), 0);
	TT_STREQ(name, "198.51.100.2:9811");
}

TT_TEST(source_cmsg_follows_udp_segment)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t)) + UDP_ROUTE_CMSG_SPACE];
		struct cmsghdr align;
	} cb;
	struct udp_route_src src = { .family = 4 };
	inet_pton(AF_INET, "198.51.100.2", src.addr);

	/* alone */
	struct msghdr m = { 0 };
	TT_EQ(udp_route_add_cmsg(&m, cb.buf, sizeof cb.buf, &src), 0);
	TT_ASSERT(m.msg_control == cb.buf);
	TT_EQ(m.msg_controllen, CMSG_SPACE(sizeof(struct in_pktinfo)));
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	TT_EQ(c->cmsg_level, IPPROTO_IP);
	TT_EQ(c->cmsg_type, IP_PKTINFO);
	struct in_pktinfo pi;
	memcpy(&pi, CMSG_DATA(c), sizeof pi);
	TT_MEMEQ(&pi.ipi_spec_dst, src.addr, 4);
	TT_EQ(pi.ipi_ifindex, 0);
	TT_ASSERT(CMSG_NXTHDR(&m, c) == NULL);

	/* after UDP_SEGMENT (GSO), as udp.c's build_out() leaves it */
	memset(&cb, 0xa5, sizeof cb);
	m = (struct msghdr){ .msg_control = cb.buf, .msg_controllen = CMSG_SPACE(sizeof(uint16_t)) };
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	uint16_t gso = 1452;
	memcpy(CMSG_DATA(c), &gso, sizeof gso);
	struct udp_route_src src6 = { .family = 6, .ifindex = 7 };
	inet_pton(AF_INET6, "fe80::2", src6.addr);
	TT_EQ(udp_route_add_cmsg(&m, cb.buf, sizeof cb.buf, &src6), 0);
	TT_EQ(m.msg_controllen, CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo)));
	c = CMSG_FIRSTHDR(&m);
	TT_EQ(c->cmsg_type, UDP_SEGMENT);
	memcpy(&gso, CMSG_DATA(c), sizeof gso);
	TT_EQ(gso, 1452);
	c = CMSG_NXTHDR(&m, c);
	TT_ASSERT(c != NULL);
	TT_EQ(c->cmsg_level, IPPROTO_IPV6);
	TT_EQ(c->cmsg_type, IPV6_PKTINFO);
	struct in6_pktinfo pi6;
	memcpy(&pi6, CMSG_DATA(c), sizeof pi6);
	TT_MEMEQ(&pi6.ipi6_addr, src6.addr, 16);
	TT_EQ(pi6.ipi6_ifindex, 7u);
	TT_ASSERT(CMSG_NXTHDR(&m, c) == NULL);

	/* no source: nothing added; no room: -1, m unchanged */
	struct udp_route_src none = { 0 };
	struct msghdr m2 = { 0 };
	TT_EQ(udp_route_add_cmsg(&m2, cb.buf, sizeof cb.buf, &none), 0);
	TT_ASSERT(m2.msg_control == NULL);
	TT_EQ(udp_route_add_cmsg(&m2, cb.buf, CMSG_SPACE(sizeof(struct in6_pktinfo)) - 1, &src6), -1);
	TT_ASSERT(m2.msg_control == NULL);
}

/* n peers 10.x.y.z:port from a counter */
static struct tcp_endpoint nth_peer(uint32_t i)
{
	struct tcp_endpoint ep = { .family = 4, .udp_port = (uint16_t)(1024 + (i % 50000)) };
	uint32_t a = htonl(0x0a000000u | (i / 50000 + 1) << 8 | (i & 0xff));
	memcpy(ep.addr, &a, 4);
	return ep;
}

TT_TEST(a_flood_is_bounded_and_lru_keeps_active_peers)
{
	udp_route_reset(RT);
	udp_route_set_key(RT, 0x1234, 0x5678);
	struct sockaddr_in b = bound4("0.0.0.0", 9811);
	union cbuf cb;
	struct msghdr m = rx_msg(&cb, "198.51.100.2", NULL, 3);
	struct tcp_endpoint active = peer4("192.0.2.1", 9811), idle = peer4("192.0.2.2", 9811);
	struct tcp_endpoint pinned = peer4("192.0.2.3", 9811);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &idle, &m, TCP_PEER_ACCEPTED);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &pinned, &m, TCP_PEER_ACCEPTED);
	udp_route_pin(RT, &pinned);
	struct udp_route_counters c0 = counters();
	const uint32_t flood = 200000;
	for (uint32_t i = 0; i < flood; i++) {
		struct tcp_endpoint ep = nth_peer(i);
		udp_route_learn_msg(RT, SOCK_B, (struct sockaddr *)&b, &ep, &m, TCP_PEER_ACCEPTED);
		if (i % 2 == 0) /* a peer that keeps talking stays */
			udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &active, &m, TCP_PEER_ACCEPTED);
	}
	struct udp_route_counters c = counters();
	TT_ASSERT(c.entries <= UDP_ROUTE_SETS * UDP_ROUTE_WAYS);
	TT_EQ(c.entries, (unsigned)UDP_ROUTE_SETS * UDP_ROUTE_WAYS); /* all of it is used */
	TT_EQ(c.learned - c0.learned, (uint64_t)flood + 1);
	/* every peer learned beyond the table's size replaced one */
	TT_EQ(c.evicted - c0.evicted, c.learned - c0.learned - (c.entries - c0.entries));
	struct udp_route_src src;
	TT_ASSERT(udp_route_lookup(RT, &active, &src) == SOCK_A);
	TT_ASSERT(udp_route_lookup(RT, &pinned, &src) == SOCK_A); /* pinned: never replaced */
	TT_EQ(src.family, 4);
	TT_ASSERT(udp_route_lookup(RT, &idle, &src) == -1);    /* replaced */
	struct tcp_endpoint last = nth_peer(flood - 1);
	TT_ASSERT(udp_route_lookup(RT, &last, &src) == SOCK_B);
	TT_EQ(c.pinned, 1u);
	udp_route_unpin(RT, &pinned);
	TT_EQ(counters().pinned, 0u);
	udp_route_reset(RT);
	TT_EQ(counters().entries, 0u);
	TT_ASSERT(udp_route_lookup(RT, &active, &src) == -1);
}

TT_TEST(pins_fill_a_set_then_new_peers_are_not_learned)
{
	udp_route_reset(RT);
	/* pin more peers than the table holds: the rest count as "full" */
	const uint32_t n = UDP_ROUTE_SETS * UDP_ROUTE_WAYS * 8; /* every set gets more than it holds */
	uint64_t full0 = counters().full;
	for (uint32_t i = 0; i < n; i++) {
		struct tcp_endpoint ep = nth_peer(i);
		udp_route_pin(RT, &ep);
	}
	struct udp_route_counters c = counters();
	TT_EQ(c.entries, (unsigned)UDP_ROUTE_SETS * UDP_ROUTE_WAYS);
	TT_EQ(c.pinned, c.entries);
	TT_EQ(c.full - full0, (uint64_t)(n - c.entries));
	/* a pinned, not yet learned entry (an active open) routes nowhere */
	struct tcp_endpoint first = nth_peer(0);
	struct udp_route_src src;
	TT_ASSERT(udp_route_lookup(RT, &first, &src) == -1);
	/* ... until the first reply */
	struct sockaddr_in b = bound4("0.0.0.0", 9811);
	union cbuf cb;
	struct msghdr m = rx_msg(&cb, "198.51.100.9", NULL, 3);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &first, &m, TCP_PEER_ACCEPTED);
	TT_ASSERT(udp_route_lookup(RT, &first, &src) == SOCK_A);
	for (uint32_t i = 0; i < n; i++) {
		struct tcp_endpoint ep = nth_peer(i);
		udp_route_unpin(RT, &ep);
	}
	TT_EQ(counters().pinned, 0u);
	udp_route_reset(RT);
}

/* Real sockets: a wildcard socket learns 127.0.0.2 from a datagram sent
 * there, and its answer with the source control message comes from it. */
TT_TEST(loopback_round_trip_with_pktinfo)
{
	udp_route_reset(RT);
	int srv = socket(AF_INET, SOCK_DGRAM, 0), cli = socket(AF_INET, SOCK_DGRAM, 0);
	TT_ASSERT(srv >= 0 && cli >= 0);
	struct sockaddr_in any = bound4("0.0.0.0", 0);
	TT_EQ(bind(srv, (struct sockaddr *)&any, sizeof any), 0);
	struct sockaddr_in sb;
	socklen_t sl = sizeof sb;
	TT_EQ(getsockname(srv, (struct sockaddr *)&sb, &sl), 0);
	TT_EQ(udp_route_sock_init(RT, srv, (struct sockaddr *)&sb), 0);
	TT_EQ(counters().pktinfo, 1);
	struct sockaddr_in to = bound4("127.0.0.2", ntohs(sb.sin_port));
	TT_EQ(sendto(cli, "syn", 3, 0, (struct sockaddr *)&to, sizeof to), 3);

	char data[16];
	struct sockaddr_in from;
	union cbuf cb;
	struct iovec iov = { data, sizeof data };
	struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cb.buf, .msg_controllen = sizeof cb.buf };
	TT_EQ(recvmsg(srv, &m, 0), 3);
	struct tcp_endpoint peer = { .family = 4, .udp_port = ntohs(from.sin_port) };
	memcpy(peer.addr, &from.sin_addr, 4);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&sb, &peer, &m, TCP_PEER_ACCEPTED);

	struct udp_route_src src;
	TT_ASSERT(udp_route_lookup(RT, &peer, &src) == SOCK_A);
	TT_EQ(src.family, 4);
	char name[64], want[64];
	snprintf(want, sizeof want, "127.0.0.2:%u", ntohs(sb.sin_port));
	TT_EQ(udp_route_local_name(RT, &peer, name, sizeof name), 0);
	TT_STREQ(name, want);

	/* the answer: UDP_SEGMENT-free message with the source cmsg */
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t)) + UDP_ROUTE_CMSG_SPACE];
		struct cmsghdr align;
	} scb;
	struct iovec siov = { "ack", 3 };
	struct msghdr sm = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &siov, .msg_iovlen = 1 };
	TT_EQ(udp_route_add_cmsg(&sm, scb.buf, sizeof scb.buf, &src), 0);
	TT_EQ(sendmsg(srv, &sm, 0), 3);
	struct sockaddr_in rfrom;
	socklen_t rl = sizeof rfrom;
	TT_EQ(recvfrom(cli, data, sizeof data, 0, (struct sockaddr *)&rfrom, &rl), 3);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &rfrom.sin_addr, ip, sizeof ip);
	TT_STREQ(ip, "127.0.0.2"); /* not 127.0.0.1, the kernel's choice */
	TT_EQ(ntohs(rfrom.sin_port), ntohs(sb.sin_port));
	close(srv);
	close(cli);
	udp_route_reset(RT);
}

/* A peer with a live connection (pinned): a datagram the engine only
 * answered (TCP_PEER_UNPROVEN: anyone could have sent it, e.g. a spoofed
 * SYN sent to our other address) does not move its route; a segment the
 * connection accepted does.  Unpinned, an unproven one moves it (nothing
 * live to protect; the SYN,ACK must leave from the address the SYN was
 * sent to). */
TT_TEST(unproven_datagram_never_moves_a_live_connections_route)
{
	udp_route_reset(RT);
	udp_route_set_key(RT, 7, 8);
	struct tcp_endpoint p = peer4("192.0.2.9", 9811);
	struct sockaddr_in b = bound4("0.0.0.0", 9811);
	union cbuf cx, cy;
	struct msghdr mx = rx_msg(&cx, "198.51.100.2", NULL, 3);
	struct msghdr my = rx_msg(&cy, "198.51.100.3", NULL, 3);
	uint8_t x[4], y[4];
	inet_pton(AF_INET, "198.51.100.2", x);
	inet_pton(AF_INET, "198.51.100.3", y);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &p, &mx, TCP_PEER_UNPROVEN); /* its SYN */
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &p, &mx, TCP_PEER_ACCEPTED); /* the ACK */
	udp_route_pin(RT, &p);
	struct udp_route_counters c0 = counters();
	struct udp_route_src src;

	udp_route_learn_msg(RT, SOCK_B, (struct sockaddr *)&b, &p, &my, TCP_PEER_UNPROVEN);
	TT_ASSERT(udp_route_lookup(RT, &p, &src) == SOCK_A);
	TT_MEMEQ(src.addr, x, 4);
	TT_EQ(counters().kept, c0.kept + 1);
	TT_EQ(counters().changed, c0.changed);

	udp_route_learn_msg(RT, SOCK_B, (struct sockaddr *)&b, &p, &my, TCP_PEER_ACCEPTED);
	TT_ASSERT(udp_route_lookup(RT, &p, &src) == SOCK_B);
	TT_MEMEQ(src.addr, y, 4);
	TT_EQ(counters().changed, c0.changed + 1);

	udp_route_unpin(RT, &p);
	udp_route_learn_msg(RT, SOCK_A, (struct sockaddr *)&b, &p, &mx, TCP_PEER_UNPROVEN);
	TT_ASSERT(udp_route_lookup(RT, &p, &src) == SOCK_A);
	TT_MEMEQ(src.addr, x, 4);
	TT_EQ(counters().kept, c0.kept + 1);

	/* an active open pins an empty entry: its first answer fills it,
	 * proven or not (nothing was learned yet) */
	struct tcp_endpoint q = peer4("192.0.2.10", 9811);
	udp_route_pin(RT, &q);
	udp_route_learn_msg(RT, SOCK_B, (struct sockaddr *)&b, &q, &my, TCP_PEER_UNPROVEN);
	TT_ASSERT(udp_route_lookup(RT, &q, &src) == SOCK_B);
	udp_route_unpin(RT, &q);
	udp_route_reset(RT);
}

/* Two shards' tables sharing the live peers (docs/DESIGN.md section
 * 5.8): a peer with a live connection on shard 0 keeps the route that
 * connection proved on shard 1 too, where a spoofed (unproven) datagram
 * lands without a connection; a segment a connection of shard 1 accepts
 * moves the live route, which shard 0's entry takes at its next change;
 * an active open of shard 1 starts on the live route; once the last
 * connection ends, shard 1's own rules apply again. */
TT_TEST(shards_share_the_routes_of_live_peers)
{
	struct udp_route_live *lv = udp_route_live_new();
	TT_ASSERT(lv != NULL);
	struct udp_route *r0 = udp_route_new(lv), *r1 = udp_route_new(lv);
	TT_ASSERT(r0 && r1);
	struct tcp_endpoint p = peer4("192.0.2.11", 9811);
	struct sockaddr_in b = bound4("0.0.0.0", 9811);
	union cbuf cx, cy, cz;
	struct msghdr mx = rx_msg(&cx, "198.51.100.2", NULL, 3);
	struct msghdr my = rx_msg(&cy, "198.51.100.3", NULL, 3);
	struct msghdr mz = rx_msg(&cz, "198.51.100.4", NULL, 3);
	uint8_t x[4], y[4], z[4];
	inet_pton(AF_INET, "198.51.100.2", x);
	inet_pton(AF_INET, "198.51.100.3", y);
	inet_pton(AF_INET, "198.51.100.4", z);
	struct udp_route_src src;
	struct udp_route_counters c;

	/* shard 1 talked to p over z before (no connection now) */
	udp_route_learn_msg(r1, SOCK_A, (struct sockaddr *)&b, &p, &mz, TCP_PEER_ACCEPTED);
	/* a connection with p on shard 0, over x */
	udp_route_learn_msg(r0, SOCK_A, (struct sockaddr *)&b, &p, &mx, TCP_PEER_UNPROVEN);
	udp_route_learn_msg(r0, SOCK_A, (struct sockaddr *)&b, &p, &mx, TCP_PEER_ACCEPTED);
	udp_route_pin(r0, &p);

	/* a spoofed SYN from p to y lands on shard 1: its entry takes x */
	udp_route_learn_msg(r1, SOCK_B, (struct sockaddr *)&b, &p, &my, TCP_PEER_UNPROVEN);
	TT_EQ(udp_route_lookup(r1, &p, &src), SOCK_A);
	TT_MEMEQ(src.addr, x, 4);
	udp_route_get_counters(r1, &c);
	TT_EQ(c.kept, 1u);
	TT_EQ(c.changed, 0u);
	/* the same on shard 0 itself */
	udp_route_learn_msg(r0, SOCK_B, (struct sockaddr *)&b, &p, &my, TCP_PEER_UNPROVEN);
	TT_EQ(udp_route_lookup(r0, &p, &src), SOCK_A);
	TT_MEMEQ(src.addr, x, 4);
	udp_route_get_counters(r0, &c);
	TT_EQ(c.kept, 1u);
	TT_EQ(c.changed, 0u);

	/* a connection of shard 1 accepts a segment from p over y: the live
	 * route moves; shard 0 follows at its next differing datagram, even
	 * an unproven one (the route was proven on shard 1) */
	udp_route_pin(r1, &p);
	udp_route_learn_msg(r1, SOCK_B, (struct sockaddr *)&b, &p, &my, TCP_PEER_ACCEPTED);
	TT_EQ(udp_route_lookup(r1, &p, &src), SOCK_B);
	TT_MEMEQ(src.addr, y, 4);
	udp_route_learn_msg(r0, SOCK_A, (struct sockaddr *)&b, &p, &mz, TCP_PEER_UNPROVEN);
	TT_EQ(udp_route_lookup(r0, &p, &src), SOCK_B);
	TT_MEMEQ(src.addr, y, 4);
	udp_route_get_counters(r0, &c);
	TT_EQ(c.kept, 2u);
	TT_EQ(c.changed, 0u);

	/* an active open to p on a third table starts on the live route */
	struct udp_route *r2 = udp_route_new(lv);
	TT_ASSERT(r2 != NULL);
	udp_route_pin(r2, &p);
	TT_EQ(udp_route_lookup(r2, &p, &src), SOCK_B);
	TT_MEMEQ(src.addr, y, 4);
	udp_route_unpin(r2, &p);
	udp_route_free(r2);

	/* the connections end: an unproven datagram moves shard 1's entry */
	udp_route_unpin(r0, &p);
	udp_route_unpin(r1, &p);
	udp_route_learn_msg(r1, SOCK_A, (struct sockaddr *)&b, &p, &mz, TCP_PEER_UNPROVEN);
	TT_EQ(udp_route_lookup(r1, &p, &src), SOCK_A);
	TT_MEMEQ(src.addr, z, 4);
	udp_route_get_counters(r1, &c);
	TT_EQ(c.pinned, 0u);
	udp_route_free(r0);
	udp_route_free(r1);
	udp_route_live_free(lv);
}

/* Many live peers: the shared table grows and forgets each at its last unpin. */
TT_TEST(live_peers_grow_and_go)
{
	struct udp_route_live *lv = udp_route_live_new();
	struct udp_route *r0 = udp_route_new(lv), *r1 = udp_route_new(lv);
	TT_ASSERT(lv && r0 && r1);
	udp_route_set_key(r0, 11, 12); /* (no set of shard 0's gets more than UDP_ROUTE_WAYS of them) */
	struct sockaddr_in b = bound4("0.0.0.0", 9811);
	union cbuf cx, cy;
	struct msghdr mx = rx_msg(&cx, "198.51.100.2", NULL, 3);
	struct msghdr my = rx_msg(&cy, "198.51.100.3", NULL, 3);
	const uint32_t n = 1200; /* the shared table grows twice */
	for (uint32_t i = 0; i < n; i++) {
		struct tcp_endpoint ep = nth_peer(i);
		udp_route_learn_msg(r0, SOCK_A, (struct sockaddr *)&b, &ep, &mx, TCP_PEER_ACCEPTED);
		udp_route_pin(r0, &ep);
	}
	struct udp_route_counters c;
	udp_route_get_counters(r0, &c);
	TT_EQ(c.pinned, n);
	TT_EQ(c.full, 0u);
	/* each is still live: shard 1 keeps to x */
	struct udp_route_src src;
	for (uint32_t i = 0; i < n; i += 97) {
		struct tcp_endpoint ep = nth_peer(i);
		udp_route_learn_msg(r1, SOCK_B, (struct sockaddr *)&b, &ep, &my, TCP_PEER_UNPROVEN);
		TT_EQ(udp_route_lookup(r1, &ep, &src), SOCK_A);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct tcp_endpoint ep = nth_peer(i);
		udp_route_unpin(r0, &ep);
	}
	/* none is live now: shard 1 learns y */
	for (uint32_t i = 1; i < n; i += 97) {
		struct tcp_endpoint ep = nth_peer(i);
		udp_route_learn_msg(r1, SOCK_B, (struct sockaddr *)&b, &ep, &my, TCP_PEER_UNPROVEN);
		TT_EQ(udp_route_lookup(r1, &ep, &src), SOCK_B);
	}
	udp_route_free(r0);
	udp_route_free(r1);
	udp_route_live_free(lv);
}

int main(int argc, char **argv)
{
	RT = udp_route_new(NULL);
	if (!RT)
		return 1;
	int r = tt_main(argc, argv);
	udp_route_free(RT);
	return r;
}

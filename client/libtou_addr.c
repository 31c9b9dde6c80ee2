/*
 * libtou_addr.c - is a destination address one host's unicast address?
 * (tou_addr.h; used by libtou's tou_connect() and by toud's CONNECT).
 */
#include "tou_addr.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static _Thread_local char why_buf[96];

/* The directed broadcast address of one of this host's IPv4 subnets
 * (RFC 919, RFC 922) names every host of that subnet. */
static const char *ipv4_iface_broadcast(const struct in_addr *a)
{
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) != 0)
		return NULL; /* cannot tell: let the connection try */
	const char *why = NULL;
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_BROADCAST) ||
		    !i->ifa_broadaddr || i->ifa_broadaddr->sa_family != AF_INET)
			continue;
		const struct in_addr *b = &((const struct sockaddr_in *)i->ifa_broadaddr)->sin_addr;
		const struct in_addr *own = &((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
		/* a /31 or /32 has no broadcast address (RFC 3021) */
		if (b->s_addr == own->s_addr || b->s_addr == htonl(INADDR_ANY))
			continue;
		if (b->s_addr == a->s_addr) {
			snprintf(why_buf, sizeof why_buf, "the broadcast address of %s", i->ifa_name);
			why = why_buf;
			break;
		}
	}
	freeifaddrs(ifs);
	return why;
}

static const char *ipv4_not_unicast(const struct in_addr *a)
{
	uint32_t h = ntohl(a->s_addr);
	if (h == 0)
		return "the unspecified address";
	if ((h >> 24) == 0) /* RFC 1122 3.2.1.3 (a): only a source address */
		return "a 'this network' address (0.0.0.0/8)";
	if (h == 0xffffffffu) /* RFC 919 */
		return "the limited broadcast address";
	if ((h >> 28) == 0xe) /* 224.0.0.0/4, RFC 5771 */
		return "a multicast address";
	return ipv4_iface_broadcast(a);
}

const char *tou_addr_not_unicast(int af, const void *addr)
{
	if (af == AF_INET) {
		struct in_addr a;
		memcpy(&a, addr, sizeof a);
		return ipv4_not_unicast(&a);
	}
	if (af == AF_INET6) {
		struct in6_addr a;
		memcpy(&a, addr, sizeof a);
		if (IN6_IS_ADDR_UNSPECIFIED(&a)) /* RFC 4291 2.5.2 */
			return "the unspecified address";
		if (IN6_IS_ADDR_MULTICAST(&a)) /* ff00::/8, RFC 4291 2.7 */
			return "a multicast address";
		if (IN6_IS_ADDR_V4MAPPED(&a)) {
			struct in_addr v4;
			memcpy(&v4, &a.s6_addr[12], sizeof v4);
			return ipv4_not_unicast(&v4);
		}
		return NULL;
	}
	return "not an IP address";
}

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

int tou_bcast_load(struct tou_bcast *l)
{
	struct ifaddrs *ifs = NULL;
	l->n = 0;
	if (getifaddrs(&ifs) != 0)
		return -1; /* cannot tell: let the connection try */
	for (const struct ifaddrs *i = ifs; i && l->n < TOU_BCAST_MAX; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_BROADCAST) ||
		    !i->ifa_broadaddr || i->ifa_broadaddr->sa_family != AF_INET)
			continue;
		const struct in_addr *b = &((const struct sockaddr_in *)i->ifa_broadaddr)->sin_addr;
		const struct in_addr *own = &((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
		/* a /31 or /32 has no broadcast address (RFC 3021) */
		if (b->s_addr == own->s_addr || b->s_addr == htonl(INADDR_ANY))
			continue;
		l->e[l->n].addr = b->s_addr;
		snprintf(l->e[l->n].ifname, sizeof l->e[l->n].ifname, "%s", i->ifa_name);
		l->n++;
	}
	freeifaddrs(ifs);
	return 0;
}

/* The directed broadcast address of one of this host's IPv4 subnets
 * (RFC 919, RFC 922) names every host of that subnet. */
static const char *ipv4_iface_broadcast(const struct in_addr *a, const struct tou_bcast *l)
{
	struct tou_bcast fresh;
	if (!l) {
		tou_bcast_load(&fresh);
		l = &fresh;
	}
	for (unsigned i = 0; i < l->n; i++)
		if (l->e[i].addr == a->s_addr) {
			snprintf(why_buf, sizeof why_buf, "the broadcast address of %s", l->e[i].ifname);
			return why_buf;
		}
	return NULL;
}

static const char *ipv4_not_unicast(const struct in_addr *a, const struct tou_bcast *l)
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
	return ipv4_iface_broadcast(a, l);
}

const char *tou_addr_not_unicast_in(int af, const void *addr, const struct tou_bcast *l)
{
	if (af == AF_INET) {
		struct in_addr a;
		memcpy(&a, addr, sizeof a);
		return ipv4_not_unicast(&a, l);
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
			return ipv4_not_unicast(&v4, l);
		}
		return NULL;
	}
	return "not an IP address";
}

const char *tou_addr_not_unicast(int af, const void *addr)
{
	return tou_addr_not_unicast_in(af, addr, NULL);
}

/*
 * tou_addr.h - which destination addresses can be a TCP peer (internal to
 * libtou, the tou CLI and toud: not installed).
 *
 * RFC 1122 4.2.3.10 (kept by RFC 9293 as MUST-46): "A TCP implementation
 * MUST reject as an error a local OPEN call for an invalid remote IP
 * address (e.g., a broadcast or multicast address)."  A TCP connection has exactly one peer,
 * so a destination that is not one host's unicast address can never
 * answer: it is refused at once ("unreachable") instead of ending, minutes
 * later, as a timeout.
 */
#ifndef TOU_ADDR_H
#define TOU_ADDR_H

/*
 * `af` is AF_INET (4 bytes at `addr`) or AF_INET6 (16 bytes).  Returns NULL
 * when the address may be a unicast peer, else what it is, for a message:
 * "the unspecified address", "a multicast address", "the limited
 * broadcast address", "a 'this network' address (0.0.0.0/8)", or "the
 * broadcast address of <interface>" (the directed broadcast of one of this
 * host's IPv4 subnets, from getifaddrs(3)).  IPv4-mapped IPv6 addresses
 * are judged as the IPv4 address they carry.  Thread-safe (the returned
 * text is per thread).
 */
const char *tou_addr_not_unicast(int af, const void *addr);

#include <net/if.h>
#include <stdint.h>

/* The directed broadcast addresses of this host's IPv4 subnets, as
 * tou_addr_not_unicast() reads them from getifaddrs(3) (a netlink dump of
 * about ten system calls): a caller that judges many destinations (toud,
 * once per CONNECT) keeps one list and loads it again when it is old. */
#define TOU_BCAST_MAX 64
struct tou_bcast {
	unsigned n;
	struct {
		uint32_t addr;              /* network byte order */
		char ifname[IF_NAMESIZE];
	} e[TOU_BCAST_MAX];
};
/* Fill l from getifaddrs(3).  0, or -1 (errno set; l is then empty:
 * nothing is refused as a subnet broadcast). */
int tou_bcast_load(struct tou_bcast *l);
/* tou_addr_not_unicast() against the list l (NULL: a fresh getifaddrs(3)). */
const char *tou_addr_not_unicast_in(int af, const void *addr, const struct tou_bcast *l);

#endif

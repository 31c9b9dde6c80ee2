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

#endif

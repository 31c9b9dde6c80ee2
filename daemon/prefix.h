/*
 * prefix.h - parse a peer address prefix, as toud.conf's [key] peer and
 * the API's LISTEN allow= write it: "any" or "*" (every peer), an IPv4 or
 * IPv6 address with an optional "/len", the IPv6 one optionally in
 * brackets ("[2001:db8::]/32").  Header-only (libc) so that the API parser
 * stays self-contained for its fuzzer.
 */
#ifndef TOUD_PREFIX_H
#define TOUD_PREFIX_H

#include <arpa/inet.h>
#include <string.h>

#include "tcp.h"

/* s[0..n) into *out; 0 or -1. */
static inline int prefix_parse(const char *s, size_t n, struct tcp_prefix *out)
{
	memset(out, 0, sizeof *out);
	if ((n == 3 && memcmp(s, "any", 3) == 0) || (n == 1 && s[0] == '*'))
		return 0;
	const char *slash = memchr(s, '/', n);
	size_t al = slash ? (size_t)(slash - s) : n;
	char a[64];
	if (al == 0 || al >= sizeof a)
		return -1;
	memcpy(a, s, al);
	a[al] = '\0';
	char *host = a;
	if (a[0] == '[') {
		if (al < 3 || a[al - 1] != ']')
			return -1;
		a[al - 1] = '\0';
		host = a + 1;
	}
	unsigned max;
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = 6;
		max = 128;
	} else {
		return -1;
	}
	unsigned len = max;
	if (slash) {
		const char *d = slash + 1, *end = s + n;
		if (d == end || end - d > 3)
			return -1;
		len = 0;
		for (; d < end; d++) {
			if (*d < '0' || *d > '9')
				return -1;
			len = len * 10 + (unsigned)(*d - '0');
		}
		if (len > max)
			return -1;
	}
	out->len = (uint8_t)len;
	return 0;
}

#endif

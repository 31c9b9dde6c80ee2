/*
 * synflood.c - a spoofed SYN flood for the integration tests (RFC 4987
 * section 2): N tou SYN segments, each in a UDP datagram from a forged
 * source - an address in 127.0.0.0/8 and a UDP port and TCP port of its
 * own - sent as fast as a raw socket takes them to one toud.  Every SYN
 * carries the options a real client sends (MSS, window scale, SACK
 * permitted, timestamps), so the daemon treats it as a client would be.
 *
 *     synflood --to 127.0.0.1:PORT --dport TCPPORT --count N
 *              [--avoid PORT]... [--seed N]
 *
 * Needs CAP_NET_RAW (IPPROTO_RAW, the IPv4 header written here; the kernel
 * fills in its checksum and length).  The UDP checksum is 0 ("no checksum",
 * RFC 768).  Prints "sent N in S s" on stdout; exit 0, 1 on an error, 2 on
 * bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp_seg.h"

#define BATCH 64
#define PKT_MAX 128
#define MAX_AVOID 8

struct ip4_udp {
	uint8_t ver_ihl, tos;
	uint16_t tot_len, id, frag;
	uint8_t ttl, proto;
	uint16_t check;
	uint32_t saddr, daddr;
	uint16_t sport, dport, ulen, ucheck;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* splitmix64: a reproducible stream of forged sources */
static uint64_t next_rand(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void usage(void)
{
	fprintf(stderr, "usage: synflood --to IPv4:PORT --dport TCPPORT --count N [--avoid UDPPORT]... "
			"[--seed N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { 0 };
	unsigned long count = 0, dport = 0;
	uint16_t avoid[MAX_AVOID];
	unsigned navoid = 0;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		const char *o = argv[i], *v = argv[++i];
		if (!strcmp(o, "--to")) {
			char host[64];
			const char *colon = strrchr(v, ':');
			if (!colon || (size_t)(colon - v) >= sizeof host)
				usage();
			memcpy(host, v, (size_t)(colon - v));
			host[colon - v] = 0;
			to.sin_family = AF_INET;
			to.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
			if (inet_pton(AF_INET, host, &to.sin_addr) != 1)
				usage();
		} else if (!strcmp(o, "--dport")) {
			dport = strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--count")) {
			count = strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--avoid") && navoid < MAX_AVOID) {
			avoid[navoid++] = (uint16_t)strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--seed")) {
			rng = strtoull(v, NULL, 10);
		} else {
			usage();
		}
	}
	if (!to.sin_port || !dport || dport > 65535 || !count)
		usage();
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, "synflood: raw socket: %s (needs CAP_NET_RAW)\n", strerror(errno));
		return 1;
	}
	static uint8_t pkts[BATCH][PKT_MAX];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long sent = 0;
	while (sent < count) {
		unsigned n = 0;
		for (; n < BATCH && sent + n < count; n++) {
			uint64_t r = next_rand();
			uint16_t uport;
			int bad;
			do {
				uport = (uint16_t)(1024 + next_rand() % (65536 - 1024));
				bad = 0;
				for (unsigned k = 0; k < navoid; k++)
					bad |= uport == avoid[k];
			} while (bad);
			struct tcp_seg seg;
			memset(&seg, 0, sizeof seg);
			seg.sport = (uint16_t)(1024 + (r >> 8) % (65536 - 1024));
			seg.dport = (uint16_t)dport;
			seg.seq = (uint32_t)(r >> 32);
			seg.flags = TCP_SYN;
			seg.wnd = 65535;
			seg.has_mss = 1;
			seg.mss = 1452;
			seg.has_ws = 1;
			seg.ws = 7;
			seg.sack_perm = 1;
			seg.has_ts = 1;
			seg.tsval = (uint32_t)r;
			uint8_t *p = pkts[n];
			size_t tl = tcp_seg_build(p + sizeof(struct ip4_udp), PKT_MAX - sizeof(struct ip4_udp), &seg);
			if (!tl)
				return 1;
			struct ip4_udp h;
			memset(&h, 0, sizeof h);
			h.ver_ihl = 0x45;
			h.tot_len = htons((uint16_t)(sizeof h + tl));
			h.ttl = 64;
			h.proto = IPPROTO_UDP;
			/* 127.1.0.1 .. 127.1.255.254 */
			h.saddr = htonl(0x7f010000u | (uint32_t)(1 + (r & 0xfffd)));
			h.daddr = to.sin_addr.s_addr;
			h.sport = htons(uport);
			h.dport = to.sin_port;
			h.ulen = htons((uint16_t)(8 + tl));
			memcpy(p, &h, sizeof h);
			iov[n].iov_base = p;
			iov[n].iov_len = sizeof h + tl;
			memset(&msgs[n], 0, sizeof msgs[n]);
			msgs[n].msg_hdr.msg_name = &to;
			msgs[n].msg_hdr.msg_namelen = sizeof to;
			msgs[n].msg_hdr.msg_iov = &iov[n];
			msgs[n].msg_hdr.msg_iovlen = 1;
		}
		unsigned done = 0;
		while (done < n) {
			int k = sendmmsg(fd, msgs + done, n - done, 0);
			if (k < 0) {
				if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
					continue;
				fprintf(stderr, "synflood: sendmmsg: %s\n", strerror(errno));
				return 1;
			}
			done += (unsigned)k;
		}
		sent += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("sent %lu in %.3f s\n", sent,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	close(fd);
	return 0;
}

/*
 * udp_err.c - ICMP errors and failed sends on toud's UDP sockets.
 *
 * Linux reports ICMP errors about datagrams of an unconnected UDP socket
 * only with IP_RECVERR / IPV6_RECVERR (ip(7), ipv6(7)): each one is queued
 * on the socket's error queue, read with recvmsg(MSG_ERRQUEUE).  There,
 * msg_name is the destination of the datagram the ICMP message quotes,
 * the data is that datagram's UDP payload - our TCP header, as much as
 * the router quoted (RFC 792 guarantees 8 octets beyond the UDP header's
 * 8 only with RFC 1812 4.3.2.3 routers; Linux hosts quote up to 576) - and
 * a cmsg carries struct sock_extended_err: origin (ICMP, ICMP6, LOCAL),
 * type, code, the MTU of "fragmentation needed" in ee_info, and the
 * offender (the host that sent the ICMP message).
 *
 * Don't-fragment: IP_MTU_DISCOVER = IP_PMTUDISC_PROBE (IPv6 alike) sets
 * DF on every datagram, so a router on a narrower path answers "
 * fragmentation needed" (RFC 1191) instead of fragmenting, and the
 * engine lowers that connection's MSS (tcp_icmp.c).  PROBE rather than
 * DO: the kernel does not clamp our datagrams to its own path-MTU cache
 * (the engine decides segment sizes; with DO, and with the default WANT,
 * a UDP GSO message whose segment size exceeds a lowered cached path MTU
 * fails with EINVAL, which udp.c takes as "no GSO here"); datagrams
 * larger than the interface's MTU still fail with EMSGSIZE, which is
 * reported here as a local "fragmentation needed" with the interface MTU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "endpoint.h"
#include "log.h"
#include "toud.h"
#include "udp_err.h"

/* ICMP (RFC 792, RFC 1812 5.2.7.1) and ICMPv6 (RFC 4443) types and codes */
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP6_DST_UNREACH 1
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAM_PROB 4

#define READ_MAX 256 /* error-queue entries per udp_err_read() */

int udp_err_icmp_kind(int family, uint8_t type, uint8_t code)
{
	if (family == 4) {
		switch (type) {
		case ICMP_DEST_UNREACH:
			switch (code) {
			case 0: case 6: case 11: return TCP_ICMP_NET_UNREACH;   /* net, unknown net, net for TOS */
			case 1: case 7: case 12: return TCP_ICMP_HOST_UNREACH;  /* host, unknown host, host for TOS */
			case 2: return TCP_ICMP_PROTO_UNREACH;
			case 3: return TCP_ICMP_PORT_UNREACH;
			case 4: return TCP_ICMP_FRAG_NEEDED;
			case 9: case 10: case 13: return TCP_ICMP_PROHIBITED;   /* RFC 1812 5.2.7.1 */
			default: return TCP_ICMP_OTHER;  /* 5 source route failed, 8, 14, 15 */
			}
		case ICMP_SOURCE_QUENCH: return TCP_ICMP_SOURCE_QUENCH;
		case ICMP_TIME_EXCEEDED: return TCP_ICMP_TIME_EXCEEDED;
		case ICMP_PARAMETERPROB: return TCP_ICMP_PARAM_PROBLEM;
		default: return 0;
		}
	}
	switch (type) { /* RFC 4443 3 */
	case ICMP6_DST_UNREACH:
		switch (code) {
		case 0: return TCP_ICMP_NET_UNREACH;        /* no route to destination */
		case 1: case 5: case 6: return TCP_ICMP_PROHIBITED; /* prohibited, policy, reject route */
		case 3: return TCP_ICMP_HOST_UNREACH;       /* address unreachable */
		case 4: return TCP_ICMP_PORT_UNREACH;
		default: return TCP_ICMP_OTHER;             /* 2 beyond scope of source */
		}
	case ICMP6_PACKET_TOO_BIG: return TCP_ICMP_FRAG_NEEDED;
	case ICMP6_TIME_EXCEEDED: return TCP_ICMP_TIME_EXCEEDED;
	case ICMP6_PARAM_PROB: /* code 1: unrecognized Next Header type */
		return code == 1 ? TCP_ICMP_PROTO_UNREACH : TCP_ICMP_PARAM_PROBLEM;
	default: return 0;
	}
}

int udp_err_errno_kind(int err)
{
	switch (err) {
	case EACCES: /* a broadcast address without SO_BROADCAST, a "prohibit" route */
	case EPERM:  /* a firewall rule */
		return TCP_ICMP_PROHIBITED;
	case ENETUNREACH:
	case ENETDOWN:
	case EADDRNOTAVAIL: /* no source address for that destination */
	case EINVAL:        /* e.g. from a socket bound to 127.0.0.1 to another host */
		return TCP_ICMP_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return TCP_ICMP_HOST_UNREACH;
	case EMSGSIZE:
		return TCP_ICMP_FRAG_NEEDED;
	default:
		/* ECONNREFUSED and the like are errors of EARLIER datagrams
		 * (sk_err, set by an ICMP message), never this one's */
		return TCP_ICMP_OTHER;
	}
}

int udp_err_sock_init(struct udp_err *x, int fd, int family)
{
	int one = 1, r = 0;
	int probe = family == 6 ? IPV6_PMTUDISC_PROBE : IP_PMTUDISC_PROBE;
	if (family == 6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one) != 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof probe) != 0)
			r = -errno;
	} else {
		if (setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one) != 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe) != 0)
			r = -errno;
	}
	if (r != 0 && !x->warned) {
		x->warned = 1;
		log_warn("udp: ICMP error reporting unavailable (%s): connections to unreachable "
			 "peers end only by timeout, no path MTU discovery", strerror(-r));
	}
	return r;
}

static void push(struct udp_err *x, const struct tcp_endpoint *peer, const uint8_t *tcp,
		 const struct tcp_icmp *e)
{
	if (x->n >= UDP_ERR_PENDING) {
		x->cnt.overflow++;
		return;
	}
	struct udp_err_pending *p = &x->q[x->n++];
	p->peer = *peer;
	p->lport = (uint16_t)(tcp[0] << 8 | tcp[1]); /* our segment: source = our port */
	p->rport = (uint16_t)(tcp[2] << 8 | tcp[3]);
	p->seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
	p->e = *e;
}

static void fmt_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
						  : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		snprintf(buf, len, "?");
	else if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* One entry of the error queue. */
static void handle(struct udp_err *x, const struct msghdr *m, const uint8_t *data, size_t len)
{
	const struct sock_extended_err *ee = NULL;
	struct sock_extended_err eb;
	struct sockaddr_storage offender; /* SO_EE_OFFENDER: who sent the ICMP message */
	memset(&offender, 0, sizeof offender);
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
			if (c->cmsg_len < CMSG_LEN(sizeof eb))
				return;
			memcpy(&eb, CMSG_DATA(c), sizeof eb);
			size_t rest = c->cmsg_len - CMSG_LEN(sizeof eb);
			memcpy(&offender, CMSG_DATA(c) + sizeof eb, rest < sizeof offender ? rest : sizeof offender);
			ee = &eb;
			break;
		}
	}
	if (!ee)
		return;
	if (ee->ee_origin == SO_EE_ORIGIN_LOCAL) {
		/* this host's own error: a datagram larger than the interface
		 * MTU (DF set) - its size is in ee_info; udp.c reports the
		 * datagram itself (udp_err_send_failed) */
		x->cnt.local++;
		if (ee->ee_errno == EMSGSIZE)
			x->local_mtu = ee->ee_info;
		return;
	}
	if (ee->ee_origin != SO_EE_ORIGIN_ICMP && ee->ee_origin != SO_EE_ORIGIN_ICMP6)
		return;
	x->cnt.icmp++;
	int family = ee->ee_origin == SO_EE_ORIGIN_ICMP6 ? 6 : 4;
	int kind = udp_err_icmp_kind(family, ee->ee_type, ee->ee_code);
	struct tcp_endpoint peer;
	if (!kind || endpoint_from_sockaddr(&peer, (const struct sockaddr *)m->msg_name) != 0)
		return;
	char dst[INET6_ADDRSTRLEN + 8], from[INET6_ADDRSTRLEN];
	sockaddr_format((const struct sockaddr *)m->msg_name, dst, sizeof dst);
	fmt_addr((const struct sockaddr *)&offender, from, sizeof from);
	log_peer(LOG_LVL_DEBUG, peer.addr, family == 6 ? 16 : 4, toud_now(),
		 "udp: ICMP%s type %u code %u (%s) from %s about a datagram to %s%s",
		 family == 6 ? "v6" : "", (unsigned)ee->ee_type, (unsigned)ee->ee_code,
		 tcp_icmp_name((enum tcp_icmp_kind)kind), from, dst, len < 8 ? ": quote too short" : "");
	if (len < 8) {
		/* the quote ends before the TCP ports and sequence number */
		x->cnt.icmp_short++;
		return;
	}
	struct tcp_icmp e = { (enum tcp_icmp_kind)kind, ee->ee_info, (int)ee->ee_errno, 0 };
	if (kind != TCP_ICMP_FRAG_NEEDED)
		e.mtu = 0;
	push(x, &peer, data, &e);
}

unsigned udp_err_read(struct udp_err *x, int fd)
{
	unsigned n = 0;
	while (n < READ_MAX) {
		uint8_t data[64];
		struct sockaddr_storage name;
		union {
			char buf[512];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { data, sizeof data };
		struct msghdr m = { .msg_name = &name, .msg_namelen = sizeof name, .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
		memset(&name, 0, sizeof name);
		ssize_t r = recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: empty */
		}
		n++;
		handle(x, &m, data, (size_t)r);
	}
	return n;
}

void udp_err_send_failed(struct udp_err *x, const struct sockaddr *to, const uint8_t *seg, size_t len,
			 int err)
{
	struct tcp_endpoint peer;
	if (len < 8 || endpoint_from_sockaddr(&peer, to) != 0)
		return;
	x->cnt.send_failed++;
	struct tcp_icmp e = { (enum tcp_icmp_kind)udp_err_errno_kind(err), 0, err, 1 };
	if (e.kind == TCP_ICMP_FRAG_NEEDED)
		e.mtu = x->local_mtu; /* the interface MTU of the local EMSGSIZE */
	push(x, &peer, seg, &e);
}

int udp_err_pending(const struct udp_err *x)
{
	return x->n != 0;
}

unsigned udp_err_deliver(struct udp_err *x, struct tcp_stack *st, tcp_time_t now)
{
	return udp_err_deliver_to(x, st, now, NULL, NULL);
}

unsigned udp_err_deliver_to(struct udp_err *x, struct tcp_stack *st, tcp_time_t now,
			    int (*other)(void *arg, const struct udp_err_pending *p), void *arg)
{
	unsigned n = x->n;
	x->n = 0;
	for (unsigned i = 0; st && i < n; i++) {
		const struct udp_err_pending *p = &x->q[i];
		if (other && other(arg, p))
			continue; /* another shard's connection: handed on */
		tcp_icmp_error(st, &p->peer, p->lport, p->rport, p->seq, &p->e, now);
	}
	return n;
}

/* test_udp_err.c - daemon/udp_err.c: the ICMP type/code and errno
 * mappings, the socket options (IP_RECVERR, don't-fragment), and two round
 * trips through real loopback sockets: an engine SYN sent to a UDP port
 * where nothing listens comes back as ICMP "port unreachable" in the error
 * queue and ends that connection as TCP_EUNREACH; a SYN the kernel refuses
 * (EACCES, broadcast) does too, with the errno. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "toud.h"
#include "tt.h"
#include "udp_err.h"


TT_TEST(udp_err_icmp_kinds)
{
	TT_EQ(udp_err_icmp_kind(4, 3, 0), TCP_ICMP_NET_UNREACH);
	TT_EQ(udp_err_icmp_kind(4, 3, 1), TCP_ICMP_HOST_UNREACH);
	TT_EQ(udp_err_icmp_kind(4, 3, 2), TCP_ICMP_PROTO_UNREACH);
	TT_EQ(udp_err_icmp_kind(4, 3, 3), TCP_ICMP_PORT_UNREACH);
	TT_EQ(udp_err_icmp_kind(4, 3, 4), TCP_ICMP_FRAG_NEEDED);
	TT_EQ(udp_err_icmp_kind(4, 3, 5), TCP_ICMP_OTHER);
	TT_EQ(udp_err_icmp_kind(4, 3, 13), TCP_ICMP_PROHIBITED);
	TT_EQ(udp_err_icmp_kind(4, 4, 0), TCP_ICMP_SOURCE_QUENCH);
	TT_EQ(udp_err_icmp_kind(4, 11, 0), TCP_ICMP_TIME_EXCEEDED);
	TT_EQ(udp_err_icmp_kind(4, 12, 0), TCP_ICMP_PARAM_PROBLEM);
	TT_EQ(udp_err_icmp_kind(4, 0, 0), 0); /* echo reply: no error */
	TT_EQ(udp_err_icmp_kind(6, 1, 0), TCP_ICMP_NET_UNREACH);
	TT_EQ(udp_err_icmp_kind(6, 1, 1), TCP_ICMP_PROHIBITED);
	TT_EQ(udp_err_icmp_kind(6, 1, 3), TCP_ICMP_HOST_UNREACH);
	TT_EQ(udp_err_icmp_kind(6, 1, 4), TCP_ICMP_PORT_UNREACH);
	TT_EQ(udp_err_icmp_kind(6, 2, 0), TCP_ICMP_FRAG_NEEDED);
	TT_EQ(udp_err_icmp_kind(6, 3, 0), TCP_ICMP_TIME_EXCEEDED);
	TT_EQ(udp_err_icmp_kind(6, 4, 1), TCP_ICMP_PROTO_UNREACH);
	TT_EQ(udp_err_icmp_kind(6, 4, 0), TCP_ICMP_PARAM_PROBLEM);
	TT_EQ(udp_err_icmp_kind(6, 128, 0), 0);
}

TT_TEST(udp_err_errno_kinds)
{
	TT_EQ(udp_err_errno_kind(EACCES), TCP_ICMP_PROHIBITED);
	TT_EQ(udp_err_errno_kind(EPERM), TCP_ICMP_PROHIBITED);
	TT_EQ(udp_err_errno_kind(ENETUNREACH), TCP_ICMP_NET_UNREACH);
	TT_EQ(udp_err_errno_kind(EHOSTUNREACH), TCP_ICMP_HOST_UNREACH);
	TT_EQ(udp_err_errno_kind(EMSGSIZE), TCP_ICMP_FRAG_NEEDED);
	/* an earlier datagram's ICMP error, never this one's */
	TT_EQ(udp_err_errno_kind(ECONNREFUSED), TCP_ICMP_OTHER);
}

/* An engine whose segments go out of one real UDP socket. */
struct rig {
	struct udp_err err;
	int fd;
	struct tcp_stack *st;
	int closed_err, closed;
};

static void rig_emit(void *ctx, const struct tcp_endpoint *to, const uint8_t *seg, size_t len)
{
	struct rig *r = ctx;
	struct sockaddr_storage ss;
	socklen_t sl;
	endpoint_to_sockaddr(to, &ss, &sl);
	if (sendto(r->fd, seg, len, 0, (struct sockaddr *)&ss, sl) < 0)
		udp_err_send_failed(&r->err, (struct sockaddr *)&ss, seg, len, errno);
}

static void rig_event(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err)
{
	struct rig *r = ctx;
	(void)user;
	if (ev == TCP_EV_CLOSED) {
		r->closed++;
		r->closed_err = err;
		tcp_release(c, 0);
	}
}

static int rig_init(struct rig *r)
{
	memset(r, 0, sizeof *r);
	r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&a, sizeof a) != 0)
		return -1;
	if (udp_err_sock_init(&r->err, r->fd, 4) != 0)
		return -2;
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	struct tcp_callbacks cb = { r, rig_emit, rig_event, NULL, NULL, NULL };
	uint8_t secret[16] = { 1, 2, 3 };
	return tcp_stack_new(&r->st, &cfg, &cb, secret, 7) == 0 ? 0 : -3;
}

static void rig_free(struct rig *r)
{
	tcp_stack_free(r->st);
	close(r->fd);
}

TT_TEST(udp_err_socket_options)
{
	struct rig r;
	TT_EQ(rig_init(&r), 0);
	int v = 0;
	socklen_t l = sizeof v;
	TT_EQ(getsockopt(r.fd, IPPROTO_IP, IP_RECVERR, &v, &l), 0);
	TT_EQ(v, 1);
	l = sizeof v;
	TT_EQ(getsockopt(r.fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, &l), 0);
	TT_EQ(v, IP_PMTUDISC_PROBE);
	rig_free(&r);
}

TT_TEST(udp_err_port_unreachable_ends_connect)
{
	struct rig r;
	TT_EQ(rig_init(&r), 0);
	/* a UDP port with nothing bound: bind, note, close */
	int tmp = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	TT_EQ(bind(tmp, (struct sockaddr *)&a, sizeof a), 0);
	TT_EQ(getsockname(tmp, (struct sockaddr *)&a, &al), 0);
	close(tmp);
	struct tcp_endpoint dead;
	TT_EQ(endpoint_from_sockaddr(&dead, (struct sockaddr *)&a), 0);
	struct tcp_conn *c;
	TT_EQ(tcp_connect(r.st, &dead, 80, 0, NULL, NULL, 1000, &c), 0);
	/* the kernel's answer: POLLERR, then the error queue */
	struct pollfd p = { r.fd, 0, 0 };
	TT_EQ(poll(&p, 1, 10000), 1);
	TT_ASSERT(p.revents & POLLERR);
	TT_EQ(udp_err_read(&r.err, r.fd), 1);
	TT_EQ(r.err.cnt.icmp, 1);
	TT_EQ(udp_err_pending(&r.err), 1);
	TT_EQ(r.closed, 0); /* nothing reaches the engine before deliver */
	TT_EQ(udp_err_deliver(&r.err, r.st, 2000), 1);
	TT_EQ(r.closed, 1);
	TT_EQ(r.closed_err, TCP_EUNREACH);
	struct tcp_stats s;
	tcp_get_stats(r.st, &s);
	TT_EQ(s.IcmpAborts, 1);
	/* the error is consumed: the socket no longer reports it */
	p.revents = 0;
	TT_EQ(poll(&p, 1, 0), 0);
	rig_free(&r);
}

TT_TEST(udp_err_failed_syn_ends_connect)
{
	struct rig r;
	TT_EQ(rig_init(&r), 0);
	struct tcp_endpoint bcast = { .family = 4, .addr = { 255, 255, 255, 255 }, .udp_port = 9811 };
	struct tcp_conn *c;
	TT_EQ(tcp_connect(r.st, &bcast, 80, 0, NULL, NULL, 1000, &c), 0);
	TT_EQ(udp_err_pending(&r.err), 1); /* sendto: EACCES */
	TT_EQ(udp_err_deliver(&r.err, r.st, 2000), 1);
	TT_EQ(r.closed, 1);
	TT_EQ(r.closed_err, TCP_EUNREACH);
	TT_EQ(r.err.cnt.send_failed, 1);
	rig_free(&r);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

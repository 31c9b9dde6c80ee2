/*
 * endpoint.c - struct tcp_endpoint to and from socket addresses and text
 * (endpoint.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "endpoint.h"

void endpoint_format(const struct tcp_endpoint *ep, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ep->family == 6) {
		inet_ntop(AF_INET6, ep->addr, ip, sizeof ip);
		snprintf(buf, len, "[%s]:%u", ip, ep->udp_port);
	} else {
		inet_ntop(AF_INET, ep->addr, ip, sizeof ip);
		snprintf(buf, len, "%s:%u", ip, ep->udp_port);
	}
}

int endpoint_from_sockaddr(struct tcp_endpoint *ep, const struct sockaddr *sa)
{
	memset(ep, 0, sizeof *ep);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		ep->family = 4;
		memcpy(ep->addr, &s4->sin_addr, 4);
		ep->udp_port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		ep->family = 6;
		memcpy(ep->addr, &s6->sin6_addr, 16);
		ep->udp_port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

int endpoint_to_sockaddr(const struct tcp_endpoint *ep, struct sockaddr_storage *ss, socklen_t *sl)
{
	memset(ss, 0, sizeof *ss);
	if (ep->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, ep->addr, 16);
		s6->sin6_port = htons(ep->udp_port);
		*sl = sizeof *s6;
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, ep->addr, 4);
	s4->sin_port = htons(ep->udp_port);
	*sl = sizeof *s4;
	return 0;
}

void sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	struct tcp_endpoint ep;
	if (endpoint_from_sockaddr(&ep, sa) != 0) {
		snprintf(buf, len, "?");
		return;
	}
	endpoint_format(&ep, buf, len);
}

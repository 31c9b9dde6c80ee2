/*
 * endpoint.h - struct tcp_endpoint (the engine's peer address: IP and UDP
 * port) to and from socket addresses and text.
 */
#ifndef TOUD_ENDPOINT_H
#define TOUD_ENDPOINT_H

#include <stddef.h>
#include <sys/socket.h>

#include "tcp.h"

/* "1.2.3.4:9811", "[::1]:9811" */
void endpoint_format(const struct tcp_endpoint *ep, char *buf, size_t len);
/* 0, or -1 for a family other than AF_INET / AF_INET6 (ep zeroed) */
int endpoint_from_sockaddr(struct tcp_endpoint *ep, const struct sockaddr *sa);
/* Fills ss and *sl (family 6: AF_INET6, else AF_INET).  Returns 0. */
int endpoint_to_sockaddr(const struct tcp_endpoint *ep, struct sockaddr_storage *ss, socklen_t *sl);
/* A socket address as endpoint_format() writes it ("?" for another family). */
void sockaddr_format(const struct sockaddr *sa, char *buf, size_t len);

#endif

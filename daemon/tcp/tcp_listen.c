/*
 * tcp_listen.c - listeners (RFC 9293 3.10.1 passive OPEN): the listening
 * ports, each with its queue of SYN-RECEIVED TCBs and its allow list of
 * address prefixes.  What a segment to a listener does is in tcp_input.c.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"

void tcp_listener_add_embryo(struct tcp_listener *l, struct tcp_conn *c)
{
	c->listener = l;
	c->lq_next = NULL;
	c->lq_prev = l->embryo_tail;
	if (l->embryo_tail)
		l->embryo_tail->lq_next = c;
	else
		l->embryo_head = c;
	l->embryo_tail = c;
	l->pending++;
}

void tcp_listener_detach(struct tcp_conn *c)
{
	struct tcp_listener *l = c->listener;
	if (!l)
		return;
	if (c->lq_prev)
		c->lq_prev->lq_next = c->lq_next;
	else
		l->embryo_head = c->lq_next;
	if (c->lq_next)
		c->lq_next->lq_prev = c->lq_prev;
	else
		l->embryo_tail = c->lq_prev;
	c->lq_prev = c->lq_next = NULL;
	if (l->pending)
		l->pending--;
	c->listener = NULL;
}

struct tcp_listener *tcp_listener_find(struct tcp_stack *s, uint16_t port)
{
	for (struct tcp_listener *l = s->listeners; l; l = l->next)
		if (l->port == port)
			return l;
	return NULL;
}

int tcp_prefix_bits_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

int tcp_listener_set_allow(struct tcp_listener *l, const struct tcp_prefix *allow, unsigned n,
			   int reset)
{
	if (!l || n > TCP_LISTEN_ALLOW_MAX || (n && !allow))
		return TCP_EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!(allow[i].family == 0 && allow[i].len == 0) &&
		    !(allow[i].family == 4 && allow[i].len <= 32) &&
		    !(allow[i].family == 6 && allow[i].len <= 128))
			return TCP_EINVAL;
	struct tcp_prefix *copy = NULL;
	if (n) {
		copy = malloc(n * sizeof *copy);
		if (!copy)
			return TCP_ENOMEM;
		memcpy(copy, allow, n * sizeof *copy);
	}
	free(l->allow);
	l->allow = copy;
	l->nallow = n;
	l->allow_reset = reset != 0;
	return 0;
}

int tcp_listener_get_counters(const struct tcp_listener *l, struct tcp_listener_counters *out)
{
	if (!l || !out)
		return TCP_EINVAL;
	*out = l->cnt;
	return 0;
}

int tcp_prefix_match(const struct tcp_prefix *p, uint8_t family, const uint8_t *addr)
{
	return p->family == 0 || (p->family == family && tcp_prefix_bits_eq(p->addr, addr, p->len));
}

int tcp_listener_allows(const struct tcp_listener *l, const struct tcp_endpoint *peer)
{
	if (!l->nallow)
		return 1;
	for (unsigned i = 0; i < l->nallow; i++)
		if (tcp_prefix_match(&l->allow[i], peer->family, peer->addr))
			return 1;
	return 0;
}

int tcp_listen(struct tcp_stack *s, uint16_t port, unsigned backlog, void *user,
	       struct tcp_listener **out)
{
	if (!s || !out || port == 0)
		return TCP_EINVAL;
	*out = NULL;
	if (tcp_listener_find(s, port))
		return TCP_EADDRINUSE;
	struct tcp_listener *l = calloc(1, sizeof *l);
	if (!l)
		return TCP_ENOMEM;
	l->s = s;
	l->port = port;
	l->backlog = backlog ? backlog : 1;
	l->user = user;
	l->next = s->listeners;
	s->listeners = l;
	tcp_log(s, TCP_LOG_DEBUG, "port %u: CLOSED => LISTEN", (unsigned)port);
	*out = l;
	return 0;
}

void tcp_unlisten(struct tcp_listener *l, tcp_time_t now)
{
	if (!l)
		return;
	struct tcp_stack *s = l->s;
	tcp_enter(s);
	/* connections not yet accepted are reset */
	for (unsigned guard = 0; l->embryo_head && guard < (1u << 25); guard++) {
		struct tcp_conn *c = l->embryo_head;
		tcp_send_ctl(c, TCP_RST | TCP_ACK, c->snd_nxt, now);
		tcp_conn_closed(c, TCP_EABORTED);
	}
	struct tcp_listener **pp = &s->listeners;
	for (; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	tcp_log(s, TCP_LOG_DEBUG, "port %u: LISTEN => CLOSED", (unsigned)l->port);
	free(l->allow);
	free(l);
	tcp_leave(s);
}

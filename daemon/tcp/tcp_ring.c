/*
 * tcp_ring.c - the per-connection ring buffers (allocated once per
 * connection, no allocation on the data path).
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"

int tcp_ring_init(struct tcp_ring *r, uint32_t cap)
{
	r->head = r->len = 0;
	r->cap = cap;
	r->buf = malloc(cap ? cap : 1);
	return r->buf ? 0 : TCP_ENOMEM;
}

void tcp_ring_free(struct tcp_ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->len = r->head = 0;
}

/* Copy n bytes to logical offset off (off + n <= cap). */
void tcp_ring_write(struct tcp_ring *r, uint32_t off, const void *data, uint32_t n)
{
	if (!n || off >= r->cap || n > r->cap - off)
		return;
	uint32_t pos = (uint32_t)(((uint64_t)r->head + off) % r->cap);
	uint32_t first = r->cap - pos < n ? r->cap - pos : n;
	memcpy(r->buf + pos, data, first);
	if (first < n)
		memcpy(r->buf, (const uint8_t *)data + first, n - first);
}

void tcp_ring_read(const struct tcp_ring *r, uint32_t off, void *out, uint32_t n)
{
	if (!n || off >= r->cap || n > r->cap - off)
		return;
	uint32_t pos = (uint32_t)(((uint64_t)r->head + off) % r->cap);
	uint32_t first = r->cap - pos < n ? r->cap - pos : n;
	memcpy(out, r->buf + pos, first);
	if (first < n)
		memcpy((uint8_t *)out + first, r->buf, n - first);
}

void tcp_ring_consume(struct tcp_ring *r, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	r->head = (uint32_t)(((uint64_t)r->head + n) % r->cap);
	r->len -= n;
}

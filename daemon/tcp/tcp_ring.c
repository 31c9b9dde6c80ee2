/*
 * tcp_ring.c - the per-connection ring buffers, allocated on first need
 * and resized with use (issue "memory that follows use"): a ring has a
 * logical limit (`lim`, what the window and send accounting see) and an
 * allocation (`cap` bytes at `buf`) that grows towards the limit when bytes
 * must be stored and is released or shrunk when the connection idles.
 * Resizing allocates the new buffer, copies the live bytes (linearized to
 * head 0) and frees the old one; on allocation failure the ring stays as
 * it was.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"

void tcp_ring_init(struct tcp_ring *r, uint32_t lim)
{
	r->buf = NULL;
	r->cap = r->head = r->len = 0;
	r->lim = lim;
	r->hint = 0;
}

void tcp_ring_free(struct tcp_ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->len = r->head = 0;
}

/* Reallocate to exactly newcap bytes keeping logical offsets [0, keep). */
static int ring_realloc(struct tcp_ring *r, uint32_t newcap, uint32_t keep)
{
	uint8_t *nb = malloc(newcap);
	if (!nb)
		return TCP_ENOMEM;
	if (keep > newcap)
		keep = newcap;
	if (keep > r->cap)
		keep = r->cap;
	if (keep)
		tcp_ring_read(r, 0, nb, keep);
	free(r->buf);
	r->buf = nb;
	r->cap = newcap;
	r->head = 0;
	return 0;
}

static uint32_t round_pow2(uint32_t n)
{
	uint32_t p = TCP_RING_MIN;
	while (p < n && p < (1u << 31))
		p <<= 1;
	return p;
}

int tcp_ring_reserve(struct tcp_ring *r, uint32_t need)
{
	if (need > r->lim)
		need = r->lim;
	if (need <= r->cap)
		return 0;
	/* double at least (amortized O(1) copying while a transfer ramps up) */
	uint32_t want = need;
	if (r->cap <= UINT32_MAX / 2 && want < 2 * r->cap)
		want = 2 * r->cap;
	if (want < r->hint)
		want = r->hint; /* what it held before being given back */
	want = round_pow2(want);
	if (want > r->lim)
		want = r->lim;
	if (ring_realloc(r, want, r->cap) == 0)
		return 0;
	/* a smaller step may still succeed */
	if (need < want && ring_realloc(r, need, r->cap) == 0)
		return 0;
	return TCP_ENOMEM;
}

void tcp_ring_trim(struct tcp_ring *r, uint32_t keep)
{
	if (!r->buf)
		return;
	if (keep == 0) {
		r->hint = r->cap;
		free(r->buf);
		r->buf = NULL;
		r->cap = r->head = 0;
		return;
	}
	uint32_t want = round_pow2(keep);
	if (want <= r->cap / 2)
		(void)ring_realloc(r, want, keep); /* on failure the ring stays as it is */
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
	if (!r->cap)
		return;
	r->head = (uint32_t)(((uint64_t)r->head + n) % r->cap);
	r->len -= n;
}

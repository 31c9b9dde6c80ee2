/*
 * tcp_seqset.c - sorted, merged set of sequence ranges (see tcp_seqset.h).
 * Capacity is fixed, storage allocated while the set is not empty;
 * everything is O(capacity).
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_seqset.h"

_Static_assert(TCP_SEQSET_MAX <= 64 && TCP_SEQSET_CAP <= TCP_SEQSET_MAX,
	       "sack_blocks uses a 64-bit mask");

void tcp_seqset_init_cap(struct tcp_seqset *s, unsigned cap)
{
	memset(s, 0, sizeof(*s));
	if (cap < 1)
		cap = 1;
	if (cap > TCP_SEQSET_MAX)
		cap = TCP_SEQSET_MAX;
	s->cap = cap;
}

/* A zeroed struct (never initialised) behaves as the default capacity. */
static unsigned seqset_cap(const struct tcp_seqset *s)
{
	return s->cap ? s->cap : TCP_SEQSET_CAP;
}

void tcp_seqset_clear(struct tcp_seqset *s)
{
	free(s->r);
	s->r = NULL;
	s->stamp = NULL;
	s->n = 0;
}

void tcp_seqset_init(struct tcp_seqset *s)
{
	tcp_seqset_init_cap(s, TCP_SEQSET_CAP);
}

/* Hand out a new recency stamp; on the (very rare) wrap of the counter,
 * renumber the existing stamps 1..n keeping their order. */
static uint32_t next_stamp(struct tcp_seqset *s)
{
	if (s->clock == UINT32_MAX) {
		uint32_t rank[TCP_SEQSET_MAX];
		for (unsigned i = 0; i < s->n; i++) {
			rank[i] = 1;
			for (unsigned j = 0; j < s->n; j++)
				if (s->stamp[j] < s->stamp[i])
					rank[i]++;
		}
		for (unsigned i = 0; i < s->n; i++)
			s->stamp[i] = rank[i];
		s->clock = s->n;
	}
	return ++s->clock;
}

static void remove_at(struct tcp_seqset *s, unsigned i, unsigned count)
{
	memmove(&s->r[i], &s->r[i + count], (s->n - i - count) * sizeof(s->r[0]));
	memmove(&s->stamp[i], &s->stamp[i + count], (s->n - i - count) * sizeof(s->stamp[0]));
	s->n -= count;
	if (s->n == 0)
		tcp_seqset_clear(s); /* empty: the storage goes back */
}

/* Storage for the set's capacity (ranges, then stamps, one block): 0 or
 * TCP_ENOMEM. */
static int reserve(struct tcp_seqset *s)
{
	if (s->r)
		return 0;
	unsigned cap = seqset_cap(s);
	void *m = malloc(cap * (sizeof(struct tcp_seqrange) + sizeof(uint32_t)));
	if (!m)
		return TCP_ENOMEM;
	s->r = m;
	s->stamp = (uint32_t *)(s->r + cap);
	return 0;
}

/* The caller made room: n < capacity, storage reserved. */
static void insert_at(struct tcp_seqset *s, unsigned i, uint32_t start, uint32_t end,
		      uint32_t stamp)
{
	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(s->r[0]));
	memmove(&s->stamp[i + 1], &s->stamp[i], (s->n - i) * sizeof(s->stamp[0]));
	s->r[i].start = start;
	s->r[i].end = end;
	s->stamp[i] = stamp;
	s->n++;
}

int tcp_seqset_add(struct tcp_seqset *s, uint32_t start, uint32_t end)
{
	if (start == end)
		return 0;
	if (tcp_seq_lt(end, start))
		return TCP_EINVAL;
	/* i: first range that ends at or after start (touches or follows) */
	unsigned i = 0;
	while (i < s->n && tcp_seq_lt(s->r[i].end, start))
		i++;
	/* j: first range that starts strictly after end (untouched) */
	unsigned j = i;
	while (j < s->n && tcp_seq_leq(s->r[j].start, end))
		j++;
	if (i == j) {
		if (s->n >= seqset_cap(s) || reserve(s) < 0)
			return TCP_ENOMEM;
		insert_at(s, i, start, end, next_stamp(s));
		return 0;
	}
	s->r[i].start = tcp_seq_min(start, s->r[i].start);
	s->r[i].end = tcp_seq_max(end, s->r[j - 1].end);
	s->stamp[i] = next_stamp(s);
	if (j - i > 1)
		remove_at(s, i + 1, j - i - 1);
	return 0;
}

void tcp_seqset_trim_below(struct tcp_seqset *s, uint32_t seq)
{
	unsigned k = 0;
	while (k < s->n && tcp_seq_leq(s->r[k].end, seq))
		k++;
	if (k)
		remove_at(s, 0, k);
	if (s->n && tcp_seq_lt(s->r[0].start, seq))
		s->r[0].start = seq;
}

int tcp_seqset_remove(struct tcp_seqset *s, uint32_t start, uint32_t end)
{
	if (start == end)
		return 0;
	if (tcp_seq_lt(end, start))
		return TCP_EINVAL;
	for (unsigned i = 0; i < s->n; i++) {
		struct tcp_seqrange *r = &s->r[i];
		if (tcp_seq_leq(r->end, start))
			continue;
		if (tcp_seq_geq(r->start, end))
			break;
		int keep_left = tcp_seq_lt(r->start, start);
		int keep_right = tcp_seq_gt(r->end, end);
		if (keep_left && keep_right) {
			if (s->n >= seqset_cap(s))
				return TCP_ENOMEM;
			uint32_t old_end = r->end;
			r->end = start;
			insert_at(s, i + 1, end, old_end, s->stamp[i]);
			return 0;
		} else if (keep_left) {
			r->end = start;
		} else if (keep_right) {
			r->start = end;
		} else {
			remove_at(s, i, 1);
			i--;
		}
	}
	return 0;
}

const struct tcp_seqrange *tcp_seqset_find(const struct tcp_seqset *s, uint32_t seq)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (tcp_seq_lt(seq, s->r[i].start))
			return NULL;
		if (tcp_seq_lt(seq, s->r[i].end))
			return &s->r[i];
	}
	return NULL;
}

int tcp_seqset_contains(const struct tcp_seqset *s, uint32_t seq)
{
	return tcp_seqset_find(s, seq) != NULL;
}

uint32_t tcp_seqset_bytes(const struct tcp_seqset *s)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i < s->n; i++)
		sum += s->r[i].end - s->r[i].start;
	return sum;
}

uint32_t tcp_seqset_bytes_from(const struct tcp_seqset *s, uint32_t seq)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i < s->n; i++) {
		const struct tcp_seqrange *r = &s->r[i];
		if (tcp_seq_leq(r->end, seq))
			continue;
		sum += r->end - tcp_seq_max(r->start, seq);
	}
	return sum;
}

unsigned tcp_seqset_sack_blocks(const struct tcp_seqset *s, struct tcp_seqrange *out,
				unsigned max)
{
	/* RFC 2018 section 4: "The first SACK block (i.e., the one immediately
	 * following the kind and length fields in the option) MUST specify the
	 * contiguous block of data containing the segment which triggered this
	 * ACK ... The SACK option SHOULD be filled out by repeating the most
	 * recently reported SACK blocks".  Recency of change approximates
	 * "most recently reported": every block we report was changed by an
	 * arrival, newest first. */
	unsigned used = 0;
	uint64_t taken = 0; /* bit i: r[i] already output (TCP_SEQSET_MAX <= 64) */
	while (used < max && used < s->n) {
		int best = -1;
		for (unsigned i = 0; i < s->n; i++) {
			if (taken & (1ull << i))
				continue;
			if (best < 0 || s->stamp[i] > s->stamp[best])
				best = (int)i;
		}
		taken |= 1ull << best;
		out[used++] = s->r[best];
	}
	return used;
}

int tcp_seqset_first(const struct tcp_seqset *s, struct tcp_seqrange *out)
{
	if (!s->n)
		return 0;
	if (out)
		*out = s->r[0];
	return 1;
}

int tcp_seqset_last(const struct tcp_seqset *s, struct tcp_seqrange *out)
{
	if (!s->n)
		return 0;
	if (out)
		*out = s->r[s->n - 1];
	return 1;
}

unsigned tcp_seqset_count(const struct tcp_seqset *s)
{
	return s->n;
}

const struct tcp_seqrange *tcp_seqset_at(const struct tcp_seqset *s, unsigned i)
{
	return i < s->n ? &s->r[i] : NULL;
}

const struct tcp_seqrange *tcp_seqset_next(const struct tcp_seqset *s, uint32_t seq,
					   int containing)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (containing && tcp_seq_leq(s->r[i].start, seq) && tcp_seq_lt(seq, s->r[i].end))
			return &s->r[i];
		if (tcp_seq_geq(s->r[i].start, seq))
			return &s->r[i];
	}
	return NULL;
}

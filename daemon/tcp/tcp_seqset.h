/*
 * tcp_seqset.h - a small fixed-capacity set of TCP sequence ranges: sorted,
 * merged (no two ranges overlap or touch), compared only with modular
 * arithmetic (RFC 9293 3.4: "all arithmetic dealing with sequence numbers
 * must be performed modulo 2**32").  Every range must lie within 2^31 bytes
 * of the others, which TCP's window limits guarantee.
 *
 * It remembers the order in which ranges were last touched by
 * tcp_seqset_add so a receiver can build SACK blocks in RFC 2018 section 4
 * order.  Used by the receiver (out-of-order data, SACK generation) and by
 * the sender's RFC 6675 scoreboard (tcp_sack.h).
 */
#ifndef TOU_TCP_SEQSET_H
#define TOU_TCP_SEQSET_H

#include <stdint.h>

#include "tcp.h"

static inline int tcp_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int tcp_seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline int tcp_seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int tcp_seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t tcp_seq_max(uint32_t a, uint32_t b) { return tcp_seq_gt(a, b) ? a : b; }
static inline uint32_t tcp_seq_min(uint32_t a, uint32_t b) { return tcp_seq_lt(a, b) ? a : b; }

/* [start, end): end is one past the last byte. */
struct tcp_seqrange {
	uint32_t start, end;
};

/* Default capacity (tcp_seqset_init) and the most any set can hold
 * (tcp_seqset_init_cap): the sender's scoreboard takes the maximum so a
 * window with many holes (tail drops in a deep queue) stays exact longer.
 * Every operation is O(capacity). */
#define TCP_SEQSET_CAP 32
#define TCP_SEQSET_MAX 64

/* The ranges live in storage allocated when the first range comes and
 * given back when the set empties (and by tcp_seqset_clear): a connection
 * that never sees a hole (its out-of-order queue, its SACK scoreboard)
 * holds none, issue 11's memory per idle connection. */
struct tcp_seqset {
	unsigned n;                               /* ranges in use */
	unsigned cap;                             /* capacity, <= TCP_SEQSET_MAX */
	struct tcp_seqrange *r;                   /* cap: ascending, disjoint,
	                                             non-adjacent; NULL while n == 0 */
	uint32_t *stamp;                          /* recency of r[i]: larger = newer */
	uint32_t clock;                           /* last stamp handed out */
};

/* An empty set holding up to TCP_SEQSET_CAP ranges (s is not yet
 * initialised: a set in use is emptied with tcp_seqset_clear). */
void tcp_seqset_init(struct tcp_seqset *s);
/* An empty set holding up to cap ranges (clamped to 1..TCP_SEQSET_MAX). */
void tcp_seqset_init_cap(struct tcp_seqset *s, unsigned cap);
/* Empty the set and give back its storage (its capacity stays). */
void tcp_seqset_clear(struct tcp_seqset *s);
/* Add [start, end), merging with overlapping and adjacent ranges; the
 * resulting range becomes the most recent.  Returns 0 (also for an empty
 * range, which changes nothing), TCP_EINVAL if end is more than 2^31 before
 * start, or TCP_ENOMEM if the set is full and the range touches none. */
int tcp_seqset_add(struct tcp_seqset *s, uint32_t start, uint32_t end);
/* Forget every byte before seq; a range straddling seq is cut to start at seq. */
void tcp_seqset_trim_below(struct tcp_seqset *s, uint32_t seq);
/* Remove [start, end) (may split one range; TCP_ENOMEM if that needs a slot
 * and the set is full, in which case nothing changes). */
int tcp_seqset_remove(struct tcp_seqset *s, uint32_t start, uint32_t end);
int tcp_seqset_contains(const struct tcp_seqset *s, uint32_t seq);
/* Total bytes covered. */
uint32_t tcp_seqset_bytes(const struct tcp_seqset *s);
/* Bytes covered at or after seq. */
uint32_t tcp_seqset_bytes_from(const struct tcp_seqset *s, uint32_t seq);
/* Up to max ranges in RFC 2018 section 4 order: the most recently added
 * (merged) range first ("the first SACK block MUST specify the contiguous
 * block of data containing the segment which triggered this ACK"), then the
 * others from most to least recently changed.  Returns the count. */
unsigned tcp_seqset_sack_blocks(const struct tcp_seqset *s, struct tcp_seqrange *out,
				unsigned max);
/* Lowest range: 1 and *out, or 0 if empty. */
int tcp_seqset_first(const struct tcp_seqset *s, struct tcp_seqrange *out);
/* Highest range: 1 and *out, or 0 if empty. */
int tcp_seqset_last(const struct tcp_seqset *s, struct tcp_seqrange *out);
/* Iteration in ascending order: i from 0 to tcp_seqset_count()-1. */
unsigned tcp_seqset_count(const struct tcp_seqset *s);
const struct tcp_seqrange *tcp_seqset_at(const struct tcp_seqset *s, unsigned i);
/* The range containing seq, or NULL. */
const struct tcp_seqrange *tcp_seqset_find(const struct tcp_seqset *s, uint32_t seq);
/* The first range that starts at or after seq (or contains it when
 * `containing` is set), or NULL. */
const struct tcp_seqrange *tcp_seqset_next(const struct tcp_seqset *s, uint32_t seq,
					   int containing);

#endif

/*
 * tcp_syncookie.c - the SYN cookie codec (RFC 4987 section 3.6): the ISN
 * that stands for a half-open connection, and the option bits in the
 * SYN,ACK's TSval.  Layouts in tcp_syncookie.h.
 */
#include <string.h>

#include "tcp_seg.h"
#include "tcp_siphash.h"
#include "tcp_syncookie.h"

const uint16_t tcp_syncookie_mss_table[TCP_SYNCOOKIE_NMSS] = { 536, 1220, 1432, 1452 };

#define COOKIE_BITS 24 /* low bits: hash + MSS index; high 8: the counter */
#define COOKIE_MASK ((1u << COOKIE_BITS) - 1)

#define TS_BITS 6
#define TS_MASK ((1u << TS_BITS) - 1)
#define TS_WSCALE_MASK 0x0fu
#define TS_WSCALE_NONE 0x0fu /* not a legal shift (RFC 7323 2.3: at most 14) */
#define TS_SACK 0x10u
#define TS_RESERVED 0x20u    /* Linux's ECN bit; tou has no ECN */

unsigned tcp_syncookie_mss_index(uint16_t peer_mss)
{
	unsigned i = TCP_SYNCOOKIE_NMSS - 1;
	while (i > 0 && tcp_syncookie_mss_table[i] > peer_mss)
		i--;
	return i;
}

/* A keyed hash of the tuple, the counter, the peer's ISN and which hash
 * (the tag keeps H1, the four H2 and the ISN's F() different functions).
 * Unlike Linux's, H2 covers the peer's ISN and the MSS index instead of
 * adding the index to it: the low 24 bits are then no linear function of
 * either, so a cookie or a SEG.SEQ off by a few is not a cookie with
 * another MSS index - it is refused. */
static uint32_t cookie_hash(const uint8_t key[16], const void *tuple, size_t tlen, uint32_t count,
			    uint32_t peer_isn, char which)
{
	struct {
		char tag[4];
		uint8_t count[4];
		uint8_t isn[4];
		uint8_t tuple[32];
	} in;
	memset(&in, 0, sizeof in);
	memcpy(in.tag, "SCk", 3);
	in.tag[3] = which;
	for (int i = 0; i < 4; i++) {
		in.count[i] = (uint8_t)(count >> (8 * i));
		in.isn[i] = (uint8_t)(peer_isn >> (8 * i));
	}
	if (tlen > sizeof in.tuple)
		tlen = sizeof in.tuple;
	memcpy(in.tuple, tuple, tlen);
	return (uint32_t)tcp_siphash24(key, &in, sizeof in);
}

static uint32_t counter(tcp_time_t now)
{
	return (uint32_t)(now / TCP_SYNCOOKIE_PERIOD);
}

uint32_t tcp_syncookie_make(const uint8_t key[16], const void *tuple, size_t tlen,
			    uint32_t peer_isn, unsigned mss_index, tcp_time_t now)
{
	uint32_t t = counter(now);
	return cookie_hash(key, tuple, tlen, 0, 0, '1') + peer_isn + (t << COOKIE_BITS) +
	       (cookie_hash(key, tuple, tlen, t, peer_isn, (char)('a' + mss_index)) & COOKIE_MASK);
}

int tcp_syncookie_check(const uint8_t key[16], const void *tuple, size_t tlen,
			uint32_t peer_isn, uint32_t cookie, tcp_time_t now)
{
	uint32_t t = counter(now);
	uint32_t v = cookie - cookie_hash(key, tuple, tlen, 0, 0, '1') - peer_isn;
	/* the counter's low 8 bits say how old the cookie is */
	uint32_t age = (t - (v >> COOKIE_BITS)) & (0xffffffffu >> COOKIE_BITS);
	for (unsigned idx = 0; idx < TCP_SYNCOOKIE_NMSS; idx++) {
		if ((v & COOKIE_MASK) !=
		    (cookie_hash(key, tuple, tlen, t - age, peer_isn, (char)('a' + idx)) & COOKIE_MASK))
			continue;
		if (age >= TCP_SYNCOOKIE_MAX_AGE)
			return TCP_ETIMEDOUT;
		return (int)idx;
	}
	return TCP_EINVAL;
}

uint32_t tcp_syncookie_ts_encode(uint32_t ts_now, int peer_wscale, int sack)
{
	uint32_t opts = peer_wscale < 0 ? TS_WSCALE_NONE
					: (uint32_t)(peer_wscale > 14 ? 14 : peer_wscale);
	if (sack)
		opts |= TS_SACK;
	uint32_t ts = (ts_now & ~TS_MASK) | opts;
	if (seq_gt(ts, ts_now))
		ts -= 1u << TS_BITS;
	return ts;
}

int tcp_syncookie_ts_decode(uint32_t tsecr, int *peer_wscale, int *sack)
{
	uint32_t opts = tsecr & TS_MASK;
	if (opts & TS_RESERVED)
		return TCP_EINVAL;
	*peer_wscale = (opts & TS_WSCALE_MASK) == TS_WSCALE_NONE ? -1 : (int)(opts & TS_WSCALE_MASK);
	*sack = (opts & TS_SACK) != 0;
	return 0;
}

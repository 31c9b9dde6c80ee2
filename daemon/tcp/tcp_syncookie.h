/*
 * tcp_syncookie.h - SYN cookies (RFC 4987 section 3.6): when a listener's
 * backlog of half-open connections is full, the SYN,ACK carries the state
 * of the connection in its ISN (and, with timestamps, in the low bits of
 * its TSval) instead of a TCB; the ACK that completes the handshake brings
 * it back and the TCB is built from it.
 *
 * The codec is pure arithmetic over SipHash-2-4 (tcp_siphash.h) keyed with
 * the stack's secret; time comes in as `now` (sans-I/O).
 *
 * ISN layout (Linux's, net/ipv4/syncookies.c, with the MSS index and the
 * peer's ISN inside the second hash rather than added to it):
 *     cookie = H1(tuple) + peer ISN + (t << 24) + (H2(tuple, t, peer ISN, mss_index) mod 2^24)
 * where t is a coarse counter (`now` / TCP_SYNCOOKIE_PERIOD) whose low 8
 * bits ride in the top octet, and H1, H2 are two different keyed hashes.
 * A cookie is accepted while t is the current or the previous period.
 *
 * Timestamp layout (only when the SYN carried TSopt, so the ACK echoes the
 * SYN,ACK's TSval in TSecr):
 *     | 31 .. 6 clock | 5 reserved (0) | 4 SACK | 3..0 peer's window shift, 0xf = none |
 */
#ifndef TOU_TCP_SYNCOOKIE_H
#define TOU_TCP_SYNCOOKIE_H

#include <stddef.h>
#include <stdint.h>

#include "tcp.h"

/* The coarse counter ticks every 64 s; a cookie lives one or two periods
 * (64-128 s: longer than any SYN,ACK round trip, short enough that a
 * captured cookie soon goes stale).  Linux: 60 s, MAX_SYNCOOKIE_AGE 2. */
#define TCP_SYNCOOKIE_PERIOD TCP_SEC(64)
#define TCP_SYNCOOKIE_MAX_AGE 2u

/* MSS values a cookie can carry (index 0..3); the peer's MSS is rounded
 * down to one of them: the RFC 9293 3.7.1 defaults 536 (IPv4) and 1220
 * (IPv6), and tou's own defaults over a 1500-octet path, 1432 (IPv6) and
 * 1452 (IPv4) (tcp.h cfg.mss). */
#define TCP_SYNCOOKIE_NMSS 4
extern const uint16_t tcp_syncookie_mss_table[TCP_SYNCOOKIE_NMSS];

/* The table index for a peer's MSS option value: the largest entry not
 * above it (0 for anything below 1220). */
unsigned tcp_syncookie_mss_index(uint16_t peer_mss);

/* The cookie (our ISN) for a SYN with sequence number peer_isn from the
 * connection `tuple` (tlen <= 32 octets that name it: addresses and
 * ports), carrying mss_index (< TCP_SYNCOOKIE_NMSS). */
uint32_t tcp_syncookie_make(const uint8_t key[16], const void *tuple, size_t tlen,
			    uint32_t peer_isn, unsigned mss_index, tcp_time_t now);

/* Check the cookie an ACK returns (SEG.ACK - 1, with SEG.SEQ - 1 as
 * peer_isn).  Returns the MSS index (>= 0), TCP_ETIMEDOUT when it is older
 * than TCP_SYNCOOKIE_MAX_AGE periods, or TCP_EINVAL when it was never
 * made with this key for this tuple and ISN (a forged or mistaken ACK;
 * a random guess passes with probability about 2^-22). */
int tcp_syncookie_check(const uint8_t key[16], const void *tuple, size_t tlen,
			uint32_t peer_isn, uint32_t cookie, tcp_time_t now);

/* The TSval of a cookie SYN,ACK: the timestamp clock `ts_now` with its
 * low 6 bits replaced by the options (peer_wscale 0..14, or -1 when the
 * SYN had no window scale option; sack: the SYN offered SACK), moved back
 * by 64 if that put it ahead of the clock (a shift above 14 is encoded as
14, RFC 7323 2.3) - TSvals the connection sends
 * later are never older (RFC 7323 5.4 "monotone-increasing"). */
uint32_t tcp_syncookie_ts_encode(uint32_t ts_now, int peer_wscale, int sack);

/* The options echoed in an ACK's TSecr: *peer_wscale (-1: none), *sack.
 * Returns 0, or TCP_EINVAL when the bits cannot come from
 * tcp_syncookie_ts_encode (the reserved bit is set). */
int tcp_syncookie_ts_decode(uint32_t tsecr, int *peer_wscale, int *sack);

#endif

/*
 * tcp_siphash.h - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), written from the paper's description.  Used for
 * the RFC 9293 3.4.1 ISN function F() and for hashing the connection table.
 */
#ifndef TOU_TCP_SIPHASH_H
#define TOU_TCP_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t tcp_siphash24(const uint8_t key[16], const void *msg, size_t len);

#endif

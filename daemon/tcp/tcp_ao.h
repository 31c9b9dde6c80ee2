/*
 * tcp_ao.h - the TCP Authentication Option (RFC 5925) with the algorithms
 * of RFC 5926 (KDF_HMAC_SHA1 + HMAC-SHA-1-96, KDF_AES_128_CMAC +
 * AES-128-CMAC-96): traffic-key derivation, the MAC of a segment, the
 * per-connection MKT state (current_key, rnext_key, SNE) and the checks
 * tcp_input/tcp_output call.  The primitives (HMAC-SHA1, AES-CMAC) are
 * GNU Nettle's; nothing here is a primitive of its own.
 *
 * Internal to the engine; the public part (struct tcp_ao_key,
 * tcp_ao_set_keys, policies, counters) is in tcp.h.
 */
#ifndef TOU_TCP_AO_H
#define TOU_TCP_AO_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/cmac.h>
#include <nettle/hmac.h>

#include "tcp.h"

#define TCP_OPT_AO 29           /* RFC 5925 2.2: "Kind: 29" */
#define TCP_AO_MAC_LEN 12       /* RFC 5926 2.2: both MACs are truncated to 96 bits */
#define TCP_AO_OPT_LEN (4 + TCP_AO_MAC_LEN) /* kind, length, KeyID, RNextKeyID, MAC */
#define TCP_AO_CONN_MKTS 4      /* MKTs one connection holds at once (a rollover needs 2) */
#define TCP_AO_MAX_CONTEXT 44   /* RFC 5925 5.2 context for IPv6: 16+16+2+2+4+4 */

/* The addresses of the IP pseudoheader (RFC 5925 5.1) and of the KDF
 * context (5.2), in the order of the segment: src, then dst. */
struct tcp_ao_addrs {
	uint8_t family; /* 4 or 6 */
	uint8_t src[16], dst[16];
};

/* A MAC keyed with one traffic key (the key schedule done once). */
struct tcp_ao_mac {
	uint8_t alg; /* enum tcp_ao_alg */
	union {
		struct hmac_sha1_ctx hmac;
		struct cmac_aes128_ctx cmac;
	} u;
};

/* RFC 5925 5.2 "Context": src and dst address, src and dst port, src and
 * dst ISN, in network byte order.  Returns its length (20 or 44). */
size_t tcp_ao_context(uint8_t out[TCP_AO_MAX_CONTEXT], const struct tcp_ao_addrs *a,
		      uint16_t sport, uint16_t dport, uint32_t sisn, uint32_t disn);

/* RFC 5926 3.1: Traffic_Key = KDF_alg(Master_Key, Context, Output_Length)
 * with "i || Label || Context || Output_Length" as PRF input, i = 1, Label
 * "TCP-AO".  Writes 20 (HMAC-SHA1) or 16 (AES-128-CMAC) bytes to key and
 * returns that length, or TCP_EINVAL for an unknown algorithm. */
int tcp_ao_kdf(uint8_t alg, const uint8_t *master, size_t mlen, const uint8_t *context,
	       size_t clen, uint8_t key[20]);

/* Key m with a traffic key of tcp_ao_kdf().  0 or TCP_EINVAL. */
int tcp_ao_mac_init(struct tcp_ao_mac *m, uint8_t alg, const uint8_t *key, size_t klen);

/* RFC 5925 5.1: the MAC of the segment seg[0..len) (TCP header with its
 * options, then data) carrying the TCP-AO option at seg[ao_off]: over the
 * SNE, the IP pseudoheader of `a`, the TCP header with checksum and MAC
 * set to zero - with exclude_options, only the fixed header and the
 * TCP-AO option - and the data.  The MAC field's bytes in seg are not
 * read.  0 or TCP_EMALFORMED (the option does not lie in the header). */
int tcp_ao_mac_seg(const struct tcp_ao_mac *m, uint32_t sne, const struct tcp_ao_addrs *a,
		   const uint8_t *seg, size_t len, size_t ao_off, int exclude_options,
		   uint8_t out[TCP_AO_MAC_LEN]);

/* RFC 5925 6.2: the SNE of sequence number seq, given that sequence
 * number ref has the SNE ref_sne: the 64-bit number nearest to ref. */
uint32_t tcp_ao_sne(uint32_t ref, uint32_t ref_sne, uint32_t seq);

/* ---- the engine's hooks (tcp_ao.c; struct tcp_conn in tcp_int.h) ---- */

struct tcp_conn;
struct tcp_listener;
struct tcp_seg;

/* An MKT instantiated for one connection: "its parameters are copied to
 * an area local to the connection" (RFC 5925 3.1), with its two traffic
 * keys once both ISNs are known. */
struct tcp_ao_mkt {
	struct tcp_ao_key key;
	int tk_ready;
	uint32_t tk_irs;             /* the remote ISN the keys were derived with */
	struct tcp_ao_mac snd, rcv;  /* Send_other_traffic_key, Receive_other_traffic_key */
};

/* RFC 5925 4 "Per-Connection TCP-AO Parameters". */
struct tcp_ao_conn {
	struct tcp_ao_mkt mkt[TCP_AO_CONN_MKTS];
	unsigned n;
	unsigned current;            /* current_key: the MKT we send with */
	unsigned rnext;              /* rnext_key: the MKT we ask the peer to send with */
	/* RFC 5925 6.2 SND.SNE / RCV.SNE: the SNE of a reference sequence
	 * number, moved forward with the segments sent / verified */
	uint32_t snd_sne, snd_sne_seq, rcv_sne, rcv_sne_seq;
	uint32_t snd_isn;            /* ISS, kept for the SNE reference */
};

/* The stack's MKT table (tcp_ao_set_keys). */
struct tcp_ao_table {
	struct tcp_ao_key *keys;
	unsigned n;
};

void tcp_ao_table_free(struct tcp_ao_table *t);

/* Active OPEN: instantiate the MKTs matching c's peer.  policy
 * TCP_AO_REQUIRED without a matching MKT, or key (1 + table index) naming
 * an MKT that does not match the peer: TCP_ENOKEY.  No MKT under
 * TCP_AO_OPTIONAL: 0, plain TCP.  TCP_ENOMEM. */
int tcp_ao_conn_active(struct tcp_conn *c, int policy, unsigned key);

/* A SYN for listener l (RFC 5925 7.5.2 step 1.a): 0 = accept as plain
 * TCP (*mkt = -1) or with table entry *mkt, whose MAC verified; negative
 * = silently discard (counted). */
int tcp_ao_syn_check(struct tcp_stack *s, const struct tcp_listener *l,
		     const struct tcp_endpoint *from, const struct tcp_seg *seg, int *mkt);

/* Passive OPEN: instantiate for c with the MKT the SYN used; the SYN's
 * RNextKeyID picks our first send key.  0 or TCP_ENOMEM. */
int tcp_ao_conn_passive(struct tcp_conn *c, int mkt, const struct tcp_seg *syn);

/* RFC 5925 7.5.2: every segment of an AO connection, before any other
 * processing.  0 = authentic; negative = silently discard (counted). */
int tcp_ao_verify(struct tcp_conn *c, const struct tcp_seg *seg);

/* The option fields for a segment of c (has_ao, KeyID, RNextKeyID). */
void tcp_ao_fill(const struct tcp_conn *c, struct tcp_seg *seg);

/* RFC 5925 7.5.1: write the MAC of the built segment out[0..len), whose
 * TCP-AO option tcp_ao_fill() placed.  0 or a negative code. */
int tcp_ao_sign(struct tcp_conn *c, uint8_t *out, size_t len);

/* The stack's table changed: c keeps the MKTs it uses and gains the new
 * ones matching its peer. */
void tcp_ao_conn_refresh(struct tcp_conn *c);

void tcp_ao_conn_free(struct tcp_conn *c);

#endif

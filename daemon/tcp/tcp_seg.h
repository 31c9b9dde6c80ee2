/*
 * tcp_seg.h - the segment codec: RFC 9293 section 3.1 header and the options
 * of section 3.2 (MSS, NOP, EOL), RFC 7323 (window scale, timestamps) and
 * RFC 2018 (SACK-permitted, SACK).
 *
 * tou carries one segment per UDP payload (docs/DESIGN.md section 3); the TCP
 * checksum field is written as 0 and never verified.
 */
#ifndef TOU_TCP_SEG_H
#define TOU_TCP_SEG_H

#include <stddef.h>
#include <stdint.h>

/* RFC 9293 section 3.1 control bits */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TCP_HDR_LEN 20      /* RFC 9293 3.1: data offset >= 5 words */
#define TCP_MAX_HDR_LEN 60  /* data offset is 4 bits: at most 15 words */
#define TCP_MAX_OPT_LEN 40

/* Option kinds (IANA "TCP Option Kind Numbers") */
#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2       /* RFC 9293 3.2: length 4 */
#define TCP_OPT_WS 3        /* RFC 7323 2.2: length 3 */
#define TCP_OPT_SACK_PERM 4 /* RFC 2018 2: length 2 */
#define TCP_OPT_SACK 5      /* RFC 2018 3: length 2 + 8n */
#define TCP_OPT_TS 8        /* RFC 7323 3.2: length 10 */
#define TCP_OPT_AO_KIND 29  /* RFC 5925 2.2: length 4 + MAC (tcp_ao.h) */

#define TCP_SEG_MAX_SACK 4  /* RFC 2018 3: at most 4 blocks fit in 40 bytes */

struct tcp_sack_block {
	uint32_t start, end; /* [start, end) */
};

/* A parsed (or to-be-built) segment.  `data` points into the caller's
 * buffer. */
struct tcp_seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd, urp;
	uint8_t hdr_len; /* bytes incl. options (parse output) */

	/* options */
	uint8_t has_mss, has_ws, sack_perm, has_ts;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	struct tcp_sack_block sack[TCP_SEG_MAX_SACK];
	/* RFC 5925 2.2 TCP-AO: parse records where the option lies (ao_off:
	 * offset of its kind octet from the start of the header) and its
	 * length; build writes it first, at offset 20, with ao_len - 4 zero
	 * octets of MAC for tcp_ao_sign() to fill. */
	uint8_t has_ao, ao_keyid, ao_rnext, ao_len, ao_off;

	const uint8_t *data;
	size_t len; /* payload bytes */
};

/* Parse buf[0..len).  Returns 0 or TCP_EMALFORMED: header shorter than 20
 * bytes, data offset < 5 or past the datagram, an option length < 2 or past
 * the header, or a known option with the wrong length (TCP-AO shorter than
 * 4, or twice).  Never reads past buf+len.  Unknown options are skipped by
 * their length.  The header starts at seg->data - seg->hdr_len. */
int tcp_seg_parse(struct tcp_seg *seg, const uint8_t *buf, size_t len);

/* The option bytes seg's fields ask for (has_mss, has_ws, sack_perm,
 * has_ts, nsack), NOP-padded to a multiple of 4.  SACK blocks beyond what
 * fits in 40 bytes are left out.  Returns the option length. */
size_t tcp_seg_options_len(const struct tcp_seg *seg);

/* Build header + options + seg->data[0..seg->len) into out[0..cap).
 * Returns the total length or 0 if cap is too small. */
size_t tcp_seg_build(uint8_t *out, size_t cap, const struct tcp_seg *seg);

/* RFC 9293 3.4: SEG.LEN counts SYN and FIN. */
static inline uint32_t tcp_seg_seqlen(const struct tcp_seg *seg)
{
	return (uint32_t)seg->len + ((seg->flags & TCP_SYN) ? 1u : 0u) +
	       ((seg->flags & TCP_FIN) ? 1u : 0u);
}

/* RFC 9293 3.4: "arithmetic on sequence numbers must be performed modulo
 * 2**32" - the only way sequence numbers are compared in the engine. */
static inline int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline int seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

#endif

/*
 * tcp_seg.c - parse and build RFC 9293 segments (see tcp_seg.h).
 */
#include <string.h>

#include "tcp.h"
#include "tcp_seg.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* RFC 9293 3.2: options "may begin on any octet boundary"; two formats:
 * a single octet of option-kind (EOL, NOP), or kind, length, data where
 * "the option-length counts the two octets of option-kind and
 * option-length as well as the option-data octets". */
static int parse_options(struct tcp_seg *seg, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t kind = p[i];
		if (kind == TCP_OPT_EOL)
			break; /* "End of Option List": the rest is padding */
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			return TCP_EMALFORMED; /* no room for the length octet */
		uint8_t olen = p[i + 1];
		if (olen < 2 || olen > n - i)
			return TCP_EMALFORMED; /* RFC 9293 3.1: length < 2 or past the header */
		const uint8_t *d = p + i + 2;
		switch (kind) {
		case TCP_OPT_MSS:
			if (olen != 4)
				return TCP_EMALFORMED;
			seg->has_mss = 1;
			seg->mss = get16(d);
			break;
		case TCP_OPT_WS:
			if (olen != 3)
				return TCP_EMALFORMED;
			seg->has_ws = 1;
			seg->ws = d[0];
			break;
		case TCP_OPT_SACK_PERM:
			if (olen != 2)
				return TCP_EMALFORMED;
			seg->sack_perm = 1;
			break;
		case TCP_OPT_SACK:
			/* RFC 2018 3: "Length: Variable" = 8*n + 2, n >= 1 */
			if (olen < 10 || (olen - 2) % 8 != 0)
				return TCP_EMALFORMED;
			seg->nsack = 0;
			for (size_t b = 0; b < (size_t)(olen - 2) / 8 && b < TCP_SEG_MAX_SACK; b++) {
				seg->sack[b].start = get32(d + 8 * b);
				seg->sack[b].end = get32(d + 8 * b + 4);
				seg->nsack++;
			}
			break;
		case TCP_OPT_TS:
			if (olen != 10)
				return TCP_EMALFORMED;
			seg->has_ts = 1;
			seg->tsval = get32(d);
			seg->tsecr = get32(d + 4);
			break;
		case TCP_OPT_AO_KIND:
			/* RFC 5925 2.2: kind, length, KeyID, RNextKeyID, then the
			 * MAC; a segment carries one TCP-AO option */
			if (olen < 4 || seg->has_ao)
				return TCP_EMALFORMED;
			seg->has_ao = 1;
			seg->ao_len = olen;
			seg->ao_off = (uint8_t)(TCP_HDR_LEN + i);
			seg->ao_keyid = d[0];
			seg->ao_rnext = d[1];
			break;
		default:
			break; /* docs/DESIGN.md section 3: unknown options are skipped by their length */
		}
		i += olen;
	}
	return 0;
}

int tcp_seg_opens(const uint8_t *buf, size_t len)
{
	/* RFC 9293 3.1: the control bits are the low six bits of octet 13 */
	return buf && len >= 20 && (buf[13] & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
}

int tcp_seg_parse(struct tcp_seg *seg, const uint8_t *buf, size_t len)
{
	memset(seg, 0, sizeof *seg);
	if (!buf || len < TCP_HDR_LEN)
		return TCP_EMALFORMED;
	size_t doff = (size_t)(buf[12] >> 4) * 4;
	/* RFC 9293 3.1 "Data Offset (DOffset): 4 bits. The number of 32-bit
	 * words in the TCP header." - at least 5, and within the datagram. */
	if (doff < TCP_HDR_LEN || doff > len)
		return TCP_EMALFORMED;
	seg->sport = get16(buf);
	seg->dport = get16(buf + 2);
	seg->seq = get32(buf + 4);
	seg->ack = get32(buf + 8);
	seg->flags = buf[13];
	seg->wnd = get16(buf + 14);
	/* buf[16..17]: checksum, sent as 0 and not verified (docs/DESIGN.md section 3) */
	seg->urp = get16(buf + 18);
	seg->hdr_len = (uint8_t)doff;
	int r = parse_options(seg, buf + TCP_HDR_LEN, doff - TCP_HDR_LEN);
	if (r < 0)
		return r;
	seg->data = buf + doff;
	seg->len = len - doff;
	return 0;
}

/* Writes (or, with out == NULL, measures) the options. */
static size_t put_options(uint8_t *out, const struct tcp_seg *seg)
{
	uint8_t tmp[TCP_MAX_OPT_LEN];
	uint8_t *p = out ? out : tmp;
	size_t n = 0;
	if (seg->has_ao && seg->ao_len >= 4 && seg->ao_len <= TCP_MAX_OPT_LEN) {
		/* RFC 5925 2.2, first so that its MAC lies at offset 24; the MAC
		 * octets are zero until tcp_ao_sign() */
		p[n++] = TCP_OPT_AO_KIND; p[n++] = seg->ao_len;
		p[n++] = seg->ao_keyid; p[n++] = seg->ao_rnext;
		memset(p + n, 0, seg->ao_len - 4u);
		n += seg->ao_len - 4u;
		while (n % 4)
			p[n++] = TCP_OPT_NOP;
	}
	if (seg->has_mss) {
		p[n++] = TCP_OPT_MSS; p[n++] = 4;
		put16(p + n, seg->mss); n += 2;
	}
	if (seg->sack_perm && seg->has_ts) {
		p[n++] = TCP_OPT_SACK_PERM; p[n++] = 2;
	} else if (seg->sack_perm) {
		p[n++] = TCP_OPT_NOP; p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_SACK_PERM; p[n++] = 2;
	} else if (seg->has_ts) {
		p[n++] = TCP_OPT_NOP; p[n++] = TCP_OPT_NOP;
	}
	if (seg->has_ts) {
		p[n++] = TCP_OPT_TS; p[n++] = 10;
		put32(p + n, seg->tsval); put32(p + n + 4, seg->tsecr); n += 8;
	}
	if (seg->has_ws) {
		p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_WS; p[n++] = 3; p[n++] = seg->ws;
	}
	if (seg->nsack) {
		size_t room = (TCP_MAX_OPT_LEN - n);
		size_t nb = seg->nsack;
		if (nb > TCP_SEG_MAX_SACK)
			nb = TCP_SEG_MAX_SACK;
		if (room < 4 + 8)
			nb = 0;
		else if (nb > (room - 4) / 8)
			nb = (room - 4) / 8;
		if (nb) {
			p[n++] = TCP_OPT_NOP; p[n++] = TCP_OPT_NOP;
			p[n++] = TCP_OPT_SACK; p[n++] = (uint8_t)(2 + 8 * nb);
			for (size_t b = 0; b < nb; b++) {
				put32(p + n, seg->sack[b].start);
				put32(p + n + 4, seg->sack[b].end);
				n += 8;
			}
		}
	}
	while (n % 4)
		p[n++] = TCP_OPT_EOL;
	return n;
}

size_t tcp_seg_options_len(const struct tcp_seg *seg)
{
	return put_options(NULL, seg);
}

size_t tcp_seg_build(uint8_t *out, size_t cap, const struct tcp_seg *seg)
{
	size_t olen = tcp_seg_options_len(seg);
	size_t hlen = TCP_HDR_LEN + olen;
	if (!out || cap < hlen + seg->len)
		return 0;
	put16(out, seg->sport);
	put16(out + 2, seg->dport);
	put32(out + 4, seg->seq);
	put32(out + 8, seg->ack);
	out[12] = (uint8_t)((hlen / 4) << 4);
	out[13] = seg->flags;
	put16(out + 14, seg->wnd);
	put16(out + 16, 0); /* checksum: 0, docs/DESIGN.md section 3 */
	put16(out + 18, seg->urp);
	put_options(out + TCP_HDR_LEN, seg);
	if (seg->len)
		memcpy(out + hlen, seg->data, seg->len);
	return hlen + seg->len;
}

/*
 * test_seg.c - the segment codec (tcp_seg.c) and SipHash-2-4, and the
 * stack's counting of malformed datagrams.
 */
#include "peer.h"
#include "tcp_siphash.h"

static size_t hdr(uint8_t *b, uint8_t doff_words, const uint8_t *opts, size_t olen)
{
	memset(b, 0, 20);
	b[0] = 0x04; b[1] = 0xd2;            /* sport 1234 */
	b[2] = 0x00; b[3] = 0x50;            /* dport 80 */
	b[4] = 0x01; b[5] = 0x02; b[6] = 0x03; b[7] = 0x04;
	b[8] = 0xa0; b[9] = 0xb0; b[10] = 0xc0; b[11] = 0xd0;
	b[12] = (uint8_t)(doff_words << 4);
	b[13] = TCP_SYN | TCP_ACK;
	b[14] = 0x12; b[15] = 0x34;
	if (olen)
		memcpy(b + 20, opts, olen);
	return 20 + olen;
}

TT_TEST(seg_parse_plain_header)
{
	uint8_t b[64];
	size_t n = hdr(b, 5, NULL, 0);
	memcpy(b + n, "xyz", 3);
	struct tcp_seg s;
	TT_EQ(tcp_seg_parse(&s, b, n + 3), 0);
	TT_EQ(s.sport, 1234);
	TT_EQ(s.dport, 80);
	TT_EQ(s.seq, 0x01020304u);
	TT_EQ(s.ack, 0xa0b0c0d0u);
	TT_EQ(s.flags, TCP_SYN | TCP_ACK);
	TT_EQ(s.wnd, 0x1234);
	TT_EQ(s.len, 3);
	TT_MEMEQ(s.data, "xyz", 3);
	TT_EQ(s.has_mss + s.has_ws + s.has_ts + s.sack_perm + s.nsack, 0);
}

TT_TEST(seg_parse_all_options)
{
	const uint8_t o[] = {
		2, 4, 0x05, 0xac,                  /* MSS 1452 */
		1,                                 /* NOP */
		3, 3, 7,                           /* WS 7 */
		4, 2,                              /* SACK-perm */
		8, 10, 0, 0, 0, 1, 0, 0, 0, 2,     /* TS 1, 2 */
		5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 1, 0, 0, 0, 2, 0, /* SACK 2 blocks */
		0, 0                               /* EOL + padding */
	};
	uint8_t b[80];
	size_t n = hdr(b, (uint8_t)((20 + sizeof o) / 4), o, sizeof o);
	TT_EQ(sizeof o % 4, 0);
	struct tcp_seg s;
	TT_EQ(tcp_seg_parse(&s, b, n), 0);
	TT_EQ(s.has_mss, 1);
	TT_EQ(s.mss, 1452);
	TT_EQ(s.has_ws, 1);
	TT_EQ(s.ws, 7);
	TT_EQ(s.sack_perm, 1);
	TT_EQ(s.has_ts, 1);
	TT_EQ(s.tsval, 1);
	TT_EQ(s.tsecr, 2);
	TT_EQ(s.nsack, 2);
	TT_EQ(s.sack[0].start, 10);
	TT_EQ(s.sack[0].end, 20);
	TT_EQ(s.sack[1].start, 256);
	TT_EQ(s.sack[1].end, 512);
	TT_EQ(s.len, 0);
}

TT_TEST(seg_parse_unknown_option_skipped)
{
	const uint8_t o[] = { 30, 6, 1, 2, 3, 4, 2, 4, 0x01, 0x00, 1, 0 };
	uint8_t b[64];
	size_t n = hdr(b, 8, o, sizeof o);
	struct tcp_seg s;
	TT_EQ(tcp_seg_parse(&s, b, n), 0);
	TT_EQ(s.has_mss, 1);
	TT_EQ(s.mss, 256);
}

TT_TEST(seg_parse_eol_stops)
{
	/* after EOL, garbage is padding and not parsed */
	const uint8_t o[] = { 0, 2, 1, 0 };
	uint8_t b[64];
	size_t n = hdr(b, 6, o, sizeof o);
	struct tcp_seg s;
	TT_EQ(tcp_seg_parse(&s, b, n), 0);
	TT_EQ(s.has_mss, 0);
}

TT_TEST(seg_parse_malformed)
{
	uint8_t b[80];
	struct tcp_seg s;
	/* short header */
	hdr(b, 5, NULL, 0);
	TT_EQ(tcp_seg_parse(&s, b, 19), TCP_EMALFORMED);
	TT_EQ(tcp_seg_parse(&s, b, 0), TCP_EMALFORMED);
	/* data offset < 5 */
	hdr(b, 4, NULL, 0);
	TT_EQ(tcp_seg_parse(&s, b, 20), TCP_EMALFORMED);
	/* data offset beyond the datagram */
	hdr(b, 6, NULL, 0);
	TT_EQ(tcp_seg_parse(&s, b, 20), TCP_EMALFORMED);
	TT_EQ(tcp_seg_parse(&s, b, 23), TCP_EMALFORMED);
	/* option length < 2 */
	{ const uint8_t o[] = { 30, 1, 0, 0 }; hdr(b, 6, o, 4); }
	TT_EQ(tcp_seg_parse(&s, b, 24), TCP_EMALFORMED);
	/* option past the header end */
	{ const uint8_t o[] = { 1, 1, 30, 6 }; hdr(b, 6, o, 4); }
	TT_EQ(tcp_seg_parse(&s, b, 24), TCP_EMALFORMED);
	/* kind without length octet at the end */
	{ const uint8_t o[] = { 1, 1, 1, 2 }; hdr(b, 6, o, 4); }
	TT_EQ(tcp_seg_parse(&s, b, 24), TCP_EMALFORMED);
	/* wrong lengths for known options */
	{ const uint8_t o[] = { 2, 3, 1, 0 }; hdr(b, 6, o, 4); }
	TT_EQ(tcp_seg_parse(&s, b, 24), TCP_EMALFORMED);
	{ const uint8_t o[] = { 3, 4, 1, 0 }; hdr(b, 6, o, 4); }
	TT_EQ(tcp_seg_parse(&s, b, 24), TCP_EMALFORMED);
	{ const uint8_t o[] = { 4, 3, 0, 0 }; hdr(b, 6, o, 4); }
	TT_EQ(tcp_seg_parse(&s, b, 24), TCP_EMALFORMED);
	{ const uint8_t o[] = { 8, 8, 0, 0, 0, 0, 0, 0 }; hdr(b, 7, o, 8); }
	TT_EQ(tcp_seg_parse(&s, b, 28), TCP_EMALFORMED);
	{ const uint8_t o[] = { 5, 6, 0, 0, 0, 0, 0, 0 }; hdr(b, 7, o, 8); }
	TT_EQ(tcp_seg_parse(&s, b, 28), TCP_EMALFORMED);
	{ const uint8_t o[] = { 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }; hdr(b, 8, o, 12); }
	TT_EQ(tcp_seg_parse(&s, b, 32), TCP_EMALFORMED);
}

/* every prefix of a valid segment with options parses or fails cleanly */
TT_TEST(seg_parse_truncations)
{
	const struct tcp_seg o = { .sport = 1, .dport = 2, .seq = 3, .ack = 4, .flags = TCP_SYN,
				   .wnd = 100, .has_mss = 1, .mss = 1400, .has_ws = 1, .ws = 3,
				   .sack_perm = 1, .has_ts = 1, .tsval = 7, .tsecr = 9,
				   .data = (const uint8_t *)"abcd", .len = 4 };
	uint8_t b[128];
	size_t n = tcp_seg_build(b, sizeof b, &o);
	TT_ASSERT(n > 40);
	for (size_t i = 0; i < n; i++) {
		struct tcp_seg s;
		int r = tcp_seg_parse(&s, b, i);
		if (i < n - 4)
			TT_EQ(r, TCP_EMALFORMED);
		else
			TT_EQ(s.len, i - (n - 4));
	}
}

TT_TEST(seg_build_roundtrip)
{
	struct tcp_seg o;
	memset(&o, 0, sizeof o);
	o.sport = 49152; o.dport = 80; o.seq = 0xfffffff0u; o.ack = 17;
	o.flags = TCP_ACK | TCP_PSH; o.wnd = 65535;
	o.has_ts = 1; o.tsval = 0x11223344u; o.tsecr = 0x55667788u;
	o.nsack = 4;
	for (int i = 0; i < 4; i++) {
		o.sack[i].start = 1000u * (uint32_t)i;
		o.sack[i].end = 1000u * (uint32_t)i + 500;
	}
	o.data = (const uint8_t *)"payload";
	o.len = 7;
	uint8_t b[128];
	size_t n = tcp_seg_build(b, sizeof b, &o);
	/* TS (12) + SACK: only 3 blocks fit with timestamps (4 + 24) = 40 */
	TT_EQ(n, 20 + 40 + 7);
	TT_EQ(b[16], 0); /* checksum 0 (docs/DESIGN.md section 3) */
	TT_EQ(b[17], 0);
	struct tcp_seg s;
	TT_EQ(tcp_seg_parse(&s, b, n), 0);
	TT_EQ(s.sport, 49152);
	TT_EQ(s.seq, 0xfffffff0u);
	TT_EQ(s.ack, 17);
	TT_EQ(s.flags, TCP_ACK | TCP_PSH);
	TT_EQ(s.wnd, 65535);
	TT_EQ(s.tsval, 0x11223344u);
	TT_EQ(s.tsecr, 0x55667788u);
	TT_EQ(s.nsack, 3);
	TT_EQ(s.sack[2].start, 2000);
	TT_EQ(s.sack[2].end, 2500);
	TT_EQ(s.len, 7);
	TT_MEMEQ(s.data, "payload", 7);
	/* too small a buffer */
	TT_EQ(tcp_seg_build(b, 30, &o), 0);
	/* SYN options: MSS, SACK-perm, TS, NOP, WS = 20 bytes */
	memset(&o, 0, sizeof o);
	o.flags = TCP_SYN;
	o.has_mss = 1; o.mss = 1452; o.has_ws = 1; o.ws = 7; o.sack_perm = 1; o.has_ts = 1;
	TT_EQ(tcp_seg_options_len(&o), 20);
	n = tcp_seg_build(b, sizeof b, &o);
	TT_EQ(n, 40);
	TT_EQ(tcp_seg_parse(&s, b, n), 0);
	TT_EQ(s.mss, 1452);
	TT_EQ(s.ws, 7);
	TT_EQ(s.sack_perm, 1);
	TT_EQ(s.has_ts, 1);
}

TT_TEST(seq_compare_modular)
{
	TT_ASSERT(seq_lt(0xfffffff0u, 0x10));
	TT_ASSERT(seq_gt(0x10, 0xfffffff0u));
	TT_ASSERT(seq_leq(5, 5));
	TT_ASSERT(seq_geq(5, 5));
	TT_ASSERT(!seq_lt(5, 5));
	TT_ASSERT(seq_lt(0x7ffffffe, 0x7fffffff));
	TT_EQ(seq_max(0xffffffffu, 1), 1);
	TT_EQ(seq_min(0xffffffffu, 1), 0xffffffffu);
}

/* SipHash-2-4 test vectors from the paper's reference (key 00..0f,
 * messages 00, 00 01, ...): appendix A gives the 15-byte vector
 * a129ca6149be45e5; the empty message is 726fdb47dd0e0e31. */
TT_TEST(siphash24_vectors)
{
	uint8_t key[16], msg[64];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	TT_EQ(tcp_siphash24(key, msg, 15), (long long)0xa129ca6149be45e5ULL);
	TT_EQ(tcp_siphash24(key, msg, 0), (long long)0x726fdb47dd0e0e31ULL);
	TT_EQ(tcp_siphash24(key, msg, 8), (long long)0x93f5f5799a932462ULL);
}

/* The stack counts malformed datagrams and never answers them. */
TT_TEST(seg_malformed_counted_by_stack)
{
	struct host h;
	TT_EQ(host_init(&h, 1, NULL), 0);
	struct tcp_endpoint from = { 4, { 10, 0, 0, 9 }, 9811 };
	uint8_t b[80];
	hdr(b, 4, NULL, 0);
	TT_EQ(tcp_input(h.s, &from, b, 20, 0), TCP_EMALFORMED);
	TT_EQ(tcp_input(h.s, &from, b, 3, 0), TCP_EMALFORMED);
	{ const uint8_t o[] = { 2, 5, 0, 0 }; hdr(b, 6, o, 4); }
	TT_EQ(tcp_input(h.s, &from, b, 24, 0), TCP_EMALFORMED);
	/* port 0 */
	hdr(b, 5, NULL, 0);
	b[2] = b[3] = 0;
	TT_EQ(tcp_input(h.s, &from, b, 20, 0), TCP_EMALFORMED);
	struct tcp_stats st = host_stats(&h);
	TT_EQ(st.InErrs, 4);
	TT_EQ(st.DropMalformed, 4);
	TT_EQ(st.InSegs, 4);
	EXPECT_NONE(&h);
	host_free(&h);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

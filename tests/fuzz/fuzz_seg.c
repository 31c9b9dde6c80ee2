/*
 * fuzz_seg.c - libFuzzer target for the segment codec: any byte string
 * parses or is rejected without reading past its end; what parses builds
 * back into a segment that parses to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp.h"
#include "tcp/tcp_seg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy of exactly `size` bytes so ASan sees any overread */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	struct tcp_seg s;
	if (tcp_seg_parse(&s, buf, size) == 0) {
		if (s.hdr_len < 20 || s.hdr_len > size || s.len != size - s.hdr_len)
			abort();
		uint8_t out[60 + 65536];
		size_t n = tcp_seg_build(out, sizeof out, &s);
		if (s.len <= 65536 && n == 0)
			abort();
		if (n) {
			struct tcp_seg t;
			if (tcp_seg_parse(&t, out, n) != 0)
				abort();
			if (t.sport != s.sport || t.dport != s.dport || t.seq != s.seq ||
			    t.ack != s.ack || t.flags != s.flags || t.wnd != s.wnd ||
			    t.len != s.len || t.has_mss != s.has_mss || t.has_ts != s.has_ts ||
			    t.has_ws != s.has_ws || t.sack_perm != s.sack_perm)
				abort();
			if ((t.has_mss && t.mss != s.mss) || (t.has_ws && t.ws != s.ws) ||
			    (t.has_ts && (t.tsval != s.tsval || t.tsecr != s.tsecr)))
				abort();
			if (t.len && memcmp(t.data, s.data, t.len) != 0)
				abort();
		}
	}
	free(buf);
	return 0;
}

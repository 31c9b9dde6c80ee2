/*
 * test_seqset.c - the sequence range set: merging, trimming, SACK block
 * order (RFC 2018 section 4), wraparound at 2^32, capacity, and a random
 * comparison against a byte map.
 */
#include "tcp_seqset.h"
#include "tt.h"

static int ranges_are(const struct tcp_seqset *s, const uint32_t *pairs, unsigned n)
{
	if (tcp_seqset_count(s) != n)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		const struct tcp_seqrange *r = tcp_seqset_at(s, i);
		if (!r || r->start != pairs[2 * i] || r->end != pairs[2 * i + 1])
			return 0;
	}
	return tcp_seqset_at(s, n) == NULL;
}

TT_TEST(seqset_add_merges_overlap_and_adjacent)
{
	struct tcp_seqset s;
	tcp_seqset_init(&s);
	TT_EQ(tcp_seqset_count(&s), 0);
	TT_EQ(tcp_seqset_first(&s, NULL), 0);
	TT_EQ(tcp_seqset_add(&s, 100, 200), 0);
	TT_EQ(tcp_seqset_add(&s, 300, 400), 0);
	TT_EQ(tcp_seqset_add(&s, 500, 600), 0);
	{ uint32_t w[] = { 100, 200, 300, 400, 500, 600 }; TT_ASSERT(ranges_are(&s, w, 3)); }
	TT_EQ(tcp_seqset_add(&s, 200, 250), 0);           /* adjacent on the right */
	TT_EQ(tcp_seqset_add(&s, 280, 300), 0);           /* adjacent on the left */
	{ uint32_t w[] = { 100, 250, 280, 400, 500, 600 }; TT_ASSERT(ranges_are(&s, w, 3)); }
	TT_EQ(tcp_seqset_add(&s, 240, 520), 0);           /* bridges three */
	{ uint32_t w[] = { 100, 600 }; TT_ASSERT(ranges_are(&s, w, 1)); }
	TT_EQ(tcp_seqset_add(&s, 150, 160), 0);           /* inside: no change */
	TT_EQ(tcp_seqset_add(&s, 50, 50), 0);             /* empty */
	{ uint32_t w[] = { 100, 600 }; TT_ASSERT(ranges_are(&s, w, 1)); }
	TT_EQ(tcp_seqset_add(&s, 10, 20), 0);             /* before everything */
	TT_EQ(tcp_seqset_add(&s, 5, 700), 0);             /* covers everything */
	{ uint32_t w[] = { 5, 700 }; TT_ASSERT(ranges_are(&s, w, 1)); }
	TT_EQ(tcp_seqset_add(&s, 800, 700), TCP_EINVAL);  /* reversed */
	TT_EQ(tcp_seqset_bytes(&s), 695);
	TT_ASSERT(tcp_seqset_contains(&s, 5));
	TT_ASSERT(tcp_seqset_contains(&s, 699));
	TT_ASSERT(!tcp_seqset_contains(&s, 700));
	TT_ASSERT(!tcp_seqset_contains(&s, 4));
	tcp_seqset_clear(&s);
}

TT_TEST(seqset_trim_below_cuts_straddling)
{
	struct tcp_seqset s;
	tcp_seqset_init(&s);
	tcp_seqset_add(&s, 100, 200);
	tcp_seqset_add(&s, 300, 400);
	tcp_seqset_add(&s, 500, 600);
	tcp_seqset_trim_below(&s, 50);
	TT_EQ(tcp_seqset_bytes(&s), 300);
	tcp_seqset_trim_below(&s, 200);                   /* exactly an end */
	{ uint32_t w[] = { 300, 400, 500, 600 }; TT_ASSERT(ranges_are(&s, w, 2)); }
	tcp_seqset_trim_below(&s, 350);                   /* straddling */
	{ uint32_t w[] = { 350, 400, 500, 600 }; TT_ASSERT(ranges_are(&s, w, 2)); }
	struct tcp_seqrange f;
	TT_EQ(tcp_seqset_first(&s, &f), 1);
	TT_EQ(f.start, 350);
	TT_EQ(tcp_seqset_last(&s, &f), 1);
	TT_EQ(f.end, 600);
	TT_EQ(tcp_seqset_bytes_from(&s, 550), 50);
	TT_EQ(tcp_seqset_bytes_from(&s, 0), 150);
	tcp_seqset_trim_below(&s, 1000);
	TT_EQ(tcp_seqset_count(&s), 0);
	TT_EQ(tcp_seqset_bytes(&s), 0);
	tcp_seqset_clear(&s);
}

TT_TEST(seqset_remove_splits)
{
	struct tcp_seqset s;
	tcp_seqset_init(&s);
	tcp_seqset_add(&s, 100, 500);
	TT_EQ(tcp_seqset_remove(&s, 200, 300), 0);
	{ uint32_t w[] = { 100, 200, 300, 500 }; TT_ASSERT(ranges_are(&s, w, 2)); }
	TT_EQ(tcp_seqset_remove(&s, 150, 350), 0);
	{ uint32_t w[] = { 100, 150, 350, 500 }; TT_ASSERT(ranges_are(&s, w, 2)); }
	TT_EQ(tcp_seqset_remove(&s, 0, 1000), 0);
	TT_EQ(tcp_seqset_count(&s), 0);
	tcp_seqset_clear(&s);
}

TT_TEST(seqset_wraparound)
{
	struct tcp_seqset s;
	tcp_seqset_init(&s);
	uint32_t base = 0xFFFFFF00u;
	TT_EQ(tcp_seqset_add(&s, base + 0x80, 0x40), 0);  /* spans 2^32 */
	TT_EQ(tcp_seqset_add(&s, 0x100, 0x200), 0);       /* after the wrap */
	TT_EQ(tcp_seqset_add(&s, base, base + 0x10), 0);  /* before the wrap */
	{ uint32_t w[] = { base, base + 0x10, base + 0x80, 0x40, 0x100, 0x200 };
	  TT_ASSERT(ranges_are(&s, w, 3)); }
	TT_ASSERT(tcp_seqset_contains(&s, 0xFFFFFFFFu));
	TT_ASSERT(tcp_seqset_contains(&s, 0));
	TT_ASSERT(tcp_seqset_contains(&s, 0x3F));
	TT_ASSERT(!tcp_seqset_contains(&s, 0x40));
	TT_ASSERT(!tcp_seqset_contains(&s, base + 0x10));
	TT_EQ(tcp_seqset_bytes(&s), 0x10 + 0xC0 + 0x100);
	TT_EQ(tcp_seqset_add(&s, base + 0x10, base + 0x80), 0);
	{ uint32_t w[] = { base, 0x40, 0x100, 0x200 }; TT_ASSERT(ranges_are(&s, w, 2)); }
	tcp_seqset_trim_below(&s, 0xFFFFFFF0u);
	{ uint32_t w[] = { 0xFFFFFFF0u, 0x40, 0x100, 0x200 }; TT_ASSERT(ranges_are(&s, w, 2)); }
	tcp_seqset_trim_below(&s, 0x20);
	{ uint32_t w[] = { 0x20, 0x40, 0x100, 0x200 }; TT_ASSERT(ranges_are(&s, w, 2)); }
	TT_EQ(tcp_seqset_bytes(&s), 0x20 + 0x100);
	tcp_seqset_clear(&s);
}

TT_TEST(seqset_capacity)
{
	struct tcp_seqset s;
	tcp_seqset_init(&s);
	for (uint32_t i = 0; i < TCP_SEQSET_CAP; i++)
		TT_EQ(tcp_seqset_add(&s, i * 100, i * 100 + 10), 0);
	TT_EQ(tcp_seqset_count(&s), TCP_SEQSET_CAP);
	/* a range touching nothing does not fit */
	TT_EQ(tcp_seqset_add(&s, 50, 60), TCP_ENOMEM);
	TT_ASSERT(!tcp_seqset_contains(&s, 55));
	/* but merging still works when full */
	TT_EQ(tcp_seqset_add(&s, 10, 20), 0);
	TT_EQ(tcp_seqset_add(&s, 20, 100), 0);
	TT_EQ(tcp_seqset_count(&s), TCP_SEQSET_CAP - 1);
	TT_EQ(tcp_seqset_add(&s, 5000, 5010), 0);
	/* a split removal when full is refused */
	TT_EQ(tcp_seqset_remove(&s, 30, 40), TCP_ENOMEM);
	TT_ASSERT(tcp_seqset_contains(&s, 35));
	tcp_seqset_clear(&s);
}

TT_TEST(seqset_capacity_per_set)
{
	struct tcp_seqset s;
	tcp_seqset_init_cap(&s, TCP_SEQSET_MAX);
	for (uint32_t i = 0; i < TCP_SEQSET_MAX; i++)
		TT_EQ(tcp_seqset_add(&s, i * 100, i * 100 + 10), 0);
	TT_EQ(tcp_seqset_count(&s), TCP_SEQSET_MAX);
	TT_EQ(tcp_seqset_add(&s, 50, 60), TCP_ENOMEM);
	struct tcp_seqrange b[TCP_SEQSET_MAX];
	TT_EQ(tcp_seqset_sack_blocks(&s, b, TCP_SEQSET_MAX), TCP_SEQSET_MAX);
	TT_EQ(b[0].start, (TCP_SEQSET_MAX - 1) * 100); /* newest first */
	TT_EQ(b[TCP_SEQSET_MAX - 1].start, 0);
	/* clamped */
	tcp_seqset_clear(&s);
	tcp_seqset_init_cap(&s, 1000);
	TT_EQ(s.cap, TCP_SEQSET_MAX);
	tcp_seqset_init_cap(&s, 0);
	TT_EQ(s.cap, 1);
	TT_EQ(tcp_seqset_add(&s, 0, 10), 0);
	TT_EQ(tcp_seqset_add(&s, 20, 30), TCP_ENOMEM);
	/* a zeroed, never initialised set has the default capacity */
	struct tcp_seqset z;
	memset(&z, 0, sizeof z);
	for (uint32_t i = 0; i < TCP_SEQSET_CAP; i++)
		TT_EQ(tcp_seqset_add(&z, i * 100, i * 100 + 10), 0);
	TT_EQ(tcp_seqset_add(&z, 50, 60), TCP_ENOMEM);
	tcp_seqset_clear(&s);
	tcp_seqset_clear(&z);
}

TT_TEST(seqset_sack_blocks_rfc2018_order)
{
	/* RFC 2018 section 5 example: receiver gets segments 5500 (lost
	 * 5000), then 6500 (lost 6000), then 7500 (lost 7000); each SACK option
	 * lists the block containing the segment just received first. */
	struct tcp_seqset s;
	struct tcp_seqrange b[4];
	tcp_seqset_init(&s);
	TT_EQ(tcp_seqset_sack_blocks(&s, b, 4), 0);
	tcp_seqset_add(&s, 5500, 6000);
	TT_EQ(tcp_seqset_sack_blocks(&s, b, 4), 1);
	TT_EQ(b[0].start, 5500);
	tcp_seqset_add(&s, 6500, 7000);
	TT_EQ(tcp_seqset_sack_blocks(&s, b, 4), 2);
	TT_EQ(b[0].start, 6500);
	TT_EQ(b[1].start, 5500);
	tcp_seqset_add(&s, 7500, 8000);
	TT_EQ(tcp_seqset_sack_blocks(&s, b, 4), 3);
	TT_EQ(b[0].start, 7500);
	TT_EQ(b[1].start, 6500);
	TT_EQ(b[2].start, 5500);
	/* a segment extending the oldest block moves it to the front */
	tcp_seqset_add(&s, 6000, 6100);
	TT_EQ(tcp_seqset_sack_blocks(&s, b, 4), 3);
	TT_EQ(b[0].start, 5500);
	TT_EQ(b[0].end, 6100);
	TT_EQ(b[1].start, 7500);
	TT_EQ(b[2].start, 6500);
	/* max limits the count (3 blocks with timestamps) */
	tcp_seqset_add(&s, 9000, 9100);
	tcp_seqset_add(&s, 9500, 9600);
	TT_EQ(tcp_seqset_sack_blocks(&s, b, 3), 3);
	TT_EQ(b[0].start, 9500);
	TT_EQ(b[1].start, 9000);
	TT_EQ(b[2].start, 5500);
	/* the cumulative ACK passing blocks removes them */
	tcp_seqset_trim_below(&s, 7000);
	TT_EQ(tcp_seqset_sack_blocks(&s, b, 4), 3);
	TT_EQ(b[0].start, 9500);
	TT_EQ(b[1].start, 9000);
	TT_EQ(b[2].start, 7500);
	/* a split removal keeps both halves reportable */
	tcp_seqset_remove(&s, 7600, 7700);
	TT_EQ(tcp_seqset_sack_blocks(&s, b, 4), 4);
	tcp_seqset_clear(&s);
}

TT_TEST(seqset_next_and_find)
{
	struct tcp_seqset s;
	tcp_seqset_init(&s);
	tcp_seqset_add(&s, 100, 200);
	tcp_seqset_add(&s, 300, 400);
	TT_ASSERT(tcp_seqset_next(&s, 150, 0)->start == 300);
	TT_ASSERT(tcp_seqset_next(&s, 150, 1)->start == 100);
	TT_ASSERT(tcp_seqset_next(&s, 50, 0)->start == 100);
	TT_ASSERT(tcp_seqset_next(&s, 400, 1) == NULL);
	TT_ASSERT(tcp_seqset_find(&s, 399)->start == 300);
	TT_ASSERT(tcp_seqset_find(&s, 250) == NULL);
	tcp_seqset_clear(&s);
}

/* splitmix64 for the random comparison */
static uint64_t rnd(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Issue 11: a set holds storage only while it holds ranges (a connection
 * without holes has none): allocated at the first range, given back when
 * the last one goes (trimmed, removed) and by tcp_seqset_clear. */
TT_TEST(seqset_storage_follows_use)
{
	struct tcp_seqset s;
	tcp_seqset_init(&s);
	TT_ASSERT(s.r == NULL);
	TT_EQ(tcp_seqset_add(&s, 100, 200), 0);
	TT_ASSERT(s.r != NULL);
	tcp_seqset_trim_below(&s, 200);
	TT_EQ(tcp_seqset_count(&s), 0);
	TT_ASSERT(s.r == NULL);
	TT_EQ(tcp_seqset_add(&s, 300, 400), 0);
	TT_EQ(tcp_seqset_add(&s, 500, 600), 0);
	TT_EQ(tcp_seqset_remove(&s, 300, 400), 0);
	TT_ASSERT(s.r != NULL);
	TT_EQ(tcp_seqset_remove(&s, 450, 650), 0);
	TT_EQ(tcp_seqset_count(&s), 0);
	TT_ASSERT(s.r == NULL);
	/* emptied storage is had again, with the set's capacity */
	for (uint32_t i = 0; i < TCP_SEQSET_CAP; i++)
		TT_EQ(tcp_seqset_add(&s, i * 100, i * 100 + 10), 0);
	TT_EQ(tcp_seqset_add(&s, 50, 60), TCP_ENOMEM);
	tcp_seqset_clear(&s);
	TT_ASSERT(s.r == NULL);
	TT_EQ(tcp_seqset_count(&s), 0);
	TT_EQ(tcp_seqset_add(&s, 1, 2), 0);
	tcp_seqset_clear(&s);
}

TT_TEST(seqset_random_against_bytemap)
{
	/* A window of 4096 bytes placed across the 2^32 wrap; every operation
	 * is mirrored in a byte map and the set must describe it exactly. */
	enum { W = 4096 };
	static uint8_t map[W];
	uint64_t seed = 12345;
	for (int round = 0; round < 60; round++) {
		uint32_t base = (uint32_t)(0u - 2048u + (uint32_t)(rnd(&seed) % 64));
		struct tcp_seqset s;
		tcp_seqset_init(&s);
		memset(map, 0, sizeof map);
		uint32_t floor = 0; /* offsets below are trimmed */
		for (int op = 0; op < 200; op++) {
			unsigned kind = (unsigned)(rnd(&seed) % 10);
			uint32_t a = floor + (uint32_t)(rnd(&seed) % (W - floor));
			uint32_t len = (uint32_t)(rnd(&seed) % 64);
			if (a + len > W)
				len = W - a;
			if (kind < 7) {
				int rc = tcp_seqset_add(&s, base + a, base + a + len);
				if (rc == 0)
					memset(map + a, 1, len);
				else
					TT_EQ(rc, TCP_ENOMEM);
			} else if (kind < 9) {
				if (tcp_seqset_remove(&s, base + a, base + a + len) == 0)
					memset(map + a, 0, len);
			} else {
				uint32_t t = floor + (uint32_t)(rnd(&seed) % 32);
				if (t > W)
					t = W;
				tcp_seqset_trim_below(&s, base + t);
				memset(map, 0, t);
				floor = t;
			}
			/* compare */
			uint32_t bytes = 0;
			unsigned nr = 0;
			for (uint32_t i = 0; i < W; i++) {
				if (map[i])
					bytes++;
				if (map[i] && (i == 0 || !map[i - 1]))
					nr++;
				if (!!tcp_seqset_contains(&s, base + i) != map[i]) {
					TT_FAIL_("round %d op %d: offset %u map %d", round, op, i, map[i]);
					return;
				}
			}
			TT_EQ(tcp_seqset_bytes(&s), bytes);
			TT_EQ(tcp_seqset_count(&s), nr);
			for (unsigned i = 0; i + 1 < tcp_seqset_count(&s); i++)
				TT_ASSERT(tcp_seq_lt(tcp_seqset_at(&s, i)->end, tcp_seqset_at(&s, i + 1)->start));
			struct tcp_seqrange b[TCP_SEQSET_CAP];
			TT_EQ(tcp_seqset_sack_blocks(&s, b, TCP_SEQSET_CAP), nr);
		}
		tcp_seqset_clear(&s);
	}
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

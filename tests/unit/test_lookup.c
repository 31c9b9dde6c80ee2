/*
 * test_lookup.c - the connection table (tcp_table.c): the SipHash table
 * with its last-hit cache finds the right TCB for every segment and never
 * a TCB that is gone.
 */
#include "peer.h"


/* The last-hit cache of the connection table: segments alternating
 * between two connections of one peer reach the right TCB, and a TCB
 * that is gone is not found through the cache. */
TT_TEST(lookup_cache_alternating_and_closed)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer pa = PEER(&b, .port = 1002, .hport = 81);
	struct tcp_conn *c1, *s1, *c2, *s2;
	TT_EQ(pair_establish(&a, &b, 100, 300, 1001, 80, T0, &c1, &s1), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 81, 8, NULL, &l), 0);
	a.isn = 500;
	b.isn = 700;
	b.accepted = NULL;
	TT_EQ(tcp_connect(a.s, &b.ep, 81, 1002, NULL, NULL, T0, &c2), 0);
	host_deliver(&a, &b, T0);
	host_deliver(&b, &a, T0);
	host_deliver(&a, &b, T0);
	TT_ASSERT(b.accepted != NULL);
	s2 = b.accepted;
	host_drop_all(&a);
	host_drop_all(&b);
	for (int i = 0; i < 10; i++) {
		TT_EQ(tcp_send(i % 2 ? c2 : c1, i % 2 ? "2" : "1", 1, T0), 1);
		host_deliver(&a, &b, T0);
		host_deliver(&b, &a, T0);
	}
	char buf[16];
	TT_EQ(tcp_recv(s1, buf, sizeof buf, T0), 5);
	TT_MEMEQ(buf, "11111", 5);
	TT_EQ(tcp_recv(s2, buf, sizeof buf, T0), 5);
	TT_MEMEQ(buf, "22222", 5);
	/* s2 goes away (RST to a), then a's next segment on that 4-tuple
	 * finds no TCB: the cache held s2 last */
	TT_EQ(tcp_abort(s2, T0), 0);
	tcp_release(s2, T0);
	host_drop_all(&b);
	struct tcp_stats before = host_stats(&b);
	TT_EQ(peer_send(&pa, .seq = 502, .ack = 701, .data = "z"), 0);
	struct tcp_stats after = host_stats(&b);
	TT_EQ(after.DropNoConn, before.DropNoConn + 1);
	EXPECT_SEG(&b, F_RST, 701, 0);
	/* s1 is still found */
	TT_EQ(tcp_send(c1, "1", 1, T0), 1);
	host_deliver(&a, &b, T0);
	TT_EQ(tcp_recv(s1, buf, sizeof buf, T0), 1);
	host_free(&a);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

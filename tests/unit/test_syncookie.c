/*
 * test_syncookie.c - SYN cookies (RFC 4987 section 3.6): the codec
 * (daemon/tcp/tcp_syncookie.h) and the listener that answers with them
 * once its backlog of half-open connections is full: a flood of spoofed
 * SYNs evicts nothing and grows nothing, a legitimate handshake completes
 * from the cookie with its MSS, window scale and SACK, cookies not ours
 * are dropped and counted, stale ones refused with RST, no cookie is used
 * while the backlog has room.
 */
#include "peer.h"
#include "tcp_syncookie.h"

static const uint8_t KEY[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* ---- the codec ---- */

TT_TEST(syncookie_codec_roundtrip_and_age)
{
	const char *tuples[] = { "10.0.0.1:9811/1000->80", "10.0.0.1:9811/1001->80",
				 "fe80::1:9811/40000->443" };
	for (unsigned t = 0; t < 3; t++) {
		size_t tl = strlen(tuples[t]);
		for (unsigned idx = 0; idx < TCP_SYNCOOKIE_NMSS; idx++) {
			for (uint32_t isn = 0; isn < 0xF0000000u; isn += 0x1234567u) {
				tcp_time_t made = T0 + (tcp_time_t)isn * 7;
				uint32_t ck = tcp_syncookie_make(KEY, tuples[t], tl, isn, idx, made);
				TT_EQ(tcp_syncookie_check(KEY, tuples[t], tl, isn, ck, made), (int)idx);
				/* valid through the next period, stale after */
				TT_EQ(tcp_syncookie_check(KEY, tuples[t], tl, isn, ck,
							  made + TCP_SYNCOOKIE_PERIOD), (int)idx);
				TT_EQ(tcp_syncookie_check(KEY, tuples[t], tl, isn, ck,
							  made + 2 * TCP_SYNCOOKIE_PERIOD), TCP_ETIMEDOUT);
				TT_EQ(tcp_syncookie_check(KEY, tuples[t], tl, isn, ck,
							  made + 100 * TCP_SYNCOOKIE_PERIOD), TCP_ETIMEDOUT);
				/* another peer ISN, another tuple, another key */
				TT_ASSERT(tcp_syncookie_check(KEY, tuples[t], tl, isn + 1, ck, made) < 0);
				TT_ASSERT(tcp_syncookie_check(KEY, tuples[(t + 1) % 3],
							      strlen(tuples[(t + 1) % 3]), isn, ck, made) < 0);
				uint8_t key2[16];
				memcpy(key2, KEY, 16);
				key2[5] ^= 1;
				TT_ASSERT(tcp_syncookie_check(key2, tuples[t], tl, isn, ck, made) < 0);
			}
		}
	}
}

/* Every single-bit change of a cookie is refused (a random guess passes
 * with probability ~2^-22: these fixed inputs do not). */
TT_TEST(syncookie_codec_bit_flips_refused)
{
	const char *tuple = "10.0.0.9:9811/1234->80";
	for (uint32_t isn = 1; isn < 4000000000u; isn += 397000001u) {
		uint32_t ck = tcp_syncookie_make(KEY, tuple, strlen(tuple), isn, 3, T0);
		for (int b = 0; b < 32; b++)
			TT_ASSERT(tcp_syncookie_check(KEY, tuple, strlen(tuple), isn, ck ^ (1u << b), T0) < 0);
	}
}

TT_TEST(syncookie_codec_mss_table_and_ts_bits)
{
	TT_EQ(tcp_syncookie_mss_index(0), 0);
	TT_EQ(tcp_syncookie_mss_index(536), 0);
	TT_EQ(tcp_syncookie_mss_index(1219), 0);
	TT_EQ(tcp_syncookie_mss_index(1220), 1);
	TT_EQ(tcp_syncookie_mss_index(1431), 1);
	TT_EQ(tcp_syncookie_mss_index(1432), 2);
	TT_EQ(tcp_syncookie_mss_index(1452), 3);
	TT_EQ(tcp_syncookie_mss_index(65535), 3);
	for (unsigned i = 0; i < TCP_SYNCOOKIE_NMSS; i++)
		TT_EQ(tcp_syncookie_mss_index(tcp_syncookie_mss_table[i]), i);
	uint32_t clocks[] = { 0, 1, 63, 64, 1000, 0x7fffffffu, 0xffffffc0u, 0xffffffffu };
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		for (int ws = -1; ws <= 20; ws++) {
			for (int sack = 0; sack < 2; sack++) {
				uint32_t ts = tcp_syncookie_ts_encode(clocks[i], ws, sack);
				/* never ahead of the clock, at most 127 ms behind it */
				TT_ASSERT(seq_leq(ts, clocks[i]));
				TT_ASSERT(clocks[i] - ts < 128);
				int ws2, sack2;
				TT_EQ(tcp_syncookie_ts_decode(ts, &ws2, &sack2), 0);
				TT_EQ(ws2, ws > 14 ? 14 : ws);
				TT_EQ(sack2, sack);
			}
		}
	}
	int ws, sack;
	TT_EQ(tcp_syncookie_ts_decode(0x20, &ws, &sack), TCP_EINVAL);
}

/* ---- the listener ---- */

#define BACKLOG 4 /* fx_listen()'s */

/* A spoofed source: 172.16.x.y, UDP port and TCP port from n. */
static struct tcp_endpoint spoofed(unsigned n)
{
	struct tcp_endpoint e = { 4, { 172, 16, (uint8_t)(n >> 8), (uint8_t)n }, (uint16_t)(20000 + n % 30000) };
	return e;
}

/* n spoofed SYNs (with every option, as a kernel client sends them) to
 * b's port 80; each must draw a SYN,ACK.  Returns how many did. */
static unsigned flood(struct host *b, unsigned n, unsigned first)
{
	unsigned answered = 0;
	for (unsigned i = first; i < first + n; i++) {
		struct tcp_endpoint e = spoofed(i);
		struct peer p = PEER(b, .ep = e, .port = (uint16_t)(1024 + i % 60000));
		peer_send(&p, .flags = F_SYN, .seq = i * 2654435761u, .has_mss = 1, .mss = 1452,
			  .has_ws = 1, .ws = 7, .sack_perm = 1, .has_ts = 1, .tsval = i);
		while (host_pop(b))
			answered += b->seg.flags == (F_SYN | F_ACK) && b->seg.ack == i * 2654435761u + 1;
	}
	return answered;
}

struct ids {
	uint64_t id[16];
	unsigned n;
};

static int collect_id(void *arg, struct tcp_conn *c)
{
	struct ids *ids = arg;
	if (ids->n < 16)
		ids->id[ids->n++] = tcp_conn_id(c);
	return 0;
}

static void cookie_config(struct tcp_config *cfg)
{
	peer_options_config(cfg);
	cfg->mss = 1452;
	cfg->recv_buffer = 1 << 20; /* window shift 5 */
	cfg->send_buffer = 1 << 20;
	cfg->max_connections = 4096;
}

/* After 1000 spoofed SYNs past a backlog of 4 (every one answered, 996
 * with a cookie, none of the 4 half-open TCBs evicted, no TCB for the
 * rest), a real client's handshake completes from its cookie: MSS 1452,
 * window scale and SACK as its SYN offered them, and 200 kB go each way
 * byte-exact (a wrong window shift would corrupt flow control). */
TT_TEST(syncookie_flood_then_legitimate_handshake)
{
	struct tcp_config cfg;
	cookie_config(&cfg);
	struct host *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	TT_ASSERT(a && b);
	TT_EQ(host_init(a, 1, &cfg), 0);
	TT_EQ(host_init(b, 2, &cfg), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b->s, 80, BACKLOG, NULL, &l), 0);
	TT_EQ(flood(b, 1000, 0), 1000);
	struct tcp_stats st = host_stats(b);
	TT_EQ(st.SyncookiesSent, 1000 - BACKLOG);
	TT_EQ(st.DropListenOverflow, 0);
	TT_EQ(host_nconns(b), BACKLOG);
	/* the ids of the half-open TCBs (the first BACKLOG SYNs) */
	struct ids ids = { 0 };
	tcp_foreach(b->s, collect_id, &ids);
	TT_EQ(ids.n, BACKLOG);

	struct tcp_conn *ca;
	a->isn = 5000;
	TT_EQ(tcp_connect(a->s, &b->ep, 80, 1000, NULL, NULL, T0, &ca), 0);
	host_deliver(a, b, T0 + TCP_MS(1)); /* SYN */
	TT_EQ(host_stats(b).SyncookiesSent, 1000 - BACKLOG + 1);
	TT_EQ(host_nconns(b), BACKLOG); /* still nothing kept for it */
	host_deliver(b, a, T0 + TCP_MS(2)); /* cookie SYN,ACK */
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	/* the flood goes on while the ACK is under way (without cookies the
	 * client's half-open TCB would be recycled now and its ACK answered
	 * with RST: a connection the client took as established, reset) */
	TT_EQ(flood(b, 100, 1000), 100);
	host_deliver(a, b, T0 + TCP_MS(3)); /* ACK with the cookie */
	TT_ASSERT(b->accepted != NULL);
	EXPECT_STATE(b->accepted, TCP_S_ESTABLISHED);
	st = host_stats(b);
	TT_EQ(st.SyncookiesRecv, 1);
	TT_EQ(st.SyncookiesFailed, 0);
	TT_EQ(st.SyncookiesSent, 1000 - BACKLOG + 1 + 100);
	TT_EQ(host_nconns(b), BACKLOG + 1);
	/* the flood's half-open TCBs are all still there */
	for (unsigned i = 0; i < ids.n; i++) {
		struct tcp_conn *c = tcp_find_by_id(b->s, ids.id[i]);
		TT_ASSERT(c != NULL);
		EXPECT_STATE(c, TCP_S_SYN_RECEIVED);
	}

	struct tcp_conn_info ia, ib;
	TT_EQ(tcp_conn_info(ca, &ia), 0);
	TT_EQ(tcp_conn_info(b->accepted, &ib), 0);
	TT_EQ(ib.mss, 1452 - 12);
	TT_EQ(ia.mss, 1452 - 12);
	TT_EQ(ib.sack_ok, 1);
	TT_EQ(ia.sack_ok, 1);
	TT_EQ(ib.ts_ok, 1);
	TT_EQ(ib.snd_wscale, 5);
	TT_EQ(ib.rcv_wscale, 5);
	TT_EQ(ia.snd_wscale, 5);
	TT_EQ(ib.snd_wnd, ia.rcv_wnd);
	TT_EQ(ia.snd_wnd, ib.rcv_wnd);

	/* data both ways */
	size_t total = 200000;
	uint8_t *buf = malloc(total), *got = malloc(total);
	TT_ASSERT(buf && got);
	for (size_t i = 0; i < total; i++)
		buf[i] = peer_pattern(i);
	struct tcp_conn *cb = b->accepted;
	size_t sa = 0, sb = 0, ra = 0, rb = 0;
	tcp_time_t now = T0 + TCP_MS(4);
	for (int round = 0; round < 20000 && (ra < total || rb < total); round++) {
		ssize_t r;
		if (sa < total && (r = tcp_send(ca, buf + sa, total - sa, now)) > 0)
			sa += (size_t)r;
		if (sb < total && (r = tcp_send(cb, buf + sb, total - sb, now)) > 0)
			sb += (size_t)r;
		now += TCP_MS(1);
		host_deliver(a, b, now);
		host_deliver(b, a, now);
		tcp_timeout(a->s, now);
		tcp_timeout(b->s, now);
		while ((r = tcp_recv(cb, got + rb, total - rb, now)) > 0) {
			TT_ASSERT(memcmp(got + rb, buf + rb, (size_t)r) == 0);
			rb += (size_t)r;
		}
		while ((r = tcp_recv(ca, got + ra, total - ra, now)) > 0) {
			TT_ASSERT(memcmp(got + ra, buf + ra, (size_t)r) == 0);
			ra += (size_t)r;
		}
	}
	TT_EQ(ra, total);
	TT_EQ(rb, total);
	free(buf);
	free(got);
	host_free(a);
	host_free(b);
	free(a);
	free(b);
}

/* Without timestamps there is nowhere to keep window scale and SACK: the
 * cookie SYN,ACK offers neither, and the MSS is the table's value at or
 * below the peer's (1000 -> 536). */
TT_TEST(syncookie_without_timestamps_mss_only)
{
	struct host b;
	struct peer p;
	struct tcp_config cfg;
	cookie_config(&cfg);
	TT_EQ(fx_listen(&b, &p, .cfg = &cfg), 0);
	TT_EQ(flood(&b, BACKLOG, 0), BACKLOG);
	peer_send(&p, .flags = F_SYN, .seq = 700, .has_mss = 1, .mss = 1000, .has_ws = 1, .ws = 3,
		  .sack_perm = 1);
	TT_ASSERT(host_pop(&b));
	TT_EQ(b.seg.flags, F_SYN | F_ACK);
	TT_EQ(b.seg.ack, 701);
	TT_EQ(b.seg.has_ws, 0);
	TT_EQ(b.seg.sack_perm, 0);
	TT_EQ(b.seg.has_ts, 0);
	TT_EQ(b.seg.mss, 1452);
	TT_EQ(b.seg.wnd, 65535);
	uint32_t cookie = b.seg.seq;
	TT_EQ(host_stats(&b).SyncookiesSent, 1);
	peer_send(&p, .seq = 701, .ack = cookie + 1, .wnd = 4000, .now = T0 + TCP_MS(5));
	TT_ASSERT(b.accepted != NULL);
	struct tcp_conn_info ib;
	TT_EQ(tcp_conn_info(b.accepted, &ib), 0);
	TT_EQ(ib.mss, 536);
	TT_EQ(ib.sack_ok, 0);
	TT_EQ(ib.ts_ok, 0);
	TT_EQ(ib.snd_wscale, 0);
	TT_EQ(ib.rcv_wscale, 0);
	TT_EQ(ib.snd_wnd, 4000);
	TT_EQ(ib.rcv_wnd, 65535);
	EXPECT_NONE(&b);
	host_free(&b);
}

/* The ACK of a cookie may carry data and a FIN (the client's first
 * request, its whole request): the connection is made and takes both.
 * Text on a SYN that gets a cookie is not acknowledged (SEG.ACK = ISN+1):
 * nothing keeps it; the client sends it again. */
TT_TEST(syncookie_data_on_ack_and_syn_text)
{
	struct host b;
	struct peer p;
	struct tcp_config cfg;
	cookie_config(&cfg);
	TT_EQ(fx_listen(&b, &p, .cfg = &cfg), 0);
	TT_EQ(flood(&b, BACKLOG, 0), BACKLOG);
	peer_send(&p, .flags = F_SYN, .seq = 700, .has_mss = 1, .mss = 1452, .has_ts = 1,
		  .tsval = 50, .data = "early");
	TT_ASSERT(host_pop(&b));
	TT_EQ(b.seg.flags, F_SYN | F_ACK);
	TT_EQ(b.seg.ack, 701);
	TT_EQ(b.seg.has_ts, 1);
	TT_EQ(b.seg.tsecr, 50);
	uint32_t cookie = b.seg.seq, tsval = b.seg.tsval;
	peer_send(&p, .flags = F_ACK | F_PSH | F_FIN, .seq = 701, .ack = cookie + 1, .has_ts = 1,
		  .tsval = 51, .tsecr = tsval, .data = "early", .now = T0 + TCP_MS(5));
	TT_ASSERT(b.accepted != NULL);
	EXPECT_STATE(b.accepted, TCP_S_CLOSE_WAIT);
	char buf[16];
	TT_EQ(tcp_recv(b.accepted, buf, sizeof buf, T0 + TCP_MS(6)), 5);
	TT_MEMEQ(buf, "early", 5);
	TT_EQ(tcp_recv(b.accepted, buf, sizeof buf, T0 + TCP_MS(6)), 0);
	/* the ACK of data and FIN, timestamps continuing from the cookie's */
	TT_ASSERT(host_pop(&b));
	TT_EQ(b.seg.flags, F_ACK);
	TT_EQ(b.seg.seq, cookie + 1);
	TT_EQ(b.seg.ack, 701 + 5 + 1);
	TT_EQ(b.seg.tsecr, 51);
	TT_ASSERT(seq_geq(b.seg.tsval, tsval));
	host_free(&b);
}

/* Forged cookies: an ACK whose cookie is not ours is dropped without a
 * RST (it may also be a later segment of a real connection whose
 * handshake ACK was lost - its SEG.SEQ - 1 is not its ISN - which the RST
 * would kill), counted in SyncookiesFailed, and leaves no TCB; so is a
 * cookie with the reserved TSecr bit.  The genuine ACK still works, and
 * so does one from the same peer after its later segments were dropped:
 * the retransmission from ISN+1 makes the connection. */
TT_TEST(syncookie_bad_cookie_dropped_and_counted)
{
	struct host b;
	struct peer p;
	struct tcp_config cfg;
	cookie_config(&cfg);
	TT_EQ(fx_listen(&b, &p, .cfg = &cfg), 0);
	TT_EQ(flood(&b, BACKLOG + 1, 0), BACKLOG + 1);
	TT_EQ(host_stats(&b).SyncookiesSent, 1);
	peer_send(&p, .flags = F_SYN, .seq = 700, .has_mss = 1, .mss = 1452, .has_ts = 1,
		  .tsval = 50, .has_ws = 1, .ws = 2, .sack_perm = 1);
	TT_ASSERT(host_pop(&b));
	uint32_t cookie = b.seg.seq, tsval = b.seg.tsval;
	unsigned rsts = host_stats(&b).OutRsts;
	/* wrong cookie; wrong peer ISN (or a later segment: data, then the
	 * pure ACK a duplicate SYN,ACK draws after data and FIN) */
	peer_send(&p, .seq = 701, .ack = cookie + 2, .has_ts = 1, .tsval = 51, .tsecr = tsval);
	peer_send(&p, .seq = 702, .ack = cookie + 1, .has_ts = 1, .tsval = 51, .tsecr = tsval);
	peer_send(&p, .seq = 701 + 1000, .ack = cookie + 1, .has_ts = 1, .tsval = 51,
		  .tsecr = tsval, .data = "later");
	peer_send(&p, .seq = 701 + 4097, .ack = cookie + 1, .has_ts = 1, .tsval = 52, .tsecr = tsval);
	/* the reserved bit */
	peer_send(&p, .seq = 701, .ack = cookie + 1, .has_ts = 1, .tsval = 51, .tsecr = tsval | 0x20);
	/* the right cookie from another port */
	peer_send(&p, .sport = 1001, .seq = 701, .ack = cookie + 1, .has_ts = 1, .tsval = 51,
		  .tsecr = tsval);
	EXPECT_NONE(&b);
	struct tcp_stats st = host_stats(&b);
	TT_EQ(st.OutRsts, rsts);
	TT_EQ(st.SyncookiesFailed, 6);
	TT_EQ(st.SyncookiesRecv, 0);
	TT_ASSERT(b.accepted == NULL);
	TT_EQ(host_nconns(&b), BACKLOG);
	/* the retransmission from ISN+1 makes the connection */
	peer_send(&p, .seq = 701, .ack = cookie + 1, .has_ts = 1, .tsval = 53, .tsecr = tsval,
		  .data = "first");
	TT_ASSERT(b.accepted != NULL);
	TT_EQ(host_stats(&b).SyncookiesRecv, 1);
	struct tcp_conn_info ib;
	TT_EQ(tcp_conn_info(b.accepted, &ib), 0);
	TT_EQ(ib.snd_wscale, 2);
	TT_EQ(ib.sack_ok, 1);
	TT_EQ(ib.recv_queue, 5);
	host_free(&b);
}

/* A cookie lives one to two periods of TCP_SYNCOOKIE_PERIOD: its ACK two
 * periods later is refused (RST, counted) even while the listener is
 * still sending cookies; one period later it is taken. */
TT_TEST(syncookie_stale_cookie_rejected)
{
	struct host b;
	struct peer p;
	struct tcp_config cfg;
	cookie_config(&cfg);
	TT_EQ(fx_listen(&b, &p, .cfg = &cfg), 0);
	TT_EQ(flood(&b, BACKLOG, 0), BACKLOG);
	struct peer q = PEER(&b, .port = 1001);
	b.now = T0;
	peer_send(&p, .flags = F_SYN, .seq = 700, .has_mss = 1, .mss = 1452);
	TT_ASSERT(host_pop(&b));
	uint32_t stale = b.seg.seq;
	peer_send(&q, .flags = F_SYN, .seq = 900, .has_mss = 1, .mss = 1452);
	TT_ASSERT(host_pop(&b));
	uint32_t fresh = b.seg.seq;
	/* more cookies later on: the listener is still under flood */
	b.now = T0 + TCP_SYNCOOKIE_PERIOD;
	TT_EQ(flood(&b, 1, 5000), 1);
	peer_send(&q, .seq = 901, .ack = fresh + 1);
	TT_ASSERT(b.accepted != NULL);
	b.accepted = NULL;
	b.now = T0 + 2 * TCP_SYNCOOKIE_PERIOD;
	TT_EQ(flood(&b, 1, 5001), 1);
	peer_send(&p, .seq = 701, .ack = stale + 1);
	EXPECT_SEG(&b, F_RST, stale + 1, 0);
	TT_ASSERT(b.accepted == NULL);
	struct tcp_stats st = host_stats(&b);
	TT_EQ(st.SyncookiesFailed, 1);
	TT_EQ(st.SyncookiesRecv, 1);
	host_free(&b);
}

/* While the backlog has room no cookie is made: the SYN,ACK carries the
 * ISN of RFC 9293 3.4.1 (here the test's ISN hook) and a TCB waits in
 * SYN-RECEIVED; an ACK for a listener that never sent a cookie is not
 * checked as one (RST, not counted). */
TT_TEST(syncookie_not_used_while_backlog_has_room)
{
	struct host b;
	struct peer p;
	struct tcp_config cfg;
	cookie_config(&cfg);
	TT_EQ(fx_listen(&b, &p, .cfg = &cfg), 0);
	b.isn = 777;
	peer_send(&p, .seq = 5, .ack = 12345);
	EXPECT_SEG(&b, F_RST, 12345, 0);
	for (unsigned i = 0; i < BACKLOG; i++) {
		peer_send(&p, .sport = (uint16_t)(1000 + i), .flags = F_SYN, .seq = 700, .has_mss = 1,
			  .mss = 1452, .has_ts = 1, .tsval = 9);
		EXPECT_SEG(&b, F_SYN | F_ACK, 777, 701);
	}
	TT_EQ(host_nconns(&b), BACKLOG);
	struct tcp_stats st = host_stats(&b);
	TT_EQ(st.SyncookiesSent, 0);
	TT_EQ(st.SyncookiesFailed, 0);
	/* the next one gets a cookie, not the hook's ISN */
	peer_send(&p, .sport = 2000, .flags = F_SYN, .seq = 700, .has_mss = 1, .mss = 1452);
	TT_ASSERT(host_pop(&b));
	TT_EQ(b.seg.flags, F_SYN | F_ACK);
	TT_ASSERT(b.seg.seq != 777);
	TT_EQ(host_stats(&b).SyncookiesSent, 1);
	TT_EQ(host_nconns(&b), BACKLOG);
	/* cfg.syncookies = 0: the old way, the oldest half-open TCB goes */
	cfg.syncookies = 0;
	TT_EQ(tcp_stack_reconfigure(b.s, &cfg), 0);
	peer_send(&p, .sport = 2001, .flags = F_SYN, .seq = 700, .has_mss = 1, .mss = 1452);
	EXPECT_SEG(&b, F_SYN | F_ACK, 777, 701);
	st = host_stats(&b);
	TT_EQ(st.SyncookiesSent, 1);
	TT_EQ(st.DropListenOverflow, 1);
	TT_EQ(host_nconns(&b), BACKLOG);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

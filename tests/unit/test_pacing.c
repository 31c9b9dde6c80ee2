/*
 * test_pacing.c - the engine's pacing of a BBR connection (draft-ietf-ccwg-bbr
 * 5.6.2-5.6.3, tcp_output.c): new data leaves at its departure time, one
 * send quantum at once, the rest on the connection's timer; ACKs, FINs
 * without data and retransmissions never wait; an unpaced algorithm
 * (CUBIC) sends as before; the rate samples that reach BBR through the
 * engine, with SACK and without.
 *
 * Host A (MSS 1000, SACK, RACK-TLP) connects to a scripted peer that
 * answers the SYN 100 ms later: SRTT 100 ms, so BBR's first pacing rate is
 * BBRInitPacingRate() = 2.77 * IW / SRTT = 2.77 * 10000 B / 0.1 s and its
 * send quantum the floor of 2 SMSS (5.6.3).  Every time is virtual.
 */
#include "peer.h"

#define RTT TCP_MS(100)

static int setup_(struct host *a, struct peer *p, struct tcp_conn **c, enum tcp_cc_algo cc,
		  int sack)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.cc = cc;
	cfg.sack = sack;
	cfg.send_buffer = 65536;
	if (host_init(a, 1, &cfg) != 0)
		return -1;
	a->isn = 100;
	if (tcp_connect(a->s, &PB, 80, 1000, NULL, NULL, a->now, c) != 0)
		return -2;
	if (!host_pop(a) || a->seg.flags != F_SYN)
		return -3;
	struct tcp_seg syn = a->seg;
	syn.data = NULL;
	*p = PEER(a, .ep = PB, .port = 80, .hport = 1000, .seq = 301, .ack = 101, .wnd = 60000,
		  .hsyn = syn);
	a->now = T0 + RTT;
	peer_send(p, .flags = F_SYN | F_ACK, .seq = 300, .has_mss = 1, .mss = 1000,
		  .sack_perm = (uint8_t)sack);
	if (tcp_conn_state(*c) != TCP_S_ESTABLISHED)
		return -4;
	host_drop_all(a); /* the ACK of the SYN,ACK */
	return 0;
}
#define setup(a, p, c, cc) setup_((a), (p), (c), (cc), 1)

/* The rate and the delays the engine derives from it (nanoseconds). */
static uint64_t rate_bps(void)
{
	return (uint64_t)(2.77 * (10000.0 * 1e6 / (double)RTT));
}
static uint64_t delay_ns(uint32_t len)
{
	return (uint64_t)len * 1000000000u / rate_bps();
}

static int pop_data(struct host *a, uint32_t *first_seq)
{
	int n = 0;
	while (host_pop(a)) {
		if (a->seg.len == 0)
			continue;
		if (n == 0 && first_seq)
			*first_seq = a->seg.seq;
		n++;
	}
	return n;
}

/* Queue n bytes at a->now: the number of data segments that left at once. */
static int send_now(struct host *a, struct tcp_conn *c, size_t n)
{
	static char d[10000];
	memset(d, 'p', sizeof d);
	if (n > sizeof d || tcp_send(c, d, n, a->now) != (ssize_t)n)
		return -1;
	return pop_data(a, NULL);
}

TT_TEST(pacing_spaces_new_data)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_CC_BBR), 0);
	struct tcp_conn_info info;
	TT_EQ(tcp_conn_info(c, &info), 0);
	TT_EQ(info.pacing_rate, rate_bps());
	TT_STREQ(info.cc_state, "startup");
	static char d[10000];
	memset(d, 'p', sizeof d);
	tcp_time_t t = a.now;
	TT_EQ(tcp_send(c, d, sizeof d, t), (ssize_t)sizeof d);
	/* one send quantum (2 SMSS) may go at once, plus the segment that
	 * reaches it: the departure time is then one segment's delay ahead */
	TT_EQ(2 * delay_ns(1000), 2000 * 1000000000ull / rate_bps());
	uint32_t seq = 0;
	TT_EQ(pop_data(&a, &seq), 3);
	TT_EQ(seq, 101);
	TT_EQ(host_stats(&a).PacingDelays, 1);
	/* the rest waits for the departure time: TCP_T_PACE */
	tcp_time_t due = t + (delay_ns(1000) + 999) / 1000;
	TT_EQ(tcp_next_deadline(a.s), due);
	host_run_timers(&a, due - 1);
	TT_EQ(pop_data(&a, NULL), 0);
	host_run_timers(&a, due);
	TT_EQ(pop_data(&a, &seq), 1);
	TT_EQ(seq, 3101);
	/* one segment per departure: the next is a segment's delay later */
	TT_EQ(tcp_next_deadline(a.s), t + (2 * delay_ns(1000) + 999) / 1000);
	host_run_timers(&a, t + (2 * delay_ns(1000) + 999) / 1000);
	TT_EQ(pop_data(&a, &seq), 1);
	TT_EQ(seq, 4101);
	host_free(&a);
}

TT_TEST(pacing_does_not_delay_acks)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_CC_BBR), 0);
	tcp_time_t t = a.now;
	TT_EQ(send_now(&a, c, 3000), 3);
	/* the departure time is now ahead: new data waits ... */
	TT_EQ(send_now(&a, c, 3000), 0);
	/* ... the ACK of the peer's data does not */
	peer_send(&p, .data = "abc", .ack = 101, .now = t);
	TT_ASSERT(host_pop(&a));
	TT_EQ(a.seg.flags, F_ACK);
	TT_EQ(a.seg.len, 0);
	TT_EQ(a.seg.ack, 304);
	TT_ASSERT(!host_pop(&a));
	host_free(&a);
}

TT_TEST(pacing_does_not_delay_a_lone_fin)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_CC_BBR), 0);
	tcp_time_t t = a.now;
	TT_EQ(send_now(&a, c, 3000), 3);
	/* all data sent, the departure time one segment ahead: the FIN
	 * carries no data and goes at once */
	TT_EQ(tcp_close(c, t), 0);
	TT_ASSERT(host_pop(&a));
	TT_EQ(a.seg.flags, F_FIN | F_ACK);
	TT_EQ(a.seg.seq, 3101);
	TT_EQ(a.seg.len, 0);
	host_free(&a);
}

TT_TEST(pacing_does_not_delay_retransmissions)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_CC_BBR), 0);
	tcp_time_t t = a.now;
	TT_EQ(send_now(&a, c, 10000), 3);
	/* the first segment is missing, the next two arrived: RACK marks it
	 * lost (RFC 8985 6.2, no reordering window in recovery) and it goes
	 * again at once, though new data still waits for its departure */
	uint32_t blk[2] = { 1101, 3101 };
	peer_send_sack(&p, 101, blk, 1, t);
	TT_ASSERT(host_pop(&a));
	TT_EQ(a.seg.seq, 101);
	TT_EQ(a.seg.len, 1000);
	TT_EQ(pop_data(&a, NULL), 0);
	struct tcp_conn_info info;
	TT_EQ(tcp_conn_info(c, &info), 0);
	TT_EQ(info.retransmits, 1);
	/* BBR keeps cwnd in fast recovery; Startup adds what the ACK
	 * delivered (5.6.4.6): IW + the 2000 SACKed bytes */
	TT_EQ(info.cwnd, 12000);
	host_free(&a);
}

TT_TEST(pacing_off_for_cubic)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, TCP_CC_CUBIC), 0);
	struct tcp_conn_info info;
	TT_EQ(tcp_conn_info(c, &info), 0);
	TT_EQ(info.pacing_rate, 0);
	TT_STREQ(info.cc_state, "");
	TT_EQ(send_now(&a, c, 10000), 10); /* the initial window at once */
	TT_EQ(host_stats(&a).PacingDelays, 0);
	host_free(&a);
}

/* The engine feeds BBR its rate samples (tcp_rate.c) with SACK and, from
 * cumulative ACKs alone, without: 3000 bytes sent at once from idle and
 * acknowledged 100 ms later are a sample of 3000 B / 0.1 s (4.1.2.3:
 * interval = max(send_elapsed 0, ack_elapsed 100 ms)), the first of
 * Startup's max filter, so BBR.bw. */
static void rate_sample_reaches_bbr(int sack)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup_(&a, &p, &c, TCP_CC_BBR, sack), 0);
	tcp_time_t t = a.now;
	TT_EQ(send_now(&a, c, 3000), 3);
	struct tcp_conn_info info;
	TT_EQ(tcp_conn_info(c, &info), 0);
	TT_EQ(info.model_bw, 0);
	peer_send(&p, .ack = 3101, .now = t + RTT);
	TT_EQ(tcp_conn_info(c, &info), 0);
	TT_EQ(info.model_bw, 30000);
	TT_EQ(info.model_min_rtt, RTT);
	TT_STREQ(info.cc_state, "startup");
	/* Startup: cwnd grows by what was delivered (5.6.4.6) */
	TT_EQ(info.cwnd, 10000 + 3000);
	host_free(&a);
}

TT_TEST(rate_sample_reaches_bbr_with_sack) { rate_sample_reaches_bbr(1); }
TT_TEST(rate_sample_reaches_bbr_without_sack) { rate_sample_reaches_bbr(0); }

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

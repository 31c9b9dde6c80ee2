/*
 * test_sim_transfers.c - many seeded transfers between two engine stacks
 * over the simulated link of simlink.h, in virtual time.
 *
 * Every transfer must deliver both byte streams exactly (each byte checked
 * against the sender's pattern), end with both FINs (EOF on both sides,
 * TCP_EV_CLOSED with err 0 on both) within a virtual-time bound, and leave
 * no TCB behind once TIME-WAIT has run out.  A failure prints the
 * configuration (seed and impairments) so it can be replayed alone:
 * `tests/sim_test_sim_transfers NAME` runs the tests whose name has NAME,
 * and SIM_SEED=<n> restricts the random suites to one seed, SIM_TRACE=1
 * prints every datagram and engine log line, SIM_ALL=1 keeps going after 5
 * failures, SIM_SCALE=<n> runs n times as many seeds.
 */
#include <math.h>
#include <stdlib.h>

#include "simlink.h"
#include "tt.h"

static int env_trace(void)
{
	const char *t = getenv("SIM_TRACE");
	return t && *t && *t != '0';
}

static int env_seed(uint64_t *seed)
{
	const char *t = getenv("SIM_SEED");
	if (!t || !*t)
		return 0;
	*seed = strtoull(t, NULL, 0);
	return 1;
}

/* Engine bug 1 (found here, fixed in 566e380; test
 * sim_peer_fin_while_data_queued): a side that CLOSEd with data still
 * queued and then received the peer's FIN entered CLOSING and stopped
 * sending.  The random suites let FINs cross with data in flight; build
 * with -DSIM_CROSSING_CLOSE=0 to keep the closes ordered (one side closes
 * after the peer's FIN) when chasing some other bug. */
#ifndef SIM_CROSSING_CLOSE
#define SIM_CROSSING_CLOSE 1
#endif

struct outcome {
	int ok;
	tcp_time_t duration;       /* connect to both CLOSED */
	struct sim_link_stats st[2];
	uint64_t steps;
	struct tcp_stats stats[2];
};

/* Run one transfer and check everything; on failure print why. */
static int run_transfer(const struct sim_config *cfg0, tcp_time_t limit, struct outcome *out)
{
	struct sim_config cfg = *cfg0;
	if (env_trace())
		cfg.trace = 1;
	static struct sim s; /* large (iobuf); one at a time */
	struct outcome o;
	memset(&o, 0, sizeof o);
	char desc[1024];
	sim_describe(&cfg, desc, sizeof desc);
	if (sim_init(&s, &cfg) != 0) {
		fprintf(stderr, "  setup failed: %s\n  %s\n", s.err, desc);
		return 0;
	}
	tcp_time_t t0 = s.now;
	int rc = sim_run(&s, t0 + limit, 50u * 1000 * 1000);
	const char *why = NULL;
	char buf[256];
	if (rc != 0) {
		why = s.err[0] ? s.err : "did not complete in time";
	} else {
		for (unsigned k = 0; k < s.nconn && !why; k++)
		for (int i = 0; i < 2 && !why; i++) {
			struct sim_app *a = &s.app[k][i];
			if (a->close_err != 0) {
				snprintf(buf, sizeof buf, "conn %u node %d closed with %s", k, i,
					 tcp_strerror(a->close_err));
				why = buf;
			} else if (a->tx_done != a->tx_total) {
				snprintf(buf, sizeof buf, "conn %u node %d sent %llu of %llu", k, i,
					 (unsigned long long)a->tx_done, (unsigned long long)a->tx_total);
				why = buf;
			} else if (!a->eof || a->rx_done != a->rx_expect) {
				snprintf(buf, sizeof buf, "conn %u node %d received %llu of %llu (eof %d)",
					 k, i, (unsigned long long)a->rx_done,
					 (unsigned long long)a->rx_expect, a->eof);
				why = buf;
			} else if (!a->peer_fin) {
				snprintf(buf, sizeof buf, "conn %u node %d: no TCP_EV_PEER_FIN", k, i);
				why = buf;
			} else if (a->events[TCP_EV_CLOSED] != 1) {
				snprintf(buf, sizeof buf, "conn %u node %d: %llu TCP_EV_CLOSED", k, i,
					 (unsigned long long)a->events[TCP_EV_CLOSED]);
				why = buf;
			}
		}
	}
	o.duration = s.now - t0;
	if (!why) {
		/* TIME-WAIT (2*MSL) and any lingering TCB must run out */
		if (sim_drain(&s, s.now + 4 * cfg.tcp.msl + TCP_SEC(300), 1000000) != 0) {
			why = "timers still armed long after the close";
		} else if (sim_conn_count(&s, 0) || sim_conn_count(&s, 1)) {
			snprintf(buf, sizeof buf, "TCBs left after the drain: %u / %u",
				 sim_conn_count(&s, 0), sim_conn_count(&s, 1));
			why = buf;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (!why && s.node[i].out.st.mangled_bad_accept) {
			snprintf(buf, sizeof buf, "node %d accepted %llu malformed segments", 1 - i,
				 (unsigned long long)s.node[i].out.st.mangled_bad_accept);
			why = buf;
		}
		o.st[i] = s.node[i].out.st;
		tcp_get_stats(s.node[i].stack, &o.stats[i]);
	}
	o.steps = s.steps;
	o.ok = !why;
	if (why) {
		fprintf(stderr, "  FAILED: %s\n  %s\n", why, desc);
		for (unsigned k = 0; k < s.nconn; k++)
		for (int i = 0; i < 2; i++) {
			struct sim_app *a = &s.app[k][i];
			if (k)
				fprintf(stderr, "  conn %u:\n", k);
			fprintf(stderr,
				"  node %d: est %d closed %d err %d eof %d fin %d tx %llu/%llu rx %llu/%llu"
				" link sent %llu lost %llu+%llu+%llu\n",
				i, a->established, a->closed, a->close_err, a->eof, a->peer_fin,
				(unsigned long long)a->tx_done, (unsigned long long)a->tx_total,
				(unsigned long long)a->rx_done, (unsigned long long)a->rx_expect,
				(unsigned long long)o.st[i].sent, (unsigned long long)o.st[i].lost_random,
				(unsigned long long)o.st[i].lost_burst, (unsigned long long)o.st[i].lost_queue);
			if (a->c) {
				struct tcp_conn_info ci;
				if (tcp_conn_info(a->c, &ci) == 0)
					fprintf(stderr,
						"  node %d: %s una %u nxt %u wnd %u rcv_nxt %u rcv_wnd %u sq %u rq %u"
						" cwnd %u ssthresh %u rto %llu rtx %llu\n",
						i, tcp_state_name(ci.state), ci.snd_una, ci.snd_nxt,
						ci.snd_wnd, ci.rcv_nxt, ci.rcv_wnd, ci.send_queue,
						ci.recv_queue, ci.cwnd, ci.ssthresh,
						(unsigned long long)ci.rto,
						(unsigned long long)ci.retransmits);
			}
		}
	}
	sim_free(&s);
	if (out)
		*out = o;
	return o.ok;
}

/* ---------------- fixed scenarios ---------------- */

TT_TEST(sim_clean_small_both_directions)
{
	struct sim_config c;
	sim_config_default(&c);
	c.bytes[0] = 1000;
	c.bytes[1] = 3000;
	struct outcome o;
	TT_ASSERT(run_transfer(&c, TCP_SEC(60), &o));
	/* no loss: nothing retransmitted, nothing dropped */
	TT_EQ(o.stats[0].RetransSegs, 0);
	TT_EQ(o.stats[1].RetransSegs, 0);
	TT_EQ(o.st[0].lost_random + o.st[1].lost_random, 0);
	/* handshake, one data flight, FINs: a handful of RTTs (20 ms each) */
	TT_ASSERT(o.duration < TCP_MS(200));
}

TT_TEST(sim_zero_bytes_each_way)
{
	struct sim_config c;
	sim_config_default(&c);
	TT_ASSERT(run_transfer(&c, TCP_SEC(60), NULL));
}

TT_TEST(sim_one_byte_and_exact_mss_multiples)
{
	uint64_t sizes[][2] = { { 1, 0 }, { 0, 1 }, { 1452, 1452 }, { 2904, 0 }, { 14520, 14521 },
				{ 65536, 1 } };
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct sim_config c;
		sim_config_default(&c);
		c.seed = 100 + i;
		c.bytes[0] = sizes[i][0];
		c.bytes[1] = sizes[i][1];
		c.close_after_eof[1] = !SIM_CROSSING_CLOSE;
		TT_ASSERT(run_transfer(&c, TCP_SEC(60), NULL));
	}
}

#if SIM_CROSSING_CLOSE
TT_TEST(sim_peer_fin_while_data_queued)
{
	/* Engine bug 1 (see the report): node 0 queues 64 KiB and CLOSEs at
	 * once; node 1 answers 1 byte and CLOSEs.  Node 1's FIN reaches node 0
	 * while most of its data is still unsent (FIN-WAIT-1 -> CLOSING); the
	 * ACKs that follow must keep clocking out node 0's data. */
	struct sim_config c;
	sim_config_default(&c);
	c.bytes[0] = 65536;
	c.bytes[1] = 1;
	TT_ASSERT(run_transfer(&c, TCP_SEC(60), NULL));
}
#endif

TT_TEST(sim_bulk_clean_bandwidth_limited)
{
	/* 4 MiB each way over 20 Mbit/s, 10 ms one way: the transfer time is
	 * bounded below by the rate; it must not take far longer (slow start
	 * then a full pipe, a generous factor for the queue and the close). */
	struct sim_config c;
	sim_config_default(&c);
	c.bytes[0] = c.bytes[1] = 4u << 20;
	for (int i = 0; i < 2; i++) {
		c.link[i].rate_bps = 20000000;
		c.link[i].queue_bytes = 128 * 1024;
	}
	struct outcome o;
	TT_ASSERT(run_transfer(&c, TCP_SEC(120), &o));
	double ideal = (4u << 20) * 8.0 / 20e6; /* seconds at line rate, payload only */
	double took = (double)o.duration / 1e6;
	TT_ASSERT(took > ideal);
	if (took > 3 * ideal + 1.0) {
		TT_FAIL_("4 MiB over 20 Mbit/s took %.2f s (line rate %.2f s)", took, ideal);
		return;
	}
}

TT_TEST(sim_slow_reader_zero_window)
{
	/* The receiver reads 2 KiB every 20 ms: the sender fills the window,
	 * must wait (persist probes), and still delivers exactly. */
	struct sim_config c;
	sim_config_default(&c);
	c.tcp.recv_buffer = 16 * 1024;
	c.bytes[0] = 200 * 1024;
	c.bytes[1] = 10;
	c.rx_chunk[1] = 2048;
	c.close_after_eof[1] = !SIM_CROSSING_CLOSE;
	c.rx_interval[1] = TCP_MS(20);
	struct outcome o;
	TT_ASSERT(run_transfer(&c, TCP_SEC(600), &o));
	/* reading 200 KiB at 100 KiB/s takes about 2 s */
	TT_ASSERT(o.duration > TCP_SEC(1));
}

TT_TEST(sim_corrupted_segments_rejected_by_parser)
{
	/* Corrupted datagrams mostly die at the UDP checksum; half of them
	 * here are delivered mangled and must be refused (or, for a cut
	 * payload, accepted as the shorter valid segment they are). */
	uint64_t rejected = 0, delivered = 0;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct sim_config c;
		sim_config_default(&c);
		c.seed = 7000 + seed;
		c.bytes[0] = 40000 + seed * 1000;
		c.bytes[1] = 20000;
		c.close_after_eof[(int)(seed & 1)] = !SIM_CROSSING_CLOSE;
		for (int i = 0; i < 2; i++) {
			c.link[i].corrupt = 0.08;
			c.link[i].corrupt_deliver = 0.5;
		}
		struct outcome o;
		TT_ASSERT(run_transfer(&c, TCP_SEC(300), &o));
		for (int i = 0; i < 2; i++) {
			rejected += o.st[i].mangled_rejected;
			delivered += o.st[i].corrupt_delivered;
		}
	}
	TT_ASSERT(delivered > 20);
	TT_ASSERT(rejected > 10);
}

TT_TEST(sim_partition_heals)
{
	/* Both directions go dark for 20 s in the middle of a transfer: the
	 * retransmission timer backs off (RFC 6298 5.5) and the transfer
	 * completes once the path is back, well before R2 (15 retries). */
	struct sim_config c;
	sim_config_default(&c);
	c.bytes[0] = 300000;
	c.bytes[1] = 100000;
	c.close_after_eof[1] = !SIM_CROSSING_CLOSE;
	for (int i = 0; i < 2; i++) {
		c.link[i].rate_bps = 10000000;
		c.link[i].queue_bytes = 64 * 1024;
		c.link[i].down_from = TCP_MS(150);
		c.link[i].down_until = TCP_MS(20150);
	}
	struct outcome o;
	TT_ASSERT(run_transfer(&c, TCP_SEC(300), &o));
	TT_ASSERT(o.duration > TCP_SEC(20));
	TT_ASSERT(o.st[0].lost_down > 0);
	TT_ASSERT(o.stats[0].Timeouts + o.stats[1].Timeouts > 0);
}

TT_TEST(sim_partition_forever_times_out)
{
	/* The path dies for good after the handshake and some data: both
	 * ends must give up (TCP_ETIMEDOUT) in bounded virtual time, and no
	 * TCB may be left behind. */
	struct sim_config c;
	sim_config_default(&c);
	c.tcp.retries = 6;
	c.bytes[0] = 500000;
	c.bytes[1] = 500000;
	for (int i = 0; i < 2; i++) {
		c.link[i].down_from = TCP_MS(100);
		c.link[i].down_until = TCP_TIME_NEVER;
	}
	static struct sim s;
	TT_EQ(sim_init(&s, &c), 0);
	tcp_time_t t0 = s.now;
	int rc = sim_run(&s, t0 + TCP_SEC(3600), 10000000);
	if (rc != 0)
		fprintf(stderr, "  %s\n", s.err);
	TT_EQ(rc, 0);
	for (int i = 0; i < 2; i++) {
		TT_EQ(s.app[0][i].closed, 1);
		TT_EQ(s.app[0][i].close_err, TCP_ETIMEDOUT);
		TT_ASSERT(s.app[0][i].rx_done < s.app[0][i].rx_expect);
	}
	TT_EQ(sim_drain(&s, s.now + TCP_SEC(600), 1000000), 0);
	TT_EQ(sim_conn_count(&s, 0), 0);
	TT_EQ(sim_conn_count(&s, 1), 0);
	sim_free(&s);
}

TT_TEST(sim_parallel_connections_share_bottleneck)
{
	/* 8 connections between the same two stacks (same UDP endpoints,
	 * ephemeral TCP ports tell them apart) share a 20 Mbit/s bottleneck
	 * with 0.2 % loss; every stream must arrive intact and each must get
	 * a fair part of the link: the last to finish may take at most 3
	 * times as long as the first (equal RTTs, equal sizes). */
	struct sim_config c;
	sim_config_default(&c);
	c.nconn = 8;
	c.bytes[0] = 512 * 1024;
	c.bytes[1] = 64 * 1024;
	c.close_after_eof[1] = !SIM_CROSSING_CLOSE;
	for (int i = 0; i < 2; i++) {
		c.link[i].rate_bps = 20000000;
		c.link[i].queue_bytes = 100 * 1024;
		c.link[i].loss = 0.002;
	}
	static struct sim s;
	TT_EQ(sim_init(&s, &c), 0);
	tcp_time_t t0 = s.now;
	int rc = sim_run(&s, t0 + TCP_SEC(600), 50000000);
	if (rc != 0)
		fprintf(stderr, "  %s\n", s.err);
	TT_EQ(rc, 0);
	tcp_time_t first = TCP_TIME_NEVER, last = 0;
	for (unsigned k = 0; k < c.nconn; k++) {
		for (int i = 0; i < 2; i++) {
			struct sim_app *a = &s.app[k][i];
			TT_EQ(a->close_err, 0);
			TT_EQ(a->rx_done, a->rx_expect);
			TT_EQ(a->eof, 1);
		}
		tcp_time_t d = s.app[k][1].t_eof - t0; /* all of node 0's bytes arrived */
		if (d < first)
			first = d;
		if (d > last)
			last = d;
	}
	printf("     streams done after %.2f .. %.2f s\n", (double)first / 1e6, (double)last / 1e6);
	/* 8 x 512 KiB at 20 Mbit/s is 1.7 s at line rate */
	TT_ASSERT(last > TCP_MS(1700));
	if (last > 3 * first) {
		TT_FAIL_("unfair: first stream done after %.2f s, last after %.2f s",
			 (double)first / 1e6, (double)last / 1e6);
		return;
	}
	TT_EQ(sim_drain(&s, s.now + TCP_SEC(600), 1000000), 0);
	TT_EQ(sim_conn_count(&s, 0), 0);
	TT_EQ(sim_conn_count(&s, 1), 0);
	sim_free(&s);
}

TT_TEST(sim_keepalive_detects_dead_path)
{
	/* An idle connection with keep-alive (RFC 9293 3.8.4) on both ends;
	 * the path dies for good: each end's probes go unanswered and it
	 * gives up with TCP_ETIMEDOUT after idle + probes * interval. */
	struct sim_config c;
	sim_config_default(&c);
	c.tcp.keepalive = 1;
	c.tcp.keepalive_idle = TCP_SEC(60);
	c.tcp.keepalive_intvl = TCP_SEC(10);
	c.tcp.keepalive_probes = 3;
	c.no_close = 1;
	c.trace = env_trace();
	for (int i = 0; i < 2; i++) {
		c.link[i].down_from = TCP_SEC(1);
		c.link[i].down_until = TCP_TIME_NEVER;
	}
	static struct sim s;
	TT_EQ(sim_init(&s, &c), 0);
	tcp_time_t t0 = s.now;
	int rc = sim_run(&s, t0 + TCP_SEC(1000), 1000000);
	if (rc != 0)
		fprintf(stderr, "  %s\n", s.err);
	TT_EQ(rc, 0);
	for (int i = 0; i < 2; i++) {
		TT_EQ(s.app[0][i].established, 1);
		TT_EQ(s.app[0][i].close_err, TCP_ETIMEDOUT);
		/* not before idle + 3 unanswered probes, not much after */
		tcp_time_t took = s.app[0][i].t_closed - t0;
		if (took < TCP_SEC(60 + 20) || took > TCP_SEC(60 + 40 + 5)) {
			TT_FAIL_("node %d gave up after %.1f s", i, (double)took / 1e6);
			sim_free(&s);
			return;
		}
	}
	TT_ASSERT(s.node[0].out.st.lost_down >= 3);
	TT_EQ(sim_drain(&s, s.now + TCP_SEC(600), 100000), 0);
	TT_EQ(sim_conn_count(&s, 0), 0);
	TT_EQ(sim_conn_count(&s, 1), 0);
	sim_free(&s);
}

/* Drop the first `n` SYN-ACKs node 1 sends. */
struct drop_synack {
	int left;
};

static int drop_synack_filter(void *arg, int from, const uint8_t *seg, size_t len)
{
	struct drop_synack *d = arg;
	if (from == 1 && len >= 14 && (seg[13] & 0x12) == 0x12 && d->left > 0) {
		d->left--;
		return 1;
	}
	return 0;
}

/* Regression (was engine bug 3): node 1 in SYN-RECEIVED answered a
 * retransmitted SYN with a SYN-ACK whose TSecr echoed the FIRST SYN's
 * TSval, so node 0's first RTT sample included its SYN backoff: three lost
 * SYN-ACKs gave an RTT sample of 3 s on a 20 ms path. */
TT_TEST(sim_lost_synacks_do_not_inflate_rtt)
{
	struct sim_config c;
	sim_config_default(&c);
	struct drop_synack d = { 3 };
	c.filter = drop_synack_filter;
	c.filter_arg = &d;
	c.no_close = 1; /* no data: the handshake's sample is the only one */
	c.trace = env_trace();
	static struct sim s;
	TT_EQ(sim_init(&s, &c), 0);
	sim_run(&s, s.now + TCP_SEC(20), 1000000);
	TT_EQ(d.left, 0);
	TT_ASSERT(s.app[0][0].c != NULL);
	struct tcp_conn_info ci;
	TT_EQ(tcp_conn_info(s.app[0][0].c, &ci), 0);
	TT_EQ(ci.state, TCP_S_ESTABLISHED);
	/* path RTT 20 ms: SRTT must be near it, not near the 3 s of SYN
	 * backoff the stale TSecr adds */
	if (ci.srtt > TCP_MS(500)) {
		TT_FAIL_("srtt %.3f s after 3 lost SYN-ACKs on a 20 ms path", (double)ci.srtt / 1e6);
		sim_free(&s);
		return;
	}
	sim_free(&s);
}

TT_TEST(sim_lost_synacks_handshake_completes)
{
	/* The same three lost SYN-ACKs (the server's own retransmission and
	 * its answers to the client's SYNs): the handshake completes on the
	 * third SYN and the transfer is exact. */
	struct sim_config c;
	sim_config_default(&c);
	struct drop_synack d = { 3 };
	c.filter = drop_synack_filter;
	c.filter_arg = &d;
	c.bytes[0] = 20000;
	c.bytes[1] = 20000;
	struct outcome o;
	TT_ASSERT(run_transfer(&c, TCP_SEC(600), &o));
	TT_EQ(d.left, 0);
	TT_EQ(o.st[1].lost_filter, 3);
	TT_ASSERT(o.duration > TCP_SEC(3)); /* SYNs at 0, 1 and 3 s */
}

/* ---------------- random suites ---------------- */

static double unit(struct sim_rng *r) { return sim_rng_unit(r); }

static uint64_t pick_size(struct sim_rng *r, uint64_t max)
{
	switch (sim_rng_below(r, 6)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return sim_rng_below(r, 2000) + 1;
	case 3: return 1452 * (sim_rng_below(r, 12) + 1);
	default: return sim_rng_below(r, max) + 1;
	}
}

/* A random link configuration; `hard` allows heavier impairments. */
static void random_config(struct sim_config *c, uint64_t seed, uint64_t max_bytes, int hard)
{
	struct sim_rng r;
	sim_rng_seed(&r, seed ^ 0xC0FFEEull);
	sim_config_default(c);
	c->seed = seed;
	if (seed >= 400001 && seed < 500001)
		c->nconn = 2 + (unsigned)(seed % 7);
	if (hard == 2) {
		c->tcp.syn_retries = 12;
		c->tcp.retries = 20;
		/* RFC 9293 3.4.2's MSL of 2 minutes: TIME-WAIT (2*MSL) then
		 * outlasts rto_max, so a FIN retransmitted after several lost
		 * ACKs still finds the TIME-WAIT TCB instead of drawing a RST
		 * (seen with the 30 s default: seed 301151, 5 ACKs lost) */
		c->tcp.msl = TCP_SEC(120);
	}
	c->cc = (int)sim_rng_below(&r, 2);
	/* every third seed BBR (paced, rate-sampled), chosen from the seed so
	 * that the draws below stay those of the seed */
	if (seed % 3 == 2)
		c->cc = TCP_CC_BBR;
	if (max_bytes <= 64 * 1024) {
		/* short transfers: smaller rings are plenty and much cheaper to
		 * allocate thousands of times (ASan) */
		c->tcp.send_buffer = 96 * 1024;
		c->tcp.recv_buffer = 96 * 1024;
	}
	c->bytes[0] = pick_size(&r, max_bytes);
	c->bytes[1] = pick_size(&r, max_bytes);
	/* who closes when: both as soon as their data is queued (FINs may
	 * cross), or one side only after the peer's FIN (request/response) */
	unsigned policy = (unsigned)sim_rng_below(&r, 3);
	unsigned fallback = 1 + (unsigned)sim_rng_below(&r, 2);
	if (policy == 0 && !SIM_CROSSING_CLOSE)
		policy = fallback;
	if (policy)
		c->close_after_eof[policy - 1] = 1;
	/* one-way delay 50 us .. ~100 ms, log-uniform */
	tcp_time_t delay = (tcp_time_t)(50.0 * pow(2000.0, unit(&r)));
	uint64_t rate = 0;
	uint32_t queue = 0;
	if (sim_rng_below(&r, 2)) {
		rate = 1000000ull * (sim_rng_below(&r, 100) + 1);
		queue = (uint32_t)(16384 + sim_rng_below(&r, 256 * 1024));
	}
	if (sim_rng_below(&r, 8) == 0) {
		c->tcp.timestamps = 0;
	}
	if (sim_rng_below(&r, 8) == 0)
		c->tcp.sack = 0;
	if (sim_rng_below(&r, 8) == 0)
		c->tcp.window_scaling = 0;
	if (sim_rng_below(&r, 4) == 0)
		c->tcp.delayed_ack = 0;
	/* odd MSS values: more, smaller segments */
	if (sim_rng_below(&r, 8) == 0)
		c->tcp.mss = (uint16_t)(88 + sim_rng_below(&r, 1400));
	/* small buffers: window-limited transfers, zero windows */
	if (sim_rng_below(&r, 8) == 0)
		c->tcp.recv_buffer = (uint32_t)(4096 + sim_rng_below(&r, 60000));
	if (sim_rng_below(&r, 8) == 0)
		c->tcp.send_buffer = (uint32_t)(4096 + sim_rng_below(&r, 60000));
	/* a slow reader on one side */
	if (sim_rng_below(&r, 10) == 0) {
		int side = (int)sim_rng_below(&r, 2);
		c->rx_chunk[side] = (uint32_t)(512 + sim_rng_below(&r, 16384));
		c->rx_interval[side] = TCP_MS(1) + sim_rng_below(&r, TCP_MS(50));
	}
	for (int i = 0; i < 2; i++) {
		struct sim_link_params *l = &c->link[i];
		l->delay = delay;
		l->rate_bps = rate;
		l->queue_bytes = queue;
		if (sim_rng_below(&r, 10) < 3)
			l->jitter = sim_rng_below(&r, delay / 2 + 1);
		static const double max_loss[3] = { 0.05, 0.10, 0.15 };
		if (sim_rng_below(&r, 10) >= 3)
			l->loss = unit(&r) * max_loss[hard];
		if (sim_rng_below(&r, 100) < (hard == 2 ? 40 : 15)) {
			l->ge_p_gb = 0.005 + unit(&r) * 0.04;
			l->ge_p_bg = 0.3 + unit(&r) * 0.4;
			l->ge_loss_bad = 0.5 + unit(&r) * (hard ? 0.3 : 0.2);
		}
		if (sim_rng_below(&r, 100) < (hard == 2 ? 40 : 20)) {
			l->reorder = 0.01 + unit(&r) * (hard == 2 ? 0.49 : 0.19);
			l->reorder_delay = sim_rng_below(&r, 2 * delay + 1000) + 1;
		}
		if (sim_rng_below(&r, 100) < 15)
			l->dup = unit(&r) * 0.05;
		if (sim_rng_below(&r, 100) < 15) {
			l->corrupt = unit(&r) * 0.05;
			l->corrupt_deliver = 0.3;
		}
	}
}

static void random_suite(uint64_t first, unsigned count, uint64_t max_bytes, int hard,
			 tcp_time_t limit)
{
	uint64_t only = 0;
	int one = env_seed(&only);
	/* SIM_SCALE=n runs n times as many seeds (a longer soak); a fraction
	 * runs fewer (0.05 under valgrind), at least one */
	const char *scale = getenv("SIM_SCALE");
	if (scale && strtod(scale, NULL) > 0) {
		double n = (double)count * strtod(scale, NULL);
		count = n < 1 ? 1u : n > 1e9 ? 1000000000u : (unsigned)n;
	}
	if (one) {
		/* suites own 100000 seeds each: run SIM_SEED in the suite it
		 * belongs to, whatever SIM_SCALE was when it failed */
		if (only < first || only >= first + 100000)
			return;
		first = only;
		count = 1;
	}
	unsigned failed = 0, ran = 0;
	uint64_t bytes = 0, rtx = 0, lost = 0, mangled = 0, events = 0;
	double vtime = 0;
	for (unsigned k = 0; k < count; k++) {
		uint64_t seed = first + k;
		struct sim_config c;
		random_config(&c, seed, max_bytes, hard);
		ran++;
		struct outcome o;
		int ok = run_transfer(&c, limit, &o);
		bytes += (c.bytes[0] + c.bytes[1]) * (c.nconn ? c.nconn : 1);
		events += o.steps;
		vtime += (double)o.duration / 1e6;
		for (int i = 0; i < 2; i++) {
			rtx += o.stats[i].RetransSegs;
			lost += o.st[i].lost_random + o.st[i].lost_burst + o.st[i].lost_queue;
			mangled += o.st[i].corrupt_delivered;
		}
		if (!ok) {
			failed++;
			if (failed >= 5 && !getenv("SIM_ALL"))
				break; /* enough to debug with (SIM_ALL=1: run all) */
		}
	}
	printf("     %u transfers, %llu bytes, %llu datagrams lost, %llu mangled delivered, "
	       "%llu retransmitted segments, %.0f s virtual, %llu events\n",
	       ran, (unsigned long long)bytes, (unsigned long long)lost,
	       (unsigned long long)mangled, (unsigned long long)rtx, vtime,
	       (unsigned long long)events);
	if (failed) {
		TT_FAIL_("%u of %u seeded transfers failed", failed, ran);
		return;
	}
	TT_ASSERT(ran > 0);
}

TT_TEST(sim_random_short_transfers)
{
	/* 6000 short transfers, up to 64 KiB each way, moderate impairments */
	random_suite(1, 6000, 64 * 1024, 0, TCP_SEC(900));
}

TT_TEST(sim_random_short_transfers_hard)
{
	/* 2000 more with up to 10 % random loss and denser bursts */
	random_suite(100001, 2000, 32 * 1024, 1, TCP_SEC(1800));
}

TT_TEST(sim_random_short_transfers_extreme)
{
	/* 500 with up to 15 % loss, frequent bursts, heavy reordering; SYN
	 * retries raised so a 7-times-lost handshake (likely enough at these
	 * rates) does not end a run that is otherwise fine */
	random_suite(300001, 500, 16 * 1024, 2, TCP_SEC(3600));
}

TT_TEST(sim_random_parallel_transfers)
{
	/* 500 runs of 2 to 8 simultaneous connections between the stacks */
	random_suite(400001, 500, 32 * 1024, 0, TCP_SEC(1800));
}

TT_TEST(sim_random_bulk_transfers)
{
	/* 100 bulk transfers, up to 4 MiB each way */
	random_suite(200001, 100, 4u << 20, 0, TCP_SEC(3600));
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

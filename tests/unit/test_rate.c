/*
 * test_rate.c - delivery rate estimation (draft-ietf-ccwg-bbr section 4.1,
 * tcp_rate.h) on the engine's transmission record (tcp_rack.h): the
 * per-segment snapshots taken at send, rate samples from cumulative ACKs
 * and SACK blocks (each byte delivered once, the newest segment's
 * snapshot used), the send-rate cap, the min_rtt filter on the interval,
 * application-limited marking and its end, loss counting.
 *
 * Every expectation is computed here from the draft's formulas with the
 * literal times and sizes of the scenario.
 */
#include <string.h>

#include "tcp_cc.h"
#include "tcp_rack.h"
#include "tt.h"

#define MSS 1000u
#define ISS 5000u

struct rig {
	struct tcp_rack r;
	struct tcp_cc cc;
	uint32_t una, nxt;
};

static void rig_init(struct rig *g)
{
	memset(g, 0, sizeof *g);
	tcp_rack_init(&g->r);
	g->r.cc = &g->cc;
	g->una = g->nxt = ISS;
}

/* One new segment of MSS bytes at time t, as the engine's glue does it
 * (tcp_rack_sent): idle before?  C.inflight after. */
static void send_seg(struct rig *g, tcp_time_t t)
{
	int idle = tcp_rack_pipe(&g->r, g->una, g->nxt) == 0;
	tcp_rack_on_send(&g->r, g->nxt, MSS, g->nxt, t);
	uint32_t seq = g->nxt;
	g->nxt += MSS;
	tcp_rack_rate_stamp(&g->r, seq, MSS, t, idle, tcp_rack_pipe(&g->r, g->una, g->nxt));
}

/* An ACK at time t: cumulative up to una, plus SACK blocks (pairs). */
static int ack(struct rig *g, tcp_time_t t, uint32_t una, const uint32_t *blk, unsigned n,
	       tcp_time_t min_rtt)
{
	tcp_rate_sample_init(&g->cc.rs);
	tcp_rack_ack_start(&g->r, t, 0, 0, 0);
	if (una != g->una) {
		tcp_rack_cum_ack(&g->r, una);
		g->una = una;
	}
	for (unsigned i = 0; i < n; i++)
		tcp_rack_sacked(&g->r, blk[2 * i], blk[2 * i + 1]);
	tcp_rack_ack_done(&g->r);
	return tcp_rate_generate(&g->cc.rate, &g->cc.rs, min_rtt);
}

TT_TEST(rate_cumulative_ack)
{
	struct rig g;
	rig_init(&g);
	/* ten segments 1 ms apart from idle at t = 0 */
	for (int i = 0; i < 10; i++)
		send_seg(&g, TCP_MS(i));
	/* the snapshot: the first send started the interval ("if
	 * (C.inflight == 0) C.first_send_time = C.delivered_time =
	 * P.send_time"), nothing was delivered yet, tx_in_flight includes P */
	TT_EQ(g.r.q[0].rs.delivered, 0);
	TT_EQ(g.r.q[9].rs.first_send_time, 0);
	TT_EQ(g.r.q[9].rs.delivered_time, 0);
	TT_EQ(g.r.q[9].rs.tx_in_flight, 10 * MSS);
	TT_EQ(g.r.q[0].rs.tx_in_flight, MSS);
	/* all acknowledged at t = 50 ms */
	TT_EQ(ack(&g, TCP_MS(50), ISS + 10 * MSS, NULL, 0, TCP_MS(40)), 1);
	struct tcp_rate_sample *rs = &g.cc.rs;
	TT_EQ(g.cc.rate.delivered, 10 * MSS);
	TT_EQ(rs->newly_acked, 10 * MSS);
	TT_EQ(rs->delivered, 10 * MSS);
	/* newest packet: the tenth, sent at 9 ms: send_elapsed = 9 ms -
	 * 0, ack_elapsed = 50 ms - 0; interval = the longer */
	TT_EQ(rs->send_elapsed, TCP_MS(9));
	TT_EQ(rs->ack_elapsed, TCP_MS(50));
	TT_EQ(rs->interval, TCP_MS(50));
	TT_ASSERT(rs->delivery_rate == 10.0 * MSS * 1e6 / 50000.0);
	/* RS.rtt: the most recently sent segment delivered, 50 - 9 ms */
	TT_EQ(rs->has_rtt, 1);
	TT_EQ(rs->rtt, TCP_MS(41));
	TT_EQ(rs->is_app_limited, 0);
	/* the next flight starts from this ACK's knee: C.first_send_time is
	 * the newest delivered send, C.delivered_time now */
	TT_EQ(g.cc.rate.first_send_time, TCP_MS(9));
	TT_EQ(g.cc.rate.delivered_time, TCP_MS(50));
	tcp_rack_free(&g.r);
}

TT_TEST(rate_send_rate_caps_ack_rate)
{
	/* 4.1.1.2.4 "delivery_rate = min(send_rate, ack_rate)": a flight sent
	 * over 40 ms and acknowledged 5 ms after its last send takes the send
	 * interval */
	struct rig g;
	rig_init(&g);
	send_seg(&g, 0); /* from idle: the interval starts at 0 */
	send_seg(&g, 0);
	/* the first is acknowledged at 10 ms, the second stays in flight:
	 * the next sends are not from idle */
	TT_EQ(ack(&g, TCP_MS(10), ISS + MSS, NULL, 0, 0), 1);
	for (int i = 0; i < 4; i++)
		send_seg(&g, TCP_MS(10) * (tcp_time_t)(i + 1)); /* 10..40 ms */
	/* each snapshot: delivered 1 MSS at the 10 ms knee; first_send_time =
	 * the newest send delivered (0) */
	TT_EQ(g.r.q[g.r.head + 1].rs.delivered, MSS);
	TT_EQ(g.r.q[g.r.head + 1].rs.delivered_time, TCP_MS(10));
	TT_EQ(g.r.q[g.r.head + 1].rs.first_send_time, 0);
	TT_EQ(ack(&g, TCP_MS(45), ISS + 6 * MSS, NULL, 0, 0), 1);
	struct tcp_rate_sample *rs = &g.cc.rs;
	TT_EQ(rs->delivered, 5 * MSS);        /* C.delivered 6 - P.delivered 1 */
	TT_EQ(rs->send_elapsed, TCP_MS(40));  /* 40 ms - first_send_time 0 */
	TT_EQ(rs->ack_elapsed, TCP_MS(35));   /* 45 - 10 ms */
	TT_EQ(rs->interval, TCP_MS(40));
	TT_ASSERT(rs->delivery_rate == 5.0 * MSS * 1e6 / 40000.0);
	tcp_rack_free(&g.r);
}

TT_TEST(rate_sack_then_cumulative)
{
	struct rig g;
	rig_init(&g);
	for (int i = 0; i < 10; i++)
		send_seg(&g, TCP_MS(i));
	/* segment 0 lost: the peer SACKs 1..9 at 30 ms */
	uint32_t blk[2] = { ISS + MSS, ISS + 10 * MSS };
	TT_EQ(ack(&g, TCP_MS(30), ISS, blk, 1, TCP_MS(20)), 1);
	struct tcp_rate_sample *rs = &g.cc.rs;
	TT_EQ(rs->newly_acked, 9 * MSS);
	TT_EQ(g.cc.rate.delivered, 9 * MSS);
	TT_EQ(rs->delivered, 9 * MSS);
	TT_EQ(rs->interval, TCP_MS(30));
	TT_EQ(rs->rtt, TCP_MS(21)); /* segment 9: 30 - 9 ms */
	/* the hole is retransmitted at 31 ms: a new snapshot, C.delivered 9 */
	tcp_rack_on_send(&g.r, ISS, MSS, g.nxt, TCP_MS(31));
	tcp_rack_rate_stamp(&g.r, ISS, MSS, TCP_MS(31), 0, tcp_rack_pipe(&g.r, g.una, g.nxt));
	TT_EQ(g.r.q[0].rs.delivered, 9 * MSS);
	TT_EQ(g.r.q[0].rs.delivered_time, TCP_MS(30));
	/* the cumulative ACK at 52 ms covers all: only the retransmitted
	 * segment is new (the SACKed ones are not counted twice) */
	TT_EQ(ack(&g, TCP_MS(52), ISS + 10 * MSS, NULL, 0, TCP_MS(20)), 1);
	TT_EQ(rs->newly_acked, MSS);
	TT_EQ(g.cc.rate.delivered, 10 * MSS);
	TT_EQ(rs->delivered, MSS);             /* 10 - 9 at its send */
	TT_EQ(rs->ack_elapsed, TCP_MS(22));    /* 52 - 30 ms */
	TT_EQ(rs->send_elapsed, TCP_MS(22));   /* 31 - 9 ms (first_send_time) */
	TT_EQ(rs->interval, TCP_MS(22));
	tcp_rack_free(&g.r);
}

TT_TEST(rate_interval_below_min_rtt_no_sample)
{
	struct rig g;
	rig_init(&g);
	send_seg(&g, 0);
	send_seg(&g, 0);
	/* 4.1.2.3: "if (RS.interval < C.min_rtt) return" - no rate, though
	 * the data counts as delivered */
	TT_EQ(ack(&g, TCP_MS(5), ISS + 2 * MSS, NULL, 0, TCP_MS(10)), 0);
	TT_ASSERT(g.cc.rs.delivery_rate == 0.0);
	TT_EQ(g.cc.rate.delivered, 2 * MSS);
	/* an ACK that delivers nothing is no sample either */
	TT_EQ(ack(&g, TCP_MS(6), ISS + 2 * MSS, NULL, 0, 0), 0);
	TT_EQ(g.cc.rs.has_data, 0);
	tcp_rack_free(&g.r);
}

TT_TEST(rate_app_limited_marking)
{
	struct tcp_rate c;
	memset(&c, 0, sizeof c);
	c.delivered = 50000;
	/* 4.1.2.4: every condition must hold */
	tcp_rate_check_app_limited(&c, MSS, MSS, 0, 10 * MSS, 0); /* a full MSS unsent */
	TT_EQ(c.app_limited, 0);
	tcp_rate_check_app_limited(&c, 10, MSS, 10 * MSS, 10 * MSS, 0); /* cwnd full */
	TT_EQ(c.app_limited, 0);
	tcp_rate_check_app_limited(&c, 10, MSS, 0, 10 * MSS, 1); /* loss to repair */
	TT_EQ(c.app_limited, 0);
	tcp_rate_check_app_limited(&c, 10, MSS, 3 * MSS, 10 * MSS, 0);
	TT_EQ(c.app_limited, 50000 + 3 * MSS); /* "(C.delivered + C.inflight) ? : 1" */
	memset(&c, 0, sizeof c);
	tcp_rate_check_app_limited(&c, 0, MSS, 0, MSS, 0);
	TT_EQ(c.app_limited, 1);
}

TT_TEST(rate_app_limited_samples_until_bubble_acked)
{
	struct rig g;
	rig_init(&g);
	send_seg(&g, 0);
	send_seg(&g, 0);
	/* the application has nothing more: the bubble ends once what is in
	 * flight (2 MSS) is delivered */
	tcp_rate_check_app_limited(&g.cc.rate, 0, MSS, tcp_rack_pipe(&g.r, g.una, g.nxt), 10 * MSS, 0);
	TT_EQ(g.cc.rate.app_limited, 2 * MSS);
	send_seg(&g, TCP_MS(1)); /* sent while app-limited */
	TT_EQ(g.r.q[2].rs.is_app_limited, 1);
	TT_EQ(g.r.q[0].rs.is_app_limited, 0);
	/* the first two delivered: C.delivered = 2 MSS, not past the mark */
	TT_EQ(ack(&g, TCP_MS(20), ISS + 2 * MSS, NULL, 0, 0), 1);
	TT_EQ(g.cc.rs.is_app_limited, 0);
	TT_EQ(g.cc.rate.app_limited, 2 * MSS);
	/* the third: its sample is app-limited; C.delivered passes the mark,
	 * the bubble is gone */
	TT_EQ(ack(&g, TCP_MS(21), ISS + 3 * MSS, NULL, 0, 0), 1);
	TT_EQ(g.cc.rs.is_app_limited, 1);
	TT_EQ(g.cc.rate.app_limited, 0);
	tcp_rack_free(&g.r);
}

static unsigned lost_calls;
static uint32_t lost_size;
static uint32_t lost_tx_in_flight;
static uint64_t lost_c_lost;

static void count_lost(struct tcp_cc *cc, const struct tcp_rate_pkt *p, uint32_t size,
		       tcp_time_t now)
{
	(void)now;
	lost_calls++;
	lost_size += size;
	lost_tx_in_flight = p->tx_in_flight;
	lost_c_lost = cc->rate.lost;
}

TT_TEST(rate_losses_counted_and_reported)
{
	static const struct tcp_cc_ops ops = { .name = "test", .on_packet_lost = count_lost };
	struct rig g;
	rig_init(&g);
	g.cc.ops = &ops;
	for (int i = 0; i < 6; i++)
		send_seg(&g, TCP_MS(i));
	/* 0 and 1 missing, 2..5 SACKed at 30 ms; RACK (reo_wnd 0) marks the
	 * two lost at once: RACK.rtt = 30 - 5 ms and both were sent before */
	uint32_t blk[2] = { ISS + 2 * MSS, ISS + 6 * MSS };
	ack(&g, TCP_MS(30), ISS, blk, 1, 0);
	uint32_t newly;
	g.r.reo_wnd = 0;
	tcp_rack_detect_loss(&g.r, TCP_MS(30), &newly);
	TT_EQ(newly, 2 * MSS);
	TT_EQ(g.cc.rate.lost, 2 * MSS);
	TT_EQ(g.cc.rs.newly_lost, 2 * MSS);
	TT_EQ(lost_calls, 2);
	TT_EQ(lost_size, 2 * MSS);
	TT_EQ(lost_tx_in_flight, 2 * MSS); /* the second segment's snapshot */
	TT_EQ(lost_c_lost, 2 * MSS);       /* counted before the hook */
	/* a segment sent after the losses carries C.lost: RS.lost of its
	 * sample counts only later losses */
	send_seg(&g, TCP_MS(31));
	TT_EQ(g.r.q[6].rs.lost, 2 * MSS);
	tcp_rack_free(&g.r);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

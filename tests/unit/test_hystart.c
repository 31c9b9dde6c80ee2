/*
 * test_hystart.c - HyStart++ (RFC 9406) in CUBIC's first slow start,
 * through the engine: a scripted receiver acknowledges every segment one
 * RTT after it was sent, the RTT rising from 10 ms to 30 ms for what is
 * sent from T0 + 20 ms on (a queue building up).
 */
#include "peer.h"

#define QN 4096

/* A sends (CUBIC, MSS 1000, timestamps, window scaling); every segment
 * is acknowledged at its send time + rtt_of(send time). */
struct run {
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	struct { uint32_t ack, tsecr; tcp_time_t due; } q[QN];
	unsigned qh, qt;
	/* the cwnd growth of the first ACK after HyStart++ entered CSS */
	uint32_t css_first_inc;
	int css_seen;
	uint32_t ss_inc_max;            /* largest growth per ACK before it */
};

static tcp_time_t rtt_of(tcp_time_t sent)
{
	return sent < T0 + TCP_MS(20) ? TCP_MS(10) : TCP_MS(30);
}

static char data[1 << 20];

/* Keep the send buffer full (the application is never the limit), then
 * note the segments A sent. */
static void take(struct run *r, tcp_time_t now)
{
	while (tcp_send(r->c, data, sizeof data, now) > 0)
		;
	while (host_pop(&r->a)) {
		if (!r->a.seg.len || r->qt >= QN)
			continue;
		r->q[r->qt].ack = r->a.seg.seq + (uint32_t)r->a.seg.len;
		r->q[r->qt].tsecr = r->a.seg.tsval;
		r->q[r->qt].due = now + rtt_of(now);
		r->qt++;
	}
}

static int start(struct run *r, int hystart)
{
	memset(r, 0, sizeof *r);
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.cc = TCP_CC_CUBIC;
	cfg.hystart = hystart;
	cfg.send_buffer = 1 << 20;
	cfg.mss = 1012; /* SMSS 1000 with the 12 octets of TSopt */
	int err = fx_active(&r->a, &r->p, &r->c, .cfg = &cfg, .ts = 1, .tsval = 1, .ws = 1,
			    .wscale = 4, .mss = 1012, .wnd = 60000);
	if (err)
		return err;
	take(r, T0);
	return 0;
}

/* Deliver ACKs in order until `until` or until ssthresh is set; note
 * the growth per ACK in slow start and at the first ACK in CSS. */
static void run_acks(struct run *r, tcp_time_t until)
{
	while (r->qh < r->qt && r->q[r->qh].due <= until) {
		struct tcp_conn_info before, after;
		tcp_conn_info(r->c, &before);
		uint64_t css = host_stats(&r->a).HystartCss;
		tcp_time_t now = r->q[r->qh].due;
		peer_send(&r->p, .ack = r->q[r->qh].ack, .tsval = (uint32_t)(now / 1000),
			  .tsecr = r->q[r->qh].tsecr, .now = now);
		r->qh++;
		tcp_conn_info(r->c, &after);
		uint32_t inc = after.cwnd - before.cwnd;
		if (r->css_seen == 1) {
			r->css_first_inc = inc;
			r->css_seen = 2;
		}
		if (!r->css_seen && host_stats(&r->a).HystartCss > css)
			r->css_seen = 1;
		else if (!r->css_seen && inc > r->ss_inc_max)
			r->ss_inc_max = inc;
		take(r, now);
		if (after.ssthresh != UINT32_MAX)
			return;
	}
}

/* RFC 9406 4.2: a round is a window (windowEnd = SND.NXT when it began):
 * the rounds up to the one ACKed at 50 ms see 10 ms, the next 30 ms >=
 * 10 ms + RttThresh
 * (max(4 ms, min(10 ms / 8, 16 ms)) = 4 ms) after N_RTT_SAMPLE = 8
 * samples: slow start gives way to CSS, where an ACK of one segment grows
 * cwnd by SMSS / CSS_GROWTH_DIVISOR = 250 instead of 1000; ssthresh stays
 * at its initial value until CSS_ROUNDS = 5 rounds are over, then
 * congestion avoidance begins at ssthresh = cwnd, without a loss. */
TT_TEST(hystart_rtt_increase_enters_css)
{
	static struct run r;
	TT_EQ(start(&r, 1), 0);
	run_acks(&r, T0 + TCP_MS(90));
	TT_EQ(host_stats(&r.a).HystartCss, 1);
	TT_EQ(r.css_seen, 2);
	TT_EQ(r.ss_inc_max, 1000);
	TT_EQ(r.css_first_inc, 250);
	struct tcp_conn_info info;
	tcp_conn_info(r.c, &info);
	TT_EQ(info.ssthresh, UINT32_MAX); /* CSS is still slow start */
	TT_EQ(info.retransmits, 0);
	/* five CSS rounds of 30 ms later: congestion avoidance, no loss */
	run_acks(&r, T0 + TCP_MS(400));
	tcp_conn_info(r.c, &info);
	TT_ASSERT(info.ssthresh != UINT32_MAX);
	TT_EQ(info.ssthresh, info.cwnd);
	TT_EQ(info.retransmits, 0);
	TT_EQ(host_stats(&r.a).HystartCss, 1);
	host_free(&r.a);
}

/* hystart = 0: the same RTT rise leaves standard slow start alone (one
 * SMSS per ACK of one segment, RFC 5681 3.1). */
TT_TEST(hystart_off_keeps_slow_start)
{
	static struct run r;
	TT_EQ(start(&r, 0), 0);
	run_acks(&r, T0 + TCP_MS(90));
	TT_EQ(host_stats(&r.a).HystartCss, 0);
	TT_EQ(r.css_seen, 0);
	TT_EQ(r.ss_inc_max, 1000);
	struct tcp_conn_info info;
	tcp_conn_info(r.c, &info);
	TT_EQ(info.ssthresh, UINT32_MAX);
	host_free(&r.a);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

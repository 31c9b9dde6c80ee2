/*
 * test_zero_window.c - zero-window probing is not loss recovery.
 *
 * RFC 9293 3.8.6.1: "The transmitting host SHOULD send the first
 * zero-window probe when a zero window has existed for the retransmission
 * timeout period (SHLD-29) ... and SHOULD increase exponentially the
 * interval between successive probes (SHLD-30)."  RFC 1122 4.2.2.17: a
 * probe that is not answered is no reason to give up, and nothing in
 * either text makes it a congestion signal.  So a long zero window must not
 * leave the sender in RTO recovery: when the receiver's window update
 * arrives, sending resumes from SND.UNA (the refused probe octet) within
 * one round trip, without waiting for a backed-off retransmission timer,
 * and later duplicate ACKs still start fast retransmit.
 *
 * Each test runs two engine stacks over a virtual link (one-way delay
 * DELAY) for 60 s of virtual time with a receiver that does not read,
 * then lets it read.
 */
#include "peer.h"

#define DELAY TCP_MS(10) /* one way: RTT 20 ms */
#define RTT (2 * DELAY)
#define PAUSE TCP_SEC(60)

struct wire_pkt {
	int to_b;
	tcp_time_t at;
	size_t len;
	uint8_t buf[1600];
};

#define WIRE_MAX 1024

/* The two stacks, the link between them and the applications. */
struct zsim {
	struct host a, b; /* a sends, b receives */
	struct tcp_conn *ca, *cb;
	tcp_time_t now;
	struct wire_pkt wire[WIRE_MAX];
	unsigned nwire;
	size_t total, sent, recvd;
	int bad;
	tcp_time_t open_at;           /* b starts reading */
	/* faults */
	int drop_probes;              /* a->b one-octet segments before open_at */
	int drop_first_update;        /* b's first window update after open_at */
	int drop_first_resume;        /* a's first data segment at resume_seq */
	/* what happened */
	unsigned probes_sent;         /* a->b one-octet segments before open_at */
	uint32_t resume_seq;          /* b's RCV.NXT when it starts reading */
	tcp_time_t update_at;         /* b sends its first window update */
	tcp_time_t update_rcvd_at;    /* ... and a gets it (or a later one) */
	tcp_time_t resume_at;         /* a sends a segment at resume_seq */
	uint32_t resume_len;
	tcp_time_t hole_filled_at;    /* b's RCV.NXT passes resume_seq */
	tcp_time_t done_at;
	int dropped_update, dropped_resume;
};

static void zsim_config(struct tcp_config *cfg, int options)
{
	peer_plain_config(cfg);
	cfg->rto_min = TCP_MS(200); /* the daemon's default */
	cfg->rto_max = TCP_SEC(60);
	cfg->recv_buffer = 4096;
	cfg->send_buffer = 65536;
	if (options) {
		cfg->sack = 1;
		cfg->timestamps = 1;
		cfg->mss = 1452;
		cfg->recv_buffer = 16384;
	}
}

/* Wire every segment the hosts emitted at `now`, applying the faults. */
static void zsim_collect(struct zsim *z)
{
	struct host *hs[2] = { &z->a, &z->b };
	for (int i = 0; i < 2; i++) {
		struct host *h = hs[i];
		while (host_pop(h)) {
			const struct tcp_seg *sg = &h->seg;
			int before_open = z->now < z->open_at;
			if (h == &z->a && sg->len == 1 && before_open)
				z->probes_sent++;
			if (h == &z->a && !before_open && sg->len && sg->seq == z->resume_seq && !z->resume_at) {
				z->resume_at = z->now;
				z->resume_len = (uint32_t)sg->len;
				if (z->drop_first_resume) {
					z->dropped_resume = 1;
					continue;
				}
			}
			if (h == &z->b && !before_open && !z->update_at && sg->wnd) {
				z->update_at = z->now;
				if (z->drop_first_update) {
					z->dropped_update = 1;
					continue;
				}
			}
			if (h == &z->a && sg->len == 1 && before_open && z->drop_probes)
				continue;
			if (z->nwire >= WIRE_MAX || h->seglen > sizeof z->wire[0].buf)
				continue;
			struct wire_pkt *p = &z->wire[z->nwire++];
			p->to_b = h == &z->a;
			p->at = z->now + DELAY;
			p->len = h->seglen;
			memcpy(p->buf, h->segbuf, h->seglen);
		}
	}
}

/* The applications: a writes what fits, b reads from open_at on. */
static void zsim_apps(struct zsim *z)
{
	uint8_t buf[8192];
	while (z->sent < z->total) {
		size_t n = z->total - z->sent;
		if (n > sizeof buf)
			n = sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = peer_pattern(z->sent + i);
		ssize_t r = tcp_send(z->ca, buf, n, z->now);
		if (r <= 0)
			break;
		z->sent += (size_t)r;
	}
	if (z->now < z->open_at)
		return;
	if (!z->resume_seq) {
		struct tcp_conn_info ib;
		tcp_conn_info(z->cb, &ib);
		z->resume_seq = ib.rcv_nxt;
	}
	for (;;) {
		ssize_t r = tcp_recv(z->cb, buf, sizeof buf, z->now);
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != peer_pattern(z->recvd + (size_t)i))
				z->bad = 1;
		z->recvd += (size_t)r;
	}
	if (z->recvd == z->total && !z->done_at)
		z->done_at = z->now;
}

/* Run until `until`: deliveries, timers and applications in time order. */
static void zsim_run(struct zsim *z, tcp_time_t until)
{
	for (unsigned guard = 0; guard < 1000000; guard++) {
		zsim_apps(z);
		zsim_collect(z);
		if (z->resume_seq && !z->hole_filled_at) {
			struct tcp_conn_info ib;
			tcp_conn_info(z->cb, &ib);
			if (seq_gt(ib.rcv_nxt, z->resume_seq))
				z->hole_filled_at = z->now;
		}
		tcp_time_t next = TCP_TIME_NEVER;
		for (unsigned i = 0; i < z->nwire; i++)
			if (z->wire[i].at < next)
				next = z->wire[i].at;
		tcp_time_t da = tcp_next_deadline(z->a.s), db = tcp_next_deadline(z->b.s);
		if (da < next)
			next = da;
		if (db < next)
			next = db;
		if (z->now < z->open_at && z->open_at < next)
			next = z->open_at;
		if (next == TCP_TIME_NEVER || next > until)
			break;
		if (next > z->now)
			z->now = next;
		/* in the order they were sent (the link does not reorder) */
		unsigned keep = 0, n = z->nwire;
		for (unsigned i = 0; i < n; i++) {
			if (z->wire[i].at > z->now) {
				if (keep != i)
					z->wire[keep] = z->wire[i];
				keep++;
				continue;
			}
			struct wire_pkt p = z->wire[i];
			struct host *to = p.to_b ? &z->b : &z->a;
			struct host *from = p.to_b ? &z->a : &z->b;
			if (!p.to_b && z->update_at && !z->update_rcvd_at) {
				struct tcp_seg sg;
				if (tcp_seg_parse(&sg, p.buf, p.len) == 0 && sg.wnd)
					z->update_rcvd_at = z->now;
			}
			tcp_input(to->s, &from->ep, p.buf, p.len, z->now);
		}
		z->nwire = keep;
		tcp_timeout(z->a.s, z->now);
		tcp_timeout(z->b.s, z->now);
	}
}

static int zsim_init(struct zsim *z, const struct tcp_config *cfg, size_t total)
{
	memset(z, 0, sizeof *z);
	if (host_init(&z->a, 1, cfg) || host_init(&z->b, 2, cfg))
		return -1;
	if (pair_establish(&z->a, &z->b, 99, 299, 1000, 80, T0, &z->ca, &z->cb))
		return -2;
	z->now = T0;
	z->total = total;
	z->open_at = T0 + PAUSE;
	return 0;
}

static void zsim_free(struct zsim *z)
{
	host_free(&z->a);
	host_free(&z->b);
}

/* The common scenario: 60 s of zero window, then the receiver reads.
 * Checks that the window filled, that probes went out with backoff, and
 * that they left congestion control alone. */
static int zero_window_pause(struct zsim *z, struct tcp_conn_info *before)
{
	/* fill the window */
	zsim_run(z, T0 + TCP_SEC(2));
	struct tcp_conn_info ia, ib;
	tcp_conn_info(z->ca, &ia);
	tcp_conn_info(z->cb, &ib);
	if (ia.snd_wnd != 0 || ib.rcv_wnd != 0 || ib.recv_queue == 0)
		return -1;
	*before = ia;
	/* the zero window lasts PAUSE */
	zsim_run(z, z->open_at - 1);
	if (z->recvd != 0)
		return -2;
	return 0;
}

/* 60 s of zero window answered probe by probe; when the window opens the
 * refused probe octet and what follows it go out within one RTT of the
 * window update, from SND.UNA; no retransmission timeout, no fast
 * retransmit, cwnd and ssthresh as before the pause. */
static void resume_within_one_rtt(int options)
{
	struct tcp_config cfg;
	zsim_config(&cfg, options);
	struct zsim *z = calloc(1, sizeof *z);
	TT_ASSERT(z != NULL);
	TT_EQ(zsim_init(z, &cfg, 200000), 0);
	struct tcp_conn_info before;
	TT_EQ(zero_window_pause(z, &before), 0);
	struct tcp_stats st0 = host_stats(&z->a);
	/* probes with exponential backoff (RFC 9293 3.8.6.1 SHLD-30): a
	 * handful in 60 s, not one per RTO */
	TT_ASSERT(st0.ZeroWindowProbes >= 5);
	TT_ASSERT(st0.ZeroWindowProbes <= 12);
	TT_EQ(z->probes_sent, st0.ZeroWindowProbes);
	TT_EQ(st0.Timeouts, 0);
	TT_EQ(st0.FastRetransmits, 0);
	struct tcp_conn_info mid;
	tcp_conn_info(z->ca, &mid);
	TT_EQ(mid.cwnd, before.cwnd);
	TT_EQ(mid.ssthresh, before.ssthresh);
	EXPECT_STATE(z->ca, TCP_S_ESTABLISHED);

	zsim_run(z, z->open_at + TCP_SEC(10));
	TT_ASSERT(z->update_at >= z->open_at);
	TT_EQ(z->update_rcvd_at, z->update_at + DELAY);
	/* the sender answers the window update at once, from SND.UNA */
	TT_ASSERT(z->resume_at != 0);
	TT_EQ(z->resume_at, z->update_rcvd_at);
	TT_ASSERT(z->resume_len > 1);
	TT_ASSERT(z->hole_filled_at <= z->update_at + RTT);
	TT_EQ(z->recvd, z->total);
	TT_EQ(z->bad, 0);
	/* 200 kB through a 4 or 16 kB window: a few dozen RTTs, nowhere near
	 * a probe interval */
	TT_ASSERT(z->done_at - z->open_at < TCP_SEC(3));
	struct tcp_stats st1 = host_stats(&z->a);
	TT_EQ(st1.Timeouts, 0);
	TT_EQ(st1.FastRetransmits, 0);
	TT_EQ(st1.ZeroWindowProbes, st0.ZeroWindowProbes);
	/* only the probe octet was sent twice */
	TT_EQ(st1.RetransSegs, st0.RetransSegs + 1);
	zsim_free(z);
	free(z);
}

TT_TEST(zero_window_60s_resume_within_one_rtt)
{
	resume_within_one_rtt(0);
}

TT_TEST(zero_window_60s_resume_within_one_rtt_sack_ts)
{
	resume_within_one_rtt(1);
}

/* Every probe is lost: the receiver never answers one, and its window
 * update alone restarts the transfer, from SND.UNA within one RTT. */
TT_TEST(zero_window_lost_probes_resume_within_one_rtt)
{
	for (int options = 0; options < 2; options++) {
		struct tcp_config cfg;
		zsim_config(&cfg, options);
		struct zsim *z = calloc(1, sizeof *z);
		TT_ASSERT(z != NULL);
		TT_EQ(zsim_init(z, &cfg, 100000), 0);
		z->drop_probes = 1;
		struct tcp_conn_info before;
		TT_EQ(zero_window_pause(z, &before), 0);
		TT_ASSERT(z->probes_sent >= 5);
		struct tcp_stats st0 = host_stats(&z->a);
		TT_EQ(st0.Timeouts, 0);
		struct tcp_conn_info mid;
		tcp_conn_info(z->ca, &mid);
		TT_EQ(mid.cwnd, before.cwnd);
		zsim_run(z, z->open_at + TCP_SEC(10));
		TT_ASSERT(z->update_rcvd_at != 0);
		TT_EQ(z->resume_at, z->update_rcvd_at);
		TT_ASSERT(z->hole_filled_at <= z->update_at + RTT);
		TT_EQ(z->recvd, z->total);
		TT_EQ(z->bad, 0);
		TT_EQ(host_stats(&z->a).Timeouts, 0);
		zsim_free(z);
		free(z);
	}
}

/* The window update is lost: the sender learns of the open window from
 * the answer to its next probe (the receiver takes the octet) and goes on
 * at once - the probe interval is the only wait, as RFC 9293 3.8.6.1
 * intends ("the window ... may be reopened by an ACK that is lost"). */
TT_TEST(zero_window_lost_update_next_probe_resumes)
{
	struct tcp_config cfg;
	zsim_config(&cfg, 1);
	struct zsim *z = calloc(1, sizeof *z);
	TT_ASSERT(z != NULL);
	TT_EQ(zsim_init(z, &cfg, 100000), 0);
	z->drop_first_update = 1;
	struct tcp_conn_info before;
	TT_EQ(zero_window_pause(z, &before), 0);
	zsim_run(z, z->open_at + TCP_SEC(120));
	TT_EQ(z->dropped_update, 1);
	TT_EQ(z->recvd, z->total);
	TT_EQ(z->bad, 0);
	/* the next probe is taken: its ACK reopens the window and the rest
	 * follows without any retransmission timeout */
	TT_ASSERT(z->hole_filled_at > z->update_at);
	struct tcp_stats st = host_stats(&z->a);
	TT_EQ(st.Timeouts, 0);
	TT_EQ(st.FastRetransmits, 0);
	struct tcp_conn_info after;
	tcp_conn_info(z->ca, &after);
	TT_ASSERT(after.cwnd >= before.cwnd);
	/* the probe interval never exceeds RTO max */
	TT_ASSERT(z->hole_filled_at - z->update_at <= cfg.rto_max + RTT);
	TT_ASSERT(z->done_at - z->hole_filled_at < TCP_SEC(3));
	zsim_free(z);
	free(z);
}

/* The first segment after the window opens is lost: the duplicate ACKs
 * (with SACK blocks, or without SACK three plain ones) that the segments
 * behind it draw start fast retransmit - the probe timeouts did not set
 * RFC 6582 "recover" or reset the RFC 6675 scoreboard as a retransmission
 * timeout does, so the hole is repaired in about one RTT instead of after
 * a backed-off RTO. */
TT_TEST(zero_window_then_loss_fast_retransmit)
{
	for (int options = 0; options < 2; options++) {
		struct tcp_config cfg;
		zsim_config(&cfg, options);
		cfg.recv_buffer = 16384; /* room for three segments behind the hole */
		struct zsim *z = calloc(1, sizeof *z);
		TT_ASSERT(z != NULL);
		TT_EQ(zsim_init(z, &cfg, 200000), 0);
		z->drop_first_resume = 1;
		struct tcp_conn_info before;
		TT_EQ(zero_window_pause(z, &before), 0);
		zsim_run(z, z->open_at + TCP_SEC(10));
		TT_EQ(z->dropped_resume, 1);
		TT_EQ(z->resume_at, z->update_rcvd_at);
		struct tcp_stats st = host_stats(&z->a);
		TT_EQ(st.FastRetransmits, 1);
		TT_EQ(st.Timeouts, 0);
		/* the lost segment, the duplicate ACKs one RTT later, the
		 * retransmission half an RTT after that */
		TT_ASSERT(z->hole_filled_at <= z->update_at + 2 * RTT + DELAY);
		TT_EQ(z->recvd, z->total);
		TT_EQ(z->bad, 0);
		zsim_free(z);
		free(z);
	}
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

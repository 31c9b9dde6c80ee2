/*
 * test_prr.c - Proportional Rate Reduction (RFC 6937, tcp_prr.{c,h}):
 * the section 3 arithmetic against the section 3.1 figures and each of
 * its rules, then a connection's fast recovery paced by it, with RFC 6675
 * and with RACK-TLP loss detection, against cfg.prr = 0.
 *
 * The figures count segments; the arithmetic here runs with MSS 1 so its
 * bytes are those segments.  The connection tests use MSS 1000 and
 * NewReno (ssthresh = FlightSize / 2) on a virtual clock.
 */
#include "peer.h"
#include "tcp_prr.h"

/* One ACK of a figure: the ACK's DeliveredData (one segment), pipe as
 * the figure shows it, the sndcnt PRR gives, and prr_out takes what was
 * sent. */
static uint32_t fig_ack(struct tcp_prr *p, uint32_t pipe, uint32_t ssthresh)
{
	uint32_t n = tcp_prr_sndcnt(p, 1, pipe, ssthresh, 1);
	tcp_prr_sent(p, n);
	return n;
}

/* RFC 6937 3.1, the single loss: "cwnd = FlightSize = pipe = 20 segments,
 * so ssthresh will be set to 10 at the beginning of recovery"; segment 0
 * is lost and the third duplicate ACK (ack# 3) starts the recovery.  The
 * "PRR" figure:
 *   ack#   X  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19
 *   pipe:    19 19 18 18 18 17 17 16 16 15 15 14 14 13 13 12 12 11 10
 *   sent:     N  N  R     N     N     N     N     N     N        N  N
 * ACKs 3 to 16: the fast retransmit, then one segment on every second
 * ACK (ssthresh / RecoverFS = 1/2).  The figure's last three columns do
 * not follow from the section 3 pseudocode with the figure's own pipe:
 * at ACK 17 pipe = 12 > ssthresh, so "sndcnt = CEIL(prr_delivered *
 * ssthresh / RecoverFS) - prr_out" = CEIL(15 * 10 / 20) - 7 = 1, where the
 * figure sends nothing (and marks ACK 18, pipe 11, with the reduction
 * bound "s").  The pseudocode is what is implemented. */
TT_TEST(prr_rfc6937_single_loss_figure)
{
	static const uint32_t pipe[20] = { 0, 19, 19, 18, 18, 18, 17, 17, 16, 16, 15,
					   15, 14, 14, 13, 13, 12, 12, 11, 10 };
	static const uint32_t sent[17] = { 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0 };
	struct tcp_prr p;
	tcp_prr_start(&p, 20);
	for (int ack = 3; ack <= 16; ack++)
		TT_EQ(fig_ack(&p, pipe[ack], 10), sent[ack]);
	TT_EQ(p.delivered, 14);
	TT_EQ(p.out, 7);
	/* ack# 17 by the pseudocode: proportional, one segment */
	TT_EQ(fig_ack(&p, pipe[17], 10), 1);
}

/* RFC 6937 3.1, "the first 15 packets (0-14) are lost ... only 5 ACKs
 * returned to the sender"; the third duplicate ACK (for 17) starts the
 * recovery with pipe 4, far below ssthresh = 10:
 *   PRR-SSRB
 *   ack#   X ... X 15 16 17 18 19
 *   pipe:          19 19  4  5  6
 *   sent:           N  N 2R 2R 2R
 *   RB:                  bd  d  d
 * "PRR-SSRB increases the window by exactly 1 segment per ACK until pipe
 * rises to ssthresh during recovery." */
TT_TEST(prr_rfc6937_burst_loss_ssrb_figure)
{
	struct tcp_prr p;
	tcp_prr_start(&p, 20);
	/* ack 17: limit = MAX(prr_delivered - prr_out = 1, DeliveredData =
	 * 1) + MSS = 2 ("bd": both give it), ssthresh - pipe = 6 */
	TT_EQ(fig_ack(&p, 4, 10), 2);
	/* ack 18: prr_delivered - prr_out = 0 < DeliveredData: "d" */
	TT_EQ(fig_ack(&p, 5, 10), 2);
	/* ack 19: prr_delivered - prr_out = -1 (signed): "d" */
	TT_EQ(fig_ack(&p, 6, 10), 2);
	TT_EQ(p.delivered, 3);
	TT_EQ(p.out, 6);
}

/* RFC 6937 4: "If there is minimal loss, PRR will converge to exactly the
 * target window chosen by the congestion control algorithm ... as TCP
 * approaches the end of recovery, prr_delivered will approach RecoverFS
 * and sndcnt will be computed such that prr_out approaches ssthresh."
 * One loss in a flight of 20 segments, every ACK delivering one segment,
 * pipe = what is outstanding and not delivered (the lost segment counts
 * again once retransmitted), no new data beyond what PRR sends: after the
 * 19 ACKs of the round trip prr_out = ssthresh and pipe = ssthresh, with
 * CUBIC's ssthresh (0.7) and NewReno's (0.5). */
TT_TEST(prr_converges_to_ssthresh)
{
	static const uint32_t ssthreshs[2] = { 14, 10 };
	for (int k = 0; k < 2; k++) {
		uint32_t ss = ssthreshs[k];
		struct tcp_prr p;
		tcp_prr_start(&p, 20);
		/* ACK 1 delivers a segment and, as the third duplicate ACK
		 * here (no limited transmit), starts the recovery: the lost
		 * segment leaves pipe */
		uint32_t pipe = 20 - 1 - 1;
		for (int ack = 1; ack <= 19; ack++) {
			if (ack > 1)
				pipe -= 1; /* one more segment delivered */
			uint32_t n = tcp_prr_sndcnt(&p, 1, pipe, ss, 1);
			tcp_prr_sent(&p, n);
			pipe += n;
		}
		TT_EQ(p.delivered, 19);
		TT_EQ(p.out, ss);
		TT_EQ(pipe, ss);
	}
}

/* Section 3's proportional part in bytes: CEIL(prr_delivered * ssthresh
 * / RecoverFS) - prr_out, the CEIL rounded up to a whole SMSS (tcp_prr.h);
 * never below 0. */
TT_TEST(prr_proportional_part)
{
	struct tcp_prr p;
	tcp_prr_start(&p, 20000);
	/* CUBIC's ssthresh 14000: 1000 * 14000 / 20000 = 700 -> one SMSS */
	TT_EQ(tcp_prr_sndcnt(&p, 1000, 19000, 14000, 1000), 1000);
	tcp_prr_sent(&p, 1000);
	/* 2000 * 0.7 = 1400 -> 2000, minus the 1000 sent */
	TT_EQ(tcp_prr_sndcnt(&p, 1000, 18000, 14000, 1000), 1000);
	tcp_prr_sent(&p, 1000);
	/* 3000 * 0.7 = 2100 -> 3000 */
	TT_EQ(tcp_prr_sndcnt(&p, 1000, 17000, 14000, 1000), 1000);
	tcp_prr_sent(&p, 1000);
	/* 4000 * 0.7 = 2800 -> 3000: nothing more yet */
	TT_EQ(tcp_prr_sndcnt(&p, 1000, 16000, 14000, 1000), 0);
	/* an ACK delivering nothing allows nothing */
	TT_EQ(tcp_prr_sndcnt(&p, 0, 16000, 14000, 1000), 0);
	/* more sent than the target (a retransmission beyond it): 0, not
	 * negative */
	tcp_prr_sent(&p, 5000);
	TT_EQ(tcp_prr_sndcnt(&p, 1000, 15000, 14000, 1000), 0);
	TT_EQ(p.delivered, 5000);
	TT_EQ(p.out, 8000);
	/* an ACK that delivers the rest of RecoverFS at once: the target is
	 * ssthresh, less what went out */
	TT_EQ(tcp_prr_sndcnt(&p, 15000, 15000, 14000, 1000), 14000 - 8000);
}

/* The PRR-SSRB bound, pipe =< ssthresh: "limit = MAX(prr_delivered -
 * prr_out, DeliveredData) + MSS; sndcnt = MIN(ssthresh - pipe, limit)" -
 * each of its three terms deciding (the figures' "s", "b", "d"). */
TT_TEST(prr_ssrb_bound_terms)
{
	struct tcp_prr p;
	/* s: ssthresh - pipe = 2000 below the limit (bank 9000 + MSS) */
	tcp_prr_start(&p, 20000);
	p.delivered = 9000;
	TT_EQ(tcp_prr_sndcnt(&p, 1000, 8000, 10000, 1000), 2000);
	/* b: banked 4000 (application stalled) + MSS = 5000 < 10000 - 2000 */
	tcp_prr_start(&p, 20000);
	p.delivered = 3000;
	TT_EQ(tcp_prr_sndcnt(&p, 1000, 2000, 10000, 1000), 5000);
	/* d: nothing banked (prr_out 1000 ahead of prr_delivered after
	 * this ACK): DeliveredData 2000 + MSS */
	tcp_prr_start(&p, 20000);
	p.delivered = 4000;
	p.out = 7000;
	TT_EQ(tcp_prr_sndcnt(&p, 2000, 2000, 10000, 1000), 3000);
	/* pipe = ssthresh exactly: nothing */
	TT_EQ(tcp_prr_sndcnt(&p, 2000, 10000, 10000, 1000), 0);
	/* the boundary: pipe = ssthresh + 1 is the proportional part again
	 * (8000 delivered of RecoverFS 20000 -> 4000, less 7000 sent: 0,
	 * where the bound would give 1000) */
	TT_EQ(tcp_prr_sndcnt(&p, 0, 10001, 10000, 1000), 0);
}

/* RFC 6937 2 "DeliveredData": the change in snd.una plus the signed
 * change in SACKd. */
TT_TEST(prr_delivered_data)
{
	/* a cumulative ACK of 1000 and a new SACK block of 2000 */
	TT_EQ(tcp_prr_delivered_data(1000, 2000, 0, 2000), 3000);
	/* a duplicate ACK with one more SACKed segment */
	TT_EQ(tcp_prr_delivered_data(1000, 1000, 2000, 3000), 1000);
	/* the cumulative ACK fills a 1000-octet hole below 3000 SACKed
	 * octets: 4000 acknowledged, of which 3000 were delivered before */
	TT_EQ(tcp_prr_delivered_data(1000, 5000, 3000, 0), 1000);
	/* sequence numbers wrap */
	TT_EQ(tcp_prr_delivered_data(0xFFFFFC18u, 1000, 0, 0), 2000);
	/* SACKd falling without SND.UNA moving (the receiver reneged, or
	 * the scoreboard dropped blocks): nothing delivered, not negative */
	TT_EQ(tcp_prr_delivered_data(1000, 1000, 5000, 2000), 0);
}

/* Bytes beyond what 64-bit products hold: no wrap-around. */
TT_TEST(prr_large_counts)
{
	struct tcp_prr p;
	tcp_prr_start(&p, 1u << 30);
	p.delivered = 1ull << 40;
	p.out = 1ull << 39;
	/* target = 2^40 * 2^29 / 2^30 = 2^39 (MSS 1: no rounding): nothing
	 * left */
	TT_EQ(tcp_prr_sndcnt(&p, 0, (1u << 29) + 1, 1u << 29, 1), 0);
	/* RecoverFS 1 (the smallest flight): the target is huge, the count
	 * saturates at what 32 bits hold */
	tcp_prr_start(&p, 1);
	p.delivered = 1ull << 40;
	TT_EQ(tcp_prr_sndcnt(&p, 0, 1u << 30, (1u << 30) - 1, 1000), UINT32_MAX);
}

/* ---- a connection's fast recovery ---- */

#define MSS 1000
#define FLIGHT 20 /* segments in flight when the loss is found */

static int setup(struct host *a, struct peer *p, struct tcp_conn **c, int mode, int prr)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.send_buffer = 65536;
	cfg.loss_detection = (enum tcp_loss_detection)mode;
	cfg.prr = prr;
	return fx_active(a, p, c, .cfg = &cfg, .sack = 1, .mss = MSS, .wnd = 60000);
}

/* Slow start to cwnd = FLIGHT segments with FLIGHT in flight: 50 000
 * octets queued, the initial window (10 segments) goes at T0, ten ACKs
 * of one segment each (all at T0 + 10 ms) add one SMSS each and two
 * segments go on each: the flight is sent at one time, so RACK orders it
 * by sequence alone (RFC 8985 6.2 RACK_sent_after) and finds a hole lost
 * when RFC 6675 does, at the third SACKed segment above it.  Then SND.UNA
 * = 10101, SND.NXT = 30101.  0 or the failed step. */
static int fill(struct host *a, struct peer *p, struct tcp_conn *c)
{
	static char d[50000];
	memset(d, 'p', sizeof d);
	if (tcp_send(c, d, sizeof d, T0) != (ssize_t)sizeof d)
		return -1;
	int segs = 0;
	while (host_pop(a))
		segs++;
	if (segs != 10)
		return -2;
	for (int i = 1; i <= 10; i++) {
		peer_send_sack(p, 101 + (uint32_t)i * MSS, NULL, 0, T0 + TCP_MS(10));
		segs = 0;
		while (host_pop(a))
			segs++;
		if (segs != 2)
			return -3;
	}
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	if (info.snd_una != 10101 || info.snd_nxt != 30101 || info.cwnd != FLIGHT * MSS)
		return -4;
	return 0;
}

/* The first segment of the flight (10101) is lost; duplicate ACK j (j =
 * 1..19, all at T1) SACKs the next j segments.  sent[j] counts the
 * segments the host sends on it; *rtx is set when the first of them is
 * 10101 (the fast retransmit).  0 or the failed step. */
#define T1 (T0 + TCP_MS(40))
static int dupacks(struct host *a, struct peer *p, int sent[FLIGHT], int rtx[FLIGHT])
{
	uint32_t next_new = 30101;
	for (int j = 1; j < FLIGHT; j++) {
		sent[j] = rtx[j] = 0;
		peer_send_sack(p, 10101, (uint32_t[]){ 11101, 11101 + (uint32_t)j * MSS }, 1, T1);
		while (host_pop(a)) {
			if (a->seg.len != MSS)
				return -1;
			if (a->seg.seq == 10101) {
				rtx[j] = 1;
			} else if (a->seg.seq == next_new) {
				next_new += MSS;
			} else {
				return -2; /* neither the hole nor new data */
			}
			sent[j]++;
		}
	}
	return 0;
}

/* What RFC 6937 3 gives on these ACKs (NewReno: ssthresh = 10 segments,
 * RecoverFS = 20; pipe = 1 (the retransmission) + the 19 - j originals
 * not yet SACKed + the new segments sent): ACK 3, the third duplicate
 * ACK, starts the recovery with the fast retransmit (sndcnt = CEIL(1 *
 * 10 / 20) - 0 = 1); then, pipe > ssthresh, one new segment on every
 * second ACK (5, 7, 9, 11, 13); at ACK 15 pipe = 1 + 4 + 5 = 10 =
 * ssthresh: PRR-SSRB allows ssthresh - pipe = 0; from ACK 16 pipe = 9:
 * one segment per ACK.  Ten segments in the round trip - ssthresh - and
 * none in a burst. */
static const int prr_sent[FLIGHT] = { 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0,
				      1, 0, 1, 0, 0, 1, 1, 1, 1 };
/* Without PRR (RFC 6675 5: cwnd = ssthresh = 10 segments, send while
 * cwnd - pipe >= 1 SMSS): the fast retransmit, then silence until pipe
 * falls below ssthresh at ACK 11 - "a half RTT silence" (RFC 6937 3.1) -
 * then one segment per ACK.  The same ten segments. */
static const int rfc6675_sent[FLIGHT] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
					  1, 1, 1, 1, 1, 1, 1, 1, 1 };

static void check_recovery(int mode, int prr)
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, mode, prr), 0);
	TT_EQ(fill(&a, &p, c), 0);
	int sent[FLIGHT], rtx[FLIGHT];
	TT_EQ(dupacks(&a, &p, sent, rtx), 0);
	const int *want = prr ? prr_sent : rfc6675_sent;
	int total = 0;
	for (int j = 1; j < FLIGHT; j++) {
		if (sent[j] != want[j])
			TT_FAIL_("duplicate ACK %d: %d segments sent, want %d", j, sent[j], want[j]);
		TT_EQ(rtx[j], j == 3);
		total += sent[j];
	}
	TT_EQ(total, 10);
	struct tcp_conn_info info;
	tcp_conn_info(c, &info);
	TT_EQ(info.ssthresh, 10 * MSS);
	/* the hole's repair and everything sent since: the recovery ends
	 * with cwnd = ssthresh (RFC 6582 3.2 step 3 option 2, both ways) */
	peer_send_sack(&p, 30101 + 9 * MSS, NULL, 0, T1 + TCP_MS(10));
	tcp_conn_info(c, &info);
	TT_EQ(info.snd_una, 30101 + 9 * MSS);
	TT_EQ(info.cwnd, 10 * MSS);
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.FastRetransmits, 1);
	TT_EQ(st.Timeouts, 0);
	host_free(&a);
}

/* RFC 6675 loss detection (DupThresh) with PRR: the figure's pattern. */
TT_TEST(prr_paces_rfc6675_recovery)
{
	check_recovery(TCP_LOSS_RFC6675, 1);
}

/* RACK-TLP: the three SACKed segments above the hole mark it lost at
 * once (RFC 8985 6.2 step 4: RACK.reo_wnd = 0 with DupThresh segments
 * SACKed, no reordering seen; before, the reordering timer waits), and its
 * recovery is paced the same way (pipe from RACK's marks equals SetPipe
 * here). */
TT_TEST(prr_paces_rack_recovery)
{
	check_recovery(TCP_LOSS_RACK, 1);
}

/* cfg.prr = 0: RFC 6675's recovery as before, with either detection. */
TT_TEST(prr_off_half_rtt_silence)
{
	check_recovery(TCP_LOSS_RFC6675, 0);
	check_recovery(TCP_LOSS_RACK, 0);
}

/* RFC 6937 3.1's burst loss in a connection: the first 15 segments of the
 * flight of 20 are lost, duplicate ACK j SACKs segments 16 .. 15 + j.  The
 * third starts the recovery with pipe = 2 (segments 19 and 20), far below
 * ssthresh (10): PRR-SSRB sends DeliveredData + 1 SMSS = 2 segments on it
 * (the fast retransmit among them: the figure's "2R") and on each of the
 * next two; RFC 6675 alone (cfg.prr = 0) sends the fast retransmit and
 * then ssthresh - pipe = 7 more at once ("RFC 6675 ... 7R"), then one per
 * ACK.  Every segment sent is a retransmission, in sequence order. */
static void check_burst(int mode, int prr, const int want[6])
{
	struct host a;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(setup(&a, &p, &c, mode, prr), 0);
	TT_EQ(fill(&a, &p, c), 0);
	uint32_t next_rtx = 10101;
	for (uint32_t j = 1; j <= 5; j++) {
		peer_send_sack(&p, 10101, (uint32_t[]){ 25101, 25101 + j * MSS }, 1, T1);
		int sent = 0;
		while (host_pop(&a)) {
			TT_EQ(a.seg.seq, next_rtx);
			TT_EQ(a.seg.len, MSS);
			next_rtx += MSS;
			sent++;
		}
		if (sent != want[j])
			TT_FAIL_("duplicate ACK %u: %d segments sent, want %d", j, sent, want[j]);
	}
	host_free(&a);
}

TT_TEST(prr_burst_loss_ssrb)
{
	static const int ssrb[6] = { 0, 0, 0, 2, 2, 2 };
	static const int rfc6675[6] = { 0, 0, 0, 8, 1, 1 };
	check_burst(TCP_LOSS_RFC6675, 1, ssrb);
	check_burst(TCP_LOSS_RACK, 1, ssrb);
	check_burst(TCP_LOSS_RFC6675, 0, rfc6675);
	check_burst(TCP_LOSS_RACK, 0, rfc6675);
}

/* An RTO in the middle of a PRR recovery: at duplicate ACK 4 PRR's cwnd is
 * pipe + 0 = 16 segments, above ssthresh (10).  The timeout's response
 * starts from the window the congestion control chose for the recovery,
 * as without PRR: NewReno's ssthresh = max(min(FlightSize, cwnd) / 2,
 * 2 SMSS) = 10 / 2 = 5 segments (not 16 / 2), cwnd = 1 SMSS.  (The
 * retransmission timer runs from the last new ACK, T0 + 10 ms.) */
TT_TEST(prr_rto_starts_from_ssthresh)
{
	for (int prr = 0; prr <= 1; prr++) {
		struct host a;
		struct peer p;
		struct tcp_conn *c;
		TT_EQ(setup(&a, &p, &c, TCP_LOSS_RFC6675, prr), 0);
		TT_EQ(fill(&a, &p, c), 0);
		for (uint32_t j = 1; j <= 4; j++)
			peer_send_sack(&p, 10101, (uint32_t[]){ 11101, 11101 + j * MSS }, 1, T1);
		host_drop_all(&a);
		struct tcp_conn_info info;
		tcp_conn_info(c, &info);
		TT_EQ(info.ssthresh, 10 * MSS);
		TT_EQ(info.cwnd, prr ? 16 * MSS : 10 * MSS);
		/* the retransmission timer, restarted by the last new ACK at
		 * T0 + 10 ms (RTO 1 s, rto_min): one timeout by T0 + 1.5 s */
		host_run_timers(&a, T0 + TCP_MS(1500));
		TT_EQ(host_stats(&a).Timeouts, 1);
		tcp_conn_info(c, &info);
		TT_EQ(info.ssthresh, 5 * MSS);
		TT_EQ(info.cwnd, MSS);
		host_free(&a);
	}
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

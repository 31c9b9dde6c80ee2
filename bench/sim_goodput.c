/*
 * sim_goodput.c - goodput of one bulk transfer over the simulated link
 * (tests/sim/simlink.h) in virtual time, for random loss 0/1/5/10 % and
 * RTT 1/20/100 ms on a 100 Mbit/s bottleneck, next to the Mathis et al.
 * bound  MSS/RTT * 1.22/sqrt(p)  ("The Macroscopic Behavior of the TCP
 * Congestion Avoidance Algorithm", 1997), as a ratio.
 *
 * Loss is applied to the data direction only (ACKs are not lost), as the
 * Mathis model assumes.  The bottleneck queue is one BDP + 64 KiB.
 * Goodput counts bytes the receiving application read and verified, over
 * a measurement window that starts after a warm-up.
 *
 * Usage: sim_goodput [newreno|cubic|both|bbr|all] [seconds]   (default: both, 30;
 *                    bbr: BBR next to CUBIC; all: the three tables)
 *        sim_goodput prr [newreno|cubic|both] [seconds]   (PRR, RFC 6937, off
 *                    and on, with RFC 6675 and with RACK-TLP loss detection)
 *        sim_goodput trace newreno|cubic|bbr LOSS RTT_MS SECONDS [old|noprr]   (time
 *                    series; old: loss_detection = rfc6675, hystart = no;
 *                    noprr: prr = 0)
 * Deterministic: same output for the same build.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/sim/simlink.h"

#define RATE_BPS 100000000ull

struct cell {
	double goodput_bps, mathis_bps;
	uint32_t mss;
	uint64_t retransmits;
	uint64_t timeouts;         /* the sender's RTOs (tcp_stats Timeouts) */
	int ok;
};

static struct sim S;

/* The engine's loss recovery to run: the defaults (RACK-TLP, RFC 8985;
 * HyStart++, RFC 9406) or the engine as it was before them (RFC 6675
 * duplicate-ACK loss detection, standard slow start); MODE_NO_PRR added
 * turns PRR (RFC 6937) off. */
enum mode { MODE_NEW = 0, MODE_OLD = 1, MODE_NO_PRR = 2, MODE_BURST = 4 };
/* MODE_BURST: the loss comes in bursts (Gilbert-Elliott: good -> bad with
 * 0.002 per datagram, bad -> good with 0.2, every datagram lost while bad:
 * 0.99 % of the datagrams, in bursts of 5 on average), `loss` only names
 * that rate for the Mathis bound. */
#define BURST_P_GB 0.002
#define BURST_P_BG 0.2

static struct cell run_cell(int cc, double loss, tcp_time_t rtt, double seconds, int mode)
{
	struct cell out;
	memset(&out, 0, sizeof out);
	struct sim_config c;
	sim_config_default(&c);
	c.tcp.send_buffer = 8u << 20;
	c.tcp.recv_buffer = 8u << 20;
	if (mode & MODE_OLD) {
		c.tcp.loss_detection = TCP_LOSS_RFC6675;
		c.tcp.hystart = 0;
	}
	if (mode & MODE_NO_PRR)
		c.tcp.prr = 0;
	c.cc = cc;
	c.seed = 42;
	c.no_close = 1;
	c.bytes[0] = 1ull << 50; /* endless */
	c.bytes[1] = 0;
	uint64_t bdp = RATE_BPS / 8 * rtt / 1000000;
	for (int i = 0; i < 2; i++) {
		c.link[i].delay = rtt / 2;
		c.link[i].rate_bps = RATE_BPS;
		c.link[i].queue_bytes = (uint32_t)(bdp + 64 * 1024);
	}
	c.link[0].loss = loss;
	if (mode & MODE_BURST) {
		c.link[0].loss = 0;
		c.link[0].ge_p_gb = BURST_P_GB;
		c.link[0].ge_p_bg = BURST_P_BG;
		c.link[0].ge_loss_bad = 1.0;
	}
	if (sim_init(&S, &c) != 0) {
		fprintf(stderr, "setup: %s\n", S.err);
		return out;
	}
	tcp_time_t t0 = S.now;
	/* warm-up: at least 5 s or 50 RTTs */
	tcp_time_t warm = TCP_SEC(5) > 50 * rtt ? TCP_SEC(5) : 50 * rtt;
	tcp_time_t span = (tcp_time_t)(seconds * 1e6);
	sim_run(&S, t0 + warm, UINT64_MAX);
	uint64_t rx0 = S.app[0][1].rx_done;
	sim_run(&S, t0 + warm + span, UINT64_MAX);
	uint64_t rx1 = S.app[0][1].rx_done;
	if (S.err[0] && !strstr(S.err, "no completion")) {
		fprintf(stderr, "cc %d loss %.2f rtt %llu ms: %s\n", cc, loss,
			(unsigned long long)(rtt / 1000), S.err);
	} else {
		out.ok = 1;
	}
	struct tcp_conn_info ci;
	if (S.app[0][0].c && tcp_conn_info(S.app[0][0].c, &ci) == 0) {
		out.mss = ci.mss;
		out.retransmits = ci.retransmits;
	}
	struct tcp_stats st;
	tcp_get_stats(S.node[0].stack, &st);
	out.timeouts = st.Timeouts;
	if (!out.mss)
		out.mss = 1440;
	out.goodput_bps = (double)(rx1 - rx0) * 8.0 / seconds;
	double rtt_s = (double)rtt / 1e6;
	out.mathis_bps = loss > 0 ? out.mss * 8.0 / rtt_s * 1.22 / sqrt(loss) : INFINITY;
	sim_free(&S);
	return out;
}

static void ratio_str(char *buf, size_t n, const struct cell *x)
{
	if (isinf(x->mathis_bps))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.2f", x->goodput_bps / x->mathis_bps);
}

/* One table, each cell run twice in one run: a and b (congestion control
 * and mode); b/a is the ratio of goodputs. */
struct side {
	const char *label;
	int cc;
	int mode;
};

static void compare(const char *title, const char *legend, struct side a, struct side b,
		    double seconds)
{
	static const double losses[] = { 0, 0.01, 0.05, 0.10 };
	static const unsigned rtts_ms[] = { 1, 20, 100 };
	printf("\n%s, 100 Mbit/s bottleneck, queue BDP+64KiB, %.0f s measured after warm-up\n",
	       title, seconds);
	printf("%s\n", legend);
	printf("| loss  | RTT    | Mathis Mbit/s | %s Mbit/s | %s/Mathis | %s rtx | %s Mbit/s | %s/Mathis | %s rtx | %s/%s |\n",
	       a.label, a.label, a.label, b.label, b.label, b.label, b.label, a.label);
	printf("|-------|--------|---------------|------------|------------|---------|------------|------------|---------|---------|\n");
	for (unsigned li = 0; li < sizeof losses / sizeof losses[0]; li++) {
		for (unsigned ri = 0; ri < sizeof rtts_ms / sizeof rtts_ms[0]; ri++) {
			struct cell o = run_cell(a.cc, losses[li], TCP_MS(rtts_ms[ri]), seconds, a.mode);
			struct cell x = run_cell(b.cc, losses[li], TCP_MS(rtts_ms[ri]), seconds, b.mode);
			char mathis[32], ro[32], rn[32];
			if (isinf(x.mathis_bps))
				snprintf(mathis, sizeof mathis, "inf");
			else
				snprintf(mathis, sizeof mathis, "%.2f", x.mathis_bps / 1e6);
			ratio_str(ro, sizeof ro, &o);
			ratio_str(rn, sizeof rn, &x);
			printf("| %4.0f%% | %3u ms | %13s | %10.2f | %10s | %7llu | %10.2f | %10s | %7llu | %7.2f |%s\n",
			       losses[li] * 100, rtts_ms[ri], mathis, o.goodput_bps / 1e6, ro,
			       (unsigned long long)o.retransmits, x.goodput_bps / 1e6, rn,
			       (unsigned long long)x.retransmits,
			       o.goodput_bps > 0 ? x.goodput_bps / o.goodput_bps : 0.0,
			       o.ok && x.ok ? "" : " (error)");
			fflush(stdout);
		}
	}
}

/* "old" is the engine with loss_detection = rfc6675 and hystart = no (as
 * before RACK-TLP and HyStart++), "new" the defaults. */
static void table(int cc, const char *name, double seconds)
{
	compare(name, "old: loss_detection = rfc6675, hystart = no; new: the defaults (RACK-TLP, HyStart++)",
		(struct side){ "old", cc, MODE_OLD }, (struct side){ "new", cc, MODE_NEW }, seconds);
}

/* `sim_goodput prr`: each cell four times in one run, PRR (RFC 6937)
 * off and on, with loss_detection = rfc6675 (and hystart = no, as "old"
 * above) and with the defaults (RACK-TLP, HyStart++); on/off is the ratio
 * of goodputs; rtx = retransmitted segments, rto = retransmission
 * timeouts. */
static void prr_table(int cc, const char *name, double seconds)
{
	/* the last: burst loss (MODE_BURST) at the same average rate as 1 % */
	static const double losses[] = { 0, 0.01, 0.05, 0.10, BURST_P_GB / (BURST_P_GB + BURST_P_BG) };
	const unsigned nloss = sizeof losses / sizeof losses[0];
	static const unsigned rtts_ms[] = { 1, 20, 100 };
	printf("\n%s, 100 Mbit/s bottleneck, queue BDP+64KiB, %.0f s measured after warm-up\n",
	       name, seconds);
	printf("PRR (RFC 6937) off/on; rfc6675: loss_detection = rfc6675, hystart = no; rack: the defaults\n");
	printf("| loss  | RTT    | Mathis Mbit/s | rfc6675 off Mbit/s (rtx, rto) | rfc6675 PRR Mbit/s (rtx, rto) | on/off | rack off Mbit/s (rtx, rto) | rack PRR Mbit/s (rtx, rto) | on/off |\n");
	printf("|-------|--------|---------------|------------------|------------------|--------|------------------|------------------|--------|\n");
	for (unsigned li = 0; li < nloss; li++) {
		int burst = li == nloss - 1 ? MODE_BURST : 0;
		for (unsigned ri = 0; ri < sizeof rtts_ms / sizeof rtts_ms[0]; ri++) {
			struct cell x[4];
			static const int modes[4] = { MODE_OLD | MODE_NO_PRR, MODE_OLD,
						      MODE_NEW | MODE_NO_PRR, MODE_NEW };
			int ok = 1;
			for (int m = 0; m < 4; m++) {
				x[m] = run_cell(cc, losses[li], TCP_MS(rtts_ms[ri]), seconds,
						modes[m] | burst);
				ok &= x[m].ok;
			}
			char cell[4][64];
			for (int m = 0; m < 4; m++)
				snprintf(cell[m], sizeof cell[m], "%.2f (%llu, %llu)",
					 x[m].goodput_bps / 1e6, (unsigned long long)x[m].retransmits,
					 (unsigned long long)x[m].timeouts);
			printf("| %4.0f%%%s | %3u ms | %13.2f | %16s | %16s | %6.2f | %16s | %16s | %6.2f |%s\n",
			       losses[li] * 100, burst ? " burst" : "", rtts_ms[ri], x[3].mathis_bps / 1e6, cell[0], cell[1],
			       x[0].goodput_bps > 0 ? x[1].goodput_bps / x[0].goodput_bps : 0.0, cell[2],
			       cell[3], x[2].goodput_bps > 0 ? x[3].goodput_bps / x[2].goodput_bps : 0.0,
			       ok ? "" : " (error)");
			fflush(stdout);
		}
	}
}

/* The model-based BBR (draft-ietf-ccwg-bbr) next to the loss-based CUBIC,
 * both with the engine's defaults otherwise (RACK-TLP; HyStart++ for
 * CUBIC). */
static void table_bbr(double seconds)
{
	compare("BBR (draft-ietf-ccwg-bbr) and CUBIC (RFC 9438)",
		"cubic: [tcp] congestion = cubic (the default); bbr: congestion = bbr; both RACK-TLP",
		(struct side){ "cubic", TCP_CC_CUBIC, MODE_NEW }, (struct side){ "bbr", TCP_CC_BBR, MODE_NEW },
		seconds);
}

/* `sim_goodput trace CC LOSS RTT_MS SECONDS`: one run, cwnd and goodput
 * every RTT-ish interval (at least 10 ms), for looking at the dynamics. */
static int trace_run(int argc, char **argv)
{
	if (argc < 6)
		return 2;
	int cc = !strcmp(argv[2], "newreno") ? TCP_CC_NEWRENO
		 : !strcmp(argv[2], "bbr")   ? TCP_CC_BBR
					     : TCP_CC_CUBIC;
	double loss = atof(argv[3]);
	tcp_time_t rtt = TCP_MS(atoi(argv[4]));
	double seconds = atof(argv[5]);
	struct sim_config c;
	sim_config_default(&c);
	c.tcp.send_buffer = 8u << 20;
	c.tcp.recv_buffer = 8u << 20;
	if (argc > 6 && !strcmp(argv[6], "old")) {
		c.tcp.loss_detection = TCP_LOSS_RFC6675;
		c.tcp.hystart = 0;
	}
	if (argc > 6 && !strcmp(argv[6], "noprr"))
		c.tcp.prr = 0;
	c.cc = cc;
	c.seed = 42;
	c.no_close = 1;
	c.bytes[0] = 1ull << 50;
	uint64_t bdp = RATE_BPS / 8 * rtt / 1000000;
	for (int i = 0; i < 2; i++) {
		c.link[i].delay = rtt / 2;
		c.link[i].rate_bps = RATE_BPS;
		c.link[i].queue_bytes = (uint32_t)(bdp + 64 * 1024);
	}
	c.link[0].loss = loss;
	if (sim_init(&S, &c) != 0)
		return 1;
	tcp_time_t t0 = S.now, step = rtt > TCP_MS(10) ? rtt : TCP_MS(10);
	uint64_t last_rx = 0;
	printf("# t_s cwnd_segs ssthresh_segs srtt_ms rto_ms retransmits goodput_mbps qdrops"
	       " [pacing_mbps model_bw_mbps state]\n");
	for (tcp_time_t t = step; t <= (tcp_time_t)(seconds * 1e6); t += step) {
		sim_run(&S, t0 + t, UINT64_MAX);
		struct tcp_conn_info ci;
		if (!S.app[0][0].c || tcp_conn_info(S.app[0][0].c, &ci) != 0)
			break;
		double mss = ci.mss ? ci.mss : 1440;
		printf("%.3f %.1f %.1f %.2f %.1f %llu %.2f %llu%s", (double)t / 1e6, ci.cwnd / mss,
		       ci.ssthresh == UINT32_MAX ? -1.0 : ci.ssthresh / mss, (double)ci.srtt / 1e3,
		       (double)ci.rto / 1e3, (unsigned long long)ci.retransmits,
		       (double)(S.app[0][1].rx_done - last_rx) * 8 / ((double)step / 1e6) / 1e6,
		       (unsigned long long)S.node[0].out.st.lost_queue, ci.pacing_rate ? "" : "\n");
		if (ci.pacing_rate)
			printf("  %.2f %.2f %s\n", (double)ci.pacing_rate * 8 / 1e6,
			       (double)ci.model_bw * 8 / 1e6, ci.cc_state);
		last_rx = S.app[0][1].rx_done;
	}
	/* the sender's loss recovery in numbers */
	struct tcp_stats st;
	tcp_get_stats(S.node[0].stack, &st);
	printf("# Timeouts %llu FastRetransmits %llu RackLost %llu TlpProbes %llu "
	       "TlpRecoveries %llu HystartCss %llu RetransSegs %llu PacingDelays %llu\n",
	       (unsigned long long)st.Timeouts, (unsigned long long)st.FastRetransmits,
	       (unsigned long long)st.RackLost, (unsigned long long)st.TlpProbes,
	       (unsigned long long)st.TlpRecoveries, (unsigned long long)st.HystartCss,
	       (unsigned long long)st.RetransSegs, (unsigned long long)st.PacingDelays);
	sim_free(&S);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "trace"))
		return trace_run(argc, argv);
	int prr = argc > 1 && !strcmp(argv[1], "prr");
	if (prr) {
		argc--;
		argv++;
	}
	const char *which = argc > 1 ? argv[1] : "both";
	double seconds = argc > 2 ? atof(argv[2]) : 30;
	if (!(seconds > 0)) {
		fprintf(stderr, "usage: %s [prr] [newreno|cubic|both|bbr|all] [seconds]\n", argv[0]);
		return 2;
	}
	/* prr: the PRR tables of the loss-based controls (PRR is theirs) */
	void (*run)(int, const char *, double) = prr ? prr_table : table;
	if (!strcmp(which, "cubic") || !strcmp(which, "both") || !strcmp(which, "all"))
		run(TCP_CC_CUBIC, "CUBIC (RFC 9438)", seconds);
	if (!strcmp(which, "newreno") || !strcmp(which, "both") || !strcmp(which, "all"))
		run(TCP_CC_NEWRENO, "NewReno (RFC 5681/6582)", seconds);
	if (!prr && (!strcmp(which, "bbr") || !strcmp(which, "all")))
		table_bbr(seconds);
	return 0;
}

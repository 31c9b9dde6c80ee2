/*
 * tcp_prr.c - Proportional Rate Reduction, RFC 6937 (see tcp_prr.h): the
 * arithmetic of section 3 (pure), then the engine glue for a SACK
 * connection's fast recovery, RFC 6675's (tcp_input.c loss_recovery) or
 * RACK-TLP's (tcp_rack.c): the state starts with the recovery, every ACK
 * sets cwnd = pipe + sndcnt before the recovery's sending loop (which
 * sends while cwnd - pipe >= SMSS), and every segment sent in recovery
 * counts in prr_out.  The recovery ends as before: the congestion
 * control's on_recovery_end sets cwnd = ssthresh.
 */
#include "tcp_int.h"
#include "tcp_prr.h"

/* ---- RFC 6937 section 3 ---- */

void tcp_prr_start(struct tcp_prr *p, uint32_t recover_fs)
{
	/* "ssthresh = CongCtrlAlg()  // Target cwnd after recovery
	 *  prr_delivered = 0         // Total bytes delivered during recovery
	 *  prr_out = 0               // Total bytes sent during recovery
	 *  RecoverFS = snd.nxt-snd.una // FlightSize at the start of recovery" */
	p->delivered = 0;
	p->out = 0;
	p->recover_fs = recover_fs;
}

uint32_t tcp_prr_delivered_data(uint32_t una_before, uint32_t una, uint32_t sacked_before,
				uint32_t sacked)
{
	/* RFC 6937 2: "With SACK, DeliveredData can be computed precisely as
	 * the change in snd.una, plus the (signed) change in SACKd." */
	int64_t d = (int64_t)(uint32_t)(una - una_before) + (int64_t)sacked - (int64_t)sacked_before;
	return d > 0 ? (uint32_t)d : 0;
}

/* CEIL(delivered * ssthresh / fs) without overflowing 64 bits (a recovery
 * that delivers 2^34 bytes would): the quotient and the remainder apart. */
static uint64_t prr_target(uint64_t delivered, uint32_t ssthresh, uint32_t fs)
{
	if (fs == 0)
		fs = 1;
	uint64_t q = delivered / fs, r = delivered % fs;
	if (q > UINT32_MAX)
		return UINT64_MAX / 2;
	return q * ssthresh + (r * ssthresh + fs - 1) / fs;
}

uint32_t tcp_prr_sndcnt(struct tcp_prr *p, uint32_t delivered, uint32_t pipe, uint32_t ssthresh,
			uint32_t mss)
{
	/* "prr_delivered += DeliveredData" */
	p->delivered += delivered;
	int64_t sndcnt;
	if (pipe > ssthresh) {
		/* "// Proportional Rate Reduction
		 *  sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out" */
		uint64_t target = prr_target(p->delivered, ssthresh, p->recover_fs);
		/* in whole segments, as the section's examples count (3.1:
		 * "CEIL" of segment counts) and Linux's packet-counted PRR:
		 * the engine sends full segments, so a byte CEIL would hold
		 * each one back until a whole SMSS of credit had built up -
		 * half an ACK later than the RFC's figures */
		if (mss > 1 && target < UINT64_MAX / 4)
			target = (target + mss - 1) / mss * mss;
		sndcnt = target > p->out ? (int64_t)(target - p->out) : 0;
	} else {
		/* "// PRR-SSRB
		 *  limit = MAX(prr_delivered - prr_out, DeliveredData) + MSS
		 *  // Attempt to catch up, as permitted by limit
		 *  sndcnt = MIN(ssthresh - pipe, limit)"
		 * prr_delivered - prr_out is signed: more may have gone out
		 * than was delivered (the fast retransmit, SSRB's extra MSS). */
		int64_t bank = (int64_t)p->delivered - (int64_t)p->out;
		int64_t limit = (bank > (int64_t)delivered ? bank : (int64_t)delivered) + mss;
		int64_t room = (int64_t)ssthresh - (int64_t)pipe;
		sndcnt = room < limit ? room : limit;
	}
	if (sndcnt < 0)
		return 0;
	return sndcnt > UINT32_MAX ? UINT32_MAX : (uint32_t)sndcnt;
}

void tcp_prr_sent(struct tcp_prr *p, uint32_t bytes)
{
	/* "prr_out += (data sent) // strictly less than or equal to sndcnt" */
	p->out += bytes;
}

/* ---- engine glue: the fast recovery of a SACK connection ---- */

/* PRR paces the fast recovery of loss-based congestion controls (CUBIC,
 * NewReno), with SACK: RFC 6937 1 "They are most accurate and more easily
 * implemented with SACK [RFC2018], but do not require SACK" - without
 * SACK the engine keeps RFC 6582's window inflation. */
static int prr_applies(const struct tcp_conn *c)
{
	return c->s->cfg.prr && c->sack_ok && c->cc.ops &&
	       (c->cc_algo == TCP_CC_CUBIC || c->cc_algo == TCP_CC_NEWRENO);
}

/* RFC 6937 3 "pipe = (RFC 6675 pipe algorithm)": SetPipe on the
 * scoreboard, or RACK-TLP's pipe from its loss marks (RFC 8985 recommends
 * PRR for its recovery: tcp_rack.c's pipe is RFC 6675's with RACK's
 * Segment.lost for IsLost). */
static uint32_t prr_pipe(const struct tcp_conn *c)
{
	if (tcp_rack_on(c))
		return tcp_rack_pipe(&c->rack, c->snd_una, c->snd_nxt);
	return tcp_sb_pipe(&c->sb, c->snd_una, c->snd_nxt, c->smss);
}

void tcp_prr_enter(struct tcp_conn *c)
{
	c->prr.active = prr_applies(c);
	if (c->prr.active)
		tcp_prr_start(&c->prr, tcp_flight(c));
}

void tcp_prr_ack(struct tcp_conn *c, uint32_t delivered)
{
	if (!c->in_fast_recovery || !c->prr.active)
		return;
	uint32_t pipe = prr_pipe(c);
	uint32_t sndcnt = tcp_prr_sndcnt(&c->prr, delivered, pipe, c->cc.ssthresh, c->smss);
	/* the sending loops send while cwnd - pipe >= SMSS: cwnd = pipe +
	 * sndcnt lets out whole segments up to sndcnt; the rest stays in
	 * prr_delivered - prr_out for the next ACK */
	uint64_t w = (uint64_t)pipe + sndcnt;
	c->cc.cwnd = w > TCP_CC_CWND_MAX ? TCP_CC_CWND_MAX : (uint32_t)w;
}

void tcp_prr_on_send(struct tcp_conn *c, uint32_t used)
{
	if (c->in_fast_recovery && c->prr.active)
		tcp_prr_sent(&c->prr, used);
}

void tcp_prr_rto(struct tcp_conn *c)
{
	/* PRR's cwnd is a per-ACK allowance; the retransmission timeout's
	 * response (on_rto) starts from the window the congestion control
	 * chose for the recovery, ssthresh, as without PRR. */
	if (c->in_fast_recovery && c->prr.active && c->cc.ops)
		c->cc.cwnd = c->cc.ssthresh;
	c->prr.active = 0;
}

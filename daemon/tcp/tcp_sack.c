/*
 * tcp_sack.c - RFC 6675 sender scoreboard (see tcp_sack.h).
 */
#include <string.h>

#include "tcp_sack.h"

/* Largest distance of a SACK block above SND.UNA we believe: RFC 7323 2.3
 * caps the window at 2^30 bytes. */
#define SB_MAX_SPAN (1u << 30)

void tcp_sb_init(struct tcp_scoreboard *sb)
{
	memset(sb, 0, sizeof(*sb));
	tcp_seqset_init_cap(&sb->sacked, TCP_SEQSET_MAX);
	sb->can_send_new = 1;
}

void tcp_sb_reset(struct tcp_scoreboard *sb)
{
	tcp_seqset_clear(&sb->sacked);
	sb->high_rxt = 0;
	sb->high_rxt_valid = 0;
}

void tcp_sb_recovery_start(struct tcp_scoreboard *sb, uint32_t snd_una)
{
	/* RFC 6675 5 (4.1)-(4.2) "set HighRxt to the highest sequence number
	 * ... retransmitted" - nothing retransmitted yet in this episode. */
	sb->high_rxt = snd_una;
	sb->high_rxt_valid = 1;
}

uint32_t tcp_sb_sacked_bytes(const struct tcp_scoreboard *sb)
{
	return tcp_seqset_bytes(&sb->sacked);
}

int tcp_sb_high_sacked(const struct tcp_scoreboard *sb, uint32_t *out)
{
	struct tcp_seqrange r;
	if (!tcp_seqset_last(&sb->sacked, &r))
		return 0;
	*out = r.end;
	return 1;
}

/* Report the parts of [s, e) the set does not hold yet. */
static void report_new(const struct tcp_seqset *set, uint32_t s, uint32_t e,
		       void (*newly)(void *arg, uint32_t start, uint32_t end), void *arg)
{
	uint32_t x = s;
	while (tcp_seq_lt(x, e)) {
		const struct tcp_seqrange *r = tcp_seqset_next(set, x, 1);
		if (!r || tcp_seq_geq(r->start, e)) {
			newly(arg, x, e);
			return;
		}
		if (tcp_seq_gt(r->start, x))
			newly(arg, x, r->start);
		x = r->end;
	}
}

uint32_t tcp_sb_update(struct tcp_scoreboard *sb, uint32_t snd_una,
		       const struct tcp_seqrange *blocks, unsigned n)
{
	return tcp_sb_update_cb(sb, snd_una, blocks, n, NULL, NULL);
}

uint32_t tcp_sb_update_cb(struct tcp_scoreboard *sb, uint32_t snd_una,
			  const struct tcp_seqrange *blocks, unsigned n,
			  void (*newly)(void *arg, uint32_t start, uint32_t end), void *arg)
{
	tcp_seqset_trim_below(&sb->sacked, snd_una);
	/* HighRxt at or below the cumulative ACK no longer matters; forget it
	 * so a stale value is never compared across a 2^31 distance. */
	if (sb->high_rxt_valid && tcp_seq_geq(snd_una, sb->high_rxt))
		sb->high_rxt_valid = 0;
	uint32_t before = tcp_seqset_bytes(&sb->sacked);
	for (unsigned i = 0; i < n; i++) {
		uint32_t s = blocks[i].start, e = blocks[i].end;
		if (!tcp_seq_lt(s, e) || e - s > SB_MAX_SPAN) {
			sb->invalid_blocks++;
			continue;
		}
		/* RFC 2883 section 4: a D-SACK block is the first block and
		 * either lies below the cumulative ACK or is contained in the
		 * second block.  It reports a duplicate, not new data. */
		if (i == 0 && (tcp_seq_leq(e, snd_una) ||
			       (n > 1 && tcp_seq_geq(s, blocks[1].start) &&
				tcp_seq_leq(e, blocks[1].end) &&
				tcp_seq_lt(blocks[1].start, blocks[1].end)))) {
			sb->dsacks++;
			continue;
		}
		if (tcp_seq_leq(e, snd_una)) {
			sb->invalid_blocks++;
			continue;
		}
		if (tcp_seq_lt(s, snd_una))
			s = snd_una;
		if (e - snd_una > SB_MAX_SPAN) {
			sb->invalid_blocks++;
			continue;
		}
		if (newly)
			report_new(&sb->sacked, s, e, newly, arg);
		if (tcp_seqset_add(&sb->sacked, s, e) != 0)
			sb->overflow_blocks++;
	}
	uint32_t after = tcp_seqset_bytes(&sb->sacked);
	return after - before;
}

/* Segments a SACKed run of `len` bytes stands for: at least one. */
static uint32_t segs_of(uint32_t len, uint32_t mss)
{
	uint32_t k = (len + mss - 1) / mss;
	return k ? k : 1;
}

int tcp_sb_is_lost(const struct tcp_scoreboard *sb, uint32_t seq, uint32_t mss)
{
	/* RFC 6675 section 4: "IsLost (SeqNum): This routine returns whether
	 * the given sequence number is considered to be lost.  The routine
	 * returns true when either DupThresh discontiguous SACKed sequences
	 * have arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS
	 * bytes with sequence numbers greater than 'SeqNum' have been SACKed.
	 * Otherwise, the routine returns false." */
	if (mss == 0)
		return 0;
	uint32_t bytes = 0, segs = 0;
	for (unsigned i = 0; i < tcp_seqset_count(&sb->sacked); i++) {
		const struct tcp_seqrange *r = tcp_seqset_at(&sb->sacked, i);
		if (tcp_seq_leq(r->end, seq + 1))
			continue;
		uint32_t from = tcp_seq_max(r->start, seq + 1);
		bytes += r->end - from;
		segs += segs_of(r->end - from, mss);
	}
	return segs >= TCP_SB_DUPTHRESH || bytes > (TCP_SB_DUPTHRESH - 1) * mss;
}

/* Every unSACKed octet below the returned sequence number is lost by
 * IsLost; none at or above it is.  (IsLost is monotone: a lower sequence
 * number has at least as much SACKed above it.)  For an unSACKed octet the
 * SACKed ranges above it are whole ranges, so walk them from the top. */
static uint32_t lost_boundary(const struct tcp_scoreboard *sb, uint32_t snd_una, uint32_t mss)
{
	uint32_t bytes = 0, segs = 0;
	unsigned n = tcp_seqset_count(&sb->sacked);
	for (unsigned k = n; k-- > 0;) {
		const struct tcp_seqrange *r = tcp_seqset_at(&sb->sacked, k);
		bytes += r->end - r->start;
		segs += segs_of(r->end - r->start, mss);
		if (segs >= TCP_SB_DUPTHRESH || bytes > (TCP_SB_DUPTHRESH - 1) * mss)
			return r->start;
	}
	return snd_una;
}

/* SACKed bytes within [a, b). */
static uint32_t sacked_in(const struct tcp_scoreboard *sb, uint32_t a, uint32_t b)
{
	if (!tcp_seq_lt(a, b))
		return 0;
	return tcp_seqset_bytes_from(&sb->sacked, a) - tcp_seqset_bytes_from(&sb->sacked, b);
}

static uint32_t unsacked_in(const struct tcp_scoreboard *sb, uint32_t a, uint32_t b)
{
	if (!tcp_seq_lt(a, b))
		return 0;
	return (b - a) - sacked_in(sb, a, b);
}

uint32_t tcp_sb_pipe(const struct tcp_scoreboard *sb, uint32_t snd_una, uint32_t snd_nxt,
		     uint32_t mss)
{
	/* RFC 6675 section 4, SetPipe(): "for each octet in the sequence
	 * space between HighACK and HighData that has not been SACKed:
	 *   (a) If IsLost (S1) returns false: Pipe is incremented by 1 octet.
	 *   (b) If S1 <= HighRxt: Pipe is incremented by 1 octet." */
	if (!tcp_seq_lt(snd_una, snd_nxt) || mss == 0)
		return 0;
	uint32_t lb = lost_boundary(sb, snd_una, mss);
	if (tcp_seq_lt(lb, snd_una))
		lb = snd_una;
	if (tcp_seq_gt(lb, snd_nxt))
		lb = snd_nxt;
	uint32_t pipe = unsacked_in(sb, lb, snd_nxt);
	if (sb->high_rxt_valid && tcp_seq_gt(sb->high_rxt, snd_una))
		pipe += unsacked_in(sb, snd_una, tcp_seq_min(sb->high_rxt, snd_nxt));
	return pipe;
}

int tcp_sb_next_seg(struct tcp_scoreboard *sb, uint32_t snd_una, uint32_t snd_nxt,
		    uint32_t mss, uint32_t *seq, uint32_t *len, int *is_retransmit)
{
	if (mss == 0)
		return 0;
	uint32_t high_sacked;
	int have_sack = tcp_sb_high_sacked(sb, &high_sacked);
	/* The smallest unSACKed octet above HighRxt ((1.a)/(3.a): "S2 >
	 * HighRxt") that is below the highest SACKed octet ((1.b)/(3.b)). */
	uint32_t x = snd_una;
	if (sb->high_rxt_valid && tcp_seq_gt(sb->high_rxt, x))
		x = sb->high_rxt;
	const struct tcp_seqrange *r = tcp_seqset_find(&sb->sacked, x);
	if (r)
		x = r->end;
	if (have_sack && tcp_seq_lt(x, high_sacked) && tcp_seq_lt(x, snd_nxt)) {
		const struct tcp_seqrange *nx = tcp_seqset_next(&sb->sacked, x, 0);
		uint32_t end = nx ? nx->start : snd_nxt;
		end = tcp_seq_min(end, snd_nxt);
		uint32_t l = end - x < mss ? end - x : mss;
		uint32_t lb = lost_boundary(sb, snd_una, mss);
		/* Rule (1): "(1.c) IsLost (S2) returns true." -> retransmit. */
		if (tcp_seq_lt(x, lb)) {
			*seq = x;
			*len = l;
			*is_retransmit = 1;
			return 1;
		}
		/* Rule (2): "If no sequence number 'S2' per rule (1) exists but
		 * there exists available unsent data and the receiver's
		 * advertised window allows, the sequence range of one segment
		 * of up to SMSS octets of previously unsent data starting with
		 * sequence number HighData+1 MUST be returned." */
		if (sb->can_send_new) {
			*seq = snd_nxt;
			*len = mss;
			*is_retransmit = 0;
			return 1;
		}
		/* Rule (3): "If the conditions for rules (1) and (2) fail, but
		 * there exists an unSACKed sequence number 'S3' that meets the
		 * criteria for detecting loss given in steps (1.a) and (1.b)
		 * above (specifically excluding step (1.c)), then one segment
		 * of up to SMSS octets starting with S3 SHOULD be returned." */
		*seq = x;
		*len = l;
		*is_retransmit = 1;
		return 1;
	}
	if (sb->can_send_new) {
		*seq = snd_nxt;
		*len = mss;
		*is_retransmit = 0;
		return 1;
	}
	/* Rule (4), the rescue retransmission, is not implemented (it is a
	 * MAY in RFC 6675). */
	return 0;
}

void tcp_sb_on_retransmit(struct tcp_scoreboard *sb, uint32_t seq, uint32_t len)
{
	uint32_t end = seq + len;
	if (!sb->high_rxt_valid || tcp_seq_gt(end, sb->high_rxt)) {
		sb->high_rxt = end;
		sb->high_rxt_valid = 1;
	}
}

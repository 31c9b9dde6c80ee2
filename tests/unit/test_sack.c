/*
 * test_sack.c - RFC 6675 scoreboard: IsLost, SetPipe, NextSeg, HighRxt,
 * D-SACK and invalid blocks, wraparound.
 *
 * Segments are 1000 bytes (SMSS) to keep the arithmetic readable;
 * "segment k" is [base + 1000k, base + 1000(k+1)).
 */
#include "tcp_sack.h"
#include "tt.h"

#define SMSS 1000u

static uint32_t B; /* base sequence number of the current test */
static uint32_t S(unsigned k) { return B + k * SMSS; }

static uint32_t sack(struct tcp_scoreboard *sb, uint32_t una, unsigned from, unsigned to)
{
	struct tcp_seqrange b = { S(from), S(to) };
	return tcp_sb_update(sb, una, &b, 1);
}

static void two_losses_one_window(uint32_t base)
{
	/* 10 segments in flight, segments 0 and 4 lost; the receiver SACKs
	 * 1, 2, 3, then 5, 6, 7, 8, 9. */
	struct tcp_scoreboard sb;
	uint32_t seq, len;
	int rtx;
	B = base;
	tcp_sb_init(&sb);
	uint32_t una = S(0), nxt = S(10);
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 10 * SMSS); /* nothing SACKed */
	TT_ASSERT(!tcp_sb_is_lost(&sb, una, SMSS));

	TT_EQ(sack(&sb, una, 1, 2), SMSS);
	TT_ASSERT(!tcp_sb_is_lost(&sb, una, SMSS));
	TT_EQ(sack(&sb, una, 1, 3), SMSS);
	TT_ASSERT(!tcp_sb_is_lost(&sb, una, SMSS));
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 8 * SMSS);
	/* third SACKed segment: DupThresh reached, segment 0 is lost
	 * (RFC 6675 5 (2): "IsLost (HighACK + 1) returns true") */
	TT_EQ(sack(&sb, una, 1, 4), SMSS);
	TT_ASSERT(tcp_sb_is_lost(&sb, una, SMSS));
	TT_ASSERT(!tcp_sb_is_lost(&sb, S(4), SMSS));
	/* pipe: 10 sent - 3 SACKed - 1 lost = 6 */
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 6 * SMSS);

	tcp_sb_recovery_start(&sb, una);
	sb.can_send_new = 1;
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, S(0));
	TT_EQ(len, SMSS);
	TT_EQ(rtx, 1);
	tcp_sb_on_retransmit(&sb, seq, len);
	/* (b): the retransmission is in flight again */
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 7 * SMSS);
	/* rule 1 finds nothing more: new data (rule 2) */
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, nxt);
	TT_EQ(rtx, 0);
	/* with no new data to send: segment 4 is above the highest SACKed
	 * octet, so not even rule 3 applies */
	sb.can_send_new = 0;
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 0);
	sb.can_send_new = 1;

	/* SACKs for 5 and 6: 2 segments above segment 4, not yet lost */
	struct tcp_seqrange blocks[2] = { { S(5), S(7) }, { S(1), S(4) } };
	TT_EQ(tcp_sb_update(&sb, una, blocks, 2), 2 * SMSS);
	TT_ASSERT(!tcp_sb_is_lost(&sb, S(4), SMSS));
	/* rule 3: no new data, segment 4 is below a SACK but not lost */
	sb.can_send_new = 0;
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, S(4));
	TT_EQ(rtx, 1);
	sb.can_send_new = 1;
	/* rule 2 wins over rule 3 */
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, nxt);
	TT_EQ(rtx, 0);
	/* unSACKed: 0 (lost, retransmitted: 1), 4 (not lost: 1), 7-9 (3) */
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 5 * SMSS);
	/* SACK for 7: second loss identified in the same window */
	blocks[0].end = S(8);
	TT_EQ(tcp_sb_update(&sb, una, blocks, 2), SMSS);
	TT_ASSERT(tcp_sb_is_lost(&sb, S(4), SMSS));
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 3 * SMSS); /* 0 rtx + 8, 9 */
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, S(4));
	TT_EQ(len, SMSS);
	TT_EQ(rtx, 1);
	tcp_sb_on_retransmit(&sb, seq, len);
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 4 * SMSS);

	/* the retransmission of 0 arrives: cumulative ACK to 4 (partial ACK,
	 * RFC 6582), SACK 5-8 */
	una = S(4);
	struct tcp_seqrange b2 = { S(5), S(8) };
	TT_EQ(tcp_sb_update(&sb, una, &b2, 1), 0);
	TT_EQ(tcp_sb_sacked_bytes(&sb), 3 * SMSS);
	/* unSACKed 4 (retransmitted, lost: 1), 8, 9 (2) */
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 3 * SMSS);
	/* the retransmission of 4 arrives: everything through 8 acked */
	una = S(8);
	TT_EQ(tcp_sb_update(&sb, una, NULL, 0), 0);
	TT_EQ(tcp_sb_sacked_bytes(&sb), 0);
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 2 * SMSS);
	TT_EQ(sb.high_rxt_valid, 0);
	tcp_sb_reset(&sb); /* frees the SACKed ranges */
}

TT_TEST(sack_two_losses_in_one_window)
{
	two_losses_one_window(1000000);
}

TT_TEST(sack_two_losses_across_wraparound)
{
	two_losses_one_window(0xFFFFFFFFu - 4500); /* segment 4 straddles 2^32 */
}

TT_TEST(sack_islost_byte_rule_and_small_segments)
{
	struct tcp_scoreboard sb;
	B = 5000;
	tcp_sb_init(&sb);
	/* one contiguous SACKed run of 2*SMSS + 1 bytes: more than
	 * (DupThresh-1)*SMSS bytes -> lost */
	struct tcp_seqrange b = { S(1), S(3) };
	tcp_sb_update(&sb, S(0), &b, 1);
	TT_ASSERT(!tcp_sb_is_lost(&sb, S(0), SMSS));
	b.end = S(3) + 1;
	tcp_sb_update(&sb, S(0), &b, 1);
	TT_ASSERT(tcp_sb_is_lost(&sb, S(0), SMSS));
	/* three discontiguous small SACKed pieces above seq -> lost */
	tcp_sb_reset(&sb); /* frees the SACKed ranges */
	tcp_sb_init(&sb);
	struct tcp_seqrange small[3] = {
		{ S(1), S(1) + 100 }, { S(1) + 200, S(1) + 300 }, { S(1) + 400, S(1) + 500 } };
	tcp_sb_update(&sb, S(0), small, 2);
	TT_ASSERT(!tcp_sb_is_lost(&sb, S(0), SMSS));
	tcp_sb_update(&sb, S(0), small + 2, 1);
	TT_ASSERT(tcp_sb_is_lost(&sb, S(0), SMSS));
	/* the middle hole has only one piece above it */
	TT_ASSERT(!tcp_sb_is_lost(&sb, S(1) + 350, SMSS));
	TT_ASSERT(tcp_sb_is_lost(&sb, S(1) + 150, SMSS) == 0);
	tcp_sb_reset(&sb); /* frees the SACKed ranges */
}

TT_TEST(sack_dsack_and_invalid_blocks)
{
	struct tcp_scoreboard sb;
	B = 0x7FFFFF00u;
	tcp_sb_init(&sb);
	uint32_t una = S(5);
	/* D-SACK below the cumulative ACK (RFC 2883 4.1 example) */
	struct tcp_seqrange d[2] = { { S(3), S(4) }, { S(6), S(7) } };
	TT_EQ(tcp_sb_update(&sb, una, d, 2), SMSS);
	TT_EQ(sb.dsacks, 1);
	/* D-SACK inside the second block: a duplicate above SND.UNA */
	struct tcp_seqrange d2[2] = { { S(6), S(7) }, { S(6), S(8) } };
	TT_EQ(tcp_sb_update(&sb, una, d2, 2), SMSS);
	TT_EQ(sb.dsacks, 2);
	/* reversed, empty, absurdly far: ignored */
	struct tcp_seqrange bad[3] = { { S(9), S(8) }, { S(9), S(9) }, { S(9), S(9) + 0x50000000u } };
	TT_EQ(tcp_sb_update(&sb, una, bad, 3), 0);
	TT_EQ(sb.invalid_blocks, 3);
	/* not-first block below SND.UNA: ignored; straddling: clipped */
	struct tcp_seqrange mix[2] = { { S(10), S(11) }, { S(1), S(2) } };
	TT_EQ(tcp_sb_update(&sb, una, mix, 2), SMSS);
	TT_EQ(sb.invalid_blocks, 4);
	struct tcp_seqrange strad = { S(4), S(5) + 10 };
	struct tcp_seqrange pair[2] = { { S(12), S(13) }, strad };
	TT_EQ(tcp_sb_update(&sb, una, pair, 2), SMSS + 10);
	TT_ASSERT(!tcp_seqset_contains(&sb.sacked, S(5) - 1));
	TT_ASSERT(tcp_seqset_contains(&sb.sacked, S(5)));
	/* repeating known blocks adds nothing */
	TT_EQ(tcp_sb_update(&sb, una, pair, 2), 0);
	uint32_t hs;
	TT_EQ(tcp_sb_high_sacked(&sb, &hs), 1);
	TT_EQ(hs, S(13));
	tcp_sb_reset(&sb);
	TT_EQ(tcp_sb_sacked_bytes(&sb), 0);
	TT_EQ(tcp_sb_high_sacked(&sb, &hs), 0);
	tcp_sb_reset(&sb); /* frees the SACKed ranges */
}

TT_TEST(sack_nextseg_respects_sacked_and_highrxt)
{
	/* A hole shorter than SMSS, and holes retransmitted in order. */
	struct tcp_scoreboard sb;
	uint32_t seq, len;
	int rtx;
	B = 100;
	tcp_sb_init(&sb);
	uint32_t una = S(0), nxt = S(20);
	struct tcp_seqrange b[3] = { { S(10), S(14) }, { S(5), S(8) }, { S(1) - 400, S(3) } };
	tcp_sb_update(&sb, una, b, 3);
	tcp_sb_recovery_start(&sb, una);
	sb.can_send_new = 0;
	/* hole 0: [S0, S1-400) is 600 bytes */
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, S(0));
	TT_EQ(len, 600);
	TT_EQ(rtx, 1);
	tcp_sb_on_retransmit(&sb, seq, len);
	/* next hole [S3, S5): two segments, both lost */
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, S(3));
	TT_EQ(len, SMSS);
	tcp_sb_on_retransmit(&sb, seq, len);
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, S(4));
	tcp_sb_on_retransmit(&sb, seq, len);
	/* hole [S8, S10): 4 segments SACKed above it -> lost */
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, S(8));
	tcp_sb_on_retransmit(&sb, seq, len);
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 1);
	TT_EQ(seq, S(9));
	tcp_sb_on_retransmit(&sb, seq, len);
	/* nothing below the highest SACK is left; no new data: nothing */
	TT_EQ(tcp_sb_next_seg(&sb, una, nxt, SMSS, &seq, &len, &rtx), 0);
	/* pipe: holes 0, 3, 4, 8, 9 lost and retransmitted (count once),
	 * 14..19 not lost */
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 600 + 4 * SMSS + 6 * SMSS);
	tcp_sb_reset(&sb); /* frees the SACKed ranges */
}

TT_TEST(sack_scoreboard_holds_many_holes)
{
	/* every other segment lost in a 120-segment window: 60 SACKed
	 * islands, more than the default set capacity */
	struct tcp_scoreboard sb;
	B = 77;
	tcp_sb_init(&sb);
	uint32_t una = S(0), nxt = S(120);
	for (unsigned k = 1; k < 120; k += 2)
		TT_EQ(sack(&sb, una, k, k + 1), SMSS);
	TT_EQ(tcp_sb_sacked_bytes(&sb), 60 * SMSS);
	TT_EQ(sb.overflow_blocks, 0);
	/* holes 0..114 step 2 have >= 3 SACKed segments above: lost; holes
	 * 116 and 118 have 2 and 1 above: not lost */
	TT_ASSERT(tcp_sb_is_lost(&sb, S(114), SMSS));
	TT_ASSERT(!tcp_sb_is_lost(&sb, S(116), SMSS));
	TT_EQ(tcp_sb_pipe(&sb, una, nxt, SMSS), 2 * SMSS);
	/* four more islands beyond the capacity are counted, not kept */
	nxt = S(140);
	for (unsigned k = 121; k < 140; k += 2)
		sack(&sb, una, k, k + 1);
	TT_EQ(tcp_seqset_count(&sb.sacked), TCP_SEQSET_MAX);
	TT_EQ(sb.overflow_blocks, 70 - TCP_SEQSET_MAX);
	/* a block that merges with a kept island still counts */
	TT_EQ(sack(&sb, una, 2, 3), SMSS);
	tcp_sb_reset(&sb); /* frees the SACKed ranges */
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

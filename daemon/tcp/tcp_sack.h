/*
 * tcp_sack.h - the sender's SACK scoreboard and the loss recovery rules of
 * RFC 6675 ("A Conservative Loss Recovery Algorithm Based on Selective
 * Acknowledgment (SACK) for TCP"): IsLost, SetPipe, NextSeg (rules 1-3),
 * HighRxt.  Built on tcp_seqset; pure arithmetic, no time.
 *
 * Usage by the engine:
 *   on every ACK:      newly = tcp_sb_update(sb, SND.UNA, blocks, n)
 *   loss detection:    tcp_sb_is_lost(sb, SND.UNA, mss) (RFC 6675 5 (2))
 *   while cwnd - pipe >= SMSS during recovery:
 *                      sb->can_send_new = (unsent data && rwnd allows)
 *                      tcp_sb_next_seg(...) -> send it;
 *                      if is_retransmit: tcp_sb_on_retransmit(sb, seq, len)
 *   RTO:               tcp_sb_reset(sb) (RFC 6675 5.1: after a timeout the
 *                      sender SHOULD ... clear the SACK information)
 */
#ifndef TOU_TCP_SACK_H
#define TOU_TCP_SACK_H

#include <stdint.h>

#include "tcp_seqset.h"

/* RFC 6675 section 2: "DupThresh: The number of duplicate acknowledgments
 * required to trigger a fast retransmission.  ... DupThresh = 3" */
#define TCP_SB_DUPTHRESH 3

struct tcp_scoreboard {
	struct tcp_seqset sacked;   /* SACKed ranges above SND.UNA */
	uint32_t high_rxt;          /* HighRxt as an exclusive end: octets below
	                               it were retransmitted in this recovery */
	int high_rxt_valid;
	int can_send_new;           /* set by the caller before NextSeg: unsent
	                               data exists and the peer window allows it
	                               (NextSeg rule 2) */
	uint64_t dsacks;            /* RFC 2883 duplicate-SACK blocks seen */
	uint64_t invalid_blocks;    /* blocks ignored (reversed, too big, below SND.UNA) */
	uint64_t overflow_blocks;   /* blocks that did not fit the set */
};

void tcp_sb_init(struct tcp_scoreboard *sb);
/* Forget all SACK information and HighRxt (after an RTO). */
void tcp_sb_reset(struct tcp_scoreboard *sb);
/* Start a new recovery episode: HighRxt restarts at SND.UNA. */
void tcp_sb_recovery_start(struct tcp_scoreboard *sb, uint32_t snd_una);
/* Take SACK blocks from an ACK whose cumulative ACK is snd_una (already
 * advanced by the caller).  Returns bytes newly SACKed.  Blocks that are
 * empty, reversed, entirely below snd_una or more than 2^30 above it are
 * ignored; RFC 2883 D-SACK blocks (the first block below snd_una or inside
 * the second block) are counted in `dsacks`. */
uint32_t tcp_sb_update(struct tcp_scoreboard *sb, uint32_t snd_una,
		       const struct tcp_seqrange *blocks, unsigned n);
/* tcp_sb_update, and newly(arg, start, end) for each range a block adds
 * that the scoreboard did not hold (before it is added; a range that did
 * not fit the set is reported again by a later block): RACK (tcp_rack.h)
 * marks its segments delivered. */
uint32_t tcp_sb_update_cb(struct tcp_scoreboard *sb, uint32_t snd_una,
			  const struct tcp_seqrange *blocks, unsigned n,
			  void (*newly)(void *arg, uint32_t start, uint32_t end), void *arg);
/* RFC 6675 IsLost(SeqNum): DupThresh discontiguous SACKed segments, or
 * more than (DupThresh - 1) * SMSS bytes, SACKed above seq. */
int tcp_sb_is_lost(const struct tcp_scoreboard *sb, uint32_t seq, uint32_t mss);
/* RFC 6675 SetPipe(): the sender's estimate of octets in flight. */
uint32_t tcp_sb_pipe(const struct tcp_scoreboard *sb, uint32_t snd_una, uint32_t snd_nxt,
		     uint32_t mss);
/* RFC 6675 NextSeg() rules 1-3.  Returns 1 with seq, len set (for rule 2,
 * *seq = snd_nxt, *len = mss and *is_retransmit = 0: the caller sends up to
 * that much new data), or 0 if nothing may be sent. */
int tcp_sb_next_seg(struct tcp_scoreboard *sb, uint32_t snd_una, uint32_t snd_nxt,
		    uint32_t mss, uint32_t *seq, uint32_t *len, int *is_retransmit);
/* [seq, seq+len) was retransmitted: advance HighRxt. */
void tcp_sb_on_retransmit(struct tcp_scoreboard *sb, uint32_t seq, uint32_t len);
/* Bytes SACKed (above SND.UNA). */
uint32_t tcp_sb_sacked_bytes(const struct tcp_scoreboard *sb);
/* Highest octet covered by a SACK, as an exclusive end; 0 and *out unset if none. */
int tcp_sb_high_sacked(const struct tcp_scoreboard *sb, uint32_t *out);

#endif

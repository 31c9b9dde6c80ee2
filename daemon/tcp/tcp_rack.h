/*
 * tcp_rack.h - RACK-TLP loss detection (RFC 8985, "The RACK-TLP Loss
 * Detection Algorithm for TCP"): the per-segment transmission record
 * ("RACK-TLP uses per-segment transmit timestamps and selective
 * acknowledgments (SACKs)") and the RACK rules on it, as pure arithmetic
 * on sequence numbers and times passed in.  The engine glue (what an ACK,
 * a timer or a transmission does to a TCB: recovery, the TLP probe, the
 * timers) is in tcp_rack.c too, below the pure part, and declared in
 * tcp_int.h.
 *
 * The record holds one entry per transmitted segment of [SND.UNA,
 * SND.NXT), in sequence order: its range, the time it was last
 * (re)transmitted (Segment.xmit_ts) and whether it was SACKed, marked lost
 * and not retransmitted since, or retransmitted at all.  A retransmission
 * that covers part of an entry splits it.  The array is allocated as data
 * goes out and given back when the flight is empty; when it cannot grow
 * the segment goes untracked (counted in `nomem`): RACK cannot mark it
 * lost, the RTO still covers it.
 */
#ifndef TOU_TCP_RACK_H
#define TOU_TCP_RACK_H

#include <stdint.h>

#include "tcp.h"
#include "tcp_rate.h"
#include "tcp_winmax.h"

#define TCP_RACK_SACKED 0x1u   /* selectively acknowledged */
#define TCP_RACK_LOST 0x2u     /* marked lost, not retransmitted since */
#define TCP_RACK_RETRANS 0x4u  /* retransmitted at least once */

/* RFC 8985 6.2 step 4: "RACK.reo_wnd_persist = 16" - DSACK-free
 * recoveries before the reordering window multiplier resets. */
#define TCP_RACK_REO_WND_PERSIST 16
/* RFC 8985 7.2: "The RECOMMENDED value for WCDelAckT is 200 ms." */
#define TCP_RACK_WCDELACKT TCP_MS(200)
/* Added to 2 * SRTT when more than one segment is in flight.  RFC 8985
 * 7.2 gives PTO = 2 * SRTT; on a loopback or LAN path SRTT is tens of
 * microseconds, below the scheduling delay of the two daemons, so a bare
 * 2 * SRTT fires probes whose ACK is merely late (a spurious duplicate
 * segment, and under load one that reaches a peer which already closed).
 * Linux's tcp_schedule_loss_probe() likewise adds TCP_TIMEOUT_MIN (2
 * jiffies) to 2 * SRTT.  It changes nothing on paths with SRTT >> 2 ms. */
#define TCP_RACK_PTO_SLACK TCP_MS(2)
/* RFC 6675 2: "DupThresh = 3" (RFC 8985 6.2 step 4 uses it too). */
#define TCP_RACK_DUPTHRESH 3
/* RFC 8985 6.2 step 1: "The sender SHOULD track a windowed min-filtered
 * estimate of recent RTT measurements that can adapt when migrating to
 * significantly longer paths rather than tracking a simple global minimum
 * of all RTT measurements."  The RFC names no window; this is Linux's
 * (net.ipv4.tcp_min_rtt_wlen, default 300 s). */
#define TCP_RACK_MIN_RTT_WLEN TCP_SEC(300)

struct tcp_cc;

struct tcp_rack_seg {
	uint32_t start, end;       /* [start, end) of sequence space */
	tcp_time_t xmit;           /* Segment.xmit_ts: the latest transmission */
	uint32_t flags;            /* TCP_RACK_* */
	struct tcp_rate_pkt rs;    /* the delivery-rate snapshot of that
	                              transmission (when rate->cc is set) */
};

/* What one ACK delivered (filled by tcp_rack_cum_ack/tcp_rack_sacked,
 * consumed by tcp_rack_ack_done). */
struct tcp_rack_ack {
	tcp_time_t now;
	int has_tsecr;             /* the ACK's TSecr ... */
	uint32_t tsecr, ts_offset; /* ... and our TSval clock's offset */
	int best_valid;            /* the most recently sent valid segment delivered */
	tcp_time_t best_xmit;
	uint32_t best_end;
	int delivered;             /* anything newly delivered */
	uint32_t max_end;          /* highest end of what was delivered */
	int reordered;             /* an original segment below RACK.fack delivered */
};

struct tcp_rack {
	struct tcp_rack_seg *q;    /* entries q[head .. head+n) */
	uint32_t head, n, cap;
	uint32_t sacked_bytes;     /* in SACKED entries */
	uint32_t lost_bytes;       /* in LOST entries (awaiting retransmission) */
	uint32_t segs_sacked;      /* RACK.segs_sacked */
	/* RFC 8985 6.1 "Per-Connection State" */
	tcp_time_t xmit_ts;        /* RACK.xmit_ts */
	uint32_t end_seq;          /* RACK.end_seq */
	int seg_valid;             /* RACK.segment exists */
	tcp_time_t rtt;            /* RACK.rtt */
	tcp_time_t min_rtt;        /* RACK.min_RTT (min_filter's minimum), 0 = none yet */
	struct tcp_winmax min_filter; /* RACK.min_RTT's window (TCP_RACK_MIN_RTT_WLEN): the
	                                 maximum of UINT64_MAX - RTT (tcp_winmax.h) */
	uint32_t fack;             /* RACK.fack */
	int fack_valid;
	int reordering_seen;       /* RACK.reordering_seen */
	unsigned reo_wnd_mult;     /* RACK.reo_wnd_mult */
	int reo_wnd_persist;       /* RACK.reo_wnd_persist */
	uint32_t dsack_round;      /* RACK.dsack_round ... */
	int dsack_round_valid;     /* ... or None */
	tcp_time_t reo_wnd;        /* RACK.reo_wnd, the latest computed */
	/* RFC 8985 7.1 TLP state */
	uint32_t tlp_end_seq;      /* TLP.end_seq ... */
	int tlp_on;                /* ... is not None */
	int tlp_is_retrans;        /* TLP.is_retrans */
	int timer;                 /* what TCP_T_RACK is armed for (TCP_RACK_T_*) */
	int was_recovering;        /* in recovery at the end of the last ACK */
	int fast_rtx_due;          /* fast recovery began: the first lost segment
	                              goes before cwnd is consulted (send_marked) */
	int rto_recovery;          /* after an RTO, until SND.UNA passes `recover` */
	uint32_t una_before;       /* SND.UNA before the ACK being processed */
	uint64_t dsacks_before;    /* the scoreboard's D-SACK count before it */
	uint64_t marked;           /* entries ever marked lost */
	struct tcp_rack_ack ack;   /* the ACK being processed */
	uint64_t nomem;            /* segments not tracked for want of memory */
	/* Delivery-rate sampling (tcp_rate.h): the congestion control whose
	 * estimator the record feeds - snapshots stamped at each send
	 * (tcp_rack_rate_stamp), deliveries and loss marks counted - or NULL.
	 * Then the record is kept whatever the loss detection. */
	struct tcp_cc *cc;
};
#define TCP_RACK_T_NONE 0
#define TCP_RACK_T_REO 1       /* RFC 8985 6.2 step 5 reordering timer */
#define TCP_RACK_T_TLP 2       /* RFC 8985 7.2 probe timeout (PTO) */

void tcp_rack_init(struct tcp_rack *r);
/* Give back the record (the connection closes or enters TIME-WAIT). */
void tcp_rack_free(struct tcp_rack *r);
/* [seq, seq+len) was sent at `now`; what lies below `snd_nxt` (SND.NXT
 * before this send) is a retransmission: its entries take the new time,
 * lose their LOST mark and are marked retransmitted. */
void tcp_rack_on_send(struct tcp_rack *r, uint32_t seq, uint32_t len, uint32_t snd_nxt,
		      tcp_time_t now);
/* With r->cc set: stamp the delivery-rate snapshot of the entries of
 * [seq, seq+len) just sent at now (tcp_rate_on_send); `idle`: nothing
 * was in flight before, inflight: C.inflight after the send. */
void tcp_rack_rate_stamp(struct tcp_rack *r, uint32_t seq, uint32_t len, tcp_time_t now,
			 int idle, uint32_t inflight);
/* Start the bookkeeping of one ACK (now, its TSecr if any). */
void tcp_rack_ack_start(struct tcp_rack *r, tcp_time_t now, int has_tsecr, uint32_t tsecr,
			uint32_t ts_offset);
/* The cumulative ACK reached `una`: entries below leave the record; those
 * not SACKed before are delivered. */
void tcp_rack_cum_ack(struct tcp_rack *r, uint32_t una);
/* [start, end) was newly SACKed: its entries are marked and delivered. */
void tcp_rack_sacked(struct tcp_rack *r, uint32_t start, uint32_t end);
/* RFC 8985 6.2 steps 1-3 for the ACK: RACK.min_RTT, RACK.rtt and
 * RACK.segment, RACK.fack and RACK.reordering_seen. */
void tcp_rack_ack_done(struct tcp_rack *r);
/* RFC 8985 6.2 step 1: an RTT sample (> 0) measured at `now` updates
 * RACK.min_RTT, the minimum of the samples of the last
 * TCP_RACK_MIN_RTT_WLEN (older ones are forgotten as samples come). */
void tcp_rack_min_rtt_sample(struct tcp_rack *r, tcp_time_t rtt, tcp_time_t now);
/* RFC 8985 6.2 step 4: RACK.reo_wnd for this ACK. */
tcp_time_t tcp_rack_update_reo_wnd(struct tcp_rack *r, uint32_t snd_una, uint32_t snd_nxt,
				   int dsack, int in_recovery, int exiting_recovery,
				   tcp_time_t srtt);
/* RFC 8985 6.2 step 5: mark lost what RACK says is; returns the time
 * until the next entry may be (0: no timer), *newly the bytes marked. */
tcp_time_t tcp_rack_detect_loss(struct tcp_rack *r, tcp_time_t now, uint32_t *newly);
/* RFC 8985 6.3 on RTO: the first outstanding entry and every one sent
 * more than RACK.rtt + RACK.reo_wnd ago are lost. */
void tcp_rack_mark_losses_on_rto(struct tcp_rack *r, tcp_time_t now);
/* Octets in flight: SND.NXT - SND.UNA less what is SACKed or lost. */
uint32_t tcp_rack_pipe(const struct tcp_rack *r, uint32_t snd_una, uint32_t snd_nxt);
/* The lowest entry marked lost: 1 with its range, or 0. */
int tcp_rack_next_lost(const struct tcp_rack *r, uint32_t *seq, uint32_t *len);
/* The highest entry sent (for the TLP retransmission): 1 or 0. */
int tcp_rack_last(const struct tcp_rack *r, uint32_t *seq, uint32_t *len);

#endif

/*
 * tcp_prr.h - Proportional Rate Reduction (RFC 6937, "Proportional Rate
 * Reduction for TCP"): how much a SACK sender may send on each ACK of a
 * fast recovery, so that the flight falls from FlightSize to the
 * congestion control's ssthresh spread over the round trip (not in a
 * half-RTT silence, RFC 6675's way) and ends at ssthresh.  The Slow Start
 * Reduction Bound (PRR-SSRB, RFC 6937 6: "we believe that there are no
 * reasons not to test and deploy PRR-SSRB at scale") limits what goes
 * once pipe has fallen below ssthresh.
 *
 * The arithmetic is pure (the state, DeliveredData and pipe in, sndcnt
 * out); the engine glue (recovery entry, the per-ACK window, counting what
 * is sent, the end on an RTO) is in tcp_prr.c too and declared in
 * tcp_int.h.  All sizes in bytes.
 */
#ifndef TOU_TCP_PRR_H
#define TOU_TCP_PRR_H

#include <stdint.h>

struct tcp_prr {
	uint64_t delivered;   /* prr_delivered: "Total bytes delivered during recovery" */
	uint64_t out;         /* prr_out: "Total bytes sent during recovery" */
	uint32_t recover_fs;  /* RecoverFS: "FlightSize at the start of recovery" */
	int active;           /* PRR paces the connection's current fast recovery */
};

/* RFC 6937 3, "At the beginning of recovery": prr_delivered = prr_out =
 * 0, RecoverFS = snd.nxt - snd.una (recover_fs). */
void tcp_prr_start(struct tcp_prr *p, uint32_t recover_fs);

/* RFC 6937 2: "DeliveredData = change_in(snd.una) + change_in(SACKd)" for
 * one ACK: SND.UNA and the SACKed bytes above it before and after the
 * ACK (SACKd falls when the cumulative ACK passes SACKed data; those
 * bytes were delivered by an earlier ACK).  Never below 0. */
uint32_t tcp_prr_delivered_data(uint32_t una_before, uint32_t una, uint32_t sacked_before,
				uint32_t sacked);

/* RFC 6937 3, "On every ACK during recovery": prr_delivered +=
 * delivered, then sndcnt - the bytes this ACK allows to send - from pipe
 * (RFC 6675 SetPipe, or RACK's), ssthresh and SMSS: the proportional part
 * while pipe > ssthresh (its CEIL rounded up to a whole SMSS: the engine
 * sends full segments), the PRR-SSRB bound below it.  Never negative. */
uint32_t tcp_prr_sndcnt(struct tcp_prr *p, uint32_t delivered, uint32_t pipe, uint32_t ssthresh,
			uint32_t mss);

/* RFC 6937 3, "On any data transmission or retransmission: prr_out +=
 * (data sent)". */
void tcp_prr_sent(struct tcp_prr *p, uint32_t bytes);

#endif

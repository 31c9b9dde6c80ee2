/*
 * tcp_winmax.h - a windowed running maximum (Kathleen Nichols' algorithm,
 * named by draft-ietf-ccwg-bbr 5.5.5 for its filters; Linux's win_minmax
 * is one too): the best sample of the window, and the best of successively
 * later parts of it, so that when the best ages out of the window the next
 * best is at hand.  Constant space and time per sample.  Times are any
 * increasing count (microseconds, round trips).
 *
 * Users: BBR's extra_acked (tcp_cc_bbr.c, over round trips) and RACK's
 * RACK.min_RTT (tcp_rack.c, over microseconds), a windowed minimum kept as
 * the maximum of the complements UINT64_MAX - sample.
 */
#ifndef TOU_TCP_WINMAX_H
#define TOU_TCP_WINMAX_H

#include <stdint.h>

struct tcp_winmax {
	struct {
		uint64_t t;      /* when it was taken */
		uint64_t v;      /* the sample */
	} s[3];
};

/* Forget everything: sample v at t alone. */
void tcp_winmax_reset(struct tcp_winmax *m, uint64_t t, uint64_t v);
/* Add sample v at time t; the window holds samples with t - sample time
 * <= win.  Returns the windowed maximum. */
uint64_t tcp_winmax_update(struct tcp_winmax *m, uint64_t win, uint64_t t, uint64_t v);

#endif

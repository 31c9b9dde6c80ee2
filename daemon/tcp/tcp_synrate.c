/*
 * tcp_synrate.c - per-source SYN rate limits for listeners under a SYN
 * flood (issue 14): while a listener is pressed (its backlog full, the
 * connection table full, or SYN cookies sent within the last second), one
 * source address - an IPv4 address, an IPv6 /64, whatever its ports - may
 * open at most cfg.syn_rate_per_source connections per second (a burst of
 * as many); its further SYNs are discarded unanswered and counted
 * (tcp_stats DropSynRate).  RFC 4987 3.1 ("filtering") and 3.6 (cookies)
 * keep a flood from exhausting the listener's state; this keeps one
 * sender from taking the share of the SYNs the daemon answers, so clients
 * at other addresses still get theirs.
 *
 * The state is a fixed direct-mapped table (TCP_SYNRATE_SLOTS) keyed by a
 * SipHash of the source under the stack's secret (tcp_siphash24), so a
 * flood of forged sources only replaces slots and costs no memory; two
 * sources sharing a slot replace each other's state (a new source starts
 * with a full burst).  Each slot runs the generic cell rate algorithm
 * (ITU-T I.371 "virtual scheduling"): a theoretical arrival time moves T
 * = 1 s / rate per SYN allowed, and a SYN is allowed while it lies at most
 * (burst - 1) * T ahead of now.
 */
#include <string.h>

#include "tcp_int.h"
#include "tcp_siphash.h"

int tcp_listener_pressed(const struct tcp_listener *l, tcp_time_t now)
{
	const struct tcp_stack *s = l->s;
	return l->pending >= l->backlog || tcp_live_conns(s) >= s->cfg.max_connections ||
	       (l->cookies_sent && now - l->cookie_at < TCP_SEC(1));
}

int tcp_synrate_allow(struct tcp_stack *s, const struct tcp_endpoint *from, tcp_time_t now)
{
	unsigned rate = s->cfg.syn_rate_per_source;
	if (!rate)
		return 1;
	uint8_t msg[10] = { 'R', from->family };
	memcpy(msg + 2, from->addr, from->family == 6 ? 8 : 4); /* IPv6: the /64 */
	uint64_t h = tcp_siphash24(s->secret, msg, from->family == 6 ? 10 : 6);
	struct tcp_synrate_slot *e = &s->synrate[h % TCP_SYNRATE_SLOTS];
	tcp_time_t t = TCP_SEC(1) / rate, burst = (tcp_time_t)(rate - 1) * t;
	if (e->tag != (h | 1)) { /* another source's slot (or empty): a fresh one */
		e->tag = h | 1;
		e->tat = now;
	}
	if (e->tat < now)
		e->tat = now;
	if (e->tat - now > burst)
		return 0;
	e->tat += t;
	return 1;
}

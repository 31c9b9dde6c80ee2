/*
 * tcp_passive.c - segments for a listener (RFC 9293 3.10.7.2 LISTEN): the
 * passive open's TCB (the listener's clone in SYN-RECEIVED), the backlog
 * and its overflow (RFC 4987 3.4), SYN cookies (RFC 4987 3.6) sent and
 * checked, and the listener's allow list, SYN rate and TCP-AO checks on a
 * SYN.  tcp_input_seg (tcp_input.c) hands it what no connection takes.
 */
#include <string.h>

#include "tcp_int.h"
#include "tcp_syncookie.h"

/* The listener's clone for a SYN: "set RCV.NXT to SEG.SEQ+1, IRS is set to
 * SEG.SEQ" and the SYN's options, with TCP-AO when the SYN matched MKT
 * ao_mkt (>= 0); the TCB stays in LISTEN until its ISS is chosen
 * (passive_syn_received). */
static struct tcp_conn *passive_tcb(struct tcp_stack *s, struct tcp_listener *l,
				    const struct tcp_endpoint *from, const struct tcp_seg *syn,
				    int ao_mkt, tcp_time_t now, int *err)
{
	struct tcp_conn *c = tcp_conn_new(s, from, syn->dport, syn->sport, now, err);
	if (!c) {
		s->st.DropListenOverflow++;
		return NULL;
	}
	if (ao_mkt >= 0 && (*err = tcp_ao_conn_passive(c, ao_mkt, syn)) < 0) {
		tcp_conn_closed(c, 0);
		return NULL;
	}
	c->passive = 1;
	c->listener_user = l->user;
	tcp_listener_add_embryo(l, c);
	c->state = TCP_S_LISTEN; /* this TCB is the listener's clone */
	c->irs = syn->seq;
	c->rcv_nxt = syn->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	tcp_syn_options(c, syn, now);
	return c;
}

/* "SND.NXT is set to ISS+1 and SND.UNA to ISS. The connection state should
 * be changed to SYN-RECEIVED." (3.10.7.2) */
static void passive_syn_received(struct tcp_conn *c, const struct tcp_seg *syn, uint32_t iss)
{
	c->iss = iss;
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->rtx_nxt = c->snd_nxt;
	c->snd_buf_seq = c->iss + 1;
	c->snd_wnd = syn->wnd; /* RFC 7323 2.2: never scaled in a SYN */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = syn->seq;
	c->snd_wl2 = 0;
	tcp_set_state(c, TCP_S_SYN_RECEIVED);
}

/* RFC 4987 3.6: the backlog is full; answer the SYN with a SYN,ACK whose
 * ISN is a SYN cookie (tcp_syncookie.h) and keep nothing.  Its options are
 * those a TCB would announce (tcp_send_syn); the peer's window scale and
 * SACK-permitted ride in the TSval's low bits when the SYN has TSopt, and
 * are declined without it (no room to remember them, as Linux does).
 * Text on the SYN is not acknowledged (nowhere to keep it): the peer sends
 * it again after the handshake. */
static void syncookie_send(struct tcp_stack *s, struct tcp_listener *l,
			   const struct tcp_endpoint *from, const struct tcp_seg *seg, tcp_time_t now)
{
	struct tuple_key k;
	tcp_tuple_key(&k, from, seg->dport, seg->sport);
	/* RFC 9293 3.7.1 (MUST-15): no MSS option means 536 (IPv4) / 1220 (IPv6) */
	uint16_t peer_mss = seg->has_mss ? seg->mss : (from->family == 6 ? 1220 : 536);
	unsigned idx = tcp_syncookie_mss_index(peer_mss);
	struct tcp_seg sa;
	memset(&sa, 0, sizeof sa);
	sa.sport = seg->dport;
	sa.dport = seg->sport;
	sa.seq = tcp_syncookie_make(s->secret, &k, sizeof k, seg->seq, idx, now);
	sa.ack = seg->seq + 1;
	sa.flags = TCP_SYN | TCP_ACK;
	/* RFC 7323 2.2: the window of a SYN,ACK is not scaled; a new TCB's
	 * receive space is cfg.recv_buffer (window_to_advertise) */
	sa.wnd = (uint16_t)(s->cfg.recv_buffer < 65535 ? s->cfg.recv_buffer : 65535);
	sa.has_mss = 1;
	sa.mss = tcp_adv_mss(s, from);
	if (s->cfg.timestamps && seg->has_ts) {
		int ws = -1;
		if (s->cfg.window_scaling && seg->has_ws) {
			sa.has_ws = 1;
			sa.ws = tcp_rcv_wscale(s);
			ws = seg->ws;
		}
		sa.sack_perm = s->cfg.sack && seg->sack_perm;
		sa.has_ts = 1;
		/* the clock the TCB will have (tcp_conn_new): the offset is a
		 * function of the 4-tuple */
		sa.tsval = tcp_syncookie_ts_encode((uint32_t)(now / 1000u) +
							   tcp_ts_offset(s, from, seg->dport, seg->sport),
						   ws, sa.sack_perm);
		sa.tsecr = seg->tsval;
	}
	tcp_send_raw(s, from, &sa);
	l->cookies_sent = 1;
	l->cookie_at = now;
	s->st.SyncookiesSent++;
}

/* RFC 4987 3.6: an ACK for a listener that sent SYN cookies lately
 * (within a cookie's lifetime; otherwise it is an ordinary stray ACK and
 * no cookie is guessed at) may return one: SEG.ACK - 1 is our ISN,
 * SEG.SEQ - 1 the peer's.  A valid cookie gives the TCB in SYN-RECEIVED
 * as if the SYN had been kept - MSS from the cookie, window scale and
 * SACK from the TSecr bits, TS.Recent from this segment - and the segment
 * then completes the handshake like any ACK in SYN-RECEIVED (with its
 * text and FIN).  Returns 1 with *out set, 0 when LISTEN rules apply (not
 * a cookie ACK, or a cookie of ours gone stale: RST), or a negative code
 * when the segment is dropped: the cookie is valid but no TCB can be had
 * now (it stays valid for the peer's retransmission), or the cookie is
 * not one we made.  Such an ACK may be forged, or a later segment of a
 * real cookie connection whose handshake ACK was lost - its data, or the
 * ACK it sends when a duplicate SYN,ACK reaches it: SEG.SEQ - 1 is then
 * not its ISN and the cookie cannot be checked.  A RST would kill that
 * connection (Linux sends one); silence lets its retransmission from
 * ISN+1 make it, and answers a forger nothing. */
int tcp_cookie_ack_open(struct tcp_stack *s, struct tcp_listener *l,
			const struct tcp_endpoint *from, const struct tcp_seg *seg, tcp_time_t now,
			struct tcp_conn **out)
{
	/* cookies are only sent for SYNs without TCP-AO (tcp_listen_input) */
	if (!s->cfg.syncookies || !l->cookies_sent || seg->has_ao || l->ao_policy == TCP_AO_REQUIRED ||
	    (seg->flags & (TCP_ACK | TCP_SYN | TCP_RST)) != TCP_ACK ||
	    now - l->cookie_at >= TCP_SYNCOOKIE_MAX_AGE * TCP_SYNCOOKIE_PERIOD)
		return 0;
	struct tuple_key k;
	tcp_tuple_key(&k, from, seg->dport, seg->sport);
	int idx = tcp_syncookie_check(s->secret, &k, sizeof k, seg->seq - 1, seg->ack - 1, now);
	int ws = -1, sack = 0;
	int ts = s->cfg.timestamps && seg->has_ts;
	if (idx >= 0 && ts && tcp_syncookie_ts_decode(seg->tsecr, &ws, &sack) < 0)
		idx = TCP_EINVAL;
	if (idx < 0) {
		s->st.SyncookiesFailed++;
		tcp_log(s, TCP_LOG_DEBUG, "port %u: %s SYN cookie in an ACK from port %u (seq %u len %u)",
			(unsigned)l->port, idx == TCP_ETIMEDOUT ? "stale" : "invalid", (unsigned)seg->sport,
			seg->seq, tcp_seg_seqlen(seg));
		return idx == TCP_EINVAL ? idx : 0;
	}
	/* the SYN the cookie stands for */
	struct tcp_seg syn;
	memset(&syn, 0, sizeof syn);
	syn.sport = seg->sport;
	syn.dport = seg->dport;
	syn.seq = seg->seq - 1;
	syn.flags = TCP_SYN;
	syn.has_mss = 1;
	syn.mss = tcp_syncookie_mss_table[idx];
	if (ts) {
		syn.has_ts = 1;
		syn.tsval = seg->tsval;
		syn.has_ws = ws >= 0 && s->cfg.window_scaling;
		syn.ws = (uint8_t)(ws >= 0 ? ws : 0);
		syn.sack_perm = (uint8_t)sack;
	}
	int err;
	struct tcp_conn *c = passive_tcb(s, l, from, &syn, -1, now, &err);
	if (!c)
		return err;
	s->st.SyncookiesRecv++;
	c->from_cookie = 1;
	/* the window our SYN,ACK announced (syncookie_send) */
	c->rcv_adv = c->rcv_nxt + tcp_rcv_wnd_syn(c);
	passive_syn_received(c, &syn, seg->ack - 1);
	*out = c;
	return 1;
}

int tcp_listen_input(struct tcp_stack *s, struct tcp_listener *l,
		     const struct tcp_endpoint *from, const struct tcp_seg *seg, tcp_time_t now,
		     const uint32_t *isn_above)
{
	/* "First, check for a RST: An incoming RST segment could not be valid
	 * since it could not have been sent in response to anything sent by
	 * this incarnation of the connection. An incoming RST should be
	 * ignored. Return." */
	if (seg->flags & TCP_RST) {
		s->st.DropNoConn++;
		return 0;
	}
	/* "Second, check for an ACK: Any acknowledgment is bad if it arrives on
	 * a connection still in the LISTEN state. An acceptable reset segment
	 * should be formed for any arriving ACK-bearing segment. The RST
	 * should be formatted as follows: <SEQ=SEG.ACK><CTL=RST>" */
	if (seg->flags & TCP_ACK) {
		s->st.DropNoConn++;
		tcp_report_peer(s, from, TCP_PEER_UNPROVEN);
		tcp_send_rst_raw(s, from, seg->dport, seg->sport, seg->ack, 0, TCP_RST);
		return 0;
	}
	/* "Third, check for a SYN" */
	if (!(seg->flags & TCP_SYN)) {
		/* "Fourth, other data or control: ... Any other control or
		 * text-bearing segment (not containing SYN) must have an ACK and
		 * thus would have been discarded by the ACK processing ...
		 * drop the segment and return." */
		s->st.DropNoConn++;
		return 0;
	}
	/* the listener's allow list (tcp_listener_set_allow): a peer outside
	 * it gets what a port nothing listens on answers, or silence */
	if (!tcp_listener_allows(l, from)) {
		s->st.DropListenDenied++;
		l->cnt.denied++;
		if (l->allow_reset) {
			tcp_report_peer(s, from, TCP_PEER_UNPROVEN);
			tcp_send_rst_raw(s, from, seg->dport, seg->sport, 0, seg->seq + tcp_seg_seqlen(seg),
					 TCP_RST | TCP_ACK);
		}
		return 0;
	}
	/* a pressed listener: one source gets its share of the SYNs answered
	 * (tcp_synrate.c), checked before the MAC and the TCB cost anything */
	if (tcp_listener_pressed(l, now) && !tcp_synrate_allow(s, from, now)) {
		s->st.DropSynRate++;
		return 0;
	}
	/* TCP-AO (RFC 5925 7.5.2 1.a): a SYN is authenticated before it makes
	 * a TCB; the check counts what it discards */
	int ao_mkt;
	if (tcp_ao_syn_check(s, l, from, seg, &ao_mkt) < 0) {
		l->cnt.ao_dropped++;
		return 0;
	}
	/* a SYN,ACK answers it, from a TCB or a cookie */
	tcp_report_peer(s, from, TCP_PEER_UNPROVEN);
	if (l->pending >= l->backlog || tcp_live_conns(s) >= s->cfg.max_connections) {
		if (s->cfg.syncookies && !isn_above && ao_mkt < 0) {
			/* RFC 4987 3.6: no state for this SYN, none evicted
			 * (not with TCP-AO: the SYN,ACK's MAC needs the traffic
			 * keys, RFC 5925 5.2, which a cookie does not carry) */
			syncookie_send(s, l, from, seg, now);
			return 0;
		}
		/* RFC 4987 3.4/3.5: a full backlog of half-open connections must
		 * not make the listener unreachable: the oldest SYN-RECEIVED TCB
		 * of this listener is recycled for the new SYN (without cookies,
		 * and for a SYN that reopens a TIME-WAIT connection, whose ISN
		 * must lie above the old one). */
		s->st.DropListenOverflow++;
		if (!l->embryo_head)
			return TCP_ELIMIT;
		tcp_log(s, TCP_LOG_DEBUG, "port %u: backlog full, dropping the oldest half-open connection",
			(unsigned)l->port);
		tcp_conn_closed(l->embryo_head, 0);
	}
	int err;
	/* "set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ, and any other
	 * control or text should be queued for processing later." */
	struct tcp_conn *c = passive_tcb(s, l, from, seg, ao_mkt, now, &err);
	if (!c)
		return err;
	tcp_queue_syn_text(c, seg);
	/* "ISS should be selected and a SYN segment sent of the form:
	 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> SND.NXT is set to ISS+1 and
	 * SND.UNA to ISS. The connection state should be changed to
	 * SYN-RECEIVED." */
	uint32_t iss = tcp_isn(s, c, now);
	/* reopened from TIME-WAIT: RFC 9293 3.6.1 (1) "assigns its initial
	 * sequence number for the new connection to be larger than the
	 * largest sequence number it used on the previous connection
	 * incarnation" */
	if (isn_above && !seq_gt(iss, *isn_above))
		iss = *isn_above + 65536;
	passive_syn_received(c, seg, iss);
	tcp_send_syn(c, now);
	tcp_arm_rtx(c, now);
	return 0;
}

/*
 * tcp_icmp.c - what ICMP errors and failed sends do to a connection:
 * RFC 9293 3.9.2.2 (hard and soft errors), RFC 5927 (checks against
 * spoofed ICMP), RFC 1191 / RFC 8201 (path MTU discovery).  The caller
 * reads the errors (the daemon: IP_RECVERR on its UDP sockets) and
 * classifies them (enum tcp_icmp_kind); this file decides.
 */
#include "tcp_int.h"

/* Header sizes between the IP packet and the TCP payload: tou carries a
 * segment in a UDP datagram (DESIGN 3: MSS = MTU - IP - UDP - TCP). */
#define IPV4_HDR_LEN 20u /* RFC 791 3.1, without options */
#define IPV6_HDR_LEN 40u /* RFC 8200 section 3 */
#define UDP_HDR_LEN 8u   /* RFC 768 */
#define TSOPT_LEN 12u    /* RFC 7323 3: 10 octets, padded to 12 */

const char *tcp_icmp_name(enum tcp_icmp_kind k)
{
	switch (k) {
	case TCP_ICMP_NET_UNREACH: return "network unreachable";
	case TCP_ICMP_HOST_UNREACH: return "host unreachable";
	case TCP_ICMP_PROTO_UNREACH: return "protocol unreachable";
	case TCP_ICMP_PORT_UNREACH: return "port unreachable";
	case TCP_ICMP_PROHIBITED: return "administratively prohibited";
	case TCP_ICMP_FRAG_NEEDED: return "fragmentation needed";
	case TCP_ICMP_TIME_EXCEEDED: return "time exceeded";
	case TCP_ICMP_PARAM_PROBLEM: return "parameter problem";
	case TCP_ICMP_SOURCE_QUENCH: return "source quench";
	case TCP_ICMP_OTHER: return "other ICMP error";
	}
	return "?";
}

uint32_t tcp_pmtu_mss(const struct tcp_conn *c)
{
	if (!c->pmtu)
		return UINT32_MAX;
	uint32_t hdr = (c->remote.family == 6 ? IPV6_HDR_LEN : IPV4_HDR_LEN) + UDP_HDR_LEN + TCP_HDR_LEN;
	return c->pmtu > hdr ? c->pmtu - hdr : 0;
}

/* Destination unreachable and its kin: RFC 9293 3.9.2.2 names codes 2-4
 * (protocol, port unreachable; code 4 is handled as path MTU) "hard error
 * conditions"; RFC 5927 section 5.2 and FreeBSD (whose TCP-over-UDP
 * tunnelling this follows) also end an attempt in SYN-SENT on net and host
 * unreachable and on "administratively prohibited". */
static int ends_attempt(enum tcp_icmp_kind k)
{
	return k == TCP_ICMP_NET_UNREACH || k == TCP_ICMP_HOST_UNREACH ||
	       k == TCP_ICMP_PROTO_UNREACH || k == TCP_ICMP_PORT_UNREACH || k == TCP_ICMP_PROHIBITED;
}

static int is_synchronized(enum tcp_state st)
{
	return st != TCP_S_CLOSED && st != TCP_S_LISTEN && st != TCP_S_SYN_SENT && st != TCP_S_SYN_RECEIVED;
}

/* The "hard errors" RFC 5925 7.8 has a TCP-AO connection ignore, in our
 * kinds: ICMPv4 3/2, 3/3, 3/4; ICMPv6 1/1 and 1/4 (prohibited here also
 * covers ICMPv6 1/5 and 1/6, which are ignored with it). */
static int ao_ignores(const struct tcp_conn *c, enum tcp_icmp_kind k)
{
	if (c->remote.family == 4)
		return k == TCP_ICMP_PROTO_UNREACH || k == TCP_ICMP_PORT_UNREACH || k == TCP_ICMP_FRAG_NEEDED;
	return k == TCP_ICMP_PROHIBITED || k == TCP_ICMP_PORT_UNREACH;
}

static void record(struct tcp_conn *c, const struct tcp_icmp *e)
{
	c->err_kind = (uint8_t)e->kind;
	c->err_local = e->local ? 1 : 0;
	c->err_errno = e->sys_errno;
}

static int can_retransmit(enum tcp_state st)
{
	return st == TCP_S_ESTABLISHED || st == TCP_S_CLOSE_WAIT || st == TCP_S_FIN_WAIT_1 ||
	       st == TCP_S_LAST_ACK || st == TCP_S_CLOSING;
}

/* "Fragmentation needed" (ICMP 3/4) / "Packet Too Big" (ICMPv6 2), or a
 * local EMSGSIZE: the segment at quoted_seq did not fit the path. */
static int lower_mss(struct tcp_conn *c, const struct tcp_icmp *e, tcp_time_t now)
{
	struct tcp_stack *s = c->s;
	uint32_t floor = c->remote.family == 6 ? TCP_PMTU_MIN_IPV6 : TCP_PMTU_MIN_IPV4;
	if (e->mtu < floor) {
		/* RFC 8201 4: "A node MUST NOT reduce its estimate of the Path
		 * MTU below the IPv6 minimum link MTU"; for IPv4 RFC 1191 3
		 * only forbids going below 68 octets, but an MTU below the 576
		 * every host accepts (RFC 791) is a known attack (RFC 5927 7,
		 * "blind performance-degrading attack"): ignored. */
		tcp_log(s, TCP_LOG_INFO, "conn %llu: ignoring a path MTU of %u (below %u)",
			(unsigned long long)c->id, (unsigned)e->mtu, (unsigned)floor);
		return TCP_EINVAL;
	}
	if (c->pmtu && e->mtu >= c->pmtu) {
		/* RFC 1191 3 / RFC 8201 4: "A node MUST NOT increase its
		 * estimate of the Path MTU in response to the contents of a
		 * Packet Too Big message." */
		return TCP_EINVAL;
	}
	c->pmtu = e->mtu;
	uint32_t mss = tcp_pmtu_mss(c);
	if (c->ts_ok && mss > TSOPT_LEN + 64)
		mss -= TSOPT_LEN; /* c->smss excludes the options of every segment */
	if (mss < 64)
		mss = 64; /* the floor of tcp_syn_options() (tcp_input.c) */
	if (c->state == TCP_S_SYN_SENT || mss >= c->smss) {
		/* before the peer's SYN the MSS is not chosen yet: tcp_syn_options()
		 * applies c->pmtu then */
		return 0;
	}
	tcp_log(s, TCP_LOG_INFO, "conn %llu: path MTU %u: send MSS %u -> %u", (unsigned long long)c->id,
		(unsigned)e->mtu, (unsigned)c->smss, (unsigned)mss);
	c->smss = mss;
	s->st.IcmpMssLowered++;
	if (!can_retransmit(c->state) || c->snd_una == c->snd_nxt)
		return 0;
	/* RFC 8201 5.4: "Reception of a Packet Too Big message implies that a
	 * packet was dropped by the node that sent the ICMPv6 message.  A
	 * reliable upper-layer protocol will detect this loss by its own
	 * means, and recover it by its normal retransmission methods" - done
	 * at once here rather than after an RTO, as RFC 1191 6.4 describes:
	 * "a retransmission caused by a Datagram Too Big message should not
	 * change the congestion window.  It should, however, trigger the
	 * slow-start mechanism (i.e., only one segment should be retransmitted
	 * until acknowledgements begin to arrive again)."  One segment of the
	 * new size now; tcp_output() resends the rest from rtx_nxt (go-back-N,
	 * as after an RTO) as ACKs arrive; cwnd and ssthresh stay. */
	uint32_t seq = c->snd_una;
	if (seq_lt(seq, c->snd_buf_seq))
		seq = c->snd_buf_seq;
	uint32_t used = tcp_retransmit_one(c, seq, now);
	c->rtx_nxt = seq + used;
	if (seq_gt(c->rtx_nxt, c->snd_nxt))
		c->rtx_nxt = c->snd_nxt;
	return 0;
}

static int icmp_apply(struct tcp_stack *s, const struct tcp_endpoint *peer, uint16_t lport,
		      uint16_t rport, uint32_t seq, const struct tcp_icmp *e, tcp_time_t now)
{
	if (e->kind == TCP_ICMP_SOURCE_QUENCH) {
		/* RFC 9293 3.9.2.2: "TCP implementations MUST silently discard
		 * any received ICMP Source Quench messages (MUST-55)." */
		s->st.IcmpIgnored++;
		return TCP_EAGAIN;
	}
	struct tcp_conn *c = tcp_conn_lookup(s, peer, lport, rport);
	if (!c || c->detached || c->state == TCP_S_TIME_WAIT || c->state == TCP_S_CLOSED) {
		s->st.IcmpIgnored++;
		return TCP_ENOTCONN;
	}
	/* RFC 5927 4.1: the sequence number in the quoted header must be one
	 * we sent and that is not acknowledged yet, SND.UNA =< SEG.SEQ <
	 * SND.NXT (in SYN-SENT and SYN-RECEIVED: the ISS) - a blind attacker
	 * must guess it. */
	if (!(seq_leq(c->snd_una, seq) && seq_lt(seq, c->snd_nxt))) {
		s->st.IcmpIgnored++;
		tcp_log(s, TCP_LOG_DEBUG, "conn %llu: %s for seq %u outside SND.UNA %u .. SND.NXT %u: ignored",
			(unsigned long long)c->id, tcp_icmp_name(e->kind), (unsigned)seq,
			(unsigned)c->snd_una, (unsigned)c->snd_nxt);
		return TCP_ENOTCONN;
	}
	if (!e->local && c->ao && is_synchronized(c->state) && ao_ignores(c, e->kind)) {
		/* RFC 5925 7.8: "A TCP-AO implementation MUST default to ignore
		 * incoming ICMPv4 messages of Type 3 (destination unreachable),
		 * Codes 2-4 (protocol unreachable, port unreachable, and
		 * fragmentation needed -- 'hard errors'), and ICMPv6 Type 1
		 * (destination unreachable), Code 1 (administratively
		 * prohibited) and Code 4 (port unreachable) intended for
		 * connections in synchronized states ... that match MKTs." */
		s->st.IcmpIgnored++;
		return TCP_EAGAIN;
	}
	if (e->kind == TCP_ICMP_FRAG_NEEDED) {
		int r = lower_mss(c, e, now);
		if (r < 0)
			s->st.IcmpIgnored++;
		return r;
	}
	record(c, e);
	if (ends_attempt(e->kind) && (c->state == TCP_S_SYN_SENT || c->state == TCP_S_SYN_RECEIVED)) {
		/* RFC 9293 3.9.2.2: "These are hard error conditions, so TCP
		 * implementations SHOULD abort the connection (SHLD-26)" - here
		 * while the connection is being opened: our SYN (or SYN,ACK) was
		 * answered by the network rather than by a TCP. */
		s->st.IcmpAborts++;
		tcp_log(s, TCP_LOG_INFO, "conn %llu: %s%s: connection attempt ended",
			(unsigned long long)c->id, tcp_icmp_name(e->kind), e->local ? " (send failed)" : "");
		/* a passive TCB goes away quietly (the listener stays), an
		 * active one reports TCP_EUNREACH */
		tcp_conn_closed(c, c->passive ? 0 : TCP_EUNREACH);
		return 0;
	}
	/* RFC 9293 3.9.2.2: soft errors - "a TCP implementation MUST NOT abort
	 * the connection (MUST-56), and it SHOULD make the information
	 * available to the application (SHLD-25)" (STATUS shows it).  RFC
	 * 5927 5.2: in the synchronized states the hard ones are treated so
	 * too - an ICMP message is easily forged, an RST in the window is not. */
	s->st.IcmpSoft++;
	tcp_log(s, TCP_LOG_DEBUG, "conn %llu: soft error: %s", (unsigned long long)c->id,
		tcp_icmp_name(e->kind));
	return 0;
}

static int valid_kind(enum tcp_icmp_kind k)
{
	return k >= TCP_ICMP_NET_UNREACH && k <= TCP_ICMP_OTHER;
}

int tcp_icmp_error(struct tcp_stack *s, const struct tcp_endpoint *peer, uint16_t local_port,
		   uint16_t remote_port, uint32_t quoted_seq, const struct tcp_icmp *e, tcp_time_t now)
{
	if (!s)
		return TCP_EINVAL;
	s->st.IcmpIn++;
	if (!peer || !e || (peer->family != 4 && peer->family != 6) || !valid_kind(e->kind)) {
		s->st.IcmpIgnored++;
		return TCP_EINVAL;
	}
	tcp_enter(s);
	int r = icmp_apply(s, peer, local_port, remote_port, quoted_seq, e, now);
	tcp_leave(s);
	return r;
}

int tcp_send_failed(struct tcp_stack *s, const struct tcp_endpoint *peer, uint16_t local_port,
		    uint16_t remote_port, uint32_t seq, enum tcp_icmp_kind kind, int sys_errno,
		    tcp_time_t now)
{
	struct tcp_icmp e = { kind, 0, sys_errno, 1 };
	return tcp_icmp_error(s, peer, local_port, remote_port, seq, &e, now);
}

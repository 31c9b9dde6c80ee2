/*
 * test_icmp.c - tcp_icmp_error() and tcp_send_failed(): one test per rule
 * of tcp_icmp.c (RFC 9293 3.9.2.2, RFC 5927, RFC 1191 / RFC 8201).
 */
#include "peer.h"

static struct tcp_icmp icmp_of(enum tcp_icmp_kind k, uint32_t mtu)
{
	struct tcp_icmp e = { k, mtu, 0, 0 };
	return e;
}

/* A SYN-SENT connection from port 1000 to PB/80 with ISS 100. */
static int syn_sent(struct host *a, const struct tcp_config *cfg, struct tcp_conn **c)
{
	if (host_init(a, 1, cfg) != 0)
		return -1;
	a->isn = 100;
	if (tcp_connect(a->s, &PB, 80, 1000, NULL, NULL, T0, c) != 0)
		return -2;
	return host_pop(a) && a->seg.flags == F_SYN ? 0 : -3;
}

static struct tcp_conn_info info_of(const struct tcp_conn *c)
{
	struct tcp_conn_info i;
	memset(&i, 0, sizeof i);
	tcp_conn_info(c, &i);
	return i;
}

/* RFC 9293 3.9.2.2 SHLD-26 with RFC 5927 4.1: a port unreachable quoting
 * our SYN (sequence number ISS) ends the attempt at once as TCP_EUNREACH,
 * sends nothing and stops every timer; STATUS keeps the reason. */
TT_TEST(icmp_port_unreachable_ends_syn_sent)
{
	struct host a;
	struct tcp_conn *c;
	TT_EQ(syn_sent(&a, NULL, &c), 0);
	struct tcp_icmp e = icmp_of(TCP_ICMP_PORT_UNREACH, 0);
	e.sys_errno = 111;
	TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 80, 100, &e, T0 + TCP_MS(1)), 0);
	EXPECT_STATE(c, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&a), TCP_EUNREACH);
	EXPECT_NONE(&a);
	TT_EQ(tcp_next_deadline(a.s), TCP_TIME_NEVER);
	struct tcp_conn_info i = info_of(c);
	TT_EQ(i.error_kind, TCP_ICMP_PORT_UNREACH);
	TT_EQ(i.error_local, 0);
	TT_EQ(i.error_errno, 111);
	struct tcp_stats st = host_stats(&a);
	TT_EQ(st.IcmpIn, 1);
	TT_EQ(st.IcmpAborts, 1);
	TT_EQ(st.AttemptFails, 1);
	TT_STREQ(tcp_strerror(TCP_EUNREACH), "destination unreachable");
	tcp_release(c, T0);
	host_free(&a);
}

/* Net, host, protocol unreachable and "administratively prohibited" end a
 * SYN-SENT attempt as well (RFC 5927 section 5.2, FreeBSD). */
TT_TEST(icmp_unreachable_kinds_end_syn_sent)
{
	const enum tcp_icmp_kind kinds[] = { TCP_ICMP_NET_UNREACH, TCP_ICMP_HOST_UNREACH,
					     TCP_ICMP_PROTO_UNREACH, TCP_ICMP_PROHIBITED };
	for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		struct host a;
		struct tcp_conn *c;
		TT_EQ(syn_sent(&a, NULL, &c), 0);
		struct tcp_icmp e = icmp_of(kinds[k], 0);
		TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 80, 100, &e, T0), 0);
		EXPECT_STATE(c, TCP_S_CLOSED);
		TT_EQ(host_closed_err(&a), TCP_EUNREACH);
		TT_EQ(info_of(c).error_kind, kinds[k]);
		tcp_release(c, T0);
		host_free(&a);
	}
}

/* RFC 5927 4.1: an error whose quoted sequence number is not in
 * SND.UNA..SND.NXT-1 (the ISS in SYN-SENT), or that names another
 * connection (ports, peer address, peer UDP port), changes nothing. */
TT_TEST(icmp_not_matching_is_ignored)
{
	struct host a;
	struct tcp_conn *c;
	TT_EQ(syn_sent(&a, NULL, &c), 0);
	struct tcp_icmp e = icmp_of(TCP_ICMP_PORT_UNREACH, 0);
	TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 80, 101, &e, T0), TCP_ENOTCONN); /* SND.NXT */
	TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 80, 99, &e, T0), TCP_ENOTCONN);
	TT_EQ(tcp_icmp_error(a.s, &PB, 1001, 80, 100, &e, T0), TCP_ENOTCONN);
	TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 81, 100, &e, T0), TCP_ENOTCONN);
	struct tcp_endpoint other = PB;
	other.udp_port = 9812;
	TT_EQ(tcp_icmp_error(a.s, &other, 1000, 80, 100, &e, T0), TCP_ENOTCONN);
	other = PB;
	other.addr[3] = 3;
	TT_EQ(tcp_icmp_error(a.s, &other, 1000, 80, 100, &e, T0), TCP_ENOTCONN);
	struct tcp_icmp bad = icmp_of((enum tcp_icmp_kind)99, 0);
	TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 80, 100, &bad, T0), TCP_EINVAL);
	EXPECT_STATE(c, TCP_S_SYN_SENT);
	TT_EQ(info_of(c).error_kind, 0);
	TT_EQ(host_stats(&a).IcmpIgnored, 7);
	TT_EQ(host_count_ev(&a, TCP_EV_CLOSED), 0);
	/* the SYN is still retransmitted on time */
	tcp_timeout(a.s, T0 + TCP_SEC(1));
	EXPECT_SEG(&a, F_SYN, 100, 0);
	tcp_release(c, T0);
	host_free(&a);
}

/* RFC 9293 3.9.2.2 MUST-56: soft errors (time exceeded, parameter
 * problem, the rest) never abort, not even in SYN-SENT; the latest one is
 * shown (SHLD-25). */
TT_TEST(icmp_soft_error_in_syn_sent_does_not_abort)
{
	struct host a;
	struct tcp_conn *c;
	TT_EQ(syn_sent(&a, NULL, &c), 0);
	struct tcp_icmp e = icmp_of(TCP_ICMP_TIME_EXCEEDED, 0);
	TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 80, 100, &e, T0), 0);
	e.kind = TCP_ICMP_PARAM_PROBLEM;
	TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 80, 100, &e, T0), 0);
	EXPECT_STATE(c, TCP_S_SYN_SENT);
	TT_EQ(host_count_ev(&a, TCP_EV_CLOSED), 0);
	TT_EQ(info_of(c).error_kind, TCP_ICMP_PARAM_PROBLEM);
	TT_EQ(host_stats(&a).IcmpSoft, 2);
	tcp_release(c, T0);
	host_free(&a);
}

/* RFC 9293 3.9.2.2 MUST-55: Source Quench is discarded silently. */
TT_TEST(icmp_source_quench_discarded)
{
	struct host a;
	struct tcp_conn *c;
	TT_EQ(syn_sent(&a, NULL, &c), 0);
	struct tcp_icmp e = icmp_of(TCP_ICMP_SOURCE_QUENCH, 0);
	TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 80, 100, &e, T0), TCP_EAGAIN);
	EXPECT_STATE(c, TCP_S_SYN_SENT);
	TT_EQ(info_of(c).error_kind, 0);
	TT_EQ(host_stats(&a).IcmpIgnored, 1);
	EXPECT_NONE(&a);
	tcp_release(c, T0);
	host_free(&a);
}

/* RFC 5927 5.2: in a synchronized state a hard error (port unreachable)
 * is only recorded: the connection and its data carry on. */
TT_TEST(icmp_hard_error_established_is_soft)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .peer_isn = 100, .isn = 5000), 0);
	TT_EQ(tcp_send(ca, "hello", 5, T0), 5);
	struct tcp_icmp e = icmp_of(TCP_ICMP_PORT_UNREACH, 0);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), 0);
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	TT_EQ(host_count_ev(&a, TCP_EV_CLOSED), 0);
	TT_EQ(info_of(ca).error_kind, TCP_ICMP_PORT_UNREACH);
	TT_EQ(host_stats(&a).IcmpSoft, 1);
	TT_EQ(host_stats(&a).IcmpAborts, 0);
	host_deliver(&a, &b, T0 + TCP_MS(10));
	char buf[16];
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0 + TCP_MS(10)), 5);
	host_free(&a);
	host_free(&b);
}

/* A SYN that cannot be sent (EACCES to a broadcast address, no route)
 * ends the attempt as TCP_EUNREACH with the errno in STATUS. */
TT_TEST(send_failed_syn_ends_unreachable)
{
	struct host a;
	struct tcp_conn *c;
	TT_EQ(syn_sent(&a, NULL, &c), 0);
	TT_EQ(tcp_send_failed(a.s, &PB, 1000, 80, 100, TCP_ICMP_PROHIBITED, 13, T0), 0);
	EXPECT_STATE(c, TCP_S_CLOSED);
	TT_EQ(host_closed_err(&a), TCP_EUNREACH);
	struct tcp_conn_info i = info_of(c);
	TT_EQ(i.error_kind, TCP_ICMP_PROHIBITED);
	TT_EQ(i.error_local, 1);
	TT_EQ(i.error_errno, 13);
	tcp_release(c, T0);
	host_free(&a);
}

/* A data segment that cannot be sent is lost, not fatal: recorded, and
 * the retransmission timer recovers it. */
TT_TEST(send_failed_data_is_soft)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .peer_isn = 100, .isn = 5000), 0);
	TT_EQ(tcp_send(ca, "hello", 5, T0), 5);
	host_drop_all(&a); /* the send failed: it never left */
	TT_EQ(tcp_send_failed(a.s, &b.ep, 1000, 80, 101, TCP_ICMP_HOST_UNREACH, 113, T0), 0);
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	TT_EQ(info_of(ca).error_kind, TCP_ICMP_HOST_UNREACH);
	TT_EQ(info_of(ca).error_local, 1);
	tcp_timeout(a.s, tcp_next_deadline(a.s));
	EXPECT_SEG(&a, F_ACK | F_PSH, 101, 5001);
	TT_EQ(a.seg.len, 5);
	host_free(&a);
	host_free(&b);
}

/* A passive SYN-RECEIVED TCB whose SYN,ACK draws a port unreachable is
 * deleted without a trace for the owner; the listener goes on. */
TT_TEST(icmp_unreachable_deletes_syn_received)
{
	struct host b;
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 8, NULL, &l), 0);
	b.isn = 7000;
	struct peer p = PEER(&b, .flags = F_SYN, .seq = 300);
	peer_send(&p, .now = T0);
	EXPECT_SEG(&b, F_SYN | F_ACK, 7000, 301);
	TT_EQ(host_nconns(&b), 1);
	struct tcp_icmp e = icmp_of(TCP_ICMP_PORT_UNREACH, 0);
	TT_EQ(tcp_icmp_error(b.s, &PA, 80, 1000, 7000, &e, T0), 0);
	TT_EQ(host_nconns(&b), 0);
	TT_EQ(b.nev, 0);
	TT_EQ(tcp_next_deadline(b.s), TCP_TIME_NEVER);
	/* a new SYN is served */
	peer_send(&p, .sport = 1001, .seq = 400, .now = T0);
	EXPECT_SEG(&b, F_SYN | F_ACK, 7000, 401);
	host_free(&b);
}

/* RFC 1191 / RFC 8201 with RFC 5927 4.1: "fragmentation needed" for an
 * unacknowledged segment lowers the send MSS to MTU - IP - UDP - TCP and
 * retransmits ONE segment of the new size at once (RFC 1191 6.4), with
 * cwnd unchanged; the rest follows from SND.UNA as ACKs come back. */
TT_TEST(icmp_frag_needed_lowers_mss_and_retransmits)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .peer_isn = 100, .isn = 5000), 0);
	TT_EQ(info_of(ca).mss, 1000);
	char data[3000];
	memset(data, 'x', sizeof data);
	TT_EQ(tcp_send(ca, data, sizeof data, T0), 3000);
	TT_EQ(a.qlen, 3);
	host_drop_all(&a); /* all three were too big for the path */
	uint32_t cwnd = info_of(ca).cwnd;
	struct tcp_icmp e = icmp_of(TCP_ICMP_FRAG_NEEDED, 700);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 1101, &e, T0 + TCP_MS(5)), 0);
	struct tcp_conn_info i = info_of(ca);
	TT_EQ(i.mss, 700 - 20 - 8 - 20);
	TT_EQ(i.pmtu, 700);
	TT_EQ(i.cwnd, cwnd);
	TT_EQ(host_stats(&a).IcmpMssLowered, 1);
	EXPECT_SEG(&a, F_ACK, 101, 5001);
	TT_EQ(a.seg.len, 652);
	EXPECT_NONE(&a);
	/* its ACK brings the rest, in segments of the new size */
	host_forward_last(&a, &b, T0 + TCP_MS(10));
	TT_EQ(host_count_ev(&b, TCP_EV_READABLE), 1);
	host_deliver(&b, &a, T0 + TCP_MS(20));
	unsigned n = 0;
	uint32_t next = 101 + 652;
	while (host_pop(&a)) {
		TT_EQ(a.seg.seq, next);
		TT_ASSERT(a.seg.len <= 652);
		next += (uint32_t)a.seg.len;
		n++;
	}
	TT_EQ(next, 101 + 3000);
	TT_EQ(n, 4); /* 3000 = 652 * 4 + 392: 1 + 4 segments */
	host_free(&a);
	host_free(&b);
}

/* RFC 1191 3 / RFC 8201 4: a larger (or equal) MTU never raises the
 * estimate; an MTU below the floor (576 for IPv4) is ignored. */
TT_TEST(icmp_frag_needed_never_raises_and_floor)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .peer_isn = 100, .isn = 5000), 0);
	TT_EQ(tcp_send(ca, "hello", 5, T0), 5);
	struct tcp_icmp e = icmp_of(TCP_ICMP_FRAG_NEEDED, 575);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), TCP_EINVAL);
	TT_EQ(info_of(ca).mss, 1000);
	TT_EQ(info_of(ca).pmtu, 0);
	e.mtu = 800;
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), 0);
	TT_EQ(info_of(ca).mss, 800 - 48);
	e.mtu = 900;
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), TCP_EINVAL);
	e.mtu = 800;
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), TCP_EINVAL);
	TT_EQ(info_of(ca).mss, 800 - 48);
	TT_EQ(info_of(ca).pmtu, 800);
	e.mtu = 576;
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), 0);
	TT_EQ(info_of(ca).mss, 576 - 48);
	TT_EQ(host_stats(&a).IcmpMssLowered, 2);
	TT_EQ(host_stats(&a).IcmpIgnored, 3);
	host_free(&a);
	host_free(&b);
}

/* RFC 5927 4.1 for "fragmentation needed": quoting a sequence number
 * already acknowledged or never sent lowers nothing. */
TT_TEST(icmp_frag_needed_checks_sequence)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .peer_isn = 100, .isn = 5000), 0);
	struct tcp_icmp e = icmp_of(TCP_ICMP_FRAG_NEEDED, 700);
	/* nothing in flight: SND.UNA = SND.NXT = 101 */
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), TCP_ENOTCONN);
	TT_EQ(tcp_send(ca, "hello", 5, T0), 5);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 100, &e, T0), TCP_ENOTCONN);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 106, &e, T0), TCP_ENOTCONN);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101 + 100000, &e, T0), TCP_ENOTCONN);
	TT_EQ(info_of(ca).mss, 1000);
	TT_EQ(info_of(ca).pmtu, 0);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 105, &e, T0), 0);
	TT_EQ(info_of(ca).mss, 652);
	host_free(&a);
	host_free(&b);
}

/* IPv6: the header is 40 octets, the floor 1280 (RFC 8200 5, RFC 8201 4);
 * with timestamps the MSS leaves room for the 12 octets of TSopt. */
TT_TEST(icmp_packet_too_big_ipv6_timestamps)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.mss = 1452;
	cfg.timestamps = 1;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	TT_EQ(host_init(&b, 2, &cfg), 0);
	a.ep.family = b.ep.family = 6;
	TT_EQ(pair_establish(&a, &b, 100, 5000, 1000, 80, T0, &ca, &cb), 0);
	TT_EQ(info_of(ca).ts_ok, 1);
	TT_EQ(info_of(ca).mss, 1432 - 12);
	TT_EQ(tcp_send(ca, "hello", 5, T0), 5);
	struct tcp_icmp e = icmp_of(TCP_ICMP_FRAG_NEEDED, 1279);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), TCP_EINVAL);
	TT_EQ(info_of(ca).mss, 1420);
	e.mtu = 1280;
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), 0);
	TT_EQ(info_of(ca).mss, 1280 - 40 - 8 - 20 - 12);
	host_free(&a);
	host_free(&b);
}

/* "Fragmentation needed" before the handshake completes: the path MTU is
 * kept and caps the MSS chosen from the peer's SYN,ACK. */
TT_TEST(icmp_frag_needed_in_syn_sent_caps_mss)
{
	struct host a;
	struct tcp_conn *c;
	TT_EQ(syn_sent(&a, NULL, &c), 0);
	struct tcp_icmp e = icmp_of(TCP_ICMP_FRAG_NEEDED, 800);
	TT_EQ(tcp_icmp_error(a.s, &PB, 1000, 80, 100, &e, T0), 0);
	EXPECT_STATE(c, TCP_S_SYN_SENT);
	struct peer p = PEER(&a, .ep = PB, .port = 80, .hport = 1000);
	TT_EQ(peer_send(&p, .flags = F_SYN | F_ACK, .seq = 9000, .ack = 101, .has_mss = 1, .mss = 1400,
			.now = T0 + TCP_MS(5)), 0);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	TT_EQ(info_of(c).mss, 800 - 48);
	tcp_release(c, T0);
	host_free(&a);
}

/* RFC 5925 7.8: a TCP-AO connection in a synchronized state ignores ICMP
 * port/protocol unreachable and (IPv4) fragmentation needed; other soft
 * errors are still recorded. */
TT_TEST(icmp_tcp_ao_ignores_hard_errors)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(host_init(&a, 1, NULL), 0);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct tcp_ao_key ka, kb;
	memset(&ka, 0, sizeof ka);
	ka.send_id = 1;
	ka.recv_id = 2;
	ka.alg = TCP_AO_HMAC_SHA1_96;
	ka.secret_len = 6;
	memcpy(ka.secret, "secret", 6);
	kb = ka;
	kb.send_id = 2;
	kb.recv_id = 1;
	TT_EQ(tcp_ao_set_keys(a.s, &ka, 1), 0);
	TT_EQ(tcp_ao_set_keys(b.s, &kb, 1), 0);
	TT_EQ(pair_establish(&a, &b, 100, 5000, 1000, 80, T0, &ca, &cb), 0);
	TT_EQ(info_of(ca).ao, 1);
	uint32_t mss = info_of(ca).mss;
	TT_EQ(tcp_send(ca, "hello", 5, T0), 5);
	struct tcp_icmp e = icmp_of(TCP_ICMP_FRAG_NEEDED, 700);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), TCP_EAGAIN);
	e = icmp_of(TCP_ICMP_PORT_UNREACH, 0);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), TCP_EAGAIN);
	TT_EQ(info_of(ca).mss, mss);
	TT_EQ(info_of(ca).pmtu, 0);
	TT_EQ(info_of(ca).error_kind, 0);
	TT_EQ(host_stats(&a).IcmpIgnored, 2);
	e = icmp_of(TCP_ICMP_TIME_EXCEEDED, 0);
	TT_EQ(tcp_icmp_error(a.s, &b.ep, 1000, 80, 101, &e, T0), 0);
	TT_EQ(info_of(ca).error_kind, TCP_ICMP_TIME_EXCEEDED);
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	host_free(&a);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

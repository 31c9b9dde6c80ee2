/*
 * test_peer_proof.c - what a segment proves about its sender (tcp.h
 * callbacks.peer), the signal the daemon learns its reply route from
 * (udp_route.c): a connection accepted it (passed RFC 9293 3.10.7.4's
 * sequence, RST, SYN and ACK checks, or completed a handshake), the engine
 * only answers it (a SYN to a listener, a RST to a closed port), or
 * nothing (dropped, or answered with an ACK only).  The proof is said
 * before the answer is emitted, so the answer leaves by the route it sets.
 */
#include "peer.h"

/* proofs so far: accepted, unproven */
#define PROOFS(h, acc, unp)                                                    \
	do {                                                                   \
		TT_EQ((h)->proofs[TCP_PEER_ACCEPTED], (unsigned)(acc));        \
		TT_EQ((h)->proofs[TCP_PEER_UNPROVEN], (unsigned)(unp));        \
	} while (0)

TT_TEST(passive_open_syn_unproven_handshake_ack_accepted)
{
	struct host b;
	struct peer p;
	TT_EQ(fx_listen(&b, &p), 0);
	/* the SYN is answered (SYN,ACK) but anyone could have sent it */
	peer_send(&p, .flags = F_SYN, .seq = 99);
	PROOFS(&b, 0, 1);
	TT_EQ(b.proof_emitted, 0u); /* said before the SYN,ACK left */
	TT_ASSERT(memcmp(&b.proof_from, &PA, sizeof PA) == 0);
	EXPECT_SEG(&b, F_SYN | F_ACK, 299, 100);
	/* an ACK of something we never sent: a RST from the TCB, no proof */
	peer_send(&p, .seq = 100, .ack = 999);
	PROOFS(&b, 0, 1);
	EXPECT_SEG(&b, F_RST, 999, 0);
	/* the ACK of our SYN,ACK completes the handshake: accepted */
	peer_send(&p, .seq = 100, .ack = 300);
	PROOFS(&b, 1, 1);
	TT_ASSERT(b.accepted != NULL);
	host_free(&b);
}

TT_TEST(established_only_acceptable_segments_prove)
{
	struct host b;
	struct peer p;
	struct tcp_conn *c;
	TT_EQ(fx_passive(&b, &p, &c), 0);
	memset(b.proofs, 0, sizeof b.proofs);
	/* in order data: accepted, before the ACK that answers it */
	unsigned before = b.emitted;
	peer_send(&p, .data = "hello");
	PROOFS(&b, 1, 0);
	TT_EQ(b.proof_emitted, before);
	EXPECT_SEG(&b, F_ACK, 300, 105);
	p.seq += 5;
	/* out of window: answered with an ACK, proves nothing */
	peer_send(&p, .seq = p.seq + 100000, .data = "x");
	PROOFS(&b, 1, 0);
	EXPECT_SEG(&b, F_ACK, 300, 105);
	/* an ACK of data never sent: dropped (with an ACK), nothing */
	peer_send(&p, .ack = 5000);
	PROOFS(&b, 1, 0);
	host_drop_all(&b);
	/* a RST in the window but not at RCV.NXT: challenge ACK, nothing */
	peer_send(&p, .flags = F_RST, .seq = p.seq + 10);
	PROOFS(&b, 1, 0);
	EXPECT_SEG(&b, F_ACK, 300, 105);
	/* a SYN on the live connection: challenge ACK, nothing */
	peer_send(&p, .flags = F_SYN, .seq = 5);
	PROOFS(&b, 1, 0);
	host_drop_all(&b);
	/* a segment without ACK in the window: dropped, nothing */
	peer_send(&p, .flags = 0, .data = "y");
	PROOFS(&b, 1, 0);
	/* a malformed datagram: nothing */
	TT_EQ(tcp_input(b.s, &PA, (const uint8_t *)"", 0, b.now), TCP_EMALFORMED);
	PROOFS(&b, 1, 0);
	/* the next acceptable segment proves again */
	peer_send(&p, .data = "z");
	PROOFS(&b, 2, 0);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	host_free(&b);
}

TT_TEST(active_open_syn_ack_accepted_bad_ack_not)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	a.isn = 100;
	struct tcp_conn *c;
	TT_EQ(tcp_connect(a.s, &PB, 80, 1000, NULL, NULL, a.now, &c), 0);
	EXPECT_SEG(&a, F_SYN, 100, 0);
	struct peer p = PEER(&a, .ep = PB, .port = 80, .hport = 1000, .seq = 300, .ack = 101);
	/* a SYN,ACK acknowledging something else: a RST, no proof */
	peer_send(&p, .flags = F_SYN | F_ACK, .ack = 555);
	PROOFS(&a, 0, 0);
	EXPECT_SEG(&a, F_RST, 555, 0);
	/* the right SYN,ACK completes the handshake: accepted */
	peer_send(&p, .flags = F_SYN | F_ACK);
	PROOFS(&a, 1, 0);
	TT_ASSERT(memcmp(&a.proof_from, &PB, sizeof PB) == 0);
	EXPECT_STATE(c, TCP_S_ESTABLISHED);
	host_free(&a);
}

TT_TEST(closed_port_rst_unproven_rst_to_nothing_silent)
{
	struct host b;
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct peer p = PEER(&b, .seq = 7, .ack = 9);
	/* nothing listens on port 80: answered with a RST */
	peer_send(&p);
	PROOFS(&b, 0, 1);
	EXPECT_SEG(&b, F_RST, 9, 0);
	/* a RST to nothing: dropped unanswered, nothing */
	peer_send(&p, .flags = F_RST);
	PROOFS(&b, 0, 1);
	EXPECT_NONE(&b);
	host_free(&b);
}

TT_TEST(allow_list_silence_says_nothing)
{
	struct host b;
	struct peer p;
	TT_EQ(fx_listen(&b, &p), 0);
	struct tcp_listener *l = NULL;
	TT_EQ(tcp_listen(b.s, 81, 4, NULL, &l), 0);
	struct tcp_prefix only = { .family = 4, .len = 24, .addr = { 192, 0, 2, 0 } };
	TT_EQ(tcp_listener_set_allow(l, &only, 1, 0), 0);
	/* refused in silence: no answer, no proof */
	peer_send(&p, .flags = F_SYN, .dport = 81, .seq = 99);
	PROOFS(&b, 0, 0);
	EXPECT_NONE(&b);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

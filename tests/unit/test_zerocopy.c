/*
 * test_zerocopy.c - the engine calls that let a caller skip copies
 * (tcp.h): segments built in the caller's buffer (callbacks.emit_buf),
 * SEND through tcp_send_space/tcp_send_commit, RECEIVE through
 * tcp_recv_peek/tcp_recv_consume.  Each must behave exactly as the
 * copying call it replaces.
 */
#include "peer.h"


/* Every option on (timestamps, SACK, window scale), Nagle on, 64 KiB
 * buffers. */
static void options_config(struct tcp_config *cfg)
{
	peer_options_config(cfg);
	cfg->send_buffer = 64 * 1024;
	cfg->recv_buffer = 64 * 1024;
}

struct capture {
	unsigned n;
	size_t len[PEER_QMAX];
	uint8_t buf[PEER_QMAX][2048];
};

/* A scripted exchange: handshake, 20000 bytes from a, ACKs, a FIN; every
 * segment a emitted is captured.  emit_buf on or off for a. */
static int run_script(int emit_buf_on, struct capture *cap, unsigned *calls, unsigned *used)
{
	struct tcp_config cfg;
	options_config(&cfg);
	struct host a, b;
	if (host_init(&a, 1, &cfg) != 0 || host_init(&b, 2, &cfg) != 0)
		return -1;
	a.emit_buf_on = emit_buf_on;
	struct tcp_listener *l;
	if (tcp_listen(b.s, 80, 8, NULL, &l) != 0)
		return -2;
	a.isn = 1000;
	b.isn = 5000;
	struct tcp_conn *ca;
	if (tcp_connect(a.s, &b.ep, 80, 1234, NULL, NULL, T0, &ca) != 0)
		return -3;
	static uint8_t data[20000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = peer_pattern(i);
	tcp_time_t now = T0;
	size_t sent = 0;
	int closed = 0;
	cap->n = 0;
	for (int round = 0; round < 200; round++) {
		now += TCP_MS(1);
		if (tcp_conn_state(ca) == TCP_S_ESTABLISHED && sent < sizeof data) {
			ssize_t r = tcp_send(ca, data + sent, sizeof data - sent, now);
			if (r > 0)
				sent += (size_t)r;
		}
		if (sent == sizeof data && !closed) {
			tcp_close(ca, now);
			closed = 1;
		}
		while (a.qlen && cap->n < PEER_QMAX) {
			struct peer_pkt *p = &a.q[a.qhead];
			memcpy(cap->buf[cap->n], p->buf, p->len);
			cap->len[cap->n++] = p->len;
			host_deliver_one(&a, &b, now);
		}
		if (b.accepted) {
			uint8_t sink[4096];
			while (tcp_recv(b.accepted, sink, sizeof sink, now) > 0)
				;
		}
		host_deliver(&b, &a, now);
	}
	*calls = a.emit_buf_calls;
	*used = a.emit_buf_used;
	host_free(&a);
	host_free(&b);
	return 0;
}

/* Segments built in the caller's buffer are byte for byte the segments
 * built in the engine's own; every one of them came from that buffer. */
TT_TEST(zerocopy_emit_buf_same_segments)
{
	static struct capture with, without;
	unsigned calls = 0, used = 0, calls0 = 0, used0 = 0;
	TT_EQ(run_script(0, &without, &calls0, &used0), 0);
	TT_EQ(run_script(1, &with, &calls, &used), 0);
	TT_EQ(calls0, 0);
	TT_EQ(used0, 0);
	TT_ASSERT(without.n > 20); /* SYN, 20000 bytes in 1000-byte segments, FIN */
	TT_EQ(with.n, without.n);
	for (unsigned i = 0; i < with.n; i++) {
		TT_EQ(with.len[i], without.len[i]);
		TT_MEMEQ(with.buf[i], without.buf[i], with.len[i]);
	}
	TT_EQ(used, calls);
	TT_EQ(used, with.n);
}

/* emit_buf may decline (NULL): the engine builds in its own buffer. */
TT_TEST(zerocopy_emit_buf_declined)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .peer_isn = 100, .isn = 300), 0);
	a.emit_buf_on = 0; /* peer_emit_buf returns NULL */
	TT_EQ(tcp_send(ca, "hello", 5, T0), 5);
	EXPECT_SEG(&a, F_ACK | F_PSH, 101, 301);
	TT_EQ(a.seg.len, 5);
	TT_EQ(a.emit_buf_used, 0);
	/* a segment longer than the caller's buffer (2048) is built in ours */
	a.emit_buf_on = 1;
	TT_EQ(tcp_send(ca, "world", 5, T0), 5);
	EXPECT_SEG(&a, F_ACK | F_PSH, 106, 301);
	TT_MEMEQ(a.seg.data, "world", 5);
	TT_EQ(a.emit_buf_used, 1);
	host_free(&a);
	host_free(&b);
}

/* tcp_send_space / tcp_send_commit: the free space of the ring, in two
 * pieces once it wraps; committed bytes are sent as tcp_send sends them. */
TT_TEST(zerocopy_send_space_commit)
{
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	cfg.send_buffer = 4096;
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .cfg = &cfg), 0);
	struct tcp_iov iov[2];
	TT_EQ(tcp_send_space(ca, iov), 4096);
	TT_EQ(iov[0].len, 4096);
	TT_EQ(iov[1].len, 0);
	for (size_t i = 0; i < 3000; i++)
		iov[0].base[i] = peer_pattern(i);
	TT_EQ(tcp_send_commit(ca, 3000, T0), 3000);
	/* 3 segments of 1000 (MSS) */
	TT_EQ(a.qlen, 3);
	for (unsigned i = 0; i < 3; i++)
		TT_EQ(a.q[(a.qhead + i) % PEER_QMAX].len, 20 + 1000);
	TT_EQ(tcp_send_space(ca, iov), 1096);
	TT_EQ(tcp_send_commit(ca, 1097, T0), TCP_EINVAL);
	/* b gets the first segment and ACKs it: 1000 bytes free at the
	 * ring's start, 1096 at its end */
	host_deliver_one(&a, &b, T0 + 1);
	host_deliver(&b, &a, T0 + 2);
	TT_EQ(tcp_send_space(ca, iov), 2096);
	TT_EQ(iov[0].len, 1096);
	TT_EQ(iov[1].len, 1000);
	TT_ASSERT(iov[1].base + 3000 == iov[0].base);
	for (size_t i = 0; i < 2096; i++) {
		uint8_t *p = i < 1096 ? iov[0].base + i : iov[1].base + (i - 1096);
		*p = peer_pattern(3000 + i);
	}
	TT_EQ(tcp_send_commit(ca, 2096, T0 + 3), 2096);
	/* full: nothing free, TCP_EV_WRITABLE wanted */
	TT_EQ(tcp_send_space(ca, iov), 0);
	TT_EQ(tcp_send_commit(ca, 1, T0 + 3), TCP_EINVAL);
	TT_EQ(tcp_send_commit(ca, 0, T0 + 3), 0);
	TT_EQ(host_count_ev(&a, TCP_EV_WRITABLE), 0);
	for (int i = 0; i < 4 && (a.qlen || b.qlen); i++) {
		host_deliver(&a, &b, T0 + 4);
		host_deliver(&b, &a, T0 + 5);
	}
	TT_EQ(host_count_ev(&a, TCP_EV_WRITABLE), 1);
	uint8_t got[5096];
	TT_EQ(tcp_recv(cb, got, sizeof got, T0 + 6), 5096);
	for (size_t i = 0; i < 5096; i++)
		if (got[i] != peer_pattern(i))
			TT_EQ(i, 5096);
	host_free(&a);
	host_free(&b);
}

struct zc_xfer {
	struct tcp_conn *snd, *rcv;
	size_t total, sent, recvd;
	unsigned split_sends, split_peeks;
	int bad, eof, closed;
};

/* The sender writes through tcp_send_space/commit, the receiver reads
 * through tcp_recv_peek/consume, both in odd-sized steps so that the rings
 * wrap in every position. */
static int zc_step(void *arg, tcp_time_t now)
{
	struct zc_xfer *x = arg;
	struct tcp_iov iov[2];
	while (x->sent < x->total) {
		ssize_t room = tcp_send_space(x->snd, iov);
		if (room <= 0)
			break;
		size_t n = x->total - x->sent;
		if (n > (size_t)room)
			n = (size_t)room;
		if (n > 1777)
			n = 1777;
		if (iov[1].len && n > iov[0].len)
			x->split_sends++;
		for (size_t i = 0; i < n; i++) {
			uint8_t *p = i < iov[0].len ? iov[0].base + i : iov[1].base + (i - iov[0].len);
			*p = peer_pattern(x->sent + i);
		}
		if (tcp_send_commit(x->snd, n, now) != (ssize_t)n) {
			x->bad = 1;
			return 1;
		}
		x->sent += n;
	}
	if (x->sent == x->total && !x->closed) {
		tcp_close(x->snd, now);
		x->closed = 1;
	}
	for (;;) {
		ssize_t avail = tcp_recv_peek(x->rcv, iov);
		if (avail == 0) {
			x->eof = 1;
			break;
		}
		if (avail < 0)
			break;
		if ((size_t)avail != iov[0].len + iov[1].len) {
			x->bad = 1;
			return 1;
		}
		if (iov[1].len)
			x->split_peeks++;
		size_t n = (size_t)avail > 1333 ? 1333 : (size_t)avail;
		for (size_t i = 0; i < n; i++) {
			uint8_t v = i < iov[0].len ? iov[0].base[i] : iov[1].base[i - iov[0].len];
			if (v != peer_pattern(x->recvd + i))
				x->bad = 1;
		}
		/* peeking again shows the same bytes: nothing was consumed */
		struct tcp_iov again[2];
		if (tcp_recv_peek(x->rcv, again) != avail || again[0].base != iov[0].base)
			x->bad = 1;
		if (tcp_recv_consume(x->rcv, n, now) != (ssize_t)n) {
			x->bad = 1;
			return 1;
		}
		x->recvd += n;
	}
	return x->eof;
}

TT_TEST(zerocopy_transfer_through_rings)
{
	struct tcp_config cfg;
	options_config(&cfg);
	cfg.send_buffer = 10000;
	cfg.recv_buffer = 7000;
	struct host a, b;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	TT_EQ(host_init(&b, 2, &cfg), 0);
	a.emit_buf_on = 1;
	b.emit_buf_on = 1;
	struct tcp_conn *ca, *cb;
	TT_EQ(pair_establish(&a, &b, 1000, 2000, 1000, 80, T0, &ca, &cb), 0);
	struct zc_xfer x = { ca, cb, 300000, 0, 0, 0, 0, 0, 0, 0 };
	pair_run(&a, &b, T0, T0 + TCP_SEC(60), TCP_MS(5), NULL, NULL, zc_step, &x);
	TT_EQ(x.bad, 0);
	TT_EQ(x.sent, x.total);
	TT_EQ(x.recvd, x.total);
	TT_EQ(x.eof, 1);
	TT_ASSERT(x.split_sends > 0);
	TT_ASSERT(x.split_peeks > 0);
	TT_ASSERT(a.emit_buf_used > 0);
	struct tcp_conn_info info;
	TT_EQ(tcp_conn_info(ca, &info), 0);
	TT_EQ(info.bytes_acked, x.total);
	TT_EQ(info.retransmits, 0);
	host_free(&a);
	host_free(&b);
}

/* tcp_recv_consume opens the window exactly as tcp_recv does: the same
 * window update after the same reads. */
TT_TEST(zerocopy_consume_sends_window_update_as_recv)
{
	uint16_t wnd[2] = { 0, 0 };
	unsigned nseg[2] = { 0, 0 };
	for (int mode = 0; mode < 2; mode++) {
		struct host a, b;
		struct tcp_conn *ca, *cb;
		TT_EQ(fx_pair(&a, &b, &ca, &cb, .peer_isn = 100, .isn = 300), 0);
		uint8_t d[8192];
		memset(d, 'q', sizeof d);
		TT_EQ(tcp_send(ca, d, sizeof d, T0), 8192); /* b's whole window */
		host_deliver(&a, &b, T0);
		host_drop_all(&b); /* its ACKs */
		if (mode == 0) {
			uint8_t sink[8192];
			TT_EQ(tcp_recv(cb, sink, 5000, T0), 5000);
		} else {
			struct tcp_iov iov[2];
			TT_EQ(tcp_recv_peek(cb, iov), 8192);
			TT_EQ(iov[0].len, 8192);
			TT_EQ(iov[0].base[8191], 'q');
			TT_EQ(b.qlen, 0); /* peeking announces nothing */
			TT_EQ(tcp_recv_consume(cb, 8193, T0), TCP_EINVAL);
			TT_EQ(tcp_recv_consume(cb, 5000, T0), 5000);
			TT_EQ(tcp_recv_peek(cb, iov), 3192);
		}
		nseg[mode] = b.qlen;
		if (b.qlen) {
			EXPECT_SEG(&b, F_ACK, 301, 8293);
			wnd[mode] = b.seg.wnd;
		}
		host_free(&a);
		host_free(&b);
	}
	TT_EQ(nseg[0], 1);
	TT_EQ(nseg[1], nseg[0]);
	TT_EQ(wnd[1], wnd[0]);
	TT_EQ(wnd[0], 5000);
}

/* At EOF and after errors tcp_recv_peek answers as tcp_recv; the calls
 * check their arguments; after CLOSE tcp_send_space is "closing". */
TT_TEST(zerocopy_peek_eof_and_errors)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(fx_pair(&a, &b, &ca, &cb, .peer_isn = 100, .isn = 300), 0);
	struct tcp_iov iov[2];
	TT_EQ(tcp_recv_peek(NULL, iov), TCP_EINVAL);
	TT_EQ(tcp_recv_peek(cb, NULL), TCP_EINVAL);
	TT_EQ(tcp_send_space(NULL, iov), TCP_EINVAL);
	TT_EQ(tcp_send_commit(NULL, 1, T0), TCP_EINVAL);
	TT_EQ(tcp_recv_consume(NULL, 1, T0), TCP_EINVAL);
	TT_EQ(tcp_recv_peek(cb, iov), TCP_EAGAIN);
	TT_EQ(iov[0].len, 0);
	TT_EQ(tcp_recv_consume(cb, 1, T0), TCP_EINVAL);
	TT_EQ(tcp_recv_consume(cb, 0, T0), 0);
	TT_EQ(tcp_send(ca, "abc", 3, T0), 3);
	TT_EQ(tcp_close(ca, T0), 0);
	TT_EQ(tcp_send_space(ca, iov), TCP_ECLOSING);
	TT_EQ(tcp_send_commit(ca, 1, T0), TCP_ECLOSING);
	host_deliver(&a, &b, T0); /* "abc" and FIN */
	TT_EQ(tcp_recv_peek(cb, iov), 3);
	TT_MEMEQ(iov[0].base, "abc", 3);
	TT_EQ(tcp_recv_consume(cb, 3, T0), 3);
	TT_EQ(tcp_recv_peek(cb, iov), 0); /* EOF */
	TT_EQ(tcp_abort(cb, T0), 0);
	char one;
	TT_EQ(tcp_recv_peek(cb, iov), tcp_recv(cb, &one, 1, T0));
	/* an aborted connection that had not seen the FIN */
	struct tcp_conn *c2, *s2;
	TT_EQ(pair_establish(&a, &b, 900, 950, 1001, 81, T0, &c2, &s2), 0);
	TT_EQ(tcp_abort(s2, T0), 0);
	TT_EQ(tcp_recv_peek(s2, iov), TCP_EABORTED);
	TT_EQ(tcp_recv(s2, &one, 1, T0), TCP_EABORTED);
	host_free(&a);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

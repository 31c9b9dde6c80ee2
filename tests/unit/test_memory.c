/*
 * test_memory.c - buffers that follow use (issue "Engine at scale"): rings
 * allocated on first need, the receive window grown by auto-tuning with
 * what the application drains per RTT, the send buffer grown with cwnd,
 * rings given back when drained or idle and on entering TIME-WAIT.
 */
#include "peer.h"
#include "tcp_seg.h"

/* tcp_int.h: TCP_RCVBUF_INIT, TCP_RING_KEEP (the public API does not name them) */
#define TCP_RCVBUF_INIT_TEST 65535u
#define TCP_RING_KEEP_TEST (64u * 1024u)

#define T0 TCP_SEC(100)

/* Timestamps and window scaling on (auto-tuning measures the RTT from the
 * echo), default 4 MiB buffers, delayed ACKs off for simple figures. */
static void mem_config(struct tcp_config *cfg)
{
	peer_plain_config(cfg);
	cfg->timestamps = 1;
	cfg->sack = 1;
	cfg->window_scaling = 1;
	cfg->mss = 1452;
	cfg->send_buffer = 4u << 20;
	cfg->recv_buffer = 4u << 20;
	cfg->rto_min = TCP_MS(200);
	cfg->cc = TCP_CC_CUBIC;
}

static struct tcp_mem_info mem(const struct host *h)
{
	struct tcp_mem_info mi;
	tcp_get_mem_info(h->s, &mi);
	return mi;
}

/* Hosts a (1) and b (2) on mem_config: 0, or -1 if either cannot start. */
static int mem_hosts(struct host *a, struct host *b)
{
	struct tcp_config cfg;
	mem_config(&cfg);
	return host_init(a, 1, &cfg) == 0 && host_init(b, 2, &cfg) == 0 ? 0 : -1;
}

/* mem_hosts and a connection a:1000 -> b:80 established at T0. */
static int mem_pair(struct host *a, struct host *b, struct tcp_conn **ca, struct tcp_conn **cb)
{
	if (mem_hosts(a, b) != 0)
		return -1;
	return pair_establish(a, b, 1000, 5000, 1000, 80, T0, ca, cb);
}

static struct tcp_conn_info cinfo(const struct tcp_conn *c)
{
	struct tcp_conn_info i;
	tcp_conn_info(c, &i);
	return i;
}

/* A new, a half-open and an established connection hold no ring. */
TT_TEST(mem_new_half_open_and_idle_connections_have_no_ring)
{
	struct host a, b;
	TT_EQ(mem_hosts(&a, &b), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 8, NULL, &l), 0);
	struct tcp_conn *ca;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 1000, NULL, NULL, T0, &ca), 0);
	EXPECT_STATE(ca, TCP_S_SYN_SENT);
	TT_EQ(mem(&a).conns, 1);
	TT_EQ(mem(&a).snd_rings + mem(&a).rcv_rings, 0);
	host_deliver(&a, &b, T0); /* SYN: b is half-open */
	TT_EQ(mem(&b).conns, 1);
	TT_EQ(mem(&b).snd_rings + mem(&b).rcv_rings, 0);
	host_deliver(&b, &a, T0);
	host_deliver(&a, &b, T0);
	TT_ASSERT(b.accepted != NULL);
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	TT_EQ(mem(&a).snd_rings + mem(&a).rcv_rings + mem(&b).snd_rings + mem(&b).rcv_rings, 0);
	/* the limits are there, the memory is not: the SYN offered 64 KiB
	 * (auto-tuning's start), scaled for the 4 MiB maximum */
	struct tcp_conn_info i = cinfo(b.accepted);
	TT_EQ(i.rcv_buf_alloc, 0);
	TT_EQ(i.snd_buf_alloc, 0);
	TT_EQ(i.rcv_buf_limit, TCP_RCVBUF_INIT_TEST);
	TT_EQ(i.rcv_wscale, 7); /* 4 MiB >> 7 fits 16 bits */
	TT_ASSERT(mem(&a).tcb_bytes <= 4096);
	host_free(&a);
	host_free(&b);
}

/* Rings appear with data and go when drained (small rings at once). */
TT_TEST(mem_rings_follow_data)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(mem_pair(&a, &b, &ca, &cb), 0);
	char d[3000];
	memset(d, 'x', sizeof d);
	TT_EQ(tcp_send(ca, d, sizeof d, T0 + 1), (ssize_t)sizeof d);
	TT_EQ(cinfo(ca).snd_buf_alloc, 4096); /* one page holds it */
	host_deliver(&a, &b, T0 + 2);
	TT_EQ(cinfo(cb).recv_queue, 3000);
	TT_EQ(cinfo(cb).rcv_buf_alloc, 4096);
	host_deliver(&b, &a, T0 + 3); /* the ACK: a's ring is empty, given back */
	TT_EQ(cinfo(ca).send_queue, 0);
	TT_EQ(cinfo(ca).snd_buf_alloc, 0);
	char r[4000];
	TT_EQ(tcp_recv(cb, r, sizeof r, T0 + 4), 3000);
	TT_MEMEQ(r, d, 3000);
	TT_EQ(cinfo(cb).rcv_buf_alloc, 0);
	TT_EQ(mem(&a).snd_ring_bytes + mem(&a).rcv_ring_bytes + mem(&b).snd_ring_bytes +
		      mem(&b).rcv_ring_bytes, 0);
	host_free(&a);
	host_free(&b);
}

/* A bulk transfer over a simulated path: the sender keeps its buffer
 * full, the receiving application drains `drain` bytes per step (0: it
 * never reads).  The filter checks every window b announces: its right
 * edge never moves left (RFC 9293 3.8.6.2.2 SHLD-14, RFC 7323 2.4). */
struct bulk {
	struct tcp_conn *snd, *rcv;
	uint64_t sent, recvd;
	size_t drain;
	uint32_t edge;
	int have_edge, receded;
	uint8_t rcv_ws;
	uint32_t max_wnd;
	tcp_time_t end;   /* the steps stop the run here */
};

static int bulk_filter(void *arg, const struct host *from, const uint8_t *buf, size_t len)
{
	struct bulk *x = arg;
	struct tcp_seg s;
	if (from->ep.addr[3] != 2 || tcp_seg_parse(&s, buf, len) != 0 || !(s.flags & TCP_ACK) ||
	    (s.flags & TCP_SYN))
		return 0;
	uint32_t wnd = (uint32_t)s.wnd << x->rcv_ws;
	uint32_t edge = s.ack + wnd;
	if (x->have_edge && seq_lt(edge, x->edge))
		x->receded = 1;
	if (!x->have_edge || seq_gt(edge, x->edge))
		x->edge = edge;
	x->have_edge = 1;
	if (wnd > x->max_wnd)
		x->max_wnd = wnd;
	return 0;
}

static int bulk_step(void *arg, tcp_time_t now)
{
	struct bulk *x = arg;
	static char chunk[65536];
	if (now >= x->end)
		return 1;
	for (int i = 0; i < 64; i++) {
		ssize_t n = tcp_send(x->snd, chunk, sizeof chunk, now);
		if (n <= 0)
			break;
		x->sent += (uint64_t)n;
	}
	if (x->drain) {
		static char sink[1 << 20];
		size_t want = x->drain < sizeof sink ? x->drain : sizeof sink;
		ssize_t n = tcp_recv(x->rcv, sink, want, now);
		if (n > 0)
			x->recvd += (uint64_t)n;
	}
	return 0;
}

/* Only the receiving application: it reads everything. */
static int drain_step(void *arg, tcp_time_t now)
{
	struct bulk *x = arg;
	static char sink[1 << 16];
	ssize_t n;
	while ((n = tcp_recv(x->rcv, sink, sizeof sink, now)) > 0)
		x->recvd += (uint64_t)n;
	return 0;
}

static int bulk_run(struct host *a, struct host *b, struct bulk *x, tcp_time_t delay,
		    tcp_time_t dur)
{
	struct tcp_conn *ca, *cb;
	if (pair_establish(a, b, 1000, 5000, 1000, 80, T0, &ca, &cb) != 0)
		return -1;
	x->snd = ca;
	x->rcv = cb;
	x->rcv_ws = cinfo(cb).rcv_wscale;
	x->end = T0 + dur;
	pair_run(a, b, T0, T0 + dur, delay, bulk_filter, x, bulk_step, x);
	return 0;
}

/* Two hosts of mem_config() and a bulk run of `dur` between them. */
static int bulk_pair(struct host *a, struct host *b, struct bulk *x, size_t drain, tcp_time_t dur)
{
	if (mem_hosts(a, b) != 0)
		return -1;
	memset(x, 0, sizeof *x);
	x->drain = drain;
	return bulk_run(a, b, x, TCP_MS(5), dur);
}

/* Auto-tuning: with an application that drains everything, the receive
 * limit and the announced window grow far beyond the initial 64 KiB over
 * simulated round trips, never beyond recv_buffer, and the window's right
 * edge never recedes. */
TT_TEST(mem_autotune_grows_with_draining_app)
{
	struct tcp_config cfg;
	mem_config(&cfg);
	struct host a, b;
	struct bulk x;
	TT_EQ(bulk_pair(&a, &b, &x, 1u << 20, TCP_SEC(3)), 0);
	struct tcp_conn_info i = cinfo(x.rcv);
	TT_ASSERT(x.recvd > (8u << 20));
	TT_EQ(x.receded, 0);
	TT_ASSERT(i.rcv_buf_limit >= 4 * TCP_RCVBUF_INIT_TEST);
	TT_ASSERT(i.rcv_buf_limit <= cfg.recv_buffer);
	TT_ASSERT(x.max_wnd > 4 * TCP_RCVBUF_INIT_TEST);
	/* the send buffer grew with cwnd (about twice it) */
	struct tcp_conn_info s = cinfo(x.snd);
	TT_ASSERT(s.snd_buf_limit > 64u * 1024u);
	TT_ASSERT(s.snd_buf_limit >= (2u * s.cwnd < cfg.send_buffer ? 2u * s.cwnd : cfg.send_buffer) -
					     2u * s.mss);
	host_free(&a);
	host_free(&b);
}

/* An application that never reads: its window never grows past what it
 * has buffered (the initial 64 KiB), and the ring holds just that. */
TT_TEST(mem_autotune_non_reading_app_does_not_grow)
{
	struct host a, b;
	struct bulk x;
	TT_EQ(bulk_pair(&a, &b, &x, 0, TCP_SEC(3)), 0);
	struct tcp_conn_info i = cinfo(x.rcv);
	TT_EQ(i.rcv_buf_limit, TCP_RCVBUF_INIT_TEST);
	TT_ASSERT(i.recv_queue >= TCP_RCVBUF_INIT_TEST - 2 * i.mss);
	TT_ASSERT(x.max_wnd <= TCP_RCVBUF_INIT_TEST + (1u << i.rcv_wscale));
	TT_EQ(x.receded, 0);
	TT_ASSERT(i.rcv_buf_alloc <= 128u * 1024u);
	host_free(&a);
	host_free(&b);
}

/* A large ring is kept while used and given back (or shrunk to what it
 * holds) once the connection has been idle for an RTO. */
TT_TEST(mem_idle_releases_and_shrinks_large_rings)
{
	struct host a, b;
	struct bulk x;
	/* a short burst: large rings on both sides */
	TT_EQ(bulk_pair(&a, &b, &x, 1u << 20, TCP_SEC(1)), 0);
	struct tcp_conn_info i = cinfo(x.rcv);
	TT_ASSERT(cinfo(x.snd).snd_buf_alloc > TCP_RING_KEEP_TEST);
	/* the sender's application stops writing; what is queued drains */
	x.end = TCP_TIME_NEVER;
	tcp_time_t now = pair_run(&a, &b, T0 + TCP_SEC(1), T0 + TCP_SEC(30), TCP_MS(5), NULL, NULL,
				  drain_step, &x);
	TT_EQ(cinfo(x.snd).send_queue, 0);
	TT_EQ(cinfo(x.rcv).recv_queue, 0);
	/* the receiver holds 100 bytes unread */
	now += TCP_SEC(1);
	char d[100];
	memset(d, 'y', sizeof d);
	TT_EQ(tcp_send(x.snd, d, sizeof d, now), 100);
	host_deliver(&a, &b, now);
	host_deliver(&b, &a, now);
	i = cinfo(x.rcv);
	TT_EQ(i.recv_queue, 100);
	/* an RTO later, with nothing used: the sender's empty ring is gone,
	 * the receiver's is shrunk to one page holding the 100 bytes */
	host_run_timers(&a, now + TCP_SEC(5));
	host_run_timers(&b, now + TCP_SEC(5));
	TT_EQ(cinfo(x.snd).snd_buf_alloc, 0);
	i = cinfo(x.rcv);
	TT_EQ(i.rcv_buf_alloc, 4096);
	TT_EQ(i.recv_queue, 100);
	/* the limit (and the window) stay: the right edge never recedes */
	TT_ASSERT(i.rcv_buf_limit > TCP_RCVBUF_INIT_TEST);
	char r[200];
	TT_EQ(tcp_recv(x.rcv, r, sizeof r, now + TCP_SEC(6)), 100);
	TT_MEMEQ(r, d, 100);
	TT_EQ(cinfo(x.rcv).rcv_buf_alloc, 0);
	host_free(&a);
	host_free(&b);
}

/* Out-of-order data lives in the receive ring beyond RCV.NXT: the ring
 * grows for it, keeps it across growth, and delivers it in order. */
TT_TEST(mem_out_of_order_data_survives_growth)
{
	struct tcp_config cfg;
	mem_config(&cfg);
	cfg.timestamps = 0;
	struct host a;
	TT_EQ(host_init(&a, 1, &cfg), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(a.s, 80, 8, NULL, &l), 0);
	a.isn = 5000;
	struct peer p = PEER(&a, .wnd = 65535);
	p.ep.addr[3] = 9;
	peer_send(&p, .flags = F_SYN, .seq = 100, .now = T0);
	EXPECT_SEG(&a, F_SYN | F_ACK, 5000, 101);
	peer_send(&p, .seq = 101, .ack = 5001, .now = T0);
	struct tcp_conn *c = a.accepted;
	TT_ASSERT(c != NULL);
	static char seg[1000];
	/* segments 2..40 first (39000 bytes beyond a 1000-byte hole) */
	for (int k = 39; k >= 1; k--) {
		memset(seg, 'A' + k % 26, sizeof seg);
		peer_send(&p, .seq = 101 + 1000u * (uint32_t)k, .ack = 5001, .data = seg,
			  .len = sizeof seg, .now = T0 + 1);
	}
	TT_ASSERT(cinfo(c).rcv_buf_alloc >= 40000);
	TT_EQ(cinfo(c).recv_queue, 0);
	memset(seg, 'A', sizeof seg);
	peer_send(&p, .seq = 101, .ack = 5001, .data = seg, .len = sizeof seg, .now = T0 + 2);
	TT_EQ(cinfo(c).recv_queue, 40000);
	static char r[40000];
	TT_EQ(tcp_recv(c, r, sizeof r, T0 + 3), 40000);
	for (int k = 0; k < 40; k++)
		TT_EQ(r[1000 * k + 999], 'A' + k % 26);
	host_free(&a);
}

/* Entering TIME-WAIT gives both rings back; once released the TCB becomes
 * a compact record of at most 512 bytes (table share included). */
TT_TEST(mem_time_wait_holds_no_ring_and_is_compact)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(mem_pair(&a, &b, &ca, &cb), 0);
	char d[2000];
	memset(d, 'z', sizeof d);
	TT_EQ(tcp_send(cb, d, sizeof d, T0), 2000);
	host_deliver(&b, &a, T0);
	tcp_close(ca, T0 + 1);
	host_deliver(&a, &b, T0 + 1);
	tcp_close(cb, T0 + 2);
	host_deliver(&b, &a, T0 + 2);
	host_deliver(&a, &b, T0 + 2);
	EXPECT_STATE(ca, TCP_S_TIME_WAIT);
	/* unread data stays for the owner; the send ring is gone */
	TT_EQ(cinfo(ca).snd_buf_alloc, 0);
	TT_EQ(cinfo(ca).recv_queue, 2000);
	char r[2000];
	TT_EQ(tcp_recv(ca, r, sizeof r, T0 + 3), 2000);
	TT_EQ(cinfo(ca).rcv_buf_alloc, 0);
	tcp_release(ca, T0 + 3);
	struct tcp_mem_info mi = mem(&a);
	TT_EQ(mi.time_wait, 1);
	TT_EQ(mi.conns, 0);
	TT_EQ(mi.snd_rings + mi.rcv_rings, 0);
	TT_ASSERT(mi.time_wait_bytes > 0);
	TT_ASSERT(mi.time_wait_bytes <= 512);
	TT_EQ(host_nconns(&a), 1);
	host_free(&a);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

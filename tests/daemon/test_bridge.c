/*
 * test_bridge.c - daemon/bridge.c without a daemon: a bridge joins one end
 * of a socketpair (the "app", which this test plays on the other end) to a
 * connection of an in-memory engine (host a) whose peer is a second
 * engine (host b, tests/unit/peer.h).  Segments move between the two by
 * pair_move(); a turn is what the driver does (libuv I/O, then the
 * bridges' phase).  Covers data both ways, backpressure both ways,
 * half-close each way, reset each way (also a TCP app's RST and the RST
 * a TCP app gets), and the end reasons the owner is told.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge.h"
#include "lstream.h"
#include "peer.h"
#include "tou_proto.h"
#include "udp_route.h"

#define PORT 80
#define TURNS_MAX 20000

struct rig {
	uv_loop_t loop;
	struct bridge_set set;
	struct host a, b;       /* a: the bridge's engine; b: the remote peer */
	struct tcp_listener *lb;
	struct bridge *br;
	struct tcp_conn *cb;    /* b's end of the connection */
	int app;                /* the test's end of the stream */
	int tcp_app;            /* the stream is a TCP socket */
	int fd;                 /* the bridge's end, until attached */
	int opened, ended, end_err;
	enum bridge_state state_at_end;
};

static struct rig R;
/* rig_up leaves the bridge PARKED (the test attaches it) when set */
static int rig_park;

/* host a's events go to their owners, as loop.c delivers them */
static void owner_event(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err)
{
	(void)ctx;
	struct tcp_owner *o = user;
	if (o)
		o->event(o, c, ev, err);
}

static void r_opened(struct bridge *b)
{
	struct rig *r = b->owner_ctx;
	r->opened++;
	if (rig_park)
		return;
	struct lstream *ls = NULL;
	if (lstream_open_fd(&r->loop, r->fd, &r->set.pool, &ls) != 0)
		return;
	r->fd = -1;
	if (bridge_attach(b, ls, NULL, 0, 0) != 0)
		lstream_close(ls, 0);
}

static void r_ended(struct bridge *b, int err)
{
	struct rig *r = b->owner_ctx;
	r->ended++;
	r->end_err = err;
	r->state_at_end = b->state;
}

static const struct bridge_ops rig_ops = { r_opened, r_ended };

/* One turn of the driver, and the segments in flight both ways. */
static unsigned turn(struct rig *r)
{
	uv_run(&r->loop, UV_RUN_NOWAIT);
	bridge_run_all(&r->set);
	tcp_time_t now = toud_now();
	tcp_timeout(r->a.s, now);
	tcp_timeout(r->b.s, now);
	unsigned n = pair_move(&r->a, &r->b, now, NULL, NULL) + pair_move(&r->b, &r->a, now, NULL, NULL);
	bridge_run_all(&r->set);
	if (!r->cb && r->b.accepted)
		r->cb = r->b.accepted;
	return n;
}

/* Turns until nothing moves for a few turns in a row. */
static void settle(struct rig *r)
{
	for (int quiet = 0, i = 0; quiet < 4 && i < TURNS_MAX; i++)
		quiet = turn(r) || r->set.ready.len ? 0 : quiet + 1;
}

static void pair_fds(int tcp, int fds[2])
{
	if (!tcp) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
			fds[0] = fds[1] = -1;
		return;
	}
	/* a loopback TCP connection */
	fds[0] = fds[1] = -1;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &sl) != 0) {
		if (l >= 0)
			close(l);
		return;
	}
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c >= 0 && connect(c, (struct sockaddr *)&sa, sizeof sa) == 0) {
		fds[1] = c;
		fds[0] = accept(l, NULL, NULL);
	} else if (c >= 0) {
		close(c);
	}
	close(l);
}

/* A connection from the bridge (host a) to b's listener, established and
 * attached to one end of a socketpair (a TCP connection with tcp). */
static int rig_up(struct rig *r, const struct tcp_config *ca, const struct tcp_config *cb, int tcp)
{
	memset(r, 0, sizeof *r);
	r->fd = r->app = -1;
	if (uv_loop_init(&r->loop) != 0 || bridge_set_init(&r->set, &r->loop) != 0)
		return -1;
	r->set.route = udp_route_new(NULL); /* the peer's route is pinned while it lives */
	if (!r->set.route)
		return -1;
	if (host_init_ev(&r->a, 1, ca, owner_event) != 0 || host_init(&r->b, 2, cb) != 0)
		return -2;
	if (tcp_listen(r->b.s, PORT, 8, NULL, &r->lb) != 0)
		return -3;
	int fds[2];
	pair_fds(tcp, fds);
	if (fds[0] < 0 || fds[1] < 0)
		return -4;
	r->fd = fds[0];
	r->app = fds[1];
	r->tcp_app = tcp;
	fcntl(r->app, F_SETFL, fcntl(r->app, F_GETFL) | O_NONBLOCK);
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	if (bridge_connect(&r->set, r->a.s, &r->b.ep, PORT, &o, 1000, &rig_ops, r, NULL, &r->br) != 0)
		return -5;
	if (r->br->state != BRIDGE_CONNECTING)
		return -6;
	settle(r);
	if (r->opened != 1 || !r->cb || r->br->state != (rig_park ? BRIDGE_PARKED : BRIDGE_OPEN))
		return -7;
	return 0;
}

static void rig_down(struct rig *r)
{
	if (r->app >= 0)
		close(r->app);
	if (r->fd >= 0)
		close(r->fd);
	bridge_close_all(&r->set);
	uv_run(&r->loop, UV_RUN_NOWAIT); /* close callbacks */
	uv_run(&r->loop, UV_RUN_NOWAIT);
	host_free(&r->a);
	host_free(&r->b);
	udp_route_free(r->set.route);
	bridge_set_free(&r->set);
	uv_loop_close(&r->loop);
}

static unsigned pinned(const struct rig *r)
{
	struct udp_route_counters c = { 0 };
	if (r->set.route)
		udp_route_get_counters(r->set.route, &c);
	return c.pinned;
}

static struct tcp_config plain(void)
{
	struct tcp_config c;
	peer_plain_config(&c);
	return c;
}

static uint8_t pat(size_t i, unsigned seed)
{
	return (uint8_t)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

/* The two ends the test plays: the app (its socket) and the remote peer
 * (b's connection).  Each reads or writes what it can now: > 0 bytes,
 * 0 EOF (reads), AGAIN nothing now, or FAILED. */
#define AGAIN (-1)
#define FAILED (-2)
typedef ssize_t (*io_fn)(struct rig *r, uint8_t *buf, size_t n);

static ssize_t app_io(ssize_t k)
{
	return k >= 0 ? k : errno == EAGAIN || errno == EWOULDBLOCK ? AGAIN : FAILED;
}
static ssize_t app_rd(struct rig *r, uint8_t *buf, size_t n)
{
	return app_io(read(r->app, buf, n));
}
static ssize_t app_wr(struct rig *r, uint8_t *buf, size_t n)
{
	return app_io(write(r->app, buf, n));
}
static ssize_t remote_io(ssize_t k)
{
	return k >= 0 ? k : k == TCP_EAGAIN ? AGAIN : FAILED;
}
static ssize_t remote_rd(struct rig *r, uint8_t *buf, size_t n)
{
	return remote_io(tcp_recv(r->cb, buf, n, toud_now()));
}
static ssize_t remote_wr(struct rig *r, uint8_t *buf, size_t n)
{
	ssize_t k = remote_io(tcp_send(r->cb, buf, n, toud_now()));
	return k == 0 ? AGAIN : k; /* 0: the send buffer is full */
}

/* Writes n bytes of pattern `seed`, turning while nothing is taken.
 * Returns the bytes written: n, or fewer once `patience` turns in a row
 * moved nothing (backpressure) or on an error. */
static size_t write_pat(struct rig *r, io_fn wr, size_t n, unsigned seed, int patience)
{
	uint8_t buf[4096];
	size_t done = 0;
	for (int idle = 0; done < n && idle < patience;) {
		size_t k = n - done < sizeof buf ? n - done : sizeof buf;
		for (size_t i = 0; i < k; i++)
			buf[i] = pat(done + i, seed);
		ssize_t w = wr(r, buf, k);
		if (w > 0) {
			done += (size_t)w;
			idle = 0;
			continue;
		}
		if (w != AGAIN)
			break;
		idle = turn(r) ? 0 : idle + 1;
	}
	return done;
}

/* Reads until n bytes, EOF (*eof = 1), an error, or 400 turns in a row
 * without anything moving; checks the pattern.  Returns the bytes read,
 * or (size_t)-1 on a mismatch. */
static size_t read_pat(struct rig *r, io_fn rd, size_t n, unsigned seed, int *eof)
{
	uint8_t buf[8192];
	size_t got = 0;
	*eof = 0;
	for (int idle = 0; got < n && idle < 400;) {
		size_t want = n - got < sizeof buf ? n - got : sizeof buf;
		ssize_t k = rd(r, buf, want);
		if (k > 0) {
			for (ssize_t i = 0; i < k; i++)
				if (buf[i] != pat(got + (size_t)i, seed))
					return (size_t)-1;
			got += (size_t)k;
			idle = 0;
			continue;
		}
		if (k == 0) {
			*eof = 1;
			break;
		}
		if (k != AGAIN)
			break;
		idle = turn(r) ? 0 : idle + 1;
	}
	return got;
}

#define PATIENT 400 /* turns without progress before a write gives up */
#define app_write(r, n, seed) write_pat(r, app_wr, n, seed, PATIENT)
#define app_read(r, n, seed, eof) read_pat(r, app_rd, n, seed, eof)
#define remote_send(r, n, seed) write_pat(r, remote_wr, n, seed, PATIENT)
#define remote_read(r, n, seed, eof) read_pat(r, remote_rd, n, seed, eof)

/* Did the app see EOF (within a few turns)? */
static int app_sees_eof(struct rig *r)
{
	int eof = 0;
	uint8_t c;
	for (int i = 0; i < 400 && !eof; i++) {
		ssize_t k = app_rd(r, &c, 1);
		if (k == 0)
			return 1;
		if (k != AGAIN)
			return 0;
		turn(r);
	}
	return 0;
}

static int remote_sees_eof(struct rig *r)
{
	int eof = 0;
	size_t got = remote_read(r, 1, 0, &eof);
	return got == 0 && eof;
}

/* ---- the tests ---- */

TT_TEST(bridge_data_both_ways)
{
	struct tcp_config c = plain();
	TT_EQ(rig_up(&R, &c, &c, 0), 0);
	TT_STREQ(bridge_state_name(R.br->state), "open");
	int eof;
	TT_EQ(app_write(&R, 100000, 1), 100000);
	TT_EQ(remote_read(&R, 100000, 1, &eof), 100000);
	TT_EQ(eof, 0);
	TT_EQ(remote_send(&R, 120000, 2), 120000);
	TT_EQ(app_read(&R, 120000, 2, &eof), 120000);
	TT_EQ(eof, 0);
	/* both at once */
	TT_EQ(app_write(&R, 30000, 3), 30000);
	TT_EQ(remote_send(&R, 30000, 4), 30000);
	TT_EQ(app_read(&R, 30000, 4, &eof), 30000);
	TT_EQ(remote_read(&R, 30000, 3, &eof), 30000);
	TT_EQ(R.ended, 0);
	TT_EQ(R.set.live, 1);
	TT_EQ(pinned(&R), 1);
	rig_down(&R);
}

/* The API's handover (bridge_attach_answer): bytes the peer sent while the
 * bridge was parked (a server's greeting) reach the app right after the
 * answer line, in order, written with it; the stream then carries on both
 * ways. */
TT_TEST(bridge_answer_then_early_bytes)
{
	struct tcp_config c = plain();
	rig_park = 1;
	int up = rig_up(&R, &c, &c, 0);
	rig_park = 0;
	TT_EQ(up, 0);
	TT_EQ(remote_send(&R, 3000, 5), 3000);
	settle(&R);
	struct lstream *ls = NULL;
	TT_EQ(lstream_open_fd(&R.loop, R.fd, &R.set.pool, &ls), 0);
	R.fd = -1;
	const char *answer = "OK 7 127.0.0.1:1/80 127.0.0.2:1/1000\n";
	size_t alen = strlen(answer);
	TT_EQ(bridge_attach_answer(R.br, ls, answer, NULL, 0, 0), 0);
	TT_STREQ(bridge_state_name(R.br->state), "open");
	/* nothing else ran: the answer and the 3000 bytes are in the socket */
	uint8_t buf[4096];
	size_t got = 0;
	for (ssize_t k; got < alen + 3000 && (k = read(R.app, buf + got, sizeof buf - got)) > 0;)
		got += (size_t)k;
	TT_EQ(got, alen + 3000);
	TT_ASSERT(memcmp(buf, answer, alen) == 0);
	for (size_t i = 0; i < 3000; i++)
		TT_EQ(buf[alen + i], pat(i, 5));
	int eof;
	TT_EQ(app_write(&R, 20000, 6), 20000);
	TT_EQ(remote_read(&R, 20000, 6, &eof), 20000);
	TT_EQ(remote_send(&R, 20000, 7), 20000);
	TT_EQ(app_read(&R, 20000, 7, &eof), 20000);
	TT_EQ(eof, 0);
	rig_down(&R);
}

/* The peer does not read: its window and our send buffer fill, the bridge
 * holds what it read and stops reading, the app's socket fills up (its
 * write blocks).  Then the peer reads: every byte arrives, in order. */
TT_TEST(bridge_backpressure_app_to_peer)
{
	struct tcp_config c = plain();
	TT_EQ(rig_up(&R, &c, &c, 0), 0);
	size_t w = write_pat(&R, app_wr, 64u << 20, 5, 200);
	TT_ASSERT(w < (64u << 20)); /* the app was stopped */
	struct tcp_conn_info ia;
	TT_EQ(tcp_conn_info(R.br->tc, &ia), 0);
	TT_EQ(ia.send_queue, c.send_buffer);             /* the engine's buffer is full */
	TT_ASSERT(R.br->held_len - R.br->held_off > 0); /* the rest is held, reading stopped */
	int eof;
	TT_EQ(remote_read(&R, w, 5, &eof), w);
	TT_EQ(R.br->held_len, 0);
	/* reading resumed: more goes through */
	TT_EQ(app_write(&R, 10000, 6), 10000);
	TT_EQ(remote_read(&R, 10000, 6, &eof), 10000);
	rig_down(&R);
}

/* The app does not read: the bridge queues up to BRIDGE_WQ_HIGH, then
 * leaves the bytes in the engine, whose window closes.  Then the app
 * reads: every byte arrives, in order, and the window opens again. */
TT_TEST(bridge_backpressure_peer_to_app)
{
	struct tcp_config c = plain();
	c.recv_buffer = 64 * 1024;
	c.send_buffer = 64 * 1024;
	TT_EQ(rig_up(&R, &c, &c, 0), 0);
	size_t sent = 0;
	struct tcp_conn_info ia = { 0 };
	for (int i = 0; i < TURNS_MAX; i++) {
		uint8_t buf[4096];
		for (size_t k = 0; k < sizeof buf; k++)
			buf[k] = pat(sent + k, 7);
		ssize_t n = tcp_send(R.cb, buf, sizeof buf, toud_now());
		if (n > 0)
			sent += (size_t)n;
		turn(&R);
		TT_EQ(tcp_conn_info(R.br->tc, &ia), 0);
		if (ia.rcv_wnd < c.mss)
			break;
	}
	/* our window closed (to less than one segment: receiver SWS
	 * avoidance, RFC 9293 3.8.6.2.2, does not reopen it in crumbs) */
	TT_ASSERT(ia.rcv_wnd < c.mss);
	TT_ASSERT(ia.recv_queue > 0);                  /* bytes left in the engine */
	TT_ASSERT(R.br->ls->queued >= BRIDGE_WQ_HIGH); /* the bridge stopped taking */
	int eof;
	TT_EQ(app_read(&R, sent, 7, &eof), sent);
	TT_EQ(tcp_conn_info(R.br->tc, &ia), 0);
	TT_ASSERT(ia.rcv_wnd >= c.mss);
	TT_EQ(R.br->ls->queued, 0);
	rig_down(&R);
}

/* The app shuts its side: the peer reads the data, then EOF; the peer's
 * data still reaches the app; the peer's FIN ends it cleanly. */
TT_TEST(bridge_half_close_from_app)
{
	struct tcp_config c = plain();
	TT_EQ(rig_up(&R, &c, &c, 0), 0);
	int eof;
	TT_EQ(app_write(&R, 20000, 8), 20000);
	TT_EQ(shutdown(R.app, SHUT_WR), 0);
	TT_EQ(remote_read(&R, 20000, 8, &eof), 20000);
	TT_ASSERT(remote_sees_eof(&R));
	TT_STREQ(bridge_state_name(R.br->state), "app-shut");
	TT_EQ(tcp_conn_state(R.cb), TCP_S_CLOSE_WAIT);
	TT_EQ(remote_send(&R, 50000, 9), 50000);
	TT_EQ(app_read(&R, 50000, 9, &eof), 50000);
	TT_EQ(R.ended, 0);
	TT_EQ(tcp_close(R.cb, toud_now()), 0);
	TT_ASSERT(app_sees_eof(&R));
	settle(&R);
	TT_EQ(R.ended, 1);
	TT_EQ(R.end_err, 0);
	TT_STREQ(bridge_end_reason(R.end_err), TOU_END_FIN);
	TT_EQ(R.set.live, 0);
	TT_EQ(pinned(&R), 0);
	rig_down(&R);
}

/* The peer shuts its side: the app reads the data, then EOF; the app's
 * data still reaches the peer; the app's shutdown ends it cleanly. */
TT_TEST(bridge_half_close_from_peer)
{
	struct tcp_config c = plain();
	TT_EQ(rig_up(&R, &c, &c, 0), 0);
	int eof;
	TT_EQ(remote_send(&R, 30000, 10), 30000);
	TT_EQ(tcp_close(R.cb, toud_now()), 0);
	TT_EQ(app_read(&R, 30001, 10, &eof), 30000);
	TT_EQ(eof, 1);
	TT_STREQ(bridge_state_name(R.br->state), "peer-shut");
	TT_EQ(app_write(&R, 40000, 11), 40000);
	TT_EQ(remote_read(&R, 40000, 11, &eof), 40000);
	TT_EQ(R.ended, 0);
	TT_EQ(shutdown(R.app, SHUT_WR), 0);
	TT_ASSERT(remote_sees_eof(&R));
	settle(&R);
	TT_EQ(R.ended, 1);
	TT_EQ(R.end_err, 0);
	TT_STREQ(bridge_end_reason(R.end_err), TOU_END_FIN);
	rig_down(&R);
}

/* The peer resets: the bytes it sent before still reach the app, then
 * EOF; the owner is told "reset". */
TT_TEST(bridge_reset_from_peer)
{
	struct tcp_config c = plain();
	TT_EQ(rig_up(&R, &c, &c, 0), 0);
	int eof;
	TT_EQ(remote_send(&R, 5000, 12), 5000);
	settle(&R);
	TT_EQ(tcp_abort(R.cb, toud_now()), 0);
	R.cb = NULL;
	settle(&R);
	TT_EQ(R.ended, 1);
	TT_EQ(R.end_err, TCP_ECONNRESET);
	TT_STREQ(bridge_end_reason(R.end_err), TOU_END_RESET);
	TT_EQ(app_read(&R, 5001, 12, &eof), 5000);
	TT_EQ(eof, 1);
	rig_down(&R);
}

/* A TCP app gets the peer's reset as a reset (SO_LINGER 0 close). */
TT_TEST(bridge_reset_from_peer_tcp_app)
{
	struct tcp_config c = plain();
	TT_EQ(rig_up(&R, &c, &c, 1), 0);
	TT_ASSERT(R.br->ls->is_tcp);
	TT_EQ(tcp_abort(R.cb, toud_now()), 0);
	R.cb = NULL;
	settle(&R);
	TT_EQ(R.end_err, TCP_ECONNRESET);
	char x;
	ssize_t k = -1;
	for (int i = 0; i < 400; i++) {
		k = read(R.app, &x, 1);
		if (k >= 0 || errno != EAGAIN)
			break;
		turn(&R);
	}
	TT_EQ(k, -1);
	TT_EQ(errno, ECONNRESET);
	rig_down(&R);
}

/* The app vanishes while the bridge holds bytes for it: the peer gets a
 * RST (data was lost), the owner is told "aborted". */
TT_TEST(bridge_reset_from_app_gone)
{
	struct tcp_config c = plain();
	c.recv_buffer = 64 * 1024;
	c.send_buffer = 64 * 1024;
	TT_EQ(rig_up(&R, &c, &c, 0), 0);
	/* more than the socketpair takes: the rest queues in the bridge */
	for (int i = 0; i < TURNS_MAX && R.br->ls->queued == 0; i++) {
		uint8_t buf[4096] = { 0 };
		tcp_send(R.cb, buf, sizeof buf, toud_now());
		turn(&R);
	}
	TT_ASSERT(R.br->ls->queued > 0);
	close(R.app);
	R.app = -1;
	settle(&R);
	TT_EQ(R.ended, 1);
	TT_EQ(R.end_err, TCP_EABORTED);
	TT_STREQ(bridge_end_reason(R.end_err), TOU_END_ABORTED);
	TT_EQ(R.set.aborted_app_gone, 1);
	TT_EQ(tcp_conn_state(R.cb), TCP_S_CLOSED);
	TT_EQ(host_closed_err(&R.b), TCP_ECONNRESET);
	rig_down(&R);
}

/* A TCP app's RST resets the connection. */
TT_TEST(bridge_reset_from_tcp_app)
{
	struct tcp_config c = plain();
	TT_EQ(rig_up(&R, &c, &c, 1), 0);
	int eof;
	TT_EQ(app_write(&R, 1000, 13), 1000);
	TT_EQ(remote_read(&R, 1000, 13, &eof), 1000);
	struct linger lg = { 1, 0 };
	TT_EQ(setsockopt(R.app, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	close(R.app);
	R.app = -1;
	settle(&R);
	TT_EQ(R.ended, 1);
	TT_EQ(R.end_err, TCP_EABORTED);
	TT_EQ(host_closed_err(&R.b), TCP_ECONNRESET);
	rig_down(&R);
}

/* The owner resets (ABORT): RST to the peer, "aborted", the app's stream
 * ends. */
TT_TEST(bridge_reset_by_owner)
{
	struct tcp_config c = plain();
	TT_EQ(rig_up(&R, &c, &c, 0), 0);
	bridge_reset(R.br);
	TT_EQ(R.ended, 0); /* noted: done in the bridges' phase */
	settle(&R);
	TT_EQ(R.ended, 1);
	TT_EQ(R.end_err, TCP_EABORTED);
	TT_EQ(host_closed_err(&R.b), TCP_ECONNRESET);
	TT_ASSERT(app_sees_eof(&R));
	rig_down(&R);
}

/* No listener: the owner is told "refused", never "opened". */
TT_TEST(bridge_connect_refused)
{
	struct tcp_config c = plain();
	memset(&R, 0, sizeof R);
	R.app = R.fd = -1;
	TT_EQ(uv_loop_init(&R.loop), 0);
	TT_EQ(bridge_set_init(&R.set, &R.loop), 0);
	TT_EQ(host_init_ev(&R.a, 1, &c, owner_event), 0);
	TT_EQ(host_init(&R.b, 2, &c), 0);
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	TT_EQ(bridge_connect(&R.set, R.a.s, &R.b.ep, PORT, &o, 0, &rig_ops, &R, NULL, &R.br), 0);
	TT_EQ(R.set.live, 1);
	settle(&R);
	TT_EQ(R.opened, 0);
	TT_EQ(R.ended, 1);
	TT_EQ(R.end_err, TCP_ECONNREFUSED);
	TT_STREQ(bridge_end_reason(R.end_err), TOU_END_REFUSED);
	TT_EQ(R.set.live, 0);
	TT_ASSERT(R.set.all == NULL); /* freed: it had no stream */
	rig_down(&R);
}

TT_TEST(bridge_end_reasons)
{
	TT_STREQ(bridge_end_reason(0), TOU_END_FIN);
	TT_STREQ(bridge_end_reason(TCP_ECONNREFUSED), TOU_END_REFUSED);
	TT_STREQ(bridge_end_reason(TCP_ECONNRESET), TOU_END_RESET);
	TT_STREQ(bridge_end_reason(TCP_ETIMEDOUT), TOU_END_TIMEOUT);
	TT_STREQ(bridge_end_reason(TCP_EABORTED), TOU_END_ABORTED);
	TT_STREQ(bridge_state_name(BRIDGE_DONE), "done");
	TT_STREQ(bridge_state_name((enum bridge_state)99), "?");
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return tt_main(argc, argv);
}

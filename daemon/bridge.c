/*
 * bridge.c - one local byte stream joined to one TCP connection
 * (bridge.h; docs/DESIGN.md section 5).
 *
 * Two kinds of code touch a bridge:
 *   - notes: the engine's events (on_event), the owner's requests
 *     (bridge_attach/reset/shutdown) and the stream's EOF, errors and
 *     finished writes set bits in b->todo and queue the bridge;
 *   - work: run() (from bridge_run_all(), the driver's bridges phase) and
 *     the stream's read callback, which hands the bytes it just read to the
 *     engine.  Both run outside any engine call: an event an engine call
 *     raises is only noted, and handled by the next run.
 * A bridge is freed only when it is DONE and its stream has closed, and
 * never while it is queued.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "log.h"
#include "usage.h"
#include "tou_proto.h"
#include "udp_route.h"

static const struct lstream_ops stream_ops;

const char *bridge_state_name(enum bridge_state s)
{
	static const char *const names[] = { "connecting", "parked",   "open",     "app-shut", "peer-shut",
					     "both-shut",  "orphaned", "draining", "done" };
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *bridge_end_reason(int err)
{
	switch (err) {
	case 0: return TOU_END_FIN;
	case TCP_ECONNREFUSED: return TOU_END_REFUSED;
	case TCP_ECONNRESET: return TOU_END_RESET;
	case TCP_ETIMEDOUT: return TOU_END_TIMEOUT;
	case TCP_EUNREACH: return TOU_END_UNREACHABLE;
	default: return TOU_END_ABORTED;
	}
}

unsigned bridge_count_peer(const struct bridge_set *set, const struct tcp_endpoint *ep)
{
	unsigned n = 0;
	size_t al = ep->family == 6 ? 16 : 4;
	for (const struct bridge *b = set->all; b; b = b->next)
		n += b->tc && b->remote.family == ep->family && memcmp(b->remote.addr, ep->addr, al) == 0;
	return n;
}

/* ---- the set and the ready queue ---- */

int bridge_set_init(struct bridge_set *set, uv_loop_t *loop)
{
	memset(set, 0, sizeof *set);
	set->loop = loop;
	set->rbuf = malloc(BRIDGE_RBUF);
	return set->rbuf ? 0 : UV_ENOMEM;
}

void bridge_set_free(struct bridge_set *set)
{
	free(set->rbuf);
	set->rbuf = NULL;
	lstream_pool_free(&set->pool);
}

static void note(struct bridge *b, unsigned what)
{
	struct bridge_set *set = b->set;
	b->todo |= what;
	if (b->ready)
		return;
	b->ready = 1;
	fifo_push(&set->ready, &b->ready_link);
}

/* The engine's events: noted, handled by the next run. */
static void on_event(struct tcp_owner *o, struct tcp_conn *c, enum tcp_event ev, int err)
{
	struct bridge *b = TOUD_CONTAINER_OF(o, struct bridge, owner);
	(void)c;
	switch (ev) {
	case TCP_EV_ESTABLISHED: note(b, BRIDGE_EV_ESTABLISHED); return;
	case TCP_EV_READABLE:
	case TCP_EV_PEER_FIN: note(b, BRIDGE_EV_DATA); return;
	case TCP_EV_WRITABLE: note(b, BRIDGE_EV_WRITABLE); return;
	case TCP_EV_CLOSED:
		b->end_err = err;
		note(b, BRIDGE_EV_CLOSED);
		return;
	case TCP_EV_ACCEPTED: return; /* a listener's event, never a connection's */
	}
}

static struct bridge *bridge_new(struct bridge_set *set, long long uid, const struct bridge_ops *ops,
				 void *owner_ctx, void *owner_data)
{
	struct bridge *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->owner.event = on_event;
	b->set = set;
	b->uid = uid;
	b->ops = ops;
	b->owner_ctx = owner_ctx;
	b->owner_data = owner_data;
	return b;
}

static void link_live(struct bridge *b)
{
	struct bridge_set *set = b->set;
	b->next = set->all;
	if (set->all)
		set->all->prev = b;
	set->all = b;
	set->live++;
	usage_add(set->usage, b->uid, &b->remote, 1);
	if (set->route) /* keep the peer's route while the connection lives */
		udp_route_pin(set->route, &b->remote);
}

static void fill_names(struct bridge *b)
{
	struct tcp_conn_info info;
	if (tcp_conn_info(b->tc, &info) == 0) {
		b->id = info.id;
		b->remote = info.remote;
		b->lport = info.local_port;
		b->rport = info.remote_port;
	} else {
		b->id = tcp_conn_id(b->tc);
	}
}

int bridge_connect(struct bridge_set *set, struct tcp_stack *stack, const struct tcp_endpoint *remote,
		   uint16_t rport, const struct tcp_conn_opts *opts, long long uid, const struct bridge_ops *ops,
		   void *owner_ctx, void *owner_data, struct bridge **out)
{
	*out = NULL;
	struct bridge *b = bridge_new(set, uid, ops, owner_ctx, owner_data);
	if (!b)
		return TCP_ENOMEM;
	b->state = BRIDGE_CONNECTING;
	int r = tcp_connect(stack, remote, rport, 0, opts, &b->owner, toud_now(), &b->tc);
	if (r != 0) {
		free(b);
		return r;
	}
	b->remote = *remote;
	b->rport = rport;
	fill_names(b);
	link_live(b);
	*out = b;
	return 0;
}

struct bridge *bridge_accepted(struct bridge_set *set, struct tcp_conn *tc, long long uid,
			       const struct bridge_ops *ops, void *owner_ctx, void *owner_data)
{
	struct bridge *b = bridge_new(set, uid, ops, owner_ctx, owner_data);
	if (!b)
		return NULL;
	b->state = BRIDGE_PARKED;
	b->tc = tc;
	fill_names(b);
	tcp_conn_set_user(tc, &b->owner);
	link_live(b);
	note(b, BRIDGE_EV_ESTABLISHED); /* ops->opened in the next run */
	return b;
}

/* Freed when DONE, its stream closed, and not queued (else by
 * bridge_run_all() when it comes off the queue). */
static void maybe_free(struct bridge *b)
{
	if (b->state != BRIDGE_DONE || b->ls || b->ready)
		return;
	struct bridge_set *set = b->set;
	if (b->next)
		b->next->prev = b->prev;
	if (b->prev)
		b->prev->next = b->next;
	else if (set->all == b)
		set->all = b->next;
	free(b->held);
	free(b);
}

/* ---- owner requests ---- */

int bridge_attach_answer(struct bridge *b, struct lstream *ls, const char *answer, const uint8_t *held,
			 size_t len, int app_eof)
{
	if (b->state != BRIDGE_PARKED)
		return -1;
	if (len) {
		b->held = malloc(len);
		if (!b->held)
			return -1;
		memcpy(b->held, held, len);
		b->held_len = len;
		b->held_off = 0;
	}
	if (answer) {
		/* the answer line and what the peer has sent already (a
		 * server's greeting, data that came with the handshake's ACK)
		 * in one write */
		struct tcp_iov v[LSTREAM_IOV_MAX], r[2];
		size_t alen = strlen(answer);
		int n = 0;
		v[n++] = (struct tcp_iov){ (uint8_t *)answer, alen };
		if (b->tc && tcp_recv_peek(b->tc, r) > 0) {
			v[n++] = r[0];
			if (r[1].len)
				v[n++] = r[1];
		}
		ssize_t took = lstream_write(ls, v, n, BRIDGE_RBUF > alen ? BRIDGE_RBUF : alen);
		if (took < (ssize_t)alen) {
			free(b->held);
			b->held = NULL;
			b->held_len = 0;
			return -1;
		}
		if ((size_t)took > alen) {
			ssize_t k = tcp_recv_consume(b->tc, (size_t)took - alen, toud_now());
			if (k < 0)
				log_warn("conn %" PRIu64 ": receive: %s", b->id, tcp_strerror((int)k));
		}
	}
	b->ls = ls;
	/* with nothing held the reads go on, straight to the bridge */
	lstream_hold(ls, &stream_ops, b, len == 0 && !app_eof);
	/* room for big writes to the app: fewer partial writes and copies */
	lstream_set_bufs(ls, BRIDGE_SOCKBUF);
	b->state = BRIDGE_OPEN;
	note(b, BRIDGE_EV_DATA | BRIDGE_EV_WRITABLE | (app_eof ? BRIDGE_DO_FIN : 0));
	return 0;
}

int bridge_attach(struct bridge *b, struct lstream *ls, const uint8_t *held, size_t len, int app_eof)
{
	return bridge_attach_answer(b, ls, NULL, held, len, app_eof);
}

void bridge_reset(struct bridge *b)
{
	if (b->tc)
		note(b, BRIDGE_DO_RESET);
}

void bridge_shutdown(struct bridge *b)
{
	switch (b->state) {
	case BRIDGE_CONNECTING:
	case BRIDGE_PARKED:
		bridge_reset(b);
		return;
	case BRIDGE_OPEN:
	case BRIDGE_PEER_SHUT:
		note(b, BRIDGE_DO_FIN);
		return;
	default:
		return;
	}
}

/* ---- work ---- */

static int app_writes(const struct bridge *b) /* app -> engine flows */
{
	return b->state == BRIDGE_OPEN || b->state == BRIDGE_PEER_SHUT;
}

static int app_reads(const struct bridge *b) /* engine -> app flows */
{
	return b->state == BRIDGE_OPEN || b->state == BRIDGE_APP_SHUT;
}

/* Reading from the app only while the engine takes what comes. */
static void update_reading(struct bridge *b)
{
	if (!b->ls)
		return;
	if (app_writes(b) && b->held_off == b->held_len && !(b->todo & BRIDGE_DO_FIN))
		lstream_read_start(b->ls);
	else
		lstream_read_stop(b->ls);
}

/* The app is gone (run): the connection closes without a reader, or is
 * reset when bytes from the peer were lost (as a kernel socket closed
 * with unread data); the stream closes. */
static void orphan(struct bridge *b, int lost)
{
	if (!b->ls || b->state == BRIDGE_DRAINING || b->state == BRIDGE_DONE || b->state == BRIDGE_ORPHANED)
		return;
	if (b->ls->queued > 0 || b->ls->state == LS_FAILED)
		lost = 1; /* bytes we had taken from the engine for it */
	if (b->tc) {
		if (lost) {
			log_info("conn %" PRIu64 ": app vanished with undelivered data, aborting", b->id);
			b->set->aborted_app_gone++;
			tcp_abort(b->tc, toud_now());
		} else {
			tcp_close_no_read(b->tc, toud_now());
		}
	}
	lstream_close(b->ls, lost);
	b->state = BRIDGE_ORPHANED;
}

static void app_fin(struct bridge *b)
{
	int r = tcp_close(b->tc, toud_now());
	if (r < 0)
		log_debug("conn %" PRIu64 ": close: %s", b->id, tcp_strerror(r));
	b->state = b->state == BRIDGE_PEER_SHUT ? BRIDGE_BOTH_SHUT : BRIDGE_APP_SHUT;
}

static void peer_fin(struct bridge *b)
{
	lstream_shutdown(b->ls); /* after every queued write */
	b->state = b->state == BRIDGE_APP_SHUT ? BRIDGE_BOTH_SHUT : BRIDGE_PEER_SHUT;
}

/* Held app bytes into the engine; then the FIN the app asked for. */
static void feed(struct bridge *b, unsigned todo)
{
	while (b->held_off < b->held_len) {
		ssize_t n = tcp_send(b->tc, b->held + b->held_off, b->held_len - b->held_off, toud_now());
		if (n == 0 || n == TCP_EAGAIN) {
			b->todo |= todo & BRIDGE_DO_FIN; /* after the rest: TCP_EV_WRITABLE */
			return;
		}
		if (n < 0) {
			log_debug("conn %" PRIu64 ": send: %s", b->id, tcp_strerror((int)n));
			break; /* the connection is going away */
		}
		b->held_off += (size_t)n;
	}
	free(b->held);
	b->held = NULL;
	b->held_len = b->held_off = 0;
	if (todo & BRIDGE_DO_FIN)
		app_fin(b);
}

/* Received bytes to the app while its queue is short (force: all). */
static void pump(struct bridge *b, int force)
{
	while (b->ls && (force || b->ls->queued < BRIDGE_WQ_HIGH)) {
		struct tcp_iov iov[2];
		ssize_t n = tcp_recv_peek(b->tc, iov);
		if (n > 0) {
			ssize_t took = lstream_write(b->ls, iov, iov[1].len ? 2 : 1, BRIDGE_RBUF);
			if (took < 0) {
				orphan(b, 1);
				return;
			}
			ssize_t r = tcp_recv_consume(b->tc, (size_t)took, toud_now());
			if (r < 0)
				log_warn("conn %" PRIu64 ": receive: %s", b->id, tcp_strerror((int)r));
			continue;
		}
		if (n == 0)
			peer_fin(b);
		return;
	}
}

/* TCP_EV_CLOSED: everything received goes to the app, then the stream
 * closes (RST for a TCP app when the connection did not end cleanly). */
static void end(struct bridge *b)
{
	int err = b->end_err;
	if (b->ls && app_reads(b))
		pump(b, 1);
	switch (b->state) {
	case BRIDGE_OPEN:
	case BRIDGE_APP_SHUT:
	case BRIDGE_PEER_SHUT:
	case BRIDGE_BOTH_SHUT:
		lstream_close_drained(b->ls, err != 0);
		b->state = BRIDGE_DRAINING;
		break;
	default:
		b->state = BRIDGE_DONE;
		break;
	}
	if (b->ops && b->ops->ended)
		b->ops->ended(b, err); /* b->tc still answers tcp_conn_info() */
	tcp_release(b->tc, toud_now());
	b->tc = NULL;
	b->set->live--;
	usage_add(b->set->usage, b->uid, &b->remote, -1);
	if (b->set->route)
		udp_route_unpin(b->set->route, &b->remote);
}

static void run(struct bridge *b)
{
	unsigned todo = b->todo;
	b->todo = 0;
	if (!b->tc)
		return; /* ended: only the stream's closing is left */
	if ((todo & BRIDGE_DO_RESET) && tcp_abort(b->tc, toud_now()) == 0) {
		/* TCP_EV_CLOSED(TCP_EABORTED) is noted meanwhile: the next
		 * run ends the bridge */
		b->todo |= todo & BRIDGE_EV_CLOSED;
		return;
	}
	if ((todo & BRIDGE_EV_ESTABLISHED) && (b->state == BRIDGE_CONNECTING || b->state == BRIDGE_PARKED)) {
		b->state = BRIDGE_PARKED;
		if (b->ops && b->ops->opened)
			b->ops->opened(b); /* may attach: noted for the next run */
	}
	if (todo & (BRIDGE_DO_ORPHAN | BRIDGE_DO_ORPHAN_LOST))
		orphan(b, (todo & BRIDGE_DO_ORPHAN_LOST) != 0);
	if (app_writes(b) && (todo & (BRIDGE_EV_WRITABLE | BRIDGE_DO_FIN)))
		feed(b, todo);
	if (app_reads(b) && (todo & BRIDGE_EV_DATA))
		pump(b, 0);
	if (todo & BRIDGE_EV_CLOSED)
		end(b);
	update_reading(b);
}

void bridge_run_all(struct bridge_set *set)
{
	struct fifo_link *x;
	while ((x = fifo_pop(&set->ready))) {
		struct bridge *b = FIFO_ENTRY(x, struct bridge, ready_link);
		b->ready = 0;
		run(b);
		maybe_free(b);
	}
}

void bridge_close_all(struct bridge_set *set)
{
	struct fifo_link *x;
	while ((x = fifo_pop(&set->ready))) /* nothing runs any more */
		FIFO_ENTRY(x, struct bridge, ready_link)->ready = 0;
	struct bridge *next;
	for (struct bridge *b = set->all; b; b = next) {
		next = b->next;
		if (b->tc) {
			tcp_release(b->tc, toud_now());
			b->tc = NULL;
			set->live--;
			usage_add(set->usage, b->uid, &b->remote, -1);
			if (set->route)
				udp_route_unpin(set->route, &b->remote);
		}
		b->state = BRIDGE_DONE;
		if (b->ls)
			lstream_close(b->ls, 0); /* freed in s_closed */
		else
			maybe_free(b);
	}
}

/* ---- the stream's callbacks ---- */

static void s_alloc(void *holder, uv_buf_t *buf)
{
	struct bridge *b = holder;
	/* nothing held: read straight into the engine's send buffer
	 * (tcp_send_space; s_read commits what came): libuv calls s_read
	 * right after this, before anything else can run.  As much as the
	 * ring's first free piece takes, up to BRIDGE_DIRECT_MAX: reading a
	 * kernel TCP socket costs per read as well as per byte (each read
	 * that frees its buffer sends a window update, and on loopback the
	 * sender's queued segments then move in this read's system call),
	 * so 2 MiB reads instead of 256 KiB cut a forward's CPU per byte
	 * (bench/README.md, "Forwarded connections") */
	if (app_writes(b) && b->tc && b->held_off == b->held_len) {
		struct tcp_iov iov[2];
		ssize_t room = tcp_send_space(b->tc, iov);
		if (room > 0 && iov[0].len >= BRIDGE_DIRECT_MIN) {
			*buf = uv_buf_init((char *)iov[0].base,
					   (unsigned)(iov[0].len > BRIDGE_DIRECT_MAX ? BRIDGE_DIRECT_MAX : iov[0].len));
			return;
		}
	}
	/* one shared buffer: every read is consumed before the next alloc */
	*buf = uv_buf_init((char *)b->set->rbuf, BRIDGE_RBUF);
}

static void hold(struct bridge *b, const uint8_t *p, size_t n)
{
	uint8_t *np = realloc(b->held, b->held_len + n);
	if (!np) {
		note(b, BRIDGE_DO_ORPHAN_LOST);
		return;
	}
	memcpy(np + b->held_len, p, n);
	b->held = np;
	b->held_len += n;
	lstream_read_stop(b->ls); /* until TCP_EV_WRITABLE */
}

static void s_read(void *holder, ssize_t nread, const uv_buf_t *buf)
{
	struct bridge *b = holder;
	if (nread < 0) {
		if (nread == UV_EOF && !lstream_hung_up(b->ls))
			note(b, BRIDGE_DO_FIN); /* shutdown(SHUT_WR): our FIN */
		else if (nread == UV_ECONNRESET)
			note(b, BRIDGE_DO_ORPHAN_LOST); /* a TCP app's RST: ours */
		else
			note(b, BRIDGE_DO_ORPHAN);
		return;
	}
	size_t n = (size_t)nread;
	if (!b->tc || !app_writes(b))
		return; /* the connection is ending: nothing takes these */
	if ((const uint8_t *)buf->base != b->set->rbuf) { /* already in the send ring */
		ssize_t k = tcp_send_commit(b->tc, n, toud_now());
		if (k < 0)
			log_debug("conn %" PRIu64 ": send: %s", b->id, tcp_strerror((int)k));
		return;
	}
	const uint8_t *p = (const uint8_t *)buf->base;
	ssize_t k = tcp_send(b->tc, p, n, toud_now());
	if (k < 0 && k != TCP_EAGAIN) {
		log_debug("conn %" PRIu64 ": send: %s", b->id, tcp_strerror((int)k));
		return;
	}
	if (k > 0) {
		p += k;
		n -= (size_t)k;
	}
	if (n)
		hold(b, p, n);
}

static void s_written(void *holder, int status)
{
	struct bridge *b = holder;
	if (status < 0) {
		note(b, BRIDGE_DO_ORPHAN_LOST);
		return;
	}
	if (b->ls && b->ls->queued < BRIDGE_WQ_LOW)
		note(b, BRIDGE_EV_DATA);
}

static void s_closed(void *holder)
{
	struct bridge *b = holder;
	b->ls = NULL;
	if (b->state == BRIDGE_DRAINING)
		b->state = BRIDGE_DONE;
	maybe_free(b);
}

static const struct lstream_ops stream_ops = { s_alloc, s_read, s_written, s_closed };

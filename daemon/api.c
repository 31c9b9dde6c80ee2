/*
 * api.c - the Unix-socket API server (client/tou_proto.h, docs/API.md).
 *
 * Every API client is a `struct stream`: it sends one request line; the
 * daemon answers one line.  After "OK" to CONNECT or ACCEPT the same Unix
 * connection carries the TCP stream's bytes both ways:
 *
 *   app --read--> engine's send buffer          (tcp_send_space: read(2)
 *                                                straight into the ring, then
 *                                                tcp_send_commit; with less
 *                                                than DIRECT_MIN free, read
 *                                                into A.rbuf, tcp_send, the
 *                                                rest held in pend and
 *                                                reading stopped until
 *                                                TCP_EV_WRITABLE)
 *   engine's receive buffer --write--> app      (tcp_recv_peek: write(2)
 *                                                straight from the ring, then
 *                                                tcp_recv_consume; what the
 *                                                socket does not take is
 *                                                copied into a queued
 *                                                uv_write; stop above WQ_HIGH
 *                                                queued: the engine's window
 *                                                closes; resume below WQ_LOW)
 *
 * Half-close: the app's EOF (shutdown(SHUT_WR)) is tcp_close(); the peer's
 * FIN (tcp_recv() == 0) is shutdown(SHUT_WR) of the Unix socket after every
 * byte was written.  An app that vanished completely (POLLHUP, EPIPE) gets
 * tcp_close_no_read(): data arriving later resets the connection.
 *
 * Every TCP connection we own is a `struct conn` (the engine's user
 * pointer); it outlives its app until TCP_EV_CLOSED, when an end record is
 * kept so that STATUS <id> tells how it ended.
 *
 * Reentrancy: engine calls may deliver events synchronously (TCP_EV_CLOSED
 * from tcp_abort...).  A conn is never freed inside an event: it is put on
 * a dead list and freed from api_reap() once per loop turn.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_json.h"
#include "api_parse.h"
#include "log.h"
#include "tou_proto.h"
#include "toud.h"
#include "udp_route.h"

#define RBUF_SIZE (256 * 1024)       /* one read from an app / one queued write to it */
#define DIRECT_MIN (16 * 1024)       /* read straight into the send buffer when this much is free */
#define WQ_HIGH (1024 * 1024)        /* stop calling tcp_recv above this */
#define WQ_LOW (256 * 1024)          /* ...and resume below this */
#define PEND_MAX (256 * 1024)        /* app bytes held before OK */
#define END_RECORDS 1024             /* ended connections kept for STATUS */
#define STREAM_SOCKBUF (2 * 1024 * 1024) /* SO_SNDBUF/SO_RCVBUF of a stream's Unix socket */

enum phase {
	PH_REQ,         /* reading the request line */
	PH_RESOLVING,   /* CONNECT: name resolution */
	PH_CONNECTING,  /* CONNECT: waiting for ESTABLISHED */
	PH_ACCEPT_WAIT, /* ACCEPT: waiting for a connection */
	PH_LISTENING,   /* LISTEN: holds the listener */
	PH_STREAM,      /* carrying a stream */
	PH_REPLIED      /* answer written; closing when drained */
};

struct conn;
struct listener;

struct stream {
	uv_pipe_t pipe;
	uv_timer_t timer;
	int open_handles;
	enum phase phase;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char line[TOU_PROTO_MAX_LINE];
	size_t line_len;
	uint8_t *pend;                  /* app bytes not yet taken by tcp_send */
	size_t pend_len, pend_off;
	struct conn *conn;
	struct listener *lst;           /* PH_LISTENING: ours */
	struct listener *waiting_on;    /* PH_ACCEPT_WAIT */
	struct stream *wnext;           /* listener's waiter queue */
	struct resolve_req *rr;
	struct api_request req;
	size_t wq_bytes;                /* bytes in uv_write requests */
	unsigned reading : 1, app_eof : 1, closing : 1, shut_sent : 1, peer_eof : 1,
		close_when_drained : 1, fin_after_pend : 1, write_failed : 1,
		in_feed : 1, in_pump : 1,        /* reentrancy guards */
		pump_queued : 1,                 /* on A.pumpq */
		direct : 1;                      /* on_alloc lent the engine's send buffer */
	struct stream *pump_next;
	struct stream *next, *prev;
};

struct conn {
	struct tcp_conn *tc;            /* NULL once released */
	uint64_t id;
	uid_t uid;
	struct stream *st;              /* the app, or NULL */
	struct listener *lst;           /* accepted, not yet handed to an app */
	struct conn *qnext;             /* listener's accept queue */
	struct tcp_endpoint remote;
	uint16_t lport, rport;
	unsigned closing : 1;           /* tcp_close called */
	struct conn *next, *prev;
};

struct listener {
	struct tcp_listener *tl;
	uint16_t port;
	uid_t uid;
	unsigned backlog;
	struct stream *owner;
	struct conn *qhead, *qtail;
	unsigned qlen;
	struct stream *whead, *wtail;
	struct listener *next;
};

struct end_record {
	uint64_t id;
	long long uid;
	struct tcp_conn_info info;
	char cc[16];
	char local[80], remote[80];
	const char *end;
};

static struct {
	uv_pipe_t server;
	int server_open;
	int bound_path;                 /* we created the socket file */
	char path[108];
	struct stream *streams;
	unsigned n_req;                 /* streams in PH_REQ */
	struct conn *conns;
	unsigned n_conns;
	struct conn *dead;
	struct listener *listeners;
	struct end_record ends[END_RECORDS];
	unsigned n_ends, ends_next;
	struct stream *pumpq;           /* streams with data to move to the app */
	uint8_t *rbuf;                  /* reads from apps (on_alloc) */
	uint64_t api_requests, api_errors, api_clients_refused;
} A;

/* ---------- helpers ---------- */

void endpoint_format(const struct tcp_endpoint *ep, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ep->family == 6) {
		inet_ntop(AF_INET6, ep->addr, ip, sizeof ip);
		snprintf(buf, len, "[%s]:%u", ip, ep->udp_port);
	} else {
		inet_ntop(AF_INET, ep->addr, ip, sizeof ip);
		snprintf(buf, len, "%s:%u", ip, ep->udp_port);
	}
}

int endpoint_from_sockaddr(struct tcp_endpoint *ep, const struct sockaddr *sa)
{
	memset(ep, 0, sizeof *ep);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		ep->family = 4;
		memcpy(ep->addr, &s4->sin_addr, 4);
		ep->udp_port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		ep->family = 6;
		memcpy(ep->addr, &s6->sin6_addr, 16);
		ep->udp_port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

int endpoint_to_sockaddr(const struct tcp_endpoint *ep, struct sockaddr_storage *ss, socklen_t *sl)
{
	memset(ss, 0, sizeof *ss);
	if (ep->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, ep->addr, 16);
		s6->sin6_port = htons(ep->udp_port);
		*sl = sizeof *s6;
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, ep->addr, 4);
	s4->sin_port = htons(ep->udp_port);
	*sl = sizeof *s4;
	return 0;
}

static void conn_names(const struct tcp_endpoint *remote, uint16_t lport, uint16_t rport, char *local,
		       size_t llen, char *rem, size_t rlen)
{
	char a[72];
	/* the address the peer talks to (udp_route.c), else the bound one */
	if (udp_route_local_name(remote, a, sizeof a) != 0)
		udp_local_name(remote->family, a, sizeof a);
	snprintf(local, llen, "%s/%u", a, lport);
	endpoint_format(remote, a, sizeof a);
	snprintf(rem, rlen, "%s/%u", a, rport);
}

static const char *end_reason(int err)
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

static int peer_hung_up(struct stream *st)
{
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)&st->pipe, &fd) != 0)
		return 1;
	/* Linux: a Unix stream socket whose peer closed completely reports
	 * POLLHUP; the peer's shutdown(SHUT_WR) only gives EOF. */
	struct pollfd p = { .fd = fd, .events = 0 };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* ---------- writing to the app ---------- */

struct wreq {
	uv_write_t req;
	struct stream *st;
	size_t len;
	int pooled;                     /* a RBUF_SIZE block from wpool */
	struct wreq *next_free;
	char data[];
};

/* Write blocks of RBUF_SIZE are recycled: a fresh 256 KiB malloc is an
 * mmap whose pages fault in on every copy. */
#define WPOOL_MAX 32
static struct wreq *wpool;
static unsigned wpool_n;

static struct wreq *wreq_get(size_t len)
{
	if (len > RBUF_SIZE / 4 && len <= RBUF_SIZE) {
		struct wreq *w = wpool;
		if (w) {
			wpool = w->next_free;
			wpool_n--;
		} else {
			w = malloc(sizeof *w + RBUF_SIZE);
			if (!w)
				return NULL;
		}
		w->pooled = 1;
		return w;
	}
	struct wreq *w = malloc(sizeof *w + len);
	if (w)
		w->pooled = 0;
	return w;
}

static void wreq_put(struct wreq *w)
{
	if (w->pooled && wpool_n < WPOOL_MAX) {
		w->next_free = wpool;
		wpool = w;
		wpool_n++;
		return;
	}
	free(w);
}

static void stream_close(struct stream *st);
static void app_gone(struct stream *st, int data_lost);
static void pump_recv(struct stream *st, int force);

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct stream *st = w->st;
	st->wq_bytes -= w->len;
	wreq_put(w);
	if (status < 0) {
		if (status != UV_ECANCELED && !st->closing) {
			st->write_failed = 1;
			app_gone(st, 1);
		}
		return;
	}
	if (st->closing)
		return;
	if (st->close_when_drained && st->wq_bytes == 0) {
		stream_close(st);
		return;
	}
	if (st->phase == PH_STREAM && st->conn && st->wq_bytes < WQ_LOW)
		pump_recv(st, 0);
}

/* Writes len bytes: directly if nothing is queued, the rest queued. */
static int stream_write(struct stream *st, const void *buf, size_t len)
{
	if (st->closing || st->write_failed)
		return -1;
	const char *p = buf;
	if (st->wq_bytes == 0) {
		uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
		int r = uv_try_write((uv_stream_t *)&st->pipe, &b, 1);
		if (r > 0) {
			p += r;
			len -= (size_t)r;
		} else if (r < 0 && r != UV_EAGAIN) {
			st->write_failed = 1;
			return -1;
		}
	}
	if (len == 0)
		return 0;
	struct wreq *w = wreq_get(len);
	if (!w) {
		st->write_failed = 1;
		return -1;
	}
	memcpy(w->data, p, len);
	w->st = st;
	w->len = len;
	uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
	int r = uv_write(&w->req, (uv_stream_t *)&st->pipe, &b, 1, on_written);
	if (r != 0) {
		wreq_put(w);
		st->write_failed = 1;
		return -1;
	}
	st->wq_bytes += len;
	return 0;
}

static void stream_printf(struct stream *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stream_printf(struct stream *st, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	stream_write(st, line, (size_t)n);
}

static void on_reply_timeout(uv_timer_t *t);

/* Final answer: write it, close when written (bounded by request_timeout). */
static void stream_finish(struct stream *st)
{
	if (st->closing)
		return;
	if (st->phase == PH_REQ)
		A.n_req--;
	st->phase = PH_REPLIED;
	if (st->rr) {
		resolve_cancel(st->rr);
		st->rr = NULL;
	}
	if (st->reading) {
		uv_read_stop((uv_stream_t *)&st->pipe);
		st->reading = 0;
	}
	if (st->write_failed || st->wq_bytes == 0) {
		stream_close(st);
		return;
	}
	st->close_when_drained = 1;
	uv_timer_start(&st->timer, on_reply_timeout, toud.cfg.request_timeout / 1000 + 1, 0);
}

static void reply_err(struct stream *st, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_err(struct stream *st, const char *reason, const char *fmt, ...)
{
	char text[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	A.api_errors++;
	log_debug("api: uid %u pid %d: ERR %s %s", (unsigned)st->uid, (int)st->pid, reason, text);
	stream_printf(st, "ERR %s %s", reason, text);
	stream_finish(st);
}

static void reply_ok_doc(struct stream *st, struct sbuf *b)
{
	if (b->oom) {
		sb_free(b);
		reply_err(st, TOU_ERR_INTERNAL, "out of memory");
		return;
	}
	stream_write(st, "OK ", 3);
	sb_printf(b, "\n");
	stream_write(st, b->p, b->len);
	sb_free(b);
	stream_finish(st);
}

/* ---------- stream lifetime ---------- */

static void on_stream_handle_closed(uv_handle_t *h)
{
	struct stream *st = h->data;
	if (--st->open_handles == 0) {
		if (st->pump_queued) {
			struct stream **pp = &A.pumpq;
			while (*pp && *pp != st)
				pp = &(*pp)->pump_next;
			if (*pp)
				*pp = st->pump_next;
		}
		free(st->pend);
		free(st);
	}
}

static void listener_close(struct listener *l);
static void conn_abort(struct conn *c);

static void waiter_remove(struct stream *st)
{
	struct listener *l = st->waiting_on;
	if (!l)
		return;
	struct stream **pp = &l->whead;
	l->wtail = NULL;
	for (struct stream *s = l->whead; s; s = s->wnext) {
		if (s == st) {
			*pp = s->wnext;
			continue;
		}
		pp = &s->wnext;
		l->wtail = s;
	}
	*pp = NULL;
	st->waiting_on = NULL;
	st->wnext = NULL;
}

static void stream_close(struct stream *st)
{
	if (st->closing)
		return;
	if (st->phase == PH_REQ)
		A.n_req--;
	st->closing = 1;
	st->phase = PH_REPLIED;
	if (st->rr) {
		resolve_cancel(st->rr);
		st->rr = NULL;
	}
	waiter_remove(st);
	if (st->lst) {
		struct listener *l = st->lst;
		st->lst = NULL;
		listener_close(l);
	}
	if (st->conn) {
		/* still attached: the app is going away */
		struct conn *c = st->conn;
		st->conn = NULL;
		c->st = NULL;
		if (c->tc && !c->closing) {
			c->closing = 1;
			tcp_close_no_read(c->tc, toud_now());
		}
	}
	if (st->next)
		st->next->prev = st->prev;
	if (st->prev)
		st->prev->next = st->next;
	else
		A.streams = st->next;
	uv_close((uv_handle_t *)&st->pipe, on_stream_handle_closed);
	uv_close((uv_handle_t *)&st->timer, on_stream_handle_closed);
}

static void on_reply_timeout(uv_timer_t *t)
{
	stream_close(t->data);
}

/* The app closed its socket completely (or a write to it failed). */
static void app_gone(struct stream *st, int data_lost)
{
	if (st->closing)
		return;
	if (st->wq_bytes > 0)
		data_lost = 1; /* bytes we had taken from the engine for it */
	struct conn *c = st->conn;
	if (c && st->phase == PH_STREAM) {
		st->conn = NULL;
		c->st = NULL;
		if (c->tc) {
			if (data_lost) {
				/* bytes from the peer could not be delivered: as
				 * a kernel socket closed with unread data, RST */
				log_info("conn %" PRIu64 ": app vanished with undelivered data, aborting", c->id);
				conn_abort(c);
			} else {
				c->closing = 1;
				tcp_close_no_read(c->tc, toud_now());
			}
		}
	} else if (c && st->phase == PH_CONNECTING) {
		st->conn = NULL;
		c->st = NULL;
		conn_abort(c);
	}
	stream_close(st);
}

/* ---------- conn lifetime ---------- */

static void conn_link(struct conn *c)
{
	c->next = A.conns;
	c->prev = NULL;
	if (A.conns)
		A.conns->prev = c;
	A.conns = c;
	A.n_conns++;
	udp_route_pin(&c->remote); /* keep the peer's route while the connection lives */
}

static void conn_unlink(struct conn *c)
{
	if (c->next)
		c->next->prev = c->prev;
	if (c->prev)
		c->prev->next = c->next;
	else
		A.conns = c->next;
	c->next = c->prev = NULL;
	A.n_conns--;
	udp_route_unpin(&c->remote);
}

static void conn_abort(struct conn *c)
{
	if (c->tc)
		tcp_abort(c->tc, toud_now()); /* TCP_EV_CLOSED follows, maybe right now */
}

static void accept_queue_remove(struct conn *c)
{
	struct listener *l = c->lst;
	if (!l)
		return;
	struct conn **pp = &l->qhead;
	l->qtail = NULL;
	for (struct conn *x = l->qhead; x; x = x->qnext) {
		if (x == c) {
			*pp = x->qnext;
			l->qlen--;
			continue;
		}
		pp = &x->qnext;
		l->qtail = x;
	}
	*pp = NULL;
	c->lst = NULL;
	c->qnext = NULL;
}

static void record_end(struct conn *c, int err)
{
	struct end_record *e = &A.ends[A.ends_next];
	A.ends_next = (A.ends_next + 1) % END_RECORDS;
	if (A.n_ends < END_RECORDS)
		A.n_ends++;
	memset(e, 0, sizeof *e);
	e->id = c->id;
	e->uid = (long long)c->uid;
	e->end = end_reason(err);
	if (c->tc && tcp_conn_info(c->tc, &e->info) == 0) {
		snprintf(e->cc, sizeof e->cc, "%s", e->info.cc_name ? e->info.cc_name : "");
	} else {
		e->info.id = c->id;
		e->info.remote = c->remote;
		e->info.local_port = c->lport;
		e->info.remote_port = c->rport;
	}
	e->info.cc_name = NULL; /* the engine's string may not outlive it */
	e->info.state = TCP_S_CLOSED;
	conn_names(&c->remote, c->lport, c->rport, e->local, sizeof e->local, e->remote, sizeof e->remote);
}

static const struct end_record *find_end(uint64_t id)
{
	for (unsigned i = 0; i < A.n_ends; i++)
		if (A.ends[i].id == id)
			return &A.ends[i];
	return NULL;
}

static struct conn *find_conn(uint64_t id)
{
	for (struct conn *c = A.conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

void api_pump(void)
{
	while (A.pumpq) {
		struct stream *st = A.pumpq;
		A.pumpq = st->pump_next;
		st->pump_queued = 0;
		st->pump_next = NULL;
		if (!st->closing && st->phase == PH_STREAM)
			pump_recv(st, 0);
	}
}

void api_reap(void)
{
	while (A.dead) {
		struct conn *c = A.dead;
		A.dead = c->next;
		free(c);
	}
}

static unsigned count_uid(uid_t uid)
{
	unsigned n = 0;
	for (struct conn *c = A.conns; c; c = c->next)
		n += c->uid == uid;
	return n;
}

static unsigned count_peer(const struct tcp_endpoint *ep)
{
	unsigned n = 0;
	size_t al = ep->family == 6 ? 16 : 4;
	for (struct conn *c = A.conns; c; c = c->next)
		n += c->remote.family == ep->family && memcmp(c->remote.addr, ep->addr, al) == 0;
	return n;
}

/* ---------- stream data path ---------- */

static void stream_read_start(struct stream *st);

/* Pushes held app bytes into the engine. */
static void feed_engine(struct stream *st)
{
	if (st->in_feed) /* an event delivered from inside tcp_send */
		return;
	st->in_feed = 1;
	struct conn *c = st->conn;
	while (c && c->tc && st->pend_off < st->pend_len) {
		ssize_t n = tcp_send(c->tc, st->pend + st->pend_off, st->pend_len - st->pend_off, toud_now());
		if (n == 0 || n == TCP_EAGAIN) {
			st->in_feed = 0;
			return; /* full: TCP_EV_WRITABLE resumes */
		}
		if (n < 0) {
			log_debug("conn %" PRIu64 ": send: %s", c->id, tcp_strerror((int)n));
			st->pend_off = st->pend_len; /* the connection is going away */
			break;
		}
		st->pend_off += (size_t)n;
		c = st->conn;
	}
	free(st->pend);
	st->pend = NULL;
	st->pend_len = st->pend_off = 0;
	st->in_feed = 0;
	c = st->conn;
	if (!c || !c->tc || st->closing)
		return;
	if (st->fin_after_pend || st->app_eof) {
		st->fin_after_pend = 0;
		if (!c->closing) {
			c->closing = 1;
			tcp_close(c->tc, toud_now());
		}
		return;
	}
	stream_read_start(st);
}

static int pend_append(struct stream *st, const uint8_t *p, size_t n)
{
	if (st->pend_off > 0 && st->pend_off == st->pend_len) {
		st->pend_off = st->pend_len = 0;
	}
	uint8_t *np = realloc(st->pend, st->pend_len + n);
	if (!np)
		return -1;
	memcpy(np + st->pend_len, p, n);
	st->pend = np;
	st->pend_len += n;
	return 0;
}

static void stream_data(struct stream *st, const uint8_t *p, size_t n)
{
	struct conn *c = st->conn;
	if (st->pend_len == st->pend_off && c && c->tc) {
		/* fast path: straight from the read buffer into the engine */
		ssize_t k = tcp_send(c->tc, p, n, toud_now());
		if (k < 0 && k != TCP_EAGAIN) {
			log_debug("conn %" PRIu64 ": send: %s", c->id, tcp_strerror((int)k));
			return;
		}
		if (k > 0) {
			p += k;
			n -= (size_t)k;
		}
		if (n == 0)
			return;
	}
	if (pend_append(st, p, n) != 0) {
		app_gone(st, 1);
		return;
	}
	if (st->reading) {
		uv_read_stop((uv_stream_t *)&st->pipe);
		st->reading = 0;
	}
}

static void maybe_shutdown_app(struct stream *st);

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

static void maybe_shutdown_app(struct stream *st)
{
	if (!st->peer_eof || st->shut_sent || st->closing)
		return;
	uv_shutdown_t *req = malloc(sizeof *req);
	if (!req)
		return;
	/* libuv runs the shutdown after every queued write */
	if (uv_shutdown(req, (uv_stream_t *)&st->pipe, on_shutdown) != 0) {
		free(req);
		return;
	}
	st->shut_sent = 1;
}

/* Writes received bytes straight from the engine's receive buffer (two
 * pieces of its ring); what the socket does not take now is copied into
 * one queued write of at most RBUF_SIZE, the rest stays in the engine
 * (its window closes).  Returns the bytes taken, or -1 if the app is gone. */
static ssize_t stream_write_iov(struct stream *st, const struct tcp_iov iov[2])
{
	if (st->closing || st->write_failed)
		return -1;
	size_t total = iov[0].len + iov[1].len, done = 0;
	if (st->wq_bytes == 0) {
		uv_buf_t b[2] = { uv_buf_init((char *)iov[0].base, (unsigned)iov[0].len),
				  uv_buf_init((char *)iov[1].base, (unsigned)iov[1].len) };
		int r = uv_try_write((uv_stream_t *)&st->pipe, b, iov[1].len ? 2 : 1);
		if (r > 0) {
			done = (size_t)r;
		} else if (r < 0 && r != UV_EAGAIN) {
			st->write_failed = 1;
			return -1;
		}
	}
	if (done == total)
		return (ssize_t)total;
	size_t len = total - done > RBUF_SIZE ? RBUF_SIZE : total - done;
	struct wreq *w = wreq_get(len);
	if (!w) {
		st->write_failed = 1;
		return -1;
	}
	size_t off = done, k = 0;
	while (k < len) { /* gather [done, done+len) of the two pieces */
		const struct tcp_iov *v = off < iov[0].len ? &iov[0] : &iov[1];
		size_t at = off < iov[0].len ? off : off - iov[0].len;
		size_t m = v->len - at < len - k ? v->len - at : len - k;
		memcpy(w->data + k, v->base + at, m);
		k += m;
		off += m;
	}
	w->st = st;
	w->len = len;
	uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&st->pipe, &b, 1, on_written) != 0) {
		wreq_put(w);
		st->write_failed = 1;
		return -1;
	}
	st->wq_bytes += len;
	return (ssize_t)(done + len);
}

/* Moves received bytes to the app while its write queue is short. */
static void pump_recv(struct stream *st, int force)
{
	if (st->in_pump)
		return;
	st->in_pump = 1;
	while (!st->closing && !st->write_failed && (force || st->wq_bytes < WQ_HIGH)) {
		struct conn *c = st->conn;
		if (!c || !c->tc || st->peer_eof)
			break;
		struct tcp_iov iov[2];
		ssize_t n = tcp_recv_peek(c->tc, iov);
		if (n > 0) {
			ssize_t took = stream_write_iov(st, iov);
			if (took < 0) {
				st->in_pump = 0;
				app_gone(st, 1);
				return;
			}
			ssize_t r = tcp_recv_consume(c->tc, (size_t)took, toud_now());
			if (r < 0)
				log_warn("conn %" PRIu64 ": receive: %s", c->id, tcp_strerror((int)r));
			continue;
		}
		if (n == 0) {
			st->peer_eof = 1;
			maybe_shutdown_app(st);
		}
		break;
	}
	st->in_pump = 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct stream *st = h->data;
	struct conn *c = st->conn;
	st->direct = 0;
	/* a stream with nothing held reads straight into the engine's send
	 * buffer (tcp_send_space; on_read commits what came): libuv calls
	 * on_read right after this, before anything else can run */
	if (st->phase == PH_STREAM && !st->closing && st->pend_off == st->pend_len && c && c->tc) {
		struct tcp_iov iov[2];
		ssize_t room = tcp_send_space(c->tc, iov);
		if (room > 0 && iov[0].len >= DIRECT_MIN) {
			st->direct = 1;
			*buf = uv_buf_init((char *)iov[0].base,
					   (unsigned)(iov[0].len > RBUF_SIZE ? RBUF_SIZE : iov[0].len));
			return;
		}
	}
	/* one shared buffer: every read is consumed before the next alloc */
	*buf = uv_buf_init((char *)A.rbuf, RBUF_SIZE);
}

static void dispatch(struct stream *st);

static void on_listen_watch(uv_timer_t *t)
{
	struct stream *st = t->data;
	if (st->phase == PH_LISTENING && peer_hung_up(st))
		stream_close(st);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct stream *st = s->data;
	int direct = st->direct;
	st->direct = 0;
	if (st->closing)
		return;
	if (nread == 0)
		return;
	if (nread < 0) {
		st->reading = 0;
		uv_read_stop(s);
		if (nread != UV_EOF || peer_hung_up(st) || st->phase == PH_REPLIED) {
			app_gone(st, 0);
			return;
		}
		st->app_eof = 1;
		switch (st->phase) {
		case PH_REQ:
			if (st->line_len == 0) {
				stream_close(st);
			} else { /* a last line without "\n" still counts */
				dispatch(st);
			}
			return;
		case PH_LISTENING:
			/* a shutdown(SHUT_WR) alone (e.g. `echo LISTEN 7 | socat
			 * ...`) keeps the listener; libuv reads no more after
			 * EOF, so watch for the full close with a timer */
			uv_timer_start(&st->timer, on_listen_watch, 250, 250);
			return;
		case PH_STREAM:
			if (st->pend_off == st->pend_len)
				feed_engine(st); /* nothing held: FIN now */
			else
				st->fin_after_pend = 1;
			return;
		default:
			return; /* applied when the stream starts */
		}
	}
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t n = (size_t)nread;
	switch (st->phase) {
	case PH_REQ: {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (st->line_len + take + (nl ? 1 : 0) > TOU_PROTO_MAX_LINE) {
			reply_err(st, TOU_ERR_BADREQUEST, "request line longer than %d bytes", TOU_PROTO_MAX_LINE);
			return;
		}
		memcpy(st->line + st->line_len, p, take);
		st->line_len += take;
		if (!nl)
			return;
		size_t rest = n - take - 1;
		if (rest && pend_append(st, nl + 1, rest) != 0) {
			reply_err(st, TOU_ERR_INTERNAL, "out of memory");
			return;
		}
		dispatch(st);
		return;
	}
	case PH_STREAM:
		if (direct) { /* already in the engine's send buffer */
			struct conn *c = st->conn;
			ssize_t k = c && c->tc ? tcp_send_commit(c->tc, n, toud_now()) : TCP_ENOTCONN;
			if (k < 0)
				log_debug("conn %" PRIu64 ": send: %s", c ? c->id : 0, tcp_strerror((int)k));
			return;
		}
		stream_data(st, p, n);
		return;
	case PH_RESOLVING:
	case PH_CONNECTING:
	case PH_ACCEPT_WAIT:
		/* bytes sent before the OK: held, sent once the stream starts */
		if (pend_append(st, p, n) != 0) {
			app_gone(st, 0);
			return;
		}
		if (st->pend_len - st->pend_off >= PEND_MAX) {
			uv_read_stop(s);
			st->reading = 0;
		}
		return;
	default:
		return; /* LISTEN connections carry nothing; after a reply: ignored */
	}
}

static void stream_read_start(struct stream *st)
{
	if (st->reading || st->closing || st->app_eof)
		return;
	if (uv_read_start((uv_stream_t *)&st->pipe, on_alloc, on_read) == 0)
		st->reading = 1;
}

/* The TCP connection is up and belongs to st: answer OK and start moving. */
static void stream_begin(struct stream *st, struct conn *c)
{
	char local[96], rem[96];
	uv_timer_stop(&st->timer);
	st->phase = PH_STREAM;
	st->conn = c;
	c->st = st;
	if (st->req.verb == API_ACCEPT && (st->req.nodelay > 0 || st->req.keepalive > 0) && c->tc) {
		/* ACCEPT nodelay / keepalive: as CONNECT's, for this stream */
		struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
		o.nodelay = st->req.nodelay > 0 ? 1 : -1;
		o.keepalive = st->req.keepalive > 0 ? 1 : -1;
		int r = tcp_conn_set_opts(c->tc, &o);
		if (r < 0)
			log_warn("conn %" PRIu64 ": ACCEPT options: %s", c->id, tcp_strerror(r));
	}
	/* room for big writes to the app: fewer partial writes and copies */
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)&st->pipe, &fd) == 0) {
		int sz = STREAM_SOCKBUF;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	}
	conn_names(&c->remote, c->lport, c->rport, local, sizeof local, rem, sizeof rem);
	stream_printf(st, "OK %" PRIu64 " %s %s", c->id, local, rem);
	log_info("conn %" PRIu64 ": %s %s <-> %s (uid %u)", c->id, st->req.verb == API_CONNECT ? "connected" : "accepted",
		 local, rem, (unsigned)c->uid);
	feed_engine(st); /* held bytes; FIN if the app already shut down; read_start */
	if (st->conn == c && !st->closing)
		pump_recv(st, 0);
}

/* ---------- listeners ---------- */

static struct listener *find_listener(uint16_t port)
{
	for (struct listener *l = A.listeners; l; l = l->next)
		if (l->port == port)
			return l;
	return NULL;
}

static void listener_close(struct listener *l)
{
	struct listener **pp = &A.listeners;
	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp)
		*pp = l->next;
	log_info("listener on port %u closed", l->port);
	tcp_unlisten(l->tl, toud_now());
	while (l->whead) {
		struct stream *w = l->whead;
		waiter_remove(w);
		reply_err(w, TOU_ERR_NOTFOUND, "listener on port %u closed", l->port);
	}
	while (l->qhead) {
		struct conn *c = l->qhead;
		accept_queue_remove(c);
		conn_abort(c); /* as a kernel does for its accept queue */
	}
	free(l);
}

/* A connection completed on listener l. */
static void on_accepted(struct listener *l, struct tcp_conn *tc)
{
	struct tcp_conn_info info;
	struct conn *c = calloc(1, sizeof *c);
	if (!c || tcp_conn_info(tc, &info) != 0) {
		free(c);
		tcp_abort(tc, toud_now());
		tcp_release(tc);
		return;
	}
	c->tc = tc;
	c->id = info.id;
	c->uid = l->uid;
	c->remote = info.remote;
	c->lport = info.local_port;
	c->rport = info.remote_port;
	char rem[96];
	endpoint_format(&c->remote, rem, sizeof rem);
	const char *why = NULL;
	if (A.n_conns >= toud.cfg.max_connections)
		why = "max_connections";
	else if (count_peer(&c->remote) >= toud.cfg.max_per_peer)
		why = "max_per_peer";
	else if (count_uid(c->uid) >= toud.cfg.max_per_uid)
		why = "max_per_uid";
	else if (l->qlen >= l->backlog && !l->whead)
		why = "backlog";
	if (why) {
		log_peer(LOG_LVL_WARNING, c->remote.addr, c->remote.family == 6 ? 16 : 4, toud_now(),
			 "port %u: connection from %s/%u refused: %s reached", l->port, rem, c->rport, why);
		tcp_conn_set_user(tc, NULL);
		free(c);
		tcp_abort(tc, toud_now());
		tcp_release(tc);
		return;
	}
	tcp_conn_set_user(tc, c);
	conn_link(c);
	if (l->whead) {
		struct stream *w = l->whead;
		waiter_remove(w);
		stream_begin(w, c);
		return;
	}
	c->lst = l;
	if (l->qtail)
		l->qtail->qnext = c;
	else
		l->qhead = c;
	l->qtail = c;
	l->qlen++;
}

/* ---------- engine events ---------- */

static void conn_closed(struct conn *c, int err)
{
	struct stream *st = c->st;
	char local[96], rem[96], why[160] = "";
	conn_names(&c->remote, c->lport, c->rport, local, sizeof local, rem, sizeof rem);
	struct tcp_conn_info ci;
	if (c->tc && tcp_conn_info(c->tc, &ci) == 0)
		conn_error_text(&ci, why, sizeof why); /* the ICMP error or failed send, if any */
	if (err == 0)
		log_info("conn %" PRIu64 ": closed (%s) %s <-> %s", c->id, end_reason(err), local, rem);
	else
		log_peer(LOG_LVL_INFO, c->remote.addr, c->remote.family == 6 ? 16 : 4, toud_now(),
			 "conn %" PRIu64 ": closed (%s: %s%s%s) %s <-> %s", c->id, end_reason(err), tcp_strerror(err),
			 *why ? ", " : "", why, local, rem);
	if (st && st->phase == PH_STREAM && c->tc)
		pump_recv(st, 1); /* everything received goes to the app */
	record_end(c, err);
	accept_queue_remove(c);
	if (c->tc) {
		tcp_release(c->tc);
		c->tc = NULL;
	}
	conn_unlink(c);
	c->next = A.dead;
	A.dead = c;
	if (!st)
		return;
	c->st = NULL;
	st->conn = NULL;
	if (st->phase == PH_CONNECTING) {
		char dst[96];
		endpoint_format(&c->remote, dst, sizeof dst);
		if (err == TCP_ECONNREFUSED)
			reply_err(st, TOU_ERR_REFUSED, "connection %" PRIu64 " refused by %s/%u", c->id, dst, c->rport);
		else if (err == TCP_ETIMEDOUT)
			reply_err(st, TOU_ERR_TIMEOUT, "connection %" PRIu64 " to %s/%u timed out", c->id, dst, c->rport);
		else if (err == TCP_EUNREACH)
			reply_err(st, TOU_ERR_UNREACHABLE, "connection %" PRIu64 " to %s/%u: %s", c->id, dst, c->rport,
				  *why ? why : tcp_strerror(err));
		else if (toud.stopping)
			reply_err(st, TOU_ERR_SHUTDOWN, "daemon is stopping");
		else
			reply_err(st, TOU_ERR_UNREACHABLE, "connection %" PRIu64 " to %s/%u failed: %s", c->id, dst,
				  c->rport, tcp_strerror(err));
		return;
	}
	if (st->phase == PH_STREAM) {
		/* all written data first, then the app sees the end */
		st->peer_eof = 1;
		if (st->reading) {
			uv_read_stop((uv_stream_t *)&st->pipe);
			st->reading = 0;
		}
		if (st->wq_bytes == 0 || st->write_failed)
			stream_close(st);
		else
			st->close_when_drained = 1;
	}
}

void api_event(void *ctx, struct tcp_conn *tc, void *user, enum tcp_event ev, int err)
{
	(void)ctx;
	if (ev == TCP_EV_ACCEPTED) {
		on_accepted(user, tc);
		return;
	}
	struct conn *c = user;
	if (!c)
		return;
	struct stream *st = c->st;
	switch (ev) {
	case TCP_EV_ESTABLISHED:
		if (st && st->phase == PH_CONNECTING)
			stream_begin(st, c);
		return;
	case TCP_EV_READABLE:
	case TCP_EV_PEER_FIN:
		/* moved to the app once per loop turn (api_pump), so that
		 * the segments of a whole receive batch leave in one write */
		if (st && st->phase == PH_STREAM && !st->pump_queued) {
			st->pump_queued = 1;
			st->pump_next = A.pumpq;
			A.pumpq = st;
		}
		return;
	case TCP_EV_WRITABLE:
		if (st && st->phase == PH_STREAM)
			feed_engine(st);
		return;
	case TCP_EV_CLOSED:
		conn_closed(c, err);
		return;
	default:
		return;
	}
}

/* ---------- requests ---------- */

static int port_allowed(struct stream *st, uint16_t port)
{
	return port >= toud.cfg.privileged_ports || st->uid == 0;
}

static void on_accept_timeout(uv_timer_t *t)
{
	struct stream *st = t->data;
	if (st->phase != PH_ACCEPT_WAIT)
		return;
	waiter_remove(st);
	reply_err(st, TOU_ERR_TIMEOUT, "no connection on port %u within %u s", st->req.port, st->req.timeout_s);
}

static void start_connect(void *arg, int status, const struct tcp_endpoint *ep)
{
	struct stream *st = arg;
	st->rr = NULL;
	if (st->closing || st->phase != PH_RESOLVING)
		return; /* answered meanwhile (daemon stopping) */
	if (status != 0) {
		reply_err(st, TOU_ERR_UNREACHABLE, "cannot resolve \"%s\": %s", st->req.host, uv_strerror(status));
		return;
	}
	if (!udp_have_family(ep->family)) {
		reply_err(st, TOU_ERR_UNREACHABLE, "no IPv%d UDP socket to reach %s", ep->family, st->req.host);
		return;
	}
	if (count_peer(ep) >= toud.cfg.max_per_peer) {
		reply_err(st, TOU_ERR_LIMIT, "max_per_peer (%u) connections to this peer", toud.cfg.max_per_peer);
		return;
	}
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		reply_err(st, TOU_ERR_INTERNAL, "out of memory");
		return;
	}
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	if (st->req.nodelay > 0)
		o.nodelay = 1;
	if (st->req.keepalive > 0)
		o.keepalive = 1;
	if (st->req.has_timeout)
		o.timeout = TCP_SEC(st->req.timeout_s);
	c->uid = st->uid;
	c->remote = *ep;
	c->rport = st->req.port;
	c->st = st;
	st->conn = c;
	st->phase = PH_CONNECTING;
	conn_link(c);
	struct tcp_conn *tc = NULL;
	int r = tcp_connect(toud.stack, ep, st->req.port, 0, &o, c, toud_now(), &tc);
	if (r != 0) {
		conn_unlink(c);
		st->conn = NULL;
		free(c);
		if (r == TCP_ENOMEM || r == TCP_ELIMIT || r == TCP_ENOPORTS)
			reply_err(st, TOU_ERR_LIMIT, "cannot open a connection: %s", tcp_strerror(r));
		else
			reply_err(st, TOU_ERR_INTERNAL, "cannot open a connection: %s", tcp_strerror(r));
		return;
	}
	if (c->st != st) /* closed synchronously: conn_closed answered */
		return;
	c->tc = tc;
	struct tcp_conn_info info;
	if (tcp_conn_info(tc, &info) == 0) {
		c->id = info.id;
		c->lport = info.local_port;
	} else {
		c->id = tcp_conn_id(tc);
	}
	char dst[96];
	endpoint_format(ep, dst, sizeof dst);
	log_debug("conn %" PRIu64 ": connecting to %s/%u for uid %u", c->id, dst, c->rport, (unsigned)c->uid);
	stream_read_start(st); /* notice an app that goes away */
}

static void do_connect(struct stream *st)
{
	if (A.n_conns >= toud.cfg.max_connections) {
		reply_err(st, TOU_ERR_LIMIT, "max_connections (%u) reached", toud.cfg.max_connections);
		return;
	}
	if (count_uid(st->uid) >= toud.cfg.max_per_uid) {
		reply_err(st, TOU_ERR_LIMIT, "max_per_uid (%u) reached for uid %u", toud.cfg.max_per_uid,
			  (unsigned)st->uid);
		return;
	}
	uint16_t udp_port = st->req.udp_port ? st->req.udp_port : TOU_DEFAULT_UDP_PORT;
	st->phase = PH_RESOLVING;
	struct resolve_req *rr = NULL;
	int r = resolve_start(toud.loop, st->req.host, udp_port, start_connect, st, &rr);
	if (r != 0) {
		reply_err(st, TOU_ERR_UNREACHABLE, "cannot resolve \"%s\": %s", st->req.host, uv_strerror(r));
		return;
	}
	if (rr && st->phase == PH_RESOLVING) {
		st->rr = rr;
		stream_read_start(st);
	}
}

static void do_listen(struct stream *st)
{
	uint16_t port = st->req.port;
	if (!port_allowed(st, port)) {
		reply_err(st, TOU_ERR_DENIED, "port %u is below %u: only root may listen on it", port,
			  toud.cfg.privileged_ports);
		return;
	}
	if (find_listener(port)) {
		reply_err(st, TOU_ERR_INUSE, "port %u is already listened on", port);
		return;
	}
	struct listener *l = calloc(1, sizeof *l);
	if (!l) {
		reply_err(st, TOU_ERR_INTERNAL, "out of memory");
		return;
	}
	unsigned backlog = st->req.has_backlog ? st->req.backlog : 128;
	if (backlog > toud.cfg.max_backlog)
		backlog = toud.cfg.max_backlog;
	int r = tcp_listen(toud.stack, port, backlog, l, &l->tl);
	if (r != 0) {
		free(l);
		if (r == TCP_EADDRINUSE)
			reply_err(st, TOU_ERR_INUSE, "port %u is already listened on", port);
		else
			reply_err(st, TOU_ERR_INTERNAL, "cannot listen: %s", tcp_strerror(r));
		return;
	}
	l->port = port;
	l->uid = st->uid;
	l->backlog = backlog;
	l->owner = st;
	l->next = A.listeners;
	A.listeners = l;
	st->lst = l;
	st->phase = PH_LISTENING;
	free(st->pend); /* LISTEN connections carry no data */
	st->pend = NULL;
	st->pend_len = st->pend_off = 0;
	stream_printf(st, "OK %u", port);
	log_info("listening on port %u for uid %u (backlog %u)", port, (unsigned)st->uid, backlog);
	if (st->app_eof)
		uv_timer_start(&st->timer, on_listen_watch, 250, 250);
	else
		stream_read_start(st);
}

static void do_accept(struct stream *st)
{
	uint16_t port = st->req.port;
	if (!port_allowed(st, port)) {
		reply_err(st, TOU_ERR_DENIED, "port %u is below %u: only root may accept on it", port,
			  toud.cfg.privileged_ports);
		return;
	}
	struct listener *l = find_listener(port);
	if (!l) {
		reply_err(st, TOU_ERR_NOTFOUND, "nothing listens on port %u (LISTEN first)", port);
		return;
	}
	if (l->uid != st->uid && st->uid != 0) {
		reply_err(st, TOU_ERR_DENIED, "port %u is listened on by another user", port);
		return;
	}
	if (l->qhead) {
		struct conn *c = l->qhead;
		accept_queue_remove(c);
		st->phase = PH_ACCEPT_WAIT;
		stream_begin(st, c);
		return;
	}
	st->phase = PH_ACCEPT_WAIT;
	st->waiting_on = l;
	if (l->wtail)
		l->wtail->wnext = st;
	else
		l->whead = st;
	l->wtail = st;
	if (st->req.has_timeout)
		uv_timer_start(&st->timer, on_accept_timeout, (uint64_t)st->req.timeout_s * 1000, 0);
	stream_read_start(st);
}

static void conn_json(struct sbuf *b, struct tcp_conn *tc, long long uid)
{
	struct tcp_conn_info i;
	if (tcp_conn_info(tc, &i) != 0)
		return;
	char local[96], rem[96];
	conn_names(&i.remote, i.local_port, i.remote_port, local, sizeof local, rem, sizeof rem);
	json_conn(b, &i, uid, local, rem, NULL);
}

static void end_json(struct sbuf *b, const struct end_record *e)
{
	struct tcp_conn_info i = e->info;
	i.cc_name = e->cc;
	json_conn(b, &i, e->uid, e->local, e->remote, e->end);
}

static void do_status(struct stream *st)
{
	struct sbuf b;
	sb_init(&b);
	if (!st->req.has_id) { /* the daemon itself */
		char udp[512];
		udp_describe(udp, sizeof udp);
		sb_printf(&b, "{\"version\":\"%s\",\"pid\":%d,\"uptime_s\":%" PRIu64
			  ",\"connections\":%u,\"listeners\":",
			  TOU_VERSION, (int)getpid(), (toud_now() - toud.started_us) / 1000000, A.n_conns);
		unsigned nl = 0;
		for (struct listener *l = A.listeners; l; l = l->next)
			nl++;
		sb_printf(&b, "%u,\"udp\":", nl);
		sb_json_str(&b, udp);
		sb_printf(&b, ",\"socket\":");
		sb_json_str(&b, A.path);
		sb_printf(&b, ",\"stopping\":%s}", toud.stopping ? "true" : "false");
		reply_ok_doc(st, &b);
		return;
	}
	const struct end_record *e = find_end(st->req.id);
	if (e) {
		end_json(&b, e);
		reply_ok_doc(st, &b);
		return;
	}
	struct tcp_conn *tc = tcp_find_by_id(toud.stack, st->req.id);
	if (tc) {
		struct conn *c = find_conn(st->req.id);
		conn_json(&b, tc, c ? (long long)c->uid : -1);
		reply_ok_doc(st, &b);
		return;
	}
	reply_err(st, TOU_ERR_NOTFOUND, "no connection %" PRIu64, st->req.id);
}

struct list_ctx {
	struct sbuf *b;
	int n;
};

static int list_one(void *arg, struct tcp_conn *tc)
{
	struct list_ctx *lc = arg;
	/* ours only if we know the id: the engine's user pointer of an
	 * embryonic connection may be the listener's */
	struct conn *c = find_conn(tcp_conn_id(tc));
	if (lc->n++)
		sb_printf(lc->b, ",");
	size_t before = lc->b->len;
	conn_json(lc->b, tc, c ? (long long)c->uid : -1);
	if (lc->b->len == before && lc->n == 1)
		lc->n = 0;
	return 0;
}

static void do_list(struct stream *st)
{
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "[");
	struct list_ctx lc = { &b, 0 };
	tcp_foreach(toud.stack, list_one, &lc);
	for (struct listener *l = A.listeners; l; l = l->next) {
		char a[72];
		/* a listener: LISTEN state, no peer */
		sb_printf(&b, "%s{\"id\":0,\"state\":\"LISTEN\",\"local\":", lc.n++ ? "," : "");
		udp_local_name(udp_have_family(4) ? 4 : 6, a, sizeof a);
		char local[96];
		snprintf(local, sizeof local, "%s/%u", a, l->port);
		sb_json_str(&b, local);
		sb_printf(&b, ",\"remote\":\"*\",\"uid\":%u,\"backlog\":%u,\"accept_queue\":%u}", (unsigned)l->uid,
			  l->backlog, l->qlen);
	}
	sb_printf(&b, "]");
	reply_ok_doc(st, &b);
}

static void do_stats(struct stream *st)
{
	struct tcp_stats s;
	tcp_get_stats(toud.stack, &s);
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "{\"tcp\":");
	json_tcp_stats(&b, &s);
	char u[1024];
	udp_json(u, sizeof u);
	char rt[512];
	udp_route_json(rt, sizeof rt);
	sb_printf(&b, ",\"udp\":%s,\"route\":%s,\"api\":{\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
		  ",\"clients_refused\":%" PRIu64 ",\"clients_waiting\":%u,\"connections\":%u,"
		  "\"ended_kept\":%u}}",
		  u, rt, A.api_requests, A.api_errors, A.api_clients_refused, A.n_req, A.n_conns, A.n_ends);
	reply_ok_doc(st, &b);
}

static void do_abort(struct stream *st)
{
	struct conn *c = find_conn(st->req.id);
	if (!c || !c->tc) {
		if (find_end(st->req.id))
			reply_err(st, TOU_ERR_NOTFOUND, "connection %" PRIu64 " has already ended", st->req.id);
		else
			reply_err(st, TOU_ERR_NOTFOUND, "no connection %" PRIu64, st->req.id);
		return;
	}
	if (c->uid != st->uid && st->uid != 0) {
		reply_err(st, TOU_ERR_DENIED, "connection %" PRIu64 " belongs to another user", c->id);
		return;
	}
	log_info("conn %" PRIu64 ": ABORT by uid %u pid %d", c->id, (unsigned)st->uid, (int)st->pid);
	conn_abort(c);
	stream_printf(st, "OK");
	stream_finish(st);
}

static void dispatch(struct stream *st)
{
	char err[400];
	A.api_requests++;
	if (st->phase == PH_REQ)
		A.n_req--;
	st->phase = PH_REPLIED; /* until a verb moves it on */
	uv_timer_stop(&st->timer);
	if (api_parse_line(st->line, st->line_len, &st->req, err, sizeof err) != 0) {
		reply_err(st, TOU_ERR_BADREQUEST, "%s", err);
		return;
	}
	if (toud.stopping && (st->req.verb == API_CONNECT || st->req.verb == API_LISTEN ||
			      st->req.verb == API_ACCEPT)) {
		reply_err(st, TOU_ERR_SHUTDOWN, "daemon is stopping");
		return;
	}
	switch (st->req.verb) {
	case API_CONNECT: do_connect(st); return;
	case API_LISTEN: do_listen(st); return;
	case API_ACCEPT: do_accept(st); return;
	case API_STATUS: do_status(st); return;
	case API_LIST: do_list(st); return;
	case API_STATS: do_stats(st); return;
	case API_ABORT: do_abort(st); return;
	case API_VERSION:
		stream_printf(st, "OK %s", TOU_VERSION);
		stream_finish(st);
		return;
	}
	reply_err(st, TOU_ERR_INTERNAL, "unhandled request");
}

/* ---------- the server ---------- */

static void on_request_timeout(uv_timer_t *t)
{
	struct stream *st = t->data;
	if (st->phase == PH_REQ)
		reply_err(st, TOU_ERR_BADREQUEST, "no complete request line within %" PRIu64 " ms",
			  toud.cfg.request_timeout / 1000);
}

static void on_connection(uv_stream_t *server, int status)
{
	if (status < 0) {
		log_warn("api: accept: %s", uv_strerror(status));
		return;
	}
	struct stream *st = calloc(1, sizeof *st);
	if (!st) {
		log_err("api: out of memory");
		return;
	}
	uv_pipe_init(toud.loop, &st->pipe, 0);
	uv_timer_init(toud.loop, &st->timer);
	st->pipe.data = st;
	st->timer.data = st;
	st->open_handles = 2;
	st->phase = PH_REQ;
	st->next = A.streams;
	if (A.streams)
		A.streams->prev = st;
	A.streams = st;
	A.n_req++;
	if (uv_accept(server, (uv_stream_t *)&st->pipe) != 0) {
		stream_close(st);
		return;
	}
	uv_os_fd_t fd;
	struct ucred cred;
	socklen_t cl = sizeof cred;
	if (uv_fileno((uv_handle_t *)&st->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
		log_warn("api: SO_PEERCRED: %s", strerror(errno));
		stream_close(st);
		return;
	}
	st->uid = cred.uid;
	st->gid = cred.gid;
	st->pid = cred.pid;
	if (A.n_req > toud.cfg.max_api_clients) {
		A.api_clients_refused++;
		log_peer(LOG_LVL_WARNING, (const uint8_t *)&st->uid, sizeof st->uid, toud_now(),
			 "api: client uid %u pid %d refused: max_api_clients (%u) reached", (unsigned)st->uid,
			 (int)st->pid, toud.cfg.max_api_clients);
		/* answer, then drain what the client sends (so that its write
		 * of the request does not fail with EPIPE before it reads the
		 * answer) until its EOF or for a second at most */
		A.n_req--;
		st->phase = PH_REPLIED;
		A.api_errors++;
		stream_printf(st, "ERR %s too many API clients (max_api_clients %u)", TOU_ERR_LIMIT,
			      toud.cfg.max_api_clients);
		uv_shutdown_t *sreq = malloc(sizeof *sreq);
		if (sreq && uv_shutdown(sreq, (uv_stream_t *)&st->pipe, on_shutdown) != 0)
			free(sreq);
		uv_timer_start(&st->timer, on_reply_timeout, 1000, 0);
		stream_read_start(st);
		return;
	}
	uv_timer_start(&st->timer, on_request_timeout, toud.cfg.request_timeout / 1000 + 1, 0);
	stream_read_start(st);
}

static int make_socket_dir(const char *path)
{
	char dir[108];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is a daemon answering on path?  (Then we must not steal its socket.) */
static int socket_alive(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	int r = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	return r == 0;
}

int api_start(struct toud *d)
{
	A.rbuf = malloc(RBUF_SIZE);
	if (!A.rbuf)
		return UV_ENOMEM;
	snprintf(A.path, sizeof A.path, "%s", d->cfg.socket);
	int r = uv_pipe_init(d->loop, &A.server, 0);
	if (r != 0)
		return r;
	A.server_open = 1;
	if (d->api_fd >= 0) {
		r = uv_pipe_open(&A.server, d->api_fd);
		if (r != 0) {
			log_err("api: passed socket: %s", uv_strerror(r));
			return r;
		}
		size_t len = sizeof A.path;
		if (uv_pipe_getsockname(&A.server, A.path, &len) != 0)
			snprintf(A.path, sizeof A.path, "(passed fd %d)", d->api_fd);
	} else {
		r = make_socket_dir(A.path);
		if (r != 0) {
			log_err("api: cannot create the directory of %s: %s", A.path, strerror(-r));
			return r;
		}
		struct stat sb;
		if (lstat(A.path, &sb) == 0) {
			if (!S_ISSOCK(sb.st_mode)) {
				log_err("api: %s exists and is not a socket", A.path);
				return UV_EEXIST;
			}
			if (socket_alive(A.path)) {
				log_err("api: %s: another daemon is answering there", A.path);
				return UV_EADDRINUSE;
			}
			log_info("api: removing stale socket %s", A.path);
			unlink(A.path);
		}
		r = uv_pipe_bind(&A.server, A.path);
		if (r != 0) {
			log_err("api: bind %s: %s", A.path, uv_strerror(r));
			return r;
		}
		A.bound_path = 1;
		if (chmod(A.path, d->cfg.socket_mode) != 0)
			log_warn("api: chmod %s %04o: %s", A.path, d->cfg.socket_mode, strerror(errno));
		if (d->cfg.socket_group[0]) {
			struct group *g = getgrnam(d->cfg.socket_group);
			if (!g)
				log_warn("api: group \"%s\" not found; %s keeps its group", d->cfg.socket_group, A.path);
			else if (chown(A.path, (uid_t)-1, g->gr_gid) != 0)
				log_warn("api: chown %s :%s: %s", A.path, d->cfg.socket_group, strerror(errno));
		}
	}
	r = uv_listen((uv_stream_t *)&A.server, 128, on_connection);
	if (r != 0) {
		log_err("api: listen on %s: %s", A.path, uv_strerror(r));
		return r;
	}
	return 0;
}

void api_stop_accepting(void)
{
	if (A.server_open) {
		A.server_open = 0;
		uv_close((uv_handle_t *)&A.server, NULL);
		if (A.bound_path)
			unlink(A.path);
	}
}

void api_shutdown_streams(void)
{
	struct stream *next;
	for (struct stream *st = A.streams; st; st = next) {
		next = st->next;
		switch (st->phase) {
		case PH_REQ:
			reply_err(st, TOU_ERR_SHUTDOWN, "daemon is stopping");
			break;
		case PH_RESOLVING:
			reply_err(st, TOU_ERR_SHUTDOWN, "daemon is stopping");
			break;
		case PH_CONNECTING: {
			struct conn *c = st->conn;
			st->conn = NULL;
			if (c)
				c->st = NULL;
			reply_err(st, TOU_ERR_SHUTDOWN, "daemon is stopping");
			if (c)
				conn_abort(c);
			break;
		}
		case PH_ACCEPT_WAIT:
			waiter_remove(st);
			reply_err(st, TOU_ERR_SHUTDOWN, "daemon is stopping");
			break;
		case PH_LISTENING:
			stream_close(st);
			break;
		case PH_STREAM:
			/* as if the app had shut down its side: FIN after the
			 * queued data; reading from the app stops */
			if (st->reading) {
				uv_read_stop((uv_stream_t *)&st->pipe);
				st->reading = 0;
			}
			st->app_eof = 1;
			if (st->pend_off == st->pend_len)
				feed_engine(st);
			else
				st->fin_after_pend = 1;
			break;
		case PH_REPLIED:
			break;
		}
	}
	/* connections whose app is gone are already closing; the rest: */
	struct conn *cn;
	for (struct conn *c = A.conns; c; c = cn) {
		cn = c->next;
		if (c->tc && !c->st && !c->closing) {
			c->closing = 1;
			tcp_close_no_read(c->tc, toud_now());
		}
	}
	/* anything still in a listener's queue was aborted by listener_close */
}

void api_abort_all(void)
{
	struct conn *next;
	for (struct conn *c = A.conns; c; c = next) {
		next = c->next;
		conn_abort(c);
	}
}

unsigned api_live_connections(void)
{
	return A.n_conns;
}

void api_config_changed(void)
{
}

void api_close(void)
{
	api_stop_accepting();
	struct stream *next;
	for (struct stream *st = A.streams; st; st = next) {
		next = st->next;
		stream_close(st);
	}
	api_reap();
}

void api_free(void)
{
	free(A.rbuf);
	A.rbuf = NULL;
	while (wpool) {
		struct wreq *w = wpool;
		wpool = w->next_free;
		free(w);
	}
	wpool_n = 0;
}

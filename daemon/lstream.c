/*
 * lstream.c - a local byte stream (lstream.h): one libuv stream handle,
 * its write queue and its holder.  The one write path to an application.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lstream.h"

struct lstream_wreq {
	uv_write_t req;
	struct lstream *ls;
	size_t len;
	int pooled;                     /* an LSTREAM_BLOCK block */
	struct lstream_wreq *next_free;
	char data[];
};

static struct lstream_wreq *wreq_get(struct lstream_pool *p, size_t len)
{
	if (p && len > LSTREAM_BLOCK / 4 && len <= LSTREAM_BLOCK) {
		struct lstream_wreq *w = p->free;
		if (w) {
			p->free = w->next_free;
			p->n--;
		} else {
			w = malloc(sizeof *w + LSTREAM_BLOCK);
			if (!w)
				return NULL;
		}
		w->pooled = 1;
		return w;
	}
	struct lstream_wreq *w = malloc(sizeof *w + len);
	if (w)
		w->pooled = 0;
	return w;
}

static void wreq_put(struct lstream_pool *p, struct lstream_wreq *w)
{
	if (p && w->pooled && p->n < LSTREAM_POOL_MAX) {
		w->next_free = p->free;
		p->free = w;
		p->n++;
		return;
	}
	free(w);
}

void lstream_pool_free(struct lstream_pool *p)
{
	while (p->free) {
		struct lstream_wreq *w = p->free;
		p->free = w->next_free;
		free(w);
	}
	p->n = 0;
}

/* ---- handle callbacks: to the holder ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct lstream *ls = h->data;
	ls->ops->alloc(ls->holder, buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct lstream *ls = s->data;
	if (nread == 0 || ls->state == LS_CLOSING)
		return;
	if (nread < 0)
		uv_read_stop(s); /* libuv reads nothing more after EOF or an error */
	ls->ops->read(ls->holder, nread, buf);
}

static void on_closed(uv_handle_t *h)
{
	struct lstream *ls = h->data;
	if (ls->ops && ls->ops->closed)
		ls->ops->closed(ls->holder);
	free(ls);
}

static void close_now(struct lstream *ls)
{
	ls->state = LS_CLOSING;
	if (ls->is_tcp && ls->close_reset && uv_tcp_close_reset(&ls->u.tcp, on_closed) == 0)
		return; /* SO_LINGER 0: the app's TCP sees RST */
	uv_close(&ls->u.h, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
	struct lstream_wreq *w = (struct lstream_wreq *)req;
	struct lstream *ls = w->ls;
	ls->queued -= w->len;
	wreq_put(ls->pool, w);
	if (ls->state == LS_CLOSING)
		return;
	if (status < 0 && ls->state == LS_OPEN)
		ls->state = LS_FAILED;
	if (ls->state == LS_DRAINING && (ls->queued == 0 || status < 0)) {
		close_now(ls);
		return;
	}
	if (ls->ops->written)
		ls->ops->written(ls->holder, status);
}

/* ---- life ---- */

static struct lstream *alloc_ls(struct lstream_pool *pool)
{
	struct lstream *ls = calloc(1, sizeof *ls);
	if (ls)
		ls->pool = pool;
	return ls;
}

struct lstream *lstream_new(uv_loop_t *loop, int tcp, struct lstream_pool *pool)
{
	struct lstream *ls = alloc_ls(pool);
	if (!ls)
		return NULL;
	int r = tcp ? uv_tcp_init(loop, &ls->u.tcp) : uv_pipe_init(loop, &ls->u.pipe, 0);
	if (r != 0) {
		free(ls);
		return NULL;
	}
	ls->is_tcp = tcp;
	ls->u.h.data = ls;
	return ls;
}

int lstream_open_fd(uv_loop_t *loop, int fd, struct lstream_pool *pool, struct lstream **out)
{
	uv_handle_type t = uv_guess_handle(fd);
	if (t != UV_NAMED_PIPE && t != UV_TCP) {
		close(fd);
		return UV_EINVAL;
	}
	struct lstream *ls = lstream_new(loop, t == UV_TCP, pool);
	if (!ls) {
		close(fd);
		return UV_ENOMEM;
	}
	int r = t == UV_TCP ? uv_tcp_open(&ls->u.tcp, fd) : uv_pipe_open(&ls->u.pipe, fd);
	if (r != 0) {
		close(fd);
		/* the handle has no fd: closing it is only libuv's bookkeeping */
		ls->state = LS_CLOSING;
		uv_close(&ls->u.h, on_closed);
		return r;
	}
	*out = ls;
	return 0;
}

void lstream_hold(struct lstream *ls, const struct lstream_ops *ops, void *holder, int keep_reading)
{
	/* a stop and a start in the same turn cost libuv two epoll_ctl calls
	 * (EPOLL_CTL_ADD, EEXIST, then MOD): a holder that reads at once keeps
	 * the reads going, and gets them from now on */
	if (!keep_reading)
		uv_read_stop(&ls->u.s);
	ls->ops = ops;
	ls->holder = holder;
}

int lstream_read_start(struct lstream *ls)
{
	if (ls->state == LS_CLOSING)
		return UV_EINVAL;
	int r = uv_read_start(&ls->u.s, on_alloc, on_read);
	return r == UV_EALREADY ? 0 : r;
}

void lstream_read_stop(struct lstream *ls)
{
	if (ls->state != LS_CLOSING)
		uv_read_stop(&ls->u.s);
}

/* ---- the write path ---- */

static void set_sndbuf(struct lstream *ls, int bytes)
{
	uv_os_fd_t fd;
	if (uv_fileno(&ls->u.h, &fd) == 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

/* uv_try_write of the pieces of iov from byte off on: what the socket
 * took (0 when it is full), or -1 when the stream failed. */
static ssize_t try_write_from(struct lstream *ls, const struct tcp_iov *iov, int n, size_t off)
{
	uv_buf_t b[LSTREAM_IOV_MAX];
	unsigned nb = 0;
	for (int i = 0; i < n; i++) {
		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		b[nb++] = uv_buf_init((char *)iov[i].base + off, (unsigned)(iov[i].len - off));
		off = 0;
	}
	if (nb == 0)
		return 0;
	int r = uv_try_write(&ls->u.s, b, nb);
	if (r > 0)
		return r;
	if (r < 0 && r != UV_EAGAIN)
		return -1;
	return 0;
}

ssize_t lstream_write(struct lstream *ls, const struct tcp_iov *iov, int n, size_t max_copy)
{
	if (ls->state != LS_OPEN)
		return -1;
	size_t total = 0, done = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].len;
	if (ls->queued == 0) { /* nothing queued: the socket may take it now */
		ssize_t r = try_write_from(ls, iov, n, 0);
		if (r >= 0 && (size_t)r < total && ls->sndbuf_want) {
			/* the socket buffer is the limit for the first time:
			 * grow it now (lstream_set_bufs) and try the rest */
			set_sndbuf(ls, ls->sndbuf_want);
			ls->sndbuf_want = 0;
			ssize_t more = try_write_from(ls, iov, n, (size_t)r);
			r = more < 0 ? -1 : r + more;
		}
		if (r < 0) {
			ls->state = LS_FAILED;
			return -1;
		}
		done = (size_t)r;
	}
	if (done == total)
		return (ssize_t)total;
	size_t len = total - done > max_copy ? max_copy : total - done;
	if (len == 0)
		return (ssize_t)done;
	struct lstream_wreq *w = wreq_get(ls->pool, len);
	if (!w) {
		ls->state = LS_FAILED;
		return -1;
	}
	size_t off = done, k = 0;
	while (k < len) { /* gather [done, done+len) of the pieces */
		int i = 0;
		size_t at = off;
		while (at >= iov[i].len) {
			at -= iov[i].len;
			i++;
		}
		size_t m = iov[i].len - at < len - k ? iov[i].len - at : len - k;
		memcpy(w->data + k, iov[i].base + at, m);
		k += m;
		off += m;
	}
	w->ls = ls;
	w->len = len;
	uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, &ls->u.s, &b, 1, on_written) != 0) {
		wreq_put(ls->pool, w);
		ls->state = LS_FAILED;
		return -1;
	}
	ls->queued += len;
	return (ssize_t)(done + len);
}

int lstream_printf(struct lstream *ls, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	struct tcp_iov v = { (uint8_t *)line, (size_t)n };
	return lstream_write(ls, &v, 1, SIZE_MAX) == n ? 0 : -1;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

void lstream_shutdown(struct lstream *ls)
{
	if (ls->state != LS_OPEN)
		return;
	uv_shutdown_t *req = malloc(sizeof *req);
	/* libuv runs the shutdown after every queued write; a second call
	 * is refused (UV_ENOTCONN) and changes nothing */
	if (req && uv_shutdown(req, &ls->u.s, on_shutdown) != 0)
		free(req);
}

void lstream_close_drained(struct lstream *ls, int reset)
{
	if (ls->state == LS_CLOSING || ls->state == LS_DRAINING)
		return;
	ls->close_reset = reset;
	uv_read_stop(&ls->u.s);
	if (ls->queued == 0 || ls->state == LS_FAILED) {
		close_now(ls);
		return;
	}
	ls->state = LS_DRAINING;
}

void lstream_close(struct lstream *ls, int reset)
{
	if (ls->state == LS_CLOSING)
		return;
	ls->close_reset = reset;
	close_now(ls);
}

int lstream_hung_up(struct lstream *ls)
{
	uv_os_fd_t fd;
	if (ls->state == LS_CLOSING || uv_fileno(&ls->u.h, &fd) != 0)
		return 1;
	/* Linux: a stream socket whose peer closed completely reports POLLHUP
	 * (a TCP peer's RST: POLLERR); the peer's shutdown(SHUT_WR) only
	 * gives EOF (POLLRDHUP) */
	struct pollfd p = { .fd = fd, .events = 0 };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

void lstream_set_bufs(struct lstream *ls, int bytes)
{
	uv_os_fd_t fd;
	if (ls->is_tcp) {
		if (uv_fileno(&ls->u.h, &fd) != 0)
			return;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
		return;
	}
	/* a Unix stream socket: the sender's SO_SNDBUF bounds what is in
	 * flight (SO_RCVBUF bounds nothing), so only SO_SNDBUF, and only once
	 * a write finds the default too small: a short stream makes no
	 * system call for it */
	ls->sndbuf_want = bytes;
}

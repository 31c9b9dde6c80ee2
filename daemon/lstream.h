/*
 * lstream.h - a local byte stream: one libuv stream handle (the API's Unix
 * socket, or a TCP socket) and its write queue.  lstream_write() is THE
 * write path to a local application: what the socket takes now is written
 * with uv_try_write(), the rest (up to a bound) is copied into one queued
 * uv_write.  The handle is held by one holder at a time (the API server
 * while it answers a request, then a bridge); every callback of the handle
 * goes to the current holder's ops.  docs/DESIGN.md section 5.
 */
#ifndef TOUD_LSTREAM_H
#define TOUD_LSTREAM_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "tcp.h" /* struct tcp_iov */

/* Queued write blocks of LSTREAM_BLOCK bytes are recycled: a fresh 256 KiB
 * malloc is an mmap whose pages fault in on every copy. */
#define LSTREAM_BLOCK (256 * 1024)
#define LSTREAM_POOL_MAX 32

struct lstream_wreq;
struct lstream_pool {
	struct lstream_wreq *free;
	unsigned n;
};
void lstream_pool_free(struct lstream_pool *p); /* after every stream closed */

enum lstream_state {
	LS_OPEN,     /* reads and writes */
	LS_FAILED,   /* a write failed (the app is gone): nothing more is written */
	LS_DRAINING, /* closes once every queued write is done */
	LS_CLOSING   /* uv_close called; freed in its callback */
};

struct lstream_ops {
	/* libuv's alloc_cb and read_cb (nread > 0 bytes, UV_EOF, or an error) */
	void (*alloc)(void *holder, uv_buf_t *buf);
	void (*read)(void *holder, ssize_t nread, const uv_buf_t *buf);
	/* a queued write finished: the queue shrank (status < 0: it failed) */
	void (*written)(void *holder, int status);
	/* the handle is closed; the lstream is freed right after this */
	void (*closed)(void *holder);
};

struct lstream {
	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	} u;
	int is_tcp;
	int close_reset;                /* close with RST (TCP streams) */
	int sndbuf_want;                /* SO_SNDBUF to set at the first short write, 0: none */
	enum lstream_state state;
	size_t queued;                  /* bytes in uv_write requests */
	struct lstream_pool *pool;
	const struct lstream_ops *ops;
	void *holder;
};

/* A new Unix-socket stream (uv_pipe_init) or TCP stream (uv_tcp_init),
 * ready for uv_accept into &ls->u.s.  NULL when out of memory. */
struct lstream *lstream_new(uv_loop_t *loop, int tcp, struct lstream_pool *pool);
/* A stream for an fd that is already connected (a socketpair end, a
 * forwarded socket): a pipe or a TCP handle by the fd's kind.  The
 * lstream owns fd from then on (also on failure: closed).  0 or a
 * negative libuv code. */
int lstream_open_fd(uv_loop_t *loop, int fd, struct lstream_pool *pool, struct lstream **out);

/* The holder from now on.  Reading stops until the holder starts it,
 * unless keep_reading: then reads (if on) go on, to the new holder. */
void lstream_hold(struct lstream *ls, const struct lstream_ops *ops, void *holder, int keep_reading);
int lstream_read_start(struct lstream *ls);  /* idempotent; 0 or a libuv code */
void lstream_read_stop(struct lstream *ls);  /* idempotent */

/* Writes the n pieces of iov (n <= LSTREAM_IOV_MAX): what the socket takes now, then at
 * most max_copy more bytes copied into one queued write (SIZE_MAX: all).
 * Returns the bytes taken (the rest is the caller's to keep), or -1 if
 * the stream failed or is closing (then nothing is taken). */
#define LSTREAM_IOV_MAX 3
ssize_t lstream_write(struct lstream *ls, const struct tcp_iov *iov, int n, size_t max_copy);
/* One text line ("\n" appended), all of it queued if need be. */
int lstream_printf(struct lstream *ls, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* shutdown(SHUT_WR) after every queued write (the app reads EOF). */
void lstream_shutdown(struct lstream *ls);
/* Closes after every queued write (LS_DRAINING); reset: a TCP stream is
 * closed with SO_LINGER 0 (RST) instead of FIN. */
void lstream_close_drained(struct lstream *ls, int reset);
/* Closes now; queued writes are cancelled.  reset as above. */
void lstream_close(struct lstream *ls, int reset);
/* Did the app close its socket completely (not just shut its write side)? */
int lstream_hung_up(struct lstream *ls);
/* SO_SNDBUF / SO_RCVBUF of the socket (best effort; a Unix socket's
 * SO_SNDBUF only, set when a write first finds the socket full). */
void lstream_set_bufs(struct lstream *ls, int bytes);

#endif

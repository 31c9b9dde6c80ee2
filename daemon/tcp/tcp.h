/*
 * tcp.h - the public interface of tou's TCP engine.
 *
 * The engine is sans-I/O (DESIGN.md section 4): it never touches a socket,
 * never reads a clock and never prints.  The caller hands it
 *   - datagrams that arrived          (tcp_input)
 *   - the current time                (every call takes `now`)
 *   - randomness                      (the secret and seed in tcp_stack_new)
 * and receives
 *   - segments to send                (callbacks.emit)
 *   - events for connection owners    (callbacks.event)
 *   - log lines                       (callbacks.log)
 *
 * Time is a monotonic count of MICROSECONDS (tcp_time_t).  The caller keeps one
 * timer armed at tcp_next_deadline() and calls tcp_timeout() when it fires.
 *
 * Every function returning int returns 0 (or a count) on success and a
 * negative TCP_E* code on failure; tcp_strerror() names it.
 */
#ifndef TOU_TCP_H
#define TOU_TCP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t tcp_time_t; /* microseconds, monotonic */
#define TCP_TIME_NEVER UINT64_MAX
#define TCP_MS(x) ((tcp_time_t)(x) * 1000u)
#define TCP_SEC(x) ((tcp_time_t)(x) * 1000000u)

/* Error codes: negative values, stable, named by tcp_strerror(). */
enum tcp_error {
	TCP_OK = 0,
	TCP_EINVAL = -1,        /* bad argument */
	TCP_ENOMEM = -2,        /* allocation failed or a table is full */
	TCP_EADDRINUSE = -3,    /* port already listened on / 4-tuple in use */
	TCP_ENOTCONN = -4,      /* connection not (yet / any more) synchronized */
	TCP_ECONNREFUSED = -5,  /* RST answered our SYN */
	TCP_ECONNRESET = -6,    /* peer reset a synchronized connection */
	TCP_ETIMEDOUT = -7,     /* retransmission / keepalive gave up */
	TCP_ECLOSING = -8,      /* "connection closing": SEND after CLOSE */
	TCP_EAGAIN = -9,        /* nothing to do now: buffer full / empty */
	TCP_EABORTED = -10,     /* aborted by the local user */
	TCP_EMALFORMED = -11,   /* segment could not be parsed */
	TCP_ENOPORTS = -12,     /* no ephemeral port free */
	TCP_EEXIST = -13,       /* connection already exists */
	TCP_ELIMIT = -14        /* a configured limit was reached */
};
const char *tcp_strerror(int err);

/* A transport address: the peer's IP and UDP port.  The engine does not
 * include socket headers; addr holds 4 (family 4) or 16 (family 6) bytes in
 * network order, udp_port is in host order. */
struct tcp_endpoint {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
	uint16_t udp_port;
};

/* RFC 9293 section 3.3.2 states, RFC names via tcp_state_name(). */
enum tcp_state {
	TCP_S_CLOSED = 0,
	TCP_S_LISTEN,
	TCP_S_SYN_SENT,
	TCP_S_SYN_RECEIVED,
	TCP_S_ESTABLISHED,
	TCP_S_FIN_WAIT_1,
	TCP_S_FIN_WAIT_2,
	TCP_S_CLOSE_WAIT,
	TCP_S_CLOSING,
	TCP_S_LAST_ACK,
	TCP_S_TIME_WAIT
};
const char *tcp_state_name(enum tcp_state s); /* "SYN-RECEIVED" ... */

/* Events delivered to a connection's owner. */
enum tcp_event {
	TCP_EV_ESTABLISHED = 1, /* active open completed */
	TCP_EV_ACCEPTED,        /* passive open completed; `user` is the listener's */
	TCP_EV_READABLE,        /* new in-order data can be read with tcp_recv */
	TCP_EV_WRITABLE,        /* send buffer has room again */
	TCP_EV_PEER_FIN,        /* peer sent FIN; after buffered data, EOF */
	TCP_EV_CLOSED           /* connection is over; `err` says how: 0 clean,
	                           TCP_ECONNREFUSED, TCP_ECONNRESET, TCP_ETIMEDOUT,
	                           TCP_EABORTED.  After this event the owner must
	                           call tcp_release() (may be from inside it). */
};

enum tcp_log_level { TCP_LOG_ERR = 3, TCP_LOG_WARNING = 4, TCP_LOG_NOTICE = 5,
	TCP_LOG_INFO = 6, TCP_LOG_DEBUG = 7 };

struct tcp_conn;
struct tcp_listener;
struct tcp_stack;

struct tcp_callbacks {
	void *ctx;
	/* A finished segment (header+options+data) for the UDP peer `to`.
	 * The buffer is only valid during the call. */
	void (*emit)(void *ctx, const struct tcp_endpoint *to, const uint8_t *seg, size_t len);
	/* An event for connection c.  `user` is tcp_conn user pointer, or for
	 * TCP_EV_ACCEPTED the listener's user pointer. */
	void (*event)(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err);
	/* Optional log sink (may be NULL).  level is a syslog priority. */
	void (*log)(void *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;
	/* Optional (may be NULL): a buffer of at least `len` bytes in which the
	 * engine builds its next segment for `to`, so that the caller's send
	 * queue needs no copy.  The engine then calls emit() for that segment
	 * with `seg` pointing at this buffer, before any other callback, or -
	 * if building fails - does not use it.  Returning NULL makes the engine
	 * build in its own buffer (as without this hook). */
	uint8_t *(*emit_buf)(void *ctx, const struct tcp_endpoint *to, size_t len);
};

/* Congestion control algorithms (tcp_cc.h has the interface). */
enum tcp_cc_algo { TCP_CC_CUBIC = 0, TCP_CC_NEWRENO = 1 };

/* Engine-wide configuration; tcp_config_default() fills the defaults. */
struct tcp_config {
	uint16_t mss;              /* advertised MSS: 1452 (IPv4 on a 1500 path) */
	uint32_t send_buffer;      /* bytes, default 4 MiB */
	uint32_t recv_buffer;      /* bytes, default 4 MiB */
	tcp_time_t rto_initial;    /* RFC 6298 (2.1): 1 s */
	tcp_time_t rto_min;        /* RFC 6298 (2.4) says 1 s; Linux 200 ms; default 200 ms */
	tcp_time_t rto_max;        /* RFC 6298 (2.5): at least 60 s; default 120 s */
	tcp_time_t msl;            /* RFC 9293 3.4.2: 2 min; default 30 s (TIME-WAIT = 2*MSL) */
	unsigned syn_retries;      /* SYN / SYN-ACK retransmissions before giving up (R2 for SYN), default 7: ~4 min, RFC 9293 3.8.3 MUST-23 */
	unsigned retries;          /* data retransmissions before giving up (R2), default 15 */
	tcp_time_t delayed_ack;    /* RFC 9293 3.8.6.3: < 0.5 s; default 40 ms, 0 = off */
	int nodelay;               /* 1 = Nagle off by default */
	enum tcp_cc_algo cc;       /* default CUBIC */
	int keepalive;             /* 1 = keepalive on by default (off) */
	tcp_time_t keepalive_idle; /* RFC 9293 3.8.4: >= 2 h */
	tcp_time_t keepalive_intvl;/* 75 s */
	unsigned keepalive_probes; /* 9 */
	int timestamps;            /* RFC 7323, default on */
	int sack;                  /* RFC 2018, default on */
	int window_scaling;        /* RFC 7323, default on */
	unsigned max_connections;  /* total TCBs incl. TIME-WAIT, default 4096 */
	unsigned challenge_ack_limit; /* RFC 5961 section 7: per second, default 1000 */
	int syncookies;            /* RFC 4987 3.6: SYN cookies when a listener's
	                              backlog is full (default 1); 0: the oldest
	                              half-open connection is dropped instead */
};
void tcp_config_default(struct tcp_config *cfg);

/* Per-connection options for tcp_connect / set on accepted connections. */
struct tcp_conn_opts {
	int nodelay;            /* -1 = stack default */
	int keepalive;          /* -1 = stack default */
	tcp_time_t timeout;     /* connect / user timeout, 0 = from retries */
	int cc;                 /* -1 = stack default, else enum tcp_cc_algo */
};
#define TCP_CONN_OPTS_DEFAULT { -1, -1, 0, -1 }

/* secret: 16 random bytes for the ISN hash (RFC 9293 3.4.1) and SYN cookies;
 * seed: randomness for ephemeral ports and other choices. */
int tcp_stack_new(struct tcp_stack **out, const struct tcp_config *cfg,
		  const struct tcp_callbacks *cb, const uint8_t secret[16], uint64_t seed);
/* Frees every TCB without sending anything. */
void tcp_stack_free(struct tcp_stack *s);
/* Replace the run-time configuration (SIGHUP); affects new connections. */
int tcp_stack_reconfigure(struct tcp_stack *s, const struct tcp_config *cfg);

/* One UDP payload from `from`.  Returns 0 or a negative code (the segment
 * was dropped and counted; callers may ignore the code). */
int tcp_input(struct tcp_stack *s, const struct tcp_endpoint *from,
	      const uint8_t *buf, size_t len, tcp_time_t now);
/* Earliest time any timer is due, or TCP_TIME_NEVER. */
tcp_time_t tcp_next_deadline(const struct tcp_stack *s);
/* Run every timer due at `now`. */
void tcp_timeout(struct tcp_stack *s, tcp_time_t now);

/* Passive OPEN.  Port must not already be listened on. */
int tcp_listen(struct tcp_stack *s, uint16_t port, unsigned backlog, void *user,
	       struct tcp_listener **out);
/* Stops listening; connections not yet accepted are reset. */
void tcp_unlisten(struct tcp_listener *l, tcp_time_t now);

/* Active OPEN to (remote, rport) from local port lport (0 = ephemeral). */
int tcp_connect(struct tcp_stack *s, const struct tcp_endpoint *remote, uint16_t rport,
		uint16_t lport, const struct tcp_conn_opts *opts, void *user,
		tcp_time_t now, struct tcp_conn **out);

/* SEND: copies up to len bytes into the send buffer; returns the count taken
 * (0 when full: wait for TCP_EV_WRITABLE) or a negative code. */
ssize_t tcp_send(struct tcp_conn *c, const void *buf, size_t len, tcp_time_t now);
/* RECEIVE: copies up to len in-order bytes; returns count, 0 at EOF (peer FIN
 * consumed and nothing left), TCP_EAGAIN if nothing is available yet, or a
 * negative code.  Reading opens the receive window. */
ssize_t tcp_recv(struct tcp_conn *c, void *buf, size_t len, tcp_time_t now);
/* CLOSE (RFC 9293 3.10.4): FIN after all queued data.  The owner still gets
 * events until TCP_EV_CLOSED. */
int tcp_close(struct tcp_conn *c, tcp_time_t now);
/* The owner will never read again (its socket is gone): any data that later
 * arrives aborts the connection with RST, as a kernel socket does.  Implies
 * tcp_close(). If unread data is buffered now, the connection is reset.
 * FIN-WAIT-2 then lasts at most 2*MSL: without the peer's FIN by then the
 * connection ends with TCP_EV_CLOSED(TCP_ETIMEDOUT). */
int tcp_close_no_read(struct tcp_conn *c, tcp_time_t now);
/* ABORT (RFC 9293 3.10.5): RST to the peer, TCB gone, TCP_EV_CLOSED(TCP_EABORTED). */
int tcp_abort(struct tcp_conn *c, tcp_time_t now);
/* The owner lets go: no more events; the engine frees the TCB once CLOSED
 * (it may linger in FIN-WAIT/TIME-WAIT owned by the engine). */
void tcp_release(struct tcp_conn *c);

void tcp_conn_set_user(struct tcp_conn *c, void *user);
void *tcp_conn_user(const struct tcp_conn *c);
int tcp_conn_set_opts(struct tcp_conn *c, const struct tcp_conn_opts *opts);

/* STATUS (RFC 9293 3.10.6) */
struct tcp_conn_info {
	uint64_t id;               /* unique per stack, never reused */
	enum tcp_state state;
	struct tcp_endpoint remote;
	uint16_t local_port, remote_port;
	uint32_t snd_una, snd_nxt, snd_wnd, rcv_nxt, rcv_wnd;
	uint32_t send_queue;       /* bytes buffered not yet acked */
	uint32_t recv_queue;       /* bytes received not yet read */
	uint32_t mss;              /* effective send MSS */
	uint32_t cwnd, ssthresh;   /* bytes */
	tcp_time_t srtt, rttvar, rto; /* microseconds */
	uint64_t bytes_sent, bytes_acked, bytes_received;
	uint64_t segs_out, segs_in, retransmits;
	uint8_t snd_wscale, rcv_wscale;
	uint8_t sack_ok, ts_ok;
	uint8_t nodelay, keepalive;  /* Nagle off / keep-alives on (tcp_conn_opts) */
	const char *cc_name;
};
int tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *out);
uint64_t tcp_conn_id(const struct tcp_conn *c);
/* Iterate every TCB (for LIST); stops when fn returns non-zero. */
void tcp_foreach(struct tcp_stack *s, int (*fn)(void *arg, struct tcp_conn *c), void *arg);
struct tcp_conn *tcp_find_by_id(struct tcp_stack *s, uint64_t id);

/* TCP-MIB (RFC 4022) counters plus drops by reason. */
struct tcp_stats {
	uint64_t ActiveOpens, PassiveOpens, AttemptFails, EstabResets, CurrEstab;
	uint64_t InSegs, OutSegs, RetransSegs, InErrs, OutRsts;
	/* drops by reason */
	uint64_t DropMalformed;     /* header/options unparsable */
	uint64_t DropNoConn;        /* no TCB, RST answered or RST dropped */
	uint64_t DropOutOfWindow;   /* unacceptable sequence number */
	uint64_t DropBadAck;        /* ACK outside the RFC 5961 window */
	uint64_t DropPaws;          /* RFC 7323 PAWS */
	uint64_t DropListenOverflow;/* backlog full */
	uint64_t DropRcvBufFull;    /* out-of-order queue bound */
	uint64_t ChallengeAcks, ChallengeAcksSuppressed;
	uint64_t FastRetransmits, Timeouts, DelayedAcks, SackRecoveries;
	uint64_t ZeroWindowProbes, KeepAlives;
	/* RFC 4987 3.6 SYN cookies: SYN,ACKs sent with a cookie (backlog
	 * full), ACKs whose cookie was valid (connection made from it), ACKs
	 * to a listener that had sent cookies whose cookie was forged or
	 * stale (answered with RST) */
	uint64_t SyncookiesSent, SyncookiesRecv, SyncookiesFailed;
};
void tcp_get_stats(const struct tcp_stack *s, struct tcp_stats *out);

/* ---- additions by the engine (core) ---- */

/* TCP_EV_CLOSED(0) is also delivered when a connection reaches TIME-WAIT
 * (both FINs acknowledged: the stream is over for the user); the engine
 * then keeps the TCB for 2*MSL on its own.  tcp_release() is still
 * required. */

/* struct tcp_config.mss is the IPv4 value; IPv6 connections advertise
 * 20 octets less (DESIGN 3: 1432 on a 1500 path). */

/* Tests only: force the ISN of connections opened from now on (NULL hook
 * restores RFC 9293 3.4.1 ISNs).  `c` is the new TCB. */
void tcp_stack_set_isn_hook(struct tcp_stack *s,
			    uint32_t (*hook)(void *arg, const struct tcp_conn *c), void *arg);
/* The state of a connection the caller still holds (before tcp_release). */
enum tcp_state tcp_conn_state(const struct tcp_conn *c);

/* ---- zero-copy SEND and RECEIVE (additions by perf) ----
 *
 * The send and the receive buffer of a TCB are rings; these calls expose
 * their memory so that a caller can read(2) straight into the send buffer
 * and write(2) straight out of the receive buffer.  A region is at most
 * two pieces (the ring wraps): iov[0], then iov[1] (len 0 if unused).
 * Regions stay valid until the next engine call on the stack; nothing is
 * sent, acknowledged or announced until the matching commit/consume. */
struct tcp_iov {
	uint8_t *base;
	size_t len;
};
/* The free space of the send buffer.  Returns its size (iov filled; 0 when
 * the buffer is full: wait for TCP_EV_WRITABLE, as after tcp_send() == 0)
 * or the negative code tcp_send() would return now. */
ssize_t tcp_send_space(struct tcp_conn *c, struct tcp_iov iov[2]);
/* SEND of the first len bytes the caller wrote into the space that
 * tcp_send_space() returned (iov[0] first, then iov[1]): exactly as
 * tcp_send() of those bytes.  Returns len, or a negative code
 * (TCP_EINVAL when len exceeds the free space). */
ssize_t tcp_send_commit(struct tcp_conn *c, size_t len, tcp_time_t now);
/* The in-order received bytes tcp_recv() would copy, without consuming
 * them.  Returns their count (> 0, iov filled) or, when none is buffered,
 * what tcp_recv() returns: 0 at EOF, TCP_EAGAIN, or a negative code. */
ssize_t tcp_recv_peek(struct tcp_conn *c, struct tcp_iov iov[2]);
/* RECEIVE of the first n peeked bytes without copying them: they leave
 * the buffer and the window opens exactly as after tcp_recv() of n bytes.
 * Returns n, or TCP_EINVAL when fewer than n bytes are buffered. */
ssize_t tcp_recv_consume(struct tcp_conn *c, size_t n, tcp_time_t now);

#ifdef __cplusplus
}
#endif
#endif

/*
 * tou.h - libtou, the client library of tou (TCP over UDP).
 *
 * libtou talks to the daemon toud over its Unix-socket API (tou_proto.h,
 * docs/API.md) and hands the program a plain file descriptor for each
 * stream: read(), write(), poll() it like a connected TCP socket;
 * shutdown(fd, SHUT_WR) sends FIN after all queued data; close(fd) closes
 * the stream (unread data arriving later makes the daemon answer RST, as
 * a kernel socket would).  EOF on read() means the peer sent FIN or the
 * stream ended; tou_status() tells how it ended.
 *
 * Every function that takes `socket_path` uses, when it is NULL, the
 * environment variable TOU_SOCKET if set and non-empty, else
 * TOU_DEFAULT_SOCKET ("/run/tou/toud.sock").
 *
 * Errors: functions return a negative code on failure, never set a
 * global error state other than what tou_errdetail() reports.  The codes
 * are negative errno values (so strerror(-err) also works), plus
 * TOU_ENODAEMON below:
 *
 *   TOU_ENODAEMON   the daemon's socket could not be connected (not
 *                   running, wrong path, no permission); errno is left
 *                   set to the cause by connect(2)
 *   -EINVAL         bad argument, or the daemon answered "badrequest"
 *   -ECONNREFUSED   the peer answered our SYN with RST ("refused")
 *   -ETIMEDOUT      no answer within the timeout ("timeout")
 *   -EHOSTUNREACH   name did not resolve / no route ("unreachable"), or
 *                   the destination can never be one peer (broadcast,
 *                   multicast, unspecified: tou_connect() refuses such a
 *                   literal address itself, RFC 1122 4.2.3.10)
 *   -EACCES         the daemon's access rules deny it ("denied")
 *   -ENOBUFS        a configured limit was reached ("limit")
 *   -EADDRINUSE     the port is already listened on ("inuse")
 *   -ENOENT         no such connection or listener ("notfound")
 *   -ESHUTDOWN      the daemon is stopping ("shutdown")
 *   -EIO            the daemon's own failure ("internal"), or an ERR
 *                   reason this library does not know
 *   -EPROTO         the daemon's answer was malformed or cut short
 *   -ENOMEM         out of memory
 *   other -errno    a system call on the API socket failed
 *
 * tou_errdetail() returns the daemon's human-readable text of the last
 * "ERR" answer received by the calling thread (or "" if none).
 *
 * All calls block; they are thread-safe (no shared state except the
 * per-thread detail text).  The returned descriptors are close-on-exec.
 */
#ifndef TOU_H
#define TOU_H

#include <stddef.h>
#include <stdint.h>

#include "tou_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What libtou.so exports: these functions and nothing else (it is built
 * with -fvisibility=hidden). */
#if defined(__GNUC__)
#define TOU_API __attribute__((visibility("default")))
#else
#define TOU_API
#endif

/* The daemon's API socket could not be connected. */
#define TOU_ENODAEMON (-10001)

/* Flags of tou_connect(). */
#define TOU_NODELAY 0x1   /* disable Nagle's algorithm (RFC 9293 3.7.4) */
#define TOU_KEEPALIVE 0x2 /* send keep-alives (RFC 9293 3.8.4) */

/* A stream's identity, as reported by the daemon when it is opened. */
struct tou_conn_info {
	uint64_t id;      /* unique for the daemon's lifetime */
	char local[80];   /* "<ip>:<udp-port>/<tcp-port>", IPv6 in brackets */
	char remote[80];
};

/* One connection's state, from STATUS/LIST (see tou_proto.h for keys).
 * Numbers the daemon does not report are 0 (uid: TOU_UID_NONE); strings
 * it does not report are "". */
#define TOU_UID_NONE UINT64_MAX
struct tou_status {
	uint64_t id;
	char state[24];  /* RFC 9293 name, e.g. "ESTABLISHED", "TIME-WAIT" */
	char end[16];    /* "" while live, else a TOU_END_* value */
	char local[80];
	char remote[80];
	char cc[16];     /* congestion control algorithm */
	uint64_t uid;     /* owner; TOU_UID_NONE when the daemon reports none */
	uint64_t send_queue, recv_queue, snd_wnd, rcv_wnd, mss;
	uint64_t cwnd, ssthresh, srtt_us, rttvar_us, rto_us, retransmits;
	uint64_t bytes_sent, bytes_acked, bytes_received, segs_in, segs_out;
	/* negotiated options and settings (RFC 7323, RFC 2018; nodelay and
	 * keepalive as CONNECT/ACCEPT set them): 1 on, 0 off or not reported */
	unsigned snd_wscale, rcv_wscale;
	int timestamps, sack, nodelay, keepalive;
};

/*
 * Open a stream to `host` (name or address, optionally ":<udp-port>";
 * IPv6 as "[addr]:port") TCP port `port` (1..65535).  `flags` is a set
 * of TOU_NODELAY/TOU_KEEPALIVE; `timeout_s` > 0 bounds the opening
 * handshake and is then the connection's user timeout (sent data
 * unacknowledged that long ends it, "end":"timeout"); 0 = the daemon's
 * retransmission limits.  On success returns the stream's
 * fd and fills *info if `info` is not NULL.
 */
TOU_API int tou_connect(const char *socket_path, const char *host, unsigned port,
		unsigned flags, unsigned timeout_s, struct tou_conn_info *info);
/* tou_connect() with the TCP Authentication Option (RFC 5925): `ao` is
 * the name of a [key] section of the daemon's toud.conf, "required" (the
 * key it prefers for the host) or "optional" (a key if one matches, the
 * default); NULL is tou_connect().  -EINVAL for an empty name or one with
 * blanks; the daemon refuses unknown keys (ERR badrequest: -EINVAL) and
 * "required" without a key for the host (ERR denied: -EACCES). */
TOU_API int tou_connect_ao(const char *socket_path, const char *host, unsigned port, unsigned flags,
			   unsigned timeout_s, const char *ao, struct tou_conn_info *info);

/*
 * Listen on TCP port `port` (backlog > 0 sets the queue length, 0 = the
 * daemon's default).  Returns an fd that keeps the listener alive: close
 * it to stop listening.  The daemon writes nothing on it; EOF on it means
 * the daemon stopped the listener.
 */
TOU_API int tou_listen(const char *socket_path, unsigned port, unsigned backlog);
/* tou_listen() with the listener's TCP-AO policy `ao` ("required": only
 * SYNs with a valid MAC; "optional"; NULL: the daemon's default) and its
 * allow list `allow` (comma-separated address prefixes, "10.0.0.0/8,
 * 2001:db8::/32", at most 16: only those peers may connect; NULL: every
 * peer).  -EINVAL for values with blanks; the daemon checks the rest. */
TOU_API int tou_listen_opts(const char *socket_path, unsigned port, unsigned backlog, const char *ao,
			    const char *allow);

/*
 * Wait for the next connection on `port`, which must have a listener
 * opened by tou_listen() of the same user (or root).  `timeout_s` > 0
 * bounds the wait (-ETIMEDOUT), 0 waits forever.  Returns the stream's fd
 * and fills *info if `info` is not NULL.
 */
TOU_API int tou_accept(const char *socket_path, unsigned port, unsigned timeout_s,
	       struct tou_conn_info *info);
/* tou_accept() that also sets the accepted connection's TOU_NODELAY /
 * TOU_KEEPALIVE `flags`, as tou_connect() does for its own. */
TOU_API int tou_accept_flags(const char *socket_path, unsigned port, unsigned flags, unsigned timeout_s,
		     struct tou_conn_info *info);

/* Abort connection `id`: the daemon sends RST and drops its data. */
TOU_API int tou_abort(const char *socket_path, uint64_t id);

/*
 * The state of connection `id` (live, or the end record of a recent one).
 * Fills *st when `st` is not NULL; when `json` is not NULL, stores the
 * daemon's JSON document in a malloc()ed string the caller frees.
 */
TOU_API int tou_status(const char *socket_path, uint64_t id, struct tou_status *st,
	       char **json);

/* Every connection (LIST): a JSON array in a malloc()ed string. */
TOU_API int tou_list(const char *socket_path, char **json);

/* The daemon's counters (STATS): a JSON object in a malloc()ed string. */
TOU_API int tou_stats(const char *socket_path, char **json);

/* The daemon's version string, copied into buf (truncated to len-1). */
TOU_API int tou_version(const char *socket_path, char *buf, size_t len);

/*
 * Send one request line (without "\n") and read the answer; on "OK",
 * stores what follows "OK" (possibly "") in a malloc()ed string at *reply
 * (if not NULL).  For requests that keep the connection open (CONNECT,
 * ACCEPT, LISTEN) use the functions above.
 */
TOU_API int tou_request(const char *socket_path, const char *line, char **reply);

/*
 * Send one request line (without "\n") whose connection stays open after
 * "OK" (LISTEN, FORWARD, SERVE: what it sets up lasts as long as that
 * connection) and read the answer.  Returns the fd that holds it (close it
 * to end it; EOF on it means the daemon ended it) and copies what follows
 * "OK" into reply (truncated to len-1; reply may be NULL).
 */
TOU_API int tou_hold(const char *socket_path, const char *line, char *reply, size_t len);

/* Fill *st from one JSON connection object (as in LIST/STATUS).  For a
 * listener (state "LISTEN", as LIST reports them) recv_queue is its accept
 * queue and send_queue its backlog, as `ss -lt` shows them. */
TOU_API int tou_status_parse(const char *json, size_t len, struct tou_status *st);

/* The path the library uses for socket_path == NULL. */
TOU_API const char *tou_socket_path(const char *socket_path);

/* A short English description of an error code returned by libtou. */
TOU_API const char *tou_strerror(int err);

/* The daemon's text of the last ERR answer of this thread, or "". */
TOU_API const char *tou_errdetail(void);

#ifdef __cplusplus
}
#endif

#endif

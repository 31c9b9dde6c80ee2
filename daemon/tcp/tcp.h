/*
 * tcp.h - the public interface of tou's TCP engine.
 *
 * The engine is sans-I/O (daemon/tcp/README.md): it never touches a socket,
 * never reads a clock and never prints.  The caller hands it
 *   - datagrams that arrived          (tcp_input)
 *   - the current time                (every call that acts takes `now`)
 *   - randomness                      (the secret and seed in tcp_stack_new)
 * and receives
 *   - segments to send                (callbacks.emit)
 *   - events for connection owners    (callbacks.event)
 *   - log lines                       (callbacks.log)
 *
 * Time is a monotonic count of MICROSECONDS (tcp_time_t).  The engine keeps
 * no clock of its own: a call that may send, arm a timer or sample an RTT
 * takes `now`; calls without it only read or change bookkeeping.  The
 * caller keeps one timer armed at tcp_next_deadline() and calls
 * tcp_timeout() when it fires.
 *
 * Errors: a call returning int or ssize_t returns 0 (or a count) on
 * success and a negative TCP_E* code on failure; each call below lists the
 * codes it returns and when.  tcp_strerror() names them.  An `out`
 * parameter is set to NULL by every failure except TCP_EINVAL (then it is
 * left untouched).
 *
 * Events are deferred: they are delivered when the outermost engine call
 * returns, so an event callback may call back into the engine (send,
 * close, release).
 *
 * Contents, by concern:
 *   1. types and errors
 *   2. stack lifetime and configuration
 *   3. driving the stack: input and timers
 *   4. opening connections
 *   5. sending and receiving (copying and zero-copy)
 *   6. closing and releasing
 *   7. introspection and statistics
 * Test-only hooks are in tcp_testing.h, which product code never includes.
 */
#ifndef TOU_TCP_H
#define TOU_TCP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * 1. Types and errors
 * ====================================================================== */

typedef uint64_t tcp_time_t; /* microseconds, monotonic */
#define TCP_TIME_NEVER UINT64_MAX
#define TCP_MS(x) ((tcp_time_t)(x) * 1000u)
#define TCP_SEC(x) ((tcp_time_t)(x) * 1000000u)

/* Error codes: negative values, stable, named by tcp_strerror(). */
enum tcp_error {
	TCP_OK = 0,
	TCP_EINVAL = -1,        /* bad argument */
	TCP_ENOMEM = -2,        /* allocation failed */
	TCP_EADDRINUSE = -3,    /* port already listened on */
	TCP_ENOTCONN = -4,      /* no connection (never synchronized, or its TCB is gone) */
	TCP_ECONNREFUSED = -5,  /* RST answered our SYN */
	TCP_ECONNRESET = -6,    /* peer reset a synchronized connection */
	TCP_ETIMEDOUT = -7,     /* retransmission / keepalive / user timeout gave up */
	TCP_ECLOSING = -8,      /* "connection closing": SEND or CLOSE after CLOSE */
	TCP_EAGAIN = -9,        /* nothing to read yet */
	TCP_EABORTED = -10,     /* aborted by the local user */
	TCP_EMALFORMED = -11,   /* segment could not be parsed */
	TCP_ENOPORTS = -12,     /* no ephemeral port free */
	TCP_EEXIST = -13,       /* connection (4-tuple) already exists */
	TCP_ELIMIT = -14,       /* a configured limit was reached */
	TCP_ENOKEY = -15,       /* TCP-AO required, but no MKT matches the peer */
	TCP_EUNREACH = -16      /* an ICMP error or a failed send ended the
	                           connection attempt (tcp_icmp_error) */
};
/* A short English name for err ("connection reset", ...); never NULL. */
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

/* Events delivered to a connection's owner, in this order when several
 * are due at once. */
enum tcp_event {
	TCP_EV_ESTABLISHED = 1, /* active open completed */
	TCP_EV_ACCEPTED,        /* passive open completed; `user` is the listener's */
	TCP_EV_READABLE,        /* new in-order data can be read with tcp_recv */
	TCP_EV_WRITABLE,        /* send buffer has room again */
	TCP_EV_PEER_FIN,        /* peer sent FIN; after buffered data, EOF */
	TCP_EV_CLOSED           /* the stream is over for the owner, once per
	                           connection; `err` says how: 0 clean,
	                           TCP_ECONNREFUSED, TCP_ECONNRESET, TCP_ETIMEDOUT,
	                           TCP_EABORTED, TCP_EUNREACH.  Delivered when the TCB is
	                           deleted, and also (err 0) on entering
	                           TIME-WAIT: the engine then keeps the TCB for
	                           2*MSL on its own.  After this event the owner
	                           must call tcp_release() (may be from inside
	                           it). */
};

enum tcp_log_level { TCP_LOG_ERR = 3, TCP_LOG_WARNING = 4, TCP_LOG_NOTICE = 5,
	TCP_LOG_INFO = 6, TCP_LOG_DEBUG = 7 };

struct tcp_conn;
struct tcp_listener;
struct tcp_stack;

/* What the engine calls back.  ctx is passed to every callback. */
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
	/* Optional (may be NULL): what the segment tcp_input() is handling
	 * proved about its sender `from`, said during that call and before
	 * anything is emitted in answer, so that the caller can decide where
	 * replies to `from` leave from (the daemon's reply route, udp_route.c):
	 *   TCP_PEER_ACCEPTED  a connection accepted it: it passed the
	 *                      sequence, RST, SYN and ACK checks of RFC 9293
	 *                      3.10.7.4 (first to fifth), or it completed a
	 *                      handshake (an acceptable SYN,ACK in SYN-SENT,
	 *                      the ACK of our SYN,ACK); only a sender that
	 *                      sees our segments can forge one
	 *   TCP_PEER_UNPROVEN  no connection accepted it, but the engine
	 *                      answers it: a SYN a listener takes (SYN,ACK),
	 *                      a segment answered with a RST (no connection,
	 *                      a listener's ACK, an allow list's refusal), the
	 *                      SYN,ACK of a simultaneous open; anyone can
	 *                      forge one, so it must not move the route of a
	 *                      peer with live connections
	 * Segments dropped without an answer, or answered only with an ACK
	 * (out of window, bad ACK, challenge ACK, PAWS, TCP-AO failures) and
	 * malformed datagrams say nothing. */
	void (*peer)(void *ctx, const struct tcp_endpoint *from, int proof);
};
enum tcp_peer_proof { TCP_PEER_ACCEPTED = 1, TCP_PEER_UNPROVEN = 2 };

/* ======================================================================
 * 2. Stack lifetime and configuration
 * ====================================================================== */

/* Congestion control algorithms (tcp_cc.h has the interface). */
enum tcp_cc_algo { TCP_CC_CUBIC = 0, TCP_CC_NEWRENO = 1, TCP_CC_BBR = 2 };
/* Loss detection of connections with SACK (without SACK: RFC 5681/6582
 * duplicate ACKs either way): RFC 8985 RACK-TLP (time-based marks, tail
 * loss probes, lost retransmissions found without an RTO) or RFC 6675's
 * duplicate-ACK threshold (DupThresh = 3) for strict peers. */
enum tcp_loss_detection { TCP_LOSS_RACK = 0, TCP_LOSS_RFC6675 = 1 };

/* Engine-wide configuration; tcp_config_default() fills the defaults. */
struct tcp_config {
	uint16_t mss;              /* advertised MSS: 1452 (IPv4 on a 1500 path);
	                              IPv6 connections advertise 20 octets less
	                              (1432: the IPv6 header is 20 octets longer) */
	uint16_t mss_loopback;     /* advertised MSS toward a loopback address
	                              (127.0.0.0/8, RFC 1122 3.2.1.3; ::1 and
	                              ::ffff:127.0.0.0/104, RFC 4291 2.5.3), whose
	                              path is the host's loopback interface, not
	                              a network: the IPv4 value as for mss (IPv6
	                              20 less); 0 (the default) = mss for those
	                              too.  toud sets it from the loopback MTU. */
	uint32_t send_buffer;      /* bytes, default 4 MiB: the most a send ring grows to */
	uint32_t recv_buffer;      /* bytes, default 4 MiB: the most receive-window
	                              auto-tuning grows a receive ring to */
	int recv_buffer_auto;      /* 1 (default): receive windows start at 64 KiB
	                              and grow with what the application drains
	                              per RTT (Linux's tcp_moderate_rcvbuf);
	                              0: every window is recv_buffer at once */
	tcp_time_t rto_initial;    /* RFC 6298 (2.1): 1 s */
	tcp_time_t rto_min;        /* RFC 6298 (2.4) says 1 s; Linux 200 ms; default 200 ms */
	tcp_time_t rto_max;        /* RFC 6298 (2.5): at least 60 s; default 120 s */
	tcp_time_t msl;            /* RFC 9293 3.4.2: 2 min; default 30 s (TIME-WAIT = 2*MSL) */
	unsigned syn_retries;      /* SYN / SYN-ACK retransmissions before giving up (R2 for SYN), default 7: ~4 min, RFC 9293 3.8.3 MUST-23 */
	unsigned retries;          /* data retransmissions before giving up (R2), default 15 */
	tcp_time_t delayed_ack;    /* RFC 9293 3.8.6.3: < 0.5 s; default 40 ms, 0 = off */
	int nodelay;               /* 1 = Nagle off by default */
	enum tcp_cc_algo cc;       /* default CUBIC */
	enum tcp_loss_detection loss_detection; /* default TCP_LOSS_RACK */
	int hystart;               /* RFC 9406 HyStart++ in CUBIC's first slow start, default 1 */
	int prr;                   /* RFC 6937 Proportional Rate Reduction (PRR-SSRB) in the
	                              fast recovery of SACK connections with CUBIC or
	                              NewReno, default 1; 0: RFC 6675's cwnd = ssthresh
	                              from the first ACK of the recovery */
	int keepalive;             /* 1 = keepalive on by default (off) */
	tcp_time_t keepalive_idle; /* RFC 9293 3.8.4: >= 2 h */
	tcp_time_t keepalive_intvl;/* 75 s */
	unsigned keepalive_probes; /* 9 */
	int timestamps;            /* RFC 7323, default on */
	int sack;                  /* RFC 2018, default on */
	int window_scaling;        /* RFC 7323, default on */
	unsigned max_connections;  /* TCBs, TIME-WAIT excluded, default 4096 */
	unsigned max_time_wait;    /* TIME-WAIT records kept; at the bound the
	                              oldest is recycled (tcp_stats
	                              TimeWaitRecycled); default 4096, 0 = none */
	unsigned challenge_ack_limit; /* RFC 5961 section 7: the stack's budget per second,
	                              default 1000; each second's budget is drawn at random
	                              in [limit/2, limit*3/2) (CVE-2016-5696, as Linux) */
	tcp_time_t invalid_ratelimit; /* per connection: at most one ACK in answer to an
	                              unacceptable segment (PAWS, out of window, bad ACK,
	                              challenge) per this interval; default 500 ms (Linux's
	                              tcp_invalid_ratelimit), 0 = no limit */
	int syncookies;            /* RFC 4987 3.6: SYN cookies when a listener's
	                              backlog is full (default 1); 0: the oldest
	                              half-open connection is dropped instead */
	unsigned syn_rate_per_source; /* while a listener is pressed (backlog or
	                              connection table full, or cookies sent in
	                              the last second): SYNs per second one source
	                              address (IPv4, IPv6 /64) may open, a burst of
	                              as many; the rest are discarded (DropSynRate,
	                              tcp_synrate.c).  Default 100, 0 = no limit */
};
void tcp_config_default(struct tcp_config *cfg);

/* tcp_stack_new: a stack with configuration cfg (NULL: the defaults) and
 * callbacks cb (copied).  secret: 16 random bytes for the ISN hash (RFC
 * 9293 3.4.1) and the connection table; seed: randomness for ephemeral
 * ports, timestamp offsets and other choices.  On success *out is the
 * stack and 0 is returned; otherwise
 *   TCP_EINVAL  out, cb or secret is NULL, or cfg is out of range: mss <
 *               64, mss_loopback neither 0 nor >= 64, a buffer < 16 octets or > 1 GiB, rto_initial or
 *               rto_min 0, rto_max < rto_min, max_connections 0 or >
 *               2^24, max_time_wait > 2^24, cc not a tcp_cc_algo,
 *               syn_rate_per_source > 10^6
 *   TCP_ENOMEM  allocation failed */
int tcp_stack_new(struct tcp_stack **out, const struct tcp_config *cfg,
		  const struct tcp_callbacks *cb, const uint8_t secret[16], uint64_t seed);
/* Frees the stack, its listeners and every TCB without sending anything.
 * NULL is ignored.  Connections the caller holds become invalid. */
void tcp_stack_free(struct tcp_stack *s);
/* Replace the run-time configuration (SIGHUP); affects new connections.
 * max_connections cannot grow beyond its value at tcp_stack_new() (the
 * tables are sized then): a larger value is clamped.  Returns 0, or
 *   TCP_EINVAL  s or cfg is NULL, or cfg is out of range (as for
 *               tcp_stack_new); the old configuration stays */
int tcp_stack_reconfigure(struct tcp_stack *s, const struct tcp_config *cfg);
/* This stack is shard k of n that share one UDP port (toud's threads,
 * docs/DESIGN.md section 5.8), where a datagram reaches shard
 * (TCP source port ^ TCP destination port) % n.  Then an active open
 * with lport 0 picks only a dynamic port p with (p ^ rport) % n == k, so
 * that the peer's replies reach this stack, and the ids of connections
 * (and tcp_reserve_id) are k+1, k+1+n, k+1+2n, ...: unique over the n
 * stacks.  Call before any connection exists.  Returns 0, or TCP_EINVAL
 * (s NULL, n 0, k >= n, or an id already given). */
int tcp_stack_set_shard(struct tcp_stack *s, unsigned n, unsigned k);
/* An active open with lport 0 never picks `port` while it is reserved
 * (on 1; on 0 frees it again): toud's [service] ports, whose datagrams
 * all reach shard 0 (docs/DESIGN.md section 5.8), are reserved on the
 * other shards' stacks.  Ports below the dynamic range (RFC 6335 6:
 * 49152-65535) are never picked anyway: nothing to do.  Returns 0, or
 *   TCP_EINVAL  s is NULL
 *   TCP_ENOMEM  allocation failed (the port stays free) */
int tcp_stack_reserve_port(struct tcp_stack *s, uint16_t port, int on);

/* ======================================================================
 * 3. Driving the stack: input and timers
 * ====================================================================== */

/* One UDP payload from `from`, arrived at `now`.  Every segment that is
 * dropped is counted in struct tcp_stats; the caller may ignore the code.
 * Returns 0 when the segment was processed (including the drops RFC 9293
 * prescribes: out of window, bad ACK, PAWS, RST to no connection ...), or
 *   TCP_EINVAL      s, from or buf is NULL, or from is not a valid
 *                   endpoint (family 4 or 6, udp_port not 0)
 *   TCP_EMALFORMED  the header or its options do not parse, or a port is 0
 *   TCP_ELIMIT      a SYN for a listener found the connection table full
 *                   (max_connections) and no half-open connection of that
 *                   listener to recycle
 *   TCP_ENOMEM      a SYN for a listener: the new TCB (or its TCP-AO
 *                   state) could not be allocated
 * A segment that fails TCP-AO (section 8) is dropped and counted, and
 * returns 0. */
int tcp_input(struct tcp_stack *s, const struct tcp_endpoint *from,
	      const uint8_t *buf, size_t len, tcp_time_t now);
/* Does the UDP payload buf[0..len) open a connection: a SYN without ACK
 * or RST, what RFC 9293 3.10.7.2 hands to a listener?  Reads the fixed
 * header's flags only (no state, no parsing of options), so that a caller
 * can tell new-connection segments from a connection's traffic before
 * tcp_input (the daemon's share of each receive batch for them under a
 * SYN flood, udp.c).  1 or 0 (also for anything shorter than 20 octets). */
int tcp_seg_opens(const uint8_t *buf, size_t len);
/* Earliest time any timer is due, or TCP_TIME_NEVER (also for s NULL). */
tcp_time_t tcp_next_deadline(const struct tcp_stack *s);
/* Run every timer due at `now` (NULL s is ignored). */
void tcp_timeout(struct tcp_stack *s, tcp_time_t now);

/* ICMP errors and failed sends.  The caller reads ICMP errors about its
 * datagrams (on Linux the UDP socket's error queue, IP_RECVERR) and failed
 * sends, and hands each to the engine with the TCP header of the datagram concerned (the ICMP
 * message quotes it: RFC 9293 3.9.2.2 MUST-54 "act on an ICMP error
 * message passed up from the IP layer, directing it to the connection
 * that created the error").  The classification is the caller's (ICMP
 * type/code or errno -> kind); what each kind does is the engine's. */
enum tcp_icmp_kind {
	TCP_ICMP_NET_UNREACH = 1, /* ICMP 3/0, 3/6, 3/11; ICMPv6 1/0; ENETUNREACH */
	TCP_ICMP_HOST_UNREACH,    /* ICMP 3/1, 3/7, 3/12; ICMPv6 1/3; EHOSTUNREACH */
	TCP_ICMP_PROTO_UNREACH,   /* ICMP 3/2; ICMPv6 4/1 */
	TCP_ICMP_PORT_UNREACH,    /* ICMP 3/3; ICMPv6 1/4: no daemon on that UDP port */
	TCP_ICMP_PROHIBITED,      /* ICMP 3/9, 3/10, 3/13; ICMPv6 1/1, 1/5, 1/6;
	                             EACCES/EPERM of a send (broadcast, firewall) */
	TCP_ICMP_FRAG_NEEDED,     /* ICMP 3/4; ICMPv6 2 "packet too big"; a local
	                             EMSGSIZE: `mtu` is the next-hop MTU */
	TCP_ICMP_TIME_EXCEEDED,   /* ICMP 11; ICMPv6 3 */
	TCP_ICMP_PARAM_PROBLEM,   /* ICMP 12; ICMPv6 4/0, 4/2 */
	TCP_ICMP_SOURCE_QUENCH,   /* ICMP 4: discarded (RFC 9293 MUST-55) */
	TCP_ICMP_OTHER            /* anything else: a soft error */
};
const char *tcp_icmp_name(enum tcp_icmp_kind k); /* "port unreachable" ... */

/* Path MTU floors: a reported MTU below them is ignored (RFC 791: every
 * host must accept 576-octet datagrams; RFC 8200 section 5: IPv6 links
 * carry at least 1280 octets). */
#define TCP_PMTU_MIN_IPV4 576u
#define TCP_PMTU_MIN_IPV6 1280u

struct tcp_icmp {
	enum tcp_icmp_kind kind;
	uint32_t mtu;    /* TCP_ICMP_FRAG_NEEDED: next-hop MTU (whole IP packet) */
	int sys_errno;   /* the errno the system reported, 0 if none (STATUS) */
	int local;       /* 1: this host's own error (not spoofable), 0: ICMP */
};

/* An ICMP error about a datagram this stack sent to `peer` whose quoted TCP
 * header names local_port, remote_port and sequence number quoted_seq.
 *   - RFC 5927 section 4.1: acted on only when SND.UNA =< quoted_seq <
 *     SND.NXT (in SYN-SENT: the ISS of our SYN).
 *   - Unreachable (net, host, protocol, port) and prohibited end a
 *     connection in SYN-SENT or SYN-RECEIVED at once:
 *     TCP_EV_CLOSED(TCP_EUNREACH) (a passive SYN-RECEIVED TCB is deleted);
 *     in a synchronized state they are soft errors (RFC 5927 section 5.2:
 *     spoofable), recorded for STATUS only.
 *   - FRAG_NEEDED lowers the send MSS to fit `mtu` (never raises it; MTUs
 *     below TCP_PMTU_MIN_* are ignored) and retransmits SND.UNA at once
 *     (RFC 1191 6.4, RFC 8201 5.4), without a congestion response.
 *   - Source Quench is discarded (RFC 9293 3.9.2.2 MUST-55); the rest are
 *     soft errors (MUST-56: never abort).
 *   - A TCP-AO connection in a synchronized state ignores ICMP protocol and
 *     port unreachable and (IPv4) fragmentation needed, (IPv6) prohibited
 *     (RFC 5925 7.8): TCP_EAGAIN.
 * Returns 0 when the error was applied (recorded, ended the attempt or
 * lowered the MSS), TCP_ENOTCONN when no connection matches or the
 * sequence number is outside SND.UNA..SND.NXT, TCP_EINVAL for bad
 * arguments or an MTU that is not usable (below the floor, not lower),
 * TCP_EAGAIN for a Source Quench or an error TCP-AO ignores.  Each call is
 * counted in tcp_stats. */
int tcp_icmp_error(struct tcp_stack *s, const struct tcp_endpoint *peer, uint16_t local_port,
		   uint16_t remote_port, uint32_t quoted_seq, const struct tcp_icmp *e, tcp_time_t now);
/* The caller could not send the segment with sequence number seq to
 * peer (sendmsg failed: EACCES to a broadcast address, EHOSTUNREACH,
 * ENETUNREACH, EPERM...): tcp_icmp_error() with e.local = 1, `kind` the
 * caller's reading of sys_errno.  A SYN that cannot leave ends its
 * attempt at once as TCP_EUNREACH; for other segments it is a soft error
 * (the segment is lost; retransmission recovers it). Same returns. */
int tcp_send_failed(struct tcp_stack *s, const struct tcp_endpoint *peer, uint16_t local_port,
		    uint16_t remote_port, uint32_t seq, enum tcp_icmp_kind kind, int sys_errno,
		    tcp_time_t now);

/* ======================================================================
 * 4. Opening connections
 * ====================================================================== */

/* Per-connection options for tcp_connect / set on accepted connections. */
struct tcp_conn_opts {
	int nodelay;            /* -1 = stack default */
	int keepalive;          /* -1 = stack default */
	tcp_time_t timeout;     /* connect / user timeout, 0 = from retries */
	int cc;                 /* -1 = stack default, else enum tcp_cc_algo */
	int ao;                 /* TCP-AO policy: TCP_AO_OPTIONAL (0) or TCP_AO_REQUIRED */
	unsigned ao_key;        /* 0 = the MKT table decides, else 1 + the index (in the
	                           table of tcp_ao_set_keys) of the MKT to send with */
};
#define TCP_CONN_OPTS_DEFAULT { -1, -1, 0, -1, 0, 0 }

/* Passive OPEN on `port`: SYNs to it create connections, announced by
 * TCP_EV_ACCEPTED (with `user`) once ESTABLISHED; at most `backlog` (0
 * means 1) wait half-open, beyond that the oldest is recycled (RFC 4987
 * 3.4).  *out is the listener.  Returns 0, or
 *   TCP_EINVAL      s or out is NULL, or port is 0
 *   TCP_EADDRINUSE  port is already listened on
 *   TCP_ENOMEM      allocation failed */
int tcp_listen(struct tcp_stack *s, uint16_t port, unsigned backlog, void *user,
	       struct tcp_listener **out);

/* A peer address prefix (listener allow lists): family 0 matches every
 * peer; otherwise the first `len` bits of addr (4 or 16 octets, network
 * order) must equal the peer's. */
struct tcp_prefix {
	uint8_t family; /* 0, 4 or 6 */
	uint8_t len;    /* 0..32 (IPv4), 0..128 (IPv6), 0 for family 0 */
	uint8_t addr[16];
};
#define TCP_LISTEN_ALLOW_MAX 64
/* Is the address (family 4 or 6, addr in network order) within p?
 * Returns 1 or 0. */
int tcp_prefix_match(const struct tcp_prefix *p, uint8_t family, const uint8_t *addr);
/* Only peers within one of the n prefixes (copied) may open connections
 * to l: a SYN from any other is refused before a TCB exists, counted in
 * DropListenDenied, and answered <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
 * when `reset` is set (as a port nothing listens on answers, RFC 9293
 * 3.10.7.1), else silently discarded.  n = 0 allows every peer again.
 * Returns 0, or
 *   TCP_EINVAL  l is NULL, n > TCP_LISTEN_ALLOW_MAX, or a bad prefix
 *   TCP_ENOMEM  allocation failed */
int tcp_listener_set_allow(struct tcp_listener *l, const struct tcp_prefix *allow, unsigned n,
			   int reset);
/* What one listener refused (the stack-wide tcp_stats count them too):
 * SYNs from peers outside its allow list (DropListenDenied) and SYNs its
 * TCP-AO check discarded (DropAoMissing, DropAoNoKey, DropAoBadMac). */
struct tcp_listener_counters {
	uint64_t denied;
	uint64_t ao_dropped;
};
/* Fills *out; TCP_EINVAL when l or out is NULL. */
int tcp_listener_get_counters(const struct tcp_listener *l, struct tcp_listener_counters *out);
/* Stops listening and frees l (NULL is ignored); connections not yet
 * accepted are reset (<RST,ACK>) and closed with TCP_EABORTED. */
void tcp_unlisten(struct tcp_listener *l, tcp_time_t now);

/* Active OPEN to (remote, rport) from local port lport (0 = a random free
 * port of 49152-65535, RFC 6335 6): the SYN goes out now, *out is the
 * connection in SYN-SENT, owned by the caller with user pointer `user`;
 * TCP_EV_ESTABLISHED or TCP_EV_CLOSED follows.  opts may be NULL.
 * Returns 0, or
 *   TCP_EINVAL    s or out is NULL, remote is not a valid endpoint, rport
 *                 is 0, or opts->cc is neither -1 nor a tcp_cc_algo
 *   TCP_EEXIST    lport was given and (remote, rport, lport) is in use
 *                 (or in TIME-WAIT where RFC 6191 forbids reuse)
 *   TCP_ENOPORTS  lport 0 and no dynamic port is free towards remote
 *                 (a port whose 4-tuple is in TIME-WAIT is reused where
 *                 RFC 6191 allows it, tcp_stats TimeWaitReused)
 *   TCP_ELIMIT    max_connections TCBs exist (TIME-WAIT not counted)
 *   TCP_ENOKEY    opts->ao_key names no MKT of the table that matches
 *                 remote, or opts->ao is TCP_AO_REQUIRED and no MKT
 *                 matches remote (section 8)
 *   TCP_ENOMEM    allocation failed */
int tcp_connect(struct tcp_stack *s, const struct tcp_endpoint *remote, uint16_t rport,
		uint16_t lport, const struct tcp_conn_opts *opts, void *user,
		tcp_time_t now, struct tcp_conn **out);

/* ======================================================================
 * 5. Sending and receiving
 * ====================================================================== */

/* SEND (RFC 9293 3.10.2) may be called from SYN-SENT on (the data is
 * queued until ESTABLISHED).  The codes it and tcp_send_space /
 * tcp_send_commit return when SEND is not allowed:
 *   TCP_ECLOSING  CLOSE was called, or the state is FIN-WAIT-1/2,
 *                 CLOSING, LAST-ACK or TIME-WAIT
 *   the end reason (TCP_ECONNRESET, TCP_ECONNREFUSED, TCP_ETIMEDOUT,
 *                 TCP_EABORTED) once the connection is CLOSED by it, or
 *   TCP_ENOTCONN  CLOSED after a clean end */

/* SEND: copies up to len bytes into the send buffer and sends what the
 * windows allow.  Returns the count taken (0 when the buffer is full: wait
 * for TCP_EV_WRITABLE), the SEND codes above, or
 *   TCP_EINVAL  c is NULL, or buf is NULL with len > 0 */
ssize_t tcp_send(struct tcp_conn *c, const void *buf, size_t len, tcp_time_t now);

/* RECEIVE (RFC 9293 3.10.3): copies up to len in-order bytes; reading
 * opens the receive window (an ACK announces it once it grew by the
 * receiver SWS threshold).  Returns the count (> 0; 0 if len is 0), or
 *   0                at EOF: the peer's FIN consumed and nothing left
 *   TCP_EAGAIN       nothing buffered yet
 *   the end reason   (TCP_ECONNRESET ...) when CLOSED by it and nothing
 *                    is buffered, TCP_ENOTCONN after a clean end
 *   TCP_EINVAL       c is NULL, or buf is NULL with len > 0 */
ssize_t tcp_recv(struct tcp_conn *c, void *buf, size_t len, tcp_time_t now);

/* Zero-copy SEND and RECEIVE.  The send and the receive buffer of a TCB
 * are rings; these calls expose their memory so that a caller can read(2)
 * straight into the send buffer and write(2) straight out of the receive
 * buffer.  A region is at most two pieces (the ring wraps): iov[0], then
 * iov[1] (len 0 if unused).  Regions stay valid until the next engine call
 * on the stack; nothing is sent, acknowledged or announced until the
 * matching commit/consume, which behaves exactly as tcp_send() /
 * tcp_recv() of the same bytes (same segments, same window updates). */
struct tcp_iov {
	uint8_t *base;
	size_t len;
};
/* The free space of the send buffer.  Returns its size (iov filled; 0 when
 * the buffer is full: wait for TCP_EV_WRITABLE), the SEND codes above, or
 *   TCP_EINVAL  c or iov is NULL
 * iov is emptied on every failure. */
ssize_t tcp_send_space(struct tcp_conn *c, struct tcp_iov iov[2]);
/* SEND of the first len bytes the caller wrote into the space that
 * tcp_send_space() returned (iov[0] first, then iov[1]).  Returns len (0
 * for len 0), the SEND codes above, or
 *   TCP_EINVAL  c is NULL, or len exceeds the free space */
ssize_t tcp_send_commit(struct tcp_conn *c, size_t len, tcp_time_t now);
/* The in-order received bytes tcp_recv() would copy, without consuming
 * them.  Returns their count (> 0, iov filled) or, when none is buffered,
 * what tcp_recv() returns: 0 at EOF, TCP_EAGAIN, the end reason or
 * TCP_ENOTCONN; or
 *   TCP_EINVAL  c or iov is NULL */
ssize_t tcp_recv_peek(struct tcp_conn *c, struct tcp_iov iov[2]);
/* RECEIVE of the first n peeked bytes without copying them: they leave
 * the buffer and the window opens exactly as after tcp_recv() of n bytes.
 * Returns n, or
 *   TCP_EINVAL  c is NULL, or fewer than n bytes are buffered */
ssize_t tcp_recv_consume(struct tcp_conn *c, size_t n, tcp_time_t now);

/* ======================================================================
 * 6. Closing and releasing
 * ====================================================================== */

/* CLOSE (RFC 9293 3.10.4): FIN after all queued data (in SYN-RECEIVED,
 * once ESTABLISHED); in SYN-SENT the TCB is deleted (TCP_EV_CLOSED(0)).
 * The owner still gets events until TCP_EV_CLOSED.  Returns 0 (also in
 * FIN-WAIT-1/2: "an ok response would be acceptable"), or
 *   TCP_ENOTCONN  the connection is CLOSED (its TCB is gone)
 *   TCP_ECLOSING  CLOSING, LAST-ACK or TIME-WAIT: "connection closing"
 *   TCP_EINVAL    c is NULL */
int tcp_close(struct tcp_conn *c, tcp_time_t now);
/* The owner will never read again (its socket is gone): any data that later
 * arrives aborts the connection with RST, as a kernel socket does.  Implies
 * tcp_close(). If unread data is buffered now, the connection is reset
 * (RFC 2525 2.17).  FIN-WAIT-2 then lasts at most 2*MSL: without the
 * peer's FIN by then the connection ends with
 * TCP_EV_CLOSED(TCP_ETIMEDOUT).  Returns 0 (also when already closing), or
 *   TCP_ENOTCONN  the TCB is gone
 *   TCP_EINVAL    c is NULL */
int tcp_close_no_read(struct tcp_conn *c, tcp_time_t now);
/* ABORT (RFC 9293 3.10.5): <SEQ=SND.NXT><CTL=RST> to the peer in
 * SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT (in SYN-SENT,
 * CLOSING, LAST-ACK and TIME-WAIT nothing is sent); the TCB is deleted and
 * TCP_EV_CLOSED(TCP_EABORTED) follows.  Returns 0, or
 *   TCP_ENOTCONN  the TCB is already gone
 *   TCP_EINVAL    c is NULL */
int tcp_abort(struct tcp_conn *c, tcp_time_t now);
/* The owner lets go of c (NULL or a second release is ignored): no more
 * events, c must not be used again.  A connection that is still live is
 * finished by the engine at `now`: closed (reset if unread data is
 * buffered), a SYN-SENT one deleted, an orphaned FIN-WAIT-2 given 2*MSL;
 * the engine frees the TCB once CLOSED (it may linger in FIN-WAIT or
 * TIME-WAIT owned by the engine). */
void tcp_release(struct tcp_conn *c, tcp_time_t now);

/* ======================================================================
 * 7. Introspection and statistics
 * ====================================================================== */

/* The owner's pointer, passed with every event of c (NULL c is ignored /
 * gives NULL). */
void tcp_conn_set_user(struct tcp_conn *c, void *user);
void *tcp_conn_user(const struct tcp_conn *c);
/* Change nodelay, keepalive, cc (fields at -1 keep their value) and the
 * user timeout (0 keeps it) of c.  Congestion control starts at
 * ESTABLISHED: a cc set later has no effect; ao and ao_key are ignored
 * (TCP-AO is decided at the open).  Returns 0, or
 *   TCP_EINVAL  c or opts is NULL, or opts->cc is neither -1 nor a
 *               tcp_cc_algo */
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
	/* buffers: allocated bytes now and the limit each may grow to */
	uint32_t snd_buf_alloc, snd_buf_limit, rcv_buf_alloc, rcv_buf_limit;
	/* the latest ICMP error or failed send that matched (tcp_icmp_error):
	 * error_kind 0 = none; RFC 9293 3.9.2.2 SHLD-25 "make the information
	 * available to the application" */
	uint8_t error_kind;          /* enum tcp_icmp_kind */
	uint8_t error_local;         /* 1: this host's error (a failed send) */
	int error_errno;             /* the errno the caller passed, 0 if none */
	uint32_t pmtu;               /* path MTU learned from "fragmentation
	                                needed" / "packet too big", 0 = none */
	uint8_t ao;                  /* TCP-AO in use */
	uint8_t ao_send_id, ao_recv_id; /* current_key's SendID, rnext_key's RecvID */
	/* a paced (model-based) congestion control, BBR (draft-ietf-ccwg-bbr):
	 * the pacing rate (0: not paced), the model's bandwidth (BBR.bw) and
	 * minimum RTT (BBR.min_rtt, 0: none yet), the state ("" otherwise) */
	uint64_t pacing_rate, model_bw;  /* bytes per second */
	tcp_time_t model_min_rtt;        /* microseconds */
	char cc_state[16];
};
/* Fills *out.  Returns 0, or TCP_EINVAL when c or out is NULL. */
int tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *out);
/* The state of a connection the caller still holds (before tcp_release);
 * TCP_S_CLOSED for NULL. */
enum tcp_state tcp_conn_state(const struct tcp_conn *c);
/* The connection's id (as in tcp_conn_info); 0 for NULL. */
uint64_t tcp_conn_id(const struct tcp_conn *c);
/* Iterate every live TCB (for LIST), newest first; stops when fn returns
 * non-zero. */
void tcp_foreach(struct tcp_stack *s, int (*fn)(void *arg, struct tcp_conn *c), void *arg);
/* The live TCB with this id, or NULL. */
struct tcp_conn *tcp_find_by_id(struct tcp_stack *s, uint64_t id);
/* TIME-WAIT connections nobody holds are compact records, not TCBs (not
 * seen by tcp_foreach): this visits them, oldest first, with what STATUS
 * shows of them; stops when fn returns non-zero. */
void tcp_foreach_time_wait(struct tcp_stack *s,
			   int (*fn)(void *arg, const struct tcp_conn_info *info), void *arg);
/* What STATUS shows of the TIME-WAIT record of connection id.  Returns 0,
 * or TCP_ENOTCONN when no record has that id (TCP_EINVAL: s or out NULL). */
int tcp_time_wait_info(struct tcp_stack *s, uint64_t id, struct tcp_conn_info *out);
/* An id taken from the connections' sequence and never given to one: the
 * user's names for other objects (toud's listeners) share the space of
 * connection ids without clashing. */
uint64_t tcp_reserve_id(struct tcp_stack *s);

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
	/* RFC 8985: segments RACK marked lost; tail loss probes sent; probes
	 * that repaired a loss (a congestion response without recovery).
	 * RFC 9406: slow starts HyStart++ left for CSS on a rising RTT. */
	uint64_t RackLost, TlpProbes, TlpRecoveries, HystartCss;
	/* draft-ietf-ccwg-bbr 5.6.2: times new data waited for its pacing
	 * departure time (cc bbr) */
	uint64_t PacingDelays;
	/* ACKs not sent in answer to unacceptable segments because the
	 * connection answered one less than cfg.invalid_ratelimit ago (the
	 * names of Linux's TCPACKSkipped* counters): PAWS failures,
	 * out-of-window sequence numbers or ACKs, challenge ACKs (RFC 5961),
	 * segments that reach a TIME-WAIT connection. */
	uint64_t AckSkippedPaws, AckSkippedSeq, AckSkippedChallenge, AckSkippedTimeWait;
	/* memory (issue "memory that follows use") */
	uint64_t TimeWaitRecycled;  /* oldest TIME-WAIT dropped at max_time_wait */
	uint64_t TimeWaitReused;    /* tcp_connect took a TIME-WAIT 4-tuple (RFC 6191) */
	uint64_t NoMemory;          /* an allocation failed: a ring kept its size, a TIME-WAIT
	                               ended early, or its segment was dropped */
	/* tcp_icmp_error(): every call; attempts it ended (hard errors);
	 * soft errors recorded; MSS lowered; ignored (no connection, quoted
	 * sequence number outside SND.UNA..SND.NXT, MTU below the floor or
	 * not lower, Source Quench) */
	uint64_t IcmpIn, IcmpAborts, IcmpSoft, IcmpMssLowered, IcmpIgnored;
	/* TCP-AO (RFC 5925 7.5.2: each "silently discard" counted) */
	uint64_t DropAoMissing;     /* no TCP-AO where it is required */
	uint64_t DropAoNoKey;       /* KeyID/length matches no MKT, or no MKT for the peer */
	uint64_t DropAoBadMac;      /* MAC differs */
	uint64_t AoKeyChanges;      /* current_key changed to the peer's RNextKeyID */
	uint64_t DropListenDenied;  /* SYN from a peer outside the listener's allow list */
	/* RFC 4987 3.6 SYN cookies: SYN,ACKs sent with a cookie (backlog
	 * full), ACKs whose cookie was valid (connection made from it), ACKs
	 * to a listener that had sent cookies whose cookie was stale
	 * (answered with RST) or not ours (dropped) */
	uint64_t SyncookiesSent, SyncookiesRecv, SyncookiesFailed;
	/* SYNs a pressed listener discarded: their source was over
	 * cfg.syn_rate_per_source */
	uint64_t DropSynRate;
};
/* Copies the counters into *out (nothing if s or out is NULL). */
void tcp_get_stats(const struct tcp_stack *s, struct tcp_stats *out);

/* Memory held by the stack's connections (introspection for tests and
 * STATUS; walks every TCB). */
struct tcp_mem_info {
	unsigned conns;            /* TCBs (TIME-WAIT ones still held by an owner included) */
	unsigned time_wait;        /* compact TIME-WAIT records */
	size_t tcb_bytes;          /* one TCB (without rings) */
	size_t time_wait_bytes;    /* one TIME-WAIT record with its share of the table */
	unsigned snd_rings, rcv_rings;     /* TCBs holding an allocated ring */
	uint64_t snd_ring_bytes, rcv_ring_bytes; /* ring memory allocated */
};
void tcp_get_mem_info(const struct tcp_stack *s, struct tcp_mem_info *out);
/* ======================================================================
 * 8. TCP Authentication Option (RFC 5925, RFC 5926)
 * ====================================================================== */

/*
 * The caller gives the stack a table of Master Key Tuples (RFC 5925 3.1);
 * connections to or from a peer an MKT matches authenticate every segment
 * with it (tcp_ao.h has the details).  tou's "IP pseudoheader" and KDF
 * context carry zero IPv4 addresses whatever the peers' addresses
 * (docs/PROTOCOL.md "TCP-AO"): a NAT between the daemons does not break
 * the MAC, and both ends agree on it. */
enum tcp_ao_alg {
	TCP_AO_HMAC_SHA1_96 = 1,    /* RFC 5926 2.2, with KDF_HMAC_SHA1 (3.1.1) */
	TCP_AO_AES128_CMAC_96 = 2   /* RFC 5926 2.2, with KDF_AES_128_CMAC (3.1.2) */
};
#define TCP_AO_MAX_SECRET 80        /* bytes of one master key */
#define TCP_AO_MAX_KEYS 256         /* MKTs in one table */
/* RFC 5925 3.1 "TCP option flag": options other than TCP-AO are left out
 * of the MAC (for middleboxes that rewrite them) */
#define TCP_AO_KEY_EXCLUDE_OPTIONS 0x01
/* Send with this MKT on new connections and ask the peer to use it
 * (RNextKeyID, RFC 5925 6.1 rnext_key); without one, the first MKT of the
 * table matching the peer. */
#define TCP_AO_KEY_PREFERRED 0x02

struct tcp_ao_key {
	uint8_t family;             /* peer prefix: 0 = every peer, 4 or 6 */
	uint8_t prefix_len;         /* leading bits of addr that must match */
	uint8_t addr[16];
	uint8_t send_id, recv_id;   /* RFC 5925 3.1 SendID (our KeyID), RecvID */
	uint8_t alg;                /* enum tcp_ao_alg */
	uint8_t flags;              /* TCP_AO_KEY_* */
	uint8_t secret_len;         /* 1..TCP_AO_MAX_SECRET */
	uint8_t secret[TCP_AO_MAX_SECRET];
};

/* Replaces the stack's MKT table (copied; n = 0 clears it).  Open
 * connections keep the MKTs they use (RFC 5925 3.1: "an MKT affecting a
 * particular connection cannot be destroyed during an active
 * connection") and gain new MKTs matching their peer (key rollover).
 * TCP_EINVAL: a bad algorithm, secret length, prefix, n too large, or two
 * MKTs whose peers overlap with the same SendID or the same RecvID (RFC
 * 5925 3.1: "The IDs of MKTs MUST NOT overlap where their TCP connection
 * identifiers overlap"); TCP_ENOMEM. */
int tcp_ao_set_keys(struct tcp_stack *s, const struct tcp_ao_key *keys, unsigned n);
/* tcp_ao_set_keys()'s checks alone: 0, or TCP_EINVAL with *bad the first
 * MKT refused and *clash the earlier one it overlaps (== *bad when the MKT
 * is bad on its own).  bad and clash may be NULL. */
int tcp_ao_keys_check(const struct tcp_ao_key *keys, unsigned n, unsigned *bad, unsigned *clash);

/* Policies (tcp_conn_opts.ao, tcp_listener_set_ao).  OPTIONAL: TCP-AO
 * when an MKT matches (an active open), or when the SYN carries TCP-AO (a
 * passive open); plain TCP otherwise.  REQUIRED: never plain TCP - an
 * active open without an MKT for the peer fails with TCP_ENOKEY, a SYN
 * without a verified TCP-AO is silently discarded and counted (RFC 5925
 * 7.3: "the connection can indicate that TCP-AO is required"). */
#define TCP_AO_OPTIONAL 0
#define TCP_AO_REQUIRED 1
int tcp_listener_set_ao(struct tcp_listener *l, int policy);

#ifdef __cplusplus
}
#endif
#endif

/*
 * tou_proto.h - the Unix-socket API protocol shared by toud (server side)
 * and tou / libtou (client side).  docs/API.md is the prose of this file.
 *
 * A client connects to the API socket and writes ONE request line
 * (ASCII, words separated by spaces or tabs, ended by "\n", at most
 * TOU_PROTO_MAX_LINE bytes including the newline).  The daemon answers ONE
 * line, "OK ..." or "ERR <reason> <text>".  After "OK" to CONNECT or ACCEPT
 * the Unix connection carries the stream's bytes both ways; for every other
 * request the daemon closes the connection after the answer (LISTEN keeps
 * it open: the listener lives as long as that connection).
 *
 * Requests:
 *   CONNECT <host>[:<udp-port>] <port> [nodelay] [keepalive] [timeout=<s>]
 *       -> OK <id> <local> <remote>
 *   LISTEN <port> [backlog=<n>]
 *       -> OK <port>                 (then the daemon writes nothing more;
 *                                     closing this connection stops listening)
 *   ACCEPT <port> [nodelay] [keepalive] [timeout=<s>]
 *       -> OK <id> <local> <remote>  (waits for the next connection on a port
 *                                     that has a LISTEN of the same uid or root)
 *   FORWARD [<addr>:]<port> <host>[:<udp-port>] <port> [nodelay] [keepalive]
 *           [timeout=<s>] [ao=<key>|required]
 *       -> OK <id> <addr>:<port>     (a local TCP listener whose connections
 *                                     go to <host> <port>; it lives as long
 *                                     as this connection, as LISTEN)
 *   SERVE <port> <target> [allow=<prefix>,...] [ao=<key>|required] [max_per_peer=<n>]
 *       -> OK <id> <port>            (tou port <port>'s connections go to
 *                                     <target>: ADDR:PORT or unix:/path;
 *                                     as long as this connection lasts)
 *   STATUS <id>    -> OK <json object>   (live connection, listener, or end record)
 *   STATUS         -> OK <json object>   (the daemon: version, pid, uptime_s,
 *                                         connections, listeners, udp, socket,
 *                                         stopping)
 *   LIST           -> OK <json array>    (every connection, same objects, then
 *                                         every listener: its id (from the
 *                                         connections' sequence), state
 *                                         "LISTEN", local, remote "*", uid,
 *                                         backlog, accept_queue)
 *   STATS          -> OK <json object>   ("tcp": TCP-MIB counters and drops,
 *                                         "udp", "api" counters)
 *   ABORT <id>     -> OK                 (sends RST; a listener's id closes it)
 *   VERSION        -> OK <version>
 *
 * <local> and <remote> are "<ip>:<udp-port>/<tcp-port>", IPv6 addresses in
 * brackets: "[::1]:9811/50000".  <id> is a decimal integer, unique for the
 * daemon's lifetime.
 *
 * JSON connection object keys: id, state (RFC name, e.g. "ESTABLISHED"),
 * local, remote, uid, send_queue, recv_queue, snd_wnd, rcv_wnd, mss, cwnd,
 * ssthresh, srtt_us, rttvar_us, rto_us, retransmits, bytes_sent,
 * bytes_acked, bytes_received, segs_in, segs_out, snd_wscale, rcv_wscale,
 * sack, timestamps (true/false), cc, and for ended
 * connections "end": one of TOU_END_* below.  "uid" is absent for
 * connections the daemon finishes on its own (e.g. in TIME-WAIT after the
 * app went away).  docs/API.md is the full reference.
 */
#ifndef TOU_PROTO_H
#define TOU_PROTO_H

#define TOU_DEFAULT_SOCKET "/run/tou/toud.sock"
#define TOU_DEFAULT_UDP_PORT 9811
#define TOU_PROTO_MAX_LINE 1024

/* ERR reasons */
#define TOU_ERR_BADREQUEST "badrequest"   /* unparsable request, bad argument */
#define TOU_ERR_REFUSED "refused"         /* peer answered RST to our SYN */
#define TOU_ERR_TIMEOUT "timeout"         /* no answer within the timeout */
#define TOU_ERR_UNREACHABLE "unreachable" /* name did not resolve / no route / send failed */
#define TOU_ERR_DENIED "denied"           /* credentials do not allow it */
#define TOU_ERR_LIMIT "limit"             /* a configured limit was reached */
#define TOU_ERR_INUSE "inuse"             /* port already listened on */
#define TOU_ERR_NOTFOUND "notfound"       /* no such connection / listener */
#define TOU_ERR_SHUTDOWN "shutdown"       /* daemon is stopping */
#define TOU_ERR_INTERNAL "internal"       /* the daemon's own failure */

/* How a stream ended ("end" in STATUS) */
#define TOU_END_FIN "fin"           /* both FINs exchanged, all data acked */
#define TOU_END_RESET "reset"       /* peer sent RST on a synchronized connection */
#define TOU_END_REFUSED "refused"   /* peer sent RST to our SYN */
#define TOU_END_TIMEOUT "timeout"   /* retransmissions or keepalive gave up, or CONNECT timeout= */
#define TOU_END_UNREACHABLE "unreachable" /* ICMP unreachable/prohibited for our SYN, or the SYN
					     could not be sent ("error" in STATUS says which) */
#define TOU_END_ABORTED "aborted"   /* ABORT request, app vanished with undelivered data, daemon
				       shutdown deadline, or listener closed before ACCEPT */

#endif

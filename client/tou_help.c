/*
 * tou_help.c - the help texts of the tou command (tou --help,
 * tou COMMAND --help); tou(1) says the same at length.
 */
#include "tou.h"
#include "tou_cli.h"

const char help_main[] =
"Usage: tou [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Streams over toud, the TCP-over-UDP daemon, like netcat; connections like ss.\n"
"\n"
"Commands:\n"
"  connect HOST[:UDPPORT] PORT   pipe stdin to a new stream, the stream to stdout\n"
"  listen PORT                   accept a stream (-k: one after another) and pipe it\n"
"  forward [ADDR:]PORT HOST[:UDPPORT] PORT\n"
"                                carry a local TCP port's connections to HOST's\n"
"                                tou port PORT, until interrupted\n"
"  serve PORT TARGET [PREFIX...] carry tou port PORT's connections to TARGET\n"
"                                (ADDR:PORT or unix:/path), until interrupted\n"
"  status [ID | FILTER]          show connections and listeners (like ss -tai)\n"
"  stats [PATTERN...]            show the daemon's counters (like nstat)\n"
"  info                          show the daemon: version, pid, uptime, sockets\n"
"  abort ID                      reset a connection (sends RST), or close a listener\n"
"  help [COMMAND]                show help for a command\n"
"\n"
"Options:\n"
"  -s, --socket PATH   the daemon's API socket (default: $TOU_SOCKET, else\n"
"                      " TOU_DEFAULT_SOCKET ")\n"
"  --quiet             print no messages (not even errors; see the exit code);\n"
"                      -q is --quiet too unless a number follows it (connect\n"
"                      and listen: -q SECONDS, netcat's quit delay)\n"
"  -v, --verbose       print connection details on stderr\n"
"  -h, --help          show this help (tou COMMAND --help: the command's)\n"
"  -V, --version       show the version\n"
"\n"
"Exit status:\n"
"  0  clean end: the stream ended with FIN both ways (or the command succeeded)\n"
"  1  other error (I/O error, daemon error, malformed answer)\n"
"  2  bad usage, or the daemon rejected the request's arguments\n"
"  3  daemon not reachable (not running, wrong socket path, no permission),\n"
"     or it went away while the stream was open\n"
"  4  connection refused by the peer\n"
"  5  connection reset by the peer, or aborted (listen: the listener closed)\n"
"  6  timed out (no answer, retransmissions gave up, no connection to accept,\n"
"     idle for -w seconds)\n"
"  7  unreachable (name did not resolve, no route, no address of the -4/-6\n"
"     family, a destination that is no unicast peer: broadcast, multicast,\n"
"     0.0.0.0, ::; or an ICMP error such as port unreachable)\n"
"  130 interrupted by a signal\n"
"\n"
"See tou(1) for more.\n";

#define HELP_STREAM_OPTS \
"  -w, --idle-timeout S  end the stream when no data has moved either way for\n" \
"                      S seconds (exit 6), like nc -w\n" \
"  -q SECONDS          after EOF on stdin (FIN sent), quit at most SECONDS later\n" \
"                      even if the peer has not ended its side (exit 0), like\n" \
"                      nc -q; 0 quits at once.  Without it tou waits for the\n" \
"                      peer's FIN.\n" \
"  -N, --shutdown      send FIN at EOF on stdin, like nc -N (always done)\n" \
"  -p, --progress      show bytes, rate and elapsed time on stderr\n" \
"  -s, --socket PATH   the daemon's API socket\n" \
"  --quiet / -v, --verbose\n"

const char help_forward[] =
"Usage: tou forward [OPTIONS] [ADDR:]PORT HOST[:UDPPORT] PORT\n"
"\n"
"Have toud listen on the local TCP address ADDR:PORT (127.0.0.1 when ADDR is\n"
"left out; IPv6 as [ADDR]:PORT) and carry each connection to it, for any\n"
"program, as a tou connection to TCP port PORT of the toud at HOST (UDP port\n"
"UDPPORT, default 9811), usually a [service] or `tou serve` there: ssh -L for\n"
"tou.  Half-close, resets and backpressure are carried end to end.  Runs\n"
"until interrupted (exit 0): then the listener closes and connections still\n"
"open go on until they end.  Local ports below 1024 need root; PORT 0: the\n"
"kernel picks a free one (the first message says which).  The same as a\n"
"[forward NAME] section of toud.conf(5), for as long as the command runs.\n"
"\n"
"Options:\n"
"  --nodelay           disable Nagle's algorithm on the tou connections\n"
"  --keepalive         send TCP keep-alives on them\n"
"  -t, --timeout S     their connect and user timeout\n"
"  -s, --socket PATH   the daemon's API socket\n"
"  --quiet / -v, --verbose\n"
"\n"
"Example:  tou forward 8080 hostb 80  then  curl http://127.0.0.1:8080/\n";

const char help_serve[] =
"Usage: tou serve [OPTIONS] PORT TARGET [PREFIX...]\n"
"\n"
"Have toud listen on tou port PORT and carry each connection to it to TARGET\n"
"on this host: ADDR:PORT, [V6]:PORT or unix:/path (a Unix socket you own, or\n"
"any as root).  With PREFIXes (192.0.2.0/24 2001:db8::/32 10.1.2.3 ...) only\n"
"peers within them may connect (others are reset before a connection\n"
"exists); WITHOUT THEM ANYONE WHO CAN REACH THE DAEMON'S UDP PORT CAN USE\n"
"TARGET.  Runs until interrupted (exit 0): then the port closes and\n"
"connections still open go on until they end.  Ports below the daemon's\n"
"privileged_ports need root.  The same as a [service NAME] section of\n"
"toud.conf(5), for as long as the command runs.\n"
"\n"
"Options:\n"
"  -s, --socket PATH   the daemon's API socket\n"
"  --quiet / -v, --verbose\n"
"\n"
"Example:  tou serve 80 127.0.0.1:8000 192.0.2.0/24\n";

const char help_connect[] =
"Usage: tou connect [OPTIONS] HOST[:UDPPORT] PORT\n"
"\n"
"Open a stream to TCP port PORT of the toud at HOST (UDP port UDPPORT, default\n"
"9811; IPv6 as [ADDR]:UDPPORT).  Copy standard input to the stream and the\n"
"stream to standard output.  End of input sends FIN while the stream is still\n"
"read; tou exits when both directions have ended, with status 0 only when\n"
"the daemon reports the stream ended cleanly (FIN both ways, all data acked).\n"
"A reset, a timeout or the daemon's end is reported at once, whatever stdin\n"
"does.  When standard output is closed (tou connect ... | head), the rest of\n"
"the stream is read and discarded quietly, so that the peer is not reset.\n"
"\n"
"Options:\n"
"  -4, -6              use an IPv4 (IPv6) address of HOST only (tou resolves it)\n"
"  --ao KEY            sign every segment with TCP-AO (RFC 5925): KEY names a\n"
"                      [key] of the daemon's toud.conf, 'required' takes the\n"
"                      key it prefers for HOST (and fails without one),\n"
"                      'optional' one if any matches (also the default)\n"
"  --nodelay           disable Nagle's algorithm\n"
"  --keepalive         send TCP keep-alives\n"
"  -t, --timeout S     give up when the stream is not open within S seconds,\n"
"                      or when sent data then stays unacknowledged for S\n"
"                      seconds (the TCP user timeout; exit 6)\n"
HELP_STREAM_OPTS
"\n"
"Exit status: 0 clean end (or -q), 1 other error, 2 bad usage, 3 daemon not\n"
"reachable or gone, 4 refused, 5 reset or aborted, 6 timed out, 7 unreachable,\n"
"130 interrupted.\n"
"\n"
"Example:  tar c dir | tou connect example.org 5000\n";

const char help_listen[] =
"Usage: tou listen [OPTIONS] PORT\n"
"\n"
"Listen on TCP port PORT of the local toud, accept one stream and pipe it like\n"
"tou connect (stdin to the stream, the stream to stdout).  With -k, accept\n"
"the next stream after each one ends, until interrupted.  The listener takes\n"
"streams on every UDP socket of the daemon (IPv4 and IPv6).\n"
"\n"
"Options:\n"
"  -k, --keep-open     accept streams one after another\n"
"  -b, --backlog N     queue up to N connections not yet accepted (default\n"
"                      128; the daemon lowers it to its max_backlog)\n"
"  -t, --timeout S     give up when no stream arrives within S seconds (exit 6)\n"
"  --ao required|optional\n"
"                      required: accept only SYNs signed with TCP-AO by a key\n"
"                      of the daemon's toud.conf (RFC 5925); optional: plain\n"
"                      TCP too (the default)\n"
"  --allow PREFIX      accept connections only from these peers (10.0.0.0/8,\n"
"                      2001:db8::/32, an address; comma-separated or repeated,\n"
"                      16 at most); others are refused before a connection\n"
"                      exists (RST, or silence: toud.conf refuse)\n"
"  --nodelay           disable Nagle's algorithm on the accepted streams\n"
"  --keepalive         send TCP keep-alives on the accepted streams\n"
HELP_STREAM_OPTS
"\n"
"Exit status: as for tou connect.  With -k tou goes on after every stream,\n"
"whatever its end, and exits 130 when interrupted, or with the status of an\n"
"accept that failed (6 when -t expired, 3 when the daemon went away, 5 when\n"
"the listener was closed: tou abort ID).\n"
"\n"
"Example:  tou listen 5000 | tar x\n";

const char help_status[] =
"Usage: tou status [OPTIONS] [ID | FILTER...]\n"
"\n"
"Show the daemon's connections and listeners, or connection ID (live, or how\n"
"it ended), like ss -tai: state, receive and send queues, local and remote\n"
"address (IP:UDPPORT/TCPPORT), then the negotiated options (ts sack\n"
"wscale:SND,RCV) and settings (nodelay keepalive), congestion control,\n"
"rtt/rttvar (ms), rto (ms), mss, cwnd, ssthresh (bytes), windows,\n"
"retransmits, bytes and segments.\n"
"\n"
"Filters (all must match; several states: any of them), like ss:\n"
"  state NAME          an RFC 9293 state (established, time-wait, syn-sent...,\n"
"                      case and - or _ do not matter), listening, closed, or\n"
"                      connected (every state but LISTEN, SYN-SENT and CLOSED)\n"
"  sport [:]PORT       local TCP port\n"
"  dport [:]PORT       remote TCP port\n"
"\n"
"Options:\n"
"  -l, --listening     listeners only\n"
"  -j, --json          print the daemon's JSON document instead (not filtered)\n"
"  -s, --socket PATH   the daemon's API socket\n"
"\n"
"Example:  tou status state established dport 5000\n";

const char help_stats[] =
"Usage: tou stats [OPTIONS] [PATTERN...]\n"
"\n"
"Show the daemon's counters (TCP-MIB names, UDP, route and API counters), one\n"
"per line like nstat: only those matching a PATTERN (shell wildcards:\n"
"'Tcp*', 'udp.tx_*') if any is given; counters that are zero are left out\n"
"unless -z is given.\n"
"\n"
"Options:\n"
"  -d, --delta         show how much each counter grew since the last\n"
"                      tou stats --delta (gauges such as TcpCurrEstab show\n"
"                      their value); the values are kept in a history file:\n"
"                      $TOU_STATS_HISTORY, else $XDG_RUNTIME_DIR/tou-stats.*,\n"
"                      else /tmp/.tou-stats.u<UID>.*; a restarted daemon\n"
"                      starts from zero\n"
"  -z, --zeros         show counters that are zero too\n"
"  -j, --json          print the daemon's JSON document instead\n"
"  -s, --socket PATH   the daemon's API socket\n";

const char help_info[] =
"Usage: tou info [OPTIONS]\n"
"\n"
"Show the daemon: its version, pid, uptime, API socket, UDP sockets, numbers\n"
"of connections and listeners, and whether it is stopping.\n"
"\n"
"Options:\n"
"  -j, --json          print the daemon's JSON document instead\n"
"  -s, --socket PATH   the daemon's API socket\n";

const char help_abort[] =
"Usage: tou abort [OPTIONS] ID\n"
"\n"
"Abort connection ID (see tou status): the daemon sends RST and drops its\n"
"data; the stream's program sees the end, its peer sees a reset.  A\n"
"listener's ID closes the listener: connections waiting in its queue are\n"
"reset, and its tou listen ends (exit 5).\n"
"\n"
"Options:\n"
"  -s, --socket PATH   the daemon's API socket\n";

const char help_help[] =
"Usage: tou help [COMMAND]\n"
"\n"
"Show help for COMMAND (connect, listen, status, stats, info, abort), or the\n"
"overview.\n";

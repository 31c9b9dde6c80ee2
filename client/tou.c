/*
 * tou.c - the tou command: netcat-like streams over toud, and a view of
 * its connections like ss(8) and of its counters like nstat(8).
 *
 *   tou connect HOST[:UDPPORT] PORT   stdin -> stream -> stdout
 *   tou listen PORT [-k]              accept and pipe like nc -l
 *   tou status [--json] [ID|FILTER]   connections (LIST / STATUS)
 *   tou stats [--json] [PATTERN...]   counters (STATS), --delta like nstat
 *   tou info                          the daemon (STATUS without an id)
 *   tou abort ID                      send RST (ABORT)
 *
 * Exit codes are the EX_* values below, documented in --help and tou(1).
 */
#include "tou.h"
#include "tou_json.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef TOU_VERSION
#define TOU_VERSION "0"
#endif

enum {
	EX_CLEAN = 0,     /* stream ended with FIN both ways / command done */
	EX_ERROR = 1,     /* any other error */
	EX_USAGE = 2,     /* bad usage (or the daemon rejected the arguments) */
	EX_NODAEMON = 3,  /* daemon not reachable, or it went away during the stream */
	EX_REFUSED = 4,   /* the peer refused the connection (RST to our SYN) */
	EX_RESET = 5,     /* the connection was reset by the peer or aborted */
	EX_TIMEOUT = 6,   /* timed out: no answer, retransmissions gave up, accept
			     timeout, idle timeout (-w) */
	EX_UNREACH = 7,   /* unreachable: name did not resolve, no route, or a
			     destination that is no unicast peer */
	EX_INTERRUPT = 130, /* SIGINT/SIGTERM */
};

/* Buffer per direction: big enough that a pipe or socket is drained in
 * few system calls (we compete on throughput). */
#define PIPE_BUF_SIZE (256u * 1024u)

static const char *opt_socket;
static int opt_quiet, opt_verbose, opt_progress, opt_json, opt_keep;
static int opt_nodelay, opt_keepalive, opt_family, opt_listening, opt_zeros, opt_delta;
static unsigned opt_timeout, opt_backlog, opt_idle;
static long opt_quit = -1; /* -q SECONDS: quit that long after EOF on stdin; -1 = never */
static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t in_pipe;

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	if (opt_quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("tou: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---------------------------------------------------------------- help */

static const char help_main[] =
"Usage: tou [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Streams over toud, the TCP-over-UDP daemon, like netcat; connections like ss.\n"
"\n"
"Commands:\n"
"  connect HOST[:UDPPORT] PORT   pipe stdin to a new stream, the stream to stdout\n"
"  listen PORT                   accept a stream (-k: one after another) and pipe it\n"
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

static const char help_connect[] =
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

static const char help_listen[] =
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

static const char help_status[] =
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

static const char help_stats[] =
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

static const char help_info[] =
"Usage: tou info [OPTIONS]\n"
"\n"
"Show the daemon: its version, pid, uptime, API socket, UDP sockets, numbers\n"
"of connections and listeners, and whether it is stopping.\n"
"\n"
"Options:\n"
"  -j, --json          print the daemon's JSON document instead\n"
"  -s, --socket PATH   the daemon's API socket\n";

static const char help_abort[] =
"Usage: tou abort [OPTIONS] ID\n"
"\n"
"Abort connection ID (see tou status): the daemon sends RST and drops its\n"
"data; the stream's program sees the end, its peer sees a reset.  A\n"
"listener's ID closes the listener: connections waiting in its queue are\n"
"reset, and its tou listen ends (exit 5).\n"
"\n"
"Options:\n"
"  -s, --socket PATH   the daemon's API socket\n";

static const char help_help[] =
"Usage: tou help [COMMAND]\n"
"\n"
"Show help for COMMAND (connect, listen, status, stats, info, abort), or the\n"
"overview.\n";

/* -------------------------------------------------------------- options */

enum {
	O_SOCKET, O_QUIET, O_VERBOSE, O_PROGRESS, O_JSON, O_KEEP, O_BACKLOG, O_TIMEOUT,
	O_NODELAY, O_KEEPALIVE, O_IDLE, O_QUIT, O_SHUTDOWN, O_FAMILY, O_LISTENING, O_ZEROS,
	O_DELTA, O_COUNT
};
#define B(o) (1u << (o))
#define O_COMMON (B(O_SOCKET) | B(O_QUIET) | B(O_VERBOSE))
#define O_STREAM (O_COMMON | B(O_PROGRESS) | B(O_TIMEOUT) | B(O_NODELAY) | B(O_KEEPALIVE) | \
		  B(O_IDLE) | B(O_QUIT) | B(O_SHUTDOWN))

/* How each option is named in messages. */
static const char *const opt_names[O_COUNT] = {
	[O_SOCKET] = "-s/--socket", [O_QUIET] = "--quiet", [O_VERBOSE] = "-v/--verbose",
	[O_PROGRESS] = "-p/--progress", [O_JSON] = "-j/--json", [O_KEEP] = "-k/--keep-open",
	[O_BACKLOG] = "-b/--backlog", [O_TIMEOUT] = "-t/--timeout", [O_NODELAY] = "--nodelay",
	[O_KEEPALIVE] = "--keepalive", [O_IDLE] = "-w/--idle-timeout", [O_QUIT] = "-q SECONDS",
	[O_SHUTDOWN] = "-N/--shutdown", [O_FAMILY] = "-4/-6", [O_LISTENING] = "-l/--listening",
	[O_ZEROS] = "-z/--zeros", [O_DELTA] = "-d/--delta",
};

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
	unsigned opts;
	int min_args, max_args;
};

static int usage_error(const char *help, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *help, const char *fmt, ...)
{
	if (!opt_quiet) {
		va_list ap;
		va_start(ap, fmt);
		fputs("tou: ", stderr);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		const char *nl = strchr(help, '\n');
		fprintf(stderr, "%.*s\n", (int)(nl ? nl - help : (long)strlen(help)), help);
	}
	return EX_USAGE;
}

/* Parse a decimal number in [min, max]; 0 on success. */
static int parse_uint(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* libtou error -> exit status, with a one-line message naming the cause. */
static int fail(const char *what, int err)
{
	const char *detail = tou_errdetail();
	if (err == TOU_ENODAEMON) {
		msg("%s: daemon not reachable at %s: %s", what, tou_socket_path(opt_socket),
		    strerror(errno));
		return EX_NODAEMON;
	}
	if (detail && *detail && strcmp(detail, tou_strerror(err)) != 0)
		msg("%s: %s (%s)", what, tou_strerror(err), detail);
	else
		msg("%s: %s", what, tou_strerror(err));
	switch (err) {
	case -ECONNREFUSED: return EX_REFUSED;
	case -ETIMEDOUT: return EX_TIMEOUT;
	case -EHOSTUNREACH: return EX_UNREACH;
	case -ECONNRESET: return EX_RESET;
	case -EINVAL: return EX_USAGE;
	default: return EX_ERROR;
	}
}

/* ------------------------------------------------------------ piping */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !got_signal)
		;
}

static void human(char *buf, size_t len, double bytes)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

struct progress {
	double start, last;
	uint64_t sent, received, last_total;
	int tty;
};

static void progress_show(struct progress *pg, int final)
{
	double t = now_s();
	if (!final && t - pg->last < 1.0)
		return;
	uint64_t total = pg->sent + pg->received;
	double dt = final ? t - pg->start : t - pg->last;
	double rate = dt > 0 ? (double)(final ? total : total - pg->last_total) / dt : 0;
	char s[32], r[32], v[32];
	human(s, sizeof(s), (double)pg->sent);
	human(r, sizeof(r), (double)pg->received);
	human(v, sizeof(v), rate);
	unsigned el = (unsigned)(t - pg->start);
	fprintf(stderr, "%stou: sent %s, received %s, %s/s%s, %u:%02u:%02u%s",
		pg->tty ? "\r" : "", s, r, v, final ? " average" : "", el / 3600,
		el / 60 % 60, el % 60, (pg->tty && !final) ? "\033[K" : "\n");
	pg->last = t;
	pg->last_total = total;
}

/* O_NONBLOCK is a property of the shared file description: set it only
 * on pipes and sockets (where a blocking write could stall the loop) and
 * restore the original flags when done. */
static int saved_fl[2] = { -1, -1 };

static void set_nonblock_if_pipe(int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !(S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode)))
		return;
#ifdef F_SETPIPE_SZ
	/* A pipe holds 64 KiB by default: one read(2) per 64 KiB and a wakeup
	 * of the writer each time.  Ask for 1 MiB (bounded by
	 * /proc/sys/fs/pipe-max-size; failure is harmless). */
	if (S_ISFIFO(sb.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, (int)(1u << 20));
#endif
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_NONBLOCK))
		return;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
		saved_fl[fd] = fl;
}

static void restore_stdio(void)
{
	for (int fd = 0; fd < 2; fd++)
		if (saved_fl[fd] >= 0) {
			fcntl(fd, F_SETFL, saved_fl[fd]);
			saved_fl[fd] = -1;
		}
}

/* One open stream: its API connection, its id and the command that opened
 * it ("connect example.org 5000"), which every message names. */
struct stream {
	int fd;
	uint64_t id;
	const char *what;
};

/* Exit status for a stream's end record ("end" in STATUS). */
static int end_status(const struct stream *s, const struct tou_status *st)
{
	if (strcmp(st->end, TOU_END_FIN) == 0)
		return EX_CLEAN;
	static const struct { const char *end, *text; int status; } ends[] = {
		{ TOU_END_RESET, "connection reset by peer", EX_RESET },
		{ TOU_END_ABORTED, "connection aborted", EX_RESET },
		{ TOU_END_TIMEOUT, "connection timed out", EX_TIMEOUT },
		{ TOU_END_REFUSED, "connection refused", EX_REFUSED },
		{ TOU_END_UNREACHABLE, "destination unreachable", EX_UNREACH },
	};
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (strcmp(st->end, ends[i].end) == 0) {
			msg("%s: connection %" PRIu64 ": %s", s->what, st->id, ends[i].text);
			return ends[i].status;
		}
	msg("%s: connection %" PRIu64 ": ended (%s)", s->what, st->id, st->end);
	return EX_ERROR;
}

/* STATUS of the stream; 0, or an exit status once reported: the daemon
 * that went away (or restarted: it no longer knows the id) is exit 3,
 * named after the user's command, whatever question we were asking. */
static int stream_status(const struct stream *s, struct tou_status *st)
{
	int r = tou_status(opt_socket, s->id, st, NULL);
	if (r == 0)
		return 0;
	if (r == TOU_ENODAEMON) {
		msg("%s: connection %" PRIu64 ": the daemon went away (%s: %s)", s->what, s->id,
		    tou_socket_path(opt_socket), strerror(errno));
		return EX_NODAEMON;
	}
	if (r == -ECONNRESET || r == -EPIPE || r == -EPROTO) {
		/* the daemon died while answering (killed: the kernel had
		 * accepted our connection to its socket) */
		msg("%s: connection %" PRIu64 ": the daemon went away (its answer was cut: %s)", s->what,
		    s->id, strerror(-r));
		return EX_NODAEMON;
	}
	if (r == -ENOENT) {
		msg("%s: connection %" PRIu64 ": the daemon no longer knows it (restarted?)",
		    s->what, s->id);
		return EX_NODAEMON;
	}
	return fail(s->what, r);
}

/*
 * How did the stream end?  Asks STATUS until the daemon reports an end
 * (our last FIN may still wait for its ACK in LAST-ACK or CLOSING),
 * within a bounded time.  TIME-WAIT means both FINs were exchanged and
 * ours acked (RFC 9293 3.6), which is a clean end.
 */
static int wait_end(const struct stream *s, double limit_s)
{
	double deadline = now_s() + limit_s;
	unsigned delay = 1;
	for (;;) {
		struct tou_status st;
		int r = stream_status(s, &st);
		if (r)
			return r;
		if (st.end[0])
			return end_status(s, &st);
		if (strcmp(st.state, "TIME-WAIT") == 0)
			return EX_CLEAN;
		if (got_signal)
			return EX_INTERRUPT;
		if (now_s() >= deadline) {
			msg("%s: connection %" PRIu64 ": did not end cleanly (state %s)", s->what, s->id,
			    st.state[0] ? st.state : "unknown");
			return EX_ERROR;
		}
		sleep_ms(delay);
		if (delay < 100)
			delay *= 2;
	}
}

/* After the daemon closed its side early: has the stream ended abnormally
 * (or has the daemon gone)?  Returns an exit status, or -1 if the stream
 * is live or ended with FIN. */
static int check_abnormal_end(const struct stream *s)
{
	struct tou_status st;
	int r = stream_status(s, &st);
	if (r)
		return r;
	if (!st.end[0] || strcmp(st.end, TOU_END_FIN) == 0)
		return -1;
	return end_status(s, &st);
}

/* The daemon has closed the stream's API connection altogether (send
 * failed, or hang-up while our input was still open): how did it end? */
static int closed_by_daemon(const struct stream *s, int input_open)
{
	int status = check_abnormal_end(s);
	if (status >= 0)
		return status;
	status = wait_end(s, 2.0);
	if (status == EX_CLEAN && input_open) {
		msg("%s: connection %" PRIu64 ": stream closed with input unsent", s->what, s->id);
		status = EX_ERROR;
	}
	return status;
}

/* stdout becomes /dev/null (its flags restored first), so that a pipeline
 * downstream sees the end now and no later socket lands on fd 1. */
static void stdout_to_null(void)
{
	if (saved_fl[1] >= 0) {
		fcntl(1, F_SETFL, saved_fl[1]);
		saved_fl[1] = -1;
	}
	int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (nul >= 0 && nul != 1) {
		dup2(nul, 1);
		close(nul);
	} else if (nul < 0) {
		close(1);
	}
}

/*
 * Copy stdin -> stream and stream -> stdout until both directions have
 * ended, watching the stream all along (a reset, a timeout or the daemon's
 * end is reported at once, whatever stdin does).  Returns an exit status.
 */
static int pipe_stream(const struct stream *s)
{
	static char *up, *down;
	if (!up && !(up = malloc(PIPE_BUF_SIZE)))
		return EX_ERROR;
	if (!down && !(down = malloc(PIPE_BUF_SIZE)))
		return EX_ERROR;
	int fd = s->fd;
	size_t up_off = 0, up_len = 0, down_off = 0, down_len = 0;
	/* stdin/stdout state survives listen -k: in_eof, and out_gone when
	 * stdout can take nothing more (closed by its reader, or handed to
	 * /dev/null): the stream's bytes are then read and dropped */
	static int in_eof, out_gone;
	int up_done = 0, sock_eof = 0, down_done = 0;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		msg("fcntl: %s", strerror(errno));
		return EX_ERROR;
	}
	/* An AF_UNIX stream's capacity is the sender's SO_SNDBUF (the
	 * default ~200 KiB caps a fast link's throughput): ask for more; the
	 * kernel bounds it by net.core.wmem_max, failure is harmless. */
	int sndbuf = (int)(4u << 20);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	set_nonblock_if_pipe(0);
	set_nonblock_if_pipe(1);
	struct progress pg = { now_s(), now_s(), 0, 0, 0, isatty(2) };
	double last_io = now_s(), quit_at = -1;

	int status = -1, quit = 0;
	while (status < 0 && !(up_done && down_done)) {
		if (got_signal) {
			status = EX_INTERRUPT;
			break;
		}
		if (in_eof && up_len == 0 && !up_done) {
			/* End of input: TCP CLOSE, FIN after all queued data. */
			if (shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN) {
				msg("shutdown: %s", strerror(errno));
				status = EX_ERROR;
				break;
			}
			up_done = 1;
			if (opt_quit >= 0)
				quit_at = now_s() + (double)opt_quit;
			continue;
		}
		if (sock_eof && down_len == 0 && !down_done) {
			down_done = 1;
			if (!out_gone && !opt_keep) { /* (-k: the next stream writes there too) */
				stdout_to_null();
				out_gone = 1;
			}
			continue;
		}
		double t = now_s();
		if (quit_at >= 0 && t >= quit_at) {
			/* -q: quit, unless the stream has already failed */
			status = check_abnormal_end(s);
			if (status < 0) {
				if (opt_verbose)
					msg("%s: connection %" PRIu64 ": quitting %ld s after the end of input (-q)",
					    s->what, s->id, opt_quit);
				status = EX_CLEAN;
			}
			quit = 1;
			break;
		}
		if (opt_idle && t - last_io >= opt_idle) {
			msg("%s: connection %" PRIu64 ": idle for %u s (-w)", s->what, s->id, opt_idle);
			status = EX_TIMEOUT;
			quit = 1;
			break;
		}
		double wait = -1;
		if (opt_progress)
			wait = 1.0;
		if (opt_idle && (wait < 0 || last_io + opt_idle - t < wait))
			wait = last_io + opt_idle - t;
		if (quit_at >= 0 && (wait < 0 || quit_at - t < wait))
			wait = quit_at - t;

		struct pollfd p[3];
		int np = 0, ii = -1, is = -1, io = -1;
		if (!in_eof && up_len == 0) {
			ii = np;
			p[np++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		}
		short sev = 0;
		if (up_len > 0)
			sev |= POLLOUT;
		if (!sock_eof && down_len == 0)
			sev |= POLLIN;
		/* After the peer's FIN, while our input is still open, the
		 * stream is watched for its end: the daemon closes the API
		 * connection (POLLHUP) when it is reset, times out or the daemon
		 * stops. */
		if (sev || (sock_eof && !up_done)) {
			is = np;
			p[np++] = (struct pollfd){ .fd = fd, .events = sev };
		}
		if (down_len > 0) {
			io = np;
			p[np++] = (struct pollfd){ .fd = 1, .events = POLLOUT };
		}
		int n = poll(p, (nfds_t)np, wait < 0 ? -1 : (int)(wait * 1000) + 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg("poll: %s", strerror(errno));
			status = EX_ERROR;
			break;
		}
		if (opt_progress)
			progress_show(&pg, 0);
		if (ii >= 0 && p[ii].revents) {
			ssize_t r = read(0, up, PIPE_BUF_SIZE);
			if (r > 0) {
				up_off = 0;
				up_len = (size_t)r;
			} else if (r == 0) {
				in_eof = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				msg("reading stdin: %s", strerror(errno));
				in_eof = 1; /* treat as the end of input */
			}
		}
		if (is >= 0 && p[is].revents) {
			short re = p[is].revents;
			if (up_len > 0 && (re & (POLLOUT | POLLERR | POLLHUP))) {
				ssize_t w = send(fd, up + up_off, up_len, MSG_NOSIGNAL);
				if (w > 0) {
					up_off += (size_t)w;
					up_len -= (size_t)w;
					pg.sent += (uint64_t)w;
					last_io = now_s();
				} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
					/* The daemon closed the stream: it ended. */
					status = closed_by_daemon(s, 1);
					break;
				}
			}
			if (!sock_eof && down_len == 0 && (re & (POLLIN | POLLERR | POLLHUP))) {
				ssize_t r = read(fd, down, PIPE_BUF_SIZE);
				if (r > 0) {
					pg.received += (uint64_t)r;
					last_io = now_s();
					if (!out_gone) { /* else dropped: nobody reads stdout */
						down_off = 0;
						down_len = (size_t)r;
					}
				} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					sock_eof = 1;
					/* The peer's FIN, or the stream's abnormal end. */
					status = check_abnormal_end(s);
					if (status >= 0)
						break;
				}
			} else if (sock_eof && !up_done && (re & (POLLHUP | POLLERR))) {
				status = closed_by_daemon(s, 1);
				break;
			}
		}
		if (io >= 0 && p[io].revents) {
			ssize_t w = write(1, down + down_off, down_len);
			if (w > 0) {
				down_off += (size_t)w;
				down_len -= (size_t)w;
			} else if (w < 0 && errno == EPIPE) {
				/* The reader of stdout has gone (tou connect ... |
				 * head): like netcat, that ends our reading side
				 * quietly.  The rest of the stream is read and
				 * dropped, so the peer sees its data taken and the
				 * stream can still end cleanly (not a reset). */
				if (opt_verbose)
					msg("%s: connection %" PRIu64 ": stdout closed; discarding what the stream sends",
					    s->what, s->id);
				stdout_to_null();
				out_gone = 1;
				down_len = 0;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				msg("writing stdout: %s", strerror(errno));
				status = EX_ERROR;
				break;
			}
		}
	}
	restore_stdio();
	if (opt_progress)
		progress_show(&pg, 1);
	if (status >= 0 || quit)
		return status;
	/* Both directions ended: ask the daemon how. */
	return wait_end(s, opt_timeout ? opt_timeout + 30.0 : 60.0);
}

/* ----------------------------------------------------------- commands */

static int parse_port(const char *s, const char *help, unsigned *port)
{
	unsigned long long v;
	if (parse_uint(s, 1, 65535, &v) < 0)
		return usage_error(help, "invalid port '%s' (1-65535)", s);
	*port = (unsigned)v;
	return 0;
}

/*
 * -4/-6: resolve the host part of HOST[:UDPPORT] (forms as in the API:
 * "[v6]:port", a bare v6 address, "name:port") to an address of that
 * family here, and give the daemon the literal.  0, or an exit status.
 */
static int resolve_family(const char *what, const char *arg, char *out, size_t outlen)
{
	char host[256];
	const char *port = NULL, *p = arg, *end;
	if (*p == '[') {
		p++;
		end = strchr(p, ']');
		if (!end || (end[1] && end[1] != ':'))
			return usage_error(help_connect, "invalid host '%s'", arg);
		if (end[1] == ':')
			port = end + 2;
	} else if (strchr(arg, ':') != strrchr(arg, ':')) {
		end = p + strlen(p); /* a bare IPv6 address takes no port */
	} else {
		end = strchr(p, ':');
		if (end)
			port = end + 1;
		else
			end = p + strlen(p);
	}
	if (end == p || (size_t)(end - p) >= sizeof(host))
		return usage_error(help_connect, "invalid host '%s'", arg);
	memcpy(host, p, (size_t)(end - p));
	host[end - p] = '\0';
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = opt_family == 4 ? AF_INET : AF_INET6;
	hints.ai_socktype = SOCK_DGRAM;
	int e = getaddrinfo(host, NULL, &hints, &res);
	if (e != 0 || !res) {
		msg("%s: host unreachable (no IPv%d address for %s: %s)", what, opt_family, host,
		    e ? gai_strerror(e) : "none");
		return EX_UNREACH;
	}
	char a[INET6_ADDRSTRLEN];
	const void *bin = res->ai_family == AF_INET
		? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
		: (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
	inet_ntop(res->ai_family, bin, a, sizeof(a));
	if (res->ai_family == AF_INET6)
		snprintf(out, outlen, "[%s]%s%s", a, port ? ":" : "", port ? port : "");
	else
		snprintf(out, outlen, "%s%s%s", a, port ? ":" : "", port ? port : "");
	freeaddrinfo(res);
	if (opt_verbose)
		msg("%s: %s is %s", what, host, a);
	return 0;
}

static int run_stream(int fd, const struct tou_conn_info *info, const char *what)
{
	struct stream s = { fd, info->id, what };
	in_pipe = 1;
	int r = pipe_stream(&s);
	in_pipe = 0;
	close(fd);
	return r;
}

static int cmd_connect(int argc, char **argv)
{
	const char *host = argv[0];
	unsigned port = 0;
	if (strpbrk(host, " \t\r\n") || !*host)
		return usage_error(help_connect, "invalid host '%s'", host);
	if (parse_port(argv[1], help_connect, &port))
		return EX_USAGE;
	char what[300], literal[300];
	snprintf(what, sizeof(what), "connect %s %u", host, port);
	if (opt_family) {
		int r = resolve_family(what, host, literal, sizeof(literal));
		if (r)
			return r;
		host = literal;
	}
	unsigned flags = (opt_nodelay ? TOU_NODELAY : 0) | (opt_keepalive ? TOU_KEEPALIVE : 0);
	struct tou_conn_info info;
	int fd = tou_connect(opt_socket, host, port, flags, opt_timeout, &info);
	if (fd < 0)
		return fail(what, fd);
	if (opt_verbose)
		msg("connected: id %" PRIu64 " %s -> %s", info.id, info.local, info.remote);
	(void)argc;
	return run_stream(fd, &info, what);
}

static int cmd_listen(int argc, char **argv)
{
	unsigned port = 0;
	if (parse_port(argv[0], help_listen, &port))
		return EX_USAGE;
	int lfd = tou_listen(opt_socket, port, opt_backlog);
	char what[64];
	snprintf(what, sizeof(what), "listen %u", port);
	if (lfd < 0)
		return fail(what, lfd);
	if (opt_verbose)
		msg("listening on port %u", port);
	int r;
	do {
		struct tou_conn_info info;
		unsigned flags = (opt_nodelay ? TOU_NODELAY : 0) | (opt_keepalive ? TOU_KEEPALIVE : 0);
		int fd = tou_accept_flags(opt_socket, port, flags, opt_timeout, &info);
		if (fd == -ENOENT) { /* our listener is gone: tou abort, or the daemon stopping */
			msg("%s: the listener was closed (%s)", what, tou_errdetail());
			r = EX_RESET;
			break;
		}
		if (fd < 0) {
			r = fail(what, fd);
			break;
		}
		if (opt_verbose)
			msg("accepted: id %" PRIu64 " %s <- %s", info.id, info.local, info.remote);
		r = run_stream(fd, &info, what);
	} while (opt_keep && !got_signal);
	if (got_signal)
		r = EX_INTERRUPT;
	close(lfd);
	(void)argc;
	return r;
}

static void print_status_header(void)
{
	printf("%-6s %-12s %8s %8s %-28s %s\n", "ID", "State", "Recv-Q", "Send-Q",
	       "Local", "Remote");
}

/* One connection like `ss -ti`: a summary line, then an indented line of
 * options and TCP internals (times in ms as ss prints them). */
static void print_status(const struct tou_status *s)
{
	printf("%-6" PRIu64 " %-12s %8" PRIu64 " %8" PRIu64 " %-28s %s\n", s->id,
	       s->state[0] ? s->state : "?", s->recv_queue, s->send_queue, s->local, s->remote);
	if (strcmp(s->state, "LISTEN") == 0)
		return; /* a listener: nothing but its port */
	printf("\t");
	if (s->timestamps)
		printf(" ts");
	if (s->sack)
		printf(" sack");
	if (s->snd_wscale || s->rcv_wscale)
		printf(" wscale:%u,%u", s->snd_wscale, s->rcv_wscale);
	if (s->nodelay)
		printf(" nodelay");
	if (s->keepalive)
		printf(" keepalive");
	if (s->cc[0])
		printf(" %s", s->cc);
	printf(" rtt:%.3f/%.3f rto:%.0f mss:%" PRIu64 " cwnd:%" PRIu64, s->srtt_us / 1000.0,
	       s->rttvar_us / 1000.0, s->rto_us / 1000.0, s->mss, s->cwnd);
	if (s->ssthresh && s->ssthresh < UINT32_MAX)
		printf(" ssthresh:%" PRIu64, s->ssthresh);
	printf(" snd_wnd:%" PRIu64 " rcv_wnd:%" PRIu64 " retrans:%" PRIu64
	       " bytes_sent:%" PRIu64 " bytes_acked:%" PRIu64 " bytes_received:%" PRIu64
	       " segs_out:%" PRIu64 " segs_in:%" PRIu64,
	       s->snd_wnd, s->rcv_wnd, s->retransmits, s->bytes_sent, s->bytes_acked,
	       s->bytes_received, s->segs_out, s->segs_in);
	if (s->uid != TOU_UID_NONE)
		printf(" uid:%" PRIu64, s->uid);
	if (s->end[0])
		printf(" end:%s", s->end);
	printf("\n");
}

/* `tou status` filters, like ss's: states (any of them), ports. */
#define MAX_STATES 16
struct filter {
	const char *states[MAX_STATES];
	int n_states;
	unsigned sport, dport; /* 0: any */
};

static const char *const state_names[] = {
	"LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
	"CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT", "CLOSED",
};

/* "time_wait", "Time-Wait" -> "TIME-WAIT"; "listening" -> "LISTEN";
 * "connected" stays a group name.  NULL if unknown. */
static const char *state_lookup(const char *name)
{
	char up[32];
	size_t n = strlen(name);
	if (n >= sizeof(up))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		up[i] = name[i] == '_' ? '-' : (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	if (strcmp(up, "LISTENING") == 0)
		return "LISTEN";
	if (strcmp(up, "CONNECTED") == 0)
		return "connected";
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(up, state_names[i]) == 0)
			return state_names[i];
	return NULL;
}

/* The TCP port of "<ip>:<udp-port>/<tcp-port>" (0 if none, e.g. "*"). */
static unsigned tcp_port_of(const char *addr)
{
	const char *slash = strrchr(addr, '/');
	unsigned long long v;
	return slash && parse_uint(slash + 1, 1, 65535, &v) == 0 ? (unsigned)v : 0;
}

static int filter_match(const struct filter *f, const struct tou_status *s)
{
	int listener = strcmp(s->state, "LISTEN") == 0;
	if (opt_listening && !listener)
		return 0;
	if (f->n_states) {
		int any = 0;
		for (int i = 0; i < f->n_states && !any; i++) {
			if (strcmp(f->states[i], "connected") == 0)
				any = !listener && strcmp(s->state, "SYN-SENT") != 0 &&
				      strcmp(s->state, "CLOSED") != 0;
			else
				any = strcmp(f->states[i], s->state) == 0;
		}
		if (!any)
			return 0;
	}
	if (f->sport && tcp_port_of(s->local) != f->sport)
		return 0;
	if (f->dport && tcp_port_of(s->remote) != f->dport)
		return 0;
	return 1;
}

/* FILTER words: state NAME | sport [=] [:]PORT | dport [=] [:]PORT. */
static int parse_filter(int argc, char **argv, struct filter *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		int is_state = strcmp(w, "state") == 0;
		int is_port = strcmp(w, "sport") == 0 || strcmp(w, "dport") == 0;
		if (!is_state && !is_port)
			return usage_error(help_status,
					   "unknown filter '%s' (state NAME, sport PORT, dport PORT, or an id alone)", w);
		if (i + 1 < argc && (strcmp(argv[i + 1], "=") == 0 || strcmp(argv[i + 1], "==") == 0) && is_port)
			i++;
		if (i + 1 >= argc)
			return usage_error(help_status, "filter '%s' needs a value", w);
		const char *v = argv[++i];
		if (is_state) {
			const char *name = state_lookup(v);
			if (!name)
				return usage_error(help_status, "unknown state '%s'", v);
			if (f->n_states == MAX_STATES)
				return usage_error(help_status, "too many states");
			f->states[f->n_states++] = name;
		} else {
			unsigned long long port;
			if (*v == ':')
				v++;
			if (parse_uint(v, 1, 65535, &port) < 0)
				return usage_error(help_status, "invalid port '%s' for %s (1-65535)", argv[i], w);
			*(strcmp(w, "sport") == 0 ? &f->sport : &f->dport) = (unsigned)port;
		}
	}
	return 0;
}

/* Parse a JSON document into a malloc()ed token array (NULL on failure). */
static struct tj_tok *parse_doc(const char *json, enum tj_type root)
{
	size_t len = strlen(json);
	int max = (int)(len / 2 + 2);
	struct tj_tok *toks = malloc((size_t)max * sizeof(*toks));
	if (toks && (tj_parse(json, len, toks, max) < 0 || toks[0].type != root)) {
		free(toks);
		toks = NULL;
	}
	return toks;
}

static int print_doc(char *json)
{
	printf("%s\n", json);
	free(json);
	return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
}

/* With --json print the daemon's document (and free it), else parse it:
 * the tokens, or NULL with *status set (the document freed) when done. */
static struct tj_tok *print_or_parse(char *json, enum tj_type root, const char *what, int *status)
{
	if (opt_json) {
		*status = print_doc(json);
		return NULL;
	}
	struct tj_tok *toks = parse_doc(json, root);
	if (!toks) {
		free(json);
		*status = fail(what, -EPROTO);
	}
	return toks;
}

static int cmd_status(int argc, char **argv)
{
	unsigned long long id;
	if (argc == 1 && parse_uint(argv[0], 0, UINT64_MAX, &id) == 0) {
		struct tou_status st;
		char *json = NULL;
		int r = tou_status(opt_socket, id, &st, &json);
		if (r < 0) {
			char what[64];
			snprintf(what, sizeof(what), "status %llu", id);
			return fail(what, r);
		}
		if (opt_json)
			return print_doc(json);
		print_status_header();
		print_status(&st);
		free(json);
		return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
	}
	struct filter f;
	if (parse_filter(argc, argv, &f))
		return EX_USAGE;
	char *json = NULL;
	int r = tou_list(opt_socket, &json);
	if (r < 0)
		return fail("status", r);
	struct tj_tok *toks = print_or_parse(json, TJ_ARRAY, "status", &r);
	if (!toks)
		return r;
	print_status_header();
	for (int e = tj_first(toks, 0); e >= 0; e = tj_next(toks, 0, e)) {
		struct tou_status st;
		if (toks[e].type != TJ_OBJECT ||
		    tou_status_parse(json + toks[e].start, toks[e].end - toks[e].start, &st) < 0)
			continue;
		if (filter_match(&f, &st))
			print_status(&st);
	}
	free(toks);
	free(json);
	return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
}

/* ------------------------------------------------------------- stats */

/* One counter of STATS, flattened like nstat names it. */
struct counter {
	char name[96];
	char text[64];  /* the value as the daemon wrote it */
	uint64_t value;
	int numeric;
};

struct counters {
	struct counter *v;
	size_t n, cap;
};

static int counters_add(struct counters *c, const char *name, const char *text, int numeric,
			uint64_t value)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct counter *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	struct counter *k = &c->v[c->n++];
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->text, sizeof(k->text), "%s", text);
	k->numeric = numeric;
	k->value = value;
	return 0;
}

/* The scalars of a JSON object: nested keys are joined by '.', except that
 * a group's MIB-style keys (capitalized) become one MIB name:
 * {"tcp":{"ActiveOpens":..}} -> TcpActiveOpens. */
static int collect_counters(const char *json, const struct tj_tok *toks, int obj,
			    const char *prefix, int depth, struct counters *out)
{
	for (int k = tj_first(toks, obj); k >= 0; k = tj_next(toks, obj, k)) {
		char key[64], name[96];
		if (toks[obj].type != TJ_OBJECT)
			continue;
		tj_str(json, toks, k, key, sizeof(key));
		if (*prefix && !strchr(prefix, '.') && key[0] >= 'A' && key[0] <= 'Z')
			snprintf(name, sizeof(name), "%c%s%s",
				 prefix[0] >= 'a' && prefix[0] <= 'z' ? prefix[0] - 'a' + 'A' : prefix[0],
				 prefix + 1, key);
		else
			snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", key);
		const struct tj_tok *v = &toks[k + 1];
		char text[64];
		uint64_t x = 0;
		int r = 0;
		switch (v->type) {
		case TJ_OBJECT:
			if (depth < 8)
				r = collect_counters(json, toks, k + 1, name, depth + 1, out);
			break;
		case TJ_ARRAY:
			break; /* not a counter */
		case TJ_STRING:
			tj_str(json, toks, k + 1, text, sizeof(text));
			r = counters_add(out, name, text, 0, 0);
			break;
		default:
			snprintf(text, sizeof(text), "%.*s", (int)(v->end - v->start), json + v->start);
			if (v->type == TJ_NUMBER && tj_u64(json, toks, k + 1, &x) == 0)
				r = counters_add(out, name, text, 1, x);
			else
				r = counters_add(out, name, text, 0, 0);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Values that go up and down (how many now), shown as they are by
 * --delta, as nstat does for none but we can name ours. */
static int is_gauge(const char *name)
{
	static const char *const gauges[] = {
		"TcpCurrEstab", "route.entries", "route.pinned", "api.clients_waiting",
		"api.connections", "api.ended_kept",
	};
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (strcmp(name, gauges[i]) == 0)
			return 1;
	return 0;
}

/* The --delta history file of this user and daemon socket. */
static void history_path(char *buf, size_t len)
{
	const char *env = getenv("TOU_STATS_HISTORY");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	uint32_t h = 2166136261u; /* FNV-1a of the socket path: one file per daemon */
	for (const char *p = tou_socket_path(opt_socket); *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	const char *run = getenv("XDG_RUNTIME_DIR");
	if (run && *run)
		snprintf(buf, len, "%s/tou-stats.%08x", run, (unsigned)h);
	else
		snprintf(buf, len, "/tmp/.tou-stats.u%u.%08x", (unsigned)getuid(), (unsigned)h);
}

/* Read the history: first line "#tou-stats <daemon pid>", then "name
 * value" lines.  Only a regular file of ours counts; a history of another
 * daemon process (restarted) counts as none. */
static void history_load(const char *path, long pid, struct counters *old)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat sb;
	FILE *f = NULL;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == getuid())
		f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	char line[256];
	long hpid = -1;
	if (fgets(line, sizeof(line), f) && sscanf(line, "#tou-stats %ld", &hpid) == 1 && hpid == pid) {
		while (fgets(line, sizeof(line), f)) {
			char name[96];
			unsigned long long v;
			if (sscanf(line, "%95s %llu", name, &v) == 2 && counters_add(old, name, "", 1, v) < 0)
				break;
		}
	}
	fclose(f);
}

/* Write the history atomically (a new file renamed over the old one). */
static void history_save(const char *path, long pid, const struct counters *now)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		msg("stats: cannot write the history %s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(f, "#tou-stats %ld\n", pid);
	for (size_t i = 0; i < now->n; i++)
		if (now->v[i].numeric)
			fprintf(f, "%s %" PRIu64 "\n", now->v[i].name, now->v[i].value);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		msg("stats: cannot write the history %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

/* The daemon's pid from STATUS (identifies the counters' origin). */
static int daemon_pid(long *pid)
{
	char *doc = NULL;
	int r = tou_request(opt_socket, "STATUS", &doc);
	if (r < 0)
		return r;
	struct tj_tok *toks = parse_doc(doc, TJ_OBJECT);
	uint64_t v = 0;
	r = toks && tj_u64(doc, toks, tj_get(doc, toks, 0, "pid"), &v) == 0 ? 0 : -EPROTO;
	*pid = (long)v;
	free(toks);
	free(doc);
	return r;
}

static int cmd_stats(int argc, char **argv)
{
	char *json = NULL;
	long pid = 0;
	int r = opt_delta ? daemon_pid(&pid) : 0;
	if (r == 0)
		r = tou_stats(opt_socket, &json);
	if (r < 0)
		return fail("stats", r);
	struct tj_tok *toks = print_or_parse(json, TJ_OBJECT, "stats", &r);
	if (!toks)
		return r;
	struct counters now = { 0 }, old = { 0 };
	if (collect_counters(json, toks, 0, "", 0, &now) < 0) {
		free(toks);
		free(json);
		free(now.v);
		return fail("stats", -ENOMEM);
	}
	free(toks);
	free(json);
	char hist[PATH_MAX];
	if (opt_delta) {
		history_path(hist, sizeof(hist));
		history_load(hist, pid, &old);
	}
	for (size_t i = 0; i < now.n; i++) {
		const struct counter *c = &now.v[i];
		int match = argc == 0;
		for (int a = 0; a < argc && !match; a++)
			match = fnmatch(argv[a], c->name, 0) == 0;
		if (!match)
			continue;
		if (!c->numeric) {
			printf("%-36s %20s\n", c->name, c->text);
			continue;
		}
		uint64_t v = c->value;
		if (opt_delta && !is_gauge(c->name)) {
			for (size_t j = 0; j < old.n; j++)
				if (strcmp(old.v[j].name, c->name) == 0) {
					/* a counter that went back was reset: all of it is new */
					v = c->value >= old.v[j].value ? c->value - old.v[j].value : c->value;
					break;
				}
		}
		if (v == 0 && !opt_zeros)
			continue;
		printf("%-36s %20" PRIu64 "\n", c->name, v);
	}
	if (opt_delta)
		history_save(hist, pid, &now);
	free(now.v);
	free(old.v);
	return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
}

/* ------------------------------------------------------- info, abort */

static int cmd_info(int argc, char **argv)
{
	char *doc = NULL;
	int r = tou_request(opt_socket, "STATUS", &doc);
	if (r < 0)
		return fail("info", r);
	struct tj_tok *toks = print_or_parse(doc, TJ_OBJECT, "info", &r);
	if (!toks)
		return r;
	char version[64] = "?";
	uint64_t pid = 0, up = 0;
	tj_str(doc, toks, tj_get(doc, toks, 0, "version"), version, sizeof(version));
	tj_u64(doc, toks, tj_get(doc, toks, 0, "pid"), &pid);
	int has_up = tj_u64(doc, toks, tj_get(doc, toks, 0, "uptime_s"), &up) == 0;
	printf("toud %s, pid %" PRIu64, version, pid);
	if (has_up)
		printf(", up %" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, up / 86400,
		       up / 3600 % 24, up / 60 % 60, up % 60);
	printf("\n");
	for (int k = tj_first(toks, 0); k >= 0; k = tj_next(toks, 0, k)) {
		char key[64], val[512];
		tj_str(doc, toks, k, key, sizeof(key));
		if (!strcmp(key, "version") || !strcmp(key, "pid") || !strcmp(key, "uptime_s"))
			continue;
		const struct tj_tok *v = &toks[k + 1];
		if (v->type == TJ_STRING)
			tj_str(doc, toks, k + 1, val, sizeof(val));
		else if (v->type == TJ_TRUE || v->type == TJ_FALSE)
			snprintf(val, sizeof(val), "%s", v->type == TJ_TRUE ? "yes" : "no");
		else if (v->type == TJ_NUMBER)
			snprintf(val, sizeof(val), "%.*s", (int)(v->end - v->start), doc + v->start);
		else
			continue;
		printf("%-12s %s\n", key, val);
	}
	free(toks);
	free(doc);
	(void)argc;
	(void)argv;
	return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
}

static int cmd_abort(int argc, char **argv)
{
	unsigned long long id;
	if (parse_uint(argv[0], 0, UINT64_MAX, &id) < 0)
		return usage_error(help_abort, "invalid connection id '%s'", argv[0]);
	int r = tou_abort(opt_socket, id);
	if (r < 0) {
		char what[64];
		snprintf(what, sizeof(what), "abort %llu", id);
		return fail(what, r);
	}
	if (opt_verbose)
		msg("connection %llu aborted", id);
	(void)argc;
	return EX_CLEAN;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "connect", cmd_connect, help_connect, O_STREAM | B(O_FAMILY), 2, 2 },
	{ "listen", cmd_listen, help_listen, O_STREAM | B(O_KEEP) | B(O_BACKLOG), 1, 1 },
	{ "status", cmd_status, help_status, O_COMMON | B(O_JSON) | B(O_LISTENING), 0, 64 },
	{ "stats", cmd_stats, help_stats, O_COMMON | B(O_JSON) | B(O_ZEROS) | B(O_DELTA), 0, 64 },
	{ "info", cmd_info, help_info, O_COMMON | B(O_JSON), 0, 0 },
	{ "abort", cmd_abort, help_abort, O_COMMON, 1, 1 },
	{ "help", cmd_help, help_help, O_COMMON, 0, 1 },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	if (argc == 0) {
		fputs(help_main, stdout);
		return EX_CLEAN;
	}
	const struct command *c = find_command(argv[0]);
	if (!c)
		return usage_error(help_help, "unknown command '%s'", argv[0]);
	fputs(c->help, stdout);
	return EX_CLEAN;
}

/* In the pipe loop the signal ends poll() and the loop; elsewhere (a
 * blocking CONNECT or ACCEPT) it ends the program at once. */
static void on_signal(int sig)
{
	got_signal = sig;
	if (!in_pipe)
		_exit(EX_INTERRUPT);
}

/* -q is netcat's quit delay when a number follows it ("-q 5", "-q5"),
 * else --quiet: a copy of argv where those read "--quit=N".  NULL when
 * out of memory. */
static char **rewrite_quit(int *argc, char **argv)
{
	char **nv = calloc((size_t)*argc + 1, sizeof(*nv));
	if (!nv)
		return NULL;
	int n = 0, rest = 0;
	for (int i = 0; i < *argc; i++) {
		const char *num = NULL;
		if (!rest && i > 0 && strcmp(argv[i], "--") == 0)
			rest = 1;
		if (!rest && i > 0 && strcmp(argv[i], "-q") == 0 && i + 1 < *argc &&
		    argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9')
			num = argv[++i];
		else if (!rest && i > 0 && strncmp(argv[i], "-q", 2) == 0 && argv[i][2] >= '0' &&
			 argv[i][2] <= '9')
			num = argv[i] + 2;
		if (!num) {
			nv[n++] = argv[i];
			continue;
		}
		size_t len = strlen(num) + sizeof("--quit=");
		if (!(nv[n] = malloc(len)))
			return NULL; /* the program exits: nothing to free */
		snprintf(nv[n++], len, "--quit=%s", num);
	}
	*argc = n;
	return nv;
}

/* A numeric option's value in [min, max]; else `keep`, and *bad = why. */
static unsigned long long opt_number(const char *arg, unsigned long long min, unsigned long long max,
				     unsigned long long keep, const char *why, const char **bad)
{
	unsigned long long v;
	if (parse_uint(arg, min, max, &v) == 0)
		return v;
	*bad = why;
	return keep;
}

int main(int argc, char **argv)
{
	enum { L_NODELAY = 256, L_KEEPALIVE, L_QUIT, L_QUIET };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, L_QUIET },
		{ "verbose", no_argument, NULL, 'v' },
		{ "progress", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "keep-open", no_argument, NULL, 'k' },
		{ "backlog", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "idle-timeout", required_argument, NULL, 'w' },
		{ "quit", required_argument, NULL, L_QUIT },
		{ "shutdown", no_argument, NULL, 'N' },
		{ "listening", no_argument, NULL, 'l' },
		{ "zeros", no_argument, NULL, 'z' },
		{ "delta", no_argument, NULL, 'd' },
		{ "nodelay", no_argument, NULL, L_NODELAY },
		{ "keepalive", no_argument, NULL, L_KEEPALIVE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static char **args; /* the rewritten argv, for the program's life */
	argv = args = rewrite_quit(&argc, argv);
	if (!argv) {
		msg("out of memory");
		return EX_ERROR;
	}
	unsigned used = 0;
	int want_help = 0, want_version = 0;
	const char *bad_value = NULL, *bad_opt = NULL;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":s:qvpjkb:t:w:Nlzd46hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			used |= B(O_SOCKET);
			if (!*optarg)
				bad_value = "--socket needs a path (an empty one was given)";
			else
				opt_socket = optarg;
			break;
		case 'q':
		case L_QUIET: opt_quiet = 1; break;
		case 'v': opt_verbose = 1; used |= B(O_VERBOSE); break;
		case 'p': opt_progress = 1; used |= B(O_PROGRESS); break;
		case 'j': opt_json = 1; used |= B(O_JSON); break;
		case 'k': opt_keep = 1; used |= B(O_KEEP); break;
		case 'N': used |= B(O_SHUTDOWN); break; /* FIN at EOF: what tou always does */
		case 'l': opt_listening = 1; used |= B(O_LISTENING); break;
		case 'z': opt_zeros = 1; used |= B(O_ZEROS); break;
		case 'd': opt_delta = 1; used |= B(O_DELTA); break;
		case '4':
		case '6': opt_family = c - '0'; used |= B(O_FAMILY); break;
		case L_NODELAY: opt_nodelay = 1; used |= B(O_NODELAY); break;
		case L_KEEPALIVE: opt_keepalive = 1; used |= B(O_KEEPALIVE); break;
		case 'b':
			used |= B(O_BACKLOG);
			opt_backlog = (unsigned)opt_number(optarg, 1, 65535, opt_backlog,
							   "--backlog needs a number 1-65535", &bad_value);
			break;
		case 't':
			used |= B(O_TIMEOUT);
			opt_timeout = (unsigned)opt_number(optarg, 1, 86400, opt_timeout,
							   "--timeout needs whole seconds 1-86400", &bad_value);
			break;
		case 'w':
			used |= B(O_IDLE);
			opt_idle = (unsigned)opt_number(optarg, 1, 86400, opt_idle,
							"-w/--idle-timeout needs whole seconds 1-86400", &bad_value);
			break;
		case L_QUIT:
			used |= B(O_QUIT);
			opt_quit = (long)opt_number(optarg, 0, 86400, (unsigned long long)opt_quit,
						    "-q needs whole seconds 0-86400", &bad_value);
			break;
		case 'h': want_help = 1; break;
		case 'V': want_version = 1; break;
		case ':':
			bad_opt = argv[optind - 1];
			bad_value = "option needs a value";
			break;
		default:
			if (!bad_opt)
				bad_opt = optopt ? NULL : argv[optind - 1];
			if (!bad_opt) {
				static char one[3] = "-?";
				one[1] = (char)optopt;
				bad_opt = one;
			}
			break;
		}
	}
	if (want_version) {
		printf("tou %s\n", TOU_VERSION);
		return EX_CLEAN;
	}
	const struct command *cmd = NULL;
	if (optind < argc)
		cmd = find_command(argv[optind]);
	/* netcat habits: "tou -l 7000" (-l is ss's "listening" here) */
	if ((used & B(O_LISTENING)) && (!cmd || cmd->run != cmd_status)) {
		const char *port = NULL;
		for (int i = optind; i < argc && !port; i++)
			if (argv[i][0] >= '0' && argv[i][0] <= '9')
				port = argv[i];
		return usage_error(help_listen, "-l: to listen, say: tou listen %s%s", opt_keep ? "-k " : "",
				   port ? port : "PORT");
	}
	if (bad_opt && bad_value)
		return usage_error(cmd ? cmd->help : help_main, "%s: %s", bad_opt, bad_value);
	if (bad_opt)
		return usage_error(cmd ? cmd->help : help_main, "unknown option '%s'", bad_opt);
	if (optind < argc && !cmd)
		return usage_error(help_main, "unknown command '%s'", argv[optind]);
	if (cmd)
		optind++;
	if (want_help) {
		fputs(cmd ? cmd->help : help_main, stdout);
		return EX_CLEAN;
	}
	if (!cmd)
		return usage_error(help_main, "no command given");
	if (bad_value)
		return usage_error(cmd->help, "%s", bad_value);
	if (used & ~cmd->opts) {
		for (int o = 0; o < O_COUNT; o++)
			if (used & ~cmd->opts & B(o))
				return usage_error(cmd->help, "option %s does not apply to '%s'", opt_names[o],
						   cmd->name);
	}
	int nargs = argc - optind;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return usage_error(cmd->help, "%s: wrong number of arguments", cmd->name);

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return cmd->run(nargs, argv + optind);
}

/*
 * tou.c - the tou command: netcat-like streams over toud, and a view of
 * its connections like ss(8) and of its counters like nstat(8).
 *
 *   tou connect HOST[:UDPPORT] PORT   stdin -> stream -> stdout
 *   tou listen PORT [-k]              accept and pipe like nc -l
 *   tou status [--json] [ID]          connections (LIST / STATUS)
 *   tou stats [--json]                counters (STATS)
 *   tou abort ID                      send RST (ABORT)
 *
 * Exit codes are the EX_* values below, documented in --help and tou(1).
 */
#include "tou.h"
#include "tou_json.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	EX_NODAEMON = 3,  /* daemon not reachable (socket missing, refused, denied) */
	EX_REFUSED = 4,   /* the peer refused the connection (RST to our SYN) */
	EX_RESET = 5,     /* the connection was reset by the peer or aborted */
	EX_TIMEOUT = 6,   /* timed out: no answer, retransmissions gave up, accept timeout */
	EX_UNREACH = 7,   /* host name did not resolve or no route */
	EX_INTERRUPT = 130, /* SIGINT/SIGTERM */
};

/* Buffer per direction: big enough that a pipe or socket is drained in
 * few system calls (we compete on throughput). */
#define PIPE_BUF_SIZE (256u * 1024u)

static const char *opt_socket;
static int opt_quiet, opt_verbose, opt_progress, opt_json, opt_keep;
static int opt_nodelay, opt_keepalive;
static unsigned opt_timeout, opt_backlog;
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
"  status [ID]                   show connections (like ss -ti)\n"
"  stats                         show the daemon's counters (like nstat)\n"
"  abort ID                      reset a connection (sends RST)\n"
"  help [COMMAND]                show help for a command\n"
"\n"
"Options:\n"
"  -s, --socket PATH   the daemon's API socket (default: $TOU_SOCKET, else\n"
"                      " TOU_DEFAULT_SOCKET ")\n"
"  -q, --quiet         print no messages (not even errors; see the exit code)\n"
"  -v, --verbose       print connection details on stderr\n"
"  -h, --help          show this help (tou COMMAND --help: the command's)\n"
"  -V, --version       show the version\n"
"\n"
"Exit status:\n"
"  0  clean end: the stream ended with FIN both ways (or the command succeeded)\n"
"  1  other error (I/O error, daemon error, malformed answer)\n"
"  2  bad usage, or the daemon rejected the request's arguments\n"
"  3  daemon not reachable (not running, wrong socket path, no permission)\n"
"  4  connection refused by the peer\n"
"  5  connection reset by the peer, or aborted\n"
"  6  timed out (no answer, retransmissions gave up, no connection to accept)\n"
"  7  unreachable (name did not resolve, no route, ICMP unreachable)\n"
"  130 interrupted by a signal\n"
"\n"
"See tou(1) for more.\n";

static const char help_connect[] =
"Usage: tou connect [OPTIONS] HOST[:UDPPORT] PORT\n"
"\n"
"Open a stream to TCP port PORT of the toud at HOST (UDP port UDPPORT, default\n"
"9811; IPv6 as [ADDR]:UDPPORT).  Copy standard input to the stream and the\n"
"stream to standard output.  End of input sends FIN while the stream is still\n"
"read; tou exits when both directions have ended, with status 0 only when\n"
"the daemon reports the stream ended cleanly (FIN both ways, all data acked).\n"
"\n"
"Options:\n"
"  --nodelay           disable Nagle's algorithm\n"
"  --keepalive         send TCP keep-alives\n"
"  -t, --timeout S     give up when the stream is not open within S seconds,\n"
"                      or when sent data then stays unacknowledged for S\n"
"                      seconds (the TCP user timeout; exit 6)\n"
"  -p, --progress      show bytes, rate and elapsed time on stderr\n"
"  -s, --socket PATH   the daemon's API socket\n"
"  -q, --quiet / -v, --verbose\n"
"\n"
"Exit status: 0 clean end, 1 other error, 2 bad usage, 3 daemon not\n"
"reachable, 4 refused, 5 reset or aborted, 6 timed out, 7 unreachable,\n"
"130 interrupted.\n"
"\n"
"Example:  tar c dir | tou connect example.org 5000\n";

static const char help_listen[] =
"Usage: tou listen [OPTIONS] PORT\n"
"\n"
"Listen on TCP port PORT of the local toud, accept one stream and pipe it like\n"
"tou connect (stdin to the stream, the stream to stdout).  With -k, accept\n"
"the next stream after each one ends, until interrupted.\n"
"\n"
"Options:\n"
"  -k, --keep-open     accept streams one after another\n"
"  -b, --backlog N     queue up to N connections not yet accepted (default\n"
"                      128; the daemon lowers it to its max_backlog)\n"
"  -t, --timeout S     give up when no stream arrives within S seconds (exit 6)\n"
"  --nodelay           disable Nagle's algorithm on the accepted streams\n"
"  --keepalive         send TCP keep-alives on the accepted streams\n"
"  -p, --progress      show bytes, rate and elapsed time on stderr\n"
"  -s, --socket PATH   the daemon's API socket\n"
"  -q, --quiet / -v, --verbose\n"
"\n"
"Exit status: as for tou connect.  With -k tou goes on after every stream,\n"
"whatever its end, and exits 130 when interrupted, or with the status of an\n"
"accept that failed (6 when -t expired, 3 when the daemon went away).\n"
"\n"
"Example:  tou listen 5000 | tar x\n";

static const char help_status[] =
"Usage: tou status [OPTIONS] [ID]\n"
"\n"
"Show the daemon's connections, or connection ID (live, or how it ended), like\n"
"ss -ti: state, receive and send queues, local and remote address\n"
"(IP:UDPPORT/TCPPORT), then congestion control, rtt/rttvar (ms), rto (ms),\n"
"mss, cwnd, ssthresh (bytes), windows, retransmits, bytes and segments.\n"
"\n"
"Options:\n"
"  -j, --json          print the daemon's JSON document instead\n"
"  -s, --socket PATH   the daemon's API socket\n";

static const char help_stats[] =
"Usage: tou stats [OPTIONS]\n"
"\n"
"Show the daemon's counters (TCP-MIB names and drop counters), one per line\n"
"like nstat.\n"
"\n"
"Options:\n"
"  -j, --json          print the daemon's JSON document instead\n"
"  -s, --socket PATH   the daemon's API socket\n";

static const char help_abort[] =
"Usage: tou abort [OPTIONS] ID\n"
"\n"
"Abort connection ID (see tou status): the daemon sends RST and drops its\n"
"data; the stream's program sees the end, its peer sees a reset.\n"
"\n"
"Options:\n"
"  -s, --socket PATH   the daemon's API socket\n";

static const char help_help[] =
"Usage: tou help [COMMAND]\n"
"\n"
"Show help for COMMAND (connect, listen, status, stats, abort), or the\n"
"overview.\n";

/* -------------------------------------------------------------- options */

enum {
	O_SOCKET = 1 << 0, O_QUIET = 1 << 1, O_VERBOSE = 1 << 2, O_PROGRESS = 1 << 3,
	O_JSON = 1 << 4, O_KEEP = 1 << 5, O_BACKLOG = 1 << 6, O_TIMEOUT = 1 << 7,
	O_NODELAY = 1 << 8, O_KEEPALIVE = 1 << 9,
	O_COMMON = O_SOCKET | O_QUIET | O_VERBOSE,
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

/* Exit status for a stream's end record ("end" in STATUS). */
static int end_status(const struct tou_status *st)
{
	if (strcmp(st->end, TOU_END_FIN) == 0)
		return EX_CLEAN;
	if (strcmp(st->end, TOU_END_RESET) == 0) {
		msg("connection %" PRIu64 ": connection reset by peer", st->id);
		return EX_RESET;
	}
	if (strcmp(st->end, TOU_END_ABORTED) == 0) {
		msg("connection %" PRIu64 ": connection aborted", st->id);
		return EX_RESET;
	}
	if (strcmp(st->end, TOU_END_TIMEOUT) == 0) {
		msg("connection %" PRIu64 ": connection timed out", st->id);
		return EX_TIMEOUT;
	}
	if (strcmp(st->end, TOU_END_REFUSED) == 0) {
		msg("connection %" PRIu64 ": connection refused", st->id);
		return EX_REFUSED;
	}
	if (strcmp(st->end, TOU_END_UNREACHABLE) == 0) {
		msg("connection %" PRIu64 ": destination unreachable", st->id);
		return EX_UNREACH;
	}
	msg("connection %" PRIu64 ": ended (%s)", st->id, st->end);
	return EX_ERROR;
}

/*
 * How did stream `id` end?  Asks STATUS until the daemon reports an end
 * (our last FIN may still wait for its ACK in LAST-ACK or CLOSING),
 * within a bounded time.  TIME-WAIT means both FINs were exchanged and
 * ours acked (RFC 9293 3.6), which is a clean end.
 */
static int wait_end(uint64_t id, double limit_s)
{
	double deadline = now_s() + limit_s;
	unsigned delay = 1;
	for (;;) {
		struct tou_status st;
		int r = tou_status(opt_socket, id, &st, NULL);
		if (r < 0)
			return fail("status", r);
		if (st.end[0])
			return end_status(&st);
		if (strcmp(st.state, "TIME-WAIT") == 0)
			return EX_CLEAN;
		if (got_signal)
			return EX_INTERRUPT;
		if (now_s() >= deadline) {
			msg("connection %" PRIu64 ": did not end cleanly (state %s)", id,
			    st.state[0] ? st.state : "unknown");
			return EX_ERROR;
		}
		sleep_ms(delay);
		if (delay < 100)
			delay *= 2;
	}
}

/* After the daemon closed the stream early: has it ended abnormally?
 * Returns an exit status, or -1 if the stream is live or ended with FIN. */
static int check_abnormal_end(uint64_t id)
{
	struct tou_status st;
	if (tou_status(opt_socket, id, &st, NULL) < 0 || !st.end[0] ||
	    strcmp(st.end, TOU_END_FIN) == 0)
		return -1;
	return end_status(&st);
}

/*
 * Copy stdin -> fd and fd -> stdout until both directions have ended.
 * Returns an exit status.
 */
static int pipe_stream(int fd, uint64_t id)
{
	static char *up, *down;
	if (!up && !(up = malloc(PIPE_BUF_SIZE)))
		return EX_ERROR;
	if (!down && !(down = malloc(PIPE_BUF_SIZE)))
		return EX_ERROR;
	size_t up_off = 0, up_len = 0, down_off = 0, down_len = 0;
	static int in_eof, out_closed; /* stdin/stdout state survives listen -k */
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
	if (out_closed) /* -k: stdout went away with an earlier stream */
		down_done = 1;

	int status = -1;
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
			continue;
		}
		if (sock_eof && down_len == 0 && !down_done) {
			down_done = 1;
			/* Let a pipeline downstream see the end now (not with
			 * listen -k: the next stream writes there too). */
			if (!out_closed && !opt_keep) {
				/* Restore its flags first; /dev/null takes fd 1
				 * so that no later socket lands there. */
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
				out_closed = 1;
			}
			continue;
		}
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
		if (sev) {
			is = np;
			p[np++] = (struct pollfd){ .fd = fd, .events = sev };
		}
		if (down_len > 0) {
			io = np;
			p[np++] = (struct pollfd){ .fd = 1, .events = POLLOUT };
		}
		int n = poll(p, (nfds_t)np, opt_progress ? 1000 : -1);
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
			if (up_len > 0 && (p[is].revents & (POLLOUT | POLLERR | POLLHUP))) {
				ssize_t w = send(fd, up + up_off, up_len, MSG_NOSIGNAL);
				if (w > 0) {
					up_off += (size_t)w;
					up_len -= (size_t)w;
					pg.sent += (uint64_t)w;
				} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
					/* The daemon closed the stream: it ended. */
					int e = errno;
					status = check_abnormal_end(id);
					if (status < 0) {
						status = wait_end(id, 2.0);
						if (status == EX_CLEAN) {
							msg("connection %" PRIu64 ": stream closed with input unsent (%s)",
							    id, strerror(e));
							status = EX_ERROR;
						}
					}
					break;
				}
			}
			if (!sock_eof && down_len == 0 &&
			    (p[is].revents & (POLLIN | POLLERR | POLLHUP))) {
				ssize_t r = read(fd, down, PIPE_BUF_SIZE);
				if (r > 0) {
					down_off = 0;
					down_len = (size_t)r;
					pg.received += (uint64_t)r;
				} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					sock_eof = 1;
					/* The peer's FIN, or the stream's abnormal end. */
					status = check_abnormal_end(id);
					if (status >= 0)
						break;
					if (out_closed)
						down_done = 1;
				}
			}
		}
		if (io >= 0 && p[io].revents) {
			ssize_t w = write(1, down + down_off, down_len);
			if (w > 0) {
				down_off += (size_t)w;
				down_len -= (size_t)w;
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
	if (status >= 0)
		return status;
	/* Both directions ended: ask the daemon how. */
	return wait_end(id, opt_timeout ? opt_timeout + 30.0 : 60.0);
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

static int cmd_connect(int argc, char **argv)
{
	const char *host = argv[0];
	unsigned port = 0;
	if (strpbrk(host, " \t\r\n") || !*host)
		return usage_error(help_connect, "invalid host '%s'", host);
	if (parse_port(argv[1], help_connect, &port))
		return EX_USAGE;
	unsigned flags = (opt_nodelay ? TOU_NODELAY : 0) | (opt_keepalive ? TOU_KEEPALIVE : 0);
	struct tou_conn_info info;
	int fd = tou_connect(opt_socket, host, port, flags, opt_timeout, &info);
	if (fd < 0) {
		char what[300];
		snprintf(what, sizeof(what), "connect %s %u", host, port);
		return fail(what, fd);
	}
	if (opt_verbose)
		msg("connected: id %" PRIu64 " %s -> %s", info.id, info.local, info.remote);
	in_pipe = 1;
	int r = pipe_stream(fd, info.id);
	in_pipe = 0;
	close(fd);
	(void)argc;
	return r;
}

static int cmd_listen(int argc, char **argv)
{
	unsigned port = 0;
	if (parse_port(argv[0], help_listen, &port))
		return EX_USAGE;
	int lfd = tou_listen(opt_socket, port, opt_backlog);
	if (lfd < 0) {
		char what[64];
		snprintf(what, sizeof(what), "listen %u", port);
		return fail(what, lfd);
	}
	if (opt_verbose)
		msg("listening on port %u", port);
	int r;
	do {
		struct tou_conn_info info;
		unsigned flags = (opt_nodelay ? TOU_NODELAY : 0) | (opt_keepalive ? TOU_KEEPALIVE : 0);
		int fd = tou_accept_flags(opt_socket, port, flags, opt_timeout, &info);
		if (fd < 0) {
			char what[64];
			snprintf(what, sizeof(what), "accept %u", port);
			r = fail(what, fd);
			break;
		}
		if (opt_verbose)
			msg("accepted: id %" PRIu64 " %s <- %s", info.id, info.local, info.remote);
		in_pipe = 1;
		r = pipe_stream(fd, info.id);
		in_pipe = 0;
		close(fd);
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
 * TCP internals (times in ms as ss prints them). */
static void print_status(const struct tou_status *s)
{
	printf("%-6" PRIu64 " %-12s %8" PRIu64 " %8" PRIu64 " %-28s %s\n", s->id,
	       s->state[0] ? s->state : "?", s->recv_queue, s->send_queue, s->local, s->remote);
	if (strcmp(s->state, "LISTEN") == 0)
		return; /* a listener: nothing but its port */
	printf("\t");
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

static int cmd_status(int argc, char **argv)
{
	if (argc == 1) {
		unsigned long long id;
		if (parse_uint(argv[0], 0, UINT64_MAX, &id) < 0)
			return usage_error(help_status, "invalid connection id '%s'", argv[0]);
		struct tou_status st;
		char *json = NULL;
		int r = tou_status(opt_socket, id, &st, &json);
		if (r < 0) {
			char what[64];
			snprintf(what, sizeof(what), "status %llu", id);
			return fail(what, r);
		}
		if (opt_json) {
			printf("%s\n", json);
		} else {
			print_status_header();
			print_status(&st);
		}
		free(json);
		return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
	}
	char *json = NULL;
	int r = tou_list(opt_socket, &json);
	if (r < 0)
		return fail("status", r);
	if (opt_json) {
		printf("%s\n", json);
		free(json);
		return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
	}
	size_t len = strlen(json);
	int max = (int)(len / 2 + 2);
	struct tj_tok *toks = malloc((size_t)max * sizeof(*toks));
	if (!toks) {
		free(json);
		return fail("status", -ENOMEM);
	}
	int n = tj_parse(json, len, toks, max);
	if (n < 0 || toks[0].type != TJ_ARRAY) {
		free(toks);
		free(json);
		return fail("status", -EPROTO);
	}
	print_status_header();
	for (int e = tj_first(toks, 0); e >= 0; e = tj_next(toks, 0, e)) {
		struct tou_status st;
		if (toks[e].type != TJ_OBJECT ||
		    tou_status_parse(json + toks[e].start, toks[e].end - toks[e].start, &st) < 0)
			continue;
		print_status(&st);
	}
	free(toks);
	free(json);
	return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
}

/* Print the scalars of a JSON object one per line, like nstat's "name
 * value": nested keys are joined by '.', except that a group's MIB-style
 * keys (capitalized) become one MIB name: tcp.ActiveOpens -> TcpActiveOpens. */
static void print_counters(const char *json, const struct tj_tok *toks, int obj,
			   const char *prefix, int depth)
{
	for (int k = tj_first(toks, obj); k >= 0; k = tj_next(toks, obj, k)) {
		char key[128], name[256];
		if (toks[obj].type == TJ_OBJECT)
			tj_str(json, toks, k, key, sizeof(key));
		else
			snprintf(key, sizeof(key), "%d", k);
		if (*prefix && !strchr(prefix, '.') && key[0] >= 'A' && key[0] <= 'Z')
			/* {"tcp":{"ActiveOpens":..}}: the MIB name TcpActiveOpens */
			snprintf(name, sizeof(name), "%c%s%s",
				 prefix[0] >= 'a' && prefix[0] <= 'z' ? prefix[0] - 'a' + 'A' : prefix[0],
				 prefix + 1, key);
		else
			snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", key);
		int v = toks[obj].type == TJ_OBJECT ? k + 1 : k;
		switch (toks[v].type) {
		case TJ_OBJECT:
			if (depth < 8)
				print_counters(json, toks, v, name, depth + 1);
			break;
		case TJ_ARRAY:
			break; /* not a counter */
		case TJ_STRING: {
			char s[256];
			tj_str(json, toks, v, s, sizeof(s));
			printf("%-36s %20s\n", name, s);
			break;
		}
		default:
			printf("%-36s %20.*s\n", name, (int)(toks[v].end - toks[v].start),
			       json + toks[v].start);
		}
	}
}

static int cmd_stats(int argc, char **argv)
{
	char *json = NULL;
	int r = tou_stats(opt_socket, &json);
	if (r < 0)
		return fail("stats", r);
	if (opt_json) {
		printf("%s\n", json);
	} else {
		size_t len = strlen(json);
		int max = (int)(len / 2 + 2);
		struct tj_tok *toks = malloc((size_t)max * sizeof(*toks));
		if (!toks || tj_parse(json, len, toks, max) < 0) {
			free(toks);
			free(json);
			return fail("stats", toks ? -EPROTO : -ENOMEM);
		}
		print_counters(json, toks, 0, "", 0);
		free(toks);
	}
	free(json);
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
	{ "connect", cmd_connect, help_connect,
	  O_COMMON | O_PROGRESS | O_TIMEOUT | O_NODELAY | O_KEEPALIVE, 2, 2 },
	{ "listen", cmd_listen, help_listen,
	  O_COMMON | O_PROGRESS | O_TIMEOUT | O_KEEP | O_BACKLOG | O_NODELAY | O_KEEPALIVE, 1, 1 },
	{ "status", cmd_status, help_status, O_COMMON | O_JSON, 0, 1 },
	{ "stats", cmd_stats, help_stats, O_COMMON | O_JSON, 0, 0 },
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "progress", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "keep-open", no_argument, NULL, 'k' },
		{ "backlog", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "nodelay", no_argument, NULL, 'N' },
		{ "keepalive", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned used = 0;
	int want_help = 0, want_version = 0;
	const char *bad_value = NULL, *bad_opt = NULL;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":s:qvpjkb:t:hV", longopts, NULL)) != -1) {
		unsigned long long v;
		switch (c) {
		case 's': opt_socket = optarg; used |= O_SOCKET; break;
		case 'q': opt_quiet = 1; break;
		case 'v': opt_verbose = 1; used |= O_VERBOSE; break;
		case 'p': opt_progress = 1; used |= O_PROGRESS; break;
		case 'j': opt_json = 1; used |= O_JSON; break;
		case 'k': opt_keep = 1; used |= O_KEEP; break;
		case 'N': opt_nodelay = 1; used |= O_NODELAY; break;
		case 'K': opt_keepalive = 1; used |= O_KEEPALIVE; break;
		case 'b':
			used |= O_BACKLOG;
			if (parse_uint(optarg, 1, 65535, &v) < 0)
				bad_value = "--backlog needs a number 1-65535";
			else
				opt_backlog = (unsigned)v;
			break;
		case 't':
			used |= O_TIMEOUT;
			if (parse_uint(optarg, 1, 86400, &v) < 0)
				bad_value = "--timeout needs whole seconds 1-86400";
			else
				opt_timeout = (unsigned)v;
			break;
		case 'h': want_help = 1; break;
		case 'V': want_version = 1; break;
		case ':':
			bad_opt = argv[optind - 1];
			bad_value = "option needs a value";
			break;
		default:
			if (!bad_opt)
				bad_opt = argv[optind - 1];
			break;
		}
	}
	if (want_version) {
		printf("tou %s\n", TOU_VERSION);
		return EX_CLEAN;
	}
	const struct command *cmd = NULL;
	if (optind < argc) {
		cmd = find_command(argv[optind]);
		if (!cmd)
			return usage_error(help_main, "unknown command '%s'", argv[optind]);
		optind++;
	}
	if (want_help) {
		fputs(cmd ? cmd->help : help_main, stdout);
		return EX_CLEAN;
	}
	if (!cmd)
		return usage_error(help_main, "no command given");
	if (bad_opt && bad_value)
		return usage_error(cmd->help, "%s: %s", bad_opt, bad_value);
	if (bad_opt)
		return usage_error(cmd->help, "unknown option '%s'", bad_opt);
	if (bad_value)
		return usage_error(cmd->help, "%s", bad_value);
	if (used & ~cmd->opts)
		return usage_error(cmd->help, "an option given does not apply to '%s'", cmd->name);
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

/*
 * tou_pipe.c - a stream's life in tou connect / tou listen: stdin to the
 * stream and the stream to stdout (like netcat), watching the API socket
 * for the stream's end the whole time, with -w/-q/-N and the progress line.
 *
 * Bytes move without passing through this process where the kernel allows
 * it: splice(2) between a pipe and the API socket, sendfile(2) from a
 * regular file, and splice(2) through a pipe of ours into a regular file or
 * /dev/null.  Other stdin/stdout (a terminal, a socket, a device) and a
 * kernel that refuses (EINVAL) take the read(2)/write(2) path.
 */
#include "tou.h"
#include "tou_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

/* Buffer per direction: big enough that a pipe or socket is drained in
 * few system calls (we compete on throughput). */
#define PIPE_BUF_SIZE (256u * 1024u)

/* Most one splice(2)/sendfile(2) call moves: a pipe holds at most
 * /proc/sys/fs/pipe-max-size (1 MiB by default) anyway. */
#define MOVE_CHUNK (1u << 20)

/* Set by the signal handler (tou.c), which only a global can reach. */
volatile sig_atomic_t got_signal;
volatile sig_atomic_t in_pipe;

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
	int r = tou_status(cli.socket, s->id, st, NULL);
	if (r == 0)
		return 0;
	if (r == TOU_ENODAEMON) {
		msg("%s: connection %" PRIu64 ": the daemon went away (%s: %s)", s->what, s->id,
		    tou_socket_path(cli.socket), strerror(errno));
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

/* How one direction moves its bytes. */
enum mover {
	MOVE_COPY,      /* read(2) into our buffer, then write(2) */
	MOVE_SPLICE,    /* splice(2): one end is a pipe (stdin or stdout) */
	MOVE_SENDFILE,  /* sendfile(2): stdin is a regular file */
	MOVE_VIA_PIPE,  /* splice(2) into a pipe of ours, then out of it: stdout
			 * is a regular file or /dev/null */
};

static enum mover stdin_mover(void)
{
	struct stat sb;
	if (fstat(0, &sb) < 0)
		return MOVE_COPY;
	return S_ISFIFO(sb.st_mode) ? MOVE_SPLICE : S_ISREG(sb.st_mode) ? MOVE_SENDFILE : MOVE_COPY;
}

static enum mover stdout_mover(void)
{
	struct stat sb;
	if (fstat(1, &sb) < 0)
		return MOVE_COPY;
	if (S_ISFIFO(sb.st_mode))
		return MOVE_SPLICE;
	if (S_ISREG(sb.st_mode) || (S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 3)))
		return MOVE_VIA_PIPE; /* (1, 3): /dev/null on Linux */
	return MOVE_COPY;
}

/* The pipe of MOVE_VIA_PIPE, made once (it outlives a stream with -k);
 * 0 or -1 if no pipe can be had (the caller copies instead). */
static int mid_pipe[2] = { -1, -1 };

static int get_mid_pipe(void)
{
	if (mid_pipe[0] >= 0)
		return 0;
	if (pipe2(mid_pipe, O_CLOEXEC) < 0)
		return -1;
#ifdef F_SETPIPE_SZ
	(void)fcntl(mid_pipe[1], F_SETPIPE_SZ, (int)MOVE_CHUNK);
#endif
	return 0;
}

/* splice(2)/sendfile(2) errors that mean "not between these two files":
 * the direction falls back to copying, nothing was moved. */
static int move_unsupported(int err)
{
	return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP || err == EBADF;
}

/* stdin -> stream without our buffer: bytes moved, 0 at the end of input,
 * -1 with errno. */
static ssize_t move_up(enum mover m, int fd)
{
	if (m == MOVE_SENDFILE)
		return sendfile(fd, 0, NULL, MOVE_CHUNK);
	return splice(0, NULL, fd, NULL, MOVE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE);
}

/* Empties our pipe (n bytes in it) into stdout, a regular file or
 * /dev/null, which take all without EAGAIN.  0, or -1 with errno; on an
 * error what is left stays in the pipe. */
static int drain_mid(size_t n)
{
	while (n) {
		ssize_t w = splice(mid_pipe[0], NULL, 1, NULL, n, SPLICE_F_MOVE);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		n -= (size_t)w;
	}
	return 0;
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
	/* splice/sendfile state: the stream (up) or stdout (down) was full
	 * at the last move, so we wait for it to take more */
	int up_wait = 0, down_wait = 0;
	enum mover mi = stdin_mover(), mo = stdout_mover();
	if (mo == MOVE_VIA_PIPE && get_mid_pipe() < 0)
		mo = MOVE_COPY;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		msg("fcntl: %s", strerror(errno));
		return EX_ERROR;
	}
	/* The stream's SO_SNDBUF stays the kernel's default (~200 KiB), as
	 * for the API's own clients: the daemon's send ring, not this
	 * socket, holds what is in flight.  A deeper socket (4 MiB was asked
	 * here before) let stdin run megabytes ahead of the daemon and made
	 * the transfer slower, not faster: 15 interleaved rounds of
	 * bench/cli.sh's transfers, `tou connect < file` 0.70 -> 0.90 of the
	 * API's rate, `cat | tou connect` 0.67 -> 0.98 (bench/README.md). */
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
			if (cli.quit >= 0)
				quit_at = now_s() + (double)cli.quit;
			continue;
		}
		if (sock_eof && down_len == 0 && !down_done) {
			down_done = 1;
			if (!out_gone && !cli.keep) { /* (-k: the next stream writes there too) */
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
				if (cli.verbose)
					msg("%s: connection %" PRIu64 ": quitting %ld s after the end of input (-q)",
					    s->what, s->id, cli.quit);
				status = EX_CLEAN;
			}
			quit = 1;
			break;
		}
		if (cli.idle && t - last_io >= cli.idle) {
			msg("%s: connection %" PRIu64 ": idle for %u s (-w)", s->what, s->id, cli.idle);
			status = EX_TIMEOUT;
			quit = 1;
			break;
		}
		double wait = -1;
		if (cli.progress)
			wait = 1.0;
		if (cli.idle && (wait < 0 || last_io + cli.idle - t < wait))
			wait = last_io + cli.idle - t;
		if (quit_at >= 0 && (wait < 0 || quit_at - t < wait))
			wait = quit_at - t;

		struct pollfd p[3];
		int np = 0, ii = -1, is = -1, io = -1;
		if (!in_eof && up_len == 0 && !up_wait) {
			ii = np;
			p[np++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		}
		short sev = 0;
		if (up_len > 0 || up_wait)
			sev |= POLLOUT;
		if (!sock_eof && down_len == 0 && !down_wait)
			sev |= POLLIN;
		/* After the peer's FIN, while our input is still open, the
		 * stream is watched for its end: the daemon closes the API
		 * connection (POLLHUP) when it is reset, times out or the daemon
		 * stops. */
		if (sev || (sock_eof && !up_done)) {
			is = np;
			p[np++] = (struct pollfd){ .fd = fd, .events = sev };
		}
		if (down_len > 0 || down_wait) {
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
		if (cli.progress)
			progress_show(&pg, 0);
		int got_up = 0, got_down = 0; /* read this turn, not yet sent on */
		if (ii >= 0 && p[ii].revents && mi != MOVE_COPY) {
			ssize_t r = move_up(mi, fd);
			if (r > 0) {
				pg.sent += (uint64_t)r;
				last_io = now_s();
			} else if (r == 0) {
				in_eof = 1;
			} else if (errno == EAGAIN) {
				up_wait = 1; /* the stream is full (stdin had data) */
			} else if (move_unsupported(errno)) {
				mi = MOVE_COPY; /* and read(2) on the next turn */
			} else if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
				status = closed_by_daemon(s, 1);
				break;
			} else if (errno != EINTR) {
				msg("reading stdin: %s", strerror(errno));
				in_eof = 1; /* treat as the end of input */
			}
		} else if (ii >= 0 && p[ii].revents) {
			ssize_t r = read(0, up, PIPE_BUF_SIZE);
			if (r > 0) {
				up_off = 0;
				up_len = (size_t)r;
				got_up = 1;
			} else if (r == 0) {
				in_eof = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				msg("reading stdin: %s", strerror(errno));
				in_eof = 1; /* treat as the end of input */
			}
		}
		/* Bytes just read are sent (written) at once, without a poll for
		 * room first: the stream and stdout have room almost always, and
		 * a 1-byte request costs two system calls in tou, not four. */
		if (is >= 0 && (p[is].revents || got_up)) {
			short re = p[is].revents;
			if (up_wait && (re & (POLLOUT | POLLERR | POLLHUP)))
				up_wait = 0; /* room again: stdin is watched next turn */
			if (up_len > 0 && (got_up || (re & (POLLOUT | POLLERR | POLLHUP)))) {
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
			if (!sock_eof && down_len == 0 && !down_wait && mo != MOVE_COPY && !out_gone &&
			    (re & (POLLIN | POLLERR | POLLHUP))) {
				ssize_t r = splice(fd, NULL, mo == MOVE_SPLICE ? 1 : mid_pipe[1], NULL, MOVE_CHUNK,
						   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (r > 0) {
					pg.received += (uint64_t)r;
					last_io = now_s();
					if (mo == MOVE_VIA_PIPE && drain_mid((size_t)r) < 0) {
						if (!move_unsupported(errno)) {
							msg("writing stdout: %s", strerror(errno));
							status = EX_ERROR;
							break;
						}
						/* stdout takes no splice: what is in our
						 * pipe goes out by write(2), and so on */
						ssize_t got = read(mid_pipe[0], down, PIPE_BUF_SIZE);
						down_off = 0;
						down_len = got > 0 ? (size_t)got : 0;
						mo = MOVE_COPY;
					}
				} else if (r < 0 && errno == EAGAIN) {
					down_wait = mo == MOVE_SPLICE; /* stdout is full */
				} else if (r < 0 && move_unsupported(errno)) {
					mo = MOVE_COPY; /* and read(2) on the next turn */
				} else if (r < 0 && errno == EPIPE) {
					if (cli.verbose)
						msg("%s: connection %" PRIu64 ": stdout closed; discarding what the stream sends",
						    s->what, s->id);
					stdout_to_null();
					out_gone = 1;
				} else if (r == 0 || errno != EINTR) {
					sock_eof = 1;
					/* The peer's FIN, or the stream's abnormal end. */
					status = check_abnormal_end(s);
					if (status >= 0)
						break;
				}
			} else if (!sock_eof && down_len == 0 && !down_wait && (re & (POLLIN | POLLERR | POLLHUP))) {
				ssize_t r = read(fd, down, PIPE_BUF_SIZE);
				if (r > 0) {
					pg.received += (uint64_t)r;
					last_io = now_s();
					if (!out_gone) { /* else dropped: nobody reads stdout */
						down_off = 0;
						down_len = (size_t)r;
						got_down = 1;
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
		if (io >= 0 && p[io].revents && down_wait) {
			down_wait = 0; /* room again (or its reader left: the next splice says EPIPE) */
		} else if (down_len > 0 && (got_down || (io >= 0 && p[io].revents))) {
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
				if (cli.verbose)
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
	if (cli.progress)
		progress_show(&pg, 1);
	if (status >= 0 || quit)
		return status;
	/* Both directions ended: ask the daemon how. */
	return wait_end(s, cli.timeout ? cli.timeout + 30.0 : 60.0);
}

int run_stream(int fd, const struct tou_conn_info *info, const char *what)
{
	struct stream s = { fd, info->id, what };
	in_pipe = 1;
	int r = pipe_stream(&s);
	in_pipe = 0;
	close(fd);
	return r;
}

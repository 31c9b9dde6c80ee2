/*
 * bench_tou.c - tou between two running toud daemons, driven through their
 * Unix-socket APIs (client/tou_proto.h), without the CLI in the path.
 *
 *   bench_tou bulk -a SOCK_A -b SOCK_B -u HOST:UDPPORT_OF_B [-p PORT]
 *                  [-n BYTES] [-w WRITE] [-P PID,PID...]
 *       LISTEN + ACCEPT on daemon B, CONNECT from daemon A to B's UDP
 *       address, then one process writes BYTES (default 256M) in WRITE-byte
 *       writes (64K) into A's stream and closes it; this process reads B's
 *       stream to EOF.  Time runs from both streams being open to EOF.
 *       Prints MB/s and, for each -P pid (the daemons), CPU seconds used
 *       during the transfer, and CPU seconds per GB (daemons only).
 *       -S STREAMS: that many streams at once (BYTES split evenly), one
 *       writer process each, this process reading all of them (poll):
 *       the aggregate over several connections (and a daemon's shards).
 *   bench_tou bulk ... -t SECONDS
 *       The same stream, but the writer writes without end and this process
 *       counts what arrives during SECONDS from the streams' opening; then
 *       both streams are closed (goodput over a fixed time: bench/grid.sh).
 *   bench_tou rr ... [-s SIZE] [-n COUNT] [-W]
 *       Ping-pong of SIZE-byte messages (default 1) over a "nodelay"
 *       stream, COUNT (2000) round trips: RTT p50/p99/mean.  -W: both
 *       apps wait for each answer in poll(2) (POLLIN) before read(2): a
 *       read(2) blocked on a Unix stream socket is also woken (for
 *       nothing) when the daemon takes the app's own bytes from it
 *       (the kernel's unix_write_space wakes every waiter; poll(2) waiters
 *       only for the events they asked for).
 *
 * Output: one line of key=value words (bench/run.sh parses it).
 */
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "bench_util.h"
#include "../client/tou_proto.h"

static const char *sock_a, *sock_b, *udp_b;
static unsigned port = 7000;
static pid_t pids[8];
static int npids;
static int poll_wait; /* -W */

/* bu_read_exact, after poll(2) for POLLIN with -W */
static int rr_read(int fd, void *buf, size_t len)
{
	if (poll_wait) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		while (poll(&p, 1, -1) < 0)
			if (errno != EINTR)
				return -1;
	}
	return bu_read_exact(fd, buf, len);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "bench_tou: socket path too long\n");
		exit(2);
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		fprintf(stderr, "bench_tou: connect %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

/* Reads one answer line byte by byte (so no stream byte is consumed). */
static void read_line(int fd, char *buf, size_t cap, const char *what)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	if (strncmp(buf, "OK", 2) != 0) {
		fprintf(stderr, "bench_tou: %s: answer '%s'\n", what, buf);
		exit(2);
	}
}

static void request(int fd, const char *line)
{
	if (bu_write_all(fd, line, strlen(line)) < 0)
		bu_die("write request");
}

/* Sets up a stream; returns the CONNECT side (A) and the ACCEPT side (B). */
static void open_stream(int *lfd, int *cfd, int *sfd, char *cid, size_t cidlen)
{
	char line[TOU_PROTO_MAX_LINE], ans[TOU_PROTO_MAX_LINE];
	*lfd = unix_connect(sock_b);
	snprintf(line, sizeof line, "LISTEN %u\n", port);
	request(*lfd, line);
	read_line(*lfd, ans, sizeof ans, "LISTEN");
	*sfd = unix_connect(sock_b);
	snprintf(line, sizeof line, "ACCEPT %u\n", port);
	request(*sfd, line);
	*cfd = unix_connect(sock_a);
	snprintf(line, sizeof line, "CONNECT %s %u nodelay\n", udp_b, port);
	request(*cfd, line);
	read_line(*cfd, ans, sizeof ans, "CONNECT");
	/* "OK <id> <local> <remote>" */
	if (sscanf(ans, "OK %31s", cid) != 1)
		cid[0] = 0;
	(void)cidlen;
	read_line(*sfd, ans, sizeof ans, "ACCEPT");
}

static void print_status(const char *id)
{
	if (!id[0])
		return;
	char line[128], ans[8192];
	int fd = unix_connect(sock_a);
	snprintf(line, sizeof line, "STATUS %s\n", id);
	request(fd, line);
	size_t got = 0;
	for (;;) { /* the daemon closes after its one-line answer */
		ssize_t n = read(fd, ans + got, sizeof ans - 1 - got);
		if (n <= 0 || (got += (size_t)n) >= sizeof ans - 1)
			break;
	}
	ans[got] = 0;
	if (got)
		fprintf(stderr, "bench_tou: sender STATUS: %s", ans);
	close(fd);
}

/* What a writer sends: wsize bytes of 'x' (room for 64K reads too). */
static char *write_buf(size_t wsize)
{
	char *buf = malloc(wsize > 65536 ? wsize : 65536);
	if (!buf)
		bu_die("malloc");
	memset(buf, 'x', wsize);
	return buf;
}

/* The CPU seconds each -P daemon has used so far. */
static void daemons_cpu(double *out)
{
	for (int i = 0; i < npids; i++)
		out[i] = bu_cpu_pid(pids[i]);
}

static int bulk(uint64_t total, size_t wsize)
{
	int lfd, cfd, sfd;
	char cid[32];
	open_stream(&lfd, &cfd, &sfd, cid, sizeof cid);
	char *buf = write_buf(wsize);
	double dcpu0[8];
	daemons_cpu(dcpu0);
	double cpu0 = bu_cpu_self();
	uint64_t t0 = bu_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		bu_die("fork");
	if (pid == 0) {
		close(sfd);
		uint64_t left = total;
		while (left) {
			size_t n = left < wsize ? (size_t)left : wsize;
			if (bu_write_all(cfd, buf, n) < 0)
				_exit(2);
			left -= n;
		}
		shutdown(cfd, SHUT_WR);
		/* keep the stream open until the peer side is done: closing it
		 * fully could be read as "app went away" */
		while (read(cfd, buf, 65536) > 0)
			;
		_exit(0);
	}
	uint64_t got = 0;
	for (;;) {
		ssize_t n = read(sfd, buf, 65536);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			bu_die("read");
		}
		if (n == 0)
			break;
		got += (uint64_t)n;
	}
	uint64_t t1 = bu_now_ns();
	double secs = (double)(t1 - t0) / 1e9;
	double dcpu = 0;
	char per[256] = "";
	size_t pl = 0;
	for (int i = 0; i < npids; i++) {
		double c = bu_cpu_pid(pids[i]) - dcpu0[i];
		dcpu += c;
		pl += (size_t)snprintf(per + pl, pl < sizeof per ? sizeof per - pl : 0,
				       " cpu_s_pid%d=%.2f", (int)pids[i], c);
	}
	close(sfd); /* our FIN: ends the sender's read loop */
	int st;
	waitpid(pid, &st, 0);
	double cpu = bu_cpu_self() - cpu0;
	printf("tou_bulk bytes=%llu seconds=%.3f mb_s=%.1f daemon_cpu_s=%.2f "
	       "daemon_cpu_s_per_gb=%.2f app_cpu_s=%.2f%s%s\n",
	       (unsigned long long)got, secs, (double)got / secs / 1e6, dcpu,
	       dcpu / ((double)got / 1e9), cpu, per, got == total ? "" : " SHORT");
	print_status(cid);
	close(cfd);
	close(lfd);
	free(buf);
	return got == total ? 0 : 1;
}

/* -S: n streams at once, total bytes over all of them. */
static int bulk_parallel(uint64_t total, size_t wsize, unsigned n)
{
	char line[TOU_PROTO_MAX_LINE], ans[TOU_PROTO_MAX_LINE];
	int lfd = unix_connect(sock_b);
	snprintf(line, sizeof line, "LISTEN %u\n", port);
	request(lfd, line);
	read_line(lfd, ans, sizeof ans, "LISTEN");
	int sfd[64], cfd[64];
	for (unsigned i = 0; i < n; i++) {
		sfd[i] = unix_connect(sock_b);
		snprintf(line, sizeof line, "ACCEPT %u\n", port);
		request(sfd[i], line);
		cfd[i] = unix_connect(sock_a);
		snprintf(line, sizeof line, "CONNECT %s %u\n", udp_b, port);
		request(cfd[i], line);
		read_line(cfd[i], ans, sizeof ans, "CONNECT");
	}
	for (unsigned i = 0; i < n; i++)
		read_line(sfd[i], ans, sizeof ans, "ACCEPT");
	uint64_t each = total / n;
	char *buf = write_buf(wsize);
	double dcpu0[8];
	daemons_cpu(dcpu0);
	uint64_t t0 = bu_now_ns();
	pid_t kids[64];
	for (unsigned i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			bu_die("fork");
		if (kids[i] == 0) {
			for (unsigned k = 0; k < n; k++)
				close(sfd[k]);
			uint64_t left = each;
			while (left) {
				size_t w = left < wsize ? (size_t)left : wsize;
				if (bu_write_all(cfd[i], buf, w) < 0)
					_exit(2);
				left -= w;
			}
			shutdown(cfd[i], SHUT_WR);
			while (read(cfd[i], buf, 65536) > 0)
				;
			_exit(0);
		}
	}
	struct pollfd pf[64];
	for (unsigned i = 0; i < n; i++)
		pf[i] = (struct pollfd){ .fd = sfd[i], .events = POLLIN };
	uint64_t got = 0;
	unsigned open_n = n;
	while (open_n) {
		if (poll(pf, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			bu_die("poll");
		}
		for (unsigned i = 0; i < n; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			ssize_t r = read(pf[i].fd, buf, 65536);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				pf[i].fd = -1;
				open_n--;
				continue;
			}
			got += (uint64_t)r;
		}
	}
	uint64_t t1 = bu_now_ns();
	double secs = (double)(t1 - t0) / 1e9, dcpu = 0;
	for (int i = 0; i < npids; i++)
		dcpu += bu_cpu_pid(pids[i]) - dcpu0[i];
	for (unsigned i = 0; i < n; i++)
		close(sfd[i]);
	for (unsigned i = 0; i < n; i++) {
		waitpid(kids[i], NULL, 0);
		close(cfd[i]);
	}
	close(lfd);
	free(buf);
	printf("tou_bulk streams=%u bytes=%llu seconds=%.3f mb_s=%.1f daemon_cpu_s=%.2f daemon_cpu_s_per_gb=%.2f%s\n", n,
	       (unsigned long long)got, secs, (double)got / secs / 1e6, dcpu, dcpu / ((double)got / 1e9),
	       got == each * n ? "" : " SHORT");
	return got == each * n ? 0 : 1;
}

/* -t: what arrives on B's stream during SECONDS while a child writes to
 * A's without end (bu_timed_transfer); then both streams are closed. */
static int timed(double seconds, size_t wsize)
{
	int lfd, cfd, sfd;
	char cid[32];
	double secs;
	open_stream(&lfd, &cfd, &sfd, cid, sizeof cid);
	uint64_t got = bu_timed_transfer(cfd, sfd, wsize, seconds, &secs);
	close(sfd);
	close(cfd);
	close(lfd);
	printf("tou_timed bytes=%llu seconds=%.3f mb_s=%.3f\n", (unsigned long long)got, secs,
	       (double)got / secs / 1e6);
	return got > 0 ? 0 : 1;
}

static int rr(size_t size, unsigned count)
{
	int lfd, cfd, sfd;
	char cid[32];
	open_stream(&lfd, &cfd, &sfd, cid, sizeof cid);
	char *buf = malloc(size);
	if (!buf)
		bu_die("malloc");
	memset(buf, 'p', size);
	pid_t pid = fork();
	if (pid < 0)
		bu_die("fork");
	if (pid == 0) {
		close(cfd);
		while (rr_read(sfd, buf, size) == 1)
			if (bu_write_all(sfd, buf, size) < 0)
				_exit(2);
		_exit(0);
	}
	uint64_t *rt = calloc(count, sizeof *rt);
	unsigned i;
	for (i = 0; i < count; i++) {
		uint64_t t = bu_now_ns();
		if (bu_write_all(cfd, buf, size) < 0 || rr_read(cfd, buf, size) != 1)
			break;
		rt[i] = bu_now_ns() - t;
	}
	bu_print_rtts(poll_wait ? "tou_rr_poll" : "tou_rr", rt, i, size);
	shutdown(cfd, SHUT_WR);
	close(sfd);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(cfd);
	close(lfd);
	free(rt);
	free(buf);
	return i == count ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_tou bulk -a SOCK_A -b SOCK_B -u HOST:UDPPORT_B [-p PORT] [-n BYTES | -t SECONDS] [-w WRITE] [-P PID,...] [-S STREAMS]\n"
		"       bench_tou rr   -a SOCK_A -b SOCK_B -u HOST:UDPPORT_B [-p PORT] [-s SIZE] [-n COUNT] [-W]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1];
	int is_rr = strcmp(mode, "rr") == 0;
	uint64_t n = is_rr ? 2000 : (256ull << 20);
	size_t size = 1, wsize = 65536;
	unsigned streams = 1;
	double seconds = 0;
	int c;
	optind = 2;
	while ((c = getopt(argc, argv, "a:b:u:p:n:s:w:P:S:t:W")) != -1) {
		switch (c) {
		case 'a': sock_a = optarg; break;
		case 'b': sock_b = optarg; break;
		case 'u': udp_b = optarg; break;
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'n': n = bu_parse_size(optarg); break;
		case 's': size = (size_t)bu_parse_size(optarg); break;
		case 'w': wsize = (size_t)bu_parse_size(optarg); break;
		case 'S': streams = (unsigned)atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'W': poll_wait = 1; break;
		case 'P':
			for (char *t = strtok(optarg, ","); t && npids < 8; t = strtok(NULL, ","))
				pids[npids++] = (pid_t)atoi(t);
			break;
		default: usage();
		}
	}
	if (!sock_a || !sock_b || !udp_b || n == 0 || size == 0 || wsize == 0 || port == 0 ||
	    port > 65535 || streams < 1 || streams > 64)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "bulk") == 0)
		return seconds > 0 ? timed(seconds, wsize)
		       : streams > 1 ? bulk_parallel(n, wsize, streams) : bulk(n, wsize);
	if (is_rr)
		return rr(size, (unsigned)n);
	usage();
	return 2;
}

/*
 * bench_udp.c - raw UDP on loopback: the ceiling for tou.
 *
 *   bench_udp bulk [-s SIZE] [-t SECONDS] [-b BATCH]
 *       A sender process blasts SIZE-byte datagrams (default 1472: the UDP
 *       payload of a full tou segment, 20-byte TCP header + 12-byte
 *       timestamp option + 1440 data bytes) with sendmmsg() in batches of
 *       BATCH (64) for SECONDS (3); the receiver drains with recvmmsg().
 *       Prints the rate the RECEIVER got (MB/s of UDP payload and of the
 *       1440 data bytes a tou segment would carry), datagrams/s, the loss
 *       in the socket buffers, and CPU seconds per GB received.
 *       -g SEGS: UDP GSO (UDP_SEGMENT): each sendmmsg entry carries SEGS
 *       datagrams (max 64 KiB in all) that the kernel splits, and the
 *       receiver turns UDP_GRO on: the ceiling for a daemon that uses both.
 *   bench_udp rr [-s SIZE] [-n COUNT]
 *       Ping-pong of SIZE-byte datagrams (default 1), COUNT (10000) round
 *       trips: RTT p50/p99/mean in microseconds.
 *   bench_udp relay [-s SIZE] [-n COUNT] [-W] [-S]
 *       The same ping-pong between two apps through two relay processes,
 *       the shape of a tou round trip with no protocol work: app A -
 *       Unix stream socket - relay A - UDP - relay B - Unix stream
 *       socket - app B, and back.  Each relay waits in epoll_wait(2) and
 *       moves what one socket has to the other (read + send, recv +
 *       write: the calls toud makes per message); the apps block in
 *       read(2), or with -W wait in poll(2) first.  Three processes per
 *       direction: the floor of tou's architecture on this machine.  -S:
 *       the relays run SCHED_BATCH (sched(7): a woken relay does not
 *       preempt the app that woke it).
 *
 * Output: one line of key=value words (bench/run.sh parses it).
 */
#include <netinet/in.h>
#include <sched.h>
#include <netinet/udp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "bench_util.h"

#define TOU_SEG_OVERHEAD 32 /* 20-byte header + 12-byte timestamps option */

static int udp_socket(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		bu_die("socket");
	int sz = 8 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
		bu_die("bind");
	socklen_t len = sizeof sin;
	getsockname(fd, (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void connect_port(int fd, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				   .sin_port = htons(port) };
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
		bu_die("connect");
}

#define MAXB 256
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static unsigned gso_segs; /* 0 = no GSO/GRO */

static int bulk(size_t size, double seconds, unsigned batch)
{
	uint16_t rport, sport;
	int rfd = udp_socket(&rport), sfd = udp_socket(&sport);
	connect_port(sfd, rport);
	connect_port(rfd, sport);
	int sync[2];
	if (pipe(sync) < 0)
		bu_die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		bu_die("fork");
	if (pid == 0) {
		/* sender */
		static char bufs[MAXB][65536];
		static union { char buf[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr align; } cm[MAXB];
		struct mmsghdr m[MAXB];
		struct iovec iov[MAXB];
		unsigned per = gso_segs ? gso_segs : 1; /* datagrams per entry */
		for (unsigned i = 0; i < batch; i++) {
			memset(bufs[i], 'x', size * per);
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = size * per;
			memset(&m[i], 0, sizeof m[i]);
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			if (gso_segs) {
				m[i].msg_hdr.msg_control = cm[i].buf;
				m[i].msg_hdr.msg_controllen = sizeof cm[i].buf;
				struct cmsghdr *c = CMSG_FIRSTHDR(&m[i].msg_hdr);
				c->cmsg_level = SOL_UDP;
				c->cmsg_type = UDP_SEGMENT;
				c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
				uint16_t gs = (uint16_t)size;
				memcpy(CMSG_DATA(c), &gs, sizeof gs);
			}
		}
		char go;
		if (read(sync[0], &go, 1) != 1)
			_exit(2);
		uint64_t sent = 0, end = bu_now_ns() + (uint64_t)(seconds * 1e9);
		while (bu_now_ns() < end) {
			int n = sendmmsg(sfd, m, batch, 0);
			if (n < 0) {
				if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
					continue;
				_exit(2);
			}
			sent += (uint64_t)n * per;
		}
		/* stop marker: one-byte datagrams, several in case some drop */
		char stop = 0;
		for (int i = 0; i < 50; i++) {
			(void)send(sfd, &stop, 1, 0);
			usleep(1000);
		}
		/* report the count sent through the pipe's other direction: exit code
		 * is too small, use stdout of the child (line before parent's) */
		fprintf(stderr, "bench_udp: sender sent %llu datagrams\n", (unsigned long long)sent);
		FILE *f = fdopen(sync[1], "w");
		if (f) {
			fprintf(f, "%llu\n", (unsigned long long)sent);
			fclose(f);
		}
		_exit(0);
	}
	static char rbufs[MAXB][65536];
	struct mmsghdr m[MAXB];
	struct iovec iov[MAXB];
	for (unsigned i = 0; i < MAXB; i++) {
		iov[i].iov_base = rbufs[i];
		iov[i].iov_len = sizeof rbufs[i];
		memset(&m[i], 0, sizeof m[i]);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	if (gso_segs) {
		int one = 1;
		if (setsockopt(rfd, SOL_UDP, UDP_GRO, &one, sizeof one) < 0)
			bu_die("UDP_GRO");
	}
	double cpu0 = bu_cpu_self();
	if (write(sync[1], "g", 1) != 1)
		bu_die("write");
	close(sync[1]);
	uint64_t got = 0, bytes = 0, t0 = 0, t1 = 0;
	int done = 0;
	while (!done) {
		int n = recvmmsg(rfd, m, MAXB, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			bu_die("recvmmsg");
		}
		uint64_t now = bu_now_ns();
		for (int i = 0; i < n; i++) {
			/* the 1-byte stop marker, alone or (GRO) at the end of a train */
			size_t len = m[i].msg_len, tail = len % size;
			if (tail == 1)
				done = 1;
			if (!t0)
				t0 = now;
			got += len / size;
			bytes += len - tail;
			if (done)
				break;
		}
		t1 = now;
	}
	unsigned long long sent = 0;
	FILE *f = fdopen(sync[0], "r");
	if (!f || fscanf(f, "%llu", &sent) != 1)
		sent = 0;
	int st;
	waitpid(pid, &st, 0);
	double cpu = bu_cpu_self() - cpu0;
	double secs = (double)(t1 - t0) / 1e9;
	double data = (double)got * (double)(size > TOU_SEG_OVERHEAD ? size - TOU_SEG_OVERHEAD : 0);
	printf("udp_bulk size=%zu gso=%u batch=%u datagrams=%llu sent=%llu loss_pct=%.2f seconds=%.3f "
	       "pps=%.0f mb_s=%.1f tou_data_mb_s=%.1f cpu_s=%.2f cpu_s_per_gb=%.2f\n",
	       size, gso_segs, batch, (unsigned long long)got, sent,
	       sent ? 100.0 * (double)(sent - (got < sent ? got : sent)) / (double)sent : 0.0, secs,
	       (double)got / secs, (double)bytes / secs / 1e6, data / secs / 1e6, cpu,
	       bytes ? cpu / ((double)bytes / 1e9) : 0.0);
	return 0;
}

static int rr(size_t size, unsigned count)
{
	uint16_t aport, bport;
	int afd = udp_socket(&aport), bfd = udp_socket(&bport);
	connect_port(afd, bport);
	connect_port(bfd, aport);
	pid_t pid = fork();
	if (pid < 0)
		bu_die("fork");
	static char buf[65536];
	if (pid == 0) {
		for (;;) {
			ssize_t n = recv(bfd, buf, sizeof buf, 0);
			if (n <= 0)
				_exit(0);
			if (n == 1 && buf[0] == 'Q' && size != 1)
				_exit(0);
			if (send(bfd, buf, (size_t)n, 0) < 0)
				_exit(2);
		}
	}
	uint64_t *rt = calloc(count, sizeof *rt);
	memset(buf, 'p', size);
	size_t ok = 0;
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(afd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (unsigned i = 0; i < count; i++) {
		uint64_t t = bu_now_ns();
		if (send(afd, buf, size, 0) < 0)
			bu_die("send");
		ssize_t n = recv(afd, buf, sizeof buf, 0);
		if (n < 0)
			continue; /* lost on loopback: not counted */
		rt[ok++] = bu_now_ns() - t;
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	bu_print_rtts("udp_rr", rt, ok, size);
	free(rt);
	return 0;
}

/* One relay: bytes from the Unix stream socket go out as one datagram,
 * each datagram goes into the stream. */
static void relay_run(int ufd, int sfd, int batch_policy)
{
	struct sched_param sp = { 0 };
	if (batch_policy && sched_setscheduler(0, SCHED_BATCH, &sp) != 0)
		bu_die("sched_setscheduler(SCHED_BATCH)");
	int ep = epoll_create1(0);
	if (ep < 0)
		bu_die("epoll_create1");
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = ufd };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev) < 0)
		bu_die("epoll_ctl");
	ev.data.fd = sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		bu_die("epoll_ctl");
	static char buf[65536];
	for (;;) {
		struct epoll_event got[2];
		int n = epoll_wait(ep, got, 2, -1);
		if (n < 0 && errno != EINTR)
			_exit(2);
		for (int i = 0; i < n; i++) {
			int from = got[i].data.fd, to = from == ufd ? sfd : ufd;
			ssize_t r = from == ufd ? recv(ufd, buf, sizeof buf, MSG_DONTWAIT) : read(sfd, buf, sizeof buf);
			if (r == 0)
				_exit(0);
			if (r < 0)
				continue;
			if ((to == ufd ? send(ufd, buf, (size_t)r, 0) : write(sfd, buf, (size_t)r)) < 0)
				_exit(2);
		}
	}
}

static int relay(size_t size, unsigned count, int poll_first, int batch_policy)
{
	uint16_t aport, bport;
	int afd = udp_socket(&aport), bfd = udp_socket(&bport);
	connect_port(afd, bport);
	connect_port(bfd, aport);
	int sa[2], sb[2]; /* app A - relay A, app B - relay B */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sa) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sb) < 0)
		bu_die("socketpair");
	static char buf[65536];
	pid_t pids[3];
	for (int k = 0; k < 3; k++) {
		pids[k] = fork();
		if (pids[k] < 0)
			bu_die("fork");
		if (pids[k] > 0)
			continue;
		if (k == 0)
			relay_run(afd, sa[1], batch_policy);
		if (k == 1)
			relay_run(bfd, sb[1], batch_policy);
		for (;;) { /* app B: answers each message */
			ssize_t n = read(sb[0], buf, sizeof buf);
			if (n <= 0 || write(sb[0], buf, (size_t)n) < 0)
				_exit(0);
		}
	}
	uint64_t *rt = calloc(count, sizeof *rt);
	memset(buf, 'p', size);
	size_t ok = 0;
	struct pollfd pfd = { .fd = sa[0], .events = POLLIN };
	for (unsigned i = 0; i < count; i++) {
		uint64_t t = bu_now_ns();
		if (write(sa[0], buf, size) < 0)
			bu_die("write");
		size_t got = 0;
		while (got < size) {
			if (poll_first && poll(&pfd, 1, -1) < 0)
				bu_die("poll");
			ssize_t n = read(sa[0], buf + got, sizeof buf - got);
			if (n <= 0)
				bu_die("read");
			got += (size_t)n;
		}
		rt[ok++] = bu_now_ns() - t;
	}
	for (int k = 0; k < 3; k++)
		kill(pids[k], SIGTERM);
	for (int k = 0; k < 3; k++)
		waitpid(pids[k], NULL, 0);
	bu_print_rtts(batch_policy ? poll_first ? "udp_relay_batch_rr_poll" : "udp_relay_batch_rr"
				   : poll_first ? "udp_relay_rr_poll" : "udp_relay_rr", rt, ok, size);
	free(rt);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_udp bulk [-s SIZE] [-t SECONDS] [-b BATCH] [-g GSO_SEGS]\n"
			"       bench_udp rr [-s SIZE] [-n COUNT]\n"
			"       bench_udp relay [-s SIZE] [-n COUNT] [-W] [-S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1];
	int is_rr = strcmp(mode, "rr") == 0 || strcmp(mode, "relay") == 0, poll_first = 0, batch_policy = 0;
	size_t size = is_rr ? 1 : 1472;
	double seconds = 3;
	unsigned batch = 64, count = 10000;
	int c;
	optind = 2;
	while ((c = getopt(argc, argv, "s:t:b:n:g:WS")) != -1) {
		switch (c) {
		case 's': size = (size_t)bu_parse_size(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'b': batch = (unsigned)atoi(optarg); break;
		case 'n': count = (unsigned)atoi(optarg); break;
		case 'g': gso_segs = (unsigned)atoi(optarg); break;
		case 'W': poll_first = 1; break;
		case 'S': batch_policy = 1; break;
		default: usage();
		}
	}
	if (size < 2 || size > 65507) {
		if (!(is_rr && size == 1))
			usage();
	}
	if (batch == 0 || batch > MAXB || seconds <= 0 || count == 0 || gso_segs > 64 ||
	    (gso_segs && (size * gso_segs > 65507 || size < 2)))
		usage();
	if (strcmp(mode, "bulk") == 0)
		return bulk(size, seconds, batch);
	if (strcmp(mode, "rr") == 0)
		return rr(size, count);
	if (strcmp(mode, "relay") == 0)
		return relay(size, count, poll_first, batch_policy);
	usage();
	return 2;
}

/*
 * bench_tcp.c - the kernel's TCP on loopback: the baseline tou is compared to.
 *
 *   bench_tcp bulk [-n BYTES] [-w WRITE]
 *       A sender process writes BYTES (default 1G) in WRITE-byte writes
 *       (64K) to a loopback TCP connection; the receiver reads to EOF.
 *       Prints MB/s (10^6 bytes/s) and CPU seconds (both processes, user +
 *       system) per GB.
 *   bench_tcp rr [-s SIZE] [-n COUNT]
 *       Ping-pong of SIZE-byte messages (default 1) with TCP_NODELAY, COUNT
 *       (10000) round trips: RTT p50/p99/mean in microseconds.
 *   Option -m MSS sets TCP_MAXSEG on both ends (e.g. 1440, tou's data per
 *   segment) for a like-for-like segment size; loopback's default is ~65483.
 *   Option -U (bulk): the same transfer through an AF_UNIX socket pair
 *   instead, what one hop through toud's API socket costs the kernel
 *   (bench/README.md, "Forwarded connections": a loopback TCP hop against
 *   a Unix one).
 *   Options -c PORT -l PORT put something between the two ends (bulk,
 *   rr): the connecting end goes to 127.0.0.1:PORT (-c: a toud
 *   [forward]'s listen), the listening end binds 127.0.0.1:PORT (-l: the
 *   [service]'s target); -P PID,... adds those processes' CPU during the
 *   run (the daemons: daemon_cpu_s).
 *
 * On an impaired path (bench/grid.sh):
 *   bench_tcp bulk -t SECONDS -N NS_CLIENT,NS_SERVER -A SERVER_IP [-C CC]
 *       The listener is opened in network namespace NS_SERVER on SERVER_IP,
 *       the connecting (sending) socket in NS_CLIENT (both /run/netns/NAME,
 *       entered with setns(2); a socket stays in the namespace it was made
 *       in).  -t: the sender writes without end; the receiver counts what
 *       arrives during SECONDS from the connection's start and then both
 *       ends are closed (goodput over a fixed time, not a fixed size, so a
 *       lossy long path does not take minutes).  -C sets TCP_CONGESTION
 *       (e.g. cubic; default: the namespace's default, printed as cc=).
 *
 * Output: one line of key=value words (bench/run.sh parses it).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "bench_util.h"

static int mss_opt;
static const char *ns_client, *ns_server; /* -N: network namespaces */
static const char *server_ip;             /* -A: listener address */
static const char *cc_opt;                /* -C: TCP_CONGESTION */
static unsigned fwd_port, target_port;    /* -c, -l: 0 = the pair's own listener */
static int unix_opt;                      /* -U: a Unix socket pair instead (bulk) */
static pid_t pids[8];                     /* -P */
static int npids;

/* CPU seconds of the -P processes now (summed) */
static double daemons_cpu(void)
{
	double c = 0;
	for (int i = 0; i < npids; i++)
		c += bu_cpu_pid(pids[i]);
	return c;
}

/* Enters network namespace NAME (/run/netns/NAME); NULL: the one this
 * process started in. */
static void enter_netns(const char *name)
{
	static int home = -1;
	char path[256];
	if (home < 0 && (home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		bu_die("open /proc/self/ns/net");
	if (!name) {
		if (setns(home, CLONE_NEWNET) < 0)
			bu_die("setns home");
		return;
	}
	snprintf(path, sizeof path, "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		bu_die(path);
	if (setns(fd, CLONE_NEWNET) < 0)
		bu_die("setns");
	close(fd);
}

static int tcp_socket(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		bu_die("socket");
	if (mss_opt && setsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &mss_opt, sizeof mss_opt) < 0)
		bu_die("TCP_MAXSEG");
	if (cc_opt && setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cc_opt, (socklen_t)strlen(cc_opt)) < 0)
		bu_die("TCP_CONGESTION");
	return s;
}

/* The receiving end's listener (on -l PORT, else an ephemeral port);
 * *to is where the sending end connects (-c PORT, else the listener). */
static int listener(struct sockaddr_in *to, int backlog)
{
	int l = tcp_socket(), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				   .sin_port = htons((uint16_t)target_port) };
	if (server_ip && inet_pton(AF_INET, server_ip, &sin.sin_addr) != 1) {
		fprintf(stderr, "bench_tcp: -A wants an IPv4 address, got '%s'\n", server_ip);
		exit(2);
	}
	socklen_t len = sizeof sin;
	if (bind(l, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(l, backlog) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		bu_die("listen");
	*to = sin;
	if (fwd_port) {
		to->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		to->sin_port = htons((uint16_t)fwd_port);
	}
	return l;
}

static void tcp_pair(int *a, int *b)
{
	if (ns_server)
		enter_netns(ns_server);
	struct sockaddr_in sin;
	int l = listener(&sin, 1);
	if (ns_client)
		enter_netns(ns_client);
	*a = tcp_socket();
	if (connect(*a, (struct sockaddr *)&sin, sizeof sin) < 0)
		bu_die("connect");
	*b = accept(l, NULL, NULL);
	if (*b < 0)
		bu_die("accept");
	close(l);
	if (ns_client || ns_server)
		enter_netns(NULL);
}

/* The congestion control the sending socket uses. */
static void cc_name(int fd, char *out, size_t cap)
{
	socklen_t l = (socklen_t)cap - 1;
	memset(out, 0, cap);
	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, out, &l) < 0)
		snprintf(out, cap, "?");
}

/* -t: what arrives on B during SECONDS while a child writes to A without
 * end (bu_timed_transfer). */
static int timed(double seconds, size_t wsize)
{
	int a, b;
	char cc[32];
	double secs;
	tcp_pair(&a, &b);
	cc_name(a, cc, sizeof cc);
	uint64_t got = bu_timed_transfer(a, b, wsize, seconds, &secs);
	close(a);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 }; /* RST: no FIN exchange left behind */
	setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(b);
	printf("tcp_timed bytes=%llu cc=%s seconds=%.3f mb_s=%.3f\n", (unsigned long long)got, cc,
	       secs, (double)got / secs / 1e6);
	return got > 0 ? 0 : 1;
}

static int bulk(uint64_t total, size_t wsize)
{
	int a, b;
	if (unix_opt) { /* -U: the same transfer through a Unix socket pair */
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			bu_die("socketpair");
		a = sv[0];
		b = sv[1];
	} else {
		tcp_pair(&a, &b);
	}
	char *buf = malloc(wsize > 65536 ? wsize : 65536);
	if (!buf)
		bu_die("malloc");
	memset(buf, 'x', wsize);
	double cpu0 = bu_cpu_self(), dcpu0 = daemons_cpu();
	uint64_t t0 = bu_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		bu_die("fork");
	if (pid == 0) {
		close(b);
		uint64_t left = total;
		while (left) {
			size_t n = left < wsize ? (size_t)left : wsize;
			if (bu_write_all(a, buf, n) < 0)
				_exit(2);
			left -= n;
		}
		shutdown(a, SHUT_WR);
		_exit(0);
	}
	close(a);
	uint64_t got = 0;
	for (;;) {
		ssize_t n = read(b, buf, 65536);
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
	double dcpu = daemons_cpu() - dcpu0;
	int st;
	waitpid(pid, &st, 0);
	double cpu = bu_cpu_self() - cpu0, secs = (double)(t1 - t0) / 1e9;
	printf("%s bytes=%llu mss=%d seconds=%.3f mb_s=%.1f cpu_s=%.2f cpu_s_per_gb=%.2f",
	       unix_opt ? "unix_bulk" : "tcp_bulk", (unsigned long long)got, mss_opt, secs, (double)got / secs / 1e6, cpu, cpu / ((double)got / 1e9));
	if (npids)
		printf(" daemon_cpu_s=%.2f daemon_cpu_s_per_gb=%.2f", dcpu, dcpu / ((double)got / 1e9));
	printf("%s\n", got == total ? "" : " SHORT");
	free(buf);
	return got == total ? 0 : 1;
}

static int rr(size_t size, unsigned count)
{
	int a, b, one = 1;
	tcp_pair(&a, &b);
	setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char *buf = malloc(size);
	if (!buf)
		bu_die("malloc");
	memset(buf, 'p', size);
	pid_t pid = fork();
	if (pid < 0)
		bu_die("fork");
	if (pid == 0) {
		close(a);
		while (bu_read_exact(b, buf, size) == 1)
			if (bu_write_all(b, buf, size) < 0)
				_exit(2);
		_exit(0);
	}
	close(b);
	uint64_t *rt = calloc(count, sizeof *rt);
	unsigned i;
	for (i = 0; i < count; i++) {
		uint64_t t = bu_now_ns();
		if (bu_write_all(a, buf, size) < 0 || bu_read_exact(a, buf, size) != 1)
			break;
		rt[i] = bu_now_ns() - t;
	}
	close(a);
	waitpid(pid, NULL, 0);
	bu_print_rtts("tcp_rr", rt, i, size);
	free(rt);
	free(buf);
	return i == count ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_tcp bulk [-n BYTES | -t SECONDS] [-w WRITE] [-m MSS] [-N NS_CLIENT,NS_SERVER -A SERVER_IP] [-C CC]\n"
			"       bench_tcp bulk -U [-n BYTES] [-w WRITE]\n"
			"       bench_tcp rr [-s SIZE] [-n COUNT] [-m MSS]\n"
			"       (bulk, rr: [-c PORT -l PORT] [-P PID,...])\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1];
	int is_rr = strcmp(mode, "rr") == 0;
	uint64_t n = is_rr ? 10000 : (1ull << 30);
	size_t size = 1, wsize = 65536;
	double seconds = 0;
	char *nsarg = NULL;
	int c;
	optind = 2;
	while ((c = getopt(argc, argv, "n:s:w:m:t:N:A:C:c:l:P:U")) != -1) {
		switch (c) {
		case 'n': n = bu_parse_size(optarg); break;
		case 's': size = (size_t)bu_parse_size(optarg); break;
		case 'w': wsize = (size_t)bu_parse_size(optarg); break;
		case 'm': mss_opt = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'N': nsarg = optarg; break;
		case 'A': server_ip = optarg; break;
		case 'C': cc_opt = optarg; break;
		case 'c': fwd_port = (unsigned)atoi(optarg); break;
		case 'l': target_port = (unsigned)atoi(optarg); break;
		case 'U': unix_opt = 1; break;
		case 'P':
			for (char *t = strtok(optarg, ","); t && npids < 8; t = strtok(NULL, ","))
				pids[npids++] = (pid_t)atoi(t);
			break;
		default: usage();
		}
	}
	if (n == 0 || size == 0 || wsize == 0 || wsize > (64u << 20) || fwd_port > 65535 ||
	    target_port > 65535 || !fwd_port != !target_port)
		usage();
	if (nsarg) {
		char *comma = strchr(nsarg, ',');
		if (!comma || comma == nsarg || !comma[1])
			usage();
		*comma = 0;
		ns_client = nsarg;
		ns_server = comma + 1;
	}
	if (seconds < 0 || (unix_opt && (is_rr || seconds > 0 || nsarg || fwd_port || mss_opt)))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "bulk") == 0)
		return seconds > 0 ? timed(seconds, wsize) : bulk(n, wsize);
	if (is_rr)
		return rr(size, (unsigned)n);
	usage();
	return 2;
}

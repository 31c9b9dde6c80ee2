/*
 * bench_conn.c - the cost of a connection: setups per second, each one a
 * connect, one byte each way and a close, with CLIENTS parallel clients.
 *
 *   bench_conn tcp [-c CLIENTS] [-t SECONDS]
 *       Kernel TCP over 127.0.0.1: CLIENTS client processes each loop
 *       connect(), write 1 byte, read 1 byte, read EOF, close(); CLIENTS
 *       server processes share one listening socket and loop accept(),
 *       read 1 byte, write 1 byte, close() (the server closes first, so
 *       TIME-WAIT is on the accepting side and no client port waits).
 *   bench_conn tou -a SOCK_A -b SOCK_B -u HOST:UDPPORT_B [-p PORT]
 *                  [-c CLIENTS] [-t SECONDS] [-P PID,...]
 *       The same through two toud daemons: one LISTEN on daemon B; each
 *       client connects to A's API socket, sends "CONNECT HOST:UDPPORT_B
 *       PORT", reads the OK line, writes 1 byte, reads 1 byte, reads EOF
 *       and closes; each server connects to B's API socket, sends "ACCEPT
 *       PORT", reads the OK line, reads 1 byte, writes 1 byte and closes.
 *       -P: the daemons' pids, whose CPU time per connection is printed.
 *   bench_conn tcp -f PORT -l PORT [-c CLIENTS] [-t SECONDS] [-P PID,...]
 *       Kernel TCP at both ends of something that forwards it: the clients
 *       connect to 127.0.0.1:PORT (-f: a toud [forward]'s listen), the
 *       servers listen on 127.0.0.1:PORT (-l: the [service]'s target).
 *       Prints fwd_conn.
 *
 * The clients run SECONDS (default 3) after a common start; a setup counts
 * when its client saw the byte and the EOF.  Output, one line:
 *   <tcp|tou>_conn clients=4 setups=5123 seconds=3.00 per_s=1707.7
 *   errors=0 slow_10ms=3 max_ms=41.2 [daemon_cpu_s=.. daemon_cpu_us_per_conn=..]
 * (slow_10ms: setups that took 10 ms or more, max_ms: the slowest one).
 * (bench/conn.sh runs both and prints the ratio).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "bench_util.h"
#include "../client/tou_proto.h"

#define MAX_PROCS 256

static const char *sock_a, *sock_b, *udp_b;
static unsigned port = 7100;
static unsigned clients = 4;
static double seconds = 3.0;
static pid_t dpids[8];
static int ndpids;
static struct sockaddr_in tcp_addr; /* where the kernel TCP clients connect */
static unsigned fwd_port, target_port; /* -f, -l */

static int unix_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "bench_conn: socket path too long\n");
		exit(2);
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads the daemon's answer line with buffered reads: *extra gets the
 * stream bytes that came after the line in the same read (0 or more).
 * 1 for an OK line, 0 for anything else (ERR, EOF, error). */
static int read_answer(int fd, char *buf, size_t cap, size_t *extra)
{
	size_t n = 0;
	*extra = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		n += (size_t)r;
		char *nl = memchr(buf, '\n', n);
		if (nl) {
			int ok = nl - buf >= 2 && strncmp(buf, "OK", 2) == 0;
			*extra = n - (size_t)(nl + 1 - buf);
			if (*extra)
				memmove(buf, nl + 1, *extra);
			return ok;
		}
	}
	return 0;
}

/* One tou connection from the client side: 1 on success. */
static int tou_client_once(void)
{
	char line[TOU_PROTO_MAX_LINE], ans[512];
	int fd = unix_connect(sock_a);
	if (fd < 0)
		return 0;
	int n = snprintf(line, sizeof line, "CONNECT %s %u\n", udp_b, port);
	int ok = 0;
	size_t extra;
	if (bu_write_all(fd, line, (size_t)n) == 0 && read_answer(fd, ans, sizeof ans, &extra) &&
	    bu_write_all(fd, "c", 1) == 0) {
		char b;
		ssize_t r = extra ? 1 : read(fd, &b, 1);
		ok = r == 1 && read(fd, &b, 1) == 0;
	}
	close(fd);
	return ok;
}

/* One tou connection from the accepting side. */
static int tou_server_once(void)
{
	char line[64], ans[512];
	int fd = unix_connect(sock_b);
	if (fd < 0)
		return 0;
	int n = snprintf(line, sizeof line, "ACCEPT %u\n", port);
	int ok = 0;
	size_t extra;
	if (bu_write_all(fd, line, (size_t)n) == 0 && read_answer(fd, ans, sizeof ans, &extra)) {
		char b;
		ok = (extra || read(fd, &b, 1) == 1) && bu_write_all(fd, "s", 1) == 0;
	}
	close(fd);
	return ok;
}

static int tcp_client_once(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int ok = 0;
	char b;
	if (connect(fd, (struct sockaddr *)&tcp_addr, sizeof tcp_addr) == 0 &&
	    bu_write_all(fd, "c", 1) == 0 && read(fd, &b, 1) == 1)
		ok = read(fd, &b, 1) == 0;
	close(fd);
	return ok;
}

static void tcp_server_loop(int lfd)
{
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(2);
		}
		char b;
		if (read(fd, &b, 1) == 1)
			(void)bu_write_all(fd, "s", 1);
		close(fd);
	}
}

/* A client process: waits for the start (the pipe closes), runs the
 * clock, reports "setups errors" on its result pipe. */
static void client_proc(int start_fd, int res_fd, int (*once)(void))
{
	char c;
	while (read(start_fd, &c, 1) < 0 && errno == EINTR)
		;
	uint64_t end = bu_now_ns() + (uint64_t)(seconds * 1e9);
	unsigned long ok = 0, bad = 0, slow = 0;
	uint64_t worst = 0;
	while (bu_now_ns() < end) {
		uint64_t t = bu_now_ns();
		if (once()) {
			ok++;
			t = bu_now_ns() - t;
			if (t >= 10000000u) /* 10 ms: a timer or a lost datagram, not work */
				slow++;
			if (t > worst)
				worst = t;
		} else if (++bad % 16 == 0) {
			usleep(1000); /* a refused daemon is not spun against */
		}
	}
	char out[96];
	int n = snprintf(out, sizeof out, "%lu %lu %lu %llu\n", ok, bad, slow, (unsigned long long)(worst / 1000));
	(void)bu_write_all(res_fd, out, (size_t)n);
	_exit(0);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_conn tcp [-c CLIENTS] [-t SECONDS] [-f PORT -l PORT] [-P PID,...]\n"
		"       bench_conn tou -a SOCK_A -b SOCK_B -u HOST:UDPPORT_B [-p PORT] [-c CLIENTS]\n"
		"                      [-t SECONDS] [-P PID,...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	int is_tou = strcmp(argv[1], "tou") == 0;
	if (!is_tou && strcmp(argv[1], "tcp") != 0)
		usage();
	int c;
	optind = 2;
	while ((c = getopt(argc, argv, "a:b:u:p:c:t:P:f:l:")) != -1) {
		switch (c) {
		case 'a': sock_a = optarg; break;
		case 'b': sock_b = optarg; break;
		case 'u': udp_b = optarg; break;
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'c': clients = (unsigned)atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'f': fwd_port = (unsigned)atoi(optarg); break;
		case 'l': target_port = (unsigned)atoi(optarg); break;
		case 'P':
			for (char *t = strtok(optarg, ","); t && ndpids < 8; t = strtok(NULL, ","))
				dpids[ndpids++] = (pid_t)atoi(t);
			break;
		default: usage();
		}
	}
	if (clients == 0 || clients > MAX_PROCS / 2 || seconds <= 0 || port == 0 || port > 65535)
		usage();
	if (is_tou && (!sock_a || !sock_b || !udp_b))
		usage();
	if (!fwd_port != !target_port || fwd_port > 65535 || target_port > 65535 || (is_tou && fwd_port))
		usage();
	signal(SIGPIPE, SIG_IGN);

	pid_t servers[MAX_PROCS], cl[MAX_PROCS];
	int lfd = -1;
	if (is_tou) {
		/* the listener lives as long as this API connection */
		char line[64], ans[512];
		size_t extra;
		lfd = unix_connect(sock_b);
		if (lfd < 0)
			bu_die("connect to SOCK_B");
		int n = snprintf(line, sizeof line, "LISTEN %u backlog=%u\n", port, 64 * clients);
		if (bu_write_all(lfd, line, (size_t)n) < 0 || !read_answer(lfd, ans, sizeof ans, &extra)) {
			fprintf(stderr, "bench_conn: LISTEN %u refused\n", port);
			return 2;
		}
	} else {
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		tcp_addr.sin_family = AF_INET;
		tcp_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		tcp_addr.sin_port = htons((uint16_t)target_port);
		socklen_t al = sizeof tcp_addr;
		int one = 1; /* -l: the port again while earlier runs' TIME-WAITs last */
		if (lfd >= 0 && target_port)
			setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&tcp_addr, sizeof tcp_addr) < 0 ||
		    listen(lfd, 4096) < 0 || getsockname(lfd, (struct sockaddr *)&tcp_addr, &al) < 0)
			bu_die("listen");
		if (fwd_port)
			tcp_addr.sin_port = htons((uint16_t)fwd_port);
	}
	for (unsigned i = 0; i < clients; i++) {
		pid_t p = fork();
		if (p < 0)
			bu_die("fork");
		if (p == 0) {
			if (is_tou) {
				close(lfd);
				for (;;)
					if (!tou_server_once())
						usleep(1000);
			}
			tcp_server_loop(lfd);
		}
		servers[i] = p;
	}
	int start[2], res[2];
	if (pipe(start) < 0 || pipe(res) < 0)
		bu_die("pipe");
	for (unsigned i = 0; i < clients; i++) {
		pid_t p = fork();
		if (p < 0)
			bu_die("fork");
		if (p == 0) {
			close(start[1]);
			close(res[0]);
			if (!is_tou)
				close(lfd);
			client_proc(start[0], res[1], is_tou ? tou_client_once : tcp_client_once);
		}
		cl[i] = p;
	}
	close(start[0]);
	close(res[1]);
	usleep(200000); /* every process forked and waiting */
	double dcpu0[8];
	for (int i = 0; i < ndpids; i++)
		dcpu0[i] = bu_cpu_pid(dpids[i]);
	uint64_t t0 = bu_now_ns();
	close(start[1]); /* go */
	unsigned long ok = 0, bad = 0, slow = 0, a, b, sl;
	unsigned long long worst = 0, w;
	FILE *rf = fdopen(res[0], "r");
	for (unsigned i = 0; i < clients && rf && fscanf(rf, "%lu %lu %lu %llu", &a, &b, &sl, &w) == 4; i++) {
		ok += a;
		bad += b;
		slow += sl;
		if (w > worst)
			worst = w;
	}
	double secs = (double)(bu_now_ns() - t0) / 1e9;
	double dcpu = 0;
	for (int i = 0; i < ndpids; i++)
		dcpu += bu_cpu_pid(dpids[i]) - dcpu0[i];
	for (unsigned i = 0; i < clients; i++)
		waitpid(cl[i], NULL, 0);
	for (unsigned i = 0; i < clients; i++)
		kill(servers[i], SIGTERM);
	for (unsigned i = 0; i < clients; i++)
		waitpid(servers[i], NULL, 0);
	close(lfd);
	printf("%s_conn clients=%u setups=%lu seconds=%.2f per_s=%.1f errors=%lu slow_10ms=%lu max_ms=%.1f",
	       is_tou ? "tou" : fwd_port ? "fwd" : "tcp", clients, ok, secs, (double)ok / secs, bad, slow, (double)worst / 1e3);
	if (ndpids)
		printf(" daemon_cpu_s=%.2f daemon_cpu_us_per_conn=%.1f", dcpu,
		       ok ? dcpu / (double)ok * 1e6 : 0.0);
	printf("\n");
	return ok ? 0 : 1;
}

/*
 * tou_echo.c - an example program using libtou: an echo server and its
 * client, over toud streams.
 *
 *   tou_echo server PORT [COUNT]    echo COUNT streams (default 1) back
 *   tou_echo client HOST PORT       send stdin, print what comes back
 *
 * Build against an installed libtou with
 *   cc tou_echo.c $(pkg-config --cflags --libs tou)
 *
 * The descriptors libtou returns are ordinary sockets: read(), write(),
 * shutdown(SHUT_WR) for FIN, close().  After the stream has ended,
 * tou_status() tells how ("end": "fin" is a clean close).
 */
#include <tou.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Wait (bounded) until the daemon reports how stream `id` ended. */
static int report_end(uint64_t id)
{
	for (int i = 0; i < 200; i++) {
		struct tou_status st;
		int r = tou_status(NULL, id, &st, NULL);
		if (r < 0) {
			fprintf(stderr, "tou_echo: status: %s\n", tou_strerror(r));
			return 1;
		}
		if (st.end[0] || strcmp(st.state, "TIME-WAIT") == 0) {
			int clean = !st.end[0] || strcmp(st.end, TOU_END_FIN) == 0;
			fprintf(stderr, "tou_echo: stream %llu ended: %s\n", (unsigned long long)id,
				st.end[0] ? st.end : "fin (TIME-WAIT)");
			return clean ? 0 : 1;
		}
		usleep(50000);
	}
	fprintf(stderr, "tou_echo: stream %llu did not end\n", (unsigned long long)id);
	return 1;
}

static int server(unsigned port, int count)
{
	int lfd = tou_listen(NULL, port, 0);
	if (lfd < 0) {
		fprintf(stderr, "tou_echo: listen %u: %s\n", port, tou_strerror(lfd));
		return 1;
	}
	int rc = 0;
	for (int n = 0; n < count; n++) {
		struct tou_conn_info info;
		int fd = tou_accept(NULL, port, 0, &info);
		if (fd < 0) {
			fprintf(stderr, "tou_echo: accept: %s\n", tou_strerror(fd));
			rc = 1;
			break;
		}
		fprintf(stderr, "tou_echo: stream %llu from %s\n", (unsigned long long)info.id,
			info.remote);
		char buf[65536];
		ssize_t r;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			if (write_all(fd, buf, (size_t)r) < 0)
				break;
		shutdown(fd, SHUT_WR); /* our FIN after the echo */
		close(fd);
		rc |= report_end(info.id);
	}
	close(lfd);
	return rc;
}

static int client(const char *host, unsigned port)
{
	struct tou_conn_info info;
	int fd = tou_connect(NULL, host, port, TOU_NODELAY, 10, &info);
	if (fd < 0) {
		fprintf(stderr, "tou_echo: connect %s %u: %s%s%s\n", host, port, tou_strerror(fd),
			*tou_errdetail() ? ": " : "", tou_errdetail());
		return fd == -ECONNREFUSED ? 4 : 1;
	}
	char buf[65536];
	ssize_t r;
	/* Send everything, then FIN; the echo comes back after it (small
	 * inputs: the stream's buffers hold it while we write). */
	while ((r = read(0, buf, sizeof(buf))) > 0)
		if (write_all(fd, buf, (size_t)r) < 0)
			break;
	shutdown(fd, SHUT_WR);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (write_all(1, buf, (size_t)r) < 0)
			break;
	close(fd);
	return report_end(info.id);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "server") == 0)
		return server((unsigned)atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 1);
	if (argc == 4 && strcmp(argv[1], "client") == 0)
		return client(argv[2], (unsigned)atoi(argv[3]));
	fprintf(stderr, "usage: tou_echo server PORT [COUNT] | tou_echo client HOST PORT\n"
			"(the daemon's socket: $TOU_SOCKET, else %s)\n", TOU_DEFAULT_SOCKET);
	return 2;
}

/*
 * tou_tunnel.c - one-off tunnels for unmodified programs, held by the
 * daemon for as long as this command runs (docs/API.md FORWARD, SERVE):
 *
 *   tou forward [ADDR:]PORT HOST[:UDPPORT] PORT   a local TCP listener whose
 *                                                 connections go to HOST's
 *                                                 tou port PORT
 *   tou serve PORT TARGET [PREFIX...]             tou port PORT's connections
 *                                                 go to TARGET (ADDR:PORT or
 *                                                 unix:/path), from the
 *                                                 PREFIXes only if given
 *
 * Both print what they set up and wait: SIGINT/SIGTERM closes the API
 * connection, and the daemon closes the tunnel's listener (its live
 * connections go on until they end); the daemon stopping ends the command.
 */
#include "tou.h"
#include "tou_cli.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Holds the tunnel open until a signal (exit 0) or the daemon's end. */
static int hold(const char *line, const char *what, const char *shown)
{
	char reply[256];
	int fd = tou_hold(cli.socket, line, reply, sizeof(reply));
	if (fd < 0)
		return fail(what, fd);
	/* reply: "<id> <where>" (where: the address a forward listens on,
	 * with the port the kernel picked for port 0) */
	char *sp = strchr(reply, ' ');
	msg("%s: tunnel %.*s on %s: %s; Ctrl-C ends it", what, sp ? (int)(sp - reply) : (int)strlen(reply), reply,
	    sp ? sp + 1 : "?", shown);
	in_pipe = 1; /* a signal ends poll() below, not the program */
	int r = EX_CLEAN;
	while (!got_signal) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = fail(what, -errno);
			break;
		}
		char b;
		if (p.revents && read(fd, &b, 1) <= 0) { /* the daemon writes nothing: EOF */
			msg("%s: the daemon ended the tunnel (stopping?)", what);
			r = EX_NODAEMON;
			break;
		}
	}
	close(fd);
	if (got_signal && cli.verbose)
		msg("%s: tunnel closed", what);
	return r;
}

static int word_ok(const char *w)
{
	return *w && !strpbrk(w, " \t\r\n");
}

int cmd_forward(int argc, char **argv)
{
	unsigned long long port;
	if (!word_ok(argv[0]))
		return usage_error(help_forward, "invalid local address '%s'", argv[0]);
	if (!word_ok(argv[1]))
		return usage_error(help_forward, "invalid host '%s'", argv[1]);
	if (parse_uint(argv[2], 1, 65535, &port) < 0)
		return usage_error(help_forward, "invalid port '%s' (1-65535)", argv[2]);
	char line[TOU_PROTO_MAX_LINE], what[300], shown[300];
	int n = snprintf(line, sizeof(line), "FORWARD %s %s %llu%s%s", argv[0], argv[1], port,
			 cli.nodelay ? " nodelay" : "", cli.keepalive ? " keepalive" : "");
	if (cli.timeout)
		snprintf(line + n, sizeof(line) - (size_t)n, " timeout=%u", cli.timeout);
	snprintf(what, sizeof(what), "forward %s", argv[0]);
	snprintf(shown, sizeof(shown), "connections to %s go to %s port %llu", argv[0], argv[1], port);
	(void)argc;
	return hold(line, what, shown);
}

int cmd_serve(int argc, char **argv)
{
	unsigned long long port;
	if (parse_uint(argv[0], 1, 65535, &port) < 0)
		return usage_error(help_serve, "invalid port '%s' (1-65535)", argv[0]);
	if (!word_ok(argv[1]))
		return usage_error(help_serve, "invalid target '%s'", argv[1]);
	char line[TOU_PROTO_MAX_LINE], what[64], shown[300];
	int n = snprintf(line, sizeof(line), "SERVE %llu %s", port, argv[1]);
	for (int i = 2; i < argc; i++) {
		if (!word_ok(argv[i]) || strchr(argv[i], ','))
			return usage_error(help_serve, "invalid prefix '%s'", argv[i]);
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s", i == 2 ? " allow=" : ",", argv[i]);
		if ((size_t)n >= sizeof(line))
			return usage_error(help_serve, "too many prefixes");
	}
	snprintf(what, sizeof(what), "serve %llu", port);
	snprintf(shown, sizeof(shown), "tou port %llu goes to %s%s", port, argv[1],
		 argc > 2 ? " (allow list given)" : " (anyone who reaches the daemon's UDP port)");
	return hold(line, what, shown);
}

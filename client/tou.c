/*
 * tou.c - the tou command: netcat-like streams over toud, and a view of
 * its connections like ss(8) and of its counters like nstat(8).
 *
 *   tou connect HOST[:UDPPORT] PORT   stdin -> stream -> stdout
 *   tou listen PORT [-k]              accept and pipe like nc -l
 *   tou forward [ADDR:]PORT HOST PORT a local port to a tou port (tou_tunnel.c)
 *   tou serve PORT TARGET [PREFIX...] a tou port to a local target (tou_tunnel.c)
 *   tou status [--json] [ID|FILTER]   connections (LIST / STATUS)
 *   tou stats [--json] [PATTERN...]   counters (STATS), --delta like nstat
 *   tou info                          the daemon (STATUS without an id)
 *   tou abort ID                      send RST (ABORT)
 *
 * This file parses the command line and runs connect and listen; a
 * stream's piping is tou_pipe.c, status/stats/info/abort tou_show.c, the
 * help texts tou_help.c.  Exit codes are the EX_* values of tou_cli.h,
 * documented in --help and tou(1).
 */
#include "tou.h"
#include "tou_cli.h"
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


struct cli_opts cli = { .quit = -1 };

void msg(const char *fmt, ...)
{
	if (cli.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("tou: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* -------------------------------------------------------------- options */

enum {
	O_SOCKET, O_QUIET, O_VERBOSE, O_PROGRESS, O_JSON, O_KEEP, O_BACKLOG, O_TIMEOUT,
	O_NODELAY, O_KEEPALIVE, O_IDLE, O_QUIT, O_SHUTDOWN, O_FAMILY, O_LISTENING, O_ZEROS,
	O_DELTA, O_AO, O_ALLOW, O_COUNT
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
	[O_ZEROS] = "-z/--zeros", [O_DELTA] = "-d/--delta", [O_AO] = "--ao", [O_ALLOW] = "--allow",
};

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
	unsigned opts;
	int min_args, max_args;
};

int usage_error(const char *help, const char *fmt, ...)
{
	if (!cli.quiet) {
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
int parse_uint(const char *s, unsigned long long min, unsigned long long max,
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
int fail(const char *what, int err)
{
	const char *detail = tou_errdetail();
	if (err == TOU_ENODAEMON) {
		msg("%s: daemon not reachable at %s: %s", what, tou_socket_path(cli.socket),
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
	hints.ai_family = cli.family == 4 ? AF_INET : AF_INET6;
	hints.ai_socktype = SOCK_DGRAM;
	int e = getaddrinfo(host, NULL, &hints, &res);
	if (e != 0 || !res) {
		msg("%s: host unreachable (no IPv%d address for %s: %s)", what, cli.family, host,
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
	if (cli.verbose)
		msg("%s: %s is %s", what, host, a);
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
	char what[300], literal[300];
	snprintf(what, sizeof(what), "connect %s %u", host, port);
	if (cli.family) {
		int r = resolve_family(what, host, literal, sizeof(literal));
		if (r)
			return r;
		host = literal;
	}
	unsigned flags = (cli.nodelay ? TOU_NODELAY : 0) | (cli.keepalive ? TOU_KEEPALIVE : 0);
	struct tou_conn_info info;
	int fd = tou_connect_ao(cli.socket, host, port, flags, cli.timeout, cli.ao, &info);
	if (fd < 0)
		return fail(what, fd);
	if (cli.verbose)
		msg("connected: id %" PRIu64 " %s -> %s", info.id, info.local, info.remote);
	(void)argc;
	return run_stream(fd, &info, what);
}

static int cmd_listen(int argc, char **argv)
{
	unsigned port = 0;
	if (parse_port(argv[0], help_listen, &port))
		return EX_USAGE;
	if (cli.ao && strcmp(cli.ao, "required") != 0 && strcmp(cli.ao, "optional") != 0)
		return usage_error(help_listen, "--ao: a listener takes 'required' or 'optional', not '%s'",
				   cli.ao);
	int lfd = tou_listen_opts(cli.socket, port, cli.backlog, cli.ao, cli.allow[0] ? cli.allow : NULL);
	char what[64];
	snprintf(what, sizeof(what), "listen %u", port);
	if (lfd < 0)
		return fail(what, lfd);
	if (cli.verbose)
		msg("listening on port %u", port);
	int r;
	do {
		struct tou_conn_info info;
		unsigned flags = (cli.nodelay ? TOU_NODELAY : 0) | (cli.keepalive ? TOU_KEEPALIVE : 0);
		int fd = tou_accept_flags(cli.socket, port, flags, cli.timeout, &info);
		if (fd == -ENOENT) { /* our listener is gone: tou abort, or the daemon stopping */
			msg("%s: the listener was closed (%s)", what, tou_errdetail());
			r = EX_RESET;
			break;
		}
		if (fd < 0) {
			r = fail(what, fd);
			break;
		}
		if (cli.verbose)
			msg("accepted: id %" PRIu64 " %s <- %s", info.id, info.local, info.remote);
		r = run_stream(fd, &info, what);
	} while (cli.keep && !got_signal);
	if (got_signal)
		r = EX_INTERRUPT;
	close(lfd);
	(void)argc;
	return r;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "connect", cmd_connect, help_connect, O_STREAM | B(O_FAMILY) | B(O_AO), 2, 2 },
	{ "listen", cmd_listen, help_listen, O_STREAM | B(O_KEEP) | B(O_BACKLOG) | B(O_AO) | B(O_ALLOW), 1, 1 },
	{ "forward", cmd_forward, help_forward, O_COMMON | B(O_TIMEOUT) | B(O_NODELAY) | B(O_KEEPALIVE), 3, 3 },
	{ "serve", cmd_serve, help_serve, O_COMMON, 2, 2 + 16 },
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
	enum { L_NODELAY = 256, L_KEEPALIVE, L_QUIT, L_QUIET, L_AO, L_ALLOW };
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
		{ "ao", required_argument, NULL, L_AO },
		{ "allow", required_argument, NULL, L_ALLOW },
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
				cli.socket = optarg;
			break;
		case 'q':
		case L_QUIET: cli.quiet = 1; break;
		case 'v': cli.verbose = 1; used |= B(O_VERBOSE); break;
		case 'p': cli.progress = 1; used |= B(O_PROGRESS); break;
		case 'j': cli.json = 1; used |= B(O_JSON); break;
		case 'k': cli.keep = 1; used |= B(O_KEEP); break;
		case 'N': used |= B(O_SHUTDOWN); break; /* FIN at EOF: what tou always does */
		case 'l': cli.listening = 1; used |= B(O_LISTENING); break;
		case 'z': cli.zeros = 1; used |= B(O_ZEROS); break;
		case 'd': cli.delta = 1; used |= B(O_DELTA); break;
		case '4':
		case '6': cli.family = c - '0'; used |= B(O_FAMILY); break;
		case L_NODELAY: cli.nodelay = 1; used |= B(O_NODELAY); break;
		case L_KEEPALIVE: cli.keepalive = 1; used |= B(O_KEEPALIVE); break;
		case L_AO:
			used |= B(O_AO);
			if (!*optarg || strpbrk(optarg, " \t\r\n,="))
				bad_value = "--ao needs a key name of toud.conf, 'required' or 'optional'";
			else
				cli.ao = optarg;
			break;
		case L_ALLOW: {
			/* repeatable; each one a prefix or a comma-separated list */
			used |= B(O_ALLOW);
			size_t have = strlen(cli.allow);
			if (!*optarg || strpbrk(optarg, " \t\r\n="))
				bad_value = "--allow needs address prefixes (10.0.0.0/8, 2001:db8::/32, an address)";
			else if (have + 1 + strlen(optarg) >= sizeof cli.allow)
				bad_value = "--allow: too many prefixes";
			else
				snprintf(cli.allow + have, sizeof cli.allow - have, "%s%s", have ? "," : "", optarg);
			break;
		}
		case 'b':
			used |= B(O_BACKLOG);
			cli.backlog = (unsigned)opt_number(optarg, 1, 65535, cli.backlog,
							   "--backlog needs a number 1-65535", &bad_value);
			break;
		case 't':
			used |= B(O_TIMEOUT);
			cli.timeout = (unsigned)opt_number(optarg, 1, 86400, cli.timeout,
							   "--timeout needs whole seconds 1-86400", &bad_value);
			break;
		case 'w':
			used |= B(O_IDLE);
			cli.idle = (unsigned)opt_number(optarg, 1, 86400, cli.idle,
							"-w/--idle-timeout needs whole seconds 1-86400", &bad_value);
			break;
		case L_QUIT:
			used |= B(O_QUIT);
			cli.quit = (long)opt_number(optarg, 0, 86400, (unsigned long long)cli.quit,
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
		return usage_error(help_listen, "-l: to listen, say: tou listen %s%s", cli.keep ? "-k " : "",
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

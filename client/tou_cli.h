/*
 * tou_cli.h - what the files of the tou command share (not part of
 * libtou): its exit codes, its options and its message helpers.
 *
 * tou.c parses the command line into `cli` once, before any command
 * runs; the commands only read it.  tou_show.c holds the commands that
 * show the daemon (status, stats, info) and abort.
 */
#ifndef TOU_CLI_H
#define TOU_CLI_H

/* Exit codes, documented in --help and tou(1). */
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

/* The command line's options (set by main, read by the commands). */
struct cli_opts {
	const char *socket;
	int quiet, verbose, progress, json, keep;
	int nodelay, keepalive, family, listening, zeros, delta;
	unsigned timeout, backlog, idle;
	const char *ao;     /* --ao: CONNECT/LISTEN ao= (NULL: none given) */
	char allow[1024];   /* --allow: LISTEN allow=, the prefixes comma-joined */
	long quit; /* -q SECONDS: quit that long after EOF on stdin; -1 = never */
};
extern struct cli_opts cli;

/* Help texts (tou_help.c): the program's and each command's. */
extern const char help_main[], help_connect[], help_listen[], help_forward[], help_serve[], help_status[], help_stats[], help_info[], help_abort[], help_help[];

/* A message on stderr prefixed "tou: " (nothing with --quiet). */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error with the command's help hint; returns EX_USAGE. */
int usage_error(const char *help, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A decimal in [min, max] into *out; 0 or -1. */
int parse_uint(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out);
/* Reports libtou's error err for `what`; returns the exit code it maps to. */
int fail(const char *what, int err);

/* The last SIGINT/SIGTERM (0: none) and whether a stream is being piped
 * (the handler then only records the signal): process-wide because a
 * signal handler can reach nothing else. */
#include <signal.h>
extern volatile sig_atomic_t got_signal, in_pipe;

struct tou_conn_info;
/* Pipes stdin/stdout through the stream socket fd until the stream ends
 * (tou_pipe.c); closes fd; returns the exit code. */
int run_stream(int fd, const struct tou_conn_info *info, const char *what);

/* The commands of tou_show.c (argv holds only the operands). */
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_abort(int argc, char **argv);
/* tou_tunnel.c */
int cmd_forward(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif

/*
 * main.c - toud: options, startup, signals (SIGTERM/SIGINT graceful
 * shutdown, SIGHUP reload) and the order in which the parts start and
 * stop.  The loop's turn is the driver's (loop.c).  The daemon's context
 * (struct toud) and the handles of this file live in main()'s frame and
 * are reached through each handle's `data`.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "forward.h"
#include "log.h"
#include "loop.h"
#include "privdrop.h"
#include "shard.h"
#include "tou_proto.h"
#include "toud.h"
#include "udp.h"

/* main.c's own handles, around the daemon's context. */
struct daemon {
	struct toud d;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t shutdown_deadline, shutdown_poll;
	int shutdown_timers_on;
	uv_timer_t watchdog;
	int watchdog_on;
	int finished;
};

static const char usage_text[] =
"Usage: toud [OPTION]...\n"
"\n"
"toud is the tou daemon: a real TCP (RFC 9293) whose segments travel in UDP\n"
"datagrams.  It owns one UDP port (9811 by default), runs every connection\n"
"through the full TCP state machine with retransmission, flow and congestion\n"
"control, and offers local programs a Unix-socket API (" TOU_DEFAULT_SOCKET " by\n"
"default) to open, send, receive and close byte streams.  It always runs in\n"
"the foreground and logs to standard error: with sd-daemon(3) \"<N>\" priority\n"
"prefixes when it is the journal, else with timestamps (or to syslog:\n"
"[daemon] syslog); systemd (toud.service, toud.socket) is the intended\n"
"supervisor; without it, [daemon] user drops root after binding.\n"
"\n"
"Options:\n"
"  -c, --config FILE      read FILE instead of " TOUD_DEFAULT_CONFIG ".  A missing\n"
"                         default file means \"all defaults\"; a missing FILE\n"
"                         given here is an error.\n"
"  -o, --option SECTION.KEY=VALUE\n"
"                         override one configuration key after the file is read;\n"
"                         may be repeated (e.g. -o daemon.udp=127.0.0.1:9900\n"
"                         -o tcp.congestion=newreno).  Every key of toud.conf\n"
"                         can be set this way.\n"
"      --check-config     parse the configuration, print the effective values\n"
"                         and exit: 0 if valid, 2 if not.\n"
"      --pcap FILE        write every TCP segment sent and received to FILE\n"
"                         (pcap, synthetic IPv4/IPv6 headers, valid TCP\n"
"                         checksums: `tshark -r FILE` decodes it as TCP).\n"
"  -f, --foreground       accepted for compatibility; toud never forks.\n"
"  -V, --version          print the version and exit.\n"
"  -h, --help             print this help and exit.\n"
"\n"
"Configuration (INI; every key with its default and unit in toud(8) and in the\n"
"commented " TOUD_DEFAULT_CONFIG "):\n"
"  [daemon]  udp, socket, socket_mode, socket_group, log_level,\n"
"            privileged_ports, pcap, user, syslog, threads, busy_poll,\n"
"            udp_receive_buffer\n"
"  [tcp]     mss, mss_loopback, send_buffer, recv_buffer, recv_buffer_auto,\n"
"            rto_initial, rto_min, rto_max, msl, syn_retries, retries,\n"
"            delayed_ack, nodelay,\n"
"            congestion, loss_detection, hystart, keepalive,\n"
"            keepalive_idle, keepalive_interval, keepalive_probes, timestamps,\n"
"            sack, window_scaling, challenge_ack_limit, invalid_ratelimit,\n"
"            syncookies, syn_rate_per_source\n"
"  [limits]  max_connections, max_time_wait, max_per_peer, max_per_uid, max_api_clients,\n"
"            max_api_clients_per_uid, api_root_reserve, max_backlog,\n"
"            request_timeout, shutdown_timeout\n"
"  Sizes take K, M, G suffixes (1024-based); durations take us, ms, s, m, h\n"
"  (a bare number is seconds); booleans are yes/no, true/false, on/off, 1/0.\n"
"\n"
"Signals:\n"
"  SIGTERM, SIGINT  graceful shutdown: stop accepting API clients, send FIN on\n"
"                   every stream after its queued data, wait up to\n"
"                   limits.shutdown_timeout, reset what is left, exit 0.  A\n"
"                   second signal resets everything at once.\n"
"  SIGHUP           reload the configuration file and -o overrides: log_level,\n"
"                   privileged_ports, [tcp] (for new connections) and [limits]\n"
"                   change at once; [forward] and [service] sections are\n"
"                   added, changed and removed (a removed one stops\n"
"                   listening, its live connections go on until they end;\n"
"                   the others are not touched); changes of udp, socket,\n"
"                   socket_mode, socket_group, pcap, user, syslog, threads,\n"
"                   busy_poll and udp_receive_buffer need a restart.  A bad\n"
"                   file is refused and the running configuration kept.\n"
"\n"
"systemd: Type=notify (READY=1, STATUS=, RELOADING=1, STOPPING=1, WATCHDOG=1 at\n"
"half of WatchdogSec).  Socket activation: a passed AF_UNIX stream socket is\n"
"the API socket (toud.socket sets its mode and group; socket_mode and\n"
"socket_group do not apply), passed UDP sockets replace [daemon] udp.  Without\n"
"systemd, toud creates the socket's directory, removes a stale socket file,\n"
"and applies socket_mode and socket_group itself.\n"
"\n"
"Access: every API client's credentials are read with SO_PEERCRED; TCP ports\n"
"below privileged_ports (1024) need uid 0 for LISTEN and ACCEPT; ACCEPT and\n"
"ABORT need the owner's uid or root.\n"
"\n"
"Exit status: 0 after a clean shutdown or --check-config success, 1 on a\n"
"runtime failure (cannot bind, out of memory), 2 on bad usage or a bad\n"
"configuration (the message names file:line and the reason).\n"
"\n"
"Try by hand:  socat - UNIX-CONNECT:" TOU_DEFAULT_SOCKET "  then type VERSION\n"
"See also: tou(1), docs/API.md, toud(8).\n";

static void usage_exit(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

/* RFC 9293 3.7.1: the MSS follows the MTU of the path; a loopback peer's
 * path is the loopback interface ("lo").  A loopback MTU smaller than
 * [tcp] mss_loopback needs lowers it; one that cannot be read leaves it
 * (a datagram too big for it fails with EMSGSIZE and lowers the
 * connection's path MTU, daemon/udp_err.c). */
static void cap_loopback_mss(struct tcp_config *t)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	int r = ioctl(fd, SIOCGIFMTU, &ifr);
	close(fd);
	/* IPv4 + UDP + TCP headers (20 + 8 + 20); below the 576-octet minimum
	 * datagram of RFC 791 it would not be a usable path */
	if (r == 0 && ifr.ifr_mtu >= 576 && t->mss_loopback > (unsigned)ifr.ifr_mtu - 48)
		t->mss_loopback = (uint16_t)(ifr.ifr_mtu - 48);
}

/* Loads file + overrides into c.  0 or -1 with err. */
static int load_config(const struct toud *d, struct toud_config *c, char *err, size_t errlen)
{
	config_default(c);
	if (config_load(c, d->config_path, !d->config_explicit, err, errlen) != 0)
		return -1;
	for (int i = 0; i < d->n_overrides; i++)
		if (config_override(c, d->overrides[i], err, errlen) != 0)
			return -1;
	/* [key] sections are complete only now: read their secret files */
	if (keys_finish(&c->keys, err, errlen) != 0)
		return -1;
	/* [forward] and [service] sections are complete only now */
	char e[400];
	if (fwd_conf_check(&c->fwd, &c->keys, e, sizeof e) != 0) {
		snprintf(err, errlen, "%s: %s", d->config_path, e);
		return -1;
	}
	/* room in the engine for the TCBs the API no longer counts: half-open
	 * ones and orphans finishing their close (TIME-WAIT has its own
	 * bound, max_time_wait) */
	c->tcp.max_connections = c->max_connections * 2;
	if (c->tcp.mss_loopback)
		cap_loopback_mss(&c->tcp);
	return 0;
}

static void print_line(void *arg, const char *line)
{
	fprintf(arg, "%s\n", line);
}

/* The shards read d->cfg and d->stopping on their threads: the main
 * thread changes them with every shard's lock held (shard.h). */
static void lock_all(struct toud *d)
{
	for (unsigned i = 0; i < d->n_shards; i++)
		shard_lock(&d->shards[i]);
}

static void unlock_all(struct toud *d)
{
	for (unsigned i = d->n_shards; i-- > 0;)
		shard_unlock(&d->shards[i]);
}

/* ---- shutdown ---- */

static void on_handle_closed_noop(uv_handle_t *h)
{
	(void)h;
}

static void finish(struct daemon *m)
{
	if (m->finished)
		return;
	m->finished = 1;
	log_info("all streams closed; exiting");
	if (m->shutdown_timers_on) {
		uv_close((uv_handle_t *)&m->shutdown_deadline, on_handle_closed_noop);
		uv_close((uv_handle_t *)&m->shutdown_poll, on_handle_closed_noop);
	}
	uv_close((uv_handle_t *)&m->sig_term, on_handle_closed_noop);
	uv_close((uv_handle_t *)&m->sig_int, on_handle_closed_noop);
	uv_close((uv_handle_t *)&m->sig_hup, on_handle_closed_noop);
	if (m->watchdog_on)
		notify_watchdog_stop(&m->watchdog);
	api_close(m->d.api);
	forward_stop(m->d.fwd);
	loop_stop(&m->d);
}

static void on_shutdown_poll(uv_timer_t *t)
{
	struct daemon *m = t->data;
	if (api_live_connections(m->d.api) == 0)
		finish(m);
}

static void reset_all_and_finish(struct daemon *m)
{
	unsigned n = api_live_connections(m->d.api);
	if (n)
		log_warn("shutdown_timeout reached: resetting %u remaining connection(s)", n);
	api_abort_all(m->d.api);
	loop_turn_all(&m->d); /* the bridges send their RSTs, the queue is flushed */
	finish(m);
}

static void on_shutdown_deadline(uv_timer_t *t)
{
	reset_all_and_finish(t->data);
}

static void begin_shutdown(struct daemon *m, int signum)
{
	struct toud *d = &m->d;
	if (d->stopping) {
		log_notice("%s again: resetting every connection now", strsignal(signum));
		reset_all_and_finish(m);
		return;
	}
	lock_all(d);
	d->stopping = 1;
	unlock_all(d);
	notify_stopping();
	log_notice("%s: shutting down (%u connection(s), up to %llu ms)", strsignal(signum),
		   api_live_connections(d->api), (unsigned long long)(d->cfg.shutdown_timeout / 1000));
	api_stop_accepting(d->api);
	forward_stop(d->fwd);
	api_shutdown(d->api);
	loop_turn_all(d);
	uv_timer_init(d->loop, &m->shutdown_deadline);
	uv_timer_init(d->loop, &m->shutdown_poll);
	m->shutdown_deadline.data = m->shutdown_poll.data = m;
	m->shutdown_timers_on = 1;
	uv_timer_start(&m->shutdown_deadline, on_shutdown_deadline, d->cfg.shutdown_timeout / 1000, 0);
	uv_timer_start(&m->shutdown_poll, on_shutdown_poll, 0, 20);
}

/* ---- reload ---- */

struct dump {
	char lines[64][700];
	int n;
};

static void dump_line(void *arg, const char *line)
{
	struct dump *d = arg;
	if (d->n < 64)
		snprintf(d->lines[d->n++], sizeof d->lines[0], "%s", line);
}

static int restart_only(const char *section, const char *line)
{
	static const char *const keys[] = { "udp ", "socket ", "socket_mode ", "socket_group ", "pcap ",
					    "user ", "syslog ", "threads ", "busy_poll ",
					    "udp_receive_buffer " };
	if (strcmp(section, "[daemon]") != 0)
		return 0;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strncmp(line, keys[i], strlen(keys[i])) == 0)
			return 1;
	return 0;
}

/* File descriptors beyond the connections: UDP and API sockets, forward
 * listeners, the loop's epoll, eventfd and signal pipe, syslog, pcap. */
#define TOUD_FD_SPARE 64

/* Every forwarded connection (its kernel socket), API stream and API
 * client holds one file descriptor.  The usual soft RLIMIT_NOFILE of a
 * shell (1024) would stop a daemon near 1000 forwarded connections, far
 * below [limits] max_connections: accept(2) fails with EMFILE and libuv
 * closes the kernel's pending connections unannounced.  So the soft limit
 * is raised to what max_connections + max_api_clients need (the hard
 * limit allowing; systemd/toud.service sets LimitNOFILE=65536), and a
 * hard limit too low for them is said plainly. */
static void fit_fd_limit(const struct toud_config *c)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = (rlim_t)c->max_connections + c->max_api_clients + TOUD_FD_SPARE;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	if (rl.rlim_cur > was && setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("open files: cannot raise the soft limit from %llu to %llu: %s", (unsigned long long)was,
			 (unsigned long long)rl.rlim_cur, strerror(errno));
		rl.rlim_cur = was;
	}
	if (rl.rlim_cur < want)
		log_warn("open files: the limit is %llu, max_connections = %u and max_api_clients = %u need %llu: "
			 "connections beyond it fail (raise LimitNOFILE= or ulimit -Hn, or lower the limits)",
			 (unsigned long long)rl.rlim_cur, c->max_connections, c->max_api_clients,
			 (unsigned long long)want);
	else
		log_info("open files: soft limit raised from %llu to %llu for max_connections = %u and "
			 "max_api_clients = %u", (unsigned long long)was, (unsigned long long)rl.rlim_cur,
			 c->max_connections, c->max_api_clients);
}

static void reload(struct toud *d)
{
	struct toud_config *nc = malloc(sizeof *nc);
	struct dump *dumps = calloc(2, sizeof *dumps); /* before, after */
	char err[512];
	if (!nc || !dumps) {
		free(nc);
		free(dumps);
		log_err("reload: out of memory");
		return;
	}
	struct dump *before = &dumps[0], *after = &dumps[1];
	notify_reloading();
	if (load_config(d, nc, err, sizeof err) != 0) {
		log_err("reload refused, configuration unchanged: %s", err);
		free(nc);
		free(dumps);
		notify_ready("running (reload refused)");
		return;
	}
	config_dump(&d->cfg, dump_line, before);
	config_dump(nc, dump_line, after);
	const char *section = "";
	int changed = 0, restart = 0;
	for (int i = 0; i < before->n && i < after->n; i++) {
		if (before->lines[i][0] == '[') {
			section = before->lines[i];
			if (strncmp(section, "[key ", 5) == 0 || strncmp(section, "[forward ", 9) == 0 ||
			    strncmp(section, "[service ", 9) == 0)
				break; /* the keys, forwards and services are reported on their own below */
			continue;
		}
		if (strcmp(before->lines[i], after->lines[i]) == 0)
			continue;
		/* "key = value" lines: report as section.key: old -> new */
		const char *eq_old = strstr(before->lines[i], " = ");
		const char *eq_new = strstr(after->lines[i], " = ");
		if (!eq_old || !eq_new)
			continue;
		int klen = (int)(eq_old - before->lines[i]);
		int slen = (int)strlen(section) - 2;
		if (restart_only(section, before->lines[i])) {
			log_warn("reload: %.*s.%.*s: %s -> %s needs a restart; keeping the running value", slen,
				 section + 1, klen, before->lines[i], eq_old + 3, eq_new + 3);
			restart = 1;
		} else {
			log_notice("reload: %.*s.%.*s: %s -> %s", slen, section + 1, klen, before->lines[i],
				   eq_old + 3, eq_new + 3);
			changed++;
		}
	}
	free(dumps);
	/* keep what cannot change at run time */
	memcpy(nc->udp, d->cfg.udp, sizeof nc->udp);
	memcpy(nc->udp_addrs, d->cfg.udp_addrs, sizeof nc->udp_addrs);
	nc->n_udp = d->cfg.n_udp;
	memcpy(nc->socket, d->cfg.socket, sizeof nc->socket);
	nc->socket_mode = d->cfg.socket_mode;
	memcpy(nc->socket_group, d->cfg.socket_group, sizeof nc->socket_group);
	memcpy(nc->pcap, d->cfg.pcap, sizeof nc->pcap);
	nc->udp_receive_buffer = d->cfg.udp_receive_buffer;
	/* every shard's engine checks the same settings the same way: the
	 * first refuses before any has changed, or none refuses */
	lock_all(d);
	int r = 0;
	for (unsigned i = 0; i < d->n_shards && r == 0; i++)
		r = tcp_stack_reconfigure(d->shards[i].stack, &nc->tcp);
	if (r != 0) {
		unlock_all(d);
		log_err("reload: the engine refused the [tcp] settings (%s); configuration unchanged", tcp_strerror(r));
		free(nc);
		notify_ready("running (reload refused)");
		return;
	}
	for (unsigned i = 0; i < d->n_shards && r == 0; i++)
		r = keys_apply(d->shards[i].stack, &nc->keys);
	if (r != 0) {
		unlock_all(d);
		log_err("reload: the engine refused the TCP-AO keys (%s); configuration unchanged", tcp_strerror(r));
		keys_clear(&nc->keys);
		free(nc);
		notify_ready("running (reload refused)");
		return;
	}
	if (nc->keys.n || d->cfg.keys.n)
		log_notice("reload: TCP-AO: %u key(s) (was %u); open connections keep the keys they use",
			   nc->keys.n, d->cfg.keys.n);
	d->cfg = *nc; /* every part reads its limits from d->cfg when it needs them */
	unlock_all(d);
	keys_clear(&nc->keys);
	free(nc);
	log_set_level(d->cfg.log_level);
	fit_fd_limit(&d->cfg);
	/* [forward] / [service]: added, changed and removed (forward.c) */
	int fwd_failed = forward_reload(d, &changed);
	log_notice("configuration reloaded from %s: %d change(s)%s%s", d->config_path, changed,
		   restart ? ", some need a restart" : "",
		   fwd_failed ? ", some [forward]/[service] sections could not start" : "");
	notify_ready("running");
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *m = h->data;
	if (signum == SIGHUP) {
		if (!m->d.stopping)
			reload(&m->d);
		return;
	}
	begin_shutdown(m, signum);
}

/* ---- main ---- */

/* [daemon] threads: auto (the default) is one shard per CPU we may run
 * on, at most TOUD_AUTO_THREADS_MAX. */
static unsigned shard_count(const struct toud *d)
{
	unsigned n = d->cfg.threads;
	if (n == 0) {
		cpu_set_t set;
		n = sched_getaffinity(0, sizeof set, &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
		if (n < 1)
			n = 1;
		if (n > TOUD_AUTO_THREADS_MAX)
			n = TOUD_AUTO_THREADS_MAX;
	}
	if (n > 1 && d->n_udp_fds > 0) {
		/* said plainly only if asked for explicitly */
		log_msg(d->cfg.threads ? LOG_LVL_NOTICE : LOG_LVL_INFO,
			"threads = %u: the UDP sockets systemd passed cannot be multiplied; one engine shard", n);
		n = 1;
	}
	return n;
}

static void get_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("getrandom: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_PCAP };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "option", required_argument, NULL, 'o' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "pcap", required_argument, NULL, OPT_PCAP },
		{ "foreground", no_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int check_only = 0, ch;
	struct daemon m = { 0 }; /* reached through its handles' data */
	struct toud *d = &m.d;
	d->config_path = TOUD_DEFAULT_CONFIG;
	d->overrides = calloc((size_t)argc + 1, sizeof *d->overrides);
	if (!d->overrides)
		return 1;
	while ((ch = getopt_long(argc, argv, "c:o:fVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d->config_path = optarg;
			d->config_explicit = 1;
			break;
		case 'o':
			d->overrides[d->n_overrides++] = optarg;
			break;
		case OPT_CHECK:
			check_only = 1;
			break;
		case OPT_PCAP:
			d->pcap_path = optarg;
			break;
		case 'f':
			break;
		case 'V':
			printf("toud %s\n", TOU_VERSION);
			return 0;
		case 'h':
			usage_exit(0);
			break;
		default:
			fprintf(stderr, "Try 'toud --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "toud: unexpected argument \"%s\"\nTry 'toud --help'.\n", argv[optind]);
		return 2;
	}
	char err[512];
	if (load_config(d, &d->cfg, err, sizeof err) != 0) {
		fprintf(stderr, "toud: %s\n", err);
		return 2;
	}
	if (check_only) {
		printf("# %s: configuration OK; effective values:\n", d->config_path);
		config_dump(&d->cfg, print_line, stdout);
		return 0;
	}
	log_init(d->cfg.log_level);
	log_set_syslog(d->cfg.syslog);
	signal(SIGPIPE, SIG_IGN);
	fit_fd_limit(&d->cfg);
	d->api_fd = -1;
	d->loop = uv_default_loop();
	d->started_us = toud_now();

	uint8_t secret[16];
	uint64_t seed;
	get_random(secret, sizeof secret);
	get_random(&seed, sizeof seed);
	notify_listen_fds(d);
	const char *pcap = d->pcap_path ? d->pcap_path : (d->cfg.pcap[0] ? d->cfg.pcap : NULL);
	if (pcap) {
		d->pcap = pcap_open(pcap, err, sizeof err);
		if (!d->pcap)
			fatal("pcap: %s", err);
		log_info("capturing every segment to %s", pcap);
	}
	if (loop_start(d, shard_count(d), secret, seed) != 0)
		fatal("cannot start the TCP stack and the UDP sockets; exiting");
	if (api_start(d) != 0)
		fatal("cannot open the API socket %s; exiting", d->cfg.socket);
	if (forward_start(d) != 0)
		fatal("cannot start the [forward] and [service] sections; exiting");
	forward_set_end_hook(d->fwd, api_record_end, d->api); /* the forwards live on shard 0 */
	if (d->cfg.user[0] && privdrop(d->cfg.user, d->api_fd < 0 ? d->cfg.socket : NULL, err, sizeof err) != 0)
		fatal("user %s: %s; exiting", d->cfg.user, err);
	if (loop_threads_start(d) != 0)
		fatal("cannot start the engine threads; exiting");

	uv_signal_init(d->loop, &m.sig_term);
	uv_signal_init(d->loop, &m.sig_int);
	uv_signal_init(d->loop, &m.sig_hup);
	m.sig_term.data = m.sig_int.data = m.sig_hup.data = &m;
	uv_signal_start(&m.sig_term, on_signal, SIGTERM);
	uv_signal_start(&m.sig_int, on_signal, SIGINT);
	uv_signal_start(&m.sig_hup, on_signal, SIGHUP);

	char udp[512];
	udp_describe(d->shards[0].udp, udp, sizeof udp);
	log_notice("toud %s started: udp %s, api %s, congestion %s, pid %d", TOU_VERSION, udp,
		   d->api_fd >= 0 ? "(socket-activated)" : d->cfg.socket,
		   config_cc_name(d->cfg.tcp.cc), (int)getpid());
	char status[700];
	snprintf(status, sizeof status, "udp %s, api %s", udp, d->cfg.socket);
	notify_ready(status);
	m.watchdog_on = notify_watchdog_start(d->loop, &m.watchdog) == 1;

	uv_run(d->loop, UV_RUN_DEFAULT);
	loop_join(d); /* the other shards' threads end once their handles have closed */

	pcap_close(d->pcap);
	d->pcap = NULL;
	/* let every close callback run, then free the loop and the parts */
	uv_run(d->loop, UV_RUN_DEFAULT);
	uv_loop_close(d->loop);
	api_free(d);
	forward_free(d);
	loop_free(d);
	free(d->overrides);
	log_info("stopped");
	return 0;
}

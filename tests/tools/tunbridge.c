/*
 * tunbridge - the kernel-interop bridge of docs/DESIGN.md section 8.
 *
 * It joins the Linux kernel's own TCP to toud:
 *
 *   kernel TCP <-> TUN device <-> tunbridge <-> UDP <-> toud
 *
 * TUN -> UDP: an IPv4 (or IPv6) packet carrying TCP that the kernel routes
 *   into the TUN device loses its IP header; the TCP segment (header, options,
 *   data) becomes one UDP datagram sent to toud (docs/DESIGN.md section 3: "Each UDP payload
 *   is exactly one RFC 9293 TCP segment").  The kernel's checksum is left in
 *   place; toud does not verify it.
 *
 * UDP -> TUN: a datagram from toud gets an IP header with the synthetic
 *   addresses given on the command line (source = toud's address, destination
 *   = the kernel side) and a correct TCP checksum (RFC 9293 3.1: "The
 *   checksum field is the 16-bit ones' complement of the ones' complement sum
 *   of all 16-bit words in the header and text" over the pseudo-header), since
 *   tou sends the checksum field as 0.  Then it is written to the TUN device.
 *
 * One UDP socket per address family: datagrams from toud to the IPv4 socket
 * become IPv4 packets, those to the IPv6 socket (--udp6) IPv6 packets.
 *
 * Optional impairment (--loss PCT --seed N): drops datagrams in both
 * directions with a seeded PRNG, for kernels without sch_netem.
 *
 * --netns NAME creates the TUN device inside the network namespace NAME
 * (/run/netns/NAME, as made by `ip netns add`) while the UDP sockets stay in
 * the caller's namespace.  Two bridges so placed put two kernel TCPs in two
 * namespaces on either side of a UDP path (bench/grid.sh: kernel TCP through
 * the impairment relay, tests/tools/relay.c, the path tou's daemons take).
 *
 * Bounded: exits on SIGTERM/SIGINT and after --max-seconds.  Prints its
 * counters on stderr at exit.  Exit status 0 on a signal or time limit, 1 on
 * a runtime error, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IPPROTO_TCP_NUM 6
#define TCP_MIN_HDR 20   /* RFC 9293 3.1: data offset >= 5 words */
#define IP4_HDR 20
#define IP6_HDR 40
#define MAX_PKT 65536

static volatile sig_atomic_t stop_signal;
static int verbose;
static int log_syn; /* --log-syn: print SYN segments with their options */

static void on_signal(int sig) { stop_signal = sig; }

static void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "tunbridge: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'tunbridge --help'.\n");
	va_end(ap);
	exit(2);
}

static void usage(void)
{
	printf(
"Usage: tunbridge --tun NAME --peer IP:PORT --local-ip IP --remote-ip IP [options]\n"
"Bridge the kernel's TCP (through a TUN device) and toud (TCP segments in UDP).\n"
"\n"
"  --tun NAME          TUN device to create or attach to (IFF_TUN|IFF_NO_PI)\n"
"  --netns NAME        create the TUN device in network namespace NAME\n"
"                      (/run/netns/NAME); the UDP sockets stay in this one\n"
"  --peer IP:PORT      toud's IPv4 UDP address (segments from the TUN go there)\n"
"  --bind IP:PORT      local IPv4 UDP address (default 127.0.0.1:0)\n"
"  --local-ip IP       kernel-side IPv4 address: destination of packets from toud\n"
"  --remote-ip IP      toud's synthetic IPv4 address: packets to it go to toud\n"
"  --peer6 [IP]:PORT   toud's IPv6 UDP address (enables IPv6)\n"
"  --bind6 [IP]:PORT   local IPv6 UDP address (default [::1]:0)\n"
"  --local-ip6 IP      kernel-side IPv6 address\n"
"  --remote-ip6 IP     toud's synthetic IPv6 address\n"
"  --loss PCT          drop this percentage of packets in each direction (0-100)\n"
"  --seed N            PRNG seed for --loss (default 1)\n"
"  --max-seconds N     exit after N seconds (default: run until SIGTERM)\n"
"  --port-file FILE    write the bound UDP port(s) there once ready\n"
"  --log-syn           log SYN segments with their options on stderr\n"
"  -v, --verbose       log every packet (with options) on stderr\n"
"  -h, --help          this text\n");
}

/* ---- small PRNG (splitmix64): reproducible loss patterns ---- */
static uint64_t prng_state = 1;
static uint64_t prng_next(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- ones' complement checksum (RFC 1071) ---- */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- address parsing ---- */
static int parse_hostport(const char *s, int family, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon, *port_s;
	char *end;
	long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		const char *rb;
		if (s[0] != '[' || !(rb = strchr(s, ']')) || rb[1] != ':')
			return -1;
		hl = (size_t)(rb - s - 1);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
		port_s = rb + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = 0;
		port_s = colon + 1;
	}
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (errno || *port_s == 0 || *end || port < 0 || port > 65535)
		return -1;
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -1;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -1;
	}
	return 0;
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

static uint16_t ss_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* ---- one address family's lane ---- */
struct lane {
	int enabled;
	int family;                     /* AF_INET / AF_INET6 */
	int fd;                         /* UDP socket */
	struct sockaddr_storage bind, peer;
	uint8_t local_ip[16], remote_ip[16]; /* kernel side, toud side */
	uint64_t tun_to_udp, udp_to_tun, lost_tun, lost_udp, foreign_udp, bad_udp;
};

static struct counters {
	uint64_t tun_in, not_tcp, not_ours, bad_ip;
} ctr;

static int lossy(double loss_pct)
{
	if (loss_pct <= 0)
		return 0;
	return (double)(prng_next() >> 11) / 9007199254740992.0 * 100.0 < loss_pct;
}

/* The options of a segment as text ("mss 1452 sackOK ts 1/0 nop wscale 7"). */
static void opts_str(const uint8_t *t, size_t len, char *out, size_t outlen)
{
	size_t doff = (t[12] >> 4) * 4u, i = TCP_MIN_HDR, o = 0;
	out[0] = 0;
	if (doff > len)
		doff = len;
	while (i < doff && o + 32 < outlen) {
		uint8_t kind = t[i], ol;
		if (kind == 0)
			break;
		if (kind == 1) {
			o += (size_t)snprintf(out + o, outlen - o, " nop");
			i++;
			continue;
		}
		if (i + 1 >= doff || (ol = t[i + 1]) < 2 || i + ol > doff) {
			o += (size_t)snprintf(out + o, outlen - o, " malformed");
			break;
		}
		if (kind == 2 && ol == 4)
			o += (size_t)snprintf(out + o, outlen - o, " mss %u", t[i + 2] << 8 | t[i + 3]);
		else if (kind == 3 && ol == 3)
			o += (size_t)snprintf(out + o, outlen - o, " wscale %u", t[i + 2]);
		else if (kind == 4 && ol == 2)
			o += (size_t)snprintf(out + o, outlen - o, " sackOK");
		else if (kind == 8 && ol == 10)
			o += (size_t)snprintf(out + o, outlen - o, " ts %u/%u",
					      (unsigned)t[i + 2] << 24 | (unsigned)t[i + 3] << 16 | (unsigned)t[i + 4] << 8 | t[i + 5],
					      (unsigned)t[i + 6] << 24 | (unsigned)t[i + 7] << 16 | (unsigned)t[i + 8] << 8 | t[i + 9]);
		else if (kind == 5)
			o += (size_t)snprintf(out + o, outlen - o, " sack(%u)", (ol - 2u) / 8u);
		else
			o += (size_t)snprintf(out + o, outlen - o, " opt%u/%u", kind, ol);
		i += ol;
	}
}

static void log_seg(const char *dir, const uint8_t *t, size_t len)
{
	char opts[256];
	if (len < TCP_MIN_HDR || !(verbose || (log_syn && (t[13] & 0x02))))
		return;
	opts_str(t, len, opts, sizeof(opts));
	uint32_t seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
	uint32_t ack = (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];
	unsigned doff = (t[12] >> 4) * 4u;
	uint8_t f = t[13];
	fprintf(stderr, "tunbridge: %s %u>%u [%s%s%s%s%s%s%s%s] seq=%u ack=%u win=%u len=%zu%s%s\n", dir,
		t[0] << 8 | t[1], t[2] << 8 | t[3],
		f & 0x02 ? "S" : "", f & 0x10 ? "." : "", f & 0x01 ? "F" : "", f & 0x04 ? "R" : "",
		f & 0x08 ? "P" : "", f & 0x20 ? "U" : "", f & 0x40 ? "E" : "", f & 0x80 ? "W" : "",
		seq, ack, t[14] << 8 | t[15],
		doff <= len ? len - doff : 0, opts[0] ? " opts" : "", opts);
}

/* A packet from the kernel: strip IP, send the TCP segment to toud. */
static void from_tun(struct lane lanes[2], const uint8_t *pkt, size_t n, double loss)
{
	struct lane *ln;
	const uint8_t *seg;
	size_t seglen;

	ctr.tun_in++;
	if (n < 1) {
		ctr.bad_ip++;
		return;
	}
	if ((pkt[0] >> 4) == 4) {
		size_t ihl, tot;
		ln = &lanes[0];
		if (n < IP4_HDR) {
			ctr.bad_ip++;
			return;
		}
		ihl = (pkt[0] & 0x0f) * 4u;
		tot = (size_t)pkt[2] << 8 | pkt[3];
		if (ihl < IP4_HDR || tot < ihl || tot > n) {
			ctr.bad_ip++;
			return;
		}
		if (pkt[9] != IPPROTO_TCP_NUM || (pkt[6] & 0x3f) || pkt[7]) { /* not TCP, or a fragment */
			ctr.not_tcp++;
			return;
		}
		if (!ln->enabled || memcmp(pkt + 16, ln->remote_ip, 4)) {
			ctr.not_ours++;
			return;
		}
		seg = pkt + ihl;
		seglen = tot - ihl;
	} else if ((pkt[0] >> 4) == 6) {
		size_t plen;
		ln = &lanes[1];
		if (n < IP6_HDR) {
			ctr.bad_ip++;
			return;
		}
		plen = (size_t)pkt[4] << 8 | pkt[5];
		if (IP6_HDR + plen > n) {
			ctr.bad_ip++;
			return;
		}
		if (pkt[6] != IPPROTO_TCP_NUM) { /* extension headers: not handled */
			ctr.not_tcp++;
			return;
		}
		if (!ln->enabled || memcmp(pkt + 24, ln->remote_ip, 16)) {
			ctr.not_ours++;
			return;
		}
		seg = pkt + IP6_HDR;
		seglen = plen;
	} else {
		ctr.bad_ip++;
		return;
	}
	if (seglen < TCP_MIN_HDR) {
		ctr.bad_ip++;
		return;
	}
	if (lossy(loss)) {
		ln->lost_tun++;
		return;
	}
	log_seg("kernel->toud", seg, seglen);
	if (sendto(ln->fd, seg, seglen, 0, (const struct sockaddr *)&ln->peer, ss_len(&ln->peer)) < 0) {
		if (errno != ECONNREFUSED && errno != EAGAIN && errno != EWOULDBLOCK)
			fprintf(stderr, "tunbridge: sendto toud: %s\n", strerror(errno));
		return;
	}
	ln->tun_to_udp++;
}

/* A segment from toud: add an IP header and a TCP checksum, write to TUN. */
static int from_udp(int tunfd, struct lane *ln, uint8_t *seg, size_t n, double loss)
{
	static uint8_t pkt[MAX_PKT + IP6_HDR];
	uint32_t sum;
	size_t hl;
	uint16_t ck;

	if (n < TCP_MIN_HDR || n + IP6_HDR > sizeof(pkt)) {
		ln->bad_udp++; /* toud sent something that is not a TCP segment: pass nothing */
		return 0;
	}
	if (lossy(loss)) {
		ln->lost_udp++;
		return 0;
	}
	log_seg("toud->kernel", seg, n);
	if (ln->family == AF_INET) {
		hl = IP4_HDR;
		memset(pkt, 0, hl);
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)((n + hl) >> 8);
		pkt[3] = (uint8_t)(n + hl);
		pkt[6] = 0x40; /* DF */
		pkt[8] = 64;   /* TTL */
		pkt[9] = IPPROTO_TCP_NUM;
		memcpy(pkt + 12, ln->remote_ip, 4);
		memcpy(pkt + 16, ln->local_ip, 4);
		ck = csum_fold(csum_add(0, pkt, hl));
		pkt[10] = (uint8_t)(ck >> 8);
		pkt[11] = (uint8_t)ck;
		/* pseudo-header: src, dst, zero, protocol, TCP length */
		sum = csum_add(0, pkt + 12, 8);
		sum += IPPROTO_TCP_NUM + (uint32_t)n;
	} else {
		hl = IP6_HDR;
		memset(pkt, 0, hl);
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)(n >> 8);
		pkt[5] = (uint8_t)n;
		pkt[6] = IPPROTO_TCP_NUM;
		pkt[7] = 64; /* hop limit */
		memcpy(pkt + 8, ln->remote_ip, 16);
		memcpy(pkt + 24, ln->local_ip, 16);
		/* RFC 8200 8.1 pseudo-header: src, dst, upper-layer length, next header */
		sum = csum_add(0, pkt + 8, 32);
		sum += (uint32_t)(n >> 16) + (uint32_t)(n & 0xffff) + IPPROTO_TCP_NUM;
	}
	memcpy(pkt + hl, seg, n);
	pkt[hl + 16] = pkt[hl + 17] = 0;
	ck = csum_fold(csum_add(sum, pkt + hl, n));
	pkt[hl + 16] = (uint8_t)(ck >> 8);
	pkt[hl + 17] = (uint8_t)ck;
	if (write(tunfd, pkt, hl + n) < 0) {
		if (errno == EIO || errno == EINVAL || errno == EAGAIN) {
			fprintf(stderr, "tunbridge: write to tun: %s\n", strerror(errno));
			return 0;
		}
		fprintf(stderr, "tunbridge: write to tun: %s\n", strerror(errno));
		return -1;
	}
	ln->udp_to_tun++;
	return 0;
}

static int open_tun(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "tunbridge: open /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tunbridge: TUNSETIFF %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The TUN device opened inside network namespace NAME: this thread enters
 * it (setns(2)), opens the device there and comes back, so the UDP sockets
 * opened afterwards belong to the namespace the bridge was started in. */
static int open_tun_in(const char *name, const char *netns)
{
	char path[4096];
	int home, there, fd;
	if (!netns)
		return open_tun(name);
	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	there = open(path, O_RDONLY | O_CLOEXEC);
	if (home < 0 || there < 0) {
		fprintf(stderr, "tunbridge: open %s: %s\n", home < 0 ? "/proc/self/ns/net" : path,
			strerror(errno));
		if (home >= 0)
			close(home);
		return -1;
	}
	if (setns(there, CLONE_NEWNET) < 0) {
		fprintf(stderr, "tunbridge: setns %s: %s\n", path, strerror(errno));
		close(home);
		close(there);
		return -1;
	}
	fd = open_tun(name);
	if (setns(home, CLONE_NEWNET) < 0) {
		fprintf(stderr, "tunbridge: setns back: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	close(home);
	close(there);
	return fd;
}

static int open_udp(struct lane *ln)
{
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	int buf = 4 << 20;
	ln->fd = socket(ln->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ln->fd < 0) {
		fprintf(stderr, "tunbridge: socket: %s\n", strerror(errno));
		return -1;
	}
	/* Bursts of a few MB: give the socket room (best effort). */
	(void)setsockopt(ln->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	(void)setsockopt(ln->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(ln->fd, (struct sockaddr *)&ln->bind, ss_len(&ln->bind)) < 0) {
		fprintf(stderr, "tunbridge: bind UDP: %s\n", strerror(errno));
		return -1;
	}
	if (getsockname(ln->fd, (struct sockaddr *)&got, &gl) == 0)
		ln->bind = got;
	return 0;
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tun", required_argument, NULL, 't' },
		{ "netns", required_argument, NULL, 'n' },
		{ "peer", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "local-ip", required_argument, NULL, 'l' },
		{ "remote-ip", required_argument, NULL, 'r' },
		{ "peer6", required_argument, NULL, 'P' },
		{ "bind6", required_argument, NULL, 'B' },
		{ "local-ip6", required_argument, NULL, 'L' },
		{ "remote-ip6", required_argument, NULL, 'R' },
		{ "loss", required_argument, NULL, 'x' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-seconds", required_argument, NULL, 'm' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "log-syn", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lane lanes[2];
	const char *tun_name = NULL, *port_file = NULL, *netns = NULL;
	const char *peer4 = NULL, *bind4 = "127.0.0.1:0", *lip4 = NULL, *rip4 = NULL;
	const char *peer6 = NULL, *bind6 = "[::1]:0", *lip6 = NULL, *rip6 = NULL;
	double loss = 0, max_seconds = 0, deadline = 0;
	static uint8_t buf[MAX_PKT];
	int c, tunfd, rc = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 't': tun_name = optarg; break;
		case 'n': netns = optarg; break;
		case 'p': peer4 = optarg; break;
		case 'b': bind4 = optarg; break;
		case 'l': lip4 = optarg; break;
		case 'r': rip4 = optarg; break;
		case 'P': peer6 = optarg; break;
		case 'B': bind6 = optarg; break;
		case 'L': lip6 = optarg; break;
		case 'R': rip6 = optarg; break;
		case 'x':
			loss = strtod(optarg, &end);
			if (*end || loss < 0 || loss > 100)
				die_usage("--loss wants a percentage 0-100, got '%s'", optarg);
			break;
		case 's':
			errno = 0;
			prng_state = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg)
				die_usage("--seed wants an integer, got '%s'", optarg);
			break;
		case 'm':
			max_seconds = strtod(optarg, &end);
			if (*end || max_seconds <= 0)
				die_usage("--max-seconds wants a positive number, got '%s'", optarg);
			break;
		case 'f': port_file = optarg; break;
		case 'v': verbose = 1; break;
		case 'S': log_syn = 1; break;
		case 'h': usage(); return 0;
		default: die_usage("unknown option");
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (!tun_name || strlen(tun_name) >= IFNAMSIZ)
		die_usage("--tun NAME is required (at most %d characters)", IFNAMSIZ - 1);
	if (!peer4 && !peer6)
		die_usage("--peer (or --peer6) is required");

	memset(lanes, 0, sizeof(lanes));
	lanes[0].family = AF_INET;
	lanes[1].family = AF_INET6;
	lanes[0].fd = lanes[1].fd = -1;
	if (peer4) {
		lanes[0].enabled = 1;
		if (parse_hostport(peer4, AF_INET, &lanes[0].peer))
			die_usage("--peer wants IPv4:PORT, got '%s'", peer4);
		if (parse_hostport(bind4, AF_INET, &lanes[0].bind))
			die_usage("--bind wants IPv4:PORT, got '%s'", bind4);
		if (!lip4 || !rip4)
			die_usage("--local-ip and --remote-ip are required with --peer");
		if (inet_pton(AF_INET, lip4, lanes[0].local_ip) != 1)
			die_usage("--local-ip wants an IPv4 address, got '%s'", lip4);
		if (inet_pton(AF_INET, rip4, lanes[0].remote_ip) != 1)
			die_usage("--remote-ip wants an IPv4 address, got '%s'", rip4);
	}
	if (peer6) {
		lanes[1].enabled = 1;
		if (parse_hostport(peer6, AF_INET6, &lanes[1].peer))
			die_usage("--peer6 wants [IPv6]:PORT, got '%s'", peer6);
		if (parse_hostport(bind6, AF_INET6, &lanes[1].bind))
			die_usage("--bind6 wants [IPv6]:PORT, got '%s'", bind6);
		if (!lip6 || !rip6)
			die_usage("--local-ip6 and --remote-ip6 are required with --peer6");
		if (inet_pton(AF_INET6, lip6, lanes[1].local_ip) != 1)
			die_usage("--local-ip6 wants an IPv6 address, got '%s'", lip6);
		if (inet_pton(AF_INET6, rip6, lanes[1].remote_ip) != 1)
			die_usage("--remote-ip6 wants an IPv6 address, got '%s'", rip6);
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	tunfd = open_tun_in(tun_name, netns);
	if (tunfd < 0)
		return 1;
	for (int i = 0; i < 2; i++)
		if (lanes[i].enabled && open_udp(&lanes[i]))
			return 1;
	if (port_file) {
		char tmp[4096];
		FILE *f;
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		f = fopen(tmp, "w");
		if (!f) {
			fprintf(stderr, "tunbridge: %s: %s\n", tmp, strerror(errno));
			return 1;
		}
		fprintf(f, "%u", lanes[0].enabled ? ss_port(&lanes[0].bind) : 0u);
		if (lanes[1].enabled)
			fprintf(f, " %u", ss_port(&lanes[1].bind));
		fprintf(f, "\n");
		if (fclose(f) || rename(tmp, port_file)) {
			fprintf(stderr, "tunbridge: %s: %s\n", port_file, strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "tunbridge: %s up, udp4 port %u%s", tun_name,
		lanes[0].enabled ? ss_port(&lanes[0].bind) : 0u, lanes[1].enabled ? ", udp6 port " : "");
	if (lanes[1].enabled)
		fprintf(stderr, "%u", ss_port(&lanes[1].bind));
	fprintf(stderr, ", loss %.2f%%\n", loss);

	if (max_seconds > 0)
		deadline = now_sec() + max_seconds;
	while (!stop_signal) {
		struct pollfd pfd[3];
		int nfds = 0, timeout = -1, idx[3];
		pfd[nfds].fd = tunfd;
		pfd[nfds].events = POLLIN;
		idx[nfds++] = -1;
		for (int i = 0; i < 2; i++)
			if (lanes[i].enabled) {
				pfd[nfds].fd = lanes[i].fd;
				pfd[nfds].events = POLLIN;
				idx[nfds++] = i;
			}
		if (deadline > 0) {
			double left = deadline - now_sec();
			if (left <= 0) {
				fprintf(stderr, "tunbridge: --max-seconds reached\n");
				break;
			}
			timeout = (int)(left * 1000) + 1;
		}
		int n = poll(pfd, (nfds_t)nfds, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tunbridge: poll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		for (int k = 0; k < nfds && rc == 0; k++) {
			if (!(pfd[k].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			/* drain a bounded batch so neither side starves the other */
			for (int burst = 0; burst < 64; burst++) {
				if (idx[k] < 0) {
					ssize_t r = read(tunfd, buf, sizeof(buf));
					if (r < 0) {
						if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
							break;
						fprintf(stderr, "tunbridge: read tun: %s\n", strerror(errno));
						rc = 1;
						break;
					}
					from_tun(lanes, buf, (size_t)r, loss);
				} else {
					struct lane *ln = &lanes[idx[k]];
					struct sockaddr_storage from;
					socklen_t fl = sizeof(from);
					ssize_t r = recvfrom(ln->fd, buf, sizeof(buf), MSG_DONTWAIT,
							     (struct sockaddr *)&from, &fl);
					if (r < 0) {
						if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
							break;
						if (errno == ECONNREFUSED) /* toud not (yet) there */
							continue;
						fprintf(stderr, "tunbridge: recvfrom: %s\n", strerror(errno));
						rc = 1;
						break;
					}
					if (!same_addr(&from, &ln->peer)) {
						ln->foreign_udp++;
						continue;
					}
					if (from_udp(tunfd, ln, buf, (size_t)r, loss)) {
						rc = 1;
						break;
					}
				}
			}
		}
		if (rc)
			break;
	}
	if (stop_signal)
		fprintf(stderr, "tunbridge: signal %d, exiting\n", (int)stop_signal);
	for (int i = 0; i < 2; i++) {
		struct lane *ln = &lanes[i];
		if (!ln->enabled)
			continue;
		fprintf(stderr,
			"tunbridge: %s: kernel->toud %llu, toud->kernel %llu, lost kernel->toud %llu, "
			"lost toud->kernel %llu, foreign udp %llu, bad udp %llu\n",
			i ? "ipv6" : "ipv4", (unsigned long long)ln->tun_to_udp,
			(unsigned long long)ln->udp_to_tun, (unsigned long long)ln->lost_tun,
			(unsigned long long)ln->lost_udp, (unsigned long long)ln->foreign_udp,
			(unsigned long long)ln->bad_udp);
	}
	fprintf(stderr, "tunbridge: tun packets %llu, not tcp %llu, not for toud %llu, bad ip %llu\n",
		(unsigned long long)ctr.tun_in, (unsigned long long)ctr.not_tcp,
		(unsigned long long)ctr.not_ours, (unsigned long long)ctr.bad_ip);
	close(tunfd);
	for (int i = 0; i < 2; i++)
		if (lanes[i].fd >= 0)
			close(lanes[i].fd);
	return rc;
}

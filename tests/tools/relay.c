/*
 * relay.c - the impairment relay of tou's integration tests (docs/DESIGN.md section 8).
 *
 * A small UDP forwarder placed between two toud daemons A and B:
 *
 *     toud A  --->  relay (one UDP socket)  --->  toud B
 *             <---                          <---
 *
 * Daemon A sends its datagrams to the relay's port; the relay forwards every
 * datagram that comes from B's address to A and every other one to B (A is
 * given with --a or learned as the first sender that is not B).  On the way
 * it drops (random % and bursts), delays (fixed + jitter), reorders,
 * duplicates and corrupts datagrams, each decision drawn from a seeded PRNG
 * (xoshiro256**, one stream per direction), so a run is deterministic given
 * the seed and the order of arrival.  Settings change at run time through a
 * control UDP port (text commands, see usage()) or SIGUSR1 (toggle
 * partition); counters are printed on exit and on SIGUSR2.
 *
 * Plain poll() + clock_gettime(); no libuv.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define RELAY_MAX_DGRAM 65536
#define RELAY_BATCH 64
#define RELAY_MAX_QUEUED 200000 /* datagrams waiting in the delay queue */
#define RELAY_MAX_HELD 64       /* datagrams held back for reordering, per direction */

enum { A2B = 0, B2A = 1, NDIR = 2 };
static const char *const dir_name[NDIR] = { "a2b", "b2a" };

enum corrupt_where { CORRUPT_ANY = 0, CORRUPT_HEADER, CORRUPT_DATA };

/* The impairments of one direction. Percentages are 0..100. */
struct impair {
	double loss;            /* % of datagrams dropped at random */
	double burst;           /* % chance that a datagram starts a loss burst */
	unsigned burst_len;     /* datagrams dropped per burst (incl. the first) */
	unsigned burst_ms;      /* ... or until this long has passed (0 = no limit) */
	unsigned delay_ms;      /* fixed delay */
	unsigned jitter_ms;     /* + uniform 0..jitter (this reorders, like netem) */
	double reorder;         /* % of datagrams held back ... */
	unsigned reorder_gap;   /* ... until this many later ones have passed */
	unsigned reorder_max_ms;/* ... or this long has passed */
	double dup;             /* % of datagrams sent twice */
	double corrupt;         /* % of datagrams with one bit flipped */
	enum corrupt_where corrupt_where;
	int partition;          /* 1 = drop everything */
};

struct counters {
	uint64_t rx, tx, rx_bytes, tx_bytes;
	uint64_t drop_loss, drop_burst, drop_partition, drop_overflow, send_errors;
	uint64_t delayed, reordered, duplicated, corrupted;
};

struct pkt {
	uint64_t due;   /* microseconds, monotonic */
	uint64_t seq;   /* tie breaker: FIFO among equal due times */
	int dir;
	unsigned gap;   /* reorder: later datagrams still to pass */
	uint64_t jit;   /* jitter draw, taken at arrival */
	size_t len;
	uint8_t data[];
};

/* xoshiro256** (Blackman and Vigna, public-domain algorithm), seeded by
 * splitmix64; written here from the published description. */
struct rng { uint64_t s[4]; };

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* uniform in [0, 100) */
static double rng_pct(struct rng *r) { return (double)(rng_next(r) >> 11) * (100.0 / 9007199254740992.0); }

struct dirstate {
	struct impair imp;
	struct rng rng;
	struct counters c;
	unsigned burst_left;
	uint64_t burst_until;   /* 0 = count only */
	struct pkt *held[RELAY_MAX_HELD];
	unsigned nheld;
};

static struct {
	int fd, ctl_fd;
	struct sockaddr_storage a, b;
	socklen_t alen, blen;
	int have_a;
	struct dirstate d[NDIR];
	uint64_t unknown;       /* datagrams from neither side once A is known */
	uint64_t ctl_cmds;
	/* delay queue: binary min-heap on (due, seq) */
	struct pkt **heap;
	size_t nheap, capheap;
	uint64_t seq;
	int verbose;
	/* replay (control "save" / "replay"): the latest A->B datagram that
	 * carries TCP payload, and the one saved from it */
	uint8_t last_data[RELAY_MAX_DGRAM], saved[RELAY_MAX_DGRAM];
	size_t last_data_len, saved_len;
} R;

static volatile sig_atomic_t sig_stop, sig_stats, sig_partition;

static void on_signal(int sig)
{
	if (sig == SIGUSR2)
		sig_stats = 1;
	else if (sig == SIGUSR1)
		sig_partition = 1;
	else
		sig_stop = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("relay: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* ---- addresses ---- */

/* "[v6]:port", "host:port", or "port" (host defaults to def_host). */
static int parse_addr(const char *spec, const char *def_host, struct sockaddr_storage *out,
		      socklen_t *outlen)
{
	char host[256], port[16];
	const char *colon;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof host)
			return -EINVAL;
		memcpy(host, spec + 1, (size_t)(end - spec - 1));
		host[end - spec - 1] = 0;
		colon = end + 1;
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		if ((size_t)(colon - spec) >= sizeof host)
			return -EINVAL;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
	} else {
		snprintf(host, sizeof host, "%s", def_host);
		colon = spec - 1;
	}
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port)
		return -EINVAL;
	snprintf(port, sizeof port, "%s", colon + 1);
	struct addrinfo hints = { 0 }, *res;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -EINVAL;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*outlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int addr_eq(const struct sockaddr_storage *x, const struct sockaddr_storage *y)
{
	if (x->ss_family != y->ss_family)
		return 0;
	if (x->ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)x, *q = (const void *)y;
		return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
	}
	if (x->ss_family == AF_INET6) {
		const struct sockaddr_in6 *p = (const void *)x, *q = (const void *)y;
		return p->sin6_port == q->sin6_port &&
		       memcmp(&p->sin6_addr, &q->sin6_addr, sizeof p->sin6_addr) == 0;
	}
	return 0;
}

static int bind_udp(const struct sockaddr_storage *sa, socklen_t len)
{
	int fd = socket(sa->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)one;
	if (bind(fd, (const struct sockaddr *)sa, len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* ---- settings ---- */

static void impair_clear(struct impair *im)
{
	memset(im, 0, sizeof *im);
	im->burst_len = 3;
	im->reorder_gap = 3;
	im->reorder_max_ms = 20;
}

static int parse_pct(const char *v, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || *end || !(x >= 0.0 && x <= 100.0))
		return -1;
	*out = x;
	return 0;
}

static int parse_uint(const char *v, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || x > max)
		return -1;
	*out = (unsigned)x;
	return 0;
}

/* Applies one setting "key value" (value NULL for flag keys) to directions
 * in mask (bit 0 a2b, bit 1 b2a).  Returns 0, or -1 with *err set. */
static int apply_setting(unsigned mask, const char *key, const char *val, const char **err)
{
	static const char *const flags[] = { "partition", "heal", "clear", NULL };
	int is_flag = 0;
	for (int i = 0; flags[i]; i++)
		if (strcmp(key, flags[i]) == 0)
			is_flag = 1;
	if (!is_flag && !val) {
		*err = "missing value";
		return -1;
	}
	for (int d = 0; d < NDIR; d++) {
		if (!(mask & (1u << d)))
			continue;
		struct impair *im = &R.d[d].imp, n = *im;
		int bad = 0;
		if (strcmp(key, "partition") == 0)
			n.partition = 1;
		else if (strcmp(key, "heal") == 0)
			n.partition = 0;
		else if (strcmp(key, "clear") == 0)
			impair_clear(&n);
		else if (strcmp(key, "loss") == 0)
			bad = parse_pct(val, &n.loss);
		else if (strcmp(key, "burst") == 0) {
			/* PCT[,LEN[,MS]] */
			char buf[64];
			snprintf(buf, sizeof buf, "%s", val);
			char *comma = strchr(buf, ',');
			if (comma) {
				*comma = 0;
				char *comma2 = strchr(comma + 1, ',');
				if (comma2) {
					*comma2 = 0;
					bad = parse_uint(comma2 + 1, 600000, &n.burst_ms);
				}
				bad = bad || parse_uint(comma + 1, 100000, &n.burst_len) ||
				      n.burst_len == 0;
			}
			bad = bad || parse_pct(buf, &n.burst);
		} else if (strcmp(key, "delay") == 0)
			bad = parse_uint(val, 60000, &n.delay_ms);
		else if (strcmp(key, "jitter") == 0)
			bad = parse_uint(val, 60000, &n.jitter_ms);
		else if (strcmp(key, "reorder") == 0)
			bad = parse_pct(val, &n.reorder);
		else if (strcmp(key, "reorder-gap") == 0)
			bad = parse_uint(val, 1000, &n.reorder_gap) || n.reorder_gap == 0;
		else if (strcmp(key, "reorder-max") == 0)
			bad = parse_uint(val, 60000, &n.reorder_max_ms);
		else if (strcmp(key, "dup") == 0)
			bad = parse_pct(val, &n.dup);
		else if (strcmp(key, "corrupt") == 0)
			bad = parse_pct(val, &n.corrupt);
		else if (strcmp(key, "corrupt-where") == 0) {
			if (strcmp(val, "any") == 0)
				n.corrupt_where = CORRUPT_ANY;
			else if (strcmp(val, "header") == 0)
				n.corrupt_where = CORRUPT_HEADER;
			else if (strcmp(val, "data") == 0)
				n.corrupt_where = CORRUPT_DATA;
			else
				bad = 1;
		} else {
			*err = "unknown setting";
			return -1;
		}
		if (bad) {
			*err = "bad value";
			return -1;
		}
		*im = n;
	}
	return 0;
}

static size_t format_stats(char *buf, size_t cap)
{
	size_t n = 0;
	for (int d = 0; d < NDIR; d++) {
		const struct counters *c = &R.d[d].c;
		const struct impair *im = &R.d[d].imp;
		n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0,
			"%s rx=%" PRIu64 " tx=%" PRIu64 " rx_bytes=%" PRIu64 " tx_bytes=%" PRIu64
			" drop_loss=%" PRIu64 " drop_burst=%" PRIu64 " drop_partition=%" PRIu64
			" drop_overflow=%" PRIu64 " send_errors=%" PRIu64 " delayed=%" PRIu64
			" reordered=%" PRIu64 " duplicated=%" PRIu64 " corrupted=%" PRIu64
			" | loss=%g burst=%g,%u,%u delay=%u jitter=%u reorder=%g,%u dup=%g corrupt=%g partition=%d\n",
			dir_name[d], c->rx, c->tx, c->rx_bytes, c->tx_bytes, c->drop_loss,
			c->drop_burst, c->drop_partition, c->drop_overflow, c->send_errors,
			c->delayed, c->reordered, c->duplicated, c->corrupted,
			im->loss, im->burst, im->burst_len, im->burst_ms, im->delay_ms, im->jitter_ms,
			im->reorder, im->reorder_gap, im->dup, im->corrupt, im->partition);
		if (n >= cap)
			return cap - 1;
	}
	n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "unknown=%" PRIu64 " queued=%zu\n",
			      R.unknown, R.nheap);
	return n < cap ? n : cap - 1;
}

static void print_stats(FILE *f)
{
	char buf[2048];
	format_stats(buf, sizeof buf);
	fputs(buf, f);
	fflush(f);
}

/* ---- sending, delay queue ---- */

static void send_now(struct pkt *p)
{
	const struct sockaddr_storage *to = p->dir == A2B ? &R.b : &R.a;
	socklen_t tolen = p->dir == A2B ? R.blen : R.alen;
	struct counters *c = &R.d[p->dir].c;
	if (p->dir == B2A && !R.have_a) {
		c->send_errors++;
		return;
	}
	for (int tries = 0;; tries++) {
		ssize_t n = sendto(R.fd, p->data, p->len, 0, (const struct sockaddr *)to, tolen);
		if (n >= 0) {
			c->tx++;
			c->tx_bytes += p->len;
			return;
		}
		if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) && tries < 100) {
			struct pollfd pfd = { .fd = R.fd, .events = POLLOUT };
			(void)poll(&pfd, 1, 10);
			continue;
		}
		if (errno == EINTR)
			continue;
		c->send_errors++;
		return;
	}
}

static int heap_less(const struct pkt *x, const struct pkt *y)
{
	return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static int heap_push(struct pkt *p)
{
	if (R.nheap >= RELAY_MAX_QUEUED)
		return -1;
	if (R.nheap == R.capheap) {
		size_t cap = R.capheap ? R.capheap * 2 : 1024;
		struct pkt **h = realloc(R.heap, cap * sizeof *h);
		if (!h)
			return -1;
		R.heap = h;
		R.capheap = cap;
	}
	size_t i = R.nheap++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!heap_less(p, R.heap[parent]))
			break;
		R.heap[i] = R.heap[parent];
		i = parent;
	}
	R.heap[i] = p;
	return 0;
}

static struct pkt *heap_pop(void)
{
	struct pkt *top = R.heap[0], *last = R.heap[--R.nheap];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct pkt *mp = last;
		if (l < R.nheap && heap_less(R.heap[l], mp)) {
			m = l;
			mp = R.heap[l];
		}
		if (r < R.nheap && heap_less(R.heap[r], mp))
			m = r;
		if (m == i)
			break;
		R.heap[i] = R.heap[m];
		i = m;
	}
	if (R.nheap)
		R.heap[i] = last;
	return top;
}

/* Past loss and reordering: delay (if any), then send.  Takes ownership. */
static void emit(struct pkt *p, uint64_t now, uint64_t jitter_draw)
{
	const struct impair *im = &R.d[p->dir].imp;
	if (im->delay_ms == 0 && im->jitter_ms == 0) {
		send_now(p);
		free(p);
		return;
	}
	uint64_t extra = im->jitter_ms ? jitter_draw % ((uint64_t)im->jitter_ms * 1000u + 1) : 0;
	p->due = now + (uint64_t)im->delay_ms * 1000u + extra;
	p->seq = R.seq++;
	if (heap_push(p) < 0) {
		R.d[p->dir].c.drop_overflow++;
		free(p);
		return;
	}
	R.d[p->dir].c.delayed++;
}

static void release_due(uint64_t now)
{
	while (R.nheap && R.heap[0]->due <= now) {
		struct pkt *p = heap_pop();
		send_now(p);
		free(p);
	}
	for (int d = 0; d < NDIR; d++) {
		struct dirstate *ds = &R.d[d];
		unsigned k = 0;
		for (unsigned i = 0; i < ds->nheld; i++) {
			struct pkt *p = ds->held[i];
			if (p->due <= now)
				emit(p, now, p->jit);
			else
				ds->held[k++] = p;
		}
		ds->nheld = k;
	}
}

static uint64_t next_due(void)
{
	uint64_t t = UINT64_MAX;
	if (R.nheap)
		t = R.heap[0]->due;
	for (int d = 0; d < NDIR; d++)
		for (unsigned i = 0; i < R.d[d].nheld; i++)
			if (R.d[d].held[i]->due < t)
				t = R.d[d].held[i]->due;
	return t;
}

/* One datagram arrived for direction dir. */
static void process(int dir, const uint8_t *buf, size_t len, uint64_t now)
{
	struct dirstate *ds = &R.d[dir];
	const struct impair *im = &ds->imp;
	ds->c.rx++;
	ds->c.rx_bytes += len;
	if (dir == A2B && len > 20 && len > (size_t)(buf[12] >> 4) * 4u) {
		memcpy(R.last_data, buf, len);
		R.last_data_len = len;
	}

	/* A fixed number of draws per datagram, whatever the settings, so that
	 * the decisions depend only on the seed and the arrival order. */
	double u_loss = rng_pct(&ds->rng), u_burst = rng_pct(&ds->rng);
	double u_corrupt = rng_pct(&ds->rng), u_dup = rng_pct(&ds->rng);
	double u_reorder = rng_pct(&ds->rng);
	uint64_t r_pos = rng_next(&ds->rng), r_jit = rng_next(&ds->rng);
	uint64_t r_jit2 = rng_next(&ds->rng);

	if (im->partition) {
		ds->c.drop_partition++;
		return;
	}
	if (ds->burst_left > 0 && ds->burst_until && now >= ds->burst_until)
		ds->burst_left = 0; /* the burst's time is over */
	if (ds->burst_left > 0) {
		ds->burst_left--;
		ds->c.drop_burst++;
		return;
	}
	if (im->burst > 0 && u_burst < im->burst) {
		ds->burst_left = im->burst_len - 1;
		ds->burst_until = im->burst_ms ? now + (uint64_t)im->burst_ms * 1000u : 0;
		ds->c.drop_burst++;
		return;
	}
	if (im->loss > 0 && u_loss < im->loss) {
		ds->c.drop_loss++;
		return;
	}

	struct pkt *p = malloc(sizeof *p + len);
	if (!p) {
		ds->c.drop_overflow++;
		return;
	}
	p->dir = dir;
	p->len = len;
	p->gap = 0;
	p->jit = r_jit;
	memcpy(p->data, buf, len);

	if (im->corrupt > 0 && u_corrupt < im->corrupt && len > 0) {
		/* TCP header is 20 bytes + options: data offset in byte 12 */
		size_t hdr = len >= 20 ? (size_t)(p->data[12] >> 4) * 4u : len;
		if (hdr < 20 || hdr > len)
			hdr = len < 20 ? len : 20;
		size_t lo = 0, hi = len; /* byte range [lo, hi) */
		if (im->corrupt_where == CORRUPT_HEADER)
			hi = hdr;
		else if (im->corrupt_where == CORRUPT_DATA)
			lo = hdr;
		if (hi > lo) {
			size_t pos = lo + (size_t)((r_pos >> 3) % (hi - lo));
			p->data[pos] ^= (uint8_t)(1u << (r_pos & 7));
			ds->c.corrupted++;
		}
	}

	struct pkt *copy = NULL;
	if (im->dup > 0 && u_dup < im->dup) {
		copy = malloc(sizeof *p + len);
		if (copy) {
			memcpy(copy, p, sizeof *p + len);
			ds->c.duplicated++;
		}
	}

	int hold = im->reorder > 0 && u_reorder < im->reorder && ds->nheld < RELAY_MAX_HELD;
	if (hold) {
		p->gap = im->reorder_gap;
		p->due = now + (uint64_t)im->reorder_max_ms * 1000u;
		ds->held[ds->nheld++] = p;
		ds->c.reordered++;
	} else {
		emit(p, now, r_jit);
	}
	if (copy) {
		copy->jit = r_jit2;
		emit(copy, now, r_jit2);
	}

	/* Datagrams held back are released once `gap` later ones have passed. */
	if (!hold) {
		unsigned k = 0;
		for (unsigned i = 0; i < ds->nheld; i++) {
			struct pkt *h = ds->held[i];
			if (--h->gap == 0)
				emit(h, now, h->jit);
			else
				ds->held[k++] = h;
		}
		ds->nheld = k;
	}
}

/* ---- control ---- */

/* Handles one control command line; writes the reply into out. */
static void control(char *line, char *out, size_t cap)
{
	char *tok[32];
	int n = 0;
	for (char *s = strtok(line, " \t\r\n"); s && n < 32; s = strtok(NULL, " \t\r\n"))
		tok[n++] = s;
	if (n == 0) {
		snprintf(out, cap, "ERR empty command\n");
		return;
	}
	R.ctl_cmds++;
	if (strcmp(tok[0], "stats") == 0) {
		memcpy(out, "OK\n", 3);
		format_stats(out + 3, cap - 3);
		return;
	}
	if (strcmp(tok[0], "reset-stats") == 0) {
		for (int d = 0; d < NDIR; d++)
			memset(&R.d[d].c, 0, sizeof R.d[d].c);
		R.unknown = 0;
		snprintf(out, cap, "OK\n");
		return;
	}
	if (strcmp(tok[0], "quit") == 0) {
		sig_stop = 1;
		snprintf(out, cap, "OK\n");
		return;
	}
	if (strcmp(tok[0], "ping") == 0) {
		snprintf(out, cap, "OK pong\n");
		return;
	}
	if (strcmp(tok[0], "save") == 0) {
		if (!R.last_data_len) {
			snprintf(out, cap, "ERR no A->B datagram with payload seen yet\n");
			return;
		}
		memcpy(R.saved, R.last_data, R.last_data_len);
		R.saved_len = R.last_data_len;
		snprintf(out, cap, "OK saved %zu bytes\n", R.saved_len);
		return;
	}
	if (strcmp(tok[0], "replay") == 0 || strcmp(tok[0], "replay-into-latest") == 0) {
		if (!R.saved_len || (tok[0][6] && R.last_data_len < 4)) {
			snprintf(out, cap, "ERR nothing saved\n");
			return;
		}
		struct pkt *p = malloc(sizeof *p + R.saved_len);
		if (!p) {
			snprintf(out, cap, "ERR out of memory\n");
			return;
		}
		memset(p, 0, sizeof *p);
		p->dir = A2B;
		p->len = R.saved_len;
		memcpy(p->data, R.saved, R.saved_len);
		/* into-latest: the TCP ports of the latest A->B datagram, as if
		 * the saved one came from an earlier connection between the
		 * same ports (the bytes after the ports are the old ones) */
		if (tok[0][6])
			memcpy(p->data, R.last_data, 4);
		send_now(p);
		free(p);
		snprintf(out, cap, "OK replayed %zu bytes\n", R.saved_len);
		return;
	}
	/* [a2b|b2a|both] key [value] key [value] ... */
	unsigned mask = 3;
	int i = 0;
	if (strcmp(tok[0], "a2b") == 0)
		mask = 1, i = 1;
	else if (strcmp(tok[0], "b2a") == 0)
		mask = 2, i = 1;
	else if (strcmp(tok[0], "both") == 0)
		i = 1;
	/* validate first on a copy so a bad command changes nothing */
	struct impair saved[NDIR] = { R.d[0].imp, R.d[1].imp };
	for (; i < n; i++) {
		const char *key = tok[i], *val = NULL;
		if (strcmp(key, "partition") && strcmp(key, "heal") && strcmp(key, "clear")) {
			if (i + 1 >= n) {
				snprintf(out, cap, "ERR %s: missing value\n", key);
				goto fail;
			}
			val = tok[++i];
		}
		const char *err;
		if (apply_setting(mask, key, val, &err) < 0) {
			snprintf(out, cap, "ERR %s: %s\n", key, err);
			goto fail;
		}
	}
	snprintf(out, cap, "OK\n");
	return;
fail:
	R.d[0].imp = saved[0];
	R.d[1].imp = saved[1];
}

static void handle_control(void)
{
	for (;;) {
		char buf[1024], out[2048];
		struct sockaddr_storage from;
		socklen_t flen = sizeof from;
		ssize_t n = recvfrom(R.ctl_fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		buf[n] = 0;
		control(buf, out, sizeof out);
		if (R.verbose)
			fprintf(stderr, "relay: control: %s", out);
		(void)sendto(R.ctl_fd, out, strlen(out), 0, (struct sockaddr *)&from, flen);
	}
}

/* Client mode: relay --ctl [ADDR:]PORT COMMAND... */
static int run_ctl(const char *spec, int argc, char **argv)
{
	struct sockaddr_storage sa;
	socklen_t len;
	if (parse_addr(spec, "127.0.0.1", &sa, &len) < 0)
		die("bad control address '%s'", spec);
	char cmd[1024] = "";
	size_t n = 0;
	for (int i = 0; i < argc; i++)
		n += (size_t)snprintf(cmd + n, n < sizeof cmd ? sizeof cmd - n : 0, "%s%s",
				      i ? " " : "", argv[i]);
	if (n >= sizeof cmd - 1)
		die("command too long");
	int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len) < 0)
		die("control socket: %s", strerror(errno));
	/* UDP may lose the command on a busy host: retry a few times.  Every
	 * command is idempotent except reset-stats, harmless to repeat. */
	for (int attempt = 0; attempt < 10; attempt++) {
		if (send(fd, cmd, strlen(cmd), 0) < 0 && errno != ECONNREFUSED)
			die("send: %s", strerror(errno));
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 500) == 1) {
			char out[4096];
			ssize_t m = recv(fd, out, sizeof out - 1, 0);
			if (m > 0) {
				out[m] = 0;
				fputs(out, stdout);
				close(fd);
				return strncmp(out, "OK", 2) == 0 ? 0 : 1;
			}
		}
	}
	fprintf(stderr, "relay: no answer from control port %s\n", spec);
	close(fd);
	return 3;
}

/* relay --pick-ports N: print N distinct free UDP ports of 127.0.0.1 */
static int pick_ports(unsigned count)
{
	int fds[64];
	if (count == 0 || count > 64)
		die("--pick-ports: 1..64");
	for (unsigned i = 0; i < count; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sin, sizeof sin) < 0)
			die("pick-ports: %s", strerror(errno));
		printf("%u\n", local_port(fds[i]));
	}
	for (unsigned i = 0; i < count; i++)
		close(fds[i]);
	return 0;
}

static void usage(FILE *f)
{
	fputs(
"usage: relay --listen [ADDR:]PORT --b HOST:PORT [--a HOST:PORT] [options]\n"
"       relay --ctl [ADDR:]PORT COMMAND...\n"
"       relay --pick-ports N\n"
"\n"
"A UDP forwarder that impairs traffic between two tou daemons.  Datagrams\n"
"from B's address go to A; all others go to B.  A is --a or, without it,\n"
"the first sender that is not B (counted as unknown: senders that are\n"
"neither once A is known).  ADDR defaults to 127.0.0.1; PORT 0 = any.\n"
"\n"
"  --listen [ADDR:]PORT   the relay's data port (daemon A sends here)\n"
"  --a HOST:PORT          daemon A's UDP address (else learned)\n"
"  --b HOST:PORT          daemon B's UDP address\n"
"  --control [ADDR:]PORT  control port for run-time commands (below)\n"
"  --port-file FILE       write \"<data-port> <control-port>\\n\" once bound\n"
"  --seed N               PRNG seed (default 1); same seed + same arrival\n"
"                         order = same decisions\n"
"  --verbose              log control commands to stderr\n"
"Impairments (both directions; 'a2b'/'b2a' prefixes only via control):\n"
"  --loss PCT             drop PCT % of datagrams at random\n"
"  --burst PCT[,LEN[,MS]] PCT % of datagrams start a burst: this one and the\n"
"                         next LEN-1 (default 3) are dropped; with MS, only\n"
"                         those within MS ms of the first (a short outage)\n"
"  --delay MS             delay every datagram MS milliseconds\n"
"  --jitter MS            + uniform 0..MS ms each (reorders, like netem)\n"
"  --reorder PCT          hold PCT % of datagrams back until GAP later ones\n"
"  --reorder-gap N        have passed (default 3) or MAX ms (default 20)\n"
"  --reorder-max MS\n"
"  --dup PCT              send PCT % of datagrams twice\n"
"  --corrupt PCT          flip one random bit in PCT % of datagrams\n"
"  --corrupt-where W      any (default) | header (TCP header+options) | data\n"
"  --partition            start partitioned (drop everything)\n"
"\n"
"Control commands (one UDP datagram, text; answer \"OK ...\" or \"ERR ...\"):\n"
"  [a2b|b2a|both] KEY VALUE [KEY VALUE...]   KEY as the options above without\n"
"                 '--' (loss, burst, delay, jitter, reorder, reorder-gap,\n"
"                 reorder-max, dup, corrupt, corrupt-where)\n"
"  [a2b|b2a|both] partition | heal | clear   drop everything / stop / reset all\n"
"  stats          counters and settings   reset-stats   zero the counters\n"
"  ping           answers OK pong         quit          exit like SIGTERM\n"
"  save           keep the latest A->B datagram carrying TCP payload\n"
"  replay         send the kept datagram to B again (now, unimpaired)\n"
"  replay-into-latest   the same with the TCP ports of the latest A->B\n"
"                 datagram with payload (an earlier connection's segment)\n"
"  e.g.  relay --ctl 7001 partition ; relay --ctl 7001 heal\n"
"        relay --ctl 7001 a2b loss 5 dup 1\n"
"Signals: SIGUSR1 toggles partition (both ways); SIGUSR2 prints counters to\n"
"stderr; SIGTERM/SIGINT print counters and exit 0.\n"
"Counters (per direction): rx tx drop_loss drop_burst drop_partition\n"
"drop_overflow send_errors delayed reordered duplicated corrupted.\n", f);
}

int main(int argc, char **argv)
{
	const char *listen_spec = NULL, *a_spec = NULL, *b_spec = NULL, *ctl_spec = NULL;
	const char *port_file = NULL;
	uint64_t seed = 1;
	for (int d = 0; d < NDIR; d++)
		impair_clear(&R.d[d].imp);

	enum { O_LOSS = 256, O_BURST, O_DELAY, O_JITTER, O_REORDER, O_GAP, O_RMAX, O_DUP,
	       O_CORRUPT, O_CWHERE, O_PARTITION, O_CTL, O_PICK, O_PORTFILE, O_SEED, O_VERBOSE,
	       O_A, O_B, O_CONTROL };
	static const struct option opts[] = {
		{ "listen", required_argument, 0, 'l' }, { "a", required_argument, 0, O_A },
		{ "b", required_argument, 0, O_B }, { "control", required_argument, 0, O_CONTROL },
		{ "port-file", required_argument, 0, O_PORTFILE },
		{ "seed", required_argument, 0, O_SEED }, { "verbose", no_argument, 0, O_VERBOSE },
		{ "loss", required_argument, 0, O_LOSS }, { "burst", required_argument, 0, O_BURST },
		{ "delay", required_argument, 0, O_DELAY }, { "jitter", required_argument, 0, O_JITTER },
		{ "reorder", required_argument, 0, O_REORDER },
		{ "reorder-gap", required_argument, 0, O_GAP },
		{ "reorder-max", required_argument, 0, O_RMAX }, { "dup", required_argument, 0, O_DUP },
		{ "corrupt", required_argument, 0, O_CORRUPT },
		{ "corrupt-where", required_argument, 0, O_CWHERE },
		{ "partition", no_argument, 0, O_PARTITION }, { "ctl", required_argument, 0, O_CTL },
		{ "pick-ports", required_argument, 0, O_PICK }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	static const char *const keys[] = {
		[O_LOSS - O_LOSS] = "loss", [O_BURST - O_LOSS] = "burst", [O_DELAY - O_LOSS] = "delay",
		[O_JITTER - O_LOSS] = "jitter", [O_REORDER - O_LOSS] = "reorder",
		[O_GAP - O_LOSS] = "reorder-gap", [O_RMAX - O_LOSS] = "reorder-max",
		[O_DUP - O_LOSS] = "dup", [O_CORRUPT - O_LOSS] = "corrupt",
		[O_CWHERE - O_LOSS] = "corrupt-where", [O_PARTITION - O_LOSS] = "partition",
	};
	int c;
	while ((c = getopt_long(argc, argv, "+l:h", opts, NULL)) != -1) {
		const char *err;
		switch (c) {
		case 'l': listen_spec = optarg; break;
		case O_A: a_spec = optarg; break;
		case O_B: b_spec = optarg; break;
		case O_CONTROL: ctl_spec = optarg; break;
		case O_PORTFILE: port_file = optarg; break;
		case O_VERBOSE: R.verbose = 1; break;
		case O_SEED: {
			char *end;
			errno = 0;
			seed = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg)
				die("bad --seed '%s'", optarg);
			break;
		}
		case O_CTL: return run_ctl(optarg, argc - optind, argv + optind);
		case O_PICK: {
			unsigned k;
			if (parse_uint(optarg, 64, &k) < 0)
				die("bad --pick-ports '%s'", optarg);
			return pick_ports(k);
		}
		case 'h': usage(stdout); return 0;
		default:
			if (c >= O_LOSS && c <= O_PARTITION) {
				if (apply_setting(3, keys[c - O_LOSS], optarg, &err) < 0)
					die("--%s %s: %s", keys[c - O_LOSS], optarg ? optarg : "", err);
				break;
			}
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !listen_spec || !b_spec) {
		usage(stderr);
		return 2;
	}

	struct sockaddr_storage lsa, csa;
	socklen_t llen, clen;
	if (parse_addr(listen_spec, "127.0.0.1", &lsa, &llen) < 0)
		die("bad --listen '%s'", listen_spec);
	if (parse_addr(b_spec, "127.0.0.1", &R.b, &R.blen) < 0)
		die("bad --b '%s'", b_spec);
	if (a_spec) {
		if (parse_addr(a_spec, "127.0.0.1", &R.a, &R.alen) < 0)
			die("bad --a '%s'", a_spec);
		R.have_a = 1;
	}
	R.fd = bind_udp(&lsa, llen);
	if (R.fd < 0)
		die("bind %s: %s", listen_spec, strerror(-R.fd));
	/* Large buffers: a drop in the relay's own socket would be an impairment
	 * nobody asked for (FORCE works as root, the plain one otherwise). */
	int sz = 8 << 20;
	if (setsockopt(R.fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(R.fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (setsockopt(R.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		(void)setsockopt(R.fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	R.ctl_fd = -1;
	if (ctl_spec) {
		if (parse_addr(ctl_spec, "127.0.0.1", &csa, &clen) < 0)
			die("bad --control '%s'", ctl_spec);
		R.ctl_fd = bind_udp(&csa, clen);
		if (R.ctl_fd < 0)
			die("bind control %s: %s", ctl_spec, strerror(-R.ctl_fd));
	}
	rng_seed(&R.d[A2B].rng, seed);
	rng_seed(&R.d[B2A].rng, seed ^ 0x5bd1e9955bd1e995ull);

	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
		FILE *f = fopen(tmp, "w");
		if (!f)
			die("%s: %s", tmp, strerror(errno));
		fprintf(f, "%u %u\n", local_port(R.fd), R.ctl_fd >= 0 ? local_port(R.ctl_fd) : 0);
		if (fclose(f) != 0 || rename(tmp, port_file) < 0)
			die("%s: %s", port_file, strerror(errno));
	}

	static uint8_t bufs[RELAY_BATCH][RELAY_MAX_DGRAM];
	struct mmsghdr msgs[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	struct sockaddr_storage from[RELAY_BATCH];

	while (!sig_stop) {
		if (sig_stats) {
			sig_stats = 0;
			print_stats(stderr);
		}
		if (sig_partition) {
			sig_partition = 0;
			const char *err;
			(void)apply_setting(3, R.d[0].imp.partition ? "heal" : "partition", NULL, &err);
		}
		uint64_t now = now_us();
		release_due(now);
		uint64_t due = next_due();
		int timeout = 1000;
		if (due != UINT64_MAX) {
			uint64_t now2 = now_us();
			timeout = due <= now2 ? 0 : (int)((due - now2 + 999) / 1000);
			if (timeout > 1000)
				timeout = 1000;
		}
		struct pollfd pfd[2] = { { .fd = R.fd, .events = POLLIN },
					 { .fd = R.ctl_fd, .events = POLLIN } };
		int pr = poll(pfd, R.ctl_fd >= 0 ? 2 : 1, timeout);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (R.ctl_fd >= 0 && (pfd[1].revents & POLLIN))
			handle_control();
		if (!(pfd[0].revents & POLLIN))
			continue;
		/* drain a bounded number of batches, then service timers again */
		for (int round = 0; round < 16; round++) {
			for (int i = 0; i < RELAY_BATCH; i++) {
				iov[i].iov_base = bufs[i];
				iov[i].iov_len = RELAY_MAX_DGRAM;
				memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
				msgs[i].msg_hdr.msg_name = &from[i];
				msgs[i].msg_hdr.msg_namelen = sizeof from[i];
			}
			int n = recvmmsg(R.fd, msgs, RELAY_BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0)
				break;
			now = now_us();
			for (int i = 0; i < n; i++) {
				const struct sockaddr_storage *src = &from[i];
				int dir;
				if (addr_eq(src, &R.b))
					dir = B2A;
				else if (R.have_a && addr_eq(src, &R.a))
					dir = A2B;
				else if (!R.have_a) {
					memcpy(&R.a, src, msgs[i].msg_hdr.msg_namelen);
					R.alen = msgs[i].msg_hdr.msg_namelen;
					R.have_a = 1;
					dir = A2B;
				} else {
					R.unknown++;
					continue;
				}
				process(dir, bufs[i], msgs[i].msg_len, now);
			}
			release_due(now);
			if (n < RELAY_BATCH)
				break;
		}
	}
	print_stats(stderr);
	return 0;
}

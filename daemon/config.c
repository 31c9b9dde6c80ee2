/*
 * config.c - parse toud.conf (inih) and -o overrides into struct
 * toud_config.  Every key is one row of the table below; a bad section,
 * key or value is refused with the file, line and reason.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tou_proto.h"

enum ktype { K_STR, K_UDP, K_MODE, K_LEVEL, K_UINT, K_SIZE, K_DUR, K_BOOL, K_CC, K_LOSS, K_THREADS };

struct key {
	const char *section, *name;
	enum ktype type;
	size_t off;       /* offset in struct toud_config */
	size_t size;      /* field size (K_STR: buffer size; K_UINT/K_SIZE: 2, 4 or 8; K_DUR: 8) */
	uint64_t min, max;/* K_UINT, K_SIZE, K_DUR (us) bounds */
};

#define F(field) offsetof(struct toud_config, field), sizeof(((struct toud_config *)0)->field)

static const struct key keys[] = {
	{ "daemon", "udp", K_UDP, F(udp), 0, 0 },
	{ "daemon", "socket", K_STR, F(socket), 0, 0 },
	{ "daemon", "socket_mode", K_MODE, F(socket_mode), 0, 07777 },
	{ "daemon", "socket_group", K_STR, F(socket_group), 0, 0 },
	{ "daemon", "log_level", K_LEVEL, F(log_level), 0, 0 },
	{ "daemon", "privileged_ports", K_UINT, F(privileged_ports), 0, 65536 },
	{ "daemon", "pcap", K_STR, F(pcap), 0, 0 },
	{ "daemon", "user", K_STR, F(user), 0, 0 },
	{ "daemon", "syslog", K_BOOL, F(syslog), 0, 1 },
	{ "daemon", "threads", K_THREADS, F(threads), 1, TOUD_MAX_THREADS },
	{ "daemon", "busy_poll", K_DUR, F(busy_poll), 0, TOUD_MAX_BUSY_POLL },
	{ "daemon", "udp_receive_buffer", K_SIZE, F(udp_receive_buffer), 65536, 1u << 30 },

	/* RFC 879 / 9293 3.7.1: the MSS must leave room for 20+20 byte headers
	 * in the 576-byte minimum datagram => 536 is the smallest sane value. */
	/* ... and the largest fits a 65535-octet IPv4 datagram with the IP, UDP
	 * and TCP headers (20 + 8 + 20). */
	{ "tcp", "mss", K_UINT, F(tcp.mss), 536, TOUD_MSS_MAX },
	/* 0 = off, else 536.. as mss (config_check) */
	{ "tcp", "mss_loopback", K_UINT, F(tcp.mss_loopback), 0, TOUD_MSS_MAX },
	{ "tcp", "send_buffer", K_SIZE, F(tcp.send_buffer), 4096, 1u << 30 },
	{ "tcp", "recv_buffer", K_SIZE, F(tcp.recv_buffer), 4096, 1u << 30 },
	{ "tcp", "recv_buffer_auto", K_BOOL, F(tcp.recv_buffer_auto), 0, 1 },
	{ "tcp", "rto_initial", K_DUR, F(tcp.rto_initial), 1000, 600000000 },
	{ "tcp", "rto_min", K_DUR, F(tcp.rto_min), 1000, 600000000 },
	{ "tcp", "rto_max", K_DUR, F(tcp.rto_max), 1000, 3600000000ull },
	{ "tcp", "msl", K_DUR, F(tcp.msl), 0, 3600000000ull },
	{ "tcp", "syn_retries", K_UINT, F(tcp.syn_retries), 0, 255 },
	{ "tcp", "retries", K_UINT, F(tcp.retries), 0, 255 },
	{ "tcp", "delayed_ack", K_DUR, F(tcp.delayed_ack), 0, 500000 },
	{ "tcp", "nodelay", K_BOOL, F(tcp.nodelay), 0, 1 },
	{ "tcp", "congestion", K_CC, F(tcp.cc), 0, 0 },
	{ "tcp", "loss_detection", K_LOSS, F(tcp.loss_detection), 0, 0 },
	{ "tcp", "hystart", K_BOOL, F(tcp.hystart), 0, 1 },
	{ "tcp", "keepalive", K_BOOL, F(tcp.keepalive), 0, 1 },
	{ "tcp", "keepalive_idle", K_DUR, F(tcp.keepalive_idle), 1000000, 86400000000ull * 7 },
	{ "tcp", "keepalive_interval", K_DUR, F(tcp.keepalive_intvl), 1000000, 86400000000ull },
	{ "tcp", "keepalive_probes", K_UINT, F(tcp.keepalive_probes), 1, 255 },
	{ "tcp", "timestamps", K_BOOL, F(tcp.timestamps), 0, 1 },
	{ "tcp", "sack", K_BOOL, F(tcp.sack), 0, 1 },
	{ "tcp", "window_scaling", K_BOOL, F(tcp.window_scaling), 0, 1 },
	{ "tcp", "challenge_ack_limit", K_UINT, F(tcp.challenge_ack_limit), 0, 1000000 },
	{ "tcp", "invalid_ratelimit", K_DUR, F(tcp.invalid_ratelimit), 0, 60000000 },
	{ "tcp", "syncookies", K_BOOL, F(tcp.syncookies), 0, 1 },
	{ "tcp", "syn_rate_per_source", K_UINT, F(tcp.syn_rate_per_source), 0, 1000000 },

	{ "limits", "max_connections", K_UINT, F(max_connections), 1, 1000000 },
	{ "limits", "max_time_wait", K_UINT, F(tcp.max_time_wait), 0, 1u << 24 },
	{ "limits", "max_per_peer", K_UINT, F(max_per_peer), 1, 1000000 },
	{ "limits", "max_per_uid", K_UINT, F(max_per_uid), 1, 1000000 },
	{ "limits", "max_api_clients", K_UINT, F(max_api_clients), 1, 1000000 },
	{ "limits", "max_api_clients_per_uid", K_UINT, F(max_api_clients_per_uid), 0, 1000000 },
	{ "limits", "api_root_reserve", K_UINT, F(api_root_reserve), 0, 1000000 },
	{ "limits", "max_backlog", K_UINT, F(max_backlog), 1, 65535 },
	{ "limits", "request_timeout", K_DUR, F(request_timeout), 1000, 3600000000ull },
	{ "limits", "shutdown_timeout", K_DUR, F(shutdown_timeout), 0, 3600000000ull },
};
#define NKEYS (sizeof keys / sizeof keys[0])

void config_default(struct toud_config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->udp, sizeof c->udp, "%s", TOUD_DEFAULT_UDP);
	char err[128];
	if (config_parse_udp_list(c->udp, c->udp_addrs, TOUD_MAX_UDP, &c->n_udp, err, sizeof err) != 0)
		abort(); /* the default is a constant */
	snprintf(c->socket, sizeof c->socket, "%s", TOU_DEFAULT_SOCKET);
	c->socket_mode = 0660;
	/* the group the install step creates (systemd/tou.sysusers.conf) */
	snprintf(c->socket_group, sizeof c->socket_group, "tou");
	c->log_level = LOG_LVL_INFO;
	c->privileged_ports = 1024;
	c->threads = 0; /* auto: one engine shard per CPU (main.c) */
	/* room for ~30,000 queued segments while a SYN flood is shed (udp.c) */
	c->udp_receive_buffer = 32u << 20;
	tcp_config_default(&c->tcp);
	c->max_connections = c->tcp.max_connections ? c->tcp.max_connections : 4096;
	/* No per-peer share by default: two daemons joined by a busy tunnel
	 * are one peer, and a kernel TCP does not cap connections per host
	 * either; hosts serving many peers lower it (docs/toud.conf.5). */
	c->max_per_peer = 4096;
	c->max_per_uid = 1024;
	c->max_api_clients = 1024;
	c->max_backlog = 1024;
	c->request_timeout = 10000000;  /* 10 s */
	c->shutdown_timeout = 10000000; /* 10 s */
}

static int eq_nocase(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

const char *config_cc_name(enum tcp_cc_algo cc)
{
	switch (cc) {
	case TCP_CC_NEWRENO:
		return "newreno";
	case TCP_CC_BBR:
		return "bbr";
	case TCP_CC_CUBIC:
		break;
	}
	return "cubic";
}

int config_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (int i = 0; i < 4; i++) {
		if (eq_nocase(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (eq_nocase(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Leading unsigned decimal; returns pointer past it or NULL. */
static const char *parse_u64(const char *s, uint64_t *v)
{
	if (!isdigit((unsigned char)*s))
		return NULL;
	uint64_t x = 0;
	while (isdigit((unsigned char)*s)) {
		unsigned d = (unsigned)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return NULL;
		x = x * 10 + d;
		s++;
	}
	*v = x;
	return s;
}

static int mul_ok(uint64_t v, uint64_t m, uint64_t *out)
{
	if (m && v > UINT64_MAX / m)
		return -1;
	*out = v * m;
	return 0;
}

int config_parse_size(const char *s, uint64_t *out)
{
	uint64_t v;
	const char *p = parse_u64(s, &v);
	if (!p)
		return -1;
	uint64_t m = 1;
	switch (*p) {
	case '\0': break;
	case 'k': case 'K': m = 1024; p++; break;
	case 'm': case 'M': m = 1024 * 1024; p++; break;
	case 'g': case 'G': m = 1024ull * 1024 * 1024; p++; break;
	case 'b': case 'B': break;
	default: return -1;
	}
	/* allow "4M", "4MB", "4MiB", "100B" */
	if (m > 1 && (*p == 'i' || *p == 'I'))
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p)
		return -1;
	return mul_ok(v, m, out);
}

int config_parse_duration(const char *s, uint64_t *us)
{
	uint64_t v;
	const char *p = parse_u64(s, &v);
	if (!p)
		return -1;
	uint64_t m;
	if (*p == '\0' || strcmp(p, "s") == 0)
		m = 1000000;
	else if (strcmp(p, "ms") == 0)
		m = 1000;
	else if (strcmp(p, "us") == 0)
		m = 1;
	else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0)
		m = 60000000;
	else if (strcmp(p, "h") == 0)
		m = 3600000000ull;
	else
		return -1;
	return mul_ok(v, m, us);
}

static int parse_port(const char *s, uint16_t *port)
{
	uint64_t v;
	const char *p = parse_u64(s, &v);
	if (!p || *p || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "1.2.3.4", "1.2.3.4:9811", "[::1]", "[::1]:9811", "*:9811" */
static int parse_bind_addr(const char *w, struct sockaddr_storage *ss)
{
	char host[64];
	const char *portstr = NULL;
	uint16_t port = TOU_DEFAULT_UDP_PORT;
	memset(ss, 0, sizeof *ss);
	if (w[0] == '[') {
		const char *e = strchr(w, ']');
		if (!e || (size_t)(e - w - 1) >= sizeof host)
			return -1;
		memcpy(host, w + 1, (size_t)(e - w - 1));
		host[e - w - 1] = '\0';
		if (e[1] == ':')
			portstr = e + 2;
		else if (e[1])
			return -1;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		if (portstr && parse_port(portstr, &port))
			return -1;
		s6->sin6_port = htons(port);
		return 0;
	}
	const char *colon = strchr(w, ':');
	size_t hl = colon ? (size_t)(colon - w) : strlen(w);
	if (hl >= sizeof host)
		return -1;
	memcpy(host, w, hl);
	host[hl] = '\0';
	if (colon)
		portstr = colon + 1;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (strcmp(host, "*") == 0 || host[0] == '\0')
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -1;
	s4->sin_family = AF_INET;
	if (portstr && parse_port(portstr, &port))
		return -1;
	s4->sin_port = htons(port);
	return 0;
}

int config_parse_udp_list(const char *s, struct sockaddr_storage *addrs, int max, int *n,
			  char *err, size_t errlen)
{
	int count = 0;
	const char *p = s;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, " \t,");
		char w[80];
		if (len >= sizeof w) {
			snprintf(err, errlen, "address too long: %.40s...", p);
			return -1;
		}
		memcpy(w, p, len);
		w[len] = '\0';
		p += len;
		if (count >= max) {
			snprintf(err, errlen, "more than %d addresses", max);
			return -1;
		}
		if (parse_bind_addr(w, &addrs[count]) != 0) {
			snprintf(err, errlen,
				 "bad address \"%s\" (want IPv4:PORT or [IPv6]:PORT, e.g. 0.0.0.0:9811 [::]:9811)", w);
			return -1;
		}
		count++;
	}
	if (count == 0) {
		snprintf(err, errlen, "no address (want e.g. 0.0.0.0:9811)");
		return -1;
	}
	*n = count;
	return 0;
}

static int store_uint(void *field, size_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)field = (uint8_t)v; return 0;
	case 2: *(uint16_t *)field = (uint16_t)v; return 0;
	case 4: *(uint32_t *)field = (uint32_t)v; return 0;
	case 8: *(uint64_t *)field = v; return 0;
	}
	return -1;
}

static const char *unit_name(enum ktype t)
{
	return t == K_DUR ? "us" : "";
}

int config_set(struct toud_config *c, const char *section, const char *name,
	       const char *value, char *err, size_t errlen)
{
	if (strncmp(section, "key ", 4) == 0)
		return keys_set(&c->keys, section + 4, name, value, err, errlen);
	if (strncmp(section, "forward ", 8) == 0)
		return fwd_conf_set(&c->fwd, "forward", section + 8, name, value, err, errlen);
	if (strncmp(section, "service ", 8) == 0)
		return fwd_conf_set(&c->fwd, "service", section + 8, name, value, err, errlen);
	const struct key *k = NULL;
	int section_known = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) == 0) {
			section_known = 1;
			if (strcmp(keys[i].name, name) == 0) {
				k = &keys[i];
				break;
			}
		}
	}
	if (!section_known) {
		snprintf(err, errlen, "unknown section [%s] (known: daemon, tcp, limits, key NAME, forward NAME, service NAME)", section);
		return -1;
	}
	if (!k) {
		snprintf(err, errlen, "unknown key \"%s\" in [%s]", name, section);
		return -1;
	}
	void *field = (char *)c + k->off;
	uint64_t v;
	int b;
	switch (k->type) {
	case K_STR:
		if (strlen(value) >= k->size) {
			snprintf(err, errlen, "%s: value longer than %zu bytes", name, k->size - 1);
			return -1;
		}
		if (strcmp(name, "socket") == 0 && value[0] != '/') {
			snprintf(err, errlen, "socket: \"%s\" is not an absolute path", value);
			return -1;
		}
		snprintf((char *)field, k->size, "%s", value);
		return 0;
	case K_UDP: {
		struct sockaddr_storage tmp[TOUD_MAX_UDP];
		int n;
		char e2[160];
		if (strlen(value) >= sizeof c->udp) {
			snprintf(err, errlen, "udp: value too long");
			return -1;
		}
		if (config_parse_udp_list(value, tmp, TOUD_MAX_UDP, &n, e2, sizeof e2) != 0) {
			snprintf(err, errlen, "udp: %s", e2);
			return -1;
		}
		memcpy(c->udp_addrs, tmp, sizeof tmp);
		c->n_udp = n;
		snprintf(c->udp, sizeof c->udp, "%s", value);
		return 0;
	}
	case K_MODE: {
		char *end;
		errno = 0;
		unsigned long m = strtoul(value, &end, 8);
		if (!*value || *end || errno || m > k->max) {
			snprintf(err, errlen, "%s: \"%s\" is not an octal file mode (e.g. 0660)", name, value);
			return -1;
		}
		*(unsigned *)field = (unsigned)m;
		return 0;
	}
	case K_LEVEL: {
		int l = log_level_parse(value);
		if (l < 0) {
			snprintf(err, errlen, "%s: \"%s\" is not one of err, warning, notice, info, debug", name, value);
			return -1;
		}
		*(int *)field = l;
		return 0;
	}
	case K_BOOL:
		if (config_parse_bool(value, &b) != 0) {
			snprintf(err, errlen, "%s: \"%s\" is not a boolean (yes/no, true/false, on/off, 1/0)", name, value);
			return -1;
		}
		*(int *)field = b;
		return 0;
	case K_CC:
		if (eq_nocase(value, "cubic"))
			*(enum tcp_cc_algo *)field = TCP_CC_CUBIC;
		else if (eq_nocase(value, "newreno") || eq_nocase(value, "reno"))
			*(enum tcp_cc_algo *)field = TCP_CC_NEWRENO;
		else if (eq_nocase(value, "bbr"))
			*(enum tcp_cc_algo *)field = TCP_CC_BBR;
		else {
			snprintf(err, errlen, "%s: \"%s\" is not one of cubic, newreno, bbr", name, value);
			return -1;
		}
		return 0;
	case K_THREADS: {
		/* "auto" (0: one per CPU, main.c) or 1 .. TOUD_MAX_THREADS */
		const char *p = eq_nocase(value, "auto") ? NULL : parse_u64(value, &v);
		if (eq_nocase(value, "auto")) {
			*(unsigned *)field = 0;
			return 0;
		}
		if (!p || *p || v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: \"%s\" is not auto or a number of threads from %" PRIu64 " to %" PRIu64,
				 name, value, k->min, k->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)v;
		return 0;
	}
	case K_LOSS:
		if (eq_nocase(value, "rack"))
			*(enum tcp_loss_detection *)field = TCP_LOSS_RACK;
		else if (eq_nocase(value, "rfc6675"))
			*(enum tcp_loss_detection *)field = TCP_LOSS_RFC6675;
		else {
			snprintf(err, errlen, "%s: \"%s\" is not one of rack, rfc6675", name, value);
			return -1;
		}
		return 0;
	case K_UINT: case K_SIZE: case K_DUR: {
		int r;
		const char *what;
		if (k->type == K_UINT) {
			const char *p = parse_u64(value, &v);
			r = (p && !*p) ? 0 : -1;
			what = "a non-negative integer";
		} else if (k->type == K_SIZE) {
			r = config_parse_size(value, &v);
			what = "a size (bytes, or with K, M, G)";
		} else {
			r = config_parse_duration(value, &v);
			what = "a duration (e.g. 500ms, 2s, 5m; a bare number is seconds)";
		}
		if (r != 0) {
			snprintf(err, errlen, "%s: \"%s\" is not %s", name, value, what);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: %s is out of range [%" PRIu64 "%s, %" PRIu64 "%s]", name, value,
				 k->min, unit_name(k->type), k->max, unit_name(k->type));
			return -1;
		}
		return store_uint(field, k->size, v);
	}
	}
	snprintf(err, errlen, "internal error");
	return -1;
}

struct parse_ctx {
	struct toud_config *c;
	char err[256];
	int failed;
};

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	if (p->failed)
		return 0;
	if (config_set(p->c, section, name, value, p->err, sizeof p->err) != 0) {
		p->failed = 1;
		return 0;
	}
	return 1;
}

/* Cross-key checks after everything is set. */
static int config_check(const struct toud_config *c, char *err, size_t errlen)
{
	if (c->tcp.mss_loopback && c->tcp.mss_loopback < 536) {
		snprintf(err, errlen, "tcp.mss_loopback must be 0 (off) or 536..%u", TOUD_MSS_MAX);
		return -1;
	}
	if (c->tcp.rto_min > c->tcp.rto_max) {
		snprintf(err, errlen, "tcp.rto_min is larger than tcp.rto_max");
		return -1;
	}
	if (c->tcp.rto_initial < c->tcp.rto_min || c->tcp.rto_initial > c->tcp.rto_max) {
		snprintf(err, errlen, "tcp.rto_initial is outside [rto_min, rto_max]");
		return -1;
	}
	return 0;
}

int config_load(struct toud_config *c, const char *path, int missing_ok, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT && missing_ok)
			return config_check(c, err, errlen);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct parse_ctx p = { .c = c };
	int r = ini_parse_file(f, ini_cb, &p);
	fclose(f);
	if (r == -2) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (r > 0) {
		if (p.failed)
			snprintf(err, errlen, "%s:%d: %s", path, r, p.err);
		else
			snprintf(err, errlen, "%s:%d: syntax error (want \"[section]\" or \"key = value\")", path, r);
		return -1;
	}
	if (r != 0) {
		snprintf(err, errlen, "%s: cannot parse", path);
		return -1;
	}
	if (config_check(c, err, errlen) != 0) {
		char tmp[256];
		snprintf(tmp, sizeof tmp, "%s", err);
		snprintf(err, errlen, "%s: %s", path, tmp);
		return -1;
	}
	return 0;
}

int config_override(struct toud_config *c, const char *arg, char *err, size_t errlen)
{
	char sect[32], key[64];
	const char *dot = strchr(arg, '.');
	const char *eq = strchr(arg, '=');
	char e2[256];
	if (!dot || !eq || dot > eq || (size_t)(dot - arg) >= sizeof sect ||
	    (size_t)(eq - dot - 1) >= sizeof key || dot == arg || eq == dot + 1) {
		snprintf(err, errlen, "-o %s: want section.key=value", arg);
		return -1;
	}
	memcpy(sect, arg, (size_t)(dot - arg));
	sect[dot - arg] = '\0';
	memcpy(key, dot + 1, (size_t)(eq - dot - 1));
	key[eq - dot - 1] = '\0';
	const char *val = eq + 1;
	while (*val == ' ')
		val++;
	if (config_set(c, sect, key, val, e2, sizeof e2) != 0 || config_check(c, e2, sizeof e2) != 0) {
		snprintf(err, errlen, "-o %s: %s", arg, e2);
		return -1;
	}
	return 0;
}

void config_dump(const struct toud_config *c, void (*out)(void *arg, const char *line), void *arg)
{
	const char *sect = "";
	char line[700];
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if (strcmp(sect, k->section) != 0) {
			sect = k->section;
			snprintf(line, sizeof line, "[%s]", sect);
			out(arg, line);
		}
		const void *field = (const char *)c + k->off;
		uint64_t v = 0;
		switch (k->size) {
		case 1: v = *(const uint8_t *)field; break;
		case 2: v = *(const uint16_t *)field; break;
		case 4: v = *(const uint32_t *)field; break;
		case 8: v = *(const uint64_t *)field; break;
		}
		switch (k->type) {
		case K_STR: case K_UDP:
			snprintf(line, sizeof line, "%s = %s", k->name, (const char *)field);
			break;
		case K_MODE:
			snprintf(line, sizeof line, "%s = %04o", k->name, *(const unsigned *)field);
			break;
		case K_LEVEL:
			snprintf(line, sizeof line, "%s = %s", k->name, log_level_name(*(const int *)field));
			break;
		case K_BOOL:
			snprintf(line, sizeof line, "%s = %s", k->name, *(const int *)field ? "yes" : "no");
			break;
		case K_CC:
			snprintf(line, sizeof line, "%s = %s", k->name,
				 config_cc_name(*(const enum tcp_cc_algo *)field));
			break;
		case K_LOSS:
			snprintf(line, sizeof line, "%s = %s", k->name,
				 *(const enum tcp_loss_detection *)field == TCP_LOSS_RFC6675 ? "rfc6675"
											: "rack");
			break;
		case K_UINT: case K_SIZE:
			snprintf(line, sizeof line, "%s = %" PRIu64, k->name, v);
			break;
		case K_THREADS:
			if (v)
				snprintf(line, sizeof line, "%s = %" PRIu64, k->name, v);
			else
				snprintf(line, sizeof line, "%s = auto", k->name);
			break;
		case K_DUR:
			if (v % 1000000 == 0)
				snprintf(line, sizeof line, "%s = %" PRIu64 "s", k->name, v / 1000000);
			else if (v % 1000 == 0)
				snprintf(line, sizeof line, "%s = %" PRIu64 "ms", k->name, v / 1000);
			else
				snprintf(line, sizeof line, "%s = %" PRIu64 "us", k->name, v);
			break;
		}
		out(arg, line);
	}
	keys_dump(&c->keys, out, arg);
	fwd_conf_dump(&c->fwd, out, arg);
}

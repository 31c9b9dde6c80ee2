/*
 * fwd_conf.c - parsing and checking of the [forward NAME] and [service
 * NAME] sections (fwd_conf.h).  Self-contained: config.c hands it every
 * key of those sections; forward.c acts on the result.
 */
#include "fwd_conf.h"

#include "config.h" /* config_parse_bool, config_parse_duration */
#include "prefix.h"   /* prefix_parse: the syntax of [key] peer and LISTEN allow= */
#include "tou_proto.h" /* TOU_DEFAULT_UDP_PORT */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

enum { G_LISTEN = 1, G_TO = 2, G_PORT = 4 };

static int fwd_name_ok(const char *n)
{
	size_t l = strlen(n);
	if (l == 0 || l > FWD_NAME_MAX)
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return 0;
	return 1;
}

static int fwd_parse_port(const char *s, uint16_t *out, int zero_ok)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || (v == 0 && !zero_ok) || v > 65535 || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* "HOST:PORT", "[V6]:PORT", and with port_optional also "HOST", "[V6]"
 * (port 0 then; port_optional 2: also an explicit port 0).  host gets
 * the name without brackets. */
static int fwd_split_hostport(const char *s, char *host, size_t hl, uint16_t *port, int port_optional)
{
	const char *hs = s, *he, *colon = NULL;
	if (*s == '[') {
		hs = s + 1;
		he = strchr(hs, ']');
		if (!he)
			return -1;
		if (he[1] == ':')
			colon = he + 1;
		else if (he[1])
			return -1;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			return -1; /* a bare IPv6 address: brackets needed with a port */
		he = colon ? colon : s + strlen(s);
	}
	size_t n = (size_t)(he - hs);
	if (n == 0 || n >= hl)
		return -1;
	memcpy(host, hs, n);
	host[n] = '\0';
	*port = 0;
	if (colon)
		return fwd_parse_port(colon + 1, port, port_optional == 2);
	return port_optional == 1 ? 0 : -1;
}

/* A numeric address and port into ss. */
static int fwd_numeric_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return 0;
	}
	return -1;
}

int fwd_allowed(const struct fwd_service_conf *s, int family, const uint8_t *addr)
{
	if (s->n_allow == 0)
		return 1;
	for (unsigned i = 0; i < s->n_allow; i++)
		if (tcp_prefix_match(&s->allow[i], (uint8_t)family, addr))
			return 1;
	return 0;
}

static int fwd_set_bool(const char *v, int *out, char *err, size_t errlen, const char *key)
{
	if (config_parse_bool(v, out) == 0)
		return 0;
	snprintf(err, errlen, "%s: \"%s\" is not yes or no", key, v);
	return -1;
}

/* ao = required | KEY (a [key KEY] section, checked by fwd_conf_check) */
static int fwd_set_ao(const char *v, int *required, char *key, size_t keylen, char *err, size_t errlen)
{
	size_t n = strlen(v);
	int ok = n > 0 && n < keylen;
	for (const char *p = v; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		     *p == '_' || *p == '.';
	if (!ok) {
		snprintf(err, errlen, "ao: \"%s\" is not \"required\" or the name of a [key] section", v);
		return -1;
	}
	*required = 1;
	memset(key, 0, keylen);
	if (strcmp(v, "required") != 0)
		snprintf(key, keylen, "%s", v);
	return 0;
}

static int fwd_forward_set(struct fwd_forward_conf *f, const char *key, const char *v, char *err, size_t errlen)
{
	if (strcmp(key, "listen") == 0) {
		char host[64];
		uint16_t port;
		/* port 0: the kernel picks (FORWARD through the API only:
		 * fwd_conf_check refuses it in a section) */
		if (strlen(v) >= sizeof f->listen_text || fwd_split_hostport(v, host, sizeof host, &port, 2) != 0 ||
		    fwd_numeric_sockaddr(host, port, &f->listen) != 0) {
			snprintf(err, errlen, "listen: \"%s\" is not ADDR:PORT (want e.g. 127.0.0.1:8080 or [::1]:8080)", v);
			return -1;
		}
		snprintf(f->listen_text, sizeof f->listen_text, "%s", v);
		f->given |= G_LISTEN;
		return 0;
	}
	if (strcmp(key, "to") == 0) {
		char hp[300];
		const char *sp = strpbrk(v, " \t");
		size_t hl = sp ? (size_t)(sp - v) : 0;
		while (sp && (*sp == ' ' || *sp == '\t'))
			sp++;
		if (!sp || !*sp || hl >= sizeof hp || strlen(v) >= sizeof f->to_text) {
			snprintf(err, errlen, "to: \"%s\" is not HOST[:UDPPORT] PORT (want e.g. hostb.example 80 or "
				 "192.0.2.7:9811 22)", v);
			return -1;
		}
		memcpy(hp, v, hl);
		hp[hl] = '\0';
		uint16_t up, tp;
		if (fwd_split_hostport(hp, f->host, sizeof f->host, &up, 1) != 0 || fwd_parse_port(sp, &tp, 0) != 0) {
			snprintf(err, errlen, "to: \"%s\" is not HOST[:UDPPORT] PORT (want e.g. hostb.example 80 or "
				 "192.0.2.7:9811 22)", v);
			return -1;
		}
		f->udp_port = up ? up : TOU_DEFAULT_UDP_PORT;
		f->port = tp;
		snprintf(f->to_text, sizeof f->to_text, "%s", v);
		f->given |= G_TO;
		return 0;
	}
	if (strcmp(key, "nodelay") == 0)
		return fwd_set_bool(v, &f->nodelay, err, errlen, key);
	if (strcmp(key, "keepalive") == 0)
		return fwd_set_bool(v, &f->keepalive, err, errlen, key);
	if (strcmp(key, "timeout") == 0) {
		if (config_parse_duration(v, &f->timeout) != 0) {
			snprintf(err, errlen, "timeout: \"%s\" is not a duration (want e.g. 30s, 2m, 0)", v);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "ao") == 0)
		return fwd_set_ao(v, &f->ao_required, f->ao_key, sizeof f->ao_key, err, errlen);
	snprintf(err, errlen, "unknown key \"%s\" (known: listen, to, nodelay, keepalive, timeout, ao)", key);
	return -1;
}

static int fwd_service_set(struct fwd_service_conf *s, const char *key, const char *v, char *err, size_t errlen)
{
	if (strcmp(key, "port") == 0) {
		if (fwd_parse_port(v, &s->port, 0) != 0) {
			snprintf(err, errlen, "port: \"%s\" is not a port 1..65535", v);
			return -1;
		}
		s->given |= G_PORT;
		return 0;
	}
	if (strcmp(key, "to") == 0) {
		if (strlen(v) >= sizeof s->to_text)
			goto bad_to;
		if (strncmp(v, "unix:", 5) == 0) {
			const char *p = v + 5;
			if (p[0] != '/' || strlen(p) >= sizeof ((struct sockaddr_un *)0)->sun_path)
				goto bad_to;
			s->to_unix = 1;
			snprintf(s->to_path, sizeof s->to_path, "%s", p);
		} else {
			char host[64];
			uint16_t port;
			if (fwd_split_hostport(v, host, sizeof host, &port, 0) != 0 || fwd_numeric_sockaddr(host, port, &s->to) != 0)
				goto bad_to;
			s->to_unix = 0;
		}
		snprintf(s->to_text, sizeof s->to_text, "%s", v);
		s->given |= G_TO;
		return 0;
	bad_to:
		snprintf(err, errlen, "to: \"%s\" is not ADDR:PORT or unix:/path (want e.g. 127.0.0.1:8000, "
			 "[::1]:22, unix:/run/app.sock)", v);
		return -1;
	}
	if (strcmp(key, "allow") == 0) {
		char buf[sizeof s->allow_text];
		if (strlen(v) >= sizeof buf) {
			snprintf(err, errlen, "allow: longer than %zu characters", sizeof buf - 1);
			return -1;
		}
		snprintf(buf, sizeof buf, "%s", v);
		unsigned n = 0;
		char *save = NULL;
		for (char *t = strtok_r(buf, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
			if (n >= FWD_ALLOW_MAX) {
				snprintf(err, errlen, "allow: more than %d prefixes", FWD_ALLOW_MAX);
				return -1;
			}
			if (prefix_parse(t, strlen(t), &s->allow[n]) != 0) {
				snprintf(err, errlen, "allow: \"%s\" is not an address or prefix (want e.g. "
					 "192.0.2.0/24 2001:db8::/32)", t);
				return -1;
			}
			n++;
		}
		if (n == 0) {
			snprintf(err, errlen, "allow: no prefix (leave the key out to allow anyone)");
			return -1;
		}
		s->n_allow = n;
		snprintf(s->allow_text, sizeof s->allow_text, "%s", v);
		return 0;
	}
	if (strcmp(key, "ao") == 0)
		return fwd_set_ao(v, &s->ao_required, s->ao_key, sizeof s->ao_key, err, errlen);
	if (strcmp(key, "max_per_peer") == 0) {
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (!*v || *end || errno || n < 1 || n > 1000000 || *v == '-' || *v == '+' || *v == ' ') {
			snprintf(err, errlen, "max_per_peer: \"%s\" is not a number 1..1000000", v);
			return -1;
		}
		s->max_per_peer = (unsigned)n;
		return 0;
	}
	snprintf(err, errlen, "unknown key \"%s\" (known: port, to, allow, ao, max_per_peer)", key);
	return -1;
}

int fwd_conf_set(struct fwd_conf *fc, const char *kind, const char *name, const char *key, const char *value,
		 char *err, size_t errlen)
{
	char e[400];
	int is_fwd = strcmp(kind, "forward") == 0;
	while (*name == ' ')
		name++;
	if (!fwd_name_ok(name)) {
		snprintf(err, errlen, "[%s %s]: a name is 1..%d letters, digits, '-', '_' or '.'", kind, name,
			 FWD_NAME_MAX);
		return -1;
	}
	unsigned *n = is_fwd ? &fc->n_forward : &fc->n_service;
	unsigned i;
	for (i = 0; i < *n; i++)
		if (strcmp(is_fwd ? fc->forward[i].name : fc->service[i].name, name) == 0)
			break;
	if (i == *n) {
		if (*n >= FWD_MAX) {
			snprintf(err, errlen, "[%s %s]: more than %d %s sections", kind, name, FWD_MAX, kind);
			return -1;
		}
		(*n)++;
		if (is_fwd) {
			memset(&fc->forward[i], 0, sizeof fc->forward[i]);
			fc->forward[i].nodelay = fc->forward[i].keepalive = -1;
			snprintf(fc->forward[i].name, sizeof fc->forward[i].name, "%s", name);
		} else {
			memset(&fc->service[i], 0, sizeof fc->service[i]);
			snprintf(fc->service[i].name, sizeof fc->service[i].name, "%s", name);
		}
	}
	int r = is_fwd ? fwd_forward_set(&fc->forward[i], key, value, e, sizeof e)
		       : fwd_service_set(&fc->service[i], key, value, e, sizeof e);
	if (r != 0)
		snprintf(err, errlen, "[%s %s] %s", kind, name, e);
	return r;
}

static int fwd_key_known(const struct toud_keys *ks, const char *key)
{
	return !ks || !key[0] || keys_find(ks, key) >= 0;
}

int fwd_conf_check(const struct fwd_conf *fc, const struct toud_keys *ks, char *err, size_t errlen)
{
	for (unsigned i = 0; i < fc->n_forward; i++) {
		const struct fwd_forward_conf *f = &fc->forward[i];
		if (!(f->given & G_LISTEN) || !(f->given & G_TO)) {
			snprintf(err, errlen, "[forward %s]: \"%s\" is missing (a forward needs listen and to)", f->name,
				 !(f->given & G_LISTEN) ? "listen" : "to");
			return -1;
		}
		if (((const struct sockaddr_in *)&f->listen)->sin_port == 0) { /* sin6_port: same offset */
			snprintf(err, errlen, "[forward %s] listen: port 0 (the kernel picks one) only for the API's FORWARD",
				 f->name);
			return -1;
		}
		for (unsigned j = 0; j < i; j++)
			if (strcmp(fc->forward[j].listen_text, f->listen_text) == 0) {
				snprintf(err, errlen, "[forward %s] listen: %s is also [forward %s]'s", f->name,
					 f->listen_text, fc->forward[j].name);
				return -1;
			}
		if (!fwd_key_known(ks, f->ao_key)) {
			snprintf(err, errlen, "[forward %s] ao: no [key %s] section", f->name, f->ao_key);
			return -1;
		}
	}
	for (unsigned i = 0; i < fc->n_service; i++) {
		const struct fwd_service_conf *s = &fc->service[i];
		if (!(s->given & G_PORT) || !(s->given & G_TO)) {
			snprintf(err, errlen, "[service %s]: \"%s\" is missing (a service needs port and to)", s->name,
				 !(s->given & G_PORT) ? "port" : "to");
			return -1;
		}
		for (unsigned j = 0; j < i; j++)
			if (fc->service[j].port == s->port) {
				snprintf(err, errlen, "[service %s] port: %u is also [service %s]'s", s->name, s->port,
					 fc->service[j].name);
				return -1;
			}
		if (!fwd_key_known(ks, s->ao_key)) {
			snprintf(err, errlen, "[service %s] ao: no [key %s] section", s->name, s->ao_key);
			return -1;
		}
	}
	return 0;
}

/* The texts say what the parsed values are (each is set with them). */
int fwd_forward_differs(const struct fwd_forward_conf *a, const struct fwd_forward_conf *b)
{
	return strcmp(a->listen_text, b->listen_text) || strcmp(a->to_text, b->to_text) || a->nodelay != b->nodelay ||
	       a->keepalive != b->keepalive || a->timeout != b->timeout || a->ao_required != b->ao_required ||
	       strcmp(a->ao_key, b->ao_key);
}

int fwd_service_differs(const struct fwd_service_conf *a, const struct fwd_service_conf *b)
{
	return a->port != b->port || strcmp(a->to_text, b->to_text) || a->n_allow != b->n_allow ||
	       (a->n_allow && strcmp(a->allow_text, b->allow_text)) || a->ao_required != b->ao_required ||
	       strcmp(a->ao_key, b->ao_key) || a->max_per_peer != b->max_per_peer;
}

void fwd_conf_dump(const struct fwd_conf *fc, void (*out)(void *arg, const char *line), void *arg)
{
	char line[600];
	for (unsigned i = 0; i < fc->n_forward; i++) {
		const struct fwd_forward_conf *f = &fc->forward[i];
		snprintf(line, sizeof line, "[forward %s]", f->name);
		out(arg, line);
		snprintf(line, sizeof line, "listen = %s", f->listen_text);
		out(arg, line);
		snprintf(line, sizeof line, "to = %s", f->to_text);
		out(arg, line);
		if (f->nodelay >= 0) {
			snprintf(line, sizeof line, "nodelay = %s", f->nodelay ? "yes" : "no");
			out(arg, line);
		}
		if (f->keepalive >= 0) {
			snprintf(line, sizeof line, "keepalive = %s", f->keepalive ? "yes" : "no");
			out(arg, line);
		}
		if (f->timeout) {
			snprintf(line, sizeof line, "timeout = %" PRIu64 "ms", f->timeout / 1000);
			out(arg, line);
		}
		if (f->ao_required) {
			snprintf(line, sizeof line, "ao = %s", f->ao_key[0] ? f->ao_key : "required");
			out(arg, line);
		}
	}
	for (unsigned i = 0; i < fc->n_service; i++) {
		const struct fwd_service_conf *s = &fc->service[i];
		snprintf(line, sizeof line, "[service %s]", s->name);
		out(arg, line);
		snprintf(line, sizeof line, "port = %u", s->port);
		out(arg, line);
		snprintf(line, sizeof line, "to = %s", s->to_text);
		out(arg, line);
		if (s->n_allow) {
			snprintf(line, sizeof line, "allow = %s", s->allow_text);
			out(arg, line);
		}
		if (s->ao_required) {
			snprintf(line, sizeof line, "ao = %s", s->ao_key[0] ? s->ao_key : "required");
			out(arg, line);
		}
		if (s->max_per_peer) {
			snprintf(line, sizeof line, "max_per_peer = %u", s->max_per_peer);
			out(arg, line);
		}
	}
}

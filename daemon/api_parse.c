/*
 * api_parse.c - parse one API request line (tou_proto.h).  Strict: every
 * word is checked, unknown words are refused, numbers are range-checked,
 * and nothing here allocates or depends on anything but libc.
 *
 *   line    = verb *( SP word ) [CR]
 *   CONNECT <host>[:<udp-port>] <port> [nodelay] [keepalive] [timeout=<s>]
 *           [ao=<key>|required|optional]
 *   LISTEN  <port> [backlog=<n>] [ao=required|optional]
 *           [allow=<prefix>[,<prefix>...]] [refuse=rst|silent]
 *   ACCEPT  <port> [nodelay] [keepalive] [timeout=<s>]
 *   STATUS  [<id>]
 *   LIST | STATS | VERSION
 *   ABORT   <id>
 *   FORWARD [<addr>:]<port> <host>[:<udp-port>] <port> [nodelay] [keepalive]
 *           [timeout=<s>] [ao=<key>|required]
 *   SERVE   <port> <target> [allow=<prefix>[,<prefix>...]]
 *           [ao=<key>|required] [max_per_peer=<n>]
 */
#include "api_parse.h"

#include "prefix.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_WORDS 8

struct word {
	const char *p;
	size_t n;
};

static int word_is(const struct word *w, const char *s)
{
	size_t n = strlen(s);
	return w->n == n && strncasecmp(w->p, s, n) == 0;
}

/* Decimal without sign or leading junk, at most max.  0 on success. */
static int parse_uint(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 20)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_port(const struct word *w, uint16_t *port, const char *what, char *err, size_t errlen)
{
	uint64_t v;
	if (parse_uint(w->p, w->n, 65535, &v) != 0 || v == 0) {
		snprintf(err, errlen, "bad %s \"%.*s\" (want 1..65535)", what, (int)(w->n > 40 ? 40 : w->n), w->p);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* host chars: letters, digits, '-', '.', '_' (names); hex digits, ':', '.',
 * '%' and the interface name after it (IPv6 literals). */
static int host_char_ok(char ch, int ip6)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return 1;
	if (ch == '-' || ch == '.' || ch == '_')
		return 1;
	return ip6 && (ch == ':' || ch == '%');
}

static int parse_host(const struct word *w, struct api_request *req, char *err, size_t errlen)
{
	const char *p = w->p, *end = w->p + w->n;
	const char *h, *he;
	const char *portp = NULL;
	int ip6 = 0;
	if (p < end && *p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb) {
			snprintf(err, errlen, "bad host: missing ']'");
			return -1;
		}
		h = p + 1;
		he = rb;
		ip6 = 1;
		if (rb + 1 < end) {
			if (rb[1] != ':') {
				snprintf(err, errlen, "bad host: junk after ']'");
				return -1;
			}
			portp = rb + 2;
		}
	} else {
		const char *c1 = memchr(p, ':', w->n);
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		h = p;
		if (c2) { /* bare IPv6 literal, no UDP port */
			he = end;
			ip6 = 1;
		} else if (c1) {
			he = c1;
			portp = c1 + 1;
		} else {
			he = end;
		}
	}
	size_t hn = (size_t)(he - h);
	if (hn == 0 || hn > API_HOST_MAX) {
		snprintf(err, errlen, "bad host: empty or longer than %d characters", API_HOST_MAX);
		return -1;
	}
	for (size_t i = 0; i < hn; i++) {
		if (!host_char_ok(h[i], ip6)) {
			snprintf(err, errlen, "bad host: invalid character 0x%02x", (unsigned char)h[i]);
			return -1;
		}
	}
	memcpy(req->host, h, hn);
	req->host[hn] = '\0';
	req->host_is_ip6 = ip6;
	req->udp_port = 0;
	if (portp) {
		struct word pw = { portp, (size_t)(end - portp) };
		if (parse_port(&pw, &req->udp_port, "UDP port", err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* key=value option; returns 1 if the word has this key (value in *v). */
static int opt_kv(const struct word *w, const char *key, struct word *v)
{
	size_t kn = strlen(key);
	if (w->n <= kn || w->p[kn] != '=' || strncasecmp(w->p, key, kn) != 0)
		return 0;
	v->p = w->p + kn + 1;
	v->n = w->n - kn - 1;
	return 1;
}

static int parse_timeout(const struct word *v, struct api_request *req, char *err, size_t errlen)
{
	uint64_t t;
	if (parse_uint(v->p, v->n, API_TIMEOUT_MAX, &t) != 0 || t == 0) {
		snprintf(err, errlen, "bad timeout \"%.*s\" (want seconds, 1..%u)",
			 (int)(v->n > 40 ? 40 : v->n), v->p, API_TIMEOUT_MAX);
		return -1;
	}
	req->has_timeout = 1;
	req->timeout_s = (unsigned)t;
	return 0;
}

/* ao=required|optional, and for CONNECT ao=<key name> (letters, digits,
 * '-', '_', '.'; at most API_KEY_NAME_MAX). */
static int parse_ao(const struct word *v, struct api_request *req, int key_ok, char *err, size_t errlen)
{
	if (word_is(v, "required")) {
		req->ao = API_AO_REQUIRED;
		return 0;
	}
	if (word_is(v, "optional")) {
		req->ao = API_AO_OPTIONAL;
		return 0;
	}
	int ok = key_ok && v->n > 0 && v->n <= API_KEY_NAME_MAX;
	for (size_t i = 0; ok && i < v->n; i++) {
		char ch = v->p[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		     ch == '-' || ch == '_' || ch == '.';
	}
	if (!ok) {
		snprintf(err, errlen, "bad ao \"%.*s\" (want %s)", (int)(v->n > 40 ? 40 : v->n), v->p,
			 key_ok ? "required, optional or the name of a [key]" : "required or optional");
		return -1;
	}
	req->ao = API_AO_KEY;
	memcpy(req->ao_key, v->p, v->n);
	req->ao_key[v->n] = '\0';
	return 0;
}

/* allow=<prefix>[,<prefix>...] (prefix.h), at most API_ALLOW_MAX */
static int parse_allow(const struct word *v, struct api_request *req, char *err, size_t errlen)
{
	const char *p = v->p, *end = v->p + v->n;
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		if (req->nallow == API_ALLOW_MAX) {
			snprintf(err, errlen, "allow: more than %d prefixes", API_ALLOW_MAX);
			return -1;
		}
		if (prefix_parse(p, (size_t)(e - p), &req->allow[req->nallow]) != 0) {
			snprintf(err, errlen, "allow: bad prefix \"%.*s\" (want e.g. 192.0.2.0/24, 2001:db8::/32, 10.1.2.3)",
				 (int)(e - p > 40 ? 40 : e - p), p);
			return -1;
		}
		req->nallow++;
		p = e + 1;
	}
	return 0;
}

static const char *const verb_names[] = {
	NULL, "CONNECT", "LISTEN", "ACCEPT", "STATUS", "LIST", "STATS", "ABORT", "VERSION", "FORWARD", "SERVE"
};

const char *api_verb_name(enum api_verb v)
{
	return (v >= API_CONNECT && v <= API_VERB_LAST) ? verb_names[v] : "?";
}

/* A word copied into buf (at most max characters), each character one of
 * `ok` or a letter or digit (ok NULL: any, the line is printable ASCII
 * already).  0, or -1 with the reason. */
static int copy_word(const struct word *w, char *buf, size_t max, const char *ok, const char *what, char *err,
		     size_t errlen)
{
	if (w->n == 0 || w->n > max) {
		snprintf(err, errlen, "bad %s: empty or longer than %zu characters", what, max);
		return -1;
	}
	for (size_t i = 0; i < w->n; i++) {
		char ch = w->p[i];
		if (ok && !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    strchr(ok, ch))) {
			snprintf(err, errlen, "bad %s: invalid character 0x%02x", what, (unsigned char)ch);
			return -1;
		}
	}
	memcpy(buf, w->p, w->n);
	buf[w->n] = '\0';
	return 0;
}

/* CONNECT's and FORWARD's options from word k on. */
static int parse_conn_opts(const struct word *w, int k, int nw, struct api_request *req, char *err, size_t errlen)
{
	struct word v;
	for (; k < nw; k++) {
		if (word_is(&w[k], "nodelay") && req->nodelay < 0)
			req->nodelay = 1;
		else if (word_is(&w[k], "keepalive") && req->keepalive < 0)
			req->keepalive = 1;
		else if (opt_kv(&w[k], "timeout", &v) && !req->has_timeout) {
			if (parse_timeout(&v, req, err, errlen) != 0)
				return -1;
		} else if (opt_kv(&w[k], "ao", &v) && !req->ao) {
			if (parse_ao(&v, req, 1, err, errlen) != 0)
				return -1;
		} else {
			snprintf(err, errlen, "unknown or repeated option \"%.*s\" (want nodelay, keepalive, timeout=<s>, ao=<key>|required)",
				 (int)(w[k].n > 40 ? 40 : w[k].n), w[k].p);
			return -1;
		}
	}
	return 0;
}

static int parse_serve(const struct word *w, int nw, struct api_request *req, char *err, size_t errlen)
{
	struct word v;
	if (nw < 3) {
		snprintf(err, errlen, "usage: SERVE <port> <target> [allow=<prefix>[,...]] [ao=<key>|required] [max_per_peer=<n>]");
		return -1;
	}
	if (parse_port(&w[1], &req->port, "port", err, errlen) != 0 ||
	    copy_word(&w[2], req->target, API_TARGET_MAX, NULL, "target", err, errlen) != 0)
		return -1;
	for (int k = 3; k < nw; k++) {
		uint64_t n;
		if (opt_kv(&w[k], "allow", &v) && !req->nallow) {
			if (v.n > API_ALLOW_TEXT_MAX) {
				snprintf(err, errlen, "allow: longer than %d characters", API_ALLOW_TEXT_MAX);
				return -1;
			}
			if (parse_allow(&v, req, err, errlen) != 0)
				return -1;
			memcpy(req->allow_text, v.p, v.n);
			req->allow_text[v.n] = '\0';
		} else if (opt_kv(&w[k], "ao", &v) && !req->ao) {
			if (parse_ao(&v, req, 1, err, errlen) != 0)
				return -1;
		} else if (opt_kv(&w[k], "max_per_peer", &v) && !req->max_per_peer) {
			if (parse_uint(v.p, v.n, 1000000, &n) != 0 || n == 0) {
				snprintf(err, errlen, "bad max_per_peer (want 1..1000000)");
				return -1;
			}
			req->max_per_peer = (unsigned)n;
		} else {
			snprintf(err, errlen, "unknown or repeated option \"%.*s\" (want allow=<prefixes>, ao=<key>|required, max_per_peer=<n>)",
				 (int)(w[k].n > 40 ? 40 : w[k].n), w[k].p);
			return -1;
		}
	}
	return 0;
}

static int parse_id(const struct word *w, struct api_request *req, char *err, size_t errlen)
{
	if (parse_uint(w->p, w->n, UINT64_MAX, &req->id) != 0) {
		snprintf(err, errlen, "bad id \"%.*s\" (want a decimal number)", (int)(w->n > 40 ? 40 : w->n), w->p);
		return -1;
	}
	req->has_id = 1;
	return 0;
}

int api_parse_line(const char *line, size_t len, struct api_request *req, char *err, size_t errlen)
{
	memset(req, 0, sizeof *req);
	req->nodelay = -1;
	req->keepalive = -1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (ch < 0x20 && ch != '\t') {
			snprintf(err, errlen, "control character 0x%02x in request", ch);
			return -1;
		}
		if (ch >= 0x7f) {
			snprintf(err, errlen, "non-ASCII byte 0x%02x in request", ch);
			return -1;
		}
	}
	struct word w[MAX_WORDS];
	int nw = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			break;
		size_t s = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		if (nw == MAX_WORDS) {
			snprintf(err, errlen, "too many words");
			return -1;
		}
		w[nw].p = line + s;
		w[nw].n = i - s;
		nw++;
	}
	if (nw == 0) {
		snprintf(err, errlen, "empty request (want CONNECT, LISTEN, ACCEPT, FORWARD, SERVE, STATUS, LIST, STATS, ABORT or VERSION)");
		return -1;
	}
	int verb = 0;
	for (int v = API_CONNECT; v <= API_VERB_LAST; v++)
		if (word_is(&w[0], verb_names[v]))
			verb = v;
	if (!verb) {
		snprintf(err, errlen, "unknown request \"%.*s\" (want CONNECT, LISTEN, ACCEPT, FORWARD, SERVE, STATUS, LIST, STATS, ABORT or VERSION)",
			 (int)(w[0].n > 40 ? 40 : w[0].n), w[0].p);
		return -1;
	}
	req->verb = (enum api_verb)verb;
	struct word v;
	switch (req->verb) {
	case API_CONNECT:
		if (nw < 3) {
			snprintf(err, errlen, "usage: CONNECT <host>[:<udp-port>] <port> [nodelay] [keepalive] [timeout=<s>] [ao=<key>|required]");
			return -1;
		}
		if (parse_host(&w[1], req, err, errlen) != 0)
			return -1;
		if (parse_port(&w[2], &req->port, "port", err, errlen) != 0)
			return -1;
		return parse_conn_opts(w, 3, nw, req, err, errlen);
	case API_FORWARD:
		if (nw < 4) {
			snprintf(err, errlen, "usage: FORWARD [<addr>:]<port> <host>[:<udp-port>] <port> [nodelay] [keepalive] [timeout=<s>] [ao=<key>|required]");
			return -1;
		}
		if (copy_word(&w[1], req->listen, API_LISTEN_MAX, ".:[]", "local address", err, errlen) != 0 ||
		    parse_host(&w[2], req, err, errlen) != 0 || parse_port(&w[3], &req->port, "port", err, errlen) != 0)
			return -1;
		return parse_conn_opts(w, 4, nw, req, err, errlen);
	case API_SERVE:
		return parse_serve(w, nw, req, err, errlen);
	case API_LISTEN:
		if (nw < 2) {
			snprintf(err, errlen, "usage: LISTEN <port> [backlog=<n>] [ao=required|optional] [allow=<prefix>[,...]] [refuse=rst|silent]");
			return -1;
		}
		if (parse_port(&w[1], &req->port, "port", err, errlen) != 0)
			return -1;
		for (int k = 2; k < nw; k++) {
			uint64_t b;
			if (opt_kv(&w[k], "backlog", &v) && !req->has_backlog) {
				if (parse_uint(v.p, v.n, 65535, &b) != 0 || b == 0) {
					snprintf(err, errlen, "bad backlog (want 1..65535)");
					return -1;
				}
				req->has_backlog = 1;
				req->backlog = (unsigned)b;
			} else if (opt_kv(&w[k], "ao", &v) && !req->ao) {
				if (parse_ao(&v, req, 0, err, errlen) != 0)
					return -1;
			} else if (opt_kv(&w[k], "allow", &v) && !req->nallow) {
				if (parse_allow(&v, req, err, errlen) != 0)
					return -1;
			} else if (opt_kv(&w[k], "refuse", &v) && !req->has_refuse) {
				if (word_is(&v, "silent")) {
					req->refuse_silent = 1;
				} else if (!word_is(&v, "rst")) {
					snprintf(err, errlen, "bad refuse (want rst or silent)");
					return -1;
				}
				req->has_refuse = 1;
			} else {
				snprintf(err, errlen, "unknown or repeated option \"%.*s\" (want backlog=<n>, ao=required|optional, allow=<prefixes>, refuse=rst|silent)",
					 (int)(w[k].n > 40 ? 40 : w[k].n), w[k].p);
				return -1;
			}
		}
		return 0;
	case API_ACCEPT:
		if (nw < 2) {
			snprintf(err, errlen, "usage: ACCEPT <port> [nodelay] [keepalive] [timeout=<s>]");
			return -1;
		}
		if (parse_port(&w[1], &req->port, "port", err, errlen) != 0)
			return -1;
		for (int k = 2; k < nw; k++) {
			if (word_is(&w[k], "nodelay") && req->nodelay < 0) {
				req->nodelay = 1;
			} else if (word_is(&w[k], "keepalive") && req->keepalive < 0) {
				req->keepalive = 1;
			} else if (opt_kv(&w[k], "timeout", &v) && !req->has_timeout) {
				if (parse_timeout(&v, req, err, errlen) != 0)
					return -1;
			} else {
				snprintf(err, errlen, "unknown or repeated option \"%.*s\" (want nodelay, keepalive, timeout=<s>)",
					 (int)(w[k].n > 40 ? 40 : w[k].n), w[k].p);
				return -1;
			}
		}
		return 0;
	case API_STATUS:
		if (nw > 2) {
			snprintf(err, errlen, "usage: STATUS [<id>]");
			return -1;
		}
		return nw == 2 ? parse_id(&w[1], req, err, errlen) : 0;
	case API_ABORT:
		if (nw != 2) {
			snprintf(err, errlen, "usage: ABORT <id>");
			return -1;
		}
		return parse_id(&w[1], req, err, errlen);
	case API_LIST:
	case API_STATS:
	case API_VERSION:
		if (nw != 1) {
			snprintf(err, errlen, "usage: %s (no arguments)", verb_names[req->verb]);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "internal error");
	return -1;
}

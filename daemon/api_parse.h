/*
 * api_parse.h - the request-line parser of the Unix-socket API
 * (client/tou_proto.h, docs/API.md).  Self-contained (libc only) so that
 * the fuzz target tests/fuzz/fuzz_api.c can include api_parse.c directly.
 */
#ifndef TOUD_API_PARSE_H
#define TOUD_API_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "tcp.h" /* struct tcp_prefix */

enum api_verb {
	API_CONNECT = 1,
	API_LISTEN,
	API_ACCEPT,
	API_STATUS,
	API_LIST,
	API_STATS,
	API_ABORT,
	API_VERSION,
	API_FORWARD,
	API_SERVE
};
#define API_VERB_LAST API_SERVE

#define API_HOST_MAX 253 /* RFC 1035 2.3.4: names are at most 253 characters */
#define API_KEY_NAME_MAX 63 /* a [key NAME] of toud.conf (daemon/keys.h) */
#define API_ALLOW_MAX 16    /* prefixes in one LISTEN allow= */
#define API_ALLOW_TEXT_MAX 399 /* SERVE allow= (a [service] allow's room) */
#define API_LISTEN_MAX 63   /* FORWARD's local address */
#define API_TARGET_MAX 119  /* SERVE's target (a [service] to's room) */

/* TCP-AO (RFC 5925) policy of a CONNECT or LISTEN (docs/API.md) */
enum api_ao {
	API_AO_DEFAULT = 0, /* not given: the key table decides (optional) */
	API_AO_OPTIONAL,    /* ao=optional */
	API_AO_REQUIRED,    /* ao=required */
	API_AO_KEY          /* CONNECT ao=<key name>: send with that key */
};
#define API_TIMEOUT_MAX 86400u

struct api_request {
	enum api_verb verb;
	char host[API_HOST_MAX + 1]; /* CONNECT: name or address, without brackets */
	int host_is_ip6;             /* it was written in brackets / has colons */
	uint16_t udp_port;           /* CONNECT: 0 = default (9811) */
	uint16_t port;               /* CONNECT/LISTEN/ACCEPT: TCP port, 1..65535 */
	int nodelay, keepalive;      /* CONNECT flags, 0 or 1; -1 = not given */
	int has_timeout;
	unsigned timeout_s;          /* CONNECT/ACCEPT timeout=<s>, 1..86400 */
	int has_backlog;
	unsigned backlog;            /* LISTEN backlog=<n>, 1..65535 */
	int has_id;
	uint64_t id;                 /* STATUS/ABORT */
	int ao;                      /* enum api_ao: CONNECT, LISTEN ao=... */
	char ao_key[API_KEY_NAME_MAX + 1]; /* API_AO_KEY: the key's name */
	unsigned nallow;             /* LISTEN allow=<prefix>[,<prefix>...]: 0 = every peer */
	struct tcp_prefix allow[API_ALLOW_MAX];
	int refuse_silent;           /* LISTEN refuse=silent (default refuse=rst) */
	int has_refuse;
	char allow_text[API_ALLOW_TEXT_MAX + 1]; /* SERVE allow=: as written */
	char listen[API_LISTEN_MAX + 1]; /* FORWARD [<addr>:]<port>: as written */
	char target[API_TARGET_MAX + 1]; /* SERVE <target>: ADDR:PORT, [V6]:PORT, unix:/path */
	unsigned max_per_peer;       /* SERVE max_per_peer=<n>, 0 = not given */
};

/*
 * Parses one request line of len bytes (without the final "\n"; a final
 * "\r" is ignored).  Returns 0, or -1 with a human-readable reason in err
 * (the ERR reason is always "badrequest").
 */
int api_parse_line(const char *line, size_t len, struct api_request *req, char *err, size_t errlen);

const char *api_verb_name(enum api_verb v);

#endif

/*
 * libtou.c - the client side of toud's Unix-socket API (tou_proto.h).
 *
 * Every call opens one connection to the API socket, writes one request
 * line and reads one answer line.  For CONNECT and ACCEPT the connection
 * then carries the stream's bytes, so the answer is read one byte at a
 * time: not one byte of the stream may be consumed here.
 */
#include "tou.h"
#include "tou_addr.h"
#include "tou_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Bound on a whole answer (LIST of many connections is the long one). */
#define TOU_MAX_ANSWER (64u << 20)

static _Thread_local char tou_detail[TOU_PROTO_MAX_LINE];

const char *tou_errdetail(void)
{
	return tou_detail;
}

const char *tou_socket_path(const char *socket_path)
{
	if (socket_path && *socket_path)
		return socket_path;
	const char *env = getenv("TOU_SOCKET");
	if (env && *env)
		return env;
	return TOU_DEFAULT_SOCKET;
}

const char *tou_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case TOU_ENODAEMON: return "daemon not reachable";
	case -EINVAL: return "invalid argument or request";
	case -ECONNREFUSED: return "connection refused";
	case -ETIMEDOUT: return "connection timed out";
	case -EHOSTUNREACH: return "host unreachable";
	case -EACCES: return "permission denied";
	case -ENOBUFS: return "daemon limit reached";
	case -EADDRINUSE: return "port already in use";
	case -ENOENT: return "no such connection or listener";
	case -ESHUTDOWN: return "daemon is shutting down";
	case -EIO: return "daemon internal error";
	case -EPROTO: return "malformed answer from daemon";
	case -ENOMEM: return "out of memory";
	case -ECONNRESET: return "connection reset by peer";
	case -ENAMETOOLONG: return "socket path too long";
	default:
		if (err < 0 && err > -4096)
			return strerror(-err);
		return "unknown error";
	}
}

/* ERR <reason> -> negative errno-style code (documented in tou.h). */
static int reason_code(const char *r, size_t n)
{
	static const struct { const char *reason; int code; } map[] = {
		{ TOU_ERR_BADREQUEST, -EINVAL },
		{ TOU_ERR_REFUSED, -ECONNREFUSED },
		{ TOU_ERR_TIMEOUT, -ETIMEDOUT },
		{ TOU_ERR_UNREACHABLE, -EHOSTUNREACH },
		{ TOU_ERR_DENIED, -EACCES },
		{ TOU_ERR_LIMIT, -ENOBUFS },
		{ TOU_ERR_INUSE, -EADDRINUSE },
		{ TOU_ERR_NOTFOUND, -ENOENT },
		{ TOU_ERR_SHUTDOWN, -ESHUTDOWN },
		{ TOU_ERR_INTERNAL, -EIO },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].reason) == n && memcmp(map[i].reason, r, n) == 0)
			return map[i].code;
	return -EIO;
}

/* -errno, never 0 (a failed call that left errno 0 is still a failure). */
static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Open a connection to the API socket. */
static int api_open(const char *socket_path)
{
	const char *path = tou_socket_path(socket_path);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return neg_errno();
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		errno = e;
		return TOU_ENODAEMON;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A request word must not break the line protocol. */
static int word_ok(const char *w)
{
	if (!w || !*w)
		return 0;
	for (; *w; w++)
		if ((unsigned char)*w <= ' ' || (unsigned char)*w == 0x7f)
			return 0;
	return 1;
}

static int send_request(int fd, const char *line)
{
	size_t n = strlen(line);
	if (n + 1 > TOU_PROTO_MAX_LINE || memchr(line, '\n', n))
		return -EINVAL;
	char buf[TOU_PROTO_MAX_LINE];
	memcpy(buf, line, n);
	buf[n] = '\n';
	return send_all(fd, buf, n + 1);
}

/* Read one answer line byte by byte (nothing after "\n" is consumed);
 * buf gets it without the "\n" (and without a "\r" before it). */
static int read_line_exact(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		if (r == 0)
			return -EPROTO; /* closed before a whole answer */
		if (c == '\n')
			break;
		if (n + 1 >= cap)
			return -EPROTO;
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (int)n;
}

/* Read an answer line of any length (up to TOU_MAX_ANSWER) into a
 * malloc()ed string; used where the daemon closes after answering. */
static int read_line_alloc(int fd, char **out)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (cap - n < 2048) {
			if (cap >= TOU_MAX_ANSWER) {
				free(buf);
				return -EPROTO;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = neg_errno();
			free(buf);
			return e;
		}
		if (r == 0) {
			free(buf);
			return -EPROTO;
		}
		char *nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
		if (nl) {
			n = (size_t)(nl - buf);
			if (n > 0 && buf[n - 1] == '\r')
				n--;
			buf[n] = '\0';
			*out = buf;
			return 0;
		}
	}
}

/* Classify an answer: 0 and *rest = text after "OK" (or "") for OK;
 * a negative code for ERR (detail saved) or a malformed answer. */
static int parse_answer(const char *line, const char **rest)
{
	tou_detail[0] = '\0';
	*rest = "";
	if (!line)
		return -EPROTO;
	if (strncmp(line, "OK", 2) == 0 && (line[2] == '\0' || line[2] == ' ')) {
		*rest = line[2] ? line + 3 : line + 2;
		return 0;
	}
	if (strncmp(line, "ERR ", 4) == 0) {
		const char *r = line + 4;
		size_t rn = strcspn(r, " ");
		if (rn == 0)
			return -EPROTO;
		const char *text = r[rn] ? r + rn + 1 : "";
		snprintf(tou_detail, sizeof(tou_detail), "%s", text);
		return reason_code(r, rn);
	}
	return -EPROTO;
}

/* "<id> <local> <remote>" */
static int parse_conn_info(const char *s, struct tou_conn_info *info)
{
	struct tou_conn_info tmp;
	memset(&tmp, 0, sizeof(tmp));
	if (*s < '0' || *s > '9')
		return -EPROTO;
	char *end;
	errno = 0;
	unsigned long long id = strtoull(s, &end, 10);
	if (errno || *end != ' ')
		return -EPROTO;
	tmp.id = id;
	s = end + 1;
	size_t n = strcspn(s, " ");
	if (n == 0 || n >= sizeof(tmp.local) || s[n] != ' ')
		return -EPROTO;
	memcpy(tmp.local, s, n);
	s += n + 1;
	n = strcspn(s, " ");
	if (n == 0 || n >= sizeof(tmp.remote))
		return -EPROTO;
	memcpy(tmp.remote, s, n);
	/* Words after <remote> are allowed (future extensions). */
	if (info)
		*info = tmp;
	return 0;
}

/* Send `line`, read a one-line answer that must be "OK <id> <local>
 * <remote>"; on success the connection is the stream. */
static int open_stream(const char *socket_path, const char *line, struct tou_conn_info *info)
{
	int fd = api_open(socket_path);
	if (fd < 0)
		return fd;
	int r = send_request(fd, line);
	char ans[TOU_PROTO_MAX_LINE];
	if (r == 0)
		r = read_line_exact(fd, ans, sizeof(ans));
	const char *rest = NULL;
	if (r >= 0)
		r = parse_answer(ans, &rest);
	if (r == 0)
		r = parse_conn_info(rest, info);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* A literal address in "<host>[:<udp-port>]" (the API's forms: "[v6]",
 * "[v6]:port", a bare v6 with two colons or more, "v4", "v4:port") that
 * can never be a unicast peer: -EHOSTUNREACH with the reason in the
 * detail text, without asking the daemon.  Names are left to it. */
static int check_literal(const char *host)
{
	char a[64];
	const char *p = host, *end;
	if (*p == '[') {
		p++;
		end = strchr(p, ']');
	} else if (strchr(host, ':') != strrchr(host, ':')) {
		end = p + strlen(p);
	} else {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
	}
	if (!end || (size_t)(end - p) >= sizeof a)
		return 0;
	memcpy(a, p, (size_t)(end - p));
	a[end - p] = '\0';
	unsigned char bin[16];
	int af = inet_pton(AF_INET, a, bin) == 1 ? AF_INET : inet_pton(AF_INET6, a, bin) == 1 ? AF_INET6 : 0;
	const char *why = af ? tou_addr_not_unicast(af, bin) : NULL;
	if (!why)
		return 0;
	snprintf(tou_detail, sizeof(tou_detail), "%s is %s, not one host", a, why);
	return -EHOSTUNREACH;
}

int tou_connect(const char *socket_path, const char *host, unsigned port,
		unsigned flags, unsigned timeout_s, struct tou_conn_info *info)
{
	return tou_connect_ao(socket_path, host, port, flags, timeout_s, NULL, info);
}

int tou_connect_ao(const char *socket_path, const char *host, unsigned port, unsigned flags,
		   unsigned timeout_s, const char *ao, struct tou_conn_info *info)
{
	tou_detail[0] = '\0';
	if (!word_ok(host) || port == 0 || port > 65535 ||
	    (flags & ~(unsigned)(TOU_NODELAY | TOU_KEEPALIVE)) || (ao && !word_ok(ao)))
		return -EINVAL;
	int bad = check_literal(host);
	if (bad < 0)
		return bad;
	char line[TOU_PROTO_MAX_LINE];
	int n = snprintf(line, sizeof(line), "CONNECT %s %u%s%s", host, port,
			 (flags & TOU_NODELAY) ? " nodelay" : "",
			 (flags & TOU_KEEPALIVE) ? " keepalive" : "");
	if (n < 0 || (size_t)n >= sizeof(line) - 24)
		return -EINVAL;
	if (timeout_s)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " timeout=%u", timeout_s);
	if (ao && (size_t)snprintf(line + n, sizeof(line) - (size_t)n, " ao=%s", ao) >= sizeof(line) - (size_t)n)
		return -EINVAL;
	return open_stream(socket_path, line, info);
}

int tou_accept_flags(const char *socket_path, unsigned port, unsigned flags, unsigned timeout_s,
		     struct tou_conn_info *info)
{
	if (port == 0 || port > 65535 || (flags & ~(unsigned)(TOU_NODELAY | TOU_KEEPALIVE)))
		return -EINVAL;
	char line[96];
	int n = snprintf(line, sizeof(line), "ACCEPT %u%s%s", port,
			 (flags & TOU_NODELAY) ? " nodelay" : "",
			 (flags & TOU_KEEPALIVE) ? " keepalive" : "");
	if (timeout_s)
		snprintf(line + n, sizeof(line) - (size_t)n, " timeout=%u", timeout_s);
	return open_stream(socket_path, line, info);
}

int tou_accept(const char *socket_path, unsigned port, unsigned timeout_s,
	       struct tou_conn_info *info)
{
	return tou_accept_flags(socket_path, port, 0, timeout_s, info);
}

int tou_hold(const char *socket_path, const char *line, char *reply, size_t len)
{
	if (!line || strlen(line) + 1 > TOU_PROTO_MAX_LINE || strchr(line, '\n'))
		return -EINVAL;
	int fd = api_open(socket_path);
	if (fd < 0)
		return fd;
	int r = send_request(fd, line);
	char ans[TOU_PROTO_MAX_LINE];
	if (r == 0)
		r = read_line_exact(fd, ans, sizeof(ans));
	const char *rest = NULL;
	if (r >= 0)
		r = parse_answer(ans, &rest);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (reply && len)
		snprintf(reply, len, "%s", rest ? rest : "");
	return fd;
}

int tou_listen(const char *socket_path, unsigned port, unsigned backlog)
{
	return tou_listen_opts(socket_path, port, backlog, NULL, NULL);
}

int tou_listen_opts(const char *socket_path, unsigned port, unsigned backlog, const char *ao,
		    const char *allow)
{
	tou_detail[0] = '\0';
	if (port == 0 || port > 65535 || (ao && !word_ok(ao)) || (allow && !word_ok(allow)))
		return -EINVAL;
	char line[TOU_PROTO_MAX_LINE];
	int n = snprintf(line, sizeof(line), "LISTEN %u", port);
	if (backlog)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " backlog=%u", backlog);
	if (ao)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " ao=%s", ao);
	if (allow && (size_t)snprintf(line + n, sizeof(line) - (size_t)n, " allow=%s", allow) >=
			     sizeof(line) - (size_t)n)
		return -EINVAL;
	return tou_hold(socket_path, line, NULL, 0);
}

int tou_request(const char *socket_path, const char *line, char **reply)
{
	if (!line || strlen(line) + 1 > TOU_PROTO_MAX_LINE || strchr(line, '\n'))
		return -EINVAL;
	int fd = api_open(socket_path);
	if (fd < 0)
		return fd;
	char *ans = NULL;
	int r = send_request(fd, line);
	if (r == 0)
		r = read_line_alloc(fd, &ans);
	close(fd);
	if (r < 0)
		return r;
	if (!ans)
		return -EPROTO;
	const char *rest = NULL;
	r = parse_answer(ans, &rest);
	if (r == 0 && reply) {
		size_t n = strlen(rest);
		memmove(ans, rest, n + 1);
		*reply = ans;
		return 0;
	}
	free(ans);
	return r;
}

int tou_abort(const char *socket_path, uint64_t id)
{
	char line[64];
	snprintf(line, sizeof(line), "ABORT %llu", (unsigned long long)id);
	return tou_request(socket_path, line, NULL);
}

int tou_version(const char *socket_path, char *buf, size_t len)
{
	char *v = NULL;
	int r = tou_request(socket_path, "VERSION", &v);
	if (r < 0)
		return r;
	if (buf && len)
		snprintf(buf, len, "%s", v);
	free(v);
	return 0;
}

/* Fetch a JSON answer and check it parses, with the expected root type. */
static int json_request(const char *socket_path, const char *line, enum tj_type root, char **json)
{
	char *doc = NULL;
	int r = tou_request(socket_path, line, &doc);
	if (r < 0)
		return r;
	if (!doc)
		return -EPROTO;
	size_t len = strlen(doc);
	int max = (int)(len / 2 + 2);
	struct tj_tok *toks = malloc((size_t)max * sizeof(*toks));
	if (!toks) {
		free(doc);
		return -ENOMEM;
	}
	int n = tj_parse(doc, len, toks, max);
	int ok = n > 0 && toks[0].type == root;
	free(toks);
	if (!ok) {
		free(doc);
		return -EPROTO;
	}
	if (json)
		*json = doc;
	else
		free(doc);
	return 0;
}

int tou_list(const char *socket_path, char **json)
{
	return json_request(socket_path, "LIST", TJ_ARRAY, json);
}

int tou_stats(const char *socket_path, char **json)
{
	return json_request(socket_path, "STATS", TJ_OBJECT, json);
}

int tou_status_parse(const char *json, size_t len, struct tou_status *st)
{
	struct tj_tok toks[512];
	int n = tj_parse(json, len, toks, (int)(sizeof(toks) / sizeof(toks[0])));
	if (n < 0)
		return -EPROTO;
	if (toks[0].type != TJ_OBJECT)
		return -EPROTO;
	struct tou_status s;
	memset(&s, 0, sizeof(s));
	s.uid = TOU_UID_NONE; /* absent (or -1) for connections no user owns */
	static const struct { const char *key; size_t off; } nums[] = {
#define F(k) { #k, offsetof(struct tou_status, k) }
		F(id), F(uid), F(send_queue), F(recv_queue), F(snd_wnd), F(rcv_wnd),
		F(mss), F(cwnd), F(ssthresh), F(srtt_us), F(rttvar_us), F(rto_us),
		F(retransmits), F(bytes_sent), F(bytes_acked), F(bytes_received),
		F(segs_in), F(segs_out),
#undef F
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		int v = tj_get(json, toks, 0, nums[i].key);
		uint64_t x;
		if (v >= 0 && tj_u64(json, toks, v, &x) == 0)
			*(uint64_t *)((char *)&s + nums[i].off) = x;
	}
	static const struct { const char *key; size_t off; } flags[] = {
#define F(k) { #k, offsetof(struct tou_status, k) }
		F(timestamps), F(sack), F(nodelay), F(keepalive),
#undef F
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		int v = tj_get(json, toks, 0, flags[i].key);
		*(int *)((char *)&s + flags[i].off) = v >= 0 && toks[v].type == TJ_TRUE;
	}
	uint64_t ws;
	if (tj_u64(json, toks, tj_get(json, toks, 0, "snd_wscale"), &ws) == 0 && ws <= 14)
		s.snd_wscale = (unsigned)ws;
	if (tj_u64(json, toks, tj_get(json, toks, 0, "rcv_wscale"), &ws) == 0 && ws <= 14)
		s.rcv_wscale = (unsigned)ws;
	tj_str(json, toks, tj_get(json, toks, 0, "state"), s.state, sizeof(s.state));
	tj_str(json, toks, tj_get(json, toks, 0, "end"), s.end, sizeof(s.end));
	tj_str(json, toks, tj_get(json, toks, 0, "local"), s.local, sizeof(s.local));
	tj_str(json, toks, tj_get(json, toks, 0, "remote"), s.remote, sizeof(s.remote));
	tj_str(json, toks, tj_get(json, toks, 0, "cc"), s.cc, sizeof(s.cc));
	if (strcmp(s.state, "LISTEN") == 0) {
		/* a listener reads as `ss -lt` shows one: Recv-Q the connections
		 * waiting for ACCEPT, Send-Q the backlog */
		uint64_t x;
		if (tj_u64(json, toks, tj_get(json, toks, 0, "accept_queue"), &x) == 0)
			s.recv_queue = x;
		if (tj_u64(json, toks, tj_get(json, toks, 0, "backlog"), &x) == 0)
			s.send_queue = x;
	}
	if (st)
		*st = s;
	return 0;
}

int tou_status(const char *socket_path, uint64_t id, struct tou_status *st, char **json)
{
	char line[64];
	snprintf(line, sizeof(line), "STATUS %llu", (unsigned long long)id);
	char *doc = NULL;
	int r = tou_request(socket_path, line, &doc);
	if (r < 0)
		return r;
	if (!doc)
		return -EPROTO;
	r = tou_status_parse(doc, strlen(doc), st);
	if (r == 0 && json)
		*json = doc;
	else
		free(doc);
	return r;
}

/*
 * test_libtou.c - libtou against a scripted fake API server (a thread on
 * a Unix socket in a private temporary directory): the request lines it
 * sends, how it reads answers, errors, and the stream fd it returns.
 */
#include "tt.h"
#include "tou.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ------------------------------------------------------ the fake server */

struct fake {
	char dir[64], path[128];
	int lfd;
	pthread_t thr;
	/* script for the next connection */
	const char *reply;   /* written in ONE write() after the request */
	size_t reply_len;    /* 0: strlen(reply) */
	int echo;            /* then echo the stream until EOF, then SHUT_WR */
	int hold;            /* then keep the connection until the client closes */
	/* what the server saw */
	char request[2048];
	int got_eof;         /* client closed/shut down its side (hold mode) */
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	int c = accept(f->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	size_t n = 0;
	char ch;
	while (n + 1 < sizeof(f->request) && read(c, &ch, 1) == 1 && ch != '\n')
		f->request[n++] = ch;
	f->request[n] = '\0';
	if (f->reply) {
		size_t len = f->reply_len ? f->reply_len : strlen(f->reply);
		size_t off = 0;
		while (off < len) {
			ssize_t w = write(c, f->reply + off, len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	if (f->echo) {
		char buf[4096];
		ssize_t r;
		while ((r = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)r) != r)
				break;
		shutdown(c, SHUT_WR);
	}
	if (f->hold) {
		char buf[64];
		while (read(c, buf, sizeof(buf)) > 0)
			;
		f->got_eof = 1;
	}
	close(c);
	return NULL;
}

/* Start a server that answers one connection with `reply`. */
static void fake_start(struct fake *f, const char *reply)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/tou-test-XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, f->path);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(f->lfd, 4) < 0)
		abort();
	f->reply = reply;
}

static void fake_go(struct fake *f)
{
	if (pthread_create(&f->thr, NULL, fake_serve, f) != 0)
		abort();
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thr, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
}

/* One request with a canned answer. */
#define WITH_FAKE(f, reply_)                                                   \
	struct fake f;                                                         \
	fake_start(&f, reply_);                                                \
	fake_go(&f)

static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return (ssize_t)n;
		n += (size_t)r;
		if (n == cap)
			return (ssize_t)n;
	}
}

/* ------------------------------------------------------------- connect */

TT_TEST(connect_sends_request_and_parses_ok)
{
	WITH_FAKE(f, "OK 42 127.0.0.1:9811/40000 [::1]:9811/80\n");
	struct tou_conn_info info;
	int fd = tou_connect(f.path, "example.org:9000", 80, TOU_NODELAY | TOU_KEEPALIVE, 5, &info);
	TT_ASSERT(fd >= 0);
	close(fd);
	fake_stop(&f);
	TT_STREQ(f.request, "CONNECT example.org:9000 80 nodelay keepalive timeout=5");
	TT_EQ(info.id, 42);
	TT_STREQ(info.local, "127.0.0.1:9811/40000");
	TT_STREQ(info.remote, "[::1]:9811/80");
}

TT_TEST(connect_minimal_request)
{
	WITH_FAKE(f, "OK 1 a b\n");
	int fd = tou_connect(f.path, "10.0.0.1", 5000, 0, 0, NULL);
	TT_ASSERT(fd >= 0);
	close(fd);
	fake_stop(&f);
	TT_STREQ(f.request, "CONNECT 10.0.0.1 5000");
}

TT_TEST(connect_does_not_consume_stream_bytes)
{
	/* The answer and the first stream bytes arrive in one write(). */
	WITH_FAKE(f, "OK 9 l r\nhello, stream");
	struct tou_conn_info info;
	int fd = tou_connect(f.path, "h", 1, 0, 0, &info);
	TT_ASSERT(fd >= 0);
	char buf[64];
	ssize_t n = read_all(fd, buf, sizeof(buf));
	close(fd);
	fake_stop(&f);
	TT_EQ(n, 13);
	TT_MEMEQ(buf, "hello, stream", 13);
	TT_EQ(info.id, 9);
}

TT_TEST(stream_fd_is_a_plain_socket_with_half_close)
{
	struct fake f;
	fake_start(&f, "OK 3 l r\n");
	f.echo = 1;
	fake_go(&f);
	int fd = tou_connect(f.path, "h", 1, 0, 0, NULL);
	TT_ASSERT(fd >= 0);
	static char out[300000], in[300001];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 3);
	/* Write in pieces, then FIN (shutdown), then read the echo to EOF.
	 * The payload fits the socket buffers of both directions together
	 * only if the echo is read while writing, so do both. */
	size_t off = 0, got = 0;
	int shut = 0;
	while (!shut || got < sizeof(out)) {
		if (off < sizeof(out)) {
			ssize_t w = send(fd, out + off, sizeof(out) - off < 65536 ? sizeof(out) - off : 65536,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0)
				off += (size_t)w;
		} else if (!shut) {
			TT_EQ(shutdown(fd, SHUT_WR), 0);
			shut = 1;
		}
		ssize_t r = recv(fd, in + got, sizeof(in) - got, shut ? 0 : MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
	}
	ssize_t r = read(fd, in + got, 1);
	close(fd);
	fake_stop(&f);
	TT_EQ(r, 0); /* EOF after the echo: the server's FIN */
	TT_EQ(got, sizeof(out));
	TT_MEMEQ(in, out, sizeof(out));
}

TT_TEST(connect_errors_map_reasons)
{
	static const struct { const char *answer; int code; } cases[] = {
		{ "ERR refused port 80 closed\n", -ECONNREFUSED },
		{ "ERR timeout no answer\n", -ETIMEDOUT },
		{ "ERR unreachable no route\n", -EHOSTUNREACH },
		{ "ERR denied ports below 1024 need root\n", -EACCES },
		{ "ERR limit too many connections\n", -ENOBUFS },
		{ "ERR inuse port in use\n", -EADDRINUSE },
		{ "ERR notfound none\n", -ENOENT },
		{ "ERR shutdown stopping\n", -ESHUTDOWN },
		{ "ERR internal oops\n", -EIO },
		{ "ERR badrequest bad port\n", -EINVAL },
		{ "ERR somethingnew future reason\n", -EIO },
		{ "ERR refused\n", -ECONNREFUSED }, /* no text */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		WITH_FAKE(f, cases[i].answer);
		int r = tou_connect(f.path, "h", 80, 0, 0, NULL);
		fake_stop(&f);
		if (r != cases[i].code) {
			TT_FAIL_("answer \"%s\": got %d, want %d", cases[i].answer, r, cases[i].code);
			return;
		}
	}
}

TT_TEST(err_detail_is_the_daemon_text)
{
	WITH_FAKE(f, "ERR refused port 80 closed\n");
	TT_EQ(tou_connect(f.path, "h", 80, 0, 0, NULL), -ECONNREFUSED);
	fake_stop(&f);
	TT_STREQ(tou_errdetail(), "port 80 closed");
	/* A later success clears it. */
	WITH_FAKE(g, "OK fake-1\n");
	char v[32];
	TT_EQ(tou_version(g.path, v, sizeof(v)), 0);
	fake_stop(&g);
	TT_STREQ(v, "fake-1");
	TT_STREQ(tou_errdetail(), "");
}

TT_TEST(malformed_answers_are_eproto)
{
	static const char *answers[] = {
		"HELLO\n", "OK\n", "OK x a b\n", "OK 1 a\n", "OK 1  b\n", "OK -1 a b\n",
		"OK 1\n", "ok 1 a b\n", "ERR\n", "ERR  x\n",
		"OK 1 a b",       /* closed before the newline */
		"",               /* closed without answering */
		"OK 99999999999999999999999 a b\n", /* id overflows */
	};
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		WITH_FAKE(f, answers[i]);
		int r = tou_connect(f.path, "h", 80, 0, 0, NULL);
		fake_stop(&f);
		if (r != -EPROTO) {
			TT_FAIL_("answer \"%s\": got %d, want -EPROTO", answers[i], r);
			if (r >= 0)
				close(r);
			return;
		}
	}
}

TT_TEST(overlong_answer_line_is_eproto)
{
	static char big[3000];
	memset(big, 'A', sizeof(big) - 1);
	memcpy(big, "OK 1 ", 5);
	struct fake f;
	fake_start(&f, big);
	f.hold = 0;
	fake_go(&f);
	int r = tou_connect(f.path, "h", 80, 0, 0, NULL);
	fake_stop(&f);
	TT_EQ(r, -EPROTO);
}

TT_TEST(bad_arguments_send_nothing)
{
	/* No server at all: arguments are checked before connecting. */
	TT_EQ(tou_connect("/nonexistent/x", "has space", 80, 0, 0, NULL), -EINVAL);
	TT_EQ(tou_connect("/nonexistent/x", "nl\n", 80, 0, 0, NULL), -EINVAL);
	TT_EQ(tou_connect("/nonexistent/x", "", 80, 0, 0, NULL), -EINVAL);
	TT_EQ(tou_connect("/nonexistent/x", NULL, 80, 0, 0, NULL), -EINVAL);
	TT_EQ(tou_connect("/nonexistent/x", "h", 0, 0, 0, NULL), -EINVAL);
	TT_EQ(tou_connect("/nonexistent/x", "h", 65536, 0, 0, NULL), -EINVAL);
	TT_EQ(tou_connect("/nonexistent/x", "h", 1, 0x80, 0, NULL), -EINVAL);
	TT_EQ(tou_listen("/nonexistent/x", 0, 0), -EINVAL);
	TT_EQ(tou_accept("/nonexistent/x", 70000, 0, NULL), -EINVAL);
	static char host[2000];
	memset(host, 'h', sizeof(host) - 1);
	TT_EQ(tou_connect("/nonexistent/x", host, 1, 0, 0, NULL), -EINVAL);
}

TT_TEST(no_daemon_is_enodaemon)
{
	char dir[] = "/tmp/tou-test-XXXXXX";
	TT_ASSERT(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	errno = 0;
	TT_EQ(tou_connect(path, "h", 80, 0, 0, NULL), TOU_ENODAEMON);
	TT_EQ(errno, ENOENT);
	/* A socket file nobody listens on. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	TT_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	TT_EQ(tou_status(path, 1, NULL, NULL), TOU_ENODAEMON);
	TT_EQ(errno, ECONNREFUSED);
	unlink(path);
	rmdir(dir);
	TT_STREQ(tou_strerror(TOU_ENODAEMON), "daemon not reachable");
	/* A path longer than sun_path. */
	static char longpath[200];
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	TT_EQ(tou_list(longpath, NULL), -ENAMETOOLONG);
}

TT_TEST(socket_path_from_argument_env_default)
{
	unsetenv("TOU_SOCKET");
	TT_STREQ(tou_socket_path(NULL), TOU_DEFAULT_SOCKET);
	setenv("TOU_SOCKET", "", 1);
	TT_STREQ(tou_socket_path(NULL), TOU_DEFAULT_SOCKET);
	setenv("TOU_SOCKET", "/tmp/from-env.sock", 1);
	TT_STREQ(tou_socket_path(NULL), "/tmp/from-env.sock");
	TT_STREQ(tou_socket_path("/x/arg.sock"), "/x/arg.sock");
	/* NULL really uses the environment. */
	WITH_FAKE(f, "OK v\n");
	setenv("TOU_SOCKET", f.path, 1);
	char v[8];
	TT_EQ(tou_version(NULL, v, sizeof(v)), 0);
	fake_stop(&f);
	unsetenv("TOU_SOCKET");
	TT_STREQ(f.request, "VERSION");
}

/* ------------------------------------------------------- listen/accept */

TT_TEST(listen_keeps_connection_open)
{
	struct fake f;
	fake_start(&f, "OK 5000\n");
	f.hold = 1;
	fake_go(&f);
	int fd = tou_listen(f.path, 5000, 8);
	TT_ASSERT(fd >= 0);
	TT_EQ(f.got_eof, 0);
	close(fd); /* stops listening */
	fake_stop(&f);
	TT_EQ(f.got_eof, 1);
	TT_STREQ(f.request, "LISTEN 5000 backlog=8");
}

TT_TEST(listen_inuse)
{
	WITH_FAKE(f, "ERR inuse port 5000 already listened on\n");
	TT_EQ(tou_listen(f.path, 5000, 0), -EADDRINUSE);
	fake_stop(&f);
	TT_STREQ(f.request, "LISTEN 5000");
}

TT_TEST(accept_request_and_stream)
{
	WITH_FAKE(f, "OK 17 127.0.0.1:9811/5000 127.0.0.1:9812/40001\nX");
	struct tou_conn_info info;
	int fd = tou_accept(f.path, 5000, 3, &info);
	TT_ASSERT(fd >= 0);
	char c = 0;
	TT_EQ(read(fd, &c, 1), 1);
	close(fd);
	fake_stop(&f);
	TT_EQ(c, 'X');
	TT_STREQ(f.request, "ACCEPT 5000 timeout=3");
	TT_EQ(info.id, 17);
	TT_STREQ(info.remote, "127.0.0.1:9812/40001");
}

TT_TEST(accept_flags_request)
{
	WITH_FAKE(f, "OK 18 127.0.0.1:9811/5000 127.0.0.1:9812/40002\n");
	int fd = tou_accept_flags(f.path, 5000, TOU_NODELAY | TOU_KEEPALIVE, 7, NULL);
	TT_ASSERT(fd >= 0);
	close(fd);
	fake_stop(&f);
	TT_STREQ(f.request, "ACCEPT 5000 nodelay keepalive timeout=7");
	TT_EQ(tou_accept_flags(f.path, 5000, 0x100, 0, NULL), -EINVAL);
}

TT_TEST(accept_timeout)
{
	WITH_FAKE(f, "ERR timeout no connection\n");
	TT_EQ(tou_accept(f.path, 5000, 0, NULL), -ETIMEDOUT);
	fake_stop(&f);
	TT_STREQ(f.request, "ACCEPT 5000");
}

/* ------------------------------------------------- status, list, stats */

static const char status_json[] =
	"{\"id\":5,\"state\":\"FIN-WAIT-2\",\"local\":\"127.0.0.1:9811/40000\","
	"\"remote\":\"127.0.0.1:9812/80\",\"uid\":1000,\"send_queue\":10,\"recv_queue\":20,"
	"\"snd_wnd\":65535,\"rcv_wnd\":131072,\"mss\":1452,\"cwnd\":14520,"
	"\"ssthresh\":4294967295,\"srtt_us\":1500,\"rttvar_us\":750,\"rto_us\":201000,"
	"\"retransmits\":3,\"bytes_sent\":1000000,\"bytes_acked\":999990,"
	"\"bytes_received\":12345,\"segs_in\":400,\"segs_out\":700,\"cc\":\"cubic\","
	"\"end\":\"reset\",\"future_key\":{\"x\":[1,2]}}";

TT_TEST(status_parses_every_field)
{
	static char answer[2048];
	snprintf(answer, sizeof(answer), "OK %s\n", status_json);
	WITH_FAKE(f, answer);
	struct tou_status st;
	char *json = NULL;
	TT_EQ(tou_status(f.path, 5, &st, &json), 0);
	fake_stop(&f);
	TT_STREQ(f.request, "STATUS 5");
	TT_STREQ(json, status_json);
	free(json);
	TT_EQ(st.id, 5);
	TT_STREQ(st.state, "FIN-WAIT-2");
	TT_STREQ(st.end, TOU_END_RESET);
	TT_STREQ(st.local, "127.0.0.1:9811/40000");
	TT_STREQ(st.remote, "127.0.0.1:9812/80");
	TT_STREQ(st.cc, "cubic");
	TT_EQ(st.uid, 1000);
	TT_EQ(st.send_queue, 10);
	TT_EQ(st.recv_queue, 20);
	TT_EQ(st.snd_wnd, 65535);
	TT_EQ(st.rcv_wnd, 131072);
	TT_EQ(st.mss, 1452);
	TT_EQ(st.cwnd, 14520);
	TT_EQ(st.ssthresh, 4294967295LL);
	TT_EQ(st.srtt_us, 1500);
	TT_EQ(st.rttvar_us, 750);
	TT_EQ(st.rto_us, 201000);
	TT_EQ(st.retransmits, 3);
	TT_EQ(st.bytes_sent, 1000000);
	TT_EQ(st.bytes_acked, 999990);
	TT_EQ(st.bytes_received, 12345);
	TT_EQ(st.segs_in, 400);
	TT_EQ(st.segs_out, 700);
}

TT_TEST(status_live_has_no_end)
{
	WITH_FAKE(f, "OK {\"id\":1,\"state\":\"ESTABLISHED\",\"end\":null,\"uid\":-1}\n");
	struct tou_status st;
	TT_EQ(tou_status(f.path, 1, &st, NULL), 0);
	fake_stop(&f);
	TT_STREQ(st.state, "ESTABLISHED");
	TT_STREQ(st.end, "");
	TT_EQ(st.cwnd, 0);
	TT_ASSERT(st.uid == TOU_UID_NONE); /* not reported */
}

TT_TEST(status_parse_listener_queues_like_ss)
{
	static const char l[] = "{\"id\":0,\"state\":\"LISTEN\",\"local\":\"*:7000\","
				"\"remote\":\"*\",\"uid\":0,\"backlog\":128,\"accept_queue\":3}";
	struct tou_status st;
	TT_EQ(tou_status_parse(l, sizeof l - 1, &st), 0);
	TT_STREQ(st.state, "LISTEN");
	TT_EQ(st.recv_queue, 3);
	TT_EQ(st.send_queue, 128);
	TT_EQ(st.uid, 0);
}

TT_TEST(status_bad_json_is_eproto)
{
	static const char *answers[] = {
		"OK {\"id\":1,\n", "OK [1,2]\n", "OK\n", "OK {\"id\":1}} \n", "OK 5\n",
	};
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		WITH_FAKE(f, answers[i]);
		int r = tou_status(f.path, 1, NULL, NULL);
		fake_stop(&f);
		if (r != -EPROTO) {
			TT_FAIL_("answer \"%s\": got %d", answers[i], r);
			return;
		}
	}
	WITH_FAKE(g, "ERR notfound no connection 1\n");
	TT_EQ(tou_status(g.path, 1, NULL, NULL), -ENOENT);
	fake_stop(&g);
}

TT_TEST(list_long_answer)
{
	/* A LIST far longer than TOU_PROTO_MAX_LINE. */
	size_t cap = 400000, n = 0;
	char *answer = malloc(cap);
	TT_ASSERT(answer);
	n += (size_t)snprintf(answer + n, cap - n, "OK [");
	int count = 0;
	while (n + sizeof(status_json) + 8 < cap) {
		n += (size_t)snprintf(answer + n, cap - n, "%s%s", count ? "," : "", status_json);
		count++;
	}
	n += (size_t)snprintf(answer + n, cap - n, "]\n");
	WITH_FAKE(f, answer);
	char *json = NULL;
	TT_EQ(tou_list(f.path, &json), 0);
	fake_stop(&f);
	TT_STREQ(f.request, "LIST");
	TT_EQ(strlen(json), n - 4);
	TT_EQ(json[0], '[');
	free(json);
	free(answer);
	TT_ASSERT(count > 100);
}

TT_TEST(list_and_stats_check_root_type)
{
	WITH_FAKE(f, "OK {}\n");
	TT_EQ(tou_list(f.path, NULL), -EPROTO);
	fake_stop(&f);
	WITH_FAKE(g, "OK []\n");
	TT_EQ(tou_stats(g.path, NULL), -EPROTO);
	fake_stop(&g);
	WITH_FAKE(h, "OK {\"TcpActiveOpens\":3,\"drops\":{\"bad_checksum\":0}}\n");
	char *json = NULL;
	TT_EQ(tou_stats(h.path, &json), 0);
	fake_stop(&h);
	TT_STREQ(h.request, "STATS");
	TT_STREQ(json, "{\"TcpActiveOpens\":3,\"drops\":{\"bad_checksum\":0}}");
	free(json);
}

TT_TEST(abort_request)
{
	WITH_FAKE(f, "OK\n");
	TT_EQ(tou_abort(f.path, 123456789012ULL), 0);
	fake_stop(&f);
	TT_STREQ(f.request, "ABORT 123456789012");
	WITH_FAKE(g, "ERR notfound no connection 7\n");
	TT_EQ(tou_abort(g.path, 7), -ENOENT);
	fake_stop(&g);
}

TT_TEST(request_rejects_newlines)
{
	TT_EQ(tou_request("/nonexistent/x", "LIST\nABORT 1", NULL), -EINVAL);
	WITH_FAKE(f, "OK hello world\n");
	char *reply = NULL;
	TT_EQ(tou_request(f.path, "VERSION", &reply), 0);
	fake_stop(&f);
	TT_STREQ(reply, "hello world");
	free(reply);
}

TT_TEST(strerror_names_every_code)
{
	int codes[] = { TOU_ENODAEMON, -EINVAL, -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH,
			-EACCES, -ENOBUFS, -EADDRINUSE, -ENOENT, -ESHUTDOWN, -EIO, -EPROTO,
			-ENOMEM, -ECONNRESET };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = tou_strerror(codes[i]);
		TT_ASSERT(s && *s && strcmp(s, "unknown error") != 0);
		for (size_t j = 0; j < i; j++)
			TT_ASSERT(strcmp(s, tou_strerror(codes[j])) != 0);
	}
	TT_STREQ(tou_strerror(-99999), "unknown error");
	TT_STREQ(tou_strerror(0), "success");
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN); /* the fake may write to a closed client */
	return tt_main(argc, argv);
}

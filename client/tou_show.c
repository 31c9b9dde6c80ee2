/*
 * tou_show.c - the tou commands that show the daemon, like ss(8) and
 * nstat(8), and abort:
 *
 *   tou status [--json] [ID|FILTER]   connections and listeners (LIST / STATUS)
 *   tou stats [--json] [PATTERN...]   counters (STATS), --delta like nstat
 *   tou info                          the daemon (STATUS without an id)
 *   tou abort ID                      send RST (ABORT), or close a listener
 */
#include "tou.h"
#include "tou_cli.h"
#include "tou_json.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void print_status_header(void)
{
	printf("%-6s %-12s %8s %8s %-28s %s\n", "ID", "State", "Recv-Q", "Send-Q",
	       "Local", "Remote");
}

/* One connection like `ss -ti`: a summary line, then an indented line of
 * options and TCP internals (times in ms as ss prints them); via: the
 * [forward]/[service] it belongs to, or "". */
static void print_status(const struct tou_status *s, const char *via)
{
	printf("%-6" PRIu64 " %-12s %8" PRIu64 " %8" PRIu64 " %-28s %s\n", s->id,
	       s->state[0] ? s->state : "?", s->recv_queue, s->send_queue, s->local, s->remote);
	if (strcmp(s->state, "LISTEN") == 0)
		return; /* a listener: nothing but its port */
	printf("\t");
	if (s->timestamps)
		printf(" ts");
	if (s->sack)
		printf(" sack");
	if (s->snd_wscale || s->rcv_wscale)
		printf(" wscale:%u,%u", s->snd_wscale, s->rcv_wscale);
	if (s->nodelay)
		printf(" nodelay");
	if (s->keepalive)
		printf(" keepalive");
	if (s->cc[0])
		printf(" %s", s->cc);
	printf(" rtt:%.3f/%.3f rto:%.0f mss:%" PRIu64 " cwnd:%" PRIu64, s->srtt_us / 1000.0,
	       s->rttvar_us / 1000.0, s->rto_us / 1000.0, s->mss, s->cwnd);
	if (s->ssthresh && s->ssthresh < UINT32_MAX)
		printf(" ssthresh:%" PRIu64, s->ssthresh);
	printf(" snd_wnd:%" PRIu64 " rcv_wnd:%" PRIu64 " retrans:%" PRIu64
	       " bytes_sent:%" PRIu64 " bytes_acked:%" PRIu64 " bytes_received:%" PRIu64
	       " segs_out:%" PRIu64 " segs_in:%" PRIu64,
	       s->snd_wnd, s->rcv_wnd, s->retransmits, s->bytes_sent, s->bytes_acked,
	       s->bytes_received, s->segs_out, s->segs_in);
	if (s->uid != TOU_UID_NONE)
		printf(" uid:%" PRIu64, s->uid);
	if (s->end[0])
		printf(" end:%s", s->end);
	if (via[0])
		printf(" via:%s", via);
	printf("\n");
}

/* "via" of a connection object (a forwarded one's forward or service). */
static void via_of(const char *json, const struct tj_tok *toks, int obj, char *via, size_t len)
{
	via[0] = '\0';
	int v = tj_get(json, toks, obj, "via");
	if (v >= 0 && tj_str(json, toks, v, via, len) < 0)
		via[0] = '\0';
}

/* `tou status` filters, like ss's: states (any of them), ports. */
#define MAX_STATES 16
struct filter {
	const char *states[MAX_STATES];
	int n_states;
	unsigned sport, dport; /* 0: any */
};

static const char *const state_names[] = {
	"LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
	"CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT", "CLOSED",
};

/* "time_wait", "Time-Wait" -> "TIME-WAIT"; "listening" -> "LISTEN";
 * "connected" stays a group name.  NULL if unknown. */
static const char *state_lookup(const char *name)
{
	char up[32];
	size_t n = strlen(name);
	if (n >= sizeof(up))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		up[i] = name[i] == '_' ? '-' : (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	if (strcmp(up, "LISTENING") == 0)
		return "LISTEN";
	if (strcmp(up, "CONNECTED") == 0)
		return "connected";
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(up, state_names[i]) == 0)
			return state_names[i];
	return NULL;
}

/* The TCP port of "<ip>:<udp-port>/<tcp-port>" (0 if none, e.g. "*"). */
static unsigned tcp_port_of(const char *addr)
{
	const char *slash = strrchr(addr, '/');
	unsigned long long v;
	return slash && parse_uint(slash + 1, 1, 65535, &v) == 0 ? (unsigned)v : 0;
}

static int filter_match(const struct filter *f, const struct tou_status *s)
{
	int listener = strcmp(s->state, "LISTEN") == 0;
	if (cli.listening && !listener)
		return 0;
	if (f->n_states) {
		int any = 0;
		for (int i = 0; i < f->n_states && !any; i++) {
			if (strcmp(f->states[i], "connected") == 0)
				any = !listener && strcmp(s->state, "SYN-SENT") != 0 &&
				      strcmp(s->state, "CLOSED") != 0;
			else
				any = strcmp(f->states[i], s->state) == 0;
		}
		if (!any)
			return 0;
	}
	if (f->sport && tcp_port_of(s->local) != f->sport)
		return 0;
	if (f->dport && tcp_port_of(s->remote) != f->dport)
		return 0;
	return 1;
}

/* FILTER words: state NAME | sport [=] [:]PORT | dport [=] [:]PORT. */
static int parse_filter(int argc, char **argv, struct filter *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		int is_state = strcmp(w, "state") == 0;
		int is_port = strcmp(w, "sport") == 0 || strcmp(w, "dport") == 0;
		if (!is_state && !is_port)
			return usage_error(help_status,
					   "unknown filter '%s' (state NAME, sport PORT, dport PORT, or an id alone)", w);
		if (i + 1 < argc && (strcmp(argv[i + 1], "=") == 0 || strcmp(argv[i + 1], "==") == 0) && is_port)
			i++;
		if (i + 1 >= argc)
			return usage_error(help_status, "filter '%s' needs a value", w);
		const char *v = argv[++i];
		if (is_state) {
			const char *name = state_lookup(v);
			if (!name)
				return usage_error(help_status, "unknown state '%s'", v);
			if (f->n_states == MAX_STATES)
				return usage_error(help_status, "too many states");
			f->states[f->n_states++] = name;
		} else {
			unsigned long long port;
			if (*v == ':')
				v++;
			if (parse_uint(v, 1, 65535, &port) < 0)
				return usage_error(help_status, "invalid port '%s' for %s (1-65535)", argv[i], w);
			*(strcmp(w, "sport") == 0 ? &f->sport : &f->dport) = (unsigned)port;
		}
	}
	return 0;
}

/* Parse a JSON document into a malloc()ed token array (NULL on failure). */
static struct tj_tok *parse_doc(const char *json, enum tj_type root)
{
	size_t len = strlen(json);
	int max = (int)(len / 2 + 2);
	struct tj_tok *toks = malloc((size_t)max * sizeof(*toks));
	if (toks && (tj_parse(json, len, toks, max) < 0 || toks[0].type != root)) {
		free(toks);
		toks = NULL;
	}
	return toks;
}

static int print_doc(char *json)
{
	printf("%s\n", json);
	free(json);
	return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
}

/* With --json print the daemon's document (and free it), else parse it:
 * the tokens, or NULL with *status set (the document freed) when done. */
static struct tj_tok *print_or_parse(char *json, enum tj_type root, const char *what, int *status)
{
	if (cli.json) {
		*status = print_doc(json);
		return NULL;
	}
	struct tj_tok *toks = parse_doc(json, root);
	if (!toks) {
		free(json);
		*status = fail(what, -EPROTO);
	}
	return toks;
}

int cmd_status(int argc, char **argv)
{
	unsigned long long id;
	if (argc == 1 && parse_uint(argv[0], 0, UINT64_MAX, &id) == 0) {
		struct tou_status st;
		char *json = NULL;
		int r = tou_status(cli.socket, id, &st, &json);
		if (r < 0) {
			char what[64];
			snprintf(what, sizeof(what), "status %llu", id);
			return fail(what, r);
		}
		if (cli.json)
			return print_doc(json);
		char via[96] = "";
		struct tj_tok *toks = parse_doc(json, TJ_OBJECT);
		if (toks)
			via_of(json, toks, 0, via, sizeof via);
		free(toks);
		print_status_header();
		print_status(&st, via);
		free(json);
		return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
	}
	struct filter f;
	if (parse_filter(argc, argv, &f))
		return EX_USAGE;
	char *json = NULL;
	int r = tou_list(cli.socket, &json);
	if (r < 0)
		return fail("status", r);
	struct tj_tok *toks = print_or_parse(json, TJ_ARRAY, "status", &r);
	if (!toks)
		return r;
	print_status_header();
	for (int e = tj_first(toks, 0); e >= 0; e = tj_next(toks, 0, e)) {
		struct tou_status st;
		if (toks[e].type != TJ_OBJECT ||
		    tou_status_parse(json + toks[e].start, toks[e].end - toks[e].start, &st) < 0)
			continue;
		char via[96];
		via_of(json, toks, e, via, sizeof via);
		if (filter_match(&f, &st))
			print_status(&st, via);
	}
	free(toks);
	free(json);
	return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
}

/* ------------------------------------------------------------- stats */

/* One counter of STATS, flattened like nstat names it. */
struct counter {
	char name[96];
	char text[64];  /* the value as the daemon wrote it */
	uint64_t value;
	int numeric;
};

struct counters {
	struct counter *v;
	size_t n, cap;
};

static int counters_add(struct counters *c, const char *name, const char *text, int numeric,
			uint64_t value)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct counter *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	struct counter *k = &c->v[c->n++];
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->text, sizeof(k->text), "%s", text);
	k->numeric = numeric;
	k->value = value;
	return 0;
}

static int collect_counters(const char *json, const struct tj_tok *toks, int obj, const char *prefix, int depth,
			    struct counters *out);

/* STATS "forwards" / "services": [{"name":N, ...}] -> forward.N.connections,
 * service.N.refused, ... (the settings' strings too). */
static int collect_entries(const char *json, const struct tj_tok *toks, int arr, const char *key,
			   struct counters *out)
{
	for (int e = tj_first(toks, arr); e >= 0; e = tj_next(toks, arr, e)) {
		char name[64], prefix[80];
		if (toks[e].type != TJ_OBJECT || tj_str(json, toks, tj_get(json, toks, e, "name"), name, sizeof(name)) < 0)
			continue;
		snprintf(prefix, sizeof(prefix), "%.7s.%s", key, name); /* "forward" / "service" */
		int r = collect_counters(json, toks, e, prefix, 1, out);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The scalars of a JSON object: nested keys are joined by '.', except that
 * a group's MIB-style keys (capitalized) become one MIB name:
 * {"tcp":{"ActiveOpens":..}} -> TcpActiveOpens. */
static int collect_counters(const char *json, const struct tj_tok *toks, int obj,
			    const char *prefix, int depth, struct counters *out)
{
	for (int k = tj_first(toks, obj); k >= 0; k = tj_next(toks, obj, k)) {
		char key[64], name[96];
		if (toks[obj].type != TJ_OBJECT)
			continue;
		tj_str(json, toks, k, key, sizeof(key));
		if (depth == 1 && strcmp(key, "name") == 0 && strchr(prefix, '.'))
			continue; /* an entry's name is in its prefix */
		if (*prefix && !strchr(prefix, '.') && key[0] >= 'A' && key[0] <= 'Z')
			snprintf(name, sizeof(name), "%c%s%s",
				 prefix[0] >= 'a' && prefix[0] <= 'z' ? prefix[0] - 'a' + 'A' : prefix[0],
				 prefix + 1, key);
		else
			snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", key);
		const struct tj_tok *v = &toks[k + 1];
		char text[64];
		uint64_t x = 0;
		int r = 0;
		switch (v->type) {
		case TJ_OBJECT:
			if (depth < 8)
				r = collect_counters(json, toks, k + 1, name, depth + 1, out);
			break;
		case TJ_ARRAY:
			if (depth == 0 && (!strcmp(key, "forwards") || !strcmp(key, "services")))
				r = collect_entries(json, toks, k + 1, key, out);
			break; /* else not a counter */
		case TJ_STRING:
			tj_str(json, toks, k + 1, text, sizeof(text));
			r = counters_add(out, name, text, 0, 0);
			break;
		default:
			snprintf(text, sizeof(text), "%.*s", (int)(v->end - v->start), json + v->start);
			if (v->type == TJ_NUMBER && tj_u64(json, toks, k + 1, &x) == 0)
				r = counters_add(out, name, text, 1, x);
			else
				r = counters_add(out, name, text, 0, 0);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Values that go up and down (how many now), shown as they are by
 * --delta, as nstat does for none but we can name ours. */
static int is_gauge(const char *name)
{
	static const char *const gauges[] = {
		"TcpCurrEstab", "route.entries", "route.pinned", "api.clients_waiting",
		"api.connections", "api.ended_kept",
	};
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (strcmp(name, gauges[i]) == 0)
			return 1;
	/* a forward's or service's live connections */
	return fnmatch("forward.*.active", name, 0) == 0 || fnmatch("service.*.active", name, 0) == 0;
}

/* The --delta history file of this user and daemon socket. */
static void history_path(char *buf, size_t len)
{
	const char *env = getenv("TOU_STATS_HISTORY");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	uint32_t h = 2166136261u; /* FNV-1a of the socket path: one file per daemon */
	for (const char *p = tou_socket_path(cli.socket); *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	const char *run = getenv("XDG_RUNTIME_DIR");
	if (run && *run)
		snprintf(buf, len, "%s/tou-stats.%08x", run, (unsigned)h);
	else
		snprintf(buf, len, "/tmp/.tou-stats.u%u.%08x", (unsigned)getuid(), (unsigned)h);
}

/* Read the history: first line "#tou-stats <daemon pid>", then "name
 * value" lines.  Only a regular file of ours counts; a history of another
 * daemon process (restarted) counts as none. */
static void history_load(const char *path, long pid, struct counters *old)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat sb;
	FILE *f = NULL;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == getuid())
		f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	char line[256];
	long hpid = -1;
	if (fgets(line, sizeof(line), f) && sscanf(line, "#tou-stats %ld", &hpid) == 1 && hpid == pid) {
		while (fgets(line, sizeof(line), f)) {
			char name[96];
			unsigned long long v;
			if (sscanf(line, "%95s %llu", name, &v) == 2 && counters_add(old, name, "", 1, v) < 0)
				break;
		}
	}
	fclose(f);
}

/* Write the history atomically (a new file renamed over the old one). */
static void history_save(const char *path, long pid, const struct counters *now)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		msg("stats: cannot write the history %s: %s", tmp, strerror(errno));
		return;
	}
	fprintf(f, "#tou-stats %ld\n", pid);
	for (size_t i = 0; i < now->n; i++)
		if (now->v[i].numeric)
			fprintf(f, "%s %" PRIu64 "\n", now->v[i].name, now->v[i].value);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		msg("stats: cannot write the history %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

/* The daemon's pid from STATUS (identifies the counters' origin). */
static int daemon_pid(long *pid)
{
	char *doc = NULL;
	int r = tou_request(cli.socket, "STATUS", &doc);
	if (r < 0)
		return r;
	struct tj_tok *toks = parse_doc(doc, TJ_OBJECT);
	uint64_t v = 0;
	r = toks && tj_u64(doc, toks, tj_get(doc, toks, 0, "pid"), &v) == 0 ? 0 : -EPROTO;
	*pid = (long)v;
	free(toks);
	free(doc);
	return r;
}

int cmd_stats(int argc, char **argv)
{
	char *json = NULL;
	long pid = 0;
	int r = cli.delta ? daemon_pid(&pid) : 0;
	if (r == 0)
		r = tou_stats(cli.socket, &json);
	if (r < 0)
		return fail("stats", r);
	struct tj_tok *toks = print_or_parse(json, TJ_OBJECT, "stats", &r);
	if (!toks)
		return r;
	struct counters now = { 0 }, old = { 0 };
	if (collect_counters(json, toks, 0, "", 0, &now) < 0) {
		free(toks);
		free(json);
		free(now.v);
		return fail("stats", -ENOMEM);
	}
	free(toks);
	free(json);
	char hist[PATH_MAX];
	if (cli.delta) {
		history_path(hist, sizeof(hist));
		history_load(hist, pid, &old);
	}
	for (size_t i = 0; i < now.n; i++) {
		const struct counter *c = &now.v[i];
		int match = argc == 0;
		for (int a = 0; a < argc && !match; a++)
			match = fnmatch(argv[a], c->name, 0) == 0;
		if (!match)
			continue;
		if (!c->numeric) {
			printf("%-36s %20s\n", c->name, c->text);
			continue;
		}
		uint64_t v = c->value;
		if (cli.delta && !is_gauge(c->name)) {
			for (size_t j = 0; j < old.n; j++)
				if (strcmp(old.v[j].name, c->name) == 0) {
					/* a counter that went back was reset: all of it is new */
					v = c->value >= old.v[j].value ? c->value - old.v[j].value : c->value;
					break;
				}
		}
		if (v == 0 && !cli.zeros)
			continue;
		printf("%-36s %20" PRIu64 "\n", c->name, v);
	}
	if (cli.delta)
		history_save(hist, pid, &now);
	free(now.v);
	free(old.v);
	return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
}

/* ------------------------------------------------------- info, abort */

int cmd_info(int argc, char **argv)
{
	char *doc = NULL;
	int r = tou_request(cli.socket, "STATUS", &doc);
	if (r < 0)
		return fail("info", r);
	struct tj_tok *toks = print_or_parse(doc, TJ_OBJECT, "info", &r);
	if (!toks)
		return r;
	char version[64] = "?";
	uint64_t pid = 0, up = 0;
	tj_str(doc, toks, tj_get(doc, toks, 0, "version"), version, sizeof(version));
	tj_u64(doc, toks, tj_get(doc, toks, 0, "pid"), &pid);
	int has_up = tj_u64(doc, toks, tj_get(doc, toks, 0, "uptime_s"), &up) == 0;
	printf("toud %s, pid %" PRIu64, version, pid);
	if (has_up)
		printf(", up %" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, up / 86400,
		       up / 3600 % 24, up / 60 % 60, up % 60);
	printf("\n");
	for (int k = tj_first(toks, 0); k >= 0; k = tj_next(toks, 0, k)) {
		char key[64], val[512];
		tj_str(doc, toks, k, key, sizeof(key));
		if (!strcmp(key, "version") || !strcmp(key, "pid") || !strcmp(key, "uptime_s"))
			continue;
		const struct tj_tok *v = &toks[k + 1];
		if (v->type == TJ_STRING)
			tj_str(doc, toks, k + 1, val, sizeof(val));
		else if (v->type == TJ_TRUE || v->type == TJ_FALSE)
			snprintf(val, sizeof(val), "%s", v->type == TJ_TRUE ? "yes" : "no");
		else if (v->type == TJ_NUMBER)
			snprintf(val, sizeof(val), "%.*s", (int)(v->end - v->start), doc + v->start);
		else
			continue;
		printf("%-12s %s\n", key, val);
	}
	free(toks);
	free(doc);
	(void)argc;
	(void)argv;
	return fflush(stdout) == 0 ? EX_CLEAN : EX_ERROR;
}

int cmd_abort(int argc, char **argv)
{
	unsigned long long id;
	if (parse_uint(argv[0], 0, UINT64_MAX, &id) < 0)
		return usage_error(help_abort, "invalid connection id '%s'", argv[0]);
	int r = tou_abort(cli.socket, id);
	if (r < 0) {
		char what[64];
		snprintf(what, sizeof(what), "abort %llu", id);
		return fail(what, r);
	}
	if (cli.verbose)
		msg("connection %llu aborted", id);
	(void)argc;
	return EX_CLEAN;
}

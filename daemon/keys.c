/*
 * keys.c - [key NAME] sections of toud.conf (see keys.h): parse, read the
 * secret files with their permissions checked, hand the MKTs to the engine.
 */
#include "keys.h"

#include "config.h" /* config_parse_bool */
#include "prefix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	KEY_PEER = 1, KEY_SEND = 2, KEY_RECV = 4, KEY_ALG = 8, KEY_FILE = 16,
	KEY_REQUIRED = KEY_PEER | KEY_SEND | KEY_RECV | KEY_ALG | KEY_FILE
};

static const struct {
	const char *name;
	uint8_t alg;
} algs[] = {
	{ "hmac-sha-1-96", TCP_AO_HMAC_SHA1_96 },      /* RFC 5926 2.2 names */
	{ "aes-128-cmac-96", TCP_AO_AES128_CMAC_96 },
};

static int name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > TOUD_KEY_NAME_MAX)
		return 0;
	/* the API's ao= takes a key name or one of these words */
	if (strcasecmp(n, "required") == 0 || strcasecmp(n, "optional") == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = n[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.'))
			return 0;
	}
	return 1;
}

int keys_find(const struct toud_keys *ks, const char *name)
{
	for (unsigned i = 0; i < ks->n; i++)
		if (strcmp(ks->key[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int parse_id(const char *v, uint8_t *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (!*v || *end || errno || x > 255 || v[0] == '-' || v[0] == '+' || v[0] == ' ')
		return -1;
	*out = (uint8_t)x;
	return 0;
}

/* the peer prefix (prefix.h) into the MKT */
static int parse_peer(const char *v, struct tcp_ao_key *k)
{
	struct tcp_prefix p;
	if (prefix_parse(v, strlen(v), &p) != 0)
		return -1;
	k->family = p.family;
	k->prefix_len = p.len;
	memcpy(k->addr, p.addr, sizeof k->addr);
	return 0;
}

int keys_set(struct toud_keys *ks, const char *name, const char *field, const char *value,
	     char *err, size_t errlen)
{
	while (*name == ' ')
		name++;
	if (!name_ok(name)) {
		snprintf(err, errlen, "[key %s]: a key name is 1..%d letters, digits, '-', '_' or '.' "
			 "(and not \"required\" or \"optional\")", name, TOUD_KEY_NAME_MAX);
		return -1;
	}
	int i = keys_find(ks, name);
	if (i < 0) {
		if (ks->n >= TOUD_MAX_KEYS) {
			snprintf(err, errlen, "[key %s]: more than %d keys", name, TOUD_MAX_KEYS);
			return -1;
		}
		i = (int)ks->n++;
		memset(&ks->key[i], 0, sizeof ks->key[i]);
		snprintf(ks->key[i].name, sizeof ks->key[i].name, "%s", name);
	}
	struct toud_key *k = &ks->key[i];
	if (strcmp(field, "peer") == 0) {
		if (strlen(value) >= sizeof k->peer || parse_peer(value, &k->k) != 0) {
			snprintf(err, errlen, "peer: \"%s\" is not an address or prefix "
				 "(want e.g. 192.0.2.7, 192.0.2.0/24, 2001:db8::/32, any)", value);
			return -1;
		}
		snprintf(k->peer, sizeof k->peer, "%s", value);
		k->given |= KEY_PEER;
	} else if (strcmp(field, "send_id") == 0 || strcmp(field, "recv_id") == 0) {
		int send = field[0] == 's';
		if (parse_id(value, send ? &k->k.send_id : &k->k.recv_id) != 0) {
			snprintf(err, errlen, "%s: \"%s\" is not a KeyID (want 0..255)", field, value);
			return -1;
		}
		k->given |= send ? KEY_SEND : KEY_RECV;
	} else if (strcmp(field, "algorithm") == 0) {
		size_t a;
		for (a = 0; a < sizeof algs / sizeof algs[0]; a++)
			if (strcasecmp(value, algs[a].name) == 0)
				break;
		if (a == sizeof algs / sizeof algs[0]) {
			snprintf(err, errlen, "algorithm: \"%s\" is not one of hmac-sha-1-96, aes-128-cmac-96", value);
			return -1;
		}
		k->k.alg = algs[a].alg;
		k->given |= KEY_ALG;
	} else if (strcmp(field, "secret_file") == 0) {
		if (value[0] != '/' || strlen(value) >= sizeof k->secret_file) {
			snprintf(err, errlen, "secret_file: \"%s\" is not an absolute path (of at most %zu bytes)",
				 value, sizeof k->secret_file - 1);
			return -1;
		}
		snprintf(k->secret_file, sizeof k->secret_file, "%s", value);
		k->given |= KEY_FILE;
	} else if (strcmp(field, "exclude_options") == 0 || strcmp(field, "preferred") == 0) {
		uint8_t bit = field[0] == 'e' ? TCP_AO_KEY_EXCLUDE_OPTIONS : TCP_AO_KEY_PREFERRED;
		int b;
		if (config_parse_bool(value, &b) != 0) {
			snprintf(err, errlen, "%s: \"%s\" is not a boolean (yes/no, true/false, on/off, 1/0)",
				 field, value);
			return -1;
		}
		k->k.flags = (uint8_t)(b ? (k->k.flags | bit) : (k->k.flags & ~bit));
	} else {
		snprintf(err, errlen, "unknown key \"%s\" in [key %s] (known: peer, send_id, recv_id, "
			 "algorithm, secret_file, exclude_options, preferred)", field, name);
		return -1;
	}
	return 0;
}

/* The secret of k from its file: refused unless only the daemon's user
 * can read it. */
static int read_secret(struct toud_key *k, char *err, size_t errlen)
{
	int fd = open(k->secret_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "[key %s] secret_file %s: %s", k->name, k->secret_file, strerror(errno));
		return -1;
	}
	struct stat st;
	int r = -1;
	uint8_t buf[TCP_AO_MAX_SECRET + 3];
	ssize_t n = 0;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "[key %s] secret_file %s: %s", k->name, k->secret_file, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "[key %s] secret_file %s is not a regular file", k->name, k->secret_file);
	} else if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "[key %s] secret_file %s belongs to uid %u, not to the daemon's user "
			 "(uid %u): chown it", k->name, k->secret_file, (unsigned)st.st_uid, (unsigned)geteuid());
	} else if (st.st_mode & 077) {
		snprintf(err, errlen, "[key %s] secret_file %s has mode %04o: group or others may read or "
			 "change it; chmod 600 %s", k->name, k->secret_file, (unsigned)(st.st_mode & 07777),
			 k->secret_file);
	} else {
		size_t got = 0;
		while (got < sizeof buf) {
			n = read(fd, buf + got, sizeof buf - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (n < 0) {
			snprintf(err, errlen, "[key %s] secret_file %s: %s", k->name, k->secret_file, strerror(errno));
		} else {
			/* one final newline (of `echo secret > file`) is not part of it */
			if (got && buf[got - 1] == '\n')
				got--;
			if (got && buf[got - 1] == '\r')
				got--;
			if (got == 0 || got > TCP_AO_MAX_SECRET) {
				snprintf(err, errlen, "[key %s] secret_file %s: the secret must be 1..%d bytes",
					 k->name, k->secret_file, TCP_AO_MAX_SECRET);
			} else {
				memcpy(k->k.secret, buf, got);
				k->k.secret_len = (uint8_t)got;
				r = 0;
			}
		}
	}
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return r;
}

static const char *const field_names[] = { "peer", "send_id", "recv_id", "algorithm", "secret_file" };

int keys_finish(struct toud_keys *ks, char *err, size_t errlen)
{
	struct tcp_ao_key mk[TOUD_MAX_KEYS];
	for (unsigned i = 0; i < ks->n; i++) {
		struct toud_key *k = &ks->key[i];
		if ((k->given & KEY_REQUIRED) != KEY_REQUIRED) {
			for (unsigned b = 0; b < 5; b++)
				if (!(k->given & (1u << b))) {
					snprintf(err, errlen, "[key %s] has no %s", k->name, field_names[b]);
					return -1;
				}
		}
		if (read_secret(k, err, errlen) != 0)
			return -1;
		mk[i] = k->k;
	}
	unsigned bad, clash;
	int r = tcp_ao_keys_check(mk, ks->n, &bad, &clash);
	explicit_bzero(mk, sizeof mk);
	if (r != 0) {
		if (bad != clash)
			snprintf(err, errlen, "[key %s] and [key %s] match the same peers with the same send_id or "
				 "recv_id (RFC 5925 3.1: KeyIDs must not overlap)", ks->key[clash].name,
				 ks->key[bad].name);
		else
			snprintf(err, errlen, "[key %s] is not usable", ks->key[bad].name);
		return -1;
	}
	return 0;
}

int keys_apply(struct tcp_stack *s, const struct toud_keys *ks)
{
	struct tcp_ao_key mk[TOUD_MAX_KEYS];
	for (unsigned i = 0; i < ks->n; i++)
		mk[i] = ks->key[i].k;
	int r = tcp_ao_set_keys(s, mk, ks->n);
	explicit_bzero(mk, sizeof mk);
	return r;
}

void keys_dump(const struct toud_keys *ks, void (*out)(void *arg, const char *line), void *arg)
{
	char line[400];
	for (unsigned i = 0; i < ks->n; i++) {
		const struct toud_key *k = &ks->key[i];
		snprintf(line, sizeof line, "[key %s]", k->name);
		out(arg, line);
		snprintf(line, sizeof line, "peer = %s", k->peer);
		out(arg, line);
		snprintf(line, sizeof line, "send_id = %u", (unsigned)k->k.send_id);
		out(arg, line);
		snprintf(line, sizeof line, "recv_id = %u", (unsigned)k->k.recv_id);
		out(arg, line);
		snprintf(line, sizeof line, "algorithm = %s",
			 k->k.alg == TCP_AO_AES128_CMAC_96 ? "aes-128-cmac-96" : "hmac-sha-1-96");
		out(arg, line);
		snprintf(line, sizeof line, "secret_file = %s", k->secret_file);
		out(arg, line);
		snprintf(line, sizeof line, "exclude_options = %s",
			 (k->k.flags & TCP_AO_KEY_EXCLUDE_OPTIONS) ? "yes" : "no");
		out(arg, line);
		snprintf(line, sizeof line, "preferred = %s", (k->k.flags & TCP_AO_KEY_PREFERRED) ? "yes" : "no");
		out(arg, line);
	}
}

void keys_clear(struct toud_keys *ks)
{
	explicit_bzero(ks, sizeof *ks);
}

/* test_keys.c - [key NAME] sections (daemon/keys.c): settings, the secret
 * file's permission checks, clashing KeyIDs, the dump without secrets;
 * and the API's ao= options (daemon/api_parse.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_parse.h"
#include "config.h"
#include "keys.h"
#include "tt.h"

static const char *secret_path(const char *name, const char *text, mode_t mode)
{
	static char path[4][512];
	static int slot;
	char *p = path[slot++ % 4];
	const char *dir = getenv("TOU_TEST_TMP");
	snprintf(p, 512, "%s/%s.%d", dir ? dir : "/tmp", name, (int)getpid());
	unlink(p);
	FILE *f = fopen(p, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
	return p;
}

static int set(struct toud_config *c, const char *sect, const char *k, const char *v, char *err)
{
	return config_set(c, sect, k, v, err, 256);
}

/* a complete key "name" for every peer with the given ids and file */
static int full_key(struct toud_config *c, const char *sect, const char *sid, const char *rid,
		    const char *file, char *err)
{
	if (set(c, sect, "peer", "any", err) || set(c, sect, "send_id", sid, err) ||
	    set(c, sect, "recv_id", rid, err) || set(c, sect, "algorithm", "hmac-sha-1-96", err))
		return -1;
	return set(c, sect, "secret_file", file, err);
}

static struct toud_config cfg;

TT_TEST(keys_settings)
{
	char err[256];
	config_default(&cfg);
	TT_EQ(set(&cfg, "key a", "peer", "192.0.2.0/24", err), 0);
	TT_EQ(cfg.keys.n, 1);
	TT_EQ(cfg.keys.key[0].k.family, 4);
	TT_EQ(cfg.keys.key[0].k.prefix_len, 24);
	TT_EQ(set(&cfg, "key a", "peer", "[2001:db8::]/32", err), 0);
	TT_EQ(cfg.keys.key[0].k.family, 6);
	TT_EQ(cfg.keys.key[0].k.prefix_len, 32);
	TT_EQ(set(&cfg, "key a", "peer", "2001:db8::7", err), 0);
	TT_EQ(cfg.keys.key[0].k.prefix_len, 128);
	TT_EQ(set(&cfg, "key a", "peer", "any", err), 0);
	TT_EQ(cfg.keys.key[0].k.family, 0);
	TT_EQ(set(&cfg, "key a", "peer", "192.0.2.0/33", err), -1);
	TT_ASSERT(strstr(err, "peer") != NULL);
	TT_EQ(set(&cfg, "key a", "peer", "host.example", err), -1);
	TT_EQ(set(&cfg, "key a", "send_id", "255", err), 0);
	TT_EQ(set(&cfg, "key a", "send_id", "256", err), -1);
	TT_EQ(set(&cfg, "key a", "recv_id", "-1", err), -1);
	TT_EQ(set(&cfg, "key a", "algorithm", "AES-128-CMAC-96", err), 0);
	TT_EQ(cfg.keys.key[0].k.alg, TCP_AO_AES128_CMAC_96);
	TT_EQ(set(&cfg, "key a", "algorithm", "md5", err), -1);
	TT_ASSERT(strstr(err, "hmac-sha-1-96") != NULL);
	TT_EQ(set(&cfg, "key a", "secret_file", "relative", err), -1);
	TT_EQ(set(&cfg, "key a", "exclude_options", "yes", err), 0);
	TT_EQ(set(&cfg, "key a", "preferred", "on", err), 0);
	TT_EQ(cfg.keys.key[0].k.flags, TCP_AO_KEY_EXCLUDE_OPTIONS | TCP_AO_KEY_PREFERRED);
	TT_EQ(set(&cfg, "key a", "preferred", "maybe", err), -1);
	TT_EQ(set(&cfg, "key a", "colour", "blue", err), -1);
	TT_ASSERT(strstr(err, "unknown key") != NULL);
	TT_EQ(set(&cfg, "key bad/name", "peer", "any", err), -1);
	TT_EQ(set(&cfg, "key required", "peer", "any", err), -1);
	TT_EQ(keys_find(&cfg.keys, "a"), 0);
	TT_EQ(keys_find(&cfg.keys, "b"), -1);
	/* incomplete: no secret_file */
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "[key a] has no") != NULL);
}

TT_TEST(keys_secret_file_permissions)
{
	char err[256];
	config_default(&cfg);
	const char *ok = secret_path("key-ok", "s3cret\n", 0600);
	TT_EQ(full_key(&cfg, "key a", "1", "2", ok, err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), 0);
	/* the final newline is not part of the secret */
	TT_EQ(cfg.keys.key[0].k.secret_len, 6);
	TT_MEMEQ(cfg.keys.key[0].k.secret, "s3cret", 6);
	/* group- or world-readable: refused with the reason and the remedy */
	const char *open_file = secret_path("key-640", "s3cret", 0640);
	TT_EQ(set(&cfg, "key a", "secret_file", open_file, err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "mode 0640") != NULL);
	TT_ASSERT(strstr(err, "chmod 600") != NULL);
	const char *world = secret_path("key-604", "s3cret", 0604);
	TT_EQ(set(&cfg, "key a", "secret_file", world, err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "mode 0604") != NULL);
	/* missing, empty, too long */
	TT_EQ(set(&cfg, "key a", "secret_file", "/nonexistent/tou.key", err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "No such file") != NULL);
	const char *empty = secret_path("key-empty", "\n", 0600);
	TT_EQ(set(&cfg, "key a", "secret_file", empty, err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "1..80 bytes") != NULL);
	char big[100];
	memset(big, 'x', 81);
	big[81] = '\0';
	const char *longf = secret_path("key-long", big, 0600);
	TT_EQ(set(&cfg, "key a", "secret_file", longf, err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), -1);
	/* a directory is not a secret file */
	const char *dir = getenv("TOU_TEST_TMP");
	TT_EQ(set(&cfg, "key a", "secret_file", dir ? dir : "/tmp", err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), -1);
	unlink(ok);
	unlink(open_file);
	unlink(world);
	unlink(empty);
	unlink(longf);
}

/* RFC 5925 3.1: KeyIDs must not overlap where the peers overlap. */
TT_TEST(keys_clash)
{
	char err[256];
	config_default(&cfg);
	const char *f = secret_path("key-clash", "k", 0600);
	TT_EQ(full_key(&cfg, "key one", "1", "2", f, err), 0);
	TT_EQ(full_key(&cfg, "key two", "1", "3", f, err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "[key one] and [key two]") != NULL);
	/* disjoint peers may reuse ids */
	TT_EQ(set(&cfg, "key one", "peer", "10.0.0.0/8", err), 0);
	TT_EQ(set(&cfg, "key two", "peer", "192.168.0.0/16", err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), 0);
	unlink(f);
}

static void collect(void *arg, const char *line)
{
	strncat(arg, line, 4000 - strlen(arg));
	strncat(arg, "\n", 4000 - strlen(arg));
}

TT_TEST(keys_dump_without_secret)
{
	char err[256];
	config_default(&cfg);
	const char *f = secret_path("key-dump", "do-not-print-me", 0600);
	TT_EQ(full_key(&cfg, "key dumped", "7", "8", f, err), 0);
	TT_EQ(keys_finish(&cfg.keys, err, sizeof err), 0);
	static char out[4096];
	out[0] = '\0';
	config_dump(&cfg, collect, out);
	TT_ASSERT(strstr(out, "[key dumped]\n") != NULL);
	TT_ASSERT(strstr(out, "send_id = 7\n") != NULL);
	TT_ASSERT(strstr(out, "secret_file = ") != NULL);
	TT_ASSERT(strstr(out, "do-not-print-me") == NULL);
	keys_clear(&cfg.keys);
	TT_EQ(cfg.keys.n, 0);
	unlink(f);
}

/* A [key] section in a file, through the INI parser: errors name the line. */
TT_TEST(keys_in_config_file)
{
	char err[512];
	const char *dir = getenv("TOU_TEST_TMP");
	char path[512];
	snprintf(path, sizeof path, "%s/keys.conf.%d", dir ? dir : "/tmp", (int)getpid());
	FILE *fp = fopen(path, "w");
	TT_ASSERT(fp != NULL);
	fputs("[tcp]\nmss = 1400\n[key peer-b]\npeer = 10.0.0.0/8\nsend_id = 1\nrecv_id = nine\n", fp);
	fclose(fp);
	config_default(&cfg);
	TT_EQ(config_load(&cfg, path, 0, err, sizeof err), -1);
	TT_ASSERT(strstr(err, ":6: recv_id") != NULL);
	unlink(path);
}

TT_TEST(api_ao_options)
{
	struct api_request r;
	char err[256];
	const char *l1 = "CONNECT 10.0.0.2 80 ao=peer-b";
	TT_EQ(api_parse_line(l1, strlen(l1), &r, err, sizeof err), 0);
	TT_EQ(r.ao, API_AO_KEY);
	TT_STREQ(r.ao_key, "peer-b");
	const char *l2 = "CONNECT 10.0.0.2 80 nodelay ao=required";
	TT_EQ(api_parse_line(l2, strlen(l2), &r, err, sizeof err), 0);
	TT_EQ(r.ao, API_AO_REQUIRED);
	const char *l3 = "LISTEN 80 ao=required backlog=4";
	TT_EQ(api_parse_line(l3, strlen(l3), &r, err, sizeof err), 0);
	TT_EQ(r.ao, API_AO_REQUIRED);
	TT_EQ(r.backlog, 4);
	const char *l4 = "LISTEN 80 ao=peer-b"; /* a listener takes a policy, not a key */
	TT_EQ(api_parse_line(l4, strlen(l4), &r, err, sizeof err), -1);
	TT_ASSERT(strstr(err, "required or optional") != NULL);
	const char *l5 = "CONNECT 10.0.0.2 80 ao=a/b";
	TT_EQ(api_parse_line(l5, strlen(l5), &r, err, sizeof err), -1);
	const char *l6 = "CONNECT 10.0.0.2 80 ao=required ao=optional";
	TT_EQ(api_parse_line(l6, strlen(l6), &r, err, sizeof err), -1);
	const char *l7 = "ACCEPT 80 ao=required";
	TT_EQ(api_parse_line(l7, strlen(l7), &r, err, sizeof err), -1);
	const char *l8 = "LISTEN 80 ao=optional";
	TT_EQ(api_parse_line(l8, strlen(l8), &r, err, sizeof err), 0);
	TT_EQ(r.ao, API_AO_OPTIONAL);
}

TT_TEST(api_allow_options)
{
	struct api_request r;
	char err[256];
	const char *l1 = "LISTEN 80 allow=192.0.2.0/24,[2001:db8::]/32,10.1.2.3 refuse=silent";
	TT_EQ(api_parse_line(l1, strlen(l1), &r, err, sizeof err), 0);
	TT_EQ(r.nallow, 3);
	TT_EQ(r.allow[0].family, 4);
	TT_EQ(r.allow[0].len, 24);
	TT_EQ(r.allow[1].family, 6);
	TT_EQ(r.allow[1].len, 32);
	TT_EQ(r.allow[2].len, 32);
	TT_EQ(r.refuse_silent, 1);
	const char *l2 = "LISTEN 80 allow=any refuse=rst";
	TT_EQ(api_parse_line(l2, strlen(l2), &r, err, sizeof err), 0);
	TT_EQ(r.nallow, 1);
	TT_EQ(r.allow[0].family, 0);
	TT_EQ(r.refuse_silent, 0);
	const char *bad[] = { "LISTEN 80 allow=", "LISTEN 80 allow=10.0.0.0/33", "LISTEN 80 allow=10.0.0.0,",
			      "LISTEN 80 allow=host.example", "LISTEN 80 refuse=drop",
			      "LISTEN 80 allow=1.2.3.4 allow=1.2.3.5", "CONNECT h 80 allow=1.2.3.4",
			      "LISTEN 80 allow=1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,"
			      "1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,1.1.1.16,1.1.1.17" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (api_parse_line(bad[i], strlen(bad[i]), &r, err, sizeof err) != -1) {
			TT_FAIL_("accepted: %s", bad[i]);
			return;
		}
	}
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

/*
 * fuzz_config.c - libFuzzer target for toud's configuration parser: the
 * fuzz bytes are a toud.conf (INI, through inih as config_load() reads
 * it), then each of their lines is also tried as a "-o section.key=value"
 * override.  daemon/config.c, keys.c, fwd_conf.c and log.c are included here (as
 * fuzz_api.c includes api_parse.c) so that the fuzzer sees their branches.
 * Checks: no crash, no read past the input; whatever is accepted is
 * consistent (UDP addresses, strings terminated, [key] names and KeyIDs as
 * keys.c promises) and dumps.  Secret files are not read (keys_finish
 * would open paths from the input).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.c"
#include "keys.c"
#include "fwd_conf.c"
#include "log.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void dump_sink(void *arg, const char *line)
{
	size_t *n = arg;
	*n += strlen(line) + 1;
}

static void check(const struct toud_config *c)
{
	if (c->n_udp < 1 || c->n_udp > TOUD_MAX_UDP)
		abort();
	if (!memchr(c->udp, 0, sizeof c->udp) || !memchr(c->socket, 0, sizeof c->socket) ||
	    !memchr(c->socket_group, 0, sizeof c->socket_group) || !memchr(c->pcap, 0, sizeof c->pcap))
		abort();
	if (c->keys.n > TOUD_MAX_KEYS)
		abort();
	for (unsigned i = 0; i < c->keys.n; i++) {
		const struct toud_key *k = &c->keys.key[i];
		if (!name_ok(k->name) || keys_find(&c->keys, k->name) != (int)i)
			abort();
		if (k->k.family != 0 && k->k.family != 4 && k->k.family != 6)
			abort();
		if (k->k.prefix_len > (k->k.family == 6 ? 128 : k->k.family == 4 ? 32 : 0))
			abort();
		if (k->secret_file[0] && k->secret_file[0] != '/')
			abort();
	}
	size_t n = 0;
	config_dump(c, dump_sink, &n);
	if (n == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	char *text = malloc(size + 1);
	struct toud_config *c = malloc(sizeof *c);
	if (!text || !c) {
		free(text);
		free(c);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	config_default(c);
	struct parse_ctx p = { .c = c };
	char err[256];
	int r = ini_parse_string(text, ini_cb, &p);
	if (r == 0 && config_check(c, err, sizeof err) == 0)
		check(c);
	/* every line as an override of the defaults */
	config_default(c);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (config_override(c, line, err, sizeof err) == 0)
			check(c);
	keys_clear(&c->keys);
	free(c);
	free(text);
	return 0;
}

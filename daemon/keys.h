/*
 * keys.h - the [key NAME] sections of toud.conf: TCP-AO master key tuples
 * (RFC 5925 3.1) with the secret read from a file only the daemon's user
 * may read, handed to the engine as its MKT table (tcp_ao_set_keys).
 *
 *   [key peer-b]
 *   peer = 192.0.2.0/24          ; the peer daemon's address (prefix), or "any"
 *   send_id = 1                  ; RFC 5925 SendID: the KeyID of our segments
 *   recv_id = 2                  ; RecvID: the KeyID of the peer's segments
 *   algorithm = hmac-sha-1-96    ; or aes-128-cmac-96 (RFC 5926)
 *   secret_file = /etc/tou/peer-b.key
 *   exclude_options = no         ; RFC 5925 3.1 "TCP option flag"
 *   preferred = no               ; send with it and ask the peer for it
 */
#ifndef TOUD_KEYS_H
#define TOUD_KEYS_H

#include <stddef.h>

#include "tcp.h"

#define TOUD_MAX_KEYS 32
#define TOUD_KEY_NAME_MAX 63

struct toud_key {
	char name[TOUD_KEY_NAME_MAX + 1];
	char peer[64];                 /* as written */
	char secret_file[256];
	unsigned given;                /* which settings appeared (KEY_* bits in keys.c) */
	struct tcp_ao_key k;           /* the secret once keys_finish() read it */
};

struct toud_keys {
	unsigned n;
	struct toud_key key[TOUD_MAX_KEYS];
};

/* One "field = value" of section [key NAME].  0, or -1 with the reason in
 * err (no location). */
int keys_set(struct toud_keys *ks, const char *name, const char *field, const char *value,
	     char *err, size_t errlen);

/* After every setting: each key complete, its secret read from
 * secret_file (a regular file owned by the daemon's user, not readable by
 * group or others, 1..80 octets, one final newline ignored), and no two
 * keys clashing (RFC 5925 3.1).  0 or -1 with the reason in err. */
int keys_finish(struct toud_keys *ks, char *err, size_t errlen);

/* The index of key NAME, or -1. */
int keys_find(const struct toud_keys *ks, const char *name);

/* Hands the keys to the engine (in this order: tcp_conn_opts.ao_key is 1 +
 * the index).  A tcp_ao_set_keys() code. */
int keys_apply(struct tcp_stack *s, const struct toud_keys *ks);

/* The keys in INI form, without their secrets. */
void keys_dump(const struct toud_keys *ks, void (*out)(void *arg, const char *line), void *arg);

/* Wipes the secrets. */
void keys_clear(struct toud_keys *ks);

#endif

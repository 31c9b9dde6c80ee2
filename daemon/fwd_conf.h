/*
 * fwd_conf.h - the [forward NAME] and [service NAME] sections of
 * toud.conf (forward.c acts on them; conf/toud.conf documents them):
 *
 *   [forward web]                  ; a local TCP listener whose connections
 *   listen = 127.0.0.1:8080        ; become tou connections to HOST PORT
 *   to = hostb.example:9811 80     ; HOST[:UDPPORT] TCPPORT (UDP 9811 default)
 *   nodelay = no                   ; per-connection options (tcp_conn_opts)
 *   keepalive = no
 *   timeout = 0                    ; connect / user timeout, 0 = from retries
 *   ao = KEY                       ; TCP-AO: send with [key KEY] (or "required")
 *
 *   [service web]                  ; a tou port whose connections become
 *   port = 80                      ; TCP (or Unix) connections to a target
 *   to = 127.0.0.1:8000            ; ADDR:PORT, [V6]:PORT or unix:/path
 *   allow = 192.0.2.0/24 ::1       ; peers that may use it (default: anyone),
 *                                  ; enforced by the engine before a TCB exists
 *   ao = required                  ; TCP-AO: only authenticated SYNs (or KEY:
 *                                  ; only connections made with [key KEY])
 *   max_per_peer = 16              ; live connections per peer address
 *                                  ; (default [limits] max_per_peer)
 */
#ifndef TOUD_FWD_CONF_H
#define TOUD_FWD_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "keys.h" /* struct toud_keys (ao = KEY) */
#include "tcp.h"  /* struct tcp_prefix */

#define FWD_MAX 32            /* forwards, and services, per daemon */
#define FWD_NAME_MAX 63
#define FWD_ALLOW_MAX 16


struct fwd_forward_conf {
	char name[FWD_NAME_MAX + 1];
	char listen_text[80];
	struct sockaddr_storage listen;
	char to_text[300];
	char host[256];        /* name or literal (no brackets) */
	uint16_t udp_port, port;
	int nodelay, keepalive; /* -1 unset */
	uint64_t timeout;       /* us, 0 = from retries */
	int ao_required;        /* ao = required, or ao = KEY */
	char ao_key[TOUD_KEY_NAME_MAX + 1]; /* ao = KEY: a [key] section, "" none */
	unsigned given;         /* G_* bits (fwd_conf.c) */
};

struct fwd_service_conf {
	char name[FWD_NAME_MAX + 1];
	uint16_t port;
	char to_text[120];
	int to_unix;            /* to = unix:/path */
	char to_path[108];
	struct sockaddr_storage to;
	char allow_text[400];
	unsigned n_allow;       /* 0 = anyone */
	struct tcp_prefix allow[FWD_ALLOW_MAX]; /* prefix.h's syntax */
	int ao_required;        /* ao = required, or ao = KEY */
	char ao_key[TOUD_KEY_NAME_MAX + 1]; /* ao = KEY: only connections made with it */
	unsigned max_per_peer;  /* 0 = [limits] max_per_peer */
	unsigned given;
};

struct fwd_conf {
	unsigned n_forward, n_service;
	struct fwd_forward_conf forward[FWD_MAX];
	struct fwd_service_conf service[FWD_MAX];
};

/* One "key = value" of [forward NAME] (kind "forward") or [service NAME]
 * (kind "service").  0, or -1 with the reason in err (no location). */
int fwd_conf_set(struct fwd_conf *fc, const char *kind, const char *name, const char *key, const char *value,
		 char *err, size_t errlen);
/* After every setting: each section complete, no two listening on the
 * same address or port, every ao = KEY naming a [key] of ks (ks
 * NULL: not checked).  0, or -1 with "[forward NAME]: ..." in err. */
int fwd_conf_check(const struct fwd_conf *fc, const struct toud_keys *ks, char *err, size_t errlen);
/* Do two sections differ in any setting? */
int fwd_forward_differs(const struct fwd_forward_conf *a, const struct fwd_forward_conf *b);
int fwd_service_differs(const struct fwd_service_conf *a, const struct fwd_service_conf *b);
/* Does an allow list let this peer in (n_allow 0: everyone)? */
int fwd_allowed(const struct fwd_service_conf *s, int family, const uint8_t *addr);
/* The sections in INI form. */
void fwd_conf_dump(const struct fwd_conf *fc, void (*out)(void *arg, const char *line), void *arg);

#endif

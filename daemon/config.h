/*
 * config.h - toud's configuration: an INI file (inih) plus "-o
 * section.key=value" overrides.  Every key, its default and its meaning is
 * listed in conf/toud.conf.
 */
#ifndef TOUD_CONFIG_H
#define TOUD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fwd_conf.h"
#include "keys.h"
#include "tcp.h"

#define TOUD_DEFAULT_CONFIG "/etc/tou/toud.conf"
#define TOUD_MAX_UDP 16
#define TOUD_DEFAULT_UDP "0.0.0.0:9811 [::]:9811"
#define TOUD_MAX_THREADS 64               /* [daemon] threads: engine shards at most */
/* threads = auto (the default): one shard per CPU, at most this many.
 * Each shard costs a thread, its UDP sockets and their buffers, a route
 * table and a stack; a LIST or STATS visits them all; past a few cores
 * one daemon's throughput is bound by the apps and the API socket more
 * than by the engines.  A larger number is taken when set explicitly. */
#define TOUD_AUTO_THREADS_MAX 8
/* [tcp] mss, mss_loopback at most: a 65535-octet IPv4 datagram less the
 * IP, UDP and TCP headers (20 + 8 + 20) */
#define TOUD_MSS_MAX 65487u
#define TOUD_MAX_BUSY_POLL 10000          /* [daemon] busy_poll: 10 ms at most (us) */

struct toud_config {
	/* [daemon] */
	char udp[512];                    /* as written */
	struct sockaddr_storage udp_addrs[TOUD_MAX_UDP];
	int n_udp;
	char socket[108];                 /* API socket path (sun_path) */
	unsigned socket_mode;             /* 0660 */
	char socket_group[64];            /* "" = the daemon's group */
	int log_level;                    /* syslog priority, default info */
	unsigned privileged_ports;        /* ports below need uid 0: 1024 */
	char pcap[256];                   /* "" = no capture */
	unsigned udp_receive_buffer;      /* SO_RCVBUF of each UDP socket: 32 MiB (udp.c) */
	char user[64];                    /* "" = keep the user toud started as */
	int syslog;                       /* log to syslog(3) instead of stderr */
	unsigned threads;                 /* engine shards; 0 = auto (one per CPU) */
	uint64_t busy_poll;               /* us the loop polls without sleeping after moving a datagram; 0 = off */
	/* [tcp] */
	struct tcp_config tcp;
	/* [limits] */
	unsigned max_connections;         /* streams in total (engine TCBs too) */
	unsigned max_per_peer;            /* streams per remote IP address */
	unsigned max_per_uid;             /* streams per local uid */
	unsigned max_api_clients;         /* API clients without a whole request line yet */
	unsigned max_api_clients_per_uid; /* of which one uid other than root may hold;
	                                     0: a quarter of max_api_clients (api_server.c) */
	unsigned api_root_reserve;        /* of which only root may use; 0: a sixteenth */
	unsigned max_backlog;             /* LISTEN backlog=<n> bound */
	uint64_t request_timeout;         /* us: request line must arrive by then */
	uint64_t shutdown_timeout;        /* us: SIGTERM grace period */
	/* [key NAME] sections: TCP-AO master keys (keys.h) */
	struct toud_keys keys;
	/* [forward NAME] and [service NAME] sections (fwd_conf.h) */
	struct fwd_conf fwd;
};

/* Fills every default (the engine's from tcp_config_default()). */
void config_default(struct toud_config *c);

/*
 * Parses `path` into c (which should hold defaults).  missing_ok: a file
 * that does not exist is not an error (the default path).  On error
 * returns -1 and writes "file:line: reason" into err.
 */
int config_load(struct toud_config *c, const char *path, int missing_ok, char *err, size_t errlen);

/* Applies one "section.key=value" override; err gets "-o ARG: reason". */
int config_override(struct toud_config *c, const char *arg, char *err, size_t errlen);

/* Sets one key; 0 or -1 with the reason (no location) in err. */
int config_set(struct toud_config *c, const char *section, const char *key,
	       const char *value, char *err, size_t errlen);

/* Value parsers, exported for tests.  Return 0 or -1. */
int config_parse_size(const char *s, uint64_t *out);      /* 4M, 64K, 1G, 1500 */
int config_parse_duration(const char *s, uint64_t *us);   /* 200ms, 1s, 2m, 2h, 500us; bare = s */
int config_parse_bool(const char *s, int *out);           /* yes/no/true/false/on/off/1/0 */
const char *config_cc_name(enum tcp_cc_algo cc);          /* "cubic", "newreno", "bbr" */
int config_parse_udp_list(const char *s, struct sockaddr_storage *addrs, int max, int *n,
			  char *err, size_t errlen);

/* Writes the effective configuration in INI form (--check-config, reload). */
void config_dump(const struct toud_config *c, void (*out)(void *arg, const char *line), void *arg);

#endif

/*
 * api_json.h - the JSON documents of the API (STATUS, LIST, STATS) built
 * into a growing string buffer.
 */
#ifndef TOUD_API_JSON_H
#define TOUD_API_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "tcp.h"

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

void sb_init(struct sbuf *b);
void sb_free(struct sbuf *b);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_json_str(struct sbuf *b, const char *s); /* quoted and escaped */

/* One connection object (tou_proto.h keys).  uid < 0: not owned by an app
 * (omitted); via: the [forward]/[service] it belongs to, or NULL;
 * end: NULL while live. */
void json_conn(struct sbuf *b, const struct tcp_conn_info *i, long long uid, const char *local,
	       const char *remote, const char *via, const char *end);
/* The latest ICMP error or failed send of a connection (tcp_conn_info
 * error_*), e.g. "port unreachable (ICMP)" or "administratively prohibited
 * (send: Permission denied)"; "" when there is none. */
void conn_error_text(const struct tcp_conn_info *i, char *buf, size_t len);
/* TCP-MIB counters and drops, as a JSON object without the braces' owner. */
void json_tcp_stats(struct sbuf *b, const struct tcp_stats *s);

#endif

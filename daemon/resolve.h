/*
 * resolve.h - name resolution for CONNECT that never blocks the loop.
 */
#ifndef TOUD_RESOLVE_H
#define TOUD_RESOLVE_H

#include <stdint.h>
#include <uv.h>

#include "tcp.h"

#define RESOLVE_V4 1 /* `usable`: families the caller can send on */
#define RESOLVE_V6 2

struct resolve_req;
typedef void (*resolve_cb)(void *arg, int status, const struct tcp_endpoint *ep);
/* Resolves host (name or literal) for UDP port `port`; the first address of
 * a `usable` family wins, else the first address.  cb runs exactly once,
 * unless resolve_cancel() was called first.  Literals answer synchronously
 * (*out stays NULL).  0 or a libuv code (cb does not run then). */
int resolve_start(uv_loop_t *loop, const char *host, uint16_t port, int usable, resolve_cb cb, void *arg,
		  struct resolve_req **out);
void resolve_cancel(struct resolve_req *r);

#endif

/*
 * api.h - the Unix-socket API server (client/tou_proto.h, docs/API.md), as
 * main.c sees it.  The server reads one request line per client and
 * answers one line; after "OK" to CONNECT or ACCEPT it hands the client's
 * stream to a bridge (bridge.h) and is done with it.
 */
#ifndef TOUD_API_H
#define TOUD_API_H

#include "toud.h"

int api_start(struct toud *d);              /* bind or adopt the API socket; d->api */
void api_stop_accepting(struct api *a);     /* SIGTERM: close the listening socket */
void api_shutdown(struct api *a);           /* SIGTERM: fail waiters, FIN every stream */
void api_abort_all(struct api *a);          /* shutdown deadline: reset every connection */
unsigned api_live_connections(const struct api *a); /* connections still owned */
void api_close(struct api *a);              /* final: close every client and listener */
void api_free(struct toud *d);
struct bridge;
/* A connection another owner (forward.c) held ended: log it and keep its
 * end record for STATUS <id> (api is a struct api *). */
void api_record_end(void *api, struct bridge *b, int err);              /* after the loop ended */

#endif

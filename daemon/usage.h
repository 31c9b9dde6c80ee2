/*
 * usage.h - the live connections the [limits] count (max_connections,
 * max_per_uid, max_per_peer), for the whole daemon: every shard's bridges
 * (bridge.c) add and remove theirs, and any shard reads the counts.  One
 * mutex guards the table; it is held only inside these calls, which take
 * no other lock (docs/DESIGN.md section 5.8).
 */
#ifndef TOUD_USAGE_H
#define TOUD_USAGE_H

#include "tcp.h"

struct usage;

/* NULL when out of memory. */
struct usage *usage_new(void);
void usage_free(struct usage *u);
/* A connection of local user uid (-1: none, a forward's) to peer's
 * address starts (delta 1) or ends (delta -1).  0, or -1 when out of
 * memory (the counts then miss it: the limits err towards allowing). */
int usage_add(struct usage *u, long long uid, const struct tcp_endpoint *peer, int delta);
unsigned usage_total(struct usage *u);
unsigned usage_uid(struct usage *u, long long uid);
unsigned usage_peer(struct usage *u, const struct tcp_endpoint *peer); /* by address, any UDP port */

#endif

/*
 * tcp_testing.h - hooks of the TCP engine for its tests only.
 *
 * Deterministic tests need to steer what the engine otherwise derives from
 * its secret; product code (the daemon, the client) never includes this
 * header, and nothing in it is part of the interface of tcp.h.
 */
#ifndef TOU_TCP_TESTING_H
#define TOU_TCP_TESTING_H

#include <stdint.h>

#include "tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Force the ISN of connections opened from now on: hook(arg, c) returns
 * the ISS of the new TCB c, instead of the RFC 9293 3.4.1 function of the
 * 4-tuple, the secret and the clock.  A NULL hook restores the RFC ISNs. */
void tcp_stack_set_isn_hook(struct tcp_stack *s,
			    uint32_t (*hook)(void *arg, const struct tcp_conn *c), void *arg);

#ifdef __cplusplus
}
#endif
#endif

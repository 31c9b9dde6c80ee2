/*
 * loop.h - the driver: it owns the TCP stack, the use of the clock, the one
 * engine timer and the order of work in every loop turn
 * (docs/DESIGN.md section 5.1):
 *
 *   1. input    datagrams (udp.c -> tcp_input) and the apps' bytes
 *               (lstream/bridge read callbacks), in libuv's I/O phase;
 *               engine timers (tcp_timeout) when the one uv_timer fires
 *   2. engine   runs inside those calls; its events are only noted
 *   3. bridges  bridge_run_all(): every bridge with noted work moves bytes
 *               between its stream and its connection, ends, answers
 *   4. flush    udp_flush(): every segment queued by 1-3 leaves in as
 *               few sendmmsg(2) calls as it can; the pcap file is flushed
 *   5. re-arm   the uv_timer at tcp_next_deadline()
 *   6. busy     with [daemon] busy_poll, a turn that moved a datagram
 *               keeps the loop polling without sleeping for that long
 *
 * Steps 3-5 are loop_turn(), run from a uv_check (after I/O) and a
 * uv_prepare (before the loop blocks), after the timer, and by main.c after
 * a signal changed something.
 */
#ifndef TOUD_LOOP_H
#define TOUD_LOOP_H

#include "toud.h"

/* The shards (d->shards, d->n_shards), each with its stack
 * (tcp_stack_new with callbacks.ctx = the shard), bridges' set, UDP
 * sockets, timer and the turn's handles: sh->stack, sh->bridges, sh->udp,
 * sh->drv.  0, or a negative code (logged). */
int loop_start(struct toud *d, unsigned n_shards, const uint8_t secret[16], uint64_t seed);
/* Shards 1 .. n-1 start running on their own threads (shard.h); until
 * then the main thread sets them up.  0 or a negative code (logged). */
int loop_threads_start(struct toud *d);
/* Steps 3-5 above, for one shard. */
void loop_turn(struct shard *sh);
/* ... for every shard (main.c, after a signal changed something). */
void loop_turn_all(struct toud *d);
/* Closes every shard's timer, turn handles and UDP sockets; the shards'
 * threads leave once their loops have no handle left. */
void loop_stop(struct toud *d);
/* After the process's loop ended: waits for the shards' threads. */
void loop_join(struct toud *d);
/* After uv_run returned: the stacks and every buffer. */
void loop_free(struct toud *d);

#endif

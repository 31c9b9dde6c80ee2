/*
 * shard.h - the engine shards' threads (docs/DESIGN.md section 5.8).
 * Shard 0 runs on the process's loop, in the main thread, with the API
 * socket and the signals; every other shard runs its own loop on its own
 * thread.  A shard's thread holds the shard's lock (sh->mu) while it runs
 * callbacks and lets it go only while it waits for events, so the main
 * thread may touch another shard's state - its clients, bridges, stack,
 * handles - between shard_lock() and shard_unlock(), which then wakes it
 * (its turn runs, its timer is re-armed).  Only the main thread takes
 * shard locks, so no two locks wait on each other; a shard asks the main
 * thread (or any shard) for something by posting a job to it.
 */
#ifndef TOUD_SHARD_H
#define TOUD_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "toud.h"

/* Its loop (its own for idx > 0), lock, eventfd and job queue.  0 or a
 * negative libuv code. */
int shard_init(struct shard *sh, struct toud *d, unsigned idx);
/* idx > 0: its thread starts running its loop.  0 or -errno. */
int shard_thread_start(struct shard *sh);
/* Main thread only: touch sh's state (nothing for shard 0, whose state is
 * the main thread's own).  shard_unlock() wakes it. */
void shard_lock(struct shard *sh);
void shard_unlock(struct shard *sh);
/* Any thread: sh runs a turn soon. */
void shard_wake(struct shard *sh);
/* Any thread: fn(sh, copy of data) runs on sh's thread at its next
 * wake-up (for shard 0 inside the main loop).  0, or -1 out of memory. */
typedef void (*shard_job_fn)(struct shard *sh, void *data, size_t len);
int shard_post(struct shard *sh, shard_job_fn fn, const void *data, size_t len);
/* Main thread, at the end: the shard's thread leaves once every handle
 * of its loop has closed; shard_join() waits for that. */
void shard_quit(struct shard *sh);
void shard_join(struct shard *sh);
/* After the join: its loop, eventfd and the jobs never run. */
void shard_fini(struct shard *sh);

/* Main thread: every datagram to local TCP port `port` goes to shard 0
 * (on 1) or by its ports' hash again (on 0): for the [service]
 * listeners, which live on shard 0.  Sets d->pinned_ports and the
 * steering program (udp_pin_port), and keeps the other shards' engines
 * from picking the port for an active open (tcp_stack_reserve_port),
 * whose answers would reach shard 0.  Nothing with one shard. */
void shard_pin_port(struct toud *d, uint16_t port, int on);

/* The shard of a connection with local TCP port lport and remote port
 * rport: 0 if lport is pinned (d->pinned_ports), else (lport ^ rport) % n:
 * what the BPF program of udp.c computes. */
unsigned shard_of_ports(const struct toud *d, uint16_t lport, uint16_t rport);
/* ... of a datagram received (its TCP source port is the remote one, its
 * destination port the local one: the first 4 bytes of the UDP payload;
 * 0 if shorter). */
unsigned shard_of_datagram(const struct toud *d, const uint8_t *p, size_t len);

#endif

/*
 * udp_steer.h - the classic BPF program that steers each datagram of an
 * SO_REUSEPORT group to the shard that owns its connection.
 */
#ifndef TOU_UDP_STEER_H
#define TOU_UDP_STEER_H

struct toud;

/* Attach to fd (the group's first socket) the program that picks shard
 * (source port ^ destination port) % d->n_shards, and shard 0 for the
 * ports pinned in d->pinned_ports.  Returns 0 or -errno. */
int udp_steer_attach(int fd, const struct toud *d);
/* 1 unless TOUD_STEERING=kernel (tests: the kernel's own hash spreads
 * the datagrams and the shards hand on what is not theirs). */
int udp_steer_enabled(void);

#endif

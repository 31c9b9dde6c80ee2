/*
 * forward.h - tunnels for unmodified applications (docs/DESIGN.md section
 * 5.4, conf/toud.conf [forward NAME] / [service NAME]):
 *
 *   [forward]  a local kernel TCP listener; each connection it accepts is
 *              one bridge whose engine connection is an active open to
 *              the configured tou peer and port;
 *   [service]  a tou listener; each connection it accepts (from a peer
 *              the allow list lets in) is one bridge whose stream is a
 *              fresh kernel TCP (or Unix) connection to the target.
 *
 * The bridge carries bytes, half-closes, resets and backpressure; this
 * file only opens the two sides, refuses (the kernel client gets RST when
 * the tou peer refuses; the tou peer gets RST when the target refuses),
 * names each bridge's forward (bridge.via, shown by STATUS/LIST) and
 * counts per forward and service.
 */
#ifndef TOUD_FORWARD_H
#define TOUD_FORWARD_H

#include "toud.h"

struct bridge;
struct sbuf;

/* Opens every [forward] listener and [service] port of d->cfg.fwd (after
 * loop_start); d->fwd.  0, or -1 with the failing section and the reason
 * logged (the daemon refuses to start). */
int forward_start(struct toud *d);
/* Every ended forwarded connection is also given to hook(arg, b, err)
 * (the API's end records, for STATUS <id>). */
void forward_set_end_hook(struct fwd_set *fs, void (*hook)(void *arg, struct bridge *b, int err), void *arg);
/* SIGTERM and the end: the listeners close (live connections go on,
 * shut like the API's); connections still resolving or connecting to a
 * target are reset.  Idempotent. */
void forward_stop(struct fwd_set *fs);
/* STATS: "[{...},...]" of the forwards and of the services. */
void forward_stats_json(const struct fwd_set *fs, struct sbuf *b);
/* After the loop ended. */
void forward_free(struct toud *d);

#endif

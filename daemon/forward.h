/*
 * forward.h - tunnels for unmodified applications (docs/DESIGN.md section
 * 5.4, conf/toud.conf [forward NAME] / [service NAME], docs/API.md
 * FORWARD / SERVE):
 *
 *   forward    a local kernel TCP listener; each connection it accepts is
 *              one bridge whose engine connection is an active open to
 *              the configured tou peer and port;
 *   service    a tou listener; each connection it accepts (from a peer
 *              its allow list and TCP-AO policy let in: the engine
 *              refuses the others before a TCB exists) is one bridge
 *              whose stream is a fresh kernel TCP (or Unix) connection to
 *              the target.
 *
 * Each forward or service is one entry: its settings, its listener and
 * the list of its connections.  Entries come from the configuration (at
 * start and on SIGHUP) or from an API client (FORWARD / SERVE, for as
 * long as its connection lasts).  A removed entry closes its listener at
 * once; its live connections go on until they end (as a kernel's
 * accepted connections outlive their listening socket), and the entry is
 * freed after the last one.
 *
 * The bridge carries bytes, half-closes, resets and backpressure; this
 * file only opens the two sides, refuses (the kernel client gets RST when
 * the tou peer refuses; the tou peer gets RST when the target refuses),
 * names each bridge's entry (bridge.via, shown by STATUS/LIST) and counts
 * per entry.
 */
#ifndef TOUD_FORWARD_H
#define TOUD_FORWARD_H

#include "toud.h"

struct bridge;
struct sbuf;
struct fwd_entry;

/* Opens every [forward] listener and [service] port of d->cfg.fwd (after
 * loop_start); d->fwd.  0, or -1 with the failing section and the reason
 * logged (the daemon refuses to start). */
int forward_start(struct toud *d);
/* SIGHUP, after d->cfg took the new configuration (forward_reload.c):
 * every configured entry whose section is gone is removed (its listener
 * closes, its live connections go on); a changed section changes its
 * entry in place when it listens where it did (new settings for new
 * connections; nothing live is touched), else the old entry is removed
 * and a new one opened; new sections open.  Unchanged entries and the
 * API's are not touched.  Logs every change and adds their number to
 * *changed.  Returns the number of sections that could not start (each
 * logged; the next SIGHUP tries them again). */
int forward_reload(struct toud *d, int *changed);
/* An API client's tunnel (FORWARD: f, SERVE: s; the other NULL), named
 * NAME, its connections owned by uid.  0 and *out, or a negative errno
 * (-EADDRINUSE, -EACCES, -ENOMEM, -EINVAL) with the reason in err. */
int forward_add(struct fwd_set *fs, const struct fwd_forward_conf *f, const struct fwd_service_conf *s,
		long long uid, struct fwd_entry **out, char *err, size_t errlen);
/* Where a forward listens, "ADDR:PORT" (with the port the kernel picked
 * for a listen port 0). */
const char *forward_listen_text(const struct fwd_entry *e);
/* Removes an entry forward_add() made (its client went away). */
void forward_remove(struct fwd_entry *e);
/* Every ended forwarded connection is also given to hook(arg, b, err)
 * (the API's end records, for STATUS <id>). */
void forward_set_end_hook(struct fwd_set *fs, void (*hook)(void *arg, struct bridge *b, int err), void *arg);
/* SIGTERM and the end: the listeners close (live connections go on,
 * shut like the API's); connections still resolving or connecting to a
 * target are reset.  Idempotent. */
void forward_stop(struct fwd_set *fs);
/* STATS: "\"forwards\":[{...},...],\"services\":[...]" of the entries
 * that are not removed. */
void forward_stats_json(const struct fwd_set *fs, struct sbuf *b);
/* After the loop ended. */
void forward_free(struct toud *d);

#endif

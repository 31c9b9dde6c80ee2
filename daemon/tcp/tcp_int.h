/*
 * tcp_int.h - the engine's internal structures: the TCB (RFC 9293 3.3.1),
 * the stack with its connection table, listeners and timer heap.
 * Not part of the public API; only the engine sources include it.
 */
#ifndef TOU_TCP_INT_H
#define TOU_TCP_INT_H

#include <stdarg.h>
#include <stdint.h>

#include "tcp.h"
#include "tcp_ao.h"
#include "tcp_cc.h"
#include "tcp_rtt.h"
#include "tcp_seg.h"
#include "tcp_seqset.h"
#include "tcp_sack.h"
#include "tcp_rack.h"
#include "tcp_prr.h"

/* Per-connection timers; the TCB's deadline is the earliest armed one. */
enum tcp_timer {
	TCP_T_RTX = 0,   /* retransmission of SYN, SYN-ACK, data, FIN (RFC 6298) */
	TCP_T_PERSIST,   /* zero-window probe (RFC 9293 3.8.6.1) */
	TCP_T_DELACK,    /* delayed ACK (RFC 9293 3.8.6.3) */
	TCP_T_2MSL,      /* TIME-WAIT (RFC 9293 3.4.2), orphan FIN-WAIT-2 */
	TCP_T_KEEPALIVE, /* RFC 9293 3.8.4 */
	TCP_T_USER,      /* connect timeout / user timeout */
	TCP_T_IDLE,      /* release or shrink the rings of an idle connection */
	TCP_T_RACK,      /* RACK reordering timeout or TLP probe timeout (RFC 8985) */
	TCP_T_PACE,      /* the departure time of paced new data (cc.pacing_rate) */
	TCP_T_N
};

/* A ring buffer (tcp_ring.c): bytes at logical offsets [0, cap) from
 * `head`.  `lim` is the logical size the connection may use (the receive
 * buffer behind the window, the send buffer the user may fill); `cap` is
 * what is allocated now (0 and buf NULL until first need), grown towards
 * lim by tcp_ring_reserve() and given back by tcp_ring_trim(). */
struct tcp_ring {
	uint8_t *buf;
	uint32_t cap, head, len;
	uint32_t lim;
	uint32_t hint;   /* the allocation given back last: where growth restarts */
};
/* The smallest allocation of a ring (one page). */
#define TCP_RING_MIN 4096u
/* Rings up to this size are given back as soon as they are empty (a heap
 * chunk, cheap to get again); larger ones once the connection idles
 * (TCP_T_IDLE), so that a bulk transfer does not map and fault its buffer
 * anew each time the application drains it. */
#define TCP_RING_KEEP (64u * 1024u)
/* The send buffer's first limit (grown with cwnd, tcp_snd_lim_update): as
 * Linux's tcp_wmem[1] default it holds the initial window (RFC 6928: 10
 * segments) twice over. */
#define TCP_SNDBUF_INIT (64u * 1024u)
/* The receive buffer's first limit (grown by tcp_rcv_space_adjust): the
 * largest window a SYN can carry (RFC 7323 2.2: not scaled), as Linux's
 * initial receive window of 64 KiB. */
#define TCP_RCVBUF_INIT 65535u

/* Pending owner events (delivered when the engine call returns). */
#define TCP_EVB_ESTABLISHED 0x01
#define TCP_EVB_ACCEPTED 0x02
#define TCP_EVB_READABLE 0x04
#define TCP_EVB_PEER_FIN 0x08
#define TCP_EVB_WRITABLE 0x10
#define TCP_EVB_CLOSED 0x20

struct tcp_listener {
	struct tcp_stack *s;
	struct tcp_listener *next;
	uint16_t port;
	unsigned backlog;
	unsigned pending; /* SYN-RECEIVED TCBs of this listener */
	struct tcp_conn *embryo_head, *embryo_tail; /* those TCBs, oldest first */
	int cookies_sent;                  /* a SYN cookie was sent (RFC 4987 3.6) ... */
	tcp_time_t cookie_at;              /* ... the latest at this time */
	void *user;
	int ao_policy;                     /* TCP_AO_OPTIONAL / TCP_AO_REQUIRED */
	struct tcp_prefix *allow;          /* tcp_listener_set_allow, or NULL: every peer */
	unsigned nallow;
	int allow_reset;                   /* refuse with RST, else silently */
	struct tcp_listener_counters cnt;  /* tcp_listener_get_counters */
};

struct tcp_conn {
	struct tcp_stack *s;
	uint64_t id;
	enum tcp_state state;
	struct tcp_endpoint remote;
	uint16_t lport, rport;

	struct tcp_conn *hnext;            /* hash chain */
	struct tcp_conn *prev, *next;      /* all live TCBs */
	struct tcp_conn *ev_next;          /* pending-event list */
	struct tcp_conn *dead_next;        /* to free at the end of the call */
	unsigned heap_idx;                 /* index in s->heap, or UINT32_MAX */
	tcp_time_t deadline;
	tcp_time_t timers[TCP_T_N];

	struct tcp_listener *listener;     /* passive open, until ESTABLISHED */
	struct tcp_conn *lq_prev, *lq_next; /* the listener's embryo list */
	void *listener_user;
	int passive;                       /* came from LISTEN */
	int from_cookie;                   /* made from a SYN cookie (no SYN,ACK RTT) */
	int owned;                         /* the user holds the TCB (events go out) */
	int released;                      /* tcp_release() called */
	int detached;                      /* CLOSED: out of table and heap */
	int on_ev_list, on_dead_list;
	unsigned events;
	int close_err;
	void *user;

	/* RFC 9293 3.3.1 send sequence variables */
	uint32_t iss, snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2, snd_up;
	uint32_t max_snd_wnd;              /* RFC 5961 5.2 MAX.SND.WND */
	uint32_t rtx_nxt;                  /* go-back-N point after an RTO */
	/* receive sequence variables */
	uint32_t irs, rcv_nxt, rcv_adv;    /* rcv_adv: right edge advertised */
	uint8_t snd_wscale, rcv_wscale, ws_ok, sack_ok, ts_ok;
	uint8_t syn_opts_mss_seen;
	uint32_t smss;                     /* effective send MSS */
	uint16_t adv_mss;                  /* MSS we advertise (cfg.mss, -20 for IPv6) */
	uint16_t peer_mss;
	uint32_t pmtu;                     /* path MTU from ICMP (tcp_icmp.c), 0 = none */
	/* the latest ICMP error / failed send that matched (STATUS) */
	uint8_t err_kind, err_local;
	int err_errno;

	/* RFC 7323 timestamps */
	uint32_t ts_offset, ts_recent;
	tcp_time_t ts_recent_age;
	uint32_t last_ack_sent;
	uint32_t ts_last;                  /* the newest TSval sent (tcp_ts_now never
	                                      goes below it) */
	int ts_sent;                       /* ts_last is valid */

	/* buffers */
	struct tcp_ring sndbuf, rcvbuf;
	uint32_t rcv_slack;                /* rcvbuf bytes beyond the advertisable
	                                      space: room for window rounding */
	uint32_t snd_buf_seq;              /* sequence number of sndbuf offset 0 */
	struct tcp_seqset ooo;             /* out-of-order data held in rcvbuf */
	int fin_queued;                    /* user CLOSE: FIN after the data */
	int fin_sent;
	uint32_t fin_seq;
	int fin_rcvd;                      /* peer FIN consumed (RCV.NXT past it) */
	int ooo_fin;                       /* peer FIN seen beyond a hole */
	uint32_t ooo_fin_seq;
	/* receive-buffer auto-tuning (tcp_rcv_space_adjust; Linux's DRS) */
	uint32_t rcvq_space;               /* bytes the app drained in the last measured RTT */
	uint32_t rcvq_copied;              /* bytes drained since rcvq_time */
	tcp_time_t rcvq_time;              /* start of the current measurement */
	tcp_time_t rcv_rtt;                /* receiver's RTT estimate (tcp_rcv_rtt_sample) */
	tcp_time_t ring_used_at;           /* last use of a ring (idle release) */
	struct tcp_conn *tw_next;          /* s->tw_todo: to compact (TIME-WAIT) */
	int on_tw_todo;
	int no_read;                       /* tcp_close_no_read */
	int closed_reported;               /* TCP_EV_CLOSED queued */
	int writable_wanted;

	/* ACK state */
	int ack_now;
	unsigned unacked_segs;             /* full segments received since last ACK */
	unsigned dupacks;
	uint32_t recover;                  /* RFC 6582 recover */
	int in_fast_recovery;
	struct tcp_scoreboard sb;          /* RFC 6675 sender scoreboard */
	struct tcp_rack rack;              /* RFC 8985 RACK-TLP (tcp_rack.c) */
	int rack_on;                       /* RACK-TLP chosen (cfg.loss_detection) */
	struct tcp_prr prr;                /* RFC 6937 PRR in fast recovery (tcp_prr.c) */

	/* retransmission */
	struct tcp_rtt rtt;
	unsigned rtx_count;                /* consecutive RTO expirations */
	int rtt_timing;                    /* Karn: one timed segment */
	uint32_t rtt_seq;
	tcp_time_t rtt_start;
	uint32_t ts_syn;                   /* TSval of our latest SYN or SYN,ACK */
	int retransmitted;                 /* something was retransmitted since rtt_seq */
	tcp_time_t last_send;
	unsigned keepalive_sent;

	struct tcp_cc cc;
	int cc_algo;
	uint64_t pace_next_ns;             /* C.next_send_time (draft-ietf-ccwg-bbr
	                                      5.6.2), nanoseconds on the µs clock */
	int nodelay, keepalive;
	tcp_time_t user_timeout;
	tcp_time_t progress_at;            /* last new ACK, or send from idle */

	/* the latest ACK sent in answer to an unacceptable segment (Linux's
	 * last_oow_ack_time): cfg.invalid_ratelimit is measured from it */
	tcp_time_t oow_ack_at;
	int oow_ack_sent;

	/* statistics */
	uint64_t bytes_sent, bytes_acked, bytes_received;
	uint64_t segs_out, segs_in, retransmits;

	struct tcp_ao_conn *ao;            /* TCP-AO (RFC 5925) in use, or NULL */
};

/* A TIME-WAIT connection nobody holds, kept compact (like Linux's
 * inet_timewait_sock): what RFC 9293 3.10.7.4 needs to acknowledge a
 * retransmitted FIN and judge any other segment (tcp_timewait.c revives a full
 * TCB from it for the length of one segment), and what RFC 6191 needs to
 * let a new incarnation reuse the 4-tuple. */
struct tcp_tw {
	struct tcp_tw *hnext;              /* hash chain in s->tw_table */
	struct tcp_tw *prev, *next;        /* s->tw_head..tw_tail, by deadline */
	uint64_t id;
	tcp_time_t deadline;               /* end of 2 MSL */
	tcp_time_t ts_recent_age;
	tcp_time_t oow_ack_at;             /* tcp_oow_ack_allowed's clock (if oow_ack_sent) */
	struct tcp_endpoint remote;
	uint16_t lport, rport;
	uint32_t iss, irs, snd_nxt, snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
	uint32_t rcv_nxt, rcv_adv, last_ack_sent;
	uint32_t ts_offset, ts_recent, ts_last; /* ts_last: newest TSval sent */
	uint16_t smss, adv_mss, peer_mss;
	uint8_t snd_wscale, rcv_wscale, ws_ok, sack_ok, ts_ok, passive, ts_sent, oow_ack_sent;
};

/* RFC 6335 6: "the Dynamic Ports, also known as the Private or Ephemeral
 * Ports, from 49152-65535": what an active open picks from */
#define TCP_DYN_PORT_LO 49152u

/* tcp_synrate.c: one source's SYN budget (generic cell rate algorithm) */
#define TCP_SYNRATE_SLOTS 1024
struct tcp_synrate_slot {
	uint64_t tag;       /* the source's hash | 1; 0: empty */
	tcp_time_t tat;     /* theoretical arrival time of its next SYN */
};

struct tcp_stack {
	struct tcp_config cfg;
	struct tcp_callbacks cb;
	uint8_t secret[16];
	uint64_t rng;
	uint64_t next_id;
	unsigned id_step;                   /* ids: next_id, next_id + id_step, ... (tcp_stack_set_shard) */
	unsigned shards, shard;             /* active opens: (lport ^ rport) % shards == shard */
	uint8_t *reserved;                  /* dynamic ports active opens skip, one bit each from
	                                       TCP_DYN_PORT_LO (tcp_stack_reserve_port); NULL: none */
	int depth;                          /* nesting of API entry points */
	int delivering;

	struct tcp_conn **table;            /* hash by 4-tuple */
	struct tcp_conn *last_hit;          /* the latest lookup hit (in the table), or NULL:
	                                       a bulk transfer's segments skip the SipHash */
	unsigned nbuckets;
	unsigned nconns;                    /* TCBs in the table (full TIME-WAIT ones too) */
	unsigned ntw_full;                  /* of those, in TIME-WAIT (held by their owner) */
	struct tcp_conn *all;               /* doubly linked list of live TCBs */
	struct tcp_listener *listeners;
	struct tcp_conn **heap;             /* min-heap on deadline */
	unsigned heap_len, heap_cap;
	struct tcp_conn *ev_head, *ev_tail;
	struct tcp_conn *dead;
	struct tcp_conn *tw_todo;           /* TIME-WAIT TCBs to compact at tcp_leave */

	/* compact TIME-WAIT records: hash by 4-tuple, list by deadline */
	struct tcp_tw **tw_table;
	unsigned tw_nbuckets, ntw;
	struct tcp_tw *tw_head, *tw_tail;

	/* RFC 5961 7: challenge ACK budget per second, drawn at random each
	 * second (tcp_challenge_ack_allowed) */
	tcp_time_t chack_window_start;
	unsigned chack_left;
	int chack_started;

	uint32_t (*isn_hook)(void *arg, const struct tcp_conn *c);
	void *isn_arg;

	struct tcp_stats st;
	struct tcp_ao_table ao;             /* the MKTs (tcp_ao_set_keys) */
	struct tcp_synrate_slot synrate[TCP_SYNRATE_SLOTS]; /* tcp_synrate.c */
	uint8_t segbuf[TCP_MAX_HDR_LEN + 65536];
};

/* tcp_stack.c */
void tcp_log(struct tcp_stack *s, int level, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
/* The engine's PRNG (splitmix64 from the caller's seed). */
uint64_t tcp_rng_next(struct tcp_stack *s);
/* Every entry point brackets its work: events queued meanwhile are
 * delivered, TIME-WAIT TCBs compacted and dead TCBs freed when the
 * outermost call leaves. */
void tcp_enter(struct tcp_stack *s);
void tcp_leave(struct tcp_stack *s);
void tcp_conn_event(struct tcp_conn *c, unsigned evbit);
/* A detached TCB joins the list freed at tcp_leave once nobody holds it. */
void tcp_dead_push(struct tcp_conn *c);
/* The user's view of the connection is over: TCP_EV_CLOSED(err), once. */
void tcp_report_closed(struct tcp_conn *c, int err);
void tcp_set_state(struct tcp_conn *c, enum tcp_state st);
void tcp_conn_established(struct tcp_conn *c, tcp_time_t now);
int tcp_challenge_ack_allowed(struct tcp_stack *s, tcp_time_t now);
/* RFC 5961 7 / Linux's tcp_invalid_ratelimit: may c answer an unacceptable
 * segment with an ACK now?  1 = yes (the interval restarts), 0 = no (the
 * counter `skipped` is incremented). */
int tcp_oow_ack_allowed(struct tcp_conn *c, tcp_time_t now, uint64_t *skipped);
/* An IPv4 or IPv6 peer with a UDP port. */
int tcp_endpoint_valid(const struct tcp_endpoint *r);

/* tcp_table.c */
/* A connection's identifying parameters as the keyed hashes take them
 * (ISN F(), the table, SYN cookies). */
struct tuple_key {
	uint8_t family;
	uint8_t addr[16];
	uint8_t udp[2], lport[2], rport[2];
};
void tcp_tuple_key(struct tuple_key *k, const struct tcp_endpoint *r, uint16_t lport, uint16_t rport);
int tcp_ep_equal(const struct tcp_endpoint *a, const struct tcp_endpoint *b);
/* What a new TCB for peer r announces in its SYN or SYN,ACK: MSS and
 * receive window shift (tcp_conn_new). */
uint16_t tcp_adv_mss(const struct tcp_stack *s, const struct tcp_endpoint *r);
uint8_t tcp_rcv_wscale(const struct tcp_stack *s);
struct tcp_conn *tcp_conn_lookup(struct tcp_stack *s, const struct tcp_endpoint *r,
				 uint16_t lport, uint16_t rport);
/* A TCB in CLOSED for the 4-tuple, in the table, no rings (NULL and *err
 * TCP_ENOMEM on failure); tcp_conn_new also applies max_connections and the
 * configured buffers, MSS and window shift. */
struct tcp_conn *tcp_conn_alloc(struct tcp_stack *s, const struct tcp_endpoint *r,
				uint16_t lport, uint16_t rport, int *err);
struct tcp_conn *tcp_conn_new(struct tcp_stack *s, const struct tcp_endpoint *r,
			      uint16_t lport, uint16_t rport, tcp_time_t now, int *err);
void tcp_conn_free(struct tcp_conn *c);
/* Enter CLOSED: detach from table, heap and listener; TCP_EV_CLOSED(err)
 * for an owned TCB; free once nobody holds it. */
void tcp_conn_closed(struct tcp_conn *c, int err);
/* Connections counted against max_connections (TIME-WAIT excluded). */
unsigned tcp_live_conns(const struct tcp_stack *s);
uint32_t tcp_isn(struct tcp_stack *s, const struct tcp_conn *c, tcp_time_t now);
/* The timestamp clock's offset for a 4-tuple (RFC 7323 7.1, a keyed hash:
 * tcp_conn_new, and a SYN cookie's SYN,ACK before any TCB exists). */
uint32_t tcp_ts_offset(const struct tcp_stack *s, const struct tcp_endpoint *r,
		       uint16_t lport, uint16_t rport);

/* tcp_timewait.c */
/* The connection entered TIME-WAIT: give back its rings, compact it once
 * its owner lets go. */
void tcp_conn_time_wait(struct tcp_conn *c);
/* The TCB of the 4-tuple, revived from its compact TIME-WAIT record if it
 * has one (*nomem set, NULL returned, when that needs memory not there). */
struct tcp_conn *tcp_conn_or_time_wait(struct tcp_stack *s, const struct tcp_endpoint *r,
				       uint16_t lport, uint16_t rport, int *nomem);
/* Queue c to become a record at tcp_leave; tcp_tw_compact does it. */
void tcp_tw_todo_push(struct tcp_conn *c);
void tcp_tw_compact(struct tcp_conn *c);
/* Free the records whose 2 MSL ended by now. */
void tcp_tw_expire(struct tcp_stack *s, tcp_time_t now);
struct tcp_tw *tcp_tw_lookup(struct tcp_stack *s, const struct tcp_endpoint *r,
			     uint16_t lport, uint16_t rport);
void tcp_tw_free(struct tcp_stack *s, struct tcp_tw *tw);
/* RFC 6191: may the new active open c take tw's 4-tuple? */
int tcp_tw_reusable(const struct tcp_tw *tw, struct tcp_conn *c, tcp_time_t now);

/* tcp_timer.c */
void tcp_timer_set(struct tcp_conn *c, enum tcp_timer t, tcp_time_t when);
void tcp_timer_clear(struct tcp_conn *c, enum tcp_timer t);
/* c's timers changed: its place in the heap follows its earliest one. */
void tcp_timer_reschedule(struct tcp_conn *c);
/* A heap slot for each of n TCBs (0 or TCP_ENOMEM). */
int tcp_timer_reserve(struct tcp_stack *s, unsigned n);

/* tcp_listen.c */
struct tcp_listener *tcp_listener_find(struct tcp_stack *s, uint16_t port);
/* The first `bits` bits of a and b are equal. */
int tcp_prefix_bits_eq(const uint8_t *a, const uint8_t *b, unsigned bits);
/* The peer may open connections to l (its allow list). */
int tcp_listener_allows(const struct tcp_listener *l, const struct tcp_endpoint *peer);
/* A passive-open TCB joins / leaves its listener's SYN-RECEIVED list. */
void tcp_listener_add_embryo(struct tcp_listener *l, struct tcp_conn *c);
void tcp_listener_detach(struct tcp_conn *c);

/* tcp_buffers.c */
/* The usable receive buffer (the ring's limit without the slack). */
uint32_t tcp_rcv_buf(const struct tcp_conn *c);
/* Make the receive ring hold logical offsets [0, need); TCP_ENOMEM (counted)
 * when it cannot grow: the caller stores what fits. */
int tcp_rcv_reserve(struct tcp_conn *c, uint32_t need);
/* A data segment echoed TSecr: a receiver-side RTT sample (auto-tuning). */
void tcp_rcv_rtt_sample(struct tcp_conn *c, uint32_t tsecr, tcp_time_t now);
/* The application drained bytes (rcvq_copied): receive-buffer auto-tuning. */
void tcp_rcv_space_adjust(struct tcp_conn *c, tcp_time_t now);
/* Send buffer growth with cwnd (like Linux's tcp_sndbuf_expand). */
void tcp_snd_lim_update(struct tcp_conn *c);
/* A ring was used now: the idle release waits (TCP_T_IDLE). */
void tcp_ring_used(struct tcp_conn *c, tcp_time_t now);
/* TCP_T_IDLE fired: free or shrink rings unused for one RTO. */
void tcp_idle_timeout(struct tcp_conn *c, tcp_time_t now);

/* tcp_output.c */
/* The receive window (RFC 9293 3.8.6.2.2, RFC 7323 2.2-2.4), computed
 * nowhere else.  RCV.WND: from RCV.NXT to the right edge last announced
 * (0 once RCV.NXT passed it). */
uint32_t tcp_rcv_wnd(const struct tcp_conn *c);
/* The window of our SYN or SYN,ACK: unscaled, at most 65535. */
uint32_t tcp_rcv_wnd_syn(const struct tcp_conn *c);
/* What the next non-SYN segment would announce, receiver SWS avoidance
 * applied: the window field, the right edge it means, and whether that
 * opens the window by at least the SWS threshold (min(RCV.BUFF/2,
 * Eff.snd.MSS)) - reason enough for a window update of its own. */
struct tcp_rwnd {
	uint32_t field;  /* SEG.WND, scaled */
	uint32_t edge;   /* RCV.NXT + (field << Rcv.Wind.Shift) */
	int opens;
};
void tcp_rcv_wnd_offer(const struct tcp_conn *c, struct tcp_rwnd *w);
/* Send what the windows allow (data, FIN) and any pending ACK. */
void tcp_output(struct tcp_conn *c, tcp_time_t now);
/* Send one segment with the TCB's current ACK, window and options. */
void tcp_send_ctl(struct tcp_conn *c, uint8_t flags, uint32_t seq, tcp_time_t now);
void tcp_send_ack(struct tcp_conn *c, tcp_time_t now);
void tcp_send_syn(struct tcp_conn *c, tcp_time_t now);
/* A segment without a TCB: built from seg as it is, then emitted. */
void tcp_send_raw(struct tcp_stack *s, const struct tcp_endpoint *to, const struct tcp_seg *seg);
/* A RST for a segment without a TCB (or unsynchronized rules). */
void tcp_send_rst_raw(struct tcp_stack *s, const struct tcp_endpoint *to, uint16_t sport,
		      uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags);
void tcp_rtx_timeout(struct tcp_conn *c, tcp_time_t now);
void tcp_persist_timeout(struct tcp_conn *c, tcp_time_t now);
void tcp_keepalive_timeout(struct tcp_conn *c, tcp_time_t now);
void tcp_arm_rtx(struct tcp_conn *c, tcp_time_t now);
/* The TSval clock of c (RFC 7323 5.4): never below a TSval already sent. */
uint32_t tcp_ts_now(const struct tcp_conn *c, tcp_time_t now);
uint32_t tcp_flight(const struct tcp_conn *c);
uint32_t tcp_retransmit_one(struct tcp_conn *c, uint32_t seq, tcp_time_t now);
/* RFC 6675 5 (4.4)/(C): send while cwnd - pipe >= 1 SMSS, what NextSeg()
 * chooses. */
void tcp_sack_output(struct tcp_conn *c, tcp_time_t now);

/* Send [seq, seq+len) again (len clipped to the data and the peer's
 * window; the FIN with it if it follows): the sequence space sent. */
uint32_t tcp_retransmit_range(struct tcp_conn *c, uint32_t seq, uint32_t len, tcp_time_t now);
/* One segment of new data at SND.NXT (up to SMSS, the peer's window
 * allowing, cwnd and pacing not consulted): the sequence space sent. */
uint32_t tcp_send_new_one(struct tcp_conn *c, tcp_time_t now);
/* Pacing (draft-ietf-ccwg-bbr 5.6.2, cc.pacing_rate): may new data go
 * now?  If not, TCP_T_PACE is armed for the departure time. */
int tcp_pace_allows(struct tcp_conn *c, tcp_time_t now);
/* TCP_T_PACE expired: send what the departure time held back. */
void tcp_pace_timeout(struct tcp_conn *c, tcp_time_t now);

/* tcp_rack.c: RACK-TLP (RFC 8985) for a connection */
/* The connection uses RACK-TLP (chosen, and SACK negotiated). */
int tcp_rack_on(const struct tcp_conn *c);
/* The transmission record is kept: RACK-TLP, or delivery-rate sampling
 * (c->rack.cc set, tcp_rate.h) for the congestion control. */
int tcp_rack_recording(const struct tcp_conn *c);
/* An ACK of a connection that keeps the record without RACK-TLP: the
 * record follows SND.UNA (after new_ack) and the ACK's samples close. */
void tcp_rack_record_ack(struct tcp_conn *c);
/* send_data_at: [seq, seq+used) went out; snd_nxt is SND.NXT before. */
void tcp_rack_sent(struct tcp_conn *c, uint32_t seq, uint32_t used, uint32_t snd_nxt,
		   tcp_time_t now);
/* An acceptable ACK: before SND.UNA moves and the SACK blocks are taken
 * (with tcp_rack_sack_cb as tcp_sb_update_cb's callback), then
 * tcp_rack_input instead of the RFC 6675 rules (`delivered`: the ACK's
 * DeliveredData for PRR, RFC 6937). */
void tcp_rack_ack_begin(struct tcp_conn *c, const struct tcp_seg *seg, tcp_time_t now);
void tcp_rack_sack_cb(void *conn, uint32_t start, uint32_t end);
void tcp_rack_input(struct tcp_conn *c, const struct tcp_seg *seg, uint32_t delivered,
		    tcp_time_t now);
/* Send lost segments, and new data in recovery, while cwnd - pipe >= SMSS. */
void tcp_rack_output(struct tcp_conn *c, tcp_time_t now);
/* (Re)arm the TLP probe timeout when RFC 8985 7.2 allows it. */
void tcp_rack_arm_tlp(struct tcp_conn *c, tcp_time_t now);
/* TCP_T_RACK expired. */
void tcp_rack_timeout(struct tcp_conn *c, tcp_time_t now);
/* The retransmission timer expired (not into a zero window). */
void tcp_rack_rto(struct tcp_conn *c, tcp_time_t now);

/* tcp_prr.c: PRR (RFC 6937) in a SACK connection's fast recovery */
/* Fast recovery starts (after on_congestion, before the fast
 * retransmit): PRR's state, if it applies (cfg.prr, SACK, CUBIC or
 * NewReno). */
void tcp_prr_enter(struct tcp_conn *c);
/* An ACK in fast recovery, before the recovery's sending loop: the ACK's
 * DeliveredData (tcp_prr_delivered_data) sets cwnd = pipe + sndcnt. */
void tcp_prr_ack(struct tcp_conn *c, uint32_t delivered);
/* send_data_at: `used` octets went out (prr_out, in fast recovery). */
void tcp_prr_on_send(struct tcp_conn *c, uint32_t used);
/* The retransmission timer expired: PRR ends, cwnd = ssthresh again
 * before the congestion control's on_rto. */
void tcp_prr_rto(struct tcp_conn *c);

/* tcp_icmp.c */
/* The largest send MSS (without TCP options) that a path MTU of c->pmtu
 * allows, or UINT32_MAX when no path MTU is known. */
uint32_t tcp_pmtu_mss(const struct tcp_conn *c);

/* tcp_synrate.c */
/* Is listener l pressed now: backlog full, connection table full, or SYN
 * cookies sent within the last second? */
int tcp_listener_pressed(const struct tcp_listener *l, tcp_time_t now);
/* May a SYN from `from` open a connection now (cfg.syn_rate_per_source)?
 * 1 (its budget charged) or 0.  Called for pressed listeners only. */
int tcp_synrate_allow(struct tcp_stack *s, const struct tcp_endpoint *from, tcp_time_t now);

/* tcp_input.c */
int tcp_input_seg(struct tcp_stack *s, const struct tcp_endpoint *from,
		  struct tcp_seg *seg, tcp_time_t now);
/* What a segment proved about its sender (enum tcp_peer_proof) to
 * callbacks.peer, before any answer is emitted. */
void tcp_report_peer(struct tcp_stack *s, const struct tcp_endpoint *from, int proof);
/* The options of the peer's SYN (MSS, WS, SACK-permitted, TS) into c,
 * and the send MSS they give. */
void tcp_syn_options(struct tcp_conn *c, const struct tcp_seg *seg, tcp_time_t now);
/* The text of a SYN, queued at RCV.NXT until ESTABLISHED (3.10.7.2/3). */
void tcp_queue_syn_text(struct tcp_conn *c, const struct tcp_seg *seg);

/* tcp_passive.c: segments for a listener l (no connection took them) */
/* RFC 9293 3.10.7.2 LISTEN; isn_above: a SYN reopening TIME-WAIT, whose
 * ISS must lie above *isn_above (else NULL).  0 (answered or dropped),
 * or TCP_ELIMIT / TCP_ENOMEM when no TCB could be had for a SYN. */
int tcp_listen_input(struct tcp_stack *s, struct tcp_listener *l,
		     const struct tcp_endpoint *from, const struct tcp_seg *seg, tcp_time_t now,
		     const uint32_t *isn_above);
/* An ACK that may return a SYN cookie (RFC 4987 3.6): 1 with *out the
 * TCB in SYN-RECEIVED, 0 when the LISTEN rules apply, or a negative code
 * when the segment is dropped: TCP_EINVAL (not our cookie), TCP_ELIMIT /
 * TCP_ENOMEM (a valid cookie but no TCB now). */
int tcp_cookie_ack_open(struct tcp_stack *s, struct tcp_listener *l,
			const struct tcp_endpoint *from, const struct tcp_seg *seg, tcp_time_t now,
			struct tcp_conn **out);

/* tcp_reasm.c: steps seven (text) and eight (FIN) of 3.10.7.4 */
/* Enter TIME-WAIT: 2 MSL timer, the others off, the user told. */
void tcp_enter_time_wait(struct tcp_conn *c, tcp_time_t now);
/* Our FIN was sent and SND.UNA is past it. */
int tcp_fin_acked(const struct tcp_conn *c);
/* Take the contiguous out-of-order data now at RCV.NXT into the stream. */
void tcp_pull_ooo(struct tcp_conn *c);
/* The FIN at RCV.NXT: advance over it, tell the user, change state. */
void tcp_process_fin(struct tcp_conn *c, tcp_time_t now);
/* Data [seq, seq+len) trimmed to the window, in ESTABLISHED, FIN-WAIT-1/2.
 * 0, or -1 if the TCB was closed. */
int tcp_process_text(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len,
		     tcp_time_t now);
/* Step eight for a segment's text [seq, seq+len) and (trimmed) FIN bit. */
void tcp_fin_step(struct tcp_conn *c, uint32_t seq, uint32_t len, int fin, tcp_time_t now);

/* tcp_ring.c */
/* An empty ring of limit lim; nothing allocated. */
void tcp_ring_init(struct tcp_ring *r, uint32_t lim);
void tcp_ring_free(struct tcp_ring *r);
/* Grow the allocation to at least min(need, lim) bytes (doubling, from
 * TCP_RING_MIN), keeping the contents.  0 or TCP_ENOMEM (ring unchanged). */
int tcp_ring_reserve(struct tcp_ring *r, uint32_t need);
/* Shrink the allocation to what holds logical offsets [0, keep) (keep 0:
 * free it) when that at least halves it; unchanged on allocation failure. */
void tcp_ring_trim(struct tcp_ring *r, uint32_t keep);
void tcp_ring_write(struct tcp_ring *r, uint32_t off, const void *data, uint32_t n);
void tcp_ring_read(const struct tcp_ring *r, uint32_t off, void *out, uint32_t n);
void tcp_ring_consume(struct tcp_ring *r, uint32_t n);

#endif

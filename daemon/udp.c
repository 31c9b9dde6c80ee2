/*
 * udp.c - the UDP side of toud (udp.h): it only moves datagrams.
 *
 * Receive: each socket is watched with a uv_poll handle; one wakeup reads
 * up to RECV_SLOTS datagrams per recvmmsg(2) call (several calls while
 * there is more), each straight into tcp_input().  With UDP GRO
 * (UDP_GRO, Linux 5.0+) the kernel may hand over several datagrams of one
 * peer glued together (a GSO train on loopback, GRO on a NIC); the cmsg
 * gives their size and they are cut apart again.  (libuv's own
 * UV_UDP_RECVMMSG mode cannot deliver that cmsg, hence uv_poll.)
 * Send: the engine builds each segment straight into a per-socket queue
 * (its emit_buf hook, udp_emit_buf(); udp_emit() copies only segments
 * built elsewhere);
 * the queue is flushed with sendmmsg(2) once per loop turn (udp_flush(),
 * from the driver's turn, loop.c), or earlier when it fills up.
 * Runs of equal-sized segments to one peer leave as ONE message with UDP
 * GSO (UDP_SEGMENT, Linux 4.18+): the kernel cuts it into one datagram per
 * segment, so each UDP payload is still exactly one TCP segment.
 * A full socket buffer (EAGAIN) keeps the unsent rest of the queue, in
 * order; it is retried each loop turn and on UV_WRITABLE, and only
 * segments that find the queue full as well are dropped (udp.tx_dropped).
 * ICMP errors (IP_RECVERR) and datagrams the kernel refuses are read and
 * queued by udp_err.c; the driver hands them to the engine once per turn
 * (udp_deliver_errors()).
 * All state is in struct udp (sh->udp, one per shard); each socket's uv_poll handle's data
 * is its struct udp_sock, which points back to it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "endpoint.h"
#include "log.h"
#include "udp.h"
#include "udp_route.h" /* pktinfo: replies from the address the peer talked to */
#include "udp_err.h"   /* ICMP errors and failed sends for the engine */
#include "udp_steer.h" /* the reuseport group's steering program */

#define SENDQ_MSGS 64               /* datagrams per sendmmsg() */
#define SENDQ_BYTES (512 * 1024)    /* bytes queued per socket before a flush */
#define RECV_CHUNK (64 * 1024)      /* one slot: the largest UDP payload (or GRO train) */
#define RECV_SLOTS 32               /* datagrams per recvmmsg() */
#define RECV_ROUNDS 8               /* recvmmsg() calls per wakeup at most (fairness) */
/* New-connection segments (SYNs, tcp_seg_opens) handed to the engine per
 * FULL receive batch at most: a full batch means more datagrams wait in
 * the kernel's queue, and under a SYN flood they are the connections'
 * segments that the queue drops when it overflows.  The rest of the
 * batch's SYNs are shed unread (udp.rx_syn_shed) - far cheaper than a
 * SYN,ACK or a cookie each - so the queue drains faster than the flood
 * fills it.  A batch that empties the queue hands every SYN over. */
#define RECV_SYN_SHARE (RECV_SLOTS / 4)
#define SOCK_BUF (8 * 1024 * 1024)  /* SO_SNDBUF we ask for (SO_RCVBUF: [daemon] udp_receive_buffer) */
#define GSO_MAX_SEGS 64             /* UDP_MAX_SEGMENTS of older kernels */
#define GSO_MAX_BYTES 65000         /* one UDP datagram's worth of payload */

struct udp;

struct udp_sock {
	uv_poll_t h;
	struct udp *u;
	int family;                     /* 4 or 6 */
	int id;                         /* its address's index in the configuration (udp_route.h) */
	int fd;
	struct sockaddr_storage local;
	socklen_t local_len;
	/* send queue */
	struct mmsghdr msgs[SENDQ_MSGS];  /* one per segment */
	struct mmsghdr out[SENDQ_MSGS];   /* what goes to sendmmsg (GSO runs merged) */
	unsigned out_segs[SENDQ_MSGS];    /* segments in each out[] message */
	union {
		/* UDP_SEGMENT, then (pktinfo, udp_route.c) IP(V6)_PKTINFO */
		char buf[CMSG_SPACE(sizeof(uint16_t)) + UDP_ROUTE_CMSG_SPACE];
		struct cmsghdr align;
	} cmsg[SENDQ_MSGS];
	struct udp_route_src src[SENDQ_MSGS]; /* pktinfo: source of each queued segment */
	int gso;                          /* 1 = UDP_SEGMENT works here */
	struct iovec iov[SENDQ_MSGS];
	struct sockaddr_storage to[SENDQ_MSGS];
	unsigned n;
	size_t used;
	uint8_t *arena;                 /* SENDQ_BYTES, segments back to back in queue order */
	int blocked;                    /* EAGAIN: the queue is held, UV_WRITABLE watched */
	int no_room;                    /* udp_emit_buf() found no room just now */
};

/* What udp_emit_buf() chose for the buffer it lent, so that udp_emit()
 * of the segment built there does not look the route up again. */
struct udp_lent {
	const uint8_t *buf;
	struct udp_sock *s;
	struct udp_route_src src;
};

struct udp {
	struct shard *sh;               /* its loop and routes; sh->d: the config, pcap */
	udp_input_fn input;
	void *input_arg;
	struct udp_sock *socks[TOUD_MAX_UDP];
	int n_socks;
	struct udp_sock *by_id[TOUD_MAX_UDP]; /* NULL: that address was skipped */
	struct udp_counters c;
	struct udp_err err;             /* ICMP errors and failed sends, for the engine */
	struct udp_lent lent;
	/* the datagram being handed to the engine (pktinfo hook: the
	 * engine's proof of its sender, udp_peer_proof, learns its route) */
	int cur_valid;
	struct udp_route_arrival cur_arr;
	struct tcp_endpoint cur_from;
	uint8_t syn[RECV_SLOTS];        /* the batch's new-connection segments */
	int rcvbuf_warned;
	uint8_t *recv_buf;              /* RECV_SLOTS * RECV_CHUNK */
	struct mmsghdr rmsgs[RECV_SLOTS];
	struct iovec riov[RECV_SLOTS];
	struct sockaddr_storage rfrom[RECV_SLOTS];
	union {
		char buf[CMSG_SPACE(sizeof(int)) + UDP_ROUTE_CMSG_SPACE]; /* UDP_GRO + IP(V6)_PKTINFO */
		struct cmsghdr align;
	} rcmsg[RECV_SLOTS];
	/* entries to set up before the next recvmmsg: those the last one
	 * wrote (msg_namelen, msg_controllen, msg_flags, msg_len); all
	 * until the first call (rset_once) or after an error */
	unsigned rdirty;
	int rset_once;
};

static struct udp_sock *sock_for(const struct udp *u, int family)
{
	for (int i = 0; i < u->n_socks; i++)
		if (u->socks[i]->family == family)
			return u->socks[i];
	return NULL;
}

int udp_have_family(const struct udp *u, int family)
{
	return sock_for(u, family) != NULL;
}

void udp_local_name(const struct udp *u, int family, char *buf, size_t len)
{
	struct udp_sock *s = sock_for(u, family);
	if (!s) {
		snprintf(buf, len, family == 6 ? "[::]:0" : "0.0.0.0:0");
		return;
	}
	sockaddr_format((struct sockaddr *)&s->local, buf, len);
}

int udp_describe(const struct udp *u, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < u->n_socks && off < len; i++) {
		char a[64];
		sockaddr_format((struct sockaddr *)&u->socks[i]->local, a, sizeof a);
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", a);
	}
	return (int)off;
}

void udp_counters_add(const struct udp *ud, struct udp_counters *c, struct udp_err_counters *e)
{
	/* both are uint64_t throughout: add them as arrays */
	uint64_t *to = (uint64_t *)c;
	const uint64_t *from = (const uint64_t *)&ud->c;
	for (size_t i = 0; i < sizeof *c / sizeof(uint64_t); i++)
		to[i] += from[i];
	to = (uint64_t *)e;
	from = (const uint64_t *)&ud->err.cnt;
	for (size_t i = 0; i < sizeof *e / sizeof(uint64_t); i++)
		to[i] += from[i];
}

int udp_json(const struct udp *ud, char *buf, size_t len)
{
	return udp_counters_json(&ud->c, &ud->err.cnt, buf, len);
}

int udp_counters_json(const struct udp_counters *u, const struct udp_err_counters *x, char *buf, size_t len)
{
	return snprintf(buf, len,
		"{\"rx_datagrams\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"rx_truncated\":%" PRIu64
		",\"rx_errors\":%" PRIu64 ",\"rx_batches\":%" PRIu64 ",\"rx_syn_shed\":%" PRIu64
		",\"tx_datagrams\":%" PRIu64
		",\"tx_bytes\":%" PRIu64 ",\"tx_errors\":%" PRIu64 ",\"tx_dropped\":%" PRIu64
		",\"tx_batches\":%" PRIu64 ",\"tx_gso\":%" PRIu64 ",\"tx_nosocket\":%" PRIu64
		",\"rx_icmp\":%" PRIu64 ",\"rx_icmp_short\":%" PRIu64 ",\"rx_local_errors\":%" PRIu64
		",\"tx_failed\":%" PRIu64 ",\"errors_overflow\":%" PRIu64 "}",
		u->rx_datagrams, u->rx_bytes, u->rx_truncated, u->rx_errors, u->rx_batches, u->rx_syn_shed,
		u->tx_datagrams, u->tx_bytes, u->tx_errors, u->tx_dropped, u->tx_batches, u->tx_gso, u->tx_nosocket,
		x->icmp, x->icmp_short, x->local, x->send_failed, x->overflow);
}

unsigned udp_deliver_errors(struct udp *u, struct tcp_stack *st, tcp_time_t now,
			    int (*other)(void *arg, const struct udp_err_pending *p), void *arg)
{
	return u && udp_err_pending(&u->err) ? udp_err_deliver_to(&u->err, st, now, other, arg) : 0;
}

/* ---- send path ---- */

static int same_peer(const struct udp_sock *s, unsigned a, unsigned b)
{
	socklen_t la = s->msgs[a].msg_hdr.msg_namelen;
	return la == s->msgs[b].msg_hdr.msg_namelen && memcmp(&s->to[a], &s->to[b], la) == 0;
}

/* Builds s->out from the queue: with GSO, a run of segments to one peer of
 * the same length (the last may be shorter) becomes one message. */
static unsigned build_out(struct udp_sock *s)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->n;) {
		size_t seg = s->iov[i].iov_len, total = seg;
		unsigned j = i + 1;
		if (s->gso) {
			while (j < s->n && j - i < GSO_MAX_SEGS && same_peer(s, i, j) &&
			       s->iov[j].iov_len <= seg && total + s->iov[j].iov_len <= GSO_MAX_BYTES) {
				total += s->iov[j].iov_len;
				j++;
				if (s->iov[j - 1].iov_len < seg)
					break; /* a shorter one ends the run */
			}
		}
		struct msghdr *m = &s->out[n].msg_hdr;
		*m = s->msgs[i].msg_hdr;
		m->msg_iov = &s->iov[i];
		m->msg_iovlen = j - i;
		if (j - i > 1) {
			m->msg_control = s->cmsg[n].buf;
			m->msg_controllen = CMSG_SPACE(sizeof(uint16_t)); /* (pktinfo may follow) */
			struct cmsghdr *c = CMSG_FIRSTHDR(m);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t gso = (uint16_t)seg;
			memcpy(CMSG_DATA(c), &gso, sizeof gso);
		}
		/* pktinfo hook (udp_route.c): from the address the peer talked to */
		udp_route_add_cmsg(m, s->cmsg[n].buf, sizeof s->cmsg[n].buf, &s->src[i]);
		s->out[n].msg_len = 0;
		s->out_segs[n] = j - i;
		n++;
		i = j;
	}
	return n;
}

static void on_io(uv_poll_t *h, int status, int events);

/* Watch for UV_WRITABLE only while a full socket buffer holds the queue. */
static void sock_poll(struct udp_sock *s)
{
	int r = uv_poll_start(&s->h, UV_READABLE | (s->blocked ? UV_WRITABLE : 0), on_io);
	if (r != 0)
		log_warn("udp: poll: %s", uv_strerror(r));
}

/* The first `first` segments of the queue are gone: move the rest (and
 * their bytes) to the front. */
static void keep_unsent(struct udp_sock *s, unsigned first)
{
	if (first == 0 || first > s->n)
		return;
	unsigned k = s->n - first;
	uint8_t *from = k ? s->iov[first].iov_base : s->arena + s->used;
	size_t shift = (size_t)(from - s->arena), bytes = s->used - shift;
	memmove(s->arena, from, bytes);
	for (unsigned j = 0; j < k; j++) {
		unsigned i = first + j;
		s->iov[j].iov_base = (uint8_t *)s->iov[i].iov_base - shift;
		s->iov[j].iov_len = s->iov[i].iov_len;
		s->to[j] = s->to[i];
		s->src[j] = s->src[i]; /* pktinfo */
		s->msgs[j].msg_hdr = (struct msghdr){ .msg_name = &s->to[j],
						      .msg_namelen = s->msgs[i].msg_hdr.msg_namelen,
						      .msg_iov = &s->iov[j], .msg_iovlen = 1 };
		s->msgs[j].msg_len = 0;
	}
	s->n = k;
	s->used = bytes;
}

static void flush_sock(struct udp_sock *s)
{
	if (!s->n)
		return;
	s->u->c.tx_batches++;
	unsigned nout = build_out(s);
	unsigned off = 0, retried = UINT32_MAX;
	while (off < nout) {
		int r = sendmmsg(s->fd, s->out + off, nout - off, 0);
		if (r < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			if (s->out_segs[off] > 1 && (e == EIO || e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP)) {
				/* no UDP GSO here (old kernel, device without
				 * checksum offload): send one by one from now on */
				log_notice("udp: GSO unavailable (%s); sending datagrams one by one", strerror(e));
				s->gso = 0;
				nout = build_out(s);
				off = 0; /* nothing of this batch was sent */
				continue;
			}
			if (e == EAGAIN || e == EWOULDBLOCK) {
				/* the socket buffer is full: keep what is left
				 * queued (in order) and send it once the socket
				 * is writable again, rather than losing it */
				unsigned first = 0;
				for (unsigned u = 0; u < off; u++)
					first += s->out_segs[u];
				keep_unsent(s, first);
				if (!s->blocked) {
					s->blocked = 1;
					sock_poll(s);
				}
				return;
			}
			if (e != ENOBUFS && retried != off) {
				/* With IP_RECVERR an ICMP error about an EARLIER
				 * datagram (and sendmmsg's own partial failure)
				 * leaves its errno in the socket, and the next
				 * send fails with it instead of sending: read the
				 * error queue (that clears it) and try this
				 * message once more. */
				udp_err_read(&s->u->err, s->fd);
				retried = off;
				continue;
			}
			/* ENOBUFS (the device queue dropped it) or this
			 * datagram's own error (EACCES to a broadcast address,
			 * no route, EMSGSIZE): this message is lost, as on a
			 * congested link; TCP retransmits it.  The engine hears
			 * of it (udp_err_send_failed: a SYN that cannot leave
			 * ends its attempt).  Skip it and go on with the rest. */
			if (e == ENOBUFS) {
				s->u->c.tx_dropped += s->out_segs[off];
			} else {
				s->u->c.tx_errors += s->out_segs[off];
				uint64_t now = toud_now();
				const struct sockaddr_storage *to = s->out[off].msg_hdr.msg_name;
				char a[64];
				sockaddr_format((const struct sockaddr *)to, a, sizeof a);
				log_peer(LOG_LVL_INFO, (const uint8_t *)to, (int)sizeof(struct sockaddr_in6), now,
					 "udp send to %s: %s", a, strerror(e));
				if (e == EMSGSIZE)
					udp_err_read(&s->u->err, s->fd); /* the interface MTU (a local error) */
				const struct iovec *v = s->out[off].msg_hdr.msg_iov;
				udp_err_send_failed(&s->u->err, (const struct sockaddr *)to, v->iov_base, v->iov_len, e);
			}
			off++;
			continue;
		}
		for (int i = 0; i < r; i++) {
			s->u->c.tx_datagrams += s->out_segs[off + (unsigned)i];
			s->u->c.tx_bytes += s->out[off + (unsigned)i].msg_len;
			if (s->out_segs[off + (unsigned)i] > 1)
				s->u->c.tx_gso++;
		}
		off += (unsigned)r;
	}
	s->n = 0;
	s->used = 0;
	if (s->blocked) {
		s->blocked = 0;
		sock_poll(s);
	}
}

/* Each loop turn, also for a blocked socket: the kernel takes a datagram
 * as soon as its buffer has room, but reports UV_WRITABLE only once it is
 * half empty. */
void udp_flush(struct udp *u)
{
	for (int i = 0; i < u->n_socks; i++)
		if (u->socks[i]->n)
			flush_sock(u->socks[i]);
}

/* Room for len more bytes in the queue, flushing it if need be; 0 if a
 * full socket buffer holds a full queue. */
static int make_room(struct udp_sock *s, size_t len)
{
	if (s->n < SENDQ_MSGS && s->used + len <= SENDQ_BYTES)
		return 1;
	/* also when blocked: the kernel may have room again by now (a
	 * failing sendmmsg per segment only while both are full) */
	flush_sock(s);
	return s->n < SENDQ_MSGS && s->used + len <= SENDQ_BYTES;
}

/* The socket (and source address) for a datagram to `to`: the one the
 * peer talked to (pktinfo hook, udp_route.c), else the family's first. */
static struct udp_sock *sock_to(struct udp *u, const struct tcp_endpoint *to, struct udp_route_src *src)
{
	int id = udp_route_lookup(u->sh->route, to, src);
	struct udp_sock *s = id >= 0 && id < TOUD_MAX_UDP ? u->by_id[id] : NULL;
	if (!s)
		src->family = 0;
	return s ? s : sock_for(u, to->family);
}

/* The engine's emit_buf hook (tcp.h): room for the next segment at the
 * end of the socket's queue, so that udp_emit() finds it in place. */
uint8_t *udp_emit_buf(struct udp *u, const struct tcp_endpoint *to, size_t len)
{
	struct udp_lent *lent = &u->lent;
	lent->buf = NULL;
	struct udp_sock *s = sock_to(u, to, &lent->src);
	if (!s || len > SENDQ_BYTES)
		return NULL; /* udp_emit() counts it */
	s->no_room = !make_room(s, len);
	if (s->no_room)
		return NULL; /* udp_emit() counts it */
	lent->s = s;
	lent->buf = s->arena + s->used;
	return s->arena + s->used;
}

void udp_emit(struct udp *u, const struct tcp_endpoint *to, const uint8_t *seg, size_t len)
{
	struct udp_route_src src;
	struct udp_sock *s;
	if (seg && seg == u->lent.buf) {
		s = u->lent.s;
		src = u->lent.src;
	} else {
		s = sock_to(u, to, &src);
	}
	u->lent.buf = NULL;
	if (!s) {
		u->c.tx_nosocket++;
		return;
	}
	if (len > SENDQ_BYTES) {
		u->c.tx_dropped++;
		return;
	}
	uint8_t *p = s->arena + s->used;
	if (seg != p) {
		/* not built in place by udp_emit_buf() (which made room) */
		int room = s->no_room ? 0 : make_room(s, len);
		s->no_room = 0;
		if (!room) {
			/* the socket buffer is full and so is our queue: lost
			 * as on a congested link; TCP retransmits it */
			s->u->c.tx_dropped++;
			return;
		}
		p = s->arena + s->used;
		memcpy(p, seg, len);
	}
	unsigned i = s->n++;
	s->used += len;
	s->iov[i].iov_base = p;
	s->iov[i].iov_len = len;
	struct sockaddr_storage *ss = &s->to[i];
	socklen_t sl;
	endpoint_to_sockaddr(to, ss, &sl);
	s->msgs[i].msg_hdr = (struct msghdr){ .msg_name = ss, .msg_namelen = sl,
					      .msg_iov = &s->iov[i], .msg_iovlen = 1 };
	s->msgs[i].msg_len = 0;
	s->src[i] = src; /* pktinfo hook */
	if (u->sh->d->pcap)
		pcap_segment(u->sh->d->pcap, 1, to, (struct sockaddr *)&s->local, seg, len, toud_now());
}

/* ---- receive path ---- */

static void input_one(struct udp_sock *s, const struct tcp_endpoint *from, const uint8_t *p, size_t len,
		      tcp_time_t now)
{
	struct udp *u = s->u;
	u->c.rx_datagrams++;
	u->c.rx_bytes += len;
	if (u->sh->d->pcap)
		pcap_segment(u->sh->d->pcap, 0, from, (struct sockaddr *)&s->local, p, len, now);
	u->input(u->input_arg, from, p, len, now);
}

void udp_peer_proof(struct udp *u, const struct tcp_endpoint *from, int proof)
{
	const struct tcp_endpoint *c = &u->cur_from;
	if (!u->cur_valid || from->family != c->family || from->udp_port != c->udp_port ||
	    memcmp(from->addr, c->addr, from->family == 6 ? 16 : 4) != 0)
		return; /* not the datagram being input (cannot happen) */
	udp_route_learn(u->sh->route, from, &u->cur_arr, proof);
}

const struct udp_route_arrival *udp_arrival(const struct udp *u)
{
	return u->cur_valid ? &u->cur_arr : NULL;
}

void udp_arrival_set(struct udp *u, const struct tcp_endpoint *from, const struct udp_route_arrival *a)
{
	u->cur_valid = a != NULL;
	if (a) {
		u->cur_from = *from;
		u->cur_arr = *a;
	}
}

/* Datagram i of the batch just received on s, into the engine (a GRO
 * train cut into its datagrams). */
static void input_datagram(struct udp_sock *s, int i)
{
	struct udp *u = s->u;
	/* The clock is read per datagram, not once per batch: an
	 * engine call made while this batch is handled (a listener
	 * refusing a connection from inside its event) takes a fresh
	 * time, and a later tcp_input of the same batch must not
	 * pass an older one (timers, RTT samples and the rate
	 * limits would see time go backwards; issue 9 item 4). */
	tcp_time_t now = toud_now();
	struct msghdr *m = &u->rmsgs[i].msg_hdr;
	size_t len = u->rmsgs[i].msg_len;
	if (m->msg_flags & MSG_TRUNC) {
		s->u->c.rx_truncated++;
		return;
	}
	struct tcp_endpoint from;
	if (endpoint_from_sockaddr(&from, (struct sockaddr *)m->msg_name) != 0)
		return;
	/* pktinfo hook (udp_route.c): our socket and address are
	 * learned if the engine vouches for the sender */
	udp_route_arrival(&u->cur_arr, s->id, (struct sockaddr *)&s->local, from.family, m);
	u->cur_valid = 1;
	u->cur_from = from;
	size_t seg = len;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int g;
			memcpy(&g, CMSG_DATA(c), sizeof g);
			if (g > 0)
				seg = (size_t)g;
		}
	}
	const uint8_t *p = u->riov[i].iov_base;
	if (len == 0) { /* an empty datagram: the engine counts it malformed */
		input_one(s, &from, p, 0, now);
	} else {
		/* a GRO train: equal-sized datagrams, the last may be shorter */
		for (size_t off = 0; off < len; off += seg)
			input_one(s, &from, p + off, len - off < seg ? len - off : seg, now);
	}
	u->cur_valid = 0;
}

static void on_io(uv_poll_t *h, int status, int events)
{
	struct udp_sock *s = h->data;
	struct udp *u = s->u;
	if (status < 0) {
		/* libuv reports EPOLLERR as UV_EBADF and STOPS the handle: with
		 * IP_RECVERR that is an ICMP error waiting in the error queue
		 * (or a failed send's errno in the socket).  Read the queue
		 * (which clears it; the driver hands it to the engine this
		 * turn) and watch again. */
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		unsigned n = udp_err_read(&u->err, s->fd);
		if (n == 0 && getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
			log_debug("udp: socket error %s (of an earlier send)", strerror(soerr));
		if (n == 0 && !soerr) {
			u->c.rx_errors++;
			log_warn("udp receive: %s", uv_strerror(status));
		}
		sock_poll(s);
		return; /* readable data, if any, is reported on the next turn */
	}
	if ((events & UV_WRITABLE) && s->blocked)
		flush_sock(s); /* unblocks (poll: readable only) once the queue is out */
	if (!(events & UV_READABLE))
		return;
	unsigned budget = RECV_SYN_SHARE; /* SYNs of this wakeup's full batches */
	for (int round = 0; round < RECV_ROUNDS; round++) {
		unsigned reset = u->rset_once ? u->rdirty : RECV_SLOTS;
		u->rset_once = 1;
		for (unsigned i = 0; i < reset; i++) {
			u->riov[i].iov_base = u->recv_buf + (size_t)i * RECV_CHUNK;
			u->riov[i].iov_len = RECV_CHUNK;
			u->rmsgs[i].msg_hdr = (struct msghdr){ .msg_name = &u->rfrom[i], .msg_namelen = sizeof u->rfrom[i],
							    .msg_iov = &u->riov[i], .msg_iovlen = 1,
							    .msg_control = u->rcmsg[i].buf,
							    .msg_controllen = sizeof u->rcmsg[i].buf };
			u->rmsgs[i].msg_len = 0;
		}
		int n = recvmmsg(s->fd, u->rmsgs, RECV_SLOTS, MSG_DONTWAIT, NULL);
		u->rdirty = n >= 0 ? (unsigned)n : errno == EAGAIN || errno == EWOULDBLOCK ? 0 : RECV_SLOTS;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				/* ICMP errors of earlier sends surface here too
				 * (ECONNREFUSED): their entries are in the error
				 * queue, for the engine */
				int e = errno;
				if (udp_err_read(&u->err, s->fd) == 0) {
					u->c.rx_errors++;
					log_debug("udp receive: %s", strerror(e));
				}
				continue;
			}
			return;
		}
		s->u->c.rx_batches++;
		/* the connections' segments first, then the SYNs: all of
		 * them if the queue is drained, else RECV_SYN_SHARE */
		unsigned nsyn = 0;
		for (int i = 0; i < n; i++) {
			u->syn[i] = tcp_seg_opens(u->riov[i].iov_base, u->rmsgs[i].msg_len);
			if (u->syn[i])
				nsyn++;
			else
				input_datagram(s, i);
		}
		if (n < RECV_SLOTS)
			budget = nsyn;
		for (int i = 0; i < n && nsyn; i++) {
			if (!u->syn[i])
				continue;
			nsyn--;
			if (budget) {
				budget--;
				input_datagram(s, i);
			} else {
				u->c.rx_datagrams++;
				u->c.rx_bytes += u->rmsgs[i].msg_len;
				u->c.rx_syn_shed++;
			}
		}
		if (n < RECV_SLOTS)
			return;
	}
}

/* ---- setup ---- */

/* The receive buffer is what absorbs a burst - and, under a SYN flood,
 * what keeps the connections' segments queued while the SYNs of full
 * batches are shed (RECV_SYN_SHARE): [daemon] udp_receive_buffer, 32 MiB
 * by default.  Without root (SO_RCVBUFFORCE) the kernel caps it at
 * net.core.rmem_max: logged once. */
static void set_bufs(struct udp *u, int fd)
{
	int v = (int)u->sh->d->cfg.udp_receive_buffer, got = 0;
	socklen_t gl = sizeof got;
	/* The FORCE variants pass rmem_max/wmem_max when we are root. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
	/* the kernel reports twice what it grants (its bookkeeping) */
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got / 2 < v && !u->rcvbuf_warned++)
		log_notice("udp: receive buffer %d bytes, not the %d of udp_receive_buffer (net.core.rmem_max; "
			   "toud not started as root)", got / 2, v);
	v = SOCK_BUF;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
}

/* Takes a bound UDP socket fd (ours or systemd's) into the loop. */
static int add_sock(struct udp *u, int fd, int id)
{
	struct udp_sock *s = calloc(1, sizeof *s);
	if (!s)
		return UV_ENOMEM;
	s->u = u;
	s->fd = fd;
	s->id = id;
	s->local_len = sizeof s->local;
	if (getsockname(fd, (struct sockaddr *)&s->local, &s->local_len) != 0) {
		free(s);
		return -errno;
	}
	s->family = s->local.ss_family == AF_INET6 ? 6 : 4;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		free(s);
		return -errno;
	}
	set_bufs(u, fd);
	int one = 1;
	/* UDP GRO: optional, only saves work */
	setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one);
	/* pktinfo hook (udp_route.c): optional, logs once if unavailable */
	udp_route_sock_init(u->sh->route, fd, (struct sockaddr *)&s->local);
	/* ICMP errors (IP_RECVERR) and the don't-fragment bit: optional,
	 * logs once if unavailable */
	udp_err_sock_init(&u->err, fd, s->family);
	s->gso = 1; /* until the kernel says otherwise */
	s->arena = malloc(SENDQ_BYTES);
	if (!s->arena) {
		free(s);
		return UV_ENOMEM;
	}
	int r = uv_poll_init(u->sh->loop, &s->h, fd);
	if (r != 0) {
		free(s->arena);
		free(s);
		return r;
	}
	s->h.data = s;
	uv_poll_start(&s->h, UV_READABLE, on_io);
	u->socks[u->n_socks++] = s;
	u->by_id[id] = s;
	return 0;
}

static void on_sock_closed(uv_handle_t *h)
{
	struct udp_sock *s = h->data;
	close(s->fd);
	free(s->arena);
	free(s);
}

void udp_pin_port(struct udp *u, uint16_t port, int on)
{
	struct toud *d = u->sh->d;
	if (d->n_shards <= 1)
		return;
	uint8_t bit = (uint8_t)(1u << (port & 7));
	if (on)
		__atomic_fetch_or(&d->pinned_ports[port >> 3], bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&d->pinned_ports[port >> 3], (uint8_t)~bit, __ATOMIC_RELAXED);
	if (!udp_steer_enabled())
		return; /* the shards hand datagrams on by the same table */
	for (int i = 0; i < u->n_socks; i++) { /* one per reuseport group */
		int e = udp_steer_attach(u->socks[i]->fd, d);
		if (e != 0)
			log_warn("udp: steering port %u to shard 0: %s; its datagrams are handed on", port, strerror(-e));
	}
}

/* socket + bind: IPv6 sockets are IPv6-only (the config lists both).
 * With several shards each binds its own socket to the same address
 * (SO_REUSEPORT), in shard order: shard i is socket i of the group;
 * shard 0's carries the steering program (unless TOUD_STEERING=kernel,
 * for tests: then the kernel's own hash spreads the datagrams and the
 * shards hand on what is not theirs). */
static int open_bound(const struct sockaddr *sa, const struct shard *sh, int *out)
{
	int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	unsigned n = sh->d->n_shards;
	if (n > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (n > 1 && sh->idx == 0 && udp_steer_enabled()) {
		int e = udp_steer_attach(fd, sh->d);
		if (e != 0)
			log_warn("udp: no BPF steering (SO_ATTACH_REUSEPORT_CBPF: %s): datagrams reach the %u shards by "
				 "the kernel's hash and are handed on to theirs", strerror(-e), n);
	} else if (n > 1 && sh->idx == 0) {
		log_notice("udp: TOUD_STEERING=kernel: no BPF steering; the shards hand datagrams on");
	}
	socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (bind(fd, sa, len) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*out = fd;
	return 0;
}

int udp_start(struct shard *sh, udp_input_fn input, void *arg)
{
	struct toud *d = sh->d;
	struct udp *u = calloc(1, sizeof *u);
	if (!u)
		return UV_ENOMEM;
	sh->udp = u;
	u->sh = sh;
	u->input = input;
	u->input_arg = arg;
	u->recv_buf = malloc((size_t)RECV_CHUNK * RECV_SLOTS);
	sh->route = udp_route_new(d->n_shards > 1 ? d->route_live : NULL);
	if (!u->recv_buf || !sh->route)
		return UV_ENOMEM;

	if (d->n_udp_fds > 0) { /* socket activation: adopt what systemd passed */
		for (int i = 0; i < d->n_udp_fds; i++) {
			int r = add_sock(u, d->udp_fds[i], i);
			if (r != 0) {
				log_err("passed UDP socket (fd %d): %s", d->udp_fds[i], uv_strerror(r));
				return r;
			}
		}
		return 0;
	}
	for (int i = 0; i < d->cfg.n_udp; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&d->cfg.udp_addrs[i];
		char a[64];
		sockaddr_format(sa, a, sizeof a);
		int fd = -1;
		int r = open_bound(sa, sh, &fd);
		if (r == 0) {
			r = add_sock(u, fd, i);
			if (r != 0)
				close(fd);
		}
		if (r != 0) {
			int skip = sa->sa_family == AF_INET6 && (r == UV_EAFNOSUPPORT || r == UV_EADDRNOTAVAIL);
			if (skip) {
				log_warn("udp %s: %s (IPv6 unavailable?), skipped", a, uv_strerror(r));
				continue;
			}
			log_err("udp %s: cannot bind: %s", a, uv_strerror(r));
			return r;
		}
	}
	if (u->n_socks == 0) {
		log_err("no UDP socket could be opened");
		return UV_EADDRNOTAVAIL;
	}
	return 0;
}

void udp_stop(struct udp *u)
{
	if (!u)
		return;
	for (int i = 0; i < u->n_socks; i++)
		flush_sock(u->socks[i]); /* a last try, also for a blocked socket */
	for (int i = 0; i < u->n_socks; i++) {
		uv_poll_stop(&u->socks[i]->h);
		uv_close((uv_handle_t *)&u->socks[i]->h, on_sock_closed);
	}
	u->n_socks = 0;
	memset(u->by_id, 0, sizeof u->by_id);
	udp_route_reset(u->sh->route); /* pktinfo hook: the table points to the sockets */
	u->lent.buf = NULL;
	u->err.n = 0; /* errors not delivered by now concern closing connections */
}

void udp_free(struct udp *u)
{
	if (!u)
		return;
	udp_route_free(u->sh->route);
	u->sh->route = NULL;
	free(u->recv_buf);
	free(u);
}

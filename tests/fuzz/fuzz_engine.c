/*
 * fuzz_engine.c - libFuzzer target driving a whole engine stack: a listener
 * on port 80 and active opens, with the fuzz bytes as a script of segment
 * arrivals (raw, or built relative to the live connections' sequence
 * numbers so the fuzzer gets past the acceptability tests), timer runs and
 * user calls.  Checks the engine's invariants after every step.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp.h"
#include "tcp/tcp_seg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXC 16

struct fz {
	struct tcp_conn *c[MAXC];
	unsigned n;
	size_t emitted;
	uint8_t last[2048];
	size_t lastlen;
	tcp_time_t now; /* the driver's clock, for tcp_release() in fz_event */
};

static void fz_emit(void *ctx, const struct tcp_endpoint *to, const uint8_t *seg, size_t len)
{
	struct fz *f = ctx;
	struct tcp_seg s;
	(void)to;
	/* everything the engine emits must parse */
	if (tcp_seg_parse(&s, seg, len) != 0)
		abort();
	f->emitted++;
	if (len <= sizeof f->last) {
		memcpy(f->last, seg, len);
		f->lastlen = len;
	}
}

static void fz_forget(struct fz *f, struct tcp_conn *c)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->c[i] == c) {
			f->c[i] = f->c[--f->n];
			return;
		}
}

static void fz_event(void *ctx, struct tcp_conn *c, void *user, enum tcp_event ev, int err)
{
	struct fz *f = ctx;
	(void)user;
	(void)err;
	if (ev == TCP_EV_ACCEPTED && f->n < MAXC) {
		f->c[f->n++] = c;
	} else if (ev == TCP_EV_ACCEPTED) {
		tcp_abort(c, 0);
	}
	if (ev == TCP_EV_CLOSED) {
		fz_forget(f, c);
		tcp_release(c, f->now);
	}
}

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint32_t take(struct rd *r, unsigned bytes)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		v <<= 8;
		if (r->n) {
			v |= *r->p++;
			r->n--;
		}
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	memset(&f, 0, sizeof f);
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.send_buffer = cfg.recv_buffer = 16384;
	cfg.max_connections = 32;
	cfg.mss = 536;
	struct tcp_callbacks cb = { &f, fz_emit, fz_event, NULL, NULL, NULL };
	uint8_t secret[16] = { 1, 2, 3 };
	struct tcp_stack *s;
	if (tcp_stack_new(&s, &cfg, &cb, secret, 7) != 0)
		abort();
	struct tcp_listener *l;
	if (tcp_listen(s, 80, 4, NULL, &l) != 0)
		abort();
	struct tcp_endpoint peers[2] = { { 4, { 10, 0, 0, 1 }, 9811 },
					 { 6, { 0xfe, 0x80, [15] = 1 }, 4000 } };
	/* TCP-AO (RFC 5925) with the IPv6 peer: its connections verify and
	 * sign every segment; op 12 swaps the MKT table (rollover) */
	struct tcp_ao_key mkts[2];
	memset(mkts, 0, sizeof mkts);
	for (int i = 0; i < 2; i++) {
		mkts[i].family = 6;
		mkts[i].prefix_len = 128;
		memcpy(mkts[i].addr, peers[1].addr, 16);
		mkts[i].send_id = mkts[i].recv_id = (uint8_t)(1 + i);
		mkts[i].alg = i ? TCP_AO_AES128_CMAC_96 : TCP_AO_HMAC_SHA1_96;
		mkts[i].secret_len = 7;
		memcpy(mkts[i].secret, "fuzzkey", 7);
	}
	if (tcp_ao_set_keys(s, mkts, 1) != 0)
		abort();
	tcp_time_t now = 1000000;
	struct rd r = { data, size };
	uint8_t buf[2048], payload[1500];
	memset(payload, 'p', sizeof payload);
	for (unsigned step = 0; r.n && step < 4096; step++) {
		unsigned op = take(&r, 1) % 13;
		const struct tcp_endpoint *from = &peers[take(&r, 1) & 1];
		struct tcp_conn *c = f.n ? f.c[take(&r, 1) % f.n] : NULL;
		f.now = now;
		switch (op) {
		case 0: { /* raw datagram */
			size_t len = take(&r, 1);
			if (len > r.n)
				len = r.n;
			tcp_input(s, from, r.p, len, now);
			r.p += len;
			r.n -= len;
			break;
		}
		case 1:
		case 2:
		case 3: { /* a segment relative to a connection (or to the listener) */
			struct tcp_conn_info info;
			memset(&info, 0, sizeof info);
			uint16_t sport = 1000 + (uint16_t)(take(&r, 1) & 3), dport = 80;
			if (c && tcp_conn_info(c, &info) == 0) {
				sport = info.remote_port;
				dport = info.local_port;
				from = &info.remote;
			}
			struct tcp_seg o;
			memset(&o, 0, sizeof o);
			uint8_t flags = (uint8_t)take(&r, 1);
			int32_t dseq = (int8_t)take(&r, 1) * (int32_t)take(&r, 1);
			int32_t dack = (int8_t)take(&r, 1) * (int32_t)take(&r, 1);
			uint8_t opt = (uint8_t)take(&r, 1);
			o.has_mss = opt & 1;
			o.mss = (uint16_t)take(&r, 2);
			o.has_ws = (opt >> 1) & 1;
			o.ws = (uint8_t)take(&r, 1);
			o.sack_perm = (opt >> 2) & 1;
			o.has_ts = (opt >> 3) & 1;
			o.tsval = take(&r, 4);
			o.tsecr = take(&r, 4);
			o.nsack = (opt >> 4) & 3;
			if (opt & 0x40) { /* TCP-AO with a MAC that is (almost surely) wrong */
				o.has_ao = 1;
				o.ao_len = 16;
				o.ao_keyid = (uint8_t)(take(&r, 1) & 3);
				o.ao_rnext = (uint8_t)(take(&r, 1) & 3);
			}
			for (unsigned i = 0; i < o.nsack; i++) {
				o.sack[i].start = info.snd_una + take(&r, 2);
				o.sack[i].end = o.sack[i].start + take(&r, 2);
			}
			size_t dl = take(&r, 2) % sizeof payload;
			o.sport = sport;
			o.dport = dport;
			o.seq = info.rcv_nxt + (uint32_t)dseq;
			o.ack = info.snd_nxt + (uint32_t)dack;
			o.flags = flags;
			o.wnd = (uint16_t)take(&r, 2);
			o.data = payload;
			o.len = dl;
			size_t n = tcp_seg_build(buf, sizeof buf, &o);
			if (n)
				tcp_input(s, from, buf, n, now);
			break;
		}
		case 4: /* time passes */
			now += (tcp_time_t)take(&r, 2) * 1000u;
			f.now = now;
			tcp_timeout(s, now);
			break;
		case 5: /* jump to the next deadline */ {
			tcp_time_t d = tcp_next_deadline(s);
			if (d != TCP_TIME_NEVER) {
				if (d < now)
					abort(); /* a deadline in the past must have fired */
				now = d;
				f.now = now;
				tcp_timeout(s, now);
			}
			break;
		}
		case 6:
			if (c)
				tcp_send(c, payload, take(&r, 2) % sizeof payload, now);
			break;
		case 7:
			if (c) {
				uint8_t rb[4096];
				tcp_recv(c, rb, take(&r, 2) % sizeof rb, now);
			}
			break;
		case 8:
			if (c)
				tcp_close(c, now);
			break;
		case 9:
			if (c)
				tcp_abort(c, now); /* CLOSED event releases it */
			break;
		case 10: {
			struct tcp_conn *nc;
			if (f.n < MAXC && tcp_connect(s, from, 80 + (take(&r, 1) & 1), 0, NULL, NULL, now, &nc) == 0)
				f.c[f.n++] = nc;
			break;
		}
		case 12: { /* the MKT table changes: one key, both (one preferred), none */
			unsigned v = take(&r, 1) % 4;
			mkts[1].flags = v == 3 ? TCP_AO_KEY_PREFERRED : 0;
			if (tcp_ao_set_keys(s, v == 0 ? mkts + 1 : mkts, v == 2 ? 0 : v == 0 ? 1 : 2) != 0)
				abort();
			break;
		}
		case 11:
			if (c && (take(&r, 1) & 1)) {
				tcp_close_no_read(c, now);
			} else if (c) {
				fz_forget(&f, c);
				tcp_release(c, now);
			}
			break;
		}
		/* invariants */
		for (unsigned i = 0; i < f.n; i++) {
			struct tcp_conn_info info;
			if (tcp_conn_info(f.c[i], &info) != 0)
				abort();
			if (info.send_queue > cfg.send_buffer || info.recv_queue > cfg.recv_buffer)
				abort();
			if ((int32_t)(info.snd_nxt - info.snd_una) < 0)
				abort();
		}
	}
	tcp_stack_free(s);
	return 0;
}

/*
 * tcp_ao.c - the TCP Authentication Option (RFC 5925) with the mandatory
 * algorithms of RFC 5926, see tcp_ao.h.  HMAC-SHA1 and AES-128-CMAC come
 * from GNU Nettle; this file assembles their inputs as the RFCs say.
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/memops.h> /* memeql_sec */

#include "tcp_ao.h"
#include "tcp_int.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ---- the algorithms (RFC 5925 5, RFC 5926) ---- */

size_t tcp_ao_context(uint8_t out[TCP_AO_MAX_CONTEXT], const struct tcp_ao_addrs *a,
		      uint16_t sport, uint16_t dport, uint32_t sisn, uint32_t disn)
{
	/* RFC 5925 5.2: "For IPv4: (source IPv4 address, destination IPv4
	 * address, source TCP port, destination TCP port, source ISN,
	 * destination ISN)" - for IPv6 the same with 128-bit addresses */
	size_t alen = a->family == 6 ? 16 : 4, n = 0;
	memcpy(out + n, a->src, alen); n += alen;
	memcpy(out + n, a->dst, alen); n += alen;
	put16(out + n, sport); n += 2;
	put16(out + n, dport); n += 2;
	put32(out + n, sisn); n += 4;
	put32(out + n, disn); n += 4;
	return n;
}

int tcp_ao_kdf(uint8_t alg, const uint8_t *master, size_t mlen, const uint8_t *context,
	       size_t clen, uint8_t key[20])
{
	/* RFC 5926 3.1: "Output = PRF (Master_Key, i || Label || Context ||
	 * Output_Length)" with i = 1 (one iteration suffices for both), Label
	 * the ASCII "TCP-AO", Output_Length in bits, 16 bits big-endian */
	static const uint8_t label[6] = { 'T', 'C', 'P', '-', 'A', 'O' };
	uint8_t one = 1, olen[2];
	if (alg == TCP_AO_HMAC_SHA1_96) {
		/* 3.1.1 KDF_HMAC_SHA1: "PRF: HMAC-SHA1 [RFC2104] [FIPS-180-3]",
		 * "Output_Length: 160 bits" */
		struct hmac_sha1_ctx h;
		put16(olen, 160);
		hmac_sha1_set_key(&h, mlen, master);
		hmac_sha1_update(&h, 1, &one);
		hmac_sha1_update(&h, sizeof label, label);
		hmac_sha1_update(&h, clen, context);
		hmac_sha1_update(&h, 2, olen);
		hmac_sha1_digest(&h, SHA1_DIGEST_SIZE, key);
		return SHA1_DIGEST_SIZE;
	}
	if (alg == TCP_AO_AES128_CMAC_96) {
		/* 3.1.2 KDF_AES_128_CMAC: "PRF: AES-CMAC-PRF-128 [NIST-SP800-38B]
		 * [RFC4615]", "Output_Length: 128 bits"; RFC 4615 3: a key that
		 * is not 128 bits long is first reduced, K = AES-CMAC(0^128, MK) */
		struct cmac_aes128_ctx c;
		uint8_t k[16];
		if (mlen == 16) {
			memcpy(k, master, 16);
		} else {
			static const uint8_t zero[16];
			cmac_aes128_set_key(&c, zero);
			cmac_aes128_update(&c, mlen, master);
			cmac_aes128_digest(&c, 16, k);
		}
		put16(olen, 128);
		cmac_aes128_set_key(&c, k);
		cmac_aes128_update(&c, 1, &one);
		cmac_aes128_update(&c, sizeof label, label);
		cmac_aes128_update(&c, clen, context);
		cmac_aes128_update(&c, 2, olen);
		cmac_aes128_digest(&c, 16, key);
		return 16;
	}
	return TCP_EINVAL;
}

int tcp_ao_mac_init(struct tcp_ao_mac *m, uint8_t alg, const uint8_t *key, size_t klen)
{
	m->alg = alg;
	if (alg == TCP_AO_HMAC_SHA1_96) {
		hmac_sha1_set_key(&m->u.hmac, klen, key);
		return 0;
	}
	if (alg == TCP_AO_AES128_CMAC_96 && klen == 16) {
		cmac_aes128_set_key(&m->u.cmac, key);
		return 0;
	}
	return TCP_EINVAL;
}

/* One MAC computation on a copy of the keyed context (the key schedule
 * stays untouched for the next segment). */
struct mac_run {
	struct tcp_ao_mac m;
};

static void run_update(struct mac_run *r, const uint8_t *p, size_t n)
{
	if (r->m.alg == TCP_AO_HMAC_SHA1_96)
		hmac_sha1_update(&r->m.u.hmac, n, p);
	else
		cmac_aes128_update(&r->m.u.cmac, n, p);
}

int tcp_ao_mac_seg(const struct tcp_ao_mac *m, uint32_t sne, const struct tcp_ao_addrs *a,
		   const uint8_t *seg, size_t len, size_t ao_off, int exclude_options,
		   uint8_t out[TCP_AO_MAC_LEN])
{
	if (len < TCP_HDR_LEN)
		return TCP_EMALFORMED;
	size_t doff = (size_t)(seg[12] >> 4) * 4;
	if (doff < TCP_HDR_LEN || doff > len || ao_off < TCP_HDR_LEN || ao_off + 4 > doff)
		return TCP_EMALFORMED;
	size_t ao_len = seg[ao_off + 1];
	if (ao_len < 4 || ao_off + ao_len > doff)
		return TCP_EMALFORMED;
	struct mac_run r;
	r.m = *m;
	/* RFC 5925 5.1 "1. The Sequence Number Extension (SNE) ... in network
	 * byte order" */
	uint8_t b[4];
	put32(b, sne);
	run_update(&r, b, 4);
	/* "2. The IP pseudoheader: IP source and destination addresses,
	 * protocol number and segment length, all in network byte order,
	 * prepended to the TCP header below" - RFC 9293 3.1 (IPv4: zero,
	 * PTCL, TCP length) and RFC 8200 8.1 (IPv6: 32-bit length, three zero
	 * octets, next header) */
	uint8_t ph[40];
	size_t phl;
	if (a->family == 6) {
		memcpy(ph, a->src, 16);
		memcpy(ph + 16, a->dst, 16);
		put32(ph + 32, (uint32_t)len);
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = 6;
		phl = 40;
	} else {
		memcpy(ph, a->src, 4);
		memcpy(ph + 4, a->dst, 4);
		ph[8] = 0;
		ph[9] = 6;
		put16(ph + 10, (uint16_t)len);
		phl = 12;
	}
	run_update(&r, ph, phl);
	/* "3. The TCP header, by default including options, and where the TCP
	 * checksum and TCP-AO MAC fields are set to zero" - with the MKT's
	 * "TCP option flag" cleared, "all options other than TCP-AO are
	 * excluded" and the data offset is kept as sent */
	uint8_t h[TCP_MAX_HDR_LEN];
	size_t hl;
	if (exclude_options) {
		memcpy(h, seg, TCP_HDR_LEN);
		memcpy(h + TCP_HDR_LEN, seg + ao_off, ao_len);
		memset(h + TCP_HDR_LEN + 4, 0, ao_len - 4);
		hl = TCP_HDR_LEN + ao_len;
	} else {
		memcpy(h, seg, doff);
		memset(h + ao_off + 4, 0, ao_len - 4);
		hl = doff;
	}
	h[16] = h[17] = 0;
	run_update(&r, h, hl);
	/* "4. The TCP data, i.e., the payload of the TCP segment" */
	run_update(&r, seg + doff, len - doff);
	/* RFC 5926 2.2: "the MAC ... truncated to 96 bits" (the leftmost) */
	if (r.m.alg == TCP_AO_HMAC_SHA1_96)
		hmac_sha1_digest(&r.m.u.hmac, TCP_AO_MAC_LEN, out);
	else
		cmac_aes128_digest(&r.m.u.cmac, TCP_AO_MAC_LEN, out);
	return 0;
}

uint32_t tcp_ao_sne(uint32_t ref, uint32_t ref_sne, uint32_t seq)
{
	/* RFC 5925 6.2: the SNE is the high half of a 64-bit sequence number
	 * that "is incremented ... when the TCP sequence number rolls over";
	 * a segment before the reference whose number is numerically larger
	 * lies before a rollover, one after it but numerically smaller lies
	 * after the next (the same decision as the RFC's pseudocode, without
	 * its per-segment flag) */
	if (seq_lt(seq, ref) && seq > ref)
		return ref_sne - 1;
	if (seq_geq(seq, ref) && seq < ref)
		return ref_sne + 1;
	return ref_sne;
}

/* ---- the MKT table ---- */

static int key_valid(const struct tcp_ao_key *k)
{
	if (k->alg != TCP_AO_HMAC_SHA1_96 && k->alg != TCP_AO_AES128_CMAC_96)
		return 0;
	if (k->secret_len == 0 || k->secret_len > TCP_AO_MAX_SECRET)
		return 0;
	if (k->family == 0)
		return k->prefix_len == 0;
	if (k->family == 4)
		return k->prefix_len <= 32;
	if (k->family == 6)
		return k->prefix_len <= 128;
	return 0;
}

static int key_matches(const struct tcp_ao_key *k, const struct tcp_endpoint *ep)
{
	if (k->family == 0)
		return 1;
	return k->family == ep->family && tcp_prefix_bits_eq(k->addr, ep->addr, k->prefix_len);
}

/* Some peer matches both MKTs. */
static int keys_overlap(const struct tcp_ao_key *a, const struct tcp_ao_key *b)
{
	if (a->family == 0 || b->family == 0)
		return 1;
	if (a->family != b->family)
		return 0;
	unsigned bits = a->prefix_len < b->prefix_len ? a->prefix_len : b->prefix_len;
	return tcp_prefix_bits_eq(a->addr, b->addr, bits);
}

void tcp_ao_table_free(struct tcp_ao_table *t)
{
	if (t->keys) {
		/* the master keys leave no copy behind in freed memory */
		explicit_bzero(t->keys, t->n * sizeof *t->keys);
		free(t->keys);
	}
	t->keys = NULL;
	t->n = 0;
}

int tcp_ao_keys_check(const struct tcp_ao_key *keys, unsigned n, unsigned *bad, unsigned *clash)
{
	unsigned dummy;
	if (!bad)
		bad = &dummy;
	if (!clash)
		clash = &dummy;
	*bad = *clash = 0;
	if ((n && !keys) || n > TCP_AO_MAX_KEYS)
		return TCP_EINVAL;
	for (unsigned i = 0; i < n; i++) {
		*bad = *clash = i;
		if (!key_valid(&keys[i]))
			return TCP_EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (keys_overlap(&keys[i], &keys[j]) &&
			    (keys[i].send_id == keys[j].send_id || keys[i].recv_id == keys[j].recv_id)) {
				*clash = j;
				return TCP_EINVAL;
			}
	}
	return 0;
}

int tcp_ao_set_keys(struct tcp_stack *s, const struct tcp_ao_key *keys, unsigned n)
{
	if (!s || tcp_ao_keys_check(keys, n, NULL, NULL) != 0)
		return TCP_EINVAL;
	struct tcp_ao_table t = { NULL, n };
	if (n) {
		t.keys = malloc(n * sizeof *t.keys);
		if (!t.keys)
			return TCP_ENOMEM;
		memcpy(t.keys, keys, n * sizeof *t.keys);
	}
	tcp_ao_table_free(&s->ao);
	s->ao = t;
	for (struct tcp_conn *c = s->all; c; c = c->next)
		if (c->ao)
			tcp_ao_conn_refresh(c);
	return 0;
}

int tcp_listener_set_ao(struct tcp_listener *l, int policy)
{
	if (!l || (policy != TCP_AO_OPTIONAL && policy != TCP_AO_REQUIRED))
		return TCP_EINVAL;
	l->ao_policy = policy;
	return 0;
}

/* ---- per connection ---- */

/* tou's pseudoheader and KDF context addresses: zero IPv4 addresses in
 * both directions (docs/PROTOCOL.md "TCP-AO": the daemons may see each
 * other through a NAT; the ports and both ISNs still tell connections and
 * directions apart). */
static const struct tcp_ao_addrs tou_addrs = { 4, { 0 }, { 0 } };

static int mkt_find_recv(const struct tcp_ao_conn *ao, uint8_t keyid)
{
	for (unsigned i = 0; i < ao->n; i++)
		if (ao->mkt[i].key.recv_id == keyid)
			return (int)i;
	return -1;
}

static int mkt_find_send(const struct tcp_ao_conn *ao, uint8_t keyid)
{
	for (unsigned i = 0; i < ao->n; i++)
		if (ao->mkt[i].key.send_id == keyid)
			return (int)i;
	return -1;
}

static int mkt_find_ids(const struct tcp_ao_conn *ao, const struct tcp_ao_key *k)
{
	for (unsigned i = 0; i < ao->n; i++)
		if (ao->mkt[i].key.send_id == k->send_id && ao->mkt[i].key.recv_id == k->recv_id)
			return (int)i;
	return -1;
}

/* The table's MKTs for the peer into ao (at most TCP_AO_CONN_MKTS, the
 * preferred one and `must` - a table index or -1 - always among them). */
static void mkt_collect(struct tcp_ao_conn *ao, const struct tcp_ao_table *t,
			const struct tcp_endpoint *peer, int must)
{
	ao->n = 0;
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned i = 0; i < t->n && ao->n < TCP_AO_CONN_MKTS; i++) {
			const struct tcp_ao_key *k = &t->keys[i];
			int want = pass == 0 ? (int)i == must
				 : pass == 1 ? (k->flags & TCP_AO_KEY_PREFERRED) != 0 : 1;
			if (!want || !key_matches(k, peer) || mkt_find_ids(ao, k) >= 0)
				continue;
			memset(&ao->mkt[ao->n], 0, sizeof ao->mkt[ao->n]);
			ao->mkt[ao->n++].key = *k;
		}
	}
}

/* The MKT we ask the peer for: the preferred one, else `dflt`. */
static unsigned mkt_rnext(const struct tcp_ao_conn *ao, unsigned dflt)
{
	for (unsigned i = 0; i < ao->n; i++)
		if (ao->mkt[i].key.flags & TCP_AO_KEY_PREFERRED)
			return i;
	return dflt;
}

int tcp_ao_conn_active(struct tcp_conn *c, int policy, unsigned key)
{
	struct tcp_stack *s = c->s;
	if (key) {
		if (key > s->ao.n || !key_matches(&s->ao.keys[key - 1], &c->remote))
			return TCP_ENOKEY;
	}
	struct tcp_ao_conn tmp;
	memset(&tmp, 0, sizeof tmp);
	mkt_collect(&tmp, &s->ao, &c->remote, key ? (int)key - 1 : -1);
	if (!tmp.n)
		return policy == TCP_AO_REQUIRED ? TCP_ENOKEY : 0;
	struct tcp_ao_conn *ao = calloc(1, sizeof *ao);
	if (!ao)
		return TCP_ENOMEM;
	*ao = tmp;
	/* RFC 5925 7.5.1 1.a: "If the segment is a SYN, then this is the first
	 * segment of a new connection. Find the matching MKT for this segment,
	 * using the segment's socket pair" - the one named, else the
	 * preferred, else the first */
	ao->current = key ? 0 : mkt_rnext(ao, 0);
	ao->rnext = key ? 0 : ao->current;
	ao->snd_isn = c->iss;
	ao->snd_sne_seq = c->iss;
	c->ao = ao;
	return 0;
}

/* The traffic keys of m for this connection's ISNs (RFC 5925 5.2
 * Send_other_traffic_key, Receive_other_traffic_key). */
static int mkt_keys(const struct tcp_conn *c, struct tcp_ao_mkt *m, uint32_t irs)
{
	if (m->tk_ready && m->tk_irs == irs)
		return 0;
	uint8_t ctx[TCP_AO_MAX_CONTEXT], tk[20];
	size_t cl = tcp_ao_context(ctx, &tou_addrs, c->lport, c->rport, c->iss, irs);
	int kl = tcp_ao_kdf(m->key.alg, m->key.secret, m->key.secret_len, ctx, cl, tk);
	if (kl < 0 || tcp_ao_mac_init(&m->snd, m->key.alg, tk, (size_t)kl) < 0)
		return TCP_EINVAL;
	cl = tcp_ao_context(ctx, &tou_addrs, c->rport, c->lport, irs, c->iss);
	kl = tcp_ao_kdf(m->key.alg, m->key.secret, m->key.secret_len, ctx, cl, tk);
	if (kl < 0 || tcp_ao_mac_init(&m->rcv, m->key.alg, tk, (size_t)kl) < 0)
		return TCP_EINVAL;
	explicit_bzero(tk, sizeof tk);
	m->tk_ready = 1;
	m->tk_irs = irs;
	return 0;
}

/* A SYN's traffic key (RFC 5925 5.2 Send_SYN_traffic_key /
 * Receive_SYN_traffic_key): the sender's ISN, zero for the other. */
static int syn_key(struct tcp_ao_mac *out, const struct tcp_ao_key *k, uint16_t sport,
		   uint16_t dport, uint32_t isn)
{
	uint8_t ctx[TCP_AO_MAX_CONTEXT], tk[20];
	size_t cl = tcp_ao_context(ctx, &tou_addrs, sport, dport, isn, 0);
	int kl = tcp_ao_kdf(k->alg, k->secret, k->secret_len, ctx, cl, tk);
	if (kl < 0)
		return kl;
	int r = tcp_ao_mac_init(out, k->alg, tk, (size_t)kl);
	explicit_bzero(tk, sizeof tk);
	return r;
}

/* The MAC of a received segment equals the one it carries. */
static int mac_ok(const struct tcp_ao_mac *m, const struct tcp_ao_key *k, uint32_t sne,
		  const struct tcp_seg *seg)
{
	const uint8_t *raw = seg->data - seg->hdr_len;
	uint8_t mac[TCP_AO_MAC_LEN];
	if (tcp_ao_mac_seg(m, sne, &tou_addrs, raw, seg->hdr_len + seg->len, seg->ao_off,
			   (k->flags & TCP_AO_KEY_EXCLUDE_OPTIONS) != 0, mac) < 0)
		return 0;
	return memeql_sec(mac, raw + seg->ao_off + 4, TCP_AO_MAC_LEN);
}

int tcp_ao_syn_check(struct tcp_stack *s, const struct tcp_listener *l,
		     const struct tcp_endpoint *from, const struct tcp_seg *seg, int *mkt)
{
	*mkt = -1;
	if (!seg->has_ao) {
		if (l->ao_policy == TCP_AO_REQUIRED) {
			s->st.DropAoMissing++;
			return TCP_ENOKEY;
		}
		return 0; /* TCP_AO_OPTIONAL: a plain TCP connection */
	}
	/* RFC 5925 7.5.2 1.a: "Find the matching MKT for this segment, using
	 * the segment's socket pair and its TCP-AO KeyID, matched against the
	 * MKT's TCP connection identifier and the MKT's RecvID."  A SYN with
	 * TCP-AO that matches no MKT is discarded (the RFC's default accepts
	 * it without TCP-AO, but our SYN,ACK would then carry none and the
	 * peer, which uses TCP-AO, would discard it). */
	int idx = -1;
	for (unsigned i = 0; i < s->ao.n; i++)
		if (s->ao.keys[i].recv_id == seg->ao_keyid && key_matches(&s->ao.keys[i], from)) {
			idx = (int)i;
			break;
		}
	/* "2. Check that the segment's TCP-AO Length matches the length
	 * indicated by the MKT. a. If the lengths differ, silently discard" */
	if (idx < 0 || seg->ao_len != TCP_AO_OPT_LEN) {
		s->st.DropAoNoKey++;
		return TCP_ENOKEY;
	}
	const struct tcp_ao_key *k = &s->ao.keys[idx];
	struct tcp_ao_mac m;
	/* the SNE of a SYN is zero (RFC 5925 6.2: it starts at zero) */
	if (syn_key(&m, k, seg->sport, seg->dport, seg->seq) < 0 || !mac_ok(&m, k, 0, seg)) {
		s->st.DropAoBadMac++;
		return TCP_EMALFORMED;
	}
	*mkt = idx;
	return 0;
}

int tcp_ao_conn_passive(struct tcp_conn *c, int mkt, const struct tcp_seg *syn)
{
	struct tcp_stack *s = c->s;
	if (mkt < 0 || (unsigned)mkt >= s->ao.n)
		return TCP_EINVAL;
	struct tcp_ao_conn *ao = calloc(1, sizeof *ao);
	if (!ao)
		return TCP_ENOMEM;
	mkt_collect(ao, &s->ao, &c->remote, mkt);
	/* the SYN's MKT is mkt[0]; RFC 5925 7.5.2 e.ii: the peer's RNextKeyID
	 * names the MKT to send with when we have it */
	int want = mkt_find_send(ao, syn->ao_rnext);
	ao->current = want >= 0 ? (unsigned)want : 0;
	ao->rnext = mkt_rnext(ao, 0);
	ao->rcv_sne_seq = syn->seq;
	c->ao = ao;
	return 0;
}

int tcp_ao_verify(struct tcp_conn *c, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	struct tcp_ao_conn *ao = c->ao;
	/* RFC 5925 7.5.2 "1. ... b. If the segment is not a SYN, then ...
	 * if there is a TCP-AO option but no MKT ... or an MKT but no TCP-AO,
	 * silently discard" - this connection uses TCP-AO */
	if (!seg->has_ao) {
		s->st.DropAoMissing++;
		return TCP_ENOKEY;
	}
	/* "3. Use the segment's TCP-AO KeyID with the segment's socket pair to
	 * find the matching MKT. a. If there is no matching MKT, silently
	 * discard the segment." - and 2., the length */
	int i = mkt_find_recv(ao, seg->ao_keyid);
	if (i < 0 || seg->ao_len != TCP_AO_OPT_LEN) {
		s->st.DropAoNoKey++;
		return TCP_ENOKEY;
	}
	struct tcp_ao_mkt *m = &ao->mkt[i];
	int ok;
	uint32_t sne = 0;
	if ((seg->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		struct tcp_ao_mac k;
		ok = syn_key(&k, &m->key, seg->sport, seg->dport, seg->seq) == 0 &&
		     mac_ok(&k, &m->key, 0, seg);
	} else if (c->state == TCP_S_SYN_SENT && !(seg->flags & TCP_SYN)) {
		/* the peer's ISN is not known yet: nothing but its SYN,ACK can
		 * be authenticated (RFC 5925 7.7: a reset from an endpoint
		 * without our connection's state is not accepted) */
		ok = 0;
	} else {
		uint32_t irs = c->state == TCP_S_SYN_SENT ? seg->seq : c->irs;
		/* "4. Compute the segment's SNE" (6.2); a SYN,ACK's is zero */
		if (!(seg->flags & TCP_SYN))
			sne = tcp_ao_sne(ao->rcv_sne_seq, ao->rcv_sne, seg->seq);
		/* "5. Calculate the segment's MAC ... a. If the computed MAC
		 * differs from the TCP-AO MAC field value, silently discard the
		 * segment." */
		ok = mkt_keys(c, m, irs) == 0 && mac_ok(&m->rcv, &m->key, sne, seg);
		if (ok && (seg->flags & TCP_SYN))
			ao->rcv_sne_seq = seg->seq;
	}
	if (!ok) {
		s->st.DropAoBadMac++;
		return TCP_EMALFORMED;
	}
	if (!(seg->flags & TCP_SYN) && seq_gt(seg->seq, ao->rcv_sne_seq)) {
		ao->rcv_sne = sne;
		ao->rcv_sne_seq = seg->seq;
	}
	/* "e. ... ii. If they differ, determine whether the RNextKeyID MKT is
	 * ready. 1. If the MKT corresponding to the segment's socket pair and
	 * RNextKeyID is not available, no action is required ... 2. If the
	 * matching MKT ... is available: a. Set current_key to the RNextKeyID
	 * MKT." */
	if (seg->ao_rnext != ao->mkt[ao->current].key.send_id) {
		int want = mkt_find_send(ao, seg->ao_rnext);
		if (want >= 0) {
			ao->current = (unsigned)want;
			s->st.AoKeyChanges++;
			tcp_log(s, TCP_LOG_INFO, "conn %llu: TCP-AO now sends with KeyID %u (the peer's RNextKeyID)",
				(unsigned long long)c->id, (unsigned)seg->ao_rnext);
		}
	}
	return 0;
}

void tcp_ao_fill(const struct tcp_conn *c, struct tcp_seg *seg)
{
	const struct tcp_ao_conn *ao = c->ao;
	seg->has_ao = 1;
	seg->ao_len = TCP_AO_OPT_LEN;
	/* RFC 5925 2.2: "KeyID: ... the MKT used to generate the segment's
	 * MAC"; "RNextKeyID: ... the key that the sender would like to
	 * receive next" (6.1: rnext_key's RecvID) */
	seg->ao_keyid = ao->mkt[ao->current].key.send_id;
	seg->ao_rnext = ao->mkt[ao->rnext].key.recv_id;
}

int tcp_ao_sign(struct tcp_conn *c, uint8_t *out, size_t len)
{
	struct tcp_ao_conn *ao = c->ao;
	struct tcp_ao_mkt *m = &ao->mkt[ao->current];
	const size_t ao_off = TCP_HDR_LEN; /* tcp_seg_build puts TCP-AO first */
	if (len < TCP_HDR_LEN + TCP_AO_OPT_LEN || out[ao_off] != TCP_OPT_AO)
		return TCP_EINVAL;
	uint8_t flags = out[13];
	uint32_t seq = get32(out + 4);
	int excl = (m->key.flags & TCP_AO_KEY_EXCLUDE_OPTIONS) != 0;
	if ((flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		struct tcp_ao_mac k;
		int r = syn_key(&k, &m->key, c->lport, c->rport, c->iss);
		if (r < 0)
			return r;
		return tcp_ao_mac_seg(&k, 0, &tou_addrs, out, len, ao_off, excl, out + ao_off + 4);
	}
	if (ao->snd_isn != c->iss) {
		/* the ISS was chosen after instantiation (passive open) */
		ao->snd_isn = ao->snd_sne_seq = c->iss;
		ao->snd_sne = 0;
	}
	uint32_t sne = 0;
	if (!(flags & TCP_SYN)) {
		sne = tcp_ao_sne(ao->snd_sne_seq, ao->snd_sne, seq);
		if (seq_gt(seq, ao->snd_sne_seq)) {
			ao->snd_sne = sne;
			ao->snd_sne_seq = seq;
		}
	}
	int r = mkt_keys(c, m, c->irs);
	if (r < 0)
		return r;
	return tcp_ao_mac_seg(&m->snd, sne, &tou_addrs, out, len, ao_off, excl, out + ao_off + 4);
}

void tcp_ao_conn_refresh(struct tcp_conn *c)
{
	struct tcp_ao_conn *ao = c->ao;
	struct tcp_ao_conn next = *ao;
	mkt_collect(&next, &c->s->ao, &c->remote, -1);
	/* carry the instantiated MKTs over (their parameters stay as copied,
	 * RFC 5925 3.1), and keep current_key even if the table lost it */
	for (unsigned i = 0; i < next.n; i++) {
		int old = mkt_find_ids(ao, &next.mkt[i].key);
		if (old >= 0)
			next.mkt[i] = ao->mkt[old];
	}
	const struct tcp_ao_mkt *cur = &ao->mkt[ao->current];
	int ci = mkt_find_ids(&next, &cur->key);
	if (ci < 0) {
		if (next.n == TCP_AO_CONN_MKTS)
			next.n--;
		ci = (int)next.n;
		next.mkt[next.n++] = *cur;
		tcp_log(c->s, TCP_LOG_WARNING,
			"conn %llu: TCP-AO keeps sending with KeyID %u, which left the key table",
			(unsigned long long)c->id, (unsigned)cur->key.send_id);
	}
	next.current = (unsigned)ci;
	int ri = mkt_find_ids(&next, &ao->mkt[ao->rnext].key);
	next.rnext = mkt_rnext(&next, ri >= 0 ? (unsigned)ri : next.current);
	*ao = next;
	explicit_bzero(&next, sizeof next);
}

void tcp_ao_conn_free(struct tcp_conn *c)
{
	if (!c->ao)
		return;
	explicit_bzero(c->ao, sizeof *c->ao);
	free(c->ao);
	c->ao = NULL;
}

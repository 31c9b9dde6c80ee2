/*
 * pcap.c - --pcap FILE: every TCP segment sent or received, written as a
 * classic pcap file (LINKTYPE_RAW = 101: each record is an IPv4 or IPv6
 * packet, told apart by its version nibble).  The UDP encapsulation is
 * replaced by a synthetic IP header built from the real UDP addresses, and
 * the TCP checksum (sent as 0 on the wire, docs/DESIGN.md section 3) is computed over
 * the RFC 9293 3.1 pseudo-header, so tshark/Wireshark decode plain TCP.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "toud.h"

#define LINKTYPE_RAW 101
#define SNAPLEN 262144

struct pcap_writer {
	FILE *f;
	uint16_t ip_id;
	int failed;
};

struct pcap_hdr {
	uint32_t magic;
	uint16_t vmaj, vmin;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, network;
};

struct pcap_rec {
	uint32_t ts_sec, ts_usec, incl_len, orig_len;
};

struct pcap_writer *pcap_open(const char *path, char *err, size_t errlen)
{
	struct pcap_writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->f = fopen(path, "wb");
	if (!w->f) {
		snprintf(err, errlen, "%s: %m", path);
		free(w);
		return NULL;
	}
	struct pcap_hdr h = { 0xa1b2c3d4u, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW };
	if (fwrite(&h, sizeof h, 1, w->f) != 1 || fflush(w->f) != 0) {
		snprintf(err, errlen, "%s: %m", path);
		fclose(w->f);
		free(w);
		return NULL;
	}
	return w;
}

/* RFC 1071 one's complement sum */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void pcap_segment(struct pcap_writer *w, int dir_out, const struct tcp_endpoint *peer,
		  const struct sockaddr *local, const uint8_t *seg, size_t len, uint64_t now_us)
{
	(void)now_us;
	if (!w || w->failed || len > 65535 - 40)
		return;
	uint8_t pkt[40 + 65535];
	uint8_t la[16] = { 0 };
	const uint8_t *src, *dst;
	size_t iph;
	if (local->sa_family == AF_INET6)
		memcpy(la, &((const struct sockaddr_in6 *)local)->sin6_addr, 16);
	else
		memcpy(la, &((const struct sockaddr_in *)local)->sin_addr, 4);
	src = dir_out ? la : peer->addr;
	dst = dir_out ? peer->addr : la;
	uint32_t sum = 0;
	if (peer->family == 4) {
		iph = 20;
		uint8_t *ip = pkt;
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + len));
		put16(ip + 4, __atomic_fetch_add(&w->ip_id, 1, __ATOMIC_RELAXED)); /* shards share w */
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = 6; /* TCP */
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		/* RFC 9293 3.1 pseudo-header: src, dst, zero, PTCL, TCP length */
		sum = csum_add(sum, src, 4);
		sum = csum_add(sum, dst, 4);
		sum += 6;
		sum += (uint32_t)len;
	} else {
		iph = 40;
		uint8_t *ip = pkt;
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)len);
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		/* RFC 8200 8.1 pseudo-header */
		sum = csum_add(sum, src, 16);
		sum = csum_add(sum, dst, 16);
		sum += (uint32_t)len;
		sum += 6;
	}
	memcpy(pkt + iph, seg, len);
	if (len >= 20) {
		uint8_t *tcp = pkt + iph;
		tcp[16] = tcp[17] = 0;
		put16(tcp + 16, csum_fold(csum_add(sum, tcp, len)));
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct pcap_rec r = { (uint32_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000), (uint32_t)(iph + len),
			      (uint32_t)(iph + len) };
	flockfile(w->f); /* record header and packet together: shards share the file */
	int bad = fwrite(&r, sizeof r, 1, w->f) != 1 || fwrite(pkt, iph + len, 1, w->f) != 1;
	funlockfile(w->f);
	if (bad) {
		log_err("pcap: write failed: %m; capture stopped");
		w->failed = 1;
	}
}

void pcap_flush(struct pcap_writer *w)
{
	if (w && !w->failed && fflush(w->f) != 0) {
		log_err("pcap: write failed: %m; capture stopped");
		w->failed = 1;
	}
}

void pcap_close(struct pcap_writer *w)
{
	if (!w)
		return;
	fclose(w->f);
	free(w);
}

/* test_pcap.c - the --pcap writer: file header, synthetic IPv4/IPv6
 * headers from the UDP addresses, and a TCP checksum that verifies. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toud.h"
#include "tt.h"


static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Verifies a one's complement sum over pseudo-header + segment is 0xffff. */
static int tcp_csum_ok(const uint8_t *src, const uint8_t *dst, int alen, const uint8_t *seg, size_t len)
{
	uint32_t sum = 0;
	for (int i = 0; i < alen; i += 2)
		sum += rd16(src + i) + rd16(dst + i);
	sum += 6 + (uint32_t)len;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += rd16(seg + i);
	if (len & 1)
		sum += (uint32_t)seg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static size_t read_all(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

TT_TEST(ipv4_and_ipv6_records)
{
	char path[256], err[200];
	const char *dir = getenv("TOU_TEST_TMP");
	snprintf(path, sizeof path, "%s/pcap.%d", dir ? dir : "/tmp", (int)getpid());
	struct pcap_writer *w = pcap_open(path, err, sizeof err);
	TT_ASSERT(w != NULL);
	/* a SYN 40000 -> 7000 with an MSS option, and 3 data bytes (odd length) */
	uint8_t seg[27] = { 0x9c, 0x40, 0x1b, 0x58, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff,
			    0, 0, 0, 0, 2, 4, 0x05, 0xac, 'a', 'b', 'c' };
	struct tcp_endpoint peer4 = { .family = 4, .udp_port = 9811 };
	inet_pton(AF_INET, "192.0.2.7", peer4.addr);
	struct sockaddr_in l4 = { .sin_family = AF_INET, .sin_port = htons(9811) };
	inet_pton(AF_INET, "198.51.100.1", &l4.sin_addr);
	pcap_segment(w, 1, &peer4, (struct sockaddr *)&l4, seg, sizeof seg, 0);
	struct tcp_endpoint peer6 = { .family = 6, .udp_port = 9811 };
	inet_pton(AF_INET6, "2001:db8::7", peer6.addr);
	struct sockaddr_in6 l6 = { .sin6_family = AF_INET6, .sin6_port = htons(9811) };
	inet_pton(AF_INET6, "2001:db8::1", &l6.sin6_addr);
	pcap_segment(w, 0, &peer6, (struct sockaddr *)&l6, seg, sizeof seg, 0);
	pcap_close(w);

	static uint8_t f[4096];
	size_t n = read_all(path, f, sizeof f);
	unlink(path);
	TT_EQ(n, 24 + 16 + 20 + 27 + 16 + 40 + 27);
	uint32_t magic, linktype;
	memcpy(&magic, f, 4);
	memcpy(&linktype, f + 20, 4);
	TT_EQ(magic, 0xa1b2c3d4u);
	TT_EQ(linktype, 101);
	/* record 1: IPv4, outgoing: src = local, dst = peer */
	const uint8_t *r = f + 24;
	uint32_t incl;
	memcpy(&incl, r + 8, 4);
	TT_EQ(incl, 47);
	const uint8_t *ip = r + 16;
	TT_EQ(ip[0], 0x45);
	TT_EQ(rd16(ip + 2), 47);
	TT_EQ(ip[9], 6);
	TT_MEMEQ(ip + 12, &l4.sin_addr, 4);
	TT_MEMEQ(ip + 16, peer4.addr, 4);
	/* IPv4 header checksum verifies */
	uint32_t s = 0;
	for (int i = 0; i < 20; i += 2)
		s += rd16(ip + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	TT_EQ(s, 0xffff);
	TT_ASSERT(tcp_csum_ok(ip + 12, ip + 16, 4, ip + 20, 27));
	TT_MEMEQ(ip + 20, seg, 16); /* segment unchanged except the checksum */
	TT_ASSERT(rd16(ip + 20 + 16) != 0);
	/* record 2: IPv6, incoming: src = peer, dst = local */
	r = f + 24 + 16 + 47;
	ip = r + 16;
	TT_EQ(ip[0] >> 4, 6);
	TT_EQ(rd16(ip + 4), 27);
	TT_EQ(ip[6], 6);
	TT_MEMEQ(ip + 8, peer6.addr, 16);
	TT_MEMEQ(ip + 24, &l6.sin6_addr, 16);
	TT_ASSERT(tcp_csum_ok(ip + 8, ip + 24, 16, ip + 40, 27));
}

TT_TEST(open_failure_is_reported)
{
	char err[200];
	TT_ASSERT(pcap_open("/nonexistent/dir/x.pcap", err, sizeof err) == NULL);
	TT_ASSERT(strstr(err, "/nonexistent/dir/x.pcap") != NULL);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

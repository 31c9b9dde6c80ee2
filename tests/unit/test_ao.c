/*
 * test_ao.c - the TCP Authentication Option (RFC 5925, RFC 5926): the
 * RFC 9235 test vectors (key derivation and MAC, IPv4 and IPv6, both
 * algorithms, options covered and excluded), the SNE (RFC 5925 6.2), and
 * two stacks that authenticate their segments: handshake, transfer, wrong
 * keys, a missing or forged MAC, replays from an earlier connection, key
 * rollover with RNextKeyID, sequence number wrap and a NAT between them.
 */
#include "peer.h"
#include "tcp_ao.h"

/* ---- RFC 9235 ---- */

/* RFC 9235 3: "Master_Key = "testvector"", KeyIDs 61 (client) and 84
 * (server), 10.11.12.13 / fd00::1 (client), 172.27.28.29 / fd00::2
 * (server), port 179.  Each vector: the whole IP packet as printed, the
 * ISN of its sender and of its receiver (zero for a SYN: RFC 5925 5.2),
 * the traffic key and the MAC the RFC gives.  The vectors are checked end
 * to end (the key from the connection parameters, the MAC from the packet
 * bytes), so the RFC's verified errata to its vector sections - which
 * name the traffic keys and parameters - cannot hide behind a label. */
struct vec {
	const char *name;
	int family;
	uint8_t alg;
	int exclude_options;
	uint32_t isn_src, isn_dst;
	const char *packet, *traffic_key, *mac;
};

static const struct vec vectors[] = {
	{ "4.1.1 send SYN", 4, TCP_AO_HMAC_SHA1_96, 0, 0xfbfbab5a, 0x00000000,
	  "45e0004cdd0f4000ff06bf6b0a0b0c0dac1b1c1de9d700b3fbfbab5a00000000"
	  "e002ffffcac40000020405b4010303080402080a00155ab7000000001d103d54"
	  "2ee437c6f8ede6d7c4d602e7",
	  "6d63ef1b02fe1509d4b1402707fd7b0416abb74f",
	  "2ee437c6f8ede6d7c4d602e7" },
	{ "4.1.2 receive SYN-ACK", 4, TCP_AO_HMAC_SHA1_96, 0, 0x11c14261, 0xfbfbab5a,
	  "45e0004c65064000ff063775ac1b1c1d0a0b0c0d00b3e9d711c14261fbfbab5b"
	  "e012ffff37760000020405b4010303080402080a84a50beb00155ab71d10543d"
	  "eeab0fe24c3010815116b3be",
	  "d9e217e4834a80ca2f3fd8de2e41b8e6797fea96",
	  "eeab0fe24c3010815116b3be" },
	{ "4.1.3 send non-SYN", 4, TCP_AO_HMAC_SHA1_96, 0, 0xfbfbab5a, 0x11c14261,
	  "45e0008736a14000ff06659f0a0b0c0dac1b1c1de9d700b3fbfbab5b11c14262"
	  "c0180104a16200000101080a00155ac184a50beb1d103d547064cf998cc6c315"
	  "c2c2e2bfffffffffffffffffffffffffffffffff00430104dabf00b40a0b0c0d"
	  "260206010400010001020280000202020002024200020641040000dabf020840"
	  "06006400010100",
	  "d2e59c65ffc7b1a39347656463b70edc24a13d71",
	  "7064cf998cc6c315c2c2e2bf" },
	{ "4.1.4 receive non-SYN", 4, TCP_AO_HMAC_SHA1_96, 0, 0x11c14261, 0xfbfbab5a,
	  "45e000871fa94000ff067c97ac1b1c1d0a0b0c0d00b3e9d711c14262fbfbab9e"
	  "c0180100400c00000101080a84a50bf500155ac11d10543da63f0ecbbb2e635c"
	  "954deac7ffffffffffffffffffffffffffffffff00430104dac000b4ac1b1c1d"
	  "260206010400010001020280000202020002024200020641040000dac0020840"
	  "06006400010100",
	  "d9e217e4834a80ca2f3fd8de2e41b8e6797fea96",
	  "a63f0ecbbb2e635c954deac7" },
	{ "4.2.1 send SYN", 4, TCP_AO_HMAC_SHA1_96, 1, 0xcb0efbee, 0x00000000,
	  "45e0004c53994000ff0648e20a0b0c0dac1b1c1dff1200b3cb0efbee00000000"
	  "e002ffff541f0000020405b4010303080402080a00024cce000000001d103d54"
	  "80af3cfeb85368937b8f9ec2",
	  "30eaa1560cf0be57dab5c045229fb10a423cd7ea",
	  "80af3cfeb85368937b8f9ec2" },
	{ "4.2.2 receive SYN-ACK", 4, TCP_AO_HMAC_SHA1_96, 1, 0xacd5b5e1, 0xcb0efbee,
	  "45e0004c32844000ff0669f7ac1b1c1d0a0b0c0d00b3ff12acd5b5e1cb0efbef"
	  "e012ffff388e0000020405b4010303080402080a576772f300024cce1d10543d"
	  "09306f9acea63a8c68cb9a70",
	  "b5b2896bb3664e8176b0edc6e799524101a8307f",
	  "09306f9acea63a8c68cb9a70" },
	{ "4.2.3 send non-SYN", 4, TCP_AO_HMAC_SHA1_96, 1, 0xcb0efbee, 0xacd5b5e1,
	  "45e00087a8f54000ff06f34a0a0b0c0dac1b1c1dff1200b3cb0efbefacd5b5e2"
	  "c01801046c4500000101080a00024cce576772f31d103d54710608cc696c03a2"
	  "71c93aa5ffffffffffffffffffffffffffffffff00430104dabf00b40a0b0c0d"
	  "260206010400010001020280000202020002024200020641040000dabf020840"
	  "06006400010100",
	  "f3db1793d7910ecd806c34f155ea1f00345953e3",
	  "710608cc696c03a271c93aa5" },
	{ "4.2.4 receive non-SYN", 4, TCP_AO_HMAC_SHA1_96, 1, 0xacd5b5e1, 0xcb0efbee,
	  "45e0008754374000ff064809ac1b1c1d0a0b0c0d00b3ff12acd5b5e2cb0efc32"
	  "c018010046b600000101080a576772f300024cce1d10543d97766e48ac262de9"
	  "ae61b4f9ffffffffffffffffffffffffffffffff00430104dac000b4ac1b1c1d"
	  "260206010400010001020280000202020002024200020641040000dac0020840"
	  "06006400010100",
	  "b5b2896bb3664e8176b0edc6e799524101a8307f",
	  "97766e48ac262de9ae61b4f9" },
	{ "5.1.1 send SYN", 4, TCP_AO_AES128_CMAC_96, 0, 0x787a1ddf, 0x00000000,
	  "45e0004c7b9f4000ff0620dc0a0b0c0dac1b1c1dc4fa00b3787a1ddf00000000"
	  "e002ffff5a0f0000020405b4010303080402080a00017ed0000000001d103d54"
	  "e477e99c8040765498e55091",
	  "f5b8b3d5f34fdbb6eb8d4ab9660e60e3",
	  "e477e99c8040765498e55091" },
	{ "5.1.2 receive SYN-ACK", 4, TCP_AO_AES128_CMAC_96, 0, 0xfadd6de9, 0x787a1ddf,
	  "45e0004c4bad4000ff0650ceac1b1c1d0a0b0c0d00b3c4fafadd6de9787a1de0"
	  "e012fffff3f20000020405b4010303080402080a93f4e9e800017ed01d10543d"
	  "d6ada7bc4cdd536d1769db5f",
	  "4bc7571a486f3264bbd888474066b4b1",
	  "d6ada7bc4cdd536d1769db5f" },
	{ "5.1.3 send non-SYN", 4, TCP_AO_AES128_CMAC_96, 0, 0x787a1ddf, 0xfadd6de9,
	  "45e00087fb4f4000ff06a0f00a0b0c0dac1b1c1dc4fa00b3787a1de0fadd6dea"
	  "c0180104950500000101080a00017ed093f4e9e81d103d5477412742fa4dc433"
	  "eff0973effffffffffffffffffffffffffffffff00430104dabf00b40a0b0c0d"
	  "260206010400010001020280000202020002024200020641040000dabf020840"
	  "06006400010100",
	  "8c8ae0e8371ec5cbb97ea79d90418391",
	  "77412742fa4dc433eff0973e" },
	{ "5.1.4 receive non-SYN", 4, TCP_AO_AES128_CMAC_96, 0, 0xfadd6de9, 0x787a1ddf,
	  "45e00087b9144000ff06e32bac1b1c1d0a0b0c0d00b3c4fafadd6dea787a1e23"
	  "c0180100e7db00000101080a93f4e9e800017ed01d10543df6d965a78382a748"
	  "45f72dacffffffffffffffffffffffffffffffff00430104dac000b4ac1b1c1d"
	  "260206010400010001020280000202020002024200020641040000dac0020840"
	  "06006400010100",
	  "4bc7571a486f3264bbd888474066b4b1",
	  "f6d965a78382a74845f72dac" },
	{ "5.2.1 send SYN", 4, TCP_AO_AES128_CMAC_96, 1, 0x389bed71, 0x00000000,
	  "45e0004cf22e4000ff06aa4c0a0b0c0dac1b1c1dda1c00b3389bed7100000000"
	  "e002ffff70bf0000020405b4010303080402080a000185e1000000001d103d54"
	  "c44e60cb31f7c0b1de3d2749",
	  "2cdbae1392c49449fa92c4509735d50e",
	  "c44e60cb31f7c0b1de3d2749" },
	{ "5.2.2 receive SYN-ACK", 4, TCP_AO_AES128_CMAC_96, 1, 0xd3844a6f, 0x389bed71,
	  "45e0004c6cc04000ff062fbbac1b1c1d0a0b0c0d00b3da1cd3844a6f389bed72"
	  "e012ffffe4450000020405b4010303080402080ace459838000185e11d10543d"
	  "3a6abb207e49b1be7136db90",
	  "3ce67a551869506b6347b633c50a624a",
	  "3a6abb207e49b1be7136db90" },
	{ "5.2.3 send non-SYN", 4, TCP_AO_AES128_CMAC_96, 1, 0x389bed71, 0xd3844a6f,
	  "45e00087ee914000ff06adae0a0b0c0dac1b1c1dda1c00b3389bed72d3844a70"
	  "c0180104885100000101080a000185e1ce4598381d103d547585e9e9d5c3ec85"
	  "7b96f837ffffffffffffffffffffffffffffffff00430104dabf00b40a0b0c0d"
	  "260206010400010001020280000202020002024200020641040000dabf020840"
	  "06006400010100",
	  "035bc400a341ffe595f59f58005006ca",
	  "7585e9e9d5c3ec857b96f837" },
	{ "5.2.4 receive non-SYN", 4, TCP_AO_AES128_CMAC_96, 1, 0xd3844a6f, 0x389bed71,
	  "45e000876a214000ff06321fac1b1c1d0a0b0c0d00b3da1cd3844a70389bed72"
	  "c0180100044900000101080ace459838000185e11d10543d5c040fd923330476"
	  "5c0982f4ffffffffffffffffffffffffffffffff00430104dac000b4ac1b1c1d"
	  "260206010400010001020280000202020002024200020641040000dac0020840"
	  "06006400010100",
	  "3ce67a551869506b6347b633c50a624a",
	  "5c040fd9233304765c0982f4" },
	{ "6.1.1 send SYN", 6, TCP_AO_HMAC_SHA1_96, 0, 0x176a833f, 0x00000000,
	  "6e0891dc00380640fd000000000000000000000000000001fd00000000000000"
	  "0000000000000002f7e400b3176a833f00000000e002ffff47210000020405a0"
	  "010303080402080a0041d087000000001d103d549033ec3d7334b64c5edd039f",
	  "625ec09d575836edc9b6428418bbf06989a361bb",
	  "9033ec3d7334b64c5edd039f" },
	{ "6.1.2 receive SYN-ACK", 6, TCP_AO_HMAC_SHA1_96, 0, 0x3f51994b, 0x176a833f,
	  "6e01009e00380640fd000000000000000000000000000002fd00000000000000"
	  "000000000000000100b3f7e43f51994b176a8340e012ffffbfec0000020405a0"
	  "010303080402080abd33129b0041d0871d10543df1cba346c3526163f71f1f55",
	  "e4a37ada2a0afca8711434913fe138c771ebcb4a",
	  "f1cba346c3526163f71f1f55" },
	{ "6.1.3 send non-SYN", 6, TCP_AO_HMAC_SHA1_96, 0, 0x176a833f, 0x3f51994b,
	  "6e0891dc00730640fd000000000000000000000000000001fd00000000000000"
	  "0000000000000002f7e400b3176a83403f51994cc0180100329c00000101080a"
	  "0041d091bd33129b1d103d54bf0805feb4ac7b163d6fcdf2ffffffffffffffff"
	  "ffffffffffffffff00430104fde800b401010179260206010400010001020280"
	  "000202020002024200020641040000fde802084006006400010100",
	  "1ed82975f4ea444c61580c5bd90dbd61bbc91b7e",
	  "bf0805feb4ac7b163d6fcdf2" },
	{ "6.1.4 receive non-SYN", 6, TCP_AO_HMAC_SHA1_96, 0, 0x3f51994b, 0x176a833f,
	  "6e01009e00730640fd000000000000000000000000000002fd00000000000000"
	  "000000000000000100b3f7e43f51994c176a8383c0180100ee6e00000101080a"
	  "bd3312a50041d0911d10543d6c48125c11335bab9a07a797ffffffffffffffff"
	  "ffffffffffffffff00430104fde800b40101017a260206010400010001020280"
	  "000202020002024200020641040000fde802084006006400010100",
	  "e4a37ada2a0afca8711434913fe138c771ebcb4a",
	  "6c48125c11335bab9a07a797" },
	{ "6.2.1 send SYN", 6, TCP_AO_HMAC_SHA1_96, 1, 0x020c1e69, 0x00000000,
	  "6e078fcd00380640fd000000000000000000000000000001fd00000000000000"
	  "0000000000000002c6cd00b3020c1e6900000000e002ffffa41a0000020405a0"
	  "010303080402080a009db95b000000001d103d54885698b0530ed4d5a15f8346",
	  "31a3faf69effae52931b7f845467315c270a4edc",
	  "885698b0530ed4d5a15f8346" },
	{ "6.2.2 receive SYN-ACK", 6, TCP_AO_HMAC_SHA1_96, 1, 0xeba3734d, 0x020c1e69,
	  "6e0a7e1f00380640fd000000000000000000000000000002fd00000000000000"
	  "000000000000000100b3c6cdeba3734d020c1e6ae012ffff774d0000020405a0"
	  "010303080402080a5ec99b70009db95b1d10543d3c546bad9743f12df8b8010d",
	  "405108947f996575e7bdbc26d40216a2c7fa91bd",
	  "3c546bad9743f12df8b8010d" },
	{ "6.2.3 send non-SYN", 6, TCP_AO_HMAC_SHA1_96, 1, 0x020c1e69, 0xeba3734d,
	  "6e078fcd00730640fd000000000000000000000000000001fd00000000000000"
	  "0000000000000002c6cd00b3020c1e6aeba3734ec018010083e600000101080a"
	  "009db9655ec99b701d103d5448bd093b1924e001192f5bf0ffffffffffffffff"
	  "ffffffffffffffff00430104fde800b401010179260206010400010001020280"
	  "000202020002024200020641040000fde802084006006400010100",
	  "b34eed6a9396a669f1c4f4f57618f3656f52c7ab",
	  "48bd093b1924e001192f5bf0" },
	{ "6.2.4 receive non-SYN", 6, TCP_AO_HMAC_SHA1_96, 1, 0xeba3734d, 0x020c1e69,
	  "6e0a7e1f00730640fd000000000000000000000000000002fd00000000000000"
	  "000000000000000100b3c6cdeba3734e020c1eadc0180100716a00000101080a"
	  "5ec99b7a009db9651d10543d559a819445b4fde98d9e1317ffffffffffffffff"
	  "ffffffffffffffff00430104fde800b40101017a260206010400010001020280"
	  "000202020002024200020641040000fde802084006006400010100",
	  "405108947f996575e7bdbc26d40216a2c7fa91bd",
	  "559a819445b4fde98d9e1317" },
	{ "7.1.1 send SYN", 6, TCP_AO_AES128_CMAC_96, 0, 0x193cccec, 0x00000000,
	  "6e04a70600380640fd000000000000000000000000000001fd00000000000000"
	  "0000000000000002f85a00b3193cccec00000000e002ffffde5d0000020405a0"
	  "010303080402080a13e4ab99000000001d103d5459b588107481ac6dc3927040",
	  "fa5a2108882d39d0c71929175ab1b7b8",
	  "59b588107481ac6dc3927040" },
	{ "7.1.2 receive SYN-ACK", 6, TCP_AO_AES128_CMAC_96, 0, 0xa6744ecb, 0x193cccec,
	  "6e06152000380640fd000000000000000000000000000002fd00000000000000"
	  "000000000000000100b3f85aa6744ecb193cccede012ffffeabb0000020405a0"
	  "010303080402080a71daabc813e4ab991d10543ddc2843a84e78a6bcfdc5ed80",
	  "cf1b1e225e06a63616764a067b46f4b1",
	  "dc2843a84e78a6bcfdc5ed80" },
	{ "7.1.3 send non-SYN", 6, TCP_AO_AES128_CMAC_96, 0, 0x193cccec, 0xa6744ecb,
	  "6e04a70600730640fd000000000000000000000000000001fd00000000000000"
	  "0000000000000002f85a00b3193ccceda6744eccc0180100328000000101080a"
	  "13e4aba371daabc81d103d547b6a455c0d4f5f01835baab3ffffffffffffffff"
	  "ffffffffffffffff00430104fde800b401010179260206010400010001020280"
	  "000202020002024200020641040000fde802084006006400010100",
	  "6174c3557abed27574dba37185f00300",
	  "7b6a455c0d4f5f01835baab3" },
	{ "7.1.4 receive non-SYN", 6, TCP_AO_AES128_CMAC_96, 0, 0xa6744ecb, 0x193cccec,
	  "6e06152000730640fd000000000000000000000000000002fd00000000000000"
	  "000000000000000100b3f85aa6744ecc193ccd30c018010052f400000101080a"
	  "71daabd313e4aba31d10543dc1069b7dfd3d693a6df3f289ffffffffffffffff"
	  "ffffffffffffffff00430104fde800b40101017a260206010400010001020280"
	  "000202020002024200020641040000fde802084006006400010100",
	  "cf1b1e225e06a63616764a067b46f4b1",
	  "c1069b7dfd3d693a6df3f289" },
	{ "7.2.1 send SYN", 6, TCP_AO_AES128_CMAC_96, 1, 0xb01da74a, 0x00000000,
	  "6e093d7600380640fd000000000000000000000000000001fd00000000000000"
	  "0000000000000002f28800b3b01da74a00000000e002ffff75ff0000020405a0"
	  "010303080402080a14275b3b000000001d103d543d45b4342de8bb1530847898",
	  "a94f511263e4093d35dd818c13bbbf53",
	  "3d45b4342de8bb1530847898" },
	{ "7.2.2 receive SYN-ACK", 6, TCP_AO_AES128_CMAC_96, 1, 0xa6246145, 0xb01da74a,
	  "6e0c600a00380640fd000000000000000000000000000002fd00000000000000"
	  "000000000000000100b3f288a6246145b01da74be012ffffa70c0000020405a0"
	  "010303080402080a1782245b14275b3b1d10543d1d01f6c87c6f93acffa9d4b5",
	  "92dea5bbc78b1d9f5b2952e9cd30642a",
	  "1d01f6c87c6f93acffa9d4b5" },
	{ "7.2.3 send non-SYN", 6, TCP_AO_AES128_CMAC_96, 1, 0xb01da74a, 0xa6246145,
	  "6e093d7600730640fd000000000000000000000000000001fd00000000000000"
	  "0000000000000002f28800b3b01da74ba6246146c0180100c36d00000101080a"
	  "14275b4f1782245b1d103d54290cf414ccb47a333276e7f8ffffffffffffffff"
	  "ffffffffffffffff00430104fde800b401010179260206010400010001020280"
	  "000202020002024200020641040000fde802084006006400010100",
	  "4fb2086e402c679079ed65d4bf97693d",
	  "290cf414ccb47a333276e7f8" },
	{ "7.2.4 receive non-SYN", 6, TCP_AO_AES128_CMAC_96, 1, 0xa6246145, 0xb01da74a,
	  "6e0c600a00730640fd000000000000000000000000000002fd00000000000000"
	  "000000000000000100b3f288a6246146b01da78ec0180100345100000101080a"
	  "1782246514275b4f1d10543d99515ffcd5403499f619fd1bffffffffffffffff"
	  "ffffffffffffffff00430104fde800b40101017a260206010400010001020280"
	  "000202020002024200020641040000fde802084006006400010100",
	  "92dea5bbc78b1d9f5b2952e9cd30642a",
	  "99515ffcd5403499f619fd1b" },
};

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (; h[0] && h[1] && n < cap; h += 2) {
		unsigned v;
		if (sscanf(h, "%2x", &v) != 1)
			return 0;
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* The TCP segment of an IP packet, and the pseudoheader addresses. */
static const uint8_t *ip_payload(const uint8_t *pkt, size_t len, int family,
				 struct tcp_ao_addrs *a, size_t *tlen)
{
	memset(a, 0, sizeof *a);
	a->family = (uint8_t)family;
	size_t hl;
	if (family == 4) {
		hl = (size_t)(pkt[0] & 0x0f) * 4;
		memcpy(a->src, pkt + 12, 4);
		memcpy(a->dst, pkt + 16, 4);
	} else {
		hl = 40;
		memcpy(a->src, pkt + 8, 16);
		memcpy(a->dst, pkt + 24, 16);
	}
	*tlen = len - hl;
	return pkt + hl;
}

static const uint8_t master[] = { 't', 'e', 's', 't', 'v', 'e', 'c', 't', 'o', 'r' };

/* Key derivation, then the MAC of the packet, for one vector. */
static int vector_mac(const struct vec *v, const uint8_t *seg, size_t len, const struct tcp_ao_addrs *a,
		      size_t ao_off, uint8_t tk[20], int *tklen, uint8_t mac[TCP_AO_MAC_LEN])
{
	uint8_t ctx[TCP_AO_MAX_CONTEXT];
	uint16_t sport = (uint16_t)(seg[0] << 8 | seg[1]), dport = (uint16_t)(seg[2] << 8 | seg[3]);
	size_t cl = tcp_ao_context(ctx, a, sport, dport, v->isn_src, v->isn_dst);
	*tklen = tcp_ao_kdf(v->alg, master, sizeof master, ctx, cl, tk);
	struct tcp_ao_mac m;
	if (*tklen < 0 || tcp_ao_mac_init(&m, v->alg, tk, (size_t)*tklen) != 0)
		return -1;
	/* RFC 9235 vectors are the first segments of their connections: SNE 0 */
	return tcp_ao_mac_seg(&m, 0, a, seg, len, ao_off, v->exclude_options, mac);
}

TT_TEST(ao_rfc9235_vectors)
{
	TT_EQ(sizeof vectors / sizeof vectors[0], 32);
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const struct vec *v = &vectors[i];
		uint8_t pkt[512], want_tk[20], want_mac[TCP_AO_MAC_LEN], tk[20], mac[TCP_AO_MAC_LEN];
		size_t plen = unhex(v->packet, pkt, sizeof pkt);
		size_t tkl = unhex(v->traffic_key, want_tk, sizeof want_tk);
		TT_EQ(unhex(v->mac, want_mac, sizeof want_mac), TCP_AO_MAC_LEN);
		struct tcp_ao_addrs a;
		size_t len;
		const uint8_t *seg = ip_payload(pkt, plen, v->family, &a, &len);
		/* the codec finds the option (RFC 5925 2.2: kind 29, length 16) */
		struct tcp_seg s;
		TT_EQ(tcp_seg_parse(&s, seg, len), 0);
		TT_EQ(s.has_ao, 1);
		TT_EQ(s.ao_len, TCP_AO_OPT_LEN);
		TT_EQ(s.ao_keyid, (s.sport == 179) ? 84 : 61);
		TT_EQ(s.ao_rnext, (s.sport == 179) ? 61 : 84);
		TT_MEMEQ(seg + s.ao_off + 4, want_mac, TCP_AO_MAC_LEN);
		int tklen;
		if (vector_mac(v, seg, len, &a, s.ao_off, tk, &tklen, mac) != 0) {
			TT_FAIL_("%s: MAC not computed", v->name);
			return;
		}
		if ((size_t)tklen != tkl || memcmp(tk, want_tk, tkl) != 0) {
			TT_FAIL_("%s: traffic key differs", v->name);
			return;
		}
		if (memcmp(mac, want_mac, sizeof mac) != 0) {
			TT_FAIL_("%s: MAC differs", v->name);
			return;
		}
	}
}

/* The MAC covers what it must and nothing else: any bit of the data or of
 * a covered header field changes it; with options excluded, a change to
 * another option (the timestamp) does not, and the MAC field itself is
 * never read. */
TT_TEST(ao_rfc9235_mac_coverage)
{
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const struct vec *v = &vectors[i];
		uint8_t pkt[512], tk[20], ref[TCP_AO_MAC_LEN], mac[TCP_AO_MAC_LEN];
		size_t plen = unhex(v->packet, pkt, sizeof pkt), len;
		struct tcp_ao_addrs a;
		uint8_t *seg = (uint8_t *)ip_payload(pkt, plen, v->family, &a, &len);
		struct tcp_seg s;
		TT_EQ(tcp_seg_parse(&s, seg, len), 0);
		int tklen;
		TT_EQ(vector_mac(v, seg, len, &a, s.ao_off, tk, &tklen, ref), 0);
		/* the MAC field is treated as zero */
		memset(seg + s.ao_off + 4, 0xa5, TCP_AO_MAC_LEN);
		TT_EQ(vector_mac(v, seg, len, &a, s.ao_off, tk, &tklen, mac), 0);
		TT_MEMEQ(mac, ref, sizeof mac);
		/* the last octet (data, or the MAC-less option for a SYN is at
		 * the end: use the window field then) */
		size_t at = s.len ? len - 1 : 15;
		seg[at] ^= 1;
		TT_EQ(vector_mac(v, seg, len, &a, s.ao_off, tk, &tklen, mac), 0);
		TT_ASSERT(memcmp(mac, ref, sizeof mac) != 0);
		seg[at] ^= 1;
		/* the pseudoheader's source address */
		a.src[0] ^= 1;
		TT_EQ(vector_mac(v, seg, len, &a, s.ao_off, tk, &tklen, mac), 0);
		TT_ASSERT(memcmp(mac, ref, sizeof mac) != 0);
		a.src[0] ^= 1;
		/* the checksum is not covered */
		seg[16] ^= 0xff;
		TT_EQ(vector_mac(v, seg, len, &a, s.ao_off, tk, &tklen, mac), 0);
		TT_MEMEQ(mac, ref, sizeof mac);
		seg[16] ^= 0xff;
		/* TSval (the timestamp option precedes TCP-AO in every vector) */
		TT_ASSERT(s.has_ts);
		size_t ts = 0;
		for (size_t o = TCP_HDR_LEN; o + 1 < s.hdr_len; o++)
			if (seg[o] == TCP_OPT_TS && seg[o + 1] == 10) {
				ts = o + 2;
				break;
			}
		TT_ASSERT(ts != 0);
		seg[ts] ^= 0x80;
		TT_EQ(vector_mac(v, seg, len, &a, s.ao_off, tk, &tklen, mac), 0);
		if (v->exclude_options)
			TT_MEMEQ(mac, ref, sizeof mac);
		else
			TT_ASSERT(memcmp(mac, ref, sizeof mac) != 0);
	}
}

/* RFC 5925 6.2: the SNE follows the rollover of the sequence number. */
TT_TEST(ao_sne)
{
	TT_EQ(tcp_ao_sne(100, 0, 200), 0);
	TT_EQ(tcp_ao_sne(100, 0, 50), 0);
	TT_EQ(tcp_ao_sne(0xfffffff0u, 0, 0x10), 1);           /* past the rollover */
	TT_EQ(tcp_ao_sne(0x10, 1, 0xfffffff0u), 0);           /* before it */
	TT_EQ(tcp_ao_sne(0x10, 1, 0x20), 1);
	TT_EQ(tcp_ao_sne(0x7fffffffu, 3, 0x80000000u), 3);    /* no rollover */
	TT_EQ(tcp_ao_sne(0xc0000000u, 7, 0x3fffffffu), 8);    /* within 2^31 ahead */
}

/* The AO option in the codec: built first, parsed back; a second TCP-AO
 * option or one shorter than 4 octets is malformed. */
TT_TEST(ao_option_codec)
{
	struct tcp_seg s, p;
	memset(&s, 0, sizeof s);
	s.sport = 1;
	s.dport = 2;
	s.flags = TCP_ACK;
	s.has_ao = 1;
	s.ao_len = TCP_AO_OPT_LEN;
	s.ao_keyid = 7;
	s.ao_rnext = 9;
	s.has_ts = 1;
	s.nsack = 4;
	for (int i = 0; i < 4; i++)
		s.sack[i] = (struct tcp_sack_block){ (uint32_t)(1000 * i), (uint32_t)(1000 * i + 10) };
	uint8_t buf[128];
	size_t n = tcp_seg_build(buf, sizeof buf, &s);
	TT_ASSERT(n > 0 && n <= TCP_MAX_HDR_LEN);
	TT_EQ(buf[20], TCP_OPT_AO);
	TT_EQ(buf[21], TCP_AO_OPT_LEN);
	TT_EQ(tcp_seg_parse(&p, buf, n), 0);
	TT_EQ(p.has_ao, 1);
	TT_EQ(p.ao_off, 20);
	TT_EQ(p.ao_keyid, 7);
	TT_EQ(p.ao_rnext, 9);
	TT_EQ(p.has_ts, 1);
	TT_EQ(p.nsack, 1); /* 40 - 16 (AO) - 12 (TS) leaves room for one block */
	uint8_t bad[] = { 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x70, TCP_ACK, 0, 0, 0, 0, 0, 0,
			  29, 4, 1, 1, 29, 4, 1, 1 };
	TT_EQ(tcp_seg_parse(&p, bad, sizeof bad), TCP_EMALFORMED); /* twice */
	bad[21] = 3;
	bad[24] = 1; bad[25] = 1; bad[26] = 1; bad[27] = 0;
	bad[22] = 1; bad[23] = 1;
	TT_EQ(tcp_seg_parse(&p, bad, sizeof bad), TCP_EMALFORMED); /* length 3 */
}

/* ---- two stacks ---- */

static struct tcp_ao_key mkt(uint8_t send_id, uint8_t recv_id, uint8_t alg, const char *secret,
			     uint8_t flags)
{
	struct tcp_ao_key k;
	memset(&k, 0, sizeof k);
	k.send_id = send_id;
	k.recv_id = recv_id;
	k.alg = alg;
	k.flags = flags;
	k.secret_len = (uint8_t)strlen(secret);
	memcpy(k.secret, secret, k.secret_len);
	return k;
}

/* a and b with one MKT each (ids mirrored) for every peer */
static int ao_pair(struct host *a, struct host *b, const struct tcp_config *cfg, uint8_t alg,
		   const char *sa, const char *sb)
{
	if (host_init(a, 1, cfg) || host_init(b, 2, cfg))
		return -1;
	struct tcp_ao_key ka = mkt(1, 2, alg, sa, 0), kb = mkt(2, 1, alg, sb, 0);
	if (tcp_ao_set_keys(a->s, &ka, 1) || tcp_ao_set_keys(b->s, &kb, 1))
		return -2;
	return 0;
}

/* ao_pair() with one secret, then a:40000 -> b:80 through the handshake */
static int ao_connected(struct host *a, struct host *b, const struct tcp_config *cfg, uint8_t alg,
			const char *secret, uint32_t isn_a, uint32_t isn_b, struct tcp_conn **ca,
			struct tcp_conn **cb)
{
	int r = ao_pair(a, b, cfg, alg, secret, secret);
	return r ? r : pair_establish(a, b, isn_a, isn_b, 40000, 80, T0, ca, cb);
}

/* Every segment the test sees carries a TCP-AO option with these ids. */
struct ao_watch {
	unsigned segs, without_ao;
	int corrupt_next;       /* flip one octet of the next data segment */
	unsigned corrupted;
};

static int ao_filter(void *arg, const struct host *from, const uint8_t *buf, size_t len)
{
	struct ao_watch *w = arg;
	struct tcp_seg s;
	(void)from;
	w->segs++;
	if (tcp_seg_parse(&s, buf, len) != 0 || !s.has_ao)
		w->without_ao++;
	if (w->corrupt_next && s.len) {
		/* pair_move hands the same buffer to tcp_input */
		((uint8_t *)buf)[len - 1] ^= 0x40;
		w->corrupt_next = 0;
		w->corrupted++;
	}
	return 0;
}

/* Send n bytes a -> b through pair_run, b reads; returns bytes that
 * arrived equal to what was sent. */
struct xfer {
	struct host *a, *b;
	struct tcp_conn *ca, *cb;
	const uint8_t *data;
	size_t n, sent, got;
	int mismatch;
	void (*midway)(struct xfer *x);
	int midway_done;
};

static int xfer_step(void *arg, tcp_time_t now)
{
	struct xfer *x = arg;
	if (x->sent < x->n) {
		ssize_t r = tcp_send(x->ca, x->data + x->sent, x->n - x->sent, now);
		if (r > 0)
			x->sent += (size_t)r;
	}
	uint8_t buf[4096];
	ssize_t r;
	while ((r = tcp_recv(x->cb, buf, sizeof buf, now)) > 0) {
		if (x->got + (size_t)r > x->n || memcmp(buf, x->data + x->got, (size_t)r) != 0)
			x->mismatch = 1;
		x->got += (size_t)r;
	}
	if (x->midway && !x->midway_done && x->got >= x->n / 2) {
		x->midway_done = 1;
		x->midway(x);
	}
	return x->got >= x->n;
}

static tcp_time_t transfer(struct xfer *x, tcp_time_t now, struct ao_watch *w)
{
	return pair_run(x->a, x->b, now, now + TCP_SEC(600), TCP_MS(5), ao_filter, w, xfer_step, x);
}

static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
	return p;
}

/* n pattern bytes from ca (on a) to cb (on b); x->data is the caller's to
 * free */
static struct xfer xfer_of(struct host *a, struct host *b, struct tcp_conn *ca, struct tcp_conn *cb,
			   size_t n, unsigned seed)
{
	return (struct xfer){ .a = a, .b = b, .ca = ca, .cb = cb, .data = pattern(n, seed), .n = n };
}

static void ao_transfer_with(uint8_t alg, int options)
{
	struct host a, b;
	struct tcp_config cfg;
	peer_plain_config(&cfg);
	if (options) {
		cfg.timestamps = 1;
		cfg.sack = 1;
		cfg.window_scaling = 1;
		cfg.recv_buffer = 65536;
		cfg.send_buffer = 65536;
	}
	struct tcp_conn *ca, *cb;
	TT_EQ(ao_connected(&a, &b, &cfg, alg, "a shared secret", 1000, 5000, &ca, &cb), 0);
	struct tcp_conn_info ia, ib;
	TT_EQ(tcp_conn_info(ca, &ia), 0);
	TT_EQ(tcp_conn_info(cb, &ib), 0);
	TT_EQ(ia.ao, 1);
	TT_EQ(ib.ao, 1);
	TT_EQ(ia.ao_send_id, 1);
	TT_EQ(ib.ao_send_id, 2);
	/* RFC 9293 3.7.1: the send MSS leaves room for the 16 octets of TCP-AO */
	TT_EQ(ia.mss, 1000u - TCP_AO_OPT_LEN - (options ? 12u : 0u));
	struct ao_watch w = { 0 };
	struct xfer x = xfer_of(&a, &b, ca, cb, 200000, alg);
	uint8_t *data = (uint8_t *)x.data;
	transfer(&x, T0, &w);
	TT_EQ(x.got, x.n);
	TT_EQ(x.mismatch, 0);
	TT_ASSERT(w.segs > 100);
	TT_EQ(w.without_ao, 0);
	struct tcp_stats sa = host_stats(&a), sb = host_stats(&b);
	TT_EQ(sa.DropAoBadMac + sb.DropAoBadMac + sa.DropAoMissing + sb.DropAoMissing +
	      sa.DropAoNoKey + sb.DropAoNoKey, 0);
	free(data);
	host_free(&a);
	host_free(&b);
}

TT_TEST(ao_transfer_hmac_sha1)
{
	ao_transfer_with(TCP_AO_HMAC_SHA1_96, 0);
}

TT_TEST(ao_transfer_aes_cmac_with_ts_sack_ws)
{
	ao_transfer_with(TCP_AO_AES128_CMAC_96, 1);
}

/* Different master keys: the SYN fails its MAC, is discarded and
 * counted; no TCB is made and nothing answers it. */
TT_TEST(ao_wrong_key_refused_and_counted)
{
	struct host a, b;
	TT_EQ(ao_pair(&a, &b, NULL, TCP_AO_HMAC_SHA1_96, "secret one", "secret two"), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 8, NULL, &l), 0);
	struct tcp_conn *c;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 40000, NULL, NULL, T0, &c), 0);
	TT_EQ(host_deliver(&a, &b, T0), 1);
	EXPECT_NONE(&b);
	TT_EQ(host_nconns(&b), 0);
	TT_EQ(host_stats(&b).DropAoBadMac, 1);
	/* the retransmitted SYNs fare no better; the open times out */
	host_run_timers(&a, T0 + TCP_SEC(3));
	TT_EQ(host_deliver(&a, &b, T0 + TCP_SEC(3)), 2);
	TT_EQ(host_stats(&b).DropAoBadMac, 3);
	TT_EQ(host_nconns(&b), 0);
	host_free(&a);
	host_free(&b);
}

/* LISTEN with TCP-AO required: a plain SYN is discarded and counted;
 * without a listener policy it makes a plain connection.  A SYN with
 * TCP-AO but a KeyID no MKT has is discarded (DropAoNoKey). */
TT_TEST(ao_required_listener)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct tcp_ao_key kb = mkt(2, 1, TCP_AO_HMAC_SHA1_96, "k", 0);
	TT_EQ(tcp_ao_set_keys(b.s, &kb, 1), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 8, NULL, &l), 0);
	TT_EQ(tcp_listener_set_ao(l, TCP_AO_REQUIRED), 0);
	TT_EQ(tcp_listener_set_ao(l, 7), TCP_EINVAL);
	struct tcp_conn *c;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 40000, NULL, NULL, T0, &c), 0);
	host_deliver(&a, &b, T0);
	EXPECT_NONE(&b);
	TT_EQ(host_stats(&b).DropAoMissing, 1);
	TT_EQ(host_nconns(&b), 0);
	struct tcp_listener_counters lc;
	TT_EQ(tcp_listener_get_counters(l, &lc), 0);
	TT_EQ(lc.ao_dropped, 1); /* the listener's own count (a [service]'s refusals) */
	TT_EQ(lc.denied, 0);
	/* optional: the same SYN makes a plain connection */
	TT_EQ(tcp_listener_set_ao(l, TCP_AO_OPTIONAL), 0);
	host_run_timers(&a, T0 + TCP_SEC(1));
	host_deliver(&a, &b, T0 + TCP_SEC(1));
	EXPECT_SEG(&b, F_SYN | F_ACK, b.isn, a.isn + 1);
	TT_EQ(b.seg.has_ao, 0);
	/* a's MKT has KeyID 9, which b has no RecvID for */
	struct tcp_ao_key ka = mkt(9, 9, TCP_AO_HMAC_SHA1_96, "k", 0);
	TT_EQ(tcp_ao_set_keys(a.s, &ka, 1), 0);
	struct tcp_conn *c2;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 40001, NULL, NULL, T0 + TCP_SEC(2), &c2), 0);
	host_drop_all(&b);
	host_deliver(&a, &b, T0 + TCP_SEC(2));
	EXPECT_NONE(&b);
	TT_EQ(host_stats(&b).DropAoNoKey, 1);
	host_free(&a);
	host_free(&b);
}

/* CONNECT with TCP-AO required and no MKT for the peer fails at once;
 * naming an MKT that does not match the peer fails too. */
TT_TEST(ao_connect_required_without_key)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	static const struct tcp_endpoint far = { 4, { 192, 0, 2, 1 }, 9811 };
	struct tcp_conn_opts o = TCP_CONN_OPTS_DEFAULT;
	o.ao = TCP_AO_REQUIRED;
	struct tcp_conn *c = NULL;
	TT_EQ(tcp_connect(a.s, &far, 80, 0, &o, NULL, T0, &c), TCP_ENOKEY);
	TT_ASSERT(c == NULL);
	TT_EQ(host_nconns(&a), 0);
	EXPECT_NONE(&a);
	struct tcp_ao_key k = mkt(1, 1, TCP_AO_AES128_CMAC_96, "0123456789abcdef", 0);
	k.family = 4;
	k.prefix_len = 24;
	k.addr[0] = 10;
	TT_EQ(tcp_ao_set_keys(a.s, &k, 1), 0);
	o.ao_key = 1;
	TT_EQ(tcp_connect(a.s, &far, 80, 0, &o, NULL, T0, &c), TCP_ENOKEY);
	static const struct tcp_endpoint near = { 4, { 10, 0, 0, 9 }, 9811 };
	TT_EQ(tcp_connect(a.s, &near, 80, 0, &o, NULL, T0, &c), 0);
	EXPECT_SEG(&a, F_SYN, a.isn, 0);
	TT_EQ(a.seg.has_ao, 1);
	TT_EQ(a.seg.ao_keyid, 1);
	host_free(&a);
}

/* The key table refuses what RFC 5925 3.1 forbids and what it cannot use. */
TT_TEST(ao_key_table_validation)
{
	struct host a;
	TT_EQ(host_init(&a, 1, NULL), 0);
	struct tcp_ao_key k[2] = { mkt(1, 2, TCP_AO_HMAC_SHA1_96, "x", 0),
				   mkt(1, 3, TCP_AO_HMAC_SHA1_96, "y", 0) };
	TT_EQ(tcp_ao_set_keys(a.s, k, 2), TCP_EINVAL); /* SendID 1 twice for every peer */
	k[1].family = 4;
	k[1].prefix_len = 8;
	k[1].addr[0] = 10;
	TT_EQ(tcp_ao_set_keys(a.s, k, 2), TCP_EINVAL); /* overlaps "every peer" */
	k[0].family = 4;
	k[0].prefix_len = 8;
	k[0].addr[0] = 11;
	TT_EQ(tcp_ao_set_keys(a.s, k, 2), 0);          /* disjoint prefixes */
	k[0].alg = 3;
	TT_EQ(tcp_ao_set_keys(a.s, k, 2), TCP_EINVAL);
	k[0].alg = TCP_AO_HMAC_SHA1_96;
	k[0].secret_len = 0;
	TT_EQ(tcp_ao_set_keys(a.s, k, 2), TCP_EINVAL);
	k[0].secret_len = 1;
	k[0].prefix_len = 33;
	TT_EQ(tcp_ao_set_keys(a.s, k, 2), TCP_EINVAL);
	TT_EQ(tcp_ao_set_keys(a.s, NULL, 0), 0);
	host_free(&a);
}

/* A segment changed in flight fails its MAC and is discarded (counted);
 * the sender's retransmission brings the real bytes: the receiver's
 * stream stays exact. */
TT_TEST(ao_corruption_never_delivered)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(ao_connected(&a, &b, NULL, TCP_AO_HMAC_SHA1_96, "k1", 1000, 5000, &ca, &cb), 0);
	struct ao_watch w = { 0 };
	w.corrupt_next = 1;
	struct xfer x = xfer_of(&a, &b, ca, cb, 50000, 3);
	uint8_t *data = (uint8_t *)x.data;
	transfer(&x, T0, &w);
	TT_EQ(w.corrupted, 1);
	TT_EQ(x.got, x.n);
	TT_EQ(x.mismatch, 0);
	TT_EQ(host_stats(&b).DropAoBadMac, 1);
	free(data);
	host_free(&a);
	host_free(&b);
}

/* An unsigned RST (or any segment without TCP-AO) does not touch an AO
 * connection: discarded and counted (RFC 5925 7.7). */
TT_TEST(ao_unsigned_rst_ignored)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(ao_connected(&a, &b, NULL, TCP_AO_HMAC_SHA1_96, "k1", 1000, 5000, &ca, &cb), 0);
	struct peer p = PEER(&b, .port = 40000, .seq = 1001, .ack = 5001);
	TT_EQ(peer_send(&p, .flags = F_RST, .now = T0), 0);
	TT_EQ(peer_send(&p, .data = "inject", .now = T0), 0);
	EXPECT_STATE(cb, TCP_S_ESTABLISHED);
	EXPECT_NONE(&b);
	TT_EQ(host_stats(&b).DropAoMissing, 2);
	uint8_t buf[16];
	TT_EQ(tcp_recv(cb, buf, sizeof buf, T0), TCP_EAGAIN);
	host_free(&a);
	host_free(&b);
}

/* A segment of an earlier connection between the same ports, replayed
 * into a new one, fails the MAC: the traffic keys depend on both ISNs
 * (RFC 5925 5.2). */
TT_TEST(ao_replay_from_earlier_connection_dropped)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(ao_connected(&a, &b, NULL, TCP_AO_HMAC_SHA1_96, "k1", 1000, 5000, &ca, &cb), 0);
	TT_EQ(tcp_send(ca, "first", 5, T0), 5);
	TT_EQ(host_pop(&a), 1);
	uint8_t old[256];
	size_t oldlen = a.seglen;
	memcpy(old, a.segbuf, oldlen);
	TT_EQ(host_forward_last(&a, &b, T0), 0);
	/* both sides abort; a new connection on the same ports */
	tcp_abort(ca, T0);
	tcp_abort(cb, T0);
	tcp_release(ca, T0);
	tcp_release(cb, T0);
	host_drop_all(&a);
	host_drop_all(&b);
	struct tcp_conn *c2, *d2;
	a.isn = 1000; /* even the same ISN on a's side: b's differs */
	b.isn = 9000;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 40000, NULL, NULL, T0 + TCP_SEC(1), &c2), 0);
	host_deliver(&a, &b, T0 + TCP_SEC(1));
	host_deliver(&b, &a, T0 + TCP_SEC(1));
	host_deliver(&a, &b, T0 + TCP_SEC(1));
	d2 = b.accepted;
	TT_ASSERT(d2 != NULL);
	uint64_t bad = host_stats(&b).DropAoBadMac;
	TT_EQ(tcp_input(b.s, &a.ep, old, oldlen, T0 + TCP_SEC(1)), 0);
	TT_EQ(host_stats(&b).DropAoBadMac, bad + 1);
	uint8_t buf[16];
	TT_EQ(tcp_recv(d2, buf, sizeof buf, T0 + TCP_SEC(1)), TCP_EAGAIN);
	host_free(&a);
	host_free(&b);
}

/* Key rollover (RFC 5925 6.1, 7.5.2 e): both stacks gain a second MKT in
 * the middle of a transfer and prefer it; each asks the other for it with
 * RNextKeyID and switches current_key when asked.  Nothing is lost. */
static struct host *roll_a, *roll_b;

static void roll_keys(struct xfer *x)
{
	(void)x;
	struct tcp_ao_key ka[2] = { mkt(1, 2, TCP_AO_HMAC_SHA1_96, "old key", 0),
				    mkt(11, 12, TCP_AO_AES128_CMAC_96, "new key", TCP_AO_KEY_PREFERRED) };
	struct tcp_ao_key kb[2] = { mkt(2, 1, TCP_AO_HMAC_SHA1_96, "old key", 0),
				    mkt(12, 11, TCP_AO_AES128_CMAC_96, "new key", TCP_AO_KEY_PREFERRED) };
	if (tcp_ao_set_keys(roll_a->s, ka, 2) || tcp_ao_set_keys(roll_b->s, kb, 2))
		abort();
}

TT_TEST(ao_rollover_during_transfer)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(ao_connected(&a, &b, NULL, TCP_AO_HMAC_SHA1_96, "old key", 1000, 5000, &ca, &cb), 0);
	roll_a = &a;
	roll_b = &b;
	struct ao_watch w = { 0 };
	struct xfer x = xfer_of(&a, &b, ca, cb, 100000, 5);
	uint8_t *data = (uint8_t *)x.data;
	x.midway = roll_keys;
	transfer(&x, T0, &w);
	TT_EQ(x.midway_done, 1);
	TT_EQ(x.got, x.n);
	TT_EQ(x.mismatch, 0);
	struct tcp_conn_info ia, ib;
	TT_EQ(tcp_conn_info(ca, &ia), 0);
	TT_EQ(tcp_conn_info(cb, &ib), 0);
	TT_EQ(ia.ao_send_id, 11);
	TT_EQ(ia.ao_recv_id, 12);
	TT_EQ(ib.ao_send_id, 12);
	TT_EQ(ib.ao_recv_id, 11);
	struct tcp_stats sa = host_stats(&a), sb = host_stats(&b);
	TT_EQ(sa.AoKeyChanges, 1);
	TT_EQ(sb.AoKeyChanges, 1);
	TT_EQ(sa.DropAoBadMac + sb.DropAoBadMac + sa.DropAoNoKey + sb.DropAoNoKey, 0);
	/* the old key leaves the tables: the connection goes on with the new */
	struct tcp_ao_key ka = mkt(11, 12, TCP_AO_AES128_CMAC_96, "new key", TCP_AO_KEY_PREFERRED);
	struct tcp_ao_key kb = mkt(12, 11, TCP_AO_AES128_CMAC_96, "new key", TCP_AO_KEY_PREFERRED);
	TT_EQ(tcp_ao_set_keys(a.s, &ka, 1), 0);
	TT_EQ(tcp_ao_set_keys(b.s, &kb, 1), 0);
	x.got = x.sent = 0;
	x.midway = NULL;
	transfer(&x, T0 + TCP_SEC(100), &w);
	TT_EQ(x.got, x.n);
	TT_EQ(x.mismatch, 0);
	free(data);
	host_free(&a);
	host_free(&b);
}

/* RFC 5925 6.2: across the sequence number rollover the SNE becomes 1 on
 * both sides; every segment still verifies. */
TT_TEST(ao_sequence_number_wrap)
{
	struct host a, b;
	struct tcp_conn *ca, *cb;
	TT_EQ(ao_connected(&a, &b, NULL, TCP_AO_AES128_CMAC_96, "wrap", 0xffff0000u, 0xfffffff0u, &ca, &cb), 0);
	struct ao_watch w = { 0 };
	struct xfer x = xfer_of(&a, &b, ca, cb, 150000, 9);
	uint8_t *data = (uint8_t *)x.data;
	transfer(&x, T0, &w);
	TT_EQ(x.got, x.n);
	TT_EQ(x.mismatch, 0);
	/* and back: b -> a crosses b's rollover at once */
	struct xfer y = { &b, &a, cb, ca, data, 20000, 0, 0, 0, NULL, 0 };
	transfer(&y, T0 + TCP_SEC(50), &w);
	TT_EQ(y.got, y.n);
	TT_EQ(y.mismatch, 0);
	struct tcp_stats sa = host_stats(&a), sb = host_stats(&b);
	TT_EQ(sa.DropAoBadMac + sb.DropAoBadMac, 0);
	/* the MAC of a's next segment, past the rollover, is the one of SNE 1
	 * (recomputed here from the RFC's definitions, not the engine's) */
	host_drop_all(&a);
	TT_EQ(tcp_send(ca, "after", 5, T0 + TCP_SEC(90)), 5);
	TT_EQ(host_pop(&a), 1);
	TT_ASSERT(a.seg.seq < 0x10000000u);
	uint8_t ctx[TCP_AO_MAX_CONTEXT], tk[20], mac[TCP_AO_MAC_LEN];
	struct tcp_ao_addrs zero = { 4, { 0 }, { 0 } };
	size_t cl = tcp_ao_context(ctx, &zero, 40000, 80, 0xffff0000u, 0xfffffff0u);
	int kl = tcp_ao_kdf(TCP_AO_AES128_CMAC_96, (const uint8_t *)"wrap", 4, ctx, cl, tk);
	struct tcp_ao_mac m;
	TT_EQ(tcp_ao_mac_init(&m, TCP_AO_AES128_CMAC_96, tk, (size_t)kl), 0);
	TT_EQ(tcp_ao_mac_seg(&m, 1, &zero, a.segbuf, a.seglen, a.seg.ao_off, 0, mac), 0);
	TT_MEMEQ(mac, a.segbuf + a.seg.ao_off + 4, TCP_AO_MAC_LEN);
	TT_EQ(tcp_ao_mac_seg(&m, 0, &zero, a.segbuf, a.seglen, a.seg.ao_off, 0, mac), 0);
	TT_ASSERT(memcmp(mac, a.segbuf + a.seg.ao_off + 4, TCP_AO_MAC_LEN) != 0);
	free(data);
	host_free(&a);
	host_free(&b);
}

/* A NAT between the daemons: a knows b as 10.0.0.2, b sees a as
 * 198.51.100.7 (and a different UDP port).  The MAC covers zero
 * addresses (docs/PROTOCOL.md), so both ends agree; each MKT is bound to
 * the address its daemon sees. */
static const struct tcp_endpoint NAT_A = { 4, { 198, 51, 100, 7 }, 40123 };

static unsigned nat_move(struct host *from, struct host *to, const struct tcp_endpoint *as,
			 tcp_time_t now)
{
	unsigned n = 0;
	while (from->qlen) {
		struct peer_pkt *p = &from->q[from->qhead];
		from->qhead = (from->qhead + 1) % PEER_QMAX;
		from->qlen--;
		tcp_input(to->s, as, p->buf, p->len, now);
		n++;
	}
	return n;
}

TT_TEST(ao_through_nat)
{
	struct host a, b;
	TT_EQ(host_init(&a, 1, NULL), 0);
	TT_EQ(host_init(&b, 2, NULL), 0);
	struct tcp_ao_key ka = mkt(1, 2, TCP_AO_HMAC_SHA1_96, "nat", 0);
	ka.family = 4;
	ka.prefix_len = 32;
	memcpy(ka.addr, b.ep.addr, 4);
	struct tcp_ao_key kb = mkt(2, 1, TCP_AO_HMAC_SHA1_96, "nat", 0);
	kb.family = 4;
	kb.prefix_len = 24;
	memcpy(kb.addr, NAT_A.addr, 4);
	TT_EQ(tcp_ao_set_keys(a.s, &ka, 1), 0);
	TT_EQ(tcp_ao_set_keys(b.s, &kb, 1), 0);
	struct tcp_listener *l;
	TT_EQ(tcp_listen(b.s, 80, 8, NULL, &l), 0);
	TT_EQ(tcp_listener_set_ao(l, TCP_AO_REQUIRED), 0);
	struct tcp_conn *ca;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 40000, NULL, NULL, T0, &ca), 0);
	tcp_time_t now = T0;
	for (int round = 0; round < 4; round++) {
		nat_move(&a, &b, &NAT_A, now);
		nat_move(&b, &a, &b.ep, now);
	}
	TT_ASSERT(b.accepted != NULL);
	EXPECT_STATE(ca, TCP_S_ESTABLISHED);
	TT_EQ(tcp_send(ca, "through the NAT", 15, now), 15);
	nat_move(&a, &b, &NAT_A, now);
	char buf[32];
	TT_EQ(tcp_recv(b.accepted, buf, sizeof buf, now), 15);
	TT_MEMEQ(buf, "through the NAT", 15);
	struct tcp_stats sb = host_stats(&b);
	TT_EQ(sb.DropAoBadMac + sb.DropAoMissing + sb.DropAoNoKey, 0);
	/* the same SYN from an address outside b's MKT prefix is refused */
	static const struct tcp_endpoint other = { 4, { 203, 0, 113, 1 }, 40123 };
	host_drop_all(&b);
	struct tcp_conn *c2;
	TT_EQ(tcp_connect(a.s, &b.ep, 80, 40001, NULL, NULL, now, &c2), 0);
	nat_move(&a, &b, &other, now);
	EXPECT_NONE(&b);
	TT_EQ(host_stats(&b).DropAoNoKey, 1);
	host_free(&a);
	host_free(&b);
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}

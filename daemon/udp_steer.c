/*
 * udp_steer.c - the steering program of a reuseport group of shards'
 * UDP sockets (docs/DESIGN.md section 5.8): which shard's socket the
 * kernel gives each datagram.
 */
#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "toud.h"
#include "udp_steer.h"

/* Several shards (docs/DESIGN.md section 5.8): the classic BPF program
 * that picks the socket of an SO_REUSEPORT group for each datagram.  For
 * a UDP socket the packet data it reads begins at the UDP payload (the
 * kernel's tools/testing/selftests/net/reuseport_bpf.c reads the payload
 * at offset 0), which is a TCP header here: the shard is
 * (source port ^ destination port) % n, as shard_of_datagram() and the
 * engine's choice of local ports (tcp_stack_set_shard) compute it.  A
 * datagram shorter than 4 bytes stops the program, which then returns 0:
 * shard 0.  Returns 0 or -errno. */
#define STEER_PINNED_MAX 200 /* pinned ports the program tests (a jump spans at most 255) */
int udp_steer_attach(int fd, const struct toud *d)
{
	struct sock_filter code[STEER_PINNED_MAX + 8];
	unsigned k = 0, np = 0;
	uint16_t pinned[STEER_PINNED_MAX];
	for (unsigned p = 0; p < 65536 && np < STEER_PINNED_MAX; p++)
		if (__atomic_load_n(&d->pinned_ports[p >> 3], __ATOMIC_RELAXED) & (1u << (p & 7)))
			pinned[np++] = (uint16_t)p;
	code[k++] = (struct sock_filter){ BPF_LD | BPF_H | BPF_ABS, 0, 0, 2 }; /* A = destination port */
	for (unsigned i = 0; i < np; i++) /* a pinned port: shard 0 (the last instruction) */
		code[k++] = (struct sock_filter){ BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(np - i + 4), 0, pinned[i] };
	code[k++] = (struct sock_filter){ BPF_MISC | BPF_TAX, 0, 0, 0 };               /* X = A */
	code[k++] = (struct sock_filter){ BPF_LD | BPF_H | BPF_ABS, 0, 0, 0 };         /* A = source port */
	code[k++] = (struct sock_filter){ BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0 };        /* A ^= X */
	code[k++] = (struct sock_filter){ BPF_ALU | BPF_MOD | BPF_K, 0, 0, d->n_shards }; /* A %= n */
	code[k++] = (struct sock_filter){ BPF_RET | BPF_A, 0, 0, 0 };                  /* the socket's index */
	code[k++] = (struct sock_filter){ BPF_RET | BPF_K, 0, 0, 0 };                  /* shard 0 */
	struct sock_fprog prog;
	memset(&prog, 0, sizeof prog); /* its padding too (valgrind) */
	prog.len = (unsigned short)k;
	prog.filter = code;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) == 0 ? 0 : -errno;
}

int udp_steer_enabled(void)
{
	const char *steer = getenv("TOUD_STEERING");
	return !(steer && strcmp(steer, "kernel") == 0);
}

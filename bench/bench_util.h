/*
 * bench_util.h - small helpers shared by the bench programs (header only:
 * bench/CMakeLists.txt builds every bench/NAME.c as its own executable).
 *
 * Every program prints its results as one line of "key=value" words that
 * bench/run.sh parses, e.g.
 *   tcp_bulk bytes=1073741824 seconds=0.61 mb_s=1750.3 cpu_s=1.10 cpu_s_per_gb=1.02
 * MB are 10^6 bytes.
 */
#ifndef TOU_BENCH_UTIL_H
#define TOU_BENCH_UTIL_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t bu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bu_die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* "123", "64K", "10M", "1G" (binary multiples) */
static inline uint64_t bu_parse_size(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s) {
		fprintf(stderr, "bench: bad size '%s'\n", s);
		exit(2);
	}
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end) {
		fprintf(stderr, "bench: bad size '%s'\n", s);
		exit(2);
	}
	return v;
}

/* user+system CPU seconds of this process and its waited-for children */
static inline double bu_cpu_self(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec + b.ru_stime.tv_usec) / 1e6;
}

/* user+system CPU seconds of another process from /proc/<pid>/stat
 * (fields 14 and 15, in clock ticks), or -1. */
static inline double bu_cpu_pid(pid_t pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* comm may contain spaces */
	if (!p)
		return -1;
	unsigned long ut = 0, st = 0;
	/* after ") ": state(3) ... utime is field 14 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static inline int bu_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 1 on success, 0 on EOF before len, -1 on error */
static inline int bu_read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

/* Goodput over a fixed time (bench_tcp/bench_tou bulk -t): a child writes
 * WSIZE-byte blocks into WFD without end while this process counts what
 * RFD delivers during SECONDS; then the child is killed.  Returns the bytes
 * read and sets *secs to the time taken (the caller closes both fds). */
static inline uint64_t bu_timed_transfer(int wfd, int rfd, size_t wsize, double seconds, double *secs)
{
	char *buf = malloc(wsize > 65536 ? wsize : 65536);
	if (!buf)
		bu_die("malloc");
	memset(buf, 'x', wsize);
	uint64_t t0 = bu_now_ns(), end = t0 + (uint64_t)(seconds * 1e9), got = 0, now;
	pid_t pid = fork();
	if (pid < 0)
		bu_die("fork");
	if (pid == 0) {
		close(rfd);
		for (;;)
			if (bu_write_all(wfd, buf, wsize) < 0)
				_exit(0);
	}
	while ((now = bu_now_ns()) < end) {
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		int ms = (int)((end - now) / 1000000u) + 1;
		if (poll(&p, 1, ms) <= 0)
			continue;
		ssize_t n = read(rfd, buf, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	*secs = (double)(bu_now_ns() - t0) / 1e9;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(buf);
	return got;
}

static int bu_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Prints "<name> n=.. size=.. rtt_us_p50=.. rtt_us_p99=.. rtt_us_mean=.." */
static inline void bu_print_rtts(const char *name, uint64_t *ns, size_t n, size_t size)
{
	if (n == 0) {
		printf("%s n=0\n", name);
		return;
	}
	qsort(ns, n, sizeof *ns, bu_cmp_u64);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)ns[i];
	printf("%s n=%zu size=%zu rtt_us_p50=%.1f rtt_us_p99=%.1f rtt_us_min=%.1f rtt_us_mean=%.1f\n",
	       name, n, size, (double)ns[n / 2] / 1e3, (double)ns[(n * 99) / 100] / 1e3,
	       (double)ns[0] / 1e3, sum / (double)n / 1e3);
}

#endif

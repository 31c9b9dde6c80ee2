/*
 * shard.c - the engine shards' threads, locks, wake-ups and jobs
 * (shard.h, docs/DESIGN.md section 5.8).
 *
 * A shard's thread does what uv_run(UV_RUN_DEFAULT) would, with the lock
 * held except while it waits: run the jobs posted to it, run the loop
 * once without blocking (callbacks, then the driver's turn from its
 * uv_check), then wait - lock released - for the loop's backend fd (its
 * I/O and timers, uv_backend_timeout()) or the shard's eventfd (a job, or
 * the main thread changed its state under the lock).
 */
#include "shard.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "udp.h"

struct shard_job {
	struct shard_job *next;
	shard_job_fn fn;
	size_t len;
	uint8_t data[];
};

static void drain(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof v) > 0)
		;
}

static void run_jobs(struct shard *sh)
{
	pthread_mutex_lock(&sh->jobs_mu);
	struct shard_job *j = sh->jobs;
	sh->jobs = NULL;
	sh->jobs_tail = &sh->jobs;
	pthread_mutex_unlock(&sh->jobs_mu);
	while (j) {
		struct shard_job *next = j->next;
		j->fn(sh, j->data, j->len);
		free(j);
		j = next;
	}
}

/* Shard 0: its eventfd on the process's loop (the turn follows from the
 * driver's uv_check). */
static void on_kick(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	struct shard *sh = h->data;
	drain(sh->kick_fd);
	run_jobs(sh);
}

int shard_init(struct shard *sh, struct toud *d, unsigned idx)
{
	sh->d = d;
	sh->idx = idx;
	sh->jobs_tail = &sh->jobs;
	sh->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sh->kick_fd < 0)
		return -errno;
	pthread_mutex_init(&sh->mu, NULL);
	pthread_mutex_init(&sh->jobs_mu, NULL);
	if (idx == 0) {
		sh->loop = d->loop;
		int r = uv_poll_init(sh->loop, &sh->kick_h, sh->kick_fd);
		if (r != 0)
			return r;
		sh->kick_h.data = sh;
		sh->kick_h_open = 1;
		return uv_poll_start(&sh->kick_h, UV_READABLE, on_kick);
	}
	sh->loop = &sh->own_loop;
	return uv_loop_init(sh->loop);
}

static void *shard_main(void *arg)
{
	struct shard *sh = arg;
	pthread_mutex_lock(&sh->mu);
	for (;;) {
		run_jobs(sh);
		uv_run(sh->loop, UV_RUN_NOWAIT);
		if (sh->quit && !uv_loop_alive(sh->loop))
			break;
		int timeout = uv_backend_timeout(sh->loop);
		struct pollfd p[2] = { { uv_backend_fd(sh->loop), POLLIN, 0 }, { sh->kick_fd, POLLIN, 0 } };
		pthread_mutex_unlock(&sh->mu);
		if (poll(p, 2, timeout) > 0 && p[1].revents)
			drain(sh->kick_fd);
		pthread_mutex_lock(&sh->mu);
	}
	pthread_mutex_unlock(&sh->mu);
	return NULL;
}

int shard_thread_start(struct shard *sh)
{
	if (sh->idx == 0)
		return 0;
	/* signals are the main thread's (its uv_signal handles) */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	sh->threaded = 1;
	int r = pthread_create(&sh->thread, NULL, shard_main, sh);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		sh->threaded = 0;
		return -r;
	}
	char name[16]; /* what top -H, ps -L and perf show */
	snprintf(name, sizeof name, "toud-shard%u", sh->idx);
	pthread_setname_np(sh->thread, name);
	return 0;
}

void shard_lock(struct shard *sh)
{
	if (sh->threaded)
		pthread_mutex_lock(&sh->mu);
}

void shard_wake(struct shard *sh)
{
	uint64_t one = 1;
	if (write(sh->kick_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("shard %u: wake-up: %s", sh->idx, strerror(errno));
}

void shard_unlock(struct shard *sh)
{
	if (!sh->threaded)
		return;
	pthread_mutex_unlock(&sh->mu);
	shard_wake(sh);
}

int shard_post(struct shard *sh, shard_job_fn fn, const void *data, size_t len)
{
	struct shard_job *j = malloc(sizeof *j + len);
	if (!j)
		return -1;
	j->next = NULL;
	j->fn = fn;
	j->len = len;
	if (len)
		memcpy(j->data, data, len);
	pthread_mutex_lock(&sh->jobs_mu);
	*sh->jobs_tail = j;
	sh->jobs_tail = &j->next;
	pthread_mutex_unlock(&sh->jobs_mu);
	shard_wake(sh);
	return 0;
}

void shard_quit(struct shard *sh)
{
	if (sh->kick_h_open) {
		sh->kick_h_open = 0;
		uv_close((uv_handle_t *)&sh->kick_h, NULL); /* embedded: freed with the shards */
	}
	if (!sh->threaded)
		return;
	pthread_mutex_lock(&sh->mu);
	sh->quit = 1;
	pthread_mutex_unlock(&sh->mu);
	shard_wake(sh);
}

void shard_join(struct shard *sh)
{
	if (!sh->threaded)
		return;
	pthread_join(sh->thread, NULL);
	sh->threaded = 0;
}

void shard_fini(struct shard *sh)
{
	if (sh->idx > 0 && sh->loop == &sh->own_loop) {
		uv_run(sh->loop, UV_RUN_NOWAIT); /* close callbacks still due */
		uv_loop_close(sh->loop);
	}
	struct shard_job *j = sh->jobs;
	while (j) {
		struct shard_job *next = j->next;
		free(j);
		j = next;
	}
	sh->jobs = NULL;
	if (sh->kick_fd >= 0)
		close(sh->kick_fd);
	sh->kick_fd = -1;
	pthread_mutex_destroy(&sh->mu);
	pthread_mutex_destroy(&sh->jobs_mu);
}

void shard_pin_port(struct toud *d, uint16_t port, int on)
{
	if (d->n_shards <= 1)
		return;
	for (unsigned i = 1; i < d->n_shards; i++) {
		struct shard *sh = &d->shards[i];
		shard_lock(sh);
		int r = sh->stack ? tcp_stack_reserve_port(sh->stack, port, on) : 0;
		shard_unlock(sh);
		if (r != 0)
			log_warn("shard %u: cannot reserve port %u: %s; an active open there may pick it", i, port,
				 tcp_strerror(r));
	}
	udp_pin_port(d->shards[0].udp, port, on);
}

unsigned shard_of_ports(const struct toud *d, uint16_t lport, uint16_t rport)
{
	if (d->n_shards <= 1 || __atomic_load_n(&d->pinned_ports[lport >> 3], __ATOMIC_RELAXED) & (1u << (lport & 7)))
		return 0;
	return (unsigned)(lport ^ rport) % d->n_shards;
}

unsigned shard_of_datagram(const struct toud *d, const uint8_t *p, size_t len)
{
	if (d->n_shards <= 1 || len < 4)
		return 0;
	return shard_of_ports(d, (uint16_t)(p[2] << 8 | p[3]), (uint16_t)(p[0] << 8 | p[1]));
}

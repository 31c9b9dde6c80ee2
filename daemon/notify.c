/*
 * notify.c - systemd integration: sd_notify(3) READY/STATUS/STOPPING/
 * RELOADING/WATCHDOG, and socket activation (sd_listen_fds(3)): a passed
 * AF_UNIX stream socket is the API socket, passed UDP sockets replace the
 * configured ones.  Without systemd every call here is a no-op.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "toud.h"

void notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%lu", status, (unsigned long)getpid());
}

void notify_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}

void notify_reloading(void)
{
	/* RELOADING=1 must be followed by READY=1 when done. */
	sd_notify(0, "RELOADING=1");
}

static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

int notify_watchdog_start(uv_loop_t *loop, uv_timer_t *wd_timer)
{
	uint64_t usec = 0;
	int r = sd_watchdog_enabled(0, &usec);
	if (r <= 0 || usec == 0)
		return 0;
	/* sd_watchdog_enabled(3): ping at half the interval. */
	uint64_t ms = usec / 2000;
	if (ms == 0)
		ms = 1;
	uv_timer_init(loop, wd_timer);
	uv_timer_start(wd_timer, on_watchdog, ms, ms);
	uv_unref((uv_handle_t *)wd_timer);
	sd_notify(0, "WATCHDOG=1");
	log_info("systemd watchdog: ping every %llu ms", (unsigned long long)ms);
	return 1;
}

void notify_watchdog_stop(uv_timer_t *wd_timer)
{
	uv_close((uv_handle_t *)wd_timer, NULL);
}

int notify_listen_fds(struct toud *d)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);
	d->api_fd = -1;
	d->n_udp_fds = 0;
	if (n <= 0) {
		if (n < 0)
			log_warn("sd_listen_fds: %s", strerror(-n));
		return 0;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names && names[i] ? names[i] : "";
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0) {
			if (d->api_fd >= 0) {
				log_warn("socket activation: extra AF_UNIX socket fd %d (%s) ignored", fd, name);
				close(fd);
				continue;
			}
			d->api_fd = fd;
			log_info("socket activation: API socket fd %d (%s)", fd, name);
		} else if (sd_is_socket(fd, AF_INET, SOCK_DGRAM, -1) > 0 ||
			   sd_is_socket(fd, AF_INET6, SOCK_DGRAM, -1) > 0) {
			if (d->n_udp_fds >= TOUD_MAX_UDP) {
				close(fd);
				continue;
			}
			d->udp_fds[d->n_udp_fds++] = fd;
			log_info("socket activation: UDP socket fd %d (%s)", fd, name);
		} else {
			log_warn("socket activation: fd %d (%s) is neither an AF_UNIX stream nor a UDP socket; closed",
				 fd, name);
			close(fd);
		}
	}
	if (names) {
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	return n;
}

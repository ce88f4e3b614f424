/* SPDX-License-Identifier: MIT */
/* notify.c: systemd's notification protocol, spoken directly (one datagram
 * per message on $NOTIFY_SOCKET), so hqd needs no libsystemd and runs the
 * same without systemd. READY=1 once every worker is up and the watcher is
 * armed, STATUS= with the queue at each tick, WATCHDOG=1 at each tick only
 * while every worker is alive, STOPPING=1 when the drain starts. Runs in
 * hqd only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/now.h"
#include "common/report.h"
#include "supervisor/sup.h"

void
notify_init(struct sup *s)
{
	const char	*path = getenv("NOTIFY_SOCKET"), *wd;
	size_t		 len;

	s->notify.fd = -1;
	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(s->notify.addr.sun_path))
		return;
	memset(&s->notify.addr, 0, sizeof(s->notify.addr));
	s->notify.addr.sun_family = AF_UNIX;
	memcpy(s->notify.addr.sun_path, path, len);
	if (path[0] == '@')
		s->notify.addr.sun_path[0] = '\0';	/* abstract socket */
	s->notify.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len);
	/* Non-blocking: a listener that stops reading (its queue holds ten
	 * datagrams) must not stop the supervisor's loop in sendto(). */
	if ((s->notify.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		log_warn("NOTIFY_SOCKET: socket");
	/* The watchdog wants a ping at least every WATCHDOG_USEC / 2. */
	if ((wd = getenv("WATCHDOG_USEC")) != NULL &&
	    (s->notify.watchdog_us = strtoull(wd, NULL, 10)) > 0) {
		const char *pid = getenv("WATCHDOG_PID");

		if (pid != NULL && strtol(pid, NULL, 10) != (long)getpid())
			s->notify.watchdog_us = 0;
	}
	/* Children must not talk to systemd in our name. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

void
notify_send(struct sup *s, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;
	int	n;

	if (s->notify.fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(msg))
		return;
	if (sendto(s->notify.fd, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&s->notify.addr, s->notify.len) == -1) {
		/* Full: the listener is behind; this STATUS or WATCHDOG is
		 * dropped and the next tick sends a fresh one. */
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			log_debug("notify systemd: its queue is full, "
			    "message dropped");
		else
			log_warn("notify systemd");
	}
}

/* READY=1 once every worker is up (systemd Type=notify: the unit is
 * started when hqd applies, not when it forks). */
void
notify_ready(struct sup *s)
{
	int	i;

	if (s->notify.ready_sent || s->shutdown.phase != SUP_RUNNING)
		return;
	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].state == WSLOT_EMPTY ||
		    s->slots[i].state == WSLOT_STARTING)
			return;
	s->notify.ready_sent = true;
	log_info("ready: %d workers up in %llu ms", s->nslots,
	    (unsigned long long)(now_mono_ms() - s->started_ms));
	notify_send(s, "READY=1\nSTATUS=ready: %d workers, %s",
	    s->nslots, s->watch.polling ? "polling" : "inotify");
}

/* Each heartbeat tick: STATUS for systemctl status, and the watchdog,
 * fed only while every worker is alive. */
void
notify_tick(struct sup *s, int alive)
{
	struct report_totals	t;

	if (!s->notify.ready_sent || s->shutdown.phase != SUP_RUNNING)
		return;
	report_totals(s->stats.seg, &t);
	notify_send(s, "STATUS=%zu queued, %llu applied, %llu failed, "
	    "%d/%d workers%s", s->idx.nheap, (unsigned long long)t.applied,
	    (unsigned long long)t.failed, alive, s->nslots,
	    s->watch.polling ? ", polling" : "");
	if (s->notify.watchdog_us > 0 && alive == s->nslots)
		notify_send(s, "WATCHDOG=1");
}

void
notify_close(struct sup *s)
{
	if (s->notify.fd != -1)
		close(s->notify.fd);
	s->notify.fd = -1;
}

/* SPDX-License-Identifier: MIT */
/* http.c: hqd --http ADDR:PORT: /metrics, /healthz, /readyz, /stats.json,
 * /events (Server-Sent Events, http_sse.c) and the dashboard, all
 * rendered from the stats segment by common/report.c.
 *
 * libmicrohttpd runs inside the supervisor's libev loop, in MHD's external
 * epoll mode: one ev_io on MHD's epoll fd and one ev_timer for the timeout
 * MHD asks for. No thread: hqd forks workers and takes its signals through
 * libev, and a second thread would need its own signal mask and locks
 * around the segment the loop writes. Every answer is rendered from memory
 * in microseconds; MHD's sockets are non-blocking, so a slow client costs
 * the loop nothing, and the limits below bound what clients can hold.
 * Idle (no connection), MHD asks for no timeout: no wakeups.
 *
 * hqd accepts the connections itself and hands them to MHD
 * (MHD_add_connection), because MHD at its connection limit stops
 * accepting: new clients, a liveness probe among them, would then wait in
 * the kernel's backlog behind whoever holds the table. Here each
 * connection is tracked from accept to close (struct http_conn): one
 * still waiting for its request is closed at HTTP_REQUEST_S (MHD's own
 * timeout restarts at every byte, so a client sending one byte a second
 * never reached it), and when the table or a client address is full the
 * oldest connection that has not sent its request yet makes room for the
 * new one. A probe sends its request at once and is answered in the same
 * turn of the loop, so clients that trickle or stall cannot keep it out;
 * they only push each other out. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "supervisor/mhd.h"

#include "common/log.h"
#include "common/now.h"
#include "common/report.h"
#include "common/xmalloc.h"
#include "supervisor/http.h"
#include "supervisor/sup.h"

static void	http_run(struct http *);

/* The kernel's queue of connections not yet accepted. With more clients
 * than the table holds, those set aside reconnect and wait here; once it
 * is full the kernel drops new SYNs, a probe's too, and the client tries
 * again only after a second. Room for far more than the table (the kernel
 * caps it at net.core.somaxconn, 4096 by default). */
#define HTTP_BACKLOG		1024
/* Connections accepted per wakeup. A connection we shut down stays in
 * MHD's table until its next MHD_run(): MHD's own limits have this much
 * room above ours for them, and accepting pauses when that many wait. */
#define HTTP_ACCEPT_BATCH	16
/* After accept(2) failed for want of descriptors or memory. */
#define HTTP_ACCEPT_PAUSE	1.0
/* At most one log line per this many seconds about clients shut out. */
#define HTTP_REPORT_S		60

extern const unsigned char	hq_dashboard[];
extern const size_t		hq_dashboard_len;

/* --- connections: the request deadline, eviction, per-address limit --- */

static struct http_conn *
http_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo	*ci;

	ci = mhd.MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* At most one line per HTTP_REPORT_S, and only when clients were shut out
 * (a browser's unused preconnection running out of time is no news). */
static void
http_report(struct http *h)
{
	uint64_t	now = now_mono_ms();

	if (h->nevicted + h->nrefused == 0 || (h->report_ms != 0 &&
	    now - h->report_ms < HTTP_REPORT_S * 1000))
		return;
	log_warnx("http: connection table or a client address full: %llu "
	    "connections without a request set aside for newer ones, %llu "
	    "refused, %llu closed for not sending a request within %d s "
	    "(since the last such line)", (unsigned long long)h->nevicted,
	    (unsigned long long)h->nrefused, (unsigned long long)h->nlate,
	    HTTP_REQUEST_S);
	h->nevicted = h->nrefused = h->nlate = 0;
	h->report_ms = now;
}

/* Wake up when the oldest waiting connection's time is up. Connections
 * join h->waiting at its tail with the time of now, so its head is always
 * the first due; if the head leaves first, the timer fires for nothing
 * and is set again. */
static void
http_request_arm(struct http *h)
{
	struct http_conn	*hc = TAILQ_FIRST(&h->waiting);
	uint64_t		 now = now_mono_ms(), due;

	if (hc == NULL || ev_is_active(&h->request_timer))
		return;
	due = hc->since_ms + HTTP_REQUEST_S * 1000;
	ev_timer_set(&h->request_timer, due > now ?
	    (double)(due - now) / 1000.0 : 0.0, 0.0);
	ev_timer_start(h->s->loop, &h->request_timer);
}

static void
http_conn_set(struct http_conn *hc, enum http_conn_state state)
{
	struct http	*h = hc->h;

	if (hc->state == HTTP_CONN_WAITING)
		TAILQ_REMOVE(&h->waiting, hc, queue);
	else if (hc->state == HTTP_CONN_ANSWERING)
		TAILQ_REMOVE(&h->answering, hc, queue);
	hc->state = state;
	hc->since_ms = now_mono_ms();
	if (state == HTTP_CONN_WAITING) {
		TAILQ_INSERT_TAIL(&h->waiting, hc, queue);
		http_request_arm(h);
	} else if (state == HTTP_CONN_ANSWERING)
		TAILQ_INSERT_TAIL(&h->answering, hc, queue);
}

/* shutdown(2), not close: the fd is MHD's. MHD's next read sees the end,
 * and it closes the connection (http_notify_cb then frees hc). */
static void
http_conn_close(struct http_conn *hc, uint64_t *why)
{
	if (hc->state == HTTP_CONN_CLOSING)
		return;
	http_conn_set(hc, HTTP_CONN_CLOSING);
	hc->h->nclosing++;
	(*why)++;
	shutdown(hc->fd, SHUT_RDWR);
	http_report(hc->h);
}

static void
http_request_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct http		*h = container_of(t, struct http,
				    request_timer);
	struct http_conn	*hc;
	uint64_t		 now = now_mono_ms();

	(void)loop;
	(void)revents;
	while ((hc = TAILQ_FIRST(&h->waiting)) != NULL &&
	    hc->since_ms + HTTP_REQUEST_S * 1000 <= now) {
		log_debug("http: no whole request in %d s: closed",
		    HTTP_REQUEST_S);
		http_conn_close(hc, &h->nlate);
	}
	http_request_arm(h);
	http_run(h);
}

/* MHD's end of a request (answer sent, or the connection failed): a
 * kept-alive connection waits for its next request, on a new deadline. */
static void
http_completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_conn	*hc = http_conn_of(c);

	(void)cls;
	(void)con_cls;
	(void)toe;
	if (hc != NULL && hc->state != HTTP_CONN_CLOSING)
		http_conn_set(hc, HTTP_CONN_WAITING);
}

static void
http_notify_cb(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http		*h = cls;
	struct http_conn	*hc;

	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		/* Only hqd adds connections: h->adding is this one. */
		if ((hc = h->adding) == NULL)
			return;
		h->adding = NULL;
		*socket_context = hc;
		TAILQ_INSERT_TAIL(&h->conns, hc, all);
		h->nconns++;
		hc->state = HTTP_CONN_CLOSING;	/* in no queue yet */
		http_conn_set(hc, HTTP_CONN_WAITING);
		return;
	}
	if ((hc = *socket_context) == NULL)
		return;
	*socket_context = NULL;
	if (hc->state == HTTP_CONN_CLOSING)
		h->nclosing--;
	else
		http_conn_set(hc, HTTP_CONN_CLOSING);
	TAILQ_REMOVE(&h->conns, hc, all);
	h->nconns--;
	free(hc);
	/* Accepting paused while too many were closing. */
	if (!h->stopping && h->nclosing < HTTP_ACCEPT_BATCH &&
	    !ev_is_active(&h->accept_io) && !ev_is_active(&h->accept_timer))
		ev_io_start(h->s->loop, &h->accept_io);
}

static bool
http_same_addr(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->
		    sin_addr.s_addr ==
		    ((const struct sockaddr_in *)(const void *)b)->
		    sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->
		    sin6_addr, &((const struct sockaddr_in6 *)(const void *)b)->
		    sin6_addr, sizeof(struct in6_addr)) == 0;
	return true;
}

/* The connection to set aside for a new one (of addr, or anyone's when
 * NULL): the oldest still waiting for its request, else the oldest whose
 * answer is still going out. Never a stream. NULL: none. */
static struct http_conn *
http_oldest(struct http *h, const struct sockaddr_storage *addr)
{
	struct http_conn	*hc;

	TAILQ_FOREACH(hc, &h->waiting, queue)
		if (addr == NULL || http_same_addr(&hc->addr, addr))
			return hc;
	TAILQ_FOREACH(hc, &h->answering, queue)
		if (addr == NULL || http_same_addr(&hc->addr, addr))
			return hc;
	return NULL;
}

/* Room for a new connection from addr: a full address, then a full
 * table, push out their oldest connection without a request. false when
 * there is none to push out. */
static bool
http_make_room(struct http *h, const struct sockaddr_storage *addr)
{
	struct http_conn	*hc, *old;
	int			 n = 0;

	TAILQ_FOREACH(hc, &h->conns, all)
		if (hc->state != HTTP_CONN_CLOSING &&
		    http_same_addr(&hc->addr, addr))
			n++;
	if (n >= HTTP_MAX_PER_ADDR) {
		if ((old = http_oldest(h, addr)) == NULL)
			return false;
		http_conn_close(old, &h->nevicted);
	}
	if (h->nconns - h->nclosing >= HTTP_MAX_CONNECTIONS) {
		if ((old = http_oldest(h, NULL)) == NULL)
			return false;
		http_conn_close(old, &h->nevicted);
	}
	return true;
}

static void
http_admit(struct http *h, int fd, const struct sockaddr_storage *ss,
    socklen_t sslen)
{
	struct http_conn	*hc;

	if (!http_make_room(h, ss)) {
		close(fd);
		h->nrefused++;
		http_report(h);
		return;
	}
	hc = xcalloc(1, sizeof(*hc));
	hc->h = h;
	hc->fd = fd;
	memcpy(&hc->addr, ss, sizeof(hc->addr));
	/* MHD owns fd from here, whatever it answers; http_notify_cb()
	 * takes hc when MHD starts the connection. */
	h->adding = hc;
	mhd.MHD_add_connection(h->d, fd, (const struct sockaddr *)(const void *)
	    &hc->addr, sslen);
	if (h->adding != NULL) {
		h->adding = NULL;
		free(hc);
		h->nrefused++;
	}
}

static void
http_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http		*h = container_of(w, struct http, accept_io);
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, i;

	(void)revents;
	for (i = 0; i < HTTP_ACCEPT_BATCH && h->nclosing < HTTP_ACCEPT_BATCH;
	    i++) {
		sslen = sizeof(ss);
		if ((fd = accept4(h->lfd, (struct sockaddr *)(void *)&ss,
		    &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of descriptors or memory: the listening socket
			 * stays readable, so wait instead of spinning. */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				if (!h->accept_failing)
					log_warn("http: accept (retried every "
					    "%.0f s)", HTTP_ACCEPT_PAUSE);
				h->accept_failing = true;
				ev_io_stop(loop, &h->accept_io);
				ev_timer_set(&h->accept_timer,
				    HTTP_ACCEPT_PAUSE, 0.0);
				ev_timer_start(loop, &h->accept_timer);
			}
			break;
		}
		h->accept_failing = false;
		http_admit(h, fd, &ss, sslen);
	}
	/* Those shut down close in MHD_run(); MHD's limits leave room for
	 * HTTP_ACCEPT_BATCH of them (http_notify_cb() resumes). */
	if (h->nclosing >= HTTP_ACCEPT_BATCH)
		ev_io_stop(loop, &h->accept_io);
	http_run(h);
}

static void
http_accept_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct http	*h = container_of(t, struct http, accept_timer);

	(void)revents;
	if (!h->stopping)
		ev_io_start(loop, &h->accept_io);
}

/* Queue r (with the headers every answer has) and drop our reference. */
static enum MHD_Result
http_send(struct MHD_Connection *c, unsigned status, const char *type,
    struct MHD_Response *r)
{
	enum MHD_Result	ret;

	if (r == NULL)
		return MHD_NO;
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	mhd.MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	ret = mhd.MHD_queue_response(c, status, r);
	mhd.MHD_destroy_response(r);
	return ret;
}

/* Hand a rendered buffer to MHD, which frees it when sent. */
static enum MHD_Result
http_send_pbuf(struct MHD_Connection *c, unsigned status, const char *type,
    struct pbuf *b)
{
	struct MHD_Response	*r;

	r = mhd.MHD_create_response_from_buffer_with_free_callback(b->len,
	    b->data, free);
	if (r == NULL)
		pbuf_free(b);
	return http_send(c, status, type, r);
}

static enum MHD_Result __attribute__((format(printf, 3, 4)))
http_text(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	struct pbuf	b = { 0 };
	char		line[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pbuf_printf(&b, "%s\n", line);
	return http_send_pbuf(c, status, "text/plain; charset=utf-8", &b);
}

static enum MHD_Result
http_readyz(struct http *h, struct MHD_Connection *c)
{
	struct sup	*s = h->s;
	int		 alive = workers_alive(s);
	struct report_sink k;
	char		 why[HQ_SEG_SINK_TEXT + 64];

	if (s->shutdown.phase != SUP_RUNNING)
		return http_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "not ready: draining");
	if (!s->notify.ready_sent)
		return http_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "not ready: starting (%d of %d workers up)", alive,
		    s->nslots);
	if (alive == 0)
		return http_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "not ready: no worker is running");
	/* Entries wait safely in pending/, but a pod that cannot apply
	 * them should not be sent more work. */
	report_sink(s->stats.seg, &k);
	if (report_sink_down(&k, why, sizeof(why)))
		return http_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "not ready: %s", why);
	return http_text(c, MHD_HTTP_OK, "ready: %d of %d workers, %zu queued",
	    alive, s->nslots, s->idx.nheap);
}

static enum MHD_Result
http_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http		*h = cls;
	struct http_conn	*hc = http_conn_of(c);
	struct pbuf		 b = { 0 };
	struct MHD_Response	*r;
	char			 msg[256];
	bool			 head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	/* Nothing here takes a body: drop whatever comes. */
	*upload_data_size = 0;
	/* The request is in: its deadline is met. */
	if (hc != NULL && hc->state == HTTP_CONN_WAITING)
		http_conn_set(hc, HTTP_CONN_ANSWERING);
	if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
		r = mhd.MHD_create_response_from_buffer(20,
		    (void *)(uintptr_t)"method not allowed\n\n",
		    MHD_RESPMEM_PERSISTENT);
		if (r != NULL)
			mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
			    "GET, HEAD");
		return http_send(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "text/plain; charset=utf-8", r);
	}
	if (strcmp(url, "/metrics") == 0) {
		http_refresh(h);
		report_prometheus(&b, h->s->stats.seg, NULL, now_wall_ns());
		return http_send_pbuf(c, MHD_HTTP_OK,
		    "text/plain; version=0.0.4; charset=utf-8", &b);
	}
	if (strcmp(url, "/stats.json") == 0) {
		http_refresh(h);
		report_json(&b, h->s->stats.seg, NULL, now_wall_ns());
		return http_send_pbuf(c, MHD_HTTP_OK, "application/json", &b);
	}
	if (strcmp(url, "/healthz") == 0) {
		bool ok = report_health(h->s->stats.seg, now_mono_ns(), msg,
		    sizeof(msg));

		return http_text(c, ok ? MHD_HTTP_OK :
		    MHD_HTTP_SERVICE_UNAVAILABLE, "%s", msg);
	}
	if (strcmp(url, "/readyz") == 0)
		return http_readyz(h, c);
	if (strcmp(url, "/events") == 0) {
		if (head || h->stopping)
			return http_send(c, MHD_HTTP_OK, "text/event-stream",
			    mhd.MHD_create_response_from_buffer(0, NULL,
			    MHD_RESPMEM_PERSISTENT));
		/* Streams hold their connection for good: half the table
		 * stays for the probes and scrapes. */
		if (h->nstreams >= HTTP_MAX_STREAMS)
			return http_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "too many /events clients (%d): try again later",
			    h->nstreams);
		if (hc != NULL)
			http_conn_set(hc, HTTP_CONN_STREAM);
		if ((r = http_sse_open(h, c)) == NULL)
			return MHD_NO;
		return http_send(c, MHD_HTTP_OK, "text/event-stream", r);
	}
	if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
		r = mhd.MHD_create_response_from_buffer(hq_dashboard_len,
		    (void *)(uintptr_t)hq_dashboard, MHD_RESPMEM_PERSISTENT);
		/* Everything the page needs is inline or from this origin. */
		if (r != NULL)
			mhd.MHD_add_response_header(r, "Content-Security-Policy",
			    "default-src 'none'; script-src 'unsafe-inline'; "
			    "style-src 'unsafe-inline'; connect-src 'self'; "
			    "img-src 'self' data:");
		return http_send(c, MHD_HTTP_OK, "text/html; charset=utf-8", r);
	}
	return http_text(c, MHD_HTTP_NOT_FOUND, "not found: try /, /metrics, "
	    "/healthz, /readyz, /stats.json, /events");
}

/* Let MHD do what is due, then wake again when it says. */
static void
http_run(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG	ms;

	mhd.MHD_run(h->d);
	ev_timer_stop(h->s->loop, &h->mhd_timer);
	if (mhd.MHD_get_timeout(h->d, &ms) == MHD_YES) {
		ev_timer_set(&h->mhd_timer, (double)ms / 1000.0, 0.0);
		ev_timer_start(h->s->loop, &h->mhd_timer);
	}
}

/* Each second while /events streams are open: the next document, and the
 * streams resumed, which in external mode move only in MHD_run. */
static void
http_sse_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct http	*h = container_of(t, struct http, sse_timer);

	(void)loop;
	(void)revents;
	http_sse_tick(h);
	http_run(h);
}

static void
http_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	http_run(container_of(w, struct http, io));
}

static void
http_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	http_run(container_of(t, struct http, mhd_timer));
}

/* MHD's messages are about clients (resets, bad requests): debug only, so
 * a hostile client cannot fill the log. */
static void __attribute__((format(printf, 2, 0)))
http_log(void *cls, const char *fmt, va_list ap)
{
	char	line[512];
	size_t	n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("http: %s", line);
}

/* Our own listening socket: errors name the address, and it is bound
 * before any worker exists. */
static int
http_listen(struct http *h, const char *spec, char *err, size_t errlen)
{
	struct addrinfo		 hints = { 0 }, *res, *ai;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 host[256], port[8], nh[NI_MAXHOST], np[8];
	int			 fd = -1, one = 1, rc, saved = 0;

	if (config_hostport(spec, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		snprintf(err, errlen, "'%s' is not ADDR:PORT", spec);
		return -1;
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		/* A restarted hqd must not wait out TIME_WAIT. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, HTTP_BACKLOG) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", spec, strerror(saved));
		return -1;
	}
	h->lfd = fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, nh, sizeof(nh), np,
	    sizeof(np), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(h->addr, sizeof(h->addr), ss.ss_family == AF_INET6 ?
		    "[%s]:%s" : "%s:%s", nh, np);
	else
		snprintf(h->addr, sizeof(h->addr), "%s", spec);
	return 0;
}

int
http_start(struct sup *s, char *err, size_t errlen)
{
	const union MHD_DaemonInfo	*info;
	struct http			*h;

	if (s->cfg.http == NULL)
		return 0;
	if (mhd_load(err, errlen) == -1)
		return -1;
	h = xcalloc(1, sizeof(*h));
	h->s = s;
	h->lfd = -1;
	if (http_listen(h, s->cfg.http, err, errlen) == -1) {
		free(h);
		return -1;
	}
	TAILQ_INIT(&h->conns);
	TAILQ_INIT(&h->waiting);
	TAILQ_INIT(&h->answering);
	/* hqd accepts (http_accept_cb); MHD's limits are backstops above
	 * hqd's own, with room for connections shut down but not yet
	 * closed. */
	h->d = mhd.MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
	    http_handler, h,
	    MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,	/* must be first */
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)(HTTP_MAX_CONNECTIONS + 2 * HTTP_ACCEPT_BATCH),
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned)(HTTP_MAX_PER_ADDR + 2 * HTTP_ACCEPT_BATCH),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
	    MHD_OPTION_NOTIFY_CONNECTION, http_notify_cb, h,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed_cb, h,
	    MHD_OPTION_END);
	if (h->d == NULL || (info = mhd.MHD_get_daemon_info(h->d,
	    MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		snprintf(err, errlen, "%s: libmicrohttpd failed to start",
		    s->cfg.http);
		if (h->d != NULL)
			mhd.MHD_stop_daemon(h->d);
		close(h->lfd);
		free(h);
		return -1;
	}
	ev_io_init(&h->io, http_io_cb, info->epoll_fd, EV_READ);
	ev_io_start(s->loop, &h->io);
	ev_io_init(&h->accept_io, http_accept_cb, h->lfd, EV_READ);
	ev_io_start(s->loop, &h->accept_io);
	ev_init(&h->mhd_timer, http_timer_cb);
	ev_init(&h->sse_timer, http_sse_cb);
	ev_init(&h->request_timer, http_request_cb);
	ev_init(&h->accept_timer, http_accept_timer_cb);
	s->http = h;
	log_info("http: serving on http://%s/ (/metrics, /healthz, /readyz, "
	    "/stats.json, /events)", h->addr);
	return 0;
}

void
http_stop(struct sup *s)
{
	struct http	*h = s->http;

	if (h == NULL)
		return;
	h->stopping = true;
	http_sse_stop(h);
	mhd.MHD_run(h->d);
	ev_io_stop(s->loop, &h->io);
	ev_io_stop(s->loop, &h->accept_io);
	ev_timer_stop(s->loop, &h->mhd_timer);
	ev_timer_stop(s->loop, &h->sse_timer);
	ev_timer_stop(s->loop, &h->request_timer);
	ev_timer_stop(s->loop, &h->accept_timer);
	/* Closes every connection (each stream's free callback runs, and
	 * http_notify_cb() frees each http_conn). */
	mhd.MHD_stop_daemon(h->d);
	close(h->lfd);
	free(h);
	s->http = NULL;
}

int
http_fds(const struct hq_config *cfg)
{
	if (cfg->http == NULL)
		return 0;
	/* The listening socket, MHD's epoll fd and its inter-thread channel
	 * (an eventfd, or both ends of a pipe), a socket per connection, and
	 * the one MHD accepts past the limit before closing it. */
	return 1 + 1 + 2 + HTTP_MAX_CONNECTIONS + 1;
}

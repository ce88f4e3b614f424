/* SPDX-License-Identifier: MIT */
/* http_sse.c: GET /events, Server-Sent Events. The streams share one
 * rendered document a second (reference-counted, rendered only while a
 * stream is open); a stream is suspended in MHD between documents and
 * resumed by the tick, and cut when its client stops reading. Runs in
 * hqd only, inside http.c's server, below it: http.c answers the request
 * (the stream limit, the connection's state) and runs the timer, this
 * file makes the streams and their documents and calls nothing of
 * http.c's. http_refresh is here, as the documents need it too. */
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/now.h"
#include "common/pbuf.h"
#include "common/xmalloc.h"
#include "supervisor/http.h"

/* /events: one document per second; the client reconnects after 1 s. A
 * stream whose socket still holds unsent bytes at this many ticks in a row
 * has a client that stopped reading: it is cut (MHD's inactivity timeout
 * does not see it, as each new document counts as activity). */
#define HTTP_SSE_INTERVAL	1.0
#define HTTP_SSE_MAX_LAG	5

/* One rendered /events message, shared by every stream sending it. */
struct sse_doc {
	unsigned	refs;
	size_t		len;
	char		data[];
};

/* One /events client. */
struct sse {
	struct http		*h;
	struct MHD_Connection	*conn;
	struct sse		*next, *prev;
	struct sse_doc		*doc;		/* being sent, NULL: none */
	size_t			 off;
	uint64_t		 sent_gen;	/* last document started */
	int			 lag;		/* ticks with bytes unsent */
	bool			 suspended;
};

/* Gauges as of now. The oldest-pending walk is O(queue): at most once a
 * second however many clients ask. */
void
http_refresh(struct http *h)
{
	uint64_t	now = now_mono_ms();

	stats_gauges(h->s);
	if (now - h->oldest_ms >= 1000) {
		stats_oldest(h->s);
		h->oldest_ms = now;
	}
}

static void
http_doc_unref(struct sse_doc *d)
{
	if (d != NULL && --d->refs == 0)
		free(d);
}

/* The next /events message: the heartbeat document plus the window since
 * the previous message. */
static void
http_sse_render(struct http *h)
{
	struct report_totals	 t;
	struct pbuf		 b = { 0 };
	struct sse_doc		*d;
	uint64_t		 now = now_mono_ns();

	http_refresh(h);
	report_totals(h->s->stats.seg, &t);
	pbuf_printf(&b, "retry: 1000\ndata: ");
	report_json(&b, h->s->stats.seg, NULL, now_wall_ns());
	/* Reopen the document ("...}\n") to add the window. */
	while (b.len > 0 && b.data[b.len - 1] == '\n')
		b.len--;
	if (b.len > 0 && b.data[b.len - 1] == '}')
		b.len--;
	report_window(&b, h->prev_ns ? &h->prev : &t, &t,
	    h->prev_ns ? (double)(now - h->prev_ns) / 1e9 : 0.0);
	pbuf_printf(&b, "}\n\n");
	h->prev = t;
	h->prev_ns = now;

	d = xmalloc(sizeof(*d) + b.len);
	d->refs = 1;
	d->len = b.len;
	memcpy(d->data, b.data, b.len);
	pbuf_free(&b);
	http_doc_unref(h->doc);
	h->doc = d;
	h->gen++;
}

/* A client that does not read: its socket's send queue stays non-empty.
 * shutdown() (not close: the fd is MHD's) makes MHD's next write fail, and
 * MHD closes the connection and frees the stream. */
static void
http_sse_lag(struct sse *st)
{
	const union MHD_ConnectionInfo	*ci;
	int				 unsent = 0;

	ci = mhd.MHD_get_connection_info(st->conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || ioctl(ci->connect_fd, SIOCOUTQ, &unsent) == -1)
		return;
	st->lag = unsent > 0 || st->doc != NULL ? st->lag + 1 : 0;
	if (st->lag == HTTP_SSE_MAX_LAG) {
		log_debug("http: /events client stopped reading (%d bytes "
		    "unsent): closed", unsent);
		shutdown(ci->connect_fd, SHUT_RDWR);
	}
}

void
http_sse_tick(struct http *h)
{
	struct sse	*st;

	http_sse_render(h);
	for (st = h->streams; st != NULL; st = st->next) {
		http_sse_lag(st);
		if (st->suspended) {
			st->suspended = false;
			mhd.MHD_resume_connection(st->conn);
		}
	}
}

/* MHD asks for body bytes when the client's socket has room: a stalled
 * client is never asked, so it holds at most its kernel buffer and MHD's
 * pool, and times out. Between documents the stream is suspended (no
 * polling, no timeout) until the next tick resumes it. */
static ssize_t
http_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse	*st = cls;
	struct http	*h = st->h;
	size_t		 n;

	(void)pos;
	if (h->stopping)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (st->doc == NULL) {
		if (h->doc == NULL || st->sent_gen == h->gen) {
			st->suspended = true;
			mhd.MHD_suspend_connection(st->conn);
			return 0;
		}
		st->doc = h->doc;
		st->doc->refs++;
		st->off = 0;
		st->sent_gen = h->gen;
	}
	n = st->doc->len - st->off;
	if (n > max)
		n = max;
	memcpy(buf, st->doc->data + st->off, n);
	st->off += n;
	if (st->off == st->doc->len) {
		http_doc_unref(st->doc);
		st->doc = NULL;
	}
	return (ssize_t)n;
}

static void
http_sse_free(void *cls)
{
	struct sse	*st = cls;
	struct http	*h = st->h;

	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		h->streams = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	http_doc_unref(st->doc);
	free(st);
	if (--h->nstreams == 0) {
		ev_timer_stop(h->s->loop, &h->sse_timer);
		h->prev_ns = 0;
	}
}

struct MHD_Response *
http_sse_open(struct http *h, struct MHD_Connection *c)
{
	struct MHD_Response	*r;
	struct sse		*st;

	st = xcalloc(1, sizeof(*st));
	st->h = h;
	st->conn = c;
	st->next = h->streams;
	if (h->streams != NULL)
		h->streams->prev = st;
	h->streams = st;
	if (h->nstreams++ == 0) {
		/* The first client gets a fresh document at once. */
		http_sse_render(h);
		ev_timer_set(&h->sse_timer, HTTP_SSE_INTERVAL,
		    HTTP_SSE_INTERVAL);
		ev_timer_start(h->s->loop, &h->sse_timer);
	}
	/* From here the free callback owns st, whatever happens. */
	r = mhd.MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    http_sse_read, st, http_sse_free);
	if (r == NULL) {
		http_sse_free(st);
		return NULL;
	}
	mhd.MHD_add_response_header(r, "X-Accel-Buffering", "no");
	return r;
}

void
http_sse_stop(struct http *h)
{
	struct sse	*st;

	/* Resumed, a stream's reader returns the end of the stream; each
	 * stream holds its own reference to the document it is sending. */
	for (st = h->streams; st != NULL; st = st->next)
		if (st->suspended) {
			st->suspended = false;
			mhd.MHD_resume_connection(st->conn);
		}
	http_doc_unref(h->doc);
	h->doc = NULL;
}

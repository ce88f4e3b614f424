/* SPDX-License-Identifier: MIT */
/* http.h: what http.c (the server, its connections) and http_sse.c (the
 * /events streams) share. Not for the rest of the supervisor: sup.h has
 * http_start(), http_stop() and http_fds(). */
#ifndef HQ_SUPERVISOR_HTTP_H
#define HQ_SUPERVISOR_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "supervisor/mhd.h"

#include "common/report.h"
#include "supervisor/sup.h"

/* Bounds on what clients can hold (docs/operations.md): connections in
 * all (stalled ones included) and from one client address, /events
 * streams (at most half the table: the rest stays for short requests),
 * MHD's per-connection buffer pool, the time a request has to arrive
 * whole (from the connection's start, or from the previous answer on a
 * kept-alive one), and the inactivity timeout that closes a stalled
 * answer. */
#define HTTP_MAX_CONNECTIONS	128
#define HTTP_MAX_PER_ADDR	32
#define HTTP_MAX_STREAMS	(HTTP_MAX_CONNECTIONS / 2)
#define HTTP_CONN_MEMORY	(32 * 1024)
#define HTTP_REQUEST_S		5
#define HTTP_TIMEOUT_S		10

/* One client connection, accept to close. The socket is MHD's; hqd only
 * ever shutdown(2)s it, and MHD closes it and tells http_notify_cb(). */
enum http_conn_state {
	HTTP_CONN_WAITING,	/* for a request: new, or kept alive after one */
	HTTP_CONN_ANSWERING,	/* its request is in, the answer is going */
	HTTP_CONN_STREAM,	/* /events (the lag rule watches it) */
	HTTP_CONN_CLOSING,	/* shut down by hqd, MHD has yet to notice */
};

struct http_conn {
	struct http		*h;
	TAILQ_ENTRY(http_conn)	 all;		/* h->conns */
	TAILQ_ENTRY(http_conn)	 queue;		/* h->waiting, h->answering */
	enum http_conn_state	 state;
	uint64_t		 since_ms;	/* monotonic: state entered */
	int			 fd;		/* MHD's */
	struct sockaddr_storage	 addr;		/* the client's */
};

TAILQ_HEAD(http_conns, http_conn);

struct sse;
struct sse_doc;

struct http {
	struct sup		*s;
	struct MHD_Daemon	*d;
	int			 lfd;
	ev_io			 io;		/* MHD's epoll fd */
	ev_io			 accept_io;	/* lfd */
	ev_timer		 mhd_timer;	/* MHD's own timeouts */
	ev_timer		 sse_timer;	/* runs only while streams */
	ev_timer		 request_timer;	/* the oldest waiting's deadline */
	ev_timer		 accept_timer;	/* accept paused (no fds) */
	struct http_conns	 conns;		/* every connection */
	struct http_conns	 waiting;	/* oldest first */
	struct http_conns	 answering;	/* oldest first */
	struct http_conn	*adding;	/* in MHD_add_connection() */
	int			 nconns;	/* in conns, closing ones too */
	int			 nclosing;
	uint64_t		 nlate, nevicted, nrefused;	/* unreported */
	uint64_t		 report_ms;	/* last line about them */
	bool			 accept_failing; /* logged once */
	struct sse		*streams;
	int			 nstreams;
	struct sse_doc		*doc;		/* latest /events message */
	uint64_t		 gen;		/* its generation, from 1 */
	struct report_totals	 prev;		/* for the window */
	uint64_t		 prev_ns;	/* monotonic, 0: none */
	uint64_t		 oldest_ms;	/* last stats_oldest() */
	bool			 stopping;
	char			 addr[128];	/* as bound, for the log */
};

/* http_sse.c (http.c calls it, never the reverse) */
/* The supervisor's gauges as of now (the oldest-pending walk at most once
 * a second), for every document the server renders. */
void		http_refresh(struct http *);
/* A stream for GET /events on c: its response, or NULL (no memory). The
 * first stream renders a document at once and starts h->sse_timer. */
struct MHD_Response *http_sse_open(struct http *, struct MHD_Connection *c);
/* Each second while streams are open: the next document, streams whose
 * client stopped reading cut, suspended ones resumed (then MHD_run). */
void		http_sse_tick(struct http *);
/* With h->stopping set: every stream ends at its next read. */
void		http_sse_stop(struct http *);

#endif

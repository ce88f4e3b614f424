/* SPDX-License-Identifier: MIT */
/* mhd.h: libmicrohttpd, loaded when --http asks for it and not before.
 * hqd is also the workers' program (`hqd -W`): linked against
 * libmicrohttpd, every worker and an hqd without --http would load it and
 * what it needs (gnutls, p11-kit, nettle, gmp, ...) at each exec: ~2.3 MiB
 * of resident pages and ~5 ms of relocation and constructors per process
 * (docs/performance.md, "Start-up and memory"). The supervisor calls MHD
 * through this table only; the types and constants still come from the
 * header, so a mismatch is a compile error, not a crash. */
#ifndef HQ_MHD_H
#define HQ_MHD_H

#include <stddef.h>

#include <microhttpd.h>

#define HQ_MHD_FUNCS(X)						\
	X(MHD_add_connection)					\
	X(MHD_add_response_header)				\
	X(MHD_create_response_from_buffer)			\
	X(MHD_create_response_from_buffer_with_free_callback)	\
	X(MHD_create_response_from_callback)			\
	X(MHD_destroy_response)					\
	X(MHD_get_connection_info)				\
	X(MHD_get_daemon_info)					\
	X(MHD_get_timeout)					\
	X(MHD_queue_response)					\
	X(MHD_resume_connection)				\
	X(MHD_run)						\
	X(MHD_start_daemon)					\
	X(MHD_stop_daemon)					\
	X(MHD_suspend_connection)

struct hq_mhd {
#define HQ_MHD_MEMBER(f)	__typeof__(f) *f;
	HQ_MHD_FUNCS(HQ_MHD_MEMBER)
#undef HQ_MHD_MEMBER
};

/* Filled by mhd_load(); read-only after. */
extern struct hq_mhd mhd;

/* Load the library (once; later calls return at once). 0, or -1 with
 * what failed in err. */
int	mhd_load(char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dqlite: the dqlite response decoder (worker/dqwire.c) on arbitrary
 * bytes, read as the client reads its socket: messages of a header and a
 * body, the ROWS ones gathered into one result set as the parts of a
 * query are. Each body is also decoded as every other type, in a query's
 * context and outside one. Decoded values must lie inside their body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/dqwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_rows(const struct dq_rows *rows, const uint8_t *data, size_t size)
{
	const struct dq_value	*v;
	const char		*lo = (const char *)data, *hi = lo + size;
	size_t			 i;

	/* Every value took at least one word of the input. */
	if (rows->nrows != 0 && rows->nrows * rows->ncols > size / DQ_WORD)
		__builtin_trap();
	for (i = 0; i < rows->nrows * rows->ncols; i++) {
		v = &rows->vals[i];
		if ((v->type == DQ_TEXT || v->type == DQ_BLOB) && v->len > 0 &&
		    (v->p < lo || v->p + v->len > hi))
			__builtin_trap();
		if (v->type == DQ_TEXT && (v->p[v->len] != '\0' ||
		    strlen(v->p) != v->len))
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dq_rows	 rows = { 0 }, other;
	struct dq_resp	 r;
	struct dq_hdr	 h;
	char		 err[256];
	size_t		 off = 0, len;
	uint8_t		 t;

	while (size - off >= DQ_HDR) {
		if (dq_hdr_decode(data + off, &h) == -1)
			break;
		off += DQ_HDR;
		len = (size_t)h.words * DQ_WORD;
		if (len > size - off)
			len = (size - off) / DQ_WORD * DQ_WORD;
		if (dq_resp_decode(h.type, data + off, len, &r, &rows, err,
		    sizeof(err)) == 0) {
			check_rows(&rows, data, size);
			if (h.type != DQ_RESP_ROWS || !r.more)
				dq_rows_free(&rows);
		} else
			dq_rows_free(&rows);
		for (t = 0; t < DQ_RESP_MAX_ + 1; t++) {
			memset(&other, 0, sizeof(other));
			if (dq_resp_decode(t, data + off, len, &r, &other, err,
			    sizeof(err)) == 0)
				check_rows(&other, data, size);
			dq_rows_free(&other);
			(void)dq_resp_decode(t, data + off, len, &r, NULL, err,
			    sizeof(err));
		}
		off += len;
	}
	dq_rows_free(&rows);
	return 0;
}

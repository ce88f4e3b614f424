/* SPDX-License-Identifier: MIT */
/* fuzz_entry: an entry reader on arbitrary bytes. Built twice (see
 * CMakeLists.txt): fuzz_entry_json and fuzz_entry_msgpack, the format
 * given as HQ_FUZZ_FORMAT. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entry	e;
	char		err[256];

	if (entry_decode(HQ_FUZZ_FORMAT, (const char *)data, size, &e, err,
	    sizeof(err)) == 0) {
		/* Whatever decodes must be usable: touch every field. */
		if (e.sql == NULL || e.operation == NULL ||
		    strlen(e.sql) != e.sql_len)
			__builtin_trap();
		/* Read every byte the entry points at: the sanitizer
		 * catches any pointer outside its arena. */
		volatile unsigned sum = 0;
		for (size_t i = 0; i < e.nparams; i++)
			if (e.params[i].type == ENTRY_PARAM_TEXT ||
			    e.params[i].type == ENTRY_PARAM_BLOB)
				for (size_t k = 0; k < e.params[i].len; k++)
					sum += (unsigned char)e.params[i].p[k];
		(void)sum;
		entry_free(&e);
	} else if (err[0] == '\0')
		__builtin_trap();	/* every refusal says why */
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* entry_int.h: what the entry decoders share (entry.c, entry_json.c,
 * entry_msgpack.c): the keys, the arena and the checks common to both
 * formats. Not for callers: entry.h is the interface. */
#ifndef HQ_ENTRY_INT_H
#define HQ_ENTRY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/entry.h"

/* Keys we know, in this order; the first ENTRY_NTEXT are kept as text. */
enum entry_key {
	ENTRY_KEY_SQL = 0,
	ENTRY_KEY_OPERATION,
	ENTRY_KEY_ID,
	ENTRY_KEY_SEQ,
	ENTRY_KEY_CREATED_AT,
	ENTRY_KEY_PARAMS,
	ENTRY_KEY_PRIORITY,
	ENTRY_KEY_RETRIES,
	ENTRY_KEY_METADATA,
	ENTRY_KEY_OTHER,
};
#define ENTRY_NTEXT	(ENTRY_KEY_CREATED_AT + 1)

extern const char *const entry_key_names[];

#define ENTRY_DEFAULT_OPERATION	"generic"
/* Room for decoding a key or a priority string; longer ones are unknown
 * keys and unusable priorities, so they need not fit. */
#define ENTRY_SHORT_MAX		32
#define ENTRY_PRIORITY_MIN	1
#define ENTRY_PRIORITY_MAX	10


/* The single allocation an entry owns: params first, for alignment, then
 * text. Its size is measured before any byte is decoded into it. */
struct entry_arena {
	char	*base;
	size_t	 size;
	size_t	 used;
};

/* A kept text value once it sits in the arena. */
struct entry_text {
	bool		 present;
	const char	*p;
	size_t		 len;
};

void	entry_errf(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* Writes the message and is -1, visibly at the call site: a varargs
 * function is never inlined, and were -1 its return value the compiler
 * could not see that `f() == -1` holds on every error path, and would
 * warn of out-parameters unset on those paths (gcc -O3). */
#define entry_err(err, errlen, ...)	\
	(entry_errf((err), (errlen), __VA_ARGS__), -1)

void		*entry_arena_take(struct entry_arena *, size_t);
/* A NUL-terminated copy of p[0..len) in the arena. */
const char	*entry_arena_copy(struct entry_arena *, const char *, size_t);
enum entry_key	 entry_key_lookup(const char *, size_t);
/* "<key> must be <its type>"; -1. */
int		 entry_type_err(enum entry_key, char *, size_t);
int		 entry_priority_digits(const char *, size_t);
/* Checks common to both formats, then fills *e from t[ENTRY_NTEXT]. */
int		 entry_finish(struct entry *, const struct entry_text *,
		    struct entry_arena *, char *, size_t);

/* The two readers behind entry_decode(): 0, or -1 with err. */
int	entry_json_decode(const char *, size_t, struct entry *, char *,
	    size_t);
int	entry_mp_decode(const char *, size_t, struct entry *, char *, size_t);

#endif

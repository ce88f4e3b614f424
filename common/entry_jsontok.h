/* SPDX-License-Identifier: MIT */
/* entry_jsontok.h: the JSON tokens of an entry (RFC 8259, strict), for
 * entry_json.c, which knows the shape of an entry. Each call reads at the
 * cursor j->pos and moves it past what it read; -1 leaves a reason in
 * j->err. Each is described where it is defined. */
#ifndef HQ_ENTRY_JSONTOK_H
#define HQ_ENTRY_JSONTOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A JSON input and the position of the parser in it. */
struct entry_json {
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	char		*err;
	size_t		 errlen;
};

/* A JSON number token. */
struct entry_json_num {
	size_t	 off;
	size_t	 len;
	bool	 integral;	/* neither fraction nor exponent */
	bool	 fits;		/* integral and within int64 */
	int64_t	 i;
};

bool	entry_json_is_ws(char);
void	entry_json_ws(struct entry_json *);
int	entry_json_expected(struct entry_json *, const char *what);
int	entry_json_value_start(struct entry_json *);
int	entry_json_string(struct entry_json *, char *dst, size_t cap,
	    size_t *lenp);
bool	entry_json_is_digit(const struct entry_json *, size_t at);
int	entry_json_number(struct entry_json *, struct entry_json_num *);
int	entry_json_real(const struct entry_json *,
	    const struct entry_json_num *, double *);
int	entry_json_literal(struct entry_json *, const char *word);
int	entry_json_key(struct entry_json *, char *name, size_t cap,
	    size_t *lenp);
int	entry_json_skip(struct entry_json *);

#endif

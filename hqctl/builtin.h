/* SPDX-License-Identifier: MIT */
/* builtin.h: between bash's side of the hqenqueue builtin
 * (builtin_bash.c, bash's headers only) and hq's (builtin.c). */
#ifndef HQ_BUILTIN_H
#define HQ_BUILTIN_H

/* argv[0] is the builtin's name; returns the exit status. */
int	hq_builtin_enqueue(int argc, char **argv);

#endif

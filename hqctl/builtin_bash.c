/* SPDX-License-Identifier: MIT */
/*
 * builtin_bash.c: bash's side of the hqenqueue loadable builtin
 * (builtin.c says what it does): the table bash finds with dlsym after
 * `enable -f hqenqueue.so hqenqueue`, and the word list turned into an
 * argv. Only bash's headers here: they declare their own xmalloc and
 * friends. The module is linked with hidden visibility, so hq's functions
 * never bind to bash's symbols of the same name, and this table is all it
 * exports.
 */
#include <config.h>
#include <stddef.h>

#include "builtins.h"
#include "shell.h"

#include "hqctl/builtin.h"

/* bash's table takes char * for what are string constants here. */
#pragma GCC diagnostic ignored "-Wcast-qual"

/* hqenqueue takes five arguments; one more marks "too many". */
#define HQ_BUILTIN_ARGS	7

static int
hqenqueue_builtin(WORD_LIST *list)
{
	char	*argv[HQ_BUILTIN_ARGS + 1];
	int	 argc = 0;

	argv[argc++] = (char *)"hqenqueue";
	for (; list != NULL && argc < HQ_BUILTIN_ARGS; list = list->next)
		argv[argc++] = list->word->word;
	argv[argc] = NULL;
	return hq_builtin_enqueue(argc, argv);
}

static char *hqenqueue_doc[] = {
	(char *)"Queue one write for hqd (hq's queue-lib.sh).",
	(char *)"",
	(char *)"What `hqctl --root ROOT enqueue --lenient --priority PRIORITY",
	(char *)"--op OPERATION [--metadata METADATA] -- SQL` does, in this",
	(char *)"shell's process; an empty METADATA is none. Exit status as",
	(char *)"hqctl's: 0 when queued, 64-78 otherwise, never 1.",
	NULL
};

__attribute__((visibility("default"))) struct builtin hqenqueue_struct = {
	(char *)"hqenqueue",
	hqenqueue_builtin,
	BUILTIN_ENABLED,
	hqenqueue_doc,
	(char *)"hqenqueue ROOT PRIORITY OPERATION METADATA SQL",
	NULL
};

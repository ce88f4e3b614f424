/* SPDX-License-Identifier: MIT */
/* pindex.h: the supervisor's index of entry names: a hash set of every name
 * it knows (queued or in a worker's hands) and a binary heap of the queued
 * ones in application order. Fed by inotify, so a backlog never costs a
 * directory scan per entry and ordering costs O(log n) per name. */
#ifndef HQ_PINDEX_H
#define HQ_PINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pitem {
	uint32_t	 hash;
	uint16_t	 seq_off, seq_len;
	uint8_t		 priority;
	bool		 suspect;	/* was in hand when a worker died */
	bool		 seen;		/* pset_sweep bookkeeping */
	uint8_t		 crashes;	/* worker deaths while alone in hand */
	bool		 poison;	/* to be settled by the ledger, not run */
	uint64_t	 seen_ns;	/* wall clock when first indexed */
	char		 name[];
};

/* Open addressing with linear probing and backward-shift deletion. */
struct pset {
	struct pitem	**slots;
	size_t		  cap;		/* power of two, or 0 */
	size_t		  len;
};

struct pindex {
	struct pset	  set;		/* every name known */
	struct pitem	**heap;		/* queued names, min-heap */
	size_t		  nheap, capheap;
	size_t		  depth[11];	/* queued, by priority 1..10 */
};

/* A new item for a valid entry name (queue_name_parse true), unowned. */
struct pitem	*pitem_new(const char *name);
/* An item for any name, for sets only (no order fields). */
struct pitem	*pitem_new_raw(const char *name);
struct pitem	*pset_find(const struct pset *s, const char *name);
void		 pset_add(struct pset *s, struct pitem *it);
void		 pset_remove(struct pset *s, struct pitem *it);
/* Remove and free every item whose seen flag is false; clear the flags. */
void		 pset_sweep(struct pset *s);
/* Free every item and the table. */
void		 pset_free(struct pset *s);

/* Add a valid name unless known; returns the item queued, or NULL. */
struct pitem	*pindex_add(struct pindex *p, const char *name);
/* Queue a known item again (after its worker died). */
void		 pindex_push(struct pindex *p, struct pitem *it);
/* The first queued item in application order (stays in the set), NULL
 * when none is queued. */
struct pitem	*pindex_pop(struct pindex *p);
struct pitem	*pindex_peek(const struct pindex *p);
/* Forget a popped item: out of the set, freed. */
void		 pindex_forget(struct pindex *p, struct pitem *it);
/* Drop every queued item (they stay in pending/), keep in-hand ones. */
void		 pindex_clear_queued(struct pindex *p);
void		 pindex_free(struct pindex *p);

#endif

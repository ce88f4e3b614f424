/* SPDX-License-Identifier: MIT */
/* pindex.c: the pending index of the supervisor. Runs in hqd only. */
#include <stdlib.h>
#include <string.h>

#include "common/hq.h"
#include "common/now.h"
#include "common/queue.h"
#include "common/xmalloc.h"
#include "supervisor/pindex.h"

struct pitem *
pitem_new_raw(const char *name)
{
	struct pitem	*it;
	size_t		 len = strlen(name);

	it = xcalloc(1, sizeof(*it) + len + 1);
	memcpy(it->name, name, len + 1);
	it->hash = (uint32_t)hq_fnv1a(name);
	return it;
}

struct pitem *
pitem_new(const char *name)
{
	struct queue_name	 qn;
	struct pitem		*it;

	if (!queue_name_parse(name, &qn))
		abort();	/* callers check names first */
	it = pitem_new_raw(name);
	it->priority = (uint8_t)qn.priority;
	it->seq_off = (uint16_t)(qn.seq - name);
	it->seq_len = (uint16_t)qn.seq_len;
	return it;
}

struct pitem *
pset_find(const struct pset *s, const char *name)
{
	uint32_t	h;
	size_t		i;

	if (s->cap == 0)
		return NULL;
	h = (uint32_t)hq_fnv1a(name);
	for (i = h & (s->cap - 1); s->slots[i] != NULL;
	    i = (i + 1) & (s->cap - 1))
		if (s->slots[i]->hash == h &&
		    strcmp(s->slots[i]->name, name) == 0)
			return s->slots[i];
	return NULL;
}

static void
pset_insert(struct pitem **slots, size_t cap, struct pitem *it)
{
	size_t	i;

	for (i = it->hash & (cap - 1); slots[i] != NULL; i = (i + 1) &
	    (cap - 1))
		;
	slots[i] = it;
}

void
pset_add(struct pset *s, struct pitem *it)
{
	struct pitem	**old = s->slots;
	size_t		  oldcap = s->cap, i;

	/* Keep the load under 1/2: probes stay short. */
	if ((s->len + 1) * 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->slots = xcalloc(s->cap, sizeof(*s->slots));
		for (i = 0; i < oldcap; i++)
			if (old[i] != NULL)
				pset_insert(s->slots, s->cap, old[i]);
		free(old);
	}
	pset_insert(s->slots, s->cap, it);
	s->len++;
}

void
pset_remove(struct pset *s, struct pitem *it)
{
	size_t	mask = s->cap - 1, i, j, home;

	if (s->cap == 0)
		abort();
	for (i = it->hash & mask; s->slots[i] != it; i = (i + 1) & mask)
		if (s->slots[i] == NULL)
			abort();	/* not in the set: our tables disagree */
	s->slots[i] = NULL;
	s->len--;
	/* Backward shift: pull later members of the run into the hole. */
	for (j = (i + 1) & mask; s->slots[j] != NULL; j = (j + 1) & mask) {
		home = s->slots[j]->hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			s->slots[i] = s->slots[j];
			s->slots[j] = NULL;
			i = j;
		}
	}
}

void
pset_sweep(struct pset *s)
{
	struct pitem	**old = s->slots;
	size_t		  i;

	if (s->cap == 0)
		return;
	/* Rebuild rather than delete one by one: O(n) whatever is gone. */
	s->slots = xcalloc(s->cap, sizeof(*s->slots));
	s->len = 0;
	for (i = 0; i < s->cap; i++) {
		struct pitem *it = old[i];

		if (it == NULL)
			continue;
		if (!it->seen) {
			free(it);
			continue;
		}
		it->seen = false;
		pset_insert(s->slots, s->cap, it);
		s->len++;
	}
	free(old);
}

void
pset_free(struct pset *s)
{
	size_t	i;

	for (i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* Application order: priority, then SEQ with digit runs as numbers. */
static int
pindex_cmp(const struct pitem *a, const struct pitem *b)
{
	int	c;

	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	if ((c = queue_seq_cmp(a->name + a->seq_off, a->seq_len,
	    b->name + b->seq_off, b->seq_len)) != 0)
		return c;
	return strcmp(a->name, b->name);
}

void
pindex_push(struct pindex *p, struct pitem *it)
{
	size_t	i, parent;

	if (p->nheap == p->capheap) {
		p->capheap = p->capheap ? p->capheap * 2 : 1024;
		p->heap = xreallocarray(p->heap, p->capheap,
		    sizeof(*p->heap));
	}
	p->depth[it->priority]++;
	for (i = p->nheap++; i > 0; i = parent) {
		parent = (i - 1) / 2;
		if (pindex_cmp(p->heap[parent], it) <= 0)
			break;
		p->heap[i] = p->heap[parent];
	}
	p->heap[i] = it;
}

struct pitem *
pindex_add(struct pindex *p, const char *name)
{
	struct pitem	*it;

	if (pset_find(&p->set, name) != NULL)
		return NULL;
	it = pitem_new(name);
	it->seen_ns = now_wall_ns();
	pset_add(&p->set, it);
	pindex_push(p, it);
	return it;
}

struct pitem *
pindex_peek(const struct pindex *p)
{
	return p->nheap ? p->heap[0] : NULL;
}

struct pitem *
pindex_pop(struct pindex *p)
{
	struct pitem	*top, *last;
	size_t		 i, c;

	if (p->nheap == 0)
		return NULL;
	top = p->heap[0];
	p->depth[top->priority]--;
	last = p->heap[--p->nheap];
	for (i = 0; (c = 2 * i + 1) < p->nheap; i = c) {
		if (c + 1 < p->nheap &&
		    pindex_cmp(p->heap[c + 1], p->heap[c]) < 0)
			c++;
		if (pindex_cmp(last, p->heap[c]) <= 0)
			break;
		p->heap[i] = p->heap[c];
	}
	if (p->nheap > 0)
		p->heap[i] = last;
	return top;
}

void
pindex_forget(struct pindex *p, struct pitem *it)
{
	pset_remove(&p->set, it);
	free(it);
}

void
pindex_clear_queued(struct pindex *p)
{
	while (p->nheap > 0) {
		p->depth[p->heap[p->nheap - 1]->priority]--;
		pindex_forget(p, p->heap[--p->nheap]);
	}
}

void
pindex_free(struct pindex *p)
{
	pset_free(&p->set);
	free(p->heap);
	memset(p, 0, sizeof(*p));
}

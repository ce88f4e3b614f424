/* SPDX-License-Identifier: MIT */
/*
 * test_pindex.c: supervisor/pindex.c. The hash set against a plain
 * reference array over 100000 names, with removal orders chosen to make
 * backward-shift deletion move items (including runs that wrap around the
 * end of the table), checked by a table invariant; sweep; and the heap's
 * pop order against qsort with queue_name_cmp over random valid names.
 * Leaks are left to ASan and valgrind.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>

#include "common/hq.h"
#include "common/queue.h"
#include "supervisor/pindex.h"
#include "tests/unit/hqtest.h"

static uint64_t	test_pindex_seed = 0x2545f4914f6cdd1dull;

static uint64_t
test_pindex_rand(void)
{
	uint64_t	*s = &test_pindex_seed;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t
test_pindex_below(size_t n)
{
	return (size_t)(test_pindex_rand() % n);
}

/*
 * Every member reachable from its home slot: no empty slot between an
 * item's home and where it sits, and len matches the table. Returns the
 * number of violations.
 */
static size_t
test_pset_invariant(const struct pset *s)
{
	size_t	i, j, n = 0, bad = 0, mask = s->cap - 1;

	for (i = 0; i < s->cap; i++) {
		if (s->slots[i] == NULL)
			continue;
		n++;
		for (j = s->slots[i]->hash & mask; j != i; j = (j + 1) & mask)
			if (s->slots[j] == NULL) {
				bad++;
				break;
			}
		if (pset_find(s, s->slots[i]->name) != s->slots[i])
			bad++;
	}
	if (n != s->len)
		bad++;
	return bad;
}

static void
test_pset_many(void)
{
	enum { N = 100000 };
	struct pset	  s = { 0 };
	struct pitem	**items;
	bool		 *in;
	char		  name[32];
	size_t		  i, bad = 0;

	items = calloc(N, sizeof(*items));
	in = calloc(N, sizeof(*in));
	CHECK(pset_find(&s, "n1") == NULL);	/* empty, never allocated */
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		items[i] = pitem_new_raw(name);
		pset_add(&s, items[i]);
		in[i] = true;
	}
	CHECK_EQ_INT(s.len, N);
	CHECK(s.cap >= 2 * N);
	CHECK_EQ_INT(test_pset_invariant(&s), 0);

	/* Three removal patterns, each followed by a full comparison. */
	for (i = 0; i < N; i += 3) {
		pset_remove(&s, items[i]);
		in[i] = false;
	}
	for (i = N; i-- > 0;)
		if (in[i] && i % 2 == 1) {
			pset_remove(&s, items[i]);
			in[i] = false;
		}
	for (i = 0; i < N / 4; i++) {
		size_t k = test_pindex_below(N);

		if (in[k]) {
			pset_remove(&s, items[k]);
			in[k] = false;
		}
	}
	CHECK_EQ_INT(test_pset_invariant(&s), 0);
	for (i = 0; i < N; i++) {
		struct pitem *f;

		snprintf(name, sizeof(name), "n%zu", i);
		f = pset_find(&s, name);
		if (f != (in[i] ? items[i] : NULL))
			bad++;
		if (!in[i]) {
			free(items[i]);
			items[i] = NULL;
		}
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(pset_find(&s, "n") == NULL);
	CHECK(pset_find(&s, "") == NULL);
	CHECK(pset_find(&s, "n100000") == NULL);

	/* Put half of the removed back: the table must take them again. */
	for (i = 0; i < N; i += 2)
		if (!in[i]) {
			snprintf(name, sizeof(name), "n%zu", i);
			items[i] = pitem_new_raw(name);
			pset_add(&s, items[i]);
			in[i] = true;
		}
	CHECK_EQ_INT(test_pset_invariant(&s), 0);
	for (i = 0, bad = 0; i < N; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		if (pset_find(&s, name) != (in[i] ? items[i] : NULL))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	pset_free(&s);
	CHECK(s.slots == NULL && s.cap == 0 && s.len == 0);
	pset_free(&s);
	free(in);
	free(items);
}

/*
 * Names whose home slots (in the first table, 1024 slots) are the last
 * four and the first four: inserted together they make one run that wraps
 * around the end. Removing them in random orders makes the backward shift
 * move items across the wrap in both directions.
 */
static void
test_pset_wrap(void)
{
	enum { NW = 14, ROUNDS = 300 };
	struct pset	  s;
	struct pitem	 *cand[NW];
	char		  names[NW][32], name[32];
	size_t		  n = 0, k, r, order[NW], i, j, t, bad = 0;

	for (k = 0; n < NW && k < 10000000; k++) {
		struct pitem	*it;
		uint32_t	 home;

		snprintf(name, sizeof(name), "wrap%zu", k);
		it = pitem_new_raw(name);
		home = it->hash & 1023;
		free(it);
		/* 9 near the end, 5 at the start. */
		if ((n < 9 && home >= 1020) || (n >= 9 && home <= 3))
			snprintf(names[n++], sizeof(names[0]), "%s", name);
	}
	REQUIRE(n == NW);
	for (r = 0; r < ROUNDS; r++) {
		memset(&s, 0, sizeof(s));
		/* Insert in a random order too. */
		for (i = 0; i < NW; i++)
			order[i] = i;
		for (i = NW - 1; i > 0; i--) {
			j = test_pindex_below(i + 1);
			t = order[i]; order[i] = order[j]; order[j] = t;
		}
		for (i = 0; i < NW; i++) {
			cand[order[i]] = pitem_new_raw(names[order[i]]);
			pset_add(&s, cand[order[i]]);
		}
		CHECK_EQ_INT(s.cap, 1024);
		/* One run across the end of the table. */
		CHECK(s.slots[1023] != NULL && s.slots[0] != NULL);
		bad += test_pset_invariant(&s);
		for (i = NW - 1; i > 0; i--) {
			j = test_pindex_below(i + 1);
			t = order[i]; order[i] = order[j]; order[j] = t;
		}
		for (i = 0; i < NW; i++) {
			pset_remove(&s, cand[order[i]]);
			free(cand[order[i]]);
			cand[order[i]] = NULL;
			bad += test_pset_invariant(&s);
			for (j = 0; j < NW; j++)
				if (pset_find(&s, names[j]) != cand[j])
					bad++;
		}
		CHECK_EQ_INT(s.len, 0);
		pset_free(&s);
	}
	CHECK_EQ_INT(bad, 0);
}

static void
test_pset_sweep(void)
{
	enum { N = 10000 };
	struct pset	  s = { 0 };
	struct pitem	**items;
	bool		 *keep;
	char		  name[32];
	size_t		  i, bad = 0, kept = 0;

	items = calloc(N, sizeof(*items));
	keep = calloc(N, sizeof(*keep));
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "bad name %zu", i);
		items[i] = pitem_new_raw(name);
		keep[i] = test_pindex_below(3) != 0;
		items[i]->seen = keep[i];
		kept += keep[i];
		pset_add(&s, items[i]);
	}
	pset_sweep(&s);
	CHECK_EQ_INT(s.len, kept);
	CHECK_EQ_INT(test_pset_invariant(&s), 0);
	for (i = 0; i < N; i++) {
		struct pitem *f;

		snprintf(name, sizeof(name), "bad name %zu", i);
		f = pset_find(&s, name);
		if (f != (keep[i] ? items[i] : NULL))
			bad++;
		/* The flags of the survivors are cleared for next time. */
		if (f != NULL && f->seen)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* Nothing seen since: the next sweep empties the set. */
	pset_sweep(&s);
	CHECK_EQ_INT(s.len, 0);
	CHECK_EQ_INT(test_pset_invariant(&s), 0);
	pset_sweep(&s);
	pset_free(&s);
	/* A sweep of a set never used is harmless. */
	pset_sweep(&s);
	free(keep);
	free(items);
}

/*
 * The supervisor sweeps its set of bad names after every rescan. With a
 * large backlog that must stay cheap: 100000 names, half of them gone,
 * in well under a second of work. Run in a child with an alarm so a slow
 * sweep fails the test instead of hanging it.
 */
static void
test_pset_sweep_large(void)
{
	enum { N = 100000 };
	struct pset	s = { 0 };
	struct pitem	*it;
	char		name[32];
	pid_t		pid;
	int		status;
	size_t		i;

	REQUIRE((pid = fork()) != -1);
	if (pid == 0) {
		for (i = 0; i < N; i++) {
			snprintf(name, sizeof(name), "n%zu", i);
			it = pitem_new_raw(name);
			it->seen = i % 2 == 0;
			pset_add(&s, it);
		}
		alarm(5);
		pset_sweep(&s);
		alarm(0);
		_exit(s.len == N / 2 ? 0 : 1);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		fprintf(stderr, "pset_sweep of %d names (half unseen) took "
		    "more than 5 s\n", N);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A random valid entry name: priorities 1..10, SEQs of digit runs of
 * random lengths (leading zeros too), letters and separators. */
static char *
test_pindex_name(void)
{
	static const char other[] = "abcxyzABZ_-";
	char	buf[HQ_NAME_MAX + 1];
	size_t	len, runs, r, k, n;

	len = (size_t)snprintf(buf, sizeof(buf), "%zu_",
	    1 + test_pindex_below(10));
	runs = 1 + test_pindex_below(4);
	for (r = 0; r < runs; r++) {
		if (test_pindex_below(3) != 0) {
			n = 1 + test_pindex_below(test_pindex_below(4) == 0 ?
			    25 : 3);
			for (k = 0; k < n; k++)
				buf[len++] = (char)('0' + (k == 0 &&
				    test_pindex_below(4) == 0 ? 0 :
				    test_pindex_below(10)));
		} else {
			n = 1 + test_pindex_below(2);
			for (k = 0; k < n; k++)
				buf[len++] = other[test_pindex_below(
				    sizeof(other) - 1)];
		}
	}
	snprintf(buf + len, sizeof(buf) - len, "%s",
	    test_pindex_below(2) ? ".json" : ".msgpack");
	return strdup(buf);
}

static int
test_pindex_qsort_cmp(const void *a, const void *b)
{
	return queue_name_cmp(*(char *const *)a, *(char *const *)b);
}

static int
test_pindex_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* depth[] counts the queued items of each priority exactly. */
static bool
test_pindex_depth_ok(const struct pindex *p)
{
	size_t	count[nitems(p->depth)] = { 0 }, i;

	for (i = 0; i < p->nheap; i++) {
		if (p->heap[i]->priority >= nitems(count))
			return false;
		count[p->heap[i]->priority]++;
	}
	for (i = 0; i < nitems(count); i++)
		if (count[i] != p->depth[i])
			return false;
	return true;
}

static void
test_pindex_order(void)
{
	enum { N = 30000 };
	struct pindex	  p = { 0 };
	struct pitem	 *it, *peek;
	char		**names, **uniq;
	size_t		  i, nu = 0, ndup = 0, bad = 0, popped = 0;

	names = calloc(N, sizeof(*names));
	for (i = 0; i < N; i++) {
		names[i] = test_pindex_name();
		REQUIRE(queue_name_parse(names[i], NULL));
	}
	/* The reference: the distinct names, sorted by queue_name_cmp. */
	uniq = calloc(N, sizeof(*uniq));
	memcpy(uniq, names, N * sizeof(*names));
	qsort(uniq, N, sizeof(*uniq), test_pindex_strcmp);
	for (i = 0; i < N; i++)
		if (nu == 0 || strcmp(uniq[nu - 1], uniq[i]) != 0)
			uniq[nu++] = uniq[i];
	qsort(uniq, nu, sizeof(*uniq), test_pindex_qsort_cmp);
	CHECK(nu < N);		/* some random duplicates: good */

	for (i = 0; i < N; i++) {
		bool known = pset_find(&p.set, names[i]) != NULL;

		it = pindex_add(&p, names[i]);
		if (known) {
			ndup++;
			if (it != NULL)
				bad++;
		} else if (it == NULL || strcmp(it->name, names[i]) != 0)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(ndup, N - nu);
	CHECK_EQ_INT(p.nheap, nu);
	CHECK_EQ_INT(p.set.len, nu);
	CHECK(test_pindex_depth_ok(&p));
	/* Adding any of them again is refused. */
	for (i = 0; i < N; i += 7)
		CHECK(pindex_add(&p, names[i]) == NULL);
	CHECK_EQ_INT(p.nheap, nu);

	for (i = 0; i < nu; i++) {
		peek = pindex_peek(&p);
		it = pindex_pop(&p);
		if (it == NULL || it != peek ||
		    strcmp(it->name, uniq[i]) != 0) {
			if (bad++ < 5)
				fprintf(stderr, "pop %zu: %s, want %s\n", i,
				    it ? it->name : "(null)", uniq[i]);
			if (it == NULL)
				break;
		}
		popped++;
		/* Popped items stay known until forgotten. */
		if (pset_find(&p.set, it->name) != it)
			bad++;
		pindex_forget(&p, it);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(popped, nu);
	CHECK(test_pindex_depth_ok(&p));
	CHECK(pindex_pop(&p) == NULL);
	CHECK(pindex_peek(&p) == NULL);
	CHECK_EQ_INT(p.set.len, 0);
	pindex_free(&p);
	for (i = 0; i < N; i++)
		free(names[i]);
	free(names);
	free(uniq);
}

/*
 * Random adds, pops and requeues (a popped item pushed back, as after a
 * worker death) against a reference array: every pop is the least queued
 * name by queue_name_cmp.
 */
static void
test_pindex_requeue(void)
{
	enum { OPS = 20000, MAXQ = 1024 };
	struct pindex	  p = { 0 };
	struct pitem	 *hand[64], *it;
	char		 *ref[MAXQ], *name;
	size_t		  nref = 0, nhand = 0, i, k, min, bad = 0;

	for (i = 0; i < OPS; i++) {
		size_t op = test_pindex_below(10);

		if (op < 5 && nref < MAXQ) {
			name = test_pindex_name();
			it = pindex_add(&p, name);
			if (it != NULL)
				ref[nref++] = it->name;
			free(name);
		} else if (op < 8 && nhand < nitems(hand)) {
			it = pindex_pop(&p);
			if (nref == 0) {
				if (it != NULL)
					bad++;
				continue;
			}
			for (min = 0, k = 1; k < nref; k++)
				if (queue_name_cmp(ref[k], ref[min]) < 0)
					min = k;
			if (it == NULL || strcmp(it->name, ref[min]) != 0) {
				if (bad++ < 5)
					fprintf(stderr, "op %zu: popped %s, "
					    "want %s\n", i, it ? it->name :
					    "(null)", ref[min]);
				if (it == NULL)
					continue;
			}
			ref[min] = ref[--nref];
			hand[nhand++] = it;
		} else if (nhand > 0) {
			/* A worker died (push back) or finished (forget). */
			k = test_pindex_below(nhand);
			it = hand[k];
			hand[k] = hand[--nhand];
			if (op == 8 && nref < MAXQ) {
				it->suspect = true;
				pindex_push(&p, it);
				ref[nref++] = it->name;
			} else
				pindex_forget(&p, it);
		}
		if (p.nheap != nref)
			bad++;
		if (i % 64 == 0 && !test_pindex_depth_ok(&p))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(p.set.len, nref + nhand);
	/* Drain: sorted order. */
	qsort(ref, nref, sizeof(*ref), test_pindex_qsort_cmp);
	for (i = 0; i < nref; i++) {
		it = pindex_pop(&p);
		if (it == NULL || strcmp(it->name, ref[i]) != 0)
			bad++;
		if (it != NULL)
			pindex_forget(&p, it);
	}
	CHECK_EQ_INT(bad, 0);
	for (i = 0; i < nhand; i++)
		pindex_forget(&p, hand[i]);
	CHECK_EQ_INT(p.set.len, 0);
	pindex_free(&p);
}

static void
test_pindex_clear_queued(void)
{
	struct pindex	  p = { 0 };
	struct pitem	 *hand[10];
	char		  name[64];
	size_t		  i, bad = 0;

	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "%zu_%zu.json", 1 + i % 10, i);
		REQUIRE(pindex_add(&p, name) != NULL);
	}
	for (i = 0; i < nitems(hand); i++)
		REQUIRE((hand[i] = pindex_pop(&p)) != NULL);
	/* The first ten in order are priority 1: i = 0, 10, 20, ... 90. */
	for (i = 0; i < nitems(hand); i++) {
		snprintf(name, sizeof(name), "1_%zu.json", i * 10);
		CHECK_EQ_STR(hand[i]->name, name);
	}
	CHECK(test_pindex_depth_ok(&p));
	pindex_clear_queued(&p);
	CHECK_EQ_INT(p.nheap, 0);
	CHECK(test_pindex_depth_ok(&p));
	CHECK(pindex_pop(&p) == NULL);
	CHECK_EQ_INT(p.set.len, nitems(hand));
	CHECK_EQ_INT(test_pset_invariant(&p.set), 0);
	for (i = 0; i < 1000; i++) {
		bool inhand = i % 10 == 0 && i < 100;
		struct pitem *f;

		snprintf(name, sizeof(name), "%zu_%zu.json", 1 + i % 10, i);
		f = pset_find(&p.set, name);
		if ((f != NULL) != inhand)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* An in-hand name is still known; a cleared one can come back. */
	CHECK(pindex_add(&p, "1_0.json") == NULL);
	CHECK(pindex_add(&p, "2_1.json") != NULL);
	CHECK_EQ_INT(p.nheap, 1);
	/* A requeued in-hand item comes before a later name. */
	pindex_push(&p, hand[0]);
	CHECK(pindex_pop(&p) == hand[0]);
	pindex_push(&p, hand[0]);
	CHECK(test_pindex_depth_ok(&p));
	pindex_clear_queued(&p);
	CHECK(test_pindex_depth_ok(&p));
	CHECK(pset_find(&p.set, "1_0.json") == NULL);
	CHECK_EQ_INT(p.set.len, nitems(hand) - 1);
	/* pindex_free frees the in-hand items still in the set. */
	pindex_free(&p);
	CHECK(p.heap == NULL && p.nheap == 0 && p.set.len == 0);
}

static void
test_pitem_fields(void)
{
	struct pitem	*it;

	it = pitem_new("10_abc-9.msgpack");
	CHECK_EQ_INT(it->priority, 10);
	CHECK_EQ_INT(it->seq_off, 3);
	CHECK_EQ_INT(it->seq_len, 5);
	CHECK(!it->seen && !it->suspect && it->crashes == 0);
	CHECK_EQ_STR(it->name, "10_abc-9.msgpack");
	free(it);
	it = pitem_new_raw("not a valid name");
	CHECK_EQ_STR(it->name, "not a valid name");
	CHECK_EQ_INT(it->priority, 0);
	free(it);
}

static const struct hqtest tests[] = {
	{ "pitem_fields", test_pitem_fields },
	{ "pset_many", test_pset_many },
	{ "pset_wrap", test_pset_wrap },
	{ "pset_sweep", test_pset_sweep },
	{ "pset_sweep_large", test_pset_sweep_large },
	{ "pindex_order", test_pindex_order },
	{ "pindex_requeue", test_pindex_requeue },
	{ "pindex_clear_queued", test_pindex_clear_queued },
};

HQTEST_MAIN(tests)

/*
 * alloc-jump-queue.c - the queue of stages between the jump backend's
 * ring and its tracker (see alloc-jump-queue.h).  A stage is queued
 * whole, as the drain thread filled it: a record is copied once, from the
 * ring into its stage, and fed from there.  Only records out of order
 * across stages (a trapped call, queued after records reserved later
 * than it) make the queue merge into one stage.
 */
#include "daemon/alloc-jump-queue.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

struct held *pk_hq_put(struct stage *st, const struct pk_jprobe_event *ev, uint64_t key,
		       uint64_t order)
{
	struct held *h;

	pk_xgrow((void **)&st->v, &st->cap, st->n + 1, sizeof(*st->v));
	pk_xgrow((void **)&st->arena, &st->caparena, st->narena + ev->stack_len + 1, 1);
	h = &st->v[st->n++];
	h->ev = *ev;
	h->ev.stack = NULL;
	h->stack_off = st->narena;
	h->stack_id = -1;
	h->key = key;
	h->order = order;
	if (ev->stack_len)
		memcpy(st->arena + st->narena, ev->stack, ev->stack_len);
	st->narena += ev->stack_len;
	if (st->n > 1 && cmp_held(h - 1, h) > 0)
		st->unsorted = 1;
	return h;
}

struct stage pk_hq_fresh(struct held_queue *hq)
{
	struct stage s;

	if (hq->nspare)
		return hq->spare[--hq->nspare];
	memset(&s, 0, sizeof(s));
	return s;
}

static void recycle(struct held_queue *hq, struct stage *st)
{
	st->n = st->narena = st->start = 0;
	st->unsorted = 0;
	pk_xgrow((void **)&hq->spare, &hq->capspare, hq->nspare + 1, sizeof(*hq->spare));
	hq->spare[hq->nspare++] = *st;
}

/* Every queued record not fed into one stage, sorted. */
static void merge_all(struct held_queue *hq)
{
	struct stage m = pk_hq_fresh(hq);

	for (size_t c = 0; c < hq->n; c++) {
		struct stage *st = &hq->q[c];

		for (size_t i = st->start; i < st->n; i++) {
			struct pk_jprobe_event ev = st->v[i].ev;
			struct held *h;

			ev.stack = st->arena + st->v[i].stack_off;
			h = pk_hq_put(&m, &ev, st->v[i].key, st->v[i].order);
			h->stack_id = st->v[i].stack_id;
		}
		recycle(hq, st);
	}
	qsort(m.v, m.n, sizeof(*m.v), cmp_held);
	m.unsorted = 0;
	hq->q[0] = m;
	hq->n = 1;
}

size_t pk_hq_push(struct held_queue *hq, struct stage *st)
{
	size_t n = st->n;

	if (!n) {
		recycle(hq, st);
		return 0;
	}
	if (st->unsorted) /* one thread's records are in order already */
		qsort(st->v, st->n, sizeof(*st->v), cmp_held);
	st->unsorted = 0;
	pk_xgrow((void **)&hq->q, &hq->cap, hq->n + 1, sizeof(*hq->q));
	hq->q[hq->n++] = *st;
	if (hq->n > 1) {
		const struct stage *prev = &hq->q[hq->n - 2];

		if (cmp_held(&prev->v[prev->n - 1], &st->v[0]) > 0)
			merge_all(hq);
	}
	return n;
}

size_t pk_hq_bytes(const struct held_queue *hq)
{
	size_t b = 0;

	for (size_t c = 0; c < hq->n; c++)
		b += (hq->q[c].n - hq->q[c].start) * sizeof(struct held) + hq->q[c].narena;
	return b;
}

int pk_hq_empty(const struct held_queue *hq)
{
	return hq->n == 0;
}

void pk_hq_feed(struct held_queue *hq, pk_hq_fn fn, void *ctx)
{
	size_t done = 0;
	int stop = 0;

	for (size_t c = 0; c < hq->n && !stop; c++) {
		struct stage *st = &hq->q[c];

		while (st->start < st->n && !stop) {
			struct held *h = &st->v[st->start++];

			stop = fn(ctx, h, st->arena + h->stack_off);
		}
		if (st->start == st->n)
			done++;
	}
	for (size_t c = 0; c < done; c++)
		recycle(hq, &hq->q[c]);
	memmove(hq->q, hq->q + done, (hq->n - done) * sizeof(*hq->q));
	hq->n -= done;
}

void pk_hq_free(struct held_queue *hq)
{
	for (size_t c = 0; c < hq->n; c++)
		recycle(hq, &hq->q[c]);
	for (size_t c = 0; c < hq->nspare; c++) {
		free(hq->spare[c].v);
		free(hq->spare[c].arena);
	}
	free(hq->q);
	free(hq->spare);
	memset(hq, 0, sizeof(*hq));
}

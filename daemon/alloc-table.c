/*
 * alloc-table.c - the live-allocation table: pointer -> (size, stack id,
 * time, caller), an open-addressing hash kept at most half full.
 */
#include "daemon/alloc-int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static size_t hash_ptr(uint64_t p, size_t cap)
{
	p ^= p >> 33;
	p *= 0xff51afd7ed558ccdull;
	p ^= p >> 33;
	return (size_t)p & (cap - 1);
}

void pk_live_init(struct pk_live_table *t)
{
	memset(t, 0, sizeof(*t));
}

void pk_live_release(struct pk_live_table *t)
{
	if (!t)
		return;
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static void grow(struct pk_live_table *t)
{
	struct pk_live_table n;
	struct pk_alloc_live old;

	n.cap = t->cap ? t->cap * 2 : 1024;
	n.n = 0;
	n.v = pk_xcalloc(n.cap, sizeof(*n.v));
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].ptr)
			pk_live_put(&n, &t->v[i], &old);
	free(t->v);
	*t = n;
}

int pk_live_put(struct pk_live_table *t, const struct pk_alloc_live *e, struct pk_alloc_live *old)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap)
		grow(t);
	for (i = hash_ptr(e->ptr, t->cap); t->v[i].ptr; i = (i + 1) & (t->cap - 1)) {
		if (t->v[i].ptr == e->ptr) {
			*old = t->v[i];
			t->v[i] = *e;
			return 1;
		}
	}
	t->v[i] = *e;
	t->n++;
	return 0;
}

const struct pk_alloc_live *pk_live_find(const struct pk_live_table *t, uint64_t ptr)
{
	if (!t->cap || !ptr)
		return NULL;
	for (size_t i = hash_ptr(ptr, t->cap); t->v[i].ptr; i = (i + 1) & (t->cap - 1))
		if (t->v[i].ptr == ptr)
			return &t->v[i];
	return NULL;
}

int pk_live_take(struct pk_live_table *t, uint64_t ptr, struct pk_alloc_live *out)
{
	const struct pk_alloc_live *f = pk_live_find(t, ptr);
	size_t i, j, mask = t->cap - 1;

	if (!f)
		return 0;
	*out = *f;
	i = (size_t)(f - t->v);
	/* backward shift deletion keeps every probe chain unbroken */
	for (j = (i + 1) & mask; t->v[j].ptr; j = (j + 1) & mask) {
		size_t home = hash_ptr(t->v[j].ptr, t->cap);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->v[i] = t->v[j];
			i = j;
		}
	}
	memset(&t->v[i], 0, sizeof(t->v[i]));
	t->n--;
	return 1;
}

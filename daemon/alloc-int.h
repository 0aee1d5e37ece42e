/*
 * alloc-int.h - internals of the allocation tracker: the live-allocation
 * table (alloc-table.c) used by alloc.c.
 */
#ifndef PK_ALLOC_INT_H
#define PK_ALLOC_INT_H

#include "daemon/alloc.h"

/* Open-addressing hash ptr -> live allocation (linear probing, backward
 * shift deletion, ptr 0 = empty slot). */
struct pk_live_table {
	struct pk_alloc_live *v;
	size_t cap;    /* power of two, or 0 */
	size_t n;
};

void pk_live_init(struct pk_live_table *t);
void pk_live_release(struct pk_live_table *t);
/* Insert or replace; returns 1 with the previous entry in *old when ptr
 * was already live (0 otherwise) so the caller can fix its totals. */
int pk_live_put(struct pk_live_table *t, const struct pk_alloc_live *e, struct pk_alloc_live *old);
/* Remove ptr; returns 1 and fills *out when it was live, 0 otherwise. */
int pk_live_take(struct pk_live_table *t, uint64_t ptr, struct pk_alloc_live *out);
const struct pk_alloc_live *pk_live_find(const struct pk_live_table *t, uint64_t ptr);

#endif

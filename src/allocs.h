/*
 * allocs.h - the allocation model behind "perfkit allocs": a session's
 * allocation data (store.h, schema v3) with every stack named, grouped by
 * call site (the first frame outside the allocator functions: the
 * function that called malloc or operator new) and leaks grouped by call
 * path and size.  Rendering lives in cmd-allocs.c and allocs-svg.c.
 */
#ifndef PK_ALLOCS_H
#define PK_ALLOCS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

struct pk_alloc_site {
	char *function;           /* the caller of the allocator (owned) */
	int64_t count, bytes, frees, bytes_freed, live_count, live_bytes;
};

struct pk_alloc_leak {
	int64_t size, count;      /* count blocks of size bytes each */
	char *allocator;          /* outermost allocator frame, e.g. "malloc" (owned) */
	char **stack;             /* function names, leaf (the call site) first (owned) */
	size_t depth;
};

struct pk_allocs {
	struct pk_alloc_data data;
	struct pk_alloc_site *sites; size_t n_sites;
	struct pk_alloc_leak *leaks; size_t n_leaks;
};

enum pk_allocs_sort { PK_ALLOCS_SORT_BYTES, PK_ALLOCS_SORT_COUNT, PK_ALLOCS_SORT_LIVE };

/* Is name one of the allocator functions (malloc..., operator new/delete)? */
int pk_allocs_is_allocator(const char *name);

/*
 * Load session sid's allocation data and name it; sites sorted by sort,
 * leaks by bytes (size * count) descending.  Returns PK_STORE_OK, or a
 * store code (PK_STORE_NOTFOUND: not recorded with --alloc; the message
 * is pk_store_errmsg).
 */
int pk_allocs_load(struct pk_store *st, int64_t sid, enum pk_allocs_sort sort, struct pk_allocs *out);
void pk_allocs_release(struct pk_allocs *a);   /* accepts NULL */

/*
 * Write the timeline as a self-contained SVG chart: bytes in use over
 * time, peak marked, axes labelled, armed windows shaded in windowed mode.
 * Returns 0 or -1 (errno from the stream).
 */
int pk_allocs_svg(const struct pk_allocs *a, const char *title, FILE *out);

#endif

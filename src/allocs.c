/*
 * allocs.c - the allocation model (see allocs.h): names the stacks of a
 * session's allocation data, groups them by call site and the live blocks
 * by call path and size.
 */
#include <stdlib.h>
#include <string.h>

#include "src/allocs.h"
#include "util.h"

int pk_allocs_is_allocator(const char *name)
{
	static const char *const names[] = {
		"malloc", "calloc", "realloc", "reallocarray", "free", "cfree",
		"posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
	};

	if (!name)
		return 0;
	/* aliases: __libc_malloc, and in static executables __calloc,
	 * __posix_memalign... */
	if (strncmp(name, "__libc_", 7) == 0)
		name += 7;
	else if (strncmp(name, "__", 2) == 0)
		name += 2;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return strncmp(name, "operator new", 12) == 0 || strncmp(name, "operator delete", 15) == 0 ||
	       strncmp(name, "_Znwm", 5) == 0 || strncmp(name, "_Znam", 5) == 0;
}

static const char *frame_name(const struct pk_symtab *t, int64_t frame_id)
{
	const struct pk_frame_row *fr;

	if (frame_id < 1 || (size_t)frame_id > t->n_frames)
		return "[unknown]";
	fr = &t->frames[frame_id - 1];
	if (fr->function_id < 1 || (size_t)fr->function_id > t->n_functions)
		return "[unknown]";
	return t->functions[fr->function_id - 1].name;
}

/* Names of the stack ending at leaf node id, leaf first (borrowed from t). */
static size_t stack_names(const struct pk_symtab *t, int64_t id, const char ***out)
{
	const char **v = NULL;
	size_t n = 0, cap = 0;

	while (id > 0 && (size_t)id <= t->n_nodes && n < 4096) {
		pk_xgrow((void **)&v, &cap, n + 1, sizeof(*v));
		v[n++] = frame_name(t, t->nodes[id - 1].frame_id);
		id = t->nodes[id - 1].parent;
	}
	*out = v;
	return n;
}

/* Index of the first frame outside the allocators (the call site). */
static size_t first_outside(const char **names, size_t n)
{
	size_t i = 0;

	while (i < n && pk_allocs_is_allocator(names[i]))
		i++;
	return i;
}

static struct pk_alloc_site *site_get(struct pk_allocs *a, const char *fn, size_t *cap)
{
	for (size_t i = 0; i < a->n_sites; i++)
		if (strcmp(a->sites[i].function, fn) == 0)
			return &a->sites[i];
	pk_xgrow((void **)&a->sites, cap, a->n_sites + 1, sizeof(*a->sites));
	memset(&a->sites[a->n_sites], 0, sizeof(*a->sites));
	a->sites[a->n_sites].function = pk_xstrdup(fn);
	return &a->sites[a->n_sites++];
}

static int same_leak(const struct pk_alloc_leak *l, const char *alloc, const char **names, size_t n,
		     int64_t size)
{
	if (l->size != size || l->depth != n || strcmp(l->allocator, alloc) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(l->stack[i], names[i]) != 0)
			return 0;
	return 1;
}

static void add_leak(struct pk_allocs *a, const struct pk_symtab *t, const struct pk_alloc_live_row *r,
		     size_t *cap)
{
	const char **names;
	size_t n = stack_names(t, r->stack_id, &names), skip = first_outside(names, n);
	const char *alloc = skip ? names[skip - 1] : "[unknown]";
	struct pk_alloc_leak *l;

	for (size_t i = 0; i < a->n_leaks; i++)
		if (same_leak(&a->leaks[i], alloc, names + skip, n - skip, r->size)) {
			a->leaks[i].count += r->count;
			free(names);
			return;
		}
	pk_xgrow((void **)&a->leaks, cap, a->n_leaks + 1, sizeof(*a->leaks));
	l = &a->leaks[a->n_leaks++];
	l->size = r->size;
	l->count = r->count;
	l->allocator = pk_xstrdup(alloc);
	l->depth = n - skip;
	l->stack = pk_xcalloc(l->depth ? l->depth : 1, sizeof(*l->stack));
	for (size_t i = 0; i < l->depth; i++)
		l->stack[i] = pk_xstrdup(names[skip + i]);
	free(names);
}

static enum pk_allocs_sort sort_key;

static int cmp_sites(const void *x, const void *y)
{
	const struct pk_alloc_site *a = x, *b = y;
	int64_t ka = sort_key == PK_ALLOCS_SORT_COUNT ? a->count
		     : sort_key == PK_ALLOCS_SORT_LIVE ? a->live_bytes : a->bytes;
	int64_t kb = sort_key == PK_ALLOCS_SORT_COUNT ? b->count
		     : sort_key == PK_ALLOCS_SORT_LIVE ? b->live_bytes : b->bytes;

	if (ka != kb)
		return ka > kb ? -1 : 1;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return strcmp(a->function, b->function);
}

static int cmp_leaks(const void *x, const void *y)
{
	const struct pk_alloc_leak *a = x, *b = y;
	int64_t ka = a->size * a->count, kb = b->size * b->count;

	if (ka != kb)
		return ka > kb ? -1 : 1;
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	return a->depth && b->depth ? strcmp(a->stack[0], b->stack[0]) : 0;
}

int pk_allocs_load(struct pk_store *st, int64_t sid, enum pk_allocs_sort sort, struct pk_allocs *out)
{
	struct pk_symtab t;
	size_t cap_sites = 0, cap_leaks = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pk_store_alloc_read(st, sid, &out->data);
	if (rc != PK_STORE_OK)
		return rc;
	rc = pk_store_load_symtab(st, sid, &t);
	if (rc != PK_STORE_OK) {
		pk_allocs_release(out);
		return rc;
	}
	for (size_t i = 0; i < out->data.n_stacks; i++) {
		const struct pk_alloc_stack_row *r = &out->data.stacks[i];
		const char **names;
		size_t n = stack_names(&t, r->stack_id, &names), k = first_outside(names, n);
		struct pk_alloc_site *s = site_get(out, k < n ? names[k] : "[unknown]", &cap_sites);

		s->count += r->allocs;
		s->bytes += r->bytes;
		s->frees += r->frees;
		s->bytes_freed += r->bytes_freed;
		s->live_count += r->live_count;
		s->live_bytes += r->live_bytes;
		free(names);
	}
	for (size_t i = 0; i < out->data.n_live; i++)
		add_leak(out, &t, &out->data.live[i], &cap_leaks);
	pk_symtab_release(&t);
	sort_key = sort;
	if (out->n_sites)
		qsort(out->sites, out->n_sites, sizeof(*out->sites), cmp_sites);
	if (out->n_leaks)
		qsort(out->leaks, out->n_leaks, sizeof(*out->leaks), cmp_leaks);
	return PK_STORE_OK;
}

void pk_allocs_release(struct pk_allocs *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_sites; i++)
		free(a->sites[i].function);
	for (size_t i = 0; i < a->n_leaks; i++) {
		for (size_t k = 0; k < a->leaks[i].depth; k++)
			free(a->leaks[i].stack[k]);
		free(a->leaks[i].stack);
		free(a->leaks[i].allocator);
	}
	free(a->sites);
	free(a->leaks);
	pk_alloc_data_release(&a->data);
	memset(a, 0, sizeof(*a));
}

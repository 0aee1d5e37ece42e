/*
 * flamegraph-tree.c - the flame graph's tree of merged call paths and its
 * layout into rectangles (see flamegraph.h).
 *
 * Functions and nodes are interned through open-addressing hash tables so
 * a profile of a million stack nodes builds in linear time.  The layout is
 * done in weight units, not pixels: the SVG writer scales, the browser's
 * zoom rescales from the same integers, and the tests compare exact sums.
 */
#include <stdlib.h>
#include <string.h>

#include "src/flamegraph.h"
#include "util.h"

#define EMPTY UINT32_MAX

uint32_t pk_fg_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static uint32_t pair_hash(const char *name, const char *module)
{
	uint32_t h = pk_fg_hash(name);

	h ^= pk_fg_hash(module) * 0x9e3779b1u;
	return h;
}

static uint32_t node_hash(uint32_t parent, uint32_t func)
{
	uint64_t k = ((uint64_t)parent << 32) | func;

	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

static uint32_t *new_slots(size_t n)
{
	uint32_t *s = pk_xmalloc(n * sizeof(*s));

	memset(s, 0xff, n * sizeof(*s));
	return s;
}

void pk_fg_tree_init(struct pk_fg_tree *t)
{
	memset(t, 0, sizeof(*t));
	t->func_mask = 255;
	t->func_slots = new_slots(t->func_mask + 1);
	t->node_mask = 1023;
	t->node_slots = new_slots(t->node_mask + 1);
	/* Function 0 and node 0: the root. */
	pk_fg_tree_func(t, "all", "", PK_FG_SPECIAL);
	pk_xgrow((void **)&t->nodes, &t->cap_nodes, 1, sizeof(*t->nodes));
	memset(&t->nodes[0], 0, sizeof(t->nodes[0]));
	t->n_nodes = 1;
}

void pk_fg_tree_release(struct pk_fg_tree *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n_funcs; i++) {
		free(t->funcs[i].name);
		free(t->funcs[i].module);
	}
	free(t->funcs);
	free(t->nodes);
	free(t->child_start);
	free(t->child_ids);
	free(t->func_slots);
	free(t->node_slots);
	memset(t, 0, sizeof(*t));
}

static void rehash_funcs(struct pk_fg_tree *t)
{
	size_t i, mask = t->func_mask * 2 + 1;
	uint32_t *slots = new_slots(mask + 1);

	for (i = 0; i < t->n_funcs; i++) {
		size_t h = pair_hash(t->funcs[i].name, t->funcs[i].module) & mask;

		while (slots[h] != EMPTY)
			h = (h + 1) & mask;
		slots[h] = (uint32_t)i;
	}
	free(t->func_slots);
	t->func_slots = slots;
	t->func_mask = mask;
}

uint32_t pk_fg_tree_func(struct pk_fg_tree *t, const char *name, const char *module,
			 enum pk_fg_family family)
{
	size_t h;
	struct pk_fg_func *f;

	if (!module)
		module = "";
	h = pair_hash(name, module) & t->func_mask;
	while (t->func_slots[h] != EMPTY) {
		f = &t->funcs[t->func_slots[h]];
		if (!strcmp(f->name, name) && !strcmp(f->module, module))
			return t->func_slots[h];
		h = (h + 1) & t->func_mask;
	}
	pk_xgrow((void **)&t->funcs, &t->cap_funcs, t->n_funcs + 1, sizeof(*t->funcs));
	f = &t->funcs[t->n_funcs];
	f->name = pk_xstrdup(name);
	f->module = pk_xstrdup(module);
	f->family = family;
	f->hash = pk_fg_hash(name);
	t->func_slots[h] = (uint32_t)t->n_funcs++;
	if (t->n_funcs * 2 > t->func_mask)
		rehash_funcs(t);
	return (uint32_t)(t->n_funcs - 1);
}

static void rehash_nodes(struct pk_fg_tree *t)
{
	size_t i, mask = t->node_mask * 2 + 1;
	uint32_t *slots = new_slots(mask + 1);

	for (i = 1; i < t->n_nodes; i++) {
		size_t h = node_hash(t->nodes[i].parent, t->nodes[i].func) & mask;

		while (slots[h] != EMPTY)
			h = (h + 1) & mask;
		slots[h] = (uint32_t)i;
	}
	free(t->node_slots);
	t->node_slots = slots;
	t->node_mask = mask;
}

uint32_t pk_fg_tree_child(struct pk_fg_tree *t, uint32_t parent, uint32_t func)
{
	size_t h = node_hash(parent, func) & t->node_mask;
	struct pk_fg_node *n;

	while (t->node_slots[h] != EMPTY) {
		n = &t->nodes[t->node_slots[h]];
		if (n->parent == parent && n->func == func)
			return t->node_slots[h];
		h = (h + 1) & t->node_mask;
	}
	pk_xgrow((void **)&t->nodes, &t->cap_nodes, t->n_nodes + 1, sizeof(*t->nodes));
	n = &t->nodes[t->n_nodes];
	n->func = func;
	n->parent = parent;
	n->self = n->total = 0;
	t->node_slots[h] = (uint32_t)t->n_nodes++;
	if (t->n_nodes * 2 > t->node_mask)
		rehash_nodes(t);
	return (uint32_t)(t->n_nodes - 1);
}

void pk_fg_tree_add(struct pk_fg_tree *t, uint32_t node, uint64_t weight)
{
	t->nodes[node].self += weight;
}

uint32_t pk_fg_tree_add_stack(struct pk_fg_tree *t, const char *const *names, size_t n,
			      uint64_t weight)
{
	uint32_t node = 0;
	size_t i;

	for (i = 0; i < n; i++)
		node = pk_fg_tree_child(t, node, pk_fg_tree_func(t, names[i], "", PK_FG_MAIN));
	pk_fg_tree_add(t, node, weight);
	return node;
}

/* qsort context: qsort_r keeps this reentrant. */
static int cmp_child(const void *a, const void *b, void *ctx)
{
	const struct pk_fg_tree *t = ctx;
	const struct pk_fg_func *fa = &t->funcs[t->nodes[*(const uint32_t *)a].func];
	const struct pk_fg_func *fb = &t->funcs[t->nodes[*(const uint32_t *)b].func];
	int c = strcmp(fa->name, fb->name);

	return c ? c : strcmp(fa->module, fb->module);
}

void pk_fg_tree_finish(struct pk_fg_tree *t)
{
	size_t i, n = t->n_nodes;
	uint32_t *fill;

	if (t->finished)
		return;
	/* Children are always created after their parent: one backward pass
	 * adds each total into its parent's. */
	for (i = 0; i < n; i++)
		t->nodes[i].total = t->nodes[i].self;
	for (i = n; i-- > 1;)
		t->nodes[t->nodes[i].parent].total += t->nodes[i].total;

	t->child_start = pk_xcalloc(n + 1, sizeof(*t->child_start));
	t->child_ids = pk_xmalloc((n ? n : 1) * sizeof(*t->child_ids));
	for (i = 1; i < n; i++)
		t->child_start[t->nodes[i].parent + 1]++;
	for (i = 0; i < n; i++)
		t->child_start[i + 1] += t->child_start[i];
	fill = pk_xmalloc((n ? n : 1) * sizeof(*fill));
	memcpy(fill, t->child_start, n * sizeof(*fill));
	for (i = 1; i < n; i++)
		t->child_ids[fill[t->nodes[i].parent]++] = (uint32_t)i;
	free(fill);
	for (i = 0; i < n; i++) {
		uint32_t a = t->child_start[i], b = t->child_start[i + 1];

		if (b - a > 1)
			qsort_r(t->child_ids + a, b - a, sizeof(uint32_t), cmp_child, t);
	}
	t->finished = 1;
}

/* ---- layout ------------------------------------------------------------ */

static size_t push_rect(struct pk_fg_layout *l, size_t *cap, uint32_t node, uint32_t depth,
			uint64_t start, uint64_t width, uint32_t merged, uint32_t parent)
{
	struct pk_fg_rect *r;

	pk_xgrow((void **)&l->rects, cap, l->n_rects + 1, sizeof(*l->rects));
	r = &l->rects[l->n_rects];
	r->node = node;
	r->depth = depth;
	r->start = start;
	r->width = width;
	r->merged = merged;
	r->parent = parent;
	if (depth > l->max_depth)
		l->max_depth = depth;
	return l->n_rects++;
}

/* Number of nodes in the subtree under node (node included). */
static size_t subtree_size(const struct pk_fg_tree *t, uint32_t node, uint32_t *stack)
{
	size_t sp = 0, count = 0;

	stack[sp++] = node;
	while (sp) {
		uint32_t n = stack[--sp], c;

		count++;
		for (c = t->child_start[n]; c < t->child_start[n + 1]; c++)
			stack[sp++] = t->child_ids[c];
	}
	return count;
}

/* One pending frame of the iterative depth-first walk. */
struct walk_item {
	uint32_t node;        /* or PK_FG_MERGED */
	uint32_t parent_rect;
	uint32_t depth;
	uint64_t start;
	uint64_t width;       /* merged groups only */
	uint32_t merged;      /* merged groups only */
};

void pk_fg_layout(const struct pk_fg_tree *t, uint64_t min_weight, struct pk_fg_layout *out)
{
	size_t cap = 0, sp = 0, wcap = 0;
	struct walk_item *stack = NULL;
	uint32_t *scratch;

	memset(out, 0, sizeof(*out));
	out->total = t->nodes[0].total;
	if (min_weight == 0)
		min_weight = 1;
	scratch = pk_xmalloc(t->n_nodes * sizeof(*scratch));
	/* The root is always drawn, even when empty. */
	pk_xgrow((void **)&stack, &wcap, 1, sizeof(*stack));
	stack[sp++] = (struct walk_item){ 0, 0, 0, 0, 0, 0 };
	while (sp) {
		struct walk_item it = stack[--sp];
		uint32_t a, b, c;
		size_t rect, first_pushed = sp;
		uint64_t x = it.start, narrow = 0;
		uint32_t n_narrow = 0;

		if (it.node == PK_FG_MERGED) {
			push_rect(out, &cap, PK_FG_MERGED, it.depth, it.start, it.width, it.merged,
				  it.parent_rect);
			continue;
		}
		a = t->child_start[it.node];
		b = t->child_start[it.node + 1];
		rect = push_rect(out, &cap, it.node, it.depth, it.start, t->nodes[it.node].total, 0,
				 it.node == 0 ? 0 : it.parent_rect);
		/* Children left to right; they are popped in reverse, so push
		 * then reverse the pushed run to keep depth-first order. */
		for (c = a; c < b; c++) {
			uint32_t child = t->child_ids[c];
			uint64_t w = t->nodes[child].total;

			if (w == 0)
				continue;
			if (w < min_weight) {
				narrow += w;
				n_narrow++;
				continue;
			}
			pk_xgrow((void **)&stack, &wcap, sp + 1, sizeof(*stack));
			stack[sp++] = (struct walk_item){ child, (uint32_t)rect, it.depth + 1, x, 0, 0 };
			x += w;
		}
		if (n_narrow) {
			size_t hidden = 0;

			for (c = a; c < b; c++) {
				uint32_t child = t->child_ids[c];

				if (t->nodes[child].total && t->nodes[child].total < min_weight)
					hidden += subtree_size(t, child, scratch);
			}
			if (narrow >= min_weight) {
				/* Drawn as one group right of the drawn siblings;
				 * their descendants are not drawn. */
				pk_xgrow((void **)&stack, &wcap, sp + 1, sizeof(*stack));
				stack[sp++] = (struct walk_item){ PK_FG_MERGED, (uint32_t)rect,
								  it.depth + 1, x, narrow, n_narrow };
				out->merged_frames += n_narrow;
				out->hidden_frames += hidden - n_narrow;
			} else {
				out->hidden_frames += hidden;
				out->hidden_weight += narrow;
			}
		}
		/* Reverse the run just pushed so the leftmost child pops first:
		 * rects then come out sorted by start, then depth. */
		{
			size_t i = first_pushed, j = sp;

			while (j > i + 1) {
				struct walk_item tmp = stack[i];

				stack[i] = stack[j - 1];
				stack[j - 1] = tmp;
				i++;
				j--;
			}
		}
	}
	free(stack);
	free(scratch);
}

void pk_fg_layout_release(struct pk_fg_layout *l)
{
	if (!l)
		return;
	free(l->rects);
	memset(l, 0, sizeof(*l));
}

uint64_t pk_fg_min_weight(uint64_t total, int width, double minwidth_px)
{
	double plot = (double)(width - 2 * PK_FG_XPAD);
	double w;

	if (plot < 1)
		plot = 1;
	if (minwidth_px <= 0)
		return 1;
	w = (double)total * minwidth_px / plot;
	if (w < 1)
		return 1;
	return (uint64_t)(w + 0.999999);
}

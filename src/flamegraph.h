/*
 * flamegraph.h - flame graph model, layout, colours and SVG writer.
 *
 * A flame graph is drawn from a tree of functions merged by name: every
 * distinct call path root->leaf (or leaf->root with --reverse) is one node,
 * its width the weight of the samples beneath it.  The pieces are kept apart
 * so each can be tested without the others:
 *
 *   tree    pk_fg_tree_*     build a tree (from a profile, or by hand in
 *                            tests), then pk_fg_tree_finish() sorts it
 *   layout  pk_fg_layout()   tree -> rectangles in weight units; frames
 *                            narrower than a threshold are merged and
 *                            accounted for, never silently lost
 *   colour  pk_fg_color()    stable colour per function name, family by
 *                            module (main program, shared library, other)
 *   SVG     pk_fg_write_svg  rectangles -> one self-contained SVG with our
 *                            own JavaScript (src/flamegraph.js, embedded)
 *
 * Node 0 of a tree is the root ("all").  Ids are uint32_t indexes.
 */
#ifndef PK_FLAMEGRAPH_H
#define PK_FLAMEGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pk_profile;

/* Colour family of a function, decided by its module. */
enum pk_fg_family {
	PK_FG_MAIN = 0,    /* the profiled program itself */
	PK_FG_LIBRARY = 1, /* shared libraries */
	PK_FG_OTHER = 2,   /* kernel, vdso, unknown module */
	PK_FG_SPECIAL = 3, /* "all" and merged-away frames */
};

struct pk_fg_func {
	char *name;
	char *module;      /* "" when unknown */
	enum pk_fg_family family;
	uint32_t hash;     /* of the name: picks the colour */
};

struct pk_fg_node {
	uint32_t func;
	uint32_t parent;   /* the root's parent is itself (0) */
	uint64_t self;     /* weight of samples ending here */
	uint64_t total;    /* self + children's totals; valid after finish */
};

struct pk_fg_tree {
	struct pk_fg_func *funcs; size_t n_funcs, cap_funcs;
	struct pk_fg_node *nodes; size_t n_nodes, cap_nodes;
	/* After finish: children of node i are child_ids[child_start[i] ..
	 * child_start[i + 1]), sorted by function name then module. */
	uint32_t *child_start;
	uint32_t *child_ids;
	/* private: hash tables for interning */
	uint32_t *func_slots; size_t func_mask;
	uint32_t *node_slots; size_t node_mask;
	int finished;
};

/* An empty tree holding only the root; release with pk_fg_tree_release. */
void pk_fg_tree_init(struct pk_fg_tree *t);
void pk_fg_tree_release(struct pk_fg_tree *t);

/* Intern a function by (name, module); module NULL means "".  Returns its
 * id.  The family is taken from the first call for that pair. */
uint32_t pk_fg_tree_func(struct pk_fg_tree *t, const char *name, const char *module,
			 enum pk_fg_family family);
/* The child of parent for func, created when missing. */
uint32_t pk_fg_tree_child(struct pk_fg_tree *t, uint32_t parent, uint32_t func);
/* Add weight to a node's self weight. */
void pk_fg_tree_add(struct pk_fg_tree *t, uint32_t node, uint64_t weight);
/* Convenience for tests: add a stack of names (root first, module "",
 * family MAIN) with weight; returns the leaf node. */
uint32_t pk_fg_tree_add_stack(struct pk_fg_tree *t, const char *const *names, size_t n,
			      uint64_t weight);
/* Compute totals and sorted child lists.  No more changes afterwards. */
void pk_fg_tree_finish(struct pk_fg_tree *t);

static inline uint64_t pk_fg_tree_total(const struct pk_fg_tree *t) { return t->nodes[0].total; }

/*
 * Build the tree of a loaded profile: functions merged by name and module
 * along each stack, root first, or leaf first with PK_FG_REVERSE (merging
 * at the leaves); with PK_FG_NAMES_ONLY by name alone (module "").
 * Samples without a stack become a "[no stack]" frame.  The tree is
 * finished on return.
 */
enum { PK_FG_REVERSE = 1, PK_FG_NAMES_ONLY = 2 };
void pk_fg_tree_from_profile(struct pk_fg_tree *t, const struct pk_profile *p, int flags);

/* Family of a module path, given whether it is the main program's. */
enum pk_fg_family pk_fg_module_family(const char *path, int is_main);

/* ---- layout ------------------------------------------------------------ */

#define PK_FG_MERGED UINT32_MAX /* rect.node of a merged-away group */

struct pk_fg_rect {
	uint32_t node;     /* tree node, or PK_FG_MERGED */
	uint32_t depth;    /* 0 = the root ("all") */
	uint64_t start;    /* left edge, in weight units from the left */
	uint64_t width;    /* in weight units */
	uint32_t merged;   /* for PK_FG_MERGED: how many sibling frames */
	uint32_t parent;   /* index of the parent rect (the root: itself) */
};

struct pk_fg_layout {
	struct pk_fg_rect *rects; /* depth-first, children left to right */
	size_t n_rects;
	uint32_t max_depth;
	uint64_t total;
	/* Accounting of what --minwidth took away.  merged_frames: tree
	 * nodes drawn as part of a merged group (not individually);
	 * hidden_frames: tree nodes not drawn at all (too narrow even when
	 * merged, and every descendant of a narrow frame); hidden_weight:
	 * weight of the top-most hidden frames (no double counting). */
	size_t merged_frames;
	size_t hidden_frames;
	uint64_t hidden_weight;
};

/*
 * Lay out a finished tree.  A frame is drawn individually when its width
 * is at least min_weight; the narrower children of one parent are merged
 * into one PK_FG_MERGED rect placed right of their drawn siblings when
 * their sum reaches min_weight, otherwise they are hidden and counted.
 * Descendants of a narrow frame are never drawn.  Rects come out in
 * depth-first order (sorted by start, then depth).  *out owns its array.
 */
void pk_fg_layout(const struct pk_fg_tree *t, uint64_t min_weight, struct pk_fg_layout *out);
void pk_fg_layout_release(struct pk_fg_layout *l);

/* ---- colours ----------------------------------------------------------- */

/* Palette names accepted by --colors, NULL-terminated. */
extern const char *const pk_fg_palettes[];
/* 0 when name is a known palette, -1 otherwise. */
int pk_fg_palette_valid(const char *name);
/* "#rrggbb" for a function of this family and name hash (buf >= 8). */
void pk_fg_color(const char *palette, enum pk_fg_family family, uint32_t hash, char buf[8]);
/* FNV-1a of a string: the colour key, stable across runs and machines. */
uint32_t pk_fg_hash(const char *s);

/* ---- SVG --------------------------------------------------------------- */

struct pk_fg_options {
	const char *title;     /* NULL: "Flame Graph" or "Icicle Graph" */
	const char *subtitle;  /* NULL: none */
	const char *palette;   /* NULL: "hot" */
	const char *unit;      /* what weights count, NULL: "samples" */
	int width;             /* image width in px; 0: 1200 */
	double minwidth;       /* px; < 0: default 0.1 */
	int icicle;            /* root at the top */
	int reverse;           /* informative: tree was built leaf first */
	/* Optional (differential flame graphs): called for each frame drawn
	 * on its own, with its tree node; may overwrite color ("#rrggbb")
	 * and set *note to text shown after the frame's description on
	 * hover (kept by the hook until its next call; NULL = none). */
	void (*frame_hook)(void *ctx, uint32_t node, char color[8], const char **note);
	void *frame_hook_ctx;
};

#define PK_FG_DEFAULT_WIDTH 1200
#define PK_FG_DEFAULT_MINWIDTH 0.1

/* Horizontal padding on each side of the plot (px). */
#define PK_FG_XPAD 10

/* The weight that --minwidth px stands for at this image width. */
uint64_t pk_fg_min_weight(uint64_t total, int width, double minwidth_px);

/*
 * Write the SVG for a finished tree to out.  Lays the tree out with the
 * options' width and minwidth.  An empty tree gives a valid SVG saying
 * there is nothing to show.  Returns 0, or -1 on a write error (errno).
 */
int pk_fg_write_svg(FILE *out, const struct pk_fg_tree *t, const struct pk_fg_options *opt);

/* Our flame graph JavaScript (src/flamegraph.js), generated at build time. */
extern const char pk_flamegraph_js[];

#endif

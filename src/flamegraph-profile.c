/*
 * flamegraph-profile.c - build a flame graph tree from a loaded profile.
 *
 * Kept apart from flamegraph-tree.c so the layout and its unit tests do
 * not pull in the store.  Stack nodes are ordered parent first, so the
 * root-first tree is made in one pass over the nodes; the reversed tree
 * (merged at the leaves) walks each sampled leaf up to the root.
 */
#include <stdlib.h>
#include <string.h>

#include "src/flamegraph.h"
#include "src/profile.h"
#include "util.h"

enum pk_fg_family pk_fg_module_family(const char *path, int is_main)
{
	const char *base;

	if (is_main)
		return PK_FG_MAIN;
	if (!path || !*path || path[0] == '[')
		return PK_FG_OTHER; /* [kernel], [vdso], [unknown], ... */
	base = pk_basename(path);
	if (strstr(base, ".so"))
		return PK_FG_LIBRARY;
	/* Another executable (after exec, or a helper program): its own code. */
	return PK_FG_MAIN;
}

/* The module id of the profiled program: the module of "main", else the
 * one named like the command's first word; 0 when neither is found. */
static int64_t main_module(const struct pk_profile *p)
{
	const struct pk_symtab *t = &p->symtab;
	char *cmd, *space;
	const char *base;
	size_t i;
	int64_t found = 0;

	for (i = 0; i < t->n_functions; i++)
		if (t->functions[i].name && !strcmp(t->functions[i].name, "main"))
			return t->functions[i].module_id;
	if (!p->session.command)
		return 0;
	cmd = pk_xstrdup(p->session.command);
	if ((space = strchr(cmd, ' ')))
		*space = '\0';
	base = pk_basename(cmd);
	for (i = 0; i < t->n_modules && !found; i++)
		if (t->modules[i].path && !strcmp(pk_basename(t->modules[i].path), base))
			found = (int64_t)i + 1;
	free(cmd);
	return found;
}

/* fg function id for each profile function id (index id - 1). */
static uint32_t *map_functions(struct pk_fg_tree *t, const struct pk_profile *p, int names_only)
{
	const struct pk_symtab *st = &p->symtab;
	int64_t main_id = main_module(p);
	uint32_t *map = pk_xmalloc((st->n_functions + 1) * sizeof(*map));
	size_t i;

	for (i = 0; i < st->n_functions; i++) {
		int64_t mod = st->functions[i].module_id;
		const char *path = mod >= 1 && (size_t)mod <= st->n_modules ? st->modules[mod - 1].path : "";
		enum pk_fg_family family;

		if (!path)
			path = "";
		family = pk_fg_module_family(path, mod == main_id && main_id != 0);
		map[i] = pk_fg_tree_func(t, pk_profile_function_name(p, (int64_t)i + 1),
					 names_only ? "" : path, family);
	}
	return map;
}

/* fg function of a stack node. */
static uint32_t node_func(struct pk_fg_tree *t, const struct pk_profile *p, const uint32_t *fmap,
			  size_t node_index)
{
	int64_t fid = pk_profile_node_function(p, (int64_t)node_index + 1);

	if (fid >= 1 && (size_t)fid <= p->symtab.n_functions)
		return fmap[fid - 1];
	return pk_fg_tree_func(t, pk_profile_function_name(p, fid), "", PK_FG_OTHER);
}

void pk_fg_tree_from_profile(struct pk_fg_tree *t, const struct pk_profile *p, int flags)
{
	const struct pk_symtab *st = &p->symtab;
	uint32_t *fmap = map_functions(t, p, flags & PK_FG_NAMES_ONLY);
	uint32_t *nmap = NULL;
	size_t i;

	if (!(flags & PK_FG_REVERSE)) {
		/* nmap[i]: tree node of stack node i + 1. */
		nmap = pk_xmalloc((st->n_nodes + 1) * sizeof(*nmap));
		for (i = 0; i < st->n_nodes; i++) {
			int64_t parent = st->nodes[i].parent;
			uint32_t up = parent >= 1 && (size_t)parent <= i ? nmap[parent - 1] : 0;

			if (!p->node_total[i]) {
				nmap[i] = 0;
				continue;
			}
			nmap[i] = pk_fg_tree_child(t, up, node_func(t, p, fmap, i));
			pk_fg_tree_add(t, nmap[i], p->node_self[i]);
		}
	} else {
		for (i = 0; i < st->n_nodes; i++) {
			uint32_t node = 0;
			int64_t id = (int64_t)i + 1;
			size_t guard = 0;

			if (!p->node_self[i])
				continue;
			/* Leaf first: the leaf becomes the bottom frame. */
			while (id >= 1 && (size_t)id <= st->n_nodes && guard++ <= st->n_nodes) {
				node = pk_fg_tree_child(t, node, node_func(t, p, fmap, (size_t)id - 1));
				id = st->nodes[id - 1].parent;
			}
			pk_fg_tree_add(t, node, p->node_self[i]);
		}
	}
	if (p->root_self)
		pk_fg_tree_add(t, pk_fg_tree_child(t, 0, pk_fg_tree_func(t, "[no stack]", "", PK_FG_OTHER)),
			       p->root_self);
	free(nmap);
	free(fmap);
	pk_fg_tree_finish(t);
}

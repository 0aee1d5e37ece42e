/*
 * export-folded.c - folded stacks, the text format of flamegraph.pl,
 * inferno and Pyroscope's ingest: one line per distinct stack, frames
 * root to leaf joined by ';', a space, the count.
 *
 * Stacks are merged by function name (the format has no modules), so two
 * call sites of one function make one line.  A ';' inside a name becomes
 * ':' so the line still splits into the right frames.  Samples without a
 * stack are one "[no stack]" line, so the counts add up to the profile.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "src/export.h"
#include "src/flamegraph.h"
#include "strbuf.h"
#include "util.h"

static int write_folded(FILE *out, const struct pk_export_ctx *ctx, char *err, size_t errlen)
{
	struct pk_fg_tree t;
	struct pk_strbuf line = PK_STRBUF_INIT;
	uint32_t *stack, *next_child;
	size_t *path_len;
	char **names;
	size_t sp = 0, i;

	(void)err;
	(void)errlen;
	pk_fg_tree_init(&t);
	pk_fg_tree_from_profile(&t, ctx->profile, PK_FG_NAMES_ONLY);
	names = pk_xmalloc(t.n_funcs * sizeof(*names));
	for (i = 0; i < t.n_funcs; i++)
		names[i] = pk_export_folded_name(t.funcs[i].name);

	/* Depth-first over the tree; line holds the path of the node on
	 * top of the stack, path_len[d] its length at each depth. */
	stack = pk_xmalloc(t.n_nodes * sizeof(*stack));
	next_child = pk_xmalloc(t.n_nodes * sizeof(*next_child));
	path_len = pk_xmalloc((t.n_nodes + 1) * sizeof(*path_len));
	stack[sp] = 0;
	next_child[sp] = t.child_start[0];
	path_len[sp] = 0;
	sp++;
	while (sp) {
		uint32_t node = stack[sp - 1];

		if (next_child[sp - 1] < t.child_start[node + 1]) {
			uint32_t child = t.child_ids[next_child[sp - 1]++];

			line.len = path_len[sp - 1];
			if (line.len)
				pk_strbuf_addch(&line, ';');
			pk_strbuf_addstr(&line, names[t.nodes[child].func]);
			if (t.nodes[child].self)
				fprintf(out, "%s %" PRIu64 "\n", line.buf, t.nodes[child].self);
			stack[sp] = child;
			next_child[sp] = t.child_start[child];
			path_len[sp] = line.len;
			sp++;
		} else {
			sp--;
		}
	}
	for (i = 0; i < t.n_funcs; i++)
		free(names[i]);
	free(names);
	free(stack);
	free(next_child);
	free(path_len);
	pk_strbuf_release(&line);
	pk_fg_tree_release(&t);
	return ferror(out) ? -1 : 0;
}

const struct pk_exporter pk_export_folded = {
	"folded", "folded stacks for flamegraph.pl, inferno and Pyroscope", 0, write_folded,
};

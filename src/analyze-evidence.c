/*
 * analyze-evidence.c - what the rules of "perfkit analyze" read (see
 * analyze.h): per-function statistics of the loaded profile, off-CPU
 * weight per stack node in wall mode, the recorder's statistics, glibc
 * name matching, and samples grouped by the caller of a family of
 * functions (malloc and friends, memcpy and its variants, lock calls).
 * Optional data (allocations, probes, cache) is loaded by
 * analyze-data.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "src/analyze.h"
#include "util.h"

/* Loaders of the optional data, in analyze-data.c. */
int pk_evidence_load_optional(struct pk_store *st, struct pk_evidence *ev);
void pk_evidence_release_optional(struct pk_evidence *ev);

struct offcpu_ctx {
	struct pk_evidence *ev;
	int event;
};

static int count_offcpu(void *opaque, const struct pk_sample *s)
{
	struct offcpu_ctx *c = opaque;
	struct pk_evidence *ev = c->ev;
	uint64_t w = s->weight > 0 ? (uint64_t)s->weight : 0;

	if (s->event != c->event || (s->state != 'S' && s->state != 'D'))
		return 0;
	ev->offcpu_total += w;
	if (s->stack_id > 0 && (uint64_t)s->stack_id <= ev->profile->symtab.n_nodes)
		ev->node_offcpu[s->stack_id - 1] += w;
	return 0;
}

static double stat_or_nan(struct pk_store *st, int64_t sid, const char *key)
{
	double v;

	return pk_store_get_stat(st, sid, key, &v) == PK_STORE_OK ? v : NAN;
}

int pk_evidence_load(struct pk_store *st, const struct pk_profile *p, struct pk_evidence *ev)
{
	int64_t sid = p->session.id;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->profile = p;
	ev->total = p->total;
	if ((rc = pk_profile_function_stats(p, &ev->funcs, &ev->n_funcs)) != PK_STORE_OK)
		goto fail;
	ev->wall = p->session.mode && !strcmp(p->session.mode, "wall");
	if (ev->wall && p->event > 0) {
		struct offcpu_ctx c = { ev, p->event };

		size_t i;

		ev->node_offcpu = pk_xcalloc(p->symtab.n_nodes + 1, sizeof(*ev->node_offcpu));
		if ((rc = pk_store_foreach_sample(st, sid, p->event, count_offcpu, &c)) != PK_STORE_OK)
			goto fail;
		ev->func_offcpu_self = pk_xcalloc(p->symtab.n_functions + 1, sizeof(*ev->func_offcpu_self));
		for (i = 0; i < p->symtab.n_nodes; i++)
			ev->func_offcpu_self[pk_profile_node_function(p, (int64_t)i + 1)] += ev->node_offcpu[i];
	}
	ev->stat_samples = stat_or_nan(st, sid, "samples");
	if (!isfinite(ev->stat_samples))
		ev->stat_samples = (double)p->n_samples;
	ev->stat_complete_stacks = stat_or_nan(st, sid, "complete_stacks");
	ev->stat_unwind_failures = stat_or_nan(st, sid, "unwind_failures");
	ev->stat_lost_samples = stat_or_nan(st, sid, "lost_samples");
	ev->stat_syscall_stops = stat_or_nan(st, sid, "syscall_stops");
	ev->stat_achieved_hz = stat_or_nan(st, sid, "achieved_hz");
	if ((rc = pk_evidence_load_optional(st, ev)) != PK_STORE_OK)
		goto fail;
	return PK_STORE_OK;
fail:
	pk_evidence_release(ev);
	return rc;
}

void pk_evidence_release(struct pk_evidence *ev)
{
	if (!ev)
		return;
	pk_evidence_release_optional(ev);
	free(ev->funcs);
	free(ev->node_offcpu);
	free(ev->func_offcpu_self);
	memset(ev, 0, sizeof(*ev));
}

uint64_t pk_ev_oncpu_self(const struct pk_evidence *ev, const struct pk_func_stat *fs)
{
	uint64_t off;

	if (!ev->func_offcpu_self || fs->function_id < 0 ||
	    (size_t)fs->function_id > ev->profile->symtab.n_functions)
		return fs->self;
	off = ev->func_offcpu_self[fs->function_id];
	return off < fs->self ? fs->self - off : 0;
}

int pk_ev_instrumentation(const struct pk_evidence *ev, int64_t function_id)
{
	if (!ev->alloc && !ev->n_probes)
		return 0;
	return !strncmp(pk_ev_name(ev, function_id), "[anon]", 6);
}

double pk_ev_share(const struct pk_evidence *ev, uint64_t weight)
{
	return ev->total ? (double)weight / (double)ev->total : 0.0;
}

const char *pk_ev_name(const struct pk_evidence *ev, int64_t function_id)
{
	return pk_profile_function_name(ev->profile, function_id);
}

char *pk_ev_source(const struct pk_evidence *ev, int64_t function_id)
{
	const struct pk_profile *p = ev->profile;
	const struct pk_frame_row *fr;
	size_t i;

	for (i = 0; i < ev->n_funcs; i++) {
		if (ev->funcs[i].function_id != function_id)
			continue;
		if (ev->funcs[i].source_frame_id < 1 || (size_t)ev->funcs[i].source_frame_id > p->symtab.n_frames)
			return NULL;
		fr = &p->symtab.frames[ev->funcs[i].source_frame_id - 1];
		if (!fr->file || !*fr->file)
			return NULL;
		return fr->line > 0 ? pk_xasprintf("%s:%d", fr->file, fr->line) : pk_xstrdup(fr->file);
	}
	return NULL;
}

/* ---- names -------------------------------------------------------------- */

/* The name without glibc's decorations (a pointer into name). */
static const char *bare_name(const char *name)
{
	for (;;) {
		const char *before = name;

		while (*name == '_')
			name++;
		if (!strncmp(name, "GI_", 3))
			name += 3;
		if (!strncmp(name, "libc_", 5))
			name += 5;
		if (name == before)
			return name;
	}
}

int pk_ev_name_in(const char *name, const char *const *list)
{
	const char *bare;

	if (!name)
		return 0;
	bare = bare_name(name);
	for (; *list; list++) {
		size_t n = strlen(*list);

		if (n && (*list)[n - 1] == '*') {
			char next;

			n--;
			if (strncmp(bare, *list, n))
				continue;
			next = bare[n];
			if (!next || next == '_' || next == '.' || next == '(' || next == '[')
				return 1;
		} else if (!strcmp(bare, *list)) {
			return 1;
		}
	}
	return 0;
}

/* ---- samples grouped by the caller of a family -------------------------- */

static int cmp_caller(const void *a, const void *b)
{
	const struct pk_caller_ev *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return x->function_id < y->function_id ? -1 : x->function_id > y->function_id;
}

void pk_ev_match(const struct pk_evidence *ev, const char *const *list, int leaf_only,
		 struct pk_match *out)
{
	const struct pk_profile *p = ev->profile;
	size_t nf = p->symtab.n_functions, i;
	char *member = pk_xcalloc(nf + 1, 1);
	uint64_t *by_caller = pk_xcalloc(nf + 1, sizeof(*by_caller));
	uint64_t *off_by_caller = pk_xcalloc(nf + 1, sizeof(*off_by_caller));
	uint64_t *by_matched = pk_xcalloc(nf + 1, sizeof(*by_matched));
	uint64_t *by_member = pk_xcalloc(nf + 1, sizeof(*by_member));
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	for (i = 1; i <= nf; i++)
		member[i] = (char)pk_ev_name_in(p->symtab.functions[i - 1].name, list);

	for (i = 0; i < p->symtab.n_nodes; i++) {
		uint64_t w = p->node_self[i], off = ev->node_offcpu ? ev->node_offcpu[i] : 0;
		int64_t id = (int64_t)i + 1, run_top = 0, caller = 0;

		if (!w)
			continue;
		/* Find the matching run: from the leaf upward (leaf_only), or
		 * up to the outermost matching frame. */
		while (id > 0) {
			int64_t f = pk_profile_node_function(p, id), parent = p->symtab.nodes[id - 1].parent;
			int is = f > 0 && (size_t)f <= nf && member[f];

			if (is)
				run_top = id;
			else if (leaf_only)
				break;
			if (parent >= id)
				break;
			id = parent;
		}
		if (!run_top)
			continue;
		if (p->symtab.nodes[run_top - 1].parent > 0)
			caller = pk_profile_node_function(p, p->symtab.nodes[run_top - 1].parent);
		out->weight += w;
		out->offcpu += off;
		by_caller[caller > 0 && (size_t)caller <= nf ? caller : 0] += w;
		off_by_caller[caller > 0 && (size_t)caller <= nf ? caller : 0] += off;
		by_matched[pk_profile_node_function(p, run_top)] += w;
		by_member[pk_profile_node_function(p, run_top)] += w;
		if (member[pk_profile_node_function(p, (int64_t)i + 1)])
			by_member[pk_profile_node_function(p, (int64_t)i + 1)] += w;
	}
	for (i = 0; i <= nf; i++) {
		if (by_matched[i] > out->top_function_weight) {
			out->top_function_weight = by_matched[i];
			out->top_function = (int64_t)i;
		}
		if (!by_caller[i])
			continue;
		pk_xgrow((void **)&out->callers, &cap, out->n_callers + 1, sizeof(*out->callers));
		out->callers[out->n_callers].function_id = (int64_t)i;
		out->callers[out->n_callers].weight = by_caller[i];
		out->callers[out->n_callers].offcpu = off_by_caller[i];
		out->n_callers++;
	}
	/* The heaviest matched functions (outermost, or leaf), for findings
	 * to cover. */
	while (out->n_matched < sizeof(out->matched) / sizeof(out->matched[0])) {
		size_t best = 0;

		for (i = 1; i <= nf; i++)
			if (by_member[i] > by_member[best])
				best = i;
		if (!best || !by_member[best])
			break;
		out->matched[out->n_matched++] = (int64_t)best;
		by_member[best] = 0;
	}
	if (out->n_callers)
		qsort(out->callers, out->n_callers, sizeof(*out->callers), cmp_caller);
	free(member);
	free(by_caller);
	free(off_by_caller);
	free(by_matched);
	free(by_member);
}

void pk_match_release(struct pk_match *m)
{
	if (!m)
		return;
	free(m->callers);
	memset(m, 0, sizeof(*m));
}

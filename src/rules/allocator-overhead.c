/*
 * allocator-overhead.c - rule "allocator-overhead": a large share of the
 * time is spent inside the memory allocator (malloc, free, realloc,
 * operator new/delete and glibc's internals), measured inclusively from
 * CPU samples, reported at the caller that allocates most.
 */
#include <stdlib.h>

#include "src/analyze.h"

static const char *const allocator_functions[] = {
	"malloc", "calloc", "realloc", "reallocarray", "free", "cfree", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "operator new*", "operator delete*",
	"int_malloc", "int_free*", "int_realloc", "int_memalign", "malloc_consolidate",
	"sysmalloc", "unlink_chunk*", "tcache*", "mid_memalign", "alloc_perturb", NULL
};

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	struct pk_match m;
	struct pk_finding *f;
	double share;
	enum pk_severity sev;
	const struct pk_caller_ev *top;
	char *loc;

	pk_ev_match(ev, allocator_functions, 0, &m);
	share = pk_ev_share(ev, m.weight);
	sev = pk_severity_of(share, &rule->levels);
	if (sev == PK_SEV_NONE || !m.n_callers) {
		pk_match_release(&m);
		return;
	}
	top = &m.callers[0];
	f = pk_finding_add(out, rule, sev, share);
	loc = pk_ev_location(ev, top->function_id);
	pk_finding_location(f, "%s", loc);
	free(loc);
	pk_finding_describe(f, "%.1f%% of the %s samples are spent inside the memory allocator (malloc, "
			    "free and the rest of the family, most in %s: %llu of %llu samples); the calls from %s "
			    "account for %.1f%% of all samples.",
			    100.0 * share, ev->profile->event_name, pk_ev_name(ev, m.top_function),
			    (unsigned long long)m.weight, (unsigned long long)ev->total,
			    pk_ev_name(ev, top->function_id), 100.0 * pk_ev_share(ev, top->weight));
	pk_finding_recommend(f, "Allocate less often in %s: reuse objects and buffers across "
			     "iterations, allocate many small objects at once (an array, a pool or an "
			     "arena freed in one go), reserve capacity up front, keep small objects "
			     "on the stack; if the pattern must stay, try a faster allocator (jemalloc, "
			     "mimalloc, tcmalloc).  'perfkitd run --alloc' shows counts and sizes per site.",
			     pk_ev_name(ev, top->function_id));
	pk_finding_number(f, "allocator_samples", (double)m.weight);
	pk_finding_number(f, "allocator_share", share);
	pk_finding_number(f, "top_caller_samples", (double)top->weight);
	pk_finding_number(f, "top_caller_share", pk_ev_share(ev, top->weight));
	pk_finding_number(f, "callers", (double)m.n_callers);
	for (size_t i = 0; i < m.n_matched; i++)
		pk_finding_cover(f, m.matched[i]);
	pk_finding_paths(f, ev, top->function_id);
	pk_match_release(&m);
}

const struct pk_rule pk_rule_allocator_overhead = {
	.name = "allocator-overhead",
	.category = "memory",
	.summary = "much time inside malloc/free/new/delete",
	.explain =
		"Reads the samples whose stack holds an allocator function (malloc,\n"
		"calloc, realloc, free, posix_memalign, aligned_alloc, operator new and\n"
		"delete, and glibc's _int_malloc, _int_free, malloc_consolidate...),\n"
		"each sample counted once, as a share of all samples (inclusive time),\n"
		"and the caller of the outermost allocator frame.  Allocation is\n"
		"bookkeeping: a large share means many short-lived objects.",
	.needs = "CPU or wall samples",
	.kind = PK_RULE_SPECIFIC,
	.sample_based = 1,
	.levels = PK_AN_LEVELS_ALLOCATOR,
	.run = run,
};

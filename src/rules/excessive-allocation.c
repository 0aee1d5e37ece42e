/*
 * excessive-allocation.c - rule "excessive-allocation": one call site
 * allocates very often - many small blocks, or a realloc chain that
 * grows a block by a few bytes at a time.  With allocation data
 * (perfkitd --alloc) it reads counts and sizes per site; from CPU
 * samples (with or without allocation data) it finds realloc growth
 * (time inside realloc under one caller); plain malloc/free time is
 * allocator-overhead's.
 */
#include <stdlib.h>

#include "src/analyze.h"

static const char *const realloc_functions[] = {
	"realloc", "reallocarray", "int_realloc", NULL
};

/* From allocation data: frequent small allocations and realloc growth. */
static void from_alloc_data(const struct pk_rule *rule, const struct pk_evidence *ev,
			    struct pk_findings *out)
{
	const struct pk_alloc_ev *a = ev->alloc;

	for (size_t i = 0; i < a->n_sites; i++) {
		const struct pk_alloc_site_ev *s = &a->sites[i];
		double share = a->alloc_calls ? (double)s->count / (double)a->alloc_calls : 0;
		double avg = s->count ? (double)s->bytes / (double)s->count : 0;
		double step = s->realloc_count ? (double)s->realloc_growth / (double)s->realloc_count : 0;
		int growth = s->realloc_count >= PK_AN_REALLOC_MIN_COUNT && step <= PK_AN_REALLOC_SMALL_STEP;
		int frequent = s->count >= PK_AN_ALLOC_MIN_COUNT && avg <= PK_AN_SMALL_ALLOC_BYTES;
		enum pk_severity sev = pk_severity_of(share, &rule->levels);
		struct pk_finding *f;

		if (sev == PK_SEV_NONE || (!growth && !frequent))
			continue;
		f = pk_finding_add(out, rule, sev, share);
		pk_finding_location(f, "%s", s->function ? s->function : "[unknown]");
		if (growth)
			pk_finding_describe(f, "%s grows blocks with realloc %llu times by %.1f bytes per step on "
					    "average; it makes %.1f%% of the %llu allocation calls.",
					    s->function, (unsigned long long)s->realloc_count, step,
					    100.0 * share, (unsigned long long)a->alloc_calls);
		else
			pk_finding_describe(f, "%s makes %llu allocations of %.0f bytes on average (%.1f%% of the "
					    "%llu allocation calls; %llu of them freed again during the run).",
					    s->function, (unsigned long long)s->count, avg, 100.0 * share,
					    (unsigned long long)a->alloc_calls, (unsigned long long)s->frees);
		pk_finding_recommend(f, growth
				     ? "Reserve the final capacity up front, or grow geometrically (double "
				       "the capacity) instead of by a few bytes per realloc."
				     : "Reuse buffers across iterations, allocate many small objects at once "
				       "(an array, a pool or an arena freed in one go), or keep them on the stack.");
		pk_finding_number(f, "allocations", (double)s->count);
		pk_finding_number(f, "bytes", (double)s->bytes);
		pk_finding_number(f, "avg_size", avg);
		pk_finding_number(f, "frees", (double)s->frees);
		pk_finding_number(f, "call_share", share);
		if (s->realloc_count) {
			pk_finding_number(f, "reallocs", (double)s->realloc_count);
			pk_finding_number(f, "avg_growth", step);
		}
		pk_finding_cover(f, s->function_id);
	}
}

/* From CPU samples: time in realloc under one caller. */
static void from_samples(const struct pk_rule *rule, const struct pk_evidence *ev,
			 struct pk_findings *out)
{
	struct pk_match m;
	const struct pk_caller_ev *top;
	struct pk_finding *f;
	enum pk_severity sev;
	double share;
	char *loc;

	pk_ev_match(ev, realloc_functions, 0, &m);
	if (!m.n_callers) {
		pk_match_release(&m);
		return;
	}
	top = &m.callers[0];
	share = pk_ev_share(ev, top->weight);
	sev = pk_severity_of(share, &rule->levels);
	if (sev != PK_SEV_NONE) {
		f = pk_finding_add(out, rule, sev, share);
		loc = pk_ev_location(ev, top->function_id);
		pk_finding_location(f, "%s", loc);
		free(loc);
		pk_finding_describe(f, "%s spends %.1f%% of the %s samples inside realloc (%llu of %llu): "
				    "a block grown over and over, typically a few bytes at a time.",
				    pk_ev_name(ev, top->function_id), 100.0 * share, ev->profile->event_name,
				    (unsigned long long)top->weight, (unsigned long long)ev->total);
		pk_finding_recommend(f, "In %s, reserve the final capacity up front, or grow the buffer "
				     "geometrically (double the capacity when full) instead of by the size "
				     "of each append.  'perfkitd run --alloc' counts the reallocs and their "
				     "steps.", pk_ev_name(ev, top->function_id));
		pk_finding_number(f, "realloc_samples", (double)top->weight);
		pk_finding_number(f, "realloc_share", share);
		pk_finding_number(f, "all_realloc_samples", (double)m.weight);
		for (size_t i = 0; i < m.n_matched; i++)
			pk_finding_cover(f, m.matched[i]);
		pk_finding_paths(f, ev, m.top_function);
	}
	pk_match_release(&m);
}

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	if (ev->alloc)
		from_alloc_data(rule, ev, out);
	/* perfkitd's allocation data has no realloc steps: CPU samples
	 * still show the growth. */
	if (ev->profile->n_samples >= PK_AN_MIN_RULE_SAMPLES)
		from_samples(rule, ev, out);
}

const struct pk_rule pk_rule_excessive_allocation = {
	.name = "excessive-allocation",
	.category = "memory",
	.summary = "one site allocates very often (small blocks, realloc by small steps)",
	.explain =
		"With allocation data (perfkitd --alloc): a call site with at least\n"
		"PK_AN_ALLOC_MIN_COUNT (10,000) allocations of at most\n"
		"PK_AN_SMALL_ALLOC_BYTES (256) bytes on average, or at least\n"
		"PK_AN_REALLOC_MIN_COUNT (1,000) reallocs growing a block by at most\n"
		"PK_AN_REALLOC_SMALL_STEP (64) bytes per step; the impact is the site's\n"
		"share of all allocation calls.  From CPU samples: the time inside\n"
		"realloc under its heaviest caller, as a share of all samples (time in\n"
		"malloc and free is reported by allocator-overhead).",
	.needs = "--alloc for counts and sizes; CPU samples for realloc growth",
	.kind = PK_RULE_REFINED,
	.levels = PK_AN_LEVELS_EXCESSIVE_ALLOC,
	.run = run,
};

/*
 * memory-copying.c - rule "memory-copying": much of the time is spent
 * inside memcpy, memmove, memset and their glibc variants
 * (__memmove_avx_unaligned_erms, __memset_evex_unaligned_erms...),
 * reported at the caller that copies most.
 */
#include <stdlib.h>

#include "src/analyze.h"

static const char *const copy_functions[] = {
	"memcpy*", "memmove*", "mempcpy*", "memset*", "wmemset*", "wmemcpy*", "wmemmove*",
	"bcopy", "bzero*", "explicit_bzero", NULL
};

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	struct pk_match m;
	struct pk_finding *f;
	double share, caller_share;
	enum pk_severity sev;
	const struct pk_caller_ev *top;
	char *loc;

	pk_ev_match(ev, copy_functions, 1, &m);
	share = pk_ev_share(ev, m.weight);
	sev = pk_severity_of(share, &rule->levels);
	if (sev == PK_SEV_NONE || !m.n_callers) {
		pk_match_release(&m);
		return;
	}
	top = &m.callers[0];
	caller_share = pk_ev_share(ev, top->weight);
	f = pk_finding_add(out, rule, sev, share);
	loc = pk_ev_location(ev, top->function_id);
	pk_finding_location(f, "%s", loc);
	free(loc);
	pk_finding_describe(f, "%.1f%% of the %s samples are spent copying or filling memory (%s and "
			    "variants: %llu of %llu samples); %s makes %.1f%% of it (%.1f%% of all samples).",
			    100.0 * share, ev->profile->event_name, pk_ev_name(ev, m.top_function),
			    (unsigned long long)m.weight, (unsigned long long)ev->total,
			    pk_ev_name(ev, top->function_id),
			    m.weight ? 100.0 * (double)top->weight / (double)m.weight : 0.0,
			    100.0 * caller_share);
	pk_finding_recommend(f, "Copy less in %s: pass pointers or views instead of copies, move "
			     "instead of copy, reuse a buffer instead of clearing it, copy only the "
			     "part that changed, or restructure the data so it is written once in place.",
			     pk_ev_name(ev, top->function_id));
	pk_finding_number(f, "copy_samples", (double)m.weight);
	pk_finding_number(f, "copy_share", share);
	pk_finding_number(f, "top_caller_samples", (double)top->weight);
	pk_finding_number(f, "top_caller_share", caller_share);
	pk_finding_number(f, "callers", (double)m.n_callers);
	for (size_t i = 0; i < m.n_matched; i++)
		pk_finding_cover(f, m.matched[i]);
	pk_finding_paths(f, ev, m.top_function);
	pk_match_release(&m);
}

const struct pk_rule pk_rule_memory_copying = {
	.name = "memory-copying",
	.category = "memory",
	.summary = "much time in memcpy/memmove/memset",
	.explain =
		"Reads the self samples of memcpy, memmove, mempcpy, memset, bzero and\n"
		"their glibc implementations (__memmove_avx_unaligned_erms and the\n"
		"like), added up, as a share of all samples, and finds the function\n"
		"that calls them most.  Copying is rarely the work a program exists to\n"
		"do: a large share means data is duplicated, cleared or moved more\n"
		"often than needed.",
	.needs = "CPU or wall samples",
	.kind = PK_RULE_SPECIFIC,
	.sample_based = 1,
	.levels = PK_AN_LEVELS_MEMORY_COPY,
	.run = run,
};

/*
 * slow-function.c - rule "slow-function": one function's own code (its
 * self samples) takes a large share of the profile.  The most generic
 * rule: a more specific finding about the same function (memory copying
 * for memcpy, string scanning for strlen...) hides it.
 */
#include <stdlib.h>

#include "src/analyze.h"

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	size_t i;

	for (i = 0; i < ev->n_funcs; i++) {
		const struct pk_func_stat *fs = &ev->funcs[i];
		uint64_t self = pk_ev_oncpu_self(ev, fs);
		double share = pk_ev_share(ev, self);
		enum pk_severity sev = pk_severity_of(share, &rule->levels);
		struct pk_finding *f;
		char *loc;

		if (sev == PK_SEV_NONE || pk_ev_instrumentation(ev, fs->function_id))
			continue;
		f = pk_finding_add(out, rule, sev, share);
		loc = pk_ev_location(ev, fs->function_id);
		pk_finding_location(f, "%s", loc);
		free(loc);
		pk_finding_describe(f, "%s runs its own code in %.1f%% of the %s samples (%llu of %llu; %.1f%% "
				    "including its callees).",
				    pk_ev_name(ev, fs->function_id), 100.0 * share,
				    ev->profile->event_name, (unsigned long long)self,
				    (unsigned long long)ev->total, 100.0 * pk_ev_share(ev, fs->total));
		pk_finding_recommend(f, "Optimize %s first: look at its hottest lines ('perfkit report' "
				     "shows the source line), reduce the work per call or the number of "
				     "calls on the paths below, or use a cheaper algorithm or data structure.",
				     pk_ev_name(ev, fs->function_id));
		pk_finding_number(f, "self_samples", (double)self);
		pk_finding_number(f, "total_samples", (double)fs->total);
		pk_finding_number(f, "self_share", share);
		pk_finding_number(f, "total_share", pk_ev_share(ev, fs->total));
		pk_finding_cover(f, fs->function_id);
		pk_finding_paths(f, ev, fs->function_id);
	}
}

const struct pk_rule pk_rule_slow_function = {
	.name = "slow-function",
	.category = "cpu",
	.summary = "one function's own code takes a large share of the samples",
	.explain =
		"Reads the self samples of every function (samples in which it was the\n"
		"running function, the leaf of the stack) as a share of all counted\n"
		"samples; in wall mode only the samples taken while the thread ran.  A\n"
		"function with a large self share is where time goes: making it\n"
		"cheaper, or calling it less, pays back in proportion.  The finding\n"
		"lists the heaviest call paths that reach the function.  A more specific\n"
		"rule about the same function (memory-copying, string-scanning,\n"
		"allocator-overhead, lock-contention, syscall-heavy) replaces it.",
	.needs = "CPU or wall samples",
	.kind = PK_RULE_GENERIC,
	.sample_based = 1,
	.levels = PK_AN_LEVELS_SLOW_FUNCTION,
	.run = run,
};

/*
 * cache-unfriendly.c - rule "cache-unfriendly": a hot function misses
 * the data cache often.  Needs cache data: hardware counters sampled per
 * function (perfkitd --counters --sample-on) or a cachegrind simulation
 * (--cache-sim); the finding says which one it read.
 */
#include <math.h>

#include "src/analyze.h"

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	for (size_t i = 0; i < ev->n_cache; i++) {
		const struct pk_cache_ev *c = &ev->cache[i];
		double ratio = isfinite(c->d1_miss_ratio) ? c->d1_miss_ratio : c->ll_miss_ratio;
		const char *level = isfinite(c->d1_miss_ratio) ? "D1" : "last-level";
		enum pk_severity sev = pk_severity_of(ratio, &rule->levels);
		struct pk_finding *f;

		if (sev == PK_SEV_NONE || !(c->refs_share >= PK_AN_CACHE_MIN_SHARE))
			continue;
		f = pk_finding_add(out, rule, sev, ratio);
		pk_finding_location(f, "%s", c->function ? c->function : "[unknown]");
		pk_finding_describe(f, "%s misses the %s cache on %.1f%% of its data accesses%s%.1f "
				    "misses per 1000 instructions; it makes %.1f%% of the data references "
				    "(source: %s).",
				    c->function, level, 100.0 * ratio,
				    isfinite(c->d1_mpki) ? ", " : "", isfinite(c->d1_mpki) ? c->d1_mpki : 0.0,
				    100.0 * c->refs_share, c->source ? c->source : "unknown");
		pk_finding_recommend(f, "Make %s walk memory in address order (row by row, not column "
				     "by column), keep the fields used together in the same cache line "
				     "(structure of arrays for hot loops), block loops to fit the cache, "
				     "and prefer arrays to linked structures.", c->function);
		pk_finding_number(f, "miss_ratio", ratio);
		if (isfinite(c->d1_miss_ratio))
			pk_finding_number(f, "d1_miss_ratio", c->d1_miss_ratio);
		if (isfinite(c->ll_miss_ratio))
			pk_finding_number(f, "ll_miss_ratio", c->ll_miss_ratio);
		if (isfinite(c->d1_mpki))
			pk_finding_number(f, "d1_mpki", c->d1_mpki);
		pk_finding_number(f, "refs_share", c->refs_share);
		pk_finding_cover(f, c->function_id);
	}
}

const struct pk_rule pk_rule_cache_unfriendly = {
	.name = "cache-unfriendly",
	.category = "cache",
	.summary = "a hot function misses the data cache often",
	.explain =
		"Needs cache data: hardware counters sampled per function (perfkitd\n"
		"--counters --sample-on cache-misses, on a machine with a PMU) or a\n"
		"simulation (perfkitd run --cache-sim, valgrind's cachegrind).  For\n"
		"functions with at least PK_AN_CACHE_MIN_SHARE (5%) of the data\n"
		"references, the D1 miss ratio (else the last-level one) is the impact.\n"
		"The finding names its source: measured by hardware, or simulated with\n"
		"the stated cache geometry.  Page faults are not used as a cache proxy.",
	.needs = "--counters --sample-on cache-misses (PMU), or --cache-sim",
	.kind = PK_RULE_SPECIFIC,
	.levels = PK_AN_LEVELS_CACHE,
	.run = run,
};

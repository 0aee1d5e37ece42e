/*
 * profile-quality.c - rule "profile-quality": the profile itself cannot
 * support conclusions - too few samples, many stacks that did not reach
 * main, or many samples in code without symbols.
 */
#include <math.h>
#include <string.h>

#include "src/analyze.h"

static enum pk_severity few_samples_severity(uint64_t n)
{
	if (n < PK_AN_SAMPLES_CRITICAL)
		return PK_SEV_CRITICAL;
	if (n < PK_AN_SAMPLES_HIGH)
		return PK_SEV_HIGH;
	if (n < PK_AN_SAMPLES_MEDIUM)
		return PK_SEV_MEDIUM;
	if (n < PK_AN_SAMPLES_LOW)
		return PK_SEV_LOW;
	return PK_SEV_NONE;
}

/* A name the symbolizer could not resolve: "[unknown]" or "module+0x..." */
static int unnamed(const char *name)
{
	return !strcmp(name, "[unknown]") || strstr(name, "+0x") != NULL;
}

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	const struct pk_profile *p = ev->profile;
	uint64_t n = p->n_samples, unknown = 0;
	const char *mode = p->session.mode ? p->session.mode : "cpu";
	/* A session that did not sample (--cache-sim runs the program under
	 * a simulator) has no samples to count. */
	int sampling = !strcmp(mode, "cpu") || !strcmp(mode, "wall");
	enum pk_severity sev = sampling ? few_samples_severity(n) : PK_SEV_NONE;
	struct pk_finding *f;

	if (sev != PK_SEV_NONE) {
		/* Impact: the relative standard error of a 10% share. */
		double impact = n ? sqrt(0.9 / (0.1 * (double)n)) : 1.0;

		f = pk_finding_add(out, rule, sev, impact > 1 ? 1 : impact);
		pk_finding_location(f, "session");
		pk_finding_describe(f, "Only %llu samples were counted: a function holding 10%% of the time "
				    "is measured within +/-%.0f%% of its value (one standard error).  "
				    "Conclusions need at least %d samples.",
				    (unsigned long long)n, 100.0 * impact, PK_AN_SAMPLES_LOW);
		pk_finding_recommend(f, "Record longer (-d/--duration, or a longer workload) or raise the "
				     "sampling rate (-F 999), so that the profile holds at least %d samples.",
				     PK_AN_SAMPLES_LOW);
		pk_finding_number(f, "samples", (double)n);
		pk_finding_number(f, "relative_error_10pct", impact);
		if (isfinite(ev->stat_achieved_hz))
			pk_finding_number(f, "achieved_hz", ev->stat_achieved_hz);
	}
	if (n && isfinite(ev->stat_complete_stacks) && isfinite(ev->stat_samples) && ev->stat_samples > 0) {
		/* Stacks cut at the recorder's frame limit are deep, not broken:
		 * deep-stack reports them. */
		uint64_t cut = 0;
		double incomplete;

		for (size_t i = 0; i < p->symtab.n_nodes; i++)
			if (p->symtab.nodes[i].depth >= PK_AN_STACK_LIMIT)
				cut += p->node_self[i];
		incomplete = (ev->stat_samples - ev->stat_complete_stacks) / ev->stat_samples - pk_ev_share(ev, cut);

		sev = pk_severity_of(incomplete, &rule->levels);
		if (sev != PK_SEV_NONE) {
			f = pk_finding_add(out, rule, sev, incomplete);
			pk_finding_location(f, "session");
			pk_finding_describe(f, "%.1f%% of the samples have a stack that did not reach main or "
					    "the thread's start (%.0f of %.0f complete; %.0f unwind failures): "
					    "inclusive times and call paths are undercounted.",
					    100.0 * incomplete, ev->stat_complete_stacks, ev->stat_samples,
					    isfinite(ev->stat_unwind_failures) ? ev->stat_unwind_failures : 0.0);
			pk_finding_recommend(f, "Install debug symbols for the program and its libraries "
					     "(the -dbg/-dbgsym packages, or build with -g), keep unwind "
					     "tables (no -fno-asynchronous-unwind-tables), or build with "
					     "-fno-omit-frame-pointer; for very deep stacks raise --stack-size.");
			pk_finding_number(f, "incomplete_share", incomplete);
			pk_finding_number(f, "complete_stacks", ev->stat_complete_stacks);
			pk_finding_number(f, "samples", ev->stat_samples);
			if (isfinite(ev->stat_unwind_failures))
				pk_finding_number(f, "unwind_failures", ev->stat_unwind_failures);
		}
	}
	for (size_t i = 0; i < ev->n_funcs; i++)
		if (unnamed(pk_ev_name(ev, ev->funcs[i].function_id)) &&
		    !pk_ev_instrumentation(ev, ev->funcs[i].function_id))
			unknown += ev->funcs[i].self;
	sev = pk_severity_of(pk_ev_share(ev, unknown), &rule->levels);
	if (sev != PK_SEV_NONE) {
		f = pk_finding_add(out, rule, sev, pk_ev_share(ev, unknown));
		pk_finding_location(f, "session");
		pk_finding_describe(f, "%.1f%% of the samples (%llu of %llu) stopped in code without a "
				    "symbol name (shown as module+0xoffset).",
				    100.0 * pk_ev_share(ev, unknown), (unsigned long long)unknown,
				    (unsigned long long)ev->total);
		pk_finding_recommend(f, "Install debug symbols for the modules named in 'perfkit report' "
				     "(e.g. libc6-dbg, or the -dbgsym package), and do not strip the "
				     "program's symbol table (no -s).");
		pk_finding_number(f, "unnamed_samples", (double)unknown);
		pk_finding_number(f, "unnamed_share", pk_ev_share(ev, unknown));
	}
}

const struct pk_rule pk_rule_profile_quality = {
	.name = "profile-quality",
	.category = "profile",
	.summary = "too few samples, incomplete stacks or missing symbols",
	.explain =
		"Checks that the profile can support conclusions: the number of counted\n"
		"samples (fewer than PK_AN_SAMPLES_LOW / MEDIUM / HIGH / CRITICAL = 500 /\n"
		"200 / 50 / 10 is low / medium / high / critical: a 10% share measured\n"
		"from n samples has a relative standard error of sqrt(0.9 / (0.1 n))),\n"
		"the share of samples whose stack did not reach main or the thread's\n"
		"start routine (recorder statistic complete_stacks; stacks cut at the\n"
		"recorder's frame limit are left to deep-stack), and the share of\n"
		"samples whose leaf has no symbol name.",
	.needs = "any session",
	.kind = PK_RULE_SPECIFIC,
	.levels = PK_AN_LEVELS_INCOMPLETE,
	.run = run,
};

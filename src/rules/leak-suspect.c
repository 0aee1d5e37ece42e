/*
 * leak-suspect.c - rule "leak-suspect": memory still allocated at the
 * end of the session, by site, and live memory that rises steadily over
 * the timeline.  Needs allocation data (perfkitd --alloc).
 */
#include "src/analyze.h"

/* Does the timeline rise steadily (see analyze-thresholds.h)? */
static int rising(const struct pk_alloc_ev *a)
{
	size_t n = a->n_timeline, up = 0, i;

	if (n < 8)
		return 0;
	for (i = 1; i < n; i++)
		up += a->timeline[i] > a->timeline[i - 1];
	return (double)up >= PK_AN_RISING_STEPS * (double)(n - 1) &&
	       a->timeline[n - 1] >= 2 * a->timeline[n / 4] && a->timeline[n - 1] > 0;
}

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	const struct pk_alloc_ev *a = ev->alloc;
	struct pk_finding *f;

	if (!a || !a->peak_bytes)
		return;
	for (size_t i = 0; i < a->n_sites; i++) {
		const struct pk_alloc_site_ev *s = &a->sites[i];
		double share = (double)s->live_bytes / (double)a->peak_bytes;
		enum pk_severity sev = pk_severity_of(share, &rule->levels);

		if (sev == PK_SEV_NONE || s->live_bytes < PK_AN_LEAK_MIN_BYTES)
			continue;
		f = pk_finding_add(out, rule, sev, share);
		pk_finding_location(f, "%s", s->function ? s->function : "[unknown]");
		pk_finding_describe(f, "%llu bytes in %llu blocks allocated by %s were %s at the end "
				    "(%.1f%% of the peak of %llu live bytes; %llu allocated there in all).",
				    (unsigned long long)s->live_bytes, (unsigned long long)s->live_count,
				    s->function, a->target_exited ? "never freed" : "still live",
				    100.0 * share, (unsigned long long)a->peak_bytes,
				    (unsigned long long)s->bytes);
		pk_finding_recommend(f, "Find who owns the blocks from %s and free them when done "
				     "('perfkit allocs SESSION --leaks' lists the stacks); in C++ hold them "
				     "in std::unique_ptr or a container.  Caches should be bounded.",
				     s->function ? s->function : "this site");
		pk_finding_number(f, "live_bytes", (double)s->live_bytes);
		pk_finding_number(f, "live_count", (double)s->live_count);
		pk_finding_number(f, "peak_share", share);
		pk_finding_number(f, "bytes", (double)s->bytes);
		pk_finding_number(f, "target_exited", a->target_exited ? 1 : 0);
		pk_finding_cover(f, s->function_id);
	}
	if (rising(a)) {
		double share = (double)a->timeline[a->n_timeline - 1] / (double)a->peak_bytes;
		enum pk_severity sev = pk_severity_of(share, &rule->levels);

		if (sev == PK_SEV_NONE)
			return;
		f = pk_finding_add(out, rule, sev, share);
		pk_finding_location(f, "whole program (timeline)");
		pk_finding_describe(f, "Live memory rose steadily during the session: from %llu bytes at "
				    "a quarter of the run to %llu at the end.",
				    (unsigned long long)a->timeline[a->n_timeline / 4],
				    (unsigned long long)a->timeline[a->n_timeline - 1]);
		pk_finding_recommend(f, "Memory that only grows is a leak or an unbounded cache: compare "
				     "'perfkit allocs SESSION --leaks' at two durations to see which site "
				     "grows.");
		pk_finding_number(f, "start_bytes", (double)a->timeline[a->n_timeline / 4]);
		pk_finding_number(f, "end_bytes", (double)a->timeline[a->n_timeline - 1]);
		pk_finding_number(f, "peak_share", share);
	}
}

const struct pk_rule pk_rule_leak_suspect = {
	.name = "leak-suspect",
	.category = "memory",
	.summary = "memory never freed, or live memory rising steadily",
	.explain =
		"Needs allocation data (perfkitd --alloc).  For each call site, the\n"
		"bytes still allocated at the end of the session (never freed, when the\n"
		"target exited) as a share of the peak of live bytes; sites with less\n"
		"than PK_AN_LEAK_MIN_BYTES (4096) live are ignored.  Also: live bytes\n"
		"that grew in at least PK_AN_RISING_STEPS (75%) of the timeline's steps\n"
		"and ended at least twice as high as at a quarter of the run.",
	.needs = "--alloc",
	/* A leak explains the memory its site holds: it hides a
	 * large-allocation finding for the same site. */
	.kind = PK_RULE_REFINED,
	.levels = PK_AN_LEVELS_LEAK,
	.run = run,
};

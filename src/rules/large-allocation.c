/*
 * large-allocation.c - rule "large-allocation": single allocations of
 * at least PK_AN_LARGE_ALLOC_BYTES, or one site holding most of the peak
 * of live memory.  Needs allocation data (perfkitd --alloc).
 */
#include "src/analyze.h"

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	const struct pk_alloc_ev *a = ev->alloc;

	if (!a || !a->peak_bytes)
		return;
	for (size_t i = 0; i < a->n_sites; i++) {
		const struct pk_alloc_site_ev *s = &a->sites[i];
		/* The least the site held at once: its live bytes at the end,
		 * its largest block, the peak of one of its stacks. */
		uint64_t held = s->live_bytes > s->max_size ? s->live_bytes : s->max_size;

		if (s->peak_bytes > held)
			held = s->peak_bytes;
		double share = (double)held / (double)a->peak_bytes;
		int huge = s->max_size >= PK_AN_LARGE_ALLOC_BYTES;
		enum pk_severity sev;
		struct pk_finding *f;

		if (share > 1)
			share = 1;
		sev = pk_severity_of(share, &rule->levels);
		if (sev == PK_SEV_NONE && huge)
			sev = PK_SEV_LOW;
		if (sev == PK_SEV_NONE)
			continue;
		f = pk_finding_add(out, rule, sev, share);
		pk_finding_location(f, "%s", s->function ? s->function : "[unknown]");
		pk_finding_describe(f, "%s held up to %llu bytes at once (largest block seen: %llu bytes): "
				    "at least %.1f%% of the peak of %llu live bytes.",
				    s->function, (unsigned long long)held, (unsigned long long)s->max_size,
				    100.0 * share, (unsigned long long)a->peak_bytes);
		pk_finding_recommend(f, "Stream or process the data in chunks instead of holding it whole, "
				     "map files with mmap instead of reading them into memory, free "
				     "large buffers as soon as they are done, or size them to the input.");
		pk_finding_number(f, "max_size", (double)s->max_size);
		pk_finding_number(f, "peak_share", share);
		pk_finding_number(f, "peak_bytes", (double)a->peak_bytes);
		pk_finding_number(f, "bytes", (double)s->bytes);
		pk_finding_cover(f, s->function_id);
	}
}

const struct pk_rule pk_rule_large_allocation = {
	.name = "large-allocation",
	.category = "memory",
	.summary = "huge single allocations, or one site holding most of the peak",
	.explain =
		"Needs allocation data (perfkitd --alloc).  For each call site, the\n"
		"bytes it surely held at once (its largest block, the peak of one of\n"
		"its stacks, or what it still holds at the end) as a share of the\n"
		"session's peak of live bytes; a\n"
		"single allocation of at least PK_AN_LARGE_ALLOC_BYTES (64 MiB) is\n"
		"reported at least as low.  Memory held at the peak decides how much RAM\n"
		"the program needs.",
	.needs = "--alloc",
	.kind = PK_RULE_SPECIFIC,
	.levels = PK_AN_LEVELS_LARGE_ALLOC,
	.run = run,
};

/*
 * string-scanning.c - rule "string-scanning": strlen, strcmp and the
 * other functions that walk a string byte by byte are hot under one
 * caller - typically a length recomputed in a loop condition, or a
 * linear search by string comparison.
 */
#include <stdlib.h>

#include "src/analyze.h"

static const char *const scan_functions[] = {
	"strlen*", "strnlen*", "wcslen*", "wcsnlen*", "strcmp*", "strncmp*", "strcasecmp*",
	"strncasecmp*", "wcscmp*", "wcsncmp*", "strchr*", "strchrnul*", "strrchr*", "strstr*",
	"strcasestr*", "strspn*", "strcspn*", "strpbrk*", "memchr*", "memrchr*", "rawmemchr*",
	"wcschr*", "wmemchr*", NULL
};

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	struct pk_match m;
	struct pk_finding *f;
	double share;
	enum pk_severity sev;
	const struct pk_caller_ev *top;
	char *loc;

	pk_ev_match(ev, scan_functions, 1, &m);
	if (!m.n_callers) {
		pk_match_release(&m);
		return;
	}
	top = &m.callers[0];
	share = pk_ev_share(ev, top->weight);
	sev = pk_severity_of(share, &rule->levels);
	if (sev == PK_SEV_NONE) {
		pk_match_release(&m);
		return;
	}
	f = pk_finding_add(out, rule, sev, share);
	loc = pk_ev_location(ev, top->function_id);
	pk_finding_location(f, "%s", loc);
	free(loc);
	pk_finding_describe(f, "%s spends %.1f%% of the %s samples scanning strings (%s and similar: "
			    "%llu of %llu samples; %.1f%% in all callers together).",
			    pk_ev_name(ev, top->function_id), 100.0 * share, ev->profile->event_name,
			    pk_ev_name(ev, m.top_function), (unsigned long long)top->weight,
			    (unsigned long long)ev->total, 100.0 * pk_ev_share(ev, m.weight));
	pk_finding_recommend(f, "In %s, compute string lengths once and keep them (a strlen in a "
			     "loop condition makes the loop quadratic), compare lengths or hashes "
			     "before bytes, and replace linear searches by string comparison with a "
			     "hash table or a sorted index.",
			     pk_ev_name(ev, top->function_id));
	pk_finding_number(f, "scan_samples", (double)m.weight);
	pk_finding_number(f, "scan_share", pk_ev_share(ev, m.weight));
	pk_finding_number(f, "top_caller_samples", (double)top->weight);
	pk_finding_number(f, "top_caller_share", share);
	pk_finding_number(f, "callers", (double)m.n_callers);
	for (size_t i = 0; i < m.n_matched; i++)
		pk_finding_cover(f, m.matched[i]);
	pk_finding_paths(f, ev, m.top_function);
	pk_match_release(&m);
}

const struct pk_rule pk_rule_string_scanning = {
	.name = "string-scanning",
	.category = "cpu",
	.summary = "strlen/strcmp and friends hot under one caller",
	.explain =
		"Reads the self samples of the string-walking functions (strlen, strnlen,\n"
		"strcmp, strncmp, strcasecmp, strchr, strrchr, strstr, strspn, memchr,\n"
		"their wide and glibc-optimized variants such as __strlen_avx2), grouped\n"
		"by the function that calls them.  The impact is the share of all\n"
		"samples under the one heaviest caller: a single caller that keeps\n"
		"re-scanning strings usually recomputes a length in a loop or searches\n"
		"linearly by name.",
	.needs = "CPU or wall samples",
	.kind = PK_RULE_SPECIFIC,
	.sample_based = 1,
	.levels = PK_AN_LEVELS_STRING_SCAN,
	.run = run,
};

/*
 * deep-stack.c - rule "deep-stack": samples taken in very deep stacks,
 * above all deep recursion (one function many times on one stack).
 * Deep recursion risks overflowing the thread's stack on a larger input
 * and spends time in call overhead; the severity is the share of samples
 * taken that deep, capped at high.
 */
#include <stdlib.h>

#include "src/analyze.h"
#include "util.h"

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	const struct pk_profile *p = ev->profile;
	size_t nf = p->symtab.n_functions, i;
	uint32_t *count = pk_xcalloc(nf + 1, sizeof(*count));
	uint32_t *stamp = pk_xcalloc(nf + 1, sizeof(*stamp));
	uint64_t *deep_by_fn = pk_xcalloc(nf + 1, sizeof(*deep_by_fn));
	uint32_t *max_repeat = pk_xcalloc(nf + 1, sizeof(*max_repeat));
	uint64_t deep_weight = 0, recursion_weight = 0;
	int max_depth = 0;
	uint32_t gen = 0;
	int64_t worst = 0;
	struct pk_finding *f;
	double share;
	enum pk_severity sev;

	for (i = 0; i < p->symtab.n_nodes; i++) {
		uint64_t w = p->node_self[i];
		int depth = p->symtab.nodes[i].depth;
		int64_t id = (int64_t)i + 1, rec_fn = 0;
		uint32_t rec = 0;

		if (!w)
			continue;
		if (depth > max_depth)
			max_depth = depth;
		gen++;
		while (id > 0) {
			int64_t fn = pk_profile_node_function(p, id), parent = p->symtab.nodes[id - 1].parent;

			if (fn > 0 && (size_t)fn <= nf) {
				if (stamp[fn] != gen) {
					stamp[fn] = gen;
					count[fn] = 0;
				}
				if (++count[fn] > rec) {
					rec = count[fn];
					rec_fn = fn;
				}
			}
			if (parent >= id)
				break;
			id = parent;
		}
		if (rec >= PK_AN_RECURSION_DEPTH) {
			recursion_weight += w;
			deep_by_fn[rec_fn] += w;
			if (rec > max_repeat[rec_fn])
				max_repeat[rec_fn] = rec;
		}
		if (depth >= PK_AN_STACK_DEPTH || rec >= PK_AN_RECURSION_DEPTH)
			deep_weight += w;
	}
	for (i = 1; i <= nf; i++)
		if (deep_by_fn[i] > deep_by_fn[worst])
			worst = (int64_t)i;

	share = pk_ev_share(ev, deep_weight);
	sev = pk_severity_of(share, &rule->levels);
	if (sev != PK_SEV_NONE) {
		int cut = max_depth >= PK_AN_STACK_LIMIT;
		char *loc;

		f = pk_finding_add(out, rule, sev, share);
		if (worst) {
			loc = pk_ev_location(ev, worst);
			pk_finding_location(f, "%s", loc);
			free(loc);
			pk_finding_describe(f, "%s recurses %s%u levels deep; %.1f%% of the samples (%llu of %llu) "
					    "were taken in stacks with at least %d levels of recursion%s.",
					    pk_ev_name(ev, worst), cut ? "at least " : "", max_repeat[worst],
					    100.0 * pk_ev_share(ev, deep_by_fn[worst]),
					    (unsigned long long)deep_by_fn[worst], (unsigned long long)ev->total,
					    PK_AN_RECURSION_DEPTH,
					    cut ? " (the stacks were cut at the recorder's frame limit: the real "
						  "depth is larger)" : "");
			pk_finding_recommend(f, "Turn the recursion in %s into a loop with an explicit stack "
					     "(or make it a tail call the compiler can turn into a jump), or "
					     "bound its depth: each level costs a call and a stack frame, and "
					     "a deeper input overflows the thread's stack.",
					     pk_ev_name(ev, worst));
			pk_finding_cover(f, worst);
			pk_finding_paths(f, ev, worst);
		} else {
			pk_finding_location(f, "call stack");
			pk_finding_describe(f, "%.1f%% of the samples (%llu of %llu) were taken in stacks at "
					    "least %d frames deep (deepest %s%d).",
					    100.0 * share, (unsigned long long)deep_weight,
					    (unsigned long long)ev->total, PK_AN_STACK_DEPTH,
					    cut ? "at least " : "", max_depth);
			pk_finding_recommend(f, "Flatten the layering on the hot paths (wrappers, adapters, "
					     "callbacks), and check the thread stack size: deep stacks cost "
					     "calls and risk overflow.");
		}
		pk_finding_number(f, "deep_samples", (double)deep_weight);
		pk_finding_number(f, "deep_share", share);
		pk_finding_number(f, "recursion_samples", (double)recursion_weight);
		pk_finding_number(f, "max_recursion", worst ? (double)max_repeat[worst] : 0);
		pk_finding_number(f, "max_depth", (double)max_depth);
		pk_finding_number(f, "truncated", cut ? 1 : 0);
	}
	free(count);
	free(stamp);
	free(deep_by_fn);
	free(max_repeat);
}

const struct pk_rule pk_rule_deep_stack = {
	.name = "deep-stack",
	.category = "stack",
	.summary = "deep recursion or very deep call stacks",
	.explain =
		"Walks the stack of every sampled leaf and counts, per stack, how many\n"
		"times the most repeated function appears (recursion depth) and how\n"
		"many frames it has.  A sample counts as deep when one function repeats\n"
		"at least PK_AN_RECURSION_DEPTH (100) times or the stack has at least\n"
		"PK_AN_STACK_DEPTH (256) frames; the impact is the share of deep\n"
		"samples.  Severity stops at high: depth is a risk (stack overflow on a\n"
		"larger input) and a call overhead, rarely the main cost.  perfkitd keeps\n"
		"at most 1,024 frames per sample, so deeper stacks are reported as \"at\n"
		"least\".",
	.needs = "CPU or wall samples",
	.kind = PK_RULE_SPECIFIC,
	.sample_based = 1,
	.levels = PK_AN_LEVELS_DEEP_STACK,
	.run = run,
};

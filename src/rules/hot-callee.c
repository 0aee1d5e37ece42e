/*
 * hot-callee.c - rule "hot-callee": a function called from one caller's
 * loop dominates - the caller runs code of its own between the calls
 * (or, with function probes, the callee is called very often and each
 * call is short).  The cure is at the call site: hoist, precompute,
 * batch, inline.
 */
#include <stdlib.h>
#include <string.h>

#include "src/analyze.h"
#include "util.h"

struct pair {
	int64_t caller, callee;
	uint64_t weight;
};

static int cmp_pair_ids(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->caller != y->caller)
		return x->caller < y->caller ? -1 : 1;
	return x->callee < y->callee ? -1 : x->callee > y->callee;
}

static int cmp_pair_weight(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return cmp_pair_ids(a, b);
}

static const struct pk_probe_ev *probe_of(const struct pk_evidence *ev, int64_t function_id)
{
	for (size_t i = 0; i < ev->n_probes; i++)
		if (ev->probes[i].function_id == function_id)
			return &ev->probes[i];
	return NULL;
}

static uint64_t oncpu_self_of(const struct pk_evidence *ev, int64_t function_id)
{
	for (size_t i = 0; i < ev->n_funcs; i++)
		if (ev->funcs[i].function_id == function_id)
			return pk_ev_oncpu_self(ev, &ev->funcs[i]);
	return 0;
}

/* On-CPU self weight of every (caller, callee) pair, merged, heaviest
 * first. */
static struct pair *collect_pairs(const struct pk_evidence *ev, size_t *n_out)
{
	const struct pk_profile *p = ev->profile;
	struct pair *v = NULL;
	size_t n = 0, cap = 0, i, k;

	for (i = 0; i < p->symtab.n_nodes; i++) {
		uint64_t w = p->node_self[i] - (ev->node_offcpu ? ev->node_offcpu[i] : 0);
		int64_t parent = p->symtab.nodes[i].parent, callee, caller;

		if (!w || parent <= 0)
			continue;
		callee = pk_profile_node_function(p, (int64_t)i + 1);
		caller = pk_profile_node_function(p, parent);
		if (callee <= 0 || caller <= 0 || callee == caller || pk_ev_instrumentation(ev, callee))
			continue;
		pk_xgrow((void **)&v, &cap, n + 1, sizeof(*v));
		v[n].caller = caller;
		v[n].callee = callee;
		v[n].weight = w;
		n++;
	}
	if (!n) {
		*n_out = 0;
		return v;
	}
	qsort(v, n, sizeof(*v), cmp_pair_ids);
	for (i = 1, k = 0; i < n; i++) {
		if (!cmp_pair_ids(&v[i], &v[k]))
			v[k].weight += v[i].weight;
		else
			v[++k] = v[i];
	}
	n = k + 1;
	qsort(v, n, sizeof(*v), cmp_pair_weight);
	*n_out = n;
	return v;
}

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	size_t n, i;
	struct pair *v = collect_pairs(ev, &n);

	for (i = 0; i < n; i++) {
		double share = pk_ev_share(ev, v[i].weight);
		double caller_self = pk_ev_share(ev, oncpu_self_of(ev, v[i].caller));
		const struct pk_probe_ev *probe = probe_of(ev, v[i].callee);
		enum pk_severity sev = pk_severity_of(share, &rule->levels);
		int by_calls = probe && probe->calls >= PK_AN_HOT_CALLEE_MIN_CALLS &&
			       probe->avg_ns <= PK_AN_HOT_CALLEE_MAX_AVG_NS;
		struct pk_finding *f;
		char *loc;

		if (sev == PK_SEV_NONE)
			break;
		if (!by_calls && caller_self < PK_AN_HOT_CALLER_MIN_SELF)
			continue;
		f = pk_finding_add(out, rule, sev, share);
		loc = pk_ev_location(ev, v[i].caller);
		pk_finding_location(f, "%s -> %s", loc, pk_ev_name(ev, v[i].callee));
		free(loc);
		if (by_calls)
			pk_finding_describe(f, "%s, called %llu times (%.0f ns per call on average), takes "
					    "%.1f%% of the samples, from %s.",
					    pk_ev_name(ev, v[i].callee), (unsigned long long)probe->calls,
					    probe->avg_ns, 100.0 * share, pk_ev_name(ev, v[i].caller));
		else
			pk_finding_describe(f, "%s, called from a loop in %s (which runs %.1f%% of the samples "
					    "itself), takes %.1f%% of the samples under that caller (%llu of %llu).",
					    pk_ev_name(ev, v[i].callee), pk_ev_name(ev, v[i].caller),
					    100.0 * caller_self, 100.0 * share,
					    (unsigned long long)v[i].weight, (unsigned long long)ev->total);
		pk_finding_recommend(f, "Call %s less from %s: hoist loop-invariant calls out of the "
				     "loop, precompute or cache its result, batch the work into one call "
				     "over many items, or let the compiler inline it (static, LTO).",
				     pk_ev_name(ev, v[i].callee), pk_ev_name(ev, v[i].caller));
		pk_finding_number(f, "callee_samples", (double)v[i].weight);
		pk_finding_number(f, "callee_share", share);
		pk_finding_number(f, "caller_self_share", caller_self);
		if (probe) {
			pk_finding_number(f, "calls", (double)probe->calls);
			pk_finding_number(f, "avg_ns", probe->avg_ns);
		}
		pk_finding_cover(f, v[i].callee);
		pk_finding_paths(f, ev, v[i].callee);
	}
	free(v);
}

const struct pk_rule pk_rule_hot_callee = {
	.name = "hot-callee",
	.category = "cpu",
	.summary = "a function called in one caller's loop dominates",
	.explain =
		"Reads the self samples of each (caller, callee) pair: the callee running\n"
		"with that caller directly above it.  It fires when the pair holds a\n"
		"large share of the samples and the call is evidently repeated: the\n"
		"caller runs code of its own between the calls (at least 1% of the\n"
		"samples), or function probes (perfkitd --probe) counted at least\n"
		"10,000 calls of at most 10 us each.  Many cheap calls from one place\n"
		"are cheaper to remove at the call site than inside the callee.",
	.needs = "CPU or wall samples (--probe adds call counts and times)",
	.kind = PK_RULE_PATTERN,
	.sample_based = 1,
	.levels = PK_AN_LEVELS_HOT_CALLEE,
	.run = run,
};

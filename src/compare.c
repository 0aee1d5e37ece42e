/*
 * compare.c - build the comparison of two sessions (see compare.h): load
 * both profiles, aggregate self and total samples per matched function,
 * join the two sides, estimate times, run one test per function and
 * metric, and adjust the p-values together.  The exact quantities
 * (allocations, probes, counters) are added by compare-exact.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "src/compare.h"
#include "util.h"

const char *pk_compare_metric_name(enum pk_compare_metric m)
{
	switch (m) {
	case PK_METRIC_SELF_TIME:
		return "self_time";
	case PK_METRIC_TOTAL_TIME:
		return "total_time";
	case PK_METRIC_COUNT:
		break;
	}
	return "unknown";
}

const char *pk_compare_presence_name(enum pk_compare_presence p)
{
	return p == PK_PRESENT_ADDED ? "added" : p == PK_PRESENT_REMOVED ? "removed" : "both";
}

double pk_compare_speedup(double before, double after)
{
	if (!isfinite(before) || !isfinite(after) || before <= 0 || after <= 0)
		return NAN;
	return before / after;
}

int64_t pk_compare_main_module(const struct pk_profile *p)
{
	const struct pk_symtab *t = &p->symtab;
	char *cmd, *space;
	const char *base;
	int64_t found = 0;
	size_t i;

	for (i = 0; i < t->n_functions; i++)
		if (t->functions[i].name && !strcmp(t->functions[i].name, "main"))
			return t->functions[i].module_id;
	if (!p->session.command)
		return 0;
	cmd = pk_xstrdup(p->session.command);
	if ((space = strchr(cmd, ' ')))
		*space = '\0';
	base = pk_basename(cmd);
	for (i = 0; i < t->n_modules && !found; i++)
		if (t->modules[i].path && !strcmp(pk_basename(t->modules[i].path), base))
			found = (int64_t)i + 1;
	free(cmd);
	return found;
}

const char *pk_compare_module_key(const struct pk_profile *p, int64_t module_id, int64_t main_module)
{
	if (main_module && module_id == main_module)
		return "";
	return pk_basename(pk_profile_module_name(p, module_id));
}

/* ---- one side: samples per matched function ---------------------------- */

struct keyed_function {
	const char *name;     /* borrowed from the profile */
	const char *key;      /* module key: file name, "" = the program */
	const char *module;   /* file name of the module, for display */
	uint64_t self, total;       /* weight */
	uint64_t self_n, total_n;   /* samples */
};

struct side_functions {
	struct keyed_function *v;  /* sorted by (name, key), unique */
	size_t n;
};

struct function_ref {
	int64_t function_id;
	const char *name, *key, *module;
};

static int cmp_name_key(const char *n1, const char *k1, const char *n2, const char *k2)
{
	int c = strcmp(n1, n2);

	return c ? c : strcmp(k1, k2);
}

static int cmp_function_ref(const void *a, const void *b)
{
	const struct function_ref *x = a, *y = b;
	int c = cmp_name_key(x->name, x->key, y->name, y->key);

	if (c)
		return c;
	return x->function_id < y->function_id ? -1 : x->function_id > y->function_id;
}

/*
 * Self and total per (name, module key), in weight and in samples
 * (node_count, or the weight when NULL).  Functions of one session that
 * share a key (two modules with one file name) are merged, and "total"
 * still counts a sample once: each sampled leaf is walked to the root and
 * a key is counted the first time it is met on that walk.
 */
static void side_aggregate(const struct pk_profile *p, const uint64_t *node_count,
			   struct side_functions *out)
{
	const struct pk_symtab *t = &p->symtab;
	size_t nf = t->n_functions, nn = t->n_nodes, i;
	struct function_ref *refs = pk_xmalloc((nf + 1) * sizeof(*refs));
	size_t *key_of = pk_xmalloc((nf + 1) * sizeof(*key_of)); /* by function id */
	size_t *stamp;
	int64_t main_module = pk_compare_main_module(p);

	/* Function id 0 stands for frames without a function ("[unknown]"). */
	for (i = 0; i <= nf; i++) {
		int64_t mod = i ? t->functions[i - 1].module_id : 0;

		refs[i].function_id = (int64_t)i;
		refs[i].name = pk_profile_function_name(p, (int64_t)i);
		refs[i].key = i ? pk_compare_module_key(p, mod, main_module) : "";
		refs[i].module = i ? pk_basename(pk_profile_module_name(p, mod)) : "";
	}
	qsort(refs, nf + 1, sizeof(*refs), cmp_function_ref);
	out->v = pk_xcalloc(nf + 1, sizeof(*out->v));
	out->n = 0;
	for (i = 0; i <= nf; i++) {
		if (!out->n || cmp_name_key(refs[i].name, refs[i].key, out->v[out->n - 1].name,
					    out->v[out->n - 1].key)) {
			out->v[out->n].name = refs[i].name;
			out->v[out->n].key = refs[i].key;
			out->v[out->n].module = refs[i].module;
			out->n++;
		}
		key_of[refs[i].function_id] = out->n - 1;
	}
	free(refs);

	stamp = pk_xmalloc(out->n * sizeof(*stamp));
	memset(stamp, 0xff, out->n * sizeof(*stamp));
	for (i = 0; i < nn; i++) {
		uint64_t w = p->node_self[i], n = node_count ? node_count[i] : w;
		int64_t id = (int64_t)i + 1, fid;
		size_t guard = 0, k0;

		if (!w && !n)
			continue;
		fid = pk_profile_node_function(p, id);
		k0 = key_of[fid >= 1 && (size_t)fid <= nf ? (size_t)fid : 0];
		out->v[k0].self += w;
		out->v[k0].self_n += n;
		/* Parents come before children, so the walk ends; the guard
		 * stops a corrupt file. */
		while (id >= 1 && (size_t)id <= nn && guard++ <= nn) {
			size_t k;

			fid = pk_profile_node_function(p, id);
			k = key_of[fid >= 1 && (size_t)fid <= nf ? (size_t)fid : 0];
			if (stamp[k] != i) {
				stamp[k] = i;
				out->v[k].total += w;
				out->v[k].total_n += n;
			}
			if (t->nodes[id - 1].parent >= id)
				break;
			id = t->nodes[id - 1].parent;
		}
	}
	free(stamp);
	free(key_of);
}

/* ---- the comparison ---------------------------------------------------- */

static double stat_or_nan(struct pk_store *st, int64_t sid, const char *key)
{
	double v;

	if (pk_store_get_stat(st, sid, key, &v) != PK_STORE_OK || !isfinite(v))
		return NAN;
	return v;
}

static enum pk_compare_event_kind event_kind(const char *unit)
{
	if (!unit || !strcmp(unit, "samples"))
		return PK_EVENT_SAMPLES;
	return !strcmp(unit, "events") ? PK_EVENT_WEIGHTED : PK_EVENT_EXACT;
}

static int count_node_sample(void *opaque, const struct pk_sample *smp)
{
	struct pk_compare_side *s = opaque;
	const struct pk_profile *p = s->profile;

	if (smp->event == p->event && smp->stack_id > 0 && (uint64_t)smp->stack_id <= p->symtab.n_nodes)
		s->node_count[smp->stack_id - 1]++;
	return 0;
}

/*
 * One session's side.  For the cpu and wall events a sample weighs 1 and
 * the sampling rate turns counts into times; other events' samples
 * weigh their period (or bytes), so they are counted once more per stack
 * node, the tests needing counts.
 */
static int side_init(struct pk_store *st, const struct pk_profile *p, struct pk_compare_side *s)
{
	double user = stat_or_nan(st, p->session.id, "user_cpu_s");
	double sys = stat_or_nan(st, p->session.id, "sys_cpu_s");
	int rc;

	s->profile = p;
	s->wall_s = isfinite(p->duration_s) && p->duration_s >= 0 ? p->duration_s : NAN;
	s->cpu_s = isnan(user) || isnan(sys) ? NAN : user + sys;
	s->weight = p->total;
	if (event_kind(p->event_unit) == PK_EVENT_SAMPLES) {
		s->samples = p->total;
		s->rate_hz = p->sample_hz > 0 && isfinite(p->sample_hz) ? p->sample_hz : 0;
		s->sampled_s = s->rate_hz > 0 ? (double)s->samples / s->rate_hz : NAN;
		s->test_scale = p->session.frequency > 0 && s->rate_hz > p->session.frequency
					? p->session.frequency / s->rate_hz : 1.0;
		return PK_STORE_OK;
	}
	s->samples = p->n_samples;
	s->rate_hz = 0;
	s->sampled_s = NAN;
	s->test_scale = 1.0;
	s->node_count = pk_xcalloc(p->symtab.n_nodes ? p->symtab.n_nodes : 1, sizeof(*s->node_count));
	if (p->event <= 0)
		return PK_STORE_OK;
	rc = pk_store_foreach_sample(st, p->session.id, p->event, count_node_sample, s);
	return rc < 0 ? rc : PK_STORE_OK;
}

uint64_t pk_compare_weight_samples(const struct pk_compare_side *s, uint64_t weight)
{
	if (!s->node_count || s->weight == s->samples)
		return weight;
	if (!s->weight)
		return 0;
	return (uint64_t)llround((double)weight * (double)s->samples / (double)s->weight);
}

const char *pk_compare_value_unit(const struct pk_compare *c)
{
	if (c->kind != PK_EVENT_SAMPLES)
		return c->unit;
	return c->times_known ? "s" : "share";
}

double pk_compare_percent(double before, double after)
{
	if (before > 0)
		return 100.0 * (after - before) / before;
	return after > 0 ? INFINITY : 0.0;
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0.0;
}

static void add_entries(struct pk_compare *c, const struct keyed_function *b,
			const struct keyed_function *a)
{
	const struct keyed_function *named = a ? a : b;
	int m;

	for (m = 0; m < PK_METRIC_COUNT; m++) {
		uint64_t xb = b ? (m == PK_METRIC_SELF_TIME ? b->self : b->total) : 0;
		uint64_t xa = a ? (m == PK_METRIC_SELF_TIME ? a->self : a->total) : 0;
		uint64_t nb = b ? (m == PK_METRIC_SELF_TIME ? b->self_n : b->total_n) : 0;
		uint64_t na = a ? (m == PK_METRIC_SELF_TIME ? a->self_n : a->total_n) : 0;
		struct pk_compare_entry *e;

		if (!nb && !na)
			continue;
		e = &c->entries[c->n_entries++];
		memset(e, 0, sizeof(*e));
		e->function = pk_xstrdup(named->name);
		e->module = pk_xstrdup(named->module);
		e->key = pk_xstrdup(named->key);
		e->metric = (enum pk_compare_metric)m;
		e->presence = !nb ? PK_PRESENT_ADDED : !na ? PK_PRESENT_REMOVED : PK_PRESENT_BOTH;
		e->before_samples = nb;
		e->after_samples = na;
		e->before_share = share(xb, c->before.weight);
		e->after_share = share(xa, c->after.weight);
		e->delta_points = 100.0 * (e->after_share - e->before_share);
		if (c->kind != PK_EVENT_SAMPLES) {
			e->before_s = (double)xb;
			e->after_s = (double)xa;
		} else if (c->times_known) {
			e->before_s = (double)xb / c->before.rate_hz;
			e->after_s = (double)xa / c->after.rate_hz;
		} else {
			e->before_s = e->before_share;
			e->after_s = e->after_share;
		}
		e->percent_change = pk_compare_percent(e->before_s, e->after_s);
		e->avg_ns[0] = e->avg_ns[1] = NAN;
		e->delta_base_points = c->base_s > 0 ? 100.0 * (e->after_s - e->before_s) / c->base_s : 0;
		e->p_value = e->q_value = NAN;
		if (m == PK_METRIC_TOTAL_TIME) {
			e->same_as_self = (!b || b->self == b->total) && (!a || a->self == a->total);
			e->on_every_stack = xb == c->before.weight && xa == c->after.weight;
		}
	}
}

/* Join the two sorted sides into c->entries. */
static void join(struct pk_compare *c, const struct side_functions *b, const struct side_functions *a)
{
	size_t i = 0, j = 0;

	c->entries = pk_xcalloc((b->n + a->n) * PK_METRIC_COUNT + 1, sizeof(*c->entries));
	while (i < b->n || j < a->n) {
		int cmp = i >= b->n ? 1 : j >= a->n ? -1
			  : cmp_name_key(b->v[i].name, b->v[i].key, a->v[j].name, a->v[j].key);

		if (cmp < 0)
			add_entries(c, &b->v[i++], NULL);
		else if (cmp > 0)
			add_entries(c, NULL, &a->v[j++]);
		else
			add_entries(c, &b->v[i++], &a->v[j++]);
	}
}

/* Opportunities of a side on the common time base: its samples scaled by
 * base / own time, never fewer than its samples. */
static uint64_t opportunities(const struct pk_compare_side *s, double own, double base)
{
	double v;

	if (!(own > 0) || !(base > 0))
		return s->samples;
	v = llround((double)s->samples * base / own);
	return v < (double)s->samples ? s->samples : (uint64_t)v;
}

/* Scale a count by a side's test weight; opportunities stay >= counts. */
static uint64_t scaled(uint64_t x, double scale)
{
	return scale < 1 ? (uint64_t)llround((double)x * scale) : x;
}

double pk_compare_test(const struct pk_compare *c, uint64_t x_before, uint64_t x_after,
		       enum pk_test_method *method)
{
	if (method)
		*method = PK_TEST_NONE;
	if (!c->tested)
		return NAN;
	return pk_stats_proportion_test(scaled(x_before, c->before.test_scale),
					scaled(c->before.opportunities, c->before.test_scale),
					scaled(x_after, c->after.test_scale),
					scaled(c->after.opportunities, c->after.test_scale), method);
}

static void run_tests(struct pk_compare *c)
{
	double *p = pk_xmalloc((c->n_entries + 1) * sizeof(*p));
	size_t i;

	for (i = 0; i < c->n_entries; i++) {
		struct pk_compare_entry *e = &c->entries[i];

		e->p_value = pk_compare_test(c, e->before_samples, e->after_samples, &e->method);
		p[i] = e->p_value;
		if (!isnan(e->p_value))
			c->n_tests++;
	}
	pk_stats_bh_qvalues(p, c->n_entries, p);
	for (i = 0; i < c->n_entries; i++) {
		struct pk_compare_entry *e = &c->entries[i];
		double relative = fabs(e->percent_change);

		e->q_value = p[i];
		e->significant = !isnan(e->q_value) && e->q_value <= c->alpha &&
				 relative >= PK_COMPARE_MIN_RELATIVE &&
				 fabs(e->delta_base_points) >= PK_COMPARE_MIN_POINTS;
	}
	free(p);
}

static int cmp_entry(const void *x, const void *y)
{
	const struct pk_compare_entry *a = x, *b = y;
	double ia = fabs(a->after_s - a->before_s), ib = fabs(b->after_s - b->before_s);
	int c;

	if (a->metric != b->metric)
		return a->metric < b->metric ? -1 : 1;
	if (a->significant != b->significant)
		return a->significant ? -1 : 1;
	if (ia != ib)
		return ia > ib ? -1 : 1;
	if ((c = strcmp(a->function, b->function)))
		return c;
	return strcmp(a->module, b->module);
}

/* Load one session's profile of the compared event, and its side. */
static int load_side(struct pk_store *st, const char *spec, const struct pk_compare_params *params,
		     struct pk_profile *p, struct pk_compare_side *s)
{
	struct pk_filter filter;
	int rc;

	memset(&filter, 0, sizeof(filter));
	filter.event = params ? params->event : NULL;
	if ((rc = pk_profile_load(st, spec, &filter, p)) != PK_STORE_OK)
		return rc;
	return side_init(st, p, s);
}

int pk_compare_load(struct pk_store *st, const char *before, const char *after,
		    const struct pk_compare_params *params, struct pk_compare *c, int *which)
{
	struct side_functions sb = { NULL, 0 }, sa = { NULL, 0 };
	enum pk_compare_event_kind kb, ka;
	int rc;

	memset(c, 0, sizeof(*c));
	c->alpha = params && params->alpha > 0 ? params->alpha : PK_COMPARE_ALPHA;
	if ((rc = load_side(st, before, params, &c->before_profile, &c->before)) != PK_STORE_OK) {
		if (which)
			*which = 0;
		pk_compare_release(c);
		return rc;
	}
	if ((rc = load_side(st, after, params, &c->after_profile, &c->after)) != PK_STORE_OK) {
		if (which)
			*which = 1;
		pk_compare_release(c);
		return rc;
	}
	c->same_session = c->before_profile.session.id == c->after_profile.session.id;
	c->event = c->after_profile.event_name;
	c->unit = c->after_profile.event_unit;
	kb = event_kind(c->before_profile.event_unit);
	ka = event_kind(c->after_profile.event_unit);
	/* Events of different units have nothing in common but shares. */
	c->kind = kb == ka && !strcmp(c->before_profile.event_unit, c->after_profile.event_unit)
			  ? ka : PK_EVENT_SAMPLES;

	/* Times need both rates; otherwise shares stand in for times.  The
	 * other events' common base is the larger total weight. */
	c->times_known = c->kind == PK_EVENT_SAMPLES && c->before.rate_hz > 0 && c->after.rate_hz > 0;
	if (c->times_known) {
		c->base_s = fmax(c->before.sampled_s, c->after.sampled_s);
		c->before.opportunities = opportunities(&c->before, c->before.sampled_s, c->base_s);
		c->after.opportunities = opportunities(&c->after, c->after.sampled_s, c->base_s);
	} else if (c->kind != PK_EVENT_SAMPLES) {
		c->base_s = fmax((double)c->before.weight, (double)c->after.weight);
		c->before.opportunities = opportunities(&c->before, (double)c->before.weight, c->base_s);
		c->after.opportunities = opportunities(&c->after, (double)c->after.weight, c->base_s);
	} else {
		c->base_s = 1.0;
		c->before.opportunities = c->before.samples;
		c->after.opportunities = c->after.samples;
	}

	side_aggregate(&c->before_profile, c->before.node_count, &sb);
	side_aggregate(&c->after_profile, c->after.node_count, &sa);
	join(c, &sb, &sa);
	free(sb.v);
	free(sa.v);
	if ((rc = pk_compare_load_exact(st, c)) != PK_STORE_OK) {
		pk_compare_release(c);
		return rc;
	}

	if (!c->before.samples || !c->after.samples)
		c->untested_reason = !c->before.samples ? "BEFORE has no samples" : "AFTER has no samples";
	else if (kb != ka || strcmp(c->before_profile.event_unit, c->after_profile.event_unit))
		c->untested_reason = "the two sessions' events count different things";
	else if (c->kind == PK_EVENT_EXACT)
		c->untested_reason = "the compared event is counted exactly, not sampled: every change is real";
	if (!c->untested_reason) {
		c->tested = 1;
		run_tests(c);
	}
	qsort(c->entries, c->n_entries, sizeof(*c->entries), cmp_entry);
	return PK_STORE_OK;
}

void pk_compare_release(struct pk_compare *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_entries; i++) {
		free(c->entries[i].function);
		free(c->entries[i].module);
		free(c->entries[i].key);
	}
	free(c->entries);
	free(c->before.node_count);
	free(c->after.node_count);
	pk_compare_exact_release(&c->exact);
	pk_profile_release(&c->before_profile);
	pk_profile_release(&c->after_profile);
	memset(c, 0, sizeof(*c));
}

int pk_compare_worst_regression(const struct pk_compare *c, double threshold_percent,
				const struct pk_compare_entry **worst)
{
	size_t i;
	int found = 0;

	if (worst)
		*worst = NULL;
	for (i = 0; i < c->n_entries; i++) {
		const struct pk_compare_entry *e = &c->entries[i];

		if (!e->significant || !pk_compare_is_regression(e) || !(e->percent_change > threshold_percent))
			continue;
		if (worst && (!*worst || e->percent_change > (*worst)->percent_change))
			*worst = e;
		found = 1;
	}
	return found;
}

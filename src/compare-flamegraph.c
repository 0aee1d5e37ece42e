/*
 * compare-flamegraph.c - the differential flame graph of "perfkit compare
 * --flamegraph FILE": AFTER's flame graph (its shape, its widths), each
 * frame coloured by how its time changed against the same call path in
 * BEFORE: red for more, blue for less, pale for no change.  Hovering a
 * frame shows both sessions' values.  Drawing, zoom and search are the
 * regular flame graph's (flamegraph.h); this file only matches call paths
 * and answers the writer's per-frame hook.
 *
 * A frame's change is measured like a function's in compare.h: its
 * estimated time after against before (not its share), so a frame whose
 * time did not change stays pale even when the rest of the program got
 * faster around it.  The colour's strength is the change relative to the
 * frame's time before, full at +-FULL_COLOR_PERCENT: relative, because
 * absolute changes add up towards the root, and a scale set by the root's
 * change would leave every smaller finding nearly white.  Call paths are
 * matched function by function with compare.h's keys (name and module file
 * name, the profiled program matching the other session's program).
 * Paths that exist only in BEFORE have no frame in AFTER's shape; the
 * compare table lists them.
 *
 * Each frame's change is tested like a function's (same test, same
 * Benjamini-Hochberg adjustment over all frames, same minimum effect);
 * a change that is not significant keeps only a faint tint, so noise in
 * an unchanged profile does not look like a finding.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "src/compare-output.h"
#include "src/flamegraph.h"
#include "strbuf.h"
#include "util.h"

/* A change of this many percent (or more) is drawn at full colour. */
#define FULL_COLOR_PERCENT 100.0
/* The strongest tint of a change that is not significant (0..1). */
#define NOISE_TINT 0.15

struct func_key {
	const char *name, *key;
	uint32_t func;      /* fg function id */
	int after;          /* which tree */
};

struct diff_ctx {
	const struct pk_compare *c;
	const struct pk_fg_tree *before, *after;
	uint32_t *before_node;    /* per AFTER node: BEFORE node, UINT32_MAX none */
	double *q;                /* per AFTER node: q-value of its change */
	unsigned char *significant; /* per AFTER node */
	struct pk_strbuf note;
};

static int cmp_func_key(const void *x, const void *y)
{
	const struct func_key *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	return c ? c : strcmp(a->key, b->key);
}

/* Module key of an fg function: "" for the profiled program. */
static const char *fg_key(const struct pk_fg_func *f, const char *main_path)
{
	if (main_path && *main_path && !strcmp(f->module, main_path))
		return "";
	return pk_basename(f->module);
}

static const char *main_path_of(const struct pk_profile *p)
{
	int64_t m = pk_compare_main_module(p);

	return m ? pk_profile_module_name(p, m) : NULL;
}

/*
 * Shared key ids: fkey_before[f] and fkey_after[f] are equal exactly when
 * the two functions match.
 */
static void match_functions(const struct pk_compare *c, const struct pk_fg_tree *b,
			    const struct pk_fg_tree *a, uint32_t *fkey_before, uint32_t *fkey_after)
{
	size_t n = b->n_funcs + a->n_funcs, i, k = 0;
	struct func_key *v = pk_xmalloc((n ? n : 1) * sizeof(*v));
	const char *main_b = main_path_of(&c->before_profile), *main_a = main_path_of(&c->after_profile);
	uint32_t id = 0;

	for (i = 0; i < b->n_funcs; i++)
		v[k++] = (struct func_key){ b->funcs[i].name, fg_key(&b->funcs[i], main_b), (uint32_t)i, 0 };
	for (i = 0; i < a->n_funcs; i++)
		v[k++] = (struct func_key){ a->funcs[i].name, fg_key(&a->funcs[i], main_a), (uint32_t)i, 1 };
	qsort(v, n, sizeof(*v), cmp_func_key);
	for (i = 0; i < n; i++) {
		if (i && cmp_func_key(&v[i - 1], &v[i]))
			id++;
		(v[i].after ? fkey_after : fkey_before)[v[i].func] = id;
	}
	free(v);
}

/* before_node[] for every AFTER node, parents first (a parent's index is
 * always below its children's). */
static void match_nodes(struct diff_ctx *d, const uint32_t *fkey_before, const uint32_t *fkey_after)
{
	const struct pk_fg_tree *a = d->after, *b = d->before;
	size_t i;

	d->before_node = pk_xmalloc((a->n_nodes ? a->n_nodes : 1) * sizeof(*d->before_node));
	d->before_node[0] = 0; /* the roots match */
	for (i = 1; i < a->n_nodes; i++) {
		uint32_t up = d->before_node[a->nodes[i].parent], k, found = UINT32_MAX;
		uint32_t want = fkey_after[a->nodes[i].func];

		if (up != UINT32_MAX && a->nodes[i].parent < i)
			for (k = b->child_start[up]; k < b->child_start[up + 1]; k++)
				if (fkey_before[b->nodes[b->child_ids[k]].func] == want) {
					found = b->child_ids[k];
					break;
				}
		d->before_node[i] = found;
	}
}

/* Time (or share, or for another event the weight itself) of weight w
 * in one side. */
static double side_value(const struct pk_compare *c, const struct pk_compare_side *s, uint64_t w)
{
	if (c->kind != PK_EVENT_SAMPLES)
		return (double)w;
	if (c->times_known)
		return (double)w / s->rate_hz;
	return s->samples ? (double)w / (double)s->samples : 0;
}

/* Change of AFTER node n against its BEFORE path, in points of the base. */
static double node_delta(const struct diff_ctx *d, uint32_t n, double *before, double *after)
{
	const struct pk_compare *c = d->c;
	uint32_t bn = d->before_node[n];

	*after = side_value(c, &c->after, d->after->nodes[n].total);
	*before = bn == UINT32_MAX ? 0 : side_value(c, &c->before, d->before->nodes[bn].total);
	return c->base_s > 0 ? 100.0 * (*after - *before) / c->base_s : 0;
}

static void fmt_side(struct pk_strbuf *sb, const struct pk_compare *c, double v, double share)
{
	if (c->kind != PK_EVENT_SAMPLES) {
		char buf[32];

		pk_compare_format_count(v, buf, sizeof(buf));
		pk_strbuf_addf(sb, "%s %s (%.2f%%)", buf, c->unit, 100.0 * share);
	} else if (c->times_known) {
		if (v < 1.0)
			pk_strbuf_addf(sb, "%.1fms", v * 1e3);
		else
			pk_strbuf_addf(sb, "%.2fs", v);
		pk_strbuf_addf(sb, " (%.2f%%)", 100.0 * share);
	} else {
		pk_strbuf_addf(sb, "%.2f%%", 100.0 * share);
	}
}

static void frame_hook(void *ctx, uint32_t node, char color[8], const char **note)
{
	struct diff_ctx *d = ctx;
	const struct pk_compare *c = d->c;
	uint32_t bn = d->before_node[node];
	double before, after, delta = node_delta(d, node, &before, &after), t;
	uint64_t bw = bn == UINT32_MAX ? 0 : d->before->nodes[bn].total;
	int hi, lo;

	/* Pale grey at no change, to saturated red (more) or blue (less). */
	t = before > 0 ? fmin(1.0, 100.0 * fabs(after - before) / before / FULL_COLOR_PERCENT) : 1.0;
	if (!d->significant[node])
		t = fmin(t, NOISE_TINT);
	hi = (int)lround(235 + 20 * t);
	lo = (int)lround(235 - 195 * t);
	if (delta > 0)
		snprintf(color, 8, "#%02x%02x%02x", hi, lo, lo);
	else if (delta < 0)
		snprintf(color, 8, "#%02x%02x%02x", lo, lo, hi);
	else
		snprintf(color, 8, "#ebebeb");

	pk_strbuf_reset(&d->note);
	pk_strbuf_addstr(&d->note, "before ");
	if (bn == UINT32_MAX)
		pk_strbuf_addstr(&d->note, "absent");
	else
		fmt_side(&d->note, c, before, c->before.weight ? (double)bw / (double)c->before.weight : 0);
	pk_strbuf_addstr(&d->note, ", after ");
	fmt_side(&d->note, c, after,
		 c->after.weight ? (double)d->after->nodes[node].total / (double)c->after.weight : 0);
	if (before > 0)
		pk_strbuf_addf(&d->note, ", %+.1f%%", 100.0 * (after - before) / before);
	else
		pk_strbuf_addstr(&d->note, ", new");
	if (d->significant[node])
		pk_strbuf_addf(&d->note, " (significant, q %.2g)", d->q[node]);
	else if (!isnan(d->q[node]))
		pk_strbuf_addf(&d->note, " (within noise, q %.2g)", d->q[node]);
	*note = pk_strbuf_str(&d->note);
}

/* q-values and verdicts of every AFTER frame's change (compare.h's rules). */
static void test_nodes(struct diff_ctx *d)
{
	const struct pk_compare *c = d->c;
	size_t n = d->after->n_nodes, i;

	d->q = pk_xmalloc((n ? n : 1) * sizeof(*d->q));
	d->significant = pk_xcalloc(n ? n : 1, 1);
	for (i = 0; i < n; i++) {
		uint32_t bn = d->before_node[i];
		uint64_t bw = bn == UINT32_MAX ? 0 : d->before->nodes[bn].total;

		/* The test wants sample counts; the tree holds weights. */
		d->q[i] = pk_compare_test(c, pk_compare_weight_samples(&c->before, bw),
					  pk_compare_weight_samples(&c->after, d->after->nodes[i].total), NULL);
	}
	pk_stats_bh_qvalues(d->q, n, d->q);
	for (i = 0; i < n; i++) {
		double before, after, delta = node_delta(d, (uint32_t)i, &before, &after);
		double relative = before > 0 ? 100.0 * fabs(after - before) / before : INFINITY;

		d->significant[i] = !isnan(d->q[i]) && d->q[i] <= c->alpha &&
				    relative >= PK_COMPARE_MIN_RELATIVE && fabs(delta) >= PK_COMPARE_MIN_POINTS;
	}
}

int pk_compare_write_flamegraph(const struct pk_compare *c, FILE *out)
{
	struct pk_fg_tree before, after;
	struct pk_fg_options opt;
	struct diff_ctx d;
	struct pk_strbuf title = PK_STRBUF_INIT, subtitle = PK_STRBUF_INIT;
	uint32_t *fkey_before, *fkey_after;
	int rc;

	pk_fg_tree_init(&before);
	pk_fg_tree_init(&after);
	pk_fg_tree_from_profile(&before, &c->before_profile, 0);
	pk_fg_tree_from_profile(&after, &c->after_profile, 0);

	memset(&d, 0, sizeof(d));
	d.c = c;
	d.before = &before;
	d.after = &after;
	d.note = (struct pk_strbuf)PK_STRBUF_INIT;
	fkey_before = pk_xmalloc((before.n_funcs + 1) * sizeof(*fkey_before));
	fkey_after = pk_xmalloc((after.n_funcs + 1) * sizeof(*fkey_after));
	match_functions(c, &before, &after, fkey_before, fkey_after);
	match_nodes(&d, fkey_before, fkey_after);
	test_nodes(&d);

	pk_strbuf_addf(&title, "Differential Flame Graph: %s vs %s", c->after_profile.session.name,
		       c->before_profile.session.name);
	pk_strbuf_addf(&subtitle, "AFTER's profile; red: more %s than in BEFORE, blue: less "
		       "(full colour at %+.0f%% or more; changes within noise faint)",
		       c->kind != PK_EVENT_SAMPLES ? c->event : c->times_known ? "time" : "share",
		       FULL_COLOR_PERCENT);
	memset(&opt, 0, sizeof(opt));
	opt.title = pk_strbuf_str(&title);
	opt.subtitle = pk_strbuf_str(&subtitle);
	opt.unit = c->unit && *c->unit ? c->unit : "samples";
	opt.minwidth = -1;
	opt.frame_hook = frame_hook;
	opt.frame_hook_ctx = &d;
	rc = pk_fg_write_svg(out, &after, &opt);

	pk_strbuf_release(&d.note);
	pk_strbuf_release(&title);
	pk_strbuf_release(&subtitle);
	free(d.before_node);
	free(d.q);
	free(d.significant);
	free(fkey_before);
	free(fkey_after);
	pk_fg_tree_release(&before);
	pk_fg_tree_release(&after);
	return rc;
}

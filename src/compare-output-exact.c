/*
 * compare-output-exact.c - how the counted part of a comparison (struct
 * pk_compare_exact: allocations, probed functions, counters) is told: a
 * sentence at the end of the summary, tables after the improvement and
 * regression lists, the JSON keys "allocations", "probes" and "counters",
 * and CSV rows.  These are exact counts (or, for latency, means whose
 * variance is not stored): no p-value is given, and the outputs say why
 * instead of showing one.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "src/compare-output.h"
#include "util.h"

#define ALLOC_NOTE "exact counts: every allocation is seen, there is no sampling noise, so no p-value"
#define PROBE_NOTE "calls are exact counts (no p-value); avg_ns is the mean wall time per call, " \
		   "corrected for the probe cost; its change is not tested: perfkitd stores no per-call variance"
#define COUNTER_NOTE "counted, not sampled: no p-value (a scaled counter was multiplexed)"

static const char *side_name(int side)
{
	return side ? "AFTER" : "BEFORE";
}

static int have_both_allocs(const struct pk_compare *c)
{
	return c->exact.have_allocs[0] && c->exact.have_allocs[1];
}

/* Which single side a pair of flags names, or -1 for none or both. */
static int only_side(const int have[2])
{
	return have[0] == have[1] ? -1 : have[0] ? 0 : 1;
}

static void fmt_ns(double ns, char *buf, size_t len)
{
	if (!isfinite(ns))
		snprintf(buf, len, "-");
	else if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.3fs", ns / 1e9);
}

static void fmt_percent(double before, double after, char *buf, size_t len)
{
	double p = pk_compare_percent(before, after);

	if (!isfinite(before) || !isfinite(after))
		snprintf(buf, len, "-");
	else if (isinf(p))
		snprintf(buf, len, "new");
	else
		snprintf(buf, len, "%+.1f%%", p);
}

/* ---- summary -------------------------------------------------------------- */

void pk_compare_summary_exact(struct pk_strbuf *sb, const struct pk_compare *c)
{
	const struct pk_compare_exact *x = &c->exact;
	int one = only_side(x->have_allocs);
	size_t i, changed = 0;

	if (have_both_allocs(c)) {
		const struct pk_alloc_summary *b = &x->allocs[0], *a = &x->allocs[1];
		char pb[32], pa[32], pp[32];

		fmt_percent((double)b->alloc_calls, (double)a->alloc_calls, pp, sizeof(pp));
		pk_strbuf_addf(sb, " Allocations (exact counts, no test): %" PRId64 " -> %" PRId64 " (%s)",
			       b->alloc_calls, a->alloc_calls, pp);
		fmt_percent((double)b->bytes_allocated, (double)a->bytes_allocated, pp, sizeof(pp));
		pk_strbuf_addf(sb, ", %" PRId64 " -> %" PRId64 " bytes (%s)", b->bytes_allocated,
			       a->bytes_allocated, pp);
		pk_compare_format_count((double)b->peak_bytes, pb, sizeof(pb));
		pk_compare_format_count((double)a->peak_bytes, pa, sizeof(pa));
		fmt_percent((double)b->peak_bytes, (double)a->peak_bytes, pp, sizeof(pp));
		pk_strbuf_addf(sb, ", peak %s -> %s bytes (%s)", pb, pa, pp);
		pk_strbuf_addf(sb, "; %zu call site%s changed.", x->n_sites, x->n_sites == 1 ? "" : "s");
	} else if (one >= 0) {
		pk_strbuf_addf(sb, " Allocations: only %s was recorded with --alloc, nothing to compare.",
			       side_name(one));
	}
	if (x->n_probes_both) {
		for (i = 0; i < x->n_probes; i++)
			if (x->probes[i].presence == PK_PRESENT_BOTH &&
			    x->probes[i].calls[0] != x->probes[i].calls[1])
				changed++;
		pk_strbuf_addf(sb, " Probed in both: %zu function%s, calls changed in %zu (latency changes "
			       "not tested).", x->n_probes_both, x->n_probes_both == 1 ? "" : "s", changed);
	} else if ((one = only_side(x->have_probes)) >= 0) {
		pk_strbuf_addf(sb, " Probes: only %s was recorded with --probe, nothing to compare.",
			       side_name(one));
	}
}

/* ---- table ---------------------------------------------------------------- */

/* "3000 -> 1000" */
static void pair_cell(struct pk_table *t, int64_t b, int64_t a)
{
	pk_table_cellf(t, "%" PRId64 " -> %" PRId64, b, a);
}

static void percent_cell(struct pk_table *t, double b, double a)
{
	char buf[32];

	fmt_percent(b, a, buf, sizeof(buf));
	pk_table_cell(t, buf);
}

static void print_sites(const struct pk_compare *c, size_t limit, FILE *out)
{
	static const struct pk_column cols[] = {
		{ "FUNCTION", PK_ALIGN_LEFT, 50, PK_TRUNC_END },
		{ "MODULE", PK_ALIGN_LEFT, 20, PK_TRUNC_END },
		{ "ALLOCS", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "CHANGE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "BYTES", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "CHANGE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "LIVE BYTES", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
	};
	const struct pk_compare_exact *x = &c->exact;
	struct pk_table *t;
	size_t i;

	fprintf(out, "\nAllocations: %s.\n", ALLOC_NOTE);
	if (x->allocs[0].mode[0] && x->allocs[1].mode[0] &&
	    (strcmp(x->allocs[0].mode, "full") || strcmp(x->allocs[1].mode, "full")))
		fprintf(out, "(modes %s and %s: a windowed session counts only its armed windows)\n",
			x->allocs[0].mode, x->allocs[1].mode);
	fprintf(out, "Allocation sites that changed (%zu; %zu unchanged):\n", x->n_sites, x->n_sites_unchanged);
	if (!x->n_sites) {
		fprintf(out, "none\n");
		return;
	}
	t = pk_table_new(cols, sizeof(cols) / sizeof(cols[0]));
	for (i = 0; i < x->n_sites && (!limit || i < limit); i++) {
		const struct pk_compare_alloc_site *s = &x->sites[i];

		pk_table_row(t);
		pk_table_cell(t, s->function);
		pk_table_cell(t, s->module);
		pair_cell(t, s->count[0], s->count[1]);
		percent_cell(t, (double)s->count[0], (double)s->count[1]);
		pair_cell(t, s->bytes[0], s->bytes[1]);
		percent_cell(t, (double)s->bytes[0], (double)s->bytes[1]);
		pair_cell(t, s->live_bytes[0], s->live_bytes[1]);
	}
	pk_table_print(t, out);
	pk_table_free(t);
	if (limit && x->n_sites > limit)
		fprintf(out, "(%zu more; use --limit 0 to see all)\n", x->n_sites - limit);
}

static void print_probes(const struct pk_compare *c, size_t limit, FILE *out)
{
	static const struct pk_column cols[] = {
		{ "FUNCTION", PK_ALIGN_LEFT, 50, PK_TRUNC_END },
		{ "MODULE", PK_ALIGN_LEFT, 20, PK_TRUNC_END },
		{ "CALLS", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "CHANGE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "AVG", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "CHANGE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
	};
	const struct pk_compare_exact *x = &c->exact;
	struct pk_table *t = pk_table_new(cols, sizeof(cols) / sizeof(cols[0]));
	size_t i, shown = 0;

	fprintf(out, "\nProbed functions (%zu in both sessions): %s.\n", x->n_probes_both, PROBE_NOTE);
	for (i = 0; i < x->n_probes && (!limit || shown < limit); i++) {
		const struct pk_compare_probe *p = &x->probes[i];
		char b[32], a[32];

		if (p->presence != PK_PRESENT_BOTH)
			continue;
		shown++;
		fmt_ns(p->avg_ns[0], b, sizeof(b));
		fmt_ns(p->avg_ns[1], a, sizeof(a));
		pk_table_row(t);
		pk_table_cell(t, p->function);
		pk_table_cell(t, p->module);
		pair_cell(t, p->calls[0], p->calls[1]);
		percent_cell(t, (double)p->calls[0], (double)p->calls[1]);
		pk_table_cellf(t, "%s -> %s", b, a);
		percent_cell(t, p->avg_ns[0], p->avg_ns[1]);
	}
	if (shown)
		pk_table_print(t, out);
	pk_table_free(t);
	if (shown < x->n_probes_both)
		fprintf(out, "(%zu more; use --limit 0 to see all)\n", x->n_probes_both - shown);
	for (i = 0; i < x->n_probes; i++)
		if (x->probes[i].presence != PK_PRESENT_BOTH)
			fprintf(out, "%s (%s) was probed in %s only\n", x->probes[i].function, x->probes[i].module,
				side_name(x->probes[i].presence == PK_PRESENT_ADDED));
}

void pk_compare_print_exact_table(const struct pk_compare *c, size_t limit, FILE *out)
{
	const struct pk_compare_exact *x = &c->exact;
	int one;

	if (have_both_allocs(c))
		print_sites(c, limit, out);
	else if ((one = only_side(x->have_allocs)) >= 0)
		fprintf(out, "\nAllocations: only %s ('%s') was recorded with --alloc; nothing to compare.\n",
			side_name(one), (one ? &c->after_profile : &c->before_profile)->session.name);
	if (x->have_probes[0] && x->have_probes[1])
		print_probes(c, limit, out);
	else if ((one = only_side(x->have_probes)) >= 0)
		fprintf(out, "\nProbes: only %s ('%s') was recorded with --probe; nothing to compare.\n",
			side_name(one), (one ? &c->after_profile : &c->before_profile)->session.name);
	if (x->n_counters)
		fprintf(out, "\nCounters (in the overall table): %s.\n", COUNTER_NOTE);
}

/* ---- JSON ----------------------------------------------------------------- */

/* The fields every exact entry shares with the sampled ones; no p-value
 * and no verdict (null), "exact" says why. */
static void json_values(struct pk_json *j, const char *metric, const char *unit, double before, double after,
			int exact)
{
	pk_json_key(j, "metric");
	pk_json_string(j, metric);
	pk_json_key(j, "unit");
	pk_json_string(j, unit);
	pk_json_key(j, "before");
	pk_json_double(j, before);
	pk_json_key(j, "after");
	pk_json_double(j, after);
	pk_json_key(j, "percent_change");
	pk_json_double(j, isfinite(before) && isfinite(after) ? pk_compare_percent(before, after) : NAN);
	pk_json_key(j, "p_value");
	pk_json_null(j);
	pk_json_key(j, "significant");
	pk_json_null(j);
	pk_json_key(j, "exact");
	pk_json_bool(j, exact);
}

static void json_named(struct pk_json *j, const char *function, const char *module, enum pk_compare_presence p)
{
	pk_json_key(j, "function");
	pk_json_string(j, function);
	pk_json_key(j, "module");
	pk_json_string(j, module);
	pk_json_key(j, "status");
	pk_json_string(j, pk_compare_presence_name(p));
}

static void json_allocations(struct pk_json *j, const struct pk_compare *c, size_t limit)
{
	const struct pk_compare_exact *x = &c->exact;
	size_t i;
	int k;

	pk_json_begin_object(j);
	pk_json_key(j, "before_recorded");
	pk_json_bool(j, x->have_allocs[0]);
	pk_json_key(j, "after_recorded");
	pk_json_bool(j, x->have_allocs[1]);
	for (k = 0; k < 2; k++) {
		pk_json_key(j, k ? "after_mode" : "before_mode");
		pk_json_string(j, x->have_allocs[k] ? x->allocs[k].mode : NULL);
	}
	pk_json_key(j, "note");
	pk_json_string(j, ALLOC_NOTE);
	pk_json_key(j, "totals");
	pk_json_begin_array(j);
	for (i = 0; have_both_allocs(c) && i < pk_compare_n_alloc_totals; i++) {
		const struct pk_compare_alloc_total *q = &pk_compare_alloc_totals[i];

		pk_json_begin_object(j);
		json_values(j, q->metric, q->unit, (double)pk_compare_alloc_total_value(q, &x->allocs[0]),
			    (double)pk_compare_alloc_total_value(q, &x->allocs[1]), 1);
		pk_json_end_object(j);
	}
	pk_json_end_array(j);
	pk_json_key(j, "sites");
	pk_json_begin_array(j);
	for (i = 0; i < x->n_sites && (!limit || i < limit); i++) {
		const struct pk_compare_alloc_site *s = &x->sites[i];
		static const char *const metrics[3] = { "alloc_count", "alloc_bytes", "alloc_live_bytes" };
		static const char *const units[3] = { "allocations", "bytes", "bytes" };
		const int64_t *v[3] = { s->count, s->bytes, s->live_bytes };

		for (k = 0; k < 3; k++) {
			pk_json_begin_object(j);
			json_named(j, s->function, s->module, s->presence);
			json_values(j, metrics[k], units[k], (double)v[k][0], (double)v[k][1], 1);
			pk_json_end_object(j);
		}
	}
	pk_json_end_array(j);
	pk_json_key(j, "changed_sites");
	pk_json_uint(j, x->n_sites);
	pk_json_key(j, "unchanged_sites");
	pk_json_uint(j, x->n_sites_unchanged);
	pk_json_end_object(j);
}

static void json_probes(struct pk_json *j, const struct pk_compare *c, size_t limit)
{
	const struct pk_compare_exact *x = &c->exact;
	size_t i;

	pk_json_begin_object(j);
	pk_json_key(j, "before_probed");
	pk_json_bool(j, x->have_probes[0]);
	pk_json_key(j, "after_probed");
	pk_json_bool(j, x->have_probes[1]);
	pk_json_key(j, "note");
	pk_json_string(j, PROBE_NOTE);
	pk_json_key(j, "functions");
	pk_json_begin_array(j);
	for (i = 0; i < x->n_probes && (!limit || i < limit); i++) {
		const struct pk_compare_probe *p = &x->probes[i];
		int b = p->presence != PK_PRESENT_ADDED, a = p->presence != PK_PRESENT_REMOVED;

		pk_json_begin_object(j);
		json_named(j, p->function, p->module, p->presence);
		json_values(j, "calls", "calls", b ? (double)p->calls[0] : NAN, a ? (double)p->calls[1] : NAN, 1);
		pk_json_end_object(j);
		pk_json_begin_object(j);
		json_named(j, p->function, p->module, p->presence);
		json_values(j, "avg_ns", "ns", b ? p->avg_ns[0] : NAN, a ? p->avg_ns[1] : NAN, 0);
		pk_json_key(j, "test");
		pk_json_string(j, "none");
		pk_json_key(j, "before_p50_ns");
		pk_json_double(j, b ? (double)p->p50_ns[0] : NAN);
		pk_json_key(j, "after_p50_ns");
		pk_json_double(j, a ? (double)p->p50_ns[1] : NAN);
		pk_json_key(j, "before_p99_ns");
		pk_json_double(j, b ? (double)p->p99_ns[0] : NAN);
		pk_json_key(j, "after_p99_ns");
		pk_json_double(j, a ? (double)p->p99_ns[1] : NAN);
		pk_json_end_object(j);
	}
	pk_json_end_array(j);
	pk_json_end_object(j);
}

static void json_counters(struct pk_json *j, const struct pk_compare *c)
{
	size_t i;

	pk_json_begin_array(j);
	for (i = 0; i < c->exact.n_counters; i++) {
		const struct pk_compare_counter *k = &c->exact.counters[i];

		pk_json_begin_object(j);
		json_values(j, k->name, "events", k->value[0], k->value[1], !k->scaled[0] && !k->scaled[1]);
		pk_json_key(j, "before_scaled");
		pk_json_bool(j, k->scaled[0]);
		pk_json_key(j, "after_scaled");
		pk_json_bool(j, k->scaled[1]);
		pk_json_end_object(j);
	}
	pk_json_end_array(j);
}

void pk_compare_json_exact(struct pk_json *j, const struct pk_compare *c, size_t limit)
{
	pk_json_key(j, "allocations");
	json_allocations(j, c, limit);
	pk_json_key(j, "probes");
	json_probes(j, c, limit);
	pk_json_key(j, "counters");
	json_counters(j, c);
}

/* ---- CSV ------------------------------------------------------------------ */

/* One row: list, function, module, metric, unit, before, after,
 * percent_change, status; the sampled columns empty; test "none". */
static void csv_row(struct pk_csv *csv, const char *list, const char *function, const char *module,
		    enum pk_compare_presence p, const char *metric, const char *unit, double before, double after)
{
	int i;

	pk_csv_field(csv, list);
	pk_csv_field(csv, function);
	pk_csv_field(csv, module);
	pk_csv_field(csv, metric);
	pk_csv_field(csv, unit);
	pk_csv_double(csv, before);
	pk_csv_double(csv, after);
	pk_csv_double(csv, isfinite(before) && isfinite(after) ? pk_compare_percent(before, after) : NAN);
	pk_csv_field(csv, function ? pk_compare_presence_name(p) : NULL);
	for (i = 0; i < 7; i++)   /* before_samples .. q_value */
		pk_csv_field(csv, NULL);
	pk_csv_field(csv, "none");
	for (i = 0; i < 5; i++)   /* significant, calls_*, avg_ns_* */
		pk_csv_field(csv, NULL);
	pk_csv_end_row(csv);
}

void pk_compare_csv_exact(struct pk_csv *csv, const struct pk_compare *c, size_t limit)
{
	const struct pk_compare_exact *x = &c->exact;
	size_t i;

	for (i = 0; have_both_allocs(c) && i < pk_compare_n_alloc_totals; i++) {
		const struct pk_compare_alloc_total *q = &pk_compare_alloc_totals[i];

		csv_row(csv, "allocation_total", NULL, NULL, PK_PRESENT_BOTH, q->metric, q->unit,
			(double)pk_compare_alloc_total_value(q, &x->allocs[0]),
			(double)pk_compare_alloc_total_value(q, &x->allocs[1]));
	}
	for (i = 0; i < x->n_sites && (!limit || i < limit); i++) {
		const struct pk_compare_alloc_site *s = &x->sites[i];

		csv_row(csv, "allocation_site", s->function, s->module, s->presence, "alloc_count", "allocations",
			(double)s->count[0], (double)s->count[1]);
		csv_row(csv, "allocation_site", s->function, s->module, s->presence, "alloc_bytes", "bytes",
			(double)s->bytes[0], (double)s->bytes[1]);
		csv_row(csv, "allocation_site", s->function, s->module, s->presence, "alloc_live_bytes", "bytes",
			(double)s->live_bytes[0], (double)s->live_bytes[1]);
	}
	for (i = 0; i < x->n_probes && (!limit || i < limit); i++) {
		const struct pk_compare_probe *p = &x->probes[i];
		int b = p->presence != PK_PRESENT_ADDED, a = p->presence != PK_PRESENT_REMOVED;

		csv_row(csv, "probe", p->function, p->module, p->presence, "calls", "calls",
			b ? (double)p->calls[0] : NAN, a ? (double)p->calls[1] : NAN);
		csv_row(csv, "probe", p->function, p->module, p->presence, "avg_ns", "ns",
			b ? p->avg_ns[0] : NAN, a ? p->avg_ns[1] : NAN);
	}
	for (i = 0; i < x->n_counters; i++)
		csv_row(csv, "counter", NULL, NULL, PK_PRESENT_BOTH, x->counters[i].name, "events",
			x->counters[i].value[0], x->counters[i].value[1]);
}

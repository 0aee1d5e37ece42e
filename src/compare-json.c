/*
 * compare-json.c - a comparison for scripts and spreadsheets: JSON with
 * stable keys (speedup, before, after, method, improvements, regressions;
 * each entry with function, module, metric, before, after,
 * percent_change, p_value, q_value, significant; then allocations,
 * probes and counters from compare-output-exact.c) and CSV with one row
 * per listed entry.  Same content and order as the table
 * (compare-output.c).
 */
#include <math.h>
#include <stdlib.h>

#include "json.h"
#include "src/cli.h"
#include "src/compare-output.h"
#include "src/compare.h"
#include "src/output.h"

/* ---- JSON ----------------------------------------------------------------- */

static void json_side(struct pk_json *j, struct pk_store *st, const struct pk_compare_side *s)
{
	pk_json_begin_object(j);
	pk_cli_json_session(j, st, &s->profile->session);
	pk_json_key(j, "event");
	pk_json_string(j, s->profile->event_name);
	pk_json_key(j, "event_unit");
	pk_json_string(j, s->profile->event_unit);
	pk_json_key(j, "counted_samples");
	pk_json_uint(j, s->samples);
	pk_json_key(j, "counted_weight");
	pk_json_uint(j, s->weight);
	pk_json_key(j, "wall_time_s");
	pk_json_double(j, s->wall_s);
	pk_json_key(j, "cpu_time_s");
	pk_json_double(j, s->cpu_s);
	pk_json_key(j, "sampled_time_s");
	pk_json_double(j, s->sampled_s);
	pk_json_key(j, "sample_rate_hz");
	pk_json_double(j, s->rate_hz > 0 ? s->rate_hz : NAN);
	pk_json_key(j, "test_scale");
	pk_json_double(j, s->test_scale);
	pk_json_end_object(j);
}

static void json_entry(struct pk_json *j, const struct pk_compare *c, const struct pk_compare_entry *e)
{
	pk_json_begin_object(j);
	pk_json_key(j, "function");
	pk_json_string(j, e->function);
	pk_json_key(j, "module");
	pk_json_string(j, e->module);
	pk_json_key(j, "metric");
	pk_json_string(j, pk_compare_metric_name(e->metric));
	pk_json_key(j, "unit");
	pk_json_string(j, pk_compare_value_unit(c));
	pk_json_key(j, "before");
	pk_json_double(j, e->before_s);
	pk_json_key(j, "after");
	pk_json_double(j, e->after_s);
	pk_json_key(j, "percent_change");
	pk_json_double(j, e->percent_change); /* null for a new function */
	pk_json_key(j, "status");
	pk_json_string(j, pk_compare_presence_name(e->presence));
	pk_json_key(j, "before_samples");
	pk_json_uint(j, e->before_samples);
	pk_json_key(j, "after_samples");
	pk_json_uint(j, e->after_samples);
	pk_json_key(j, "before_share");
	pk_json_double(j, 100.0 * e->before_share);
	pk_json_key(j, "after_share");
	pk_json_double(j, 100.0 * e->after_share);
	pk_json_key(j, "delta_points");
	pk_json_double(j, e->delta_points);
	pk_json_key(j, "p_value");
	pk_json_double(j, e->p_value);
	pk_json_key(j, "q_value");
	pk_json_double(j, e->q_value);
	pk_json_key(j, "test");
	pk_json_string(j, pk_test_method_name(e->method));
	pk_json_key(j, "significant");
	pk_json_bool(j, e->significant);
	if (e->metric == PK_METRIC_TOTAL_TIME) {
		pk_json_key(j, "same_as_self");
		pk_json_bool(j, e->same_as_self);
		pk_json_key(j, "on_every_stack");
		pk_json_bool(j, e->on_every_stack);
	}
	if (e->probed) {
		/* Probed in both sessions: exact calls, mean latency (no test). */
		pk_json_key(j, "calls_before");
		pk_json_int(j, e->calls[0]);
		pk_json_key(j, "calls_after");
		pk_json_int(j, e->calls[1]);
		pk_json_key(j, "calls_percent_change");
		pk_json_double(j, pk_compare_percent((double)e->calls[0], (double)e->calls[1]));
		pk_json_key(j, "avg_ns_before");
		pk_json_double(j, e->avg_ns[0]);
		pk_json_key(j, "avg_ns_after");
		pk_json_double(j, e->avg_ns[1]);
		pk_json_key(j, "avg_ns_percent_change");
		pk_json_double(j, isfinite(e->avg_ns[0]) && isfinite(e->avg_ns[1])
				  ? pk_compare_percent(e->avg_ns[0], e->avg_ns[1]) : NAN);
	}
	pk_json_end_object(j);
}

static void json_list(struct pk_json *j, const struct pk_compare *c, int improvements, size_t limit)
{
	size_t i, shown = 0;

	pk_json_begin_array(j);
	for (i = 0; i < c->n_entries && (!limit || shown < limit); i++)
		if (pk_compare_in_list(&c->entries[i], improvements)) {
			json_entry(j, c, &c->entries[i]);
			shown++;
		}
	pk_json_end_array(j);
}

void pk_compare_print_json(const struct pk_compare *c, struct pk_store *st, size_t limit, FILE *out)
{
	struct pk_json j;
	char *summary = pk_compare_summary(c);

	pk_json_init(&j, out, 1);
	pk_json_begin_object(&j);
	pk_json_key(&j, "summary");
	pk_json_string(&j, summary);
	pk_json_key(&j, "same_session");
	pk_json_bool(&j, c->same_session);
	pk_json_key(&j, "speedup");
	pk_json_begin_object(&j);
	pk_json_key(&j, "wall");
	pk_json_double(&j, pk_compare_speedup(c->before.wall_s, c->after.wall_s));
	pk_json_key(&j, "cpu");
	pk_json_double(&j, pk_compare_speedup(c->before.cpu_s, c->after.cpu_s));
	pk_json_key(&j, "sampled");
	pk_json_double(&j, pk_compare_speedup(c->before.sampled_s, c->after.sampled_s));
	pk_json_end_object(&j);
	pk_json_key(&j, "before");
	json_side(&j, st, &c->before);
	pk_json_key(&j, "after");
	json_side(&j, st, &c->after);
	pk_json_key(&j, "method");
	pk_json_begin_object(&j);
	pk_json_key(&j, "tested");
	pk_json_bool(&j, c->tested);
	pk_json_key(&j, "untested_reason");
	pk_json_string(&j, c->untested_reason);
	pk_json_key(&j, "event");
	pk_json_string(&j, c->event);
	pk_json_key(&j, "event_unit");
	pk_json_string(&j, c->unit);
	pk_json_key(&j, "test");
	pk_json_string(&j, c->kind == PK_EVENT_WEIGHTED
		       ? "two-proportion z-test with pooled variance on sample counts (not weights); Fisher's "
			 "exact test when an expected count is below 5; two-sided"
		       : "two-proportion z-test with pooled variance; Fisher's exact test when an "
			 "expected count is below 5; two-sided");
	pk_json_key(&j, "correction");
	pk_json_string(&j, "benjamini-hochberg");
	pk_json_key(&j, "tests");
	pk_json_uint(&j, c->n_tests);
	pk_json_key(&j, "alpha");
	pk_json_double(&j, c->alpha);
	pk_json_key(&j, "min_percent_change");
	pk_json_double(&j, PK_COMPARE_MIN_RELATIVE);
	pk_json_key(&j, "min_points");
	pk_json_double(&j, PK_COMPARE_MIN_POINTS);
	pk_json_key(&j, "time_base_s");
	pk_json_double(&j, c->times_known ? c->base_s : NAN);
	pk_json_key(&j, "event_base");
	pk_json_double(&j, c->kind != PK_EVENT_SAMPLES ? c->base_s : NAN);
	pk_json_end_object(&j);
	pk_json_key(&j, "improvements");
	json_list(&j, c, 1, limit);
	pk_json_key(&j, "regressions");
	json_list(&j, c, 0, limit);
	pk_compare_json_exact(&j, c, limit);
	pk_json_end_object(&j);
	pk_json_finish(&j);
	free(summary);
}

/* ---- CSV ------------------------------------------------------------------ */

void pk_compare_print_csv(const struct pk_compare *c, size_t limit, FILE *out)
{
	static const char *const header[] = {
		"list", "function", "module", "metric", "unit", "before", "after", "percent_change",
		"status", "before_samples", "after_samples", "before_share", "after_share",
		"delta_points", "p_value", "q_value", "test", "significant",
		"calls_before", "calls_after", "avg_ns_before", "avg_ns_after",
	};
	struct pk_csv csv;
	size_t i, k, k2, shown[2] = { 0, 0 };

	pk_csv_init(&csv, out);
	for (i = 0; i < sizeof(header) / sizeof(header[0]); i++)
		pk_csv_field(&csv, header[i]);
	pk_csv_end_row(&csv);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < c->n_entries; i++) {
			const struct pk_compare_entry *e = &c->entries[i];

			if (!pk_compare_in_list(e, k == 0) || (limit && shown[k] >= limit))
				continue;
			shown[k]++;
			pk_csv_field(&csv, k == 0 ? "improvement" : "regression");
			pk_csv_field(&csv, e->function);
			pk_csv_field(&csv, e->module);
			pk_csv_field(&csv, pk_compare_metric_name(e->metric));
			pk_csv_field(&csv, pk_compare_value_unit(c));
			pk_csv_double(&csv, e->before_s);
			pk_csv_double(&csv, e->after_s);
			pk_csv_double(&csv, e->percent_change);
			pk_csv_field(&csv, pk_compare_presence_name(e->presence));
			pk_csv_int(&csv, (int64_t)e->before_samples);
			pk_csv_int(&csv, (int64_t)e->after_samples);
			pk_csv_double(&csv, 100.0 * e->before_share);
			pk_csv_double(&csv, 100.0 * e->after_share);
			pk_csv_double(&csv, e->delta_points);
			pk_csv_double(&csv, e->p_value);
			pk_csv_double(&csv, e->q_value);
			pk_csv_field(&csv, pk_test_method_name(e->method));
			pk_csv_field(&csv, e->significant ? "yes" : "no");
			if (e->probed) {
				pk_csv_int(&csv, e->calls[0]);
				pk_csv_int(&csv, e->calls[1]);
				pk_csv_double(&csv, e->avg_ns[0]);
				pk_csv_double(&csv, e->avg_ns[1]);
			} else {
				for (k2 = 0; k2 < 4; k2++)
					pk_csv_field(&csv, NULL);
			}
			pk_csv_end_row(&csv);
		}
	}
	pk_compare_csv_exact(&csv, c, limit);
	fflush(out);
}

/*
 * compare-output.c - how a comparison is told to people: the one-paragraph
 * summary, the overall table, and the improvement and regression lists as
 * tables.  JSON and CSV are in compare-json.c, the tables of allocation
 * sites and probed functions in compare-output-exact.c.  The numbers all
 * come from struct pk_compare (compare.c); nothing is computed twice here.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "src/compare.h"
#include "src/compare-output.h"
#include "src/output.h"
#include "strbuf.h"
#include "util.h"

/* How many named functions the summary lists per verdict, and how much
 * of a long (C++) name it keeps. */
#define SUMMARY_NAMES 3
#define SUMMARY_NAME_WIDTH 60

/* ---- small formats ------------------------------------------------------ */

static void fmt_seconds(double s, char *buf, size_t len)
{
	if (isfinite(s) && s > 0 && s < 0.001)
		snprintf(buf, len, "%.0fus", s * 1e6);
	else
		pk_format_duration(s, buf, len);
}

void pk_compare_format_count(double v, char *buf, size_t len)
{
	double a = fabs(v);

	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (a < 1e5)
		snprintf(buf, len, "%.0f", v);
	else if (a < 1e8)
		snprintf(buf, len, "%.1fK", v / 1e3);
	else if (a < 1e11)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else
		snprintf(buf, len, "%.1fG", v / 1e9);
}

/* An entry's before/after value: seconds, a count of events, or a share
 * when no rate. */
static void fmt_value(const struct pk_compare *c, double v, char *buf, size_t len)
{
	if (c->kind != PK_EVENT_SAMPLES)
		pk_compare_format_count(v, buf, len);
	else if (c->times_known)
		fmt_seconds(v, buf, len);
	else
		snprintf(buf, len, "%.2f%%", 100.0 * v);
}

/* What the entries measure, for headings: "time", or the event. */
static const char *measured(const struct pk_compare *c)
{
	return c->kind == PK_EVENT_SAMPLES ? "time" : c->event;
}

static void fmt_change(const struct pk_compare_entry *e, char *buf, size_t len)
{
	if (e->presence == PK_PRESENT_ADDED)
		snprintf(buf, len, "new");
	else if (e->presence == PK_PRESENT_REMOVED)
		snprintf(buf, len, "gone");
	else
		snprintf(buf, len, "%+.1f%%", e->percent_change);
}

static void fmt_p(double p, char *buf, size_t len)
{
	if (isnan(p))
		snprintf(buf, len, "-");
	else if (p < 1e-300)
		snprintf(buf, len, "<1e-300");
	else if (p < 0.001)
		snprintf(buf, len, "%.1e", p);
	else
		snprintf(buf, len, "%.3f", p);
}

static const char *metric_label(enum pk_compare_metric m)
{
	return m == PK_METRIC_SELF_TIME ? "self" : "total";
}

/* ---- the summary ---------------------------------------------------------- */

/* "2.90x faster in CPU time (12.1s -> 4.2s)" */
static int describe_speed(struct pk_strbuf *sb, const char *what, double before, double after)
{
	double sp = pk_compare_speedup(before, after);
	char b[32], a[32];

	if (isnan(sp))
		return 0;
	fmt_seconds(before, b, sizeof(b));
	fmt_seconds(after, a, sizeof(a));
	if (sp >= 1.005)
		pk_strbuf_addf(sb, "%.2fx faster in %s (%s -> %s)", sp, what, b, a);
	else if (sp <= 1 / 1.005)
		pk_strbuf_addf(sb, "%.2fx slower in %s (%s -> %s)", 1 / sp, what, b, a);
	else
		pk_strbuf_addf(sb, "as fast in %s (%s -> %s)", what, b, a);
	return 1;
}

/* "1 significant improvement (slow_path -66%)" for one metric. */
static size_t describe_verdicts(struct pk_strbuf *sb, const struct pk_compare *c,
				enum pk_compare_metric metric, int improvements)
{
	size_t i, count = 0, named = 0;

	for (i = 0; i < c->n_entries; i++) {
		const struct pk_compare_entry *e = &c->entries[i];

		if (e->metric == metric && e->significant && pk_compare_is_informative(e) &&
		    pk_compare_in_list(e, improvements))
			count++;
	}
	if (!count) {
		pk_strbuf_addf(sb, "no significant %s", improvements ? "improvement" : "regression");
		return 0;
	}
	pk_strbuf_addf(sb, "%zu significant %s%s", count, improvements ? "improvement" : "regression",
		       count == 1 ? "" : "s");
	pk_strbuf_addstr(sb, " (");
	for (i = 0; i < c->n_entries && named < SUMMARY_NAMES; i++) {
		const struct pk_compare_entry *e = &c->entries[i];
		char ch[32], *name;

		if (e->metric != metric || !e->significant || !pk_compare_is_informative(e) ||
		    !pk_compare_in_list(e, improvements))
			continue;
		if (e->presence == PK_PRESENT_BOTH)
			snprintf(ch, sizeof(ch), "%+.0f%%", e->percent_change);
		else
			fmt_change(e, ch, sizeof(ch));
		name = pk_text_truncate(e->function, SUMMARY_NAME_WIDTH, PK_TRUNC_END);
		pk_strbuf_addf(sb, "%s%s %s", named ? ", " : "", name, ch);
		free(name);
		named++;
	}
	if (count > named)
		pk_strbuf_addf(sb, ", and %zu more", count - named);
	pk_strbuf_addch(sb, ')');
	return count;
}

char *pk_compare_summary(const struct pk_compare *c)
{
	struct pk_strbuf sb = PK_STRBUF_INIT;

	if (c->same_session) {
		pk_strbuf_addf(&sb, "BEFORE and AFTER are the same session ('%s'): nothing changed.",
			       c->after_profile.session.name);
		return pk_strbuf_detach(&sb);
	}
	pk_strbuf_addstr(&sb, "AFTER is ");
	if (describe_speed(&sb, "CPU time", c->before.cpu_s, c->after.cpu_s)) {
		double wb = c->before.wall_s, wa = c->after.wall_s;

		if (!isnan(pk_compare_speedup(wb, wa))) {
			pk_strbuf_addstr(&sb, " and ");
			describe_speed(&sb, "wall time", wb, wa);
		}
	} else if (!describe_speed(&sb, "wall time", c->before.wall_s, c->after.wall_s) &&
		   !describe_speed(&sb, "sampled time", c->before.sampled_s, c->after.sampled_s)) {
		pk_strbuf_reset(&sb);
		pk_strbuf_addstr(&sb, "The speeds cannot be compared (a session recorded no time)");
	}
	pk_strbuf_addstr(&sb, ". ");
	if (!c->tested) {
		pk_strbuf_addf(&sb, "No function can be judged: %s.", c->untested_reason);
		pk_compare_summary_exact(&sb, c);
		return pk_strbuf_detach(&sb);
	}
	if (c->kind == PK_EVENT_SAMPLES)
		pk_strbuf_addstr(&sb, "Self time: ");
	else
		pk_strbuf_addf(&sb, "Self %s: ", c->event);
	describe_verdicts(&sb, c, PK_METRIC_SELF_TIME, 1);
	pk_strbuf_addstr(&sb, ", ");
	describe_verdicts(&sb, c, PK_METRIC_SELF_TIME, 0);
	/* Total time of functions with callees, when something changed
	 * there beyond the self times and the whole run. */
	{
		struct pk_strbuf more = PK_STRBUF_INIT;
		size_t n = describe_verdicts(&more, c, PK_METRIC_TOTAL_TIME, 1);

		pk_strbuf_addstr(&more, ", ");
		n += describe_verdicts(&more, c, PK_METRIC_TOTAL_TIME, 0);
		pk_strbuf_addf(&sb, ". Including callees: %s",
			       n ? pk_strbuf_str(&more) : "no other significant change");
		pk_strbuf_release(&more);
	}
	if (c->kind != PK_EVENT_SAMPLES)
		pk_strbuf_addf(&sb, ". Significant: q <= %g (Benjamini-Hochberg over %zu tests on sample "
			       "counts) and a change of at least %g%% and %g points of the larger session's %s.",
			       c->alpha, c->n_tests, PK_COMPARE_MIN_RELATIVE, PK_COMPARE_MIN_POINTS, c->event);
	else
		pk_strbuf_addf(&sb, ". Significant: q <= %g (Benjamini-Hochberg over %zu tests) and a change "
			       "of at least %g%% and %g points of the longer run's %s.",
			       c->alpha, c->n_tests, PK_COMPARE_MIN_RELATIVE, PK_COMPARE_MIN_POINTS,
			       c->times_known ? "time" : "samples");
	pk_compare_summary_exact(&sb, c);
	return pk_strbuf_detach(&sb);
}

/* ---- table ---------------------------------------------------------------- */

/* Print text wrapped at width columns (breaking at spaces). */
static void print_wrapped(FILE *out, const char *text, size_t width)
{
	const char *p = text;

	while (*p) {
		size_t len = strlen(p), cut;

		if (pk_text_width(p) <= width) {
			fprintf(out, "%s\n", p);
			return;
		}
		for (cut = width; cut > 0 && p[cut] != ' '; cut--)
			;
		if (!cut) /* one long word: break after it */
			for (cut = width; cut < len && p[cut] != ' '; cut++)
				;
		fprintf(out, "%.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

static void overall_row(struct pk_table *t, const char *label, const char *b, const char *a,
			double before, double after, int speedup)
{
	double sp = pk_compare_speedup(before, after);

	pk_table_row(t);
	pk_table_cell(t, label);
	pk_table_cell(t, b);
	pk_table_cell(t, a);
	if (isfinite(before) && isfinite(after) && before > 0)
		pk_table_cellf(t, "%+.1f%%", 100.0 * (after - before) / before);
	else
		pk_table_cell(t, "-");
	if (speedup && !isnan(sp))
		pk_table_cellf(t, "%.2fx", sp);
	else
		pk_table_cell(t, "");
}

static void seconds_row(struct pk_table *t, const char *label, double before, double after)
{
	char b[32], a[32];

	fmt_seconds(before, b, sizeof(b));
	fmt_seconds(after, a, sizeof(a));
	overall_row(t, label, b, a, before, after, 1);
}

static void print_overall(const struct pk_compare *c, FILE *out)
{
	static const struct pk_column cols[] = {
		{ "", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
		{ "BEFORE", PK_ALIGN_RIGHT, 40, PK_TRUNC_START },
		{ "AFTER", PK_ALIGN_RIGHT, 40, PK_TRUNC_START },
		{ "CHANGE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SPEEDUP", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
	};
	struct pk_table *t = pk_table_new(cols, sizeof(cols) / sizeof(cols[0]));
	char b[64], a[64];
	size_t i;

	pk_table_row(t);
	pk_table_cell(t, "session");
	pk_table_cell(t, c->before_profile.session.name);
	pk_table_cell(t, c->after_profile.session.name);
	seconds_row(t, "wall time", c->before.wall_s, c->after.wall_s);
	seconds_row(t, "CPU time", c->before.cpu_s, c->after.cpu_s);
	if (c->kind == PK_EVENT_SAMPLES) {
		snprintf(b, sizeof(b), "%" PRIu64, c->before.samples);
		snprintf(a, sizeof(a), "%" PRIu64, c->after.samples);
		overall_row(t, "samples", b, a, (double)c->before.samples, (double)c->after.samples, 0);
	}
	snprintf(b, sizeof(b), "%.0f Hz", c->before.rate_hz);
	snprintf(a, sizeof(a), "%.0f Hz", c->after.rate_hz);
	if (c->times_known)
		overall_row(t, "sampling rate", b, a, NAN, NAN, 0);
	if (c->kind != PK_EVENT_SAMPLES) {
		char label[96];

		snprintf(label, sizeof(label), "%s samples", c->event);
		snprintf(b, sizeof(b), "%" PRIu64, c->before.samples);
		snprintf(a, sizeof(a), "%" PRIu64, c->after.samples);
		overall_row(t, label, b, a, (double)c->before.samples, (double)c->after.samples, 0);
		snprintf(label, sizeof(label), "%s (%s)", c->event, c->unit);
		snprintf(b, sizeof(b), "%" PRIu64, c->before.weight);
		snprintf(a, sizeof(a), "%" PRIu64, c->after.weight);
		overall_row(t, label, b, a, (double)c->before.weight, (double)c->after.weight, 0);
	}
	/* Allocations and counters only when both sessions recorded them:
	 * never a 0 for a quantity that was not measured. */
	if (c->exact.have_allocs[0] && c->exact.have_allocs[1])
		for (i = 0; i < pk_compare_n_alloc_totals; i++) {
			const struct pk_compare_alloc_total *q = &pk_compare_alloc_totals[i];
			int64_t vb = pk_compare_alloc_total_value(q, &c->exact.allocs[0]);
			int64_t va = pk_compare_alloc_total_value(q, &c->exact.allocs[1]);

			snprintf(b, sizeof(b), "%" PRId64, vb);
			snprintf(a, sizeof(a), "%" PRId64, va);
			overall_row(t, q->label, b, a, (double)vb, (double)va, 0);
		}
	for (i = 0; i < c->exact.n_counters; i++) {
		const struct pk_compare_counter *k = &c->exact.counters[i];
		char label[96];

		snprintf(label, sizeof(label), "%s (counter)", k->name);
		snprintf(b, sizeof(b), "%.0f%s", k->value[0], k->scaled[0] ? " (scaled)" : "");
		snprintf(a, sizeof(a), "%.0f%s", k->value[1], k->scaled[1] ? " (scaled)" : "");
		overall_row(t, label, b, a, k->value[0], k->value[1], 0);
	}
	pk_table_print(t, out);
	pk_table_free(t);
}

static void print_list(const struct pk_compare *c, int improvements, size_t limit, FILE *out)
{
	static const struct pk_column cols[] = {
		{ "METRIC", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
		{ "FUNCTION", PK_ALIGN_LEFT, 50, PK_TRUNC_END },
		{ "MODULE", PK_ALIGN_LEFT, 20, PK_TRUNC_END },
		{ "BEFORE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "AFTER", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "CHANGE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SHARE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "P", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "Q", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SIGNIFICANT", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
	};
	struct pk_table *t;
	size_t i, n = 0, shown = 0, repeats = 0;

	for (i = 0; i < c->n_entries; i++) {
		if (!pk_compare_in_list(&c->entries[i], improvements))
			continue;
		if (pk_compare_is_informative(&c->entries[i]))
			n++;
		else
			repeats++;
	}
	fprintf(out, "\n%s: %s %s than before (%zu):\n", improvements ? "Improvements" : "Regressions",
		improvements ? "less" : "more", measured(c), n);
	if (!n) {
		fprintf(out, "none\n");
		return;
	}
	t = pk_table_new(cols, sizeof(cols) / sizeof(cols[0]));
	for (i = 0; i < c->n_entries && (!limit || shown < limit); i++) {
		const struct pk_compare_entry *e = &c->entries[i];
		char b[32], a[32], ch[32], p[32], q[32];

		if (!pk_compare_in_list(e, improvements) || !pk_compare_is_informative(e))
			continue;
		shown++;
		fmt_value(c, e->before_s, b, sizeof(b));
		fmt_value(c, e->after_s, a, sizeof(a));
		fmt_change(e, ch, sizeof(ch));
		fmt_p(e->p_value, p, sizeof(p));
		fmt_p(e->q_value, q, sizeof(q));
		pk_table_row(t);
		pk_table_cell(t, metric_label(e->metric));
		pk_table_cell(t, e->function);
		pk_table_cell(t, e->module);
		pk_table_cell(t, b);
		pk_table_cell(t, a);
		pk_table_cell(t, ch);
		pk_table_cellf(t, "%.1f%% -> %.1f%%", 100.0 * e->before_share, 100.0 * e->after_share);
		pk_table_cell(t, p);
		pk_table_cell(t, q);
		pk_table_cell(t, !c->tested ? "untested" : e->significant ? "yes" : "no");
	}
	pk_table_print(t, out);
	pk_table_free(t);
	if (shown < n)
		fprintf(out, "(%zu more; use --limit 0 to see all)\n", n - shown);
	if (repeats)
		fprintf(out, "(%zu total-time row%s left out: equal to the self time, or the whole run's; "
			     "--format json lists them)\n", repeats, repeats == 1 ? "" : "s");
}

void pk_compare_print_table(const struct pk_compare *c, size_t limit, FILE *out)
{
	char *summary = pk_compare_summary(c);
	/* Function names are the program's bytes: keep the text valid UTF-8
	 * as the table cells are. */
	char *clean = pk_utf8_sanitize(summary);

	print_wrapped(out, clean, 78);
	free(clean);
	free(summary);
	fputc('\n', out);
	print_overall(c, out);
	print_list(c, 1, limit, out);
	print_list(c, 0, limit, out);
	pk_compare_print_exact_table(c, limit, out);
	if (c->tested)
		fprintf(out, "\nSELF: %s with the function running; TOTAL: including its callees.\n"
			     "P: two-sided %s%s; Q: Benjamini-Hochberg over all %zu tests.\n",
			c->kind == PK_EVENT_SAMPLES ? "time" : c->event,
			"two-proportion z-test (Fisher's exact test for small counts)",
			c->kind == PK_EVENT_WEIGHTED ? " on sample counts (not their weights)" : "", c->n_tests);
	fflush(out);
}

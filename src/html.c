/*
 * html.c - the skeleton of a "perfkit html" report and the sections that
 * come straight from the profile: session summary, the function table
 * (pk_profile_function_stats, as "perfkit report") and the hot source
 * lines of the heaviest functions (annotate.h, as "perfkit annotate").
 * The flame graph and the comparison are in html-flamegraph.c and
 * html-compare.c.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "src/annotate.h"
#include "src/html.h"
#include "strbuf.h"
#include "util.h"

void pk_html_text(FILE *out, const char *s)
{
	struct pk_strbuf sb = PK_STRBUF_INIT;

	if (!s)
		return;
	pk_strbuf_add_xml(&sb, s);
	fputs(pk_strbuf_str(&sb), out);
	pk_strbuf_release(&sb);
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Seconds for a weight when the event counts samples, NAN otherwise. */
static double weight_seconds(const struct pk_profile *p, uint64_t w)
{
	if (p->event_unit && strcmp(p->event_unit, "samples"))
		return NAN;
	return pk_profile_seconds(p, w);
}

static void fact(FILE *out, const char *label, const char *value)
{
	fputs("<dt>", out);
	pk_html_text(out, label);
	fputs("</dt><dd>", out);
	pk_html_text(out, value && *value ? value : "-");
	fputs("</dd>\n", out);
}

static void factf(FILE *out, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void factf(FILE *out, const char *label, const char *fmt, ...)
{
	struct pk_strbuf sb = PK_STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pk_strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	fact(out, label, pk_strbuf_str(&sb));
	pk_strbuf_release(&sb);
}

static double stat_or_nan(struct pk_store *st, int64_t sid, const char *key)
{
	double v;

	return pk_store_get_stat(st, sid, key, &v) == PK_STORE_OK ? v : NAN;
}

static void write_summary(FILE *out, const struct pk_html_input *in)
{
	const struct pk_profile *p = in->profile;
	const struct pk_session *s = &p->session;
	struct pk_stat *stats = NULL;
	size_t n_stats = 0, i;
	char buf[64], dur[32];
	double user = stat_or_nan(in->store, s->id, "user_cpu_s");
	double sys = stat_or_nan(in->store, s->id, "sys_cpu_s");
	double hz = stat_or_nan(in->store, s->id, "achieved_hz");

	fputs("<section id=\"pk-summary\">\n<h2>Session</h2>\n<dl class=\"facts\">\n", out);
	fact(out, "Command", s->command);
	factf(out, "Session", "%s (id %" PRId64 ")", s->name, s->id);
	fact(out, "Status", s->status);
	factf(out, "Process", "pid %d", s->pid);
	pk_format_local_time(s->started_ns, buf, sizeof(buf));
	fact(out, "Started", buf);
	pk_format_duration(p->duration_s, dur, sizeof(dur));
	fact(out, "Duration", dur);
	fact(out, "Mode", s->mode);
	factf(out, "Event", "%s (%s)", p->event_name, p->event_unit);
	factf(out, "Samples", "%" PRIu64 " (weight %" PRIu64 ")", p->n_samples, p->total);
	factf(out, "Threads", "%zu", p->n_tids);
	if (isfinite(hz))
		factf(out, "Sampling rate", "%.0f Hz achieved, %.0f Hz asked", hz, s->frequency);
	else
		factf(out, "Sampling rate", "%.0f Hz asked", s->frequency);
	if (isfinite(user) || isfinite(sys)) {
		pk_format_duration((isfinite(user) ? user : 0) + (isfinite(sys) ? sys : 0), dur, sizeof(dur));
		fact(out, "Target CPU time", dur);
	}
	factf(out, "Host", "%s, Linux %s", s->host ? s->host : "?", s->kernel ? s->kernel : "?");
	if (s->exit_status >= 0)
		factf(out, "Exit status", "%d", s->exit_status);
	fputs("</dl>\n", out);

	if (pk_store_stats(in->store, s->id, &stats, &n_stats) == PK_STORE_OK && n_stats) {
		fputs("<details class=\"noprint\"><summary>All recorded statistics</summary>\n"
		      "<table class=\"stats\"><thead><tr><th>key</th><th class=\"num\">value</th></tr></thead><tbody>\n",
		      out);
		for (i = 0; i < n_stats; i++) {
			fputs("<tr><td>", out);
			pk_html_text(out, stats[i].key);
			fprintf(out, "</td><td class=\"num\">%.10g</td></tr>\n", stats[i].value);
		}
		fputs("</tbody></table></details>\n", out);
	}
	pk_stat_array_free(stats, n_stats);
	fputs("</section>\n", out);
}

static void num_cell(FILE *out, double sort_value, const char *text)
{
	if (isfinite(sort_value))
		fprintf(out, "<td class=\"num\" data-v=\"%.10g\">", sort_value);
	else
		fputs("<td class=\"num\" data-v=\"\">", out);
	pk_html_text(out, text);
	fputs("</td>", out);
}

static void write_functions(FILE *out, const struct pk_html_input *in, const struct pk_func_stat *v, size_t n)
{
	const struct pk_profile *p = in->profile;
	size_t shown = in->function_limit && in->function_limit < n ? in->function_limit : n, i;
	uint64_t top = n ? v[0].self : 0;

	fputs("<section id=\"pk-functions\">\n<h2>Functions</h2>\n", out);
	fprintf(out, "<p class=\"lede\">Self: samples taken while the function was running; total: "
		"samples with the function anywhere on the stack (once per sample). "
		"Percentages are of all %" PRIu64 " counted. Click a header to sort.</p>\n", p->total);
	fputs("<div class=\"controls\"><input id=\"pk-filter\" type=\"search\" "
	      "placeholder=\"filter functions by name\" data-filter=\"pk-ftable\" data-count=\"pk-fcount\" "
	      "aria-label=\"filter functions by name\"/> <span id=\"pk-fcount\" class=\"count\"></span></div>\n",
	      out);
	fputs("<table id=\"pk-ftable\" class=\"sortable\"><thead><tr>"
	      "<th class=\"num\">Self</th><th class=\"num\">Self %</th><th class=\"num\">Total</th>"
	      "<th class=\"num\">Total %</th><th class=\"num\">Self time</th><th class=\"num\">Total time</th>"
	      "<th>Function</th><th>Module</th><th>Source</th></tr></thead>\n<tbody>\n", out);
	for (i = 0; i < shown; i++) {
		const struct pk_func_stat *f = &v[i];
		const char *name = pk_profile_function_name(p, f->function_id);
		int64_t mod = f->function_id >= 1 && (size_t)f->function_id <= p->symtab.n_functions
			? p->symtab.functions[f->function_id - 1].module_id : 0;
		const struct pk_frame_row *fr = f->source_frame_id >= 1 &&
			(size_t)f->source_frame_id <= p->symtab.n_frames ? &p->symtab.frames[f->source_frame_id - 1] : NULL;
		char text[64];
		double sp = percent(f->self, p->total);

		fputs("<tr data-name=\"", out);
		pk_html_text(out, name);
		fputs("\">", out);
		snprintf(text, sizeof(text), "%" PRIu64, f->self);
		num_cell(out, (double)f->self, text);
		fprintf(out, "<td class=\"num\" data-v=\"%.6f\"><span class=\"bar\" style=\"width:%.0fpx\"></span>%.1f%%</td>",
			sp, top ? 60.0 * (double)f->self / (double)top : 0.0, sp);
		snprintf(text, sizeof(text), "%" PRIu64, f->total);
		num_cell(out, (double)f->total, text);
		snprintf(text, sizeof(text), "%.1f%%", percent(f->total, p->total));
		num_cell(out, percent(f->total, p->total), text);
		pk_format_duration(weight_seconds(p, f->self), text, sizeof(text));
		num_cell(out, weight_seconds(p, f->self), text);
		pk_format_duration(weight_seconds(p, f->total), text, sizeof(text));
		num_cell(out, weight_seconds(p, f->total), text);
		fputs("<td class=\"name\">", out);
		pk_html_text(out, name);
		fputs("</td><td>", out);
		pk_html_text(out, pk_basename(pk_profile_module_name(p, mod)));
		fputs("</td><td class=\"mono\">", out);
		if (fr && fr->file && *fr->file) {
			pk_html_text(out, pk_basename(fr->file));
			if (fr->line > 0)
				fprintf(out, ":%d", fr->line);
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
	if (shown < n)
		fprintf(out, "<p class=\"note\">%zu more functions with fewer samples are left out "
			"(--limit).</p>\n", n - shown);
	if (p->root_self)
		fprintf(out, "<p class=\"note\">%" PRIu64 " samples had no stack and count only in the total.</p>\n",
			p->root_self);
	fputs("</section>\n", out);
}

/* The hottest lines of the heaviest functions (by self). */
static void write_hot_lines(FILE *out, const struct pk_html_input *in, const struct pk_func_stat *v, size_t n)
{
	const struct pk_profile *p = in->profile;
	size_t i, j, k, shown = 0;

	fputs("<section id=\"pk-lines\">\n<h2>Hot source lines</h2>\n"
	      "<p class=\"lede\">The lines where the heaviest functions spent their self samples "
	      "(as <code>perfkit annotate SESSION FUNCTION</code> shows them in full).</p>\n", out);
	for (i = 0; i < n && shown < in->hot_functions; i++) {
		const char *name = pk_profile_function_name(p, v[i].function_id);
		struct pk_annotate a;
		char *src_path = NULL;
		char **src = NULL;
		size_t n_src = 0;

		if (!v[i].self || pk_annotate_build(p, name, &a) < 0 || !a.n_lines) {
			if (v[i].self)
				pk_annotate_release(&a);
			continue;
		}
		shown++;
		fputs("<h3 class=\"mono\">", out);
		pk_html_text(out, name);
		fprintf(out, " <span class=\"count\">%" PRIu64 " self samples, %.1f%%</span></h3>\n",
			a.self, percent(a.self, p->total));
		fputs("<table class=\"lines\"><thead><tr><th class=\"num\">Samples</th>"
		      "<th class=\"num\">% of function</th><th>Line</th><th>Source</th></tr></thead><tbody>\n", out);
		/* The five heaviest lines, heaviest first. */
		for (k = 0; k < 5; k++) {
			struct pk_annotate_line *best = NULL;

			for (j = 0; j < a.n_lines; j++)
				if (a.lines[j].self && (!best || a.lines[j].self > best->self))
					best = &a.lines[j];
			if (!best)
				break;
			if (!src_path || strcmp(src_path, best->file)) {
				pk_source_lines_free(src, n_src);
				src = NULL;
				n_src = 0;
				free(src_path);
				src_path = pk_xstrdup(best->file);
				if (pk_source_read(best->file, &src, &n_src) < 0)
					n_src = 0;
			}
			fprintf(out, "<tr%s><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%.1f%%</td><td class=\"mono\">",
				best->hot ? " class=\"hot\"" : "", best->self, percent(best->self, a.self));
			pk_html_text(out, pk_basename(best->file));
			fprintf(out, ":%d</td><td><pre class=\"src\">", best->line);
			if (best->line >= 1 && (size_t)best->line <= n_src)
				pk_html_text(out, src[best->line - 1]);
			fputs("</pre></td></tr>\n", out);
			best->self = 0; /* taken: the next round finds the next one */
		}
		fputs("</tbody></table>\n", out);
		pk_source_lines_free(src, n_src);
		free(src_path);
		pk_annotate_release(&a);
	}
	if (!shown)
		fputs("<p class=\"note\">No line information: the program was built without "
		      "<code>-g</code> (or its debug information was not found when recording).</p>\n", out);
	fputs("</section>\n", out);
}

int pk_html_write(FILE *out, const struct pk_html_input *in)
{
	const struct pk_profile *p = in->profile;
	struct pk_func_stat *v = NULL;
	size_t n = 0;
	char when[64];

	pk_profile_function_stats(p, &v, &n);
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"perfkit " PACKAGE_VERSION "\">\n<title>perfkit: ", out);
	pk_html_text(out, p->session.name);
	fputs("</title>\n<style>\n", out);
	fputs(pk_html_css, out);
	fputs("</style>\n</head>\n<body>\n<header>\n<h1>perfkit report: ", out);
	pk_html_text(out, p->session.name);
	fputs("</h1>\n<p class=\"lede mono\">", out);
	pk_html_text(out, p->session.command);
	fputs("</p>\n</header>\n<nav><a href=\"#pk-summary\">Session</a><a href=\"#pk-analysis\">Analysis</a>"
	      "<a href=\"#pk-functions\">Functions</a><a href=\"#pk-lines\">Hot lines</a>"
	      "<a href=\"#pk-flamegraph\">Flame graph</a><a href=\"#pk-allocs\">Allocations</a>", out);
	if (in->compare)
		fputs("<a href=\"#pk-compare\">Comparison</a>", out);
	fputs("</nav>\n<main>\n", out);

	write_summary(out, in);
	pk_html_analysis(out, in);
	write_functions(out, in, v, n);
	write_hot_lines(out, in, v, n);
	fputs("<section id=\"pk-flamegraph\">\n<h2>Flame graph</h2>\n"
	      "<p class=\"lede noprint\">Hover a frame for its numbers, click to zoom into it, "
	      "Ctrl-F or the search box to highlight functions by regular expression.</p>\n"
	      "<div class=\"fg\">\n", out);
	pk_html_flamegraph(out, p);
	fputs("</div>\n</section>\n", out);
	pk_html_allocs(out, in);
	pk_html_cache(out, in);
	if (in->compare)
		pk_html_compare(out, in->compare);

	pk_format_local_time((int64_t)pk_realtime_ns(), when, sizeof(when));
	fprintf(out, "</main>\n<footer>Written by perfkit %s on %s from session ", PACKAGE_VERSION, when);
	pk_html_text(out, p->session.name);
	fputs(".</footer>\n<script>\n", out);
	fputs(pk_html_js, out);
	fputs("</script>\n</body>\n</html>\n", out);
	free(v);
	return ferror(out) ? -1 : 0;
}

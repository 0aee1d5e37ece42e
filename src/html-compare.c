/*
 * html-compare.c - the comparison section of an HTML report ("perfkit
 * html SESSION --compare BEFORE"): the verdict paragraph, the changed
 * functions and the differential flame graph, all from compare.h's model
 * and compare-output.h's writers, as "perfkit compare" prints them.
 *
 * The differential flame graph runs the same script as the session's own
 * flame graph, which looks its elements up by id; two on one page would
 * collide, so this one lives in an iframe whose document is given inline
 * (srcdoc): still one file, no network.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "src/compare-output.h"
#include "src/html.h"

#define MAX_ROWS 40

static void seconds_cell(FILE *out, const struct pk_compare *c, double v)
{
	char buf[32];

	if (c->times_known)
		pk_format_duration(v, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%.2f%%", 100.0 * v);
	fprintf(out, "<td class=\"num\" data-v=\"%.10g\">%s</td>", isfinite(v) ? v : 0.0, buf);
}

static void write_table(FILE *out, const struct pk_compare *c)
{
	size_t i, rows = 0;

	fputs("<table id=\"pk-ctable\" class=\"sortable\"><thead><tr><th>Function</th><th>Module</th>"
	      "<th class=\"num\">Before</th><th class=\"num\">After</th><th class=\"num\">Change</th>"
	      "<th class=\"num\">q</th><th>Significant</th></tr></thead><tbody>\n", out);
	for (i = 0; i < c->n_entries && rows < MAX_ROWS; i++) {
		const struct pk_compare_entry *e = &c->entries[i];
		const char *cls = !e->significant ? "" : pk_compare_is_improvement(e) ? " class=\"good\"" : " class=\"bad\"";

		if (e->metric != PK_METRIC_SELF_TIME || !pk_compare_is_informative(e))
			continue;
		rows++;
		fputs("<tr data-name=\"", out);
		pk_html_text(out, e->function);
		fputs("\"><td class=\"name\">", out);
		pk_html_text(out, e->function);
		fputs("</td><td>", out);
		pk_html_text(out, e->module);
		fputs("</td>", out);
		seconds_cell(out, c, e->before_s);
		seconds_cell(out, c, e->after_s);
		if (isinf(e->percent_change))
			fprintf(out, "<td class=\"num\" data-v=\"1e300\"%s>new</td>", cls);
		else
			fprintf(out, "<td class=\"num\" data-v=\"%.6f\"%s>%+.1f%%</td>", e->percent_change, cls,
				e->percent_change);
		if (isfinite(e->q_value))
			fprintf(out, "<td class=\"num\" data-v=\"%.6g\">%.2g</td>", e->q_value, e->q_value);
		else
			fputs("<td class=\"num\" data-v=\"\">-</td>", out);
		fprintf(out, "<td%s>%s</td></tr>\n", cls, !c->tested ? "untested" : e->significant ? "yes" : "no");
	}
	fputs("</tbody></table>\n", out);
}

int pk_html_compare(FILE *out, const struct pk_compare *c)
{
	char *summary = pk_compare_summary(c), *clean = pk_utf8_sanitize(summary);
	char *svg = NULL;
	size_t len = 0;
	int w = 0, h = 0, rc = 0;
	const char *body;
	FILE *mem;

	fputs("<section id=\"pk-compare\">\n<h2>Comparison with ", out);
	pk_html_text(out, c->before_profile.session.name);
	fputs("</h2>\n<p class=\"verdict\">", out);
	pk_html_text(out, clean);
	fputs("</p>\n<h3>Self time per function</h3>\n", out);
	free(clean);
	free(summary);
	write_table(out, c);
	fprintf(out, "<p class=\"note\">Significant: the change passes the test at false discovery rate "
		"%g and is at least %g%% of the time before and %g points of the run "
		"(see <code>perfkit compare</code>).</p>\n",
		c->alpha, PK_COMPARE_MIN_RELATIVE, PK_COMPARE_MIN_POINTS);

	fputs("<h3>Differential flame graph</h3>\n<div class=\"fg\">\n", out);
	if ((mem = open_memstream(&svg, &len))) {
		rc = pk_compare_write_flamegraph(c, mem);
		if (fclose(mem) != 0)
			rc = -1;
	} else {
		rc = -1;
	}
	if (rc == 0) {
		body = pk_html_svg_body(svg);
		if (sscanf(body, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\"",
			   &w, &h) != 2 || w <= 0 || h <= 0) {
			w = 1200;
			h = 600;
		}
		fprintf(out, "<iframe id=\"pk-diff\" title=\"differential flame graph\" style=\"aspect-ratio:%d/%d\" srcdoc=\"",
			w, h);
		pk_html_text(out, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>"
			     "html,body{margin:0}svg{width:100%;height:auto;display:block}</style></head><body>");
		pk_html_text(out, body);
		pk_html_text(out, "</body></html>");
		fputs("\"></iframe>\n", out);
	}
	free(svg);
	fputs("</div>\n</section>\n", out);
	return rc;
}

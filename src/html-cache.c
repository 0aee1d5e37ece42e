/*
 * html-cache.c - the cache section of the HTML report: the counters and
 * ratios, the sampled event per function and the cache simulation of
 * "perfkit cache", from the same model (cache.h).  Left out when the
 * session recorded none of them; a counter that did not open is shown
 * with its status, never as 0.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "counter-status.h"
#include "src/cache.h"
#include "src/html.h"

#define MAX_ROWS 15

static void ratio_cell(FILE *out, double v)
{
	if (isnan(v))
		fputs("<td class=\"num\">-</td>", out);
	else
		fprintf(out, "<td class=\"num\">%.2f%%</td>", 100.0 * v);
}

int pk_html_cache(FILE *out, const struct pk_html_input *in)
{
	struct pk_cache_view v;
	size_t i;

	if (pk_cache_view_load(in->store, &in->profile->session, 0, &v) != PK_STORE_OK) {
		pk_cache_view_release(&v);
		return 0;
	}
	if (!v.n_process && !v.sampled_event && !v.have_sim) {
		pk_cache_view_release(&v);
		return 0;
	}
	fputs("<section id=\"pk-cache\">\n<h2>Counters and cache</h2>\n", out);
	if (v.n_process) {
		fputs("<table class=\"counters\"><thead><tr><th>Event</th><th class=\"num\">Value</th>"
		      "<th>Status</th></tr></thead><tbody>\n", out);
		for (i = 0; i < v.n_process; i++) {
			const struct pk_counter_row *c = &v.counters[i];
			int counted = c->status && !strcmp(c->status, "counted");

			fputs("<tr><td class=\"mono\">", out);
			pk_html_text(out, c->name);
			char why[256];

			if (counted)
				fprintf(out, "</td><td class=\"num\">%.0f</td><td>counted", c->value);
			else
				fputs("</td><td class=\"num\">-</td><td>", out);
			if (!counted)
				pk_html_text(out, pk_counter_explain(c->status, c->err, pk_counter_kind_of(c->name),
								     v.pmu_present, why, sizeof(why)));
			fputs("</td></tr>\n", out);
		}
		for (i = 0; i < v.n_derived; i++) {
			if (isnan(v.derived[i].value))
				continue;
			fputs("<tr><td>", out);
			pk_html_text(out, v.derived[i].label);
			fprintf(out, "</td><td class=\"num\">%.3g</td><td>derived</td></tr>\n", v.derived[i].value);
		}
		fputs("</tbody></table>\n", out);
	}
	if (v.sampled_event && v.n_sampled) {
		fputs("<h3>Sampled on ", out);
		pk_html_text(out, v.sampled_event);
		fputs("</h3>\n<table><thead><tr><th>Function</th><th class=\"num\">Events</th></tr></thead><tbody>\n", out);
		for (i = 0; i < v.n_sampled && i < MAX_ROWS; i++) {
			fputs("<tr><td class=\"name\">", out);
			pk_html_text(out, v.sampled[i].function);
			fprintf(out, "</td><td class=\"num\">%" PRIu64 "</td></tr>\n", v.sampled[i].events);
		}
		fputs("</tbody></table>\n", out);
	}
	if (v.have_sim) {
		fputs("<h3>Cache simulation</h3>\n<p class=\"note\">Simulated by ", out);
		pk_html_text(out, v.sim.tool);
		fputs(" (D1 ", out);
		pk_html_text(out, v.sim.d1);
		fputs(", LL ", out);
		pk_html_text(out, v.sim.ll);
		fputs("; size, associativity, line bytes): not measured on the hardware.</p>\n"
		      "<table><thead><tr><th>Function</th><th class=\"num\">Instructions</th>"
		      "<th class=\"num\">D1 misses</th><th class=\"num\">D1 miss ratio</th>"
		      "<th class=\"num\">LL miss ratio</th></tr></thead><tbody>\n", out);
		for (i = 0; i < v.n_sim_rows && i < MAX_ROWS; i++) {
			const struct pk_cachesim_row *r = &v.sim_rows[i];

			fputs("<tr><td class=\"name\">", out);
			pk_html_text(out, r->function);
			fprintf(out, "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64 "</td>",
				r->ir, r->d1mr + r->d1mw);
			ratio_cell(out, pk_cachesim_d1_ratio(r));
			ratio_cell(out, pk_cachesim_ll_ratio(r));
			fputs("</tr>\n", out);
		}
		fputs("</tbody></table>\n", out);
	}
	fputs("</section>\n", out);
	pk_cache_view_release(&v);
	return 0;
}

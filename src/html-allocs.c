/*
 * html-allocs.c - the allocation section of the HTML report: the summary,
 * the memory timeline chart, the call sites and the leaks of "perfkit
 * allocs", from the same model (allocs.h) and chart writer.
 */
#define PK_HTML_MAX_ROWS 25
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "src/allocs.h"
#include "src/html.h"

static void bytes_text(int64_t b, char *buf, size_t len)
{
	double v = (double)b;

	if (b < 1024)
		snprintf(buf, len, "%" PRId64 " B", b);
	else if (v < 1024.0 * 1024)
		snprintf(buf, len, "%.1f KiB", v / 1024);
	else if (v < 1024.0 * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", v / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.2f GiB", v / (1024.0 * 1024 * 1024));
}

static void fact(FILE *out, const char *label, const char *value)
{
	fputs("<dt>", out);
	pk_html_text(out, label);
	fputs("</dt><dd>", out);
	pk_html_text(out, value);
	fputs("</dd>\n", out);
}

static void num(FILE *out, int64_t v, int bytes)
{
	char buf[32];

	if (bytes)
		bytes_text(v, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%" PRId64, v);
	fprintf(out, "<td class=\"num\" data-v=\"%" PRId64 "\">%s</td>", v, buf);
}

int pk_html_allocs(FILE *out, const struct pk_html_input *in)
{
	const struct pk_alloc_summary *s;
	struct pk_allocs a;
	char buf[64], dur[32];
	char *svg = NULL;
	size_t len = 0, i, k;
	FILE *mem;
	int rc;

	fputs("<section id=\"pk-allocs\">\n<h2>Allocations</h2>\n", out);
	memset(&a, 0, sizeof(a));
	rc = pk_allocs_load(in->store, in->profile->session.id, PK_ALLOCS_SORT_BYTES, &a);
	if (rc != PK_STORE_OK) {
		fputs(rc == PK_STORE_NOTFOUND
		      ? "<p class=\"note\">Not recorded: record with <code>perfkitd --alloc</code> "
			"to see allocation hotspots, the peak and leaks.</p>\n"
		      : "<p class=\"note\">The allocation data could not be read.</p>\n", out);
		fputs("</section>\n", out);
		pk_allocs_release(&a);
		return 0;
	}
	s = &a.data.summary;
	fputs("<dl class=\"facts\">\n", out);
	snprintf(buf, sizeof(buf), "%" PRId64 " allocations, %" PRId64 " frees", s->alloc_calls, s->free_calls);
	fact(out, "Calls", buf);
	bytes_text(s->bytes_allocated, buf, sizeof(buf));
	fact(out, "Allocated", buf);
	bytes_text(s->peak_bytes, buf, sizeof(buf));
	pk_format_duration((double)s->peak_ns / 1e9, dur, sizeof(dur));
	strncat(buf, " at ", sizeof(buf) - strlen(buf) - 1);
	strncat(buf, dur, sizeof(buf) - strlen(buf) - 1);
	fact(out, "Peak in use", buf);
	bytes_text(s->live_bytes, buf, sizeof(buf));
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " in %" PRId64 " blocks%s", s->live_count,
		 s->target_exited ? " (leaked: never freed)" : "");
	fact(out, "In use at the end", buf);
	fact(out, "Mode", s->mode);
	fputs("</dl>\n", out);

	if ((mem = open_memstream(&svg, &len))) {
		int ok = pk_allocs_svg(&a, "Memory in use", mem) == 0;

		if (fclose(mem) == 0 && ok) {
			fputs("<h3>Memory timeline</h3>\n<div class=\"chart\">\n", out);
			fputs(pk_html_svg_body(svg), out);
			fputs("</div>\n", out);
		}
		free(svg);
	}

	fputs("<h3>Call sites</h3>\n<table id=\"pk-atable\" class=\"sortable\"><thead><tr><th>Function</th>"
	      "<th class=\"num\">Allocations</th><th class=\"num\">Bytes</th><th class=\"num\">Frees</th>"
	      "<th class=\"num\">In use at the end</th></tr></thead><tbody>\n", out);
	for (i = 0; i < a.n_sites && i < PK_HTML_MAX_ROWS; i++) {
		fputs("<tr><td class=\"name\">", out);
		pk_html_text(out, a.sites[i].function);
		fputs("</td>", out);
		num(out, a.sites[i].count, 0);
		num(out, a.sites[i].bytes, 1);
		num(out, a.sites[i].frees, 0);
		num(out, a.sites[i].live_bytes, 1);
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table>\n", out);

	if (a.n_leaks) {
		fprintf(out, "<h3>%s</h3>\n<table class=\"leaks\"><thead><tr><th class=\"num\">Blocks</th>"
			"<th class=\"num\">Size</th><th>Allocator</th><th>Call path (innermost first)</th></tr></thead><tbody>\n",
			s->target_exited ? "Leaks" : "Still allocated at the end");
		for (i = 0; i < a.n_leaks && i < PK_HTML_MAX_ROWS; i++) {
			const struct pk_alloc_leak *l = &a.leaks[i];

			fputs("<tr>", out);
			num(out, l->count, 0);
			num(out, l->size, 1);
			fputs("<td class=\"mono\">", out);
			pk_html_text(out, l->allocator);
			fputs("</td><td class=\"mono\">", out);
			for (k = 0; k < l->depth && k < 6; k++) {
				if (k)
					fputs(" &larr; ", out);
				pk_html_text(out, l->stack[k]);
			}
			fputs("</td></tr>\n", out);
		}
		fputs("</tbody></table>\n", out);
	}
	fputs("</section>\n", out);
	pk_allocs_release(&a);
	return 0;
}

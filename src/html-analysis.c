/*
 * html-analysis.c - the findings of "perfkit analyze" in the HTML
 * report: the same evidence (pk_evidence_load) and the same rules
 * (pk_analyze), presented as cards, most severe first.
 */
#include <stdio.h>

#include "src/analyze.h"
#include "src/html.h"

int pk_html_analysis(FILE *out, const struct pk_html_input *in)
{
	struct pk_evidence ev;
	struct pk_findings fs = { NULL, 0, 0 };
	size_t i, k;

	fputs("<section id=\"pk-analysis\">\n<h2>Analysis</h2>\n", out);
	if (pk_evidence_load(in->store, in->profile, &ev) != PK_STORE_OK) {
		fputs("<p class=\"note\">The analysis could not read this session's evidence: ", out);
		pk_html_text(out, pk_store_errmsg(in->store));
		fputs("</p>\n</section>\n", out);
		return 0;
	}
	pk_analyze(&ev, &fs);
	fputs("<p class=\"lede\">What <code>perfkit analyze</code> finds in this session, "
	      "most severe first.</p>\n", out);
	if (!fs.n)
		fputs("<p class=\"note\">No findings: no rule found a bottleneck above its "
		      "threshold.</p>\n", out);
	for (i = 0; i < fs.n; i++) {
		const struct pk_finding *f = &fs.v[i];

		fprintf(out, "<div class=\"finding sev-%s\">\n<h3><span class=\"sev\">%s</span> ",
			pk_severity_name(f->severity), pk_severity_name(f->severity));
		pk_html_text(out, f->rule ? f->rule->name : "finding");
		if (f->location) {
			fputs(" <span class=\"mono\">", out);
			pk_html_text(out, f->location);
			fputs("</span>", out);
		}
		fprintf(out, " <span class=\"count\">impact %.1f%%</span></h3>\n<p>", 100.0 * f->impact);
		pk_html_text(out, f->description);
		fputs("</p>\n", out);
		if (f->recommendation) {
			fputs("<p><b>Recommendation:</b> ", out);
			pk_html_text(out, f->recommendation);
			fputs("</p>\n", out);
		}
		if (f->n_paths) {
			fputs("<ul class=\"paths mono\">", out);
			for (k = 0; k < f->n_paths; k++) {
				fputs("<li>", out);
				pk_html_text(out, f->paths[k]);
				fputs("</li>", out);
			}
			fputs("</ul>\n", out);
		}
		fputs("</div>\n", out);
	}
	fputs("</section>\n", out);
	pk_findings_release(&fs);
	pk_evidence_release(&ev);
	return 0;
}

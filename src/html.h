/*
 * html.h - "perfkit html": one self-contained HTML file that holds a
 * session's report (summary, sortable and filterable function table, hot
 * source lines, the interactive flame graph, and with a comparison the
 * comparison and its differential flame graph).  No network: styles,
 * scripts and images are all inside the file, and it reads well printed.
 *
 * The writer only presents: every number comes from the models the other
 * commands use (profile.h, annotate.h, flamegraph.h, compare.h).
 */
#ifndef PK_HTML_H
#define PK_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "src/compare.h"
#include "src/profile.h"
#include "store/store.h"

struct pk_html_input {
	struct pk_store *store;            /* where the session came from */
	const struct pk_profile *profile;  /* the session, loaded */
	const struct pk_compare *compare;  /* NULL: no comparison section */
	size_t function_limit;             /* rows of the function table; 0 = all */
	size_t hot_functions;              /* functions whose hot lines are shown */
};

/*
 * Write the report to out.  Returns 0, or -1 when writing failed (errno
 * set; the caller names the file).
 */
int pk_html_write(FILE *out, const struct pk_html_input *in);

/* The report's stylesheet and script (src/html.css, src/html.js),
 * generated at build time by src/everyday.mk. */
extern const char pk_html_css[];
extern const char pk_html_js[];

/* ---- shared by the html*.c files --------------------------------------- */

/* Text with &, <, >, " and ' escaped (valid UTF-8 kept, invalid bytes
 * replaced); NULL writes nothing. */
void pk_html_text(FILE *out, const char *s);

/* The part of an SVG document from "<svg" on (no XML prolog), for
 * inline use. */
const char *pk_html_svg_body(const char *svg);
/* The flame graph of p, inline (html-flamegraph.c).  Returns 0 or -1. */
int pk_html_flamegraph(FILE *out, const struct pk_profile *p);
/* The analysis findings (html-analysis.c), the allocations
 * (html-allocs.c) and the counters and cache figures (html-cache.c); the
 * last is left out entirely when the session has none.  Return 0. */
int pk_html_analysis(FILE *out, const struct pk_html_input *in);
int pk_html_allocs(FILE *out, const struct pk_html_input *in);
int pk_html_cache(FILE *out, const struct pk_html_input *in);
/* The comparison section with its differential flame graph
 * (html-compare.c). */
int pk_html_compare(FILE *out, const struct pk_compare *c);

#endif

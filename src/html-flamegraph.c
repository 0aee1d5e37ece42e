/*
 * html-flamegraph.c - the session's flame graph inside the HTML report:
 * the SVG that "perfkit flamegraph" writes (flamegraph.h, same tree, same
 * options, same script), placed inline without its XML prolog so that it
 * is part of the page: it scales with the page, prints, and its script
 * (hover, click to zoom, search) runs as in the standalone file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/flamegraph.h"
#include "src/html.h"

const char *pk_html_svg_body(const char *svg)
{
	const char *s = strstr(svg, "<svg");

	return s ? s : svg;
}

int pk_html_flamegraph(FILE *out, const struct pk_profile *p)
{
	struct pk_fg_options opt;
	struct pk_fg_tree tree;
	char *svg = NULL;
	size_t len = 0;
	FILE *mem;
	int rc;

	if (!(mem = open_memstream(&svg, &len)))
		return -1;
	memset(&opt, 0, sizeof(opt));
	opt.minwidth = -1;
	opt.unit = p->event_unit ? p->event_unit : "samples";
	opt.subtitle = p->session.name;
	pk_fg_tree_init(&tree);
	pk_fg_tree_from_profile(&tree, p, 0);
	rc = pk_fg_write_svg(mem, &tree, &opt);
	pk_fg_tree_release(&tree);
	if (fclose(mem) != 0)
		rc = -1;
	if (rc == 0)
		fputs(pk_html_svg_body(svg), out);
	free(svg);
	return rc;
}

/*
 * flamegraph-svg.c - write a laid-out flame graph as one self-contained,
 * interactive SVG file.
 *
 * The file needs nothing else: the function table and our JavaScript
 * (src/flamegraph.js, compiled into the binary) are embedded in CDATA
 * sections.  Each frame is a <g> holding a <rect> (and a <text> label when
 * it is wide enough) with data-* attributes giving its position in weight
 * units, so the script can zoom exactly without re-reading the profile.
 * Names never reach the file unescaped: labels are XML-escaped and the
 * table is JSON with '<', '>' and '&' escaped, so "]]>" cannot end a CDATA
 * section early, and invalid UTF-8 becomes U+FFFD.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "src/flamegraph.h"
#include "strbuf.h"
#include "util.h"

#define FRAME_H 16
#define FONT_SIZE 12
#define CHAR_W (FONT_SIZE * 0.59)
#define HEAD_H 72
#define FOOT_H 26

/* A JSON string safe inside CDATA and inside an XML document. */
static void json_str(struct pk_strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	pk_strbuf_addch(sb, '"');
	while (*p) {
		size_t n;

		if (*p == '"' || *p == '\\') {
			pk_strbuf_addch(sb, '\\');
			pk_strbuf_addch(sb, *p++);
			continue;
		}
		if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&' || *p == 0x7f) {
			pk_strbuf_addf(sb, "\\u%04x", *p++);
			continue;
		}
		n = pk_utf8_len(p);
		if (!n) {
			pk_strbuf_addstr(sb, "\\ufffd");
			p++;
			continue;
		}
		pk_strbuf_add(sb, p, n);
		p += n;
	}
	pk_strbuf_addch(sb, '"');
}

/* The label that fits in width px: the name, or a prefix and "..", or
 * nothing (returns 0) when not even three characters fit. */
static int label_for(struct pk_strbuf *out, const char *name, double width)
{
	size_t fit = width > 6 ? (size_t)((width - 6) / CHAR_W) : 0;
	const unsigned char *p = (const unsigned char *)name;
	size_t chars = 0, bytes = 0, cut = 0;

	if (fit < 3)
		return 0;
	while (p[bytes]) {
		size_t n = pk_utf8_len(p + bytes);

		if (chars == fit - 2)
			cut = bytes;
		bytes += n ? n : 1;
		chars++;
	}
	pk_strbuf_reset(out);
	if (chars <= fit) {
		pk_strbuf_add_xml(out, name);
	} else {
		char *prefix = pk_xmalloc(cut + 1);

		memcpy(prefix, name, cut);
		prefix[cut] = '\0';
		pk_strbuf_add_xml(out, prefix);
		pk_strbuf_addstr(out, "..");
		free(prefix);
	}
	return 1;
}

static const char svg_style[] =
	"<style type=\"text/css\"><![CDATA[\n"
	"text{font-family:Verdana,Arial,sans-serif;font-size:12px;fill:#000}\n"
	"#frames text{pointer-events:none;text-rendering:optimizeSpeed}\n"
	"#frames rect{shape-rendering:crispEdges}\n"
	"#frames g{cursor:pointer}\n"
	"#frames g:hover rect{stroke:#000;stroke-width:0.5}\n"
	"#frames g.dim rect{fill-opacity:0.45}\n"
	"#frames g.dim text{fill:#555}\n"
	"#frames g.match rect{fill:#e83fe8}\n"
	"#frames g.hide{display:none}\n"
	".title{font-size:17px;text-anchor:middle}\n"
	".sub{fill:#555;text-anchor:middle}\n"
	".button{fill:#224;cursor:pointer;text-decoration:underline}\n"
	".button.off{fill:#999;text-decoration:none}\n"
	"#matched{text-anchor:end}\n"
	"]]></style>\n";

static void write_data(FILE *out, const struct pk_fg_tree *t, const struct pk_fg_layout *l,
		       const struct pk_fg_options *opt, const char *title, const uint32_t *func_order, size_t n_used, int width)
{
	struct pk_strbuf sb = PK_STRBUF_INIT;
	size_t i;

	pk_strbuf_addstr(&sb, "var pkData = {\"title\":");
	json_str(&sb, title);
	pk_strbuf_addstr(&sb, ",\"unit\":");
	json_str(&sb, opt->unit ? opt->unit : "samples");
	pk_strbuf_addf(&sb, ",\"total\":%" PRIu64 ",\"width\":%d,\"xpad\":%d,\"frameHeight\":%d,"
		       "\"charWidth\":%.3f,\"icicle\":%d,\"funcs\":[",
		       l->total, width, PK_FG_XPAD, FRAME_H, CHAR_W, opt->icicle ? 1 : 0);
	for (i = 0; i < n_used; i++) {
		const struct pk_fg_func *f = &t->funcs[func_order[i]];

		pk_strbuf_addstr(&sb, i ? ",\n[" : "\n[");
		json_str(&sb, f->name);
		pk_strbuf_addch(&sb, ',');
		json_str(&sb, f->module);
		pk_strbuf_addf(&sb, ",%d]", (int)f->family);
	}
	pk_strbuf_addstr(&sb, "]};\n");
	fputs("<script type=\"text/ecmascript\"><![CDATA[\n", out);
	fwrite(sb.buf, 1, sb.len, out);
	fputs("]]></script>\n", out);
	pk_strbuf_release(&sb);
}

int pk_fg_write_svg(FILE *out, const struct pk_fg_tree *t, const struct pk_fg_options *opt)
{
	struct pk_fg_options defaults = { 0 };
	struct pk_fg_layout l;
	struct pk_strbuf label = PK_STRBUF_INIT, esc = PK_STRBUF_INIT;
	uint32_t *func_index, *func_order;
	size_t i, n_used = 0;
	int width, height;
	double plot, minwidth;
	const char *title;
	char color[8];

	if (!opt) {
		defaults.minwidth = -1;
		opt = &defaults;
	}
	width = opt->width > 2 * PK_FG_XPAD + 10 ? opt->width : PK_FG_DEFAULT_WIDTH;
	minwidth = opt->minwidth < 0 ? PK_FG_DEFAULT_MINWIDTH : opt->minwidth;
	plot = width - 2 * PK_FG_XPAD;
	title = opt->title ? opt->title : opt->icicle ? "Icicle Graph" : "Flame Graph";
	pk_fg_layout(t, pk_fg_min_weight(pk_fg_tree_total(t), width, minwidth), &l);
	height = HEAD_H + (int)(l.max_depth + 1) * FRAME_H + FOOT_H;

	/* Dense indexes for the functions actually drawn. */
	func_index = pk_xmalloc(t->n_funcs * sizeof(*func_index));
	memset(func_index, 0xff, t->n_funcs * sizeof(*func_index));
	func_order = pk_xmalloc(t->n_funcs * sizeof(*func_order));
	for (i = 0; i < l.n_rects; i++) {
		uint32_t f;

		if (l.rects[i].node == PK_FG_MERGED)
			continue;
		f = t->nodes[l.rects[i].node].func;
		if (func_index[f] == UINT32_MAX) {
			func_index[f] = (uint32_t)n_used;
			func_order[n_used++] = f;
		}
	}

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
		     "height=\"%d\" viewBox=\"0 0 %d %d\">\n",
		width, height, width, height);
	fputs("<!-- Flame graph written by perfkit; script and data embedded. -->\n", out);
	fputs(svg_style, out);
	write_data(out, t, &l, opt, title, func_order, n_used, width);
	fputs("<script type=\"text/ecmascript\"><![CDATA[\n", out);
	fputs(pk_flamegraph_js, out);
	fputs("]]></script>\n", out);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f4\"/>\n", width,
		height);
	pk_strbuf_add_xml(&esc, title);
	fprintf(out, "<text id=\"title\" class=\"title\" x=\"%d\" y=\"24\">%s</text>\n", width / 2,
		esc.buf);
	pk_strbuf_reset(&esc);
	if (opt->subtitle)
		pk_strbuf_add_xml(&esc, opt->subtitle);
	if (l.total == 0) {
		pk_strbuf_addstr(&esc, esc.len ? " - " : "");
		pk_strbuf_addstr(&esc, "no samples: nothing to show");
	} else if (l.merged_frames || l.hidden_frames) {
		pk_strbuf_addstr(&esc, esc.len ? " - " : "");
		pk_strbuf_addf(&esc,
			       "%zu frames narrower than %g px merged, %zu hidden (%.2f%% of %s)",
			       l.merged_frames, minwidth, l.hidden_frames,
			       100.0 * (double)l.hidden_weight / (double)l.total,
			       opt->unit ? opt->unit : "samples");
	}
	fprintf(out, "<text id=\"subtitle\" class=\"sub\" x=\"%d\" y=\"42\">%s</text>\n",
		width / 2, pk_strbuf_str(&esc));
	fprintf(out, "<text id=\"reset\" class=\"button off\" x=\"%d\" y=\"62\">Reset Zoom</text>\n",
		PK_FG_XPAD);
	fprintf(out,
		"<text x=\"%d\" y=\"62\" text-anchor=\"end\">Search (regex, Ctrl-F):</text>\n"
		"<foreignObject x=\"%d\" y=\"47\" width=\"220\" height=\"22\">"
		"<input xmlns=\"http://www.w3.org/1999/xhtml\" id=\"search\" type=\"text\" "
		"placeholder=\"regular expression\" style=\"width:210px;font:12px Verdana,sans-serif\"/>"
		"</foreignObject>\n",
		width - PK_FG_XPAD - 226, width - PK_FG_XPAD - 220);
	fprintf(out, "<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n", width - PK_FG_XPAD,
		height - 9);
	fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", PK_FG_XPAD, height - 9);

	fputs("<g id=\"frames\">\n", out);
	for (i = 0; i < l.n_rects && l.total > 0; i++) {
		const struct pk_fg_rect *r = &l.rects[i];
		double x = PK_FG_XPAD + plot * (double)r->start / (double)l.total;
		double w = plot * (double)r->width / (double)l.total;
		int y = opt->icicle ? HEAD_H + (int)r->depth * FRAME_H
				    : height - FOOT_H - (int)(r->depth + 1) * FRAME_H;
		const char *name;

		if (r->node == PK_FG_MERGED) {
			pk_fg_color(opt->palette, PK_FG_SPECIAL, 0, color);
			fprintf(out, "<g data-m=\"%" PRIu32 "\"", r->merged);
			name = NULL;
		} else {
			const struct pk_fg_func *f = &t->funcs[t->nodes[r->node].func];

			pk_fg_color(opt->palette, f->family, f->hash, color);
			fprintf(out, "<g data-f=\"%" PRIu32 "\"", func_index[t->nodes[r->node].func]);
			name = f->name;
			if (opt->frame_hook) {
				const char *note = NULL;

				opt->frame_hook(opt->frame_hook_ctx, r->node, color, &note);
				if (note && *note) {
					pk_strbuf_reset(&esc);
					pk_strbuf_add_xml(&esc, note);
					fprintf(out, " data-n=\"%s\"", esc.buf);
				}
			}
		}
		fprintf(out,
			" data-s=\"%" PRIu64 "\" data-v=\"%" PRIu64 "\" data-d=\"%" PRIu32
			"\"><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>",
			r->start, r->width, r->depth, x, y, w, FRAME_H - 1, color);
		if (name && label_for(&label, name, w))
			fprintf(out, "<text x=\"%.2f\" y=\"%d\">%s</text>", x + 3, y + FRAME_H - 4,
				label.buf);
		fputs("</g>\n", out);
	}
	fputs("</g>\n</svg>\n", out);

	pk_strbuf_release(&label);
	pk_strbuf_release(&esc);
	free(func_index);
	free(func_order);
	pk_fg_layout_release(&l);
	if (ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

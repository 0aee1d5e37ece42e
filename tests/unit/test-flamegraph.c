/*
 * test-flamegraph.c - the flame graph's layout, colours and SVG, and the
 * folded and pprof exporters, on trees and profiles built in memory (no
 * store): a known tree gives known rectangles; children's widths add up
 * to their parent's; --minwidth merges and hides narrow frames and says
 * how many; hostile names come out as well-formed XML.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/export.h"
#include "src/flamegraph.h"
#include "src/profile.h"
#include "util.h"

/* Rect i's function name, or "<merged>". */
static const char *rect_name(const struct pk_fg_tree *t, const struct pk_fg_rect *r)
{
	if (r->node == PK_FG_MERGED)
		return "<merged>";
	return t->funcs[t->nodes[r->node].func].name;
}

static void add(struct pk_fg_tree *t, const char *path, uint64_t w)
{
	const char *names[64];
	char *copy = pk_xstrdup(path), *save = NULL, *tok;
	size_t n = 0;

	for (tok = strtok_r(copy, ";", &save); tok && n < 64; tok = strtok_r(NULL, ";", &save))
		names[n++] = tok;
	pk_fg_tree_add_stack(t, names, n, w);
	free(copy);
}

/* ---- layout --------------------------------------------------------------- */

static void test_known_tree(void)
{
	static const struct {
		const char *name;
		uint32_t depth;
		uint64_t start, width;
	} want[] = {
		{ "all", 0, 0, 70 },  { "main", 1, 0, 65 }, { "a", 2, 0, 40 },   { "b", 3, 0, 30 },
		{ "d", 3, 30, 10 },   { "c", 2, 40, 20 },   { "other", 1, 65, 5 },
	};
	struct pk_fg_tree t;
	struct pk_fg_layout l;
	size_t i;

	pk_fg_tree_init(&t);
	/* Added out of order on purpose: the layout sorts by name. */
	add(&t, "other", 5);
	add(&t, "main;c", 20);
	add(&t, "main;a;d", 10);
	add(&t, "main;a;b", 30);
	add(&t, "main", 5);
	pk_fg_tree_finish(&t);
	CU_ASSERT_EQUAL(pk_fg_tree_total(&t), 70);
	pk_fg_layout(&t, 1, &l);
	CU_ASSERT_EQUAL_FATAL(l.n_rects, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < l.n_rects; i++) {
		CU_ASSERT_STRING_EQUAL(rect_name(&t, &l.rects[i]), want[i].name);
		CU_ASSERT_EQUAL(l.rects[i].depth, want[i].depth);
		CU_ASSERT_EQUAL(l.rects[i].start, want[i].start);
		CU_ASSERT_EQUAL(l.rects[i].width, want[i].width);
	}
	CU_ASSERT_EQUAL(l.max_depth, 3);
	CU_ASSERT_EQUAL(l.merged_frames, 0);
	CU_ASSERT_EQUAL(l.hidden_frames, 0);
	CU_ASSERT_EQUAL(l.hidden_weight, 0);
	/* Parents: b and d under a, a and c under main. */
	CU_ASSERT_EQUAL(l.rects[3].parent, 2);
	CU_ASSERT_EQUAL(l.rects[4].parent, 2);
	CU_ASSERT_EQUAL(l.rects[5].parent, 1);
	CU_ASSERT_EQUAL(l.rects[6].parent, 0);
	pk_fg_layout_release(&l);
	pk_fg_tree_release(&t);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A random tree: 2000 stacks up to 12 deep over 30 names. */
static void random_tree(struct pk_fg_tree *t)
{
	char names[30][8];
	const char *stack[12];
	size_t i, d;

	for (i = 0; i < 30; i++)
		snprintf(names[i], sizeof(names[i]), "f%02zu", i);
	pk_fg_tree_init(t);
	for (i = 0; i < 2000; i++) {
		size_t depth = 1 + next_rand() % 12;

		for (d = 0; d < depth; d++)
			stack[d] = names[next_rand() % (d < 3 ? 3 : 30)];
		pk_fg_tree_add_stack(t, stack, depth, 1 + next_rand() % 50);
	}
	pk_fg_tree_finish(t);
}

/* Per rect: children (next rects whose parent it is) tile it from its
 * left edge; their widths plus the node's self weight (plus what was
 * hidden under it) make its width. */
static void check_tiling(const struct pk_fg_tree *t, const struct pk_fg_layout *l, int exact)
{
	uint64_t *child_sum = pk_xcalloc(l->n_rects, sizeof(uint64_t));
	uint64_t *next_x = pk_xmalloc(l->n_rects * sizeof(uint64_t));
	uint64_t hidden = 0;
	size_t i;
	int bad_tiling = 0, bad_sum = 0;

	for (i = 0; i < l->n_rects; i++)
		next_x[i] = l->rects[i].start;
	for (i = 1; i < l->n_rects; i++) {
		const struct pk_fg_rect *r = &l->rects[i];

		if (r->start != next_x[r->parent] || r->depth != l->rects[r->parent].depth + 1)
			bad_tiling++;
		next_x[r->parent] += r->width;
		child_sum[r->parent] += r->width;
	}
	for (i = 0; i < l->n_rects; i++) {
		const struct pk_fg_rect *r = &l->rects[i];
		uint64_t self = r->node == PK_FG_MERGED ? r->width : t->nodes[r->node].self;

		if (i == 0)
			self = t->nodes[0].self;
		if (child_sum[i] + self > r->width)
			bad_sum++;
		else if (r->node != PK_FG_MERGED)
			hidden += r->width - self - child_sum[i];
		if (exact && r->node != PK_FG_MERGED && child_sum[i] + self != r->width)
			bad_sum++;
	}
	CU_ASSERT_EQUAL(bad_tiling, 0);
	CU_ASSERT_EQUAL(bad_sum, 0);
	/* What is missing under the drawn frames is exactly what the layout
	 * says it hid. */
	CU_ASSERT_EQUAL(hidden, l->hidden_weight);
	free(child_sum);
	free(next_x);
}

static void test_widths_sum_to_parent(void)
{
	struct pk_fg_tree t;
	struct pk_fg_layout l;

	random_tree(&t);
	pk_fg_layout(&t, 1, &l);
	CU_ASSERT_EQUAL(l.rects[0].width, pk_fg_tree_total(&t));
	CU_ASSERT_EQUAL(l.n_rects, t.n_nodes); /* nothing merged at weight 1 */
	check_tiling(&t, &l, 1);
	pk_fg_layout_release(&l);

	/* With a threshold, the tiling still holds and nothing is lost. */
	pk_fg_layout(&t, pk_fg_tree_total(&t) / 500, &l);
	CU_ASSERT(l.n_rects < t.n_nodes);
	CU_ASSERT(l.merged_frames + l.hidden_frames + l.n_rects > t.n_nodes - 1);
	check_tiling(&t, &l, 0);
	pk_fg_layout_release(&l);
	pk_fg_tree_release(&t);
}

static void test_minwidth_merges_and_accounts(void)
{
	struct pk_fg_tree t;
	struct pk_fg_layout l;
	char path[64];
	size_t i, merged_at = 0, n_merged = 0;
	int i_big = -1;

	pk_fg_tree_init(&t);
	add(&t, "big", 100);
	/* Ten narrow children of "big" (weight 2 each, 20 in all), each with
	 * a child of its own: merged into one group, grandchildren hidden. */
	for (i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "big;n%zu;leaf", i);
		add(&t, path, 2);
	}
	add(&t, "big;wide", 50);
	/* Two narrow children of "small" adding to 4 < 5: hidden. */
	add(&t, "small;x", 2);
	add(&t, "small;y", 2);
	add(&t, "small", 6);
	pk_fg_tree_finish(&t);
	CU_ASSERT_EQUAL(pk_fg_tree_total(&t), 180);

	pk_fg_layout(&t, 5, &l);
	for (i = 0; i < l.n_rects; i++) {
		if (!strcmp(rect_name(&t, &l.rects[i]), "big"))
			i_big = (int)i;
		if (l.rects[i].node == PK_FG_MERGED) {
			merged_at = i;
			n_merged++;
		}
	}
	CU_ASSERT_EQUAL_FATAL(n_merged, 1);
	CU_ASSERT_FATAL(i_big >= 0);
	/* all, big, wide, <merged>, small */
	CU_ASSERT_EQUAL(l.n_rects, 5);
	CU_ASSERT_EQUAL(l.rects[merged_at].merged, 10);
	CU_ASSERT_EQUAL(l.rects[merged_at].width, 20);
	CU_ASSERT_EQUAL(l.rects[merged_at].parent, (uint32_t)i_big);
	/* Right of its drawn sibling "wide" (big has no self weight left of it). */
	CU_ASSERT_EQUAL(l.rects[merged_at].start, l.rects[i_big].start + 50);
	CU_ASSERT_EQUAL(l.merged_frames, 10);
	/* hidden: the 10 leaves under the merged group, plus x and y */
	CU_ASSERT_EQUAL(l.hidden_frames, 12);
	CU_ASSERT_EQUAL(l.hidden_weight, 4);
	check_tiling(&t, &l, 0);
	pk_fg_layout_release(&l);

	/* minwidth in pixels -> weight: 1200 px wide, 1180 px of plot. */
	CU_ASSERT_EQUAL(pk_fg_min_weight(1180000, 1200, 0.1), 100);
	CU_ASSERT_EQUAL(pk_fg_min_weight(100, 1200, 0.1), 1);
	CU_ASSERT_EQUAL(pk_fg_min_weight(1180000, 1200, 0), 1);
	pk_fg_tree_release(&t);
}

/* ---- colours ---------------------------------------------------------------- */

static void test_colors(void)
{
	char a[8], b[8], c[8], d[8];
	int r, g, bl;

	CU_ASSERT_EQUAL(pk_fg_palette_valid("hot"), 0);
	CU_ASSERT_EQUAL(pk_fg_palette_valid("mono"), 0);
	CU_ASSERT_EQUAL(pk_fg_palette_valid("rainbow"), -1);
	/* Stable: a function of the name only (FNV-1a of "main"). */
	CU_ASSERT_EQUAL(pk_fg_hash("main"), 0xea90e208u);
	pk_fg_color("hot", PK_FG_MAIN, pk_fg_hash("compute"), a);
	pk_fg_color("hot", PK_FG_MAIN, pk_fg_hash("compute"), b);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT_EQUAL(strlen(a), 7);
	CU_ASSERT_EQUAL(a[0], '#');
	/* hot: program frames are red-dominant, kernel/unknown grey. */
	CU_ASSERT_EQUAL(sscanf(a, "#%2x%2x%2x", &r, &g, &bl), 3);
	CU_ASSERT(r > g && r > bl);
	pk_fg_color("hot", PK_FG_OTHER, pk_fg_hash("compute"), c);
	CU_ASSERT_EQUAL(sscanf(c, "#%2x%2x%2x", &r, &g, &bl), 3);
	CU_ASSERT(r == g && g == bl);
	/* cold: blue program frames. */
	pk_fg_color("cold", PK_FG_MAIN, pk_fg_hash("compute"), d);
	CU_ASSERT_EQUAL(sscanf(d, "#%2x%2x%2x", &r, &g, &bl), 3);
	CU_ASSERT(bl > r);
	CU_ASSERT_EQUAL(pk_fg_module_family("/usr/lib/x86_64-linux-gnu/libc.so.6", 0), PK_FG_LIBRARY);
	CU_ASSERT_EQUAL(pk_fg_module_family("[kernel.kallsyms]", 0), PK_FG_OTHER);
	CU_ASSERT_EQUAL(pk_fg_module_family("", 0), PK_FG_OTHER);
	CU_ASSERT_EQUAL(pk_fg_module_family("/opt/app/bin/server", 1), PK_FG_MAIN);
}

/* ---- SVG ---------------------------------------------------------------------- */

static char *svg_of(const struct pk_fg_tree *t, const struct pk_fg_options *o, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(pk_fg_write_svg(f, t, o), 0);
	fclose(f);
	return buf;
}

/* Valid UTF-8 throughout (XML requires it of a UTF-8 document). */
static int all_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n, k;

		if (s[i] < 0x80) {
			if (s[i] < 0x20 && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
				return 0;
			i++;
			continue;
		}
		n = (s[i] & 0xe0) == 0xc0 ? 2 : (s[i] & 0xf0) == 0xe0 ? 3 : (s[i] & 0xf8) == 0xf0 ? 4 : 0;
		if (!n || i + n > len)
			return 0;
		for (k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += n;
	}
	return 1;
}

static const char *const hostile[] = {
	"semi;colon",        "with spaces (x)",  "tmpl<int, std::pair<A&, B*> >",
	"amp&amp;lt;",       "quote\"double'single", "caf\xc3\xa9_\xe5\x87\xbd\xe6\x95\xb0",
	"bad\xff\xfeutf8\xc3", "cdata]]>end",    "</script><script>alert(1)</script>",
	"ctl\x01\x1f",
};

static void test_svg_hostile_names(void)
{
	struct pk_fg_tree t;
	struct pk_fg_options o = { 0 };
	const char *stack[2];
	char *svg, *p, path[] = "/tmp/pk-fg-XXXXXX";
	size_t len, i, cdata = 0;
	FILE *f;
	int fd;

	pk_fg_tree_init(&t);
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		stack[0] = "main";
		stack[1] = hostile[i];
		pk_fg_tree_add_stack(&t, stack, 2, 10 + i);
	}
	pk_fg_tree_finish(&t);
	o.minwidth = -1;
	o.title = "title <&> \"q\"";
	svg = svg_of(&t, &o, &len);
	CU_ASSERT(all_utf8((unsigned char *)svg, len));
	/* The escaped label and table entries. */
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">title &lt;&amp;&gt; &quot;q&quot;</text>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">amp&amp;amp;lt;</text>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">semi;colon</text>"));
	/* (this label is cut to fit its frame) */
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">quote&quot;double"));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "\"quote\\\"double'single\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "\"cdata]]\\u003eend\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "\"bad\\ufffd\\ufffdutf8\\ufffd\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "\"caf\xc3\xa9_\xe5\x87\xbd\xe6\x95\xb0\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "\"ctl\\u0001\\u001f\""));
	/* Exactly the CDATA sections we opened are closed: a name never
	 * ends one early. */
	for (p = svg; (p = strstr(p, "]]>")); p++)
		cdata++;
	CU_ASSERT_EQUAL(cdata, 3); /* style, data, script */
	/* A real XML parser, where one is installed (CI installs both). */
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	fwrite(svg, 1, len, f);
	fclose(f);
	if (!system("command -v xmllint >/dev/null 2>&1")) {
		char *cmd = pk_xasprintf("xmllint --noout '%s'", path);

		CU_ASSERT_EQUAL(system(cmd), 0);
		free(cmd);
	} else if (!system("command -v python3 >/dev/null 2>&1")) {
		char *cmd = pk_xasprintf("python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' '%s'", path);

		CU_ASSERT_EQUAL(system(cmd), 0);
		free(cmd);
	}
	unlink(path);
	free(svg);
	pk_fg_tree_release(&t);
}

static void test_svg_geometry_and_empty(void)
{
	struct pk_fg_tree t;
	struct pk_fg_options o = { 0 };
	char *svg;
	size_t len;

	pk_fg_tree_init(&t);
	add(&t, "main;a", 3);
	add(&t, "main;b", 1);
	pk_fg_tree_finish(&t);
	o.minwidth = -1;
	o.width = 420; /* 400 px of plot: 100 px per sample */
	svg = svg_of(&t, &o, &len);
	/* all and main: full width; a: 300 px at x 10; b: 100 px at x 310.
	 * Flame (not icicle): height = 72 + 3 * 16 + 26 = 146; depth 0 at
	 * y = 146 - 26 - 16 = 104. */
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "height=\"146\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "data-s=\"0\" data-v=\"4\" data-d=\"0\"><rect x=\"10.00\" y=\"104\" width=\"400.00\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "data-s=\"0\" data-v=\"3\" data-d=\"2\"><rect x=\"10.00\" y=\"72\" width=\"300.00\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "data-s=\"3\" data-v=\"1\" data-d=\"2\"><rect x=\"310.00\" y=\"72\" width=\"100.00\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "Flame Graph"));
	free(svg);
	/* Icicle: depth 0 at the top. */
	o.icicle = 1;
	svg = svg_of(&t, &o, &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "data-d=\"0\"><rect x=\"10.00\" y=\"72\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "Icicle Graph"));
	free(svg);
	pk_fg_tree_release(&t);

	/* Nothing to show: still a whole SVG, saying so. */
	pk_fg_tree_init(&t);
	pk_fg_tree_finish(&t);
	o.icicle = 0;
	svg = svg_of(&t, &o, &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "no samples"));
	CU_ASSERT_PTR_NOT_NULL(strstr(svg, "</svg>\n"));
	CU_ASSERT_PTR_NULL(strstr(svg, "data-s="));
	free(svg);
	pk_fg_tree_release(&t);
}

/* A frame hook as a differential graph uses it: colour and hover note. */
static void hook(void *ctx, uint32_t node, char color[8], const char **note)
{
	const struct pk_fg_tree *t = ctx;

	if (!strcmp(t->funcs[t->nodes[node].func].name, "b")) {
		snprintf(color, 8, "#123456");
		*note = "before 1<2 & \"x\"";
	}
}

static void test_svg_frame_hook(void)
{
	struct pk_fg_tree t;
	struct pk_fg_options o = { 0 };
	char *svg, *p;
	size_t len;

	pk_fg_tree_init(&t);
	add(&t, "main;a", 3);
	add(&t, "main;b", 1);
	pk_fg_tree_finish(&t);
	o.minwidth = -1;
	o.frame_hook = hook;
	o.frame_hook_ctx = &t;
	svg = svg_of(&t, &o, &len);
	p = strstr(svg, " data-n=\"before 1&lt;2 &amp; &quot;x&quot;\"");
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(p ? strstr(p, "fill=\"#123456\"") : NULL);
	/* only b has a note */
	CU_ASSERT_PTR_NULL(p ? strstr(p + 2, " data-n=") : svg);
	CU_ASSERT_PTR_EQUAL(strstr(svg, " data-n="), p);
	free(svg);
	pk_fg_tree_release(&t);
}

/* The script compiled into the binary is src/flamegraph.js, byte for byte. */
static void test_embedded_script(void)
{
	/* make check exports top_srcdir; else find it from this file's path. */
	const char *top = getenv("top_srcdir");
	char *path = top ? pk_xasprintf("%s/src/flamegraph.js", top)
			 : pk_xasprintf("%.*s/../../src/flamegraph.js",
					(int)(strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') - __FILE__ : 1),
					strrchr(__FILE__, '/') ? __FILE__ : ".");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f = fopen(path, "rb");
	char chunk[4096];

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		pk_xgrow((void **)&buf, &cap, len + n + 1, 1);
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	CU_ASSERT_FATAL(buf != NULL);
	buf[len] = '\0';
	CU_ASSERT_EQUAL(strlen(pk_flamegraph_js), len);
	CU_ASSERT_STRING_EQUAL(pk_flamegraph_js, buf);
	CU_ASSERT_PTR_NULL(strstr(pk_flamegraph_js, "]]>"));
	free(buf);
	free(path);
}

/* ---- trees from a profile, and the folded and pprof exporters --------------- */

/*
 * A profile built by hand (what pk_profile_load would give):
 *   modules: 1 /bin/prog, 2 /lib/libc.so.6
 *   functions: 1 main, 2 a;b (hostile), 3 c, 4 memcpy (libc)
 *   frames: one per function (frame i = function i), plus 5: main again
 *   nodes: 1 main, 2 main>a;b, 3 main>a;b>memcpy, 4 main>c, 5 main>c>memcpy,
 *          6 main at another address (frame 5): merges with node 1
 *   self: 2:3, 3:2, 5:4, 6:1, no stack: 1
 */
static struct pk_module_row modules[] = { { (char *)"/bin/prog", (char *)"abcd" },
					  { (char *)"/lib/libc.so.6", NULL } };
static struct pk_function_row functions[] = {
	{ (char *)"main", 1 }, { (char *)"a;b", 1 }, { (char *)"c", 1 }, { (char *)"memcpy", 2 } };
static struct pk_frame_row frames[] = {
	{ 1, 1, 0x1000, (char *)"prog.c", 10 }, { 2, 1, 0x2000, (char *)"prog.c", 20 },
	{ 3, 1, 0x3000, NULL, 0 },              { 4, 2, 0x4000, NULL, 0 },
	{ 1, 1, 0x1010, (char *)"prog.c", 11 },
};
static struct pk_node_row nodes[] = { { 0, 1, 1 }, { 1, 2, 2 }, { 2, 4, 3 },
				      { 1, 3, 2 }, { 4, 4, 3 }, { 0, 5, 1 } };
static uint64_t node_self[] = { 0, 3, 2, 0, 4, 0 };
static uint64_t node_total[] = { 9, 5, 2, 4, 4, 0 };

static void fake_profile(struct pk_profile *p)
{
	static uint64_t self6[6], total6[6];

	memset(p, 0, sizeof(*p));
	p->session.name = (char *)"fake";
	p->session.command = (char *)"/bin/prog --x";
	p->symtab.modules = modules;
	p->symtab.n_modules = 2;
	p->symtab.functions = functions;
	p->symtab.n_functions = 4;
	p->symtab.frames = frames;
	p->symtab.n_frames = 5;
	p->symtab.nodes = nodes;
	p->symtab.n_nodes = 6;
	memcpy(self6, node_self, sizeof(self6));
	memcpy(total6, node_total, sizeof(total6));
	self6[5] = 1;
	total6[5] = 1;
	p->node_self = self6;
	p->node_total = total6;
	p->root_self = 1;
	p->total = 11;
	p->n_samples = 11;
	p->event_name = "cpu";
	p->event_unit = "samples";
	p->sample_hz = 100;
}

static void test_tree_from_profile(void)
{
	struct pk_profile p;
	struct pk_fg_tree t;
	struct pk_fg_layout l;
	size_t i;
	char line[512] = "";

	fake_profile(&p);
	pk_fg_tree_init(&t);
	pk_fg_tree_from_profile(&t, &p, 0);
	CU_ASSERT_EQUAL(pk_fg_tree_total(&t), 11);
	pk_fg_layout(&t, 1, &l);
	/* [no stack] sorts before main ('[' < 'm'); the main frame of node 6
	 * (frame 5, same function) merges with node 1's. */
	for (i = 0; i < l.n_rects; i++) {
		char item[64];

		snprintf(item, sizeof(item), "%s%s/%u/%llu", i ? " " : "", rect_name(&t, &l.rects[i]),
			 l.rects[i].depth, (unsigned long long)l.rects[i].width);
		strncat(line, item, sizeof(line) - strlen(line) - 1);
	}
	CU_ASSERT_STRING_EQUAL(line, "all/0/11 [no stack]/1/1 main/1/10 a;b/2/5 memcpy/3/2 c/2/4 memcpy/3/4");
	/* Families: prog is the main program, libc a library. */
	for (i = 0; i < t.n_funcs; i++) {
		if (!strcmp(t.funcs[i].name, "memcpy"))
			CU_ASSERT_EQUAL(t.funcs[i].family, PK_FG_LIBRARY);
		if (!strcmp(t.funcs[i].name, "c"))
			CU_ASSERT_EQUAL(t.funcs[i].family, PK_FG_MAIN);
	}
	pk_fg_layout_release(&l);
	pk_fg_tree_release(&t);

	/* Reversed: merged at the leaves. */
	pk_fg_tree_init(&t);
	pk_fg_tree_from_profile(&t, &p, PK_FG_REVERSE);
	pk_fg_layout(&t, 1, &l);
	line[0] = '\0';
	for (i = 0; i < l.n_rects; i++) {
		char item[64];

		snprintf(item, sizeof(item), "%s%s/%u/%llu", i ? " " : "", rect_name(&t, &l.rects[i]),
			 l.rects[i].depth, (unsigned long long)l.rects[i].width);
		strncat(line, item, sizeof(line) - strlen(line) - 1);
	}
	CU_ASSERT_STRING_EQUAL(line, "all/0/11 [no stack]/1/1 a;b/1/3 main/2/3 main/1/1 "
				     "memcpy/1/6 a;b/2/2 main/3/2 c/2/4 main/3/4");
	pk_fg_layout_release(&l);
	pk_fg_tree_release(&t);
}

static char *export_to_string(const struct pk_exporter *e, const struct pk_profile *p, size_t *len)
{
	struct pk_filter filter = { 0 };
	struct pk_export_ctx ctx = { NULL, p, &filter };
	char *buf = NULL, err[256] = "";
	FILE *f = open_memstream(&buf, len);

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(e->write(f, &ctx, err, sizeof(err)), 0);
	fclose(f);
	return buf;
}

static void test_folded(void)
{
	struct pk_profile p;
	size_t len;
	char *s;

	fake_profile(&p);
	CU_ASSERT_PTR_EQUAL(pk_exporter_find("folded"), &pk_export_folded);
	CU_ASSERT_PTR_EQUAL(pk_exporter_find("pprof"), &pk_export_pprof);
	CU_ASSERT_PTR_NULL(pk_exporter_find("svg"));
	s = export_to_string(&pk_export_folded, &p, &len);
	CU_ASSERT_STRING_EQUAL(s, "[no stack] 1\n"
				  "main 1\n"
				  "main;a:b 3\n"
				  "main;a:b;memcpy 2\n"
				  "main;c;memcpy 4\n");
	free(s);
	s = pk_export_folded_name("x;y\nz");
	CU_ASSERT_STRING_EQUAL(s, "x:y z");
	free(s);
}

static void test_pprof_is_gzip(void)
{
	struct pk_profile p;
	size_t len;
	unsigned char *s;

	fake_profile(&p);
	s = (unsigned char *)export_to_string(&pk_export_pprof, &p, &len);
	CU_ASSERT_FATAL(len > 18);
	CU_ASSERT_EQUAL(s[0], 0x1f);
	CU_ASSERT_EQUAL(s[1], 0x8b);
	free(s);
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("flamegraph", NULL, NULL);
	CU_add_test(s, "known tree gives known rectangles", test_known_tree);
	CU_add_test(s, "children tile their parent", test_widths_sum_to_parent);
	CU_add_test(s, "minwidth merges and accounts", test_minwidth_merges_and_accounts);
	CU_add_test(s, "colours", test_colors);
	CU_add_test(s, "SVG escapes hostile names", test_svg_hostile_names);
	CU_add_test(s, "SVG geometry, icicle, empty", test_svg_geometry_and_empty);
	CU_add_test(s, "SVG frame hook", test_svg_frame_hook);
	CU_add_test(s, "embedded script is src/flamegraph.js", test_embedded_script);
	CU_add_test(s, "tree from a profile, reversed", test_tree_from_profile);
	CU_add_test(s, "folded export", test_folded);
	CU_add_test(s, "pprof export is gzip", test_pprof_is_gzip);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures != 0;
}

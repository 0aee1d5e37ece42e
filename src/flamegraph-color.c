/*
 * flamegraph-color.c - flame graph colours.
 *
 * A function keeps its colour from one graph to the next: the colour comes
 * from a hash of its name only, never from its position or sample count.
 * The hue range comes from the function's family (main program, shared
 * library, kernel/unknown), so a glance tells whose code is burning CPU.
 * A palette is a table of three hue/saturation/lightness ranges.
 */
#include <stdio.h>
#include <string.h>

#include "src/flamegraph.h"

struct hsl_range {
	double h0, h1; /* hue, degrees */
	double s;      /* saturation 0..1 */
	double l0, l1; /* lightness 0..1 */
};

struct palette {
	const char *name;
	struct hsl_range family[3]; /* MAIN, LIBRARY, OTHER */
};

static const struct palette palettes[] = {
	/* red-orange program, yellow libraries, grey kernel/unknown */
	{ "hot", { { 0, 30, 0.80, 0.50, 0.62 }, { 40, 58, 0.80, 0.50, 0.60 },
		   { 0, 0, 0.0, 0.62, 0.78 } } },
	/* blue program, teal libraries */
	{ "cold", { { 200, 235, 0.65, 0.52, 0.66 }, { 160, 190, 0.55, 0.48, 0.62 },
		    { 0, 0, 0.0, 0.62, 0.78 } } },
	/* green program, olive libraries: flamegraph.pl's memory look */
	{ "mem", { { 95, 135, 0.55, 0.45, 0.60 }, { 60, 85, 0.55, 0.45, 0.60 },
		   { 0, 0, 0.0, 0.62, 0.78 } } },
	/* printing: lightness bands only */
	{ "mono", { { 0, 0, 0.0, 0.45, 0.58 }, { 0, 0, 0.0, 0.62, 0.74 },
		    { 0, 0, 0.0, 0.80, 0.90 } } },
};

const char *const pk_fg_palettes[] = { "hot", "cold", "mem", "mono", NULL };

static const struct palette *find_palette(const char *name)
{
	size_t i;

	if (!name)
		return &palettes[0];
	for (i = 0; i < sizeof(palettes) / sizeof(palettes[0]); i++)
		if (!strcmp(palettes[i].name, name))
			return &palettes[i];
	return NULL;
}

int pk_fg_palette_valid(const char *name)
{
	return find_palette(name) ? 0 : -1;
}

static double hue_to_rgb(double p, double q, double t)
{
	if (t < 0)
		t += 1;
	if (t > 1)
		t -= 1;
	if (t < 1.0 / 6)
		return p + (q - p) * 6 * t;
	if (t < 0.5)
		return q;
	if (t < 2.0 / 3)
		return p + (q - p) * (2.0 / 3 - t) * 6;
	return p;
}

void pk_fg_color(const char *palette, enum pk_fg_family family, uint32_t hash, char buf[8])
{
	const struct palette *pal = find_palette(palette);
	const struct hsl_range *r;
	double u, v, h, l, q, p, rgb[3];
	unsigned c[3];
	int i;

	if (!pal)
		pal = &palettes[0];
	if (family == PK_FG_SPECIAL) {
		snprintf(buf, 8, "#%02x%02x%02x", 0xc8, 0xc8, 0xc8);
		return;
	}
	r = &pal->family[family <= PK_FG_OTHER ? family : PK_FG_OTHER];
	/* Two independent fractions from the hash: hue and lightness. */
	u = (double)(hash & 0xffff) / 65535.0;
	v = (double)(hash >> 16) / 65535.0;
	h = (r->h0 + (r->h1 - r->h0) * u) / 360.0;
	l = r->l0 + (r->l1 - r->l0) * v;
	q = l < 0.5 ? l * (1 + r->s) : l + r->s - l * r->s;
	p = 2 * l - q;
	rgb[0] = hue_to_rgb(p, q, h + 1.0 / 3);
	rgb[1] = hue_to_rgb(p, q, h);
	rgb[2] = hue_to_rgb(p, q, h - 1.0 / 3);
	for (i = 0; i < 3; i++)
		c[i] = (unsigned)(rgb[i] * 255 + 0.5) & 0xff;
	snprintf(buf, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

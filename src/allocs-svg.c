/*
 * allocs-svg.c - "perfkit allocs --timeline --svg FILE": bytes in use over
 * time as one self-contained SVG line chart (no script, no external
 * file): labelled axes with round ticks, the peak marked and labelled,
 * and in windowed mode the armed windows shaded, since only they were
 * observed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "src/allocs.h"
#include "strbuf.h"

#define W 960
#define H 420
#define LEFT 90
#define RIGHT 30
#define TOP 50
#define BOTTOM 60

/* A round tick step giving about n ticks over [0, max]. */
static double tick_step(double max, int n)
{
	double raw = max / n, mag, f;

	if (!(raw > 0))
		return 1;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static void bytes_label(double v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (fabs(v) >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.4g %s", v, units[u]);
}

int pk_allocs_svg(const struct pk_allocs *a, const char *title, FILE *out)
{
	const struct pk_alloc_data *d = &a->data;
	const struct pk_alloc_summary *s = &d->summary;
	double tmax = 0, ymax = (double)s->peak_bytes, xs, ys, step;
	double pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
	struct pk_strbuf sb = PK_STRBUF_INIT;
	char lab[64], lab2[64];

	for (size_t i = 0; i < d->n_timeline; i++) {
		if ((double)d->timeline[i].time_ns / 1e9 > tmax)
			tmax = (double)d->timeline[i].time_ns / 1e9;
		if ((double)d->timeline[i].live_bytes > ymax)
			ymax = (double)d->timeline[i].live_bytes;
	}
	if (tmax <= 0)
		tmax = 1;
	if (ymax <= 0)
		ymax = 1;
	ymax *= 1.1;
	xs = pw / tmax;
	ys = ph / ymax;

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
		W, H, W, H);
	pk_strbuf_add_xml(&sb, title ? title : "Memory in use");
	fprintf(out, "<title>%s</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n", pk_strbuf_str(&sb));
	fprintf(out, "<text x=\"%d\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">%s</text>\n", W / 2,
		pk_strbuf_str(&sb));
	pk_strbuf_release(&sb);
	fprintf(out, "<text x=\"%d\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">%s mode%s</text>\n", W / 2,
		s->mode, strcmp(s->mode, "windowed") == 0
		? ": shaded windows were traced, the rest was not (nothing scaled)" : "");

	/* armed windows (windowed mode) */
	if (strcmp(s->mode, "windowed") == 0)
		for (size_t i = 0; i < d->n_windows; i++) {
			double x0 = LEFT + (double)d->windows[i].start_ns / 1e9 * xs;
			double x1 = LEFT + (double)d->windows[i].end_ns / 1e9 * xs;

			fprintf(out, "<rect class=\"window\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.0f\" "
				"fill=\"#e8f0ff\"/>\n", x0, TOP, x1 - x0 > 0.5 ? x1 - x0 : 0.5, ph);
		}

	/* axes, ticks and grid */
	fprintf(out, "<g stroke=\"#000\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n",
		LEFT, TOP, LEFT, H - BOTTOM, LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM);
	step = tick_step(tmax, 8);
	for (double t = 0; t <= tmax + step * 1e-9; t += step) {
		double x = LEFT + t * xs;

		fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>"
			"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
			x, H - BOTTOM, x, H - BOTTOM + 5, x, H - BOTTOM + 18, t);
	}
	step = tick_step(ymax, 6);
	for (double v = 0; v <= ymax; v += step) {
		double y = H - BOTTOM - v * ys;

		bytes_label(v, lab, sizeof(lab));
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			LEFT, y, W - RIGHT, y, LEFT - 6, y + 4, lab);
	}
	fprintf(out, "<text class=\"xlabel\" x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">time since the start (s)</text>\n",
		LEFT + pw / 2, H - 18);
	fprintf(out, "<text class=\"ylabel\" transform=\"translate(18,%.0f) rotate(-90)\" "
		"text-anchor=\"middle\">bytes in use</text>\n", TOP + ph / 2);

	/* the line (a step chart: memory changes between points) */
	fprintf(out, "<polyline class=\"usage\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"");
	for (size_t i = 0; i < d->n_timeline; i++)
		fprintf(out, "%s%.1f,%.1f", i ? " " : "", LEFT + (double)d->timeline[i].time_ns / 1e9 * xs,
			H - BOTTOM - (double)d->timeline[i].live_bytes * ys);
	fprintf(out, "\"/>\n");

	/* the peak */
	if (s->peak_bytes > 0) {
		double px = LEFT + (double)s->peak_ns / 1e9 * xs, py = H - BOTTOM - (double)s->peak_bytes * ys;

		bytes_label((double)s->peak_bytes, lab, sizeof(lab));
		snprintf(lab2, sizeof(lab2), "%.3f", (double)s->peak_ns / 1e9);
		fprintf(out, "<circle class=\"peak\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#c0392b\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-weight=\"bold\">peak %s (%lld bytes) at %s s</text>\n",
			px, py, px + (px > W / 2 ? -8 : 8), py - 8 < TOP + 12 ? TOP + 12 : py - 8,
			px > W / 2 ? "end" : "start", lab, (long long)s->peak_bytes, lab2);
	}
	fprintf(out, "</svg>\n");
	return ferror(out) ? -1 : 0;
}

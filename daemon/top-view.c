/*
 * top-view.c - what "perfkitd top" shows: per function, the self and
 * total shares of the last interval and since the start, from the
 * reader's per-function statistics (pk_profile_function_stats), and the
 * text of one screen.  No terminal handling here (top.c does that), so a
 * frame prints the same on a terminal and in batch mode.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/top.h"
#include "util.h"

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

struct sort_ctx {
	enum pk_top_sort sort;
};

static int cmp_rows(const void *a, const void *b, void *ctx)
{
	const struct pk_top_row *x = a, *y = b;
	const struct sort_ctx *c = ctx;
	double kx[2], ky[2];
	int i;

	if (c->sort == PK_TOP_SORT_TOTAL) {
		kx[0] = x->total_int; kx[1] = x->total_all;
		ky[0] = y->total_int; ky[1] = y->total_all;
	} else {
		kx[0] = x->self_int; kx[1] = x->self_all;
		ky[0] = y->self_int; ky[1] = y->self_all;
	}
	for (i = 0; i < 2; i++)
		if (kx[i] != ky[i])
			return kx[i] > ky[i] ? -1 : 1;
	return strcmp(x->name, y->name);
}

int pk_top_frame_build(const struct pk_profile *all, const struct pk_profile *last,
		       enum pk_top_sort sort, struct pk_top_frame *f)
{
	struct pk_func_stat *va = NULL, *vl = NULL;
	size_t na = 0, nl = 0, i, nf = all->symtab.n_functions;
	struct sort_ctx ctx = { sort };
	size_t *slot;

	memset(f, 0, sizeof(*f));
	pk_profile_function_stats(all, &va, &na);
	if (last)
		pk_profile_function_stats(last, &vl, &nl);
	f->rows = pk_xcalloc(na + 1, sizeof(*f->rows));
	slot = pk_xcalloc(nf + 1, sizeof(*slot));
	for (i = 0; i < na; i++) {
		struct pk_top_row *r = &f->rows[f->n_rows++];

		r->name = pk_profile_function_name(all, va[i].function_id);
		r->self_all = percent(va[i].self, all->total);
		r->total_all = percent(va[i].total, all->total);
		if (va[i].function_id >= 1 && (size_t)va[i].function_id <= nf)
			slot[va[i].function_id] = f->n_rows;  /* index + 1 */
	}
	/* The interval is a subset of the whole: its functions are listed.
	 * Functions interned after "all" was loaded are left for the next
	 * frame. */
	for (i = 0; i < nl; i++) {
		size_t k = vl[i].function_id >= 1 && (size_t)vl[i].function_id <= nf
			? slot[vl[i].function_id] : 0;

		if (!k)
			continue;
		f->rows[k - 1].self_int = percent(vl[i].self, last->total);
		f->rows[k - 1].total_int = percent(vl[i].total, last->total);
	}
	if (f->n_rows)
		qsort_r(f->rows, f->n_rows, sizeof(*f->rows), cmp_rows, &ctx);
	f->samples_all = all->n_samples;
	f->samples_int = last ? last->n_samples : 0;
	free(slot);
	free(va);
	free(vl);
	return 0;
}

void pk_top_frame_release(struct pk_top_frame *f)
{
	if (!f)
		return;
	free(f->rows);
	memset(f, 0, sizeof(*f));
}

/* Print at most width characters of a line (ASCII cut; names that are
 * not ASCII may lose a character or two of the column at the end). */
static void put_line(FILE *out, int width, const char *text)
{
	int n = (int)strlen(text);

	if (width > 0 && n > width)
		n = width;
	fprintf(out, "%.*s\n", n, text);
}

void pk_top_render(FILE *out, const struct pk_top_screen *scr, const struct pk_top_frame *f)
{
	char line[512], name[256];
	int width = scr->width > 0 ? scr->width : 80;
	int name_w = width - 2 - 4 * 8;
	int rows = scr->height > 0 ? scr->height - 5 : (scr->limit > 0 ? scr->limit : 20);
	double rate = f->interval_s > 0 ? (double)f->samples_int / f->interval_s : 0;
	size_t i;

	if (scr->limit > 0 && rows > scr->limit)
		rows = scr->limit;
	if (rows < 1)
		rows = 1;
	if (name_w < 12)
		name_w = 12;
	if (name_w > (int)sizeof(name) - 1)
		name_w = (int)sizeof(name) - 1;

	snprintf(line, sizeof(line), "perfkitd top - PID %d (%s)  %zu thread%s  %.0f samples/s  %.1fs%s%s",
		 scr->pid, scr->comm ? scr->comm : "?", f->threads, f->threads == 1 ? "" : "s", rate,
		 f->elapsed_s, scr->paused ? "  [paused]" : "",
		 scr->record_name ? "  [recording]" : "");
	put_line(out, width, line);
	snprintf(line, sizeof(line), "%" PRIu64 " samples in %.1fs, %" PRIu64 " in all  sorted by %s  "
		 "keys: s/t sort, p pause, q quit",
		 f->samples_int, f->interval_s, f->samples_all, scr->sort == PK_TOP_SORT_TOTAL ? "total" : "self");
	put_line(out, width, line);
	snprintf(line, sizeof(line), "%-16s  %-16s %s", "  LAST INTERVAL", "  SINCE START", "");
	put_line(out, width, line);
	snprintf(line, sizeof(line), "%7s %7s  %7s %7s  %s", "SELF%", "TOTAL%", "SELF%", "TOTAL%", "FUNCTION");
	put_line(out, width, line);
	for (i = 0; i < f->n_rows && (int)i < rows; i++) {
		const struct pk_top_row *r = &f->rows[i];

		snprintf(name, sizeof(name), "%s", r->name);
		if ((int)strlen(name) > name_w && name_w > 3)
			memcpy(name + name_w - 3, "...", 4);
		snprintf(line, sizeof(line), "%6.1f%% %6.1f%%  %6.1f%% %6.1f%%  %s", r->self_int, r->total_int,
			 r->self_all, r->total_all, name);
		put_line(out, width, line);
	}
	if (!f->n_rows)
		put_line(out, width, "(no samples yet)");
}

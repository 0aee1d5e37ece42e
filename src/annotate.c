/*
 * annotate.c - the per-line and per-address model of annotate.h: the
 * profile's self weight per stack node, attributed to the leaf frame's
 * source line and address.  Total weight comes from
 * pk_profile_function_stats, so it agrees with "perfkit report".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/annotate.h"
#include "util.h"

static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return a ? 1 : b ? -1 : 0;
	return strcmp(a, b);
}

static int cmp_line(const void *x, const void *y)
{
	const struct pk_annotate_line *a = x, *b = y;
	int c = cmp_str(a->file, b->file);

	return c ? c : (a->line > b->line) - (a->line < b->line);
}

static int cmp_addr(const void *x, const void *y)
{
	const struct pk_annotate_addr *a = x, *b = y;
	int c = cmp_str(a->module, b->module);

	return c ? c : (a->offset > b->offset) - (a->offset < b->offset);
}

/* Mark in hot[] the PK_ANNOTATE_HOT_MAX largest of w[0..n) that reach
 * the hot share of self. */
static void mark_hot(uint64_t self, const uint64_t *w, int *hot, size_t n)
{
	int k;

	for (k = 0; k < PK_ANNOTATE_HOT_MAX; k++) {
		size_t i, best = n;
		uint64_t max = 0;

		for (i = 0; i < n; i++) {
			if (!hot[i] && w[i] > max) {
				max = w[i];
				best = i;
			}
		}
		if (best == n || (double)max < PK_ANNOTATE_HOT_SHARE * (double)self)
			break;
		hot[best] = 1;
	}
}

static void mark_hot_lines(struct pk_annotate *a)
{
	uint64_t *w = pk_xcalloc(a->n_lines + a->n_addrs + 1, sizeof(*w));
	int *hot = pk_xcalloc(a->n_lines + a->n_addrs + 1, sizeof(*hot));
	size_t i;

	for (i = 0; i < a->n_lines; i++)
		w[i] = a->lines[i].self;
	mark_hot(a->self, w, hot, a->n_lines);
	for (i = 0; i < a->n_lines; i++)
		a->lines[i].hot = hot[i];
	memset(hot, 0, (a->n_lines + a->n_addrs + 1) * sizeof(*hot));
	for (i = 0; i < a->n_addrs; i++)
		w[i] = a->addrs[i].self;
	mark_hot(a->self, w, hot, a->n_addrs);
	for (i = 0; i < a->n_addrs; i++)
		a->addrs[i].hot = hot[i];
	free(w);
	free(hot);
}

int pk_annotate_build(const struct pk_profile *p, const char *name, struct pk_annotate *a)
{
	const struct pk_symtab *t = &p->symtab;
	unsigned char *wanted;
	uint64_t *frame_self;
	struct pk_func_stat *stats = NULL;
	size_t i, n_stats = 0;

	memset(a, 0, sizeof(*a));
	a->function = pk_xstrdup(name);
	wanted = pk_xcalloc(t->n_functions + 1, 1);
	for (i = 0; i < t->n_functions; i++) {
		if (t->functions[i].name && !strcmp(t->functions[i].name, name)) {
			wanted[i + 1] = 1;
			a->n_functions++;
		}
	}
	if (!a->n_functions) {
		free(wanted);
		return -1;
	}

	/* Self weight per frame of the wanted functions. */
	frame_self = pk_xcalloc(t->n_frames + 1, sizeof(*frame_self));
	for (i = 0; i < t->n_nodes; i++) {
		int64_t fr = t->nodes[i].frame_id, fid;

		if (!p->node_self[i] || fr < 1 || (size_t)fr > t->n_frames)
			continue;
		fid = t->frames[fr - 1].function_id;
		if (fid >= 1 && (size_t)fid <= t->n_functions && wanted[fid])
			frame_self[fr] += p->node_self[i];
	}

	for (i = 1; i <= t->n_frames; i++) {
		const struct pk_frame_row *f = &t->frames[i - 1];
		struct pk_annotate_addr *ad;
		size_t j;

		if (!frame_self[i])
			continue;
		a->self += frame_self[i];
		ad = NULL;
		for (j = 0; j < a->n_addrs; j++)
			if (a->addrs[j].offset == f->offset &&
			    a->addrs[j].module == pk_profile_module_name(p, f->module_id))
				ad = &a->addrs[j];
		if (!ad) {
			a->addrs = pk_xrealloc(a->addrs, (a->n_addrs + 1) * sizeof(*a->addrs));
			ad = &a->addrs[a->n_addrs++];
			memset(ad, 0, sizeof(*ad));
			ad->offset = f->offset;
			ad->module = pk_profile_module_name(p, f->module_id);
			ad->file = f->file;
			ad->line = f->line;
		}
		ad->self += frame_self[i];
		if (!f->file || !*f->file || f->line <= 0) {
			a->no_line += frame_self[i];
			continue;
		}
		for (j = 0; j < a->n_lines; j++)
			if (a->lines[j].line == f->line && !strcmp(a->lines[j].file, f->file))
				break;
		if (j == a->n_lines) {
			a->lines = pk_xrealloc(a->lines, (a->n_lines + 1) * sizeof(*a->lines));
			memset(&a->lines[j], 0, sizeof(a->lines[j]));
			a->lines[j].file = f->file;
			a->lines[j].line = f->line;
			a->n_lines++;
		}
		a->lines[j].self += frame_self[i];
	}
	if (a->n_lines)
		qsort(a->lines, a->n_lines, sizeof(*a->lines), cmp_line);
	if (a->n_addrs)
		qsort(a->addrs, a->n_addrs, sizeof(*a->addrs), cmp_addr);
	mark_hot_lines(a);

	/* The total as "perfkit report" counts it. */
	if (pk_profile_function_stats(p, &stats, &n_stats) == 0) {
		for (i = 0; i < n_stats; i++)
			if (stats[i].function_id > 0 && (size_t)stats[i].function_id <= t->n_functions &&
			    wanted[stats[i].function_id])
				a->total += stats[i].total;
	}
	free(stats);
	free(frame_self);
	free(wanted);
	return 0;
}

void pk_annotate_release(struct pk_annotate *a)
{
	if (!a)
		return;
	free(a->function);
	free(a->lines);
	free(a->addrs);
	memset(a, 0, sizeof(*a));
}

static int contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	for (; *hay; hay++) {
		for (i = 0; i < n && hay[i]; i++)
			if (tolower((unsigned char)hay[i]) != tolower((unsigned char)needle[i]))
				break;
		if (i == n)
			return 1;
	}
	return n == 0;
}

size_t pk_annotate_suggest(const struct pk_profile *p, const char *text, const char **out, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < p->symtab.n_functions && n < max; i++) {
		const char *name = p->symtab.functions[i].name;

		if (!name || !contains_nocase(name, text))
			continue;
		for (j = 0; j < n && strcmp(out[j], name); j++)
			;
		if (j == n)
			out[n++] = name;
	}
	return n;
}

int pk_source_read(const char *path, char ***lines, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, count = 0, alloc = 0;
	char **v = NULL;
	ssize_t len;

	*lines = NULL;
	*n = 0;
	if (!f)
		return -1;
	while ((len = getline(&buf, &cap, f)) >= 0) {
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (count == alloc) {
			alloc = alloc ? 2 * alloc : 256;
			v = pk_xrealloc(v, alloc * sizeof(*v));
		}
		v[count++] = pk_xstrdup(buf);
	}
	free(buf);
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		pk_source_lines_free(v, count);
		errno = e;
		return -1;
	}
	fclose(f);
	*lines = v;
	*n = count;
	return 0;
}

void pk_source_lines_free(char **lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

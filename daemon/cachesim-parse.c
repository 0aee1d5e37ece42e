/*
 * cachesim-parse.c - reading cachegrind's output file (see cachesim.h).
 *
 * The format (valgrind's docs/cg-format): header lines ("desc:", "cmd:",
 * "events: Ir I1mr ...") then "fl=FILE", "fn=NAME", "fi=FILE"/"fe=FILE"
 * (inlined code from another file), and count lines "LINE c1 c2 ...", in
 * the order of the events line; missing trailing counts are 0.  Counts are
 * summed per (file, function) for the function rows and per (function,
 * file, line) for the line rows.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/cachesim.h"
#include "util.h"

enum { EV_IR, EV_I1MR, EV_ILMR, EV_DR, EV_D1MR, EV_DLMR, EV_DW, EV_D1MW, EV_DLMW, EV_N };
static const char *const event_names[EV_N] = { "Ir", "I1mr", "ILmr", "Dr", "D1mr", "DLmr", "Dw", "D1mw", "DLmw" };

struct parse_state {
	struct pk_cachesim_row *rows;
	size_t n, cap;
	int column[EV_N];        /* column of each event in count lines, -1 = absent */
	char *fl, *fi, *fn;      /* current file, inline file, function (owned) */
	size_t fn_row;           /* index of the current function's row */
	int have_fn;
	struct pk_cachesim_row *lines;  /* line rows of the current function */
	size_t n_lines, cap_lines;
};

static void add_counts(struct pk_cachesim_row *r, const uint64_t *v)
{
	r->ir += v[EV_IR];
	r->i1mr += v[EV_I1MR];
	r->ilmr += v[EV_ILMR];
	r->dr += v[EV_DR];
	r->d1mr += v[EV_D1MR];
	r->dlmr += v[EV_DLMR];
	r->dw += v[EV_DW];
	r->d1mw += v[EV_D1MW];
	r->dlmw += v[EV_DLMW];
}

/* Move the current function's line rows into the result. */
static void flush_lines(struct parse_state *ps)
{
	size_t i;

	for (i = 0; i < ps->n_lines; i++) {
		pk_xgrow((void **)&ps->rows, &ps->cap, ps->n + 1, sizeof(*ps->rows));
		ps->rows[ps->n++] = ps->lines[i];
	}
	ps->n_lines = 0;
}

/* Start (or continue: the same fl/fn may appear twice) a function row. */
static void start_function(struct parse_state *ps)
{
	size_t i;

	flush_lines(ps);
	for (i = 0; i < ps->n; i++) {
		struct pk_cachesim_row *r = &ps->rows[i];

		if (r->line == 0 && !strcmp(r->function, ps->fn) &&
		    !strcmp(r->file ? r->file : "", ps->fl ? ps->fl : "")) {
			ps->fn_row = i;
			ps->have_fn = 1;
			return;
		}
	}
	pk_xgrow((void **)&ps->rows, &ps->cap, ps->n + 1, sizeof(*ps->rows));
	memset(&ps->rows[ps->n], 0, sizeof(ps->rows[ps->n]));
	ps->rows[ps->n].function = pk_xstrdup(ps->fn);
	ps->rows[ps->n].file = ps->fl ? pk_xstrdup(ps->fl) : NULL;
	ps->fn_row = ps->n++;
	ps->have_fn = 1;
}

static void count_line(struct parse_state *ps, int line, const uint64_t *v)
{
	const char *file = ps->fi ? ps->fi : ps->fl;
	struct pk_cachesim_row *r = NULL;
	size_t i;

	add_counts(&ps->rows[ps->fn_row], v);
	if (line <= 0)
		return;
	/* Count lines of a function come mostly in order: look back a little. */
	for (i = ps->n_lines; i-- > 0 && ps->n_lines - i <= 64;)
		if (ps->lines[i].line == line && !strcmp(ps->lines[i].file ? ps->lines[i].file : "", file ? file : "")) {
			r = &ps->lines[i];
			break;
		}
	if (!r) {
		pk_xgrow((void **)&ps->lines, &ps->cap_lines, ps->n_lines + 1, sizeof(*ps->lines));
		r = &ps->lines[ps->n_lines++];
		memset(r, 0, sizeof(*r));
		r->function = pk_xstrdup(ps->fn);
		r->file = file ? pk_xstrdup(file) : NULL;
		r->line = line;
	}
	add_counts(r, v);
}

static int parse_events(struct parse_state *ps, char *list)
{
	char *save = NULL, *tok;
	int col = 0, k;

	for (k = 0; k < EV_N; k++)
		ps->column[k] = -1;
	for (tok = strtok_r(list, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++)
		for (k = 0; k < EV_N; k++)
			if (!strcmp(tok, event_names[k]))
				ps->column[k] = col;
	return ps->column[EV_IR] < 0 ? -1 : 0;
}

static void set_name(char **slot, const char *text)
{
	size_t n = strlen(text);

	free(*slot);
	*slot = pk_xstrdup(text);
	if (n && (*slot)[n - 1] == '\n')
		(*slot)[n - 1] = '\0';
}

int pk_cachegrind_parse(FILE *in, struct pk_cachesim_row **rows, size_t *n, char *err, size_t errlen)
{
	struct parse_state ps;
	char *buf = NULL;
	size_t cap = 0;
	int have_events = 0, rc = 0;

	memset(&ps, 0, sizeof(ps));
	*rows = NULL;
	*n = 0;
	while (getline(&buf, &cap, in) > 0) {
		if (!strncmp(buf, "events:", 7)) {
			if (parse_events(&ps, buf + 7) < 0) {
				snprintf(err, errlen, "cachegrind's output has no Ir event");
				rc = -1;
				break;
			}
			have_events = 1;
		} else if (!strncmp(buf, "fl=", 3)) {
			set_name(&ps.fl, buf + 3);
			free(ps.fi);
			ps.fi = NULL;
		} else if (!strncmp(buf, "fi=", 3) || !strncmp(buf, "fe=", 3)) {
			set_name(&ps.fi, buf + 3);
		} else if (!strncmp(buf, "fn=", 3)) {
			set_name(&ps.fn, buf + 3);
			free(ps.fi);
			ps.fi = NULL;
			start_function(&ps);
		} else if (buf[0] >= '0' && buf[0] <= '9' && have_events && ps.have_fn) {
			uint64_t col[32] = { 0 }, v[EV_N] = { 0 };
			char *p = buf, *end;
			long line = strtol(p, &end, 10);
			int c = 0, k;

			p = end;
			while (c < 32) {
				unsigned long long x = strtoull(p, &end, 10);

				if (end == p)
					break;
				col[c++] = x;
				p = end;
			}
			for (k = 0; k < EV_N; k++)
				if (ps.column[k] >= 0 && ps.column[k] < 32)
					v[k] = col[ps.column[k]];
			count_line(&ps, (int)line, v);
		}
		/* desc:, cmd:, summary: and blank lines carry nothing per function. */
	}
	flush_lines(&ps);
	free(buf);
	free(ps.fl);
	free(ps.fi);
	free(ps.fn);
	free(ps.lines);
	if (rc == 0 && !have_events) {
		snprintf(err, errlen, "not a cachegrind output file (no 'events:' line)");
		rc = -1;
	}
	if (rc < 0) {
		pk_cachesim_row_array_free(ps.rows, ps.n);
		return -1;
	}
	*rows = ps.rows;
	*n = ps.n;
	return 0;
}

/*
 * cmd-allocs.c - "perfkit allocs SESSION": what a perfkitd --alloc session
 * saw.  Hotspots by call site (the function that called malloc or
 * operator new), live blocks at the end (leaks once the target exited),
 * and memory in use over time (--timeline, --svg).  The model is in
 * allocs.c; this file parses options and prints tables, JSON or CSV.
 * Windowed sessions say so on every output; nothing is scaled.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "error.h"
#include "json.h"
#include "output.h"
#include "src/allocs.h"
#include "util.h"

static const char allocs_usage[] =
	"perfkit allocs [--leaks] [--timeline [--svg FILE]] [--sort bytes|count|live]\n"
	"                      [--limit N] [--format table|json|csv] SESSION";

static const char allocs_help[] =
	"usage: perfkit allocs [options] SESSION\n"
	"\n"
	"Allocations of a session recorded with 'perfkitd --alloc': totals (calls,\n"
	"bytes allocated and freed, peak and live bytes), hotspots by call site (the\n"
	"first function outside malloc, operator new and the rest of the family),\n"
	"blocks still live at the end grouped by call path and size (leaks when the\n"
	"target had exited), and memory in use over time.  A session recorded with\n"
	"--alloc-sample says so: its counts cover the armed windows only and are\n"
	"never scaled.\n"
	"\n"
	"SESSION is a session name, a numeric id, or 'last'.\n"
	"\n"
	"Options:\n"
	"  --leaks               live blocks at the end, by call path and size\n"
	"  --timeline            bytes in use over time (a table)\n"
	"  --svg FILE            with --timeline: draw it as an SVG chart into FILE\n"
	"  --sort KEY            order call sites by bytes (default), count or live\n"
	"  --limit N             show the first N rows (default 25 in a table, all\n"
	"                        in json and csv; 0 = all)\n"
	"  --format FMT          table (default), json or csv\n"
	"  --db PATH             the session database\n"
	"  -h, --help            show this help\n";

struct allocs_options {
	int format;
	int leaks, timeline;
	const char *svg;
	enum pk_allocs_sort sort;
	long limit;
};

static int parse_options(int argc, char **argv, struct pk_cli *cli, struct allocs_options *o,
			 const char **spec)
{
	enum { OPT_LEAKS = PK_OPT_FIRST_COMMAND_OPTION, OPT_TIMELINE, OPT_SVG, OPT_SORT, OPT_LIMIT,
	       OPT_FORMAT };
	static const struct option longopts[] = {
		{ "leaks", no_argument, NULL, OPT_LEAKS },
		{ "timeline", no_argument, NULL, OPT_TIMELINE },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->limit = -1;
	pk_cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LEAKS:
			o->leaks = 1;
			break;
		case OPT_TIMELINE:
			o->timeline = 1;
			break;
		case OPT_SVG:
			o->svg = optarg;
			break;
		case OPT_SORT:
			if (!strcmp(optarg, "bytes"))
				o->sort = PK_ALLOCS_SORT_BYTES;
			else if (!strcmp(optarg, "count"))
				o->sort = PK_ALLOCS_SORT_COUNT;
			else if (!strcmp(optarg, "live"))
				o->sort = PK_ALLOCS_SORT_LIVE;
			else
				return pk_cli_usage_error(allocs_usage, "unknown sort key '%s'; use bytes, count or live",
							  optarg);
			break;
		case OPT_LIMIT:
			if (pk_parse_long(optarg, &o->limit) < 0 || o->limit < 0)
				return pk_cli_usage_error(allocs_usage, "--limit wants a number of rows, not '%s'", optarg);
			break;
		case OPT_FORMAT:
			if ((rc = pk_cli_parse_format(optarg, allocs_usage, &o->format)))
				return rc;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, allocs_usage, allocs_help)) >= 0)
				return rc;
		}
	}
	if (optind + 1 != argc)
		return pk_cli_usage_error(allocs_usage, optind >= argc ? "which session? give a SESSION"
					  : "one SESSION at a time");
	if (o->svg && !o->timeline)
		return pk_cli_usage_error(allocs_usage, "--svg draws the timeline: add --timeline");
	*spec = argv[optind];
	return -1;
}

static void human_bytes(int64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int u = 0;

	while ((d >= 1024 || d <= -1024) && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", (long long)v);
	else
		snprintf(buf, len, "%.1f %s", d, units[u]);
}

static double armed_fraction(const struct pk_alloc_summary *s)
{
	return s->traced_ns > 0 ? (double)s->armed_ns / (double)s->traced_ns : 1.0;
}

/* The mode line every table output starts with. */
static void print_mode(const struct pk_alloc_summary *s, FILE *out)
{
	if (strcmp(s->mode, "windowed") == 0)
		fprintf(out, "mode: windowed: probes armed %.3gs of every %.3gs (%.1f%% of the traced time);\n"
			"      counts cover the armed windows only and are NOT scaled; a block freed outside\n"
			"      a window stays counted as live\n",
			(double)s->window_ns / 1e9, (double)s->period_ns / 1e9, 100 * armed_fraction(s));
	else
		fprintf(out, "mode: full (every call traced)\n");
}

static void print_totals_table(const struct pk_alloc_summary *s, FILE *out)
{
	char a[32], b[32], c[32], d[32];

	human_bytes(s->bytes_allocated, a, sizeof(a));
	human_bytes(s->bytes_freed, b, sizeof(b));
	human_bytes(s->peak_bytes, c, sizeof(c));
	human_bytes(s->live_bytes, d, sizeof(d));
	fprintf(out, "allocations: %lld calls, %s;  frees: %lld calls, %s freed",
		(long long)s->alloc_calls, a, (long long)s->free_calls, b);
	if (s->unknown_frees)
		fprintf(out, " (%lld of blocks allocated before tracing)", (long long)s->unknown_frees);
	fprintf(out, "\npeak: %s at %.3fs;  %s: %s in %lld blocks\n", c, (double)s->peak_ns / 1e9,
		s->target_exited ? "leaked (live when the target exited)" : "live at the end (target still running)",
		d, (long long)s->live_count);
}

static size_t shown_rows(long limit, size_t n)
{
	return limit > 0 && (size_t)limit < n ? (size_t)limit : n;
}

static void print_sites_table(const struct pk_allocs *a, size_t shown, FILE *out)
{
	static const struct pk_column cols[] = {
		{ "COUNT", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "BYTES", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "AVG", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "FREES", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "LIVE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "CALL SITE", PK_ALIGN_LEFT, 80, PK_TRUNC_END },
	};
	struct pk_table *t = pk_table_new(cols, 6);
	char b[32];

	for (size_t i = 0; i < shown; i++) {
		const struct pk_alloc_site *s = &a->sites[i];

		pk_table_row(t);
		pk_table_cellf(t, "%lld", (long long)s->count);
		human_bytes(s->bytes, b, sizeof(b));
		pk_table_cell(t, b);
		pk_table_cellf(t, "%.1f", s->count ? (double)s->bytes / (double)s->count : 0);
		pk_table_cellf(t, "%lld", (long long)s->frees);
		human_bytes(s->live_bytes, b, sizeof(b));
		pk_table_cell(t, b);
		pk_table_cell(t, s->function);
	}
	fprintf(out, "\nhotspots by call site:\n");
	pk_table_print(t, out);
	if (shown < a->n_sites)
		fprintf(out, "(%zu more call sites; --limit 0 shows all)\n", a->n_sites - shown);
	pk_table_free(t);
}

static void print_leaks_table(const struct pk_allocs *a, size_t shown, FILE *out)
{
	fprintf(out, "\n%s by call path and size:\n",
		a->data.summary.target_exited ? "leaks (live when the target exited)" : "live at the end");
	if (!a->n_leaks)
		fprintf(out, "  none\n");
	for (size_t i = 0; i < shown; i++) {
		const struct pk_alloc_leak *l = &a->leaks[i];
		char b[32];

		human_bytes(l->size * l->count, b, sizeof(b));
		fprintf(out, "  %lld x %lld bytes = %s  (%s)\n", (long long)l->count, (long long)l->size, b,
			l->allocator);
		for (size_t k = 0; k < l->depth; k++)
			fprintf(out, "      %s\n", l->stack[k]);
	}
	if (shown < a->n_leaks)
		fprintf(out, "(%zu more; --limit 0 shows all)\n", a->n_leaks - shown);
}

static void print_timeline_table(const struct pk_allocs *a, size_t shown, FILE *out)
{
	static const struct pk_column cols[] = {
		{ "TIME(S)", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "IN USE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "BLOCKS", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "ALLOCS", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "FREES", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "ARMED", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
	};
	const struct pk_alloc_data *d = &a->data;
	struct pk_table *t = pk_table_new(cols, 6);
	size_t stride = shown && d->n_timeline > shown ? (d->n_timeline + shown - 1) / shown : 1;
	char b[32];

	for (size_t i = 0; i < d->n_timeline; i += stride) {
		const struct pk_alloc_point *p = &d->timeline[i];

		pk_table_row(t);
		pk_table_cellf(t, "%.3f", (double)p->time_ns / 1e9);
		human_bytes(p->live_bytes, b, sizeof(b));
		pk_table_cell(t, b);
		pk_table_cellf(t, "%lld", (long long)p->live_count);
		pk_table_cellf(t, "%lld", (long long)p->alloc_calls);
		pk_table_cellf(t, "%lld", (long long)p->free_calls);
		pk_table_cell(t, p->armed ? "yes" : "no");
	}
	fprintf(out, "\nmemory in use over time%s:\n", stride > 1 ? " (every few points; --limit 0 shows all)" : "");
	pk_table_print(t, out);
	pk_table_free(t);
}

static void json_totals(struct pk_json *j, const struct pk_alloc_summary *s)
{
	pk_json_key(j, "mode");
	pk_json_begin_object(j);
	pk_json_key(j, "name");
	pk_json_string(j, s->mode);
	pk_json_key(j, "window_s");
	pk_json_double(j, (double)s->window_ns / 1e9);
	pk_json_key(j, "period_s");
	pk_json_double(j, (double)s->period_ns / 1e9);
	pk_json_key(j, "armed_fraction");
	pk_json_double(j, armed_fraction(s));
	pk_json_key(j, "scaled");
	pk_json_bool(j, 0);
	pk_json_end_object(j);
	pk_json_key(j, "target_exited");
	pk_json_bool(j, s->target_exited);
	pk_json_key(j, "totals");
	pk_json_begin_object(j);
#define I(k) do { pk_json_key(j, #k); pk_json_int(j, s->k); } while (0)
	I(alloc_calls);
	I(free_calls);
	I(bytes_allocated);
	I(bytes_freed);
	I(peak_bytes);
	pk_json_key(j, "peak_time_s");
	pk_json_double(j, (double)s->peak_ns / 1e9);
	I(live_bytes);
	I(live_count);
	I(unknown_frees);
	I(failed_allocs);
	I(lost_returns);
#undef I
	pk_json_end_object(j);
}

static void print_json(struct pk_store *st, const struct pk_session *sess, const struct pk_allocs *a,
		       const struct allocs_options *o, size_t n_sites, size_t n_leaks)
{
	struct pk_json j;

	pk_json_init(&j, stdout, 1);
	pk_json_begin_object(&j);
	pk_json_key(&j, "session");
	pk_json_begin_object(&j);
	pk_cli_json_session(&j, st, sess);
	pk_json_end_object(&j);
	json_totals(&j, &a->data.summary);
	pk_json_key(&j, "sites");
	pk_json_begin_array(&j);
	for (size_t i = 0; i < n_sites; i++) {
		const struct pk_alloc_site *s = &a->sites[i];

		pk_json_begin_object(&j);
		pk_json_key(&j, "function");
		pk_json_string(&j, s->function);
		pk_json_key(&j, "count");
		pk_json_int(&j, s->count);
		pk_json_key(&j, "bytes");
		pk_json_int(&j, s->bytes);
		pk_json_key(&j, "avg_size");
		pk_json_double(&j, s->count ? (double)s->bytes / (double)s->count : 0);
		pk_json_key(&j, "frees");
		pk_json_int(&j, s->frees);
		pk_json_key(&j, "bytes_freed");
		pk_json_int(&j, s->bytes_freed);
		pk_json_key(&j, "live_count");
		pk_json_int(&j, s->live_count);
		pk_json_key(&j, "live_bytes");
		pk_json_int(&j, s->live_bytes);
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);
	pk_json_key(&j, "leaks");
	pk_json_begin_array(&j);
	for (size_t i = 0; i < n_leaks; i++) {
		const struct pk_alloc_leak *l = &a->leaks[i];

		pk_json_begin_object(&j);
		pk_json_key(&j, "size");
		pk_json_int(&j, l->size);
		pk_json_key(&j, "count");
		pk_json_int(&j, l->count);
		pk_json_key(&j, "bytes");
		pk_json_int(&j, l->size * l->count);
		pk_json_key(&j, "allocator");
		pk_json_string(&j, l->allocator);
		pk_json_key(&j, "stack");
		pk_json_begin_array(&j);
		for (size_t k = 0; k < l->depth; k++)
			pk_json_string(&j, l->stack[k]);
		pk_json_end_array(&j);
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);
	if (o->timeline) {
		pk_json_key(&j, "timeline");
		pk_json_begin_array(&j);
		for (size_t i = 0; i < a->data.n_timeline; i++) {
			const struct pk_alloc_point *p = &a->data.timeline[i];

			pk_json_begin_object(&j);
			pk_json_key(&j, "time_s");
			pk_json_double(&j, (double)p->time_ns / 1e9);
			pk_json_key(&j, "live_bytes");
			pk_json_int(&j, p->live_bytes);
			pk_json_key(&j, "live_count");
			pk_json_int(&j, p->live_count);
			pk_json_key(&j, "alloc_calls");
			pk_json_int(&j, p->alloc_calls);
			pk_json_key(&j, "free_calls");
			pk_json_int(&j, p->free_calls);
			pk_json_key(&j, "armed");
			pk_json_bool(&j, p->armed);
			pk_json_end_object(&j);
		}
		pk_json_end_array(&j);
		pk_json_key(&j, "windows");
		pk_json_begin_array(&j);
		for (size_t i = 0; i < a->data.n_windows; i++) {
			pk_json_begin_object(&j);
			pk_json_key(&j, "start_s");
			pk_json_double(&j, (double)a->data.windows[i].start_ns / 1e9);
			pk_json_key(&j, "end_s");
			pk_json_double(&j, (double)a->data.windows[i].end_ns / 1e9);
			pk_json_end_object(&j);
		}
		pk_json_end_array(&j);
	}
	pk_json_end_object(&j);
	pk_json_finish(&j);
}

/* CSV: one table per view (sites by default, --leaks, --timeline). */
static void print_csv(const struct pk_allocs *a, const struct allocs_options *o, size_t n_sites,
		      size_t n_leaks)
{
	struct pk_csv c;
	const char *mode = a->data.summary.mode;

	pk_csv_init(&c, stdout);
	if (o->timeline) {
		const char *h[] = { "time_s", "live_bytes", "live_count", "alloc_calls", "free_calls", "armed", "mode" };

		for (size_t i = 0; i < 7; i++)
			pk_csv_field(&c, h[i]);
		pk_csv_end_row(&c);
		for (size_t i = 0; i < a->data.n_timeline; i++) {
			const struct pk_alloc_point *p = &a->data.timeline[i];

			pk_csv_double(&c, (double)p->time_ns / 1e9);
			pk_csv_int(&c, p->live_bytes);
			pk_csv_int(&c, p->live_count);
			pk_csv_int(&c, p->alloc_calls);
			pk_csv_int(&c, p->free_calls);
			pk_csv_int(&c, p->armed);
			pk_csv_field(&c, mode);
			pk_csv_end_row(&c);
		}
	} else if (o->leaks) {
		const char *h[] = { "size", "count", "bytes", "allocator", "stack", "mode" };

		for (size_t i = 0; i < 6; i++)
			pk_csv_field(&c, h[i]);
		pk_csv_end_row(&c);
		for (size_t i = 0; i < n_leaks; i++) {
			const struct pk_alloc_leak *l = &a->leaks[i];
			size_t len = 1;
			char *stack, *p;

			for (size_t k = 0; k < l->depth; k++)
				len += strlen(l->stack[k]) + 1;
			stack = pk_xcalloc(len, 1);
			for (size_t k = 0, off = 0; k < l->depth; k++) {
				p = stack + off;
				off += (size_t)sprintf(p, "%s%s", k ? ";" : "", l->stack[k]);
			}
			pk_csv_int(&c, l->size);
			pk_csv_int(&c, l->count);
			pk_csv_int(&c, l->size * l->count);
			pk_csv_field(&c, l->allocator);
			pk_csv_field(&c, stack);
			pk_csv_field(&c, mode);
			pk_csv_end_row(&c);
			free(stack);
		}
	} else {
		const char *h[] = { "function", "count", "bytes", "avg_size", "frees", "bytes_freed", "live_count", "live_bytes", "mode" };

		for (size_t i = 0; i < 9; i++)
			pk_csv_field(&c, h[i]);
		pk_csv_end_row(&c);
		for (size_t i = 0; i < n_sites; i++) {
			const struct pk_alloc_site *s = &a->sites[i];

			pk_csv_field(&c, s->function);
			pk_csv_int(&c, s->count);
			pk_csv_int(&c, s->bytes);
			pk_csv_double(&c, s->count ? (double)s->bytes / (double)s->count : 0);
			pk_csv_int(&c, s->frees);
			pk_csv_int(&c, s->bytes_freed);
			pk_csv_int(&c, s->live_count);
			pk_csv_int(&c, s->live_bytes);
			pk_csv_field(&c, mode);
			pk_csv_end_row(&c);
		}
	}
}

/* Write the chart through a temporary file and a rename. */
static int write_svg(const struct pk_allocs *a, const struct pk_session *s, const char *path)
{
	char *tmp = pk_xasprintf("%s.tmp%d", path, (int)getpid()), *title;
	FILE *f = fopen(tmp, "we");
	int rc;

	if (!f) {
		pk_error("cannot write '%s': %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	title = pk_xasprintf("Memory in use: %s", s->name);
	rc = pk_allocs_svg(a, title, f);
	free(title);
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc < 0) {
		pk_error("cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

int cmd_allocs(int argc, char **argv, struct pk_cli *cli)
{
	struct allocs_options o;
	struct pk_session s;
	struct pk_allocs a;
	const char *spec = NULL;
	long limit;
	int rc;

	if ((rc = parse_options(argc, argv, cli, &o, &spec)) >= 0)
		return rc;
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)) || (rc = pk_cli_find_session(cli, spec, &s)))
		return rc;
	rc = pk_allocs_load(cli->store, s.id, o.sort, &a);
	if (rc != PK_STORE_OK) {
		if (rc == PK_STORE_NOTFOUND)
			pk_error("session '%s' has no allocation data; record one with 'perfkitd run --alloc -- PROG' "
				 "or 'perfkitd attach PID --alloc'", s.name);
		else
			pk_error("cannot read session '%s' from '%s': %s", s.name, cli->db_path,
				 pk_store_errmsg(cli->store));
		pk_session_release(&s);
		return PK_EXIT_FAILURE;
	}
	limit = o.limit >= 0 ? o.limit : o.format == PK_FORMAT_TABLE ? 25 : 0;
	rc = PK_EXIT_OK;
	if (o.svg && write_svg(&a, &s, o.svg) < 0)
		rc = PK_EXIT_FAILURE;
	if (o.format == PK_FORMAT_JSON) {
		print_json(cli->store, &s, &a, &o, shown_rows(limit, a.n_sites), shown_rows(limit, a.n_leaks));
	} else if (o.format == PK_FORMAT_CSV) {
		print_csv(&a, &o, shown_rows(limit, a.n_sites), shown_rows(limit, a.n_leaks));
	} else {
		printf("session '%s': %s\n", s.name, s.command ? s.command : "");
		print_mode(&a.data.summary, stdout);
		print_totals_table(&a.data.summary, stdout);
		if (o.timeline)
			print_timeline_table(&a, limit > 0 ? (size_t)limit * 2 : 0, stdout);
		else if (o.leaks)
			print_leaks_table(&a, shown_rows(limit, a.n_leaks), stdout);
		else
			print_sites_table(&a, shown_rows(limit, a.n_sites), stdout);
		if (o.svg)
			printf("\nchart written to %s\n", o.svg);
	}
	pk_allocs_release(&a);
	pk_session_release(&s);
	return rc;
}

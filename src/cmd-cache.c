/*
 * cmd-cache.c - "perfkit cache SESSION": is the program slow because it
 * misses the cache?  Measured counters of the process (perfkitd
 * --counters) with the status of every event and the ratios derived from
 * them, events sampled per function (--sample-on), and the simulated
 * caches per function or source line (perfkitd run --cache-sim), as a
 * table, JSON or CSV.  A counter that did not open is shown with the
 * reason, never as 0; simulated numbers are labelled with the geometry.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "counter-status.h"
#include "error.h"
#include "output.h"
#include "src/cache.h"
#include "util.h"

#define DEFAULT_TABLE_LIMIT 15

static const char cache_usage[] =
	"perfkit cache [--lines] [--limit N] [--format table|json|csv] SESSION";

static const char cache_help[] =
	"usage: perfkit cache [options] SESSION\n"
	"\n"
	"Cache behaviour of a recorded session, per process and per function:\n"
	"  - counters measured with perf_event (perfkitd --counters): cycles,\n"
	"    instructions, cache references and misses, branches, L1D loads and\n"
	"    misses, dTLB misses, page faults, context switches, migrations, each\n"
	"    with its status; an event that could not be opened is shown with the\n"
	"    reason (\"unavailable: no hardware PMU (ENOENT)\"), never as 0.  Values\n"
	"    are scaled when the kernel multiplexed the counters (the SCALED column\n"
	"    is the share of time the event was counting).  Derived: IPC, miss\n"
	"    ratios and misses per 1000 instructions, coloured like perf stat on\n"
	"    a terminal (above 5% yellow, 10% magenta, 20% red).\n"
	"  - events sampled per function (perfkitd --sample-on EVENT): sampled,\n"
	"    with skid (the IP may be a few instructions past the cause).\n"
	"  - simulated caches per function (perfkitd run --cache-sim): valgrind's\n"
	"    cachegrind with the geometry shown; a simulation, not a measurement.\n"
	"\n"
	"SESSION is a session name, a numeric id, or 'last'.\n"
	"\n"
	"Options:\n"
	"  --lines               the simulation per source line instead of per function\n"
	"  --limit N             rows per table (default 15 in a table, all in json and\n"
	"                        csv; 0 = all)\n"
	"  --format FMT          table (default), json or csv\n"
	"  --db PATH             the session database (default: $PERFKIT_DB, else\n"
	"                        ~/.local/share/perfkit/perfkit.db)\n"
	"  -h, --help            show this help\n";

struct cache_options {
	int format;
	int lines;
	long limit;
	int color;
};

static int parse_options(int argc, char **argv, struct pk_cli *cli, struct cache_options *o, const char **spec)
{
	enum { OPT_LINES = PK_OPT_FIRST_COMMAND_OPTION, OPT_LIMIT, OPT_FORMAT };
	static const struct option longopts[] = {
		{ "lines", no_argument, NULL, OPT_LINES },
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
		case OPT_LINES:
			o->lines = 1;
			break;
		case OPT_LIMIT:
			if (pk_parse_long(optarg, &o->limit) < 0 || o->limit < 0)
				return pk_cli_usage_error(cache_usage, "--limit wants a number of rows, not '%s'", optarg);
			break;
		case OPT_FORMAT:
			if ((rc = pk_cli_parse_format(optarg, cache_usage, &o->format)))
				return rc;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, cache_usage, cache_help)) >= 0)
				return rc;
		}
	}
	if (optind >= argc)
		return pk_cli_usage_error(cache_usage, "%s", "missing SESSION");
	if (optind + 1 < argc)
		return pk_cli_usage_error(cache_usage, "unexpected argument '%s'", argv[optind + 1]);
	*spec = argv[optind];
	if (o->limit < 0)
		o->limit = o->format == PK_FORMAT_TABLE ? DEFAULT_TABLE_LIMIT : 0;
	o->color = o->format == PK_FORMAT_TABLE && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	return -1;
}

/* 1234567 -> "1,234,567". */
static void format_count(double value, char *buf, size_t len)
{
	char digits[32];
	size_t n, i, o = 0;

	snprintf(digits, sizeof(digits), "%.0f", value);
	n = strlen(digits);
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

/* A cell coloured by perf's bands; with colour on, every cell of the
 * column carries codes of the same length so the widths still agree. */
static void ratio_cell(struct pk_table *t, const struct cache_options *o, double percent, const char *text)
{
	const char *col = pk_cache_ratio_color(percent);

	if (!o->color)
		pk_table_cell(t, text);
	else
		pk_table_cellf(t, "%s%s\033[0m", *col ? col : "\033[39m", text);
}

static const char *ratio_header(const struct cache_options *o, const char *h, char *buf, size_t len)
{
	if (!o->color)
		return h;
	snprintf(buf, len, "\033[39m%s\033[0m", h);
	return buf;
}

static void fmt_percent(double ratio01, char *buf, size_t len)
{
	if (isnan(ratio01))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f%%", ratio01 * 100);
}

static void print_counters_table(const struct pk_cache_view *v, const struct cache_options *o)
{
	static const struct pk_column cols[] = {
		{ "EVENT", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
		{ "VALUE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SCALED", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "STATUS", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
	};
	struct pk_table *t = pk_table_new(cols, 4);
	size_t i, n_hw_counted = 0;
	char buf[256], num[48];

	printf("Counters (measured with perf_event, whole process):\n");
	for (i = 0; i < v->n_process; i++) {
		const struct pk_counter_row *c = &v->counters[i];
		int counted = !strcmp(c->status, "counted");

		if (counted && pk_counter_kind_of(c->name) != PK_COUNTER_SOFTWARE)
			n_hw_counted++;
		pk_table_row(t);
		pk_table_cell(t, c->name);
		if (counted) {
			format_count(c->value, num, sizeof(num));
			pk_table_cell(t, num);
			pk_table_cellf(t, "%.1f%%", pk_cache_running_share(c) * 100);
			pk_table_cell(t, c->scope && !strcmp(c->scope, "user") ? "counted (user space only)" : "counted");
		} else {
			pk_table_cell(t, "-");
			pk_table_cell(t, "-");
			pk_table_cell(t, pk_cache_status_message(v, c, buf, sizeof(buf)));
		}
	}
	pk_table_print(t, stdout);
	pk_table_free(t);
	printf("  (SCALED: share of the time the event was counting; below 100%% the value\n"
	       "   is extrapolated, as perf stat does)\n");
	if (v->threads_short)
		printf("  (%" PRIu64 " threads could not be given every counter: the totals miss their share\n"
		       "   of those events)\n", v->threads_short);
	printf("\n");

	{
		static const struct pk_column dcols[] = {
			{ "DERIVED", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
			{ "VALUE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
			{ "FROM", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
		};
		struct pk_column dc[3];
		char hdr[64];

		memcpy(dc, dcols, sizeof(dc));
		dc[1].header = ratio_header(o, "VALUE", hdr, sizeof(hdr));
		t = pk_table_new(dc, 3);
		for (i = 0; i < v->n_derived; i++) {
			const struct pk_cache_derived *d = &v->derived[i];

			pk_table_row(t);
			pk_table_cell(t, d->label);
			if (isnan(d->value))
				snprintf(buf, sizeof(buf), "-");
			else if (d->scale == 100)
				snprintf(buf, sizeof(buf), "%.2f%%", d->value);
			else
				snprintf(buf, sizeof(buf), "%.2f", d->value);
			ratio_cell(t, o, d->is_miss_ratio ? d->value : NAN, buf);
			pk_table_cellf(t, "%s / %s%s", d->num, d->den, isnan(d->value) ? " (not counted)" : "");
		}
		pk_table_print(t, stdout);
		pk_table_free(t);
	}
	if (!n_hw_counted) {
		const struct pk_counter_row *c = pk_cache_counter(v, "cycles");

		printf("\nThe measured cache view is %s.\n",
		       c ? pk_cache_status_message(v, c, buf, sizeof(buf)) : "unavailable");
		if (!v->have_sim)
			printf("For a simulation of the caches: perfkitd run --cache-sim -- PROG [ARGS]\n");
	}
}

static void print_sampled_table(const struct pk_cache_view *v, const struct cache_options *o)
{
	static const struct pk_column cols[] = {
		{ "FUNCTION", PK_ALIGN_LEFT, 48, PK_TRUNC_END },
		{ "EVENTS", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SHARE", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "MODULE", PK_ALIGN_LEFT, 32, PK_TRUNC_START },
	};
	struct pk_table *t = pk_table_new(cols, 4);
	size_t i, shown = o->limit && (size_t)o->limit < v->n_sampled ? (size_t)o->limit : v->n_sampled;
	char num[48];

	printf("\nFunctions by %s, sampled, with skid (one sample every %" PRIu64 " events; the IP may be\n"
	       "a few instructions past the cause)%s:\n",
	       v->sampled_event, v->sampled_period,
	       v->sampled_lost ? "; some samples were lost (ring buffer full)" : "");
	for (i = 0; i < shown; i++) {
		pk_table_row(t);
		pk_table_cell(t, v->sampled[i].function);
		format_count((double)v->sampled[i].events, num, sizeof(num));
		pk_table_cell(t, num);
		pk_table_cellf(t, "%.1f%%", v->sampled_total ? 100.0 * (double)v->sampled[i].events / (double)v->sampled_total : 0);
		pk_table_cell(t, v->sampled[i].module);
	}
	pk_table_print(t, stdout);
	pk_table_free(t);
}

static void print_sim_table(const struct pk_cache_view *v, const struct cache_options *o)
{
	static const struct pk_column cols[] = {
		{ "FUNCTION", PK_ALIGN_LEFT, 40, PK_TRUNC_END },
		{ "INSTRUCTIONS", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "DATA-REFS", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "D1-MISSES", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "D1-MISS%", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "LL-MISSES", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "LL-MISS%", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "D1-MPKI", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SOURCE", PK_ALIGN_LEFT, 40, PK_TRUNC_START },
	};
	struct pk_column c[9];
	struct pk_table *t;
	size_t i, shown = o->limit && (size_t)o->limit < v->n_sim_rows ? (size_t)o->limit : v->n_sim_rows;
	char label[256], h1[32], h2[32], num[48], pct[32];
	const struct pk_cachesim_row *tot = &v->sim_total;

	memcpy(c, cols, sizeof(c));
	c[4].header = ratio_header(o, "D1-MISS%", h1, sizeof(h1));
	c[6].header = ratio_header(o, "LL-MISS%", h2, sizeof(h2));
	pk_cache_sim_label(v, label, sizeof(label));
	printf("\nCaches %s; geometry from %s.\n", label, v->sim.geometry_from ? v->sim.geometry_from : "?");
	fmt_percent(pk_cachesim_d1_ratio(tot), pct, sizeof(pct));
	printf("Whole program: D1 miss ratio %s", pct);
	fmt_percent(pk_cachesim_ll_ratio(tot), pct, sizeof(pct));
	printf(", LL miss ratio %s, D1 MPKI %.2f\n", pct, pk_cachesim_d1_mpki(tot));
	printf("%s (most D1 misses first):\n", v->n_sim_rows && v->sim_rows[0].line ? "Source lines" : "Functions");
	t = pk_table_new(c, 9);
	for (i = 0; i < shown; i++) {
		const struct pk_cachesim_row *r = &v->sim_rows[i];
		double d1 = pk_cachesim_d1_ratio(r), ll = pk_cachesim_ll_ratio(r);

		pk_table_row(t);
		pk_table_cell(t, r->function);
		format_count((double)r->ir, num, sizeof(num));
		pk_table_cell(t, num);
		format_count((double)(r->dr + r->dw), num, sizeof(num));
		pk_table_cell(t, num);
		format_count((double)(r->d1mr + r->d1mw), num, sizeof(num));
		pk_table_cell(t, num);
		fmt_percent(d1, pct, sizeof(pct));
		ratio_cell(t, o, d1 * 100, pct);
		format_count((double)(r->dlmr + r->dlmw), num, sizeof(num));
		pk_table_cell(t, num);
		fmt_percent(ll, pct, sizeof(pct));
		ratio_cell(t, o, ll * 100, pct);
		if (isnan(pk_cachesim_d1_mpki(r)))
			pk_table_cell(t, "-");
		else
			pk_table_cellf(t, "%.1f", pk_cachesim_d1_mpki(r));
		if (r->line)
			pk_table_cellf(t, "%s:%d", r->file ? r->file : "?", r->line);
		else
			pk_table_cell(t, r->file);
	}
	pk_table_print(t, stdout);
	pk_table_free(t);
	if (shown < v->n_sim_rows)
		printf("(%zu more; use --limit 0 to see all)\n", v->n_sim_rows - shown);
}

static void print_table(const struct pk_session *s, const struct pk_cache_view *v, const struct cache_options *o)
{
	printf("Session '%s' (id %" PRId64 "): %s\n\n", s->name, s->id, s->command ? s->command : "");
	if (v->n_process)
		print_counters_table(v, o);
	else if (!v->have_sim)
		printf("No counters in this session: record with 'perfkitd run --counters' or "
		       "'perfkitd attach PID --counters'.\n");
	if (v->sampled_event)
		print_sampled_table(v, o);
	if (v->have_sim)
		print_sim_table(v, o);
	else if (v->n_process)
		printf("\nNo cache simulation in this session ('perfkitd run --cache-sim -- PROG' makes one).\n");
}

int cmd_cache(int argc, char **argv, struct pk_cli *cli)
{
	struct cache_options o;
	struct pk_cache_view v;
	struct pk_session s;
	const char *spec = NULL;
	int rc;

	if ((rc = parse_options(argc, argv, cli, &o, &spec)) >= 0)
		return rc;
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)) || (rc = pk_cli_find_session(cli, spec, &s)))
		return rc;
	if (pk_cache_view_load(cli->store, &s, o.lines, &v) != PK_STORE_OK) {
		pk_error("cannot read session '%s' from '%s': %s", s.name, cli->db_path, pk_store_errmsg(cli->store));
		pk_cache_view_release(&v);
		pk_session_release(&s);
		return PK_EXIT_FAILURE;
	}
	if (o.format == PK_FORMAT_JSON)
		pk_cache_print_json(stdout, cli->store, &s, &v, o.lines, (size_t)o.limit);
	else if (o.format == PK_FORMAT_CSV)
		pk_cache_print_csv(stdout, &v, o.lines, (size_t)o.limit);
	else
		print_table(&s, &v, &o);
	pk_cache_view_release(&v);
	pk_session_release(&s);
	return PK_EXIT_OK;
}

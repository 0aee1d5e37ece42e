/*
 * cmd-report.c - "perfkit report SESSION": where the samples went, per
 * function.  Self counts samples whose leaf is the function, total counts
 * samples whose stack contains it (once, even under recursion); both come
 * from pk_profile_function_stats, this file only filters, sorts and
 * prints them as a table, JSON or CSV.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "error.h"
#include "json.h"
#include "output.h"
#include "src/profile.h"
#include "strbuf.h"
#include "util.h"

#define DEFAULT_TABLE_LIMIT 25

static const char report_usage[] =
	"perfkit report [--sort self|total] [--limit N] [--thread TID] [--event NAME]\n"
	"                      [--from T] [--to T] [--format table|json|csv] SESSION";

static const char report_help[] =
	"usage: perfkit report [options] SESSION\n"
	"\n"
	"Per-function statistics of a recorded session: self samples (the function\n"
	"was running), total samples (the function was on the stack; counted once\n"
	"per sample even when it recurses), their shares of all counted samples,\n"
	"the time they stand for (samples / achieved sampling rate), the module\n"
	"and the source line where the function was hottest.\n"
	"\n"
	"SESSION is a session name, a numeric id, or 'last'.\n"
	"\n"
	"Options:\n"
	"  --sort self|total     order by self (default) or total samples\n"
	"  --limit N             show the first N functions (default 25 in a table,\n"
	"                        all in json and csv; 0 = all)\n"
	"  --thread TID          count only the samples of thread TID\n"
	"  --event NAME          count this event (default: cpu, wall in wall mode,\n"
	"                        or the session's only event)\n"
	"  --from T, --to T      count only samples taken between T and T seconds\n"
	"                        after the start (\"1.5\", \"250ms\", \"2m\")\n"
	"  --format FMT          table (default), json or csv\n"
	"  --db PATH             the session database (default: $PERFKIT_DB, else\n"
	"                        ~/.local/share/perfkit/perfkit.db)\n"
	"  -h, --help            show this help\n";

struct report_options {
	int format;
	int sort_total;
	long limit;          /* -1 = the format's default */
	struct pk_filter filter;
};

/* Sort by total descending, then self, then name. */
static int cmp_total(const void *a, const void *b, void *ctx)
{
	const struct pk_func_stat *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	return strcmp(pk_profile_function_name(ctx, x->function_id),
		      pk_profile_function_name(ctx, y->function_id));
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Time for a weight when the event counts samples; NAN otherwise. */
static double weight_seconds(const struct pk_profile *p, uint64_t w)
{
	if (p->event_unit && strcmp(p->event_unit, "samples"))
		return NAN;
	return pk_profile_seconds(p, w);
}

/* "file:line", "file", or NULL when the function has no source. */
static char *source_of(const struct pk_profile *p, const struct pk_func_stat *f)
{
	const struct pk_frame_row *fr;

	if (f->source_frame_id < 1 || (size_t)f->source_frame_id > p->symtab.n_frames)
		return NULL;
	fr = &p->symtab.frames[f->source_frame_id - 1];
	if (!fr->file || !*fr->file)
		return NULL;
	return fr->line > 0 ? pk_xasprintf("%s:%d", fr->file, fr->line) : pk_xstrdup(fr->file);
}

static const char *module_of(const struct pk_profile *p, const struct pk_func_stat *f)
{
	int64_t fid = f->function_id;

	if (fid < 1 || (size_t)fid > p->symtab.n_functions)
		return pk_profile_module_name(p, 0);
	return pk_profile_module_name(p, p->symtab.functions[fid - 1].module_id);
}

/* Function probes of the session (perfkitd --probe), all threads: when
 * there are any, probed functions get calls, avg and p99 columns. */
static struct pk_probe_row *probe_rows;
static size_t n_probe_rows;

static const struct pk_probe_row *probe_of(const struct pk_profile *p, const struct pk_func_stat *f)
{
	const char *name = pk_profile_function_name(p, f->function_id);
	const char *module = pk_basename(module_of(p, f));

	for (size_t i = 0; i < n_probe_rows; i++)
		if (!strcmp(probe_rows[i].function, name) && !strcmp(probe_rows[i].module, module))
			return &probe_rows[i];
	return NULL;
}

static int64_t probe_avg(const struct pk_probe_row *r)
{
	return r->returned ? r->sum_ns / r->returned : 0;
}

/* The filters in words, for headers and empty-result messages. */
static void describe_filter(struct pk_strbuf *sb, const struct pk_filter *f)
{
	if (f->tid)
		pk_strbuf_addf(sb, ", thread %" PRId32, f->tid);
	if (f->has_from)
		pk_strbuf_addf(sb, ", from %gs", f->from_s);
	if (f->has_to)
		pk_strbuf_addf(sb, ", to %gs", f->to_s);
}

static void print_table(const struct pk_profile *p, const struct pk_func_stat *v, size_t n,
			size_t shown, const struct pk_filter *filter)
{
	static const struct pk_column cols[] = {
		{ "SELF", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SELF%", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "TOTAL", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "TOTAL%", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SELF-TIME", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "TOTAL-TIME", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "FUNCTION", PK_ALIGN_LEFT, 60, PK_TRUNC_END },
		{ "MODULE", PK_ALIGN_LEFT, 24, PK_TRUNC_END },
		{ "SOURCE", PK_ALIGN_LEFT, 48, PK_TRUNC_START },
	};
	static const struct pk_column probed_cols[] = {
		{ "SELF", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SELF%", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "TOTAL", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "TOTAL%", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SELF-TIME", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "TOTAL-TIME", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "CALLS", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "AVG", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "P99", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "FUNCTION", PK_ALIGN_LEFT, 60, PK_TRUNC_END },
		{ "MODULE", PK_ALIGN_LEFT, 24, PK_TRUNC_END },
		{ "SOURCE", PK_ALIGN_LEFT, 48, PK_TRUNC_START },
	};
	struct pk_strbuf sb = PK_STRBUF_INIT;
	struct pk_table *t;
	char dur[32];
	size_t i;

	pk_format_duration(p->duration_s, dur, sizeof(dur));
	describe_filter(&sb, filter);
	printf("Session '%s' (id %" PRId64 "), event %s: %" PRIu64 " samples%s%s, %s, %zu thread%s%s\n",
	       p->session.name, p->session.id, p->event_name, p->n_samples,
	       strcmp(p->event_unit, "samples") ? ", weight in " : "",
	       strcmp(p->event_unit, "samples") ? p->event_unit : "",
	       dur, p->n_tids, p->n_tids == 1 ? "" : "s", pk_strbuf_str(&sb));
	if (!p->n_samples) {
		printf("no %s samples%s\n", p->event_name,
		       sb.len ? " match the filter" : " in this session (it ended before the first sample)");
		pk_strbuf_release(&sb);
		return;
	}
	pk_strbuf_release(&sb);
	putchar('\n');

	if (n_probe_rows)
		t = pk_table_new(probed_cols, sizeof(probed_cols) / sizeof(probed_cols[0]));
	else
		t = pk_table_new(cols, sizeof(cols) / sizeof(cols[0]));
	for (i = 0; i < shown; i++) {
		char st[32], tt[32];
		char *src = source_of(p, &v[i]);

		pk_format_duration(weight_seconds(p, v[i].self), st, sizeof(st));
		pk_format_duration(weight_seconds(p, v[i].total), tt, sizeof(tt));
		pk_table_row(t);
		pk_table_cellf(t, "%" PRIu64, v[i].self);
		pk_table_cellf(t, "%.1f%%", percent(v[i].self, p->total));
		pk_table_cellf(t, "%" PRIu64, v[i].total);
		pk_table_cellf(t, "%.1f%%", percent(v[i].total, p->total));
		pk_table_cell(t, st);
		pk_table_cell(t, tt);
		if (n_probe_rows) {
			const struct pk_probe_row *r = probe_of(p, &v[i]);

			if (r) {
				pk_table_cellf(t, "%" PRId64, r->calls);
				pk_format_duration((double)probe_avg(r) / 1e9, st, sizeof(st));
				pk_table_cell(t, r->returned ? st : "-");
				pk_format_duration((double)r->p99_ns / 1e9, st, sizeof(st));
				pk_table_cell(t, r->returned ? st : "-");
			} else {
				pk_table_cell(t, "-");
				pk_table_cell(t, "-");
				pk_table_cell(t, "-");
			}
		}
		pk_table_cell(t, pk_profile_function_name(p, v[i].function_id));
		pk_table_cell(t, pk_basename(module_of(p, &v[i])));
		pk_table_cell(t, src ? src : "-");
		free(src);
	}
	pk_table_print(t, stdout);
	pk_table_free(t);
	if (shown < n)
		printf("(%zu more functions; use --limit 0 to see all)\n", n - shown);
	if (p->root_self)
		printf("(%" PRIu64 " samples had no stack and count only in the total)\n", p->root_self);
	if (n_probe_rows)
		printf("(CALLS, AVG, P99: function probes, exact; times include the probe overhead, "
		       "corrected as 'perfkit probes' states)\n");
}

static void print_json(struct pk_store *st, const struct pk_profile *p, const struct pk_func_stat *v,
		       size_t shown, const struct pk_filter *filter)
{
	struct pk_json j;
	size_t i;

	pk_json_init(&j, stdout, 1);
	pk_json_begin_object(&j);
	pk_json_key(&j, "session");
	pk_json_begin_object(&j);
	pk_cli_json_session(&j, st, &p->session);
	pk_json_end_object(&j);
	pk_json_key(&j, "event");
	pk_json_string(&j, p->event_name);
	pk_json_key(&j, "unit");
	pk_json_string(&j, p->event_unit);
	pk_json_key(&j, "samples");
	pk_json_uint(&j, p->n_samples);
	pk_json_key(&j, "total_weight");
	pk_json_uint(&j, p->total);
	pk_json_key(&j, "no_stack_weight");
	pk_json_uint(&j, p->root_self);
	pk_json_key(&j, "threads");
	pk_json_uint(&j, p->n_tids);
	pk_json_key(&j, "filter");
	pk_json_begin_object(&j);
	pk_json_key(&j, "thread");
	if (filter->tid)
		pk_json_int(&j, filter->tid);
	else
		pk_json_null(&j);
	pk_json_key(&j, "from_s");
	pk_json_double(&j, filter->has_from ? filter->from_s : NAN);
	pk_json_key(&j, "to_s");
	pk_json_double(&j, filter->has_to ? filter->to_s : NAN);
	pk_json_end_object(&j);
	pk_json_key(&j, "functions");
	pk_json_begin_array(&j);
	for (i = 0; i < shown; i++) {
		char *src = source_of(p, &v[i]);

		pk_json_begin_object(&j);
		pk_json_key(&j, "function");
		pk_json_string(&j, pk_profile_function_name(p, v[i].function_id));
		pk_json_key(&j, "module");
		pk_json_string(&j, module_of(p, &v[i]));
		pk_json_key(&j, "self_samples");
		pk_json_uint(&j, v[i].self);
		pk_json_key(&j, "total_samples");
		pk_json_uint(&j, v[i].total);
		pk_json_key(&j, "self_percent");
		pk_json_double(&j, percent(v[i].self, p->total));
		pk_json_key(&j, "total_percent");
		pk_json_double(&j, percent(v[i].total, p->total));
		pk_json_key(&j, "self_time_s");
		pk_json_double(&j, weight_seconds(p, v[i].self));
		pk_json_key(&j, "total_time_s");
		pk_json_double(&j, weight_seconds(p, v[i].total));
		pk_json_key(&j, "source");
		pk_json_string(&j, src);
		if (n_probe_rows) {
			const struct pk_probe_row *r = probe_of(p, &v[i]);

			if (r) {
				pk_json_key(&j, "calls");
				pk_json_int(&j, r->calls);
				pk_json_key(&j, "avg_ns");
				pk_json_int(&j, probe_avg(r));
				pk_json_key(&j, "p99_ns");
				pk_json_int(&j, r->p99_ns);
			}
		}
		pk_json_end_object(&j);
		free(src);
	}
	pk_json_end_array(&j);
	pk_json_end_object(&j);
	pk_json_finish(&j);
}

static void print_csv(const struct pk_profile *p, const struct pk_func_stat *v, size_t shown)
{
	static const char *const header[] = {
		"function", "module", "self_samples", "total_samples", "self_percent",
		"total_percent", "self_time_s", "total_time_s", "source",
	};
	struct pk_csv c;
	size_t i;

	pk_csv_init(&c, stdout);
	for (i = 0; i < sizeof(header) / sizeof(header[0]); i++)
		pk_csv_field(&c, header[i]);
	pk_csv_end_row(&c);
	for (i = 0; i < shown; i++) {
		char *src = source_of(p, &v[i]);

		pk_csv_field(&c, pk_profile_function_name(p, v[i].function_id));
		pk_csv_field(&c, module_of(p, &v[i]));
		pk_csv_int(&c, (int64_t)v[i].self);
		pk_csv_int(&c, (int64_t)v[i].total);
		pk_csv_double(&c, percent(v[i].self, p->total));
		pk_csv_double(&c, percent(v[i].total, p->total));
		pk_csv_double(&c, weight_seconds(p, v[i].self));
		pk_csv_double(&c, weight_seconds(p, v[i].total));
		pk_csv_field(&c, src);
		pk_csv_end_row(&c);
		free(src);
	}
	fflush(stdout);
}

/* "session 'x' has no event 'y'; it has: cpu, alloc" */
static void no_such_event(struct pk_store *st, const struct pk_session *s, const char *event)
{
	struct pk_strbuf sb = PK_STRBUF_INIT;
	struct pk_symtab t;
	size_t i;

	if (pk_store_load_symtab(st, s->id, &t) == PK_STORE_OK) {
		for (i = 0; i < t.n_events; i++)
			pk_strbuf_addf(&sb, "%s%s", i ? ", " : "", t.events[i].name);
		pk_symtab_release(&t);
	}
	pk_error("session '%s' has no event '%s'; %s%s", s->name, event,
		 sb.len ? "it has: " : "it has no samples at all", pk_strbuf_str(&sb));
	pk_strbuf_release(&sb);
}

static int parse_options(int argc, char **argv, struct pk_cli *cli, struct report_options *o,
			 const char **spec)
{
	enum { OPT_SORT = PK_OPT_FIRST_COMMAND_OPTION, OPT_LIMIT, OPT_THREAD, OPT_EVENT,
	       OPT_FROM, OPT_TO, OPT_FORMAT };
	static const struct option longopts[] = {
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "thread", required_argument, NULL, OPT_THREAD },
		{ "event", required_argument, NULL, OPT_EVENT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "format", required_argument, NULL, OPT_FORMAT },
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->limit = -1;
	pk_cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SORT:
			if (!strcmp(optarg, "self"))
				o->sort_total = 0;
			else if (!strcmp(optarg, "total"))
				o->sort_total = 1;
			else
				return pk_cli_usage_error(report_usage, "unknown sort key '%s'; use self or total", optarg);
			break;
		case OPT_LIMIT:
			if (pk_parse_long(optarg, &o->limit) < 0)
				return pk_cli_usage_error(report_usage, "--limit wants a number of functions, not '%s'", optarg);
			break;
		case OPT_THREAD:
			if (pk_parse_long(optarg, &v) < 0 || v <= 0 || v > INT32_MAX)
				return pk_cli_usage_error(report_usage, "--thread wants a thread id, not '%s'", optarg);
			o->filter.tid = (int32_t)v;
			break;
		case OPT_EVENT:
			o->filter.event = optarg;
			break;
		case OPT_FROM:
		case OPT_TO:
			if (pk_cli_parse_seconds(optarg, c == OPT_FROM ? &o->filter.from_s : &o->filter.to_s) < 0)
				return pk_cli_usage_error(report_usage, "--%s wants seconds since the start, not '%s'",
							  c == OPT_FROM ? "from" : "to", optarg);
			*(c == OPT_FROM ? &o->filter.has_from : &o->filter.has_to) = 1;
			break;
		case OPT_FORMAT:
			if ((rc = pk_cli_parse_format(optarg, report_usage, &o->format)))
				return rc;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, report_usage, report_help)) >= 0)
				return rc;
		}
	}
	if (optind + 1 != argc)
		return pk_cli_usage_error(report_usage, optind >= argc ? "which session? give a SESSION"
					  : "one SESSION at a time");
	if (o->filter.has_from && o->filter.has_to && o->filter.to_s <= o->filter.from_s)
		return pk_cli_usage_error(report_usage, "--to must be later than --from");
	*spec = argv[optind];
	return -1;
}

int cmd_report(int argc, char **argv, struct pk_cli *cli)
{
	struct report_options o;
	struct pk_session s;
	struct pk_profile p;
	struct pk_func_stat *v = NULL;
	const char *spec = NULL;
	size_t n = 0, shown;
	int rc;

	if ((rc = parse_options(argc, argv, cli, &o, &spec)) >= 0)
		return rc;
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)) || (rc = pk_cli_find_session(cli, spec, &s)))
		return rc;

	/* Load by name (unique, and looked up before ids): "last" could
	 * mean another session by now. */
	rc = pk_profile_load(cli->store, s.name, &o.filter, &p);
	if (rc == PK_STORE_NOTFOUND && o.filter.event) {
		no_such_event(cli->store, &s, o.filter.event);
		pk_session_release(&s);
		return PK_EXIT_FAILURE;
	}
	if (rc != PK_STORE_OK) {
		pk_error("cannot read session '%s' from '%s': %s", s.name, cli->db_path,
			 pk_store_errmsg(cli->store));
		pk_session_release(&s);
		return PK_EXIT_FAILURE;
	}
	pk_session_release(&s);

	if (pk_store_probe_rows(cli->store, p.session.id, 1, &probe_rows, &n_probe_rows) != PK_STORE_OK)
		n_probe_rows = 0; /* the sampled columns alone */
	pk_profile_function_stats(&p, &v, &n);
	if (o.sort_total)
		qsort_r(v, n, sizeof(*v), cmp_total, &p);
	if (o.limit < 0)
		o.limit = o.format == PK_FORMAT_TABLE ? DEFAULT_TABLE_LIMIT : 0;
	shown = o.limit > 0 && (size_t)o.limit < n ? (size_t)o.limit : n;

	if (o.format == PK_FORMAT_JSON)
		print_json(cli->store, &p, v, shown, &o.filter);
	else if (o.format == PK_FORMAT_CSV)
		print_csv(&p, v, shown);
	else
		print_table(&p, v, n, shown, &o.filter);
	free(v);
	pk_probe_row_array_free(probe_rows, n_probe_rows);
	pk_profile_release(&p);
	return PK_EXIT_OK;
}

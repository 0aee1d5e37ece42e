/*
 * cmd-probes.c - "perfkit probes SESSION": what the function probes of a
 * session (perfkitd --probe) measured: per probed function the exact
 * number of calls, total (inclusive) and self time, the per-call latency
 * distribution, and the calls that never returned; per thread on request.
 * Times are wall time per call with the measured probe cost subtracted;
 * the output says so and states the correction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "error.h"
#include "json.h"
#include "output.h"
#include "util.h"

static const char probes_usage[] = "perfkit probes [--threads] [--format table|json|csv] SESSION";

static const char probes_help[] =
	"usage: perfkit probes [--threads] [--format table|json|csv] SESSION\n"
	"\n"
	"What the function probes of a session (perfkitd --probe PATTERN) measured,\n"
	"per probed function: exact calls, total time (inclusive; a recursive\n"
	"function's nested calls are not counted twice), self time (minus the time\n"
	"of probed callees), and the wall time per call: min, average, p50, p99,\n"
	"max.  LOST counts calls that never returned (left by longjmp or an\n"
	"exception, or still running at thread exit, target exit or detach); they\n"
	"are not in the times.  Each probed call costs two ptrace stops; the\n"
	"measured cost of a stop is subtracted from every call and stated.\n"
	"\n"
	"SESSION is a session name, a numeric id, or 'last'.\n"
	"\n"
	"Options:\n"
	"  --threads       one row per function and thread as well\n"
	"  --format FMT    table (default), json or csv\n"
	"  --db PATH       the session database\n"
	"  -h, --help      show this help\n";

static int64_t avg_of(const struct pk_probe_row *r)
{
	return r->returned ? r->sum_ns / r->returned : 0;
}

/* "1.23 ms", "850 ns", "-" when no call returned. */
static void format_ns(char *buf, size_t len, int64_t ns, int have)
{
	double v = (double)ns;

	if (!have)
		snprintf(buf, len, "-");
	else if (v < 1e3)
		snprintf(buf, len, "%.0f ns", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.2f us", v / 1e3);
	else if (v < 1e9)
		snprintf(buf, len, "%.2f ms", v / 1e6);
	else
		snprintf(buf, len, "%.3f s", v / 1e9);
}

static void print_table(const struct pk_probe_row *v, size_t n, int threads)
{
	static const struct pk_column cols[] = {
		{ "FUNCTION", PK_ALIGN_LEFT, 48, PK_TRUNC_END },
		{ "MODULE", PK_ALIGN_LEFT, 24, PK_TRUNC_START },
		{ "TID", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "CALLS", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "LOST", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "TOTAL", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SELF", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "MIN", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "AVG", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "P50", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "P99", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "MAX", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
	};
	struct pk_table *t = pk_table_new(cols, sizeof(cols) / sizeof(cols[0]));
	char b[32];

	for (size_t i = 0; i < n; i++) {
		const struct pk_probe_row *r = &v[i];
		int have = r->returned > 0;

		if (r->tid && !threads)
			continue;
		pk_table_row(t);
		pk_table_cell(t, r->function);
		pk_table_cell(t, r->module);
		if (r->tid)
			pk_table_cellf(t, "%d", r->tid);
		else
			pk_table_cell(t, "all");
		pk_table_cellf(t, "%" PRId64, r->calls);
		pk_table_cellf(t, "%" PRId64, r->lost);
		format_ns(b, sizeof(b), r->total_ns, 1);
		pk_table_cell(t, b);
		format_ns(b, sizeof(b), r->self_ns, 1);
		pk_table_cell(t, b);
		format_ns(b, sizeof(b), r->min_ns, have);
		pk_table_cell(t, b);
		format_ns(b, sizeof(b), avg_of(r), have);
		pk_table_cell(t, b);
		format_ns(b, sizeof(b), r->p50_ns, have);
		pk_table_cell(t, b);
		format_ns(b, sizeof(b), r->p99_ns, have);
		pk_table_cell(t, b);
		format_ns(b, sizeof(b), r->max_ns, have);
		pk_table_cell(t, b);
	}
	pk_table_print(t, stdout);
	pk_table_free(t);
}

static void json_row(struct pk_json *j, const struct pk_probe_row *r)
{
	pk_json_begin_object(j);
	pk_json_key(j, "function");
	pk_json_string(j, r->function);
	pk_json_key(j, "module");
	pk_json_string(j, r->module);
	if (r->tid) {
		pk_json_key(j, "tid");
		pk_json_int(j, r->tid);
	}
	pk_json_key(j, "calls");
	pk_json_int(j, r->calls);
	pk_json_key(j, "lost");
	pk_json_int(j, r->lost);
	pk_json_key(j, "returned");
	pk_json_int(j, r->returned);
	pk_json_key(j, "total_ns");
	pk_json_int(j, r->total_ns);
	pk_json_key(j, "self_ns");
	pk_json_int(j, r->self_ns);
	pk_json_key(j, "min_ns");
	pk_json_int(j, r->min_ns);
	pk_json_key(j, "avg_ns");
	pk_json_int(j, avg_of(r));
	pk_json_key(j, "p50_ns");
	pk_json_int(j, r->p50_ns);
	pk_json_key(j, "p90_ns");
	pk_json_int(j, r->p90_ns);
	pk_json_key(j, "p99_ns");
	pk_json_int(j, r->p99_ns);
	pk_json_key(j, "max_ns");
	pk_json_int(j, r->max_ns);
}

static void print_json(struct pk_cli *cli, const struct pk_session *s, const struct pk_probe_row *v,
		       size_t n, int threads, double stops, double stop_us, double corr_us)
{
	struct pk_json j;

	pk_json_init(&j, stdout, 1);
	pk_json_begin_object(&j);
	pk_json_key(&j, "session");
	pk_json_begin_object(&j);
	pk_cli_json_session(&j, cli->store, s);
	pk_json_end_object(&j);
	pk_json_key(&j, "probe_stops");
	pk_json_double(&j, stops);
	pk_json_key(&j, "probe_stop_median_ns");
	pk_json_double(&j, stop_us * 1e3);
	pk_json_key(&j, "correction_ns_per_stop");
	pk_json_double(&j, corr_us * 1e3);
	pk_json_key(&j, "probes");
	pk_json_begin_array(&j);
	for (size_t i = 0; i < n; i++) {
		if (v[i].tid)
			continue;
		json_row(&j, &v[i]);
		if (threads) {
			pk_json_key(&j, "threads");
			pk_json_begin_array(&j);
			for (size_t k = 0; k < n; k++)
				if (v[k].tid && !strcmp(v[k].function, v[i].function) &&
				    !strcmp(v[k].module, v[i].module)) {
					json_row(&j, &v[k]);
					pk_json_end_object(&j);
				}
			pk_json_end_array(&j);
		}
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);
	pk_json_end_object(&j);
	pk_json_finish(&j);
}

static void print_csv(const struct pk_probe_row *v, size_t n, int threads)
{
	static const char *const head[] = { "function", "module", "tid", "calls", "lost", "total_ns",
					    "self_ns", "min_ns", "avg_ns", "p50_ns", "p90_ns", "p99_ns",
					    "max_ns" };
	struct pk_csv c;

	pk_csv_init(&c, stdout);
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		pk_csv_field(&c, head[i]);
	pk_csv_end_row(&c);
	for (size_t i = 0; i < n; i++) {
		const struct pk_probe_row *r = &v[i];

		if (r->tid && !threads)
			continue;
		pk_csv_field(&c, r->function);
		pk_csv_field(&c, r->module);
		pk_csv_int(&c, r->tid);
		pk_csv_int(&c, r->calls);
		pk_csv_int(&c, r->lost);
		pk_csv_int(&c, r->total_ns);
		pk_csv_int(&c, r->self_ns);
		pk_csv_int(&c, r->min_ns);
		pk_csv_int(&c, avg_of(r));
		pk_csv_int(&c, r->p50_ns);
		pk_csv_int(&c, r->p90_ns);
		pk_csv_int(&c, r->p99_ns);
		pk_csv_int(&c, r->max_ns);
		pk_csv_end_row(&c);
	}
}

int cmd_probes(int argc, char **argv, struct pk_cli *cli)
{
	enum { OPT_FORMAT = PK_OPT_FIRST_COMMAND_OPTION, OPT_THREADS };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "threads", no_argument, NULL, OPT_THREADS },
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct pk_session s;
	struct pk_probe_row *v = NULL;
	size_t n = 0;
	double stops = 0, stop_us = 0, corr_us = 0;
	int c, rc, format = PK_FORMAT_TABLE, threads = 0;

	pk_cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if ((rc = pk_cli_parse_format(optarg, probes_usage, &format)))
				return rc;
			break;
		case OPT_THREADS:
			threads = 1;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, probes_usage, probes_help)) >= 0)
				return rc;
		}
	}
	if (argc - optind != 1)
		return pk_cli_usage_error(probes_usage, argc - optind < 1 ? "give a SESSION"
					  : "one SESSION at a time");
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)) != PK_EXIT_OK)
		return rc;
	if ((rc = pk_cli_find_session(cli, argv[optind], &s)) != PK_EXIT_OK)
		return rc;
	if (pk_store_probe_rows(cli->store, s.id, !threads, &v, &n) != PK_STORE_OK) {
		pk_error("cannot read the probes of session '%s': %s", s.name, pk_store_errmsg(cli->store));
		pk_session_release(&s);
		return PK_EXIT_FAILURE;
	}
	if (!n) {
		pk_error("session '%s' has no function probes; record with perfkitd --probe PATTERN",
			 s.name);
		pk_session_release(&s);
		return PK_EXIT_FAILURE;
	}
	pk_store_get_stat(cli->store, s.id, "probe_stops", &stops);
	pk_store_get_stat(cli->store, s.id, "probe_stop_median_us", &stop_us);
	pk_store_get_stat(cli->store, s.id, "probe_correction_us", &corr_us);
	if (format == PK_FORMAT_JSON) {
		print_json(cli, &s, v, n, threads, stops, stop_us, corr_us);
	} else if (format == PK_FORMAT_CSV) {
		print_csv(v, n, threads);
	} else {
		print_table(v, n, threads);
		printf("\ntimes are wall time per call and include the probe overhead (%.0f probe stops, "
		       "%.1f us median each); %.1f us per stop inside a call was subtracted\n",
		       stops, stop_us, corr_us);
	}
	pk_probe_row_array_free(v, n);
	pk_session_release(&s);
	return PK_EXIT_OK;
}

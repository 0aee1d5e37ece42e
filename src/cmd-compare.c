/*
 * cmd-compare.c - "perfkit compare BEFORE AFTER": did an optimization help,
 * and is the difference real?  Parses the options, builds the comparison
 * (compare.c), prints it (compare-output.c), writes the differential flame
 * graph on request (compare-flamegraph.c) and turns a significant
 * regression into exit status 3 for CI.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "error.h"
#include "src/compare-output.h"
#include "src/compare.h"
#include "src/output.h"
#include "strbuf.h"
#include "util.h"

#define DEFAULT_TABLE_LIMIT 15

static const char compare_usage[] =
	"perfkit compare [--format table|json|csv] [--limit N] [--alpha Q] [--event NAME]\n"
	"                       [--fail-on-regression PCT] [--flamegraph FILE] BEFORE AFTER";

static const char compare_help[] =
	"usage: perfkit compare [options] BEFORE AFTER\n"
	"\n"
	"Compare two sessions, typically of a program before and after a change:\n"
	"wall and CPU time and the speedup, then every function (matched by name\n"
	"and module file name) with its self and total time in each session, the\n"
	"percent change and whether the change is larger than sampling noise.\n"
	"\n"
	"A change is significant when a two-proportion test on the sample counts\n"
	"(Fisher's exact test for small counts), put on a common time base, gives\n"
	"a Benjamini-Hochberg q-value <= Q over all functions, and the change is at\n"
	"least 5% of the function's time and 0.5 points of the longer run's time.\n"
	"Negative changes are improvements, positive ones regressions.\n"
	"\n"
	"With --event, the sessions are compared by another sampled event, e.g. one\n"
	"recorded with 'perfkitd run --sample-on cache-misses': values are event\n"
	"counts (a sample weighs its period) and the test is run on the sample\n"
	"counts, never on the weights.\n"
	"\n"
	"When both sessions have them, the comparison also shows allocation totals\n"
	"and the call sites whose allocations changed (--alloc), probed functions'\n"
	"calls and mean latency (--probe), and counters (--counters).  These are\n"
	"exact counts, so they carry no p-value; the change of a mean latency is\n"
	"not tested either (its variance is not recorded).\n"
	"\n"
	"BEFORE and AFTER are session names, numeric ids, or 'last'.\n"
	"\n"
	"Options:\n"
	"  --format FMT              table (default), json or csv\n"
	"  --limit N                 rows per list (default 15 in a table, all in\n"
	"                            json and csv; 0 = all)\n"
	"  --alpha Q                 false discovery rate (default 0.01)\n"
	"  --event NAME              the sampled event to compare (default: cpu, or\n"
	"                            wall for wall-mode sessions), e.g. cache-misses\n"
	"  --fail-on-regression PCT  exit with status 3 when a significant regression\n"
	"                            of more than PCT percent exists\n"
	"  --flamegraph FILE         write a differential flame graph (SVG): AFTER's\n"
	"                            profile, red where a frame takes more time than\n"
	"                            before, blue where it takes less\n"
	"  --db PATH                 the session database (default: $PERFKIT_DB, else\n"
	"                            ~/.local/share/perfkit/perfkit.db)\n"
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0, or 3 with --fail-on-regression when a regression was found;\n"
	"1 on errors, 2 on usage errors.\n";

struct compare_options {
	int format;
	long limit;                 /* -1 = the format's default */
	double alpha;               /* 0 = default */
	int fail_on_regression;
	double fail_percent;
	const char *flamegraph;
	const char *event;          /* NULL = the sessions' default */
	const char *before, *after;
};

/* A non-negative finite number, "5" or "5%". */
static int parse_percent(const char *text, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (end == text || errno || !isfinite(v) || v < 0)
		return -1;
	if (*end == '%')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int parse_options(int argc, char **argv, struct pk_cli *cli, struct compare_options *o)
{
	enum { OPT_FORMAT = PK_OPT_FIRST_COMMAND_OPTION, OPT_LIMIT, OPT_ALPHA, OPT_FAIL, OPT_FLAMEGRAPH, OPT_EVENT };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "alpha", required_argument, NULL, OPT_ALPHA },
		{ "fail-on-regression", required_argument, NULL, OPT_FAIL },
		{ "flamegraph", required_argument, NULL, OPT_FLAMEGRAPH },
		{ "event", required_argument, NULL, OPT_EVENT },
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->limit = -1;
	pk_cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if ((rc = pk_cli_parse_format(optarg, compare_usage, &o->format)))
				return rc;
			break;
		case OPT_LIMIT:
			if (pk_parse_long(optarg, &o->limit) < 0 || o->limit < 0)
				return pk_cli_usage_error(compare_usage, "--limit wants a number of rows, not '%s'",
							  optarg);
			break;
		case OPT_ALPHA:
			if (parse_percent(optarg, &o->alpha) < 0 || strchr(optarg, '%') || o->alpha <= 0 ||
			    o->alpha >= 1)
				return pk_cli_usage_error(compare_usage,
							  "--alpha wants a rate between 0 and 1 (e.g. 0.05), not '%s'",
							  optarg);
			break;
		case OPT_FAIL:
			if (parse_percent(optarg, &o->fail_percent) < 0)
				return pk_cli_usage_error(compare_usage,
							  "--fail-on-regression wants a percentage (e.g. 5), not '%s'",
							  optarg);
			o->fail_on_regression = 1;
			break;
		case OPT_FLAMEGRAPH:
			o->flamegraph = optarg;
			break;
		case OPT_EVENT:
			if (!*optarg)
				return pk_cli_usage_error(compare_usage, "--event wants an event name, e.g. cpu or cache-misses");
			o->event = optarg;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, compare_usage, compare_help)) >= 0)
				return rc;
		}
	}
	if (argc - optind != 2)
		return pk_cli_usage_error(compare_usage, argc - optind < 2
					  ? "compare needs two sessions: BEFORE and AFTER"
					  : "compare takes exactly two sessions: BEFORE and AFTER");
	o->before = argv[optind];
	o->after = argv[optind + 1];
	return -1;
}

/* Sessions whose times mean different things still compare, with a word. */
static void warn_mismatch(const struct pk_compare *c)
{
	const struct pk_profile *b = &c->before_profile, *a = &c->after_profile;

	if (c->same_session)
		return;
	if (b->session.mode && a->session.mode && strcmp(b->session.mode, a->session.mode))
		pk_warn("'%s' was recorded in %s mode and '%s' in %s mode: their times measure "
			"different things", b->session.name, b->session.mode, a->session.name, a->session.mode);
	else if (strcmp(b->event_name, a->event_name))
		pk_warn("comparing event '%s' of '%s' with event '%s' of '%s'", b->event_name,
			b->session.name, a->event_name, a->session.name);
	if (b->session.status && strcmp(b->session.status, "complete"))
		pk_warn("session '%s' is %s, not complete", b->session.name, b->session.status);
	if (a->session.status && strcmp(a->session.status, "complete"))
		pk_warn("session '%s' is %s, not complete", a->session.name, a->session.status);
}

/* "cpu, cpu-clock" (the events session s recorded), malloc'd. */
static char *event_list(struct pk_store *st, const struct pk_session *s)
{
	struct pk_symtab t;
	struct pk_strbuf sb = PK_STRBUF_INIT;
	size_t i;

	if (pk_store_load_symtab(st, s->id, &t) != PK_STORE_OK)
		return pk_xstrdup("unknown");
	for (i = 0; i < t.n_events; i++)
		pk_strbuf_addf(&sb, "%s%s", i ? ", " : "", t.events[i].name);
	if (!t.n_events)
		pk_strbuf_addstr(&sb, "none");
	pk_symtab_release(&t);
	return pk_strbuf_detach(&sb);
}

/* Does each session have the asked event?  Names the events of both when
 * one does not. */
static int check_event(struct pk_cli *cli, const char *event, const struct pk_session *sb,
		       const struct pk_session *sa)
{
	int miss_b = pk_store_find_event(cli->store, sb->id, event) <= 0;
	int miss_a = pk_store_find_event(cli->store, sa->id, event) <= 0;
	char *eb, *ea, *how;

	if (!miss_b && !miss_a)
		return 0;
	eb = event_list(cli->store, sb);
	ea = event_list(cli->store, sa);
	/* How such an event is recorded. */
	if (!strncmp(event, "alloc_", 6))
		how = pk_xstrdup("perfkitd --alloc");
	else if (!strcmp(event, "wall") || !strcmp(event, "cpu"))
		how = pk_xasprintf("perfkitd --mode %s", event);
	else
		how = pk_xasprintf("perfkitd run --sample-on %s", event);
	pk_error("no event '%s' in %s: '%s' has %s; '%s' has %s; record it with '%s' "
		 "or choose one both sessions have",
		 event, miss_b && miss_a ? "either session" : miss_b ? "BEFORE" : "AFTER",
		 sb->name, eb, sa->name, ea, how);
	free(how);
	free(eb);
	free(ea);
	return -1;
}

static int write_flamegraph(const struct pk_compare *c, const char *path)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f) {
		pk_error("cannot write '%s': %s", path, strerror(errno));
		return PK_EXIT_FAILURE;
	}
	rc = pk_compare_write_flamegraph(c, f);
	if (fclose(f) != 0 || rc < 0) {
		pk_error("cannot write '%s': %s", path, strerror(errno ? errno : EIO));
		return PK_EXIT_FAILURE;
	}
	return PK_EXIT_OK;
}

int cmd_compare(int argc, char **argv, struct pk_cli *cli)
{
	struct compare_options o;
	struct pk_compare_params params = { 0 };
	struct pk_session sb, sa;
	struct pk_compare c;
	const struct pk_compare_entry *worst;
	size_t limit;
	int rc, which = 0;

	if ((rc = parse_options(argc, argv, cli, &o)) >= 0)
		return rc;
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)) || (rc = pk_cli_find_session(cli, o.before, &sb)))
		return rc;
	if ((rc = pk_cli_find_session(cli, o.after, &sa))) {
		pk_session_release(&sb);
		return rc;
	}
	if (o.event && check_event(cli, o.event, &sb, &sa) < 0) {
		pk_session_release(&sb);
		pk_session_release(&sa);
		return PK_EXIT_FAILURE;
	}
	/* Load by name (unique, and looked up before ids): "last" could
	 * mean another session by now. */
	params.alpha = o.alpha;
	params.event = o.event;
	rc = pk_compare_load(cli->store, sb.name, sa.name, &params, &c, &which);
	if (rc != PK_STORE_OK) {
		pk_error("cannot read session '%s' from '%s': %s", which ? sa.name : sb.name, cli->db_path,
			 pk_store_errmsg(cli->store));
		pk_session_release(&sb);
		pk_session_release(&sa);
		return PK_EXIT_FAILURE;
	}
	pk_session_release(&sb);
	pk_session_release(&sa);
	warn_mismatch(&c);

	if (o.limit < 0)
		o.limit = o.format == PK_FORMAT_TABLE ? DEFAULT_TABLE_LIMIT : 0;
	limit = (size_t)o.limit;
	if (o.format == PK_FORMAT_JSON)
		pk_compare_print_json(&c, cli->store, limit, stdout);
	else if (o.format == PK_FORMAT_CSV)
		pk_compare_print_csv(&c, limit, stdout);
	else
		pk_compare_print_table(&c, limit, stdout);

	rc = PK_EXIT_OK;
	if (o.flamegraph)
		rc = write_flamegraph(&c, o.flamegraph);
	if (rc == PK_EXIT_OK && o.fail_on_regression &&
	    pk_compare_worst_regression(&c, o.fail_percent, &worst)) {
		if (worst->presence == PK_PRESENT_ADDED)
			pk_error("significant regression: %s is new in AFTER (%s: %.1f%% of its samples)",
				 worst->function, pk_compare_metric_name(worst->metric),
				 100.0 * worst->after_share);
		else
			pk_error("significant regression: %s %s %+.1f%% (more than %g%%, q = %.2g)",
				 worst->function, pk_compare_metric_name(worst->metric), worst->percent_change,
				 o.fail_percent, worst->q_value);
		rc = PK_EXIT_REGRESSION;
	}
	pk_compare_release(&c);
	return rc;
}

/*
 * cmd-html.c - "perfkit html SESSION -o FILE [--compare BEFORE]": one
 * self-contained HTML report of a session (html.h), written whole or not
 * at all (pk_outfile).
 */
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "error.h"
#include "src/export.h"
#include "src/html.h"
#include "util.h"

#define DEFAULT_LIMIT 200
#define HOT_FUNCTIONS 5

static const char html_usage[] =
	"perfkit html [-o FILE] [--compare BEFORE] [--limit N] [--thread TID] [--event NAME]\n"
	"                    [--from T] [--to T] SESSION";

static const char html_help[] =
	"usage: perfkit html [options] SESSION\n"
	"\n"
	"Write one self-contained HTML file with the session's report: summary,\n"
	"the function table (click a header to sort, type to filter), the hot\n"
	"source lines of the heaviest functions, and the interactive flame graph\n"
	"(hover, click to zoom, search).  Nothing is loaded from the network: the\n"
	"file can be mailed, attached to a ticket or printed.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE     write here (default: standard output)\n"
	"  --compare BEFORE      add the comparison with session BEFORE (as\n"
	"                        'perfkit compare BEFORE SESSION') and its\n"
	"                        differential flame graph; compares whole sessions\n"
	"  --limit N             rows of the function table (default 200; 0 = all)\n"
	"  --thread TID          count only the samples of thread TID\n"
	"  --event NAME          count this event (default: the session's)\n"
	"  --from T, --to T      count only samples between T and T seconds after start\n"
	"  --db PATH             the session database\n"
	"  -h, --help            show this help\n";

struct html_options {
	const char *output;
	const char *compare;
	long limit;
	struct pk_filter filter;
};

static int parse_options(int argc, char **argv, struct pk_cli *cli, struct html_options *o,
			 const char **spec)
{
	enum { OPT_COMPARE = PK_OPT_FIRST_COMMAND_OPTION, OPT_LIMIT };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "compare", required_argument, NULL, OPT_COMPARE },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		PK_RENDER_FILTER_OPTIONS,
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->limit = DEFAULT_LIMIT;
	pk_cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case OPT_COMPARE:
			o->compare = optarg;
			break;
		case OPT_LIMIT:
			if (pk_parse_long(optarg, &o->limit) < 0 || o->limit < 0)
				return pk_cli_usage_error(html_usage, "--limit wants a number of functions, not '%s'",
							  optarg);
			break;
		case PK_RENDER_OPT_THREAD:
		case PK_RENDER_OPT_FROM:
		case PK_RENDER_OPT_TO:
		case PK_RENDER_OPT_EVENT:
			if ((rc = pk_render_filter_option(c, optarg, &o->filter, html_usage)) >= 0)
				return rc;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, html_usage, html_help)) >= 0)
				return rc;
		}
	}
	if (optind + 1 != argc)
		return pk_cli_usage_error(html_usage, optind >= argc ? "which session? give a SESSION"
					  : "one SESSION at a time");
	*spec = argv[optind];
	return -1;
}

/* Load the comparison BEFORE -> the session of p.  0 or an exit status. */
static int load_compare(struct pk_cli *cli, const char *before, const struct pk_profile *p,
			struct pk_compare *c)
{
	struct pk_session sb;
	int rc, which = 0;

	if ((rc = pk_cli_find_session(cli, before, &sb)))
		return rc;
	rc = pk_compare_load(cli->store, sb.name, p->session.name, NULL, c, &which);
	if (rc != PK_STORE_OK) {
		pk_error("cannot read session '%s' from '%s': %s", which ? p->session.name : sb.name,
			 cli->db_path, pk_store_errmsg(cli->store));
		pk_session_release(&sb);
		return PK_EXIT_FAILURE;
	}
	pk_session_release(&sb);
	return 0;
}

int cmd_html(int argc, char **argv, struct pk_cli *cli)
{
	struct html_options o;
	struct pk_html_input in;
	struct pk_profile p;
	struct pk_compare c;
	struct pk_outfile out;
	const char *spec = NULL;
	int rc, have_compare = 0;

	if ((rc = parse_options(argc, argv, cli, &o, &spec)) >= 0)
		return rc;
	if ((rc = pk_render_load(cli, spec, &o.filter, &p)))
		return rc;
	if (o.compare) {
		if ((rc = load_compare(cli, o.compare, &p, &c))) {
			pk_profile_release(&p);
			return rc;
		}
		have_compare = 1;
	}
	if (p.total == 0)
		pk_render_warn_empty(&p, &o.filter, "a report without samples");
	if (pk_outfile_open(&out, o.output) < 0) {
		rc = PK_EXIT_FAILURE;
		goto done;
	}
	memset(&in, 0, sizeof(in));
	in.store = cli->store;
	in.profile = &p;
	in.compare = have_compare ? &c : NULL;
	in.function_limit = (size_t)o.limit;
	in.hot_functions = HOT_FUNCTIONS;
	if (pk_html_write(out.fp, &in) < 0) {
		pk_perror("cannot write '%s'", o.output ? o.output : "standard output");
		pk_outfile_abort(&out);
		rc = PK_EXIT_FAILURE;
	} else if (pk_outfile_commit(&out) < 0) {
		rc = PK_EXIT_FAILURE;
	}
done:
	if (have_compare)
		pk_compare_release(&c);
	pk_profile_release(&p);
	return rc;
}
